package web

import (
	"bytes"
	"cmp"
	"embed"
	"fmt"
	"html"
	"html/template"
	"image"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/seedcast/seedcast/httperr"
)

//go:embed templates/*.html
var templateFS embed.FS

// pages are the page templates by name, each parsed with the layout.
var pages = []string{"library", "watch", "embed", "error", "pending", "bundle", "admin"}

// parseTemplates parses each page with the shared layout and partials.
func parseTemplates(s *Server) (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"asset": func(name string) (string, error) {
			if s.assets == nil {
				return "", errNotBuilt
			}
			return s.assets.url(s.basePath(), name)
		},
		"size":    humanBytes,
		"plural":  plural,
		"carried": carried,
		"base":    s.basePath,
	}
	shared, err := template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html")
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	out := make(map[string]*template.Template)
	for _, p := range pages {
		t, err := template.Must(shared.Clone()).ParseFS(templateFS, "templates/"+p+".html")
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", p, err)
		}
		out[p] = t
	}
	return out, nil
}

// render executes the page template name into a buffer first, so that a
// failure becomes an error page instead of half a page.
func (s *Server) render(w http.ResponseWriter, code int, name, frameAncestors string, v any) error {
	var b bytes.Buffer
	if err := s.tmpl[name].ExecuteTemplate(&b, "layout", v); err != nil {
		return fmt.Errorf("web: rendering %s: %w", name, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", s.csp+"; frame-ancestors "+frameAncestors)
	h.Set("X-Content-Type-Options", "nosniff")
	// Links out of a page tell nobody which film a viewer watched.
	h.Set("Referrer-Policy", "same-origin")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-cache")
	}
	w.WriteHeader(code)
	_, err := w.Write(b.Bytes())
	return err
}

// errorView is the error page.
type errorView struct {
	Title string
	Code  int
	Msg   string
	Home  string
	// Embed is set for an embed's error, shown bare in another site's
	// iframe.
	Embed bool
}

// renderError writes the error page of e, or plain text if the page
// cannot be rendered.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, e *httperr.Error) {
	v := errorView{Title: http.StatusText(e.Code), Code: e.Code, Msg: e.Msg, Home: s.basePath() + "/"}
	// An embed's error shows in the embedding page's iframe.
	frameAncestors := "'self'"
	if strings.HasPrefix(r.URL.Path, s.basePath()+"/embed/") {
		frameAncestors = "*"
		v.Embed = true
	}
	if err := s.render(w, e.Code, "error", frameAncestors, v); err != nil {
		s.log.Error("error page failed", "path", r.URL.Path, "err", err)
		http.Error(w, e.Msg, e.Code)
	}
}

// Kinds of files, by what the browser can do with them.
const (
	kindVideo   = "video"
	kindAudio   = "audio"
	kindImage   = "image"
	kindText    = "text"
	kindCaption = "caption"
	kindOther   = "other"
)

// kinds maps the MIME types of File.Type, without their parameters, to
// kinds; any other type is kindOther. Formats listed
// play in <video> in at least one major browser; the player tells the
// viewer when theirs cannot and offers the download. SVG is left out:
// shown inline it is harmless, but opened from /stream it would run its
// scripts on the node's origin.
var kinds = map[string]string{
	"video/mp4": kindVideo, "video/webm": kindVideo, "video/quicktime": kindVideo, "video/ogg": kindVideo, "video/x-matroska": kindVideo,
	"audio/mpeg": kindAudio, "audio/mp4": kindAudio, "audio/aac": kindAudio, "audio/ogg": kindAudio, "audio/flac": kindAudio,
	"audio/wav": kindAudio, "audio/webm": kindAudio,
	"image/jpeg": kindImage, "image/png": kindImage, "image/gif": kindImage, "image/webp": kindImage, "image/avif": kindImage,
	"text/vtt": kindCaption, "application/x-subrip": kindCaption,
	"text/plain": kindText, "text/markdown": kindText, "text/csv": kindText, "application/json": kindText,
}

// essence is a MIME type without its parameters, in lower case:
// "text/vtt; charset=utf-8" is "text/vtt".
func essence(mimeType string) string {
	t, _, _ := strings.Cut(mimeType, ";")
	return strings.ToLower(strings.TrimSpace(t))
}

// kindOf returns the kind of a file of MIME type mimeType.
func kindOf(mimeType string) string {
	if k, ok := kinds[essence(mimeType)]; ok {
		return k
	}
	return kindOther
}

// posterStems are the names, without extension, of images that serve as a
// bundle's poster, best first.
var posterStems = []string{"poster", "cover", "folder", "thumbnail", "thumb", "artwork"}

// langRE matches a language tag in a caption's name: film.en.srt,
// film.pt-BR.vtt.
var langRE = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$`)

// fileView is a file as the pages show it and hand it to the scripts.
type fileView struct {
	Index  int    `json:"-"`
	Path   string `json:"path"`
	Name   string `json:"name"`
	Length int64  `json:"length"`
	// Type is the file's MIME type; the scripts go by Kind.
	Type string `json:"-"`
	Kind string `json:"kind"`
	// URL is the file's /stream URL below the node's base path.
	URL string `json:"url"`
	// Captions are the indices of the captions that go with a video.
	Captions []int `json:"captions,omitempty"`
	// Lang is a caption's language tag, from its name, or "".
	Lang string `json:"lang,omitempty"`
	// Gate is the gate of a file of a bundle ("free", "email",
	// "price"), "" for a torrent that is no bundle; Locked is set while
	// the viewer has not opened it.
	Gate   string `json:"gate,omitempty"`
	Locked bool   `json:"locked,omitempty"`
}

// Playable reports whether the file goes in the player.
func (f fileView) Playable() bool { return f.Kind == kindVideo || f.Kind == kindAudio }

// Previewable reports whether the file shows inline in the file list.
func (f fileView) Previewable() bool {
	return f.Kind == kindImage || f.Kind == kindText || f.Kind == kindCaption
}

// BaseName is the last element of the file's path.
func (f fileView) BaseName() string { return path.Base(f.Path) }

// stem is a name's base without its extension, in lower case.
func stem(p string) string {
	b := path.Base(p)
	return strings.ToLower(strings.TrimSuffix(b, path.Ext(b)))
}

// captionStem splits a caption's stem from its language tag:
// "Film.en.srt" is "film" in "en".
func captionStem(p string) (string, string) {
	s := path.Base(p)
	s = strings.TrimSuffix(s, path.Ext(s))
	if i := strings.LastIndexByte(s, '.'); i > 0 && langRE.MatchString(s[i+1:]) {
		return strings.ToLower(s[:i]), s[i+1:]
	}
	return strings.ToLower(s), ""
}

// escapePath escapes each element of a slash-separated path for a URL.
func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// queryPath escapes a file's path for a query, slashes kept for people
// to read.
func queryPath(p string) string {
	return strings.ReplaceAll(url.QueryEscape(p), "%2F", "/")
}

// torrentView is a torrent as the pages show it.
type torrentView struct {
	T     Torrent
	Title string
	Files []fileView
	// Main is the index of the file the player starts with; Poster is the
	// index of the bundle's poster image, -1 for none.
	Main, Poster int
	Multi        bool
}

// view describes t for the pages: kinds, stream URLs, which captions go
// with which video, the poster and the file to play first.
func (s *Server) view(t Torrent) torrentView {
	v := torrentView{T: t, Title: t.Name, Poster: -1, Multi: len(t.Files) > 1}
	ih := t.InfoHash.String()
	prefix := t.Name + "/"
	for i, f := range t.Files {
		name := f.Path
		if v.Multi {
			name = strings.TrimPrefix(name, prefix)
		}
		v.Files = append(v.Files, fileView{
			Index:  i,
			Path:   f.Path,
			Name:   name,
			Length: f.Length,
			Type:   f.Type,
			Kind:   kindOf(f.Type),
			URL:    s.basePath() + "/stream/" + ih + "/" + escapePath(f.Path),
		})
	}
	// The main file: the largest video (a film beside its trailer), else
	// the first audio file, else the first file.
	v.Main = 0
	best := int64(-1)
	for i, f := range v.Files {
		if f.Kind == kindVideo && f.Length > best {
			v.Main, best = i, f.Length
		}
	}
	if best < 0 {
		if i := slices.IndexFunc(v.Files, func(f fileView) bool { return f.Kind == kindAudio }); i >= 0 {
			v.Main = i
		}
	}
	// Captions named after a video go with it; the others with every
	// video.
	videos := make(map[string][]int)
	for i, f := range v.Files {
		if f.Kind == kindVideo {
			videos[stem(f.Path)] = append(videos[stem(f.Path)], i)
		}
	}
	for i := range v.Files {
		f := &v.Files[i]
		if f.Kind != kindCaption {
			continue
		}
		st, lang := captionStem(f.Path)
		f.Lang = lang
		owners := videos[st]
		if len(owners) == 0 {
			for j, g := range v.Files {
				if g.Kind == kindVideo {
					owners = append(owners, j)
				}
			}
		}
		for _, j := range owners {
			v.Files[j].Captions = append(v.Files[j].Captions, i)
		}
	}
	// The poster: an image named like one, or after the main file.
	rank := func(f fileView) int {
		if f.Kind != kindImage {
			return -1
		}
		if i := slices.Index(posterStems, stem(f.Path)); i >= 0 {
			return len(posterStems) - i + 1
		}
		if len(v.Files) > 0 && stem(f.Path) == stem(v.Files[v.Main].Path) {
			return 1
		}
		return -1
	}
	bestRank := 0
	for i, f := range v.Files {
		if r := rank(f); r > bestRank {
			v.Poster, bestRank = i, r
		}
	}
	// A single file's title is its name without the extension.
	if !v.Multi && len(v.Files) == 1 {
		v.Title = strings.TrimSuffix(t.Name, path.Ext(t.Name))
	}
	v.Title = cmp.Or(strings.TrimSpace(v.Title), ih)
	return v
}

// pickFile finds the file named by ?file=: a path as in the API, a path
// without the torrent's name, or an index.
func (v torrentView) pickFile(q string) (int, error) {
	if q == "" {
		return v.Main, nil
	}
	for i, f := range v.Files {
		if f.Path == q || f.Name == q {
			return i, nil
		}
	}
	if n, err := strconv.Atoi(q); err == nil {
		if n >= 0 && n < len(v.Files) {
			return n, nil
		}
		return 0, httperr.Errorf(http.StatusNotFound, "No file %d in this torrent: it has %d.", n, len(v.Files))
	}
	return 0, httperr.Errorf(http.StatusNotFound, "No file %q in this torrent.", q)
}

// pageData is the JSON a page's scripts read (web/src/data.ts).
type pageData struct {
	InfoHash   string     `json:"infohash"`
	Title      string     `json:"title"`
	Base       string     `json:"base"`
	PublicHost string     `json:"publicHost"`
	TorrentURL string     `json:"torrentURL"`
	WatchURL   string     `json:"watchURL"`
	Files      []fileView `json:"files"`
	Main       int        `json:"main"`
	// Focus is the index of a file the page opens in its list, -1 for
	// none: one that ?file= named but that has no picture or sound.
	Focus    int  `json:"focus"`
	Poster   int  `json:"poster"`
	Embed    bool `json:"embed"`
	Autoplay bool `json:"autoplay"`
	// P2P is false when the page was asked for ?p2p=0, or too few watch
	// yet (Config.P2PMinViewers): it streams from the node alone and
	// never loads WebTorrent, so that no other viewer learns of this one.
	P2P bool `json:"p2p"`
	// P2POff says why P2P is false, for the viewer.
	P2POff string `json:"p2pOff,omitempty"`
	// Head is false with ?head=0: the page plays through WebTorrent from
	// the first frame, without the node's opening stream, for
	// comparisons (make bench).
	Head bool `json:"head"`
	// Deadline is false with ?deadline=0: the page takes from the node
	// whatever WebTorrent asks, as before the deadline policy, for
	// comparisons (make bench).
	Deadline bool `json:"deadline"`
	// ICEServers are the node's, never nil: the page passes them to
	// WebTorrent in place of its third-party defaults.
	ICEServers []ICEServer `json:"iceServers"`
	// Bundle is the id of the torrent's bundle, "" for none: the page
	// fetches the keys of the gated files the viewer opened from
	// /api/bundles/{id}/keys.
	Bundle string `json:"bundle,omitempty"`
}

// playerView is the watch page and the embed.
type playerView struct {
	torrentView
	Data      pageData
	Current   fileView
	PosterURL string
	WatchURL  string
	EmbedURL  string
	// OEmbedURL and OEmbedXMLURL are the page's oEmbed answers, in JSON
	// and in XML.
	OEmbedURL    string
	OEmbedXMLURL string
	// StreamURL is the absolute /stream URL of the current file, for Open
	// Graph; VideoType its MIME type, without parameters, if it is a
	// video.
	StreamURL string
	VideoType string
	ImageURL  string
	// ImageSize is the poster's size, when the library can tell.
	ImageSize image.Point
	EmbedCode string
	HTTPS     bool
	Desc      string
	// SwitchURL is this page with peer-to-peer the other way: with
	// ?p2p=0 added, or taken away.
	SwitchURL string
	// MinViewers is Config.P2PMinViewers when too few watch for P2P yet.
	MinViewers int
	// BundleID and Campaign are the torrent's bundle and its campaign, if
	// it is one and has one.
	BundleID string
	Campaign *Campaign
}

// Embed sizes: 16:9 at the width blogs give a column.
const (
	embedWidth  = 640
	embedHeight = 360
)

func (s *Server) playerView(r *http.Request, embed bool) (playerView, error) {
	t, err := s.lookup(r.PathValue("infohash"))
	if err != nil {
		return playerView{}, err
	}
	base := s.requestBase(r)
	t = s.rebased(t, base)
	tv := s.view(t)
	if t.Files == nil {
		return playerView{torrentView: tv}, nil
	}
	b, err := s.gates(r, t.InfoHash, tv.Files)
	if err != nil {
		return playerView{}, err
	}
	var bundleID string
	var campaign *Campaign
	if b != nil {
		// A bundle's page is named by its artist's title, not its
		// torrent's folder.
		bundleID, campaign = b.ID, b.Campaign
		tv.Title = cmp.Or(strings.TrimSpace(b.Title), tv.Title)
	}
	if f := tv.Files[tv.Main]; f.Locked {
		// A bundle opens on the largest file the viewer may play, not
		// on one behind a gate.
		tv.Main = openMain(tv.Files, tv.Main)
	}
	q := r.URL.Query()
	picked, err := tv.pickFile(q.Get("file"))
	if err != nil {
		return playerView{}, err
	}
	// A file without picture or sound is shown in the list, opened, while
	// the player keeps the bundle's main file.
	cur, focus := picked, -1
	if !tv.Files[picked].Playable() {
		cur, focus = tv.Main, picked
	}
	tv.Main = cur
	pub := base.String()
	ih := t.InfoHash.String()
	pv := playerView{torrentView: tv, Current: tv.Files[cur], HTTPS: base.Scheme == "https"}
	fileQuery := ""
	if q.Has("file") {
		fileQuery = "?file=" + queryPath(tv.Files[picked].Path)
	}
	pv.WatchURL = pub + "/watch/" + ih + fileQuery
	pv.EmbedURL = pub + "/embed/" + ih + fileQuery
	pv.OEmbedURL = pub + "/oembed?format=json&url=" + url.QueryEscape(pv.WatchURL)
	pv.OEmbedXMLURL = pub + "/oembed?format=xml&url=" + url.QueryEscape(pv.WatchURL)
	pv.StreamURL = base.Scheme + "://" + base.Host + pv.Current.URL
	if pv.Current.Kind == kindVideo {
		pv.VideoType = essence(pv.Current.Type)
	}
	if tv.Poster >= 0 {
		pv.PosterURL = tv.Files[tv.Poster].URL
		pv.ImageURL = base.Scheme + "://" + base.Host + pv.PosterURL
	}
	pv.EmbedCode = embedCode(pv.EmbedURL, tv.Title, embedWidth, embedHeight)
	pv.Desc = humanBytes(t.Length)
	if tv.Multi {
		pv.Desc += " · " + plural(len(tv.Files), "file", "files")
	}
	pv.Desc += " · watch it peer-to-peer, from this node and from other viewers"
	autoplay := !embed
	if embed {
		autoplay = q.Get("autoplay") == "1" || q.Get("autoplay") == "true"
	}
	sq := url.Values{}
	if q.Has("file") {
		sq.Set("file", tv.Files[picked].Path)
	}
	p2p := q.Get("p2p") != "0" && q.Get("p2p") != "false"
	if p2p {
		sq.Set("p2p", "0")
	}
	p2pOff := ""
	if !p2p {
		p2pOff = "peer-to-peer is off on this page (?p2p=0)"
	} else if n := s.cfg.P2PMinViewers; n > 1 && t.Viewers+1 < n {
		// Counting this viewer, who has not reported yet.
		p2p = false
		pv.MinViewers = n
		p2pOff = fmt.Sprintf("peer-to-peer starts once %d people watch", n)
	}
	pv.SwitchURL = s.basePath() + "/watch/" + ih
	if len(sq) > 0 {
		pv.SwitchURL += "?" + sq.Encode()
	}
	pv.Data = pageData{
		InfoHash:   ih,
		Title:      tv.Title,
		Base:       s.basePath(),
		PublicHost: base.Host,
		TorrentURL: s.basePath() + "/torrents/" + ih + ".torrent",
		WatchURL:   pv.WatchURL,
		Files:      tv.Files,
		Main:       cur,
		Focus:      focus,
		Poster:     tv.Poster,
		Embed:      embed,
		Autoplay:   autoplay,
		P2P:        p2p,
		P2POff:     p2pOff,
		Head:       q.Get("head") != "0",
		Deadline:   q.Get("deadline") != "0",
		ICEServers: s.iceServers(),
		Bundle:     bundleID,
	}
	pv.BundleID, pv.Campaign = bundleID, campaign
	return pv, nil
}

// embedCode is the <iframe> that embeds the player: width × height at
// most, and as wide as its column allows below that.
func embedCode(src, title string, width, height int) string {
	return fmt.Sprintf(`<iframe src="%s" width="%d" height="%d" title="%s" style="border:0;max-width:100%%;height:auto;aspect-ratio:%d/%d" allow="autoplay; fullscreen; picture-in-picture" allowfullscreen></iframe>`,
		html.EscapeString(src), width, height, html.EscapeString(title), width, height)
}

func (s *Server) serveWatch(w http.ResponseWriter, r *http.Request) error {
	pv, err := s.playerView(r, false)
	if err != nil {
		return err
	}
	if pv.T.Files == nil {
		return s.renderPending(w, pv.torrentView, false)
	}
	if pv.Poster >= 0 {
		pv.ImageSize, _ = s.posterSize(r.Context(), pv.T.InfoHash, pv.Files[pv.Poster])
	}
	return s.render(w, http.StatusOK, "watch", "'self'", pv)
}

// serveEmbed serves the player alone, for any site's iframe.
func (s *Server) serveEmbed(w http.ResponseWriter, r *http.Request) error {
	pv, err := s.playerView(r, true)
	if err != nil {
		return err
	}
	if pv.T.Files == nil {
		return s.renderPending(w, pv.torrentView, true)
	}
	return s.render(w, http.StatusOK, "embed", "*", pv)
}

// pendingView is the page of a torrent whose info is not known yet.
type pendingView struct {
	torrentView
	// Found and Waited say how many peers the node found and how long it
	// has waited.
	Found, Waited string
	// Stuck is set once the node has waited long enough (stuckAfter) for
	// the page to say what to try.
	Stuck bool
	// Embed is set in another site's iframe: no masthead.
	Embed bool
}

// stuckAfter is how long a magnet waits for its info before its page
// says what to try: web/src/pending.ts's stuckSeconds. Peers found by a
// tracker or a hint send the info within seconds; the DHT may take tens.
const stuckAfter = time.Minute

// renderPending answers for a torrent whose info is not known yet (a
// magnet still looking for peers): the page says what the node waits on,
// polls the API, and loads the player once the info has come.
func (s *Server) renderPending(w http.ResponseWriter, tv torrentView, embed bool) error {
	w.Header().Set("Retry-After", "3")
	frameAncestors := "'self'"
	if embed {
		frameAncestors = "*"
	}
	return s.render(w, http.StatusServiceUnavailable, "pending", frameAncestors,
		pendingView{torrentView: tv, Found: strconv.Itoa(tv.T.PeersFound) + " found", Waited: waited(tv.T.InfoWait),
			Stuck: tv.T.InfoWait >= stuckAfter, Embed: embed})
}

// waited says how long a torrent has waited for its info: "12 s",
// "3 min 5 s", "2 h 10 min"; web/src/pending.ts says it the same way as
// it counts on.
func waited(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%d s", s)
	case s < 3600:
		return fmt.Sprintf("%d min %d s", s/60, s%60)
	}
	return fmt.Sprintf("%d h %d min", s/3600, s%3600/60)
}

// cardView is a torrent in the library.
type cardView struct {
	torrentView
	WatchURL string
	// BundleID is the torrent's bundle, "" if it is none.
	BundleID string
	// FrameURL is the /stream URL of the main video, whose first frame
	// the card shows when the bundle has no poster.
	FrameURL  string
	PosterURL string
	Summary   string
}

// libraryView is the library page.
type libraryView struct {
	Title string
	Host  string
	Cards []cardView
	Total int64
}

func (s *Server) serveLibrary(w http.ResponseWriter, r *http.Request) error {
	base := s.requestBase(r)
	lv := libraryView{Title: "Library", Host: base.Host}
	for _, t := range s.cfg.Library.Torrents() {
		tv := s.view(s.rebased(t, base))
		c := cardView{torrentView: tv, WatchURL: s.basePath() + "/watch/" + t.InfoHash.String()}
		if s.cfg.Bundles != nil {
			id, title, ok, err := s.cfg.Bundles.TitleOf(r.Context(), t.InfoHash)
			if err != nil {
				return err
			}
			if ok {
				c.Title, c.BundleID = title, id
			}
		}
		if len(tv.Files) > 0 {
			if tv.Poster >= 0 {
				c.PosterURL = tv.Files[tv.Poster].URL
			} else if f := tv.Files[tv.Main]; f.Kind == kindVideo {
				c.FrameURL = f.URL
			}
			c.Summary = summary(tv.Files)
		}
		lv.Cards = append(lv.Cards, c)
		lv.Total += t.Length
	}
	return s.render(w, http.StatusOK, "library", "'self'", lv)
}

// carried says what viewers carried of what they got: "viewers carried
// 72 % of 3.1 GB"; "" before any viewer got a byte.
func carried(t Torrent) string {
	if t.Delivered <= 0 {
		return ""
	}
	return fmt.Sprintf("viewers carried %d %% of %s", int(t.ViewerShare*100), humanBytes(t.Delivered))
}

// summary describes a bundle in the library: "7 files"; a single file
// needs no words.
func summary(files []fileView) string {
	if len(files) == 1 {
		return ""
	}
	return plural(len(files), "file", "files")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// humanBytes formats a size in SI units, as the scripts do.
func humanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f := float64(n)
	i := -1
	for f >= unit && i < 3 {
		f /= unit
		i++
	}
	u := []string{"kB", "MB", "GB", "TB"}[i]
	if f >= 100 {
		return fmt.Sprintf("%.0f %s", f, u)
	}
	return fmt.Sprintf("%.1f %s", f, u)
}
