package nomad_test

import (
	"os"
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/nomad"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/nomad/nomadtest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/providertest/conformance"
)

// Acceptance tests (make testacc): the conformance suite against a real
// Nomad cluster, with the cluster's own variables plus:
//
//	VAULT_ACC=1               run them (else they skip)
//	NOMAD_ADDR, NOMAD_TOKEN   the cluster and a management token
//
// The test upserts an ACL policy named vault-acc-read (read access to the
// default namespace) and deletes it at the end; tokens are named
// vault-acc-<role>-<id> and are gone when the test ends.

const accPolicy = "vault-acc-read"

func TestAcceptance(t *testing.T) {
	if os.Getenv("VAULT_ACC") != "1" {
		t.Skip("acceptance tests against a real Nomad cluster run with VAULT_ACC=1 (see make testacc)")
	}
	if os.Getenv("NOMAD_ADDR") == "" || os.Getenv("NOMAD_TOKEN") == "" {
		t.Skip("set NOMAD_ADDR and NOMAD_TOKEN (a management token)")
	}
	conformance.Run(t, conformance.Harness{Driver: nomad.New(), Start: accEnvNomad})
}

// TestAcceptanceAgainstTheEmulator runs the acceptance code, unchanged,
// against nomadtest reached through the same variables.
func TestAcceptanceAgainstTheEmulator(t *testing.T) {
	ts := nomadtest.Start(t, nomadtest.Options{})
	t.Setenv("NOMAD_ADDR", ts.URL)
	t.Setenv("NOMAD_TOKEN", ts.RootToken())
	conformance.Run(t, conformance.Harness{Driver: nomad.New(), Start: accEnvNomad})
}

// accEnvNomad describes the cluster of the environment to the suite.
func accEnvNomad(t *testing.T) *conformance.Env {
	addr, token := os.Getenv("NOMAD_ADDR"), os.Getenv("NOMAD_TOKEN")
	if addr == "" || token == "" {
		t.Skip("set NOMAD_ADDR and NOMAD_TOKEN (a management token)")
	}
	admin, err := api.NewClient(&api.Config{Address: addr, SecretID: token})
	require.NoError(t, err)
	_, err = admin.ACLPolicies().Upsert(&api.ACLPolicy{Name: accPolicy, Description: "vault-plugin-secrets-multicloud acceptance tests",
		Rules: `namespace "default" { policy = "read" }`}, nil)
	require.NoError(t, err, "upsert the test policy")
	t.Cleanup(func() { _, _ = admin.ACLPolicies().Delete(accPolicy, nil) })

	tokens := func() map[string]int {
		stubs, _, err := admin.ACLTokens().List(nil)
		require.NoError(t, err, "list tokens")
		n := 0
		for _, s := range stubs {
			if strings.Contains(s.Name, "vault-acc-") {
				n++
			}
		}
		return map[string]int{"tokens": n}
	}
	return &conformance.Env{
		// The driver gets the cluster through its config, not NOMAD_*.
		Config: providers.Values{"address": addr, "token": token, "token_name_template": "vault-acc-{{ .RoleName | truncate 20 }}-{{ .ID }}"},
		Roles: []conformance.Role{
			{Name: "acc-client", CredentialType: nomad.CredentialToken, Values: providers.Values{"policies": []string{accPolicy}}},
		},
		State: tokens,
		Use: func(t *testing.T, _ string, data map[string]any) {
			c, err := api.NewClient(&api.Config{Address: addr, SecretID: data["secret_id"].(string)})
			require.NoError(t, err)
			self, _, err := c.ACLTokens().Self(nil)
			require.NoError(t, err, "the issued token authenticates")
			require.Equal(t, data["accessor_id"], self.AccessorID)
		},
	}
}
