package swarm

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/metainfo"
)

func TestCheckArg(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	film := write("film.bin", []byte(strings.Repeat("seedcast", 1000)))
	mi, err := Create(t.Context(), CreateConfig{Path: film, Announce: [][]string{{"https://films.example.org/announce"}}})
	if err != nil {
		t.Fatal(err)
	}
	var good strings.Builder
	if err := mi.Write(&good); err != nil {
		t.Fatal(err)
	}
	goodTorrent := write("good.torrent", []byte(good.String()))
	noPieces := metainfo.MetaInfo{InfoBytes: []byte("d6:lengthi12e4:name4:film12:piece lengthi65536e6:pieces0:e")}
	var np strings.Builder
	if err := noPieces.Write(&np); err != nil {
		t.Fatal(err)
	}
	ih := mi.HashInfoBytes()

	for _, tc := range []struct {
		arg  string
		want error // nil: accepted
	}{
		{film, nil},
		{dir, nil},
		{goodTorrent, nil},
		{"magnet:?xt=urn:btih:" + ih.HexString() + "&dn=film", nil},
		{"MAGNET:?xt=urn:btih:" + strings.ToUpper(ih.HexString()), nil},
		{"magnet:?xt=urn:btih:CZEGMBEVXVZHNQJ3HVR7J7A3WR4YGWVN", nil}, // base32
		{"magnet:?xt=urn:btih:abcd", ErrBadMagnet},
		{"magnet:?xt=urn:btih:" + strings.Repeat("g", 40), ErrBadMagnet},
		{"magnet:?dn=film", ErrBadMagnet},
		{"magnet:xt=urn:btih:" + ih.HexString(), ErrBadMagnet},
		{"magnet:?xt=urn:btmh:1220" + strings.Repeat("ab", 32), ErrBadMagnet},
		{write("html.torrent", []byte("<html>404</html>")), ErrBadTorrentFile},
		{write("empty.torrent", nil), ErrBadTorrentFile},
		{write("cut.torrent", []byte(good.String()[:good.Len()/2])), ErrBadTorrentFile},
		{write("nopieces.torrent", []byte(np.String())), ErrBadTorrentFile},
		{filepath.Join(dir, "gone.torrent"), os.ErrNotExist},
		{filepath.Join(dir, "gone.mp4"), nil}, // checked by message below
		{ih.HexString(), nil},
		{"CZEGMBEVXVZHNQJ3HVR7J7A3WR4YGWVN", nil},
		{"http://127.0.0.1:1/film.torrent", nil}, // not fetched
		{"HTTPS://films.example.org/t?id=1", nil},
		{"http:///film.torrent", ErrFetch},
	} {
		err := CheckArg(tc.arg)
		switch {
		case tc.want == nil && strings.HasSuffix(tc.arg, "gone.mp4"):
			if err == nil || !strings.Contains(err.Error(), "no such file or folder") {
				t.Errorf("CheckArg(%q) = %v, want no such file or folder", tc.arg, err)
			}
		case tc.want == nil:
			if err != nil {
				t.Errorf("CheckArg(%q) = %v, want nil", tc.arg, err)
			}
		case !errors.Is(err, tc.want):
			t.Errorf("CheckArg(%q) = %v, want %v", tc.arg, err, tc.want)
		case errors.Is(tc.want, ErrBadMagnet) && !strings.Contains(err.Error(), "magnet:?xt=urn:btih:<"):
			t.Errorf("CheckArg(%q) = %v: it shows no form to follow", tc.arg, err)
		case errors.Is(tc.want, ErrBadTorrentFile) && !strings.Contains(err.Error(), tc.arg):
			t.Errorf("CheckArg(%q) = %v: it does not name the file", tc.arg, err)
		}
	}
}

func TestKindOf(t *testing.T) {
	dir := t.TempDir()
	// 32 letters name a folder here, and so are no info hash.
	folder := filepath.Join(dir, "abcdefghijklmnopqrstuvwxyzabcdef")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	for _, tc := range []struct {
		arg  string
		want argKind
	}{
		{"magnet:?xt=urn:btih:5eedca5700000000000000000000000000000001", argMagnet},
		{"Magnet:?xt=urn:btih:5eedca5700000000000000000000000000000001", argMagnet},
		{"http://films.example.org/film.torrent", argURL},
		{"HTTPS://films.example.org/get?id=3", argURL},
		{"5eedca5700000000000000000000000000000001", argInfoHash},
		{"5EEDCA5700000000000000000000000000000001", argInfoHash},
		{"CZEGMBEVXVZHNQJ3HVR7J7A3WR4YGWVN", argInfoHash},
		{"czegmbevxvzhnqj3hvr7j7a3wr4ygwvn", argInfoHash},
		{"abcdefghijklmnopqrstuvwxyzabcdef", argPath},
		{"5eedca570000000000000000000000000000000", argPath}, // 39 digits
		{"film.torrent", argTorrentFile},
		{"ftp://films.example.org/film.torrent", argTorrentFile},
		{"film.mp4", argPath},
	} {
		if got := kindOf(tc.arg); got != tc.want {
			t.Errorf("kindOf(%q) = %d, want %d", tc.arg, got, tc.want)
		}
	}
}
