//! `/ws`: hello → welcome → snapshot (or replay from `resume_from`) → events, and commands with
//! exactly one reply each. Each socket reads the hub's bounded broadcast; one that falls behind
//! is resynced with a snapshot. Sizes, rates and counts are capped; `Origin` is checked.

use crate::App;
use crate::auth::{Principal, RateLimiter};
use crate::hub::Resume;
use crate::proxy::ClientIp;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use luot_proto::{
    ClientMessage, ErrorDto, PROTOCOL_VERSION, REQUEST_ID_LEN_MAX, Role, ServerMessage,
    SiteSnapshot, TicketView,
};
use luot_store::Accounts;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

/// The test-only echo mode (`/ws?echo`), for the Autobahn run; debug builds only.
#[cfg(debug_assertions)]
#[path = "ws_echo.rs"]
mod echo;

/// A socket must say hello within this time (the default of `Limits::ws_hello_timeout`).
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// The server pings a socket this often (the default of `Limits::ws_ping_interval`)…
pub const PING_INTERVAL: Duration = Duration::from_secs(20);
/// …and closes it after this long without hearing anything (`Limits::ws_idle_timeout`).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Malformed messages tolerated on one socket before it is closed.
pub const BAD_MESSAGES_MAX: u32 = 20;
/// Read buffer of one socket. Client messages are small (commands of a few hundred bytes, at
/// most `CLIENT_MESSAGE_BYTES_MAX`; a bigger frame still grows the buffer as needed).
/// tungstenite's default, 128 KiB, costs 128 KiB of memory per socket and zero-fills the whole
/// buffer on every poll of the socket: at ten thousand sockets that is over 1 GiB, and under
/// load it was a quarter of the server's CPU (luot-bench, BENCHMARKS.md).
pub const READ_BUFFER_BYTES: usize = 4 * 1024;
/// Events already queued for a socket are written together, up to about this many bytes (the
/// write buffer keeps its largest size, so this also bounds what a burst leaves behind).
pub const FORWARD_BATCH_BYTES: usize = 8 * 1024;

type Sink = futures_util::stream::SplitSink<WebSocket, Message>;
type Stream = futures_util::stream::SplitStream<WebSocket>;

/// How long an ending socket keeps reading after the close handshake starts, before the TCP
/// connection is dropped. Input still unread when a connection closes makes the kernel send a
/// reset, and the peer then loses the replies and the close frame in flight (RFC 6455 §7.1.1
/// asks the closing side to wait for the peer's close frame). Bounded, so a peer that never
/// answers costs at most this long.
pub const CLOSE_LINGER: Duration = Duration::from_secs(2);

/// A request id as echoed in a reply: at most `REQUEST_ID_LEN_MAX` bytes, cut at a character
/// boundary (so a too-long id's reply carries its longest prefix that fits).
fn clip_id(id: &str) -> String {
    let mut end = id.len().min(REQUEST_ID_LEN_MAX);
    while !id.is_char_boundary(end) {
        end -= 1;
    }
    id[..end].to_string()
}

fn error_msg(e: ErrorDto) -> Message {
    text(&ServerMessage::Error {
        v: PROTOCOL_VERSION,
        error: e,
    })
}

fn text(m: &ServerMessage) -> Message {
    Message::Text(
        serde_json::to_string(m)
            .expect("server messages serialize")
            .into(),
    )
}

async fn close(sink: &mut Sink, code: u16, reason: &str) {
    let _ = sink
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from(reason.to_string()),
        })))
        .await;
}

pub async fn handler(
    ws: WebSocketUpgrade,
    State(app): State<Arc<App>>,
    ClientIp(addr): ClientIp,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    if !crate::http::origin_allowed(&app, &headers) {
        app.metrics.ws_refused.fetch_add(1, Ordering::Relaxed);
        return crate::error::ApiError::origin_refused().into_response();
    }
    if app.metrics.ws_clients.load(Ordering::Relaxed) as usize >= app.limits.ws_connections_max {
        app.metrics.ws_refused.fetch_add(1, Ordering::Relaxed);
        let e = ErrorDto::new(
            "too_many_connections",
            "Máy chủ đã đủ kết nối",
            "Too many connections",
        );
        return (StatusCode::SERVICE_UNAVAILABLE, axum::Json(e)).into_response();
    }
    #[cfg(debug_assertions)]
    if let Some(max) = echo::requested(uri.query()) {
        let tracker = app.tracker.clone();
        return configure(ws, max).on_upgrade(move |socket| {
            tracker.track_future(async move {
                let _clients = Gauge::up(&app.metrics.ws_clients);
                let (mut sink, mut stream) = socket.split();
                echo::echo(&app, &mut sink, &mut stream).await;
                finish(sink, stream).await;
            })
        });
    }
    #[cfg(not(debug_assertions))]
    let _ = uri;
    let session = crate::auth::session_principal(&app, &headers).await;
    let session_hash = crate::auth::session_hash(&headers);
    let tracker = app.tracker.clone();
    configure(ws, luot_proto::CLIENT_MESSAGE_BYTES_MAX).on_upgrade(move |socket| {
        tracker.track_future(async move {
            let (mut sink, mut stream) = socket.split();
            client(&mut sink, &mut stream, app, session, session_hash, addr).await;
            finish(sink, stream).await;
        })
    })
}

/// Ends a socket cleanly, whoever closed it. A close frame from the peer was answered by the
/// websocket layer (its code echoed, or 1002 for an invalid code) and flushing sends that
/// answer; after our own close frame, input is read and dropped until the peer's close frame
/// or EOF, for at most [`CLOSE_LINGER`], so every reply and the close frame reach the peer.
async fn finish(mut sink: Sink, mut stream: Stream) {
    let _ = tokio::time::timeout(CLOSE_LINGER, async {
        let _ = sink.flush().await;
        while let Some(Ok(_)) = stream.next().await {}
        let _ = sink.close().await;
    })
    .await;
}

/// The next login whose account changed; never, for sockets that are not a user's.
async fn account_changed(
    rx: &mut Option<tokio::sync::broadcast::Receiver<String>>,
) -> Result<String, RecvError> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Reads the socket's credential again (`standing.rs`); true when the socket carries on. Else
/// it has been told why and closed: `session_ended`/`device_revoked` and 1008, or 1012.
async fn session_holds(
    app: &Arc<App>,
    sink: &mut Sink,
    session_hash: Option<&str>,
    device_hash: Option<&str>,
    principal: &Principal,
) -> bool {
    let s = crate::standing::read(app, principal, session_hash, device_hash).await;
    standing_holds(sink, s).await
}

/// Acts on a re-read credential: true when it holds, else tells the socket and closes it.
async fn standing_holds(sink: &mut Sink, s: crate::standing::Standing) -> bool {
    let Some((code, why)) = crate::standing::close_for(&s) else {
        return true;
    };
    if let crate::standing::Standing::Ended(e) = s {
        let _ = sink.send(error_msg(e.error)).await;
    }
    close(sink, code, why).await;
    false
}

/// The websocket settings of `/ws`: frames and messages up to `message_bytes_max`, small read
/// buffers. The test-only echo mode (`/ws?echo`, debug builds) uses it too, so the Autobahn
/// run tests exactly this configuration.
pub fn configure(ws: WebSocketUpgrade, message_bytes_max: usize) -> WebSocketUpgrade {
    ws.max_message_size(message_bytes_max)
        .max_frame_size(message_bytes_max)
        .read_buffer_size(READ_BUFFER_BYTES)
}

/// Decrements a gauge when the socket ends, however it ends.
struct Gauge<'a>(&'a std::sync::atomic::AtomicU64);

impl<'a> Gauge<'a> {
    fn up(a: &'a std::sync::atomic::AtomicU64) -> Gauge<'a> {
        a.fetch_add(1, Ordering::Relaxed);
        Gauge(a)
    }
}

impl Drop for Gauge<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What a websocket stream error means for the close code.
pub fn close_for(e: &axum::Error) -> Option<(u16, &'static str)> {
    use tokio_tungstenite::tungstenite::Error as WsError;
    let inner = std::error::Error::source(e)
        .and_then(|s| s.downcast_ref::<WsError>())
        .or_else(|| (e as &dyn std::error::Error).downcast_ref::<WsError>());
    let msg = e.to_string();
    match inner {
        Some(WsError::Capacity(_)) => Some((close_code::SIZE, "message too big")),
        Some(WsError::Utf8(_)) => Some((close_code::INVALID, "invalid UTF-8")),
        Some(WsError::Protocol(_)) => Some((close_code::PROTOCOL, "protocol error")),
        _ if msg.contains("too long") || msg.contains("Space limit") => {
            Some((close_code::SIZE, "message too big"))
        }
        _ if msg.contains("UTF-8") || msg.contains("utf-8") => {
            Some((close_code::INVALID, "invalid UTF-8"))
        }
        _ => None,
    }
}

async fn client(
    mut sink: &mut Sink,
    stream: &mut Stream,
    app: Arc<App>,
    session: Principal,
    session_hash: Option<String>,
    addr: std::net::IpAddr,
) {
    let _clients = Gauge::up(&app.metrics.ws_clients);

    // 1. Hello.
    let hello = tokio::select! {
        _ = app.shutdown.cancelled() => return,
        r = tokio::time::timeout(app.limits.ws_hello_timeout, stream.next()) => r,
    };
    let hello_text = match hello {
        Ok(Some(Ok(Message::Text(t)))) => t,
        Ok(Some(Err(e))) => {
            if let Some((code, why)) = close_for(&e) {
                close(&mut sink, code, why).await;
            }
            return;
        }
        Ok(Some(Ok(Message::Binary(_)))) => {
            return close(&mut sink, close_code::UNSUPPORTED, "text frames only").await;
        }
        Ok(_) => return,
        Err(_) => return close(&mut sink, close_code::POLICY, "no hello").await,
    };
    let (role, site_code, resume_from, device_token, ticket_token) =
        match serde_json::from_str::<ClientMessage>(&luot_proto::nfc_json(&hello_text)) {
            Ok(ClientMessage::Hello {
                role,
                site,
                resume_from,
                device_token,
                ticket_token,
            }) => (role, site, resume_from, device_token, ticket_token),
            Ok(_) => {
                let _ = sink
                    .send(error_msg(ErrorDto::new(
                        "hello_first",
                        "Cần gửi hello trước",
                        "Send hello first",
                    )))
                    .await;
                return close(&mut sink, close_code::POLICY, "hello first").await;
            }
            Err(e) => {
                let _ = sink.send(error_msg(bad_json(&e))).await;
                return close(&mut sink, close_code::POLICY, "bad hello").await;
            }
        };
    let site = match site_code.as_deref() {
        None => 0,
        Some(c) => match app.broker.site_index(c) {
            Some(i) => i,
            None => {
                let _ = sink
                    .send(error_msg(
                        ErrorDto::new(
                            "unknown_site",
                            "Không có điểm tiếp nhận này",
                            "No such site",
                        )
                        .with_field("site"),
                    ))
                    .await;
                return close(&mut sink, close_code::POLICY, "unknown site").await;
            }
        },
    };

    // 2. Who is it? A device token or a ticket token proves a claim; otherwise the session cookie.
    let mut principal = session;
    let mut my_ticket: Option<u64> = None;
    // Kept to re-read the device when it may have been revoked (`standing.rs`).
    let mut device_hash: Option<String> = None;
    if let Some(token) = device_token {
        let hash = crate::auth::token_hash(&token);
        device_hash = Some(hash.clone());
        let device = app
            .accounts(move |c| c.device_by_token(&hash))
            .await
            .ok()
            .flatten();
        let site_code = app.broker.runtime()[site].code.to_string();
        match device {
            Some(d) if d.site == site_code => principal = Principal::Device(d),
            _ => {
                let _ = sink
                    .send(error_msg(
                        ErrorDto::new(
                            "device_unknown",
                            "Thiết bị chưa được ghép nối hoặc đã bị thu hồi",
                            "This device is not paired or was revoked",
                        )
                        .with_field("device_token"),
                    ))
                    .await;
                return close(&mut sink, close_code::POLICY, "device unknown").await;
            }
        }
    } else if let Some(token) = ticket_token {
        let Some(t) = luot_core::Token::from_hex(&token) else {
            let _ = sink
                .send(error_msg(
                    ErrorDto::new(
                        "ticket_unknown",
                        "Không tìm thấy số thứ tự",
                        "No such ticket",
                    )
                    .with_field("ticket_token"),
                ))
                .await;
            return close(&mut sink, close_code::POLICY, "ticket unknown").await;
        };
        let found = app
            .broker
            .read(move |v| {
                v.sites[site]
                    .resolve(luot_core::TicketRef::Token(t))
                    .map(|t| t.id.0)
            })
            .await
            .ok()
            .flatten();
        match found {
            Some(id) => {
                my_ticket = Some(id);
                principal = Principal::Phone { site, token: t };
            }
            None => {
                let _ = sink
                    .send(error_msg(
                        ErrorDto::new(
                            "ticket_unknown",
                            "Không tìm thấy số thứ tự (có thể đã hết hạn)",
                            "No such ticket (it may have expired)",
                        )
                        .with_field("ticket_token"),
                    ))
                    .await;
                return close(&mut sink, close_code::POLICY, "ticket unknown").await;
            }
        }
    }
    let _anonymous = if principal.is_anonymous() {
        if app.metrics.ws_anonymous.load(Ordering::Relaxed) as usize >= app.limits.ws_anonymous_max
        {
            app.metrics.ws_refused.fetch_add(1, Ordering::Relaxed);
            let _ = sink
                .send(error_msg(ErrorDto::new(
                    "too_many_anonymous",
                    "Quá nhiều kết nối chưa xác thực",
                    "Too many anonymous connections",
                )))
                .await;
            return close(&mut sink, close_code::AGAIN, "too many anonymous").await;
        }
        Some(Gauge::up(&app.metrics.ws_anonymous))
    } else {
        None
    };
    let welcome = ServerMessage::Welcome {
        v: PROTOCOL_VERSION,
        role,
        site: app.broker.runtime()[site].code.to_string(),
        authenticated: !principal.is_anonymous(),
        user: match &principal {
            Principal::User(u) => Some(u.login.clone()),
            Principal::Device(d) => Some(d.name.clone()),
            _ => None,
        },
        server_time_ms: app.clock.now_ms(),
        printer: match &principal {
            Principal::Device(d) if d.kind.issues() => {
                app.printers.for_kiosk(&d.site, &d.name).map(|p| p.status())
            }
            _ => None,
        },
    };
    if sink.send(text(&welcome)).await.is_err() {
        return;
    }
    // An official's console keeps their counter from being paused as absent (consoles.rs).
    let _console = match (&principal, role) {
        (Principal::User(u), Role::Counter) => Some(app.consoles.enter(&u.login)),
        _ => None,
    };

    // 3. Catch up: subscribe first, then replay or snapshot, so nothing falls in between.
    let mut rx = app.hub.subscribe();
    let Some(mut last_seq) = sync(&app, &mut sink, site, role, resume_from).await else {
        return;
    };
    if role == Role::Phone {
        if let Some(id) = my_ticket {
            if !send_ticket(&app, &mut sink, site, id).await {
                return;
            }
        }
    }

    // 4. Live.
    // A kiosk's issues travel on its socket: the socket must carry as many as the issue limit
    // allows, or a raised `--issue-rate` would be silently capped by the message rate.
    let (rate, burst) = match &principal {
        Principal::Device(d) if d.kind.issues() => (
            app.limits.ws_messages_per_s.max(app.limits.issue_per_s),
            app.limits.ws_messages_burst.max(app.limits.issue_burst),
        ),
        _ => (app.limits.ws_messages_per_s, app.limits.ws_messages_burst),
    };
    let limiter = RateLimiter::new(rate, burst);
    let mut bad = 0u32;
    let mut ping = tokio::time::interval(app.limits.ws_ping_interval);
    ping.tick().await;
    let mut heard = Instant::now();
    // Made once: a fresh `cancelled()` per turn of the loop registers with (and leaves) the
    // token's waiter list every time an event passes, on every socket.
    let stopping = app.shutdown.cancelled();
    tokio::pin!(stopping);
    // A user's or device's socket re-reads its credential when this process announces a change
    // to it, and before every command (changes made by another process, the CLI): standing.rs.
    let watch_key = crate::standing::key(&principal);
    let mut changes = watch_key.as_ref().map(|_| app.account_changes.subscribe());
    // The credential was read at the upgrade, before this subscription: a change announced in
    // between (e.g. the account disabled while this socket reconnected) would go unheard.
    if changes.is_some()
        && !session_holds(
            &app,
            &mut sink,
            session_hash.as_deref(),
            device_hash.as_deref(),
            &principal,
        )
        .await
    {
        return;
    }
    loop {
        tokio::select! {
            _ = &mut stopping => {
                close(&mut sink, close_code::AWAY, "server stopping").await;
                return;
            }
            changed = account_changed(&mut changes) => {
                let check = match changed {
                    Ok(key) => Some(&key) == watch_key.as_ref(),
                    // Missed announcements: read the session again.
                    Err(RecvError::Lagged(_)) => true,
                    Err(RecvError::Closed) => {
                        changes = None;
                        false
                    }
                };
                if check && !session_holds(&app, &mut sink, session_hash.as_deref(), device_hash.as_deref(), &principal).await {
                    return;
                }
            }
            incoming = stream.next() => {
                heard = Instant::now();
                match incoming {
                    None | Some(Ok(Message::Close(_))) => return,
                    Some(Err(e)) => {
                        if let Some((code, why)) = close_for(&e) {
                            close(&mut sink, code, why).await;
                        }
                        return;
                    }
                    Some(Ok(Message::Binary(_))) => {
                        return close(&mut sink, close_code::UNSUPPORTED, "text frames only").await;
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Text(t))) => {
                        // Strings in NFC before anything reads them (luot_proto::text).
                        let t = luot_proto::nfc_json(&t);
                        if !limiter.allow("socket") {
                            app.metrics.rate_limited.fetch_add(1, Ordering::Relaxed);
                            bad += 1;
                            // A command still gets its one reply, or the client would wait for it.
                            let error = crate::error::ApiError::rate_limited().error;
                            let msg = match serde_json::from_str::<ClientMessage>(&t) {
                                Ok(ClientMessage::Command { id, .. }) => text(&ServerMessage::Reply { v: PROTOCOL_VERSION, id: clip_id(&id), ok: false, result: None, error: Some(error) }),
                                _ => error_msg(error),
                            };
                            let _ = sink.send(msg).await;
                        } else {
                            match serde_json::from_str::<ClientMessage>(&t) {
                                Ok(ClientMessage::Command { id, command }) => {
                                    // The credential is read again before every command: a change
                                    // made anywhere applies to the very next command.
                                    if watch_key.is_some() {
                                        let standing = crate::standing::read(&app, &principal, session_hash.as_deref(), device_hash.as_deref()).await;
                                        let refusal = standing.refusal().map(|e| e.error);
                                        if let Some(error) = refusal {
                                            let reply = ServerMessage::Reply { v: PROTOCOL_VERSION, id: clip_id(&id), ok: false, result: None, error: Some(error) };
                                            let _ = sink.send(text(&reply)).await;
                                            standing_holds(&mut sink, standing).await;
                                            return;
                                        }
                                    }
                                    let reply = if id.len() > REQUEST_ID_LEN_MAX {
                                        ServerMessage::Reply { v: PROTOCOL_VERSION, id: clip_id(&id), ok: false, result: None, error: Some(ErrorDto::new("invalid_field", format!("Mã yêu cầu quá dài (tối đa {REQUEST_ID_LEN_MAX} byte)"), format!("Request id too long (at most {REQUEST_ID_LEN_MAX} bytes)")).with_field("id")) }
                                    } else {
                                        match crate::dispatch::execute(&app, &principal, site, command, addr).await {
                                            Ok(r) => ServerMessage::Reply { v: PROTOCOL_VERSION, id, ok: true, result: Some(r), error: None },
                                            Err(e) => ServerMessage::Reply { v: PROTOCOL_VERSION, id, ok: false, result: None, error: Some(e.error) },
                                        }
                                    };
                                    if sink.send(text(&reply)).await.is_err() {
                                        return;
                                    }
                                }
                                Ok(ClientMessage::Hello { .. }) => {
                                    bad += 1;
                                    let _ = sink.send(error_msg(ErrorDto::new("hello_twice", "Đã gửi hello", "Hello was already sent"))).await;
                                }
                                Err(e) => {
                                    bad += 1;
                                    let _ = sink.send(error_msg(bad_json(&e))).await;
                                }
                            }
                        }
                        if bad > BAD_MESSAGES_MAX {
                            return close(&mut sink, close_code::POLICY, "too many bad messages").await;
                        }
                    }
                }
            }
            out = rx.recv() => match out {
                Ok(out) => {
                    // Forward this event and those already queued behind it in one write.
                    let mut next = Some(out);
                    let (mut bytes, mut lagged) = (0usize, false);
                    let mut calls: Vec<std::time::Instant> = Vec::new();
                    while let Some(out) = next.take() {
                        if out.site == site && (out.seq == 0 || out.seq > last_seq) {
                            bytes += out.json.len();
                            if role == Role::Display {
                                calls.extend(out.call_received);
                            }
                            if sink.feed(Message::Text(out.json.clone())).await.is_err() {
                                return;
                            }
                            if out.seq != 0 {
                                last_seq = out.seq;
                            }
                            if let (Some(mine), Some(t)) = (my_ticket, out.ticket) {
                                if mine == t && !send_ticket(&app, &mut sink, site, mine).await {
                                    return;
                                }
                            }
                        }
                        if bytes < FORWARD_BATCH_BYTES {
                            match rx.try_recv() {
                                Ok(o) => next = Some(o),
                                Err(TryRecvError::Lagged(_)) => lagged = true,
                                Err(TryRecvError::Empty | TryRecvError::Closed) => {}
                            }
                        }
                    }
                    if bytes > 0 && sink.flush().await.is_err() {
                        return;
                    }
                    for received in calls {
                        app.metrics
                            .call_to_display_seconds
                            .observe(received.elapsed().as_secs_f64());
                    }
                    if lagged {
                        app.metrics.ws_resyncs.fetch_add(1, Ordering::Relaxed);
                        match sync(&app, &mut sink, site, role, None).await {
                            Some(s) => last_seq = s,
                            None => return,
                        }
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    app.metrics.ws_resyncs.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(skipped = n, "socket fell behind; resyncing");
                    match sync(&app, &mut sink, site, role, None).await {
                        Some(s) => last_seq = s,
                        None => return,
                    }
                }
                Err(RecvError::Closed) => return,
            },
            _ = ping.tick() => {
                if heard.elapsed() > app.limits.ws_idle_timeout {
                    return close(&mut sink, close_code::AWAY, "idle").await;
                }
                if sink.send(Message::Ping(Default::default())).await.is_err() {
                    return;
                }
            }
        }
    }
}

fn bad_json(e: &serde_json::Error) -> ErrorDto {
    // serde_json knows no position (line 0) for errors inside tagged enums, which every
    // message is: say what is wrong rather than "line 0, column 0".
    if e.line() == 0 {
        return ErrorDto::new(
            "bad_message",
            format!("Tin nhắn không hợp lệ: {e}"),
            format!("Malformed message: {e}"),
        );
    }
    ErrorDto::new(
        "bad_message",
        format!(
            "Tin nhắn không hợp lệ (dòng {}, cột {}): {e}",
            e.line(),
            e.column()
        ),
        format!(
            "Malformed message (line {}, column {}): {e}",
            e.line(),
            e.column()
        ),
    )
}

/// Brings a socket up to date: the missed events when the buffer still has them, else a
/// snapshot. Returns the seq the socket is at.
async fn sync(
    app: &App,
    sink: &mut Sink,
    site: usize,
    role: Role,
    resume_from: Option<u64>,
) -> Option<u64> {
    enum Catchup {
        Replay(Vec<Arc<crate::hub::Outgoing>>, u64),
        Snapshot(Box<SiteSnapshot>, u64),
    }
    let catchup = app
        .broker
        .read(move |v| {
            if let Some(from) = resume_from {
                if let Resume::Replay(list) = v.hub.resume(from, v.seq) {
                    return Catchup::Replay(list, v.seq);
                }
            }
            let now = v.now(site);
            Catchup::Snapshot(
                Box::new(SiteSnapshot::of(
                    &v.sites[site],
                    &now,
                    v.intake_open,
                    role.lists_waiting(),
                )),
                v.seq,
            )
        })
        .await
        .ok()?;
    match catchup {
        Catchup::Replay(list, seq) => {
            for out in list.iter().filter(|o| o.site == site) {
                sink.send(Message::Text(out.json.clone())).await.ok()?;
            }
            Some(seq)
        }
        Catchup::Snapshot(snapshot, seq) => {
            sink.send(text(&ServerMessage::Snapshot {
                v: PROTOCOL_VERSION,
                seq,
                snapshot,
            }))
            .await
            .ok()?;
            Some(seq)
        }
    }
}

async fn send_ticket(app: &App, sink: &mut Sink, site: usize, id: u64) -> bool {
    let view = app
        .broker
        .read(move |v| {
            let s = &v.sites[site];
            s.ticket(luot_core::TicketId(id))
                .map(|t| (TicketView::of_at(t, s, &v.now(site)), v.seq))
        })
        .await
        .ok()
        .flatten();
    match view {
        Some((ticket, seq)) => sink
            .send(text(&ServerMessage::Ticket {
                v: PROTOCOL_VERSION,
                seq,
                ticket,
            }))
            .await
            .is_ok(),
        None => true,
    }
}
