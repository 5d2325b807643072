//! Text typed with combining marks (Unikey's combining-mark mode, some phone keyboards) comes in
//! at every edge and is kept in NFC (`luot_proto::text`): an account's name over REST, a note in a
//! websocket command (written plain or with `\u` escapes), a name in the configuration, a voice
//! phrase's text. The vectors are the ones the browsers' test checks too (tests/fixtures/nfc.json).

use luot_tests::{SITE, TestServer, Who};
use serde_json::{Value, json};
use unicode_normalization::UnicodeNormalization;

/// Each character outside ASCII as a `\uXXXX` escape, as Python's `json.dumps` writes it.
fn ascii_json(v: &Value) -> String {
    v.to_string()
        .chars()
        .map(|c| {
            if c.is_ascii() {
                c.to_string()
            } else {
                let mut buf = [0u16; 2];
                c.encode_utf16(&mut buf)
                    .iter()
                    .map(|u| format!("\\u{u:04x}"))
                    .collect()
            }
        })
        .collect()
}

#[tokio::test]
async fn names_and_notes_typed_with_combining_marks_are_kept_in_nfc() {
    let name_typed = "Nguye\u{0302}\u{0303}n Va\u{0306}n Thu\u{0309}y";
    let name = "Nguyễn Văn Thủy";
    assert_ne!(name_typed, name);
    assert_eq!(name_typed.nfc().collect::<String>(), name);

    let s = TestServer::start().await;
    let admin = s.admin().await;
    // An account's name, over REST.
    let r = admin
        .post(
            "/api/v1/admin/users",
            &json!({"login": "thuy", "display_name": name_typed, "role": "official",
                    "password": luot_tests::PASSWORD, "counters": ["quay-1"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let users = admin.get("/api/v1/admin/users").await.json();
    let thuy = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["login"] == "thuy")
        .unwrap();
    assert_eq!(thuy["display_name"], name, "{thuy}");
    let officials = s
        .http()
        .get(&format!("/api/v1/sites/{SITE}/officials"))
        .await
        .json();
    assert!(officials.to_string().contains(name), "{officials}");

    // A note in a websocket command, plain and escaped.
    let (http, session) = s.login("thuy", luot_tests::PASSWORD).await;
    drop(http);
    for _ in 0..2 {
        s.issue(&s.first.kiosk_token, "khai-sinh").await;
    }
    let mut c = s.ws("counter", Who::Session(&session)).await;
    c.ok(json!({"type": "open_counter", "counter": "quay-1"}))
        .await;
    let mut display = s.ws("display", Who::Anonymous).await;
    let note_typed = "Thie\u{0302}\u{0301}u gia\u{0302}\u{0301}y chu\u{031b}\u{0301}ng sinh";
    let note = "Thiếu giấy chứng sinh";
    for escaped in [false, true] {
        c.ok(json!({"type": "call_next", "counter": "quay-1"}))
            .await;
        let cmd = json!({"type": "command", "id": format!("t{escaped}"), "command":
            {"type": "transfer", "counter": "quay-1", "to": {"kind": "service", "code": "ket-hon"}, "note": note_typed}});
        let text = if escaped {
            ascii_json(&cmd)
        } else {
            cmd.to_string()
        };
        c.send_raw_text(text.as_bytes()).await;
        let reply = loop {
            let m = c.recv().await;
            if m["type"] == "reply" && m["id"] == format!("t{escaped}") {
                break m;
            }
        };
        assert_eq!(reply["ok"], true, "{reply}");
        let seq = reply["result"]["seq"].as_u64().unwrap();
        let events = display.events_until(seq).await;
        let transfer = events.last().unwrap();
        assert_eq!(
            transfer["event"]["note"], note,
            "escaped {escaped}: {transfer}"
        );
    }

    // A name in the configuration, applied on the admin page.
    let toml = luot_proto::config::DEFAULT_CONFIG_TOML;
    let site_name = "Trung tâm Phục vụ hành chính công phường Sa Huỳnh";
    let typed_site_name: String = site_name.nfd().collect();
    let r = admin
        .put(
            "/api/v1/admin/config",
            &json!({"toml": toml.replacen(site_name, &typed_site_name, 1)}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let sites = s.http().get("/api/v1/sites").await.json();
    assert_eq!(sites[0]["name"]["vi"], site_name, "{sites}");
}
