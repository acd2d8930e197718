// Package plugintest runs the plugin's backend in-process for tests: the
// real plugin.Factory on in-memory storage, with requests sent the way
// Vault's router, expiration manager and rollback manager send them.
//
// A driver's tests build one Backend with the driver registered, keep
// their cloud emulator and fixtures beside it, and assert on responses
// with OK, BadRequest and Coded.
package plugintest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/plugin"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// DefaultDisplayName is the token display name requests carry unless
// WithDisplayName says otherwise.
const DefaultDisplayName = "token-ci"

// MountPoint is the mount path requests carry, as Vault's router sets it.
const MountPoint = "multicloud/"

// Backend is the plugin's backend on in-memory storage, as one mount.
// Its fields may be used directly for requests the helpers do not cover.
type Backend struct {
	// T is the test that owns the backend; its failures fail T.
	T testing.TB
	// Storage is the mount's storage; it outlives Restart.
	Storage logical.Storage
	// System is the system view: default lease TTL 1h, max 24h.
	System *logical.StaticSystemView
	// B is the current backend; Restart replaces it.
	B logical.Backend
	// DisplayName is the token display name Do sends.
	DisplayName string
}

// Option changes how New builds a Backend.
type Option func(*Backend)

// WithDisplayName makes Do send name as the token display name.
func WithDisplayName(name string) Option {
	return func(b *Backend) { b.DisplayName = name }
}

// New builds a backend with the drivers of reg registered, on fresh
// in-memory storage. The backend is cleaned up when t ends.
func New(t testing.TB, reg *providers.Registry, opts ...Option) *Backend {
	t.Helper()
	b := &Backend{
		T:           t,
		Storage:     &logical.InmemStorage{},
		System:      &logical.StaticSystemView{DefaultLeaseTTLVal: time.Hour, MaxLeaseTTLVal: 24 * time.Hour},
		DisplayName: DefaultDisplayName,
	}
	for _, o := range opts {
		o(b)
	}
	b.Restart(reg)
	return b
}

// Restart replaces B with a new backend on the same storage and system
// view, with the drivers of reg registered, as a plugin reload does. The
// new backend is cleaned up when T ends.
func (b *Backend) Restart(reg *providers.Registry) {
	b.T.Helper()
	lb, err := plugin.Factory(reg)(context.Background(), &logical.BackendConfig{
		StorageView: b.Storage,
		System:      b.System,
		Logger:      hclog.NewNullLogger(),
	})
	require.NoError(b.T, err)
	// As Vault does once the mount is set up on the active node.
	require.NoError(b.T, lb.Initialize(context.Background(), &logical.InitializationRequest{Storage: b.Storage}))
	b.T.Cleanup(func() { lb.Cleanup(context.Background()) })
	b.B = lb
}

// Do sends one request and returns the response and error as Vault's
// router would see them.
func (b *Backend) Do(op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	b.T.Helper()
	return b.DoCtx(context.Background(), op, path, data)
}

// DoCtx is Do with the request's context (e.g. the deadline Vault's
// request timeout sets).
func (b *Backend) DoCtx(ctx context.Context, op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	b.T.Helper()
	return b.B.HandleRequest(ctx, &logical.Request{
		Operation:   op,
		Path:        path,
		Data:        data,
		Storage:     b.Storage,
		DisplayName: b.DisplayName,
		MountPoint:  MountPoint,
	})
}

// OK sends a request that must succeed and returns its response, which
// may be nil.
func (b *Backend) OK(op logical.Operation, path string, data map[string]any) *logical.Response {
	b.T.Helper()
	resp, err := b.Do(op, path, data)
	require.NoError(b.T, err)
	if resp != nil {
		require.False(b.T, resp.IsError(), "unexpected error response: %v", resp.Error())
	}
	return resp
}

// BadRequest asserts an error response (a 400) whose message contains
// every want, and returns the message.
func (b *Backend) BadRequest(op logical.Operation, path string, data map[string]any, want ...string) string {
	b.T.Helper()
	resp, err := b.Do(op, path, data)
	require.NoError(b.T, err)
	require.NotNil(b.T, resp)
	require.True(b.T, resp.IsError(), "expected an error response, got %#v", resp)
	msg := resp.Error().Error()
	for _, w := range want {
		require.Contains(b.T, msg, w)
	}
	return msg
}

// Coded asserts an error with the given HTTP status whose text contains
// every want, and returns the text.
func (b *Backend) Coded(status int, op logical.Operation, path string, data map[string]any, want ...string) string {
	b.T.Helper()
	_, err := b.Do(op, path, data)
	require.Error(b.T, err)
	var ce logical.HTTPCodedError
	require.ErrorAs(b.T, err, &ce)
	require.Equal(b.T, status, ce.Code(), err.Error())
	for _, w := range want {
		require.Contains(b.T, err.Error(), w)
	}
	return err.Error()
}

// RoundTrip passes a secret through JSON, as Vault stores and sends it.
func RoundTrip(t testing.TB, s *logical.Secret) *logical.Secret {
	t.Helper()
	buf, err := json.Marshal(s)
	require.NoError(t, err)
	var out logical.Secret
	require.NoError(t, json.Unmarshal(buf, &out))
	return &out
}

// Renew renews a lease as Vault's expiration manager does: the secret
// round-trips through JSON and carries issued and increment.
func (b *Backend) Renew(s *logical.Secret, increment time.Duration, issued time.Time) (*logical.Response, error) {
	b.T.Helper()
	s = RoundTrip(b.T, s)
	s.IssueTime = issued
	s.Increment = increment
	return b.B.HandleRequest(context.Background(), &logical.Request{
		Operation: logical.RenewOperation,
		Storage:   b.Storage,
		Secret:    s,
	})
}

// Revoke revokes a lease as Vault's expiration manager does, with the
// secret round-tripped through JSON.
func (b *Backend) Revoke(s *logical.Secret) (*logical.Response, error) {
	b.T.Helper()
	return b.B.HandleRequest(context.Background(), &logical.Request{
		Operation: logical.RevokeOperation,
		Storage:   b.Storage,
		Secret:    RoundTrip(b.T, s),
	})
}

// Rollback runs Vault's rollback manager once, ignoring the minimum age
// of WAL entries. It returns the request's error, or the error of an
// error response.
func (b *Backend) Rollback() error {
	b.T.Helper()
	resp, err := b.B.HandleRequest(context.Background(), &logical.Request{
		Operation: logical.RollbackOperation,
		Storage:   b.Storage,
		Data:      map[string]any{"immediate": true},
	})
	if err != nil {
		return err
	}
	if resp != nil && resp.IsError() {
		return fmt.Errorf("rollback: %w", resp.Error())
	}
	return nil
}

// WALCount returns the number of WAL entries in storage.
func (b *Backend) WALCount() int {
	b.T.Helper()
	keys, err := b.Storage.List(context.Background(), "wal/")
	require.NoError(b.T, err)
	return len(keys)
}

// StorageDump returns every stored entry's key and value, for scans such
// as "no issued secret is stored".
func (b *Backend) StorageDump() map[string]string {
	b.T.Helper()
	out := map[string]string{}
	var walk func(prefix string)
	walk = func(prefix string) {
		keys, err := b.Storage.List(context.Background(), prefix)
		require.NoError(b.T, err)
		for _, k := range keys {
			if strings.HasSuffix(k, "/") {
				walk(prefix + k)
				continue
			}
			entry, err := b.Storage.Get(context.Background(), prefix+k)
			require.NoError(b.T, err)
			if entry != nil {
				out[prefix+k] = string(entry.Value)
			}
		}
	}
	walk("")
	return out
}

// GhostTidied checks audit and tidy on a credential whose object, named
// name, was deleted in the cloud behind the plugin's back while one other
// credential of the provider lives: audit/<provider> lists it as the only
// ghost and holds the other; tidy drops its index entry; the next audit
// has no ghost and still holds the other; and the lease still revokes.
func (b *Backend) GhostTidied(provider string, ghost *logical.Secret, name string) {
	b.T.Helper()
	audit := b.OK(logical.ReadOperation, "audit/"+provider, nil)
	ghosts := audit.Data["ghosts"].([]map[string]any)
	require.Len(b.T, ghosts, 1)
	require.Contains(b.T, ghosts[0]["reason"], "gone from the cloud")
	require.Equal(b.T, name, ghosts[0]["objects"].([]map[string]any)[0]["name"])
	require.Equal(b.T, 1, audit.Data["held"])

	done := b.OK(logical.UpdateOperation, "tidy/"+provider, map[string]any{"dry_run": false})
	require.Len(b.T, done.Data["dropped_index_entries"], 1)
	audit = b.OK(logical.ReadOperation, "audit/"+provider, nil)
	require.Empty(b.T, audit.Data["ghosts"])
	require.Equal(b.T, 1, audit.Data["held"])
	_, err := b.Revoke(ghost)
	require.NoError(b.T, err)
}
