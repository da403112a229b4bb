package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/seedcast/seedcast/web"
	"github.com/seedcast/seedcast/webrtc"
)

// turnFlags are serve's flags for TURN servers that share a secret with the
// node, which then mints each page credentials that expire (the TURN REST
// API, coturn's use-auth-secret).
type turnFlags struct {
	TURNSecret string        `name:"turn-secret" env:"SEEDCAST_TURN_SECRET" placeholder:"SECRET" help:"Secret shared with the TURN servers (coturn's static-auth-secret): each page gets credentials of its own that expire after --turn-ttl, never the secret. Prefer the environment twin: a command line is visible to other users."`
	TURNServer []string      `name:"turn-server" env:"SEEDCAST_TURN_SERVER" placeholder:"URL" help:"TURN server that shares --turn-secret, turn:HOST:PORT or turns:HOST:PORT?transport=tcp (repeatable); --ice-server turn: entries without credentials count too."`
	TURNTTL    time.Duration `name:"turn-ttl" env:"SEEDCAST_TURN_TTL" default:"1h" help:"How long TURN credentials minted for a page last."`
}

// webrtcConfig sets the TURN fields of cfg, naming the flag of a bad value.
func (f *turnFlags) webrtcConfig(cfg *webrtc.Config) error {
	if f.TURNTTL <= 0 {
		return fmt.Errorf("--turn-ttl %v: want a positive duration such as 1h", f.TURNTTL)
	}
	cfg.TURNSecret, cfg.TURNServers, cfg.TURNTTL = f.TURNSecret, f.TURNServer, f.TURNTTL
	// webrtc.New checks the same; here the error names the flags.
	_, err := webrtc.New(*cfg)
	switch {
	case errors.Is(err, webrtc.ErrTURNServer):
		return fmt.Errorf("--turn-server: %w", err)
	case errors.Is(err, webrtc.ErrTURNNoSecret):
		return fmt.Errorf("%w: set --turn-secret (SEEDCAST_TURN_SECRET) to the TURN server's static-auth-secret, or give the server's password as turn://USER:PASSWORD@HOST:PORT in --ice-server for this node alone", err)
	case errors.Is(err, webrtc.ErrTURNNoServer):
		return fmt.Errorf("%w: set --turn-server turn:HOST:PORT (SEEDCAST_TURN_SERVER)", err)
	}
	return err
}

// pageICEServers returns the STUN and TURN servers for one page, with
// TURN credentials minted for it.
func (n *node) pageICEServers() []web.ICEServer {
	var out []web.ICEServer
	for _, s := range n.rtc.ICEServers() {
		out = append(out, web.ICEServer(s))
	}
	return out
}
