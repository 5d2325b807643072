//! `luot`: the command line. `luot serve` runs the center; the other commands manage its
//! configuration, accounts and devices.

mod backup;
mod config_cmd;
mod data_lock;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use luot_proto::config::{CenterConfig, DEFAULT_CONFIG_TOML, parse_config};
use luot_server::address::Source;
use luot_server::config_in_force::{self, ConfigFile};
use luot_server::{Limits, Options, auth};
use luot_store::{Accounts, NewDevice, Store, User};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

mod first_admin;
mod replay;

/// The system allocator, counting the bytes held so `/metrics` can show `luot_heap_bytes`: the
/// server's own memory, apart from SQLite's page cache and the allocator's free lists.
#[global_allocator]
static HEAP: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);

#[derive(Parser, Debug)]
#[command(
    name = "luot",
    version,
    about = "Luot: queue tickets and counter displays for public service centers"
)]
struct Cli {
    /// Log format on standard error.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human, env = "LUOT_LOG_FORMAT")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run the server.
    Serve(ServeArgs),
    /// Check a configuration file and print every problem with its line and column.
    CheckConfig {
        /// The TOML file to check.
        file: PathBuf,
    },
    /// Print the built-in default configuration (a starting point for your own).
    DefaultConfig,
    /// Reports from the history: counts, waits, service times, satisfaction; staffing advice.
    Report(ReportArgs),
    /// Write realistic synthetic days into a data folder (for trying reports and staffing advice).
    Simulate(SimulateArgs),
    /// Replay recorded or synthetic days through the real queue and measure the wait estimates
    /// (docs/wait-estimates.md).
    Replay(replay::ReplayArgs),
    /// Write a realistic synthetic day as an arrivals file for `luot replay`.
    SimulateArrivals(replay::SimulateArrivalsArgs),
    /// Plan which counters to open each half hour for an expected day, with the officials there
    /// are, checked by replaying it (docs/wait-estimates.md, "Staffing plan").
    StaffingPlan(replay::StaffingPlanArgs),
    /// Officials, managers and admins.
    User {
        #[command(subcommand)]
        command: UserCmd,
        #[arg(long, default_value = "luot-data", global = true, env = "LUOT_DATA")]
        data: PathBuf,
    },
    /// Write one archive of a data folder (database, secret, voice clips, configuration), while
    /// the server runs.
    Backup(backup::BackupArgs),
    /// Check an archive and restore it into a new (or empty) folder.
    Restore(backup::RestoreArgs),
    /// Paired kiosks, displays and rating tablets.
    Device {
        #[command(subcommand)]
        command: DeviceCmd,
        #[arg(long, default_value = "luot-data", global = true, env = "LUOT_DATA")]
        data: PathBuf,
    },
    /// The configuration in force (kept in the database): export it, or import a file.
    Config {
        #[command(subcommand)]
        command: config_cmd::ConfigCmd,
        #[arg(long, default_value = "luot-data", global = true, env = "LUOT_DATA")]
        data: PathBuf,
    },
}

/// Every option can also come from the environment variable named beside it (for a service
/// unit's `EnvironmentFile`); an option on the command line wins over its variable.
#[derive(clap::Args, Debug)]
struct ServeArgs {
    /// Center configuration (TOML). The first start records it (without it, the built-in
    /// example center) as the configuration in force, kept in the database; later starts run
    /// the configuration in force, and apply this file only when it changed since it was last
    /// applied, after the admin page's checks.
    #[arg(long, short, env = "LUOT_CONFIG")]
    config: Option<PathBuf>,
    /// Folder for the database and the server's secret.
    #[arg(long, default_value = "luot-data", env = "LUOT_DATA")]
    data: PathBuf,
    /// Address to listen on. 0.0.0.0 lets kiosks, displays and phones in the hall connect.
    #[arg(long, default_value = "0.0.0.0:8080", env = "LUOT_LISTEN")]
    listen: String,
    /// The address phones and devices use to reach the server, as scheme://host[:port], for
    /// every link and QR code (over the configuration's public_url). Without either, the LAN
    /// address of this machine's default-route interface.
    #[arg(long, env = "LUOT_PUBLIC_URL", value_parser = parse_public_url)]
    public_url: Option<String>,
    /// Serve the web clients from this folder instead of the built-in copy.
    #[arg(long, env = "LUOT_ASSETS")]
    assets: Option<PathBuf>,
    /// Tickets one kiosk may take per second (sustained).
    #[arg(long, default_value_t = Limits::default().issue_per_s, env = "LUOT_ISSUE_RATE")]
    issue_rate: f64,
    /// Tickets one kiosk may take in a burst.
    #[arg(long, default_value_t = Limits::default().issue_burst, env = "LUOT_ISSUE_BURST")]
    issue_burst: f64,
    /// Most websocket connections at once.
    #[arg(long, default_value_t = Limits::default().ws_connections_max, env = "LUOT_WS_MAX")]
    ws_max: usize,
    /// Most anonymous websocket connections at once.
    #[arg(long, default_value_t = Limits::default().ws_anonymous_max, env = "LUOT_WS_ANONYMOUS_MAX")]
    ws_anonymous_max: usize,
    /// Most HTTP connections (websockets included) one client address may hold at once.
    /// Số kết nối HTTP (kể cả websocket) tối đa từ một địa chỉ.
    #[arg(long, env = "LUOT_CONNECTIONS_PER_ADDRESS",
          default_value_t = luot_server::conn_limits::CONNECTIONS_PER_ADDRESS_MAX)]
    connections_per_address: usize,
    /// Mark session cookies Secure (when served over HTTPS by a proxy in front; --tls-cert
    /// implies it).
    #[arg(long, env = "LUOT_SECURE_COOKIES")]
    secure_cookies: bool,
    /// Serve HTTPS and WSS with this certificate chain (PEM, e.g. fullchain.pem); needs
    /// --tls-key.
    #[arg(long, env = "LUOT_TLS_CERT", requires = "tls_key", value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM); needs --tls-cert.
    #[arg(long, env = "LUOT_TLS_KEY", requires = "tls_cert", value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// Reverse proxies whose X-Forwarded-For names the client, for login back-off and rate
    /// limits: comma-separated IP addresses or CIDR networks (e.g. 127.0.0.1,10.0.0.0/8).
    #[arg(long, env = "LUOT_TRUSTED_PROXIES", value_name = "LIST")]
    trusted_proxies: Option<luot_server::proxy::TrustedProxies>,
    /// For testing and training only: run the clock from this instant (RFC 3339, e.g.
    /// 2026-11-30T09:00:00+07:00) instead of now, e.g. for demos outside opening hours.
    #[arg(long, env = "LUOT_START_CLOCK", help_heading = "Testing")]
    start_clock: Option<jiff::Timestamp>,
}

fn parse_public_url(s: &str) -> Result<String, String> {
    luot_proto::config::check_public_url(s).map_err(str::to_string)
}

#[derive(clap::Args, Debug)]
struct ReportArgs {
    /// First day, YYYY-MM-DD (default: today).
    #[arg(long)]
    from: Option<String>,
    /// Last day, YYYY-MM-DD (default: the first day).
    #[arg(long)]
    to: Option<String>,
    #[arg(long, value_enum, default_value_t = ReportBy::Department)]
    by: ReportBy,
    /// `ratings-csv`: the ratings one by one, with ticket, official and dossier code.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    format: ReportFormat,
    /// Write to this file instead of standard output (required for xlsx).
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Print the staffing advice (counters per department and hour) instead of the report.
    #[arg(long)]
    staffing: bool,
    /// The wait target, minutes.
    #[arg(long, default_value_t = 15)]
    target_wait_min: u32,
    /// Share of citizens who should meet the wait target.
    #[arg(long, default_value_t = 0.9)]
    target_share: f64,
    /// Site code (default: the first site).
    #[arg(long)]
    site: Option<String>,
    /// Read the history with the names of this configuration instead of the one in force.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Language of column names, labels and values.
    #[arg(long, value_enum, default_value_t = ReportLang::Vi)]
    lang: ReportLang,
    #[arg(long, default_value = "luot-data", env = "LUOT_DATA")]
    data: PathBuf,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum ReportLang {
    /// Tiếng Việt
    Vi,
    /// English
    En,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum ReportBy {
    Site,
    Department,
    Service,
    Counter,
    Official,
    Hour,
    Day,
    Weekday,
    Channel,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum ReportFormat {
    Table,
    Csv,
    RatingsCsv,
    Xlsx,
    Json,
}

/// A user's role, as `luot user` takes it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum RoleArg {
    Official,
    Manager,
    Admin,
}

impl RoleArg {
    fn role(self) -> luot_store::Role {
        match self {
            RoleArg::Official => luot_store::Role::Official,
            RoleArg::Manager => luot_store::Role::Manager,
            RoleArg::Admin => luot_store::Role::Admin,
        }
    }
}

/// A paired device's kind, as `luot device pair` takes it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum DeviceKind {
    Kiosk,
    Display,
    #[value(name = "counter_display", alias = "counter-display")]
    CounterDisplay,
    Rating,
}

impl DeviceKind {
    fn kind(self) -> luot_store::DeviceKind {
        match self {
            DeviceKind::Kiosk => luot_store::DeviceKind::Kiosk,
            DeviceKind::Display => luot_store::DeviceKind::Display,
            DeviceKind::CounterDisplay => luot_store::DeviceKind::CounterDisplay,
            DeviceKind::Rating => luot_store::DeviceKind::Rating,
        }
    }

    fn as_str(self) -> &'static str {
        self.kind().as_str()
    }

    /// The page the device opens.
    fn page(self) -> &'static str {
        match self {
            DeviceKind::CounterDisplay => "counter-display",
            k => k.as_str(),
        }
    }

    fn belongs_to_a_counter(self) -> bool {
        self.kind().needs_counter()
    }
}

#[derive(clap::Args, Debug)]
struct SimulateArgs {
    /// First day to simulate, YYYY-MM-DD.
    #[arg(long)]
    from: String,
    /// Number of calendar days; days when the center is closed are skipped.
    #[arg(long, default_value_t = 20)]
    days: u32,
    /// Expected tickets per open day.
    #[arg(long, default_value_t = 300.0)]
    arrivals: f64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Site code (default: the first site).
    #[arg(long)]
    site: Option<String>,
    /// For a new data folder: the configuration to record (default: the built-in example). A
    /// folder that has a configuration in force simulates with that one.
    #[arg(long, short)]
    config: Option<PathBuf>,
    #[arg(long, default_value = "luot-data", env = "LUOT_DATA")]
    data: PathBuf,
}

#[derive(Subcommand, Debug)]
enum UserCmd {
    /// Add a user. The password is read from standard input with --password-stdin, otherwise a
    /// random one is made and printed once.
    Add {
        login: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_enum, default_value_t = RoleArg::Official)]
        role: RoleArg,
        /// Counters an official works at, comma separated (e.g. quay-1,quay-2); each must be a
        /// counter of the configuration in force.
        #[arg(long, value_delimiter = ',')]
        counters: Vec<String>,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password (ends the user's sessions).
    Passwd {
        login: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change a user's display name, role or counters (what is given).
    Edit {
        login: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, value_enum)]
        role: Option<RoleArg>,
        /// Counters, comma separated; an empty value clears them.
        #[arg(long, value_delimiter = ',')]
        counters: Option<Vec<String>>,
    },
    /// Disable a user: no more logins, and their sessions end (a running server's open
    /// websockets notice within seconds, at their next command).
    Disable { login: String },
    /// Enable a disabled user again.
    Enable { login: String },
    /// List users.
    List,
}

#[derive(Subcommand, Debug)]
enum DeviceCmd {
    /// Pair a device and print its token and the URL to open on it (shown once).
    Pair {
        #[arg(long, value_enum)]
        kind: DeviceKind,
        #[arg(long)]
        name: String,
        /// Site code (the first site when omitted).
        #[arg(long)]
        site: Option<String>,
        /// Counter code, for counter displays and rating tablets.
        #[arg(long)]
        counter: Option<String>,
        /// The server's address as devices reach it, for the printed URL (default: the
        /// configuration's public_url, else the address the server last announced).
        #[arg(long, value_parser = parse_public_url)]
        url: Option<String>,
    },
    /// List devices.
    List,
    /// Revoke a device: its token stops working at once.
    Revoke { id: i64 },
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only on a terminal: a log file or the journal gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn load_config(path: &Path) -> anyhow::Result<(CenterConfig, String)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("đọc tệp {p} · reading {p}", p = path.display()))?;
    match parse_config(&text, &path.display().to_string()) {
        Ok(c) => Ok((c, text)),
        Err(errors) => bail!("cấu hình có lỗi · the configuration has errors:\n{errors}"),
    }
}

/// Refuses counters the configuration in force does not have, naming them and the ones it has.
fn check_counters(center: &CenterConfig, counters: &[String]) -> anyhow::Result<()> {
    let known: Vec<&str> = center
        .sites
        .iter()
        .flat_map(|s| s.core.counters.iter().map(|c| c.code.as_str()))
        .collect();
    let unknown: Vec<&str> = counters
        .iter()
        .map(String::as_str)
        .filter(|c| !known.contains(c))
        .collect();
    if !unknown.is_empty() {
        bail!(
            "--counters: không có quầy {u} trong cấu hình đang áp dụng · no counter {u} in the configuration in force (counters: {k})",
            u = unknown.join(", "),
            k = known.join(", ")
        );
    }
    Ok(())
}

fn read_password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let p = line.trim_end_matches(['\n', '\r']).to_string();
        auth::check_password_strength(&p).map_err(anyhow::Error::msg)?;
        Ok((p, false))
    } else {
        Ok((auth::new_password(), true))
    }
}

fn open_db(data: &Path) -> anyhow::Result<Store> {
    let path = data.join("luot.db");
    if !path.exists() {
        bail!(
            "không có cơ sở dữ liệu tại {p} (hãy chạy `luot serve --data {d}` một lần trước) · \
             no database at {p} (run `luot serve --data {d}` once first)",
            p = path.display(),
            d = data.display()
        );
    }
    Ok(Store::open(&path)?)
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// The configuration in force for a command that reads it, from the folder's database (the
/// built-in example on a database no server has run on yet).
fn config_in_force(data: &Path) -> anyhow::Result<CenterConfig> {
    let db = open_db(data)?;
    Ok(config_in_force::for_commands(db.connection())?.0)
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    // A bad certificate or key stops the start before the data folder is touched.
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        luot_server::tls::server_config(&luot_server::tls::TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        })?;
    }
    // Held until serve returns, after the server (and its store) has stopped.
    let _lock = data_lock::DataLock::acquire(&args.data)?;
    let file = args.config.as_deref().map(ConfigFile::read).transpose()?;
    let chosen = config_in_force::choose_at_start(
        &args.data.join("luot.db"),
        file.as_ref(),
        match args.start_clock {
            Some(t) => t.as_millisecond(),
            None => now_ms(),
        },
    )?;
    tracing::info!(
        version = chosen.version,
        origin = ?chosen.origin,
        "{}",
        chosen.describe()
    );
    let chosen_line = chosen.describe();
    let center = chosen.center;
    let config_toml = chosen.toml;
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| {
            format!(
                "không nghe được ở {l} · cannot listen on {l}",
                l = args.listen
            )
        })?;
    let reach = luot_server::address::resolve(
        args.public_url.as_deref().or(center.public_url.as_deref()),
        listener.local_addr()?,
    )
    .secure(args.tls_cert.is_some());
    tracing::info!(
        url = %reach.url,
        source = ?reach.source,
        "địa chỉ cho điện thoại và thiết bị · address for phones and devices"
    );
    if reach.source == Source::LoopbackOnly {
        tracing::warn!(
            url = %reach.url,
            "không tìm thấy địa chỉ mạng LAN: liên kết và mã QR chỉ mở được trên máy này · no LAN address found: links and QR codes open on this machine only"
        );
    }
    // `luot device pair` prints links with this address when no public_url is configured.
    {
        let store = Store::open(&args.data.join("luot.db"))?;
        luot_store::meta_set(
            store.connection(),
            config_in_force::META_ANNOUNCED_URL,
            &reach.url,
        )?;
        data_lock::DataLock::record_pid(&store)?;
    }
    let limits = Limits {
        issue_per_s: args.issue_rate,
        issue_burst: args.issue_burst,
        ws_connections_max: args.ws_max,
        ws_anonymous_max: args.ws_anonymous_max,
        http: luot_server::conn_limits::HttpLimits {
            connections_per_address_max: args.connections_per_address,
            ..Default::default()
        },
        ..Limits::default()
    };
    let site_name = center.sites[0].core.name.vi.clone();
    let first_counter = center.sites[0]
        .core
        .counters
        .first()
        .map(|c| c.code.to_string());
    let server = luot_server::start(
        listener,
        Options {
            data_dir: args.data.clone(),
            center,
            config_toml,
            assets_dir: args.assets,
            limits,
            clock: match args.start_clock {
                Some(t) => {
                    let c = luot_server::clock::OffsetClock::default();
                    c.set_offset_ms(t.as_millisecond() - now_ms());
                    tracing::warn!(start = %t, "running on a shifted clock");
                    Arc::new(c)
                }
                None => Arc::new(luot_server::clock::SystemClock),
            },
            secure_cookies: args.secure_cookies,
            public_url: Some(reach.url.clone()),
            tls: match (args.tls_cert, args.tls_key) {
                (Some(cert), Some(key)) => Some(luot_server::tls::TlsFiles { cert, key }),
                _ => None,
            },
            trusted_proxies: args.trusted_proxies.unwrap_or_default(),
        },
    )
    .await?;

    // Listen for SIGTERM/Ctrl-C before telling anyone we are up: a signal sent right after the
    // banner must stop the server cleanly, not kill it.
    let stop = shutdown_signal()?;
    let base = server.base_url();
    let q = |t: &Option<String>| {
        t.as_ref()
            .map(|t| format!("?device={t}"))
            .unwrap_or_default()
    };
    let first = server.first_start.clone();
    let (kiosk, display, rating) = match &first {
        Some(f) => (
            Some(f.kiosk_token.clone()),
            Some(f.display_token.clone()),
            Some(f.rating_token.clone()),
        ),
        None => (None, None, None),
    };
    // The first line is where it listens; with a public URL that is not the same place.
    match reach.source {
        Source::Configured => println!("Luot listening on http://{}", server.addr),
        _ => println!("Luot listening on {base}"),
    }
    println!();
    print_reach(&reach.source, &base);
    println!("  Cấu hình · Configuration: {chosen_line}");
    println!();
    println!("  {site_name}");
    println!(
        "  Kiosk lấy số       (kiosk)          {base}/kiosk{}",
        q(&kiosk)
    );
    println!(
        "  Màn hình sảnh      (hall display)   {base}/display{}",
        q(&display)
    );
    if let Some(c) = first_counter {
        println!("  Màn hình quầy      (counter display) {base}/counter-display?counter={c}");
    }
    println!("  Quầy giao dịch     (counter console) {base}/counter");
    println!(
        "  Đánh giá           (rating tablet)  {base}/rating{}",
        q(&rating)
    );
    println!("  Quản lý            (manager)        {base}/admin");
    println!("  API                                 {base}/api/v1/openapi.json");
    for p in server.app.printers.all() {
        let s = &p.settings;
        println!(
            "  Máy in phiếu       (ticket printer) {} at {} for kiosk \"{}\"",
            s.name, s.address, s.kiosk
        );
    }
    match &first {
        Some(f) => first_admin::announce(&args.data, f),
        None => {
            println!();
            println!("  Devices keep their pairing; pair new ones with `luot device pair`.");
        }
    }
    println!();
    let app = server.app.clone();
    tokio::spawn(async move {
        stop.await;
        tracing::info!("shutting down");
        app.shutdown.cancel();
    });
    server.wait().await;
    Ok(())
}

/// Says how phones and devices reach the server, and warns when they cannot.
fn print_reach(source: &Source, base: &str) {
    match source {
        Source::Configured => println!(
            "  Địa chỉ cho điện thoại và thiết bị · Address for phones and devices: {base} (public_url)"
        ),
        Source::Lan => println!(
            "  Địa chỉ cho điện thoại và thiết bị · Address for phones and devices: {base} \
             (địa chỉ LAN của máy này · this machine's LAN address; đổi bằng · override with --public-url)"
        ),
        Source::Listen => println!(
            "  Địa chỉ cho điện thoại và thiết bị · Address for phones and devices: {base} (--listen)"
        ),
        Source::Loopback => println!(
            "  Chỉ máy này mở được các liên kết (đang nghe trên loopback) · Only this machine can open these links (listening on loopback)"
        ),
        Source::LoopbackOnly => {
            println!(
                "  CẢNH BÁO: không tìm thấy địa chỉ mạng LAN; điện thoại, kiosk và màn hình không mở được các liên kết và mã QR dưới đây. \
                 Hãy nối mạng rồi khởi động lại, hoặc đặt --public-url (hay public_url trong cấu hình)."
            );
            println!(
                "  WARNING: no LAN address found; phones, kiosks and displays cannot open the links and QR codes below. \
                 Connect the network and restart, or set --public-url (or public_url in the configuration)."
            );
        }
    }
}

/// Installs the handlers now and returns a future that completes on SIGTERM or Ctrl-C.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())
            .context("cài xử lý SIGTERM · installing the SIGTERM handler")?;
        let mut int = signal(SignalKind::interrupt())
            .context("cài xử lý SIGINT · installing the SIGINT handler")?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

fn user_cmd(command: UserCmd, data: &Path) -> anyhow::Result<()> {
    let store = open_db(data)?;
    match command {
        UserCmd::Add {
            login,
            name,
            role,
            counters,
            password_stdin,
        } => {
            luot_core::Code::new(&login)
                .with_context(|| format!("tên đăng nhập · login {login:?}"))?;
            if store.user(&login)?.is_some() {
                bail!("đã có tài khoản {login:?} · a user {login:?} already exists");
            }
            check_counters(
                &config_in_force::for_commands(store.connection())?.0,
                &counters,
            )?;
            let (password, generated) = read_password(password_stdin)?;
            let hash = auth::hash_password(&password).map_err(anyhow::Error::msg)?;
            store.add_user(&User {
                login: login.clone(),
                display_name: name,
                role: role.role(),
                password_hash: hash,
                counters,
                disabled: false,
                created_at: now_ms(),
            })?;
            store.audit(now_ms(), "cli", "user_add", &login)?;
            println!("added {login}");
            if generated {
                println!("password: {password}");
            }
        }
        UserCmd::Passwd {
            login,
            password_stdin,
        } => {
            let (password, generated) = read_password(password_stdin)?;
            let hash = auth::hash_password(&password).map_err(anyhow::Error::msg)?;
            if !store.set_password(&login, &hash)? {
                bail!("không có tài khoản {login:?} · no user {login:?}");
            }
            store.audit(now_ms(), "cli", "user_passwd", &login)?;
            println!("password changed for {login}");
            if generated {
                println!("password: {password}");
            }
        }
        UserCmd::Edit {
            login,
            name,
            role,
            counters,
        } => {
            if name.as_ref().is_some_and(|n| {
                n.trim().is_empty() || n.len() > luot_server::rest::DISPLAY_NAME_LEN_MAX
            }) {
                bail!(
                    "--name phải dài 1 đến {n} byte · --name must be 1 to {n} bytes",
                    n = luot_server::rest::DISPLAY_NAME_LEN_MAX
                );
            }
            let counters: Option<Vec<String>> =
                counters.map(|c| c.into_iter().filter(|c| !c.is_empty()).collect());
            if let Some(c) = &counters {
                check_counters(&config_in_force::for_commands(store.connection())?.0, c)?;
            }
            let role = role.map(RoleArg::role);
            let Some(before) = store.user(&login)? else {
                bail!("không có tài khoản {login:?} · no user {login:?}");
            };
            if before.role.administers()
                && role.is_some_and(|r| !r.administers())
                && !before.disabled
                && store.active_admins()? <= 1
            {
                bail!(
                    "{login} là quản trị viên cuối cùng đang hoạt động: hãy tạo quản trị viên khác trước · {login} is the last active admin: make another admin first"
                );
            }
            store.update_user(
                &login,
                name.as_deref().map(str::trim),
                role,
                counters.as_deref(),
            )?;
            let mut what = vec![login.clone()];
            if let Some(n) = &name {
                what.push(format!("display_name={}", n.trim()));
            }
            if let Some(r) = &role {
                what.push(format!("role={r}"));
            }
            if let Some(c) = &counters {
                what.push(format!("counters={}", c.join(",")));
            }
            store.audit(now_ms(), "cli", "user_edit", &what.join(" "))?;
            println!("changed {login}");
        }
        UserCmd::Disable { login } => {
            let Some(before) = store.user(&login)? else {
                bail!("không có tài khoản {login:?} · no user {login:?}");
            };
            if before.role.administers() && !before.disabled && store.active_admins()? <= 1 {
                bail!(
                    "{login} là quản trị viên cuối cùng đang hoạt động: không khóa được · {login} is the last active admin: it cannot be disabled"
                );
            }
            store.set_disabled(&login, true)?;
            store.audit(now_ms(), "cli", "user_disable", &login)?;
            println!("disabled {login}; their sessions have ended");
        }
        UserCmd::Enable { login } => {
            if !store.set_disabled(&login, false)? {
                bail!("không có tài khoản {login:?} · no user {login:?}");
            }
            store.audit(now_ms(), "cli", "user_enable", &login)?;
            println!("enabled {login}");
        }
        UserCmd::List => {
            println!(
                "{:<20} {:<9} {:<9} {:<30} counters",
                "login", "role", "state", "name"
            );
            for u in store.users()? {
                println!(
                    "{:<20} {:<9} {:<9} {:<30} {}",
                    u.login,
                    u.role,
                    if u.disabled { "disabled" } else { "active" },
                    u.display_name,
                    u.counters.join(",")
                );
            }
        }
    }
    Ok(())
}

fn device_cmd(command: DeviceCmd, data: &Path) -> anyhow::Result<()> {
    let store = open_db(data)?;
    match command {
        DeviceCmd::Pair {
            kind,
            name,
            site,
            counter,
            url,
        } => {
            let center = config_in_force::for_commands(store.connection())?.0;
            let settings = pick_site(&center, site.as_deref())?;
            let site = settings.core.code.to_string();
            if kind.belongs_to_a_counter() && counter.is_none() {
                bail!(
                    "thiết bị {k} thuộc về một quầy: thêm --counter MÃ · a {k} device belongs to a counter: add --counter CODE",
                    k = kind.as_str()
                );
            }
            if let Some(c) = &counter
                && !settings.core.counters.iter().any(|k| k.code.as_str() == c)
            {
                bail!(
                    "--counter: không có quầy {c:?} ở điểm {site} · no counter {c:?} at site {site} in the configuration in force"
                );
            }
            let base = match url.or_else(|| center.public_url.clone()) {
                Some(u) => u,
                None => config_in_force::announced_url(store.connection())?.with_context(|| {
                    "không biết địa chỉ máy chủ: thêm --url · the server's address is unknown (no public_url, and no server has started here): add --url"
                })?,
            };
            let token = auth::new_token();
            let id = store.add_device(
                &NewDevice {
                    kind: kind.kind(),
                    name: &name,
                    site: &site,
                    counter: counter.as_deref(),
                    token_hash: &auth::token_hash(&token),
                },
                now_ms(),
            )?;
            store.audit(
                now_ms(),
                "cli",
                "device_pair",
                &format!("{id} {} {name}", kind.as_str()),
            )?;
            let extra = counter.map(|c| format!("&counter={c}")).unwrap_or_default();
            println!("paired device {id} ({}, {name})", kind.as_str());
            println!(
                "open on the device: {}/{}?device={token}{extra}",
                base.trim_end_matches('/'),
                kind.page()
            );
        }
        DeviceCmd::List => {
            println!(
                "{:<4} {:<16} {:<24} {:<12} {:<10} state",
                "id", "kind", "name", "site", "counter"
            );
            for d in store.devices()? {
                let state = if d.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                println!(
                    "{:<4} {:<16} {:<24} {:<12} {:<10} {state}",
                    d.id,
                    d.kind,
                    d.name,
                    d.site,
                    d.counter.unwrap_or_default()
                );
            }
        }
        DeviceCmd::Revoke { id } => {
            if !store.revoke_device(id, now_ms())? {
                bail!("không có thiết bị đang dùng số {id} · no active device {id}");
            }
            store.audit(now_ms(), "cli", "device_revoke", &id.to_string())?;
            println!("revoked device {id}");
        }
    }
    Ok(())
}

fn pick_site<'a>(
    center: &'a CenterConfig,
    code: Option<&str>,
) -> anyhow::Result<&'a luot_proto::config::SiteSettings> {
    match code {
        None => Ok(&center.sites[0]),
        Some(c) => center
            .sites
            .iter()
            .find(|s| s.core.code.as_str() == c)
            .with_context(|| {
                format!("không có điểm {c:?} trong cấu hình · no site {c:?} in the configuration")
            }),
    }
}

fn parse_day_arg(s: &str, what: &str) -> anyhow::Result<luot_core::Day> {
    luot_proto::parse_day(s).with_context(|| {
        format!("{what}: {s:?} không phải ngày (YYYY-MM-DD) · is not a date (YYYY-MM-DD)")
    })
}

fn report_cmd(a: ReportArgs) -> anyhow::Result<()> {
    use luot_server::report;
    let center = match &a.config {
        Some(p) => load_config(p)?.0,
        None => config_in_force(&a.data)?,
    };
    let settings = pick_site(&center, a.site.as_deref())?;
    let tz = jiff::tz::TimeZone::get(&settings.time_zone)?;
    let now = luot_server::clock::site_now(now_ms(), &tz);
    let from = match &a.from {
        Some(s) => parse_day_arg(s, "--from")?,
        None => now.day,
    };
    let to = match &a.to {
        Some(s) => parse_day_arg(s, "--to")?,
        None => from,
    };
    if from > to {
        bail!("--from {from} sau --to {to} · --from {from} is after --to {to}");
    }
    if to.0 - from.0 >= luot_store::reports::REPORT_DAYS_MAX {
        bail!(
            "khoảng ngày dài quá {n} ngày · the range is longer than {n} days",
            n = luot_store::reports::REPORT_DAYS_MAX
        );
    }
    if !(0.5..=0.999).contains(&a.target_share) || !(1..=240).contains(&a.target_wait_min) {
        bail!(
            "--target-share phải từ 0.5 đến 0.999 và --target-wait-min từ 1 đến 240 · --target-share must be 0.5–0.999 and --target-wait-min 1–240"
        );
    }
    let by_name = a.by.to_possible_value().expect("no skipped variants");
    let by = luot_store::reports::GroupBy::parse(by_name.get_name())
        .expect("ReportBy names GroupBy's variants");
    let offset = tz.to_offset(jiff::Timestamp::now()).seconds();
    let q = report::query(
        settings,
        &from.to_string(),
        &to.to_string(),
        by,
        a.target_wait_min * 60,
        offset,
    );
    let db = a.data.join("luot.db");
    if !db.exists() {
        bail!(
            "không có cơ sở dữ liệu tại {d} · no database at {d}",
            d = db.display()
        );
    }
    let conn = luot_store::open_reader(&db)?;
    let lang = match a.lang {
        ReportLang::Vi => report::Lang::Vi,
        ReportLang::En => report::Lang::En,
    };
    let labels = report::Labels::new(settings, lang, report::official_names(&conn)?);
    let started = std::time::Instant::now();
    let out: Vec<u8> = if a.staffing {
        let s = luot_store::reports::staffing(
            &conn,
            &q,
            a.target_share,
            &report::expected_service_s(settings),
        )?;
        match a.format {
            ReportFormat::Json => serde_json::to_vec_pretty(&s)?,
            ReportFormat::Table => report::staffing_table(&labels, &s).into_bytes(),
            f => bail!(
                "--staffing chỉ in dạng table hoặc json, không phải {f:?} · --staffing prints as table or json, not {f:?}"
            ),
        }
    } else {
        let mut r = luot_store::reports::report(&conn, &q)?;
        report::order_rows(settings, &mut r);
        match a.format {
            ReportFormat::Table => report::to_table(&labels, &r).into_bytes(),
            ReportFormat::Csv => report::to_csv(&labels, &r).map_err(anyhow::Error::msg)?,
            ReportFormat::RatingsCsv => {
                report::ratings_csv(&labels, &r).map_err(anyhow::Error::msg)?
            }
            ReportFormat::Json => serde_json::to_vec_pretty(&r)?,
            ReportFormat::Xlsx => {
                let s = luot_store::reports::staffing(
                    &conn,
                    &q,
                    a.target_share,
                    &report::expected_service_s(settings),
                )?;
                report::to_xlsx(&labels, &r, Some(&s)).map_err(anyhow::Error::msg)?
            }
        }
    };
    tracing::debug!(ms = started.elapsed().as_millis() as u64, "report built");
    match &a.output {
        Some(p) => {
            std::fs::write(p, &out)
                .with_context(|| format!("ghi tệp {f} · writing {f}", f = p.display()))?;
            eprintln!("wrote {}", p.display());
        }
        None if a.format == ReportFormat::Xlsx => {
            bail!("báo cáo xlsx cần --output TỆP · an xlsx report needs --output FILE")
        }
        None => {
            use std::io::Write;
            std::io::stdout().write_all(&out)?;
        }
    }
    Ok(())
}

fn simulate_cmd(a: SimulateArgs) -> anyhow::Result<()> {
    let from = parse_day_arg(&a.from, "--from")?;
    if !(1.0..=20_000.0).contains(&a.arrivals) || a.days == 0 || a.days > 366 {
        bail!(
            "--arrivals phải từ 1 đến 20000 và --days từ 1 đến 366 · --arrivals must be 1–20000 and --days 1–366"
        );
    }
    std::fs::create_dir_all(&a.data)?;
    let mut store = Store::open(&a.data.join("luot.db"))?;
    // The configuration in force; a new folder records the given file (or the built-in
    // example) as its first, the way a first start does.
    let file = a.config.as_deref().map(ConfigFile::read).transpose()?;
    let center = match config_in_force::read_in_force(store.connection())? {
        Some((v, c)) => {
            if let Some(f) = file.filter(|f| config_in_force::digest(&f.text) != v.digest) {
                bail!(
                    "{d} đã có cấu hình đang áp dụng (phiên bản {v}) khác với {n}: hãy bỏ --config, hoặc chạy `luot config import {n}` trước · \
                     {d} already has a configuration in force (version {v}) that differs from {n}: \
                     leave out --config, or run `luot config import {n}` first",
                    d = a.data.display(),
                    v = v.version,
                    n = f.name,
                );
            }
            c
        }
        None => {
            let (text, name) = match &file {
                Some(f) => (f.text.as_str(), f.name.as_str()),
                None => (DEFAULT_CONFIG_TOML, config_in_force::BUILT_IN_NAME),
            };
            let c = config_in_force::parse_checked(text, name)?;
            store.record_config(text, &config_in_force::digest(text), now_ms())?;
            c
        }
    };
    let settings = pick_site(&center, a.site.as_deref())?;
    let mut site = store.recover(settings.core.clone())?;
    if let Some(d) = site.day() {
        if d >= from {
            bail!(
                "{f} đã có dữ liệu đến ngày {d}; hãy mô phỏng vào thư mục trống hoặc từ một ngày sau · \
                 {f} already has history up to {d}; simulate into an empty folder or from a later day",
                f = a.data.display()
            );
        }
    }
    let tz = jiff::tz::TimeZone::get(&settings.time_zone)?;
    let code = settings.core.code;
    let mut seq = store.last_seq();
    let (mut days, mut tickets) = (0, 0);
    for offset in 0..a.days as i32 {
        let day = luot_core::Day(from.0 + offset);
        let open = settings
            .core
            .services
            .iter()
            .any(|s| !s.hours.days[day.weekday() as usize].is_empty());
        if !open || settings.core.holidays.contains(&day) {
            continue;
        }
        let (y, m, d) = day.ymd();
        let noon = jiff::civil::date(y as i16, m as i8, d as i8)
            .at(12, 0, 0, 0)
            .to_zoned(tz.clone())?;
        let mut spec = luot_core::sim::DaySpec::new(
            day,
            a.seed.wrapping_mul(1_000_003).wrapping_add(offset as u64),
            a.arrivals,
        );
        spec.utc_offset_s = noon.offset().seconds();
        let run = luot_core::sim::run_day(&mut site, &spec);
        let records: Vec<luot_store::Record> = run
            .events
            .into_iter()
            .map(|(at_ms, event)| {
                seq += 1;
                let day = match &event {
                    luot_core::Event::DayClosed { day, .. }
                    | luot_core::Event::DayOpened { day, .. } => *day,
                    _ => day,
                };
                luot_store::Record {
                    seq,
                    site: code,
                    day,
                    at_ms,
                    event,
                }
            })
            .collect();
        for chunk in records.chunks(luot_store::BATCH_RECORDS_MAX) {
            store.append(chunk)?;
        }
        days += 1;
        tickets += run.issued;
        eprintln!("{day}: {} tickets", run.issued);
    }
    println!(
        "simulated {days} open days, {tickets} tickets, into {}",
        a.data.display()
    );
    Ok(())
}

fn main() -> ExitCode {
    let _ = luot_server::metrics::HEAP_BYTES.set(|| HEAP.allocated());
    let cli = Cli::parse();
    init_logs(cli.log_format);
    let result = match cli.command {
        Cmd::Serve(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(anyhow::Error::from)
            .and_then(|rt| rt.block_on(serve(args))),
        Cmd::CheckConfig { file } => load_config(&file).map(|(c, _)| {
            let s: usize = c.sites.iter().map(|s| s.core.services.len()).sum();
            let k: usize = c.sites.iter().map(|s| s.core.counters.len()).sum();
            println!(
                "{}: ok ({} site(s), {s} services, {k} counters)",
                file.display(),
                c.sites.len()
            );
        }),
        Cmd::Report(a) => report_cmd(a),
        Cmd::Simulate(a) => simulate_cmd(a),
        Cmd::Replay(a) => replay::replay_cmd(a),
        Cmd::SimulateArrivals(a) => replay::simulate_arrivals_cmd(a),
        Cmd::StaffingPlan(a) => replay::staffing_plan_cmd(a),
        Cmd::DefaultConfig => {
            print!("{DEFAULT_CONFIG_TOML}");
            Ok(())
        }
        Cmd::User { command, data } => user_cmd(command, &data),
        Cmd::Device { command, data } => device_cmd(command, &data),
        Cmd::Config { command, data } => config_cmd::run(command, &data, now_ms()),
        Cmd::Backup(a) => backup::backup_cmd(a),
        Cmd::Restore(a) => backup::restore_cmd(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
