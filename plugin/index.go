package plugin

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// livePrefix holds the index of live credentials: one entry per credential,
// written at issue (before the WAL entry of its create is removed) and
// removed at revoke, at live/<instance>/<role>/<id>. It backs the
// creds/<provider>/ listings, refuses config deletes and target changes
// that would strand live leases, and is what audit compares the clouds
// with. An entry never holds a secret.
const livePrefix = "live/"

// liveEntry is one live credential.
type liveEntry struct {
	ID             string `json:"id"`
	Role           string `json:"role"`
	CredentialType string `json:"credential_type"`
	// IssueTime, ExpireTime and MaxExpireTime are Unix seconds: when the
	// credential was issued, when its lease ends unless renewed (updated
	// at renew), and the latest it can live (max TTL or cloud expiry).
	IssueTime     int64 `json:"issue_time"`
	ExpireTime    int64 `json:"expire_time"`
	MaxExpireTime int64 `json:"max_expire_time"`
	// Target is the ID of the target the credential was made in.
	Target            string                `json:"target,omitempty"`
	TargetDescription string                `json:"target_description,omitempty"`
	SelfExpiring      bool                  `json:"self_expiring,omitempty"`
	Objects           []providers.ObjectRef `json:"objects,omitempty"`
	// RevokeFailedAt is when a revoke of the lease last failed (Unix
	// seconds; 0: never). Vault retries a failed revoke within minutes; an
	// entry whose revoke failed long ago and was not retried belongs to a
	// lease Vault gave up on (irrevocable, or revoked with -force).
	RevokeFailedAt int64  `json:"revoke_failed_at,omitempty"`
	RevokeError    string `json:"revoke_error,omitempty"`
}

func liveKey(instance, role, id string) string {
	return livePrefix + instance + "/" + role + "/" + id
}

func putLive(ctx context.Context, s logical.Storage, instance string, e *liveEntry) error {
	return putJSON(ctx, s, liveKey(instance, e.Role, e.ID), e)
}

func deleteLive(ctx context.Context, s logical.Storage, instance, role, id string) error {
	if id == "" {
		return nil
	}
	if err := s.Delete(ctx, liveKey(instance, role, id)); err != nil {
		return fmt.Errorf("remove %s from the index of live credentials: %w", liveKey(instance, role, id), err)
	}
	return nil
}

// liveRoles lists the roles of an instance that have live credentials.
func liveRoles(ctx context.Context, s logical.Storage, instance string) ([]string, error) {
	keys, err := s.List(ctx, livePrefix+instance+"/")
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		if r, ok := strings.CutSuffix(k, "/"); ok {
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out, nil
}

// liveOfRole returns the live credentials of one role.
func liveOfRole(ctx context.Context, s logical.Storage, instance, role string) ([]*liveEntry, error) {
	ids, err := s.List(ctx, livePrefix+instance+"/"+role+"/")
	if err != nil {
		return nil, err
	}
	out := make([]*liveEntry, 0, len(ids))
	for _, id := range ids {
		var e liveEntry
		ok, err := getJSON(ctx, s, liveKey(instance, role, id), &e)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, &e)
		}
	}
	return out, nil
}

// liveSummary counts an instance's live credentials that need the instance
// to be revoked (self-expiring ones do not), per target.
type liveSummary struct {
	total    int
	byTarget map[string]int // target id ("" for leases made before targets were recorded) -> count
	roles    []string
	descr    map[string]string // target id -> description
}

func summarizeLive(ctx context.Context, s logical.Storage, instance string) (*liveSummary, error) {
	roles, err := liveRoles(ctx, s, instance)
	if err != nil {
		return nil, err
	}
	sum := &liveSummary{byTarget: map[string]int{}, descr: map[string]string{}}
	for _, r := range roles {
		entries, err := liveOfRole(ctx, s, instance, r)
		if err != nil {
			return nil, err
		}
		n := 0
		for _, e := range entries {
			if e.SelfExpiring {
				continue
			}
			n++
			sum.byTarget[e.Target]++
			if e.TargetDescription != "" {
				sum.descr[e.Target] = e.TargetDescription
			}
		}
		if n > 0 {
			sum.total += n
			sum.roles = append(sum.roles, r)
		}
	}
	return sum, nil
}

// unixOrZero is t in Unix seconds, 0 for the zero time.
func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// noteRevokeFailure records in a lease's index entry that its revoke failed.
func (b *Backend) noteRevokeFailure(ctx context.Context, s logical.Storage, ld *leaseData, cause error) {
	b.updateLive(ctx, s, ld, "a failed revoke", func(e *liveEntry) {
		e.RevokeFailedAt = time.Now().Unix()
		msg := cause.Error()
		if len(msg) > 240 {
			msg = msg[:240]
		}
		e.RevokeError = msg
	})
}

// updateLive applies change to a lease's index entry, if it has one. It
// is bookkeeping for listings and audit: a failure to record what (e.g.
// "a failed revoke") is logged, not returned.
func (b *Backend) updateLive(ctx context.Context, s logical.Storage, ld *leaseData, what string, change func(*liveEntry)) {
	if ld.ID == "" {
		return
	}
	var e liveEntry
	key := liveKey(ld.Provider, ld.Role, ld.ID)
	ok, err := getJSON(ctx, s, key, &e)
	if err == nil && ok {
		change(&e)
		err = putJSON(ctx, s, key, &e)
	}
	if err != nil {
		b.Logger().Warn("recording "+what+" in the index of live credentials failed", "provider", ld.Provider, "role", ld.Role, "error", err)
	}
}

// allLive returns every live entry of an instance.
func allLive(ctx context.Context, s logical.Storage, instance string) ([]*liveEntry, error) {
	roles, err := liveRoles(ctx, s, instance)
	if err != nil {
		return nil, err
	}
	var out []*liveEntry
	for _, r := range roles {
		entries, err := liveOfRole(ctx, s, instance, r)
		if err != nil {
			return nil, err
		}
		out = append(out, entries...)
	}
	return out, nil
}
