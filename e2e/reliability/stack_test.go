package reliability

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/require"

	mcclouds "github.com/multicloud-vault/vault-plugin-secrets-multicloud/cmd/clouds"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/e2e/vaulttest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
)

const (
	mount         = "multicloud"
	pluginVersion = "v0.1.0"

	// envDefaultMinAge lets the tests run against a plugin without the
	// <mount>/settings path (before the operator setting lands): they then
	// wait out the built-in 5 minute WAL rollback minimum age.
	envDefaultMinAge = "RELIABILITY_BUILTIN_MIN_AGE"
	builtinMinAge    = 5 * time.Minute

	// rollbackPeriod is how often Vault's rollback manager runs (1 minute,
	// not configurable): after a restart, a stale WAL entry waits up to
	// this long beyond the minimum age.
	rollbackPeriod = time.Minute
)

// cloud is one provider instance (named after its driver) with its
// emulator and the role the tests issue from.
type cloud struct {
	provider string
	// role is the role the tests issue from: the emulator's first
	// Revocable role, with the test's TTLs.
	role string
	// inst is the emulator; its Inventory names the object each
	// credential lives in.
	inst emulator.Instance
	core *emulator.Core
	// base is the count of the objects of inst.ObjectKind() before the
	// test; fixtures are their names.
	base     int
	fixtures map[string]bool
	// secretField and objectField name the issued secret and the object
	// it lives in, in the creds response.
	secretField, objectField string
	// roots are the root secrets the provider is configured with: the
	// values of the driver's secret config fields.
	roots []string
	// config and roleData are written to config/<provider> and
	// roles/<provider>/<role>.
	config, roleData map[string]any
}

// extra is how many per-credential objects exist beyond the fixtures.
func (c *cloud) extra() int { return c.inst.State()[c.inst.ObjectKind()] - c.base }

// exists reports whether the object named name is live.
func (c *cloud) exists(name string) bool { return c.inst.HasObject(name) }

// names lists the cloud's per-credential objects, fixtures included, by
// the name the creds response gives (objectField), for diagnostics.
func (c *cloud) names() []string { return c.inst.ObjectNames() }

// clouds are every emulated cloud (cmd/clouds) of one test.
type clouds struct {
	list []*cloud
	// ttl is the roles' lease TTL.
	ttl time.Duration
}

func (cs *clouds) all() []*cloud { return cs.list }

func (cs *clouds) byName(provider string) *cloud {
	for _, c := range cs.all() {
		if c.provider == provider {
			return c
		}
	}
	panic("no cloud " + provider)
}

// startClouds starts the emulator of every cloud of cmd/clouds, with the
// fixtures its roles need, on 127.0.0.1; each cloud's role is its
// emulator's first Revocable role with ttl as its TTL and a max_ttl of
// 24h. Holds still armed when the test ends are released before the
// servers close.
func startClouds(t *testing.T, ttl time.Duration) *clouds {
	t.Helper()
	cs := &clouds{ttl: ttl}
	reg := mcclouds.Registry()
	for _, c := range mcclouds.All() {
		inst, err := c.New(nil)
		require.NoError(t, err, "%s emulator", c.Name())
		srv := httptest.NewServer(inst)
		t.Cleanup(srv.Close)
		i := slices.IndexFunc(inst.Roles(), func(r emulator.Role) bool { return r.Revocable })
		require.GreaterOrEqual(t, i, 0, "%s: a role whose credentials revoke deletes", c.Name())
		r := inst.Roles()[i]
		roleData := maps.Clone(r.Fields)
		roleData["ttl"], roleData["max_ttl"] = ttl.String(), "24h"
		cl := &cloud{provider: c.Name(), role: r.Name, inst: inst, core: inst.Core(),
			config: inst.Config(srv.URL), roleData: roleData}
		cl.objectField, cl.secretField = inst.CredFields()
		d, ok := reg.Driver(c.Name())
		require.True(t, ok, "%s driver", c.Name())
		for _, f := range d.Info().ConfigFields {
			if v, _ := cl.config[f.Name].(string); f.Secret && v != "" {
				cl.roots = append(cl.roots, v)
			}
		}
		require.NotEmpty(t, cl.roots, "%s: the root secrets of its config", c.Name())
		cl.base = inst.State()[inst.ObjectKind()]
		cl.fixtures = map[string]bool{}
		for _, n := range cl.names() {
			cl.fixtures[n] = true
		}
		require.Len(t, cl.fixtures, cl.base, "%s: the fixtures' names are what State counts", c.Name())
		core := cl.core
		t.Cleanup(func() { core.ReleaseHolds(emulator.None) })
		cs.list = append(cs.list, cl)
	}
	require.NotEmpty(t, cs.list)
	return cs
}

// setFaults sets the same faults at every emulator.
func (cs *clouds) setFaults(f emulator.Faults) {
	for _, c := range cs.all() {
		c.core.SetFaults(f)
	}
}

// mountPlugin registers and mounts the plugin on s (the active node of a
// cluster) and configures every cloud with its role.
func mountPlugin(t *testing.T, s *vaulttest.Server, p *vaulttest.Plugin, cs *clouds) {
	t.Helper()
	s.RegisterPlugin(t, p)
	s.EnablePlugin(t, mount, p)
	c := s.Client(t)
	for _, cl := range cs.all() {
		_, err := c.Logical().Write(mount+"/config/"+cl.provider, cl.config)
		require.NoError(t, err, "config/%s", cl.provider)
		_, err = c.Logical().Write(mount+"/roles/"+cl.provider+"/"+cl.role, cl.roleData)
		require.NoError(t, err, "roles/%s/%s", cl.provider, cl.role)
	}
}

// noRetryClient is an API client for s that never retries: a request cut
// by a crash fails instead of being sent again to the restarted server.
func noRetryClient(t *testing.T, s *vaulttest.Server) *api.Client {
	t.Helper()
	c := s.Client(t)
	c.SetMaxRetries(0)
	return c
}

// setMinAge sets the plugin's WAL rollback minimum age (<mount>/settings,
// wal_rollback_min_age) and returns the age in force. With
// RELIABILITY_BUILTIN_MIN_AGE=1 a plugin without the settings path is
// accepted and its built-in 5 minutes returned.
func setMinAge(t *testing.T, s *vaulttest.Server, d time.Duration) time.Duration {
	t.Helper()
	c := s.Client(t)
	_, err := c.Logical().Write(mount+"/settings", map[string]any{"wal_rollback_min_age": d.String()})
	var re *api.ResponseError
	if err != nil && errors.As(err, &re) && (re.StatusCode == http.StatusNotFound || re.StatusCode == http.StatusMethodNotAllowed ||
		strings.Contains(err.Error(), "unsupported path")) && os.Getenv(envDefaultMinAge) == "1" {
		t.Logf("%s/settings is not there yet; waiting out the built-in WAL rollback minimum age of %s", mount, builtinMinAge)
		return builtinMinAge
	}
	require.NoError(t, err, "%s/settings wal_rollback_min_age (the operator setting of issue 13); set %s=1 to wait out the built-in age instead", mount, envDefaultMinAge)
	sec, err := c.Logical().Read(mount + "/settings")
	require.NoError(t, err)
	require.NotNil(t, sec)
	got, err := parseDuration(sec.Data["wal_rollback_min_age"])
	require.NoError(t, err)
	require.Equal(t, d, got, "the minimum age reads back as written")
	return got
}

// parseDuration reads a duration answered as seconds or as a Go duration.
func parseDuration(v any) (time.Duration, error) {
	switch x := v.(type) {
	case interface{ Int64() (int64, error) }:
		n, err := x.Int64()
		return time.Duration(n) * time.Second, err
	case string:
		return time.ParseDuration(x)
	}
	return 0, fmt.Errorf("wal_rollback_min_age is %T %v, not a duration", v, v)
}

// walEntries lists the mount's WAL entries (unfinished creates) through
// sys/raw.
func walEntries(t *testing.T, s *vaulttest.Server) []string {
	t.Helper()
	return s.MountStorageKeys(t, mount, "wal/")
}

// waitNoWAL waits until the rollback manager has removed every WAL entry.
func waitNoWAL(t *testing.T, s *vaulttest.Server, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	var left []string
	for time.Since(start) < timeout {
		if left = walEntries(t, s); len(left) == 0 {
			return time.Since(start)
		}
		time.Sleep(2 * time.Second)
	}
	logMatching(t, s, 40, "roll")
	t.Fatalf("%d WAL entries still there after %s: %v", len(left), timeout, left)
	return 0
}

// longTTL is the roles' lease TTL in tests that must leave no object held
// by no lease at all; tests that kill at random moments use shortTTL so
// that an object whose lease was never stored is tidied within the test.
const (
	longTTL  = time.Hour
	shortTTL = time.Minute
)

// requireHeld checks what holds each per-credential object. It asserts
// the plugin's own audit (audit/<provider>): no marked object held by
// nothing — no lease, WAL entry or index entry of the plugin. It counts
// per provider the objects beyond the fixtures that no Vault lease holds
// (held by their index entry alone: a create that finished but whose lease
// Vault never stored); with longTTL roles there must be none. The object
// of every live lease the test knows must exist. It returns the leases per
// provider and notes everything in figures.
func requireHeld(t *testing.T, s *vaulttest.Server, cs *clouds, l *ledger, figures map[string]any) map[string]int {
	t.Helper()
	// A revoke that finishes between the two counts (the object gone, the
	// lease not yet) shows as a difference for a few milliseconds; an
	// object held by no lease stays.
	var held, unheld map[string]int
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		held, unheld = map[string]int{}, map[string]int{}
		for _, c := range cs.all() {
			leases := s.Leases(t, mount+"/creds/"+c.provider+"/")
			held[c.provider] = len(leases)
			if n := c.extra() - len(leases); n != 0 {
				unheld[c.provider] = n
			}
		}
		if len(unheld) == 0 || time.Now().After(deadline) {
			break
		}
	}
	figures["leases_before_revoke"] = held
	figures["objects_held_by_no_lease"] = unheld
	for _, c := range cs.all() {
		if n := unheld[c.provider]; n != 0 {
			logUnheld(t, s, c, l)
			require.Positive(t, n, "%s: more leases than objects", c.provider)
		}
	}
	requireNoOrphans(t, s, cs, figures)
	if len(unheld) > 0 && cs.ttl >= longTTL {
		t.Fatalf("cloud objects held by no lease (objects beyond the fixtures minus Vault's leases): %v", unheld)
	}
	for _, c := range cs.all() {
		for _, cr := range l.liveOf(c.provider) {
			require.True(t, c.exists(cr.object), "%s: the object %s of live lease %s is gone", c.provider, cr.object, cr.leaseID)
		}
	}
	return held
}

// requireNoOrphans reads the plugin's audit of every cloud: a marked
// object that no lease, WAL entry or index entry holds is an orphan, and
// there must be none. Ghosts (index entries whose objects are gone) are
// counted.
func requireNoOrphans(t *testing.T, s *vaulttest.Server, cs *clouds, figures map[string]any) {
	t.Helper()
	c := s.Client(t)
	orphans, ghosts := map[string]int{}, map[string]int{}
	for _, cl := range cs.all() {
		sec, err := c.Logical().Read(mount + "/audit/" + cl.provider)
		require.NoError(t, err, "audit/%s", cl.provider)
		require.NotNil(t, sec, "audit/%s", cl.provider)
		if o, _ := sec.Data["orphans"].([]any); len(o) > 0 {
			orphans[cl.provider] = len(o)
			t.Logf("audit/%s orphans: %v", cl.provider, o)
		}
		if g, _ := sec.Data["ghosts"].([]any); len(g) > 0 {
			ghosts[cl.provider] = len(g)
		}
	}
	figures["audit_orphans"], figures["audit_ghosts"] = orphans, ghosts
	require.Empty(t, orphans, "marked cloud objects held by no lease, WAL entry or index entry")
}

// tidyAfterTTL waits until every lease the test could have been issued
// has reached the end of its TTL, then runs tidy/<provider> (dry_run=false,
// min_age=0, abandon_after=0) on every cloud: the index entries of
// credentials whose lease Vault never stored are then abandoned, and tidy
// removes their objects. Only for shortTTL roles, once Vault holds no lease
// of the mount. It returns how many objects tidy removed.
func tidyAfterTTL(t *testing.T, s *vaulttest.Server, cs *clouds, l *ledger) int {
	t.Helper()
	require.Less(t, cs.ttl, longTTL, "tidy is only waited for with short TTLs")
	if wait := time.Until(l.lastIssued().Add(cs.ttl + 5*time.Second)); wait > 0 {
		time.Sleep(wait)
	}
	removed := 0
	c := s.Client(t)
	for _, cl := range cs.all() {
		sec, err := c.Logical().Write(mount+"/tidy/"+cl.provider, map[string]any{"dry_run": false, "min_age": "0s", "abandon_after": "0s"})
		require.NoError(t, err, "tidy/%s", cl.provider)
		r, _ := sec.Data["removed"].([]any)
		f, _ := sec.Data["failed"].([]any)
		require.Empty(t, f, "tidy/%s failed removals", cl.provider)
		removed += len(r)
	}
	return removed
}

// revokeEverything runs `vault lease revoke -prefix <mount>/creds` (the
// CLI's asynchronous default), waits until Vault holds no lease of the
// mount and every cloud is back to its fixtures (with shortTTL roles, after
// tidying what was never a lease), and checks that no lease is
// irrevocable. It notes what is left in figures; a failure marks the
// test failed but lets it go on (the soak still scans for secrets).
func revokeEverything(t *testing.T, s *vaulttest.Server, cs *clouds, l *ledger, timeout time.Duration, figures map[string]any) time.Duration {
	t.Helper()
	start := time.Now()
	res := s.CLI(t, "lease", "revoke", "-prefix", mount+"/creds")
	require.Equal(t, 0, res.ExitCode, res.Stderr)
	var last string
	tidied := false
	for time.Since(start) < timeout {
		leases := s.Leases(t, mount+"/creds/")
		var objs []string
		for _, c := range cs.all() {
			if n := c.extra(); n != 0 {
				objs = append(objs, fmt.Sprintf("%s=%d", c.provider, n))
			}
		}
		irrevocable := s.IrrevocableLeases(t)
		figures["objects_left"], figures["leases_left"], figures["irrevocable_leases"] = objs, len(leases), irrevocable
		if len(leases) == 0 && len(objs) > 0 && cs.ttl < longTTL && !tidied {
			// What remains was never a lease: tidied once its TTL is over.
			figures["removed_by_tidy"] = tidyAfterTTL(t, s, cs, l)
			tidied = true
			continue
		}
		if len(leases) == 0 && len(objs) == 0 {
			for _, cr := range l.liveOf("") {
				l.revoked(cr.leaseID)
			}
			figures["objects_left"] = 0
			if irrevocable != 0 {
				t.Errorf("%d irrevocable leases", irrevocable)
			}
			return time.Since(start)
		}
		last = fmt.Sprintf("%d leases left (%d irrevocable), objects left: %v", len(leases), irrevocable, objs)
		time.Sleep(time.Second)
	}
	logMatching(t, s, 20, "failed to revoke")
	t.Errorf("revoke -prefix did not finish within %s: %s", timeout, last)
	return time.Since(start)
}
