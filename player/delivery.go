package player

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/seedcast/seedcast/httperr"
	"github.com/seedcast/seedcast/infohash"
	"github.com/seedcast/seedcast/swarm"
)

// Limits of the delivery reports pages send.
const (
	// maxReportBytes bounds a report's body; one is under 200 bytes.
	maxReportBytes = 1 << 10
	// maxReporters bounds the viewers of one torrent whose reports are
	// held apart; further viewers are refused until some go quiet.
	maxReporters = 10_000
	// reportTTL is how long a viewer's report stands alone after its last
	// one; then its figures join the torrent's totals of past viewers.
	// Pages report every 5 s while they play.
	reportTTL = time.Minute
	// maxReportFactor bounds each figure of a report, in lengths of the
	// torrent: WebTorrent counts duplicate blocks, and a page may be open
	// for hours, passing the film on to many.
	maxReportFactor = 64
)

// Delivery is what viewers' pages report of their bytes: where they came
// from, and what they passed on.
type Delivery struct {
	// FromViewers came over WebRTC from other viewers.
	FromViewers int64 `json:"from_viewers"`
	// FromNodeRTC came over WebRTC from a seedcast node, FromNodeHTTP from
	// its web seed.
	FromNodeRTC  int64 `json:"from_node_webrtc"`
	FromNodeHTTP int64 `json:"from_node_http"`
	// Uploaded went to other peers.
	Uploaded int64 `json:"uploaded"`
}

func (d *Delivery) add(o Delivery) {
	d.FromViewers += o.FromViewers
	d.FromNodeRTC += o.FromNodeRTC
	d.FromNodeHTTP += o.FromNodeHTTP
	d.Uploaded += o.Uploaded
}

// Offload is how much of what viewers got the node sent, and how much they
// carried for each other.
type Offload struct {
	// NodeToViewers is what the node sent to browsers: over WebRTC, from
	// its web seed and from /stream.
	NodeToViewers int64 `json:"node_to_viewers"`
	// ViewersToViewers is what viewers report they got from each other.
	ViewersToViewers int64 `json:"viewers_to_viewers"`
	// ViewerShare is ViewersToViewers over both, 0 to 1: the share of the
	// film's delivery that viewers carried.
	ViewerShare float64 `json:"viewer_share"`
	// Viewers is the number of pages that reported within the last
	// minute.
	Viewers int `json:"viewers"`
	// Reported sums every report, of viewers now and before.
	Reported Delivery `json:"reported"`
}

// deliveries holds the reports of one torrent's viewers.
type deliveries struct {
	mu   sync.Mutex
	live map[string]report // by the page's viewer id
	past Delivery          // reports of viewers gone quiet
}

type report struct {
	Delivery
	at time.Time
}

// totals folds reports older than reportTTL into past and returns the sum
// of all with the number of live viewers.
func (ds *deliveries) totals(now time.Time) (Delivery, int) {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	sum := ds.past
	for id, r := range ds.live {
		if now.Sub(r.at) > reportTTL {
			ds.past.add(r.Delivery)
			delete(ds.live, id)
		}
		sum.add(r.Delivery)
	}
	return sum, len(ds.live)
}

var errTooManyReporters = errors.New("too many viewers reporting")

// put records viewer id's report. A figure below the viewer's last report
// keeps the last: a page's counters only grow.
func (ds *deliveries) put(id string, d Delivery, now time.Time) error {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	if ds.live == nil {
		ds.live = make(map[string]report)
	}
	last, ok := ds.live[id]
	if !ok && len(ds.live) >= maxReporters {
		return errTooManyReporters
	}
	d.FromViewers = max(d.FromViewers, last.FromViewers)
	d.FromNodeRTC = max(d.FromNodeRTC, last.FromNodeRTC)
	d.FromNodeHTTP = max(d.FromNodeHTTP, last.FromNodeHTTP)
	d.Uploaded = max(d.Uploaded, last.Uploaded)
	ds.live[id] = report{Delivery: d, at: now}
	return nil
}

func (p *Server) deliveries(ih infohash.Hash) *deliveries {
	p.servedMu.Lock()
	defer p.servedMu.Unlock()
	d := p.reports[ih]
	if d == nil {
		d = new(deliveries)
		p.reports[ih] = d
	}
	return d
}

// deliveryReport is the body of POST /api/torrents/{infohash}/delivery.
type deliveryReport struct {
	// Viewer is a random id the page makes once: 16 to 64 hex digits.
	Viewer string `json:"viewer"`
	Delivery
}

// parseDeliveryReport reads a report of a torrent of length bytes, and
// rejects one that no page could send.
func parseDeliveryReport(b []byte, length int64) (deliveryReport, error) {
	var r deliveryReport
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("bad report: %w", err)
	}
	if !isViewerID(r.Viewer) {
		return r, errors.New("bad report: viewer must be 16 to 64 hex digits")
	}
	limit := maxReportFactor * max(length, 1<<20)
	for _, v := range []int64{r.FromViewers, r.FromNodeRTC, r.FromNodeHTTP, r.Uploaded} {
		if v < 0 || v > limit {
			return r, fmt.Errorf("bad report: figures must be 0 to %d bytes for this torrent", limit)
		}
	}
	return r, nil
}

// serveDelivery takes a viewer's report of its bytes.
func (p *Server) serveDelivery(w http.ResponseWriter, r *http.Request) error {
	t, err := p.lookup(r.PathValue("infohash"))
	if err != nil {
		return err
	}
	b, err := httperr.ReadBody(w, r, maxReportBytes)
	if err != nil {
		return err
	}
	rep, err := parseDeliveryReport(b, t.Length())
	if err != nil {
		return httperr.Errorf(http.StatusBadRequest, "%v", err)
	}
	if err := p.deliveries(t.InfoHash()).put(rep.Viewer, rep.Delivery, time.Now()); err != nil {
		return httperr.Errorf(http.StatusTooManyRequests, "%v; try again in a minute", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// offload returns t's offload figures, from its transports and its
// viewers' reports.
func (p *Server) offload(ih infohash.Hash, st swarm.Stats) Offload {
	reported, viewers := p.deliveries(ih).totals(time.Now())
	var o Offload
	for _, name := range []string{"webrtc", "webseed", "http"} {
		o.NodeToViewers += st.Transports[name].BytesOut
	}
	o.ViewersToViewers = reported.FromViewers
	if all := o.NodeToViewers + o.ViewersToViewers; all > 0 {
		o.ViewerShare = float64(o.ViewersToViewers) / float64(all)
	}
	o.Viewers = viewers
	o.Reported = reported
	return o
}

// Offload returns the offload figures of the torrent ih, for pages that
// show them; false if the node has no such torrent.
func (p *Server) Offload(ih infohash.Hash) (Offload, bool) {
	t, ok := p.torrent(ih)
	if !ok {
		return Offload{}, false
	}
	return p.offload(ih, p.stats(t)), true
}
