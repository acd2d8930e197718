package ncloud_test

import (
	"crypto"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	ncphmac "github.com/NaverCloudPlatform/ncloud-sdk-go-v2/hmac"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/ncloud"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/ncloud/ncloudtest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/providertest/conformance"
)

// Acceptance tests (make testacc): the conformance suite against a real
// Ncloud account, with the account's own variables plus:
//
//	VAULT_ACC=1                          run them (else they skip)
//	NCLOUD_ACCESS_KEY, NCLOUD_SECRET_KEY a sub account key allowed to manage
//	                                     sub accounts and to create STS keys
//	VAULT_ACC_NCLOUD_SITE                public (default), gov or fin
//	VAULT_ACC_NCLOUD_POLICY              a policy for the sub accounts
//	                                     (default NCP_INFRA_MANAGER)
//	VAULT_ACC_NCLOUD_STS_ENDPOINT,       endpoint overrides (default: the
//	VAULT_ACC_NCLOUD_SUBACCOUNT_ENDPOINT site's API gateway)
//
// Sub accounts are named vault-acc-<id> and are gone when the test ends.

func TestAcceptance(t *testing.T) {
	if os.Getenv("VAULT_ACC") != "1" {
		t.Skip("acceptance tests against a real Ncloud account run with VAULT_ACC=1 (see make testacc)")
	}
	if os.Getenv("NCLOUD_ACCESS_KEY") == "" || os.Getenv("NCLOUD_SECRET_KEY") == "" {
		t.Skip("set NCLOUD_ACCESS_KEY and NCLOUD_SECRET_KEY")
	}
	conformance.Run(t, conformance.Harness{Driver: ncloud.New(), Start: accEnvNcloud})
}

// TestAcceptanceAgainstTheEmulator runs the acceptance code, unchanged,
// against ncloudtest reached through the same variables.
func TestAcceptanceAgainstTheEmulator(t *testing.T) {
	ts := ncloudtest.Start(t, ncloudtest.Options{})
	ak, sk := ts.RootCredentials()
	for k, v := range map[string]string{
		"NCLOUD_ACCESS_KEY": ak, "NCLOUD_SECRET_KEY": sk, "VAULT_ACC_NCLOUD_SITE": "", "VAULT_ACC_NCLOUD_POLICY": "",
		"VAULT_ACC_NCLOUD_STS_ENDPOINT": ts.URL, "VAULT_ACC_NCLOUD_SUBACCOUNT_ENDPOINT": ts.URL,
	} {
		t.Setenv(k, v)
	}
	conformance.Run(t, conformance.Harness{Driver: ncloud.New(), Start: accEnvNcloud})
}

// accEnvNcloud describes the account of the environment to the suite.
func accEnvNcloud(t *testing.T) *conformance.Env {
	ak, sk := os.Getenv("NCLOUD_ACCESS_KEY"), os.Getenv("NCLOUD_SECRET_KEY")
	if ak == "" || sk == "" {
		t.Skip("set NCLOUD_ACCESS_KEY and NCLOUD_SECRET_KEY")
	}
	site := os.Getenv("VAULT_ACC_NCLOUD_SITE")
	if site == "" {
		site = "public"
	}
	domain := map[string]string{"public": "apigw.ntruss.com", "gov": "apigw.gov-ntruss.com", "fin": "apigw.fin-ntruss.com"}[site]
	require.NotEmpty(t, domain, "VAULT_ACC_NCLOUD_SITE must be public, gov or fin")
	stsURL := envOr("VAULT_ACC_NCLOUD_STS_ENDPOINT", "https://sts."+domain)
	subURL := envOr("VAULT_ACC_NCLOUD_SUBACCOUNT_ENDPOINT", "https://subaccount."+domain)
	policy := envOr("VAULT_ACC_NCLOUD_POLICY", "NCP_INFRA_MANAGER")

	subAccounts := func() map[string]int {
		n := 0
		for page := 0; page < 50; page++ {
			status, body := accSigned(t, subURL, ak, sk, http.MethodGet, "/api/v2/sub-accounts?pageNo="+strconv.Itoa(page)+"&pageSize=100")
			require.Equal(t, http.StatusOK, status, string(body))
			var out struct {
				TotalPages  int `json:"totalPages"`
				SubAccounts []struct {
					LoginID string `json:"loginId"`
				} `json:"subAccounts"`
			}
			require.NoError(t, json.Unmarshal(body, &out))
			for _, s := range out.SubAccounts {
				if strings.Contains(s.LoginID, "vault-acc-") {
					n++
				}
			}
			if page+1 >= out.TotalPages || len(out.SubAccounts) == 0 {
				break
			}
		}
		return map[string]int{"sub_accounts": n}
	}
	return &conformance.Env{
		Config: providers.Values{"access_key": ak, "secret_key": sk, "site": site, "sts_endpoint": stsURL, "subaccount_endpoint": subURL},
		Roles: []conformance.Role{
			{Name: "acc-sts", CredentialType: ncloud.CredentialSTS},
			{Name: "acc-sub", CredentialType: ncloud.CredentialSubAccount, Values: providers.Values{
				"policies": []string{policy}, "login_id_template": "vault-acc-{{ .ID }}",
			}},
		},
		State: subAccounts,
		Use: func(t *testing.T, _ string, data map[string]any) {
			status, body := accSigned(t, stsURL, data["access_key"].(string), data["secret_key"].(string), http.MethodGet, "/api/v1/caller-identity")
			require.Equal(t, http.StatusOK, status, "the issued key is accepted: %s", body)
		},
		// STS keys live at least 600 s.
		TTL: 15 * time.Minute,
	}
}

// accSigned sends one request signed with the given key, as an Ncloud
// client (not the driver) would.
func accSigned(t *testing.T, base, ak, sk, method, path string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, nil)
	require.NoError(t, err)
	stamp := strconv.FormatInt(time.Now().UnixMilli(), 10)
	sig, err := ncphmac.NewSigner(sk, crypto.SHA256).Sign(method, req.URL.RequestURI(), ak, stamp)
	require.NoError(t, err)
	req.Header.Set("x-ncp-apigw-timestamp", stamp)
	req.Header.Set("x-ncp-iam-access-key", ak)
	req.Header.Set("x-ncp-apigw-signature-v2", sig)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	require.NoError(t, err)
	return resp.StatusCode, body
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
