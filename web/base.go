package web

import (
	"net/http"
	"net/url"
	"strings"
)

// requestBase returns the base URL that the answer to r names the node
// by: Config.PublicURLFor's for r, if it gives one, else PublicURL.
func (s *Server) requestBase(r *http.Request) *url.URL {
	if s.cfg.PublicURLFor == nil {
		return s.base
	}
	raw := s.cfg.PublicURLFor(r)
	if raw == "" {
		return s.base
	}
	u, err := url.Parse(strings.TrimSuffix(raw, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		s.log.Debug("bad public URL for a request; using the configured one", "url", raw)
		return s.base
	}
	return u
}

// rebased returns t with the node's own URLs in its magnet and .torrent
// link moved from PublicURL to base.
func (s *Server) rebased(t Torrent, base *url.URL) Torrent {
	if base.String() == s.base.String() {
		return t
	}
	t.TorrentURL = swapOrigin(t.TorrentURL, s.base, base)
	// A magnet's tr= and ws= values are query-escaped URLs.
	for _, ws := range []bool{false, true} {
		from, to := origin(s.base, ws), origin(base, ws)
		t.Magnet = strings.ReplaceAll(t.Magnet, url.QueryEscape(from+"/"), url.QueryEscape(to+"/"))
	}
	return t
}

// swapOrigin moves u, an http(s) or ws(s) URL under from, to the same path
// under to; any other URL stays as it is.
func swapOrigin(u string, from, to *url.URL) string {
	for _, ws := range []bool{false, true} {
		if rest, ok := strings.CutPrefix(u, origin(from, ws)); ok && (rest == "" || strings.HasPrefix(rest, "/") || strings.HasPrefix(rest, "?")) {
			return origin(to, ws) + rest
		}
	}
	return u
}

// origin is base without a trailing slash, with its scheme as WebSocket
// if ws.
func origin(base *url.URL, ws bool) string {
	scheme := base.Scheme
	if ws {
		scheme = map[string]string{"http": "ws", "https": "wss"}[scheme]
	}
	return scheme + "://" + base.Host + strings.TrimSuffix(base.Path, "/")
}
