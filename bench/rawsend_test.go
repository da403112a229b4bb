package bench

import (
	"bufio"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/pion/ice/v4"
	pion "github.com/pion/webrtc/v4"
)

// rawSendEnv names the environment variable that turns the test binary into
// the raw sender of figure (a): TestMain sees it, runs rawSendMain with the
// rawSendConfig it holds as JSON, and exits. The harness starts that child
// with ip netns exec, so every socket pion opens, the UDP mux and the mDNS
// socket included, is in the seed namespace without any setns juggling
// inside pion's goroutines.
const rawSendEnv = "SEEDCAST_BENCH_RAWSEND"

// rawSendConfig is what the raw sender is told to do.
type rawSendConfig struct {
	// UDPPort is the one UDP port of the sender's PeerConnection, as
	// seedcast's --webrtc-port.
	UDPPort int
	// Bytes is how much to send.
	Bytes int64
	// MsgBytes is the size of one send, one SCTP message.
	MsgBytes int
	// HighWaterBytes and LowWaterBytes bound the channel's buffered amount:
	// a send waits while it is above high, until the low threshold callback
	// says it fell to low.
	HighWaterBytes, LowWaterBytes uint64
	// StallTimeout bounds a wait for the buffered amount to drain.
	StallTimeout time.Duration
}

// rawSendMsg is one line of the sender's stdout, or of its stdin.
type rawSendMsg struct {
	Offer  string `json:",omitempty"` // out: the offer, every candidate gathered
	Answer string `json:",omitempty"` // in: the page's answer
	// Out, when the last byte has been handed to the channel:
	Sent   int64   `json:",omitempty"`
	SendMS float64 `json:",omitempty"` // from open to the last send returning
	CPUMS  float64 `json:",omitempty"` // user+system CPU time of the sender process while sending
}

// rawSendMain runs the raw sender: it offers one ordered, reliable data
// channel, prints the offer, reads the answer from stdin, sends cfg.Bytes,
// prints what it did, and then holds the connection open until stdin
// closes, so the receiver can count the last bytes in peace.
func rawSendMain() int {
	var cfg rawSendConfig
	if err := json.Unmarshal([]byte(os.Getenv(rawSendEnv)), &cfg); err != nil {
		fmt.Fprintf(os.Stderr, "rawsend: bad %s: %v\n", rawSendEnv, err)
		return 2
	}
	if err := rawSend(cfg, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "rawsend:", err)
		return 1
	}
	return 0
}

func rawSend(cfg rawSendConfig, stdin io.Reader, stdout io.Writer) error {
	// The SettingEngine choices of seedcast's webrtc package that bear on
	// throughput: every PeerConnection on one UDP port through an ICE UDP
	// mux with 4 MiB socket buffers, detached channels, SCTP's back-off
	// capped, 256 KiB messages accepted. seedcast resolves browsers'
	// .local candidates with a resolver of its own; this sender leaves it
	// to pion (query only). In the test network pion then nominates the
	// peer-reflexive pair that Chromium's checks reveal first, after ICE's
	// 1 s acceptance wait for such pairs: that second shows in (a)'s TTFB,
	// not in its rate, which counts from the open channel.
	mux, err := ice.NewMultiUDPMuxFromPort(cfg.UDPPort,
		ice.UDPMuxFromPortWithNetworks(ice.NetworkTypeUDP4),
		ice.UDPMuxFromPortWithReadBufferSize(4<<20),
		ice.UDPMuxFromPortWithWriteBufferSize(4<<20),
	)
	if err != nil {
		return fmt.Errorf("UDP mux on port %d: %w", cfg.UDPPort, err)
	}
	defer mux.Close()
	var se pion.SettingEngine
	se.DetachDataChannels()
	se.SetICEUDPMux(mux)
	se.SetNetworkTypes([]pion.NetworkType{pion.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeQueryOnly)
	se.SetSCTPRTOMax(2 * time.Second)
	se.SetSCTPMaxMessageSize(256 << 10)
	api := pion.NewAPI(pion.WithSettingEngine(se))

	pc, err := api.NewPeerConnection(pion.Configuration{})
	if err != nil {
		return err
	}
	defer pc.Close()
	dc, err := pc.CreateDataChannel("bench", nil) // ordered and reliable
	if err != nil {
		return err
	}
	opened := make(chan struct{})
	dc.OnOpen(func() { close(opened) })
	failed := make(chan pion.PeerConnectionState, 1)
	pc.OnConnectionStateChange(func(s pion.PeerConnectionState) {
		if s == pion.PeerConnectionStateFailed || s == pion.PeerConnectionStateClosed {
			select {
			case failed <- s:
			default:
			}
		}
	})

	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return err
	}
	gathered := pion.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return err
	}
	select {
	case <-gathered:
	case <-time.After(10 * time.Second):
		return errors.New("ICE gathering did not complete within 10 s")
	}
	enc := json.NewEncoder(stdout)
	if err := enc.Encode(rawSendMsg{Offer: pc.LocalDescription().SDP}); err != nil {
		return err
	}

	in := bufio.NewReader(stdin)
	line, err := in.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	var ans rawSendMsg
	if err := json.Unmarshal(line, &ans); err != nil || ans.Answer == "" {
		return fmt.Errorf("want {\"Answer\": sdp} on stdin, got %.80q (%v)", line, err)
	}
	if err := pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeAnswer, SDP: ans.Answer}); err != nil {
		return fmt.Errorf("applying the answer: %w", err)
	}
	select {
	case <-opened:
	case s := <-failed:
		return fmt.Errorf("peer connection %s before the channel opened", s)
	case <-time.After(30 * time.Second):
		return errors.New("data channel did not open within 30 s of the answer")
	}
	raw, err := dc.Detach()
	if err != nil {
		return err
	}

	drained := make(chan struct{}, 1)
	dc.SetBufferedAmountLowThreshold(cfg.LowWaterBytes)
	dc.OnBufferedAmountLow(func() {
		select {
		case drained <- struct{}{}:
		default:
		}
	})
	// One buffer, sent over and over: the receiver counts bytes, and the
	// sender's CPU goes to the transport, not to making data.
	buf := make([]byte, cfg.MsgBytes)
	rand.Read(buf)
	stall := time.NewTimer(cfg.StallTimeout)
	defer stall.Stop()
	cpu0, err := processCPU()
	if err != nil {
		return err
	}
	start := time.Now()
	var sent int64
	for sent < cfg.Bytes {
		for dc.BufferedAmount() > cfg.HighWaterBytes {
			// A token left from an earlier callback only costs a
			// recheck of the buffered amount.
			stall.Reset(cfg.StallTimeout)
			select {
			case <-drained:
			case s := <-failed:
				return fmt.Errorf("peer connection %s after %d bytes", s, sent)
			case <-stall.C:
				return fmt.Errorf("buffered amount stuck at %d bytes for %v after %d bytes sent", dc.BufferedAmount(), cfg.StallTimeout, sent)
			}
		}
		n := int(min(int64(len(buf)), cfg.Bytes-sent))
		if _, err := raw.Write(buf[:n]); err != nil {
			return fmt.Errorf("write after %d bytes: %w", sent, err)
		}
		sent += int64(n)
	}
	sendMS := float64(time.Since(start)) / float64(time.Millisecond)
	cpu1, err := processCPU()
	if err != nil {
		return err
	}
	if err := enc.Encode(rawSendMsg{Sent: sent, SendMS: sendMS, CPUMS: float64(cpu1-cpu0) / float64(time.Millisecond)}); err != nil {
		return err
	}
	// Hold on until the harness has its count and closes stdin.
	if _, err := io.Copy(io.Discard, in); err != nil && !strings.Contains(err.Error(), "closed") {
		return err
	}
	return nil
}

// processCPU returns the user and system CPU time of this process so far.
func processCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
