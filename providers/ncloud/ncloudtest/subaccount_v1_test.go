package ncloudtest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func v1ErrCode(t *testing.T, r response) float64 {
	t.Helper()
	var e struct {
		Error struct {
			ErrorCode float64 `json:"errorCode"`
			Message   string  `json:"message"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(r.body, &e), string(r.body))
	require.NotEmpty(t, e.Error.Message)
	return e.Error.ErrorCode
}

func TestV1CreateSubAccountValidation(t *testing.T) {
	ts := Start(t, Options{})
	root := rootClient(t, ts)
	createSubV1(t, root, "taken-name")
	tests := []struct {
		name   string
		edit   func(map[string]any)
		status int
		code   float64
	}{
		{name: "valid", edit: func(map[string]any) {}, status: 200},
		{name: "valid with symbols", edit: func(b map[string]any) { b["loginId"] = "a.b@c-d_e" }, status: 200},
		{name: "valid with password", edit: func(b map[string]any) { b["needPasswordGenerate"] = false; b["password"] = "Passw0rd!" }, status: 200},
		{name: "loginId too short", edit: func(b map[string]any) { b["loginId"] = "ab" }, status: 400, code: 100},
		{name: "loginId too long", edit: func(b map[string]any) { b["loginId"] = "a" + strings.Repeat("b", 60) }, status: 400, code: 100},
		{name: "loginId starts with digit", edit: func(b map[string]any) { b["loginId"] = "1abc" }, status: 400, code: 100},
		{name: "loginId with space", edit: func(b map[string]any) { b["loginId"] = "ab cd" }, status: 400, code: 100},
		{name: "name too short", edit: func(b map[string]any) { b["name"] = " x " }, status: 400, code: 100},
		{name: "name too long", edit: func(b map[string]any) { b["name"] = strings.Repeat("n", 31) }, status: 400, code: 100},
		{name: "missing canAPIGatewayAccess", edit: func(b map[string]any) { delete(b, "canAPIGatewayAccess") }, status: 400, code: 100},
		{name: "missing needPasswordReset", edit: func(b map[string]any) { delete(b, "needPasswordReset") }, status: 400, code: 100},
		{name: "password required when not generated", edit: func(b map[string]any) { b["needPasswordGenerate"] = false }, status: 400, code: 100},
		{name: "weak password", edit: func(b map[string]any) { b["needPasswordGenerate"] = false; b["password"] = "password" }, status: 400, code: 100},
		{name: "duplicate loginId", edit: func(b map[string]any) { b["loginId"] = "TAKEN-name" }, status: 400, code: 910},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := v1CreateBody("user-" + string(rune('a'+i)))
			tc.edit(body)
			before := ts.State()["sub_accounts"]
			r := root.do(http.MethodPost, "/api/v1/sub-accounts", body)
			require.Equal(t, tc.status, r.status, string(r.body))
			if tc.status != 200 {
				require.Equal(t, tc.code, v1ErrCode(t, r))
				require.Equal(t, before, ts.State()["sub_accounts"])
			}
		})
	}
}

func TestV1SubAccountLifecycle(t *testing.T) {
	ts := Start(t, Options{})
	root := rootClient(t, ts)
	base := ts.State()
	require.Equal(t, map[string]int{"sub_accounts": 1, "access_keys": 1, "sts_keys": 0, "policies": len(seedPolicies)}, base)

	id := createSubV1(t, root, "vault-role-1")
	r := root.do(http.MethodGet, "/api/v1/sub-accounts/"+id, nil)
	require.Equal(t, http.StatusOK, r.status)
	m := r.json(t)
	require.Equal(t, id, m["subAccountId"])
	require.Equal(t, "vault-role-1", m["loginId"])
	require.Equal(t, true, m["canAPIGatewayAccess"])
	require.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`, m["createTime"])

	r = root.do(http.MethodGet, "/api/v1/sub-accounts?searchColumn=loginId&searchWord=vault-role&page=0&size=10", nil)
	require.Equal(t, http.StatusOK, r.status)
	m = r.json(t)
	require.EqualValues(t, 1, m["totalItems"])
	require.Equal(t, id, m["items"].([]any)[0].(map[string]any)["subAccountId"])

	// Policies: known ones attach; an unknown one is a failed item.
	infra, _ := ts.PolicyID("NCP_INFRA_MANAGER")
	server, _ := ts.PolicyID("NCP_VPC_SERVER_MANAGER")
	r = root.do(http.MethodPost, "/api/v1/sub-accounts/"+id+"/policies", map[string]any{"policyIdList": []string{infra, server, "no-such-policy"}})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var items []processResult
	require.NoError(t, json.Unmarshal(r.body, &items))
	require.Equal(t, []processResult{{Success: true, ID: infra, Name: "addPolicy"}, {Success: true, ID: server, Name: "addPolicy"},
		{Success: false, ID: "no-such-policy", Message: "Policy is not registered."}}, items)
	sa, _ := ts.SubAccount("vault-role-1")
	require.Equal(t, []string{"NCP_INFRA_MANAGER", "NCP_VPC_SERVER_MANAGER"}, sa.Policies)

	r = root.do(http.MethodDelete, "/api/v1/sub-accounts/"+id+"/policies", map[string]any{"policyIdList": []string{infra}})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	sa, _ = ts.SubAccount("vault-role-1")
	require.Equal(t, []string{"NCP_VPC_SERVER_MANAGER"}, sa.Policies)

	// Two access keys at most.
	var keys []string
	for i := 0; i < 2; i++ {
		r = root.do(http.MethodPost, "/api/v1/sub-accounts/"+id+"/access-keys", nil)
		require.Equal(t, http.StatusOK, r.status, string(r.body))
		m = r.json(t)
		require.NotEmpty(t, m["keySecret"])
		require.NotEmpty(t, m["createTime"])
		keys = append(keys, m["accessKey"].(string))
	}
	r = root.do(http.MethodPost, "/api/v1/sub-accounts/"+id+"/access-keys", nil)
	require.Equal(t, http.StatusBadRequest, r.status)
	require.EqualValues(t, 905, v1ErrCode(t, r))

	r = root.do(http.MethodGet, "/api/v1/sub-accounts/"+id+"/access-keys", nil)
	require.Equal(t, http.StatusOK, r.status)
	var listed []map[string]any
	require.NoError(t, json.Unmarshal(r.body, &listed))
	require.Len(t, listed, 2)
	require.Equal(t, keys[0], listed[0]["accessKey"])
	require.NotContains(t, listed[0], "keySecret")

	// Refused while keys remain.
	r = root.do(http.MethodDelete, "/api/v1/sub-accounts/"+id, nil)
	require.Equal(t, http.StatusBadRequest, r.status)
	require.EqualValues(t, 906, v1ErrCode(t, r))

	for _, k := range keys {
		r = root.do(http.MethodDelete, "/api/v1/sub-accounts/"+id+"/access-keys", map[string]string{"accessKey": k})
		require.Equal(t, http.StatusOK, r.status, string(r.body))
	}
	r = root.do(http.MethodDelete, "/api/v1/sub-accounts/"+id+"/access-keys", map[string]string{"accessKey": keys[0]})
	require.Equal(t, http.StatusBadRequest, r.status)
	require.EqualValues(t, 904, v1ErrCode(t, r))

	r = root.do(http.MethodDelete, "/api/v1/sub-accounts/"+id, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	require.JSONEq(t, `{"success":true}`, string(r.body))

	// Gone: the documented v1 answer for a nonexistent account is 401 / 30.
	r = root.do(http.MethodGet, "/api/v1/sub-accounts/"+id, nil)
	require.Equal(t, http.StatusUnauthorized, r.status)
	require.EqualValues(t, 30, v1ErrCode(t, r))
	r = root.do(http.MethodDelete, "/api/v1/sub-accounts/"+id, nil)
	require.Equal(t, http.StatusUnauthorized, r.status)
	require.Equal(t, base, ts.State())
}

func TestV1ListPaging(t *testing.T) {
	ts := Start(t, Options{})
	root := rootClient(t, ts)
	for _, n := range []string{"page-a", "page-b", "page-c"} {
		createSubV1(t, root, n)
	}
	r := root.do(http.MethodGet, "/api/v1/sub-accounts?page=1&size=3", nil)
	require.Equal(t, http.StatusOK, r.status)
	m := r.json(t)
	require.EqualValues(t, 4, m["totalItems"])
	require.EqualValues(t, 2, m["totalPages"])
	require.Equal(t, true, m["hasPrevious"])
	require.Equal(t, true, m["isLast"])
	require.Len(t, m["items"], 1)

	r = root.do(http.MethodGet, "/api/v1/sub-accounts?size=0", nil)
	require.Equal(t, http.StatusBadRequest, r.status)
	r = root.do(http.MethodGet, "/api/v1/policies?type=BOGUS", nil)
	require.Equal(t, http.StatusBadRequest, r.status)
}
