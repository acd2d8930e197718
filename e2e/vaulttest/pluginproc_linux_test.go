package vaulttest

import (
	"os"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestKillPlugins(t *testing.T) {
	RequirePluginSource(t)
	p := BuildPlugin(t, "v0.1.0")
	s := StartRaft(t, Options{Plugins: []*Plugin{p}})
	s.RegisterPlugin(t, p)
	s.EnablePlugin(t, "mc", p)
	read := func() error {
		_, err := s.Client(t).Logical().Read("mc/providers")
		return err
	}
	require.NoError(t, read())
	before := s.PluginPIDs(t)
	require.Len(t, before, 1, "one multiplexed plugin process serves the mount")
	require.Equal(t, before, s.KillPlugins(t))

	// Vault starts the plugin again when the mount is next used.
	require.Eventually(t, func() bool { return read() == nil }, 30*time.Second, 200*time.Millisecond)
	after := s.PluginPIDs(t)
	require.Len(t, after, 1)
	require.False(t, slices.Contains(after, before[0]), "a new process")
}

func TestParentPID(t *testing.T) {
	require.Equal(t, os.Getppid(), parentPID(os.Getpid()))
	require.Equal(t, 0, parentPID(-1), "no such process")
}
