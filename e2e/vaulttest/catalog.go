package vaulttest

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"
)

// RegisterPlugin registers p in the catalog as a secrets plugin:
// sys/plugins/catalog/secret/<name> with its sha256, command and version. p
// must be installed in the plugin directory (Options.Plugins or
// InstallPlugin). Vault runs the binary and rejects it if the version it
// reports differs.
func (s *Server) RegisterPlugin(t testing.TB, p *Plugin) {
	t.Helper()
	err := s.Client(t).Sys().RegisterPluginWithContext(context.Background(), &api.RegisterPluginInput{
		Name:    p.Name,
		Type:    api.PluginTypeSecrets,
		Command: p.Command,
		SHA256:  p.SHA256,
		Version: p.Version,
	})
	if err != nil {
		t.Fatalf("vaulttest: registering %s %s: %v", p.Name, p.Version, err)
	}
}

// EnablePlugin mounts version p.Version of the plugin at mount
// (sys/mounts/<mount> with plugin_version).
func (s *Server) EnablePlugin(t testing.TB, mount string, p *Plugin) {
	t.Helper()
	err := s.Client(t).Sys().MountWithContext(context.Background(), cleanMount(mount), &api.MountInput{
		Type:   p.Name,
		Config: api.MountConfigInput{PluginVersion: p.Version},
	})
	if err != nil {
		t.Fatalf("vaulttest: enabling %s %s at %s: %v", p.Name, p.Version, mount, err)
	}
}

// TunePluginVersion sets the plugin version of the mount. The running
// version changes only after a reload (ReloadMounts or ReloadPlugin).
func (s *Server) TunePluginVersion(t testing.TB, mount, version string) {
	t.Helper()
	err := s.Client(t).Sys().TuneMountWithContext(context.Background(), cleanMount(mount), api.MountConfigInput{PluginVersion: version})
	if err != nil {
		t.Fatalf("vaulttest: tuning %s to plugin version %s: %v", mount, version, err)
	}
}

// ReloadPlugin reloads every mount of the named plugin
// (sys/plugins/reload/backend with plugin=<name>).
func (s *Server) ReloadPlugin(t testing.TB, name string) {
	t.Helper()
	if _, err := s.Client(t).Sys().ReloadPluginWithContext(context.Background(), &api.ReloadPluginInput{Plugin: name}); err != nil {
		t.Fatalf("vaulttest: reloading plugin %s: %v", name, err)
	}
}

// ReloadMounts reloads the given mounts (sys/plugins/reload/backend with
// mounts=...).
func (s *Server) ReloadMounts(t testing.TB, mounts ...string) {
	t.Helper()
	in := &api.ReloadPluginInput{}
	for _, m := range mounts {
		in.Mounts = append(in.Mounts, cleanMount(m)+"/")
	}
	if _, err := s.Client(t).Sys().ReloadPluginWithContext(context.Background(), in); err != nil {
		t.Fatalf("vaulttest: reloading mounts %v: %v", mounts, err)
	}
}

// MountVersions returns the configured and the running plugin version of a
// mount (sys/mounts/<mount>).
func (s *Server) MountVersions(t testing.TB, mount string) (configured, running string) {
	t.Helper()
	m, err := s.Client(t).Sys().GetMountWithContext(context.Background(), cleanMount(mount))
	if err != nil {
		t.Fatalf("vaulttest: reading mount %s: %v", mount, err)
	}
	return m.PluginVersion, m.RunningVersion
}

func cleanMount(mount string) string { return strings.Trim(mount, "/") }
