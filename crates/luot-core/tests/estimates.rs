//! Wait estimates judged by replaying realistic days (docs/wait-estimates.md): a center with
//! quick certifications, long land procedures, dedicated counters and one all-round priority
//! counter; a morning peak, a lunch break. Not timed: the figures are about the promises made
//! to citizens, not about speed.

use luot_core::replay::{
    self, DayPlan, DayResult, DayShape, Figures, Outcome, Shift, realistic_day, replay_day,
};
use luot_core::{
    Code, Counter, CounterService, CounterStatus, Day, Department, Now, Policy, Prefix,
    PriorityCategory, Service, Site, SiteConfig, Text, TicketId, WaitEstimate, WeekHours,
};

const OFFSET_S: i32 = 7 * 3600;
/// Monday 2026-11-30.
fn monday() -> Day {
    Day::from_ymd(2026, 11, 30)
}

fn code(s: &str) -> Code {
    Code::new(s).unwrap()
}

/// A ward center like the built-in one, smaller: five departments, eight counters, counter 8
/// serves every department with priority first.
fn center() -> SiteConfig {
    let mut hours = WeekHours::default();
    for d in 0..5 {
        hours.days[d] = vec![(7 * 60, 11 * 60 + 30), (13 * 60 + 30, 17 * 60)];
    }
    let depts = [
        (
            "ho-tich",
            "A",
            vec![("khai-sinh", 600), ("ket-hon", 900), ("trich-luc", 300)],
        ),
        (
            "chung-thuc",
            "B",
            vec![("ban-sao", 180), ("chu-ky", 300), ("hop-dong", 900)],
        ),
        (
            "dat-dai",
            "C",
            vec![("bien-dong", 1800), ("cap-giay", 1500), ("tach-thua", 1200)],
        ),
        (
            "kinh-te",
            "D",
            vec![("ho-kinh-doanh", 900), ("tam-ngung", 600)],
        ),
        ("tra-ket-qua", "K", vec![("tra-ket-qua", 180)]),
    ];
    let mut departments = Vec::new();
    let mut services = Vec::new();
    for (d, p, svcs) in &depts {
        departments.push(Department {
            code: code(d),
            name: Text::new(*d, *d),
            prefix: Prefix::new(p).unwrap(),
        });
        for (s, secs) in svcs {
            services.push(Service {
                code: code(s),
                department: code(d),
                name: Text::new(*s, *s),
                prefix: Prefix::new(p).unwrap(),
                hours: hours.clone(),
                daily_cap: 2000,
                expected_service_s: *secs,
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
    let plan: [&[&str]; 8] = [
        &["ho-tich"],
        &["ho-tich"],
        &["chung-thuc"],
        &["dat-dai"],
        &["dat-dai"],
        &["kinh-te"],
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
            priority_first: i == 7,
        })
        .collect();
    SiteConfig {
        code: code("phuong"),
        name: Text::new("Trung tâm", "Center"),
        departments,
        services,
        counters,
        priority_categories: vec![
            PriorityCategory {
                code: code("elderly"),
                name: Text::new("Người cao tuổi", "Elderly"),
                min_age: None,
            },
            PriorityCategory {
                code: code("disabled"),
                name: Text::new("Người khuyết tật", "Disabled"),
                min_age: None,
            },
        ],
        policy: Policy::default(),
        holidays: vec![],
    }
}

/// Replays the working days from `monday() + first` for `days` days with `seed0 + k` seeds, on
/// one site that learns from day to day; returns each day's result.
fn replay_days(
    cfg: &SiteConfig,
    seeds: &[u64],
    estimator: replay::Estimator,
    staffing: Option<&[Shift]>,
) -> Vec<DayResult> {
    let mut site = Site::new(cfg.clone());
    let mut day = monday();
    let mut out = Vec::new();
    for &seed in seeds {
        while day.weekday() >= 5 {
            day = day.next();
        }
        let arrivals = realistic_day(cfg, &DayShape::new(day, seed));
        let plan = DayPlan {
            day,
            utc_offset_s: OFFSET_S,
            arrivals: &arrivals,
            staffing,
            seed,
        };
        out.push(replay_day(&mut site, &plan, estimator));
        site.check_invariants().unwrap();
        day = day.next();
    }
    out
}

fn figures(days: &[DayResult]) -> Figures {
    Figures::of(days.iter().flat_map(|d| d.outcomes.iter()))
}

fn print(label: &str, f: &Figures) {
    eprintln!(
        "{label}: {} tickets, {} called, {} with a range, {} not enough data; inside {:.3}, median width {:?} s, median error {:.3}, median wait {:?} s, p90 wait {:?} s",
        f.tickets,
        f.served,
        f.with_range,
        f.uncertain,
        f.inside_range_share.unwrap_or(0.0),
        f.median_width_s,
        f.median_abs_error_share.unwrap_or(f64::NAN),
        f.median_wait_s,
        f.p90_wait_s
    );
}

/// With `LUOT_ESTIMATE_DUMP` set, every ticket's promise and real wait (seconds), for tuning.
fn dump(outcomes: &[Outcome]) {
    if std::env::var_os("LUOT_ESTIMATE_DUMP").is_none() {
        return;
    }
    for o in outcomes {
        if let Some(w) = o.wait_s() {
            let (l, h) = o.promised.unwrap_or((0, 0));
            eprintln!(
                "DUMP {} {} issued {} ahead {} range {l}-{h} wait {w} {}",
                o.department,
                o.number,
                o.issued_s,
                o.ahead,
                if o.promised.is_none() {
                    "none"
                } else if w < l {
                    "early"
                } else if w > h {
                    "late"
                } else {
                    "in"
                }
            );
        }
    }
}

/// Seeds of the days the estimate's constants were tuned on.
const TUNED: [u64; 4] = [1, 2, 3, 4];
/// Days never looked at while tuning.
const HELD_OUT: [u64; 4] = [1001, 1002, 1003, 1004];

#[test]
fn replaying_the_same_days_with_the_same_seed_gives_the_same_result() {
    let cfg = center();
    let a = replay_days(&cfg, &[7], replay::server_estimate, None);
    let b = replay_days(&cfg, &[7], replay::server_estimate, None);
    assert_eq!(a, b);
    let c = replay_days(&cfg, &[8], replay::server_estimate, None);
    assert_ne!(a, c);
    let d = &a[0];
    assert!(d.outcomes.len() > 150, "{} tickets", d.outcomes.len());
    assert!(
        d.outcomes.iter().all(|o| o.called_s.is_some()),
        "everyone is served"
    );
}

/// The targets of issue #11 hold on days the estimate was tuned on and on days it never saw,
/// after a first day to learn service times from (cold start is measured on its own below).
#[test]
fn estimates_meet_the_targets_on_replayed_days() {
    let cfg = center();
    for (label, seeds) in [("tuned", &TUNED), ("held out", &HELD_OUT)] {
        let mut all = vec![500 + seeds[0]];
        all.extend_from_slice(seeds);
        let days = replay_days(&cfg, &all, replay::server_estimate, None);
        let f = figures(&days[1..]);
        print(label, &f);
        let outcomes: Vec<Outcome> = days[1..].iter().flat_map(|d| d.outcomes.clone()).collect();
        for (d, df) in replay::figures_by_department(&cfg, &outcomes).1 {
            print(&format!("  {d}"), &df);
        }
        dump(&outcomes);
        f.check_targets()
            .unwrap_or_else(|e| panic!("{label} days: {e}"));
        // "Not enough data" is the exception, not a way out of the targets.
        let ranged = f.with_range as f64 / f.served as f64;
        assert!(
            ranged >= 0.85,
            "{label}: only {ranged:.2} of tickets got a range"
        );
    }
}

/// The estimate a phone follows (every waiting ticket's, from one set of futures) keeps the
/// same promises as the one given at issue, on the held-out days.
#[test]
fn the_running_estimate_meets_the_targets_too() {
    let cfg = center();
    let mut all = vec![500 + HELD_OUT[0]];
    all.extend_from_slice(&HELD_OUT);
    let days = replay_days(&cfg, &all, replay::running_estimate, None);
    let f = figures(&days[1..]);
    print("running estimate, held out", &f);
    f.check_targets()
        .unwrap_or_else(|e| panic!("running estimate: {e}"));
}

/// A center's first day, with only the configured typical durations: the estimate still keeps
/// its promises, saying "not enough data" where it must rather than showing a huge range.
/// Measured on the held-out days, each replayed by a new site that learned nothing before.
#[test]
fn a_cold_start_keeps_its_promises() {
    let cfg = center();
    let days: Vec<DayResult> = HELD_OUT
        .iter()
        .flat_map(|&seed| replay_days(&cfg, &[seed], replay::server_estimate, None))
        .collect();
    let f = figures(&days);
    print("cold start", &f);
    dump(
        &days
            .iter()
            .flat_map(|d| d.outcomes.clone())
            .collect::<Vec<_>>(),
    );
    f.check_targets().unwrap();
    let ranged = f.with_range as f64 / f.served as f64;
    assert!(
        ranged >= 0.6,
        "cold start: only {ranged:.2} of tickets got a range"
    );
}

/// The estimator this replaced (a fluid queue: `ahead · mean / 2` to `(ahead + 1) · (mean +
/// deviation)`, capacity shared by weight), kept here to show that the targets tell a useful
/// estimate from a useless one.
fn fluid_estimate(_before: &Site, site: &Site, id: TicketId, _now: &Now) -> Option<WaitEstimate> {
    let t = site.ticket(id)?;
    let cfg = site.config();
    let ahead = site.waiting_for(*t.service).saturating_sub(1);
    let st = site.service_time(*t.service)?;
    let mut capacity = 0.0;
    let mut counters = 0;
    for (ci, c) in cfg.counters.iter().enumerate() {
        if !c.services.iter().any(|s| s.service == *t.service)
            || site.counters()[ci].status != CounterStatus::Open
        {
            continue;
        }
        counters += 1;
        let total = c
            .services
            .iter()
            .filter(|s| s.service == *t.service || site.waiting_for(s.service) > 0)
            .count();
        capacity += 1.0 / total.max(1) as f64;
    }
    let range = (capacity > 0.0).then(|| {
        let fast = (st.mean_s - st.dev_s).max(st.mean_s / 2.0);
        let low = ahead as f64 * fast / capacity;
        let high = (ahead as f64 + 1.0) * (st.mean_s + st.dev_s) / capacity;
        (low as u32, high.max(low) as u32)
    });
    Some(WaitEstimate {
        ahead,
        counters,
        range_s: range,
        uncertain: false,
    })
}

/// Promises "between now and four hours": always right, never useful.
fn always_wide(before: &Site, site: &Site, id: TicketId, now: &Now) -> Option<WaitEstimate> {
    let mut e = replay::server_estimate(before, site, id, now)?;
    e.range_s = Some((0, 4 * 3600));
    e.uncertain = false;
    Some(e)
}

#[test]
fn useless_estimators_fail_the_targets() {
    let cfg = center();
    let seeds = [501, 1, 2];
    for (label, est) in [
        (
            "fluid (the old estimate)",
            fluid_estimate as replay::Estimator,
        ),
        ("always 0–4 h", always_wide as replay::Estimator),
    ] {
        let days = replay_days(&cfg, &seeds, est, None);
        let f = figures(&days[1..]);
        print(label, &f);
        assert!(f.check_targets().is_err(), "{label} passed the targets");
    }
}

/// A staffing file changes the day: with a land counter closed all morning, land citizens wait
/// longer, and the estimate (which sees only the open counters) still holds its promises there.
#[test]
fn a_staffing_file_is_a_what_if() {
    let cfg = center();
    let full: Vec<Shift> = cfg
        .counters
        .iter()
        .flat_map(|c| {
            [
                Shift {
                    from_s: 7 * 3600,
                    to_s: 11 * 3600 + 1800,
                    counter: c.code,
                    open: true,
                },
                Shift {
                    from_s: 13 * 3600 + 1800,
                    to_s: 17 * 3600,
                    counter: c.code,
                    open: true,
                },
            ]
        })
        .collect();
    let mut fewer = full.clone();
    fewer.push(Shift {
        from_s: 7 * 3600,
        to_s: 11 * 3600 + 1800,
        counter: code("quay-5"),
        open: false,
    });
    let land = |days: &[DayResult]| -> Figures {
        Figures::of(
            days.iter()
                .flat_map(|d| d.outcomes.iter())
                .filter(|o: &&Outcome| o.department.as_str() == "dat-dai"),
        )
    };
    let a = land(&replay_days(
        &cfg,
        &[11],
        replay::server_estimate,
        Some(&full),
    ));
    let b = land(&replay_days(
        &cfg,
        &[11],
        replay::server_estimate,
        Some(&fewer),
    ));
    print("land, all counters", &a);
    print("land, quay-5 closed in the morning", &b);
    assert!(b.median_wait_s > a.median_wait_s);
}

/// A site of `center()` on Monday at 07:00 with only quay-7 (result return, 3 min) open: `done`
/// citizens served in exactly 180 s each, then `waiting` more waiting. Returns the site and the
/// instant after the last service.
fn result_counter_with(done: u32, waiting: u32) -> (Site, i64) {
    use luot_core::{Channel, Command, Token};
    let mut site = Site::new(center());
    let day = monday();
    let mut ms = day.0 as i64 * 86_400_000 - OFFSET_S as i64 * 1000 + 7 * 3_600_000;
    let now = |ms: i64| Now::from_offset(ms, OFFSET_S);
    site.apply(Command::OpenDay { day }, &now(ms)).unwrap();
    site.apply(
        Command::OpenCounter {
            counter: code("quay-7"),
            official: code("can-bo"),
        },
        &now(ms),
    )
    .unwrap();
    let mut k = 0u64;
    let mut issue = |site: &mut Site, ms: i64| {
        k += 1;
        let mut token = [0u8; 16];
        token[..8].copy_from_slice(&k.to_le_bytes());
        site.apply(
            Command::Issue {
                phone: None,
                service: code("tra-ket-qua"),
                channel: Channel::Kiosk,
                priority: None,
                token: Token(token),
                appointment: None,
                person: None,
            },
            &now(ms),
        )
        .unwrap();
    };
    for _ in 0..done {
        issue(&mut site, ms);
        site.apply(
            Command::CallNext {
                counter: code("quay-7"),
            },
            &now(ms),
        )
        .unwrap();
        ms += 180_000;
        site.apply(
            Command::Complete {
                counter: code("quay-7"),
            },
            &now(ms),
        )
        .unwrap();
    }
    for _ in 0..waiting {
        issue(&mut site, ms);
    }
    (site, ms)
}

/// An estimate simulates at most `CALLS_MAX` calls: a newcomer whom no future reaches within
/// `CALLS_MAX / RUNS_MIN` calls is told "not enough data", one just inside gets a range.
#[test]
fn the_forward_simulation_stops_at_its_call_budget() {
    use luot_core::site::estimate::{CALLS_MAX, RUNS_MIN};
    let per_run = (CALLS_MAX / RUNS_MIN) as u32;
    // The newcomer's own call is the last one of a run: `per_run - 1` people before it fit.
    let (site, ms) = result_counter_with(30, per_run - 1);
    let now = Now::from_offset(ms, OFFSET_S);
    let e = site.estimate_service_at(code("tra-ket-qua"), &now).unwrap();
    assert_eq!(e.ahead, per_run - 1, "{e:?}");
    let (low, high) = e
        .range_s
        .unwrap_or_else(|| panic!("a range just inside the budget: {e:?}"));
    // Everyone before it takes 3 minutes at the one open counter.
    let exact = (per_run - 1) * 180;
    assert!(low <= exact && exact <= high, "{low}..{high} vs {exact}");

    let (site, ms) = result_counter_with(30, per_run);
    let e = site
        .estimate_service_at(code("tra-ket-qua"), &Now::from_offset(ms, OFFSET_S))
        .unwrap();
    assert!(e.uncertain && e.range_s.is_none(), "past the budget: {e:?}");
    assert_eq!(e.ahead, per_run, "the people before it in its line");
}

/// The same state asked again within `REUSE_MS` gets the same answer from the cache; later, or
/// after any event, it is computed again.
#[test]
fn estimates_are_reused_only_for_the_same_state_within_reuse_ms() {
    use luot_core::site::estimate::REUSE_MS;
    let (mut site, ms) = result_counter_with(10, 4);
    // A citizen at the desk since `ms`: the estimate moves as that service goes on.
    site.apply(
        luot_core::Command::CallNext {
            counter: code("quay-7"),
        },
        &Now::from_offset(ms, OFFSET_S),
    )
    .unwrap();
    let at = |dt: i64| Now::from_offset(ms + dt, OFFSET_S);
    let service = code("tra-ket-qua");
    let first = site.estimate_service_at(service, &at(0)).unwrap();
    assert_eq!(
        site.estimate_service_at(service, &at(REUSE_MS - 1)),
        Some(first)
    );
    // Computed afresh 2 minutes on: the service at the desk is 2 minutes further along.
    let fresh = Site::clone(&site)
        .estimate_service_at(service, &at(120_000))
        .unwrap();
    assert_ne!(fresh.range_s, first.range_s);
    assert_eq!(site.estimate_service_at(service, &at(120_000)), Some(fresh));
    // An event empties the cache: one more citizen waits, a second after the last estimate.
    site.apply(
        luot_core::Command::Issue {
            phone: None,
            service,
            channel: luot_core::Channel::Kiosk,
            priority: None,
            token: luot_core::Token([0xab; 16]),
            appointment: None,
            person: None,
        },
        &at(121_000),
    )
    .unwrap();
    let after = site.estimate_service_at(service, &at(121_000)).unwrap();
    assert_eq!(after.ahead, fresh.ahead + 1, "{fresh:?} then {after:?}");
}

/// `Site::front_of_lines` (a webhook's "N away") counts the people ahead as the phone page
/// does (`estimate_ticket`'s `ahead`, here without a published table): normal and priority
/// tickets of one service interleaved, and a second service's line apart.
#[test]
fn the_front_of_the_lines_counts_ahead_as_the_phone_page_does() {
    use luot_core::{Channel, Command, Token};
    let mut site = Site::new(center());
    let day = monday();
    let ms = day.0 as i64 * 86_400_000 - OFFSET_S as i64 * 1000 + 8 * 3_600_000;
    let now = |ms: i64| Now::from_offset(ms, OFFSET_S);
    site.apply(Command::OpenDay { day }, &now(ms)).unwrap();
    let plan = [
        ("khai-sinh", None),
        ("khai-sinh", None),
        ("ket-hon", None),
        ("khai-sinh", Some("elderly")),
        ("khai-sinh", None),
        ("ket-hon", Some("disabled")),
        ("khai-sinh", None),
    ];
    for (k, (service, priority)) in plan.iter().enumerate() {
        let mut token = [0u8; 16];
        token[0] = k as u8 + 1;
        site.apply(
            Command::Issue {
                phone: None,
                service: code(service),
                channel: Channel::Kiosk,
                priority: priority.map(code),
                token: Token(token),
                appointment: None,
                person: None,
            },
            &now(ms + k as i64 * 1000),
        )
        .unwrap();
    }
    for n in 0..6 {
        let front = site.front_of_lines(n);
        for &(id, ahead) in &front {
            assert_eq!(
                Some(ahead),
                site.estimate_ticket(id).map(|e| e.ahead),
                "n = {n}, ticket {id:?}"
            );
        }
        // Every waiting ticket with at most n ahead is there.
        let within = site
            .tickets()
            .iter()
            .filter(|t| site.estimate_ticket(t.id).is_some_and(|e| e.ahead <= n))
            .count();
        assert_eq!(
            front.iter().filter(|(_, a)| *a <= n).count(),
            within,
            "n = {n}"
        );
    }
}
