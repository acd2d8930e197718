package ncloud_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"
)

// isolate gives the test an empty HOME, no Ncloud variables and a metadata
// API (for the server-role provider) that knows no role.
func isolate(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, v := range []string{"NCLOUD_ACCESS_KEY", "NCLOUD_ACCESS_KEY_ID", "NCLOUD_SECRET_KEY", "NCLOUD_SECRET_ACCESS_KEY"} {
		t.Setenv(v, "")
	}
	meta := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(meta.Close)
	t.Setenv("NCLOUD_METADATA_API_ENDPOINT", meta.URL)
	return home
}

// Done means 6: credentials come from the environment or from
// ~/.ncloud/configure when the config has none; with none anywhere the
// config write is a clear 400 and the process keeps running.
func TestCredentialChain(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, home, ak, sk string)
	}{
		{name: "env NCLOUD_ACCESS_KEY/NCLOUD_SECRET_KEY", setup: func(t *testing.T, _, ak, sk string) {
			t.Setenv("NCLOUD_ACCESS_KEY", ak)
			t.Setenv("NCLOUD_SECRET_KEY", sk)
		}},
		{name: "env NCLOUD_ACCESS_KEY_ID/NCLOUD_SECRET_ACCESS_KEY", setup: func(t *testing.T, _, ak, sk string) {
			t.Setenv("NCLOUD_ACCESS_KEY_ID", ak)
			t.Setenv("NCLOUD_SECRET_ACCESS_KEY", sk)
		}},
		{name: "~/.ncloud/configure", setup: func(t *testing.T, home, ak, sk string) {
			dir := filepath.Join(home, ".ncloud")
			require.NoError(t, os.MkdirAll(dir, 0o700))
			body := "[DEFAULT]\nncloud_access_key_id = " + ak + "\nncloud_secret_access_key = " + sk + "\nncloud_api_url = https://ncloud.apigw.ntruss.com\n"
			require.NoError(t, os.WriteFile(filepath.Join(dir, "configure"), []byte(body), 0o600))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			home := isolate(t)
			e := newEnv(t)
			ak, sk := e.ts.RootCredentials()
			tc.setup(t, home, ak, sk)

			data := e.endpoints()
			data["use_ambient_credentials"] = true // the emulator is not the site's own host
			e.OK(logical.UpdateOperation, "config/ncloud", data)
			cfg := e.OK(logical.ReadOperation, "config/ncloud", nil)
			require.NotContains(t, cfg.Data, "secret_key")
			e.OK(logical.UpdateOperation, "roles/ncloud/ci", map[string]any{"ttl": "15m"})
			resp := e.OK(logical.ReadOperation, "creds/ncloud/ci", nil)
			key, ok := e.ts.STSKey(resp.Data["access_key"].(string))
			require.True(t, ok)
			root, ok := e.ts.SubAccount("vault-root")
			require.True(t, ok)
			require.Equal(t, root.ID, key.SubAccountID, "signed with the root key found by the chain")
		})
	}

	t.Run("none anywhere", func(t *testing.T) {
		home := isolate(t)
		// A configure file without key values does not count; the line
		// without '=' makes the SDK's parser panic, which must not escape.
		require.NoError(t, os.MkdirAll(filepath.Join(home, ".ncloud"), 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(home, ".ncloud", "configure"), []byte("[DEFAULT]\nncloud_access_key_id\n"), 0o600))
		e := newEnv(t)
		data := e.endpoints()
		data["use_ambient_credentials"] = true
		msg := e.BadRequest(logical.UpdateOperation, "config/ncloud", data,
			"access_key", "no Ncloud credentials", "NCLOUD_ACCESS_KEY", "~/.ncloud/configure", "server role", "malformed")
		t.Logf("config write refused: %s", msg)
		resp, err := e.Do(logical.ReadOperation, "config/ncloud", nil)
		require.NoError(t, err)
		require.Nil(t, resp, "nothing stored")
		// Still here: nothing called os.Exit.
	})

	t.Run("half a key pair", func(t *testing.T) {
		isolate(t)
		e := newEnv(t)
		data := e.endpoints()
		data["access_key"] = "ncp_iam_ONLYTHEKEY000000"
		e.BadRequest(logical.UpdateOperation, "config/ncloud", data, "secret_key", "required")
	})
}

// Issue 10 ("credentials go only where the operator meant"): credentials
// from Vault's environment are never sent to an endpoint taken from the
// config unless use_ambient_credentials=true. A config write naming a
// foreign host with no key is refused, and no credential reaches anyone.
func TestAmbientCredentialsStayHome(t *testing.T) {
	isolate(t)
	var mu sync.Mutex
	var seen []string // access keys the foreign host received
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("x-ncp-iam-access-key"))
		mu.Unlock()
		http.NotFound(w, r)
	}))
	t.Cleanup(foreign.Close)
	received := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}

	e := newEnv(t)
	ak, sk := e.ts.RootCredentials()
	t.Setenv("NCLOUD_ACCESS_KEY", ak)
	t.Setenv("NCLOUD_SECRET_KEY", sk)

	for _, endpoints := range []map[string]any{
		{"sts_endpoint": foreign.URL, "subaccount_endpoint": foreign.URL},
		{"sts_endpoint": foreign.URL},
		{"subaccount_endpoint": foreign.URL},
	} {
		e.BadRequest(logical.UpdateOperation, "config/ncloud", endpoints, "access_key", "use_ambient_credentials")
	}
	_, err := e.Do(logical.UpdateOperation, "roles/ncloud/ci", map[string]any{"ttl": "15m"})
	require.ErrorContains(t, err, "not configured", "nothing was stored")
	require.Empty(t, received(), "no credential sent to the foreign host")
	require.Zero(t, e.ts.Core().Calls().Total)

	// The site's own endpoints take ambient credentials without the flag
	// (nothing is called at config write).
	e.OK(logical.UpdateOperation, "config/public", map[string]any{"driver": "ncloud", "site": "public"})

	// The operator may opt in: then they go there.
	e.OK(logical.UpdateOperation, "config/ncloud", map[string]any{"sts_endpoint": foreign.URL, "subaccount_endpoint": foreign.URL, "use_ambient_credentials": true})
	e.OK(logical.UpdateOperation, "roles/ncloud/ci", map[string]any{"ttl": "15m"})
	_, err = e.Do(logical.ReadOperation, "creds/ncloud/ci", nil)
	require.Error(t, err, "the foreign host is no Ncloud")
	require.Equal(t, []string{ak}, received())
}
