//! Data-driven tests of the assignment policy and the ticket life cycle.
//!
//! Every file in `tests/scenarios/` is one scenario: a small site, then a day at the center told
//! step by step, with what the core must answer after `->`. The runner drives `Site::apply` with
//! virtual time and checks `Site::check_invariants()` after every line. On a mismatch it names
//! the file and line, what was expected and what the core said. Run one scenario with
//! `LUOT_SCENARIO=<file name without .txt> cargo test -p luot-core --test policy`.
//!
//! # Format
//!
//! ```text
//! # A comment runs to the end of the line; blank lines are ignored.
//!
//! # Header: the site (before the first step).
//! services: ks(A) kh(A,cap=3,carry) tp(B,hours=07:30-11:30+13:00-17:00,days=mon-fri)
//!     # CODE(PREFIX[,OPTION]...). Options: cap=N (daily cap, default 1000); carry (waiting
//!     # tickets move to the next day); dept=CODE (default: one department per prefix);
//!     # hours=HH:MM-HH:MM[+...] (default: always open); days=mon-fri or days=mon/wed
//!     # (the weekdays those hours apply to; default: every day).
//! counter: q1 = ks kh*2 [priority_first]
//!     # One line per counter, numbered 1, 2, … in order. `kh*2` serves kh with weight 2.
//! policy: normal_per_priority=2 max_wait=30m
//!     # Any of: normal_per_priority, recall_max, rating_levels, tickets_per_day, waiting_max,
//!     # per_person_day, per_person_department (numbers); max_wait, appointment_early,
//!     # no_show_return, rating_window, remote_hold (durations: 90s, 30m, 2h); hall_share
//!     # (percent); intake_close=HH:MM[+HH:MM...].
//!     # Others keep their defaults.
//! priority: elderly disabled      # categories (default: elderly disabled pregnant merit)
//! holidays: 2 5                   # scenario days that are public holidays
//!
//! # Steps, in order.
//! day 2                           # later steps happen on scenario day 2
//! at 07:00 issue ks -> A001
//! at 07:00:30 call q1 -> A001 next_in_line
//! ```
//!
//! Day 1 is Monday 2026-06-01 (UTC+7); the runner opens it at 00:00 before the first step. Later
//! days open only when a scenario says `open_day`, as the broker would.
//!
//! Steps (`TICKET` is a printed number such as `A001`, or `@A001` for the token in A001's QR code):
//!
//! | step | result after `->` |
//! |---|---|
//! | `issue SERVICE [prio=CAT] [via=kiosk\|phone\|appointment\|staff] [appt=HH:MM-HH:MM] [person=N] [phone=0912345678]` | the number |
//! | `call COUNTER` (the policy chooses) or `call COUNTER TICKET` | number and `CallReason::code()` |
//! | `recall`, `start`, `complete`, `no_show` `COUNTER` | `ok` |
//! | `transfer COUNTER to service SERVICE` / `to counter COUNTER` | `ok` |
//! | `return TICKET`, `cancel TICKET`, `rate TICKET SCORE`, `checkin TICKET` | `ok` |
//! | `open COUNTER by OFFICIAL`, `pause COUNTER REASON…`, `resume COUNTER`, `close COUNTER` | `ok` |
//! | `pause_service SERVICE REASON…`, `resume_service SERVICE`, `raise_cap SERVICE N` | `ok` |
//! | `cap SERVICE` (query) | today's cap, then `stopped: REASON` while issuing is stopped |
//! | `idle COUNTER` (query) | seconds since it last had nothing to do (`90s`), or `none` (holding a ticket, or closed) |
//! | `no_show_streak COUNTER` (query) | no-shows in a row there |
//! | `open_day` (opens the current scenario day) | `expired=N,N carried=N` (`-` for none) |
//! | `state TICKET` (query) | `waiting`, `called`, `done`, … or `unknown` |
//! | `waiting SERVICE` (query) | tickets waiting for it |
//! | `status COUNTER` (query) | `open`, `paused` or `closed`, then the ticket it holds |
//! | `rollover_due` (query) | `yes` or `no` |
//! | `session SERVICE` (query) | `ends HH:MM resumes day N HH:MM` (or `resumes never`), or `none` |
//! | `past_session SERVICE WAIT` (query; `WAIT` a duration or `unknown`) | `no`, or the session as above |
//!
//! `-> !CODE` expects a refusal with that `Rejection::code()`. A command without `->` must
//! succeed; a query must have one.

use luot_core::{
    Appointment, Channel, Code, Command, Counter, CounterService, Day, Department, Event, Now,
    PersonKey, Policy, Prefix, PriorityCategory, Service, Site, SiteConfig, Text, TicketNumber,
    TicketRef, Token, TransferTarget, WeekHours,
};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Vietnam is UTC+7 all year.
const OFFSET_S: i32 = 7 * 3600;
/// A scenario that does not cover at least this much is a sign the folder went missing.
const SCENARIOS_MIN: usize = 15;

#[test]
fn scenarios() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let only = std::env::var("LUOT_SCENARIO").ok();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    if only.is_none() {
        assert!(
            files.len() >= SCENARIOS_MIN,
            "only {} scenarios in {}",
            files.len(),
            dir.display()
        );
    }
    let mut failures = Vec::new();
    let mut ran = 0;
    for path in &files {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if only.as_ref().is_some_and(|o| *o != name) {
            continue;
        }
        ran += 1;
        let text = std::fs::read_to_string(path).unwrap();
        let shown = format!("tests/scenarios/{name}.txt");
        match run(&shown, &text) {
            Ok(0) => failures.push(format!("{shown}: checks nothing")),
            Ok(_) => {}
            Err(e) => failures.push(e),
        }
    }
    assert!(ran > 0, "no scenario matched LUOT_SCENARIO={only:?}");
    assert!(
        failures.is_empty(),
        "{} of {ran} scenarios failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// The runner itself must be able to fail, and say where.
#[test]
fn runner_reports_file_line_expected_and_got() {
    let text = "services: ks(A)\ncounter: q1 = ks\n\nat 07:00 issue ks -> A002\n";
    let err = run("inline.txt", text).unwrap_err();
    assert!(err.contains("inline.txt:4"), "{err}");
    assert!(err.contains("expected: A002"), "{err}");
    assert!(err.contains("got:      A001"), "{err}");

    let text = "services: ks(A)\ncounter: q1 = ks\nat 07:00 call q1\n";
    let err = run("inline.txt", text).unwrap_err();
    assert!(err.contains("inline.txt:3"), "{err}");
    assert!(err.contains("!counter_closed"), "{err}");

    let text = "services: ks(A)\nat 07:00 frobnicate\n";
    assert!(
        run("inline.txt", text)
            .unwrap_err()
            .contains("unknown step")
    );

    let text = "services: ks(A)\nat 07:00 issue ks -> A001\nat 07:01 state A001 -> waiting\n";
    assert_eq!(run("inline.txt", text), Ok(2));
}

// ----- the runner -----

/// Runs one scenario; returns how many expectations it checked.
fn run(file: &str, text: &str) -> Result<usize, String> {
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.split('#').next().unwrap_or("").trim()))
        .filter(|(_, l)| !l.is_empty())
        .collect();
    let first_step = lines
        .iter()
        .position(|(_, l)| l.starts_with("at ") || l.starts_with("day "))
        .unwrap_or(lines.len());
    let fail = |line: usize, msg: String| format!("{file}:{line}: {msg}");

    let mut header = Header::default();
    for &(n, l) in &lines[..first_step] {
        header.line(l).map_err(|e| fail(n, e))?;
    }
    let cfg = header.config().map_err(|e| fail(1, e))?;
    let mut r = Runner {
        site: Site::new(cfg),
        day: 1,
        tokens: HashMap::new(),
        issued: 0,
    };
    let open = Command::OpenDay {
        day: scenario_day(1),
    };
    r.site
        .apply(open, &now(1, 0))
        .map_err(|e| fail(1, format!("opening day 1: {e}")))?;

    let mut checked = 0;
    for &(n, l) in &lines[first_step..] {
        let raw = text.lines().nth(n - 1).unwrap_or("").trim();
        if let Some(d) = l.strip_prefix("day ") {
            r.day = d
                .trim()
                .parse()
                .map_err(|_| fail(n, format!("bad day {d:?}")))?;
            continue;
        }
        let Some(rest) = l.strip_prefix("at ") else {
            return Err(fail(n, format!("a step starts with `at` or `day`: {l:?}")));
        };
        let (step, expect) = match rest.split_once("->") {
            Some((s, e)) => (s.trim(), Some(normalize(e))),
            None => (rest.trim(), None),
        };
        let mut words = step.split_whitespace();
        let time = words.next().ok_or_else(|| fail(n, "no time".into()))?;
        let secs = parse_clock(time).map_err(|e| fail(n, e))?;
        let words: Vec<&str> = words.collect();
        let now = now(r.day, secs);
        let got = r.step(&words, &now).map_err(|e| fail(n, e))?;
        match (&got, &expect) {
            (Outcome::Query(_), None) => {
                return Err(fail(n, "a query needs `-> expected`".into()));
            }
            (Outcome::Query(g), Some(e)) | (Outcome::Done(g), Some(e)) => {
                checked += 1;
                let ok = g == e || (e == "ok" && !g.starts_with('!'));
                if !ok {
                    return Err(fail(n, format!("{raw}\n  expected: {e}\n  got:      {g}")));
                }
            }
            (Outcome::Done(g), None) => {
                if g.starts_with('!') {
                    return Err(fail(
                        n,
                        format!("{raw}\n  expected: success\n  got:      {g}"),
                    ));
                }
            }
        }
        r.site
            .check_invariants()
            .map_err(|e| fail(n, format!("{raw}\n  invariant broken: {e}")))?;
    }
    Ok(checked)
}

enum Outcome {
    /// A command's result: `!code` when refused.
    Done(String),
    /// A query's answer.
    Query(String),
}

struct Runner {
    site: Site,
    day: i32,
    /// The token printed on each ticket, for `@A001`.
    tokens: HashMap<TicketNumber, Token>,
    issued: u64,
}

impl Runner {
    fn step(&mut self, w: &[&str], now: &Now) -> Result<Outcome, String> {
        let verb = *w.first().ok_or("no step after the time")?;
        let args = &w[1..];
        let arg = |i: usize| -> Result<&str, String> {
            args.get(i)
                .copied()
                .ok_or_else(|| format!("`{verb}` needs more arguments"))
        };
        let cmd = match verb {
            "state" => {
                let t = self.site.resolve(self.ticket_ref(arg(0)?)?);
                return Ok(Outcome::Query(
                    t.map_or("unknown", |t| t.state.as_str()).to_string(),
                ));
            }
            "waiting" => {
                return Ok(Outcome::Query(
                    self.site.waiting_for(code(arg(0)?)?).to_string(),
                ));
            }
            "status" => {
                let c = self
                    .site
                    .counter_state(code(arg(0)?)?)
                    .ok_or("no such counter")?;
                let mut s = c.status.as_str().to_string();
                if let Some(t) = c.current.and_then(|id| self.site.ticket(id)) {
                    write!(s, " {}", t.number).unwrap();
                }
                return Ok(Outcome::Query(s));
            }
            "dossier_of" => {
                let t = self.site.resolve(self.ticket_ref(arg(0)?)?);
                return Ok(Outcome::Query(
                    t.and_then(|t| t.dossier.clone())
                        .unwrap_or_else(|| "none".into()),
                ));
            }
            "session" => {
                let s = self.site.session(code(arg(0)?)?, now);
                return Ok(Outcome::Query(session_text(s)));
            }
            "past_session" => {
                let wait = match arg(1)? {
                    "unknown" => None,
                    d => Some(parse_duration_s(d)?),
                };
                let s = self.site.wait_runs_past_session(code(arg(0)?)?, now, wait);
                return Ok(Outcome::Query(match s {
                    None => "no".into(),
                    s => session_text(s),
                }));
            }
            "cap" => {
                let s = code(arg(0)?)?;
                let mut out = self.site.daily_cap(s).ok_or("no such service")?.to_string();
                if let Some(r) = self.site.service_paused(s) {
                    write!(out, " stopped: {r}").unwrap();
                }
                return Ok(Outcome::Query(out));
            }
            "idle" => {
                let since = self.site.idle_since_ms(code(arg(0)?)?);
                return Ok(Outcome::Query(since.map_or("none".into(), |ms| {
                    format!("{}s", (now.at_ms - ms) / 1000)
                })));
            }
            "no_show_streak" => {
                let n = self.site.no_show_streak(code(arg(0)?)?);
                return Ok(Outcome::Query(n.to_string()));
            }
            "rollover_due" => {
                let due = self.site.rollover_due(now);
                return Ok(Outcome::Query(if due { "yes" } else { "no" }.into()));
            }
            "open_day" => Command::OpenDay {
                day: scenario_day(self.day),
            },
            "issue" => self.issue(args)?,
            "call" => match args.get(1) {
                None => Command::CallNext {
                    counter: code(arg(0)?)?,
                },
                Some(t) => Command::CallTicket {
                    counter: code(arg(0)?)?,
                    ticket: self.ticket_ref(t)?,
                },
            },
            "recall" => Command::Recall {
                counter: code(arg(0)?)?,
            },
            "start" => Command::Start {
                counter: code(arg(0)?)?,
            },
            "complete" => Command::Complete {
                counter: code(arg(0)?)?,
            },
            "no_show" => Command::NoShow {
                counter: code(arg(0)?)?,
            },
            "return" => Command::Return {
                ticket: self.ticket_ref(arg(0)?)?,
            },
            "cancel" => Command::Cancel {
                ticket: self.ticket_ref(arg(0)?)?,
            },
            "checkin" => Command::CheckIn {
                ticket: self.ticket_ref(arg(0)?)?,
            },
            "rate" => Command::Rate {
                ticket: self.ticket_ref(arg(0)?)?,
                score: arg(1)?.parse().map_err(|_| "bad score")?,
                reason: None,
            },
            "dossier" => Command::AttachDossier {
                counter: code(arg(0)?)?,
                ticket: self.ticket_ref(arg(1)?)?,
                dossier: args.get(2).copied().unwrap_or("").to_string(),
            },
            "transfer" => {
                if arg(1)? != "to" {
                    return Err("transfer COUNTER to service|counter CODE".into());
                }
                let target = code(arg(3)?)?;
                let to = match arg(2)? {
                    "service" => TransferTarget::Service(target),
                    "counter" => TransferTarget::Counter(target),
                    other => return Err(format!("transfer to {other}?")),
                };
                Command::Transfer {
                    counter: code(arg(0)?)?,
                    to,
                    note: args[4..].join(" "),
                }
            }
            "open" => {
                if arg(1)? != "by" {
                    return Err("open COUNTER by OFFICIAL".into());
                }
                Command::OpenCounter {
                    counter: code(arg(0)?)?,
                    official: code(arg(2)?)?,
                }
            }
            "pause" => Command::PauseCounter {
                counter: code(arg(0)?)?,
                reason: args[1..].join(" "),
            },
            "resume" => Command::ResumeCounter {
                counter: code(arg(0)?)?,
            },
            "close" => Command::CloseCounter {
                counter: code(arg(0)?)?,
            },
            "pause_service" => Command::PauseService {
                service: code(arg(0)?)?,
                reason: args[1..].join(" "),
            },
            "resume_service" => Command::ResumeService {
                service: code(arg(0)?)?,
            },
            "raise_cap" => Command::RaiseDailyCap {
                service: code(arg(0)?)?,
                cap: arg(1)?.parse().map_err(|_| "raise_cap SERVICE N")?,
            },
            other => return Err(format!("unknown step `{other}`")),
        };
        Ok(Outcome::Done(self.apply(cmd, now)))
    }

    fn issue(&mut self, args: &[&str]) -> Result<Command, String> {
        let service = code(args.first().ok_or("issue SERVICE")?)?;
        let mut channel = Channel::Kiosk;
        let mut priority = None;
        let mut appointment = None;
        let mut person = None;
        let mut phone = None;
        let mut via = None;
        for a in &args[1..] {
            let (k, v) = a
                .split_once('=')
                .ok_or(format!("expected KEY=VALUE: {a}"))?;
            match k {
                "prio" => priority = Some(code(v)?),
                "via" => via = Some(Channel::parse(v).ok_or(format!("no channel {v}"))?),
                "person" => person = Some(PersonKey(v.parse().map_err(|_| "bad person")?)),
                "phone" => phone = Some(v.to_string()),
                "appt" => {
                    let (from, to) = v.split_once('-').ok_or("appt=HH:MM-HH:MM")?;
                    appointment = Some(Appointment {
                        from_ms: at_ms(self.day, parse_clock(from)?),
                        to_ms: at_ms(self.day, parse_clock(to)?),
                    });
                    channel = Channel::Appointment;
                }
                _ => return Err(format!("unknown issue option {k}")),
            }
        }
        if let Some(v) = via {
            channel = v;
        }
        self.issued += 1;
        Ok(Command::Issue {
            phone,
            service,
            channel,
            priority,
            token: token(self.issued),
            appointment,
            person,
        })
    }

    /// Applies a command and renders its result for comparison.
    fn apply(&mut self, cmd: Command, now: &Now) -> String {
        // Day close names tickets by id; the old day's tickets are gone once it is applied.
        let numbers: HashMap<_, _> = self
            .site
            .tickets()
            .iter()
            .map(|t| (t.id, t.number))
            .collect();
        let events = match self.site.apply(cmd, now) {
            Ok(events) => events,
            Err(rejection) => return format!("!{}", rejection.code()),
        };
        let list = |ids: &[luot_core::TicketId]| {
            if ids.is_empty() {
                "-".to_string()
            } else {
                let v: Vec<String> = ids.iter().map(|id| numbers[id].to_string()).collect();
                v.join(",")
            }
        };
        let mut out = Vec::new();
        for e in &events {
            match e {
                Event::TicketIssued { number, token, .. } => {
                    self.tokens.insert(*number, *token);
                    out.push(number.to_string());
                }
                Event::TicketCalled { ticket, reason, .. } => {
                    let t = self.site.ticket(*ticket).expect("called ticket exists");
                    out.push(format!("{} {}", t.number, reason.code()));
                }
                Event::DayClosed {
                    expired, carried, ..
                } => out.push(format!(
                    "expired={} carried={}",
                    list(expired),
                    list(carried)
                )),
                Event::DayOpened { .. } if events.len() == 1 => {
                    out.push("expired=- carried=-".into());
                }
                _ => {}
            }
        }
        if out.is_empty() {
            "ok".into()
        } else {
            out.join(" ")
        }
    }

    fn ticket_ref(&self, s: &str) -> Result<TicketRef, String> {
        match s.strip_prefix('@') {
            Some(n) => {
                let number = TicketNumber::parse(n).ok_or(format!("bad ticket number {n}"))?;
                let token = self
                    .tokens
                    .get(&number)
                    .ok_or(format!("no token was printed for {n}"))?;
                Ok(TicketRef::Token(*token))
            }
            None => Ok(TicketRef::Number(
                TicketNumber::parse(s).ok_or(format!("bad ticket number {s}"))?,
            )),
        }
    }
}

// ----- the header -----

#[derive(Default)]
struct Header {
    services: Vec<Service>,
    departments: Vec<Department>,
    counters: Vec<Counter>,
    policy: Policy,
    priority: Option<Vec<PriorityCategory>>,
    holidays: Vec<Day>,
}

impl Header {
    fn line(&mut self, l: &str) -> Result<(), String> {
        let (key, rest) = l.split_once(':').ok_or(format!("header line? {l:?}"))?;
        let rest = rest.trim();
        match key.trim() {
            "services" => {
                for s in rest.split_whitespace() {
                    self.service(s)?;
                }
            }
            "counter" => self.counter(rest)?,
            "policy" => {
                for kv in rest.split_whitespace() {
                    self.policy(kv)?;
                }
            }
            "priority" => {
                self.priority = Some(
                    rest.split_whitespace()
                        .map(|c| {
                            Ok(PriorityCategory {
                                code: code(c)?,
                                name: Text::new(c, c),
                                min_age: None,
                            })
                        })
                        .collect::<Result<_, String>>()?,
                );
            }
            "holidays" => {
                for d in rest.split_whitespace() {
                    let d: i32 = d.parse().map_err(|_| format!("bad holiday {d}"))?;
                    self.holidays.push(scenario_day(d));
                }
            }
            other => return Err(format!("unknown header `{other}`")),
        }
        Ok(())
    }

    fn service(&mut self, s: &str) -> Result<(), String> {
        let (code_s, opts) = s
            .strip_suffix(')')
            .and_then(|s| s.split_once('('))
            .ok_or(format!("service as CODE(PREFIX,...): {s}"))?;
        let mut opts = opts.split(',');
        let prefix_s = opts.next().unwrap_or("");
        let prefix = Prefix::new(prefix_s).ok_or(format!("bad prefix {prefix_s}"))?;
        let mut dept = prefix_s.to_ascii_lowercase();
        let mut daily_cap = 1000;
        let mut carry_over = false;
        let mut ranges = None;
        let mut days = [true; 7];
        for o in opts {
            match o.split_once('=') {
                None if o == "carry" => carry_over = true,
                Some(("cap", v)) => daily_cap = v.parse().map_err(|_| format!("bad cap {v}"))?,
                Some(("dept", v)) => dept = v.to_string(),
                Some(("hours", v)) => {
                    let mut list = Vec::new();
                    for r in v.split('+') {
                        let (a, b) = r.split_once('-').ok_or(format!("bad hours {r}"))?;
                        list.push(((parse_clock(a)? / 60) as u16, (parse_clock(b)? / 60) as u16));
                    }
                    ranges = Some(list);
                }
                Some(("days", v)) => days = parse_weekdays(v)?,
                _ => return Err(format!("unknown service option {o}")),
            }
        }
        let hours = match ranges {
            None => WeekHours::always(),
            Some(list) => WeekHours {
                days: std::array::from_fn(|d| if days[d] { list.clone() } else { vec![] }),
            },
        };
        let dept = code(&dept)?;
        if !self.departments.iter().any(|d| d.code == dept) {
            self.departments.push(Department {
                code: dept,
                name: Text::new(dept.as_str(), dept.as_str()),
                prefix,
            });
        }
        self.services.push(Service {
            code: code(code_s)?,
            department: dept,
            name: Text::new(code_s, code_s),
            prefix,
            hours,
            daily_cap,
            expected_service_s: 300,
            carry_over,
        });
        Ok(())
    }

    fn counter(&mut self, rest: &str) -> Result<(), String> {
        let (name, list) = rest.split_once('=').ok_or("counter: CODE = SERVICE ...")?;
        let mut services = Vec::new();
        let mut priority_first = false;
        for s in list.split_whitespace() {
            if s == "priority_first" {
                priority_first = true;
                continue;
            }
            let (svc, weight) = match s.split_once('*') {
                Some((svc, w)) => (svc, w.parse().map_err(|_| format!("bad weight {w}"))?),
                None => (s, 1),
            };
            services.push(CounterService {
                service: code(svc)?,
                weight,
            });
        }
        let name = name.trim();
        self.counters.push(Counter {
            code: code(name)?,
            number: self.counters.len() as u16 + 1,
            name: Text::new(name, name),
            services,
            priority_first,
        });
        Ok(())
    }

    fn policy(&mut self, kv: &str) -> Result<(), String> {
        let (k, v) = kv
            .split_once('=')
            .ok_or(format!("policy KEY=VALUE: {kv}"))?;
        let p = &mut self.policy;
        let n = || v.parse::<u32>().map_err(|_| format!("bad number {v}"));
        let small = || v.parse::<u8>().map_err(|_| format!("bad number {v}"));
        match k {
            "normal_per_priority" => p.normal_per_priority = n()?,
            "recall_max" => p.recall_max = small()?,
            "rating_levels" => p.rating_levels = small()?,
            "tickets_per_day" => p.tickets_per_day_max = n()?,
            "waiting_max" => p.waiting_max = n()?,
            "per_person_day" => p.per_person_day_max = small()?,
            "per_person_department" => p.per_person_department_max = small()?,
            "max_wait" => p.max_wait_s = parse_duration_s(v)?,
            "appointment_early" => p.appointment_early_s = parse_duration_s(v)?,
            "no_show_return" => p.no_show_return_s = parse_duration_s(v)?,
            "rating_window" => p.rating_window_s = parse_duration_s(v)?,
            "remote_hold" => p.remote_hold_s = parse_duration_s(v)?,
            "hall_share" => p.hall_share_pct = small()?,
            "intake_close" => {
                p.intake_close = v
                    .split('+')
                    .map(|c| parse_clock(c).map(|s| (s / 60) as u16))
                    .collect::<Result<_, _>>()?
            }
            _ => return Err(format!("unknown policy key {k}")),
        }
        Ok(())
    }

    fn config(self) -> Result<SiteConfig, String> {
        for c in &self.counters {
            for s in &c.services {
                if !self.services.iter().any(|x| x.code == s.service) {
                    return Err(format!("counter {} serves unknown {}", c.code, s.service));
                }
            }
        }
        let default_categories = ["elderly", "disabled", "pregnant", "merit"]
            .iter()
            .map(|c| PriorityCategory {
                code: Code::new(c).unwrap(),
                name: Text::new(*c, *c),
                min_age: None,
            })
            .collect();
        Ok(SiteConfig {
            code: Code::new("scenario").unwrap(),
            name: Text::new("Trung tâm thử", "Test center"),
            departments: self.departments,
            services: self.services,
            counters: self.counters,
            priority_categories: self.priority.unwrap_or(default_categories),
            policy: self.policy,
            holidays: self.holidays,
        })
    }
}

// ----- small parsers -----

fn code(s: &str) -> Result<Code, String> {
    Code::new(s).map_err(|e| format!("{s:?}: {e}"))
}

/// `HH:MM` or `HH:MM:SS` to seconds since midnight.
fn parse_clock(s: &str) -> Result<i64, String> {
    let parts: Vec<i64> = s
        .split(':')
        .map(|p| p.parse().map_err(|_| format!("bad time {s:?}")))
        .collect::<Result<_, _>>()?;
    match parts[..] {
        [h, m] if h <= 24 && m < 60 => Ok(h * 3600 + m * 60),
        [h, m, sec] if h < 24 && m < 60 && sec < 60 => Ok(h * 3600 + m * 60 + sec),
        _ => Err(format!("bad time {s:?}")),
    }
}

fn parse_duration_s(s: &str) -> Result<u32, String> {
    let (n, unit) = s.split_at(s.len().saturating_sub(1));
    let n: u32 = n.parse().map_err(|_| format!("bad duration {s:?}"))?;
    match unit {
        "s" => Ok(n),
        "m" => Ok(n * 60),
        "h" => Ok(n * 3600),
        _ => Err(format!("a duration ends in s, m or h: {s:?}")),
    }
}

fn parse_weekdays(s: &str) -> Result<[bool; 7], String> {
    const NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let ix = |n: &str| {
        NAMES
            .iter()
            .position(|x| *x == n)
            .ok_or(format!("bad weekday {n}"))
    };
    let mut days = [false; 7];
    for item in s.split('/') {
        match item.split_once('-') {
            Some((a, b)) => (ix(a)?..=ix(b)?).for_each(|d| days[d] = true),
            None => days[ix(item)?] = true,
        }
    }
    Ok(days)
}

fn session_text(s: Option<luot_core::Session>) -> String {
    let Some(s) = s else { return "none".into() };
    let hm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
    let resumes = match s.resumes {
        Some((d, m)) => format!("day {} {}", d.0 - scenario_day(1).0 + 1, hm(m)),
        None => "never".into(),
    };
    format!("ends {} resumes {resumes}", hm(s.ends))
}

fn normalize(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Scenario day `n` (day 1 is Monday 2026-06-01).
fn scenario_day(n: i32) -> Day {
    Day(Day::from_ymd(2026, 6, 1).0 + n - 1)
}

/// Unix milliseconds for a local time of a scenario day.
fn at_ms(day: i32, secs: i64) -> i64 {
    (scenario_day(day).0 as i64 * 86_400 + secs - OFFSET_S as i64) * 1000
}

fn now(day: i32, secs: i64) -> Now {
    Now::from_offset(at_ms(day, secs), OFFSET_S)
}

/// A distinct, fixed token per issue, so `@A001` works and a run is reproducible.
fn token(n: u64) -> Token {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&n.to_le_bytes());
    b[8..].copy_from_slice(&n.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_le_bytes());
    Token(b)
}
