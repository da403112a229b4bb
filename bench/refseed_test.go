package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"

	"github.com/seedcast/seedcast/e2e/testnet"
)

// refSeedEnv, when set, makes the test binary the reference seeder of the
// playback table instead of running tests: an anacrolix/torrent client with
// its defaults, built-in WebTorrent included, seeding one torrent. Its value
// is a refSeedConfig in JSON.
const refSeedEnv = "SEEDCAST_BENCH_REFSEED"

// refSeedReady is the line the reference seeder prints once every piece is
// verified and it announces.
const refSeedReady = "refseed: seeding"

// refSeedConfig is what the reference seeder seeds.
type refSeedConfig struct {
	// Torrent is the path of the .torrent; Dir holds its files.
	Torrent, Dir string
}

// refSeedMain runs the reference seeder until SIGINT or SIGTERM.
func refSeedMain() int {
	var cfg refSeedConfig
	if err := json.Unmarshal([]byte(os.Getenv(refSeedEnv)), &cfg); err != nil {
		fmt.Fprintf(os.Stderr, "refseed: bad %s: %v\n", refSeedEnv, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := refSeed(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "refseed:", err)
		return 1
	}
	return 0
}

// refSeed seeds the torrent with anacrolix/torrent's default client
// configuration but for what keeps it inside the test network: no DHT, no
// port forwarding, no IPv6, and no ICE servers (the default list is empty
// already). Its WebTorrent announces to the ws:// trackers of the torrent.
func refSeed(ctx context.Context, cfg refSeedConfig) error {
	cc := torrent.NewDefaultClientConfig()
	cc.DataDir = cfg.Dir
	cc.DefaultStorage = storage.NewFileOpts(storage.NewFileClientOpts{
		ClientBaseDir:   cfg.Dir,
		PieceCompletion: storage.NewMapPieceCompletion(),
	})
	cc.Seed = true
	cc.NoDHT = true
	cc.NoDefaultPortForwarding = true
	cc.DisableIPv6 = true
	cc.ListenPort = 0
	cc.ICEServerList, cc.ICEServers = nil, nil
	cl, err := torrent.NewClient(cc)
	if err != nil {
		return err
	}
	defer cl.Close()
	mi, err := metainfo.LoadFromFile(cfg.Torrent)
	if err != nil {
		return err
	}
	t, err := cl.AddTorrent(mi)
	if err != nil {
		return err
	}
	<-t.GotInfo()
	if err := t.VerifyDataContext(ctx); err != nil {
		return fmt.Errorf("verifying %s: %w", t.Name(), err)
	}
	// The client marks the torrent complete a moment after the last check.
	select {
	case <-t.Complete().On():
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s in %s does not match the torrent: %d of %d bytes verified", t.Name(), cfg.Dir, t.BytesCompleted(), t.Length())
	case <-ctx.Done():
		return ctx.Err()
	}
	fmt.Printf("%s %s (%s)\n", refSeedReady, t.Name(), t.InfoHash().HexString())
	<-ctx.Done()
	return nil
}

// startRefSeed starts the reference seeder in the seed host and waits until
// it seeds.
func startRefSeed(ctx context.Context, b *testing.B, e *env, cfg refSeedConfig) *testnet.Process {
	js, err := json.Marshal(cfg)
	if err != nil {
		b.Fatal(err)
	}
	cmd := e.net.Command(ctx, "seed", e.self, "-test.run=^$")
	cmd.Env = append(os.Environ(), refSeedEnv+"="+string(js))
	p := startProcess(b, "anacrolix seeder", cmd)
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err = testnet.Poll(wctx, p, func(context.Context) error {
		if !strings.Contains(p.Output().String(), refSeedReady) {
			return errors.New("not seeding yet")
		}
		return nil
	})
	if err != nil {
		b.Fatalf("the reference seeder: %v", err)
	}
	return p
}
