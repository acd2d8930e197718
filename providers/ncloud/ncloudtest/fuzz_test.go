package ncloudtest

import (
	"bytes"
	"crypto"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	ncphmac "github.com/NaverCloudPlatform/ncloud-sdk-go-v2/hmac"
)

// FuzzGateway feeds arbitrary requests to the emulator's API gateway: the
// method, path with query and JSON body, either signed with the SDK's
// hmac signer and the root key (so the Sub Account and STS bodies are
// parsed) or carrying arbitrary x-ncp-apigw-timestamp,
// x-ncp-iam-access-key and signature headers (so the HMAC check is). The
// emulator must never panic, must answer JSON (or nothing, for 204),
// never a 5xx (no fault is injected), and an unsigned request must change
// nothing.
func FuzzGateway(f *testing.F) {
	type seed struct {
		signed                bool
		method, path, body    string
		stamp, key, signature string
	}
	for _, s := range []seed{
		{true, "POST", "/api/v2/sub-accounts", `{"loginId":"fz-one","name":"fz","apiGatewayAccessible":true,"consoleAccessible":false,"passwordGenerationRequired":true,"passwordResetRequired":false}`, "", "", ""},
		{true, "POST", "/api/v1/sub-accounts", `{"loginId":"fz-two","name":"fz","needPasswordGenerate":true,"needPasswordReset":false,"canAPIGatewayAccess":true,"canConsoleAccess":false}`, "", "", ""},
		{true, "GET", "/api/v2/sub-accounts?pageNo=0&pageSize=100&sort=loginId,asc", "", "", "", ""},
		{true, "GET", "/api/v2/policies?pageNo=1&pageSize=2", "", "", "", ""},
		{true, "POST", "/api/v2/sub-accounts/00000000-0000-0000-0000-000000000000/attach-policies", `{"policyIds":["x"]}`, "", "", ""},
		{true, "DELETE", "/api/v2/sub-accounts/00000000-0000-0000-0000-000000000000?cascading=true", "", "", "", ""},
		{true, "POST", "/api/v1/credentials", `{"durationSec":900}`, "", "", ""},
		{true, "POST", "/api/v1/credentials", `{"durationSec":-1,"useMfa":"x"}`, "", "", ""},
		{false, "POST", "/api/v1/credentials", `{}`, "1700000000000", "ncp_iam_AAAA", "c2ln"},
		{false, "GET", "/api/v2/sub-accounts", "", "abc", "", "=="},
	} {
		f.Add(s.signed, s.method, s.path, []byte(s.body), s.stamp, s.key, s.signature)
	}
	srv := New(Options{})
	ak, sk := srv.RootCredentials()
	f.Fuzz(func(t *testing.T, signed bool, method, path string, body []byte, stamp, key, signature string) {
		const base = "http://127.0.0.1"
		req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
		if err != nil || req.URL.Host != "127.0.0.1" {
			return // not a request a client could send to this host
		}
		req.Header.Set("Content-Type", "application/json")
		if signed {
			stamp = strconv.FormatInt(time.Now().UnixMilli(), 10)
			sig, err := ncphmac.NewSigner(sk, crypto.SHA256).Sign(method, req.URL.String(), ak, stamp)
			if err != nil {
				return
			}
			key, signature = ak, sig
		}
		req.Header.Set(headerTimestamp, stamp)
		req.Header.Set(headerAccessKey, key)
		req.Header.Set(headerSignatureV2, signature)
		before := maps.Clone(srv.State())
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)

		if rec.Code >= 500 {
			t.Fatalf("status %d without an injected fault: %s", rec.Code, rec.Body)
		}
		if rec.Body.Len() > 0 && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("status %d answer is not JSON: %q", rec.Code, rec.Body)
		}
		if rec.Code != http.StatusNoContent && rec.Body.Len() == 0 {
			t.Fatalf("status %d with an empty body", rec.Code)
		}
		if !signed && rec.Code < 300 {
			t.Fatalf("an unsigned request succeeded: %d %q", rec.Code, rec.Body)
		}
		if after := srv.State(); !signed && !maps.Equal(before, after) {
			t.Fatalf("an unsigned request changed the account: %v -> %v", before, after)
		}
	})
}
