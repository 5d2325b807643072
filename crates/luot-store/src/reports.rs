//! Reports from the ticket history: counts, waits, service times, satisfaction, arrivals, queue
//! length, grouped by department, service, counter, official, hour, day or channel. They read the
//! `tickets` table on a read-only connection, so they never hold the writer's lock.

use crate::StoreError;
use rusqlite::{Connection, params};
use std::collections::{BTreeMap, HashMap};

/// Most tickets one report reads: a month of a very busy center is 60,000.
pub const REPORT_TICKETS_MAX: usize = 1_000_000;
/// Longest range of days one report covers.
pub const REPORT_DAYS_MAX: i32 = 366;
/// Most individual ratings a report lists (the newest), each with its dossier code.
pub const RATINGS_LISTED_MAX: usize = 2_000;

/// How a report's rows are grouped; its text form (`as_str`) is the API's `by`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(rename_all = "lowercase"))]
pub enum GroupBy {
    Site,
    Department,
    Service,
    Counter,
    Official,
    Hour,
    Day,
    Weekday,
    Channel,
}

impl GroupBy {
    pub const ALL: [GroupBy; 9] = [
        GroupBy::Site,
        GroupBy::Department,
        GroupBy::Service,
        GroupBy::Counter,
        GroupBy::Official,
        GroupBy::Hour,
        GroupBy::Day,
        GroupBy::Weekday,
        GroupBy::Channel,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Site => "site",
            GroupBy::Department => "department",
            GroupBy::Service => "service",
            GroupBy::Counter => "counter",
            GroupBy::Official => "official",
            GroupBy::Hour => "hour",
            GroupBy::Day => "day",
            GroupBy::Weekday => "weekday",
            GroupBy::Channel => "channel",
        }
    }

    pub fn parse(s: &str) -> Option<GroupBy> {
        GroupBy::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

/// What to report on.
#[derive(Clone, Debug)]
pub struct ReportQuery {
    pub site: String,
    /// First and last day, inclusive, `YYYY-MM-DD`.
    pub from: String,
    pub to: String,
    pub by: GroupBy,
    /// A wait at or under this counts as "served within target".
    pub target_wait_s: u32,
    /// Levels of the satisfaction scale (1 is best). Scores up to `levels / 2` count as satisfied
    /// (the top two of four or five, the top one of three), as SIPAS surveys do.
    pub rating_levels: u8,
    /// The site's offset from UTC, for hours and weekdays (Vietnam: +7 h, no daylight saving).
    pub utc_offset_s: i32,
    /// Service code → department code, from the configuration.
    pub departments: HashMap<String, String>,
}

/// Distribution of a duration, seconds.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Durations {
    pub count: u32,
    pub mean_s: Option<f64>,
    pub median_s: Option<f64>,
    pub p90_s: Option<f64>,
    pub max_s: Option<f64>,
}

impl Durations {
    fn of(mut xs: Vec<f64>) -> Durations {
        if xs.is_empty() {
            return Durations::default();
        }
        xs.sort_by(|a, b| a.total_cmp(b));
        let n = xs.len();
        Durations {
            count: n as u32,
            mean_s: Some(xs.iter().sum::<f64>() / n as f64),
            median_s: Some(percentile(&xs, 0.5)),
            p90_s: Some(percentile(&xs, 0.9)),
            max_s: xs.last().copied(),
        }
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = (p * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

/// One line of a report.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportRow {
    pub key: String,
    pub issued: u32,
    pub served: u32,
    pub no_show: u32,
    pub cancelled: u32,
    pub expired: u32,
    /// Tickets transferred at least once.
    pub transferred: u32,
    /// Still waiting or at a counter when the report was made.
    pub open: u32,
    pub by_channel: BTreeMap<String, u32>,
    pub priority: u32,
    /// From issue to first call.
    pub wait: Durations,
    /// From the start of service to its end.
    pub service: Durations,
    /// Share of called tickets whose wait was within the target, 0..1.
    pub within_target: Option<f64>,
    /// Count of ratings per score, index 0 is score 1 (the best).
    pub ratings: Vec<u32>,
    pub rated: u32,
    /// Share of ratings that are satisfied, 0..1.
    pub satisfied: Option<f64>,
    /// Reasons given with low scores, with counts.
    pub reasons: BTreeMap<String, u32>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report {
    #[cfg_attr(feature = "openapi", schema(value_type = luot_proto::schema::Code))]
    pub site: String,
    #[cfg_attr(feature = "openapi", schema(value_type = luot_proto::schema::Day))]
    pub from: String,
    #[cfg_attr(feature = "openapi", schema(value_type = luot_proto::schema::Day))]
    pub to: String,
    #[cfg_attr(feature = "openapi", schema(value_type = GroupBy))]
    pub by: &'static str,
    pub target_wait_s: u32,
    pub rating_levels: u8,
    pub rows: Vec<ReportRow>,
    pub total: ReportRow,
    /// Arrivals by weekday (Monday first) and hour of day.
    pub arrivals: Vec<Vec<u32>>,
    /// Mean number of people waiting in each hour of the day, over the days in range that had
    /// any ticket.
    pub queue_by_hour: Vec<f64>,
    /// The ratings one by one, newest first, at most `RATINGS_LISTED_MAX`: each tied to its
    /// ticket, official and the dossier code the official attached.
    #[cfg_attr(feature = "openapi", schema(max_items = 2000))]
    pub rated_tickets: Vec<RatedTicket>,
    /// More ratings were given than `rated_tickets` lists.
    pub rated_tickets_truncated: bool,
}

/// One rating, for the list in reports and exports.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RatedTicket {
    pub day: String,
    pub number: String,
    pub service: String,
    pub counter: Option<String>,
    pub official: Option<String>,
    pub score: u8,
    pub reason: Option<String>,
    pub dossier: Option<String>,
    pub rated_at_ms: Option<i64>,
}

/// Distinct strings of one column, each kept once: a month has 60,000 tickets but a few dozen
/// services, counters and days, so rows hold indices instead of allocating a string each.
#[derive(Default)]
struct Names {
    index: HashMap<String, u32>,
    names: Vec<String>,
}

impl Names {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(s.to_string());
        self.index.insert(s.to_string(), i);
        i
    }

    fn name(&self, i: u32) -> &str {
        &self.names[i as usize]
    }
}

const STATES: [&str; 8] = [
    "waiting",
    "called",
    "serving",
    "done",
    "no_show",
    "cancelled",
    "expired",
    "carried",
];
const DONE: u8 = 3;

/// One ticket as reports need it; strings are indices into the report's [`Names`].
#[derive(Clone, Debug)]
struct Row {
    day: u32,
    service: u32,
    channel: u32,
    priority: bool,
    /// Index into `STATES` (`u8::MAX`: unknown).
    state: u8,
    /// When the citizen was in the hall: the issue time, or a number from home's check-in.
    issued_at: i64,
    called_at: Option<i64>,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    no_show_at: Option<i64>,
    counter: Option<u32>,
    official: Option<u32>,
    transfers: i64,
    rating: Option<i64>,
    /// Read only for rated tickets: number, reason, dossier code, time of the rating.
    rated: Option<Box<Rated>>,
}

#[derive(Clone, Debug)]
struct Rated {
    number: String,
    reason: Option<String>,
    dossier: Option<String>,
    at: Option<i64>,
}

/// The strings the rows point to.
#[derive(Default)]
struct Dict {
    days: Names,
    services: Names,
    channels: Names,
    /// Counters and officials.
    people: Names,
}

fn local(at_ms: i64, offset_s: i32) -> (usize, usize) {
    let s = at_ms.div_euclid(1000) + offset_s as i64;
    let days = s.div_euclid(86_400);
    let hour = (s.rem_euclid(86_400) / 3600) as usize;
    let weekday = (days + 3).rem_euclid(7) as usize; // 1970-01-01 was a Thursday
    (weekday, hour)
}

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Builds a report. Reads at most `REPORT_TICKETS_MAX` tickets, in one pass.
pub fn report(conn: &Connection, q: &ReportQuery) -> Result<Report, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT day, service, channel, priority IS NOT NULL, state, coalesce(checked_in_at, issued_at), called_at, started_at,
                finished_at, no_show_at, counter, official, transfers, rating, rating_reason,
                number, dossier, rated_at
         FROM tickets WHERE site = ?1 AND day BETWEEN ?2 AND ?3 LIMIT ?4",
    )?;
    let mut dict = Dict::default();
    let mut rows: Vec<Row> = Vec::new();
    let mut it = stmt.query(params![q.site, q.from, q.to, REPORT_TICKETS_MAX as i64])?;
    while let Some(r) = it.next()? {
        let state = text(r, 4)?.unwrap_or("");
        let rating: Option<i64> = r.get(13)?;
        rows.push(Row {
            day: dict.days.id(text(r, 0)?.unwrap_or("")),
            service: dict.services.id(text(r, 1)?.unwrap_or("")),
            channel: dict.channels.id(text(r, 2)?.unwrap_or("")),
            priority: r.get(3)?,
            state: STATES
                .iter()
                .position(|s| *s == state)
                .map_or(u8::MAX, |i| i as u8),
            issued_at: r.get(5)?,
            called_at: r.get(6)?,
            started_at: r.get(7)?,
            finished_at: r.get(8)?,
            no_show_at: r.get(9)?,
            counter: text(r, 10)?.map(|c| dict.people.id(c)),
            official: text(r, 11)?.map(|o| dict.people.id(o)),
            transfers: r.get(12)?,
            rating,
            rated: match rating {
                Some(_) => Some(Box::new(Rated {
                    number: r.get(15)?,
                    reason: r.get(14)?,
                    dossier: r.get(16)?,
                    at: r.get(17)?,
                })),
                None => None,
            },
        });
    }
    Ok(build(q, &dict, &rows))
}

/// A text column without copying it (`None` for NULL).
fn text<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<&'r str>> {
    match r.get_ref(i)? {
        rusqlite::types::ValueRef::Text(t) => Ok(std::str::from_utf8(t).ok()),
        _ => Ok(None),
    }
}

/// The group a row falls in, as a number (names are made once per group, not per row).
fn group(q: &ReportQuery, dept_of: &[u32], r: &Row) -> u32 {
    match q.by {
        GroupBy::Site => 0,
        GroupBy::Department => dept_of[r.service as usize],
        GroupBy::Service => r.service,
        GroupBy::Counter => r.counter.map_or(u32::MAX, |c| c),
        GroupBy::Official => r.official.map_or(u32::MAX, |o| o),
        GroupBy::Hour => local(r.issued_at, q.utc_offset_s).1 as u32,
        GroupBy::Day => r.day,
        GroupBy::Weekday => local(r.issued_at, q.utc_offset_s).0 as u32,
        GroupBy::Channel => r.channel,
    }
}

fn build(q: &ReportQuery, dict: &Dict, rows: &[Row]) -> Report {
    // Departments, as an index per interned service.
    let mut depts = Names::default();
    let dept_of: Vec<u32> = dict
        .services
        .names
        .iter()
        .map(|s| depts.id(q.departments.get(s).map_or(s.as_str(), String::as_str)))
        .collect();
    let name = |g: u32| -> String {
        match q.by {
            GroupBy::Site => q.site.clone(),
            GroupBy::Department => depts.name(g).to_string(),
            GroupBy::Service => dict.services.name(g).to_string(),
            GroupBy::Counter | GroupBy::Official if g == u32::MAX => "-".into(),
            GroupBy::Counter | GroupBy::Official => dict.people.name(g).to_string(),
            GroupBy::Hour => format!("{g:02}"),
            GroupBy::Day => dict.days.name(g).to_string(),
            GroupBy::Weekday => WEEKDAYS[g as usize].to_string(),
            GroupBy::Channel => dict.channels.name(g).to_string(),
        }
    };
    let mut groups: HashMap<u32, Vec<&Row>> = HashMap::new();
    let mut arrivals = vec![vec![0u32; 24]; 7];
    for r in rows {
        groups.entry(group(q, &dept_of, r)).or_default().push(r);
        let (wd, h) = local(r.issued_at, q.utc_offset_s);
        arrivals[wd][h] += 1;
    }
    // Rows in the order of their keys, as before (the server then orders them as configured).
    let mut named: Vec<(String, Vec<&Row>)> =
        groups.into_iter().map(|(g, rs)| (name(g), rs)).collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let rated = rows.iter().filter(|r| r.rating.is_some()).count();
    Report {
        site: q.site.clone(),
        from: q.from.clone(),
        to: q.to.clone(),
        by: q.by.as_str(),
        target_wait_s: q.target_wait_s,
        rating_levels: q.rating_levels,
        rows: named
            .into_iter()
            .map(|(k, rs)| summarize(q, dict, k, &rs))
            .collect(),
        total: summarize(q, dict, "total".into(), &rows.iter().collect::<Vec<_>>()),
        arrivals,
        queue_by_hour: queue_by_hour(rows, q.utc_offset_s),
        rated_tickets_truncated: rated > RATINGS_LISTED_MAX,
        rated_tickets: rated_tickets(dict, rows),
    }
}

fn rated_tickets(dict: &Dict, rows: &[Row]) -> Vec<RatedTicket> {
    let mut rated: Vec<(&Row, &Rated)> = rows
        .iter()
        .filter_map(|r| r.rated.as_deref().map(|x| (r, x)))
        .collect();
    rated.sort_by(|(ra, a), (rb, b)| {
        (b.at, dict.days.name(rb.day), &b.number).cmp(&(a.at, dict.days.name(ra.day), &a.number))
    });
    rated
        .into_iter()
        .take(RATINGS_LISTED_MAX)
        .map(|(r, x)| RatedTicket {
            day: dict.days.name(r.day).to_string(),
            number: x.number.clone(),
            service: dict.services.name(r.service).to_string(),
            counter: r.counter.map(|c| dict.people.name(c).to_string()),
            official: r.official.map(|o| dict.people.name(o).to_string()),
            score: r.rating.unwrap_or(0).clamp(0, 255) as u8,
            reason: x.reason.clone(),
            dossier: x.dossier.clone(),
            rated_at_ms: x.at,
        })
        .collect()
}

fn summarize(q: &ReportQuery, dict: &Dict, key: String, rows: &[&Row]) -> ReportRow {
    let levels = q.rating_levels.clamp(1, 10) as usize;
    let mut out = ReportRow {
        key,
        ratings: vec![0; levels],
        ..ReportRow::default()
    };
    let mut waits = Vec::with_capacity(rows.len());
    let mut services = Vec::with_capacity(rows.len());
    let mut within = 0u32;
    let mut satisfied = 0u32;
    let mut channels = vec![0u32; dict.channels.names.len()];
    for r in rows {
        out.issued += 1;
        match r.state {
            DONE => out.served += 1,
            4 => out.no_show += 1,
            5 => out.cancelled += 1,
            6 | 7 => out.expired += 1,
            _ => out.open += 1,
        }
        if r.transfers > 0 {
            out.transferred += 1;
        }
        if r.priority {
            out.priority += 1;
        }
        channels[r.channel as usize] += 1;
        if let Some(c) = r.called_at {
            let w = (c - r.issued_at).max(0) as f64 / 1000.0;
            if w <= q.target_wait_s as f64 {
                within += 1;
            }
            waits.push(w);
        }
        if let (Some(s), Some(f), DONE) = (r.started_at, r.finished_at, r.state) {
            services.push((f - s).max(0) as f64 / 1000.0);
        }
        if let Some(score) = r.rating {
            let s = score as usize;
            if (1..=levels).contains(&s) {
                out.ratings[s - 1] += 1;
                out.rated += 1;
                if s <= levels / 2 {
                    satisfied += 1;
                }
            }
            let reason = r.rated.as_ref().and_then(|x| x.reason.as_ref());
            if let Some(reason) = reason.filter(|s| !s.trim().is_empty()) {
                *out.reasons.entry(reason.trim().to_string()).or_default() += 1;
            }
        }
        let _ = r.no_show_at;
    }
    for (i, n) in channels.into_iter().enumerate() {
        if n > 0 {
            out.by_channel
                .insert(dict.channels.name(i as u32).to_string(), n);
        }
    }
    out.within_target = (!waits.is_empty()).then(|| within as f64 / waits.len() as f64);
    out.satisfied = (out.rated > 0).then(|| satisfied as f64 / out.rated as f64);
    out.wait = Durations::of(waits);
    out.service = Durations::of(services);
    out
}

/// Mean number waiting in each hour of the day: a sweep over arrivals (+1) and first calls or
/// departures (−1), sampled every minute.
fn queue_by_hour(rows: &[Row], offset_s: i32) -> Vec<f64> {
    let mut by_day: HashMap<u32, Vec<(i64, i32)>> = HashMap::new();
    for r in rows {
        let left = r.called_at.or(r.finished_at).or(r.no_show_at);
        let e = by_day.entry(r.day).or_default();
        e.push((r.issued_at, 1));
        if let Some(l) = left {
            e.push((l.max(r.issued_at), -1));
        }
    }
    let mut sum = [0f64; 24];
    let mut samples = [0u32; 24];
    for (_, mut changes) in by_day {
        changes.sort_unstable();
        let first = changes[0].0;
        let last = changes.last().map_or(first, |c| c.0);
        let mut i = 0;
        let mut waiting = 0i64;
        let mut t = first - first.rem_euclid(60_000);
        while t <= last {
            while i < changes.len() && changes[i].0 <= t {
                waiting += changes[i].1 as i64;
                i += 1;
            }
            let h = local(t, offset_s).1;
            sum[h] += waiting.max(0) as f64;
            samples[h] += 1;
            t += 60_000;
        }
    }
    (0..24)
        .map(|h| {
            if samples[h] == 0 {
                0.0
            } else {
                sum[h] / samples[h] as f64
            }
        })
        .collect()
}

/// Counters each department needs in each hour of the day to keep a wait target.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Staffing {
    #[cfg_attr(feature = "openapi", schema(value_type = luot_proto::schema::Code))]
    pub site: String,
    #[cfg_attr(feature = "openapi", schema(value_type = luot_proto::schema::Day))]
    pub from: String,
    #[cfg_attr(feature = "openapi", schema(value_type = luot_proto::schema::Day))]
    pub to: String,
    pub target_wait_s: u32,
    /// Share of citizens who should wait at most `target_wait_s` (e.g. 0.9).
    pub target_share: f64,
    /// Days in range that had tickets: arrivals per hour are averaged over them.
    pub days: u32,
    pub rows: Vec<StaffingRow>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StaffingRow {
    #[cfg_attr(feature = "openapi", schema(value_type = luot_proto::schema::Code))]
    pub department: String,
    /// Mean service time from the history (or the configured expectation when none).
    pub mean_service_s: f64,
    /// Per hour of the day (0–23): mean arrivals in that hour.
    #[cfg_attr(feature = "openapi", schema(max_items = 24, min_items = 24))]
    pub arrivals_per_hour: Vec<f64>,
    /// Per hour: counters needed (`None`: more than the advice covers).
    #[cfg_attr(feature = "openapi", schema(max_items = 24, min_items = 24))]
    pub counters: Vec<Option<u32>>,
    /// The most counters needed in any hour: the morning peak.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub peak_counters: Option<u32>,
}

/// Staffing advice from the history in `q`'s range, with the Erlang C model. `expected_s` gives a
/// department's expected service time when the history has none.
pub fn staffing(
    conn: &Connection,
    q: &ReportQuery,
    target_share: f64,
    expected_s: &HashMap<String, f64>,
) -> Result<Staffing, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT day, service, issued_at, service_s, state FROM tickets
         WHERE site = ?1 AND day BETWEEN ?2 AND ?3 AND issued_day = day LIMIT ?4",
    )?;
    let mut days = std::collections::HashSet::new();
    let mut arrivals: BTreeMap<String, [f64; 24]> = BTreeMap::new();
    let mut service: HashMap<String, (f64, u32)> = HashMap::new();
    let mut rows = stmt.query(params![q.site, q.from, q.to, REPORT_TICKETS_MAX as i64])?;
    while let Some(r) = rows.next()? {
        let day: String = r.get(0)?;
        let svc: String = r.get(1)?;
        let issued_at: i64 = r.get(2)?;
        let service_s: Option<i64> = r.get(3)?;
        let state: String = r.get(4)?;
        let dept = q.departments.get(&svc).cloned().unwrap_or(svc);
        days.insert(day);
        arrivals.entry(dept.clone()).or_insert([0.0; 24])[local(issued_at, q.utc_offset_s).1] +=
            1.0;
        if let (Some(s), "done") = (service_s, state.as_str()) {
            let e = service.entry(dept).or_insert((0.0, 0));
            e.0 += s as f64;
            e.1 += 1;
        }
    }
    let n_days = days.len().max(1) as f64;
    let rows = arrivals
        .into_iter()
        .map(|(dept, counts)| {
            let mean_service_s = match service.get(&dept) {
                Some(&(sum, n)) if n > 0 => sum / n as f64,
                _ => expected_s.get(&dept).copied().unwrap_or(600.0),
            };
            let per_hour: Vec<f64> = counts.iter().map(|c| c / n_days).collect();
            let counters: Vec<Option<u32>> = per_hour
                .iter()
                .map(|&l| {
                    luot_core::staffing::counters_needed(
                        l,
                        mean_service_s,
                        q.target_wait_s as f64,
                        target_share,
                    )
                })
                .collect();
            let peak_counters = counters.iter().try_fold(0u32, |m, c| c.map(|c| m.max(c)));
            StaffingRow {
                department: dept,
                mean_service_s,
                arrivals_per_hour: per_hour,
                counters,
                peak_counters,
            }
        })
        .collect();
    Ok(Staffing {
        site: q.site.clone(),
        from: q.from.clone(),
        to: q.to.clone(),
        target_wait_s: q.target_wait_s,
        target_share,
        days: days.len() as u32,
        rows,
    })
}

/// One ticket of a past day as the staffing plan replays it: who came when, for what, and how
/// long the official took.
#[derive(Clone, Debug, PartialEq)]
pub struct DayTicket {
    /// Seconds since local midnight that the citizen was in the hall.
    pub at_s: u32,
    /// The procedure the ticket was first issued for (before any transfer).
    pub service: String,
    pub priority: Option<String>,
    pub channel: String,
    pub state: String,
    /// Call to done, when it was served.
    pub service_s: Option<u32>,
}

/// The tickets issued on `day` (not carried in from the day before), in the order their citizens
/// were in the hall (a number from home from its check-in); cancelled tickets and numbers from
/// home that never came are left out (nobody served them). At most [`REPORT_TICKETS_MAX`].
pub fn day_tickets(
    conn: &Connection,
    site: &str,
    day: &str,
    utc_offset_s: i32,
) -> Result<Vec<DayTicket>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT coalesce(checked_in_at, issued_at), first_service, priority, channel, state, service_s FROM tickets
         WHERE site = ?1 AND day = ?2 AND issued_day = day AND state <> 'cancelled'
           AND (channel <> 'phone' OR checked_in_at IS NOT NULL OR called_at IS NOT NULL)
         ORDER BY coalesce(checked_in_at, issued_at), id LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![site, day, REPORT_TICKETS_MAX as i64], |r| {
        let at_ms: i64 = r.get(0)?;
        let s = (at_ms.div_euclid(1000) + utc_offset_s as i64).rem_euclid(86_400) as u32;
        Ok(DayTicket {
            at_s: s,
            service: r.get(1)?,
            priority: r.get(2)?,
            channel: r.get(3)?,
            state: r.get(4)?,
            service_s: r
                .get::<_, Option<i64>>(5)?
                .map(|v| v.clamp(0, 86_400) as u32),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The day in `from..=to` with the most tickets issued, and how many; `None` when none.
pub fn busiest_day(
    conn: &Connection,
    site: &str,
    from: &str,
    to: &str,
) -> Result<Option<(String, u32)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT day, COUNT(*) AS n FROM tickets
         WHERE site = ?1 AND day BETWEEN ?2 AND ?3 AND issued_day = day
         GROUP BY day ORDER BY n DESC, day DESC LIMIT 1",
    )?;
    let mut rows = stmt.query(params![site, from, to])?;
    Ok(match rows.next()? {
        Some(r) => Some((r.get(0)?, r.get::<_, i64>(1)? as u32)),
        None => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let xs: Vec<f64> = (1..=10).map(|x| x as f64).collect();
        assert_eq!(percentile(&xs, 0.5), 5.0);
        assert_eq!(percentile(&xs, 0.9), 9.0);
        assert_eq!(percentile(&[7.0], 0.9), 7.0);
    }

    #[test]
    fn local_hours_use_the_offset() {
        // 2026-11-30T02:00:00Z is 09:00 on a Monday in Vietnam.
        let at = 1_796_004_000_000;
        assert_eq!(local(at, 7 * 3600), (0, 9));
    }
}

#[cfg(all(test, feature = "openapi"))]
mod schema_tests {
    use super::GroupBy;

    #[test]
    fn the_documented_groupings_are_the_ones_parsed() {
        let schema = serde_json::to_value(<GroupBy as utoipa::PartialSchema>::schema()).unwrap();
        let listed: Vec<&str> = schema["enum"]
            .as_array()
            .expect("enum")
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let parsed: Vec<&str> = GroupBy::ALL.iter().map(|g| g.as_str()).collect();
        assert_eq!(listed, parsed);
    }
}
