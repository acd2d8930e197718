package aws

import "github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"

var _ providers.Upgrader = (*Driver)(nil)

// UpgradeConfig implements providers.Upgrader: name templates stored in the
// former {{role:20}} syntax are returned in Vault's template language, so a
// config read shows, and the next write stores, the current syntax.
func (*Driver) UpgradeConfig(v providers.Values) providers.Values {
	out := providers.Values{}
	for k, x := range v {
		out[k] = x
	}
	for _, f := range []string{"username_template", "session_name_template"} {
		if src, ok := v[f].(string); ok {
			if conv, err := convertLegacyTemplate(src); err == nil {
				out[f] = conv
			}
		}
	}
	return out
}

// UpgradeRole implements providers.Upgrader: role values need no upgrade.
func (*Driver) UpgradeRole(_ string, v providers.Values) providers.Values { return v }
