//! The floor page's actions (`/admin#floor`), through the real server: a manager stops issuing
//! for one procedure (kiosks are refused with the reason, also after a restart) and resumes it,
//! raises today's cap at the limit, pauses and closes another official's counter and cancels a
//! ticket; each action is an audit line with who, what and the address. An official may do none
//! of it.

use luot_tests::{PASSWORD, SITE, Setup, TestServer, Who, roomy_config_toml};
use serde_json::{Value, json};

fn commands() -> String {
    format!("/api/v1/sites/{SITE}/commands")
}

fn stats<'a>(snap: &'a Value, service: &str) -> &'a Value {
    snap["snapshot"]["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service"] == service)
        .unwrap_or_else(|| panic!("no stats for {service}: {snap}"))
}

async fn snapshot(s: &TestServer) -> Value {
    s.http()
        .get(&format!("/api/v1/sites/{SITE}/snapshot"))
        .await
        .json()
}

/// A manager (not the first admin), logged in: (http, session).
async fn manager(s: &TestServer) -> (luot_tests::Http, String) {
    let admin = s.admin().await;
    let r = admin
        .post(
            "/api/v1/admin/users",
            &json!({"login": "truong-bo-phan", "display_name": "Trần Thị Quản", "role": "manager",
                    "password": PASSWORD, "counters": []}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    s.login("truong-bo-phan", PASSWORD).await
}

#[tokio::test]
async fn a_stopped_procedure_is_refused_with_its_reason_until_resumed_even_across_a_restart() {
    let mut s = TestServer::start().await;
    let (m, _) = manager(&s).await;
    let kiosk = s.first.kiosk_token.clone();
    assert_eq!(s.try_issue(&kiosk, "khai-sinh").await.status, 201);

    let reason = "Mất kết nối cơ sở dữ liệu hộ tịch";
    let r = m
        .post(
            &commands(),
            &json!({"type": "pause_service", "service": "khai-sinh", "reason": reason}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let refused = |r: &luot_tests::Resp| {
        assert_eq!(r.status, 409, "{}", r.text);
        assert_eq!(r.code(), "service_paused", "{}", r.text);
        let e = r.json();
        assert!(e["message"].as_str().unwrap().contains(reason), "{e}");
        assert!(e["message_en"].as_str().unwrap().contains(reason), "{e}");
        assert!(
            e["message"].as_str().unwrap().contains("tạm ngừng cấp số"),
            "{e}"
        );
    };
    refused(&s.try_issue(&kiosk, "khai-sinh").await);
    // Another procedure still issues.
    assert_eq!(s.try_issue(&kiosk, "ket-hon").await.status, 201);
    let st = stats(&snapshot(&s).await, "khai-sinh").clone();
    assert_eq!(st["open"], false, "{st}");
    assert_eq!(st["closed_reason"], "service_paused", "{st}");
    assert_eq!(st["paused_reason"], reason, "{st}");
    assert_eq!(st["issued"], 1, "{st}");

    s.restart().await;
    let st = stats(&snapshot(&s).await, "khai-sinh").clone();
    assert_eq!(st["paused_reason"], reason, "after a restart: {st}");
    refused(&s.try_issue(&kiosk, "khai-sinh").await);

    let (m, _) = s.login("truong-bo-phan", PASSWORD).await;
    let r = m
        .post(
            &commands(),
            &json!({"type": "resume_service", "service": "khai-sinh"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = m
        .post(
            &commands(),
            &json!({"type": "resume_service", "service": "khai-sinh"}),
        )
        .await;
    assert_eq!(r.code(), "service_not_paused", "{}", r.text);
    let t = s.try_issue(&kiosk, "khai-sinh").await;
    assert_eq!(t.status, 201, "{}", t.text);
    // A002 went to ket-hon, which shares the prefix.
    assert_eq!(t.json()["ticket"]["number"], "A003", "{}", t.text);
    let st = stats(&snapshot(&s).await, "khai-sinh").clone();
    assert_eq!(st["open"], true, "{st}");
    assert!(st.get("paused_reason").is_none(), "{st}");
}

#[tokio::test]
async fn a_cap_raised_at_the_limit_lets_exactly_that_many_more_and_survives_a_restart() {
    let mut s = TestServer::start_with(Setup {
        config_toml: roomy_config_toml(2, 50),
        ..Setup::default()
    })
    .await;
    let (m, _) = manager(&s).await;
    let kiosk = s.first.kiosk_token.clone();
    for _ in 0..2 {
        assert_eq!(s.try_issue(&kiosk, "khai-sinh").await.status, 201);
    }
    let full = s.try_issue(&kiosk, "khai-sinh").await;
    assert_eq!(full.code(), "daily_cap_reached", "{}", full.text);

    let raise = |cap: u32| json!({"type": "raise_daily_cap", "service": "khai-sinh", "cap": cap});
    for (cap, why) in [(2, "not higher"), (51, "over tickets_per_day_max")] {
        let r = m.post(&commands(), &raise(cap)).await;
        assert_eq!(r.status, 400, "{why}: {}", r.text);
        assert_eq!(r.code(), "cap_invalid", "{why}: {}", r.text);
        assert!(r.text.contains("50"), "names the bound: {}", r.text);
    }
    let r = m.post(&commands(), &raise(3)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(stats(&snapshot(&s).await, "khai-sinh")["daily_cap"], 3);
    let t = s.try_issue(&kiosk, "khai-sinh").await;
    assert_eq!(t.status, 201, "{}", t.text);
    let full = s.try_issue(&kiosk, "khai-sinh").await;
    assert_eq!(full.code(), "daily_cap_reached", "{}", full.text);

    s.restart().await;
    let st = stats(&snapshot(&s).await, "khai-sinh").clone();
    assert_eq!(st["daily_cap"], 3, "after a restart: {st}");
    assert_eq!(st["issued"], 3, "{st}");
    assert_eq!(st["closed_reason"], "daily_cap_reached", "{st}");
    let full = s.try_issue(&kiosk, "khai-sinh").await;
    assert_eq!(full.code(), "daily_cap_reached", "{}", full.text);
}

#[tokio::test]
async fn every_floor_action_is_an_audit_line_with_who_what_and_the_address() {
    let s = TestServer::start().await;
    let admin = s.admin().await;
    let o1 = s.add_official(&admin, "can-bo-1", &["quay-1"]).await;
    let o2 = s.add_official(&admin, "can-bo-2", &["quay-2"]).await;
    let (m, m_session) = manager(&s).await;
    let kiosk = s.first.kiosk_token.clone();
    for _ in 0..3 {
        s.issue(&kiosk, "khai-sinh").await;
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

    // The floor page speaks over its own socket.
    let mut floor = s.ws("admin", Who::Session(&m_session)).await;
    // A forced pause: the ticket quay-1 had called goes back to its place in line.
    let r = floor
        .ok(json!({"type": "pause_counter", "counter": "quay-1", "reason": "Họp đột xuất"}))
        .await;
    let _ = r;
    let snap = snapshot(&s).await;
    let q1 = snap["snapshot"]["counters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "quay-1")
        .unwrap()
        .clone();
    assert_eq!(q1["status"], "paused", "{q1}");
    assert!(q1.get("current").is_none(), "{q1}");
    assert_eq!(snap["snapshot"]["waiting"][0]["number"], "A001", "{snap}");
    floor
        .ok(json!({"type": "close_counter", "counter": "quay-2"}))
        .await;
    floor
        .ok(json!({"type": "pause_service", "service": "ket-hon", "reason": "Hết phôi"}))
        .await;
    floor
        .ok(json!({"type": "resume_service", "service": "ket-hon"}))
        .await;
    floor
        .ok(json!({"type": "raise_daily_cap", "service": "khai-sinh", "cap": 650}))
        .await;
    floor.ok(json!({"type": "cancel", "number": "A003"})).await;
    // The official pausing their own counter is not a forced pause: no line for it.
    c1.ok(json!({"type": "resume_counter", "counter": "quay-1"}))
        .await;
    c1.ok(json!({"type": "pause_counter", "counter": "quay-1", "reason": "Nghỉ trưa"}))
        .await;

    let r = m
        .get("/api/v1/admin/audit?actor=truong-bo-phan&page_size=100")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let audit = r.json();
    let mut lines: Vec<(String, String, String)> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] != "login")
        .map(|e| {
            assert_eq!(e["address"], "127.0.0.1", "{e}");
            let f = |k: &str| e[k].as_str().unwrap().to_string();
            (f("actor"), f("action"), f("detail"))
        })
        .collect();
    lines.reverse();
    let l = |action: &str, detail: &str| {
        (
            "truong-bo-phan".to_string(),
            action.to_string(),
            detail.to_string(),
        )
    };
    assert_eq!(
        lines,
        [
            l("counter_force_pause", "quay-1: Họp đột xuất"),
            l("counter_force_close", "quay-2"),
            l("service_pause", "ket-hon: Hết phôi"),
            l("service_resume", "ket-hon"),
            l("daily_cap_raise", "khai-sinh: 500 → 650"),
            l("ticket_cancel", "A003"),
        ]
    );
    let all = m.get("/api/v1/admin/audit?actor=can-bo-1").await.json();
    assert!(
        all["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["action"] == "login"),
        "an official's own pause is no audit line: {all}"
    );
    // Each action has its name in both languages, for the admin page and the CSV.
    for a in [
        "counter_force_pause",
        "counter_force_close",
        "service_pause",
        "service_resume",
        "daily_cap_raise",
    ] {
        let names = &audit["action_names"][a];
        assert!(
            names["vi"].is_string() && names["en"].is_string(),
            "{a}: {audit}"
        );
    }
}

#[tokio::test]
async fn an_official_may_not_stop_a_procedure_raise_a_cap_or_pause_another_counter() {
    let s = TestServer::start().await;
    let admin = s.admin().await;
    let o1 = s.add_official(&admin, "can-bo-1", &["quay-1"]).await;
    let o2 = s.add_official(&admin, "can-bo-2", &["quay-2"]).await;
    let mut c2 = s.ws("counter", Who::Session(&o2.session)).await;
    c2.ok(json!({"type": "open_counter", "counter": "quay-2"}))
        .await;
    let mut c1 = s.ws("counter", Who::Session(&o1.session)).await;
    for cmd in [
        json!({"type": "pause_service", "service": "khai-sinh", "reason": "thử"}),
        json!({"type": "resume_service", "service": "khai-sinh"}),
        json!({"type": "raise_daily_cap", "service": "khai-sinh", "cap": 900}),
        json!({"type": "pause_counter", "counter": "quay-2", "reason": "thử"}),
        json!({"type": "close_counter", "counter": "quay-2"}),
    ] {
        assert_eq!(c1.refused(cmd.clone()).await, "forbidden", "{cmd}");
        let r = o1.http.post(&commands(), &cmd).await;
        assert_eq!(r.status, 403, "{cmd}: {}", r.text);
        let r = s.http().post(&commands(), &cmd).await;
        assert_eq!(r.status, 401, "anonymous {cmd}: {}", r.text);
    }
    let snap = snapshot(&s).await;
    assert_eq!(stats(&snap, "khai-sinh")["open"], true, "{snap}");
    assert_eq!(stats(&snap, "khai-sinh")["daily_cap"], 500, "{snap}");
    let audit = admin.get("/api/v1/admin/audit?page_size=100").await.json();
    assert!(
        audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor"] != "can-bo-1" || e["action"] == "login"),
        "{audit}"
    );
}
