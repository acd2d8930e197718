package nomad

import (
	"fmt"
	"strconv"
	"strings"
	"text/template"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// sampleID stands in for a request id when a template is checked; it has
// the length and alphabet of the plugin's ids ([a-z2-7]{13}).
const sampleID = "aaaaaaaaaaaaa"

// nameData is what a token name template sees.
type nameData struct {
	RoleName    string
	DisplayName string
	ID          string
	Instance    string
	UnixTime    string
}

// nameTemplate renders token names within a length limit.
type nameTemplate struct {
	tmpl   *template.Template
	maxLen int
}

var nameFuncs = template.FuncMap{
	"lowercase": strings.ToLower,
	"uppercase": strings.ToUpper,
	"replace":   func(old, repl, s string) string { return strings.ReplaceAll(s, old, repl) },
	"truncate": func(n int, s string) string {
		if n >= 0 && len(s) > n {
			return s[:n]
		}
		return s
	},
}

// parseNameTemplate parses and checks a template: it must render, contain
// the request id (so names are unique and Rollback can find a token by
// its name) and leave room within maxLen.
func parseNameTemplate(src string, maxLen int) (*nameTemplate, error) {
	if strings.TrimSpace(src) == "" {
		src = defaultNameTemplate
	}
	t, err := template.New("token_name").Funcs(nameFuncs).Option("missingkey=error").Parse(src)
	if err != nil {
		return nil, providers.InvalidField(fieldNameTemplate, "does not parse: %v", err)
	}
	nt := &nameTemplate{tmpl: t, maxLen: maxLen}
	name, err := nt.execute(nameData{RoleName: "r", ID: sampleID, Instance: "nomad", UnixTime: "1700000000"})
	if err != nil {
		return nil, providers.InvalidField(fieldNameTemplate, "does not render: %v", err)
	}
	if !strings.Contains(name, sampleID) {
		return nil, providers.InvalidField(fieldNameTemplate, "must contain {{.ID}} unchanged, so every token name is unique (rollback finds a token by its name)")
	}
	if len(name) > maxLen {
		return nil, providers.InvalidField(fieldNameTemplate, "renders names of at least %d bytes (one-letter role, no display name), more than max_token_name_length %d", len(name), maxLen)
	}
	return nt, nil
}

func (nt *nameTemplate) execute(d nameData) (string, error) {
	var b strings.Builder
	if err := nt.tmpl.Execute(&b, d); err != nil {
		return "", err
	}
	return sanitizeName(b.String()), nil
}

// render returns the token name for one request. The display name is
// shortened until the name fits; if even an empty display name does not
// fit, the role's name is too long for the limit.
func (nt *nameTemplate) render(instance, role, displayName, id string, unix int64) (string, error) {
	d := nameData{
		RoleName:    sanitizeName(role),
		DisplayName: sanitizeName(displayName),
		ID:          id,
		Instance:    instance,
		UnixTime:    strconv.FormatInt(unix, 10),
	}
	for {
		name, err := nt.execute(d)
		if err != nil {
			return "", providers.InvalidField(fieldNameTemplate, "does not render: %v", err)
		}
		if len(name) <= nt.maxLen {
			if !strings.Contains(name, id) {
				return "", providers.InvalidField(fieldNameTemplate, "must contain {{.ID}} unchanged, so every token name is unique")
			}
			return name, nil
		}
		if d.DisplayName == "" {
			return "", providers.InvalidField("name", "role name %q makes token names of %d bytes, more than max_token_name_length %d; use a shorter role name or token_name_template", role, len(name), nt.maxLen)
		}
		over := len(name) - nt.maxLen
		d.DisplayName = strings.TrimRight(d.DisplayName[:max(0, len(d.DisplayName)-over)], "-")
	}
}

// sanitizeName keeps letters, digits, '.', '_' and '-' and turns anything
// else into '-', so a name is safe in a list filter and in logs.
func sanitizeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		}
		return '-'
	}, s)
}

// nameFilter is the go-bexpr expression selecting tokens named name (a
// sanitized name has no quote or backslash to escape).
func nameFilter(name string) string {
	return fmt.Sprintf("Name == %q", name)
}
