package naming_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/naming"
)

// iamLike are IAM's user name rules: 1-64 of [\w+=,.@-].
var iamLike = naming.Rules{
	Field:       "username_template",
	What:        "IAM user name",
	MinLen:      1,
	MaxLen:      64,
	AllowedText: "letters, digits and +=,.@_-",
	Allowed: func(r rune) bool {
		return r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("+=,.@_-", r))
	},
}

// startsWithLetter is an Ncloud-like rule on the first character.
var startsWithLetter = func() naming.Rules {
	r := iamLike
	r.Field = "login_id_template"
	r.What = "loginId"
	r.MinLen = 3
	r.Check = func(name string) error {
		if c := name[0]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return errors.New("loginIds must start with a letter")
		}
		return nil
	}
	return r
}()

func TestParse(t *testing.T) {
	cases := []struct {
		name    string
		src     string
		rules   naming.Rules
		wantErr string
	}{
		{name: "vault style", src: `vault-{{ .RoleName | truncate 20 }}-{{ .DisplayName | truncate 20 }}-{{ .ID }}`},
		{name: "printf pipeline", src: `{{ printf "v-%s-%s" (.RoleName | truncate 16) .ID | lowercase }}`},
		{name: "unix_time and random", src: `v{{ unix_time }}-{{ random 8 }}-{{ .ID }}`},
		{name: "if", src: `{{ if eq .Instance "main" }}m{{ else }}o{{ end }}-{{ .ID }}`},
		{name: "variables", src: `{{ $r := .RoleName | truncate 10 }}{{ $r }}-{{ .ID }}`},
		{name: "UnixTime field", src: `{{ .UnixTime }}-{{ .ID }}`},
		{name: "truncate_sha256", src: `{{ .DisplayName | truncate_sha256 30 }}-{{ .ID }}`},

		{name: "empty", src: "  ", wantErr: "username_template: must not be empty"},
		{name: "does not parse", src: `{{ .RoleName `, wantErr: "does not parse"},
		{name: "no id", src: `vault-{{ .RoleName | truncate 10 }}`, wantErr: "must contain {{ .ID }}"},
		{name: "unbounded display name", src: `vault-{{ .DisplayName }}-{{ .ID }}`, wantErr: "long role name"},
		{name: "unknown field", src: `{{ .Role }}-{{ .ID }}`, wantErr: "unknown field .Role"},
		{name: "unknown function", src: `{{ .RoleName | html }}-{{ .ID }}`, wantErr: `function "html" is not allowed`},
		{name: "range", src: `{{ range 1000000000 }}x{{ end }}{{ .ID }}`, wantErr: "range is not allowed"},
		{name: "define", src: `{{ define "a" }}x{{ end }}{{ .ID }}`, wantErr: "define and block are not allowed"},
		{name: "template call", src: `{{ template "name" }}{{ .ID }}`, wantErr: "template calls are not allowed"},
		{name: "huge printf width", src: `{{ printf "%0999999999d" 0 }}{{ .ID }}`, wantErr: "width or precision 0999999999 is more than 1024"},
		{name: "star width", src: `{{ printf "%*d" 5 0 }}{{ .ID }}`, wantErr: "widths taken from arguments"},
		{name: "huge random", src: `{{ random 1000000000 }}{{ .ID }}`, wantErr: "random: the length must be between 1 and 1024"},
		{name: "replace explosion", src: `{{ .RoleName | replace "r" "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" | truncate 10 }}{{ .ID }}`, wantErr: "replace: the result would have"},
		{name: "charset from a function", src: `{{ .DisplayName | truncate 6 | base64 }}/{{ .ID }}`, wantErr: `which IAM user names may not contain`},
		{name: "first character", src: `1{{ .ID }}`, rules: startsWithLetter, wantErr: "loginIds must start with a letter"},
		{name: "id first, which may start with a digit", src: `{{ .ID }}-{{ .RoleName | truncate 10 }}`, rules: startsWithLetter, wantErr: "for a request id starting with a digit"},
		{name: "too short", src: `{{ .ID | truncate 2 }}`, rules: startsWithLetter, wantErr: "at least 3"},
		{name: "too long template", src: strings.Repeat("a", naming.MaxTemplateLen+1), wantErr: "at most 4096"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rules := tc.rules
			if rules.Field == "" {
				rules = iamLike
			}
			tpl, err := naming.Parse(tc.src, rules)
			if tc.wantErr == "" {
				require.NoError(t, err)
				require.Equal(t, tc.src, tpl.Source())
				return
			}
			require.Error(t, err)
			var fe *providers.FieldError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, rules.Field, fe.Field)
			require.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

func TestRender(t *testing.T) {
	tpl := naming.MustParse(`vault-{{ .RoleName | truncate 20 }}-{{ .DisplayName | truncate 20 }}-{{ .ID }}`, iamLike)
	cases := []struct {
		name string
		data naming.Data
		want string
	}{
		{"plain", naming.Data{RoleName: "ci", DisplayName: "token-ci", ID: "abcdefghijklm"}, "vault-ci-token-ci-abcdefghijklm"},
		{"sanitised", naming.Data{RoleName: "ci", DisplayName: "oidc:Jöhn Doe", ID: "abcdefghijklm"}, "vault-ci-oidc-J-hn-Doe-abcdefghijklm"},
		{"truncated", naming.Data{RoleName: strings.Repeat("r", 30), DisplayName: strings.Repeat("d", 30), ID: "abcdefghijklm"},
			"vault-" + strings.Repeat("r", 20) + "-" + strings.Repeat("d", 20) + "-abcdefghijklm"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tpl.Render(tc.data)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}

	// A name that breaks the rules at render time is a FieldError too.
	bad := naming.MustParse(`{{ if eq .Instance "x" }}{{ .ID }}{{ .ID }}{{ .ID }}{{ .ID }}{{ .ID }}{{ else }}{{ .ID }}{{ end }}`, iamLike)
	_, err := bad.Render(naming.Data{Instance: "x", ID: "abcdefghijklm"})
	require.ErrorContains(t, err, "username_template: renders")
	require.ErrorContains(t, err, "at most 64")
}

func TestCheckRole(t *testing.T) {
	// Parse probes role names of up to 64 characters; a longer role is
	// checked when it is written.
	rules := iamLike
	rules.MaxLen = 100
	tpl := naming.MustParse(`v-{{ .RoleName }}-{{ .DisplayName | truncate 10 }}-{{ .ID }}`, rules)
	require.NoError(t, tpl.CheckRole("deploy"))
	require.NoError(t, tpl.CheckRole(strings.Repeat("x", 64)))
	err := tpl.CheckRole(strings.Repeat("x", 90))
	require.ErrorContains(t, err, "username_template: renders")
	require.ErrorContains(t, err, "for role")
}
