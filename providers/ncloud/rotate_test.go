package ncloud_test

import (
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/ncloud"
)

// Issue 10: rotate-root without root_sub_account_id asks STS
// caller-identity which sub account owns the key, creates a new key of
// it, stores it and deletes the old one; the new key then works, and the
// account the instance is bound to does not change.
func TestRotateRoot(t *testing.T) {
	e := newEnv(t)
	root, ok := e.ts.SubAccount("vault-root")
	require.True(t, ok)
	oldKey, _ := e.ts.RootCredentials()
	e.configure(nil)
	e.subRole(nil)
	lease := e.OK(logical.ReadOperation, "creds/ncloud/dev", nil)

	resp := e.OK(logical.UpdateOperation, "config/ncloud/rotate-root", nil)
	require.Equal(t, 2, e.ts.Core().Count("GetCallerIdentity"), "once for the target, once for the key's owner")
	newKey := resp.Data["access_key"].(string)
	require.NotEqual(t, oldKey, newKey)
	require.Equal(t, root.ID, resp.Data["sub_account_id"])
	require.NotContains(t, resp.Data, "secret_key")
	sa, _ := e.ts.SubAccount("vault-root")
	require.Equal(t, []string{newKey}, sa.AccessKeys, "old key deleted, new one kept")

	cfg := e.OK(logical.ReadOperation, "config/ncloud", nil)
	require.Equal(t, newKey, cfg.Data["access_key"])
	require.Equal(t, root.ID, cfg.Data["root_sub_account_id"], "the owner is recorded")
	e.OK(logical.UpdateOperation, "roles/ncloud/ci", map[string]any{"ttl": "10m"})
	creds := e.OK(logical.ReadOperation, "creds/ncloud/ci", nil)
	_, ok = e.ts.STSKey(creds.Data["access_key"].(string))
	require.True(t, ok, "the new root key signs accepted requests")

	// The lease issued with the old key is revoked through the new one:
	// the same account.
	_, err := e.Revoke(lease.Secret)
	require.NoError(t, err)
	_, ok = e.ts.SubAccount(lease.Data["login_id"].(string))
	require.False(t, ok)

	// Twice in a row works too.
	e.OK(logical.UpdateOperation, "config/ncloud/rotate-root", nil)
	sa, _ = e.ts.SubAccount("vault-root")
	require.Len(t, sa.AccessKeys, 1)
	require.NotEqual(t, newKey, sa.AccessKeys[0])
}

// Issue 10: STS documents 404 as an invalid or expired credential. A
// config holding an expired STS key gets that answer from caller-identity;
// rotate-root reports it as Ncloud's answer about the credential, not as
// a missing API asking for root_sub_account_id.
func TestRotateRootExpiredKeyIsNotMissingAPI(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := newEnv(t, ncloud.WithClock(clock))
	e.ts.SetClock(clock)
	e.configure(nil)
	e.OK(logical.UpdateOperation, "roles/ncloud/ci", map[string]any{"ttl": "10m"})
	sts := e.OK(logical.ReadOperation, "creds/ncloud/ci", nil)
	cfg := e.endpoints()
	cfg["access_key"], cfg["secret_key"] = sts.Data["access_key"], sts.Data["secret_key"]
	e.OK(logical.UpdateOperation, "config/ncloud", cfg)

	mu.Lock()
	now = now.Add(11 * time.Minute)
	mu.Unlock()
	_, err := e.Do(logical.UpdateOperation, "config/ncloud/rotate-root", nil)
	require.Error(t, err)
	require.Contains(t, err.Error(), "GetCallerIdentity")
	require.Contains(t, err.Error(), "invalid or expired credential")
	require.NotContains(t, err.Error(), "no such API")
	require.NotContains(t, err.Error(), "root_sub_account_id is required")
}

// rotate-root refuses, naming the field and creating nothing, when the
// sub account already has two active keys, when the configured owner does
// not own the key, when the key is the main account's, and when the
// config holds no keys; with one of two keys inactive it proceeds.
func TestRotateRootRefused(t *testing.T) {
	// twoKeys leaves the root sub account with two keys: a rotation whose
	// old-key delete fails keeps the old key beside the new one.
	twoKeys := func(t *testing.T, e *env) (old, current string) {
		old, _ = e.ts.RootCredentials()
		e.configure(map[string]any{"max_retries": 0})
		e.ts.Core().SetFaults(emulator.Faults{FailActions: map[string]int{"DeleteAccessKey": 1}})
		_, err := e.Do(logical.UpdateOperation, "config/ncloud/rotate-root", nil)
		require.ErrorContains(t, err, "deleting the old one failed")
		sa, _ := e.ts.SubAccount("vault-root")
		require.Len(t, sa.AccessKeys, 2)
		return old, sa.AccessKeys[1]
	}

	t.Run("two active keys", func(t *testing.T) {
		e := newEnv(t)
		twoKeys(t, e)
		e.BadRequest(logical.UpdateOperation, "config/ncloud/rotate-root", nil, "access_key", "already has 2 active access keys")
		sa, _ := e.ts.SubAccount("vault-root")
		require.Len(t, sa.AccessKeys, 2, "nothing created")
	})

	t.Run("one of two keys inactive", func(t *testing.T) {
		e := newEnv(t)
		old, current := twoKeys(t, e)
		require.NoError(t, e.ts.SetKeyActive(old, false))
		resp := e.OK(logical.UpdateOperation, "config/ncloud/rotate-root", nil)
		sa, _ := e.ts.SubAccount("vault-root")
		require.Equal(t, []string{old, resp.Data["access_key"].(string)}, sa.AccessKeys, "the inactive key is left alone, the replaced one deleted")
		require.Equal(t, []string{old}, sa.InactiveKeys)
		require.NotContains(t, sa.AccessKeys, current)
	})

	t.Run("owner does not own the key", func(t *testing.T) {
		e := newEnv(t)
		e.configure(nil)
		e.subRole(nil)
		other := e.OK(logical.ReadOperation, "creds/ncloud/dev", nil).Data["sub_account_id"].(string)
		e.OK(logical.UpdateOperation, "config/ncloud", map[string]any{"root_sub_account_id": other})
		e.BadRequest(logical.UpdateOperation, "config/ncloud/rotate-root", nil, "root_sub_account_id", "does not own")
	})

	t.Run("main account key", func(t *testing.T) {
		e := newEnv(t)
		ak, sk := e.ts.MainCredentials()
		data := e.endpoints()
		data["access_key"], data["secret_key"] = ak, sk
		e.OK(logical.UpdateOperation, "config/ncloud", data)
		before := e.ts.State()
		e.BadRequest(logical.UpdateOperation, "config/ncloud/rotate-root", nil, "access_key", `"Customer"`)
		require.Equal(t, before, e.ts.State())
	})

	t.Run("keys from the chain", func(t *testing.T) {
		isolate(t)
		e := newEnv(t)
		ak, sk := e.ts.RootCredentials()
		t.Setenv("NCLOUD_ACCESS_KEY", ak)
		t.Setenv("NCLOUD_SECRET_KEY", sk)
		data := e.endpoints()
		data["use_ambient_credentials"] = true
		e.OK(logical.UpdateOperation, "config/ncloud", data)
		e.BadRequest(logical.UpdateOperation, "config/ncloud/rotate-root", nil, "access_key", "EnvProvider")
	})
}
