package swarm

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestQuietCancels(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo} {
		var buf bytes.Buffer
		log := slog.New(quietCancels{slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level})}).With("component", "anacrolix")
		log.Error("initial read failed", "err", context.Canceled)
		log.Error("read failed", "err", errors.New("disk on fire"))
		out := buf.String()
		if !strings.Contains(out, "level=ERROR msg=\"read failed\" component=anacrolix err=\"disk on fire\"") {
			t.Errorf("at %v, a real error is not logged as one: %q", level, out)
		}
		wantCanceled := level == slog.LevelDebug
		if got := strings.Contains(out, "level=DEBUG msg=\"initial read failed\" component=anacrolix err=\"context canceled\""); got != wantCanceled {
			t.Errorf("at %v, a canceled read logged at debug: %v, want %v: %q", level, got, wantCanceled, out)
		}
		if strings.Contains(out, "level=ERROR msg=\"initial read failed\"") {
			t.Errorf("at %v, a canceled read is logged as an error: %q", level, out)
		}
	}
}
