package awstest_test

import (
	"testing"

	awsv1 "github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/awserr"
	credsv1 "github.com/aws/aws-sdk-go/aws/credentials"
	"github.com/aws/aws-sdk-go/aws/session"
	iamv1 "github.com/aws/aws-sdk-go/service/iam"
	stsv1 "github.com/aws/aws-sdk-go/service/sts"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
)

// TestSDKv1 drives the emulator with aws-sdk-go v1, which Vault's builtin
// AWS secrets engine uses, configured through Endpoint as Vault does.
func TestSDKv1(t *testing.T) {
	ts := awstest.Start(t, awstest.Options{})
	ak, sk := ts.RootCredentials()
	sess, err := session.NewSession(&awsv1.Config{
		Region:      awsv1.String("us-east-1"),
		Endpoint:    awsv1.String(ts.URL),
		Credentials: credsv1.NewStaticCredentials(ak, sk, ""),
		MaxRetries:  awsv1.Int(0),
	})
	require.NoError(t, err)
	c := iamv1.New(sess)
	u := awsv1.String("vault-v1-user")

	_, err = c.CreateUser(&iamv1.CreateUserInput{UserName: u, Tags: []*iamv1.Tag{{Key: awsv1.String("by"), Value: awsv1.String("vault")}}})
	require.NoError(t, err)
	key, err := c.CreateAccessKey(&iamv1.CreateAccessKeyInput{UserName: u})
	require.NoError(t, err)
	_, err = c.AttachUserPolicy(&iamv1.AttachUserPolicyInput{UserName: u, PolicyArn: awsv1.String("arn:aws:iam::aws:policy/ReadOnlyAccess")})
	require.NoError(t, err)
	_, err = c.PutUserPolicy(&iamv1.PutUserPolicyInput{UserName: u, PolicyName: awsv1.String("inline"), PolicyDocument: awsv1.String(allowS3)})
	require.NoError(t, err)

	var ids []string
	require.NoError(t, c.ListAccessKeysPages(&iamv1.ListAccessKeysInput{UserName: u}, func(p *iamv1.ListAccessKeysOutput, _ bool) bool {
		for _, k := range p.AccessKeyMetadata {
			ids = append(ids, awsv1.StringValue(k.AccessKeyId))
		}
		return true
	}))
	require.Equal(t, []string{awsv1.StringValue(key.AccessKey.AccessKeyId)}, ids)

	_, err = c.DeleteUser(&iamv1.DeleteUserInput{UserName: u})
	var ae awserr.RequestFailure
	require.ErrorAs(t, err, &ae)
	require.Equal(t, iamv1.ErrCodeDeleteConflictException, ae.Code())
	require.Equal(t, 409, ae.StatusCode())
	require.NotEmpty(t, ae.RequestID())

	// The new key works with the v1 STS client too.
	userSess := sess.Copy(&awsv1.Config{Credentials: credsv1.NewStaticCredentials(
		awsv1.StringValue(key.AccessKey.AccessKeyId), awsv1.StringValue(key.AccessKey.SecretAccessKey), "")})
	who, err := stsv1.New(userSess).GetCallerIdentity(&stsv1.GetCallerIdentityInput{})
	require.NoError(t, err)
	require.Equal(t, "arn:aws:iam::123456789012:user/vault-v1-user", awsv1.StringValue(who.Arn))

	_, err = c.DeleteAccessKey(&iamv1.DeleteAccessKeyInput{UserName: u, AccessKeyId: key.AccessKey.AccessKeyId})
	require.NoError(t, err)
	_, err = c.DetachUserPolicy(&iamv1.DetachUserPolicyInput{UserName: u, PolicyArn: awsv1.String("arn:aws:iam::aws:policy/ReadOnlyAccess")})
	require.NoError(t, err)
	_, err = c.DeleteUserPolicy(&iamv1.DeleteUserPolicyInput{UserName: u, PolicyName: awsv1.String("inline")})
	require.NoError(t, err)
	_, err = c.DeleteUser(&iamv1.DeleteUserInput{UserName: u})
	require.NoError(t, err)

	_, err = c.GetUser(&iamv1.GetUserInput{UserName: u})
	require.ErrorAs(t, err, &ae)
	require.Equal(t, iamv1.ErrCodeNoSuchEntityException, ae.Code())
	require.Equal(t, 404, ae.StatusCode())

	// A wrong secret is refused for v1 as for v2.
	bad := sess.Copy(&awsv1.Config{Credentials: credsv1.NewStaticCredentials(ak, "wrong", "")})
	_, err = iamv1.New(bad).GetUser(&iamv1.GetUserInput{})
	require.ErrorAs(t, err, &ae)
	require.Equal(t, "SignatureDoesNotMatch", ae.Code())
	require.Equal(t, 403, ae.StatusCode())
}
