package ncloud_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
)

// subRole writes a sub_account role "dev".
func (e *env) subRole(extra map[string]any) {
	e.T.Helper()
	data := map[string]any{"credential_type": "sub_account", "policies": []string{"NCP_SERVER_MANAGER", "NCP_VPC_MANAGER"}, "ttl": "1h"}
	for k, v := range extra {
		data[k] = v
	}
	e.OK(logical.UpdateOperation, "roles/ncloud/dev", data)
}

// Done means 4: a sub_account role issues a working key; revoke removes
// the key and the sub account; a second revoke succeeds.
func TestSubAccountIssueUseRevoke(t *testing.T) {
	e := newEnv(t)
	e.configure(nil)
	e.subRole(nil)
	require.Equal(t, 1, e.ts.Core().Count("ListPolicies"), "role write resolves the policies once")
	e.ts.Core().Reset()
	before := e.ts.State()

	issued := time.Now()
	resp := e.OK(logical.ReadOperation, "creds/ncloud/dev", nil)
	ak, sk := resp.Data["access_key"].(string), resp.Data["secret_key"].(string)
	login := resp.Data["login_id"].(string)
	require.NotEmpty(t, sk)
	mount := e.mountID()
	require.Regexp(t, `^mc\.`+mount+`\.vault-dev-[a-z2-7]{13}$`, login, "the mount's mark, then the template")

	sa, ok := e.ts.SubAccount(login)
	require.True(t, ok)
	require.Equal(t, []string{"NCP_SERVER_MANAGER", "NCP_VPC_MANAGER"}, sa.Policies)
	require.Equal(t, []string{ak}, sa.AccessKeys)
	require.True(t, sa.APIGatewayAccess)
	require.False(t, sa.ConsoleAccess, "API access only")
	require.Equal(t, sa.ID, resp.Data["sub_account_id"])
	require.True(t, resp.Secret.Renewable)
	require.Equal(t, map[string]int{"GetCallerIdentity": 1, "GetSubAccount": 1, // the target, once per instance
		"ListPolicies": 1, "CreateSubAccount": 1, "AddSubAccountPolicies": 1, "CreateAccessKey": 1}, e.ts.Core().Calls().Counts)
	require.Equal(t, 0, e.WALCount())
	e.ts.Core().Reset()
	second := e.OK(logical.ReadOperation, "creds/ncloud/dev", nil)
	require.Equal(t, map[string]int{"ListPolicies": 1, "CreateSubAccount": 1, "AddSubAccountPolicies": 1, "CreateAccessKey": 1},
		e.ts.Core().Calls().Counts, "4 calls per create; the target is cached")
	_, err := e.Revoke(second.Secret)
	require.NoError(t, err)

	// The key works: a second instance configured with it gets an STS
	// key from the emulator, which verifies its signature.
	leased := e.endpoints()
	leased["driver"], leased["access_key"], leased["secret_key"] = "ncloud", ak, sk
	e.OK(logical.UpdateOperation, "config/leased", leased)
	e.OK(logical.UpdateOperation, "roles/leased/sts", map[string]any{"ttl": "10m"})
	var r *logical.Response
	sts := e.OK(logical.ReadOperation, "creds/leased/sts", nil)
	stsKey, ok := e.ts.STSKey(sts.Data["access_key"].(string))
	require.True(t, ok)
	require.Equal(t, sa.ID, stsKey.SubAccountID, "the STS key was issued to the leased sub account")

	// Renew is Vault-side (no cloud call): allowed up to the role's limits.
	r, err = e.Renew(resp.Secret, 0, issued)
	require.NoError(t, err)
	require.False(t, r.IsError(), "%v", r.Error())

	_, err = e.Revoke(resp.Secret)
	require.NoError(t, err)
	_, ok = e.ts.SubAccount(login)
	require.False(t, ok, "sub account deleted")
	require.Equal(t, before["sub_accounts"], e.ts.State()["sub_accounts"])
	require.Equal(t, before["access_keys"], e.ts.State()["access_keys"])
	require.Equal(t, 2, e.ts.Core().Count("DeleteSubAccount"), "one cascading delete per revoke")

	_, err = e.Revoke(resp.Secret)
	require.NoError(t, err, "revoking twice succeeds")
}

// Vault revokes many leases at once; every sub account goes.
func TestSubAccountConcurrentRevoke(t *testing.T) {
	e := newEnv(t)
	e.configure(nil)
	e.subRole(nil)
	before := e.ts.State()["sub_accounts"]
	const n = 20
	secrets := make([]*logical.Secret, n)
	for i := range secrets {
		secrets[i] = e.OK(logical.ReadOperation, "creds/ncloud/dev", nil).Secret
	}
	require.Equal(t, before+n, e.ts.State()["sub_accounts"])
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, s := range secrets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.Revoke(s)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, before, e.ts.State()["sub_accounts"])
}

// Done means 5: a failure at any step of a sub_account create (here every
// attempt of that step fails) leaves no sub account and no WAL entry; if
// the cleanup fails too, the WAL entry stays and Vault's rollback removes
// the sub account by its loginId.
func TestSubAccountCreateFailures(t *testing.T) {
	tests := []struct {
		name     string
		fail     map[string]int
		step     string
		orphaned bool // the immediate cleanup fails too
	}{
		{name: "resolve policies", fail: map[string]int{"ListPolicies": 2}, step: "ListPolicies"},
		{name: "create sub account", fail: map[string]int{"CreateSubAccount": 2}, step: "CreateSubAccount"},
		{name: "attach policies", fail: map[string]int{"AddSubAccountPolicies": 2}, step: "AttachPolicies"},
		{name: "create access key", fail: map[string]int{"CreateAccessKey": 2}, step: "CreateAccessKey"},
		{name: "create access key, cleanup fails", fail: map[string]int{"CreateAccessKey": 2, "DeleteSubAccount": 4}, step: "CreateAccessKey", orphaned: true},
		{name: "attach policies, cleanup fails", fail: map[string]int{"AddSubAccountPolicies": 2, "DeleteSubAccount": 4}, step: "AttachPolicies", orphaned: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.configure(map[string]any{"max_retries": 1})
			e.subRole(nil)
			before := e.ts.State()
			e.ts.Core().SetFaults(emulator.Faults{FailActions: tc.fail})

			msg := e.Coded(http.StatusBadGateway, logical.ReadOperation, "creds/ncloud/dev", nil)
			require.Contains(t, msg, tc.step)
			require.Contains(t, msg, "900", "Ncloud's error code is reported")

			if tc.orphaned {
				require.Equal(t, before["sub_accounts"]+1, e.ts.State()["sub_accounts"], "cleanup and immediate rollback failed")
				require.Equal(t, 1, e.WALCount(), "the WAL entry names the orphan")
				require.NoError(t, e.Rollback())
			}
			require.Equal(t, before["sub_accounts"], e.ts.State()["sub_accounts"], "0 sub accounts left")
			require.Equal(t, before["access_keys"], e.ts.State()["access_keys"])
			require.Equal(t, 0, e.WALCount())
		})
	}
}

// Role validation: unknown policies and bad templates are 400s naming the
// field; nothing is created.
func TestSubAccountRoleValidation(t *testing.T) {
	tests := []struct {
		name string
		role map[string]any
		want []string
	}{
		{name: "unknown policy", role: map[string]any{"policies": []string{"NCP_SERVER_MANAGER", "NO_SUCH_POLICY"}}, want: []string{"policies", "NO_SUCH_POLICY"}},
		{name: "no policies", role: map[string]any{"policies": []string{}}, want: []string{"policies"}},
		{name: "template without id", role: map[string]any{"policies": []string{"NCP_SERVER_MANAGER"}, "login_id_template": "vault-{{.Role}}"}, want: []string{"login_id_template", ".ID"}},
		{name: "broken template", role: map[string]any{"policies": []string{"NCP_SERVER_MANAGER"}, "login_id_template": "{{.Nope}}"}, want: []string{"login_id_template"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.configure(nil)
			before := e.ts.State()
			tc.role["credential_type"] = "sub_account"
			e.BadRequest(logical.UpdateOperation, "roles/ncloud/bad", tc.role, tc.want...)
			require.Equal(t, before, e.ts.State())
		})
	}

	e := newEnv(t)
	e.configure(nil)
	id, ok := e.ts.PolicyID("NCP_VPC_MANAGER")
	require.True(t, ok)
	e.subRole(map[string]any{"policies": []string{id}, "login_id_template": "x{{ .DisplayName | truncate 16 }}_{{ .RoleName | truncate 16 }}.{{ .ID }}"})
	resp := e.OK(logical.ReadOperation, "creds/ncloud/dev", nil)
	sa, ok := e.ts.SubAccount(resp.Data["login_id"].(string))
	require.True(t, ok)
	require.True(t, strings.HasPrefix(sa.LoginID, "mc."+e.mountID()+".xtoken-ci_dev."), sa.LoginID)
	require.Equal(t, []string{"NCP_VPC_MANAGER"}, sa.Policies, "a policy id is accepted too")
}

// Idempotent calls are retried on 5xx; a create is tried again after
// learning that the failed attempt made nothing.
func TestSubAccountRetries(t *testing.T) {
	e := newEnv(t)
	e.configure(map[string]any{"max_retries": 2})
	e.subRole(nil)
	e.OK(logical.ReadOperation, "creds/ncloud/dev", nil) // identifies the target
	e.ts.Core().Reset()
	e.ts.Core().SetFaults(emulator.Faults{FailActions: map[string]int{"ListPolicies": 1, "AddSubAccountPolicies": 2,
		"CreateSubAccount": 1, "CreateAccessKey": 1}})
	resp := e.OK(logical.ReadOperation, "creds/ncloud/dev", nil)
	require.NotEmpty(t, resp.Data["secret_key"])
	require.Equal(t, map[string]int{
		"ListPolicies":          2,
		"CreateSubAccount":      2, // the 500, then (not found) again
		"ListSubAccounts":       1, // the loginId search after the 500
		"AddSubAccountPolicies": 3,
		"GetSubAccount":         2, // the attached policies after each 500
		"CreateAccessKey":       2,
		"ListAccessKeys":        1, // the keys after the 500: none
	}, e.ts.Core().Calls().Counts)
	sa, _ := e.ts.SubAccount(resp.Data["login_id"].(string))
	require.Equal(t, []string{resp.Data["access_key"].(string)}, sa.AccessKeys)
	require.Equal(t, []string{"NCP_SERVER_MANAGER", "NCP_VPC_MANAGER"}, sa.Policies)
}

// Issue 11: a role written with the old template syntax keeps working; its
// template is converted when read.
func TestSubAccountOldTemplate(t *testing.T) {
	e := newEnv(t)
	e.configure(nil)
	e.subRole(map[string]any{"login_id_template": "{{.Instance}}-{{.Role}}-{{.ID}}"})
	resp := e.OK(logical.ReadOperation, "creds/ncloud/dev", nil)
	login := resp.Data["login_id"].(string)
	require.Regexp(t, `^mc\.`+e.mountID()+`\.vncloud-dev-[a-z2-7]{13}$`, login)
	_, ok := e.ts.SubAccount(login)
	require.True(t, ok)
}
