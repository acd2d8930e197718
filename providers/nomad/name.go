package nomad

import (
	"fmt"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/naming"
)

const (
	// nomadMaxTokenNameLength is Nomad's own limit on a token name, in
	// bytes: maxTokenNameLength in nomad/structs/structs.go, checked by
	// ACLToken.Validate (nomad/structs/acl.go), which answers "token name
	// too long". Nomad sets no charset rule.
	nomadMaxTokenNameLength = 256

	// defaultNameTemplate names a token after its role and requester, cut
	// to fit, and the request's unique id, in Vault's template language.
	// Its truncation follows max_token_name_length (defaultTemplateFor);
	// this is the text for the default limit of 256 bytes.
	defaultNameTemplate = `vault-{{ printf "%s-%s" .RoleName .DisplayName | truncate 236 }}-{{ .ID }}`

	// legacyDefaultNameTemplate is the default of the plugin's earlier
	// Go-template dialect, which shortened the display name implicitly.
	legacyDefaultNameTemplate = "vault-{{.RoleName}}-{{.DisplayName}}-{{.ID}}"

	// defaultTemplateFixed is what the default template adds around the
	// truncated role and display names: "vault-", "-" and the 13-byte id.
	defaultTemplateFixed = len("vault-") + len("-") + 13
)

// nameChar is the charset of the names the driver makes: letters, digits,
// '.', '_' and '-'. Nomad itself takes any bytes; the narrower set keeps a
// name safe inside the go-bexpr filter rollback lists tokens with
// (Name == "<name>") and in logs. Other characters of role, display and
// instance names become '-'.
func nameChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
}

// nameRules are the rules of the templated part of a token name (after
// the mark prefix, mark.go) under a length limit.
func nameRules(maxLen int) naming.Rules {
	return naming.Rules{
		Field:       fieldNameTemplate,
		What:        "templated token name part",
		MinLen:      1,
		MaxLen:      maxLen,
		Allowed:     nameChar,
		AllowedText: "letters, digits, '.', '_' and '-'",
	}
}

// defaultTemplateFor is the default template for the bytes a name
// template may render (budget, of maxLen): the role and display names
// share what "vault-", '-' and the id leave.
func defaultTemplateFor(maxLen, budget int) (string, error) {
	room := budget - defaultTemplateFixed
	if room < 1 {
		return "", providers.InvalidField(fieldMaxNameLength, "is %d; the mark prefix mc:<mount_id>:<instance>: takes %d bytes of it and the default token_name_template needs at least %d more (vault-<role>-<display>-<id>). Raise it, or set token_name_template to a shorter one, e.g. {{ .ID }}",
			maxLen, maxLen-budget, defaultTemplateFixed+1)
	}
	return strings.Replace(defaultNameTemplate, "truncate 236", "truncate "+strconv.Itoa(room), 1), nil
}

// templateBudget is what an instance's name template may render: the
// name limit less the instance's mark prefix.
func templateBudget(maxLen int, instance string) int { return maxLen - markPrefixLen(instance) }

// parseNameTemplate returns the instance's name template, which may
// render budget bytes of the maxLen of a name. An unset or default
// template gets the default for budget. A template of the plugin's
// earlier dialect (plain Go templates whose output was sanitized and whose
// display name was shortened until the name fitted; recognised by not
// being a valid template for maxLen) is converted: see
// convertLegacyTemplate. The conversion leaves room for the longest mark
// prefix (maxMarkPrefixLen) when it can, so it is the same for every
// instance (Driver.UpgradeConfig, which knows none, converts only then);
// else it fits this instance's budget. It returns the template and, when
// src was converted, the text it was converted to.
func parseNameTemplate(src string, maxLen, budget int) (*naming.Template, string, error) {
	rules := nameRules(budget)
	switch strings.TrimSpace(src) {
	case "", defaultNameTemplate, legacyDefaultNameTemplate:
		def, err := defaultTemplateFor(maxLen, budget)
		if err != nil {
			return nil, "", err
		}
		return naming.MustParse(def, rules), "", nil
	}
	if budget < 1 {
		return nil, "", providers.InvalidField(fieldMaxNameLength, "is %d, all of it taken by the mark prefix mc:<mount_id>:<instance>: (%d bytes); raise it", maxLen, maxLen-budget)
	}
	t, err := naming.Parse(src, rules)
	if _, full := naming.Parse(src, nameRules(maxLen)); err == nil || full == nil {
		// The current syntax: used as written, or refused for its length.
		return t, "", err
	}
	converted, ok := "", false
	if worst := maxLen - maxMarkPrefixLen; worst >= 1 && worst < budget {
		converted, ok = convertLegacyTemplate(src, nameRules(worst))
	}
	if !ok {
		// No room for the longest prefix: convert for this instance's.
		converted, ok = convertLegacyTemplate(src, rules)
	}
	if !ok {
		return nil, "", err
	}
	return naming.MustParse(converted, rules), converted, nil
}

// convertLegacyTemplate rewrites a template of the earlier dialect into
// one Vault's language accepts under rules, with the old behaviour made
// explicit: characters of the template's own text that names may not hold
// become '-' (the old renderer sanitized its whole output), and the
// display name is cut with truncate to the longest length that fits every
// probe (if no cut of it alone fits, the role and instance names are cut
// too, to one length, and the display name gets what is left). The
// functions of the old dialect (lowercase, uppercase, replace, truncate)
// exist in Vault's language with the same arguments, and the fields have
// the same names. It reports false when no such rewrite fits.
func convertLegacyTemplate(src string, rules naming.Rules) (string, bool) {
	stubs := template.FuncMap{}
	for _, f := range []string{"lowercase", "uppercase", "replace", "truncate"} {
		stubs[f] = func(...any) string { return "" }
	}
	tt, err := template.New("legacy").Funcs(stubs).Parse(src)
	if err != nil || tt.Tree == nil || len(tt.Templates()) > 1 {
		return "", false
	}
	const displayMark, otherMark = "9999991", "9999992"
	rewriteNames(tt.Tree.Root, rules.Allowed, map[string]string{"DisplayName": displayMark, "RoleName": otherMark, "Instance": otherMark})
	shape := tt.Tree.Root.String()

	// try cuts the display name to display bytes and, if other > 0, the
	// role and instance names to other bytes.
	try := func(display, other int) (string, bool) {
		out := strings.ReplaceAll(shape, displayMark, strconv.Itoa(display))
		if other > 0 {
			out = strings.ReplaceAll(out, otherMark, strconv.Itoa(other))
		} else {
			for _, f := range []string{"RoleName", "Instance"} {
				out = strings.ReplaceAll(out, "(."+f+" | truncate "+otherMark+")", "."+f)
			}
		}
		_, err := naming.Parse(out, rules)
		return out, err == nil
	}
	// longest finds the largest n in [1, limit] that fits (0: none), by
	// bisection: a shorter cut only makes names shorter.
	longest := func(limit int, fits func(n int) bool) int {
		lo, hi := 0, limit
		for lo < hi {
			mid := (lo + hi + 1) / 2
			if fits(mid) {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		return lo
	}
	if d := longest(rules.MaxLen, func(n int) bool { _, ok := try(n, 0); return ok }); d > 0 {
		return try(d, 0)
	}
	// Cutting the display name alone is not enough: cut all three to one
	// length, then give the display name what is left.
	o := longest(rules.MaxLen, func(n int) bool { _, ok := try(n, n); return ok })
	if o == 0 {
		return "", false
	}
	d := longest(rules.MaxLen, func(n int) bool { _, ok := try(n, o); return ok })
	return try(d, o)
}

// rewriteNames sanitizes the text of the tree and replaces each reference
// to a field in marks by (.Field | truncate <mark>).
func rewriteNames(n parse.Node, allowed func(rune) bool, marks map[string]string) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			rewriteNames(c, allowed, marks)
		}
	case *parse.TextNode:
		n.Text = []byte(strings.Map(func(r rune) rune {
			if allowed(r) {
				return r
			}
			return '-'
		}, string(n.Text)))
	case *parse.ActionNode:
		rewriteNames(n.Pipe, allowed, marks)
	case *parse.IfNode:
		rewriteBranch(&n.BranchNode, allowed, marks)
	case *parse.WithNode:
		rewriteBranch(&n.BranchNode, allowed, marks)
	case *parse.RangeNode:
		rewriteBranch(&n.BranchNode, allowed, marks)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			for i, a := range c.Args {
				if f, ok := a.(*parse.FieldNode); ok && len(f.Ident) == 1 && marks[f.Ident[0]] != "" {
					c.Args[i] = truncatedField(f, marks[f.Ident[0]])
					continue
				}
				rewriteNames(a, allowed, marks)
			}
		}
	}
}

func rewriteBranch(b *parse.BranchNode, allowed func(rune) bool, marks map[string]string) {
	rewriteNames(b.Pipe, allowed, marks)
	rewriteNames(b.List, allowed, marks)
	rewriteNames(b.ElseList, allowed, marks)
}

// truncatedField is the pipeline (f | truncate mark).
func truncatedField(f *parse.FieldNode, mark string) *parse.PipeNode {
	return &parse.PipeNode{NodeType: parse.NodePipe, Cmds: []*parse.CommandNode{
		{NodeType: parse.NodeCommand, Args: []parse.Node{f}},
		{NodeType: parse.NodeCommand, Args: []parse.Node{
			&parse.IdentifierNode{NodeType: parse.NodeIdentifier, Ident: "truncate"},
			&parse.NumberNode{NodeType: parse.NodeNumber, IsInt: true, Text: mark},
		}},
	}}
}

// nameData is what a token name template sees for one request.
func (p *provider) nameData(role, displayName, id string, unix int64) naming.Data {
	return naming.Data{RoleName: role, DisplayName: displayName, Instance: p.instance, ID: id, UnixTime: unix}
}

// nameFilter is the go-bexpr expression selecting tokens named name (a
// name of the driver's charset has no quote or backslash to escape).
func nameFilter(name string) string {
	return fmt.Sprintf("Name == %q", name)
}
