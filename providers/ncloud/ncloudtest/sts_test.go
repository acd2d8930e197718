package ncloudtest

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSTSCreateCredentials(t *testing.T) {
	ts := Start(t, Options{})
	root := rootClient(t, ts)
	tests := []struct {
		name   string
		body   any
		status int
		dur    time.Duration
	}{
		{name: "no body: default 3600", body: nil, status: 200, dur: time.Hour},
		{name: "empty object: default", body: map[string]any{}, status: 200, dur: time.Hour},
		{name: "minimum 600", body: map[string]any{"durationSec": 600}, status: 200, dur: 600 * time.Second},
		{name: "maximum 43200", body: map[string]any{"durationSec": 43200}, status: 200, dur: 12 * time.Hour},
		{name: "string as in the docs example", body: `{"durationSec": "43200"}`, status: 200, dur: 12 * time.Hour},
		{name: "below minimum", body: map[string]any{"durationSec": 599}, status: 400},
		{name: "above maximum", body: map[string]any{"durationSec": 43201}, status: 400},
		{name: "not a number", body: map[string]any{"durationSec": "soon"}, status: 400},
		{name: "fraction", body: `{"durationSec": 900.5}`, status: 400},
		{name: "malformed JSON", body: `{"durationSec":`, status: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := ts.State()["sts_keys"]
			r := root.do(http.MethodPost, "/api/v1/credentials", tc.body)
			require.Equal(t, tc.status, r.status, string(r.body))
			if tc.status != 200 {
				e := r.gwError(t)
				require.Equal(t, "100", e.ErrorCode)
				require.NotEmpty(t, e.Details)
				if tc.name != "malformed JSON" {
					require.Contains(t, e.Details, "between 600 and 43200")
				}
				require.Equal(t, before, ts.State()["sts_keys"])
				return
			}
			m := r.json(t)
			require.Regexp(t, `^ncp_iam_[A-Za-z0-9]{20}$`, m["accessKey"])
			require.NotEmpty(t, m["keySecret"])
			require.Equal(t, false, m["useMfa"])
			created, err := time.Parse(time.RFC3339, m["createTime"].(string))
			require.NoError(t, err)
			expires, err := time.Parse(time.RFC3339, m["expireTime"].(string))
			require.NoError(t, err)
			require.Equal(t, tc.dur, expires.Sub(created))
			require.WithinDuration(t, time.Now(), created, 5*time.Second)

			k, ok := ts.STSKey(m["accessKey"].(string))
			require.True(t, ok)
			require.True(t, k.ExpireTime.Equal(expires))
			root, _ := ts.SubAccount("vault-root")
			require.Equal(t, root.ID, k.SubAccountID)
			require.Equal(t, before+1, ts.State()["sts_keys"])
		})
	}
}

func TestSTSKeyUseAndExpiry(t *testing.T) {
	ts := Start(t, Options{})
	root := rootClient(t, ts)
	r := root.do(http.MethodPost, "/api/v1/credentials", map[string]any{"durationSec": 900})
	require.Equal(t, http.StatusOK, r.status)
	m := r.json(t)
	stsClient := newClient(t, ts, m["accessKey"].(string), m["keySecret"].(string))

	// An STS key signs like any key (the docs name no session-token header)
	// and acts as its sub account, here the administrator root.
	r = stsClient.do(http.MethodPost, "/api/v1/credentials", nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	r = stsClient.do(http.MethodGet, "/api/v2/sub-accounts", nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))

	// STS keys cannot be deleted early: they are not sub-account access keys.
	rootSA, _ := ts.SubAccount("vault-root")
	r = root.do(http.MethodDelete, "/api/v2/sub-accounts/"+rootSA.ID+"/access-keys/"+m["accessKey"].(string), nil)
	require.Equal(t, http.StatusNotFound, r.status)
	r = root.do(http.MethodDelete, "/api/v1/sub-accounts/"+rootSA.ID+"/access-keys", map[string]string{"accessKey": m["accessKey"].(string)})
	require.Equal(t, http.StatusBadRequest, r.status)
	require.EqualValues(t, 904, r.json(t)["error"].(map[string]any)["errorCode"])

	// Past expireTime the key is refused; the server clock and the client's
	// timestamp move together. STS answers 404 (documented: an invalid or
	// expired credential); the Sub Account API the gateway's 401.
	later := time.Now().Add(901 * time.Second)
	ts.SetClock(func() time.Time { return later })
	stsClient.clock = func() time.Time { return later }
	r = stsClient.do(http.MethodPost, "/api/v1/credentials", nil)
	require.Equal(t, http.StatusNotFound, r.status)
	e := r.gwError(t)
	require.NotEqual(t, "300", e.ErrorCode, "not the gateway's 'no such API'")
	require.Contains(t, e.Details, "expired")
	r = stsClient.do(http.MethodGet, "/api/v1/caller-identity", nil)
	require.Equal(t, http.StatusNotFound, r.status)
	r = stsClient.do(http.MethodGet, "/api/v2/policies", nil)
	require.Equal(t, http.StatusUnauthorized, r.status)
	e = r.gwError(t)
	require.Equal(t, "200", e.ErrorCode)
	require.Contains(t, e.Details, "expired")
	require.Equal(t, 1, ts.State()["sts_keys"], "the 3600 s key issued with the STS key is still live")
}

func TestSTSConcurrent(t *testing.T) {
	ts := Start(t, Options{})
	root := rootClient(t, ts)
	var wg sync.WaitGroup
	statuses := make(chan int, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := root.tryDo(http.MethodPost, "/api/v1/credentials", map[string]any{"durationSec": 600})
			if err != nil {
				statuses <- -1
				return
			}
			statuses <- r.status
		}()
	}
	wg.Wait()
	close(statuses)
	for st := range statuses {
		require.Equal(t, http.StatusOK, st)
	}
	require.Equal(t, 20, ts.State()["sts_keys"])
	require.Equal(t, 20, ts.Core().Count("CreateCredentials"))
}
