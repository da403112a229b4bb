package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// The schema is the numbered SQL files of migrations/<dialect>/, applied in
// order: NNNN_name.sql, numbered from 0001 without gaps. A change to the
// schema is a new file in both dialects' folders, never an edit of one
// that has shipped. versions.sql creates the table of versions applied.
//
// The migrator is this file rather than a migration library: goose, the
// one considered, lists the drivers of ten databases in its go.mod, and
// through Go's module graph that alone raised the versions of modules the
// rest of seedcast builds with (OpenTelemetry, x/tools, x/exp) and
// compiled more of them into the binary. What seedcast needs is a few
// lines: apply the files not yet applied, in one transaction, under a
// lock, and refuse a schema newer than the binary.
//
//go:embed migrations
var migrationFS embed.FS

// migration is one numbered SQL file.
type migration struct {
	version int64
	name    string // the file name, for the versions table and errors
	sql     string
}

// migrations returns the numbered migrations of the dialect, in order.
func migrations(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		if e.Name() == "versions.sql" {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || len(num) != 4 || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("store: migration %s/%s is not named NNNN_name.sql", dir, e.Name())
		}
		// fs.ReadDir sorts by name, so the versions come in order.
		if want := int64(len(ms) + 1); v != want {
			return nil, fmt.Errorf("store: migration %s/%s: want version %04d next", dir, e.Name(), want)
		}
		b, err := fs.ReadFile(migrationFS, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	return ms, nil
}

// migrate applies the migrations the database lacks, all in one
// transaction, and returns the schema versions before and after. Under
// PostgreSQL it first takes an advisory lock, so that nodes starting
// together on one database migrate one after the other; DDL is
// transactional in both databases, so a failed migration leaves the schema
// as it was.
func (s *Store) migrate(ctx context.Context) (from, to int64, err error) {
	ms, err := migrations(s.d.name)
	if err != nil {
		return 0, 0, err
	}
	versions, err := fs.ReadFile(migrationFS, path.Join("migrations", s.d.name, "versions.sql"))
	if err != nil {
		return 0, 0, err
	}
	latest := ms[len(ms)-1].version
	err = s.tx(ctx, func(tx querier) error {
		if s.d.lock != "" {
			if _, err := tx.ExecContext(ctx, s.d.lock); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, string(versions)); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&from); err != nil {
			return err
		}
		if from > latest {
			return fmt.Errorf("%w: version %d, and this seedcast knows up to %d; run a newer seedcast, or give it a database of its own", ErrSchemaTooNew, from, latest)
		}
		for _, m := range ms[from:] {
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_us) VALUES ($1, $2, $3)`,
				m.version, m.name, us(s.now())); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
		}
		return nil
	})
	if err != nil {
		return from, from, fmt.Errorf("store: migrate %s: %w", s.where, err)
	}
	return from, latest, nil
}
