package aws_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	awsv2 "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/plugin"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
)

var ctx = context.Background()

// env is the plugin backend (in-process, in-memory storage) with the AWS
// driver configured against one awstest emulator.
type env struct {
	t       *testing.T
	ts      *awstest.TestServer
	storage logical.Storage
	b       logical.Backend
	admin   *iam.Client // root-signed client for fixtures
}

// newEnv starts an emulator and a backend and writes config/aws with the
// emulator's endpoints and root key, plus extra config fields.
func newEnv(t *testing.T, opts awstest.Options, extra map[string]any) *env {
	t.Helper()
	ts := awstest.Start(t, opts)
	e := &env{t: t, ts: ts, storage: &logical.InmemStorage{}}
	lb, err := plugin.Factory(providers.MustRegistry(aws.New()))(ctx, &logical.BackendConfig{
		StorageView: e.storage,
		System:      &logical.StaticSystemView{DefaultLeaseTTLVal: time.Hour, MaxLeaseTTLVal: 24 * time.Hour},
		Logger:      hclog.NewNullLogger(),
	})
	require.NoError(t, err)
	t.Cleanup(func() { lb.Cleanup(ctx) })
	e.b = lb
	ak, sk := ts.RootCredentials()
	cfg := map[string]any{
		"access_key": ak, "secret_key": sk,
		"iam_endpoint": ts.URL, "sts_endpoint": ts.URL,
		"max_retries": 10, "retry_max_backoff": "1s",
	}
	for k, v := range extra {
		cfg[k] = v
	}
	e.ok(logical.UpdateOperation, "config/aws", cfg)
	e.admin = iam.NewFromConfig(awsv2.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(ak, sk, "")},
		func(o *iam.Options) { o.BaseEndpoint = awsv2.String(ts.URL) })
	return e
}

func (e *env) do(op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	e.t.Helper()
	return e.b.HandleRequest(ctx, &logical.Request{Operation: op, Path: path, Data: data, Storage: e.storage, DisplayName: "token-ci"})
}

func (e *env) ok(op logical.Operation, path string, data map[string]any) *logical.Response {
	e.t.Helper()
	resp, err := e.do(op, path, data)
	require.NoError(e.t, err)
	if resp != nil {
		require.False(e.t, resp.IsError(), "unexpected error response: %v", resp.Error())
	}
	return resp
}

// badRequest asserts a 400 whose message contains every want.
func (e *env) badRequest(op logical.Operation, path string, data map[string]any, want ...string) {
	e.t.Helper()
	resp, err := e.do(op, path, data)
	require.NoError(e.t, err)
	require.NotNil(e.t, resp)
	require.True(e.t, resp.IsError(), "expected an error response, got %#v", resp)
	for _, w := range want {
		require.Contains(e.t, resp.Error().Error(), w)
	}
}

// issue reads creds/aws/<role> and returns the response.
func (e *env) issue(role string, data map[string]any) *logical.Response {
	e.t.Helper()
	var op logical.Operation = logical.ReadOperation
	if data != nil {
		op = logical.UpdateOperation
	}
	resp := e.ok(op, "creds/aws/"+role, data)
	require.NotNil(e.t, resp)
	require.NotNil(e.t, resp.Secret)
	return resp
}

// roundTrip passes a secret through JSON, as Vault stores and sends it.
func roundTrip(t *testing.T, s *logical.Secret) *logical.Secret {
	t.Helper()
	buf, err := json.Marshal(s)
	require.NoError(t, err)
	var out logical.Secret
	require.NoError(t, json.Unmarshal(buf, &out))
	return &out
}

func (e *env) revoke(s *logical.Secret) (*logical.Response, error) {
	return e.b.HandleRequest(ctx, &logical.Request{Operation: logical.RevokeOperation, Storage: e.storage, Secret: roundTrip(e.t, s)})
}

func (e *env) renew(s *logical.Secret, increment time.Duration, issued time.Time) (*logical.Response, error) {
	s = roundTrip(e.t, s)
	s.IssueTime, s.Increment = issued, increment
	return e.b.HandleRequest(ctx, &logical.Request{Operation: logical.RenewOperation, Storage: e.storage, Secret: s})
}

// rollback runs Vault's rollback manager once, ignoring the minimum age.
func (e *env) rollback() {
	e.t.Helper()
	resp, err := e.b.HandleRequest(ctx, &logical.Request{Operation: logical.RollbackOperation, Storage: e.storage, Data: map[string]any{"immediate": true}})
	require.NoError(e.t, err)
	if resp != nil {
		require.False(e.t, resp.IsError(), "rollback: %v", resp.Error())
	}
}

func (e *env) walCount() int {
	keys, err := e.storage.List(ctx, "wal/")
	require.NoError(e.t, err)
	return len(keys)
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
	require.NoError(e.t, err)
}

func (e *env) policy(name string) string {
	out, err := e.admin.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: &name, PolicyDocument: awsv2.String(allowS3)})
	require.NoError(e.t, err)
	return awsv2.ToString(out.Policy.Arn)
}

func (e *env) role(name string) string {
	out, err := e.admin.CreateRole(ctx, &iam.CreateRoleInput{RoleName: &name,
		AssumeRolePolicyDocument: awsv2.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` +
			e.ts.AccountID() + `:root"},"Action":"sts:AssumeRole"}]}`),
		MaxSessionDuration: awsv2.Int32(43200)})
	require.NoError(e.t, err)
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

// sshRSAKey returns an OpenSSH ssh-rsa public key line.
func sshRSAKey(t *testing.T) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	var blob []byte
	put := func(b []byte) {
		blob = binary.BigEndian.AppendUint32(blob, uint32(len(b)))
		blob = append(blob, b...)
	}
	mpint := func(n *big.Int) []byte {
		b := n.Bytes()
		if len(b) > 0 && b[0]&0x80 != 0 {
			b = append([]byte{0}, b...)
		}
		return b
	}
	put([]byte("ssh-rsa"))
	put(mpint(big.NewInt(int64(k.E))))
	put(mpint(k.N))
	return "ssh-rsa " + base64.StdEncoding.EncodeToString(blob) + " test@example"
}

// selfSignedPEM returns a fresh self-signed certificate in PEM.
func selfSignedPEM(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}
