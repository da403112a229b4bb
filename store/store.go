package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// DBFile is the name of the SQLite database that Open keeps in the data dir
// when no PostgreSQL URL is given.
const DBFile = "seedcast.db"

// openTimeout bounds connecting and migrating in Open when its context has
// no deadline: a PostgreSQL server that does not answer should stop the node
// with an error, not hang it.
const openTimeout = 30 * time.Second

// sqliteBusy is how long a SQLite connection waits for another writer (of
// this process or another sharing the file) before it gives up with
// SQLITE_BUSY. Writes here are a few rows each.
const sqliteBusy = 10 * time.Second

// A node's share of a PostgreSQL server: its default max_connections is
// 100, and several nodes may share it. The store's queries are short, so a
// node waits little for a connection; idle ones are let go so that a quiet
// node holds few.
const (
	pgMaxConns     = 16
	pgMaxIdleConns = 4
	pgMaxIdleTime  = 5 * time.Minute
)

// sqlitePragmas are applied by modernc.org/sqlite to every connection it
// opens, in order: the busy timeout first, since switching a new file to
// write-ahead logging takes a lock that another connection may hold;
// write-ahead logging, so that readers never wait for the writer, with
// synchronous=NORMAL, which is durable in WAL mode but for the last
// commits before a power cut; foreign keys (off by default). _txlock
// makes every transaction BEGIN IMMEDIATE, taking the write lock at once:
// a deferred transaction that reads and then writes fails with
// SQLITE_BUSY_SNAPSHOT, without waiting, when another writer got there
// first.
var sqlitePragmas = fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate", sqliteBusy.Milliseconds())

// dialect is what differs between the two databases. The queries of the
// store are the same for both: SQLite reads $1, $2, … as PostgreSQL does.
type dialect struct {
	name string // "sqlite" or "postgres": the folder of its migrations
	// lock is run first in the migrating transaction, so that nodes
	// starting together on one database migrate one at a time. SQLite
	// needs none: its transactions start with the write lock (_txlock).
	lock string
}

var (
	sqliteDialect = &dialect{name: "sqlite"}
	// The advisory lock's key is arbitrary but fixed: the first 8 bytes of
	// "seedcast" in ASCII.
	postgresDialect = &dialect{name: "postgres", lock: "SELECT pg_advisory_xact_lock(7234315237574451572)"}
)

// Store keeps the state of bundles and their gates in SQLite or
// PostgreSQL. Its methods may be called from several goroutines, and
// several Stores, of one process or of several nodes, may share one
// database.
type Store struct {
	db    *sql.DB
	d     *dialect
	log   *slog.Logger
	where string // the database for errors and logs: a path, or a URL without its password

	// now is the clock of the times the store sets itself (token expiry,
	// defaults for zero times); tests move it.
	now func() time.Time

	secretMu sync.Mutex
	secret   []byte // the session secret once read

	closeOnce sync.Once
	closeErr  error
}

// Open opens the store and brings its schema up to date. An empty dsn means
// SQLite in dataDir/seedcast.db (dataDir is created if need be); a
// postgres:// or postgresql:// URL means that PostgreSQL database, which
// several nodes may share. Open refuses a database whose schema is newer
// than this binary knows (ErrSchemaTooNew). Errors and logs never show the
// URL's password. log may be nil.
func Open(ctx context.Context, dsn, dataDir string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, openTimeout)
		defer cancel()
	}
	s := &Store{log: log.With("component", "store"), now: time.Now}
	var hint, password string
	switch {
	case dsn == "":
		if dataDir == "" {
			return nil, errors.New("store: no database: give a data dir (--data) for SQLite or a postgres:// URL (--db)")
		}
		dir, err := filepath.Abs(dataDir)
		if err != nil {
			return nil, fmt.Errorf("store: data dir %s: %w", dataDir, err)
		}
		// modernc.org/sqlite takes everything after the first '?' as
		// its options.
		if strings.ContainsRune(dir, '?') {
			return nil, fmt.Errorf("store: data dir %q has a '?', which SQLite file names cannot hold; choose another --data", dir)
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("store: %w; check --data", err)
		}
		s.d, s.where, hint = sqliteDialect, filepath.Join(dir, DBFile), "check --data"
		s.db, err = sql.Open("sqlite", s.where+"?"+sqlitePragmas)
		if err != nil {
			return nil, fmt.Errorf("store: open %s: %w; %s", s.where, err, hint)
		}
	case hasScheme(dsn, "postgres") || hasScheme(dsn, "postgresql"):
		s.d, s.where, password = postgresDialect, redactURL(dsn), urlPassword(dsn)
		hint = "check --db and that the PostgreSQL server is running and reachable"
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return nil, redact(fmt.Errorf("store: %s: %w; check --db", s.where, err), password)
		}
		s.db = stdlib.OpenDB(*cfg)
		s.db.SetMaxOpenConns(pgMaxConns)
		s.db.SetMaxIdleConns(pgMaxIdleConns)
		s.db.SetConnMaxIdleTime(pgMaxIdleTime)
	default:
		scheme, _, ok := strings.Cut(dsn, "://")
		if !ok {
			scheme = "a string without a scheme"
		} else {
			scheme = fmt.Sprintf("%q", scheme+"://…")
		}
		// The rest of dsn is not shown: it may hold a password.
		return nil, fmt.Errorf("store: --db is %s; give a postgres://USER:PASSWORD@HOST:PORT/DATABASE or postgresql://… URL, or leave it empty for SQLite in --data", scheme)
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, redact(fmt.Errorf("store: open %s: %w; %s", s.where, err, hint), password)
	}
	from, to, err := s.migrate(ctx)
	if err != nil {
		s.db.Close()
		return nil, redact(err, password)
	}
	if from != to {
		s.log.Info("schema migrated", "db", s.where, "from", from, "to", to)
	}
	s.log.Info("store opened", "db", s.where, "schema_version", to)
	return s, nil
}

// Close closes the database. It may be called more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.db.Close() })
	return s.closeErr
}

// String returns where the store keeps its state: the SQLite file, or the
// PostgreSQL URL without its password.
func (s *Store) String() string { return s.where }

// hasScheme reports whether dsn is a URL of the scheme. Lower case only,
// as pgx reads it.
func hasScheme(dsn, scheme string) bool { return strings.HasPrefix(dsn, scheme+"://") }

// redactURL returns dsn with the password of its user info and of its
// password query parameter (which pgx also reads) replaced by "xxxxx".
func redactURL(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		// url.Error would quote dsn whole.
		scheme, _, _ := strings.Cut(dsn, "://")
		return scheme + "://(unparsable URL)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// urlPassword returns the password that dsn carries, or "".
func urlPassword(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return ""
	}
	if p, ok := u.User.Password(); ok && p != "" {
		return p
	}
	return u.Query().Get("password")
}

// redact hides password in err's message, should a driver have quoted the
// URL it was given; errors.Is and errors.As still see the error beneath.
func redact(err error, password string) error {
	if err == nil || password == "" || !strings.Contains(err.Error(), password) {
		return err
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), password, "xxxxx"), err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// tx runs fn in a transaction and commits it if fn returns nil.
func (s *Store) tx(ctx context.Context, fn func(querier) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// exists reports whether the bundle id is in the store.
func exists(ctx context.Context, q querier, id string) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM bundles WHERE id = $1`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// mustExist returns ErrNotFound, wrapped, if there is no bundle id.
func mustExist(ctx context.Context, q querier, id string) error {
	ok, err := exists(ctx, q, id)
	if err != nil {
		return err
	}
	if !ok {
		return notFound(id)
	}
	return nil
}

func notFound(id string) error { return fmt.Errorf("store: bundle %q: %w", id, ErrNotFound) }

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// us and fromUS convert times to and from the *_us columns: microseconds
// since the Unix epoch. Times come back in UTC.
func us(t time.Time) int64 { return t.UnixMicro() }

func fromUS(v int64) time.Time { return time.UnixMicro(v).UTC() }
