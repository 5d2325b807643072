//! A display that loses its connection for a moment catches up from the server's buffer; one
//! that was away too long gets a fresh snapshot. Either way it never shows stale state.

use luot_server::Limits;
use luot_tests::{TestServer, Who, service_in};

fn numbers(events: &[serde_json::Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["ticket"]["number"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test]
async fn reconnecting_with_resume_from_replays_exactly_the_missed_events() {
    let s = TestServer::start().await;
    let kiosk = &s.first.kiosk_token;
    let display = &s.first.display_token;

    let mut d = s.ws("display", Who::Device(display)).await;
    let first = s.issue(kiosk, "khai-sinh").await;
    d.events_until(first["seq"].as_u64().unwrap()).await;
    let n = d.seq;
    d.close().await;

    // While it is away: three tickets in two queues (ket-hon shares prefix A with khai-sinh).
    s.issue(kiosk, "khai-sinh").await;
    s.issue(kiosk, "ket-hon").await;
    let m = s.issue(kiosk, "chung-thuc-ban-sao").await["seq"]
        .as_u64()
        .unwrap();
    assert_eq!(m, n + 3);

    let mut d = s
        .ws_hello("display", Who::Device(display), Some(n))
        .await
        .expect("welcomed back");
    // `next_event` fails on anything but an event: no snapshot comes first.
    let missed = d.events_until(m).await;
    let seqs: Vec<u64> = missed.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, vec![n + 1, n + 2, n + 3]);
    assert_eq!(numbers(&missed), ["A002", "A003", "B001"]);

    // Nothing else was queued (no duplicates): the next message is the next live event.
    let live = s.issue(kiosk, "khai-sinh").await;
    let e = d.next_event().await;
    assert_eq!(e["seq"], live["seq"]);
    assert_eq!(e["seq"].as_u64().unwrap(), m + 1);
    assert_eq!(e["ticket"]["number"], "A004");

    // Resuming when nothing was missed: no replay, no snapshot, just what happens next.
    let at = d.seq;
    d.close().await;
    let mut d = s
        .ws_hello("display", Who::Device(display), Some(at))
        .await
        .expect("welcomed back");
    let live = s.issue(kiosk, "khai-sinh").await;
    let e = d.next_event().await;
    assert_eq!(e["seq"], live["seq"]);
    assert_eq!(e["seq"].as_u64().unwrap(), at + 1);
}

#[tokio::test]
async fn resuming_from_beyond_the_buffer_gets_a_snapshot_instead() {
    let s = TestServer::start_with_limits(Limits {
        resume_buffer: 4,
        ..Limits::default()
    })
    .await;
    let kiosk = &s.first.kiosk_token;
    let display = &s.first.display_token;

    let d = s.ws("display", Who::Device(display)).await;
    let n = d.seq;
    d.close().await;
    let mut m = 0;
    for _ in 0..6 {
        m = s.issue(kiosk, "khai-sinh").await["seq"].as_u64().unwrap();
    }
    assert_eq!(m, n + 6);

    let mut d = s
        .ws_hello("display", Who::Device(display), Some(n))
        .await
        .expect("welcomed back");
    let snap = d.expect_snapshot().await;
    assert_eq!(
        snap["seq"].as_u64().unwrap(),
        m,
        "the snapshot is as of the last event"
    );
    let khai_sinh = service_in(&snap, "khai-sinh");
    assert_eq!(khai_sinh["waiting"], 6, "the six issued meanwhile");
    // A display counts the waiting; it is not given the list (only counters and managers are).
    assert_eq!(snap["snapshot"]["waiting"], serde_json::json!([]));
    // And live events continue right after it.
    let live = s.issue(kiosk, "khai-sinh").await;
    let e = d.next_event().await;
    assert_eq!(e["seq"], live["seq"]);
    assert_eq!(e["seq"].as_u64().unwrap(), m + 1);

    // A client claiming a seq the server never reached (a server restored from a backup)
    // must not be trusted either: it gets a snapshot.
    let mut d = s
        .ws_hello("display", Who::Device(display), Some(m + 100))
        .await
        .expect("welcomed");
    let snap = d.expect_snapshot().await;
    assert_eq!(snap["seq"].as_u64().unwrap(), m + 1);
}

/// The boundary of the resume buffer, exactly: with room for 4 events, a display that missed
/// exactly 4 gets all 4 replayed (no snapshot), and one that missed 5 gets a snapshot (a replay
/// of the 4 still buffered would silently lose the fifth).
///
/// Shown to fail: with `hub.rs`'s `first.seq <= seq + 1` changed to `seq + 2`, the display that
/// missed 5 is sent 4 events instead of a snapshot ("expected a snapshot, got {… event …}").
#[tokio::test]
async fn a_buffer_of_4_replays_exactly_4_missed_events_and_not_5() {
    let s = TestServer::start_with_limits(Limits {
        resume_buffer: 4,
        ..Limits::default()
    })
    .await;
    let kiosk = &s.first.kiosk_token;
    let display = &s.first.display_token;

    let d = s.ws("display", Who::Device(display)).await;
    let n = d.seq;
    d.close().await;
    let mut m = 0;
    for _ in 0..5 {
        m = s.issue(kiosk, "khai-sinh").await["seq"].as_u64().unwrap();
    }
    assert_eq!(m, n + 5);

    // Missed 4 (was at n + 1): all 4 replayed, then live events; no snapshot.
    let mut d = s
        .ws_hello("display", Who::Device(display), Some(n + 1))
        .await
        .expect("welcomed back");
    let missed = d.events_until(m).await;
    let seqs: Vec<u64> = missed.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, vec![n + 2, n + 3, n + 4, n + 5]);
    assert_eq!(numbers(&missed), ["A002", "A003", "A004", "A005"]);
    let live = s.issue(kiosk, "khai-sinh").await;
    let e = d.next_event().await;
    assert_eq!(e["seq"], live["seq"]);
    let m = m + 1;
    assert_eq!(e["seq"].as_u64().unwrap(), m);
    d.close().await;

    // Missed 5 (was at m - 5; the buffer holds m - 3 ..= m): a snapshot as of m.
    let mut d = s
        .ws_hello("display", Who::Device(display), Some(m - 5))
        .await
        .expect("welcomed back");
    let snap = d.expect_snapshot().await;
    assert_eq!(snap["seq"].as_u64().unwrap(), m);
    assert_eq!(service_in(&snap, "khai-sinh")["waiting"], 6);
    let live = s.issue(kiosk, "khai-sinh").await;
    let e = d.next_event().await;
    assert_eq!(e["seq"], live["seq"]);
    assert_eq!(e["seq"].as_u64().unwrap(), m + 1);
}
