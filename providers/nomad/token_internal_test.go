package nomad

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hashicorp/nomad/api"
	"github.com/stretchr/testify/require"
)

// answerErr returns the error the real nomad/api client gives for a
// DELETE answered with status and body.
func answerErr(t *testing.T, status int, body string) error {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	defer srv.Close()
	c, err := api.NewClient(&api.Config{Address: srv.URL})
	require.NoError(t, err)
	_, err = c.ACLTokens().Delete("0b5f2c9e-0000-0000-0000-000000000000", nil)
	require.Error(t, err)
	return err
}

// TestIsNonexistent: only Nomad's own "no such token" answers count as
// already gone; a 404 from something else in front of Nomad does not.
func TestIsNonexistent(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		plain  error
		want   bool
	}{
		{name: "delete of a nonexistent token", status: 400, body: "Cannot delete nonexistent tokens: abc", want: true},
		{name: "read of a missing token", status: 404, body: "ACL token not found", want: true},
		{name: "a proxy's 404", status: 404, body: "404 page not found", want: false},
		{name: "another 400", status: 400, body: "token 0 invalid", want: false},
		{name: "permission denied", status: 403, body: "Permission denied", want: false},
		{name: "server error", status: 500, body: "No cluster leader", want: false},
		{name: "plain error text", plain: errors.New("Unexpected response code: 400 (Cannot delete nonexistent tokens: abc)"), want: true},
		{name: "network error", plain: errors.New("dial tcp 127.0.0.1:1: connection refused"), want: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.plain
			if err == nil {
				err = answerErr(t, tc.status, tc.body)
			}
			require.Equal(t, tc.want, isNonexistent(err))
		})
	}
}
