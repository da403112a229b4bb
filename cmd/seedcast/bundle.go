package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/seedcast/seedcast/bundle"
	"github.com/seedcast/seedcast/infohash"
	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/swarm"
)

// bundleCmd groups the commands of bundles.
type bundleCmd struct {
	Create bundleCreateCmd `cmd:"" help:"Make a bundle of a folder with a bundle.toml: one torrent whose gated files are encrypted, their keys kept in the node's store."`
}

type bundleCreateCmd struct {
	Dir           string   `arg:"" type:"existingdir" help:"The bundle's folder: its files and bundle.toml, which lists each file with its gate (free, email or price)."`
	Output        string   `short:"o" env:"SEEDCAST_OUTPUT" default:"." placeholder:"OUT" help:"Where to write the torrent's content (OUT/ID/: free files as they are, gated files encrypted) and OUT/ID.torrent; not inside the bundle's folder."`
	Force         bool     `env:"SEEDCAST_FORCE" help:"Replace OUT/ID and OUT/ID.torrent if they exist (with fresh keys: the old torrent and key files stop working)."`
	Data          string   `default:"${data_default}" env:"SEEDCAST_DATA" placeholder:"DIR" help:"State dir of the node that will serve the bundle: its keys are kept there (SQLite), or in --db."`
	DB            string   `name:"db" env:"SEEDCAST_DB" placeholder:"URL" help:"PostgreSQL database to keep the bundle and its keys in, postgres://user:pass@host/db, shared by the nodes that serve it (default: SQLite in --data)."`
	PublicURL     string   `name:"public-url" env:"SEEDCAST_PUBLIC_URL" placeholder:"URL" help:"Base URL viewers and peers will reach the seeding node at, e.g. https://films.example.org: its tracker and web seed go in the torrent (required unless --allow-loopback)."`
	Tracker       []string `env:"SEEDCAST_TRACKER" placeholder:"URL" help:"Extra tracker (repeatable)."`
	NoWebseed     bool     `name:"no-webseed" env:"SEEDCAST_NO_WEBSEED" help:"Leave the node's web seed out."`
	AllowLoopback bool     `name:"allow-loopback" env:"SEEDCAST_ALLOW_LOOPBACK" help:"Allow trackers and a web seed on this machine alone (127.0.0.1, localhost), and without --public-url name http://127.0.0.1:8080: for a bundle to test here, never to publish."`
}

// keeper is where bundle create keeps a bundle and its keys: the node's
// store.
type keeper interface {
	bundle.Keeper
	Close() error
}

// openKeeper opens the node's store in dataDir, or at dsn if set; tests
// replace it.
var openKeeper = openStore

func (c *bundleCreateCmd) Run(ctx context.Context, log *slog.Logger) error {
	// What the torrent names is checked as create checks it, before the
	// minutes of encrypting and hashing a film.
	node := &createCmd{PublicURL: c.PublicURL, Tracker: c.Tracker, NoWebseed: c.NoWebseed, AllowLoopback: c.AllowLoopback}
	base, err := node.base()
	if err != nil {
		return err
	}
	announce := [][]string{announceURLs(base)}
	if len(c.Tracker) > 0 {
		announce = append(announce, c.Tracker)
	}
	if err := node.checkReach(announce); err != nil {
		return err
	}
	webSeedBase := base.String() + "/webseed/"
	if c.NoWebseed {
		webSeedBase = ""
	}
	m, err := bundle.LoadManifest(c.Dir)
	if err != nil {
		return err
	}
	for _, p := range []string{filepath.Join(c.Output, m.ID), filepath.Join(c.Output, m.ID+".torrent")} {
		if _, err := os.Lstat(p); err == nil && !c.Force {
			return c.existsError(p)
		}
	}
	if err := checkDataDir(c.Data); err != nil {
		return err
	}
	k, err := openKeeper(ctx, c.DB, c.Data, log)
	if err != nil {
		return err
	}
	defer k.Close()

	res, err := bundle.Create(ctx, bundle.Config{
		Dir:    c.Dir,
		Out:    c.Output,
		Force:  c.Force,
		Keeper: k,
		MakeTorrent: func(ctx context.Context, content, torrentFile string) (infohash.Hash, error) {
			return writeTorrent(ctx, log, content, torrentFile, announce, webSeedBase)
		},
		Logger: log,
	})
	if exists := (*fs.PathError)(nil); errors.Is(err, bundle.ErrExists) && errors.As(err, &exists) {
		// There since the check above: another run at the same time.
		return c.existsError(exists.Path)
	}
	if err != nil {
		return err
	}
	c.print(res, m)
	return nil
}

func (c *bundleCreateCmd) existsError(p string) error {
	return fmt.Errorf("%s exists; pass --force (SEEDCAST_FORCE) to replace it (with fresh keys), or write elsewhere with -o (SEEDCAST_OUTPUT)", p)
}

// writeTorrent hashes the content folder into a v1 torrent with the
// node's trackers and web seed, and writes it to torrentFile, which
// bundle.Create has made sure is not there.
func writeTorrent(ctx context.Context, log *slog.Logger, content, torrentFile string, announce [][]string, webSeedBase string) (infohash.Hash, error) {
	mi, err := swarm.Create(ctx, swarm.CreateConfig{
		Path: content, Announce: announce, WebSeedBase: webSeedBase, Logger: log, Meter: terminalMeter(),
	})
	if err != nil {
		return infohash.Hash{}, err
	}
	f, err := os.OpenFile(torrentFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return infohash.Hash{}, fmt.Errorf("write the torrent: %w", err)
	}
	if err := mi.Write(f); err != nil {
		f.Close()
		return infohash.Hash{}, fmt.Errorf("write the torrent: %w", err)
	}
	if err := f.Close(); err != nil {
		return infohash.Hash{}, fmt.Errorf("write the torrent: %w", err)
	}
	return infohash.Hash(mi.HashInfoBytes()), nil
}

// print says what was made and how to serve it; never a key.
func (c *bundleCreateCmd) print(res *bundle.Result, m *bundle.Manifest) {
	b := res.Bundle
	var w strings.Builder
	fmt.Fprintf(&w, "bundle:   %s (%s, by %s)\n", b.ID, b.Title, b.Artist)
	fmt.Fprintf(&w, "infohash: %s\n", b.InfoHash)
	fmt.Fprintf(&w, "content:  %s\n", res.ContentDir)
	fmt.Fprintf(&w, "torrent:  %s\n", res.TorrentFile)
	fmt.Fprintf(&w, "files:\n")
	gated := 0
	for _, f := range b.Files {
		gate := f.Gate.Kind
		switch f.Gate.Kind {
		case store.GatePrice:
			gate = "price " + bundle.FormatMoney(f.Gate.Price)
			gated++
		case store.GateEmail:
			gated++
		}
		fmt.Fprintf(&w, "  %-16s %s (%d bytes)\n", gate, f.Path, f.Length)
	}
	if cp := b.Campaign; cp != nil {
		fmt.Fprintf(&w, "campaign: %d backers at %s", cp.GoalBackers, bundle.FormatMoney(cp.Price))
		if !cp.Ends.IsZero() {
			fmt.Fprintf(&w, ", ends %s", cp.Ends.Format("2006-01-02 15:04 MST"))
		}
		w.WriteString("\n")
	}
	where := "in " + c.Data
	if c.DB != "" {
		where = "in the --db database"
	}
	fmt.Fprintf(&w, "keys:     %d gated files encrypted; their keys are kept %s and nowhere else\n", gated, where)
	serve := []string{"seedcast", "serve", "--data", shellQuote(c.Data)}
	if c.DB != "" {
		serve = append(serve, "--db", `"$SEEDCAST_DB"`)
	}
	if c.PublicURL != "" {
		serve = append(serve, "--public-url", shellQuote(c.PublicURL))
	}
	serve = append(serve, shellQuote(res.ContentDir))
	fmt.Fprintf(&w, "serve it: %s\n", strings.Join(serve, " "))
	fmt.Fprint(stdout, w.String())
}

// shellQuote quotes s for a POSIX shell if it needs it.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:=@,", r))
	}) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
