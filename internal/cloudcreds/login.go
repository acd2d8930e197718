package cloudcreds

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"
)

// Login methods.
const (
	MethodToken   = "token"
	MethodJWT     = "jwt"
	MethodAppRole = "approle"
)

// Environment variables the login settings default from (flags override
// them). The AppRole secret id is read only from the environment or a
// file, never from a flag, so it cannot land on a command line.
const (
	EnvAuthMethod        = "CLOUDCREDS_AUTH_METHOD"
	EnvAuthMount         = "CLOUDCREDS_AUTH_MOUNT"
	EnvRole              = "CLOUDCREDS_ROLE"
	EnvJWTEnv            = "CLOUDCREDS_JWT_ENV"
	EnvJWTFile           = "CLOUDCREDS_JWT_FILE"
	EnvGitHubAudience    = "CLOUDCREDS_GITHUB_AUDIENCE"
	EnvAppRoleRoleID     = "CLOUDCREDS_APPROLE_ROLE_ID"
	EnvAppRoleSecretID   = "CLOUDCREDS_APPROLE_SECRET_ID"
	EnvAppRoleSecretFile = "CLOUDCREDS_APPROLE_SECRET_ID_FILE"
	// EnvVaultToken is what `env` exports and `revoke` reads: the login
	// token `env` made, so that `revoke` can end it with its leases.
	EnvVaultToken = "CLOUDCREDS_VAULT_TOKEN"
)

// LoginOptions says how to get a Vault token when VAULT_TOKEN and
// ~/.vault-token hold none.
type LoginOptions struct {
	// Method is "", token, jwt or approle; "" picks the first that is
	// configured: a token, then JWT (Role and a JWT source), then AppRole.
	Method string
	// Mount is the auth mount path; jwt or approle by default.
	Mount string
	// Role is the JWT auth role.
	Role string
	// JWTEnv names the environment variable holding the JWT (GitLab
	// id_tokens).
	JWTEnv string
	// JWTFile is a file holding the JWT.
	JWTFile string
	// GitHubAudience is the audience asked of GitHub Actions' OIDC
	// endpoint (ACTIONS_ID_TOKEN_REQUEST_URL); empty asks for GitHub's
	// default audience.
	GitHubAudience string
	// RoleID is the AppRole role id; the secret id comes from
	// CLOUDCREDS_APPROLE_SECRET_ID or SecretIDFile.
	RoleID string
	// SecretIDFile is a file holding the AppRole secret id.
	SecretIDFile string
}

// session is an authenticated Vault client.
type session struct {
	client *api.Client
	method string
	// owned: the companion logged in and made this token, so it renews
	// and revokes it.
	owned     bool
	accessor  string
	renewable bool
	ttl       time.Duration // 0: no expiry (e.g. a root token)
	at        time.Time     // when ttl was read
}

// expiry is when the token ends unless renewed; zero if never.
func (s *session) expiry() time.Time {
	if s.ttl <= 0 {
		return time.Time{}
	}
	return s.at.Add(s.ttl)
}

// tokenSecret is the token in the shape the lifetime watcher renews.
func (s *session) tokenSecret() *api.Secret {
	return &api.Secret{Auth: &api.SecretAuth{
		ClientToken:   s.client.Token(),
		Renewable:     s.renewable,
		LeaseDuration: int(s.ttl.Seconds()),
	}}
}

// newClient builds a Vault client the way the vault CLI does: VAULT_ADDR,
// VAULT_NAMESPACE, VAULT_CACERT and the other TLS settings, VAULT_TOKEN,
// and ~/.vault-token when VAULT_TOKEN is unset.
func (a *app) newClient() (*api.Client, error) {
	cfg := api.DefaultConfig()
	if cfg.Error != nil {
		return nil, failf(ExitConfig, "Vault client settings (VAULT_*): %v", cfg.Error)
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, failf(ExitConfig, "Vault client: %v", err)
	}
	if c.Token() == "" {
		if tok := a.tokenFile(); tok != "" {
			c.SetToken(tok)
		}
	}
	return c, nil
}

// tokenFile reads ~/.vault-token, the vault CLI's default token helper.
func (a *app) tokenFile() string {
	home := a.getenv("HOME")
	if home == "" {
		return ""
	}
	data, err := os.ReadFile(filepath.Join(home, ".vault-token"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

// login returns a session: with the client's token if it has one (and
// the method allows it), else by logging in with the CI's identity.
func (a *app) login(ctx context.Context, c *api.Client, o LoginOptions) (*session, error) {
	method := o.Method
	if method == "" {
		switch {
		case c.Token() != "":
			method = MethodToken
		case o.Role != "" && (o.JWTEnv != "" || o.JWTFile != "" || a.getenv(envGitHubRequestURL) != ""):
			method = MethodJWT
		case o.RoleID != "":
			method = MethodAppRole
		default:
			return nil, failf(ExitDenied, "no Vault token (VAULT_TOKEN, ~/.vault-token) and no login configured: "+
				"set --role with --jwt-env, --jwt-file or GitHub Actions' id-token permission for JWT auth, or --approle-role-id for AppRole")
		}
	}
	switch method {
	case MethodToken:
		return a.tokenSession(ctx, c)
	case MethodJWT:
		c.ClearToken()
		jwt, src, err := a.jwt(ctx, o)
		if err != nil {
			return nil, err
		}
		a.log.redact(jwt)
		if o.Role == "" {
			return nil, failf(ExitUsage, "JWT login needs --role (or %s)", EnvRole)
		}
		return a.loginWith(ctx, c, MethodJWT, mountOr(o.Mount, "jwt"), "role "+o.Role+", JWT from "+src,
			map[string]any{"role": o.Role, "jwt": jwt})
	case MethodAppRole:
		c.ClearToken()
		if o.RoleID == "" {
			return nil, failf(ExitUsage, "AppRole login needs --approle-role-id (or %s)", EnvAppRoleRoleID)
		}
		sid, err := a.secretID(o)
		if err != nil {
			return nil, err
		}
		a.log.redact(sid)
		return a.loginWith(ctx, c, MethodAppRole, mountOr(o.Mount, "approle"), "role id "+o.RoleID,
			map[string]any{"role_id": o.RoleID, "secret_id": sid})
	default:
		return nil, failf(ExitUsage, "--auth-method %q: want token, jwt or approle", method)
	}
}

func mountOr(mount, def string) string {
	mount = strings.Trim(mount, "/")
	if mount == "" {
		return def
	}
	return mount
}

// tokenSession looks the client's token up (lookup-self is in Vault's
// default policy), so a bad token fails before anything is issued.
func (a *app) tokenSession(ctx context.Context, c *api.Client) (*session, error) {
	if c.Token() == "" {
		return nil, failf(ExitDenied, "--auth-method token: no token in VAULT_TOKEN or ~/.vault-token")
	}
	sec, err := c.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil {
		return nil, classify(err, "look up the Vault token", ExitDenied)
	}
	s := &session{client: c, method: MethodToken, at: time.Now()}
	s.accessor, _ = sec.TokenAccessor()
	s.renewable, _ = sec.TokenIsRenewable()
	s.ttl, _ = sec.TokenTTL()
	return s, nil
}

// loginWith writes auth/<mount>/login and takes the token it returns.
func (a *app) loginWith(ctx context.Context, c *api.Client, method, mount, what string, data map[string]any) (*session, error) {
	path := "auth/" + mount + "/login"
	sec, err := c.Logical().WriteWithContext(ctx, path, data)
	if err != nil {
		// Any answer to a login but 5xx means the identity was refused.
		return nil, classify(err, "log in at "+path+" ("+what+")", ExitDenied)
	}
	if sec == nil || sec.Auth == nil || sec.Auth.ClientToken == "" {
		return nil, failf(ExitDenied, "log in at %s: Vault returned no token", path)
	}
	a.log.redact(sec.Auth.ClientToken)
	c.SetToken(sec.Auth.ClientToken)
	s := &session{
		client: c, method: method, owned: true, accessor: sec.Auth.Accessor,
		renewable: sec.Auth.Renewable, ttl: time.Duration(sec.Auth.LeaseDuration) * time.Second, at: time.Now(),
	}
	a.log.infof("logged in at %s (%s): token accessor %s, ttl %s, policies %s",
		path, what, s.accessor, s.ttl, strings.Join(sec.Auth.Policies, ","))
	return s, nil
}

// jwt returns the JWT and where it came from: --jwt-env, --jwt-file, or
// GitHub Actions' OIDC endpoint, in that order.
func (a *app) jwt(ctx context.Context, o LoginOptions) (string, string, error) {
	switch {
	case o.JWTEnv != "":
		v := strings.TrimSpace(a.getenv(o.JWTEnv))
		if v == "" {
			return "", "", failf(ExitDenied, "JWT login: the variable %s (--jwt-env) is empty or unset; "+
				"in GitLab, declare it under id_tokens", o.JWTEnv)
		}
		return v, "$" + o.JWTEnv, nil
	case o.JWTFile != "":
		data, err := os.ReadFile(o.JWTFile)
		if err != nil {
			return "", "", failf(ExitDenied, "JWT login: read --jwt-file: %v", err)
		}
		v := strings.TrimSpace(string(data))
		if v == "" {
			return "", "", failf(ExitDenied, "JWT login: --jwt-file %s is empty", o.JWTFile)
		}
		return v, o.JWTFile, nil
	case a.getenv(envGitHubRequestURL) != "":
		v, err := a.githubIDToken(ctx, o.GitHubAudience)
		if err != nil {
			return "", "", err
		}
		return v, "GitHub Actions OIDC (audience " + quoteOr(o.GitHubAudience, "default") + ")", nil
	default:
		return "", "", failf(ExitDenied, "JWT login: no JWT: set --jwt-env, --jwt-file, or run in GitHub Actions with permissions: id-token: write")
	}
}

func quoteOr(s, def string) string {
	if s == "" {
		return def
	}
	return fmt.Sprintf("%q", s)
}

// secretID reads the AppRole secret id from the environment or a file.
func (a *app) secretID(o LoginOptions) (string, error) {
	if v := strings.TrimSpace(a.getenv(EnvAppRoleSecretID)); v != "" {
		return v, nil
	}
	if o.SecretIDFile != "" {
		data, err := os.ReadFile(o.SecretIDFile)
		if err != nil {
			return "", failf(ExitDenied, "AppRole login: read --approle-secret-id-file: %v", err)
		}
		if v := strings.TrimSpace(string(data)); v != "" {
			return v, nil
		}
		return "", failf(ExitDenied, "AppRole login: --approle-secret-id-file %s is empty", o.SecretIDFile)
	}
	return "", failf(ExitDenied, "AppRole login: no secret id: set %s or --approle-secret-id-file", EnvAppRoleSecretID)
}

// revokeToken revokes the session's token if the companion made it.
func (s *session) revokeToken(ctx context.Context) error {
	if !s.owned {
		return nil
	}
	if err := s.client.Auth().Token().RevokeSelfWithContext(ctx, ""); err != nil {
		return classify(err, "revoke the login token (accessor "+s.accessor+")", ExitRevoke)
	}
	return nil
}
