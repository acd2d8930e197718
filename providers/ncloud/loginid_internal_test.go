package ncloud

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/naming"
)

// Old-syntax loginId templates (.Role, names fitted after rendering) are
// converted to the new syntax on read; new ones are used as written and
// refused, naming the field, when they can render a loginId Ncloud
// refuses.
func TestLoginTemplates(t *testing.T) {
	const id = "abcdefghij234"
	long := strings.Repeat("r", 64)
	tests := []struct {
		name   string
		src    string
		conv   string // the template used ("" = src)
		data   naming.Data
		render string // the name for data
		err    []string
	}{
		{name: "default", src: "", conv: defaultLoginTemplate,
			data: naming.Data{RoleName: "dev", ID: id}, render: "vault-dev-" + id},
		{name: "old default", src: "vault-{{.Role}}-{{.ID}}", conv: defaultLoginTemplate,
			data: naming.Data{RoleName: long, ID: id}, render: "vault-" + strings.Repeat("r", 28) + "-" + id},
		{name: "old, starting with a field, odd characters", src: "{{.DisplayName}}_{{.Role}} {{.ID}}",
			conv: "v{{ .DisplayName | truncate 16 }}_{{ .RoleName | truncate 16 }}-{{ .ID }}",
			data: naming.Data{RoleName: "ops", DisplayName: "oidc-jane@x.io", ID: id}, render: "voidc-jane@x.io_ops-" + id},
		{name: "old, three fields", src: "{{.Instance}}.{{.Role}}.{{.DisplayName}}.{{.ID}}",
			conv:   "v{{ .Instance | truncate 10 }}.{{ .RoleName | truncate 10 }}.{{ .DisplayName | truncate 10 }}.{{ .ID }}",
			data:   naming.Data{RoleName: long, Instance: "ncloud", DisplayName: long, ID: id},
			render: "vncloud." + strings.Repeat("r", 10) + "." + strings.Repeat("r", 10) + "." + id},
		{name: "old with a function", src: `svc-{{printf "%.10s" .Role}}-{{.ID}}`, conv: `svc-{{printf "%.10s" .RoleName}}-{{.ID}}`,
			data: naming.Data{RoleName: long, ID: id}, render: "svc-rrrrrrrrrr-" + id},
		{name: "old without id", src: "vault-{{.Role}}", err: []string{"login_id_template", "old template syntax", ".ID"}},
		{name: "old that cannot fit", src: `{{printf "%s-%s" .Role .DisplayName}}-{{.ID}}`, err: []string{"login_id_template", "old template syntax", "at most 48"}},
		{name: "new", src: "ci-{{ .RoleName | truncate 20 }}-{{ .UnixTime }}-{{ .ID }}",
			data: naming.Data{RoleName: "dev", ID: id, UnixTime: 1700000000}, render: "ci-dev-1700000000-" + id},
		{name: "new, may start with a digit", src: "{{ .ID }}", err: []string{"login_id_template", "start with a letter"}},
		{name: "new, too long", src: "vault-{{ .RoleName }}-{{ .ID }}", err: []string{"login_id_template", "at most 48"}},
		// 60 characters, the whole loginId: no room for the mark prefix.
		{name: "new, former default", src: "vault-{{ .RoleName | truncate 40 }}-{{ .ID }}", err: []string{"login_id_template", "at most 48"}},
		{name: "new, unknown field", src: "x{{ .Nope }}{{ .ID }}", err: []string{"login_id_template", ".Nope"}},
		{name: "new, unbounded", src: `x{{ printf "%0999999d" 0 }}{{ .ID }}`, err: []string{"login_id_template"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, err := parseLoginTemplate(tc.src)
			if len(tc.err) > 0 {
				require.Error(t, err)
				var fe *providers.FieldError
				require.True(t, errors.As(err, &fe), "%T %v", err, err)
				for _, w := range tc.err {
					require.Contains(t, err.Error(), w)
				}
				return
			}
			require.NoError(t, err)
			want := tc.conv
			if want == "" {
				want = tc.src
			}
			require.Equal(t, want, tmpl.Source())
			name, err := tmpl.Render(tc.data)
			require.NoError(t, err)
			require.Equal(t, tc.render, name)
		})
	}
}

// Parsed templates are kept: a template is parsed once per instance.
func TestTemplateCache(t *testing.T) {
	var c templateCache
	a, err := c.get("vault-{{.Role}}-{{.ID}}")
	require.NoError(t, err)
	b, err := c.get("vault-{{.Role}}-{{.ID}}")
	require.NoError(t, err)
	require.Same(t, a, b)
	_, err = c.get("{{ .ID }}")
	require.Error(t, err)
}
