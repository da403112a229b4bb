package swarm

import (
	"context"
	"errors"
	"log/slog"
)

// quietCancels is anacrolix's log handler: a read that ends because its
// reader went away (a viewer closed the page, skipped ahead, or the node
// stops) is logged at debug level, not as the error anacrolix calls it
// (v1.59.1's Reader logs "initial read failed" with context.Canceled at
// error level, three lines for every stream a browser drops).
type quietCancels struct{ slog.Handler }

func (h quietCancels) Handle(ctx context.Context, r slog.Record) error {
	if r.Level > slog.LevelDebug && canceled(r) {
		if !h.Handler.Enabled(ctx, slog.LevelDebug) {
			return nil
		}
		q := slog.NewRecord(r.Time, slog.LevelDebug, r.Message, r.PC)
		r.Attrs(func(a slog.Attr) bool { q.AddAttrs(a); return true })
		r = q
	}
	return h.Handler.Handle(ctx, r)
}

func (h quietCancels) WithAttrs(as []slog.Attr) slog.Handler {
	return quietCancels{h.Handler.WithAttrs(as)}
}

func (h quietCancels) WithGroup(name string) slog.Handler {
	return quietCancels{h.Handler.WithGroup(name)}
}

// canceled reports whether r's err is a context's cancellation.
func canceled(r slog.Record) bool {
	found := false
	r.Attrs(func(a slog.Attr) bool {
		if err, ok := a.Value.Any().(error); ok && a.Key == "err" && errors.Is(err, context.Canceled) {
			found = true
			return false
		}
		return true
	})
	return found
}
