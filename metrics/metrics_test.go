package metrics

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape fetches url and parses it as Prometheus's text format.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, res.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("parsing the scrape: %v", err)
	}
	return fams
}

// value returns the value of the sample of family name whose label (if
// any) has value label, and whether there is one.
func value(fams map[string]*dto.MetricFamily, name, label string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
	for _, m := range f.Metric {
		if label != "" && (len(m.Label) != 1 || m.Label[0].GetValue() != label) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		}
	}
	return 0, false
}

func TestScrape(t *testing.T) {
	var mu sync.Mutex
	f := Figures{
		Transports: map[string]Transport{
			"tcp":     {Peers: 2, BytesIn: 100, BytesOut: 5000},
			"webrtc":  {Peers: 1, BytesOut: 700},
			"stream":  {Peers: 3, BytesOut: 9000},
			"unknown": {Peers: 9, BytesOut: 9}, // not a label value
		},
		Torrents: 3, Seeding: 2, StreamViewers: 3, HashFailures: 4,
		Tracker: &Tracker{Sockets: 5, Swarms: 6, WSAnnounces: 7, HTTPAnnounces: 8, OffersRelayed: 9, OffersDropped: 1, AnswersRelayed: 2, MessagesDropped: 3, MessagesRejected: 4},
	}
	m, err := New(Config{Read: func() Figures {
		mu.Lock()
		defer mu.Unlock()
		return f
	}, Version: "v1.2.3", Revision: "abc123"})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(m.Handler())
	defer ts.Close()

	fams := scrape(t, ts.URL)
	for _, tc := range []struct {
		name, label string
		typ         dto.MetricType
		want        float64
	}{
		{"seedcast_peers", "tcp", dto.MetricType_GAUGE, 2},
		{"seedcast_peers", "utp", dto.MetricType_GAUGE, 0},
		{"seedcast_peers", "stream", dto.MetricType_GAUGE, 3},
		{"seedcast_sent_bytes_total", "tcp", dto.MetricType_COUNTER, 5000},
		{"seedcast_sent_bytes_total", "webrtc", dto.MetricType_COUNTER, 700},
		{"seedcast_sent_bytes_total", "webseed", dto.MetricType_COUNTER, 0},
		{"seedcast_sent_bytes_total", "stream", dto.MetricType_COUNTER, 9000},
		{"seedcast_received_bytes_total", "tcp", dto.MetricType_COUNTER, 100},
		{"seedcast_torrents", "seeding", dto.MetricType_GAUGE, 2},
		{"seedcast_torrents", "fetching", dto.MetricType_GAUGE, 1},
		{"seedcast_stream_viewers", "", dto.MetricType_GAUGE, 3},
		{"seedcast_piece_hash_failures_total", "", dto.MetricType_COUNTER, 4},
		{"seedcast_tracker_sockets", "", dto.MetricType_GAUGE, 5},
		{"seedcast_tracker_swarms", "", dto.MetricType_GAUGE, 6},
		{"seedcast_tracker_announces_total", "ws", dto.MetricType_COUNTER, 7},
		{"seedcast_tracker_announces_total", "http", dto.MetricType_COUNTER, 8},
		{"seedcast_tracker_offers_relayed_total", "", dto.MetricType_COUNTER, 9},
		{"seedcast_tracker_offers_dropped_total", "", dto.MetricType_COUNTER, 1},
		{"seedcast_tracker_answers_relayed_total", "", dto.MetricType_COUNTER, 2},
		{"seedcast_tracker_messages_dropped_total", "", dto.MetricType_COUNTER, 3},
		{"seedcast_tracker_messages_rejected_total", "", dto.MetricType_COUNTER, 4},
		{"seedcast_build_info", "", dto.MetricType_GAUGE, 1},
	} {
		fam := fams[tc.name]
		if fam == nil {
			t.Errorf("no %s", tc.name)
			continue
		}
		if fam.GetHelp() == "" || fam.GetType() != tc.typ {
			t.Errorf("%s: help %q, type %v; want a help text and %v", tc.name, fam.GetHelp(), fam.GetType(), tc.typ)
		}
		if got, ok := value(fams, tc.name, tc.label); !ok || got != tc.want {
			t.Errorf("%s{%s} = %v (present %v), want %v", tc.name, tc.label, got, ok, tc.want)
		}
	}
	if n := len(fams["seedcast_peers"].Metric); n != len(Transports) {
		t.Errorf("%d seedcast_peers series, want one per transport (%d): labels are bounded", n, len(Transports))
	}
	if n := len(fams["seedcast_received_bytes_total"].Metric); n != 3 {
		t.Errorf("%d seedcast_received_bytes_total series, want tcp, utp and webrtc", n)
	}
	for _, name := range []string{"go_goroutines", "go_memstats_alloc_bytes", "process_start_time_seconds"} {
		if fams[name] == nil {
			t.Errorf("no %s: the Go and process collectors are registered", name)
		}
	}
	bi := fams["seedcast_build_info"].Metric[0]
	labels := map[string]string{}
	for _, l := range bi.Label {
		labels[l.GetName()] = l.GetValue()
	}
	if labels["version"] != "v1.2.3" || labels["revision"] != "abc123" || labels["goversion"] == "" {
		t.Errorf("seedcast_build_info labels %v", labels)
	}

	// A counter that dips for a moment (a conn's bytes between its close
	// and being counted as its torrent's) goes out as the highest seen,
	// and moves on from there.
	mu.Lock()
	f.Transports = map[string]Transport{"tcp": {BytesOut: 4000}}
	f.HashFailures = 0
	mu.Unlock()
	fams = scrape(t, ts.URL)
	if got, _ := value(fams, "seedcast_sent_bytes_total", "tcp"); got != 5000 {
		t.Errorf("after a dip: sent{tcp} = %v, want 5000, the highest seen", got)
	}
	if got, _ := value(fams, "seedcast_peers", "tcp"); got != 0 {
		t.Errorf("peers{tcp} = %v, want 0: gauges go down", got)
	}
	mu.Lock()
	f.Transports = map[string]Transport{"tcp": {BytesOut: 6000}}
	mu.Unlock()
	fams = scrape(t, ts.URL)
	if got, _ := value(fams, "seedcast_sent_bytes_total", "tcp"); got != 6000 {
		t.Errorf("sent{tcp} = %v, want 6000", got)
	}
}

// TestTrackerOnly checks that a process with a tracker and no swarm
// exposes the tracker's figures alone.
func TestTrackerOnly(t *testing.T) {
	m, err := New(Config{Read: func() Figures { return Figures{Tracker: &Tracker{Sockets: 1}} }})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(m.Handler())
	defer ts.Close()
	fams := scrape(t, ts.URL)
	if _, ok := value(fams, "seedcast_tracker_sockets", ""); !ok {
		t.Error("no seedcast_tracker_sockets")
	}
	if fams["seedcast_peers"] != nil || fams["seedcast_torrents"] != nil {
		t.Error("a tracker alone exposes swarm figures")
	}
}

func TestNewRejects(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("New without Read succeeded")
	}
}
