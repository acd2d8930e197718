package reliability

import (
	"context"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/e2e/vaulttest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
)

// midCreate is, per cloud, the call held after its effect so that a kill
// lands in the middle of a create: its emulator's create action (e.g. the
// IAM user exists without its key, the sub account without its policies,
// the token without its lease).
func midCreate(c *cloud) string { return c.inst.CreateAction() }

// attempt is one issuance of the background load.
type attempt struct {
	start, end time.Time
	err        error
}

// load issues credentials of every cloud in turn from several workers
// until stopped, each pausing after a success, and keeps every attempt.
type load struct {
	mu       sync.Mutex
	attempts []attempt
	stop     chan struct{}
	wg       sync.WaitGroup
}

func startLoad(c *api.Client, cs *clouds, l *ledger, workers int, pause time.Duration) *load {
	ld := &load{stop: make(chan struct{})}
	for w := range workers {
		ld.wg.Go(func() {
			for i := w; ; i++ {
				select {
				case <-ld.stop:
					return
				default:
				}
				a := attempt{start: time.Now()}
				cr, err := issue(c, cs.all()[i%len(cs.all())])
				a.end, a.err = time.Now(), err
				if err == nil {
					l.add(cr)
				}
				ld.mu.Lock()
				ld.attempts = append(ld.attempts, a)
				ld.mu.Unlock()
				switch {
				case err != nil:
					// A client backs off when Vault is down rather than
					// spinning on refused connections.
					time.Sleep(100 * time.Millisecond)
				case pause > 0:
					time.Sleep(pause)
				}
			}
		})
	}
	return ld
}

func (ld *load) halt() []attempt {
	close(ld.stop)
	ld.wg.Wait()
	ld.mu.Lock()
	defer ld.mu.Unlock()
	return append([]attempt(nil), ld.attempts...)
}

// succeededSince reports whether an issuance that started after t has
// succeeded.
func (ld *load) succeededSince(t time.Time) bool {
	ld.mu.Lock()
	defer ld.mu.Unlock()
	for _, a := range ld.attempts {
		if a.err == nil && a.start.After(t) {
			return true
		}
	}
	return false
}

// window is the stretch of a test around one fault where failures are
// expected.
type window struct{ from, to time.Time }

// outside returns the failed attempts that did not overlap any window.
func outside(attempts []attempt, windows []window) []attempt {
	var out []attempt
	for _, a := range attempts {
		if a.err == nil {
			continue
		}
		in := false
		for _, w := range windows {
			if !a.end.Before(w.from) && !a.start.After(w.to) {
				in = true
				break
			}
		}
		if !in {
			out = append(out, a)
		}
	}
	return out
}

// TestPluginProcessKilled (item 3): while six workers issue credentials of
// every cloud without pause, the plugin process is SIGKILLed in the middle
// of a create of each provider in turn. Vault starts the
// plugin again; issuance goes on (a success after each kill, a new
// process), leases issued before the kill revoke, and failures happen only
// around the kills. At the end the rollback manager undoes the cut
// creates and nothing is left.
func TestPluginProcessKilled(t *testing.T) {
	t.Parallel()
	figures := newFigures(t)
	p := vaulttest.BuildPlugin(t, pluginVersion)
	s := vaulttest.StartRaft(t, vaulttest.Options{Plugins: []*vaulttest.Plugin{p}, LogLevel: "debug", RawStorageEndpoint: true})
	cs := startClouds(t, shortTTL)
	// One kill mid create of each cloud in turn (three each in the full run).
	kills := size(1, 3) * len(cs.all())
	mountPlugin(t, s, p, cs)
	l := newLedger()
	c := noRetryClient(t, s)
	ld := startLoad(c, cs, l, 6, 0)

	var windows []window
	var recoveries []float64
	revokedAfterKill := 0
	for i := range kills {
		cl := cs.all()[i%len(cs.all())]
		armed := time.Now()
		h := cl.core.Hold(emulator.HoldSpec{Action: midCreate(cl), Stage: emulator.AfterEffect, Timeout: 2 * holdWait})
		ctx, cancel := context.WithTimeout(context.Background(), holdWait)
		require.NoError(t, h.Wait(ctx, 1), "kill %d: no %s create reached the hold", i, cl.provider)
		cancel()
		before := l.liveOf("")
		pids := s.KillPlugins(t)
		require.NotEmpty(t, pids, "kill %d: a plugin process to kill", i)
		killed := time.Now()
		h.Release(emulator.Drop)

		require.Eventually(t, func() bool { return ld.succeededSince(killed) }, time.Minute, 50*time.Millisecond,
			"kill %d: issuance goes on after the plugin is killed", i)
		recovered := time.Now()
		recoveries = append(recoveries, recovered.Sub(killed).Seconds())
		windows = append(windows, window{from: armed, to: recovered.Add(time.Second)})
		now := s.PluginPIDs(t)
		require.NotEmpty(t, now)
		for _, pid := range pids {
			require.False(t, slices.Contains(now, pid), "kill %d: the plugin runs in a new process", i)
		}

		// Revocation goes on: one lease of each provider issued before the
		// kill revokes (synchronously, so an error would show).
		for _, prov := range cs.all() {
			for _, cr := range before {
				if cr.provider == prov.provider {
					require.NoError(t, s.Client(t).Sys().RevokeWithOptions(&api.RevokeOptions{LeaseID: cr.leaseID, Sync: true}), "revoke %s", cr.leaseID)
					l.revoked(cr.leaseID)
					revokedAfterKill++
					break
				}
			}
		}
		t.Logf("plugin killed mid %s create (pids %v); issuing again after %.2fs", cl.provider, pids, recoveries[i])
		time.Sleep(500 * time.Millisecond)
	}
	attempts := ld.halt()

	failed := 0
	for _, a := range attempts {
		if a.err != nil {
			failed++
		}
	}
	stray := outside(attempts, windows)
	for _, a := range stray {
		t.Errorf("issuance failed away from any kill (%s–%s): %v", a.start.Format(time.StampMilli), a.end.Format(time.StampMilli), a.err)
	}

	maps.Copy(figures, map[string]any{"plugin_kills": kills, "issuance_attempts": len(attempts), "failed_near_kills": failed,
		"failed_elsewhere": len(stray), "recovery_seconds": recoveries, "revoked_after_kill": revokedAfterKill,
		"issued": len(l.every)})
	// Every lease still within its TTL renews (so none ends during the
	// checks below).
	figures["expired_by_vault"] = l.sync(t, s, cs.ttl)
	figures["renewed"] = renewAll(t, s.Client(t), l, cs.ttl)
	minAge := setMinAge(t, s, 10*time.Second)
	figures["rollback_seconds"] = waitNoWAL(t, s, minAge+2*rollbackPeriod+30*time.Second).Seconds()
	requireHeld(t, s, cs, l, figures)
	figures["revoke_seconds"] = revokeEverything(t, s, cs, l, 3*time.Minute, figures).Seconds()
}
