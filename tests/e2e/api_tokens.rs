//! API tokens, as a script or a portal uses them: made and revoked by an admin (audited, shown
//! once, kept hashed), scopes enforced, a revoked or unknown token refused with 401 and its own
//! code, never able to manage tokens or accounts, no same-origin check (no cookie) but a rate
//! limit per token.

use luot_server::auth::TOKEN_REQUESTS_BURST;
use luot_tests::{Http, SITE, TestServer};
use serde_json::{Value, json};

async fn make_token(admin: &Http, name: &str, scopes: &[&str]) -> (i64, String) {
    let r = admin
        .post(
            "/api/v1/admin/tokens",
            &json!({"name": name, "scopes": scopes}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let v = r.json();
    let token = v["token"]
        .as_str()
        .expect("the token, shown once")
        .to_string();
    assert!(
        token.starts_with("luot_") && token.len() == 5 + 64,
        "{token}"
    );
    (v["id"].as_i64().unwrap(), token)
}

fn bearer(s: &TestServer, token: &str) -> Http {
    Http::plain(&s.base).with_header("authorization", &format!("Bearer {token}"))
}

fn reports_path() -> String {
    format!("/api/v1/sites/{SITE}/reports")
}

#[tokio::test]
async fn scopes_are_enforced_and_tokens_never_manage_accounts_or_tokens() {
    let s = TestServer::start().await;
    let admin = s.admin().await;
    let (read_id, read) = make_token(&admin, "Báo cáo tỉnh", &["read"]).await;
    let (_, hooks) = make_token(&admin, "Cổng SMS", &["webhooks"]).await;

    // Shown once: the list has the token's name and scopes, never the token, and the database
    // keeps only its SHA-256.
    let list = admin.get("/api/v1/admin/tokens").await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert!(!list.text.contains(&read[5..]), "{}", list.text);
    let listed: Vec<Value> = list.json().as_array().unwrap().clone();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["name"], "Báo cáo tỉnh");
    assert_eq!(listed[0]["scopes"], json!(["read"]));
    assert_eq!(listed[0]["created_by"], "admin");
    let db = rusqlite::Connection::open(s.db_path()).unwrap();
    let kept: String = db
        .query_row(
            "SELECT token_hash FROM api_tokens WHERE id = ?1",
            [read_id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kept.len(), 64);
    assert!(!kept.contains(&read[5..]));

    // `read` opens the reports a manager reads; not the webhooks.
    let r = bearer(&s, &read).get(&reports_path()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = bearer(&s, &read).get("/api/v1/admin/webhooks").await;
    assert_eq!(
        (r.status, r.code()),
        (403, "token_scope".to_string()),
        "{}",
        r.text
    );
    // `webhooks` opens the webhooks; not the reports.
    let r = bearer(&s, &hooks).get("/api/v1/admin/webhooks").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = bearer(&s, &hooks).get(&reports_path()).await;
    assert_eq!(
        (r.status, r.code()),
        (403, "token_scope".to_string()),
        "{}",
        r.text
    );

    // No token manages tokens or accounts, whatever its scopes.
    for t in [&read, &hooks] {
        let r = bearer(&s, t).get("/api/v1/admin/tokens").await;
        assert_eq!(
            (r.status, r.code()),
            (403, "token_not_allowed".to_string()),
            "{}",
            r.text
        );
        let r = bearer(&s, t)
            .post(
                "/api/v1/admin/tokens",
                &json!({"name": "x", "scopes": ["read"]}),
            )
            .await;
        assert_eq!(
            (r.status, r.code()),
            (403, "token_not_allowed".to_string()),
            "{}",
            r.text
        );
        let r = bearer(&s, t)
            .post(
                &format!("/api/v1/admin/tokens/{read_id}/revoke"),
                &json!({}),
            )
            .await;
        assert_eq!(
            (r.status, r.code()),
            (403, "token_not_allowed".to_string()),
            "{}",
            r.text
        );
        let r = bearer(&s, t).get("/api/v1/admin/users").await;
        assert_eq!(
            (r.status, r.code()),
            (403, "token_not_allowed".to_string()),
            "{}",
            r.text
        );
        let r = bearer(&s, t)
            .post(
                "/api/v1/admin/users",
                &json!({"login": "ke-gian", "display_name": "x", "role": "admin", "password": luot_tests::PASSWORD}),
            )
            .await;
        assert_eq!(
            (r.status, r.code()),
            (403, "token_not_allowed".to_string()),
            "{}",
            r.text
        );
    }
    let users = admin.get("/api/v1/admin/users").await.json();
    assert!(!users.to_string().contains("ke-gian"));

    // A token is not a browser's credential: a request from another origin with it is served.
    let r = bearer(&s, &read)
        .with_header("origin", "https://portal.example.vn")
        .get(&reports_path())
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Revoked: 401 with its own code, from the next request on; an unknown token: another code.
    let r = admin
        .post(
            &format!("/api/v1/admin/tokens/{read_id}/revoke"),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = bearer(&s, &read).get(&reports_path()).await;
    assert_eq!(
        (r.status, r.code()),
        (401, "token_revoked".to_string()),
        "{}",
        r.text
    );
    let r = admin
        .post(
            &format!("/api/v1/admin/tokens/{read_id}/revoke"),
            &json!({}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (404, "token_not_found".to_string()),
        "{}",
        r.text
    );
    let unknown = format!("luot_{}", "0".repeat(64));
    let r = bearer(&s, &unknown).get(&reports_path()).await;
    assert_eq!(
        (r.status, r.code()),
        (401, "token_unknown".to_string()),
        "{}",
        r.text
    );

    // Bad input: an unknown scope, no scope, an empty name.
    for body in [
        json!({"name": "x", "scopes": ["admin"]}),
        json!({"name": "x", "scopes": []}),
        json!({"name": " ", "scopes": ["read"]}),
    ] {
        let r = admin.post("/api/v1/admin/tokens", &body).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
    }

    // Audited: who made and revoked which token, from where.
    for action in ["token_create", "token_revoke"] {
        let r = admin
            .get(&format!("/api/v1/admin/audit?action={action}"))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let v = r.json();
        let entries = v["entries"].as_array().unwrap();
        assert!(!entries.is_empty(), "{action}: {v}");
        assert!(
            entries
                .iter()
                .all(|e| e["actor"] == "admin" && e["address"] == "127.0.0.1"),
            "{v}"
        );
        assert!(
            v["action_names"][action]["vi"]
                .as_str()
                .is_some_and(|t| !t.is_empty()),
            "{v}"
        );
        assert!(
            v["action_names"][action]["en"]
                .as_str()
                .is_some_and(|t| !t.is_empty()),
            "{v}"
        );
    }
    let created = admin
        .get("/api/v1/admin/audit?action=token_create")
        .await
        .json();
    assert_eq!(created["total"], 2);
    assert!(created.to_string().contains("Báo cáo tỉnh"));
}

#[tokio::test]
async fn every_token_request_is_rate_limited() {
    let s = TestServer::start().await;
    let admin = s.admin().await;
    let (_, hooks) = make_token(&admin, "Cổng SMS", &["webhooks"]).await;
    let (_, other) = make_token(&admin, "Cổng khác", &["webhooks"]).await;
    let client = bearer(&s, &hooks);
    // All at once, so the refill during the run (5 a second) cannot hide the limit however slow
    // the machine.
    let n = TOKEN_REQUESTS_BURST as usize + 40;
    let answers =
        futures_util::future::join_all((0..n).map(|_| client.get("/api/v1/admin/webhooks"))).await;
    let mut refused = 0;
    for r in answers {
        match r.status {
            200 => {}
            429 => {
                assert_eq!(r.code(), "token_rate_limited", "{}", r.text);
                assert_eq!(r.header("retry-after").as_deref(), Some("1"));
                refused += 1;
            }
            other => panic!("{other}: {}", r.text),
        }
    }
    assert!(refused >= 20, "{refused} of {n} refused");
    // Per token: another token is not held back.
    let r = bearer(&s, &other).get("/api/v1/admin/webhooks").await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn webhook_scope_manages_webhooks_through_the_api() {
    let s = TestServer::start().await;
    let admin = s.admin().await;
    let (_, hooks) = make_token(&admin, "Cổng SMS", &["webhooks"]).await;
    let client = bearer(&s, &hooks);
    let r = client
        .post(
            "/api/v1/admin/webhooks",
            &json!({"url": "http://127.0.0.1:9/hook", "events": ["ticket.called"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.json()["id"].as_i64().unwrap();
    assert_eq!(r.json()["near"], 3, "the default N");
    let r = client
        .patch(
            &format!("/api/v1/admin/webhooks/{id}"),
            &json!({"enabled": false}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["enabled"], false);
    // Bad input is refused and changes nothing.
    for body in [
        json!({"url": "ftp://x/y", "events": ["ticket.called"]}),
        json!({"url": "http://127.0.0.1:9/", "events": ["ticket.eaten"]}),
        json!({"url": "http://127.0.0.1:9/", "events": []}),
        json!({"url": "http://127.0.0.1:9/", "events": ["ticket.near"], "near": 51}),
        json!({"url": format!("http://h/{}", "x".repeat(2_100)), "events": ["ticket.called"]}),
    ] {
        let r = client.post("/api/v1/admin/webhooks", &body).await;
        assert_eq!(r.status, 400, "{}", r.text);
    }
    // At most WEBHOOKS_MAX endpoints.
    for i in 1..luot_server::webhooks::WEBHOOKS_MAX {
        let r = client
            .post(
                "/api/v1/admin/webhooks",
                &json!({"url": format!("http://127.0.0.1:9/{i}"), "events": ["ticket.issued"]}),
            )
            .await;
        assert_eq!(r.status, 201, "{i}: {}", r.text);
    }
    let r = client
        .post(
            "/api/v1/admin/webhooks",
            &json!({"url": "http://127.0.0.1:9/one-too-many", "events": ["ticket.issued"]}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (409, "integration_limit".to_string()),
        "{}",
        r.text
    );
    let r = client.delete(&format!("/api/v1/admin/webhooks/{id}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = client.delete(&format!("/api/v1/admin/webhooks/{id}")).await;
    assert_eq!((r.status, r.code()), (404, "webhook_not_found".to_string()));
    // Audited under the token's name.
    let a = admin
        .get("/api/v1/admin/audit?action=webhook_add")
        .await
        .json();
    assert!(
        a["entries"][0]["actor"]
            .as_str()
            .unwrap()
            .starts_with("token:"),
        "{a}"
    );
}
