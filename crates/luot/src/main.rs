//! `luot`: the command line. `luot serve` runs the center; the other commands manage its
//! configuration, accounts and devices.

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use luot_proto::config::{CenterConfig, DEFAULT_CONFIG_TOML, parse_config};
use luot_server::{Limits, Options, auth};
use luot_store::{Accounts, NewDevice, Store, User};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

mod replay;

#[derive(Parser, Debug)]
#[command(
    name = "luot",
    version,
    about = "Luot: queue tickets and counter displays for public service centers"
)]
struct Cli {
    /// Log format on standard error.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
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
    /// Officials, managers and admins.
    User {
        #[command(subcommand)]
        command: UserCmd,
        #[arg(long, default_value = "luot-data", global = true)]
        data: PathBuf,
    },
    /// Paired kiosks, displays and rating tablets.
    Device {
        #[command(subcommand)]
        command: DeviceCmd,
        #[arg(long, default_value = "luot-data", global = true)]
        data: PathBuf,
    },
}

#[derive(clap::Args, Debug)]
struct ServeArgs {
    /// Center configuration (TOML). Without it, the built-in example center runs.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Folder for the database and the server's secret.
    #[arg(long, default_value = "luot-data")]
    data: PathBuf,
    /// Address to listen on. 0.0.0.0 lets kiosks and displays in the hall connect.
    #[arg(long, default_value = "0.0.0.0:8080")]
    listen: String,
    /// Serve the web clients from this folder instead of the built-in copy.
    #[arg(long)]
    assets: Option<PathBuf>,
    /// Tickets one kiosk may take per second (sustained).
    #[arg(long, default_value_t = Limits::default().issue_per_s)]
    issue_rate: f64,
    /// Tickets one kiosk may take in a burst.
    #[arg(long, default_value_t = Limits::default().issue_burst)]
    issue_burst: f64,
    /// Most websocket connections at once.
    #[arg(long, default_value_t = Limits::default().ws_connections_max)]
    ws_max: usize,
    /// Most anonymous websocket connections at once.
    #[arg(long, default_value_t = Limits::default().ws_anonymous_max)]
    ws_anonymous_max: usize,
    /// Mark session cookies Secure (when served over HTTPS).
    #[arg(long)]
    secure_cookies: bool,
    /// Run the clock from this instant (RFC 3339, e.g. 2026-11-30T09:00:00+07:00) instead of
    /// now: for training, demos outside opening hours, and tests.
    #[arg(long, hide = true)]
    start_clock: Option<jiff::Timestamp>,
}

#[derive(clap::Args, Debug)]
struct ReportArgs {
    /// First day, YYYY-MM-DD (default: today).
    #[arg(long)]
    from: Option<String>,
    /// Last day, YYYY-MM-DD (default: the first day).
    #[arg(long)]
    to: Option<String>,
    #[arg(long, value_parser = ["site", "department", "service", "counter", "official", "hour", "day", "weekday", "channel"], default_value = "department")]
    by: String,
    /// `ratings-csv`: the ratings one by one, with ticket, official and dossier code.
    #[arg(long, value_parser = ["table", "csv", "ratings-csv", "xlsx", "json"], default_value = "table")]
    format: String,
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
    /// The configuration the history was made with (default: the built-in one).
    #[arg(long, short)]
    config: Option<PathBuf>,
    #[arg(long, default_value = "luot-data")]
    data: PathBuf,
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
    #[arg(long, short)]
    config: Option<PathBuf>,
    #[arg(long, default_value = "luot-data")]
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
        #[arg(long, value_parser = ["official", "manager", "admin"], default_value = "official")]
        role: String,
        /// Counters an official works at, comma separated (e.g. quay-1,quay-2).
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
        #[arg(long, value_parser = ["official", "manager", "admin"])]
        role: Option<String>,
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
        #[arg(long, value_parser = ["kiosk", "display", "counter_display", "rating"])]
        kind: String,
        #[arg(long)]
        name: String,
        /// Site code (the first site when omitted).
        #[arg(long)]
        site: Option<String>,
        /// Counter code, for counter displays and rating tablets.
        #[arg(long)]
        counter: Option<String>,
        /// The server's address as devices reach it, for the printed URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
    },
    /// List devices.
    List,
    /// Revoke a device: its token stops working at once.
    Revoke { id: i64 },
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn load_config(path: Option<&Path>) -> anyhow::Result<(CenterConfig, String)> {
    let (text, name) = match path {
        Some(p) => (
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
            p.display().to_string(),
        ),
        None => (
            DEFAULT_CONFIG_TOML.to_string(),
            "default.toml (built in)".to_string(),
        ),
    };
    match parse_config(&text, &name) {
        Ok(c) => Ok((c, text)),
        Err(errors) => bail!("the configuration has errors:\n{errors}"),
    }
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
            "no database at {} (run `luot serve --data {}` once first)",
            path.display(),
            data.display()
        );
    }
    Ok(Store::open(&path)?)
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let (center, config_toml) = load_config(args.config.as_deref())?;
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let limits = Limits {
        issue_per_s: args.issue_rate,
        issue_burst: args.issue_burst,
        ws_connections_max: args.ws_max,
        ws_anonymous_max: args.ws_anonymous_max,
        ..Limits::default()
    };
    let site_name = center.sites[0].core.name.vi.clone();
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
    println!("Luot listening on {base}");
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
    println!("  Màn hình quầy      (counter display) {base}/counter-display?counter=quay-1");
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
        Some(f) => {
            println!();
            println!(
                "  Lần chạy đầu · First start: admin login \"{}\", password: {}",
                f.admin_login, f.admin_password
            );
            println!(
                "  (shown once; change it with `luot user passwd admin`; the device links above work once each device has opened them)"
            );
        }
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

/// Installs the handlers now and returns a future that completes on SIGTERM or Ctrl-C.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
        let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
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
            luot_core::Code::new(&login).with_context(|| format!("login {login:?}"))?;
            if store.user(&login)?.is_some() {
                bail!("a user {login:?} already exists");
            }
            let (password, generated) = read_password(password_stdin)?;
            let hash = auth::hash_password(&password).map_err(anyhow::Error::msg)?;
            store.add_user(&User {
                login: login.clone(),
                display_name: name,
                role,
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
                bail!("no user {login:?}");
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
            if name
                .as_ref()
                .is_some_and(|n| n.trim().is_empty() || n.len() > 100)
            {
                bail!("--name must be 1 to 100 bytes");
            }
            let counters: Option<Vec<String>> =
                counters.map(|c| c.into_iter().filter(|c| !c.is_empty()).collect());
            let Some(before) = store.user(&login)? else {
                bail!("no user {login:?}");
            };
            if before.role == "admin"
                && role.as_deref().is_some_and(|r| r != "admin")
                && !before.disabled
                && store.active_admins()? <= 1
            {
                bail!("{login} is the last active admin: make another admin first");
            }
            store.update_user(
                &login,
                name.as_deref().map(str::trim),
                role.as_deref(),
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
                bail!("no user {login:?}");
            };
            if before.role == "admin" && !before.disabled && store.active_admins()? <= 1 {
                bail!("{login} is the last active admin: it cannot be disabled");
            }
            store.set_disabled(&login, true)?;
            store.audit(now_ms(), "cli", "user_disable", &login)?;
            println!("disabled {login}; their sessions have ended");
        }
        UserCmd::Enable { login } => {
            if !store.set_disabled(&login, false)? {
                bail!("no user {login:?}");
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
            let site = site.unwrap_or_else(|| {
                luot_proto::config::default_config().sites[0]
                    .core
                    .code
                    .to_string()
            });
            if (kind == "rating" || kind == "counter_display") && counter.is_none() {
                bail!("a {kind} device belongs to a counter: add --counter CODE");
            }
            let token = auth::new_token();
            let id = store.add_device(
                &NewDevice {
                    kind: &kind,
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
                &format!("{id} {kind} {name}"),
            )?;
            let page = match kind.as_str() {
                "counter_display" => "counter-display",
                k => k,
            };
            let extra = counter.map(|c| format!("&counter={c}")).unwrap_or_default();
            println!("paired device {id} ({kind}, {name})");
            println!(
                "open on the device: {}/{page}?device={token}{extra}",
                url.trim_end_matches('/')
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
                bail!("no active device {id}");
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
            .with_context(|| format!("no site {c:?} in the configuration")),
    }
}

fn parse_day_arg(s: &str, what: &str) -> anyhow::Result<luot_core::Day> {
    luot_proto::parse_day(s).with_context(|| format!("{what}: {s:?} is not a date (YYYY-MM-DD)"))
}

fn report_cmd(a: ReportArgs) -> anyhow::Result<()> {
    use luot_server::report;
    let (center, _) = load_config(a.config.as_deref())?;
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
        bail!("--from {from} is after --to {to}");
    }
    if to.0 - from.0 >= luot_store::reports::REPORT_DAYS_MAX {
        bail!(
            "the range is longer than {} days",
            luot_store::reports::REPORT_DAYS_MAX
        );
    }
    if !(0.5..=0.999).contains(&a.target_share) || !(1..=240).contains(&a.target_wait_min) {
        bail!("--target-share must be 0.5–0.999 and --target-wait-min 1–240");
    }
    let by = luot_store::reports::GroupBy::parse(&a.by).expect("clap checked it");
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
        bail!("no database at {}", db.display());
    }
    let conn = luot_store::open_reader(&db)?;
    let started = std::time::Instant::now();
    let out: Vec<u8> = if a.staffing {
        let s = luot_store::reports::staffing(
            &conn,
            &q,
            a.target_share,
            &report::expected_service_s(settings),
        )?;
        match a.format.as_str() {
            "json" => serde_json::to_vec_pretty(&s)?,
            "table" => report::staffing_table(settings, &s).into_bytes(),
            f => bail!("--staffing prints as table or json, not {f}"),
        }
    } else {
        let mut r = luot_store::reports::report(&conn, &q)?;
        report::order_rows(settings, &mut r);
        match a.format.as_str() {
            "table" => report::to_table(settings, &r).into_bytes(),
            "csv" => report::to_csv(settings, &r).map_err(anyhow::Error::msg)?,
            "ratings-csv" => report::ratings_csv(settings, &r).map_err(anyhow::Error::msg)?,
            "json" => serde_json::to_vec_pretty(&r)?,
            _ => {
                let s = luot_store::reports::staffing(
                    &conn,
                    &q,
                    a.target_share,
                    &report::expected_service_s(settings),
                )?;
                report::to_xlsx(settings, &r, Some(&s)).map_err(anyhow::Error::msg)?
            }
        }
    };
    tracing::debug!(ms = started.elapsed().as_millis() as u64, "report built");
    match &a.output {
        Some(p) => {
            std::fs::write(p, &out).with_context(|| format!("writing {}", p.display()))?;
            eprintln!("wrote {}", p.display());
        }
        None if a.format == "xlsx" => bail!("an xlsx report needs --output FILE"),
        None => {
            use std::io::Write;
            std::io::stdout().write_all(&out)?;
        }
    }
    Ok(())
}

fn simulate_cmd(a: SimulateArgs) -> anyhow::Result<()> {
    let (center, config_toml) = load_config(a.config.as_deref())?;
    let settings = pick_site(&center, a.site.as_deref())?;
    let from = parse_day_arg(&a.from, "--from")?;
    if !(1.0..=20_000.0).contains(&a.arrivals) || a.days == 0 || a.days > 366 {
        bail!("--arrivals must be 1–20000 and --days 1–366");
    }
    std::fs::create_dir_all(&a.data)?;
    let mut store = Store::open(&a.data.join("luot.db"))?;
    let digest = format!("simulate-{}", config_toml.len());
    store.record_config(&config_toml, &digest, now_ms())?;
    let mut site = store.recover(settings.core.clone())?;
    if let Some(d) = site.day() {
        if d >= from {
            bail!(
                "{} already has history up to {d}; simulate into an empty folder or from a later day",
                a.data.display()
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
    let cli = Cli::parse();
    init_logs(cli.log_format);
    let result = match cli.command {
        Cmd::Serve(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(anyhow::Error::from)
            .and_then(|rt| rt.block_on(serve(args))),
        Cmd::CheckConfig { file } => load_config(Some(&file)).map(|(c, _)| {
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
        Cmd::DefaultConfig => {
            print!("{DEFAULT_CONFIG_TOML}");
            Ok(())
        }
        Cmd::User { command, data } => user_cmd(command, &data),
        Cmd::Device { command, data } => device_cmd(command, &data),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
