//! The routes anyone may call without credentials but that change something — a phone's
//! `cancel` and `rate` of its own ticket, `login`, `logout` — refuse a page from a foreign
//! `Origin` (403 `origin_refused`, nothing changed), and accept the origins the configuration
//! allows: `allowed_origins` and `public_url`. (Routes that need credentials are covered by
//! `authorization.rs`'s foreign-origin asker.)
//!
//! Shown to fail: with `same_origin` in rest.rs checking only requests with credentials
//! (`if credentials && …` instead of `if (!safe || credentials) && …`), the foreign page's
//! cancel is accepted (200) and the test fails at "a foreign page cancels the ticket".

use luot_tests::{Http, PASSWORD, Setup, TestServer};
use serde_json::json;

const FOREIGN: &str = "https://lua-dao.example";
const ALLOWED: &str = "https://dichvucong.example";
const PUBLIC_URL: &str = "http://192.168.1.10:8080";

fn from(s: &TestServer, origin: &str) -> Http {
    Http::plain(&s.base).with_header("origin", origin)
}

#[tokio::test]
async fn anonymous_changes_from_a_foreign_origin_are_refused_and_allowed_origins_get_through() {
    let default = luot_proto::config::DEFAULT_CONFIG_TOML;
    let line = "\nallowed_origins = []\n";
    assert_eq!(default.matches(line).count(), 1);
    let toml = default.replace(
        line,
        &format!("\nallowed_origins = [\"{ALLOWED}\"]\npublic_url = \"{PUBLIC_URL}\"\n"),
    );
    let mut s = TestServer::start_with(Setup {
        config_toml: toml,
        ..Setup::default()
    })
    .await;
    // The server's own links use public_url; the test reaches it on loopback.
    assert_eq!(s.base, PUBLIC_URL);
    s.base = format!("http://{}", s.server().addr);
    let admin = s.admin().await;
    let official = s.add_official(&admin, "can-bo-1", &["quay-1"]).await;

    let token = s.issue(&s.first.kiosk_token, "khai-sinh").await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let refused = |what: &str, r: luot_tests::Resp| {
        assert_eq!(
            (r.status, r.code().as_str()),
            (403, "origin_refused"),
            "{what}: {}",
            r.text
        );
        assert!(r.session_cookie().is_none(), "{what}: no cookie set");
    };
    let before = s.db_state();
    refused(
        "a foreign page cancels the ticket",
        from(&s, FOREIGN)
            .post(&format!("/api/v1/tickets/{token}/cancel"), &json!({}))
            .await,
    );
    refused(
        "a foreign page rates the ticket",
        from(&s, FOREIGN)
            .post(
                &format!("/api/v1/tickets/{token}/rate"),
                &json!({"score": 1}),
            )
            .await,
    );
    refused(
        "a foreign page logs in",
        from(&s, FOREIGN)
            .post(
                "/api/v1/login",
                &json!({"login": "can-bo-1", "password": PASSWORD}),
            )
            .await,
    );
    refused(
        "a foreign page logs the official out",
        from(&s, FOREIGN)
            .with_header("cookie", &format!("luot_session={}", official.session))
            .post("/api/v1/logout", &json!({}))
            .await,
    );
    refused(
        "a foreign page logs out without a cookie",
        from(&s, FOREIGN).post("/api/v1/logout", &json!({})).await,
    );
    // A look-alike of an allowed origin is foreign too.
    refused(
        "a look-alike origin cancels the ticket",
        from(&s, &format!("{ALLOWED}.lua-dao.example"))
            .post(&format!("/api/v1/tickets/{token}/cancel"), &json!({}))
            .await,
    );
    assert_eq!(
        s.db_state(),
        before,
        "a refused request changed the database"
    );
    let me = s.cookie_http(&official.session).get("/api/v1/me").await;
    assert_eq!(
        me.status, 200,
        "the official is still logged in: {}",
        me.text
    );
    let ticket = s.http().get(&format!("/api/v1/tickets/{token}")).await;
    assert_eq!(
        ticket.json()["ticket"]["state"],
        "waiting",
        "{}",
        ticket.text
    );

    // From an allowed origin the citizen's page cancels the ticket…
    let r = from(&s, ALLOWED)
        .post(&format!("/api/v1/tickets/{token}/cancel"), &json!({}))
        .await;
    assert_eq!(r.status, 200, "cancel from allowed_origins: {}", r.text);
    let ticket = s.http().get(&format!("/api/v1/tickets/{token}")).await;
    assert_eq!(
        ticket.json()["ticket"]["state"],
        "cancelled",
        "{}",
        ticket.text
    );
    // …and the public URL's page logs in and out.
    let r = from(&s, PUBLIC_URL)
        .post(
            "/api/v1/login",
            &json!({"login": "can-bo-1", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 200, "login from public_url: {}", r.text);
    let session = r.session_cookie().expect("a session");
    let r = from(&s, PUBLIC_URL)
        .with_header("cookie", &format!("luot_session={session}"))
        .post("/api/v1/logout", &json!({}))
        .await;
    assert!(
        r.status < 300,
        "logout from public_url: {} {}",
        r.status,
        r.text
    );
    let me = s.cookie_http(&session).get("/api/v1/me").await;
    assert_eq!(me.status, 401, "logged out: {}", me.text);
}
