-- The migrator's own table: one row per migration applied, by version.
-- It runs before the numbered files, inside the same transaction, after the
-- migrator has taken its advisory lock (so two nodes starting together do
-- not race on CREATE TABLE).
CREATE TABLE IF NOT EXISTS schema_migrations (
	version    BIGINT PRIMARY KEY,
	name       TEXT NOT NULL,
	applied_us BIGINT NOT NULL
);
