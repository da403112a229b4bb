package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/seedcast/seedcast/bundle"
)

// unlockFetchTimeout bounds fetching a key file from an unlock link.
const unlockFetchTimeout = 30 * time.Second

// maxUnlockRedirects bounds the redirects an unlock link may take, as
// swarm bounds a .torrent URL's.
const maxUnlockRedirects = 5

type unlockCmd struct {
	Dir     string `arg:"" type:"existingdir" help:"What a BitTorrent client downloaded of the bundle: its folder (named after the bundle) or the folder that holds it."`
	KeyFile string `name:"key-file" env:"SEEDCAST_KEY_FILE" type:"existingfile" placeholder:"FILE" xor:"keys" required:"" help:"The bundle's key file (JSON), as the node gives it after its gate."`
	Link    string `env:"SEEDCAST_UNLOCK_LINK" placeholder:"URL" xor:"keys" required:"" help:"An unlock link from the bundle's page, https:// (or http:// on this machine): the key file is fetched from it."`
	Output  string `short:"o" env:"SEEDCAST_OUTPUT" default:"." placeholder:"OUTDIR" help:"Where to write the plain files: OUTDIR/ID/, with their paths in the torrent; not over the download."`
	Force   bool   `env:"SEEDCAST_FORCE" help:"Overwrite plain files that exist."`
}

func (c *unlockCmd) Run(ctx context.Context, log *slog.Logger) error {
	kf, err := c.keys(ctx)
	if err != nil {
		return err
	}
	u, err := bundle.Unlock(ctx, bundle.UnlockConfig{Keys: kf, Dir: c.Dir, Out: c.Output, Force: c.Force, Logger: log})
	if exists := (*fs.PathError)(nil); errors.Is(err, bundle.ErrExists) && errors.As(err, &exists) {
		return fmt.Errorf("%s exists; pass --force (SEEDCAST_FORCE) to overwrite it, or write elsewhere with -o (SEEDCAST_OUTPUT)", exists.Path)
	}
	if err != nil {
		return err
	}
	var w strings.Builder
	fmt.Fprintf(&w, "unlocked %s into %s:\n", kf.Bundle, u.Dir)
	for _, f := range u.Files {
		rel, _ := filepath.Rel(u.Dir, f)
		fmt.Fprintf(&w, "  %s\n", filepath.ToSlash(rel))
	}
	fmt.Fprintf(&w, "the free files are plain as downloaded, in %s\n", u.From)
	fmt.Fprint(stdout, w.String())
	return nil
}

// keys reads the key file, from --key-file or --link.
func (c *unlockCmd) keys(ctx context.Context) (*bundle.KeyFile, error) {
	if c.KeyFile != "" {
		f, err := os.Open(c.KeyFile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		kf, err := bundle.ReadKeyFile(f)
		if err != nil {
			return nil, fmt.Errorf("--key-file %s: %w", c.KeyFile, err)
		}
		return kf, nil
	}
	return fetchKeyFile(ctx, c.Link)
}

// fetchKeyFile gets the key file an unlock link answers with: GET, 200
// and the key file as JSON. The link is a capability, so that errors
// name only its host.
func fetchKeyFile(ctx context.Context, link string) (*bundle.KeyFile, error) {
	u, err := url.Parse(link)
	if err != nil || u.Host == "" || u.Scheme != "https" && u.Scheme != "http" {
		return nil, errors.New("--link (SEEDCAST_UNLOCK_LINK) is not an https:// URL; copy the unlock link from the bundle's page whole")
	}
	if u.Scheme == "http" && !localOnly(link) {
		return nil, fmt.Errorf("--link (SEEDCAST_UNLOCK_LINK) is http://%s: keys would cross the network in the clear; use the https:// link of the bundle's page", u.Host)
	}
	ctx, cancel := context.WithTimeout(ctx, unlockFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "seedcast")
	client := &http.Client{CheckRedirect: func(next *http.Request, via []*http.Request) error {
		if len(via) >= maxUnlockRedirects {
			return fmt.Errorf("over %d redirects", maxUnlockRedirects)
		}
		if next.URL.Scheme != "https" && !localOnly(next.URL.String()) {
			return fmt.Errorf("redirected to plain http://%s, which would carry the keys in the clear", next.URL.Host)
		}
		return nil
	}}
	res, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL would show the link's token
		}
		return nil, fmt.Errorf("fetch the key file from %s: %w; check the connection, or save the key file from the bundle's page and pass --key-file", u.Host, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the node at %s answered %s to the unlock link: it has expired or is not for this viewer; pass the gate on the bundle's page again for a new one", u.Host, res.Status)
	}
	if mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); mt != "application/json" {
		return nil, fmt.Errorf("the node at %s answered the unlock link with %q, not a key file (application/json); copy the unlock link from the bundle's page whole", u.Host, mt)
	}
	kf, err := bundle.ReadKeyFile(res.Body)
	if err != nil {
		return nil, fmt.Errorf("the key file from %s: %w", u.Host, err)
	}
	return kf, nil
}
