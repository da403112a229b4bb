package gate

import (
	"context"
	"crypto/sha256"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/seedcast/seedcast/infohash"
	"github.com/seedcast/seedcast/store"
)

// Access runs on every /stream request, and a film plays through many: a
// browser asks for a range at a time. What it needs from the store
// changes seldom, so the gates keep it for a while (cache):
//   - which bundle a torrent is, or that it is none, and the bundle's
//     keys, for accessTTL: another node sharing the database may add a
//     bundle meanwhile;
//   - a session's unlocks of a bundle, for accessTTL, to open the gates
//     they open. For any other gate the store is asked again, so that an
//     unlock shows at once (a payment after an email).
//
// And a viewer's play of a file counts once in playWindow, however many
// requests from its start the player makes (a probe, the stream, a
// replay from the start).
const (
	accessTTL  = 10 * time.Second
	playWindow = time.Hour
	// maxCached bounds each of the cache's maps; when one is full, its
	// stale entries go, and then all of them.
	maxCached = 4096
)

type cache struct {
	mu      sync.Mutex
	bundles map[infohash.Hash]*cachedBundle
	unlocks map[sessionBundle]cachedUnlocks
	plays   map[play]time.Time
}

type cachedBundle struct {
	b    *store.Bundle            // nil: the torrent is no bundle
	keys map[string]store.FileKey // nil until asked for
	at   time.Time
}

type sessionBundle struct{ session, bundle string }

type cachedUnlocks struct {
	gates []string
	at    time.Time
}

// play is a viewer's play of a file: viewer is a session id, or a hash
// of the client's address and user agent when it has none.
type play struct {
	viewer       string
	bundle, path string
}

// prune makes room in m, full: it drops the entries older than ttl by
// at, and then, if it is still full, every entry.
func prune[K comparable, V any](m map[K]V, now time.Time, ttl time.Duration, at func(V) time.Time) {
	for k, v := range m {
		if now.Sub(at(v)) >= ttl {
			delete(m, k)
		}
	}
	if len(m) >= maxCached {
		clear(m)
	}
}

// bundleOf returns the bundle of torrent ih, or nil if it is none.
func (s *Server) bundleOf(ctx context.Context, ih infohash.Hash) (*cachedBundle, error) {
	now := s.cfg.Now()
	c := &s.cache
	c.mu.Lock()
	e := c.bundles[ih]
	c.mu.Unlock()
	if e != nil && now.Sub(e.at) < accessTTL {
		return e, nil
	}
	b, err := s.cfg.Store.BundleByInfoHash(ctx, ih)
	e = &cachedBundle{at: now}
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return nil, err
	default:
		e.b = &b
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bundles == nil {
		c.bundles = make(map[infohash.Hash]*cachedBundle)
	}
	if len(c.bundles) >= maxCached {
		prune(c.bundles, now, accessTTL, func(e *cachedBundle) time.Time { return e.at })
	}
	c.bundles[ih] = e
	return e, nil
}

// keysOf returns the keys of e's bundle.
func (s *Server) keysOf(ctx context.Context, e *cachedBundle) (map[string]store.FileKey, error) {
	c := &s.cache
	c.mu.Lock()
	keys := e.keys
	c.mu.Unlock()
	if keys != nil {
		return keys, nil
	}
	keys, err := s.cfg.Store.Keys(ctx, e.b.ID)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	e.keys = keys
	c.mu.Unlock()
	return keys, nil
}

// unlockedCached is unlocked, kept for accessTTL while it opens gate.
func (s *Server) unlockedCached(r *http.Request, id, gate string) ([]string, error) {
	sess, ok := s.session(r)
	if !ok {
		return nil, nil
	}
	now := s.cfg.Now()
	k := sessionBundle{sess, id}
	c := &s.cache
	c.mu.Lock()
	e, hit := c.unlocks[k]
	c.mu.Unlock()
	if hit && now.Sub(e.at) < accessTTL && opens(e.gates, gate) {
		return e.gates, nil
	}
	gates, err := s.cfg.Store.Unlocked(r.Context(), sess, id, now)
	if err != nil || len(gates) == 0 {
		return gates, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.unlocks == nil {
		c.unlocks = make(map[sessionBundle]cachedUnlocks)
	}
	if len(c.unlocks) >= maxCached {
		prune(c.unlocks, now, accessTTL, func(e cachedUnlocks) time.Time { return e.at })
	}
	c.unlocks[k] = cachedUnlocks{gates, now}
	return gates, nil
}

// countPlay counts a download of the bundle's file at path for r's
// viewer, unless that viewer's was counted within playWindow.
func (s *Server) countPlay(r *http.Request, bundleID, path string) {
	viewer, ok := s.session(r)
	if !ok {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		h := sha256.Sum256([]byte(host + "\x00" + r.UserAgent()))
		viewer = string(h[:16])
	}
	now := s.cfg.Now()
	k := play{viewer, bundleID, path}
	c := &s.cache
	c.mu.Lock()
	if at, seen := c.plays[k]; seen && now.Sub(at) < playWindow {
		c.mu.Unlock()
		return
	}
	if c.plays == nil {
		c.plays = make(map[play]time.Time)
	}
	if len(c.plays) >= maxCached {
		prune(c.plays, now, playWindow, func(t time.Time) time.Time { return t })
	}
	c.plays[k] = now
	c.mu.Unlock()
	if err := s.cfg.Store.CountDownload(r.Context(), bundleID, path); err != nil {
		s.log.Warn("counting a download", "bundle", bundleID, "err", err)
	}
}
