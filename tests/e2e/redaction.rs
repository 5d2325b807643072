//! Invariant 8 on the wire: a ticket issued with a `person_id` is stored with its person key
//! and public token, and the sockets that hear of it — a hall display, an anonymous socket, an
//! official's counter console — get the event without either, and without the ID number.
//!
//! Shown to fail: with `*person = None;` removed from `EventDto::redacted`'s `TicketIssued`
//! arm, the display's event holds `"person"` and the test fails at "a display's event".

use luot_tests::{SITE, TestServer, Who};
use serde_json::{Value, json};

const PERSON_ID: &str = "079301001234";

/// Every key, at any depth.
fn keys(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                out.push(k.clone());
                keys(v, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn a_person_id_and_the_ticket_token_never_reach_a_socket() {
    let s = TestServer::start().await;
    let admin = s.admin().await;
    let official = s.add_official(&admin, "can-bo-1", &["quay-1"]).await;
    let mut display = s.ws("display", Who::Device(&s.first.display_token)).await;
    let mut anonymous = s.ws("display", Who::Anonymous).await;
    let mut counter = s.ws("counter", Who::Session(&official.session)).await;

    let r = s
        .device_http(&s.first.kiosk_token)
        .post(
            &format!("/api/v1/sites/{SITE}/tickets"),
            &json!({"service": "khai-sinh", "person_id": PERSON_ID}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let issued = r.json();
    let seq = issued["seq"].as_u64().unwrap();
    let token = issued["token"].as_str().expect("the kiosk gets the token");

    // The secrets exist: the stored event holds the person key and the token.
    let conn = rusqlite::Connection::open(s.db_path()).unwrap();
    let body: String = conn
        .query_row(
            "SELECT body FROM events WHERE kind = 'ticket_issued' AND seq = ?1",
            [seq],
            |r| r.get(0),
        )
        .unwrap();
    let stored: Value = serde_json::from_str(&body).unwrap();
    assert!(stored["person"].as_u64().is_some(), "stored: {body}");
    assert_eq!(stored["token"], token, "stored: {body}");
    assert!(
        !body.contains(PERSON_ID),
        "only a keyed hash is kept: {body}"
    );

    let person_key = stored["person"].to_string();
    for (who, socket) in [
        ("a display", &mut display),
        ("an anonymous socket", &mut anonymous),
        ("a counter console", &mut counter),
    ] {
        let ev = socket.events_until(seq).await.pop().unwrap();
        assert_eq!(ev["event"]["type"], "ticket_issued", "{who}: {ev}");
        assert_eq!(ev["event"]["number"], issued["ticket"]["number"], "{who}");
        let mut found = Vec::new();
        keys(&ev, &mut found);
        for secret in ["person", "token", "person_id"] {
            assert!(
                !found.iter().any(|k| k == secret),
                "{who}'s event holds {secret:?}: {ev}"
            );
        }
        let text = ev.to_string();
        for (what, secret) in [
            ("the ID number", PERSON_ID),
            ("the token", token),
            ("the person key", person_key.as_str()),
        ] {
            assert!(!text.contains(secret), "{who}'s event holds {what}: {text}");
        }
    }
}
