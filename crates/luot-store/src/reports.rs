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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
pub struct Report {
    pub site: String,
    pub from: String,
    pub to: String,
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
    pub rated_tickets: Vec<RatedTicket>,
    /// More ratings were given than `rated_tickets` lists.
    pub rated_tickets_truncated: bool,
}

/// One rating, for the list in reports and exports.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
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

/// One ticket as reports need it.
#[derive(Clone, Debug)]
struct Row {
    day: String,
    service: String,
    channel: String,
    priority: bool,
    state: String,
    issued_at: i64,
    called_at: Option<i64>,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    no_show_at: Option<i64>,
    counter: Option<String>,
    official: Option<String>,
    transfers: i64,
    rating: Option<i64>,
    rating_reason: Option<String>,
    number: String,
    dossier: Option<String>,
    rated_at: Option<i64>,
}

fn local(at_ms: i64, offset_s: i32) -> (usize, usize) {
    let s = at_ms.div_euclid(1000) + offset_s as i64;
    let days = s.div_euclid(86_400);
    let hour = (s.rem_euclid(86_400) / 3600) as usize;
    let weekday = (days + 3).rem_euclid(7) as usize; // 1970-01-01 was a Thursday
    (weekday, hour)
}

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Builds a report. Reads at most `REPORT_TICKETS_MAX` tickets.
pub fn report(conn: &Connection, q: &ReportQuery) -> Result<Report, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT day, service, channel, priority IS NOT NULL, state, issued_at, called_at, started_at,
                finished_at, no_show_at, counter, official, transfers, rating, rating_reason,
                number, dossier, rated_at
         FROM tickets WHERE site = ?1 AND day BETWEEN ?2 AND ?3 LIMIT ?4",
    )?;
    let rows: Vec<Row> = stmt
        .query_map(
            params![q.site, q.from, q.to, REPORT_TICKETS_MAX as i64],
            |r| {
                Ok(Row {
                    day: r.get(0)?,
                    service: r.get(1)?,
                    channel: r.get(2)?,
                    priority: r.get(3)?,
                    state: r.get(4)?,
                    issued_at: r.get(5)?,
                    called_at: r.get(6)?,
                    started_at: r.get(7)?,
                    finished_at: r.get(8)?,
                    no_show_at: r.get(9)?,
                    counter: r.get(10)?,
                    official: r.get(11)?,
                    transfers: r.get(12)?,
                    rating: r.get(13)?,
                    rating_reason: r.get(14)?,
                    number: r.get(15)?,
                    dossier: r.get(16)?,
                    rated_at: r.get(17)?,
                })
            },
        )?
        .collect::<Result<_, _>>()?;
    Ok(build(q, &rows))
}

fn key(q: &ReportQuery, r: &Row) -> String {
    match q.by {
        GroupBy::Site => q.site.clone(),
        GroupBy::Department => q
            .departments
            .get(&r.service)
            .cloned()
            .unwrap_or_else(|| r.service.clone()),
        GroupBy::Service => r.service.clone(),
        GroupBy::Counter => r.counter.clone().unwrap_or_else(|| "-".into()),
        GroupBy::Official => r.official.clone().unwrap_or_else(|| "-".into()),
        GroupBy::Hour => format!("{:02}", local(r.issued_at, q.utc_offset_s).1),
        GroupBy::Day => r.day.clone(),
        GroupBy::Weekday => WEEKDAYS[local(r.issued_at, q.utc_offset_s).0].to_string(),
        GroupBy::Channel => r.channel.clone(),
    }
}

fn build(q: &ReportQuery, rows: &[Row]) -> Report {
    let mut groups: BTreeMap<String, Vec<&Row>> = BTreeMap::new();
    for r in rows {
        groups.entry(key(q, r)).or_default().push(r);
    }
    let mut arrivals = vec![vec![0u32; 24]; 7];
    for r in rows {
        let (wd, h) = local(r.issued_at, q.utc_offset_s);
        arrivals[wd][h] += 1;
    }
    Report {
        site: q.site.clone(),
        from: q.from.clone(),
        to: q.to.clone(),
        by: q.by.as_str(),
        target_wait_s: q.target_wait_s,
        rating_levels: q.rating_levels,
        rows: groups
            .into_iter()
            .map(|(k, rs)| summarize(q, k, &rs))
            .collect(),
        total: summarize(q, "total".into(), &rows.iter().collect::<Vec<_>>()),
        arrivals,
        queue_by_hour: queue_by_hour(rows, q.utc_offset_s),
        rated_tickets_truncated: rows.iter().filter(|r| r.rating.is_some()).count()
            > RATINGS_LISTED_MAX,
        rated_tickets: rated_tickets(rows),
    }
}

fn rated_tickets(rows: &[Row]) -> Vec<RatedTicket> {
    let mut rated: Vec<&Row> = rows.iter().filter(|r| r.rating.is_some()).collect();
    rated.sort_by(|a, b| (b.rated_at, &b.day, &b.number).cmp(&(a.rated_at, &a.day, &a.number)));
    rated
        .into_iter()
        .take(RATINGS_LISTED_MAX)
        .map(|r| RatedTicket {
            day: r.day.clone(),
            number: r.number.clone(),
            service: r.service.clone(),
            counter: r.counter.clone(),
            official: r.official.clone(),
            score: r.rating.unwrap_or(0).clamp(0, 255) as u8,
            reason: r.rating_reason.clone(),
            dossier: r.dossier.clone(),
            rated_at_ms: r.rated_at,
        })
        .collect()
}

fn summarize(q: &ReportQuery, key: String, rows: &[&Row]) -> ReportRow {
    let levels = q.rating_levels.clamp(1, 10) as usize;
    let mut out = ReportRow {
        key,
        ratings: vec![0; levels],
        ..ReportRow::default()
    };
    let mut waits = Vec::new();
    let mut services = Vec::new();
    let mut within = 0u32;
    let mut satisfied = 0u32;
    for r in rows {
        out.issued += 1;
        match r.state.as_str() {
            "done" => out.served += 1,
            "no_show" => out.no_show += 1,
            "cancelled" => out.cancelled += 1,
            "expired" | "carried" => out.expired += 1,
            _ => out.open += 1,
        }
        if r.transfers > 0 {
            out.transferred += 1;
        }
        if r.priority {
            out.priority += 1;
        }
        *out.by_channel.entry(r.channel.clone()).or_default() += 1;
        if let Some(c) = r.called_at {
            let w = (c - r.issued_at).max(0) as f64 / 1000.0;
            if w <= q.target_wait_s as f64 {
                within += 1;
            }
            waits.push(w);
        }
        if let (Some(s), Some(f), "done") = (r.started_at, r.finished_at, r.state.as_str()) {
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
            if let Some(reason) = r.rating_reason.as_ref().filter(|s| !s.trim().is_empty()) {
                *out.reasons.entry(reason.trim().to_string()).or_default() += 1;
            }
        }
        let _ = r.no_show_at;
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
    let mut by_day: HashMap<&str, Vec<(i64, i32)>> = HashMap::new();
    for r in rows {
        let left = r.called_at.or(r.finished_at).or(r.no_show_at);
        let e = by_day.entry(r.day.as_str()).or_default();
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
pub struct Staffing {
    pub site: String,
    pub from: String,
    pub to: String,
    pub target_wait_s: u32,
    /// Share of citizens who should wait at most `target_wait_s` (e.g. 0.9).
    pub target_share: f64,
    /// Days in range that had tickets: arrivals per hour are averaged over them.
    pub days: u32,
    pub rows: Vec<StaffingRow>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct StaffingRow {
    pub department: String,
    /// Mean service time from the history (or the configured expectation when none).
    pub mean_service_s: f64,
    /// Per hour of the day (0–23): mean arrivals in that hour.
    pub arrivals_per_hour: Vec<f64>,
    /// Per hour: counters needed (`None`: more than the advice covers).
    pub counters: Vec<Option<u32>>,
    /// The most counters needed in any hour: the morning peak.
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
