-- The first schema: bundles with their files and the keys of gated files;
-- the emails, payments and unlocks of their gates; download counts; the
-- node's session secret.
--
-- Times are microseconds since the Unix epoch (UTC) in INTEGER columns
-- named *_us, in both dialects, so that one set of queries compares them
-- alike. Keep this file and postgres/0001_init.sql in step.

CREATE TABLE bundles (
	id              TEXT PRIMARY KEY,
	title           TEXT NOT NULL,
	artist          TEXT NOT NULL,
	description     TEXT NOT NULL,
	poster          TEXT NOT NULL,           -- a path among its files, or ''
	infohash        TEXT NOT NULL UNIQUE,    -- 40 lowercase hex digits
	goal_backers    INTEGER,                 -- NULL: no campaign
	pledge_amount   INTEGER,                 -- a backer's pledge, minor units
	pledge_currency TEXT,
	ends_us         INTEGER,                 -- NULL: the campaign has no end
	pay_currency    TEXT,                    -- set by its first payment; later ones must match
	created_us      INTEGER NOT NULL
) STRICT;

CREATE TABLE bundle_files (
	bundle_id      TEXT NOT NULL REFERENCES bundles (id) ON DELETE CASCADE,
	idx            INTEGER NOT NULL,         -- the file's place in the bundle
	path           TEXT NOT NULL,
	gate           TEXT NOT NULL CHECK (gate IN ('free', 'email', 'price')),
	price_amount   INTEGER NOT NULL CHECK (price_amount >= 0),
	price_currency TEXT NOT NULL,
	length         INTEGER NOT NULL CHECK (length >= 0),
	PRIMARY KEY (bundle_id, path),
	UNIQUE (bundle_id, idx)
) STRICT;

-- Only gated files have keys. Replacing a bundle's files drops their keys.
CREATE TABLE file_keys (
	bundle_id TEXT NOT NULL,
	path      TEXT NOT NULL,
	aes_key   BLOB NOT NULL CHECK (length(aes_key) = 32),
	iv        BLOB NOT NULL CHECK (length(iv) = 16),
	PRIMARY KEY (bundle_id, path),
	FOREIGN KEY (bundle_id, path) REFERENCES bundle_files (bundle_id, path) ON DELETE CASCADE
) STRICT;

CREATE TABLE emails (
	bundle_id    TEXT NOT NULL REFERENCES bundles (id),
	address      TEXT NOT NULL,              -- with its domain in lower case
	consent      TEXT NOT NULL,              -- the wording agreed to
	consent_us   INTEGER NOT NULL,           -- the first time it was given
	confirmed_us INTEGER,                    -- NULL: not confirmed yet
	PRIMARY KEY (bundle_id, address)
) STRICT;
CREATE INDEX emails_by_consent ON emails (bundle_id, consent_us);

-- Confirmation tokens, by their SHA-256: the token itself is only mailed.
CREATE TABLE email_tokens (
	token_hash BLOB PRIMARY KEY CHECK (length(token_hash) = 32),
	bundle_id  TEXT NOT NULL,
	address    TEXT NOT NULL,
	expires_us INTEGER NOT NULL,
	FOREIGN KEY (bundle_id, address) REFERENCES emails (bundle_id, address) ON DELETE CASCADE
) STRICT;
CREATE INDEX email_tokens_by_address ON email_tokens (bundle_id, address, expires_us);

-- The provider's event id is the key: a replayed event cannot count twice,
-- even when several nodes share the database.
CREATE TABLE payments (
	event_id  TEXT PRIMARY KEY,
	bundle_id TEXT NOT NULL REFERENCES bundles (id),
	amount    INTEGER NOT NULL CHECK (amount >= 0),
	currency  TEXT NOT NULL,
	email     TEXT NOT NULL,
	session   TEXT NOT NULL,
	at_us     INTEGER NOT NULL
) STRICT;
CREATE INDEX payments_by_bundle ON payments (bundle_id, at_us);

CREATE TABLE unlocks (
	session    TEXT NOT NULL,
	bundle_id  TEXT NOT NULL REFERENCES bundles (id),
	gate       TEXT NOT NULL CHECK (gate IN ('email', 'price')),
	at_us      INTEGER NOT NULL,
	expires_us INTEGER NOT NULL,
	PRIMARY KEY (session, bundle_id, gate)
) STRICT;
CREATE INDEX unlocks_by_expiry ON unlocks (expires_us);

-- Not tied to bundle_files, so that replacing a bundle keeps its counts.
CREATE TABLE downloads (
	bundle_id TEXT NOT NULL REFERENCES bundles (id),
	path      TEXT NOT NULL,
	count     INTEGER NOT NULL CHECK (count >= 0),
	PRIMARY KEY (bundle_id, path)
) STRICT;

CREATE TABLE secrets (
	name       TEXT PRIMARY KEY,
	value      BLOB NOT NULL,
	created_us INTEGER NOT NULL
) STRICT;
