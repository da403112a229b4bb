package signaling

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any goroutine outlives the tests: every server
// and client a test starts must have stopped by then.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// serve runs srv on a test HTTP server and returns its base URL. When t
// ends it cancels Run, checks that Run returned nil having closed every
// socket, and closes the HTTP server.
func serve(t *testing.T, srv *Server) string {
	t.Helper()
	mux := http.NewServeMux()
	srv.Register(mux)
	ts := httptest.NewServer(mux)
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("Run: %v", err)
		}
		ts.Close()
	})
	return ts.URL
}
