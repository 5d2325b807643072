//! `luot serve`: runs the center, and says where phones and devices reach it.

use crate::{data_lock, first_admin, now_ms, parse_public_url};
use anyhow::Context;
use luot_server::address::Source;
use luot_server::config_in_force::{self, ConfigFile};
use luot_server::{Limits, Options};
use luot_store::Store;
use std::path::PathBuf;
use std::sync::Arc;

/// Every option can also come from the environment variable named beside it (for a service
/// unit's `EnvironmentFile`); an option on the command line wins over its variable.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
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

pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
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
    println!("  Lấy số từ xa       (number from home) {base}/lay-so");
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
