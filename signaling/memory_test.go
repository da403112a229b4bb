package signaling

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/seedcast/seedcast/infohash"
)

// idleClients is how many sockets TestIdleSocketMemory opens.
const idleClients = 2000

// TestIdleSocketMemory measures what an idle WebSocket costs the tracker:
// a child process (this test binary again) opens idleClients sockets,
// each announcing one torrent of 20 with 5 offers, then sits; the
// tracker's heap and stacks grow by at most maxIdleSocketBytes a socket.
// npm bittorrent-tracker holds 7.9 to 8.9 KB an idle socket measured the
// same way (issue 12). On Linux an idle socket has no goroutine (it
// parks, park_linux.go): about 2.5 KB, its conn, reader, socket and peer,
// with or without the race detector.
func TestIdleSocketMemory(t *testing.T) {
	if os.Getenv("SEEDCAST_IDLE_CLIENTS_URL") != "" {
		idleClientsMain(os.Getenv("SEEDCAST_IDLE_CLIENTS_URL"))
		return
	}
	maxIdleSocketBytes := 3 << 10
	switch {
	case runtime.GOOS != "linux" && raceBuild:
		// Each socket keeps its read pump, whose stack the race
		// detector's runtime doubles.
		maxIdleSocketBytes = 14 << 10
	case runtime.GOOS != "linux":
		maxIdleSocketBytes = 8 << 10
	}
	srv, err := New(Config{MaxSocketsPerIP: idleClients}) // all from loopback
	if err != nil {
		t.Fatal(err)
	}
	url := "ws" + strings.TrimPrefix(serve(t, srv), "http") + "/announce"
	before := memInUse()
	cmd := exec.Command(os.Args[0], "-test.run", "^TestIdleSocketMemory$")
	cmd.Env = append(os.Environ(), "SEEDCAST_IDLE_CLIENTS_URL="+url)
	stdout, _ := cmd.StdoutPipe()
	stdin, _ := cmd.StdinPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ready") {
		t.Fatalf("the clients' process said %q, %v", line, err)
	}
	time.Sleep(time.Second) // replies and relayed offers written
	if n := srv.stats.WSMessages.Load(); n != idleClients {
		t.Fatalf("the tracker read %d messages, want %d announces", n, idleClients)
	}
	after := memInUse()
	per := float64(after-before) / idleClients
	t.Logf("%d idle sockets: heap and stacks %.1f MB → %.1f MB, %.0f bytes a socket", idleClients, float64(before)/1e6, float64(after)/1e6, per)
	if per > float64(maxIdleSocketBytes) {
		t.Errorf("%.0f bytes an idle socket; want at most %d", per, maxIdleSocketBytes)
	}
}

// memInUse is the heap and goroutine stacks in use after a collection.
func memInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

// idleClientsMain opens the sockets of TestIdleSocketMemory, says "ready"
// and keeps them, reading what comes, until stdin closes.
func idleClientsMain(url string) {
	var conns []*websocket.Conn
	for i := range idleClients {
		c, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, "dial:", err)
			os.Exit(1)
		}
		var offers []any
		for j := range 5 {
			offers = append(offers, map[string]any{"offer": map[string]string{"type": "offer", "sdp": strings.Repeat("a", 1500)},
				"offer_id": ID{byte(j), byte(i), byte(i >> 8)}.binaryString()})
		}
		m := map[string]any{"action": "announce", "info_hash": ID(infohash.Hash{byte(i % 20)}).binaryString(),
			"peer_id": ID{'i', byte(i), byte(i >> 8)}.binaryString(), "left": 1, "numwant": 5, "offers": offers}
		b, _ := json.Marshal(m)
		if err := c.WriteMessage(websocket.TextMessage, b); err != nil {
			fmt.Fprintln(os.Stderr, "announce:", err)
			os.Exit(1)
		}
		go func() {
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					return
				}
			}
		}()
		conns = append(conns, c)
	}
	fmt.Println("ready " + strconv.Itoa(len(conns)))
	bufio.NewReader(os.Stdin).ReadString('\n')
	for _, c := range conns {
		c.Close()
	}
}
