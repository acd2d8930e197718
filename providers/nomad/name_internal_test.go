package nomad

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/naming"
)

// Templates stored by earlier versions (plain Go templates whose output was
// sanitized and whose display name was shortened until the name fitted)
// are converted on read into Vault's template language with the old
// behaviour made explicit; defaults follow max_token_name_length; new
// templates are taken as they are.
func TestParseNameTemplate(t *testing.T) {
	const id = "abcdefghijklm"
	cases := []struct {
		name      string
		src       string
		maxLen    int
		budget    int    // what the template may render (0: maxLen)
		source    string // the template in use
		converted bool
		// a typical request's name
		role, display, want string
		wantErr             string
	}{
		{name: "unset", src: "", maxLen: 256, source: defaultNameTemplate,
			role: "deploy", display: "token-ci@example.com", want: "vault-deploy-token-ci-example.com-" + id},
		{name: "old default", src: "vault-{{.RoleName}}-{{.DisplayName}}-{{.ID}}", maxLen: 256, source: defaultNameTemplate,
			role: "deploy", display: "token-ci@example.com", want: "vault-deploy-token-ci-example.com-" + id},
		{name: "old default, short limit", src: "vault-{{.RoleName}}-{{.DisplayName}}-{{.ID}}", maxLen: 40,
			source: `vault-{{ printf "%s-%s" .RoleName .DisplayName | truncate 20 }}-{{ .ID }}`,
			role:   "deploy", display: "token-ci@example.com", want: "vault-deploy-token-ci-exam-" + id},
		{name: "new default text, short limit", src: defaultNameTemplate, maxLen: 40,
			source: `vault-{{ printf "%s-%s" .RoleName .DisplayName | truncate 20 }}-{{ .ID }}`,
			role:   "deploy", display: "ci", want: "vault-deploy-ci-" + id},
		{name: "new syntax kept", src: `v-{{ .RoleName | truncate 10 | uppercase }}-{{ .ID }}`, maxLen: 256,
			source: `v-{{ .RoleName | truncate 10 | uppercase }}-{{ .ID }}`, role: "deploy", want: "v-DEPLOY-" + id},
		// Converted with room for the longest mark prefix (76 bytes): 180
		// bytes, less 85 of text, id and a 64-byte role name.
		{name: "old: display name shortened, text sanitized", src: "vault-{{.RoleName}}/{{.DisplayName}}-{{.ID}}", maxLen: 256,
			source: "vault-{{.RoleName}}-{{(.DisplayName | truncate 95)}}-{{.ID}}", converted: true,
			role: "deploy", display: "ci", want: "vault-deploy-ci-" + id},
		{name: "old: display name inside a call", src: "{{lowercase .DisplayName}}-{{.ID}}", maxLen: 256,
			source: "{{lowercase (.DisplayName | truncate 166)}}-{{.ID}}", converted: true,
			display: "Token-CI", want: "token-ci-" + id},
		{name: "old: instance and role cut too", src: "{{.Instance}}/{{.RoleName}}/{{.DisplayName}}/{{.ID}}", maxLen: 40,
			source: "{{(.Instance | truncate 8)}}-{{(.RoleName | truncate 8)}}-{{(.DisplayName | truncate 8)}}-{{.ID}}", converted: true,
			role: "deployment", display: "token-ci", want: "nomad-deployme-token-ci-" + id},

		// The same for an instance whose prefix is 18 bytes (mc:<8>:nomad:).
		{name: "old, converted the same for any instance", src: "{{lowercase .DisplayName}}-{{.ID}}", maxLen: 256, budget: 238,
			source: "{{lowercase (.DisplayName | truncate 166)}}-{{.ID}}", converted: true,
			display: "Token-CI", want: "token-ci-" + id},
		{name: "unset, behind a prefix", src: "", maxLen: 256, budget: 238, source: strings.Replace(defaultNameTemplate, "truncate 236", "truncate 218", 1),
			role: "deploy", display: "token-ci@example.com", want: "vault-deploy-token-ci-example.com-" + id},
		{name: "new syntax that leaves no room for the prefix", src: strings.Repeat("n", 240) + "{{.ID}}", maxLen: 256, budget: 238, wantErr: "at most 238"},
		{name: "prefix takes it all", src: "{{.ID}}", maxLen: 18, budget: -1, wantErr: "all of it taken by the mark prefix mc:<mount_id>:<instance>: (19 bytes)"},
		{name: "does not parse", src: "{{.ID", maxLen: 256, wantErr: "does not parse"},
		{name: "unknown field", src: "{{.Nope}}-{{.ID}}", maxLen: 256, wantErr: "unknown field .Nope"},
		{name: "no id", src: "vault-{{.RoleName}}", maxLen: 256, wantErr: "must contain {{ .ID }}"},
		{name: "range stays refused", src: "{{range .RoleName}}x{{end}}{{.ID}}", maxLen: 256, wantErr: "range is not allowed"},
		{name: "default cannot fit", src: "", maxLen: 20, wantErr: "max_token_name_length: is 20"},
		{name: "default cannot fit behind the prefix", src: "", maxLen: 30, budget: 12, wantErr: "takes 18 bytes of it"},
		{name: "fixed text cannot fit", src: strings.Repeat("n", 30) + "{{.ID}}", maxLen: 40, wantErr: "at most 40"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			budget := tc.budget
			if budget == 0 {
				budget = tc.maxLen
			}
			tpl, converted, err := parseNameTemplate(tc.src, tc.maxLen, budget)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				var fe *providers.FieldError
				require.ErrorAs(t, err, &fe)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.source, tpl.Source())
			if tc.converted {
				require.Equal(t, tc.source, converted)
			} else {
				require.Empty(t, converted)
			}
			name, err := tpl.Render(naming.Data{RoleName: tc.role, DisplayName: tc.display, Instance: "nomad", ID: id, UnixTime: 1700000000})
			require.NoError(t, err)
			require.Equal(t, tc.want, name)
			require.LessOrEqual(t, len(name), budget)
		})
	}
}
