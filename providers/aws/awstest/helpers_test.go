package awstest_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
)

// clientOpts tune the SDK clients of one test.
type clientOpts struct {
	token   string
	retries bool // use the SDK's standard retryer instead of none
}

func awsConfig(ak, sk string, o clientOpts) aws.Config {
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(ak, sk, o.token),
	}
	if !o.retries {
		cfg.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
	}
	return cfg
}

// iamClient returns a real SDK v2 IAM client for ts signed with ak/sk.
func iamClient(ts *awstest.TestServer, ak, sk string, o clientOpts) *iam.Client {
	return iam.NewFromConfig(awsConfig(ak, sk, o), func(opt *iam.Options) { opt.BaseEndpoint = aws.String(ts.URL) })
}

// stsClient returns a real SDK v2 STS client for ts signed with ak/sk.
func stsClient(ts *awstest.TestServer, ak, sk string, o clientOpts) *sts.Client {
	return sts.NewFromConfig(awsConfig(ak, sk, o), func(opt *sts.Options) { opt.BaseEndpoint = aws.String(ts.URL) })
}

// rootIAM returns an IAM client with the root credentials and no retries.
func rootIAM(ts *awstest.TestServer) *iam.Client {
	ak, sk := ts.RootCredentials()
	return iamClient(ts, ak, sk, clientOpts{})
}

func rootSTS(ts *awstest.TestServer) *sts.Client {
	ak, sk := ts.RootCredentials()
	return stsClient(ts, ak, sk, clientOpts{})
}

// requireAPIError asserts that err is an AWS error with code and HTTP status.
func requireAPIError(t *testing.T, err error, code string, status int) {
	t.Helper()
	require.Error(t, err)
	var ae smithy.APIError
	require.True(t, errors.As(err, &ae), "not an API error: %v", err)
	require.Equal(t, code, ae.ErrorCode(), "error: %v", err)
	var re *awshttp.ResponseError
	require.True(t, errors.As(err, &re), "no HTTP response in %v", err)
	require.Equal(t, status, re.HTTPStatusCode(), "error: %v", err)
}

var ctx = context.Background()

// rawCall signs form (or, for GET, the query) with SigV4 for service and
// sends it; it returns status, headers and body.
func rawCall(t *testing.T, ts *awstest.TestServer, method, service, ak, sk string, form url.Values) (int, http.Header, string) {
	t.Helper()
	var body []byte
	u := ts.URL + "/"
	if method == http.MethodGet {
		u += "?" + form.Encode()
	} else {
		body = []byte(form.Encode())
	}
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	require.NoError(t, err)
	if method != http.MethodGet {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	}
	if ak != "" {
		sum := sha256.Sum256(body)
		require.NoError(t, v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: ak, SecretAccessKey: sk},
			req, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now()))
	}
	return doRaw(t, req)
}

func doRaw(t *testing.T, req *http.Request) (int, http.Header, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(b)
}

// createUserWithKey makes a user and an access key for it via the API.
func createUserWithKey(t *testing.T, c *iam.Client, name string) (ak, sk string) {
	t.Helper()
	_, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)})
	require.NoError(t, err)
	out, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	require.NoError(t, err)
	return aws.ToString(out.AccessKey.AccessKeyId), aws.ToString(out.AccessKey.SecretAccessKey)
}

const allowS3 = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::bucket/*"}]}`

func trustAccount(account string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` +
		account + `:root"},"Action":"sts:AssumeRole"}]}`
}

func nopCloser(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }
