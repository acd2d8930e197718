// Package reliability tests that nothing leaks when Vault dies, when its
// leader changes, when its plugin process dies or when a cloud misbehaves
// for a long time: the real Vault server (built by `make vault`) on
// integrated Raft storage, the plugin, and the emulated clouds with fault
// injection and holds (internal/emulator) on loopback.
//
// Every test is bounded in time and ends by proving that no cloud object
// is held by no lease, that no lease is irrevocable and that the leases
// issued before a crash still renew and revoke. `make test` runs a short
// version of each; `make test-reliability` (RELIABILITY=full) the full
// one, and writes the figures docs/reliability.md reports.
package reliability
