package ncloud_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/ncloud"
)

// onList is a transport that runs hook once, after the first sub account
// list answer the driver receives (as if other revokes ran meanwhile),
// and records the lists' queries.
type onList struct {
	once    sync.Once
	hook    func()
	mu      sync.Mutex
	queries []string
}

func (o *onList) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/sub-accounts") {
		o.mu.Lock()
		o.queries = append(o.queries, r.URL.Path+"?"+r.URL.RawQuery)
		o.mu.Unlock()
		if o.hook != nil {
			o.once.Do(o.hook)
		}
	}
	return resp, err
}

// Issue 10: rollback finds its sub account by an exact loginId search, so
// sub accounts deleted meanwhile (concurrent revokes shifting pages) do not
// hide it, and a sub account whose loginId merely contains it is left
// alone.
func TestRollbackFindsByLoginIDSearch(t *testing.T) {
	tr := &onList{}
	e := newEnv(t, ncloud.WithHTTPClient(&http.Client{Transport: tr}))
	e.configure(map[string]any{"max_retries": 0})
	e.subRole(nil)
	first := e.OK(logical.ReadOperation, "creds/ncloud/dev", nil).Data["login_id"].(string)

	// 150 sub accounts that sort before vault-dev-...
	var others []string
	for i := 0; i < 150; i++ {
		status, body := e.rootDo(http.MethodPost, "/api/v2/sub-accounts", map[string]any{"loginId": fmt.Sprintf("a-%03d", i), "name": "other",
			"passwordGenerationRequired": true, "apiGatewayAccessible": true, "consoleAccessible": false})
		require.Equal(t, http.StatusCreated, status, string(body))
		var sa struct {
			SubAccountID string `json:"subAccountId"`
		}
		require.NoError(t, json.Unmarshal(body, &sa))
		others = append(others, sa.SubAccountID)
	}

	// A create whose key and cleanup fail: its sub account is an orphan
	// named only by the WAL entry.
	e.ts.Core().SetFaults(emulator.Faults{FailActions: map[string]int{"CreateAccessKey": 1, "DeleteSubAccount": 2}})
	_, err := e.Do(logical.ReadOperation, "creds/ncloud/dev", nil)
	require.Error(t, err)
	require.Equal(t, 1, e.WALCount())
	status, body := e.rootDo(http.MethodGet, "/api/v1/sub-accounts?size=100&searchColumn=loginId&searchWord=vault-dev-", nil)
	require.Equal(t, http.StatusOK, status)
	var page struct {
		Items []struct {
			LoginID string `json:"loginId"`
		} `json:"items"`
	}
	require.NoError(t, json.Unmarshal(body, &page))
	var orphan string
	for _, it := range page.Items {
		if it.LoginID != first {
			orphan = it.LoginID
		}
	}
	require.NotEmpty(t, orphan)
	_, _ = e.rootDo(http.MethodPost, "/api/v2/sub-accounts", map[string]any{"loginId": orphan + "x", "name": "decoy",
		"passwordGenerationRequired": true, "apiGatewayAccessible": true, "consoleAccessible": false})

	// While the rollback looks, 100 of the others are revoked.
	tr.hook = func() {
		for _, id := range others[:100] {
			status, body := e.rootDo(http.MethodDelete, "/api/v2/sub-accounts/"+id+"?cascading=true", nil)
			require.Equal(t, http.StatusNoContent, status, string(body))
		}
	}
	e.ts.Core().SetFaults(emulator.Faults{})
	tr.mu.Lock()
	tr.queries = nil
	tr.mu.Unlock()
	require.NoError(t, e.Rollback())

	_, ok := e.ts.SubAccount(orphan)
	require.False(t, ok, "the orphan was found and deleted")
	_, ok = e.ts.SubAccount(orphan + "x")
	require.True(t, ok, "a loginId that only contains it is not its")
	require.Equal(t, 0, e.WALCount())
	require.Equal(t, []string{"/api/v1/sub-accounts?page=0&searchColumn=loginId&searchWord=" + orphan + "&size=100"}, tr.queries)
}
