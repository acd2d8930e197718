package vaulttest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/devvault"
)

const (
	modulePath = "github.com/multicloud-vault/vault-plugin-secrets-multicloud"

	// PluginName is the name the plugin is registered under in Vault's
	// catalog (and the name of its binary).
	PluginName = "vault-plugin-secrets-multicloud"

	// PluginPackage is the main package of the plugin binary, relative to
	// the repository root.
	PluginPackage = "./cmd/vault-plugin-secrets-multicloud"

	// VersionVariable is the variable that -ldflags -X sets to the plugin's
	// version; the plugin reports it to Vault as its RunningVersion.
	VersionVariable = modulePath + "/internal/version.Version"
)

// semverRE matches the versions Vault accepts for plugins: "v" plus a
// semantic version.
var semverRE = regexp.MustCompile(`^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

// Plugin is a built plugin binary.
type Plugin struct {
	// Name is the catalog name, PluginName.
	Name string
	// Version is the version compiled into the binary, e.g. "v0.1.0".
	Version string
	// Path is the absolute path of the built binary. Servers get their own
	// copy in their plugin directory (see Server.InstallPlugin).
	Path string
	// SHA256 is the hex sha256 of the binary, as the catalog wants it.
	SHA256 string
	// Command is the file name of the binary inside a server's plugin
	// directory: Name plus "-" plus Version, so that several versions can be
	// installed side by side.
	Command string
}

type pluginBuild struct {
	once sync.Once
	p    *Plugin
	err  error
}

var (
	builds       sync.Map // version -> *pluginBuild
	buildDirOnce sync.Once
	buildDir     string
	buildDirErr  error
)

// RequirePluginSource skips the test (or fails it with E2E_REQUIRED=1) when
// the plugin's main package does not exist in this checkout yet.
func RequirePluginSource(t testing.TB) {
	t.Helper()
	main := filepath.Join(RepoRoot(t), PluginPackage, "main.go")
	if _, err := os.Stat(main); err != nil {
		SkipOrFail(t, "vaulttest: plugin main package %s does not exist: %v", PluginPackage, err)
	}
}

// BuildPlugin builds the plugin binary with the given version (a semantic
// version with a leading "v") compiled in, once per test binary and version,
// into a temporary directory that Main removes at the end. It skips the test
// when the plugin's main package does not exist (see RequirePluginSource).
func BuildPlugin(t testing.TB, version string) *Plugin {
	t.Helper()
	if !semverRE.MatchString(version) {
		t.Fatalf("vaulttest: plugin version %q is not a semantic version with a leading v", version)
	}
	RequirePluginSource(t)
	root := RepoRoot(t)
	v, _ := builds.LoadOrStore(version, &pluginBuild{})
	b := v.(*pluginBuild)
	b.once.Do(func() { b.p, b.err = buildPlugin(root, version) })
	if b.err != nil {
		t.Fatalf("vaulttest: %v", b.err)
	}
	return b.p
}

func buildPlugin(root, version string) (*Plugin, error) {
	buildDirOnce.Do(func() {
		removeStaleBuildDirs()
		buildDir, buildDirErr = os.MkdirTemp("", fmt.Sprintf("%s%d-", buildDirPrefix, os.Getpid()))
	})
	if buildDirErr != nil {
		return nil, buildDirErr
	}
	dir := filepath.Join(buildDir, version)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	out := filepath.Join(dir, PluginName)
	cmd := exec.Command("go", "build",
		"-ldflags", "-X "+VersionVariable+"="+version,
		"-o", out, PluginPackage)
	cmd.Dir = root
	if output, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building plugin %s: %v\n%s", version, err, output)
	}
	if got, err := versionOf(out); err != nil || got != version {
		return nil, fmt.Errorf("plugin built as %s reports %q with -version (err %v); is %s still the version variable?",
			version, got, err, VersionVariable)
	}
	sum, err := devvault.FileSHA256(out)
	if err != nil {
		return nil, err
	}
	return &Plugin{
		Name:    PluginName,
		Version: version,
		Path:    out,
		SHA256:  sum,
		Command: PluginName + "-" + version,
	}, nil
}

// buildDirPrefix starts the names of the directories plugins are built in;
// the pid of the owning test binary follows.
const buildDirPrefix = "vaulttest-plugins-"

// removeStaleBuildDirs removes the build directories of test binaries that
// died before Main could remove them.
func removeStaleBuildDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), buildDirPrefix+"*-*"))
	for _, dir := range dirs {
		rest := strings.TrimPrefix(filepath.Base(dir), buildDirPrefix)
		pid, err := strconv.Atoi(rest[:strings.IndexByte(rest, '-')])
		if err == nil && pid > 0 && pid != os.Getpid() && processGone(pid) {
			_ = os.RemoveAll(dir)
		}
	}
}

// Main runs the tests of a package that uses vaulttest and then removes the
// plugin binaries built for them. Call it from TestMain:
//
//	func TestMain(m *testing.M) { vaulttest.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// installFile puts a copy of src at dst: a hard link when possible (same
// file system), else a copy. Never a symlink: Vault resolves symlinks and
// wants a sha256-registered binary directly inside plugin_directory.
func installFile(src, dst string) error {
	_ = os.Remove(dst)
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	return devvault.CopyFile(src, dst)
}

// versionOf runs a plugin binary with -version and returns what it prints.
func versionOf(path string) (string, error) {
	out, err := exec.Command(path, "-version").Output()
	return strings.TrimSpace(string(out)), err
}
