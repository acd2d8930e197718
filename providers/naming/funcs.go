package naming

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/go-secure-stdlib/base62"
)

// boundedPrintf is text/template's printf, refusing a width or precision
// above maxValueLen (or given by an argument, '*'), which would let a short
// template allocate without bound (e.g. "%0999999999d"), and any result
// longer than maxValueLen.
func boundedPrintf(format string, args ...any) (string, error) {
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		j := i + 1
		for j < len(format) && !isVerb(format[j]) {
			switch c := format[j]; {
			case c == '*':
				return "", fmt.Errorf("printf: widths taken from arguments (*) are not allowed")
			case c >= '0' && c <= '9':
				k := j
				for k < len(format) && format[k] >= '0' && format[k] <= '9' {
					k++
				}
				n, err := strconv.Atoi(format[j:k])
				if err != nil || n > maxValueLen {
					return "", fmt.Errorf("printf: width or precision %s is more than %d", format[j:k], maxValueLen)
				}
				j = k - 1
			}
			j++
		}
		i = j
	}
	out := fmt.Sprintf(format, args...)
	if len(out) > maxValueLen {
		return "", fmt.Errorf("printf: the result has %d characters, more than %d", len(out), maxValueLen)
	}
	return out, nil
}

// isVerb reports whether c ends a printf directive (a verb letter or %).
func isVerb(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '%'
}

// boundedRandom is Vault's random, refusing lengths above maxValueLen.
func boundedRandom(n int) (string, error) {
	if n < 1 || n > maxValueLen {
		return "", fmt.Errorf("random: the length must be between 1 and %d, got %d", maxValueLen, n)
	}
	return base62.Random(n)
}

// boundedReplace is Vault's replace (find, replacement, input), refusing a
// result longer than maxValueLen before building it.
func boundedReplace(find, replacement, str string) (string, error) {
	n := strings.Count(str, find)
	if size := len(str) + n*(len(replacement)-len(find)); size > maxValueLen {
		return "", fmt.Errorf("replace: the result would have %d characters, more than %d", size, maxValueLen)
	}
	return strings.ReplaceAll(str, find, replacement), nil
}

// ProbeID is the request id the probes of Parse render with: it has the
// length and alphabet ([a-z2-7]{13}) of the plugin's ids.
const ProbeID = "probeid234567"

// probeDigitID is a request id starting with a digit, as about one id in
// five does: a template must give a valid name with it too (e.g. a loginId
// must start with a letter, so "{{ .ID }}..." alone is refused).
const probeDigitID = "2probeid34567"

// probes are the inputs Parse renders a template with: a template must give
// a valid name for each.
var probes = []struct {
	what string
	data Data
}{
	{"for a typical request", Data{RoleName: "ci", DisplayName: "token-ci", Instance: "main", ID: ProbeID, UnixTime: 1700000000}},
	{"for an empty display name", Data{RoleName: "r", DisplayName: "", Instance: "main", ID: ProbeID, UnixTime: 1700000000}},
	{"for a long role name (64 characters) and display name (256)", Data{
		RoleName:    strings.Repeat("role", 16),
		DisplayName: strings.Repeat("oidc-someone@example.com/", 11)[:256],
		Instance:    strings.Repeat("i", 63),
		ID:          ProbeID,
		UnixTime:    9999999999,
	}},
	{"for a display name with unusual characters", Data{RoleName: "Role.Name_1", DisplayName: `Jöhn "Doe" <j@x.io> \ /#:%`, Instance: "main", ID: ProbeID, UnixTime: 1700000000}},
	{"for a request id starting with a digit", Data{RoleName: "ci", DisplayName: "token-ci", Instance: "main", ID: probeDigitID, UnixTime: 1700000000}},
}
