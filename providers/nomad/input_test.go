package nomad_test

import (
	"strings"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/nomad/nomadtest"
)

// Done means 7: bad role input is a 400 naming the field, and nothing is
// created in Nomad or stored.
func TestBadRoleInput(t *testing.T) {
	e := newEnv(t, nomadtest.Options{})
	// 90 bytes for the template behind the mark prefix (18 bytes).
	e.configure(map[string]any{"max_token_name_length": 108, "token_name_template": "{{ .RoleName }}-{{ .DisplayName | truncate 5 }}-{{ .ID }}"})

	tests := []struct {
		name  string
		role  string
		data  map[string]any
		field string
		want  string
	}{
		{"unknown type", "r", map[string]any{"type": "admin", "policies": "readonly"}, "type", "client, management"},
		{"management with policies", "r", map[string]any{"type": "management", "policies": "readonly"}, "policies", "management"},
		{"management with roles", "r", map[string]any{"type": "management", "roles": "deployer"}, "roles", "management"},
		{"empty client role", "r", map[string]any{}, "policies", "at least one"},
		{"empty lists", "r", map[string]any{"policies": "", "roles": []string{}}, "policies", "at least one"},
		{"unknown policy", "r", map[string]any{"policies": "readonly,nope"}, "policies", `no ACL policy "nope"`},
		{"unknown acl role", "r", map[string]any{"roles": "nope"}, "roles", `no ACL role "nope"`},
		{"invalid policy name", "r", map[string]any{"policies": "read only!"}, "policies", "not a valid Nomad name"},
		{"negative expiration_ttl", "r", map[string]any{"policies": "readonly", "expiration_ttl": -60}, "expiration_ttl", "negative"},
		{"unknown field", "r", map[string]any{"policies": "readonly", "policy": "x"}, "policy", "valid fields are"},
		{"role name too long for the token name", strings.Repeat("x", 80), map[string]any{"policies": "readonly"}, "token_name_template", "for role"},
		{"unknown credential type", "r", map[string]any{"policies": "readonly", "credential_type": "key"}, "credential_type", "token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := e.ts.State()
			creates := e.ts.Core().Count("TokenCreate")
			e.BadRequest(logical.UpdateOperation, "roles/nomad/"+tc.role, tc.data, tc.field, tc.want)
			require.Equal(t, before, e.ts.State(), "nothing created in Nomad")
			require.Equal(t, creates, e.ts.Core().Count("TokenCreate"))
			resp, err := e.Do(logical.ReadOperation, "roles/nomad/"+tc.role, nil)
			require.NoError(t, err)
			require.Nil(t, resp, "the role was not stored")
		})
	}
}

// Done means 7: bad config input is a 400 naming the field; nothing is
// stored or created.
func TestBadConfigInput(t *testing.T) {
	e := newEnv(t, nomadtest.Options{})
	client := e.client(e.ts.RootToken())
	tok, _, err := client.ACLTokens().Create(aclClientToken(), nil)
	require.NoError(t, err)
	clientSecret := tok.SecretID

	tests := []struct {
		name  string
		data  map[string]any
		field string
		want  string
	}{
		{"no address", map[string]any{"address": ""}, "address", "NOMAD_ADDR"},
		{"address with a path", map[string]any{"address": e.ts.URL + "/nomad"}, "address", "path"},
		{"address with credentials", map[string]any{"address": strings.Replace(e.ts.URL, "http://", "http://u:p@", 1)}, "address", "user:password"},
		{"address not http", map[string]any{"address": "ftp://nomad:4646"}, "address", "http://"},
		{"no token", map[string]any{"token": ""}, "token", "NOMAD_TOKEN"},
		{"client token", map[string]any{"token": clientSecret}, "token", "management token"},
		{"max_token_name_length over Nomad's", map[string]any{"max_token_name_length": 300}, "max_token_name_length", "256"},
		{"max_token_name_length zero", map[string]any{"max_token_name_length": 0}, "max_token_name_length", "between 1 and 256"},
		{"template without the id", map[string]any{"token_name_template": "vault-{{ .RoleName | truncate 9 }}"}, "token_name_template", "{{ .ID }}"},
		{"template too long for the limit", map[string]any{"token_name_template": strings.Repeat("n", 250) + "-{{.ID}}"}, "token_name_template", "at most 238"}, // 256 less the mark prefix mc:<mount_id>:nomad:
		{"default template too long for a short limit", map[string]any{"max_token_name_length": 20}, "max_token_name_length", "needs at least 21 more"},
		{"template too long for a short limit", map[string]any{"max_token_name_length": 38, "token_name_template": "vault-x-{{ .ID }}"}, "token_name_template", "at most 20"},
		{"the mark prefix takes the whole limit", map[string]any{"max_token_name_length": 18, "token_name_template": "{{ .ID }}"}, "max_token_name_length", "taken by the mark prefix"},
		{"template does not parse", map[string]any{"token_name_template": "{{.ID"}, "token_name_template", "does not parse"},
		{"template unknown key", map[string]any{"token_name_template": "{{.Nope}}-{{.ID}}"}, "token_name_template", "unknown field .Nope"},
		{"template with an unbounded printf", map[string]any{"token_name_template": `{{ printf "%0999999d" 0 }}{{ .ID }}`}, "token_name_template", "width or precision"},
		{"ca_cert garbage", map[string]any{"address": "https://127.0.0.1:1", "ca_cert": "not a pem"}, "ca_cert", "no PEM"},
		{"ca_cert on http", map[string]any{"ca_cert": "x"}, "ca_cert", "not https"},
		{"client_cert without key", map[string]any{"address": "https://127.0.0.1:1", "client_cert": "x"}, "client_key", "required"},
		{"client_key without cert", map[string]any{"address": "https://127.0.0.1:1", "client_key": "x"}, "client_cert", "required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := map[string]any{"address": e.ts.URL, "token": e.ts.RootToken()}
			for k, v := range tc.data {
				data[k] = v
			}
			before := e.ts.State()
			e.BadRequest(logical.UpdateOperation, "config/nomad", data, tc.field, tc.want)
			require.Equal(t, before, e.ts.State())
			resp, err := e.Do(logical.ReadOperation, "config/nomad", nil)
			require.NoError(t, err)
			require.Nil(t, resp, "the config was not stored")
		})
	}
}
