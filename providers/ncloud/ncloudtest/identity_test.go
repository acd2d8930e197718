package ncloudtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
)

func callerIdentityOf(t *testing.T, c *client) callerIdentity {
	t.Helper()
	r := c.do(http.MethodGet, "/api/v1/caller-identity", nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var out callerIdentity
	require.NoError(t, json.Unmarshal(r.body, &out))
	require.Equal(t, map[string]any{"id": out.ID, "loginAlias": out.LoginAlias, "userType": out.UserType}, r.json(t),
		"exactly the documented fields")
	return out
}

// GET /api/v1/caller-identity answers the key owner: a sub account key
// and an STS key are "Sub" with the sub account's id, the main account
// key "Customer"; loginAlias is the account's.
func TestCallerIdentity(t *testing.T) {
	ts := Start(t, Options{MemberNo: 2942, LoginAlias: "test1010"})
	root := rootClient(t, ts)
	rootSA, _ := ts.SubAccount("vault-root")

	got := callerIdentityOf(t, root)
	require.Equal(t, callerIdentity{ID: rootSA.ID, LoginAlias: "test1010", UserType: "Sub"}, got)

	r := root.do(http.MethodPost, "/api/v1/credentials", nil)
	require.Equal(t, http.StatusOK, r.status)
	m := r.json(t)
	sts := newClient(t, ts, m["accessKey"].(string), m["keySecret"].(string))
	require.Equal(t, got, callerIdentityOf(t, sts), "an STS key acts as its sub account")

	mak, msk := ts.MainCredentials()
	main := newClient(t, ts, mak, msk)
	cust := callerIdentityOf(t, main)
	require.Equal(t, "Customer", cust.UserType)
	require.Equal(t, "test1010", cust.LoginAlias)
	require.True(t, isUUID(cust.ID))
	require.NotEqual(t, rootSA.ID, cust.ID)

	// The main account key manages sub accounts but gets no STS key.
	id := createSubV2(t, main, "made-by-main")
	require.True(t, isUUID(id))
	r = main.do(http.MethodPost, "/api/v1/credentials", nil)
	require.Equal(t, http.StatusUnauthorized, r.status)
	require.Equal(t, "210", r.gwError(t).ErrorCode)
	require.Equal(t, 3, ts.Core().Count("GetCallerIdentity"), "counted as an action")
}

// Every NRN names the account's member number; two servers, or two
// accounts of one server, are two accounts whose keys act in their own.
func TestAccountsAndNRN(t *testing.T) {
	ts := Start(t, Options{MemberNo: 2942})
	other := ts.AddAccount(AccountOptions{MemberNo: 3001, LoginAlias: "other"})
	require.Equal(t, 3001, other.MemberNo())
	root := rootClient(t, ts)
	oak, osk := other.RootCredentials()
	oroot := newClient(t, ts, oak, osk)

	// The same loginId in both accounts: they are separate.
	a := createSubV2(t, root, "shared-name")
	b := createSubV2(t, oroot, "shared-name")
	require.NotEqual(t, a, b)
	r := root.do(http.MethodGet, "/api/v2/sub-accounts/"+a, nil)
	require.Equal(t, "nrn:PUB:IAM::2942:SubAccount/"+a, r.json(t)["nrn"])
	r = oroot.do(http.MethodGet, "/api/v2/sub-accounts/"+b, nil)
	require.Equal(t, "nrn:PUB:IAM::3001:SubAccount/"+b, r.json(t)["nrn"])
	r = root.do(http.MethodGet, "/api/v2/sub-accounts/"+b, nil)
	require.Equal(t, http.StatusNotFound, r.status, "another account's sub account is not found")

	r = oroot.do(http.MethodGet, "/api/v1/sub-accounts?searchColumn=loginId&searchWord=shared-name", nil)
	items := r.json(t)["items"].([]any)
	require.Len(t, items, 1)
	require.Equal(t, "nrn:PUB:IAM::3001:SubAccount/"+b, items[0].(map[string]any)["nrn"])
	require.Equal(t, "other", callerIdentityOf(t, oroot).LoginAlias)

	require.Equal(t, 2, ts.State()["sub_accounts"])
	require.Equal(t, 2, other.State()["sub_accounts"])
	sa, ok := other.SubAccount("shared-name")
	require.True(t, ok)
	require.Equal(t, b, sa.ID)

	gov := Start(t, Options{Domain: "GOV"})
	gsa, _ := gov.SubAccount("vault-root")
	require.Regexp(t, `^nrn:GOV:IAM::\d+:SubAccount/`+gsa.ID+`$`, gsa.NRN)
	require.NotEqual(t, ts.MemberNo(), Start(t, Options{}).MemberNo(), "a random member number per server")
}

// Two active keys at most: an inactive key does not count, does not
// authenticate, and activating a third active key is LimitExceeded.
func TestAccessKeyStatus(t *testing.T) {
	ts := Start(t, Options{})
	root := rootClient(t, ts)
	id := createSubV2(t, root, "keys")
	path := "/api/v2/sub-accounts/" + id + "/access-keys"
	k1 := newKey(t, ts, root, id)
	k2 := newKey(t, ts, root, id)
	require.Equal(t, http.StatusOK, k1.do(http.MethodGet, "/api/v1/caller-identity", nil).status)

	r := root.do(http.MethodPost, path+"/"+k1.ak+"/change-status", map[string]any{"active": false})
	require.Equal(t, http.StatusNoContent, r.status, string(r.body))
	r = k1.do(http.MethodGet, "/api/v1/caller-identity", nil)
	require.Equal(t, http.StatusUnauthorized, r.status)
	require.Contains(t, r.gwError(t).Details, "inactive")

	r = root.do(http.MethodGet, path, nil)
	var list struct {
		AccessKeys []struct {
			AccessKey string `json:"accessKey"`
			Active    bool   `json:"active"`
		} `json:"accessKeys"`
	}
	require.NoError(t, json.Unmarshal(r.body, &list))
	require.Len(t, list.AccessKeys, 2)
	require.Equal(t, k1.ak, list.AccessKeys[0].AccessKey)
	require.False(t, list.AccessKeys[0].Active)
	require.True(t, list.AccessKeys[1].Active)

	k3 := newKey(t, ts, root, id) // one inactive + two active
	sa, _ := ts.SubAccount("keys")
	require.Equal(t, []string{k1.ak, k2.ak, k3.ak}, sa.AccessKeys)
	require.Equal(t, []string{k1.ak}, sa.InactiveKeys)
	r = root.do(http.MethodPost, path, nil)
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Equal(t, "LimitExceeded", v2Err(t, r).ErrorCode)
	r = root.do(http.MethodPost, path+"/"+k1.ak+"/change-status", map[string]any{"active": true})
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Equal(t, "LimitExceeded", v2Err(t, r).ErrorCode)
	r = root.do(http.MethodPost, path+"/"+k1.ak+"/change-status", map[string]any{})
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Equal(t, "active", v2Err(t, r).FieldErrors[0].Field)
	r = root.do(http.MethodPost, path+"/ncp_iam_NOSUCHKEYNOSUCHKEY00/change-status", map[string]any{"active": false})
	require.Equal(t, http.StatusNotFound, r.status)

	// v1 sets the status too (management-subaccount-suspendkey).
	r = root.do(http.MethodPut, "/api/v1/sub-accounts/"+id+"/access-keys", map[string]any{"accessKey": k3.ak, "active": false})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	require.NoError(t, ts.SetKeyActive(k1.ak, true))
	require.Equal(t, http.StatusOK, k1.do(http.MethodGet, "/api/v1/caller-identity", nil).status)
	require.Error(t, ts.SetKeyActive(k3.ak+"x", true))
	require.Error(t, ts.SetKeyActive(k3.ak, true), "a third active key")
}

// A lost answer: the call takes effect, the client sees a broken
// connection. LoseAnswers picks the calls; DropAfterEffect a share of
// the random drops.
func TestLostAnswers(t *testing.T) {
	t.Run("LoseAnswers", func(t *testing.T) {
		ts := Start(t, Options{})
		root := rootClient(t, ts)
		ts.LoseAnswers("CreateSubAccount", 1)
		_, err := root.tryDo(http.MethodPost, "/api/v2/sub-accounts", v2CreateBody("lost-answer"))
		require.Error(t, err)
		_, ok := ts.SubAccount("lost-answer")
		require.True(t, ok, "the create took effect")
		r := root.do(http.MethodPost, "/api/v2/sub-accounts", v2CreateBody("lost-answer"))
		require.Equal(t, http.StatusConflict, r.status, "the retry finds the loginId taken")
		createSubV2(t, root, "answered")
	})
	for _, tc := range []struct {
		after float64
		made  int
	}{{0, 0}, {1, 5}} {
		t.Run(fmt.Sprintf("DropAfterEffect=%v", tc.after), func(t *testing.T) {
			ts := Start(t, Options{DropAfterEffect: tc.after})
			root := rootClient(t, ts)
			ts.Core().SetFaults(emulator.Faults{DropRate: 1})
			for i := 0; i < 5; i++ {
				_, err := root.tryDo(http.MethodPost, "/api/v1/credentials", nil)
				require.Error(t, err)
			}
			require.Equal(t, tc.made, ts.State()["sts_keys"])
		})
	}
}
