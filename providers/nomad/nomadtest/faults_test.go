package nomadtest

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
	"github.com/stretchr/testify/require"
)

func TestFaults(t *testing.T) {
	createToken := func(c *api.Client) error {
		_, _, err := c.ACLTokens().Create(&api.ACLToken{Type: "client", Policies: []string{"p"}}, nil)
		return err
	}
	tests := []struct {
		name   string
		faults emulator.Faults
		status int
		body   string
		logged string
	}{
		{"throttle", emulator.Faults{ThrottleRate: 1}, 429, throttledBody, "throttle"},
		{"server error", emulator.Faults{ErrorRate: 1}, 500, "No cluster leader", "error"},
		{"fail one action", emulator.Faults{FailActions: map[string]int{"TokenCreate": 1}}, 500, "No cluster leader", "error"},
		{"drop", emulator.Faults{DropRate: 1}, 0, "", "drop"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := Start(t, Options{})
			root := newClient(t, ts, ts.RootToken())
			ts.Core().SetFaults(tc.faults)
			before := ts.State()

			err := createToken(root)
			if tc.status == 0 {
				require.Error(t, err)
				var ure api.UnexpectedResponseError
				require.False(t, errors.As(err, &ure) && ure.HasStatusCode(), "a dropped connection has no status: %v", err)
			} else {
				requireAPIError(t, err, tc.status, tc.body)
			}
			require.Equal(t, before, ts.State(), "a faulted request changes nothing")
			require.Equal(t, 1, ts.Core().Count("TokenCreate"))
			calls := ts.Core().Calls()
			require.Len(t, calls.Log, 1)
			require.Equal(t, tc.logged, calls.Log[0].Fault)

			if tc.faults.FailActions == nil {
				ts.Core().SetFaults(emulator.Faults{})
			}
			// FailActions failed only the next call; other faults are cleared.
			require.NoError(t, createToken(root))
		})
	}
	t.Run("fail actions target only the named action", func(t *testing.T) {
		ts := Start(t, Options{})
		root := newClient(t, ts, ts.RootToken())
		ts.Core().SetFaults(emulator.Faults{FailActions: map[string]int{"TokenDelete": 2}})
		tok, _, err := root.ACLTokens().Create(&api.ACLToken{Type: "client", Policies: []string{"p"}}, nil)
		require.NoError(t, err)
		for range 2 {
			_, err = root.ACLTokens().Delete(tok.AccessorID, nil)
			requireAPIError(t, err, 500, "No cluster leader")
		}
		_, err = root.ACLTokens().Delete(tok.AccessorID, nil)
		require.NoError(t, err)
	})
}

// Throttling is answered as Nomad's connection limiter answers it: 429,
// text/plain, its sentence, and the connection closed.
func TestThrottleAnswerOnTheWire(t *testing.T) {
	ts := Start(t, Options{})
	ts.Core().SetFaults(emulator.Faults{ThrottleRate: 1})
	resp, body := rawDo(t, http.MethodGet, ts.URL+"/v1/acl/tokens", ts.RootToken(), "")
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	require.Equal(t, "text/plain", resp.Header.Get("Content-Type"))
	require.True(t, resp.Close, "Connection: close")
	require.Equal(t, "Your IP is issuing too many concurrent connections, please rate limit your calls\n", body)
}

func TestActionNames(t *testing.T) {
	ts := Start(t, Options{Bootstrapped: boolPtr(false)})
	c := newClient(t, ts, "")
	boot, _, err := c.ACLTokens().Bootstrap(nil)
	require.NoError(t, err)
	root := newClient(t, ts, boot.SecretID)
	_, err = root.ACLPolicies().Upsert(&api.ACLPolicy{Name: "p"}, nil)
	require.NoError(t, err)
	_, _, _ = root.ACLPolicies().Info("p", nil)
	_, _, _ = root.ACLPolicies().List(nil)
	role, _, err := root.ACLRoles().Create(&api.ACLRole{Name: "r", Policies: []*api.ACLRolePolicyLink{{Name: "p"}}}, nil)
	require.NoError(t, err)
	_, _, _ = root.ACLRoles().Update(role, nil)
	_, _, _ = root.ACLRoles().Get(role.ID, nil)
	_, _, _ = root.ACLRoles().GetByName("r", nil)
	_, _, _ = root.ACLRoles().List(nil)
	tok, _, err := root.ACLTokens().Create(&api.ACLToken{Type: "client", Policies: []string{"p"}}, nil)
	require.NoError(t, err)
	_, _, _ = root.ACLTokens().Update(tok, nil)
	_, _, _ = root.ACLTokens().Info(tok.AccessorID, nil)
	_, _, _ = root.ACLTokens().Self(nil)
	_, _, _ = root.ACLTokens().List(nil)
	_, _ = root.ACLTokens().Delete(tok.AccessorID, nil)
	_, _ = root.ACLRoles().Delete(role.ID, nil)
	_, _ = root.ACLPolicies().Delete("p", nil)

	want := map[string]int{
		"Bootstrap": 1, "PolicyUpsert": 1, "PolicyRead": 1, "PolicyList": 1, "PolicyDelete": 1,
		"RoleCreate": 1, "RoleUpdate": 1, "RoleRead": 1, "RoleReadByName": 1, "RoleList": 1, "RoleDelete": 1,
		"TokenCreate": 1, "TokenUpdate": 1, "TokenRead": 1, "TokenSelf": 1, "TokenList": 1, "TokenDelete": 1,
	}
	calls := ts.Core().Calls()
	require.Equal(t, want, calls.Counts)
	require.Equal(t, len(want), calls.Total)
}

func TestAdminEndpoints(t *testing.T) {
	ts := Start(t, Options{})
	root := newClient(t, ts, ts.RootToken())
	admin := ts.URL + emulator.AdminPrefix
	getJSON := func(path string, out any) {
		t.Helper()
		resp, body := rawDo(t, http.MethodGet, admin+path, "", "")
		require.Equal(t, 200, resp.StatusCode, body)
		require.NoError(t, json.Unmarshal([]byte(body), out))
	}

	var state map[string]int
	getJSON("/state", &state)
	require.Equal(t, map[string]int{"tokens": 1, "policies": 0, "roles": 0}, state)

	_, err := root.ACLPolicies().Upsert(&api.ACLPolicy{Name: "p"}, nil)
	require.NoError(t, err)
	_, _, err = root.ACLRoles().Create(&api.ACLRole{Name: "r", Policies: []*api.ACLRolePolicyLink{{Name: "p"}}}, nil)
	require.NoError(t, err)
	_, _, err = root.ACLTokens().Create(&api.ACLToken{Type: "client", Policies: []string{"p"}}, nil)
	require.NoError(t, err)
	getJSON("/state", &state)
	require.Equal(t, map[string]int{"tokens": 2, "policies": 1, "roles": 1}, state)

	var calls emulator.CallReport
	getJSON("/calls", &calls)
	require.Equal(t, map[string]int{"PolicyUpsert": 1, "RoleCreate": 1, "TokenCreate": 1}, calls.Counts)

	resp, body := rawDo(t, http.MethodPost, admin+"/faults", "", `{"throttle_rate":1}`)
	require.Equal(t, 200, resp.StatusCode, body)
	_, _, err = root.ACLTokens().List(nil)
	requireAPIError(t, err, 429, throttledBody)
	resp, body = rawDo(t, http.MethodPost, admin+"/faults", "", `{"throttle_rate":2}`)
	require.Equal(t, 400, resp.StatusCode, body)

	resp, body = rawDo(t, http.MethodPost, admin+"/reset", "", "")
	require.Equal(t, 200, resp.StatusCode, body)
	require.NoError(t, json.Unmarshal([]byte(body), &state))
	require.Equal(t, map[string]int{"tokens": 1, "policies": 0, "roles": 0}, state)
	getJSON("/calls", &calls)
	require.Zero(t, calls.Total)

	// The fixture's root secret survives a reset, and faults are cleared.
	list, _, err := root.ACLTokens().List(nil)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, "Bootstrap Token", list[0].Name)
}

func TestNoSecretInErrors(t *testing.T) {
	ts := Start(t, Options{})
	root := newClient(t, ts, ts.RootToken())
	tok, _, err := root.ACLTokens().Create(&api.ACLToken{Type: "client", Policies: []string{"p"}}, nil)
	require.NoError(t, err)
	secrets := []string{ts.RootToken(), tok.SecretID}
	var bodies []string
	for _, path := range []string{"/v1/acl/tokens", "/v1/acl/token/" + newUUID()} {
		_, body := rawDo(t, http.MethodGet, ts.URL+path, tok.SecretID, "")
		bodies = append(bodies, body)
	}
	_, body := rawDo(t, http.MethodPut, ts.URL+"/v1/acl/token/"+tok.AccessorID, ts.RootToken(),
		`{"AccessorID":"`+tok.AccessorID+`","SecretID":"`+tok.SecretID+`","Type":"client","Global":true,"Policies":["p"]}`)
	bodies = append(bodies, body)
	_, body = rawDo(t, http.MethodGet, ts.URL+"/v1/acl/tokens", ts.RootToken(), "")
	bodies = append(bodies, body)
	_, body = rawDo(t, http.MethodGet, ts.URL+emulator.AdminPrefix+"/calls", "", "")
	bodies = append(bodies, body)
	for _, b := range bodies {
		for _, s := range secrets {
			require.False(t, strings.Contains(b, s), "secret leaked in %q", b)
		}
	}
}
