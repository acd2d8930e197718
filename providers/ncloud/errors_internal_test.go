package ncloud

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// Documented error bodies (type-error-response, type-batch-response, the
// gateway's and v1's) become errors with the real code; a batch failure
// keeps each failed item's code.
func TestParseError(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		api      apiKind
		code     string
		contains []string
		absent   []string
		failures map[int]itemError
	}{
		{name: "v2 error", status: 404, body: `{"error":{"errorCode":"SubAccountNotFound","message":"The specified sub account could not be found.","detail":"x"}}`,
			code: "SubAccountNotFound", contains: []string{"could not be found", "x"}},
		{name: "v1 numeric code", status: 401, body: `{"error":{"errorCode":30,"message":"no such account"}}`, code: "30"},
		{name: "batch failure", status: 400, body: `{"failures":{"2":{"errorCode":"PolicyNotFound","message":"The specified policy could not be found.","detail":"Policy does not Exist. (policyId: p2)"},` +
			`"0":{"errorCode":"Conflict","message":"The request conflicts with the current state of the resource."}}}`,
			code: "Conflict", contains: []string{"item 0: Conflict", "item 2: PolicyNotFound", "(policyId: p2)"},
			failures: map[int]itemError{0: {Code: "Conflict", Message: "The request conflicts with the current state of the resource."},
				2: {Code: "PolicyNotFound", Message: "The specified policy could not be found.; Policy does not Exist. (policyId: p2)"}}},
		{name: "STS 404 is a credential", status: 404, api: apiSTS, body: `{"error":{"errorCode":"300","message":"Not Found Exception"}}`,
			code: "300", contains: []string{"invalid or expired credential"}, absent: []string{"no such API"}},
		{name: "gateway 404 elsewhere", status: 404, api: apiSubAccount, body: `{"error":{"errorCode":"300","message":"Not Found Exception"}}`,
			code: "300", contains: []string{"no such API"}},
		{name: "no body", status: 503, body: ``, contains: []string{"Service Unavailable"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := parseError("Op", tc.status, []byte(tc.body), tc.api)
			require.Equal(t, tc.code, e.code)
			for _, c := range tc.contains {
				require.Contains(t, e.Error(), c)
			}
			for _, a := range tc.absent {
				require.NotContains(t, e.Error(), a)
			}
			require.Equal(t, tc.failures, e.failures)
			var ce *providers.CloudError
			require.True(t, errors.As(e, &ce))
			require.Equal(t, tc.code, ce.Code)
		})
	}
}

// An attach whose failure names a policy that is not attached fails with
// that item's code (after reading back what is attached); items failed
// as already attached are success and only the rest is sent again.
func TestAttachBatchFailures(t *testing.T) {
	const (
		sub = "4e066e50-9c3a-11e7-8a66-1e5021fa7c80"
		p0  = "11111111-1111-4111-8111-111111111111"
		p1  = "22222222-2222-4222-8222-222222222222"
	)
	tests := []struct {
		name     string
		attached string // the sub account's policies as GET shows them
		code     string // "" for success
		sent     []string
	}{
		// p0 fails as attached, p1 was not processed (atomic): only p1
		// goes again.
		{name: "already attached, rest resent", attached: `[{"policyId":"` + p0 + `"}]`,
			sent: []string{`{"policyIds":["` + p0 + `","` + p1 + `"]}`, `{"policyIds":["` + p1 + `"]}`}},
		{name: "real failure", attached: `[]`, code: "PolicyNotFound",
			sent: []string{`{"policyIds":["` + p0 + `","` + p1 + `"]}`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var sent []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				switch {
				case r.Method == http.MethodGet:
					_, _ = w.Write([]byte(`{"subAccountId":"` + sub + `","policies":` + tc.attached + `}`))
				case strings.HasSuffix(r.URL.Path, "/attach-policies"):
					buf := new(bytes.Buffer)
					_, _ = buf.ReadFrom(r.Body)
					mu.Lock()
					sent = append(sent, buf.String())
					first := len(sent) == 1
					mu.Unlock()
					if !first {
						w.WriteHeader(http.StatusNoContent)
						return
					}
					if tc.code != "" {
						w.WriteHeader(http.StatusNotFound)
						_, _ = w.Write([]byte(`{"failures":{"0":{"errorCode":"PolicyNotFound","message":"The specified policy could not be found."}}}`))
						return
					}
					w.WriteHeader(http.StatusConflict)
					_, _ = w.Write([]byte(`{"failures":{"0":{"errorCode":"Conflict","message":"Policy is already attached."}}}`))
				default:
					http.NotFound(w, r)
				}
			}))
			t.Cleanup(srv.Close)
			pr, err := New().Open(context.Background(), providers.OpenRequest{Config: providers.Values{
				"access_key": "ncp_iam_AAAAAAAAAAAAAAAAAAAA", "secret_key": "s", "sts_endpoint": srv.URL, "subaccount_endpoint": srv.URL, "max_retries": 2}})
			require.NoError(t, err)
			err = pr.(*provider).attachPolicies(context.Background(), sub, []string{p0, p1})
			if tc.code == "" {
				require.NoError(t, err)
			} else {
				ae, ok := asAPIError(err)
				require.True(t, ok, "%v", err)
				require.Equal(t, tc.code, ae.code)
			}
			require.Equal(t, tc.sent, sent)
		})
	}
}
