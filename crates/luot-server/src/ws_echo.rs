//! `/ws?echo`: a test-only echo mode of the real `/ws`, compiled into debug builds only (the
//! release binary has no such mode; `?echo` is ignored there). Autobahn's fuzzing client
//! (`tests/autobahn/run.sh`) needs a server that echoes every message, which `/ws`'s own
//! protocol does not; this mode swaps only the protocol loop for an echo. Everything below it is
//! `/ws`'s own: the route and its `Origin` and connection checks, the upgrade configured by
//! [`super::configure`], stream errors closed with [`super::close_for`], and the closing
//! handshake with its linger ([`super::finish`]).
//!
//! `?echo` keeps `/ws`'s message limit (`CLIENT_MESSAGE_BYTES_MAX`); `?echo=N` sets it to `N`
//! bytes, so Autobahn's cases with messages up to 16 MiB can be graded on their framing.

use super::{Sink, Stream, close, close_for};
use crate::App;
use axum::extract::ws::{Message, close_code};
use futures_util::{SinkExt, StreamExt};

/// The echo's message limit when the query asks for it: `echo` alone → `/ws`'s own limit,
/// `echo=N` → `N` bytes. `None`: no echo asked for.
pub fn requested(query: Option<&str>) -> Option<usize> {
    query?.split('&').find_map(|kv| match kv.split_once('=') {
        None if kv == "echo" => Some(luot_proto::CLIENT_MESSAGE_BYTES_MAX),
        Some(("echo", n)) => n.parse().ok(),
        _ => None,
    })
}

/// Sends back every text and binary message until the peer closes (the websocket layer answers
/// pings and echoes the close frame), the stream fails (closed with `/ws`'s code for it) or the
/// server stops (1001, as `/ws`).
pub async fn echo(app: &App, sink: &mut Sink, stream: &mut Stream) {
    loop {
        let msg = tokio::select! {
            _ = app.shutdown.cancelled() => return close(sink, close_code::AWAY, "server stopping").await,
            msg = stream.next() => match msg {
                Some(msg) => msg,
                None => return,
            },
        };
        match msg {
            Ok(m @ (Message::Text(_) | Message::Binary(_))) => {
                if sink.send(m).await.is_err() {
                    return;
                }
            }
            Ok(Message::Close(_)) => return,
            Ok(Message::Ping(_) | Message::Pong(_)) => {}
            Err(e) => {
                if let Some((code, why)) = close_for(&e) {
                    close(sink, code, why).await;
                }
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::requested;

    #[test]
    fn the_query_asks_for_an_echo_and_its_limit() {
        assert_eq!(requested(None), None);
        assert_eq!(requested(Some("site=x")), None);
        assert_eq!(
            requested(Some("echo")),
            Some(luot_proto::CLIENT_MESSAGE_BYTES_MAX)
        );
        assert_eq!(requested(Some("a=1&echo=1000")), Some(1000));
        assert_eq!(requested(Some("echo=lots")), None);
    }
}
