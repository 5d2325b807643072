//! Store benchmarks: durable group commit (WAL, `synchronous=FULL`) and recovery of a large day.
//!
//! `cargo bench -p luot-store` prints one table. The database lives in the system's temporary
//! folder, which must be a real disk for the fsync figures to mean anything. Targets (see the
//! store issue): ≥ 50,000 ticket events/s through group commit with kiosks waiting for their
//! tickets, and ≤ 2 s to recover a site from 1,000,000 events of one day.
//!
//! `LUOT_BENCH_QUICK=1` shortens every run (for checking that the benchmark still works);
//! `LUOT_BENCH_ONLY=commit` or `=recovery` runs one half (for profiling).

#[path = "../tests/common/mod.rs"]
mod common;

use common::{Recorder, Rng, code, first_day, midnight_ms, now};
use luot_core::{
    Channel, Command, Department, Policy, Prefix, Site, SiteConfig, Text, TicketState,
};
use luot_store::{Job, Record, Store, Writer};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// Kiosks and phones asking for tickets at once in a large center.
const PRODUCERS: usize = 32;
/// Requests in flight for a server hosting many sites.
const MANY_PRODUCERS: usize = 256;
const TARGET_EVENTS_PER_S: f64 = 50_000.0;
const RECOVERY_EVENTS: usize = 1_000_000;
const TARGET_RECOVERY_S: f64 = 2.0;

fn quick() -> bool {
    std::env::var("LUOT_BENCH_QUICK").is_ok()
}

/// CPU time of the whole process so far (all threads, also finished ones), seconds.
fn process_cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name: state is the first, utime the 12th, stime the 13th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// CPU time of the calling thread so far, seconds (`/proc/thread-self/schedstat`).
fn thread_cpu_s() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |ns| ns / 1e9)
}

/// Median time of a 4 KiB write plus `fdatasync` in the benchmark's folder: the floor of one
/// durable commit on this machine.
fn fsync_probe_ms() -> f64 {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let mut f = std::fs::File::create(dir.path().join("probe")).unwrap();
    let block = [7u8; 4096];
    let mut ms: Vec<f64> = (0..50)
        .map(|_| {
            f.write_all(&block).unwrap();
            let t = Instant::now();
            f.sync_data().unwrap();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    ms[ms.len() / 2]
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn main() {
    let run_s = if quick() { 0.3 } else { 3.0 };
    let recovery_events = if quick() { 50_000 } else { RECOVERY_EVENTS };
    let only = std::env::var("LUOT_BENCH_ONLY").unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let fsync_ms = fsync_probe_ms();
    println!(
        "luot-store benchmarks — WAL, synchronous=FULL · folder {} · 4 KiB write + fdatasync: median {fsync_ms:.2} ms · {cores} cores, load average {}",
        std::env::temp_dir().display(),
        load_average()
    );
    if only == "recovery" {
        println!();
        recovery(recovery_events).print();
        return;
    }
    println!();
    println!(
        "{:<44} {:>8} {:>9} {:>7} {:>7} {:>18} {:>15} {:>9}",
        "group commit, jobs of 1 TicketIssued",
        "events",
        "events/s",
        "commits",
        "batch",
        "commit ms mean/max",
        "ack ms p50/p99",
        "CPU µs/ev"
    );
    let waiting = group_commit(PRODUCERS, Mode::WaitForAck, run_s);
    waiting.print(&format!("{PRODUCERS} producers, each waits for its ack"));
    group_commit(MANY_PRODUCERS, Mode::WaitForAck, run_s).print(&format!(
        "{MANY_PRODUCERS} producers, each waits for its ack"
    ));
    let pipelined = group_commit(1, Mode::Pipelined, run_s);
    pipelined.print("1 producer, pipelined (no waiting)");
    group_commit(1, Mode::WaitForAck, run_s).print("1 producer, waits for each ack (baseline)");
    println!(
        "(with every producer waiting, a commit cycle carries at most one event per producer: {PRODUCERS} \
         producers over this disk's {fsync_ms:.2} ms flush allow at most {:.0} events/s)",
        PRODUCERS as f64 / fsync_ms * 1000.0
    );
    if only == "commit" {
        return;
    }
    println!();
    let recovery = recovery(recovery_events);
    recovery.print();
    println!();
    // The broker is the pipelined producer: it goes on deciding while a commit runs (replies
    // wait for durability, the broker does not). Waiting producers are bounded by the flush time
    // (the line above), so they are shown, not judged.
    let ok_commit = pipelined.events_per_s() >= TARGET_EVENTS_PER_S;
    let ok_recovery = recovery.recover_s <= TARGET_RECOVERY_S;
    println!(
        "targets: group commit as the broker uses it (pipelined) ≥ {:.0} events/s: {} ({:.0}; {PRODUCERS} waiting producers: {:.0}); recovery of {} events ≤ {TARGET_RECOVERY_S} s: {} ({:.2} s)",
        TARGET_EVENTS_PER_S,
        if ok_commit { "met" } else { "MISSED" },
        pipelined.events_per_s(),
        waiting.events_per_s(),
        recovery.events,
        if ok_recovery { "met" } else { "MISSED" },
        recovery.recover_s
    );
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Like a kiosk: submit one ticket, wait until it is durable, then the next.
    WaitForAck,
    /// One producer submitting without waiting (the broker under a burst).
    Pipelined,
}

struct CommitRun {
    events: u64,
    secs: f64,
    commits: u64,
    commit_us_total: u64,
    commit_us_max: u64,
    /// Submit-to-acknowledgement times, microseconds, sorted.
    ack_us: Vec<u64>,
    /// CPU time of the whole process during the run (producers, writer, SQLite).
    cpu_s: f64,
}

impl CommitRun {
    fn events_per_s(&self) -> f64 {
        self.events as f64 / self.secs
    }

    fn print(&self, name: &str) {
        let pct = |p: f64| {
            let i = ((self.ack_us.len() as f64 * p) as usize).min(self.ack_us.len() - 1);
            self.ack_us[i] as f64 / 1000.0
        };
        println!(
            "{:<44} {:>8} {:>9.0} {:>7} {:>7.1} {:>8.2} / {:>7.2} {:>6.2} / {:>6.2} {:>9.1}",
            name,
            self.events,
            self.events_per_s(),
            self.commits,
            self.events as f64 / self.commits as f64,
            self.commit_us_total as f64 / self.commits as f64 / 1000.0,
            self.commit_us_max as f64 / 1000.0,
            pct(0.5),
            pct(0.99),
            self.cpu_s * 1e6 / self.events as f64,
        );
    }
}

/// Numbers records and submits them in order from any thread, as the broker does.
struct Feed {
    writer: Writer,
    next: Mutex<(u64, Rng)>,
}

impl Feed {
    fn submit(&self, done: impl FnOnce(Result<(), luot_store::StoreError>) + Send + 'static) {
        let mut g = self.next.lock().unwrap();
        let (seq, rng) = &mut *g;
        let record = common::issued_record(*seq, rng);
        *seq += 1;
        self.writer.submit(Job {
            records: vec![record],
            outbox: vec![],
            epoch: 0,
            done: Box::new(done),
        });
    }
}

fn group_commit(producers: usize, mode: Mode, run_s: f64) -> CommitRun {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("bench.db")).unwrap();
    let writer = Writer::spawn(store);
    let stats = writer.stats.clone();
    let feed = Arc::new(Feed {
        writer,
        next: Mutex::new((1, Rng::new(1))),
    });
    let run = Duration::from_secs_f64(run_s);
    let cpu0 = process_cpu_s();
    let started = Instant::now();
    let mut ack_us: Vec<u64> = Vec::new();
    match mode {
        Mode::WaitForAck => {
            let threads: Vec<_> = (0..producers)
                .map(|_| {
                    let feed = feed.clone();
                    std::thread::spawn(move || {
                        let mut lat = Vec::new();
                        let (tx, rx) = mpsc::channel();
                        while started.elapsed() < run {
                            let t0 = Instant::now();
                            let tx = tx.clone();
                            feed.submit(move |r| tx.send(r).unwrap());
                            rx.recv().unwrap().expect("durable");
                            lat.push(t0.elapsed().as_micros() as u64);
                        }
                        lat
                    })
                })
                .collect();
            for t in threads {
                ack_us.extend(t.join().unwrap());
            }
        }
        Mode::Pipelined => {
            let (tx, rx) = mpsc::channel::<(Instant, Result<(), luot_store::StoreError>)>();
            let mut sent = 0u64;
            while started.elapsed() < run {
                // Keep the queue bounded as a real owner must (a few batches' worth).
                for _ in 0..1_000 {
                    let t0 = Instant::now();
                    let tx = tx.clone();
                    feed.submit(move |r| tx.send((t0, r)).unwrap());
                    sent += 1;
                }
                while sent - ack_us.len() as u64 > 8_192 {
                    let (t0, r) = rx.recv().unwrap();
                    r.expect("durable");
                    ack_us.push(t0.elapsed().as_micros() as u64);
                }
            }
            while (ack_us.len() as u64) < sent {
                let (t0, r) = rx.recv().unwrap();
                r.expect("durable");
                ack_us.push(t0.elapsed().as_micros() as u64);
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let cpu_s = process_cpu_s() - cpu0;
    ack_us.sort_unstable();
    let feed = Arc::into_inner(feed).expect("producers are done");
    let store = feed.writer.stop().expect("writer stops");
    assert_eq!(store.last_seq(), ack_us.len() as u64);
    CommitRun {
        events: ack_us.len() as u64,
        secs,
        commits: stats.commits.load(Ordering::Relaxed),
        commit_us_total: stats.commit_us_total.load(Ordering::Relaxed),
        commit_us_max: stats.commit_us_max.load(Ordering::Relaxed),
        ack_us,
        cpu_s,
    }
}

// ----- recovery -----

struct RecoveryRun {
    events: usize,
    tickets: usize,
    generate_s: f64,
    write_s: f64,
    write_cpu_s: f64,
    db_bytes: u64,
    open_s: f64,
    recover_s: f64,
    /// The thread calling `recover` (reads the log, applies the events).
    recover_cpu_s: f64,
    /// The whole process during `recover` (also the thread decoding JSON).
    recover_process_cpu_s: f64,
    /// `load_site` alone (read and decode), measured after `recover`.
    load_s: f64,
}

impl RecoveryRun {
    fn print(&self) {
        println!(
            "recovery: {} events of one day ({} tickets; issue/call/start/complete, some no-shows and ratings)",
            self.events, self.tickets
        );
        println!(
            "  generate with Site::apply {:.2} s · append in batches of 4096 (durable) {:.2} s = {:.0} events/s, CPU {:.2} s · database {:.1} MB",
            self.generate_s,
            self.write_s,
            self.events as f64 / self.write_s,
            self.write_cpu_s,
            self.db_bytes as f64 / 1e6
        );
        println!(
            "  Store::open {:.2} s · Store::recover {:.2} s = {:.0} events/s, CPU {:.2} s calling thread + decoder = {:.2} s · load_site (one thread) {:.2} s",
            self.open_s,
            self.recover_s,
            self.events as f64 / self.recover_s,
            self.recover_cpu_s,
            self.recover_process_cpu_s,
            self.load_s
        );
    }
}

/// A large center: 30 services with their own prefixes (a prefix numbers at most 9999 tickets a
/// day), 40 counters serving all of them.
fn big_site() -> SiteConfig {
    let prefixes: Vec<String> = (0..30)
        .map(|i| {
            if i < 26 {
                ((b'A' + i as u8) as char).to_string()
            } else {
                format!("Z{}", (b'A' + (i - 26) as u8) as char)
            }
        })
        .collect();
    let services: Vec<String> = (0..30).map(|i| format!("thu-tuc-{i:02}")).collect();
    let service_refs: Vec<&str> = services.iter().map(String::as_str).collect();
    SiteConfig {
        code: code(common::SITE),
        name: Text::new("Trung tâm lớn", "Large center"),
        departments: vec![Department {
            code: code("tong-hop"),
            name: Text::new("Tổng hợp", "General"),
            prefix: Prefix::new("A").unwrap(),
        }],
        services: services
            .iter()
            .zip(&prefixes)
            .map(|(s, p)| common::service(s, "tong-hop", p, false))
            .collect(),
        counters: (0..40)
            .map(|i| common::counter(&format!("q{i}"), i as u16 + 1, &service_refs, false))
            .collect(),
        priority_categories: Vec::new(),
        // 250,000 tickets in one day is far past any real center (and past the configuration
        // limit of 100,000); it is what makes a million events of one day.
        policy: Policy {
            tickets_per_day_max: 300_000,
            ..Policy::default()
        },
        holidays: Vec::new(),
    }
}

/// A million events of one day, decided by the real core: tickets are issued while fewer than
/// 200 wait, and the counters call, start and complete them in turn.
fn generate_day(events_wanted: usize) -> (Site, Vec<Record>) {
    let cfg = big_site();
    let mut site = Site::new(cfg.clone());
    let mut rec = Recorder::default();
    let mut rng = Rng::new(42);
    let mut records = Vec::with_capacity(events_wanted + 16);
    let mut at_ms = midnight_ms(first_day()) + 1_000;
    let mut apply = |site: &mut Site, cmd: Command, at_ms: i64, records: &mut Vec<Record>| {
        let open = site.day();
        if let Ok(events) = site.apply(cmd, &now(at_ms)) {
            let day = open.or(site.day());
            records.extend(rec.records(site.config().code, events, day, at_ms));
        }
    };
    apply(
        &mut site,
        Command::OpenDay { day: first_day() },
        at_ms,
        &mut records,
    );
    for (i, c) in cfg.counters.iter().enumerate() {
        let cmd = Command::OpenCounter {
            counter: c.code,
            official: code(&format!("can-bo-{i}")),
        };
        apply(&mut site, cmd, at_ms, &mut records);
    }
    let mut service = 0;
    let mut turn = 0;
    while records.len() < events_wanted {
        // 1 M events in a day of 86.4 M ms: 40 ms a step keeps them all on one day.
        at_ms += 40;
        if site.waiting_total() < 200 {
            let cmd = Command::Issue {
                phone: None,
                service: cfg.services[service].code,
                channel: Channel::Kiosk,
                priority: None,
                token: rng.token(),
                appointment: None,
                person: None,
            };
            service = (service + 1) % cfg.services.len();
            apply(&mut site, cmd, at_ms, &mut records);
        }
        let counter = cfg.counters[turn].code;
        turn = (turn + 1) % cfg.counters.len();
        let held = site
            .counter_state(counter)
            .and_then(|c| c.current)
            .and_then(|id| site.ticket(id))
            .map(|t| (t.state, t.number));
        let cmd = match held {
            None => Command::CallNext { counter },
            Some((TicketState::Called, _)) if rng.chance(3) => Command::NoShow { counter },
            Some((TicketState::Called, _)) => Command::Start { counter },
            Some((_, number)) => {
                apply(
                    &mut site,
                    Command::Complete { counter },
                    at_ms,
                    &mut records,
                );
                if !rng.chance(5) {
                    continue;
                }
                Command::Rate {
                    ticket: luot_core::TicketRef::Number(number),
                    score: rng.range(1, 4) as u8,
                    reason: None,
                }
            }
        };
        apply(&mut site, cmd, at_ms, &mut records);
    }
    assert_eq!(site.day(), Some(first_day()), "every event is on one day");
    (site, records)
}

fn recovery(events_wanted: usize) -> RecoveryRun {
    let t = Instant::now();
    let (live, records) = generate_day(events_wanted);
    let generate_s = t.elapsed().as_secs_f64();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("day.db");
    let mut store = Store::open(&path).unwrap();
    let (t, cpu) = (Instant::now(), thread_cpu_s());
    for chunk in records.chunks(4_096) {
        store.append(chunk).unwrap();
    }
    let write_s = t.elapsed().as_secs_f64();
    let write_cpu_s = thread_cpu_s() - cpu;
    drop(store);
    let db_bytes = std::fs::metadata(&path).unwrap().len();

    let t = Instant::now();
    let store = Store::open(&path).unwrap();
    let open_s = t.elapsed().as_secs_f64();
    let (t, cpu, pcpu) = (Instant::now(), thread_cpu_s(), process_cpu_s());
    let recovered = store.recover(live.config().clone()).unwrap();
    let recover_s = t.elapsed().as_secs_f64();
    let recover_cpu_s = thread_cpu_s() - cpu;
    let recover_process_cpu_s = process_cpu_s() - pcpu;
    // A fast recovery of the wrong state is worth nothing.
    assert!(
        recovered.tickets() == live.tickets(),
        "recovered tickets differ"
    );
    assert_eq!(recovered.waiting_total(), live.waiting_total());
    drop(recovered);
    let t = Instant::now();
    let loaded = store.load_site(live.config().code).unwrap();
    let load_s = t.elapsed().as_secs_f64();
    assert_eq!(loaded.len(), records.len());
    RecoveryRun {
        load_s,
        events: records.len(),
        tickets: live.tickets().len(),
        generate_s,
        write_s,
        write_cpu_s,
        db_bytes,
        open_s,
        recover_s,
        recover_cpu_s,
        recover_process_cpu_s,
    }
}
