//! Integrations: API tokens, webhook endpoints and the webhook outbox (migration 0008).
//!
//! Outbox rows are written by the event writer in the same transaction as the events that
//! caused them ([`Store::append_with_outbox`](crate::Store::append_with_outbox)); the server's
//! delivery task reads and updates them on its own connection. Everything else here is a rare
//! write on the accounts connection.

use crate::StoreError;
use rusqlite::{Connection, OptionalExtension, params};

/// A delivery to queue: written with the event that caused it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxRow {
    pub webhook: i64,
    /// The event's id, the same for every endpoint (`X-Luot-Event-Id`).
    pub event_id: String,
    /// `ticket.issued`, `ticket.near`, …
    pub kind: String,
    /// `site/ticket id`: one ticket's deliveries go out in order.
    pub ticket_key: String,
    /// The JSON body, as it will be sent.
    pub body: String,
    pub created_at: i64,
}

/// An API token as kept (never the token itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_by: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// A webhook endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    pub events: Vec<String>,
    /// `ticket.near` fires when this many people or fewer are ahead.
    pub near: u32,
    pub secret: String,
    pub enabled: bool,
    pub created_at: i64,
    /// Deliveries not queued because the outbox was full.
    pub dropped: i64,
}

/// One outbox row: a delivery, pending or done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub webhook: i64,
    pub event_id: String,
    pub kind: String,
    pub ticket_key: String,
    pub body: String,
    pub created_at: i64,
    pub since: i64,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i64,
    pub next_at: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub last_at: Option<i64>,
}

fn split(s: String) -> Vec<String> {
    s.split(',')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

const TOKEN_COLUMNS: &str = "id, name, scopes, created_by, created_at, last_used_at, revoked_at";
fn token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ApiToken> {
    Ok(ApiToken {
        id: r.get(0)?,
        name: r.get(1)?,
        scopes: split(r.get(2)?),
        created_by: r.get(3)?,
        created_at: r.get(4)?,
        last_used_at: r.get(5)?,
        revoked_at: r.get(6)?,
    })
}

const WEBHOOK_COLUMNS: &str = "id, url, events, near, secret, enabled, created_at, dropped";
fn webhook_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Webhook> {
    Ok(Webhook {
        id: r.get(0)?,
        url: r.get(1)?,
        events: split(r.get(2)?),
        near: r.get::<_, i64>(3)?.clamp(0, u32::MAX as i64) as u32,
        secret: r.get(4)?,
        enabled: r.get::<_, i64>(5)? != 0,
        created_at: r.get(6)?,
        dropped: r.get(7)?,
    })
}

const DELIVERY_COLUMNS: &str = "id, webhook, event_id, type, ticket_key, body, created_at, since, state, attempts, next_at, last_status, last_error, last_at";
fn delivery_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Delivery> {
    Ok(Delivery {
        id: r.get(0)?,
        webhook: r.get(1)?,
        event_id: r.get(2)?,
        kind: r.get(3)?,
        ticket_key: r.get(4)?,
        body: r.get(5)?,
        created_at: r.get(6)?,
        since: r.get(7)?,
        state: r.get(8)?,
        attempts: r.get(9)?,
        next_at: r.get(10)?,
        last_status: r.get(11)?,
        last_error: r.get(12)?,
        last_at: r.get(13)?,
    })
}

/// Writes outbox rows inside the caller's transaction, up to `max_pending` pending rows in all;
/// a row past the limit is not queued and counted on its endpoint (`webhooks.dropped`).
pub(crate) fn insert_outbox(
    tx: &rusqlite::Transaction<'_>,
    rows: &[OutboxRow],
    max_pending: u64,
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut pending: i64 = tx.query_row(
        "SELECT count(*) FROM webhook_outbox WHERE state = 'pending'",
        [],
        |r| r.get(0),
    )?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO webhook_outbox (webhook, event_id, type, ticket_key, body, created_at, since, state, next_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, 'pending', ?6)",
    )?;
    let mut dropped =
        tx.prepare_cached("UPDATE webhooks SET dropped = dropped + 1 WHERE id = ?1")?;
    for r in rows {
        if pending as u64 >= max_pending {
            dropped.execute([r.webhook])?;
            tracing::warn!(webhook = r.webhook, event = %r.event_id, "webhook outbox full: delivery dropped");
            continue;
        }
        insert.execute(params![
            r.webhook,
            r.event_id,
            r.kind,
            r.ticket_key,
            r.body,
            r.created_at
        ])?;
        pending += 1;
    }
    Ok(())
}

/// Tokens, webhooks and deliveries, on any connection to a Luot database.
pub trait Integrations {
    fn conn(&self) -> &Connection;

    fn add_token(
        &self,
        name: &str,
        scopes: &[String],
        token_hash: &str,
        created_by: &str,
        at_ms: i64,
    ) -> Result<i64, StoreError> {
        self.conn().execute(
            "INSERT INTO api_tokens (name, scopes, token_hash, created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![name, scopes.join(","), token_hash, created_by, at_ms],
        )?;
        Ok(self.conn().last_insert_rowid())
    }

    /// A token by its hash, revoked or not.
    fn token_by_hash(&self, token_hash: &str) -> Result<Option<ApiToken>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = ?1"),
                [token_hash],
                token_row,
            )
            .optional()?)
    }

    fn tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY id"
        ))?;
        let rows = stmt.query_map([], token_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Tokens not revoked.
    fn active_tokens(&self) -> Result<i64, StoreError> {
        Ok(self.conn().query_row(
            "SELECT count(*) FROM api_tokens WHERE revoked_at IS NULL",
            [],
            |r| r.get(0),
        )?)
    }

    fn revoke_token(&self, id: i64, at_ms: i64) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            params![id, at_ms],
        )?;
        Ok(n == 1)
    }

    /// Notes a token's use (the caller writes at most once a minute per token).
    fn token_used(&self, id: i64, at_ms: i64) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1",
            params![id, at_ms],
        )?;
        Ok(())
    }

    fn add_webhook(
        &self,
        url: &str,
        events: &[String],
        near: u32,
        secret: &str,
        at_ms: i64,
    ) -> Result<i64, StoreError> {
        self.conn().execute(
            "INSERT INTO webhooks (url, events, near, secret, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![url, events.join(","), near as i64, secret, at_ms],
        )?;
        Ok(self.conn().last_insert_rowid())
    }

    fn webhooks(&self) -> Result<Vec<Webhook>, StoreError> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks ORDER BY id"
        ))?;
        let rows = stmt.query_map([], webhook_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn set_webhook_enabled(&self, id: i64, enabled: bool) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "UPDATE webhooks SET enabled = ?2 WHERE id = ?1",
            params![id, enabled as i64],
        )?;
        Ok(n == 1)
    }

    /// Removes an endpoint and its deliveries, pending or logged, in one transaction.
    fn remove_webhook(&self, id: i64) -> Result<bool, StoreError> {
        let tx = self.conn().unchecked_transaction()?;
        let n = tx.execute("DELETE FROM webhooks WHERE id = ?1", [id])?;
        tx.execute("DELETE FROM webhook_outbox WHERE webhook = ?1", [id])?;
        tx.commit()?;
        Ok(n == 1)
    }

    /// Pending deliveries of enabled endpoints due at `now_ms`, oldest first, at most `limit`:
    /// for each ticket only its oldest pending one (the next waits for it), so one ticket's
    /// events keep their order. A disabled endpoint's deliveries wait.
    fn due_deliveries(&self, now_ms: i64, limit: usize) -> Result<Vec<Delivery>, StoreError> {
        let cols = DELIVERY_COLUMNS
            .split(", ")
            .map(|c| format!("o.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT {cols} FROM webhook_outbox o WHERE o.state = 'pending' AND o.next_at <= ?1 \
             AND NOT EXISTS (SELECT 1 FROM webhook_outbox p WHERE p.webhook = o.webhook \
             AND p.ticket_key = o.ticket_key AND p.state = 'pending' AND p.id < o.id) \
             AND o.webhook IN (SELECT id FROM webhooks WHERE enabled = 1) \
             ORDER BY o.id LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![now_ms, limit as i64], delivery_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// When the next pending delivery falls due, if any.
    fn next_due(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.conn().query_row(
            "SELECT min(next_at) FROM webhook_outbox WHERE state = 'pending'",
            [],
            |r| r.get(0),
        )?)
    }

    /// Records an attempt: `state` is `delivered`, `failed` or `pending` (retry at `next_at`).
    fn record_attempt(
        &self,
        id: i64,
        state: &str,
        next_at: i64,
        status: Option<u16>,
        error: Option<&str>,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE webhook_outbox SET state = ?2, attempts = attempts + 1, next_at = ?3, last_status = ?4, last_error = ?5, last_at = ?6 WHERE id = ?1",
            params![id, state, next_at, status.map(i64::from), error, at_ms],
        )?;
        Ok(())
    }

    /// "Send again": the delivery goes back to pending, due now, with a new retry window.
    fn resend(&self, id: i64, now_ms: i64) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "UPDATE webhook_outbox SET state = 'pending', next_at = ?2, since = ?2 WHERE id = ?1",
            params![id, now_ms],
        )?;
        Ok(n == 1)
    }

    /// At start: every pending delivery is due now (a restart retries at once).
    fn pending_due_now(&self, now_ms: i64) -> Result<usize, StoreError> {
        Ok(self.conn().execute(
            "UPDATE webhook_outbox SET next_at = ?1 WHERE state = 'pending' AND next_at > ?1",
            [now_ms],
        )?)
    }

    fn delivery(&self, id: i64) -> Result<Option<Delivery>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {DELIVERY_COLUMNS} FROM webhook_outbox WHERE id = ?1"),
                [id],
                delivery_row,
            )
            .optional()?)
    }

    /// The latest deliveries of an endpoint, newest first.
    fn deliveries(&self, webhook: i64, limit: usize) -> Result<Vec<Delivery>, StoreError> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_outbox WHERE webhook = ?1 ORDER BY id DESC LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![webhook, limit as i64], delivery_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Pending deliveries in all.
    fn pending_deliveries(&self) -> Result<i64, StoreError> {
        Ok(self.conn().query_row(
            "SELECT count(*) FROM webhook_outbox WHERE state = 'pending'",
            [],
            |r| r.get(0),
        )?)
    }

    /// Forgets delivered and failed rows of each endpoint beyond its latest `keep`.
    fn prune_deliveries(&self, keep: usize) -> Result<usize, StoreError> {
        Ok(self.conn().execute(
            "DELETE FROM webhook_outbox WHERE state != 'pending' AND id IN (\
               SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY webhook ORDER BY id DESC) AS n \
               FROM webhook_outbox WHERE state != 'pending') WHERE n > ?1)",
            [keep as i64],
        )?)
    }
}

impl Integrations for Connection {
    fn conn(&self) -> &Connection {
        self
    }
}
