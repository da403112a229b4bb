package player

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseDeliveryReport(t *testing.T) {
	const length = 4 << 20
	ok := `{"viewer":"0123456789abcdef","from_viewers":1,"from_node_webrtc":2,"from_node_http":3,"uploaded":4}`
	for _, tc := range []struct {
		name, body string
		bad        bool
	}{
		{"good", ok, false},
		{"no figures", `{"viewer":"0123456789abcdef0123456789abcdef"}`, false},
		{"not JSON", `viewer=1`, true},
		{"short viewer", `{"viewer":"0123"}`, true},
		{"long viewer", `{"viewer":"` + strings.Repeat("a", 65) + `"}`, true},
		{"viewer not hex", `{"viewer":"0123456789abcdeg"}`, true},
		{"upper-case hex", `{"viewer":"0123456789ABCDEF"}`, true},
		{"negative", `{"viewer":"0123456789abcdef","uploaded":-1}`, true},
		{"beyond any page", `{"viewer":"0123456789abcdef","from_viewers":1e15}`, true},
		{"a float", `{"viewer":"0123456789abcdef","from_viewers":1.5}`, true},
	} {
		r, err := parseDeliveryReport([]byte(tc.body), length)
		if (err != nil) != tc.bad {
			t.Errorf("%s: %+v, %v; want an error: %v", tc.name, r, err, tc.bad)
		}
	}
}

func FuzzParseDeliveryReport(f *testing.F) {
	f.Add([]byte(`{"viewer":"0123456789abcdef","from_viewers":1,"from_node_webrtc":2,"from_node_http":3,"uploaded":4}`), int64(4<<20))
	f.Add([]byte(`{"viewer":"","from_viewers":-1}`), int64(0))
	f.Add([]byte(`{}`), int64(1))
	f.Fuzz(func(t *testing.T, b []byte, length int64) {
		r, err := parseDeliveryReport(b, length)
		if err != nil {
			return
		}
		if len(r.Viewer) < 16 || r.FromViewers < 0 || r.FromNodeRTC < 0 || r.FromNodeHTTP < 0 || r.Uploaded < 0 {
			t.Fatalf("accepted %+v from %q", r, b)
		}
	})
}

// TestDeliveryReports posts viewers' reports and reads them back as the
// torrent's offload figures.
func TestDeliveryReports(t *testing.T) {
	n := newTestNode(t, map[string]int{"film.mp4": 100 << 10})
	post := func(body string) int {
		t.Helper()
		res, err := http.Post(n.url+"/api/torrents/"+n.ih.String()+"/delivery", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for _, tc := range []struct {
		body string
		code int
	}{
		{`{"viewer":"aaaaaaaaaaaaaaaa","from_viewers":3000,"from_node_webrtc":1000,"from_node_http":500,"uploaded":200}`, 204},
		{`{"viewer":"bbbbbbbbbbbbbbbb","from_viewers":6000,"uploaded":7000}`, 204},
		// A figure that went down keeps the last report's.
		{`{"viewer":"aaaaaaaaaaaaaaaa","from_viewers":10,"from_node_webrtc":1000,"from_node_http":500,"uploaded":300}`, 204},
		{`{"viewer":"x"}`, 400},
		{`{"viewer":"cccccccccccccccc","padding":"` + strings.Repeat("p", 2000) + `"}`, 413},
	} {
		if code := post(tc.body); code != tc.code {
			t.Errorf("POST %.60s: %d, want %d", tc.body, code, tc.code)
		}
	}
	res, err := http.Post(n.url+"/api/torrents/"+strings.Repeat("0", 40)+"/delivery", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Errorf("a report for a torrent the node lacks: %d, want 404", res.StatusCode)
	}

	_, body := get(t, n.url+"/api/torrents/"+n.ih.String())
	var got torrentJSON
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&got); err != nil {
		t.Fatal(err)
	}
	o := got.Offload
	want := Delivery{FromViewers: 9000, FromNodeRTC: 1000, FromNodeHTTP: 500, Uploaded: 7300}
	if o.Reported != want || o.Viewers != 2 || o.ViewersToViewers != 9000 {
		t.Errorf("offload %+v, want reported %+v from 2 viewers", o, want)
	}
	if o.NodeToViewers != 0 || o.ViewerShare != 1 {
		t.Errorf("offload %+v: the node sent nothing, so viewers carried all", o)
	}
}

func TestTooManyReporters(t *testing.T) {
	var ds deliveries
	now := time.Now()
	for i := range maxReporters {
		if err := ds.put(string(rune(i)), Delivery{FromViewers: 1}, now); err != nil {
			t.Fatalf("report %d: %v", i, err)
		}
	}
	if err := ds.put("one more", Delivery{}, now); err == nil {
		t.Fatal("a report beyond maxReporters was taken")
	}
	if err := ds.put(string(rune(0)), Delivery{FromViewers: 2}, now); err != nil {
		t.Errorf("a known viewer's next report was refused: %v", err)
	}
	// Once they go quiet they still count, among the past viewers, and
	// there is room again.
	sum, live := ds.totals(now.Add(2 * reportTTL))
	if live != 0 || sum.FromViewers != maxReporters+1 {
		t.Fatalf("after reportTTL: %d viewers live, %d bytes from viewers; want none live and %d bytes", live, sum.FromViewers, maxReporters+1)
	}
	if err := ds.put("one more", Delivery{}, now.Add(2*reportTTL)); err != nil {
		t.Errorf("after the others went quiet: %v", err)
	}
}
