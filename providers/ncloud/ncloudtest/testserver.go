package ncloudtest

import (
	"net"
	"net/http/httptest"
	"testing"
)

// TestServer is a Server listening on 127.0.0.1 for the life of a test.
type TestServer struct {
	*Server
	// URL is the base URL (http://127.0.0.1:port) of both the STS and the
	// Sub Account API; the admin endpoints are under URL + "/_emulator".
	URL string
}

// Start serves a new Server on 127.0.0.1 and closes it in tb.Cleanup.
func Start(tb testing.TB, opts Options) *TestServer {
	tb.Helper()
	s := New(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("ncloudtest: listen: %v", err)
	}
	hs := httptest.NewUnstartedServer(s)
	_ = hs.Listener.Close()
	hs.Listener = ln
	hs.Start()
	tb.Cleanup(hs.Close)
	return &TestServer{Server: s, URL: hs.URL}
}
