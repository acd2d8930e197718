package awstest

import (
	"encoding/base64"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

var (
	// reName is IAM's pattern for user, group, role and policy names.
	reName = regexp.MustCompile(`^[\w+=,.@-]+$`)
	// rePath is IAM's path pattern: "/" or "/…/" of printable ASCII.
	rePath      = regexp.MustCompile(`^(/|/[\x21-\x7E]+/)$`)
	reTagKey    = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$`)
	reTagValue  = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
	rePolicyARN = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(aws|\d{12}):policy(/|/[\x21-\x7E]*/)[\w+=,.@-]+$`)
)

// param returns the named parameter ("" if absent).
func (c *call) param(name string) string { return c.p.Get(name) }

// required returns the named parameter or the ValidationError AWS answers
// when it is missing. member is the parameter's name in the model
// (lower camel case), as AWS's message spells it.
func (c *call) required(name, member string) (string, *apiError) {
	v := c.p.Get(name)
	if v == "" {
		return "", errValidation(member, "", "Member must not be null")
	}
	return v, nil
}

// name returns a required name parameter checked against IAM's name rules.
func (c *call) name(param, member string, maxLen int) (string, *apiError) {
	v, err := c.required(param, member)
	if err != nil {
		return "", err
	}
	return v, checkName(member, v, maxLen)
}

func checkName(member, v string, maxLen int) *apiError {
	if n := utf8.RuneCountInString(v); n > maxLen {
		return errValidation(member, v, "Member must have length less than or equal to "+strconv.Itoa(maxLen))
	}
	if !reName.MatchString(v) {
		return errValidation(member, v, `Member must satisfy regular expression pattern: [\w+=,.@-]+`)
	}
	return nil
}

// path returns the Path parameter ("/" when absent) checked against IAM's
// path rules.
func (c *call) path() (string, *apiError) {
	v := c.p.Get("Path")
	if v == "" {
		if _, set := c.p["Path"]; set {
			return "", errValidation("path", v, "Member must have length greater than or equal to 1")
		}
		return "/", nil
	}
	if len(v) > 512 {
		return "", errValidation("path", v, "Member must have length less than or equal to 512")
	}
	if !rePath.MatchString(v) {
		return "", errValidation("path", v, `Member must satisfy regular expression pattern: (\u002F)|(\u002F[\u0021-\u007E]+\u002F)`)
	}
	return v, nil
}

// policyARN returns a required policy ARN parameter checked for shape.
func (c *call) policyARN(param, member string) (string, *apiError) {
	v, err := c.required(param, member)
	if err != nil {
		return "", err
	}
	if len(v) < 20 || len(v) > 2048 {
		return "", errValidation(member, v, "Member must have length between 20 and 2048")
	}
	if !rePolicyARN.MatchString(v) {
		return "", errInvalidInput("ARN %s is not valid.", v)
	}
	return v, nil
}

// indexed returns the values of prefix.N (suffix empty) or prefix.N.suffix
// for N = 1, 2, … in N order, as the Query protocol encodes lists.
func (c *call) indexed(prefix, suffix string) []string {
	type kv struct {
		n int
		v string
	}
	var got []kv
	for k, vs := range c.p {
		rest, ok := strings.CutPrefix(k, prefix+".")
		if !ok {
			continue
		}
		num := rest
		if suffix != "" {
			var found bool
			num, found = strings.CutSuffix(rest, "."+suffix)
			if !found {
				continue
			}
		}
		n, err := strconv.Atoi(num)
		if err != nil || n < 1 || len(vs) == 0 {
			continue
		}
		got = append(got, kv{n, vs[0]})
	}
	sort.Slice(got, func(i, j int) bool { return got[i].n < got[j].n })
	out := make([]string, len(got))
	for i, g := range got {
		out[i] = g.v
	}
	return out
}

// tags parses and validates Tags.member.N.Key/Value (at most 50, keys
// unique regardless of case, no "aws:" prefix).
func (c *call) tags() ([]Tag, *apiError) {
	var idx []int
	for k := range c.p {
		num, ok := strings.CutPrefix(k, "Tags.member.")
		if !ok {
			continue
		}
		if num, ok = strings.CutSuffix(num, ".Key"); !ok {
			continue
		}
		if n, err := strconv.Atoi(num); err == nil && n >= 1 {
			idx = append(idx, n)
		}
	}
	sort.Ints(idx)
	var tags []Tag
	for _, n := range idx {
		pre := "Tags.member." + strconv.Itoa(n)
		tags = append(tags, Tag{Key: c.p.Get(pre + ".Key"), Value: c.p.Get(pre + ".Value")})
	}
	if len(tags) > 50 {
		return nil, errValidation("tags", "", "Member must have length less than or equal to 50")
	}
	seen := map[string]bool{}
	for _, t := range tags {
		switch {
		case utf8.RuneCountInString(t.Key) > 128 || !reTagKey.MatchString(t.Key):
			return nil, errValidation("tags.member.key", t.Key, `Member must have length less than or equal to 128 and satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+`)
		case utf8.RuneCountInString(t.Value) > 256 || !reTagValue.MatchString(t.Value):
			return nil, errValidation("tags.member.value", t.Value, `Member must have length less than or equal to 256 and satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]*`)
		case strings.HasPrefix(lower(t.Key), "aws:"):
			return nil, errInvalidInput("User-defined tag keys can't start with 'aws:'. This prefix is reserved for AWS tags.")
		case seen[lower(t.Key)]:
			return nil, errInvalidInput("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		seen[lower(t.Key)] = true
	}
	return tags, nil
}

// page cuts one page out of keys (sorted, unique) after the request's
// Marker: at most min(MaxItems, Options.PageSize) entries. It returns the
// index range to serve and the IsTruncated/Marker answer.
func (c *call) page(keys []string) (int, int, pageXML, *apiError) {
	size := c.s.opts.PageSize
	if v := c.p.Get("MaxItems"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return 0, 0, pageXML{}, errValidation("maxItems", v, "Member must have value between 1 and 1000")
		}
		size = min(size, n)
	}
	start := 0
	if m := c.p.Get("Marker"); m != "" {
		raw, err := base64.RawURLEncoding.DecodeString(m)
		if err != nil {
			return 0, 0, pageXML{}, errValidationMsg("Invalid Marker.")
		}
		after := string(raw)
		start = sort.SearchStrings(keys, after)
		if start < len(keys) && keys[start] == after {
			start++
		}
	}
	end := min(start+size, len(keys))
	pg := pageXML{}
	if end < len(keys) {
		pg.IsTruncated = true
		pg.Marker = base64.RawURLEncoding.EncodeToString([]byte(keys[end-1]))
	}
	return start, end, pg, nil
}

// escapeDocument URL-encodes a policy document as IAM returns it
// (RFC 3986 percent-encoding).
func escapeDocument(doc string) string {
	return strings.ReplaceAll(url.QueryEscape(doc), "+", "%20")
}
