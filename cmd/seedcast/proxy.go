package main

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// proxies are the reverse proxies (--trusted-proxy) whose X-Forwarded-For,
// X-Forwarded-Proto and X-Forwarded-Host headers the node believes. Anyone
// else can write those headers, so theirs are dropped.
type proxies []netip.Prefix

// parseProxies reads CIDRs, or single addresses, naming the flag of a bad
// one.
func parseProxies(cidrs []string) (proxies, error) {
	var out proxies
	for _, s := range cidrs {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("--trusted-proxy %q: want a CIDR such as 10.0.0.0/8 or an IP address (SEEDCAST_TRUSTED_PROXY)", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// trusts reports whether a is the address of a trusted proxy.
func (ps proxies) trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Headers a trusted proxy sets (de facto standards; RFC 7239's Forwarded
// says the same in another syntax, which no common proxy sends by default).
const (
	hdrForwardedFor   = "X-Forwarded-For"
	hdrForwardedProto = "X-Forwarded-Proto"
	hdrForwardedHost  = "X-Forwarded-Host"
)

// forwarded is what a trusted proxy said of a request it passed on.
type forwarded struct {
	// proto is the scheme the client used, "http" or "https", or "" if
	// the proxy did not say.
	proto string
	// host is the host the client asked for, from X-Forwarded-Host, or ""
	// if the proxy did not say.
	host string
}

type forwardedKey struct{}

// forwardedOf returns what a trusted proxy said of r, and false if r did
// not come through one.
func forwardedOf(r *http.Request) (forwarded, bool) {
	f, ok := r.Context().Value(forwardedKey{}).(forwarded)
	return f, ok
}

// handler passes requests on to next as they came from the client: from a
// trusted proxy, with RemoteAddr the client's address from
// X-Forwarded-For, so that the tracker lists it and logs name it, and
// what the proxy said in the request's context (forwardedOf); from anyone
// else, with the X-Forwarded-* headers removed.
func (ps proxies) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, ps.rewrite(r))
	})
}

// rewrite returns r as handler passes it on.
func (ps proxies) rewrite(r *http.Request) *http.Request {
	remote, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || !ps.trusts(remote.Addr()) {
		h := r.Header
		if h.Get(hdrForwardedFor) == "" && h.Get(hdrForwardedProto) == "" && h.Get(hdrForwardedHost) == "" {
			return r
		}
		r = r.WithContext(r.Context()) // a shallow copy, to change
		r.Header = h.Clone()
		for _, k := range []string{hdrForwardedFor, hdrForwardedProto, hdrForwardedHost} {
			r.Header.Del(k)
		}
		return r
	}
	f := forwarded{host: lastValue(r.Header, hdrForwardedHost)}
	// The nearest proxy appends its own statement; earlier ones may be
	// the client's, who can write anything.
	switch p := strings.ToLower(lastValue(r.Header, hdrForwardedProto)); p {
	case "http", "https":
		f.proto = p
	}
	r = r.WithContext(context.WithValue(r.Context(), forwardedKey{}, f))
	if client := ps.client(remote.Addr().Unmap(), r.Header.Values(hdrForwardedFor)); client != remote.Addr().Unmap() {
		// The port of the client's end is the proxy's secret.
		r.RemoteAddr = netip.AddrPortFrom(client, 0).String()
	}
	return r
}

// client returns the client's address: the rightmost hop of
// X-Forwarded-For that is not a trusted proxy. Each proxy appends the
// address it got the request from, so hops right of it are proxies'
// claims; it and those left of it are the client's, who can write
// anything. An entry that is no address ends the walk at the hop before.
func (ps proxies) client(remote netip.Addr, xff []string) netip.Addr {
	var hops []string
	for _, v := range xff {
		hops = append(hops, strings.Split(v, ",")...)
	}
	client := remote
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			break
		}
		client = a
		if !ps.trusts(a) {
			break
		}
	}
	return client
}

// parseHop reads an X-Forwarded-For entry: an address, or one with a
// port, as some proxies write ("203.0.113.7:4711", "[2001:db8::1]:4711").
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		if a, err := netip.ParseAddr(host); err == nil {
			return a.Unmap(), true
		}
	}
	return netip.Addr{}, false
}

// lastValue returns the last comma-separated value of header key, trimmed.
func lastValue(h http.Header, key string) string {
	vs := h.Values(key)
	if len(vs) == 0 {
		return ""
	}
	v := vs[len(vs)-1]
	if i := strings.LastIndex(v, ","); i >= 0 {
		v = v[i+1:]
	}
	return strings.TrimSpace(v)
}

// publicURLFor returns, for a node without --public-url behind trusted
// proxies, the base URL that a request through one of them reached the
// node at: the scheme of X-Forwarded-Proto (base's if the proxy does not
// say) and the host of X-Forwarded-Host, else of the Host header, with
// base's path. Requests that came another way get "": base stands.
func publicURLFor(base *url.URL) func(r *http.Request) string {
	return func(r *http.Request) string {
		f, ok := forwardedOf(r)
		if !ok {
			return ""
		}
		scheme := cmp.Or(f.proto, base.Scheme)
		host := strings.ToLower(cmp.Or(f.host, r.Host))
		// A host and nothing else: no user, path or query smuggled in.
		if u, err := url.Parse(scheme + "://" + host); err != nil || u.Host != host || host == "" {
			return ""
		}
		return scheme + "://" + host + base.Path
	}
}
