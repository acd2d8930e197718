package reliability

import (
	"context"
	"fmt"
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

// killPoints cover every step of each create and revoke: an iam_user
// create is CreateUser, then two AttachUserPolicy, PutUserPolicy,
// AddUserToGroup and CreateAccessKey at once; its revoke removes exactly
// those, then DeleteUser. A sub_account create lists the policies,
// creates the sub account, attaches the policies, creates the key; its
// revoke is one cascading DeleteSubAccount. A Nomad token is one
// TokenCreate, revoked by one TokenDelete.
var killPoints = []killPoint{
	{provider: "aws", phase: phaseIssue, action: "CreateUser", stage: emulator.BeforeEffect},
	{provider: "aws", phase: phaseIssue, action: "CreateUser", stage: emulator.AfterEffect, short: true},
	{provider: "aws", phase: phaseIssue, action: "AttachUserPolicy", stage: emulator.BeforeEffect},
	{provider: "aws", phase: phaseIssue, action: "AttachUserPolicy", stage: emulator.AfterEffect, skip: 1},
	{provider: "aws", phase: phaseIssue, action: "PutUserPolicy", stage: emulator.AfterEffect},
	{provider: "aws", phase: phaseIssue, action: "AddUserToGroup", stage: emulator.AfterEffect},
	{provider: "aws", phase: phaseIssue, action: "CreateAccessKey", stage: emulator.BeforeEffect},
	{provider: "aws", phase: phaseIssue, action: "CreateAccessKey", stage: emulator.AfterEffect, short: true},
	{provider: "aws", phase: phaseRevoke, action: "DeleteAccessKey", stage: emulator.AfterEffect, short: true},
	{provider: "aws", phase: phaseRevoke, action: "DetachUserPolicy", stage: emulator.AfterEffect, skip: 1},
	{provider: "aws", phase: phaseRevoke, action: "DeleteUser", stage: emulator.BeforeEffect},
	{provider: "ncloud", phase: phaseIssue, action: "ListPolicies", stage: emulator.AfterEffect},
	{provider: "ncloud", phase: phaseIssue, action: "CreateSubAccount", stage: emulator.BeforeEffect},
	{provider: "ncloud", phase: phaseIssue, action: "CreateSubAccount", stage: emulator.AfterEffect, short: true},
	{provider: "ncloud", phase: phaseIssue, action: "AddSubAccountPolicies", stage: emulator.AfterEffect},
	{provider: "ncloud", phase: phaseIssue, action: "CreateAccessKey", stage: emulator.BeforeEffect},
	{provider: "ncloud", phase: phaseIssue, action: "CreateAccessKey", stage: emulator.AfterEffect},
	{provider: "ncloud", phase: phaseRevoke, action: "DeleteSubAccount", stage: emulator.AfterEffect},
	{provider: "nomad", phase: phaseIssue, action: "TokenCreate", stage: emulator.BeforeEffect},
	{provider: "nomad", phase: phaseIssue, action: "TokenCreate", stage: emulator.AfterEffect, short: true},
	{provider: "nomad", phase: phaseRevoke, action: "TokenDelete", stage: emulator.AfterEffect},
}

// rollbackPoints hold the deletes of Vault's rollback manager, in the full
// run: Vault dies while it undoes the creates the kills above left.
var rollbackPoints = []killPoint{
	{provider: "aws", phase: "rollback", action: "DeleteUser", stage: emulator.AfterEffect},
	{provider: "ncloud", phase: "rollback", action: "DeleteSubAccount", stage: emulator.AfterEffect},
	{provider: "nomad", phase: "rollback", action: "TokenDelete", stage: emulator.AfterEffect},
}

const (
	// holdWait bounds the wait for a hold to catch its call.
	holdWait = time.Minute
	// perProviderPerCycle is how many credentials of each provider a kill
	// cycle asks for at once (the held provider's all wait at the hold).
	perProviderPerCycle = 2
)

// killEnv is Vault on Raft with the plugin and the three clouds.
type killEnv struct {
	s  *vaulttest.Server
	cs *clouds
	l  *ledger
}

// TestVaultKilledMidIssuance (item 2): Vault on integrated Raft storage is
// SIGKILLed (with its plugin) at every point of killPoints while AWS,
// Ncloud and Nomad credentials are issued concurrently, or while leases
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

	// Leases to revoke at the revoke points, issued before any kill.
	c := noRetryClient(t, s)
	for _, cl := range cs.all() {
		for range 3 * perProviderPerCycle {
			cr, err := issue(c, cl)
			require.NoError(t, err)
			e.l.add(cr)
		}
	}

	kills, renewed := 0, 0
	var restarts []time.Duration
	var hit []string
	for _, kp := range killPoints {
		if !full() && !kp.short {
			continue
		}
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
	left := append([]killPoint(nil), rollbackPoints...)
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
