package aws

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTemplateRender(t *testing.T) {
	vars := tplVars{Role: "deploy/prod", DisplayName: "oidc-alice@example.com", Instance: "aws", ID: "abcdefghijklm", UnixTime: 1700000000}
	cases := []struct {
		tpl, want string
	}{
		{DefaultUsernameTemplate, "vault-oidc-alice@example.c-deploy-prod-abcdefghijklm"},
		{DefaultSessionNameTemplate, "vault-oidc-alice@example.com-deploy-prod-abcdefghijklm"},
		{"{{instance}}.{{role:6}}.{{unix_time}}.{{id}}", "aws.deploy.1700000000.abcdefghijklm"},
		{"x-{{display_name:1}}--{{id}}", "x-o-abcdefghijklm"},
	}
	for _, c := range cases {
		t.Run(c.tpl, func(t *testing.T) {
			tpl, err := parseTemplate(c.tpl)
			require.NoError(t, err)
			got := tpl.render(vars)
			require.Equal(t, c.want, got)
			require.LessOrEqual(t, len(got), maxNameLen)
		})
	}
	// Empty values leave no double dash.
	tpl, err := parseTemplate(DefaultUsernameTemplate)
	require.NoError(t, err)
	require.Equal(t, "vault-r-abcdefghijklm", tpl.render(tplVars{Role: "r", ID: "abcdefghijklm"}))
}
