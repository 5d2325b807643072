//! Session boundaries (issue 11): lunch, closing and `intake_close` reach every client from the
//! server at the boundary itself, without any client asking; a ticket whose wait may run past
//! the end of its session says so. The site is in Asia/Ho_Chi_Minh; [`START_MS`] is Monday
//! 2026-11-30 09:00, and `khai-sinh` keeps the site's hours (07:00–11:30, 13:30–17:00).

use luot_server::clock::OffsetClock;
use luot_tests::{
    START_MS, Setup, TestServer, Who, WsClient, clock_at_start, system_now_ms, within,
};
use serde_json::{Value, json};
use std::sync::Arc;

const MINUTE_MS: i64 = 60_000;
/// 11:30 on the test's Monday: the morning session ends.
const LUNCH_MS: i64 = START_MS + 150 * MINUTE_MS;

fn set_clock(clock: &OffsetClock, ms: i64) {
    clock.set_offset_ms(ms - system_now_ms());
}

async fn server_with(config_toml: Option<String>) -> (TestServer, Arc<OffsetClock>) {
    let clock = clock_at_start();
    let mut setup = Setup {
        clock: clock.clone(),
        ..Setup::default()
    };
    if let Some(t) = config_toml {
        setup.config_toml = t;
    }
    (TestServer::start_with(setup).await, clock)
}

fn stats_of<'a>(stats: &'a Value, service: &str) -> &'a Value {
    stats
        .as_array()
        .expect("stats is a list")
        .iter()
        .find(|s| s["service"] == service)
        .unwrap_or_else(|| panic!("no stats for {service} in {stats}"))
}

/// Reads the socket until the server's `stats` message comes (the kiosk sends nothing
/// meanwhile); any other message in between is a failure, as nothing else happens.
async fn next_stats(ws: &mut WsClient) -> Value {
    within("the server's stats message at the boundary", async {
        let m = ws.recv().await;
        assert_eq!(m["type"], "stats", "expected the boundary's stats, got {m}");
        m
    })
    .await
}

#[tokio::test]
async fn lunch_closes_intake_for_every_client_at_11_30_without_polling() {
    let (s, clock) = server_with(None).await;
    let kiosk_token = s.first.kiosk_token.clone();

    // 09:00: open, in the morning session that ends at 11:30 and resumes at 13:30.
    let mut kiosk = s
        .ws_hello("kiosk", Who::Device(&kiosk_token), None)
        .await
        .unwrap();
    let snap = kiosk.expect_snapshot().await;
    let ks = stats_of(&snap["snapshot"]["services"], "khai-sinh");
    assert_eq!(ks["open"], true, "{ks}");
    assert_eq!(ks["session"]["ends"], "11:30", "{ks}");
    assert_eq!(ks["session"]["resumes"], "2026-11-30 13:30", "{ks}");
    let mut display = s.ws("display", Who::Device(&s.first.display_token)).await;

    // No counter is open, so the wait is not known: at 09:00 nothing is said of lunch yet; at
    // 11:29, a minute before it, the ticket says the wait may run past it.
    let early = s.issue(&kiosk_token, "khai-sinh").await;
    assert!(early["ticket"].get("past_session").is_none(), "{early}");
    set_clock(&clock, LUNCH_MS - MINUTE_MS);
    let issued = s.issue(&kiosk_token, "khai-sinh").await;
    let past = &issued["ticket"]["past_session"];
    assert_eq!(past["ends"], "11:30", "{issued}");
    assert_eq!(past["resumes"], "2026-11-30 13:30", "{issued}");
    let number = issued["ticket"]["number"].as_str().unwrap().to_string();
    // Both sockets saw the issues; nothing else is pending.
    for ws in [&mut kiosk, &mut display] {
        for _ in 0..2 {
            assert_eq!(ws.next_event().await["event"]["type"], "ticket_issued");
        }
    }

    // 11:29:59, one second before lunch. The clients say nothing from here on.
    set_clock(&clock, LUNCH_MS - 1_000);
    let k = next_stats(&mut kiosk).await;
    let d = next_stats(&mut display).await;
    let at = k["at_ms"].as_i64().expect("at_ms");
    assert!(
        at >= LUNCH_MS,
        "sent at {at}, before the boundary {LUNCH_MS}"
    );
    eprintln!(
        "lunch boundary: stats sent {} ms after 11:30:00 (server clock)",
        at - LUNCH_MS
    );
    assert_eq!(k["site"], "sa-huynh");
    assert_eq!(d["at_ms"], k["at_ms"], "every client gets the same message");
    let ks = stats_of(&k["stats"], "khai-sinh");
    assert_eq!(ks["open"], false, "{ks}");
    assert_eq!(ks["closed_reason"], "service_closed", "{ks}");
    assert_eq!(ks["opens_at"], "2026-11-30 13:30", "{ks}");
    assert!(ks.get("session").is_none(), "no session at lunch: {ks}");

    // The kiosk that still tried would be refused, and says when it opens again.
    let r = s.try_issue(&kiosk_token, "khai-sinh").await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.code(), "service_closed", "{}", r.text);
    assert!(
        r.json()["message"].as_str().unwrap().contains("13:30"),
        "{}",
        r.text
    );
    assert_eq!(number, "A002");
}

#[tokio::test]
async fn intake_close_per_session_stops_the_kiosk_at_its_time_and_staff_still_issue() {
    let toml = luot_proto::config::DEFAULT_CONFIG_TOML.replacen(
        "# intake_close = \"16:45\"",
        "intake_close = [\"11:15\", \"16:45\"]",
        1,
    );
    assert_ne!(
        toml,
        luot_proto::config::DEFAULT_CONFIG_TOML,
        "the default shows intake_close"
    );
    let (s, clock) = server_with(Some(toml)).await;
    let kiosk_token = s.first.kiosk_token.clone();
    let mut kiosk = s.ws("kiosk", Who::Device(&kiosk_token)).await;

    // 11:14:59: one second before the morning's intake closes.
    set_clock(&clock, LUNCH_MS - 15 * MINUTE_MS - 1_000);
    let k = next_stats(&mut kiosk).await;
    let at = k["at_ms"].as_i64().unwrap();
    assert!(
        at >= LUNCH_MS - 15 * MINUTE_MS,
        "sent at {at}, before 11:15"
    );
    let ks = stats_of(&k["stats"], "khai-sinh");
    assert_eq!(ks["open"], false, "{ks}");
    assert_eq!(ks["closed_reason"], "intake_closed", "{ks}");
    assert_eq!(ks["opens_at"], "2026-11-30 13:30", "{ks}");

    let r = s.try_issue(&kiosk_token, "khai-sinh").await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.code(), "intake_closed", "{}", r.text);
    let body = r.json();
    assert!(
        body["message"].as_str().unwrap().contains("11:15")
            && body["message_en"].as_str().unwrap().contains("13:30"),
        "{}",
        r.text
    );

    // Staff may still issue (someone at the desk with a good reason).
    let (_, session) = s.login(&s.first.admin_login, &s.first.admin_password).await;
    let mut admin = s.ws("admin", Who::Session(&session)).await;
    let staff = admin
        .ok(json!({"type": "issue", "service": "khai-sinh"}))
        .await;
    assert_eq!(staff["ticket"]["state"], "waiting", "{staff}");
}
