//go:build !linux

package vaulttest

import "testing"

// PluginPIDs needs /proc; elsewhere it skips the test.
func (s *Server) PluginPIDs(t testing.TB) []int {
	t.Helper()
	t.Skip("vaulttest: finding plugin processes needs Linux /proc")
	return nil
}

// KillPlugins needs /proc; elsewhere it skips the test.
func (s *Server) KillPlugins(t testing.TB) []int {
	t.Helper()
	t.Skip("vaulttest: finding plugin processes needs Linux /proc")
	return nil
}
