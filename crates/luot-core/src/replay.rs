//! Replaying a day: citizens arrive as a recorded (or synthetic) day says, officials call as soon
//! as a counter is free, and each ticket is promised a wait at issue by the same estimate the
//! server gives the kiosk. Virtual time, the real [`Site`]; used by `luot replay` and the
//! estimate tests. [`realistic_day`] writes synthetic days for it.

use crate::command::Command;
use crate::event::Event;
use crate::ids::{Code, TicketId, Token};
use crate::rejection::Rejection;
use crate::sim::Rng;
use crate::site::{CounterStatus, Site, WaitEstimate};
use crate::ticket::Channel;
use crate::time::{Day, Minute, Now};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

/// Seconds an official waits for a citizen who does not come before marking the no-show.
pub const NO_SHOW_WAIT_S: u32 = 60;
/// Waits at least this long count in `median_abs_error_share` (a minute off a two-minute wait
/// is not a bad estimate).
pub const ERROR_WAIT_S_MIN: u32 = 300;
/// Most arrivals in one replayed day (`Policy::tickets_per_day_max` is the site's own limit).
pub const ARRIVALS_MAX: usize = 20_000;

/// What a citizen came for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wanted {
    Service(Code),
    /// A department, by code or ticket prefix: the replay picks one of its services (seeded).
    Department(Code),
}

/// The replay seed of the `k`-th day of a run with `--seed seed`: one per day, so that the same
/// files and seed give the same replay (`luot staffing-plan` and the reports page's plan use the
/// first day's, so a plan replays as it was searched).
pub fn day_seed(seed: u64, k: usize) -> u64 {
    seed.wrapping_mul(0x9E37_79B9).wrapping_add(k as u64)
}

/// One citizen of the arrivals file.
#[derive(Clone, Debug, PartialEq)]
pub struct Arrival {
    /// Seconds since local midnight.
    pub at_s: u32,
    pub wanted: Wanted,
    pub priority: Option<Code>,
    /// How long the official takes, from the call to done.
    pub service_s: u32,
    pub no_show: bool,
    pub channel: Channel,
}

/// One row of a staffing file: `counter` is open (or closed) from `from_s` to `to_s`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shift {
    pub from_s: u32,
    pub to_s: u32,
    pub counter: Code,
    pub open: bool,
}

/// The wait estimate a replay promises at issue, given the site just before and just after the
/// ticket `id` was issued: the server's by default.
pub type Estimator =
    fn(before: &Site, after: &Site, id: TicketId, now: &Now) -> Option<WaitEstimate>;

/// The server's estimate, as given in the kiosk's reply and printed: a newcomer's of the ticket's
/// kind (normal or priority) to its service, computed on the state it was issued in
/// (`Site::estimate_newcomer_at`, the table entry `Site::estimate_ticket` answers with).
pub fn server_estimate(
    before: &Site,
    after: &Site,
    id: TicketId,
    now: &Now,
) -> Option<WaitEstimate> {
    let t = after.ticket(id)?;
    before.estimate_newcomer_at(*t.service, t.is_priority(), now)
}

/// The estimate a phone follows once the ticket waits (every waiting ticket's, computed at once:
/// `Site::estimate_ticket_at`), taken right after issue.
pub fn running_estimate(
    _before: &Site,
    after: &Site,
    id: TicketId,
    now: &Now,
) -> Option<WaitEstimate> {
    after.estimate_ticket_at(id, now)
}

/// One day to replay.
#[derive(Clone, Debug)]
pub struct DayPlan<'a> {
    pub day: Day,
    pub utc_offset_s: i32,
    pub arrivals: &'a [Arrival],
    /// `None`: every counter is open during its services' opening hours, and at the end of a
    /// session serves until nobody it serves waits ("làm hết việc"). `Some`: counters are open
    /// exactly in the rows' intervals (`open = 0` rows close them), finishing the citizen at the
    /// desk when one ends.
    pub staffing: Option<&'a [Shift]>,
    pub seed: u64,
}

/// What happened to one ticket.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// Index in the arrivals.
    pub arrival: usize,
    pub number: String,
    pub service: Code,
    pub department: Code,
    pub issued_s: u32,
    pub called_s: Option<u32>,
    /// The range promised at issue.
    pub promised: Option<(u32, u32)>,
    /// "Not enough data" was shown at issue.
    pub uncertain: bool,
    pub ahead: u32,
}

impl Outcome {
    pub fn wait_s(&self) -> Option<u32> {
        self.called_s.map(|c| c.saturating_sub(self.issued_s))
    }
}

/// A replayed day.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DayResult {
    pub day: Option<Day>,
    pub outcomes: Vec<Outcome>,
    /// Arrivals that got no ticket, and why.
    pub refused: Vec<(usize, Rejection)>,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    /// A counter is done with its citizen (or gives up on a no-show).
    Free(usize),
    /// The staffing changes.
    Staff,
    Arrive(usize),
}

/// Replays one day on `site` (opening the day; the site keeps what it learned for the next).
pub fn replay_day(site: &mut Site, plan: &DayPlan<'_>, estimator: Estimator) -> DayResult {
    let mut rng = Rng::new(plan.seed);
    let cfg = site.config().clone();
    let midnight_ms = plan.day.0 as i64 * 86_400_000 - plan.utc_offset_s as i64 * 1000;
    let now_at = |ms: i64| Now::from_offset(ms, plan.utc_offset_s);
    let mut result = DayResult {
        day: Some(plan.day),
        ..DayResult::default()
    };
    if site
        .apply(Command::OpenDay { day: plan.day }, &now_at(midnight_ms))
        .is_err()
    {
        return result;
    }
    let weekday = plan.day.weekday() as usize;
    // Each counter's open intervals (seconds of the day).
    let duty: Vec<Vec<(u32, u32)>> = cfg
        .counters
        .iter()
        .map(|c| match plan.staffing {
            Some(rows) => shifts_of(rows, c.code),
            None => {
                let mut v: Vec<(u32, u32)> = c
                    .services
                    .iter()
                    .filter_map(|s| cfg.service(s.service))
                    .flat_map(|s| s.hours.days[weekday].iter().copied())
                    .map(|(a, b)| (a as u32 * 60, b as u32 * 60))
                    .collect();
                merge(&mut v);
                v
            }
        })
        .collect();
    let on_duty = |ci: usize, s: u32| duty[ci].iter().any(|&(a, b)| a <= s && s < b);
    let until_empty = plan.staffing.is_none();

    let mut heap: BinaryHeap<Reverse<(i64, Step)>> = BinaryHeap::new();
    for (i, a) in plan.arrivals.iter().enumerate() {
        heap.push(Reverse((
            midnight_ms + a.at_s as i64 * 1000,
            Step::Arrive(i),
        )));
    }
    let mut changes: Vec<u32> = duty.iter().flatten().flat_map(|&(a, b)| [a, b]).collect();
    changes.sort_unstable();
    changes.dedup();
    for s in changes {
        heap.push(Reverse((midnight_ms + s as i64 * 1000, Step::Staff)));
    }
    let mut arrival_of: HashMap<TicketId, usize> = HashMap::new();
    let mut outcome_of: HashMap<TicketId, usize> = HashMap::new();
    // Busy counters, and idle open ones waiting for someone to call.
    let mut busy = vec![false; cfg.counters.len()];
    let official = |ci: usize| Code::new(&format!("replay-{}", cfg.counters[ci].number)).ok();

    // Calls the next citizen at an idle open counter; schedules when it is free again.
    let call = |site: &mut Site,
                ci: usize,
                ms: i64,
                busy: &mut Vec<bool>,
                heap: &mut BinaryHeap<Reverse<(i64, Step)>>,
                arrival_of: &HashMap<TicketId, usize>,
                outcome_of: &HashMap<TicketId, usize>,
                result: &mut DayResult| {
        let code = cfg.counters[ci].code;
        let Ok(events) = site.apply(Command::CallNext { counter: code }, &now_at(ms)) else {
            return false;
        };
        let Some(Event::TicketCalled { ticket, .. }) = events.first() else {
            return false;
        };
        let s = ((ms - midnight_ms) / 1000) as u32;
        if let Some(&o) = outcome_of.get(ticket) {
            result.outcomes[o].called_s.get_or_insert(s);
        }
        let (service_s, no_show) = arrival_of
            .get(ticket)
            .map(|&a| (plan.arrivals[a].service_s, plan.arrivals[a].no_show))
            .unwrap_or((600, false));
        let hold = if no_show { NO_SHOW_WAIT_S } else { service_s };
        busy[ci] = true;
        heap.push(Reverse((ms + hold as i64 * 1000, Step::Free(ci))));
        true
    };

    while let Some(Reverse((ms, step))) = heap.pop() {
        let s = ((ms - midnight_ms) / 1000) as u32;
        let now = now_at(ms);
        match step {
            Step::Arrive(i) => {
                let a = &plan.arrivals[i];
                let service = match a.wanted {
                    Wanted::Service(c) => c,
                    Wanted::Department(d) => {
                        let of: Vec<Code> = cfg
                            .services
                            .iter()
                            .filter(|s| s.department == d)
                            .map(|s| s.code)
                            .collect();
                        if of.is_empty() {
                            result.refused.push((i, Rejection::UnknownService(d)));
                            continue;
                        }
                        *rng.pick(&of)
                    }
                };
                let token = Token(
                    [rng.next_u64().to_le_bytes(), rng.next_u64().to_le_bytes()]
                        .concat()
                        .try_into()
                        .expect("16 bytes"),
                );
                let cmd = Command::Issue {
                    phone: None,
                    service,
                    channel: a.channel,
                    priority: a.priority,
                    token,
                    appointment: None,
                    person: None,
                };
                let before = site.clone();
                match site.apply(cmd, &now) {
                    Ok(events) => {
                        let Some(Event::TicketIssued { ticket, number, .. }) = events.first()
                        else {
                            continue;
                        };
                        let est = estimator(&before, site, *ticket, &now);
                        let department = cfg.service(service).map_or(service, |s| s.department);
                        arrival_of.insert(*ticket, i);
                        outcome_of.insert(*ticket, result.outcomes.len());
                        result.outcomes.push(Outcome {
                            arrival: i,
                            number: number.to_string(),
                            service,
                            department,
                            issued_s: s,
                            called_s: None,
                            promised: est.and_then(|e| e.range_s),
                            uncertain: est.is_some_and(|e| e.uncertain),
                            ahead: est.map_or(0, |e| e.ahead),
                        });
                    }
                    Err(r) => {
                        result.refused.push((i, r));
                        continue;
                    }
                }
                for ci in 0..busy.len() {
                    if !busy[ci] && is_open(site, &cfg, ci) {
                        call(
                            site,
                            ci,
                            ms,
                            &mut busy,
                            &mut heap,
                            &arrival_of,
                            &outcome_of,
                            &mut result,
                        );
                    }
                }
            }
            Step::Free(ci) => {
                busy[ci] = false;
                let code = cfg.counters[ci].code;
                let held = site.counter_state(code).and_then(|c| c.current);
                if let Some(t) = held {
                    let no_show = arrival_of
                        .get(&t)
                        .is_some_and(|&a| plan.arrivals[a].no_show);
                    let cmd = if no_show {
                        Command::NoShow { counter: code }
                    } else {
                        Command::Complete { counter: code }
                    };
                    let _ = site.apply(cmd, &now);
                }
                // On duty (or finishing the hall at the end of a session): call the next. Off
                // duty with nobody called: the counter closes.
                let keep_on = on_duty(ci, s) || until_empty;
                let called = keep_on
                    && call(
                        site,
                        ci,
                        ms,
                        &mut busy,
                        &mut heap,
                        &arrival_of,
                        &outcome_of,
                        &mut result,
                    );
                if !called && !on_duty(ci, s) {
                    let _ = site.apply(Command::CloseCounter { counter: code }, &now);
                }
            }
            Step::Staff => {
                for ci in 0..busy.len() {
                    let code = cfg.counters[ci].code;
                    let open = is_open(site, &cfg, ci);
                    if on_duty(ci, s) && !open {
                        if let Some(o) = official(ci) {
                            let _ = site.apply(
                                Command::OpenCounter {
                                    counter: code,
                                    official: o,
                                },
                                &now,
                            );
                        }
                        call(
                            site,
                            ci,
                            ms,
                            &mut busy,
                            &mut heap,
                            &arrival_of,
                            &outcome_of,
                            &mut result,
                        );
                    } else if !on_duty(ci, s) && open && !busy[ci] {
                        // Idle at the end of its shift: it closes (a busy one closes when free).
                        let _ = site.apply(Command::CloseCounter { counter: code }, &now);
                    }
                }
            }
        }
    }
    result
}

fn is_open(site: &Site, cfg: &crate::config::SiteConfig, ci: usize) -> bool {
    site.counter_state(cfg.counters[ci].code)
        .is_some_and(|c| c.status == CounterStatus::Open)
}

/// A counter's open intervals from staffing rows: opened by `open` rows, minus `closed` rows.
fn shifts_of(rows: &[Shift], counter: Code) -> Vec<(u32, u32)> {
    let mut open: Vec<(u32, u32)> = rows
        .iter()
        .filter(|r| r.counter == counter && r.open && r.from_s < r.to_s)
        .map(|r| (r.from_s, r.to_s))
        .collect();
    merge(&mut open);
    for r in rows.iter().filter(|r| r.counter == counter && !r.open) {
        open = open
            .into_iter()
            .flat_map(|(a, b)| {
                let mut v = Vec::with_capacity(2);
                if a < r.from_s.min(b) {
                    v.push((a, r.from_s.min(b)));
                }
                if r.to_s.max(a) < b {
                    v.push((r.to_s.max(a), b));
                }
                v
            })
            .collect();
    }
    open
}

fn merge(v: &mut Vec<(u32, u32)>) {
    v.sort_unstable();
    let mut out: Vec<(u32, u32)> = Vec::with_capacity(v.len());
    for &(a, b) in v.iter() {
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    *v = out;
}

// ----- figures -----

/// How well the promised waits held, for a set of tickets.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Figures {
    pub tickets: u32,
    /// Tickets called (the others were still waiting when the replay ended).
    pub served: u32,
    /// Called tickets promised a range at issue.
    pub with_range: u32,
    /// Called tickets told "not enough data" at issue.
    pub uncertain: u32,
    /// Of the called tickets promised a range, the share whose real wait fell inside it.
    pub inside_range_share: Option<f64>,
    /// Median of high − low over the ranges promised at issue.
    pub median_width_s: Option<u32>,
    /// Median of |midpoint − real wait| / real wait over the called tickets with a range that
    /// waited at least [`ERROR_WAIT_S_MIN`].
    pub median_abs_error_share: Option<f64>,
    pub median_wait_s: Option<u32>,
    pub p90_wait_s: Option<u32>,
}

impl Figures {
    pub fn of<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>) -> Figures {
        let mut f = Figures::default();
        let (mut inside, mut widths, mut errors, mut waits) = (0u32, vec![], vec![], vec![]);
        for o in outcomes {
            f.tickets += 1;
            let Some(wait) = o.wait_s() else { continue };
            f.served += 1;
            waits.push(wait);
            f.uncertain += o.uncertain as u32;
            let Some((low, high)) = o.promised else {
                continue;
            };
            f.with_range += 1;
            inside += (low <= wait && wait <= high) as u32;
            widths.push(high - low);
            if wait >= ERROR_WAIT_S_MIN {
                let mid = (low as f64 + high as f64) / 2.0;
                errors.push((mid - wait as f64).abs() / wait as f64);
            }
        }
        waits.sort_unstable();
        widths.sort_unstable();
        errors.sort_by(f64::total_cmp);
        f.inside_range_share = (f.with_range > 0).then(|| inside as f64 / f.with_range as f64);
        f.median_width_s = quantile(&widths, 0.5);
        f.median_abs_error_share = quantile(&errors, 0.5);
        f.median_wait_s = quantile(&waits, 0.5);
        f.p90_wait_s = quantile(&waits, 0.9);
        f
    }

    /// The targets of docs/wait-estimates.md: inside ≥ 0.80, median width ≤ max(900 s, half the
    /// median wait), median midpoint error ≤ 0.25. Says which failed.
    pub fn check_targets(&self) -> Result<(), String> {
        let mut bad = Vec::new();
        let inside = self.inside_range_share.unwrap_or(0.0);
        if inside < 0.80 {
            bad.push(format!("inside_range_share {inside:.3} < 0.80"));
        }
        let width = self.median_width_s.unwrap_or(u32::MAX);
        let width_max = 900f64.max(0.5 * self.median_wait_s.unwrap_or(0) as f64);
        if width as f64 > width_max {
            bad.push(format!("median_width_s {width} > {width_max:.0}"));
        }
        let err = self.median_abs_error_share.unwrap_or(f64::INFINITY);
        if err > 0.25 {
            bad.push(format!("median_abs_error_share {err:.3} > 0.25"));
        }
        if bad.is_empty() {
            Ok(())
        } else {
            Err(bad.join("; "))
        }
    }
}

/// Figures for all tickets and per department (in configuration order).
pub fn figures_by_department(
    cfg: &crate::config::SiteConfig,
    outcomes: &[Outcome],
) -> (Figures, Vec<(Code, Figures)>) {
    let mut by: BTreeMap<usize, Vec<&Outcome>> = BTreeMap::new();
    for o in outcomes {
        let d = cfg
            .departments
            .iter()
            .position(|d| d.code == o.department)
            .unwrap_or(usize::MAX);
        by.entry(d).or_default().push(o);
    }
    let per = by
        .into_iter()
        .filter_map(|(d, os)| Some((cfg.departments.get(d)?.code, Figures::of(os))))
        .collect();
    (Figures::of(outcomes), per)
}

/// Length of the slices [`figures_by_half_hour`] cuts a day into.
pub const HALF_HOUR_S: u32 = 1800;

/// Figures of the citizens who took a ticket in each half hour, per department: (start of the
/// half hour in seconds since midnight, department, figures), by time then configuration order.
/// The staffing plan (`crate::plan`) is judged on these.
pub fn figures_by_half_hour(
    cfg: &crate::config::SiteConfig,
    outcomes: &[Outcome],
) -> Vec<(u32, Code, Figures)> {
    let mut by: BTreeMap<(u32, usize), Vec<&Outcome>> = BTreeMap::new();
    for o in outcomes {
        let Some(d) = cfg.departments.iter().position(|d| d.code == o.department) else {
            continue;
        };
        by.entry((o.issued_s / HALF_HOUR_S * HALF_HOUR_S, d))
            .or_default()
            .push(o);
    }
    by.into_iter()
        .map(|((from, d), os)| (from, cfg.departments[d].code, Figures::of(os)))
        .collect()
}

fn quantile<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let k = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    Some(sorted[k])
}

// ----- synthetic days -----

/// How busy a synthetic day is and what the citizens are like.
#[derive(Clone, Debug)]
pub struct DayShape {
    pub day: Day,
    pub seed: u64,
    /// Target share of each department's counter time in use over the day (0.5–0.9 is
    /// realistic; each department gets its own, drawn ±0.1 around it).
    pub load: f64,
    pub priority_share: f64,
    pub no_show_share: f64,
    /// Spread of one citizen's service time around its day's mean (coefficient of variation).
    pub service_cv: f64,
    /// Spread of a service's mean on this day around the configured typical duration.
    pub day_cv: f64,
}

impl DayShape {
    pub fn new(day: Day, seed: u64) -> DayShape {
        DayShape {
            day,
            seed,
            load: 0.75,
            priority_share: 0.07,
            no_show_share: 0.03,
            service_cv: 0.5,
            day_cv: 0.15,
        }
    }
}

/// Relative arrival rate in each quarter hour from 07:00: a peak 07:30–09:30, quieter to
/// lunch, a smaller afternoon peak from 13:30, little after 16:00. Outside a service's hours
/// nobody arrives for it whatever this says.
fn arrival_rate(minute: Minute) -> f64 {
    match minute {
        m if m < 7 * 60 => 0.0,
        m if m < 7 * 60 + 30 => 0.8,
        m if m < 9 * 60 + 30 => 2.0,
        m if m < 10 * 60 + 30 => 1.1,
        m if m < 11 * 60 => 0.7,
        m if m < 11 * 60 + 20 => 0.3,
        m if m < 13 * 60 + 30 => 0.0,
        m if m < 15 * 60 => 1.0,
        m if m < 16 * 60 => 0.7,
        m if m < 16 * 60 + 40 => 0.3,
        _ => 0.0,
    }
}

/// A realistic synthetic day for `cfg`: each department gets as many citizens as keep its
/// counters about `shape.load` busy over its hours, arriving with the morning peak; quick
/// services are asked for more often than long ones; service times are log-normal around the
/// configured typical durations (each service's mean itself off by `day_cv` on the day).
pub fn realistic_day(cfg: &crate::config::SiteConfig, shape: &DayShape) -> Vec<Arrival> {
    let mut rng = Rng::new(shape.seed);
    let weekday = shape.day.weekday() as usize;
    // Each service's mean today.
    let mean_today: Vec<f64> = cfg
        .services
        .iter()
        .map(|s| s.expected_service_s.max(60) as f64 * lognormal(&mut rng, 1.0, shape.day_cv))
        .collect();
    let mut out = Vec::new();
    for d in &cfg.departments {
        let services: Vec<usize> = (0..cfg.services.len())
            .filter(|&i| cfg.services[i].department == d.code)
            .collect();
        if services.is_empty() {
            continue;
        }
        // Quick services are asked for more often.
        let weights: Vec<f64> = services
            .iter()
            .map(|&i| (600.0 / cfg.services[i].expected_service_s.max(60) as f64).sqrt())
            .collect();
        let wsum: f64 = weights.iter().sum();
        let work_s: f64 = services
            .iter()
            .zip(&weights)
            .map(|(&i, w)| cfg.services[i].expected_service_s.max(60) as f64 * w / wsum)
            .sum();
        // Counter time for this department: a counter serving k departments gives each 1/k.
        let mut capacity_s = 0.0;
        for c in &cfg.counters {
            let mut depts: Vec<Code> = c
                .services
                .iter()
                .filter_map(|s| cfg.service(s.service))
                .map(|s| s.department)
                .collect();
            depts.sort();
            depts.dedup();
            if !depts.contains(&d.code) {
                continue;
            }
            let open_s: u32 = cfg.services[services[0]].hours.days[weekday]
                .iter()
                .map(|&(a, b)| (b - a) as u32 * 60)
                .sum();
            capacity_s += open_s as f64 / depts.len() as f64;
        }
        let load = (shape.load + (rng.unit() - 0.5) * 0.2).clamp(0.05, 1.5);
        let expected = load * capacity_s / work_s;
        // Quarter hours of the day, weighted by the arrival rate where the department is open.
        let hours = &cfg.services[services[0]].hours;
        let quarters: Vec<(Minute, f64)> = (0..96u16)
            .map(|q| {
                let m = q * 15;
                let open = hours.is_open(weekday as u8, m) && hours.is_open(weekday as u8, m + 14);
                (m, if open { arrival_rate(m) } else { 0.0 })
            })
            .collect();
        let total: f64 = quarters.iter().map(|q| q.1).sum();
        if total <= 0.0 || expected <= 0.0 {
            continue;
        }
        for &(m, w) in &quarters {
            if w <= 0.0 {
                continue;
            }
            let n = poisson(&mut rng, expected * w / total);
            for _ in 0..n {
                let k = weighted(&mut rng, &weights);
                let si = services[k];
                let at_s = m as u32 * 60 + rng.below(900) as u32;
                let service_s =
                    (mean_today[si] * lognormal(&mut rng, 1.0, shape.service_cv)).max(30.0) as u32;
                let priority = (rng.unit() < shape.priority_share)
                    .then(|| {
                        cfg.priority_categories
                            .get(rng.below(cfg.priority_categories.len()))
                    })
                    .flatten()
                    .map(|p| p.code);
                out.push(Arrival {
                    at_s,
                    wanted: Wanted::Service(cfg.services[si].code),
                    priority,
                    service_s,
                    no_show: rng.unit() < shape.no_show_share,
                    channel: Channel::Kiosk,
                });
            }
        }
    }
    out.sort_by_key(|a| a.at_s);
    out
}

fn weighted(rng: &mut Rng, weights: &[f64]) -> usize {
    let mut pick = rng.unit() * weights.iter().sum::<f64>();
    for (i, w) in weights.iter().enumerate() {
        if pick < *w {
            return i;
        }
        pick -= w;
    }
    weights.len() - 1
}

/// Log-normal with the given mean and coefficient of variation.
fn lognormal(rng: &mut Rng, mean: f64, cv: f64) -> f64 {
    let s2 = (1.0 + cv * cv).ln();
    let u1 = 1.0 - rng.unit();
    let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * rng.unit()).cos();
    mean * (z * s2.sqrt() - s2 / 2.0).exp()
}

fn poisson(rng: &mut Rng, mean: f64) -> u32 {
    // Knuth's method: the means here are a few dozen at most per quarter hour.
    let l = (-mean).exp();
    let (mut k, mut p) = (0u32, 1.0);
    loop {
        p *= rng.unit();
        if p <= l || k > 10_000 {
            return k;
        }
        k += 1;
    }
}
