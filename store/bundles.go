package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/seedcast/seedcast/infohash"
)

// PutBundle stores b with the keys of its gated files (path → key), in one
// transaction: a new bundle, or a replacement of the bundle of that id,
// whose files and keys then become these. A replacement keeps the
// bundle's first Created time and everything its gates collected
// (emails, payments, unlocks, downloads). A zero Created means now.
//
// Every gated file needs a key and only gated files may have one
// (ErrInvalid otherwise); an info hash that another bundle has is
// ErrDuplicate.
func (s *Store) PutBundle(ctx context.Context, b Bundle, keys map[string]FileKey) error {
	if err := checkBundle(b, keys); err != nil {
		return err
	}
	created := b.Created
	if created.IsZero() {
		created = s.now()
	}
	var goal, pledge, ends sql.NullInt64
	var pledgeCur sql.NullString
	if c := b.Campaign; c != nil {
		goal = sql.NullInt64{Int64: c.GoalBackers, Valid: true}
		pledge = sql.NullInt64{Int64: c.Price.Amount, Valid: true}
		pledgeCur = sql.NullString{String: c.Price.Currency, Valid: true}
		if !c.Ends.IsZero() {
			ends = sql.NullInt64{Int64: us(c.Ends), Valid: true}
		}
	}
	err := s.tx(ctx, func(tx querier) error {
		var other string
		err := tx.QueryRowContext(ctx, `SELECT id FROM bundles WHERE infohash = $1 AND id <> $2`, b.InfoHash.String(), b.ID).Scan(&other)
		if err == nil {
			return fmt.Errorf("store: bundle %q: info hash %s is bundle %q's: %w", b.ID, b.InfoHash, other, ErrDuplicate)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO bundles (id, title, artist, description, poster, infohash,
				goal_backers, pledge_amount, pledge_currency, ends_us, created_us)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			ON CONFLICT (id) DO UPDATE SET
				title = excluded.title, artist = excluded.artist,
				description = excluded.description, poster = excluded.poster,
				infohash = excluded.infohash, goal_backers = excluded.goal_backers,
				pledge_amount = excluded.pledge_amount,
				pledge_currency = excluded.pledge_currency, ends_us = excluded.ends_us`,
			b.ID, b.Title, b.Artist, b.Description, b.Poster, b.InfoHash.String(),
			goal, pledge, pledgeCur, ends, us(created)); err != nil {
			return err
		}
		// Deleting the files deletes their keys (ON DELETE CASCADE).
		if _, err := tx.ExecContext(ctx, `DELETE FROM bundle_files WHERE bundle_id = $1`, b.ID); err != nil {
			return err
		}
		for i, f := range b.Files {
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO bundle_files (bundle_id, idx, path, gate, price_amount, price_currency, length)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				b.ID, i, f.Path, f.Gate.Kind, f.Gate.Price.Amount, f.Gate.Price.Currency, f.Length); err != nil {
				return err
			}
		}
		for p, k := range keys {
			if _, err := tx.ExecContext(ctx, `INSERT INTO file_keys (bundle_id, path, aes_key, iv) VALUES ($1, $2, $3, $4)`,
				b.ID, p, k.Key[:], k.IV[:]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrDuplicate) {
			return err
		}
		return fmt.Errorf("store: put bundle %q: %w", b.ID, err)
	}
	return nil
}

// checkBundle checks b and its keys against the bounds and each other.
func checkBundle(b Bundle, keys map[string]FileKey) error {
	if err := checkID(b.ID); err != nil {
		return err
	}
	for _, f := range []struct {
		name, s  string
		max      int
		required bool
	}{
		{"title", b.Title, maxTitleBytes, true},
		{"artist", b.Artist, maxTitleBytes, false},
		{"description", b.Description, maxTextBytes, false},
	} {
		if err := checkText(fmt.Sprintf("bundle %q: %s", b.ID, f.name), f.s, f.max, f.required); err != nil {
			return err
		}
	}
	if b.InfoHash.IsZero() {
		return invalid("bundle %q: no info hash", b.ID)
	}
	if len(b.Files) == 0 || len(b.Files) > maxFiles {
		return invalid("bundle %q: %d files, want 1 to %d", b.ID, len(b.Files), maxFiles)
	}
	gated := make(map[string]bool, len(b.Files))
	for _, f := range b.Files {
		if err := checkPath(fmt.Sprintf("bundle %q: file path", b.ID), f.Path); err != nil {
			return err
		}
		if _, dup := gated[f.Path]; dup {
			return invalid("bundle %q: file %q listed twice", b.ID, trunc(f.Path))
		}
		if f.Length < 0 {
			return invalid("bundle %q: file %q: length %d", b.ID, trunc(f.Path), f.Length)
		}
		switch f.Gate.Kind {
		case GateFree, GateEmail:
			if f.Gate.Price != (Money{}) {
				return invalid("bundle %q: file %q: a price on a %s gate", b.ID, trunc(f.Path), f.Gate.Kind)
			}
		case GatePrice:
			if err := checkMoney(fmt.Sprintf("bundle %q: file %q: price", b.ID, trunc(f.Path)), f.Gate.Price, true); err != nil {
				return err
			}
		default:
			return invalid("bundle %q: file %q: gate %q, want %s, %s or %s", b.ID, trunc(f.Path), trunc(f.Gate.Kind), GateFree, GateEmail, GatePrice)
		}
		gated[f.Path] = f.Gate.Kind != GateFree
	}
	if _, ok := gated[b.Poster]; b.Poster != "" && !ok {
		return invalid("bundle %q: poster %q is not among its files", b.ID, trunc(b.Poster))
	}
	for p := range keys {
		g, ok := gated[p]
		if !ok {
			return invalid("bundle %q: a key for %q, which is not among its files", b.ID, trunc(p))
		}
		if !g {
			return invalid("bundle %q: a key for %q, which is free", b.ID, trunc(p))
		}
	}
	for p, g := range gated {
		if _, ok := keys[p]; g && !ok {
			return invalid("bundle %q: gated file %q has no key", b.ID, trunc(p))
		}
	}
	if c := b.Campaign; c != nil {
		if c.GoalBackers <= 0 {
			return invalid("bundle %q: campaign goal of %d backers, want more than zero", b.ID, c.GoalBackers)
		}
		if err := checkMoney(fmt.Sprintf("bundle %q: campaign price", b.ID), c.Price, true); err != nil {
			return err
		}
	}
	return nil
}

// Bundles returns every bundle, oldest first.
func (s *Store) Bundles(ctx context.Context) ([]Bundle, error) {
	bs, err := s.bundles(ctx, `ORDER BY created_us, id`)
	if err != nil {
		return nil, fmt.Errorf("store: bundles: %w", err)
	}
	return bs, nil
}

// Bundle returns the bundle id, or ErrNotFound.
func (s *Store) Bundle(ctx context.Context, id string) (Bundle, error) {
	if err := checkID(id); err != nil {
		return Bundle{}, err
	}
	bs, err := s.bundles(ctx, `WHERE id = $1`, id)
	if err != nil {
		return Bundle{}, fmt.Errorf("store: bundle %q: %w", id, err)
	}
	if len(bs) == 0 {
		return Bundle{}, notFound(id)
	}
	return bs[0], nil
}

// BundleByInfoHash returns the bundle whose torrent has the info hash ih, or
// ErrNotFound.
func (s *Store) BundleByInfoHash(ctx context.Context, ih infohash.Hash) (Bundle, error) {
	bs, err := s.bundles(ctx, `WHERE infohash = $1`, ih.String())
	if err != nil {
		return Bundle{}, fmt.Errorf("store: bundle of %s: %w", ih, err)
	}
	if len(bs) == 0 {
		return Bundle{}, fmt.Errorf("store: bundle of %s: %w", ih, ErrNotFound)
	}
	return bs[0], nil
}

// bundles returns the bundles that the clause (WHERE … or ORDER BY …)
// selects, with their files.
func (s *Store) bundles(ctx context.Context, clause string, args ...any) ([]Bundle, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT id, title, artist, description, poster, infohash,
			goal_backers, pledge_amount, pledge_currency, ends_us, created_us
		FROM bundles `+clause, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var bs []Bundle
	index := map[string]int{}
	for rows.Next() {
		var b Bundle
		var ih string
		var goal, pledge, ends sql.NullInt64
		var pledgeCur sql.NullString
		var created int64
		if err := rows.Scan(&b.ID, &b.Title, &b.Artist, &b.Description, &b.Poster, &ih,
			&goal, &pledge, &pledgeCur, &ends, &created); err != nil {
			return nil, err
		}
		if b.InfoHash, err = infohash.Parse(ih); err != nil {
			return nil, fmt.Errorf("bundle %q: %w", b.ID, err)
		}
		if goal.Valid {
			b.Campaign = &Campaign{GoalBackers: goal.Int64, Price: Money{pledge.Int64, pledgeCur.String}}
			if ends.Valid {
				b.Campaign.Ends = fromUS(ends.Int64)
			}
		}
		b.Created = fromUS(created)
		index[b.ID] = len(bs)
		bs = append(bs, b)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(bs) == 0 {
		return nil, nil
	}
	// One query for the files of all of them: a library page lists every
	// bundle.
	var frows *sql.Rows
	if len(bs) == 1 {
		frows, err = s.db.QueryContext(ctx, `
			SELECT bundle_id, path, gate, price_amount, price_currency, length
			FROM bundle_files WHERE bundle_id = $1 ORDER BY idx`, bs[0].ID)
	} else {
		frows, err = s.db.QueryContext(ctx, `
			SELECT bundle_id, path, gate, price_amount, price_currency, length
			FROM bundle_files ORDER BY bundle_id, idx`)
	}
	if err != nil {
		return nil, err
	}
	defer frows.Close()
	for frows.Next() {
		var id string
		var f BundleFile
		if err := frows.Scan(&id, &f.Path, &f.Gate.Kind, &f.Gate.Price.Amount, &f.Gate.Price.Currency, &f.Length); err != nil {
			return nil, err
		}
		if i, ok := index[id]; ok {
			bs[i].Files = append(bs[i].Files, f)
		}
	}
	return bs, frows.Err()
}

// Keys returns the keys of the bundle's gated files, by path; ErrNotFound
// if there is no such bundle.
func (s *Store) Keys(ctx context.Context, bundleID string) (map[string]FileKey, error) {
	if err := checkID(bundleID); err != nil {
		return nil, err
	}
	keys, err := s.keys(ctx, bundleID)
	if err != nil {
		return nil, fmt.Errorf("store: keys of %q: %w", bundleID, err)
	}
	if len(keys) == 0 {
		if err := mustExist(ctx, s.db, bundleID); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

func (s *Store) keys(ctx context.Context, bundleID string) (map[string]FileKey, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT path, aes_key, iv FROM file_keys WHERE bundle_id = $1`, bundleID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	keys := map[string]FileKey{}
	for rows.Next() {
		var p string
		var key, iv []byte
		if err := rows.Scan(&p, &key, &iv); err != nil {
			return nil, err
		}
		var k FileKey
		if len(key) != len(k.Key) || len(iv) != len(k.IV) {
			return nil, fmt.Errorf("key of %q: %d and %d bytes, want %d and %d", p, len(key), len(iv), len(k.Key), len(k.IV))
		}
		copy(k.Key[:], key)
		copy(k.IV[:], iv)
		keys[p] = k
	}
	return keys, rows.Err()
}
