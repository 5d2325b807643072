//! `issue`: concurrent kiosks, each sending `issue` and waiting for the reply (which comes only
//! once the ticket is durable) before the next. Tickets go round-robin over every service of
//! every site of the bench configuration, so no daily cap or waiting limit refuses them;
//! refusals are counted apart and never as throughput.

use crate::client::{self, Hello, Outcome};
use crate::server::{Server, Target, proc_cpu};
use crate::stats::{Samples, Table, Verdicts, fmt_num, mib, ms};
use anyhow::Context;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Concurrent kiosk websockets.
    #[arg(long, default_value_t = 32)]
    pub kiosks: usize,
    /// Seconds measured.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Seconds of load before measuring (not counted).
    #[arg(long, default_value_t = 1.0)]
    pub warmup: f64,
    /// Configuration for the started server (default: crates/luot-bench/bench.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Use only the first N sites of the configuration.
    #[arg(long)]
    pub sites: Option<usize>,
}

impl Default for Args {
    fn default() -> Args {
        Args {
            kiosks: 32,
            duration: 10.0,
            warmup: 1.0,
            config: None,
            sites: None,
        }
    }
}

pub fn default_config() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/bench.toml"))
}

#[derive(Debug, Default)]
struct KioskResult {
    latencies: Samples,
    acked: u64,
    refused: BTreeMap<String, u64>,
}

pub async fn run(target: &Target, a: &Args) -> anyhow::Result<Verdicts> {
    let mut target = target.clone();
    target.config = Some(a.config.clone().unwrap_or_else(default_config));
    let server = Server::start(&target)?;
    let admin = server.admin().await?;
    let mut sites = admin.sites().await?;
    if let Some(n) = a.sites {
        sites.truncate(n.max(1));
    }
    let mut per_site = Vec::new();
    for (i, s) in sites.iter().enumerate() {
        let services = admin.services(s).await?;
        let token = admin
            .pair("kiosk", &format!("Bench kiosk {}", i + 1), s)
            .await?;
        per_site.push((s.clone(), services, token));
    }
    let url = server.ws_url();
    let mut sockets = Vec::new();
    for k in 0..a.kiosks {
        let (site, services, token) = &per_site[k % per_site.len()];
        let ws = client::connect(
            &url,
            &Hello {
                role: "kiosk",
                site: Some(site.clone()),
                device_token: Some(token.clone()),
                cookie: None,
            },
        )
        .await
        .with_context(|| format!("kiosk {k}"))?;
        sockets.push((ws, services.clone()));
    }
    let m0 = server.metrics().await.unwrap_or_default();
    let rss0 = server.rss_kib();

    let start = Instant::now() + Duration::from_millis(50);
    let from = start + Duration::from_secs_f64(a.warmup);
    let to = from + Duration::from_secs_f64(a.duration);
    let mut tasks = Vec::new();
    for (k, (mut ws, services)) in sockets.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep_until(start.into()).await;
            let mut r = KioskResult::default();
            let mut i = 0usize;
            loop {
                let sent = Instant::now();
                if sent >= to {
                    break;
                }
                let service = &services[(k * 7 + i) % services.len()];
                i += 1;
                let id = format!("k{k}-{i}");
                let cmd = format!(r#"{{"type":"issue","service":"{service}"}}"#);
                let outcome = client::command(&mut ws, &id, &cmd).await?;
                let took = sent.elapsed();
                if sent >= from {
                    r.latencies.push(took);
                    match outcome {
                        Outcome::Ok { .. } => r.acked += 1,
                        Outcome::Refused { code } => *r.refused.entry(code).or_default() += 1,
                    }
                }
            }
            let _ = ws.close(None).await;
            anyhow::Ok(r)
        }));
    }
    // CPU of both processes over the measured window.
    tokio::time::sleep_until(from.into()).await;
    let cpu_from = (server.cpu(), proc_cpu(std::process::id()), Instant::now());
    tokio::time::sleep_until(to.into()).await;
    let cpu_to = (server.cpu(), proc_cpu(std::process::id()), Instant::now());
    let rss_load = server.rss_kib();

    let mut total = KioskResult::default();
    for t in tasks {
        let r = t.await??;
        total.latencies.extend(r.latencies);
        total.acked += r.acked;
        for (c, n) in r.refused {
            *total.refused.entry(c).or_default() += n;
        }
    }
    let m1 = server.metrics().await.unwrap_or_default();
    let delta = |k: &str| m1.get(k).copied().unwrap_or(0.0) - m0.get(k).copied().unwrap_or(0.0);

    let rate = total.acked as f64 / a.duration;
    let refused: u64 = total.refused.values().sum();
    let wall = (cpu_to.2 - cpu_from.2).as_secs_f64();
    let cpu_pct = |x: Option<Duration>, y: Option<Duration>| match (x, y) {
        (Some(x), Some(y)) => format!("{:.0} %", (y - x).as_secs_f64() / wall * 100.0),
        _ => "n/a".into(),
    };
    let mut t = Table::new(&format!(
        "issue · {} kiosks over {} site(s) · {} s measured after {} s warm-up",
        a.kiosks,
        per_site.len(),
        a.duration,
        a.warmup
    ));
    t.row(
        "acknowledged (durable) issues",
        format!("{} ({} /s)", total.acked, fmt_num(rate)),
    );
    t.row(
        "refused",
        if refused == 0 {
            "0".to_string()
        } else {
            format!("{refused} {:?}", total.refused)
        },
    );
    t.row(
        "reply latency p50 / p90 / p99 / max",
        format!(
            "{} / {} / {} / {}",
            ms(total.latencies.pct(50.0)),
            ms(total.latencies.pct(90.0)),
            ms(total.latencies.pct(99.0)),
            ms(total.latencies.max())
        ),
    );
    let commits = delta("luot_store_commits_total");
    let records = delta("luot_store_records_total");
    if commits > 0.0 {
        t.row(
            "store commits (group commit)",
            format!(
                "{commits:.0} commits, {} records each on average, mean commit {}",
                fmt_num(records / commits),
                // The histogram's sum over its count, for the commits of this run only.
                ms(delta("luot_store_commit_seconds_sum")
                    / delta("luot_store_commit_seconds_count")
                    * 1000.0)
            ),
        );
    }
    t.row(
        "CPU: server / load client (of 200 %)",
        format!(
            "{} / {}",
            cpu_pct(cpu_from.0, cpu_to.0),
            cpu_pct(cpu_from.1, cpu_to.1)
        ),
    );
    if let (Some(r0), Some(r1)) = (rss0, rss_load) {
        t.row(
            "server RSS before / under load",
            format!("{} / {}", mib(r0), mib(r1)),
        );
    }
    t.row(
        "websocket resyncs (lagging kiosks)",
        format!("{:.0}", delta("luot_ws_resyncs_total")),
    );
    t.print();

    let mut v = Verdicts::default();
    v.check(
        &format!("durable issues/s, {} kiosks", a.kiosks),
        rate,
        "/s",
        false,
        10_000.0,
    );
    v.check(
        "issue reply p99",
        total.latencies.pct(99.0),
        "ms",
        true,
        20.0,
    );
    Ok(v)
}
