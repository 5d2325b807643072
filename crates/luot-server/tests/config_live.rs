//! A manager changes the center while it runs: connected clients hear of it, the setup shows it,
//! and a change that would strand a citizen's ticket is refused with nothing changed.

use futures_util::{SinkExt, StreamExt};
use luot_proto::config::{DEFAULT_CONFIG_TOML, default_config};
use luot_server::clock::OffsetClock;
use luot_server::{Limits, Options};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

async fn start(dir: &std::path::Path) -> luot_server::Server {
    let clock = OffsetClock::default();
    let monday_9 = jiff::Timestamp::from_second(1_796_004_000).unwrap(); // 2026-11-30 09:00 +07
    clock.set_offset_ms(monday_9.as_millisecond() - jiff::Timestamp::now().as_millisecond());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    luot_server::start(
        listener,
        Options {
            data_dir: dir.to_path_buf(),
            center: default_config(),
            config_toml: DEFAULT_CONFIG_TOML.to_string(),
            assets_dir: None,
            limits: Limits::default(),
            clock: Arc::new(clock),
            secure_cookies: false,
            public_url: None,
            tls: None,
            trusted_proxies: Default::default(),
        },
    )
    .await
    .unwrap()
}

async fn next_json(
    ws: &mut (impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin),
) -> Value {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a message in time")
            .unwrap()
            .unwrap();
        if let Message::Text(t) = m {
            return serde_json::from_str(&t).unwrap();
        }
    }
}

#[tokio::test]
async fn a_live_configuration_change_reaches_clients_and_never_strands_a_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let base = server.base_url();
    let first = server.first_start.clone().unwrap();
    let admin = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let r = admin
        .post(format!("{base}/api/v1/login"))
        .json(&json!({"login": "admin", "password": first.admin_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // A hall display is connected.
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", server.addr))
        .await
        .unwrap();
    ws.send(Message::Text(
        json!({"type": "hello", "role": "display"})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    assert_eq!(next_json(&mut ws).await["type"], "welcome");
    assert_eq!(next_json(&mut ws).await["type"], "snapshot");

    let current: Value = admin
        .get(format!("{base}/api/v1/admin/config"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(current["toml"], DEFAULT_CONFIG_TOML);
    let version = current["version"].as_i64().unwrap();

    // Change the hall's notice line.
    let old_notice = default_config().sites[0].notice.vi.clone();
    assert!(!old_notice.is_empty() && DEFAULT_CONFIG_TOML.contains(&old_notice));
    let changed =
        DEFAULT_CONFIG_TOML.replacen(&old_notice, "Hôm nay trung tâm làm việc đến 17 giờ", 1);
    let r = admin
        .put(format!("{base}/api/v1/admin/config"))
        .json(&json!({"toml": changed}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let applied: Value = admin
        .get(format!("{base}/api/v1/admin/config"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(applied["version"].as_i64().unwrap(), version + 1);
    let msg = next_json(&mut ws).await;
    assert_eq!(
        msg["type"], "config",
        "the display hears of the change: {msg}"
    );
    let setup: Value = reqwest::get(format!("{base}/api/v1/sites/sa-huynh/setup"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        setup["notice"]["vi"],
        "Hôm nay trung tâm làm việc đến 17 giờ"
    );

    // A citizen holds A001 for khai-sinh: a configuration without that service is refused.
    let r = reqwest::Client::new()
        .post(format!("{base}/api/v1/sites/sa-huynh/tickets"))
        .bearer_auth(&first.kiosk_token)
        .json(&json!({"service": "khai-sinh"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let without = changed.replace("code = \"khai-sinh\"\n", "code = \"khai-sinh-moi\"\n");
    assert_ne!(without, changed);
    let r = admin
        .put(format!("{base}/api/v1/admin/config"))
        .json(&json!({"toml": without}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["code"], "config_refused");
    assert!(e["message"].as_str().unwrap().contains("A001"), "{e}");
    let still: Value = admin
        .get(format!("{base}/api/v1/admin/config"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(still["version"], applied["version"], "nothing changed");
    let snap: Value = reqwest::get(format!("{base}/api/v1/sites/sa-huynh/snapshot"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(snap["snapshot"]["waiting"][0]["number"], "A001");

    // Broken TOML: every error with its line and column, nothing applied.
    let r = admin
        .post(format!("{base}/api/v1/admin/config/check"))
        .json(&json!({"toml": "[[site]]\ncode = \"x y\"\n"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["code"], "config_invalid");
    assert!(e["errors"][0]["line"].as_u64().unwrap() >= 1);
    let r = admin
        .post(format!("{base}/api/v1/admin/config/check"))
        .json(&json!({"toml": changed}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Officials may not read or change the configuration; nobody anonymous either.
    let r = reqwest::Client::new()
        .get(format!("{base}/api/v1/admin/config"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = admin
        .post(format!("{base}/api/v1/admin/users"))
        .json(&json!({"login": "can-bo-1", "display_name": "Cán bộ 1", "role": "official", "password": "mat-khau-dai-1", "counters": ["quay-1"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let official = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    official
        .post(format!("{base}/api/v1/login"))
        .json(&json!({"login": "can-bo-1", "password": "mat-khau-dai-1"}))
        .send()
        .await
        .unwrap();
    let r = official
        .put(format!("{base}/api/v1/admin/config"))
        .json(&json!({"toml": changed}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let names: Value = reqwest::get(format!("{base}/api/v1/sites/sa-huynh/officials"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        names
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["display_name"] == "Cán bộ 1")
    );
    server.shutdown().await;
}
