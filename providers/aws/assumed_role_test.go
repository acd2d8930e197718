package aws_test

import (
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
)

// Done means 7: STS credentials with the right expiry, a non-renewable
// lease capped at it, and a revoke that warns.
func TestAssumedRole(t *testing.T) {
	e := newEnv(t, awstest.Options{}, nil)
	deploy, audit := e.role("deploy"), e.role("audit")
	e.OK(logical.UpdateOperation, "roles/aws/one", map[string]any{
		"credential_type": "assumed_role", "role_arns": []string{deploy},
		"policy_document": allowS3, "policy_arns": []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"},
		"ttl": "2h",
	})
	e.OK(logical.UpdateOperation, "roles/aws/two", map[string]any{
		"credential_type": "assumed_role", "role_arns": []string{deploy, audit}, "ttl": "1h",
	})
	before := e.ts.State()

	start := time.Now()
	resp := e.issue("one", nil)
	require.False(t, resp.Secret.Renewable)
	require.InDelta(t, float64(2*time.Hour), float64(resp.Secret.TTL), float64(2*time.Second), "TTL = session duration (capped at its expiry)")
	exp, err := time.Parse(time.RFC3339, resp.Data["expiration"].(string))
	require.NoError(t, err)
	require.WithinDuration(t, start.Add(2*time.Hour), exp, 5*time.Second)
	require.LessOrEqual(t, resp.Secret.MaxTTL, 2*time.Hour+time.Second, "the lease never outlives the session")
	require.NotEmpty(t, resp.Data["session_token"])
	internal := resp.Secret.InternalData["data"].(string)
	require.NotContains(t, internal, resp.Data["secret_key"].(string))
	require.NotContains(t, internal, resp.Data["session_token"].(string))

	arn, err := e.whoAmI(resp.Data["access_key"].(string), resp.Data["secret_key"].(string), resp.Data["session_token"].(string))
	require.NoError(t, err)
	require.Regexp(t, `^arn:aws:sts::123456789012:assumed-role/deploy/vault-token-ci-one-[a-z2-7]{13}$`, arn)

	rv, err := e.Revoke(resp.Secret)
	require.NoError(t, err)
	require.NotNil(t, rv)
	require.Len(t, rv.Warnings, 1)
	require.Contains(t, rv.Warnings[0], "cannot be revoked")

	// Several role ARNs: role_arn picks one and is required.
	e.BadRequest(logical.ReadOperation, "creds/aws/two", nil, "role_arn")
	e.BadRequest(logical.UpdateOperation, "creds/aws/two", map[string]any{"role_arn": "arn:aws:iam::123456789012:role/other"}, "role_arn")
	resp = e.issue("two", map[string]any{"role_arn": audit})
	arn, err = e.whoAmI(resp.Data["access_key"].(string), resp.Data["secret_key"].(string), resp.Data["session_token"].(string))
	require.NoError(t, err)
	require.Contains(t, arn, "assumed-role/audit/")

	// A TTL under STS's 15 minutes is bad input naming ttl.
	e.BadRequest(logical.UpdateOperation, "creds/aws/one", map[string]any{"ttl": "10m"}, "ttl")
	require.Equal(t, before["users"], e.ts.State()["users"])
}
