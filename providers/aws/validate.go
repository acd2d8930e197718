package aws

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// IAM and STS limits checked before any call.
const (
	// defaultManagedPerUser is the account quota of managed policies
	// attached to one user; AWS raises it to at most maxManagedPerUser on
	// request (IAM User Guide, "IAM and AWS STS quotas").
	defaultManagedPerUser = 10
	maxManagedPerUser     = 20
	maxGroupsPerUser      = 10   // groups a user is in
	maxInlineUserPolicy   = 2048 // characters of a user's inline policies, whitespace excluded
	maxSessionPolicy      = 2048 // characters of an AssumeRole session policy
	maxSessionARNs        = 10   // session policy ARNs of AssumeRole
	maxPathLen            = 512
)

var (
	rePolicyARN = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(aws|\d{12}):policy(/|/[\x21-\x7E]*/)[\w+=,.@-]{1,128}$`)
	reRoleARN   = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role(/|/[\x21-\x7E]*/)[\w+=,.@-]{1,64}$`)
	reGroupName = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)
	reUserPath  = regexp.MustCompile(`^(/|/[\x21-\x7E]*/)$`)
)

// validateIAMUser checks an iam_user role; maxManaged is the account's
// quota of managed policies per user (max_managed_policies_per_user).
func validateIAMUser(v providers.Values, maxManaged int) error {
	arns := v.Strings("policy_arns")
	if len(arns) > maxManaged {
		return providers.InvalidField("policy_arns", "at most %d managed policies can be attached to an IAM user in this account (max_managed_policies_per_user of the config, IAM's quota: 10 unless raised, at most 20), got %d", maxManaged, len(arns))
	}
	if err := checkPolicyARNs("policy_arns", arns); err != nil {
		return err
	}
	if _, err := compactPolicy("policy_document", v.String("policy_document"), maxInlineUserPolicy); err != nil {
		return err
	}
	groups := v.Strings("iam_groups")
	if len(groups) > maxGroupsPerUser {
		return providers.InvalidField("iam_groups", "an IAM user can be in at most %d groups, got %d", maxGroupsPerUser, len(groups))
	}
	for _, g := range groups {
		if !reGroupName.MatchString(g) {
			return providers.InvalidField("iam_groups", "%q is not a valid IAM group name (1-128 of letters, digits and +=,.@_-)", g)
		}
	}
	if dup := firstDuplicate(groups); dup != "" {
		return providers.InvalidField("iam_groups", "%q is listed twice", dup)
	}
	if err := checkTags(v.Map("iam_tags")); err != nil {
		return err
	}
	if b := v.String("permissions_boundary_arn"); b != "" && !rePolicyARN.MatchString(b) {
		return providers.InvalidField("permissions_boundary_arn", "%q is not a managed policy ARN (arn:aws:iam::<account>:policy/<name>)", b)
	}
	if p := v.String("user_path"); p != "" && (len(p) > maxPathLen || !reUserPath.MatchString(p)) {
		return providers.InvalidField("user_path", "%q must begin and end with / and have at most %d printable ASCII characters", p, maxPathLen)
	}
	if len(arns) == 0 && v.String("policy_document") == "" && len(groups) == 0 {
		return providers.InvalidField("policy_arns", "an iam_user role needs at least one of policy_arns, policy_document or iam_groups")
	}
	return nil
}

// validateAssumedRole checks an assumed_role role.
func validateAssumedRole(v providers.Values) error {
	roles := v.Strings("role_arns")
	if len(roles) == 0 {
		return providers.InvalidField("role_arns", "at least one role ARN is required")
	}
	for _, r := range roles {
		if !reRoleARN.MatchString(r) {
			return providers.InvalidField("role_arns", "%q is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)", r)
		}
	}
	arns := v.Strings("policy_arns")
	if len(arns) > maxSessionARNs {
		return providers.InvalidField("policy_arns", "AssumeRole takes at most %d session policy ARNs, got %d", maxSessionARNs, len(arns))
	}
	if err := checkPolicyARNs("policy_arns", arns); err != nil {
		return err
	}
	_, err := compactPolicy("policy_document", v.String("policy_document"), maxSessionPolicy)
	return err
}

func checkPolicyARNs(field string, arns []string) error {
	for _, a := range arns {
		if !rePolicyARN.MatchString(a) {
			return providers.InvalidField(field, "%q is not a managed policy ARN (arn:aws:iam::<account>:policy/<name>)", a)
		}
	}
	if dup := firstDuplicate(arns); dup != "" {
		return providers.InvalidField(field, "%q is listed twice", dup)
	}
	return nil
}

// compactPolicy validates a policy document (a JSON object with a
// Statement) and returns it without insignificant whitespace ("" for "").
func compactPolicy(field, doc string, maxLen int) (string, error) {
	if strings.TrimSpace(doc) == "" {
		return "", nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(doc), &obj); err != nil {
		return "", providers.InvalidField(field, "is not a valid JSON object: %v", err)
	}
	if _, ok := obj["Statement"]; !ok {
		return "", providers.InvalidField(field, "has no Statement")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(doc)); err != nil {
		return "", providers.InvalidField(field, "is not valid JSON: %v", err)
	}
	if n := utf8.RuneCount(buf.Bytes()); n > maxLen {
		return "", providers.InvalidField(field, "is %d characters without whitespace; AWS allows at most %d", n, maxLen)
	}
	return buf.String(), nil
}

func firstDuplicate(list []string) string {
	seen := map[string]bool{}
	for _, s := range list {
		k := strings.ToLower(s)
		if seen[k] {
			return s
		}
		seen[k] = true
	}
	return ""
}
