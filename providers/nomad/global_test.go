package nomad_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/nomad"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/nomad/nomadtest"
)

// manualClock is a settable clock for the emulator's replication.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// federated is an env whose Nomad is a federation of "global" (the ACL
// authoritative region) and "east", reached through an agent of east,
// with 10 s of ACL replication lag on a clock the test moves.
func federated(t *testing.T) (*env, *manualClock) {
	t.Helper()
	e := newEnv(t, nomadtest.Options{Regions: []string{"global", "east"}, LocalRegion: "east", AuthoritativeRegion: "global", ReplicationLag: 10 * time.Second})
	clock := &manualClock{now: time.Now()}
	e.ts.SetClock(clock.Now)
	e.configure(nil)
	e.OK(logical.UpdateOperation, "roles/nomad/g", map[string]any{"policies": "readonly", "global": true})
	e.OK(logical.UpdateOperation, "roles/nomad/l", map[string]any{"policies": "readonly"})
	return e, clock
}

// leaseInternal is the driver's part of a lease's internal data.
func leaseInternal(t *testing.T, s *logical.Secret) map[string]any {
	t.Helper()
	var out map[string]any
	require.NoError(t, json.Unmarshal([]byte(s.InternalData["data"].(string)), &out))
	return out
}

// A global token is created in the authoritative region and revoked there,
// even before ACL replication brings it to the agent's region: there,
// Nomad would answer "Cannot delete nonexistent tokens" while it lives on.
func TestGlobalTokenRevokedInTheAuthoritativeRegion(t *testing.T) {
	e, clock := federated(t)
	before := e.ts.State()

	resp := e.issue("g")
	accessor := resp.Data["accessor_id"].(string)
	in := leaseInternal(t, resp.Secret)
	require.Equal(t, true, in["global"])
	require.Equal(t, "global", in["region"])
	require.Equal(t, "global", in["authoritative_region"])
	_, ok := e.ts.TokenIn("global", accessor)
	require.True(t, ok)
	_, ok = e.ts.TokenIn("east", accessor)
	require.False(t, ok, "not replicated to east yet")

	r, err := e.Revoke(resp.Secret)
	require.NoError(t, err)
	require.Empty(t, warnings(r), "the token was there to delete")
	_, ok = e.ts.TokenIn("global", accessor)
	require.False(t, ok, "deleted in the authoritative region")
	clock.Advance(10 * time.Second)
	require.Equal(t, before, e.ts.State(), "and nowhere after replication")

	// Once replicated, too, and a second revoke is "already gone" from the
	// owning region.
	resp = e.issue("g")
	clock.Advance(10 * time.Second)
	_, err = e.Revoke(resp.Secret)
	require.NoError(t, err)
	r, err = e.Revoke(resp.Secret)
	require.NoError(t, err)
	require.Contains(t, warnings(r), "already gone")
	clock.Advance(10 * time.Second)
	require.Equal(t, before, e.ts.State())
}

// A local token lives in the agent's region and is revoked there.
func TestLocalTokenInTheAgentsRegion(t *testing.T) {
	e, _ := federated(t)
	before := e.ts.State()
	resp := e.issue("l")
	in := leaseInternal(t, resp.Secret)
	require.Equal(t, "east", in["region"])
	require.Nil(t, in["global"])
	_, ok := e.ts.TokenIn("east", resp.Data["accessor_id"].(string))
	require.True(t, ok)
	_, err := e.Revoke(resp.Secret)
	require.NoError(t, err)
	require.Equal(t, before, e.ts.State())
}

// Leases of earlier versions recorded no region: "nonexistent" from the
// agent's region is not enough, the authoritative region is asked too.
func TestOldLeaseOfAGlobalTokenAsksBothRegions(t *testing.T) {
	e, clock := federated(t)
	before := e.ts.State()
	resp := e.issue("g")
	in := leaseInternal(t, resp.Secret)
	old, err := json.Marshal(map[string]any{"accessor_id": in["accessor_id"], "token_name": in["token_name"]})
	require.NoError(t, err)
	resp.Secret.InternalData["data"] = string(old)

	r, err := e.Revoke(resp.Secret)
	require.NoError(t, err)
	require.Empty(t, warnings(r))
	clock.Advance(10 * time.Second)
	require.Equal(t, before, e.ts.State())
}

// A global create interrupted before its answer is rolled back from the
// intent in the authoritative region, before replication.
func TestGlobalRollbackSearchesTheAuthoritativeRegion(t *testing.T) {
	ts := nomadtest.Start(t, nomadtest.Options{Regions: []string{"global", "east"}, LocalRegion: "east", AuthoritativeRegion: "global", ReplicationLag: time.Hour})
	seedACL(t, ts.URL, ts.RootToken(), nil)
	p := openProvider(t, ts.URL, ts.RootToken(), nil)
	ctx := context.Background()
	before := ts.State()

	req := createRequest(providers.Values{"type": "client", "policies": []string{"readonly"}, "global": true})
	in, err := p.Prepare(ctx, req)
	require.NoError(t, err)
	require.JSONEq(t, `{"token_name":"vault-r-token-abcdefghijklm","global":true,"region":"global"}`, string(in.Data))
	req.Intent = in.Data
	_, err = p.Create(ctx, req) // the answer is thrown away
	require.NoError(t, err)
	tok, ok := ts.TokenByName("vault-r-token-abcdefghijklm")
	require.True(t, ok)
	_, ok = ts.TokenIn("east", tok.AccessorID)
	require.False(t, ok)

	require.NoError(t, p.Rollback(ctx, &providers.RollbackRequest{Intent: in.Data}))
	require.Equal(t, before, ts.State())

	// An intent of an earlier version (the name alone) finds it too.
	_, err = p.Create(ctx, req)
	require.NoError(t, err)
	require.NoError(t, p.Rollback(ctx, &providers.RollbackRequest{Intent: json.RawMessage(`{"token_name":"vault-r-token-abcdefghijklm"}`)}))
	require.Equal(t, before, ts.State())
}

// Through a client agent whose config names no authoritative region, a
// global role is refused (the driver cannot tell where global tokens
// live); local roles work.
func TestGlobalRoleNeedsTheAuthoritativeRegion(t *testing.T) {
	e := newEnv(t, nomadtest.Options{Regions: []string{"global", "east"}, LocalRegion: "east", ClientAgent: true})
	e.configure(nil)
	e.BadRequest(logical.UpdateOperation, "roles/nomad/g", map[string]any{"policies": "readonly", "global": true}, "global", "authoritative region")
	e.OK(logical.UpdateOperation, "roles/nomad/l", map[string]any{"policies": "readonly"})
	resp := e.issue("l")
	_, err := e.Revoke(resp.Secret)
	require.NoError(t, err)
}

// rotate-root of a global management token through a region other than
// the authoritative one waits for the new token to replicate there, so
// the plugin can reopen with it, and deletes the old one.
func TestRotateRootGlobalTokenAcrossRegions(t *testing.T) {
	e := newEnv(t, nomadtest.Options{Regions: []string{"global", "east"}, LocalRegion: "east", AuthoritativeRegion: "global", ReplicationLag: 300 * time.Millisecond})
	old := e.ts.RootToken()
	e.configure(nil)
	before := e.ts.State()

	resp := e.OK(logical.UpdateOperation, "config/nomad/rotate-root", nil)
	newAccessor := resp.Data["accessor_id"].(string)
	tok, ok := e.ts.TokenIn("global", newAccessor)
	require.True(t, ok)
	require.True(t, tok.Global)
	_, ok = e.ts.TokenIn("global", resp.Data["previous_accessor_id"].(string))
	require.False(t, ok, "the old token is deleted in the authoritative region")
	require.Eventually(t, func() bool {
		_, _, err := e.client(old).ACLTokens().Self(nil)
		return err != nil && e.ts.State()["tokens"] == before["tokens"]
	}, 5*time.Second, 50*time.Millisecond, "and in east once replicated")

	e.OK(logical.UpdateOperation, "roles/nomad/r", map[string]any{"policies": "readonly"})
	creds := e.issue("r")
	_, err := e.Revoke(creds.Secret)
	require.NoError(t, err)
}

// openProvider opens the driver directly on addr with token.
func openProvider(t *testing.T, addr, token string, extra providers.Values) providers.Provider {
	t.Helper()
	cfg := providers.Values{"address": addr, "token": token, "max_token_name_length": 256}
	for k, v := range extra {
		cfg[k] = v
	}
	p, err := nomad.New(nomad.WithGetenv(noEnv)).Open(context.Background(), providers.OpenRequest{Instance: "nomad", Config: cfg, Logger: hclog.NewNullLogger()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// createRequest is an issue of role "r" by "token" with id abcdefghijklm.
func createRequest(role providers.Values) *providers.CreateRequest {
	return &providers.CreateRequest{
		Instance: "nomad", Role: "r", CredentialType: nomad.CredentialToken,
		RoleValues: role, TTL: time.Hour, MaxTTL: time.Hour,
		DisplayName: "token", ID: "abcdefghijklm", Now: time.Now(),
	}
}

func warnings(r *logical.Response) string {
	if r == nil {
		return ""
	}
	out := ""
	for _, w := range r.Warnings {
		out += w + "\n"
	}
	return out
}
