package ncloudtest

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
)

// client signs requests the way a real Ncloud client does: the SDK's hmac
// signer over "METHOD URI\ntimestamp\naccessKey", URI with query string.
type client struct {
	t        *testing.T
	base     string
	ak, sk   string
	clock    func() time.Time
	sigHdr   string
	tamperFn func(*http.Request) // changes the request after signing
}

func newClient(t *testing.T, ts *TestServer, ak, sk string) *client {
	return &client{t: t, base: ts.URL, ak: ak, sk: sk, clock: time.Now, sigHdr: headerSignatureV2}
}

func rootClient(t *testing.T, ts *TestServer) *client {
	ak, sk := ts.RootCredentials()
	return newClient(t, ts, ak, sk)
}

type response struct {
	status int
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), string(r.body))
	return m
}

// gwError decodes a gateway error body {"error":{"errorCode","message","details"}}.
func (r response) gwError(t *testing.T) gatewayErrorBody {
	t.Helper()
	var e gatewayError
	require.NoError(t, json.Unmarshal(r.body, &e), string(r.body))
	return e.Error
}

func (c *client) do(method, path string, body any) response {
	c.t.Helper()
	r, err := c.tryDo(method, path, body)
	require.NoError(c.t, err)
	return r
}

// tryDo is do without assertions, safe to call from any goroutine.
func (c *client) tryDo(method, path string, body any) (response, error) {
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = bytes.NewBufferString(b)
		default:
			buf, err := json.Marshal(b)
			if err != nil {
				return response{}, err
			}
			rd = bytes.NewReader(buf)
		}
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return response{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	ts := strconv.FormatInt(c.clock().UnixMilli(), 10)
	sig, err := ncphmac.NewSigner(c.sk, crypto.SHA256).Sign(method, c.base+path, c.ak, ts)
	if err != nil {
		return response{}, err
	}
	req.Header.Set(headerTimestamp, ts)
	req.Header.Set(headerAccessKey, c.ak)
	req.Header.Set(c.sigHdr, sig)
	if c.tamperFn != nil {
		c.tamperFn(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, body: out}, err
}

// createSubV1 creates a sub account through v1 and returns its id.
func createSubV1(t *testing.T, c *client, loginID string) string {
	t.Helper()
	r := c.do(http.MethodPost, "/api/v1/sub-accounts", v1CreateBody(loginID))
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	m := r.json(t)
	require.Equal(t, true, m["success"])
	return m["id"].(string)
}

func v1CreateBody(loginID string) map[string]any {
	return map[string]any{"loginId": loginID, "name": loginID, "needPasswordGenerate": true,
		"needPasswordReset": false, "canAPIGatewayAccess": true, "canConsoleAccess": false}
}

// newKey creates an access key for a sub account through v2 and returns a
// client signing with it.
func newKey(t *testing.T, ts *TestServer, c *client, subID string) *client {
	t.Helper()
	r := c.do(http.MethodPost, "/api/v2/sub-accounts/"+subID+"/access-keys", nil)
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	m := r.json(t)
	return newClient(t, ts, m["accessKey"].(string), m["keySecret"].(string))
}
