package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/seedcast/seedcast/swarm"
)

type createCmd struct {
	Path      string   `arg:"" type:"existingfile|existingdir" help:"File or folder to make a torrent of." `
	Output    string   `short:"o" placeholder:"FILE" help:"Where to write the .torrent (default: NAME.torrent in the current folder)."`
	PublicURL string   `name:"public-url" env:"SEEDCAST_PUBLIC_URL" default:"http://127.0.0.1:8080" help:"Base URL of the seedcast node that will seed it (its tracker and web seed go in the torrent)."`
	Tracker   []string `env:"SEEDCAST_TRACKER" placeholder:"URL" help:"Extra tracker (repeatable)."`
	NoWebseed bool     `name:"no-webseed" env:"SEEDCAST_NO_WEBSEED" help:"Leave the node's web seed out."`
}

func (c *createCmd) Run(ctx context.Context, log *slog.Logger) error {
	base, err := (&httpFlags{PublicURL: c.PublicURL}).publicURL()
	if err != nil {
		return err
	}
	announce := [][]string{announceURLs(base)}
	if len(c.Tracker) > 0 {
		announce = append(announce, c.Tracker)
	}
	webSeedBase := base.String() + "/webseed/"
	if c.NoWebseed {
		webSeedBase = ""
	}
	mi, err := swarm.Create(ctx, c.Path, announce, webSeedBase, log)
	if err != nil {
		return err
	}
	out := c.Output
	if out == "" {
		out = filepath.Base(filepath.Clean(c.Path)) + ".torrent"
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := mi.Write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Printf("wrote %s\ninfohash: %s\n", out, mi.HashInfoBytes().HexString())
	return nil
}
