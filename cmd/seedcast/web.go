package main

import (
	"context"
	"io"

	"github.com/seedcast/seedcast/infohash"
	"github.com/seedcast/seedcast/player"
	"github.com/seedcast/seedcast/swarm"
	"github.com/seedcast/seedcast/web"
)

// webLibrary shows the swarm's torrents to the pages: it is the
// web.Library, and the web.FileOpener for posters, of the node.
type webLibrary struct {
	sw   *swarm.Swarm
	pl   *player.Server // for the offload figures
	base string         // public URL, no trailing slash
}

var (
	_ web.Library    = webLibrary{}
	_ web.FileOpener = webLibrary{}
)

func (l webLibrary) Torrents() []web.Torrent {
	var out []web.Torrent
	for _, t := range l.sw.Torrents() {
		out = append(out, l.describe(t))
	}
	return out
}

func (l webLibrary) Torrent(ih infohash.Hash) (web.Torrent, bool) {
	t, ok := l.sw.Torrent(ih)
	if !ok {
		return web.Torrent{}, false
	}
	return l.describe(t), true
}

func (l webLibrary) describe(t *swarm.Torrent) web.Torrent {
	ih := t.InfoHash()
	wt := web.Torrent{
		InfoHash:   ih,
		Name:       t.Name(),
		Length:     t.Length(),
		Magnet:     t.Magnet(),
		TorrentURL: l.base + "/torrents/" + ih.String() + ".torrent",
		Peers:      t.Peers(),
		PeersFound: t.PeersFound(),
		InfoWait:   t.InfoWait(),
	}
	if o, ok := l.pl.Offload(ih); ok {
		wt.Delivered = o.NodeToViewers + o.ViewersToViewers
		wt.ViewerShare = o.ViewerShare
		wt.Viewers = o.Viewers
	}
	if files := t.Files(); files != nil {
		wt.Files = make([]web.File, len(files))
		for i, f := range files {
			wt.Files[i] = web.File{Path: f.Path, Length: f.Length, Type: player.ContentType(f.Path)}
		}
	}
	return wt
}

// OpenFile opens a file of a torrent; reads wait for its pieces until ctx
// is done.
func (l webLibrary) OpenFile(ctx context.Context, ih infohash.Hash, path string) (io.ReadCloser, error) {
	t, ok := l.sw.Torrent(ih)
	if !ok {
		return nil, swarm.ErrNoFile
	}
	i, ok := t.FileIndex(path)
	if !ok {
		return nil, swarm.ErrNoFile
	}
	r, err := t.OpenFile(i)
	if err != nil {
		return nil, err
	}
	r.SetContext(ctx)
	return r, nil
}
