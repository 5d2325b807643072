//! `fanout`: N connected displays, one official calling at a counter. For every call, the time
//! from sending `call_next` to the LAST display receiving its `ticket_called` event.
//!
//! Each display is one task reading its socket; it looks only at the frame's type prefix and
//! `seq` and bumps a shared per-seq counter. The official completes each ticket before the next
//! call and the run waits until every display has that event too, so calls do not overlap.

use crate::client::{self, Hello, Outcome, Ws};
use crate::server::{Rest, Server, Target};
use crate::stats::{Samples, Table, Verdicts, mib, ms};
use anyhow::{Context, bail};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, Semaphore};
use tokio_tungstenite::tungstenite::Message;

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Connected display counts to measure at, ascending (clients are added between steps).
    #[arg(long, value_delimiter = ',', default_values_t = vec![1_000usize, 10_000])]
    pub sizes: Vec<usize>,
    /// Calls measured at each size (with 50, p99 is the slowest call).
    #[arg(long, default_value_t = 50)]
    pub calls: usize,
    /// Pause between calls, milliseconds (a call cycle is never shorter than 100 ms: the
    /// official's socket may send 20 messages a second).
    #[arg(long, default_value_t = 20)]
    pub gap_ms: u64,
    /// Handshakes in flight at once while connecting.
    #[arg(long, default_value_t = 200)]
    pub connect_parallel: usize,
}

/// The shortest time from one `call_next` to the next: two messages at the server's 20 per
/// second per socket.
const CALL_CYCLE_MIN: Duration = Duration::from_millis(100);

impl Default for Args {
    fn default() -> Args {
        Args {
            sizes: vec![1_000, 10_000],
            calls: 50,
            gap_ms: 20,
            connect_parallel: 200,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Arrival {
    count: usize,
    first: Instant,
    last: Instant,
}

/// Per event seq: how many displays have it, first and last arrival.
#[derive(Debug, Default)]
pub struct Arrivals {
    map: Mutex<HashMap<u64, Arrival>>,
    target: AtomicUsize,
    notify: Notify,
}

impl Arrivals {
    fn record(&self, seq: u64) {
        let now = Instant::now();
        let mut m = self.map.lock().expect("arrivals lock");
        let a = m.entry(seq).or_insert(Arrival {
            count: 0,
            first: now,
            last: now,
        });
        a.count += 1;
        a.last = now;
        let done = a.count >= self.target.load(Ordering::Relaxed);
        drop(m);
        if done {
            self.notify.notify_waiters();
        }
    }

    /// Waits until `target` displays have event `seq`.
    async fn complete(&self, seq: u64, timeout: Duration) -> anyhow::Result<Arrival> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let m = self.map.lock().expect("arrivals lock");
                let target = self.target.load(Ordering::Relaxed);
                match m.get(&seq) {
                    Some(a) if a.count >= target => return Ok(*a),
                    _ => {}
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let m = self.map.lock().expect("arrivals lock");
                let got = m.get(&seq).map_or(0, |a| a.count);
                bail!(
                    "event {seq} reached only {got} of {} displays in {timeout:?}",
                    self.target.load(Ordering::Relaxed)
                );
            }
        }
    }

    fn forget(&self, seq: u64) {
        self.map.lock().expect("arrivals lock").remove(&seq);
    }
}

/// A display's whole life after its snapshot: read frames, note each event's seq.
async fn display(mut ws: Ws, arrivals: Arc<Arrivals>) {
    while let Some(m) = ws.next().await {
        match m {
            Ok(Message::Text(t)) => {
                if t.starts_with(r#"{"type":"event""#) {
                    if let Some(seq) = client::find_u64(&t, r#""seq":"#) {
                        arrivals.record(seq);
                    }
                }
            }
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => {}
        }
    }
}

/// Connects `n` more displays; returns once each has its snapshot.
pub async fn connect_displays(
    url: &str,
    site: &str,
    n: usize,
    parallel: usize,
    arrivals: &Arc<Arrivals>,
) -> anyhow::Result<()> {
    let gate = Arc::new(Semaphore::new(parallel.max(1)));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for _ in 0..n {
        let (url, site, gate, arrivals, tx) = (
            url.to_string(),
            site.to_string(),
            gate.clone(),
            arrivals.clone(),
            tx.clone(),
        );
        tokio::spawn(async move {
            let permit = gate.acquire_owned().await.expect("gate open");
            let hello = Hello {
                role: "display",
                site: Some(site),
                device_token: None,
                cookie: None,
            };
            match client::connect(&url, &hello).await {
                Ok(ws) => {
                    drop(permit);
                    let _ = tx.send(Ok(()));
                    display(ws, arrivals).await;
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
        });
    }
    drop(tx);
    let mut ok = 0;
    while let Some(r) = rx.recv().await {
        r.context("a display could not connect")?;
        ok += 1;
        if ok == n {
            break;
        }
    }
    Ok(())
}

/// What a call scenario needs set up: an official at an open counter, a kiosk, a site.
pub struct Hall {
    pub site: String,
    pub counter: String,
    pub services: Vec<String>,
    pub official: Ws,
    url: String,
    kiosk_token: String,
    next_id: u64,
}

impl std::fmt::Debug for Hall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hall")
            .field("site", &self.site)
            .field("counter", &self.counter)
            .finish()
    }
}

impl Hall {
    /// Logs in as admin, creates an official for the counter serving the most services, logs
    /// them in, opens the counter over their websocket; pairs a kiosk.
    pub async fn set_up(server: &Server) -> anyhow::Result<Hall> {
        let admin = server.admin().await?;
        let site = admin.sites().await?.into_iter().next().context("no site")?;
        let setup = admin.get(&format!("/sites/{site}/setup")).await?;
        let counter = setup["counters"]
            .as_array()
            .context("no counters")?
            .iter()
            .max_by_key(|c| c["services"].as_array().map_or(0, Vec::len))
            .context("no counter")?;
        let code = counter["code"]
            .as_str()
            .context("counter code")?
            .to_string();
        let services: Vec<String> = counter["services"]
            .as_array()
            .context("counter services")?
            .iter()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect();
        let login = format!("bench-{}", std::process::id());
        let password = "bench-official-password";
        admin
            .post(
                "/admin/users",
                serde_json::json!({
                    "login": login, "display_name": "Cán bộ đo tải", "role": "official",
                    "password": password, "counters": [code],
                }),
            )
            .await?;
        let official = Rest::login(&server.base, &login, password).await?;
        let url = server.ws_url();
        let mut ows = client::connect(
            &url,
            &Hello {
                role: "counter",
                site: Some(site.clone()),
                device_token: None,
                cookie: Some(official.cookie.clone()),
            },
        )
        .await
        .context("official's counter socket")?;
        match client::command(
            &mut ows,
            "open",
            &format!(r#"{{"type":"open_counter","counter":"{code}"}}"#),
        )
        .await?
        {
            Outcome::Ok { .. } => {}
            Outcome::Refused { code: c } => bail!("open_counter refused: {c}"),
        }
        let kiosk_token = admin.pair("kiosk", "Bench kiosk", &site).await?;
        Ok(Hall {
            site,
            counter: code,
            services,
            official: ows,
            url,
            kiosk_token,
            next_id: 0,
        })
    }

    fn id(&mut self) -> String {
        self.next_id += 1;
        format!("b{}", self.next_id)
    }

    /// Issues `n` tickets spread over the counter's services, from a kiosk socket opened for
    /// this and closed after (so it never sits unread while the displays are measured).
    pub async fn issue(&mut self, n: usize) -> anyhow::Result<()> {
        let mut kiosk = client::connect(
            &self.url,
            &Hello {
                role: "kiosk",
                site: Some(self.site.clone()),
                device_token: Some(self.kiosk_token.clone()),
                cookie: None,
            },
        )
        .await
        .context("kiosk socket")?;
        for i in 0..n {
            let s = self.services[i % self.services.len()].clone();
            let id = self.id();
            match client::command(
                &mut kiosk,
                &id,
                &format!(r#"{{"type":"issue","service":"{s}"}}"#),
            )
            .await?
            {
                Outcome::Ok { .. } => {}
                Outcome::Refused { code } => bail!("issue refused: {code}"),
            }
        }
        let _ = futures_util::SinkExt::close(&mut kiosk).await;
        Ok(())
    }

    pub async fn counter_cmd(&mut self, kind: &str) -> anyhow::Result<Outcome> {
        let id = self.id();
        let c = self.counter.clone();
        client::command(
            &mut self.official,
            &id,
            &format!(r#"{{"type":"{kind}","counter":"{c}"}}"#),
        )
        .await
    }
}

pub async fn run(target: &Target, a: &Args, nofile: u64) -> anyhow::Result<Verdicts> {
    let biggest = a.sizes.iter().copied().max().unwrap_or(0);
    if (nofile as usize) < biggest + 100 {
        bail!(
            "the open-files limit is {nofile}: raise it (ulimit -n {}) for {biggest} clients",
            biggest + 1000
        );
    }
    let mut target = target.clone();
    target.config = None;
    let server = Server::start(&target)?;
    let mut hall = Hall::set_up(&server).await?;
    let url = server.ws_url();
    let arrivals = Arc::new(Arrivals::default());
    let rss_idle = server.rss_kib();
    let mut connected = 0usize;
    let mut v = Verdicts::default();
    let mut sizes = a.sizes.clone();
    sizes.sort_unstable();
    for &n in &sizes {
        // The hall's state when the displays connect: tickets waiting for this step's calls.
        hall.issue(a.calls).await?;
        let t = Instant::now();
        connect_displays(
            &url,
            &hall.site,
            n - connected,
            a.connect_parallel,
            &arrivals,
        )
        .await?;
        let connect_s = t.elapsed().as_secs_f64();
        connected = n;
        arrivals.target.store(n, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_secs(1)).await;
        let m0 = server.metrics().await.unwrap_or_default();
        let rss = server.rss_kib();

        let (mut last, mut first, mut reply) =
            (Samples::default(), Samples::default(), Samples::default());
        let started = Instant::now();
        for _ in 0..a.calls {
            let t0 = Instant::now();
            let seq = match hall.counter_cmd("call_next").await? {
                Outcome::Ok { seq } => seq,
                Outcome::Refused { code } => bail!("call_next refused: {code}"),
            };
            reply.push(t0.elapsed());
            let arr = arrivals.complete(seq, Duration::from_secs(30)).await?;
            last.push(arr.last - t0);
            first.push(arr.first - t0);
            arrivals.forget(seq);
            // Serve it, and let that event reach everyone before the next call.
            match hall.counter_cmd("complete").await? {
                Outcome::Ok { seq } => {
                    arrivals.complete(seq, Duration::from_secs(30)).await?;
                    arrivals.forget(seq);
                }
                Outcome::Refused { code } => bail!("complete refused: {code}"),
            }
            // The official's socket may send 20 messages a second (the server's limit, a burst
            // of 60): two per call, so a call every 100 ms at the fastest, or `complete` is
            // refused `rate_limited` once the burst is spent (fast machines, many calls).
            let pace = CALL_CYCLE_MIN.saturating_sub(t0.elapsed());
            tokio::time::sleep(Duration::from_millis(a.gap_ms).max(pace)).await;
        }
        let took = started.elapsed().as_secs_f64();
        let m1 = server.metrics().await.unwrap_or_default();
        let resyncs = m1.get("luot_ws_resyncs_total").copied().unwrap_or(0.0)
            - m0.get("luot_ws_resyncs_total").copied().unwrap_or(0.0);

        let mut t = Table::new(&format!(
            "fanout · {n} displays · {} calls (call_next then complete, {} ms apart, at most one call per 100 ms)",
            a.calls, a.gap_ms
        ));
        t.row("displays connected in", format!("{connect_s:.1} s"));
        t.row(
            "call → LAST display p50 / p90 / p99 / max",
            format!(
                "{} / {} / {} / {}",
                ms(last.pct(50.0)),
                ms(last.pct(90.0)),
                ms(last.pct(99.0)),
                ms(last.max())
            ),
        );
        t.row(
            "call → first display p50 / p99",
            format!("{} / {}", ms(first.pct(50.0)), ms(first.pct(99.0))),
        );
        t.row(
            "call → official's reply p50 / p99",
            format!("{} / {}", ms(reply.pct(50.0)), ms(reply.pct(99.0))),
        );
        t.row(
            "frames delivered",
            format!(
                "{} ({:.0}/s over {took:.1} s)",
                2 * a.calls * n,
                (2 * a.calls * n) as f64 / took
            ),
        );
        t.row(
            "websocket resyncs (lagging displays)",
            format!("{resyncs:.0}"),
        );
        if let (Some(i), Some(r)) = (rss_idle, rss) {
            t.row(
                "server RSS idle / with displays",
                format!("{} / {}", mib(i), mib(r)),
            );
        }
        t.print();
        let limit = if n <= 1_000 { 20.0 } else { 100.0 };
        v.check(
            &format!("call → last of {n} displays p99"),
            last.pct(99.0),
            "ms",
            true,
            limit,
        );
    }
    Ok(v)
}
