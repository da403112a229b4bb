package testnet

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ServeHTTPPort is the HTTP port of a seedcast serve started by StartServe.
// Every serve has a host (namespace) of its own, so the port need not be
// free on the machine.
const ServeHTTPPort = 8080

// maxBodyBytes bounds what Serve.Get reads of an answer: a .torrent of a
// large folder is a few MiB.
const maxBodyBytes = 16 << 20

// ServeOptions says how StartServe runs seedcast serve.
type ServeOptions struct {
	// Bin is the seedcast binary.
	Bin string
	// LogLevel is serve's --log-level.
	LogLevel string
	// Args follow serve's --addr, --data and --log-level: more flags, then
	// the paths, .torrent files or magnets to seed.
	Args []string
	// DataDir is serve's --data directory; empty means a fresh one. A
	// restart names the one of the serve before it.
	DataDir string
	// Addr is serve's --addr; the zero value means the host's address,
	// port ServeHTTPPort.
	Addr netip.AddrPort
	// URL and Client, if set, are how the test reaches serve in place of
	// http://Addr and a plain client from the host: for a serve of HTTPS
	// under a name, say.
	URL    string
	Client *http.Client
	// Env are more environment variables, KEY=value, such as serve's
	// SEEDCAST_* twins of flags.
	Env []string
}

// Serve is a seedcast serve running in a host of a test network, started
// by StartServe.
type Serve struct {
	// Proc is the running program.
	Proc *Process
	// Host is the test network host it runs in.
	Host string
	// URL is its base URL in the test network: http://10.231.0.<i>:8080
	// unless ServeOptions said otherwise.
	URL string
	// DataDir is its --data directory, fresh for it.
	DataDir string

	client *http.Client // from Host's namespace
}

// StartServe starts seedcast serve in host's namespace, listening for HTTP
// on the host's address, port ServeHTTPPort, with o's data directory or a
// fresh one, the environment of this process without SEEDCAST_* variables
// (CleanEnv) and with o.Env, and o's log level and arguments. ctx kills it
// as in exec.CommandContext;
// pass a context without cancel to have only Stop, and so SIGINT, end it.
// It does not wait for serve to be ready: see WaitReady.
func (n *Net) StartServe(ctx context.Context, tb testing.TB, host string, o ServeOptions) *Serve {
	tb.Helper()
	addr := netip.AddrPortFrom(n.Addr(host), ServeHTTPPort)
	if o.Addr.IsValid() {
		addr = o.Addr
	}
	s := &Serve{
		Host:    host,
		URL:     "http://" + addr.String(),
		DataDir: o.DataDir,
		client:  n.HTTPClient(host),
	}
	if s.DataDir == "" {
		s.DataDir = filepath.Join(tb.TempDir(), "data")
	}
	if o.URL != "" {
		s.URL = o.URL
	}
	if o.Client != nil {
		s.client = o.Client
	}
	args := append([]string{"serve",
		"--addr", addr.String(),
		"--data", s.DataDir,
		"--log-level", o.LogLevel,
	}, o.Args...)
	cmd := n.Command(ctx, host, o.Bin, args...)
	cmd.Env = append(CleanEnv(), o.Env...)
	s.Proc = Start(tb, "seedcast serve in "+host, cmd)
	return s
}

// CleanEnv returns the environment of this process without SEEDCAST_*
// variables, which would silently change the flags of seedcast's commands.
func CleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SEEDCAST_") {
			env = append(env, kv)
		}
	}
	return env
}

// WaitReady waits up to timeout, or until ctx is done, for serve's /healthz
// to answer 200 OK, and gives up at once if serve exits.
func (s *Serve) WaitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return WaitOK(ctx, s.client, s.URL+"/healthz", s.Proc)
}

// Get fetches path from serve, from its host, and returns the body of a
// 200 answer; any other status is an error that quotes the body.
func (s *Serve) Get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", s.URL+path, nil)
	if err != nil {
		return nil, err
	}
	res, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxBodyBytes))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %q", path, res.Status, truncate(body, 512))
	}
	return body, nil
}

// GetJSON decodes the JSON body of a 200 answer to GET path into out.
func (s *Serve) GetJSON(ctx context.Context, path string, out any) error {
	body, err := s.Get(ctx, path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("GET %s: %w in %q", path, err, truncate(body, 512))
	}
	return nil
}

// truncate returns at most the first n bytes of b.
func truncate(b []byte, n int) []byte {
	return b[:min(len(b), n)]
}
