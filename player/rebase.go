package player

import (
	"strings"

	"github.com/anacrolix/torrent/metainfo"
)

// rebase moves the trackers and web seeds of mi that are under from, a
// base URL, to the same paths under to: the node's own tracker (ws and
// http) and web seed, as a viewer reached the node. Others stay as they
// are; the info, and so the info hash, is untouched.
func rebase(mi *metainfo.MetaInfo, from, to string) {
	mi.Announce = swapOrigin(mi.Announce, from, to)
	for _, tier := range mi.AnnounceList {
		for i, u := range tier {
			tier[i] = swapOrigin(u, from, to)
		}
	}
	for i, u := range mi.UrlList {
		mi.UrlList[i] = swapOrigin(u, from, to)
	}
}

// swapOrigin moves u from under base URL from to under to, as http(s) or
// as ws(s).
func swapOrigin(u, from, to string) string {
	for _, ws := range []bool{false, true} {
		f, t := from, to
		if ws {
			f, t = wsURL(from), wsURL(to)
		}
		if rest, ok := strings.CutPrefix(u, f); ok && (rest == "" || strings.HasPrefix(rest, "/") || strings.HasPrefix(rest, "?")) {
			return t + rest
		}
	}
	return u
}

// wsURL is an http(s) URL as ws(s).
func wsURL(u string) string {
	if rest, ok := strings.CutPrefix(u, "http"); ok {
		return "ws" + rest
	}
	return u
}
