//go:build unix && !linux

package main

import "syscall"

// sysProcAttr puts Vault in its own process group, so its plugin processes
// can be killed with it.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
