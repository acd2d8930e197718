package devvault

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrNoProcFS means the process table cannot be read (not Linux).
var ErrNoProcFS = errors.New("reading process memory needs Linux /proc")

// PluginRSS returns the resident memory, in bytes, of the server's
// plugin processes running the plugin binary named name (a file in
// PluginDir), summed, and how many there are. It reads VmRSS in
// /proc/<pid>/status of the server's children whose executable is that
// file.
func (s *Server) PluginRSS(name string) (rss int64, procs int, err error) {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0, 0, errors.New("the server is not running")
	}
	return childRSS("/proc", s.cmd.Process.Pid, filepath.Join(s.PluginDir, name))
}

// childRSS sums VmRSS of the processes under procDir whose parent is ppid
// and whose executable is exe.
func childRSS(procDir string, ppid int, exe string) (int64, int, error) {
	entries, err := os.ReadDir(procDir)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %v", ErrNoProcFS, err)
	}
	var total int64
	n := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		dir := filepath.Join(procDir, e.Name())
		status, err := os.ReadFile(filepath.Join(dir, "status"))
		if err != nil {
			continue // gone meanwhile
		}
		fields := statusFields(string(status))
		if fields["PPid"] != strconv.Itoa(ppid) {
			continue
		}
		if target, err := os.Readlink(filepath.Join(dir, "exe")); err != nil || strings.TrimSuffix(target, " (deleted)") != exe {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(fields["VmRSS"], " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("pid %d: VmRSS %q: %w", pid, fields["VmRSS"], err)
		}
		total += kb * 1024
		n++
	}
	return total, n, nil
}

// statusFields parses /proc/<pid>/status ("Key:\tvalue" lines).
func statusFields(s string) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok {
			out[k] = strings.TrimSpace(v)
		}
	}
	return out
}
