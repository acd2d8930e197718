package nomad_test

import (
	"sync"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/nomad/nomadtest"
)

// Under Nomad's rate limit (429), a burst of issues and then of revokes
// all succeed: the call scheduler paces the requests and sends a
// rate-limited one again, creates included (Nomad did not serve it).
func TestBurstUnderRateLimit(t *testing.T) {
	e := newEnv(t, nomadtest.Options{})
	e.configure(nil)
	e.OK(logical.UpdateOperation, "roles/nomad/r", map[string]any{"policies": []string{"readonly"}})
	before := e.ts.State()["tokens"]
	e.ts.Core().Reset()
	e.ts.Core().SetFaults(emulator.Faults{LatencyMS: 10, RateLimitRPS: 20})
	const n = 40
	secrets := make([]*logical.Secret, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			resp, err := e.Do(logical.ReadOperation, "creds/nomad/r", nil)
			require.NoError(t, err)
			require.False(t, resp.IsError(), "%v", resp.Error())
			secrets[i] = resp.Secret
		})
	}
	wg.Wait()
	require.Equal(t, before+n, e.ts.State()["tokens"])
	for i := range n {
		wg.Go(func() {
			_, err := e.Revoke(secrets[i])
			require.NoError(t, err)
		})
	}
	wg.Wait()
	require.Equal(t, before, e.ts.State()["tokens"])
	calls := e.ts.Core().Calls()
	t.Logf("%d issues + %d revokes under 20 requests/s: %d calls", n, n, calls.Total)
	// The first burst meets a bucket of 20 with 40 requests; after that
	// the requests are paced.
	require.LessOrEqual(t, calls.Total, 2*n+n)
}
