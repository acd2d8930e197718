package nomadtest

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// filterExpr is a parsed go-bexpr expression over a token. The subset is
// what a client needs to find tokens: ==, !=, matches, not matches,
// contains, not contains, in, not in, is empty, is not empty, combined with
// and, or, not and parentheses, on the selectors AccessorID, Name, Type,
// Global and Policies. Any other selector fails evaluation with the
// error go-bexpr gives for a field the datum does not have.
type filterExpr struct {
	op       string // "or", "and", "not", or a match operator
	children []*filterExpr
	selector string
	value    string
	re       *regexp.Regexp
}

// parseFilter parses a bexpr expression; errors follow bexpr's
// "line:col (offset): ..." form.
func parseFilter(src string) (*filterExpr, error) {
	p := &filterParser{src: src}
	p.lex()
	if p.err != nil {
		return nil, p.err
	}
	e := p.or()
	if p.err == nil && p.pos < len(p.toks) {
		p.fail("no match found, expected: \"and\", \"or\" or EOF")
	}
	if p.err != nil {
		return nil, p.err
	}
	return e, nil
}

type filterTok struct {
	text   string
	quoted bool
	off    int
}

type filterParser struct {
	src  string
	toks []filterTok
	pos  int
	err  error
}

func (p *filterParser) fail(msg string) {
	if p.err != nil {
		return
	}
	off := len(p.src)
	if p.pos < len(p.toks) {
		off = p.toks[p.pos].off
	}
	p.err = fmt.Errorf("1:%d (%d): %s", off+1, off, msg)
}

func (p *filterParser) lex() {
	s := p.src
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '(' || c == ')':
			p.toks = append(p.toks, filterTok{text: string(c), off: i})
			i++
		case c == '=' || c == '!':
			if i+1 >= len(s) || s[i+1] != '=' {
				p.err = fmt.Errorf("1:%d (%d): no match found, expected: \"==\" or \"!=\"", i+1, i)
				return
			}
			p.toks = append(p.toks, filterTok{text: s[i : i+2], off: i})
			i += 2
		case c == '"':
			j, val, err := scanQuoted(s, i)
			if err != nil {
				p.err = fmt.Errorf("1:%d (%d): %v", i+1, i, err)
				return
			}
			p.toks = append(p.toks, filterTok{text: val, quoted: true, off: i})
			i = j
		case c == '`':
			j := strings.IndexByte(s[i+1:], '`')
			if j < 0 {
				p.err = fmt.Errorf("1:%d (%d): no match found, expected: \"`\"", len(s)+1, len(s))
				return
			}
			p.toks = append(p.toks, filterTok{text: s[i+1 : i+1+j], quoted: true, off: i})
			i += j + 2
		default:
			j := i
			for j < len(s) && strings.IndexByte(" \t\r\n()=!\"`", s[j]) < 0 {
				j++
			}
			p.toks = append(p.toks, filterTok{text: s[i:j], off: i})
			i = j
		}
	}
}

// scanQuoted reads a Go-style double-quoted string starting at s[i].
func scanQuoted(s string, i int) (int, string, error) {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			v, err := strconv.Unquote(s[i : j+1])
			return j + 1, v, err
		}
	}
	return 0, "", fmt.Errorf("no match found, expected: '\"'")
}

func (p *filterParser) peek() (filterTok, bool) {
	if p.pos < len(p.toks) {
		return p.toks[p.pos], true
	}
	return filterTok{}, false
}

// keyword reports whether the next token is the unquoted word kw.
func (p *filterParser) keyword(kw string) bool {
	t, ok := p.peek()
	return ok && !t.quoted && t.text == kw
}

func (p *filterParser) or() *filterExpr {
	left := p.and()
	for p.err == nil && p.keyword("or") {
		p.pos++
		left = &filterExpr{op: "or", children: []*filterExpr{left, p.and()}}
	}
	return left
}

func (p *filterParser) and() *filterExpr {
	left := p.not()
	for p.err == nil && p.keyword("and") {
		p.pos++
		left = &filterExpr{op: "and", children: []*filterExpr{left, p.not()}}
	}
	return left
}

func (p *filterParser) not() *filterExpr {
	if p.keyword("not") {
		p.pos++
		return &filterExpr{op: "not", children: []*filterExpr{p.not()}}
	}
	if t, ok := p.peek(); ok && !t.quoted && t.text == "(" {
		p.pos++
		e := p.or()
		if t, ok := p.peek(); !ok || t.quoted || t.text != ")" {
			p.fail("no match found, expected: \")\"")
			return e
		}
		p.pos++
		return e
	}
	return p.match()
}

// match parses "Selector op Value", "Value [not] in Selector" or
// "Selector is [not] empty".
func (p *filterParser) match() *filterExpr {
	first, ok := p.peek()
	if !ok || (!first.quoted && strings.ContainsAny(first.text, "()")) {
		p.fail("no match found, expected: \"(\", \"not\", a selector or a value")
		return nil
	}
	p.pos++
	op := p.operator()
	if p.err != nil {
		return nil
	}
	if op == "in" || op == "not in" {
		sel, ok := p.peek()
		if !ok || sel.quoted {
			p.fail("no match found, expected: a selector")
			return nil
		}
		p.pos++
		return &filterExpr{op: op, selector: sel.text, value: first.text}
	}
	if first.quoted {
		p.fail("no match found, expected: \"in\" or \"not in\"")
		return nil
	}
	e := &filterExpr{op: op, selector: first.text}
	if op == "is empty" || op == "is not empty" {
		return e
	}
	val, ok := p.peek()
	if !ok || (!val.quoted && strings.ContainsAny(val.text, "()")) {
		p.fail("no match found, expected: a value")
		return nil
	}
	p.pos++
	e.value = val.text
	if op == "matches" || op == "not matches" {
		re, err := regexp.Compile(e.value)
		if err != nil {
			p.fail(fmt.Sprintf("rule \"match\": invalid regular expression: %v", err))
			return nil
		}
		e.re = re
	}
	return e
}

func (p *filterParser) operator() string {
	t, ok := p.peek()
	if !ok || t.quoted {
		p.fail("no match found, expected: \"!=\", \"==\", \"contains\", \"in\", \"is\", \"matches\" or \"not\"")
		return ""
	}
	p.pos++
	switch t.text {
	case "==", "!=", "matches", "contains", "in":
		return t.text
	case "not":
		for _, w := range []string{"in", "matches", "contains"} {
			if p.keyword(w) {
				p.pos++
				return "not " + w
			}
		}
	case "is":
		if p.keyword("empty") {
			p.pos++
			return "is empty"
		}
		if p.keyword("not") {
			p.pos++
			if p.keyword("empty") {
				p.pos++
				return "is not empty"
			}
		}
	}
	p.pos--
	p.fail("no match found, expected: \"!=\", \"==\", \"contains\", \"in\", \"is\", \"matches\" or \"not\"")
	return ""
}

// eval evaluates the expression against one token.
func (e *filterExpr) eval(t *aclToken) (bool, error) {
	switch e.op {
	case "or", "and":
		l, err := e.children[0].eval(t)
		if err != nil || (e.op == "or" && l) || (e.op == "and" && !l) {
			return l, err
		}
		return e.children[1].eval(t)
	case "not":
		v, err := e.children[0].eval(t)
		return !v, err
	}
	var str string
	var list []string
	isList := false
	switch e.selector {
	case "AccessorID":
		str = t.AccessorID
	case "Name":
		str = t.Name
	case "Type":
		str = t.Type
	case "Global":
		str = strconv.FormatBool(t.Global)
	case "Policies":
		list, isList = t.Policies, true
	default:
		first, _, _ := strings.Cut(strings.TrimPrefix(e.selector, "/"), ".")
		return false, fmt.Errorf("error finding value in datum: /%s at part 0: couldn't find key: struct field with name %q", e.selector, first)
	}
	if e.selector == "Global" && (e.op == "==" || e.op == "!=") {
		b, err := strconv.ParseBool(e.value)
		if err != nil {
			return false, fmt.Errorf("failed to convert value %q to bool: %v", e.value, err)
		}
		e = &filterExpr{op: e.op, selector: e.selector, value: strconv.FormatBool(b)}
	}
	switch e.op {
	case "==", "!=", "matches", "not matches":
		if isList {
			return false, fmt.Errorf("unable to evaluate selector %q with operator %q: value is not a string", e.selector, e.op)
		}
	}
	switch e.op {
	case "==":
		return str == e.value, nil
	case "!=":
		return str != e.value, nil
	case "matches":
		return e.re.MatchString(str), nil
	case "not matches":
		return !e.re.MatchString(str), nil
	case "contains", "in":
		if isList {
			return slices.Contains(list, e.value), nil
		}
		return strings.Contains(str, e.value), nil
	case "not contains", "not in":
		if isList {
			return !slices.Contains(list, e.value), nil
		}
		return !strings.Contains(str, e.value), nil
	case "is empty":
		return len(list) == 0 && str == "", nil
	case "is not empty":
		return len(list) != 0 || str != "", nil
	}
	return false, fmt.Errorf("unsupported operator %q", e.op)
}
