package awstest_test

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
)

// One endpoint serves several accounts, as AWS's do: the signing key
// decides the account; objects of one are invisible to the other; a role
// may trust another account's principals.
func TestAccounts(t *testing.T) {
	ts := awstest.Start(t, awstest.Options{})
	akB, skB := ts.AddAccount("210987654321")
	a, b := rootIAM(ts), iamClient(ts, akB, skB, clientOpts{})

	for _, c := range []struct {
		client  *sts.Client
		account string
	}{{rootSTS(ts), "123456789012"}, {stsClient(ts, akB, skB, clientOpts{}), "210987654321"}} {
		id, err := c.client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		require.NoError(t, err)
		require.Equal(t, c.account, aws.ToString(id.Account))
		require.Equal(t, "arn:aws:iam::"+c.account+":user/"+awstest.RootUserName, aws.ToString(id.Arn))
	}

	// The same name in both accounts: two users; a delete in one leaves the other.
	for _, c := range []*iam.Client{a, b} {
		_, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("same")})
		require.NoError(t, err)
	}
	_, err := b.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("only-in-b")})
	require.NoError(t, err)
	_, err = a.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("only-in-b")})
	requireAPIError(t, err, "NoSuchEntity", 404)
	_, err = a.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("same")})
	require.NoError(t, err)
	got, err := b.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("same")})
	require.NoError(t, err)
	require.Equal(t, "arn:aws:iam::210987654321:user/same", aws.ToString(got.User.Arn))
	require.Equal(t, []string{awstest.RootUserName}, ts.UserNames())
	require.Equal(t, []string{awstest.RootUserName, "only-in-b", "same"}, ts.Account("210987654321").UserNames())
	require.Equal(t, 3, ts.Account("210987654321").State()["users"])
	require.Nil(t, ts.Account("999999999999"))

	// Cross-account AssumeRole: B's role trusts A; the session acts in B.
	role, err := b.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("from-a"), AssumeRolePolicyDocument: aws.String(trustAccount("123456789012"))})
	require.NoError(t, err)
	out, err := rootSTS(ts).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: role.Role.Arn, RoleSessionName: aws.String("x-acct")})
	require.NoError(t, err)
	require.Equal(t, "arn:aws:sts::210987654321:assumed-role/from-a/x-acct", aws.ToString(out.AssumedRoleUser.Arn))
	who, err := stsClient(ts, aws.ToString(out.Credentials.AccessKeyId), aws.ToString(out.Credentials.SecretAccessKey),
		clientOpts{token: aws.ToString(out.Credentials.SessionToken)}).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	require.NoError(t, err)
	require.Equal(t, "210987654321", aws.ToString(who.Account))
	// B's own principals are not trusted by a role trusting only A.
	_, err = stsClient(ts, akB, skB, clientOpts{}).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: role.Role.Arn, RoleSessionName: aws.String("self")})
	requireAPIError(t, err, "AccessDenied", 403)

	// Reset restores both accounts' fixtures and keeps B's key.
	ts.Reset()
	require.Equal(t, []string{awstest.RootUserName}, ts.Account("210987654321").UserNames())
	_, err = b.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(awstest.RootUserName)})
	require.NoError(t, err)
}

// A role made without MaxSessionDuration allows one hour, as IAM's
// default; AssumeRole above a role's MaxSessionDuration is STS's 400
// ValidationError with STS's message, and without DurationSeconds a
// session lasts one hour.
func TestAssumeRoleMaxSessionDuration(t *testing.T) {
	ts := awstest.Start(t, awstest.Options{})
	c, s := rootIAM(ts), rootSTS(ts)
	role, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("default"), AssumeRolePolicyDocument: aws.String(trustAccount("123456789012"))})
	require.NoError(t, err)
	require.Equal(t, int32(3600), aws.ToInt32(role.Role.MaxSessionDuration))
	got, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("default")})
	require.NoError(t, err)
	require.Equal(t, int32(3600), aws.ToInt32(got.Role.MaxSessionDuration))

	_, err = s.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: role.Role.Arn, RoleSessionName: aws.String("long"), DurationSeconds: aws.Int32(3601)})
	requireAPIError(t, err, "ValidationError", 400)
	var ae smithy.APIError
	require.True(t, errors.As(err, &ae))
	require.Equal(t, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.", ae.ErrorMessage())

	start := time.Now()
	for _, d := range []*int32{aws.Int32(3600), nil} {
		out, err := s.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: role.Role.Arn, RoleSessionName: aws.String("hour"), DurationSeconds: d})
		require.NoError(t, err)
		require.WithinDuration(t, start.Add(time.Hour), aws.ToTime(out.Credentials.Expiration), 5*time.Second)
	}

	_, err = c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("short"), AssumeRolePolicyDocument: aws.String(trustAccount("123456789012")),
		MaxSessionDuration: aws.Int32(3599)})
	requireAPIError(t, err, "ValidationError", 400)
}
