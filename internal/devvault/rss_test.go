package devvault

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
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
