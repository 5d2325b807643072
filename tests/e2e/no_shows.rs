//! The console's "came back" list is the server's: a snapshot lists today's returnable no-shows
//! with the counter that marked them (for consoles, not public screens), and a return takes the
//! ticket off, so an official who reloads or logs in again sees the same list.

use luot_tests::{SITE, TestServer, Who};
use serde_json::json;

fn counter_path(counter: &str, action: &str) -> String {
    format!("/api/v1/sites/{SITE}/counters/{counter}/{action}")
}

/// The snapshot a socket of `role` gets after its hello.
async fn snapshot(s: &TestServer, role: &str, who: Who<'_>) -> serde_json::Value {
    let mut c = s.ws_hello(role, who, None).await.expect("hello accepted");
    c.expect_snapshot().await
}

#[tokio::test]
async fn returnable_no_shows_are_in_the_console_snapshot_until_they_come_back() {
    let s = TestServer::start().await;
    let kiosk = s.first.kiosk_token.clone();
    for _ in 0..2 {
        s.issue(&kiosk, "khai-sinh").await;
    }
    let admin = s.admin().await;
    let o = s.add_official(&admin, "can-bo-1", &["quay-1"]).await;
    for a in ["open", "call-next", "no-show", "call-next", "no-show"] {
        let r = o.http.post(&counter_path("quay-1", a), &json!({})).await;
        assert_eq!(r.status, 200, "{a}: {}", r.text);
    }
    let numbers = |snap: &serde_json::Value| -> Vec<(String, String)> {
        snap["snapshot"]["no_shows"]
            .as_array()
            .unwrap_or(&vec![])
            .iter()
            .map(|t| {
                (
                    t["number"].as_str().unwrap().to_string(),
                    t["counter"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    };
    // A console logging in again: both, newest first, with the counter that marked them.
    let snap = snapshot(&s, "counter", Who::Session(&o.session)).await;
    let both = vec![
        ("A002".to_string(), "quay-1".to_string()),
        ("A001".to_string(), "quay-1".to_string()),
    ];
    assert_eq!(numbers(&snap), both, "{snap}");
    // A public screen is not given the list.
    let shown = snapshot(&s, "display", Who::Device(&s.first.display_token)).await;
    assert_eq!(numbers(&shown), vec![], "{shown}");

    // A001 comes back: off the list for the next console too.
    let r = o
        .http
        .post(
            &format!("/api/v1/sites/{SITE}/tickets/A001/return"),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let again = snapshot(&s, "counter", Who::Session(&o.session)).await;
    assert_eq!(numbers(&again), both[..1].to_vec(), "{again}");
}
