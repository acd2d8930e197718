package awstest_test

import (
	"fmt"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
)

// TestPagination shows that every List* answers small pages with
// IsTruncated/Marker and that the SDK's paginators see every item once.
func TestPagination(t *testing.T) {
	ts := awstest.Start(t, awstest.Options{PageSize: 2})
	c := rootIAM(ts)
	u := aws.String("paged")
	_, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: u})
	require.NoError(t, err)

	var wantPolicies, wantInline, wantGroups, wantTags []string
	for i := range 5 {
		name := fmt.Sprint("pol", i)
		_, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(name), PolicyDocument: aws.String(allowS3)})
		require.NoError(t, err)
		arn := "arn:aws:iam::123456789012:policy/" + name
		_, err = c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: u, PolicyArn: aws.String(arn)})
		require.NoError(t, err)
		wantPolicies = append(wantPolicies, arn)

		_, err = c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: u, PolicyName: aws.String(name), PolicyDocument: aws.String(`{"Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}`)})
		require.NoError(t, err)
		wantInline = append(wantInline, name)

		g := fmt.Sprint("grp", i)
		_, err = c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String(g)})
		require.NoError(t, err)
		_, err = c.AddUserToGroup(ctx, &iam.AddUserToGroupInput{UserName: u, GroupName: aws.String(g)})
		require.NoError(t, err)
		wantGroups = append(wantGroups, g)

		wantTags = append(wantTags, fmt.Sprint("tag", i))
		_, err = c.TagUser(ctx, &iam.TagUserInput{UserName: u, Tags: []types.Tag{{Key: aws.String(fmt.Sprint("tag", i)), Value: aws.String("v")}}})
		require.NoError(t, err)
	}

	collect := func(t *testing.T, pages func() (items []string, truncated bool, marker *string, err error)) []string {
		t.Helper()
		var all []string
		for n := 0; ; n++ {
			items, truncated, marker, err := pages()
			require.NoError(t, err)
			require.LessOrEqual(t, len(items), 2, "page larger than PageSize")
			all = append(all, items...)
			if !truncated {
				require.Nil(t, marker)
				break
			}
			require.NotNil(t, marker)
			require.Less(t, n, 10)
		}
		sort.Strings(all)
		return all
	}

	t.Run("attached policies via SDK paginator", func(t *testing.T) {
		p := iam.NewListAttachedUserPoliciesPaginator(c, &iam.ListAttachedUserPoliciesInput{UserName: u})
		var got []string
		pages := 0
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			require.NoError(t, err)
			pages++
			for _, ap := range out.AttachedPolicies {
				got = append(got, aws.ToString(ap.PolicyArn))
			}
		}
		require.Equal(t, 3, pages)
		sort.Strings(got)
		require.Equal(t, wantPolicies, got)
	})
	t.Run("inline policies", func(t *testing.T) {
		in := &iam.ListUserPoliciesInput{UserName: u}
		got := collect(t, func() ([]string, bool, *string, error) {
			out, err := c.ListUserPolicies(ctx, in)
			if err != nil {
				return nil, false, nil, err
			}
			in.Marker = out.Marker
			return out.PolicyNames, out.IsTruncated, out.Marker, nil
		})
		require.Equal(t, wantInline, got)
	})
	t.Run("groups with MaxItems 1", func(t *testing.T) {
		in := &iam.ListGroupsForUserInput{UserName: u, MaxItems: aws.Int32(1)}
		calls := 0
		got := collect(t, func() ([]string, bool, *string, error) {
			calls++
			out, err := c.ListGroupsForUser(ctx, in)
			if err != nil {
				return nil, false, nil, err
			}
			in.Marker = out.Marker
			var names []string
			for _, g := range out.Groups {
				names = append(names, aws.ToString(g.GroupName))
			}
			return names, out.IsTruncated, out.Marker, nil
		})
		require.Equal(t, wantGroups, got)
		require.Equal(t, 5, calls)
	})
	t.Run("tags", func(t *testing.T) {
		in := &iam.ListUserTagsInput{UserName: u}
		got := collect(t, func() ([]string, bool, *string, error) {
			out, err := c.ListUserTags(ctx, in)
			if err != nil {
				return nil, false, nil, err
			}
			in.Marker = out.Marker
			var keys []string
			for _, tg := range out.Tags {
				keys = append(keys, aws.ToString(tg.Key))
			}
			return keys, out.IsTruncated, out.Marker, nil
		})
		require.Equal(t, wantTags, got)
	})
	t.Run("members of a group", func(t *testing.T) {
		for i := range 4 {
			name := aws.String(fmt.Sprint("member", i))
			_, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: name})
			require.NoError(t, err)
			_, err = c.AddUserToGroup(ctx, &iam.AddUserToGroupInput{UserName: name, GroupName: aws.String("grp0")})
			require.NoError(t, err)
		}
		p := iam.NewGetGroupPaginator(c, &iam.GetGroupInput{GroupName: aws.String("grp0")})
		var got []string
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			require.NoError(t, err)
			require.Equal(t, "grp0", aws.ToString(out.Group.GroupName))
			for _, m := range out.Users {
				got = append(got, aws.ToString(m.UserName))
			}
		}
		require.ElementsMatch(t, []string{"paged", "member0", "member1", "member2", "member3"}, got)
	})
	t.Run("deleting during pagination skips nothing that remains", func(t *testing.T) {
		first, err := c.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: u})
		require.NoError(t, err)
		require.True(t, first.IsTruncated)
		for _, ap := range first.AttachedPolicies {
			_, err := c.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: u, PolicyArn: ap.PolicyArn})
			require.NoError(t, err)
		}
		var rest []string
		in := &iam.ListAttachedUserPoliciesInput{UserName: u, Marker: first.Marker}
		for {
			out, err := c.ListAttachedUserPolicies(ctx, in)
			require.NoError(t, err)
			for _, ap := range out.AttachedPolicies {
				rest = append(rest, aws.ToString(ap.PolicyArn))
			}
			if !out.IsTruncated {
				break
			}
			in.Marker = out.Marker
		}
		require.Equal(t, wantPolicies[2:], rest)
	})
	t.Run("every other List* paginates", func(t *testing.T) {
		for range 2 {
			_, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: u})
			require.NoError(t, err)
			_, err = c.UploadSSHPublicKey(ctx, &iam.UploadSSHPublicKeyInput{UserName: u, SSHPublicKeyBody: aws.String(awstest.SSHPublicKey(t, 2048))})
			require.NoError(t, err)
			_, err = c.CreateServiceSpecificCredential(ctx, &iam.CreateServiceSpecificCredentialInput{UserName: u, ServiceName: aws.String("cassandra.amazonaws.com")})
			require.NoError(t, err)
			_, err = c.UploadSigningCertificate(ctx, &iam.UploadSigningCertificateInput{UserName: u, CertificateBody: aws.String(awstest.SigningCertificatePEM(t))})
			require.NoError(t, err)
		}
		_, err = c.UploadSSHPublicKey(ctx, &iam.UploadSSHPublicKeyInput{UserName: u, SSHPublicKeyBody: aws.String(awstest.SSHPublicKey(t, 2048))})
		require.NoError(t, err)
		for i := range 3 {
			dev, err := c.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String(fmt.Sprint("dev", i))})
			require.NoError(t, err)
			_, err = c.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: u, SerialNumber: dev.VirtualMFADevice.SerialNumber,
				AuthenticationCode1: aws.String("111111"), AuthenticationCode2: aws.String("222222")})
			require.NoError(t, err)
		}

		keys, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: u, MaxItems: aws.Int32(1)})
		require.NoError(t, err)
		require.True(t, keys.IsTruncated)
		require.Len(t, keys.AccessKeyMetadata, 1)

		ssh, err := c.ListSSHPublicKeys(ctx, &iam.ListSSHPublicKeysInput{UserName: u})
		require.NoError(t, err)
		require.True(t, ssh.IsTruncated)
		ssh2, err := c.ListSSHPublicKeys(ctx, &iam.ListSSHPublicKeysInput{UserName: u, Marker: ssh.Marker})
		require.NoError(t, err)
		require.False(t, ssh2.IsTruncated)
		require.Len(t, append(ssh.SSHPublicKeys, ssh2.SSHPublicKeys...), 3)

		mfa := iam.NewListMFADevicesPaginator(c, &iam.ListMFADevicesInput{UserName: u})
		n := 0
		for mfa.HasMorePages() {
			out, err := mfa.NextPage(ctx)
			require.NoError(t, err)
			n += len(out.MFADevices)
		}
		require.Equal(t, 3, n)

		certs, err := c.ListSigningCertificates(ctx, &iam.ListSigningCertificatesInput{UserName: u, MaxItems: aws.Int32(1)})
		require.NoError(t, err)
		require.True(t, certs.IsTruncated)
		creds, err := c.ListServiceSpecificCredentials(ctx, &iam.ListServiceSpecificCredentialsInput{UserName: u})
		require.NoError(t, err)
		require.Len(t, creds.ServiceSpecificCredentials, 2)

		users := iam.NewListUsersPaginator(c, &iam.ListUsersInput{})
		n = 0
		for users.HasMorePages() {
			out, err := users.NextPage(ctx)
			require.NoError(t, err)
			n += len(out.Users)
		}
		require.Equal(t, len(ts.UserNames()), n)
	})
	t.Run("bad MaxItems", func(t *testing.T) {
		_, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: u, MaxItems: aws.Int32(0)})
		requireAPIError(t, err, "ValidationError", 400)
	})
}
