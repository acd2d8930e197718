package ncloud_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/ncloud"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/ncloud/ncloudtest"
)

// openAt opens a provider on the emulator with the given key.
func openAt(t *testing.T, ts *ncloudtest.TestServer, ak, sk string, extra providers.Values) providers.Provider {
	t.Helper()
	cfg := providers.Values{"access_key": ak, "secret_key": sk, "sts_endpoint": ts.URL, "subaccount_endpoint": ts.URL, "max_retries": 0}
	for k, v := range extra {
		cfg[k] = v
	}
	p, err := ncloud.New().Open(context.Background(), providers.OpenRequest{Instance: "ncloud", Config: cfg})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// newAdminKey makes a sub account with NCP_ADMINISTRATOR and a key of it.
func newAdminKey(t *testing.T, ts *ncloudtest.TestServer, ak, sk, login string) (string, string) {
	t.Helper()
	status, body := signed(t, ts, ak, sk, http.MethodPost, "/api/v2/sub-accounts", map[string]any{"loginId": login, "name": login,
		"passwordGenerationRequired": true, "apiGatewayAccessible": true, "consoleAccessible": false})
	require.Equal(t, http.StatusCreated, status, string(body))
	var sa struct {
		SubAccountID string `json:"subAccountId"`
	}
	require.NoError(t, json.Unmarshal(body, &sa))
	var policies struct {
		Policies []struct{ PolicyID, PolicyName string } `json:"policies"`
	}
	status, body = signed(t, ts, ak, sk, http.MethodGet, "/api/v2/policies?pageSize=100", nil)
	require.Equal(t, http.StatusOK, status)
	require.NoError(t, json.Unmarshal(body, &policies))
	for _, p := range policies.Policies {
		if p.PolicyName == "NCP_ADMINISTRATOR" {
			status, body = signed(t, ts, ak, sk, http.MethodPost, "/api/v2/sub-accounts/"+sa.SubAccountID+"/attach-policies", map[string]any{"policyIds": []string{p.PolicyID}})
			require.Equal(t, http.StatusNoContent, status, string(body))
		}
	}
	status, body = signed(t, ts, ak, sk, http.MethodPost, "/api/v2/sub-accounts/"+sa.SubAccountID+"/access-keys", nil)
	require.Equal(t, http.StatusCreated, status, string(body))
	var key struct{ AccessKey, KeySecret string }
	require.NoError(t, json.Unmarshal(body, &key))
	return key.AccessKey, key.KeySecret
}

// Issue 10: the target is the Ncloud account and site — the member number
// every NRN of the account carries — so every key of the account, of any
// of its sub accounts, rotated or not, names the same target, and another
// account behind the same hosts another one. It is asked once.
func TestTarget(t *testing.T) {
	ctx := context.Background()
	ts := ncloudtest.Start(t, ncloudtest.Options{MemberNo: 2942, LoginAlias: "test1010"})
	ak, sk := ts.RootCredentials()
	want := providers.Target{ID: "ncloud:public:2942", Description: `Ncloud account 2942 (login alias "test1010", site public)`}

	p := openAt(t, ts, ak, sk, nil)
	got, err := p.Target(ctx)
	require.NoError(t, err)
	require.Equal(t, want, got)
	_, err = p.Target(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, ts.Core().Count("GetCallerIdentity"), "cached")
	require.Equal(t, 1, ts.Core().Count("GetSubAccount"))

	// Another sub account's key of the same account: the same target.
	oak, osk := newAdminKey(t, ts, ak, sk, "ops-admin")
	got, err = openAt(t, ts, oak, osk, nil).Target(ctx)
	require.NoError(t, err)
	require.Equal(t, want.ID, got.ID)

	// The site is the NRN's: a gov account reads gov whatever site says.
	gov := ncloudtest.Start(t, ncloudtest.Options{Domain: "GOV", MemberNo: 77})
	gak, gsk := gov.RootCredentials()
	got, err = openAt(t, gov, gak, gsk, providers.Values{"site": "public"}).Target(ctx)
	require.NoError(t, err)
	require.Equal(t, "ncloud:gov:77", got.ID)

	// Another account behind the same hosts: another target.
	other := ts.AddAccount(ncloudtest.AccountOptions{MemberNo: 3001})
	xak, xsk := other.RootCredentials()
	got, err = openAt(t, ts, xak, xsk, nil).Target(ctx)
	require.NoError(t, err)
	require.Equal(t, "ncloud:public:3001", got.ID)

	// A main account key: bound to the main account, which caller-identity
	// names for any of its keys.
	mak, msk := ts.MainCredentials()
	got, err = openAt(t, ts, mak, msk, nil).Target(ctx)
	require.NoError(t, err)
	require.Regexp(t, `^ncloud:public:customer:[0-9a-f-]{36}$`, got.ID)

	// A credential Ncloud refuses: an error, nothing cached.
	bad := openAt(t, ts, ak, "wrong-secret", nil)
	_, err = bad.Target(ctx)
	require.ErrorContains(t, err, "GetCallerIdentity")
	_, err = bad.Target(ctx)
	require.Error(t, err)
}

// Issue 10: the account a lease was made in is recorded, so rewriting
// config/ncloud with another account's key (same hosts) is refused while
// leases live; forced, their revokes fail instead of answering "not
// found" from the wrong account; pointed back, they revoke.
func TestRetargetToAnotherAccount(t *testing.T) {
	e := newEnv(t)
	e.configure(nil)
	e.subRole(nil)
	lease := e.OK(logical.ReadOperation, "creds/ncloud/dev", nil)
	login := lease.Data["login_id"].(string)
	other := e.ts.AddAccount(ncloudtest.AccountOptions{})
	oak, osk := other.RootCredentials()
	moved := map[string]any{"access_key": oak, "secret_key": osk}

	e.BadRequest(logical.UpdateOperation, "config/ncloud", moved, "ncloud:public:"+strconv.Itoa(other.MemberNo()), "Ncloud account "+strconv.Itoa(e.ts.MemberNo()))

	// Another key of the same account is no retarget (rotate-root too:
	// TestRotateRoot revokes an older lease after rotating).
	sak, ssk := newAdminKey(t, e.ts, e.rootKey(), e.rootSecret(), "second-admin")
	e.OK(logical.UpdateOperation, "config/ncloud", map[string]any{"access_key": sak, "secret_key": ssk})

	moved["force"] = true
	e.OK(logical.UpdateOperation, "config/ncloud", moved)
	_, err := e.Revoke(lease.Secret)
	require.Error(t, err)
	require.Contains(t, err.Error(), strconv.Itoa(e.ts.MemberNo()))
	_, ok := e.ts.SubAccount(login)
	require.True(t, ok, "the sub account lives on in its account, and so does its lease")

	e.configure(map[string]any{"force": true})
	_, err = e.Revoke(lease.Secret)
	require.NoError(t, err)
	_, ok = e.ts.SubAccount(login)
	require.False(t, ok)
}
