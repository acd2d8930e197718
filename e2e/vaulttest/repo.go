package vaulttest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// EnvRequired is the environment variable that turns the skips of this
// package into failures when set to "1". CI sets it so that a missing vault
// binary or plugin source cannot pass silently.
const EnvRequired = "E2E_REQUIRED"

// compatibleVault matches the `vault version` output of the servers this
// package supports.
var compatibleVault = regexp.MustCompile(`^Vault v1\.21\.\d+`)

var (
	repoRootOnce sync.Once
	repoRoot     string
	repoRootErr  error
)

// RepoRoot returns the repository root: the nearest directory at or above the
// working directory that holds a go.mod declaring the plugin module. Test
// binaries run in their package directory, so this finds the checkout the
// test belongs to.
func RepoRoot(t testing.TB) string {
	t.Helper()
	repoRootOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			repoRootErr = err
			return
		}
		for {
			if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
				strings.Contains(string(data), "module "+modulePath+"\n") {
				repoRoot = dir
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				repoRootErr = os.ErrNotExist
				return
			}
			dir = parent
		}
	})
	if repoRootErr != nil {
		t.Fatalf("vaulttest: no go.mod of %s at or above the working directory: %v", modulePath, repoRootErr)
	}
	return repoRoot
}

var (
	vaultOnce sync.Once
	vaultBin  string
	vaultWhy  string
)

// FindVault returns the path of the vault binary to run: <repo>/bin/vault if
// it exists, else a `vault` on PATH that reports Vault v1.21.x. Without one
// it skips the test with a hint to run `make vault`, or fails it when
// E2E_REQUIRED=1.
func FindVault(t testing.TB) string {
	t.Helper()
	root := RepoRoot(t)
	vaultOnce.Do(func() {
		local := filepath.Join(root, "bin", "vault")
		if fi, err := os.Stat(local); err == nil && !fi.IsDir() {
			vaultBin = local
			return
		}
		onPath, err := exec.LookPath("vault")
		if err != nil {
			vaultWhy = "no bin/vault and no vault on PATH"
			return
		}
		out, err := exec.Command(onPath, "version").Output()
		version := strings.TrimSpace(string(out))
		if err != nil || !compatibleVault.MatchString(version) {
			vaultWhy = "no bin/vault, and " + onPath + " is not Vault v1.21.x (" + version + ")"
			return
		}
		vaultBin = onPath
	})
	if vaultBin == "" {
		SkipOrFail(t, "vaulttest: %s; run `make vault` (tools/vault/build.sh) to build Vault v1.21.4", vaultWhy)
	}
	return vaultBin
}

// SkipOrFail skips the test with the given message, or fails it when
// E2E_REQUIRED=1 is set, so that CI cannot pass by skipping.
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv(EnvRequired) == "1" {
		t.Fatalf(format+" ("+EnvRequired+"=1)", args...)
	}
	t.Skipf(format, args...)
}
