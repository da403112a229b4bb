package signaling

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/anacrolix/torrent/bencode"
)

// TestBencodeMatchesAnacrolix checks the tracker's own encoder against
// anacrolix's, which encoded these replies before, for each reply shape:
// the bytes must not change.
func TestBencodeMatchesAnacrolix(t *testing.T) {
	// The shapes the replies had as anacrolix structs.
	type announceReply struct {
		Interval    int    `bencode:"interval"`
		MinInterval int    `bencode:"min interval"`
		Complete    int    `bencode:"complete"`
		Incomplete  int    `bencode:"incomplete"`
		Peers       any    `bencode:"peers"`
		Peers6      []byte `bencode:"peers6,omitempty"`
	}
	type peerDict struct {
		PeerID []byte `bencode:"peer id,omitempty"`
		IP     string `bencode:"ip"`
		Port   uint16 `bencode:"port"`
	}
	type failure struct {
		Failure string `bencode:"failure reason"`
	}
	// BEP 48's scrape: lower-case keys, spelt out here rather than left
	// to the encoder's fallback to Go field names.
	type scrapeCounts struct {
		Complete   int `bencode:"complete"`
		Downloaded int `bencode:"downloaded"`
		Incomplete int `bencode:"incomplete"`
	}
	type scrape struct {
		Files map[string]scrapeCounts `bencode:"files"`
	}
	peers := []netip.AddrPort{
		netip.MustParseAddrPort("127.0.0.1:6881"),
		netip.MustParseAddrPort("[2001:db8::1]:51413"),
		netip.MustParseAddrPort("10.0.0.2:1"),
	}
	v4, v6 := compactPeers(peers)
	empty4, _ := compactPeers(nil)
	ihA, ihB := string(bytes.Repeat([]byte{0xff}, 20)), string(append([]byte{0}, bytes.Repeat([]byte{'e'}, 19)...))

	for _, tc := range []struct {
		name string
		old  any
		now  bdict
	}{
		{"failure", failure{"invalid port: want 1 to 65535"}, httpFailure("invalid port: want 1 to 65535")},
		{"compact v4 and v6",
			announceReply{Interval: 300, MinInterval: 60, Complete: 1, Incomplete: 2, Peers: v4, Peers6: v6},
			bdict{"interval": 300, "min interval": 60, "complete": 1, "incomplete": 2, "peers": v4, "peers6": v6}},
		{"compact no peers",
			announceReply{Interval: 300, MinInterval: 60, Peers: empty4},
			bdict{"interval": 300, "min interval": 60, "complete": 0, "incomplete": 0, "peers": empty4}},
		{"peer dicts",
			announceReply{Interval: 1, Peers: []peerDict{{IP: "127.0.0.1", Port: 6881}, {IP: "2001:db8::1", Port: 65535}}},
			bdict{"interval": 1, "min interval": 0, "complete": 0, "incomplete": 0, "peers": blist{
				bdict{"ip": "127.0.0.1", "port": 6881}, bdict{"ip": "2001:db8::1", "port": 65535}}}},
		{"peer dicts none",
			announceReply{Interval: 1, Peers: []peerDict{}},
			bdict{"interval": 1, "min interval": 0, "complete": 0, "incomplete": 0, "peers": blist{}}},
		{"scrape",
			scrape{Files: map[string]scrapeCounts{ihA: {Complete: 1, Incomplete: 2, Downloaded: 3}, ihB: {}}},
			bdict{"files": bdict{
				ihA: bdict{"complete": 1, "downloaded": 3, "incomplete": 2},
				ihB: bdict{"complete": 0, "downloaded": 0, "incomplete": 0}}}},
		{"scrape none", scrape{Files: map[string]scrapeCounts{}}, bdict{"files": bdict{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := bencode.Marshal(tc.old)
			if err != nil {
				t.Fatal(err)
			}
			if got := appendBencode(nil, tc.now); !bytes.Equal(got, want) {
				t.Errorf("got  %q\nwant %q", got, want)
			}
		})
	}
}
