package main

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strings"

	"github.com/seedcast/seedcast/swarm"
)

// preflight checks what serve's flags and arguments ask of this machine
// before any part of the node opens a socket, so that a mistake fails at
// once with what to do instead of a node that runs without what was asked.
func (c *serveCmd) preflight(cfg nodeConfig) error {
	if err := checkDataDir(cfg.swarm.DataDir); err != nil {
		return err
	}
	if err := checkInterfaces(c.WebRTCIface); err != nil {
		return err
	}
	return checkArgs(cfg)
}

// checkArgs refuses serve's arguments at once when none of them can be
// served and the data dir keeps nothing from earlier runs: the node would
// have nothing to serve (the demo pilot stands in only when no argument
// is given). Otherwise a bad argument is reported and skipped as the node
// adds the rest (addTorrents).
func checkArgs(cfg nodeConfig) error {
	if len(cfg.paths) == 0 {
		return nil
	}
	var errs []error
	for _, p := range cfg.paths {
		if err := swarm.CheckArg(p); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) < len(cfg.paths) {
		return nil
	}
	kept, err := swarm.HasKept(cfg.swarm.DataDir)
	if err != nil || kept {
		return err
	}
	if len(errs) == 1 {
		return errs[0]
	}
	msgs := make([]string, len(errs))
	for i, err := range errs {
		msgs[i] = err.Error()
	}
	return fmt.Errorf("none of the %d arguments can be served, so there is nothing to serve: %s", len(errs), strings.Join(msgs, "; "))
}

// checkDataDir makes the data dir if need be and checks that this user can
// write there.
func checkDataDir(dir string) error {
	bad := func(err error) error {
		return fmt.Errorf("--data %s (SEEDCAST_DATA): cannot write there: %w; give a folder that user %d can write, or fix its permissions", dir, err, os.Geteuid())
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return bad(err)
	}
	f, err := os.CreateTemp(dir, ".write-check-*")
	if err != nil {
		return bad(err)
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil {
		return bad(err)
	}
	return nil
}

// checkInterfaces checks that every interface WebRTC is told to use
// exists: a name that matches none would leave the node without WebRTC,
// and so without browsers.
func checkInterfaces(names []string) error {
	if len(names) == 0 {
		return nil
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return fmt.Errorf("--webrtc-interface (SEEDCAST_WEBRTC_INTERFACE): listing network interfaces: %w", err)
	}
	var have []string
	for _, ifc := range ifs {
		have = append(have, ifc.Name)
	}
	for _, name := range names {
		if !slices.Contains(have, name) {
			return fmt.Errorf("--webrtc-interface %s (SEEDCAST_WEBRTC_INTERFACE): no such network interface; this machine has %s",
				name, strings.Join(have, ", "))
		}
	}
	return nil
}
