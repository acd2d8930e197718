package ncloudtest

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func v2Err(t *testing.T, r response) v2ErrorBody {
	t.Helper()
	var e v2Error
	require.NoError(t, json.Unmarshal(r.body, &e), string(r.body))
	require.NotEmpty(t, e.Error.Message)
	return e.Error
}

// batchFailures decodes a Batch Failure Response and checks it has no
// "error" beside "failures".
func batchFailures(t *testing.T, r response) map[string]v2ErrorBody {
	t.Helper()
	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(r.body, &raw), string(r.body))
	require.NotContains(t, raw, "error", "exactly one of error and failures")
	var f map[string]v2ErrorBody
	require.NoError(t, json.Unmarshal(raw["failures"], &f), string(r.body))
	for _, e := range f {
		require.NotEmpty(t, e.Message)
	}
	return f
}

func v2CreateBody(loginID string) map[string]any {
	return map[string]any{"loginId": loginID, "name": loginID, "passwordGenerationRequired": true,
		"apiGatewayAccessible": true, "consoleAccessible": false}
}

func createSubV2(t *testing.T, c *client, loginID string) string {
	t.Helper()
	r := c.do(http.MethodPost, "/api/v2/sub-accounts", v2CreateBody(loginID))
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	return r.json(t)["subAccountId"].(string)
}

func TestV2CreateSubAccount(t *testing.T) {
	ts := Start(t, Options{})
	root := rootClient(t, ts)
	r := root.do(http.MethodPost, "/api/v2/sub-accounts", v2CreateBody("v2-user"))
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	m := r.json(t)
	require.True(t, isUUID(m["subAccountId"].(string)))
	require.Equal(t, "v2-user", m["loginId"])
	require.Equal(t, true, m["apiGatewayAccessible"])
	require.NotEmpty(t, m["password"], "generated password is returned once")

	tests := []struct {
		name   string
		edit   func(map[string]any)
		status int
		code   string
		field  string
	}{
		{name: "duplicate", edit: func(b map[string]any) { b["loginId"] = "v2-user" }, status: 409, code: "Conflict"},
		{name: "bad loginId", edit: func(b map[string]any) { b["loginId"] = "-x" }, status: 400, code: "BadRequest", field: "loginId"},
		{name: "missing apiGatewayAccessible", edit: func(b map[string]any) { delete(b, "apiGatewayAccessible") }, status: 400, code: "BadRequest", field: "apiGatewayAccessible"},
		{name: "missing consoleAccessible", edit: func(b map[string]any) { delete(b, "consoleAccessible") }, status: 400, code: "BadRequest", field: "consoleAccessible"},
		{name: "no password", edit: func(b map[string]any) { b["passwordGenerationRequired"] = false }, status: 400, code: "BadRequest", field: "password"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := v2CreateBody("fresh-user")
			tc.edit(body)
			r := root.do(http.MethodPost, "/api/v2/sub-accounts", body)
			require.Equal(t, tc.status, r.status, string(r.body))
			e := v2Err(t, r)
			require.Equal(t, tc.code, e.ErrorCode)
			if tc.field != "" {
				require.Equal(t, tc.field, e.FieldErrors[0].Field)
			}
			require.Equal(t, 2, ts.State()["sub_accounts"])
		})
	}
}

func TestV2SubAccountLifecycle(t *testing.T) {
	ts := Start(t, Options{})
	root := rootClient(t, ts)
	base := ts.State()
	id := createSubV2(t, root, "lease-0001")
	path := "/api/v2/sub-accounts/" + id

	// Attach is atomic: one unknown policy attaches nothing, and the
	// Batch Failure Response names that item only.
	infra, _ := ts.PolicyID("NCP_INFRA_MANAGER")
	extra := ts.AddPolicy("CustomReadOnly", false)
	r := root.do(http.MethodPost, path+"/attach-policies", map[string]any{"policyIds": []string{infra, "4e066e50-9c3a-11e7-8a66-1e5021fa7c80"}})
	require.Equal(t, http.StatusNotFound, r.status, string(r.body))
	f := batchFailures(t, r)
	require.Len(t, f, 1)
	require.Equal(t, "PolicyNotFound", f["1"].ErrorCode)
	require.Contains(t, f["1"].Detail, "4e066e50-9c3a-11e7-8a66-1e5021fa7c80")
	sa, _ := ts.SubAccount("lease-0001")
	require.Empty(t, sa.Policies)

	r = root.do(http.MethodPost, path+"/attach-policies", map[string]any{"policyIds": []string{infra, infra}})
	require.Equal(t, http.StatusBadRequest, r.status)
	r = root.do(http.MethodPost, path+"/attach-policies", map[string]any{"policyIds": []string{}})
	require.Equal(t, http.StatusBadRequest, r.status)

	r = root.do(http.MethodPost, path+"/attach-policies", map[string]any{"policyIds": []string{infra, extra}})
	require.Equal(t, http.StatusNoContent, r.status, string(r.body))

	// Attaching again fails: each already attached policy is a 409 item;
	// mixed with an unknown one the status is 400 and nothing changes.
	r = root.do(http.MethodPost, path+"/attach-policies", map[string]any{"policyIds": []string{extra}})
	require.Equal(t, http.StatusConflict, r.status, string(r.body))
	require.Equal(t, "Conflict", batchFailures(t, r)["0"].ErrorCode)
	admin, _ := ts.PolicyID("NCP_ADMINISTRATOR")
	r = root.do(http.MethodPost, path+"/attach-policies", map[string]any{"policyIds": []string{admin, infra, "4e066e50-9c3a-11e7-8a66-1e5021fa7c80"}})
	require.Equal(t, http.StatusBadRequest, r.status, string(r.body))
	f = batchFailures(t, r)
	require.Len(t, f, 2, "only the items that failed: %v", f)
	require.Equal(t, "Conflict", f["1"].ErrorCode)
	require.Equal(t, "PolicyNotFound", f["2"].ErrorCode)
	sa, _ = ts.SubAccount("lease-0001")
	require.Equal(t, []string{"NCP_INFRA_MANAGER", "CustomReadOnly"}, sa.Policies, "NCP_ADMINISTRATOR not attached")
	r = root.do(http.MethodGet, path, nil)
	require.Equal(t, http.StatusOK, r.status)
	var got v2SubAccountJSON
	require.NoError(t, json.Unmarshal(r.body, &got))
	require.Equal(t, []v2PolicyJSON{{PolicyID: infra, PolicyName: "NCP_INFRA_MANAGER", PolicyType: "SYSTEM_MANAGED"},
		{PolicyID: extra, PolicyName: "CustomReadOnly", PolicyType: "USER_CREATED"}}, got.Policies)

	r = root.do(http.MethodPost, path+"/detach-policies", map[string]any{"policyIds": []string{extra}})
	require.Equal(t, http.StatusNoContent, r.status, string(r.body))
	r = root.do(http.MethodPost, path+"/detach-policies", map[string]any{"policyIds": []string{extra}})
	require.Equal(t, http.StatusNotFound, r.status, "not attached any more")

	// Keys: the third is LimitExceeded; the new key authenticates.
	user := newKey(t, ts, root, id)
	newKey(t, ts, root, id)
	r = root.do(http.MethodPost, path+"/access-keys", nil)
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Equal(t, "LimitExceeded", v2Err(t, r).ErrorCode)
	r = user.do(http.MethodPost, "/api/v1/credentials", nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))

	r = root.do(http.MethodGet, path+"/access-keys", nil)
	require.Equal(t, http.StatusOK, r.status)
	var list struct {
		AccessKeys []map[string]any `json:"accessKeys"`
	}
	require.NoError(t, json.Unmarshal(r.body, &list))
	require.Len(t, list.AccessKeys, 2)
	require.Equal(t, true, list.AccessKeys[0]["active"])

	// Delete refuses while keys remain unless cascading.
	r = root.do(http.MethodDelete, path, nil)
	require.Equal(t, http.StatusConflict, r.status)
	require.Equal(t, "ResourceInUse", v2Err(t, r).ErrorCode)
	r = root.do(http.MethodDelete, path+"/access-keys/"+user.ak, nil)
	require.Equal(t, http.StatusNoContent, r.status)
	r = root.do(http.MethodDelete, path+"/access-keys/"+user.ak, nil)
	require.Equal(t, http.StatusNotFound, r.status)
	require.Equal(t, "AccessKeyNotFound", v2Err(t, r).ErrorCode)
	r = root.do(http.MethodDelete, path+"?cascading=true", nil)
	require.Equal(t, http.StatusNoContent, r.status, string(r.body))

	// The deleted sub account's keys and STS keys no longer authenticate.
	r = user.do(http.MethodPost, "/api/v1/credentials", nil)
	require.Equal(t, http.StatusUnauthorized, r.status)
	r = root.do(http.MethodGet, path, nil)
	require.Equal(t, http.StatusNotFound, r.status)
	require.Equal(t, "SubAccountNotFound", v2Err(t, r).ErrorCode)
	r = root.do(http.MethodDelete, path, nil)
	require.Equal(t, http.StatusNotFound, r.status)
	r = root.do(http.MethodGet, "/api/v2/sub-accounts/not-a-uuid", nil)
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Equal(t, "BadRequest", v2Err(t, r).ErrorCode)

	want := base
	want["policies"]++ // CustomReadOnly
	require.Equal(t, want, ts.State())
}

func TestV2ListSubAccountsAndPolicies(t *testing.T) {
	ts := Start(t, Options{})
	root := rootClient(t, ts)
	for _, n := range []string{"bravo", "alpha", "charlie"} {
		createSubV2(t, root, n)
	}
	r := root.do(http.MethodGet, "/api/v2/sub-accounts?sort=loginId,asc&pageSize=2&pageNo=0", nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var page struct {
		SubAccounts   []v2SubAccountJSON `json:"subAccounts"`
		TotalElements int                `json:"totalElements"`
		TotalPages    int                `json:"totalPages"`
		PageSize      int                `json:"pageSize"`
	}
	require.NoError(t, json.Unmarshal(r.body, &page))
	require.Equal(t, 4, page.TotalElements)
	require.Equal(t, 2, page.TotalPages)
	require.Equal(t, []string{"alpha", "bravo"}, []string{page.SubAccounts[0].LoginID, page.SubAccounts[1].LoginID})

	r = root.do(http.MethodGet, "/api/v2/sub-accounts", nil) // default createdDateTime,desc
	require.NoError(t, json.Unmarshal(r.body, &page))
	require.Equal(t, "charlie", page.SubAccounts[0].LoginID)
	require.Equal(t, "vault-root", page.SubAccounts[3].LoginID)

	for _, q := range []string{"pageSize=101", "pageNo=-1", "sort=email,asc", "sort=name,sideways"} {
		r = root.do(http.MethodGet, "/api/v2/sub-accounts?"+q, nil)
		require.Equal(t, http.StatusBadRequest, r.status, q)
	}

	r = root.do(http.MethodGet, "/api/v2/policies?policyType=SYSTEM_MANAGED&pageSize=100", nil)
	require.Equal(t, http.StatusOK, r.status)
	var pols struct {
		Policies []v2PolicyJSON `json:"policies"`
	}
	require.NoError(t, json.Unmarshal(r.body, &pols))
	require.Len(t, pols.Policies, len(seedPolicies))
}

// The memo (v1 create and v2 update: at most 300 bytes) is kept on a v2
// create and read back with GET; list items carry only the fields that
// find a sub account (listsubaccounts), not the memo. Several sort keys
// apply in order.
func TestV2MemoAndListItems(t *testing.T) {
	ts := Start(t, Options{})
	root := rootClient(t, ts)
	body := v2CreateBody("memo-user")
	body["memo"] = "made by a test"
	r := root.do(http.MethodPost, "/api/v2/sub-accounts", body)
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	id := r.json(t)["subAccountId"].(string)
	sa, ok := ts.SubAccount("memo-user")
	require.True(t, ok)
	require.Equal(t, "made by a test", sa.Memo)

	r = root.do(http.MethodGet, "/api/v2/sub-accounts/"+id, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	require.Equal(t, "made by a test", r.json(t)["memo"])

	r = root.do(http.MethodGet, "/api/v2/sub-accounts?pageSize=100", nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var page struct {
		SubAccounts []map[string]any `json:"subAccounts"`
	}
	require.NoError(t, json.Unmarshal(r.body, &page))
	require.Len(t, page.SubAccounts, 2)
	for _, it := range page.SubAccounts {
		require.NotContains(t, it, "memo")
		require.NotContains(t, it, "email")
		require.Contains(t, it, "createdDateTime")
		require.Contains(t, it, "subAccountId")
	}

	long := v2CreateBody("memo-long")
	long["memo"] = string(make([]byte, 301))
	r = root.do(http.MethodPost, "/api/v2/sub-accounts", long)
	require.Equal(t, http.StatusBadRequest, r.status, string(r.body))
	require.Equal(t, "BadRequest", v2Err(t, r).ErrorCode)

	// Two sub accounts of the same name: the second key orders them.
	for _, login := range []string{"same-a", "same-b"} {
		b := v2CreateBody(login)
		b["name"] = "same"
		r = root.do(http.MethodPost, "/api/v2/sub-accounts", b)
		require.Equal(t, http.StatusCreated, r.status, string(r.body))
	}
	r = root.do(http.MethodGet, "/api/v2/sub-accounts?sort=name,desc&sort=loginId,desc&pageSize=100", nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	require.NoError(t, json.Unmarshal(r.body, &page))
	var order []string
	for _, it := range page.SubAccounts {
		order = append(order, it["loginId"].(string))
	}
	require.Equal(t, []string{"vault-root", "same-b", "same-a", "memo-user"}, order)
}
