package devvault

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"
)

func TestChildRSS(t *testing.T) {
	// A fake /proc: the plugin (child of 10, running the plugin file), a
	// process of another binary, and a child of another parent.
	proc := t.TempDir()
	plugin := filepath.Join(t.TempDir(), "plugin")
	other := filepath.Join(t.TempDir(), "other")
	for _, p := range []struct {
		pid, ppid int
		exe, rss  string
	}{{20, 10, plugin, "2048 kB"}, {21, 10, other, "4096 kB"}, {22, 11, plugin, "8192 kB"}, {23, 10, plugin, "1024 kB"}} {
		dir := filepath.Join(proc, strconv.Itoa(p.pid))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		status := "Name:\tx\nPPid:\t" + strconv.Itoa(p.ppid) + "\nVmRSS:\t" + p.rss + "\n"
		if err := os.WriteFile(filepath.Join(dir, "status"), []byte(status), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(p.exe, filepath.Join(dir, "exe")); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(proc, "self"), 0o755); err != nil {
		t.Fatal(err)
	}
	rss, n, err := childRSS(proc, 10, plugin)
	if err != nil || n != 2 || rss != 3072*1024 {
		t.Fatalf("childRSS = %d, %d, %v; want 3 MiB in 2 processes", rss, n, err)
	}
}

func TestChildRSSOfARealChild(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc")
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	sleep, _ = filepath.EvalSymlinks(sleep)
	cmd := exec.Command(sleep, "5")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	rss, n, err := childRSS("/proc", os.Getpid(), sleep)
	if err != nil || n != 1 || rss <= 0 {
		t.Fatalf("childRSS = %d, %d, %v; want one process with some memory", rss, n, err)
	}
}

func TestProcessCPU(t *testing.T) {
	// A fake /proc: the server (10, a command name with a space and a
	// parenthesis), its plugin (20), another binary (21) and the plugin
	// of another parent (22).
	proc := t.TempDir()
	plugin := filepath.Join(t.TempDir(), "plugin")
	other := filepath.Join(t.TempDir(), "other")
	for _, p := range []struct {
		pid, ppid    int
		exe, comm    string
		utime, stime int
	}{{10, 1, other, "va ult)", 250, 50}, {20, 10, plugin, "plugin", 120, 30}, {21, 10, other, "other", 1000, 1000}, {22, 11, plugin, "plugin", 500, 500}} {
		dir := filepath.Join(proc, strconv.Itoa(p.pid))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		status := "Name:\tx\nPPid:\t" + strconv.Itoa(p.ppid) + "\n"
		// pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
		stat := strconv.Itoa(p.pid) + " (" + p.comm + ") S " + strconv.Itoa(p.ppid) + " 1 1 0 -1 0 0 0 0 0 " +
			strconv.Itoa(p.utime) + " " + strconv.Itoa(p.stime) + " 0 0 20 0 1 0\n"
		for name, content := range map[string]string{"status": status, "stat": stat} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink(p.exe, filepath.Join(dir, "exe")); err != nil {
			t.Fatal(err)
		}
	}
	self, children, err := processCPU(proc, 10, plugin)
	if err != nil || self != 3*time.Second || children != 1500*time.Millisecond {
		t.Fatalf("processCPU = %s, %s, %v; want 3s and 1.5s", self, children, err)
	}
	if _, _, err := processCPU(proc, 99, plugin); err == nil {
		t.Fatal("no error for a process that does not exist")
	}
}
