package plugin_test

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/vault/sdk/helper/consts"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/plugin"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/providertest"
)

// TestRoleCache: issues read the role from a cache, which a role write or
// delete on this node, or an invalidation for a write on another node,
// drops.
func TestRoleCache(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{"parts": 1, "ttl": "10m"})
	require.Equal(t, 10*time.Minute, e.OK(logical.ReadOperation, "creds/memory/r", nil).Secret.TTL)

	e.OK(logical.UpdateOperation, "roles/memory/r", map[string]any{"ttl": "20m"})
	require.Equal(t, 20*time.Minute, e.OK(logical.ReadOperation, "creds/memory/r", nil).Secret.TTL, "a role write is seen at once")

	// Another node writes the role; Vault invalidates the key here.
	entry, err := e.Storage.Get(context.Background(), "roles/memory/r")
	require.NoError(t, err)
	var role map[string]any
	require.NoError(t, json.Unmarshal(entry.Value, &role))
	role["ttl"] = 1800
	buf, err := json.Marshal(role)
	require.NoError(t, err)
	require.NoError(t, e.Storage.Put(context.Background(), &logical.StorageEntry{Key: "roles/memory/r", Value: buf}))
	e.B.InvalidateKey(context.Background(), "roles/memory/r")
	require.Equal(t, 30*time.Minute, e.OK(logical.ReadOperation, "creds/memory/r", nil).Secret.TTL, "an invalidated role is read again")

	e.OK(logical.DeleteOperation, "roles/memory/r", nil)
	e.Coded(404, logical.ReadOperation, "creds/memory/r", nil, "not found")
}

// countingSystemView counts the requests' questions to Vault's system view
// about the replication state and the mount's local flag; each is a gRPC
// round trip for a plugin.
type countingSystemView struct {
	*logical.StaticSystemView
	state, local atomic.Int64
}

func (c *countingSystemView) ReplicationState() consts.ReplicationState {
	c.state.Add(1)
	return c.StaticSystemView.ReplicationState()
}

func (c *countingSystemView) LocalMount() bool {
	c.local.Add(1)
	return c.StaticSystemView.LocalMount()
}

// TestReplicationStateCache: the framework asks the system view for the
// replication state and the mount's local flag on every request to a path
// with Operations (creds/ among them); the backend answers from a cache,
// and still refuses an issue on a performance standby, creating nothing.
func TestReplicationStateCache(t *testing.T) {
	tests := []struct {
		name      string
		cacheFor  time.Duration
		state     consts.ReplicationState
		issues    int
		wantState int64 // ReplicationState calls during the issues
		wantLocal int64 // LocalMount calls during the issues
		readOnly  bool
	}{
		{name: "issues within the window ask at most once", cacheFor: time.Hour, issues: 20, wantLocal: 1},
		{name: "an expired window asks again", cacheFor: 0, issues: 20, wantState: 20, wantLocal: 20},
		{name: "a performance standby refuses the issue", cacheFor: 0, state: consts.ReplicationPerformanceStandby, issues: 3, wantState: 3, readOnly: true},
		{name: "a performance secondary refuses a replicated mount's issue, for Vault to forward", cacheFor: 0, state: consts.ReplicationPerformanceSecondary, issues: 3, wantState: 3, wantLocal: 3, readOnly: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plugin.SetReplicationCacheFor(t, tc.cacheFor)
			cloud := providertest.NewCloud()
			sys := &countingSystemView{StaticSystemView: &logical.StaticSystemView{DefaultLeaseTTLVal: time.Hour, MaxLeaseTTLVal: 24 * time.Hour}}
			storage := &logical.InmemStorage{}
			b, err := plugin.Factory(registry(cloud))(context.Background(), &logical.BackendConfig{StorageView: storage, System: sys, Logger: hclog.NewNullLogger()})
			require.NoError(t, err)
			t.Cleanup(func() { b.Cleanup(context.Background()) })
			require.NoError(t, b.Initialize(context.Background(), &logical.InitializationRequest{Storage: storage}))
			do := func(op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
				return b.HandleRequest(context.Background(), &logical.Request{Operation: op, Path: path, Data: data, Storage: storage, MountPoint: "multicloud/"})
			}
			for _, w := range []struct {
				path string
				data map[string]any
			}{
				{"config/memory", map[string]any{"access_key": "root", "secret_key": "s3cr3t-root"}},
				{"roles/memory/r", map[string]any{"parts": 1}},
			} {
				resp, err := do(logical.UpdateOperation, w.path, w.data)
				require.NoError(t, err)
				require.False(t, resp != nil && resp.IsError(), "%s: %v", w.path, resp)
			}
			sys.ReplicationStateVal = tc.state
			state0, local0 := sys.state.Load(), sys.local.Load()
			for range tc.issues {
				resp, err := do(logical.ReadOperation, "creds/memory/r", nil)
				if tc.readOnly {
					require.ErrorIs(t, err, logical.ErrReadOnly)
					continue
				}
				require.NoError(t, err)
				require.NotNil(t, resp.Secret)
			}
			require.Equal(t, tc.wantState, sys.state.Load()-state0, "ReplicationState calls")
			require.Equal(t, tc.wantLocal, sys.local.Load()-local0, "LocalMount calls")
			if tc.readOnly {
				require.Empty(t, cloud.Objects(), "a refused issue creates nothing")
			} else {
				require.Len(t, cloud.Objects(), tc.issues)
			}
		})
	}
}
