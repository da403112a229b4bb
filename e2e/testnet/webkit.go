package testnet

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// webkitStartTimeout bounds the start of Xvfb, of WebKitWebDriver and of
// the browser's session.
const webkitStartTimeout = 30 * time.Second

// maxWebDriverBytes bounds what WebKit.do reads of an answer: at most the
// JSON text of one value a test reads from a page.
const maxWebDriverBytes = 16 << 20

// webkitArgs are MiniBrowser's flags: --automation lets WebKitWebDriver
// drive it (the driver's default, which args given to it replace); films
// may play with sound without a click; the page's console goes to stdout,
// and so into the test log when the test fails.
var webkitArgs = []string{"--automation", "--autoplay-policy=allow", "--enable-write-console-messages-to-stdout=true"}

// WebKit is the tab of a WebKitGTK MiniBrowser started by StartWebKit,
// driven over W3C WebDriver by WebKitWebDriver.
type WebKit struct {
	// Host is the test network host whose namespace the browser runs in.
	Host string

	client  *http.Client // from Host's namespace
	session string       // http://127.0.0.1:<port>/session/<id>
}

// StartWebKit starts WebKitGTK's MiniBrowser in host's namespace, through
// driver (the program WebKitWebDriver, which starts the MiniBrowser that
// WebKitGTK installs beside itself) on a display of its own from xvfb (the
// program Xvfb), since MiniBrowser has no headless mode, and returns its
// tab. Each run has a fresh, ephemeral profile. WebKitGTK counts only
// https and loopback origins as secure contexts, with no flag to add
// others: see Forward. When the test fails, the output of both programs,
// the page's console among it, goes into the test log. A cleanup closes
// the browser, then the driver and the display.
func (n *Net) StartWebKit(ctx context.Context, t testing.TB, host, driver, xvfb string) *WebKit {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, webkitStartTimeout)
	defer cancel()
	display, err := n.startXvfb(sctx, t, host, xvfb)
	if err != nil {
		t.Fatalf("starting Xvfb in %s: %v", host, err)
	}

	port, err := n.freeLoopbackPort(host)
	if err != nil {
		t.Fatalf("WebKitWebDriver in %s: %v", host, err)
	}
	// The default, "local", listens on ::1 as well, and fails in a
	// namespace without IPv6.
	cmd := n.Command(context.WithoutCancel(ctx), host, driver, "--host=127.0.0.1", "--port="+strconv.Itoa(port))
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	proc := Start(t, "WebKitWebDriver in "+host, cmd)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	w := &WebKit{Host: host, client: n.HTTPClient(host)}
	if err := WaitOK(sctx, w.client, base+"/status", proc); err != nil {
		t.Fatalf("WebKitWebDriver in %s not ready: %v", host, err)
	}

	var s struct {
		SessionID string `json:"sessionId"`
	}
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"webkitgtk:browserOptions": map[string]any{"args": webkitArgs},
	}}}
	if err := w.do(sctx, "POST", base+"/session", caps, &s); err != nil {
		t.Fatalf("starting MiniBrowser in %s: %v", host, err)
	}
	w.session = base + "/session/" + s.SessionID
	// Registered after the Start cleanups of Xvfb and the driver, so it runs
	// first: the browser closes while the driver and display are up, then
	// the driver stops.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := w.do(ctx, "DELETE", w.session, nil, nil); err != nil {
			t.Logf("closing MiniBrowser in %s: %v", host, err)
		}
		// WebKitWebDriver ends on SIGINT by dying of it: that is its clean
		// exit.
		var exit *exec.ExitError
		if err := proc.Stop(StopTimeout); err != nil && !(errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signal() == syscall.SIGINT) {
			t.Logf("stopping WebKitWebDriver in %s: %v", host, err)
		}
	})
	return w
}

// startXvfb starts xvfb in host's namespace on a display number it picks
// itself, and returns the display, such as ":1", once it accepts clients.
func (n *Net) startXvfb(ctx context.Context, t testing.TB, host, xvfb string) (string, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		return "", err
	}
	defer r.Close()
	// -displayfd: Xvfb takes the first free display and writes its number
	// to fd 3 once it is ready for clients.
	cmd := n.Command(context.WithoutCancel(ctx), host, xvfb, "-displayfd", "3", "-nolisten", "tcp", "-screen", "0", "1280x800x24")
	cmd.ExtraFiles = []*os.File{w}
	proc := Start(t, "Xvfb in "+host, cmd)
	w.Close()
	if dl, ok := ctx.Deadline(); ok {
		r.SetReadDeadline(dl)
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		if proc.Exited() {
			return "", fmt.Errorf("xvfb exited: %v", proc.Err())
		}
		return "", fmt.Errorf("reading Xvfb's display number: %w", err)
	}
	num := strings.TrimSpace(line)
	if _, err := strconv.Atoi(num); err != nil {
		return "", fmt.Errorf("xvfb wrote %q for its display number", line)
	}
	return ":" + num, nil
}

// freeLoopbackPort returns a TCP port that is free on 127.0.0.1 in host's
// namespace. Only the test's own programs run there, so it stays free
// until the caller's program takes it.
func (n *Net) freeLoopbackPort(host string) (int, error) {
	l, err := n.Listen(host, "tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Open loads url and waits for its load event.
func (w *WebKit) Open(ctx context.Context, url string) error {
	if err := w.do(ctx, "POST", w.session+"/url", map[string]any{"url": url}, nil); err != nil {
		return fmt.Errorf("%s: navigating to %s: %w", w.Host, url, err)
	}
	return nil
}

// Eval evaluates the JavaScript expression expr in the page, awaits it if it
// is a promise, and decodes its JSON value into out. The session's script
// timeout, WebDriver's default of 30 s, bounds it as well as ctx.
func (w *WebKit) Eval(ctx context.Context, expr string, out any) error {
	// A script that returns a promise answers with what it resolves to
	// (W3C WebDriver, "execute script"). WebKitWebDriver 2.50 answered
	// execute/async with {} for such a script, whatever it passed to its
	// callback.
	var text string
	if err := w.do(ctx, "POST", w.session+"/execute/sync", map[string]any{"script": "return " + jsonExpr(expr), "args": []any{}}, &text); err != nil {
		return fmt.Errorf("%s: %w", w.Host, err)
	}
	if err := json.Unmarshal([]byte(text), out); err != nil {
		return fmt.Errorf("%s: decoding the value of %.60q: %w", w.Host, expr, err)
	}
	return nil
}

// do sends a WebDriver command, with body as JSON unless it is nil, and
// decodes the "value" of the answer into out unless out is nil.
func (w *WebKit) do(ctx context.Context, method, url string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := w.client.Do(req)
	if err != nil {
		return fmt.Errorf("WebDriver %s %s: %w", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxWebDriverBytes))
	if err != nil {
		return fmt.Errorf("WebDriver %s %s: %w", method, url, err)
	}
	var answer struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(b, &answer); err != nil {
		return fmt.Errorf("WebDriver %s %s: %s: %w in %.200q", method, url, res.Status, err, b)
	}
	if res.StatusCode != http.StatusOK {
		// An error's value is {error, message, stacktrace} (W3C WebDriver,
		// section 6.6).
		var e struct{ Error, Message string }
		json.Unmarshal(answer.Value, &e)
		return fmt.Errorf("WebDriver %s %s: %s: %s: %s", method, url, res.Status, e.Error, e.Message)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(answer.Value, out); err != nil {
		return fmt.Errorf("WebDriver %s %s: decoding %.200s: %w", method, url, answer.Value, err)
	}
	return nil
}
