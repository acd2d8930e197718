package ncloud_test

import (
	"bytes"
	"crypto"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	ncphmac "github.com/NaverCloudPlatform/ncloud-sdk-go-v2/hmac"
	"github.com/stretchr/testify/require"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/plugin/plugintest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/ncloud"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/ncloud/ncloudtest"
)

// env is the real plugin backend, in-process on in-memory storage, with
// the ncloud driver registered and an Ncloud emulator to talk to.
type env struct {
	*plugintest.Backend
	ts *ncloudtest.TestServer
}

func newEnv(t *testing.T, opts ...ncloud.Option) *env {
	t.Helper()
	ts := ncloudtest.Start(t, ncloudtest.Options{})
	return &env{Backend: plugintest.New(t, providers.MustRegistry(ncloud.New(opts...))), ts: ts}
}

// endpoints points an instance at the emulator.
func (e *env) endpoints() map[string]any {
	return map[string]any{"sts_endpoint": e.ts.URL, "subaccount_endpoint": e.ts.URL}
}

// configure writes config/ncloud with the emulator's root key and extra.
func (e *env) configure(extra map[string]any) {
	e.T.Helper()
	ak, sk := e.ts.RootCredentials()
	data := e.endpoints()
	data["access_key"], data["secret_key"] = ak, sk
	for k, v := range extra {
		data[k] = v
	}
	e.OK(logical.UpdateOperation, "config/ncloud", data)
}

// signed sends one request to the emulator signed with the given key, as
// an Ncloud client (not the driver) would, and returns the status and body.
func signed(t testing.TB, ts *ncloudtest.TestServer, ak, sk, method, path string, body any) (int, []byte) {
	t.Helper()
	return signedAt(t, ts, ak, sk, method, path, body, time.Now())
}

// signedAt is signed with the request stamped at `at` (for an emulator on
// a shifted clock).
func signedAt(t testing.TB, ts *ncloudtest.TestServer, ak, sk, method, path string, body any, at time.Time) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		buf, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, ts.URL+path, rd)
	require.NoError(t, err)
	stamp := strconv.FormatInt(at.UnixMilli(), 10)
	sig, err := ncphmac.NewSigner(sk, crypto.SHA256).Sign(method, req.URL.RequestURI(), ak, stamp)
	require.NoError(t, err)
	req.Header.Set("x-ncp-apigw-timestamp", stamp)
	req.Header.Set("x-ncp-iam-access-key", ak)
	req.Header.Set("x-ncp-apigw-signature-v2", sig)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, out
}

// rootDo is signed with the emulator's root key.
func (e *env) rootDo(method, path string, body any) (int, []byte) {
	e.T.Helper()
	ak, sk := e.ts.RootCredentials()
	return signed(e.T, e.ts, ak, sk, method, path, body)
}

func (e *env) rootKey() string    { ak, _ := e.ts.RootCredentials(); return ak }
func (e *env) rootSecret() string { _, sk := e.ts.RootCredentials(); return sk }

// mountID is the mount's id (settings mount_id), which marks its objects.
func (e *env) mountID() string {
	e.T.Helper()
	id := e.OK(logical.ReadOperation, "settings", nil).Data["mount_id"].(string)
	require.Regexp(e.T, `^[a-z2-7]{8}$`, id, "the mount id exists once a credential was issued")
	return id
}
