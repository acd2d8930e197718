package vaulttest

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// PluginPIDs returns the process ids of the plugin processes the server
// runs now: its child processes whose executable lies in its plugin
// directory.
func (s *Server) PluginPIDs(t testing.TB) []int {
	t.Helper()
	vault := s.pid()
	if vault == 0 {
		return nil
	}
	dir, err := filepath.EvalSymlinks(s.pluginDir)
	if err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("vaulttest: listing processes: %v", err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || parentPID(pid) != vault {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil {
			continue
		}
		if filepath.Dir(strings.TrimSuffix(exe, " (deleted)")) == dir {
			pids = append(pids, pid)
		}
	}
	return pids
}

// KillPlugins SIGKILLs every plugin process of the server (see PluginPIDs)
// and returns their ids. Vault notices on the next call to the plugin and
// starts it again.
func (s *Server) KillPlugins(t testing.TB) []int {
	t.Helper()
	pids := s.PluginPIDs(t)
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && err != syscall.ESRCH {
			t.Fatalf("vaulttest: killing plugin process %d: %v", pid, err)
		}
	}
	return pids
}

// parentPID reads the parent process id from /proc/<pid>/stat; 0 if the
// process is gone. The command name (field 2) may hold spaces and
// parentheses, so fields are counted after its closing parenthesis.
func parentPID(pid int) int {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(fields[1]) // fields[0] is the state
	return ppid
}
