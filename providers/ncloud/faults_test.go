package ncloud_test

import (
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/plugin/plugintest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/ncloud"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/ncloud/ncloudtest"
)

// Issue 13: under 20% throttling, 5% 5xx and 2% dropped connections (half
// of them after the call took effect, so its answer is lost), at least 99%
// of sub_account issuances succeed on their first request, through the
// plugin's backend, 8 at a time. Afterwards every lease is revoked (under
// the same faults, retried as Vault does) and the rollback has run:
// nothing is left in the emulator and no WAL entry remains.
func TestIssuanceUnderFaults(t *testing.T) {
	const n, workers = 200, 8
	ts := ncloudtest.Start(t, ncloudtest.Options{DropAfterEffect: 0.5})
	e := &env{Backend: plugintest.New(t, providers.MustRegistry(ncloud.New())), ts: ts}
	e.configure(nil) // the default max_retries
	e.subRole(nil)
	before := ts.State()
	faults := emulator.Faults{ThrottleRate: 0.2, ErrorRate: 0.05, DropRate: 0.02}
	ts.Core().SetFaults(faults)

	start := time.Now()
	var mu sync.Mutex
	var leases []*logical.Secret
	failures := map[string]int{}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				resp, err := e.Do(logical.ReadOperation, "creds/ncloud/dev", nil)
				mu.Lock()
				switch {
				case err != nil:
					failures[err.Error()]++
				case resp == nil || resp.IsError():
					failures["error response"]++
				default:
					leases = append(leases, resp.Secret)
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < n; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	took := time.Since(start)
	calls := ts.Core().Calls()
	var msgs []string
	for m, c := range failures {
		msgs = append(msgs, m)
		t.Logf("failed %d×: %s", c, m)
	}
	sort.Strings(msgs)
	t.Logf("%d/%d issuances succeeded on their first request (%.1f%%) in %s; %d cloud calls (%.1f per issuance)",
		len(leases), n, 100*float64(len(leases))/n, took.Round(time.Millisecond), calls.Total, float64(calls.Total)/n)
	require.GreaterOrEqual(t, len(leases), n*99/100, "at least 99%% succeed: %v", msgs)

	revokes := make(chan *logical.Secret)
	errs := make(chan error, len(leases))
	for w := 0; w < workers; w++ {
		go func() {
			for s := range revokes {
				errs <- revokeRetried(e, s)
			}
		}()
	}
	for _, s := range leases {
		revokes <- s
	}
	close(revokes)
	for range leases {
		require.NoError(t, <-errs, "revoke kept failing")
	}
	ts.Core().SetFaults(emulator.Faults{})
	for i := 0; e.WALCount() > 0 && i < 3; i++ {
		_ = e.Rollback()
	}
	require.Equal(t, 0, e.WALCount())
	require.Equal(t, before, ts.State(), "nothing left in the emulator")
}

// revokeRetried revokes as Vault's expiration manager does: a failed
// revoke is tried again (here without its backoff).
func revokeRetried(e *env, s *logical.Secret) error {
	var err error
	for i := 0; i < 20; i++ {
		if _, err = e.Revoke(s); err == nil {
			return nil
		}
	}
	return err
}
