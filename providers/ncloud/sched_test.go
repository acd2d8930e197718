package ncloud_test

import (
	"sync"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
)

// Under the API Gateway's rate limit (429, errorCode 420), a burst of
// revokes is paced by the instance's call scheduler: every revoke
// succeeds and the rate-limited retries cost few calls.
func TestRevokeBurstUnderRateLimit(t *testing.T) {
	e := newEnv(t)
	e.configure(nil)
	e.subRole(nil)
	before := e.ts.State()["sub_accounts"]
	const n = 30
	secrets := make([]*logical.Secret, n)
	for i := range secrets {
		secrets[i] = e.OK(logical.ReadOperation, "creds/ncloud/dev", nil).Secret
	}
	e.ts.Core().Reset()
	e.ts.Core().SetFaults(emulator.Faults{LatencyMS: 20, RateLimitRPS: 10})
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, s := range secrets {
		wg.Go(func() { _, errs[i] = e.Revoke(s) })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, before, e.ts.State()["sub_accounts"])
	calls := e.ts.Core().Count("DeleteSubAccount")
	t.Logf("%d revokes under 10 requests/s: %d DeleteSubAccount calls", n, calls)
	// The limit starts at once after an unlimited burst of issues, so the
	// scheduler's first estimate is far too high and takes a few cuts to
	// come down (each refused call is retried at the new pace); the old
	// client, with backoff and 3 retries, failed revokes here.
	require.LessOrEqual(t, calls, 2*n)
}
