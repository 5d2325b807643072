//! How a `/ws` connection ends, as RFC 6455 §5.5.1 and §7.1.1 ask: a client's close frame is
//! answered with the same code (1002 for an invalid one) before the server drops the TCP
//! connection, and a client that floods the socket gets its replies and the documented close
//! frame, never a reset that loses them.

use luot_tests::{TestServer, Who};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn a_client_close_is_answered_with_its_own_code() {
    let s = TestServer::start().await;
    for (code, reason) in [(1000, "bye"), (1001, "going away"), (4000, "page hidden")] {
        let mut c = s.ws("display", Who::Anonymous).await;
        let closed = c.close_with(Some((code, reason))).await;
        assert_eq!(
            closed.code,
            Some(code),
            "close {code} was not echoed: {closed:?}"
        );
        assert!(closed.messages.is_empty(), "{closed:?}");
    }
    // An empty close frame gets an empty one back (RFC 6455 §5.5.1: no code to echo).
    let mut c = s.ws("display", Who::Anonymous).await;
    let closed = c.close_with(None).await;
    assert!(closed.code.is_none(), "{closed:?}");
    assert!(
        closed.ended_with_close_frame,
        "an empty close must still be answered: {closed:?}"
    );
}

#[tokio::test]
async fn an_invalid_close_code_is_answered_with_1002() {
    let s = TestServer::start().await;
    for code in [999, 1004, 1005, 1006, 2999] {
        let mut c = s.ws("display", Who::Anonymous).await;
        let closed = c.close_with(Some((code, ""))).await;
        assert_eq!(closed.code, Some(1002), "close code {code}: {closed:?}");
    }
}

#[tokio::test]
async fn a_client_closing_before_its_hello_is_answered_too() {
    let s = TestServer::start().await;
    let mut c = luot_tests::WsClient::connect(&s.ws_url(), &[])
        .await
        .expect("upgrade");
    let closed = c.close_with(Some((1000, "changed my mind"))).await;
    assert_eq!(closed.code, Some(1000), "{closed:?}");
}

/// `hello`, then many commands in one write: every command read before the close gets its one
/// reply (`rate_limited` past the socket's rate), then the close 1008 "too many bad messages"
/// arrives whole, however much input is still unread.
#[tokio::test]
async fn a_flood_gets_its_replies_then_a_clean_close() {
    let s = TestServer::start().await;
    for frames in [100usize, 300] {
        let mut c = s.ws("display", Who::Anonymous).await;
        let burst = (0..frames)
            .map(|i| {
                Message::text(
                    json!({"type": "command", "id": format!("f{i}"), "command": {"type": "call_next", "counter": "quay-1"}})
                        .to_string(),
                )
            })
            .collect();
        c.send_burst(burst).await;
        let closed = c.expect_close().await;
        assert_eq!(
            (closed.code, closed.reason.as_str()),
            (Some(1008), "too many bad messages"),
            "{frames} frames: {} messages, then {:?}",
            closed.messages.len(),
            closed.code
        );
        let replies: Vec<_> = closed
            .messages
            .iter()
            .filter(|m| m["type"] == "reply")
            .collect();
        let limited = replies
            .iter()
            .filter(|m| m["error"]["code"] == "rate_limited")
            .count();
        // Replies come in order, one per command read, with the command's id.
        for (i, r) in replies.iter().enumerate() {
            assert_eq!(r["id"], format!("f{i}"), "{r}");
            assert_eq!(r["ok"], false, "an anonymous display may not call: {r}");
        }
        assert!(
            limited > 20,
            "{frames} frames: the close comes after more than 20 rate-limited replies, got {limited} of {}",
            replies.len()
        );
    }
}
