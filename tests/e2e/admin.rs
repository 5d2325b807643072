//! The dossier code an official attaches to a ticket, the audit-log viewer, and editing and
//! disabling accounts: over real HTTP and websockets, checked in the SQLite file too.

use luot_tests::{PASSWORD, SITE, TestServer, Who};
use serde_json::{Value, json};

fn counter_path(counter: &str, action: &str) -> String {
    format!("/api/v1/sites/{SITE}/counters/{counter}/{action}")
}

fn db(s: &TestServer) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(s.db_path(), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap()
}

#[tokio::test]
async fn the_official_attaches_a_dossier_code_that_reports_tie_to_the_rating() {
    let s = TestServer::start().await;
    let kiosk = s.first.kiosk_token.clone();
    let phone = s.issue(&kiosk, "khai-sinh").await["token"]
        .as_str()
        .unwrap()
        .to_string();
    s.issue(&kiosk, "khai-sinh").await;
    let admin = s.admin().await;
    let o1 = s.add_official(&admin, "can-bo-1", &["quay-1"]).await;
    let o2 = s.add_official(&admin, "can-bo-2", &["quay-2"]).await;
    let r = admin
        .post(
            "/api/v1/admin/users",
            &json!({"login": "quan-ly", "display_name": "Quản lý", "role": "manager", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let (manager, _) = s.login("quan-ly", PASSWORD).await;
    let mut display = s.ws("display", Who::Device(&s.first.display_token)).await;

    for a in ["open", "call-next"] {
        let r = o1.http.post(&counter_path("quay-1", a), &json!({})).await;
        assert_eq!(r.status, 200, "{a}: {}", r.text);
    }
    let attach = |n: &str, d: &str| json!({"number": n, "dossier": d});
    let path = counter_path("quay-1", "dossier");

    // Bad codes are refused with a message in both languages, naming the rule.
    for bad in [
        "",
        "   ",
        "mã-hồ-sơ",
        "H26 0001",
        "H26;0001",
        &"9".repeat(41),
    ] {
        let r = o1.http.post(&path, &attach("A001", bad)).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (400, "dossier_invalid"),
            "{bad:?}: {}",
            r.text
        );
        let e = r.json();
        assert!(e["message"].as_str().unwrap().contains("Mã hồ sơ"), "{e}");
        assert_eq!(e["field"], "dossier");
        assert!(e["message_en"].as_str().unwrap().contains("1 to 40"), "{e}");
    }
    let r = o1.http.post(&path, &json!({"number": "A001"})).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "invalid_field"),
        "{}",
        r.text
    );
    // Only the official at that counter (or a manager) may attach, and only to its tickets.
    let r = o2.http.post(&path, &attach("A001", "H26-1")).await;
    assert_eq!((r.status, r.code().as_str()), (403, "forbidden"));
    let r = s.http().post(&path, &attach("A001", "H26-1")).await;
    assert_eq!(r.status, 401);
    let r = s
        .device_http(&kiosk)
        .post(&path, &attach("A001", "H26-1"))
        .await;
    assert_eq!(r.status, 403);
    let r = o1.http.post(&path, &attach("A002", "H26-2")).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (409, "ticket_not_at_counter")
    );
    let r = o2
        .http
        .post(&counter_path("quay-2", "dossier"), &attach("A001", "H26-1"))
        .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (409, "ticket_not_at_counter")
    );

    // At the limit (40 characters) it is taken; the manager corrects it later.
    let forty = format!("000.00.28.H26-261130-{}", "0".repeat(19));
    assert_eq!(forty.len(), 40);
    let r = o1
        .http
        .post(&path, &attach("A001", &format!("  {forty} ")))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let seq = r.json()["seq"].as_u64().unwrap();
    // Public sockets hear that a dossier was attached, not its code.
    let ev = display.events_until(seq).await.pop().unwrap();
    assert_eq!(ev["event"]["type"], "dossier_attached", "{ev}");
    assert_eq!(ev["event"]["counter"], "quay-1");
    assert!(ev["event"].get("dossier").is_none(), "{ev}");

    for a in ["start", "complete"] {
        let r = o1.http.post(&counter_path("quay-1", a), &json!({})).await;
        assert_eq!(r.status, 200, "{a}: {}", r.text);
    }
    let r = s
        .http()
        .post(
            &format!("/api/v1/tickets/{phone}/rate"),
            &json!({"score": 3, "reason": "Chờ lâu"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // After completion, the manager fixes a typo: the last code counts.
    let r = manager
        .post(&path, &attach("a001", "000.00.28.H26-261130-0001"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Stored durably: two events in the ticket's history, and the tickets table.
    let conn = db(&s);
    let bodies: Vec<String> = conn
        .prepare("SELECT body FROM events WHERE kind = 'dossier_attached' ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(bodies.len(), 2);
    assert!(
        bodies[0].contains(&forty),
        "trimmed and stored: {}",
        bodies[0]
    );
    let (dossier, rating): (String, i64) = conn
        .query_row(
            "SELECT dossier, rating FROM tickets WHERE number = 'A001'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((dossier.as_str(), rating), ("000.00.28.H26-261130-0001", 3));

    // The report lists the rating with its dossier; so does the ratings CSV.
    let report = manager
        .get(&format!(
            "/api/v1/sites/{SITE}/reports?from=2026-11-30&to=2026-11-30"
        ))
        .await;
    assert_eq!(report.status, 200, "{}", report.text);
    let listed = &report.json()["report"]["rated_tickets"];
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["number"], "A001");
    assert_eq!(listed[0]["official"], "can-bo-1");
    assert_eq!(listed[0]["score"], 3);
    assert_eq!(listed[0]["reason"], "Chờ lâu");
    assert_eq!(listed[0]["dossier"], "000.00.28.H26-261130-0001");
    let csv = manager
        .get(&format!(
            "/api/v1/sites/{SITE}/reports?from=2026-11-30&to=2026-11-30&format=ratings-csv"
        ))
        .await;
    assert_eq!(csv.status, 200);
    assert_eq!(
        csv.header("content-type").as_deref(),
        Some("text/csv; charset=utf-8")
    );
    // Vietnamese by default: column names, the counter and the official by name, yes/no.
    let mut lines = csv.text.trim_start_matches('\u{feff}').lines();
    assert_eq!(
        lines.next(),
        Some("ngày,số phiếu,thủ tục,quầy,cán bộ,mức đánh giá,hài lòng,lý do,mã hồ sơ,lúc đánh giá")
    );
    let line = lines.next().unwrap_or_default();
    assert!(
        line.starts_with("2026-11-30,A001,")
            && line.contains(",3,không,Chờ lâu,000.00.28.H26-261130-0001,2026-11-30 "),
        "{}",
        csv.text
    );
    let en = manager
        .get(&format!(
            "/api/v1/sites/{SITE}/reports?from=2026-11-30&to=2026-11-30&format=ratings-csv&lang=en"
        ))
        .await;
    assert!(
        en.text.contains(
            "day,ticket,procedure,counter,official,score,satisfied,reason,dossier,rated at"
        ) && en.text.contains(",3,no,Chờ lâu,"),
        "{}",
        en.text
    );
    let bad = manager
        .get(&format!("/api/v1/sites/{SITE}/reports?format=csv&lang=fr"))
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert_eq!(bad.json()["field"], "lang", "{}", bad.text);

    // And on the websocket, the same command for the counter's official.
    let mut ws = s.ws("counter", Who::Session(&o1.session)).await;
    let code = ws
        .refused(json!({"type": "attach_dossier", "counter": "quay-1", "number": "A001", "dossier": "x y"}))
        .await;
    assert_eq!(code, "dossier_invalid");
    ws.ok(json!({"type": "attach_dossier", "counter": "quay-1", "number": "A001", "dossier": "H26-WS"}))
        .await;
}

fn entries(v: &Value) -> Vec<(String, String, String)> {
    v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_string(),
                e["action"].as_str().unwrap().to_string(),
                e["detail"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_audit_log_is_paged_filtered_and_exported_for_managers_only() {
    let s = TestServer::start().await;
    let admin = s.admin().await;
    let admin_login = s.first.admin_login.clone();
    let o1 = s.add_official(&admin, "can-bo-1", &["quay-1"]).await;
    s.add_official(&admin, "can-bo-2", &["quay-2"]).await;
    let r = admin
        .post(
            "/api/v1/admin/users",
            &json!({"login": "quan-ly", "display_name": "Quản lý", "role": "manager", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 201);
    let (manager, _) = s.login("quan-ly", PASSWORD).await;

    let page = |q: &str| {
        let m = manager.clone();
        let q = q.to_string();
        async move {
            let r = m.get(&format!("/api/v1/admin/audit{q}")).await;
            assert_eq!(r.status, 200, "{q}: {}", r.text);
            r.json()
        }
    };
    let all = page("").await;
    let total = all["total"].as_i64().unwrap();
    assert!(total >= 7, "{all}");
    let first = entries(&all);
    assert_eq!(
        first[0],
        ("quan-ly".into(), "login".into(), String::new()),
        "newest first"
    );
    assert!(first.contains(&(admin_login.clone(), "user_add".into(), "can-bo-2".into())));
    assert!(
        all["actions"]
            .as_array()
            .unwrap()
            .contains(&json!("user_add"))
    );
    assert!(
        all["actors"]
            .as_array()
            .unwrap()
            .contains(&json!("can-bo-1"))
    );

    // Filters: by action, by actor, by day range (2026-11-30 is the server's day).
    let adds = page("?action=user_add").await;
    assert_eq!(adds["total"], 3);
    assert!(entries(&adds).iter().all(|e| e.1 == "user_add"));
    let by = page("?actor=can-bo-1").await;
    assert_eq!(
        entries(&by),
        [("can-bo-1".into(), "login".into(), String::new())]
    );
    assert_eq!(page("?from=2026-11-30&to=2026-11-30").await["total"], total);
    assert_eq!(page("?from=2026-12-01").await["total"], 0);
    assert_eq!(page("?to=2026-11-29").await["total"], 0);

    // Paging, and the page-size cap.
    let p1 = page("?page_size=2").await;
    let p2 = page("?page_size=2&page=2").await;
    assert_eq!(p1["pages"].as_i64().unwrap(), (total + 1) / 2);
    assert_eq!(entries(&p1), first[..2]);
    assert_eq!(entries(&p2), first[2..4]);
    assert_eq!(
        page(&format!("?page_size=2&page={}", total)).await["entries"],
        json!([])
    );
    assert_eq!(page("?page_size=500").await["page_size"], 500);
    for bad in ["?page_size=501", "?page_size=0"] {
        let r = manager.get(&format!("/api/v1/admin/audit{bad}")).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (400, "invalid_page_size"),
            "{bad}"
        );
    }
    let r = manager.get("/api/v1/admin/audit?from=2026-13-01").await;
    assert_eq!((r.status, r.code().as_str()), (400, "invalid_field"));
    let r = manager
        .get("/api/v1/admin/audit?from=2026-12-02&to=2026-12-01")
        .await;
    assert_eq!((r.status, r.code().as_str()), (400, "invalid_range"));
    let r = manager
        .get(&format!("/api/v1/admin/audit?actor={}", "x".repeat(65)))
        .await;
    assert_eq!((r.status, r.code().as_str()), (400, "invalid_field"));

    // CSV export of what the filter matches.
    let csv = manager
        .get("/api/v1/admin/audit?action=user_add&format=csv")
        .await;
    assert_eq!(csv.status, 200);
    assert!(csv.text.starts_with('\u{feff}'), "a BOM for Excel");
    let lines: Vec<&str> = csv.text.trim_start_matches('\u{feff}').lines().collect();
    // In Vietnamese by default: column and action names, the site's local time, the admin by
    // name.
    assert_eq!(
        lines[0],
        "STT,Thời điểm,Người thực hiện,Thao tác,Chi tiết,Địa chỉ máy"
    );
    assert_eq!(lines.len(), 4, "{}", csv.text);
    assert!(
        lines[1].ends_with(&format!(
            " ({admin_login}),Thêm tài khoản,quan-ly,127.0.0.1"
        )),
        "{}",
        lines[1]
    );
    assert!(
        lines[1].contains(",2026-11-30 09:"),
        "local time (UTC+7): {}",
        lines[1]
    );

    // Officials and strangers may not read it.
    let r = o1.http.get("/api/v1/admin/audit").await;
    assert_eq!((r.status, r.code().as_str()), (403, "forbidden"));
    let r = s.http().get("/api/v1/admin/audit").await;
    assert_eq!((r.status, r.code().as_str()), (401, "login_required"));
    let r = s
        .device_http(&s.first.kiosk_token)
        .get("/api/v1/admin/audit")
        .await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn accounts_are_edited_and_disabled_and_a_disabled_official_is_cut_off_at_once() {
    let s = TestServer::start().await;
    let admin = s.admin().await;
    let admin_login = s.first.admin_login.clone();
    let o1 = s.add_official(&admin, "can-bo-1", &["quay-1"]).await;
    s.issue(&s.first.kiosk_token, "khai-sinh").await;
    s.issue(&s.first.kiosk_token, "khai-sinh").await;

    // Edit: display name, role, counters; bad values name the field.
    let r = admin
        .post(
            "/api/v1/admin/users/can-bo-1",
            &json!({"display_name": "  Trần Văn Một ", "counters": ["quay-1", "quay-2"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["display_name"], "Trần Văn Một");
    assert_eq!(r.json()["counters"], json!(["quay-1", "quay-2"]));
    for (body, field) in [
        (json!({"counters": ["quay-99"]}), "counters"),
        (json!({"role": "boss"}), "role"),
        (json!({"display_name": " "}), "display_name"),
        (json!({"display_name": "x".repeat(101)}), "display_name"),
        (json!({"counters": vec!["quay-1"; 51]}), "counters"),
    ] {
        let r = admin.post("/api/v1/admin/users/can-bo-1", &body).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        assert_eq!(r.json()["field"], field, "{}", r.text);
    }
    let r = admin
        .post("/api/v1/admin/users/ai-do", &json!({"role": "manager"}))
        .await;
    assert_eq!((r.status, r.code().as_str()), (404, "user_unknown"));
    let r = o1
        .http
        .post("/api/v1/admin/users/can-bo-1", &json!({"role": "admin"}))
        .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "forbidden"),
        "no promoting oneself"
    );

    // The official works with the new counter over REST and on an open socket.
    let r = o1
        .http
        .post(&counter_path("quay-2", "open"), &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut ws = s.ws("counter", Who::Session(&o1.session)).await;
    ws.ok(json!({"type": "call_next", "counter": "quay-2"}))
        .await;

    // Disable: REST refused at once, the open socket is told and closed, login refused.
    let r = admin
        .post("/api/v1/admin/users/can-bo-1/disable", &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["disabled"], true);
    let closed = ws.expect_close().await;
    assert_eq!(closed.code, Some(1008), "{closed:?}");
    assert!(
        closed
            .messages
            .iter()
            .any(|m| m["error"]["code"] == "session_ended"),
        "{closed:?}"
    );
    let r = o1
        .http
        .post(&counter_path("quay-2", "recall"), &json!({}))
        .await;
    assert_eq!((r.status, r.code().as_str()), (401, "login_required"));
    let r = o1.http.get("/api/v1/me").await;
    assert_eq!(r.status, 401);
    let r = s
        .http()
        .post(
            "/api/v1/login",
            &json!({"login": "can-bo-1", "password": PASSWORD}),
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (401, "login_failed"));
    // A socket opened with the old cookie is anonymous now.
    let again = s.ws("counter", Who::Session(&o1.session)).await;
    assert_eq!(again.welcome["authenticated"], false);
    let conn = db(&s);
    let sessions: i64 = conn
        .query_row(
            "SELECT count(*) FROM sessions WHERE login = 'can-bo-1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(sessions, 0);

    // The last admin cannot be disabled or demoted, nor disable themselves.
    let r = admin
        .post(
            &format!("/api/v1/admin/users/{admin_login}/disable"),
            &json!({}),
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (409, "cannot_disable_self"));
    let r = admin
        .post(
            &format!("/api/v1/admin/users/{admin_login}"),
            &json!({"role": "manager"}),
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (409, "last_admin"));

    // Enable, then reset the password: the old one stops working, the new one works.
    let r = admin
        .post("/api/v1/admin/users/can-bo-1/enable", &json!({}))
        .await;
    assert_eq!(r.status, 200);
    let (again, _) = s.login("can-bo-1", PASSWORD).await;
    let r = admin
        .post(
            "/api/v1/admin/users/can-bo-1/password",
            &json!({"password": "ngan"}),
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (400, "weak_password"));
    let r = admin
        .post("/api/v1/admin/users/can-bo-1/password", &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let new_password = r.json()["password"].as_str().unwrap().to_string();
    assert_eq!(
        again.get("/api/v1/me").await.status,
        401,
        "sessions end with the old password"
    );
    let r = s
        .http()
        .post(
            "/api/v1/login",
            &json!({"login": "can-bo-1", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 401);
    s.login("can-bo-1", &new_password).await;
    let r = admin
        .post("/api/v1/admin/users/can-bo-1/rename", &json!({}))
        .await;
    assert_eq!((r.status, r.code().as_str()), (404, "no_route"));

    // Every change is in the audit log.
    let r = admin
        .get("/api/v1/admin/audit?actor=".to_string().as_str())
        .await;
    let log = entries(&r.json());
    for (action, detail) in [
        (
            "user_edit",
            "can-bo-1 display_name=Trần Văn Một counters=quay-1,quay-2",
        ),
        ("user_disable", "can-bo-1"),
        ("user_enable", "can-bo-1"),
        ("user_password", "can-bo-1"),
    ] {
        assert!(
            log.contains(&(admin_login.clone(), action.into(), detail.into())),
            "{action}: {log:?}"
        );
    }
}

#[tokio::test]
async fn a_disabled_officials_socket_is_refused_on_its_next_command() {
    // The announcement and the command race: whichever the socket sees first, the command is
    // not carried out.
    let s = TestServer::start().await;
    let admin = s.admin().await;
    let o1 = s.add_official(&admin, "can-bo-1", &["quay-1"]).await;
    let mut ws = s.ws("counter", Who::Session(&o1.session)).await;
    ws.ok(json!({"type": "open_counter", "counter": "quay-1"}))
        .await;
    let before = s.db_state();
    let r = admin
        .post("/api/v1/admin/users/can-bo-1/disable", &json!({}))
        .await;
    assert_eq!(r.status, 200);
    ws.send_json(&json!({"type": "command", "id": "late", "command": {"type": "close_counter", "counter": "quay-1"}}))
        .await;
    let closed = ws.expect_close().await;
    assert_eq!(closed.code, Some(1008));
    assert!(
        closed.messages.iter().all(|m| m["ok"] != true),
        "the command went through: {closed:?}"
    );
    assert_eq!(s.db_state().events, before.events, "nothing was done");
}

#[tokio::test]
async fn a_socket_opening_while_its_account_is_disabled_never_stays_open_as_that_user() {
    // The upgrade reads the session before the socket listens for account changes; a disable
    // landing in between must still end it (the official's console reconnecting after an edit).
    let s = TestServer::start().await;
    let admin = s.admin().await;
    let mut o1 = s.add_official(&admin, "can-bo-1", &["quay-1"]).await;
    let (mut told, mut anonymous) = (0, 0);
    let nothing = json!({});
    for round in 0..20 {
        let (socket, r) = tokio::join!(
            s.ws_hello("counter", Who::Session(&o1.session), None),
            admin.post("/api/v1/admin/users/can-bo-1/disable", &nothing),
        );
        assert_eq!(r.status, 200, "round {round}: {}", r.text);
        let mut ws = socket.unwrap_or_else(|e| panic!("round {round}: refused {e:?}"));
        if ws.welcome["authenticated"] == true {
            // Welcomed as the official: told at once that the session ended, and closed.
            let closed = ws.expect_close().await;
            assert_eq!(closed.code, Some(1008), "round {round}: {closed:?}");
            assert!(
                closed
                    .messages
                    .iter()
                    .any(|m| m["error"]["code"] == "session_ended"),
                "round {round}: {closed:?}"
            );
            told += 1;
        } else {
            // The disable came first: an anonymous counter socket, which may not act.
            ws.expect_snapshot().await;
            let code = ws
                .refused(json!({"type": "call_next", "counter": "quay-1"}))
                .await;
            assert_eq!(code, "login_required", "round {round}");
            anonymous += 1;
        }
        let r = admin
            .post("/api/v1/admin/users/can-bo-1/enable", &json!({}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        o1.session = s.login("can-bo-1", PASSWORD).await.1;
    }
    eprintln!("20 rounds: {told} welcomed then ended, {anonymous} welcomed anonymous");
}

/// One audit line: (actor, action, detail, address).
fn audit_lines(v: &Value) -> Vec<(String, String, String, String)> {
    v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let f = |k: &str| e[k].as_str().unwrap().to_string();
            (f("actor"), f("action"), f("detail"), f("address"))
        })
        .collect()
}

#[tokio::test]
async fn logins_failures_logouts_cancellations_transfers_and_returns_are_audited_with_the_address()
{
    let s = TestServer::start().await;
    let admin = s.admin().await;
    let o1 = s.add_official(&admin, "can-bo-1", &["quay-1"]).await;
    s.add_official(&admin, "can-bo-2", &["quay-2"]).await;
    let kiosk = s.first.kiosk_token.clone();
    for _ in 0..3 {
        s.issue(&kiosk, "khai-sinh").await;
    }
    let phone_ticket = s.issue(&kiosk, "khai-sinh").await;

    // Wrong passwords: one line each, and one when the back-off starts.
    for _ in 0..3 {
        let r = s
            .http()
            .post(
                "/api/v1/login",
                &json!({"login": "can-bo-2", "password": "sai-mat-khau"}),
            )
            .await;
        assert_eq!(r.status, 401, "{}", r.text);
    }
    let r = s
        .http()
        .post(
            "/api/v1/login",
            &json!({"login": "can-bo-2", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 429, "held back: {}", r.text);

    // The official transfers A001 to another procedure, misses the next ticket and puts it back,
    // cancels A003; a citizen cancels A004 from the phone page; then the official logs out.
    let mut c1 = s.ws("counter", Who::Session(&o1.session)).await;
    c1.ok(json!({"type": "open_counter", "counter": "quay-1"}))
        .await;
    c1.ok(json!({"type": "call_next", "counter": "quay-1"}))
        .await;
    c1.ok(json!({"type": "transfer", "counter": "quay-1", "to": {"kind": "service", "code": "ket-hon"}, "note": "cần ký"}))
        .await;
    let called = c1
        .ok(json!({"type": "call_next", "counter": "quay-1"}))
        .await;
    let missed = called["ticket"]["number"].as_str().unwrap().to_string();
    c1.ok(json!({"type": "no_show", "counter": "quay-1"})).await;
    c1.ok(json!({"type": "return", "number": missed})).await;
    c1.ok(json!({"type": "cancel", "number": "A003"})).await;
    let token = phone_ticket["token"].as_str().unwrap();
    let r = s
        .http()
        .post(&format!("/api/v1/tickets/{token}/cancel"), &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = o1.http.post("/api/v1/logout", &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);

    let r = admin.get("/api/v1/admin/audit?page_size=500").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let all = r.json();
    let lines = audit_lines(&all);
    let here = "127.0.0.1".to_string();
    let l = |actor: &str, action: &str, detail: &str| {
        (
            actor.to_string(),
            action.to_string(),
            detail.to_string(),
            here.clone(),
        )
    };
    for want in [
        l("can-bo-1", "login", ""),
        l("can-bo-2", "login_failed", ""),
        l(
            "can-bo-1",
            "ticket_transfer",
            "A001 quay-1 → ket-hon: cần ký",
        ),
        l("can-bo-1", "ticket_return", &missed),
        l("can-bo-1", "ticket_cancel", "A003"),
        l("phone", "ticket_cancel", "A004"),
        l("can-bo-1", "logout", ""),
    ] {
        assert!(lines.contains(&want), "{want:?} not in {lines:#?}");
    }
    let failed = lines.iter().filter(|x| x.1 == "login_failed").count();
    assert_eq!(
        failed, 3,
        "one line per wrong password, none for the refused fourth try"
    );
    let backoff: Vec<_> = lines.iter().filter(|x| x.1 == "login_backoff").collect();
    assert_eq!(backoff.len(), 1, "{lines:#?}");
    assert!(
        backoff[0].2.contains("login:can-bo-2") && backoff[0].2.contains("addr:127.0.0.1"),
        "names what is held back: {backoff:?}"
    );
    // Account changes carry the address too; the server's own first start does not.
    assert!(lines.contains(&l(&s.first.admin_login, "user_add", "can-bo-2")));
    assert!(lines.iter().any(|x| x.1 == "first_start" && x.3.is_empty()));
    // The page names every action in both languages.
    assert_eq!(
        all["action_names"]["ticket_transfer"],
        json!({"vi": "Chuyển số", "en": "Ticket transferred"})
    );

    // The CSV, in English: names, local times, the address.
    let csv = admin
        .get("/api/v1/admin/audit?action=ticket_transfer&format=csv&lang=en")
        .await;
    assert_eq!(csv.status, 200, "{}", csv.text);
    let rows: Vec<&str> = csv.text.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(rows[0], "No.,Time,Who,Action,Detail,Address");
    assert_eq!(rows.len(), 2, "{}", csv.text);
    assert!(
        rows[1].ends_with(
            ",Cán bộ can-bo-1 (can-bo-1),Ticket transferred,A001 quay-1 → ket-hon: cần ký,127.0.0.1"
        ),
        "{}",
        rows[1]
    );
    let bad = admin.get("/api/v1/admin/audit?format=csv&lang=fr").await;
    assert_eq!(
        (bad.status, bad.json()["field"].clone()),
        (400, json!("lang"))
    );
}
