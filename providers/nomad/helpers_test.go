package nomad_test

import (
	"testing"

	"github.com/hashicorp/nomad/api"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/plugin/plugintest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/nomad"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/nomad/nomadtest"
)

// noEnv is a getenv that sees no NOMAD_* variable, so tests never depend
// on the environment they run in.
func noEnv(string) string { return "" }

// env is the real plugin backend on in-memory storage with the Nomad
// driver registered, in front of a Nomad emulator.
type env struct {
	*plugintest.Backend
	ts *nomadtest.TestServer
}

func newEnv(t *testing.T, opts nomadtest.Options) *env {
	t.Helper()
	ts := nomadtest.Start(t, opts)
	e := &env{Backend: newBackend(t), ts: ts}
	seedACL(t, e.ts.URL, e.ts.RootToken(), nil)
	return e
}

// newBackend is a plugin backend on fresh storage with the Nomad driver,
// blind to the NOMAD_* environment.
func newBackend(t *testing.T) *plugintest.Backend {
	t.Helper()
	return plugintest.New(t, registry(noEnv), plugintest.WithDisplayName("token-ci@example.com"))
}

// registry has the Nomad driver, reading the environment through getenv.
func registry(getenv func(string) string) *providers.Registry {
	return providers.MustRegistry(nomad.New(nomad.WithGetenv(getenv)))
}

// seedACL creates the policies "readonly" and "ops" and the ACL role
// "deployer" (policy ops) in the emulator.
func seedACL(t *testing.T, addr, root string, hc func(*api.Config)) {
	t.Helper()
	cfg := &api.Config{Address: addr, SecretID: root}
	if hc != nil {
		hc(cfg)
	}
	c, err := api.NewClient(cfg)
	require.NoError(t, err)
	for _, name := range []string{"readonly", "ops"} {
		_, err := c.ACLPolicies().Upsert(&api.ACLPolicy{Name: name, Rules: `namespace "default" { policy = "read" }`}, nil)
		require.NoError(t, err)
	}
	_, _, err = c.ACLRoles().Create(&api.ACLRole{Name: "deployer", Policies: []*api.ACLRolePolicyLink{{Name: "ops"}}}, nil)
	require.NoError(t, err)
}

// client returns a Nomad API client of the emulator authenticated by secret.
func (e *env) client(secret string) *api.Client {
	e.T.Helper()
	c, err := api.NewClient(&api.Config{Address: e.ts.URL, SecretID: secret})
	require.NoError(e.T, err)
	return c
}

// configure writes config/nomad pointing at the emulator.
func (e *env) configure(extra map[string]any) {
	e.T.Helper()
	data := map[string]any{"address": e.ts.URL, "token": e.ts.RootToken()}
	for k, v := range extra {
		data[k] = v
	}
	e.OK(logical.UpdateOperation, "config/nomad", data)
}

// issue reads creds/nomad/<role>.
func (e *env) issue(role string) *logical.Response {
	e.T.Helper()
	resp := e.OK(logical.ReadOperation, "creds/nomad/"+role, nil)
	require.NotNil(e.T, resp)
	require.NotNil(e.T, resp.Secret)
	return resp
}

// faults fails the next calls of the named emulator actions with 500.
func faults(fail map[string]int) emulator.Faults {
	return emulator.Faults{FailActions: fail}
}

// aclClientToken is a client token with the readonly policy.
func aclClientToken() *api.ACLToken {
	return &api.ACLToken{Name: "someone", Type: "client", Policies: []string{"readonly"}}
}

// emulatorLatency delays every emulator call by ms milliseconds.
func emulatorLatency(ms int) emulator.Faults {
	return emulator.Faults{LatencyMS: ms}
}

// nomadClient returns a Nomad API client of addr authenticated by secret.
func nomadClient(t *testing.T, addr, secret string) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: addr, SecretID: secret})
	require.NoError(t, err)
	return c
}

// managementToken is a local management token.
func managementToken() *api.ACLToken {
	return &api.ACLToken{Name: "another-admin", Type: "management"}
}

// queryIn sends a query to region.
func queryIn(region string) *api.QueryOptions { return &api.QueryOptions{Region: region} }

// mountID is the mount's id (settings mount_id), which marks its tokens;
// it exists once a credential was issued.
func (e *env) mountID() string {
	e.T.Helper()
	id := e.OK(logical.ReadOperation, "settings", nil).Data["mount_id"].(string)
	require.Regexp(e.T, `^[a-z2-7]{8}$`, id)
	return id
}
