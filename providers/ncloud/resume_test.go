package ncloud_test

import (
	"testing"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
)

// Issues 10 and 13: an answer lost after its call took effect (the
// connection broke on the way back) at any step of a sub_account create
// does not fail the issue. The step learns what the lost attempt did and
// goes on: the sub account is found by its loginId, an attach answered
// "already attached" is success, a key whose secret was lost is deleted
// before a new one is made. The lease then holds exactly what was made,
// and its revoke leaves nothing.
func TestSubAccountLostAnswers(t *testing.T) {
	tests := []struct {
		name   string
		action string
		n      int
		fail   map[string]int // 5xx answers besides
		config map[string]any
		calls  map[string]int // calls made for the issue beyond the normal four
	}{
		{name: "sub account found by loginId", action: "CreateSubAccount", n: 1,
			calls: map[string]int{"ListSubAccounts": 1}},
		{name: "policies read back", action: "AddSubAccountPolicies", n: 1,
			calls: map[string]int{"GetSubAccount": 1}},
		// The read-back fails (with its retry), so the attach is sent
		// again: Ncloud answers every policy "already attached", which
		// is success once read back.
		{name: "attach answered already attached", action: "AddSubAccountPolicies", n: 1,
			config: map[string]any{"max_retries": 1}, fail: map[string]int{"GetSubAccount": 2},
			calls: map[string]int{"AddSubAccountPolicies": 1, "GetSubAccount": 3}},
		{name: "lost key deleted", action: "CreateAccessKey", n: 1,
			calls: map[string]int{"CreateAccessKey": 1, "ListAccessKeys": 1, "DeleteAccessKey": 1}},
		{name: "two lost keys deleted", action: "CreateAccessKey", n: 2,
			calls: map[string]int{"CreateAccessKey": 2, "ListAccessKeys": 2, "DeleteAccessKey": 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.configure(tc.config)
			e.subRole(nil)
			e.OK(logical.ReadOperation, "creds/ncloud/dev", nil) // the target, once
			before := e.ts.State()
			e.ts.Core().Reset()
			e.ts.LoseAnswers(tc.action, tc.n)
			e.ts.Core().SetFaults(emulator.Faults{FailActions: tc.fail})

			resp := e.OK(logical.ReadOperation, "creds/ncloud/dev", nil)
			want := map[string]int{"ListPolicies": 1, "CreateSubAccount": 1, "AddSubAccountPolicies": 1, "CreateAccessKey": 1}
			for k, v := range tc.calls {
				want[k] += v
			}
			require.Equal(t, want, e.ts.Core().Calls().Counts)

			login := resp.Data["login_id"].(string)
			sa, ok := e.ts.SubAccount(login)
			require.True(t, ok)
			require.Equal(t, resp.Data["sub_account_id"], sa.ID)
			require.Equal(t, []string{"NCP_SERVER_MANAGER", "NCP_VPC_MANAGER"}, sa.Policies)
			require.Equal(t, []string{resp.Data["access_key"].(string)}, sa.AccessKeys, "only the key the lease holds")
			require.Equal(t, before["sub_accounts"]+1, e.ts.State()["sub_accounts"])
			require.Equal(t, 0, e.WALCount())

			_, err := e.Revoke(resp.Secret)
			require.NoError(t, err)
			require.Equal(t, before, e.ts.State(), "nothing left")
		})
	}
}
