//! A staffing plan a manager can act on (issue 12, item 5): given one expected day of arrivals,
//! the center's counters and how many officials there are, which counters to open in each half
//! hour so that 90% of the citizens arriving in that half hour wait at most the target — or, where
//! that cannot be done, which half hour and department miss it and by how much.
//!
//! The plan is searched with the real replay ([`replay::replay_day`] with the plan as its
//! staffing rows), so what it claims is what `luot replay --staffing` shows. Start, per half hour
//! and department, from its offered load rounded down (at least one counter while the department
//! has citizens), capped by the counters that serve it and by the officials; replay; for each
//! department whose target is missed, open one more of its counters in its worst half hour (or,
//! when that half hour is full, the next, the one before, or a later one); replay again, until
//! every target is met, nothing more can be opened, or [`REPLAYS_MAX`] replays were made. A counter serving
//! several departments (the all-round priority counter) is one counter, counted once against the
//! officials; a department's own counters are opened before a shared one, unless there are fewer
//! officials than departments with citizens: then shared counters first, so that every department
//! has one. Deterministic for a seed.

use crate::config::SiteConfig;
use crate::ids::Code;
use crate::replay::{self, Arrival, DayPlan, Figures, HALF_HOUR_S, Shift, Wanted};
use crate::site::{Site, WaitEstimate};
use crate::time::Day;

/// Most replays one plan's search makes (each replays the whole day).
pub const REPLAYS_MAX: u32 = 120;
/// Half hours after the last arrival the plan may keep counters open to call who still waits.
pub const DRAIN_HALF_HOURS_MAX: u32 = 8;
/// The share of a half hour's citizens who must be called within the target.
pub const TARGET_SHARE: f64 = 0.9;

/// What to plan for.
#[derive(Clone, Debug)]
pub struct PlanRequest<'a> {
    pub cfg: &'a SiteConfig,
    pub day: Day,
    pub utc_offset_s: i32,
    pub arrivals: &'a [Arrival],
    /// Most counters open at once.
    pub officials: u32,
    /// The p90 wait to keep, seconds.
    pub target_s: u32,
    /// The replay's seed (`DayPlan::seed`).
    pub seed: u64,
}

/// Why a half hour's target is missed in the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shortfall {
    /// Every counter that serves the department is open in that half hour (and the one before
    /// and after could not help more).
    AllCountersOpen,
    /// As many counters as there are officials are open in that half hour.
    NoOfficialLeft,
    /// The search stopped after [`REPLAYS_MAX`] replays.
    SearchBudget,
}

impl Shortfall {
    pub fn code(self) -> &'static str {
        match self {
            Shortfall::AllCountersOpen => "all_counters_open",
            Shortfall::NoOfficialLeft => "no_official_left",
            Shortfall::SearchBudget => "search_budget",
        }
    }

    /// (Vietnamese, English).
    pub fn message(self) -> (&'static str, &'static str) {
        match self {
            Shortfall::AllCountersOpen => (
                "đã mở mọi quầy của lĩnh vực",
                "every counter of the department is open",
            ),
            Shortfall::NoOfficialLeft => ("hết cán bộ", "no official left"),
            Shortfall::SearchBudget => ("hết lượt tìm", "search budget spent"),
        }
    }
}

/// One half hour and department of the plan, as its replay went.
#[derive(Clone, Debug, PartialEq)]
pub struct SlotCheck {
    /// Start of the half hour, seconds since midnight.
    pub from_s: u32,
    pub department: Code,
    /// Citizens of the department who took a ticket in the half hour, and how many were called.
    pub tickets: u32,
    pub served: u32,
    /// 90th percentile of the called citizens' waits.
    pub p90_wait_s: Option<u32>,
    /// Open counters serving the department in that half hour.
    pub counters_open: u32,
    /// Every citizen called and p90 ≤ target.
    pub met: bool,
    /// When missed: p90 − target in seconds (`None` when some citizens were never called).
    pub over_s: Option<u32>,
    pub shortfall: Option<Shortfall>,
}

/// The plan: which counters are open in each half hour, and how its replay went.
#[derive(Clone, Debug, PartialEq)]
pub struct StaffingPlan {
    /// Start of the first half hour, seconds since midnight.
    pub first_s: u32,
    /// `open[k][c]`: counter `c` (configuration order) is open in half hour `k`.
    pub open: Vec<Vec<bool>>,
    pub checks: Vec<SlotCheck>,
    pub target_s: u32,
    pub officials: u32,
    pub replays: u32,
    /// Arrivals that got no ticket on the replay (outside opening hours, ...).
    pub refused: usize,
}

impl StaffingPlan {
    /// The plan of a day without arrivals: nothing open, nothing to judge.
    pub fn empty(target_s: u32, officials: u32) -> StaffingPlan {
        StaffingPlan {
            first_s: 0,
            open: Vec::new(),
            checks: Vec::new(),
            target_s,
            officials,
            replays: 0,
            refused: 0,
        }
    }

    /// The staffing rows `luot replay --staffing` reads: one per half hour and open counter.
    pub fn shifts(&self, cfg: &SiteConfig) -> Vec<Shift> {
        shifts(cfg, self.first_s, &self.open)
    }

    pub fn all_met(&self) -> bool {
        self.checks.iter().all(|c| c.met)
    }

    /// Officials who change counters over the day (see [`moves`]).
    pub fn moves(&self) -> u32 {
        moves(&self.open)
    }

    /// Most counters open at once.
    pub fn most_open(&self) -> u32 {
        self.open
            .iter()
            .map(|k| k.iter().filter(|&&o| o).count() as u32)
            .max()
            .unwrap_or(0)
    }
}

fn shifts(cfg: &SiteConfig, first_s: u32, open: &[Vec<bool>]) -> Vec<Shift> {
    let mut out = Vec::new();
    for (k, row) in open.iter().enumerate() {
        let from_s = first_s + k as u32 * HALF_HOUR_S;
        for (c, &o) in row.iter().enumerate() {
            if o {
                out.push(Shift {
                    from_s,
                    to_s: from_s + HALF_HOUR_S,
                    counter: cfg.counters[c].code,
                    open: true,
                });
            }
        }
    }
    out
}

fn no_estimate(
    _: &Site,
    _: &Site,
    _: crate::ids::TicketId,
    _: &crate::time::Now,
) -> Option<WaitEstimate> {
    None
}

/// The department an arrival is for.
fn department_of(cfg: &SiteConfig, a: &Arrival) -> Option<usize> {
    let d = match a.wanted {
        Wanted::Service(s) => cfg.service(s)?.department,
        Wanted::Department(d) => d,
    };
    cfg.departments.iter().position(|x| x.code == d)
}

/// Searches a plan (see the module's documentation).
pub fn plan_staffing(req: &PlanRequest<'_>) -> StaffingPlan {
    let cfg = req.cfg;
    let (nd, nc) = (cfg.departments.len(), cfg.counters.len());
    // Departments each counter serves, and each department's counters, dedicated ones first.
    let serves: Vec<Vec<bool>> = cfg
        .counters
        .iter()
        .map(|c| {
            cfg.departments
                .iter()
                .map(|d| {
                    c.services.iter().any(|s| {
                        cfg.service(s.service)
                            .is_some_and(|s| s.department == d.code)
                    })
                })
                .collect()
        })
        .collect();
    let width = |c: usize| serves[c].iter().filter(|&&s| s).count();
    let counters_of: Vec<Vec<usize>> = (0..nd)
        .map(|d| {
            let mut v: Vec<usize> = (0..nc).filter(|&c| serves[c][d]).collect();
            v.sort_by_key(|&c| (width(c), c));
            v
        })
        .collect();

    let mut plan = StaffingPlan::empty(req.target_s, req.officials);
    let (Some(first), Some(last)) = (
        req.arrivals.iter().map(|a| a.at_s).min(),
        req.arrivals.iter().map(|a| a.at_s).max(),
    ) else {
        return plan;
    };
    let first_k = first / HALF_HOUR_S;
    let day_slots = 86_400 / HALF_HOUR_S;
    let n = ((last / HALF_HOUR_S + 1 + DRAIN_HALF_HOURS_MAX).min(day_slots) - first_k) as usize;
    plan.first_s = first_k * HALF_HOUR_S;

    // Arrivals and work per half hour and department.
    let mut work = vec![vec![0f64; nd]; n];
    let mut span: Vec<Option<(usize, usize)>> = vec![None; nd];
    for a in req.arrivals {
        let Some(d) = department_of(cfg, a) else {
            continue;
        };
        let k = (a.at_s / HALF_HOUR_S - first_k) as usize;
        work[k][d] += a.service_s as f64;
        span[d] = Some(span[d].map_or((k, k), |(a, b)| (a.min(k), b.max(k))));
    }

    // The start: while a department has citizens (and one half hour after), its offered load
    // rounded down, at least one counter; shared out one counter at a time. (An Erlang C count
    // assumes a steady queue and over-staffs a half hour of a few long procedures.)
    let mut open = vec![vec![false; nc]; n];
    for k in 0..n {
        let need: Vec<u32> = (0..nd)
            .map(|d| match span[d] {
                Some((a, b)) if a <= k && k <= b + 1 => {
                    // The offered load: counters kept busy by the half hour's citizens.
                    let load = work[k][d] / HALF_HOUR_S as f64;
                    (load.floor() as u32).max(1)
                }
                _ => 0,
            })
            .collect();
        // Fewer officials than departments with citizens: counters serving several departments
        // first, so that every department has one (the one that serves the most still uncovered).
        let needy: Vec<usize> = (0..nd).filter(|&d| need[d] > 0).collect();
        if needy.len() as u32 > req.officials {
            while (open[k].iter().filter(|&&o| o).count() as u32) < req.officials {
                let uncovered = |c: usize| {
                    needy
                        .iter()
                        .filter(|&&d| serves[c][d] && !(0..nc).any(|x| open[k][x] && serves[x][d]))
                        .count()
                };
                let best = (0..nc)
                    .filter(|&c| !open[k][c])
                    .max_by_key(|&c| (uncovered(c), std::cmp::Reverse(c)));
                match best {
                    Some(c) if uncovered(c) > 0 => open[k][c] = true,
                    _ => break,
                }
            }
        }
        loop {
            let mut progress = false;
            for d in 0..nd {
                let have = (0..nc).filter(|&c| open[k][c] && serves[c][d]).count() as u32;
                if have < need[d] && try_open(&mut open[k], &counters_of[d], req.officials) {
                    progress = true;
                }
            }
            if !progress {
                break;
            }
        }
    }

    loop {
        let checks = judge(req, &serves, plan.first_s, &open, &mut plan);
        let unmet: Vec<&SlotCheck> = checks.iter().filter(|c| !c.met).collect();
        let mut changed = false;
        if !unmet.is_empty() && plan.replays < REPLAYS_MAX {
            for d in 0..nd {
                let code = cfg.departments[d].code;
                let mut worst: Vec<&SlotCheck> = unmet
                    .iter()
                    .copied()
                    .filter(|c| c.department == code)
                    .collect();
                // Never called first (a missing counter at the end of the day), then the
                // furthest over target, then the earliest.
                worst.sort_by_key(|c| (std::cmp::Reverse(c.over_s.unwrap_or(u32::MAX)), c.from_s));
                'checks: for c in worst {
                    let k = ((c.from_s - plan.first_s) / HALF_HOUR_S) as usize;
                    let mut tries = Vec::new();
                    if c.served < c.tickets {
                        // Keep a counter of the department open after its last open half hour.
                        if let Some(after) = (0..n)
                            .rev()
                            .find(|&j| (0..nc).any(|x| open[j][x] && serves[x][d]))
                        {
                            tries.push(after + 1);
                        }
                    }
                    tries.extend(
                        [Some(k), Some(k + 1), k.checked_sub(1)]
                            .into_iter()
                            .flatten(),
                    );
                    // Its citizens may still wait after those (the end of the day, long
                    // procedures): a counter later helps them too.
                    tries.extend(k + 2..n);
                    for j in tries {
                        if j < n && try_open(&mut open[j], &counters_of[d], req.officials) {
                            changed = true;
                            break 'checks;
                        }
                    }
                }
            }
        }
        if !changed {
            plan.checks = checks;
            break;
        }
    }
    // An official kept at the counter through a lone closed half hour instead of leaving and
    // coming back; kept only when the replay still meets every target it met.
    let mut steady = open.clone();
    if fill_gaps(&mut steady, req.officials) {
        let checks = judge(req, &serves, plan.first_s, &steady, &mut plan);
        let met = |cs: &[SlotCheck]| {
            cs.iter()
                .filter(|c| c.met)
                .map(|c| (c.from_s, c.department))
                .collect::<std::collections::BTreeSet<_>>()
        };
        if met(&checks).is_superset(&met(&plan.checks)) {
            open = steady;
            plan.checks = checks;
        }
    }
    // Why what is missed is missed (the search only stops early with no room left).
    for c in plan.checks.iter_mut().filter(|c| !c.met) {
        let k = ((c.from_s - plan.first_s) / HALF_HOUR_S) as usize;
        let d = cfg
            .departments
            .iter()
            .position(|x| x.code == c.department)
            .unwrap_or(0);
        let open_k = open[k].iter().filter(|&&o| o).count() as u32;
        c.shortfall = Some(if counters_of[d].iter().all(|&x| open[k][x]) {
            Shortfall::AllCountersOpen
        } else if open_k >= req.officials {
            Shortfall::NoOfficialLeft
        } else {
            Shortfall::SearchBudget
        });
    }
    // Drop trailing half hours nobody is open in.
    while open.last().is_some_and(|k| k.iter().all(|&o| !o)) {
        open.pop();
    }
    plan.open = open;
    plan
}

/// Opens a counter for a half hour it is closed in between two it is open in, while an official
/// is left for it; says whether it opened any.
fn fill_gaps(open: &mut [Vec<bool>], officials: u32) -> bool {
    let mut filled = false;
    for k in 1..open.len().saturating_sub(1) {
        for c in 0..open[k].len() {
            let used = open[k].iter().filter(|&&o| o).count() as u32;
            if !open[k][c] && open[k - 1][c] && open[k + 1][c] && used < officials {
                open[k][c] = true;
                filled = true;
            }
        }
    }
    filled
}

/// Officials who change counters over the day: at each half hour's start, the counters that open
/// while others close (one official can walk from a closing counter to an opening one).
pub fn moves(open: &[Vec<bool>]) -> u32 {
    open.windows(2)
        .map(|w| {
            let opened = (0..w[1].len()).filter(|&c| w[1][c] && !w[0][c]).count();
            let closed = (0..w[0].len()).filter(|&c| w[0][c] && !w[1][c]).count();
            opened.min(closed) as u32
        })
        .sum()
}

/// Opens the first closed counter of `candidates` if an official is left; says whether it did.
fn try_open(row: &mut [bool], candidates: &[usize], officials: u32) -> bool {
    if row.iter().filter(|&&o| o).count() as u32 >= officials {
        return false;
    }
    match candidates.iter().find(|&&c| !row[c]) {
        Some(&c) => {
            row[c] = true;
            true
        }
        None => false,
    }
}

/// Replays the day with `open` and judges every half hour and department with citizens.
fn judge(
    req: &PlanRequest<'_>,
    serves: &[Vec<bool>],
    first_s: u32,
    open: &[Vec<bool>],
    plan: &mut StaffingPlan,
) -> Vec<SlotCheck> {
    let cfg = req.cfg;
    let rows = shifts(cfg, first_s, open);
    let mut site = Site::new(cfg.clone());
    let day = DayPlan {
        day: req.day,
        utc_offset_s: req.utc_offset_s,
        arrivals: req.arrivals,
        staffing: Some(&rows),
        seed: req.seed,
    };
    let r = replay::replay_day(&mut site, &day, no_estimate);
    plan.replays += 1;
    plan.refused = r.refused.len();
    replay::figures_by_half_hour(cfg, &r.outcomes)
        .into_iter()
        .map(|(from_s, department, f): (u32, Code, Figures)| {
            let d = cfg
                .departments
                .iter()
                .position(|x| x.code == department)
                .unwrap_or(0);
            let k = ((from_s.max(first_s) - first_s) / HALF_HOUR_S) as usize;
            let counters_open = open.get(k).map_or(0, |row| {
                (0..row.len()).filter(|&c| row[c] && serves[c][d]).count() as u32
            });
            let all_called = f.served == f.tickets;
            let p90 = f.p90_wait_s;
            let met = all_called && p90.is_some_and(|p| p <= req.target_s);
            SlotCheck {
                from_s,
                department,
                tickets: f.tickets,
                served: f.served,
                p90_wait_s: p90,
                counters_open,
                met,
                over_s: (!met && all_called).then(|| p90.unwrap_or(0).saturating_sub(req.target_s)),
                shortfall: None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Counter, CounterService, Department, Policy, Service, Text, WeekHours};
    use crate::ids::Prefix;
    use crate::ticket::Channel;

    fn code(s: &str) -> Code {
        Code::new(s).unwrap()
    }

    /// Two departments: quick certifications (counters 1, 2) and long land procedures
    /// (counter 3); counter 4 serves both.
    fn center() -> SiteConfig {
        let mut hours = WeekHours::default();
        for d in 0..5 {
            hours.days[d] = vec![(7 * 60, 11 * 60 + 30)];
        }
        let departments = vec![
            Department {
                code: code("chung-thuc"),
                name: Text::new("Chứng thực", "Certification"),
                prefix: Prefix::new("B").unwrap(),
            },
            Department {
                code: code("dat-dai"),
                name: Text::new("Đất đai", "Land"),
                prefix: Prefix::new("C").unwrap(),
            },
        ];
        let services = vec![
            Service {
                code: code("ban-sao"),
                department: code("chung-thuc"),
                name: Text::new("Bản sao", "Copy"),
                prefix: Prefix::new("B").unwrap(),
                hours: hours.clone(),
                daily_cap: 2000,
                expected_service_s: 300,
                carry_over: false,
            },
            Service {
                code: code("bien-dong"),
                department: code("dat-dai"),
                name: Text::new("Biến động", "Change"),
                prefix: Prefix::new("C").unwrap(),
                hours,
                daily_cap: 2000,
                expected_service_s: 1200,
                carry_over: false,
            },
        ];
        let serving = |ss: &[&str]| -> Vec<CounterService> {
            ss.iter()
                .map(|s| CounterService {
                    service: code(s),
                    weight: 1,
                })
                .collect()
        };
        let counters = [
            vec!["ban-sao"],
            vec!["ban-sao"],
            vec!["bien-dong"],
            vec!["ban-sao", "bien-dong"],
        ]
        .iter()
        .enumerate()
        .map(|(i, ss)| Counter {
            code: code(&format!("quay-{}", i + 1)),
            number: i as u16 + 1,
            name: Text::new("Quầy", "Counter"),
            services: serving(ss),
            priority_first: i == 3,
        })
        .collect();
        SiteConfig {
            code: code("phuong"),
            name: Text::new("Phường", "Ward"),
            departments,
            services,
            counters,
            priority_categories: vec![],
            policy: Policy::default(),
            holidays: vec![],
        }
    }

    /// Citizens for `service` every `every_s` from `from` to `to` (seconds of the day), each
    /// taking `service_s`.
    fn stream(service: &str, from: u32, to: u32, every_s: u32, service_s: u32) -> Vec<Arrival> {
        (from..to)
            .step_by(every_s as usize)
            .map(|at_s| Arrival {
                at_s,
                wanted: Wanted::Service(code(service)),
                priority: None,
                service_s,
                no_show: false,
                channel: Channel::Kiosk,
            })
            .collect()
    }

    fn request<'a>(
        cfg: &'a SiteConfig,
        arrivals: &'a [Arrival],
        officials: u32,
    ) -> PlanRequest<'a> {
        PlanRequest {
            cfg,
            day: Day::from_ymd(2026, 11, 30),
            utc_offset_s: 7 * 3600,
            arrivals,
            officials,
            target_s: 15 * 60,
            seed: 7,
        }
    }

    fn day(mut v: Vec<Vec<Arrival>>) -> Vec<Arrival> {
        let mut all: Vec<Arrival> = v.drain(..).flatten().collect();
        all.sort_by_key(|a| a.at_s);
        all
    }

    /// Replays the plan's rows on a new site and checks each claimed half hour against it.
    fn replay_agrees(req: &PlanRequest<'_>, plan: &StaffingPlan) {
        let rows = plan.shifts(req.cfg);
        let mut site = Site::new(req.cfg.clone());
        let r = replay::replay_day(
            &mut site,
            &DayPlan {
                day: req.day,
                utc_offset_s: req.utc_offset_s,
                arrivals: req.arrivals,
                staffing: Some(&rows),
                seed: req.seed,
            },
            no_estimate,
        );
        let by = replay::figures_by_half_hour(req.cfg, &r.outcomes);
        assert_eq!(by.len(), plan.checks.len());
        for (c, (from, d, f)) in plan.checks.iter().zip(&by) {
            assert_eq!((c.from_s, c.department), (*from, *d));
            if c.met {
                assert_eq!(f.served, f.tickets, "{c:?}");
                assert!(f.p90_wait_s.unwrap() <= req.target_s, "{c:?}");
            }
        }
    }

    #[test]
    fn a_lone_closed_half_hour_is_filled_while_an_official_is_left() {
        let (o, x) = (true, false);
        let mut open = vec![vec![o, o], vec![x, x], vec![o, o], vec![o, x]];
        // One official is left in the second half hour: the first counter keeps its official.
        assert!(fill_gaps(&mut open[..], 1));
        assert_eq!(open[1], vec![o, x]);
        // No official left: nothing is filled.
        let mut full = vec![vec![o, x], vec![x, o], vec![o, x]];
        assert!(!fill_gaps(&mut full[..], 1));
        assert_eq!(moves(&full), 2);
        assert_eq!(moves(&open), 0);
        assert_eq!(moves(&[vec![o, x], vec![o, o], vec![x, o]]), 0);
    }

    #[test]
    fn a_quiet_day_opens_one_counter_per_department() {
        let cfg = center();
        let arrivals = day(vec![
            stream("ban-sao", 7 * 3600, 10 * 3600, 900, 240),
            stream("bien-dong", 7 * 3600 + 60, 10 * 3600, 3600, 900),
        ]);
        let req = request(&cfg, &arrivals, 4);
        let plan = plan_staffing(&req);
        assert!(plan.all_met(), "{:?}", plan.checks);
        assert!(plan.most_open() <= 2, "{:?}", plan.open);
        // The dedicated counters, not the all-round one.
        assert!(plan.open.iter().all(|k| !k[3]), "{:?}", plan.open);
        assert_eq!(plan.first_s, 7 * 3600);
        replay_agrees(&req, &plan);
    }

    #[test]
    fn a_busy_morning_opens_more_counters_where_it_is_busy() {
        let cfg = center();
        // 08:00–09:00: a citizen every 2 minutes, 5 minutes each (2.5 counters busy).
        let arrivals = day(vec![
            stream("ban-sao", 7 * 3600, 8 * 3600, 900, 240),
            stream("ban-sao", 8 * 3600, 9 * 3600, 120, 300),
            stream("bien-dong", 7 * 3600 + 60, 10 * 3600, 3600, 900),
        ]);
        let req = request(&cfg, &arrivals, 4);
        let plan = plan_staffing(&req);
        assert!(plan.all_met(), "{:?}", plan.checks);
        let certification = |k: &Vec<bool>| k[0] as u32 + k[1] as u32 + k[3] as u32;
        assert_eq!(certification(&plan.open[0]), 1, "{:?}", plan.open);
        assert!(
            plan.open[2..4].iter().all(|k| certification(k) >= 2),
            "{:?}",
            plan.open
        );
        assert!(plan.replays <= REPLAYS_MAX);
        replay_agrees(&req, &plan);
        // Deterministic.
        assert_eq!(plan_staffing(&req), plan);
    }

    #[test]
    fn too_few_officials_say_which_target_is_missed_and_by_how_much() {
        let cfg = center();
        let arrivals = day(vec![
            stream("ban-sao", 8 * 3600, 9 * 3600, 120, 300),
            stream("bien-dong", 8 * 3600, 9 * 3600, 600, 1200),
        ]);
        let req = request(&cfg, &arrivals, 2);
        let plan = plan_staffing(&req);
        assert!(plan.most_open() <= 2, "{:?}", plan.open);
        let missed: Vec<&SlotCheck> = plan.checks.iter().filter(|c| !c.met).collect();
        assert!(!missed.is_empty(), "{:?}", plan.checks);
        for c in &missed {
            assert_eq!(c.shortfall, Some(Shortfall::NoOfficialLeft), "{c:?}");
            assert!(c.over_s.is_some_and(|o| o > 0), "{c:?}");
            assert_eq!(
                c.over_s.unwrap(),
                c.p90_wait_s.unwrap() - req.target_s,
                "{c:?}"
            );
        }
        replay_agrees(&req, &plan);

        // One official: while both departments have citizens, the counter serving both.
        let req = request(&cfg, &arrivals, 1);
        let plan = plan_staffing(&req);
        assert!(
            plan.open[..2]
                .iter()
                .all(|k| *k == [false, false, false, true]),
            "{:?}",
            plan.open
        );
        assert_eq!(plan.most_open(), 1);
        assert!(plan.checks.iter().any(|c| !c.met));
        replay_agrees(&req, &plan);

        // With every official there is, land still cannot keep up: all its counters are open.
        let land = stream("bien-dong", 8 * 3600, 9 * 3600, 240, 1200);
        let req = request(&cfg, &land, 10);
        let plan = plan_staffing(&req);
        assert!(
            plan.checks
                .iter()
                .any(|c| c.shortfall == Some(Shortfall::AllCountersOpen)),
            "{:?}",
            plan.checks
        );
        assert!(plan.checks.iter().all(|c| c.met || c.shortfall.is_some()));
    }
}
