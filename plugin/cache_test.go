package plugin_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"
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
