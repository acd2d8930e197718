package reliability

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/e2e/vaulttest"
)

// TestVaultKilledUnderLoad (item 2, at random moments): while six workers
// issue AWS, Ncloud and Nomad credentials (each pausing 100 ms after a
// success), Vault on Raft
// storage is SIGKILLed at a random moment, restarted and unsealed, again
// and again. Whatever each kill cut — a create before its first call, in
// the middle, or done but not yet a lease — the rollback manager and the
// leases must account for every object afterwards, and every lease issued
// before a kill must renew and revoke (after each restart a sample, the
// newest and some random ones; at the end all of them).
func TestVaultKilledUnderLoad(t *testing.T) {
	t.Parallel()
	figures := newFigures(t)
	kills := size(2, 8)
	p := vaulttest.BuildPlugin(t, pluginVersion)
	s := vaulttest.StartRaft(t, vaulttest.Options{Plugins: []*vaulttest.Plugin{p}, LogLevel: "debug", RawStorageEndpoint: true})
	cs := startClouds(t, shortTTL)
	mountPlugin(t, s, p, cs)
	l := newLedger()
	c := noRetryClient(t, s)
	ld := startLoad(c, cs, l, 6, 100*time.Millisecond)

	var windows []window
	renewed := 0
	for i := range kills {
		// Let the load run between 0.5 s and 2.5 s, then kill.
		time.Sleep(500*time.Millisecond + rand.N(2*time.Second))
		killed := time.Now()
		s.Crash(t)
		s.Restart(t)
		require.Eventually(t, func() bool { return ld.succeededSince(killed) }, time.Minute, 50*time.Millisecond,
			"kill %d: issuance goes on after the restart", i)
		windows = append(windows, window{from: killed, to: time.Now().Add(time.Second)})
		renewed += renewSome(t, s.Client(t), l, 20, shortTTL/2)
		t.Logf("kill %d: Vault back and issuing %.2fs after the SIGKILL", i, time.Since(killed).Seconds())
	}
	attempts := ld.halt()
	failed := 0
	for _, a := range attempts {
		if a.err != nil {
			failed++
		}
	}
	for _, a := range outside(attempts, windows) {
		t.Errorf("issuance failed away from any kill: %v", a.err)
	}
	figures["kills"], figures["issuance_attempts"], figures["failed_near_kills"] = kills, len(attempts), failed
	figures["issued"] = len(l.every)
	// Every lease still within its TTL renews, now that the load is over
	// (so none ends during the checks below); Vault revoked the others at
	// the end of their TTL.
	figures["expired_by_vault"] = l.sync(t, s, cs.ttl)
	figures["renewed_after_kills"] = renewed + renewAll(t, s.Client(t), l, cs.ttl)

	minAge := setMinAge(t, s, 10*time.Second)
	figures["rollback_seconds"] = waitNoWAL(t, s, minAge+2*rollbackPeriod+30*time.Second).Seconds()
	requireHeld(t, s, cs, l, figures)
	figures["revoke_seconds"] = revokeEverything(t, s, cs, l, 3*time.Minute, figures).Seconds()
}
