package plugin

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/providertest"
)

// env is a backend on in-memory storage with the test driver registered
// as "memory" and as "other".
type env struct {
	t       *testing.T
	cloud   *providertest.Cloud
	storage logical.Storage
	sys     *logical.StaticSystemView
	b       *Backend
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{
		t:       t,
		cloud:   providertest.NewCloud(),
		storage: &logical.InmemStorage{},
		sys:     &logical.StaticSystemView{DefaultLeaseTTLVal: time.Hour, MaxLeaseTTLVal: 24 * time.Hour},
	}
	e.b = e.newBackend()
	return e
}

// newBackend builds a fresh backend on the env's storage, as a restart or
// plugin reload does.
func (e *env) newBackend() *Backend {
	e.t.Helper()
	reg := providers.MustRegistry(providertest.New("", e.cloud), providertest.New("other", e.cloud))
	lb, err := Factory(reg)(context.Background(), &logical.BackendConfig{
		StorageView: e.storage,
		System:      e.sys,
		Logger:      hclog.NewNullLogger(),
	})
	require.NoError(e.t, err)
	b := lb.(*Backend)
	e.t.Cleanup(func() { b.Cleanup(context.Background()) })
	return b
}

// do sends one request and returns the response and error as Vault's
// router would see them.
func (e *env) do(op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	e.t.Helper()
	return e.b.HandleRequest(context.Background(), &logical.Request{
		Operation:   op,
		Path:        path,
		Data:        data,
		Storage:     e.storage,
		DisplayName: "token-ci",
	})
}

// ok sends a request that must succeed.
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

// coded asserts an error with the given HTTP status.
func (e *env) coded(status int, op logical.Operation, path string, data map[string]any, want string) {
	e.t.Helper()
	_, err := e.do(op, path, data)
	require.Error(e.t, err)
	var ce logical.HTTPCodedError
	require.ErrorAs(e.t, err, &ce)
	require.Equal(e.t, status, ce.Code())
	require.Contains(e.t, err.Error(), want)
}

// setup configures instance "memory" and a role "r" with the given fields.
func (e *env) setup(role map[string]any) {
	e.t.Helper()
	e.ok(logical.UpdateOperation, "config/memory", map[string]any{"access_key": "root", "secret_key": "s3cr3t-root"})
	e.ok(logical.UpdateOperation, "roles/memory/r", role)
}

// roundTrip passes a secret through JSON, as Vault stores and sends it.
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
	return e.b.HandleRequest(context.Background(), &logical.Request{
		Operation: logical.RenewOperation,
		Storage:   e.storage,
		Secret:    s,
	})
}

// revoke revokes a lease as Vault's expiration manager does.
func (e *env) revoke(s *logical.Secret) (*logical.Response, error) {
	e.t.Helper()
	return e.b.HandleRequest(context.Background(), &logical.Request{
		Operation: logical.RevokeOperation,
		Storage:   e.storage,
		Secret:    roundTrip(e.t, s),
	})
}

// rollback runs Vault's rollback manager once, ignoring the minimum age.
func (e *env) rollback() {
	e.t.Helper()
	resp, err := e.b.HandleRequest(context.Background(), &logical.Request{
		Operation: logical.RollbackOperation,
		Storage:   e.storage,
		Data:      map[string]any{"immediate": true},
	})
	require.NoError(e.t, err)
	if resp != nil {
		require.False(e.t, resp.IsError(), "rollback: %v", resp.Error())
	}
}

// walCount returns the number of WAL entries.
func (e *env) walCount() int {
	e.t.Helper()
	keys, err := e.storage.List(context.Background(), "wal/")
	require.NoError(e.t, err)
	return len(keys)
}
