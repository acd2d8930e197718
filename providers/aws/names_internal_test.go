package aws

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/naming"
)

// Templates of the former syntax stored in configs are converted to
// Vault's template language; templates already in it are left alone.
func TestConvertLegacyTemplate(t *testing.T) {
	cases := []struct {
		name, in, want string
		wantErr        string
	}{
		{name: "former default username", in: "vault-{{display_name:20}}-{{role:20}}-{{id}}",
			want: "vault-{{ .DisplayName | truncate 20 }}-{{ .RoleName | truncate 20 }}-{{ .ID }}"},
		{name: "former default session name", in: "vault-{{display_name:24}}-{{role:16}}-{{id}}",
			want: "vault-{{ .DisplayName | truncate 24 }}-{{ .RoleName | truncate 16 }}-{{ .ID }}"},
		{name: "default widths, instance and unix_time", in: "{{instance}}.{{role}}.{{unix_time}}.{{ id }}",
			want: "{{ .Instance | truncate 32 }}.{{ .RoleName | truncate 32 }}.{{ .UnixTime }}.{{ .ID }}"},
		{name: "display name alone", in: "x-{{display_name}}-{{id}}", want: "x-{{ .DisplayName | truncate 32 }}-{{ .ID }}"},
		{name: "new syntax untouched", in: DefaultUsernameTemplate, want: DefaultUsernameTemplate},
		{name: "new syntax with unix_time function untouched", in: "v-{{ unix_time }}-{{ .ID }}", want: "v-{{ unix_time }}-{{ .ID }}"},
		{name: "mixed syntax left to the new parser", in: "{{ .RoleName }}-{{id}}", want: "{{ .RoleName }}-{{id}}"},
		{name: "no id: not the former syntax", in: "vault-{{role}}", want: "vault-{{role}}"},
		{name: "unknown former placeholder", in: "{{user}}-{{id}}", wantErr: "unknown former-syntax placeholder {{user}}"},
		{name: "width on id", in: "{{id:4}}-{{id}}", wantErr: "{{id}} takes no width"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := convertLegacyTemplate(c.in)
			if c.wantErr != "" {
				require.ErrorContains(t, err, c.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want, got)
		})
	}
}

// Converted and new templates render names within IAM's and STS's rules;
// templates that can render a name the cloud refuses are refused when
// parsed, naming the field.
func TestNameTemplates(t *testing.T) {
	data := naming.Data{RoleName: "deploy/prod", DisplayName: "oidc-alice@example.com", Instance: "aws", ID: "abcdefghijklm", UnixTime: 1700000000}
	render := []struct {
		name, src string
		rules     naming.Rules
		want      string
	}{
		{"default username", DefaultUsernameTemplate, userNameRules, "vault-oidc-alice@example.c-deploy-prod-abcdefghijklm"},
		{"default session name", DefaultSessionNameTemplate, sessionNameRules, "vault-oidc-alice@example.com-deploy-prod-abcdefghijklm"},
		{"former default username", "vault-{{display_name:20}}-{{role:20}}-{{id}}", userNameRules, "vault-oidc-alice@example.c-deploy-prod-abcdefghijklm"},
		{"former instance and time", "{{instance}}.{{role:6}}.{{unix_time}}.{{id}}", userNameRules, "aws.deploy.1700000000.abcdefghijklm"},
		{"vault functions", `{{ printf "v-%s-%s" (.RoleName | truncate 6 | uppercase) .ID }}`, sessionNameRules, "v-DEPLOY-abcdefghijklm"},
	}
	for _, c := range render {
		t.Run(c.name, func(t *testing.T) {
			tpl, err := parseNameTemplate(c.src, c.rules)
			require.NoError(t, err)
			got, err := tpl.Render(data)
			require.NoError(t, err)
			require.Equal(t, c.want, got)
		})
	}

	refuse := []struct {
		name, src string
		rules     naming.Rules
		want      string
	}{
		{"too long for IAM", `vault-{{ .RoleName }}-{{ .DisplayName | truncate 40 }}-{{ .ID }}`, userNameRules, "username_template: renders"},
		{"former syntax too long", "vault-{{role}}-{{display_name}}-{{id}}", userNameRules, "IAM user names are at most 64"},
		{"charset", `vault/{{ .ID }}`, userNameRules, "which IAM user names may not contain"},
		{"no id", `vault-{{ .RoleName | truncate 10 }}`, sessionNameRules, "session_name_template: renders"},
		{"session name too short", `{{ .ID | truncate 1 }}`, sessionNameRules, "STS role session names are at least 2"},
		{"unbounded printf", `{{ printf "%0999999d" 0 }}{{ .ID }}`, userNameRules, "width or precision"},
	}
	for _, c := range refuse {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseNameTemplate(c.src, c.rules)
			require.ErrorContains(t, err, c.want)
		})
	}
}
