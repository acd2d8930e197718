package main

import "syscall"

// sysProcAttr puts Vault in its own process group (so its plugin processes
// can be killed with it) and has the kernel kill it if the benchmark dies
// without cleaning up.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
