//! A live configuration change that would strand a citizen or an official is refused with
//! 409 `config_refused`, naming what is in the way, and nothing changes: the version and the
//! text in force stay, and the counter keeps its ticket. (Removing a service with a waiting
//! ticket is tested in `crates/luot-server/tests/config_live.rs`.)
//!
//! Shown to fail: with the broker's check of open counters (`reconfigure`, "is open: close it
//! before removing it") removed, removing the open quay-2 is applied (200, version 2) and the
//! test fails at "removing quay-2 while it is open".

use luot_tests::{Http, SITE, TestServer, Who};
use serde_json::{Value, json};

/// The configuration with one counter's code changed: to the server, that counter is removed.
fn without_counter(toml: &str, code: &str) -> String {
    let line = format!("code = \"{code}\"\n");
    assert_eq!(toml.matches(&line).count(), 1, "{code} is defined once");
    toml.replace(&line, &format!("code = \"{code}-moi\"\n"))
}

/// Applies `toml`, which must be refused with 409 `config_refused` whose messages name every
/// one of `names`; the configuration in force must stay what it was.
async fn refused(admin: &Http, what: &str, toml: &str, names: &[&str]) {
    let before = admin.get("/api/v1/admin/config").await.json();
    let r = admin
        .put("/api/v1/admin/config", &json!({"toml": toml}))
        .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (409, "config_refused"),
        "{what}: {}",
        r.text
    );
    let e = r.json();
    for n in names {
        for lang in ["message", "message_en"] {
            assert!(
                e[lang].as_str().unwrap_or("").contains(n),
                "{what}: the {lang} names {n}: {e}"
            );
        }
    }
    let after = admin.get("/api/v1/admin/config").await.json();
    assert_eq!(
        after["version"], before["version"],
        "{what}: version unchanged"
    );
    assert_eq!(after["toml"], before["toml"], "{what}: text unchanged");
}

fn site_counter<'a>(snapshot: &'a Value, code: &str) -> &'a Value {
    snapshot["snapshot"]["counters"]
        .as_array()
        .expect("counters")
        .iter()
        .find(|c| c["code"] == code)
        .unwrap_or_else(|| panic!("no counter {code} in {snapshot}"))
}

#[tokio::test]
async fn changes_that_strand_a_ticket_or_an_open_counter_or_touch_the_sites_are_refused() {
    let s = TestServer::start().await;
    let admin = s.admin().await;
    let running = admin.get("/api/v1/admin/config").await.json();
    let toml = running["toml"].as_str().unwrap().to_string();
    let version = running["version"].clone();
    let o1 = s.add_official(&admin, "can-bo-1", &["quay-1"]).await;
    let o2 = s.add_official(&admin, "can-bo-2", &["quay-2"]).await;
    let mut c1 = s.ws("counter", Who::Session(&o1.session)).await;
    let mut c2 = s.ws("counter", Who::Session(&o2.session)).await;

    // An open counter with no ticket.
    c2.ok(json!({"type": "open_counter", "counter": "quay-2"}))
        .await;
    refused(
        &admin,
        "removing quay-2 while it is open",
        &without_counter(&toml, "quay-2"),
        &["quay-2"],
    )
    .await;
    c2.ok(json!({"type": "close_counter", "counter": "quay-2"}))
        .await;

    // A counter that holds a ticket: quay-1 has called A001.
    s.issue(&s.first.kiosk_token, "khai-sinh").await;
    c1.ok(json!({"type": "open_counter", "counter": "quay-1"}))
        .await;
    let called = c1
        .ok(json!({"type": "call_next", "counter": "quay-1"}))
        .await;
    assert_eq!(called["ticket"]["number"], "A001", "{called}");
    refused(
        &admin,
        "removing quay-1 while it holds A001",
        &without_counter(&toml, "quay-1"),
        &["quay-1", "A001"],
    )
    .await;

    // A transfer's target counter: A001 waits for quay-2, which has closed since (a transfer to a
    // closed counter is refused, so quay-2 takes it while open).
    c2.ok(json!({"type": "open_counter", "counter": "quay-2"}))
        .await;
    c1.ok(json!({"type": "transfer", "counter": "quay-1", "to": {"kind": "counter", "code": "quay-2"}, "note": "ký xác nhận"}))
        .await;
    c2.ok(json!({"type": "close_counter", "counter": "quay-2"}))
        .await;
    refused(
        &admin,
        "removing quay-2 while a ticket is transferred to it",
        &without_counter(&toml, "quay-2"),
        &["quay-2", "A001"],
    )
    .await;

    // Renaming the site, and adding one, need a restart.
    let renamed = toml.replace("code = \"sa-huynh\"\n", "code = \"sa-huynh-moi\"\n");
    assert_ne!(renamed, toml);
    refused(&admin, "renaming the site", &renamed, &[]).await;
    let site_block = &toml[toml.find("\n[[site]]\n").expect("a site")..];
    let added = format!(
        "{toml}\n{}",
        site_block.replace("code = \"sa-huynh\"\n", "code = \"phuong-moi\"\n")
    );
    refused(&admin, "adding a site", &added, &[]).await;

    // Nothing moved: A001 still waits for quay-2, and the version is the first one.
    let d = s.ws("counter", Who::Session(&o1.session)).await;
    let snap = d.snapshot.clone().expect("a snapshot");
    let waiting = snap["snapshot"]["waiting"]
        .as_array()
        .expect("waiting list");
    assert!(
        waiting
            .iter()
            .any(|t| t["number"] == "A001" && t["target_counter"] == "quay-2"),
        "A001 still waits for quay-2: {snap}"
    );
    assert_eq!(site_counter(&snap, "quay-2")["status"], "closed", "{snap}");
    assert_eq!(
        admin.get("/api/v1/admin/config").await.json()["version"],
        version
    );
    let setup = s.http().get(&format!("/api/v1/sites/{SITE}/setup")).await;
    assert_eq!(setup.status, 200);
    assert!(setup.text.contains("\"quay-2\""), "{}", setup.text);
    d.close().await;
    c1.close().await;
    c2.close().await;
}
