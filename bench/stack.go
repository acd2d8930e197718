package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/vault/api"
)

// pluginName is the plugin's binary and catalog name.
const pluginName = "vault-plugin-secrets-multicloud"

// stack is the real Vault dev server the benchmark runs in: its process
// (in its own process group, so its plugin processes die with it), its
// temporary directories, an API client and the CLI.
type stack struct {
	bin, version string
	dir          string // temporary: plugins/, home/, vault.log
	addr, token  string
	vault        *exec.Cmd
	client       *api.Client
	masker       *masker
}

// start launches `vault server -dev` on a free loopback port with a plugin
// directory holding a copy of the plugin, waits until it is healthy, and
// registers the plugin by sha256 and version.
func (s *stack) start(ctx context.Context) error {
	var err error
	if s.dir, err = os.MkdirTemp("", "multicloud-bench-"); err != nil {
		return err
	}
	plugins, home := filepath.Join(s.dir, "plugins"), filepath.Join(s.dir, "home")
	for _, d := range []string{plugins, home} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return err
		}
	}
	plugin := filepath.Join(plugins, pluginName)
	if err := copyFile(filepath.Join(s.bin, pluginName), plugin); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	s.addr = fmt.Sprintf("http://127.0.0.1:%d", port)
	s.token = "bench-" + randomHex(12)
	s.masker.add(s.token)
	logf, err := os.Create(filepath.Join(s.dir, "vault.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	s.vault = exec.Command(filepath.Join(s.bin, "vault"), "server", "-dev", "-dev-root-token-id="+s.token,
		fmt.Sprintf("-dev-listen-address=127.0.0.1:%d", port), "-dev-plugin-dir="+plugins, "-dev-no-store-token",
		"-log-level=warn")
	s.vault.Stdout, s.vault.Stderr = logf, logf
	s.vault.Env = append(cleanEnv(), "HOME="+home)
	s.vault.SysProcAttr = sysProcAttr()
	if err := s.vault.Start(); err != nil {
		return fmt.Errorf("start vault: %w (run make vault first)", err)
	}
	if err := waitHealthy(ctx, s.addr, 60*time.Second); err != nil {
		return err
	}

	cfg := api.DefaultConfig()
	cfg.Address = s.addr
	cfg.MaxRetries = 0 // a failed revoke must be seen, not retried by the client
	cfg.Timeout = 100 * time.Second
	if s.client, err = api.NewClient(cfg); err != nil {
		return err
	}
	s.client.SetToken(s.token)

	sum, err := fileSHA256(plugin)
	if err != nil {
		return err
	}
	_, err = s.client.Logical().WriteWithContext(ctx, "sys/plugins/catalog/secret/"+pluginName,
		map[string]any{"sha256": sum, "command": pluginName, "version": s.version})
	return err
}

// enable mounts a secrets engine: a builtin type, or the plugin at its
// registered version.
func (s *stack) enable(ctx context.Context, path, typ string) error {
	in := &api.MountInput{Type: typ}
	if typ == pluginName {
		in.Config.PluginVersion = s.version
	}
	return s.client.Sys().MountWithContext(ctx, path, in)
}

// write is `vault write` through the API; errors are masked.
func (s *stack) write(ctx context.Context, path string, data map[string]any) error {
	if _, err := s.client.Logical().WriteWithContext(ctx, path, data); err != nil {
		return fmt.Errorf("write %s: %s", path, s.masker.mask(err.Error()))
	}
	return nil
}

// cli runs the vault CLI against the dev server and returns its masked,
// combined output and its exit code. VAULT_MAX_RETRIES=0 so that the exit
// code is that of one attempt.
func (s *stack) cli(ctx context.Context, args ...string) (string, int, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(s.bin, "vault"), args...)
	cmd.Env = append(cleanEnv(), "VAULT_ADDR="+s.addr, "VAULT_TOKEN="+s.token, "VAULT_MAX_RETRIES=0",
		"HOME="+filepath.Join(s.dir, "home"))
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return s.masker.mask(string(out)), 0, nil
	case errors.As(err, &exit):
		return s.masker.mask(string(out)), exit.ExitCode(), nil
	default:
		return "", -1, err
	}
}

// vaultVersion returns `vault version` without its build date
// ("Vault v1.21.4").
func (s *stack) vaultVersion(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, filepath.Join(s.bin, "vault"), "version").Output()
	if err != nil {
		return "unknown"
	}
	v, _, _ := strings.Cut(strings.SplitN(string(out), "\n", 2)[0], ",")
	return strings.TrimSpace(v)
}

// stop ends Vault's whole process group (Vault and its plugin processes):
// SIGTERM, then SIGKILL after 10 s; then removes the temporary directory.
func (s *stack) stop() {
	if s.vault != nil && s.vault.Process != nil {
		pid := s.vault.Process.Pid
		_ = syscall.Kill(-pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = s.vault.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			<-done
		}
		// Plugin processes may outlive Vault by a moment: clear the group.
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
	}
}

// waitHealthy polls sys/health until Vault answers 200.
func waitHealthy(ctx context.Context, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, addr+"/v1/sys/health", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
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

// cleanEnv is the environment without VAULT_*, NOMAD_* and AWS_* variables,
// so a developer's own settings cannot redirect Vault's engines or the CLI.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VAULT_") && !strings.HasPrefix(kv, "NOMAD_") && !strings.HasPrefix(kv, "AWS_") {
			out = append(out, kv)
		}
	}
	return out
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("%w (run make build first)", err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
