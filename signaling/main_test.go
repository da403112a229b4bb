package signaling

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"go.uber.org/goleak"

	"github.com/seedcast/seedcast/e2e/testnet"
)

// TestMain fails the run if any goroutine outlives the tests: every server
// and client a test starts must have stopped by then.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// serve runs srv on a test HTTP server and returns its base URL. When t
// ends it cancels Run, checks that Run returned nil having closed every
// socket, and closes the HTTP server.
func serve(t testing.TB, srv *Server) string {
	t.Helper()
	mux := http.NewServeMux()
	srv.Register(mux)
	ts := httptest.NewServer(mux)
	// Cleanups run last first: the HTTP server closes once Run has
	// returned, having closed every socket.
	t.Cleanup(ts.Close)
	testnet.Run(t, srv.Run)
	return ts.URL
}
