//! Events are the truth: whatever the server acknowledged survives a restart, and the day goes
//! on where it stopped — same tickets, same counters, numbering and sequence continued.

use luot_tests::{TestServer, Who, service_in};
use serde_json::json;

#[tokio::test]
async fn a_restart_keeps_every_acknowledged_ticket_and_continues_the_numbering() {
    let mut s = TestServer::start().await;
    let kiosk = s.first.kiosk_token.clone();
    let display = s.first.display_token.clone();

    let mut tokens = Vec::new();
    for _ in 0..5 {
        tokens.push(
            s.issue(&kiosk, "khai-sinh").await["token"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let admin = s.admin().await;
    let official = s.add_official(&admin, "can-bo-1", &["quay-1"]).await;
    let mut counter = s.ws("counter", Who::Session(&official.session)).await;
    counter
        .ok(json!({"type": "open_counter", "counter": "quay-1"}))
        .await;
    let called = counter
        .ok(json!({"type": "call_next", "counter": "quay-1"}))
        .await;
    assert_eq!(called["ticket"]["number"], "A001");
    let last_seq = called["seq"].as_u64().unwrap();
    drop(counter);

    s.restart().await;

    // The hall sees the same day: A001 at counter 1, A002–A005 waiting, same seq.
    let mut d = s.ws("display", Who::Device(&display)).await;
    let snap = d.snapshot.clone().unwrap();
    assert_eq!(
        snap["seq"].as_u64().unwrap(),
        last_seq,
        "no event lost or invented"
    );
    assert_eq!(snap["snapshot"]["day"], "2026-11-30");
    // A display shows counts; the waiting list itself is in the full (REST) snapshot.
    let khai_sinh = service_in(&snap, "khai-sinh");
    assert_eq!(khai_sinh["waiting"], 4);
    let full = s.http().get("/api/v1/sites/sa-huynh/snapshot").await.json();
    let waiting: Vec<&str> = full["snapshot"]["waiting"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["number"].as_str().unwrap())
        .collect();
    assert_eq!(waiting, ["A002", "A003", "A004", "A005"]);
    let quay1 = snap["snapshot"]["counters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "quay-1")
        .unwrap();
    assert_eq!(quay1["status"], "open");
    assert_eq!(quay1["official"], "can-bo-1");
    assert_eq!(quay1["current"]["number"], "A001");

    // A phone's link printed before the restart still works.
    let r = s
        .http()
        .get(&format!("/api/v1/tickets/{}", tokens[4]))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["ticket"]["number"], "A005");

    // The next ticket continues the numbering and the sequence.
    let next = s.issue(&kiosk, "khai-sinh").await;
    assert_eq!(next["ticket"]["number"], "A006");
    assert_eq!(next["seq"].as_u64().unwrap(), last_seq + 1);
    let e = d.next_event().await;
    assert_eq!(e["seq"].as_u64().unwrap(), last_seq + 1);
    assert_eq!(e["ticket"]["number"], "A006");

    // The official's session survived too: she finishes A001 and calls A002.
    let mut counter = s.ws("counter", Who::Session(&official.session)).await;
    counter
        .ok(json!({"type": "complete", "counter": "quay-1"}))
        .await;
    let called = counter
        .ok(json!({"type": "call_next", "counter": "quay-1"}))
        .await;
    assert_eq!(called["ticket"]["number"], "A002");
}
