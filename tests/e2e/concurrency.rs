//! Calls are atomic: counters calling at the same moment never get the same ticket, and every
//! ticket issued is called exactly once.

use futures_util::future::join_all;
use luot_server::Limits;
use luot_tests::{TestServer, Who, WsClient};
use serde_json::json;
use std::collections::BTreeSet;

const TICKETS: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_calling_at_once_never_get_the_same_ticket() {
    // Counters here press "call" and "complete" as fast as the server answers, far beyond
    // the per-socket message rate a person reaches: lift it, and the kiosk's issue rate.
    let s = TestServer::start_with_limits(Limits {
        issue_per_s: 10_000.0,
        issue_burst: 10_000.0,
        ws_messages_per_s: 10_000.0,
        ws_messages_burst: 10_000.0,
        ..Limits::default()
    })
    .await;
    let kiosk = s.first.kiosk_token.clone();

    // 200 tickets from 8 clients at once.
    let batches = join_all((0..8).map(|_| {
        let (s, kiosk) = (&s, &kiosk);
        async move {
            let mut numbers = Vec::new();
            for _ in 0..TICKETS / 8 {
                let r = s.issue(kiosk, "khai-sinh").await;
                numbers.push(r["ticket"]["number"].as_str().unwrap().to_string());
            }
            numbers
        }
    }))
    .await;
    let issued: BTreeSet<String> = batches.into_iter().flatten().collect();
    let expected: BTreeSet<String> = (1..=TICKETS).map(|i| format!("A{i:03}")).collect();
    assert_eq!(issued, expected, "200 distinct numbers, none skipped");

    // Three counters serve khai-sinh: quay-1, quay-2 and the all-round quay-10.
    let admin = s.admin().await;
    let mut counters = Vec::new();
    for (login, code) in [("cb-1", "quay-1"), ("cb-2", "quay-2"), ("cb-10", "quay-10")] {
        let o = s.add_official(&admin, login, &[code]).await;
        let mut ws = s.ws("counter", Who::Session(&o.session)).await;
        ws.ok(json!({"type": "open_counter", "counter": code}))
            .await;
        counters.push((code, ws));
    }

    let calls = join_all(
        counters
            .into_iter()
            .map(|(code, mut ws): (&str, WsClient)| async move {
                let mut got = Vec::new();
                loop {
                    let r = ws
                        .command(json!({"type": "call_next", "counter": code}))
                        .await;
                    if r["ok"] != true {
                        assert_eq!(r["error"]["code"], "queue_empty", "{code}: {r}");
                        return (code, got);
                    }
                    got.push(
                        r["result"]["ticket"]["number"]
                            .as_str()
                            .unwrap()
                            .to_string(),
                    );
                    ws.ok(json!({"type": "complete", "counter": code})).await;
                }
            }),
    )
    .await;

    let mut all = Vec::new();
    for (code, got) in &calls {
        assert!(
            !got.is_empty(),
            "{code} called nothing: the calls did not overlap"
        );
        all.extend(got.iter().cloned());
    }
    let called: BTreeSet<String> = all.iter().cloned().collect();
    assert_eq!(
        all.len(),
        called.len(),
        "a ticket was called twice: {all:?}"
    );
    assert_eq!(called, issued, "every issued ticket was called");

    // The database agrees: each ticket called once, by one counter, and done.
    let c = rusqlite::Connection::open_with_flags(
        s.db_path(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let (done, calls_logged): (i64, i64) = c
        .query_row(
            "SELECT (SELECT count(*) FROM tickets WHERE state = 'done'),
                    (SELECT count(*) FROM events WHERE kind = 'ticket_called')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(done, TICKETS as i64);
    assert_eq!(calls_logged, TICKETS as i64);
}
