package nomad_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/nomad/nomadtest"
)

// Done means 1: issue makes a token with the role's policies, roles,
// global mode and type, and its secret works on /v1/acl/token/self.
func TestIssueCreatesTokenWithRoleFields(t *testing.T) {
	e := newEnv(t, nomadtest.Options{})
	e.configure(nil)

	tests := []struct {
		name     string
		role     map[string]any
		typ      string
		policies []string
		roles    []string
		global   bool
	}{
		{"client policies", map[string]any{"policies": "readonly,ops"}, "client", []string{"readonly", "ops"}, nil, false},
		{"client acl role global", map[string]any{"roles": []string{"deployer"}, "global": true}, "client", nil, []string{"deployer"}, true},
		{"client both", map[string]any{"policies": []string{"readonly"}, "roles": "deployer"}, "client", []string{"readonly"}, []string{"deployer"}, false},
		{"management", map[string]any{"type": "management"}, "management", nil, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			role := strings.ReplaceAll(tc.name, " ", "-")
			e.OK(logical.UpdateOperation, "roles/nomad/"+role, tc.role)
			resp := e.issue(role)

			accessor := resp.Data["accessor_id"].(string)
			secret := resp.Data["secret_id"].(string)
			require.NotEmpty(t, secret)
			tok, ok := e.ts.Token(accessor)
			require.True(t, ok, "token must exist in Nomad")
			require.Equal(t, tc.typ, tok.Type)
			require.ElementsMatch(t, tc.policies, tok.Policies)
			require.ElementsMatch(t, tc.roles, tok.Roles)
			require.Equal(t, tc.global, tok.Global)
			require.True(t, tok.ExpirationTime.IsZero(), "no expiration_ttl, no Nomad expiry")
			require.Equal(t, resp.Data["name"], tok.Name)
			require.True(t, strings.HasPrefix(tok.Name, "mc:"+e.mountID()+":nomad:vault-"+role+"-token-ci-example.com-"), tok.Name)
			require.True(t, resp.Secret.Renewable)
			require.Equal(t, e.ts.URL, resp.Data["address"], "the credential says where it is valid")

			self, _, err := e.client(secret).ACLTokens().Self(nil)
			require.NoError(t, err)
			require.Equal(t, accessor, self.AccessorID)
		})
	}
	// One Nomad call per issue: the create itself.
	require.Equal(t, len(tests), e.ts.Core().Count("TokenCreate"))
}

// Done means 2: no stored entry holds an issued secret_id.
func TestStorageHoldsNoSecret(t *testing.T) {
	e := newEnv(t, nomadtest.Options{})
	e.configure(nil)
	e.OK(logical.UpdateOperation, "roles/nomad/r", map[string]any{"policies": "readonly", "expiration_ttl": "10m"})
	e.OK(logical.UpdateOperation, "roles/nomad/m", map[string]any{"type": "management"})

	var secrets []string
	for _, role := range []string{"r", "m", "r"} {
		resp := e.issue(role)
		secret := resp.Data["secret_id"].(string)
		secrets = append(secrets, secret)
		// What Vault stores with the lease.
		internal, err := json.Marshal(resp.Secret.InternalData)
		require.NoError(t, err)
		require.NotContains(t, string(internal), secret)
		require.Contains(t, string(internal), resp.Data["accessor_id"].(string))
	}
	entries := e.StorageDump()
	require.NotEmpty(t, entries)
	for key, value := range entries {
		for _, s := range secrets {
			require.NotContains(t, value, s, "storage entry %s holds an issued secret", key)
		}
	}
}

// Done means 3: revoke deletes by accessor; gone (twice, behind the back)
// is success; a Nomad 500 is an error Vault retries.
func TestRevoke(t *testing.T) {
	e := newEnv(t, nomadtest.Options{})
	e.configure(map[string]any{"max_retries": 2})
	e.OK(logical.UpdateOperation, "roles/nomad/r", map[string]any{"policies": "readonly"})

	t.Run("deletes by accessor, twice is success", func(t *testing.T) {
		resp := e.issue("r")
		accessor := resp.Data["accessor_id"].(string)
		before := e.ts.Core().Count("TokenDelete")
		_, err := e.Revoke(resp.Secret)
		require.NoError(t, err)
		_, ok := e.ts.Token(accessor)
		require.False(t, ok)
		require.Equal(t, before+1, e.ts.Core().Count("TokenDelete"), "one DELETE per revoke")

		again, err := e.Revoke(resp.Secret)
		require.NoError(t, err)
		require.NotNil(t, again)
		require.Contains(t, strings.Join(again.Warnings, " "), "already gone")
	})
	t.Run("deleted behind the plugin's back", func(t *testing.T) {
		resp := e.issue("r")
		e.ts.DeleteTokenBehindBack(resp.Data["accessor_id"].(string))
		_, err := e.Revoke(resp.Secret)
		require.NoError(t, err)
	})
	t.Run("a 500 on delete is retried within the revoke", func(t *testing.T) {
		resp := e.issue("r")
		accessor := resp.Data["accessor_id"].(string)
		deletes := e.ts.Core().Count("TokenDelete")
		e.ts.Core().SetFaults(faults(map[string]int{"TokenDelete": 1}))
		_, err := e.Revoke(resp.Secret)
		require.NoError(t, err)
		require.Equal(t, deletes+2, e.ts.Core().Count("TokenDelete"))
		_, ok := e.ts.Token(accessor)
		require.False(t, ok)
	})
	t.Run("500s on every attempt are an error, then Vault's retry succeeds", func(t *testing.T) {
		resp := e.issue("r")
		accessor := resp.Data["accessor_id"].(string)
		e.ts.Core().SetFaults(faults(map[string]int{"TokenDelete": 3})) // the try and max_retries 2
		_, err := e.Revoke(resp.Secret)
		require.Error(t, err)
		require.NotErrorIs(t, err, logical.ErrUnrecoverable)
		require.Contains(t, err.Error(), "No cluster leader")
		require.Contains(t, err.Error(), accessor)
		require.NotContains(t, err.Error(), resp.Data["secret_id"].(string))
		_, ok := e.ts.Token(accessor)
		require.True(t, ok, "the token survives a failed revoke")

		_, err = e.Revoke(resp.Secret)
		require.NoError(t, err)
		_, ok = e.ts.Token(accessor)
		require.False(t, ok)
	})
}
