// Package naming renders the names of cloud objects (IAM users, STS
// sessions, Ncloud sub account loginIds, Nomad tokens) from operator
// templates in Vault's own template language, github.com/hashicorp/vault/
// sdk/helper/template, the language of the username_template of Vault's
// builtin engines:
//
//	vault-{{ .RoleName | truncate 20 }}-{{ .DisplayName | truncate 20 }}-{{ .ID }}
//	{{ printf "v-%s-%s" (.RoleName | truncate 16) (.ID) | lowercase }}
//
// Every driver passes the same fields (Data) and states its cloud's naming
// rules (Rules). Parse checks a template when it is written: it must parse,
// use only bounded functions, contain {{ .ID }} (so every name is unique and
// a rollback can find its object by name), and render a name the cloud
// accepts for every kind of input, including long and odd role and display
// names; otherwise it answers a *providers.FieldError naming the field.
//
// Rendering is bounded: no loops or sub-templates, and every function that
// can grow its output (printf widths, random, replace) refuses to pass a
// fixed size, so a template such as {{ printf "%0999999999d" 0 }} is a 400
// at write time, never a memory blow-up.
package naming

import (
	"fmt"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"

	vaulttpl "github.com/hashicorp/vault/sdk/helper/template"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

const (
	// MaxTemplateLen is the longest template accepted, in bytes.
	MaxTemplateLen = 4096
	// maxValueLen bounds what one function of a template may produce.
	maxValueLen = 1024
)

// Data is what a name template sees. The plugin passes the same fields to
// every driver's templates.
type Data struct {
	// RoleName is the Vault role's name.
	RoleName string
	// DisplayName is the requesting token's display name (may be empty).
	DisplayName string
	// Instance is the provider instance name, e.g. "aws" or "aws-prod".
	Instance string
	// ID is the request's unique id: 13 characters of [a-z2-7].
	ID string
	// UnixTime is the issue time in seconds since the epoch.
	UnixTime int64
}

// Rules are a cloud's rules for one kind of name.
type Rules struct {
	// Field is the config or role field holding the template; errors name it.
	Field string
	// What names the kind of name in messages, e.g. "IAM user name".
	What string
	// MinLen and MaxLen bound the name's length in bytes.
	MinLen, MaxLen int
	// Allowed reports whether a character may appear in a name. Values of
	// RoleName, DisplayName and Instance have every other character
	// replaced by '-' before rendering.
	Allowed func(r rune) bool
	// AllowedText describes the charset for messages, e.g. "letters,
	// digits and +=,.@_-".
	AllowedText string
	// Check, if set, checks a whole name beyond length and charset (e.g.
	// its first character) and returns why it is refused.
	Check func(name string) error
}

// Template is a parsed and checked name template.
type Template struct {
	src   string
	tmpl  vaulttpl.StringTemplate
	rules Rules
}

// dataFields are the fields of Data a template may use.
var dataFields = []string{"RoleName", "DisplayName", "Instance", "ID", "UnixTime"}

// allowedFuncs are the functions a template may call: Vault's template
// functions and text/template's bounded builtins. html, js, urlquery,
// index, slice and call are left out: they either grow their input or
// reach outside Data.
var allowedFuncs = []string{
	"random", "truncate", "truncate_sha256", "uppercase", "lowercase", "replace",
	"sha256", "base64", "unix_time", "unix_time_millis", "timestamp", "uuid",
	"printf", "print", "and", "or", "not", "eq", "ne", "lt", "le", "gt", "ge", "len",
}

// Parse checks src against rules and returns the template. Every error is a
// *providers.FieldError naming rules.Field.
func Parse(src string, rules Rules) (*Template, error) {
	if strings.TrimSpace(src) == "" {
		return nil, providers.InvalidField(rules.Field, "must not be empty")
	}
	if len(src) > MaxTemplateLen {
		return nil, providers.InvalidField(rules.Field, "is %d bytes long; a name template may have at most %d", len(src), MaxTemplateLen)
	}
	if err := checkSyntax(src); err != nil {
		return nil, providers.InvalidField(rules.Field, "%v", err)
	}
	st, err := vaulttpl.NewTemplate(
		vaulttpl.Template(src),
		vaulttpl.Function("printf", boundedPrintf),
		vaulttpl.Function("random", boundedRandom),
		vaulttpl.Function("replace", boundedReplace),
	)
	if err != nil {
		return nil, providers.InvalidField(rules.Field, "%v", err)
	}
	t := &Template{src: src, tmpl: st, rules: rules}
	for _, p := range probes {
		if err := t.probe(p.data, p.what); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// MustParse is Parse for templates known to be valid (drivers' defaults);
// it panics on error.
func MustParse(src string, rules Rules) *Template {
	t, err := Parse(src, rules)
	if err != nil {
		panic(err)
	}
	return t
}

// Source returns the template text.
func (t *Template) Source() string { return t.src }

// Render renders one name. The role, display and instance names are mapped
// into the cloud's charset first; the result is checked against the rules
// (a *providers.FieldError naming the template's field if it breaks one).
func (t *Template) Render(d Data) (string, error) {
	name, err := t.render(d)
	if err != nil {
		return "", providers.InvalidField(t.rules.Field, "%v", err)
	}
	if reason := t.check(name, d.ID); reason != "" {
		return "", providers.InvalidField(t.rules.Field, "renders %q, %s", name, reason)
	}
	return name, nil
}

// CheckRole checks that names of a role with this name fit the rules for
// any display name (role writes call it: Parse probes role names of up to
// 64 characters only).
func (t *Template) CheckRole(role string) error {
	for _, p := range probes {
		d := p.data
		d.RoleName = role
		if err := t.probe(d, fmt.Sprintf("for role %q %s", role, p.what)); err != nil {
			return err
		}
	}
	return nil
}

func (t *Template) render(d Data) (string, error) {
	d.RoleName = t.sanitize(d.RoleName)
	d.DisplayName = t.sanitize(d.DisplayName)
	d.Instance = t.sanitize(d.Instance)
	return t.tmpl.Generate(d)
}

// sanitize replaces every character the cloud does not allow by '-'.
func (t *Template) sanitize(s string) string {
	if t.rules.Allowed == nil {
		return s
	}
	return strings.Map(func(r rune) rune {
		if t.rules.Allowed(r) {
			return r
		}
		return '-'
	}, s)
}

// check returns why name breaks the rules ("" if it does not).
func (t *Template) check(name, id string) string {
	r := t.rules
	switch {
	case len(name) > r.MaxLen:
		return fmt.Sprintf("%d characters; %ss are at most %d: shorten the template or cap values with truncate, e.g. {{ .DisplayName | truncate 20 }}", len(name), r.What, r.MaxLen)
	case len(name) < r.MinLen:
		return fmt.Sprintf("%d characters; %ss are at least %d", len(name), r.What, r.MinLen)
	case id != "" && !strings.Contains(name, id):
		return "which does not contain the request id: the template must contain {{ .ID }} unchanged, so every name is unique and a rollback can find its object"
	}
	if r.Allowed != nil {
		for _, c := range name {
			if !r.Allowed(c) {
				return fmt.Sprintf("with %q, which %ss may not contain (allowed: %s)", c, r.What, r.AllowedText)
			}
		}
	}
	if r.Check != nil {
		if err := r.Check(name); err != nil {
			return err.Error()
		}
	}
	return ""
}

// probe renders d and checks the result, naming the probe in the error.
func (t *Template) probe(d Data, what string) error {
	name, err := t.render(d)
	if err != nil {
		return providers.InvalidField(t.rules.Field, "does not render %s: %v", what, err)
	}
	if reason := t.check(name, d.ID); reason != "" {
		return providers.InvalidField(t.rules.Field, "renders %q %s: %s", name, what, reason)
	}
	return nil
}

// checkSyntax parses src with text/template and refuses what could make
// rendering unbounded or reach outside Data: range loops, sub-templates,
// unknown functions and fields.
func checkSyntax(src string) error {
	stubs := template.FuncMap{}
	for _, f := range allowedFuncs {
		stubs[f] = func(...any) string { return "" }
	}
	tt, err := template.New("name").Funcs(stubs).Parse(src)
	if err != nil {
		return fmt.Errorf("does not parse: %v", strings.TrimPrefix(err.Error(), "template: "))
	}
	if len(tt.Templates()) > 1 {
		return fmt.Errorf("define and block are not allowed in a name template")
	}
	if tt.Tree == nil {
		return nil
	}
	return walk(tt.Tree.Root)
}

func walk(n parse.Node) error {
	switch n := n.(type) {
	case nil:
		return nil
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := walk(c); err != nil {
				return err
			}
		}
	case *parse.ActionNode:
		return walk(n.Pipe)
	case *parse.PipeNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Cmds {
			if err := walk(c); err != nil {
				return err
			}
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			if err := walk(a); err != nil {
				return err
			}
		}
	case *parse.IdentifierNode:
		if !slices.Contains(allowedFuncs, n.Ident) {
			return fmt.Errorf("function %q is not allowed in a name template (allowed: %s)", n.Ident, strings.Join(allowedFuncs, ", "))
		}
	case *parse.FieldNode:
		if len(n.Ident) != 1 || !slices.Contains(dataFields, n.Ident[0]) {
			return fmt.Errorf("unknown field .%s (fields: .%s)", strings.Join(n.Ident, "."), strings.Join(dataFields, ", ."))
		}
	case *parse.ChainNode:
		return fmt.Errorf("field chains such as %s are not allowed in a name template", n)
	case *parse.IfNode:
		return walkBranch(&n.BranchNode)
	case *parse.WithNode:
		return walkBranch(&n.BranchNode)
	case *parse.RangeNode:
		return fmt.Errorf("range is not allowed in a name template (its output would be unbounded)")
	case *parse.TemplateNode:
		return fmt.Errorf("template calls are not allowed in a name template")
	case *parse.BreakNode, *parse.ContinueNode:
		return fmt.Errorf("break and continue are not allowed in a name template")
	case *parse.TextNode, *parse.CommentNode, *parse.DotNode, *parse.VariableNode,
		*parse.StringNode, *parse.NumberNode, *parse.BoolNode, *parse.NilNode:
	default:
		return fmt.Errorf("%s is not allowed in a name template", n)
	}
	return nil
}

func walkBranch(b *parse.BranchNode) error {
	for _, n := range []parse.Node{b.Pipe, b.List, b.ElseList} {
		if n == nil {
			continue
		}
		if l, ok := n.(*parse.ListNode); ok && l == nil {
			continue
		}
		if err := walk(n); err != nil {
			return err
		}
	}
	return nil
}
