package testnet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Page is a tab of a headless Chromium started by StartChromium.
type Page struct {
	// Host is the test network host whose namespace Chromium runs in.
	Host string

	ctx     context.Context // chromedp context of the tab
	console *Buffer         // console messages and uncaught exceptions of every tab
	output  *Buffer         // Chromium's own stdout and stderr
}

// StartChromium starts a headless Chromium (the program chromium, such as
// /usr/bin/chromium) in host's namespace, with a fresh profile, and returns
// its tab. Chromium runs with background networking, component updates, sync,
// QUIC and the GPU off, and with its defaults otherwise: in particular WebRTC
// hides host candidates behind mDNS names as it does for real users. Pages
// from secureOrigins (such as "http://10.231.0.1:8080") count as secure
// contexts, which crypto.subtle and service workers need. chromedp drives it
// over --remote-debugging-pipe, so no DevTools port has to be reached inside
// the namespace. When the test fails, the page's console and Chromium's output
// go into the test log. A cleanup closes Chromium.
func (n *Net) StartChromium(ctx context.Context, t testing.TB, host, chromium string, secureOrigins ...string) *Page {
	t.Helper()
	return n.StartChromiumFlags(ctx, t, host, chromium, nil, secureOrigins...)
}

// StartChromiumFlags is StartChromium with more command-line flags, name
// to value (true for a flag without one), such as
// {"disable-features": "WebRtcHideLocalIpsWithMdns"}.
func (n *Net) StartChromiumFlags(ctx context.Context, t testing.TB, host, chromium string, flags map[string]any, secureOrigins ...string) *Page {
	t.Helper()
	ip, err := exec.LookPath("ip")
	if err != nil {
		t.Fatal(err)
	}
	ns := n.Namespace(host)
	p := &Page{Host: host, console: new(Buffer), output: new(Buffer)}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", "new"),
		chromedp.Flag("no-sandbox", true), // as root
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("hide-scrollbars", true), // screenshots show the page alone
		chromedp.CombinedOutput(p.output),
		chromedp.ModifyCmdFunc(func(cmd *exec.Cmd) {
			// ip netns exec execs Chromium in place, so the pipes on fds 3
			// and 4 and the death signal reach Chromium itself.
			cmd.Args = append([]string{"ip", "netns", "exec", ns, cmd.Path}, cmd.Args[1:]...)
			cmd.Path = ip
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		}),
	}
	for name, v := range flags {
		opts = append(opts, chromedp.Flag(name, v))
	}
	if len(secureOrigins) > 0 {
		opts = append(opts, chromedp.Flag("unsafely-treat-insecure-origin-as-secure", strings.Join(secureOrigins, ",")))
	}
	// The browser outlives ctx so that the cleanup can close it and collect
	// its logs; ctx bounds each call instead.
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.WithoutCancel(ctx), opts...)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)
	p.ctx = tabCtx
	consoleDone := make(chan struct{})
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		<-consoleDone
		if t.Failed() {
			t.Logf("%s: Chromium console:\n%s", host, p.console.String())
			t.Logf("%s: Chromium output:\n%s", host, p.output.String())
		}
	})
	// The first Run starts Chromium, and the tab lives as long as the context
	// of that Run, so it gets the tab's own context; ctx only cuts it short.
	stop := context.AfterFunc(ctx, cancelTab)
	err = chromedp.Do(tabCtx)
	stop()
	if err != nil {
		close(consoleDone)
		t.Fatalf("starting Chromium in %s: %v", host, err)
	}
	p.recordConsole(tabCtx, consoleDone)
	return p
}

// recordConsole copies the console messages of the tab of ctx into the
// page's console buffer until the tab closes, then closes done.
func (p *Page) recordConsole(ctx context.Context, done chan<- struct{}) {
	msgs := chromedp.Console(ctx)
	go func() {
		defer close(done)
		for m, err := range msgs {
			if err != nil {
				return
			}
			fmt.Fprintf(p.console, "%s %s\n", m.Time.Format("15:04:05.000"), m)
		}
	}()
}

// Console returns the console messages and uncaught exceptions of the page
// so far, one per line with a time stamp.
func (p *Page) Console() string { return p.console.String() }

// run runs actions in the tab; ctx bounds the wait.
func (p *Page) run(ctx context.Context, actions ...chromedp.Action[chromedp.Void]) error {
	// A context derived from the tab's runs in the same tab; cancelling it
	// stops only these actions.
	actx, cancel := context.WithCancel(p.ctx)
	defer cancel()
	defer context.AfterFunc(ctx, cancel)()
	err := chromedp.Do(actx, actions...)
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}

// Open loads url and waits for its load event; unlike Navigate it expects no
// test module, so it opens any page, such as the node's own.
func (p *Page) Open(ctx context.Context, url string) error {
	if err := p.run(ctx, chromedp.Navigate(url)); err != nil {
		return fmt.Errorf("%s: navigating to %s: %w", p.Host, url, err)
	}
	return nil
}

// Navigate loads url and waits until its window.e2e, the promise of the page's
// test module, has resolved.
func (p *Page) Navigate(ctx context.Context, url string) error {
	if err := p.Open(ctx, url); err != nil {
		return err
	}
	var ok bool
	if err := p.Eval(ctx, "window.e2e.then(() => true)", &ok); err != nil {
		return fmt.Errorf("%s: loading the test module of %s: %w", p.Host, url, err)
	}
	return nil
}

// Eval evaluates the JavaScript expression expr in the page, awaits it if it
// is a promise, and decodes its JSON value into out.
func (p *Page) Eval(ctx context.Context, expr string, out any) error {
	var raw []byte
	err := p.run(ctx, chromedp.Func(func(actx context.Context, tgt *chromedp.Target) error {
		var err error
		raw, err = chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise)(actx, tgt)
		return err
	}))
	if err != nil {
		var exc *chromedp.ExceptionError
		if errors.As(err, &exc) {
			return fmt.Errorf("%s: %s", p.Host, exc.Error())
		}
		return err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s: decoding the value of %.60q: %w", p.Host, expr, err)
	}
	return nil
}

// Call calls fn, an export of the page's test module (window.e2e), with args
// as JSON, and decodes the JSON value it resolves to into out.
func (p *Page) Call(ctx context.Context, out any, fn string, args ...any) error {
	if args == nil {
		args = []any{} // not null
	}
	name, _ := json.Marshal(fn)
	js, err := json.Marshal(args)
	if err != nil {
		return err
	}
	return p.Eval(ctx, fmt.Sprintf("window.e2e.then(m => m[%s](...%s))", name, js), out)
}

// InitScript has js run before the scripts of every document the tab loads
// from now on, in every frame.
func (p *Page) InitScript(ctx context.Context, js string) error {
	return p.run(ctx, chromedp.Func(func(actx context.Context, tgt *chromedp.Target) error {
		_, err := cdp.Call(actx, tgt, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: js})
		return err
	}))
}

// Viewport sets the size of the tab's viewport in CSS pixels; mobile
// emulates a phone's touch screen at twice the pixel density.
func (p *Page) Viewport(ctx context.Context, w, h int64, mobile bool) error {
	var opts []chromedp.EmulateViewportOption
	if mobile {
		opts = append(opts, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	return p.run(ctx, chromedp.EmulateViewport(w, h, opts...))
}

// Click moves the mouse to x, y, in CSS pixels of the viewport, and
// clicks there, as a person does: the page gets a user activation, which
// a click() from script does not give.
func (p *Page) Click(ctx context.Context, x, y float64) error {
	return p.run(ctx, chromedp.MouseEvent(chromedp.MouseMoved, x, y), chromedp.MouseClickXY(x, y))
}

// Tap touches the screen at x, y, in CSS pixels of the viewport, and lifts
// the finger, as a tap on a phone; the page sees pointer events of type
// touch, and a click. The viewport must emulate a touch screen (Viewport
// with mobile).
func (p *Page) Tap(ctx context.Context, x, y float64) error {
	return p.run(ctx, chromedp.Func(func(actx context.Context, tgt *chromedp.Target) error {
		start := input.DispatchTouchEventParams{Type: input.DispatchTouchEventTypeTouchStart, TouchPoints: []*input.TouchPoint{{X: x, Y: y}}}
		if _, err := cdp.Call(actx, tgt, input.DispatchTouchEvent, start); err != nil {
			return err
		}
		end := input.DispatchTouchEventParams{Type: input.DispatchTouchEventTypeTouchEnd, TouchPoints: []*input.TouchPoint{}}
		_, err := cdp.Call(actx, tgt, input.DispatchTouchEvent, end)
		return err
	}))
}

// Press types keys, such as kb.ArrowLeft or "k", into the focused element
// of the page, as a keyboard does.
func (p *Page) Press(ctx context.Context, keys string) error {
	return p.run(ctx, chromedp.KeyEvent(keys))
}

// Screenshot returns a PNG of the whole page.
func (p *Page) Screenshot(ctx context.Context) ([]byte, error) {
	var png []byte
	err := p.run(ctx, chromedp.Func(func(actx context.Context, tgt *chromedp.Target) error {
		var err error
		png, err = chromedp.FullScreenshot(100)(actx, tgt)
		return err
	}))
	return png, err
}
