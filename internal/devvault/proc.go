//go:build unix

package devvault

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// StartProcess starts cmd in its own process group, so that StopProcess
// ends the processes it starts too (Vault's plugins). On Linux the kernel
// also kills it if this process dies without stopping it.
func StartProcess(cmd *exec.Cmd) error {
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", filepath.Base(cmd.Path), err)
	}
	return nil
}

// StopProcess ends the process group of a command started with
// StartProcess: SIGTERM, then SIGKILL if it has not exited after grace,
// and waits for it. Members of the group that outlive the leader by a
// moment are killed as well. A command not started, or already waited
// for, is left alone.
func StopProcess(cmd *exec.Cmd, grace time.Duration) {
	if cmd.Process == nil || cmd.ProcessState != nil {
		return
	}
	pid := cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-done
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
}
