//! Numbers taken from home (`/lay-so`, issue #15 item 1): a ticket on the `phone` channel holds
//! a place in line from the time it was taken, but no counter calls it until it is checked in
//! at the kiosk (its QR code, or its number and the phone's last 4 digits) or by an official.
//! Called past while away, it keeps its place for `remote_hold_min`; after that it waits from
//! its check-in. The hall keeps `hall_share_pct` of each cap; one phone takes what one person
//! may.

use luot_tests::{SITE, START_MS, Setup, TestServer, clock_at_start, system_now_ms};
use serde_json::{Value, json};

const SERVICE: &str = "chung-thuc-ban-sao";

fn take_path() -> String {
    format!("/api/v1/sites/{SITE}/remote-tickets")
}

async fn take(s: &TestServer, service: &str, phone: &str) -> luot_tests::Resp {
    s.http()
        .post(&take_path(), &json!({"service": service, "phone": phone}))
        .await
}

/// The kiosk's check-in command (`check_in`, protocol §4) with these fields.
async fn check_in(s: &TestServer, mut body: Value) -> luot_tests::Resp {
    body["type"] = json!("check_in");
    s.device_http(&s.first.kiosk_token)
        .post(&format!("/api/v1/sites/{SITE}/commands"), &body)
        .await
}

async fn counter(o: &luot_tests::Official, action: &str) -> Value {
    let r = o
        .http
        .post(
            &format!("/api/v1/sites/{SITE}/counters/quay-3/{action}"),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{action}: {}", r.text);
    r.json()
}

async fn ticket(s: &TestServer, token: &str) -> Value {
    let r = s.http().get(&format!("/api/v1/tickets/{token}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()["ticket"].clone()
}

#[tokio::test]
async fn a_number_from_home_is_called_only_after_the_kiosk_checks_it_in_and_keeps_its_place() {
    let s = TestServer::start().await;
    let r = take(&s, SERVICE, "+84 912-345-678").await;
    assert_eq!(r.status, 201, "{}", r.text);
    let home = r.json();
    let token = home["token"].as_str().unwrap().to_string();
    assert!(
        home["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/t/{token}")),
        "{home}"
    );
    assert_eq!(home["ticket"]["number"], "B001");
    assert_eq!(home["ticket"]["channel"], "phone");
    assert_eq!(home["ticket"]["away"], true, "{home}");
    // The phone page sees it away, first in line.
    let t = ticket(&s, &token).await;
    assert_eq!(t["away"], true, "{t}");
    assert_eq!(t["estimate"]["ahead"], 0, "{t}");
    // The number from home is not public: no phone in what the phone page gets.
    assert!(
        !r.text.contains("0912345678") && !r.text.contains("912345678"),
        "{}",
        r.text
    );

    // A citizen in the hall takes a number after it; the counter calls the one in the hall.
    let walk_in = s.issue(&s.first.kiosk_token, SERVICE).await;
    assert_eq!(walk_in["ticket"]["number"], "B002");
    let t = ticket(&s, walk_in["token"].as_str().unwrap()).await;
    assert_eq!(
        t["estimate"]["ahead"], 1,
        "the number from home counts ahead: {t}"
    );
    let admin = s.admin().await;
    let o = s.add_official(&admin, "can-bo-3", &["quay-3"]).await;
    counter(&o, "open").await;
    let called = counter(&o, "call-next").await;
    assert_eq!(called["ticket"]["number"], "B002", "{called}");
    // Its turn has come: the phone is told how long its place is kept.
    let t = ticket(&s, &token).await;
    let hold = t["hold_until_ms"]
        .as_i64()
        .expect("hold_until_ms once its turn passed");
    let now = START_MS + (system_now_ms() - START_MS).max(0);
    assert!(hold > START_MS && hold - now <= 15 * 60_000 + 60_000, "{t}");

    // The kiosk: the number and the wrong last 4 digits, then the right ones.
    let r = check_in(&s, json!({"number": "B001", "phone_last4": "0000"})).await;
    assert_eq!(
        (r.status, r.code()),
        (404, "check_in_no_match".into()),
        "{}",
        r.text
    );
    let r = check_in(&s, json!({"number": "B009", "phone_last4": "5678"})).await;
    assert_eq!(
        r.code(),
        "check_in_no_match",
        "an unknown number gets the same answer"
    );
    let r = check_in(&s, json!({"number": "B001"})).await;
    assert_eq!(
        (r.status, r.code()),
        (400, "invalid_phone_last4".into()),
        "{}",
        r.text
    );
    let r = check_in(&s, json!({"number": "B001", "phone_last4": "5678"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json()["ticket"]["away"],
        json!(null),
        "checked in: {}",
        r.text
    );
    let r = check_in(&s, json!({"token": token})).await;
    assert_eq!(
        (r.status, r.code()),
        (409, "already_checked_in".into()),
        "{}",
        r.text
    );

    // Back within the hold: it goes before a citizen who came after it was taken.
    s.issue(&s.first.kiosk_token, SERVICE).await;
    counter(&o, "complete").await;
    let called = counter(&o, "call-next").await;
    assert_eq!(called["ticket"]["number"], "B001", "{called}");
    assert_eq!(called["ticket"]["reason"], "next_in_line");
}

#[tokio::test]
async fn checked_in_after_the_hold_it_waits_behind_those_who_came_meanwhile() {
    let clock = clock_at_start();
    let s = TestServer::start_with(Setup {
        clock: clock.clone(),
        ..Setup::default()
    })
    .await;
    let minutes = |m: i64| clock.set_offset_ms(START_MS + m * 60_000 - system_now_ms());
    let home = take(&s, SERVICE, "0912345678").await.json();
    let token = home["token"].as_str().unwrap().to_string();
    let kiosk = s.first.kiosk_token.clone();
    s.issue(&kiosk, SERVICE).await; // B002
    let admin = s.admin().await;
    let o = s.add_official(&admin, "can-bo-3", &["quay-3"]).await;
    counter(&o, "open").await;
    assert_eq!(counter(&o, "call-next").await["ticket"]["number"], "B002");
    minutes(10);
    s.issue(&kiosk, SERVICE).await; // B003, while B001 is still away
    minutes(16);
    // Past the 15 minutes: checked in by its QR code, it waits from now, after B003.
    let r = check_in(&s, json!({"token": token})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    s.issue(&kiosk, SERVICE).await; // B004, after the check-in
    counter(&o, "complete").await;
    assert_eq!(counter(&o, "call-next").await["ticket"]["number"], "B003");
    counter(&o, "complete").await;
    assert_eq!(counter(&o, "call-next").await["ticket"]["number"], "B001");
    counter(&o, "complete").await;
    assert_eq!(counter(&o, "call-next").await["ticket"]["number"], "B004");

    // The report counts B001's wait from its check-in, not from home.
    let events = luot_tests::count_events(&s.db_path(), "ticket_checked_in");
    assert_eq!(events, 1);
    let conn = rusqlite::Connection::open(s.db_path()).unwrap();
    let (issued, checked_in): (i64, Option<i64>) = conn
        .query_row(
            "SELECT issued_at, checked_in_at FROM tickets WHERE number = 'B001'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let checked_in = checked_in.expect("check-in time stored");
    assert!(checked_in - issued >= 15 * 60_000, "{issued} {checked_in}");
}

#[tokio::test]
async fn an_official_checks_a_number_in_and_a_phone_cannot_check_itself_in() {
    let mut s = TestServer::start().await;
    let home = take(&s, SERVICE, "0987 654 321").await.json();
    let token = home["token"].as_str().unwrap().to_string();
    // The citizen's own phone may not say it is in the hall.
    let r = s
        .http()
        .post(&format!("/api/v1/tickets/{token}/check-in"), &json!({}))
        .await;
    assert!(matches!(r.status, 403 | 404), "{}: {}", r.status, r.text);
    let r = s
        .http()
        .post(
            &format!("/api/v1/sites/{SITE}/tickets/B001/check-in"),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text);

    // It survives a restart away, with its phone: the kiosk's 4 digits still match after it.
    s.restart().await;
    let t = ticket(&s, &token).await;
    assert_eq!(t["away"], true, "{t}");
    let r = check_in(&s, json!({"number": "B001", "phone_last4": "4321"})).await;
    assert_eq!(r.status, 200, "{}", r.text);

    let home = take(&s, "chung-thuc-chu-ky", "0977000111").await.json();
    assert_eq!(home["ticket"]["number"], "B002");
    let admin = s.admin().await;
    let o = s.add_official(&admin, "can-bo-3", &["quay-3"]).await;
    let r = o
        .http
        .post(
            &format!("/api/v1/sites/{SITE}/tickets/B002/check-in"),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let audit = admin.get("/api/v1/admin/audit").await;
    assert!(audit.text.contains("ticket_check_in"), "{}", audit.text);
}

#[tokio::test]
async fn limits_refuse_the_next_number_with_a_clear_message() {
    // A cap of 4 a procedure: 2 from home, 2 kept for the hall.
    let s = TestServer::start_with(Setup {
        config_toml: luot_tests::roomy_config_toml(4, 10_000),
        ..Setup::default()
    })
    .await;
    let r = take(&s, SERVICE, "012345").await;
    assert_eq!(
        (r.status, r.code()),
        (400, "invalid_phone".into()),
        "{}",
        r.text
    );
    let r = s
        .http()
        .post(
            &take_path(),
            &json!({"service": SERVICE, "phone": "0912345678", "person_id": "12"}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (400, "invalid_person_id".into()),
        "{}",
        r.text
    );
    let r = s
        .http()
        .post(
            &take_path(),
            &json!({"service": "khong-co", "phone": "0912345678"}),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text);

    // One phone: one number per department, two a day.
    assert_eq!(take(&s, SERVICE, "0912345678").await.status, 201);
    let r = take(&s, "chung-thuc-chu-ky", "0912345678").await;
    assert_eq!(
        (r.status, r.code()),
        (409, "person_department_limit".into()),
        "{}",
        r.text
    );
    let e = r.json();
    assert!(
        e["message"].as_str().unwrap().contains("mỗi lĩnh vực"),
        "{e}"
    );
    assert!(
        e["message_en"].as_str().unwrap().contains("per department"),
        "{e}"
    );
    assert_eq!(take(&s, "khai-sinh", "0912345678").await.status, 201);
    let r = take(&s, "dang-ky-dat-lan-dau", "0912345678").await;
    assert_eq!(
        (r.status, r.code()),
        (409, "person_limit".into()),
        "{}",
        r.text
    );

    // The hall's share: 2 of 4 from home, then refused, while the kiosk still issues.
    assert_eq!(take(&s, SERVICE, "0900000001").await.status, 201);
    let r = take(&s, SERVICE, "0900000002").await;
    assert_eq!(
        (r.status, r.code()),
        (409, "remote_share_reached".into()),
        "{}",
        r.text
    );
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("người đến trực tiếp"),
        "{}",
        r.text
    );
    s.issue(&s.first.kiosk_token, SERVICE).await;
    let list = s
        .http()
        .get(&format!("/api/v1/sites/{SITE}/remote-services"))
        .await;
    assert_eq!(list.status, 200, "{}", list.text);
    let mine = list
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["service"] == SERVICE)
        .cloned()
        .unwrap();
    assert_eq!(mine["open"], false, "{mine}");
    assert_eq!(mine["remote_left"], 0, "{mine}");
    assert_eq!(mine["closed_reason"], "remote_share_reached", "{mine}");
    let other = list
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["service"] == "ket-hon")
        .cloned()
        .unwrap();
    assert_eq!(
        (other["open"].clone(), other["remote_left"].clone()),
        (json!(true), json!(2)),
        "{other}"
    );

    // One phone cannot walk the procedures: its tries are limited, refused ones too.
    let mut limited = false;
    for _ in 0..luot_server::rest::REMOTE_TRIES_PER_PHONE as usize + 1 {
        if take(&s, "ket-hon", "0933333333").await.status == 429 {
            limited = true;
        }
    }
    assert!(limited, "the phone's tries are rate limited");
}
