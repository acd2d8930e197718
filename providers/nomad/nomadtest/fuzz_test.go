package nomadtest

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzACLAPI feeds arbitrary requests to the emulated Nomad ACL API: the
// method, path with query and JSON body, with the bootstrap management
// token (so the token, policy and role bodies are parsed) or with an
// arbitrary X-Nomad-Token. The emulator must never panic, must answer
// JSON on 200 and never a 5xx (no fault is injected; the one 500 Nomad
// sends, "ACL token expired", cannot happen to the bootstrap token), and a
// request without the management token must change nothing.
func FuzzACLAPI(f *testing.F) {
	type seed struct {
		root               bool
		method, path, body string
		token              string
	}
	for _, s := range []seed{
		{true, "PUT", "/v1/acl/token", `{"Name":"fz","Type":"client","Policies":["readonly"],"ExpirationTTL":"10m"}`, ""},
		{true, "PUT", "/v1/acl/token", `{"Name":"fz","Type":"management","Global":true}`, ""},
		{true, "PUT", "/v1/acl/token", `{"Name":"fz","Type":"client","Roles":[{"Name":"r"}],"ExpirationTTL":1e18}`, ""},
		{true, "GET", "/v1/acl/tokens?prefix=ab&filter=Name%20%3D%3D%20%22fz%22", "", ""},
		{true, "DELETE", "/v1/acl/token/00000000-0000-0000-0000-000000000000", "", ""},
		{true, "POST", "/v1/acl/policy/readonly", `{"Name":"readonly","Rules":"namespace \"default\" { policy = \"read\" }"}`, ""},
		{true, "POST", "/v1/acl/role", `{"Name":"r","Policies":[{"Name":"readonly"}]}`, ""},
		{true, "GET", "/v1/acl/role/name/r", "", ""},
		{true, "PUT", "/v1/acl/bootstrap", "", ""},
		{false, "PUT", "/v1/acl/token", `{"Name":"fz","Type":"management"}`, "00000000-0000-0000-0000-000000000000"},
		{false, "GET", "/v1/acl/token/self", "", "not-a-uuid"},
	} {
		f.Add(s.root, s.method, s.path, []byte(s.body), s.token)
	}
	srv := New(Options{})
	root := srv.RootToken()
	f.Fuzz(func(t *testing.T, useRoot bool, method, path string, body []byte, token string) {
		req, err := http.NewRequest(method, "http://127.0.0.1"+path, bytes.NewReader(body))
		if err != nil || req.URL.Host != "127.0.0.1" {
			return
		}
		if useRoot {
			token = root
		}
		if token == root && !useRoot {
			return // the fuzzer found the secret: nothing to learn
		}
		req.Header.Set("X-Nomad-Token", token)
		before := maps.Clone(srv.State())
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)

		if rec.Code >= 500 {
			t.Fatalf("status %d without an injected fault: %q", rec.Code, rec.Body)
		}
		if rec.Code == http.StatusOK && rec.Body.Len() > 0 && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("a 200 answer is not JSON: %q", rec.Body)
		}
		if after := srv.State(); !useRoot && !maps.Equal(before, after) {
			t.Fatalf("a request without the management token changed the cluster: %v -> %v (%d %q)", before, after, rec.Code, rec.Body)
		}
	})
}
