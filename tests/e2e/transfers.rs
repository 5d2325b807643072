//! Transfers (issue 11): a ticket is never sent to a counter nobody works at, and after a
//! transfer to a counter the phone shows the ticket's true place in that counter's line.

use luot_tests::{TestServer, Who, WsClient};
use serde_json::{Value, json};
use std::time::Duration;

async fn phone_view(s: &TestServer, token: &str) -> Value {
    let r = s.http().get(&format!("/api/v1/tickets/{token}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()["ticket"].clone()
}

/// The phone's view once the estimator has been over event `seq` (the first `estimates`
/// message as of it or later, protocol §8.7; the phone page asks again after each).
async fn settled_view(s: &TestServer, display: &mut WsClient, token: &str, seq: u64) -> Value {
    display.keep_estimates = true;
    luot_tests::within("the estimates of the next pass", async {
        loop {
            let m = display.recv_within(Duration::from_secs(30)).await;
            if m["type"] == "estimates" && m["as_of_seq"].as_u64().unwrap() >= seq {
                return;
            }
        }
    })
    .await;
    phone_view(s, token).await
}

#[tokio::test]
async fn transfers_to_a_closed_or_paused_counter_are_refused_and_the_phone_sees_its_true_wait() {
    let s = TestServer::start().await;
    let kiosk = &s.first.kiosk_token;
    let a1 = s.issue(kiosk, "khai-sinh").await;
    let a2 = s.issue(kiosk, "khai-sinh").await;
    s.issue(kiosk, "khai-sinh").await;
    let (t1, t2) = (
        a1["token"].as_str().unwrap().to_string(),
        a2["token"].as_str().unwrap().to_string(),
    );

    let admin = s.admin().await;
    let o1 = s.add_official(&admin, "can-bo-1", &["quay-1"]).await;
    let o2 = s.add_official(&admin, "can-bo-2", &["quay-2"]).await;
    let mut c1 = s.ws("counter", Who::Session(&o1.session)).await;
    let mut c2 = s.ws("counter", Who::Session(&o2.session)).await;
    c1.ok(json!({"type": "open_counter", "counter": "quay-1"}))
        .await;
    let called = c1
        .ok(json!({"type": "call_next", "counter": "quay-1"}))
        .await;
    assert_eq!(called["ticket"]["number"], "A001");
    let to_q2 = json!({"type": "transfer", "counter": "quay-1", "to": {"kind": "counter", "code": "quay-2"}});

    // Counter 2 is closed: refused, saying which counter and what to do instead.
    let r = c1.command(to_q2.clone()).await;
    assert_eq!(r["ok"], false, "{r}");
    assert_eq!(r["error"]["code"], "transfer_target_closed", "{r}");
    let (vi, en) = (
        r["error"]["message"].as_str().unwrap(),
        r["error"]["message_en"].as_str().unwrap(),
    );
    assert!(vi.contains("Quầy số 2 đang đóng"), "{vi}");
    assert!(en.contains("Counter 2 is closed"), "{en}");
    // Nothing moved: A001 is still called at counter 1.
    assert_eq!(phone_view(&s, &t1).await["state"], "called");

    // Paused: refused too.
    c2.ok(json!({"type": "open_counter", "counter": "quay-2"}))
        .await;
    c2.ok(json!({"type": "pause_counter", "counter": "quay-2", "reason": "họp"}))
        .await;
    let r = c1.command(to_q2.clone()).await;
    assert_eq!(r["error"]["code"], "transfer_target_closed", "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Quầy số 2 đang tạm dừng"),
        "{r}"
    );

    // Open again: accepted. The phone follows A001 in counter 2's own line: nobody ahead, a
    // wait range, one counter.
    c2.ok(json!({"type": "resume_counter", "counter": "quay-2"}))
        .await;
    let mut phone = s.ws("phone", Who::Ticket(&t1)).await;
    assert_eq!(phone.recv().await["type"], "ticket");
    let mut display = s.ws("display", Who::Device(&s.first.display_token)).await;
    let moved = c1.ok(to_q2.clone()).await;
    assert_eq!(moved["ticket"]["target_counter"], "quay-2", "{moved}");
    let v = settled_view(&s, &mut display, &t1, moved["seq"].as_u64().unwrap()).await;
    assert_eq!(v["state"], "waiting", "{v}");
    assert_eq!(v["target_counter"], "quay-2", "{v}");
    assert_eq!(v["estimate"]["ahead"], 0, "{v}");
    assert_eq!(v["estimate"]["counters"], 1, "{v}");
    assert!(
        v["estimate"]["high_s"].as_u64().is_some(),
        "a wait range: {v}"
    );
    // The phone's own socket brings the move at once (its estimate follows with the next pass).
    let pushed = loop {
        let m = phone.recv().await;
        if m["type"] == "ticket" {
            break m;
        }
    };
    assert_eq!(pushed["ticket"]["target_counter"], "quay-2", "{pushed}");
    assert_eq!(pushed["ticket"]["estimate"]["ahead"], 0, "{pushed}");

    // A002 follows it to counter 2: one person ahead of it there (A001), although A003, the
    // next of the service, is behind it.
    let called = c1
        .ok(json!({"type": "call_next", "counter": "quay-1"}))
        .await;
    assert_eq!(called["ticket"]["number"], "A002");
    let moved = c1.ok(to_q2.clone()).await;
    let v2 = settled_view(&s, &mut display, &t2, moved["seq"].as_u64().unwrap()).await;
    assert_eq!(v2["estimate"]["ahead"], 1, "{v2}");
    // Its range, when the estimator is sure enough to give one, starts no earlier than the
    // first in line's; one person ahead of a cold-started counter may be "not enough data yet".
    match v2["estimate"]["low_s"].as_u64() {
        Some(lo2) => {
            let lo1 = v["estimate"]["low_s"].as_u64().unwrap();
            assert!(
                lo2 >= lo1,
                "the second in line waits at least as long: {v} {v2}"
            );
        }
        None => assert_eq!(
            v2["estimate"]["uncertain"], true,
            "no range, no reason: {v2}"
        ),
    }

    // That is the order counter 2 calls them in.
    for n in ["A001", "A002"] {
        let c = c2
            .ok(json!({"type": "call_next", "counter": "quay-2"}))
            .await;
        assert_eq!(c["ticket"]["number"], n, "{c}");
        assert_eq!(c["ticket"]["reason"], "transferred", "{c}");
        c2.ok(json!({"type": "complete", "counter": "quay-2"}))
            .await;
    }
}
