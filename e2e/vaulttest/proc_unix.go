//go:build unix && !linux

package vaulttest

import (
	"os"
	"syscall"
)

// sysProcAttr puts vault in its own process group, so that its plugin
// processes can be killed with it.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// terminate asks vault to shut down gracefully.
func terminate(p *os.Process) error { return p.Signal(syscall.SIGTERM) }

// killGroup kills vault's process group: vault and the plugins it started.
func killGroup(p *os.Process) error { return syscall.Kill(-p.Pid, syscall.SIGKILL) }

// reapOrphans is implemented on Linux only.
func reapOrphans() {}

// processGone reports whether no process with this pid exists.
func processGone(pid int) bool { return syscall.Kill(pid, 0) == syscall.ESRCH }
