package aws_test

import (
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	awsv2 "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/plugin/plugintest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws"
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

// defaultRole makes an IAM role as IAM does by default: MaxSessionDuration
// unset, so 3600 s. trusted is the account whose principals may assume it.
func (e *env) defaultRole(admin *iam.Client, name, trusted string) string {
	e.T.Helper()
	out, err := admin.CreateRole(ctx, &iam.CreateRoleInput{RoleName: &name,
		AssumeRolePolicyDocument: awsv2.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` +
			trusted + `:root"},"Action":"sts:AssumeRole"}]}`)})
	require.NoError(e.T, err)
	require.Equal(e.T, int32(3600), awsv2.ToInt32(out.Role.MaxSessionDuration))
	return awsv2.ToString(out.Role.Arn)
}

// An IAM role with IAM's default MaxSessionDuration (3600 s) and a mount
// whose default TTL is Vault's (768h): the session is asked for what the
// role allows (read with GetRole at role write), the lease is capped at it
// with a warning, and STS is called once.
func TestAssumedRoleRespectsMaxSessionDuration(t *testing.T) {
	e := newEnv(t, awstest.Options{}, nil)
	e.System.DefaultLeaseTTLVal, e.System.MaxLeaseTTLVal = 768*time.Hour, 768*time.Hour
	arn := e.defaultRole(e.admin, "default", "123456789012")
	e.OK(logical.UpdateOperation, "roles/aws/r", map[string]any{"credential_type": "assumed_role", "role_arns": []string{arn}})

	e.ts.Core().Reset()
	start := time.Now()
	resp := e.issue("r", nil)
	require.InDelta(t, float64(time.Hour), float64(resp.Secret.TTL), float64(2*time.Second))
	require.LessOrEqual(t, resp.Secret.MaxTTL, time.Hour+time.Second)
	exp, err := time.Parse(time.RFC3339, resp.Data["expiration"].(string))
	require.NoError(t, err)
	require.WithinDuration(t, start.Add(time.Hour), exp, 5*time.Second)
	require.True(t, slices.ContainsFunc(resp.Warnings, func(w string) bool {
		return strings.Contains(w, "last 1h0m0s, not the 768h0m0s asked for") && strings.Contains(w, "MaxSessionDuration")
	}), "warnings: %v", resp.Warnings)
	counts := e.ts.Core().Calls().Counts
	require.Equal(t, 1, counts["AssumeRole"], "the role's limit was known from the role write")
	require.Zero(t, counts["GetRole"])

	// A request within the role's limit is not capped and not warned about.
	resp = e.issue("r", map[string]any{"ttl": "30m"})
	require.InDelta(t, float64(30*time.Minute), float64(resp.Secret.TTL), float64(2*time.Second))
	require.NotContains(t, strings.Join(resp.Warnings, "\n"), "asked for")
}

// When the role's limit is not known (a role of another account, GetRole
// denied) or has changed since it was read, STS's refusal is answered by
// one retry with what the role allows.
func TestAssumedRoleRetriesRefusedDuration(t *testing.T) {
	t.Run("GetRole denied", func(t *testing.T) {
		ts := awstest.Start(t, awstest.Options{})
		var denied atomic.Int64
		srv := httptest.NewServer(aws.DenyActions(ts, &denied, "GetRole"))
		t.Cleanup(srv.Close)
		e := newEnvOn(t, &awstest.TestServer{Server: ts.Server, URL: srv.URL, Admin: srv.URL + "/_emulator"}, nil)
		arn := e.defaultRole(e.admin, "default", "123456789012")
		e.OK(logical.UpdateOperation, "roles/aws/r", map[string]any{"credential_type": "assumed_role", "role_arns": []string{arn}, "ttl": "4h"})
		e.ts.Core().Reset()
		resp := e.issue("r", nil)
		require.InDelta(t, float64(time.Hour), float64(resp.Secret.TTL), float64(2*time.Second))
		require.Equal(t, 2, e.ts.Core().Calls().Counts["AssumeRole"], "refused once, then one hour")
		require.Contains(t, strings.Join(resp.Warnings, "\n"), "not the 4h0m0s asked for")
		// The denial is remembered: the next issue reads nothing and retries again.
		before := denied.Load()
		e.issue("r", nil)
		require.Equal(t, before, denied.Load())
	})

	t.Run("role of another account", func(t *testing.T) {
		e := newEnv(t, awstest.Options{}, nil)
		akB, skB := e.ts.AddAccount(accountB)
		adminB := iam.NewFromConfig(awsv2.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(akB, skB, "")},
			func(o *iam.Options) { o.BaseEndpoint = awsv2.String(e.ts.URL) })
		arn := e.defaultRole(adminB, "cross", "123456789012")
		e.OK(logical.UpdateOperation, "roles/aws/x", map[string]any{"credential_type": "assumed_role", "role_arns": []string{arn}, "ttl": "2h"})
		e.ts.Core().Reset()
		resp := e.issue("x", nil)
		require.InDelta(t, float64(time.Hour), float64(resp.Secret.TTL), float64(2*time.Second))
		counts := e.ts.Core().Calls().Counts
		require.Equal(t, 2, counts["AssumeRole"])
		require.Zero(t, counts["GetRole"], "a role of another account cannot be read")
		got, err := e.whoAmI(resp.Data["access_key"].(string), resp.Data["secret_key"].(string), resp.Data["session_token"].(string))
		require.NoError(t, err)
		require.Contains(t, got, "arn:aws:sts::"+accountB+":assumed-role/cross/")
	})

	t.Run("limit lowered since the role write", func(t *testing.T) {
		e := newEnv(t, awstest.Options{}, nil)
		long := e.role("changing") // 12h
		e.OK(logical.UpdateOperation, "roles/aws/c", map[string]any{"credential_type": "assumed_role", "role_arns": []string{long}, "ttl": "3h"})
		_, err := e.admin.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: awsv2.String("changing")})
		require.NoError(t, err)
		e.defaultRole(e.admin, "changing", "123456789012") // same ARN, 1h
		e.ts.Core().Reset()
		resp := e.issue("c", nil)
		require.InDelta(t, float64(time.Hour), float64(resp.Secret.TTL), float64(2*time.Second))
		counts := e.ts.Core().Calls().Counts
		require.Equal(t, 2, counts["AssumeRole"])
		require.Equal(t, 1, counts["GetRole"], "read again after STS's refusal")
		e.ts.Core().Reset()
		e.issue("c", nil)
		require.Equal(t, 1, e.ts.Core().Calls().Counts["AssumeRole"], "the new limit is remembered")
	})
}

// A plugin credential that is itself a role session (e.g. an instance
// role) assumes roles by role chaining, limited to one hour whatever the
// role allows: STS's refusal is retried once with one hour, and later
// issues ask for one hour at once.
func TestAssumedRoleByRoleChaining(t *testing.T) {
	ts := awstest.Start(t, awstest.Options{})
	ak, sk := ts.RootCredentials()
	admin := iam.NewFromConfig(awsv2.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(ak, sk, "")},
		func(o *iam.Options) { o.BaseEndpoint = awsv2.String(ts.URL) })
	var base, target string
	for _, r := range []struct {
		name string
		arn  *string
	}{{"base", &base}, {"target", &target}} { // both 12h; target trusts the account (and so base's sessions)
		out, err := admin.CreateRole(ctx, &iam.CreateRoleInput{RoleName: awsv2.String(r.name), MaxSessionDuration: awsv2.Int32(43200),
			AssumeRolePolicyDocument: awsv2.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`)})
		require.NoError(t, err)
		*r.arn = awsv2.ToString(out.Role.Arn)
	}
	rootSTS := sts.NewFromConfig(awsv2.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(ak, sk, "")},
		func(o *sts.Options) { o.BaseEndpoint = awsv2.String(ts.URL) })
	sess, err := rootSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: &base, RoleSessionName: awsv2.String("instance"), DurationSeconds: awsv2.Int32(43200)})
	require.NoError(t, err)
	credsFile := filepath.Join(t.TempDir(), "creds.json")
	c := sess.Credentials
	processSessionCreds(t, credsFile, awsv2.ToString(c.AccessKeyId), awsv2.ToString(c.SecretAccessKey), awsv2.ToString(c.SessionToken))
	ambientEnv(t, credsFile)

	b := plugintest.New(t, providers.MustRegistry(aws.New()))
	b.OK(logical.UpdateOperation, "config/aws", map[string]any{"iam_endpoint": ts.URL, "sts_endpoint": ts.URL, "use_ambient_credentials": true})
	b.OK(logical.UpdateOperation, "roles/aws/t", map[string]any{"credential_type": "assumed_role", "role_arns": []string{target}, "ttl": "6h"})
	for i, wantCalls := range []int{2, 1} {
		ts.Core().Reset()
		resp := b.OK(logical.ReadOperation, "creds/aws/t", nil)
		require.InDelta(t, float64(time.Hour), float64(resp.Secret.TTL), float64(2*time.Second), "issue %d", i)
		require.Contains(t, strings.Join(resp.Warnings, "\n"), "role chaining")
		require.Equal(t, wantCalls, ts.Core().Calls().Counts["AssumeRole"], "issue %d", i)
	}
}
