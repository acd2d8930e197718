package nomadtest

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestServer is a Server listening on 127.0.0.1 for the life of a test.
type TestServer struct {
	*Server
	// URL is the base address, e.g. http://127.0.0.1:PORT; the admin
	// endpoints are under URL + "/_emulator".
	URL string
	// HTTP is the underlying httptest server.
	HTTP *httptest.Server
}

// TLSTestServer is a TestServer serving HTTPS with a certificate signed by
// a CA generated for it.
type TLSTestServer struct {
	*TestServer
	// CACertPEM is the CA that signed the server (and client) certificate.
	CACertPEM []byte
	// ClientCertPEM and ClientKeyPEM are a client certificate signed by the
	// CA, for Options.RequireClientCert.
	ClientCertPEM []byte
	ClientKeyPEM  []byte
}

// Start serves a new Server over plain HTTP on 127.0.0.1 until the test
// ends.
func Start(tb testing.TB, opts Options) *TestServer {
	tb.Helper()
	ts := newTestServer(tb, New(opts))
	ts.HTTP.Start()
	ts.URL = ts.HTTP.URL
	return ts
}

// StartTLS serves a new Server over HTTPS on 127.0.0.1 until the test
// ends. The server certificate is valid for 127.0.0.1 and localhost. With
// opts.RequireClientCert a client certificate signed by the CA is required.
func StartTLS(tb testing.TB, opts Options) *TLSTestServer {
	tb.Helper()
	pki, err := newPKI()
	if err != nil {
		tb.Fatalf("nomadtest: generating certificates: %v", err)
	}
	ts := newTestServer(tb, New(opts))
	serverCert, err := tls.X509KeyPair(pki.serverCertPEM, pki.serverKeyPEM)
	if err != nil {
		tb.Fatalf("nomadtest: loading server certificate: %v", err)
	}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{serverCert},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"http/1.1"}, // keep connections hijackable for Drop
	}
	if opts.RequireClientCert {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pki.caCertPEM)
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	ts.HTTP.TLS = cfg
	ts.HTTP.StartTLS()
	ts.URL = ts.HTTP.URL
	return &TLSTestServer{
		TestServer:    ts,
		CACertPEM:     pki.caCertPEM,
		ClientCertPEM: pki.clientCertPEM,
		ClientKeyPEM:  pki.clientKeyPEM,
	}
}

func newTestServer(tb testing.TB, s *Server) *TestServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("nomadtest: listen: %v", err)
	}
	hs := httptest.NewUnstartedServer(s)
	_ = hs.Listener.Close()
	hs.Listener = ln
	// TLS handshake failures are expected in tests; keep them off stderr.
	hs.Config.ErrorLog = log.New(io.Discard, "", 0)
	tb.Cleanup(hs.Close)
	return &TestServer{Server: s, HTTP: hs}
}

// Client returns an http.Client that trusts the server's CA (and, when
// withClientCert, presents the client certificate).
func (ts *TLSTestServer) Client(withClientCert bool) *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ts.CACertPEM)
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if withClientCert {
		if cert, err := tls.X509KeyPair(ts.ClientCertPEM, ts.ClientKeyPEM); err == nil {
			cfg.Certificates = []tls.Certificate{cert}
		}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
}
