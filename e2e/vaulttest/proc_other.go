//go:build !unix

package vaulttest

import (
	"os"
	"syscall"
)

func sysProcAttr() *syscall.SysProcAttr { return nil }

// terminate stops vault; without signals there is no graceful way.
func terminate(p *os.Process) error { return p.Kill() }

// killGroup kills vault; its plugin processes exit when it does.
func killGroup(p *os.Process) error { return p.Kill() }

// reapOrphans is implemented on Linux only.
func reapOrphans() {}

// processGone cannot tell here; it says no, so nothing is removed.
func processGone(pid int) bool { return false }
