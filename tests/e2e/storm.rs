//! Reconnect storm: hall displays lose their connection at random while thousands of events
//! flow (kiosks issue, officials call and complete). Some are cut at a frame boundary, some in
//! the middle of a frame (the TCP stream stops delivering bytes part-way through a message and
//! the client drops it without a close handshake). Each reconnects with `resume_from` its last
//! applied seq, at once or after the server has moved on (sometimes past the resume buffer, so
//! it must get a snapshot). At the end every display has applied exactly the server's event
//! sequence: no gap, no repeat, no reorder (a snapshot legitimately resets a view; resyncs are
//! counted), the same event at each seq as the log, and the same waiting line and counters as
//! the server. The time from reconnecting to being caught up is reported (p50, p99).
//!
//! Quick: 24 displays, 1 000 tickets (about 3 000 events). Long (`LUOT_LONG=1`): 50 displays,
//! 10 000 tickets. Replay a run with `LUOT_SEED=<seed>`.

use luot_server::Limits;
use luot_tests::{
    Rng, SITE, Setup, Socket, TestServer, long_run, open_socket, percentile, roomy_config_toml,
    test_seed,
};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// Events kept for resuming clients: small, so that a display away for a while needs a
/// snapshot.
const RESUME_BUFFER: usize = 256;
/// Longest the whole storm may take before the test fails.
const STORM_MAX: Duration = Duration::from_secs(300);
const KIOSKS: usize = 4;

/// A TCP stream that can be made to stop part-way: after `budget` more bytes, reads fail as if
/// the connection had been cut. `u64::MAX`: no limit.
struct Cut {
    inner: TcpStream,
    budget: Arc<AtomicU64>,
}

impl AsyncRead for Cut {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let budget = self.budget.load(Ordering::SeqCst);
        if budget == u64::MAX {
            return Pin::new(&mut self.inner).poll_read(cx, buf);
        }
        if budget == 0 {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "cut by the test",
            )));
        }
        let mut tmp = vec![0u8; (budget as usize).min(buf.remaining())];
        let mut part = ReadBuf::new(&mut tmp);
        match Pin::new(&mut self.inner).poll_read(cx, &mut part) {
            Poll::Ready(Ok(())) => {
                let got = part.filled();
                buf.put_slice(got);
                self.budget.fetch_sub(got.len() as u64, Ordering::SeqCst);
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

impl AsyncWrite for Cut {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// What one display knows and how it got there.
#[derive(Debug, Default)]
struct Display {
    /// Seq of the last snapshot or event applied.
    last: Option<u64>,
    /// Event seq → kind, for every event applied.
    applied: BTreeMap<u64, String>,
    /// Service → people waiting, as the hall shows it (displays get counts, not the list).
    waiting: BTreeMap<String, u64>,
    /// Counter → ticket it holds.
    current: HashMap<String, u64>,
    gaps: Vec<String>,
    repeats: Vec<u64>,
    reorders: Vec<u64>,
    snapshots: u64,
    /// Snapshots in the middle of a connection (the server found the socket lagging).
    lag_snapshots: u64,
    drops_at_boundary: u64,
    cuts_mid_frame: u64,
    resumed_by_replay: u64,
    resumed_by_snapshot: u64,
    resync: Vec<Duration>,
}

impl Display {
    fn apply_snapshot(&mut self, m: &Value) {
        let snap = &m["snapshot"];
        self.last = Some(m["seq"].as_u64().expect("snapshot seq"));
        self.waiting.clear();
        self.apply_stats(&snap["services"]);
        self.current = snap["counters"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| {
                Some((
                    c["code"].as_str()?.to_string(),
                    c["current"]["id"].as_u64()?,
                ))
            })
            .collect();
        self.snapshots += 1;
    }

    fn apply_stats(&mut self, stats: &Value) {
        for st in stats.as_array().into_iter().flatten() {
            let service = st["service"].as_str().expect("stats: service").to_string();
            self.waiting
                .insert(service, st["waiting"].as_u64().expect("stats: waiting"));
        }
    }

    fn apply_event(&mut self, m: &Value) {
        let seq = m["seq"].as_u64().expect("event seq");
        let last = self.last.expect("an event before any snapshot");
        if seq <= last {
            if self.applied.contains_key(&seq) {
                self.repeats.push(seq);
            } else {
                self.reorders.push(seq);
            }
            return;
        }
        if seq != last + 1 {
            self.gaps.push(format!("{} → {seq}", last));
        }
        self.last = Some(seq);
        let e = &m["event"];
        let kind = e["type"].as_str().unwrap().to_string();
        self.apply_stats(&m["stats"]);
        let counter = e["counter"].as_str().map(str::to_string);
        match kind.as_str() {
            "ticket_called" => {
                self.current
                    .insert(counter.unwrap(), e["ticket"].as_u64().unwrap());
            }
            "service_completed" | "ticket_no_show" => {
                self.current.remove(&counter.unwrap());
            }
            _ => {}
        }
        self.applied.insert(seq, kind);
    }
}

/// The highest seq the producers have been told is durable (and so already broadcast).
fn publish(published: &watch::Sender<u64>, seq: u64) {
    published.send_if_modified(|p| {
        let newer = seq > *p;
        *p = (*p).max(seq);
        newer
    });
}

async fn display(
    addr: std::net::SocketAddr,
    token: String,
    published: watch::Receiver<u64>,
    mut finished: watch::Receiver<Option<u64>>,
    mut rng: Rng,
) -> Display {
    let url = format!("ws://{addr}/ws");
    let mut d = Display::default();
    let mut first = true;
    loop {
        // (Re)connect, resuming from the last seq applied.
        let started = Instant::now();
        let target = *published.borrow();
        let budget = Arc::new(AtomicU64::new(u64::MAX));
        let tcp = TcpStream::connect(addr).await.expect("connect");
        tcp.set_nodelay(true).unwrap();
        let (ws, _) = tokio_tungstenite::client_async(
            url.as_str(),
            Cut {
                inner: tcp,
                budget: budget.clone(),
            },
        )
        .await
        .expect("websocket upgrade");
        let mut sock = Socket::new(ws);
        let mut hello = json!({"type": "hello", "role": "display", "device_token": token});
        if let Some(last) = d.last {
            hello["resume_from"] = json!(last);
        }
        sock.hello(&hello).await.expect("welcomed");
        let initial = first;
        first = false;
        let mut caught_up = false;
        let mut got_snapshot = false;
        if !initial && d.last.is_some_and(|l| l >= target) {
            // Nothing was missed: caught up as soon as the server took the resume.
            d.resync.push(started.elapsed());
            d.resumed_by_replay += 1;
            caught_up = true;
        }
        // Messages until this connection is dropped (or the storm is over and this display
        // has everything).
        let mut drop_after = rng.between(5, 150);
        let mut cutting = false;
        loop {
            let last_now = d.last.unwrap_or(0);
            let m = tokio::select! {
                m = sock.next_json() => m,
                _ = finished.wait_for(|f| f.is_some_and(|f| last_now >= f)) => return d,
            };
            let Some(m) = m else {
                assert!(
                    cutting,
                    "the server ended a display's connection (last seq {:?})",
                    d.last
                );
                d.cuts_mid_frame += 1;
                break;
            };
            match m["type"].as_str() {
                Some("snapshot") => {
                    if caught_up {
                        d.lag_snapshots += 1;
                    }
                    got_snapshot = true;
                    d.apply_snapshot(&m);
                }
                Some("event") => d.apply_event(&m),
                _ => continue,
            }
            if !caught_up && d.last.is_some_and(|l| l >= target) {
                if !initial {
                    d.resync.push(started.elapsed());
                    if got_snapshot {
                        d.resumed_by_snapshot += 1;
                    } else {
                        d.resumed_by_replay += 1;
                    }
                }
                caught_up = true;
            }
            if cutting || finished.borrow().is_some() {
                continue;
            }
            drop_after -= 1;
            if drop_after == 0 {
                if rng.chance(0.5) {
                    // Unplugged between two messages: no close frame.
                    d.drops_at_boundary += 1;
                    sock.abort();
                    break;
                }
                // Cut within the next few bytes: part of a frame arrives, then nothing.
                budget.store(rng.between(1, 120), Ordering::SeqCst);
                cutting = true;
            }
        }
        // Stay away a while: until the server has moved on by a few events, or by more than
        // the resume buffer holds, or not at all.
        let away = match rng.between(0, 9) {
            0..=3 => 0,
            4..=7 => rng.between(1, 60),
            _ => RESUME_BUFFER as u64 + rng.between(10, 100),
        };
        let from = *published.borrow();
        let mut p = published.clone();
        let mut f = finished.clone();
        tokio::select! {
            _ = p.wait_for(|p| *p >= from + away) => {}
            _ = f.wait_for(|f| f.is_some()) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn displays_dropped_at_random_end_with_exactly_the_servers_event_sequence() {
    let long = long_run();
    let (displays, tickets) = if long { (50, 10_000) } else { (24, 1_000) };
    // Leave some tickets waiting so the final waiting line is worth comparing.
    let to_call = tickets - tickets / 10;
    let seed = test_seed("storm");
    let mut rng = Rng::new(seed);
    let s = TestServer::start_with(Setup {
        limits: Limits {
            issue_per_s: 1e6,
            issue_burst: 1e6,
            ws_messages_per_s: 1e6,
            ws_messages_burst: 1e6,
            resume_buffer: RESUME_BUFFER,
            ..Limits::default()
        },
        config_toml: roomy_config_toml(5_000, 60_000),
        ..Setup::default()
    })
    .await;
    let addr = s.server().addr;
    let (published_tx, published_rx) =
        watch::channel(s.server().app.broker.read(|v| v.seq).await.unwrap());
    let (finished_tx, finished_rx) = watch::channel(None::<u64>);
    let t0 = Instant::now();

    let mut clients = Vec::new();
    for _ in 0..displays {
        clients.push(tokio::spawn(display(
            addr,
            s.first.display_token.clone(),
            published_rx.clone(),
            finished_rx.clone(),
            rng.fork(),
        )));
    }

    // Producers: four kiosks issue, four officials call and complete.
    let services = [
        "khai-sinh",
        "ket-hon",
        "chung-thuc-ban-sao",
        "thanh-lap-hkd",
        "vneid",
    ];
    let issued = Arc::new(AtomicU64::new(0));
    // Kiosks wait while this many tickets wait, so the line stays under the site's limit.
    let waiting_max = tickets / 10 + 300;
    let (called_tx, called_rx) = watch::channel(0u64);
    // How many kiosks have finished issuing.
    let (kiosks_done_tx, kiosks_done_rx) = watch::channel(0usize);
    let mut producers = Vec::new();
    for k in 0..KIOSKS {
        let url = s.ws_url();
        let token = s.first.kiosk_token.clone();
        let published = published_tx.clone();
        let issued = issued.clone();
        let kiosks_done = kiosks_done_tx.clone();
        let mut called = called_rx.clone();
        let mut rng = rng.fork();
        producers.push(tokio::spawn(async move {
            let mut sock = open_socket(&url, &[]).await.expect("kiosk socket");
            sock.hello(&json!({"type": "hello", "role": "kiosk", "device_token": token}))
                .await
                .expect("kiosk welcomed");
            let mut n = 0;
            loop {
                let i = issued.fetch_add(1, Ordering::SeqCst);
                if i >= tickets {
                    break;
                }
                called.wait_for(|c| i < c + waiting_max).await.unwrap();
                n += 1;
                let service = rng.pick(&services);
                let r = sock
                    .command(
                        &format!("k{k}-{n}"),
                        json!({"type": "issue", "service": service}),
                        |_| {},
                    )
                    .await
                    .expect("kiosk reply");
                assert_eq!(r["ok"], true, "{r}");
                publish(&published, r["result"]["seq"].as_u64().unwrap());
            }
            kiosks_done.send_modify(|n| *n += 1);
        }));
    }
    let admin = s.admin().await;
    let called = Arc::new(AtomicU64::new(0));
    for (i, counter) in ["quay-1", "quay-3", "quay-6", "quay-10"]
        .into_iter()
        .enumerate()
    {
        let official = s.add_official(&admin, &format!("cb-{i}"), &[counter]).await;
        let url = s.ws_url();
        let published = published_tx.clone();
        let called = called.clone();
        let called_tx = called_tx.clone();
        let mut kiosks_done = kiosks_done_rx.clone();
        producers.push(tokio::spawn(async move {
            let cookie = [(
                "cookie".to_string(),
                format!("luot_session={}", official.session),
            )];
            let mut sock = open_socket(&url, &cookie).await.expect("counter socket");
            sock.hello(&json!({"type": "hello", "role": "counter"}))
                .await
                .expect("counter welcomed");
            let mut n = 0;
            let mut id = || {
                n += 1;
                format!("{counter}-{n}")
            };
            let r = sock
                .command(
                    &id(),
                    json!({"type": "open_counter", "counter": counter}),
                    |_| {},
                )
                .await
                .expect("reply");
            assert_eq!(r["ok"], true, "{r}");
            publish(&published, r["result"]["seq"].as_u64().unwrap());
            loop {
                if called.load(Ordering::SeqCst) >= to_call {
                    return;
                }
                let mut issued_meanwhile = false;
                let r = sock
                    .command(
                        &id(),
                        json!({"type": "call_next", "counter": counter}),
                        |m| {
                            issued_meanwhile |= m["event"]["type"] == "ticket_issued";
                        },
                    )
                    .await
                    .expect("reply");
                if r["ok"] != true {
                    assert_eq!(r["error"]["code"], "queue_empty", "{r}");
                    // Wait for the next ticket anywhere and try again; with every ticket
                    // issued, nothing more is coming for this counter.
                    while !issued_meanwhile {
                        tokio::select! {
                            m = sock.next_json() => {
                                let m = m.expect("counter socket open");
                                issued_meanwhile = m["event"]["type"] == "ticket_issued";
                            }
                            _ = kiosks_done.wait_for(|n| *n == KIOSKS) => return,
                        }
                    }
                    continue;
                }
                if called.fetch_add(1, Ordering::SeqCst) >= to_call {
                    // One too many: leave it called (the final state has called tickets too).
                    publish(&published, r["result"]["seq"].as_u64().unwrap());
                    return;
                }
                publish(&published, r["result"]["seq"].as_u64().unwrap());
                called_tx.send_modify(|c| *c += 1);
                let r = sock
                    .command(
                        &id(),
                        json!({"type": "complete", "counter": counter}),
                        |_| {},
                    )
                    .await
                    .expect("reply");
                assert_eq!(r["ok"], true, "{r}");
                publish(&published, r["result"]["seq"].as_u64().unwrap());
            }
        }));
    }
    for p in producers {
        tokio::time::timeout(STORM_MAX, p)
            .await
            .expect("producers finish in time")
            .expect("producer");
    }
    let produced_in = t0.elapsed();

    // The storm is over: every display must reach the server's last seq.
    let final_seq = s.server().app.broker.read(|v| v.seq).await.unwrap();
    finished_tx.send_replace(Some(final_seq));
    let mut views = Vec::new();
    for c in clients {
        views.push(
            tokio::time::timeout(STORM_MAX, c)
                .await
                .expect("every display catches up")
                .expect("display task"),
        );
    }

    // The truth: the log and the server's state.
    let log: HashMap<u64, String> = {
        let c = rusqlite::Connection::open_with_flags(
            s.db_path(),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        let mut stmt = c.prepare("SELECT seq, kind FROM events").unwrap();
        stmt.query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let snap = s
        .http()
        .get(&format!("/api/v1/sites/{SITE}/snapshot"))
        .await
        .json();
    assert_eq!(snap["seq"].as_u64(), Some(final_seq));
    let mut truth = Display::default();
    truth.apply_snapshot(&snap);

    let mut resync: Vec<Duration> = Vec::new();
    let (mut boundary, mut mid, mut replays, mut snapshots, mut lagged, mut applied) =
        (0, 0, 0, 0, 0, 0);
    let (mut gaps, mut repeats, mut reorders, mut wrong) = (0, 0, 0, 0);
    for (i, d) in views.iter().enumerate() {
        gaps += d.gaps.len();
        repeats += d.repeats.len();
        reorders += d.reorders.len();
        let mismatched: Vec<_> = d
            .applied
            .iter()
            .filter(|(seq, kind)| log.get(seq) != Some(kind))
            .collect();
        wrong += mismatched.len();
        assert!(d.gaps.is_empty(), "display {i}: gaps {:?}", d.gaps);
        assert!(d.repeats.is_empty(), "display {i}: repeats {:?}", d.repeats);
        assert!(
            d.reorders.is_empty(),
            "display {i}: reorders {:?}",
            d.reorders
        );
        assert!(
            mismatched.is_empty(),
            "display {i}: events unlike the log {mismatched:?}"
        );
        assert_eq!(
            d.last,
            Some(final_seq),
            "display {i} ends at the server's seq"
        );
        assert_eq!(
            d.waiting, truth.waiting,
            "display {i}: the waiting counts per service"
        );
        assert_eq!(
            d.current, truth.current,
            "display {i}: what the counters hold"
        );
        boundary += d.drops_at_boundary;
        mid += d.cuts_mid_frame;
        replays += d.resumed_by_replay;
        snapshots += d.resumed_by_snapshot;
        lagged += d.lag_snapshots;
        applied += d.applied.len();
        resync.extend(&d.resync);
    }
    resync.sort();
    let reconnects = boundary + mid;
    println!(
        "storm: seed {seed}; {displays} displays, {} events (last seq {final_seq}) produced in {:.1} s",
        log.len(),
        produced_in.as_secs_f64()
    );
    println!(
        "storm: {reconnects} reconnects ({boundary} dropped between frames, {mid} cut inside a frame); \
         {replays} caught up by replay, {snapshots} by snapshot; {lagged} lag snapshots; {applied} events applied"
    );
    println!(
        "storm: gaps {gaps}, repeats {repeats}, reorders {reorders}, events unlike the log {wrong}; \
         resync p50 {:?}, p99 {:?}, max {:?} over {} resyncs",
        percentile(&resync, 50.0),
        percentile(&resync, 99.0),
        resync.last().copied().unwrap_or_default(),
        resync.len()
    );
    // The storm was one: both kinds of cut, and both ways back.
    assert!(boundary > 0 && mid > 0, "both kinds of drop happened");
    assert!(
        replays > 0 && snapshots > 0,
        "both replays and snapshots were needed"
    );
    assert!(
        reconnects as usize >= displays * 5,
        "{reconnects} reconnects is no storm"
    );
    assert!(
        truth.waiting.values().sum::<u64>() > 0,
        "the final waiting line is not trivially empty"
    );
}
