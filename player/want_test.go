package player

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestParseWant(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		bad        bool
	}{
		{"good", `{"viewer":"0123456789abcdef","path":"film.mp4","offset":10,"rate":2}`, false},
		{"no rate", `{"viewer":"0123456789abcdef","path":"film.mp4","offset":0}`, false},
		{"not JSON", `viewer=1`, true},
		{"no path", `{"viewer":"0123456789abcdef"}`, true},
		{"short viewer", `{"viewer":"0123","path":"film.mp4"}`, true},
		{"viewer not hex", `{"viewer":"0123456789abcdeZ","path":"film.mp4"}`, true},
		{"a float", `{"viewer":"0123456789abcdef","path":"film.mp4","offset":1.5}`, true},
	} {
		w, err := parseWant([]byte(tc.body))
		if (err != nil) != tc.bad {
			t.Errorf("%s: %+v, %v; want an error: %v", tc.name, w, err, tc.bad)
		}
	}
}

// TestServeWant posts where a viewer plays: a node that holds the whole
// film answers that it is not fetching, and bad wants get 400 or 404.
func TestServeWant(t *testing.T) {
	n := newTestNode(t, map[string]int{"film.mp4": 100 << 10})
	post := func(ih, body string) (int, string) {
		t.Helper()
		res, err := http.Post(n.url+"/api/torrents/"+ih+"/want", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	code, body := post(n.ih.String(), `{"viewer":"0123456789abcdef","path":"bundle/film.mp4","offset":1000,"rate":100}`)
	var ans struct{ Fetching *bool }
	if err := json.Unmarshal([]byte(body), &ans); code != http.StatusOK || err != nil || ans.Fetching == nil || *ans.Fetching {
		t.Errorf("a want of a film the node holds: %d %s; want 200 with fetching false", code, body)
	}
	for _, tc := range []struct {
		name, ih, body string
		code           int
	}{
		{"no such file", n.ih.String(), `{"viewer":"0123456789abcdef","path":"bundle/other.mp4"}`, http.StatusBadRequest},
		{"beyond the file", n.ih.String(), `{"viewer":"0123456789abcdef","path":"bundle/film.mp4","offset":1000000}`, http.StatusBadRequest},
		{"bad viewer", n.ih.String(), `{"viewer":"x","path":"bundle/film.mp4"}`, http.StatusBadRequest},
		{"too long", n.ih.String(), `{"viewer":"0123456789abcdef","path":"` + strings.Repeat("a", maxWantBytes) + `"}`, http.StatusRequestEntityTooLarge},
		{"no such torrent", strings.Repeat("0", 40), `{"viewer":"0123456789abcdef","path":"bundle/film.mp4"}`, http.StatusNotFound},
	} {
		if code, body := post(tc.ih, tc.body); code != tc.code {
			t.Errorf("%s: %d %s; want %d", tc.name, code, strings.TrimSpace(body), tc.code)
		}
	}
}
