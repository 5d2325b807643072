-- Backups this database knows of: daily ones the server takes, the one taken before a migration,
-- and `luot backup`. An operator (and the health page, later) can see when the last one ran.
CREATE TABLE backups (
    id        INTEGER PRIMARY KEY,
    at_ms     INTEGER NOT NULL,
    -- `daily`, `pre_migration` or `manual`.
    kind      TEXT    NOT NULL,
    path      TEXT    NOT NULL,
    bytes     INTEGER NOT NULL,
    -- SHA-256 of the whole archive file, hex.
    sha256    TEXT    NOT NULL,
    -- The last event in the archive's copy of the log.
    last_seq  INTEGER NOT NULL,
    schema_version INTEGER NOT NULL
) STRICT;
CREATE INDEX backups_at ON backups (at_ms);
