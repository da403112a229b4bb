package swarm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/anacrolix/torrent/metainfo"
)

// ErrFetch means a .torrent could not be fetched from its URL: the server
// was unreachable, too slow, answered with an error or redirected too
// often.
var ErrFetch = errors.New("cannot fetch the .torrent")

// Bounds of a .torrent fetched from a URL. maxTorrentURLBytes is the
// bound the admin API puts on a .torrent it is sent (admin's
// maxTorrentBytes): the info of a few thousand files at 1 MiB pieces; a
// server that sends more is not sending a torrent meant for streaming.
// fetchTimeout bounds the whole fetch, redirects and body included;
// maxRedirects is as many as a browser would follow for a download page,
// fewer than net/http's 10.
const (
	maxTorrentURLBytes = 10 << 20
	fetchTimeout       = 30 * time.Second
	maxRedirects       = 5
)

// parseTorrentURL reads the URL of a .torrent. Its errors wrap ErrFetch.
func parseTorrentURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("swarm: add %s: %w: not a URL (%v); give the http:// or https:// URL of a .torrent", short(raw), ErrFetch, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("swarm: add %s: %w: not an http:// or https:// URL with a host", short(u.Redacted()), ErrFetch)
	}
	return u, nil
}

// newFetchClient returns the HTTP client of fetchTorrent: the default
// transport (proxies from the environment), at most maxRedirects
// redirects, to http or https only.
func newFetchClient() *http.Client {
	return &http.Client{
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > maxRedirects {
				return fmt.Errorf("stopped after %d redirects", maxRedirects)
			}
			if s := req.URL.Scheme; s != "http" && s != "https" {
				return fmt.Errorf("redirected to a %s: URL", s)
			}
			return nil
		},
	}
}

// loadTorrentURL fetches the .torrent at raw with c, within timeout, and
// reads it. Its errors name the URL and say what to do; they wrap
// ErrFetch, or ErrBadTorrentFile for an answer that is no .torrent.
func loadTorrentURL(ctx context.Context, c *http.Client, raw string, timeout time.Duration) (*metainfo.MetaInfo, error) {
	b, err := fetchTorrent(ctx, c, raw, timeout)
	if err != nil {
		return nil, err
	}
	u, _ := parseTorrentURL(raw) // fetchTorrent parsed it
	name := short(u.Redacted())
	if isHTML(b) {
		return nil, fmt.Errorf("swarm: add %s: %w: the server sent a web page; give the URL of the .torrent itself (its download link), not of a page about it", name, ErrBadTorrentFile)
	}
	return parseTorrent(name, bytes.NewReader(b))
}

// fetchTorrent fetches the .torrent at raw with c, within timeout or ctx,
// and returns at most maxTorrentURLBytes of it. Its errors name the URL
// and say what to do; they wrap ErrFetch, or ErrBadTorrentFile for an
// answer too long to be a .torrent.
func fetchTorrent(ctx context.Context, c *http.Client, raw string, timeout time.Duration) ([]byte, error) {
	u, err := parseTorrentURL(raw)
	if err != nil {
		return nil, err
	}
	name := short(u.Redacted())
	fail := func(why string, err error) error {
		return fmt.Errorf("swarm: add %s: %w: %s (%w); check the URL and that its server is up, or download the .torrent and give its file", name, ErrFetch, why, err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fail("bad request", err)
	}
	req.Header.Set("User-Agent", "seedcast")
	req.Header.Set("Accept", "application/x-bittorrent, */*;q=0.5")
	res, err := c.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fail(fmt.Sprintf("no answer within %v", timeout), err)
		}
		return nil, fail("request failed", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("swarm: add %s: %w: the server answered %s; check the URL, which must be the .torrent's own and not a page about it", name, ErrFetch, res.Status)
	}
	tooBig := func(size string) error {
		return fmt.Errorf("swarm: add %s: %w: the answer is %s, over the %d MiB a .torrent may hold; check that the URL is the .torrent's own, not a film's", name, ErrBadTorrentFile, size, maxTorrentURLBytes>>20)
	}
	if res.ContentLength > maxTorrentURLBytes {
		return nil, tooBig(fmt.Sprintf("%d bytes", res.ContentLength))
	}
	var b bytes.Buffer
	n, err := b.ReadFrom(io.LimitReader(res.Body, maxTorrentURLBytes+1))
	switch {
	case n > maxTorrentURLBytes:
		return nil, tooBig("longer")
	case errors.Is(err, context.DeadlineExceeded):
		return nil, fail(fmt.Sprintf("not all sent within %v", timeout), err)
	case err != nil:
		return nil, fail("reading the answer", err)
	}
	return b.Bytes(), nil
}

// isHTML reports whether b looks like a web page (markup first), as a
// server sends for the URL of a page about a torrent, or of a login
// wall. A .torrent starts with "d" (a bencoded dictionary).
func isHTML(b []byte) bool {
	return bytes.HasPrefix(bytes.TrimSpace(b), []byte("<"))
}
