//! One site's live queue state: `decide` turns a command into events without changing anything,
//! `evolve` applies an event. Live service runs both; recovery runs `evolve` alone on the stored
//! events, so the state after a restart is the state before it by construction.

use crate::command::{Command, TicketRef};
use crate::config::{SiteConfig, limits};
use crate::event::{CarriedTicket, Event};
use crate::ids::{Code, PersonKey, Prefix, Sym, TICKET_SEQ_MAX, TicketId, TicketNumber, Token};
use crate::queue::{Lane, ServiceQueue, Slot};
use crate::rejection::Rejection;
use crate::ticket::{CallReason, Channel, Ticket, TicketState, TransferTarget};
use crate::time::{Day, Minute, Now};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

pub mod estimate;
mod floor;

/// The day's tickets, in id order. Each is behind an `Arc` so that the broker's two copies of a
/// site (the speculative one that decides, the visible one that is durable) can hold one ticket
/// once they agree on it ([`Site::share_tickets`]): the day is kept once, not twice. Changing a
/// shared ticket copies just that ticket (`Arc::make_mut`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tickets(Vec<Arc<Ticket>>);

impl Tickets {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<&Ticket> {
        self.0.get(i).map(|t| &**t)
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Ticket> + ExactSizeIterator {
        self.0.iter().map(|t| &**t)
    }

    fn push(&mut self, t: Ticket) {
        self.0.push(Arc::new(t));
    }
}

impl std::ops::Index<usize> for Tickets {
    type Output = Ticket;
    fn index(&self, i: usize) -> &Ticket {
        &self.0[i]
    }
}

impl std::ops::IndexMut<usize> for Tickets {
    fn index_mut(&mut self, i: usize) -> &mut Ticket {
        Arc::make_mut(&mut self.0[i])
    }
}

impl<'a> IntoIterator for &'a Tickets {
    type Item = &'a Ticket;
    type IntoIter = std::iter::Map<std::slice::Iter<'a, Arc<Ticket>>, fn(&Arc<Ticket>) -> &Ticket>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|t| &**t)
    }
}

/// The core's hash maps are keyed by configuration codes, ticket numbers, tokens and person
/// keys. None of these lets an outsider flood a map with colliding keys (codes come from the
/// configuration, numbers from the core, tokens and person keys from the server's CSPRNG and
/// keyed hash), so they use a fast multiply-rotate hash instead of SipHash, which took about half
/// the time of applying a command.
type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// FxHash's word step (as in rustc), finished with SplitMix64's mixer so that the low bits, which
/// pick the bucket, depend on every byte of the key.
#[derive(Clone, Copy, Default)]
struct FastHasher(u64);

impl FastHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            self.add(u64::from_le_bytes(w.try_into().expect("8 bytes")));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }

    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.add(i as u64);
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CounterStatus {
    Closed,
    Open,
    Paused { reason: String },
}

impl CounterStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            CounterStatus::Closed => "closed",
            CounterStatus::Open => "open",
            CounterStatus::Paused { .. } => "paused",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CounterState {
    pub code: Code,
    pub status: CounterStatus,
    pub official: Option<Code>,
    pub current: Option<TicketId>,
    /// Priority calls in a row since the last normal call: when it reaches the policy's
    /// `normal_per_priority`, one normal ticket goes before the waiting priority ones.
    pub priority_streak: u32,
    pub served_today: u32,
    pub service_s_today: u64,
}

/// Learned service time of one service: exponentially weighted mean and mean deviation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ServiceTime {
    pub mean_s: f64,
    pub dev_s: f64,
}

/// Weight of the newest observation in the learned service time.
const SERVICE_TIME_ALPHA: f64 = 0.2;

/// Waiting time as a range: the truth is uncertain and the kiosk says so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitEstimate {
    /// Tickets that will be called before this one (or waiting, for a service).
    pub ahead: u32,
    /// Open counters serving it right now.
    pub counters: u32,
    /// `None` while no counter is open for it, or when `uncertain`.
    pub range_s: Option<(u32, u32)>,
    /// A counter is open but the range would be too wide to plan by: clients say "chưa đủ dữ
    /// liệu để ước tính" / "not enough data to estimate yet" (`site::estimate`).
    pub uncertain: bool,
}

/// The run of opening hours a service is in now: when it ends and when the service opens again.
/// A wait running past `ends` is told before issuing ("Có thể đến buổi chiều (13:30) mới tới
/// lượt") and printed on the ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Session {
    /// The end of the current session today, minutes since local midnight (ranges that touch
    /// count as one session).
    pub ends: Minute,
    /// When the service opens again after it (within two weeks, skipping holidays).
    pub resumes: Option<(Day, Minute)>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct PersonTally {
    day: u8,
    departments: Vec<(usize, u8)>,
}

/// The live state of one site. Only the broker owns one; nothing else mutates it.
///
/// Equality compares the whole state, indexes included: a site rebuilt by replaying events must
/// equal the live one (the simulation test checks this after every step).
#[derive(Clone, Debug, PartialEq)]
pub struct Site {
    cfg: SiteConfig,
    service_ix: FastMap<Code, usize>,
    counter_ix: FastMap<Code, usize>,
    department_of: Vec<usize>,
    /// For each counter, the services it serves with their weights.
    counter_services: Vec<Vec<(usize, u32)>>,
    /// For each service, the counters serving it.
    service_counters: Vec<Vec<usize>>,

    day: Option<Day>,
    /// Ticket ids of the open day are `first_id..first_id + tickets.len()`.
    first_id: u64,
    tickets: Tickets,
    slots: Vec<Option<Slot>>,
    by_number: FastMap<TicketNumber, TicketId>,
    by_token: FastMap<Token, TicketId>,
    next_seq: FastMap<Prefix, u16>,
    issued_per_service: Vec<u32>,
    /// Of those, numbers taken from home (the part of the cap the hall does not keep).
    issued_remote: Vec<u32>,
    issued_today: u32,
    persons: FastMap<PersonKey, PersonTally>,
    queues: Vec<ServiceQueue>,
    counter_lanes: Vec<Lane>,
    counters: Vec<CounterState>,
    service_times: Vec<ServiceTime>,
    waiting: u32,
    /// The day's latest calls, newest first, each ticket once: kept from `ticket_called` events
    /// alone, so a client following the events keeps the same list (protocol §5.1).
    recent_calls: std::collections::VecDeque<TicketId>,
    /// Stopped services, raised caps, counters' idle times and no-show streaks (`site/floor.rs`).
    floor: floor::Floor,
    /// The instant of the latest event applied: a simulated future never starts before it.
    clock_ms: i64,
    /// Estimates already computed for this state (emptied by `evolve`; not part of equality).
    estimates: estimate::Cache,
    /// The estimates clients are shown (`set_estimates`; kept by `evolve`, not part of equality).
    published: estimate::Published,
}

/// Tickets issued since the published estimates were computed that `estimate_ticket` looks
/// through (on the broker) before it says "not enough data" instead.
pub const ISSUED_SINCE_SCAN_MAX: usize = 4_096;

/// How many recent calls a site keeps (the hall display's strip and the snapshot).
pub const RECENT_CALLS_KEPT: usize = 12;

impl Site {
    /// A site with no day open yet. The configuration must be valid (luot-proto checks it).
    pub fn new(cfg: SiteConfig) -> Site {
        let service_ix: FastMap<Code, usize> = cfg
            .services
            .iter()
            .enumerate()
            .map(|(i, s)| (s.code, i))
            .collect();
        let counter_ix: FastMap<Code, usize> = cfg
            .counters
            .iter()
            .enumerate()
            .map(|(i, c)| (c.code, i))
            .collect();
        let department_of = cfg
            .services
            .iter()
            .map(|s| {
                cfg.departments
                    .iter()
                    .position(|d| d.code == s.department)
                    .unwrap_or(0)
            })
            .collect();
        let mut service_counters = vec![Vec::new(); cfg.services.len()];
        let counter_services: Vec<Vec<(usize, u32)>> = cfg
            .counters
            .iter()
            .enumerate()
            .map(|(ci, c)| {
                c.services
                    .iter()
                    .filter_map(|cs| {
                        let si = *service_ix.get(&cs.service)?;
                        service_counters[si].push(ci);
                        Some((si, cs.weight.max(1)))
                    })
                    .collect()
            })
            .collect();
        let counters = cfg
            .counters
            .iter()
            .map(|c| CounterState {
                code: c.code,
                status: CounterStatus::Closed,
                official: None,
                current: None,
                priority_streak: 0,
                served_today: 0,
                service_s_today: 0,
            })
            .collect();
        let service_times = cfg
            .services
            .iter()
            .map(|s| ServiceTime {
                mean_s: s.expected_service_s as f64,
                dev_s: s.expected_service_s as f64 / 3.0,
            })
            .collect();
        Site {
            floor: floor::Floor::new(cfg.services.len(), cfg.counters.len()),
            recent_calls: std::collections::VecDeque::with_capacity(RECENT_CALLS_KEPT),
            queues: vec![ServiceQueue::default(); cfg.services.len()],
            counter_lanes: vec![Lane::default(); cfg.counters.len()],
            issued_per_service: vec![0; cfg.services.len()],
            issued_remote: vec![0; cfg.services.len()],
            service_ix,
            counter_ix,
            department_of,
            counter_services,
            service_counters,
            day: None,
            first_id: 1,
            tickets: Tickets::default(),
            slots: Vec::new(),
            by_number: FastMap::default(),
            by_token: FastMap::default(),
            next_seq: FastMap::default(),
            issued_today: 0,
            persons: FastMap::default(),
            counters,
            service_times,
            waiting: 0,
            clock_ms: 0,
            estimates: estimate::Cache::default(),
            published: estimate::Published::default(),
            cfg,
        }
    }

    // ----- reading -----

    pub fn config(&self) -> &SiteConfig {
        &self.cfg
    }

    pub fn day(&self) -> Option<Day> {
        self.day
    }

    /// True when `now` is on a later day than the open one (or none is open): the broker then
    /// sends `OpenDay` before anything else. A clock stepping backwards never reopens a day.
    pub fn rollover_due(&self, now: &Now) -> bool {
        self.day.is_none_or(|d| now.day > d)
    }

    /// Tickets of the open day (and those carried into it), in id order.
    pub fn tickets(&self) -> &Tickets {
        &self.tickets
    }

    /// Makes this site hold `other`'s copy of each ticket `event` touched where the two copies
    /// are equal (every ticket for a day's opening or close). The broker calls it on the visible
    /// site, with the speculative one, as each event becomes durable: from then on the ticket is
    /// held once until one side changes it.
    pub fn share_tickets(&mut self, other: &Site, event: &Event) {
        if let Event::TicketCalled { .. } = event {
            // A call may mark the turn of numbers from home before it (`pass_turns`).
            let away: Vec<TicketId> = self
                .queues
                .iter()
                .flat_map(|q| q.away.iter().map(|(_, id)| id))
                .collect();
            for id in away {
                self.share_ticket(other, id);
            }
        }
        match (event.ticket(), event) {
            (Some(id), _) => self.share_ticket(other, id),
            (None, Event::DayOpened { .. } | Event::DayClosed { .. }) => {
                for t in 0..self.tickets.len() {
                    let id = TicketId(self.first_id + t as u64);
                    self.share_ticket(other, id);
                }
            }
            _ => {}
        }
    }

    fn share_ticket(&mut self, other: &Site, id: TicketId) {
        let (Some(i), Some(j)) = (self.index(id), other.index(id)) else {
            return;
        };
        let (mine, theirs) = (&mut self.tickets.0[i], &other.tickets.0[j]);
        if !Arc::ptr_eq(mine, theirs) && mine == theirs {
            *mine = Arc::clone(theirs);
        }
    }

    pub fn ticket(&self, id: TicketId) -> Option<&Ticket> {
        let i = id.0.checked_sub(self.first_id)?;
        self.tickets.get(usize::try_from(i).ok()?)
    }

    pub fn resolve(&self, r: TicketRef) -> Option<&Ticket> {
        let id = match r {
            TicketRef::Number(n) => *self.by_number.get(&n)?,
            TicketRef::Token(t) => *self.by_token.get(&t)?,
        };
        self.ticket(id)
    }

    pub fn counters(&self) -> &[CounterState] {
        &self.counters
    }

    pub fn counter_state(&self, code: Code) -> Option<&CounterState> {
        self.counter_ix.get(&code).map(|&i| &self.counters[i])
    }

    pub fn waiting_total(&self) -> u32 {
        self.waiting
    }

    /// Tickets waiting for a service (all lanes).
    pub fn waiting_for(&self, service: Code) -> u32 {
        self.service_ix
            .get(&service)
            .map_or(0, |&i| self.queues[i].len() as u32)
    }

    /// The first `n + 1` waiting tickets of every line, each with how many people are ahead of
    /// it: the same count as the `ahead` of [`Site::estimate_ticket`] (what the phone page
    /// shows) once the estimate catches up, but always current. For alerts such as a webhook's
    /// "N away"; O(lines × n).
    pub fn front_of_lines(&self, n: u32) -> Vec<(TicketId, u32)> {
        let take = n as usize + 1;
        let mut out = Vec::new();
        for q in &self.queues {
            let mut front: Vec<(i64, TicketId)> = q
                .normal
                .iter()
                .take(take)
                .chain(q.priority.iter().take(take))
                .chain(q.appointments.iter().take(take))
                // Numbers taken from home count where they hold their place, and are told too.
                .chain(q.away.iter().take(take))
                .collect();
            front.sort_unstable();
            out.extend(
                front
                    .into_iter()
                    .take(take)
                    .enumerate()
                    .map(|(i, (_, id))| (id, i as u32)),
            );
        }
        for lane in &self.counter_lanes {
            out.extend(
                lane.iter()
                    .take(take)
                    .enumerate()
                    .map(|(i, (_, id))| (id, i as u32)),
            );
        }
        out
    }

    pub fn issued_for(&self, service: Code) -> u32 {
        self.service_ix
            .get(&service)
            .map_or(0, |&i| self.issued_per_service[i])
    }

    /// Numbers a service may still give out from home today (its cap less the hall's share,
    /// less those already taken from home).
    pub fn remote_left(&self, service: Code) -> u32 {
        self.service_ix.get(&service).map_or(0, |&si| {
            self.remote_cap_of(si)
                .saturating_sub(self.issued_remote[si])
        })
    }

    pub fn issued_today(&self) -> u32 {
        self.issued_today
    }

    pub fn service_time(&self, service: Code) -> Option<ServiceTime> {
        self.service_ix
            .get(&service)
            .map(|&i| self.service_times[i])
    }

    /// Whether a service takes tickets at `now`, and if not, why.
    pub fn intake(&self, service: Code, now: &Now) -> Result<(), Rejection> {
        let si = *self
            .service_ix
            .get(&service)
            .ok_or(Rejection::UnknownService(service))?;
        self.check_hours(si, now)?;
        self.check_intake_close(si, now)?;
        self.check_not_paused(si)
    }

    /// The session `service` is in at `now`; `None` while it is outside its hours, or when its
    /// hours run through midnight (no session end today to speak of).
    pub fn session(&self, service: Code, now: &Now) -> Option<Session> {
        let si = *self.service_ix.get(&service)?;
        let ranges = &self.cfg.services[si].hours.days[now.day.weekday() as usize];
        let mut ends = ranges
            .iter()
            .find(|&&(s, e)| s <= now.minute && now.minute < e)?
            .1;
        // Ranges that touch or overlap are one session.
        while let Some(&(_, e)) = ranges.iter().find(|&&(s, e)| s <= ends && ends < e) {
            ends = e;
        }
        if ends >= crate::time::MINUTES_PER_DAY {
            return None;
        }
        let at_end = Now {
            minute: ends,
            ..*now
        };
        Some(Session {
            ends,
            resumes: self.next_open(si, &at_end),
        })
    }

    /// The session whose end a wait of up to `wait_s` from `now` may run past: when the wait's
    /// high end goes past the end of the session; or when it is not known (`None`: no counter
    /// open) and less than [`limits::UNKNOWN_WAIT_SESSION_NOTE_S`] of the session is left.
    pub fn wait_runs_past_session(
        &self,
        service: Code,
        now: &Now,
        wait_s: Option<u32>,
    ) -> Option<Session> {
        let session = self.session(service, now)?;
        let left_s = session_left_s(now, session.ends);
        let w = wait_s.unwrap_or(limits::UNKNOWN_WAIT_SESSION_NOTE_S);
        ((w as i64) > left_s).then_some(session)
    }

    /// The day's latest calls, newest first ([`RECENT_CALLS_KEPT`] at most), in their current
    /// state: a ticket called again moves to the front; a transfer or a return leaves it in place.
    pub fn recent_calls(&self) -> impl Iterator<Item = &Ticket> {
        self.recent_calls.iter().filter_map(|&id| self.ticket(id))
    }

    /// Wait estimate for a newcomer to a service, from the published [`EstimateTable`] (the
    /// server computes tables off its broker thread and publishes them with
    /// [`Site::set_estimates`]): its entry for as many more people as now wait for the service
    /// than when it was computed. Exact (a count, no range) while no counter serving it is open;
    /// "not enough data" before any table or when too many came since.
    pub fn estimate_service(&self, service: Code) -> Option<WaitEstimate> {
        let si = *self.service_ix.get(&service)?;
        let waiting = self.queues[si].len() as u32;
        if self.open_counters(si) == 0 {
            return Some(self.unknown_estimate(si, waiting));
        }
        Some(
            self.published
                .0
                .as_ref()
                .and_then(|t| {
                    let k = self.issued_since(t, si, None, false);
                    t.newcomer.get(&service)?.get(k).copied()
                })
                // A table from before a counter opened or closed says nothing true now.
                .filter(|e| e.counters == self.open_counters(si))
                .unwrap_or_else(|| self.unknown_estimate(si, waiting)),
        )
    }

    /// Wait estimate for one waiting ticket, from the published [`EstimateTable`]: its own
    /// entry, or, for a ticket issued since the table was computed, the table's entry for a
    /// newcomer of its kind (normal or priority) who finds as many more people before it as it
    /// did. Exact (a count, no range) while no counter that can call it is open; "not enough
    /// data" when the table cannot say. `None` for a ticket that does not wait.
    pub fn estimate_ticket(&self, id: TicketId) -> Option<WaitEstimate> {
        let i = self.index(id)?;
        let slot = self.slots[i]?;
        let service = *self.tickets[i].service;
        let si = self.service_ix.get(&service).copied().unwrap_or(0);
        let open = match slot {
            Slot::Counter { counter, .. } => {
                (self.counters[counter].status == CounterStatus::Open) as u32
            }
            _ => self.open_counters(si),
        };
        // Its place in line and no range: counted only when nothing better is known.
        let unknown = || WaitEstimate {
            ahead: self.lane_count_before(slot, id),
            counters: open,
            range_s: None,
            uncertain: open > 0,
        };
        let table = match self.published.0.as_ref() {
            Some(t) if open > 0 => t,
            _ => return Some(unknown()),
        };
        let known = if let Some(e) = table.tickets.get(&id) {
            Some(*e)
        } else if id.0 < table.next_id {
            // It was there, too far back in line for the futures to reach.
            None
        } else {
            let newcomers = match slot {
                Slot::Normal { .. } => table.newcomer.get(&service),
                Slot::Priority { .. } => table.priority_newcomer.get(&service),
                Slot::Appointment { .. } | Slot::Away { .. } | Slot::Counter { .. } => None,
            };
            let priority = matches!(slot, Slot::Priority { .. });
            let k = self.issued_since(table, si, Some(id), priority);
            newcomers.and_then(|n| n.get(k)).copied()
        };
        // A table from before a counter opened or closed says nothing true now.
        Some(known.filter(|e| e.counters == open).unwrap_or_else(unknown))
    }

    /// Open counters that can serve service `si`.
    fn open_counters(&self, si: usize) -> u32 {
        self.service_counters[si]
            .iter()
            .filter(|&&ci| self.counters[ci].status == CounterStatus::Open)
            .count() as u32
    }

    /// Tickets of service `si` issued since `table` was computed that still wait in its lines,
    /// before `before` (all of them when `None`); only priority ones when `priority_only`.
    fn issued_since(
        &self,
        table: &estimate::EstimateTable,
        si: usize,
        before: Option<TicketId>,
        priority_only: bool,
    ) -> usize {
        let from = table.next_id.saturating_sub(self.first_id) as usize;
        let to = before
            .and_then(|id| self.index(id))
            .unwrap_or(self.tickets.len());
        if to.saturating_sub(from) > ISSUED_SINCE_SCAN_MAX {
            // The table is far behind (the broker looks, it never waits): "not enough data".
            return estimate::NEWCOMERS_MAX;
        }
        let service = self.cfg.services[si].code;
        (from.min(to)..to)
            .filter(|&i| {
                let t = &self.tickets[i];
                *t.service == service
                    && t.state == TicketState::Waiting
                    && matches!(
                        self.slots[i],
                        Some(Slot::Normal { .. } | Slot::Priority { .. })
                    )
                    && (!priority_only || t.is_priority())
            })
            .count()
    }

    /// No estimate computed: the count and the open counters, and "not enough data" when a
    /// counter is open.
    fn unknown_estimate(&self, si: usize, ahead: u32) -> WaitEstimate {
        let counters = self.open_counters(si);
        WaitEstimate {
            ahead,
            counters,
            range_s: None,
            uncertain: counters > 0,
        }
    }

    /// The estimates [`Site::estimate_service`] and [`Site::estimate_ticket`] answer from
    /// until the next table. Not part of the state: `evolve` keeps it, equality ignores it.
    pub fn set_estimates(&mut self, table: Arc<estimate::EstimateTable>) {
        self.published = estimate::Published(Some(table));
    }

    /// The published table, if any.
    pub fn estimates(&self) -> Option<&Arc<estimate::EstimateTable>> {
        self.published.0.as_ref()
    }

    /// Wait estimate for a citizen taking a normal ticket for `service` at `now`, computed
    /// (`site::estimate`).
    pub fn estimate_service_at(&self, service: Code, now: &Now) -> Option<WaitEstimate> {
        self.estimate_newcomer_at(service, false, now)
    }

    /// Wait estimate for a citizen taking a ticket (priority or not) for `service` at `now`,
    /// computed: the promise a ticket issued now gets in the kiosk's reply (entry 0 of the
    /// table's newcomers), and what `luot replay` measures.
    pub fn estimate_newcomer_at(
        &self,
        service: Code,
        priority: bool,
        now: &Now,
    ) -> Option<WaitEstimate> {
        self.estimate_newcomers_at(service, priority, now)?
            .first()
            .copied()
    }

    /// The newcomers' estimates of a table ([`estimate::NEWCOMERS_MAX`] entries: entry `k` for a
    /// citizen who finds `k` more people in the line), computed and kept for this state.
    pub fn estimate_newcomers_at(
        &self,
        service: Code,
        priority: bool,
        now: &Now,
    ) -> Option<Vec<WaitEstimate>> {
        let si = *self.service_ix.get(&service)?;
        let key = |k: usize| estimate::Target::Newcomer {
            si,
            priority,
            k: k as u8,
        };
        let kept: Option<Vec<WaitEstimate>> = (0..estimate::NEWCOMERS_MAX)
            .map(|k| self.estimates.lookup(key(k), now).flatten())
            .collect();
        if let Some(v) = kept {
            return Some(v);
        }
        let none = WaitEstimate {
            ahead: self.queues[si].len() as u32,
            counters: 0,
            range_s: None,
            uncertain: false,
        };
        let v = self
            .forecast_newcomers(si, priority, now)
            .unwrap_or_else(|| vec![none; estimate::NEWCOMERS_MAX]);
        self.estimates
            .store(now, v.iter().enumerate().map(|(k, e)| (key(k), Some(*e))));
        Some(v)
    }

    /// Wait estimate for one waiting ticket at `now`, computed (every waiting ticket's is
    /// computed at once and kept for the same state: `site::estimate`).
    pub fn estimate_ticket_at(&self, id: TicketId, now: &Now) -> Option<WaitEstimate> {
        let target = estimate::Target::Ticket(id);
        if let Some(e) = self.estimates.lookup(target, now) {
            return e;
        }
        let all = self.forecast_waiting(now);
        let mine = all
            .iter()
            .find(|(t, _)| *t == id)
            .map(|(_, e)| *e)
            .or_else(|| {
                // Waiting, but no future reaches it: its place, and no range.
                let i = self.index(id)?;
                let slot = self.slots[i]?;
                let si = self.service_ix.get(&*self.tickets[i].service).copied()?;
                Some(self.unknown_estimate(si, self.lane_count_before(slot, id)))
            });
        self.estimates.store(
            now,
            all.into_iter()
                .map(|(t, e)| (estimate::Target::Ticket(t), Some(e)))
                .chain(std::iter::once((target, mine))),
        );
        mine
    }

    /// Every estimate a client may be shown for this state at `now` (`site::estimate`): what
    /// the server's estimator thread computes.
    pub fn estimate_table(&self, now: &Now) -> estimate::EstimateTable {
        let mut table = estimate::EstimateTable {
            at_ms: now.at_ms,
            next_id: self.next_id().0,
            ..Default::default()
        };
        let priority = !self.cfg.priority_categories.is_empty();
        for svc in &self.cfg.services {
            if let Some(e) = self.estimate_newcomers_at(svc.code, false, now) {
                table.newcomer.insert(svc.code, e);
            }
            if priority && let Some(e) = self.estimate_newcomers_at(svc.code, true, now) {
                table.priority_newcomer.insert(svc.code, e);
            }
        }
        table.tickets = self.forecast_waiting(now).into_iter().collect();
        table
    }

    // ----- deciding -----

    /// Decide and apply in one step: what live service does.
    pub fn apply(&mut self, cmd: Command, now: &Now) -> Result<Vec<Event>, Rejection> {
        let events = self.decide(&cmd, now)?;
        for e in &events {
            self.evolve(e, now.at_ms);
        }
        Ok(events)
    }

    /// The events a command would cause, or why it is refused. Changes nothing.
    pub fn decide(&self, cmd: &Command, now: &Now) -> Result<Vec<Event>, Rejection> {
        match cmd {
            Command::OpenDay { day } => self.decide_open_day(*day),
            Command::Issue {
                service,
                channel,
                priority,
                token,
                appointment,
                person,
                phone,
            } => {
                let day = self.day.ok_or(Rejection::DayNotOpen)?;
                let si = *self
                    .service_ix
                    .get(service)
                    .ok_or(Rejection::UnknownService(*service))?;
                if let Some(p) = priority {
                    if !self.cfg.priority_categories.iter().any(|c| c.code == *p) {
                        return Err(Rejection::UnknownPriorityCategory(*p));
                    }
                }
                if *channel != Channel::Staff {
                    if self.cfg.holidays.contains(&now.day) {
                        return Err(Rejection::Holiday);
                    }
                    self.check_hours(si, now)?;
                }
                if matches!(channel, Channel::Kiosk | Channel::Phone) {
                    self.check_intake_close(si, now)?;
                }
                self.check_not_paused(si)?;
                let svc = &self.cfg.services[si];
                let policy = &self.cfg.policy;
                let cap = self.cap_of(si);
                if self.issued_per_service[si] >= cap {
                    return Err(Rejection::DailyCapReached { cap });
                }
                if channel.is_remote() {
                    let max = self.remote_cap_of(si);
                    if self.issued_remote[si] >= max {
                        return Err(Rejection::RemoteShareReached { max });
                    }
                }
                if self.issued_today >= policy.tickets_per_day_max {
                    return Err(Rejection::SiteTicketLimit {
                        max: policy.tickets_per_day_max,
                    });
                }
                if self.waiting >= policy.waiting_max {
                    return Err(Rejection::WaitingLimit {
                        max: policy.waiting_max,
                    });
                }
                // Numbering restarts at 1 each day; numbers still held by tickets carried from
                // the day before are skipped.
                let mut seq = self.next_seq.get(&svc.prefix).copied().unwrap_or(1);
                while seq <= TICKET_SEQ_MAX
                    && self.by_number.contains_key(&TicketNumber {
                        prefix: svc.prefix,
                        seq,
                    })
                {
                    seq += 1;
                }
                if seq > TICKET_SEQ_MAX {
                    return Err(Rejection::NumbersExhausted);
                }
                if let Some(p) = person {
                    if let Some(t) = self.persons.get(p) {
                        if t.day >= policy.per_person_day_max {
                            return Err(Rejection::PersonLimit {
                                max: policy.per_person_day_max,
                            });
                        }
                        let dept = self.department_of[si];
                        let in_dept = t
                            .departments
                            .iter()
                            .find(|(d, _)| *d == dept)
                            .map_or(0, |(_, n)| *n);
                        if in_dept >= policy.per_person_department_max {
                            return Err(Rejection::PersonDepartmentLimit {
                                max: policy.per_person_department_max,
                            });
                        }
                    }
                }
                if let Some(a) = appointment {
                    if a.from_ms >= a.to_ms {
                        return Err(Rejection::AppointmentInvalid);
                    }
                }
                if let Some(phone) = phone {
                    self.check_phone_limits(phone, si)?;
                }
                let _ = day;
                Ok(vec![Event::TicketIssued {
                    ticket: self.next_id(),
                    number: TicketNumber {
                        prefix: svc.prefix,
                        seq,
                    },
                    service: *service,
                    channel: *channel,
                    priority: *priority,
                    token: *token,
                    person: *person,
                    appointment: *appointment,
                    phone: phone.clone(),
                }])
            }
            Command::CheckIn { ticket } => {
                let t = self.resolve(*ticket).ok_or(Rejection::UnknownTicket)?;
                if t.state != TicketState::Waiting {
                    return Err(Rejection::TicketNotWaiting { state: t.state });
                }
                if t.present {
                    return Err(Rejection::AlreadyPresent);
                }
                let hold_ms = self.cfg.policy.remote_hold_s as i64 * 1000;
                let kept_place = t
                    .turn_passed_at_ms
                    .is_none_or(|passed| now.at_ms - passed <= hold_ms);
                Ok(vec![Event::TicketCheckedIn {
                    ticket: t.id,
                    kept_place,
                }])
            }
            Command::CallNext { counter } => {
                let ci = self.ready_counter(*counter)?;
                let (ticket, reason) = self.choose_next(ci, now).ok_or(Rejection::QueueEmpty)?;
                Ok(vec![self.called(ci, ticket, reason)])
            }
            Command::CallTicket { counter, ticket } => {
                let ci = self.ready_counter(*counter)?;
                let t = self.resolve(*ticket).ok_or(Rejection::UnknownTicket)?;
                if t.state != TicketState::Waiting {
                    return Err(Rejection::TicketNotWaiting { state: t.state });
                }
                let serves = match t.target_counter {
                    Some(c) => c == *counter,
                    None => self
                        .service_ix
                        .get(&t.service)
                        .is_some_and(|si| self.counter_services[ci].iter().any(|(s, _)| s == si)),
                };
                if !serves {
                    return Err(Rejection::ServiceNotAtCounter);
                }
                Ok(vec![self.called(ci, t.id, CallReason::Requested)])
            }
            Command::Recall { counter } => {
                let (_, t) = self.held(*counter)?;
                if t.state != TicketState::Called {
                    return Err(Rejection::TicketNotCalled);
                }
                let max = self.cfg.policy.recall_max;
                if t.recalls >= max {
                    return Err(Rejection::RecallLimit { max });
                }
                Ok(vec![Event::TicketRecalled {
                    ticket: t.id,
                    counter: *counter,
                    recalls: t.recalls + 1,
                }])
            }
            Command::Start { counter } => {
                let (_, t) = self.held(*counter)?;
                if t.state != TicketState::Called {
                    return Err(Rejection::TicketNotCalled);
                }
                Ok(vec![Event::ServiceStarted {
                    ticket: t.id,
                    counter: *counter,
                }])
            }
            Command::Complete { counter } => {
                let (_, t) = self.held(*counter)?;
                let since = t.started_at_ms.or(t.called_at_ms).unwrap_or(now.at_ms);
                let service_s = ((now.at_ms - since).max(0) / 1000).min(u32::MAX as i64) as u32;
                Ok(vec![Event::ServiceCompleted {
                    ticket: t.id,
                    counter: *counter,
                    service_s,
                }])
            }
            Command::NoShow { counter } => {
                let (_, t) = self.held(*counter)?;
                if t.state != TicketState::Called {
                    return Err(Rejection::TicketNotCalled);
                }
                Ok(vec![Event::TicketNoShow {
                    ticket: t.id,
                    counter: *counter,
                }])
            }
            Command::Return { ticket } => {
                let t = self.resolve(*ticket).ok_or(Rejection::UnknownTicket)?;
                if t.state != TicketState::NoShow {
                    return Err(Rejection::TicketNotNoShow);
                }
                let at = t.no_show_at_ms.unwrap_or(now.at_ms);
                if now.at_ms - at > self.cfg.policy.no_show_return_s as i64 * 1000 {
                    return Err(Rejection::ReturnWindowPassed);
                }
                Ok(vec![Event::TicketReturned { ticket: t.id }])
            }
            Command::Transfer { counter, to, note } => {
                let (_, t) = self.held(*counter)?;
                check_note(note, false)?;
                match to {
                    TransferTarget::Service(s) => {
                        if !self.service_ix.contains_key(s) {
                            return Err(Rejection::UnknownService(*s));
                        }
                    }
                    TransferTarget::Counter(c) => {
                        if !self.counter_ix.contains_key(c) {
                            return Err(Rejection::UnknownCounter(*c));
                        }
                        if c == counter {
                            return Err(Rejection::TransferToSelf);
                        }
                        // Refused rather than left waiting for a counter nobody works at: the
                        // citizen would be told nothing true about when they are called.
                        let ti = self.counter_index(*c)?;
                        let to = &self.counters[ti];
                        match to.status {
                            CounterStatus::Open => {}
                            CounterStatus::Closed | CounterStatus::Paused { .. } => {
                                return Err(Rejection::TransferTargetClosed {
                                    counter: *c,
                                    number: self.cfg.counters[ti].number,
                                    paused: matches!(to.status, CounterStatus::Paused { .. }),
                                });
                            }
                        }
                    }
                }
                Ok(vec![Event::TicketTransferred {
                    ticket: t.id,
                    from_counter: *counter,
                    to: *to,
                    note: note.clone(),
                }])
            }
            Command::Cancel { ticket } => {
                let t = self.resolve(*ticket).ok_or(Rejection::UnknownTicket)?;
                if t.state != TicketState::Waiting {
                    return Err(Rejection::TicketNotWaiting { state: t.state });
                }
                Ok(vec![Event::TicketCancelled { ticket: t.id }])
            }
            Command::OpenCounter { counter, official } => {
                let ci = self.counter_index(*counter)?;
                if self.counters[ci].status != CounterStatus::Closed {
                    return Err(Rejection::CounterAlreadyOpen);
                }
                if let Some(other) = self.counters.iter().find(|c| c.official == Some(*official)) {
                    return Err(Rejection::OfficialElsewhere {
                        counter: other.code,
                    });
                }
                Ok(vec![Event::CounterOpened {
                    counter: *counter,
                    official: *official,
                }])
            }
            Command::PauseCounter { counter, reason } => {
                let ci = self.pausable(*counter, reason)?;
                self.not_busy(ci)?;
                Ok(vec![Event::CounterPaused {
                    counter: *counter,
                    reason: reason.clone(),
                    requeued: None,
                }])
            }
            Command::PauseAbsent { counter, reason } => {
                let ci = self.pausable(*counter, reason)?;
                let requeued = match self.counters[ci].current.and_then(|id| self.ticket(id)) {
                    None => None,
                    Some(t) if t.state == TicketState::Called => Some(t.id),
                    Some(t) => return Err(Rejection::CounterBusy { current: t.number }),
                };
                Ok(vec![Event::CounterPaused {
                    counter: *counter,
                    reason: reason.clone(),
                    requeued,
                }])
            }
            Command::ResumeCounter { counter } => {
                let ci = self.counter_index(*counter)?;
                match self.counters[ci].status {
                    CounterStatus::Paused { .. } => {
                        Ok(vec![Event::CounterResumed { counter: *counter }])
                    }
                    CounterStatus::Closed => Err(Rejection::CounterClosed),
                    CounterStatus::Open => Err(Rejection::CounterAlreadyOpen),
                }
            }
            Command::CloseCounter { counter } => {
                let ci = self.counter_index(*counter)?;
                if self.counters[ci].status == CounterStatus::Closed {
                    return Err(Rejection::CounterClosed);
                }
                self.not_busy(ci)?;
                Ok(vec![Event::CounterClosed { counter: *counter }])
            }
            Command::Rate {
                ticket,
                score,
                reason,
            } => {
                let t = self.resolve(*ticket).ok_or(Rejection::UnknownTicket)?;
                if t.state != TicketState::Done {
                    return Err(Rejection::TicketNotDone);
                }
                if t.rating.is_some() {
                    return Err(Rejection::AlreadyRated);
                }
                let levels = self.cfg.policy.rating_levels;
                if *score < 1 || *score > levels {
                    return Err(Rejection::ScoreOutOfRange { levels });
                }
                if let Some(r) = reason {
                    check_note(r, false)?;
                }
                let done = t.finished_at_ms.unwrap_or(now.at_ms);
                if now.at_ms - done > self.cfg.policy.rating_window_s as i64 * 1000 {
                    return Err(Rejection::RatingWindowPassed);
                }
                Ok(vec![Event::TicketRated {
                    ticket: t.id,
                    score: *score,
                    reason: reason.clone(),
                }])
            }
            Command::AttachDossier {
                counter,
                ticket,
                dossier,
            } => {
                self.counter_index(*counter)?;
                let dossier = check_dossier(dossier)?;
                let t = self.resolve(*ticket).ok_or(Rejection::UnknownTicket)?;
                let held = matches!(
                    t.state,
                    TicketState::Called | TicketState::Serving | TicketState::Done
                );
                if !held || t.counter.map(Sym::code) != Some(*counter) {
                    return Err(Rejection::TicketNotAtCounter);
                }
                Ok(vec![Event::DossierAttached {
                    ticket: t.id,
                    counter: *counter,
                    dossier,
                }])
            }
            Command::PauseService { .. }
            | Command::ResumeService { .. }
            | Command::RaiseDailyCap { .. } => self.decide_floor(cmd),
        }
    }

    fn decide_open_day(&self, day: Day) -> Result<Vec<Event>, Rejection> {
        let mut events = Vec::with_capacity(2);
        let mut carried = Vec::new();
        if let Some(open) = self.day {
            if day <= open {
                return Err(Rejection::DayAlreadyOpen { day: open });
            }
            let mut expired = Vec::new();
            let mut carried_ids = Vec::new();
            for t in &self.tickets {
                match t.state {
                    TicketState::Waiting => {
                        // A number from home not checked in by the end of the day ends with it.
                        let carry = t.target_counter.is_none()
                            && t.present
                            && self
                                .service_ix
                                .get(&t.service)
                                .is_some_and(|&si| self.cfg.services[si].carry_over);
                        if carry {
                            carried_ids.push(t.id);
                            carried.push(CarriedTicket {
                                number: t.number,
                                issued_day: t.issued_day,
                                issued_at_ms: t.issued_at_ms,
                                service: t.service.code(),
                                channel: t.channel,
                                priority: t.priority.map(Sym::code),
                                token: t.token,
                                person: t.person,
                                appointment: t.appointment,
                            });
                        } else {
                            expired.push(t.id);
                        }
                    }
                    TicketState::Called | TicketState::Serving => expired.push(t.id),
                    _ => {}
                }
            }
            events.push(Event::DayClosed {
                day: open,
                expired,
                carried: carried_ids,
            });
        }
        events.push(Event::DayOpened {
            day,
            first_ticket_id: self.next_id(),
            carried,
            service_times: self
                .cfg
                .services
                .iter()
                .zip(&self.service_times)
                .map(|(s, t)| (s.code, t.mean_s.round() as u32, t.dev_s.round() as u32))
                .collect(),
        });
        Ok(events)
    }

    /// The assignment policy. Reads one cached head per lane: O(services at the counter).
    pub fn choose_next(&self, ci: usize, now: &Now) -> Option<(TicketId, CallReason)> {
        if let Some((_, id)) = self.counter_lanes[ci].head() {
            return Some((id, CallReason::Transferred));
        }
        let policy = &self.cfg.policy;
        let early_ms = policy.appointment_early_s as i64 * 1000;
        let mut appointment: Option<(i64, TicketId)> = None;
        let mut oldest: Option<(i64, TicketId)> = None;
        let mut oldest_normal: Option<(i64, TicketId)> = None;
        // Weighted waiting time: (score, key, id); a larger score wins, then the older ticket.
        let mut best_normal: Option<(i64, i64, TicketId)> = None;
        let mut best_priority: Option<(i64, i64, TicketId)> = None;
        for &(si, weight) in &self.counter_services[ci] {
            let q = &self.queues[si];
            if let Some(h) = q.appointments.head() {
                if appointment.is_none_or(|a| h < a) {
                    appointment = Some(h);
                }
            }
            for (lane, best, is_normal) in [
                (&q.normal, &mut best_normal, true),
                (&q.priority, &mut best_priority, false),
            ] {
                if let Some((key, id)) = lane.head() {
                    if oldest.is_none_or(|o| (key, id) < o) {
                        oldest = Some((key, id));
                    }
                    if is_normal && oldest_normal.is_none_or(|o| (key, id) < o) {
                        oldest_normal = Some((key, id));
                    }
                    let score = (now.at_ms - key).max(0).saturating_mul(weight as i64);
                    let cand = (score, key, id);
                    if best.is_none_or(|b| (cand.0, -cand.1) > (b.0, -b.1)) {
                        *best = Some(cand);
                    }
                }
            }
        }
        if let Some((from, id)) = appointment {
            if from - early_ms <= now.at_ms {
                return Some((id, CallReason::Appointment));
            }
        }
        if let Some((key, id)) = oldest {
            let waited_ms = now.at_ms - key;
            if waited_ms >= policy.max_wait_s as i64 * 1000 {
                return Some((
                    id,
                    CallReason::Aged {
                        waited_s: (waited_ms / 1000) as u32,
                    },
                ));
            }
        }
        // A waiting priority ticket goes before normal tickets; after `normal_per_priority`
        // priority calls in a row at this counter one normal ticket goes, so the normal line
        // still moves (0: priority always first). A priority counter never lets a normal one go.
        let counter = &self.counters[ci];
        let n = policy.normal_per_priority;
        match (best_priority, best_normal) {
            (Some((_, _, p)), _) if self.cfg.counters[ci].priority_first => {
                Some((p, CallReason::PriorityCounter))
            }
            (Some((_, _, p)), Some((_, _, id))) => {
                if n > 0 && counter.priority_streak >= n {
                    Some((id, CallReason::NormalTurn))
                } else {
                    Some((p, CallReason::PriorityFirst))
                }
            }
            (Some((_, _, p)), None) => Some((p, CallReason::PriorityOnly)),
            (None, Some((_, key, id))) => {
                // "First come, first served" only when it was: the service weights may pick a
                // later ticket over an earlier one of another service.
                let earliest = oldest_normal.is_none_or(|o| o == (key, id));
                let reason = if earliest {
                    CallReason::NextInLine
                } else {
                    CallReason::ServiceWeight
                };
                Some((id, reason))
            }
            // Nothing else waits: an appointment that is not due yet may as well be served now.
            (None, None) => appointment.map(|(_, id)| (id, CallReason::Appointment)),
        }
    }

    /// Index of a counter by code, for `choose_next` callers (benchmarks, tools).
    pub fn counter_index(&self, code: Code) -> Result<usize, Rejection> {
        self.counter_ix
            .get(&code)
            .copied()
            .ok_or(Rejection::UnknownCounter(code))
    }

    fn ready_counter(&self, code: Code) -> Result<usize, Rejection> {
        let ci = self.counter_index(code)?;
        match self.counters[ci].status {
            CounterStatus::Closed => return Err(Rejection::CounterClosed),
            CounterStatus::Paused { .. } => return Err(Rejection::CounterPaused),
            CounterStatus::Open => {}
        }
        self.not_busy(ci)?;
        Ok(ci)
    }

    /// The index of an open counter a pause with this reason may apply to.
    fn pausable(&self, counter: Code, reason: &str) -> Result<usize, Rejection> {
        let ci = self.counter_index(counter)?;
        check_note(reason, true)?;
        match self.counters[ci].status {
            CounterStatus::Closed => Err(Rejection::CounterClosed),
            CounterStatus::Paused { .. } => Err(Rejection::CounterPaused),
            CounterStatus::Open => Ok(ci),
        }
    }

    fn not_busy(&self, ci: usize) -> Result<(), Rejection> {
        match self.counters[ci].current.and_then(|id| self.ticket(id)) {
            Some(t) => Err(Rejection::CounterBusy { current: t.number }),
            None => Ok(()),
        }
    }

    fn held(&self, code: Code) -> Result<(usize, &Ticket), Rejection> {
        let ci = self.counter_index(code)?;
        let id = self.counters[ci].current.ok_or(Rejection::CounterIdle)?;
        Ok((ci, self.ticket(id).ok_or(Rejection::CounterIdle)?))
    }

    fn called(&self, ci: usize, ticket: TicketId, reason: CallReason) -> Event {
        let c = &self.counters[ci];
        Event::TicketCalled {
            ticket,
            counter: c.code,
            official: c.official,
            reason,
        }
    }

    fn check_hours(&self, si: usize, now: &Now) -> Result<(), Rejection> {
        let hours = &self.cfg.services[si].hours;
        if hours.is_open(now.day.weekday(), now.minute) {
            return Ok(());
        }
        Err(Rejection::ServiceClosed {
            next_open: self.next_open(si, now),
        })
    }

    /// Refused past an `intake_close` time until the service's next session starts.
    fn check_intake_close(&self, si: usize, now: &Now) -> Result<(), Rejection> {
        let closes = &self.cfg.policy.intake_close;
        if closes.is_empty() {
            return Ok(());
        }
        let starts = &self.cfg.services[si].hours.days[now.day.weekday() as usize];
        let in_force = closes
            .iter()
            .copied()
            .filter(|&c| c <= now.minute && !starts.iter().any(|&(s, _)| c < s && s <= now.minute))
            .max();
        match in_force {
            None => Ok(()),
            Some(from) => Err(Rejection::IntakeClosed {
                from,
                next_open: self.next_open(si, now),
            }),
        }
    }

    /// The next opening of a service within two weeks, skipping holidays.
    fn next_open(&self, si: usize, now: &Now) -> Option<(Day, Minute)> {
        let hours = &self.cfg.services[si].hours;
        (0..15).find_map(|offset| {
            let day = Day(now.day.0 + offset);
            if self.cfg.holidays.contains(&day) {
                return None;
            }
            hours.days[day.weekday() as usize]
                .iter()
                .map(|&(start, _)| start)
                .filter(|&start| offset > 0 || start > now.minute)
                .min()
                .map(|start| (day, start))
        })
    }

    fn next_id(&self) -> TicketId {
        TicketId(self.first_id + self.tickets.len() as u64)
    }

    fn index(&self, id: TicketId) -> Option<usize> {
        let i = usize::try_from(id.0.checked_sub(self.first_id)?).ok()?;
        (i < self.tickets.len()).then_some(i)
    }

    // ----- evolving -----

    /// Apply one event. Never fails: an event was valid when it was decided. Events that refer to
    /// something this state does not know (a service removed from the configuration since) are
    /// applied as far as they can be.
    pub fn evolve(&mut self, event: &Event, at_ms: i64) {
        self.evolve_floor(event, at_ms);
        self.clock_ms = self.clock_ms.max(at_ms);
        self.estimates.clear();
        match event {
            Event::DayClosed {
                expired, carried, ..
            } => {
                for &id in expired {
                    self.end_ticket(id, TicketState::Expired);
                }
                for &id in carried {
                    self.end_ticket(id, TicketState::Carried);
                }
                for c in &mut self.counters {
                    c.status = CounterStatus::Closed;
                    c.official = None;
                    c.current = None;
                }
            }
            Event::DayOpened {
                day,
                first_ticket_id,
                carried,
                service_times,
            } => {
                self.reset_day(*day, *first_ticket_id);
                for &(code, mean, dev) in service_times {
                    if let Some(&si) = self.service_ix.get(&code) {
                        self.service_times[si] = ServiceTime {
                            mean_s: mean as f64,
                            dev_s: dev as f64,
                        };
                    }
                }
                for c in carried {
                    let id = self.next_id();
                    self.push_ticket(Ticket {
                        id,
                        number: c.number,
                        issued_day: c.issued_day,
                        service: c.service.into(),
                        channel: c.channel,
                        priority: c.priority.map(Sym::new),
                        token: c.token,
                        person: c.person,
                        appointment: c.appointment,
                        phone: None,
                        present: true,
                        turn_passed_at_ms: None,
                        checked_in_at_ms: None,
                        state: TicketState::Waiting,
                        issued_at_ms: c.issued_at_ms,
                        enqueued_at_ms: c.issued_at_ms,
                        counter: None,
                        official: None,
                        target_counter: None,
                        called_at_ms: None,
                        started_at_ms: None,
                        finished_at_ms: None,
                        no_show_at_ms: None,
                        recalls: 0,
                        transfers: 0,
                        last_reason: None,
                        rating: None,
                        dossier: None,
                    });
                }
            }
            Event::TicketIssued {
                ticket,
                number,
                service,
                channel,
                priority,
                token,
                person,
                appointment,
                phone,
            } => {
                debug_assert_eq!(*ticket, self.next_id(), "ticket ids are dense");
                let Some(day) = self.day else { return };
                if let Some(&si) = self.service_ix.get(service) {
                    self.issued_per_service[si] += 1;
                    if channel.is_remote() {
                        self.issued_remote[si] += 1;
                    }
                    if let Some(p) = person {
                        let dept = self.department_of[si];
                        let tally = self.persons.entry(*p).or_default();
                        tally.day += 1;
                        match tally.departments.iter_mut().find(|(d, _)| *d == dept) {
                            Some((_, n)) => *n += 1,
                            None => tally.departments.push((dept, 1)),
                        }
                    }
                }
                self.issued_today += 1;
                let next = self.next_seq.entry(number.prefix).or_insert(1);
                *next = (*next).max(number.seq.saturating_add(1));
                self.push_ticket(Ticket {
                    id: *ticket,
                    number: *number,
                    issued_day: day,
                    service: Sym::new(*service),
                    channel: *channel,
                    priority: priority.map(Sym::new),
                    token: *token,
                    person: *person,
                    appointment: *appointment,
                    phone: phone.clone(),
                    present: !channel.is_remote(),
                    turn_passed_at_ms: None,
                    checked_in_at_ms: None,
                    state: TicketState::Waiting,
                    issued_at_ms: at_ms,
                    enqueued_at_ms: at_ms,
                    counter: None,
                    official: None,
                    target_counter: None,
                    called_at_ms: None,
                    started_at_ms: None,
                    finished_at_ms: None,
                    no_show_at_ms: None,
                    recalls: 0,
                    transfers: 0,
                    last_reason: None,
                    rating: None,
                    dossier: None,
                });
            }
            Event::TicketCheckedIn { ticket, kept_place } => {
                let Some(i) = self.index(*ticket) else { return };
                self.unslot(i);
                let t = &mut self.tickets[i];
                t.present = true;
                t.checked_in_at_ms = Some(at_ms);
                if !kept_place {
                    t.enqueued_at_ms = at_ms;
                }
                self.slot_in(i, None);
            }
            Event::TicketCalled {
                ticket,
                counter,
                official,
                reason,
            } => {
                let Some(i) = self.index(*ticket) else { return };
                self.recent_calls.retain(|&id| id != *ticket);
                self.recent_calls.push_front(*ticket);
                self.recent_calls.truncate(RECENT_CALLS_KEPT);
                if let Some(Slot::Normal { service, key }) = self.slots[i] {
                    self.pass_turns(service, key, *ticket, at_ms);
                }
                self.unslot(i);
                self.tickets[i].present = true;
                let Some(&ci) = self.counter_ix.get(counter) else {
                    return;
                };
                let t = &mut self.tickets[i];
                t.state = TicketState::Called;
                t.counter = Some(Sym::new(*counter));
                t.official = official.map(Sym::new);
                t.target_counter = None;
                t.called_at_ms = Some(at_ms);
                t.recalls = 0;
                t.last_reason = Some(*reason);
                let priority = t.is_priority();
                let c = &mut self.counters[ci];
                c.current = Some(*ticket);
                c.priority_streak = if priority {
                    c.priority_streak.saturating_add(1)
                } else {
                    0
                };
            }
            Event::TicketRecalled {
                ticket, recalls, ..
            } => {
                if let Some(i) = self.index(*ticket) {
                    self.tickets[i].recalls = *recalls;
                }
            }
            Event::ServiceStarted { ticket, .. } => {
                if let Some(i) = self.index(*ticket) {
                    let t = &mut self.tickets[i];
                    t.state = TicketState::Serving;
                    t.started_at_ms = Some(at_ms);
                }
            }
            Event::ServiceCompleted {
                ticket,
                counter,
                service_s,
            } => {
                let Some(i) = self.index(*ticket) else { return };
                let t = &mut self.tickets[i];
                t.state = TicketState::Done;
                t.finished_at_ms = Some(at_ms);
                if t.started_at_ms.is_none() {
                    t.started_at_ms = t.called_at_ms;
                }
                let service = t.service;
                if let Some(&ci) = self.counter_ix.get(counter) {
                    let c = &mut self.counters[ci];
                    c.current = None;
                    c.served_today += 1;
                    c.service_s_today += *service_s as u64;
                }
                if let Some(&si) = self.service_ix.get(&service) {
                    let st = &mut self.service_times[si];
                    let x = *service_s as f64;
                    st.dev_s += SERVICE_TIME_ALPHA * ((x - st.mean_s).abs() - st.dev_s);
                    st.mean_s += SERVICE_TIME_ALPHA * (x - st.mean_s);
                }
            }
            Event::TicketNoShow { ticket, counter } => {
                let Some(i) = self.index(*ticket) else { return };
                let t = &mut self.tickets[i];
                t.state = TicketState::NoShow;
                t.no_show_at_ms = Some(at_ms);
                self.release(*counter);
            }
            Event::TicketReturned { ticket } => {
                let Some(i) = self.index(*ticket) else { return };
                let t = &mut self.tickets[i];
                t.state = TicketState::Waiting;
                t.enqueued_at_ms = at_ms;
                // Slot it while it is still marked a no-show: that keeps a missed appointment
                // out of the appointment lane, so it waits as a walk-in from its return.
                self.slot_in(i, None);
                self.tickets[i].no_show_at_ms = None;
            }
            Event::TicketTransferred {
                ticket,
                from_counter,
                to,
                ..
            } => {
                let Some(i) = self.index(*ticket) else { return };
                self.release(*from_counter);
                let t = &mut self.tickets[i];
                t.state = TicketState::Waiting;
                t.transfers = t.transfers.saturating_add(1);
                t.called_at_ms = None;
                t.started_at_ms = None;
                t.recalls = 0;
                match to {
                    TransferTarget::Service(s) => {
                        t.service = Sym::new(*s);
                        // Back in line at its original place: the move is not the citizen's doing.
                        t.enqueued_at_ms = t.issued_at_ms;
                        self.slot_in(i, None);
                    }
                    TransferTarget::Counter(c) => {
                        t.target_counter = Some(Sym::new(*c));
                        t.enqueued_at_ms = at_ms;
                        let ci = self.counter_ix.get(c).copied();
                        self.slot_in(i, ci);
                    }
                }
            }
            Event::TicketCancelled { ticket } => {
                if let Some(i) = self.index(*ticket) {
                    self.unslot(i);
                    self.tickets[i].state = TicketState::Cancelled;
                    self.tickets[i].finished_at_ms = Some(at_ms);
                }
            }
            Event::TicketRated { ticket, score, .. } => {
                if let Some(i) = self.index(*ticket) {
                    self.tickets[i].rating = Some(*score);
                }
            }
            Event::DossierAttached {
                ticket, dossier, ..
            } => {
                if let Some(i) = self.index(*ticket) {
                    self.tickets[i].dossier = Some(dossier.clone());
                }
            }
            Event::CounterOpened { counter, official } => {
                if let Some(&ci) = self.counter_ix.get(counter) {
                    let c = &mut self.counters[ci];
                    c.status = CounterStatus::Open;
                    c.official = Some(*official);
                    c.priority_streak = 0;
                }
            }
            Event::CounterPaused {
                counter,
                reason,
                requeued,
            } => {
                if let Some(&ci) = self.counter_ix.get(counter) {
                    self.counters[ci].status = CounterStatus::Paused {
                        reason: reason.clone(),
                    };
                }
                // Back at its place in line (its queue key is unchanged), as if never called;
                // a ticket sent to this counter waits for it again.
                if let Some(i) = requeued.and_then(|id| self.index(id)) {
                    self.release(*counter);
                    let t = &mut self.tickets[i];
                    t.state = TicketState::Waiting;
                    t.called_at_ms = None;
                    t.recalls = 0;
                    let target = t.target_counter;
                    let target = target.and_then(|c| self.counter_ix.get(&c.code()).copied());
                    self.slot_in(i, target);
                }
            }
            Event::CounterResumed { counter } => {
                if let Some(&ci) = self.counter_ix.get(counter) {
                    self.counters[ci].status = CounterStatus::Open;
                }
            }
            Event::CounterClosed { counter } => {
                if let Some(&ci) = self.counter_ix.get(counter) {
                    let c = &mut self.counters[ci];
                    c.status = CounterStatus::Closed;
                    c.official = None;
                }
            }
            Event::ServicePaused { .. }
            | Event::ServiceResumed { .. }
            | Event::DailyCapRaised { .. } => {}
        }
    }

    /// Sizes the day's ticket vectors and indexes for the day's ticket limit. Grown by doubling
    /// instead, each would leave the smaller blocks it grew out of in the allocator while the
    /// hall is busy (about half the server's memory growth per ticket, measured by the soak
    /// test). Pages not yet written are not resident, so a quiet day costs little.
    fn make_room_for_the_day(&mut self) {
        let room =
            (self.cfg.policy.tickets_per_day_max as usize).saturating_sub(self.tickets.len());
        self.tickets.0.reserve(room);
        self.slots.reserve(room);
        self.by_number.reserve(room);
        self.by_token.reserve(room);
    }

    /// A copy with the same room for the day (`Clone` alone gives vectors only their length),
    /// sharing every ticket with this one until either changes it: the broker's speculative
    /// copy of its visible site.
    pub fn clone_for_the_day(&self) -> Site {
        let mut copy = self.clone();
        copy.make_room_for_the_day();
        copy
    }

    fn reset_day(&mut self, day: Day, first_id: TicketId) {
        self.day = Some(day);
        self.recent_calls.clear();
        self.first_id = first_id.0;
        self.tickets.0.clear();
        self.slots.clear();
        self.by_number.clear();
        self.by_token.clear();
        self.make_room_for_the_day();
        self.next_seq.clear();
        self.issued_per_service.iter_mut().for_each(|n| *n = 0);
        self.issued_remote.iter_mut().for_each(|n| *n = 0);
        self.issued_today = 0;
        self.persons.clear();
        self.queues
            .iter_mut()
            .for_each(|q| *q = ServiceQueue::default());
        self.counter_lanes
            .iter_mut()
            .for_each(|l| *l = Lane::default());
        for c in &mut self.counters {
            c.status = CounterStatus::Closed;
            c.official = None;
            c.current = None;
            c.priority_streak = 0;
            c.served_today = 0;
            c.service_s_today = 0;
        }
        self.waiting = 0;
    }

    /// A ticket at `key` in service `si`'s normal line is called: the turn of every number from
    /// home before it that is not checked in has come (the hold starts now, once).
    fn pass_turns(&mut self, si: usize, key: i64, id: TicketId, at_ms: i64) {
        let passed: Vec<TicketId> = self.queues[si]
            .away
            .iter()
            .take_while(|&e| e < (key, id))
            .map(|(_, t)| t)
            .collect();
        for t in passed {
            if let Some(i) = self.index(t) {
                let t = &mut self.tickets[i];
                if t.turn_passed_at_ms.is_none() {
                    t.turn_passed_at_ms = Some(at_ms);
                }
            }
        }
    }

    /// For a simulated future: every number taken from home is in the hall at its turn, so its
    /// estimate says when to be there, and those behind it count it.
    pub(super) fn assume_present(&mut self) {
        for si in 0..self.queues.len() {
            let away: Vec<(i64, TicketId)> = self.queues[si].away.iter().collect();
            for (_, id) in away {
                if let Some(i) = self.index(id) {
                    self.unslot(i);
                    self.tickets[i].present = true;
                    self.slot_in(i, None);
                }
            }
        }
    }

    /// The per-person limits, counted by mobile number: a number from home needs one, and one
    /// phone may not take more than a person may. O(tickets today); numbers from home are few
    /// and rate-limited.
    fn check_phone_limits(&self, phone: &str, si: usize) -> Result<(), Rejection> {
        let policy = &self.cfg.policy;
        let dept = self.department_of[si];
        let (mut day, mut in_dept) = (0u32, 0u32);
        for t in self.tickets.iter() {
            if Some(t.issued_day) != self.day || t.phone.as_deref() != Some(phone) {
                continue;
            }
            day += 1;
            if self
                .service_ix
                .get(&*t.service)
                .map(|&i| self.department_of[i])
                == Some(dept)
            {
                in_dept += 1;
            }
        }
        if day >= policy.per_person_day_max as u32 {
            return Err(Rejection::PersonLimit {
                max: policy.per_person_day_max,
            });
        }
        if in_dept >= policy.per_person_department_max as u32 {
            return Err(Rejection::PersonDepartmentLimit {
                max: policy.per_person_department_max,
            });
        }
        Ok(())
    }

    /// The numbers service `si` may give out from home today: its cap less the hall's share.
    pub(crate) fn remote_cap_of(&self, si: usize) -> u32 {
        let cap = self.cap_of(si) as u64;
        let hall = (cap * self.cfg.policy.hall_share_pct.min(100) as u64).div_ceil(100);
        (cap - hall) as u32
    }

    fn push_ticket(&mut self, t: Ticket) {
        self.by_number.insert(t.number, t.id);
        self.by_token.insert(t.token, t.id);
        self.tickets.push(t);
        self.slots.push(None);
        let i = self.tickets.len() - 1;
        if self.service_ix.contains_key(&self.tickets[i].service) {
            self.slot_in(i, None);
        } else {
            self.tickets[i].state = TicketState::Expired;
        }
    }

    /// Put a waiting ticket into its lane: a counter's lane when given, else its service's.
    fn slot_in(&mut self, i: usize, counter: Option<usize>) {
        let t = &self.tickets[i];
        let slot = match counter {
            Some(counter) => Slot::Counter {
                counter,
                key: t.enqueued_at_ms,
            },
            None => {
                let Some(&service) = self.service_ix.get(&t.service) else {
                    self.tickets[i].state = TicketState::Expired;
                    return;
                };
                match (t.appointment, t.priority) {
                    _ if !t.present => Slot::Away {
                        service,
                        key: t.enqueued_at_ms,
                    },
                    (Some(a), _) if t.transfers == 0 && t.no_show_at_ms.is_none() => {
                        Slot::Appointment {
                            service,
                            key: a.from_ms,
                        }
                    }
                    (_, Some(_)) => Slot::Priority {
                        service,
                        key: t.enqueued_at_ms,
                    },
                    _ => Slot::Normal {
                        service,
                        key: t.enqueued_at_ms,
                    },
                }
            }
        };
        let id = t.id;
        self.lane_mut(slot).insert(slot_key(slot), id);
        self.slots[i] = Some(slot);
        self.waiting += 1;
    }

    fn unslot(&mut self, i: usize) {
        if let Some(slot) = self.slots[i].take() {
            let id = self.tickets[i].id;
            self.lane_mut(slot).remove(slot_key(slot), id);
            self.waiting -= 1;
        }
    }

    fn lane_mut(&mut self, slot: Slot) -> &mut Lane {
        match slot {
            Slot::Normal { service, .. } => &mut self.queues[service].normal,
            Slot::Priority { service, .. } => &mut self.queues[service].priority,
            Slot::Appointment { service, .. } => &mut self.queues[service].appointments,
            Slot::Away { service, .. } => &mut self.queues[service].away,
            Slot::Counter { counter, .. } => &mut self.counter_lanes[counter],
        }
    }

    fn lane(&self, slot: Slot) -> &Lane {
        match slot {
            Slot::Normal { service, .. } => &self.queues[service].normal,
            Slot::Priority { service, .. } => &self.queues[service].priority,
            Slot::Appointment { service, .. } => &self.queues[service].appointments,
            Slot::Away { service, .. } => &self.queues[service].away,
            Slot::Counter { counter, .. } => &self.counter_lanes[counter],
        }
    }

    fn release(&mut self, counter: Code) {
        if let Some(&ci) = self.counter_ix.get(&counter) {
            self.counters[ci].current = None;
        }
    }

    fn end_ticket(&mut self, id: TicketId, state: TicketState) {
        let Some(i) = self.index(id) else { return };
        self.unslot(i);
        if let Some(c) = self.tickets[i].counter {
            if let Some(&ci) = self.counter_ix.get(&c) {
                if self.counters[ci].current == Some(id) {
                    self.counters[ci].current = None;
                }
            }
        }
        self.tickets[i].state = state;
    }

    // ----- invariants -----

    /// Checks everything the rest of the system relies on. Cheap enough for the simulation to run
    /// after every step; says which invariant broke and for what.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut waiting = 0u32;
        // Each ticket is found under its own number and token, and the indexes hold nothing
        // else: so no number and no token is used twice.
        if self.by_number.len() != self.tickets.len() || self.by_token.len() != self.tickets.len() {
            return Err(format!(
                "{} tickets but {} numbers and {} tokens indexed",
                self.tickets.len(),
                self.by_number.len(),
                self.by_token.len()
            ));
        }
        for (i, t) in self.tickets.iter().enumerate() {
            if t.id.0 != self.first_id + i as u64 {
                return Err(format!("ticket {} stored at index {i}", t.id));
            }
            if self.by_number.get(&t.number) != Some(&t.id) {
                return Err(format!(
                    "number {} issued twice or its index is wrong",
                    t.number
                ));
            }
            if self.by_token.get(&t.token) != Some(&t.id) {
                return Err(format!(
                    "token of {} used twice or its index is wrong",
                    t.number
                ));
            }
            // Tickets carried from an earlier day keep their numbers; the day's own numbering
            // runs past every number it issued.
            if Some(t.issued_day) == self.day
                && self
                    .next_seq
                    .get(&t.number.prefix)
                    .is_none_or(|&n| n <= t.number.seq)
            {
                return Err(format!(
                    "numbering for {} would repeat {}",
                    t.number.prefix, t.number
                ));
            }
            match (t.state, self.slots[i]) {
                (TicketState::Waiting, Some(slot)) => {
                    waiting += 1;
                    if matches!(slot, Slot::Away { .. }) == t.present {
                        return Err(format!(
                            "{} is {} but in the {} lane",
                            t.number,
                            if t.present {
                                "checked in"
                            } else {
                                "not checked in"
                            },
                            if t.present { "away" } else { "hall's" }
                        ));
                    }
                    if !self.lane(slot).contains(slot_key(slot), t.id) {
                        return Err(format!("waiting {} missing from its lane", t.number));
                    }
                }
                (TicketState::Waiting, None) => {
                    return Err(format!("waiting {} is in no lane", t.number));
                }
                (s, Some(_)) => {
                    return Err(format!(
                        "{} is {} but still in a lane",
                        t.number,
                        s.as_str()
                    ));
                }
                (TicketState::Called | TicketState::Serving, None) => {
                    let holders = self
                        .counters
                        .iter()
                        .filter(|c| c.current == Some(t.id))
                        .count();
                    if holders != 1 {
                        return Err(format!("{} held by {holders} counters", t.number));
                    }
                }
                _ => {}
            }
        }
        let in_lanes: usize = self.queues.iter().map(ServiceQueue::len).sum::<usize>()
            + self.counter_lanes.iter().map(Lane::len).sum::<usize>();
        if waiting != self.waiting || in_lanes != self.waiting as usize {
            return Err(format!(
                "waiting count {} but {waiting} waiting tickets and {in_lanes} in lanes",
                self.waiting
            ));
        }
        for lane in self
            .queues
            .iter()
            .flat_map(|q| [&q.normal, &q.priority, &q.appointments, &q.away])
        {
            if lane.head() != lane.iter().next() {
                return Err("a lane's cached head is stale".into());
            }
        }
        let mut officials = std::collections::HashSet::new();
        for c in &self.counters {
            if let Some(id) = c.current {
                let t = self
                    .ticket(id)
                    .ok_or(format!("counter {} holds unknown ticket", c.code))?;
                if !matches!(t.state, TicketState::Called | TicketState::Serving)
                    || t.counter.map(Sym::code) != Some(c.code)
                {
                    return Err(format!(
                        "counter {} holds {} in state {:?}",
                        c.code, t.number, t.state
                    ));
                }
                if c.status == CounterStatus::Closed {
                    return Err(format!("closed counter {} holds {}", c.code, t.number));
                }
            }
            match (&c.status, c.official) {
                (CounterStatus::Closed, Some(_)) => {
                    return Err(format!("closed counter {} has an official", c.code));
                }
                (CounterStatus::Closed, None) => {}
                (_, None) => return Err(format!("open counter {} has no official", c.code)),
                (_, Some(o)) => {
                    if !officials.insert(o) {
                        return Err(format!("official {o} at two counters"));
                    }
                }
            }
        }
        let issued: u32 = self.issued_per_service.iter().sum();
        if issued != self.issued_today {
            return Err(format!(
                "issued {} by service but {} in all",
                issued, self.issued_today
            ));
        }
        if self.issued_today > self.cfg.policy.tickets_per_day_max {
            return Err("more tickets than the daily maximum".into());
        }
        for (si, s) in self.cfg.services.iter().enumerate() {
            if self.issued_per_service[si] > self.cap_of(si) {
                return Err(format!("service {} over its daily cap", s.code));
            }
        }
        Ok(())
    }
}

fn slot_key(slot: Slot) -> i64 {
    match slot {
        Slot::Normal { key, .. }
        | Slot::Priority { key, .. }
        | Slot::Appointment { key, .. }
        | Slot::Away { key, .. }
        | Slot::Counter { key, .. } => key,
    }
}

/// Seconds from `now` to minute `ends` of the same day (`now` to the millisecond).
pub fn session_left_s(now: &Now, ends: Minute) -> i64 {
    let into_minute_ms = now.at_ms.rem_euclid(60_000);
    (ends as i64 - now.minute as i64) * 60 - into_minute_ms / 1000
}

/// The dossier code, trimmed, if it is 1..=`DOSSIER_LEN_MAX` characters of `[A-Za-z0-9./_-]`.
pub fn check_dossier(s: &str) -> Result<String, Rejection> {
    let s = s.trim();
    let ok = !s.is_empty()
        && s.len() <= limits::DOSSIER_LEN_MAX
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'/' | b'_'));
    if !ok {
        return Err(Rejection::DossierInvalid {
            max: limits::DOSSIER_LEN_MAX,
        });
    }
    Ok(s.to_string())
}

fn check_note(s: &str, required: bool) -> Result<(), Rejection> {
    if s.len() > limits::NOTE_LEN_MAX {
        return Err(Rejection::TextTooLong {
            max: limits::NOTE_LEN_MAX,
        });
    }
    if required && s.trim().is_empty() {
        return Err(Rejection::TextEmpty);
    }
    Ok(())
}
