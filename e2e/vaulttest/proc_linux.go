package vaulttest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// sysProcAttr puts vault in its own process group (so that its plugin
// processes can be killed with it) and has the kernel kill it if the test
// binary dies without cleaning up.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// terminate asks vault to shut down gracefully.
func terminate(p *os.Process) error { return p.Signal(syscall.SIGTERM) }

// killGroup kills vault's process group: vault and the plugins it started.
func killGroup(p *os.Process) error { return syscall.Kill(-p.Pid, syscall.SIGKILL) }

// reapOrphans kills plugin processes left behind by an earlier test binary
// that died without cleaning up (e.g. on a -timeout panic): the kernel kills
// vault then (Pdeathsig), but its plugin processes survive it. Only processes
// whose executable lies in a plugin directory next to an ownerFile that names
// a test process which no longer exists are killed.
func reapOrphans() {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	self := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil || strings.HasSuffix(exe, " (deleted)") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(exe)), ownerFile))
		if err != nil {
			continue
		}
		owner, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || owner <= 0 || owner == self {
			continue
		}
		if processGone(owner) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// processGone reports whether no process with this pid exists.
func processGone(pid int) bool { return syscall.Kill(pid, 0) == syscall.ESRCH }
