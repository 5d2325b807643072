//! What the people running a center look at: health, metrics, the API description, and a
//! shutdown that tells every screen to reconnect.

use luot_tests::{TestServer, Who};
use serde_json::json;

#[tokio::test]
async fn healthz_metrics_and_openapi_answer() {
    let s = TestServer::start().await;
    let r = s.http().get("/healthz").await;
    assert_eq!(r.status, 200);
    let h = r.json();
    assert_eq!(h["status"], "ok");
    assert_eq!(h["storage"], "ok");

    for _ in 0..3 {
        s.issue(&s.first.kiosk_token, "khai-sinh").await;
    }
    s.issue(&s.first.kiosk_token, "chung-thuc-chu-ky").await;
    let r = s.http().get("/metrics").await;
    assert_eq!(r.status, 200);
    // OpenMetrics (prometheus-client): `# TYPE` names counters without their `_total`.
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let lines: Vec<&str> = r.text.lines().collect();
    for want in [
        "luot_tickets_issued_total 4",
        "luot_tickets_called_total 0",
        "luot_queue_waiting{site=\"sa-huynh\",service=\"khai-sinh\"} 3",
        "luot_queue_waiting{site=\"sa-huynh\",service=\"chung-thuc-chu-ky\"} 1",
    ] {
        assert!(lines.contains(&want), "{want:?} not in\n{}", r.text);
    }
    let h = s.http().get("/healthz").await.json();
    assert_eq!(
        h["seq"],
        s.db_state().max_seq.unwrap(),
        "healthz reports the durable seq"
    );

    let r = s.http().get("/api/v1/openapi.json").await;
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    let api = r.json();
    assert!(api["openapi"].as_str().unwrap().starts_with("3."), "{api}");
    assert!(api["paths"].is_object(), "{api}");
}

#[tokio::test]
async fn graceful_shutdown_closes_every_socket_with_going_away() {
    let mut s = TestServer::start().await;
    let kiosk = s.first.kiosk_token.clone();
    let mut display = s.ws("display", Who::Device(&s.first.display_token)).await;
    let mut kiosk_ws = s.ws("kiosk", Who::Device(&kiosk)).await;
    let t = kiosk_ws
        .ok(json!({"type": "issue", "service": "khai-sinh"}))
        .await;
    display.next_event().await;

    let ((), closed_display, closed_kiosk) = tokio::join!(
        s.shutdown(),
        display.expect_close(),
        kiosk_ws.expect_close()
    );
    assert_eq!(closed_display.code, Some(1001), "{closed_display:?}");
    assert_eq!(closed_kiosk.code, Some(1001), "{closed_kiosk:?}");
    assert!(closed_display.messages.is_empty(), "{closed_display:?}");

    // What was acknowledged before the shutdown is on disk.
    assert_eq!(s.db_state().max_seq, t["seq"].as_i64());
}
