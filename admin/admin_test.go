package admin

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"

	"github.com/seedcast/seedcast/infohash"
)

const testToken = "s3cret-token-of-the-test-0123456789"

// fakeNode records what the API asks of it. The API's own work, what
// these tests are about, is checking requests before they reach a node;
// cmd/seedcast and e2e test it with the real one.
type fakeNode struct {
	mu      sync.Mutex
	calls   []string
	addErr  error
	existed bool
	ihs     map[infohash.Hash]bool
}

func (n *fakeNode) add(call string, ih infohash.Hash) (infohash.Hash, bool, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.calls = append(n.calls, call)
	if n.addErr != nil {
		return infohash.Hash{}, false, n.addErr
	}
	if n.ihs == nil {
		n.ihs = make(map[infohash.Hash]bool)
	}
	n.ihs[ih] = true
	return ih, !n.existed, nil
}

func (n *fakeNode) AddPath(ctx context.Context, path string) (infohash.Hash, bool, error) {
	return n.add("path "+path, infohash.Hash(sha1.Sum([]byte(path))))
}

func (n *fakeNode) AddMagnet(ctx context.Context, uri string) (infohash.Hash, bool, error) {
	m, err := metainfo.ParseMagnetUri(uri)
	if err != nil {
		return infohash.Hash{}, false, err
	}
	return n.add("magnet", infohash.Hash(m.InfoHash))
}

func (n *fakeNode) AddTorrent(ctx context.Context, b []byte) (infohash.Hash, bool, error) {
	mi, err := metainfo.Load(bytes.NewReader(b))
	if err != nil {
		return infohash.Hash{}, false, err
	}
	return n.add("torrent", infohash.Hash(mi.HashInfoBytes()))
}

func (n *fakeNode) Remove(ctx context.Context, ih infohash.Hash) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.calls = append(n.calls, "remove")
	if !n.ihs[ih] {
		return ErrNoTorrent
	}
	delete(n.ihs, ih)
	return nil
}

func (n *fakeNode) Describe(ih infohash.Hash) (any, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.ihs[ih] {
		return nil, false
	}
	return map[string]any{"infohash": ih, "name": "described"}, true
}

func (n *fakeNode) callList() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.calls...)
}

type testServer struct {
	url  string
	node *fakeNode
	logs *bytes.Buffer
}

func newTestServer(t *testing.T, roots ...string) *testServer {
	t.Helper()
	node := &fakeNode{}
	var logs bytes.Buffer
	a, err := New(Config{Node: node, Token: testToken, AllowRoots: roots,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	a.Register(mux)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return &testServer{url: ts.URL, node: node, logs: &logs}
}

// answer is a response, its body read.
type answer struct {
	code   int
	header http.Header
	body   string
	err    string // the "error" of a JSON error body
}

func (s *testServer) do(t *testing.T, method, path, auth, ctype string, body io.Reader) answer {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	a := answer{code: res.StatusCode, header: res.Header, body: string(b)}
	if res.StatusCode >= 400 {
		var e errorJSON
		if err := json.Unmarshal(b, &e); err != nil || e.Error == "" || res.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: %d with %q (%s), want a JSON error", method, path, res.StatusCode, b, res.Header.Get("Content-Type"))
		}
		a.err = e.Error
	}
	if strings.Contains(string(b), testToken) {
		t.Errorf("%s %s: the answer holds the token", method, path)
	}
	return a
}

func (s *testServer) postJSON(t *testing.T, body string) answer {
	t.Helper()
	return s.do(t, "POST", "/api/torrents", "Bearer "+testToken, "application/json", strings.NewReader(body))
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestAuth(t *testing.T) {
	s := newTestServer(t)
	body := `{"magnet": "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567"}`
	for _, tc := range []struct {
		name, method, path, auth string
		code                     int
		challenge                string // WWW-Authenticate
	}{
		{"no token", "POST", "/api/torrents", "", 401, `Bearer realm="seedcast admin"`},
		{"wrong token", "POST", "/api/torrents", "Bearer wrong-token-0123456789", 401, `Bearer realm="seedcast admin", error="invalid_token"`},
		{"token's prefix", "POST", "/api/torrents", "Bearer " + testToken[:20], 401, `Bearer realm="seedcast admin", error="invalid_token"`},
		{"token and more", "POST", "/api/torrents", "Bearer " + testToken + "x", 401, `Bearer realm="seedcast admin", error="invalid_token"`},
		{"basic", "POST", "/api/torrents", "Basic " + testToken, 401, `Bearer realm="seedcast admin"`},
		{"bare token", "POST", "/api/torrents", testToken, 401, `Bearer realm="seedcast admin"`},
		{"delete without", "DELETE", "/api/torrents/0123456789abcdef0123456789abcdef01234567", "", 401, `Bearer realm="seedcast admin"`},
		{"token in the URL", "POST", "/api/torrents?access_token=" + testToken, "", 400, ""},
		{"right token", "POST", "/api/torrents", "Bearer " + testToken, 201, ""},
		{"scheme in lower case", "POST", "/api/torrents", "bearer " + testToken, 201, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := s.do(t, tc.method, tc.path, tc.auth, "application/json", strings.NewReader(body))
			if a.code != tc.code {
				t.Fatalf("%d %q, want %d", a.code, a.body, tc.code)
			}
			if got := a.header.Get("WWW-Authenticate"); got != tc.challenge {
				t.Errorf("WWW-Authenticate %q, want %q", got, tc.challenge)
			}
		})
	}
	if n := len(s.node.callList()); n != 2 {
		t.Errorf("the node was called %d times, want 2: only with the token", n)
	}
	if strings.Contains(s.logs.String(), testToken) || strings.Contains(s.logs.String(), testToken[:20]) {
		t.Errorf("the log holds the token:\n%s", s.logs)
	}
}

func TestAddRejects(t *testing.T) {
	root := t.TempDir()
	s := newTestServer(t, root)
	many := make([]string, maxTrackers+1)
	for i := range many {
		many[i] = fmt.Sprintf("tr=http://t%d.example/announce", i)
	}
	const ih = "0123456789abcdef0123456789abcdef01234567"
	for _, tc := range []struct {
		name, body string
		code       int
		says       string // the error holds it
	}{
		{"not JSON", `{"path": `, 400, "bad JSON"},
		{"JSON array", `["/a"]`, 400, "bad JSON"},
		{"unknown field", `{"file": "/a"}`, 400, "bad JSON"},
		{"both", `{"path": "/a", "magnet": "magnet:?xt=urn:btih:` + ih + `"}`, 400, "exactly one"},
		{"neither", `{}`, 400, "exactly one"},
		{"two objects", `{"path": "/a"} {"path": "/b"}`, 400, "one object"},
		{"relative path", `{"path": "films/a.mp4"}`, 400, "absolute"},
		{"NUL in path", `{"path": "/a\u0000b"}`, 400, "NUL"},
		{"long path", `{"path": "/` + strings.Repeat("a", maxPathBytes) + `"}`, 400, "over"},
		{"not a magnet", `{"magnet": "http://example.org/a.torrent"}`, 400, "bad magnet"},
		{"no info hash", `{"magnet": "magnet:?dn=film"}`, 400, "bad magnet"},
		{"v2 only", `{"magnet": "magnet:?xt=urn:btmh:1220` + strings.Repeat("ab", 32) + `"}`, 400, "bad magnet"},
		{"short hash", `{"magnet": "magnet:?xt=urn:btih:0123"}`, 400, "bad magnet"},
		{"bad hex", `{"magnet": "magnet:?xt=urn:btih:` + strings.Repeat("zz", 20) + `"}`, 400, "bad magnet"},
		{"zero hash", `{"magnet": "magnet:?xt=urn:btih:` + strings.Repeat("00", 20) + `"}`, 400, "zero"},
		{"tracker scheme", `{"magnet": "magnet:?xt=urn:btih:` + ih + `&tr=file:///etc/passwd"}`, 400, "tracker"},
		{"web seed scheme", `{"magnet": "magnet:?xt=urn:btih:` + ih + `&ws=ftp://example.org/"}`, 400, "web seed"},
		{"too many trackers", `{"magnet": "magnet:?xt=urn:btih:` + ih + "&" + strings.Join(many, "&") + `"}`, 400, "at most"},
		{"oversized", `{"path": "/` + strings.Repeat("a", maxJSONBytes) + `"}`, 413, "over"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := s.postJSON(t, tc.body)
			if a.code != tc.code || !strings.Contains(a.err, tc.says) {
				t.Errorf("%d %q, want %d saying %q", a.code, a.err, tc.code, tc.says)
			}
		})
	}
	for _, ctype := range []string{"", "text/plain", "multipart/form-data; boundary=x", "application/json; charset=utf-8"} {
		a := s.do(t, "POST", "/api/torrents", "Bearer "+testToken, ctype, strings.NewReader(`{"magnet": "magnet:?xt=urn:btih:`+ih+`"}`))
		want := http.StatusUnsupportedMediaType
		if strings.HasPrefix(ctype, "application/json") {
			want = http.StatusCreated
		}
		if a.code != want {
			t.Errorf("Content-Type %q: %d %q, want %d", ctype, a.code, a.err, want)
		}
	}
	if calls := s.node.callList(); len(calls) != 1 {
		t.Errorf("the node was asked %v, want one magnet: bad requests stop at the edge", calls)
	}
}

func TestAddPath(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "films")
	outside := filepath.Join(base, "private")
	sibling := filepath.Join(base, "films2") // shares the root's name as a prefix
	for _, d := range []string{filepath.Join(root, "folder"), outside, sibling} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p string) {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(root, "film.mp4"))
	write(filepath.Join(outside, "secret.bin"))
	write(filepath.Join(sibling, "b.mp4"))
	symlink := func(target, link string) {
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	symlink(filepath.Join(outside, "secret.bin"), filepath.Join(root, "escape.bin"))
	symlink(outside, filepath.Join(root, "escape-dir"))
	symlink("../private/secret.bin", filepath.Join(root, "relative-escape.bin"))
	symlink(filepath.Join(root, "film.mp4"), filepath.Join(outside, "into-root.mp4"))
	// The root itself reached through a symlink.
	linkedRoot := filepath.Join(base, "linked-films")
	symlink(root, linkedRoot)

	s := newTestServer(t, linkedRoot)
	for _, tc := range []struct {
		name, path string
		code       int
		added      string // the path the node is given
	}{
		{"file", filepath.Join(root, "film.mp4"), 201, filepath.Join(root, "film.mp4")},
		{"file through the root's link", filepath.Join(linkedRoot, "film.mp4"), 201, filepath.Join(root, "film.mp4")},
		{"folder", filepath.Join(root, "folder"), 201, filepath.Join(root, "folder")},
		{"the root", root, 201, root},
		{"dot-dot inside", filepath.Join(root, "folder") + "/../film.mp4", 201, filepath.Join(root, "film.mp4")},
		{"outside", filepath.Join(outside, "secret.bin"), 403, ""},
		{"dot-dot out", root + "/../private/secret.bin", 403, ""},
		{"symlink out", filepath.Join(root, "escape.bin"), 403, ""},
		{"relative symlink out", filepath.Join(root, "relative-escape.bin"), 403, ""},
		{"through a symlinked folder", filepath.Join(root, "escape-dir", "secret.bin"), 403, ""},
		{"sibling with the root's prefix", filepath.Join(sibling, "b.mp4"), 403, ""},
		{"missing outside", filepath.Join(outside, "nothing"), 403, ""},
		{"missing inside", filepath.Join(root, "nothing"), 404, ""},
		{"symlink from outside into the root", filepath.Join(outside, "into-root.mp4"), 201, filepath.Join(root, "film.mp4")},
		{"a device", "/dev/null", 403, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(s.node.callList())
			a := s.postJSON(t, `{"path": `+jsonString(tc.path)+`}`)
			if a.code != tc.code {
				t.Fatalf("%d %q, want %d", a.code, a.body, tc.code)
			}
			calls := s.node.callList()[before:]
			if tc.added == "" {
				if len(calls) != 0 {
					t.Errorf("the node was asked %v", calls)
				}
				if tc.code == 403 && (!strings.Contains(a.err, "outside the allowed roots") || !strings.Contains(a.err, "--allow-root")) {
					t.Errorf("error %q does not say why and what to do", a.err)
				}
				return
			}
			if len(calls) != 1 || calls[0] != "path "+tc.added {
				t.Errorf("the node was asked %v, want path %s", calls, tc.added)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(a.body), &got); err != nil || got["infohash"] == nil || got["name"] != "described" {
				t.Errorf("body %q, want the torrent's JSON", a.body)
			}
			if loc := a.header.Get("Location"); loc != "/api/torrents/"+fmt.Sprint(got["infohash"]) {
				t.Errorf("Location %q", loc)
			}
		})
	}

	noRoots := newTestServer(t)
	a := noRoots.postJSON(t, `{"path": `+jsonString(filepath.Join(root, "film.mp4"))+`}`)
	if a.code != 403 || !strings.Contains(a.err, "--allow-root") {
		t.Errorf("without roots: %d %q, want 403 naming --allow-root", a.code, a.err)
	}
}

// testTorrent returns a .torrent of one file of n bytes, changed by edit.
func testTorrent(t testing.TB, n int, edit func(info *metainfo.Info, mi *metainfo.MetaInfo)) []byte {
	t.Helper()
	const pieceLen = 16 << 10
	info := metainfo.Info{Name: "film.bin", PieceLength: pieceLen, Length: int64(n)}
	for range (n + pieceLen - 1) / pieceLen {
		info.Pieces = append(info.Pieces, make([]byte, 20)...)
	}
	mi := &metainfo.MetaInfo{AnnounceList: [][]string{{"http://tracker.example/announce"}}}
	if edit != nil {
		edit(&info, mi)
	}
	var err error
	if mi.InfoBytes, err = bencode.Marshal(info); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := mi.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestAddTorrent(t *testing.T) {
	s := newTestServer(t)
	post := func(b []byte) answer {
		return s.do(t, "POST", "/api/torrents", "Bearer "+testToken, "application/x-bittorrent", bytes.NewReader(b))
	}
	good := testTorrent(t, 100<<10, nil)
	a := post(good)
	if a.code != 201 {
		t.Fatalf("a sound .torrent: %d %q", a.code, a.body)
	}
	mi, _ := metainfo.Load(bytes.NewReader(good))
	if !strings.Contains(a.body, mi.HashInfoBytes().HexString()) {
		t.Errorf("body %q lacks the info hash", a.body)
	}
	for _, tc := range []struct {
		name string
		body []byte
		code int
		says string
	}{
		{"garbage", []byte("not bencode"), 400, "not a .torrent"},
		{"no info", []byte("d8:announce3:urle"), 400, "bad .torrent"},
		{"piece count", testTorrent(t, 100<<10, func(i *metainfo.Info, _ *metainfo.MetaInfo) { i.Pieces = i.Pieces[:20] }), 400, "pieces for"},
		{"pieces not hashes", testTorrent(t, 100<<10, func(i *metainfo.Info, _ *metainfo.MetaInfo) { i.Pieces = i.Pieces[:21] }), 400, "SHA-1"},
		{"zero piece length", testTorrent(t, 100<<10, func(i *metainfo.Info, _ *metainfo.MetaInfo) { i.PieceLength = 0 }), 400, "piece length"},
		{"file path out", testTorrent(t, 100<<10, func(i *metainfo.Info, _ *metainfo.MetaInfo) {
			i.Length = 0
			i.Files = []metainfo.FileInfo{{Path: []string{"..", "etc", "passwd"}, Length: 100 << 10}}
		}), 400, "leaves"},
		{"name out", testTorrent(t, 100<<10, func(i *metainfo.Info, _ *metainfo.MetaInfo) { i.Name = "../x" }), 400, "name"},
		{"tracker scheme", testTorrent(t, 100<<10, func(_ *metainfo.Info, mi *metainfo.MetaInfo) {
			mi.AnnounceList = [][]string{{"gopher://example.org/"}}
		}), 400, "tracker"},
		{"oversized", make([]byte, maxTorrentBytes+1), 413, "over"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := post(tc.body)
			if a.code != tc.code || !strings.Contains(a.err, tc.says) {
				t.Errorf("%d %q, want %d saying %q", a.code, a.err, tc.code, tc.says)
			}
		})
	}
	if calls := s.node.callList(); len(calls) != 1 {
		t.Errorf("the node was asked %v, want the sound .torrent alone", calls)
	}
}

func TestAddAnswers(t *testing.T) {
	s := newTestServer(t)
	body := `{"magnet": "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567"}`
	s.node.existed = true
	if a := s.postJSON(t, body); a.code != 200 {
		t.Errorf("a torrent the node had: %d, want 200", a.code)
	}
	s.node.existed = false
	s.node.addErr = ErrUnavailable
	if a := s.postJSON(t, body); a.code != 503 {
		t.Errorf("a node not running: %d, want 503", a.code)
	}
	s.node.addErr = errors.New("swarm: add /films/empty: /films/empty has no files to seed")
	if a := s.postJSON(t, body); a.code != 422 || !strings.Contains(a.err, "no files to seed") {
		t.Errorf("a failed add: %d %q, want 422 with the reason", a.code, a.err)
	}
}

func TestRemove(t *testing.T) {
	s := newTestServer(t)
	const ih = "0123456789abcdef0123456789abcdef01234567"
	if a := s.postJSON(t, `{"magnet": "magnet:?xt=urn:btih:`+ih+`"}`); a.code != 201 {
		t.Fatalf("add: %d %q", a.code, a.body)
	}
	auth := "Bearer " + testToken
	for _, tc := range []struct {
		path string
		code int
	}{
		{"/api/torrents/xyz", 400},
		{"/api/torrents/" + strings.Repeat("f", 40), 404},
		{"/api/torrents/" + strings.ToUpper(ih), 204},
		{"/api/torrents/" + ih, 404},
	} {
		if a := s.do(t, "DELETE", tc.path, auth, "", nil); a.code != tc.code {
			t.Errorf("DELETE %s: %d %q, want %d", tc.path, a.code, a.body, tc.code)
		}
	}
}

func TestNewRejects(t *testing.T) {
	node := &fakeNode{}
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o644)
	for name, cfg := range map[string]Config{
		"no node":       {Token: testToken},
		"short token":   {Node: node, Token: "short"},
		"spaced token":  {Node: node, Token: "a token with spaces in it"},
		"missing root":  {Node: node, Token: testToken, AllowRoots: []string{"/does/not/exist"}},
		"root not dir":  {Node: node, Token: testToken, AllowRoots: []string{file}},
		"no token":      {Node: node},
		"padding alone": {Node: node, Token: strings.Repeat("=", 20)},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}
