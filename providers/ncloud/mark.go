package ncloud

import (
	"fmt"
	"strings"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// The mark of a sub account (see providers.Mark) is in two places:
//
//   - its loginId starts with "mc.<mount id>." (markPrefix), so the mount's
//     sub accounts are recognisable in the console and in any listing; a
//     loginId has room for the mount id, not for an instance name (up to
//     63 characters), so the login_id_template gets the 60 characters of a
//     loginId less the prefix's 12;
//   - its memo names the mount and the instance (memoOf). Sub Account v1
//     create (management-subaccount-createsubaccount) documents memo,
//     0-300 bytes; v2 updateSubAccount (pub-iam-v2-sub-account-
//     updatesubaccount) documents memo, length 0-300, and v2's list
//     returns no memo: it is read with getSubAccount (gov-iam-v2-sub-
//     account-listsubaccounts: "이메일·메모 ... 상세 정보는 GET
//     /sub-accounts/{subAccountId}로").
//
// A sub account is this mount's and instance's only when both agree:
// Inventory lists nothing else and Remove deletes nothing else.

// markTag starts the loginId prefix; memoTag starts the memo.
const (
	markTag = "mc."
	memoTag = "vault-plugin-secrets-multicloud"
)

// mountIDLen is the length of a mount id (providers.Mark).
const mountIDLen = providers.MountIDLen

// markPrefixLen is the length of every loginId prefix.
const markPrefixLen = len(markTag) + mountIDLen + 1

// maxMemo is the documented memo limit (300 bytes).
const maxMemo = 300

// markPrefix returns the loginId prefix of a mount's sub accounts.
func markPrefix(mount string) string { return markTag + mount + "." }

// markPrefixFor returns the prefix of mark's loginIds: "" for an empty
// mark (a create outside the plugin, e.g. the conformance suite, whose
// objects are unmarked), an error for a malformed mount id.
func markPrefixFor(mark providers.Mark) (string, error) {
	if mark.Mount == "" {
		return "", nil
	}
	if !providers.ValidMountID(mark.Mount) {
		return "", fmt.Errorf("mount id %q is not 8 characters of [a-z2-7]", mark.Mount)
	}
	return markPrefix(mark.Mount), nil
}

// mountOfLoginID returns the mount id a loginId's prefix names, "" when it
// has no mark prefix.
func mountOfLoginID(loginID string) string {
	rest, ok := strings.CutPrefix(loginID, markTag)
	if !ok || len(rest) <= mountIDLen || rest[mountIDLen] != '.' || !providers.ValidMountID(rest[:mountIDLen]) {
		return ""
	}
	return rest[:mountIDLen]
}

// memoOf is the memo of a sub account made for mark: the tag, the mount,
// the instance, then the lease's id and role for the reader (the role is
// cut when the memo would pass 300 bytes). Mount ids, instance and role
// names hold no spaces (Vault's name pattern), so the fields split on
// spaces.
func memoOf(mark providers.Mark, id, role string) string {
	if mark.Mount == "" {
		return ""
	}
	m := fmt.Sprintf("%s mount=%s instance=%s id=%s role=%s", memoTag, mark.Mount, mark.Instance, id, role)
	if len(m) > maxMemo {
		m = m[:maxMemo]
	}
	return m
}

// memoMark reads the mount and instance a memo names; ok is false for a
// memo this driver did not write.
func memoMark(memo string) (providers.Mark, bool) {
	fields := strings.Fields(memo)
	if len(fields) < 3 || fields[0] != memoTag {
		return providers.Mark{}, false
	}
	var m providers.Mark
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		switch k {
		case "mount":
			m.Mount = v
		case "instance":
			m.Instance = v
		}
	}
	return m, m.Mount != "" && m.Instance != ""
}

// carriesMark reports whether a sub account with this loginId and memo
// carries mark: the loginId prefix names its mount and the memo names
// both its mount and its instance.
func carriesMark(loginID, memo string, mark providers.Mark) bool {
	if mark.Mount == "" || mountOfLoginID(loginID) != mark.Mount {
		return false
	}
	m, ok := memoMark(memo)
	return ok && m == mark
}
