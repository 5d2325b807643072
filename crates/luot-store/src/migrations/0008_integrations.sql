-- API tokens for scripts and portals (issue #15 item 4). Only a SHA-256 of the token is kept:
-- the token is 256 random bits, so a fast hash is as strong as a slow one (nothing to guess).
CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    -- Comma separated: read, book, webhooks.
    scopes      TEXT    NOT NULL,
    token_hash  TEXT    NOT NULL UNIQUE,
    created_by  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at  INTEGER
) STRICT;

-- Webhook endpoints. The secret signs deliveries (HMAC-SHA256), so it is kept as made.
CREATE TABLE webhooks (
    id          INTEGER PRIMARY KEY,
    url         TEXT    NOT NULL,
    -- Comma separated event types (ticket.issued, ticket.near, ticket.called, ...).
    events      TEXT    NOT NULL,
    -- "ticket.near" fires when this many people or fewer are ahead.
    near        INTEGER NOT NULL DEFAULT 3,
    secret      TEXT    NOT NULL,
    enabled     INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL,
    -- Deliveries not queued because the outbox was full.
    dropped     INTEGER NOT NULL DEFAULT 0
) STRICT;

-- The outbox: one row per delivery, written in the same transaction as the event that caused
-- it; the delivery task sends pending rows and keeps the latest ones as the delivery log.
CREATE TABLE webhook_outbox (
    id          INTEGER PRIMARY KEY,
    webhook     INTEGER NOT NULL,
    event_id    TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    -- "site/ticket id": deliveries of one ticket go out in order.
    ticket_key  TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    -- Start of the retry window (creation, or the last "send again").
    since       INTEGER NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     INTEGER NOT NULL,
    last_status INTEGER,
    last_error  TEXT,
    last_at     INTEGER
) STRICT;
CREATE INDEX webhook_outbox_state ON webhook_outbox (state, webhook, id);
CREATE INDEX webhook_outbox_ticket ON webhook_outbox (webhook, ticket_key, id);
