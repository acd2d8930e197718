package nomadtest

import (
	"net"
	"testing"

	"github.com/hashicorp/nomad/api"
	"github.com/stretchr/testify/require"
)

func TestTLS(t *testing.T) {
	tests := []struct {
		name       string
		requireCrt bool
		host       string
		withCA     bool
		withCert   bool
		wantErr    string
	}{
		{"CA trusted", false, "", true, false, ""},
		{"localhost name", false, "localhost", true, false, ""},
		{"CA missing", false, "", false, false, "certificate signed by unknown authority"},
		{"client cert required and given", true, "", true, true, ""},
		{"client cert required but missing", true, "", true, false, "certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := StartTLS(t, Options{RequireClientCert: tc.requireCrt})
			require.Contains(t, string(ts.CACertPEM), "BEGIN CERTIFICATE")
			addr := ts.URL
			if tc.host != "" {
				_, port, err := net.SplitHostPort(ts.HTTP.Listener.Addr().String())
				require.NoError(t, err)
				addr = "https://" + net.JoinHostPort(tc.host, port)
			}
			tlsCfg := &api.TLSConfig{}
			if tc.withCA {
				tlsCfg.CACertPEM = ts.CACertPEM
			}
			if tc.withCert {
				tlsCfg.ClientCertPEM, tlsCfg.ClientKeyPEM = ts.ClientCertPEM, ts.ClientKeyPEM
			}
			c, err := api.NewClient(&api.Config{Address: addr, SecretID: ts.RootToken(), TLSConfig: tlsCfg})
			require.NoError(t, err)
			self, _, err := c.ACLTokens().Self(nil)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "Bootstrap Token", self.Name)
		})
	}
	t.Run("helper client", func(t *testing.T) {
		ts := StartTLS(t, Options{RequireClientCert: true})
		resp, err := ts.Client(true).Get(ts.URL + "/v1/acl/token/self")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
		_, err = ts.Client(false).Get(ts.URL + "/v1/acl/token/self")
		require.Error(t, err)
	})
}
