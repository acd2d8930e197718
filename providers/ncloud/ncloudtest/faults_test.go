package ncloudtest

import (
	"bytes"
	"crypto"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	ncphmac "github.com/NaverCloudPlatform/ncloud-sdk-go-v2/hmac"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
)

func adminDo(t *testing.T, ts *TestServer, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, ts.URL+emulator.AdminPrefix+path, rd)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, out
}

func TestFaultKinds(t *testing.T) {
	tests := []struct {
		name   string
		faults emulator.Faults
		status int
		code   string
	}{
		{name: "fail action", faults: emulator.Faults{FailActions: map[string]int{"CreateCredentials": 1}}, status: 500, code: "900"},
		{name: "random 5xx", faults: emulator.Faults{ErrorRate: 1}, status: 500, code: "900"},
		{name: "throttle", faults: emulator.Faults{ThrottleRate: 1}, status: 429, code: "420"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := Start(t, Options{})
			ts.Core().SetFaults(tc.faults)
			r := rootClient(t, ts).do(http.MethodPost, "/api/v1/credentials", nil)
			require.Equal(t, tc.status, r.status)
			require.Equal(t, tc.code, r.gwError(t).ErrorCode)
			require.Equal(t, 0, ts.State()["sts_keys"], "a failed call creates nothing")
			require.Equal(t, 1, ts.Core().Count("CreateCredentials"))
		})
	}
}

func TestFailActionCountsDown(t *testing.T) {
	ts := Start(t, Options{})
	ts.Core().SetFaults(emulator.Faults{FailActions: map[string]int{"CreateSubAccount": 2}})
	root := rootClient(t, ts)
	for i := 0; i < 2; i++ {
		r := root.do(http.MethodPost, "/api/v2/sub-accounts", v2CreateBody("retry-me"))
		require.Equal(t, http.StatusInternalServerError, r.status)
	}
	createSubV2(t, root, "retry-me")
	require.Equal(t, 3, ts.Core().Count("CreateSubAccount"))
}

func TestRateLimit(t *testing.T) {
	ts := Start(t, Options{})
	ts.Core().SetFaults(emulator.Faults{RateLimitRPS: 1})
	root := rootClient(t, ts)
	require.Equal(t, http.StatusOK, root.do(http.MethodGet, "/api/v2/policies", nil).status)
	r := root.do(http.MethodGet, "/api/v2/policies", nil)
	require.Equal(t, http.StatusTooManyRequests, r.status)
	require.Equal(t, "Rate Limited", r.gwError(t).Message)
}

func TestDropConnection(t *testing.T) {
	ts := Start(t, Options{})
	ts.Core().SetFaults(emulator.Faults{DropRate: 1})
	ak, sk := ts.RootCredentials()
	req, err := http.NewRequest(http.MethodPost, ts.URL+"/api/v1/credentials", nil)
	require.NoError(t, err)
	stamp := strconv.FormatInt(time.Now().UnixMilli(), 10)
	sig, err := ncphmac.NewSigner(sk, crypto.SHA256).Sign(http.MethodPost, req.URL.String(), ak, stamp)
	require.NoError(t, err)
	req.Header.Set(headerTimestamp, stamp)
	req.Header.Set(headerAccessKey, ak)
	req.Header.Set(headerSignatureV2, sig)
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	require.Error(t, err, "the connection is closed without an answer")
	require.Equal(t, 0, ts.State()["sts_keys"])
	require.Equal(t, 1, ts.Core().Count("CreateCredentials"))
}

func TestAdminEndpoints(t *testing.T) {
	ts := Start(t, Options{})
	root := rootClient(t, ts)

	status, body := adminDo(t, ts, http.MethodGet, "/state", nil)
	require.Equal(t, http.StatusOK, status)
	require.JSONEq(t, `{"sub_accounts":1,"access_keys":1,"sts_keys":0,"policies":7}`, string(body))

	id := createSubV2(t, root, "admin-test")
	newKey(t, ts, root, id)
	require.Equal(t, http.StatusOK, root.do(http.MethodPost, "/api/v1/credentials", nil).status)
	require.Equal(t, http.StatusOK, root.do(http.MethodGet, "/api/v1/sub-accounts", nil).status)
	require.Equal(t, http.StatusOK, root.do(http.MethodGet, "/api/v2/sub-accounts", nil).status)

	status, body = adminDo(t, ts, http.MethodGet, "/state", nil)
	require.Equal(t, http.StatusOK, status)
	require.JSONEq(t, `{"sub_accounts":2,"access_keys":2,"sts_keys":1,"policies":7}`, string(body))

	status, body = adminDo(t, ts, http.MethodGet, "/calls", nil)
	require.Equal(t, http.StatusOK, status)
	var calls emulator.CallReport
	require.NoError(t, json.Unmarshal(body, &calls))
	require.Equal(t, map[string]int{"CreateSubAccount": 1, "CreateAccessKey": 1, "CreateCredentials": 1, "ListSubAccounts": 2}, calls.Counts)
	require.Equal(t, 5, calls.Total)

	status, _ = adminDo(t, ts, http.MethodPost, "/faults", map[string]any{"throttle_rate": 1})
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, http.StatusTooManyRequests, root.do(http.MethodGet, "/api/v2/policies", nil).status)
	status, _ = adminDo(t, ts, http.MethodPost, "/faults", map[string]any{"throttle_rate": 2})
	require.Equal(t, http.StatusBadRequest, status)

	// Reset: fixtures back, faults and counters cleared, the root key works.
	status, body = adminDo(t, ts, http.MethodPost, "/reset", nil)
	require.Equal(t, http.StatusOK, status)
	require.JSONEq(t, `{"sub_accounts":1,"access_keys":1,"sts_keys":0,"policies":7}`, string(body))
	_, ok := ts.SubAccount("admin-test")
	require.False(t, ok)
	require.Equal(t, http.StatusOK, root.do(http.MethodGet, "/api/v2/policies", nil).status)
	require.Equal(t, 1, ts.Core().Calls().Total)

	// The admin endpoints need no signature and are not counted as calls.
	status, _ = adminDo(t, ts, http.MethodGet, "/nope", nil)
	require.Equal(t, http.StatusNotFound, status)
}

func TestNewPanicsOnBadOptions(t *testing.T) {
	require.Panics(t, func() { New(Options{RootSubAccount: "1bad"}) })
	require.Panics(t, func() { New(Options{AccessKey: "only-half"}) })
	s := New(Options{})
	ak, sk := s.RootCredentials()
	require.Regexp(t, `^ncp_iam_[A-Za-z0-9]{20}$`, ak)
	require.NotEmpty(t, sk)
}
