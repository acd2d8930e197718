package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"

	cloudlist "github.com/multicloud-vault/vault-plugin-secrets-multicloud/cmd/clouds"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/devvault"
)

// pluginName is the plugin's binary and catalog name.
const pluginName = "vault-plugin-secrets-multicloud"

// stack is the real Vault dev server the benchmark runs in (see
// internal/devvault), an API client for it, and the masker for what it
// prints.
type stack struct {
	bin, version string
	srv          *devvault.Server
	client       *api.Client
	masker       *masker
}

// start launches `vault server -dev` on a free loopback port with a plugin
// directory holding a copy of the plugin, waits until it is healthy, and
// registers the plugin by sha256 and version.
func (s *stack) start(ctx context.Context) error {
	var err error
	s.srv, err = devvault.Start(ctx, devvault.Options{
		VaultBin: filepath.Join(s.bin, "vault"),
		Plugins:  []string{filepath.Join(s.bin, pluginName)},
		LogLevel: "warn",
		// So that a CLI exit code is that of one attempt.
		Env: []string{"VAULT_MAX_RETRIES=0"},
		// Neither side may pick up the clouds' own variables.
		CleanEnvPrefixes: cloudlist.EnvPrefixes(),
	})
	if err != nil {
		return err
	}
	s.masker.add(s.srv.Token)

	cfg := api.DefaultConfig()
	cfg.Address = s.srv.Addr
	cfg.MaxRetries = 0 // a failed revoke must be seen, not retried by the client
	cfg.Timeout = 100 * time.Second
	if s.client, err = api.NewClient(cfg); err != nil {
		return err
	}
	s.client.SetToken(s.srv.Token)
	return s.srv.RegisterPlugin(ctx, pluginName, pluginName, s.version)
}

// enable mounts a secrets engine: a builtin type, or the plugin at its
// registered version.
func (s *stack) enable(ctx context.Context, path, typ string) error {
	version := ""
	if typ == pluginName {
		version = s.version
	}
	return s.srv.Enable(ctx, path, typ, version)
}

// write is `vault write` through the API; errors are masked.
func (s *stack) write(ctx context.Context, path string, data map[string]any) error {
	if _, err := s.client.Logical().WriteWithContext(ctx, path, data); err != nil {
		return fmt.Errorf("write %s: %s", path, s.masker.mask(err.Error()))
	}
	return nil
}

// cli runs the vault CLI against the dev server and returns its masked,
// combined output and its exit code.
func (s *stack) cli(ctx context.Context, args ...string) (string, int, error) {
	out, code, err := s.srv.CLI(ctx, args...)
	return s.masker.mask(out), code, err
}

// vaultVersion returns `vault version` without its build date
// ("Vault v1.21.4").
func (s *stack) vaultVersion(ctx context.Context) string {
	out, code, err := s.srv.CLI(ctx, "version")
	if err != nil || code != 0 {
		return "unknown"
	}
	v, _, _ := strings.Cut(strings.SplitN(out, "\n", 2)[0], ",")
	return strings.TrimSpace(v)
}

// stop ends Vault and its plugin processes and removes its temporary
// directory.
func (s *stack) stop() { s.srv.Stop() }
