package devvault

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestFilterEnv(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in, out []string
	}{
		{"empty", nil, nil},
		{"keeps others", []string{"PATH=/bin", "HOME=/h"}, []string{"PATH=/bin", "HOME=/h"}},
		{"drops vault and the clouds'", []string{"VAULT_ADDR=x", "PATH=/bin", "NOMAD_TOKEN=t", "AWS_REGION=r", "AWS_PROFILE=p", "NCLOUD_ACCESS_KEY=k"}, []string{"PATH=/bin"}},
		{"prefix only at start", []string{"MY_VAULT_ADDR=x", "XAWS_=y"}, []string{"MY_VAULT_ADDR=x", "XAWS_=y"}},
		{"case sensitive", []string{"vault_addr=x"}, []string{"vault_addr=x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := filterEnv(tc.in, "NOMAD_", "AWS_", "NCLOUD_"); !slices.Equal(got, tc.out) {
				t.Errorf("filterEnv(%q) = %q, want %q", tc.in, got, tc.out)
			}
		})
	}
}

func TestServerArgs(t *testing.T) {
	base := []string{"server", "-dev", "-dev-root-token-id=tok", "-dev-listen-address=127.0.0.1:8200",
		"-dev-plugin-dir=/p", "-dev-no-store-token"}
	for _, tc := range []struct {
		name, logLevel string
		want           []string
	}{
		{"default log level", "", base},
		{"log level", "warn", append(slices.Clone(base), "-log-level=warn")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := serverArgs(8200, "tok", "/p", tc.logLevel); !slices.Equal(got, tc.want) {
				t.Errorf("serverArgs = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCLIEnv(t *testing.T) {
	for _, tc := range []struct {
		name        string
		base, extra []string
		want        []string
	}{
		{"no extra", []string{"PATH=/bin"}, nil,
			[]string{"PATH=/bin", "VAULT_ADDR=http://127.0.0.1:1", "VAULT_TOKEN=t", "HOME=/h"}},
		{"extra last", nil, []string{"VAULT_MAX_RETRIES=0"},
			[]string{"VAULT_ADDR=http://127.0.0.1:1", "VAULT_TOKEN=t", "HOME=/h", "VAULT_MAX_RETRIES=0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := cliEnv(tc.base, "http://127.0.0.1:1", "t", "/h", tc.extra); !slices.Equal(got, tc.want) {
				t.Errorf("cliEnv = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFileSHA256AndCopyFile(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content, sum string
	}{
		{"empty", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, dst := filepath.Join(dir, tc.name+".src"), filepath.Join(dir, tc.name+".dst")
			if err := os.WriteFile(src, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			// An existing, longer destination is truncated.
			if err := os.WriteFile(dst, []byte("something longer than the source"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := CopyFile(src, dst); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{src, dst} {
				if sum, err := FileSHA256(p); err != nil || sum != tc.sum {
					t.Errorf("FileSHA256(%s) = %q, %v; want %q", filepath.Base(p), sum, err, tc.sum)
				}
			}
		})
	}
	if _, err := FileSHA256(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("FileSHA256 of a missing file: %v", err)
	}
	if err := CopyFile(filepath.Join(dir, "missing"), filepath.Join(dir, "x")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("CopyFile of a missing file: %v", err)
	}
	fresh := filepath.Join(dir, "fresh")
	if err := CopyFile(filepath.Join(dir, "abc.src"), fresh); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(fresh); err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("a new copy is not executable: %v", err)
	}
}

func TestFreePort(t *testing.T) {
	p, err := FreePort()
	if err != nil || p <= 0 || p > 65535 {
		t.Fatalf("FreePort() = %d, %v", p, err)
	}
}

// TestServer starts a real dev server from <repo>/bin/vault (make vault),
// registers nothing, checks `vault status`, and stops it.
func TestServer(t *testing.T) {
	bin, err := filepath.Abs(filepath.Join("..", "..", "bin", "vault"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("no Vault binary (make vault): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx, Options{VaultBin: bin, LogLevel: "warn", Env: []string{"VAULT_MAX_RETRIES=0"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if !strings.HasPrefix(s.Addr, "http://127.0.0.1:") || s.Token == "" {
		t.Errorf("Addr %q, Token empty: %v", s.Addr, s.Token == "")
	}
	out, exit, err := s.CLI(ctx, "status", "-format=json")
	if err != nil || exit != 0 {
		t.Fatalf("vault status: exit %d, %v: %s", exit, err, out)
	}
	for _, want := range []string{`"sealed": false`, `"initialized": true`} {
		if !strings.Contains(out, want) {
			t.Errorf("vault status lacks %s:\n%s", want, out)
		}
	}
	if _, exit, _ := s.CLI(ctx, "read", "no-such-mount/x"); exit == 0 {
		t.Errorf("vault read of a missing mount exited 0")
	}

	pid, dir := s.cmd.Process.Pid, s.dir
	s.Stop()
	if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process group %d still exists after Stop: %v", pid, err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary directory %s left behind: %v", dir, err)
	}
	s.Stop() // a second Stop does nothing
}
