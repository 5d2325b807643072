//! Bad input is answered, not obeyed: malformed messages get an error that says where, bad
//! frames close the socket with the right code, bad REST bodies get a 400 with a reason, and
//! none of it changes the database or hurts the server.

use luot_tests::{SITE, TestServer, Who};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

fn says_where(error: &serde_json::Value) -> bool {
    let en = error["message_en"].as_str().unwrap_or("");
    let vi = error["message"].as_str().unwrap_or("");
    en.contains("line 1, column") && vi.contains("dòng 1, cột")
}

#[tokio::test]
async fn malformed_websocket_messages_get_an_error_and_the_socket_stays_open() {
    let s = TestServer::start().await;
    let before = s.db_state();
    let mut kiosk = s.ws("kiosk", Who::Device(&s.first.kiosk_token)).await;

    // Syntax errors are placed by line and column; errors of meaning name what is wrong.
    for (what, text, mentions, placed) in [
        (
            "truncated JSON",
            r#"{"type": "command", "id": "x","#,
            "EOF",
            true,
        ),
        ("not JSON at all", "lấy số", "expected value", true),
        (
            "unknown message type",
            r#"{"type": "dance"}"#,
            "dance",
            false,
        ),
        (
            "wrong field type",
            r#"{"type": "command", "id": "x", "command": {"type": "issue", "service": 42}}"#,
            "invalid type: integer `42`",
            false,
        ),
        (
            "unknown command",
            r#"{"type": "command", "id": "x", "command": {"type": "print_money"}}"#,
            "print_money",
            false,
        ),
        (
            "unknown field",
            r#"{"type": "command", "id": "x", "command": {"type": "issue", "service": "khai-sinh", "vip": true}}"#,
            "vip",
            false,
        ),
        (
            "missing field",
            r#"{"type": "command", "id": "x", "command": {"type": "call_next"}}"#,
            "counter",
            false,
        ),
    ] {
        kiosk.send(Message::text(text)).await;
        let m = kiosk.recv().await;
        assert_eq!(m["type"], "error", "{what}: {m}");
        assert_eq!(m["v"], 1);
        assert_eq!(m["error"]["code"], "bad_message", "{what}: {m}");
        if placed {
            assert!(says_where(&m["error"]), "{what}: no line/column in {m}");
        }
        let en = m["error"]["message_en"].as_str().unwrap();
        let vi = m["error"]["message"].as_str().unwrap();
        assert!(
            !en.contains("line 0"),
            "{what}: a position that is no position: {m}"
        );
        assert!(
            en.contains(mentions) && vi.contains(mentions),
            "{what}: should mention {mentions:?}: {m}"
        );
    }
    // Still open and answering commands.
    let code = kiosk
        .refused(json!({"type": "issue", "service": "khong-co"}))
        .await;
    assert_eq!(code, "unknown_service");
    assert_eq!(s.db_state(), before, "bad messages changed the database");
    let ok = kiosk
        .ok(json!({"type": "issue", "service": "khai-sinh"}))
        .await;
    assert_eq!(ok["ticket"]["number"], "A001");
}

#[tokio::test]
async fn a_socket_that_does_not_say_hello_first_is_closed_with_policy_violation() {
    let s = TestServer::start().await;
    let before = s.db_state();

    // A command before hello.
    let mut c = luot_tests::WsClient::connect(&s.ws_url(), &[])
        .await
        .unwrap();
    c.send_json(&json!({"type": "command", "id": "1", "command": {"type": "issue", "service": "khai-sinh"}}))
        .await;
    let closed = c.expect_close().await;
    assert_eq!(closed.code, Some(1008), "{closed:?}");
    assert_eq!(closed.messages.len(), 1, "{closed:?}");
    assert_eq!(closed.messages[0]["error"]["code"], "hello_first");

    // A hello that is not valid JSON, or has a field the protocol does not know.
    for text in [
        r#"{"type": "hello", "role": "kiosk""#,
        r#"{"type": "hello", "role": "kiosk", "admin": true}"#,
        r#"{"type": "hello", "role": "president"}"#,
    ] {
        let mut c = luot_tests::WsClient::connect(&s.ws_url(), &[])
            .await
            .unwrap();
        c.send(Message::text(text)).await;
        let closed = c.expect_close().await;
        assert_eq!(closed.code, Some(1008), "{text}: {closed:?}");
        assert_eq!(closed.messages[0]["error"]["code"], "bad_message", "{text}");
    }

    // A forged device token.
    let forged = "ab".repeat(32);
    let refused = s
        .ws_hello("kiosk", Who::Device(&forged), None)
        .await
        .expect_err("a forged device token must not be welcomed");
    assert_eq!(refused.code(), "device_unknown");
    assert_eq!(refused.close, Some(1008));

    // An unknown site.
    let mut c = luot_tests::WsClient::connect(&s.ws_url(), &[])
        .await
        .unwrap();
    c.send_json(&json!({"type": "hello", "role": "display", "site": "atlantis"}))
        .await;
    let closed = c.expect_close().await;
    assert_eq!(closed.code, Some(1008));
    assert_eq!(closed.messages[0]["error"]["code"], "unknown_site");

    assert_eq!(s.db_state(), before);
}

#[tokio::test]
async fn bad_frames_close_the_socket_with_the_matching_close_code() {
    let s = TestServer::start().await;
    let before = s.db_state();
    let kiosk = &s.first.kiosk_token;

    // Larger than the 16 KiB a client may send: 1009 (message too big).
    let mut c = s.ws("kiosk", Who::Device(kiosk)).await;
    let big = json!({"type": "command", "id": "x".repeat(17 * 1024), "command": {"type": "issue", "service": "khai-sinh"}});
    c.send_json(&big).await;
    let closed = c.expect_close().await;
    assert_eq!(closed.code, Some(1009), "{closed:?}");

    // The same limit holds for a message in fragments, each of them under it: 1009.
    let mut c = s.ws("kiosk", Who::Device(kiosk)).await;
    let part = vec![b' '; 10 * 1024];
    c.send_raw_fragments(&[b"{\"type\": \"command\",", &part, &part, b"}"])
        .await;
    let closed = c.expect_close().await;
    assert_eq!(closed.code, Some(1009), "{closed:?}");

    // A text frame that is not UTF-8: 1007 (invalid payload).
    let mut c = s.ws("kiosk", Who::Device(kiosk)).await;
    c.send_raw_text(b"{\"type\": \"\xff\xfe\"}").await;
    let closed = c.expect_close().await;
    assert_eq!(closed.code, Some(1007), "{closed:?}");

    // Invalid UTF-8 split across fragments (each fragment alone is not the problem): 1007.
    let mut c = s.ws("kiosk", Who::Device(kiosk)).await;
    c.send_raw_fragments(&[b"{\"type\": \"\xe1\xbb", b"\x28\"}"])
        .await;
    let closed = c.expect_close().await;
    assert_eq!(closed.code, Some(1007), "{closed:?}");

    // Also as the very first frame, before hello.
    let mut c = luot_tests::WsClient::connect(&s.ws_url(), &[])
        .await
        .unwrap();
    c.send_raw_text(b"\xc3\x28").await;
    let closed = c.expect_close().await;
    assert_eq!(closed.code, Some(1007), "{closed:?}");

    // A binary frame: 1003 (unsupported data), before and after hello.
    let mut c = s.ws("kiosk", Who::Device(kiosk)).await;
    c.send(Message::binary(vec![1, 2, 3])).await;
    let closed = c.expect_close().await;
    assert_eq!(closed.code, Some(1003), "{closed:?}");
    let mut c = luot_tests::WsClient::connect(&s.ws_url(), &[])
        .await
        .unwrap();
    c.send(Message::binary(
        b"{\"type\":\"hello\",\"role\":\"kiosk\"}".to_vec(),
    ))
    .await;
    let closed = c.expect_close().await;
    assert_eq!(closed.code, Some(1003), "{closed:?}");

    assert_eq!(s.db_state(), before, "bad frames changed the database");
    // The server is unharmed.
    let r = s.http().get("/healthz").await;
    assert_eq!(r.status, 200);
    let mut c = s.ws("kiosk", Who::Device(kiosk)).await;
    c.ok(json!({"type": "issue", "service": "khai-sinh"})).await;
}

#[tokio::test]
async fn bad_rest_requests_get_a_json_error_and_change_nothing() {
    let s = TestServer::start().await;
    let before = s.db_state();
    let kiosk = s.device_http(&s.first.kiosk_token);
    let anon = s.http();

    // Malformed bodies: 400 with a code and a message that says where, or what.
    for (http, path, body, mentions) in [
        (
            &anon,
            "/api/v1/login".to_string(),
            r#"{"login": "admin", "password": "#,
            "line 1, column",
        ),
        (
            &anon,
            "/api/v1/login".to_string(),
            r#"{"login": "admin"}"#,
            "missing field `password`",
        ),
        (&anon, "/api/v1/login".to_string(), "", "EOF"),
        (
            &kiosk,
            format!("/api/v1/sites/{SITE}/tickets"),
            r#"{"service": 42}"#,
            "line 1, column",
        ),
        (
            &kiosk,
            format!("/api/v1/sites/{SITE}/tickets"),
            r#"{"service": "khai-sinh", "vip": true}"#,
            "unknown field `vip`",
        ),
        (
            &kiosk,
            format!("/api/v1/sites/{SITE}/tickets"),
            "[1, 2",
            "line 1, column",
        ),
        (
            &kiosk,
            format!("/api/v1/sites/{SITE}/commands"),
            r#"{"type": "launch"}"#,
            "unknown variant `launch`",
        ),
        (
            &kiosk,
            format!("/api/v1/sites/{SITE}/counters/quay-1/pause"),
            r#"{"reason": }"#,
            "line 1, column",
        ),
    ] {
        let r = http.post_raw(&path, body.to_string()).await;
        assert_eq!(r.status, 400, "POST {path} {body:?}: {}", r.text);
        let e = r.json();
        assert_eq!(e["code"], "bad_body", "POST {path} {body:?}: {e}");
        let en = e["message_en"].as_str().unwrap();
        assert!(
            en.contains(mentions),
            "POST {path} {body:?}: should mention {mentions:?}: {e}"
        );
        assert!(!en.contains("line 0"), "POST {path} {body:?}: {e}");
        assert!(!e["message"].as_str().unwrap().is_empty());
    }

    // A well-formed body with an invalid value names the field.
    let r = kiosk
        .post(
            &format!("/api/v1/sites/{SITE}/tickets"),
            &json!({"service": "không dấu?"}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json()["field"], "service");

    // Larger than the body limit.
    let r = kiosk
        .post_raw(
            &format!("/api/v1/sites/{SITE}/tickets"),
            format!(r#"{{"service": "{}"}}"#, "x".repeat(20 * 1024)),
        )
        .await;
    assert_eq!(r.status, 413, "{}", r.text);

    // Unknown routes and sites: 404 with a JSON code.
    for path in [
        "/api/v1/nothing-here",
        "/api/v1/sites/sa-huynh/tickets/A001/dance",
    ] {
        let r = anon.post(path, &json!({})).await;
        assert_eq!(r.status, 404, "{path}: {}", r.text);
        assert_eq!(r.code(), "no_route", "{path}");
    }
    let r = anon.get("/api/v1/nothing-here").await;
    assert_eq!((r.status, r.code().as_str()), (404, "no_route"));
    let r = anon.get("/api/v1/sites/atlantis/snapshot").await;
    assert_eq!((r.status, r.code().as_str()), (404, "unknown_site"));

    // Forged and stale session cookies are nobody.
    for cookie in [
        "0".repeat(64),
        "abc".to_string(),
        "zz".repeat(32),
        String::new(),
    ] {
        let r = s.cookie_http(&cookie).get("/api/v1/me").await;
        assert_eq!(r.status, 401, "cookie {cookie:?}: {}", r.text);
        assert_eq!(r.code(), "login_required");
        let r = s
            .cookie_http(&cookie)
            .post(
                &format!("/api/v1/sites/{SITE}/counters/quay-1/open"),
                &json!({}),
            )
            .await;
        assert_eq!(r.status, 401, "cookie {cookie:?}: {}", r.text);
    }
    // A forged device token likewise.
    let r = s
        .device_http(&"cd".repeat(32))
        .post(
            &format!("/api/v1/sites/{SITE}/tickets"),
            &json!({"service": "khai-sinh"}),
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (401, "login_required"));

    assert_eq!(s.db_state(), before, "bad requests changed the database");
    assert_eq!(s.http().get("/healthz").await.status, 200);
}
