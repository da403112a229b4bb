package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"image"
	"image/png"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"golang.org/x/net/html"

	"github.com/seedcast/seedcast/infohash"
)

const (
	pilotIH  = "8773e17b6f6375d8a00cf47464dc2682fa014959"
	bundleIH = "cb8686a8b0ff2bcac834d3ba8642bee2425fe049"
	evilIH   = "00000000000000000000000000000000000000ee"
	magnetIH = "1111111111111111111111111111111111111111"
	docsIH   = "2222222222222222222222222222222222222222"
)

// evilName is a torrent name made to break out of every context a page
// puts it in.
const evilName = `</script><script>alert(1)</script><img src=x onerror=alert(2)>"'&`

// fakeLibrary is a Library and FileOpener over fixed torrents.
type fakeLibrary struct {
	torrents []Torrent
	content  map[string][]byte // by infohash/path
}

func (l *fakeLibrary) Torrents() []Torrent { return l.torrents }

func (l *fakeLibrary) Torrent(ih infohash.Hash) (Torrent, bool) {
	for _, t := range l.torrents {
		if t.InfoHash == ih {
			return t, true
		}
	}
	return Torrent{}, false
}

func (l *fakeLibrary) OpenFile(_ context.Context, ih infohash.Hash, path string) (io.ReadCloser, error) {
	b, ok := l.content[ih.String()+"/"+path]
	if !ok {
		return nil, errors.New("no such file")
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// fileTypes stand in for player.ContentType, with which cmd/seedcast
// fills File.Type: web imports nothing above it, not even in tests.
var fileTypes = map[string]string{
	".mp4": "video/mp4", ".webm": "video/webm", ".mkv": "video/x-matroska",
	".mp3": "audio/mpeg", ".flac": "audio/flac",
	".jpg": "image/jpeg", ".png": "image/png", ".webp": "image/webp",
	".srt": "application/x-subrip; charset=utf-8", ".vtt": "text/vtt; charset=utf-8",
	".txt": "text/plain; charset=utf-8", ".md": "text/markdown; charset=utf-8",
	".pdf": "application/pdf",
}

// file is a file of the library with the type its name gives it.
func file(p string, n int64) File {
	t, ok := fileTypes[strings.ToLower(path.Ext(p))]
	if !ok {
		t = "application/octet-stream"
	}
	return File{Path: p, Length: n, Type: t}
}

// mustHash parses a test's info hash.
func mustHash(s string) infohash.Hash {
	ih, err := infohash.Parse(s)
	if err != nil {
		panic(err)
	}
	return ih
}

func torrent(ih, name string, files ...File) Torrent {
	t := Torrent{InfoHash: mustHash(ih), Name: name, Files: files, Magnet: "magnet:?xt=urn:btih:" + ih, TorrentURL: "http://node.test/torrents/" + ih + ".torrent"}
	for _, f := range files {
		t.Length += f.Length
	}
	return t
}

// delivered gives t the offload figures of a torrent watched a while.
func delivered(t Torrent, n int64, share float64) Torrent {
	t.Delivered, t.ViewerShare = n, share
	return t
}

func testPNG(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func testLibrary(t testing.TB) *fakeLibrary {
	return &fakeLibrary{
		torrents: []Torrent{
			delivered(torrent(pilotIH, "seedcast-pilot.mp4", file("seedcast-pilot.mp4", 3949668)), 3_100_000_000, 0.725),
			torrent(bundleIH, "Night Train",
				file("Night Train/01 Overture.mp3", 721042),
				file("Night Train/night-train.en.srt", 242),
				file("Night Train/night-train.fr.vtt", 71),
				file("Night Train/night-train.mp4", 3949668),
				file("Night Train/trailer.mp4", 1000),
				file("Night Train/trailer.de.vtt", 50),
				file("Night Train/notes.md", 159),
				file("Night Train/poster.jpg", 76686),
				file("Night Train/still-02.png", 86165),
			),
			torrent(evilIH, evilName, file(evilName+"/"+evilName+".mp4", 10), file(evilName+"/cover.png", 10)),
			{InfoHash: mustHash(magnetIH), Name: magnetIH, Magnet: "magnet:?xt=urn:btih:" + magnetIH, Peers: 3, PeersFound: 4, InfoWait: 75 * time.Second},
			torrent(docsIH, "papers", file("papers/a.pdf", 1000), file("papers/readme.txt", 10)),
		},
		content: map[string][]byte{
			bundleIH + "/Night Train/poster.jpg": testPNG(t, 320, 180), // any format Go reads
		},
	}
}

// testDist is a built front end.
func testDist() fstest.MapFS {
	m := fstest.MapFS{"dist/README.md": {Data: []byte("placeholder")}}
	for _, name := range requiredAssets {
		m["dist/"+name] = &fstest.MapFile{Data: []byte(strings.Repeat("/* "+name+" */\n", 200))}
	}
	m["dist/icon.svg"] = &fstest.MapFile{Data: []byte("<svg/>")}
	return m
}

func newTestServer(t testing.TB, lib Library, dist fs.FS) *httptest.Server {
	t.Helper()
	return newTestServerConfig(t, Config{Library: lib}, dist)
}

// newTestServerConfig serves the pages of cfg, at http://node.test/ unless
// cfg says otherwise.
func newTestServerConfig(t testing.TB, cfg Config, dist fs.FS) *httptest.Server {
	t.Helper()
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://node.test/"
	}
	cfg.Logger = slog.New(slog.DiscardHandler)
	s, err := newServer(cfg, dist)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	s.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t testing.TB, c *http.Client, u string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

func TestNewValidates(t *testing.T) {
	lib := testLibrary(t)
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no library", Config{PublicURL: "http://node.test"}, "Library"},
		{"no public URL", Config{Library: lib}, "PublicURL"},
		{"bad public URL", Config{Library: lib, PublicURL: "node.test:8080"}, "PublicURL"},
		{"not http", Config{Library: lib, PublicURL: "ftp://node.test"}, "PublicURL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New(%+v) = %v, want an error naming %s", tc.cfg, err, tc.want)
			}
		})
	}
}

// TestNotBuilt checks that without the front end's build the pages say how
// to build it, and everything else still starts.
func TestNotBuilt(t *testing.T) {
	srv := newTestServer(t, testLibrary(t), fstest.MapFS{"dist/README.md": {Data: []byte("placeholder")}})
	for _, p := range []string{"/", "/watch/" + pilotIH, "/embed/" + pilotIH, "/assets/watch.js", "/sw.min.js"} {
		res, body := get(t, srv.Client(), srv.URL+p)
		if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "front end not built: run make") {
			t.Errorf("GET %s: %s %q, want 503 saying to run make", p, res.Status, body)
		}
	}
	// The embedded build of this checkout loads either way.
	if _, err := New(Config{Library: testLibrary(t), PublicURL: "http://node.test"}); err != nil {
		t.Errorf("New with the embedded dist: %v", err)
	}
}

func TestPages(t *testing.T) {
	srv := newTestServer(t, testLibrary(t), testDist())
	tests := []struct {
		path    string
		code    int
		want    []string
		notWant []string
	}{
		{path: "/", code: 200, want: []string{
			`<h1 class="title">Library</h1>`, "5 titles",
			`href="/watch/` + pilotIH + `"`, `data-src="/stream/` + pilotIH + `/seedcast-pilot.mp4#t=2"`,
			`<img src="/stream/` + bundleIH + `/Night%20Train/poster.jpg"`, "9 files",
			"Fetching metadata",
			`<p class="offload" data-live="offload">viewers carried 72 % of 3.1 GB</p>`,
			`<p class="offload" data-live="offload"></p>`,
		}},
		{path: "/watch/" + pilotIH + "?deadline=0", code: 200, want: []string{`"p2p":true`, `"deadline":false`, `"head":true`}},
		{path: "/watch/" + pilotIH + "?head=0", code: 200, want: []string{`"head":false`, `"deadline":true`}},
		{path: "/watch/" + pilotIH, code: 200, want: []string{
			`"p2p":true`, `"deadline":true`, "modulepreload", `<a href="/watch/` + pilotIH + `?p2p=0" data-switch>Watch from the server only</a>`,
			`<h1 class="title">seedcast-pilot</h1>`,
			`<link rel="alternate" type="application/json+oembed" href="http://node.test/oembed?format=json&amp;url=http%3A%2F%2Fnode.test%2Fwatch%2F` + pilotIH + `"`,
			`<link rel="alternate" type="text/xml+oembed" href="http://node.test/oembed?format=xml&amp;url=http%3A%2F%2Fnode.test%2Fwatch%2F` + pilotIH + `"`,
			`<meta property="og:type" content="video.other">`,
			`<meta property="og:video" content="http://node.test/stream/` + pilotIH + `/seedcast-pilot.mp4">`,
			`<meta property="og:video:type" content="video/mp4">`,
			`href="/stream/` + pilotIH + `/seedcast-pilot.mp4?download" download="seedcast-pilot.mp4"`,
			`&lt;iframe src=&#34;http://node.test/embed/` + pilotIH + `&#34;`,
		}, notWant: []string{"In this bundle", "og:image"}},
		{path: "/watch/" + strings.ToUpper(bundleIH) + "?file=" + url.QueryEscape("Night Train/trailer.mp4"), code: 200, want: []string{
			"In this bundle", `Playing <span data-now>trailer.mp4</span>`,
			`<meta property="og:image" content="http://node.test/stream/` + bundleIH + `/Night%20Train/poster.jpg">`,
			`<meta property="og:image:width" content="320">`,
			`<link rel="canonical" href="http://node.test/watch/` + bundleIH + `?file=Night&#43;Train/trailer.mp4">`,
		}},
		{path: "/watch/" + bundleIH + "?file=3", code: 200, want: []string{`Playing <span data-now>night-train.mp4</span>`}},
		{path: "/watch/" + bundleIH + "?file=notes.md", code: 200, want: []string{`Playing <span data-now>night-train.mp4</span>`, `"focus":6`, `<link rel="canonical" href="http://node.test/watch/` + bundleIH + `?file=Night&#43;Train/notes.md">`}},
		{path: "/watch/" + docsIH, code: 200, want: []string{"In this bundle", "papers"}, notWant: []string{"data-player", "data-delivery", "Playing"}},
		{path: "/embed/" + docsIH, code: 200, want: []string{`class="embed-card" href="http://node.test/watch/` + docsIH + `"`}, notWant: []string{"data-player"}},
		{path: "/embed/" + pilotIH, code: 200, want: []string{`class="embed-brand" href="http://node.test/watch/` + pilotIH + `"`}, notWant: []string{"masthead", "modulepreload"}},
		{path: "/embed/" + pilotIH + "?autoplay=1", code: 200, want: []string{"modulepreload", `"autoplay":true`}},
		{path: "/watch/" + pilotIH + "?p2p=0", code: 200, want: []string{`"p2p":false`, `<a href="/watch/` + pilotIH + `" data-switch>Watch peer-to-peer</a>`}, notWant: []string{"modulepreload", `as="fetch"`}},
		{path: "/watch/" + bundleIH + "?file=3", code: 200, want: []string{`<a href="/watch/` + bundleIH + `?file=Night&#43;Train%2Fnight-train.mp4&amp;p2p=0" data-switch>Watch from the server only</a>`}},
		{path: "/embed/" + pilotIH + "?autoplay=1&p2p=0", code: 200, want: []string{`"autoplay":true`, `"p2p":false`}, notWant: []string{"modulepreload"}},
		{path: "/watch/" + evilIH, code: 200, notWant: []string{"<script>alert", "<img src=x"}, want: []string{"&lt;/script&gt;&lt;script&gt;alert(1)"}},
		{path: "/", code: 200, notWant: []string{"<script>alert", "<img src=x"}},
		{path: "/watch/" + magnetIH, code: 503, want: []string{"still fetching the torrent's metadata",
			`Looking for peers: 4 found</span>, <span data-role="waited">1 min 15 s</span>`, `role="status" aria-live="polite"`,
			`<p class="hint" data-role="stuck">Nothing yet after a minute`, `src="/assets/pending.`, `data-ih="` + magnetIH + `"`},
			notWant: []string{`http-equiv="refresh"`}},
		{path: "/watch/" + strings.Repeat("ab", 20), code: 404, want: []string{"No torrent abababababababababababababababababababab on this node."}},
		{path: "/embed/" + strings.Repeat("ab", 20), code: 404, want: []string{"No torrent"}},
		{path: "/watch/xyz", code: 400, want: []string{"bad info hash &#34;xyz&#34;"}},
		{path: "/watch/" + strings.Repeat("zz", 20), code: 400, want: []string{"bad info hash"}},
		{path: "/watch/%3Cscript%3E", code: 400, notWant: []string{"<script>"}},
		{path: "/watch/" + bundleIH + "?file=9", code: 404, want: []string{"No file 9 in this torrent: it has 9."}},
		{path: "/watch/" + bundleIH + "?file=-1", code: 404, want: []string{"No file -1"}},
		{path: "/watch/" + bundleIH + "?file=" + url.QueryEscape("../../etc/passwd"), code: 404, want: []string{"No file &#34;../../etc/passwd&#34;"}},
	}
	for _, tc := range tests {
		res, body := get(t, srv.Client(), srv.URL+tc.path)
		if res.StatusCode != tc.code {
			t.Errorf("GET %s: %s, want %d", tc.path, res.Status, tc.code)
		}
		if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q, want HTML", tc.path, ct)
		}
		csp := res.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("GET %s: Content-Security-Policy %q lacks script-src 'self'", tc.path, csp)
		}
		wantFA := "frame-ancestors 'self'"
		if strings.HasPrefix(tc.path, "/embed/") {
			wantFA = "frame-ancestors *"
		}
		if !strings.HasSuffix(csp, wantFA) {
			t.Errorf("GET %s: Content-Security-Policy %q, want it to end with %s", tc.path, csp, wantFA)
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s: body lacks %s", tc.path, w)
			}
		}
		for _, w := range tc.notWant {
			if strings.Contains(body, w) {
				t.Errorf("GET %s: body has %s", tc.path, w)
			}
		}
		checkNoInlineScript(t, tc.path, body)
	}
}

// TestEmbedErrorPage checks that an embed's error, and its page for a
// torrent still without metadata, show in the embedding site's iframe
// bare: the message and a link out, without the site's masthead, which
// the watch page's errors keep.
func TestEmbedErrorPage(t *testing.T) {
	srv := newTestServer(t, testLibrary(t), testDist())
	for _, tc := range []struct {
		path     string
		code     int
		embed    bool
		want     string
		frameAll bool
	}{
		{"/embed/" + strings.Repeat("ab", 20), 404, true, "No torrent abababababababababababababababababababab on this node.", true},
		{"/embed/xyz", 400, true, "bad info hash", true},
		{"/embed/" + bundleIH + "?file=9", 404, true, "No file 9 in this torrent", true},
		{"/embed/" + magnetIH, 503, true, "still fetching the torrent's metadata", true},
		{"/watch/" + strings.Repeat("ab", 20), 404, false, "No torrent abababababababababababababababababababab on this node.", false},
		{"/watch/" + magnetIH, 503, false, "still fetching the torrent's metadata", false},
	} {
		t.Run(tc.path, func(t *testing.T) {
			res, body := get(t, srv.Client(), srv.URL+tc.path)
			if res.StatusCode != tc.code {
				t.Errorf("%s, want %d", res.Status, tc.code)
			}
			if !strings.Contains(body, tc.want) {
				t.Errorf("body lacks %q:\n%s", tc.want, body)
			}
			if got := strings.Contains(body, `class="masthead"`); got == tc.embed {
				t.Errorf("masthead shown: %v; want it only outside embeds:\n%s", got, body)
			}
			if got := strings.Contains(body, `class="page-embed"`); got != tc.embed {
				t.Errorf("bare embed body: %v, want %v", got, tc.embed)
			}
			if tc.embed && !strings.Contains(body, `target="_blank"`) && tc.code != 503 {
				t.Errorf("an embed's error has no link out of the iframe:\n%s", body)
			}
			if fa := strings.HasSuffix(res.Header.Get("Content-Security-Policy"), "frame-ancestors *"); fa != tc.frameAll {
				t.Errorf("frame-ancestors * %v, want %v", fa, tc.frameAll)
			}
		})
	}
}

// checkNoInlineScript fails the test if a page has an inline script or an
// event handler attribute, which the pages' policy would block.
func checkNoInlineScript(t testing.TB, name, body string) {
	t.Helper()
	z := html.NewTokenizer(strings.NewReader(body))
	inScript := false
	for {
		switch z.Next() {
		case html.ErrorToken:
			return
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			for _, a := range tok.Attr {
				if strings.HasPrefix(a.Key, "on") {
					t.Errorf("%s: <%s> has handler %s=%q", name, tok.Data, a.Key, a.Val)
				}
			}
			if tok.Data == "script" {
				src, typ := "", ""
				for _, a := range tok.Attr {
					switch a.Key {
					case "src":
						src = a.Val
					case "type":
						typ = a.Val
					}
				}
				inScript = src == "" && typ != "application/json"
			}
		case html.TextToken:
			if inScript && strings.TrimSpace(string(z.Text())) != "" {
				t.Errorf("%s: inline script %.80q", name, z.Text())
			}
		case html.EndTagToken:
			inScript = false
		}
	}
}

// pageDataOf decodes the JSON the scripts of a page read.
func pageDataOf(t testing.TB, body string) pageData {
	t.Helper()
	m := regexp.MustCompile(`(?s)<script type="application/json" id="page-data">(.*?)</script>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no page data in:\n%s", body)
	}
	var d pageData
	if err := json.Unmarshal([]byte(m[1]), &d); err != nil {
		t.Fatalf("page data %s: %v", m[1], err)
	}
	return d
}

func TestPageData(t *testing.T) {
	srv := newTestServer(t, testLibrary(t), testDist())
	_, body := get(t, srv.Client(), srv.URL+"/watch/"+bundleIH)
	d := pageDataOf(t, body)
	if d.InfoHash != bundleIH || d.Title != "Night Train" || d.TorrentURL != "/torrents/"+bundleIH+".torrent" || d.PublicHost != "node.test" || d.Embed || !d.Autoplay {
		t.Errorf("page data %+v", d)
	}
	byName := func(name string) (int, fileView) {
		for i, f := range d.Files {
			if f.Name == name {
				return i, f
			}
		}
		t.Fatalf("page data has no file %s", name)
		return 0, fileView{}
	}
	film, filmView := byName("night-train.mp4")
	_, trailerView := byName("trailer.mp4")
	en, enView := byName("night-train.en.srt")
	fr, _ := byName("night-train.fr.vtt")
	de, _ := byName("trailer.de.vtt")
	poster, _ := byName("poster.jpg")
	if d.Main != film {
		t.Errorf("main file %d, want %d: the largest video", d.Main, film)
	}
	if d.Poster != poster {
		t.Errorf("poster %d, want %d", d.Poster, poster)
	}
	if !slices.Equal(filmView.Captions, []int{en, fr}) || !slices.Equal(trailerView.Captions, []int{de}) {
		t.Errorf("captions: film %v, trailer %v; want %v and %v", filmView.Captions, trailerView.Captions, []int{en, fr}, []int{de})
	}
	if enView.Lang != "en" || enView.Kind != kindCaption || enView.URL != "/stream/"+bundleIH+"/Night%20Train/night-train.en.srt" {
		t.Errorf("English captions %+v", enView)
	}
	if _, f := byName("01 Overture.mp3"); f.Kind != kindAudio {
		t.Errorf("mp3 kind %q", f.Kind)
	}
	if _, f := byName("notes.md"); f.Kind != kindText {
		t.Errorf("notes.md kind %q", f.Kind)
	}

	// The JSON of a hostile name survives the trip into a script element.
	_, body = get(t, srv.Client(), srv.URL+"/watch/"+evilIH)
	d = pageDataOf(t, body)
	if d.Title != evilName || d.Files[0].Path != evilName+"/"+evilName+".mp4" {
		t.Errorf("hostile name came out as %q, files %+v", d.Title, d.Files)
	}
	if d.Poster != 1 {
		t.Errorf("cover.png is not the poster: %d", d.Poster)
	}
}

func TestView(t *testing.T) {
	s := &Server{base: &url.URL{Scheme: "http", Host: "node.test"}}
	tests := []struct {
		name       string
		files      []string
		wantMain   string
		wantPoster string
		wantCaps   map[string][]string // video: captions
	}{
		{name: "one film", files: []string{"f/film.mp4"}, wantMain: "f/film.mp4"},
		{name: "audio album", files: []string{"a/cover.jpg", "a/01.flac", "a/02.flac"}, wantMain: "a/01.flac", wantPoster: "a/cover.jpg"},
		{name: "documents", files: []string{"d/readme.txt", "d/data.bin"}, wantMain: "d/readme.txt"},
		{name: "poster after the film", files: []string{"f/a.mp4", "f/A.png", "f/z.webp"}, wantMain: "f/a.mp4", wantPoster: "f/A.png"},
		{name: "poster beats cover", files: []string{"f/cover.jpg", "f/poster.png", "f/x.webm"}, wantMain: "f/x.webm", wantPoster: "f/poster.png"},
		{name: "captions", files: []string{"f/Film.mp4", "f/Film.EN.srt", "f/Film.pt-BR.vtt", "f/Extra.mkv", "f/Extra.srt", "f/commentary.srt"},
			wantMain: "f/Film.mp4",
			wantCaps: map[string][]string{
				"f/Film.mp4":  {"f/Film.EN.srt", "f/Film.pt-BR.vtt", "f/commentary.srt"},
				"f/Extra.mkv": {"f/Extra.srt", "f/commentary.srt"},
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var files []File
			for i, p := range tc.files {
				files = append(files, file(p, int64(100-i)))
			}
			v := s.view(torrent(bundleIH, strings.Split(tc.files[0], "/")[0], files...))
			if got := v.Files[v.Main].Path; got != tc.wantMain {
				t.Errorf("main %s, want %s", got, tc.wantMain)
			}
			gotPoster := ""
			if v.Poster >= 0 {
				gotPoster = v.Files[v.Poster].Path
			}
			if gotPoster != tc.wantPoster {
				t.Errorf("poster %q, want %q", gotPoster, tc.wantPoster)
			}
			for video, want := range tc.wantCaps {
				i := slices.IndexFunc(v.Files, func(f fileView) bool { return f.Path == video })
				var got []string
				for _, c := range v.Files[i].Captions {
					got = append(got, v.Files[c].Path)
				}
				if !slices.Equal(got, want) {
					t.Errorf("captions of %s: %q, want %q", video, got, want)
				}
			}
		})
	}
}

func TestOEmbed(t *testing.T) {
	srv := newTestServer(t, testLibrary(t), testDist())
	q := url.QueryEscape
	// answer is an oEmbed answer as a consumer reads it, from JSON or
	// from XML.
	type answer struct {
		Type            string `json:"type" xml:"type"`
		Version         string `json:"version" xml:"version"`
		Title           string `json:"title" xml:"title"`
		AuthorName      string `json:"author_name" xml:"author_name"`
		AuthorURL       string `json:"author_url" xml:"author_url"`
		ProviderName    string `json:"provider_name" xml:"provider_name"`
		ProviderURL     string `json:"provider_url" xml:"provider_url"`
		HTML            string `json:"html" xml:"html"`
		Width           int    `json:"width" xml:"width"`
		Height          int    `json:"height" xml:"height"`
		ThumbnailURL    string `json:"thumbnail_url" xml:"thumbnail_url"`
		ThumbnailWidth  int    `json:"thumbnail_width" xml:"thumbnail_width"`
		ThumbnailHeight int    `json:"thumbnail_height" xml:"thumbnail_height"`
	}
	node := answer{Type: "video", Version: "1.0", AuthorName: "node.test", AuthorURL: "http://node.test/", ProviderName: "seedcast", ProviderURL: "http://node.test/"}
	with := func(a answer, title, html string, w, h int) answer {
		a.Title, a.HTML, a.Width, a.Height = title, html, w, h
		return a
	}
	thumb := func(a answer, u string, w, h int) answer {
		a.ThumbnailURL, a.ThumbnailWidth, a.ThumbnailHeight = u, w, h
		return a
	}
	ok := []struct {
		query string
		want  answer
	}{
		{"url=" + q("http://node.test/watch/"+pilotIH), with(node, "seedcast-pilot",
			`<iframe src="http://node.test/embed/`+pilotIH+`" width="640" height="360" title="seedcast-pilot" style="border:0;max-width:100%;height:auto;aspect-ratio:640/360" allow="autoplay; fullscreen; picture-in-picture" allowfullscreen></iframe>`, 640, 360)},
		{"maxwidth=320&url=" + q("https://NODE.test/watch/"+strings.ToUpper(pilotIH)+"/"), with(node, "seedcast-pilot",
			`<iframe src="http://node.test/embed/`+pilotIH+`" width="320" height="180" title="seedcast-pilot" style="border:0;max-width:100%;height:auto;aspect-ratio:320/180" allow="autoplay; fullscreen; picture-in-picture" allowfullscreen></iframe>`, 320, 180)},
		// The poster, which Go reads, with its size.
		{"maxheight=90&url=" + q("http://node.test/watch/"+bundleIH+"?file=Night Train/trailer.mp4"), thumb(with(node, "Night Train",
			`<iframe src="http://node.test/embed/`+bundleIH+`?file=Night+Train/trailer.mp4" width="160" height="90" title="Night Train" style="border:0;max-width:100%;height:auto;aspect-ratio:160/90" allow="autoplay; fullscreen; picture-in-picture" allowfullscreen></iframe>`, 160, 90),
			"http://node.test/stream/"+bundleIH+"/Night%20Train/poster.jpg", 320, 180)},
		// A poster whose size is unknown (the library cannot open it).
		{"url=" + q("http://node.test/watch/"+evilIH), thumb(with(node, evilName,
			`<iframe src="http://node.test/embed/`+evilIH+`" width="640" height="360" title="&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;&#34;&#39;&amp;" style="border:0;max-width:100%;height:auto;aspect-ratio:640/360" allow="autoplay; fullscreen; picture-in-picture" allowfullscreen></iframe>`, 640, 360),
			"http://node.test/stream/"+evilIH+"/"+escapePath(evilName)+"/cover.png", 0, 0)},
	}
	for _, tc := range ok {
		for _, format := range []string{"", "json", "xml"} {
			query := tc.query
			if format != "" {
				query = "format=" + format + "&" + query
			}
			res, body := get(t, srv.Client(), srv.URL+"/oembed?"+query)
			wantType := "application/json; charset=utf-8"
			if format == "xml" {
				wantType = "text/xml; charset=utf-8"
			}
			if res.StatusCode != 200 || res.Header.Get("Content-Type") != wantType {
				t.Errorf("GET /oembed?%s: %s %s, want 200 %s: %s", query, res.Status, res.Header.Get("Content-Type"), wantType, body)
				continue
			}
			var got answer
			var err error
			if format == "xml" {
				var root struct {
					XMLName xml.Name `xml:"oembed"`
					answer
				}
				if !strings.HasPrefix(body, `<?xml version="1.0" encoding="UTF-8"?>`) {
					t.Errorf("GET /oembed?%s: no XML declaration: %.60q", query, body)
				}
				err = xml.Unmarshal([]byte(body), &root)
				got = root.answer
			} else {
				err = json.Unmarshal([]byte(body), &got)
			}
			if err != nil {
				t.Errorf("GET /oembed?%s: %v in %s", query, err, body)
			}
			if got != tc.want {
				t.Errorf("GET /oembed?%s:\n got %+v\nwant %+v", query, got, tc.want)
			}
			// Without a poster, no thumbnail at all; never an empty one.
			if tc.want.ThumbnailURL == "" && strings.Contains(body, "thumbnail") {
				t.Errorf("GET /oembed?%s: a thumbnail without a poster: %s", query, body)
			}
			if tc.want.ThumbnailURL != "" && tc.want.ThumbnailWidth == 0 && strings.Contains(body, "thumbnail_width") {
				t.Errorf("GET /oembed?%s: a thumbnail size the node does not know: %s", query, body)
			}
		}
	}
	for _, tc := range []struct {
		query string
		code  int
	}{
		{"", 400},
		{"url=" + q("http://other.test/watch/"+pilotIH), 404},
		{"url=" + q("http://node.test/embed/"+pilotIH), 404},
		{"url=" + q("http://node.test/watch/"+pilotIH+"/more"), 404},
		{"url=" + q("http://node.test/watchlist/"+pilotIH), 404},
		{"url=" + q("http://node.test/watch/"+strings.Repeat("ab", 20)), 404},
		{"url=" + q("http://node.test/watch/"+magnetIH), 404},
		{"url=" + q("http://node.test/watch/"+bundleIH+"?file=nope"), 404},
		{"url=" + q("ftp://node.test/watch/"+pilotIH), 404},
		{"url=%zz", 400},
		{"format=yaml&url=" + q("http://node.test/watch/"+pilotIH), 501},
	} {
		res, body := get(t, srv.Client(), srv.URL+"/oembed?"+tc.query)
		if res.StatusCode != tc.code {
			t.Errorf("GET /oembed?%s: %s, want %d: %s", tc.query, res.Status, tc.code, body)
		}
	}
}

func TestAssets(t *testing.T) {
	srv := newTestServer(t, testLibrary(t), testDist())
	c := srv.Client()
	c.Transport = &http.Transport{DisableCompression: true} // see the encoding as sent

	_, page := get(t, c, srv.URL+"/watch/"+pilotIH)
	m := regexp.MustCompile(`src="(/assets/watch\.js\?v=[0-9a-f]{16})"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the watch page loads no versioned watch.js:\n%s", page)
	}
	res, body := get(t, c, srv.URL+m[1])
	if res.StatusCode != 200 || res.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" || res.Header.Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Errorf("GET %s: %s, Cache-Control %q, Content-Type %q", m[1], res.Status, res.Header.Get("Cache-Control"), res.Header.Get("Content-Type"))
	}
	if !strings.HasPrefix(body, "/* watch.js */") {
		t.Errorf("GET %s: body %.40q", m[1], body)
	}

	// WebTorrent is imported by a plain relative URL: revalidated, and
	// compressed for those who take gzip.
	res, body = get(t, c, srv.URL+"/assets/webtorrent.min.js", "Accept-Encoding", "br, gzip")
	if res.Header.Get("Cache-Control") != "no-cache" || res.Header.Get("Content-Encoding") != "gzip" || res.Header.Get("Vary") != "Accept-Encoding" {
		t.Errorf("GET webtorrent.min.js: Cache-Control %q, Content-Encoding %q, Vary %q", res.Header.Get("Cache-Control"), res.Header.Get("Content-Encoding"), res.Header.Get("Vary"))
	}
	zr, err := gzip.NewReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || !strings.HasPrefix(string(plain), "/* webtorrent.min.js */") {
		t.Errorf("gunzipped webtorrent.min.js: %v %.40q", err, plain)
	}
	etag := res.Header.Get("ETag")
	res, _ = get(t, c, srv.URL+"/assets/webtorrent.min.js", "Accept-Encoding", "gzip", "If-None-Match", etag)
	if res.StatusCode != http.StatusNotModified {
		t.Errorf("GET webtorrent.min.js If-None-Match %s: %s, want 304", etag, res.Status)
	}
	res, body = get(t, c, srv.URL+"/assets/webtorrent.min.js", "Accept-Encoding", "gzip;q=0")
	if res.Header.Get("Content-Encoding") != "" || !strings.HasPrefix(body, "/* webtorrent") {
		t.Errorf("GET webtorrent.min.js refusing gzip: Content-Encoding %q", res.Header.Get("Content-Encoding"))
	}

	res, _ = get(t, c, srv.URL+"/sw.min.js")
	if res.StatusCode != 200 || res.Header.Get("Service-Worker-Allowed") != "/" || res.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("GET /sw.min.js: %s, Service-Worker-Allowed %q, Cache-Control %q", res.Status, res.Header.Get("Service-Worker-Allowed"), res.Header.Get("Cache-Control"))
	}
	for _, p := range []string{"/assets/sw.min.js", "/assets/README.md", "/assets/nope.js", "/assets/..%2fweb.go"} {
		if res, _ := get(t, c, srv.URL+p); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %s, want 404", p, res.Status)
		}
	}
}

// TestBasePath checks a node whose public URL has a path, behind a proxy
// that strips it: every link and script of a page carries the path.
func TestBasePath(t *testing.T) {
	s, err := newServer(Config{Library: testLibrary(t), PublicURL: "https://films.test/node/", Logger: slog.New(slog.DiscardHandler)}, testDist())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	s.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	_, body := get(t, srv.Client(), srv.URL+"/watch/"+pilotIH)
	for _, w := range []string{
		`src="/node/assets/watch.js?v=`, `href="/node/"`, `<meta name="twitter:player" content="https://films.test/node/embed/` + pilotIH + `">`,
		`<meta property="og:video:secure_url" content="https://films.test/node/stream/` + pilotIH + `/seedcast-pilot.mp4">`,
	} {
		if !strings.Contains(body, w) {
			t.Errorf("watch page lacks %s", w)
		}
	}
	if d := pageDataOf(t, body); d.Base != "/node" || d.TorrentURL != "/node/torrents/"+pilotIH+".torrent" || d.Files[0].URL != "/node/stream/"+pilotIH+"/seedcast-pilot.mp4" {
		t.Errorf("page data %+v", d)
	}
	res, _ := get(t, srv.Client(), srv.URL+"/oembed?url="+url.QueryEscape("https://films.test/node/watch/"+pilotIH))
	if res.StatusCode != 200 {
		t.Errorf("oEmbed of a watch page under the base path: %s", res.Status)
	}
	res, _ = get(t, srv.Client(), srv.URL+"/sw.min.js")
	if res.Header.Get("Service-Worker-Allowed") != "/node/" {
		t.Errorf("Service-Worker-Allowed %q, want /node/", res.Header.Get("Service-Worker-Allowed"))
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1000: "1.0 kB", 3949668: "3.9 MB", 123456789: "123 MB", 4_700_000_000: "4.7 GB", 2e15: "2000 TB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestPageICEServers checks that the node's STUN and TURN servers reach the
// page, and that without any the page gets an empty list, never
// WebTorrent's third-party defaults.
func TestPageICEServers(t *testing.T) {
	turn := ICEServer{URLs: []string{"turn:turn.example.org:3478?transport=udp"}, Username: "u", Credential: "p"}
	for _, tt := range []struct {
		name string
		cfg  []ICEServer
		want string
	}{
		{"none", nil, `"iceServers":[]`},
		{"turn", []ICEServer{turn}, `"iceServers":[{"urls":["turn:turn.example.org:3478?transport=udp"],"username":"u","credential":"p"}]`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := newServer(Config{Library: testLibrary(t), PublicURL: "http://node.test/", Logger: slog.New(slog.DiscardHandler), ICEServers: func() []ICEServer { return tt.cfg }}, testDist())
			if err != nil {
				t.Fatal(err)
			}
			mux := http.NewServeMux()
			s.Register(mux)
			srv := httptest.NewServer(mux)
			defer srv.Close()
			_, body := get(t, srv.Client(), srv.URL+"/watch/"+bundleIH)
			d := pageDataOf(t, body)
			b, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), tt.want) {
				t.Errorf("page data %s lacks %s", b, tt.want)
			}
		})
	}
}

func TestKindOf(t *testing.T) {
	for _, tt := range []struct{ mimeType, want string }{
		{"video/mp4", kindVideo},
		{"Video/WebM", kindVideo},
		{"audio/mpeg", kindAudio},
		{"image/jpeg", kindImage},
		{"image/svg+xml", kindOther},
		{"text/vtt; charset=utf-8", kindCaption},
		{"application/x-subrip; charset=utf-8", kindCaption},
		{"text/plain; charset=utf-8", kindText},
		{"application/json", kindText},
		{"video/x-msvideo", kindOther},
		{"application/octet-stream", kindOther},
		{"", kindOther},
	} {
		if got := kindOf(tt.mimeType); got != tt.want {
			t.Errorf("kindOf(%q) = %q, want %q", tt.mimeType, got, tt.want)
		}
	}
}

// TestP2PMinViewers checks that under Config.P2PMinViewers a page streams
// from the node alone, and says so, until enough people watch.
func TestP2PMinViewers(t *testing.T) {
	for _, tc := range []struct {
		viewers int
		query   string
		p2p     bool
		want    string
	}{
		{viewers: 0, p2p: false, want: "Peer-to-peer starts once 3 people watch this"},
		{viewers: 1, p2p: false, want: "Peer-to-peer starts once 3 people watch this"},
		{viewers: 2, p2p: true, want: "Watch from the server only"},
		{viewers: 9, query: "?p2p=0", p2p: false, want: "Watch peer-to-peer"},
	} {
		lib := testLibrary(t)
		lib.torrents[0].Viewers = tc.viewers
		srv := newTestServerConfig(t, Config{Library: lib, P2PMinViewers: 3}, testDist())
		_, body := get(t, srv.Client(), srv.URL+"/watch/"+pilotIH+tc.query)
		if got := strings.Contains(body, `"p2p":true`); got != tc.p2p {
			t.Errorf("%d viewers%s: p2p %v, want %v", tc.viewers, tc.query, got, tc.p2p)
		}
		if !strings.Contains(body, tc.want) {
			t.Errorf("%d viewers%s: the page does not say %q", tc.viewers, tc.query, tc.want)
		}
		if !tc.p2p && tc.query == "" && !strings.Contains(body, `"p2pOff":"peer-to-peer starts once 3 people watch"`) {
			t.Errorf("%d viewers: the page data do not say why P2P is off", tc.viewers)
		}
	}
}

func TestWaited(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0 s"},
		{12400 * time.Millisecond, "12 s"},
		{59600 * time.Millisecond, "1 min 0 s"},
		{75 * time.Second, "1 min 15 s"},
		{time.Hour + 10*time.Minute + 5*time.Second, "1 h 10 min"},
	} {
		if got := waited(tc.d); got != tc.want {
			t.Errorf("waited(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
