package swarm

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testTorrent returns the bytes of a .torrent of a small file.
func testTorrent(t *testing.T) []byte {
	t.Helper()
	dir := t.TempDir()
	writeRandom(t, filepath.Join(dir, "film.bin"), 100<<10, 3)
	mi, err := Create(t.Context(), CreateConfig{Path: filepath.Join(dir, "film.bin"), Announce: [][]string{{"http://127.0.0.1:1/announce"}}})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := mi.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestLoadTorrentURL(t *testing.T) {
	good := testTorrent(t)
	stall := make(chan struct{})
	defer close(stall)
	mux := http.NewServeMux()
	mux.HandleFunc("/film.torrent", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-bittorrent")
		w.Write(good)
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/film.torrent", http.StatusFound)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("/to-ftp", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "ftp://127.0.0.1/film.torrent", http.StatusFound)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "104857600")
		w.Write([]byte("d"))
	})
	mux.HandleFunc("/big-chunked", func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("x"), 1<<20)
		for range 12 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-stall:
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/slow-body", func(w http.ResponseWriter, r *http.Request) {
		w.Write(good[:10])
		w.(http.Flusher).Flush()
		select {
		case <-stall:
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<!doctype html><title>Film</title><a href=/film.torrent>download</a>"))
	})
	mux.HandleFunc("/junk", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("d4:name4:film"))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := newFetchClient()

	for _, tc := range []struct {
		path    string
		want    error // nil: a torrent
		words   []string
		timeout time.Duration // 0: 300 ms
	}{
		{"/film.torrent", nil, nil, 0},
		{"/moved", nil, nil, 0},
		{"/gone", ErrFetch, []string{"404 Not Found", "check the URL"}, 0},
		{"/loop", ErrFetch, []string{"stopped after 5 redirects"}, 0},
		{"/to-ftp", ErrFetch, []string{"redirected to a ftp: URL"}, 0},
		{"/big", ErrBadTorrentFile, []string{"104857600 bytes", "over the 10 MiB"}, 0},
		{"/big-chunked", ErrBadTorrentFile, []string{"is longer", "over the 10 MiB"}, time.Minute},
		{"/slow", context.DeadlineExceeded, []string{"no answer within 300ms", "server is up"}, 0},
		{"/slow-body", context.DeadlineExceeded, []string{"not all sent within 300ms"}, 0},
		{"/page", ErrBadTorrentFile, []string{"a web page", "the .torrent itself"}, 0},
		{"/junk", ErrBadTorrentFile, []string{"not a valid .torrent file"}, 0},
	} {
		t.Run(strings.TrimPrefix(tc.path, "/"), func(t *testing.T) {
			u := srv.URL + tc.path
			mi, err := loadTorrentURL(t.Context(), c, u, cmp.Or(tc.timeout, 300*time.Millisecond))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("loadTorrentURL(%s): %v", u, err)
				}
				if got := mi.HashInfoBytes(); got.IsZero() {
					t.Errorf("loadTorrentURL(%s): no info", u)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("loadTorrentURL(%s) = %v, want %v", u, err, tc.want)
			}
			for _, w := range append(tc.words, u) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}

	// Nobody listens: a refused connection, named.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL + "/film.torrent"
	dead.Close()
	if _, err := loadTorrentURL(t.Context(), c, deadURL, time.Second); !errors.Is(err, ErrFetch) || !strings.Contains(err.Error(), deadURL) {
		t.Errorf("loadTorrentURL of a closed server = %v, want ErrFetch naming the URL", err)
	}
}

func TestParseTorrentURL(t *testing.T) {
	for _, tc := range []struct {
		raw string
		ok  bool
	}{
		{"http://films.example.org/film.torrent", true},
		{"HTTPS://films.example.org:8443/t?id=3", true},
		{"http://user:secret@films.example.org/film.torrent", true},
		{"http:///film.torrent", false},
		{"http://%zz/film.torrent", false},
		{"https:film.torrent", false},
	} {
		_, err := parseTorrentURL(tc.raw)
		if (err == nil) != tc.ok {
			t.Errorf("parseTorrentURL(%q) = %v, want ok %v", tc.raw, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrFetch) {
			t.Errorf("parseTorrentURL(%q) = %v, want ErrFetch", tc.raw, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("parseTorrentURL(%q) = %v: the password shows", tc.raw, err)
		}
	}
}

// TestAddURL adds a torrent by URL, keeps it, and restores it after a
// restart with the server gone: the metainfo was kept, not the URL.
func TestAddURL(t *testing.T) {
	good := testTorrent(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(good) }))
	data := t.TempDir()
	s, stop := startSwarm(t, testConfig(t, data))
	tt, err := s.Add(t.Context(), srv.URL+"/film.torrent")
	if err != nil {
		t.Fatal(err)
	}
	if tt.Name() != "film.bin" || len(tt.Files()) != 1 {
		t.Errorf("added %q with files %v, want film.bin", tt.Name(), tt.Files())
	}
	if err := s.Keep(tt); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	srv.Close()

	s, _ = startSwarm(t, testConfig(t, data))
	restored, err := s.Restore(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(restored) != 1 || restored[0].InfoHash() != tt.InfoHash() || len(restored[0].Files()) != 1 {
		t.Fatalf("restored %v, want %s with its info", restored, tt.InfoHash())
	}
}
