//! Websocket clients: connect, say hello, wait for the snapshot; send commands and wait for
//! their replies. Frames are looked at only as far as needed (type prefix, `seq`), so ten
//! thousand clients cost the load generator little.

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a client waits for any one answer before the run is declared broken.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// Who connects.
#[derive(Debug, Clone, Default)]
pub struct Hello {
    pub role: &'static str,
    pub site: Option<String>,
    pub device_token: Option<String>,
    /// Session cookie (officials).
    pub cookie: Option<String>,
}

fn config() -> WebSocketConfig {
    // Small buffers: a display reads a 1–2 KiB event now and then, and tungstenite zero-fills
    // the whole read buffer on every poll.
    WebSocketConfig::default()
        .read_buffer_size(2 * 1024)
        .write_buffer_size(0)
}

/// Connects, says hello and reads up to and including the snapshot.
pub async fn connect(url: &str, hello: &Hello) -> anyhow::Result<Ws> {
    let mut req = url.into_client_request()?;
    if let Some(c) = &hello.cookie {
        req.headers_mut().insert("cookie", c.parse()?);
    }
    let (mut ws, _) = tokio::time::timeout(
        ANSWER_TIMEOUT,
        tokio_tungstenite::connect_async_with_config(req, Some(config()), true),
    )
    .await
    .context("connect timed out")??;
    let mut h = json!({"type": "hello", "role": hello.role});
    if let Some(s) = &hello.site {
        h["site"] = json!(s);
    }
    if let Some(t) = &hello.device_token {
        h["device_token"] = json!(t);
    }
    ws.send(Message::Text(h.to_string().into())).await?;
    loop {
        let m = tokio::time::timeout(ANSWER_TIMEOUT, ws.next())
            .await
            .context("no snapshot in time")?;
        match m {
            Some(Ok(Message::Text(t))) => {
                if t.starts_with(r#"{"type":"snapshot""#) {
                    return Ok(ws);
                }
                if t.starts_with(r#"{"type":"error""#) {
                    bail!("hello refused: {t}");
                }
            }
            Some(Ok(Message::Close(c))) => bail!("closed during hello: {c:?}"),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
            None => bail!("closed during hello"),
        }
    }
}

/// A command's outcome as far as the benchmark cares.
#[derive(Debug)]
pub enum Outcome {
    Ok { seq: u64 },
    Refused { code: String },
}

/// Sends a command and reads (skipping events) until its reply.
pub async fn command(ws: &mut Ws, id: &str, command: &str) -> anyhow::Result<Outcome> {
    let frame = format!(r#"{{"type":"command","id":"{id}","command":{command}}}"#);
    ws.send(Message::Text(frame.into())).await?;
    reply(ws).await
}

/// Reads until the next reply.
pub async fn reply(ws: &mut Ws) -> anyhow::Result<Outcome> {
    loop {
        let m = tokio::time::timeout(ANSWER_TIMEOUT, ws.next())
            .await
            .context("no reply in time")?;
        match m {
            Some(Ok(Message::Text(t))) => {
                if t.starts_with(r#"{"type":"reply""#) {
                    return Ok(parse_reply(&t));
                }
                if t.starts_with(r#"{"type":"error""#) {
                    bail!("socket error: {t}");
                }
            }
            Some(Ok(Message::Close(c))) => bail!("closed: {c:?}"),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
            None => bail!("closed"),
        }
    }
}

fn parse_reply(t: &str) -> Outcome {
    // Fast path: `{"type":"reply","v":1,"id":"…","ok":true,"result":{"seq":N,…`
    if let Some(i) = t.find(r#""ok":true"#) {
        if let Some(seq) = find_u64(&t[i..], r#""seq":"#) {
            return Outcome::Ok { seq };
        }
    }
    let v: Value = serde_json::from_str(t).unwrap_or(Value::Null);
    if v["ok"] == json!(true) {
        return Outcome::Ok {
            seq: v["result"]["seq"].as_u64().unwrap_or(0),
        };
    }
    Outcome::Refused {
        code: v["error"]["code"]
            .as_str()
            .unwrap_or("unreadable_reply")
            .to_string(),
    }
}

/// The number after the first `key` in `t`.
pub fn find_u64(t: &str, key: &str) -> Option<u64> {
    let i = t.find(key)? + key.len();
    let digits: &str = &t[i..];
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_parse() {
        let ok =
            r#"{"type":"reply","v":1,"id":"7","ok":true,"result":{"seq":42,"ticket":{"id":3}}}"#;
        assert!(matches!(parse_reply(ok), Outcome::Ok { seq: 42 }));
        let no = r#"{"type":"reply","v":1,"id":"7","ok":false,"error":{"code":"waiting_limit","message":"x","message_en":"y"}}"#;
        assert!(matches!(parse_reply(no), Outcome::Refused { code } if code == "waiting_limit"));
        assert_eq!(
            find_u64(
                r#"{"type":"event","v":1,"seq":1234,"site":"x"}"#,
                r#""seq":"#
            ),
            Some(1234)
        );
    }
}
