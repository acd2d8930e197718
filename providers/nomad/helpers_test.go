package nomad_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/api"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/plugin"
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
	t       *testing.T
	ts      *nomadtest.TestServer
	storage logical.Storage
	sys     *logical.StaticSystemView
	b       logical.Backend
}

func newEnv(t *testing.T, opts nomadtest.Options) *env {
	t.Helper()
	e := &env{
		t:       t,
		ts:      nomadtest.Start(t, opts),
		storage: &logical.InmemStorage{},
		sys:     &logical.StaticSystemView{DefaultLeaseTTLVal: time.Hour, MaxLeaseTTLVal: 24 * time.Hour},
	}
	e.b = newBackend(t, e.storage, e.sys, nomad.New(nomad.WithGetenv(noEnv)))
	seedACL(t, e.ts.URL, e.ts.RootToken(), nil)
	return e
}

func newBackend(t *testing.T, s logical.Storage, sys logical.SystemView, d providers.Driver) logical.Backend {
	t.Helper()
	b, err := plugin.Factory(providers.MustRegistry(d))(context.Background(), &logical.BackendConfig{
		StorageView: s,
		System:      sys,
		Logger:      hclog.NewNullLogger(),
	})
	require.NoError(t, err)
	t.Cleanup(func() { b.Cleanup(context.Background()) })
	return b
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
	e.t.Helper()
	c, err := api.NewClient(&api.Config{Address: e.ts.URL, SecretID: secret})
	require.NoError(e.t, err)
	return c
}

func (e *env) do(op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	e.t.Helper()
	return e.b.HandleRequest(context.Background(), &logical.Request{
		Operation:   op,
		Path:        path,
		Data:        data,
		Storage:     e.storage,
		DisplayName: "token-ci@example.com",
	})
}

func (e *env) ok(op logical.Operation, path string, data map[string]any) *logical.Response {
	e.t.Helper()
	resp, err := e.do(op, path, data)
	require.NoError(e.t, err)
	if resp != nil {
		require.False(e.t, resp.IsError(), "unexpected error response: %v", resp.Error())
	}
	return resp
}

// badRequest asserts a 400 whose message contains every want.
func (e *env) badRequest(op logical.Operation, path string, data map[string]any, want ...string) {
	e.t.Helper()
	resp, err := e.do(op, path, data)
	require.NoError(e.t, err)
	require.NotNil(e.t, resp)
	require.True(e.t, resp.IsError(), "expected an error response, got %#v", resp)
	for _, w := range want {
		require.Contains(e.t, resp.Error().Error(), w)
	}
}

// configure writes config/nomad pointing at the emulator.
func (e *env) configure(extra map[string]any) {
	e.t.Helper()
	data := map[string]any{"address": e.ts.URL, "token": e.ts.RootToken()}
	for k, v := range extra {
		data[k] = v
	}
	e.ok(logical.UpdateOperation, "config/nomad", data)
}

// issue reads creds/nomad/<role>.
func (e *env) issue(role string) *logical.Response {
	e.t.Helper()
	resp := e.ok(logical.ReadOperation, "creds/nomad/"+role, nil)
	require.NotNil(e.t, resp)
	require.NotNil(e.t, resp.Secret)
	return resp
}

func roundTrip(t *testing.T, s *logical.Secret) *logical.Secret {
	t.Helper()
	buf, err := json.Marshal(s)
	require.NoError(t, err)
	var out logical.Secret
	require.NoError(t, json.Unmarshal(buf, &out))
	return &out
}

// renew renews a lease as Vault's expiration manager does.
func (e *env) renew(s *logical.Secret, increment time.Duration, issued time.Time) (*logical.Response, error) {
	e.t.Helper()
	s = roundTrip(e.t, s)
	s.IssueTime = issued
	s.Increment = increment
	return e.b.HandleRequest(context.Background(), &logical.Request{Operation: logical.RenewOperation, Storage: e.storage, Secret: s})
}

// revoke revokes a lease as Vault's expiration manager does.
func (e *env) revoke(s *logical.Secret) (*logical.Response, error) {
	e.t.Helper()
	return e.b.HandleRequest(context.Background(), &logical.Request{Operation: logical.RevokeOperation, Storage: e.storage, Secret: roundTrip(e.t, s)})
}

// rollback runs Vault's rollback manager once, ignoring the minimum age.
func (e *env) rollback() error {
	e.t.Helper()
	_, err := e.b.HandleRequest(context.Background(), &logical.Request{
		Operation: logical.RollbackOperation,
		Storage:   e.storage,
		Data:      map[string]any{"immediate": true},
	})
	return err
}

func (e *env) walCount() int {
	e.t.Helper()
	keys, err := e.storage.List(context.Background(), "wal/")
	require.NoError(e.t, err)
	return len(keys)
}

// allStorage returns every stored entry's key and value.
func allStorage(t *testing.T, s logical.Storage) map[string]string {
	t.Helper()
	out := map[string]string{}
	var walk func(prefix string)
	walk = func(prefix string) {
		keys, err := s.List(context.Background(), prefix)
		require.NoError(t, err)
		for _, k := range keys {
			if strings.HasSuffix(k, "/") {
				walk(prefix + k)
				continue
			}
			entry, err := s.Get(context.Background(), prefix+k)
			require.NoError(t, err)
			if entry != nil {
				out[prefix+k] = string(entry.Value)
			}
		}
	}
	walk("")
	return out
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
