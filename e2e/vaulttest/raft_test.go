package vaulttest

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRaftCrashAndRestart(t *testing.T) {
	t.Parallel()
	s := StartRaft(t, Options{RawStorageEndpoint: true, LogLevel: "trace"})
	require.Equal(t, Raft, s.Mode())
	require.Equal(t, "raft", s.Mode().String())
	peers, err := s.RaftPeers(t)
	require.NoError(t, err)
	require.Len(t, peers, 1)
	require.True(t, peers[0].Voter && peers[0].Leader, "%+v", peers[0])
	require.Equal(t, "node1", peers[0].NodeID)

	res := s.CLI(t, "secrets", "enable", "-path=kvtest", "-version=1", "kv")
	require.Equal(t, 0, res.ExitCode, res.Stderr)
	res = s.CLI(t, "kv", "put", "kvtest/greeting", "value=hello")
	require.Equal(t, 0, res.ExitCode, res.Stderr)

	audit := s.EnableFileAudit(t)
	require.Equal(t, s.AuditLogPath(), audit)
	res = s.CLI(t, "kv", "get", "kvtest/greeting")
	require.Equal(t, 0, res.ExitCode, res.Stderr)
	data, err := os.ReadFile(audit)
	require.NoError(t, err)
	require.Contains(t, string(data), "kvtest/greeting", "the audit device records requests")
	require.NotContains(t, string(data), "hello", "Vault HMACs response values in the audit log")

	// Storage through sys/raw: the kv entry as the backend wrote it.
	entries := s.MountStorage(t, "kvtest")
	require.Contains(t, string(entries["greeting"]), "hello")
	require.Equal(t, []string{"greeting"}, s.MountStorageKeys(t, "kvtest", ""))

	pid := s.pid()
	start := time.Now()
	s.Crash(t)
	require.False(t, groupAlive(pid), "SIGKILL leaves no process of the group")
	require.False(t, s.Running())
	s.Restart(t)
	t.Logf("raft node back and active %s after SIGKILL", time.Since(start).Round(time.Millisecond))
	res = s.CLI(t, "kv", "get", "-field=value", "kvtest/greeting")
	require.Equal(t, 0, res.ExitCode, res.Stderr)
	require.Equal(t, "hello", strings.TrimSpace(res.Stdout), "data survives a SIGKILL on raft storage")

	log, err := os.ReadFile(s.LogPath())
	require.NoError(t, err)
	require.Contains(t, string(log), "[TRACE]", "trace-level logging")
}

func TestCluster(t *testing.T) {
	t.Parallel()
	c := StartCluster(t, 3, Options{})
	t.Logf("cluster: %s", c)
	active := c.Active(t)
	require.Len(t, c.Standbys(t), 2)
	peers, err := active.RaftPeers(t)
	require.NoError(t, err)
	require.Len(t, peers, 3)
	for _, p := range peers {
		require.True(t, p.Voter, "%s is a voter", p.NodeID)
	}

	// A write through a standby is forwarded to the active node.
	standby := c.Standbys(t)[0]
	res := standby.CLI(t, "secrets", "enable", "-path=kvtest", "-version=1", "kv")
	require.Equal(t, 0, res.ExitCode, res.Stderr)
	res = standby.CLI(t, "kv", "put", "kvtest/k", "value=v1")
	require.Equal(t, 0, res.ExitCode, res.Stderr)

	start := time.Now()
	active.Crash(t)
	next := c.WaitActive(t, time.Minute)
	took := time.Since(start)
	require.NotSame(t, active, next)
	t.Logf("new leader %s after %s", next.NodeID(), took.Round(time.Millisecond))
	res = next.CLI(t, "kv", "get", "-field=value", "kvtest/k")
	require.Equal(t, 0, res.ExitCode, res.Stderr)
	require.Equal(t, "v1", strings.TrimSpace(res.Stdout))

	// The old leader comes back as a standby.
	active.Restart(t)
	require.Eventually(t, func() bool { return len(c.Standbys(t)) == 2 }, time.Minute, 500*time.Millisecond)
	c.WaitVoters(t)
}
