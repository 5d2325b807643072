//! Wait estimates: the real policy run forward from the current state.
//!
//! An estimate copies the site and lets every open counter call, serve and complete with the
//! site's own `decide`/`evolve` (so `choose_next`, priority, transfers and aging are exactly what
//! the counters will do), drawing each service time from the learned distribution of its
//! service. It does this [`RUNS_MAX`] times with a generator seeded from the state, so the same
//! state always gives the same estimate, and takes the [`LOW_QUANTILE`]–[`HIGH_QUANTILE`] range
//! of the simulated waits. "People ahead" is the median number of citizens the counters that can
//! serve this ticket call before it in those runs: the range and the count are about the same
//! people.
//!
//! When the range would be wider than [`WIDTH_FLOOR_S`] and [`WIDTH_SHARE_MAX`] of the wait,
//! the estimate says there is not enough data instead of showing it (`uncertain`).
//!
//! Every waiting ticket's estimate comes from one set of futures (each run goes on until all of
//! them are called); a newcomer's (a citizen who would take a normal or a priority ticket now)
//! from a set of its own, with that ticket added. [`EstimateTable`] holds all of them for one
//! state: the server computes it on a thread of its own and the broker only looks it up.
//!
//! Cost is bounded: at most [`CALLS_MAX`] simulated calls per set of futures (runs are cut down
//! to [`RUNS_MIN`] when many people wait, and a run stops after `CALLS_MAX / runs` calls), and an
//! estimate of the same state asked again within [`REUSE_MS`] comes from a cache.
//! Priority citizens arriving later are simulated at today's rate; normal ones are not (they
//! never go before a waiting ticket).

use super::{CounterStatus, ServiceTime, Site, WaitEstimate};
use crate::command::Command;
use crate::event::Event;
use crate::ids::{Code, TicketId, TicketNumber, Token};
use crate::queue::Slot;
use crate::sim::Rng;
use crate::ticket::{Channel, TicketState};
use crate::time::{MINUTES_PER_DAY, Now};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Mutex};

/// Simulated futures per estimate when few people wait (the targets of docs/wait-estimates.md
/// are met with this many; more costs more and moves the figures little).
pub const RUNS_MAX: usize = 32;
/// Fewest simulated futures, however many people wait.
pub const RUNS_MIN: usize = 12;
/// Calls simulated for one estimate, over all its runs: the bound on its cost (under 1 µs each
/// in release builds; BENCHMARKS.md, "Wait estimates").
pub const CALLS_MAX: usize = 8_000;
/// Quantiles of the simulated waits that bound the range shown.
pub const LOW_QUANTILE: f64 = 0.05;
pub const HIGH_QUANTILE: f64 = 0.95;
/// A range this wide (seconds) is always shown...
pub const WIDTH_FLOOR_S: u32 = 900;
/// ...and a wider one only if it is at most this share of the median simulated wait; otherwise
/// the estimate says "not enough data" rather than promise a range nobody can plan by.
pub const WIDTH_SHARE_MAX: f64 = 1.0;
/// Spread of service times as a standard deviation per unit of the learned mean absolute
/// deviation (√(π/2) for a normal distribution, a little more for skewed ones).
const SD_PER_MAD: f64 = 1.3;
/// How far a service's true mean today may be from its learned mean before any of today's
/// citizens were served (a coefficient of variation; the synthetic days draw each procedure's mean of the day 15% around
/// the configured one, and the learned mean adds its own noise).
/// Today's completed services then sharpen it: the mean used is the learned one and today's
/// average weighted by how much each is worth (a normal prior updated by today's services, each
/// of spread `SD_PER_MAD · dev / mean`), and each run draws its own mean from what is left of
/// the doubt, so the range is wider while little is known and narrows as today's services
/// complete.
pub const MEAN_DOUBT_CV: f64 = 0.25;
/// The same doubt while a service's time is still only the configured typical duration (a
/// center's first day): wider, so that the first day either keeps its promises or says "not
/// enough data".
pub const CONFIGURED_DOUBT_CV: f64 = 0.5;
/// Priority citizens who will arrive are simulated at today's rate of priority tickets so far,
/// once at least this many were issued (fewer say little about the rate).
const PRIORITY_SEEN_MIN: usize = 3;
/// Citizens called today before their share of no-shows is simulated.
const NO_SHOW_SEEN_MIN: u32 = 20;
/// The shortest simulated service, seconds (calling and walking to the desk take this long).
const SERVICE_S_MIN: f64 = 20.0;

/// Estimates asked again within this long of an estimate of the same state are answered from
/// the cache: a hall of displays reconnecting, or every service's estimate in each snapshot,
/// costs one forward simulation per service and state, not one per client.
pub const REUSE_MS: i64 = 5_000;
/// Most estimates kept for one state (every service and a few hundred tickets of a large
/// center); when full, the cache starts again.
pub const CACHE_MAX: usize = 4_096;

/// Estimates computed for the current state (see [`REUSE_MS`]). `evolve` empties it; a copy of
/// the site starts with an empty one, and it is not part of the state's equality.
#[derive(Default)]
pub(crate) struct Cache(Mutex<CacheInner>);

#[derive(Default)]
struct CacheInner {
    /// `now.at_ms` of the first estimate held: they serve until `REUSE_MS` after it.
    since_ms: i64,
    map: HashMap<Target, Option<WaitEstimate>>,
}

impl Cache {
    pub(super) fn clear(&mut self) {
        let inner = self.0.get_mut().unwrap_or_else(|e| e.into_inner());
        inner.map.clear();
    }

    fn fresh(inner: &CacheInner, now: &Now) -> bool {
        !inner.map.is_empty() && (inner.since_ms..inner.since_ms + REUSE_MS).contains(&now.at_ms)
    }

    /// The estimate kept for `target`, if one is fresh.
    pub(super) fn lookup(&self, target: Target, now: &Now) -> Option<Option<WaitEstimate>> {
        let inner = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if Self::fresh(&inner, now) {
            inner.map.get(&target).copied()
        } else {
            None
        }
    }

    /// Keeps estimates computed at `now`.
    pub(super) fn store(
        &self,
        now: &Now,
        entries: impl IntoIterator<Item = (Target, Option<WaitEstimate>)>,
    ) {
        let mut inner = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if !Self::fresh(&inner, now) {
            inner.map.clear();
            inner.since_ms = now.at_ms;
        }
        for (target, e) in entries {
            if inner.map.len() >= CACHE_MAX {
                break;
            }
            inner.map.insert(target, e);
        }
    }
}

impl Clone for Cache {
    fn clone(&self) -> Cache {
        Cache::default()
    }
}

impl PartialEq for Cache {
    fn eq(&self, _: &Cache) -> bool {
        true
    }
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cache")
    }
}

/// Newcomers estimated per procedure and kind: a citizen taking a ticket now, and one who finds
/// up to `NEWCOMERS_MAX − 1` more people in the line, so that tickets issued after a table was
/// computed still get a count and a range that take those people into account.
pub const NEWCOMERS_MAX: usize = 8;

/// Whose wait is estimated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Target {
    Ticket(TicketId),
    /// A citizen taking a ticket for this service now, finding `k` more people in the line.
    Newcomer {
        si: usize,
        priority: bool,
        k: u8,
    },
}

/// Every estimate clients are shown for one state (`Site::estimate_table`), keyed by codes and
/// ids so that it stays meaningful across a change of configuration.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EstimateTable {
    /// The instant it was computed for.
    pub at_ms: i64,
    /// The first ticket id the state it was computed on did not have: tickets from this one on
    /// were issued since.
    pub next_id: u64,
    /// A citizen taking a normal ticket, per service: entry `k` with `k` more people in the
    /// line than when the table was computed ([`NEWCOMERS_MAX`] entries).
    pub newcomer: HashMap<Code, Vec<WaitEstimate>>,
    /// The same for a priority ticket (when the site has categories).
    pub priority_newcomer: HashMap<Code, Vec<WaitEstimate>>,
    /// Every waiting ticket.
    pub tickets: HashMap<TicketId, WaitEstimate>,
}

/// The table a site answers from (`Site::set_estimates`); not part of the state's equality.
#[derive(Clone, Default)]
pub(crate) struct Published(pub(crate) Option<Arc<EstimateTable>>);

impl PartialEq for Published {
    fn eq(&self, _: &Published) -> bool {
        true
    }
}

impl std::fmt::Debug for Published {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(t) => write!(f, "Published(at {})", t.at_ms),
            None => f.write_str("Published(none)"),
        }
    }
}

/// A ticket whose wait a set of futures measures.
struct Goal {
    id: TicketId,
    /// Open counters that can call it.
    mine: Vec<usize>,
}

impl Site {
    /// The forecast behind `estimate_newcomers_at`: the site with [`NEWCOMERS_MAX`] tickets of
    /// that kind added now, one behind the other, run forward. Entry `k` is the estimate of a
    /// citizen who finds `k` more people than this state in the line (entry 0: now).
    pub(super) fn forecast_newcomers(
        &self,
        si: usize,
        priority: bool,
        now: &Now,
    ) -> Option<Vec<WaitEstimate>> {
        self.day?;
        if !self.service_counters[si]
            .iter()
            .any(|&ci| self.counters[ci].status == CounterStatus::Open)
        {
            // No counter to call them (the common case outside the hall's busy counters): no
            // copy, no futures. Everyone waiting for the service came before them.
            let waiting = self.queues[si].len() as u32;
            return Some(
                (0..NEWCOMERS_MAX as u32)
                    .map(|k| WaitEstimate {
                        ahead: waiting + k,
                        counters: 0,
                        range_s: None,
                        uncertain: false,
                    })
                    .collect(),
            );
        }
        let category = if priority {
            Some(self.cfg.priority_categories.first()?.code)
        } else {
            None
        };
        let mut site = self.clone();
        site.assume_present();
        let mut ids = Vec::with_capacity(NEWCOMERS_MAX);
        for k in 0..NEWCOMERS_MAX {
            let id = site.next_id();
            let svc = &site.cfg.services[si];
            let event = Event::TicketIssued {
                phone: None,
                ticket: id,
                number: TicketNumber {
                    prefix: svc.prefix,
                    seq: crate::ids::TICKET_SEQ_MAX - k as u16,
                },
                service: svc.code,
                channel: Channel::Kiosk,
                priority: category,
                token: Token([0xee ^ k as u8; 16]),
                person: None,
                appointment: None,
            };
            // Issued "now", after everything that already happened.
            site.evolve(&event, now.at_ms.max(site.clock_ms));
            ids.push(id);
        }
        let salt = ((si as u64) << 48) | ((priority as u64) << 47);
        let out = site.forecast(&ids, now, salt);
        Some(
            ids.iter()
                .filter_map(|id| out.iter().find(|(t, _)| t == id).map(|(_, e)| *e))
                .collect(),
        )
    }

    /// The forecast behind `estimate_ticket_at` and the table: every waiting ticket at once.
    pub(super) fn forecast_waiting(&self, now: &Now) -> Vec<(TicketId, WaitEstimate)> {
        // Only tickets a counter can call now, and in each line only the first that a run can
        // reach (a line is first come first served: the ticket at place p needs p calls before
        // it). The others have no estimate to give; `estimate_ticket` counts their place.
        let horizon = CALLS_MAX / self.runs();
        let mut ids = Vec::new();
        for (si, q) in self.queues.iter().enumerate() {
            if self.open_counters(si) == 0 {
                continue;
            }
            for lane in [&q.normal, &q.priority, &q.appointments, &q.away] {
                ids.extend(lane.iter().take(horizon).map(|(_, id)| id));
            }
        }
        for (ci, lane) in self.counter_lanes.iter().enumerate() {
            if self.counters[ci].status == CounterStatus::Open {
                ids.extend(lane.iter().take(horizon).map(|(_, id)| id));
            }
        }
        self.forecast(&ids, now, 0x5eed << 32)
    }

    /// Futures per forecast: fewer when many wait, so that their calls stay within
    /// [`CALLS_MAX`].
    fn runs(&self) -> usize {
        (CALLS_MAX / (self.waiting as usize).max(1)).clamp(RUNS_MIN, RUNS_MAX)
    }

    /// Runs the futures of this state and measures the wait of each of `ids` (waiting tickets).
    fn forecast(&self, ids: &[TicketId], now: &Now, salt: u64) -> Vec<(TicketId, WaitEstimate)> {
        let mut out = Vec::with_capacity(ids.len());
        let mut goals = Vec::new();
        for &id in ids {
            let Some(slot) = self.index(id).and_then(|i| self.slots[i]) else {
                continue;
            };
            let mine: Vec<usize> = match slot {
                Slot::Normal { service, .. }
                | Slot::Priority { service, .. }
                | Slot::Appointment { service, .. }
                | Slot::Away { service, .. } => self.service_counters[service].clone(),
                Slot::Counter { counter, .. } => vec![counter],
            }
            .into_iter()
            .filter(|&ci| self.counters[ci].status == CounterStatus::Open)
            .collect();
            if mine.is_empty() {
                // Nobody can call it until a counter opens: the people before it in its line.
                out.push((
                    id,
                    WaitEstimate {
                        ahead: self.lane_count_before(slot, id),
                        counters: 0,
                        range_s: None,
                        uncertain: false,
                    },
                ));
            } else {
                goals.push(Goal { id, mine });
            }
        }
        if goals.is_empty() {
            return out;
        }
        let start_ms = now.at_ms.max(self.clock_ms);
        let future = Future::of(self, start_ms);
        let runs = self.runs();
        let calls_per_run = CALLS_MAX / runs;
        let mut rng = Rng::new(
            (start_ms as u64)
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .wrapping_add(goals[0].id.0)
                .wrapping_add(salt),
        );
        let goal_of: HashMap<TicketId, usize> =
            goals.iter().enumerate().map(|(g, x)| (x.id, g)).collect();
        // Per goal, the wait and the count ahead of each run that reached it.
        let mut reached: Vec<Vec<(u32, u32)>> = vec![Vec::with_capacity(runs); goals.len()];
        for _ in 0..runs {
            let mut run = self.clone();
            run.assume_present();
            run.run_forward(
                &goals,
                &goal_of,
                start_ms,
                now,
                calls_per_run,
                &future,
                &mut rng,
                &mut reached,
            );
        }
        for (goal, mut seen) in goals.iter().zip(reached) {
            let counters = goal.mine.len() as u32;
            let lane_ahead = || {
                self.index(goal.id)
                    .and_then(|i| self.slots[i])
                    .map_or(0, |slot| self.lane_count_before(slot, goal.id))
            };
            if seen.len() * 2 < runs {
                // Most futures never reach it within the bound: too far out to say.
                out.push((
                    goal.id,
                    WaitEstimate {
                        ahead: lane_ahead(),
                        counters,
                        range_s: None,
                        uncertain: true,
                    },
                ));
                continue;
            }
            seen.sort_unstable_by_key(|&(w, _)| w);
            let mut aheads: Vec<u32> = seen.iter().map(|&(_, a)| a).collect();
            aheads.sort_unstable();
            // Runs that never reached it count as the longest waits.
            // The range's ends round outwards: with a few dozen futures the sample's extremes
            // are closer together than the true quantiles.
            let at = |k: f64| seen.get(k as usize).map_or(u32::MAX, |&(w, _)| w);
            let last = runs as f64 - 1.0;
            let (low, high, median) = (
                at((last * LOW_QUANTILE).floor()),
                at((last * HIGH_QUANTILE).ceil()),
                at((last * 0.5).round()),
            );
            let ahead = aheads[aheads.len() / 2];
            let width_max = WIDTH_FLOOR_S.max((WIDTH_SHARE_MAX * median as f64) as u32);
            let too_wide = high == u32::MAX || high - low > width_max;
            out.push((
                goal.id,
                WaitEstimate {
                    ahead,
                    counters,
                    range_s: (!too_wide).then_some((low, high)),
                    uncertain: too_wide,
                },
            ));
        }
        out
    }

    /// One simulated future: every open counter serves until every goal is called, while
    /// priority citizens keep arriving at today's rate. Each goal called gets its wait and how
    /// many citizens the counters that can call it called first pushed to `reached`. Ends when
    /// nothing more can be called or the call budget runs out.
    #[allow(clippy::too_many_arguments)]
    fn run_forward(
        &mut self,
        goals: &[Goal],
        goal_of: &HashMap<TicketId, usize>,
        start_ms: i64,
        now: &Now,
        calls_max: usize,
        future: &Future,
        rng: &mut Rng,
        reached: &mut [Vec<(u32, u32)>],
    ) {
        // This run's mean of each service: the best guess, off by what is not known yet.
        let times: Vec<ServiceTime> = future
            .times
            .iter()
            .zip(&future.mean_doubt)
            .map(|(st, &cv)| ServiceTime {
                mean_s: st.mean_s * lognormal_unit(cv, rng),
                dev_s: st.dev_s,
            })
            .collect();
        let time_of = |site: &Site, t: TicketId| -> ServiceTime {
            site.ticket(t)
                .and_then(|t| site.service_ix.get(&*t.service))
                .map_or(
                    ServiceTime {
                        mean_s: 600.0,
                        dev_s: 200.0,
                    },
                    |&si| times[si],
                )
        };
        // Counters by when they are next free; idle ones wait for an arrival.
        let mut free: BinaryHeap<Reverse<(i64, usize)>> = BinaryHeap::new();
        let mut idle: Vec<usize> = Vec::new();
        for (ci, c) in self.counters.iter().enumerate() {
            if c.status != CounterStatus::Open {
                continue;
            }
            let at = match c.current {
                Some(t) => {
                    let st = time_of(self, t);
                    let called = self.ticket(t).and_then(|t| t.called_at_ms);
                    let elapsed = (start_ms - called.unwrap_or(start_ms)).max(0) as f64;
                    start_ms + remaining_ms(st, elapsed / 1000.0, rng)
                }
                None => start_ms,
            };
            free.push(Reverse((at, ci)));
        }
        // Calls each counter made so far in this run.
        let mut calls_at = vec![0u32; self.counters.len()];
        let mut left = goals.len();
        let mut next_arrival = future.next_priority(start_ms, rng);
        let mut arrived = 0u16;
        for _ in 0..calls_max {
            if left == 0 {
                return;
            }
            let next_free = free.peek().map(|r| r.0.0);
            // A priority citizen arrives before the next counter is free: it joins its line,
            // and idle counters look again.
            if let Some((at, si)) = next_arrival
                && next_free.is_none_or(|f| at < f)
            {
                arrived = arrived.wrapping_add(1);
                self.arrive_priority(si, at, arrived, now);
                for ci in idle.drain(..) {
                    free.push(Reverse((at, ci)));
                }
                next_arrival = future.next_priority(at, rng);
                continue;
            }
            let Some(Reverse((at, ci))) = free.pop() else {
                return;
            };
            let code = self.counters[ci].code;
            let at_now = later(now, at);
            if self.counters[ci].current.is_some()
                && self
                    .apply(Command::Complete { counter: code }, &at_now)
                    .is_err()
            {
                continue;
            }
            let Ok(events) = self.apply(Command::CallNext { counter: code }, &at_now) else {
                if next_arrival.is_some() {
                    idle.push(ci);
                }
                continue;
            };
            let Some(Event::TicketCalled { ticket, .. }) = events.first() else {
                continue;
            };
            if let Some(&g) = goal_of.get(ticket) {
                let ahead = goals[g].mine.iter().map(|&c| calls_at[c]).sum();
                let wait_s = ((at - start_ms + 500) / 1000).max(0) as u32;
                reached[g].push((wait_s, ahead));
                left -= 1;
            }
            calls_at[ci] += 1;
            // Today's share of citizens who do not come when called hold the counter only as
            // long as officials wait for them today.
            let hold_ms = if future.no_show_share > 0.0 && rng.unit() < future.no_show_share {
                future.no_show_hold_ms
            } else {
                (draw_s(time_of(self, *ticket), rng) * 1000.0) as i64
            };
            free.push(Reverse((at + hold_ms, ci)));
        }
    }

    /// A simulated priority citizen takes a ticket for service `si` at `at_ms`, if it is open.
    fn arrive_priority(&mut self, si: usize, at_ms: i64, n: u16, now: &Now) {
        if self.check_hours(si, &later(now, at_ms)).is_err() {
            return;
        }
        let Some(category) = self.cfg.priority_categories.first().map(|c| c.code) else {
            return;
        };
        let svc = &self.cfg.services[si];
        let event = Event::TicketIssued {
            phone: None,
            ticket: self.next_id(),
            number: TicketNumber {
                prefix: svc.prefix,
                seq: crate::ids::TICKET_SEQ_MAX - NEWCOMERS_MAX as u16 - n % 1000,
            },
            service: svc.code,
            channel: Channel::Kiosk,
            priority: Some(category),
            token: Token([0xef; 16]),
            person: None,
            appointment: None,
        };
        self.evolve(&event, at_ms);
    }

    pub(super) fn lane_count_before(&self, slot: Slot, id: TicketId) -> u32 {
        match slot {
            Slot::Normal { service, key }
            | Slot::Priority { service, key }
            | Slot::Appointment { service, key }
            | Slot::Away { service, key } => {
                let q = &self.queues[service];
                (q.normal.count_before(key, id)
                    + q.priority.count_before(key, id)
                    + q.appointments.count_before(key, id)
                    + q.away.count_before(key, id)) as u32
            }
            Slot::Counter { counter, key } => {
                self.counter_lanes[counter].count_before(key, id) as u32
            }
        }
    }
}

/// What an estimate assumes about the rest of the day, read once from the state.
struct Future {
    /// Per service: the best guess of its service time today, and the doubt about its mean
    /// (a coefficient of variation, [`MEAN_DOUBT_CV`]).
    times: Vec<ServiceTime>,
    mean_doubt: Vec<f64>,
    /// Priority tickets per millisecond today so far, and their services (one entry per
    /// ticket, to draw from); empty when fewer than [`PRIORITY_SEEN_MIN`] were issued.
    priority_per_ms: f64,
    priority_services: Vec<usize>,
    /// Share of today's called citizens who did not come, and how long the counter waited for
    /// them on average; 0 until [`NO_SHOW_SEEN_MIN`] citizens were called today.
    no_show_share: f64,
    no_show_hold_ms: i64,
}

impl Future {
    fn of(site: &Site, start_ms: i64) -> Future {
        // Today's completed services: how many, and their total length (seconds).
        let mut served = vec![(0u32, 0.0f64); site.service_times.len()];
        let mut priority_services = Vec::new();
        let mut first_ms = i64::MAX;
        let (mut called, mut no_shows, mut no_show_ms) = (0u32, 0u32, 0i64);
        for t in &site.tickets {
            if Some(t.issued_day) == site.day
                && let Some(c) = t.called_at_ms
            {
                called += 1;
                if let Some(n) = t.no_show_at_ms {
                    no_shows += 1;
                    no_show_ms += (n - c).max(0);
                }
            }
            let Some(&si) = site.service_ix.get(&*t.service) else {
                continue;
            };
            if Some(t.issued_day) == site.day {
                first_ms = first_ms.min(t.issued_at_ms);
                if t.is_priority() {
                    priority_services.push(si);
                }
            }
            if t.state == TicketState::Done
                && let (Some(from), Some(to)) =
                    (t.started_at_ms.or(t.called_at_ms), t.finished_at_ms)
            {
                served[si].0 += 1;
                served[si].1 += (to - from).max(0) as f64 / 1000.0;
            }
        }
        let (times, mean_doubt) = site
            .service_times
            .iter()
            .zip(&served)
            .zip(&site.cfg.services)
            .map(|((st, &(n, total_s)), svc)| {
                let prior = st.mean_s.max(SERVICE_S_MIN);
                // Nothing learned yet: still the configured typical duration and a third of it
                // (`Site::new`), which may be far from this center's real times.
                let expected = svc.expected_service_s as f64;
                let learned =
                    (st.mean_s - expected).abs() > 0.5 || (st.dev_s - expected / 3.0).abs() > 0.5;
                let doubt0 = if learned {
                    MEAN_DOUBT_CV
                } else {
                    CONFIGURED_DOUBT_CV
                };
                // Citizens' worth of the prior mean: (spread of one service / doubt)².
                let cv = (st.dev_s.max(0.0) * SD_PER_MAD / prior).clamp(0.1, 3.0);
                let worth = (cv / doubt0).powi(2);
                let n = n as f64;
                let mean_s = (worth * prior + total_s) / (worth + n);
                let doubt = cv / (worth + n).sqrt();
                (
                    ServiceTime {
                        mean_s,
                        dev_s: st.dev_s * mean_s / prior,
                    },
                    doubt,
                )
            })
            .unzip();
        let span_ms = (start_ms - first_ms).max(0) as f64;
        let priority_per_ms = if priority_services.len() >= PRIORITY_SEEN_MIN && span_ms > 0.0 {
            priority_services.len() as f64 / span_ms
        } else {
            priority_services.clear();
            0.0
        };
        let (no_show_share, no_show_hold_ms) = if called >= NO_SHOW_SEEN_MIN && no_shows > 0 {
            (
                no_shows as f64 / called as f64,
                no_show_ms / no_shows as i64,
            )
        } else {
            (0.0, 0)
        };
        Future {
            no_show_share,
            no_show_hold_ms,
            times,
            mean_doubt,
            priority_per_ms,
            priority_services,
        }
    }

    /// The next simulated priority arrival after `after_ms`: when, and for which service.
    fn next_priority(&self, after_ms: i64, rng: &mut Rng) -> Option<(i64, usize)> {
        if self.priority_services.is_empty() {
            return None;
        }
        let gap = rng.exp(1.0 / self.priority_per_ms);
        Some((
            after_ms + gap as i64 + 1,
            *rng.pick(&self.priority_services),
        ))
    }
}

/// `now` moved on to `at_ms` (the minute of the day follows; the day is kept).
fn later(now: &Now, at_ms: i64) -> Now {
    let minutes = (at_ms - now.at_ms).max(0) / 60_000;
    Now {
        at_ms,
        day: now.day,
        minute: (now.minute as i64 + minutes).min(MINUTES_PER_DAY as i64 - 1) as u16,
    }
}

/// A service time drawn from a log-normal distribution with the learned mean and spread.
fn draw_s(st: ServiceTime, rng: &mut Rng) -> f64 {
    let mean = st.mean_s.max(SERVICE_S_MIN);
    let cv = (st.dev_s.max(0.0) * SD_PER_MAD / mean).min(3.0);
    let s2 = (1.0 + cv * cv).ln();
    let mu = mean.ln() - s2 / 2.0;
    (mu + s2.sqrt() * normal(rng)).exp().max(SERVICE_S_MIN)
}

/// What is left of a service that has run `elapsed_s` so far: a draw of its whole length, given
/// that it is longer than that (by rejection, a few tries; then a short remainder).
fn remaining_ms(st: ServiceTime, elapsed_s: f64, rng: &mut Rng) -> i64 {
    for _ in 0..8 {
        let total = draw_s(st, rng);
        if total > elapsed_s {
            return ((total - elapsed_s) * 1000.0) as i64;
        }
    }
    (rng.unit() * st.mean_s.max(SERVICE_S_MIN) * 0.25 * 1000.0) as i64
}

/// A log-normal factor of mean 1 and coefficient of variation `cv`.
fn lognormal_unit(cv: f64, rng: &mut Rng) -> f64 {
    if cv <= 0.0 {
        return 1.0;
    }
    let s2 = (1.0 + cv * cv).ln();
    (s2.sqrt() * normal(rng) - s2 / 2.0).exp()
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut Rng) -> f64 {
    let u1 = 1.0 - rng.unit();
    let u2 = rng.unit();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}
