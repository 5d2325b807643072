//! The clock is an input, and it misbehaves: midnight comes, the server restarts just after it,
//! the wall clock is stepped back an hour or jumps a day ahead. The server runs on an
//! `OffsetClock` the test moves; the site is in Asia/Ho_Chi_Minh (UTC+7, no daylight saving).
//! Whatever the clock does, a day opens once, numbers never repeat within a day, and the
//! citizen who took a ticket first is called first.

use luot_server::clock::OffsetClock;
use luot_tests::{
    START_MS, Setup, TestServer, Who, WsClient, clock_at_start, count_events, system_now_ms,
};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const HOUR_MS: i64 = 3_600_000;
/// 2026-12-01 00:00 in Asia/Ho_Chi_Minh: the midnight after [`START_MS`] (Monday 09:00).
const MIDNIGHT_MS: i64 = START_MS + 15 * HOUR_MS;
const DAY_D: &str = "2026-11-30";
const DAY_D1: &str = "2026-12-01";
const DAY_D2: &str = "2026-12-02";

/// Sets the server's clock so that it reads `ms` now (and runs on from there).
fn set_clock(clock: &OffsetClock, ms: i64) {
    clock.set_offset_ms(ms - system_now_ms());
}

/// A fresh server whose clock reads `ms`; the test keeps a handle on the clock to move it.
async fn server_at(ms: i64) -> (TestServer, Arc<OffsetClock>) {
    let clock = clock_at_start();
    set_clock(&clock, ms);
    let s = TestServer::start_with(Setup {
        clock: clock.clone(),
        ..Setup::default()
    })
    .await;
    (s, clock)
}

/// The admin's socket: staff may issue at any hour and open any counter.
async fn admin_socket(s: &TestServer) -> WsClient {
    let (_, session) = s.login(&s.first.admin_login, &s.first.admin_password).await;
    s.ws("admin", Who::Session(&session)).await
}

async fn issue(ws: &mut WsClient) -> String {
    let r = ws
        .ok(json!({"type": "issue", "service": "khai-sinh"}))
        .await;
    r["ticket"]["number"].as_str().unwrap().to_string()
}

async fn open_day(s: &TestServer) -> String {
    let r = s.http().get("/api/v1/sites/sa-huynh/snapshot").await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()["snapshot"]["day"].as_str().unwrap().to_string()
}

/// (number, day) of every ticket in the database, in issue order.
fn tickets(s: &TestServer) -> Vec<(String, String)> {
    let c = rusqlite::Connection::open_with_flags(
        s.db_path(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut stmt = c
        .prepare("SELECT number, day FROM tickets ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The days the log opened, in order.
fn days_opened(s: &TestServer) -> Vec<String> {
    let c = rusqlite::Connection::open_with_flags(
        s.db_path(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut stmt = c
        .prepare(
            "SELECT json_extract(body, '$.day') FROM events WHERE kind = 'day_opened' ORDER BY seq",
        )
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn assert_no_number_twice(s: &TestServer) {
    let all = tickets(s);
    let mut seen = std::collections::HashSet::new();
    for t in &all {
        assert!(
            seen.insert(t.clone()),
            "{} issued twice on {}: {all:?}",
            t.0,
            t.1
        );
    }
}

/// The next event, skipping anything else (the server may send `intake` or `ticket` messages).
async fn next_event_within(ws: &mut WsClient, limit: Duration) -> Value {
    loop {
        let m = ws.recv_within(limit).await;
        if m["type"] == "event" {
            return m;
        }
    }
}

#[tokio::test]
async fn the_day_rolls_over_once_at_midnight_and_survives_restarts_and_clock_steps() {
    // 23:59 on day D: a ticket of day D.
    let (mut s, clock) = server_at(MIDNIGHT_MS - 60_000).await;
    let mut admin = admin_socket(&s).await;
    assert_eq!(issue(&mut admin).await, "A001");
    assert_eq!(open_day(&s).await, DAY_D);
    let mut display = s.ws("display", Who::Device(&s.first.display_token)).await;

    // 00:00:30: nobody does anything; the broker's own look at the clock (every 10 s) closes
    // day D and opens D+1, once.
    set_clock(&clock, MIDNIGHT_MS + 30_000);
    let closed = next_event_within(&mut display, Duration::from_secs(15)).await;
    assert_eq!(closed["event"]["type"], "day_closed", "{closed}");
    assert_eq!(closed["event"]["day"], DAY_D);
    assert_eq!(closed["event"]["expired"], json!([1]), "D's A001 expired");
    let opened = display.next_event().await;
    assert_eq!(opened["event"]["type"], "day_opened", "{opened}");
    assert_eq!(opened["event"]["day"], DAY_D1);
    assert_eq!(
        opened["seq"].as_u64(),
        closed["seq"].as_u64().map(|s| s + 1)
    );
    assert_eq!(count_events(&s.db_path(), "day_closed"), 1);
    assert_eq!(days_opened(&s), [DAY_D, DAY_D1]);

    // Numbering restarts on the new day; the socket sees the ticket right after the day events.
    assert_eq!(issue(&mut admin).await, "A001");
    assert_eq!(open_day(&s).await, DAY_D1);
    let e = display.next_event().await;
    assert_eq!(
        (e["event"]["type"].as_str(), e["ticket"]["number"].as_str()),
        (Some("ticket_issued"), Some("A001"))
    );
    drop((admin, display));

    // A restart at 00:00:30-something: the day is already open, it does not roll again, and
    // numbering continues.
    s.restart().await;
    let mut admin = admin_socket(&s).await;
    assert_eq!(open_day(&s).await, DAY_D1);
    assert_eq!(issue(&mut admin).await, "A002");
    assert_eq!(count_events(&s.db_path(), "day_closed"), 1);
    assert_eq!(days_opened(&s), [DAY_D, DAY_D1]);

    // Counter 1 calls A001 of D+1.
    admin
        .ok(json!({"type": "open_counter", "counter": "quay-1"}))
        .await;
    let called = admin
        .ok(json!({"type": "call_next", "counter": "quay-1"}))
        .await;
    assert_eq!(called["ticket"]["number"], "A001");

    // The wall clock is stepped back an hour, into day D (23:00:30-something), and the server
    // restarts while it is. Day D does not come back, numbers go on, and nothing runs
    // backwards for the citizens: the service in progress does not get a negative or absurd
    // duration, and A002 (taken before the step) is still called before A003 and A004 (taken
    // after it, before and after the restart).
    set_clock(&clock, MIDNIGHT_MS + 30_000 - HOUR_MS + 1_000);
    assert_eq!(issue(&mut admin).await, "A003");
    assert_eq!(
        open_day(&s).await,
        DAY_D1,
        "stepping back does not reopen day D"
    );
    drop(admin);
    s.restart().await;
    let mut admin = admin_socket(&s).await;
    assert_eq!(
        open_day(&s).await,
        DAY_D1,
        "nor does a restart while the clock is behind"
    );
    assert_eq!(issue(&mut admin).await, "A004");
    let done = admin
        .ok(json!({"type": "complete", "counter": "quay-1"}))
        .await;
    assert_eq!(done["ticket"]["number"], "A001");
    let service_s = service_s_of(&s, "A001", DAY_D1);
    assert!(service_s < 60, "A001 was served for {service_s} s");
    let next = admin
        .ok(json!({"type": "call_next", "counter": "quay-1"}))
        .await;
    assert_eq!(
        next["ticket"]["number"], "A002",
        "first come, first served across a clock step"
    );
    admin
        .ok(json!({"type": "complete", "counter": "quay-1"}))
        .await;
    let next = admin
        .ok(json!({"type": "call_next", "counter": "quay-1"}))
        .await;
    assert_eq!(next["ticket"]["number"], "A003");
    admin
        .ok(json!({"type": "complete", "counter": "quay-1"}))
        .await;
    let next = admin
        .ok(json!({"type": "call_next", "counter": "quay-1"}))
        .await;
    assert_eq!(next["ticket"]["number"], "A004");
    assert_eq!(count_events(&s.db_path(), "day_closed"), 1);
    assert_eq!(days_opened(&s), [DAY_D, DAY_D1]);

    // A jump of 25 hours ahead lands in D+2: one rollover (D+1 closes, D+2 opens), not two.
    let now = system_now_ms() + clock.offset_ms.load(std::sync::atomic::Ordering::SeqCst);
    set_clock(&clock, now + 25 * HOUR_MS);
    // 25 hours on, the admin's session is past its 14 h limit: the open socket is told at its
    // next command (protocol §3.1), and the admin logs in again.
    let r = admin
        .command(json!({"type": "issue", "service": "khai-sinh"}))
        .await;
    assert_eq!(r["error"]["code"], "session_ended", "{r}");
    let mut admin = admin_socket(&s).await;
    assert_eq!(issue(&mut admin).await, "A001");
    assert_eq!(open_day(&s).await, DAY_D2);
    assert_eq!(issue(&mut admin).await, "A002");
    assert_eq!(count_events(&s.db_path(), "day_closed"), 2);
    assert_eq!(days_opened(&s), [DAY_D, DAY_D1, DAY_D2]);

    assert_no_number_twice(&s);
    let numbers: Vec<(String, String)> = tickets(&s);
    let want: Vec<(String, String)> = [
        ("A001", DAY_D),
        ("A001", DAY_D1),
        ("A002", DAY_D1),
        ("A003", DAY_D1),
        ("A004", DAY_D1),
        ("A001", DAY_D2),
        ("A002", DAY_D2),
    ]
    .iter()
    .map(|(n, d)| (n.to_string(), d.to_string()))
    .collect();
    assert_eq!(numbers, want);
    s.server()
        .app
        .broker
        .read(|v| v.sites[0].check_invariants())
        .await
        .unwrap()
        .expect("invariants hold");
}

#[tokio::test]
async fn a_jump_over_a_whole_day_opens_the_new_day_once_and_skips_the_one_in_between() {
    // 23:30 on day D, then the clock jumps 25 hours to 00:30 on D+2: two midnights passed.
    let (s, clock) = server_at(MIDNIGHT_MS - 30 * 60_000).await;
    let mut admin = admin_socket(&s).await;
    assert_eq!(issue(&mut admin).await, "A001");
    assert_eq!(issue(&mut admin).await, "A002");
    set_clock(&clock, MIDNIGHT_MS - 30 * 60_000 + 25 * HOUR_MS);
    // The admin's session is past its 14 h limit now (protocol §3.1): log in again.
    let r = admin
        .command(json!({"type": "issue", "service": "khai-sinh"}))
        .await;
    assert_eq!(r["error"]["code"], "session_ended", "{r}");
    let mut admin = admin_socket(&s).await;

    // The next command finds the new day: D closes, D+2 opens, D+1 never does.
    assert_eq!(issue(&mut admin).await, "A001");
    assert_eq!(open_day(&s).await, DAY_D2);
    assert_eq!(count_events(&s.db_path(), "day_closed"), 1);
    assert_eq!(days_opened(&s), [DAY_D, DAY_D2]);

    // And nothing more on later commands or a later look at the clock.
    assert_eq!(issue(&mut admin).await, "A002");
    assert_eq!(count_events(&s.db_path(), "day_closed"), 1);
    assert_eq!(days_opened(&s), [DAY_D, DAY_D2]);
    assert_no_number_twice(&s);
}

fn service_s_of(s: &TestServer, number: &str, day: &str) -> i64 {
    let c = rusqlite::Connection::open_with_flags(
        s.db_path(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    c.query_row(
        "SELECT service_s FROM tickets WHERE number = ?1 AND day = ?2",
        [number, day],
        |r| r.get(0),
    )
    .unwrap()
}
