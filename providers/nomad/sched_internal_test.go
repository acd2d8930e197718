package nomad

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/callsched"
)

func TestOutcome(t *testing.T) {
	cases := []struct {
		name   string
		status int
		err    error
		want   callsched.Outcome
	}{
		{"ok", 200, nil, callsched.Success},
		{"rate limited", 429, nil, callsched.Throttled},
		{"not found was served", 404, nil, callsched.Success},
		{"permission denied was served", 403, nil, callsched.Success},
		{"no leader", 500, nil, callsched.Failed},
		{"transport", 0, errors.New("reset"), callsched.Failed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var resp *http.Response
			if tc.err == nil {
				resp = &http.Response{StatusCode: tc.status}
			}
			require.Equal(t, tc.want, outcome(resp, tc.err))
		})
	}
}

// roundTripFunc answers each request with the next status.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestTransportResendsRateLimitedRequests(t *testing.T) {
	cases := []struct {
		name      string
		statuses  []int
		body      bool
		wantSends int
		wantLast  int
	}{
		{"served at once", []int{200}, true, 1, 200},
		{"429 then served, body sent again", []int{429, 429, 200}, true, 3, 200},
		{"429 without a body", []int{429, 201}, false, 2, 201},
		{"500 is not resent here", []int{500, 200}, true, 1, 500},
		{"429 up to the bound", []int{429, 429, 429, 429, 429, 429, 429, 429, 429, 429, 429}, true, maxPacedAttempts, 429},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var sends atomic.Int32
			next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				i := int(sends.Add(1)) - 1
				if tc.body {
					b, err := io.ReadAll(r.Body)
					require.NoError(t, err)
					require.Equal(t, `{"Name":"t"}`, string(b), "send %d carries the whole body", i)
				}
				return &http.Response{StatusCode: tc.statuses[i], Body: io.NopCloser(strings.NewReader("x"))}, nil
			})
			tr := scheduled(next)
			var req *http.Request
			var err error
			if tc.body {
				req, err = http.NewRequest(http.MethodPut, "http://nomad/v1/acl/token", strings.NewReader(`{"Name":"t"}`))
			} else {
				req, err = http.NewRequest(http.MethodGet, "http://nomad/v1/acl/token/self", nil)
			}
			require.NoError(t, err)
			resp, err := tr.RoundTrip(req)
			require.NoError(t, err)
			require.Equal(t, tc.wantLast, resp.StatusCode)
			require.EqualValues(t, tc.wantSends, sends.Load())
			st := tr.sched.Stats()
			require.Zero(t, st.InFlight, "every permit is released")
			require.Equal(t, tc.wantLast == 429 || tc.wantSends > 1, st.Limited)
		})
	}
}
