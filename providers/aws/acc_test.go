package aws_test

import (
	"context"
	"os"
	"testing"
	"time"

	awsv2 "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/providertest/conformance"
)

// Acceptance tests (make testacc): the conformance suite against a real
// AWS account, with the account's own variables — the SDK's default
// credential chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE,
// ...), AWS_REGION, and optionally AWS_ENDPOINT_URL_IAM/_STS — plus:
//
//	VAULT_ACC=1                   run them (else they skip)
//	VAULT_ACC_AWS_ROLE_ARN        an IAM role the credential may assume (required)
//	VAULT_ACC_AWS_POLICY_ARN      a managed policy for the IAM users
//	                              (default arn:aws:iam::aws:policy/ReadOnlyAccess)
//
// Every user is made under the IAM path /vault-acc/ and is gone when the
// test ends. The credential needs the minimal policy of docs/providers/aws.md.

// accUserPath is the IAM path of the acceptance tests' users.
const accUserPath = "/vault-acc/"

func TestAcceptance(t *testing.T) {
	if os.Getenv("VAULT_ACC") != "1" {
		t.Skip("acceptance tests against a real AWS account run with VAULT_ACC=1 (see make testacc)")
	}
	if os.Getenv("VAULT_ACC_AWS_ROLE_ARN") == "" {
		t.Skip("set VAULT_ACC_AWS_ROLE_ARN to an IAM role the credential may assume, and AWS credentials (the SDK's default chain)")
	}
	conformance.Run(t, conformance.Harness{Driver: aws.New(), Start: accEnvAWS})
}

// TestAcceptanceAgainstTheEmulator runs the acceptance code, unchanged,
// against awstest reached through the same variables, so the path
// operators run stays working.
func TestAcceptanceAgainstTheEmulator(t *testing.T) {
	ts := awstest.Start(t, awstest.Options{})
	ak, sk := ts.RootCredentials()
	admin := iam.NewFromConfig(awsv2.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(ak, sk, "")},
		func(o *iam.Options) { o.BaseEndpoint = awsv2.String(ts.URL) })
	role, err := admin.CreateRole(context.Background(), &iam.CreateRoleInput{RoleName: awsv2.String("vault-acc"),
		AssumeRolePolicyDocument: awsv2.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + ts.AccountID() + `:root"},"Action":"sts:AssumeRole"}]}`)})
	require.NoError(t, err)
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": ak, "AWS_SECRET_ACCESS_KEY": sk, "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull, "AWS_CA_BUNDLE": "",
		"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL_IAM": ts.URL, "AWS_ENDPOINT_URL_STS": ts.URL,
		"VAULT_ACC_AWS_ROLE_ARN": awsv2.ToString(role.Role.Arn), "VAULT_ACC_AWS_POLICY_ARN": "",
	} {
		t.Setenv(k, v)
	}
	conformance.Run(t, conformance.Harness{Driver: aws.New(), Start: accEnvAWS})
}

// accEnvAWS describes the account of the environment to the suite.
func accEnvAWS(t *testing.T) *conformance.Env {
	roleARN := os.Getenv("VAULT_ACC_AWS_ROLE_ARN")
	if roleARN == "" {
		t.Skip("set VAULT_ACC_AWS_ROLE_ARN to an IAM role the credential may assume")
	}
	policyARN := os.Getenv("VAULT_ACC_AWS_POLICY_ARN")
	if policyARN == "" {
		policyARN = "arn:aws:iam::aws:policy/ReadOnlyAccess"
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	require.NoError(t, err, "the SDK's default configuration")
	if _, err := cfg.Credentials.Retrieve(context.Background()); err != nil {
		t.Skipf("no AWS credentials in the environment: %v", err)
	}
	admin := iam.NewFromConfig(cfg)
	users := func() map[string]int {
		n := 0
		p := iam.NewListUsersPaginator(admin, &iam.ListUsersInput{PathPrefix: awsv2.String(accUserPath)})
		for p.HasMorePages() {
			page, err := p.NextPage(context.Background())
			require.NoError(t, err, "ListUsers")
			n += len(page.Users)
		}
		return map[string]int{"users": n}
	}
	return &conformance.Env{
		Config: providers.Values{"region": cfg.Region},
		Roles: []conformance.Role{
			{Name: "acc-user", CredentialType: aws.CredentialIAMUser, Values: providers.Values{
				"policy_arns": []string{policyARN}, "user_path": accUserPath, "wait_until_usable": true,
			}},
			{Name: "acc-session", CredentialType: aws.CredentialAssumedRole, Values: providers.Values{"role_arns": []string{roleARN}}},
		},
		State: users,
		Use: func(t *testing.T, _ string, data map[string]any) {
			token, _ := data["session_token"].(string)
			c := sts.NewFromConfig(cfg, func(o *sts.Options) {
				o.Credentials = credentials.NewStaticCredentialsProvider(data["access_key"].(string), data["secret_key"].(string), token)
			})
			deadline := time.Now().Add(30 * time.Second)
			for {
				_, err := c.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
				if err == nil {
					return
				}
				require.True(t, time.Now().Before(deadline), "the issued credential is not accepted by STS: %v", err)
				time.Sleep(time.Second)
			}
		},
		// STS sessions live at least 15 minutes, within a role's default
		// MaxSessionDuration of one hour.
		TTL: 15 * time.Minute,
	}
}
