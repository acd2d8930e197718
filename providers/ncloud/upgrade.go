package ncloud

import "github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"

var _ providers.Upgrader = (*Driver)(nil)

// UpgradeConfig implements providers.Upgrader: config values need no
// upgrade.
func (*Driver) UpgradeConfig(v providers.Values) providers.Values { return v }

// UpgradeRole implements providers.Upgrader: a sub_account role's
// login_id_template in the old syntax (.Role) is returned converted to
// Vault's template language, so a role read shows, and the next write
// stores, the current syntax.
func (*Driver) UpgradeRole(credentialType string, v providers.Values) providers.Values {
	src, ok := v[fieldLoginTemplate].(string)
	if credentialType != CredentialSubAccount || !ok || !legacyField.MatchString(src) {
		return v
	}
	conv, ok := convertLegacyTemplate(src)
	if !ok {
		return v
	}
	out := providers.Values{}
	for k, x := range v {
		out[k] = x
	}
	out[fieldLoginTemplate] = conv
	return out
}
