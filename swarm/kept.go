package swarm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/seedcast/seedcast/infohash"
)

// ErrNoTorrent is returned by Remove for a torrent the swarm neither has
// nor keeps.
var ErrNoTorrent = errors.New("swarm: no such torrent")

// keptList is the list of torrents that Restore adds again after a
// restart, in kept.json of the data dir, each with what it was added
// from:
//
//	{"version": 1, "torrents": [
//	  {"infohash": "<hex>", "path": "/films/film.mp4"},
//	  {"infohash": "<hex>", "magnet": "magnet:?xt=urn:btih:<hex>&..."},
//	  {"infohash": "<hex>", "torrent": "torrents/<hex>.torrent"}
//	]}
//
// A file or folder is kept by its path: its hashed info and piece
// completion are in the data dir already, so it comes back without being
// hashed again. A torrent added from metainfo is kept by a copy of that
// metainfo, since the .torrent it came from may be gone by then. The list
// is rewritten whole, atomically, on every change, so that a kill leaves
// the old list or the new one.
type keptList struct {
	dir string // the data dir

	mu      sync.Mutex
	entries []keptEntry
}

type keptFile struct {
	Version  int         `json:"version"`
	Torrents []keptEntry `json:"torrents"`
}

// keptEntry is one kept torrent; exactly one of Path, Magnet and Torrent
// is set.
type keptEntry struct {
	InfoHash string `json:"infohash"`
	Path     string `json:"path,omitempty"`
	Magnet   string `json:"magnet,omitempty"`
	// Torrent is the metainfo's path, relative to the data dir.
	Torrent string `json:"torrent,omitempty"`
}

const (
	keptName    = "kept.json"
	keptVersion = 1
	torrentsDir = "torrents"
)

// openKept reads the kept list of data dir dir; a missing one is empty.
// A damaged list is an error, not an empty list: the torrents it names
// would silently not come back.
func openKept(dir string) (*keptList, error) {
	if err := os.MkdirAll(filepath.Join(dir, torrentsDir), 0o755); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	k := &keptList{dir: dir}
	p := filepath.Join(dir, keptName)
	b, err := os.ReadFile(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return k, nil
	case err != nil:
		return nil, fmt.Errorf("data dir: %w", err)
	}
	var f keptFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s is damaged (%v): repair or remove it; without it the torrents added before do not come back", p, err)
	}
	if f.Version != keptVersion {
		return nil, fmt.Errorf("%s has version %d; this seedcast reads version %d: run the seedcast that wrote it", p, f.Version, keptVersion)
	}
	for _, e := range f.Torrents {
		if err := e.validate(); err != nil {
			return nil, fmt.Errorf("%s is damaged (%v): repair or remove it", p, err)
		}
	}
	k.entries = f.Torrents
	return k, nil
}

// HasKept reports whether the data dir dir keeps torrents for Restore to
// add, without starting anything: for a command line that wants to know
// whether a node would have something to serve. A damaged list is an
// error, as Run would find.
func HasKept(dir string) (bool, error) {
	k, err := openKept(dir)
	if err != nil {
		return false, fmt.Errorf("swarm: %w", err)
	}
	return len(k.list()) > 0, nil
}

func (e keptEntry) validate() error {
	if _, err := infohash.Parse(e.InfoHash); err != nil {
		return fmt.Errorf("bad info hash %q", e.InfoHash)
	}
	n := 0
	for _, s := range []string{e.Path, e.Magnet, e.Torrent} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("torrent %s: want one of path, magnet and torrent", e.InfoHash)
	}
	if e.Torrent != "" && e.Torrent != torrentFile(e.InfoHash) {
		return fmt.Errorf("torrent %s: metainfo at %q, want %q", e.InfoHash, e.Torrent, torrentFile(e.InfoHash))
	}
	return nil
}

// torrentFile is where the metainfo of kept torrent ih lives, relative to
// the data dir.
func torrentFile(ih string) string { return torrentsDir + "/" + ih + ".torrent" }

func (k *keptList) list() []keptEntry {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.entries)
}

// put keeps e, unless a torrent of its info hash is kept already; a file
// or folder kept under the same path with other content (it changed)
// gives way. It reports whether it changed the list.
func (k *keptList) put(e keptEntry) (bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if slices.ContainsFunc(k.entries, func(have keptEntry) bool { return have.InfoHash == e.InfoHash }) {
		return false, nil
	}
	entries := slices.Clone(k.entries)
	if e.Path != "" {
		if i := slices.IndexFunc(entries, func(have keptEntry) bool { return have.Path == e.Path }); i >= 0 {
			entries[i] = e
			return true, k.save(entries)
		}
	}
	return true, k.save(append(entries, e))
}

// forget drops torrent ih from the list and its kept metainfo. It reports
// whether the torrent was kept.
func (k *keptList) forget(ih string) (bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	entries := slices.DeleteFunc(slices.Clone(k.entries), func(e keptEntry) bool { return e.InfoHash == ih })
	if len(entries) == len(k.entries) {
		return false, nil
	}
	if err := k.save(entries); err != nil {
		return false, err
	}
	// The list no longer names it; a metainfo left behind would be
	// harmless, and is overwritten if the torrent is kept again.
	if err := os.Remove(filepath.Join(k.dir, torrentFile(ih))); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return true, err
	}
	return true, nil
}

// save writes entries as the list and makes them the list's; k.mu is held.
func (k *keptList) save(entries []keptEntry) error {
	if entries == nil {
		entries = []keptEntry{}
	}
	b, err := json.MarshalIndent(keptFile{Version: keptVersion, Torrents: entries}, "", "\t")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(k.dir, keptName), append(b, '\n')); err != nil {
		return fmt.Errorf("keeping the list of torrents: %w", err)
	}
	k.entries = entries
	return nil
}

// origin is what a torrent was added from.
type origin struct {
	root     string // a file or folder seeded in place
	magnet   string // a magnet link
	metainfo bool   // a .torrent
}

// Keep keeps t in the data dir, so that Restore adds it again after a
// restart: a file or folder by its path, a magnet by its link, a torrent
// added from a .torrent by a copy of its metainfo, with its trackers and
// web seeds. A torrent kept already stays as it was kept.
func (s *Swarm) Keep(t *Torrent) error {
	if _, _, err := s.client(); err != nil {
		return err
	}
	ih := t.ih.String()
	e := keptEntry{InfoHash: ih}
	switch o := t.origin; {
	case o.root != "":
		e.Path = o.root
	case o.magnet != "":
		e.Magnet = o.magnet
	case o.metainfo:
		if err := s.keepMetainfo(t); err != nil {
			return fmt.Errorf("swarm: keep %s: %w", ih, err)
		}
		e.Torrent = torrentFile(ih)
	default:
		return fmt.Errorf("swarm: keep %s: added from nothing the data dir can keep", ih)
	}
	if _, err := s.kept.put(e); err != nil {
		return fmt.Errorf("swarm: keep %s: %w", ih, err)
	}
	return nil
}

// keepMetainfo writes t's metainfo into the data dir: its info, and the
// trackers and web seeds it was added with.
func (s *Swarm) keepMetainfo(t *Torrent) error {
	if !t.haveInfo() {
		return errors.New("no info yet")
	}
	mi := metainfo.MetaInfo{InfoBytes: t.t.Metainfo().InfoBytes, UrlList: t.webseeds, CreatedBy: "seedcast"}
	if len(t.trackers) > 0 {
		mi.Announce = t.trackers[0]
		mi.AnnounceList = [][]string{t.trackers}
	}
	var b bytes.Buffer
	if err := mi.Write(&b); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(s.cfg.DataDir, torrentFile(t.ih.String())), b.Bytes())
}

// Restore adds every kept torrent the swarm does not have yet, in the
// order they were kept, and returns them. A file or folder comes back
// without being hashed again unless it changed, and then it is kept
// under its new info hash. A torrent that cannot be added (its file gone,
// say) is logged and stays kept, for when it is back. Restore waits for
// Run to start the client, and fails only if ctx is done or the swarm
// stops.
func (s *Swarm) Restore(ctx context.Context) ([]*Torrent, error) {
	if err := s.Up(ctx); err != nil {
		return nil, err
	}
	var out []*Torrent
	for _, e := range s.kept.list() {
		ih, _ := infohash.Parse(e.InfoHash) // validated by openKept
		if _, ok := s.Torrent(ih); ok {
			continue
		}
		t, err := s.restore(ctx, e)
		if err != nil {
			if err := ctx.Err(); err != nil {
				return out, err
			}
			if errors.Is(err, ErrStopped) {
				return out, err
			}
			s.log.Warn("kept torrent not restored; it stays kept", "infohash", ih, "path", e.Path, "err", err)
			continue
		}
		if t.ih != ih {
			s.log.Info("kept file changed since it was kept; kept again under its new info hash", "path", e.Path, "was", ih, "infohash", t.ih)
			if err := s.Keep(t); err != nil {
				return out, err
			}
		}
		out = append(out, t)
	}
	return out, nil
}

func (s *Swarm) restore(ctx context.Context, e keptEntry) (*Torrent, error) {
	switch {
	case e.Path != "":
		return s.AddPath(ctx, e.Path)
	case e.Magnet != "":
		return s.AddMagnet(e.Magnet)
	default:
		return s.AddTorrentFile(filepath.Join(s.cfg.DataDir, filepath.FromSlash(e.Torrent)))
	}
}

// Remove stops serving torrent ih and forgets it: it is no longer kept,
// and a restart does not bring it back. No file is deleted, neither the
// files seeded in place nor those downloaded into the data dir. Remove
// returns ErrNoTorrent if the swarm neither has nor keeps ih.
func (s *Swarm) Remove(ih infohash.Hash) error {
	if _, _, err := s.client(); err != nil {
		return err
	}
	wasKept, err := s.kept.forget(ih.String())
	if err != nil {
		return fmt.Errorf("swarm: remove %s: %w", ih, err)
	}
	// The bytes of conns closed a moment ago go to the torrent while it
	// is still listed; those of its conns open now go in with Stats
	// below.
	s.closed.drain(s)
	s.mu.Lock()
	var t *Torrent
	if i := slices.IndexFunc(s.torrents, func(t *Torrent) bool { return t.ih == ih }); i >= 0 {
		t = s.torrents[i]
		s.torrents = slices.Delete(s.torrents, i, i+1)
	}
	s.mu.Unlock()
	if t == nil {
		if !wasKept {
			return ErrNoTorrent
		}
		s.log.Info("torrent forgotten", "infohash", ih)
		return nil
	}
	st := t.Stats()
	s.mu.Lock()
	if s.retired == nil {
		s.retired = make(map[string]TransportStats)
	}
	for name, ts := range st.Transports {
		r := s.retired[name]
		r.BytesIn += ts.BytesIn
		r.BytesOut += ts.BytesOut
		s.retired[name] = r
	}
	s.mu.Unlock()
	t.stopWants()
	t.t.Drop()
	s.log.Info("torrent removed", "infohash", ih, "name", t.Name())
	return nil
}
