package swarm

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/anacrolix/torrent/metainfo"
)

// state is what the swarm keeps in its data dir so that a restart neither
// re-hashes what it seeds nor changes its identity:
//
//	peer_id          the node's peer id, stable across restarts
//	seeded.json      seeded path -> info hash and the signature it was hashed at
//	info/<ih>.info   the bencoded info dictionary of each torrent seeded in
//	                 place or fetched by magnet
//	kept.json        the torrents Restore adds again (kept.go)
//	torrents/        the metainfo of kept torrents added from a .torrent
//	completion/      anacrolix piece completion (bolt)
//	downloads/       data of torrents added from a .torrent or a magnet
type state struct {
	dir string

	mu     sync.Mutex
	seeded map[string]seededEntry
}

type seededEntry struct {
	InfoHash  string `json:"infohash"`
	Signature string `json:"signature"`
}

func openState(dir string) (*state, error) {
	for _, d := range []string{dir, filepath.Join(dir, "info"), filepath.Join(dir, "completion"), filepath.Join(dir, "downloads")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
	}
	st := &state{dir: dir, seeded: make(map[string]seededEntry)}
	b, err := os.ReadFile(filepath.Join(dir, "seeded.json"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("data dir: %w", err)
	default:
		if err := json.Unmarshal(b, &st.seeded); err != nil {
			// A damaged index costs a re-hash, nothing more.
			st.seeded = make(map[string]seededEntry)
		}
	}
	return st, nil
}

// peerID returns the node's peer id, making it on first use. The prefix
// follows the Azureus convention: -SC0001-.
func (st *state) peerID() (string, error) {
	p := filepath.Join(st.dir, "peer_id")
	b, err := os.ReadFile(p)
	if err == nil && len(b) == 20 {
		return string(b), nil
	}
	id := []byte("-SC0001-")
	rnd := make([]byte, 12)
	rand.Read(rnd)
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	for _, c := range rnd {
		id = append(id, alphabet[int(c)%len(alphabet)])
	}
	if err := writeFileAtomic(p, id); err != nil {
		return "", err
	}
	return string(id), nil
}

// cachedInfo returns the info hashed earlier for root if its signature is
// unchanged.
func (st *state) cachedInfo(root, sig string) ([]byte, bool) {
	st.mu.Lock()
	e, ok := st.seeded[root]
	st.mu.Unlock()
	if !ok || e.Signature != sig {
		return nil, false
	}
	b, err := os.ReadFile(st.infoPath(e.InfoHash))
	if err != nil {
		return nil, false
	}
	if metainfo.HashBytes(b).HexString() != e.InfoHash {
		return nil, false
	}
	return b, true
}

func (st *state) saveInfo(root, sig string, infoBytes []byte) error {
	ih := metainfo.HashBytes(infoBytes).HexString()
	if err := writeFileAtomic(st.infoPath(ih), infoBytes); err != nil {
		return err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.seeded[root] = seededEntry{InfoHash: ih, Signature: sig}
	b, err := json.MarshalIndent(st.seeded, "", "\t")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(st.dir, "seeded.json"), b)
}

// knownInfo returns the info of torrent ih kept earlier, nil if there is
// none or it does not hash to ih.
func (st *state) knownInfo(ih metainfo.Hash) []byte {
	b, err := os.ReadFile(st.infoPath(ih.HexString()))
	if err != nil || metainfo.HashBytes(b) != ih {
		return nil
	}
	return b
}

// saveKnownInfo keeps the info of torrent ih, unless it is kept already.
func (st *state) saveKnownInfo(ih metainfo.Hash, infoBytes []byte) error {
	if st.knownInfo(ih) != nil {
		return nil
	}
	if metainfo.HashBytes(infoBytes) != ih {
		return fmt.Errorf("info does not hash to %s", ih.HexString())
	}
	return writeFileAtomic(st.infoPath(ih.HexString()), infoBytes)
}

func (st *state) infoPath(ih string) string { return filepath.Join(st.dir, "info", ih+".info") }

// writeFileAtomic replaces p with b so that a crash leaves the old or the
// new content, never a mix.
func writeFileAtomic(p string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), p)
}
