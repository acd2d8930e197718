package plugin_test

import (
	"runtime"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/plugin/plugintest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/providertest"
)

// env is a plugintest backend with the test driver registered as
// "memory" and as "other", both on one emulated cloud.
type env struct {
	*plugintest.Backend
	cloud *providertest.Cloud
}

func newEnv(t *testing.T) *env {
	t.Helper()
	cloud := providertest.NewCloud()
	return &env{Backend: plugintest.New(t, registry(cloud)), cloud: cloud}
}

// registry registers fresh test drivers on cloud.
func registry(cloud *providertest.Cloud) *providers.Registry {
	return providers.MustRegistry(providertest.New("", cloud), providertest.New("other", cloud))
}

// restart builds a fresh backend on the env's storage, as a restart or
// plugin reload does.
func (e *env) restart() {
	e.T.Helper()
	e.Restart(registry(e.cloud))
}

// setup configures instance "memory" and a role "r" with the given fields.
func (e *env) setup(role map[string]any) {
	e.T.Helper()
	e.OK(logical.UpdateOperation, "config/memory", map[string]any{"access_key": "root", "secret_key": "s3cr3t-root"})
	e.OK(logical.UpdateOperation, "roles/memory/r", role)
}

// crashIssue issues creds/memory/r in a request that dies right after the
// create's first object (at step "attach-1"), as if the plugin process
// died there: no clean-up, no response, the WAL entry left behind.
func (e *env) crashIssue() {
	e.T.Helper()
	e.cloud.Hook = func(step, _ string) error {
		if step == "attach-1" {
			runtime.Goexit()
		}
		return nil
	}
	done := make(chan struct{})
	go func() { defer close(done); _, _ = e.Do(logical.ReadOperation, "creds/memory/r", nil) }()
	<-done
	e.cloud.Hook = nil
}
