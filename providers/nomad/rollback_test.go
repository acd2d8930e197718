package nomad_test

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/nomad"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/nomad/nomadtest"
)

// loseCreateAnswers serves srv, but for the next n token creates (and
// then for a share rate of them) lets Nomad create the token and then
// drops the connection instead of answering: a failure after the token
// exists, before the response.
type loseCreateAnswers struct {
	srv  *nomadtest.Server
	n    atomic.Int32
	rate float64
}

func (l *loseCreateAnswers) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPut && r.URL.Path == "/v1/acl/token" && (l.n.Add(-1) >= 0 || rand.Float64() < l.rate) {
		l.srv.ServeHTTP(httptest.NewRecorder(), r)
		emulator.DropConnection(w)
		return
	}
	l.srv.ServeHTTP(w, r)
}

// newLossyEnv is an env whose Nomad loses the answers of the next lose
// token creates, with max_retries 2.
func newLossyEnv(t *testing.T, lose int32) *env {
	t.Helper()
	return newLossyEnvRate(t, lose, 0, map[string]any{"max_retries": 2})
}

// newLossyEnvRate is an env whose Nomad loses the answers of the next lose
// token creates and then of a share rate of them, configured with config,
// with a role "r".
func newLossyEnvRate(t *testing.T, lose int32, rate float64, config map[string]any) *env {
	t.Helper()
	srv := nomadtest.New(nomadtest.Options{})
	lossy := &loseCreateAnswers{srv: srv, rate: rate}
	lossy.n.Store(lose)
	hs := httptest.NewServer(lossy)
	t.Cleanup(hs.Close)
	e := &env{Backend: newBackend(t), ts: &nomadtest.TestServer{Server: srv, URL: hs.URL, HTTP: hs}}
	seedACL(t, e.ts.URL, srv.RootToken(), nil)
	e.configure(config)
	e.OK(logical.UpdateOperation, "roles/nomad/r", map[string]any{"policies": "readonly"})
	return e
}

// Issue 13: a create whose answer is lost after the token exists is not
// repeated blindly: the retry finds the token by its name, reads its
// secret by accessor and issues it. The lease asks revoke to sweep the
// name, in case a lost attempt lands late.
func TestLostCreateAnswerIsAdopted(t *testing.T) {
	e := newLossyEnv(t, 1)
	before := e.ts.State()

	resp := e.issue("r")
	require.Equal(t, 1, e.ts.Core().Count("TokenCreate"), "one token made, none repeated")
	require.Equal(t, 1, e.ts.Core().Count("TokenList"), "found by name")
	require.Equal(t, 1, e.ts.Core().Count("TokenRead"), "secret read by accessor")
	require.Equal(t, before["tokens"]+1, e.ts.State()["tokens"])
	accessor := resp.Data["accessor_id"].(string)
	tok, ok := e.ts.TokenByName(resp.Data["name"].(string))
	require.True(t, ok)
	require.Equal(t, accessor, tok.AccessorID)
	self, _, err := e.client(resp.Data["secret_id"].(string)).ACLTokens().Self(nil)
	require.NoError(t, err)
	require.Equal(t, accessor, self.AccessorID)
	require.Contains(t, resp.Secret.InternalData["data"], `"sweep_name":true`)
	require.Zero(t, e.WALCount())

	_, err = e.Revoke(resp.Secret)
	require.NoError(t, err)
	require.Equal(t, before, e.ts.State())
	require.Equal(t, 2, e.ts.Core().Count("TokenList"), "revoke swept the name")
}

// Done means 5: when the create's answer is lost and the look-ups fail too,
// the create fails and is rolled back by name at once.
func TestInterruptedCreateRolledBackAtOnce(t *testing.T) {
	e := newLossyEnv(t, 1)
	before := e.ts.State()
	e.ts.Core().SetFaults(faults(map[string]int{"TokenList": 3})) // every try of the create's look-up

	_, err := e.Do(logical.ReadOperation, "creds/nomad/r", nil)
	require.Error(t, err)
	require.Contains(t, err.Error(), "CreateToken")
	require.Equal(t, 1, e.ts.Core().Count("TokenCreate"), "never created again while it may exist")
	require.Equal(t, 4, e.ts.Core().Count("TokenList"), "rollback found it by name")
	require.Equal(t, 1, e.ts.Core().Count("TokenDelete"), "and deleted it")
	require.Equal(t, before, e.ts.State(), "no token left")
	require.Zero(t, e.WALCount())

	// The next issue works.
	resp := e.issue("r")
	_, ok := e.ts.Token(resp.Data["accessor_id"].(string))
	require.True(t, ok)
}

// Done means 5: when the immediate rollback fails too, the WAL entry stays
// and Vault's rollback manager removes the token by name later.
func TestInterruptedCreateRolledBackByRollbackManager(t *testing.T) {
	e := newLossyEnv(t, 1)
	before := e.ts.State()
	e.ts.Core().SetFaults(faults(map[string]int{"TokenList": 3 + 3}))

	_, err := e.Do(logical.ReadOperation, "creds/nomad/r", nil)
	require.Error(t, err)
	require.Equal(t, before["tokens"]+1, e.ts.State()["tokens"], "the orphan exists until rollback")
	require.Equal(t, 1, e.WALCount(), "the WAL entry names it")

	require.NoError(t, e.Rollback())
	require.Equal(t, before, e.ts.State())
	require.Zero(t, e.WALCount())
}

// Done means 5: a crash after the token exists (the plugin never sees the
// answer) is undone by Rollback from the intent alone, idempotently.
func TestRollbackAfterCrash(t *testing.T) {
	ts := nomadtest.Start(t, nomadtest.Options{})
	seedACL(t, ts.URL, ts.RootToken(), nil)
	ctx := context.Background()
	p, err := nomad.New(nomad.WithGetenv(noEnv)).Open(ctx, providers.OpenRequest{
		Instance: "nomad",
		Config:   providers.Values{"address": ts.URL, "token": ts.RootToken(), "max_token_name_length": 256, "token_name_template": "", "max_retries": 2},
		Logger:   hclog.NewNullLogger(),
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	before := ts.State()

	req := &providers.CreateRequest{
		Instance: "nomad", Role: "r", CredentialType: nomad.CredentialToken,
		RoleValues:  providers.Values{"type": "client", "policies": []string{"readonly"}},
		TTL:         time.Hour,
		MaxTTL:      time.Hour,
		DisplayName: "token",
		ID:          "abcdefghijklm",
		Now:         time.Now(),
	}
	in, err := p.Prepare(ctx, req)
	require.NoError(t, err)
	require.JSONEq(t, `{"token_name":"vault-r-token-abcdefghijklm","region":"global"}`, string(in.Data))
	require.Equal(t, []providers.ObjectRef{{Kind: "token", Name: "vault-r-token-abcdefghijklm"}}, in.Objects)
	req.Intent = in.Data
	_, err = p.Create(ctx, req) // the "crash": the answer is thrown away
	require.NoError(t, err)
	_, ok := ts.TokenByName("vault-r-token-abcdefghijklm")
	require.True(t, ok)

	require.NoError(t, p.Rollback(ctx, &providers.RollbackRequest{Intent: in.Data}))
	require.Equal(t, before, ts.State())
	_, ok = ts.TokenByName("vault-r-token-abcdefghijklm")
	require.False(t, ok)

	// Again: nothing to find is success, with one list call and no delete.
	deletes := ts.Core().Count("TokenDelete")
	require.NoError(t, p.Rollback(ctx, &providers.RollbackRequest{Intent: in.Data}))
	require.Equal(t, deletes, ts.Core().Count("TokenDelete"))
	// A Nomad failure while listing is retried; when every attempt fails
	// it is an error, so the WAL entry stays.
	ts.Core().SetFaults(faults(map[string]int{"TokenList": 1}))
	require.NoError(t, p.Rollback(ctx, &providers.RollbackRequest{Intent: in.Data}))
	ts.Core().SetFaults(faults(map[string]int{"TokenList": 3}))
	require.Error(t, p.Rollback(ctx, &providers.RollbackRequest{Intent: in.Data}))
}

// Lease data without an accessor can never be revoked: ErrUnrecoverable,
// so Vault marks the lease irrevocable at once instead of retrying.
func TestRevokeUnreadableLeaseData(t *testing.T) {
	ts := nomadtest.Start(t, nomadtest.Options{})
	p, err := nomad.New(nomad.WithGetenv(noEnv)).Open(context.Background(), providers.OpenRequest{
		Instance: "nomad",
		Config:   providers.Values{"address": ts.URL, "token": ts.RootToken(), "max_token_name_length": 256},
	})
	require.NoError(t, err)
	for _, raw := range []string{`{}`, `not json`, `{"token_name":"x"}`} {
		_, err := p.Revoke(context.Background(), &providers.RevokeRequest{CredentialType: nomad.CredentialToken, Internal: []byte(raw)})
		require.ErrorIs(t, err, providers.ErrUnrecoverable, raw)
	}
	require.Zero(t, ts.Core().Count("TokenDelete"))
}
