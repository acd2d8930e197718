package reliability

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/e2e/vaulttest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
)

// Phases of a kill point: what Vault is doing when it dies.
const (
	phaseIssue  = "issue"
	phaseRevoke = "revoke"
)

// killPoint is one moment to SIGKILL Vault: a call of one cloud held
// before or after its effect while Vault issues or revokes.
type killPoint struct {
	provider string
	phase    string
	action   string
	stage    emulator.Stage
	skip     int
	short    bool // also in the short run of make test
}

func (k killPoint) String() string {
	s := fmt.Sprintf("%s %s, %s %s", k.provider, k.phase, k.stage, k.action)
	if k.skip > 0 {
		s += fmt.Sprintf(" (after %d)", k.skip)
	}
	return s
}

// extraKillPoints are, per cloud, the points inside its create and revoke
// beyond those every cloud gets (killPoints): the calls between the
// create of the object and the answer, and before its delete. An iam_user
// create is CreateUser, then two AttachUserPolicy, PutUserPolicy,
// AddUserToGroup and CreateAccessKey at once; its revoke removes exactly
// those, then DeleteUser. A sub_account create lists the policies,
// creates the sub account, attaches the policies, creates the key; its
// revoke is one cascading DeleteSubAccount. A Nomad token is one
// TokenCreate, revoked by one TokenDelete: it needs no extra point. A
// cloud not named here gets the points every cloud gets.
var extraKillPoints = map[string][]killPoint{
	"aws": {
		{phase: phaseIssue, action: "AttachUserPolicy", stage: emulator.BeforeEffect},
		{phase: phaseIssue, action: "AttachUserPolicy", stage: emulator.AfterEffect, skip: 1},
		{phase: phaseIssue, action: "PutUserPolicy", stage: emulator.AfterEffect},
		{phase: phaseIssue, action: "AddUserToGroup", stage: emulator.AfterEffect},
		{phase: phaseIssue, action: "CreateAccessKey", stage: emulator.BeforeEffect},
		{phase: phaseIssue, action: "CreateAccessKey", stage: emulator.AfterEffect, short: true},
		{phase: phaseRevoke, action: "DeleteAccessKey", stage: emulator.AfterEffect, short: true},
		{phase: phaseRevoke, action: "DetachUserPolicy", stage: emulator.AfterEffect, skip: 1},
		{phase: phaseRevoke, action: "DeleteUser", stage: emulator.BeforeEffect},
	},
	"ncloud": {
		{phase: phaseIssue, action: "ListPolicies", stage: emulator.AfterEffect},
		{phase: phaseIssue, action: "AddSubAccountPolicies", stage: emulator.AfterEffect},
		{phase: phaseIssue, action: "CreateAccessKey", stage: emulator.BeforeEffect},
		{phase: phaseIssue, action: "CreateAccessKey", stage: emulator.AfterEffect},
	},
}

// killPoints are the points of every cloud: before and after its
// emulator's create action (Inventory.CreateAction; the latter in the
// short run too), its extraKillPoints, and after its delete action while
// Vault revokes.
func (cs *clouds) killPoints() []killPoint {
	var out []killPoint
	for _, c := range cs.all() {
		create := c.inst.CreateAction()
		out = append(out,
			killPoint{provider: c.provider, phase: phaseIssue, action: create, stage: emulator.BeforeEffect},
			killPoint{provider: c.provider, phase: phaseIssue, action: create, stage: emulator.AfterEffect, short: true})
		for _, kp := range extraKillPoints[c.provider] {
			kp.provider = c.provider
			out = append(out, kp)
		}
		out = append(out, killPoint{provider: c.provider, phase: phaseRevoke, action: c.inst.DeleteAction(), stage: emulator.AfterEffect})
	}
	return out
}

// rollbackPoints hold the delete of each cloud (Inventory.DeleteAction)
// as Vault's rollback manager calls it, in the full run: Vault dies while
// it undoes the creates the kills above left.
func (cs *clouds) rollbackPoints() []killPoint {
	var out []killPoint
	for _, c := range cs.all() {
		out = append(out, killPoint{provider: c.provider, phase: "rollback", action: c.inst.DeleteAction(), stage: emulator.AfterEffect})
	}
	return out
}

// TestKillPointsCoverEveryCloud: every cloud of cmd/clouds, listed in
// extraKillPoints or not, is killed before and after its create (after it
// in the short run too) and after its delete, during a revoke and a
// rollback; extraKillPoints names only clouds of cmd/clouds, and the full
// run kills at 20 points or more.
func TestKillPointsCoverEveryCloud(t *testing.T) {
	cs := startClouds(t, longTTL)
	points := cs.killPoints()
	for prov := range extraKillPoints {
		require.True(t, slices.ContainsFunc(cs.all(), func(c *cloud) bool { return c.provider == prov }),
			"extraKillPoints names %s, a cloud of cmd/clouds", prov)
	}
	for _, c := range cs.all() {
		create, del := c.inst.CreateAction(), c.inst.DeleteAction()
		for _, want := range []killPoint{
			{provider: c.provider, phase: phaseIssue, action: create, stage: emulator.BeforeEffect},
			{provider: c.provider, phase: phaseIssue, action: create, stage: emulator.AfterEffect, short: true},
			{provider: c.provider, phase: phaseRevoke, action: del, stage: emulator.AfterEffect},
		} {
			require.Contains(t, points, want, "%s", want)
		}
		require.Contains(t, cs.rollbackPoints(), killPoint{provider: c.provider, phase: "rollback", action: del, stage: emulator.AfterEffect})
	}
	require.GreaterOrEqual(t, len(points), 20, "the full run kills at 20 points or more")
}

const (
	// holdWait bounds the wait for a hold to catch its call.
	holdWait = time.Minute
	// perProviderPerCycle is how many credentials of each provider a kill
	// cycle asks for at once (the held provider's all wait at the hold).
	perProviderPerCycle = 2
)

// killEnv is Vault on Raft with the plugin and every cloud.
type killEnv struct {
	s  *vaulttest.Server
	cs *clouds
	l  *ledger
}

// TestVaultKilledMidIssuance (item 2): Vault on integrated Raft storage is
// SIGKILLed (with its plugin) at every point of killPoints while
// credentials of every cloud are issued concurrently, or while leases
// are being revoked, then restarted and unsealed. After each restart every
// lease issued before is renewed. At the end the WAL rollback minimum age
// is lowered and Vault's rollback manager must undo every unfinished
// create; then each cloud holds exactly one object per lease Vault has,
// and `vault lease revoke -prefix` leaves nothing and no irrevocable lease.
func TestVaultKilledMidIssuance(t *testing.T) {
	t.Parallel()
	figures := newFigures(t)
	p := vaulttest.BuildPlugin(t, pluginVersion)
	s := vaulttest.StartRaft(t, vaulttest.Options{Plugins: []*vaulttest.Plugin{p}, LogLevel: "debug", RawStorageEndpoint: true})
	cs := startClouds(t, longTTL)
	mountPlugin(t, s, p, cs)
	e := &killEnv{s: s, cs: cs, l: newLedger()}

	var points []killPoint
	revokes := map[string]int{}
	for _, kp := range cs.killPoints() {
		if full() || kp.short {
			points = append(points, kp)
			if kp.phase == phaseRevoke {
				revokes[kp.provider]++
			}
		}
	}

	// Leases to revoke at the revoke points, issued before any kill.
	c := noRetryClient(t, s)
	for _, cl := range cs.all() {
		for range max(3, revokes[cl.provider]) * perProviderPerCycle {
			cr, err := issue(c, cl)
			require.NoError(t, err)
			e.l.add(cr)
		}
	}

	kills, renewed := 0, 0
	var restarts []time.Duration
	var hit []string
	for _, kp := range points {
		took := e.killAt(t, kp)
		restarts = append(restarts, took)
		kills++
		hit = append(hit, kp.String())
		renewed += renewAll(t, e.s.Client(t), e.l, 0)
	}

	var maxRestart time.Duration
	for _, d := range restarts {
		maxRestart = max(maxRestart, d)
	}
	figures["max_restart_seconds"] = maxRestart.Seconds()
	start := time.Now()
	minAge := setMinAge(t, s, 10*time.Second)
	if full() {
		hit = append(hit, e.killDuringRollback(t, minAge)...)
		kills = len(hit)
	}
	figures["kills"], figures["points"] = kills, hit
	e.waitSettled(t, minAge+2*rollbackPeriod+30*time.Second)
	figures["rollback_settle_seconds"] = time.Since(start).Seconds()
	figures["issued"] = len(e.l.every)
	requireHeld(t, s, cs, e.l, figures)
	renewed += renewAll(t, s.Client(t), e.l, 0)
	figures["renewed_after_kills"] = renewed
	figures["revoke_seconds"] = revokeEverything(t, s, cs, e.l, 3*time.Minute, figures).Seconds()
	if full() {
		require.GreaterOrEqual(t, kills, 20, "Vault is killed at 20 points or more")
	}
}

// killAt runs one kill cycle: hold the point's call, start the work that
// reaches it together with issuances of the other clouds, SIGKILL Vault
// once the call is held and the others are done, release the hold (a call
// held before its effect never takes effect), restart and unseal. It
// returns the restart time.
func (e *killEnv) killAt(t *testing.T, kp killPoint) time.Duration {
	t.Helper()
	target := e.cs.byName(kp.provider)
	h := target.core.Hold(emulator.HoldSpec{Action: kp.action, Stage: kp.stage, Skip: kp.skip, Timeout: 2 * holdWait})
	defer h.Release(emulator.None)
	c := noRetryClient(t, e.s)

	// The held provider's issuances and the other clouds' run at once;
	// Vault dies once the others are done and the point's call is held,
	// so that the kill lands exactly there (TestVaultKilledUnderLoad
	// kills at random moments instead).
	var held, others sync.WaitGroup
	for _, cl := range e.cs.all() {
		if cl == target && kp.phase == phaseRevoke {
			continue
		}
		wg := &others
		if cl == target {
			wg = &held
		}
		for range perProviderPerCycle {
			wg.Go(func() {
				// A request cut by the kill fails.
				if cr, err := issue(c, cl); err == nil {
					e.l.add(cr)
				}
			})
		}
	}
	if kp.phase == phaseRevoke {
		victims := e.l.liveOf(kp.provider)
		require.GreaterOrEqual(t, len(victims), perProviderPerCycle, "%s: live leases to revoke", kp)
		for _, v := range victims[:perProviderPerCycle] {
			// The CLI's default: Vault answers 202 and its expiration
			// manager revokes in the background.
			require.NoError(t, c.Sys().RevokeWithOptions(&api.RevokeOptions{LeaseID: v.leaseID}), "revoke %s", v.leaseID)
			e.l.revoked(v.leaseID)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), holdWait)
	defer cancel()
	require.NoError(t, h.Wait(ctx, 1), "%s: the hold never caught its call", kp)
	others.Wait()
	e.s.Crash(t)
	h.Release(emulator.Drop)
	held.Wait()
	start := time.Now()
	e.s.Restart(t)
	took := time.Since(start)
	t.Logf("killed at %-50s held %d call(s); back in %s", kp.String()+":", h.Caught(), took.Round(time.Millisecond))
	return took
}

// killDuringRollback SIGKILLs Vault while its rollback manager undoes the
// creates the kills left: the rollback points' deletes are held; once one
// is caught (the plugin rolls entries back several at a time, so others
// may be caught in the same pass) Vault dies, restarts, and the points not
// caught yet are tried again. A point is hit only if WAL entries of its
// provider are left when a pass reaches them. It returns the points hit.
func (e *killEnv) killDuringRollback(t *testing.T, minAge time.Duration) []string {
	t.Helper()
	var hit []string
	left := e.cs.rollbackPoints()
	for len(left) > 0 && len(walEntries(t, e.s)) > 0 {
		holds := map[*emulator.Hold]killPoint{}
		for _, kp := range left {
			cl := e.cs.byName(kp.provider)
			holds[cl.core.Hold(emulator.HoldSpec{Action: kp.action, Stage: kp.stage, Timeout: 4 * time.Minute})] = kp
		}
		if e.waitAnyHold(holds, minAge+rollbackPeriod+30*time.Second) == nil {
			for h := range holds {
				h.Release(emulator.None)
			}
			break
		}
		time.Sleep(200 * time.Millisecond) // let the same pass reach the other holds
		e.s.Crash(t)
		var rest []killPoint
		for h, kp := range holds {
			if h.Caught() > 0 {
				t.Logf("killed at %s", kp)
				hit = append(hit, kp.String())
			} else {
				rest = append(rest, kp)
			}
			h.Release(emulator.Drop)
		}
		e.s.Restart(t)
		left = rest
	}
	require.NotEmpty(t, hit, "Vault was killed during a rollback at least once")
	return hit
}

// waitAnyHold returns the first hold that catches a call, or nil when none
// does within timeout (or the WAL is empty).
func (e *killEnv) waitAnyHold(holds map[*emulator.Hold]killPoint, timeout time.Duration) *emulator.Hold {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for h := range holds {
			if h.Caught() > 0 {
				return h
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

// waitSettled waits until the rollback manager has emptied the WAL and
// every lease the test revoked is gone from Vault.
func (e *killEnv) waitSettled(t *testing.T, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		wal := walEntries(t, e.s)
		pending := 0
		leases := map[string]bool{}
		for _, id := range e.s.Leases(t, mount+"/creds/") {
			leases[id] = true
		}
		e.l.mu.Lock()
		for id := range e.l.gone {
			if leases[id] {
				pending++
			}
		}
		e.l.mu.Unlock()
		if len(wal) == 0 && pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not settled after %s: %d WAL entries, %d revoked leases still in Vault", timeout, len(wal), pending)
		}
		time.Sleep(2 * time.Second)
	}
}
