package web

import (
	"context"
	"net/http"
	"path"

	"github.com/seedcast/seedcast/httperr"
	"github.com/seedcast/seedcast/infohash"
)

// Bundle is a bundle of files, some behind a gate, as its page shows it to
// the viewer who asks.
type Bundle struct {
	ID, Title, Artist, Description string
	InfoHash                       infohash.Hash
	Files                          []BundleFile
	Campaign                       *Campaign
	// Unlocked lists the gates the viewer has opened ("email", "price").
	Unlocked []string
	// Payments is true when the node takes payments, Mail when an
	// address is confirmed by mail before it unlocks.
	Payments, Mail bool
	// Consent is the wording an email gate shows beside its box.
	Consent string
}

// BundleFile is one file of a bundle.
type BundleFile struct {
	Path string
	// Gate is "free", "email" or "price"; Price says how much, "9.95 USD".
	Gate, Price string
	Length      int64
	// Unlocked is true when the viewer may play the file.
	Unlocked bool
}

// Campaign is a bundle's crowd-funding meter, from confirmed payments.
type Campaign struct {
	Backers, GoalBackers int64
	// Pledged is in major units ("2487.50"), Price a backer's pledge
	// ("9.95 USD"), Ends an RFC 3339 time or "".
	Pledged, Currency, Price, Ends string
}

// Percent is the campaign's progress towards its goal, 0 to 100.
func (c *Campaign) Percent() float64 {
	if c.GoalBackers <= 0 {
		return 0
	}
	return min(100, float64(c.Backers)*100/float64(c.GoalBackers))
}

// Bundles gives the pages the node's bundles as the viewer who asks sees
// them.
type Bundles interface {
	// Bundle returns bundle id for r's viewer; an *httperr.Error of 404
	// if there is none.
	Bundle(r *http.Request, id string) (Bundle, error)
	// BundleOf returns the bundle of torrent ih for r's viewer, false if
	// the torrent is no bundle.
	BundleOf(r *http.Request, ih infohash.Hash) (Bundle, bool, error)
	// TitleOf returns the id and title of the bundle of torrent ih, false
	// if the torrent is no bundle; the library asks it of every torrent,
	// so it should be cheap.
	TitleOf(ctx context.Context, ih infohash.Hash) (id, title string, ok bool, err error)
}

// Name is the file's path without the bundle's folder.
func (f BundleFile) Name() string { return path.Base(f.Path) }

// bundleView is the bundle page.
type bundleView struct {
	Bundle
	Title string
	Host  string
	// Watch are the watch URLs of the files that play, by path.
	Watch map[string]string
	// EmailGate and PriceGate are set when a file is behind that gate and
	// the viewer has not opened it; Price is what the price gate costs.
	EmailGate, PriceGate bool
	// Keys is set once the viewer has opened a gate: the key file of what
	// it opened can be downloaded, for `seedcast unlock`.
	Keys bool
	// Note is what the page says after a gate: "unlocked", "sent",
	// "paid", or "".
	Note string
}

func (s *Server) serveBundle(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Bundles == nil {
		return httperr.Errorf(http.StatusNotFound, "this node has no bundles")
	}
	b, err := s.cfg.Bundles.Bundle(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	base := s.requestBase(r)
	bv := bundleView{Bundle: b, Title: b.Title, Host: base.Host, Watch: map[string]string{}, Keys: len(b.Unlocked) > 0}
	if t, ok := s.cfg.Library.Torrent(b.InfoHash); ok {
		for _, f := range s.view(t).Files {
			if f.Playable() {
				bv.Watch[f.Path] = s.basePath() + "/watch/" + b.InfoHash.String() + "?file=" + queryPath(f.Path)
			}
		}
	}
	for _, f := range b.Files {
		if f.Unlocked {
			continue
		}
		switch f.Gate {
		case "email":
			bv.EmailGate = true
		case "price":
			bv.PriceGate = true
		}
	}
	q := r.URL.Query()
	switch {
	case q.Has("unlocked"):
		bv.Note = "unlocked"
	case q.Has("sent"):
		bv.Note = "sent"
	case q.Has("paid"):
		bv.Note = "paid"
	}
	return s.render(w, http.StatusOK, "bundle", "'self'", bv)
}

// gates marks the files of torrent ih that are behind a gate, and those
// the viewer of r has not opened, and returns its bundle, nil for a
// torrent that is no bundle.
func (s *Server) gates(r *http.Request, ih infohash.Hash, files []fileView) (*Bundle, error) {
	if s.cfg.Bundles == nil {
		return nil, nil
	}
	b, ok, err := s.cfg.Bundles.BundleOf(r, ih)
	if err != nil || !ok {
		return nil, err
	}
	byPath := make(map[string]BundleFile, len(b.Files))
	for _, f := range b.Files {
		byPath[f.Path] = f
	}
	for i := range files {
		if f, ok := byPath[files[i].Path]; ok {
			files[i].Gate = f.Gate
			files[i].Locked = !f.Unlocked
		}
	}
	return &b, nil
}

// openMain returns the largest playable file of files that is not
// locked, or main if every one is.
func openMain(files []fileView, main int) int {
	best := -1
	for i, f := range files {
		if f.Playable() && !f.Locked && (best < 0 || f.Length > files[best].Length) {
			best = i
		}
	}
	if best < 0 {
		return main
	}
	return best
}
