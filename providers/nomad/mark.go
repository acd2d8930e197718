package nomad

import (
	"fmt"
	"strings"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// The mark of a token (see providers.Mark). ACL tokens carry no metadata
// (structs.ACLToken: a name, policies, roles, type, global, expiry), so
// the mark is a name prefix the driver puts before the template's name:
//
//	mc:<mount id>:<instance>:
//
// e.g. "mc:q7ka2mzx:nomad:vault-deploy-token-ci-x7k2ab3cd4ef5". ':' cannot
// occur in a mount id ([a-z2-7]) or an instance name (the plugin's rule:
// lowercase letters, digits and '-', at most 63), so the prefix of
// instance "nomad" is never the start of instance "nomad-b"'s. The
// template gets max_token_name_length less the prefix (at most 13 + 63
// bytes).
const (
	markTag    = "mc:"
	markSep    = ":"
	mountIDLen = providers.MountIDLen
	// maxInstanceLen is the longest instance name the plugin allows.
	maxInstanceLen = 63
	// maxMarkPrefixLen is the longest mark prefix.
	maxMarkPrefixLen = len(markTag) + mountIDLen + len(markSep) + maxInstanceLen + len(markSep)
)

// markPrefixLen is the length of the mark prefix of an instance's tokens.
func markPrefixLen(instance string) int {
	return len(markTag) + mountIDLen + len(markSep) + len(instance) + len(markSep)
}

// validInstance reports whether s can be named in a prefix: a non-empty
// name of at most 63 letters, digits, '_', '-' and '.' (Vault's name
// pattern, wider than the plugin's instance names), never ':'.
func validInstance(s string) bool {
	if s == "" || len(s) > maxInstanceLen {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// markPrefix returns the name prefix of mark's tokens.
func markPrefix(mark providers.Mark) string {
	return markTag + mark.Mount + markSep + mark.Instance + markSep
}

// checkMark validates a mark for naming tokens of instance.
func checkMark(mark providers.Mark, instance string) error {
	switch {
	case !providers.ValidMountID(mark.Mount):
		return fmt.Errorf("mount id %q is not 8 characters of [a-z2-7]", mark.Mount)
	case mark.Instance != instance || !validInstance(mark.Instance):
		return fmt.Errorf("the mark names instance %q, not this instance %q", mark.Instance, instance)
	}
	return nil
}

// mountOfName returns the mount id a token name's prefix names for
// instance, "" when the name has no such prefix.
func mountOfName(name, instance string) string {
	rest, ok := strings.CutPrefix(name, markTag)
	if !ok || len(rest) <= mountIDLen || !providers.ValidMountID(rest[:mountIDLen]) {
		return ""
	}
	if !strings.HasPrefix(rest[mountIDLen:], markSep+instance+markSep) {
		return ""
	}
	return rest[:mountIDLen]
}

// prefixFilter is the go-bexpr expression selecting the names that start
// with prefix: `Name matches "^..."` (Nomad evaluates the filter against
// each token, docs/reference/nomad-acl.md §1; go-bexpr's matches is Go's
// regexp). The prefix holds letters, digits, '_', '-', ':' and '.'; '.'
// is the only one special in a regexp and is written [.], so the quoted
// string needs no escape.
func prefixFilter(prefix string) string {
	return fmt.Sprintf("Name matches %q", "^"+strings.ReplaceAll(prefix, ".", "[.]"))
}
