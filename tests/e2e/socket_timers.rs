//! A socket's timers and its cap on bad messages (`ws.rs`: `HELLO_TIMEOUT`, `PING_INTERVAL`,
//! `IDLE_TIMEOUT`, `BAD_MESSAGES_MAX`). The timers are `Limits` fields, shortened here so the
//! tests do not wait out the real 10 s and 60 s; each test waits on the server's close, never
//! on a guess of how fast it is.
//!
//! Shown to fail: with `bad > BAD_MESSAGES_MAX` changed to `bad >= BAD_MESSAGES_MAX`, the
//! 20th bad message closes the socket and `the_21st_bad_message_closes_the_socket_not_the_20th`
//! fails ("socket closed by the server (Some(1008) too many bad messages) while a message was
//! awaited"); with the idle check changed to `heard.elapsed() > idle * 100`,
//! `a_silent_socket_is_closed_as_idle_and_a_listening_one_is_not` fails ("timed out after 10s
//! waiting for the idle close").

use futures_util::{SinkExt, StreamExt};
use luot_server::Limits;
use luot_tests::{TestServer, Who, WsClient, within};
use serde_json::json;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

const HELLO: Duration = Duration::from_millis(400);
const PING: Duration = Duration::from_millis(100);
const IDLE: Duration = Duration::from_millis(600);

fn short_timers() -> Limits {
    Limits {
        ws_hello_timeout: HELLO,
        ws_ping_interval: PING,
        ws_idle_timeout: IDLE,
        ..Limits::default()
    }
}

#[tokio::test]
async fn a_socket_that_never_says_hello_is_closed_after_the_hello_timeout() {
    let s = TestServer::start_with_limits(short_timers()).await;
    let t0 = Instant::now();
    let mut c = WsClient::connect(&s.ws_url(), &[]).await.unwrap();
    let closed = within("the hello timeout's close", c.expect_close()).await;
    assert_eq!(
        (closed.code, closed.reason.as_str()),
        (Some(1008), "no hello"),
        "{closed:?}"
    );
    assert!(closed.messages.is_empty(), "{closed:?}");
    assert!(
        t0.elapsed() >= HELLO,
        "closed after {:?}, before the {HELLO:?} it had",
        t0.elapsed()
    );
}

#[tokio::test]
async fn a_silent_socket_is_closed_as_idle_and_a_listening_one_is_not() {
    let s = TestServer::start_with_limits(short_timers()).await;
    let mut silent = s.ws("display", Who::Anonymous).await;

    // A listening client: it reads, so its websocket layer answers the server's pings.
    let (mut listening, _) = tokio_tungstenite::connect_async(s.ws_url()).await.unwrap();
    listening
        .send(Message::text(
            json!({"type": "hello", "role": "display"}).to_string(),
        ))
        .await
        .unwrap();
    let span = IDLE * 4;
    let t0 = Instant::now();
    let mut pings = 0;
    while t0.elapsed() < span {
        match tokio::time::timeout(span - t0.elapsed().min(span), listening.next()).await {
            Err(_) => break,
            Ok(Some(Ok(Message::Ping(_)))) => pings += 1,
            Ok(Some(Ok(Message::Close(f)))) => panic!("a listening socket was closed: {f:?}"),
            Ok(Some(Ok(_))) => {}
            Ok(other) => panic!("a listening socket ended: {other:?}"),
        }
    }
    assert!(
        pings >= 2,
        "the server pinged it ({pings} pings in {span:?})"
    );
    // Still open: it is answered.
    listening
        .send(Message::text(
            json!({"type": "command", "id": "c1", "command": {"type": "call_next", "counter": "quay-1"}})
                .to_string(),
        ))
        .await
        .unwrap();
    loop {
        let m = tokio::time::timeout(luot_tests::WAIT, listening.next())
            .await
            .expect("a reply")
            .expect("open")
            .expect("a message");
        if let Message::Text(t) = m {
            let v: serde_json::Value = serde_json::from_str(&t).unwrap();
            if v["type"] == "reply" {
                assert_eq!(v["id"], "c1", "{v}");
                break;
            }
        }
    }

    // The silent one read nothing all that time, so it never answered a ping.
    // (`within`: the server's pings arrive all along, so only the close ends the read.)
    let closed = within("the idle close", silent.expect_close()).await;
    assert_eq!(
        (closed.code, closed.reason.as_str()),
        (Some(1001), "idle"),
        "{closed:?}"
    );
}

#[tokio::test]
async fn the_21st_bad_message_closes_the_socket_not_the_20th() {
    let s = TestServer::start().await;
    let mut c = s.ws("display", Who::Anonymous).await;
    for i in 1..=luot_server::ws::BAD_MESSAGES_MAX {
        c.send(Message::text("lấy số")).await;
        let m = c.recv().await;
        assert_eq!(
            m["type"], "error",
            "bad message {i}: expected an error, got {m}"
        );
        assert_eq!(m["error"]["code"], "bad_message", "{m}");
    }
    // After 20 it is still open: a command is answered (refused: an anonymous display may not
    // call).
    let code = c
        .refused(json!({"type": "call_next", "counter": "quay-1"}))
        .await;
    assert_eq!(code, "login_required");
    // The 21st gets its error, then the close.
    c.send(Message::text("lấy số")).await;
    let closed = within("the close", c.expect_close()).await;
    assert_eq!(
        (closed.code, closed.reason.as_str()),
        (Some(1008), "too many bad messages"),
        "{closed:?}"
    );
    assert_eq!(closed.messages.len(), 1, "{closed:?}");
    assert_eq!(closed.messages[0]["error"]["code"], "bad_message");
}
