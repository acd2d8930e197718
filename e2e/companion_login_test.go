package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/require"
)

const (
	gitlabIssuer = "https://gitlab.test"
	githubIssuer = "https://token.actions.githubusercontent.com"
	vaultAud     = "https://vault.test"
)

// jwtIssuer signs JWTs with a key the test made, standing in for GitLab's
// id_tokens and GitHub's OIDC provider.
type jwtIssuer struct {
	key *ecdsa.PrivateKey
	pem string
}

func newJWTIssuer(t *testing.T) *jwtIssuer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	require.NoError(t, err)
	return &jwtIssuer{key: key, pem: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))}
}

// sign returns a compact ES256 JWT with the standard time claims plus
// claims.
func (j *jwtIssuer) sign(t *testing.T, claims map[string]any) string {
	t.Helper()
	now := time.Now()
	all := map[string]any{"iat": now.Unix(), "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(5 * time.Minute).Unix()}
	for k, v := range claims {
		all[k] = v
	}
	payload, err := json.Marshal(all)
	require.NoError(t, err)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: j.key}, (&jose.SignerOptions{}).WithType("JWT"))
	require.NoError(t, err)
	obj, err := signer.Sign(payload)
	require.NoError(t, err)
	tok, err := obj.CompactSerialize()
	require.NoError(t, err)
	return tok
}

// gitlabClaims are the claims of a GitLab id_token of project group/app on
// a protected branch (the claims are GitLab's; the values strings).
func gitlabClaims(project string) map[string]any {
	return map[string]any{"iss": gitlabIssuer, "aud": vaultAud, "sub": "project_path:" + project + ":ref_type:branch:ref:main",
		"project_path": project, "ref_protected": "true", "ref": "main"}
}

// enableJWT mounts Vault's jwt auth method at path, trusting the issuer's
// key, and writes a role bound to claims.
func enableJWT(t *testing.T, c *ciStack, path, issuer string, j *jwtIssuer, role string, roleData map[string]any) {
	t.Helper()
	require.NoError(t, c.client.Sys().EnableAuthWithOptions(path, &api.EnableAuthOptions{Type: "jwt"}))
	_, err := c.client.Logical().Write("auth/"+path+"/config", map[string]any{
		"jwt_validation_pubkeys": []string{j.pem}, "bound_issuer": issuer})
	require.NoError(t, err)
	data := map[string]any{"role_type": "jwt", "user_claim": "sub", "bound_audiences": []string{vaultAud},
		"token_policies": []string{"ci-creds"}, "token_ttl": "1m", "token_max_ttl": "10m"}
	for k, v := range roleData {
		data[k] = v
	}
	_, err = c.client.Logical().Write("auth/"+path+"/role/"+role, data)
	require.NoError(t, err)
}

// githubStandIn serves GitHub Actions' OIDC token endpoint on 127.0.0.1:
// it wants the runtime request token as a bearer token and signs a JWT
// for the audience asked in the query, as GitHub does.
type githubStandIn struct {
	srv          *httptest.Server
	requestToken string
	mu           sync.Mutex
	audiences    []string
}

func newGitHubStandIn(t *testing.T, j *jwtIssuer, repo string) *githubStandIn {
	t.Helper()
	g := &githubStandIn{requestToken: "ghs_request_" + time.Now().Format("150405.000000")}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+g.requestToken || r.URL.Query().Get("api-version") != "2.0" {
			http.Error(w, `{"message":"Unauthorized"}`, http.StatusUnauthorized)
			return
		}
		aud := r.URL.Query().Get("audience")
		g.mu.Lock()
		g.audiences = append(g.audiences, aud)
		g.mu.Unlock()
		tok := j.sign(t, map[string]any{"iss": githubIssuer, "aud": aud, "sub": "repo:" + repo + ":ref:refs/heads/main",
			"repository": repo, "ref": "refs/heads/main"})
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"count": 1, "value": tok})
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *githubStandIn) env(audience string) []string {
	return []string{
		"ACTIONS_ID_TOKEN_REQUEST_URL=" + g.srv.URL + "/idtoken?api-version=2.0",
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + g.requestToken,
		"CLOUDCREDS_AUTH_MOUNT=github", "CLOUDCREDS_ROLE=deploy",
		"CLOUDCREDS_GITHUB_AUDIENCE=" + audience,
	}
}

// requireTokenRevoked checks that the login token is gone.
func requireTokenRevoked(t *testing.T, c *ciStack, accessor string) {
	t.Helper()
	require.NotEmpty(t, accessor)
	_, err := c.client.Auth().Token().LookupAccessor(accessor)
	require.Error(t, err, "the login token must be revoked")
}

// TestCompanionLogin: with no Vault token the companion logs in with the
// CI's identity: a GitLab id_token in a variable, GitHub Actions' OIDC
// token from (a stand-in of) its endpoint, a JWT file (env + revoke), or
// AppRole. Claims that do not match the role get a clear error and no
// keys. The login token is revoked at the end, and if the companion is
// SIGKILLed the token's TTL bounds the credentials' life (Done means 3).
func TestCompanionLogin(t *testing.T) {
	c := newCIStack(t)
	j := newJWTIssuer(t)
	enableJWT(t, c, "jwt", gitlabIssuer, j, "ci", map[string]any{
		"bound_claims": map[string]any{"project_path": "group/app", "ref_protected": "true"}})
	_, err := c.client.Logical().Write("auth/jwt/role/brief", map[string]any{"role_type": "jwt", "user_claim": "sub",
		"bound_audiences": []string{vaultAud}, "bound_claims": map[string]any{"project_path": "group/app"},
		"token_policies": []string{"ci-creds"}, "token_ttl": "10s", "token_max_ttl": "10m"})
	require.NoError(t, err)
	enableJWT(t, c, "github", githubIssuer, j, "deploy", map[string]any{
		"bound_claims": map[string]any{"repository": "org/app"}})
	gh := newGitHubStandIn(t, j, "org/app")
	goodJWT := j.sign(t, gitlabClaims("group/app"))

	ok := func(t *testing.T, env []string, args ...string) *companionRun {
		t.Helper()
		before := c.cloudCounts()
		report := filepath.Join(t.TempDir(), "report")
		if len(args) == 0 {
			args = companionExecArgs()
		}
		r := c.run(t, append(c.env(report, "exit:0"), env...), args...)
		require.Equal(t, 0, r.code, r.stderr.String())
		reps := r.reports(t)
		require.Len(t, reps, 1)
		requireChildUsedBoth(t, c, reps[0])
		c.requireRevoked(t, r.leaseIDs())
		requireTokenRevoked(t, c, r.loginAccessor())
		c.requireBaseline(t, before, "login")
		return r
	}
	refused := func(t *testing.T, env []string, msg string) {
		t.Helper()
		before := c.cloudCounts()
		report := filepath.Join(t.TempDir(), "report")
		r := c.run(t, append(c.env(report, "exit:0"), env...), companionExecArgs()...)
		require.Equal(t, 77, r.code, r.stderr.String())
		require.Contains(t, r.stderr.String(), msg)
		require.NoFileExists(t, report, "no keys, no job")
		require.Empty(t, r.leaseIDs())
		c.requireBaseline(t, before, "refused login")
	}

	t.Run("GitLab id_token in a variable", func(t *testing.T) {
		r := ok(t, []string{"VAULT_ID_TOKEN=" + goodJWT, "CLOUDCREDS_ROLE=ci", "CLOUDCREDS_JWT_ENV=VAULT_ID_TOKEN"})
		require.Contains(t, r.stderr.String(), "logged in at auth/jwt/login (role ci, JWT from $VAULT_ID_TOKEN)")
		require.Contains(t, r.stderr.String(), "revoked the login token")
	})
	t.Run("claims that do not match the role", func(t *testing.T) {
		bad := j.sign(t, gitlabClaims("group/other"))
		refused(t, []string{"VAULT_ID_TOKEN=" + bad, "CLOUDCREDS_ROLE=ci", "CLOUDCREDS_JWT_ENV=VAULT_ID_TOKEN"},
			`log in at auth/jwt/login (role ci, JWT from $VAULT_ID_TOKEN): Vault answered 400: error validating claims: claim "project_path" does not match any associated bound claim values`)
	})
	t.Run("JWT signed by another key", func(t *testing.T) {
		forged := newJWTIssuer(t).sign(t, gitlabClaims("group/app"))
		refused(t, []string{"VAULT_ID_TOKEN=" + forged, "CLOUDCREDS_ROLE=ci", "CLOUDCREDS_JWT_ENV=VAULT_ID_TOKEN"},
			"Vault answered 400: error validating token: error verifying token signature: no known key successfully validated the token signature")
	})
	t.Run("GitHub Actions OIDC", func(t *testing.T) {
		r := ok(t, gh.env(vaultAud))
		require.Contains(t, r.stderr.String(), `JWT from GitHub Actions OIDC (audience "https://vault.test")`)
		gh.mu.Lock()
		require.Equal(t, []string{vaultAud}, gh.audiences, "the audience is asked of the endpoint")
		gh.mu.Unlock()
	})
	t.Run("GitHub Actions OIDC, wrong audience", func(t *testing.T) {
		refused(t, gh.env("https://somewhere.else"), "Vault answered 400: error validating token: invalid audience (aud) claim")
	})
	t.Run("GitHub Actions OIDC, request token refused", func(t *testing.T) {
		env := append(gh.env(vaultAud), "ACTIONS_ID_TOKEN_REQUEST_TOKEN=wrong-request-token")
		refused(t, env, "GitHub OIDC endpoint answered 401")
	})

	t.Run("AppRole", func(t *testing.T) {
		require.NoError(t, c.client.Sys().EnableAuthWithOptions("approle", &api.EnableAuthOptions{Type: "approle"}))
		_, err := c.client.Logical().Write("auth/approle/role/ci", map[string]any{"token_policies": "ci-creds", "token_ttl": "1m"})
		require.NoError(t, err)
		rid, err := c.client.Logical().Read("auth/approle/role/ci/role-id")
		require.NoError(t, err)
		sid, err := c.client.Logical().Write("auth/approle/role/ci/secret-id", nil)
		require.NoError(t, err)
		r := ok(t, []string{"CLOUDCREDS_APPROLE_ROLE_ID=" + str(rid.Data["role_id"]),
			"CLOUDCREDS_APPROLE_SECRET_ID=" + str(sid.Data["secret_id"])})
		require.Contains(t, r.stderr.String(), "logged in at auth/approle/login")
		// requireChildUsedBoth checked the secret id did not reach the job.
	})

	t.Run("env and revoke, JWT from a file", func(t *testing.T) {
		before := c.cloudCounts()
		dir := t.TempDir()
		jwtFile := filepath.Join(dir, "id_token")
		require.NoError(t, os.WriteFile(jwtFile, []byte(goodJWT+"\n"), 0o600))
		login := []string{"CLOUDCREDS_ROLE=ci", "CLOUDCREDS_JWT_FILE=" + jwtFile}
		e := c.run(t, append(c.env(filepath.Join(dir, "unused"), ""), login...), "env",
			"--cred", "aws="+mount+"/creds/aws/ci", "--cred", "nomad="+mount+"/creds/nomad/ci")
		require.Equal(t, 0, e.code, e.stderr.String())
		exports := filepath.Join(dir, "exports.sh")
		require.NoError(t, os.WriteFile(exports, []byte(e.stdout.String()), 0o600))

		// A later step of the job: eval the lines, use the keys.
		report := filepath.Join(dir, "report")
		sh := append([]string{"-c", `. "$0" && exec "$@"`, exports}, childCommand()...)
		r := c.startRaw(t, c.env(report, "exit:0"), "sh", sh...)
		r.wait(t, time.Minute)
		require.Equal(t, 0, r.code, r.stderr.String())
		reps := r.reports(t)
		require.Len(t, reps, 1)
		// env's purpose: the shell that evals it holds the login token,
		// so that revoke can end it.
		requireChildUsedBoth(t, c, reps[0], "CLOUDCREDS_VAULT_TOKEN")
		require.Equal(t, before.aws["users"]+1, c.aws.State()["users"], "env leaves the credentials live")

		// The job's last step: revoke what env printed.
		rv := c.startRaw(t, c.env(report, ""), "sh", "-c", `. "$0" && exec "$1" revoke`, exports, c.bin)
		rv.wait(t, time.Minute)
		require.Equal(t, 0, rv.code, rv.stderr.String())
		require.Len(t, e.leaseIDs(), 2)
		c.requireRevoked(t, e.leaseIDs())
		requireTokenRevoked(t, c, e.loginAccessor())
		c.requireBaseline(t, before, "env+revoke")
	})

	t.Run("no revoke permission: the leases go with the login token", func(t *testing.T) {
		require.NoError(t, c.client.Sys().PutPolicy("read-only-creds", `path "`+mount+`/creds/*" { capabilities = ["read"] }`))
		_, err := c.client.Logical().Write("auth/jwt/role/norevoke", map[string]any{"role_type": "jwt", "user_claim": "sub",
			"bound_audiences": []string{vaultAud}, "bound_claims": map[string]any{"project_path": "group/app"},
			"token_policies": []string{"read-only-creds"}, "token_ttl": "1m"})
		require.NoError(t, err)
		before := c.cloudCounts()
		report := filepath.Join(t.TempDir(), "report")
		r := c.run(t, append(c.env(report, "exit:0"), "VAULT_ID_TOKEN="+goodJWT, "CLOUDCREDS_ROLE=norevoke",
			"CLOUDCREDS_JWT_ENV=VAULT_ID_TOKEN"), companionExecArgs()...)
		require.Equal(t, 0, r.code, r.stderr.String())
		require.Contains(t, r.stderr.String(), "permission denied")
		require.Contains(t, r.stderr.String(), "Vault revokes it with the login token, which is revoked")
		requireTokenRevoked(t, c, r.loginAccessor())
		start := time.Now()
		eventually(t, "Vault to revoke the token's leases", 30*time.Second, func() bool {
			return c.aws.State()["users"] == before.aws["users"] && c.nomad.State()["tokens"] == before.nomad["tokens"]
		})
		t.Logf("without sys/leases/revoke: the credentials were gone %s after the companion exited", time.Since(start).Round(100*time.Millisecond))
		c.requireRevoked(t, r.leaseIDs())
		c.requireBaseline(t, before, "norevoke")
	})

	t.Run("companion SIGKILLed: the login token's TTL bounds the credentials", func(t *testing.T) {
		before := c.cloudCounts()
		report := filepath.Join(t.TempDir(), "report")
		env := append(c.env(report, "wait"), "VAULT_ID_TOKEN="+goodJWT, "CLOUDCREDS_ROLE=brief", "CLOUDCREDS_JWT_ENV=VAULT_ID_TOKEN")
		r := c.start(t, env, companionExecArgs()...)
		rep := r.waitReport(t, 1, time.Minute)[0]
		requireChildUsedBoth(t, c, rep)
		t.Cleanup(func() { _ = syscall.Kill(rep.PID, syscall.SIGKILL) })
		require.NoError(t, r.cmd.Process.Kill())
		killed := time.Now()
		r.wait(t, time.Minute)
		require.Equal(t, before.aws["users"]+1, c.aws.State()["users"], "a SIGKILLed companion cannot revoke")
		eventually(t, "Vault to revoke the credentials with the expired login token", 40*time.Second, func() bool {
			return c.aws.State()["users"] == before.aws["users"] && c.nomad.State()["tokens"] == before.nomad["tokens"]
		})
		t.Logf("companion SIGKILLed: Vault removed the credentials %s later (login token ttl 10s)", time.Since(killed).Round(100*time.Millisecond))
		c.requireRevoked(t, r.leaseIDs())
	})

	t.Run("secret scan", func(t *testing.T) {
		secrets, places := c.scanRuns(t, gh.requestToken)
		t.Logf("scanned %d places for %d secrets", places, secrets)
	})
}
