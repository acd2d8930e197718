package awstest_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
)

func TestSigV4(t *testing.T) {
	ts := awstest.Start(t, awstest.Options{AccessKey: "AKIAROOTROOTROOTROOT", SecretKey: "root-secret-0123456789012345678901234567"})
	ak, sk := ts.RootCredentials()
	require.Equal(t, "AKIAROOTROOTROOTROOT", ak)
	userAK, userSK := createUserWithKey(t, rootIAM(ts), "dave")
	getUser := func(c *iam.Client) error {
		_, err := c.GetUser(ctx, &iam.GetUserInput{})
		return err
	}

	t.Run("root and user keys work", func(t *testing.T) {
		out, err := rootIAM(ts).GetUser(ctx, &iam.GetUserInput{})
		require.NoError(t, err)
		require.Equal(t, awstest.RootUserName, aws.ToString(out.User.UserName))
		out, err = iamClient(ts, userAK, userSK, clientOpts{}).GetUser(ctx, &iam.GetUserInput{})
		require.NoError(t, err)
		require.Equal(t, "dave", aws.ToString(out.User.UserName))
	})
	tests := []struct {
		name     string
		ak, sk   string
		code     string
		status   int
		noSecret string // must not appear in the error
	}{
		{"wrong secret", ak, "wrong-secret-wrong-secret-wrong-secret-00", "SignatureDoesNotMatch", 403, sk},
		{"unknown key", "AKIAUNKNOWNUNKNOWN00", sk, "InvalidClientTokenId", 403, sk},
		{"user key, wrong secret", userAK, sk, "SignatureDoesNotMatch", 403, userSK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := getUser(iamClient(ts, tc.ak, tc.sk, clientOpts{}))
			requireAPIError(t, err, tc.code, tc.status)
			require.NotContains(t, err.Error(), tc.noSecret)
		})
	}
	t.Run("inactive then deleted key is refused", func(t *testing.T) {
		c := rootIAM(ts)
		user := iamClient(ts, userAK, userSK, clientOpts{})
		_, err := c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("dave"), AccessKeyId: aws.String(userAK), Status: "Inactive"})
		require.NoError(t, err)
		requireAPIError(t, getUser(user), "InvalidClientTokenId", 403)
		_, err = c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("dave"), AccessKeyId: aws.String(userAK), Status: "Active"})
		require.NoError(t, err)
		require.NoError(t, getUser(user))
		_, err = c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("dave"), AccessKeyId: aws.String(userAK)})
		require.NoError(t, err)
		requireAPIError(t, getUser(user), "InvalidClientTokenId", 403)
	})
	t.Run("no Authorization header", func(t *testing.T) {
		status, _, body := rawCall(t, ts, http.MethodPost, "iam", "", "", url.Values{"Action": {"GetUser"}, "Version": {"2010-05-08"}})
		require.Equal(t, 403, status)
		require.Contains(t, body, "<Code>MissingAuthenticationToken</Code>")
	})
	t.Run("signed for the wrong service", func(t *testing.T) {
		status, _, body := rawCall(t, ts, http.MethodPost, "sts", ak, sk, url.Values{"Action": {"GetUser"}, "Version": {"2010-05-08"}})
		require.Equal(t, 403, status)
		require.Contains(t, body, "<Code>SignatureDoesNotMatch</Code>")
		require.Contains(t, body, "scoped to correct service: &#39;iam&#39;")
	})
	t.Run("GET with query parameters", func(t *testing.T) {
		status, _, body := rawCall(t, ts, http.MethodGet, "iam", ak, sk, url.Values{"Action": {"GetUser"}, "Version": {"2010-05-08"}})
		require.Equal(t, 200, status, body)
		require.Contains(t, body, "<UserName>"+awstest.RootUserName+"</UserName>")
	})
	t.Run("body changed after signing", func(t *testing.T) {
		body := []byte(url.Values{"Action": {"GetUser"}, "Version": {"2010-05-08"}}.Encode())
		req, err := http.NewRequest(http.MethodPost, ts.URL+"/", bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		sum := sha256.Sum256(body)
		require.NoError(t, v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: ak, SecretAccessKey: sk}, req,
			hex.EncodeToString(sum[:]), "iam", "us-east-1", time.Now()))
		tampered := []byte(url.Values{"Action": {"DeleteUser"}, "UserName": {"dave"}, "Version": {"2010-05-08"}}.Encode())
		req.Body, req.ContentLength = nopCloser(tampered), int64(len(tampered))
		status, _, resp := doRaw(t, req)
		require.Equal(t, 403, status)
		require.Contains(t, resp, "<Code>SignatureDoesNotMatch</Code>")
	})
	t.Run("signature too old", func(t *testing.T) {
		body := []byte(url.Values{"Action": {"GetUser"}, "Version": {"2010-05-08"}}.Encode())
		req, err := http.NewRequest(http.MethodPost, ts.URL+"/", bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		sum := sha256.Sum256(body)
		require.NoError(t, v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: ak, SecretAccessKey: sk}, req,
			hex.EncodeToString(sum[:]), "iam", "us-east-1", time.Now().Add(-20*time.Minute)))
		status, _, resp := doRaw(t, req)
		require.Equal(t, 403, status)
		require.Contains(t, resp, "Signature expired")
	})
}

func TestKeyDelay(t *testing.T) {
	ts := awstest.Start(t, awstest.Options{KeyDelay: time.Hour})
	c := rootIAM(ts)

	// CreateAccessKey without UserName makes a key for the caller (rotate-root).
	out, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{})
	require.NoError(t, err)
	require.Equal(t, awstest.RootUserName, aws.ToString(out.AccessKey.UserName))
	newAK, newSK := aws.ToString(out.AccessKey.AccessKeyId), aws.ToString(out.AccessKey.SecretAccessKey)
	_, err = stsClient(ts, newAK, newSK, clientOpts{}).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	requireAPIError(t, err, "InvalidClientTokenId", 403)

	ts.SetKeyDelay(150 * time.Millisecond)
	_, err = c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("erin")})
	require.NoError(t, err)
	k, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("erin")})
	require.NoError(t, err)
	created := time.Now()
	s := stsClient(ts, aws.ToString(k.AccessKey.AccessKeyId), aws.ToString(k.AccessKey.SecretAccessKey), clientOpts{})
	_, err = s.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	requireAPIError(t, err, "InvalidClientTokenId", 403)
	require.Eventually(t, func() bool {
		id, err := s.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		return err == nil && aws.ToString(id.Arn) == "arn:aws:iam::123456789012:user/erin"
	}, 5*time.Second, 20*time.Millisecond)
	require.GreaterOrEqual(t, time.Since(created), 150*time.Millisecond)

	// ListAccessKeys / DeleteAccessKey without UserName act on the caller.
	keys, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{})
	require.NoError(t, err)
	require.Len(t, keys.AccessKeyMetadata, 2)
	_, err = c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{AccessKeyId: aws.String(newAK)})
	require.NoError(t, err)
	_, err = c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{AccessKeyId: k.AccessKey.AccessKeyId})
	requireAPIError(t, err, "NoSuchEntity", 404) // erin's key is not the caller's
}
