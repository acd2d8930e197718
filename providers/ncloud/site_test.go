package ncloud_test

import (
	"context"
	"crypto"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	ncphmac "github.com/NaverCloudPlatform/ncloud-sdk-go-v2/hmac"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/ncloud"
)

// capture is an http.RoundTripper that records the requests the driver
// builds and answers them with canned documented bodies, without network.
type capture struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (c *capture) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.reqs = append(c.reqs, r)
	c.mu.Unlock()
	body := `{"policies":[{"policyId":"4e066e50-9c3a-11e7-8a66-1e5021fa7c80","policyName":"NCP_SERVER_MANAGER","policyType":"SYSTEM_MANAGED"}],"totalElements":1,"totalPages":1,"pageNo":0,"pageSize":100}`
	if r.URL.Path == "/api/v1/credentials" {
		now := time.Now().UTC()
		body = `{"accessKey":"ncp_iam_BPAMKR1aaaaaaaaaaaaa","keySecret":"ncp_iam_BPKMKRbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","createTime":"` +
			now.Format("2006-01-02T15:04:05Z") + `","expireTime":"` + now.Add(15*time.Minute).Format("2006-01-02T15:04:05Z") + `","useMfa":false}`
	}
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
}

func (c *capture) last() *http.Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reqs[len(c.reqs)-1]
}

// Done means 7: site=gov and site=fin target their hosts (and public its
// own; overrides win), as the requests the driver builds show.
func TestSiteHosts(t *testing.T) {
	const ak, sk = "ncp_iam_BPASKR0000000000000", "ncp_iam_BPKSKR00000000000000000000000000000000"
	tests := []struct {
		site, stsHost, subHost string
		overrides              providers.Values
	}{
		{site: "public", stsHost: "sts.apigw.ntruss.com", subHost: "subaccount.apigw.ntruss.com"},
		{site: "gov", stsHost: "sts.apigw.gov-ntruss.com", subHost: "subaccount.apigw.gov-ntruss.com"},
		{site: "fin", stsHost: "sts.apigw.fin-ntruss.com", subHost: "subaccount.apigw.fin-ntruss.com"},
		{site: "gov", stsHost: "sts.example.test:8443", subHost: "iam.example.test",
			overrides: providers.Values{"sts_endpoint": "https://sts.example.test:8443/", "subaccount_endpoint": "https://iam.example.test"}},
	}
	for _, tc := range tests {
		t.Run(tc.site+"/"+tc.stsHost, func(t *testing.T) {
			rt := &capture{}
			d := ncloud.New(ncloud.WithHTTPClient(&http.Client{Transport: rt}))
			cfg := providers.Values{"site": tc.site, "access_key": ak, "secret_key": sk}
			for k, v := range tc.overrides {
				cfg[k] = v
			}
			p, err := d.Open(context.Background(), providers.OpenRequest{Instance: "ncloud", Config: cfg})
			require.NoError(t, err)

			_, err = p.Create(context.Background(), &providers.CreateRequest{CredentialType: "sts", TTL: 15 * time.Minute, ID: "abcdefghijklm", Now: time.Now()})
			require.NoError(t, err)
			r := rt.last()
			require.Equal(t, "https", r.URL.Scheme)
			require.Equal(t, tc.stsHost, r.URL.Host)
			require.Equal(t, http.MethodPost, r.Method)
			require.Equal(t, "/api/v1/credentials", r.URL.Path)
			checkSigned(t, r, ak, sk)
			body, err := io.ReadAll(r.Body)
			require.NoError(t, err)
			require.JSONEq(t, `{"durationSec":900}`, string(body))

			require.NoError(t, p.ValidateRole(context.Background(), providers.ValidateRoleRequest{Role: "dev", CredentialType: "sub_account",
				Values: providers.Values{"policies": []string{"NCP_SERVER_MANAGER"}}}))
			r = rt.last()
			require.Equal(t, tc.subHost, r.URL.Host)
			require.Equal(t, "/api/v2/policies", r.URL.Path)
			checkSigned(t, r, ak, sk)
		})
	}
}

// checkSigned verifies the API Gateway headers of r with the SDK's signer.
func checkSigned(t *testing.T, r *http.Request, ak, sk string) {
	t.Helper()
	ts := r.Header.Get("x-ncp-apigw-timestamp")
	require.NotEmpty(t, ts)
	require.Equal(t, ak, r.Header.Get("x-ncp-iam-access-key"))
	want, err := ncphmac.NewSigner(sk, crypto.SHA256).Sign(r.Method, r.URL.RequestURI(), ak, ts)
	require.NoError(t, err)
	require.Equal(t, want, r.Header.Get("x-ncp-apigw-signature-v2"))
	for _, vals := range r.Header {
		for _, v := range vals {
			require.NotContains(t, v, sk, "the secret never travels")
		}
	}
}

// Config validation: bad values are refused naming the field.
func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name  string
		cfg   providers.Values
		field string
	}{
		{name: "site", cfg: providers.Values{"site": "eu"}, field: "site"},
		{name: "sts endpoint", cfg: providers.Values{"sts_endpoint": "sts.apigw.ntruss.com"}, field: "sts_endpoint"},
		{name: "subaccount endpoint", cfg: providers.Values{"subaccount_endpoint": "ftp://x"}, field: "subaccount_endpoint"},
		{name: "timeout", cfg: providers.Values{"request_timeout": 2 * time.Minute}, field: "request_timeout"},
		{name: "retries", cfg: providers.Values{"max_retries": 11}, field: "max_retries"},
		{name: "root id", cfg: providers.Values{"root_sub_account_id": "vault-root"}, field: "root_sub_account_id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg["access_key"], tc.cfg["secret_key"] = "ak", "sk"
			_, err := ncloud.New().Open(context.Background(), providers.OpenRequest{Config: tc.cfg})
			var fe *providers.FieldError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, tc.field, fe.Field)
		})
	}
}
