package aws_test

import (
	"context"
	"strings"
	"testing"

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

var ctx = context.Background()

// env is the plugin backend (in-process, in-memory storage) with the AWS
// driver configured against one awstest emulator.
type env struct {
	*plugintest.Backend
	ts    *awstest.TestServer
	admin *iam.Client // root-signed client for fixtures
}

// newEnv starts an emulator and a backend and writes config/aws with the
// emulator's endpoints and root key, plus extra config fields.
func newEnv(t *testing.T, opts awstest.Options, extra map[string]any) *env {
	t.Helper()
	return newEnvOn(t, awstest.Start(t, opts), extra)
}

// newEnvOn is newEnv with an emulator the test started itself (e.g.
// behind a handler that rewrites some answers).
func newEnvOn(t *testing.T, ts *awstest.TestServer, extra map[string]any) *env {
	t.Helper()
	e := &env{Backend: plugintest.New(t, providers.MustRegistry(aws.New())), ts: ts}
	ak, sk := ts.RootCredentials()
	cfg := map[string]any{
		"access_key": ak, "secret_key": sk,
		"iam_endpoint": ts.URL, "sts_endpoint": ts.URL,
		"max_retries": 10, "retry_max_backoff": "1s",
	}
	for k, v := range extra {
		cfg[k] = v
	}
	e.OK(logical.UpdateOperation, "config/aws", cfg)
	e.admin = iam.NewFromConfig(awsv2.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(ak, sk, "")},
		func(o *iam.Options) { o.BaseEndpoint = awsv2.String(ts.URL) })
	return e
}

// issue reads creds/aws/<role> and returns the response.
func (e *env) issue(role string, data map[string]any) *logical.Response {
	e.T.Helper()
	var op logical.Operation = logical.ReadOperation
	if data != nil {
		op = logical.UpdateOperation
	}
	resp := e.OK(op, "creds/aws/"+role, data)
	require.NotNil(e.T, resp)
	require.NotNil(e.T, resp.Secret)
	return resp
}

// vaultUsers returns the emulator's users made by the driver.
func (e *env) vaultUsers() []string {
	var out []string
	for _, n := range e.ts.UserNames() {
		if strings.HasPrefix(n, "vault-") {
			out = append(out, n)
		}
	}
	return out
}

// group and policy fixtures.
func (e *env) group(name string) {
	_, err := e.admin.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: &name})
	require.NoError(e.T, err)
}

func (e *env) policy(name string) string {
	out, err := e.admin.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: &name, PolicyDocument: awsv2.String(allowS3)})
	require.NoError(e.T, err)
	return awsv2.ToString(out.Policy.Arn)
}

func (e *env) role(name string) string {
	out, err := e.admin.CreateRole(ctx, &iam.CreateRoleInput{RoleName: &name,
		AssumeRolePolicyDocument: awsv2.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` +
			e.ts.AccountID() + `:root"},"Action":"sts:AssumeRole"}]}`),
		MaxSessionDuration: awsv2.Int32(43200)})
	require.NoError(e.T, err)
	return awsv2.ToString(out.Role.Arn)
}

// whoAmI calls STS GetCallerIdentity with a key (no retries) and returns
// the caller ARN.
func (e *env) whoAmI(ak, sk, token string) (string, error) {
	c := sts.NewFromConfig(awsv2.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(ak, sk, token),
		Retryer: func() awsv2.Retryer { return awsv2.NopRetryer{} }}, func(o *sts.Options) { o.BaseEndpoint = awsv2.String(e.ts.URL) })
	out, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", err
	}
	return awsv2.ToString(out.Arn), nil
}

const allowS3 = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::bucket/*"}]}`

// iamCalls sums the IAM call counts (every action but STS's).
func iamCalls(counts map[string]int) int {
	n := 0
	for a, c := range counts {
		if a != "GetCallerIdentity" && a != "AssumeRole" {
			n += c
		}
	}
	return n
}

func listCalls(counts map[string]int) int {
	n := 0
	for a, c := range counts {
		if strings.HasPrefix(a, "List") || strings.HasPrefix(a, "Get") {
			n += c
		}
	}
	return n
}
