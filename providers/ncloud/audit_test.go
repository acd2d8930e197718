package ncloud_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/ncloud"
)

// memo is the memo the driver writes for a mount and instance.
func memo(mount, instance string) string {
	return "vault-plugin-secrets-multicloud mount=" + mount + " instance=" + instance + " id=abcdefghijklm role=dev"
}

// makeSub creates a sub account behind the plugin's back (stamped at
// `at`, the emulator's clock) and returns its id.
func (e *env) makeSub(loginID, memo string, at time.Time) string {
	e.T.Helper()
	body := map[string]any{"loginId": loginID, "name": "manual", "passwordGenerationRequired": true,
		"apiGatewayAccessible": true, "consoleAccessible": false}
	if memo != "" {
		body["memo"] = memo
	}
	ak, sk := e.ts.RootCredentials()
	status, out := signedAt(e.T, e.ts, ak, sk, http.MethodPost, "/api/v2/sub-accounts", body, at)
	require.Equal(e.T, http.StatusCreated, status, string(out))
	var sa struct {
		SubAccountID string `json:"subAccountId"`
	}
	require.NoError(e.T, json.Unmarshal(out, &sa))
	return sa.SubAccountID
}

func names(t *testing.T, data map[string]any, key string) []string {
	t.Helper()
	out := []string{}
	for _, o := range data[key].([]map[string]any) {
		out = append(out, o["name"].(string))
	}
	return out
}

// Issue 14: issued sub accounts carry the mount's loginId prefix and a
// memo naming mount and instance; a sub account made behind the plugin's
// back with that mark is an orphan, removed by tidy; live credentials,
// other mounts', other instances' and unmarked sub accounts are never
// listed nor touched.
func TestAuditAndTidy(t *testing.T) {
	e := newEnv(t)
	e.configure(nil)
	e.subRole(nil)
	live1 := e.OK(logical.ReadOperation, "creds/ncloud/dev", nil)
	live2 := e.OK(logical.ReadOperation, "creds/ncloud/dev", nil)
	mount := e.mountID()
	prefix := "mc." + mount + "."
	for _, l := range []*logical.Response{live1, live2} {
		sa, ok := e.ts.SubAccount(l.Data["login_id"].(string))
		require.True(t, ok)
		require.True(t, strings.HasPrefix(sa.LoginID, prefix), sa.LoginID)
		require.Regexp(t, `^vault-plugin-secrets-multicloud mount=`+mount+` instance=ncloud id=[a-z2-7]{13} role=dev$`, sa.Memo)
	}

	// A second instance of the mount on the same account.
	b := e.endpoints()
	b["driver"], b["access_key"], b["secret_key"] = "ncloud", e.rootKey(), e.rootSecret()
	e.OK(logical.UpdateOperation, "config/ncloud-b", b)
	e.OK(logical.UpdateOperation, "roles/ncloud-b/dev", map[string]any{"credential_type": "sub_account", "policies": []string{"NCP_SERVER_MANAGER"}})
	liveB := e.OK(logical.ReadOperation, "creds/ncloud-b/dev", nil)
	saB, _ := e.ts.SubAccount(liveB.Data["login_id"].(string))
	require.Contains(t, saB.Memo, "instance=ncloud-b")

	now := time.Now()
	old := now.Add(-2 * time.Hour)
	e.ts.SetClock(func() time.Time { return time.Now().Add(-2 * time.Hour) })
	e.makeSub(prefix+"orphan-old", memo(mount, "ncloud"), old)
	e.ts.SetClock(nil)
	e.makeSub(prefix+"orphan-new", memo(mount, "ncloud"), now)
	untouched := []string{
		e.makeSubName("mc.zzzzzzzz.other-mount", memo("zzzzzzzz", "ncloud")),
		e.makeSubName(prefix+"other-instance", memo(mount, "ncloud-c")),
		e.makeSubName("vault-dev-manual", ""),
		e.makeSubName(prefix+"no-memo", ""),
		e.makeSubName(prefix+"foreign-memo", "made by hand"),
		e.makeSubName(prefix+"memo-of-another-mount", memo("zzzzzzzz", "ncloud")),
		e.makeSubName("plain-with-memo", memo(mount, "ncloud")),
		liveB.Data["login_id"].(string),
		live1.Data["login_id"].(string),
		live2.Data["login_id"].(string),
	}

	e.ts.Core().Reset()
	audit := e.OK(logical.ReadOperation, "audit/ncloud", nil)
	require.Equal(t, 4, audit.Data["scanned"])
	require.Equal(t, 2, audit.Data["held"])
	require.Equal(t, []string{prefix + "orphan-new", prefix + "orphan-old"}, names(t, audit.Data, "orphans"))
	require.Empty(t, audit.Data["ghosts"])
	orphans := audit.Data["orphans"].([]map[string]any)
	require.InDelta(t, 0, orphans[0]["age_seconds"], 60, "the age is the cloud's createdDateTime")
	require.InDelta(t, 7200, orphans[1]["age_seconds"], 60)
	require.Equal(t, "sub_account", orphans[0]["kind"])
	require.Regexp(t, `^[0-9a-f-]{36}$`, orphans[0]["id"])
	// The list walked twice (1 page each) and a read of each of the 9 sub
	// accounts with the prefix (3 live, 2 orphans, 4 decoys): the calls
	// the emulator counted.
	calls := e.ts.Core().Calls().Counts
	require.Equal(t, map[string]int{"ListSubAccounts": 2, "GetSubAccount": 9}, calls)
	require.Equal(t, 11, audit.Data["cloud_calls"])

	dry := e.OK(logical.UpdateOperation, "tidy/ncloud", nil)
	require.Equal(t, []string{prefix + "orphan-old"}, names(t, dry.Data, "removed"))
	require.Equal(t, []string{prefix + "orphan-new"}, names(t, dry.Data, "kept_younger_than_min_age"))
	_, ok := e.ts.SubAccount(prefix + "orphan-old")
	require.True(t, ok, "a dry run removes nothing")

	done := e.OK(logical.UpdateOperation, "tidy/ncloud", map[string]any{"dry_run": false, "min_age": 0})
	require.Equal(t, []string{prefix + "orphan-new", prefix + "orphan-old"}, names(t, done.Data, "removed"))
	require.Empty(t, done.Data["failed"])
	for _, n := range []string{"orphan-old", "orphan-new"} {
		_, ok := e.ts.SubAccount(prefix + n)
		require.False(t, ok, n)
	}
	for _, n := range untouched {
		_, ok := e.ts.SubAccount(n)
		require.True(t, ok, "%s is untouched", n)
	}
	audit = e.OK(logical.ReadOperation, "audit/ncloud", nil)
	require.Empty(t, audit.Data["orphans"])
	require.Equal(t, 2, audit.Data["held"])
	auditB := e.OK(logical.ReadOperation, "audit/ncloud-b", nil)
	require.Equal(t, 1, auditB.Data["held"])
	require.Empty(t, auditB.Data["orphans"])

	// The live keys still work, and revoke as usual.
	for _, l := range []*logical.Response{live1, live2, liveB} {
		status, body := signed(t, e.ts, l.Data["access_key"].(string), l.Data["secret_key"].(string), http.MethodGet, "/api/v1/caller-identity", nil)
		require.Equal(t, http.StatusOK, status, string(body))
		_, err := e.Revoke(l.Secret)
		require.NoError(t, err)
	}
}

// makeSubName is makeSub stamped now, returning the loginId.
func (e *env) makeSubName(loginID, memo string) string {
	e.T.Helper()
	e.makeSub(loginID, memo, time.Now())
	return loginID
}

// A sub account deleted behind the plugin's back is a ghost: tidy drops
// its index entry, and the lease still revokes.
func TestAuditGhost(t *testing.T) {
	e := newEnv(t)
	e.configure(nil)
	e.subRole(nil)
	lease := e.OK(logical.ReadOperation, "creds/ncloud/dev", nil)
	keep := e.OK(logical.ReadOperation, "creds/ncloud/dev", nil)
	status, body := e.rootDo(http.MethodDelete, "/api/v2/sub-accounts/"+lease.Data["sub_account_id"].(string)+"?cascading=true", nil)
	require.Equal(t, http.StatusNoContent, status, string(body))

	e.GhostTidied("ncloud", lease.Secret, lease.Data["login_id"].(string))
	_, ok := e.ts.SubAccount(keep.Data["login_id"].(string))
	require.True(t, ok)
}

// More marked sub accounts than a page (100) are all listed; sub
// accounts deleted during the walk (shifting the later ones onto a page
// already read) hide none: the list is walked again until two walks agree.
func TestAuditPagesAndShiftingList(t *testing.T) {
	tr := &onList{}
	e := newEnv(t, ncloud.WithHTTPClient(&http.Client{Transport: tr}))
	e.configure(nil)
	e.subRole(nil)
	live := e.OK(logical.ReadOperation, "creds/ncloud/dev", nil) // position 1, after the root
	mount := e.mountID()
	prefix := "mc." + mount + "."
	var fillers []string
	for i := 0; i < 98; i++ { // positions 2-99: page 0
		fillers = append(fillers, e.makeSub(fmt.Sprintf("filler-%03d", i), "", time.Now()))
	}
	var want []string
	for i := 0; i < 130; i++ { // positions 100-229: pages 1 and 2
		n := fmt.Sprintf("%sorphan-%03d", prefix, i)
		e.makeSub(n, memo(mount, "ncloud"), time.Now())
		want = append(want, n)
	}
	// After the first page of the first walk, 30 fillers are deleted:
	// orphans 0-29 move onto page 0, already read.
	tr.hook = func() {
		for _, id := range fillers[:30] {
			status, body := e.rootDo(http.MethodDelete, "/api/v2/sub-accounts/"+id+"?cascading=true", nil)
			require.Equal(t, http.StatusNoContent, status, string(body))
		}
	}
	tr.mu.Lock()
	tr.queries = nil
	tr.mu.Unlock()
	audit := e.OK(logical.ReadOperation, "audit/ncloud", nil)
	require.Equal(t, want, names(t, audit.Data, "orphans"), "every marked sub account, none twice")
	require.Equal(t, 1, audit.Data["held"])
	tr.mu.Lock()
	queries := tr.queries
	tr.mu.Unlock()
	// Walk 1: pages 0-1 of a list that shrank to 200 after page 0 (missing
	// orphans 0-29); walk 2: pages 0-1, all 200; walk 3: the same as walk 2.
	require.Len(t, queries, 6)
	require.Contains(t, queries[0], "pageSize=100")
	require.Contains(t, queries[0], "sort=createdDateTime%2Casc&sort=loginId%2Casc")
	require.Equal(t, 6+131, audit.Data["cloud_calls"], "6 list pages and a read of each of the 131 sub accounts with the prefix")
	_, err := e.Revoke(live.Secret)
	require.NoError(t, err)
}

// Remove deletes only what carries the mark of this instance and of the
// mount its loginId names, and what is gone is success.
func TestRemoveChecksTheMark(t *testing.T) {
	e := newEnv(t)
	e.configure(nil)
	const mount = "abcdefgh"
	prefix := "mc." + mount + "."
	ak, sk := e.ts.RootCredentials()
	p, err := ncloud.New().Open(context.Background(), providers.OpenRequest{Instance: "ncloud", Config: providers.Values{
		"access_key": ak, "secret_key": sk, "sts_endpoint": e.ts.URL, "subaccount_endpoint": e.ts.URL}})
	require.NoError(t, err)
	auditor := p.(providers.Auditor)
	obj := func(name, id string) providers.CloudObject {
		return providers.CloudObject{ObjectRef: providers.ObjectRef{Kind: "sub_account", Name: name, ID: id}}
	}

	marked := e.makeSub(prefix+"marked", memo(mount, "ncloud"), time.Now())
	otherInst := e.makeSub(prefix+"other-instance", memo(mount, "ncloud-b"), time.Now())
	otherMount := e.makeSub(prefix+"memo-of-another-mount", memo("zzzzzzzz", "ncloud"), time.Now())
	unmarked := e.makeSub("plain", memo(mount, "ncloud"), time.Now())

	tests := []struct {
		name string
		obj  providers.CloudObject
		err  string
	}{
		{"another instance's memo", obj(prefix+"other-instance", otherInst), "not the mark"},
		{"another mount's memo", obj(prefix+"memo-of-another-mount", otherMount), "not the mark"},
		{"no prefix", obj("plain", unmarked), "not one this driver marks"},
		{"the id of another sub account", obj(prefix+"other", marked), "not the mark"},
		{"no id", obj(prefix+"marked", ""), "not one this driver marks"},
		{"another kind", providers.CloudObject{ObjectRef: providers.ObjectRef{Kind: "access_key", Name: "ncp_iam_x"}}, "not a \"access_key\""},
	}
	self := providers.Mark{Mount: mount, Instance: "ncloud"}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := auditor.Remove(context.Background(), self, tc.obj)
			require.ErrorContains(t, err, tc.err)
		})
	}
	for _, n := range []string{prefix + "marked", prefix + "other-instance", prefix + "memo-of-another-mount", "plain"} {
		_, ok := e.ts.SubAccount(n)
		require.True(t, ok, n)
	}

	// Listed for another mount, or another instance: left alone.
	require.ErrorContains(t, auditor.Remove(context.Background(), providers.Mark{Mount: "zzzzzzzz", Instance: "ncloud"}, obj(prefix+"marked", marked)), "not one this driver marks")
	require.ErrorContains(t, auditor.Remove(context.Background(), providers.Mark{Mount: mount, Instance: "ncloud-b"}, obj(prefix+"marked", marked)), "not one this driver marks")
	require.NoError(t, auditor.Remove(context.Background(), self, obj(prefix+"marked", marked)))
	_, ok := e.ts.SubAccount(prefix + "marked")
	require.False(t, ok)
	require.NoError(t, auditor.Remove(context.Background(), self, obj(prefix+"marked", marked)), "gone is success")

	inv, err := auditor.Inventory(context.Background(), providers.Mark{Mount: mount, Instance: "ncloud"})
	require.NoError(t, err)
	require.Empty(t, inv.Objects)
	require.Equal(t, []string{"sub_account"}, inv.Kinds)
	_, err = auditor.Inventory(context.Background(), providers.Mark{Mount: "BAD", Instance: "ncloud"})
	require.Error(t, err)
}

// An account full of marked sub accounts (500, Ncloud's maximum: the
// root, a live one and 498 orphans) is audited in 2 walks of 5 pages and
// 499 reads.
func TestAuditFullAccount(t *testing.T) {
	if testing.Short() {
		t.Skip("fills an account")
	}
	e := newEnv(t)
	e.configure(nil)
	e.subRole(nil)
	e.OK(logical.ReadOperation, "creds/ncloud/dev", nil)
	mount := e.mountID()
	for i := 0; i < 498; i++ {
		e.makeSub(fmt.Sprintf("mc.%s.orphan-%03d", mount, i), memo(mount, "ncloud"), time.Now())
	}
	require.Equal(t, 500, e.ts.State()["sub_accounts"])
	e.ts.Core().Reset()
	start := time.Now()
	audit := e.OK(logical.ReadOperation, "audit/ncloud", nil)
	took := time.Since(start)
	require.Len(t, audit.Data["orphans"], 498)
	require.Equal(t, 1, audit.Data["held"])
	require.Equal(t, 2*5+499, audit.Data["cloud_calls"])
	require.Equal(t, map[string]int{"ListSubAccounts": 10, "GetSubAccount": 499}, e.ts.Core().Calls().Counts)
	t.Logf("audit of 500 sub accounts: %d calls in %s", audit.Data["cloud_calls"], took)
}
