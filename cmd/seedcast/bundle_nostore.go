//go:build !storewired

package main

import (
	"context"
	"errors"
	"log/slog"
)

// openStore stands for bundle_store.go's until the store package has
// store.Open: then this file goes, and bundle_store.go loses its build
// constraint.
func openStore(context.Context, string, string, *slog.Logger) (keeper, error) {
	return nil, errors.New("this seedcast has no store to keep a bundle's keys in (SQLite, PostgreSQL), so it makes no bundles; use a build of seedcast with bundles")
}
