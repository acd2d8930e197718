package nomad_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/nomad"
)

// TestUpgradeConfig: a token_name_template of the earlier dialect reads in
// Vault's template language; a current one is unchanged.
func TestUpgradeConfig(t *testing.T) {
	d := nomad.New()
	old := providers.Values{"token_name_template": "ci-{{.RoleName}}-{{.DisplayName}}-{{.ID}}", "max_token_name_length": 200}
	got := d.UpgradeConfig(old).String("token_name_template")
	require.NotEqual(t, old.String("token_name_template"), got)
	require.Contains(t, got, "truncate", "the old dialect shortened the display name to fit; the new syntax says so")
	require.Contains(t, got, ".ID")
	// Cut to fit behind the longest mark prefix (76 bytes): 124 bytes, less
	// "ci-", '-', the id and a 64-byte role name.
	require.Contains(t, got, "truncate 42)")

	cur := providers.Values{"token_name_template": got, "max_token_name_length": 200}
	require.Equal(t, got, d.UpgradeConfig(cur).String("token_name_template"))

	// Too short a limit for the longest prefix: left for Open, which
	// converts it for its instance's prefix.
	short := providers.Values{"token_name_template": "ci-{{.RoleName}}-{{.DisplayName}}-{{.ID}}", "max_token_name_length": 64}
	require.Equal(t, short, d.UpgradeConfig(short))
}
