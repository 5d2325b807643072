//! Harness for the end-to-end tests: the real server, started in-process on `127.0.0.1:0` with a
//! fresh data folder, and clients that talk to it the way kiosks, displays, counters and phones
//! do — HTTP through `reqwest`, websockets through `tokio-tungstenite`.
//!
//! Nothing here sleeps to wait for the server: every wait is for a message, a reply or a
//! response, under a timeout that turns a hang into a failure that says what was awaited.

pub mod openapi_check;

use futures_util::{SinkExt, StreamExt};
use luot_server::clock::OffsetClock;
use luot_server::{FirstStart, Limits, Options, Server};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The site of the built-in configuration.
pub const SITE: &str = "sa-huynh";
/// Monday 2026-11-30 09:00 in Asia/Ho_Chi_Minh (02:00 UTC): the center is open.
pub const START_MS: i64 = 1_796_004_000_000;
pub const START_RFC3339: &str = "2026-11-30T09:00:00+07:00";
/// Longest wait for any single message or response.
pub const WAIT: Duration = Duration::from_secs(10);
/// A password good enough for `check_password_strength`.
pub const PASSWORD: &str = "mat-khau-thu-nghiem-01";

pub fn system_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

/// A clock that reads [`START_MS`] now and runs on from there.
pub fn clock_at_start() -> Arc<OffsetClock> {
    let c = OffsetClock::default();
    c.set_offset_ms(START_MS - system_now_ms());
    Arc::new(c)
}

/// Awaits `f`, failing the test with `what` if it takes longer than [`WAIT`].
pub async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(WAIT, f).await {
        Ok(v) => v,
        Err(_) => panic!("timed out after {WAIT:?} waiting for {what}"),
    }
}

/// How a test server is started.
#[derive(Debug, Clone)]
pub struct Setup {
    pub limits: Limits,
    pub clock: Arc<OffsetClock>,
    pub config_toml: String,
    /// Serve HTTPS with these files.
    pub tls: Option<luot_server::tls::TlsFiles>,
    /// Cookies `Secure` (as behind a TLS proxy).
    pub secure_cookies: bool,
    pub trusted_proxies: luot_server::proxy::TrustedProxies,
}

impl Default for Setup {
    fn default() -> Setup {
        Setup {
            limits: Limits::default(),
            clock: clock_at_start(),
            config_toml: luot_proto::config::DEFAULT_CONFIG_TOML.to_string(),
            tls: None,
            secure_cookies: false,
            trusted_proxies: Default::default(),
        }
    }
}

/// The real server on a loopback port with its own data folder.
#[derive(Debug)]
pub struct TestServer {
    server: Option<Server>,
    pub dir: tempfile::TempDir,
    /// What the first start created (admin password, device tokens).
    pub first: FirstStart,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    setup: Setup,
}

async fn launch(dir: &Path, setup: &Setup) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let center = luot_proto::config::parse_config(&setup.config_toml, "test.toml")
        .unwrap_or_else(|e| panic!("test configuration does not parse:\n{e}"));
    let server = luot_server::start(
        listener,
        Options {
            data_dir: dir.to_path_buf(),
            center,
            config_toml: setup.config_toml.clone(),
            assets_dir: None,
            limits: setup.limits.clone(),
            clock: setup.clock.clone(),
            secure_cookies: setup.secure_cookies,
            tls: setup.tls.clone(),
            trusted_proxies: setup.trusted_proxies.clone(),
            public_url: None,
        },
    )
    .await
    .expect("server starts");
    wait_day_open(&server).await;
    server
}

/// The broker opens the day as it starts; wait until that is durable, so a test's first
/// snapshot already has the day and no `day_opened` event arrives in the middle of it.
async fn wait_day_open(server: &Server) {
    let mut rx = server.app.hub.subscribe();
    let open = server
        .app
        .broker
        .read(|v| v.sites.iter().all(|s| s.day().is_some()))
        .await
        .expect("broker answers");
    if open {
        return;
    }
    within("the day to open", async {
        loop {
            let out = rx.recv().await.expect("hub open");
            if out.json.contains("\"day_opened\"") {
                return;
            }
        }
    })
    .await;
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_with(Setup::default()).await
    }

    pub async fn start_with_limits(limits: Limits) -> TestServer {
        TestServer::start_with(Setup {
            limits,
            ..Setup::default()
        })
        .await
    }

    pub async fn start_with(setup: Setup) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let server = launch(dir.path(), &setup).await;
        let first = server
            .first_start
            .clone()
            .expect("a fresh data folder is a first start");
        TestServer {
            base: server.base_url(),
            server: Some(server),
            dir,
            first,
            setup,
        }
    }

    pub fn server(&self) -> &Server {
        self.server.as_ref().expect("server running")
    }

    /// Stops the server the way `luot serve` does on SIGTERM, waiting until it has stopped.
    pub async fn shutdown(&mut self) {
        if let Some(s) = self.server.take() {
            within("the server to shut down", s.shutdown()).await;
        }
    }

    /// Shuts the server down and starts it again on the same data folder (on a new port).
    pub async fn restart(&mut self) {
        self.shutdown().await;
        let server = launch(self.dir.path(), &self.setup).await;
        assert!(
            server.first_start.is_none(),
            "a restart on an existing data folder must not be a first start"
        );
        self.base = server.base_url();
        self.server = Some(server);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn ws_url(&self) -> String {
        format!("{}/ws", self.base.replacen("http://", "ws://", 1))
    }

    pub fn db_path(&self) -> std::path::PathBuf {
        self.dir.path().join("luot.db")
    }

    /// A client with no credentials (and a cookie store, for logins).
    pub fn http(&self) -> Http {
        Http::new(&self.base)
    }

    /// A client presenting a device token (`Authorization: Bearer`).
    pub fn device_http(&self, token: &str) -> Http {
        Http::new(&self.base).with_header("authorization", &format!("Bearer {token}"))
    }

    /// A client that sends exactly this session cookie and keeps no cookie store.
    pub fn cookie_http(&self, session_token: &str) -> Http {
        Http::plain(&self.base).with_header("cookie", &format!("luot_session={session_token}"))
    }

    /// Logs in; panics unless it succeeds. Returns the client and the session token.
    pub async fn login(&self, login: &str, password: &str) -> (Http, String) {
        let http = self.http();
        let r = http
            .post(
                "/api/v1/login",
                &json!({"login": login, "password": password}),
            )
            .await;
        assert_eq!(r.status, 200, "login {login}: {}", r.text);
        let token = r.session_cookie().expect("login sets the session cookie");
        (http, token)
    }

    /// The first admin, logged in with the password the first start printed.
    pub async fn admin(&self) -> Http {
        let f = &self.first;
        self.login(&f.admin_login, &f.admin_password).await.0
    }

    /// Creates an official for `counters` through the admin API and logs them in.
    pub async fn add_official(&self, admin: &Http, login: &str, counters: &[&str]) -> Official {
        let r = admin
            .post(
                "/api/v1/admin/users",
                &json!({
                    "login": login,
                    "display_name": format!("Cán bộ {login}"),
                    "role": "official",
                    "password": PASSWORD,
                    "counters": counters,
                }),
            )
            .await;
        assert_eq!(r.status, 201, "creating {login}: {}", r.text);
        let (http, session) = self.login(login, PASSWORD).await;
        Official {
            login: login.to_string(),
            http,
            session,
        }
    }

    /// Pairs a device through the admin API; returns (id, token).
    pub async fn pair_device(
        &self,
        admin: &Http,
        kind: &str,
        name: &str,
        counter: Option<&str>,
    ) -> (i64, String) {
        let mut body = json!({"kind": kind, "name": name});
        if let Some(c) = counter {
            body["counter"] = json!(c);
        }
        let r = admin.post("/api/v1/admin/devices", &body).await;
        assert_eq!(r.status, 201, "pairing {kind} {name}: {}", r.text);
        let v = r.json();
        (
            v["id"].as_i64().expect("device id"),
            v["token"].as_str().expect("device token").to_string(),
        )
    }

    /// A kiosk takes a ticket over REST; panics unless it is issued. Returns the command result
    /// (`seq`, `ticket`, `token`, `url`).
    pub async fn issue(&self, kiosk_token: &str, service: &str) -> Value {
        let r = self.try_issue(kiosk_token, service).await;
        assert_eq!(r.status, 201, "issuing {service}: {}", r.text);
        r.json()
    }

    pub async fn try_issue(&self, kiosk_token: &str, service: &str) -> Resp {
        self.device_http(kiosk_token)
            .post(
                &format!("/api/v1/sites/{SITE}/tickets"),
                &json!({"service": service}),
            )
            .await
    }

    /// Opens a websocket and says hello; panics unless the server welcomes it and sends a
    /// snapshot.
    pub async fn ws(&self, role: &str, who: Who<'_>) -> WsClient {
        let mut c = self.ws_hello(role, who, None).await.unwrap_or_else(|r| {
            panic!("{role} socket refused: {r:?}");
        });
        c.expect_snapshot().await;
        c
    }

    /// Opens a websocket and says hello (with `resume_from` if given). The caller reads what
    /// follows the welcome.
    pub async fn ws_hello(
        &self,
        role: &str,
        who: Who<'_>,
        resume_from: Option<u64>,
    ) -> Result<WsClient, Refused> {
        let mut headers = Vec::new();
        let mut hello = json!({"type": "hello", "role": role});
        match who {
            Who::Anonymous => {}
            Who::Device(t) => hello["device_token"] = json!(t),
            Who::Ticket(t) => hello["ticket_token"] = json!(t),
            Who::Session(t) => headers.push(("cookie".to_string(), format!("luot_session={t}"))),
        }
        if let Some(s) = resume_from {
            hello["resume_from"] = json!(s);
        }
        let mut c = WsClient::connect(&self.ws_url(), &headers)
            .await
            .unwrap_or_else(|status| panic!("websocket upgrade refused with {status}"));
        c.send_json(&hello).await;
        c.welcome().await.map(|()| c)
    }

    /// Everything in the database a refused request must not have changed.
    pub fn db_state(&self) -> DbState {
        DbState::read(&self.db_path())
    }
}

/// Who a websocket says it is.
#[derive(Debug, Clone, Copy)]
pub enum Who<'a> {
    Anonymous,
    /// A paired device's token in the hello.
    Device(&'a str),
    /// A phone's ticket token in the hello.
    Ticket(&'a str),
    /// An official's session cookie on the upgrade request.
    Session(&'a str),
}

/// A logged-in official.
#[derive(Debug, Clone)]
pub struct Official {
    pub login: String,
    pub http: Http,
    /// The session cookie's value.
    pub session: String,
}

// ----- HTTP -----

#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
    base: String,
    headers: Vec<(String, String)>,
}

/// A response, read whole.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("response is not JSON ({e}): {}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ASCII header").to_string())
    }

    /// The value of the `luot_session` cookie this response sets.
    pub fn session_cookie(&self) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| c.strip_prefix("luot_session="))
            .map(|rest| rest.split(';').next().unwrap_or("").to_string())
    }

    /// The stable error code of a JSON error body.
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or("").to_string()
    }
}

impl Http {
    pub fn new(base: &str) -> Http {
        Http {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .build()
                .expect("http client"),
            base: base.to_string(),
            headers: Vec::new(),
        }
    }

    /// With a client of the test's own making (e.g. one that trusts a test certificate).
    pub fn from_client(client: reqwest::Client, base: &str) -> Http {
        Http {
            client,
            base: base.to_string(),
            headers: Vec::new(),
        }
    }

    /// Without a cookie store: only the headers given are sent.
    pub fn plain(base: &str) -> Http {
        Http {
            client: reqwest::Client::new(),
            base: base.to_string(),
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Http {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Points the same client (and its cookies) at a restarted server.
    pub fn rebase(&mut self, base: &str) {
        self.base = base.to_string();
    }

    async fn send(&self, what: &str, req: reqwest::RequestBuilder) -> Resp {
        let mut req = req;
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        let res = within(what, req.send())
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = within(what, res.text())
            .await
            .unwrap_or_else(|e| panic!("{what}: reading the body: {e}"));
        let (method, path) = what.split_once(' ').unwrap_or((what, ""));
        let content_type = headers.get("content-type").and_then(|v| v.to_str().ok());
        openapi_check::enforce(method, path, status, content_type, &text);
        Resp {
            status,
            headers,
            text,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        let url = format!("{}{path}", self.base);
        self.send(&format!("GET {path}"), self.client.get(url))
            .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        let url = format!("{}{path}", self.base);
        self.send(&format!("POST {path}"), self.client.post(url).json(body))
            .await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Resp {
        let url = format!("{}{path}", self.base);
        self.send(&format!("PUT {path}"), self.client.put(url).json(body))
            .await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Resp {
        let url = format!("{}{path}", self.base);
        self.send(&format!("PATCH {path}"), self.client.patch(url).json(body))
            .await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        let url = format!("{}{path}", self.base);
        self.send(&format!("DELETE {path}"), self.client.delete(url))
            .await
    }

    /// PUTs these exact bytes (a file upload, e.g. a voice clip).
    pub async fn put_bytes(&self, path: &str, body: Vec<u8>, content_type: &str) -> Resp {
        let url = format!("{}{path}", self.base);
        self.send(
            &format!("PUT {path}"),
            self.client
                .put(url)
                .header("content-type", content_type)
                .body(body),
        )
        .await
    }

    /// POSTs these exact bytes as `application/json`.
    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> Resp {
        let url = format!("{}{path}", self.base);
        self.send(
            &format!("POST {path}"),
            self.client
                .post(url)
                .header("content-type", "application/json")
                .body(body),
        )
        .await
    }
}

// ----- websockets -----

type Stream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Why the server would not take a socket after its hello.
#[derive(Debug, Clone)]
pub struct Refused {
    /// The `error` message's body, if one came.
    pub error: Option<Value>,
    /// The close code, if a close frame came.
    pub close: Option<u16>,
}

impl Refused {
    pub fn code(&self) -> &str {
        self.error
            .as_ref()
            .and_then(|e| e["code"].as_str())
            .unwrap_or("")
    }
}

/// A websocket client: sends JSON, receives JSON with timeouts, answers commands in order and
/// keeps whatever arrived while it waited for a reply.
#[derive(Debug)]
pub struct WsClient {
    ws: Stream,
    pending: VecDeque<Value>,
    next_id: u64,
    /// The `welcome` message.
    pub welcome: Value,
    /// The last `seq` seen (snapshot or event).
    pub seq: u64,
    /// The last snapshot received.
    pub snapshot: Option<Value>,
    /// `estimates` messages come whenever the server's estimator finishes a pass (protocol
    /// §8.7), between any two others: kept aside here unless `keep_estimates`, so that tests
    /// about the event stream read the stream.
    pub estimates: Vec<Value>,
    pub keep_estimates: bool,
}

/// Most `estimates` messages a test client keeps aside.
const ESTIMATES_KEPT_MAX: usize = 256;

/// What arrived on a socket until it closed.
#[derive(Debug, Clone)]
pub struct Closed {
    pub messages: Vec<Value>,
    /// The code of the server's close frame; `None` if the connection just ended.
    pub code: Option<u16>,
    pub reason: String,
    /// Whether the server sent a close frame at all (an empty one has no code).
    pub ended_with_close_frame: bool,
}

impl WsClient {
    /// Upgrades `/ws` with these extra headers; `Err(status)` when the server refuses the
    /// upgrade.
    pub async fn connect(url: &str, headers: &[(String, String)]) -> Result<WsClient, u16> {
        let mut req = url.into_client_request().expect("websocket request");
        for (k, v) in headers {
            req.headers_mut().insert(
                tungstenite::http::HeaderName::from_bytes(k.as_bytes()).expect("header name"),
                HeaderValue::from_str(v).expect("header value"),
            );
        }
        match within(
            "the websocket upgrade",
            tokio_tungstenite::connect_async(req),
        )
        .await
        {
            Ok((ws, _)) => Ok(WsClient {
                ws,
                pending: VecDeque::new(),
                next_id: 1,
                welcome: Value::Null,
                seq: 0,
                snapshot: None,
                estimates: Vec::new(),
                keep_estimates: false,
            }),
            Err(tungstenite::Error::Http(res)) => Err(res.status().as_u16()),
            Err(e) => panic!("websocket upgrade failed: {e}"),
        }
    }

    /// Reads the answer to a hello: `Ok` on `welcome`, else what the refusal looked like.
    async fn welcome(&mut self) -> Result<(), Refused> {
        match self.recv_frame().await {
            Some(Frame::Json(m)) if m["type"] == "welcome" => {
                assert_eq!(m["v"], 1, "welcome carries the protocol version: {m}");
                self.welcome = m;
                Ok(())
            }
            Some(Frame::Json(m)) if m["type"] == "error" => {
                let closed = self.expect_close().await;
                Err(Refused {
                    error: Some(m["error"].clone()),
                    close: closed.code,
                })
            }
            Some(Frame::Close(code, _)) => Err(Refused {
                error: None,
                close: code,
            }),
            None => Err(Refused {
                error: None,
                close: None,
            }),
            Some(Frame::Json(m)) => panic!("expected welcome, got {m}"),
        }
    }

    pub async fn send_json(&mut self, v: &Value) {
        self.send(Message::text(v.to_string())).await;
    }

    pub async fn send(&mut self, m: Message) {
        within("sending on the websocket", self.ws.send(m))
            .await
            .expect("websocket send");
    }

    /// Sends a text frame with these bytes, even if they are not UTF-8.
    pub async fn send_raw_text(&mut self, bytes: &[u8]) {
        use tungstenite::protocol::frame::Frame as RawFrame;
        use tungstenite::protocol::frame::coding::{Data, OpCode};
        let frame = RawFrame::message(bytes.to_vec(), OpCode::Data(Data::Text), true);
        self.send(Message::Frame(frame)).await;
    }

    /// Sends one message as several text frames (a text frame, then continuations), each with
    /// these bytes, even if they are not UTF-8.
    pub async fn send_raw_fragments(&mut self, parts: &[&[u8]]) {
        use tungstenite::protocol::frame::Frame as RawFrame;
        use tungstenite::protocol::frame::coding::{Data, OpCode};
        for (i, part) in parts.iter().enumerate() {
            let opcode = if i == 0 { Data::Text } else { Data::Continue };
            let last = i + 1 == parts.len();
            let frame = RawFrame::message(part.to_vec(), OpCode::Data(opcode), last);
            self.send(Message::Frame(frame)).await;
        }
    }

    /// The next frame from the socket (pings skipped), `None` when the connection ended.
    async fn recv_frame(&mut self) -> Option<Frame> {
        loop {
            let next = within("a websocket message", self.ws.next()).await;
            match next {
                None => return None,
                Some(Err(tungstenite::Error::ConnectionClosed))
                | Some(Err(tungstenite::Error::AlreadyClosed)) => return None,
                Some(Err(tungstenite::Error::Protocol(_))) => return None,
                Some(Err(tungstenite::Error::Io(_))) => return None,
                Some(Err(e)) => panic!("websocket error: {e}"),
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(&t)
                        .unwrap_or_else(|e| panic!("server sent non-JSON text ({e}): {t}"));
                    if let Some(s) = v["seq"].as_u64() {
                        if s > 0 {
                            self.seq = self.seq.max(s);
                        }
                    }
                    if v["type"] == "snapshot" {
                        self.seq = v["seq"].as_u64().expect("snapshot seq");
                        self.snapshot = Some(v.clone());
                    }
                    if v["type"] == "estimates" && !self.keep_estimates {
                        if self.estimates.len() >= ESTIMATES_KEPT_MAX {
                            self.estimates.remove(0);
                        }
                        self.estimates.push(v);
                        continue;
                    }
                    return Some(Frame::Json(v));
                }
                Some(Ok(Message::Close(f))) => {
                    return Some(Frame::Close(
                        f.as_ref().map(|f| u16::from(f.code)),
                        f.map(|f| f.reason.to_string()).unwrap_or_default(),
                    ));
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                Some(Ok(Message::Binary(b))) => panic!("server sent a binary frame: {b:?}"),
            }
        }
    }

    /// The next message off the socket, ignoring what was kept back.
    async fn recv_socket(&mut self) -> Value {
        match self.recv_frame().await {
            Some(Frame::Json(v)) => v,
            Some(Frame::Close(code, reason)) => {
                panic!(
                    "socket closed by the server ({code:?} {reason}) while a message was awaited"
                )
            }
            None => panic!("socket ended while a message was awaited"),
        }
    }

    /// The next message (what arrived while a command waited for its reply comes first).
    pub async fn recv(&mut self) -> Value {
        match self.pending.pop_front() {
            Some(v) => v,
            None => self.recv_socket().await,
        }
    }

    /// The next message, which must be an event.
    pub async fn next_event(&mut self) -> Value {
        let m = self.recv().await;
        assert_eq!(m["type"], "event", "expected an event, got {m}");
        m
    }

    /// The next message, which must be a snapshot.
    pub async fn expect_snapshot(&mut self) -> Value {
        let m = self.recv().await;
        assert_eq!(m["type"], "snapshot", "expected a snapshot, got {m}");
        assert_eq!(m["v"], 1, "{m}");
        m
    }

    /// Events up to and including `seq`, in the order they came.
    pub async fn events_until(&mut self, seq: u64) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            let e = self.next_event().await;
            let s = e["seq"].as_u64().expect("event seq");
            out.push(e);
            if s >= seq {
                return out;
            }
        }
    }

    /// Sends a command and waits for its reply; everything else that arrives meanwhile is kept
    /// for [`recv`](Self::recv).
    pub async fn command(&mut self, command: Value) -> Value {
        let id = format!("r{}", self.next_id);
        self.next_id += 1;
        self.send_json(&json!({"type": "command", "id": id, "command": command}))
            .await;
        loop {
            let m = self.recv_socket().await;
            if m["type"] == "reply" && m["id"] == id.as_str() {
                assert_eq!(m["v"], 1, "{m}");
                return m;
            }
            self.pending.push_back(m);
        }
    }

    /// A command that must succeed; returns its `result`.
    pub async fn ok(&mut self, command: Value) -> Value {
        let r = self.command(command.clone()).await;
        assert_eq!(r["ok"], true, "{command} was refused: {r}");
        r["result"].clone()
    }

    /// A command that must be refused; returns the error code.
    pub async fn refused(&mut self, command: Value) -> String {
        let r = self.command(command.clone()).await;
        assert_eq!(r["ok"], false, "{command} should have been refused: {r}");
        r["error"]["code"].as_str().unwrap_or("").to_string()
    }

    /// Reads until the server closes the socket; returns what came and the close code.
    pub async fn expect_close(&mut self) -> Closed {
        let mut messages: Vec<Value> = self.pending.drain(..).collect();
        loop {
            match self.recv_frame().await {
                Some(Frame::Json(v)) => messages.push(v),
                Some(Frame::Close(code, reason)) => {
                    return Closed {
                        messages,
                        code,
                        reason,
                        ended_with_close_frame: true,
                    };
                }
                None => {
                    return Closed {
                        messages,
                        code: None,
                        reason: String::new(),
                        ended_with_close_frame: false,
                    };
                }
            }
        }
    }

    /// Sends these messages in one write (fed, then flushed once), as a flooding client would.
    pub async fn send_burst(&mut self, messages: Vec<Message>) {
        for m in messages {
            within("feeding the websocket", self.ws.feed(m))
                .await
                .expect("websocket feed");
        }
        within("flushing the websocket", self.ws.flush())
            .await
            .expect("websocket flush");
    }

    /// Starts the close handshake from this side with this close frame (code and reason; `None`
    /// for an empty close), then reads until the connection ends: the server's answering close
    /// frame is in `code`/`reason`, `None` if the connection ended without one.
    pub async fn close_with(&mut self, frame: Option<(u16, &str)>) -> Closed {
        use tungstenite::protocol::CloseFrame;
        use tungstenite::protocol::frame::coding::CloseCode;
        let frame = frame.map(|(code, reason)| CloseFrame {
            code: CloseCode::from(code),
            reason: reason.to_string().into(),
        });
        within("sending a close frame", self.ws.close(frame))
            .await
            .expect("sending the close frame");
        self.expect_close().await
    }

    /// Closes the socket from this side.
    pub async fn close(mut self) {
        let _ = within("closing the websocket", self.ws.close(None)).await;
    }
}

enum Frame {
    Json(Value),
    Close(Option<u16>, String),
}

// ----- the database, read-only -----

/// What refused requests must leave alone: the event log, the tickets, users and devices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbState {
    pub events: i64,
    pub max_seq: Option<i64>,
    /// Every event, whole: seq, kind, ticket and body.
    pub log: Vec<String>,
    pub config_versions: i64,
    pub tickets: Vec<String>,
    pub users: Vec<String>,
    pub devices: Vec<String>,
}

impl DbState {
    pub fn read(path: &Path) -> DbState {
        let c = rusqlite::Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .expect("open luot.db read-only");
        let (events, max_seq) = c
            .query_row("SELECT count(*), max(seq) FROM events", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .expect("events");
        DbState {
            events,
            max_seq,
            log: rows(
                &c,
                "SELECT seq, site, day, kind, ticket, body FROM events ORDER BY seq",
            ),
            config_versions: c
                .query_row("SELECT count(*) FROM config_versions", [], |r| r.get(0))
                .expect("config versions"),
            tickets: rows(&c, "SELECT * FROM tickets ORDER BY site, id"),
            users: rows(
                &c,
                "SELECT login, role, counters, disabled, password_hash FROM users ORDER BY login",
            ),
            devices: rows(&c, "SELECT * FROM devices ORDER BY id"),
        }
    }
}

fn rows(c: &rusqlite::Connection, sql: &str) -> Vec<String> {
    let mut stmt = c.prepare(sql).expect(sql);
    let n = stmt.column_count();
    stmt.query_map([], |r| {
        let mut cols = Vec::with_capacity(n);
        for i in 0..n {
            let v: rusqlite::types::Value = r.get(i)?;
            cols.push(format!("{v:?}"));
        }
        Ok(cols.join("|"))
    })
    .expect(sql)
    .collect::<Result<_, _>>()
    .expect(sql)
}

/// `SELECT count(*) FROM events WHERE kind = ?`
pub fn count_events(path: &Path, kind: &str) -> i64 {
    let c = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open luot.db read-only");
    c.query_row("SELECT count(*) FROM events WHERE kind = ?1", [kind], |r| {
        r.get(0)
    })
    .expect("count events")
}

// ----- reliability tests: crash, reconnect storm, clock, soak -----

/// True when the long versions of the reliability tests run: `LUOT_LONG=1`.
pub fn long_run() -> bool {
    std::env::var("LUOT_LONG").is_ok_and(|v| v == "1")
}

/// The seed of a randomized test: `LUOT_SEED` when set (to replay a failure), else new each run.
/// Printed, so a failing run can be replayed.
pub fn test_seed(test: &str) -> u64 {
    let seed = match std::env::var("LUOT_SEED") {
        Ok(s) => s
            .parse()
            .unwrap_or_else(|_| panic!("LUOT_SEED must be an integer, got {s:?}")),
        Err(_) => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock after 1970")
                .as_nanos() as u64;
            nanos ^ u64::from(std::process::id()).rotate_left(32)
        }
    };
    println!("{test}: seed {seed} (replay with LUOT_SEED={seed})");
    seed
}

/// The seeded generator of the core's simulator (SplitMix64): the same seed gives the same
/// choices.
pub use luot_core::sim::Rng;

/// A process's resident memory in KiB (`VmRSS` in `/proc/<pid>/status`).
pub fn rss_kib(pid: u32) -> u64 {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS in {path}"))
}

/// The `luot` binary cargo built beside this test executable (`target/debug/luot`).
pub fn luot_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/debug/deps/..");
    let bin = dir.join(format!("luot{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "the luot binary is not built ({} is missing): run `cargo build -p luot` first",
        bin.display()
    );
    bin
}

/// An instant as RFC 3339 in UTC with milliseconds, e.g. for `luot serve --start-clock`.
pub fn rfc3339_utc(ms: i64) -> String {
    let day = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (y, m, d) = luot_core::Day(day as i32).ymd();
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

/// The built-in center with room for heavy runs: every service takes `daily_cap` tickets a
/// day and the site `tickets_per_day_max` (the defaults, 500 and 10 000, are a real center's).
pub fn roomy_config_toml(daily_cap: u32, tickets_per_day_max: u32) -> String {
    let mut out = String::new();
    for line in luot_proto::config::DEFAULT_CONFIG_TOML.lines() {
        if line.starts_with("daily_cap") {
            continue;
        }
        if line.starts_with("tickets_per_day_max") {
            out.push_str(&format!("tickets_per_day_max = {tickets_per_day_max}\n"));
            continue;
        }
        out.push_str(line);
        out.push('\n');
        if line == "[[site.service]]" {
            out.push_str(&format!("daily_cap = {daily_cap}\n"));
        }
    }
    out
}

/// What the database says about itself after a test: `PRAGMA integrity_check` and whether the
/// event log runs 1, 2, … without a gap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogHealth {
    pub integrity: String,
    pub events: i64,
    pub min_seq: i64,
    pub max_seq: i64,
}

impl LogHealth {
    pub fn read(path: &Path) -> LogHealth {
        let c = rusqlite::Connection::open(path).expect("open luot.db");
        let integrity: String = c
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .expect("integrity_check");
        let (events, min_seq, max_seq) = c
            .query_row(
                "SELECT count(*), coalesce(min(seq), 0), coalesce(max(seq), 0) FROM events",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .expect("events");
        LogHealth {
            integrity,
            events,
            min_seq,
            max_seq,
        }
    }

    /// `seq` runs 1..=max with nothing missing (and, the key being unique, nothing twice).
    pub fn gap_free(&self) -> bool {
        self.events == 0 || (self.min_seq == 1 && self.max_seq == self.events)
    }
}

/// A service's line (waiting count, estimate) in a `snapshot` message.
pub fn service_in<'a>(snapshot: &'a Value, service: &str) -> &'a Value {
    snapshot["snapshot"]["services"]
        .as_array()
        .expect("the snapshot lists services")
        .iter()
        .find(|st| st["service"] == service)
        .unwrap_or_else(|| panic!("no service {service} in the snapshot"))
}

/// The `p`-th percentile (0–100) of sorted values, nearest rank.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A websocket for tests that kill servers and cut connections: the end of the connection is
/// an answer (`None`/`false`), not a panic.
#[derive(Debug)]
pub struct Socket<S> {
    ws: WebSocketStream<S>,
}

/// Opens `url` with these extra headers (e.g. a session cookie).
pub async fn open_socket(
    url: &str,
    headers: &[(String, String)],
) -> Result<Socket<MaybeTlsStream<TcpStream>>, String> {
    let mut req = url.into_client_request().map_err(|e| e.to_string())?;
    for (k, v) in headers {
        req.headers_mut().insert(
            tungstenite::http::HeaderName::from_bytes(k.as_bytes()).expect("header name"),
            HeaderValue::from_str(v).expect("header value"),
        );
    }
    match tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(req)).await {
        Ok(Ok((ws, _))) => Ok(Socket { ws }),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no websocket upgrade within {WAIT:?}")),
    }
}

impl<S> Socket<S>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    pub fn new(ws: WebSocketStream<S>) -> Socket<S> {
        Socket { ws }
    }

    /// False when the connection is gone.
    pub async fn send_json(&mut self, v: &Value) -> bool {
        self.ws.send(Message::text(v.to_string())).await.is_ok()
    }

    /// The next JSON message (pings skipped); `None` when the connection ended or broke.
    pub async fn next_json(&mut self) -> Option<Value> {
        loop {
            match self.ws.next().await? {
                Ok(Message::Text(t)) => {
                    return Some(
                        serde_json::from_str(&t)
                            .unwrap_or_else(|e| panic!("server sent non-JSON text ({e}): {t}")),
                    );
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    /// Sends `hello` and reads the `welcome`; `None` if the server refused or went away.
    pub async fn hello(&mut self, hello: &Value) -> Option<Value> {
        if !self.send_json(hello).await {
            return None;
        }
        let m = self.next_json().await?;
        (m["type"] == "welcome").then_some(m)
    }

    /// Sends a command and returns its reply, passing every other message to `other`; `None`
    /// when the connection ended first: the command may or may not have happened.
    pub async fn command(
        &mut self,
        id: &str,
        command: Value,
        mut other: impl FnMut(&Value),
    ) -> Option<Value> {
        let msg = json!({"type": "command", "id": id, "command": command});
        if !self.send_json(&msg).await {
            return None;
        }
        loop {
            let m = self.next_json().await?;
            if m["type"] == "reply" && m["id"] == id {
                return Some(m);
            }
            other(&m);
        }
    }

    /// Drops the connection without a close handshake, as a crashed or unplugged client does.
    pub fn abort(self) {
        drop(self.ws);
    }
}

/// Tells long-running client tasks to stop (the harness has no tokio-util).
#[derive(Debug, Clone)]
pub struct Stop(tokio::sync::watch::Receiver<bool>);

/// A stop signal: send `true` on the sender to stop every clone of the receiver.
pub fn stop_signal() -> (tokio::sync::watch::Sender<bool>, Stop) {
    let (tx, rx) = tokio::sync::watch::channel(false);
    (tx, Stop(rx))
}

impl Stop {
    pub fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    /// Returns once the signal is given (or its sender is gone).
    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|s| *s).await;
    }
}

impl WsClient {
    /// The next message, waiting up to `limit` instead of [`WAIT`]: for what the server does on
    /// its own schedule (the broker looks at the clock every 10 s).
    pub async fn recv_within(&mut self, limit: Duration) -> Value {
        if let Some(v) = self.pending.pop_front() {
            return v;
        }
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let next = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("no message within {limit:?}"));
            match next {
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(&t)
                        .unwrap_or_else(|e| panic!("server sent non-JSON text ({e}): {t}"));
                    if let Some(s) = v["seq"].as_u64().filter(|s| *s > 0) {
                        self.seq = self.seq.max(s);
                    }
                    if v["type"] == "snapshot" {
                        self.seq = v["seq"].as_u64().expect("snapshot seq");
                        self.snapshot = Some(v.clone());
                    }
                    return v;
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                other => panic!("socket ended while a message was awaited: {other:?}"),
            }
        }
    }
}

/// The password in a first-admin-password file (`luot serve` writes one on a first start whose
/// standard output is not a terminal; its banner prints the file's path).
pub fn first_admin_password_in(file: &Path) -> String {
    let text =
        std::fs::read_to_string(file).unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
    text.lines()
        .find_map(|l| l.strip_prefix("password: "))
        .unwrap_or_else(|| panic!("no \"password: \" line in {}:\n{text}", file.display()))
        .to_string()
}

/// `luot serve` (the binary, [`luot_binary`]) as a child process on a data folder, listening on
/// a free loopback port, its log on standard error written to a file.
#[derive(Debug)]
pub struct ServeProcess {
    child: tokio::process::Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The admin password a first start prints; `None` on a restart.
    pub first_password: Option<String>,
}

impl ServeProcess {
    /// Starts `luot serve --data DATA --start-clock CLOCK ARGS…` and waits until it has printed
    /// where it listens and what it created.
    pub async fn start(data: &Path, log: &Path, clock_ms: i64, args: &[&str]) -> ServeProcess {
        ServeProcess::start_wrapped(&[], data, log, clock_ms, args).await
    }

    /// As [`ServeProcess::start`], run through `wrapper` (a command that ends by executing its
    /// arguments, e.g. `unshare … sh -c '…; exec "$@"'`), so the server keeps the child's pid.
    pub async fn start_wrapped(
        wrapper: &[String],
        data: &Path,
        log: &Path,
        clock_ms: i64,
        args: &[&str],
    ) -> ServeProcess {
        use tokio::io::AsyncBufReadExt;
        let stderr = std::fs::File::create(log).expect("server log file");
        let mut command = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut c = tokio::process::Command::new(program);
                c.args(rest).arg(luot_binary());
                c
            }
            None => tokio::process::Command::new(luot_binary()),
        };
        let mut child = command
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .args(["--start-clock", &rfc3339_utc(clock_ms)])
            .args(args)
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::from(stderr))
            .kill_on_drop(true)
            .spawn()
            .expect("spawn luot serve");
        let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut next = async || {
            within("a line from luot serve", lines.next_line())
                .await
                .expect("read stdout")
                .unwrap_or_else(|| panic!("luot serve exited early; see {}", log.display()))
        };
        let first = next().await;
        let base = first
            .strip_prefix("Luot listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_string();
        let mut first_password = None;
        loop {
            let line = next().await;
            // Standard output is a pipe, so a first start writes the admin password to a file
            // and prints where it is (crates/luot/src/first_admin.rs).
            if let Some((_, file)) = line.split_once("password file: ") {
                let file = Path::new(file.trim());
                // A server in its own mount namespace (storage_faults.rs) wrote it where only
                // it sees it: read it through that process's root.
                let seen = if file.exists() {
                    file.to_path_buf()
                } else {
                    let pid = child.id().expect("luot serve running");
                    std::path::PathBuf::from(format!("/proc/{pid}/root"))
                        .join(file.strip_prefix("/").unwrap_or(file))
                };
                first_password = Some(first_admin_password_in(&seen));
                break;
            }
            if line.contains("Devices keep their pairing") {
                break;
            }
        }
        // Keep reading, so that nothing the server prints later can block it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        ServeProcess {
            child,
            base,
            first_password,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("luot serve running")
    }

    pub fn ws_url(&self) -> String {
        format!("{}/ws", self.base.replacen("http://", "ws://", 1))
    }

    /// The first admin, logged in with the password this (first) start printed.
    pub async fn admin(&self) -> Http {
        let password = self.first_password.clone().expect("a first start");
        let admin = Http::new(&self.base);
        let r = admin
            .post(
                "/api/v1/login",
                &json!({"login": "admin", "password": password}),
            )
            .await;
        assert_eq!(r.status, 200, "admin login: {}", r.text);
        admin
    }

    /// SIGKILL: no shutdown, no flush, no goodbye.
    pub async fn kill(mut self) {
        within("luot serve to die", self.child.kill())
            .await
            .expect("SIGKILL luot serve");
    }

    /// SIGTERM; it must exit cleanly.
    pub async fn terminate(mut self) {
        let pid = self.pid().to_string();
        let ok = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        assert!(ok.success());
        let status = within("luot serve to stop", self.child.wait())
            .await
            .expect("wait");
        assert!(status.success(), "luot serve after SIGTERM: {status:?}");
    }
}

/// Pairs a device through the admin API; returns its token.
pub async fn pair(admin: &Http, kind: &str, name: &str) -> String {
    let r = admin
        .post(
            "/api/v1/admin/devices",
            &json!({"kind": kind, "name": name}),
        )
        .await;
    assert_eq!(r.status, 201, "pairing {kind} {name}: {}", r.text);
    r.json()["token"]
        .as_str()
        .expect("device token")
        .to_string()
}
