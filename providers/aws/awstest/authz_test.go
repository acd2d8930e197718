package awstest_test

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
)

const limitedPolicy = `{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Action":["iam:CreateUser","iam:DeleteUser","iam:get*"],"Resource":"arn:aws:iam::123456789012:user/vault-*"},
 {"Effect":"Allow","Action":"iam:GetUser","Resource":"arn:aws:iam::123456789012:user/${aws:username}"},
 {"Effect":"Allow","NotAction":["iam:*User*","iam:*Role*"],"Resource":"*"},
 {"Effect":"Deny","Action":"iam:DeleteUser","Resource":"arn:aws:iam::123456789012:user/vault-keep?"},
 {"Effect":"Deny","Action":"sts:*","Resource":"*"},
 {"Effect":"Allow","Action":"iam:TagUser","Resource":"*","Condition":{"StringEquals":{"aws:RequestTag/team":"core"}}}
]}`

// requireDenied asserts IAM's AccessDenied answer with its message.
func requireDenied(t *testing.T, err error, msg string) {
	t.Helper()
	requireAPIError(t, err, "AccessDenied", 403)
	var ae smithy.APIError
	require.True(t, errors.As(err, &ae))
	require.Equal(t, msg, ae.ErrorMessage())
}

// With EnforcePolicies, a user may do exactly what its policies allow,
// with IAM's evaluation (explicit deny wins, wildcards, NotAction, policy
// variables, boundary) and IAM's AccessDenied answers.
func TestEnforcePolicies(t *testing.T) {
	ts := awstest.Start(t, awstest.Options{EnforcePolicies: true})
	root := rootIAM(ts)
	_, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("plugin")})
	require.NoError(t, err)
	_, err = root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("plugin"), PolicyName: aws.String("p"), PolicyDocument: aws.String(limitedPolicy)})
	require.NoError(t, err)
	key, err := root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("plugin")})
	require.NoError(t, err)
	ak, sk := aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey)
	c, s := iamClient(ts, ak, sk, clientOpts{}), stsClient(ts, ak, sk, clientOpts{})
	const me = "User: arn:aws:iam::123456789012:user/plugin is not authorized to perform: "

	_, err = c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("vault-a")})
	require.NoError(t, err)
	_, err = c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("other")})
	requireDenied(t, err, me+"iam:CreateUser on resource: arn:aws:iam::123456789012:user/other because no identity-based policy allows the iam:CreateUser action")
	// The resource of a user with a path includes the path.
	_, err = c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("vault-b"), Path: aws.String("/team/")})
	requireDenied(t, err, me+"iam:CreateUser on resource: arn:aws:iam::123456789012:user/team/vault-b because no identity-based policy allows the iam:CreateUser action")
	// Tags need iam:TagUser too; a statement with a Condition grants nothing here.
	_, err = c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("vault-c"), Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("core")}}})
	requireDenied(t, err, me+"iam:TagUser on resource: arn:aws:iam::123456789012:user/vault-c because no identity-based policy allows the iam:TagUser action")

	_, err = c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("vault-keep1")})
	require.NoError(t, err)
	_, err = c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("vault-keep1")})
	requireDenied(t, err, me+"iam:DeleteUser on resource: arn:aws:iam::123456789012:user/vault-keep1 with an explicit deny in an identity-based policy")
	_, err = c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("vault-a")})
	require.NoError(t, err)

	// Action wildcards ignore case; ${aws:username}; NotAction.
	_, err = c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("vault-keep1")})
	require.NoError(t, err)
	_, err = c.GetUser(ctx, &iam.GetUserInput{})
	require.NoError(t, err)
	_, err = c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(awstest.RootUserName)})
	requireDenied(t, err, me+"iam:GetUser on resource: arn:aws:iam::123456789012:user/"+awstest.RootUserName+" because no identity-based policy allows the iam:GetUser action")
	_, err = c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("g")})
	require.NoError(t, err, "allowed by NotAction")
	_, err = c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("r")})
	requireDenied(t, err, me+"iam:GetRole on resource: arn:aws:iam::123456789012:role/r because no identity-based policy allows the iam:GetRole action")

	// GetCallerIdentity needs no permission, even under an explicit deny of sts:*.
	_, err = s.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	require.NoError(t, err)

	// A permissions boundary caps what the policies allow.
	_, err = root.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("only-get"), PolicyDocument: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:Get*","Resource":"*"}]}`)})
	require.NoError(t, err)
	_, err = root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("bounded"), PermissionsBoundary: aws.String("arn:aws:iam::123456789012:policy/only-get")})
	require.NoError(t, err)
	_, err = root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("bounded"), PolicyName: aws.String("p"), PolicyDocument: aws.String(limitedPolicy)})
	require.NoError(t, err)
	bkey, err := root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("bounded")})
	require.NoError(t, err)
	bc := iamClient(ts, aws.ToString(bkey.AccessKey.AccessKeyId), aws.ToString(bkey.AccessKey.SecretAccessKey), clientOpts{})
	_, err = bc.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("vault-d")})
	requireDenied(t, err, "User: arn:aws:iam::123456789012:user/bounded is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::123456789012:user/vault-d because no permissions boundary allows the iam:CreateUser action")
	_, err = bc.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("vault-keep1")})
	require.NoError(t, err, "allowed by both")

	// Off: everything is allowed again.
	ts.SetEnforcePolicies(false)
	_, err = c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("other")})
	require.NoError(t, err)
}
