package emulator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFaultDecisions(t *testing.T) {
	cases := []struct {
		name   string
		faults Faults
		calls  int
		want   map[Fault]int
	}{
		{"none", Faults{}, 20, map[Fault]int{None: 20}},
		{"always throttle", Faults{ThrottleRate: 1}, 10, map[Fault]int{Throttle: 10}},
		{"always 5xx", Faults{ErrorRate: 1}, 10, map[Fault]int{ServerError: 10}},
		{"always drop", Faults{DropRate: 1}, 10, map[Fault]int{Drop: 10}},
		{"fail the next two of one action", Faults{FailActions: map[string]int{"A": 2}}, 5, map[Fault]int{ServerError: 2, None: 3}},
		{"rate limit: burst of 3 then throttled", Faults{RateLimitRPS: 3}, 6, map[Fault]int{None: 3, Throttle: 3}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := NewCore()
			c.SetFaults(tc.faults)
			got := map[Fault]int{}
			for range tc.calls {
				f, done := c.Enter("A")
				done()
				got[f]++
			}
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.calls, c.Count("A"))
		})
	}
}

func TestMaxOverlap(t *testing.T) {
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	r := CallReport{Log: []Call{
		{Action: "CreateUser", Start: at(0), End: at(10)},
		{Action: "Attach", Start: at(10), End: at(30)},
		{Action: "Attach", Start: at(12), End: at(25)},
		{Action: "CreateAccessKey", Start: at(15), End: at(20)},
		{Action: "Attach", Start: at(40), End: at(50)},
	}}
	require.Equal(t, 3, r.MaxOverlap())
	require.Equal(t, 2, r.MaxOverlap("Attach"))
	require.Equal(t, 1, r.MaxOverlap("CreateUser", "CreateAccessKey"), "back-to-back calls do not overlap")
	require.Equal(t, 0, r.MaxOverlap("Nothing"))
}

func TestFaultsValidate(t *testing.T) {
	cases := []struct {
		name    string
		faults  Faults
		wantErr string
	}{
		{"ok", Faults{ThrottleRate: 0.3, ErrorRate: 0.1, LatencyMS: 5}, ""},
		{"rate above 1", Faults{ErrorRate: 1.5}, "error_rate"},
		{"negative rate", Faults{DropRate: -0.1}, "drop_rate"},
		{"sum above 1", Faults{ThrottleRate: 0.6, ErrorRate: 0.6}, "must not exceed 1"},
		{"negative latency", Faults{LatencyMS: -1}, "latency_ms"},
		{"negative rps", Faults{RateLimitRPS: -1}, "rate_limit_rps"},
		{"negative fail count", Faults{FailActions: map[string]int{"X": -1}}, "fail_actions[X]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.faults.Validate()
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func TestAdminHandler(t *testing.T) {
	c := NewCore()
	resets := 0
	srv := httptest.NewServer(c.AdminHandler(func() map[string]int { return map[string]int{"users": 1} }, func() { resets++ }))
	defer srv.Close()

	_, done := c.Enter("CreateUser")
	done()

	post := func(path, body string) *http.Response {
		resp, err := http.Post(srv.URL+AdminPrefix+path, "application/json", bytes.NewBufferString(body))
		require.NoError(t, err)
		return resp
	}
	resp := post("/faults", `{"throttle_rate": 0.5, "fail_actions": {"DeleteUser": 1}}`)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp.Body.Close()
	require.Equal(t, 0.5, c.Faults().ThrottleRate)

	resp = post("/faults", `{"throttle_rate": 2}`)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	resp.Body.Close()
	resp = post("/faults", `{"nonsense": 1}`)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	resp.Body.Close()

	get, err := http.Get(srv.URL + AdminPrefix + "/calls")
	require.NoError(t, err)
	var calls CallReport
	require.NoError(t, json.NewDecoder(get.Body).Decode(&calls))
	get.Body.Close()
	require.Equal(t, 1, calls.Counts["CreateUser"])
	require.Equal(t, 1, calls.MaxInFlight)

	get, err = http.Get(srv.URL + AdminPrefix + "/state")
	require.NoError(t, err)
	var state map[string]int
	require.NoError(t, json.NewDecoder(get.Body).Decode(&state))
	get.Body.Close()
	require.Equal(t, map[string]int{"users": 1}, state)

	resp = post("/reset", "")
	resp.Body.Close()
	require.Equal(t, 1, resets)
	require.Equal(t, 0, c.Count("CreateUser"))
	require.Equal(t, Faults{FailActions: map[string]int{}}, c.Faults())
}
