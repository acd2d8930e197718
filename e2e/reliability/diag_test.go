package reliability

import (
	"crypto"
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	ncphmac "github.com/NaverCloudPlatform/ncloud-sdk-go-v2/hmac"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/e2e/vaulttest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/ncloud/ncloudtest"
)

// logMatching logs the last n lines of the Vault log that contain any of
// the given strings (case-insensitive), for diagnostics.
func logMatching(t *testing.T, s *vaulttest.Server, n int, subs ...string) {
	t.Helper()
	data, err := os.ReadFile(s.LogPath())
	if err != nil {
		t.Logf("reading the Vault log: %v", err)
		return
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		l := strings.ToLower(line)
		for _, sub := range subs {
			if strings.Contains(l, strings.ToLower(sub)) {
				out = append(out, line)
				break
			}
		}
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	t.Logf("Vault log lines with %q:\n%s", subs, strings.Join(out, "\n"))
}

// logUnheld logs the objects of a cloud that no lease known to the test
// names, with the Vault log lines that mention them (names are not
// secrets).
func logUnheld(t *testing.T, s *vaulttest.Server, c *cloud, l *ledger) {
	t.Helper()
	known := map[string]bool{}
	for _, cr := range l.liveOf(c.provider) {
		known[cr.object] = true
	}
	log, _ := os.ReadFile(s.LogPath())
	for _, name := range c.names(t) {
		if known[name] || c.fixtures[name] {
			continue
		}
		t.Logf("%s: %s is held by no lease the test knows; Vault log lines naming it:", c.provider, name)
		for _, line := range strings.Split(string(log), "\n") {
			if strings.Contains(line, name) {
				t.Logf("    %s", line)
			}
		}
	}
}

// ncloudLoginIDs lists the loginIds of every sub account,
// through the Sub Account API signed with the root key.
func ncloudLoginIDs(t *testing.T, ts *ncloudtest.TestServer) []string {
	t.Helper()
	ak, sk := ts.RootCredentials()
	uri := "/api/v2/sub-accounts?pageNo=0&pageSize=100"
	stamp := strconv.FormatInt(time.Now().UnixMilli(), 10)
	sig, err := ncphmac.NewSigner(sk, crypto.SHA256).Sign(http.MethodGet, uri, ak, stamp)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodGet, ts.URL+uri, nil)
	require.NoError(t, err)
	req.Header.Set("x-ncp-apigw-timestamp", stamp)
	req.Header.Set("x-ncp-iam-access-key", ak)
	req.Header.Set("x-ncp-apigw-signature-v2", sig)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out struct {
		SubAccounts []struct {
			LoginID string `json:"loginId"`
		} `json:"subAccounts"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	var ids []string
	for _, sa := range out.SubAccounts {
		ids = append(ids, sa.LoginID)
	}
	return ids
}
