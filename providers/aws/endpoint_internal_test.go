package aws

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
)

func TestIsAWSEndpoint(t *testing.T) {
	cases := map[string]bool{
		"https://iam.amazonaws.com":                                   true,
		"https://iam.amazonaws.com/":                                  true,
		"https://IAM.amazonaws.com:443":                               true,
		"https://iam-fips.amazonaws.com":                              true,
		"https://iam.us-gov.amazonaws.com":                            true,
		"https://iam.cn-north-1.amazonaws.com.cn":                     true,
		"https://iam.global.api.aws":                                  true,
		"https://sts.amazonaws.com":                                   true,
		"https://sts.eu-central-1.amazonaws.com":                      true,
		"https://sts-fips.us-east-1.amazonaws.com":                    true,
		"https://sts.us-iso-east-1.c2s.ic.gov":                        true,
		"https://sts.us-east-1.api.aws":                               true,
		"https://vpce-0a1b2c3d-4e5f.sts.us-east-1.vpce.amazonaws.com": true,

		"http://iam.amazonaws.com":                             false, // not https
		"https://iam.amazonaws.com:8443":                       false,
		"https://iam.amazonaws.com/proxy":                      false,
		"https://user@iam.amazonaws.com":                       false,
		"https://iam.amazonaws.com.evil.example":               false,
		"https://iam.s3-website-us-east-1.amazonaws.com":       false, // an S3 website bucket named iam
		"https://sts.s3.amazonaws.com":                         false,
		"https://evil.example/iam.amazonaws.com":               false,
		"http://127.0.0.1:4566":                                false,
		"https://vpce-1.sts.us-east-1.vpce.amazonaws.com.evil": false,
	}
	for u, want := range cases {
		require.Equal(t, want, isAWSEndpoint(u), u)
	}
	require.Equal(t, "http://127.0.0.1:8080", normalizeEndpoint("HTTP://127.0.0.1:8080/"))
	require.Equal(t, "https://proxy.example/iam", normalizeEndpoint("https://Proxy.Example:443/iam/"))
	require.Equal(t, "http://[::1]:9000", normalizeEndpoint("http://[::1]:9000"))
}

// The target is the credential's account; AWS's own endpoints are not
// part of it (moving between them strands no lease), custom ones are.
func TestTargetIDs(t *testing.T) {
	ts := awstest.Start(t, awstest.Options{})
	ak, sk := ts.RootCredentials()
	target := func(cfg providers.Values) string {
		t.Helper()
		full := providers.Values{"access_key": ak, "secret_key": sk, "sts_endpoint": ts.URL, "max_retries": 0, "retry_max_backoff": defaultMaxBackoff,
			"max_concurrent_iam_calls": 10, "max_managed_policies_per_user": 10,
			"username_template": DefaultUsernameTemplate, "session_name_template": DefaultSessionNameTemplate}
		for k, v := range cfg {
			full[k] = v
		}
		p, err := New().Open(context.Background(), providers.OpenRequest{Instance: "aws", Config: full})
		require.NoError(t, err)
		tg, err := p.Target(context.Background())
		require.NoError(t, err)
		return tg.ID
	}
	sts := ";sts=" + ts.URL
	require.Equal(t, "aws:aws:123456789012"+sts, target(nil))
	require.Equal(t, "aws:aws:123456789012"+sts, target(providers.Values{"iam_endpoint": "https://iam.amazonaws.com"}))
	require.Equal(t, "aws:aws:123456789012"+sts, target(providers.Values{"iam_endpoint": "https://iam-fips.amazonaws.com/"}))
	require.Equal(t, "aws:aws:123456789012@"+ts.URL, target(providers.Values{"iam_endpoint": ts.URL + "/"}))
	require.Equal(t, "aws:aws:123456789012@https://iam-proxy.example"+sts, target(providers.Values{"iam_endpoint": "https://iam-proxy.example"}))
}
