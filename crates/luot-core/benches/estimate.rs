//! Cost of the wait estimate (`site/estimate.rs`): `cargo bench -p luot-core --bench estimate`.
//! A plain binary (no harness, no dependencies).
//!
//! Replays realistic synthetic days (`replay::realistic_day`: morning peak, lunch break) of the
//! built-in center's shape — seven departments, ten counters, one all-round priority counter —
//! through the real core, and times at every issue the promise (a newcomer's estimate, the
//! kiosk's reply), every waiting ticket's estimate (one set of futures), and the whole
//! `EstimateTable` the server's estimator thread computes for that state. Reports the median,
//! p99 and largest per-call times with the number of people waiting at the largest, from the
//! thread's on-CPU time where Linux reports it. Deterministic: fixed seeds, virtual time.

use luot_core::replay::{DayPlan, DayShape, realistic_day, replay_day};
use luot_core::site::estimate::CALLS_MAX;
use luot_core::{
    Code, Counter, CounterService, Day, Department, Now, Policy, Prefix, PriorityCategory, Service,
    Site, SiteConfig, Text, TicketId, WaitEstimate, WeekHours,
};
use std::cell::RefCell;
use std::time::Instant;

const OFFSET_S: i32 = 7 * 3600;
const DAYS: u64 = 3;

thread_local! {
    /// (ns, people waiting) of each promise at issue, each whole table, and each pass over
    /// every waiting ticket.
    static TICKET: RefCell<Vec<(u64, u32)>> = const { RefCell::new(Vec::new()) };
    static TABLE: RefCell<Vec<(u64, u32)>> = const { RefCell::new(Vec::new()) };
    static WAITING: RefCell<Vec<(u64, u32)>> = const { RefCell::new(Vec::new()) };
}

fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let (c0, w0) = (cpu_ns(), Instant::now());
    let out = f();
    let ns = match (c0, cpu_ns()) {
        (Some(a), Some(b)) => b.saturating_sub(a),
        _ => w0.elapsed().as_nanos() as u64,
    };
    (out, ns)
}

/// The promise given at issue, timed; then the whole table the server's estimator thread
/// computes for the state after the issue (every service's newcomers, every waiting ticket),
/// timed as one pass, on a copy with an empty cache as the thread gets it.
fn timed_estimate(before: &Site, after: &Site, id: TicketId, now: &Now) -> Option<WaitEstimate> {
    let waiting = after.waiting_total();
    let (est, ns) = timed(|| luot_core::replay::server_estimate(before, after, id, now));
    TICKET.with(|v| v.borrow_mut().push((ns, waiting)));
    let copy = after.clone();
    let (table, ns) = timed(|| copy.estimate_table(now));
    std::hint::black_box(table);
    TABLE.with(|v| v.borrow_mut().push((ns, waiting)));
    let ((), ns) = timed(|| {
        std::hint::black_box(after.estimate_ticket_at(id, now));
    });
    WAITING.with(|v| v.borrow_mut().push((ns, waiting)));
    est
}

fn code(s: &str) -> Code {
    Code::new(s).unwrap()
}

/// Seven departments of two to five procedures (3 to 30 minutes), ten counters.
fn center() -> SiteConfig {
    let mut hours = WeekHours::default();
    for d in 0..5 {
        hours.days[d] = vec![(7 * 60, 11 * 60 + 30), (13 * 60 + 30, 17 * 60)];
    }
    let depts: [(&str, &str, &[u32]); 7] = [
        ("ho-tich", "A", &[600, 900, 300, 1200, 420]),
        ("chung-thuc", "B", &[180, 300, 900, 1200]),
        ("dat-dai", "C", &[1800, 1500, 1200, 2400]),
        ("kinh-te", "D", &[900, 600, 600]),
        ("xa-hoi", "E", &[600, 900, 480]),
        ("truc-tuyen", "F", &[600, 300]),
        ("tra-ket-qua", "K", &[180]),
    ];
    let mut departments = Vec::new();
    let mut services = Vec::new();
    for (d, p, secs) in &depts {
        departments.push(Department {
            code: code(d),
            name: Text::new(*d, *d),
            prefix: Prefix::new(p).unwrap(),
        });
        for (k, s) in secs.iter().enumerate() {
            services.push(Service {
                code: code(&format!("{d}-{k}")),
                department: code(d),
                name: Text::new(*d, *d),
                prefix: Prefix::new(p).unwrap(),
                hours: hours.clone(),
                daily_cap: 2000,
                expected_service_s: *s,
                carry_over: false,
            });
        }
    }
    let serving = |ds: &[&str]| -> Vec<CounterService> {
        services
            .iter()
            .filter(|s| ds.contains(&s.department.as_str()))
            .map(|s| CounterService {
                service: s.code,
                weight: 1,
            })
            .collect()
    };
    let all: Vec<&str> = depts.iter().map(|d| d.0).collect();
    let plan: [&[&str]; 10] = [
        &["ho-tich"],
        &["ho-tich"],
        &["chung-thuc"],
        &["dat-dai"],
        &["dat-dai"],
        &["kinh-te"],
        &["xa-hoi"],
        &["truc-tuyen"],
        &["tra-ket-qua"],
        &all,
    ];
    let counters = plan
        .iter()
        .enumerate()
        .map(|(i, ds)| Counter {
            code: code(&format!("quay-{}", i + 1)),
            number: i as u16 + 1,
            name: Text::new("Quầy", "Counter"),
            services: serving(ds),
            priority_first: i == 9,
        })
        .collect();
    SiteConfig {
        code: code("bench"),
        name: Text::new("Trung tâm", "Center"),
        departments,
        services,
        counters,
        priority_categories: vec![PriorityCategory {
            code: code("elderly"),
            name: Text::new("Người cao tuổi", "Elderly"),
            min_age: None,
        }],
        policy: Policy::default(),
        holidays: vec![],
    }
}

fn stats(label: &str, mut v: Vec<(u64, u32)>) {
    v.sort_unstable();
    let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    let (max, at_waiting) = *v.last().unwrap();
    println!(
        "{label:<44} {:>7} {:>11} {:>11} {:>11}   {at_waiting:>7}",
        v.len(),
        us(q(0.5).0),
        us(q(0.99).0),
        us(max),
    );
}

fn us(ns: u64) -> String {
    format!("{:.1} µs", ns as f64 / 1000.0)
}

fn main() {
    let cfg = center();
    let mut site = Site::new(cfg.clone());
    let mut day = Day::from_ymd(2026, 11, 30);
    let mut tickets = 0;
    let mut peak = 0;
    for seed in 0..DAYS {
        while day.weekday() >= 5 {
            day = day.next();
        }
        let mut shape = DayShape::new(day, 100 + seed);
        shape.load = 0.85;
        let arrivals = realistic_day(&cfg, &shape);
        let plan = DayPlan {
            day,
            utc_offset_s: OFFSET_S,
            arrivals: &arrivals,
            staffing: None,
            seed,
        };
        let r = replay_day(&mut site, &plan, timed_estimate);
        tickets += r.outcomes.len();
        peak = peak.max(TICKET.with(|v| v.borrow().iter().map(|x| x.1).max().unwrap_or(0)));
        day = day.next();
    }
    println!(
        "luot-core wait estimates: {DAYS} replayed days, {tickets} tickets, {} services, up to {peak} waiting; CALLS_MAX = {CALLS_MAX}\n",
        cfg.services.len()
    );
    println!(
        "{:<44} {:>7} {:>11} {:>11} {:>11}   {:>7}",
        "on-CPU time per call", "calls", "median", "p99", "max", "waiting"
    );
    stats(
        "promise at issue (estimate_newcomer_at)",
        TICKET.with(|v| v.take()),
    );
    stats(
        "every waiting ticket at once (forecast)",
        WAITING.with(|v| v.take()),
    );
    stats(
        &format!(
            "whole table ({} services x2, every ticket)",
            cfg.services.len()
        ),
        TABLE.with(|v| v.take()),
    );
}
