package providers

import (
	"context"
	"time"
)

// Mark identifies the mount and provider instance that made a cloud
// object. A driver puts it on every object it creates where the cloud
// allows (a tag, a name prefix, a memo), so audit finds exactly this
// mount's objects and never another mount's on the same account.
type Mark struct {
	// Mount is the mount's id (the plugin's settings mount_id): 8
	// characters of [a-z2-7], the same on every node of the cluster.
	Mount string
	// Instance is the provider instance's name.
	Instance string
}

// MountIDLen is the length of a mount id.
const MountIDLen = 8

// ValidMountID reports whether s has the form of a mount id (Mark.Mount):
// MountIDLen characters of [a-z2-7], short enough for every cloud's names.
func ValidMountID(s string) bool {
	if len(s) != MountIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// Auditor is implemented by a Provider that can list the objects it made
// in the cloud and remove one, for audit/<provider> and tidy/<provider>.
type Auditor interface {
	// Inventory lists every object in the cloud that carries mark, paging
	// through the cloud's listings (through the instance's call
	// scheduler, like every other call). It never returns a secret.
	Inventory(ctx context.Context, mark Mark) (*Inventory, error)
	// Remove deletes one object Inventory listed for mark, and everything
	// on it, after checking that the object still carries mark (it may
	// have changed since it was listed). It is idempotent: an object
	// already gone is success.
	Remove(ctx context.Context, mark Mark, obj CloudObject) error
}

// Inventory is what Inventory found.
type Inventory struct {
	// Kinds are the kinds of object the listing covers (e.g. "iam_user"):
	// an index entry naming an object of such a kind that the listing
	// lacks is gone from the cloud.
	Kinds []string
	// Objects are the marked objects found.
	Objects []CloudObject
	// Calls is how many cloud calls the listing made.
	Calls int
}

// CloudObject is one marked object in the cloud.
type CloudObject struct {
	ObjectRef
	// Created is when the cloud made it (zero if the cloud does not say).
	Created time.Time
}
