package signaling

// This file runs the same protocol scenarios against seedcast's tracker and
// against the reference, the npm bittorrent-tracker server (v11.2.3, which
// every WebTorrent client is written against), and compares what the clients
// receive. Section 1 of notes/webtorrent-interop.md describes the protocol.
//
// Each scenario drives real WebSocket clients and records a transcript: one
// line per message sent and a summary of each message received, naming ids
// ("A", "IH", "A.o1") instead of printing their bytes. The two transcripts
// must be equal, except lines that start with "≠", which mark a deliberate
// divergence; each one's reason is written beside the table entry or code
// that produces it.
//
// Every identifier here starts with "ref" to stay clear of the package's own.

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/seedcast/seedcast/e2e/testnet"
)

const (
	// refReadWait bounds every read and write of a test client. Replies
	// come within milliseconds, so reaching it is a failure, not a skip.
	refReadWait = 5 * time.Second
	// refStartWait bounds the reference server's start-up; node loads about
	// 80 modules first.
	refStartWait = 30 * time.Second
	// refVersion is the bittorrent-tracker release these tests describe.
	refVersion = "11.2.3"
)

// refImpl names a tracker implementation under test.
type refImpl string

const (
	refImplReference refImpl = "reference"
	refImplSeedcast  refImpl = "seedcast"
)

// refScenario is one protocol scenario, run once against each tracker.
type refScenario struct {
	name string
	// cfg configures seedcast's server; the reference always runs with its
	// defaults (WS interval 120 s, no message or offer limits).
	cfg Config
	// ownReference runs the scenario on a reference server of its own
	// rather than the one the other scenarios share (each scenario uses
	// fresh info hashes, so they do not meet): for a scrape of every swarm.
	ownReference bool
	run          func(e *refEnv)
}

// TestReferenceTracker runs every scenario against the reference tracker
// and against seedcast's, and compares their transcripts.
func TestReferenceTracker(t *testing.T) {
	node, pkgDir := refLocate(t)
	shared := refStartReference(t, node, pkgDir)
	for _, sc := range refScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			var done []*refEnv
			for _, impl := range []refImpl{refImplReference, refImplSeedcast} {
				t.Run(string(impl), func(t *testing.T) {
					var url string
					switch impl {
					case refImplReference:
						url = shared
						if sc.ownReference {
							url = refStartReference(t, node, pkgDir)
						}
					case refImplSeedcast:
						url = refStartSeedcast(t, sc.cfg)
					}
					e := &refEnv{t: t, impl: impl, url: url, names: make(map[string]string)}
					sc.run(e)
					for _, l := range e.lines {
						if strings.HasPrefix(l, "≠") {
							t.Logf("divergence: %s", l)
						}
					}
					done = append(done, e)
				})
			}
			if len(done) == 2 {
				refCompare(t, done[0], done[1])
			}
		})
	}
}

func refScenarios() []refScenario {
	scs := []refScenario{
		{name: "announce", run: refScenarioAnnounce},
	}
	for n := 1; n <= 5; n++ {
		scs = append(scs, refScenario{name: fmt.Sprintf("relay/offers=%d", n), run: refScenarioRelay(n)})
	}
	scs = append(scs,
		refScenario{name: "answer", run: refScenarioAnswer},
		refScenario{name: "scrape", ownReference: true, run: refScenarioScrape},
		refScenario{name: "stopped", run: refScenarioStopped},
		refScenario{name: "close", run: refScenarioClose},
	)
	for _, bc := range refBadCases() {
		scs = append(scs, refScenario{name: "bad/" + bc.name, run: bc.run})
	}
	// Config.MaxSwarmsPerSocket's documented default; the second case sets
	// it, so the test does not depend on the default alone.
	const defaultMaxSwarmsPerSocket = 100
	for _, limit := range []int{0, 8} {
		name, n := "many-swarms/default", defaultMaxSwarmsPerSocket
		if limit != 0 {
			name, n = fmt.Sprintf("many-swarms/limit=%d", limit), limit
		}
		scs = append(scs, refScenario{
			name: name,
			cfg:  Config{MaxSwarmsPerSocket: limit},
			run:  refScenarioManySwarms(n),
		})
	}
	return scs
}

// refScenarioAnnounce checks the reply to announces without offers and its
// counts: left=0 is a seeder, left>0 or no left (a browser without the
// metadata yet) a leecher, "started" twice counts once, and "completed"
// turns a leecher into a seeder.
func refScenarioAnnounce(e *refEnv) {
	// An info hash full of bytes that JSON escapes or encodes in two UTF-8
	// bytes: NUL, quote, backslash, newline, DEL, HTML specials, latin-1.
	ih := e.bin("IH", []byte{0x00, '"', '\\', '\n', 0x7f, '<', '>', '&', 0x80, 0x9f, 0xa0, 0xe9, 0xff, 0x01, 0x1f, '/', 'a', 'Z', 0xc3, 0xa9})
	// The seeder's peer id is plain ASCII, like WebTorrent's "-WW0300-…".
	sID := e.bin("S", []byte("-WW0300-0123456789ab"))
	lID, uID := e.id("L"), e.id("U")
	s, l, u := e.dial("S"), e.dial("L"), e.dial("U")
	for _, st := range []struct {
		c                    *refClient
		a                    refAnn
		complete, incomplete int
	}{
		{s, refAnn{ih: ih, peer: sID, event: "started", left: 0, offers: []refOffer{}}, 1, 0},
		{l, refAnn{ih: ih, peer: lID, event: "started", left: 1 << 20, offers: []refOffer{}}, 1, 1},
		{u, refAnn{ih: ih, peer: uID, event: "started", left: refLeftUnknown, offers: []refOffer{}}, 1, 2},
		{s, refAnn{ih: ih, peer: sID, left: 0, offers: []refOffer{}}, 1, 2}, // periodic: no event
		{s, refAnn{ih: ih, peer: sID, event: "started", left: 0, offers: []refOffer{}}, 1, 2},
		{l, refAnn{ih: ih, peer: lID, event: "completed", left: 0}, 2, 1},
	} {
		st.c.announce(st.a)
		e.wantAnnounceReply(st.c.recv(), ih, st.complete, st.incomplete)
	}
}

// refScenarioRelay has A announce n offers into a swarm of three leechers:
// each of the first min(n, 3) offers goes to a distinct peer, surplus offers
// are dropped, and none comes back to A.
func refScenarioRelay(n int) func(e *refEnv) {
	return func(e *refEnv) {
		ih := e.id("IH")
		var others []*refClient
		for i, name := range []string{"B", "C", "D"} {
			c := e.dial(name)
			c.announce(refAnn{ih: ih, peer: e.id(name), event: "started", left: 1000, offers: []refOffer{}})
			e.wantAnnounceReply(c.recv(), ih, 0, i+1)
			others = append(others, c)
		}
		a, aID := e.dial("A"), e.id("A")
		offers := e.offers("A", n)
		a.announce(refAnn{ih: ih, peer: aID, event: "started", left: 1000, offers: offers})
		e.wantAnnounceReply(a.recv(), ih, 0, 4)
		if got := a.drain(ih); len(got) > 0 {
			e.fatalf("A received %d messages after its reply, want none (an offer must never go back to its sender): %s", len(got), e.summaries(got))
		}
		e.record("A: nothing else")

		// Which peer gets which offer is random, so the transcript lists
		// the relayed offers sorted and without their recipients.
		var relayed []string
		to := make(map[string]string) // offer_id → recipient
		for _, c := range others {
			got := c.drain(ih)
			if len(got) > 1 {
				e.fatalf("%s received %d messages, want at most one offer: %s", c.name, len(got), e.summaries(got))
			}
			for _, m := range got {
				e.wantOffer(m, ih, aID, offers)
				if prev, dup := to[m.str("offer_id")]; dup {
					e.fatalf("offer %s relayed to both %s and %s", e.nameOf(m["offer_id"]), prev, c.name)
				}
				to[m.str("offer_id")] = c.name
				relayed = append(relayed, "(a peer) <- "+e.summary(m))
			}
		}
		if want := min(n, len(others)); len(relayed) != want {
			e.fatalf("%d of %d offers relayed, want %d (one per other peer)", len(relayed), n, want)
		}
		slices.Sort(relayed)
		for _, l := range relayed {
			e.record("%s", l)
		}
		e.record("%d of %d offers relayed, to distinct peers", len(relayed), n)
	}
}

// refScenarioAnswer has B answer A's offer: A receives the answer with B's
// peer id and the offer id, and B receives nothing in reply.
func refScenarioAnswer(e *refEnv) {
	ih := e.id("IH")
	a, b := e.dial("A"), e.dial("B")
	aID, bID := e.id("A"), e.id("B")
	b.announce(refAnn{ih: ih, peer: bID, event: "started", left: 1000, offers: []refOffer{}})
	e.wantAnnounceReply(b.recv(), ih, 0, 1)
	offers := e.offers("A", 1)
	a.announce(refAnn{ih: ih, peer: aID, event: "started", left: 1000, offers: offers})
	e.wantAnnounceReply(a.recv(), ih, 0, 2)
	e.wantOffer(b.recv(), ih, aID, offers)

	answer := map[string]any{"type": "answer", "sdp": e.sdp("B.answer")}
	b.send(map[string]any{
		"action": "announce", "info_hash": ih, "peer_id": bID,
		"to_peer_id": aID, "answer": answer, "offer_id": offers[0].id,
	})
	e.record("B -> answer to_peer_id=A offer_id=A.o1")
	m := a.recv()
	if m.str("action") != "announce" || m.has("failure reason") || m.str("info_hash") != ih ||
		m.str("peer_id") != bID || m.str("offer_id") != offers[0].id || !reflect.DeepEqual(m["answer"], answer) {
		e.fatalf("A received %s, want the answer of B to offer A.o1", e.summary(m))
	}
	if got := b.drain(ih); len(got) > 0 {
		e.fatalf("B received %s after answering, want nothing", e.summaries(got))
	}
	e.record("B: nothing in reply")
	if got := a.drain(ih); len(got) > 0 {
		e.fatalf("A received %s after the answer, want nothing", e.summaries(got))
	}
	e.record("A: nothing else")
}

// refScenarioScrape scrapes over the WebSocket with one info hash, a list
// including an unknown one, an empty list, and none (every swarm).
func refScenarioScrape(e *refEnv) {
	ih1, ih2, ih3 := e.id("IH1"), e.id("IH2"), e.id("IH3")
	s, l, m, n := e.dial("S"), e.dial("L"), e.dial("M"), e.dial("N")
	sID, lID, mID, nID := e.id("S"), e.id("L"), e.id("M"), e.id("N")
	s.announce(refAnn{ih: ih1, peer: sID, event: "started", left: 0, offers: []refOffer{}})
	e.wantAnnounceReply(s.recv(), ih1, 1, 0)
	l.announce(refAnn{ih: ih1, peer: lID, event: "started", left: 10, offers: []refOffer{}})
	e.wantAnnounceReply(l.recv(), ih1, 1, 1)
	l.announce(refAnn{ih: ih1, peer: lID, event: "completed", left: 0})
	e.wantAnnounceReply(l.recv(), ih1, 2, 0)
	m.announce(refAnn{ih: ih1, peer: mID, event: "started", left: 10, offers: []refOffer{}})
	e.wantAnnounceReply(m.recv(), ih1, 2, 1)
	n.announce(refAnn{ih: ih2, peer: nID, event: "started", left: 10, offers: []refOffer{}})
	e.wantAnnounceReply(n.recv(), ih2, 0, 1)

	q := e.dial("Q") // a socket that never announced
	type counts struct{ complete, incomplete int }
	for _, st := range []struct {
		desc     string
		infoHash any // omitted when nil
		want     map[string]counts
	}{
		{"one", ih1, map[string]counts{ih1: {2, 1}}},
		{"list", []string{ih1, ih2, ih3}, map[string]counts{ih1: {2, 1}, ih2: {0, 1}, ih3: {0, 0}}},
		{"empty list", []string{}, map[string]counts{}},
		{"all", nil, map[string]counts{ih1: {2, 1}, ih2: {0, 1}}},
	} {
		msg := map[string]any{"action": "scrape"}
		if st.infoHash != nil {
			msg["info_hash"] = st.infoHash
		}
		q.send(msg)
		e.record("Q -> scrape %s", st.desc)
		r := q.recv()
		files, _ := r["files"].(map[string]any)
		if r.str("action") != "scrape" || r.has("failure reason") || files == nil {
			e.fatalf("scrape %s: got %s, want a scrape reply with files", st.desc, e.summary(r))
		}
		got := make(map[string]counts)
		for k, v := range files {
			f, _ := v.(map[string]any)
			c, ok1 := f["complete"].(float64)
			i, ok2 := f["incomplete"].(float64)
			// "downloaded" means different things: the reference reports
			// the current seeders as a lower bound (its TODO in
			// _onScrape), seedcast the completed events it has seen. Only
			// its presence is compared; the raw messages show the values.
			_, ok3 := f["downloaded"].(float64)
			if !ok1 || !ok2 || !ok3 {
				e.fatalf("scrape %s: file %s is %v, want complete, incomplete and downloaded numbers", st.desc, e.nameOf(k), v)
			}
			got[k] = counts{int(c), int(i)}
		}
		if !maps.Equal(got, st.want) {
			var want []string
			for k, c := range st.want {
				want = append(want, fmt.Sprintf("%s:%d/%d", e.nameOf(k), c.complete, c.incomplete))
			}
			slices.Sort(want)
			// Not fatal: the remaining kinds of scrape are still worth
			// checking.
			e.errorf("scrape %s: got %s, want files{%s}", st.desc, e.summary(r), strings.Join(want, " "))
		}
	}
}

// refScenarioStopped checks that "stopped" lowers the counts, that a stopped
// peer gets no more offers, and that stopping a peer the swarm does not know
// is answered like any announce.
func refScenarioStopped(e *refEnv) {
	ih := e.id("IH")
	ids := make(map[string]string)
	cs := make(map[string]*refClient)
	for i, name := range []string{"A", "B", "C", "D"} {
		cs[name], ids[name] = e.dial(name), e.id(name)
		left := int64(1000)
		if name == "D" {
			left = 0
		}
		cs[name].announce(refAnn{ih: ih, peer: ids[name], event: "started", left: left, offers: []refOffer{}})
		want := [][2]int{{0, 1}, {0, 2}, {0, 3}, {1, 3}}[i]
		e.wantAnnounceReply(cs[name].recv(), ih, want[0], want[1])
	}
	cs["B"].announce(refAnn{ih: ih, peer: ids["B"], event: "stopped", left: 1000})
	e.wantAnnounceReply(cs["B"].recv(), ih, 1, 2)
	cs["D"].announce(refAnn{ih: ih, peer: ids["D"], event: "stopped", left: 0})
	e.wantAnnounceReply(cs["D"].recv(), ih, 0, 2)
	x, xID := e.dial("X"), e.id("X")
	x.announce(refAnn{ih: ih, peer: xID, event: "stopped", left: 1000})
	e.wantAnnounceReply(x.recv(), ih, 0, 2)

	offers := e.offers("A", 3)
	cs["A"].announce(refAnn{ih: ih, peer: ids["A"], left: 1000, offers: offers})
	e.wantAnnounceReply(cs["A"].recv(), ih, 0, 2)
	e.wantOffer(cs["C"].recv(), ih, ids["A"], offers[:1])
	for _, c := range []*refClient{cs["A"], cs["B"], cs["C"], cs["D"], x} {
		if got := c.drain(ih); len(got) > 0 {
			e.fatalf("%s received %s, want nothing: only C is left to get an offer", c.name, e.summaries(got))
		}
	}
	e.record("A, B, C, D, X: nothing else")
}

// refScenarioClose checks that a closed socket's peer leaves the swarm:
// after a close handshake (B) and after the TCP connection just drops (C).
func refScenarioClose(e *refEnv) {
	ih := e.id("IH")
	ids := make(map[string]string)
	cs := make(map[string]*refClient)
	for i, name := range []string{"A", "B", "C", "D"} {
		cs[name], ids[name] = e.dial(name), e.id(name)
		cs[name].announce(refAnn{ih: ih, peer: ids[name], event: "started", left: 1000, offers: []refOffer{}})
		e.wantAnnounceReply(cs[name].recv(), ih, 0, i+1)
	}
	b := cs["B"]
	b.conn.SetWriteDeadline(time.Now().Add(refReadWait))
	if err := b.conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "")); err != nil {
		e.fatalf("B: close: %v", err)
	}
	b.conn.Close()
	e.record("B -> close frame, then closes")
	cs["C"].conn.NetConn().Close()
	e.record("C: TCP connection closed, no close frame")

	// The tracker notices a close asynchronously: poll the counts.
	q := e.dial("Q")
	e.waitCounts(q, ih, 0, 2)

	offers := e.offers("A", 3)
	cs["A"].announce(refAnn{ih: ih, peer: ids["A"], left: 1000, offers: offers})
	e.wantAnnounceReply(cs["A"].recv(), ih, 0, 2)
	e.wantOffer(cs["D"].recv(), ih, ids["A"], offers[:1])
	for _, c := range []*refClient{cs["A"], cs["D"]} {
		if got := c.drain(ih); len(got) > 0 {
			e.fatalf("%s received %s, want nothing: only D is left to get an offer", c.name, e.summaries(got))
		}
	}
	e.record("A, D: nothing else")
}

// refScenarioManySwarms has one socket announce limit swarms, then one
// more. seedcast bounds the swarms of one socket (Config.MaxSwarmsPerSocket)
// so that a single client cannot make the tracker grow without bound; the
// reference has no such limit.
func refScenarioManySwarms(limit int) func(e *refEnv) {
	return func(e *refEnv) {
		x, xID := e.dial("X"), e.id("X")
		ihs := make([]string, limit+1)
		for i := range ihs {
			ihs[i] = e.id(fmt.Sprintf("IH%d", i+1))
		}
		for i, ih := range ihs[:limit] {
			x.send(refAnn{ih: ih, peer: xID, event: "started", left: 1000, offers: []refOffer{}}.msg())
			if m := x.recvQuiet(); m.str("action") != "announce" || m.has("failure reason") || m.str("info_hash") != ih {
				e.fatalf("announce %d of %d: got %s, want an announce reply", i+1, limit, e.summary(m))
			}
		}
		e.record("X -> %d announces of distinct swarms, all answered", limit)

		over := ihs[limit]
		x.announce(refAnn{ih: over, peer: xID, event: "started", left: 1000, offers: []refOffer{}})
		m := x.recvQuiet()
		y := e.dial("Y")
		switch e.impl {
		case refImplReference:
			e.wantAnnounceReply(m, over, 0, 1)
			e.diverge("X <- %s: the reference has no per-socket limit", e.summary(m))
			e.wantScrape(y, over, 0, 1)
			e.diverge("Y scrapes %s: 0/1, X joined it", e.nameOf(over))
		case refImplSeedcast:
			e.wantFailure(m, "announce", over)
			e.diverge("X <- %s: seedcast refuses swarm %d of one socket", e.summary(m), limit+1)
			e.wantScrape(y, over, 0, 0)
			e.diverge("Y scrapes %s: 0/0, the refused announce added nobody", e.nameOf(over))
		}

		// A known swarm is still served, and stopping one frees its slot.
		x.announce(refAnn{ih: ihs[0], peer: xID, left: 1000, offers: []refOffer{}})
		e.wantAnnounceReply(x.recv(), ihs[0], 0, 1)
		x.announce(refAnn{ih: ihs[0], peer: xID, event: "stopped", left: 1000})
		e.wantAnnounceReply(x.recv(), ihs[0], 0, 0)
		x.announce(refAnn{ih: over, peer: xID, event: "started", left: 1000, offers: []refOffer{}})
		e.wantAnnounceReply(x.recvQuiet(), over, 0, 1)
		e.record("X <- announce reply for %s", e.nameOf(over))

		// The limit is per socket: another socket joins the swarm and its
		// offer reaches X.
		yID := e.id("Y")
		offers := e.offers("Y", 1)
		y.announce(refAnn{ih: over, peer: yID, event: "started", left: 1000, offers: offers})
		e.wantAnnounceReply(y.recv(), over, 0, 2)
		e.wantOffer(x.recv(), over, yID, offers)
	}
}

// refBadWant is how a tracker treats one bad message.
type refBadWant struct {
	reply refReply
	// action is the failure's action, "" for none. A failure without an
	// action makes the browser client drop its socket, and with it every
	// torrent it serves (bittorrent-tracker websocket-tracker.js
	// _onSocketData), so seedcast always sets one.
	action string
	// infoHash reports whether the failure carries the message's info hash;
	// the browser ignores a failure for an info hash not its own.
	infoHash bool
	// relayed is the number of the message's offers that reach P, the other
	// peer of its swarm.
	relayed int
}

// refReply is what comes back on a socket that sent a bad message.
type refReply int

const (
	refNoReply    refReply = iota
	refFailure             // one reply with a "failure reason"
	refAnnounceOK          // an ordinary announce reply: the message was accepted
	refClosed              // the tracker closed the socket
)

func (r refReply) String() string {
	return [...]string{"no reply", "failure", "announce reply", "socket closed"}[r]
}

// refBadCase is a bad message and how each tracker treats it. When the two
// differ the comment on the case says why seedcast differs.
type refBadCase struct {
	name string
	// msg returns the message X sends: ih is the swarm of X and P, peer the
	// peer id of X, and p the peer id of P.
	msg     func(e *refEnv, ih, peer, p string) []byte
	ref, sc refBadWant
}

// refBadCases lists the bad messages. The reference replies to a message it
// cannot parse with a bare {"failure reason"}: no action, no info_hash
// (parse-websocket.js throws before _onRequest). seedcast replies with both
// wherever they parsed, so the browser keeps its socket and can tell which
// torrent failed.
func refBadCases() []refBadCase {
	// announce returns X's announce of one offer, edited by f.
	announce := func(f func(m map[string]any)) func(e *refEnv, ih, peer, p string) []byte {
		return func(e *refEnv, ih, peer, p string) []byte {
			m := refAnn{ih: ih, peer: peer, event: "started", left: 1000, offers: e.offers("X", 1)}.msg()
			f(m)
			return refMarshal(e, m)
		}
	}
	raw := func(s string) func(*refEnv, string, string, string) []byte {
		return func(*refEnv, string, string, string) []byte { return []byte(s) }
	}
	bad := refBadWant{reply: refFailure}                            // reference: bare failure
	scAnnounce := refBadWant{reply: refFailure, action: "announce"} // seedcast: no info hash parsed
	scAnnounceIH := refBadWant{reply: refFailure, action: "announce", infoHash: true}
	ok1 := refBadWant{reply: refAnnounceOK, relayed: 1}
	// nonLatin1 is 20 characters, the first U+0100: 20 JavaScript
	// characters, but not a binary string.
	nonLatin1 := func(s string) string { return "Ā" + string([]rune(s)[1:]) }
	short := func(s string) string { return string([]rune(s)[:19]) }
	long := func(s string) string { return s + "x" }

	return []refBadCase{
		{name: "malformed-json", msg: raw(`{"action":"announce","info_hash":`), ref: bad, sc: scAnnounce},
		{name: "json-array", msg: raw(`[1,2]`), ref: bad, sc: scAnnounce},
		{name: "json-null", msg: raw(`null`), ref: bad, sc: scAnnounce},
		{name: "unknown-action", msg: announce(func(m map[string]any) { m["action"] = "connect" }), ref: bad, sc: scAnnounce},
		{name: "info_hash-19", msg: announce(func(m map[string]any) { m["info_hash"] = short(m["info_hash"].(string)) }), ref: bad, sc: scAnnounce},
		{name: "info_hash-21", msg: announce(func(m map[string]any) { m["info_hash"] = long(m["info_hash"].(string)) }), ref: bad, sc: scAnnounce},
		{name: "info_hash-missing", msg: announce(func(m map[string]any) { delete(m, "info_hash") }), ref: bad, sc: scAnnounce},
		{name: "info_hash-number", msg: announce(func(m map[string]any) { m["info_hash"] = 12345 }), ref: bad, sc: scAnnounce},
		// The reference converts with Buffer.from(s, 'binary'), which keeps
		// the low byte of each character, so U+0100 aliases U+0000 and the
		// announce lands in another swarm. seedcast refuses it: a client
		// sending it has a broken encoder.
		{name: "info_hash-U+0100", msg: announce(func(m map[string]any) { m["info_hash"] = nonLatin1(m["info_hash"].(string)) }),
			ref: refBadWant{reply: refAnnounceOK}, sc: scAnnounce},
		{name: "peer_id-19", msg: announce(func(m map[string]any) { m["peer_id"] = short(m["peer_id"].(string)) }), ref: bad, sc: scAnnounceIH},
		{name: "peer_id-21", msg: announce(func(m map[string]any) { m["peer_id"] = long(m["peer_id"].(string)) }), ref: bad, sc: scAnnounceIH},
		// As with info_hash: the reference aliases U+0100 to a NUL byte and
		// relays the offer under the aliased peer id.
		{name: "peer_id-U+0100", msg: announce(func(m map[string]any) { m["peer_id"] = nonLatin1(m["peer_id"].(string)) }),
			ref: ok1, sc: scAnnounceIH},
		// The reference does not check offer_id and relays it as it came;
		// seedcast checks it, as aquatic_ws does, because the answer must
		// echo it as a 20-character id.
		{name: "offer_id-19", msg: announce(func(m map[string]any) {
			o := m["offers"].([]map[string]any)[0]
			o["offer_id"] = short(o["offer_id"].(string))
		}), ref: ok1, sc: scAnnounceIH},
		{name: "answer-to_peer_id-19", msg: func(e *refEnv, ih, peer, p string) []byte {
			return refMarshal(e, map[string]any{"action": "announce", "info_hash": ih, "peer_id": peer,
				"to_peer_id": short(p), "answer": map[string]any{"type": "answer", "sdp": "x"}, "offer_id": e.id("X.o1")})
		}, ref: bad, sc: scAnnounceIH},
		// The reference only logs a warning; seedcast tells the answerer
		// that its answer went nowhere (see routeAnswer).
		{name: "answer-unknown-to_peer_id", msg: func(e *refEnv, ih, peer, p string) []byte {
			return refMarshal(e, map[string]any{"action": "announce", "info_hash": ih, "peer_id": peer,
				"to_peer_id": e.id("nobody"), "answer": map[string]any{"type": "answer", "sdp": "x"}, "offer_id": e.id("X.o1")})
		}, ref: refBadWant{reply: refNoReply}, sc: scAnnounceIH},
		// The reference has no message limit of its own (ws's default
		// maxPayload is 100 MiB). seedcast reads at most 64 KiB, like
		// aquatic_ws: a browser's five offers with full ICE candidates stay
		// far below it, and an unbounded read is a memory attack. gorilla
		// closes the socket (1009) rather than let the reader skip the rest.
		{name: "oversize-70KiB", msg: announce(func(m map[string]any) {
			m["offers"].([]map[string]any)[0]["offer"] = map[string]any{"type": "offer", "sdp": strings.Repeat("a=x\r\n", 70<<10/5)}
		}), ref: ok1, sc: refBadWant{reply: refClosed}},
		// The reference relays as many offers as it has peers for, however
		// many come; browsers send at most 5. seedcast refuses more than
		// 10, like aquatic_ws, to bound the work one message causes.
		{name: "11-offers", msg: func(e *refEnv, ih, peer, p string) []byte {
			return refMarshal(e, refAnn{ih: ih, peer: peer, event: "started", left: 1000, offers: e.offers("X", 11)}.msg())
		}, ref: ok1, sc: scAnnounceIH},
		// anacrolix/torrent v1.61 sends event "<regular>" on periodic
		// announces. The reference answers "invalid event" and drops the
		// announce; seedcast treats any unknown event as an update, so a
		// Go client's offers still reach browsers.
		{name: "event-<regular>", msg: announce(func(m map[string]any) { m["event"] = "<regular>" }),
			ref: refBadWant{reply: refFailure, action: "announce", infoHash: true}, sc: ok1},
		{name: "scrape-info_hash-19", msg: func(e *refEnv, ih, peer, p string) []byte {
			return refMarshal(e, map[string]any{"action": "scrape", "info_hash": []string{ih, short(ih)}})
		}, ref: bad, sc: refBadWant{reply: refFailure, action: "scrape"}},
	}
}

// run sends the bad message from X into a swarm with P, checks the reply,
// how many of its offers reach P, that the tracker still serves a fresh
// client F, and that X's socket (unless closed) still works.
func (bc refBadCase) run(e *refEnv) {
	ih, ih2 := e.id("IH"), e.id("IH2")
	p, pID := e.dial("P"), e.id("P")
	p.announce(refAnn{ih: ih, peer: pID, event: "started", left: 1000, offers: []refOffer{}})
	e.wantAnnounceReply(p.recv(), ih, 0, 1)
	p.announce(refAnn{ih: ih2, peer: pID, event: "started", left: 1000, offers: []refOffer{}})
	e.wantAnnounceReply(p.recv(), ih2, 0, 1)

	want := bc.ref
	if e.impl == refImplSeedcast {
		want = bc.sc
	}
	// note records a line both trackers must agree on, or a divergence.
	note := func(same bool, format string, args ...any) {
		if same {
			e.record(format, args...)
		} else {
			e.diverge(format, args...)
		}
	}
	sameReply := bc.ref == bc.sc
	sameRelay := bc.ref.relayed == bc.sc.relayed

	x, xID := e.dial("X"), e.id("X")
	e.record("X -> %s", bc.name)
	var got []refMsg
	err := x.trySend(bc.msg(e, ih, xID, pID))
	if err == nil {
		got, err = x.drainErr(ih)
	}
	// Else the tracker reset the connection while X was still writing: a
	// tracker that refuses an oversize message may close before reading it
	// all.
	switch want.reply {
	case refClosed:
		if err == nil {
			e.fatalf("X received %s, want the socket closed", e.summaries(got))
		}
		e.t.Logf("%s: X's socket closed: %v", e.impl, err)
	case refNoReply:
		if err != nil || len(got) > 0 {
			e.fatalf("X received %s (err %v), want nothing", e.summaries(got), err)
		}
	case refFailure:
		if err != nil || len(got) != 1 {
			e.fatalf("X received %s (err %v), want one failure reply", e.summaries(got), err)
		}
		m := got[0]
		if !m.has("failure reason") || m.str("action") != want.action || m.has("info_hash") != want.infoHash ||
			(want.infoHash && m.str("info_hash") != ih) {
			e.fatalf("X received %s, want a failure reason with action %q and info_hash %v", e.summary(m), want.action, want.infoHash)
		}
		e.t.Logf("%s: failure reason: %q", e.impl, m["failure reason"])
	case refAnnounceOK:
		if err != nil || len(got) != 1 || got[0].str("action") != "announce" || got[0].has("failure reason") {
			e.fatalf("X received %s (err %v), want one announce reply", e.summaries(got), err)
		}
	}
	note(sameReply, "X: %s %s", want.reply, e.summaries(got))

	relayed := p.drain(ih)
	for _, m := range relayed {
		if m.str("action") != "announce" || !m.has("offer") {
			e.fatalf("P received %s, want only offers", e.summary(m))
		}
	}
	if len(relayed) != want.relayed {
		e.fatalf("P received %d offers, want %d: %s", len(relayed), want.relayed, e.summaries(relayed))
	}
	note(sameRelay, "P: %d offers from X", len(relayed))

	// Other sockets are served as before.
	f, fID := e.dial("F"), e.id("F")
	offers := e.offers("F", 1)
	f.announce(refAnn{ih: ih2, peer: fID, event: "started", left: 1000, offers: offers})
	e.wantAnnounceReply(f.recv(), ih2, 0, 2)
	e.wantOffer(p.recv(), ih2, fID, offers)

	// So is X, unless the tracker closed it.
	if want.reply != refClosed {
		ih3 := e.id("IH3")
		x.send(refAnn{ih: ih3, peer: xID, event: "started", left: 1000, offers: []refOffer{}}.msg())
		e.wantAnnounceReply(x.recvQuiet(), ih3, 0, 1)
		note(bc.ref.reply != refClosed && bc.sc.reply != refClosed, "X: still served: announce of a new swarm answered")
	}
}

// refAnn is an announce as the browser client sends it
// (websocket-tracker.js announce).
type refAnn struct {
	ih, peer string
	event    string // "" for a periodic announce, which has none
	left     int64  // bytes left, or refLeftUnknown
	offers   []refOffer
}

// refLeftUnknown omits left, as a browser does before it has the metadata;
// the reference then counts the peer as a leecher.
const refLeftUnknown = -1

// refOffer is one WebRTC offer of an announce.
type refOffer struct{ id, sdp string }

func (a refAnn) msg() map[string]any {
	m := map[string]any{"action": "announce", "info_hash": a.ih, "peer_id": a.peer, "uploaded": 0, "downloaded": 0}
	if a.left != refLeftUnknown {
		m["left"] = a.left
	}
	if a.event != "" {
		m["event"] = a.event
	}
	// Browsers send no offers with stopped and completed, and otherwise
	// numwant = the number of offers.
	if a.offers != nil {
		m["numwant"] = len(a.offers)
		list := make([]map[string]any, len(a.offers))
		for i, o := range a.offers {
			list[i] = map[string]any{"offer": map[string]any{"type": "offer", "sdp": o.sdp}, "offer_id": o.id}
		}
		m["offers"] = list
	}
	return m
}

// refMsg is one decoded message from a tracker.
type refMsg map[string]any

func (m refMsg) has(k string) bool { _, ok := m[k]; return ok }

func (m refMsg) str(k string) string { s, _ := m[k].(string); return s }

// refEnv is one run of a scenario against one tracker.
type refEnv struct {
	t     *testing.T
	impl  refImpl
	url   string
	names map[string]string // id or SDP as sent on the wire → its name in transcripts
	lines []string          // the transcript
	raw   []string          // every message sent and received, for failures
}

// bin returns b as a binary string (one rune per byte) and names it.
func (e *refEnv) bin(name string, b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	s := string(r)
	e.names[s] = name
	return s
}

// id returns a new random 20-byte id as a binary string. Its first bytes
// are fixed to ones JSON treats specially, so every id exercises latin-1.
func (e *refEnv) id(name string) string {
	b := make([]byte, 20)
	rand.Read(b)
	b[0], b[1], b[2] = 0xff, 0x00, 0xe9
	return e.bin(name, b)
}

// sdp returns an SDP-like string with a name.
func (e *refEnv) sdp(name string) string {
	s := "v=0\r\no=- " + name + " 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
	e.names[s] = name
	return s
}

// offers returns n named offers of the peer called from: "A.o1", ….
func (e *refEnv) offers(from string, n int) []refOffer {
	o := make([]refOffer, n)
	for i := range o {
		name := fmt.Sprintf("%s.o%d", from, i+1)
		o[i] = refOffer{id: e.id(name), sdp: e.sdp(name + ".sdp")}
	}
	return o
}

// nameOf returns the name of an id or SDP, or a quoted form of an unknown
// value.
func (e *refEnv) nameOf(v any) string {
	s, ok := v.(string)
	if !ok {
		return fmt.Sprintf("(%T %v)", v, v)
	}
	if n, ok := e.names[s]; ok {
		return n
	}
	if len(s) > 40 {
		return fmt.Sprintf("(%d-byte string)", len(s))
	}
	return strconv.QuoteToASCII(s)
}

// summary renders the fields of m that the comparison covers, naming ids.
// It leaves out the values of "interval" (configuration), "downloaded"
// (see refScenarioScrape) and "failure reason" (free text), and unknown
// keys such as "flags".
func (e *refEnv) summary(m refMsg) string {
	if m == nil {
		return "(nothing)"
	}
	var f []string
	if m.has("action") {
		f = append(f, fmt.Sprint(m["action"]))
	} else {
		f = append(f, "(no action)")
	}
	if m.has("failure reason") {
		f = append(f, "FAILURE")
	}
	for _, k := range []string{"info_hash", "peer_id", "to_peer_id", "offer_id"} {
		if m.has(k) {
			f = append(f, k+"="+e.nameOf(m[k]))
		}
	}
	for _, k := range []string{"offer", "answer"} {
		if !m.has(k) {
			continue
		}
		if sd, ok := m[k].(map[string]any); ok {
			f = append(f, fmt.Sprintf("%s=%v:%s", k, sd["type"], e.nameOf(sd["sdp"])))
		} else {
			f = append(f, fmt.Sprintf("%s=(%T)", k, m[k]))
		}
	}
	for _, k := range []string{"complete", "incomplete"} {
		if m.has(k) {
			f = append(f, fmt.Sprintf("%s=%v", k, m[k]))
		}
	}
	if m.has("interval") {
		f = append(f, "interval")
	}
	if files, ok := m["files"].(map[string]any); ok {
		var fs []string
		for k, v := range files {
			c, _ := v.(map[string]any)
			fs = append(fs, fmt.Sprintf("%s:%v/%v", e.nameOf(k), c["complete"], c["incomplete"]))
		}
		slices.Sort(fs)
		f = append(f, "files{"+strings.Join(fs, " ")+"}")
	}
	return strings.Join(f, " ")
}

func (e *refEnv) summaries(ms []refMsg) string {
	if len(ms) == 0 {
		return "(nothing)"
	}
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = e.summary(m)
	}
	return strings.Join(s, "; ")
}

// record adds a line to the transcript that both trackers must agree on.
func (e *refEnv) record(format string, args ...any) {
	e.lines = append(e.lines, fmt.Sprintf(format, args...))
}

// diverge adds a line that may differ between the trackers: a deliberate
// divergence of seedcast, explained where the caller makes it.
func (e *refEnv) diverge(format string, args ...any) {
	e.lines = append(e.lines, "≠ "+fmt.Sprintf(format, args...))
}

func (e *refEnv) logRaw(format string, args ...any) {
	e.raw = append(e.raw, fmt.Sprintf(format, args...))
}

// fatalf fails the scenario, showing its transcript and raw messages.
func (e *refEnv) fatalf(format string, args ...any) {
	e.t.Helper()
	e.t.Fatalf("%s tracker: %s\n\ntranscript so far:\n  %s\n\nraw messages:\n  %s",
		e.impl, fmt.Sprintf(format, args...), strings.Join(e.lines, "\n  "), strings.Join(e.raw, "\n  "))
}

// errorf is fatalf that lets the scenario go on.
func (e *refEnv) errorf(format string, args ...any) {
	e.t.Helper()
	e.t.Errorf("%s tracker: %s\n\ntranscript so far:\n  %s", e.impl, fmt.Sprintf(format, args...), strings.Join(e.lines, "\n  "))
}

// wantAnnounceReply checks an announce reply and records it.
func (e *refEnv) wantAnnounceReply(m refMsg, ih string, complete, incomplete int) {
	e.t.Helper()
	interval, _ := m["interval"].(float64)
	if m.str("action") != "announce" || m.has("failure reason") || m.str("info_hash") != ih ||
		m["complete"] != float64(complete) || m["incomplete"] != float64(incomplete) || interval <= 0 {
		e.fatalf("got %s, want an announce reply for %s with complete=%d incomplete=%d and an interval",
			e.summary(m), e.nameOf(ih), complete, incomplete)
	}
	// Both trackers tell WebSocket clients 120 s by default.
	if interval != 120 {
		e.fatalf("interval %v, want 120 (the reference's WS interval, and seedcast's default)", interval)
	}
}

// wantOffer checks that m relays one of offers from peer to ih.
func (e *refEnv) wantOffer(m refMsg, ih, peer string, offers []refOffer) {
	e.t.Helper()
	if m.str("action") != "announce" || m.has("failure reason") || m.str("info_hash") != ih || m.str("peer_id") != peer {
		e.fatalf("got %s, want an offer from %s in %s", e.summary(m), e.nameOf(peer), e.nameOf(ih))
	}
	for _, o := range offers {
		if m.str("offer_id") == o.id {
			if want := map[string]any{"type": "offer", "sdp": o.sdp}; !reflect.DeepEqual(m["offer"], want) {
				e.fatalf("offer %s relayed as %v, want it unchanged: %v", e.nameOf(o.id), m["offer"], want)
			}
			return
		}
	}
	e.fatalf("got %s, want one of the offers sent", e.summary(m))
}

// wantFailure checks a failure reply carrying action and info hash ih.
func (e *refEnv) wantFailure(m refMsg, action, ih string) {
	e.t.Helper()
	if !m.has("failure reason") || m.str("action") != action || m.str("info_hash") != ih {
		e.fatalf("got %s, want a failure reason with action %q and info_hash %s", e.summary(m), action, e.nameOf(ih))
	}
}

// wantScrape scrapes ih from c and checks its counts.
func (e *refEnv) wantScrape(c *refClient, ih string, complete, incomplete int) {
	e.t.Helper()
	c.send(map[string]any{"action": "scrape", "info_hash": ih})
	m := c.recvQuiet()
	files, _ := m["files"].(map[string]any)
	f, _ := files[ih].(map[string]any)
	if m.str("action") != "scrape" || f == nil || f["complete"] != float64(complete) || f["incomplete"] != float64(incomplete) {
		e.fatalf("scrape of %s: got %s, want %d/%d", e.nameOf(ih), e.summary(m), complete, incomplete)
	}
}

// waitCounts scrapes ih from c until it reports the counts given, for at
// most refReadWait.
func (e *refEnv) waitCounts(c *refClient, ih string, complete, incomplete int) {
	e.t.Helper()
	var m refMsg
	err := testnet.WaitFor(refReadWait, func() error {
		c.send(map[string]any{"action": "scrape", "info_hash": ih})
		m = c.recvQuiet()
		files, _ := m["files"].(map[string]any)
		f, _ := files[ih].(map[string]any)
		if f != nil && f["complete"] == float64(complete) && f["incomplete"] == float64(incomplete) {
			return nil
		}
		return fmt.Errorf("scrape of %s still %s", e.nameOf(ih), e.summary(m))
	})
	if err != nil {
		e.fatalf("%v after %v, want %d/%d", err, refReadWait, complete, incomplete)
	}
	e.record("%s <- %s", c.name, e.summary(m))
}

// refClient is one WebSocket client.
type refClient struct {
	e    *refEnv
	name string
	conn *websocket.Conn
}

func (e *refEnv) dial(name string) *refClient {
	e.t.Helper()
	d := websocket.Dialer{HandshakeTimeout: refReadWait}
	conn, resp, err := d.Dial(e.url, nil)
	if err != nil {
		e.fatalf("%s: dial %s: %v", name, e.url, err)
	}
	resp.Body.Close()
	e.t.Cleanup(func() { conn.Close() })
	return &refClient{e: e, name: name, conn: conn}
}

func refMarshal(e *refEnv, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		e.fatalf("marshal %v: %v", v, err)
	}
	return b
}

func refTrim(b []byte) string {
	if len(b) > 300 {
		return fmt.Sprintf("%s… (%d bytes)", b[:300], len(b))
	}
	return string(b)
}

// trySend sends one text message.
func (c *refClient) trySend(b []byte) error {
	c.e.logRaw("%s -> %s", c.name, refTrim(b))
	c.conn.SetWriteDeadline(time.Now().Add(refReadWait))
	return c.conn.WriteMessage(websocket.TextMessage, b)
}

func (c *refClient) sendRaw(b []byte) {
	c.e.t.Helper()
	if err := c.trySend(b); err != nil {
		c.e.fatalf("%s: send: %v", c.name, err)
	}
}

func (c *refClient) send(v any) { c.e.t.Helper(); c.sendRaw(refMarshal(c.e, v)) }

// announce sends a and records it.
func (c *refClient) announce(a refAnn) {
	c.e.t.Helper()
	c.send(a.msg())
	left := strconv.FormatInt(a.left, 10)
	if a.left == refLeftUnknown {
		left = "(none)"
	}
	ev := a.event
	if ev == "" {
		ev = "(none)"
	}
	c.e.record("%s -> announce info_hash=%s peer_id=%s event=%s left=%s offers=%d",
		c.name, c.e.nameOf(a.ih), c.e.nameOf(a.peer), ev, left, len(a.offers))
}

// next reads one message, or returns why the socket ended.
func (c *refClient) next() (refMsg, error) {
	c.e.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(refReadWait))
	typ, b, err := c.conn.ReadMessage()
	if err != nil {
		c.e.logRaw("%s: read: %v", c.name, err)
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			c.e.fatalf("%s: no message within %v", c.name, refReadWait)
		}
		return nil, err
	}
	c.e.logRaw("%s <- %s", c.name, refTrim(b))
	if typ != websocket.TextMessage {
		c.e.fatalf("%s: got a message of type %d, want text", c.name, typ)
	}
	var m refMsg
	if err := json.Unmarshal(b, &m); err != nil {
		c.e.fatalf("%s: got %s: %v", c.name, refTrim(b), err)
	}
	return m, nil
}

// recvQuiet reads one message without recording it.
func (c *refClient) recvQuiet() refMsg {
	c.e.t.Helper()
	m, err := c.next()
	if err != nil {
		c.e.fatalf("%s: socket ended waiting for a message: %v", c.name, err)
	}
	return m
}

// recv reads one message and records its summary.
func (c *refClient) recv() refMsg {
	c.e.t.Helper()
	m := c.recvQuiet()
	c.e.record("%s <- %s", c.name, c.e.summary(m))
	return m
}

// drain returns the messages the tracker sends c before the replies to two
// probes (scrapes of ih), without recording them. This checks for the
// absence of a message without sleeping. seedcast writes to a socket in the
// order it queued, so one probe would do. The reference does not keep order
// between pipelined messages: an announce that creates a swarm takes two
// process.nextTick hops (getSwarm, then createSwarm) and a scrape one, so a
// probe sent right behind it is answered first. All of those hops run before
// node reads the socket again, so a second probe, sent once the first is
// answered, is answered after them.
func (c *refClient) drain(ih string) []refMsg {
	c.e.t.Helper()
	got, err := c.drainErr(ih)
	if err != nil {
		c.e.fatalf("%s: socket ended before the probe's reply: %v", c.name, err)
	}
	return got
}

// drainErr is drain that returns the error that ended the socket instead of
// failing.
func (c *refClient) drainErr(ih string) ([]refMsg, error) {
	c.e.t.Helper()
	var got []refMsg
	for range 2 {
		if err := c.trySend(refMarshal(c.e, map[string]any{"action": "scrape", "info_hash": ih})); err != nil {
			// The tracker may have closed the socket; the read says how.
			_, rerr := c.next()
			return got, errors.Join(err, rerr)
		}
		for {
			m, err := c.next()
			if err != nil {
				return got, err
			}
			if m.str("action") == "scrape" && !m.has("failure reason") {
				break
			}
			got = append(got, m)
		}
	}
	return got, nil
}

// refCompare fails unless the transcripts agree outside divergence lines.
func refCompare(t *testing.T, ref, sc *refEnv) {
	t.Helper()
	common := func(lines []string) []string {
		var c []string
		for _, l := range lines {
			if !strings.HasPrefix(l, "≠") {
				c = append(c, l)
			}
		}
		return c
	}
	a, b := common(ref.lines), common(sc.lines)
	if slices.Equal(a, b) {
		return
	}
	i := 0
	for i < min(len(a), len(b)) && a[i] == b[i] {
		i++
	}
	at := func(s []string) string {
		if i < len(s) {
			return s[i]
		}
		return "(end)"
	}
	t.Errorf("transcripts differ at line %d:\n  reference: %s\n  seedcast:  %s\n\nreference transcript:\n  %s\n\nseedcast transcript:\n  %s",
		i+1, at(a), at(b), strings.Join(ref.lines, "\n  "), strings.Join(sc.lines, "\n  "))
}

// refLocate finds node and the bittorrent-tracker package, which the front
// end's npm install puts in web/node_modules (webtorrent depends on it).
// SEEDCAST_BITTORRENT_TRACKER names another copy, e.g. a scratch install.
// Without them the test skips, except under CI=true, where it fails.
func refLocate(t *testing.T) (node, pkgDir string) {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s; CI=true, so the comparison with the reference tracker must run", msg)
		}
		t.Skipf("skipping the comparison with the reference tracker: %s", msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node not found (%v); install Node.js 20 or later", err)
	}
	pkgDir = os.Getenv("SEEDCAST_BITTORRENT_TRACKER")
	if pkgDir == "" {
		pkgDir = filepath.Join("..", "web", "node_modules", "bittorrent-tracker")
	}
	pkgDir, err = filepath.Abs(pkgDir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(pkgDir, "package.json"))
	if err != nil {
		missing("bittorrent-tracker not installed (%v); run npm ci in web/", err)
	}
	var meta struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		t.Fatalf("%s: %v", filepath.Join(pkgDir, "package.json"), err)
	}
	if meta.Version != refVersion {
		t.Logf("bittorrent-tracker is %s; these tests describe %s", meta.Version, refVersion)
	}
	return node, pkgDir
}

// refStartReference runs testdata/reftracker.mjs and returns its WebSocket
// URL. The server is stopped when t ends.
func refStartReference(t *testing.T, node, pkgDir string) string {
	t.Helper()
	cmd := exec.Command(node, filepath.Join("testdata", "reftracker.mjs"), pkgDir)
	// The server exits by itself when its stdin closes, should this
	// process die before the cleanup stops it.
	if _, err := cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout := &refFirstLine{line: make(chan string, 1)}
	cmd.Stdout = stdout
	p := testnet.Start(t, "reference tracker", cmd)
	select {
	case line := <-stdout.line:
		var ready struct {
			Port int `json:"port"`
		}
		if err := json.Unmarshal([]byte(line), &ready); err != nil || ready.Port == 0 {
			t.Fatalf("reference tracker printed %q, want {\"port\":N}", line)
		}
		return fmt.Sprintf("ws://127.0.0.1:%d/announce", ready.Port)
	case <-p.Done():
		t.Fatalf("reference tracker exited (%v) before listening; output:\n%s", p.Err(), p.Output())
	case <-time.After(refStartWait):
		t.Fatalf("reference tracker did not listen within %v; output:\n%s", refStartWait, p.Output())
	}
	panic("unreachable")
}

// refStartSeedcast serves a seedcast tracker configured by cfg and returns
// its WebSocket URL. When t ends it closes the server and checks that none
// of its goroutines outlive it.
func refStartSeedcast(t *testing.T, cfg Config) string {
	t.Helper()
	before := refServerGoroutines()
	logs := new(testnet.Buffer)
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if cfg.MessageRate == 0 {
		// The reference has no bound on a socket's messages; the
		// scenarios send bursts of hundreds.
		cfg.MessageRate = 1e6
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	// Registered before serve's: cleanups run last first, so this one
	// runs once Run has returned.
	t.Cleanup(func() {
		err := testnet.WaitFor(refReadWait, func() error {
			leaked := refServerGoroutines()
			for id := range before {
				delete(leaked, id)
			}
			if len(leaked) > 0 {
				return fmt.Errorf("%d goroutines of the server outlive Run:\n%s", len(leaked), strings.Join(slices.Collect(maps.Values(leaked)), "\n\n"))
			}
			return nil
		})
		if err != nil {
			t.Error(err)
		}
		if t.Failed() && logs.String() != "" {
			t.Logf("seedcast log:\n%s", logs)
		}
	})
	return "ws" + strings.TrimPrefix(serve(t, srv), "http") + "/announce"
}

// refServerGoroutines returns the stacks of goroutines running code of this
// package outside its tests, by goroutine header.
func refServerGoroutines() map[string]string {
	dir, err := os.Getwd() // go test runs in the package directory
	if err != nil {
		panic(err)
	}
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	found := make(map[string]string)
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		header, _, _ := strings.Cut(g, "\n")
		id, _, _ := strings.Cut(header, " [")
		for line := range strings.SplitSeq(g, "\n") {
			file, _, _ := strings.Cut(strings.TrimPrefix(line, "\t"), ":")
			if strings.HasPrefix(line, "\t") && filepath.Dir(file) == dir && !strings.HasSuffix(file, "_test.go") {
				found[id] = g
				break
			}
		}
	}
	return found
}

// refFirstLine is a writer that delivers the first line written to it.
type refFirstLine struct {
	mu   sync.Mutex
	buf  []byte
	sent bool
	line chan string
}

func (w *refFirstLine) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sent {
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	if i := bytes.IndexByte(w.buf, '\n'); i >= 0 {
		w.line <- string(w.buf[:i])
		w.sent = true
	}
	return len(p), nil
}
