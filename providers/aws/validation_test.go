package aws_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
)

// Done means 9: bad role input is a 400 naming the field, and nothing is
// created (no AWS call at all).
func TestBadRoleInput(t *testing.T) {
	e := newEnv(t, awstest.Options{}, nil)
	elevenPolicies := make([]string, 11)
	elevenGroups := make([]string, 11)
	for i := range elevenPolicies {
		elevenPolicies[i] = fmt.Sprintf("arn:aws:iam::123456789012:policy/p%d", i)
		elevenGroups[i] = fmt.Sprintf("g%d", i)
	}
	cases := []struct {
		name  string
		role  map[string]any
		field string
	}{
		{"malformed policy ARN", map[string]any{"policy_arns": []string{"arn:aws:s3:::bucket"}}, "policy_arns"},
		{"malformed boundary ARN", map[string]any{"policy_document": allowS3, "permissions_boundary_arn": "PowerUser"}, "permissions_boundary_arn"},
		{"malformed role ARN", map[string]any{"credential_type": "assumed_role", "role_arns": []string{"arn:aws:iam::123:role/x"}}, "role_arns"},
		{"invalid policy JSON", map[string]any{"policy_document": `{"Statement": [`}, "policy_document"},
		{"policy without Statement", map[string]any{"policy_document": `{"Version":"2012-10-17"}`}, "policy_document"},
		{"invalid session policy JSON", map[string]any{"credential_type": "assumed_role", "role_arns": []string{"arn:aws:iam::123456789012:role/r"}, "policy_document": "nope"}, "policy_document"},
		{"more than 10 policies", map[string]any{"policy_arns": elevenPolicies}, "policy_arns"},
		{"more than 10 groups", map[string]any{"iam_groups": elevenGroups}, "iam_groups"},
		{"bad group name", map[string]any{"iam_groups": []string{"a b"}}, "iam_groups"},
		{"reserved tag", map[string]any{"policy_document": allowS3, "iam_tags": map[string]any{"aws:x": "y"}}, "iam_tags"},
		{"bad user path", map[string]any{"policy_document": allowS3, "user_path": "vault"}, "user_path"},
		{"nothing to grant", map[string]any{"user_path": "/"}, "policy_arns"},
		{"unknown credential_type", map[string]any{"credential_type": "federation_token"}, "credential_type"},
		{"unknown field", map[string]any{"policy_document": allowS3, "policy": "x"}, "policy"},
		{"no role ARN", map[string]any{"credential_type": "assumed_role"}, "role_arns"},
	}
	e.ts.Core().Reset()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.BadRequest(logical.UpdateOperation, "roles/aws/bad", c.role, c.field)
		})
	}
	require.Zero(t, e.ts.Core().Calls().Total, "validation makes no AWS call")
	require.Empty(t, e.vaultUsers())
	resp, err := e.Do(logical.ReadOperation, "roles/aws/bad", nil)
	require.NoError(t, err)
	require.Nil(t, resp, "no role was stored")
}

// Done means 9 (config): a username template that can exceed IAM's 64
// characters, or is otherwise unusable, is a 400 naming the field.
func TestBadConfig(t *testing.T) {
	e := newEnv(t, awstest.Options{}, nil)
	cases := []struct {
		name  string
		cfg   map[string]any
		field string
		want  string
	}{
		{"template over 64", map[string]any{"username_template": "vault-{{role}}-{{display_name}}-{{id}}"}, "username_template", "64"},
		{"long literal", map[string]any{"username_template": strings.Repeat("x", 60) + "{{id}}"}, "username_template", "64"},
		{"no id", map[string]any{"username_template": "vault-{{ .RoleName | truncate 8 }}"}, "username_template", "{{ .ID }}"},
		{"unknown former placeholder", map[string]any{"username_template": "{{policy}}-{{id}}"}, "username_template", "unknown former-syntax placeholder"},
		{"unknown field", map[string]any{"username_template": "{{ .Policy }}-{{ .ID }}"}, "username_template", "unknown field .Policy"},
		{"bad literal", map[string]any{"username_template": "vault/{{id}}"}, "username_template", "may not contain"},
		{"session template", map[string]any{"session_name_template": "{{role:60}}-{{id}}"}, "session_name_template", "64"},
		{"endpoint", map[string]any{"iam_endpoint": "iam.amazonaws.com"}, "iam_endpoint", "URL"},
		{"retries", map[string]any{"max_retries": 100}, "max_retries", "between"},
		{"retry budget", map[string]any{"max_retries": 30, "retry_max_backoff": "10s"}, "max_retries", "90s"},
		{"concurrency", map[string]any{"max_concurrent_iam_calls": 0}, "max_concurrent_iam_calls", "between"},
		{"half a key", map[string]any{"access_key": "", "secret_key": "x"}, "access_key", "required"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.BadRequest(logical.UpdateOperation, "config/aws", c.cfg, c.field, c.want)
		})
	}
	// A template with explicit widths within 64 is fine and is used.
	e.OK(logical.UpdateOperation, "config/aws", map[string]any{"username_template": "ci.{{role:8}}@{{unix_time}}.{{id}}"})
	e.OK(logical.UpdateOperation, "roles/aws/a-very-long-role-name", map[string]any{"policy_document": allowS3})
	resp := e.issue("a-very-long-role-name", nil)
	require.Regexp(t, `^ci\.a-very-l@\d{10}\.[a-z2-7]{13}$`, resp.Data["user_name"])
	_, err := e.Revoke(resp.Secret)
	require.NoError(t, err)
}

// IAM's tag rules are checked at role write (a 400 naming iam_tags, no AWS
// call), not found at issue as a 502 from CreateUser; tags IAM accepts
// (unicode letters, spaces, 48 tags, 128/256 characters) are accepted and
// issue. The plugin's mark takes 2 of IAM's 50 tags and its keys.
func TestRoleWriteChecksTags(t *testing.T) {
	e := newEnv(t, awstest.Options{}, nil)
	// IAM allows 50 tags on a user; the plugin's mark takes 2.
	fortyEight, fortyNine := map[string]any{}, map[string]any{}
	for i := range 49 {
		if i < 48 {
			fortyEight[fmt.Sprint("k", i)] = "v"
		}
		fortyNine[fmt.Sprint("k", i)] = "v"
	}
	bad := []struct {
		name string
		tags map[string]any
		want string
	}{
		{"49 tags", fortyNine, "an IAM user has at most 50 tags and the plugin adds 2 of its own (vault-multicloud:mount, vault-multicloud:instance), so a role has at most 48, got 49"},
		{"the mark's mount key", map[string]any{aws.MarkMountTag: "x"}, `tag key "vault-multicloud:mount" is the plugin's own`},
		{"the mark's instance key in another case", map[string]any{"Vault-Multicloud:Instance": "x"}, `tag key "Vault-Multicloud:Instance" is the plugin's own`},
		{"key too long", map[string]any{strings.Repeat("k", 129): "v"}, "IAM tag keys have 1 to 128"},
		{"key charset", map[string]any{"team#1": "v"}, `tag key "team#1" has characters IAM tag keys may not contain`},
		{"key with a comma", map[string]any{"a,b": "v"}, "may not contain"},
		{"aws: prefix", map[string]any{"aws:createdBy": "me"}, "aws: prefix is reserved"},
		{"AWS: prefix in another case", map[string]any{"AWS:x": "y"}, "aws: prefix is reserved"},
		{"keys differing in case", map[string]any{"Team": "a", "team": "b"}, `"Team" and "team" differ only in case`},
		{"value too long", map[string]any{"k": strings.Repeat("v", 257)}, "at most 256"},
		{"value charset", map[string]any{"k": "a&b"}, `value of tag "k" has characters`},
		{"value with a quote", map[string]any{"k": `"q"`}, "may not contain"},
	}
	e.ts.Core().Reset()
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			msg := e.BadRequest(logical.UpdateOperation, "roles/aws/tags", map[string]any{"policy_document": allowS3, "iam_tags": c.tags}, c.want)
			require.True(t, strings.HasPrefix(msg, "iam_tags: "), msg)
		})
	}
	require.Zero(t, e.ts.Core().Calls().Total, "tag checks make no AWS call")
	e.requireNoRole("tags")

	for _, good := range []map[string]any{
		fortyEight,
		{"Équipe": "données", "cost center": "12 34", "a_b.c:d/e=f+g-h@i": "", strings.Repeat("k", 128): strings.Repeat("v", 256)},
	} {
		e.OK(logical.UpdateOperation, "roles/aws/tags", map[string]any{"policy_document": allowS3, "iam_tags": good})
		resp := e.issue("tags", nil)
		u, ok := e.ts.User(resp.Data["user_name"].(string))
		require.True(t, ok)
		require.Len(t, u.Tags, len(good)+2, "the role's tags and the mark")
		_, err := e.Revoke(resp.Secret)
		require.NoError(t, err)
	}
}

// The managed-policy cap per user is the account's quota, 10 unless
// raised (at most 20): max_managed_policies_per_user sets it for role
// validation, and an account whose quota is lower than the config says
// fails the issue cleanly (502, nothing left behind).
func TestManagedPoliciesPerUserQuota(t *testing.T) {
	policies := func(e *env, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = e.policy(fmt.Sprint("q", i))
		}
		return out
	}

	// Default: 10.
	e := newEnv(t, awstest.Options{}, nil)
	fifteen := policies(e, 15)
	e.BadRequest(logical.UpdateOperation, "roles/aws/many", map[string]any{"policy_arns": fifteen[:11]}, "policy_arns", "at most 10 managed policies", "max_managed_policies_per_user")
	e.OK(logical.UpdateOperation, "roles/aws/many", map[string]any{"policy_arns": fifteen[:10]})
	for _, bad := range []any{0, 21, -1} {
		e.BadRequest(logical.UpdateOperation, "config/aws", map[string]any{"max_managed_policies_per_user": bad}, "max_managed_policies_per_user", "between 1 and 20")
	}

	// The config says 20 but the account's quota is still 10: the role is
	// accepted, the issue fails with IAM's LimitExceeded and is undone.
	e.OK(logical.UpdateOperation, "config/aws", map[string]any{"max_managed_policies_per_user": 20})
	e.OK(logical.UpdateOperation, "roles/aws/many", map[string]any{"policy_arns": fifteen})
	msg := e.Coded(502, logical.ReadOperation, "creds/aws/many", nil, "AttachUserPolicy", "LimitExceeded")
	require.Contains(t, msg, "PoliciesPerUser: 10")
	require.Empty(t, e.vaultUsers(), "the failed issue removed its user")

	// An account whose quota was raised to 20.
	e = newEnv(t, awstest.Options{ManagedPoliciesPerUser: 20}, map[string]any{"max_managed_policies_per_user": 20})
	twentyOne := policies(e, 21)
	e.BadRequest(logical.UpdateOperation, "roles/aws/many", map[string]any{"policy_arns": twentyOne}, "policy_arns", "at most 20 managed policies")
	e.OK(logical.UpdateOperation, "roles/aws/many", map[string]any{"policy_arns": twentyOne[:20]})
	resp := e.issue("many", nil)
	u, ok := e.ts.User(resp.Data["user_name"].(string))
	require.True(t, ok)
	require.ElementsMatch(t, twentyOne[:20], u.ManagedPolicies)
	_, err := e.Revoke(resp.Secret)
	require.NoError(t, err)
	require.Empty(t, e.vaultUsers())
}
