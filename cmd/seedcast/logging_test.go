package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestLogFormat(t *testing.T) {
	var b bytes.Buffer
	newLogger(&b, "json", slog.LevelInfo).Info("hashed", "took", 1500)
	newLogger(&b, "json", slog.LevelInfo).Debug("not shown")
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil || m["msg"] != "hashed" || m["took"] != 1500.0 {
		t.Errorf("json log %q: %v", b.String(), err)
	}
	b.Reset()
	newLogger(&b, "text", slog.LevelDebug).Debug("hashed", "took", 1500)
	if !strings.Contains(b.String(), "msg=hashed took=1500") {
		t.Errorf("text log %q", b.String())
	}
}
