package vaulttest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { Main(m) }

// servers lists both kinds of server, for table-driven tests.
var servers = []struct {
	name  string
	mode  Mode
	start func(testing.TB, Options) *Server
}{
	{"dev", Dev, StartDev},
	{"persistent", Persistent, StartPersistent},
}

func TestServer(t *testing.T) {
	for _, tc := range servers {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := tc.start(t, Options{})
			require.Equal(t, tc.mode, s.Mode())
			require.True(t, strings.HasPrefix(s.Addr(), "http://127.0.0.1:"), s.Addr())

			health, err := s.Client(t).Sys().Health()
			require.NoError(t, err)
			require.True(t, health.Initialized)
			require.False(t, health.Sealed)
			require.True(t, strings.HasPrefix(health.Version, "1.21."), health.Version)

			res := s.CLI(t, "secrets", "enable", "-path=kvtest", "-version=1", "kv")
			require.Equal(t, 0, res.ExitCode, res.Stderr)
			res = s.CLI(t, "kv", "put", "kvtest/greeting", "value=hello")
			require.Equal(t, 0, res.ExitCode, res.Stderr)
			res = s.CLI(t, "kv", "get", "-field=value", "kvtest/greeting")
			require.Equal(t, 0, res.ExitCode, res.Stderr)
			require.Equal(t, "hello", strings.TrimSpace(res.Stdout))

			res = s.CLI(t, "read", "kvtest/missing")
			require.NotEqual(t, 0, res.ExitCode, "reading a missing key must fail")

			log, err := os.ReadFile(s.LogPath())
			require.NoError(t, err)
			require.NotContains(t, string(log), s.Token(), "the root token must not reach the log")

			if tc.mode == Persistent {
				s.Restart(t)
				res = s.CLI(t, "kv", "get", "-field=value", "kvtest/greeting")
				require.Equal(t, 0, res.ExitCode, res.Stderr)
				require.Equal(t, "hello", strings.TrimSpace(res.Stdout), "data must survive a restart")
			} else {
				require.Panics(t, func() { s.Restart(panicTB{t}) }, "a dev server cannot restart")
			}

			pid := s.pid()
			s.Stop(t)
			require.False(t, groupAlive(pid), "vault and its plugins must be gone after Stop")
			s.Stop(t) // idempotent
		})
	}
}

func TestPlugin(t *testing.T) {
	RequirePluginSource(t)
	FindVault(t)
	v1 := BuildPlugin(t, "v0.1.0")
	v2 := BuildPlugin(t, "v0.2.0")
	require.Same(t, v1, BuildPlugin(t, "v0.1.0"), "one build per version")
	require.Len(t, v1.SHA256, 64)
	require.NotEqual(t, v1.SHA256, v2.SHA256)

	for _, tc := range servers {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := tc.start(t, Options{Plugins: []*Plugin{v1, v2}})
			const mount = "multicloud"
			s.RegisterPlugin(t, v1)
			s.EnablePlugin(t, mount, v1)
			configured, running := s.MountVersions(t, mount)
			require.Equal(t, "v0.1.0", configured)
			require.Equal(t, "v0.1.0", running)

			readProviders := func() {
				t.Helper()
				secret, err := s.Client(t).Logical().Read(mount + "/providers")
				require.NoError(t, err)
				require.NotNil(t, secret, "%s/providers answered nothing", mount)
			}
			readProviders()

			// Upgrade: register v0.2.0, tune the mount to it, reload.
			s.RegisterPlugin(t, v2)
			s.TunePluginVersion(t, mount, v2.Version)
			_, running = s.MountVersions(t, mount)
			require.Equal(t, "v0.1.0", running, "tune alone does not switch the running version")
			s.ReloadMounts(t, mount)
			configured, running = s.MountVersions(t, mount)
			require.Equal(t, "v0.2.0", configured)
			require.Equal(t, "v0.2.0", running)
			readProviders()

			res := s.CLI(t, "plugin", "info", "-version=v0.2.0", "secret", PluginName)
			require.Equal(t, 0, res.ExitCode, res.Stderr)
			require.Contains(t, res.Stdout, v2.SHA256)

			if tc.mode == Persistent {
				s.Restart(t)
				_, running = s.MountVersions(t, mount)
				require.Equal(t, "v0.2.0", running)
				readProviders()
			}

			pid := s.pid()
			s.Stop(t)
			require.False(t, groupAlive(pid), "vault and its plugin processes must be gone after Stop")
		})
	}
}

func TestDevAutoRegister(t *testing.T) {
	RequirePluginSource(t)
	FindVault(t)
	p := BuildPlugin(t, "v0.1.0")
	s := StartDev(t, Options{Plugins: []*Plugin{p}, DevAutoRegister: true})
	// Registered under the file name, with the version the binary reports.
	res := s.CLI(t, "plugin", "info", "-version="+p.Version, "secret", p.Command)
	require.Equal(t, 0, res.ExitCode, res.Stderr)
	require.Contains(t, res.Stdout, p.SHA256)
}

func TestRedactingWriter(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
		writes  []string
		want    string
	}{
		{
			name:   "dev banner",
			writes: []string{"Unseal Key: abc+/=\nRoot Token: dev-123\n"},
			want:   "Unseal Key: <redacted>\nRoot Token: <redacted>\n",
		},
		{
			name:   "prose mentioning the root token",
			writes: []string{"The root token is already\nauthenticated.\nvariables:\n\n    $ export VAULT_ADDR='x'\n"},
			want:   "The root token is already\nauthenticated.\nvariables:\n\n    $ export VAULT_ADDR='x'\n",
		},
		{
			name:   "service token anywhere",
			writes: []string{"token=hvs.CAESIJlWh1x2kEXAMPLEexample123 ok\n"},
			want:   "token=<redacted> ok\n",
		},
		{
			name:    "known secret split across writes",
			secrets: []string{"s3cr3t"},
			writes:  []string{"token s3", "cr3t used\nnext"},
			want:    "token <redacted> used\nnext\n",
		},
		{
			name:   "ordinary lines untouched",
			writes: []string{"core: vault is unsealed\n"},
			want:   "core: vault is unsealed\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := os.Create(filepath.Join(t.TempDir(), "log"))
			require.NoError(t, err)
			w := newRedactingWriter(f)
			w.addSecret(tc.secrets...)
			for _, s := range tc.writes {
				n, err := w.Write([]byte(s))
				require.NoError(t, err)
				require.Equal(t, len(s), n)
			}
			require.NoError(t, w.Close())
			got, err := os.ReadFile(f.Name())
			require.NoError(t, err)
			require.Equal(t, tc.want, string(got))
			require.False(t, bytes.Contains(got, []byte("s3cr3t")))
		})
	}
}

func TestCleanEnv(t *testing.T) {
	t.Setenv("VAULT_TOKEN", "from-the-user")
	t.Setenv("VAULT_NAMESPACE", "ns1")
	env := cleanEnv("/nowhere")
	for _, kv := range env {
		require.False(t, strings.HasPrefix(kv, "VAULT_"), kv)
	}
	require.Contains(t, env, "HOME=/nowhere")
}

// panicTB turns Fatalf into a panic, to test that a helper refuses.
type panicTB struct{ testing.TB }

func (p panicTB) Fatalf(format string, args ...any) { panic(format) }
func (p panicTB) Helper()                           {}
