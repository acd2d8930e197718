package awstest_test

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
)

func TestUserLifecycle(t *testing.T) {
	ts := awstest.Start(t, awstest.Options{})
	c := rootIAM(ts)
	before := ts.State()

	boundary := "arn:aws:iam::aws:policy/PowerUserAccess"
	out, err := c.CreateUser(ctx, &iam.CreateUserInput{
		UserName: aws.String("alice"), Path: aws.String("/vault/"), PermissionsBoundary: aws.String(boundary),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("core")}, {Key: aws.String("env"), Value: aws.String("ci")}},
	})
	require.NoError(t, err)
	require.Equal(t, "arn:aws:iam::123456789012:user/vault/alice", aws.ToString(out.User.Arn))
	require.Equal(t, boundary, aws.ToString(out.User.PermissionsBoundary.PermissionsBoundaryArn))
	require.Len(t, out.User.Tags, 2)

	got, err := c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("ALICE")}) // names are case-insensitive
	require.NoError(t, err)
	require.Equal(t, "alice", aws.ToString(got.User.UserName))
	require.Equal(t, "/vault/", aws.ToString(got.User.Path))

	_, err = c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("s3-read"), PolicyDocument: aws.String(allowS3)})
	require.NoError(t, err)
	for _, arn := range []string{"arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::123456789012:policy/s3-read"} {
		_, err = c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("alice"), PolicyArn: aws.String(arn)})
		require.NoError(t, err)
	}
	_, err = c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("inline"),
		PolicyDocument: aws.String(allowS3)})
	require.NoError(t, err)
	pol, err := c.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("inline")})
	require.NoError(t, err)
	doc, err := url.QueryUnescape(aws.ToString(pol.PolicyDocument)) // IAM returns documents URL-encoded
	require.NoError(t, err)
	require.JSONEq(t, allowS3, doc)
	require.NotEqual(t, allowS3, aws.ToString(pol.PolicyDocument))

	_, err = c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("devs")})
	require.NoError(t, err)
	_, err = c.AddUserToGroup(ctx, &iam.AddUserToGroupInput{UserName: aws.String("alice"), GroupName: aws.String("devs")})
	require.NoError(t, err)
	key, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("alice")})
	require.NoError(t, err)
	require.Regexp(t, `^AKIA[A-Z2-7]{16}$`, aws.ToString(key.AccessKey.AccessKeyId))
	require.Len(t, aws.ToString(key.AccessKey.SecretAccessKey), 40)

	snap, ok := ts.User("alice")
	require.True(t, ok)
	require.Equal(t, "/vault/", snap.Path)
	require.Equal(t, boundary, snap.Boundary)
	require.Equal(t, []awstest.Tag{{Key: "team", Value: "core"}, {Key: "env", Value: "ci"}}, snap.Tags)
	require.Equal(t, []string{"arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::123456789012:policy/s3-read"}, snap.ManagedPolicies)
	require.Equal(t, map[string]string{"inline": allowS3}, snap.InlinePolicies)
	require.Equal(t, []string{"devs"}, snap.Groups)
	require.Equal(t, []awstest.AccessKey{{ID: aws.ToString(key.AccessKey.AccessKeyId), Status: "Active"}}, snap.AccessKeys)
	snap.Tags[0].Key = "mutated" // a snapshot is a deep copy
	again, _ := ts.User("alice")
	require.Equal(t, "team", again.Tags[0].Key)

	_, err = c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("alice")})
	requireAPIError(t, err, "DeleteConflict", 409)

	_, err = c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: key.AccessKey.AccessKeyId})
	require.NoError(t, err)
	for _, arn := range snap.ManagedPolicies {
		_, err = c.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: aws.String("alice"), PolicyArn: aws.String(arn)})
		require.NoError(t, err)
	}
	_, err = c.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("inline")})
	require.NoError(t, err)
	_, err = c.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{UserName: aws.String("alice"), GroupName: aws.String("devs")})
	require.NoError(t, err)
	_, err = c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("alice")})
	require.NoError(t, err)
	_, err = c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("alice")})
	requireAPIError(t, err, "NoSuchEntity", 404)

	_, err = c.DeleteGroup(ctx, &iam.DeleteGroupInput{GroupName: aws.String("devs")})
	require.NoError(t, err)
	_, err = c.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String("arn:aws:iam::123456789012:policy/s3-read")})
	require.NoError(t, err)
	require.Equal(t, before, ts.State())
}

// TestDeleteConflictPerAttachment shows that each kind of attachment alone
// blocks DeleteUser, and that removing it unblocks it.
func TestDeleteConflictPerAttachment(t *testing.T) {
	ts := awstest.Start(t, awstest.Options{})
	c := rootIAM(ts)
	_, err := c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("g")})
	require.NoError(t, err)
	u := aws.String("bob")

	tests := []struct {
		name   string
		attach func(t *testing.T) func() error // returns the undo
	}{
		{"access key", func(t *testing.T) func() error {
			out, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: u})
			require.NoError(t, err)
			return func() error {
				_, err := c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: u, AccessKeyId: out.AccessKey.AccessKeyId})
				return err
			}
		}},
		{"managed policy", func(t *testing.T) func() error {
			arn := aws.String("arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess")
			_, err := c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: u, PolicyArn: arn})
			require.NoError(t, err)
			return func() error {
				_, err := c.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: u, PolicyArn: arn})
				return err
			}
		}},
		{"inline policy", func(t *testing.T) func() error {
			_, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: u, PolicyName: aws.String("p"), PolicyDocument: aws.String(allowS3)})
			require.NoError(t, err)
			return func() error {
				_, err := c.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: u, PolicyName: aws.String("p")})
				return err
			}
		}},
		{"group", func(t *testing.T) func() error {
			_, err := c.AddUserToGroup(ctx, &iam.AddUserToGroupInput{UserName: u, GroupName: aws.String("g")})
			require.NoError(t, err)
			return func() error {
				_, err := c.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{UserName: u, GroupName: aws.String("g")})
				return err
			}
		}},
		{"login profile", func(t *testing.T) func() error {
			_, err := c.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: u, Password: aws.String("Sup3r-Secret!")})
			require.NoError(t, err)
			_, err = c.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: u})
			require.NoError(t, err)
			return func() error {
				_, err := c.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{UserName: u})
				return err
			}
		}},
		{"mfa device", func(t *testing.T) func() error {
			dev, err := c.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String("bob-mfa")})
			require.NoError(t, err)
			require.NotEmpty(t, dev.VirtualMFADevice.Base32StringSeed)
			serial := dev.VirtualMFADevice.SerialNumber
			_, err = c.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: u, SerialNumber: serial,
				AuthenticationCode1: aws.String("123456"), AuthenticationCode2: aws.String("654321")})
			require.NoError(t, err)
			_, err = c.DeleteVirtualMFADevice(ctx, &iam.DeleteVirtualMFADeviceInput{SerialNumber: serial})
			requireAPIError(t, err, "DeleteConflict", 409)
			return func() error {
				if _, err := c.DeactivateMFADevice(ctx, &iam.DeactivateMFADeviceInput{UserName: u, SerialNumber: serial}); err != nil {
					return err
				}
				_, err := c.DeleteVirtualMFADevice(ctx, &iam.DeleteVirtualMFADeviceInput{SerialNumber: serial})
				return err
			}
		}},
		{"ssh public key", func(t *testing.T) func() error {
			out, err := c.UploadSSHPublicKey(ctx, &iam.UploadSSHPublicKeyInput{UserName: u, SSHPublicKeyBody: aws.String(awstest.SSHPublicKey(t, 2048))})
			require.NoError(t, err)
			require.Regexp(t, `^([0-9a-f]{2}:){15}[0-9a-f]{2}$`, aws.ToString(out.SSHPublicKey.Fingerprint))
			return func() error {
				_, err := c.DeleteSSHPublicKey(ctx, &iam.DeleteSSHPublicKeyInput{UserName: u, SSHPublicKeyId: out.SSHPublicKey.SSHPublicKeyId})
				return err
			}
		}},
		{"signing certificate", func(t *testing.T) func() error {
			out, err := c.UploadSigningCertificate(ctx, &iam.UploadSigningCertificateInput{UserName: u, CertificateBody: aws.String(awstest.SigningCertificatePEM(t))})
			require.NoError(t, err)
			return func() error {
				_, err := c.DeleteSigningCertificate(ctx, &iam.DeleteSigningCertificateInput{UserName: u, CertificateId: out.Certificate.CertificateId})
				return err
			}
		}},
		{"service-specific credential", func(t *testing.T) func() error {
			out, err := c.CreateServiceSpecificCredential(ctx, &iam.CreateServiceSpecificCredentialInput{UserName: u, ServiceName: aws.String("codecommit.amazonaws.com")})
			require.NoError(t, err)
			require.NotEmpty(t, aws.ToString(out.ServiceSpecificCredential.ServicePassword))
			return func() error {
				_, err := c.DeleteServiceSpecificCredential(ctx, &iam.DeleteServiceSpecificCredentialInput{UserName: u,
					ServiceSpecificCredentialId: out.ServiceSpecificCredential.ServiceSpecificCredentialId})
				return err
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: u})
			require.NoError(t, err)
			undo := tc.attach(t)
			_, err = c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: u})
			requireAPIError(t, err, "DeleteConflict", 409)
			require.NoError(t, undo())
			_, err = c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: u})
			require.NoError(t, err)
		})
	}
}

// TestValidationAndLimits covers IAM's documented names, limits and error
// codes, each with its HTTP status.
func TestValidationAndLimits(t *testing.T) {
	ts := awstest.Start(t, awstest.Options{})
	c := rootIAM(ts)
	_, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("carol")})
	require.NoError(t, err)
	carol := aws.String("carol")
	big := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` +
		fmt.Sprintf("%02100d", 0) + `"}]}`

	tests := []struct {
		name   string
		call   func() error
		code   string
		status int
	}{
		{"name too long", func() error {
			_, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(fmt.Sprintf("%065d", 0))})
			return err
		}, "ValidationError", 400},
		{"name bad characters", func() error {
			_, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("bad/name")})
			return err
		}, "ValidationError", 400},
		{"path without trailing slash", func() error {
			_, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("x"), Path: aws.String("/no-trailing")})
			return err
		}, "ValidationError", 400},
		{"duplicate name, other case", func() error {
			_, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("CAROL")})
			return err
		}, "EntityAlreadyExists", 409},
		{"unknown boundary", func() error {
			_, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("y"), PermissionsBoundary: aws.String("arn:aws:iam::123456789012:policy/nope")})
			return err
		}, "NoSuchEntity", 404},
		{"too many tags", func() error {
			var tags []types.Tag
			for i := range 51 {
				tags = append(tags, types.Tag{Key: aws.String(fmt.Sprint("k", i)), Value: aws.String("v")})
			}
			_, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("z"), Tags: tags})
			return err
		}, "ValidationError", 400},
		{"duplicate tag keys", func() error {
			_, err := c.TagUser(ctx, &iam.TagUserInput{UserName: carol, Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("A"), Value: aws.String("2")}}})
			return err
		}, "InvalidInput", 400},
		{"unknown user", func() error {
			_, err := c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("nobody")})
			return err
		}, "NoSuchEntity", 404},
		{"attach unknown policy", func() error {
			_, err := c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: carol, PolicyArn: aws.String("arn:aws:iam::aws:policy/NoSuchPolicy")})
			return err
		}, "NoSuchEntity", 404},
		{"attach malformed arn", func() error {
			_, err := c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: carol, PolicyArn: aws.String("not-an-arn-at-all-really")})
			return err
		}, "InvalidInput", 400},
		{"detach not attached", func() error {
			_, err := c.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: carol, PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")})
			return err
		}, "NoSuchEntity", 404},
		{"inline policy not JSON", func() error {
			_, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: carol, PolicyName: aws.String("p"), PolicyDocument: aws.String("{not json")})
			return err
		}, "MalformedPolicyDocument", 400},
		{"inline policy with principal", func() error {
			_, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: carol, PolicyName: aws.String("p"),
				PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}}`)})
			return err
		}, "MalformedPolicyDocument", 400},
		{"inline policy too large", func() error {
			_, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: carol, PolicyName: aws.String("p"), PolicyDocument: aws.String(big)})
			return err
		}, "LimitExceeded", 409},
		{"unknown inline policy", func() error {
			_, err := c.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: carol, PolicyName: aws.String("nope")})
			return err
		}, "NoSuchEntity", 404},
		{"missing user name", func() error {
			_, err := c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("")})
			return err
		}, "ValidationError", 400},
		{"ssh key too short", func() error {
			_, err := c.UploadSSHPublicKey(ctx, &iam.UploadSSHPublicKeyInput{UserName: carol, SSHPublicKeyBody: aws.String(awstest.SSHPublicKey(t, 1024))})
			return err
		}, "InvalidPublicKey", 400},
		{"ssh key garbage", func() error {
			_, err := c.UploadSSHPublicKey(ctx, &iam.UploadSSHPublicKeyInput{UserName: carol, SSHPublicKeyBody: aws.String("garbage")})
			return err
		}, "UnrecognizedPublicKeyEncoding", 400},
		{"certificate garbage", func() error {
			_, err := c.UploadSigningCertificate(ctx, &iam.UploadSigningCertificateInput{UserName: carol, CertificateBody: aws.String("garbage")})
			return err
		}, "MalformedCertificate", 400},
		{"unsupported credential service", func() error {
			_, err := c.CreateServiceSpecificCredential(ctx, &iam.CreateServiceSpecificCredentialInput{UserName: carol, ServiceName: aws.String("s3.amazonaws.com")})
			return err
		}, "NotSupportedService", 404},
		{"delete aws managed policy", func() error {
			_, err := c.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")})
			return err
		}, "AccessDenied", 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			requireAPIError(t, tc.call(), tc.code, tc.status)
		})
	}

	t.Run("quotas", func(t *testing.T) {
		// 10 managed policies per user.
		for i := range 10 {
			_, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(fmt.Sprint("p", i)), PolicyDocument: aws.String(allowS3)})
			require.NoError(t, err)
			_, err = c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: carol, PolicyArn: aws.String(fmt.Sprint("arn:aws:iam::123456789012:policy/p", i))})
			require.NoError(t, err)
		}
		_, err := c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: carol, PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")})
		requireAPIError(t, err, "LimitExceeded", 409)
		_, err = c.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String("arn:aws:iam::123456789012:policy/p0")})
		requireAPIError(t, err, "DeleteConflict", 409)

		// 10 groups per user.
		for i := range 10 {
			g := aws.String(fmt.Sprint("g", i))
			_, err := c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: g})
			require.NoError(t, err)
			_, err = c.AddUserToGroup(ctx, &iam.AddUserToGroupInput{UserName: carol, GroupName: g})
			require.NoError(t, err)
		}
		_, err = c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("g10")})
		require.NoError(t, err)
		_, err = c.AddUserToGroup(ctx, &iam.AddUserToGroupInput{UserName: carol, GroupName: aws.String("g10")})
		requireAPIError(t, err, "LimitExceeded", 409)
		_, err = c.DeleteGroup(ctx, &iam.DeleteGroupInput{GroupName: aws.String("g0")})
		requireAPIError(t, err, "DeleteConflict", 409)

		// 2 access keys per user.
		for range 2 {
			_, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: carol})
			require.NoError(t, err)
		}
		_, err = c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: carol})
		requireAPIError(t, err, "LimitExceeded", 409)

		// The 2048-character inline budget is per user, summed over policies.
		doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` +
			fmt.Sprintf("%01100d", 0) + `"}]}`
		_, err = c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: carol, PolicyName: aws.String("a"), PolicyDocument: aws.String(doc)})
		require.NoError(t, err)
		_, err = c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: carol, PolicyName: aws.String("a"), PolicyDocument: aws.String(doc)})
		require.NoError(t, err, "replacing a policy does not count it twice")
		_, err = c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: carol, PolicyName: aws.String("b"), PolicyDocument: aws.String(doc)})
		requireAPIError(t, err, "LimitExceeded", 409)

		// 50 tags per user in total.
		var tags []types.Tag
		for i := range 50 {
			tags = append(tags, types.Tag{Key: aws.String(fmt.Sprint("k", i)), Value: aws.String("v")})
		}
		_, err = c.TagUser(ctx, &iam.TagUserInput{UserName: carol, Tags: tags})
		require.NoError(t, err)
		_, err = c.TagUser(ctx, &iam.TagUserInput{UserName: carol, Tags: []types.Tag{{Key: aws.String("one-more"), Value: aws.String("v")}}})
		requireAPIError(t, err, "LimitExceeded", 409)
	})
}
