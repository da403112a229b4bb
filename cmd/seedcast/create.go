package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/seedcast/seedcast/swarm"
)

// loopbackBase is the node a torrent names when create runs with
// --allow-loopback and no --public-url: serve's default address.
const loopbackBase = "http://127.0.0.1:8080"

type createCmd struct {
	Path          string   `arg:"" type:"existingfile|existingdir" help:"File or folder to make a torrent of." `
	Output        string   `short:"o" env:"SEEDCAST_OUTPUT" placeholder:"FILE" help:"Where to write the .torrent (default: NAME.torrent in the current folder)."`
	Force         bool     `env:"SEEDCAST_FORCE" help:"Overwrite the output if it exists."`
	PublicURL     string   `name:"public-url" env:"SEEDCAST_PUBLIC_URL" placeholder:"URL" help:"Base URL viewers and peers will reach the seeding node at, e.g. https://films.example.org: its tracker and web seed go in the torrent (required unless --allow-loopback)."`
	Tracker       []string `env:"SEEDCAST_TRACKER" placeholder:"URL" help:"Extra tracker (repeatable)."`
	NoWebseed     bool     `name:"no-webseed" env:"SEEDCAST_NO_WEBSEED" help:"Leave the node's web seed out."`
	AllowLoopback bool     `name:"allow-loopback" env:"SEEDCAST_ALLOW_LOOPBACK" help:"Allow trackers and a web seed on this machine alone (127.0.0.1, localhost), and without --public-url name http://127.0.0.1:8080: for a torrent to test here, never to publish."`
}

func (c *createCmd) Run(ctx context.Context, log *slog.Logger) error {
	out := c.Output
	if out == "" {
		out = filepath.Base(filepath.Clean(c.Path)) + ".torrent"
	}
	// Checked before hashing, which takes minutes for a film.
	if err := c.checkOutput(out); err != nil {
		return err
	}
	base, err := c.base()
	if err != nil {
		return err
	}
	announce := [][]string{announceURLs(base)}
	if len(c.Tracker) > 0 {
		announce = append(announce, c.Tracker)
	}
	if err := c.checkReach(announce); err != nil {
		return err
	}
	webSeedBase := base.String() + "/webseed/"
	if c.NoWebseed {
		webSeedBase = ""
	}
	mi, err := swarm.Create(ctx, swarm.CreateConfig{
		Path: c.Path, Announce: announce, WebSeedBase: webSeedBase, Logger: log, Meter: terminalMeter(),
	})
	if err != nil {
		return err
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if !c.Force {
		flags |= os.O_EXCL // in case it appeared while hashing
	}
	f, err := os.OpenFile(out, flags, 0o644)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return c.checkOutput(out)
		}
		return fmt.Errorf("write the torrent: %w; choose another place with -o (SEEDCAST_OUTPUT)", err)
	}
	if err := mi.Write(f); err != nil {
		f.Close()
		return fmt.Errorf("write the torrent: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write the torrent: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s\ninfohash: %s\n", out, mi.HashInfoBytes().HexString())
	return nil
}

// checkOutput refuses to overwrite out without --force.
func (c *createCmd) checkOutput(out string) error {
	if c.Force {
		return nil
	}
	if _, err := os.Lstat(out); err == nil {
		return fmt.Errorf("%s exists; pass --force (SEEDCAST_FORCE) to overwrite it, or write elsewhere with -o (SEEDCAST_OUTPUT)", out)
	}
	return nil
}

// base returns the node the torrent names: --public-url, which create
// needs unless --allow-loopback.
func (c *createCmd) base() (*url.URL, error) {
	if c.PublicURL == "" {
		if !c.AllowLoopback {
			return nil, fmt.Errorf("no --public-url (SEEDCAST_PUBLIC_URL): the torrent would name %s as its tracker and web seed, "+
				"which only this machine can reach; set --public-url to the URL viewers reach your node at, such as https://films.example.org, "+
				"or pass --allow-loopback (SEEDCAST_ALLOW_LOOPBACK) for a torrent to test on this machine", loopbackBase)
		}
		return (&httpFlags{PublicURL: loopbackBase}).publicURL()
	}
	return (&httpFlags{PublicURL: c.PublicURL}).publicURL()
}

// checkReach refuses trackers, and so a web seed beside them, that only
// this machine can reach, unless --allow-loopback.
func (c *createCmd) checkReach(announce [][]string) error {
	if c.AllowLoopback {
		return nil
	}
	for i, tier := range announce {
		for _, u := range tier {
			if !localOnly(u) {
				continue
			}
			if i == 0 {
				return fmt.Errorf("--public-url %s (SEEDCAST_PUBLIC_URL) is on this machine alone: the torrent's tracker and web seed would reach nobody else; "+
					"set it to the URL viewers reach your node at, such as https://films.example.org, or pass --allow-loopback (SEEDCAST_ALLOW_LOOPBACK) for a torrent to test here", c.PublicURL)
			}
			return fmt.Errorf("--tracker %s (SEEDCAST_TRACKER) is on this machine alone, so nobody else could announce to it; "+
				"give a tracker others reach, or pass --allow-loopback (SEEDCAST_ALLOW_LOOPBACK) for a torrent to test here", u)
		}
	}
	return nil
}

// localOnly reports whether the URL's host is one that only this machine
// reaches: loopback, localhost, or the unspecified address, or none.
func localOnly(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false // not ours to judge: the client that reads it will say
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "" || host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && (ip.Unmap().IsLoopback() || ip.IsUnspecified())
}
