//! Helpers shared by the store's tests and its benchmark (included there with `#[path]`): a small
//! seeded PRNG, a test site, virtual time, and turning the core's events into stored records.

#![allow(dead_code)]

use luot_core::{
    Channel, Code, Counter, CounterService, Day, Department, Event, Now, Policy, Prefix,
    PriorityCategory, Service, SiteConfig, Text, TicketId, TicketNumber, Token, WeekHours,
};
use luot_store::Record;

/// Vietnam is UTC+7 all year.
pub const OFFSET_S: i32 = 7 * 3600;

/// The first day of every test: Monday 2026-06-01.
pub fn first_day() -> Day {
    Day::from_ymd(2026, 6, 1)
}

/// SplitMix64: tiny, seedable and good enough to drive a simulation; a failing seed replays
/// exactly.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x005E_ED0F_1007)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    pub fn token(&mut self) -> Token {
        let mut t = [0u8; 16];
        t[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        t[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        Token(t)
    }
}

pub fn code(s: &str) -> Code {
    Code::new(s).unwrap_or_else(|e| panic!("test code {s:?}: {e}"))
}

pub fn prefix(s: &str) -> Prefix {
    Prefix::new(s).unwrap_or_else(|| panic!("test prefix {s:?}"))
}

/// Local midnight of `day` as Unix milliseconds.
pub fn midnight_ms(day: Day) -> i64 {
    (day.0 as i64 * 86_400 - OFFSET_S as i64) * 1000
}

pub fn now(at_ms: i64) -> Now {
    Now::from_offset(at_ms, OFFSET_S)
}

pub fn service(code_: &str, department: &str, prefix_: &str, carry_over: bool) -> Service {
    Service {
        code: code(code_),
        department: code(department),
        name: Text::new(code_, code_),
        prefix: prefix(prefix_),
        hours: WeekHours::always(),
        daily_cap: 9_999,
        expected_service_s: 300,
        carry_over,
    }
}

/// `services` are codes, each with an optional weight: `"so-do*2"`.
pub fn counter(code_: &str, number: u16, services: &[&str], priority_first: bool) -> Counter {
    Counter {
        code: code(code_),
        number,
        name: Text::new(format!("Quầy {number}"), format!("Counter {number}")),
        services: services
            .iter()
            .map(|s| {
                let (s, weight) = s.split_once('*').unwrap_or((s, "1"));
                CounterService {
                    service: code(s),
                    weight: weight.parse().expect("a weight"),
                }
            })
            .collect(),
        priority_first,
    }
}

pub const SITE: &str = "hcm-q1";

/// The test center: two departments, five services (two of them carry waiting tickets over to
/// the next day), three counters (one takes priority tickets first), two priority categories.
pub fn site_config() -> SiteConfig {
    SiteConfig {
        code: code(SITE),
        name: Text::new(
            "Trung tâm Phục vụ hành chính công Quận 1",
            "District 1 service center",
        ),
        departments: vec![
            Department {
                code: code("tu-phap"),
                name: Text::new("Tư pháp – Hộ tịch", "Justice and civil status"),
                prefix: prefix("A"),
            },
            Department {
                code: code("dat-dai"),
                name: Text::new("Đất đai", "Land"),
                prefix: prefix("B"),
            },
        ],
        services: vec![
            service("khai-sinh", "tu-phap", "A", false),
            service("ket-hon", "tu-phap", "A", false),
            service("chung-thuc", "tu-phap", "C", true),
            service("so-do", "dat-dai", "B", false),
            service("chuyen-nhuong", "dat-dai", "B", true),
        ],
        counters: vec![
            counter("q1", 1, &["khai-sinh", "ket-hon", "chung-thuc"], false),
            counter("q2", 2, &["chung-thuc", "so-do*2", "chuyen-nhuong"], false),
            counter(
                "q3",
                3,
                &[
                    "khai-sinh",
                    "ket-hon",
                    "chung-thuc",
                    "so-do",
                    "chuyen-nhuong",
                ],
                true,
            ),
        ],
        priority_categories: vec![
            PriorityCategory {
                code: code("cao-tuoi"),
                name: Text::new("Người cao tuổi", "Elderly"),
                min_age: None,
            },
            PriorityCategory {
                code: code("khuyet-tat"),
                name: Text::new("Người khuyết tật", "People with disabilities"),
                min_age: None,
            },
        ],
        policy: Policy::default(),
        holidays: Vec::new(),
    }
}

/// Numbers stored records as the broker does: one global, gap-free `seq` for every site, and each
/// event's open day (a `DayClosed` belongs to the day it closes, a `DayOpened` to the day it opens).
#[derive(Debug)]
pub struct Recorder {
    pub next_seq: u64,
}

impl Default for Recorder {
    fn default() -> Recorder {
        Recorder { next_seq: 1 }
    }
}

impl Recorder {
    pub fn records(
        &mut self,
        site: Code,
        events: Vec<Event>,
        open_day: Option<Day>,
        at_ms: i64,
    ) -> Vec<Record> {
        events
            .into_iter()
            .map(|event| {
                let day = match &event {
                    Event::DayOpened { day, .. } | Event::DayClosed { day, .. } => *day,
                    _ => open_day.expect("a ticket or counter event happens in an open day"),
                };
                let seq = self.next_seq;
                self.next_seq += 1;
                Record {
                    seq,
                    site,
                    day,
                    at_ms,
                    event,
                }
            })
            .collect()
    }
}

/// A stand-alone `TicketIssued` record as a kiosk causes it, about the size of a real one: for
/// exercising the writer without a site. Ticket `seq` gets number `A001`…`Z9999` by `seq`.
pub fn issued_record(seq: u64, rng: &mut Rng) -> Record {
    let letter = (b'A' + ((seq - 1) / 9_999 % 26) as u8) as char;
    let number = TicketNumber {
        prefix: prefix(&letter.to_string()),
        seq: ((seq - 1) % 9_999 + 1) as u16,
    };
    Record {
        seq,
        site: code(SITE),
        day: first_day(),
        at_ms: midnight_ms(first_day()) + 7 * 3_600_000 + seq as i64,
        event: Event::TicketIssued {
            phone: None,
            ticket: TicketId(seq),
            number,
            service: code("chung-thuc-ban-sao"),
            channel: Channel::Kiosk,
            priority: rng.chance(10).then(|| code("cao-tuoi")),
            token: rng.token(),
            person: None,
            appointment: None,
        },
    }
}
