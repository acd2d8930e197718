package aws_test

import (
	"testing"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
)

// Name templates in Vault's template language name the IAM users and STS
// sessions; a stored template of the former syntax keeps working; a
// template that could render a name AWS refuses is a 400 at config write.
func TestNameTemplatesThroughThePlugin(t *testing.T) {
	cases := []struct {
		name          string
		user, session string
		wantUser      string
		wantSession   string
	}{
		{"defaults", "", "", `^vault-token-ci-tpl-[a-z2-7]{13}$`, `^vault-token-ci-tpl-[a-z2-7]{13}$`},
		{"vault language",
			`{{ printf "%s.%s" (.Instance | truncate 10) (.RoleName | truncate 10 | uppercase) }}-{{ .UnixTime }}-{{ .ID }}`,
			`s-{{ .DisplayName | truncate 5 }}-{{ .ID }}`,
			`^aws\.TPL-\d{10}-[a-z2-7]{13}$`, `^s-token-[a-z2-7]{13}$`},
		{"former syntax, converted", "{{instance}}.{{role:2}}.{{id}}", "x{{display_name:3}}{{id}}",
			`^aws\.tp\.[a-z2-7]{13}$`, `^xtok[a-z2-7]{13}$`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			extra := map[string]any{}
			if c.user != "" {
				extra["username_template"] = c.user
				extra["session_name_template"] = c.session
			}
			e := newEnv(t, awstest.Options{}, extra)
			deploy := e.role("deploy")
			e.OK(logical.UpdateOperation, "roles/aws/tpl", map[string]any{"policy_document": allowS3})
			resp := e.issue("tpl", nil)
			require.Regexp(t, c.wantUser, resp.Data["user_name"])
			_, err := e.Revoke(resp.Secret)
			require.NoError(t, err)

			e.OK(logical.UpdateOperation, "roles/aws/tpl", map[string]any{"credential_type": "assumed_role", "role_arns": []string{deploy}, "ttl": "15m"})
			resp = e.issue("tpl", nil)
			arn, err := e.whoAmI(resp.Data["access_key"].(string), resp.Data["secret_key"].(string), resp.Data["session_token"].(string))
			require.NoError(t, err)
			require.Regexp(t, `^arn:aws:sts::123456789012:assumed-role/deploy/`+c.wantSession[1:], arn)
		})
	}

	e := newEnv(t, awstest.Options{}, nil)
	for _, bad := range []struct{ field, tpl, want string }{
		{"username_template", `vault-{{ .RoleName }}-{{ .DisplayName }}-{{ .ID }}`, "IAM user names are at most 64"},
		{"username_template", `vault-{{role}}-{{display_name}}-{{id}}`, "IAM user names are at most 64"},
		{"session_name_template", `{{ .RoleName | truncate 10 }}`, "must contain {{ .ID }}"},
		{"session_name_template", `v {{ .ID }}`, "which STS role session names may not contain"},
	} {
		msg := e.BadRequest(logical.UpdateOperation, "config/aws", map[string]any{bad.field: bad.tpl}, bad.want)
		require.Regexp(t, "^"+bad.field+": ", msg)
	}
}
