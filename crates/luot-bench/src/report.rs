//! `report`: a month of history (about 60,000 tickets) written by `luot simulate` into a real
//! SQLite file (WAL, on disk), then
//! 1. the report by department and by hour (and the staffing advice) timed in this process on a
//!    read-only connection, as `luot report` and the endpoint build them, and through the REST
//!    endpoint of a `luot serve` running on that data folder;
//! 2. the broker's call latency at a counter (`call_next` → reply, then `complete`), first with
//!    nothing else running, then while other clients request month reports back to back.

use crate::client::Outcome;
use crate::fanout::Hall;
use crate::server::{Server, Target};
use crate::stats::{Samples, Table, Verdicts, fmt_num, ms};
use anyhow::{Context, bail};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// First simulated day.
    #[arg(long, default_value = "2026-10-01")]
    pub from: String,
    /// Calendar days simulated (weekends and holidays are closed).
    #[arg(long, default_value_t = 37)]
    pub days: u32,
    /// Expected tickets per open day.
    #[arg(long, default_value_t = 2300.0)]
    pub arrivals: f64,
    /// Times each report is built (the median is the figure).
    #[arg(long, default_value_t = 11)]
    pub reps: usize,
    /// Calls measured in each phase.
    #[arg(long, default_value_t = 200)]
    pub calls: usize,
    /// Clients requesting reports back to back during the loaded phase.
    #[arg(long, default_value_t = 1)]
    pub report_clients: usize,
    /// Pause after each call and completion: the server lets one socket send 20 messages a
    /// second, and an official calls far less often.
    #[arg(long, default_value_t = 110)]
    pub gap_ms: u64,
}

impl Default for Args {
    fn default() -> Args {
        Args {
            from: "2026-10-01".into(),
            days: 37,
            arrivals: 2300.0,
            reps: 11,
            calls: 200,
            report_clients: 1,
            gap_ms: 110,
        }
    }
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let v = f();
    (v, t.elapsed())
}

/// Median, min and max of the runs, milliseconds.
fn summary(s: &Samples) -> String {
    let min = s.0.iter().copied().min().unwrap_or(0) as f64 / 1000.0;
    format!("{} (min {}, max {})", ms(s.pct(50.0)), ms(min), ms(s.max()))
}

/// The last simulated day, `YYYY-MM-DD`.
fn last_day(from: &str, days: u32) -> anyhow::Result<String> {
    let mut d = luot_proto::parse_day(from).context("--from is not YYYY-MM-DD")?;
    d.0 += days.max(1) as i32 - 1;
    Ok(d.to_string())
}

pub async fn run(target: &Target, a: &Args) -> anyhow::Result<Verdicts> {
    if target.url.is_some() {
        bail!("the report scenario starts its own server on the history it makes");
    }
    let to = last_day(&a.from, a.days)?;
    let mut b = tempfile::Builder::new();
    b.prefix("luot-bench-report-");
    let dir = match &target.data_parent {
        Some(p) => b.tempdir_in(p),
        None => b.tempdir(),
    }?;
    let data = dir.path().join("data");

    // 1. The month, through the core and the store, as `luot simulate` writes it.
    let t = Instant::now();
    let out = std::process::Command::new(&target.luot)
        .args(["simulate", "--data"])
        .arg(&data)
        .args(["--from", &a.from, "--days", &a.days.to_string()])
        .args(["--arrivals", &a.arrivals.to_string()])
        .env("RUST_LOG", "warn")
        .output()
        .with_context(|| format!("running {} simulate", target.luot.display()))?;
    if !out.status.success() {
        bail!("simulate failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let simulate_s = t.elapsed().as_secs_f64();
    let db = data.join("luot.db");
    let db_mib = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0) as f64 / 1048576.0;

    // 2. Reports in this process, on a read-only connection (a fresh one each time, as the
    //    endpoint opens one per request).
    let center = luot_proto::config::default_config();
    let settings = &center.sites[0];
    let expected = luot_server::report::expected_service_s(settings);
    let offset = 7 * 3600;
    let by = [
        (
            "report by department",
            luot_store::reports::GroupBy::Department,
        ),
        ("report by hour", luot_store::reports::GroupBy::Hour),
    ];
    let queries: Vec<_> = by
        .iter()
        .map(|(_, g)| {
            luot_server::report::query(
                settings,
                &a.from,
                &to,
                *g,
                luot_server::report::TARGET_WAIT_S_DEFAULT,
                offset,
            )
        })
        .collect();
    // One untimed run first (the file's pages into the cache), then the kinds interleaved, so
    // a burst of load from other processes does not fall on one kind only.
    let mut tickets = luot_store::reports::report(&luot_store::open_reader(&db)?, &queries[0])?
        .total
        .issued;
    let mut times: Vec<(&str, Samples)> = vec![
        (by[0].0, Samples::default()),
        ("staffing advice", Samples::default()),
        (by[1].0, Samples::default()),
    ];
    for _ in 0..a.reps {
        for (k, q) in queries.iter().enumerate() {
            let (r, d) = timed(|| -> anyhow::Result<_> {
                let conn = luot_store::open_reader(&db)?;
                Ok(luot_store::reports::report(&conn, q)?)
            });
            tickets = r?.total.issued;
            times[if k == 0 { 0 } else { 2 }].1.push(d);
        }
        let (r, d) = timed(|| -> anyhow::Result<_> {
            let conn = luot_store::open_reader(&db)?;
            Ok(luot_store::reports::staffing(
                &conn,
                &queries[0],
                0.9,
                &expected,
            )?)
        });
        r?;
        times[1].1.push(d);
    }

    // 3. The server on that history: the endpoint, then call latency without and with reports.
    let mut t2 = target.clone();
    t2.data_dir = Some(data.clone());
    t2.config = None;
    let server = Server::start(&t2)?;
    let admin = server.admin().await?;
    let site = admin.sites().await?.into_iter().next().context("no site")?;
    let path = |by: &str| format!("/sites/{site}/reports?from={}&to={to}&by={by}", a.from);
    let mut rest = Samples::default();
    for i in 0..a.reps {
        let t = Instant::now();
        admin
            .get(&path(if i % 2 == 0 { "department" } else { "hour" }))
            .await?;
        rest.push(t.elapsed());
    }

    let mut hall = Hall::set_up(&server).await?;
    let quiet = calls(&mut hall, a.calls, a.gap_ms).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut loops = Vec::new();
    for c in 0..a.report_clients.max(1) {
        let (stop, done, admin, p) = (
            stop.clone(),
            done.clone(),
            admin.clone(),
            [path("department"), path("hour")],
        );
        loops.push(tokio::spawn(async move {
            let mut i = c;
            let mut s = Samples::default();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                admin.get(&p[i % 2]).await?;
                s.push(t.elapsed());
                done.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
            anyhow::Ok(s)
        }));
    }
    // Let the first reports start before measuring.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t = Instant::now();
    let busy = calls(&mut hall, a.calls, a.gap_ms).await?;
    let busy_s = t.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let mut during = Samples::default();
    for l in loops {
        during.extend(l.await??);
    }
    let reports_done = done.load(Ordering::Relaxed);
    drop(server);

    let mut tbl = Table::new(&format!(
        "report · {} tickets, {} → {to} ({:.0} MiB SQLite file, made in {simulate_s:.1} s)",
        fmt_num(tickets as f64),
        a.from,
        db_mib
    ));
    for (name, s) in &times {
        tbl.row(
            &format!("{name}, in process, median of {}", a.reps),
            summary(s),
        );
    }
    tbl.row(
        "endpoint (report + staffing + JSON), client wall, median",
        summary(&rest),
    );
    tbl.row(
        "call_next → reply p50 / p99, nothing else running",
        format!(
            "{} / {} ({} calls)",
            ms(quiet.pct(50.0)),
            ms(quiet.pct(99.0)),
            quiet.0.len()
        ),
    );
    tbl.row(
        "call_next → reply p50 / p99, reports in a loop",
        format!(
            "{} / {} ({} calls; {reports_done} reports in {busy_s:.1} s, each {} median)",
            ms(busy.pct(50.0)),
            ms(busy.pct(99.0)),
            busy.0.len(),
            ms(during.pct(50.0))
        ),
    );
    tbl.print();
    let mut v = Verdicts::default();
    let by_dept = times[0].1.pct(50.0);
    let by_hour = times[2].1.pct(50.0);
    v.check(
        "month report by department, median",
        by_dept,
        "ms",
        true,
        200.0,
    );
    v.check("month report by hour, median", by_hour, "ms", true, 200.0);
    Ok(v)
}

/// Issues `n` tickets, then `n` times: `call_next` (timed to its reply) and `complete`.
async fn calls(hall: &mut Hall, n: usize, gap_ms: u64) -> anyhow::Result<Samples> {
    hall.issue(n).await?;
    let mut s = Samples::default();
    for _ in 0..n {
        let t = Instant::now();
        match hall.counter_cmd("call_next").await? {
            Outcome::Ok { .. } => {}
            Outcome::Refused { code } => bail!("call_next refused: {code}"),
        }
        s.push(t.elapsed());
        match hall.counter_cmd("complete").await? {
            Outcome::Ok { .. } => {}
            Outcome::Refused { code } => bail!("complete refused: {code}"),
        }
        tokio::time::sleep(Duration::from_millis(gap_ms)).await;
    }
    Ok(s)
}
