//go:build unix && !linux

package devvault

import "syscall"

// sysProcAttr puts the process in its own process group.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
