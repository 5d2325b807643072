-- The append-only event log: the truth. `seq` is global and gap-free.
CREATE TABLE events (
    seq     INTEGER PRIMARY KEY,
    site    TEXT    NOT NULL,
    day     TEXT    NOT NULL,
    at_ms   INTEGER NOT NULL,
    kind    TEXT    NOT NULL,
    ticket  INTEGER,
    body    TEXT    NOT NULL
) STRICT;
-- Recovery looks up a site's last `day_opened` checkpoint.
CREATE INDEX events_site_kind ON events (site, kind, seq);

-- One row per ticket per day, every timestamp of its life: what reports read.
CREATE TABLE tickets (
    site           TEXT    NOT NULL,
    id             INTEGER NOT NULL,
    day            TEXT    NOT NULL,
    number         TEXT    NOT NULL,
    service        TEXT    NOT NULL,
    first_service  TEXT    NOT NULL,
    channel        TEXT    NOT NULL,
    priority       TEXT,
    state          TEXT    NOT NULL,
    issued_day     TEXT    NOT NULL,
    issued_at      INTEGER NOT NULL,
    called_at      INTEGER,
    last_called_at INTEGER,
    started_at     INTEGER,
    finished_at    INTEGER,
    no_show_at     INTEGER,
    service_s      INTEGER,
    counter        TEXT,
    official       TEXT,
    call_reason    TEXT,
    recalls        INTEGER NOT NULL DEFAULT 0,
    transfers      INTEGER NOT NULL DEFAULT 0,
    transfer_note  TEXT,
    rating         INTEGER,
    rating_reason  TEXT,
    rated_at       INTEGER,
    PRIMARY KEY (site, id)
) STRICT;
CREATE INDEX tickets_day ON tickets (site, day);

-- Every configuration the server ran with, so history can be read with the names of its day.
CREATE TABLE config_versions (
    version INTEGER PRIMARY KEY,
    at_ms   INTEGER NOT NULL,
    digest  TEXT    NOT NULL,
    toml    TEXT    NOT NULL
) STRICT;
