// Package devvault runs the real Vault server in dev mode on a loopback
// port for the programs that demonstrate and measure the plugin
// (cmd/multicloud-demo and bench): a private plugin directory holding
// copies of the plugin binaries, a private HOME, plugin registration by
// sha256 and version, and the vault CLI pointed at the server. Vault runs
// in its own process group, so Stop ends its plugin processes too.
//
// The end-to-end tests have their own harness, e2e/vaulttest; it shares
// only FileSHA256 and CopyFile with this package.
package devvault

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Timeouts of Start and Stop.
const (
	// HealthTimeout is how long Start waits for sys/health to answer 200.
	HealthTimeout = 60 * time.Second
	// StopGrace is how long Stop waits after SIGTERM before SIGKILL.
	StopGrace = 10 * time.Second
)

// Options configure Start.
type Options struct {
	// VaultBin is the path of the vault binary, used for the server and
	// the CLI.
	VaultBin string
	// Plugins are plugin binaries to copy into the server's plugin
	// directory, each under its base name.
	Plugins []string
	// LogPath is the file the server's output goes to (created or
	// truncated). Empty: vault.log in the server's temporary directory,
	// removed by Stop.
	LogPath string
	// Token is the root token. Empty: a random one.
	Token string
	// LogLevel is passed as -log-level when not empty.
	LogLevel string
	// Env holds extra KEY=value variables for every CLI command (not for
	// the server), e.g. VAULT_MAX_RETRIES=0.
	Env []string
	// CleanEnvPrefixes are prefixes of variables the server and the CLI
	// do not inherit, besides VAULT_* (the clouds' own, e.g. "AWS_").
	CleanEnvPrefixes []string
}

// Server is a running Vault dev server.
type Server struct {
	// Addr is the server's URL, http://127.0.0.1:<port>.
	Addr string
	// Token is the root token.
	Token string
	// PluginDir is the server's plugin directory (-dev-plugin-dir).
	PluginDir string
	// LogPath is the file holding the server's output.
	LogPath string

	vaultBin string
	dir      string // temporary: plugins/, home/ and maybe vault.log
	home     string
	env      []string
	cmd      *exec.Cmd
	stopOnce sync.Once
}

// Start launches `vault server -dev` on a free 127.0.0.1 port with a
// temporary plugin directory holding copies of opts.Plugins and a private
// HOME, and waits (at most HealthTimeout) until sys/health answers 200.
// On error everything it started is stopped and removed again.
func Start(ctx context.Context, opts Options) (*Server, error) {
	s := &Server{vaultBin: opts.VaultBin, Token: opts.Token, LogPath: opts.LogPath}
	if err := s.start(ctx, opts); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) start(ctx context.Context, opts Options) error {
	var err error
	if s.dir, err = os.MkdirTemp("", "devvault-"); err != nil {
		return err
	}
	s.PluginDir, s.home = filepath.Join(s.dir, "plugins"), filepath.Join(s.dir, "home")
	for _, d := range []string{s.PluginDir, s.home} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return err
		}
	}
	for _, p := range opts.Plugins {
		if err := CopyFile(p, filepath.Join(s.PluginDir, filepath.Base(p))); err != nil {
			return fmt.Errorf("%w (run make build first)", err)
		}
	}
	port, err := FreePort()
	if err != nil {
		return err
	}
	s.Addr = fmt.Sprintf("http://127.0.0.1:%d", port)
	if s.Token == "" {
		s.Token = randomHex(16)
	}
	if s.LogPath == "" {
		s.LogPath = filepath.Join(s.dir, "vault.log")
	}
	logf, err := os.Create(s.LogPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	s.env = cliEnv(CleanEnv(opts.CleanEnvPrefixes...), s.Addr, s.Token, s.home, opts.Env)

	s.cmd = exec.Command(s.vaultBin, serverArgs(port, s.Token, s.PluginDir, opts.LogLevel)...)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.Env = append(CleanEnv(opts.CleanEnvPrefixes...), "HOME="+s.home)
	if err := StartProcess(s.cmd); err != nil {
		s.cmd = nil
		return fmt.Errorf("%w (run make vault first)", err)
	}
	if err := waitHealthy(ctx, s.Addr, HealthTimeout); err != nil {
		if opts.LogPath != "" {
			return fmt.Errorf("%w (server log: %s)", err, s.LogPath)
		}
		return err
	}
	return nil
}

// serverArgs is the dev server's command line.
func serverArgs(port int, token, pluginDir, logLevel string) []string {
	args := []string{"server", "-dev", "-dev-root-token-id=" + token,
		fmt.Sprintf("-dev-listen-address=127.0.0.1:%d", port), "-dev-plugin-dir=" + pluginDir, "-dev-no-store-token"}
	if logLevel != "" {
		args = append(args, "-log-level="+logLevel)
	}
	return args
}

// cliEnv is the environment of CLI commands: base plus the server's
// address and token, the private HOME and the extra variables.
func cliEnv(base []string, addr, token, home string, extra []string) []string {
	env := append(append([]string{}, base...), "VAULT_ADDR="+addr, "VAULT_TOKEN="+token, "HOME="+home)
	return append(env, extra...)
}

// Stop ends the server's whole process group (Vault and its plugin
// processes): SIGTERM, then SIGKILL after StopGrace. Then it removes the
// temporary directories. A LogPath given in Options is kept. Stop may be
// called more than once, and on a nil Server.
func (s *Server) Stop() {
	if s == nil {
		return
	}
	s.stopOnce.Do(func() {
		if s.cmd != nil {
			StopProcess(s.cmd, StopGrace)
		}
		if s.dir != "" {
			_ = os.RemoveAll(s.dir)
		}
	})
}

// CLI runs the vault CLI with args against the server and returns its
// combined output and exit code. A command that ran and failed is not an
// error: err is only set when it could not be run (exit is -1 then).
func (s *Server) CLI(ctx context.Context, args ...string) (out string, exit int, err error) {
	cmd := exec.CommandContext(ctx, s.vaultBin, args...)
	cmd.Env = s.env
	b, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(b), 0, nil
	case errors.As(err, &ee):
		return string(b), ee.ExitCode(), nil
	default:
		return "", -1, err
	}
}

// RegisterPlugin registers the secrets plugin command (a file in
// PluginDir) in the catalog as name at version, with the sha256 of the
// installed file.
func (s *Server) RegisterPlugin(ctx context.Context, name, command, version string) error {
	sum, err := FileSHA256(filepath.Join(s.PluginDir, command))
	if err != nil {
		return err
	}
	return s.request(ctx, http.MethodPut, "sys/plugins/catalog/secret/"+name,
		map[string]any{"sha256": sum, "command": command, "version": version})
}

// Enable mounts a secrets engine of type typ at path: a builtin type, or
// a registered plugin at pluginVersion (empty for builtin types).
func (s *Server) Enable(ctx context.Context, path, typ, pluginVersion string) error {
	body := map[string]any{"type": typ}
	if pluginVersion != "" {
		body["config"] = map[string]any{"plugin_version": pluginVersion}
	}
	return s.request(ctx, http.MethodPost, "sys/mounts/"+path, body)
}

// request sends body as JSON to /v1/<path> with the root token and fails
// unless Vault answers 2xx.
func (s *Server) request(ctx context.Context, method, path string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, s.Addr+"/v1/"+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("X-Vault-Token", s.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}

// httpClient talks to the dev server; loopback requests bypass proxies.
var httpClient = &http.Client{Timeout: 30 * time.Second}

// waitHealthy polls sys/health until Vault answers 200.
func waitHealthy(ctx context.Context, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, addr+"/v1/sys/health", nil)
		if err != nil {
			return err
		}
		if resp, err := httpClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("vault did not become healthy within %s", timeout)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
