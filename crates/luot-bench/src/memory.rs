//! `memory`: the server's resident memory idle, then with many idle websocket clients (each
//! past hello and snapshot, then silent), measured at a few steps to show it grows linearly.

use crate::fanout::{Arrivals, Hall, connect_displays};
use crate::server::{Server, Target, proc_status_kib};
use crate::stats::{Table, Verdicts, fmt_num, mib};
use anyhow::bail;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Idle clients at the last step.
    #[arg(long, default_value_t = 10_000)]
    pub clients: usize,
    /// Tickets waiting in the hall when the clients connect (they are in every snapshot).
    #[arg(long, default_value_t = 100)]
    pub waiting: usize,
    /// Seconds to let the server settle before each reading.
    #[arg(long, default_value_t = 2.0)]
    pub settle: f64,
}

impl Default for Args {
    fn default() -> Args {
        Args {
            clients: 10_000,
            waiting: 100,
            settle: 2.0,
        }
    }
}

pub async fn run(target: &Target, a: &Args, nofile: u64) -> anyhow::Result<Verdicts> {
    if (nofile as usize) < a.clients + 100 {
        bail!(
            "the open-files limit is {nofile}: raise it (ulimit -n {}) for {} clients",
            a.clients + 1000,
            a.clients
        );
    }
    let mut target = target.clone();
    target.config = None;
    let server = Server::start(&target)?;
    if server.pid.is_none() {
        bail!("memory needs the server's PID: pass --server-pid with --server");
    }
    let mut hall = Hall::set_up(&server).await?;
    hall.issue(a.waiting).await?;
    let settle = Duration::from_secs_f64(a.settle);
    tokio::time::sleep(settle).await;
    let base = server.rss_kib().unwrap_or(0);
    let own_base = proc_status_kib(std::process::id(), "VmRSS:").unwrap_or(0);
    let url = server.ws_url();
    let arrivals = Arc::new(Arrivals::default());

    let mut steps: Vec<usize> = [1_000, a.clients / 2, a.clients]
        .into_iter()
        .filter(|&n| n > 0 && n <= a.clients)
        .collect();
    steps.dedup();
    let mut t = Table::new(&format!(
        "memory · idle websocket clients (display role, after hello + snapshot) · {} tickets waiting",
        a.waiting
    ));
    t.row("server RSS idle", mib(base));
    let mut connected = 0;
    let mut per_client = f64::NAN;
    for n in steps {
        let started = Instant::now();
        connect_displays(&url, &hall.site, n - connected, 200, &arrivals).await?;
        let took = started.elapsed().as_secs_f64();
        connected = n;
        tokio::time::sleep(settle).await;
        let rss = server.rss_kib().unwrap_or(0);
        per_client = rss.saturating_sub(base) as f64 / n as f64;
        t.row(
            &format!("{n} clients (connected in {took:.1} s)"),
            format!(
                "RSS {} (+{}), {} KiB per client",
                mib(rss),
                mib(rss.saturating_sub(base)),
                fmt_num(per_client)
            ),
        );
    }
    if let Some(pid) = server.pid {
        if let Some(hwm) = proc_status_kib(pid, "VmHWM:") {
            t.row("server peak RSS (VmHWM)", mib(hwm));
        }
    }
    let own = proc_status_kib(std::process::id(), "VmRSS:").unwrap_or(0);
    t.row(
        "load client's own RSS growth",
        format!(
            "{} ({} KiB per client)",
            mib(own.saturating_sub(own_base)),
            fmt_num(own.saturating_sub(own_base) as f64 / connected.max(1) as f64)
        ),
    );
    t.print();
    let mut v = Verdicts::default();
    v.check(
        &format!("server memory per idle client ({connected} clients)"),
        per_client,
        "KiB",
        true,
        20.0,
    );
    Ok(v)
}
