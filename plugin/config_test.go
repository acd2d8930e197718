package plugin_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"
)

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	buf, err := json.Marshal(v)
	require.NoError(t, err)
	return string(buf)
}

func TestConfigReadNeverReturnsSecrets(t *testing.T) {
	e := newEnv(t)
	e.OK(logical.UpdateOperation, "config/memory", map[string]any{"access_key": "AK", "secret_key": "s3cr3t-root"})
	resp := e.OK(logical.ReadOperation, "config/memory", nil)
	require.Equal(t, "memory", resp.Data["driver"])
	require.Equal(t, "AK", resp.Data["access_key"])
	require.Equal(t, true, resp.Data["secret_key_set"])
	require.NotContains(t, mustJSON(t, resp.Data), "s3cr3t-root")
	require.Equal(t, "memory://", resp.Data["endpoint"], "defaults are reported")

	// Merge: updating one field keeps the others.
	e.OK(logical.UpdateOperation, "config/memory", map[string]any{"max_parts": 4})
	resp = e.OK(logical.ReadOperation, "config/memory", nil)
	require.Equal(t, "AK", resp.Data["access_key"])
	require.Equal(t, 4, resp.Data["max_parts"])

	require.Contains(t, e.B.SpecialPaths().SealWrapStorage, "config/")
	require.Contains(t, e.B.SpecialPaths().LocalStorage, "wal/")
}

func TestConfigValidation(t *testing.T) {
	e := newEnv(t)
	e.BadRequest(logical.UpdateOperation, "config/memory", map[string]any{"endpoint": "http://x"}, "endpoint", "memory://")
	e.BadRequest(logical.UpdateOperation, "config/memory", map[string]any{"region": "x"}, "unknown field region", "secret_key")
	e.BadRequest(logical.UpdateOperation, "config/memory", map[string]any{"secret_key": "bad"}, "rejected by the cloud", "InvalidClientTokenId")
	e.BadRequest(logical.UpdateOperation, "config/Memory", nil, "provider", "not a valid instance name")
	e.BadRequest(logical.UpdateOperation, "config/foo", nil, "driver", "required")
	e.BadRequest(logical.UpdateOperation, "config/foo", map[string]any{"driver": "gcp"}, "driver", "unknown driver")
	e.BadRequest(logical.UpdateOperation, "config/memory", map[string]any{"max_parts": "many"}, "max_parts")
	resp, err := e.Do(logical.ReadOperation, "config/memory", nil)
	require.NoError(t, err)
	require.Nil(t, resp, "nothing was stored")
}

func TestTwoInstancesOfOneDriver(t *testing.T) {
	e := newEnv(t)
	e.OK(logical.UpdateOperation, "config/a", map[string]any{"driver": "memory", "max_parts": 2})
	e.OK(logical.UpdateOperation, "config/b", map[string]any{"driver": "memory"})
	e.OK(logical.UpdateOperation, "roles/a/r", map[string]any{"parts": 2})
	e.OK(logical.UpdateOperation, "roles/b/r", map[string]any{"parts": 5})
	// The instance's own config applies to its roles.
	e.BadRequest(logical.UpdateOperation, "roles/a/big", map[string]any{"parts": 5}, "parts", "between 1 and 2")

	ra := e.OK(logical.ReadOperation, "creds/a/r", nil)
	rb := e.OK(logical.ReadOperation, "creds/b/r", nil)
	oa, _ := e.cloud.Object(ra.Data["access_key"].(string))
	ob, _ := e.cloud.Object(rb.Data["access_key"].(string))
	require.Equal(t, "a", oa.Instance)
	require.Equal(t, "b", ob.Instance)
	require.Len(t, ob.Attachments, 4)

	list := e.OK(logical.ListOperation, "roles/a/", nil)
	require.Equal(t, []string{"r"}, list.Data["keys"])

	e.BadRequest(logical.UpdateOperation, "config/a", map[string]any{"driver": "other"}, "driver", "cannot change")
	e.OK(logical.UpdateOperation, "config/a", map[string]any{"driver": "memory"})

	providersResp := e.OK(logical.ReadOperation, "providers", nil)
	inst := providersResp.Data["instances"].(map[string]any)
	require.Equal(t, map[string]any{"driver": "memory"}, inst["a"])
	drivers := providersResp.Data["drivers"].(map[string]any)
	require.Contains(t, drivers, "other")
	mem := drivers["memory"].(map[string]any)
	require.Equal(t, "key", mem["default_credential_type"])

	l := e.OK(logical.ListOperation, "config/", nil)
	require.Equal(t, []string{"a", "b"}, l.Data["keys"])
	l = e.OK(logical.ListOperation, "providers", nil)
	require.Equal(t, []string{"a", "b"}, l.Data["keys"])

	_, err := e.Revoke(ra.Secret)
	require.NoError(t, err)
	_, err = e.Revoke(rb.Secret)
	require.NoError(t, err)
	require.Empty(t, e.cloud.Objects())
}

func TestConfigDelete(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{})
	e.BadRequest(logical.DeleteOperation, "config/memory", nil, "still has 1 role", "r")
	e.OK(logical.DeleteOperation, "roles/memory/r", nil)
	e.OK(logical.DeleteOperation, "config/memory", nil)
	e.Coded(404, logical.ReadOperation, "creds/memory/r", nil, "not configured")
	e.Coded(404, logical.UpdateOperation, "roles/memory/r", map[string]any{}, "not configured")
}

func TestConfigDeleteRefusedWhileWALPending(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{"parts": 2})
	e.cloud.Hook = func(s, _ string) error {
		if s == "attach-1" || s == "delete-principal" {
			return context.Canceled
		}
		return nil
	}
	_, _ = e.Do(logical.ReadOperation, "creds/memory/r", nil)
	e.cloud.Hook = nil
	e.OK(logical.DeleteOperation, "roles/memory/r", nil)
	e.BadRequest(logical.DeleteOperation, "config/memory", nil, "unfinished create")
	require.NoError(t, e.Rollback())
	e.OK(logical.DeleteOperation, "config/memory", nil)
}

func TestRoles(t *testing.T) {
	e := newEnv(t)
	e.OK(logical.UpdateOperation, "config/memory", nil)
	cases := []struct {
		name string
		data map[string]any
		want []string
	}{
		{"unknown credential type", map[string]any{"credential_type": "magic"}, []string{"credential_type", "key, token"}},
		{"unknown field", map[string]any{"colour": "red"}, []string{"unknown field colour", "parts", "ttl", "max_ttl"}},
		{"field of another credential type", map[string]any{"credential_type": "token", "parts": 2}, []string{"unknown field parts", "lifetime"}},
		{"ttl over max_ttl", map[string]any{"ttl": "2h", "max_ttl": "1h"}, []string{"ttl", "max_ttl"}},
		{"negative ttl", map[string]any{"ttl": -1}, []string{"ttl", "negative"}},
		{"non-numeric ttl", map[string]any{"ttl": "abc"}, []string{"ttl"}},
		{"driver validation", map[string]any{"parts": 11}, []string{"parts", "between 1 and 10"}},
		{"bad list item", map[string]any{"scopes": []any{"ok", "Not OK"}}, []string{"scopes", "Not OK"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.BadRequest(logical.UpdateOperation, "roles/memory/bad", tc.data, tc.want...)
			resp, err := e.Do(logical.ReadOperation, "roles/memory/bad", nil)
			require.NoError(t, err)
			require.Nil(t, resp)
		})
	}

	e.OK(logical.UpdateOperation, "roles/memory/r", map[string]any{"scopes": "a,b", "tags": map[string]any{"team": "ci"}, "ttl": "5m"})
	e.OK(logical.UpdateOperation, "roles/memory/r", map[string]any{"parts": 4})
	resp := e.OK(logical.ReadOperation, "roles/memory/r", nil)
	require.Equal(t, "key", resp.Data["credential_type"])
	require.EqualValues(t, 300, resp.Data["ttl"])
	require.EqualValues(t, 4, resp.Data["parts"])
	require.Equal(t, []string{"a", "b"}, resp.Data["scopes"])
	require.Equal(t, map[string]string{"team": "ci"}, resp.Data["tags"])

	// Switching credential type keeps only the fields the new type takes.
	e.OK(logical.UpdateOperation, "roles/memory/r", map[string]any{"credential_type": "token", "lifetime": "30m"})
	resp = e.OK(logical.ReadOperation, "roles/memory/r", nil)
	require.Equal(t, "token", resp.Data["credential_type"])
	require.NotContains(t, resp.Data, "parts")

	// A max_ttl over the mount's max is accepted with a warning.
	resp = e.OK(logical.UpdateOperation, "roles/memory/long", map[string]any{"max_ttl": "48h"})
	require.Contains(t, strings.Join(resp.Warnings, " "), "mount's max lease TTL")

	e.Coded(404, logical.UpdateOperation, "roles/nope/r", map[string]any{}, "not configured")
}

func TestRotateRoot(t *testing.T) {
	e := newEnv(t)
	e.OK(logical.UpdateOperation, "config/memory", map[string]any{"access_key": "AK", "secret_key": "old-secret"})
	resp := e.OK(logical.UpdateOperation, "config/memory/rotate-root", nil)
	require.Equal(t, "AK-r", resp.Data["access_key"])
	require.Equal(t, 1, e.cloud.Calls("rotate-commit"))
	cfg := e.OK(logical.ReadOperation, "config/memory", nil)
	require.Equal(t, "AK-r", cfg.Data["access_key"])

	e.OK(logical.UpdateOperation, "config/other", map[string]any{"driver": "other"})
	e.BadRequest(logical.UpdateOperation, "config/other/rotate-root", nil, "access_key", "nothing to rotate")
	e.Coded(404, logical.UpdateOperation, "config/nope/rotate-root", nil, "not configured")
}

func TestInvalidateDropsOnlyThatInstance(t *testing.T) {
	e := newEnv(t)
	e.OK(logical.UpdateOperation, "config/a", map[string]any{"driver": "memory"})
	e.OK(logical.UpdateOperation, "config/b", map[string]any{"driver": "memory"})
	e.OK(logical.UpdateOperation, "roles/a/r", nil)
	e.OK(logical.UpdateOperation, "roles/b/r", nil)
	opens := e.cloud.Calls("open")
	e.B.InvalidateKey(context.Background(), "config/a")
	e.OK(logical.ReadOperation, "creds/a/r", nil)
	e.OK(logical.ReadOperation, "creds/b/r", nil)
	require.Equal(t, opens+1, e.cloud.Calls("open"), "only the invalidated instance is reopened")
}

func TestSecretsNeverStored(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{"parts": 2})
	var secrets []string
	for range 3 {
		resp := e.OK(logical.ReadOperation, "creds/memory/r", nil)
		secrets = append(secrets, resp.Data["secret_key"].(string))
	}
	keys, err := logical.CollectKeys(context.Background(), e.Storage)
	require.NoError(t, err)
	for _, k := range keys {
		entry, err := e.Storage.Get(context.Background(), k)
		require.NoError(t, err)
		for _, s := range secrets {
			require.NotContains(t, string(entry.Value), s, "storage key %s", k)
		}
		if !strings.HasPrefix(k, "config/") {
			require.NotContains(t, string(entry.Value), "s3cr3t-root", "storage key %s", k)
		}
	}
}
