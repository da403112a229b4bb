package testnet

import (
	"context"
	"fmt"
	"net/url"
)

// Browser is a tab of a browser running in a host of a test network:
// Chromium (Page), Firefox ESR (Firefox) or WebKitGTK (WebKit). A test that
// takes the same steps in every browser takes a Browser.
type Browser interface {
	// Open loads url and waits for its load event.
	Open(ctx context.Context, url string) error
	// Eval evaluates the JavaScript expression expr in the page, awaits it
	// if it is a promise, and decodes its JSON value into out.
	Eval(ctx context.Context, expr string, out any) error
}

var (
	_ Browser = (*Page)(nil)
	_ Browser = (*Firefox)(nil)
	_ Browser = (*WebKit)(nil)
)

// jsonExpr wraps expr, a JavaScript expression, in one whose value is a
// promise of the JSON text of expr's value, awaited if it is a promise
// ("null" for undefined): what the WebDriver drivers decode.
func jsonExpr(expr string) string {
	// The line breaks keep a comment at the end of expr from swallowing
	// the rest.
	return "(async () => JSON.stringify(await (\n" + expr + "\n)) ?? 'null')()"
}

// secureHosts returns the hosts of origins such as "http://10.231.0.1:8080",
// for browsers that take hosts rather than origins as secure contexts.
func secureHosts(origins []string) ([]string, error) {
	var hosts []string
	for _, o := range origins {
		u, err := url.Parse(o)
		if err != nil || u.Hostname() == "" {
			return nil, fmt.Errorf("testnet: secure origin %q is not an origin like http://10.231.0.1:8080", o)
		}
		hosts = append(hosts, u.Hostname())
	}
	return hosts, nil
}
