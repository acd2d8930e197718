package plugin

import (
	"context"
	"fmt"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// targetMismatchError is a revoke or rollback refused because the provider
// instance now points at another target than the one the credential was
// made in: the cloud would answer "not found" and the credential, alive in
// its own account, would be forgotten. It is an ordinary (retryable)
// error: if the operator points the instance back in time, Vault's retries
// succeed.
type targetMismatchError struct {
	provider string
	what     string
	made     providers.Target
	now      providers.Target
}

func (e *targetMismatchError) Error() string {
	return fmt.Sprintf("provider %q now points at %s (%s), but this %s was made in %s (%s); acting there would find nothing and lose it. "+
		"Configure %q back to %s to let it be revoked, or revoke the lease with -force and remove its objects from %s by hand",
		e.provider, e.now, e.now.ID, e.what, e.made, e.made.ID, e.provider, e.made, e.made)
}

// checkTarget returns nil when the instance still points at the recorded
// target (or nothing was recorded: leases of plugin versions that did not
// record targets, credentials that need no revoke).
func checkTarget(ctx context.Context, inst *instance, provider, what string, made providers.Target) error {
	if made.ID == "" {
		return nil
	}
	now, err := inst.provider.Target(ctx)
	if err != nil {
		return fmt.Errorf("cannot tell which target provider %q points at, so the %s made in %s is left alone for now: %w", provider, what, made, err)
	}
	if now.ID != made.ID {
		return &targetMismatchError{provider: provider, what: what, made: made, now: now}
	}
	return nil
}
