//! The core's command sequence: a site built from the first bytes, then commands of every kind
//! read from the rest (valid or not, with the clock moving forward, standing still, stepping
//! back or jumping a day), as the broker would apply them.
//!
//! Oracle, after every command: `Site::check_invariants()`; no ticket held by two counters; a
//! replica built only by `evolve` on the emitted events equals the live site (so a refusal
//! changed nothing and the events say everything); a success emits at least one event.
//!
//! Tokens are unique per ticket, as the server's CSPRNG makes them (128 bits); everything
//! else — codes, numbers, times, notes, scores, appointments — comes from the fuzzer.
#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use luot_core::{
    Appointment, Channel, Code, Command, Counter, CounterService, Day, Department, PersonKey,
    Policy, Prefix, PriorityCategory, Service, Site, SiteConfig, Text, TicketNumber, TicketRef,
    Token, TransferTarget, WeekHours,
};

/// Vietnam is UTC+7 all year.
const OFFSET_S: i32 = 7 * 3600;
/// Commands per input: enough for a busy morning, small enough to stay fast.
const COMMANDS_MAX: usize = 3_000;

fn code(s: &str) -> Code {
    Code::new(s).expect("valid code")
}

fn config(u: &mut Unstructured<'_>) -> Result<SiteConfig> {
    const PREFIXES: [&str; 3] = ["A", "B", "KQ"];
    let departments: Vec<Department> = (0..u.int_in_range(1..=3)?)
        .map(|i| Department {
            code: code(&format!("d{i}")),
            name: Text::new("d", "d"),
            prefix: Prefix::new(PREFIXES[i as usize]).expect("prefix"),
        })
        .collect();
    let mut services = Vec::new();
    for i in 0..u.int_in_range(1..=5)? {
        let d = u.choose(&departments)?;
        let hours = if u.ratio(3, 4)? {
            WeekHours::always()
        } else {
            WeekHours {
                days: std::array::from_fn(|wd| {
                    if wd < 5 {
                        vec![(7 * 60 + 30, 11 * 60 + 30), (13 * 60, 17 * 60)]
                    } else {
                        vec![]
                    }
                }),
            }
        };
        services.push(Service {
            code: code(&format!("s{i}")),
            department: d.code,
            name: Text::new("s", "s"),
            prefix: d.prefix,
            hours,
            daily_cap: if u.ratio(1, 3)? {
                u.int_in_range(1..=30)?
            } else {
                999
            },
            expected_service_s: u.int_in_range(60..=900)?,
            carry_over: u.arbitrary()?,
        });
    }
    let mut counters = Vec::new();
    for i in 0..u.int_in_range(1..=4)? {
        let mask: u8 = u.arbitrary()?;
        let mut served: Vec<CounterService> = services
            .iter()
            .enumerate()
            .filter(|(j, _)| mask & (1 << j) != 0)
            .map(|(_, s)| CounterService {
                service: s.code,
                weight: 1 + (mask >> 5) as u32 % 3,
            })
            .collect();
        if served.is_empty() {
            served.push(CounterService {
                service: services[0].code,
                weight: 1,
            });
        }
        counters.push(Counter {
            code: code(&format!("q{i}")),
            number: i as u16 + 1,
            name: Text::new("q", "q"),
            services: served,
            priority_first: u.arbitrary()?,
        });
    }
    let policy = Policy {
        normal_per_priority: u.int_in_range(0..=3)?,
        max_wait_s: u.int_in_range(1..=90)? * 60,
        appointment_early_s: u.int_in_range(0..=15)? * 60,
        no_show_return_s: u.int_in_range(1..=30)? * 60,
        recall_max: u.int_in_range(0..=4)?,
        console_absent_s: 120,
        wait_target_s: u.int_in_range(1..=60)? * 60,
        rating_window_s: u.int_in_range(1..=30)? * 60,
        rating_levels: u.int_in_range(2..=5)?,
        tickets_per_day_max: u.int_in_range(1..=500)?,
        waiting_max: u.int_in_range(1..=100)?,
        per_person_day_max: u.int_in_range(1..=3)?,
        per_person_department_max: u.int_in_range(1..=2)?,
        intake_close: Vec::new(),
        remote_hold_s: u.int_in_range(0..=30)? * 60,
        hall_share_pct: u.int_in_range(0..=100)?,
    };
    let first = Day::from_ymd(2026, 11, 30).0;
    let holidays = (0..u.int_in_range(0..=2)?)
        .map(|_| u.int_in_range(0..=6).map(|d| Day(first + d)))
        .collect::<Result<Vec<_>>>()?;
    Ok(SiteConfig {
        code: code("fuzz"),
        name: Text::new("f", "f"),
        departments,
        services,
        counters,
        priority_categories: vec![PriorityCategory {
            code: code("elderly"),
            name: Text::new("e", "e"),
            min_age: Some(60),
        }],
        policy,
        holidays,
    })
}

struct Run {
    cfg: SiteConfig,
    live: Site,
    replica: Site,
    at_ms: i64,
    tokens: u64,
}

impl Run {
    fn counter(&self, u: &mut Unstructured<'_>) -> Result<Code> {
        let i = u.choose_index(self.cfg.counters.len() + 1)?;
        Ok(self.cfg.counters.get(i).map_or(code("q-none"), |c| c.code))
    }

    fn service(&self, u: &mut Unstructured<'_>) -> Result<Code> {
        let i = u.choose_index(self.cfg.services.len() + 1)?;
        Ok(self.cfg.services.get(i).map_or(code("s-none"), |s| s.code))
    }

    /// One of today's tickets by number or token, or a number nobody holds.
    fn ticket(&self, u: &mut Unstructured<'_>) -> Result<TicketRef> {
        let tickets = self.live.tickets();
        let i = u.choose_index(tickets.len() + 1)?;
        Ok(match tickets.get(i) {
            Some(t) if u.arbitrary()? => TicketRef::Token(t.token),
            Some(t) => TicketRef::Number(t.number),
            None => TicketRef::Number(TicketNumber::parse("Z999").expect("number")),
        })
    }

    fn text(u: &mut Unstructured<'_>) -> Result<String> {
        // Mostly short, sometimes past the core's 500-character limit on notes.
        let len = if u.ratio(1, 16)? {
            u.int_in_range(490..=510)?
        } else {
            u.int_in_range(0..=8)?
        };
        Ok("ư".repeat(len))
    }

    fn command(&mut self, u: &mut Unstructured<'_>) -> Result<Command> {
        Ok(match u.int_in_range(0..=17u8)? {
            0 | 1 | 2 => {
                self.tokens += 1;
                let channel = *u.choose(&Channel::ALL)?;
                let appointment = if channel == Channel::Appointment || u.ratio(1, 8)? {
                    let from_ms = self.at_ms + u.int_in_range(-3_600_000..=14_400_000i64)?;
                    let to_ms = from_ms + u.int_in_range(-600_000..=3_600_000i64)?;
                    Some(Appointment { from_ms, to_ms })
                } else {
                    None
                };
                Command::Issue {
                    service: self.service(u)?,
                    channel,
                    priority: match u.int_in_range(0..=7u8)? {
                        0 => Some(code("elderly")),
                        1 => Some(code("vip")),
                        _ => None,
                    },
                    token: Token((self.tokens as u128 * 0x9E37_79B9_7F4A_7C15).to_le_bytes()),
                    appointment,
                    person: if u.ratio(1, 4)? {
                        Some(PersonKey(u.int_in_range(1..=5)?))
                    } else {
                        None
                    },
                    // A few phones, so that one phone's limits are reached.
                    phone: if channel.is_remote() && u.ratio(3, 4)? {
                        Some(format!("09{:08}", u.int_in_range(0..=3u32)?))
                    } else {
                        None
                    },
                }
            }
            3 | 4 => Command::CallNext {
                counter: self.counter(u)?,
            },
            5 => Command::CallTicket {
                counter: self.counter(u)?,
                ticket: self.ticket(u)?,
            },
            6 => Command::Recall {
                counter: self.counter(u)?,
            },
            7 => Command::Start {
                counter: self.counter(u)?,
            },
            8 => Command::Complete {
                counter: self.counter(u)?,
            },
            9 => Command::NoShow {
                counter: self.counter(u)?,
            },
            10 => Command::Return {
                ticket: self.ticket(u)?,
            },
            11 => Command::Transfer {
                counter: self.counter(u)?,
                to: if u.arbitrary()? {
                    TransferTarget::Service(self.service(u)?)
                } else {
                    TransferTarget::Counter(self.counter(u)?)
                },
                note: Self::text(u)?,
            },
            12 if u.ratio(1, 3)? => Command::CheckIn {
                ticket: self.ticket(u)?,
            },
            12 => Command::Cancel {
                ticket: self.ticket(u)?,
            },
            13 => Command::OpenCounter {
                counter: self.counter(u)?,
                official: code(&format!("off{}", u.int_in_range(0..=4u8)?)),
            },
            14 => match u.int_in_range(0..=4u8)? {
                0 => Command::PauseCounter {
                    counter: self.counter(u)?,
                    reason: Self::text(u)?,
                },
                4 => Command::PauseAbsent {
                    counter: self.counter(u)?,
                    reason: Self::text(u)?,
                },
                1 => Command::ResumeCounter {
                    counter: self.counter(u)?,
                },
                2 => Command::CloseCounter {
                    counter: self.counter(u)?,
                },
                _ => {
                    let now = luot_core::Now::from_offset(self.at_ms, OFFSET_S);
                    Command::OpenDay {
                        day: Day(now.day.0 + u.int_in_range(-1..=2)?),
                    }
                }
            },
            // The floor page's actions on a service.
            16 => match u.int_in_range(0..=2u8)? {
                0 => Command::PauseService {
                    service: self.service(u)?,
                    reason: Self::text(u)?,
                },
                1 => Command::ResumeService {
                    service: self.service(u)?,
                },
                _ => Command::RaiseDailyCap {
                    service: self.service(u)?,
                    cap: u.int_in_range(0..=600)?,
                },
            },
            15 => Command::Rate {
                ticket: self.ticket(u)?,
                score: u.int_in_range(0..=6)?,
                reason: if u.arbitrary()? {
                    Some(Self::text(u)?)
                } else {
                    None
                },
            },
            _ => Command::AttachDossier {
                counter: self.counter(u)?,
                ticket: self.ticket(u)?,
                dossier: if u.arbitrary()? {
                    "000.00.28.H26-261130-0001".into()
                } else {
                    Self::text(u)?
                },
            },
        })
    }

    fn advance_clock(&mut self, u: &mut Unstructured<'_>) -> Result<()> {
        self.at_ms += match u.int_in_range(0..=31u8)? {
            0 => -u.int_in_range(1..=3_600_000i64)?,
            1 => 86_400_000 + u.int_in_range(0..=3_600_000i64)?,
            2..=5 => 0,
            _ => u.int_in_range(1..=300_000i64)?,
        };
        Ok(())
    }

    fn step(&mut self, cmd: Command) {
        let now = luot_core::Now::from_offset(self.at_ms, OFFSET_S);
        match self.live.apply(cmd.clone(), &now) {
            Ok(events) => {
                assert!(!events.is_empty(), "{cmd:?} succeeded with no event");
                for e in &events {
                    self.replica.evolve(e, now.at_ms);
                }
            }
            Err(r) => {
                let _ = (r.code(), r.message());
            }
        }
        if let Err(e) = self.live.check_invariants() {
            panic!("invariant broken after {cmd:?}: {e}");
        }
        let mut held = std::collections::HashSet::new();
        for id in self.live.counters().iter().filter_map(|c| c.current) {
            assert!(
                held.insert(id),
                "ticket {id} held by two counters after {cmd:?}"
            );
        }
        assert!(
            self.live == self.replica,
            "the replica built from the events differs after {cmd:?}"
        );
    }
}

fn run(data: &[u8]) -> Result<()> {
    let mut u = Unstructured::new(data);
    let cfg = config(&mut u)?;
    // Monday 2026-11-30, 06:00 local, plus up to a day.
    let start_ms = 1_795_992_000_000 + u.int_in_range(0..=86_399_999i64)?;
    let mut run = Run {
        live: Site::new(cfg.clone()),
        replica: Site::new(cfg.clone()),
        cfg,
        at_ms: start_ms,
        tokens: 0,
    };
    for _ in 0..COMMANDS_MAX {
        if u.is_empty() {
            break;
        }
        run.advance_clock(&mut u)?;
        // The broker opens the new day before the first command after midnight.
        let now = luot_core::Now::from_offset(run.at_ms, OFFSET_S);
        if run.live.rollover_due(&now) {
            run.step(Command::OpenDay { day: now.day });
        }
        let cmd = run.command(&mut u)?;
        run.step(cmd);
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(data);
});
