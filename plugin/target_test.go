package plugin_test

import (
	"context"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"
)

// TestRevokeRefusesAnotherTarget: a lease revokes only in the account it
// was issued in; an instance rewritten to point elsewhere refuses (a
// retryable error naming both accounts) instead of answering "not found".
func TestRevokeRefusesAnotherTarget(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{"parts": 2})
	lease := e.OK(logical.ReadOperation, "creds/memory/r", nil)

	// Same target, other settings: fine.
	e.OK(logical.UpdateOperation, "config/memory", map[string]any{"max_parts": 5})

	// Another account: refused while a live credential was made in the old one.
	msg := e.BadRequest(logical.UpdateOperation, "config/memory", map[string]any{"account": "111111111111"},
		"memory account 111111111111", "1 in memory account 000000000000", "force=true", "vault lease revoke -prefix multicloud/creds/memory")
	require.NotContains(t, msg, "s3cr3t")
	e.BadRequest(logical.UpdateOperation, "config/memory", map[string]any{"endpoint": "memory://elsewhere"}, "memory://elsewhere")

	// Forced: written, with a warning; the lease now refuses to revoke.
	resp := e.OK(logical.UpdateOperation, "config/memory", map[string]any{"account": "111111111111", "force": true})
	require.Contains(t, resp.Warnings[0], "Written anyway (force=true)")
	_, err := e.Revoke(lease.Secret)
	require.ErrorContains(t, err, `provider "memory" now points at memory account 111111111111`)
	require.ErrorContains(t, err, "made in memory account 000000000000")
	require.NotErrorIs(t, err, logical.ErrUnrecoverable, "retryable: the operator can point the instance back")
	require.Len(t, e.cloud.Objects(), 1, "the credential still exists, and so does its lease")
	require.Zero(t, e.cloud.Calls("revoke"), "the driver was never asked to revoke in the wrong account")

	// Pointed back: Vault's next retry revokes it.
	e.OK(logical.UpdateOperation, "config/memory", map[string]any{"account": "000000000000", "force": true})
	_, err = e.Revoke(lease.Secret)
	require.NoError(t, err)
	require.Empty(t, e.cloud.Objects())

	// With nothing live, a new target needs no force.
	e.OK(logical.UpdateOperation, "config/memory", map[string]any{"account": "222222222222"})
}

// TestRollbackRefusesAnotherTarget: an unfinished create is rolled back
// only in the account it was started in.
func TestRollbackRefusesAnotherTarget(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{"parts": 2})
	e.crashIssue()
	require.Equal(t, 1, e.WALCount())

	e.BadRequest(logical.UpdateOperation, "config/memory", map[string]any{"account": "111111111111"}, "1 in memory account 000000000000")
	e.OK(logical.UpdateOperation, "config/memory", map[string]any{"account": "111111111111", "force": true})
	err := e.Rollback()
	require.ErrorContains(t, err, "unfinished create was made in memory account 000000000000")
	require.Equal(t, 1, e.WALCount(), "the WAL entry stays")
	require.Len(t, e.cloud.Objects(), 1)
	require.Zero(t, e.cloud.Calls("rollback"))

	e.OK(logical.UpdateOperation, "config/memory", map[string]any{"account": "000000000000", "force": true})
	require.NoError(t, e.Rollback())
	require.Equal(t, 0, e.WALCount())
	require.Empty(t, e.cloud.Objects())
}

// TestConfigDeleteRefusedWhileLive: deleting the roles first no longer
// lets a config go from under its live leases.
func TestConfigDeleteRefusedWhileLive(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{"parts": 1})
	lease := e.OK(logical.ReadOperation, "creds/memory/r", nil)
	e.OK(logical.UpdateOperation, "roles/memory/tok", map[string]any{"credential_type": "token"})
	token := e.OK(logical.ReadOperation, "creds/memory/tok", nil)
	e.OK(logical.DeleteOperation, "roles/memory/r", nil)
	e.OK(logical.DeleteOperation, "roles/memory/tok", nil)

	e.BadRequest(logical.DeleteOperation, "config/memory", nil,
		`provider "memory" has 1 live credential(s) (roles: r)`, "vault lease revoke -prefix multicloud/creds/memory", "force=true")
	_, err := e.Revoke(lease.Secret)
	require.NoError(t, err)
	// A self-expiring token does not hold the config back...
	e.OK(logical.DeleteOperation, "config/memory", nil)
	// ...and its lease still ends cleanly without one.
	resp, err := e.Revoke(token.Secret)
	require.NoError(t, err)
	require.Contains(t, resp.Warnings[0], "cannot be revoked early")
	keys, err := e.Storage.List(context.Background(), "live/")
	require.NoError(t, err)
	require.Empty(t, keys)
}

// TestConfigDeleteForced: force=true deletes despite live credentials,
// whose revokes then fail (retryably) until the instance is back.
func TestConfigDeleteForced(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{"parts": 1})
	lease := e.OK(logical.ReadOperation, "creds/memory/r", nil)
	e.OK(logical.DeleteOperation, "roles/memory/r", nil)
	e.OK(logical.DeleteOperation, "config/memory", map[string]any{"force": true})
	_, err := e.Revoke(lease.Secret)
	require.ErrorContains(t, err, "not configured")
	e.OK(logical.UpdateOperation, "config/memory", nil)
	_, err = e.Revoke(lease.Secret)
	require.NoError(t, err)
	require.Empty(t, e.cloud.Objects())
}

// TestIssueNeedsTheTarget: if the instance cannot say which account it
// acts in, nothing is created.
func TestIssueNeedsTheTarget(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{"parts": 2})
	e.cloud.FailTarget = true
	e.Coded(502, logical.ReadOperation, "creds/memory/r", nil, "identify the target", "GetCallerIdentity")
	require.Empty(t, e.cloud.Objects())
	require.Equal(t, 0, e.WALCount())
	// A self-expiring credential is not bound, so it needs no target.
	e.OK(logical.UpdateOperation, "roles/memory/tok", map[string]any{"credential_type": "token"})
	e.OK(logical.ReadOperation, "creds/memory/tok", nil)

	// A new config whose target cannot be identified is refused while
	// something bound lives, unless forced.
	e.cloud.FailTarget = false
	lease := e.OK(logical.ReadOperation, "creds/memory/r", nil)
	e.cloud.FailTarget = true
	e.BadRequest(logical.UpdateOperation, "config/memory", map[string]any{"max_parts": 4}, "cannot be identified", "force=true")
	e.OK(logical.UpdateOperation, "config/memory", map[string]any{"max_parts": 4, "force": true})
	e.cloud.FailTarget = false
	_, err := e.Revoke(lease.Secret)
	require.NoError(t, err)
}
