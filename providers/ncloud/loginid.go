package ncloud

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/naming"
)

// loginId rules (management-subaccount-createsubaccount and
// -checkloginid): 3-60 characters of letters, digits and ". @ - _",
// starting with a letter.
const (
	maxLoginID   = 60
	minLoginID   = 3
	loginIDExtra = ".@-_"
)

// maxTemplateLoginID is what a login_id_template may render: the loginId
// less the mark prefix the driver puts in front (mark.go).
const maxTemplateLoginID = maxLoginID - markPrefixLen

// defaultLoginTemplate names a sub account vault-<role>-<id>: 6 + 28 + 1
// + 13 = 48 characters at most, behind the 12 of the mark prefix.
const defaultLoginTemplate = "vault-{{ .RoleName | truncate 28 }}-{{ .ID }}"

// loginIDRules are Ncloud's loginId rules as name-template rules, for the
// part of the loginId after the mark prefix. The template's output must
// start with a letter too: a create without a mark (outside the plugin)
// has no prefix.
var loginIDRules = naming.Rules{
	Field:       fieldLoginTemplate,
	What:        "templated loginId part",
	MinLen:      minLoginID,
	MaxLen:      maxTemplateLoginID,
	Allowed:     isLoginIDChar,
	AllowedText: "letters, digits and . @ - _",
	Check: func(name string) error {
		if name == "" || !isASCIILetter(name[0]) {
			return errors.New("which does not start with a letter, as a loginId must (start the template with a letter, e.g. vault-)")
		}
		return nil
	},
}

func isLoginIDChar(r rune) bool {
	return r < 128 && (isASCIILetter(byte(r)) || (r >= '0' && r <= '9') || strings.ContainsRune(loginIDExtra, r))
}

func isASCIILetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// parseLoginTemplate parses login_id_template (empty: the default). A
// template in the old syntax (Go templates with .Role, .Instance,
// .DisplayName and .ID, whose names were fitted to the rules after
// rendering), recognised by its .Role field, is converted to the new one
// (convertLegacyTemplate), so roles written before keep working.
func parseLoginTemplate(src string) (*naming.Template, error) {
	if strings.TrimSpace(src) == "" {
		src = defaultLoginTemplate
	}
	t, err := naming.Parse(src, loginIDRules)
	if err == nil {
		return t, checkDigitID(t)
	}
	if !legacyField.MatchString(src) {
		return nil, err
	}
	conv, ok := convertLegacyTemplate(src)
	if !ok {
		return nil, err
	}
	t, cerr := naming.Parse(conv, loginIDRules)
	if cerr != nil {
		return nil, providers.InvalidField(fieldLoginTemplate, "is in the old template syntax (.Role), and its conversion %q is not valid either (%v); rewrite it in the new syntax, e.g. %s",
			conv, cerr, defaultLoginTemplate)
	}
	return t, checkDigitID(t)
}

// digitProbeID is a request id ([a-z2-7]{13}) that starts with a digit,
// as about one id in five does: naming.Parse probes with an id that starts
// with a letter, and a loginId must start with one.
const digitProbeID = "2probeid34567"

// checkDigitID refuses a template whose names would start with the id.
func checkDigitID(t *naming.Template) error {
	_, err := t.Render(naming.Data{RoleName: "r", DisplayName: "d", Instance: "i", ID: digitProbeID, UnixTime: 1700000000})
	return err
}

// legacyField finds the old syntax's .Role field (now .RoleName).
var legacyField = regexp.MustCompile(`\.Role\b`)

// convertLegacyTemplate converts an old-syntax loginId template. Old names
// were rendered, then fitted to the rules: other characters replaced by
// '-' (the new renderer does that to field values), a "v" put in front of
// a name not starting with a letter, and the text around the id cut to 60
// characters. The conversion renames .Role to .RoleName, starts the
// template with "v" unless it starts with a letter, and, for a template of
// text and plain fields only, caps each of .RoleName, .DisplayName and
// .Instance with truncate so that every name fits in the 48 characters
// left after the mark prefix. It
// reports false when src does not parse as a Go template.
func convertLegacyTemplate(src string) (string, bool) {
	tree, err := template.New("login").Parse(src)
	if err != nil || tree.Tree == nil {
		return "", false
	}
	nodes := tree.Tree.Root.Nodes
	prefix := ""
	if t, ok := firstText(nodes); !ok || t == "" || !isASCIILetter(t[0]) {
		prefix = "v"
	}
	// Text and plain fields only: give the variable fields a budget.
	var b strings.Builder
	fixed, variable := len(prefix), 0
	simple := true
	for _, n := range nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			fixed += len(n.Text)
		case *parse.ActionNode:
			f := plainField(n)
			switch f {
			case "ID":
				fixed += len(naming.ProbeID)
			case "Role", "RoleName", "DisplayName", "Instance":
				variable++
			default:
				simple = false
			}
		default:
			simple = false
		}
	}
	if simple && variable > 0 && maxTemplateLoginID-fixed >= variable {
		budget := (maxTemplateLoginID - fixed) / variable
		b.WriteString(prefix)
		for _, n := range nodes {
			switch n := n.(type) {
			case *parse.TextNode:
				// Old names had other characters replaced by '-'.
				b.WriteString(strings.Map(func(r rune) rune {
					if isLoginIDChar(r) {
						return r
					}
					return '-'
				}, string(n.Text)))
			case *parse.ActionNode:
				f := plainField(n)
				if f == "Role" {
					f = "RoleName"
				}
				if f == "ID" {
					b.WriteString("{{ .ID }}")
				} else {
					fmt.Fprintf(&b, "{{ .%s | truncate %d }}", f, budget)
				}
			}
		}
		return b.String(), true
	}
	// Anything else: rename the field and keep the rest as written.
	renameRole(tree.Tree.Root)
	return prefix + tree.Tree.Root.String(), true
}

// firstText returns the template's leading literal text.
func firstText(nodes []parse.Node) (string, bool) {
	if len(nodes) == 0 {
		return "", false
	}
	t, ok := nodes[0].(*parse.TextNode)
	if !ok {
		return "", false
	}
	return string(t.Text), true
}

// plainField returns the field name of an action {{.Name}}, "" for any
// other action.
func plainField(a *parse.ActionNode) string {
	if a.Pipe == nil || len(a.Pipe.Decl) > 0 || len(a.Pipe.Cmds) != 1 || len(a.Pipe.Cmds[0].Args) != 1 {
		return ""
	}
	f, ok := a.Pipe.Cmds[0].Args[0].(*parse.FieldNode)
	if !ok || len(f.Ident) != 1 {
		return ""
	}
	return f.Ident[0]
}

// renameRole renames every .Role field to .RoleName.
func renameRole(n parse.Node) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			renameRole(c)
		}
	case *parse.ActionNode:
		renameRole(n.Pipe)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			renameRole(c)
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			renameRole(a)
		}
	case *parse.FieldNode:
		if len(n.Ident) > 0 && n.Ident[0] == "Role" {
			n.Ident[0] = "RoleName"
		}
	case *parse.IfNode:
		renameRole(n.Pipe)
		renameRole(n.List)
		renameRole(n.ElseList)
	case *parse.WithNode:
		renameRole(n.Pipe)
		renameRole(n.List)
		renameRole(n.ElseList)
	case *parse.RangeNode:
		renameRole(n.Pipe)
		renameRole(n.List)
		renameRole(n.ElseList)
	}
}

// templateCache keeps parsed templates by source: roles are few, and a
// template is parsed (with its probes) once, not at every issue.
type templateCache struct {
	mu sync.Mutex
	m  map[string]*naming.Template
}

// maxCachedTemplates bounds the cache (it is cleared when full).
const maxCachedTemplates = 256

// get returns the parsed template of src.
func (c *templateCache) get(src string) (*naming.Template, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.m[src]; ok {
		return t, nil
	}
	t, err := parseLoginTemplate(src)
	if err != nil {
		return nil, err
	}
	if c.m == nil || len(c.m) >= maxCachedTemplates {
		c.m = map[string]*naming.Template{}
	}
	c.m[src] = t
	return t, nil
}
