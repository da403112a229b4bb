package admin

import (
	"strings"
	"testing"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
)

// FuzzCheckMagnet checks that a magnet the API lets through is one the
// swarm's parser (anacrolix's, which adds it) takes too, with the same
// non-zero v1 info hash.
func FuzzCheckMagnet(f *testing.F) {
	for _, s := range []string{
		// As seedcast prints them: trackers and the web seed.
		"magnet:?xt=urn:btih:8773e17b6f6375d8a00cf47464dc2682fa014959&dn=seedcast-pilot.mp4&tr=ws%3A%2F%2F127.0.0.1%3A8080%2Fannounce&tr=http%3A%2F%2F127.0.0.1%3A8080%2Fannounce&ws=http%3A%2F%2F127.0.0.1%3A8080%2Fwebseed%2F8773e17b6f6375d8a00cf47464dc2682fa014959%2F",
		// WebTorrent's Sintel, base32 and hybrid forms.
		"magnet:?xt=urn:btih:08ada5a7a6183aae1e09d831df6748d566095a10&dn=Sintel&tr=udp%3A%2F%2Fexplodie.org%3A6969&tr=wss%3A%2F%2Ftracker.webtorrent.dev&ws=https%3A%2F%2Fwebtorrent.io%2Ftorrents%2F",
		"magnet:?xt=urn:btih:BCW2LJ5GDA5K4HQJ3AY56Z2IVVTASWQQ",
		"magnet:?xt=urn:btih:631a31dd0a46257d5078c0dee4e66e26f73e42ac&xt=urn:btmh:1220d8dd32ac93357c368556af3ac1d95c9d76bd0dff6fa9833ecdac3d53134efabb&dn=bittorrent-v1-v2-hybrid-test",
		"magnet:?xt=urn:btmh:1220caf1e1c30e81cb361b9ee167c4aa64228a7fa4fa9f6105232b28ad099f3a302e",
		"magnet:?dn=nothing",
		"magnet:?xt=urn:btih:" + strings.Repeat("0", 40),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		if checkMagnet(uri) != nil {
			return
		}
		spec, err := torrent.TorrentSpecFromMagnetUri(uri)
		if err != nil {
			t.Fatalf("accepted %q, which the swarm refuses: %v", uri, err)
		}
		m, _ := metainfo.ParseMagnetV2Uri(uri)
		if spec.InfoHash.IsZero() || spec.InfoHash != m.InfoHash.Value {
			t.Fatalf("accepted %q: the swarm reads info hash %s, the API %s", uri, spec.InfoHash, m.InfoHash.Value)
		}
	})
}

// FuzzParseTorrent checks that a .torrent the API lets through is one
// anacrolix turns into a spec, with as many pieces as its length needs
// and no file path leaving the torrent's folder.
func FuzzParseTorrent(f *testing.F) {
	f.Add(testTorrent(f, 100<<10, nil))
	f.Add(testTorrent(f, 16<<10, func(i *metainfo.Info, mi *metainfo.MetaInfo) {
		i.Length = 0
		i.Files = []metainfo.FileInfo{{Path: []string{"a", "b.mp4"}, Length: 10 << 10}, {Path: []string{"c.vtt"}, Length: 6 << 10}}
		mi.UrlList = []string{"https://example.org/webseed/"}
	}))
	f.Add([]byte("d4:infod6:lengthi1e4:name1:a12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaaee"))
	f.Add([]byte("d4:infoi1ee"))
	f.Fuzz(func(t *testing.T, b []byte) {
		mi, err := parseTorrent(b)
		if err != nil {
			return
		}
		if _, err := torrent.TorrentSpecFromMetaInfoErr(mi); err != nil {
			t.Fatalf("accepted a .torrent anacrolix refuses: %v", err)
		}
		info, _ := mi.UnmarshalInfo()
		if n := (info.TotalLength() + info.PieceLength - 1) / info.PieceLength; int(n) != info.NumPieces() {
			t.Fatalf("accepted %d pieces for %d bytes", info.NumPieces(), info.TotalLength())
		}
		for _, fi := range info.UpvertedFiles() {
			for _, c := range fi.Path {
				if c == ".." || strings.ContainsAny(c, "/\\") {
					t.Fatalf("accepted file path %q", fi.Path)
				}
			}
		}
	})
}
