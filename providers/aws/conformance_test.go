package aws_test

import (
	"testing"

	awsv2 "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/providertest/conformance"
)

// TestConformance runs the driver contract against awstest: an iam_user
// role with every kind of attachment and an assumed_role role, and a
// second account behind the same endpoint as the other target.
func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.Harness{
		Driver: aws.New(),
		Start: func(t *testing.T) *conformance.Env {
			ts := awstest.Start(t, awstest.Options{})
			ak, sk := ts.RootCredentials()
			akB, skB := ts.AddAccount(accountB)
			admin := iam.NewFromConfig(awsv2.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(ak, sk, "")},
				func(o *iam.Options) { o.BaseEndpoint = awsv2.String(ts.URL) })
			pol, err := admin.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: awsv2.String("p1"), PolicyDocument: awsv2.String(allowS3)})
			require.NoError(t, err)
			_, err = admin.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: awsv2.String("devs")})
			require.NoError(t, err)
			role, err := admin.CreateRole(ctx, &iam.CreateRoleInput{RoleName: awsv2.String("deploy"),
				AssumeRolePolicyDocument: awsv2.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`)})
			require.NoError(t, err)
			cfg := func(ak, sk string) providers.Values {
				return providers.Values{"access_key": ak, "secret_key": sk, "iam_endpoint": ts.URL, "sts_endpoint": ts.URL, "max_retries": 0}
			}
			return &conformance.Env{
				Config: cfg(ak, sk),
				Roles: []conformance.Role{
					{Name: "user", CredentialType: aws.CredentialIAMUser, Values: providers.Values{
						"policy_arns": []string{awsv2.ToString(pol.Policy.Arn)}, "policy_document": allowS3,
						"iam_groups": []string{"devs"}, "iam_tags": map[string]string{"team": "core"},
					}},
					{Name: "session", CredentialType: aws.CredentialAssumedRole, Values: providers.Values{"role_arns": []string{awsv2.ToString(role.Role.Arn)}}},
				},
				State: func() map[string]int {
					st := ts.State()
					delete(st, "sessions") // STS sessions expire by themselves
					return st
				},
				Faults:        ts.Core(),
				CreateActions: map[string][]string{aws.CredentialIAMUser: {"CreateUser", "AttachUserPolicy", "PutUserPolicy", "AddUserToGroup", "CreateAccessKey"}},
				DeleteActions: []string{"DeleteUser", "DeleteAccessKey", "DetachUserPolicy", "DeleteUserPolicy", "RemoveUserFromGroup"},
				Use: func(t *testing.T, _ string, data map[string]any) {
					token, _ := data["session_token"].(string)
					e := &env{ts: ts}
					_, err := e.whoAmI(data["access_key"].(string), data["secret_key"].(string), token)
					require.NoError(t, err, "the issued credential signs requests AWS accepts")
				},
				OtherTarget: cfg(akB, skB),
			}
		},
	})
}
