package testnet

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Film is a film made by MakeFilm.
type Film struct {
	File
	// Seconds is its duration, BitRate its overall bitrate in bit/s, as
	// ffprobe reads them; Made is how long ffmpeg took.
	Seconds, BitRate float64
	Made             time.Duration
}

// MakeFilm has ffmpeg make a film of sec seconds at about kbit kbit/s into
// film.mp4 in a temporary directory of tb: 640×360 at 24 fps of ffmpeg's
// testsrc2 (a moving pattern with a clock) with a sine tone, H.264 at the
// veryfast preset and AAC, faststart so that a player has the index first.
// Without ffmpeg it skips tb locally and fails it under CI.
func MakeFilm(ctx context.Context, tb testing.TB, sec, kbit int) Film {
	tb.Helper()
	ffmpeg := RequireTool(tb, "ffmpeg")
	const audioKbit = 96
	video := max(100, kbit-audioKbit)
	path := filepath.Join(tb.TempDir(), "film.mp4")
	start := time.Now()
	// One keyframe every 2 s (48 frames), and a VBV buffer that keeps
	// the rate near the target all along, as a streaming encode is.
	cmd := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=24",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-t", strconv.Itoa(sec),
		"-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "48",
		"-b:v", fmt.Sprintf("%dk", video), "-maxrate", fmt.Sprintf("%dk", video*115/100), "-bufsize", fmt.Sprintf("%dk", video*2),
		"-c:a", "aac", "-b:a", fmt.Sprintf("%dk", audioKbit),
		"-movflags", "+faststart", path)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	f := Film{Made: time.Since(start)}
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-show_entries", "format=duration,bit_rate", "-of", "json", path).Output()
	if err != nil {
		tb.Fatalf("ffprobe %s: %v", path, err)
	}
	var probe struct {
		Format struct {
			Duration string `json:"duration"`
			BitRate  string `json:"bit_rate"`
		} `json:"format"`
	}
	if err := json.Unmarshal(out, &probe); err != nil {
		tb.Fatalf("ffprobe %s: %v in %q", path, err, out)
	}
	f.Seconds, _ = strconv.ParseFloat(probe.Format.Duration, 64)
	f.BitRate, _ = strconv.ParseFloat(probe.Format.BitRate, 64)
	st, err := os.Stat(path)
	if err != nil {
		tb.Fatal(err)
	}
	if f.Seconds <= 0 || f.BitRate <= 0 {
		tb.Fatalf("ffprobe %s: duration %q, bit rate %q", path, probe.Format.Duration, probe.Format.BitRate)
	}
	f.File = File{Path: path, Size: st.Size()}
	return f
}
