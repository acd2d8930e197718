package ncloudtest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAuthentication(t *testing.T) {
	ts := Start(t, Options{})
	ak, sk := ts.RootCredentials()
	tests := []struct {
		name    string
		mutate  func(c *client)
		status  int
		code    string
		details string
	}{
		{name: "valid v2 header", status: http.StatusOK},
		{name: "valid v1 header", mutate: func(c *client) { c.sigHdr = headerSignatureV1 }, status: http.StatusOK},
		{name: "clock 4m behind", mutate: func(c *client) { c.clock = func() time.Time { return time.Now().Add(-4 * time.Minute) } }, status: http.StatusOK},
		{name: "wrong secret", mutate: func(c *client) { c.sk = "not-the-secret" }, status: http.StatusUnauthorized, code: "200", details: "Signature mismatch"},
		{name: "unknown key", mutate: func(c *client) { c.ak = "ncp_iam_unknownunknownunkn" }, status: http.StatusUnauthorized, code: "200", details: "Invalid access key"},
		{name: "timestamp 6m old", mutate: func(c *client) { c.clock = func() time.Time { return time.Now().Add(-6 * time.Minute) } }, status: http.StatusUnauthorized, code: "200", details: "Invalid timestamp"},
		{name: "timestamp 6m ahead", mutate: func(c *client) { c.clock = func() time.Time { return time.Now().Add(6 * time.Minute) } }, status: http.StatusUnauthorized, code: "200", details: "Invalid timestamp"},
		{name: "timestamp not a number", mutate: func(c *client) {
			c.tamperFn = func(r *http.Request) { r.Header.Set(headerTimestamp, "yesterday") }
		}, status: http.StatusUnauthorized, code: "200", details: "Invalid timestamp"},
		{name: "missing signature", mutate: func(c *client) {
			c.tamperFn = func(r *http.Request) { r.Header.Del(headerSignatureV2) }
		}, status: http.StatusUnauthorized, code: "200", details: "missing"},
		{name: "query string not signed", mutate: func(c *client) {
			c.tamperFn = func(r *http.Request) { r.URL.RawQuery = "type=USER_CREATED" }
		}, status: http.StatusUnauthorized, code: "200", details: "Signature mismatch"},
		{name: "path changed after signing", mutate: func(c *client) {
			c.tamperFn = func(r *http.Request) { r.URL.Path = "/api/v1/sub-accounts" }
		}, status: http.StatusUnauthorized, code: "200", details: "Signature mismatch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, ts, ak, sk)
			if tc.mutate != nil {
				tc.mutate(c)
			}
			r := c.do(http.MethodGet, "/api/v1/policies?type=SYSTEM_MANAGED", nil)
			require.Equal(t, tc.status, r.status, string(r.body))
			require.NotContains(t, string(r.body), sk, "secret leaked")
			if tc.code != "" {
				e := r.gwError(t)
				require.Equal(t, tc.code, e.ErrorCode)
				require.Equal(t, "Authentication Failed", e.Message)
				require.Contains(t, e.Details, tc.details)
			}
		})
	}
}

func TestCustomSkewAndSignedQuery(t *testing.T) {
	ts := Start(t, Options{MaxClockSkew: time.Minute})
	c := rootClient(t, ts)
	c.clock = func() time.Time { return time.Now().Add(-2 * time.Minute) }
	r := c.do(http.MethodGet, "/api/v1/policies", nil)
	require.Equal(t, http.StatusUnauthorized, r.status)

	c.clock = time.Now
	r = c.do(http.MethodGet, "/api/v1/policies?searchColumn=policyName&searchWord=NCP_ADMIN&page=0&size=5", nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	items := r.json(t)["items"].([]any)
	require.Len(t, items, 1)
}

func TestDeletedKeyAndRootRotation(t *testing.T) {
	ts := Start(t, Options{AccessKey: "ncp_iam_ROOTKEYROOTKEYROOTK", SecretKey: "root-secret", RootSubAccount: "ops-root"})
	root := rootClient(t, ts)
	sa, ok := ts.SubAccount("ops-root")
	require.True(t, ok)
	require.Equal(t, []string{"ncp_iam_ROOTKEYROOTKEYROOTK"}, sa.AccessKeys)
	require.Equal(t, []string{"NCP_ADMINISTRATOR"}, sa.Policies)

	// Rotate: new key for the root's own sub account, then delete the old one with the new.
	fresh := newKey(t, ts, root, sa.ID)
	r := fresh.do(http.MethodDelete, "/api/v1/sub-accounts/"+sa.ID+"/access-keys", map[string]string{"accessKey": "ncp_iam_ROOTKEYROOTKEYROOTK"})
	require.Equal(t, http.StatusOK, r.status, string(r.body))

	r = root.do(http.MethodGet, "/api/v1/policies", nil)
	require.Equal(t, http.StatusUnauthorized, r.status)
	require.Equal(t, "200", r.gwError(t).ErrorCode)
	r = fresh.do(http.MethodGet, "/api/v1/policies", nil)
	require.Equal(t, http.StatusOK, r.status)
}

func TestPermissionDenied(t *testing.T) {
	ts := Start(t, Options{})
	root := rootClient(t, ts)
	id := createSubV1(t, root, "plain-user")
	plain := newKey(t, ts, root, id)

	r := plain.do(http.MethodGet, "/api/v1/sub-accounts", nil)
	require.Equal(t, http.StatusUnauthorized, r.status)
	e := r.gwError(t)
	require.Equal(t, "210", e.ErrorCode)
	require.Equal(t, "Permission Denied", e.Message)

	r = plain.do(http.MethodGet, "/api/v2/sub-accounts", nil)
	require.Equal(t, http.StatusForbidden, r.status)
	require.Equal(t, "Forbidden", r.json(t)["error"].(map[string]any)["errorCode"])

	// Any authenticated sub account may use STS.
	r = plain.do(http.MethodPost, "/api/v1/credentials", map[string]int{"durationSec": 900})
	require.Equal(t, http.StatusOK, r.status, string(r.body))

	// A policy that manages sub accounts, added by the test, grants access.
	pid := ts.AddPolicy("SubAccountAdmins", true)
	r = root.do(http.MethodPost, "/api/v2/sub-accounts/"+id+"/attach-policies", map[string]any{"policyIds": []string{pid}})
	require.Equal(t, http.StatusNoContent, r.status, string(r.body))
	r = plain.do(http.MethodGet, "/api/v2/sub-accounts", nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
}

func TestNoAPIGatewayAccess(t *testing.T) {
	ts := Start(t, Options{})
	root := rootClient(t, ts)
	body := v1CreateBody("console-only")
	body["canAPIGatewayAccess"] = false
	r := root.do(http.MethodPost, "/api/v1/sub-accounts", body)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	c := newKey(t, ts, root, r.json(t)["id"].(string))
	r = c.do(http.MethodPost, "/api/v1/credentials", nil)
	require.Equal(t, http.StatusUnauthorized, r.status)
	require.Equal(t, "210", r.gwError(t).ErrorCode)
}

func TestUnknownPath(t *testing.T) {
	ts := Start(t, Options{})
	r := rootClient(t, ts).do(http.MethodGet, "/api/v1/nothing-here", nil)
	require.Equal(t, http.StatusNotFound, r.status)
	require.Equal(t, "300", r.gwError(t).ErrorCode)
	require.True(t, strings.HasPrefix(r.gwError(t).Message, "Not Found"))
}
