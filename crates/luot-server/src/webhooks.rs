//! Webhooks: signed JSON POSTs to the endpoints an admin configured, for ticket events (issued,
//! N near, called, completed, rated; `booking.made` / `booking.cancelled` are reserved names for
//! the booking routes to come).
//!
//! The broker decides the deliveries an event causes ([`deliveries_for`]) and hands them to the
//! store's writer with the events: they commit in the same transaction (`webhook_outbox`), so a
//! durable event always has its deliveries and a crash loses neither. A separate task
//! ([`spawn_delivery`]) reads due rows on its own connection and POSTs them; the broker never
//! waits on a receiver. At least once: a row is marked delivered only after a 2xx, so a crash
//! between the POST and the mark sends it again (receivers dedupe on `X-Luot-Event-Id`). One
//! ticket's deliveries to an endpoint go out in order: a row waits while an older row of the
//! same ticket is pending. Failures retry with exponential back-off for
//! [`RETRY_WINDOW_MS`], then the row is marked failed (the admin page can send it again).

use crate::App;
use luot_core::{Event, Site, TicketId};
use luot_store::{Delivery, Integrations, OutboxRow, Record};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// Webhook endpoints at most (a small number: each is a delivery stream).
pub const WEBHOOKS_MAX: usize = 16;
/// Longest endpoint URL, in bytes.
pub const URL_LEN_MAX: usize = 2_048;
/// Largest delivery body, in bytes; a larger one is marked failed without being sent.
pub const BODY_MAX: usize = 16 * 1024;
/// Time to connect to a receiver, and for the whole request.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Deliveries are retried for this long after they were queued (or sent again), then failed.
pub const RETRY_WINDOW_MS: i64 = 24 * 3600 * 1000;
/// The first retry waits this long, each next one twice as long, up to [`RETRY_DELAY_MAX`].
pub const RETRY_FIRST: Duration = Duration::from_secs(2);
pub const RETRY_DELAY_MAX: Duration = Duration::from_secs(3600);
/// Due deliveries read at once.
pub const DELIVERY_BATCH: usize = 64;
/// Finished deliveries kept per endpoint for the delivery log.
pub const DELIVERY_LOG_KEEP: usize = 200;
/// The delivery task looks at the outbox at least this often (it is also woken by commits).
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// `ticket.near` fires when this many people or fewer are ahead, unless the webhook says.
pub const NEAR_DEFAULT: u32 = 3;
pub const NEAR_MAX: u32 = 50;
/// Longest error text kept for a delivery.
const ERROR_LEN_MAX: usize = 300;
/// The system's CA certificates (Debian), for HTTPS receivers.
const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Event types a webhook can ask for. The `booking.*` ones are reserved for the booking routes
/// (issue #15 item 2): accepted now, sent once bookings exist.
pub const EVENT_TYPES: [&str; 7] = [
    ISSUED,
    NEAR,
    CALLED,
    COMPLETED,
    RATED,
    "booking.made",
    "booking.cancelled",
];
pub const ISSUED: &str = "ticket.issued";
pub const NEAR: &str = "ticket.near";
pub const CALLED: &str = "ticket.called";
pub const COMPLETED: &str = "ticket.completed";
pub const RATED: &str = "ticket.rated";

/// What the broker needs of an endpoint.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub id: i64,
    pub events: Vec<String>,
    pub near: u32,
    pub enabled: bool,
}

impl Endpoint {
    fn wants(&self, kind: &str) -> bool {
        self.enabled && self.events.iter().any(|e| e == kind)
    }
}

/// The endpoints, shared by the REST handlers (which change them) and the broker (which reads
/// them for every job), and the delivery task's wake-up.
#[derive(Debug, Default)]
pub struct Hooks {
    endpoints: RwLock<Arc<Vec<Endpoint>>>,
    generation: AtomicU64,
    pub wake: tokio::sync::Notify,
    /// The first retry's delay and the retry window (shorter in tests).
    pub retry_first: Duration,
    pub retry_window_ms: i64,
}

impl Hooks {
    pub fn new(retry_first: Duration, retry_window_ms: i64) -> Hooks {
        Hooks {
            retry_first,
            retry_window_ms,
            generation: AtomicU64::new(1),
            ..Default::default()
        }
    }

    /// Replaces the endpoints (after a change in the database).
    pub fn set(&self, list: &[luot_store::Webhook]) {
        let v = list
            .iter()
            .map(|w| Endpoint {
                id: w.id,
                events: w.events.clone(),
                near: w.near,
                enabled: w.enabled,
            })
            .collect();
        *self.endpoints.write().expect("hooks lock") = Arc::new(v);
        self.generation.fetch_add(1, Ordering::Release);
    }

    pub fn current(&self) -> (u64, Arc<Vec<Endpoint>>) {
        let list = self.endpoints.read().expect("hooks lock").clone();
        (self.generation.load(Ordering::Acquire), list)
    }
}

/// The broker's memory of which tickets each endpoint was told are near ("N near"): only the
/// first time a ticket gets within N is sent. Rebuilt from the state (every ticket already
/// within N counts as told) at start, after a failed commit and when the endpoints change —
/// true because a ticket's "near" delivery commits with the event that brought it within N.
#[derive(Debug, Default)]
pub struct AwaySeen {
    generation: u64,
    told: HashSet<(i64, usize, TicketId)>,
}

impl AwaySeen {
    /// Brings the memory up to date with the endpoints before a command is decided.
    pub fn sync(&mut self, hooks: &Hooks, sites: &[Site]) {
        let (generation, endpoints) = hooks.current();
        if generation != self.generation {
            self.generation = generation;
            self.reseed(&endpoints, sites);
        }
    }

    pub fn reseed(&mut self, endpoints: &[Endpoint], sites: &[Site]) {
        self.told.clear();
        for e in endpoints.iter().filter(|e| e.wants(NEAR)) {
            for (si, site) in sites.iter().enumerate() {
                for (id, ahead) in site.front_of_lines(e.near) {
                    if ahead <= e.near {
                        self.told.insert((e.id, si, id));
                    }
                }
            }
        }
    }

    /// Forces a rebuild at the next `sync` (after a failed commit).
    pub fn invalidate(&mut self) {
        self.generation = 0;
    }
}

/// The deliveries a job's records cause, decided on the state after them (`spec`).
pub fn deliveries_for(
    hooks: &Hooks,
    seen: &mut AwaySeen,
    site_index: usize,
    spec: &Site,
    records: &[Record],
) -> Vec<OutboxRow> {
    let (_, endpoints) = hooks.current();
    if !endpoints.iter().any(|e| e.enabled) || records.is_empty() {
        return Vec::new();
    }
    let site = records[0].site.to_string();
    let mut out = Vec::new();
    let mut push =
        |kind: &str, event_id: String, ticket: TicketId, at_ms: i64, data: serde_json::Value| {
            let body = serde_json::json!({
                "id": event_id,
                "type": kind,
                "created_at": rfc3339(at_ms),
                "site": site,
                "data": data,
            })
            .to_string();
            for e in endpoints.iter().filter(|e| e.wants(kind)) {
                out.push(OutboxRow {
                    webhook: e.id,
                    event_id: event_id.clone(),
                    kind: kind.to_string(),
                    ticket_key: format!("{site}/{}", ticket.0),
                    body: body.clone(),
                    created_at: at_ms,
                });
            }
        };
    for r in records {
        if let Event::DayOpened { .. } = r.event {
            seen.told.retain(|(_, si, _)| *si != site_index);
        }
        if let Some((kind, ticket, data)) = direct(spec, &r.event) {
            push(kind, r.seq.to_string(), ticket, r.at_ms, data);
        }
    }
    let last = records.last().expect("records is not empty");
    let mut near: Vec<&Endpoint> = endpoints.iter().filter(|e| e.wants(NEAR)).collect();
    near.sort_by_key(|e| e.near);
    if let Some(widest) = near.last().map(|e| e.near) {
        let front = spec.front_of_lines(widest);
        for (id, ahead) in front {
            let data = |n: u32| {
                let mut d = ticket_data(spec, id);
                d["ahead"] = ahead.into();
                d["near"] = n.into();
                d
            };
            for e in &near {
                if ahead > e.near || !seen.told.insert((e.id, site_index, id)) {
                    continue;
                }
                let event_id = format!("{}-near-{}", last.seq, id.0);
                let body = serde_json::json!({
                    "id": event_id,
                    "type": NEAR,
                    "created_at": rfc3339(last.at_ms),
                    "site": site,
                    "data": data(e.near),
                })
                .to_string();
                out.push(OutboxRow {
                    webhook: e.id,
                    event_id,
                    kind: NEAR.to_string(),
                    ticket_key: format!("{site}/{}", id.0),
                    body,
                    created_at: last.at_ms,
                });
            }
        }
    }
    out
}

/// The ticket as a delivery names it.
fn ticket_data(spec: &Site, id: TicketId) -> serde_json::Value {
    match spec.ticket(id) {
        Some(t) => {
            let mut ticket = serde_json::json!({
                "id": t.id.0,
                "number": t.number.to_string(),
                "service": t.service.to_string(),
                "channel": t.channel.as_str(),
                "priority": t.priority.as_ref().map(|p| p.to_string()),
            });
            // A number taken from home: the mobile number the center's SMS or Zalo gateway
            // writes to, and whether the citizen is in the hall yet.
            if let Some(phone) = &t.phone {
                ticket["phone"] = phone.as_str().into();
                ticket["checked_in"] = t.present.into();
            }
            serde_json::json!({ "ticket": ticket })
        }
        None => serde_json::json!({"ticket": {"id": id.0}}),
    }
}

/// An event that is itself a webhook event: its type, ticket and data.
fn direct(spec: &Site, e: &Event) -> Option<(&'static str, TicketId, serde_json::Value)> {
    match e {
        Event::TicketIssued { ticket, .. } => Some((ISSUED, *ticket, ticket_data(spec, *ticket))),
        Event::TicketCalled {
            ticket, counter, ..
        } => {
            let mut d = ticket_data(spec, *ticket);
            d["counter"] = counter.to_string().into();
            Some((CALLED, *ticket, d))
        }
        Event::ServiceCompleted {
            ticket,
            counter,
            service_s,
        } => {
            let mut d = ticket_data(spec, *ticket);
            d["counter"] = counter.to_string().into();
            d["service_s"] = (*service_s).into();
            Some((COMPLETED, *ticket, d))
        }
        Event::TicketRated { ticket, score, .. } => {
            let mut d = ticket_data(spec, *ticket);
            d["score"] = (*score).into();
            Some((RATED, *ticket, d))
        }
        _ => None,
    }
}

fn rfc3339(at_ms: i64) -> String {
    jiff::Timestamp::from_millisecond(at_ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

// ----- signing -----

/// HMAC-SHA256 (RFC 2104), over SHA-256 from `sha2`: the few lines it takes, rather than a
/// dependency. Checked against RFC 4231's test vectors below.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// The `X-Luot-Signature` value: `sha256=` and the hex HMAC-SHA256 of `"<timestamp>.<body>"`
/// keyed with the endpoint's secret (its text, as shown once at creation).
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut message = Vec::with_capacity(body.len() + 12);
    message.extend_from_slice(timestamp.to_string().as_bytes());
    message.push(b'.');
    message.extend_from_slice(body.as_bytes());
    format!(
        "sha256={}",
        hex::encode(hmac_sha256(secret.as_bytes(), &message))
    )
}

/// A new endpoint secret: `whsec_` and 256 random bits, hex.
pub fn new_secret() -> String {
    format!("whsec_{}", crate::auth::new_token())
}

// ----- delivery -----

/// The HTTP client: rustls, the system's CA bundle, no redirects (a receiver that moves must be
/// reconfigured), bounded timeouts.
fn client() -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("luot-webhooks/", env!("CARGO_PKG_VERSION")));
    match std::fs::read(CA_BUNDLE) {
        Ok(pem) => match reqwest::Certificate::from_pem_bundle(&pem) {
            Ok(certs) => {
                for c in certs {
                    b = b.add_root_certificate(c);
                }
            }
            Err(e) => {
                tracing::warn!(file = CA_BUNDLE, error = %e, "CA bundle unreadable: HTTPS webhooks will fail")
            }
        },
        Err(e) => {
            tracing::warn!(file = CA_BUNDLE, error = %e, "no CA bundle: HTTPS webhooks will fail")
        }
    }
    b.build().expect("the webhook HTTP client builds")
}

/// Starts the delivery task: loads the endpoints for the broker, makes every pending delivery
/// due now (a restart retries at once), then sends due deliveries until shutdown.
pub fn spawn_delivery(app: Arc<App>) -> anyhow::Result<()> {
    let conn = rusqlite::Connection::open(&app.db_path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.execute_batch("PRAGMA synchronous = FULL;")?;
    app.hooks.set(&conn.webhooks()?);
    let pending = conn.pending_due_now(app.clock.now_ms())?;
    if pending > 0 {
        tracing::info!(pending, "webhook deliveries pending from before the start");
    }
    let conn = Arc::new(Mutex::new(conn));
    let tracker = app.tracker.clone();
    tracker.spawn(async move {
        let client = client();
        let mut since_prune = 0usize;
        loop {
            let sent = deliver_due(&app, &conn, &client).await;
            since_prune += sent;
            if since_prune >= DELIVERY_LOG_KEEP {
                since_prune = 0;
                let c = conn.clone();
                let _ = tokio::task::spawn_blocking(move || {
                    c.lock()
                        .expect("outbox lock")
                        .prune_deliveries(DELIVERY_LOG_KEEP)
                })
                .await;
            }
            if sent > 0 {
                continue;
            }
            tokio::select! {
                _ = app.shutdown.cancelled() => break,
                () = app.hooks.wake.notified() => {}
                () = tokio::time::sleep(POLL_INTERVAL) => {}
            }
        }
    });
    Ok(())
}

/// Sends the due deliveries (each endpoint's in order, endpoints side by side); how many were
/// attempted.
async fn deliver_due(
    app: &Arc<App>,
    conn: &Arc<Mutex<rusqlite::Connection>>,
    client: &reqwest::Client,
) -> usize {
    let now = app.clock.now_ms();
    let c = conn.clone();
    let read = tokio::task::spawn_blocking(move || {
        let c = c.lock().expect("outbox lock");
        Ok::<_, luot_store::StoreError>((c.due_deliveries(now, DELIVERY_BATCH)?, c.webhooks()?))
    })
    .await;
    let (due, endpoints) = match read {
        Ok(Ok(x)) => x,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "reading the webhook outbox failed");
            return 0;
        }
        Err(_) => return 0,
    };
    if due.is_empty() {
        return 0;
    }
    let n = due.len();
    let mut per_endpoint: Vec<(luot_store::Webhook, Vec<Delivery>)> = Vec::new();
    let mut orphans = Vec::new();
    for d in due {
        match endpoints.iter().find(|w| w.id == d.webhook) {
            Some(w) => match per_endpoint.iter_mut().find(|(e, _)| e.id == w.id) {
                Some((_, list)) => list.push(d),
                None => per_endpoint.push((w.clone(), vec![d])),
            },
            None => orphans.push(d.id),
        }
    }
    let streams = per_endpoint.into_iter().map(|(w, list)| async move {
        for d in list {
            let outcome = send(client, &w, &d, unix_seconds()).await;
            record(app, conn, &d, outcome).await;
        }
    });
    // A shutdown does not wait for receivers: an attempt cut off stays pending and is sent
    // again after the restart (at least once).
    tokio::select! {
        _ = futures_util::future::join_all(streams) => {}
        () = app.shutdown.cancelled() => return 0,
    }
    if !orphans.is_empty() {
        let c = conn.clone();
        let _ = tokio::task::spawn_blocking(move || {
            let c = c.lock().expect("outbox lock");
            for id in orphans {
                let _ = c.execute("DELETE FROM webhook_outbox WHERE id = ?1", [id]);
            }
        })
        .await;
    }
    n
}

/// The signature's timestamp: the real wall clock (what a receiver compares it with), not the
/// queue's clock (`App::clock`, which tests and `--start-clock` set).
fn unix_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// What one attempt gave: the HTTP status, or why there was none.
type Outcome = Result<u16, String>;

async fn send(client: &reqwest::Client, w: &luot_store::Webhook, d: &Delivery, ts: i64) -> Outcome {
    if d.body.len() > BODY_MAX {
        return Err(format!("body of {} bytes is over {BODY_MAX}", d.body.len()));
    }
    let r = client
        .post(&w.url)
        .header("content-type", "application/json")
        .header("x-luot-event-id", &d.event_id)
        .header("x-luot-event", &d.kind)
        .header("x-luot-timestamp", ts.to_string())
        .header("x-luot-signature", signature(&w.secret, ts, &d.body))
        .body(d.body.clone())
        .send()
        .await;
    match r {
        Ok(res) => Ok(res.status().as_u16()),
        Err(e) => {
            // The chain of causes says what went wrong (refused, timed out, TLS).
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                text.push_str(": ");
                text.push_str(&s.to_string());
                source = s.source();
            }
            Err(text)
        }
    }
}

async fn record(
    app: &Arc<App>,
    conn: &Arc<Mutex<rusqlite::Connection>>,
    d: &Delivery,
    outcome: Outcome,
) {
    let now = app.clock.now_ms();
    let (state, next_at, status, error) = match outcome {
        Ok(s) if (200..300).contains(&s) => ("delivered", now, Some(s), None),
        other => {
            let (status, error) = match other {
                Ok(s) => (Some(s), format!("HTTP {s}")),
                Err(e) => (None, e),
            };
            let error: String = error.chars().take(ERROR_LEN_MAX).collect();
            let window_end = d.since + app.hooks.retry_window_ms;
            let too_big = d.body.len() > BODY_MAX;
            if now >= window_end || too_big {
                ("failed", now, status, Some(error))
            } else {
                let attempts = (d.attempts + 1).clamp(1, 30) as u32;
                let delay = app
                    .hooks
                    .retry_first
                    .saturating_mul(1u32 << (attempts - 1).min(20))
                    .min(RETRY_DELAY_MAX);
                let next = (now + delay.as_millis() as i64).min(window_end);
                ("pending", next, status, Some(error))
            }
        }
    };
    app.metrics
        .webhook_attempts
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if state == "delivered" {
        app.metrics
            .webhook_delivered
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    if state == "failed" {
        tracing::warn!(delivery = d.id, webhook = d.webhook, event = %d.event_id, "webhook delivery failed for good");
    }
    let (c, id) = (conn.clone(), d.id);
    let done = tokio::task::spawn_blocking(move || {
        c.lock().expect("outbox lock").record_attempt(
            id,
            state,
            next_at,
            status,
            error.as_deref(),
            now,
        )
    })
    .await;
    if let Ok(Err(e)) = done {
        tracing::warn!(error = %e, "recording a webhook delivery failed (it will be sent again)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231 test cases 1, 2 and 6 (a key longer than the block).
    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        assert_eq!(
            hex::encode(hmac_sha256(&[0x0b; 20], b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex::encode(hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    /// The worked example of docs/en/webhooks.md and docs/vi/webhooks.md.
    #[test]
    fn the_guides_worked_example_is_right() {
        let body = r#"{"created_at":"2026-11-30T02:14:07.12Z","data":{"counter":"quay-1","ticket":{"channel":"kiosk","id":3,"number":"A003","priority":null,"service":"khai-sinh"}},"id":"41","site":"sa-huynh","type":"ticket.called"}"#;
        let secret = "whsec_5f2b8c0e9a7d4e1f3b6a8c0d2e4f6a8b0c2d4e6f8a0b2c4d6e8f0a2b4c6d8e0f";
        let want = "sha256=5c3d5085c7eca79c21fd994063e3ece7c15cefb9395377fdb696c1cd08e52209";
        assert_eq!(signature(secret, 1_796_004_847, body), want);
        for guide in [
            include_str!("../../../docs/en/webhooks.md"),
            include_str!("../../../docs/vi/webhooks.md"),
        ] {
            assert!(guide.contains(body) && guide.contains(secret) && guide.contains(want));
        }
    }

    #[test]
    fn the_signature_covers_the_timestamp_and_the_body() {
        let a = signature("whsec_x", 1_700_000_000, "{}");
        assert!(a.starts_with("sha256="));
        assert_eq!(a.len(), 7 + 64);
        assert_ne!(a, signature("whsec_x", 1_700_000_001, "{}"));
        assert_ne!(a, signature("whsec_x", 1_700_000_000, "{ }"));
        assert_ne!(a, signature("whsec_y", 1_700_000_000, "{}"));
    }
}
