//! Wait estimates computed off the broker (docs/protocol.md §8.7, docs/wait-estimates.md): the
//! server pushes fresh estimates after a change, the kiosk's reply promises exactly what the
//! procedure's tile showed, and a phone's ticket gets its own estimate from the next pass.

use luot_tests::{TestServer, Who, WsClient};
use serde_json::{Value, json};
use std::time::Duration;

/// The next `estimates` message listing `service` (other messages are skipped).
async fn estimates_for(display: &mut WsClient, service: &str) -> Value {
    display.keep_estimates = true;
    loop {
        let m = display.recv_within(Duration::from_secs(30)).await;
        if m["type"] != "estimates" {
            continue;
        }
        if let Some(st) = m["stats"]
            .as_array()
            .and_then(|a| a.iter().find(|s| s["service"] == service))
        {
            return st.clone();
        }
    }
}

#[tokio::test]
async fn the_kiosk_reply_promises_what_the_tile_showed_and_the_phone_gets_its_own_estimate() {
    let s = TestServer::start().await;
    let kiosk = &s.first.kiosk_token;
    let admin = s.admin().await;
    let o1 = s.add_official(&admin, "can-bo-1", &["quay-1"]).await;
    let mut c1 = s.ws("counter", Who::Session(&o1.session)).await;
    let mut display = s.ws("display", Who::Device(&s.first.display_token)).await;

    // A counter opens for civil status: the estimator's next pass gives khai-sinh a newcomer
    // estimate with that counter in it.
    c1.ok(json!({"type": "open_counter", "counter": "quay-1"}))
        .await;
    let mut tile = estimates_for(&mut display, "khai-sinh").await;
    while tile["estimate"]["counters"] != 1 {
        tile = estimates_for(&mut display, "khai-sinh").await;
    }
    let est = &tile["estimate"];
    assert!(
        est["high_s"].as_u64().is_some() || est["uncertain"] == true,
        "an open counter gives a range or says there is not enough data: {tile}"
    );

    // Nothing changed since: the ticket issued now is promised the tile's estimate, the same
    // people ahead and the same range.
    let issued = s.issue(kiosk, "khai-sinh").await;
    assert_eq!(
        issued["ticket"]["estimate"], tile["estimate"],
        "reply {issued} vs tile {tile}"
    );
    let token = issued["token"].as_str().unwrap().to_string();

    // The pass after the issue has this ticket's own estimate: the phone's view gets it, and it
    // counts nobody ahead (the hall was empty).
    let after = estimates_for(&mut display, "khai-sinh").await;
    assert_eq!(after["waiting"], 1, "{after}");
    let view = s.http().get(&format!("/api/v1/tickets/{token}")).await;
    assert_eq!(view.status, 200, "{}", view.text);
    let v = view.json()["ticket"].clone();
    assert_eq!(v["estimate"]["ahead"], 0, "{v}");
    assert_eq!(v["estimate"]["counters"], 1, "{v}");

    // The broker's estimates are its own pass's: `/metrics` counts them.
    let m = s.http().get("/metrics").await;
    let passes = m
        .text
        .lines()
        .find_map(|l| l.strip_prefix("luot_estimate_pass_seconds_count "))
        .and_then(|n| n.trim().parse::<u64>().ok())
        .expect("luot_estimate_pass_seconds_count in /metrics");
    assert!(passes >= 2, "{passes} passes");
}

#[tokio::test]
async fn a_ticket_transferred_to_a_counter_gets_its_estimate_from_the_next_pass() {
    let s = TestServer::start().await;
    let kiosk = &s.first.kiosk_token;
    let admin = s.admin().await;
    let o1 = s.add_official(&admin, "can-bo-1", &["quay-1"]).await;
    let o2 = s.add_official(&admin, "can-bo-2", &["quay-2"]).await;
    let mut c1 = s.ws("counter", Who::Session(&o1.session)).await;
    let mut c2 = s.ws("counter", Who::Session(&o2.session)).await;
    let mut display = s.ws("display", Who::Device(&s.first.display_token)).await;
    display.keep_estimates = true;
    let a1 = s.issue(kiosk, "khai-sinh").await;
    let token = a1["token"].as_str().unwrap().to_string();
    c1.ok(json!({"type": "open_counter", "counter": "quay-1"}))
        .await;
    c2.ok(json!({"type": "open_counter", "counter": "quay-2"}))
        .await;
    c1.ok(json!({"type": "call_next", "counter": "quay-1"}))
        .await;
    let moved = c1
        .ok(json!({"type": "transfer", "counter": "quay-1", "to": {"kind": "counter", "code": "quay-2"}}))
        .await;
    let seq = moved["seq"].as_u64().unwrap();
    // The pass that took the transfer into account says so (`as_of_seq`), and from then on the
    // phone's view is counter 2's line, computed: nobody ahead, one counter, a range (the
    // service's time is the configured one, and nobody is ahead: the futures agree closely
    // enough).
    let m = luot_tests::within("the estimates of the pass after the transfer", async {
        loop {
            let m = display.recv_within(Duration::from_secs(30)).await;
            if m["type"] == "estimates" && m["as_of_seq"].as_u64().unwrap() >= seq {
                return m;
            }
        }
    })
    .await;
    assert_eq!(m["as_of_seq"].as_u64().unwrap(), seq, "{m}");
    let r = s.http().get(&format!("/api/v1/tickets/{token}")).await;
    let v = r.json()["ticket"].clone();
    assert_eq!(v["target_counter"], "quay-2", "{v}");
    assert_eq!(v["estimate"]["ahead"], 0, "{v}");
    assert_eq!(v["estimate"]["counters"], 1, "{v}");
    assert!(v["estimate"]["high_s"].as_u64().is_some(), "{v}");
}
