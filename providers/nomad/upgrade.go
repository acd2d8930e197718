package nomad

import "github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"

var _ providers.Upgrader = (*Driver)(nil)

// UpgradeConfig implements providers.Upgrader: a token_name_template of
// the earlier dialect is returned converted to Vault's template language
// (as Open converts it), so a config read shows, and the next write
// stores, the current syntax. A template that does not convert is left for
// Open to refuse.
func (*Driver) UpgradeConfig(v providers.Values) providers.Values {
	src, ok := v[fieldNameTemplate].(string)
	if !ok {
		return v
	}
	maxLen := v.Int(fieldMaxNameLength)
	if maxLen < 1 || maxLen > nomadMaxTokenNameLength {
		return v
	}
	// Converted to fit behind the longest mark prefix, so the stored
	// template fits every instance. When it cannot be, the conversion
	// depends on the instance's name: Open converts it each time.
	_, converted, err := parseNameTemplate(src, maxLen, maxLen-maxMarkPrefixLen)
	if err != nil || converted == "" {
		return v
	}
	out := providers.Values{}
	for k, x := range v {
		out[k] = x
	}
	out[fieldNameTemplate] = converted
	return out
}

// UpgradeRole implements providers.Upgrader: role values need no upgrade.
func (*Driver) UpgradeRole(_ string, v providers.Values) providers.Values { return v }
