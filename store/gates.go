package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
)

// The queries below that insert from a SELECT cast their parameters:
// PostgreSQL cannot tell the type of a bare parameter in a select list.
// Inserting from the bundles row also makes an unknown bundle insert
// nothing, which the callers turn into ErrNotFound.

// confirmTTL is how long the token of a confirmation mail stays valid.
const confirmTTL = 7 * 24 * time.Hour

// maxTokensPerAddress bounds the live confirmation tokens of one address of
// one bundle: a viewer who asks for the mail again gets a new token, and
// the previous mails keep working, up to this many.
const maxTokensPerAddress = 5

// secretBytes is the size of the session secret: a key for HMAC-SHA256.
const secretBytes = 32

// AddEmail records an address given at a bundle's email gate and returns a
// new confirmation token for it, valid for 7 days, whose SHA-256 alone is
// kept. An address given again is not an error: it keeps its first consent
// time and wording, gets another token, and becomes confirmed if e is
// (it never becomes unconfirmed). A zero ConsentAt means now. The domain
// of the address is kept in lower case. ErrNotFound if there is no such
// bundle; ErrInvalid for a malformed address.
func (s *Store) AddEmail(ctx context.Context, e Email) (token string, err error) {
	if err := checkID(e.BundleID); err != nil {
		return "", err
	}
	addr, err := normalizeEmail(e.Address)
	if err != nil {
		return "", err
	}
	if err := checkText("consent", e.Consent, maxConsentBytes, true); err != nil {
		return "", err
	}
	now := s.now()
	at := e.ConsentAt
	if at.IsZero() {
		at = now
	}
	var confirmed sql.NullInt64
	if e.Confirmed {
		confirmed = sql.NullInt64{Int64: us(at), Valid: true}
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	token = base64.RawURLEncoding.EncodeToString(raw)
	hash := sha256.Sum256([]byte(token))
	err = s.tx(ctx, func(tx querier) error {
		res, err := tx.ExecContext(ctx, `
			INSERT INTO emails (bundle_id, address, consent, consent_us, confirmed_us)
			SELECT id, CAST($2 AS TEXT), CAST($3 AS TEXT), CAST($4 AS BIGINT), CAST($5 AS BIGINT)
			FROM bundles WHERE id = $1
			ON CONFLICT (bundle_id, address) DO UPDATE SET
				confirmed_us = COALESCE(emails.confirmed_us, excluded.confirmed_us)`,
			e.BundleID, addr, e.Consent, us(at), confirmed)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return notFound(e.BundleID)
		}
		// Drop this address's expired tokens and all but its newest few.
		if _, err := tx.ExecContext(ctx, `
			DELETE FROM email_tokens WHERE bundle_id = $1 AND address = $2 AND (expires_us <= $3
				OR token_hash NOT IN (SELECT token_hash FROM email_tokens
					WHERE bundle_id = $1 AND address = $2 ORDER BY expires_us DESC LIMIT $4))`,
			e.BundleID, addr, us(now), maxTokensPerAddress-1); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO email_tokens (token_hash, bundle_id, address, expires_us) VALUES ($1, $2, $3, $4)`,
			hash[:], e.BundleID, addr, us(now.Add(confirmTTL)))
		return err
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return "", err
		}
		return "", fmt.Errorf("store: add email to %q: %w", e.BundleID, err)
	}
	return token, nil
}

// ConfirmEmail confirms the address that token was made for and returns
// it. A token works until it expires, however often it is used (mail
// scanners open links before people do); an unknown or expired token is
// ErrNotFound.
func (s *Store) ConfirmEmail(ctx context.Context, token string) (Email, error) {
	if token == "" || len(token) > maxTokenBytes {
		return Email{}, fmt.Errorf("store: confirmation token: %w", ErrNotFound)
	}
	hash := sha256.Sum256([]byte(token))
	now := us(s.now())
	var e Email
	err := s.tx(ctx, func(tx querier) error {
		err := tx.QueryRowContext(ctx, `SELECT bundle_id, address FROM email_tokens WHERE token_hash = $1 AND expires_us > $2`,
			hash[:], now).Scan(&e.BundleID, &e.Address)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: confirmation token: %w", ErrNotFound)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE emails SET confirmed_us = $3 WHERE bundle_id = $1 AND address = $2 AND confirmed_us IS NULL`,
			e.BundleID, e.Address, now); err != nil {
			return err
		}
		es, err := emails(ctx, tx, `WHERE bundle_id = $1 AND address = $2`, e.BundleID, e.Address)
		if err != nil {
			return err
		}
		if len(es) != 1 {
			return fmt.Errorf("store: confirmation token: %w", ErrNotFound)
		}
		e = es[0]
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return Email{}, err
		}
		return Email{}, fmt.Errorf("store: confirm email: %w", err)
	}
	return e, nil
}

// Emails returns the addresses given at the bundle's email gate in the
// order they were first given; ErrNotFound if there is no such bundle.
func (s *Store) Emails(ctx context.Context, bundleID string) ([]Email, error) {
	if err := checkID(bundleID); err != nil {
		return nil, err
	}
	es, err := emails(ctx, s.db, `WHERE bundle_id = $1 ORDER BY consent_us, address`, bundleID)
	if err == nil && len(es) == 0 {
		err = mustExist(ctx, s.db, bundleID)
	}
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, err
		}
		return nil, fmt.Errorf("store: emails of %q: %w", bundleID, err)
	}
	return es, nil
}

func emails(ctx context.Context, q querier, clause string, args ...any) ([]Email, error) {
	rows, err := q.QueryContext(ctx, `SELECT bundle_id, address, consent, consent_us, confirmed_us FROM emails `+clause, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var es []Email
	for rows.Next() {
		var e Email
		var at int64
		var confirmed sql.NullInt64
		if err := rows.Scan(&e.BundleID, &e.Address, &e.Consent, &at, &confirmed); err != nil {
			return nil, err
		}
		e.ConsentAt, e.Confirmed = fromUS(at), confirmed.Valid
		es = append(es, e)
	}
	return es, rows.Err()
}

// RecordPayment records a confirmed payment. An event id seen before is
// ErrDuplicate, also when another node sharing the database recorded it,
// even at the same moment: the event id is the payments table's key. A
// payment in another currency than the bundle's earlier payments is
// ErrMixedCurrency; an unknown bundle ErrNotFound. A zero At means now.
func (s *Store) RecordPayment(ctx context.Context, p Payment) error {
	if err := checkToken("event id", p.EventID, maxEventIDBytes); err != nil {
		return err
	}
	if err := checkID(p.BundleID); err != nil {
		return err
	}
	if err := checkMoney("payment", p.Money, false); err != nil {
		return err
	}
	if err := checkText("payment email", p.Email, maxEmailBytes, false); err != nil {
		return err
	}
	if p.Session != "" {
		if err := checkToken("session", p.Session, maxSessionBytes); err != nil {
			return err
		}
	}
	at := p.At
	if at.IsZero() {
		at = s.now()
	}
	err := s.tx(ctx, func(tx querier) error {
		res, err := tx.ExecContext(ctx, `
			INSERT INTO payments (event_id, bundle_id, amount, currency, email, session, at_us)
			SELECT CAST($1 AS TEXT), id, CAST($3 AS BIGINT), CAST($4 AS TEXT), CAST($5 AS TEXT), CAST($6 AS TEXT), CAST($7 AS BIGINT)
			FROM bundles WHERE id = $2
			ON CONFLICT (event_id) DO NOTHING`,
			p.EventID, p.BundleID, p.Money.Amount, p.Money.Currency, p.Email, p.Session, us(at))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			if err := mustExist(ctx, tx, p.BundleID); err != nil {
				return err
			}
			return fmt.Errorf("store: payment event %q: %w", p.EventID, ErrDuplicate)
		}
		// The first payment sets the bundle's currency. Under PostgreSQL
		// the update locks the bundle's row, so concurrent payments of one
		// bundle check the currency one at a time.
		res, err = tx.ExecContext(ctx, `UPDATE bundles SET pay_currency = $2 WHERE id = $1 AND (pay_currency IS NULL OR pay_currency = $2)`,
			p.BundleID, p.Money.Currency)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("store: payment event %q in %s: bundle %q takes another currency: %w", p.EventID, p.Money.Currency, p.BundleID, ErrMixedCurrency)
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrDuplicate) || errors.Is(err, ErrMixedCurrency) {
			return err
		}
		return fmt.Errorf("store: record payment %q: %w", p.EventID, err)
	}
	return nil
}

// Payments returns the bundle's payments in the order they were made;
// ErrNotFound if there is no such bundle.
func (s *Store) Payments(ctx context.Context, bundleID string) ([]Payment, error) {
	if err := checkID(bundleID); err != nil {
		return nil, err
	}
	ps, err := s.payments(ctx, bundleID)
	if err == nil && len(ps) == 0 {
		err = mustExist(ctx, s.db, bundleID)
	}
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, err
		}
		return nil, fmt.Errorf("store: payments of %q: %w", bundleID, err)
	}
	return ps, nil
}

func (s *Store) payments(ctx context.Context, bundleID string) ([]Payment, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT event_id, bundle_id, amount, currency, email, session, at_us
		FROM payments WHERE bundle_id = $1 ORDER BY at_us, event_id`, bundleID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ps []Payment
	for rows.Next() {
		var p Payment
		var at int64
		if err := rows.Scan(&p.EventID, &p.BundleID, &p.Money.Amount, &p.Money.Currency, &p.Email, &p.Session, &at); err != nil {
			return nil, err
		}
		p.At = fromUS(at)
		ps = append(ps, p)
	}
	return ps, rows.Err()
}

// Totals returns the bundle's campaign figures: its payments counted as
// backers and summed. With no payment yet the total is zero in the
// currency of the campaign's pledge, or else of its first priced file.
// ErrNotFound if there is no such bundle.
func (s *Store) Totals(ctx context.Context, bundleID string) (Totals, error) {
	if err := checkID(bundleID); err != nil {
		return Totals{}, err
	}
	var t Totals
	var lo, hi string
	err := s.db.QueryRowContext(ctx, `
		SELECT COALESCE(pay_currency, pledge_currency,
			(SELECT price_currency FROM bundle_files
				WHERE bundle_id = bundles.id AND gate = 'price' ORDER BY idx LIMIT 1), '')
		FROM bundles WHERE id = $1`, bundleID).Scan(&t.Pledged.Currency)
	if errors.Is(err, sql.ErrNoRows) {
		return Totals{}, notFound(bundleID)
	}
	if err == nil {
		err = s.db.QueryRowContext(ctx, `
			SELECT COUNT(*), CAST(COALESCE(SUM(amount), 0) AS BIGINT), COALESCE(MIN(currency), ''), COALESCE(MAX(currency), '')
			FROM payments WHERE bundle_id = $1`, bundleID).Scan(&t.Backers, &t.Pledged.Amount, &lo, &hi)
	}
	if err != nil {
		return Totals{}, fmt.Errorf("store: totals of %q: %w", bundleID, err)
	}
	if lo != hi {
		// RecordPayment refuses this; a hand-edited database may not.
		return Totals{}, fmt.Errorf("store: totals of %q: payments in %s and %s: %w", bundleID, lo, hi, ErrMixedCurrency)
	}
	if t.Backers > 0 {
		t.Pledged.Currency = lo
	}
	return t, nil
}

// Grant records that u.Session may have the keys of u.BundleID's files of
// gate u.Gate until u.Expires. Granting again extends an unlock, never
// shortens it, and keeps its first At. A zero At means now. ErrNotFound if
// there is no such bundle.
func (s *Store) Grant(ctx context.Context, u Unlock) error {
	if err := checkToken("session", u.Session, maxSessionBytes); err != nil {
		return err
	}
	if err := checkID(u.BundleID); err != nil {
		return err
	}
	if u.Gate != GateEmail && u.Gate != GatePrice {
		return invalid("unlock gate %q: want %s or %s", trunc(u.Gate), GateEmail, GatePrice)
	}
	at := u.At
	if at.IsZero() {
		at = s.now()
	}
	if !u.Expires.After(at) {
		return invalid("unlock of %q: expires %v, not after %v", u.BundleID, u.Expires, at)
	}
	res, err := s.db.ExecContext(ctx, `
		INSERT INTO unlocks (session, bundle_id, gate, at_us, expires_us)
		SELECT CAST($1 AS TEXT), id, CAST($3 AS TEXT), CAST($4 AS BIGINT), CAST($5 AS BIGINT)
		FROM bundles WHERE id = $2
		ON CONFLICT (session, bundle_id, gate) DO UPDATE SET expires_us =
			CASE WHEN excluded.expires_us > unlocks.expires_us THEN excluded.expires_us ELSE unlocks.expires_us END`,
		u.Session, u.BundleID, u.Gate, us(at), us(u.Expires))
	if err != nil {
		return fmt.Errorf("store: grant %s unlock of %q: %w", u.Gate, u.BundleID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: grant %s unlock of %q: %w", u.Gate, u.BundleID, err)
	} else if n == 0 {
		return notFound(u.BundleID)
	}
	return nil
}

// Unlocked returns the gates (GateEmail, GatePrice, sorted) of the bundle
// that the session has unlocked and that have not expired at now. An
// unknown session or bundle has none.
func (s *Store) Unlocked(ctx context.Context, session, bundleID string, now time.Time) ([]string, error) {
	if err := checkToken("session", session, maxSessionBytes); err != nil {
		return nil, err
	}
	if err := checkID(bundleID); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `
		SELECT gate FROM unlocks WHERE session = $1 AND bundle_id = $2 AND expires_us > $3 ORDER BY gate`,
		session, bundleID, us(now))
	if err != nil {
		return nil, fmt.Errorf("store: unlocks of %q: %w", bundleID, err)
	}
	defer rows.Close()
	var gates []string
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			return nil, fmt.Errorf("store: unlocks of %q: %w", bundleID, err)
		}
		gates = append(gates, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: unlocks of %q: %w", bundleID, err)
	}
	return gates, nil
}

// Unlocks returns every unlock of the bundle, expired ones too, in the
// order they were granted: the artist's view counts them. ErrNotFound if
// there is no such bundle.
func (s *Store) Unlocks(ctx context.Context, bundleID string) ([]Unlock, error) {
	if err := checkID(bundleID); err != nil {
		return nil, err
	}
	list, err := s.unlocks(ctx, bundleID)
	if err == nil && len(list) == 0 {
		err = mustExist(ctx, s.db, bundleID)
	}
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, err
		}
		return nil, fmt.Errorf("store: unlocks of %q: %w", bundleID, err)
	}
	return list, nil
}

func (s *Store) unlocks(ctx context.Context, bundleID string) ([]Unlock, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT session, bundle_id, gate, at_us, expires_us
		FROM unlocks WHERE bundle_id = $1 ORDER BY at_us, session, gate`, bundleID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []Unlock
	for rows.Next() {
		var u Unlock
		var at, exp int64
		if err := rows.Scan(&u.Session, &u.BundleID, &u.Gate, &at, &exp); err != nil {
			return nil, err
		}
		u.At, u.Expires = fromUS(at), fromUS(exp)
		list = append(list, u)
	}
	return list, rows.Err()
}

// Secret returns the node's secret for signing session cookies: 32 random
// bytes made on the first call ever and the same ever after, across
// restarts, and for every node sharing a PostgreSQL database (the first
// to insert it wins; the others read its).
func (s *Store) Secret(ctx context.Context) ([]byte, error) {
	s.secretMu.Lock()
	defer s.secretMu.Unlock()
	if s.secret == nil {
		b := make([]byte, secretBytes)
		rand.Read(b)
		res, err := s.db.ExecContext(ctx, `INSERT INTO secrets (name, value, created_us) VALUES ('session', $1, $2) ON CONFLICT (name) DO NOTHING`,
			b, us(s.now()))
		if err != nil {
			return nil, fmt.Errorf("store: session secret: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			s.log.Info("session secret created", "db", s.where)
		}
		var v []byte
		if err := s.db.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = 'session'`).Scan(&v); err != nil {
			return nil, fmt.Errorf("store: session secret: %w", err)
		}
		if len(v) != secretBytes {
			return nil, fmt.Errorf("store: session secret has %d bytes, want %d; the secrets table of %s was changed by hand", len(v), secretBytes, s.where)
		}
		s.secret = v
	}
	return append([]byte(nil), s.secret...), nil
}

// CountDownload counts one download of the bundle's file at path.
// ErrNotFound if the bundle has no such file.
func (s *Store) CountDownload(ctx context.Context, bundleID, path string) error {
	if err := checkID(bundleID); err != nil {
		return err
	}
	if err := checkPath("download path", path); err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `
		INSERT INTO downloads (bundle_id, path, count)
		SELECT bundle_id, path, 1 FROM bundle_files WHERE bundle_id = $1 AND path = $2
		ON CONFLICT (bundle_id, path) DO UPDATE SET count = downloads.count + 1`, bundleID, path)
	if err != nil {
		return fmt.Errorf("store: count download of %q: %w", bundleID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: count download of %q: %w", bundleID, err)
	} else if n == 0 {
		return fmt.Errorf("store: bundle %q, file %q: %w", bundleID, trunc(path), ErrNotFound)
	}
	return nil
}

// Downloads returns the bundle's download counts by file path; files never
// downloaded are absent. ErrNotFound if there is no such bundle.
func (s *Store) Downloads(ctx context.Context, bundleID string) (map[string]int64, error) {
	if err := checkID(bundleID); err != nil {
		return nil, err
	}
	counts, err := s.downloads(ctx, bundleID)
	if err == nil && len(counts) == 0 {
		err = mustExist(ctx, s.db, bundleID)
	}
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, err
		}
		return nil, fmt.Errorf("store: downloads of %q: %w", bundleID, err)
	}
	return counts, nil
}

func (s *Store) downloads(ctx context.Context, bundleID string) (map[string]int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT path, count FROM downloads WHERE bundle_id = $1`, bundleID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	counts := map[string]int64{}
	for rows.Next() {
		var p string
		var n int64
		if err := rows.Scan(&p, &n); err != nil {
			return nil, err
		}
		counts[p] = n
	}
	return counts, rows.Err()
}
