// Package vaulttest runs a real HashiCorp Vault server (v1.21.x) for
// end-to-end tests of the multicloud secrets plugin.
//
// It finds the vault binary (<repo>/bin/vault, built by `make vault`, or a
// vault on PATH), builds the plugin binary once per test binary and version,
// starts Vault on a free loopback port in dev mode, in persistent mode
// (file storage, initialised and unsealed with one key share, restartable)
// or on integrated Raft storage: one node (StartRaft) or a cluster of nodes
// on loopback ports that join with retry_join (StartCluster). A server can
// be SIGKILLed with its plugins (Crash) and restarted on its data, its
// plugin processes found and killed (KillPlugins), a file audit device
// enabled and a mount's storage read through sys/raw (inspect.go);
// registers the plugin in the catalog by sha256 and version, mounts, tunes
// and reloads it, and runs the vault CLI against the server.
//
// Without a vault binary every helper skips the test with a hint to run
// `make vault`; with E2E_REQUIRED=1 in the environment (CI sets it) it fails
// instead. Servers and their plugin processes are always killed when the test
// ends; on failure the tail of the server log is printed with secrets
// redacted.
//
// A typical test:
//
//	func TestMain(m *testing.M) { vaulttest.Main(m) }
//
//	func TestIssue(t *testing.T) {
//		p := vaulttest.BuildPlugin(t, "v0.1.0")
//		s := vaulttest.StartPersistent(t, vaulttest.Options{Plugins: []*vaulttest.Plugin{p}})
//		s.RegisterPlugin(t, p)
//		s.EnablePlugin(t, "mc", p)
//		secret, err := s.Client(t).Logical().Read("mc/providers")
//		...
//	}
package vaulttest
