package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"runtime/debug"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// loadgenEnv, when set, makes the test binary the load generator of the
// tracker table: TestMain sees it and runs loadgenMain with the
// loadgenConfig it holds as JSON. The harness starts that child in the
// clients host, on CPUs of its own, so that the generator's work is not
// the tracker's.
const loadgenEnv = "SEEDCAST_BENCH_LOADGEN"

// loadgenConfig is the simulated population of WebTorrent peers.
type loadgenConfig struct {
	// URL is the tracker's ws:// announce URL.
	URL string
	// Sockets is the number of peers, one WebSocket each.
	Sockets int
	// Torrents is the number of torrents; peer i joins torrent k with a
	// probability proportional to 1/k^Zipf.
	Torrents int
	Zipf     float64
	// Offers is the number of offers of each announce (WebTorrent: 5).
	Offers int
	// AnswerShare is the share of peers that answer the offers relayed to
	// them.
	AnswerShare float64
	// Seed makes the population: torrents, peer ids, SDP.
	Seed uint64
	// DialConcurrency bounds the sockets being opened at once; zero
	// means 64.
	DialConcurrency int
	// ReplyTimeout is how long an announce may wait for its reply before
	// it counts as unanswered, an error; zero means 5 s.
	ReplyTimeout time.Duration
}

// Bounds of the generator's sockets.
const (
	// loadgenWriteBufBytes holds a whole announce: a client must mask
	// what it sends, and gorilla splits a client's message longer than
	// its write buffer into continuation frames, which no browser does.
	// 10 offers of 1.5 KB fit.
	loadgenWriteBufBytes = 32 << 10
	loadgenReadBufBytes  = 4 << 10
	loadgenMaxMsgBytes   = 1 << 20
	loadgenWriteWait     = 10 * time.Second
	loadgenDialWait      = 10 * time.Second
	// loadgenSenders is the number of goroutines that send announces,
	// each to its own share of the sockets: one write blocked on a
	// socket whose tracker does not read holds up only its share.
	loadgenSenders = 8
	// Distinct SDP the generator sends: browsers' offers all differ, but
	// the tracker relays them unread, so a few kinds serve.
	loadgenOfferKinds  = 32
	loadgenAnswerKinds = 16
)

// loadgen simulates WebTorrent peers against one tracker.
type loadgen struct {
	cfg      loadgenConfig
	epoch    time.Time // ids and latencies count from here
	dialer   *websocket.Dialer
	torrents []id20
	socks    []*lgSocket
	offers   [][]byte // JSON of RTCSessionDescriptions, {"type":"offer",...}
	answers  [][]byte
	largest  int // peers of the largest swarm

	rec     atomic.Pointer[recorder]
	lastMsg atomic.Int64 // when the last message arrived, ns since epoch
	closing atomic.Bool
	readers sync.WaitGroup
	bufs    sync.Pool // *[]byte for reads and writes
}

// lgSocket is one simulated peer.
type lgSocket struct {
	lg      *loadgen
	idx     uint32
	ih      id20
	peer    id20
	left    int64
	answers bool // answers offers relayed to it

	conn *websocket.Conn
	wmu  sync.Mutex // gorilla allows one writer at a time
	// pending is when its announce awaiting a reply was sent, ns since
	// epoch, or 0: a socket has one announce out at a time, as a browser
	// does, so a reply belongs to the one announce pending.
	pending atomic.Int64
	dead    atomic.Bool
}

// newLoadgen makes the population of cfg. It opens nothing.
func newLoadgen(cfg loadgenConfig, dial func(ctx context.Context, network, addr string) (net.Conn, error)) (*loadgen, error) {
	switch {
	case cfg.Sockets < 1, cfg.Torrents < 1:
		return nil, fmt.Errorf("loadgen: %d sockets, %d torrents: want at least 1 of each", cfg.Sockets, cfg.Torrents)
	case cfg.Offers < 0 || cfg.Offers > 10:
		return nil, fmt.Errorf("loadgen: %d offers an announce: want 0 to 10", cfg.Offers)
	case cfg.Zipf < 0, cfg.AnswerShare < 0 || cfg.AnswerShare > 1:
		return nil, fmt.Errorf("loadgen: Zipf exponent %g, answer share %g: want ≥ 0 and 0 to 1", cfg.Zipf, cfg.AnswerShare)
	}
	if cfg.DialConcurrency == 0 {
		cfg.DialConcurrency = 64
	}
	if cfg.ReplyTimeout == 0 {
		cfg.ReplyTimeout = 5 * time.Second
	}
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	rnd := rand.New(rand.NewPCG(cfg.Seed, 0x5eedca57))
	lg := &loadgen{
		cfg:   cfg,
		epoch: time.Now(),
		dialer: &websocket.Dialer{
			NetDialContext:   dial,
			HandshakeTimeout: loadgenDialWait,
			ReadBufferSize:   loadgenReadBufBytes,
			WriteBufferSize:  loadgenWriteBufBytes,
			// Buffers are lent for each write: 10 000 idle sockets hold
			// none.
			WriteBufferPool: &sync.Pool{},
		},
	}
	lg.bufs.New = func() any { b := make([]byte, 0, 16<<10); return &b }
	for range cfg.Torrents {
		var ih id20
		for i := range ih {
			ih[i] = byte(rnd.Uint32())
		}
		lg.torrents = append(lg.torrents, ih)
	}
	for range loadgenOfferKinds {
		lg.offers = append(lg.offers, sdpObject("offer", chromiumOffer(rnd)))
	}
	for range loadgenAnswerKinds {
		lg.answers = append(lg.answers, sdpObject("answer", chromiumAnswer(rnd)))
	}
	pick := zipfPicker(cfg.Torrents, cfg.Zipf)
	size := make([]int, cfg.Torrents)
	for i := range cfg.Sockets {
		k := pick(rnd.Float64())
		size[k]++
		s := &lgSocket{lg: lg, idx: uint32(i), ih: lg.torrents[k], peer: webtorrentPeerID(uint32(i), rnd),
			left: 734_003_200, answers: rnd.Float64() < cfg.AnswerShare}
		if i%4 == 0 {
			s.left = 0 // a seeder
		}
		lg.socks = append(lg.socks, s)
	}
	lg.largest = slices.Max(size)
	lg.rec.Store(newRecorder())
	return lg, nil
}

// zipfPicker returns a function that maps a uniform u in [0, 1) to a
// torrent of n, torrent k (from 0) with a probability proportional to
// 1/(k+1)^s.
func zipfPicker(n int, s float64) func(u float64) int {
	cdf := make([]float64, n)
	sum := 0.0
	for k := range n {
		sum += math.Pow(float64(k+1), -s)
		cdf[k] = sum
	}
	return func(u float64) int {
		return min(sort.SearchFloat64s(cdf, u*sum), n-1)
	}
}

// webtorrentPeerID returns a peer id of WebTorrent's form, "-WW" and a
// version, then 12 characters of base64; the first bytes of those encode
// i, so that every socket's differs.
func webtorrentPeerID(i uint32, rnd *rand.Rand) id20 {
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	var id id20
	copy(id[:], "-WW0300-")
	v := uint64(i)<<24 | rnd.Uint64()&0xffffff
	for j := range 12 {
		id[8+j] = b64[v>>(6*(11-j))&63]
	}
	return id
}

func (lg *loadgen) now() int64 { return int64(time.Since(lg.epoch)) }

// recorder gathers what happens during one phase.
type recorder struct {
	announces, busy                       atomic.Int64
	offersSent, offersRecv                atomic.Int64
	answersSent, answersRecv, repliesRecv atomic.Int64

	mu      sync.Mutex
	replies []int64 // reply latencies, ns
	rtts    []int64 // offer→answer round trips, ns
	errs    map[string]*errCount
}

// errCount counts the errors of one kind and keeps the first.
type errCount struct {
	N     int64
	First string
}

func newRecorder() *recorder { return &recorder{errs: make(map[string]*errCount)} }

func (r *recorder) reply(d int64) {
	r.repliesRecv.Add(1)
	r.mu.Lock()
	r.replies = append(r.replies, d)
	r.mu.Unlock()
}

func (r *recorder) rtt(d int64) {
	r.answersRecv.Add(1)
	r.mu.Lock()
	r.rtts = append(r.rtts, d)
	r.mu.Unlock()
}

// fail counts an error of kind.
func (r *recorder) fail(kind string, format string, args ...any) {
	r.failN(kind, 1, format, args...)
}

// failN counts n errors of kind.
func (r *recorder) failN(kind string, n int64, format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.errs[kind]
	if e == nil {
		e = &errCount{First: fmt.Sprintf(format, args...)}
		r.errs[kind] = e
	}
	e.N += n
}

// loadResult is what one phase of the generator measured. Times are in
// milliseconds.
type loadResult struct {
	// Rate is the announces a second asked for; 0 for the opening.
	Rate float64
	// Seconds is the time announces were sent for: the opening's from
	// the first dial to the last reply.
	Seconds float64
	// Announces were sent, Replies came back; Busy announces were not
	// sent because every socket of a sender awaited a reply.
	Announces, Replies, Busy int64
	// Percentiles of the time from sending an announce to its reply.
	ReplyP50, ReplyP99, ReplyMax float64
	// Offers the announces carried, offers the tracker relayed to the
	// generator's peers, answers they sent back, and answers the tracker
	// delivered to the offering peers.
	OffersSent, OffersRelayed, AnswersSent, AnswersDelivered int64
	// Percentiles of the time from sending an offer to receiving its
	// answer.
	RTTP50, RTTP99 float64
	// Open is the number of sockets open at the end.
	Open int
	// Errors by kind: count and the first.
	Errors map[string]errCount `json:",omitempty"`
}

// ErrorCount returns the number of errors of the phase.
func (r loadResult) ErrorCount() int64 {
	var n int64
	for _, e := range r.Errors {
		n += e.N
	}
	return n
}

// PerSecond returns the replies a second.
func (r loadResult) PerSecond() float64 {
	if r.Seconds <= 0 {
		return 0
	}
	return float64(r.Replies) / r.Seconds
}

// result sums up r over seconds of sending.
func (r *recorder) result(rate, seconds float64, open int) loadResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := loadResult{
		Rate: rate, Seconds: seconds, Open: open,
		Announces: r.announces.Load(), Replies: r.repliesRecv.Load(), Busy: r.busy.Load(),
		OffersSent: r.offersSent.Load(), OffersRelayed: r.offersRecv.Load(),
		AnswersSent: r.answersSent.Load(), AnswersDelivered: r.answersRecv.Load(),
	}
	res.ReplyP50, res.ReplyP99, res.ReplyMax = percentiles(r.replies)
	res.RTTP50, res.RTTP99, _ = percentiles(r.rtts)
	if len(r.errs) > 0 {
		res.Errors = make(map[string]errCount)
		for k, e := range r.errs {
			res.Errors[k] = *e
		}
	}
	return res
}

// percentiles returns the median, the 99th percentile (nearest rank) and
// the maximum of ns, in milliseconds; zeros for none.
func percentiles(ns []int64) (p50, p99, maxMS float64) {
	if len(ns) == 0 {
		return 0, 0, 0
	}
	slices.Sort(ns)
	rank := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(ns)))) - 1
		return float64(ns[max(i, 0)]) / 1e6
	}
	return rank(0.5), rank(0.99), float64(ns[len(ns)-1]) / 1e6
}

// open opens every socket, each announcing its torrent once ("started",
// with offers), and returns once every announce has its reply (or has
// waited ReplyTimeout) and no message has arrived for a while: the
// sockets are then idle.
func (lg *loadgen) open(ctx context.Context) loadResult {
	rec := newRecorder()
	lg.rec.Store(rec)
	start := time.Now()
	next := make(chan *lgSocket)
	var wg sync.WaitGroup
	for range lg.cfg.DialConcurrency {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
			for s := range next {
				if err := lg.dial(ctx, s); err != nil {
					s.dead.Store(true)
					rec.fail("dial", "socket %d: %v", s.idx, err)
					continue
				}
				s.announce(rec, rnd, true)
			}
		})
	}
feed:
	for _, s := range lg.socks {
		select {
		case next <- s:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	lg.drain(ctx, rec)
	seconds := time.Since(start).Seconds()
	lg.quiet(ctx, 500*time.Millisecond, 10*time.Second)
	return rec.result(0, seconds, lg.openCount())
}

// dial opens s's WebSocket and starts its reader.
func (lg *loadgen) dial(ctx context.Context, s *lgSocket) error {
	dctx, cancel := context.WithTimeout(ctx, loadgenDialWait)
	defer cancel()
	conn, resp, err := lg.dialer.DialContext(dctx, lg.cfg.URL, nil)
	if err != nil {
		if resp != nil {
			return fmt.Errorf("%w (HTTP %s)", err, resp.Status)
		}
		return err
	}
	conn.SetReadLimit(loadgenMaxMsgBytes)
	s.conn = conn
	lg.readers.Add(1)
	go s.read()
	return nil
}

func (lg *loadgen) openCount() int {
	n := 0
	for _, s := range lg.socks {
		if s.conn != nil && !s.dead.Load() {
			n++
		}
	}
	return n
}

// announce sends s's announce with fresh offers; started marks its
// first.
func (s *lgSocket) announce(rec *recorder, rnd *rand.Rand, started bool) {
	lg := s.lg
	n := lg.cfg.Offers
	var offers [10][]byte
	var ids [10]id20
	sent := lg.now()
	for j := range n {
		offers[j] = lg.offers[(int(s.idx)*n+j)%len(lg.offers)]
		ids[j] = offerID(sent, s.idx, byte(j), rnd)
	}
	bp := lg.bufs.Get().(*[]byte)
	msg := announceMsg((*bp)[:0], s.ih, s.peer, s.left, started, offers[:n], ids[:n])
	s.pending.Store(sent)
	rec.announces.Add(1)
	rec.offersSent.Add(int64(n))
	if err := s.write(msg); err != nil {
		s.pending.Store(0)
		rec.fail("write", "socket %d: %v", s.idx, err)
	}
	*bp = msg
	lg.bufs.Put(bp)
}

// write sends one text message.
func (s *lgSocket) write(msg []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.conn.SetWriteDeadline(time.Now().Add(loadgenWriteWait))
	err := s.conn.WriteMessage(websocket.TextMessage, msg)
	if err != nil {
		s.dead.Store(true)
	}
	return err
}

// read reads and handles the socket's messages until it closes.
func (s *lgSocket) read() {
	lg := s.lg
	defer lg.readers.Done()
	for {
		_, r, err := s.conn.NextReader()
		if err != nil {
			s.dead.Store(true)
			if !lg.closing.Load() {
				lg.rec.Load().fail("read", "socket %d: %v", s.idx, err)
			}
			return
		}
		bp := lg.bufs.Get().(*[]byte)
		msg, err := readAll((*bp)[:0], r)
		if err == nil {
			s.handle(msg)
		} else if !lg.closing.Load() {
			lg.rec.Load().fail("read", "socket %d: %v", s.idx, err)
		}
		*bp = msg
		lg.bufs.Put(bp)
	}
}

// readAll appends what r holds to b.
func readAll(b []byte, r io.Reader) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = slices.Grow(b, cap(b))
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// handle acts on one message from the tracker.
func (s *lgSocket) handle(msg []byte) {
	lg := s.lg
	now := lg.now()
	lg.lastMsg.Store(now)
	rec := lg.rec.Load()
	m, err := scanMessage(msg)
	if err != nil {
		rec.fail("message", "socket %d: %v: %.200q", s.idx, err, msg)
		return
	}
	switch m.Kind {
	case msgReply:
		sent := s.pending.Swap(0)
		switch {
		case sent == 0:
			rec.fail("reply", "socket %d: a reply without an announce: %.200q", s.idx, msg)
		case m.InfoHash != s.ih:
			rec.fail("reply", "socket %d: a reply for another torrent: %.200q", s.idx, msg)
		default:
			rec.reply(now - sent)
		}
	case msgOffer:
		rec.offersRecv.Add(1)
		if m.InfoHash != s.ih || !m.HasPeerID || !m.HasOfferID {
			rec.fail("offer", "socket %d: an offer of another torrent, or without peer_id or offer_id: %.200q", s.idx, msg)
			return
		}
		if !s.answers {
			return
		}
		bp := lg.bufs.Get().(*[]byte)
		b := answerMsg((*bp)[:0], s.ih, s.peer, m.PeerID, m.OfferID, lg.answers[int(s.idx)%len(lg.answers)])
		if err := s.write(b); err != nil {
			rec.fail("write", "socket %d: %v", s.idx, err)
		} else {
			rec.answersSent.Add(1)
		}
		*bp = b
		lg.bufs.Put(bp)
	case msgAnswer:
		sent, sock, _ := parseOfferID(m.OfferID)
		if sock != s.idx || m.InfoHash != s.ih || sent <= 0 || sent > now {
			rec.fail("answer", "socket %d: an answer to an offer it did not make: %.200q", s.idx, msg)
			return
		}
		rec.rtt(now - sent)
	case msgFailure:
		rec.fail("failure", "socket %d: %s", s.idx, m.Failure)
	default:
		rec.fail("message", "socket %d: a message of no kind known: %.200q", s.idx, msg)
	}
}

// load sends announces at rate a second for d, from sockets picked at
// random among those not awaiting a reply, then waits for the replies.
// mark, if set, is called as sending starts and as it ends.
func (lg *loadgen) load(ctx context.Context, rate float64, d time.Duration, mark func(string)) loadResult {
	rec := newRecorder()
	lg.rec.Store(rec)
	if mark != nil {
		mark("start")
	}
	start := time.Now()
	var wg sync.WaitGroup
	for k := range loadgenSenders {
		var mine []*lgSocket
		for i := k; i < len(lg.socks); i += loadgenSenders {
			mine = append(mine, lg.socks[i])
		}
		if len(mine) == 0 {
			continue
		}
		// Each sender has its share of the rate: rate/senders, minus
		// what rounding leaves.
		share := rate / loadgenSenders
		wg.Go(func() { lg.send(ctx, rec, mine, share, start, d) })
	}
	wg.Wait()
	seconds := time.Since(start).Seconds()
	if mark != nil {
		mark("end")
	}
	lg.drain(ctx, rec)
	lg.quiet(ctx, 100*time.Millisecond, time.Second)
	return rec.result(rate, seconds, lg.openCount())
}

// send is one sender of load: it sends rate announces a second from socks
// until d has passed since start, catching up after any delay.
func (lg *loadgen) send(ctx context.Context, rec *recorder, socks []*lgSocket, rate float64, start time.Time, d time.Duration) {
	rnd := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	var sent int64
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		el := time.Since(start)
		if el >= d || ctx.Err() != nil {
			return
		}
		for due := int64(rate * el.Seconds()); sent < due; sent++ {
			s := pickFree(socks, rnd.IntN(len(socks)))
			if s == nil {
				rec.busy.Add(1)
				continue
			}
			s.announce(rec, rnd, false)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
		}
	}
}

// pickFree returns the first socket from i on, wrapping around, that is
// open and awaits no reply, or nil.
func pickFree(socks []*lgSocket, i int) *lgSocket {
	for range socks {
		s := socks[i]
		if s.conn != nil && !s.dead.Load() && s.pending.Load() == 0 {
			return s
		}
		if i++; i == len(socks) {
			i = 0
		}
	}
	return nil
}

// drain waits up to ReplyTimeout for every announce's reply; those still
// awaited then are errors.
func (lg *loadgen) drain(ctx context.Context, rec *recorder) {
	deadline := time.Now().Add(lg.cfg.ReplyTimeout)
	for {
		waiting, oldest := 0, int64(math.MaxInt64)
		for _, s := range lg.socks {
			if p := s.pending.Load(); p != 0 && !s.dead.Load() {
				waiting++
				oldest = min(oldest, p)
			}
		}
		if waiting == 0 {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			rec.failN("unanswered", int64(waiting), "%d announces without a reply after %v, the oldest sent %.1f s ago",
				waiting, lg.cfg.ReplyTimeout, float64(lg.now()-oldest)/1e9)
			return
		}
		sleepCtx(ctx, 10*time.Millisecond)
	}
}

// quiet waits until no message has arrived for gap, or at most maxWait:
// answers to the last offers are in by then.
func (lg *loadgen) quiet(ctx context.Context, gap, maxWait time.Duration) {
	deadline := time.Now().Add(maxWait)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if time.Duration(lg.now()-lg.lastMsg.Load()) >= gap {
			return
		}
		sleepCtx(ctx, 10*time.Millisecond)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// close closes every socket and waits for their readers.
func (lg *loadgen) close() {
	lg.closing.Store(true)
	for _, s := range lg.socks {
		if s.conn != nil {
			s.conn.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(100*time.Millisecond))
			s.conn.Close()
		}
	}
	lg.readers.Wait()
}

// loadgenCmd is one line of the generator's stdin.
type loadgenCmd struct {
	Op      string // "open", "load", "close"
	Rate    float64
	Seconds float64
}

// loadgenOut is one line of the generator's stdout.
type loadgenOut struct {
	// Mark is "start" or "end" of a load's sending.
	Mark string `json:",omitempty"`
	// Result ends an open or a load.
	Result *loadResult `json:",omitempty"`
	// Largest is the largest swarm, told at start with Ready.
	Largest int  `json:",omitempty"`
	Ready   bool `json:",omitempty"`
	// OfferBytes and AnswerBytes are the sizes of an SDP.
	OfferBytes, AnswerBytes int `json:",omitempty"`
}

// loadgenMain runs the generator: it reads commands from stdin, one JSON
// line each, and answers on stdout, until stdin closes or says close.
func loadgenMain() int {
	var cfg loadgenConfig
	if err := json.Unmarshal([]byte(os.Getenv(loadgenEnv)), &cfg); err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: bad %s: %v\n", loadgenEnv, err)
		return 2
	}
	// Fewer collections: the generator's pauses would count as the
	// tracker's latency.
	debug.SetGCPercent(400)
	lg, err := newLoadgen(cfg, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := lg.serve(context.Background(), os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		return 1
	}
	return 0
}

// serve runs the commands of in, writing to out.
func (lg *loadgen) serve(ctx context.Context, in io.Reader, out io.Writer) error {
	defer lg.close()
	enc := json.NewEncoder(out)
	var mu sync.Mutex
	say := func(o loadgenOut) {
		mu.Lock()
		defer mu.Unlock()
		enc.Encode(o)
	}
	say(loadgenOut{Ready: true, Largest: lg.largest, OfferBytes: sdpBytes(lg.offers[0]), AnswerBytes: sdpBytes(lg.answers[0])})
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		var c loadgenCmd
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			return fmt.Errorf("command %q: %w", sc.Text(), err)
		}
		var r loadResult
		switch c.Op {
		case "open":
			r = lg.open(ctx)
		case "load":
			r = lg.load(ctx, c.Rate, time.Duration(c.Seconds*float64(time.Second)), func(m string) { say(loadgenOut{Mark: m}) })
		case "close":
			return nil
		default:
			return fmt.Errorf("unknown command %q", c.Op)
		}
		say(loadgenOut{Result: &r})
	}
	if err := sc.Err(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// sdpBytes returns the length of the SDP of a session description's JSON.
func sdpBytes(obj []byte) int {
	var d struct{ SDP string }
	json.Unmarshal(obj, &d)
	return len(d.SDP)
}
