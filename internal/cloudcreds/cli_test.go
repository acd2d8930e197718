package cloudcreds

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCLIFailures: every failure that needs no real Vault exits with its
// documented status, says why, and never runs the command. (The failures
// that need Vault are in e2e/companion_*_test.go.)
func TestCLIFailures(t *testing.T) {
	var requests atomic.Int32
	vault := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.Error(w, `{"errors":["permission denied"]}`, http.StatusForbidden)
	}))
	defer vault.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	notExecutable := filepath.Join(dir, "script.sh")
	require.NoError(t, os.WriteFile(notExecutable, []byte("#!/bin/sh\ntouch "+marker+"\n"), 0o644))
	job := []string{"--", "sh", "-c", "touch " + marker}
	cred := []string{"--cred", "aws=multicloud/creds/aws/ci"}
	args := func(parts ...[]string) []string {
		var out []string
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}

	for _, tc := range []struct {
		name     string
		args     []string
		env      map[string]string
		want     int
		msg      string
		contacts bool // whether Vault may be contacted
	}{
		{name: "no arguments", args: nil, want: ExitUsage},
		{name: "unknown command", args: []string{"run"}, want: ExitUsage, msg: `unknown command "run"`},
		{name: "unknown flag", args: args([]string{"exec", "--bogus"}, cred, job), want: ExitUsage, msg: "flag provided but not defined: -bogus"},
		{name: "malformed cred", args: args([]string{"exec", "--cred", "multicloud/creds/aws/ci"}, job), want: ExitUsage, msg: "want kind=path"},
		{name: "unknown kind", args: args([]string{"exec", "--cred", "gcp=x/creds/gcp/y"}, job), want: ExitUsage, msg: `unknown kind "gcp"`},
		{name: "no cred", args: args([]string{"exec"}, job), want: ExitUsage, msg: "no --cred"},
		{name: "two of a kind", args: args([]string{"exec"}, cred, cred, job), want: ExitUsage, msg: "two aws credentials"},
		{name: "no command", args: args([]string{"exec"}, cred, []string{"--"}), want: ExitUsage, msg: "no command"},
		{name: "command not found", args: args([]string{"exec"}, cred, []string{"--", "no-such-command-xyz"}), want: ExitNotFound, msg: "not found"},
		{name: "command not executable", args: args([]string{"exec"}, cred, []string{"--", notExecutable}), want: ExitCannotExecute, msg: "cannot run"},
		{name: "env with a command", args: args([]string{"env"}, cred, []string{"--", "true"}), want: ExitUsage, msg: "did you mean exec"},
		{name: "credential-process of nomad", args: []string{"credential-process", "--cred", "nomad=m/creds/nomad/x"}, want: ExitUsage, msg: "only aws"},
		{name: "credential-process of two", args: []string{"credential-process", "--cred", "m/creds/aws/x", "--cred", "m/creds/aws/y"}, want: ExitUsage, msg: "exactly one --cred"},
		{name: "bad auth method", args: args([]string{"exec", "--auth-method", "ldap"}, cred, job), want: ExitUsage, msg: `--auth-method "ldap"`, contacts: true},
		{name: "no identity", args: args([]string{"exec"}, cred, job), env: map[string]string{"VAULT_TOKEN": ""}, want: ExitDenied, msg: "no Vault token"},
		{name: "jwt env empty", args: args([]string{"exec", "--role", "ci", "--jwt-env", "CI_JOB_JWT_EMPTY"}, cred, job),
			env: map[string]string{"VAULT_TOKEN": ""}, want: ExitDenied, msg: "CI_JOB_JWT_EMPTY (--jwt-env) is empty"},
		{name: "jwt file missing", args: args([]string{"exec", "--role", "ci", "--jwt-file", filepath.Join(dir, "nope")}, cred, job),
			env: map[string]string{"VAULT_TOKEN": ""}, want: ExitDenied, msg: "read --jwt-file"},
		{name: "approle without secret id", args: args([]string{"exec", "--approle-role-id", "rid"}, cred, job),
			env: map[string]string{"VAULT_TOKEN": ""}, want: ExitDenied, msg: "no secret id"},
		{name: "vault refuses the token", args: args([]string{"exec"}, cred, job), want: ExitDenied, msg: "permission denied", contacts: true},
		{name: "vault unreachable", args: args([]string{"exec"}, cred, job), env: map[string]string{"VAULT_ADDR": closedURL},
			want: ExitUnavailable, msg: "Vault unreachable"},
		{name: "bad VAULT_CACERT", args: args([]string{"exec"}, cred, job), env: map[string]string{"VAULT_CACERT": filepath.Join(dir, "none.pem")},
			want: ExitConfig, msg: "VAULT_"},
		{name: "revoke with nothing", args: []string{"revoke"}, want: ExitUsage, msg: "no lease ids"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range map[string]string{
				"VAULT_ADDR": vault.URL, "VAULT_TOKEN": "hvs.test-token-not-real", "VAULT_MAX_RETRIES": "0",
				"HOME": dir, "VAULT_NAMESPACE": "", "VAULT_CACERT": "", EnvLeases: "", EnvVaultToken: "",
				"ACTIONS_ID_TOKEN_REQUEST_URL": "",
			} {
				t.Setenv(k, v)
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			before := requests.Load()
			var stdout, stderr bytes.Buffer
			a := &app{stdout: &stdout, stderr: &stderr, getenv: os.Getenv, environ: os.Environ(), http: http.DefaultClient}
			a.log = newLogger(&stderr, false)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			got := a.run(ctx, newRelay(cancel), tc.args)
			require.Equal(t, tc.want, got, "stderr: %s", stderr.String())
			require.Contains(t, stderr.String(), tc.msg)
			require.NoFileExists(t, marker, "the command must not run")
			if !tc.contacts {
				require.Equal(t, before, requests.Load(), "Vault must not be asked")
			}
			require.NotContains(t, stderr.String()+stdout.String(), "hvs.test-token-not-real")
		})
	}
}

func TestExitStatus(t *testing.T) {
	for _, tc := range []struct {
		script string
		want   int
	}{
		{"exit 0", 0},
		{"exit 3", 3},
		{"kill -TERM $$", 128 + int(syscall.SIGTERM)},
		{"kill -KILL $$", 128 + int(syscall.SIGKILL)},
	} {
		cmd := exec.Command("sh", "-c", tc.script)
		_ = cmd.Run()
		require.Equal(t, tc.want, exitStatus(cmd.ProcessState), tc.script)
	}
}

func TestRelayForwardsOnceTheChildRuns(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := newRelay(cancel)
	in := make(chan os.Signal, 1)
	go r.run(in)
	in <- syscall.SIGTERM
	<-ctx.Done() // before the child: the setup is cancelled
	require.Equal(t, syscall.SIGTERM, r.signaled())

	// A child started afterwards gets the signal that came in between.
	cmd := exec.Command("sleep", "30")
	require.NoError(t, cmd.Start())
	r.setChild(cmd.Process)
	_ = cmd.Wait()
	require.Equal(t, 128+int(syscall.SIGTERM), exitStatus(cmd.ProcessState))
	close(in)
}

func TestVersionAndHelp(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"help"}} {
		var stdout bytes.Buffer
		a := &app{stdout: &stdout, stderr: &stdout, getenv: os.Getenv}
		a.log = newLogger(&stdout, false)
		require.Equal(t, 0, a.run(context.Background(), newRelay(func() {}), args))
		require.Contains(t, stdout.String(), "cloudcreds")
	}
}

// TestTokenSources: VAULT_TOKEN first, then ~/.vault-token (the vault
// CLI's token helper file), as the vault CLI does.
func TestTokenSources(t *testing.T) {
	var seen atomic.Value
	vault := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Header.Get("X-Vault-Token"))
		http.Error(w, `{"errors":["permission denied"]}`, http.StatusForbidden)
	}))
	defer vault.Close()
	home := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(home, ".vault-token"), []byte("hvs.from-the-file-0123\n"), 0o600))
	for _, tc := range []struct{ env, want string }{
		{env: "hvs.from-the-env-0123", want: "hvs.from-the-env-0123"},
		{env: "", want: "hvs.from-the-file-0123"},
	} {
		t.Setenv("VAULT_ADDR", vault.URL)
		t.Setenv("VAULT_TOKEN", tc.env)
		t.Setenv("VAULT_MAX_RETRIES", "0")
		t.Setenv("HOME", home)
		var stderr bytes.Buffer
		a := &app{stdout: &stderr, stderr: &stderr, getenv: os.Getenv, environ: os.Environ(), http: http.DefaultClient}
		a.log = newLogger(&stderr, false)
		code := a.run(context.Background(), newRelay(func() {}), []string{"exec", "--cred", "aws=m/creds/aws/x", "--", "true"})
		require.Equal(t, ExitDenied, code, stderr.String())
		require.Equal(t, tc.want, seen.Load())
	}
}
