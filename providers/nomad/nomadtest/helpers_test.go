package nomadtest

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
	"github.com/stretchr/testify/require"
)

// newClient returns a real Nomad API client for ts authenticated by secret.
func newClient(t *testing.T, ts *TestServer, secret string) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: ts.URL, SecretID: secret})
	require.NoError(t, err)
	return c
}

// requireAPIError asserts err is the api client's UnexpectedResponseError
// with this status and body (the client trims surrounding whitespace, so
// the multierror's trailing blank lines are checked in wire_test.go).
func requireAPIError(t *testing.T, err error, status int, body string) {
	t.Helper()
	require.Error(t, err)
	var ure api.UnexpectedResponseError
	require.True(t, errors.As(err, &ure), "want UnexpectedResponseError, got %T: %v", err, err)
	require.Equal(t, status, ure.StatusCode(), "body: %s", ure.Body())
	require.Equal(t, strings.TrimSpace(body), ure.Body())
}

// rawDo sends one request with an optional X-Nomad-Token and returns the
// response with its body read.
func rawDo(t *testing.T, method, url, secret, body string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(t, err)
	if secret != "" {
		req.Header.Set("X-Nomad-Token", secret)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

// fakeClock is a settable clock for SetClock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// setupClientToken creates policy "readonly", role "ops" and a client
// token linked to both; it returns the created token.
func setupClientToken(t *testing.T, root *api.Client, name string) *api.ACLToken {
	t.Helper()
	_, err := root.ACLPolicies().Upsert(&api.ACLPolicy{Name: "readonly", Rules: `namespace "default" { policy = "read" }`}, nil)
	require.NoError(t, err)
	if _, _, err := root.ACLRoles().GetByName("ops", nil); err != nil {
		_, _, err = root.ACLRoles().Create(&api.ACLRole{Name: "ops", Policies: []*api.ACLRolePolicyLink{{Name: "readonly"}}}, nil)
		require.NoError(t, err)
	}
	tok, _, err := root.ACLTokens().Create(&api.ACLToken{
		Name: name, Type: "client", Policies: []string{"readonly"},
		Roles: []*api.ACLTokenRoleLink{{Name: "ops"}},
	}, nil)
	require.NoError(t, err)
	return tok
}

func boolPtr(b bool) *bool { return &b }
