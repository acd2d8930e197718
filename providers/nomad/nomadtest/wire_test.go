package nomadtest

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestWireErrors checks status, Content-Type and exact body bytes of
// Nomad's error answers.
func TestWireErrors(t *testing.T) {
	ts := Start(t, Options{})
	root := ts.RootToken()
	tests := []struct {
		name, method, path, secret, body string
		status                           int
		want                             string
	}{
		{"wrong method on tokens", http.MethodPost, "/v1/acl/tokens", root, "", 405, "Invalid method"},
		{"wrong method on create", http.MethodGet, "/v1/acl/token", root, "", 405, "Invalid method"},
		{"wrong method on self", http.MethodDelete, "/v1/acl/token/self", root, "", 405, "Invalid method"},
		{"wrong method on bootstrap", http.MethodGet, "/v1/acl/bootstrap", "", "", 405, "Invalid method"},
		{"wrong method on token", http.MethodPatch, "/v1/acl/token/x", root, "", 405, "Invalid method"},
		{"wrong method on role name", http.MethodDelete, "/v1/acl/role/name/x", root, "", 405, "Invalid method"},
		{"empty body", http.MethodPut, "/v1/acl/token", root, "", 400, "Request body is empty"},
		{"bad TTL before auth", http.MethodPut, "/v1/acl/token", "", `{"ExpirationTTL":"abc"}`, 400, `time: invalid duration "abc"`},
		{"anonymous create", http.MethodPut, "/v1/acl/token", "", `{"Type":"management"}`, 403, "Permission denied"},
		{"accessor mismatch", http.MethodPut, "/v1/acl/token/abc", root, `{"AccessorID":"def"}`, 400, "ACL token accessor does not match request path"},
		{"missing accessor", http.MethodGet, "/v1/acl/token/", root, "", 400, "Missing Token Accessor"},
		{"multierror body", http.MethodPut, "/v1/acl/token", root, `{"Type":"client"}`, 400, "token 0 invalid: 1 error occurred:\n\t* client token missing policies or roles\n\n"},
		{"delete nonexistent", http.MethodDelete, "/v1/acl/token/0b8a3f6e-0000-0000-0000-000000000000", root, "", 400, "Cannot delete nonexistent tokens: 0b8a3f6e-0000-0000-0000-000000000000"},
		{"read missing token", http.MethodGet, "/v1/acl/token/0b8a3f6e-0000-0000-0000-000000000000", root, "", 404, "ACL token not found"},
		{"missing policy name", http.MethodGet, "/v1/acl/policy/", root, "", 400, "Missing Policy Name"},
		{"policy name mismatch", http.MethodPut, "/v1/acl/policy/a", root, `{"Name":"b"}`, 400, "ACL policy name does not match request path"},
		{"missing role", http.MethodGet, "/v1/acl/role/nope", root, "", 404, "ACL role not found"},
		{"delete missing role", http.MethodDelete, "/v1/acl/role/nope", root, "", 500, "ACL role not found"},
		{"role path", http.MethodGet, "/v1/acl/role/x/y", root, "", 400, "invalid URI"},
		{"role id mismatch", http.MethodPut, "/v1/acl/role/abc", root, `{"ID":"def"}`, 400, "ACL role ID does not match request path"},
		{"bad per_page", http.MethodGet, "/v1/acl/tokens?per_page=x", root, "", 400, "Expect a number for `per_page` query string parameter"},
		{"bootstrap bad body", http.MethodPut, "/v1/acl/bootstrap", "", `{`, 400, "failed to decode request body: unexpected EOF"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := rawDo(t, tc.method, ts.URL+tc.path, tc.secret, tc.body)
			require.Equal(t, tc.status, resp.StatusCode)
			require.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"))
			require.Equal(t, tc.want, body)
		})
	}
	t.Run("unknown path is an empty 404", func(t *testing.T) {
		resp, body := rawDo(t, http.MethodGet, ts.URL+"/v1/jobs", root, "")
		require.Equal(t, 404, resp.StatusCode)
		require.Empty(t, body)
	})
}

// TestWireHeaders checks X-Nomad-Index on writes and the query meta
// headers on reads, including reads that answer 404.
func TestWireHeaders(t *testing.T) {
	ts := Start(t, Options{})
	root := ts.RootToken()

	resp, body := rawDo(t, http.MethodPut, ts.URL+"/v1/acl/policy/p1", root, `{"Name":"p1","Rules":"node { policy = \"read\" }"}`)
	require.Equal(t, 200, resp.StatusCode)
	require.Empty(t, body)
	require.Equal(t, "2", resp.Header.Get("X-Nomad-Index"))
	require.Empty(t, resp.Header.Get("X-Nomad-KnownLeader"), "writes carry only the index")

	resp, _ = rawDo(t, http.MethodPut, ts.URL+"/v1/acl/token", root, `{"Type":"client","Policies":["p1"]}`)
	require.Equal(t, "3", resp.Header.Get("X-Nomad-Index"))
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))

	for _, path := range []string{"/v1/acl/tokens", "/v1/acl/token/self", "/v1/acl/policies", "/v1/acl/roles", "/v1/acl/policy/p1", "/v1/acl/token/0b8a3f6e-0000-0000-0000-000000000000"} {
		resp, _ := rawDo(t, http.MethodGet, ts.URL+path, root, "")
		require.NotEmpty(t, resp.Header.Get("X-Nomad-Index"), path)
		require.Equal(t, "0", resp.Header.Get("X-Nomad-LastContact"), path)
		require.Equal(t, "true", resp.Header.Get("X-Nomad-KnownLeader"), path)
	}
	resp, _ = rawDo(t, http.MethodGet, ts.URL+"/v1/acl/tokens", root, "")
	require.Equal(t, "3", resp.Header.Get("X-Nomad-Index"))
	require.Empty(t, resp.Header.Get("X-Nomad-NextToken"))
	resp, _ = rawDo(t, http.MethodGet, ts.URL+"/v1/acl/tokens?per_page=1", root, "")
	require.Regexp(t, `^3\.[0-9a-f-]{36}$`, resp.Header.Get("X-Nomad-NextToken"))

	req, err := http.NewRequest(http.MethodGet, ts.URL+"/v1/acl/tokens", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+root)
	bresp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	bresp.Body.Close()
	require.Equal(t, 200, bresp.StatusCode)
}

// TestWireTokenJSON checks the token's JSON: field order and types as
// structs.ACLToken.MarshalJSON writes them.
func TestWireTokenJSON(t *testing.T) {
	ts := Start(t, Options{})
	clock := newFakeClock()
	ts.SetClock(clock.Now)
	root := ts.RootToken()
	_, _ = rawDo(t, http.MethodPut, ts.URL+"/v1/acl/policy/p1", root, `{"Name":"p1","Rules":""}`)
	resp, body := rawDo(t, http.MethodPut, ts.URL+"/v1/acl/role", root, `{"Name":"r1","Policies":[{"Name":"p1"},{"Name":"p1"}]}`)
	require.Equal(t, 200, resp.StatusCode, body)
	var role map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &role))
	require.Equal(t, []any{map[string]any{"Name": "p1"}}, role["Policies"], "duplicate policy links are removed")
	require.Regexp(t, `^\{"ID":"[0-9a-f-]{36}","Name":"r1","Description":"","Policies":\[\{"Name":"p1"\}\],"Hash":"[A-Za-z0-9+/=]+","CreateIndex":3,"ModifyIndex":3\}$`, body)

	resp, body = rawDo(t, http.MethodPut, ts.URL+"/v1/acl/token", root,
		`{"Name":"n","Type":"client","Roles":[{"Name":"r1"}],"Global":true,"ExpirationTTL":"1h","CreateTime":"0001-01-01T00:00:00Z","AccessorID":"","SecretID":""}`)
	require.Equal(t, 200, resp.StatusCode, body)
	re := regexp.MustCompile(`^\{"ExpirationTTL":"1h0m0s","AccessorID":"[0-9a-f-]{36}","SecretID":"[0-9a-f-]{36}","Name":"n","Type":"client","Policies":null,` +
		`"Roles":\[\{"ID":"[0-9a-f-]{36}","Name":"r1"\}\],"Global":true,"Hash":"[A-Za-z0-9+/=]+",` +
		`"CreateTime":"2026-01-02T03:04:05.0000006Z","ExpirationTime":"2026-01-02T04:04:05.0000006Z","CreateIndex":4,"ModifyIndex":4\}$`)
	require.Regexp(t, re, body)
	require.False(t, strings.HasSuffix(body, "\n"))

	// Numeric nanosecond TTLs are accepted too.
	resp, body = rawDo(t, http.MethodPut, ts.URL+"/v1/acl/token", root, `{"Type":"management","ExpirationTTL":120000000000}`)
	require.Equal(t, 200, resp.StatusCode, body)
	require.Contains(t, body, `"ExpirationTTL":"2m0s"`)
	require.Contains(t, body, `"Policies":null,"Roles":null`)

	// List stubs carry the stored role link: ID only, empty Name, no SecretID.
	_, body = rawDo(t, http.MethodGet, ts.URL+`/v1/acl/tokens?filter=Name%20%3D%3D%20%22n%22`, root, "")
	var stubs []map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &stubs))
	require.Len(t, stubs, 1)
	require.NotContains(t, stubs[0], "SecretID")
	require.Equal(t, "", stubs[0]["Roles"].([]any)[0].(map[string]any)["Name"])

	// An empty list is [], not null.
	_, body = rawDo(t, http.MethodGet, ts.URL+`/v1/acl/tokens?prefix=ffff`, root, "")
	require.Equal(t, "[]", body)

	// Expiry is counted on the injected clock.
	clock.Advance(2 * time.Hour)
	resp, body = rawDo(t, http.MethodGet, ts.URL+"/v1/acl/token/self", root, "")
	require.Equal(t, 200, resp.StatusCode, body)
}
