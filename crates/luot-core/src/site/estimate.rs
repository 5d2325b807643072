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
//! Cost is bounded: at most [`CALLS_MAX`] simulated calls per estimate (runs are cut down to
//! [`RUNS_MIN`] when many people wait, and a run stops after `CALLS_MAX / runs` calls), and an
//! estimate of the same state asked again within [`REUSE_MS`] comes from a cache.
//! Priority citizens arriving later are simulated at today's rate; normal ones are not (they
//! never go before a waiting ticket).

use super::{CounterStatus, ServiceTime, Site, WaitEstimate};
use crate::command::Command;
use crate::event::Event;
use crate::ids::{TicketId, TicketNumber, Token};
use crate::queue::Slot;
use crate::sim::Rng;
use crate::ticket::{Channel, TicketState};
use crate::time::{MINUTES_PER_DAY, Now};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Mutex;

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

    pub(super) fn get_or(
        &self,
        target: Target,
        now: &Now,
        compute: impl FnOnce() -> Option<WaitEstimate>,
    ) -> Option<WaitEstimate> {
        let fresh = |inner: &CacheInner| {
            !inner.map.is_empty()
                && (inner.since_ms..inner.since_ms + REUSE_MS).contains(&now.at_ms)
        };
        {
            let inner = self.0.lock().unwrap_or_else(|e| e.into_inner());
            if fresh(&inner)
                && let Some(e) = inner.map.get(&target)
            {
                return *e;
            }
        }
        let e = compute();
        let mut inner = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if !fresh(&inner) || inner.map.len() >= CACHE_MAX {
            inner.map.clear();
            inner.since_ms = now.at_ms;
        }
        inner.map.insert(target, e);
        e
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

/// Whose wait is estimated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Target {
    Ticket(TicketId),
    /// A citizen taking a normal ticket for this service now.
    Newcomer(usize),
}

impl Site {
    /// The forward simulation behind `estimate_service` and `estimate_ticket`.
    pub(super) fn forecast(&self, target: Target, now: &Now) -> Option<WaitEstimate> {
        let with_newcomer;
        let (base, id) = match target {
            Target::Ticket(id) => (self, id),
            Target::Newcomer(si) => {
                self.day?;
                let mut site = self.clone();
                let id = site.next_id();
                let svc = &site.cfg.services[si];
                let event = Event::TicketIssued {
                    ticket: id,
                    number: TicketNumber {
                        prefix: svc.prefix,
                        seq: crate::ids::TICKET_SEQ_MAX,
                    },
                    service: svc.code,
                    channel: Channel::Kiosk,
                    priority: None,
                    token: Token([0xee; 16]),
                    person: None,
                    appointment: None,
                };
                // Issued "now", after everything that already happened.
                site.evolve(&event, now.at_ms.max(site.clock_ms));
                with_newcomer = site;
                (&with_newcomer, id)
            }
        };
        let i = base.index(id)?;
        if base.tickets[i].state != TicketState::Waiting {
            return None;
        }
        let slot = base.slots[i]?;
        let (service, mine): (usize, Vec<usize>) = match slot {
            Slot::Normal { service, .. }
            | Slot::Priority { service, .. }
            | Slot::Appointment { service, .. } => {
                (service, base.service_counters[service].clone())
            }
            Slot::Counter { counter, .. } => (
                base.service_ix
                    .get(&base.tickets[i].service)
                    .copied()
                    .unwrap_or(0),
                vec![counter],
            ),
        };
        let mine: Vec<usize> = mine
            .into_iter()
            .filter(|&ci| base.counters[ci].status == CounterStatus::Open)
            .collect();
        let counters = mine.len() as u32;
        if mine.is_empty() {
            // Nobody can call it until a counter opens: the people before it in its own line.
            return Some(WaitEstimate {
                ahead: base.lane_count_before(slot, id),
                counters: 0,
                range_s: None,
                uncertain: false,
            });
        }
        let start_ms = now.at_ms.max(base.clock_ms);
        let future = Future::of(base, start_ms);
        let waiting = base.waiting as usize;
        let runs = (CALLS_MAX / waiting.max(1)).clamp(RUNS_MIN, RUNS_MAX);
        let calls_per_run = CALLS_MAX / runs;
        let mut rng = Rng::new(
            (start_ms as u64)
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .wrapping_add(id.0)
                .wrapping_add((service as u64) << 48),
        );
        let mut waits = Vec::with_capacity(runs);
        let mut aheads = Vec::with_capacity(runs);
        for _ in 0..runs {
            let mut run = base.clone();
            if let Some((wait_ms, ahead)) =
                run.run_forward(id, &mine, start_ms, now, calls_per_run, &future, &mut rng)
            {
                waits.push(((wait_ms + 500) / 1000).max(0) as u32);
                aheads.push(ahead);
            }
        }
        if waits.len() * 2 < runs {
            // Most futures never reach it within the bound: too far out to say.
            return Some(WaitEstimate {
                ahead: base.lane_count_before(slot, id),
                counters,
                range_s: None,
                uncertain: true,
            });
        }
        waits.sort_unstable();
        aheads.sort_unstable();
        // Runs that never reached it count as the longest waits.
        // The range's ends round outwards: with a few dozen futures the sample's extremes are
        // closer together than the true quantiles.
        let at = |k: f64| waits.get(k as usize).copied().unwrap_or(u32::MAX);
        let last = runs as f64 - 1.0;
        let (low, high, median) = (
            at((last * LOW_QUANTILE).floor()),
            at((last * HIGH_QUANTILE).ceil()),
            at((last * 0.5).round()),
        );
        let ahead = aheads[aheads.len() / 2];
        let width_max = WIDTH_FLOOR_S.max((WIDTH_SHARE_MAX * median as f64) as u32);
        let too_wide = high == u32::MAX || high - low > width_max;
        Some(WaitEstimate {
            ahead,
            counters,
            range_s: (!too_wide).then_some((low, high)),
            uncertain: too_wide,
        })
    }

    /// One simulated future: every open counter serves until `id` is called, while priority
    /// citizens keep arriving at today's rate. Returns the wait and how many citizens the
    /// counters in `mine` called first, or `None` if the run ended (nothing more can be called,
    /// or the call budget ran out) before `id` was called.
    #[allow(clippy::too_many_arguments)]
    fn run_forward(
        &mut self,
        id: TicketId,
        mine: &[usize],
        start_ms: i64,
        now: &Now,
        calls_max: usize,
        future: &Future,
        rng: &mut Rng,
    ) -> Option<(i64, u32)> {
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
        let mut next_arrival = future.next_priority(start_ms, rng);
        let mut ahead = 0u32;
        let mut arrived = 0u16;
        for _ in 0..calls_max {
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
            let Reverse((at, ci)) = free.pop()?;
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
            if *ticket == id {
                return Some((at - start_ms, ahead));
            }
            if mine.contains(&ci) {
                ahead += 1;
            }
            // Today's share of citizens who do not come when called hold the counter only as
            // long as officials wait for them today.
            let hold_ms = if future.no_show_share > 0.0 && rng.unit() < future.no_show_share {
                future.no_show_hold_ms
            } else {
                (draw_s(time_of(self, *ticket), rng) * 1000.0) as i64
            };
            free.push(Reverse((at + hold_ms, ci)));
        }
        None
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
            ticket: self.next_id(),
            number: TicketNumber {
                prefix: svc.prefix,
                seq: crate::ids::TICKET_SEQ_MAX - 1 - n % 1000,
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

    fn lane_count_before(&self, slot: Slot, id: TicketId) -> u32 {
        match slot {
            Slot::Normal { service, key }
            | Slot::Priority { service, key }
            | Slot::Appointment { service, key } => {
                let q = &self.queues[service];
                (q.normal.count_before(key, id)
                    + q.priority.count_before(key, id)
                    + q.appointments.count_before(key, id)) as u32
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
