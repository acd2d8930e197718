package awstest_test

import (
	"fmt"
	"net/url"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
)

// GetAccountAuthorizationDetails answers as the IAM API model says: the
// entities of the Filter's types, in pages of IsTruncated/Marker that the
// SDK's paginator follows to the end, each user with its path, id,
// creation date, tags (which ListUsers does not return), inline policies
// (URL-encoded), groups, managed policies and boundary; a Filter value
// outside EntityType and a MaxItems outside 1..1000 are ValidationErrors.
func TestGetAccountAuthorizationDetails(t *testing.T) {
	ts := awstest.Start(t, awstest.Options{PageSize: 2})
	c := rootIAM(ts)
	_, err := c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("devs")})
	require.NoError(t, err)
	pol, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("mine"), PolicyDocument: aws.String(allowS3)})
	require.NoError(t, err)
	_, err = c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(trustAccount("123456789012"))})
	require.NoError(t, err)
	var names []string
	for i := range 5 {
		name := fmt.Sprint("u", i)
		_, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name), Path: aws.String(fmt.Sprintf("/p%d/", i)),
			Tags: []types.Tag{{Key: aws.String("n"), Value: aws.String(name)}, {Key: aws.String("x"), Value: aws.String("")}}})
		require.NoError(t, err)
		names = append(names, name)
	}
	_, err = c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("u1"), PolicyName: aws.String("inl"), PolicyDocument: aws.String(allowS3)})
	require.NoError(t, err)
	_, err = c.AddUserToGroup(ctx, &iam.AddUserToGroupInput{UserName: aws.String("u1"), GroupName: aws.String("devs")})
	require.NoError(t, err)
	_, err = c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("u1"), PolicyArn: pol.Policy.Arn})
	require.NoError(t, err)
	names = append(names, awstest.RootUserName)
	sort.Strings(names)

	t.Run("users", func(t *testing.T) {
		before := ts.Core().Count("GetAccountAuthorizationDetails")
		pg := iam.NewGetAccountAuthorizationDetailsPaginator(c, &iam.GetAccountAuthorizationDetailsInput{Filter: []types.EntityType{types.EntityTypeUser}, MaxItems: aws.Int32(1000)})
		var got []string
		pages := 0
		for pg.HasMorePages() {
			page, err := pg.NextPage(ctx)
			require.NoError(t, err)
			pages++
			require.LessOrEqual(t, len(page.UserDetailList), 2, "pages are at most PageSize long")
			require.Empty(t, page.GroupDetailList)
			require.Empty(t, page.RoleDetailList)
			require.Empty(t, page.Policies)
			for _, u := range page.UserDetailList {
				got = append(got, aws.ToString(u.UserName))
				if aws.ToString(u.UserName) == awstest.RootUserName {
					continue
				}
				snap, ok := ts.User(aws.ToString(u.UserName))
				require.True(t, ok)
				require.Equal(t, snap.UserID, aws.ToString(u.UserId))
				require.Equal(t, snap.Path, aws.ToString(u.Path))
				require.Equal(t, snap.ARN, aws.ToString(u.Arn))
				require.WithinDuration(t, snap.CreateDate, aws.ToTime(u.CreateDate), 1e9)
				require.Equal(t, []types.Tag{{Key: aws.String("n"), Value: u.UserName}, {Key: aws.String("x"), Value: aws.String("")}}, u.Tags)
				if aws.ToString(u.UserName) != "u1" {
					require.Empty(t, u.UserPolicyList)
					require.Empty(t, u.GroupList)
					require.Empty(t, u.AttachedManagedPolicies)
					continue
				}
				require.Len(t, u.UserPolicyList, 1)
				require.Equal(t, "inl", aws.ToString(u.UserPolicyList[0].PolicyName))
				doc, err := url.QueryUnescape(aws.ToString(u.UserPolicyList[0].PolicyDocument))
				require.NoError(t, err)
				require.Equal(t, allowS3, doc, "policy documents are URL-encoded (RFC 3986)")
				require.Equal(t, []string{"devs"}, u.GroupList)
				require.Equal(t, []types.AttachedPolicy{{PolicyName: aws.String("mine"), PolicyArn: pol.Policy.Arn}}, u.AttachedManagedPolicies)
			}
		}
		require.Equal(t, names, got, "every user once, in order")
		require.Equal(t, 3, pages)
		require.Equal(t, 3, ts.Core().Count("GetAccountAuthorizationDetails")-before)
	})

	t.Run("other types", func(t *testing.T) {
		count := func(filter ...types.EntityType) (users, groups, roles, local, awsManaged int) {
			pg := iam.NewGetAccountAuthorizationDetailsPaginator(c, &iam.GetAccountAuthorizationDetailsInput{Filter: filter})
			for pg.HasMorePages() {
				page, err := pg.NextPage(ctx)
				require.NoError(t, err)
				users += len(page.UserDetailList)
				groups += len(page.GroupDetailList)
				roles += len(page.RoleDetailList)
				for _, p := range page.Policies {
					require.Len(t, p.PolicyVersionList, 1)
					require.True(t, p.PolicyVersionList[0].IsDefaultVersion)
					if aws.ToString(p.Arn) == aws.ToString(pol.Policy.Arn) {
						local++
						require.Equal(t, int32(1), aws.ToInt32(p.AttachmentCount))
					} else {
						awsManaged++
					}
				}
			}
			return
		}
		u, g, r, l, a := count()
		require.Equal(t, []int{6, 1, 1, 1, 7}, []int{u, g, r, l, a}, "no Filter: every type")
		u, g, r, l, a = count(types.EntityTypeGroup, types.EntityTypeLocalManagedPolicy)
		require.Equal(t, []int{0, 1, 0, 1, 0}, []int{u, g, r, l, a})
		u, g, r, l, a = count(types.EntityTypeRole, types.EntityTypeAWSManagedPolicy)
		require.Equal(t, []int{0, 0, 1, 0, 7}, []int{u, g, r, l, a})
	})

	t.Run("errors", func(t *testing.T) {
		_, err := c.GetAccountAuthorizationDetails(ctx, &iam.GetAccountAuthorizationDetailsInput{Filter: []types.EntityType{"User", "Users"}})
		requireAPIError(t, err, "ValidationError", 400)
		require.ErrorContains(t, err, "Value '[User, Users]' at 'filter' failed to satisfy constraint")
		_, err = c.GetAccountAuthorizationDetails(ctx, &iam.GetAccountAuthorizationDetailsInput{MaxItems: aws.Int32(1001)})
		requireAPIError(t, err, "ValidationError", 400)
		_, err = c.GetAccountAuthorizationDetails(ctx, &iam.GetAccountAuthorizationDetailsInput{Marker: aws.String("!!")})
		requireAPIError(t, err, "ValidationError", 400)
	})
}

// With EnforcePolicies, GetAccountAuthorizationDetails needs
// iam:GetAccountAuthorizationDetails on Resource "*" (it has no resource
// type), and CreateUser with tags needs iam:TagUser as well.
func TestEnforcePoliciesAuthorizationDetails(t *testing.T) {
	ts := awstest.Start(t, awstest.Options{EnforcePolicies: true})
	root := rootIAM(ts)
	mk := func(name, policy string) *iam.Client {
		_, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)})
		require.NoError(t, err)
		_, err = root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String("p"), PolicyDocument: aws.String(policy)})
		require.NoError(t, err)
		key, err := root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
		require.NoError(t, err)
		return iamClient(ts, aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey), clientOpts{})
	}
	allowed := mk("auditor", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetAccountAuthorizationDetails","Resource":"*"}]}`)
	denied := mk("lister", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:ListUsers","iam:CreateUser"],"Resource":"arn:aws:iam::123456789012:user/*"}]}`)

	_, err := allowed.GetAccountAuthorizationDetails(ctx, &iam.GetAccountAuthorizationDetailsInput{Filter: []types.EntityType{types.EntityTypeUser}})
	require.NoError(t, err)
	_, err = denied.GetAccountAuthorizationDetails(ctx, &iam.GetAccountAuthorizationDetailsInput{Filter: []types.EntityType{types.EntityTypeUser}})
	requireDenied(t, err, "User: arn:aws:iam::123456789012:user/lister is not authorized to perform: iam:GetAccountAuthorizationDetails on resource: * because no identity-based policy allows the iam:GetAccountAuthorizationDetails action")
	_, err = denied.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("x"), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	requireDenied(t, err, "User: arn:aws:iam::123456789012:user/lister is not authorized to perform: iam:TagUser on resource: arn:aws:iam::123456789012:user/x because no identity-based policy allows the iam:TagUser action")
}
