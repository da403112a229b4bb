-- The migrator's own table: one row per migration applied, by version.
-- It runs before the numbered files, inside the same transaction.
CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	applied_us INTEGER NOT NULL
) STRICT;
