//! One rule for credentials that change under open websockets (docs/protocol.md §3.1): logout,
//! password reset, disable, role change and a device's revocation each reach the sockets opened
//! with that credential at once, without waiting for the socket's next command, and always the
//! same way: `session_ended`/`device_revoked` then close 1008 when the credential is gone, close
//! 1012 when the account holds with other rights. A change made by another process is seen at
//! the socket's very next command.

use luot_tests::{Http, PASSWORD, TestServer, Who, WsClient};
use serde_json::json;

/// Reads until the server closes the socket, without sending anything: the change must arrive
/// on its own. Returns the close code and the codes of the `error` messages before it.
async fn closed_by_server(ws: &mut WsClient) -> (Option<u16>, Vec<String>) {
    let closed = ws.expect_close().await;
    let errors = closed
        .messages
        .iter()
        .filter(|m| m["type"] == "error")
        .map(|m| m["error"]["code"].as_str().unwrap_or("").to_string())
        .collect();
    (closed.code, errors)
}

struct Staff {
    s: TestServer,
    admin: Http,
}

async fn staff() -> Staff {
    let s = TestServer::start().await;
    let admin = s.admin().await;
    Staff { s, admin }
}

#[tokio::test]
async fn each_account_change_reaches_open_sockets_at_once_and_the_same_way() {
    let w = staff().await;
    let s = &w.s;
    // (change, what the socket must get): 1008 after `session_ended`, or 1012 alone.
    let cases: [(&str, u16, &[&str]); 4] = [
        ("logout", 1008, &["session_ended"]),
        ("password", 1008, &["session_ended"]),
        ("disable", 1008, &["session_ended"]),
        ("role", 1012, &[]),
    ];
    for (i, (change, code, errors)) in cases.into_iter().enumerate() {
        let login = format!("can-bo-{i}");
        let o = s.add_official(&w.admin, &login, &["quay-1"]).await;
        // The same official on a second device (another session).
        let (other_http, other_session) = s.login(&login, PASSWORD).await;
        let mut ws = s.ws("counter", Who::Session(&o.session)).await;
        let mut other = s.ws("counter", Who::Session(&other_session)).await;
        let r = match change {
            "logout" => o.http.post("/api/v1/logout", &json!({})).await,
            "password" => {
                w.admin
                    .post(&format!("/api/v1/admin/users/{login}/password"), &json!({}))
                    .await
            }
            "disable" => {
                w.admin
                    .post(&format!("/api/v1/admin/users/{login}/disable"), &json!({}))
                    .await
            }
            "role" => {
                w.admin
                    .post(
                        &format!("/api/v1/admin/users/{login}"),
                        &json!({"role": "manager"}),
                    )
                    .await
            }
            _ => unreachable!(),
        };
        assert_eq!(r.status, 200, "{change}: {}", r.text);
        let (got_code, got_errors) = closed_by_server(&mut ws).await;
        assert_eq!(
            (got_code, got_errors.as_slice()),
            (
                Some(code),
                &errors.iter().map(|e| e.to_string()).collect::<Vec<_>>()[..]
            ),
            "{change}: the socket of the changed session"
        );
        if change == "logout" {
            // Logging out ends that session only: the official's other device carries on.
            other
                .ok(json!({"type": "open_counter", "counter": "quay-1"}))
                .await;
            other
                .ok(json!({"type": "close_counter", "counter": "quay-1"}))
                .await;
            let r = other_http.get("/api/v1/me").await;
            assert_eq!(r.status, 200, "{}", r.text);
        } else {
            // An account change reaches every session of the account.
            let (c, e) = closed_by_server(&mut other).await;
            assert_eq!(
                (c, e.len()),
                (Some(code), errors.len()),
                "{change}: the other session"
            );
        }
        println!("account sockets: {change} → close {code} {errors:?}, without a command");
    }
}

#[tokio::test]
async fn a_revoked_kiosk_s_socket_closes_at_once_and_issues_nothing_more() {
    let w = staff().await;
    let s = &w.s;
    let (id, token) = s.pair_device(&w.admin, "kiosk", "Kiosk tầng 2", None).await;
    let mut kiosk = s.ws("kiosk", Who::Device(&token)).await;
    kiosk
        .ok(json!({"type": "issue", "service": "khai-sinh"}))
        .await;
    let before = s.db_state();
    let r = w
        .admin
        .post(&format!("/api/v1/admin/devices/{id}/revoke"), &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (code, errors) = closed_by_server(&mut kiosk).await;
    assert_eq!(
        (code, errors),
        (Some(1008), vec!["device_revoked".to_string()])
    );
    // Over REST the token is no credential any more.
    let r = s.try_issue(&token, "khai-sinh").await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (401, "login_required"),
        "{}",
        r.text
    );
    let after = s.db_state();
    assert_eq!(
        after.tickets, before.tickets,
        "the revoked kiosk issued a ticket"
    );
}

/// What the `luot` CLI does from another process: change the database directly. No
/// announcement reaches the server; the socket's next command must see it all the same.
#[tokio::test]
async fn a_change_made_by_another_process_is_seen_at_the_next_command() {
    let w = staff().await;
    let s = &w.s;
    let o = s.add_official(&w.admin, "can-bo-1", &["quay-1"]).await;
    let mut ws = s.ws("counter", Who::Session(&o.session)).await;
    ws.ok(json!({"type": "open_counter", "counter": "quay-1"}))
        .await;
    {
        let db = rusqlite::Connection::open(s.db_path()).expect("open the database");
        db.busy_timeout(std::time::Duration::from_secs(10))
            .expect("busy timeout");
        let n = db
            .execute("UPDATE users SET disabled = 1 WHERE login = 'can-bo-1'", [])
            .expect("disable directly");
        assert_eq!(n, 1);
    }
    let before = s.db_state();
    let reply = ws
        .command(json!({"type": "close_counter", "counter": "quay-1"}))
        .await;
    assert_eq!(reply["error"]["code"], "session_ended", "{reply}");
    let (code, errors) = closed_by_server(&mut ws).await;
    assert_eq!(
        (code, errors),
        (Some(1008), vec!["session_ended".to_string()])
    );
    assert_eq!(
        s.db_state(),
        before,
        "the command ran for a disabled account"
    );
}
