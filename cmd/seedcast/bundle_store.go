package main

import (
	"context"
	"log/slog"

	"github.com/seedcast/seedcast/store"
)

// openStore opens the node's store: SQLite in dataDir, or the PostgreSQL
// database at dsn if set.
func openStore(ctx context.Context, dsn, dataDir string, log *slog.Logger) (keeper, error) {
	st, err := store.Open(ctx, dsn, dataDir, log)
	if err != nil {
		return nil, err
	}
	return st, nil
}
