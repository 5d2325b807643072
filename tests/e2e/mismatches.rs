//! Small places where the server and docs/protocol.md disagreed (issue 13, item 7), each held
//! to what the document now says: ticket numbers on the wire, `attach_dossier`'s result, request
//! ids cut by bytes, appointment windows, and REST bodies that must be declared JSON.

use luot_tests::{SITE, TestServer, Who, WsClient};
use serde_json::{Value, json};

const HOUR_MS: i64 = 3_600_000;

/// Counter 1 open by `can-bo-1`, A001–A003 waiting; the official's socket.
async fn counter_one() -> (TestServer, WsClient) {
    let s = TestServer::start().await;
    for _ in 0..3 {
        s.issue(&s.first.kiosk_token, "khai-sinh").await;
    }
    let admin = s.admin().await;
    let o = s.add_official(&admin, "can-bo-1", &["quay-1"]).await;
    let mut ws = s.ws("counter", Who::Session(&o.session)).await;
    ws.ok(json!({"type": "open_counter", "counter": "quay-1"}))
        .await;
    (s, ws)
}

/// The next reply on the socket (events that arrive meanwhile are skipped).
async fn next_reply(ws: &mut WsClient) -> Value {
    loop {
        let m = ws.recv().await;
        if m["type"] == "reply" {
            return m;
        }
    }
}

fn error_of(reply: &Value) -> (&str, &str) {
    (
        reply["error"]["code"].as_str().unwrap_or(""),
        reply["error"]["field"].as_str().unwrap_or(""),
    )
}

#[tokio::test]
async fn ticket_numbers_are_checked_as_documented_and_lowercase_letters_are_taken() {
    let (s, mut ws) = counter_one().await;
    let before = s.db_state();
    for bad in [
        "Z1", "A01", "A00001", " A001", "1001", "ABCD001", "A0O1", "Ạ001",
    ] {
        let r = ws
            .command(json!({"type": "call_ticket", "counter": "quay-1", "number": bad}))
            .await;
        assert_eq!(error_of(&r), ("invalid_field", "number"), "{bad:?}: {r}");
    }
    assert_eq!(s.db_state(), before, "a malformed number changed something");
    // A well-formed number of a ticket that does not exist is unknown, not malformed.
    let r = ws
        .command(json!({"type": "call_ticket", "counter": "quay-1", "number": "Z001"}))
        .await;
    assert_eq!(error_of(&r).0, "unknown_ticket", "{r}");
    // Letters in either case: `a002` is A002.
    let t = ws
        .ok(json!({"type": "call_ticket", "counter": "quay-1", "number": "a002"}))
        .await;
    assert_eq!(t["ticket"]["number"], "A002", "{t}");
    // The same over REST, in a path.
    let admin = s.admin().await;
    let r = admin
        .post(
            &format!("/api/v1/sites/{SITE}/tickets/a003/cancel"),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["ticket"]["number"], "A003");
    let r = admin
        .post(
            &format!("/api/v1/sites/{SITE}/tickets/Z1/cancel"),
            &json!({}),
        )
        .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "invalid_field"),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn attach_dossier_answers_with_the_ticket_as_the_table_says() {
    let (_s, mut ws) = counter_one().await;
    ws.ok(json!({"type": "call_next", "counter": "quay-1"}))
        .await;
    let r = ws
        .ok(json!({"type": "attach_dossier", "counter": "quay-1", "number": "A001", "dossier": "H26-0001"}))
        .await;
    assert_eq!(r["ticket"]["number"], "A001", "{r}");
    assert!(r["seq"].as_u64().is_some(), "{r}");
}

#[tokio::test]
async fn request_ids_are_limited_to_64_bytes_and_a_long_one_is_cut_by_bytes() {
    let (_s, mut ws) = counter_one().await;
    let send = |id: &str| json!({"type": "command", "id": id, "command": {"type": "recall", "counter": "quay-1"}});
    // Exactly 64 bytes: taken (the command itself is refused by the queue rules, not the id).
    let id64 = "k".repeat(64);
    ws.send_json(&send(&id64)).await;
    let r = next_reply(&mut ws).await;
    assert_eq!(r["id"], id64.as_str(), "{r}");
    assert_ne!(error_of(&r).1, "id", "{r}");
    // 65 bytes: refused, the reply's id is the first 64 bytes.
    let id65 = "k".repeat(65);
    ws.send_json(&send(&id65)).await;
    let r = next_reply(&mut ws).await;
    assert_eq!(error_of(&r), ("invalid_field", "id"), "{r}");
    assert_eq!(r["id"], id64.as_str(), "{r}");
    // 64 characters of 3 bytes each (192 bytes): cut at the last whole character within 64
    // bytes, 21 characters, and still a prefix the client can match.
    let wide = "ệ".repeat(64);
    ws.send_json(&send(&wide)).await;
    let r = next_reply(&mut ws).await;
    assert_eq!(error_of(&r), ("invalid_field", "id"), "{r}");
    let got = r["id"].as_str().expect("reply id");
    assert_eq!(got, "ệ".repeat(21), "{r}");
    assert!(got.len() <= 64 && wide.starts_with(got));
    assert!(
        r["error"]["message_en"]
            .as_str()
            .unwrap_or("")
            .contains("64"),
        "the error names the limit: {r}"
    );
}

#[tokio::test]
async fn staff_appointments_must_end_in_the_future_and_start_within_the_horizon() {
    let (s, mut ws) = counter_one().await;
    let horizon = luot_server::dispatch::APPOINTMENT_HORIZON_MS;
    let now = s.server().app.clock.now_ms();
    let before = s.db_state();
    for (from_ms, to_ms, why) in [
        (-3_600_000, 0, "wholly in 1969"),
        (now - 2 * HOUR_MS, now - 1_000, "ended a second ago"),
        (
            now + horizon + 60_000,
            now + horizon + HOUR_MS,
            "starts past the horizon",
        ),
        (now + HOUR_MS, now + HOUR_MS, "empty window"),
    ] {
        let r = ws
            .command(json!({"type": "issue", "service": "khai-sinh",
                            "appointment": {"from_ms": from_ms, "to_ms": to_ms}}))
            .await;
        assert_eq!(
            error_of(&r),
            ("appointment_invalid", "appointment"),
            "{why}: {r}"
        );
        assert!(
            r["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{why}: {r}"
        );
    }
    assert_eq!(
        s.db_state(),
        before,
        "a refused appointment changed something"
    );
    // Just inside the limits (a minute's margin: the server's clock runs on meanwhile).
    for (from_ms, to_ms, why) in [
        (
            now - HOUR_MS,
            now + 60_000,
            "began an hour ago, ends in a minute",
        ),
        (
            now + horizon - 60_000,
            now + horizon + HOUR_MS,
            "starts just inside the horizon",
        ),
    ] {
        let t = ws
            .ok(json!({"type": "issue", "service": "khai-sinh",
                       "appointment": {"from_ms": from_ms, "to_ms": to_ms}}))
            .await;
        assert_eq!(t["ticket"]["channel"], "appointment", "{why}: {t}");
    }
}

#[tokio::test]
async fn rest_bodies_must_be_declared_json() {
    let s = TestServer::start().await;
    let kiosk = s.first.kiosk_token.clone();
    let url = s.url(&format!("/api/v1/sites/{SITE}/tickets"));
    let client = reqwest::Client::new();
    let before = s.db_state();
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let mut req = client
            .post(&url)
            .header("authorization", format!("Bearer {kiosk}"))
            .body(r#"{"service": "khai-sinh"}"#);
        if let Some(t) = content_type {
            req = req.header("content-type", t);
        }
        let r = req.send().await.expect("request");
        assert_eq!(r.status().as_u16(), 415, "{content_type:?}");
        let e: Value = r.json().await.expect("a JSON error");
        assert_eq!(e["code"], "unsupported_media_type", "{e}");
        assert_eq!(e["field"], "content-type", "{e}");
        let sent = content_type.unwrap_or("(none)");
        assert!(e["message"].as_str().unwrap_or("").contains(sent), "{e}");
        assert!(e["message_en"].as_str().unwrap_or("").contains(sent), "{e}");
    }
    assert_eq!(s.db_state(), before, "a refused body changed something");
    // JSON with a charset parameter is JSON.
    let r = client
        .post(&url)
        .header("authorization", format!("Bearer {kiosk}"))
        .header("content-type", "application/json; charset=utf-8")
        .body(r#"{"service": "khai-sinh"}"#)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status().as_u16(), 201);
    // A request without a body needs no type (logging out).
    let r = client
        .post(s.url("/api/v1/logout"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status().as_u16(), 200);
}
