package gate

import (
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Bounds of what one address may ask of the gates: each unlock, mail
// and checkout writes to the store, and a mail goes out to a stranger's
// address, so a client gets a few a minute.
const (
	// gateRate and gateBurst bound the gate requests of one client
	// address.
	gateRate  = rate.Limit(10.0 / 60) // 10 a minute
	gateBurst = 5
	// maxLimited bounds the addresses remembered; when full, those idle
	// are forgotten, and then others down to half (forget).
	maxLimited = 10_000
)

// limiter holds one token bucket per client address.
type limiter struct {
	mu   sync.Mutex
	by   map[string]*bucket
	now  func() time.Time
	rate rate.Limit
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// allow reports whether r's client may make one more gate request now.
func (l *limiter) allow(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.by == nil {
		l.by = make(map[string]*bucket)
	}
	b := l.by[host]
	if b == nil {
		if len(l.by) >= maxLimited {
			l.forget(now)
		}
		b = &bucket{lim: rate.NewLimiter(l.rate, gateBurst)}
		l.by[host] = b
	}
	b.seen = now
	return b.lim.AllowN(now, 1)
}

// forget makes room: it drops the buckets idle long enough to be full
// again, which a new bucket equals, and then, while over half are left,
// any others.
func (l *limiter) forget(now time.Time) {
	full := time.Duration(float64(gateBurst) / float64(l.rate) * float64(time.Second))
	for k, b := range l.by {
		if now.Sub(b.seen) > full {
			delete(l.by, k)
		}
	}
	for k := range l.by {
		if len(l.by) <= maxLimited/2 {
			break
		}
		delete(l.by, k)
	}
}
