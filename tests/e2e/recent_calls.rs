//! `recent_calls` has one rule, kept from events alone (protocol §5.1): a `ticket_called` puts its
//! ticket at the front (once), at most 12; nothing else moves or removes it. A client following
//! the events by that rule holds exactly what a fresh snapshot says, after transfers, returns and
//! calls again. (Before, the server rebuilt the list from the tickets' call times: a transfer
//! dropped the ticket, and two calls in one millisecond were ordered by id, not by `seq`.)

use luot_tests::{TestServer, Who};
use serde_json::{Value, json};

/// The list a client keeps: ids, newest call first.
fn follow(list: &mut Vec<u64>, event: &Value) {
    if event["event"]["type"] == "ticket_called" {
        let id = event["ticket"]["id"].as_u64().expect("the called ticket");
        list.retain(|&x| x != id);
        list.insert(0, id);
        list.truncate(12);
    }
}

fn snapshot_ids(snap: &Value) -> Vec<u64> {
    snap["snapshot"]["recent_calls"]
        .as_array()
        .expect("recent_calls")
        .iter()
        .map(|t| t["id"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn recent_calls_follow_the_events_through_transfers_returns_and_second_calls() {
    let s = TestServer::start().await;
    let kiosk = s.first.kiosk_token.clone();
    for _ in 0..4 {
        s.issue(&kiosk, "khai-sinh").await;
    }
    let admin = s.admin().await;
    let o1 = s.add_official(&admin, "can-bo-1", &["quay-1"]).await;
    let o2 = s.add_official(&admin, "can-bo-2", &["quay-2"]).await;
    let mut c1 = s.ws("counter", Who::Session(&o1.session)).await;
    let mut c2 = s.ws("counter", Who::Session(&o2.session)).await;
    let mut display = s.ws("display", Who::Device(&s.first.display_token)).await;
    let mut followed: Vec<u64> = Vec::new();

    let steps: Vec<(usize, Value)> = vec![
        (1, json!({"type": "open_counter", "counter": "quay-1"})),
        (2, json!({"type": "open_counter", "counter": "quay-2"})),
        (1, json!({"type": "call_next", "counter": "quay-1"})), // A001
        (2, json!({"type": "call_next", "counter": "quay-2"})), // A002
        (
            1,
            json!({"type": "transfer", "counter": "quay-1", "to": {"kind": "counter", "code": "quay-2"}, "note": ""}),
        ),
    ];
    let mut last_seq = 0;
    for (who, cmd) in steps {
        let c = if who == 1 { &mut c1 } else { &mut c2 };
        last_seq = c.ok(cmd).await["seq"].as_u64().unwrap();
    }
    for e in display.events_until(last_seq).await {
        follow(&mut followed, &e);
    }
    // The transferred A001 is still a recent call, in its waiting state.
    let snap = s.ws("display", Who::Anonymous).await;
    let snap = snap.snapshot.clone().expect("a snapshot");
    assert_eq!(snapshot_ids(&snap), followed, "{snap}");
    assert_eq!(snapshot_ids(&snap), vec![2, 1], "{snap}");
    assert_eq!(
        snap["snapshot"]["recent_calls"][1]["state"], "waiting",
        "{snap}"
    );

    // A001 called again at quay-2 moves to the front; A003 is called, missed, put back and
    // called again.
    let steps: Vec<(usize, Value)> = vec![
        (2, json!({"type": "complete", "counter": "quay-2"})),
        (2, json!({"type": "call_next", "counter": "quay-2"})), // A001 (its transfer lane)
        (1, json!({"type": "call_next", "counter": "quay-1"})), // A003
        (1, json!({"type": "no_show", "counter": "quay-1"})),
        (1, json!({"type": "call_next", "counter": "quay-1"})), // A004
        (1, json!({"type": "complete", "counter": "quay-1"})),
        (1, json!({"type": "return", "number": "A003"})),
        (1, json!({"type": "call_next", "counter": "quay-1"})), // A003 again
    ];
    for (who, cmd) in steps {
        let c = if who == 1 { &mut c1 } else { &mut c2 };
        last_seq = c.ok(cmd).await["seq"].as_u64().unwrap();
    }
    for e in display.events_until(last_seq).await {
        follow(&mut followed, &e);
    }
    let snap = s.ws("display", Who::Anonymous).await;
    let snap = snap.snapshot.clone().expect("a snapshot");
    assert_eq!(snapshot_ids(&snap), followed, "{snap}");
    assert_eq!(snapshot_ids(&snap), vec![3, 4, 1, 2], "{snap}");
}
