//! The Luot server: the broker task that owns the queues, the store's writer thread, the
//! websocket hub, the REST API, accounts and the embedded web clients.

pub mod access_log;
pub mod address;
pub mod assets;
pub mod auth;
pub mod backups;
pub mod broker;
pub mod clips;
pub mod clock;
pub mod config_in_force;
pub mod conn_limits;
pub mod consoles;
pub mod dispatch;
pub mod error;
pub mod estimates;
pub mod http;
pub mod hub;
pub mod json_body;
pub mod metrics;
pub mod ogg;
pub mod printer;
pub mod proxy;
pub mod report;
pub mod rest;
pub mod standing;
pub mod tls;
pub mod webhooks;
pub mod ws;

use anyhow::Context;
use auth::{LoginBackoff, RateLimiter, SessionActivity};
use broker::{BrokerHandle, SiteRuntime};
use clock::Clock;
use hub::Hub;
use luot_proto::config::CenterConfig;
use luot_store::{Accounts, NewDevice, Store, User};
use metrics::Metrics;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The login of the admin account a first start creates.
pub const FIRST_ADMIN_LOGIN: &str = "admin";

/// Limits on everything a client can make the server hold. Defaults suit one center; the load
/// generator raises the issue rate.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Websocket connections at once, all kinds.
    pub ws_connections_max: usize,
    /// Of those, sockets that proved no identity (public displays, curious phones).
    pub ws_anonymous_max: usize,
    /// Messages a socket may send per second, and in a burst.
    pub ws_messages_per_s: f64,
    pub ws_messages_burst: f64,
    /// Tickets one kiosk (or address) may take per second, and in a burst.
    pub issue_per_s: f64,
    pub issue_burst: f64,
    /// Events a socket may fall behind before it is resynced with a snapshot.
    pub broadcast_capacity: usize,
    /// Events kept for clients resuming after a short disconnect.
    pub resume_buffer: usize,
    /// Largest REST body, in bytes.
    pub http_body_max: usize,
    /// Header and body read timeouts, connections per address (`conn_limits`).
    pub http: conn_limits::HttpLimits,
    /// Time a socket has to say hello (`ws::HELLO_TIMEOUT`); shorter in tests.
    pub ws_hello_timeout: std::time::Duration,
    /// How often a socket is pinged, and how long it may stay silent before it is closed
    /// (`ws::PING_INTERVAL`, `ws::IDLE_TIMEOUT`); shorter in tests.
    pub ws_ping_interval: std::time::Duration,
    pub ws_idle_timeout: std::time::Duration,
    /// Pending webhook deliveries the outbox holds (`luot_store::OUTBOX_PENDING_MAX`).
    pub webhook_outbox_max: u64,
    /// A failed delivery's first retry (`webhooks::RETRY_FIRST`) and how long it is retried
    /// (`webhooks::RETRY_WINDOW_MS`); shorter in tests.
    pub webhook_retry_first: std::time::Duration,
    pub webhook_retry_window_ms: i64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            ws_connections_max: 20_000,
            ws_anonymous_max: 1_000,
            ws_messages_per_s: 20.0,
            ws_messages_burst: 60.0,
            issue_per_s: 1.0,
            issue_burst: 10.0,
            broadcast_capacity: 1_024,
            resume_buffer: 4_096,
            http_body_max: luot_proto::CLIENT_MESSAGE_BYTES_MAX,
            http: conn_limits::HttpLimits::default(),
            ws_hello_timeout: ws::HELLO_TIMEOUT,
            ws_ping_interval: ws::PING_INTERVAL,
            ws_idle_timeout: ws::IDLE_TIMEOUT,
            webhook_outbox_max: luot_store::OUTBOX_PENDING_MAX,
            webhook_retry_first: webhooks::RETRY_FIRST,
            webhook_retry_window_ms: webhooks::RETRY_WINDOW_MS,
        }
    }
}

#[derive(Debug)]
pub struct Options {
    /// Folder of the database and the server's secret.
    pub data_dir: PathBuf,
    pub center: CenterConfig,
    /// The configuration's text, recorded in the database's configuration history.
    pub config_toml: String,
    /// Serve the web clients from this folder instead of the embedded copy (development).
    pub assets_dir: Option<PathBuf>,
    pub limits: Limits,
    pub clock: Arc<dyn Clock>,
    /// Mark cookies `Secure` (only when served over HTTPS, e.g. behind a TLS proxy). Serving
    /// HTTPS itself (`tls`) implies it.
    pub secure_cookies: bool,
    /// The base of every link and QR code when given (`luot serve --public-url`), over the
    /// configuration's `public_url`; otherwise see `address::resolve`.
    pub public_url: Option<String>,
    /// Serve HTTPS and WSS with this certificate and key instead of plain HTTP.
    pub tls: Option<tls::TlsFiles>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (see `proxy.rs`).
    pub trusted_proxies: proxy::TrustedProxies,
}

/// Shared by every request and socket.
#[derive(Debug)]
pub struct App {
    pub broker: BrokerHandle,
    pub hub: Arc<Hub>,
    pub metrics: Arc<Metrics>,
    pub clock: Arc<dyn Clock>,
    /// The configuration the server started with. Server-wide settings (public URL, origins)
    /// come from here; sites are reconfigured live through the broker.
    pub center: CenterConfig,
    /// The configuration's current text and version, replaced when a manager applies a new one.
    pub config_text: std::sync::RwLock<(String, i64)>,
    pub limits: Limits,
    /// Base of the URLs in QR codes (no trailing slash).
    pub public_url: String,
    /// Origins allowed to open websockets besides the server's own host.
    pub allowed_origins: Vec<String>,
    pub db_path: PathBuf,
    /// Accounts, sessions and devices: rare writes on their own connection. A std mutex, held
    /// only inside `spawn_blocking`, never across an await.
    pub accounts: Mutex<rusqlite::Connection>,
    pub backoff: LoginBackoff,
    pub issue_limiter: RateLimiter,
    /// Numbers taken from home, per address and per phone (`rest::remote`).
    pub remote_limiter: RateLimiter,
    pub phone_limiter: RateLimiter,
    /// Check-ins by number and the phone's last 4 digits, per kiosk.
    pub check_in_limiter: RateLimiter,
    /// Requests per API token (`auth::TOKEN_REQUESTS_PER_S`).
    pub token_limiter: RateLimiter,
    /// Webhook endpoints for the broker, and the delivery task's wake-up (`webhooks.rs`).
    pub hooks: Arc<webhooks::Hooks>,
    pub activity: SessionActivity,
    /// Keys the hash of ID numbers (per-person limits); never leaves the data folder.
    pub secret: [u8; 32],
    pub assets_dir: Option<PathBuf>,
    /// Voice clips replaced by the center (`<data>/clips`), served before the built-in ones.
    pub clips: clips::Clips,
    /// Network ticket printers (`[[printer]]`), each with its own task and queue.
    pub printers: printer::Printers,
    pub shutdown: CancellationToken,
    pub tracker: TaskTracker,
    pub secure_cookies: bool,
    /// Reverse proxies whose `X-Forwarded-For` is believed for limits and back-off.
    pub trusted_proxies: proxy::TrustedProxies,
    /// Logins whose account just changed (disabled, role, counters, password): their open
    /// websockets close, and reconnect with what the account now allows.
    pub account_changes: tokio::sync::broadcast::Sender<String>,
    /// Officials' connected counter consoles, for pausing a counter left without one.
    pub consoles: Arc<consoles::Consoles>,
}

impl App {
    /// The phone page of a ticket, at the public address: what its QR code holds.
    pub fn ticket_url(&self, token: &str) -> String {
        format!("{}/t/{token}", self.public_url)
    }

    /// Runs account work off the async threads.
    pub async fn accounts<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&rusqlite::Connection) -> Result<T, luot_store::StoreError> + Send + 'static,
    ) -> Result<T, luot_store::StoreError> {
        let app = self.clone();
        tokio::task::spawn_blocking(move || {
            let conn = app.accounts.lock().expect("accounts lock");
            f(&conn)
        })
        .await
        .map_err(|e| luot_store::StoreError::Other(e.to_string()))?
    }
}

/// What a first start created; shown once.
#[derive(Debug, Clone)]
pub struct FirstStart {
    pub admin_login: String,
    pub admin_password: String,
    pub kiosk_token: String,
    pub display_token: String,
    pub rating_token: String,
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    pub first_start: Option<FirstStart>,
    tracker: TaskTracker,
    /// The data folder's lock, held until the server has stopped (`luot restore` refuses a
    /// folder whose lock is held).
    _lock: luot_store::DataLock,
}

impl Server {
    /// Stops accepting, finishes in-flight commits, closes sockets with a close frame.
    pub async fn shutdown(self) {
        self.app.shutdown.cancel();
        self.wait().await;
    }

    /// Waits until the server has stopped (after a shutdown signal).
    pub async fn wait(self) {
        self.tracker.close();
        self.tracker.wait().await;
    }

    pub fn base_url(&self) -> String {
        self.app.public_url.clone()
    }
}

/// Reads the server's secret (it signs device and session tokens), or makes it on a first start.
/// The file is readable by the server's user only: made `0600` from the moment it exists, and an
/// older, looser file is tightened.
fn load_secret(path: &std::path::Path) -> anyhow::Result<[u8; 32]> {
    match std::fs::read(path) {
        Ok(b) if b.len() == 32 => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                        .with_context(|| {
                            format!(
                                "đặt {f} thành riêng tư (0600) · making {f} private (0600)",
                                f = path.display()
                            )
                        })?;
                    tracing::warn!(file = %path.display(), was = format!("{mode:o}"), "secret.key was readable by others; now 0600");
                }
            }
            Ok(b.try_into().expect("32 bytes"))
        }
        Ok(_) => anyhow::bail!("{} is damaged (expected 32 bytes)", path.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let s = auth::random_bytes::<32>();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let write = || -> std::io::Result<()> {
                use std::io::Write;
                let mut f = options.open(path)?;
                f.write_all(&s)?;
                f.sync_all()
            };
            write().with_context(|| format!("ghi tệp {f} · writing {f}", f = path.display()))?;
            Ok(s)
        }
        Err(e) => Err(e).with_context(|| format!("đọc tệp {f} · reading {f}", f = path.display())),
    }
}

/// Creates the first admin and one kiosk, hall display and rating tablet, so the printed URLs
/// work on a fresh install.
fn first_start(
    conn: &rusqlite::Connection,
    center: &CenterConfig,
    now_ms: i64,
) -> anyhow::Result<Option<FirstStart>> {
    if conn.user_count()? > 0 {
        return Ok(None);
    }
    let password = auth::new_password();
    let hash = auth::hash_password(&password).map_err(anyhow::Error::msg)?;
    conn.add_user(&User {
        login: FIRST_ADMIN_LOGIN.into(),
        display_name: "Quản trị viên".into(),
        role: luot_store::Role::Admin,
        password_hash: hash,
        counters: vec![],
        disabled: false,
        created_at: now_ms,
    })?;
    let site = center.sites[0].core.code.to_string();
    let first_counter = center.sites[0]
        .core
        .counters
        .first()
        .map(|c| c.code.to_string());
    let pair = |kind: luot_store::DeviceKind,
                name: &str,
                counter: Option<&str>|
     -> anyhow::Result<String> {
        let token = auth::new_token();
        conn.add_device(
            &NewDevice {
                kind,
                name,
                site: &site,
                counter,
                token_hash: &auth::token_hash(&token),
            },
            now_ms,
        )?;
        Ok(token)
    };
    use luot_store::DeviceKind;
    let kiosk_token = pair(DeviceKind::Kiosk, "Kiosk 1", None)?;
    let display_token = pair(DeviceKind::Display, "Màn hình sảnh", None)?;
    let rating_token = pair(
        DeviceKind::Rating,
        "Máy đánh giá quầy 1",
        first_counter.as_deref(),
    )?;
    conn.audit(
        now_ms,
        "system",
        "first_start",
        "created admin and default devices",
    )?;
    Ok(Some(FirstStart {
        admin_login: FIRST_ADMIN_LOGIN.into(),
        admin_password: password,
        kiosk_token,
        display_token,
        rating_token,
    }))
}

/// Starts the server on a bound listener (tests bind `127.0.0.1:0`).
pub async fn start(listener: TcpListener, opts: Options) -> anyhow::Result<Server> {
    let addr = listener.local_addr()?;
    // A bad certificate or key stops the start before anything is opened or created.
    let tls_config = opts.tls.as_ref().map(tls::server_config).transpose()?;
    let scheme = if tls_config.is_some() {
        "https"
    } else {
        "http"
    };
    std::fs::create_dir_all(&opts.data_dir).with_context(|| {
        format!(
            "tạo thư mục dữ liệu {d} · creating the data folder {d}",
            d = opts.data_dir.display()
        )
    })?;
    let lock = luot_store::DataLock::acquire(&opts.data_dir)?;
    let db_path = opts.data_dir.join("luot.db");
    let mut store = Store::open(&db_path)?;
    store.set_outbox_max(opts.limits.webhook_outbox_max);
    let now_ms = opts.clock.now_ms();
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        opts.config_toml.as_bytes(),
    ));
    let config_version = store.record_config(&opts.config_toml, &digest, now_ms)?;
    let secret = load_secret(&opts.data_dir.join("secret.key"))?;
    let accounts = rusqlite::Connection::open(&db_path)?;
    accounts.busy_timeout(std::time::Duration::from_secs(5))?;
    accounts.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;")?;
    let first = first_start(&accounts, &opts.center, now_ms)?;
    let clips = clips::Clips::open(&opts.data_dir).with_context(|| {
        format!(
            "đọc {d} · reading {d}",
            d = opts.data_dir.join("clips").display()
        )
    })?;

    let mut runtime = Vec::new();
    for s in &opts.center.sites {
        let tz = jiff::tz::TimeZone::get(&s.time_zone).with_context(|| {
            format!(
                "điểm {c}: không có múi giờ {z:?} · site {c}: unknown time zone {z:?}",
                c = s.core.code,
                z = s.time_zone
            )
        })?;
        runtime.push(SiteRuntime {
            code: s.core.code,
            settings: s.clone(),
            tz,
        });
    }
    let shutdown = CancellationToken::new();
    let tracker = TaskTracker::new();
    let metrics = Arc::new(Metrics::default());
    let hub = Arc::new(Hub::new(
        opts.limits.broadcast_capacity,
        opts.limits.resume_buffer,
    ));
    let hooks = Arc::new(webhooks::Hooks::new(
        opts.limits.webhook_retry_first,
        opts.limits.webhook_retry_window_ms,
    ));
    // The broker needs the endpoints from its first command on.
    hooks.set(&luot_store::Integrations::webhooks(store.connection())?);
    let broker = broker::start(
        store,
        db_path.clone(),
        runtime,
        hub.clone(),
        opts.clock.clone(),
        metrics.clone(),
        hooks.clone(),
        shutdown.clone(),
        &tracker,
    )?;

    let printers = printer::Printers::start(
        &opts.center.printers,
        broker.clone(),
        hub.clone(),
        opts.clock.clone(),
        shutdown.clone(),
        &tracker,
    );

    let public_url = address::resolve(
        opts.public_url
            .as_deref()
            .or(opts.center.public_url.as_deref()),
        addr,
    )
    .secure(scheme == "https")
    .url;
    let app = Arc::new(App {
        broker,
        hub,
        metrics,
        clock: opts.clock,
        allowed_origins: opts.center.allowed_origins.clone(),
        center: opts.center,
        config_text: std::sync::RwLock::new((opts.config_toml, config_version)),
        issue_limiter: RateLimiter::new(opts.limits.issue_per_s, opts.limits.issue_burst),
        remote_limiter: RateLimiter::new(
            rest::REMOTE_ISSUES_PER_HOUR / 3600.0,
            rest::REMOTE_ISSUES_BURST,
        ),
        phone_limiter: RateLimiter::new(
            rest::REMOTE_TRIES_PER_PHONE / 3600.0,
            rest::REMOTE_TRIES_PER_PHONE,
        ),
        check_in_limiter: RateLimiter::new(
            dispatch::CHECK_IN_TRIES_PER_S,
            dispatch::CHECK_IN_TRIES_BURST,
        ),
        token_limiter: RateLimiter::new(auth::TOKEN_REQUESTS_PER_S, auth::TOKEN_REQUESTS_BURST),
        hooks,
        limits: opts.limits,
        public_url,
        db_path,
        accounts: Mutex::new(accounts),
        backoff: LoginBackoff::default(),
        activity: SessionActivity::default(),
        secret,
        assets_dir: opts.assets_dir,
        clips,
        printers,
        shutdown: shutdown.clone(),
        tracker: tracker.clone(),
        secure_cookies: opts.secure_cookies || tls_config.is_some(),
        trusted_proxies: opts.trusted_proxies,
        account_changes: tokio::sync::broadcast::channel(auth::ACCOUNT_CHANGES_CAPACITY).0,
        consoles: Arc::new(consoles::Consoles::default()),
    });
    consoles::spawn_watch(app.clone());
    webhooks::spawn_delivery(app.clone())?;
    if let Some(b) = app.center.backup.clone() {
        let zone = &app.center.sites[0].time_zone;
        let tz = jiff::tz::TimeZone::get(zone)
            .with_context(|| format!("không có múi giờ {zone:?} · unknown time zone {zone:?}"))?;
        backups::spawn_daily(app.clone(), b, tz);
    }
    let router = rest::router(app.clone());
    // Our own accept loop: TLS handshakes, header/body read timeouts, connections per address.
    tracker.spawn(conn_limits::serve(
        listener,
        router,
        app.limits.http.clone(),
        tls_config.map(tokio_rustls::TlsAcceptor::from),
        shutdown.clone(),
    ));
    tracing::info!(%addr, scheme, "listening");
    Ok(Server {
        addr,
        app,
        first_start: first,
        tracker,
        _lock: lock,
    })
}
