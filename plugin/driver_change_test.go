package plugin_test

import (
	"testing"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/plugin/plugintest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/providertest"
)

// TestLeaseOfAReconfiguredInstance: a provider instance deleted and
// configured again with another driver does not get the first driver's
// leases; Vault's retries succeed once the operator restores the config.
func TestLeaseOfAReconfiguredInstance(t *testing.T) {
	cloud := providertest.NewCloud()
	b := plugintest.New(t, providers.MustRegistry(providertest.New("", cloud), providertest.New("other", cloud)))
	b.OK(logical.UpdateOperation, "config/x", map[string]any{"driver": "memory"})
	b.OK(logical.UpdateOperation, "roles/x/r", nil)
	lease := b.OK(logical.ReadOperation, "creds/x/r", nil).Secret
	b.OK(logical.DeleteOperation, "roles/x/r", nil)
	// The live credential keeps the config from going, unless forced.
	b.BadRequest(logical.DeleteOperation, "config/x", nil, `provider "x" has 1 live credential(s)`)
	b.OK(logical.DeleteOperation, "config/x", map[string]any{"force": true})
	b.OK(logical.UpdateOperation, "config/x", map[string]any{"driver": "other"})

	_, err := b.Revoke(lease)
	require.ErrorContains(t, err, `made by driver "memory"`)
	require.NotErrorIs(t, err, logical.ErrUnrecoverable, "retryable: the operator can restore the config")
	_, err = b.Renew(lease, 0, lease.IssueTime)
	require.ErrorContains(t, err, `made by driver "memory"`)
	require.Len(t, cloud.Objects(), 1)
	require.Zero(t, cloud.Calls("revoke"), "the other driver was never handed the lease")

	b.OK(logical.DeleteOperation, "config/x", map[string]any{"force": true})
	b.OK(logical.UpdateOperation, "config/x", map[string]any{"driver": "memory"})
	_, err = b.Revoke(lease)
	require.NoError(t, err)
	require.Empty(t, cloud.Objects())
}
