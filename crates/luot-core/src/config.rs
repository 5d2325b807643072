//! The center as the core sees it: already parsed and validated (see `luot-proto::config` for the
//! TOML format and its error messages). Plain data; no IO.

use crate::ids::{Code, Prefix};
use crate::time::{Day, Minute};

/// A text in both languages the clients speak. Vietnamese is the default.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Text {
    pub vi: String,
    pub en: String,
}

impl Text {
    pub fn new(vi: impl Into<String>, en: impl Into<String>) -> Text {
        Text {
            vi: vi.into(),
            en: en.into(),
        }
    }
}

/// Opening hours for each weekday (Monday first) as half-open minute ranges `[start, end)`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct WeekHours {
    pub days: [Vec<(Minute, Minute)>; 7],
}

impl WeekHours {
    /// Open every minute of every day (tests, 24-hour reception points).
    pub fn always() -> WeekHours {
        WeekHours {
            days: std::array::from_fn(|_| vec![(0, crate::time::MINUTES_PER_DAY)]),
        }
    }

    pub fn is_open(&self, weekday: u8, minute: Minute) -> bool {
        self.days[weekday as usize]
            .iter()
            .any(|&(s, e)| s <= minute && minute < e)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Department {
    pub code: Code,
    pub name: Text,
    pub prefix: Prefix,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    pub code: Code,
    pub department: Code,
    pub name: Text,
    /// The department's prefix unless the service has its own.
    pub prefix: Prefix,
    pub hours: WeekHours,
    /// Most tickets issued for this service in one day.
    pub daily_cap: u32,
    /// What a counter needs on average, before there is history to learn from.
    pub expected_service_s: u32,
    /// Waiting tickets left at day close move to the next day instead of expiring.
    pub carry_over: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CounterService {
    pub service: Code,
    /// Weighted waiting time decides between services: a ticket of a weight-2 service counts its
    /// wait twice. Equal weights give plain first-come-first-served across services.
    pub weight: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counter {
    pub code: Code,
    /// The number announced and shown: "quầy số 4".
    pub number: u16,
    pub name: Text,
    pub services: Vec<CounterService>,
    /// A priority counter calls priority tickets before any other.
    pub priority_first: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriorityCategory {
    pub code: Code,
    pub name: Text,
    /// A citizen whose chip ID card shows at least this age is offered this category at the
    /// kiosk without being asked (the elderly: 60 by the Law on the Elderly, 75 in Hà Nội).
    pub min_age: Option<u8>,
}

/// The youngest and oldest `min_age` a configuration may set.
pub const PRIORITY_MIN_AGE_RANGE: std::ops::RangeInclusive<u8> = 1..=120;

/// The assignment policy's knobs and the limits of a day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// A waiting priority ticket is called before normal tickets; after this many priority calls
    /// in a row at a counter, one normal ticket goes (2 means 2 priority : 1 normal while both
    /// wait). 0: priority always first.
    pub normal_per_priority: u32,
    /// A ticket waiting this long is called before anything but appointments and transfers.
    pub max_wait_s: u32,
    /// An appointment is due this long before its window opens.
    pub appointment_early_s: u32,
    /// A citizen marked no-show may come back within this window and wait again.
    pub no_show_return_s: u32,
    /// How many times a call may be repeated before the official must decide.
    pub recall_max: u8,
    /// An open counter whose official has had no console connected this long is paused by the
    /// server ("Cán bộ vắng mặt"), and a ticket it had called goes back to its place in line.
    pub console_absent_s: u32,
    /// The wait the center aims for: the floor page flags a service whose longest wait or
    /// estimate goes past it.
    pub wait_target_s: u32,
    /// A citizen may rate within this window after completion.
    pub rating_window_s: u32,
    /// Levels of the satisfaction scale (3 to 5); 1 is the best.
    pub rating_levels: u8,
    /// Most tickets a site issues in one day, all services together.
    pub tickets_per_day_max: u32,
    /// Most tickets waiting at once in a site; the kiosk says "full" past it.
    pub waiting_max: u32,
    /// Most tickets for one person (identity given) per day, and per department per day.
    pub per_person_day_max: u8,
    pub per_person_department_max: u8,
    /// Minutes of the day at which kiosk and phone intake stops until the service's next
    /// session begins: `[11:15, 16:45]` takes no new numbers in the last quarter hour before
    /// lunch and before closing. Staff may still issue. Sorted, at most
    /// [`limits::INTAKE_CLOSES_MAX`].
    pub intake_close: Vec<Minute>,
    /// A number taken from home whose turn came before it was checked in keeps its place this
    /// long; checked in later, it waits from its check-in, behind those who came meanwhile.
    pub remote_hold_s: u32,
    /// Share of each service's daily cap kept for citizens in the hall, in percent: numbers from
    /// home stop at the rest. 100: no numbers from home.
    pub hall_share_pct: u8,
}

/// Default of [`Policy::remote_hold_s`], in minutes.
pub const REMOTE_HOLD_MIN_DEFAULT: u32 = 15;
/// The longest `remote_hold_min` a configuration may set.
pub const REMOTE_HOLD_MIN_MAX: u32 = 120;
/// Default of [`Policy::hall_share_pct`].
pub const HALL_SHARE_PCT_DEFAULT: u8 = 50;

/// Default of [`Policy::console_absent_s`]: two minutes without a console (a browser closed, a
/// network cable pulled), longer than a reload or a short network drop.
pub const CONSOLE_ABSENT_S_DEFAULT: u32 = 120;
/// The shortest `console_absent_s` a configuration may set.
pub const CONSOLE_ABSENT_S_MIN: u32 = 15;
/// Default of [`Policy::wait_target_s`], in minutes: the staffing report's default target too.
pub const WAIT_TARGET_MIN_DEFAULT: u32 = 15;
/// The longest `wait_target_min` a configuration may set (a working morning).
pub const WAIT_TARGET_MIN_MAX: u32 = 240;

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            normal_per_priority: 2,
            max_wait_s: 90 * 60,
            appointment_early_s: 10 * 60,
            no_show_return_s: 30 * 60,
            recall_max: 5,
            console_absent_s: CONSOLE_ABSENT_S_DEFAULT,
            wait_target_s: WAIT_TARGET_MIN_DEFAULT * 60,
            rating_window_s: 30 * 60,
            rating_levels: 4,
            tickets_per_day_max: 10_000,
            waiting_max: 5_000,
            per_person_day_max: 2,
            per_person_department_max: 1,
            intake_close: Vec::new(),
            remote_hold_s: REMOTE_HOLD_MIN_DEFAULT * 60,
            hall_share_pct: HALL_SHARE_PCT_DEFAULT,
        }
    }
}

/// Hard limits the configuration may not exceed, so that every collection in the core is bounded.
pub mod limits {
    pub const SERVICES_MAX: usize = 1_000;
    pub const COUNTERS_MAX: usize = 200;
    pub const DEPARTMENTS_MAX: usize = 100;
    pub const TICKETS_PER_DAY_MAX: u32 = 100_000;
    pub const WAITING_MAX: u32 = 50_000;
    /// Free text (pause reason, transfer note, rating reason), in bytes.
    pub const NOTE_LEN_MAX: usize = 500;
    /// A dossier code (mã hồ sơ), in characters: national codes such as
    /// `000.00.28.H26-241128-0001` are 25.
    pub const DOSSIER_LEN_MAX: usize = 40;
    /// Intake close times per site (`intake_close`): one per session of a day is a handful.
    pub const INTAKE_CLOSES_MAX: usize = 8;
    /// While no counter serving a service is open its wait is not known; a newcomer is then
    /// told the wait may run past the end of the session only within this last stretch of it
    /// (an hour), not from the first minute of the morning before the officials sit down.
    pub const UNKNOWN_WAIT_SESSION_NOTE_S: u32 = 3_600;
}

/// One site (a center or a reception point).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteConfig {
    pub code: Code,
    pub name: Text,
    pub departments: Vec<Department>,
    pub services: Vec<Service>,
    pub counters: Vec<Counter>,
    pub priority_categories: Vec<PriorityCategory>,
    pub policy: Policy,
    /// Closed days (public holidays).
    pub holidays: Vec<Day>,
}

impl SiteConfig {
    pub fn service(&self, code: Code) -> Option<&Service> {
        self.services.iter().find(|s| s.code == code)
    }

    pub fn counter(&self, code: Code) -> Option<&Counter> {
        self.counters.iter().find(|c| c.code == code)
    }

    pub fn department(&self, code: Code) -> Option<&Department> {
        self.departments.iter().find(|d| d.code == code)
    }
}
