package aws

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/naming"
)

// Default name templates, in Vault's template language (see
// providers/naming). Each renders at most 61 characters.
const (
	// DefaultUsernameTemplate names an iam_user credential's IAM user.
	DefaultUsernameTemplate = `vault-{{ .DisplayName | truncate 20 }}-{{ .RoleName | truncate 20 }}-{{ .ID }}`
	// DefaultSessionNameTemplate names an assumed_role credential's STS
	// role session.
	DefaultSessionNameTemplate = `vault-{{ .DisplayName | truncate 24 }}-{{ .RoleName | truncate 16 }}-{{ .ID }}`
)

// isIAMNameChar reports whether r is in IAM's name charset [\w+=,.@-]
// (\w as in the model's Java-style patterns: ASCII letters, digits, _).
func isIAMNameChar(r rune) bool {
	return r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_+=,.@-", r))
}

const iamNameCharsText = "letters, digits and +=,.@_-"

// userNameRules are IAM's rules for a user name: CreateUser's UserName is
// the model's userNameType, 1 to 64 characters of [\w+=,.@-]
// (aws-sdk-go models/apis/iam/2010-05-08/api-2.json; IAM API Reference,
// CreateUser).
var userNameRules = naming.Rules{
	Field:       "username_template",
	What:        "IAM user name",
	MinLen:      1,
	MaxLen:      64,
	Allowed:     isIAMNameChar,
	AllowedText: iamNameCharsText,
}

// sessionNameRules are STS's rules for AssumeRole's RoleSessionName, the
// model's roleSessionNameType: 2 to 64 characters of [\w+=,.@-]
// (aws-sdk-go models/apis/sts/2011-06-15/api-2.json; STS API Reference,
// AssumeRole).
var sessionNameRules = naming.Rules{
	Field:       "session_name_template",
	What:        "STS role session name",
	MinLen:      2,
	MaxLen:      64,
	Allowed:     isIAMNameChar,
	AllowedText: iamNameCharsText,
}

// parseNameTemplate parses a stored template, converting the driver's
// former syntax first (see convertLegacyTemplate).
func parseNameTemplate(src string, rules naming.Rules) (*naming.Template, error) {
	converted, err := convertLegacyTemplate(src)
	if err != nil {
		return nil, providers.InvalidField(rules.Field, "%v", err)
	}
	return naming.Parse(converted, rules)
}

// nameData is what the name templates of one request see.
func (p *provider) nameData(req *providers.CreateRequest) naming.Data {
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	return naming.Data{RoleName: req.Role, DisplayName: req.DisplayName, Instance: p.instance, ID: req.ID, UnixTime: now.Unix()}
}

// The driver's former template syntax (before Vault's template language):
// literal text in IAM's charset and the placeholders {{id}},
// {{unix_time}}, {{role}}, {{display_name}} and {{instance}}, the last
// three capped at 32 characters or at N with {{name:N}}. A stored config
// written in it keeps working: it is converted when the config is read.
var (
	reLegacyPlaceholder = regexp.MustCompile(`\{\{\s*([a-z_]+)(?::(\d+))?\s*\}\}`)
	reLegacyID          = regexp.MustCompile(`\{\{\s*id\s*\}\}`)
)

// legacyFields maps a former placeholder to its field in naming.Data.
var legacyFields = map[string]string{
	"role":         ".RoleName",
	"display_name": ".DisplayName",
	"instance":     ".Instance",
}

// legacyDefaultWidth is the former cap of {{role}}, {{display_name}} and
// {{instance}} without :N.
const legacyDefaultWidth = 32

// convertLegacyTemplate returns src in Vault's template language if it is
// written in the former syntax, else src unchanged. A former template
// always contains {{id}}, which is not valid in the new language (there
// is no function "id"), so no new template is mistaken for an old one.
// What the former syntax did and the conversion does not: collapse runs
// of '-' left by empty values (names only ever reach the cloud through a
// lease or WAL entry that records them, so a changed rendering loses
// nothing).
func convertLegacyTemplate(src string) (string, error) {
	if !reLegacyID.MatchString(src) {
		return src, nil
	}
	var b strings.Builder
	rest := src
	for {
		loc := reLegacyPlaceholder.FindStringSubmatchIndex(rest)
		if loc == nil {
			break
		}
		literal := rest[:loc[0]]
		if strings.Contains(literal, "{{") || strings.Contains(literal, "}}") {
			return src, nil // not (only) the former syntax: leave it to the new parser
		}
		b.WriteString(literal)
		name := rest[loc[2]:loc[3]]
		width := ""
		if loc[4] >= 0 {
			width = rest[loc[4]:loc[5]]
		}
		switch name {
		case "id", "unix_time":
			if width != "" {
				return "", fmt.Errorf("former-syntax placeholder {{%s:%s}}: {{%s}} takes no width", name, width, name)
			}
			if name == "id" {
				b.WriteString("{{ .ID }}")
			} else {
				b.WriteString("{{ .UnixTime }}")
			}
		default:
			field, ok := legacyFields[name]
			if !ok {
				return "", fmt.Errorf("unknown former-syntax placeholder {{%s}}; write the template in Vault's template language, e.g. %s", name, DefaultUsernameTemplate)
			}
			if width == "" {
				width = fmt.Sprint(legacyDefaultWidth)
			}
			fmt.Fprintf(&b, "{{ %s | truncate %s }}", field, width)
		}
		rest = rest[loc[1]:]
	}
	if strings.Contains(rest, "{{") || strings.Contains(rest, "}}") {
		return src, nil
	}
	b.WriteString(rest)
	return b.String(), nil
}

// sanitizeName maps s to IAM's name charset (other characters become '-').
func sanitizeName(s string) string {
	return strings.Map(func(r rune) rune {
		if isIAMNameChar(r) {
			return r
		}
		return '-'
	}, s)
}
