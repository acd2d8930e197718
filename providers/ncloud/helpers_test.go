package ncloud_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/plugin"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/ncloud"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/ncloud/ncloudtest"
)

// env is the real plugin backend, in-process on in-memory storage, with
// the ncloud driver registered and an Ncloud emulator to talk to.
type env struct {
	t       *testing.T
	ts      *ncloudtest.TestServer
	storage logical.Storage
	b       logical.Backend
}

func newEnv(t *testing.T, opts ...ncloud.Option) *env {
	t.Helper()
	e := &env{t: t, ts: ncloudtest.Start(t, ncloudtest.Options{}), storage: &logical.InmemStorage{}}
	b, err := plugin.Factory(providers.MustRegistry(ncloud.New(opts...)))(context.Background(), &logical.BackendConfig{
		StorageView: e.storage,
		System:      &logical.StaticSystemView{DefaultLeaseTTLVal: time.Hour, MaxLeaseTTLVal: 24 * time.Hour},
		Logger:      hclog.NewNullLogger(),
	})
	require.NoError(t, err)
	t.Cleanup(func() { b.Cleanup(context.Background()) })
	e.b = b
	return e
}

// endpoints points an instance at the emulator.
func (e *env) endpoints() map[string]any {
	return map[string]any{"sts_endpoint": e.ts.URL, "subaccount_endpoint": e.ts.URL}
}

// configure writes config/ncloud with the emulator's root key and extra.
func (e *env) configure(extra map[string]any) {
	e.t.Helper()
	ak, sk := e.ts.RootCredentials()
	data := e.endpoints()
	data["access_key"], data["secret_key"] = ak, sk
	for k, v := range extra {
		data[k] = v
	}
	e.ok(logical.UpdateOperation, "config/ncloud", data)
}

func (e *env) do(op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	e.t.Helper()
	return e.b.HandleRequest(context.Background(), &logical.Request{
		Operation: op, Path: path, Data: data, Storage: e.storage, DisplayName: "token-ci",
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

// badRequest asserts a 400 whose message contains every want, and returns it.
func (e *env) badRequest(op logical.Operation, path string, data map[string]any, want ...string) string {
	e.t.Helper()
	resp, err := e.do(op, path, data)
	require.NoError(e.t, err)
	require.NotNil(e.t, resp)
	require.True(e.t, resp.IsError(), "expected an error response, got %#v", resp)
	msg := resp.Error().Error()
	for _, w := range want {
		require.Contains(e.t, msg, w)
	}
	return msg
}

// coded asserts an error with the given HTTP status and returns its text.
func (e *env) coded(status int, op logical.Operation, path string, data map[string]any) string {
	e.t.Helper()
	_, err := e.do(op, path, data)
	require.Error(e.t, err)
	var ce logical.HTTPCodedError
	require.ErrorAs(e.t, err, &ce)
	require.Equal(e.t, status, ce.Code(), err.Error())
	return err.Error()
}

// roundTrip passes a secret through JSON, as Vault stores it.
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
func (e *env) rollback() {
	e.t.Helper()
	resp, err := e.b.HandleRequest(context.Background(), &logical.Request{
		Operation: logical.RollbackOperation, Storage: e.storage, Data: map[string]any{"immediate": true},
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
