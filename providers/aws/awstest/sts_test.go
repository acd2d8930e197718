package awstest_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
)

func TestAssumeRole(t *testing.T) {
	ts := awstest.Start(t, awstest.Options{AccountID: "210987654321"})
	c := rootIAM(ts)
	s := rootSTS(ts)
	role, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("deployer"), Path: aws.String("/ci/"),
		AssumeRolePolicyDocument: aws.String(trustAccount("210987654321")), MaxSessionDuration: aws.Int32(7200)})
	require.NoError(t, err)
	roleARN := aws.ToString(role.Role.Arn)
	require.Equal(t, "arn:aws:iam::210987654321:role/ci/deployer", roleARN)
	got, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("deployer")})
	require.NoError(t, err)
	trust, err := url.QueryUnescape(aws.ToString(got.Role.AssumeRolePolicyDocument))
	require.NoError(t, err)
	require.JSONEq(t, trustAccount("210987654321"), trust)
	require.Equal(t, int32(7200), aws.ToInt32(got.Role.MaxSessionDuration))

	id, err := s.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	require.NoError(t, err)
	require.Equal(t, "210987654321", aws.ToString(id.Account))
	require.Equal(t, "arn:aws:iam::210987654321:user/"+awstest.RootUserName, aws.ToString(id.Arn))

	before := time.Now()
	out, err := s.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("vault-ci@build.1"),
		DurationSeconds: aws.Int32(5400), Policy: aws.String(allowS3),
		PolicyArns: []ststypes.PolicyDescriptorType{{Arn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")}}})
	require.NoError(t, err)
	cr := out.Credentials
	require.Regexp(t, `^ASIA`, aws.ToString(cr.AccessKeyId))
	require.NotEmpty(t, aws.ToString(cr.SessionToken))
	require.WithinDuration(t, before.Add(5400*time.Second), aws.ToTime(cr.Expiration), 5*time.Second)
	require.Equal(t, "arn:aws:sts::210987654321:assumed-role/deployer/vault-ci@build.1", aws.ToString(out.AssumedRoleUser.Arn))
	require.True(t, strings.HasPrefix(aws.ToString(out.AssumedRoleUser.AssumedRoleId), aws.ToString(role.Role.RoleId)+":"))
	require.NotNil(t, out.PackedPolicySize)

	tmp := stsClient(ts, aws.ToString(cr.AccessKeyId), aws.ToString(cr.SecretAccessKey), clientOpts{token: aws.ToString(cr.SessionToken)})
	who, err := tmp.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	require.NoError(t, err)
	require.Equal(t, aws.ToString(out.AssumedRoleUser.Arn), aws.ToString(who.Arn))
	require.Equal(t, aws.ToString(out.AssumedRoleUser.AssumedRoleId), aws.ToString(who.UserId))
	require.Equal(t, 1, ts.State()["sessions"])

	t.Run("temporary credentials need their session token", func(t *testing.T) {
		for _, token := range []string{"", "not-the-token"} {
			bad := stsClient(ts, aws.ToString(cr.AccessKeyId), aws.ToString(cr.SecretAccessKey), clientOpts{token: token})
			_, err := bad.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			requireAPIError(t, err, "InvalidClientTokenId", 403)
		}
	})
	t.Run("temporary credentials cannot omit UserName", func(t *testing.T) {
		tmpIAM := iamClient(ts, aws.ToString(cr.AccessKeyId), aws.ToString(cr.SecretAccessKey), clientOpts{token: aws.ToString(cr.SessionToken)})
		_, err := tmpIAM.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{})
		requireAPIError(t, err, "ValidationError", 400)
	})
	t.Run("role chaining is capped at one hour", func(t *testing.T) {
		_, err := tmp.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("chain"), DurationSeconds: aws.Int32(3601)})
		requireAPIError(t, err, "ValidationError", 400)
		_, err = tmp.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("chain")})
		require.NoError(t, err)
	})

	_, err = c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("ec2-only"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	require.NoError(t, err)
	tests := []struct {
		name   string
		in     sts.AssumeRoleInput
		code   string
		status int
	}{
		{"unknown role", sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::210987654321:role/nope"), RoleSessionName: aws.String("s1")}, "AccessDenied", 403},
		{"role of another account", sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::111111111111:role/ci/deployer"), RoleSessionName: aws.String("s1")}, "AccessDenied", 403},
		{"wrong path", sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::210987654321:role/deployer"), RoleSessionName: aws.String("s1")}, "AccessDenied", 403},
		{"trust policy does not name the caller", sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::210987654321:role/ec2-only"), RoleSessionName: aws.String("s1")}, "AccessDenied", 403},
		{"session name too short", sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s")}, "ValidationError", 400},
		{"session name too long", sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String(strings.Repeat("s", 65))}, "ValidationError", 400},
		{"session name bad characters", sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("a b")}, "ValidationError", 400},
		{"duration below 900", sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(899)}, "ValidationError", 400},
		{"duration above the role's maximum", sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(7201)}, "ValidationError", 400},
		{"malformed session policy", sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s1"), Policy: aws.String(`{"Statement":[]}`)}, "MalformedPolicyDocument", 400},
		{"session policy too long", sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s1"),
			Policy: aws.String(`{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::` + strings.Repeat("b", 2100) + `"}}`)}, "ValidationError", 400},
		{"too many policy arns", sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s1"), PolicyArns: func() []ststypes.PolicyDescriptorType {
			var l []ststypes.PolicyDescriptorType
			for i := range 11 {
				l = append(l, ststypes.PolicyDescriptorType{Arn: aws.String(fmt.Sprint("arn:aws:iam::210987654321:policy/p", i))})
			}
			return l
		}()}, "ValidationError", 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.AssumeRole(ctx, &tc.in)
			requireAPIError(t, err, tc.code, tc.status)
		})
	}

	t.Run("default duration is one hour", func(t *testing.T) {
		out, err := s.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("dflt")})
		require.NoError(t, err)
		require.WithinDuration(t, time.Now().Add(time.Hour), aws.ToTime(out.Credentials.Expiration), 5*time.Second)
		require.Nil(t, out.PackedPolicySize)
	})
	t.Run("STS error answers use the STS namespace", func(t *testing.T) {
		ak, sk := ts.RootCredentials()
		status, _, body := rawCall(t, ts, http.MethodPost, "sts", ak, sk, url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"},
			"RoleArn": {"arn:aws:iam::210987654321:role/nope"}, "RoleSessionName": {"x1"}})
		require.Equal(t, 403, status)
		require.Contains(t, body, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">`)
		require.Contains(t, body, "is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::210987654321:role/nope")
	})
}
