package store

import (
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seedcast/seedcast/e2e/testnet"
	"github.com/seedcast/seedcast/infohash"
)

// t0 is the test clock's start; a whole number of microseconds, as the
// store keeps times.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)

// pgPassword goes into every PostgreSQL URL of the tests (the throwaway
// server trusts its socket, so any password works) so that they can check
// that it shows in no log line.
const pgPassword = "hunter2-secret"

// backend is one empty database of one behaviour test, which open opens
// as often as the test wants, as restarts or other nodes would.
type backend struct {
	kind  string // "sqlite" or "postgres"
	dir   string // the data dir (SQLite)
	dsn   string // the URL (PostgreSQL)
	clock *clock
	logs  *testnet.Buffer
}

func (b *backend) openErr(t *testing.T) (*Store, error) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := Open(t.Context(), b.dsn, b.dir, log)
	if err != nil {
		return nil, err
	}
	s.now = b.clock.Now
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, nil
}

func (b *backend) open(t *testing.T) *Store {
	t.Helper()
	s, err := b.openErr(t)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// behaviours run against SQLite and PostgreSQL alike, each on an empty
// database of its own.
var behaviours = []struct {
	name string
	run  func(t *testing.T, b *backend)
}{
	{"migrate from empty", testMigrate},
	{"migrate on several nodes at once", testMigrateConcurrently},
	{"reopen keeps state", testReopen},
	{"newer schema refused", testSchemaTooNew},
	{"bundle round trip", testBundleRoundTrip},
	{"bundle replaced", testBundleReplaced},
	{"unknown bundle", testUnknownBundle},
	{"info hash of another bundle", testInfoHashTaken},
	{"emails", testEmails},
	{"email tokens expire", testEmailTokenExpiry},
	{"payment replayed", testPaymentReplayed},
	{"payment replayed on two nodes", testPaymentTwoNodes},
	{"totals", testTotals},
	{"unlocks expire", testUnlocks},
	{"secret", testSecret},
	{"downloads", testDownloads},
	{"validation", testValidation},
}

func TestStore(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			var pg *testnet.Postgres
			if kind == "postgres" {
				pg = testnet.NewPostgres(t)
			}
			for _, tc := range behaviours {
				t.Run(tc.name, func(t *testing.T) {
					b := &backend{kind: kind, clock: &clock{t: t0}, logs: &testnet.Buffer{}}
					if pg != nil {
						u, err := url.Parse(pg.CreateDB(t))
						if err != nil {
							t.Fatal(err)
						}
						u.User = url.UserPassword("postgres", pgPassword)
						b.dsn = u.String()
					} else {
						b.dir = t.TempDir()
					}
					tc.run(t, b)
					if strings.Contains(b.logs.String(), pgPassword) {
						t.Errorf("the password of the URL is in the log:\n%s", b.logs)
					}
				})
			}
		})
	}
}

// tables are the tables of the schema, whose emptiness after migrating
// tells that each exists.
var tables = []string{"bundles", "bundle_files", "file_keys", "emails", "email_tokens", "payments", "unlocks", "downloads", "secrets"}

func testMigrate(t *testing.T, b *backend) {
	s := b.open(t)
	ms, err := migrations(s.d.name)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := s.db.QueryContext(t.Context(), `SELECT version, name FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var v int64
		var name string
		if err := rows.Scan(&v, &name); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d %s", v, name))
	}
	rows.Close()
	var want []string
	for _, m := range ms {
		want = append(want, fmt.Sprintf("%d %s", m.version, m.name))
	}
	if !slices.Equal(got, want) {
		t.Errorf("schema_migrations = %q, want %q", got, want)
	}
	for _, table := range tables {
		var n int
		if err := s.db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil || n != 0 {
			t.Errorf("table %s: %d rows, %v; want an empty table", table, n, err)
		}
	}
	if b.kind == "sqlite" {
		for pragma, want := range map[string]string{"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "10000"} {
			var got string
			if err := s.db.QueryRowContext(t.Context(), `PRAGMA `+pragma).Scan(&got); err != nil || got != want {
				t.Errorf("PRAGMA %s = %q, %v; want %q", pragma, got, err, want)
			}
		}
	}
	// Opening again applies nothing twice.
	s.Close()
	s = b.open(t)
	var n int
	if err := s.db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(ms) {
		t.Errorf("after reopening, %d rows in schema_migrations (%v), want %d", n, err, len(ms))
	}
}

// testMigrateConcurrently opens one empty database from several Stores at
// once, as nodes sharing PostgreSQL would on their first start: each
// migration is applied once and every Open succeeds.
func testMigrateConcurrently(t *testing.T, b *backend) {
	const nodes = 4
	stores := make([]*Store, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() { stores[i], errs[i] = Open(t.Context(), b.dsn, b.dir, nil) })
	}
	wg.Wait()
	for i, s := range stores {
		if errs[i] != nil {
			t.Errorf("Open %d: %v", i, errs[i])
			continue
		}
		defer s.Close()
	}
	if t.Failed() {
		return
	}
	ms, err := migrations(stores[0].d.name)
	must(t, err)
	var n int
	must(t, stores[0].db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM schema_migrations`).Scan(&n))
	if n != len(ms) {
		t.Errorf("%d rows in schema_migrations, want %d", n, len(ms))
	}
}

func testReopen(t *testing.T, b *backend) {
	ctx := t.Context()
	s := b.open(t)
	film, keys := testBundle("children")
	must(t, s.PutBundle(ctx, film, keys))
	_, err := s.AddEmail(ctx, Email{BundleID: "children", Address: "ann@example.com", Consent: "Send me news", Confirmed: true})
	must(t, err)
	must(t, s.RecordPayment(ctx, Payment{EventID: "evt_1", BundleID: "children", Money: Money{995, "USD"}, Session: "sess-a"}))
	must(t, s.Grant(ctx, Unlock{Session: "sess-a", BundleID: "children", Gate: GatePrice, Expires: t0.Add(time.Hour)}))
	must(t, s.CountDownload(ctx, "children", film.Files[0].Path))
	secret, err := s.Secret(ctx)
	must(t, err)
	must(t, s.Close())

	s = b.open(t)
	got, err := s.Bundle(ctx, "children")
	must(t, err)
	if !reflect.DeepEqual(got, film) {
		t.Errorf("bundle after reopening:\n got %+v\nwant %+v", got, film)
	}
	gotKeys, err := s.Keys(ctx, "children")
	must(t, err)
	if !reflect.DeepEqual(gotKeys, keys) {
		t.Errorf("keys after reopening differ")
	}
	es, err := s.Emails(ctx, "children")
	must(t, err)
	if len(es) != 1 || es[0].Address != "ann@example.com" || !es[0].Confirmed {
		t.Errorf("emails after reopening: %+v", es)
	}
	tot, err := s.Totals(ctx, "children")
	must(t, err)
	if want := (Totals{1, Money{995, "USD"}}); tot != want {
		t.Errorf("totals after reopening: %+v, want %+v", tot, want)
	}
	gates, err := s.Unlocked(ctx, "sess-a", "children", t0)
	must(t, err)
	if !slices.Equal(gates, []string{GatePrice}) {
		t.Errorf("a paid unlock after reopening: %q, want [price]", gates)
	}
	dl, err := s.Downloads(ctx, "children")
	must(t, err)
	if dl[film.Files[0].Path] != 1 {
		t.Errorf("downloads after reopening: %v", dl)
	}
	again, err := s.Secret(ctx)
	must(t, err)
	if !bytes.Equal(again, secret) {
		t.Errorf("the session secret changed on reopening")
	}
}

func testSchemaTooNew(t *testing.T, b *backend) {
	s := b.open(t)
	ms, err := migrations(s.d.name)
	must(t, err)
	future := ms[len(ms)-1].version + 1
	_, err = s.db.ExecContext(t.Context(), `INSERT INTO schema_migrations (version, name, applied_us) VALUES ($1, $2, 0)`,
		future, fmt.Sprintf("%04d_future.sql", future))
	must(t, err)
	must(t, s.Close())
	s, err = b.openErr(t)
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Open of a database at version %d: %v, want ErrSchemaTooNew", future, err)
	}
	if s != nil {
		t.Errorf("Open returned a store with its error")
	}
}

func testBundleRoundTrip(t *testing.T, b *backend) {
	ctx := t.Context()
	s := b.open(t)
	film, keys := testBundle("children")
	must(t, s.PutBundle(ctx, film, keys))
	// A bundle without campaign or poster, created later.
	b.clock.Add(time.Minute)
	free, _ := testBundle("free-short")
	free.Files = free.Files[:1]
	free.Campaign, free.Poster, free.Created = nil, "", time.Time{}
	must(t, s.PutBundle(ctx, free, nil))
	free.Created = b.clock.Now() // a zero Created means now

	got, err := s.Bundle(ctx, "children")
	must(t, err)
	if !reflect.DeepEqual(got, film) {
		t.Errorf("Bundle:\n got %+v\nwant %+v", got, film)
	}
	got, err = s.BundleByInfoHash(ctx, film.InfoHash)
	must(t, err)
	if got.ID != "children" {
		t.Errorf("BundleByInfoHash = %q, want children", got.ID)
	}
	all, err := s.Bundles(ctx)
	must(t, err)
	if want := []Bundle{film, free}; !reflect.DeepEqual(all, want) {
		t.Errorf("Bundles:\n got %+v\nwant %+v", all, want)
	}
	gotKeys, err := s.Keys(ctx, "children")
	must(t, err)
	if !reflect.DeepEqual(gotKeys, keys) {
		t.Errorf("Keys:\n got %x\nwant %x", gotKeys, keys)
	}
	gotKeys, err = s.Keys(ctx, "free-short")
	must(t, err)
	if len(gotKeys) != 0 {
		t.Errorf("Keys of a bundle without gates: %x", gotKeys)
	}
}

func testBundleReplaced(t *testing.T, b *backend) {
	ctx := t.Context()
	s := b.open(t)
	film, keys := testBundle("children")
	must(t, s.PutBundle(ctx, film, keys))
	_, err := s.AddEmail(ctx, Email{BundleID: "children", Address: "ann@example.com", Consent: "ok"})
	must(t, err)
	must(t, s.RecordPayment(ctx, Payment{EventID: "evt_1", BundleID: "children", Money: Money{995, "USD"}}))

	// The artist re-creates it: a new torrent, the third file gone, a new
	// gated file, new keys.
	b.clock.Add(time.Hour)
	v2, _ := testBundle("children")
	v2.Title = "Children of the Machine (season 1)"
	v2.InfoHash = infohash.Hash(sha1.Sum([]byte("children v2")))
	v2.Files = append(v2.Files[:2:2], v2.Files[3], BundleFile{Path: "Children of the Machine/04 bonus.mp4", Gate: Gate{Kind: GateEmail}, Length: 5 << 20})
	v2.Campaign = nil
	v2.Created = t0.Add(time.Hour)
	keys2 := map[string]FileKey{
		v2.Files[1].Path: randomKey(t),
		v2.Files[3].Path: randomKey(t),
	}
	must(t, s.PutBundle(ctx, v2, keys2))

	got, err := s.Bundle(ctx, "children")
	must(t, err)
	want := v2
	want.Created = film.Created // the first Created stays
	if !reflect.DeepEqual(got, want) {
		t.Errorf("replaced bundle:\n got %+v\nwant %+v", got, want)
	}
	gotKeys, err := s.Keys(ctx, "children")
	must(t, err)
	if !reflect.DeepEqual(gotKeys, keys2) {
		t.Errorf("keys of the replaced bundle:\n got %x\nwant %x", gotKeys, keys2)
	}
	if _, err := s.BundleByInfoHash(ctx, film.InfoHash); !errors.Is(err, ErrNotFound) {
		t.Errorf("BundleByInfoHash of the old torrent: %v, want ErrNotFound", err)
	}
	es, err := s.Emails(ctx, "children")
	must(t, err)
	ps, err := s.Payments(ctx, "children")
	must(t, err)
	if len(es) != 1 || len(ps) != 1 {
		t.Errorf("replacing the bundle left %d emails and %d payments, want 1 and 1", len(es), len(ps))
	}
}

func testUnknownBundle(t *testing.T, b *backend) {
	ctx := t.Context()
	s := b.open(t)
	film, keys := testBundle("children")
	must(t, s.PutBundle(ctx, film, keys))
	const id = "nope"
	errs := map[string]error{}
	_, errs["Bundle"] = s.Bundle(ctx, id)
	_, errs["BundleByInfoHash"] = s.BundleByInfoHash(ctx, infohash.Hash{1})
	_, errs["Keys"] = s.Keys(ctx, id)
	_, errs["Emails"] = s.Emails(ctx, id)
	_, errs["Payments"] = s.Payments(ctx, id)
	_, errs["Totals"] = s.Totals(ctx, id)
	_, errs["Unlocks"] = s.Unlocks(ctx, id)
	_, errs["Downloads"] = s.Downloads(ctx, id)
	_, errs["AddEmail"] = s.AddEmail(ctx, Email{BundleID: id, Address: "ann@example.com", Consent: "ok"})
	errs["RecordPayment"] = s.RecordPayment(ctx, Payment{EventID: "evt_1", BundleID: id, Money: Money{995, "USD"}})
	errs["Grant"] = s.Grant(ctx, Unlock{Session: "s", BundleID: id, Gate: GateEmail, Expires: t0.Add(time.Hour)})
	errs["CountDownload"] = s.CountDownload(ctx, id, "a.mp4")
	errs["CountDownload of a file not in the bundle"] = s.CountDownload(ctx, "children", "a.mp4")
	_, errs["ConfirmEmail"] = s.ConfirmEmail(ctx, "no-such-token")
	_, errs["ConfirmEmail empty"] = s.ConfirmEmail(ctx, "")
	for name, err := range errs {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s of an unknown bundle: %v, want ErrNotFound", name, err)
		}
	}
	gates, err := s.Unlocked(ctx, "s", id, t0)
	if err != nil || len(gates) != 0 {
		t.Errorf("Unlocked of an unknown bundle: %q, %v; want none", gates, err)
	}
	// Nothing was written for the unknown bundle.
	for _, table := range []string{"emails", "payments", "unlocks", "downloads"} {
		var n int
		must(t, s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n))
		if n != 0 {
			t.Errorf("%d rows in %s", n, table)
		}
	}
	// An empty list of a known bundle is not an error.
	if es, err := s.Emails(ctx, "children"); err != nil || len(es) != 0 {
		t.Errorf("Emails of a bundle without any: %v, %v", es, err)
	}
}

func testInfoHashTaken(t *testing.T, b *backend) {
	ctx := t.Context()
	s := b.open(t)
	film, keys := testBundle("children")
	must(t, s.PutBundle(ctx, film, keys))
	other, keys := testBundle("other")
	other.InfoHash = film.InfoHash
	if err := s.PutBundle(ctx, other, keys); !errors.Is(err, ErrDuplicate) {
		t.Errorf("PutBundle with another bundle's info hash: %v, want ErrDuplicate", err)
	}
	if _, err := s.Bundle(ctx, "other"); !errors.Is(err, ErrNotFound) {
		t.Errorf("the refused bundle is stored: %v", err)
	}
}

func testEmails(t *testing.T, b *backend) {
	ctx := t.Context()
	s := b.open(t)
	film, keys := testBundle("children")
	must(t, s.PutBundle(ctx, film, keys))

	tokBob, err := s.AddEmail(ctx, Email{BundleID: "children", Address: "bob@Example.ORG", Consent: "Send me news of the series", ConsentAt: t0})
	must(t, err)
	// Ann comes first in the alphabet but second in time.
	tokAnn, err := s.AddEmail(ctx, Email{BundleID: "children", Address: "ann@example.com", Consent: "wording 1", ConsentAt: t0.Add(time.Minute)})
	must(t, err)
	// Ann again, later, with other wording: her first consent stays, and
	// she gets another token; both work.
	tokAnn2, err := s.AddEmail(ctx, Email{BundleID: "children", Address: "ann@EXAMPLE.com", Consent: "wording 2", ConsentAt: t0.Add(time.Hour)})
	must(t, err)
	if tokAnn == tokAnn2 || tokAnn == tokBob || len(tokAnn) < 32 {
		t.Errorf("tokens %q, %q, %q: want distinct random tokens", tokBob, tokAnn, tokAnn2)
	}
	// A case of the local part is another address (RFC 5321 2.4).
	_, err = s.AddEmail(ctx, Email{BundleID: "children", Address: "Cy@example.com", Consent: "ok", ConsentAt: t0.Add(2 * time.Hour), Confirmed: true})
	must(t, err)

	want := []Email{
		{BundleID: "children", Address: "bob@example.org", ConsentAt: t0, Consent: "Send me news of the series"},
		{BundleID: "children", Address: "ann@example.com", ConsentAt: t0.Add(time.Minute), Consent: "wording 1"},
		{BundleID: "children", Address: "Cy@example.com", ConsentAt: t0.Add(2 * time.Hour), Consent: "ok", Confirmed: true},
	}
	es, err := s.Emails(ctx, "children")
	must(t, err)
	if !reflect.DeepEqual(es, want) {
		t.Errorf("Emails:\n got %+v\nwant %+v", es, want)
	}

	// The tokens are kept hashed: none of them is in the database.
	var n int
	must(t, s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM email_tokens`).Scan(&n))
	if n != 4 {
		t.Errorf("%d tokens stored, want 4", n)
	}
	for _, tok := range []string{tokBob, tokAnn, tokAnn2} {
		must(t, s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM email_tokens WHERE token_hash = $1`, []byte(tok)).Scan(&n))
		if n != 0 {
			t.Errorf("token %q stored as it is", tok)
		}
	}

	e, err := s.ConfirmEmail(ctx, tokAnn)
	must(t, err)
	want[1].Confirmed = true
	if e != want[1] {
		t.Errorf("ConfirmEmail = %+v, want %+v", e, want[1])
	}
	// A token works again (a mail scanner may have opened the link first),
	// and so does the other token of the address.
	for _, tok := range []string{tokAnn, tokAnn2} {
		if e, err := s.ConfirmEmail(ctx, tok); err != nil || e != want[1] {
			t.Errorf("ConfirmEmail again = %+v, %v; want %+v", e, err, want[1])
		}
	}
	es, err = s.Emails(ctx, "children")
	must(t, err)
	if !reflect.DeepEqual(es, want) {
		t.Errorf("Emails after confirming ann:\n got %+v\nwant %+v", es, want)
	}
	// Adding a confirmed address again unconfirmed does not unconfirm it.
	_, err = s.AddEmail(ctx, Email{BundleID: "children", Address: "ann@example.com", Consent: "ok"})
	must(t, err)
	es, err = s.Emails(ctx, "children")
	must(t, err)
	if !es[1].Confirmed {
		t.Errorf("adding a confirmed address again unconfirmed it")
	}
	if _, err := s.ConfirmEmail(ctx, tokAnn+"x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ConfirmEmail of a wrong token: %v, want ErrNotFound", err)
	}
}

func testEmailTokenExpiry(t *testing.T, b *backend) {
	ctx := t.Context()
	s := b.open(t)
	film, keys := testBundle("children")
	must(t, s.PutBundle(ctx, film, keys))
	var toks []string
	for range maxTokensPerAddress + 2 {
		tok, err := s.AddEmail(ctx, Email{BundleID: "children", Address: "ann@example.com", Consent: "ok"})
		must(t, err)
		toks = append(toks, tok)
		b.clock.Add(time.Second)
	}
	// Only the newest few are kept.
	var n int
	must(t, s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM email_tokens`).Scan(&n))
	if n != maxTokensPerAddress {
		t.Errorf("%d tokens kept for one address, want %d", n, maxTokensPerAddress)
	}
	if _, err := s.ConfirmEmail(ctx, toks[0]); !errors.Is(err, ErrNotFound) {
		t.Errorf("ConfirmEmail of a token pushed out: %v, want ErrNotFound", err)
	}
	last := toks[len(toks)-1]
	b.clock.Add(confirmTTL)
	if _, err := s.ConfirmEmail(ctx, last); !errors.Is(err, ErrNotFound) {
		t.Errorf("ConfirmEmail of an expired token: %v, want ErrNotFound", err)
	}
	b.clock.Add(-2 * time.Second)
	if _, err := s.ConfirmEmail(ctx, last); err != nil {
		t.Errorf("ConfirmEmail just before expiry: %v", err)
	}
}

func testPaymentReplayed(t *testing.T, b *backend) {
	ctx := t.Context()
	s := b.open(t)
	film, keys := testBundle("children")
	must(t, s.PutBundle(ctx, film, keys))
	p := Payment{EventID: "evt_1NG8Du2eZvKYlo2CUI79vXWy", BundleID: "children", Money: Money{995, "USD"}, Email: "ann@example.com", Session: "sess-a", At: t0}
	must(t, s.RecordPayment(ctx, p))
	replay := p
	replay.At = t0.Add(time.Minute)
	if err := s.RecordPayment(ctx, replay); !errors.Is(err, ErrDuplicate) {
		t.Errorf("RecordPayment of a replayed event: %v, want ErrDuplicate", err)
	}
	ps, err := s.Payments(ctx, "children")
	must(t, err)
	if !reflect.DeepEqual(ps, []Payment{p}) {
		t.Errorf("Payments = %+v, want %+v", ps, []Payment{p})
	}
}

// testPaymentTwoNodes replays one event to two Stores on one database at
// once, as a provider retrying a webhook might reach two nodes.
func testPaymentTwoNodes(t *testing.T, b *backend) {
	ctx := t.Context()
	nodes := []*Store{b.open(t), b.open(t)}
	film, keys := testBundle("children")
	must(t, nodes[0].PutBundle(ctx, film, keys))
	const tries = 8
	errs := make(chan error, tries)
	var wg sync.WaitGroup
	for i := range tries {
		wg.Go(func() {
			errs <- nodes[i%2].RecordPayment(ctx, Payment{EventID: "evt_race", BundleID: "children", Money: Money{995, "USD"}})
		})
	}
	wg.Wait()
	close(errs)
	var ok, dup int
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, ErrDuplicate):
			dup++
		default:
			t.Errorf("RecordPayment: %v", err)
		}
	}
	if ok != 1 || dup != tries-1 {
		t.Errorf("%d recorded and %d duplicates of one event, want 1 and %d", ok, dup, tries-1)
	}
	for i, s := range nodes {
		tot, err := s.Totals(ctx, "children")
		must(t, err)
		if want := (Totals{1, Money{995, "USD"}}); tot != want {
			t.Errorf("node %d: Totals = %+v, want %+v", i, tot, want)
		}
	}
}

func testTotals(t *testing.T, b *backend) {
	ctx := t.Context()
	s := b.open(t)
	film, keys := testBundle("children")
	must(t, s.PutBundle(ctx, film, keys))
	check := func(want Totals) {
		t.Helper()
		got, err := s.Totals(ctx, "children")
		if err != nil || got != want {
			t.Errorf("Totals = %+v, %v; want %+v", got, err, want)
		}
	}
	check(Totals{0, Money{0, "USD"}}) // in the campaign's currency
	must(t, s.RecordPayment(ctx, Payment{EventID: "evt_1", BundleID: "children", Money: Money{995, "USD"}}))
	must(t, s.RecordPayment(ctx, Payment{EventID: "evt_2", BundleID: "children", Money: Money{1990, "USD"}}))
	must(t, s.RecordPayment(ctx, Payment{EventID: "evt_3", BundleID: "children", Money: Money{0, "USD"}})) // a 100 % coupon
	check(Totals{3, Money{2985, "USD"}})
	if err := s.RecordPayment(ctx, Payment{EventID: "evt_4", BundleID: "children", Money: Money{900, "EUR"}}); !errors.Is(err, ErrMixedCurrency) {
		t.Errorf("RecordPayment in EUR after USD: %v, want ErrMixedCurrency", err)
	}
	check(Totals{3, Money{2985, "USD"}})
	// The refused event was not recorded: it may come again, rightly.
	ps, err := s.Payments(ctx, "children")
	must(t, err)
	if len(ps) != 3 {
		t.Errorf("%d payments, want 3", len(ps))
	}

	// Without a campaign, the currency of the first priced file.
	shop, keys := testBundle("shop")
	shop.Campaign = nil
	shop.Files[2].Gate.Price = Money{500, "EUR"}
	must(t, s.PutBundle(ctx, shop, keys))
	if got, err := s.Totals(ctx, "shop"); err != nil || got != (Totals{0, Money{0, "EUR"}}) {
		t.Errorf("Totals of a bundle priced in EUR: %+v, %v", got, err)
	}
	// Without either, no currency.
	free, _ := testBundle("free")
	free.Files, free.Campaign, free.Poster = free.Files[:1], nil, ""
	must(t, s.PutBundle(ctx, free, nil))
	if got, err := s.Totals(ctx, "free"); err != nil || got != (Totals{}) {
		t.Errorf("Totals of a free bundle: %+v, %v", got, err)
	}
}

func testUnlocks(t *testing.T, b *backend) {
	ctx := t.Context()
	s := b.open(t)
	film, keys := testBundle("children")
	must(t, s.PutBundle(ctx, film, keys))
	other, keys := testBundle("other")
	must(t, s.PutBundle(ctx, other, keys))
	must(t, s.Grant(ctx, Unlock{Session: "sess-a", BundleID: "children", Gate: GateEmail, At: t0, Expires: t0.Add(time.Hour)}))
	must(t, s.Grant(ctx, Unlock{Session: "sess-a", BundleID: "children", Gate: GatePrice, At: t0, Expires: t0.Add(2 * time.Hour)}))
	// Granting again with an earlier expiry does not shorten it.
	must(t, s.Grant(ctx, Unlock{Session: "sess-a", BundleID: "children", Gate: GatePrice, At: t0.Add(time.Minute), Expires: t0.Add(90 * time.Minute)}))
	for _, c := range []struct {
		session, bundle string
		at              time.Duration
		want            []string
	}{
		{"sess-a", "children", 0, []string{GateEmail, GatePrice}},
		{"sess-a", "children", 59 * time.Minute, []string{GateEmail, GatePrice}},
		{"sess-a", "children", time.Hour, []string{GatePrice}}, // expiry is exclusive
		{"sess-a", "children", 100 * time.Minute, []string{GatePrice}},
		{"sess-a", "children", 2 * time.Hour, nil},
		{"sess-b", "children", 0, nil},
		{"sess-a", "other", 0, nil},
	} {
		got, err := s.Unlocked(ctx, c.session, c.bundle, t0.Add(c.at))
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("Unlocked(%s, %s, t0+%v) = %q, %v; want %q", c.session, c.bundle, c.at, got, err, c.want)
		}
	}
	// Granting again later extends it.
	must(t, s.Grant(ctx, Unlock{Session: "sess-a", BundleID: "children", Gate: GateEmail, At: t0.Add(3 * time.Hour), Expires: t0.Add(4 * time.Hour)}))
	if got, err := s.Unlocked(ctx, "sess-a", "children", t0.Add(3*time.Hour)); err != nil || !slices.Equal(got, []string{GateEmail}) {
		t.Errorf("Unlocked after a new grant = %q, %v; want [email]", got, err)
	}
	list, err := s.Unlocks(ctx, "children")
	must(t, err)
	want := []Unlock{
		{Session: "sess-a", BundleID: "children", Gate: GateEmail, At: t0, Expires: t0.Add(4 * time.Hour)},
		{Session: "sess-a", BundleID: "children", Gate: GatePrice, At: t0, Expires: t0.Add(2 * time.Hour)},
	}
	if !reflect.DeepEqual(list, want) {
		t.Errorf("Unlocks:\n got %+v\nwant %+v", list, want)
	}
}

func testSecret(t *testing.T, b *backend) {
	ctx := t.Context()
	nodes := []*Store{b.open(t), b.open(t)}
	const callers = 16
	secrets := make([][]byte, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			var err error
			secrets[i], err = nodes[i%2].Secret(ctx)
			if err != nil {
				t.Errorf("Secret: %v", err)
			}
		})
	}
	wg.Wait()
	first := secrets[0]
	if len(first) != 32 || bytes.Equal(first, make([]byte, 32)) {
		t.Fatalf("Secret = %x, want 32 random bytes", first)
	}
	for i, s := range secrets {
		if !bytes.Equal(s, first) {
			t.Errorf("caller %d got secret %x, caller 0 %x", i, s, first)
		}
	}
	// The caller's copy is its own.
	first[0] ^= 0xff
	again, err := nodes[0].Secret(ctx)
	must(t, err)
	first[0] ^= 0xff
	if !bytes.Equal(again, first) {
		t.Errorf("changing the returned secret changed the store's")
	}
	for _, s := range nodes {
		must(t, s.Close())
	}
	again, err = b.open(t).Secret(ctx)
	must(t, err)
	if !bytes.Equal(again, first) {
		t.Errorf("after reopening, Secret = %x, want %x", again, first)
	}
	if strings.Contains(b.logs.String(), fmt.Sprintf("%x", first)) {
		t.Errorf("the secret is in the log")
	}
}

func testDownloads(t *testing.T, b *backend) {
	ctx := t.Context()
	s := b.open(t)
	film, keys := testBundle("children")
	must(t, s.PutBundle(ctx, film, keys))
	for range 3 {
		must(t, s.CountDownload(ctx, "children", film.Files[1].Path))
	}
	must(t, s.CountDownload(ctx, "children", film.Files[0].Path))
	got, err := s.Downloads(ctx, "children")
	must(t, err)
	if want := map[string]int64{film.Files[0].Path: 1, film.Files[1].Path: 3}; !reflect.DeepEqual(got, want) {
		t.Errorf("Downloads = %v, want %v", got, want)
	}
}

func testValidation(t *testing.T, b *backend) {
	ctx := t.Context()
	s := b.open(t)
	film, keys := testBundle("children")
	must(t, s.PutBundle(ctx, film, keys))

	bundle := func(change func(*Bundle, map[string]FileKey)) func() error {
		return func() error {
			b, keys := testBundle("ok-id")
			change(&b, keys)
			return s.PutBundle(ctx, b, keys)
		}
	}
	email := func(addr string) func() error {
		return func() error {
			_, err := s.AddEmail(ctx, Email{BundleID: "children", Address: addr, Consent: "ok"})
			return err
		}
	}
	payment := func(change func(*Payment)) func() error {
		return func() error {
			p := Payment{EventID: "evt_ok", BundleID: "children", Money: Money{995, "USD"}}
			change(&p)
			return s.RecordPayment(ctx, p)
		}
	}
	grant := func(change func(*Unlock)) func() error {
		return func() error {
			u := Unlock{Session: "sess", BundleID: "children", Gate: GateEmail, At: t0, Expires: t0.Add(time.Hour)}
			change(&u)
			return s.Grant(ctx, u)
		}
	}
	gated := film.Files[1].Path
	for name, call := range map[string]func() error{
		"bundle id upper case":       bundle(func(b *Bundle, _ map[string]FileKey) { b.ID = "Children" }),
		"bundle id of 65 characters": bundle(func(b *Bundle, _ map[string]FileKey) { b.ID = strings.Repeat("a", 65) }),
		"bundle id with a slash":     bundle(func(b *Bundle, _ map[string]FileKey) { b.ID = "a/b" }),
		"bundle id starting with -":  bundle(func(b *Bundle, _ map[string]FileKey) { b.ID = "-a" }),
		"title empty":                bundle(func(b *Bundle, _ map[string]FileKey) { b.Title = " " }),
		"title with NUL":             bundle(func(b *Bundle, _ map[string]FileKey) { b.Title = "a\x00b" }),
		"title not UTF-8":            bundle(func(b *Bundle, _ map[string]FileKey) { b.Title = "a\xffb" }),
		"description over 64 KiB":    bundle(func(b *Bundle, _ map[string]FileKey) { b.Description = strings.Repeat("x", 64<<10+1) }),
		"no info hash":               bundle(func(b *Bundle, _ map[string]FileKey) { b.InfoHash = infohash.Hash{} }),
		"no files":                   bundle(func(b *Bundle, k map[string]FileKey) { b.Files = nil; clear(k) }),
		"path with ..":               bundle(func(b *Bundle, _ map[string]FileKey) { b.Files[0].Path = "a/../b" }),
		"absolute path":              bundle(func(b *Bundle, _ map[string]FileKey) { b.Files[0].Path = "/etc/passwd" }),
		"path twice":                 bundle(func(b *Bundle, _ map[string]FileKey) { b.Files[3].Path = b.Files[0].Path }),
		"negative length":            bundle(func(b *Bundle, _ map[string]FileKey) { b.Files[0].Length = -1 }),
		"unknown gate":               bundle(func(b *Bundle, _ map[string]FileKey) { b.Files[0].Gate.Kind = "tweet" }),
		"price gate without price":   bundle(func(b *Bundle, _ map[string]FileKey) { b.Files[2].Gate.Price = Money{} }),
		"price in lower case":        bundle(func(b *Bundle, _ map[string]FileKey) { b.Files[2].Gate.Price.Currency = "usd" }),
		"price on an email gate":     bundle(func(b *Bundle, _ map[string]FileKey) { b.Files[1].Gate.Price = Money{1, "USD"} }),
		"gated file without key":     bundle(func(b *Bundle, k map[string]FileKey) { delete(k, gated) }),
		"key for a free file":        bundle(func(b *Bundle, k map[string]FileKey) { k[b.Files[0].Path] = FileKey{} }),
		"key for no file":            bundle(func(b *Bundle, k map[string]FileKey) { k["other.mp4"] = FileKey{} }),
		"poster not a file":          bundle(func(b *Bundle, _ map[string]FileKey) { b.Poster = "poster.png" }),
		"campaign without goal":      bundle(func(b *Bundle, _ map[string]FileKey) { b.Campaign.GoalBackers = 0 }),
		"campaign without currency":  bundle(func(b *Bundle, _ map[string]FileKey) { b.Campaign.Price.Currency = "" }),

		"email of 255 bytes": email(strings.Repeat("a", 64) + "@" + strings.Repeat("b", 186) + ".com"),
		"email with a name":  email("Ann <ann@example.com>"),
		"email without @":    email("ann.example.com"),
		"email empty":        email(""),
		"email with spaces":  email(" ann@example.com"),
		"consent empty":      func() error { _, err := s.AddEmail(ctx, Email{BundleID: "children", Address: "a@b.c"}); return err },
		"email of a bad bundle id": func() error {
			_, err := s.AddEmail(ctx, Email{BundleID: "../x", Address: "a@b.c", Consent: "ok"})
			return err
		},

		"event id empty":       payment(func(p *Payment) { p.EventID = "" }),
		"event id of 256":      payment(func(p *Payment) { p.EventID = strings.Repeat("e", 256) }),
		"event id with space":  payment(func(p *Payment) { p.EventID = "evt 1" }),
		"negative payment":     payment(func(p *Payment) { p.Money.Amount = -1 }),
		"payment currency":     payment(func(p *Payment) { p.Money.Currency = "US" }),
		"payment session long": payment(func(p *Payment) { p.Session = strings.Repeat("s", 129) }),

		"session empty":             grant(func(u *Unlock) { u.Session = "" }),
		"session with newline":      grant(func(u *Unlock) { u.Session = "a\nb" }),
		"unlock of the free gate":   grant(func(u *Unlock) { u.Gate = GateFree }),
		"unlock expiring at once":   grant(func(u *Unlock) { u.Expires = u.At }),
		"unlock without expiry":     grant(func(u *Unlock) { u.Expires = time.Time{} }),
		"download path with ..":     func() error { return s.CountDownload(ctx, "children", "../x") },
		"unlocked of a bad session": func() error { _, err := s.Unlocked(ctx, "", "children", t0); return err },
	} {
		if err := call(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	// Nothing of it was stored.
	if _, err := s.Bundle(ctx, "ok-id"); !errors.Is(err, ErrNotFound) {
		t.Errorf("an invalid bundle was stored: %v", err)
	}
	if es, err := s.Emails(ctx, "children"); err != nil || len(es) != 0 {
		t.Errorf("invalid emails were stored: %v, %v", es, err)
	}
	// The bounds themselves are allowed.
	long := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 185) + ".com"
	if len(long) != 254 {
		t.Fatalf("test address has %d bytes", len(long))
	}
	if _, err := s.AddEmail(ctx, Email{BundleID: "children", Address: long, Consent: "ok"}); err != nil {
		t.Errorf("AddEmail of 254 bytes: %v", err)
	}
	max, keys := testBundle(strings.Repeat("a", 64))
	max.InfoHash = infohash.Hash{9}
	if err := s.PutBundle(ctx, max, keys); err != nil {
		t.Errorf("PutBundle with an id of 64 characters: %v", err)
	}
	if err := s.RecordPayment(ctx, Payment{EventID: strings.Repeat("e", 255), BundleID: "children", Money: Money{995, "USD"}}); err != nil {
		t.Errorf("RecordPayment with an event id of 255 characters: %v", err)
	}
}

// TestOpenOtherSchemes checks that Open names the forms it takes and
// never echoes what it was given, which may hold a password.
func TestOpenOtherSchemes(t *testing.T) {
	for _, dsn := range []string{
		"mysql://ann:hunter2@db.example/seedcast",
		"sqlite:///var/lib/seedcast/hunter2.db",
		"host=db.example password=hunter2",
		"Postgres://ann:hunter2@db.example/seedcast",
	} {
		_, err := Open(t.Context(), dsn, t.TempDir(), nil)
		if err == nil {
			t.Errorf("Open(%q) = nil error", dsn)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, "hunter2") || !strings.Contains(msg, "postgres://") {
			t.Errorf("Open(%q): %q; want the accepted forms named and the input not shown", dsn, msg)
		}
	}
	if _, err := Open(t.Context(), "", "", nil); err == nil {
		t.Errorf("Open without a data dir or a URL: nil error")
	}
}

// TestOpenRefused checks that a PostgreSQL that is not there makes a clear
// error without the password, from the user info or the query.
func TestOpenRefused(t *testing.T) {
	for _, dsn := range []string{
		// Port 1 on loopback: refused at once.
		"postgres://ann:hunter2@127.0.0.1:1/seedcast?connect_timeout=5",
		"postgresql://ann@127.0.0.1:1/seedcast?password=hunter2&connect_timeout=5",
	} {
		var logs testnet.Buffer
		_, err := Open(t.Context(), dsn, "", slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
		if err == nil {
			t.Fatalf("Open(%q) = nil error", dsn)
		}
		t.Logf("error: %v", err)
		if msg := err.Error(); strings.Contains(msg, "hunter2") || !strings.Contains(msg, "127.0.0.1:1") || !strings.Contains(msg, "--db") {
			t.Errorf("Open(%q): %q; want the server named, --db suggested and no password", dsn, msg)
		}
		if strings.Contains(logs.String(), "hunter2") {
			t.Errorf("the password is in the log: %s", logs.String())
		}
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://ann:hunter2@db.example:5432/seedcast?sslmode=require": "postgres://ann:xxxxx@db.example:5432/seedcast?sslmode=require",
		"postgres://ann@db.example/seedcast?password=hunter2":             "postgres://ann@db.example/seedcast?password=xxxxx",
		"postgres://db.example/seedcast":                                  "postgres://db.example/seedcast",
		"postgres://ann:hun%zz@db/x":                                      "postgres://(unparsable URL)",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestMigrationFiles checks that both dialects have the same migrations,
// numbered without gaps.
func TestMigrationFiles(t *testing.T) {
	var names [2][]string
	for i, d := range []string{"sqlite", "postgres"} {
		ms, err := migrations(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			names[i] = append(names[i], m.name)
		}
	}
	if len(names[0]) == 0 || !slices.Equal(names[0], names[1]) {
		t.Errorf("migrations of sqlite %q and of postgres %q differ", names[0], names[1])
	}
}

func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{
		"ann@example.com":     "ann@example.com",
		"Ann@Example.COM":     "Ann@example.com",
		"ann+news@例え.jp":      "ann+news@例え.jp",
		"a.b-c_d@sub.example": "a.b-c_d@sub.example",
	} {
		got, err := normalizeEmail(in)
		if err != nil || got != want {
			t.Errorf("normalizeEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// testBundle returns a bundle like the pilot's: a free pilot, an episode
// behind an email, one behind a price, a free poster, and a campaign.
func testBundle(id string) (Bundle, map[string]FileKey) {
	const dir = "Children of the Machine/"
	b := Bundle{
		ID:          id,
		Title:       "Children of the Machine",
		Artist:      "Rahm",
		Description: "A series in ten episodes.\nThe pilot is free.",
		Poster:      dir + "poster.jpg",
		InfoHash:    infohash.Hash(sha1.Sum([]byte(id))),
		Files: []BundleFile{
			{Path: dir + "01 pilot.mp4", Gate: Gate{Kind: GateFree}, Length: 700 << 20},
			{Path: dir + "02 episode.mp4", Gate: Gate{Kind: GateEmail}, Length: 650 << 20},
			{Path: dir + "03 episode.mp4", Gate: Gate{Kind: GatePrice, Price: Money{995, "USD"}}, Length: 1 << 40},
			{Path: dir + "poster.jpg", Gate: Gate{Kind: GateFree}, Length: 12345},
		},
		Campaign: &Campaign{GoalBackers: 250000, Price: Money{995, "USD"}, Ends: t0.Add(90 * 24 * time.Hour)},
		Created:  t0,
	}
	keys := map[string]FileKey{
		b.Files[1].Path: randomKey(nil),
		b.Files[2].Path: randomKey(nil),
	}
	return b, keys
}

func randomKey(testing.TB) FileKey {
	var k FileKey
	rand.Read(k.Key[:])
	rand.Read(k.IV[:])
	// A key whose bytes include 0 and 0xff at the ends, which a text
	// column or a trimming driver would mangle.
	k.Key[0], k.Key[31], k.IV[0], k.IV[15] = 0, 0xff, 0, 0xff
	return k
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// clock is the test's clock, moved by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
