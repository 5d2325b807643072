//! An echo endpoint with exactly the websocket stack and settings of `/ws` (axum's
//! `WebSocketUpgrade` through `luot_server::ws::configure`, stream errors closed with the codes
//! of `luot_server::ws::close_for`), for the Autobahn conformance run (`tools/autobahn.sh`,
//! docs/reliability.md). Autobahn's fuzzing client needs a server that echoes every message;
//! `/ws` answers with its own protocol instead, and refuses binary frames.
//!
//! `cargo run -p luot-server --example ws_echo -- [PORT] [MESSAGE_BYTES_MAX]`
//! (defaults: 9001 and `CLIENT_MESSAGE_BYTES_MAX`, the limit `/ws` enforces).

use axum::Router;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;

async fn echo(mut socket: WebSocket) {
    while let Some(msg) = socket.recv().await {
        let reply = match msg {
            Ok(m @ (Message::Text(_) | Message::Binary(_))) => m,
            // Pings are answered and closes returned by the websocket layer itself.
            Ok(_) => continue,
            Err(e) => {
                if let Some((code, why)) = luot_server::ws::close_for(&e) {
                    let close = CloseFrame {
                        code,
                        reason: why.into(),
                    };
                    let _ = socket.send(Message::Close(Some(close))).await;
                }
                return;
            }
        };
        if socket.send(reply).await.is_err() {
            return;
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().map_or(Ok(9001), |p| p.parse())?;
    let max: usize = args
        .next()
        .map_or(Ok(luot_proto::CLIENT_MESSAGE_BYTES_MAX), |m| m.parse())?;
    let app = Router::new().fallback(move |ws: WebSocketUpgrade| async move {
        let r: Response = luot_server::ws::configure(ws, max).on_upgrade(echo);
        r
    });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    eprintln!(
        "ws_echo: ws://{} (messages up to {max} bytes)",
        listener.local_addr()?
    );
    axum::serve(listener, app).await?;
    Ok(())
}
