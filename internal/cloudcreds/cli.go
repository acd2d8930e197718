package cloudcreds

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/version"
)

// defaultSignalGrace: GitHub Actions sends SIGINT on cancel, SIGTERM 7.5 s
// later and SIGKILL 2.5 s after that; revoking 5 s after the first signal
// leaves time to finish before the kill.
const defaultSignalGrace = 5 * time.Second

const usage = `cloudcreds: per-run cloud credentials from Vault for CI jobs.

Usage:
  cloudcreds exec [flags] --cred kind=path [--cred ...] -- command [args]
      Read each credential, run the command with them in its environment,
      renew the leases while it runs, revoke them (and the login token)
      when it ends, and exit with its status.
  cloudcreds env [flags] --cred kind=path [--cred ...]
      Print export lines (with the secrets, for eval) and the lease ids.
  cloudcreds revoke [flags] [lease-id ...]
      Revoke the leases (default: $CLOUDCREDS_LEASES) and the login token
      in $CLOUDCREDS_VAULT_TOKEN that env printed.
  cloudcreds credential-process [flags] --cred [aws=]path
      Print one AWS credential as credential_process JSON.
  cloudcreds version

Kinds and the variables they set:
  aws      AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
  ncloud   NCLOUD_ACCESS_KEY, NCLOUD_SECRET_KEY
  nomad    NOMAD_TOKEN, NOMAD_ADDR (from the credential, unless already set)

Vault is configured as for the vault CLI: VAULT_ADDR, VAULT_NAMESPACE,
VAULT_CACERT and the other TLS variables, and VAULT_TOKEN or ~/.vault-token.
Without a token it logs in with the CI's identity (JWT, else AppRole).

Exit statuses of the companion's own failures: 64 usage, 65 not a
credential, 69 Vault unavailable, 70 internal, 75 revoke failed after the
command succeeded, 77 no identity or refused, 78 bad VAULT_* settings,
126/127 command cannot run / not found. Otherwise: the command's status
(128+n when killed by signal n).
`

// app holds what a run of the companion uses; tests build their own.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	environ        []string
	log            *logger
	http           *http.Client
}

// Main runs the companion with the process's arguments (without the
// program name), environment and standard streams, and returns the exit
// status.
func Main(args []string) int {
	sigs := make(chan os.Signal, 8)
	// Registered first, so a signal during login is seen (and what was
	// issued revoked) rather than killing the companion.
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	a := &app{
		stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr,
		getenv: os.Getenv, environ: os.Environ(),
		http: &http.Client{Timeout: githubTimeout},
	}
	a.log = newLogger(os.Stderr, false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := newRelay(cancel)
	go r.run(sigs)
	return a.run(ctx, r, args)
}

func (a *app) run(ctx context.Context, r *relay, args []string) (code int) {
	defer func() {
		if p := recover(); p != nil {
			a.log.errorf("internal error: %v", p)
			code = ExitInternal
		}
	}()
	if len(args) == 0 {
		fmt.Fprint(a.stderr, usage)
		return ExitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(a.stdout, usage)
		return 0
	case "version", "-version", "--version":
		fmt.Fprintln(a.stdout, "cloudcreds", version.Version)
		return 0
	}
	fs := flag.NewFlagSet("cloudcreds "+cmd, flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	var specs specList
	lo := a.loginFlags(fs)
	quiet := fs.Bool("quiet", false, "print only warnings and errors")
	switch cmd {
	case "exec", "env":
		fs.Var(&specs, "cred", "`kind=path` of a credential to read, e.g. aws=multicloud/creds/aws/deploy (repeatable)")
	case "credential-process":
		specs.allowBare = true
		fs.Var(&specs, "cred", "`[aws=]path` of the AWS credential to read")
	case "revoke":
	default:
		fmt.Fprint(a.stderr, usage)
		return a.fail(failf(ExitUsage, "unknown command %q", cmd))
	}
	grace := defaultSignalGrace
	if cmd == "exec" {
		fs.DurationVar(&grace, "signal-grace", defaultSignalGrace,
			"after a terminating signal, revoke the credentials if the command is still running this long after it (0: wait for the command)")
	}
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return a.fail(failf(ExitUsage, "%s: %v", cmd, err))
	}
	a.log.quiet = *quiet
	switch cmd {
	case "exec":
		if err := checkSpecs(specs.specs); err != nil {
			return a.fail(failf(ExitUsage, "exec: %v", err))
		}
		return a.runExec(ctx, r, ExecOptions{Specs: specs.specs, Login: *lo, Command: fs.Args(), SignalGrace: grace})
	case "env":
		if err := checkSpecs(specs.specs); err != nil {
			return a.fail(failf(ExitUsage, "env: %v", err))
		}
		if fs.NArg() > 0 {
			return a.fail(failf(ExitUsage, "env: unexpected arguments %q (did you mean exec?)", fs.Args()))
		}
		return a.runEnv(ctx, r, specs.specs, *lo)
	case "credential-process":
		if len(specs.specs) != 1 || fs.NArg() > 0 {
			return a.fail(failf(ExitUsage, "credential-process: want exactly one --cred and no arguments"))
		}
		return a.runCredentialProcess(ctx, r, specs.specs[0], *lo)
	default: // revoke
		return a.runRevoke(ctx, r, fs.Args(), *lo)
	}
}

// loginFlags registers the login flags, each defaulting from its
// CLOUDCREDS_* variable.
func (a *app) loginFlags(fs *flag.FlagSet) *LoginOptions {
	o := &LoginOptions{}
	str := func(p *string, name, env, help string) {
		fs.StringVar(p, name, a.getenv(env), help+" ($"+env+")")
	}
	str(&o.Method, "auth-method", EnvAuthMethod, "token, jwt or approle; default: the first configured")
	str(&o.Mount, "auth-mount", EnvAuthMount, "auth mount path (default jwt or approle)")
	str(&o.Role, "role", EnvRole, "JWT auth role")
	str(&o.JWTEnv, "jwt-env", EnvJWTEnv, "name of the variable holding the JWT (GitLab id_tokens)")
	str(&o.JWTFile, "jwt-file", EnvJWTFile, "file holding the JWT")
	str(&o.GitHubAudience, "github-audience", EnvGitHubAudience, "audience of the GitHub Actions OIDC token")
	str(&o.RoleID, "approle-role-id", EnvAppRoleRoleID, "AppRole role id (the secret id: $"+EnvAppRoleSecretID+" or --approle-secret-id-file)")
	str(&o.SecretIDFile, "approle-secret-id-file", EnvAppRoleSecretFile, "file holding the AppRole secret id")
	return o
}

// specList is a repeatable --cred flag.
type specList struct {
	specs []Spec
	// allowBare: a path without "kind=" is an AWS credential
	// (credential-process reads only AWS credentials).
	allowBare bool
}

// String implements flag.Value.
func (l *specList) String() string {
	if l == nil {
		return ""
	}
	s := make([]string, len(l.specs))
	for i, sp := range l.specs {
		s[i] = sp.String()
	}
	return strings.Join(s, " ")
}

// Set implements flag.Value.
func (l *specList) Set(v string) error {
	if l.allowBare && !strings.Contains(v, "=") {
		v = string(KindAWS) + "=" + v
	}
	sp, err := ParseSpec(v)
	if err != nil {
		return err
	}
	l.specs = append(l.specs, sp)
	return nil
}
