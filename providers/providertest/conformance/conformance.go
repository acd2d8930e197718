// Package conformance states the driver contract of package providers as
// tests. Every driver's tests run it against the driver's emulator (and
// `make testacc` against a real cloud): one table of checks, so the same
// rules give the same answers in every driver.
//
// A driver's test builds an Env (a fresh cloud, a config and a role per
// credential type) and calls Run:
//
//	func TestConformance(t *testing.T) {
//		conformance.Run(t, conformance.Harness{
//			Driver: mydriver.New(),
//			Start:  func(t *testing.T) *conformance.Env { ... },
//		})
//	}
//
// Checks that need fault injection (a create stopped at each step) run only
// when the Env has an emulator's fault core; against a real cloud they skip.
package conformance

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// Harness is a driver under test.
type Harness struct {
	// Driver is the driver under test.
	Driver providers.Driver
	// Start starts a fresh cloud (an emulator, or the real cloud for
	// acceptance tests) for one check and describes it. Each check gets
	// its own Env, so checks do not see each other's objects.
	Start func(t *testing.T) *Env
	// Skip names checks this driver cannot run, with the reason (e.g. a
	// cloud whose revoke is a documented no-op). Use sparingly: a skipped
	// check is a promise not kept.
	Skip map[string]string
}

// Env is one cloud to run a check against.
type Env struct {
	// Driver, if set, replaces Harness.Driver for this Env (a driver
	// bound to its cloud, like the in-memory test driver).
	Driver providers.Driver
	// Config is the config of an instance acting on this cloud, as the
	// plugin would pass it (defaults are filled in by the suite).
	Config providers.Values
	// Roles are the roles to exercise: at least one per credential type
	// of the driver.
	Roles []Role
	// State returns the cloud's live object counts; a check compares it
	// before and after. It must count every kind of object a credential
	// is made of.
	State func() map[string]int
	// Faults is the emulator's fault core; nil against a real cloud.
	Faults *emulator.Core
	// CreateActions are, per credential type, the emulator actions of a
	// Create that make something in the cloud, in the order they run.
	// The suite fails each in turn (with every DeleteActions action, so
	// the create's own clean-up fails too) and checks that Rollback, from
	// the intent alone, leaves nothing.
	CreateActions map[string][]string
	// DeleteActions are the emulator actions that delete or detach.
	DeleteActions []string
	// Use, if set, checks that an issued credential works in the cloud.
	Use func(t *testing.T, credentialType string, data map[string]any)
	// OtherTarget, if set, is a config of the same driver acting on
	// another account or cluster: its Target must differ.
	OtherTarget providers.Values
	// TTL is the lease TTL of requests (default 1h).
	TTL time.Duration
}

// Role is one role of the driver.
type Role struct {
	// Name is the role's name.
	Name string
	// CredentialType is one of the driver's credential types.
	CredentialType string
	// Values are the role's fields (defaults are filled in by the suite).
	Values providers.Values
	// Params are the creds request's parameters.
	Params providers.Values
}

// check is one contract promise.
type check struct {
	name string
	run  func(t *testing.T, s *suite)
}

// checks is the contract, as a table. Each check starts its own Env.
var checks = []check{
	{"info", checkInfo},
	{"target", checkTarget},
	{"validate-and-prepare-create-nothing", checkValidatePrepare},
	{"issue-revoke-revoke-again", checkIssueRevoke},
	{"no-secret-stored", checkNoSecretStored},
	{"rollback-after-complete-create", checkRollbackComplete},
	{"rollback-at-each-step", checkRollbackEachStep},
	{"unreadable-internal-data", checkUnreadableInternal},
	{"unreadable-intent", checkUnreadableIntent},
	{"unknown-credential-type", checkUnknownType},
	{"concurrent-revokes", checkConcurrentRevokes},
	{"close-while-requests-run", checkCloseWhileRunning},
	{"audit-inventory-and-remove", checkAudit},
	{"through-the-plugin", checkThroughPlugin},
}

// confMark is the mark the suite's requests carry.
var confMark = providers.Mark{Mount: "conforma", Instance: "conformance"}

// Run runs every check of the contract against h.
func Run(t *testing.T, h Harness) {
	t.Helper()
	require.NotNil(t, h.Driver, "conformance: Harness.Driver")
	require.NotNil(t, h.Start, "conformance: Harness.Start")
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if why, ok := h.Skip[c.name]; ok {
				t.Skip(why)
			}
			env := h.Start(t)
			require.NotNil(t, env, "conformance: Start returned no Env")
			require.NotEmpty(t, env.Roles, "conformance: Env.Roles")
			require.NotNil(t, env.State, "conformance: Env.State")
			if env.Driver != nil {
				h.Driver = env.Driver
			}
			s := &suite{h: h, env: env, info: h.Driver.Info()}
			c.run(t, s)
		})
	}
}

// suite is the state of one check.
type suite struct {
	h    Harness
	env  *Env
	info providers.DriverInfo
}

// open opens a provider on cfg (defaults filled in), closed when t ends.
func (s *suite) open(t *testing.T, cfg providers.Values) providers.Provider {
	t.Helper()
	p, err := s.h.Driver.Open(context.Background(), providers.OpenRequest{
		Instance: "conformance",
		Config:   withDefaults(s.info.ConfigFields, cfg),
	})
	require.NoError(t, err, "Open")
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// ctype returns a role's credential type description.
func (s *suite) ctype(t *testing.T, r Role) providers.CredentialType {
	t.Helper()
	c, ok := s.info.CredentialType(r.CredentialType)
	require.True(t, ok, "role %s: the driver has no credential type %q", r.Name, r.CredentialType)
	return c
}

// request builds the create request the plugin would send for r.
func (s *suite) request(t *testing.T, r Role) *providers.CreateRequest {
	t.Helper()
	c := s.ctype(t, r)
	ttl := s.env.TTL
	if ttl == 0 {
		ttl = time.Hour
	}
	return &providers.CreateRequest{
		Instance:       "conformance",
		Role:           r.Name,
		CredentialType: r.CredentialType,
		RoleValues:     withDefaults(c.RoleFields, r.Values),
		Params:         withDefaults(c.RequestFields, r.Params),
		TTL:            ttl,
		MaxTTL:         ttl,
		DisplayName:    "token-conformance",
		ID:             newID(t),
		Now:            time.Now(),
		Mark:           confMark,
	}
}

// issued is one credential made by create.
type issued struct {
	role   Role
	req    *providers.CreateRequest
	intent *providers.Intent
	resp   *providers.CreateResponse
}

// create prepares and creates one credential of r, as the plugin does.
func (s *suite) create(ctx context.Context, t *testing.T, p providers.Provider, r Role) (*issued, error) {
	t.Helper()
	req := s.request(t, r)
	intent, err := p.Prepare(ctx, req)
	if err != nil {
		return nil, err
	}
	if intent != nil {
		req.Intent = intent.Data
	}
	resp, err := p.Create(ctx, req)
	return &issued{role: r, req: req, intent: intent, resp: resp}, err
}

// revoke revokes an issued credential.
func revoke(ctx context.Context, p providers.Provider, c *issued) error {
	_, err := p.Revoke(ctx, &providers.RevokeRequest{CredentialType: c.role.CredentialType, Internal: c.resp.Internal})
	return err
}

// withDefaults fills in the fields' defaults, as the plugin does.
func withDefaults(fields []providers.Field, v providers.Values) providers.Values {
	out := providers.Values{}
	for k, x := range v {
		out[k] = x
	}
	for _, f := range fields {
		if _, ok := out[f.Name]; !ok && f.Default != nil {
			out[f.Name] = f.Default
		}
	}
	return out
}

// newID returns an id like the plugin's: 13 characters of [a-z2-7].
func newID(t *testing.T) string {
	t.Helper()
	var b [8]byte
	_, err := rand.Read(b[:])
	require.NoError(t, err)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}
