//! `/ws`: hello → welcome → snapshot (or replay from `resume_from`) → events, and commands with
//! exactly one reply each. Each socket reads the hub's bounded broadcast; one that falls behind
//! is resynced with a snapshot. Sizes, rates and counts are capped; `Origin` is checked.

use crate::App;
use crate::auth::{Principal, RateLimiter};
use crate::error::{ApiError, FieldFault, TicketKey};
use crate::hub::Resume;
use crate::proxy::ClientIp;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::http::HeaderMap;
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
/// load it was a quarter of the server's CPU (luot-bench, BENCHMARKS.md). 1 KiB holds any
/// command a kiosk or console sends; 4 KiB cost 3 KiB more per idle display.
pub const READ_BUFFER_BYTES: usize = 1024;
/// The most a socket's `client` future may weigh, in bytes (a debug build's; a release build's
/// is smaller): every socket's task holds it for as long as the socket lives, so the steps an
/// idle socket is not in are boxed (a test checks it).
pub const IDLE_SOCKET_FUTURE_MAX: usize = 2048;
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

#[utoipa::path(
    get,
    path = "/ws",
    operation_id = "websocket",
    tag = "websocket",
    summary = r#"Websocket: live state and commands"#,
    description = r#"Upgrade to a websocket. First message: `hello` (a `ClientMessage`) within 10 s; the server answers `welcome`, then a `snapshot` at seq N and `event`s N+1…, or a replay from `resume_from`. Commands (`command`, a `ClientMessage`) get exactly one `reply` (a `ServerMessage`). Text frames only, at most 16 KiB; 20 messages/s (burst 60). Close codes: 1001 going away (server stopping, idle 60 s), 1003 binary frame, 1007 invalid UTF-8, 1008 policy (no/bad hello, unknown site/device/ticket, too many bad messages), 1009 too big, 1013 too many anonymous sockets. The session cookie, if any, is read from the handshake. Besides `event`s the server sends `ticket` (phone sockets), `intake` (storage fault), `config` (live configuration change: reload the setup and resync) and `error`."#,
    security((), ("sessionCookie" = [])),
    responses(
        (status = 101, description = "Switching Protocols. The client sends `ClientMessage`s and receives `ServerMessage`s (JSON text frames); see docs/protocol.md."),
        (status = 400, description = "Not a websocket upgrade (plain text).", body = String, content_type = "text/plain"),
        (status = 403, description = "`origin_refused`: the `Origin` header is not allowed.", body = luot_proto::ErrorDto, content_type = "application/json"),
        (status = 503, description = "`too_many_connections`.", body = luot_proto::ErrorDto, content_type = "application/json"),
    )
)]
pub async fn handler(
    ws: WebSocketUpgrade,
    State(app): State<Arc<App>>,
    ClientIp(addr): ClientIp,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    if !crate::http::origin_allowed(&app, &headers) {
        app.metrics.ws_refused.fetch_add(1, Ordering::Relaxed);
        return ApiError::OriginRefused.into_response();
    }
    if app.metrics.ws_clients.load(Ordering::Relaxed) as usize >= app.limits.ws_connections_max {
        app.metrics.ws_refused.fetch_add(1, Ordering::Relaxed);
        return ApiError::TooManyConnections { per_address: None }.into_response();
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

/// One socket: `handshake` (its hello), `identify` (who it is, the welcome), then `live` until
/// it ends.
async fn client(
    sink: &mut Sink,
    stream: &mut Stream,
    app: Arc<App>,
    session: Principal,
    session_hash: Option<String>,
    addr: std::net::IpAddr,
) {
    let _clients = Gauge::up(&app.metrics.ws_clients);
    let Some(hello) = handshake(&app, sink, stream).await else {
        return;
    };
    // Boxed, like every step an idle socket is not in: a task holds its future's largest
    // state for as long as it lives (`IDLE_SOCKET_FUTURE_MAX`).
    let Some(who) = Box::pin(identify(&app, sink, &hello, session, session_hash)).await else {
        return;
    };
    live(&app, sink, stream, hello, who, addr).await;
}

/// What a socket's hello asked for.
struct Hello {
    role: Role,
    site: usize,
    resume_from: Option<u64>,
    device_token: Option<String>,
    ticket_token: Option<String>,
}

/// Who is behind a socket, and how to read their credential again.
struct Identity<'a> {
    principal: Principal,
    /// A phone's ticket (its id), whose changes the socket is sent as `ticket` messages.
    my_ticket: Option<u64>,
    /// The session cookie's hash, to re-read the session (`standing.rs`).
    session_hash: Option<String>,
    /// The device token's hash, to re-read the device when it may have been revoked.
    device_hash: Option<String>,
    /// Counts the socket among the anonymous ones while it lives.
    _anonymous: Option<Gauge<'a>>,
}

/// Sends an error: as the reply to command `id`, or as an `error` message. True when the socket
/// carries on; false when the error ends it (it is then closed with the error's close code).
async fn reply_error(sink: &mut Sink, id: Option<&str>, e: ApiError) -> bool {
    let sent = send_error(sink, id, &e).await;
    match e.close() {
        Some(c) => {
            let (code, why) = c.frame();
            close(sink, code, why).await;
            false
        }
        None => sent,
    }
}

/// Sends an error as the reply to command `id`, or as an `error` message, without closing.
async fn send_error(sink: &mut Sink, id: Option<&str>, e: &ApiError) -> bool {
    let msg = match id {
        Some(id) => text(&ServerMessage::Reply {
            v: PROTOCOL_VERSION,
            id: clip_id(id),
            ok: false,
            result: None,
            error: Some(e.to_dto()),
        }),
        None => error_msg(e.to_dto()),
    };
    sink.send(msg).await.is_ok()
}

/// Reads the hello, within `Limits::ws_hello_timeout`. `None` when the socket ended.
async fn handshake(app: &Arc<App>, sink: &mut Sink, stream: &mut Stream) -> Option<Hello> {
    let hello = tokio::select! {
        _ = app.shutdown.cancelled() => return None,
        r = tokio::time::timeout(app.limits.ws_hello_timeout, stream.next()) => r,
    };
    let hello_text = match hello {
        Ok(Some(Ok(Message::Text(t)))) => t,
        Ok(Some(Err(e))) => {
            if let Some((code, why)) = close_for(&e) {
                close(sink, code, why).await;
            }
            return None;
        }
        Ok(Some(Ok(Message::Binary(_)))) => {
            close(sink, close_code::UNSUPPORTED, "text frames only").await;
            return None;
        }
        Ok(_) => return None,
        Err(_) => {
            close(sink, close_code::POLICY, "no hello").await;
            return None;
        }
    };
    let (role, site, resume_from, device_token, ticket_token) =
        match serde_json::from_str::<ClientMessage>(&luot_proto::nfc_json(&hello_text)) {
            Ok(ClientMessage::Hello {
                role,
                site,
                resume_from,
                device_token,
                ticket_token,
            }) => (role, site, resume_from, device_token, ticket_token),
            Ok(_) => {
                reply_error(sink, None, ApiError::HelloFirst).await;
                return None;
            }
            Err(e) => {
                let e = ApiError::BadMessage((&e).into()).at_hello();
                reply_error(sink, None, e).await;
                return None;
            }
        };
    let site = match site.as_deref() {
        None => 0,
        Some(c) => match app.broker.site_index(c) {
            Some(i) => i,
            None => {
                let e = ApiError::UnknownSite.at_hello();
                reply_error(sink, None, e).await;
                return None;
            }
        },
    };
    Some(Hello {
        role,
        site,
        resume_from,
        device_token,
        ticket_token,
    })
}

/// Who is it? A device token or a ticket token proves a claim; otherwise the session cookie.
/// Sends the welcome. `None` when the socket was refused (and closed) or ended.
async fn identify<'a>(
    app: &'a Arc<App>,
    sink: &mut Sink,
    hello: &Hello,
    session: Principal,
    session_hash: Option<String>,
) -> Option<Identity<'a>> {
    let site = hello.site;
    let mut principal = session;
    let mut my_ticket = None;
    let mut device_hash = None;
    if let Some(token) = &hello.device_token {
        let hash = crate::auth::token_hash(token);
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
                reply_error(sink, None, ApiError::DeviceUnknown.at_hello()).await;
                return None;
            }
        }
    } else if let Some(token) = &hello.ticket_token {
        let Some(t) = luot_core::Token::from_hex(token) else {
            reply_error(
                sink,
                None,
                ApiError::UnknownTicket(TicketKey::Token).at_hello(),
            )
            .await;
            return None;
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
        let Some(id) = found else {
            reply_error(
                sink,
                None,
                ApiError::UnknownTicket(TicketKey::ExpiredToken).at_hello(),
            )
            .await;
            return None;
        };
        my_ticket = Some(id);
        principal = Principal::Phone { site, token: t };
    }
    let anonymous = if principal.is_anonymous() {
        if app.metrics.ws_anonymous.load(Ordering::Relaxed) as usize >= app.limits.ws_anonymous_max
        {
            app.metrics.ws_refused.fetch_add(1, Ordering::Relaxed);
            reply_error(sink, None, ApiError::TooManyAnonymous).await;
            return None;
        }
        Some(Gauge::up(&app.metrics.ws_anonymous))
    } else {
        None
    };
    let welcome = ServerMessage::Welcome {
        v: PROTOCOL_VERSION,
        role: hello.role,
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
    sink.send(text(&welcome)).await.ok()?;
    Some(Identity {
        principal,
        my_ticket,
        session_hash,
        device_hash,
        _anonymous: anonymous,
    })
}

/// A socket after its welcome: what it reads, what it is sent, the state between the two.
struct Live<'a> {
    app: &'a Arc<App>,
    sink: &'a mut Sink,
    site: usize,
    role: Role,
    who: Identity<'a>,
    /// The key its credential's changes are announced under; `None` for phones and anonymous.
    watch_key: Option<String>,
    addr: std::net::IpAddr,
    /// The last event's seq the socket was sent.
    last_seq: u64,
    /// Malformed or refused messages so far (`BAD_MESSAGES_MAX`).
    bad: u32,
    limiter: RateLimiter,
}

/// Catches up (replay or snapshot), then forwards events and answers commands until the socket,
/// its credential or the server ends.
async fn live(
    app: &Arc<App>,
    sink: &mut Sink,
    stream: &mut Stream,
    hello: Hello,
    who: Identity<'_>,
    addr: std::net::IpAddr,
) {
    // An official's console keeps their counter from being paused as absent (consoles.rs).
    let _console = match (&who.principal, hello.role) {
        (Principal::User(u), Role::Counter) => Some(app.consoles.enter(&u.login)),
        _ => None,
    };
    // Subscribe first, then replay or snapshot, so nothing falls in between.
    let mut rx = app.hub.subscribe();
    let Some(last_seq) = Box::pin(sync(app, sink, hello.site, hello.role, hello.resume_from)).await
    else {
        return;
    };
    if hello.role == Role::Phone
        && let Some(id) = who.my_ticket
        && !Box::pin(send_ticket(app, sink, hello.site, id)).await
    {
        return;
    }
    // A kiosk's issues travel on its socket: the socket must carry as many as the issue limit
    // allows, or a raised `--issue-rate` would be silently capped by the message rate.
    let limits = &app.limits;
    let (rate, burst) = match &who.principal {
        Principal::Device(d) if d.kind.issues() => (
            limits.ws_messages_per_s.max(limits.issue_per_s),
            limits.ws_messages_burst.max(limits.issue_burst),
        ),
        _ => (limits.ws_messages_per_s, limits.ws_messages_burst),
    };
    // A user's or device's socket re-reads its credential when this process announces a change
    // to it, and before every command (changes made by another process, the CLI): standing.rs.
    let watch_key = crate::standing::key(&who.principal);
    let mut changes = watch_key.as_ref().map(|_| app.account_changes.subscribe());
    let mut s = Live {
        app,
        sink,
        site: hello.site,
        role: hello.role,
        who,
        watch_key,
        addr,
        last_seq,
        bad: 0,
        limiter: RateLimiter::new(rate, burst),
    };
    // The credential was read at the upgrade, before this subscription: a change announced in
    // between (e.g. the account disabled while this socket reconnected) would go unheard.
    if changes.is_some() && !Box::pin(s.recheck(None)).await {
        return;
    }
    let mut ping = tokio::time::interval(app.limits.ws_ping_interval);
    ping.tick().await;
    let mut heard = Instant::now();
    // Made once: a fresh `cancelled()` per turn of the loop registers with (and leaves) the
    // token's waiter list every time an event passes, on every socket.
    let stopping = app.shutdown.cancelled();
    tokio::pin!(stopping);
    loop {
        let carry_on = tokio::select! {
            _ = &mut stopping => {
                close(s.sink, close_code::AWAY, "server stopping").await;
                false
            }
            changed = account_changed(&mut changes) => {
                let check = match changed {
                    Ok(key) => Some(&key) == s.watch_key.as_ref(),
                    // Missed announcements: read the credential again.
                    Err(RecvError::Lagged(_)) => true,
                    Err(RecvError::Closed) => {
                        changes = None;
                        false
                    }
                };
                !check || Box::pin(s.recheck(None)).await
            }
            incoming = stream.next() => {
                heard = Instant::now();
                Box::pin(s.incoming(incoming)).await
            }
            out = rx.recv() => Box::pin(s.forward(out, &mut rx)).await,
            _ = ping.tick() => {
                if heard.elapsed() > app.limits.ws_idle_timeout {
                    close(s.sink, close_code::AWAY, "idle").await;
                    false
                } else {
                    s.sink.send(Message::Ping(Default::default())).await.is_ok()
                }
            }
        };
        if !carry_on {
            return;
        }
    }
}

impl Live<'_> {
    /// Reads the socket's credential again (`standing.rs`), the one place it is: true when it
    /// holds. Else a command in hand (`command_id`) is refused, a credential that is gone is
    /// said (`session_ended`/`device_revoked`), and the socket is closed: 1008, or 1012 to
    /// reconnect with new rights.
    async fn recheck(&mut self, command_id: Option<&str>) -> bool {
        let standing = crate::standing::read(
            self.app,
            &self.who.principal,
            self.who.session_hash.as_deref(),
            self.who.device_hash.as_deref(),
        )
        .await;
        let Some(refusal) = standing.refusal() else {
            return true;
        };
        if let Some(id) = command_id {
            send_error(self.sink, Some(id), &refusal).await;
        }
        if let crate::standing::Standing::Ended(e) = standing {
            return reply_error(self.sink, None, e).await;
        }
        if let Some(c) = refusal.close() {
            let (code, why) = c.frame();
            close(self.sink, code, why).await;
        }
        false
    }

    /// A frame from the client. False when the socket ends.
    async fn incoming(&mut self, incoming: Option<Result<Message, axum::Error>>) -> bool {
        let t = match incoming {
            None | Some(Ok(Message::Close(_))) => return false,
            Some(Err(e)) => {
                if let Some((code, why)) = close_for(&e) {
                    close(self.sink, code, why).await;
                }
                return false;
            }
            Some(Ok(Message::Binary(_))) => {
                close(self.sink, close_code::UNSUPPORTED, "text frames only").await;
                return false;
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => return true,
            Some(Ok(Message::Text(t))) => t,
        };
        // Strings in NFC before anything reads them (luot_proto::text).
        let t = luot_proto::nfc_json(&t);
        let parsed = serde_json::from_str::<ClientMessage>(&t);
        let carry_on = if !self.limiter.allow("socket") {
            self.app
                .metrics
                .rate_limited
                .fetch_add(1, Ordering::Relaxed);
            self.bad += 1;
            // A command still gets its one reply, or the client would wait for it.
            let id = match &parsed {
                Ok(ClientMessage::Command { id, .. }) => Some(id.as_str()),
                _ => None,
            };
            reply_error(self.sink, id, ApiError::RateLimited).await
        } else {
            match parsed {
                Ok(ClientMessage::Command { id, command }) => self.command(id, command).await,
                Ok(ClientMessage::Hello { .. }) => {
                    self.bad += 1;
                    reply_error(self.sink, None, ApiError::HelloTwice).await
                }
                Err(e) => {
                    self.bad += 1;
                    reply_error(self.sink, None, ApiError::BadMessage((&e).into())).await
                }
            }
        };
        if !carry_on {
            return false;
        }
        if self.bad > BAD_MESSAGES_MAX {
            close(self.sink, close_code::POLICY, "too many bad messages").await;
            return false;
        }
        true
    }

    /// Runs one command and sends its one reply. False when the socket ends.
    async fn command(&mut self, id: String, command: luot_proto::CommandDto) -> bool {
        // The credential is read again before every command: a change made anywhere applies to
        // the very next command.
        if self.watch_key.is_some() && !self.recheck(Some(&id)).await {
            return false;
        }
        if id.len() > REQUEST_ID_LEN_MAX {
            return reply_error(
                self.sink,
                Some(&id),
                ApiError::InvalidField(FieldFault::RequestIdTooLong),
            )
            .await;
        }
        let r =
            crate::dispatch::execute(self.app, &self.who.principal, self.site, command, self.addr)
                .await;
        match r {
            Ok(result) => {
                let reply = ServerMessage::Reply {
                    v: PROTOCOL_VERSION,
                    id,
                    ok: true,
                    result: Some(result),
                    error: None,
                };
                self.sink.send(text(&reply)).await.is_ok()
            }
            Err(e) => reply_error(self.sink, Some(&id), e).await,
        }
    }

    /// Forwards an event from the hub, with those already queued behind it in one write; a
    /// socket that fell behind is resynced. False when the socket ends.
    async fn forward(
        &mut self,
        out: Result<Arc<crate::hub::Outgoing>, RecvError>,
        rx: &mut tokio::sync::broadcast::Receiver<Arc<crate::hub::Outgoing>>,
    ) -> bool {
        let out = match out {
            Ok(out) => out,
            Err(RecvError::Lagged(n)) => {
                tracing::debug!(skipped = n, "socket fell behind; resyncing");
                return self.resync().await;
            }
            Err(RecvError::Closed) => return false,
        };
        let mut next = Some(out);
        let (mut bytes, mut lagged) = (0usize, false);
        let mut calls: Vec<Instant> = Vec::new();
        while let Some(out) = next.take() {
            if out.site == self.site && (out.seq == 0 || out.seq > self.last_seq) {
                bytes += out.json.len();
                if self.role == Role::Display {
                    calls.extend(out.call_received);
                }
                if self
                    .sink
                    .feed(Message::Text(out.json.clone()))
                    .await
                    .is_err()
                {
                    return false;
                }
                if out.seq != 0 {
                    self.last_seq = out.seq;
                }
                if let (Some(mine), Some(t)) = (self.who.my_ticket, out.ticket)
                    && mine == t
                    && !send_ticket(self.app, self.sink, self.site, mine).await
                {
                    return false;
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
        if bytes > 0 && self.sink.flush().await.is_err() {
            return false;
        }
        for received in calls {
            self.app
                .metrics
                .call_to_display_seconds
                .observe(received.elapsed().as_secs_f64());
        }
        !lagged || self.resync().await
    }

    /// A fresh snapshot for a socket that fell behind.
    async fn resync(&mut self) -> bool {
        self.app.metrics.ws_resyncs.fetch_add(1, Ordering::Relaxed);
        match sync(self.app, self.sink, self.site, self.role, None).await {
            Some(seq) => {
                self.last_seq = seq;
                true
            }
            None => false,
        }
    }
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
            if let Some(from) = resume_from
                && let Resume::Replay(list) = v.hub.resume(from, v.seq)
            {
                return Catchup::Replay(list, v.seq);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The size of the future `f` would make, without making it.
    fn size_of_future<Fut: std::future::Future>(_: impl FnOnce() -> Fut) -> usize {
        std::mem::size_of::<Fut>()
    }

    /// Every idle socket's task holds its `client` future, sized for its largest state: what an
    /// idle display is not doing (identifying, catching up, answering a command, forwarding an
    /// event) must not weigh on it. Unboxed, those steps made it 3,888 bytes (debug build).
    #[test]
    #[allow(unreachable_code, unused_variables, clippy::diverging_sub_expression)]
    fn an_idle_socket_future_stays_small() {
        let client_size = size_of_future(|| {
            let sink: &mut Sink = unreachable!();
            let stream: &mut Stream = unreachable!();
            let app: Arc<App> = unreachable!();
            client(
                sink,
                stream,
                app,
                Principal::Anonymous,
                None,
                [127, 0, 0, 1].into(),
            )
        });
        assert!(
            client_size <= IDLE_SOCKET_FUTURE_MAX,
            "a socket's future is {client_size} bytes; at most {IDLE_SOCKET_FUTURE_MAX}: box the step that grew"
        );
    }
}
