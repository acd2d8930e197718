package ncloud_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/ncloud"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/ncloud/ncloudtest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/providertest/conformance"
)

// TestConformance runs the shared driver contract against the Ncloud
// emulator: an sts role and a sub_account role.
func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.Harness{
		Driver: ncloud.New(),
		Start: func(t *testing.T) *conformance.Env {
			ts := ncloudtest.Start(t, ncloudtest.Options{})
			ak, sk := ts.RootCredentials()
			other := ts.AddAccount(ncloudtest.AccountOptions{})
			oak, osk := other.RootCredentials()
			cfg := func(ak, sk string) providers.Values {
				return providers.Values{"access_key": ak, "secret_key": sk, "sts_endpoint": ts.URL, "subaccount_endpoint": ts.URL, "max_retries": 1}
			}
			root, _ := ts.SubAccount("vault-root")
			return &conformance.Env{
				Config: cfg(ak, sk),
				Roles: []conformance.Role{
					{Name: "ci", CredentialType: ncloud.CredentialSTS},
					{Name: "dev", CredentialType: ncloud.CredentialSubAccount, Values: providers.Values{"policies": []string{"NCP_SERVER_MANAGER"}}},
				},
				// STS keys expire by themselves and cannot be revoked: not
				// counted.
				State: func() map[string]int {
					st := ts.State()
					return map[string]int{"sub_accounts": st["sub_accounts"], "access_keys": st["access_keys"]}
				},
				Faults:        ts.Core(),
				CreateActions: map[string][]string{ncloud.CredentialSubAccount: {"CreateSubAccount", "AddSubAccountPolicies", "CreateAccessKey"}},
				DeleteActions: []string{"DeleteSubAccount", "DeleteAccessKey", "RemoveSubAccountPolicies"},
				Use: func(t *testing.T, credentialType string, data map[string]any) {
					status, body := signed(t, ts, data["access_key"].(string), data["secret_key"].(string), http.MethodGet, "/api/v1/caller-identity", nil)
					require.Equal(t, http.StatusOK, status, string(body))
					var ci struct{ ID string }
					require.NoError(t, json.Unmarshal(body, &ci))
					want := root.ID
					if credentialType == ncloud.CredentialSubAccount {
						want = data["sub_account_id"].(string)
					}
					require.Equal(t, want, ci.ID, "the key acts as its owner")
				},
				OtherTarget: cfg(oak, osk),
			}
		},
	})
}
