package ncloud_test

import (
	"testing"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
)

// rotate-root creates a new key of the root sub account, stores it and
// deletes the old one; the new key then works.
func TestRotateRoot(t *testing.T) {
	e := newEnv(t)
	root, ok := e.ts.SubAccount("vault-root")
	require.True(t, ok)
	oldKey, _ := e.ts.RootCredentials()

	t.Run("owner unknown", func(t *testing.T) {
		e.configure(nil)
		// This endpoint has no caller-identity API, so the owner must be
		// configured.
		e.BadRequest(logical.UpdateOperation, "config/ncloud/rotate-root", nil, "root_sub_account_id")
		sa, _ := e.ts.SubAccount("vault-root")
		require.Equal(t, []string{oldKey}, sa.AccessKeys, "nothing created")
	})

	t.Run("rotates", func(t *testing.T) {
		e.configure(map[string]any{"root_sub_account_id": root.ID})
		resp := e.OK(logical.UpdateOperation, "config/ncloud/rotate-root", nil)
		newKey := resp.Data["access_key"].(string)
		require.NotEqual(t, oldKey, newKey)
		require.NotContains(t, resp.Data, "secret_key")
		sa, _ := e.ts.SubAccount("vault-root")
		require.Equal(t, []string{newKey}, sa.AccessKeys, "old key deleted, new one kept")

		cfg := e.OK(logical.ReadOperation, "config/ncloud", nil)
		require.Equal(t, newKey, cfg.Data["access_key"])
		e.OK(logical.UpdateOperation, "roles/ncloud/ci", map[string]any{"ttl": "10m"})
		creds := e.OK(logical.ReadOperation, "creds/ncloud/ci", nil)
		_, ok := e.ts.STSKey(creds.Data["access_key"].(string))
		require.True(t, ok, "the new root key signs accepted requests")

		// Twice in a row works too: the stored config now names the owner.
		e.OK(logical.UpdateOperation, "config/ncloud/rotate-root", nil)
		sa, _ = e.ts.SubAccount("vault-root")
		require.Len(t, sa.AccessKeys, 1)
		require.NotEqual(t, newKey, sa.AccessKeys[0])
	})
}

// rotate-root refuses, naming the field and creating nothing, when the
// sub account already has the maximum of two keys, when the configured
// owner does not own the key, and when the config holds no keys.
func TestRotateRootRefused(t *testing.T) {
	t.Run("two keys already", func(t *testing.T) {
		e := newEnv(t)
		root, _ := e.ts.SubAccount("vault-root")
		e.configure(map[string]any{"root_sub_account_id": root.ID, "max_retries": 0})
		// A rotation whose old-key delete fails leaves two keys.
		e.ts.Core().SetFaults(emulator.Faults{FailActions: map[string]int{"DeleteAccessKey": 1}})
		_, err := e.Do(logical.UpdateOperation, "config/ncloud/rotate-root", nil)
		require.ErrorContains(t, err, "deleting the old one failed")
		sa, _ := e.ts.SubAccount("vault-root")
		require.Len(t, sa.AccessKeys, 2)

		e.BadRequest(logical.UpdateOperation, "config/ncloud/rotate-root", nil, "access_key", "already has 2 access keys")
		sa, _ = e.ts.SubAccount("vault-root")
		require.Len(t, sa.AccessKeys, 2, "nothing created")
	})

	t.Run("owner does not own the key", func(t *testing.T) {
		e := newEnv(t)
		e.configure(nil)
		e.OK(logical.UpdateOperation, "roles/ncloud/dev", map[string]any{"credential_type": "sub_account", "policies": []string{"NCP_SERVER_MANAGER"}})
		other := e.OK(logical.ReadOperation, "creds/ncloud/dev", nil).Data["sub_account_id"].(string)
		e.OK(logical.UpdateOperation, "config/ncloud", map[string]any{"root_sub_account_id": other})
		e.BadRequest(logical.UpdateOperation, "config/ncloud/rotate-root", nil, "root_sub_account_id", "does not own")
	})

	t.Run("keys from the chain", func(t *testing.T) {
		isolate(t)
		e := newEnv(t)
		ak, sk := e.ts.RootCredentials()
		t.Setenv("NCLOUD_ACCESS_KEY", ak)
		t.Setenv("NCLOUD_SECRET_KEY", sk)
		e.OK(logical.UpdateOperation, "config/ncloud", e.endpoints())
		e.BadRequest(logical.UpdateOperation, "config/ncloud/rotate-root", nil, "access_key", "EnvProvider")
	})
}
