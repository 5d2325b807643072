//! The core promise: a ticket taken at the kiosk is called at a counter, and every screen in
//! the hall shows the same thing in the same order.

use luot_tests::{TestServer, Who};
use serde_json::{Value, json};

#[tokio::test]
async fn issue_then_call_reaches_every_display_in_the_same_order() {
    let s = TestServer::start().await;
    let mut displays = Vec::new();
    for _ in 0..3 {
        let d = s.ws("display", Who::Device(&s.first.display_token)).await;
        assert_eq!(d.welcome["authenticated"], true, "{}", d.welcome);
        assert_eq!(d.welcome["role"], "display");
        displays.push(d);
    }
    let start = displays[0].seq;
    assert!(
        start >= 1,
        "the day was opened before the displays connected"
    );
    assert!(displays.iter().all(|d| d.seq == start));

    // The kiosk takes a ticket over its socket.
    let mut kiosk = s.ws("kiosk", Who::Device(&s.first.kiosk_token)).await;
    let issued = kiosk
        .ok(json!({"type": "issue", "service": "khai-sinh"}))
        .await;
    assert_eq!(issued["ticket"]["number"], "A001", "{issued}");
    assert_eq!(issued["ticket"]["state"], "waiting");
    assert_eq!(issued["ticket"]["channel"], "kiosk");
    let token = issued["token"]
        .as_str()
        .expect("the reply carries the token");
    assert!(
        token.len() >= 32 && token.bytes().all(|b| b.is_ascii_hexdigit()),
        "an unguessable hex token: {token}"
    );
    assert_eq!(issued["url"], format!("{}/t/{token}", s.base));
    // Durable before visible: the acknowledged event is already in the database.
    let issued_seq = issued["seq"].as_i64().unwrap();
    assert!(s.db_state().max_seq >= Some(issued_seq));

    // An official logs in, opens counter 1 and calls the next ticket over the counter socket.
    let admin = s.admin().await;
    let official = s.add_official(&admin, "can-bo-1", &["quay-1"]).await;
    let mut counter = s.ws("counter", Who::Session(&official.session)).await;
    assert_eq!(counter.welcome["authenticated"], true);
    assert_eq!(counter.welcome["user"], "can-bo-1");
    counter
        .ok(json!({"type": "open_counter", "counter": "quay-1"}))
        .await;
    let called = counter
        .ok(json!({"type": "call_next", "counter": "quay-1"}))
        .await;
    assert_eq!(called["ticket"]["number"], "A001", "{called}");
    assert_eq!(called["ticket"]["state"], "called");
    assert_eq!(called["ticket"]["counter"], "quay-1");
    assert_eq!(called["ticket"]["reason"], "next_in_line");
    let last = called["seq"].as_u64().unwrap();
    assert_eq!(last, start + 3, "issue, open, call: three events");

    let mut streams: Vec<Vec<Value>> = Vec::new();
    for d in displays.iter_mut() {
        let events = d.events_until(last).await;
        let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
        assert_eq!(
            seqs,
            (start + 1..=last).collect::<Vec<_>>(),
            "consecutive seq"
        );
        let kinds: Vec<&str> = events
            .iter()
            .map(|e| e["event"]["type"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["ticket_issued", "counter_opened", "ticket_called"]);

        let issued_ev = &events[0];
        assert_eq!(issued_ev["v"], 1);
        assert_eq!(issued_ev["site"], "sa-huynh");
        assert_eq!(issued_ev["ticket"]["number"], "A001");
        assert_eq!(issued_ev["event"]["number"], "A001");
        assert!(
            issued_ev["event"].get("token").is_none() && !issued_ev.to_string().contains(token),
            "a hall display must never see a ticket's phone token: {issued_ev}"
        );

        let call = &events[2];
        assert_eq!(call["ticket"]["number"], "A001");
        assert_eq!(call["ticket"]["state"], "called");
        assert_eq!(call["event"]["counter"], "quay-1");
        assert_eq!(call["event"]["official"], "can-bo-1");
        assert_eq!(call["event"]["reason"], "next_in_line");
        streams.push(events);
    }
    assert!(
        streams.windows(2).all(|w| w[0] == w[1]),
        "every display saw exactly the same events"
    );
}
