package aws

import (
	"strings"

	awsv2 "github.com/aws/aws-sdk-go-v2/aws"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// The mark of an IAM user the plugin made: two tags, put on the user by
// CreateUser itself (with the role's iam_tags, in the same call, so no
// user of the plugin ever exists unmarked), naming the mount's id and the
// provider instance. Audit lists exactly the users carrying both with this
// mount's and instance's values, wherever their path (user_path) puts
// them. The keys are in IAM's tag key charset and avoid the reserved
// "aws:" prefix; IAM compares user tag keys without regard to case (IAM
// User Guide, "Tagging IAM resources"), so this driver does too. Values
// are compared exactly.
const (
	// MarkMountTag is the tag key whose value is the mount's id
	// (settings mount_id).
	MarkMountTag = "vault-multicloud:mount"
	// MarkInstanceTag is the tag key whose value is the provider
	// instance's name (e.g. "aws", "aws-prod").
	MarkInstanceTag = "vault-multicloud:instance"
)

// markTagCount is how many of a user's 50 tags the mark takes.
const markTagCount = 2

// maxRoleTags is how many tags a role's iam_tags may hold.
const maxRoleTags = maxUserTags - markTagCount

// isMarkKey says whether k is one of the mark's keys (in any case).
func isMarkKey(k string) bool {
	return strings.EqualFold(k, MarkMountTag) || strings.EqualFold(k, MarkInstanceTag)
}

// markTags returns the mark as IAM tags; none when the request carries no
// mount id (a caller outside the plugin).
func markTags(m providers.Mark) []iamtypes.Tag {
	if m.Mount == "" {
		return nil
	}
	return []iamtypes.Tag{
		{Key: awsv2.String(MarkMountTag), Value: awsv2.String(m.Mount)},
		{Key: awsv2.String(MarkInstanceTag), Value: awsv2.String(m.Instance)},
	}
}

// carriesMark says whether tags hold exactly mark: both keys, with the
// mount's id and the instance's name as values.
func carriesMark(tags []iamtypes.Tag, m providers.Mark) bool {
	var mount, instance bool
	for _, t := range tags {
		k, v := awsv2.ToString(t.Key), awsv2.ToString(t.Value)
		switch {
		case strings.EqualFold(k, MarkMountTag):
			mount = v == m.Mount
		case strings.EqualFold(k, MarkInstanceTag):
			instance = v == m.Instance
		}
	}
	return mount && instance
}
