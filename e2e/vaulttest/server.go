package vaulttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
)

// Mode says how a Server stores its data.
type Mode int

const (
	// Dev is `vault server -dev`: in-memory storage, unsealed at start, a
	// root token chosen by the harness. It cannot be restarted.
	Dev Mode = iota
	// Persistent is a server with file storage in a temporary directory,
	// initialised with one key share and unsealed by the harness; Restart
	// keeps its data.
	Persistent
)

// String returns "dev", "persistent" or "raft".
func (m Mode) String() string {
	switch m {
	case Dev:
		return "dev"
	case Raft:
		return "raft"
	}
	return "persistent"
}

const (
	defaultStartTimeout = 90 * time.Second
	stopTimeout         = 15 * time.Second
	logTailLines        = 80
	bindAttempts        = 3

	// ownerFile, next to every plugin directory (not in it: dev servers
	// register every file there), holds the pid of the test binary that
	// owns it (see reapOrphans).
	ownerFile = ".vaulttest-owner"
)

var reapOnce sync.Once

// Options configures a Server. The zero value is a server with an empty
// plugin directory.
type Options struct {
	// Plugins are installed into the server's plugin directory before it
	// starts (see Server.InstallPlugin); they still need RegisterPlugin.
	Plugins []*Plugin
	// DevAutoRegister (Dev only) passes -dev-plugin-dir instead of a
	// plugin_directory setting, so Vault registers every file in the plugin
	// directory at start, named after the file (Plugin.Command) with the
	// version the binary reports. By default nothing is registered.
	DevAutoRegister bool
	// LogLevel is the server's -log-level; "debug" by default.
	LogLevel string
	// Env holds extra KEY=value pairs for the server process (and so for
	// the plugin processes it starts).
	Env []string
	// StartTimeout bounds each start (listening, unsealed, active); 90s by
	// default.
	StartTimeout time.Duration
	// RawStorageEndpoint (Raft only) enables sys/raw, through which
	// MountStorage reads a mount's storage entries.
	RawStorageEndpoint bool
}

// Server is a running Vault server owned by a test. All its methods take the
// calling test, so subtests fail themselves, not the test that started it.
type Server struct {
	mode      Mode
	bin       string
	opts      Options
	dir       string // root of everything the server writes
	pluginDir string
	dataDir   string
	homeDir   string
	logPath   string
	log       *redactingWriter

	mu        sync.Mutex
	port      int
	token     string
	unsealKey string
	proc      *process

	raft *raftNode // Raft mode only (raft.go)
}

// StartDev starts `vault server -dev` on a free 127.0.0.1 port and waits
// until it is unsealed and active. The server is stopped when t ends.
func StartDev(t testing.TB, opts Options) *Server {
	t.Helper()
	return start(t, Dev, opts)
}

// StartPersistent starts a server with file storage, initialises it with one
// key share, unseals it and waits until it is active. The server is stopped
// when t ends; Restart restarts it on the same storage.
func StartPersistent(t testing.TB, opts Options) *Server {
	t.Helper()
	return start(t, Persistent, opts)
}

func start(t testing.TB, mode Mode, opts Options) *Server {
	t.Helper()
	s := newServer(t, mode, opts)
	s.launch(t)
	if mode != Dev {
		s.initialize(t)
		s.unseal(t)
	}
	s.waitActive(t)
	return s
}

// newServer prepares a server's directories, log and cleanup without
// starting it.
func newServer(t testing.TB, mode Mode, opts Options) *Server {
	t.Helper()
	bin := FindVault(t)
	reapOnce.Do(reapOrphans)
	if opts.LogLevel == "" {
		opts.LogLevel = "debug"
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = defaultStartTimeout
	}
	if opts.DevAutoRegister && mode != Dev {
		t.Fatalf("vaulttest: DevAutoRegister needs a Dev server")
	}
	dir := t.TempDir()
	s := &Server{
		mode:      mode,
		bin:       bin,
		opts:      opts,
		dir:       dir,
		pluginDir: filepath.Join(dir, "plugins"),
		dataDir:   filepath.Join(dir, "data"),
		homeDir:   filepath.Join(dir, "home"),
		logPath:   filepath.Join(dir, "vault.log"),
	}
	for _, d := range []string{s.pluginDir, s.dataDir, s.homeDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatalf("vaulttest: %v", err)
		}
	}
	// Vault refuses a plugin directory that is group- or world-writable.
	if err := os.Chmod(s.pluginDir, 0o755); err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	owner := []byte(strconv.Itoa(os.Getpid()) + "\n")
	if err := os.WriteFile(filepath.Join(s.dir, ownerFile), owner, 0o644); err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	f, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	s.log = newRedactingWriter(f)
	for _, p := range opts.Plugins {
		s.InstallPlugin(t, p)
	}
	if mode == Dev {
		s.token = "dev-" + randomHex(t, 12)
		s.log.addSecret(s.token)
	}

	// Registered before anything can fail, and after t.TempDir, so it runs
	// before the directory is removed.
	t.Cleanup(func() {
		s.kill()
		if t.Failed() {
			t.Logf("vaulttest: %s server log %s, last %d lines (secrets redacted):\n%s",
				s.mode, s.logPath, logTailLines, s.LogTail(logTailLines))
		}
		_ = s.log.Close()
	})
	return s
}

// Mode reports whether the server is a Dev or a Persistent one.
func (s *Server) Mode() Mode { return s.mode }

// Addr is the server's address, http://127.0.0.1:<port>.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return "http://127.0.0.1:" + strconv.Itoa(s.port)
}

// Token is the root token. Do not log it.
func (s *Server) Token() string { return s.token }

// PluginDir is the server's plugin directory.
func (s *Server) PluginDir() string { return s.pluginDir }

// LogPath is the file the server's stdout and stderr go to (secrets
// redacted).
func (s *Server) LogPath() string { return s.logPath }

// Client returns a new API client for the server, authenticated with the
// root token. It ignores VAULT_* settings of the environment.
func (s *Server) Client(t testing.TB) *api.Client {
	t.Helper()
	c, err := s.newClient(s.token)
	if err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	return c
}

func (s *Server) newClient(token string) (*api.Client, error) {
	// DefaultConfig reads VAULT_* variables; whatever it makes of them
	// (e.g. a VAULT_CACERT for another server) is overridden or irrelevant
	// over plain HTTP, so its Error is ignored.
	cfg := api.DefaultConfig()
	cfg.Error = nil
	cfg.Address = s.Addr()
	cfg.Timeout = 60 * time.Second
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	c.ClearNamespace()
	c.SetCloneHeaders(false)
	if token == "" {
		c.ClearToken()
	} else {
		c.SetToken(token)
	}
	return c, nil
}

// InstallPlugin puts the plugin binary into the server's plugin directory
// under p.Command (a hard link or a copy, never a symlink).
func (s *Server) InstallPlugin(t testing.TB, p *Plugin) {
	t.Helper()
	if err := installFile(p.Path, filepath.Join(s.pluginDir, p.Command)); err != nil {
		t.Fatalf("vaulttest: installing plugin %s: %v", p.Version, err)
	}
}

// Stop stops the server (SIGTERM, then SIGKILL after 15s) together with the
// plugin processes it started. Stopping a stopped server does nothing.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.kill()
}

// Restart stops a Persistent or Raft server and starts it again on the same
// storage and port, unseals it and waits until it is active (a node of a
// Raft cluster: until it serves, as active node or standby). Plugin mounts
// come back as Vault reloads them.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if s.mode == Dev {
		t.Fatalf("vaulttest: Restart needs a Persistent or Raft server; a dev server keeps nothing")
	}
	s.kill()
	s.launch(t)
	s.unseal(t)
	s.waitReady(t)
}

// LogTail returns the last n lines of the server log.
func (s *Server) LogTail(n int) string {
	data, err := os.ReadFile(s.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", s.logPath, err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// launch starts the process and waits until it answers sys/health, retrying
// on a fresh port if the chosen one was taken in the meantime.
func (s *Server) launch(t testing.TB) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		s.mu.Lock()
		// A Raft node keeps its ports: its peers know them.
		if s.port == 0 || (attempt > 1 && s.raft == nil) {
			s.port = freePort(t)
		}
		s.mu.Unlock()
		offset := s.log.Size()
		args, err := s.args()
		if err != nil {
			t.Fatalf("vaulttest: %v", err)
		}
		p, err := startProcess(s.bin, args, s.env(), s.dir, s.log)
		if err != nil {
			t.Fatalf("vaulttest: starting %s: %v", s.bin, err)
		}
		s.mu.Lock()
		s.proc = p
		s.mu.Unlock()
		err = s.waitListening(p)
		if err == nil {
			return
		}
		s.kill()
		if s.raft == nil && attempt < bindAttempts && strings.Contains(s.log.Since(offset), "address already in use") {
			continue
		}
		t.Fatalf("vaulttest: %s server did not come up on %s: %v", s.mode, s.Addr(), err)
	}
}

func (s *Server) args() ([]string, error) {
	if s.mode == Raft {
		return s.raftArgs()
	}
	addr := "127.0.0.1:" + strconv.Itoa(s.port)
	cfgPath := filepath.Join(s.dir, "vault.hcl")
	var cfg strings.Builder
	// Clustering would listen on port+1, which may belong to someone else.
	cfg.WriteString("disable_clustering = true\n")
	if !s.opts.DevAutoRegister {
		fmt.Fprintf(&cfg, "plugin_directory = %q\n", s.pluginDir)
	}
	args := []string{"server", "-log-level=" + s.opts.LogLevel, "-config=" + cfgPath}
	if s.mode == Dev {
		args = append(args, "-dev",
			"-dev-root-token-id="+s.token,
			"-dev-listen-address="+addr,
			"-dev-no-store-token")
		if s.opts.DevAutoRegister {
			args = append(args, "-dev-plugin-dir="+s.pluginDir)
		}
	} else {
		fmt.Fprintf(&cfg, "disable_mlock = true\n")
		fmt.Fprintf(&cfg, "api_addr = %q\n", "http://"+addr)
		fmt.Fprintf(&cfg, "storage \"file\" {\n  path = %q\n}\n", s.dataDir)
		fmt.Fprintf(&cfg, "listener \"tcp\" {\n  address = %q\n  tls_disable = true\n}\n", addr)
	}
	return args, os.WriteFile(cfgPath, []byte(cfg.String()), 0o600)
}

// env is the environment of the server: the test's environment without
// VAULT_* settings, with its own HOME (so nothing touches ~/.vault-token).
func (s *Server) env() []string {
	env := cleanEnv(s.homeDir)
	return append(env, s.opts.Env...)
}

func cleanEnv(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "VAULT_") || strings.HasPrefix(kv, "HOME=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+home)
}

// waitListening polls sys/health until the server answers anything.
func (s *Server) waitListening(p *process) error {
	c, err := s.newClient("")
	if err != nil {
		return err
	}
	c.SetMaxRetries(0)
	deadline := time.Now().Add(s.opts.StartTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := c.Sys().HealthWithContext(ctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("vault exited: %v", p.err)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer from sys/health within %s: %v", s.opts.StartTimeout, err)
		}
	}
}

// waitActive polls sys/health until the server is initialised, unsealed and
// active.
func (s *Server) waitActive(t testing.TB) {
	t.Helper()
	c, err := s.newClient("")
	if err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	c.SetMaxRetries(0)
	deadline := time.Now().Add(s.opts.StartTimeout)
	var last string
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		h, err := c.Sys().HealthWithContext(ctx)
		cancel()
		switch {
		case err != nil:
			last = err.Error()
		case h.Initialized && !h.Sealed && !h.Standby:
			return
		default:
			last = fmt.Sprintf("initialized=%v sealed=%v standby=%v", h.Initialized, h.Sealed, h.Standby)
		}
		s.mu.Lock()
		p := s.proc
		s.mu.Unlock()
		select {
		case <-p.done:
			t.Fatalf("vaulttest: vault exited while waiting to become active: %v", p.err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("vaulttest: %s server not active within %s: %s", s.mode, s.opts.StartTimeout, last)
}

func (s *Server) initialize(t testing.TB) {
	t.Helper()
	c, err := s.newClient("")
	if err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	resp, err := c.Sys().InitWithContext(context.Background(), &api.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatalf("vaulttest: operator init: %v", err)
	}
	if len(resp.KeysB64) != 1 || resp.RootToken == "" {
		t.Fatalf("vaulttest: operator init returned %d keys and a root token of length %d", len(resp.KeysB64), len(resp.RootToken))
	}
	s.unsealKey, s.token = resp.KeysB64[0], resp.RootToken
	s.log.addSecret(s.unsealKey, resp.Keys[0], s.token)
}

func (s *Server) unseal(t testing.TB) {
	t.Helper()
	c, err := s.newClient("")
	if err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	st, err := c.Sys().UnsealWithContext(context.Background(), s.unsealKey)
	if err != nil {
		t.Fatalf("vaulttest: unseal: %v", err)
	}
	if st.Sealed {
		t.Fatalf("vaulttest: still sealed after the unseal key (progress %d/%d)", st.Progress, st.T)
	}
}

// kill stops the current process, if any.
func (s *Server) kill() {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p != nil {
		p.stop(stopTimeout)
	}
}

// freePort asks the kernel for a free loopback port.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("vaulttest: finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	return hex.EncodeToString(b)
}

// process is a running vault server.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // the result of Wait, valid after done
}

func startProcess(bin string, args, env []string, dir string, log *redactingWriter) (*process, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Dir = dir
	cmd.Stdout = log
	cmd.Stderr = log
	cmd.SysProcAttr = sysProcAttr()
	// Plugin processes inherit the output pipe; do not wait for them forever.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// stop asks vault to shut down, kills it after timeout, and then kills
// whatever is left of its process group (plugin processes).
func (p *process) stop(timeout time.Duration) {
	select {
	case <-p.done:
	default:
		_ = terminate(p.cmd.Process)
		select {
		case <-p.done:
		case <-time.After(timeout):
			_ = killGroup(p.cmd.Process)
			<-p.done
		}
	}
	_ = killGroup(p.cmd.Process)
}

// pid is the process id of the running vault, or 0.
func (s *Server) pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return 0
	}
	return s.proc.cmd.Process.Pid
}
