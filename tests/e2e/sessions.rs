//! Officials' sessions: a cookie scripts cannot read and other sites cannot send, a fresh token
//! at every login, wrong passwords refused and then held off.

use luot_tests::{PASSWORD, TestServer};
use serde_json::json;

#[tokio::test]
async fn login_sets_a_strict_http_only_cookie_and_me_says_who_is_logged_in() {
    let s = TestServer::start().await;
    let http = s.http();
    let r = http
        .post(
            "/api/v1/login",
            &json!({"login": "admin", "password": s.first.admin_password}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["login"], "admin");
    assert_eq!(r.json()["role"], "admin");
    let cookie = r.header("set-cookie").expect("a session cookie");
    let token = r.session_cookie().unwrap();
    assert_eq!(token.len(), 64, "a 256-bit token: {cookie}");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(
            cookie.split("; ").any(|a| a == attr),
            "{attr} missing: {cookie}"
        );
    }
    let max_age: i64 = cookie
        .split("; ")
        .find_map(|a| a.strip_prefix("Max-Age="))
        .expect("Max-Age")
        .parse()
        .unwrap();
    // docs/protocol.md: the session ends 14 h after login whatever happens, and so does the
    // cookie.
    assert_eq!(max_age, 14 * 3600, "{cookie}");
    assert!(
        !r.text.contains(&token),
        "the token travels only in the cookie"
    );

    let me = http.get("/api/v1/me").await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.json()["login"], "admin");
    assert_eq!(me.json()["role"], "admin");
    assert!(me.json().get("password_hash").is_none());

    let official = s
        .add_official(&http, "can-bo-1", &["quay-1", "quay-2"])
        .await;
    let me = official.http.get("/api/v1/me").await.json();
    assert_eq!(me["login"], "can-bo-1");
    assert_eq!(me["role"], "official");
    assert_eq!(me["counters"], json!(["quay-1", "quay-2"]));

    // A device sees itself as a device.
    let me = s
        .device_http(&s.first.kiosk_token)
        .get("/api/v1/me")
        .await
        .json();
    assert_eq!(me["kind"], "kiosk");

    let r = s.http().get("/api/v1/me").await;
    assert_eq!((r.status, r.code().as_str()), (401, "login_required"));
}

#[tokio::test]
async fn logging_in_again_rotates_the_token_and_the_old_cookie_stops_working() {
    let s = TestServer::start().await;
    let admin = s.admin().await;
    s.add_official(&admin, "can-bo-1", &["quay-1"]).await;

    let (http, first) = s.login("can-bo-1", PASSWORD).await;
    // The same browser logs in again (its cookie goes along).
    let r = http
        .post(
            "/api/v1/login",
            &json!({"login": "can-bo-1", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 200);
    let second = r.session_cookie().unwrap();
    assert_ne!(first, second, "a new token at every login");

    let old = s.cookie_http(&first).get("/api/v1/me").await;
    assert_eq!(
        old.status, 401,
        "the old cookie must stop working: {}",
        old.text
    );
    let new = s.cookie_http(&second).get("/api/v1/me").await;
    assert_eq!(new.status, 200);

    // Logging out ends the session and clears the cookie.
    let r = http.post("/api/v1/logout", &json!({})).await;
    assert_eq!(r.status, 200);
    let clear = r.header("set-cookie").unwrap();
    assert!(clear.contains("Max-Age=0"), "{clear}");
    assert_eq!(s.cookie_http(&second).get("/api/v1/me").await.status, 401);
    assert_eq!(http.get("/api/v1/me").await.status, 401);
}

#[tokio::test]
async fn wrong_passwords_are_refused_then_held_off_with_retry_after() {
    let s = TestServer::start().await;
    let http = s.http();
    let attempt = |login: &'static str, password: String| {
        let http = http.clone();
        async move {
            http.post(
                "/api/v1/login",
                &json!({"login": login, "password": password}),
            )
            .await
        }
    };

    let r = attempt("admin", "sai-mat-khau-roi".into()).await;
    assert_eq!((r.status, r.code().as_str()), (401, "login_failed"));
    assert!(r.session_cookie().is_none());
    // An unknown login gets the very same answer: no hint which logins exist.
    let r = attempt("khong-ton-tai", "sai-mat-khau-roi".into()).await;
    assert_eq!((r.status, r.code().as_str()), (401, "login_failed"));
    let r = attempt("admin", "".into()).await;
    assert_eq!(r.status, 401);

    // After three failures from this address, even the right password must wait.
    let r = attempt("admin", s.first.admin_password.clone()).await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert_eq!(r.code(), "login_backoff");
    assert!(r.session_cookie().is_none());
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=300).contains(&retry), "Retry-After {retry}");

    // Once Retry-After has passed, the right password gets in (the back-off expires).
    tokio::time::sleep(std::time::Duration::from_secs(retry)).await;
    let r = attempt("admin", s.first.admin_password.clone()).await;
    assert_eq!(r.status, 200, "after Retry-After {retry} s: {}", r.text);
    assert!(r.session_cookie().is_some());
}
