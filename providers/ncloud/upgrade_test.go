package ncloud_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/naming"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/ncloud"
)

// TestUpgradeRole: a sub_account role stored with the old loginId template
// syntax reads in Vault's template language; other values are unchanged.
func TestUpgradeRole(t *testing.T) {
	d := ncloud.New()
	cases := []struct {
		name, ctype, src string
		changed          bool
	}{
		{"old syntax", ncloud.CredentialSubAccount, "vault-{{.Role}}-{{.ID}}", true},
		{"new syntax", ncloud.CredentialSubAccount, "vault-{{ .RoleName | truncate 40 }}-{{ .ID }}", false},
		{"not a sub_account role", ncloud.CredentialSTS, "vault-{{.Role}}-{{.ID}}", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := providers.Values{"login_id_template": tc.src, "policies": []string{"p"}}
			out := d.UpgradeRole(tc.ctype, in)
			require.Equal(t, []string{"p"}, out.Strings("policies"))
			if !tc.changed {
				require.Equal(t, tc.src, out.String("login_id_template"))
				return
			}
			got := out.String("login_id_template")
			require.NotContains(t, got, ".Role}")
			require.Contains(t, got, ".RoleName")
			_, err := naming.Parse(got, naming.Rules{Field: "login_id_template", What: "loginId", MinLen: 3, MaxLen: 60})
			require.NoError(t, err, got)
			require.Equal(t, tc.src, in.String("login_id_template"), "the input is not modified")
		})
	}
}
