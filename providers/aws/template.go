package aws

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// IAM user names and STS session names share one charset and a 64
// character limit.
const maxNameLen = 64

// Default templates. Each renders at most 61 characters.
const (
	// DefaultUsernameTemplate names an iam_user credential's IAM user.
	DefaultUsernameTemplate = "vault-{{display_name:20}}-{{role:20}}-{{id}}"
	// DefaultSessionNameTemplate names an assumed_role credential's STS
	// session.
	DefaultSessionNameTemplate = "vault-{{display_name:24}}-{{role:16}}-{{id}}"
)

// placeholder widths: fixed for id and unix_time, the default cap for the
// others (overridden with {{name:N}}).
var placeholders = map[string]struct {
	fixed      bool
	defaultMax int
}{
	"id":           {fixed: true, defaultMax: 13},
	"unix_time":    {fixed: true, defaultMax: 10},
	"role":         {defaultMax: 32},
	"display_name": {defaultMax: 32},
	"instance":     {defaultMax: 32},
}

var (
	rePlaceholder = regexp.MustCompile(`\{\{\s*([a-z_]+)(?::(\d+))?\s*\}\}`)
	// reNameChars is IAM's name charset ([\w+=,.@-]).
	reNotNameChar = regexp.MustCompile(`[^\w+=,.@-]`)
	reDashes      = regexp.MustCompile(`-{2,}`)
)

// nameTemplate is a parsed username or session name template.
type nameTemplate struct {
	src   string
	parts []tplPart
}

type tplPart struct {
	literal string // when name == ""
	name    string
	max     int
}

// tplVars are the values a template may use.
type tplVars struct {
	Role, DisplayName, Instance, ID string
	UnixTime                        int64
}

// parseTemplate parses src and checks that every rendering is a valid IAM
// name of at most 64 characters that contains the unique {{id}}. Errors
// are *FieldError-ready reasons (the caller names the field).
func parseTemplate(src string) (*nameTemplate, error) {
	t := &nameTemplate{src: src}
	rest, maxLen, hasID := src, 0, false
	for {
		loc := rePlaceholder.FindStringSubmatchIndex(rest)
		if loc == nil {
			break
		}
		if loc[0] > 0 {
			t.parts = append(t.parts, tplPart{literal: rest[:loc[0]]})
		}
		name := rest[loc[2]:loc[3]]
		ph, ok := placeholders[name]
		if !ok {
			return nil, fmt.Errorf("unknown placeholder {{%s}}; known: {{id}}, {{role}}, {{display_name}}, {{instance}}, {{unix_time}}", name)
		}
		width := ph.defaultMax
		if loc[4] >= 0 {
			if ph.fixed {
				return nil, fmt.Errorf("{{%s}} has a fixed width and takes no :N", name)
			}
			n, err := strconv.Atoi(rest[loc[4]:loc[5]])
			if err != nil || n < 1 {
				return nil, fmt.Errorf("{{%s:%s}}: the width must be a positive number", name, rest[loc[4]:loc[5]])
			}
			width = n
		}
		hasID = hasID || name == "id"
		t.parts = append(t.parts, tplPart{name: name, max: width})
		maxLen += width
		rest = rest[loc[1]:]
	}
	if rest != "" {
		t.parts = append(t.parts, tplPart{literal: rest})
	}
	for _, p := range t.parts {
		if p.name != "" {
			continue
		}
		if strings.Contains(p.literal, "{{") || strings.Contains(p.literal, "}}") {
			return nil, fmt.Errorf("malformed placeholder in %q; use {{name}} or {{name:N}}", p.literal)
		}
		if reNotNameChar.MatchString(p.literal) {
			return nil, fmt.Errorf("literal text %q has characters IAM names do not allow (allowed: letters, digits and +=,.@_-)", p.literal)
		}
		maxLen += len(p.literal)
	}
	if !hasID {
		return nil, fmt.Errorf("must contain {{id}}, which makes every name unique")
	}
	if maxLen > maxNameLen {
		return nil, fmt.Errorf("can render up to %d characters, more than IAM's limit of %d; shorten it or cap placeholders with {{name:N}}", maxLen, maxNameLen)
	}
	return t, nil
}

// render fills the template in. Values are sanitised to IAM's charset
// (other characters become '-'), truncated to their width, and runs of
// '-' collapse to one.
func (t *nameTemplate) render(v tplVars) string {
	var b strings.Builder
	for _, p := range t.parts {
		if p.name == "" {
			b.WriteString(p.literal)
			continue
		}
		var s string
		switch p.name {
		case "id":
			s = v.ID
		case "unix_time":
			s = strconv.FormatInt(v.UnixTime, 10)
		case "role":
			s = v.Role
		case "display_name":
			s = v.DisplayName
		case "instance":
			s = v.Instance
		}
		s = sanitizeName(s)
		if len(s) > p.max {
			s = s[:p.max]
		}
		b.WriteString(s)
	}
	out := reDashes.ReplaceAllString(b.String(), "-")
	if len(out) > maxNameLen { // cannot happen after parseTemplate; belt and braces
		out = out[:maxNameLen]
	}
	return out
}

// sanitizeName maps s to IAM's name charset.
func sanitizeName(s string) string {
	return reNotNameChar.ReplaceAllString(s, "-")
}
