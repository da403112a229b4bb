// Package metrics serves a node's figures to Prometheus: peers and bytes
// per transport, torrents, stream viewers, piece verification failures,
// the tracker's sockets, swarms, announces and offers, and the Go runtime
// and process collectors.
//
// It counts nothing itself. The parts that move the bytes keep their
// figures (swarm per transport, player per HTTP route, signaling for the
// tracker); a scrape reads them once, through Config.Read, so that no
// byte is counted twice. Labels are bounded: a transport, a protocol or a
// state, never an info hash, since the admin API can add torrents without
// end and per-torrent figures are in /api/torrents already.
package metrics

import (
	"errors"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Transports are the transport label values, in the order of the API's
// transports: BitTorrent over TCP, uTP and WebRTC data channels, and HTTP
// from the web seed and /stream.
var Transports = []string{"tcp", "utp", "webrtc", "webseed", "stream"}

// bitTorrent are the transports with peers that send the node bytes too.
var bitTorrent = []string{"tcp", "utp", "webrtc"}

// Figures are a node's figures at one moment.
type Figures struct {
	// Transports holds the figures of each transport named in Transports;
	// others are left out. Nil for a process without a swarm, such as
	// the tracker alone.
	Transports map[string]Transport
	// Torrents and Seeding count the torrents served, and those of them
	// complete.
	Torrents, Seeding int
	// StreamViewers is the number of /stream responses being written.
	StreamViewers int
	// HashFailures counts the pieces that failed verification after
	// peers sent them.
	HashFailures int64
	// Tracker holds the tracker's figures; nil for a process without one.
	Tracker *Tracker
}

// Transport is one transport's figures. Peers is a count now; the bytes
// are payload bytes since the process started and must never go down.
type Transport struct {
	Peers             int
	BytesIn, BytesOut int64
}

// Tracker is the tracker's figures. Sockets and Swarms are counts now;
// the rest count since the process started.
type Tracker struct {
	Sockets, Swarms              int
	WSAnnounces, HTTPAnnounces   int64
	OffersRelayed, OffersDropped int64
	AnswersRelayed               int64
	MessagesDropped              int64
	MessagesRejected             int64
}

// Config configures Metrics.
type Config struct {
	// Read returns the figures now (required). Each scrape calls it
	// once, possibly from several goroutines at a time.
	Read func() Figures
	// Version and Revision label seedcast_build_info: the module version
	// and VCS commit of the binary.
	Version, Revision string
	// Logger receives errors of serving a scrape; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Metrics is a Prometheus registry of a node's figures.
type Metrics struct {
	reg *prometheus.Registry
	log *slog.Logger
}

// New registers the node's collector, seedcast_build_info and the Go and
// process collectors.
func New(cfg Config) (*Metrics, error) {
	if cfg.Read == nil {
		return nil, errors.New("metrics: Config.Read is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	reg := prometheus.NewRegistry()
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "seedcast_build_info",
		Help:        "Always 1; its labels say which seedcast this is, as seedcast version prints.",
		ConstLabels: prometheus.Labels{"version": cfg.Version, "revision": cfg.Revision, "goversion": runtime.Version()},
	})
	build.Set(1)
	for _, c := range []prometheus.Collector{
		newCollector(cfg.Read),
		build,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return &Metrics{reg: reg, log: cfg.Logger.With("component", "metrics")}, nil
}

// Handler serves the figures in Prometheus's exposition formats, text by
// default. Scrapes come from a monitoring system, a few a minute: at most
// maxScrapes are served at once, the rest answered 503.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:            slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: maxScrapes,
		Timeout:             scrapeTimeout,
	})
}

const (
	maxScrapes    = 4
	scrapeTimeout = 10 * time.Second
)

// collector turns Figures into metrics at each scrape. Counters go out
// as the highest value seen: a figure kept in two places, such as the
// bytes of a conn that just closed and is not yet counted as its
// torrent's, can dip for a moment, and Prometheus would take any dip for
// a restart and count everything again.
type collector struct {
	read func() Figures

	peers, sent, received, torrents, viewers, hashFailures   *prometheus.Desc
	sockets, swarms, announces, offersRelayed, offersDropped *prometheus.Desc
	answersRelayed, messagesDropped, messagesRejected        *prometheus.Desc

	mu   sync.Mutex
	high map[counterKey]float64
}

type counterKey struct {
	desc  *prometheus.Desc
	label string
}

func newCollector(read func() Figures) *collector {
	d := prometheus.NewDesc
	return &collector{
		read: read,
		peers: d("seedcast_peers",
			"Peers connected now, by transport: BitTorrent peer connections over tcp, utp and webrtc, and HTTP responses being sent for webseed and stream.",
			[]string{"transport"}, nil),
		sent: d("seedcast_sent_bytes_total",
			"Payload bytes sent, by transport: pieces to BitTorrent peers, and response bodies of /webseed and /stream.",
			[]string{"transport"}, nil),
		received: d("seedcast_received_bytes_total",
			"Payload bytes received from BitTorrent peers, by transport.",
			[]string{"transport"}, nil),
		torrents: d("seedcast_torrents",
			"Torrents served, by state: seeding (every piece verified) or fetching.",
			[]string{"state"}, nil),
		viewers: d("seedcast_stream_viewers",
			"Responses of /stream being sent now: viewers playing from the node over HTTP, and downloads.",
			nil, nil),
		hashFailures: d("seedcast_piece_hash_failures_total",
			"Pieces that peers sent and that then failed verification.",
			nil, nil),
		sockets: d("seedcast_tracker_sockets",
			"WebSockets open to the tracker now.",
			nil, nil),
		swarms: d("seedcast_tracker_swarms",
			"Info hashes the tracker has peers of now.",
			nil, nil),
		announces: d("seedcast_tracker_announces_total",
			"Announces the tracker served, by protocol: ws (WebTorrent) or http (BEP 3).",
			[]string{"protocol"}, nil),
		offersRelayed: d("seedcast_tracker_offers_relayed_total",
			"WebRTC offers the tracker forwarded to a peer.",
			nil, nil),
		offersDropped: d("seedcast_tracker_offers_dropped_total",
			"WebRTC offers the tracker dropped because their recipient's send queue was full or closing.",
			nil, nil),
		answersRelayed: d("seedcast_tracker_answers_relayed_total",
			"WebRTC answers the tracker forwarded to the peer that offered.",
			nil, nil),
		messagesDropped: d("seedcast_tracker_messages_dropped_total",
			"Messages to WebSocket peers dropped because the peer's send queue was full.",
			nil, nil),
		messagesRejected: d("seedcast_tracker_messages_rejected_total",
			"WebSocket messages the tracker refused, answering with a failure reason.",
			nil, nil),
		high: make(map[counterKey]float64),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.peers, c.sent, c.received, c.torrents, c.viewers, c.hashFailures,
		c.sockets, c.swarms, c.announces, c.offersRelayed, c.offersDropped,
		c.answersRelayed, c.messagesDropped, c.messagesRejected,
	} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	f := c.read()
	gauge := func(d *prometheus.Desc, v int, label ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), label...)
	}
	counter := func(d *prometheus.Desc, v int64, label ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, c.highest(d, v, label), label...)
	}
	if f.Transports != nil {
		for _, name := range Transports {
			tr := f.Transports[name]
			gauge(c.peers, tr.Peers, name)
			counter(c.sent, tr.BytesOut, name)
		}
		for _, name := range bitTorrent {
			counter(c.received, f.Transports[name].BytesIn, name)
		}
		gauge(c.torrents, f.Seeding, "seeding")
		gauge(c.torrents, f.Torrents-f.Seeding, "fetching")
		gauge(c.viewers, f.StreamViewers)
		counter(c.hashFailures, f.HashFailures)
	}
	if tr := f.Tracker; tr != nil {
		gauge(c.sockets, tr.Sockets)
		gauge(c.swarms, tr.Swarms)
		counter(c.announces, tr.WSAnnounces, "ws")
		counter(c.announces, tr.HTTPAnnounces, "http")
		counter(c.offersRelayed, tr.OffersRelayed)
		counter(c.offersDropped, tr.OffersDropped)
		counter(c.answersRelayed, tr.AnswersRelayed)
		counter(c.messagesDropped, tr.MessagesDropped)
		counter(c.messagesRejected, tr.MessagesRejected)
	}
}

// highest returns the highest value of a counter seen so far, v included.
func (c *collector) highest(d *prometheus.Desc, v int64, label []string) float64 {
	k := counterKey{desc: d}
	if len(label) > 0 {
		k.label = label[0]
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	h := max(c.high[k], float64(v))
	c.high[k] = h
	return h
}
