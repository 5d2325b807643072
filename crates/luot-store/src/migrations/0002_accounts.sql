-- Officials, managers and admins. Passwords are argon2id PHC strings.
CREATE TABLE users (
    login         TEXT    PRIMARY KEY,
    display_name  TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('official', 'manager', 'admin')),
    password_hash TEXT    NOT NULL,
    -- Counter codes this official may work at, comma separated ("site/counter" or "counter").
    counters      TEXT    NOT NULL DEFAULT '',
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
) STRICT;

-- Login sessions. Only a hash of the cookie's token is stored.
CREATE TABLE sessions (
    token_hash  TEXT    PRIMARY KEY,
    login       TEXT    NOT NULL REFERENCES users (login) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL
) STRICT;

-- Paired devices: kiosks, hall displays, counter displays, rating tablets.
CREATE TABLE devices (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL CHECK (kind IN ('kiosk', 'display', 'counter_display', 'rating')),
    name        TEXT    NOT NULL,
    site        TEXT    NOT NULL,
    counter     TEXT,
    token_hash  TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
) STRICT;

-- Who changed what, when.
CREATE TABLE audit (
    id      INTEGER PRIMARY KEY,
    at_ms   INTEGER NOT NULL,
    actor   TEXT    NOT NULL,
    action  TEXT    NOT NULL,
    detail  TEXT    NOT NULL
) STRICT;
