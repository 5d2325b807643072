//! `luot-bench`: a load generator for a real `luot serve`, over websockets, with simulated
//! kiosks, counters and displays. It prints throughput, latency percentiles and the server's
//! memory, and one line per target of the project's "Figures to reach" (BENCHMARKS.md).
//!
//! Without `--server` each scenario starts its own `luot serve` (`target/release/luot`, beside
//! this binary) on 127.0.0.1:0 with a fresh temp data folder, raised issue and connection
//! limits and a clock inside opening hours, and stops it at the end.

mod client;
mod fanout;
mod issue;
mod memory;
mod report;
mod server;
mod stats;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(name = "luot-bench", about = "Load generator for `luot serve`")]
struct Cli {
    /// Drive this running server (e.g. http://127.0.0.1:8080) instead of starting one. It must
    /// allow the load: `--issue-rate`/`--issue-burst` and `--ws-max`/`--ws-anonymous-max` raised.
    #[arg(long, global = true)]
    server: Option<String>,
    /// Admin password of the --server (its first start printed it).
    #[arg(long, global = true, env = "LUOT_BENCH_ADMIN_PASSWORD")]
    admin_password: Option<String>,
    /// PID of the --server, to read its memory from /proc.
    #[arg(long, global = true)]
    server_pid: Option<u32>,
    /// The `luot` binary to start (default: beside this one, i.e. target/release/luot).
    #[arg(long, global = true)]
    luot: Option<PathBuf>,
    /// Keep the started server's temp data folder and log.
    #[arg(long, global = true)]
    keep_data: bool,
    /// Create the started server's data folder in this folder (default: the system temp
    /// folder). Its disk's fsync latency bounds the durable issue rate.
    #[arg(long, global = true)]
    data_parent: Option<PathBuf>,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand, Debug)]
enum Scenario {
    /// Durable ticket issues from concurrent kiosks, each waiting for every reply.
    Issue(issue::Args),
    /// Call → every connected display: time to the last client receiving `ticket_called`.
    Fanout(fanout::Args),
    /// Server memory idle and with many idle websocket clients.
    Memory(memory::Args),
    /// A month of history in a real SQLite file: report times, and call latency while reports
    /// run in a loop.
    Report(report::Args),
    /// The three scenarios with their defaults, one after another.
    All,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Ten thousand sockets here and as many in the server (which inherits the limit).
    let nofile = server::raise_nofile(65_536);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let target = server::Target {
        data_dir: None,
        url: cli.server.clone(),
        luot: cli.luot.clone().unwrap_or_else(server::default_luot),
        admin_password: cli.admin_password.clone(),
        pid: cli.server_pid,
        config: None,
        keep_data: cli.keep_data,
        data_parent: cli.data_parent.clone(),
    };
    println!(
        "luot-bench · {} CPU(s) · open-files limit {nofile} · server {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cli.server.as_deref().unwrap_or("started here")
    );
    let result = rt.block_on(async {
        match cli.scenario {
            Scenario::Issue(a) => issue::run(&target, &a).await,
            Scenario::Fanout(a) => fanout::run(&target, &a, nofile).await,
            Scenario::Memory(a) => memory::run(&target, &a, nofile).await,
            Scenario::Report(a) => report::run(&target, &a).await,
            Scenario::All => {
                let mut v = issue::run(&target, &issue::Args::default()).await?;
                v.0.extend(
                    fanout::run(&target, &fanout::Args::default(), nofile)
                        .await?
                        .0,
                );
                v.0.extend(
                    memory::run(&target, &memory::Args::default(), nofile)
                        .await?
                        .0,
                );
                println!();
                println!("== all targets ==");
                Ok(v)
            }
        }
    });
    // Client tasks may still be parked on sockets; do not wait for them.
    rt.shutdown_background();
    match result {
        Ok(v) => {
            v.print();
            if v.all_met() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
