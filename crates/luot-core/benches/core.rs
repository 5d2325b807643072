//! Core benchmarks: `cargo bench -p luot-core`. A plain binary (no harness, no dependencies)
//! that prints one table:
//!
//! - choosing the next ticket with 10,000 waiting across 200 services, for a counter serving 10
//!   services and one serving all 200 (target: median ≤ 5 µs);
//! - applying a realistic mix of commands (issue, call, start, complete; a day rollover when the
//!   virtual clock passes midnight) on one core (target: ≥ 1,000,000 commands/s);
//! - replaying 1,000,000 of those events with `evolve`, as recovery does.
//!
//! Everything is deterministic (fixed seeds, virtual time), so two runs differ only by the
//! machine. Throughput is computed from the thread's on-CPU time where Linux reports it (this
//! machine's cores are shared with other builds), and the wall time is printed next to it.
//! `LUOT_BENCH_SAMPLES` sets the number of timing samples for the first part.

use luot_core::sim::Rng;
use luot_core::{
    CallReason, Channel, Code, Command, Counter, CounterService, CounterStatus, Day, Department,
    Event, Now, Policy, Prefix, PriorityCategory, Service, Site, SiteConfig, Text, TicketState,
    Token, WeekHours,
};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Vietnam is UTC+7 all year.
const OFFSET_S: i32 = 7 * 3600;
const CHOOSE_TARGET_NS: f64 = 5_000.0;
const APPLY_TARGET_PER_S: f64 = 1_000_000.0;
const REPLAY_EVENTS: usize = 1_000_000;
/// Calls timed together in one sample, so the timer's own cost (tens of ns) stays small.
const CALLS_PER_SAMPLE: u32 = 8;

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported, everything runs.
    let samples: usize = std::env::var("LUOT_BENCH_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    println!("luot-core benchmarks (one thread, virtual time)\n");
    println!(
        "{:<52} {:>13} {:>13}  target",
        "choosing the next ticket", "median", "p99"
    );
    let (site, now, narrow, wide) = choose_site();
    for (label, ci) in [
        ("choose_next: counter of 10 services, 10k waiting", narrow),
        ("choose_next: counter of 200 services, 10k waiting", wide),
    ] {
        let (median, p99) = time_choose(&site, ci, now, samples);
        println!(
            "{label:<52} {:>13} {:>13}  median ≤ 5 µs: {}",
            ns(median),
            ns(p99),
            verdict(median <= CHOOSE_TARGET_NS)
        );
    }

    println!(
        "\n{:<52} {:>13} {:>13}  target",
        "throughput (on-CPU time; wall time below)", "rate", "per item"
    );
    let run = apply_mix(REPLAY_EVENTS);
    let per_s = run.commands as f64 / run.spent.best().as_secs_f64();
    println!(
        "{:<52} {:>13} {:>13}  ≥ 1 M/s: {}",
        "apply: issue/call/start/complete mix",
        format!("{:.2} M cmd/s", per_s / 1e6),
        ns(run.spent.best().as_nanos() as f64 / run.commands as f64),
        verdict(per_s >= APPLY_TARGET_PER_S)
    );
    println!(
        "{:<52} {} commands, {} refused {:?}, {} events, {} days; {}",
        "", run.commands, run.refused, run.refusals, run.events_total, run.days, run.spent
    );

    let (spent, equal) = replay(&run);
    let events = run.recorded.len();
    println!(
        "{:<52} {:>13} {:>13}  replayed state equals live: {}",
        format!("replay: {events} events with evolve"),
        format!(
            "{:.2} M ev/s",
            events as f64 / spent.best().as_secs_f64() / 1e6
        ),
        ns(spent.best().as_nanos() as f64 / events as f64),
        verdict(equal)
    );
    println!("{:<52} {spent}", "");
    assert!(equal, "replaying the events did not rebuild the live state");
}

/// Time spent on a stretch of work by this thread: by the wall clock, and on a CPU as the
/// scheduler accounts it (Linux), which leaves out the time spent waiting for a core that
/// other processes hold. On a quiet machine the two agree.
#[derive(Clone, Copy, Default)]
struct Spent {
    wall: Duration,
    cpu: Option<Duration>,
}

impl Spent {
    /// On-CPU time where the system reports it, else wall time.
    fn best(&self) -> Duration {
        self.cpu.unwrap_or(self.wall)
    }
}

impl std::fmt::Display for Spent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.cpu {
            Some(cpu) => write!(
                f,
                "{:.0} ms on CPU, {:.0} ms wall",
                cpu.as_secs_f64() * 1e3,
                self.wall.as_secs_f64() * 1e3
            ),
            None => write!(f, "{:.0} ms wall", self.wall.as_secs_f64() * 1e3),
        }
    }
}

struct Stopwatch {
    wall: Instant,
    cpu_ns: Option<u64>,
}

impl Stopwatch {
    fn start() -> Stopwatch {
        Stopwatch {
            cpu_ns: thread_cpu_ns(),
            wall: Instant::now(),
        }
    }

    fn stop(self, into: &mut Spent) {
        into.wall += self.wall.elapsed();
        into.cpu = match (self.cpu_ns, thread_cpu_ns(), into.cpu) {
            (Some(a), Some(b), sum) => Some(sum.unwrap_or_default() + Duration::from_nanos(b - a)),
            _ => None,
        };
    }
}

/// This thread's run time so far, from `/proc/thread-self/schedstat` (its first field).
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn verdict(ok: bool) -> &'static str {
    if ok { "ok" } else { "MISSED" }
}

fn ns(x: f64) -> String {
    if x >= 10_000.0 {
        format!("{:.1} µs", x / 1000.0)
    } else {
        format!("{x:.0} ns")
    }
}

// ----- choosing the next ticket -----

/// 200 services in 20 departments, 10,000 waiting tickets (a tenth of them priority, a few
/// appointments), a counter serving 10 services and one serving all of them.
fn choose_site() -> (Site, Now, usize, usize) {
    let mut rng = Rng::new(0x5eed);
    let cfg = config(200, 20, |services| {
        vec![
            counter("narrow", 1, &services[..10]),
            counter("wide", 2, services),
        ]
    });
    // The tickets arrive over about four hours; no ticket ages past the maximum, so the
    // policy runs in full instead of stopping at an aged ticket.
    let cfg = SiteConfig {
        policy: Policy {
            max_wait_s: 24 * 3600,
            ..cfg.policy
        },
        ..cfg
    };
    let mut site = Site::new(cfg);
    let mut at = local_ms(Day::from_ymd(2026, 6, 1).0 as i64, 6 * 3600);
    apply(
        &mut site,
        Command::OpenDay {
            day: Now::from_offset(at, OFFSET_S).day,
        },
        at,
    );
    let services: Vec<Code> = site.config().services.iter().map(|s| s.code).collect();
    for i in 0..10_000u64 {
        at += 500 + (rng.next_u64() % 2000) as i64;
        let appointment = rng
            .next_u64()
            .is_multiple_of(50)
            .then(|| luot_core::Appointment {
                // Later in the day: not due yet when the counters choose.
                from_ms: at + 5 * 3_600_000,
                to_ms: at + 5 * 3_600_000 + 1_800_000,
            });
        let cmd = Command::Issue {
            phone: None,
            service: services[(rng.next_u64() % 200) as usize],
            channel: Channel::Kiosk,
            priority: rng
                .next_u64()
                .is_multiple_of(10)
                .then(|| Code::new("elderly").unwrap()),
            token: token(i),
            appointment,
            person: None,
        };
        apply(&mut site, cmd, at);
    }
    assert_eq!(site.waiting_total(), 10_000);
    for (c, o) in [("narrow", "o1"), ("wide", "o2")] {
        let cmd = Command::OpenCounter {
            counter: Code::new(c).unwrap(),
            official: Code::new(o).unwrap(),
        };
        apply(&mut site, cmd, at);
    }
    let narrow = site.counter_index(Code::new("narrow").unwrap()).unwrap();
    let wide = site.counter_index(Code::new("wide").unwrap()).unwrap();
    let now = Now::from_offset(at + 1000, OFFSET_S);
    for ci in [narrow, wide] {
        let (_, reason) = site.choose_next(ci, &now).expect("tickets wait");
        assert_eq!(
            reason,
            CallReason::NextInLine,
            "the benchmark measures the full policy"
        );
    }
    (site, now, narrow, wide)
}

/// Median and 99th percentile of one `choose_next` call, in nanoseconds.
fn time_choose(site: &Site, ci: usize, now: Now, samples: usize) -> (f64, f64) {
    // Warm the caches and the branch predictors first.
    for _ in 0..10_000 {
        black_box(site.choose_next(black_box(ci), black_box(&now)));
    }
    let mut per_call = Vec::with_capacity(samples);
    for i in 0..samples {
        let now = Now {
            at_ms: now.at_ms + i as i64,
            ..now
        };
        let start = Instant::now();
        for _ in 0..CALLS_PER_SAMPLE {
            black_box(black_box(site).choose_next(black_box(ci), black_box(&now)));
        }
        per_call.push(start.elapsed().as_nanos() as f64 / CALLS_PER_SAMPLE as f64);
    }
    per_call.sort_by(f64::total_cmp);
    let at = |q: f64| per_call[((per_call.len() - 1) as f64 * q) as usize];
    (at(0.5), at(0.99))
}

// ----- applying commands -----

struct MixRun {
    commands: u64,
    refused: u64,
    refusals: std::collections::BTreeMap<&'static str, u64>,
    events_total: u64,
    days: u64,
    spent: Spent,
    /// The first events with their times, for the replay benchmark.
    recorded: Vec<(Event, i64)>,
    /// The live state right after the last recorded event.
    state_at_recorded: Option<Site>,
    cfg: SiteConfig,
}

/// A busy center: 50 services in 20 departments, 20 counters of 8 services each. The driver
/// acts as the broker's inbox: at midnight the day opens (yesterday's backlog expires) and the
/// counters reopen; citizens keep about 2,000 tickets waiting; otherwise one command in four is
/// a new ticket and the others go round the counters, each doing its next step (call, start,
/// complete), so the mix is a quarter of each. The virtual clock moves 400 ms a command. Runs
/// until the first `record` events (or one more, to end on a command) have been recorded and at
/// least 2,000,000 commands applied. Choosing each command is timed with applying it.
fn apply_mix(record: usize) -> MixRun {
    const COMMANDS_MIN: u64 = 2_000_000;
    const BACKLOG: u32 = 2_000;
    const CHUNK: usize = 1024;
    let elderly = Code::new("elderly").unwrap();
    let mut rng = Rng::new(0xa991);
    let cfg = config(50, 20, |services| {
        (0..20)
            .map(|i| {
                let start = (i * 5) % services.len();
                let mine: Vec<Service> = (0..8)
                    .map(|k| services[(start + k * 3) % services.len()].clone())
                    .collect();
                counter(&format!("q{i}"), i as u16 + 1, &mine)
            })
            .collect()
    });
    let services: Vec<Code> = cfg.services.iter().map(|s| s.code).collect();
    let counters: Vec<Code> = cfg.counters.iter().map(|c| c.code).collect();
    let officials: Vec<Code> = (0..counters.len())
        .map(|i| Code::new(&format!("o{i}")).unwrap())
        .collect();
    let mut site = Site::new(cfg.clone());
    let mut at = local_ms(Day::from_ymd(2026, 6, 1).0 as i64, 6 * 3600);
    let mut run = MixRun {
        commands: 0,
        refused: 0,
        refusals: Default::default(),
        events_total: 0,
        days: 0,
        spent: Spent::default(),
        recorded: Vec::with_capacity(record),
        state_at_recorded: None,
        cfg,
    };
    let mut issued = 0u64;
    let mut turn = 0u64;
    let mut next_counter = 0usize;
    let mut recording = true;
    while run.commands < COMMANDS_MIN || recording {
        // Time a chunk of commands. Recording stops at a command boundary once enough events
        // are in, and the live state is cloned then, outside the timed region.
        let watch = Stopwatch::start();
        let mut snapshot = false;
        for _ in 0..CHUNK {
            let now = Now::from_offset(at, OFFSET_S);
            at += 400;
            turn += 1;
            // What the broker receives next: the day opening at midnight, counters opening,
            // then citizens taking tickets and officials calling, starting and completing.
            let cmd = if site.rollover_due(&now) {
                Command::OpenDay { day: now.day }
            } else if let Some(ci) = site
                .counters()
                .iter()
                .position(|c| c.status == CounterStatus::Closed)
            {
                Command::OpenCounter {
                    counter: counters[ci],
                    official: officials[ci],
                }
            } else if site.waiting_total() < BACKLOG || turn.is_multiple_of(4) {
                issued += 1;
                Command::Issue {
                    phone: None,
                    service: services[(rng.next_u64() % services.len() as u64) as usize],
                    channel: Channel::Kiosk,
                    priority: rng.next_u64().is_multiple_of(8).then_some(elderly),
                    token: token(issued),
                    appointment: None,
                    person: None,
                }
            } else {
                let ci = next_counter;
                next_counter = (next_counter + 1) % counters.len();
                let counter = counters[ci];
                let state = site.counters()[ci]
                    .current
                    .and_then(|id| site.ticket(id))
                    .map(|t| t.state);
                match state {
                    None => Command::CallNext { counter },
                    Some(TicketState::Called) => Command::Start { counter },
                    Some(_) => Command::Complete { counter },
                }
            };
            run.commands += 1;
            match site.apply(cmd, &now) {
                Ok(events) => {
                    run.events_total += events.len() as u64;
                    for e in events {
                        if matches!(e, Event::DayOpened { .. }) {
                            run.days += 1;
                        }
                        if recording {
                            run.recorded.push((e, now.at_ms));
                        }
                    }
                }
                Err(r) => {
                    run.refused += 1;
                    *run.refusals.entry(r.code()).or_default() += 1;
                }
            }
            if recording && run.recorded.len() >= record {
                recording = false;
                snapshot = true;
                break;
            }
        }
        watch.stop(&mut run.spent);
        if snapshot {
            run.state_at_recorded = Some(site.clone());
        }
    }
    run
}

/// Replays the recorded events into a fresh site; returns the time and whether the result
/// equals the live state at the same point.
fn replay(run: &MixRun) -> (Spent, bool) {
    let mut site = Site::new(run.cfg.clone());
    let mut spent = Spent::default();
    let watch = Stopwatch::start();
    for (e, at) in &run.recorded {
        site.evolve(black_box(e), *at);
    }
    watch.stop(&mut spent);
    let equal = run.state_at_recorded.as_ref() == Some(&site);
    (spent, equal)
}

// ----- building sites -----

fn config(
    services: usize,
    departments: usize,
    counters: impl Fn(&[Service]) -> Vec<Counter>,
) -> SiteConfig {
    let letters: Vec<String> = (b'A'..=b'Z').map(|b| (b as char).to_string()).collect();
    let departments: Vec<Department> = (0..departments)
        .map(|i| Department {
            code: Code::new(&format!("d{i}")).unwrap(),
            name: Text::new(format!("Lĩnh vực {i}"), format!("Department {i}")),
            prefix: Prefix::new(&letters[i % letters.len()]).unwrap(),
        })
        .collect();
    let services: Vec<Service> = (0..services)
        .map(|i| {
            let d = &departments[i % departments.len()];
            Service {
                code: Code::new(&format!("s{i}")).unwrap(),
                department: d.code,
                name: Text::new(format!("Thủ tục {i}"), format!("Service {i}")),
                prefix: d.prefix,
                hours: WeekHours::always(),
                daily_cap: 100_000,
                expected_service_s: 300,
                carry_over: false,
            }
        })
        .collect();
    SiteConfig {
        code: Code::new("bench").unwrap(),
        name: Text::new("Đo hiệu năng", "Benchmark"),
        departments,
        counters: counters(&services),
        services,
        priority_categories: vec![PriorityCategory {
            code: Code::new("elderly").unwrap(),
            name: Text::new("Người cao tuổi", "Elderly"),
            min_age: None,
        }],
        policy: Policy {
            tickets_per_day_max: 100_000,
            waiting_max: 50_000,
            ..Policy::default()
        },
        holidays: vec![],
    }
}

fn counter(code: &str, number: u16, services: &[Service]) -> Counter {
    Counter {
        code: Code::new(code).unwrap(),
        number,
        name: Text::new(format!("Quầy {number}"), format!("Counter {number}")),
        services: services
            .iter()
            .enumerate()
            .map(|(i, s)| CounterService {
                service: s.code,
                weight: 1 + (i % 3) as u32,
            })
            .collect(),
        priority_first: false,
    }
}

fn apply(site: &mut Site, cmd: Command, at: i64) {
    let now = Now::from_offset(at, OFFSET_S);
    if let Err(r) = site.apply(cmd.clone(), &now) {
        panic!("setting up the benchmark: {cmd:?} refused: {r}");
    }
}

fn local_ms(day: i64, secs: i64) -> i64 {
    (day * 86_400 + secs - OFFSET_S as i64) * 1000
}

fn token(n: u64) -> Token {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&n.to_le_bytes());
    b[8..].copy_from_slice(&n.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_le_bytes());
    Token(b)
}
