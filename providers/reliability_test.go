package providers_test

import (
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/cmd/clouds"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/plugin/plugintest"
)

// TestFlakyCloudLeaksNothing: with 5xx answers and dropped connections on
// a fifth of all cloud calls, issuance may fail, but after every issued
// lease is revoked (retried as Vault's expiration manager does) and the
// rollback manager has run, each cloud holds exactly what it held before.
func TestFlakyCloudLeaksNothing(t *testing.T) {
	const cycles = 15
	for _, c := range clouds.All() {
		t.Run(c.Name(), func(t *testing.T) {
			b, inst, role, _ := startRevocable(t, c)
			core, state := inst.Core(), inst.State
			before := state()

			core.SetFaults(emulator.Faults{ErrorRate: 0.12, DropRate: 0.08})
			var leases []*logical.Secret
			failed := 0
			for range cycles {
				resp, err := b.Do(logical.ReadOperation, "creds/"+c.Name()+"/"+role.Name, nil)
				if err != nil || resp == nil || resp.IsError() {
					t.Logf("issue failed: %v %v", err, resp)
					failed++
					continue
				}
				leases = append(leases, resp.Secret)
			}
			for _, s := range leases {
				revokeWithRetries(t, b, s)
			}
			core.SetFaults(emulator.Faults{})
			for i := 0; b.WALCount() > 0 && i < 3; i++ {
				_ = b.Rollback()
			}
			require.Equal(t, 0, b.WALCount(), "every unfinished create was rolled back")
			require.Equal(t, before, state(), "nothing is left in the cloud")
			t.Logf("%s: %d issued, %d failed under faults; %d cloud calls; 0 objects left", c.Name(), len(leases), failed, core.Calls().Total)
		})
	}
}

// revokeWithRetries revokes as Vault's expiration manager does: a failed
// revoke is retried (here without the backoff).
func revokeWithRetries(t *testing.T, b *plugintest.Backend, s *logical.Secret) {
	t.Helper()
	var err error
	for range 20 {
		if _, err = b.Revoke(s); err == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	require.NoError(t, err, "revoke kept failing")
}

// startRevocable serves a new emulator of cloud c on loopback and returns
// a plugin backend configured for it, with the cloud's first Revocable
// role written, and the config it wrote.
func startRevocable(t *testing.T, c clouds.Cloud) (*plugintest.Backend, emulator.Instance, emulator.Role, map[string]any) {
	t.Helper()
	b := plugintest.New(t, clouds.Registry())
	inst, err := c.New(nil)
	require.NoError(t, err)
	srv := httptest.NewServer(inst)
	t.Cleanup(srv.Close)
	cfg := inst.Config(srv.URL)
	b.OK(logical.UpdateOperation, "config/"+c.Name(), cfg)
	i := slices.IndexFunc(inst.Roles(), func(r emulator.Role) bool { return r.Revocable })
	require.GreaterOrEqual(t, i, 0, "the cloud has a role whose credentials revoke deletes")
	role := inst.Roles()[i]
	b.OK(logical.UpdateOperation, "roles/"+c.Name()+"/"+role.Name, role.Fields)
	return b, inst, role, cfg
}
