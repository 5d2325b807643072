//! An official who closes the browser leaves the counter open: the server pauses it once no
//! console of that official has been connected for the site's `console_absent_s` (15 s here),
//! with the reason "Cán bộ vắng mặt" for every screen, and the ticket it had called goes back to
//! its place in line (the next counter calls it first). A console that reconnects in time keeps
//! its counter open; the official's return resumes the paused one. The audit log says so.

use luot_tests::{SITE, Setup, TestServer, Who};
use serde_json::{Value, json};
use std::time::Duration;

fn config_with_absence_s(s: u32) -> String {
    let toml = luot_proto::config::DEFAULT_CONFIG_TOML;
    let line = "console_absent_s = 120";
    assert!(toml.contains(line));
    toml.replacen(line, &format!("console_absent_s = {s}"), 1)
}

fn counter<'a>(snap: &'a Value, code: &str) -> &'a Value {
    snap["snapshot"]["counters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == code)
        .unwrap()
}

#[tokio::test]
async fn a_counter_without_its_officials_console_is_paused_and_its_called_ticket_goes_back_first() {
    let s = TestServer::start_with(Setup {
        config_toml: config_with_absence_s(15),
        ..Setup::default()
    })
    .await;
    let admin = s.admin().await;
    let o1 = s.add_official(&admin, "can-bo-1", &["quay-1"]).await;
    let o2 = s.add_official(&admin, "can-bo-2", &["quay-2"]).await;
    for _ in 0..3 {
        s.issue(&s.first.kiosk_token, "khai-sinh").await;
    }
    let mut c1 = s.ws("counter", Who::Session(&o1.session)).await;
    let mut c2 = s.ws("counter", Who::Session(&o2.session)).await;
    c1.ok(json!({"type": "open_counter", "counter": "quay-1"}))
        .await;
    c2.ok(json!({"type": "open_counter", "counter": "quay-2"}))
        .await;
    let called = c1
        .ok(json!({"type": "call_next", "counter": "quay-1"}))
        .await;
    assert_eq!(called["ticket"]["number"], "A001");
    let a001 = called["ticket"]["id"].clone();
    let mut display = s.ws("display", Who::Device(&s.first.display_token)).await;

    // Official 1 closes the browser. Official 2's console drops and comes back at once, again
    // and again: that counter stays open.
    c1.close().await;
    for _ in 0..3 {
        c2.close().await;
        c2 = s.ws("counter", Who::Session(&o2.session)).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }

    // Within 15 s + the watch's 5 s (and some slack for a busy machine): quay-1 is paused.
    let paused = loop {
        let m = display.recv_within(Duration::from_secs(40)).await;
        if m["type"] == "event" && m["event"]["type"] == "counter_paused" {
            break m;
        }
    };
    assert_eq!(paused["event"]["counter"], "quay-1", "{paused}");
    assert_eq!(paused["event"]["reason"], "Cán bộ vắng mặt", "{paused}");
    assert_eq!(paused["event"]["requeued"], a001, "{paused}");
    assert_eq!(paused["ticket"]["number"], "A001", "{paused}");
    assert_eq!(paused["ticket"]["state"], "waiting", "{paused}");

    let snap = s
        .http()
        .get(&format!("/api/v1/sites/{SITE}/snapshot"))
        .await
        .json();
    let q1 = counter(&snap, "quay-1");
    assert_eq!(q1["status"], "paused", "{q1}");
    assert_eq!(q1["pause_reason"], "Cán bộ vắng mặt", "{q1}");
    assert!(q1.get("current").is_none(), "{q1}");
    assert_eq!(
        counter(&snap, "quay-2")["status"],
        "open",
        "kept by a console"
    );
    assert_eq!(snap["snapshot"]["waiting"][0]["number"], "A001", "{snap}");

    // The next call anywhere takes A001 first: it kept its place.
    let next = c2
        .ok(json!({"type": "call_next", "counter": "quay-2"}))
        .await;
    assert_eq!(next["ticket"]["number"], "A001", "{next}");

    // Official 1 is back: one command resumes the counter.
    let mut c1 = s.ws("counter", Who::Session(&o1.session)).await;
    c1.ok(json!({"type": "resume_counter", "counter": "quay-1"}))
        .await;
    let called = c1
        .ok(json!({"type": "call_next", "counter": "quay-1"}))
        .await;
    assert_eq!(called["ticket"]["number"], "A002");

    let audit = admin
        .get("/api/v1/admin/audit?action=counter_absent")
        .await
        .json();
    assert_eq!(audit["entries"][0]["actor"], "system", "{audit}");
    assert_eq!(
        audit["entries"][0]["detail"], "quay-1 can-bo-1 A001",
        "{audit}"
    );
    drop(c2);
}
