//! Limits hold: a kiosk that issues too fast is slowed without slowing others, socket counts
//! are capped, chatty sockets are told to slow down, and a service stops at its daily cap.

use futures_util::future::join_all;
use luot_server::Limits;
use luot_tests::{SITE, TestServer, Who, count_events};
use serde_json::json;

#[tokio::test]
async fn a_kiosk_issuing_too_fast_is_refused_while_another_kiosk_is_not() {
    // A bucket of 3 that (for the length of this test) does not refill.
    let s = TestServer::start_with_limits(Limits {
        issue_per_s: 0.001,
        issue_burst: 3.0,
        ..Limits::default()
    })
    .await;
    let admin = s.admin().await;
    let (_, kiosk2) = s.pair_device(&admin, "kiosk", "Kiosk 2", None).await;
    let kiosk1 = &s.first.kiosk_token;

    for _ in 0..3 {
        s.issue(kiosk1, "khai-sinh").await;
    }
    let r = s.try_issue(kiosk1, "khai-sinh").await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert_eq!(r.code(), "rate_limited");
    let retry: u64 = r
        .header("retry-after")
        .expect("429 carries Retry-After")
        .parse()
        .expect("Retry-After in seconds");
    assert!(retry >= 1);
    // Over its socket the same kiosk gets the same answer, as a reply to its command.
    let mut ws = s.ws("kiosk", Who::Device(kiosk1)).await;
    let code = ws
        .refused(json!({"type": "issue", "service": "khai-sinh"}))
        .await;
    assert_eq!(code, "rate_limited");

    // The kiosk next to it is not affected.
    let t = s.issue(&kiosk2, "khai-sinh").await;
    assert_eq!(t["ticket"]["number"], "A004");
    assert_eq!(count_events(&s.db_path(), "ticket_issued"), 4);
}

#[tokio::test]
async fn a_socket_sending_too_many_messages_gets_a_rate_limited_reply() {
    let s = TestServer::start_with_limits(Limits {
        ws_messages_per_s: 0.001,
        ws_messages_burst: 5.0,
        ..Limits::default()
    })
    .await;
    let mut d = s.ws("display", Who::Device(&s.first.display_token)).await;
    for _ in 0..5 {
        // Refused (a display may not issue), but answered: the message itself was allowed.
        assert_eq!(
            d.refused(json!({"type": "issue", "service": "khai-sinh"}))
                .await,
            "forbidden"
        );
    }
    // Every command still gets exactly one reply, carrying its id.
    assert_eq!(
        d.refused(json!({"type": "issue", "service": "khai-sinh"}))
            .await,
        "rate_limited"
    );
}

#[tokio::test]
async fn the_sixth_anonymous_socket_is_refused_but_devices_still_connect() {
    let s = TestServer::start_with_limits(Limits {
        ws_anonymous_max: 5,
        ..Limits::default()
    })
    .await;
    let mut anonymous = Vec::new();
    for _ in 0..5 {
        let c = s.ws("display", Who::Anonymous).await;
        assert_eq!(c.welcome["authenticated"], false);
        anonymous.push(c);
    }
    let refused = s
        .ws_hello("display", Who::Anonymous, None)
        .await
        .expect_err("the sixth anonymous socket must be refused");
    assert_eq!(refused.code(), "too_many_anonymous");
    assert_eq!(refused.close, Some(1013), "try again later");

    // Proven clients are not counted against the anonymous cap.
    let d = s.ws("display", Who::Device(&s.first.display_token)).await;
    assert_eq!(d.welcome["authenticated"], true);
    let k = s.ws("kiosk", Who::Device(&s.first.kiosk_token)).await;
    assert_eq!(k.welcome["authenticated"], true);

    let metrics = s.http().get("/metrics").await.text;
    assert!(metrics.contains("\nluot_ws_refused_total 1\n"), "{metrics}");
}

#[tokio::test]
async fn connections_beyond_the_cap_are_refused_at_the_upgrade() {
    let s = TestServer::start_with_limits(Limits {
        ws_connections_max: 3,
        ..Limits::default()
    })
    .await;
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(s.ws("display", Who::Device(&s.first.display_token)).await);
    }
    match luot_tests::WsClient::connect(&s.ws_url(), &[]).await {
        Err(status) => assert_eq!(status, 503),
        Ok(_) => panic!("a fourth socket was accepted"),
    }
    // The ones already open keep working.
    let t = s.issue(&s.first.kiosk_token, "khai-sinh").await;
    for d in open.iter_mut() {
        assert_eq!(d.next_event().await["seq"], t["seq"]);
    }
}

#[tokio::test]
async fn a_service_stops_issuing_at_its_daily_cap() {
    let s = TestServer::start_with_limits(Limits {
        issue_per_s: 10_000.0,
        issue_burst: 10_000.0,
        ..Limits::default()
    })
    .await;
    let kiosk = &s.first.kiosk_token;
    // First-time land registration takes at most 100 a day in the shipped configuration.
    let service = "dang-ky-dat-lan-dau";
    join_all((0..10).map(|_| async {
        for _ in 0..10 {
            s.issue(kiosk, service).await;
        }
    }))
    .await;

    let r = s.try_issue(kiosk, service).await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.code(), "daily_cap_reached");
    let mut ws = s.ws("kiosk", Who::Device(kiosk)).await;
    assert_eq!(
        ws.refused(json!({"type": "issue", "service": service}))
            .await,
        "daily_cap_reached"
    );

    // The kiosk can tell before anyone taps: the service shows as closed for today.
    let queues = s
        .http()
        .get(&format!("/api/v1/sites/{SITE}/queues"))
        .await
        .json();
    let q = queues
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["service"] == service)
        .unwrap();
    assert_eq!(q["issued"], 100);
    assert_eq!(q["open"], false);
    assert_eq!(q["closed_reason"], "daily_cap_reached");

    // Other services go on.
    let t = s.issue(kiosk, "cap-gcn-lan-dau").await;
    assert_eq!(
        t["ticket"]["number"], "C101",
        "the land department shares prefix C"
    );
    assert_eq!(count_events(&s.db_path(), "ticket_issued"), 101);
}
