package nomad_test

import (
	"testing"

	"github.com/hashicorp/nomad/api"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/nomad/nomadtest"
)

// newTLSEnv is an env in front of a TLS emulator.
func newTLSEnv(t *testing.T, requireClientCert bool) (*env, *nomadtest.TLSTestServer) {
	t.Helper()
	ts := nomadtest.StartTLS(t, nomadtest.Options{RequireClientCert: requireClientCert})
	e := &env{Backend: newBackend(t), ts: ts.TestServer}
	seedACL(t, ts.URL, ts.RootToken(), func(c *api.Config) {
		c.TLSConfig = &api.TLSConfig{CACertPEM: ts.CACertPEM, ClientCertPEM: ts.ClientCertPEM, ClientKeyPEM: ts.ClientKeyPEM}
	})
	return e, ts
}

// Done means 6: TLS works with the CA configured and fails clearly
// without it; client certificates and tls_server_name are honoured.
func TestTLS(t *testing.T) {
	t.Run("with the CA, issue and revoke work", func(t *testing.T) {
		e, ts := newTLSEnv(t, false)
		e.configure(map[string]any{"ca_cert": string(ts.CACertPEM)})
		e.OK(logical.UpdateOperation, "roles/nomad/r", map[string]any{"policies": "readonly"})
		resp := e.issue("r")
		_, err := e.Revoke(resp.Secret)
		require.NoError(t, err)
	})
	t.Run("without the CA, config is refused naming ca_cert", func(t *testing.T) {
		e, _ := newTLSEnv(t, false)
		before := e.ts.State()
		e.BadRequest(logical.UpdateOperation, "config/nomad", map[string]any{"address": e.ts.URL, "token": e.ts.RootToken()},
			"TLSUntrustedCertificate", "set ca_cert")
		require.Equal(t, before, e.ts.State())
	})
	t.Run("another CA is refused the same way", func(t *testing.T) {
		e, _ := newTLSEnv(t, false)
		_, other := newTLSEnv(t, false)
		e.BadRequest(logical.UpdateOperation, "config/nomad", map[string]any{"address": e.ts.URL, "token": e.ts.RootToken(), "ca_cert": string(other.CACertPEM)},
			"TLSUntrustedCertificate")
	})
	t.Run("tls_server_name", func(t *testing.T) {
		e, ts := newTLSEnv(t, false)
		e.configure(map[string]any{"ca_cert": string(ts.CACertPEM), "tls_server_name": "localhost"})
		e.BadRequest(logical.UpdateOperation, "config/nomad", map[string]any{"tls_server_name": "nomad.example.com"},
			"TLSHostnameMismatch", "tls_server_name")
	})
	t.Run("client certificate required", func(t *testing.T) {
		e, ts := newTLSEnv(t, true)
		e.BadRequest(logical.UpdateOperation, "config/nomad", map[string]any{"address": e.ts.URL, "token": e.ts.RootToken(), "ca_cert": string(ts.CACertPEM)},
			"config rejected", "TLSClientCertificateRefused", "client_cert")
		e.configure(map[string]any{"ca_cert": string(ts.CACertPEM), "client_cert": string(ts.ClientCertPEM), "client_key": string(ts.ClientKeyPEM)})
		e.OK(logical.UpdateOperation, "roles/nomad/r", map[string]any{"policies": "readonly"})
		resp := e.issue("r")
		_, err := e.Revoke(resp.Secret)
		require.NoError(t, err)

		read := e.OK(logical.ReadOperation, "config/nomad", nil)
		require.Equal(t, true, read.Data["client_key_set"])
		require.Equal(t, true, read.Data["token_set"])
		require.NotContains(t, read.Data, "client_key")
		require.NotContains(t, read.Data, "token")
	})
}
