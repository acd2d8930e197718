package nomad_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/nomad"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/nomad/nomadtest"
)

// makeToken creates a client token behind the plugin's back, in region
// ("" for the agent's), and returns its accessor.
func (e *env) makeToken(name string, global bool, region string) string {
	e.T.Helper()
	tok, _, err := e.client(e.ts.RootToken()).ACLTokens().Create(&api.ACLToken{Name: name, Type: "client", Policies: []string{"readonly"}, Global: global},
		&api.WriteOptions{Region: region})
	require.NoError(e.T, err)
	return tok.AccessorID
}

func names(t *testing.T, data map[string]any, key string) []string {
	t.Helper()
	out := []string{}
	for _, o := range data[key].([]map[string]any) {
		out = append(out, o["name"].(string))
	}
	return out
}

// Issue 14: issued tokens carry the name prefix mc:<mount_id>:<instance>:;
// a token made behind the plugin's back with it is an orphan, removed by
// tidy; live tokens, other mounts', other instances' and unmarked tokens
// (and the management token) are never listed nor touched.
func TestAuditAndTidy(t *testing.T) {
	e := newEnv(t, nomadtest.Options{})
	e.configure(nil)
	e.OK(logical.UpdateOperation, "roles/nomad/r", map[string]any{"policies": "readonly"})
	live1, live2 := e.issue("r"), e.issue("r")
	mount := e.mountID()
	prefix := "mc:" + mount + ":nomad:"
	for _, l := range []*logical.Response{live1, live2} {
		require.Regexp(t, `^mc:`+mount+`:nomad:vault-r-token-ci-example\.com-[a-z2-7]{13}$`, l.Data["name"])
	}

	// A second instance of the mount on the same cluster, whose name
	// starts like the first's.
	e.OK(logical.UpdateOperation, "config/nomad-b", map[string]any{"driver": "nomad", "address": e.ts.URL, "token": e.ts.RootToken()})
	e.OK(logical.UpdateOperation, "roles/nomad-b/r", map[string]any{"policies": "readonly"})
	liveB := e.OK(logical.ReadOperation, "creds/nomad-b/r", nil)
	require.True(t, strings.HasPrefix(liveB.Data["name"].(string), "mc:"+mount+":nomad-b:"))

	e.ts.SetClock(func() time.Time { return time.Now().Add(-2 * time.Hour) })
	e.makeToken(prefix+"orphan-old", false, "")
	e.ts.SetClock(nil)
	e.makeToken(prefix+"orphan-new", false, "")
	untouched := []string{
		"mc:zzzzzzzz:nomad:other-mount",
		"mc:" + mount + ":nomad-b:other-instance",
		"mc:" + mount + ":nomad",
		"xmc:" + mount + ":nomad:not-a-prefix",
		"vault-r-manual",
	}
	for _, n := range untouched {
		e.makeToken(n, false, "")
	}
	untouched = append(untouched, live1.Data["name"].(string), live2.Data["name"].(string), liveB.Data["name"].(string))

	e.ts.Core().Reset()
	audit := e.OK(logical.ReadOperation, "audit/nomad", nil)
	require.Equal(t, 4, audit.Data["scanned"])
	require.Equal(t, 2, audit.Data["held"])
	require.Equal(t, []string{prefix + "orphan-new", prefix + "orphan-old"}, names(t, audit.Data, "orphans"))
	require.Empty(t, audit.Data["ghosts"])
	orphans := audit.Data["orphans"].([]map[string]any)
	require.InDelta(t, 0, orphans[0]["age_seconds"], 60, "the age is the token's CreateTime")
	require.InDelta(t, 7200, orphans[1]["age_seconds"], 60)
	require.Equal(t, "token", orphans[0]["kind"])
	require.Regexp(t, `^[0-9a-f-]{36}$`, orphans[0]["id"])
	require.Equal(t, 1, audit.Data["cloud_calls"], "one filtered list of one page")
	require.Equal(t, 1, e.ts.Core().Count("TokenList"))

	dry := e.OK(logical.UpdateOperation, "tidy/nomad", nil)
	require.Equal(t, []string{prefix + "orphan-old"}, names(t, dry.Data, "removed"))
	require.Equal(t, []string{prefix + "orphan-new"}, names(t, dry.Data, "kept_younger_than_min_age"))
	_, ok := e.ts.TokenByName(prefix + "orphan-old")
	require.True(t, ok, "a dry run removes nothing")

	done := e.OK(logical.UpdateOperation, "tidy/nomad", map[string]any{"dry_run": false, "min_age": 0})
	require.Equal(t, []string{prefix + "orphan-new", prefix + "orphan-old"}, names(t, done.Data, "removed"))
	require.Empty(t, done.Data["failed"])
	for _, n := range []string{"orphan-old", "orphan-new"} {
		_, ok := e.ts.TokenByName(prefix + n)
		require.False(t, ok, n)
	}
	for _, n := range untouched {
		_, ok := e.ts.TokenByName(n)
		require.True(t, ok, "%s is untouched", n)
	}
	_, _, err := e.client(e.ts.RootToken()).ACLTokens().Self(nil)
	require.NoError(t, err, "the management token is untouched")

	audit = e.OK(logical.ReadOperation, "audit/nomad", nil)
	require.Empty(t, audit.Data["orphans"])
	require.Equal(t, 2, audit.Data["held"])
	auditB := e.OK(logical.ReadOperation, "audit/nomad-b", nil)
	require.Equal(t, 1, auditB.Data["held"])
	require.Equal(t, []string{"mc:" + mount + ":nomad-b:other-instance"}, names(t, auditB.Data, "orphans"), "nomad-b's mark")

	for _, l := range []*logical.Response{live1, live2, liveB} {
		_, _, err := e.client(l.Data["secret_id"].(string)).ACLTokens().Self(nil)
		require.NoError(t, err, "a live token still works")
		_, err = e.Revoke(l.Secret)
		require.NoError(t, err)
	}
}

// A token deleted behind the plugin's back is a ghost: tidy drops its
// index entry, and the lease still revokes.
func TestAuditGhost(t *testing.T) {
	e := newEnv(t, nomadtest.Options{})
	e.configure(nil)
	e.OK(logical.UpdateOperation, "roles/nomad/r", map[string]any{"policies": "readonly"})
	lease, keep := e.issue("r"), e.issue("r")
	e.ts.DeleteTokenBehindBack(lease.Data["accessor_id"].(string))

	e.GhostTidied("nomad", lease.Secret, lease.Data["name"].(string))
	_, ok := e.ts.Token(keep.Data["accessor_id"].(string))
	require.True(t, ok)
}

// More marked tokens than a page (per_page 100) are all listed, through
// Nomad's next_token cursor, and only they: the filter leaves the others
// on the server.
func TestAuditPages(t *testing.T) {
	e := newEnv(t, nomadtest.Options{})
	e.configure(nil)
	e.OK(logical.UpdateOperation, "roles/nomad/r", map[string]any{"policies": "readonly"})
	live := e.issue("r")
	prefix := "mc:" + e.mountID() + ":nomad:"
	var want []string
	for i := 0; i < 250; i++ {
		n := fmt.Sprintf("%sorphan-%03d", prefix, i)
		e.makeToken(n, false, "")
		want = append(want, n)
		e.makeToken(fmt.Sprintf("unmarked-%03d", i), false, "")
	}
	e.ts.Core().Reset()
	audit := e.OK(logical.ReadOperation, "audit/nomad", nil)
	require.Equal(t, want, names(t, audit.Data, "orphans"), "every marked token, none twice")
	require.Equal(t, 1, audit.Data["held"])
	require.Equal(t, 3, audit.Data["cloud_calls"], "251 marked tokens: 3 pages of 100")
	require.Equal(t, 3, e.ts.Core().Count("TokenList"))
	_, err := e.Revoke(live.Secret)
	require.NoError(t, err)
}

// In a federation, local tokens are listed in the instance's region and
// global ones in the ACL authoritative region, their home, even before
// replication brings them to the instance's region; tidy deletes each in
// its home region.
func TestAuditFederation(t *testing.T) {
	e, clock := federated(t)
	local, global := e.issue("l"), e.issue("g")
	prefix := "mc:" + e.mountID() + ":nomad:"
	orphanGlobal := e.makeToken(prefix+"orphan-global", true, "global")
	orphanLocal := e.makeToken(prefix+"orphan-local", false, "east")
	otherRegion := e.makeToken(prefix+"local-of-another-region", false, "global")
	_, ok := e.ts.TokenIn("east", orphanGlobal)
	require.False(t, ok, "not replicated to east yet")

	audit := e.OK(logical.ReadOperation, "audit/nomad", nil)
	require.Equal(t, []string{prefix + "orphan-global", prefix + "orphan-local"}, names(t, audit.Data, "orphans"))
	require.Equal(t, 2, audit.Data["held"], "the local and the global lease")
	require.Equal(t, 2, audit.Data["cloud_calls"], "east (local tokens) and global (global tokens)")

	clock.Advance(time.Minute) // replicated: still listed once
	audit = e.OK(logical.ReadOperation, "audit/nomad", nil)
	require.Equal(t, []string{prefix + "orphan-global", prefix + "orphan-local"}, names(t, audit.Data, "orphans"))
	require.Equal(t, 4, audit.Data["scanned"])

	clock.Advance(-time.Minute) // (the create times are a minute old)
	e.makeToken(prefix+"orphan-global-2", true, "global")
	done := e.OK(logical.UpdateOperation, "tidy/nomad", map[string]any{"dry_run": false, "min_age": 0})
	require.Equal(t, []string{prefix + "orphan-global", prefix + "orphan-global-2", prefix + "orphan-local"}, names(t, done.Data, "removed"))
	require.Empty(t, done.Data["failed"])
	for _, c := range []struct{ region, accessor string }{{"global", orphanGlobal}, {"east", orphanLocal}} {
		_, ok := e.ts.TokenIn(c.region, c.accessor)
		require.False(t, ok, "deleted in %s", c.region)
	}
	_, ok = e.ts.TokenByName(prefix + "orphan-global-2")
	require.False(t, ok, "a global orphan east had not seen yet is deleted in the authoritative region")
	_, ok = e.ts.TokenIn("global", otherRegion)
	require.True(t, ok, "a local token of another region is not this instance's")
	for _, l := range []*logical.Response{local, global} {
		_, ok := e.ts.Token(l.Data["accessor_id"].(string))
		require.True(t, ok)
		_, err := e.Revoke(l.Secret)
		require.NoError(t, err)
	}
}

// Remove deletes only a token whose name still carries this instance's
// mark; what is gone is success.
func TestRemoveChecksTheMark(t *testing.T) {
	e := newEnv(t, nomadtest.Options{})
	ctx := context.Background()
	p, err := nomad.New(nomad.WithGetenv(noEnv)).Open(ctx, providers.OpenRequest{Instance: "nomad",
		Config: providers.Values{"address": e.ts.URL, "token": e.ts.RootToken(), "max_token_name_length": 256}})
	require.NoError(t, err)
	auditor := p.(providers.Auditor)
	const mount = "abcdefgh"
	prefix := "mc:" + mount + ":nomad:"
	obj := func(name, accessor string) providers.CloudObject {
		return providers.CloudObject{ObjectRef: providers.ObjectRef{Kind: "token", Name: name, ID: accessor}}
	}
	marked := e.makeToken(prefix+"marked", false, "")
	renamed := e.makeToken(prefix+"renamed", false, "")
	other := e.makeToken("mc:"+mount+":nomad-b:other", false, "")
	root := e.client(e.ts.RootToken())
	tok, _, err := root.ACLTokens().Info(renamed, nil)
	require.NoError(t, err)
	tok.Name = "someone-else"
	_, _, err = root.ACLTokens().Update(tok, nil)
	require.NoError(t, err)

	tests := []struct {
		name string
		obj  providers.CloudObject
		err  string
	}{
		{"renamed since the inventory", obj(prefix+"renamed", renamed), "now named \"someone-else\""},
		{"another instance's", obj("mc:"+mount+":nomad-b:other", other), "does not carry this instance's mark"},
		{"unmarked", obj("vault-x", marked), "does not carry this instance's mark"},
		{"the accessor of another token", obj(prefix+"other", marked), "now named"},
		{"no accessor", obj(prefix+"marked", ""), "does not carry"},
		{"another kind", providers.CloudObject{ObjectRef: providers.ObjectRef{Kind: "policy", Name: "readonly"}}, "not a \"policy\""},
	}
	self := providers.Mark{Mount: mount, Instance: "nomad"}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorContains(t, auditor.Remove(ctx, self, tc.obj), tc.err)
		})
	}
	for _, a := range []string{marked, renamed, other} {
		_, ok := e.ts.Token(a)
		require.True(t, ok, a)
	}
	// Listed for another mount: left alone.
	require.ErrorContains(t, auditor.Remove(ctx, providers.Mark{Mount: "zzzzzzzz", Instance: "nomad"}, obj(prefix+"marked", marked)), "does not carry")
	require.NoError(t, auditor.Remove(ctx, self, obj(prefix+"marked", marked)))
	_, ok := e.ts.Token(marked)
	require.False(t, ok)
	require.NoError(t, auditor.Remove(ctx, self, obj(prefix+"marked", marked)), "gone is success")

	inv, err := auditor.Inventory(ctx, providers.Mark{Mount: mount, Instance: "nomad"})
	require.NoError(t, err)
	require.Empty(t, inv.Objects)
	require.Equal(t, []string{"token"}, inv.Kinds)
	_, err = auditor.Inventory(ctx, providers.Mark{Mount: mount, Instance: "nomad-b"})
	require.ErrorContains(t, err, "not this instance")
}

// 5,000 marked tokens (the issue's bench size) are audited in 50 calls.
func TestAudit5000Tokens(t *testing.T) {
	if testing.Short() {
		t.Skip("makes 5,000 tokens")
	}
	e := newEnv(t, nomadtest.Options{})
	e.configure(nil)
	e.OK(logical.UpdateOperation, "roles/nomad/r", map[string]any{"policies": "readonly"})
	e.issue("r")
	prefix := "mc:" + e.mountID() + ":nomad:"
	root := e.client(e.ts.RootToken())
	for i := 0; i < 4999; i++ {
		_, _, err := root.ACLTokens().Create(&api.ACLToken{Name: fmt.Sprintf("%sorphan-%04d", prefix, i), Type: "client", Policies: []string{"readonly"}}, nil)
		require.NoError(t, err)
	}
	e.ts.Core().Reset()
	start := time.Now()
	audit := e.OK(logical.ReadOperation, "audit/nomad", nil)
	took := time.Since(start)
	require.Equal(t, 5000, audit.Data["scanned"])
	require.Len(t, audit.Data["orphans"], 4999)
	require.Equal(t, 50, audit.Data["cloud_calls"])
	require.Equal(t, 50, e.ts.Core().Count("TokenList"))
	t.Logf("audit of 5,000 marked tokens: %d calls in %s", audit.Data["cloud_calls"], took)
}
