//! Deterministic simulation: a seeded PRNG drives the core through many random days.
//!
//! Each run builds a random site from its seed, then lives through a random number of days: the
//! day opens (carrying or expiring yesterday's tickets), and a few hundred random commands of
//! every kind, valid or not, arrive at advancing virtual time, with the clock sometimes stepping
//! back. After every step the test checks:
//!
//! - `Site::check_invariants()`;
//! - the live site equals a replica built only by `evolve` on the emitted events, and equals a
//!   second replica rebuilt from scratch from the day's `DayOpened` checkpoint (compared every
//!   few commands and at each day's start and end; a refusal changes nothing, or they would
//!   differ);
//! - no ticket is held by two counters, no number is issued twice in a day, numbering restarts
//!   at 1 each day (skipping only numbers carried tickets hold), a day never reopens;
//! - the policy only calls a ticket the counter may serve, answers `queue_empty` only when there
//!   is none, and takes a ticket transferred to the counter before anything else.
//!
//! At the end it checks that every kind of event, every call reason and the common refusals
//! actually happened, so that it cannot pass by doing nothing.
//!
//! `LUOT_SIM_DAYS=20000` runs longer (default 300 days). A failure prints its seed;
//! `LUOT_SIM_SEED=<seed> cargo test -p luot-core --test simulation` replays that run exactly.

use luot_core::sim::Rng;
use luot_core::{
    Appointment, CallReason, Channel, Code, Command, Counter, CounterService, Day, Department,
    Event, Now, PersonKey, Policy, Prefix, PriorityCategory, Service, Site, SiteConfig, Text,
    TicketNumber, TicketRef, TicketState, Token, TransferTarget, WeekHours,
};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

/// Vietnam is UTC+7 all year.
const OFFSET_S: i32 = 7 * 3600;
/// Simulated days when `LUOT_SIM_DAYS` is not set: quick enough for every `cargo test`.
const DAYS_DEFAULT: u64 = 300;
/// The seed of the first run when `LUOT_SIM_SEED` is not set; each run derives the next.
const SEED_DEFAULT: u64 = 0x4c55_4f54_2026; // "LUOT" 2026
/// Commands remembered for the failure report.
const TRACE_LEN: usize = 24;
/// The replicas are compared with the live site every this many commands, after every day
/// opening and at every day's end. Comparing whole sites dominates the run time; a difference
/// still shows up within a few commands, all of them in the trace.
const COMPARE_EVERY: u64 = 4;

#[test]
fn random_days_keep_every_invariant() {
    let mut stats = Stats::default();
    if let Ok(seed) = std::env::var("LUOT_SIM_SEED") {
        let seed = parse_seed(&seed);
        run_or_report(seed, &mut stats);
        eprintln!("replayed seed {seed:#x}: {}", stats.summary());
        return;
    }
    let days: u64 = std::env::var("LUOT_SIM_DAYS")
        .map(|d| d.parse().expect("LUOT_SIM_DAYS is a number"))
        .unwrap_or(DAYS_DEFAULT);
    let mut seeds = Rng::new(SEED_DEFAULT);
    while stats.days < days {
        run_or_report(seeds.next_u64(), &mut stats);
    }
    eprintln!("{}", stats.summary());
    stats.assert_exercised();
}

fn parse_seed(s: &str) -> u64 {
    let s = s.trim();
    match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse(),
    }
    .unwrap_or_else(|_| panic!("LUOT_SIM_SEED={s:?} is not a number"))
}

/// One run; on failure (a broken check or a panic in the core) print how to replay it.
fn run_or_report(seed: u64, stats: &mut Stats) {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut sim = Sim::new(seed);
        let r = sim.run();
        (r, sim)
    }));
    match result {
        Ok((Ok(()), sim)) => stats.add(&sim.stats),
        Ok((Err(e), sim)) => panic!(
            "simulation failed: {e}\n\nlast commands:\n{}\n\nreplay: LUOT_SIM_SEED={seed:#x} \
             cargo test -p luot-core --test simulation",
            sim.trace.iter().cloned().collect::<Vec<_>>().join("\n")
        ),
        Err(panic) => {
            eprintln!(
                "the core panicked; replay: LUOT_SIM_SEED={seed:#x} cargo test -p luot-core \
                 --test simulation"
            );
            std::panic::resume_unwind(panic);
        }
    }
}

#[derive(Default)]
struct Stats {
    days: u64,
    commands: u64,
    rejected: u64,
    events: BTreeMap<&'static str, u64>,
    reasons: BTreeMap<&'static str, u64>,
    rejections: BTreeMap<&'static str, u64>,
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        self.days += o.days;
        self.commands += o.commands;
        self.rejected += o.rejected;
        for (k, v) in &o.events {
            *self.events.entry(k).or_default() += v;
        }
        for (k, v) in &o.reasons {
            *self.reasons.entry(k).or_default() += v;
        }
        for (k, v) in &o.rejections {
            *self.rejections.entry(k).or_default() += v;
        }
    }

    fn summary(&self) -> String {
        format!(
            "{} days, {} commands ({} refused)\nevents: {:?}\ncall reasons: {:?}\nrefusals: {:?}",
            self.days, self.commands, self.rejected, self.events, self.reasons, self.rejections
        )
    }

    fn assert_exercised(&self) {
        const EVENTS: [&str; 20] = [
            "day_closed",
            "day_opened",
            "ticket_issued",
            "ticket_called",
            "ticket_recalled",
            "service_started",
            "service_completed",
            "ticket_no_show",
            "ticket_returned",
            "ticket_transferred",
            "ticket_cancelled",
            "ticket_rated",
            "dossier_attached",
            "counter_opened",
            "counter_paused",
            "counter_resumed",
            "counter_closed",
            "service_paused",
            "service_resumed",
            "daily_cap_raised",
        ];
        const REASONS: [&str; 10] = [
            "requested",
            "transferred",
            "appointment",
            "aged",
            "priority_counter",
            "priority_first",
            "priority_only",
            "normal_turn",
            "next_in_line",
            "service_weight",
        ];
        const REFUSALS: [&str; 34] = [
            "unknown_service",
            "unknown_counter",
            "unknown_priority_category",
            "unknown_ticket",
            "day_already_open",
            "service_closed",
            "holiday",
            "daily_cap_reached",
            "site_ticket_limit",
            "waiting_limit",
            "person_limit",
            "person_department_limit",
            "appointment_invalid",
            "counter_closed",
            "counter_paused",
            "counter_already_open",
            "counter_busy",
            "counter_idle",
            "official_elsewhere",
            "service_not_at_counter",
            "queue_empty",
            "ticket_not_waiting",
            "ticket_not_called",
            "return_window_passed",
            "recall_limit",
            "transfer_to_self",
            "already_rated",
            "score_out_of_range",
            "dossier_invalid",
            "ticket_not_at_counter",
            "service_paused",
            "service_already_paused",
            "service_not_paused",
            "cap_invalid",
        ];
        let missing: Vec<&str> = EVENTS
            .iter()
            .filter(|k| self.events.get(*k).copied().unwrap_or(0) == 0)
            .chain(
                REASONS
                    .iter()
                    .filter(|k| self.reasons.get(*k).copied().unwrap_or(0) == 0),
            )
            .chain(
                REFUSALS
                    .iter()
                    .filter(|k| self.rejections.get(*k).copied().unwrap_or(0) == 0),
            )
            .copied()
            .collect();
        assert!(
            missing.is_empty(),
            "the simulation never produced {missing:?}\n{}",
            self.summary()
        );
        // Most commands must do something, or the checks above prove little.
        assert!(
            self.rejected * 2 < self.commands,
            "more than half the commands were refused\n{}",
            self.summary()
        );
    }
}

/// One simulated site over several days.
struct Sim {
    rng: Rng,
    cfg: SiteConfig,
    live: Site,
    /// Built only by `evolve` on the events `live` emitted, from the very first one. Taken out
    /// during a step only.
    replica: Option<Site>,
    /// Rebuilt from nothing at each day's `DayOpened` (a recovery checkpoint).
    checkpoint: Option<Site>,
    officials: Vec<Code>,
    days: u64,
    /// Milliseconds since the epoch of the virtual clock.
    at_ms: i64,
    /// Numbers issued or carried into the open day.
    numbers_today: HashSet<TicketNumber>,
    /// The last number issued today for each prefix.
    last_seq: HashMap<Prefix, u16>,
    stats: Stats,
    trace: VecDeque<String>,
}

impl Sim {
    fn new(seed: u64) -> Sim {
        let mut rng = Rng::new(seed);
        let cfg = random_config(&mut rng);
        let officials = (0..cfg.counters.len() + 2)
            .map(|i| code(&format!("off{i}")))
            .collect();
        let first_day = Day::from_ymd(2026, 6, 1).0 as i64 + rng.between(0, 400) as i64;
        Sim {
            days: rng.between(1, 25),
            live: Site::new(cfg.clone()),
            replica: Some(Site::new(cfg.clone())),
            checkpoint: None,
            cfg,
            officials,
            at_ms: local_ms(first_day, 6 * 3600),
            numbers_today: HashSet::new(),
            last_seq: HashMap::new(),
            stats: Stats::default(),
            trace: VecDeque::new(),
            rng,
        }
    }

    fn now(&self) -> Now {
        Now::from_offset(self.at_ms, OFFSET_S)
    }

    fn run(&mut self) -> Result<(), String> {
        for _ in 0..self.days {
            // Morning: open the day (a weekend or a closed day may be skipped).
            let skip = if self.rng.chance(0.2) {
                self.rng.between(1, 2)
            } else {
                0
            };
            let day = self.now().day.0 as i64 + 1 + skip as i64;
            let start_s = self.rng.between(5 * 3600, 7 * 3600) as i64;
            self.at_ms = local_ms(day, start_s);
            let now = self.now();
            if !self.live.rollover_due(&now) {
                return Err(format!("day {} is not due at {}", now.day, self.at_ms));
            }
            self.step(Command::OpenDay { day: now.day })?;
            let steps = self.rng.between(150, 450);
            for _ in 0..steps {
                self.advance_clock();
                let cmd = self.random_command();
                self.step(cmd)?;
            }
            self.compare_replicas()?;
            self.stats.days += 1;
        }
        Ok(())
    }

    fn advance_clock(&mut self) {
        let ms = if self.rng.chance(0.02) {
            // The server's clock stepped back (NTP, a VM resumed): up to ten minutes.
            -(self.rng.between(1, 600_000) as i64)
        } else if self.rng.chance(0.1) {
            0
        } else {
            self.rng.between(1, 150_000) as i64
        };
        self.at_ms += ms;
    }

    /// Applies one command to the live site and checks everything after it.
    fn step(&mut self, cmd: Command) -> Result<(), String> {
        let now = self.now();
        if self.trace.len() == TRACE_LEN {
            self.trace.pop_front();
        }
        self.trace
            .push_back(format!("  {}  {cmd:?}", now_text(&now)));
        self.stats.commands += 1;
        let result = self.live.apply(cmd.clone(), &now);
        if let Some(last) = self.trace.back_mut() {
            match &result {
                Ok(events) => last.push_str(&format!("\n      -> {events:?}")),
                Err(r) => last.push_str(&format!("\n      -> refused: {}", r.code())),
            }
        }
        // Until it evolves, the replica is the state before the command: the checks read it.
        let mut replica = self
            .replica
            .take()
            .expect("the replica is back after each step");
        match &result {
            Ok(events) => {
                if events.is_empty() {
                    return Err(format!("{cmd:?} succeeded with no event"));
                }
                for e in events {
                    *self.stats.events.entry(e.kind()).or_default() += 1;
                    self.check_event(&replica, &cmd, e, &now)?;
                    replica.evolve(e, now.at_ms);
                    // As the broker does with its visible copy: hold the ticket once. The live
                    // site's next change to it must copy it, or the checks above, which read the
                    // replica as the state before the command, would see the change early.
                    replica.share_tickets(&self.live, e);
                    if let Event::DayOpened { .. } = e {
                        let mut fresh = Site::new(self.cfg.clone());
                        fresh.evolve(e, now.at_ms);
                        self.checkpoint = Some(fresh);
                    } else if let Some(c) = &mut self.checkpoint
                        && !matches!(e, Event::DayClosed { .. })
                    {
                        c.evolve(e, now.at_ms);
                    }
                }
            }
            Err(r) => {
                self.stats.rejected += 1;
                *self.stats.rejections.entry(r.code()).or_default() += 1;
                self.check_refusal(&replica, &cmd, r.code())?;
            }
        }
        self.live
            .check_invariants()
            .map_err(|e| format!("invariant broken after {cmd:?}: {e}"))?;
        self.replica = Some(replica);
        if self.stats.commands.is_multiple_of(COMPARE_EVERY)
            || matches!(cmd, Command::OpenDay { .. })
        {
            self.compare_replicas()?;
        }
        let mut held = HashSet::new();
        for id in self.live.counters().iter().filter_map(|c| c.current) {
            if !held.insert(id) {
                return Err(format!("ticket {id} is held by two counters"));
            }
        }
        Ok(())
    }

    fn compare_replicas(&self) -> Result<(), String> {
        // Refused commands in between changed nothing either, or the replica would differ.
        let replica = self
            .replica
            .as_ref()
            .expect("the replica is back after each step");
        compare(
            &self.live,
            replica,
            "the replica replayed from the first event",
        )?;
        // Between steps the replica has caught up, so every ticket is held once by the two.
        let tickets = self.live.tickets();
        let shared = tickets
            .iter()
            .filter(|t| replica.ticket(t.id).is_some_and(|r| std::ptr::eq(*t, r)))
            .count();
        if shared < tickets.len() {
            return Err(format!(
                "only {shared} of {} tickets are held once by the live site and the replica",
                tickets.len()
            ));
        }
        if let Some(c) = &self.checkpoint {
            compare(
                &self.live,
                c,
                "the replica rebuilt from the day's checkpoint",
            )?;
        }
        Ok(())
    }

    /// Checks one emitted event against the state before the command.
    fn check_event(
        &mut self,
        before: &Site,
        cmd: &Command,
        e: &Event,
        now: &Now,
    ) -> Result<(), String> {
        match e {
            Event::DayOpened { day, carried, .. } => {
                if before.day().is_some_and(|d| *day <= d) {
                    return Err(format!("day {day} opened again"));
                }
                self.numbers_today.clear();
                self.last_seq.clear();
                for c in carried {
                    if !self.numbers_today.insert(c.number) {
                        return Err(format!("{} carried twice into {day}", c.number));
                    }
                }
            }
            Event::TicketCheckedIn { ticket, kept_place } => {
                let t = before
                    .ticket(*ticket)
                    .ok_or(format!("checked in unknown ticket {ticket}"))?;
                if t.present || t.state != TicketState::Waiting {
                    return Err(format!(
                        "{} checked in while present or not waiting",
                        t.number
                    ));
                }
                let hold_ms = self.cfg.policy.remote_hold_s as i64 * 1000;
                let within = t.turn_passed_at_ms.is_none_or(|p| now.at_ms - p <= hold_ms);
                if *kept_place != within {
                    return Err(format!(
                        "{} checked in {} ms after its turn passed: kept_place {kept_place}",
                        t.number,
                        t.turn_passed_at_ms.map_or(0, |p| now.at_ms - p)
                    ));
                }
            }
            Event::TicketIssued {
                number, service, ..
            } => {
                let prefix = self.cfg.service(*service).map(|s| s.prefix);
                if prefix != Some(number.prefix) {
                    return Err(format!(
                        "{number} issued for {service} with prefix {prefix:?}"
                    ));
                }
                if !self.numbers_today.insert(*number) {
                    return Err(format!("{number} issued twice on {:?}", before.day()));
                }
                // Numbering restarts at 1 each day and skips only numbers already held today.
                let last = self.last_seq.insert(number.prefix, number.seq).unwrap_or(0);
                let expected = (last + 1..)
                    .find(|&seq| {
                        let n = TicketNumber {
                            prefix: number.prefix,
                            seq,
                        };
                        !self.numbers_today.contains(&n) || n == *number
                    })
                    .expect("a free number");
                if number.seq != expected {
                    return Err(format!("{number} issued where {expected} was next"));
                }
            }
            Event::TicketCalled {
                ticket,
                counter,
                reason,
                ..
            } => {
                let t = before
                    .ticket(*ticket)
                    .ok_or(format!("called unknown ticket {ticket}"))?;
                if t.state != TicketState::Waiting {
                    return Err(format!("called {} while {}", t.number, t.state.as_str()));
                }
                if before
                    .counter_state(*counter)
                    .and_then(|c| c.current)
                    .is_some()
                {
                    return Err(format!("busy counter {counter} called {}", t.number));
                }
                if !may_serve(&self.cfg, *counter, t) {
                    return Err(format!("{counter} called {} it may not serve", t.number));
                }
                let transferred_here = waiting(before)
                    .any(|w| w.target_counter.map(|c| *c) == Some(*counter) && w.id != *ticket);
                if matches!(cmd, Command::CallNext { .. }) {
                    // A number taken from home is called only once its citizen is in the hall.
                    if !t.present {
                        return Err(format!("{} called before it was checked in", t.number));
                    }
                    let is_transfer = *reason == CallReason::Transferred;
                    if is_transfer != (t.target_counter.map(|c| *c) == Some(*counter)) {
                        return Err(format!("{} called as {reason:?}", t.number));
                    }
                    if transferred_here && !is_transfer {
                        return Err(format!(
                            "{counter} called {} ({reason:?}) before a ticket transferred to it",
                            t.number
                        ));
                    }
                    if let CallReason::Aged { waited_s } = reason {
                        let waited = (now.at_ms - t.enqueued_at_ms) / 1000;
                        if waited != *waited_s as i64 || *waited_s < self.cfg.policy.max_wait_s {
                            return Err(format!("{} aged at {waited_s} s", t.number));
                        }
                    }
                    self.check_priority_reason(before, *counter, t, *reason)?;
                } else if *reason != CallReason::Requested {
                    return Err(format!("{cmd:?} gave reason {reason:?}"));
                }
                *self.stats.reasons.entry(reason.code()).or_default() += 1;
            }
            _ => {}
        }
        Ok(())
    }

    /// Priority as promised, and reasons that are literally true (issue 11): a normal ticket
    /// passes a waiting priority one only on its `normal_turn` (or aged, due, transferred), and
    /// `next_in_line` is said only of the earliest normal ticket the counter serves. Tickets with
    /// an appointment are left out: which lane they wait in depends on their history.
    fn check_priority_reason(
        &self,
        before: &Site,
        counter: Code,
        t: &luot_core::Ticket,
        reason: CallReason,
    ) -> Result<(), String> {
        let Some(called) = lane(t) else {
            return Ok(());
        };
        let serves =
            |w: &&luot_core::Ticket| w.target_counter.is_none() && may_serve(&self.cfg, counter, w);
        // One pass over the day's tickets: this runs at every call of every simulated day.
        let (mut priority_waits, mut appointment_priority_waits) = (false, false);
        let mut earliest_normal = None;
        for w in waiting(before).filter(|w| w.present).filter(serves) {
            match lane(w) {
                Some(Lane::Priority) => priority_waits = true,
                Some(Lane::Normal) => {
                    let k = (w.enqueued_at_ms, w.id);
                    if earliest_normal.is_none_or(|e| k < e) {
                        earliest_normal = Some(k);
                    }
                }
                None => appointment_priority_waits |= w.is_priority(),
            }
        }
        let streak = before
            .counter_state(counter)
            .map_or(0, |c| c.priority_streak);
        let n = self.cfg.policy.normal_per_priority;
        let ok = match reason {
            CallReason::NextInLine => {
                !priority_waits && earliest_normal == Some((t.enqueued_at_ms, t.id))
            }
            CallReason::ServiceWeight => !priority_waits && called == Lane::Normal,
            CallReason::PriorityFirst | CallReason::PriorityCounter => called == Lane::Priority,
            CallReason::PriorityOnly => called == Lane::Priority && earliest_normal.is_none(),
            CallReason::NormalTurn => {
                // A priority ticket with an appointment may be the one waiting in the lane.
                let maybe_priority = priority_waits || appointment_priority_waits;
                called == Lane::Normal && maybe_priority && n > 0 && streak >= n
            }
            _ => true,
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "{counter} called {} as {reason:?}: priority waiting {priority_waits}, earliest \
                 normal {earliest_normal:?}, streak {streak}/{n}",
                t.number
            ))
        }
    }

    /// Checks the refusals that have a simple independent definition.
    fn check_refusal(&self, before: &Site, cmd: &Command, code: &str) -> Result<(), String> {
        match (cmd, code) {
            (Command::CallNext { counter }, "queue_empty") => {
                if let Some(t) =
                    waiting(before).find(|t| t.present && may_serve(&self.cfg, *counter, t))
                {
                    return Err(format!("queue_empty at {counter} while {} waits", t.number));
                }
            }
            (Command::OpenDay { day }, r) if before.day().is_none_or(|d| *day > d) => {
                return Err(format!("opening {day} refused: {r}"));
            }
            _ => {}
        }
        Ok(())
    }

    // ----- random commands -----

    /// Mostly what a real center does next; a quarter of the time anything at all.
    fn random_command(&mut self) -> Command {
        match self.rng.between(0, 99) {
            0..=24 => self.any_command(),
            25..=46 => self.random_issue(),
            47..=53 => self.citizen_command(),
            54 => self.manager_command(),
            _ => self.official_command(),
        }
    }

    /// The manager on the floor page stops or resumes issuing for a service, or raises its cap
    /// (now and then to a cap that is not higher, or with no reason).
    fn manager_command(&mut self) -> Command {
        let service = self.rng.pick(&self.cfg.services).code;
        let paused: Vec<Code> = (self.cfg.services.iter())
            .map(|s| s.code)
            .filter(|&s| self.live.service_paused(s).is_some())
            .collect();
        if !paused.is_empty() && self.rng.chance(0.6) {
            return Command::ResumeService {
                service: *self.rng.pick(&paused),
            };
        }
        match self.rng.between(0, 9) {
            0..=3 => Command::PauseService {
                service,
                reason: if self.rng.chance(0.1) {
                    "".into()
                } else {
                    "mất kết nối cơ sở dữ liệu".into()
                },
            },
            4..=7 => Command::ResumeService { service },
            _ => {
                let cap = self.live.daily_cap(service).unwrap_or(0);
                let by = self.rng.between(0, 20) as u32;
                Command::RaiseDailyCap {
                    service,
                    cap: if self.rng.chance(0.2) {
                        cap.saturating_sub(by)
                    } else {
                        cap + by
                    },
                }
            }
        }
    }

    /// A citizen comes back after a no-show, rates, or gives up.
    fn citizen_command(&mut self) -> Command {
        match self.rng.between(0, 3) {
            3 => Command::CheckIn {
                ticket: self.some_ticket(|t| t.state == TicketState::Waiting && !t.present),
            },
            0 => Command::Return {
                ticket: self.some_ticket(|t| t.state == TicketState::NoShow),
            },
            1 => Command::Rate {
                ticket: self.some_ticket(|t| t.state == TicketState::Done && t.rating.is_none()),
                score: self.rng.between(1, self.cfg.policy.rating_levels as u64) as u8,
                reason: None,
            },
            _ => Command::Cancel {
                ticket: self.some_ticket(|t| t.state == TicketState::Waiting),
            },
        }
    }

    /// The official at a random counter does the obvious next thing, most of the time.
    fn official_command(&mut self) -> Command {
        let ci = self.rng.between(0, self.cfg.counters.len() as u64 - 1) as usize;
        let state = &self.live.counters()[ci];
        let counter = state.code;
        let status = state.status.as_str();
        let current = state.current.and_then(|id| self.live.ticket(id));
        let current_number = current.map(|t| t.number);
        let r = self.rng.between(0, 99);
        match (status, current.map(|t| t.state)) {
            ("closed", _) => {
                let busy: Vec<Code> = self
                    .live
                    .counters()
                    .iter()
                    .filter_map(|c| c.official)
                    .collect();
                let free: Vec<Code> = self
                    .officials
                    .iter()
                    .copied()
                    .filter(|o| !busy.contains(o))
                    .collect();
                let official = if free.is_empty() || r < 5 {
                    *self.rng.pick(&self.officials)
                } else {
                    *self.rng.pick(&free)
                };
                Command::OpenCounter { counter, official }
            }
            ("paused", _) if r < 75 => Command::ResumeCounter { counter },
            ("paused", _) => Command::CloseCounter { counter },
            (_, None) if r < 88 => Command::CallNext { counter },
            (_, None) if r < 93 => Command::CallTicket {
                counter,
                ticket: self.some_ticket(|t| t.state == TicketState::Waiting),
            },
            (_, None) if r < 97 => Command::PauseCounter {
                counter,
                reason: "họp".into(),
            },
            (_, None) => Command::CloseCounter { counter },
            // The official's console has been gone too long: the server pauses the counter.
            (_, Some(TicketState::Called)) if r < 4 => Command::PauseAbsent {
                counter,
                reason: "Cán bộ vắng mặt".into(),
            },
            (_, Some(TicketState::Called)) if r < 55 => Command::Start { counter },
            (_, Some(TicketState::Called)) if r < 70 => Command::Recall { counter },
            (_, Some(TicketState::Called)) if r < 85 => Command::NoShow { counter },
            (_, Some(TicketState::Called)) if r < 93 => Command::Complete { counter },
            (_, Some(TicketState::Serving)) if r < 88 => Command::Complete { counter },
            // The official records the citizen's dossier code (now and then mistyped).
            (_, Some(TicketState::Serving)) if r < 93 => Command::AttachDossier {
                counter,
                ticket: TicketRef::Number(current_number.expect("a current ticket")),
                dossier: if r == 92 {
                    "H26 0001".into()
                } else {
                    "000.00.28.H26-261130-0001".into()
                },
            },
            (_, Some(_)) => {
                let to = if self.rng.chance(0.5) {
                    TransferTarget::Service(self.rng.pick(&self.cfg.services).code)
                } else {
                    TransferTarget::Counter(self.rng.pick(&self.cfg.counters).code)
                };
                Command::Transfer {
                    counter,
                    to,
                    note: String::new(),
                }
            }
        }
    }

    /// Any command, with arguments that are often wrong.
    fn any_command(&mut self) -> Command {
        match self.rng.between(0, 99) {
            0..=29 => self.random_issue(),
            30..=44 => Command::CallNext {
                counter: self.some_counter(),
            },
            45..=47 => Command::CallTicket {
                counter: self.some_counter(),
                ticket: self.some_ticket(|_| true),
            },
            48..=51 => Command::Recall {
                counter: self.some_counter(),
            },
            52..=59 => Command::Start {
                counter: self.some_counter(),
            },
            60..=69 => Command::Complete {
                counter: self.some_counter(),
            },
            70..=73 => Command::NoShow {
                counter: self.some_counter(),
            },
            74..=76 => Command::Return {
                ticket: self.some_ticket(|t| t.state == TicketState::NoShow),
            },
            77..=79 => {
                let counter = self.some_counter();
                let to = if self.rng.chance(0.5) {
                    TransferTarget::Service(self.some_service())
                } else {
                    TransferTarget::Counter(self.some_counter())
                };
                let note = if self.rng.chance(0.03) {
                    "x".repeat(501)
                } else {
                    "chuyển".into()
                };
                Command::Transfer { counter, to, note }
            }
            80..=82 => Command::Cancel {
                ticket: self.some_ticket(|t| t.state == TicketState::Waiting),
            },
            83..=88 => Command::OpenCounter {
                counter: self.some_counter(),
                official: *self.rng.pick(&self.officials),
            },
            89..=90 => Command::PauseCounter {
                counter: self.some_counter(),
                reason: if self.rng.chance(0.1) {
                    " ".into()
                } else {
                    "nghỉ giải lao".into()
                },
            },
            91..=92 => Command::ResumeCounter {
                counter: self.some_counter(),
            },
            93..=94 => Command::CloseCounter {
                counter: self.some_counter(),
            },
            95..=96 => Command::AttachDossier {
                counter: self.some_counter(),
                ticket: self.some_ticket(|t| {
                    matches!(
                        t.state,
                        TicketState::Called | TicketState::Serving | TicketState::Done
                    )
                }),
                dossier: "H26-0002".into(),
            },
            97..=98 => {
                let levels = self.cfg.policy.rating_levels as u64;
                Command::Rate {
                    ticket: self.some_ticket(|t| t.state == TicketState::Done),
                    score: self.rng.between(0, levels + 1) as u8,
                    reason: self.rng.chance(0.3).then(|| "chậm".into()),
                }
            }
            _ => {
                // Reopening the open day or an earlier one is always refused.
                let day = self.now().day.0 - self.rng.between(0, 3) as i32;
                Command::OpenDay { day: Day(day) }
            }
        }
    }

    fn random_issue(&mut self) -> Command {
        let service = self.some_service();
        let channel = *self.rng.pick(&Channel::ALL);
        let priority = if self.rng.chance(0.2) {
            if self.rng.chance(0.05) {
                Some(code("vip"))
            } else {
                Some(self.rng.pick(&self.cfg.priority_categories).code)
            }
        } else {
            None
        };
        let appointment = (channel == Channel::Appointment || self.rng.chance(0.03)).then(|| {
            let from_ms = self.at_ms + self.rng.between(0, 4 * 3_600_000) as i64 - 1_800_000;
            let len = self.rng.between(0, 30 * 60_000) as i64;
            Appointment {
                from_ms,
                to_ms: if self.rng.chance(0.05) {
                    from_ms - len
                } else {
                    from_ms + len + 1
                },
            }
        });
        let person = self
            .rng
            .chance(0.25)
            .then(|| PersonKey(self.rng.between(1, 30)));
        // A few phones, so that one phone's limits are reached now and then.
        let phone = (channel.is_remote() && self.rng.chance(0.8))
            .then(|| format!("09{:08}", self.rng.between(0, 12)));
        Command::Issue {
            phone,
            service,
            channel,
            priority,
            token: Token(
                ((self.rng.next_u64() as u128) << 64 | self.rng.next_u64() as u128).to_le_bytes(),
            ),
            appointment,
            person,
        }
    }

    /// A configured counter, or now and then one that does not exist.
    fn some_counter(&mut self) -> Code {
        if self.rng.chance(0.02) {
            return code("q-none");
        }
        self.rng.pick(&self.cfg.counters).code
    }

    fn some_service(&mut self) -> Code {
        if self.rng.chance(0.02) {
            return code("s-none");
        }
        self.rng.pick(&self.cfg.services).code
    }

    /// Mostly a ticket of today that fits, sometimes any or none; by number or by token.
    fn some_ticket(&mut self, fits: impl Fn(&luot_core::Ticket) -> bool) -> TicketRef {
        let tickets = self.live.tickets();
        let fitting: Vec<_> = tickets.iter().filter(|t| fits(t)).collect();
        let t = if !fitting.is_empty() && self.rng.chance(0.85) {
            Some(*self.rng.pick(&fitting))
        } else if !tickets.is_empty() && self.rng.chance(0.8) {
            Some(&tickets[self.rng.next_u64() as usize % tickets.len()])
        } else {
            None
        };
        match t {
            Some(t) if self.rng.chance(0.5) => TicketRef::Token(t.token),
            Some(t) => TicketRef::Number(t.number),
            None => TicketRef::Number(TicketNumber::parse("Z999").unwrap()),
        }
    }
}

fn waiting(site: &Site) -> impl Iterator<Item = &luot_core::Ticket> {
    site.tickets()
        .iter()
        .filter(|t| t.state == TicketState::Waiting)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lane {
    Priority,
    Normal,
}

/// The service lane a waiting ticket (not transferred to a counter) is in, by its priority;
/// `None` for a ticket with an appointment (the appointment lane, or another after a no-show,
/// a transfer or a closed counter).
fn lane(t: &luot_core::Ticket) -> Option<Lane> {
    match (t.appointment, t.priority) {
        (Some(_), _) => None,
        (None, Some(_)) => Some(Lane::Priority),
        (None, None) => Some(Lane::Normal),
    }
}

/// Whether `counter` may call waiting ticket `t`: transferred to it, or of a service it serves.
fn may_serve(cfg: &SiteConfig, counter: Code, t: &luot_core::Ticket) -> bool {
    match t.target_counter {
        Some(c) => c == counter,
        None => cfg
            .counter(counter)
            .is_some_and(|c| c.services.iter().any(|s| s.service == t.service)),
    }
}

/// Equal sites, or the first visible difference.
fn compare(live: &Site, other: &Site, what: &str) -> Result<(), String> {
    if live == other {
        return Ok(());
    }
    if live.day() != other.day() {
        return Err(format!("{what}: day {:?} != {:?}", other.day(), live.day()));
    }
    for (a, b) in live.tickets().iter().zip(other.tickets()) {
        if a != b {
            return Err(format!(
                "{what} differs:\n  live:    {a:?}\n  replica: {b:?}"
            ));
        }
    }
    if live.tickets().len() != other.tickets().len() {
        return Err(format!("{what}: ticket counts differ"));
    }
    if live.counters() != other.counters() {
        return Err(format!(
            "{what}: counters differ:\n  live:    {:?}\n  replica: {:?}",
            live.counters(),
            other.counters()
        ));
    }
    // Private parts: show the fields whose pretty-printed lines differ, ignoring line order
    // (hash maps print in any order).
    let (pa, pb) = (format!("{live:#?}"), format!("{other:#?}"));
    let (a, b) = (fields(&pa), fields(&pb));
    let mut out = format!("{what} differs:");
    for ((name, la), (_, lb)) in a.iter().zip(&b) {
        let (mut sa, mut sb) = (la.clone(), lb.clone());
        sa.sort();
        sb.sort();
        if sa != sb {
            let cut = |v: &[&str]| v.join("\n").chars().take(2000).collect::<String>();
            out += &format!("\n  {name}\n  live:\n{}\n  replica:\n{}", cut(la), cut(lb));
        }
    }
    Err(out)
}

/// Top-level fields of a pretty-printed struct, with their lines.
fn fields(pretty: &str) -> Vec<(String, Vec<&str>)> {
    let mut out: Vec<(String, Vec<&str>)> = Vec::new();
    for line in pretty.lines().skip(1) {
        let top = line.strip_prefix("    ").filter(|l| !l.starts_with(' '));
        match top.and_then(|l| l.split_once(':')) {
            Some((name, _)) => out.push((name.to_string(), vec![line])),
            None => {
                if let Some(last) = out.last_mut() {
                    last.1.push(line);
                }
            }
        }
    }
    out
}

// ----- a random site -----

fn random_config(rng: &mut Rng) -> SiteConfig {
    const PREFIXES: [&str; 4] = ["A", "B", "C", "KQ"];
    let prefixes = rng.between(1, 4) as usize;
    let departments: Vec<Department> = (0..prefixes)
        .map(|i| Department {
            code: code(&format!("d{i}")),
            name: Text::new(format!("Lĩnh vực {i}"), format!("Department {i}")),
            prefix: Prefix::new(PREFIXES[i]).unwrap(),
        })
        .collect();
    let services: Vec<Service> = (0..rng.between(2, 8))
        .map(|i| {
            let d = &departments[rng.between(0, prefixes as u64 - 1) as usize];
            let hours = if rng.chance(0.7) {
                WeekHours::always()
            } else {
                let saturday = rng.chance(0.5);
                WeekHours {
                    days: std::array::from_fn(|wd| {
                        if wd < 5 || (wd == 5 && saturday) {
                            vec![(7 * 60 + 30, 11 * 60 + 30), (13 * 60, 17 * 60)]
                        } else {
                            vec![]
                        }
                    }),
                }
            };
            Service {
                code: code(&format!("s{i}")),
                department: d.code,
                name: Text::new(format!("Thủ tục {i}"), format!("Service {i}")),
                prefix: d.prefix,
                hours,
                daily_cap: if rng.chance(0.3) {
                    rng.between(3, 40) as u32
                } else {
                    1000
                },
                expected_service_s: rng.between(120, 900) as u32,
                carry_over: rng.chance(0.3),
            }
        })
        .collect();
    let counters = (0..rng.between(2, 6))
        .map(|i| {
            let mut served = Vec::new();
            for s in &services {
                if rng.chance(0.5) {
                    served.push(CounterService {
                        service: s.code,
                        weight: rng.between(1, 3) as u32,
                    });
                }
            }
            if served.is_empty() {
                served.push(CounterService {
                    service: rng.pick(&services).code,
                    weight: 1,
                });
            }
            Counter {
                code: code(&format!("q{i}")),
                number: i as u16 + 1,
                name: Text::new(format!("Quầy {}", i + 1), format!("Counter {}", i + 1)),
                services: served,
                priority_first: rng.chance(0.25),
            }
        })
        .collect();
    let policy = Policy {
        normal_per_priority: rng.between(0, 3) as u32,
        max_wait_s: rng.between(10, 90) as u32 * 60,
        appointment_early_s: rng.between(0, 15) as u32 * 60,
        no_show_return_s: rng.between(2, 30) as u32 * 60,
        console_absent_s: 120,
        wait_target_s: rng.between(5, 60) as u32 * 60,
        recall_max: rng.between(1, 4) as u8,
        rating_window_s: rng.between(2, 30) as u32 * 60,
        rating_levels: rng.between(3, 5) as u8,
        tickets_per_day_max: rng.between(40, 400) as u32,
        waiting_max: rng.between(10, 80) as u32,
        per_person_day_max: rng.between(1, 3) as u8,
        per_person_department_max: rng.between(1, 2) as u8,
        intake_close: Vec::new(),
        remote_hold_s: rng.between(1, 30) as u32 * 60,
        hall_share_pct: rng.between(0, 100) as u8,
    };
    let first = Day::from_ymd(2026, 6, 1).0;
    let mut holidays: Vec<Day> = (0..rng.between(0, 6))
        .map(|_| Day(first + rng.between(0, 440) as i32))
        .collect();
    // A holiday within a run's first days now and then, so that runs, which last 1 to 25
    // days, meet one whatever the seed (the `holiday` refusal is required below).
    if rng.chance(0.25) {
        holidays.push(Day(first + rng.between(1, 5) as i32));
    }
    SiteConfig {
        code: code("sim"),
        name: Text::new("Mô phỏng", "Simulation"),
        departments,
        services,
        counters,
        priority_categories: ["elderly", "disabled"]
            .iter()
            .map(|c| PriorityCategory {
                code: code(c),
                name: Text::new(*c, *c),
                min_age: None,
            })
            .collect(),
        policy,
        holidays,
    }
}

fn code(s: &str) -> Code {
    Code::new(s).unwrap()
}

/// Unix milliseconds for `secs` past local midnight of `day` (days since 1970-01-01).
fn local_ms(day: i64, secs: i64) -> i64 {
    (day * 86_400 + secs - OFFSET_S as i64) * 1000
}

fn now_text(now: &Now) -> String {
    let s = (now.at_ms.div_euclid(1000) + OFFSET_S as i64).rem_euclid(60);
    format!(
        "{} {:02}:{:02}:{s:02}",
        now.day,
        now.minute / 60,
        now.minute % 60
    )
}

#[test]
fn the_rng_is_deterministic_and_spread() {
    let mut a = Rng::new(7);
    let mut b = Rng::new(7);
    let xs: Vec<u64> = (0..100).map(|_| a.next_u64()).collect();
    let ys: Vec<u64> = (0..100).map(|_| b.next_u64()).collect();
    assert_eq!(xs, ys);
    let mut r = Rng::new(1);
    let mut seen = [0u32; 10];
    for _ in 0..10_000 {
        seen[r.between(0, 9) as usize] += 1;
    }
    assert!(seen.iter().all(|&n| (800..1200).contains(&n)), "{seen:?}");
}
