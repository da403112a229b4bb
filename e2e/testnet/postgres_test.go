package testnet

import (
	"database/sql"
	"errors"
	"os"
	"testing"
)

// TestPostgres checks the throwaway server: databases that take writes, are
// kept apart, and vanish with the cluster's directory when the test ends.
func TestPostgres(t *testing.T) {
	var dir string
	t.Run("server", func(t *testing.T) {
		pg := NewPostgres(t)
		dir = pg.dir
		a, b := pg.CreateDB(t), pg.CreateDB(t)
		if a == b {
			t.Fatalf("CreateDB twice gave %s both times", a)
		}
		dbA := openPG(t, a)
		if _, err := dbA.ExecContext(t.Context(), `CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('a')`); err != nil {
			t.Fatal(err)
		}
		var v string
		if err := dbA.QueryRowContext(t.Context(), `SELECT v FROM t`).Scan(&v); err != nil || v != "a" {
			t.Fatalf("SELECT v = %q, %v; want a", v, err)
		}
		var n int
		err := openPG(t, b).QueryRowContext(t.Context(), `SELECT COUNT(*) FROM t`).Scan(&n)
		if err == nil {
			t.Fatalf("table t of one database is in the other too (%d rows)", n)
		}
		var user string
		if err := dbA.QueryRowContext(t.Context(), `SELECT current_user`).Scan(&user); err != nil || user != "postgres" {
			t.Fatalf("current_user = %q, %v; want postgres", user, err)
		}
	})
	if dir == "" {
		return // skipped
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cluster directory %s left behind: %v", dir, err)
	}
}

func openPG(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
