package aws

import (
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// IAM's rules for the tags of a user, checked when a role is written so
// that a bad tag is a 400 naming iam_tags instead of a 502 from CreateUser
// at every issue. Sources: the IAM API model (aws-sdk-go
// models/apis/iam/2010-05-08/api-2.json: tagListType max 50; tagKeyType 1
// to 128 characters of [\p{L}\p{Z}\p{N}_.:/=+\-@]+; tagValueType 0 to 256
// of [\p{L}\p{Z}\p{N}_.:/=+\-@]*), the IAM API Reference (Tag), and the IAM
// User Guide, "Tagging IAM resources" (keys beginning with aws: are
// reserved for AWS, in any case; tag keys of IAM users and roles are not
// case sensitive, so Team and team cannot both be set).
const (
	maxUserTags    = 50
	maxTagKeyLen   = 128
	maxTagValueLen = 256
)

var (
	reTagKey   = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$`)
	reTagValue = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
)

const tagCharsText = "letters, digits, white space and _.:/=+-@"

// checkTags checks an iam_user role's tags against IAM's rules and the
// plugin's mark (see mark.go), which takes two of a user's 50 tags and
// their keys; errors are a *providers.FieldError on iam_tags naming the
// tag and the rule.
func checkTags(tags map[string]string) error {
	if len(tags) > maxRoleTags {
		return providers.InvalidField("iam_tags", "an IAM user has at most %d tags and the plugin adds %d of its own (%s, %s), so a role has at most %d, got %d",
			maxUserTags, markTagCount, MarkMountTag, MarkInstanceTag, maxRoleTags, len(tags))
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	seen := map[string]string{}
	for _, k := range keys {
		v := tags[k]
		switch n := utf8.RuneCountInString(k); {
		case n == 0 || n > maxTagKeyLen:
			return providers.InvalidField("iam_tags", "tag key %q has %d characters; IAM tag keys have 1 to %d", k, n, maxTagKeyLen)
		case !reTagKey.MatchString(k):
			return providers.InvalidField("iam_tags", "tag key %q has characters IAM tag keys may not contain (allowed: %s)", k, tagCharsText)
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			return providers.InvalidField("iam_tags", "tag key %q: the aws: prefix is reserved for AWS", k)
		case isMarkKey(k):
			return providers.InvalidField("iam_tags", "tag key %q is the plugin's own: it marks the users this mount made (%s, %s)", k, MarkMountTag, MarkInstanceTag)
		}
		if other, dup := seen[strings.ToLower(k)]; dup {
			return providers.InvalidField("iam_tags", "tag keys %q and %q differ only in case; IAM user tag keys are not case sensitive", other, k)
		}
		seen[strings.ToLower(k)] = k
		switch n := utf8.RuneCountInString(v); {
		case n > maxTagValueLen:
			return providers.InvalidField("iam_tags", "value of tag %q has %d characters; IAM tag values have at most %d", k, n, maxTagValueLen)
		case !reTagValue.MatchString(v):
			return providers.InvalidField("iam_tags", "value of tag %q has characters IAM tag values may not contain (allowed: %s)", k, tagCharsText)
		}
	}
	return nil
}
