package nomad_test

import (
	"time"

	"testing"

	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/nomad"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/nomad/nomadtest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/providertest/conformance"
)

// TestConformance runs the shared driver contract against the Nomad
// emulator: a local client token and a global management token (in a
// federation whose agent is not in the authoritative region, with
// replication lag), and another cluster as the other target.
func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.Harness{
		Driver: nomad.New(nomad.WithGetenv(noEnv)),
		Start: func(t *testing.T) *conformance.Env {
			ts := nomadtest.Start(t, nomadtest.Options{Regions: []string{"global", "east"}, LocalRegion: "east", AuthoritativeRegion: "global", ReplicationLag: 50 * time.Millisecond})
			seedACL(t, ts.URL, ts.RootToken(), nil)
			other := nomadtest.Start(t, nomadtest.Options{})
			return &conformance.Env{
				Config: providers.Values{"address": ts.URL, "token": ts.RootToken(), "max_retries": 2},
				Roles: []conformance.Role{
					{Name: "client", CredentialType: nomad.CredentialToken, Values: providers.Values{"policies": []string{"readonly"}, "roles": []string{"deployer"}}},
					{Name: "global-admin", CredentialType: nomad.CredentialToken, Values: providers.Values{"type": "management", "global": true}},
				},
				State:         ts.State,
				Faults:        ts.Core(),
				CreateActions: map[string][]string{nomad.CredentialToken: {"TokenCreate"}},
				DeleteActions: []string{"TokenDelete"},
				Use: func(t *testing.T, _ string, data map[string]any) {
					self, _, err := nomadClient(t, ts.URL, data["secret_id"].(string)).ACLTokens().Self(nil)
					if err != nil && data["global"] == true {
						// A global token reaches the agent's region after
						// replication; in the authoritative region it
						// works at once.
						c := nomadClient(t, ts.URL, data["secret_id"].(string))
						self, _, err = c.ACLTokens().Self(queryIn("global"))
					}
					require.NoError(t, err)
					require.Equal(t, data["accessor_id"], self.AccessorID)
				},
				OtherTarget: providers.Values{"address": other.URL, "token": other.RootToken()},
			}
		},
	})
}
