package ncloud_test

import (
	"testing"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/plugin/plugintest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/ncloud"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/ncloud/ncloudtest"
)

// env is the real plugin backend, in-process on in-memory storage, with
// the ncloud driver registered and an Ncloud emulator to talk to.
type env struct {
	*plugintest.Backend
	ts *ncloudtest.TestServer
}

func newEnv(t *testing.T, opts ...ncloud.Option) *env {
	t.Helper()
	ts := ncloudtest.Start(t, ncloudtest.Options{})
	return &env{Backend: plugintest.New(t, providers.MustRegistry(ncloud.New(opts...))), ts: ts}
}

// endpoints points an instance at the emulator.
func (e *env) endpoints() map[string]any {
	return map[string]any{"sts_endpoint": e.ts.URL, "subaccount_endpoint": e.ts.URL}
}

// configure writes config/ncloud with the emulator's root key and extra.
func (e *env) configure(extra map[string]any) {
	e.T.Helper()
	ak, sk := e.ts.RootCredentials()
	data := e.endpoints()
	data["access_key"], data["secret_key"] = ak, sk
	for k, v := range extra {
		data[k] = v
	}
	e.OK(logical.UpdateOperation, "config/ncloud", data)
}
