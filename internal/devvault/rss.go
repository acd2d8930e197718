package devvault

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
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
	var total int64
	n := 0
	err := eachChild(procDir, ppid, exe, func(pid int, fields map[string]string) error {
		kb, err := strconv.ParseInt(strings.TrimSuffix(fields["VmRSS"], " kB"), 10, 64)
		if err != nil {
			return fmt.Errorf("pid %d: VmRSS %q: %w", pid, fields["VmRSS"], err)
		}
		total += kb * 1024
		n++
		return nil
	})
	return total, n, err
}

// eachChild calls fn with the pid and /proc/<pid>/status fields of every
// process under procDir whose parent is ppid and whose executable is exe.
func eachChild(procDir string, ppid int, exe string, fn func(pid int, status map[string]string) error) error {
	entries, err := os.ReadDir(procDir)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoProcFS, err)
	}
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
		if err := fn(pid, fields); err != nil {
			return err
		}
	}
	return nil
}

// CPU returns the CPU time (user and system) the server process and its
// plugin processes running the plugin binary named name have used so far,
// from /proc/<pid>/stat.
func (s *Server) CPU(name string) (server, plugins time.Duration, err error) {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0, 0, errors.New("the server is not running")
	}
	return processCPU("/proc", s.cmd.Process.Pid, filepath.Join(s.PluginDir, name))
}

// userHZ is the unit of the CPU times in /proc/<pid>/stat (USER_HZ, 100
// on every Linux architecture's /proc ABI).
const userHZ = 100

// processCPU returns the CPU time of process pid and the sum over its
// children running exe.
func processCPU(procDir string, pid int, exe string) (self, children time.Duration, err error) {
	if self, err = statCPU(filepath.Join(procDir, strconv.Itoa(pid), "stat")); err != nil {
		return 0, 0, err
	}
	err = eachChild(procDir, pid, exe, func(child int, _ map[string]string) error {
		d, err := statCPU(filepath.Join(procDir, strconv.Itoa(child), "stat"))
		children += d
		return err
	})
	return self, children, err
}

// statCPU reads utime + stime from a /proc/<pid>/stat file: fields 14 and
// 15, counted after the command name in parentheses (which may hold
// spaces).
func statCPU(path string) (time.Duration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrNoProcFS, err)
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("%s: no command name", path)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("%s: %d fields after the command name", path, len(f))
	}
	var ticks int64
	for _, v := range f[11:13] { // utime, stime
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %q: %w", path, v, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
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
