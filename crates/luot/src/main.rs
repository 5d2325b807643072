//! `luot`: the command line. `luot serve` runs the center; the other commands manage its
//! configuration, accounts and devices.
mod backup;
mod config_cmd;
mod data_lock;
mod device;
mod first_admin;
mod replay;
mod report;
mod serve;
mod simulate;
mod user;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use luot_proto::config::{CenterConfig, DEFAULT_CONFIG_TOML, parse_config};
use luot_server::config_in_force;
use luot_store::Store;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
    Serve(serve::ServeArgs),
    /// Check a configuration file and print every problem with its line and column.
    CheckConfig {
        /// The TOML file to check.
        file: PathBuf,
    },
    /// Print the built-in default configuration (a starting point for your own).
    DefaultConfig,
    /// Reports from the history: counts, waits, service times, satisfaction; staffing advice.
    Report(report::ReportArgs),
    /// Write realistic synthetic days into a data folder (for trying reports and staffing advice).
    Simulate(simulate::SimulateArgs),
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
        command: user::UserCmd,
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
        command: device::DeviceCmd,
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

fn parse_public_url(s: &str) -> Result<String, String> {
    luot_proto::config::check_public_url(s).map_err(str::to_string)
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

fn main() -> ExitCode {
    let _ = luot_server::metrics::HEAP_BYTES.set(|| HEAP.allocated());
    let cli = Cli::parse();
    init_logs(cli.log_format);
    let result = match cli.command {
        Cmd::Serve(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(anyhow::Error::from)
            .and_then(|rt| rt.block_on(serve::serve(args))),
        Cmd::CheckConfig { file } => load_config(&file).map(|(c, _)| {
            let s: usize = c.sites.iter().map(|s| s.core.services.len()).sum();
            let k: usize = c.sites.iter().map(|s| s.core.counters.len()).sum();
            println!(
                "{}: ok ({} site(s), {s} services, {k} counters)",
                file.display(),
                c.sites.len()
            );
        }),
        Cmd::Report(a) => report::report_cmd(a),
        Cmd::Simulate(a) => simulate::simulate_cmd(a),
        Cmd::Replay(a) => replay::replay_cmd(a),
        Cmd::SimulateArrivals(a) => replay::simulate_arrivals_cmd(a),
        Cmd::StaffingPlan(a) => replay::staffing_plan_cmd(a),
        Cmd::DefaultConfig => {
            print!("{DEFAULT_CONFIG_TOML}");
            Ok(())
        }
        Cmd::User { command, data } => user::user_cmd(command, &data),
        Cmd::Device { command, data } => device::device_cmd(command, &data),
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
