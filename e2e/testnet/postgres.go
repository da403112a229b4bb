package testnet

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// postgresReady bounds initdb and the server's start: a cluster of the
// Debian package starts in about a second on the 2-core CI machine.
const postgresReady = 2 * time.Minute

// Postgres is a throwaway PostgreSQL server of Debian's postgresql package,
// started by NewPostgres: its own cluster in a temporary directory,
// listening only on a Unix socket there (no TCP port to collide on, and
// reachable from any network namespace of this machine, since a socket is
// a file), with trust authentication for its superuser "postgres".
type Postgres struct {
	dir   string // the cluster's directory: data/ and the socket
	admin *sql.DB
	n     atomic.Int64
}

// StartPostgres starts a PostgreSQL server for tb and returns the URL of an
// empty database on it. Both go away when tb ends. Locally it skips tb if
// PostgreSQL is not installed; under CI=true it fails it.
func StartPostgres(tb testing.TB) (dsn string) {
	tb.Helper()
	return NewPostgres(tb).CreateDB(tb)
}

// NewPostgres starts a PostgreSQL server that stops, its cluster removed,
// when tb ends; its databases come from CreateDB. Locally it skips tb if
// PostgreSQL is not installed; under CI=true it fails it. PostgreSQL
// refuses to run as root, so a test running as root runs it as the user
// "postgres" that the package creates (or "nobody").
func NewPostgres(tb testing.TB) *Postgres {
	tb.Helper()
	bin := postgresBin(tb)
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		cred = unprivileged(tb)
	}
	// Not tb.TempDir: its parent is private to root, and the server's
	// user must reach the socket and data dirs. Under /tmp unless TMPDIR
	// is usable: a Unix socket's path has at most 107 bytes, and another
	// user may not enter a private TMPDIR.
	parent := os.TempDir()
	if cred != nil || len(parent) > 64 {
		parent = "/tmp"
	}
	dir, err := os.MkdirTemp(parent, "seedcast-pg-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			tb.Logf("postgres: remove cluster: %v", err)
		}
	})
	if cred != nil {
		if err := os.Chmod(dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			tb.Fatal(err)
		}
	}
	data := filepath.Join(dir, "data")
	// --no-sync, and fsync off below: a throwaway cluster need not
	// survive a power cut, and syncing costs seconds on a shared disk.
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync")
	initdb.Dir = dir // the server's user may not enter the test's directory
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	tb.Logf("postgres: %s", ShellQuote(initdb.Args))
	if out, err := initdb.CombinedOutput(); err != nil {
		tb.Fatalf("postgres: initdb: %v\n%s", err, out)
	}
	server := exec.Command(filepath.Join(bin, "postgres"), "-D", data,
		"-k", dir, "-c", "listen_addresses=", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=100")
	server.Dir = dir
	server.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	p := &Postgres{dir: dir}
	// Start stops the server at cleanup with SIGINT, PostgreSQL's fast
	// shutdown: it ends the sessions and exits at once.
	proc := Start(tb, "postgres", server)
	p.admin, err = sql.Open("pgx", p.URL("postgres"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.admin.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), postgresReady)
	defer cancel()
	if err := Poll(ctx, proc, p.admin.PingContext); err != nil {
		tb.Fatalf("postgres: not ready: %v", err)
	}
	return p
}

// URL returns the URL of the database db on the server.
func (p *Postgres) URL(db string) string {
	return "postgres://postgres@/" + url.PathEscape(db) + "?host=" + url.QueryEscape(p.dir)
}

// CreateDB creates an empty database, dropped when tb ends, and returns its
// URL.
func (p *Postgres) CreateDB(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("db%d", p.n.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Not a parameter: CREATE DATABASE takes none, and the name is ours.
	if _, err := p.admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("postgres: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// FORCE ends sessions a failed test left open (PostgreSQL 13+).
		if _, err := p.admin.ExecContext(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			tb.Logf("postgres: drop database %s: %v", name, err)
		}
	})
	return p.URL(name)
}

// postgresBin returns the bin directory of the newest PostgreSQL that
// Debian's packages installed (/usr/lib/postgresql/VERSION/bin).
func postgresBin(tb testing.TB) string {
	tb.Helper()
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	slices.SortFunc(found, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(a))))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(b))))
		return va - vb
	})
	if len(found) == 0 {
		if InCI() {
			tb.Fatal("PostgreSQL not found under /usr/lib/postgresql but CI=true: .ci/run must install postgresql")
		}
		tb.Skip("skipping: PostgreSQL not installed (apt-get install postgresql; CI installs it, see .ci/run)")
	}
	return filepath.Dir(found[len(found)-1])
}

// unprivileged returns the credentials of the user to run PostgreSQL as
// when the test runs as root.
func unprivileged(tb testing.TB) *syscall.Credential {
	tb.Helper()
	var tried []string
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			tried = append(tried, err.Error())
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			tried = append(tried, fmt.Sprintf("user %s: uid %q, gid %q", name, u.Uid, u.Gid))
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	tb.Fatalf("postgres: PostgreSQL refuses to run as root and no user to run it as: %s", strings.Join(tried, "; "))
	return nil
}
