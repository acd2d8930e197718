package reliability

import (
	"context"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/e2e/vaulttest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
)

// TestFailover (item 4): three Vault nodes on integrated Raft storage
// (loopback ports, retry_join), the plugin installed on each. Credentials
// are issued through a standby (forwarded to the active node). During
// concurrent issuance through every node, with one create of each cloud
// held half-made, the active node is SIGKILLed. A new leader is elected,
// issuance resumes, the leases issued before the kill renew and revoke
// from the new leader, and the new leader's rollback manager undoes the
// creates the old one left unfinished. Reports the time to elect and to
// issue again, and the objects left: 0.
func TestFailover(t *testing.T) {
	t.Parallel()
	figures := newFigures(t)
	p := vaulttest.BuildPlugin(t, pluginVersion)
	cl := vaulttest.StartCluster(t, 3, vaulttest.Options{Plugins: []*vaulttest.Plugin{p}, LogLevel: "info", RawStorageEndpoint: true})
	old := cl.Active(t)
	cs := startClouds(t, shortTTL)
	mountPlugin(t, old, p, cs)
	l := newLedger()

	standbys := cl.Standbys(t)
	require.Len(t, standbys, 2)
	viaStandby := noRetryClient(t, standbys[0])
	for _, c := range cs.all() {
		cr, err := issue(viaStandby, c)
		require.NoError(t, err, "%s: issuing through a standby", c.provider)
		l.add(cr)
		sec, err := viaStandby.Sys().Renew(cr.leaseID, 1800)
		require.NoError(t, err, "%s: renewing through a standby", c.provider)
		require.Equal(t, 1800, sec.LeaseDuration)
	}

	// Concurrent issuance through every node; one create per cloud held
	// half-made when the active node dies.
	n := size(3, 8)
	holds := map[string]*emulator.Hold{}
	for _, c := range cs.all() {
		holds[c.provider] = c.core.Hold(emulator.HoldSpec{Action: midCreate(c), Stage: emulator.AfterEffect, Skip: n, Limit: 1, Timeout: 2 * holdWait})
	}
	// Slow clouds keep many creates in flight when the node dies.
	cs.setFaults(emulator.Faults{LatencyMS: 300})
	var wg sync.WaitGroup
	for _, node := range cl.Nodes {
		c := noRetryClient(t, node)
		for _, cloud := range cs.all() {
			for range n {
				wg.Go(func() {
					if cr, err := issue(c, cloud); err == nil {
						l.add(cr)
					}
				})
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), holdWait)
	defer cancel()
	for prov, h := range holds {
		require.NoError(t, h.Wait(ctx, 1), "%s: a create reached the hold", prov)
	}
	before := l.liveOf("")
	killed := time.Now()
	old.Crash(t)
	for _, h := range holds {
		h.Release(emulator.Drop)
	}
	next := cl.WaitActive(t, time.Minute)
	elected := time.Since(killed)
	require.NotSame(t, old, next)
	cs.setFaults(emulator.Faults{})

	// Issuance resumes, through the new leader and through the standby
	// left; the first success after the kill is the time to recover.
	var resumed time.Duration
	for _, node := range cl.Nodes {
		if node == old {
			continue
		}
		c := noRetryClient(t, node)
		for _, cloud := range cs.all() {
			require.Eventually(t, func() bool {
				cr, err := issue(c, cloud)
				if err != nil {
					return false
				}
				l.add(cr)
				return true
			}, time.Minute, 50*time.Millisecond, "%s: issuing through %s after the failover", cloud.provider, node.NodeID())
			if resumed == 0 {
				resumed = time.Since(killed)
			}
		}
	}
	wg.Wait()

	// Leases issued before the kill renew and revoke from the new leader.
	nc := next.Client(t)
	renewed := 0
	for _, cr := range before {
		_, err := nc.Sys().Renew(cr.leaseID, 1800)
		require.NoError(t, err, "renew %s on the new leader", cr.leaseID)
		renewed++
	}
	revoked := 0
	for _, prov := range cs.all() {
		for _, cr := range before {
			if cr.provider == prov.provider {
				require.NoError(t, nc.Sys().RevokeWithOptions(&api.RevokeOptions{LeaseID: cr.leaseID, Sync: true}))
				l.revoked(cr.leaseID)
				revoked++
				break
			}
		}
	}

	// Every other lease renews too (so none ends during the checks below).
	l.sync(t, next, cs.ttl)
	renewed += renewAll(t, nc, l, cs.ttl)

	// The creates the old leader left unfinished are in the WAL; the new
	// leader's rollback manager undoes them.
	walLeft := len(walEntries(t, next))
	require.GreaterOrEqual(t, walLeft, len(holds), "the held creates left WAL entries")
	maps.Copy(figures, map[string]any{"nodes": len(cl.Nodes), "in_flight_at_kill": len(cl.Nodes) * len(cs.all()) * n,
		"election_seconds": elected.Seconds(), "issuing_again_seconds": resumed.Seconds(),
		"renewed_on_new_leader": renewed, "revoked_on_new_leader": revoked, "wal_left_by_old_leader": walLeft})
	minAge := setMinAge(t, next, 10*time.Second)
	figures["rollback_seconds"] = waitNoWAL(t, next, minAge+2*rollbackPeriod+30*time.Second).Seconds()
	figures["issued"] = len(l.every)
	figures["expired_by_vault"] = l.sync(t, next, cs.ttl)
	requireHeld(t, next, cs, l, figures)

	// The old leader rejoins as a standby.
	old.Restart(t)
	cl.WaitVoters(t)
	figures["revoke_seconds"] = revokeEverything(t, next, cs, l, 3*time.Minute, figures).Seconds()
}
