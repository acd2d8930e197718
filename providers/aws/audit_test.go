package aws_test

import (
	"strings"
	"testing"

	awsv2 "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
)

// markedUser makes an IAM user behind the plugin's back, under path, with
// tags (e.g. a mark).
func (e *env) markedUser(name, path string, tags map[string]string) string {
	e.T.Helper()
	in := &iam.CreateUserInput{UserName: awsv2.String(name), Path: awsv2.String(path)}
	for k, v := range tags {
		in.Tags = append(in.Tags, iamtypes.Tag{Key: awsv2.String(k), Value: awsv2.String(v)})
	}
	out, err := e.admin.CreateUser(ctx, in)
	require.NoError(e.T, err)
	return awsv2.ToString(out.User.UserId)
}

// mark returns the tags of this mount's mark for instance.
func mark(mount, instance string) map[string]string {
	return map[string]string{aws.MarkMountTag: mount, aws.MarkInstanceTag: instance}
}

func (e *env) mountID() string {
	e.T.Helper()
	id := e.OK(logical.ReadOperation, "settings", nil).Data["mount_id"].(string)
	require.Regexp(e.T, `^[a-z2-7]{8}$`, id)
	return id
}

func names(t *testing.T, data map[string]any, key string) []string {
	t.Helper()
	var out []string
	for _, o := range data[key].([]map[string]any) {
		out = append(out, o["name"].(string))
	}
	return out
}

// deleteBehindBack removes an issued user and what its role attached, as
// someone with the console would.
func (e *env) deleteBehindBack(lease *logical.Response, inline string) {
	e.T.Helper()
	name := awsv2.String(lease.Data["user_name"].(string))
	_, err := e.admin.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: name, AccessKeyId: awsv2.String(lease.Data["access_key"].(string))})
	require.NoError(e.T, err)
	_, err = e.admin.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: name, PolicyName: awsv2.String(inline)})
	require.NoError(e.T, err)
	_, err = e.admin.DeleteUser(ctx, &iam.DeleteUserInput{UserName: name})
	require.NoError(e.T, err)
}

// Issued users carry the mark (with the role's tags and path); users made
// behind the plugin's back with this mount's and instance's mark, under
// any path and in any key case, are orphans that tidy removes with
// everything on them; users of another mount, of another instance, with
// half a mark or none, and live credentials are never listed as orphans
// nor touched; the listing pages (GetAccountAuthorizationDetails, two
// users a page here) and makes no per-user call; a user deleted behind the
// plugin's back is a ghost that tidy drops from the index.
func TestAuditAndTidy(t *testing.T) {
	e := newEnv(t, awstest.Options{}, nil) // pages of 2
	e.group("ops")
	e.OK(logical.UpdateOperation, "roles/aws/u", map[string]any{"policy_document": allowS3, "user_path": "/team/", "iam_tags": map[string]any{"team": "core"}})
	e.OK(logical.UpdateOperation, "roles/aws/v", map[string]any{"policy_document": allowS3})
	live1, live2 := e.issue("u", nil), e.issue("v", nil)
	mount := e.mountID()

	u, ok := e.ts.User(live1.Data["user_name"].(string))
	require.True(t, ok)
	require.Equal(t, "/team/", u.Path)
	require.ElementsMatch(t, []awstest.Tag{{Key: "team", Value: "core"}, {Key: aws.MarkMountTag, Value: mount}, {Key: aws.MarkInstanceTag, Value: "aws"}}, u.Tags,
		"the user carries the role's tags and the mark, set by CreateUser")

	e.markedUser("vault-orphan-a", "/elsewhere/deep/", mark(mount, "aws"))
	e.addExtras("vault-orphan-a", true) // everything on it goes too
	e.markedUser("vault-orphan-b", "/", mark(mount, "aws"))
	e.markedUser("vault-orphan-case", "/", map[string]string{strings.ToUpper(aws.MarkMountTag): mount, strings.ToUpper(aws.MarkInstanceTag): "aws"})
	untouched := []string{live1.Data["user_name"].(string), live2.Data["user_name"].(string)}
	for name, tags := range map[string]map[string]string{
		"vault-other-mount":    mark("abcdefgh", "aws"),
		"vault-other-instance": mark(mount, "aws-prod"),
		"vault-half-mark":      {aws.MarkMountTag: mount},
		"vault-wrong-case":     mark(strings.ToUpper(mount), "aws"),
		"vault-unmarked":       {"team": "core"},
	} {
		e.markedUser(name, "/", tags)
		untouched = append(untouched, name)
	}
	users := len(e.ts.UserNames()) // 11 with the root user
	require.Equal(t, 11, users)

	e.ts.Core().Reset()
	audit := e.OK(logical.ReadOperation, "audit/aws", nil)
	require.Equal(t, 5, audit.Data["scanned"])
	require.Equal(t, 2, audit.Data["held"])
	require.Equal(t, []string{"vault-orphan-a", "vault-orphan-b", "vault-orphan-case"}, names(t, audit.Data, "orphans"))
	require.Empty(t, audit.Data["ghosts"])
	require.Equal(t, (users+1)/2, audit.Data["cloud_calls"], "one call per page of users")
	calls := e.ts.Core().Calls().Counts
	require.Equal(t, (users+1)/2, calls["GetAccountAuthorizationDetails"])
	require.Zero(t, calls["ListUserTags"]+calls["ListUsers"]+calls["GetUser"], "no per-user call")
	for _, o := range audit.Data["orphans"].([]map[string]any) {
		require.Equal(t, "iam_user", o["kind"])
		require.Regexp(t, `^AIDA[A-Z2-7]{17}$`, o["id"], "the IAM user id")
		require.Less(t, o["age_seconds"], int64(60))
	}

	// Dry run, and the default min_age of 1h keeps these young orphans.
	dry := e.OK(logical.UpdateOperation, "tidy/aws", nil)
	require.Empty(t, dry.Data["removed"])
	require.Len(t, dry.Data["kept_younger_than_min_age"], 3)
	done := e.OK(logical.UpdateOperation, "tidy/aws", map[string]any{"dry_run": false, "min_age": 0})
	require.Equal(t, []string{"vault-orphan-a", "vault-orphan-b", "vault-orphan-case"}, names(t, done.Data, "removed"))
	require.Empty(t, done.Data["failed"])
	for _, name := range []string{"vault-orphan-a", "vault-orphan-b", "vault-orphan-case"} {
		_, ok := e.ts.User(name)
		require.False(t, ok, name)
	}
	for _, name := range untouched {
		_, ok := e.ts.User(name)
		require.True(t, ok, "%s is untouched", name)
	}
	st := e.ts.State()
	require.Zero(t, st["login_profiles"]+st["ssh_public_keys"]+st["signing_certificates"]+st["service_specific_credentials"]+st["group_memberships"])
	require.Equal(t, 3, st["access_keys"], "the root's and the two live credentials'")

	// A ghost: live2's user deleted behind the plugin's back.
	e.deleteBehindBack(live2, "vault-v")
	audit = e.OK(logical.ReadOperation, "audit/aws", nil)
	require.Empty(t, audit.Data["orphans"])
	ghosts := audit.Data["ghosts"].([]map[string]any)
	require.Len(t, ghosts, 1)
	require.Equal(t, "v", ghosts[0]["role"])
	done = e.OK(logical.UpdateOperation, "tidy/aws", map[string]any{"dry_run": false})
	require.Len(t, done.Data["dropped_index_entries"], 1)
	require.Empty(t, e.OK(logical.ReadOperation, "audit/aws", nil).Data["ghosts"])
	_, err := e.Revoke(live2.Secret)
	require.NoError(t, err, "its lease still revokes: the user is gone")

	_, err = e.Revoke(live1.Secret)
	require.NoError(t, err)
	audit = e.OK(logical.ReadOperation, "audit/aws", nil)
	require.Equal(t, 0, audit.Data["scanned"])
	require.Empty(t, audit.Data["orphans"])
	require.Empty(t, audit.Data["ghosts"])
}
