package conformance_test

import (
	"testing"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/providertest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/providertest/conformance"
)

// TestMemoryDriver runs the contract against the in-memory test driver,
// the reference driver of the suite.
func TestMemoryDriver(t *testing.T) {
	conformance.Run(t, conformance.Harness{
		Driver: providertest.New("", providertest.NewCloud()),
		Start: func(t *testing.T) *conformance.Env {
			cloud := providertest.NewCloud()
			return &conformance.Env{
				Driver: providertest.New("", cloud),
				Config: providers.Values{"access_key": "root", "secret_key": "s3cr3t-root"},
				Roles: []conformance.Role{
					{Name: "keys", CredentialType: "key", Values: providers.Values{"parts": 3, "scopes": []string{"read"}}},
					{Name: "tokens", CredentialType: "token"},
				},
				State:         func() map[string]int { return map[string]int{"principals": len(cloud.Objects())} },
				Faults:        cloud.Core(),
				CreateActions: map[string][]string{"key": {"create-principal", "attach-1", "attach-2"}},
				DeleteActions: []string{"delete-principal"},
				OtherTarget:   providers.Values{"access_key": "root", "secret_key": "s3cr3t-root", "account": "999999999999"},
			}
		},
	})
}

// TestAddingACloud keeps docs/architecture.md's walkthrough true: a driver
// under a new name, registered with nothing else, passes the whole suite,
// including the plugin's own paths (config, roles, creds, the index,
// renew and revoke), with no change anywhere else in the repository.
func TestAddingACloud(t *testing.T) {
	conformance.Run(t, conformance.Harness{
		Driver: providertest.New("fourth", providertest.NewCloud()),
		Start: func(t *testing.T) *conformance.Env {
			cloud := providertest.NewCloud()
			return &conformance.Env{
				Driver: providertest.New("fourth", cloud),
				Config: providers.Values{"endpoint": "memory://fourth", "access_key": "root", "secret_key": "s3cr3t-root"},
				Roles: []conformance.Role{
					{Name: "deploy", CredentialType: "key", Values: providers.Values{"parts": 2}},
					{Name: "ci", CredentialType: "token"},
				},
				State:         func() map[string]int { return map[string]int{"principals": len(cloud.Objects())} },
				Faults:        cloud.Core(),
				CreateActions: map[string][]string{"key": {"create-principal", "attach-1"}},
				DeleteActions: []string{"delete-principal"},
			}
		},
	})
}
