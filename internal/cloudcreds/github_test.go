package cloudcreds

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGitHubTokenURL(t *testing.T) {
	for _, tc := range []struct{ in, aud, want string }{
		{"https://x.actions.githubusercontent.com/abc/idtoken?api-version=2.0", "https://vault.example.com",
			"https://x.actions.githubusercontent.com/abc/idtoken?api-version=2.0&audience=https%3A%2F%2Fvault.example.com"},
		{"https://x/idtoken", "a b&c", "https://x/idtoken?audience=a%20b%26c"},
		{"https://x/idtoken?", "v", "https://x/idtoken?audience=v"},
		{"https://x/idtoken?api-version=2.0", "", "https://x/idtoken?api-version=2.0"},
	} {
		got, err := githubTokenURL(tc.in, tc.aud)
		require.NoError(t, err)
		require.Equal(t, tc.want, got)
	}
	_, err := githubTokenURL("file:///etc/passwd", "a")
	require.Error(t, err)
}

// oidcStandIn answers like GitHub's endpoint: the request token as a
// bearer token, the audience as a query parameter, {"value": jwt}.
func oidcStandIn(t *testing.T, reqToken string, fails int, status int, body string) (*httptest.Server, *atomic.Int32, *atomic.Value) {
	t.Helper()
	var calls atomic.Int32
	var aud atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if r.Header.Get("Authorization") != "Bearer "+reqToken {
			http.Error(w, `{"message":"bad token"}`, http.StatusUnauthorized)
			return
		}
		aud.Store(r.URL.Query().Get("audience"))
		if int(n) <= fails {
			http.Error(w, "try later", status)
			return
		}
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv, &calls, &aud
}

func testApp(env map[string]string) (*app, *bytes.Buffer) {
	var errBuf bytes.Buffer
	a := &app{
		stdout: &bytes.Buffer{}, stderr: &errBuf, http: http.DefaultClient,
		getenv: func(k string) string { return env[k] },
	}
	a.log = newLogger(&errBuf, false)
	return a, &errBuf
}

func TestGitHubIDToken(t *testing.T) {
	const reqToken = "runtime-request-token-123"
	for _, tc := range []struct {
		name     string
		fails    int
		status   int
		body     string
		token    string
		wantCode int
		calls    int32
	}{
		{name: "ok", body: `{"value":"eyJ.jwt.sig","count":1}`, calls: 1},
		{name: "5xx retried", fails: 2, status: http.StatusBadGateway, body: `{"value":"eyJ.jwt.sig"}`, calls: 3},
		{name: "5xx three times", fails: 3, status: http.StatusServiceUnavailable, body: `{"value":"x"}`, wantCode: ExitUnavailable, calls: 3},
		{name: "403 not retried", fails: 9, status: http.StatusForbidden, wantCode: ExitDenied, calls: 1},
		{name: "no value", body: `{"count":1}`, wantCode: ExitDenied, calls: 1},
		{name: "wrong request token", token: "other-token-xyz", wantCode: ExitDenied, calls: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, calls, aud := oidcStandIn(t, reqToken, tc.fails, tc.status, tc.body)
			tok := tc.token
			if tok == "" {
				tok = reqToken
			}
			a, errBuf := testApp(map[string]string{
				envGitHubRequestURL:   srv.URL + "/idtoken?api-version=2.0",
				envGitHubRequestToken: tok,
			})
			got, err := a.githubIDToken(context.Background(), "https://vault.example")
			require.Equal(t, tc.calls, calls.Load())
			if tc.wantCode != 0 {
				require.Equal(t, tc.wantCode, CodeOf(err), "%v", err)
				require.NotContains(t, err.Error(), tok)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "eyJ.jwt.sig", got)
			require.Equal(t, "https://vault.example", aud.Load())
			require.NotContains(t, errBuf.String(), reqToken)
		})
	}

	t.Run("request token missing", func(t *testing.T) {
		a, _ := testApp(map[string]string{envGitHubRequestURL: "https://127.0.0.1:1/x"})
		_, err := a.githubIDToken(context.Background(), "")
		require.Equal(t, ExitDenied, CodeOf(err))
		require.ErrorContains(t, err, "id-token: write")
	})
	t.Run("unreachable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		a, _ := testApp(map[string]string{envGitHubRequestURL: url + "/x?api-version=2.0", envGitHubRequestToken: reqToken})
		_, err := a.githubIDToken(context.Background(), "aud")
		require.Equal(t, ExitUnavailable, CodeOf(err))
	})
}

func TestLoggerRedacts(t *testing.T) {
	var b bytes.Buffer
	l := newLogger(&b, false)
	l.redact("hvs.secret-token-value", "short")
	l.warnf("token %s and %s\nnext", "hvs.secret-token-value", "short")
	require.Equal(t, "cloudcreds: warning: token <redacted> and short next\n", b.String())
	b.Reset()
	l.quiet = true
	l.infof("hidden")
	l.errorf("shown")
	require.Equal(t, "cloudcreds: error: shown\n", b.String())
}
