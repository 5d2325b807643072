//! Webhooks to a real HTTP receiver started by the test on `127.0.0.1:0`: every delivery's
//! signature is checked with the endpoint's secret (HMAC-SHA256 computed here, independently of
//! the server's code), exactly the configured events arrive, in order per ticket; deliveries
//! wait out a receiver that is down, survive a `kill -9` of the server between the event and
//! the delivery, stop at the outbox's limit, and a failed one is sent again on request.

use luot_server::Limits;
use luot_tests::{Http, SITE, START_MS, ServeProcess, TestServer};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Longest wait for deliveries (retries included).
const DELIVERY_WAIT: Duration = Duration::from_secs(30);

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Got {
    headers: HashMap<String, String>,
    body: String,
    /// The status the receiver answered with.
    answered: u16,
}

impl Got {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a delivery's body is JSON")
    }
}

#[derive(Default)]
struct Shared {
    got: Mutex<Vec<Got>>,
    /// What to answer: 200, or an error to make the server retry.
    status: AtomicU16,
}

/// A tiny HTTP/1.1 server: reads one request per connection, records it, answers, closes.
/// "Down" means its port refuses connections.
struct Receiver {
    port: u16,
    shared: Arc<Shared>,
    accept: Option<tokio::task::JoinHandle<()>>,
}

impl Receiver {
    async fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared::default());
        shared.status.store(200, Ordering::SeqCst);
        let mut r = Receiver {
            port,
            shared,
            accept: None,
        };
        r.serve(listener);
        r
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn serve(&mut self, listener: TcpListener) {
        let shared = self.shared.clone();
        self.accept = Some(tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    let head_end = loop {
                        let n = sock.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                    let headers: HashMap<String, String> = head
                        .lines()
                        .skip(1)
                        .filter_map(|l| l.split_once(':'))
                        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                        .collect();
                    let len: usize = headers
                        .get("content-length")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    while buf.len() < head_end + len {
                        let n = sock.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    let body = String::from_utf8_lossy(&buf[head_end..head_end + len]).to_string();
                    let status = shared.status.load(Ordering::SeqCst);
                    shared.got.lock().unwrap().push(Got {
                        headers,
                        body,
                        answered: status,
                    });
                    let answer = format!(
                        "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    );
                    let _ = sock.write_all(answer.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        }));
    }

    /// Stops listening: connections to the port are refused.
    async fn down(&mut self) {
        if let Some(t) = self.accept.take() {
            t.abort();
            let _ = t.await;
        }
    }

    /// Listens again on the same port.
    async fn up(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.serve(listener);
    }

    fn answer_with(&self, status: u16) {
        self.shared.status.store(status, Ordering::SeqCst);
    }

    fn all(&self) -> Vec<Got> {
        self.shared.got.lock().unwrap().clone()
    }

    /// The deliveries answered 200.
    fn delivered(&self) -> Vec<Got> {
        self.all()
            .into_iter()
            .filter(|g| g.answered == 200)
            .collect()
    }

    /// Waits until `ok` holds of everything received.
    async fn wait_until(&self, what: &str, ok: impl Fn(&[Got]) -> bool) -> Vec<Got> {
        let deadline = tokio::time::Instant::now() + DELIVERY_WAIT;
        loop {
            let all = self.all();
            if ok(&all) {
                return all;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}; received {:#?}",
                all.iter().map(|g| &g.body).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// HMAC-SHA256 (RFC 2104), written here so the check does not trust the server's own code.
fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new()
        .chain_update(&ipad)
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(&opad)
        .chain_update(inner)
        .finalize()
        .to_vec()
}

/// What a receiver does: recompute the signature over `<timestamp>.<body>` and compare.
fn assert_signed(g: &Got, secret: &str) {
    let ts = g.headers.get("x-luot-timestamp").expect("X-Luot-Timestamp");
    let sig = g.headers.get("x-luot-signature").expect("X-Luot-Signature");
    let want = format!(
        "sha256={}",
        hex::encode(hmac_sha256(
            secret.as_bytes(),
            format!("{ts}.{}", g.body).as_bytes()
        ))
    );
    assert_eq!(sig, &want, "signature of {}", g.body);
    // A wrong secret does not match: the check can fail.
    let wrong = format!(
        "sha256={}",
        hex::encode(hmac_sha256(
            b"whsec_wrong",
            format!("{ts}.{}", g.body).as_bytes()
        ))
    );
    assert_ne!(sig, &wrong);
    let body = g.json();
    assert_eq!(
        g.headers.get("x-luot-event-id").map(String::as_str),
        body["id"].as_str(),
        "the event id header is the body's id"
    );
    assert_eq!(
        g.headers.get("content-type").map(String::as_str),
        Some("application/json")
    );
    assert_eq!(body["site"], SITE);
    assert!(
        body["created_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{body}"
    );
    let ts: i64 = ts.parse().expect("a Unix time in seconds");
    assert!(
        (ts - luot_tests::system_now_ms() / 1000).abs() < 60,
        "the real time, in seconds: {ts}"
    );
}

/// (number, type) of each delivery, in arrival order.
fn events(got: &[Got]) -> Vec<(String, String)> {
    got.iter()
        .map(|g| {
            let b = g.json();
            (
                b["data"]["ticket"]["number"]
                    .as_str()
                    .unwrap_or("?")
                    .to_string(),
                b["type"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn of_ticket(all: &[(String, String)], number: &str) -> Vec<String> {
    all.iter()
        .filter(|(n, _)| n == number)
        .map(|(_, t)| t.clone())
        .collect()
}

async fn add_webhook(admin: &Http, url: &str, events: &[&str], near: u32) -> (i64, String) {
    let r = admin
        .post(
            "/api/v1/admin/webhooks",
            &json!({"url": url, "events": events, "near": near}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let v = r.json();
    let secret = v["secret"]
        .as_str()
        .expect("the secret, shown once")
        .to_string();
    assert!(
        secret.starts_with("whsec_") && secret.len() == 6 + 64,
        "{secret}"
    );
    (v["id"].as_i64().unwrap(), secret)
}

fn quick_retries() -> Limits {
    Limits {
        webhook_retry_first: Duration::from_millis(100),
        ..Limits::default()
    }
}

fn counter_path(action: &str) -> String {
    format!("/api/v1/sites/{SITE}/counters/quay-1/{action}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_events_arrive_as_configured_in_order_per_ticket() {
    let s = TestServer::start_with_limits(quick_retries()).await;
    let admin = s.admin().await;
    let all_rx = Receiver::start().await;
    let calls_rx = Receiver::start().await;
    let all_types = [
        "ticket.issued",
        "ticket.near",
        "ticket.called",
        "ticket.completed",
        "ticket.rated",
    ];
    let (all_id, all_secret) = add_webhook(&admin, &all_rx.url("/hook"), &all_types, 1).await;
    let (_, calls_secret) = add_webhook(&admin, &calls_rx.url("/sms"), &["ticket.called"], 3).await;
    // The list never shows a secret.
    let list = admin.get("/api/v1/admin/webhooks").await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert!(!list.text.contains(&all_secret) && !list.text.contains("secret"));

    let kiosk = s.first.kiosk_token.clone();
    let mut tokens = Vec::new();
    for _ in 0..3 {
        tokens.push(
            s.issue(&kiosk, "khai-sinh").await["token"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let o = s.add_official(&admin, "can-bo-1", &["quay-1"]).await;
    for a in ["open", "call-next", "complete"] {
        let r = o.http.post(&counter_path(a), &json!({})).await;
        assert_eq!(r.status, 200, "{a}: {}", r.text);
    }
    let r = s
        .http()
        .post(
            &format!("/api/v1/tickets/{}/rate", tokens[0]),
            &json!({"score": 4}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // A001: issued, within 1 (0 ahead), called, completed, rated. A002: issued with 1 ahead,
    // so within 1 at once. A003: issued with 2 ahead; within 1 when A001 is called.
    let got = all_rx.wait_until("nine deliveries", |g| g.len() >= 9).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = {
        let again = all_rx.all();
        assert_eq!(
            again.len(),
            got.len().max(9),
            "no more than the nine: {:#?}",
            events(&again)
        );
        again
    };
    for g in &got {
        assert_eq!(g.answered, 200);
        assert_signed(g, &all_secret);
    }
    let seen = events(&got);
    assert_eq!(
        of_ticket(&seen, "A001"),
        [
            "ticket.issued",
            "ticket.near",
            "ticket.called",
            "ticket.completed",
            "ticket.rated"
        ],
        "{seen:?}"
    );
    assert_eq!(
        of_ticket(&seen, "A002"),
        ["ticket.issued", "ticket.near"],
        "{seen:?}"
    );
    assert_eq!(
        of_ticket(&seen, "A003"),
        ["ticket.issued", "ticket.near"],
        "{seen:?}"
    );
    let body = |number: &str, kind: &str| -> Value {
        got.iter()
            .map(Got::json)
            .find(|b| b["type"] == kind && b["data"]["ticket"]["number"] == number)
            .unwrap()
    };
    assert_eq!(body("A001", "ticket.called")["data"]["counter"], "quay-1");
    assert_eq!(body("A001", "ticket.rated")["data"]["score"], 4);
    assert_eq!(body("A002", "ticket.near")["data"]["ahead"], 1);
    assert_eq!(body("A003", "ticket.near")["data"]["ahead"], 1);
    assert_eq!(body("A003", "ticket.near")["data"]["near"], 1);
    // The phone page of A003 says the same: one person ahead.
    let mut phone_ahead = None;
    for _ in 0..100 {
        let r = s
            .http()
            .get(&format!("/api/v1/tickets/{}", tokens[2]))
            .await;
        phone_ahead = r.json()["ticket"]["estimate"]["ahead"].as_u64();
        if phone_ahead == Some(1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(phone_ahead, Some(1), "the phone page's figure");
    // Event ids are unique.
    let mut ids: Vec<String> = got
        .iter()
        .map(|g| g.json()["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), got.len());

    // The endpoint for calls only got the call, signed with its own secret.
    let calls = calls_rx.wait_until("the call", |g| !g.is_empty()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let calls_all = calls_rx.all();
    assert_eq!(
        events(&calls_all),
        [("A001".to_string(), "ticket.called".to_string())]
    );
    assert_signed(&calls[0], &calls_secret);

    // The delivery log says so too.
    let log = admin
        .get(&format!("/api/v1/admin/webhooks/{all_id}/deliveries"))
        .await;
    assert_eq!(log.status, 200, "{}", log.text);
    let log = log.json();
    assert_eq!(log.as_array().unwrap().len(), 9);
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .all(|d| d["state"] == "delivered" && d["last_status"] == 200 && d["attempts"] == 1),
        "{log}"
    );
}

/// The center's SMS gateway learns of a number taken from home (`/lay-so`) with the citizen's
/// mobile number, and is told when three are ahead of it, before its citizen is in the hall.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_number_from_home_reaches_the_gateway_with_its_phone_when_three_are_ahead() {
    let s = TestServer::start_with_limits(quick_retries()).await;
    let admin = s.admin().await;
    let sms = Receiver::start().await;
    let (_, secret) = add_webhook(
        &admin,
        &sms.url("/sms"),
        &["ticket.issued", "ticket.near"],
        3,
    )
    .await;
    let kiosk = s.first.kiosk_token.clone();
    for _ in 0..4 {
        s.issue(&kiosk, "chung-thuc-ban-sao").await; // B001-B004, in the hall
    }
    let r = s
        .http()
        .post(
            &format!("/api/v1/sites/{SITE}/remote-tickets"),
            &json!({"service": "chung-thuc-ban-sao", "phone": "0912 345 678"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let number = |b: &Value| {
        b["data"]["ticket"]["number"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    let got = sms
        .wait_until("B005 issued", |g| {
            g.iter().any(|x| number(&x.json()) == "B005")
        })
        .await;
    let issued = got
        .iter()
        .map(Got::json)
        .find(|b| number(b) == "B005" && b["type"] == "ticket.issued")
        .expect("B005 issued");
    assert_eq!(issued["data"]["ticket"]["phone"], "0912345678", "{issued}");
    assert_eq!(issued["data"]["ticket"]["checked_in"], false, "{issued}");
    assert_eq!(issued["data"]["ticket"]["channel"], "phone");
    // A walk-in's delivery names no phone.
    let walk_in = got
        .iter()
        .map(Got::json)
        .find(|b| number(b) == "B001")
        .unwrap();
    assert!(
        walk_in["data"]["ticket"].get("phone").is_none(),
        "{walk_in}"
    );
    // Four ahead: not near yet. One called: three ahead, and the gateway is told.
    let near = ("B005".to_string(), "ticket.near".to_string());
    assert!(!events(&got).contains(&near), "{:?}", events(&got));
    let o = s.add_official(&admin, "can-bo-3", &["quay-3"]).await;
    for a in ["open", "call-next"] {
        let r = o
            .http
            .post(
                &format!("/api/v1/sites/{SITE}/counters/quay-3/{a}"),
                &json!({}),
            )
            .await;
        assert_eq!(r.status, 200, "{a}: {}", r.text);
    }
    let got = sms
        .wait_until("B005 near", |g| events(g).contains(&near))
        .await;
    let told = got
        .iter()
        .find(|g| g.json()["type"] == "ticket.near" && number(&g.json()) == "B005")
        .unwrap();
    assert_signed(told, &secret);
    let body = told.json();
    assert_eq!(body["data"]["ahead"], 3, "{body}");
    assert_eq!(body["data"]["ticket"]["phone"], "0912345678", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_wait_out_a_receiver_that_is_down() {
    let s = TestServer::start_with_limits(quick_retries()).await;
    let admin = s.admin().await;
    let mut rx = Receiver::start().await;
    rx.down().await;
    let (id, secret) = add_webhook(&admin, &rx.url("/hook"), &["ticket.issued"], 3).await;
    let kiosk = s.first.kiosk_token.clone();
    s.issue(&kiosk, "khai-sinh").await;
    s.issue(&kiosk, "khai-sinh").await;
    // Tried, refused, tried again: the log shows it pending with the error.
    let deadline = tokio::time::Instant::now() + DELIVERY_WAIT;
    loop {
        let log = admin
            .get(&format!("/api/v1/admin/webhooks/{id}/deliveries"))
            .await
            .json();
        let first = log
            .as_array()
            .unwrap()
            .last()
            .cloned()
            .unwrap_or(Value::Null);
        if first["attempts"].as_i64().unwrap_or(0) >= 3 {
            assert_eq!(first["state"], "pending", "{first}");
            assert!(
                first["last_error"].as_str().is_some_and(|e| !e.is_empty()),
                "{first}"
            );
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no retries: {log}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(rx.all().is_empty());
    rx.up().await;
    let got = rx.wait_until("both deliveries", |g| g.len() >= 2).await;
    for g in &got {
        assert_signed(g, &secret);
    }
    assert_eq!(
        events(&got),
        [
            ("A001".to_string(), "ticket.issued".to_string()),
            ("A002".to_string(), "ticket.issued".to_string())
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_fails_after_its_retry_window_and_is_sent_again_on_request() {
    let s = TestServer::start_with_limits(Limits {
        webhook_retry_first: Duration::from_millis(100),
        webhook_retry_window_ms: 1_000,
        ..Limits::default()
    })
    .await;
    let admin = s.admin().await;
    let rx = Receiver::start().await;
    rx.answer_with(500);
    let (id, secret) = add_webhook(&admin, &rx.url("/hook"), &["ticket.issued"], 3).await;
    s.issue(&s.first.kiosk_token, "khai-sinh").await;
    let deadline = tokio::time::Instant::now() + DELIVERY_WAIT;
    let failed = loop {
        let log = admin
            .get(&format!("/api/v1/admin/webhooks/{id}/deliveries"))
            .await
            .json();
        let d = log[0].clone();
        if d["state"] == "failed" {
            break d;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never failed: {log}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(failed["last_status"], 500, "{failed}");
    let tries = rx.all().len();
    assert!(tries >= 2, "retried before giving up: {tries}");
    // Failed for good: no more tries.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(rx.all().len(), tries);
    // "Send again" once the receiver is fixed.
    rx.answer_with(200);
    let r = admin
        .post(
            &format!("/api/v1/admin/webhooks/deliveries/{}/resend", failed["id"]),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["state"], "pending");
    let got = rx
        .wait_until("the delivery sent again", |g| {
            g.iter().any(|g| g.answered == 200)
        })
        .await;
    let ok = got.iter().find(|g| g.answered == 200).unwrap();
    assert_signed(ok, &secret);
    assert_eq!(
        ok.json()["id"],
        got[0].json()["id"],
        "the same event, the same id"
    );
    let audit = admin.get("/api/v1/admin/audit?action=webhook_resend").await;
    assert_eq!(audit.status, 200, "{}", audit.text);
    assert_eq!(audit.json()["total"], 1, "{}", audit.text);
    // An unknown delivery.
    let r = admin
        .post(
            "/api/v1/admin/webhooks/deliveries/999999/resend",
            &json!({}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (404, "delivery_not_found".to_string())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_holds_at_most_its_limit_and_counts_what_it_drops() {
    let s = TestServer::start_with_limits(Limits {
        webhook_outbox_max: 3,
        webhook_retry_first: Duration::from_millis(100),
        ..Limits::default()
    })
    .await;
    let admin = s.admin().await;
    let mut rx = Receiver::start().await;
    rx.down().await;
    let (id, _) = add_webhook(&admin, &rx.url("/hook"), &["ticket.issued"], 3).await;
    // Issuing is never held up by the outbox: all five tickets are issued.
    for _ in 0..5 {
        s.issue(&s.first.kiosk_token, "khai-sinh").await;
    }
    let list = admin.get("/api/v1/admin/webhooks").await.json();
    let hook = list
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(hook["dropped"], 2, "{hook}");
    let log = admin
        .get(&format!("/api/v1/admin/webhooks/{id}/deliveries"))
        .await
        .json();
    assert_eq!(log.as_array().unwrap().len(), 3, "{log}");
    rx.up().await;
    rx.wait_until("three deliveries", |g| g.len() >= 3).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        events(&rx.all()),
        ["A001", "A002", "A003"].map(|n| (n.to_string(), "ticket.issued".to_string()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_9_between_the_event_and_its_delivery_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let rx = Receiver::start().await;
    // The receiver fails the first try: the delivery is pending when the server is killed.
    rx.answer_with(503);
    let serving = ServeProcess::start(&data, &dir.path().join("serve-0.log"), START_MS, &[]).await;
    let admin = serving.admin().await;
    let (_, secret) = add_webhook(
        &admin,
        &rx.url("/hook"),
        &["ticket.issued", "ticket.near"],
        3,
    )
    .await;
    let r = admin
        .post(
            "/api/v1/admin/devices",
            &json!({"kind": "kiosk", "name": "Kiosk thử"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let kiosk = r.json()["token"].as_str().unwrap().to_string();
    let r = Http::new(&serving.base)
        .with_header("authorization", &format!("Bearer {kiosk}"))
        .post(
            &format!("/api/v1/sites/{SITE}/tickets"),
            &json!({"service": "khai-sinh"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    // The first try reached the receiver and was refused; kill before the retry.
    rx.wait_until("the first try", |g| !g.is_empty()).await;
    serving.kill().await;
    let tried: Vec<String> = rx
        .all()
        .iter()
        .map(|g| g.json()["id"].as_str().unwrap().to_string())
        .collect();
    rx.answer_with(200);
    let serving = ServeProcess::start(
        &data,
        &dir.path().join("serve-1.log"),
        START_MS + 60_000,
        &[],
    )
    .await;
    let got = rx
        .wait_until("both deliveries after the restart", |g| {
            g.iter().filter(|g| g.answered == 200).count() >= 2
        })
        .await;
    let ok: Vec<&Got> = got.iter().filter(|g| g.answered == 200).collect();
    for g in &ok {
        assert_signed(g, &secret);
    }
    assert_eq!(
        events(&rx.delivered()),
        [
            ("A001".to_string(), "ticket.issued".to_string()),
            ("A001".to_string(), "ticket.near".to_string())
        ]
    );
    assert_eq!(
        ok[0].json()["id"].as_str().unwrap(),
        tried[0],
        "the same event as before the kill"
    );
    drop(serving);
}
