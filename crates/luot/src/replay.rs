//! `luot replay`: drive recorded or synthetic days through the real core with virtual time and
//! report how well the waits promised at issue held (docs/wait-estimates.md).
//! `luot simulate-arrivals`: write a realistic synthetic day as an arrivals file.

use anyhow::{Context, bail};
use luot_core::replay::{self, Arrival, DayPlan, DayShape, Figures, Shift, Wanted, day_seed};
use luot_core::{Channel, Code, Day, Site, SiteConfig};
use luot_proto::config::{CenterConfig, DEFAULT_CONFIG_TOML, parse_config};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// Largest arrivals or staffing file read (a day of 20,000 citizens is about 1 MB).
pub const CSV_BYTES_MAX: u64 = 16 << 20;
/// Most arrivals files (days) in one replay.
pub const DAYS_MAX: usize = 366;
/// Longest service time accepted in an arrivals file: a whole working day.
pub const SERVICE_S_MAX: u32 = 12 * 3600;
/// The first replayed day when `--date` is not given: a Monday.
const DEFAULT_DATE: &str = "2026-11-30";

#[derive(clap::Args, Debug)]
pub struct ReplayArgs {
    /// Arrivals CSV (columns: arrival, service or department, priority, service_s, optional
    /// no_show and channel; docs/wait-estimates.md). Repeat for several days: they are
    /// replayed in order and each learns service times from the ones before.
    #[arg(long, required = true)]
    arrivals: Vec<PathBuf>,
    /// Center configuration (TOML); default: the built-in one.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Staffing CSV (columns: from, to, counter, open). Default: every counter open in its
    /// services' opening hours, serving until the hall is empty at the end of each session.
    #[arg(long)]
    staffing: Option<PathBuf>,
    /// Seed for the choices the replay makes (a procedure of a department, ticket tokens).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Date of the first day, YYYY-MM-DD (its weekday picks the opening hours); later files
    /// are the next days the center is open.
    #[arg(long, default_value = DEFAULT_DATE)]
    date: String,
    /// Site code (default: the first site).
    #[arg(long)]
    site: Option<String>,
    /// Write to this file instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct SimulateArrivalsArgs {
    /// Center configuration (TOML); default: the built-in one.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Date of the day, YYYY-MM-DD (its weekday picks the opening hours).
    #[arg(long, default_value = DEFAULT_DATE)]
    date: String,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Share of each department's counter time in use over the day (0.05–1.5).
    #[arg(long, default_value_t = 0.75)]
    load: f64,
    /// Site code (default: the first site).
    #[arg(long)]
    site: Option<String>,
    /// The arrivals CSV to write.
    #[arg(long, short)]
    output: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct StaffingPlanArgs {
    /// One expected day of arrivals (the CSV `luot replay` reads; docs/wait-estimates.md).
    #[arg(long)]
    arrivals: PathBuf,
    /// Center configuration (TOML); default: the built-in one.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Officials available: most counters open at once (default: every counter).
    #[arg(long)]
    officials: Option<u32>,
    /// The p90 wait to keep, minutes (default: the site's `wait_target_min`).
    #[arg(long)]
    target_min: Option<u32>,
    /// Seed of the replays (the same as `luot replay --seed` to check the plan).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write the plan as a staffing CSV (from, to, counter, open) for `luot replay --staffing`.
    #[arg(long, short)]
    output: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = PlanFormat::Table)]
    format: PlanFormat,
    /// Date of the day, YYYY-MM-DD (its weekday picks the opening hours).
    #[arg(long, default_value = DEFAULT_DATE)]
    date: String,
    /// Site code (default: the first site).
    #[arg(long)]
    site: Option<String>,
}

#[derive(Copy, Clone, Debug, clap::ValueEnum)]
pub enum PlanFormat {
    Table,
    Json,
}

#[derive(Copy, Clone, Debug, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

fn load_center(path: Option<&Path>) -> anyhow::Result<CenterConfig> {
    let (text, name) = match path {
        Some(p) => (
            std::fs::read_to_string(p)
                .with_context(|| format!("không đọc được / cannot read {}", p.display()))?,
            p.display().to_string(),
        ),
        None => (
            DEFAULT_CONFIG_TOML.to_string(),
            "default.toml (built in)".into(),
        ),
    };
    parse_config(&text, &name)
        .map_err(|e| anyhow::anyhow!("cấu hình có lỗi / the configuration has errors:\n{e}"))
}

fn pick_site<'a>(
    center: &'a CenterConfig,
    code: Option<&str>,
) -> anyhow::Result<&'a luot_proto::config::SiteSettings> {
    match code {
        None => Ok(&center.sites[0]),
        Some(c) => center
            .sites
            .iter()
            .find(|s| s.core.code.as_str() == c)
            .with_context(|| format!("không có site {c:?} / no site {c:?} in the configuration")),
    }
}

fn parse_date(s: &str) -> anyhow::Result<Day> {
    luot_proto::parse_day(s)
        .with_context(|| format!("--date: {s:?} không phải ngày / is not a date (YYYY-MM-DD)"))
}

/// The UTC offset of the site's zone at noon of `day`.
fn offset_at(tz: &jiff::tz::TimeZone, day: Day) -> anyhow::Result<i32> {
    Ok(luot_server::clock::utc_offset_at_noon(tz, day)?)
}

fn read_csv_text(path: &Path) -> anyhow::Result<String> {
    let len = std::fs::metadata(path)
        .with_context(|| format!("không đọc được / cannot read {}", path.display()))?
        .len();
    if len > CSV_BYTES_MAX {
        bail!(
            "{}: {len} byte, quá {CSV_BYTES_MAX} / {len} bytes, more than {CSV_BYTES_MAX}",
            path.display()
        );
    }
    std::fs::read_to_string(path)
        .with_context(|| format!("không đọc được / cannot read {}", path.display()))
}

/// A CSV file's rows as (line, fields by header name), with errors naming file, line, column.
struct Table {
    file: String,
    headers: Vec<String>,
    rows: Vec<(u64, csv::StringRecord)>,
}

impl Table {
    fn read(path: &Path, known: &[&str], required: &[&str]) -> anyhow::Result<Table> {
        let text = read_csv_text(path)?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let file = path.display().to_string();
        let mut r = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .comment(Some(b'#'))
            .from_reader(text.as_bytes());
        let headers: Vec<String> = r
            .headers()
            .map_err(|e| anyhow::anyhow!("{file}: {e}"))?
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect();
        for (i, h) in headers.iter().enumerate() {
            if !known.contains(&h.as_str()) {
                bail!(
                    "{file}:1:{}: cột không rõ {h:?} (các cột: {}) / unknown column {h:?} (columns: {})",
                    i + 1,
                    known.join(", "),
                    known.join(", ")
                );
            }
        }
        for need in required {
            if !headers.iter().any(|h| h == need) {
                bail!("{file}:1: thiếu cột {need:?} / missing column {need:?}");
            }
        }
        let mut rows = Vec::new();
        for rec in r.records() {
            let rec = rec.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                anyhow::anyhow!("{file}:{line}: CSV hỏng / malformed CSV: {e}")
            })?;
            let line = rec.position().map_or(0, |p| p.line());
            if rows.len() >= replay::ARRIVALS_MAX {
                bail!(
                    "{file}:{line}: quá {} dòng / more than {} rows",
                    replay::ARRIVALS_MAX,
                    replay::ARRIVALS_MAX
                );
            }
            rows.push((line, rec));
        }
        Ok(Table {
            file,
            headers,
            rows,
        })
    }

    /// The field `name` of row `k` (empty when the column is absent), with its column number.
    fn get<'a>(&self, rec: &'a csv::StringRecord, name: &str) -> (&'a str, usize) {
        match self.headers.iter().position(|h| h == name) {
            Some(i) => (rec.get(i).unwrap_or(""), i + 1),
            None => ("", 0),
        }
    }

    fn err(&self, line: u64, col: usize, name: &str, vi: String, en: String) -> anyhow::Error {
        anyhow::anyhow!("{}:{line}:{col}: {name}: {vi} / {en}", self.file)
    }
}

/// `HH:MM:SS` or `HH:MM` as seconds since midnight.
fn parse_clock(s: &str) -> Option<u32> {
    let parts: Vec<&str> = s.split(':').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.len() != 2) {
        return None;
    }
    let n: Vec<u32> = parts
        .iter()
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let (h, m, sec) = (n[0], n[1], n.get(2).copied().unwrap_or(0));
    (h < 24 && m < 60 && sec < 60).then_some(h * 3600 + m * 60 + sec)
}

fn hhmm(s: u32) -> String {
    format!("{:02}:{:02}", s / 3600, s / 60 % 60)
}

fn clock_text(s: u32) -> String {
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

pub fn read_arrivals(path: &Path, cfg: &SiteConfig) -> anyhow::Result<Vec<Arrival>> {
    let t = Table::read(
        path,
        &[
            "arrival",
            "service",
            "department",
            "priority",
            "service_s",
            "no_show",
            "channel",
        ],
        &["arrival", "service_s"],
    )?;
    if !t
        .headers
        .iter()
        .any(|h| h == "service" || h == "department")
    {
        bail!(
            "{}:1: cần cột \"service\" hoặc \"department\" / needs a \"service\" or a \"department\" column",
            t.file
        );
    }
    let mut out = Vec::with_capacity(t.rows.len());
    for (line, rec) in &t.rows {
        let line = *line;
        let (v, c) = t.get(rec, "arrival");
        let at_s = parse_clock(v).ok_or_else(|| {
            t.err(
                line,
                c,
                "arrival",
                format!("{v:?} không phải giờ HH:MM:SS"),
                format!("{v:?} is not a time HH:MM:SS"),
            )
        })?;
        let (sv, sc) = t.get(rec, "service");
        let (dv, dc) = t.get(rec, "department");
        let wanted = if !sv.is_empty() {
            let code = Code::new(sv).ok().filter(|c| cfg.service(*c).is_some());
            Wanted::Service(code.ok_or_else(|| {
                t.err(
                    line,
                    sc,
                    "service",
                    format!("không có thủ tục {sv:?} trong cấu hình"),
                    format!("no service {sv:?} in the configuration"),
                )
            })?)
        } else if !dv.is_empty() {
            let d = cfg
                .departments
                .iter()
                .find(|d| d.code.as_str() == dv || d.prefix.as_str().eq_ignore_ascii_case(dv));
            Wanted::Department(d.map(|d| d.code).ok_or_else(|| {
                t.err(
                    line,
                    dc,
                    "department",
                    format!("không có lĩnh vực (mã hoặc chữ cái) {dv:?}"),
                    format!("no department (code or prefix) {dv:?}"),
                )
            })?)
        } else {
            let col = if sc > 0 { sc } else { dc };
            return Err(t.err(
                line,
                col,
                "service",
                "trống: cần service hoặc department".into(),
                "empty: a service or a department is needed".into(),
            ));
        };
        let (pv, pc) = t.get(rec, "priority");
        let priority = if pv.is_empty() {
            None
        } else {
            let code = Code::new(pv)
                .ok()
                .filter(|p| cfg.priority_categories.iter().any(|c| c.code == *p));
            Some(code.ok_or_else(|| {
                t.err(
                    line,
                    pc,
                    "priority",
                    format!("không có đối tượng ưu tiên {pv:?}"),
                    format!("no priority category {pv:?}"),
                )
            })?)
        };
        let (v, c) = t.get(rec, "service_s");
        let service_s = v
            .parse::<u32>()
            .ok()
            .filter(|s| (1..=SERVICE_S_MAX).contains(s))
            .ok_or_else(|| {
                t.err(
                    line,
                    c,
                    "service_s",
                    format!("{v:?} không phải số giây 1–{SERVICE_S_MAX}"),
                    format!("{v:?} is not a number of seconds 1–{SERVICE_S_MAX}"),
                )
            })?;
        let (v, c) = t.get(rec, "no_show");
        let no_show = match v {
            "" | "0" => false,
            "1" => true,
            _ => {
                return Err(t.err(
                    line,
                    c,
                    "no_show",
                    format!("{v:?}: cần 0 hoặc 1"),
                    format!("{v:?}: must be 0 or 1"),
                ));
            }
        };
        let (v, c) = t.get(rec, "channel");
        let channel = if v.is_empty() {
            Channel::Kiosk
        } else {
            Channel::parse(v).ok_or_else(|| {
                t.err(
                    line,
                    c,
                    "channel",
                    format!("{v:?}: cần kiosk, phone, appointment hoặc staff"),
                    format!("{v:?}: must be kiosk, phone, appointment or staff"),
                )
            })?
        };
        out.push(Arrival {
            at_s,
            wanted,
            priority,
            service_s,
            no_show,
            channel,
        });
    }
    Ok(out)
}

pub fn read_staffing(path: &Path, cfg: &SiteConfig) -> anyhow::Result<Vec<Shift>> {
    let t = Table::read(
        path,
        &["from", "to", "counter", "open"],
        &["from", "to", "counter"],
    )?;
    let mut out = Vec::with_capacity(t.rows.len());
    for (line, rec) in &t.rows {
        let line = *line;
        let clock = |name: &str| {
            let (v, c) = t.get(rec, name);
            parse_clock(v).ok_or_else(|| {
                t.err(
                    line,
                    c,
                    name,
                    format!("{v:?} không phải giờ HH:MM"),
                    format!("{v:?} is not a time HH:MM"),
                )
            })
        };
        let from_s = clock("from")?;
        let to_s = clock("to")?;
        if to_s <= from_s {
            let (_, c) = t.get(rec, "to");
            return Err(t.err(
                line,
                c,
                "to",
                "phải sau from".into(),
                "must be after from".into(),
            ));
        }
        let (v, c) = t.get(rec, "counter");
        let counter = Code::new(v)
            .ok()
            .filter(|k| cfg.counter(*k).is_some())
            .or_else(|| {
                v.parse::<u16>()
                    .ok()
                    .and_then(|n| cfg.counters.iter().find(|k| k.number == n))
                    .map(|k| k.code)
            })
            .ok_or_else(|| {
                t.err(
                    line,
                    c,
                    "counter",
                    format!("không có quầy {v:?} (mã hoặc số)"),
                    format!("no counter {v:?} (code or number)"),
                )
            })?;
        let (v, c) = t.get(rec, "open");
        let open = match v {
            "" | "1" => true,
            "0" => false,
            _ => {
                return Err(t.err(
                    line,
                    c,
                    "open",
                    format!("{v:?}: cần 0 hoặc 1"),
                    format!("{v:?}: must be 0 or 1"),
                ));
            }
        };
        out.push(Shift {
            from_s,
            to_s,
            counter,
            open,
        });
    }
    Ok(out)
}

pub fn replay_cmd(a: ReplayArgs) -> anyhow::Result<()> {
    if a.arrivals.len() > DAYS_MAX {
        bail!("quá {DAYS_MAX} tệp --arrivals / more than {DAYS_MAX} --arrivals files");
    }
    let center = load_center(a.config.as_deref())?;
    let settings = pick_site(&center, a.site.as_deref())?;
    let cfg = &settings.core;
    let tz = jiff::tz::TimeZone::get(&settings.time_zone)?;
    let staffing = match &a.staffing {
        Some(p) => Some(read_staffing(p, cfg)?),
        None => None,
    };
    let mut day = parse_date(&a.date)?;
    let mut site = Site::new(cfg.clone());
    let mut days = Vec::new();
    let mut all = Vec::new();
    let mut refused = 0usize;
    for (k, path) in a.arrivals.iter().enumerate() {
        let arrivals = read_arrivals(path, cfg)?;
        if k > 0 {
            day = next_open_day(cfg, day);
        }
        let plan = DayPlan {
            day,
            utc_offset_s: offset_at(&tz, day)?,
            arrivals: &arrivals,
            staffing: staffing.as_deref(),
            seed: day_seed(a.seed, k),
        };
        let r = replay::replay_day(&mut site, &plan, replay::server_estimate);
        refused += r.refused.len();
        for (i, why) in r.refused.iter().take(5) {
            let (vi, en) = why.message();
            eprintln!(
                "{}: {}: không lấy được số / no ticket: {vi} / {en}",
                path.display(),
                clock_text(arrivals[*i].at_s),
            );
        }
        let halves = replay::figures_by_half_hour(cfg, &r.outcomes);
        days.push((
            day,
            path.clone(),
            Figures::of(&r.outcomes),
            r.refused.len(),
            halves,
        ));
        all.extend(r.outcomes);
    }
    let (total, per) = replay::figures_by_department(cfg, &all);
    let out = match a.format {
        Format::Json => {
            let mut v = figures_json(&total);
            v["seed"] = json!(a.seed);
            v["refused"] = json!(refused);
            v["days"] = days
                .iter()
                .map(|(d, p, f, r, halves)| {
                    let mut v = figures_json(f);
                    v["date"] = json!(d.to_string());
                    v["arrivals"] = json!(p.display().to_string());
                    v["refused"] = json!(r);
                    v["half_hours"] = halves
                        .iter()
                        .map(|(from, dept, f)| {
                            json!({
                                "from": hhmm(*from),
                                "department": dept.to_string(),
                                "tickets": f.tickets,
                                "served": f.served,
                                "median_wait_s": f.median_wait_s,
                                "p90_wait_s": f.p90_wait_s,
                            })
                        })
                        .collect();
                    v
                })
                .collect();
            v["departments"] = per
                .iter()
                .map(|(d, f)| (d.to_string(), figures_json(f)))
                .collect::<serde_json::Map<_, _>>()
                .into();
            let mut s = serde_json::to_string_pretty(&v)?;
            s.push('\n');
            s
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(CSV_COLUMNS)?;
            w.write_record(csv_row("all", &total))?;
            for (d, f) in &per {
                w.write_record(csv_row(d.as_str(), f))?;
            }
            String::from_utf8(w.into_inner()?)?
        }
        Format::Table => {
            let mut s = format!(
                "Chạy lại {} ngày, {} phiếu, {} không lấy được số (seed {}) / Replayed {} day(s), {} tickets, {} refused (seed {})\n\n",
                days.len(),
                total.tickets,
                refused,
                a.seed,
                days.len(),
                total.tickets,
                refused,
                a.seed
            );
            s.push_str(&format!(
                "{:<22} {:>7} {:>7} {:>7} {:>7} {:>8} {:>9} {:>8} {:>9} {:>9}\n",
                "lĩnh vực/department",
                "phiếu",
                "đã gọi",
                "có k.",
                "chưa đủ",
                "trong k.",
                "độ rộng",
                "sai số",
                "chờ TV",
                "chờ p90"
            ));
            s.push_str(&format!(
                "{:<22} {:>7} {:>7} {:>7} {:>7} {:>8} {:>9} {:>8} {:>9} {:>9}\n",
                "",
                "tickets",
                "called",
                "ranged",
                "no data",
                "inside",
                "width",
                "error",
                "wait p50",
                "wait p90"
            ));
            for (name, f) in std::iter::once(("all / tất cả".to_string(), &total))
                .chain(per.iter().map(|(d, f)| (d.to_string(), f)))
            {
                s.push_str(&format!(
                    "{:<22} {:>7} {:>7} {:>7} {:>7} {:>8} {:>9} {:>8} {:>9} {:>9}\n",
                    name,
                    f.tickets,
                    f.served,
                    f.with_range,
                    f.uncertain,
                    share(f.inside_range_share),
                    minutes(f.median_width_s),
                    share(f.median_abs_error_share),
                    minutes(f.median_wait_s),
                    minutes(f.p90_wait_s)
                ));
            }
            s.push_str(&format!(
                "\nMục tiêu / targets: trong khoảng / inside ≥ 80%, độ rộng / width ≤ max(15 phút, ½ chờ TV), sai số / error ≤ 25%: {}\n",
                match total.check_targets() {
                    Ok(()) => "đạt / met".to_string(),
                    Err(e) => format!("chưa đạt / not met ({e})"),
                }
            ));
            s
        }
    };
    match &a.output {
        Some(p) => std::fs::write(p, out).with_context(|| format!("writing {}", p.display()))?,
        None => print!("{out}"),
    }
    Ok(())
}

const CSV_COLUMNS: [&str; 10] = [
    "scope",
    "tickets",
    "served",
    "with_range",
    "uncertain",
    "inside_range_share",
    "median_width_s",
    "median_abs_error_share",
    "median_wait_s",
    "p90_wait_s",
];

fn csv_row(scope: &str, f: &Figures) -> Vec<String> {
    let opt = |v: Option<String>| v.unwrap_or_default();
    vec![
        scope.to_string(),
        f.tickets.to_string(),
        f.served.to_string(),
        f.with_range.to_string(),
        f.uncertain.to_string(),
        opt(f.inside_range_share.map(|x| format!("{x:.4}"))),
        opt(f.median_width_s.map(|x| x.to_string())),
        opt(f.median_abs_error_share.map(|x| format!("{x:.4}"))),
        opt(f.median_wait_s.map(|x| x.to_string())),
        opt(f.p90_wait_s.map(|x| x.to_string())),
    ]
}

fn figures_json(f: &Figures) -> Value {
    json!({
        "tickets": f.tickets,
        "served": f.served,
        "with_range": f.with_range,
        "uncertain": f.uncertain,
        "inside_range_share": f.inside_range_share,
        "median_width_s": f.median_width_s,
        "median_abs_error_share": f.median_abs_error_share,
        "median_wait_s": f.median_wait_s,
        "p90_wait_s": f.p90_wait_s,
    })
}

fn share(x: Option<f64>) -> String {
    x.map_or("–".into(), |x| format!("{:.0}%", x * 100.0))
}

fn minutes(s: Option<u32>) -> String {
    s.map_or("–".into(), |s| format!("{:.1} ph", s as f64 / 60.0))
}

/// The next day after `day` on which some service of `cfg` is open and that is no holiday.
fn next_open_day(cfg: &SiteConfig, day: Day) -> Day {
    let mut d = day.next();
    for _ in 0..14 {
        let open = cfg
            .services
            .iter()
            .any(|s| !s.hours.days[d.weekday() as usize].is_empty());
        if open && !cfg.holidays.contains(&d) {
            return d;
        }
        d = d.next();
    }
    d
}

pub fn simulate_arrivals_cmd(a: SimulateArrivalsArgs) -> anyhow::Result<()> {
    if !(0.05..=1.5).contains(&a.load) {
        bail!("--load phải trong 0,05–1,5 / must be within 0.05–1.5");
    }
    let center = load_center(a.config.as_deref())?;
    let settings = pick_site(&center, a.site.as_deref())?;
    let day = parse_date(&a.date)?;
    let mut shape = DayShape::new(day, a.seed);
    shape.load = a.load;
    let arrivals = replay::realistic_day(&settings.core, &shape);
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "arrival",
        "service",
        "priority",
        "service_s",
        "no_show",
        "channel",
    ])?;
    for x in &arrivals {
        let service = match x.wanted {
            Wanted::Service(c) | Wanted::Department(c) => c,
        };
        w.write_record([
            clock_text(x.at_s),
            service.to_string(),
            x.priority.map(|p| p.to_string()).unwrap_or_default(),
            x.service_s.to_string(),
            (x.no_show as u8).to_string(),
            x.channel.as_str().to_string(),
        ])?;
    }
    std::fs::write(&a.output, w.into_inner()?)
        .with_context(|| format!("writing {}", a.output.display()))?;
    eprintln!(
        "{}: {} lượt đến ngày {day} / {} arrivals on {day}",
        a.output.display(),
        arrivals.len(),
        arrivals.len()
    );
    Ok(())
}

/// Longest `--target-min` (as the configuration's `wait_target_min`).
const TARGET_MIN_MAX: u32 = luot_core::config::WAIT_TARGET_MIN_MAX;

pub fn staffing_plan_cmd(a: StaffingPlanArgs) -> anyhow::Result<()> {
    let center = load_center(a.config.as_deref())?;
    let settings = pick_site(&center, a.site.as_deref())?;
    let cfg = &settings.core;
    let tz = jiff::tz::TimeZone::get(&settings.time_zone)?;
    let officials = a.officials.unwrap_or(cfg.counters.len() as u32);
    if officials == 0 {
        bail!("--officials phải ít nhất 1 / must be at least 1");
    }
    let target_s = match a.target_min {
        Some(m) if (1..=TARGET_MIN_MAX).contains(&m) => m * 60,
        Some(m) => bail!(
            "--target-min {m}: phải trong 1–{TARGET_MIN_MAX} phút / must be within 1–{TARGET_MIN_MAX} minutes"
        ),
        None => cfg.policy.wait_target_s,
    };
    let day = parse_date(&a.date)?;
    let arrivals = read_arrivals(&a.arrivals, cfg)?;
    if arrivals.is_empty() {
        bail!(
            "{}: không có lượt đến nào / no arrivals",
            a.arrivals.display()
        );
    }
    let req = luot_core::plan::PlanRequest {
        cfg,
        day,
        utc_offset_s: offset_at(&tz, day)?,
        arrivals: &arrivals,
        officials,
        target_s,
        seed: day_seed(a.seed, 0),
    };
    let plan = luot_core::plan::plan_staffing(&req);
    if let Some(p) = &a.output {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["from", "to", "counter", "open"])?;
        for r in plan.shifts(cfg) {
            w.write_record([
                hhmm(r.from_s),
                hhmm(r.to_s),
                r.counter.to_string(),
                "1".into(),
            ])?;
        }
        std::fs::write(p, w.into_inner()?)
            .with_context(|| format!("không ghi được / cannot write {}", p.display()))?;
    }
    let open_at = |k: usize| -> Vec<&luot_core::Counter> {
        plan.open[k]
            .iter()
            .enumerate()
            .filter(|(_, o)| **o)
            .map(|(c, _)| &cfg.counters[c])
            .collect()
    };
    let minutes1 = |s: u32| format!("{:.1}", s as f64 / 60.0);
    let missed = plan.checks.iter().filter(|c| !c.met).count();
    let out = match a.format {
        PlanFormat::Json => {
            let v = json!({
                "date": day.to_string(),
                "arrivals": a.arrivals.display().to_string(),
                "seed": a.seed,
                "officials": officials,
                "target_s": target_s,
                "replays": plan.replays,
                "refused": plan.refused,
                "all_met": plan.all_met(),
                "most_open": plan.most_open(),
                "plan": (0..plan.open.len()).map(|k| {
                    let from = plan.first_s + k as u32 * replay::HALF_HOUR_S;
                    json!({
                        "from": hhmm(from),
                        "to": hhmm(from + replay::HALF_HOUR_S),
                        "counters": open_at(k).iter().map(|c| c.code.to_string()).collect::<Vec<_>>(),
                    })
                }).collect::<Vec<_>>(),
                "half_hours": plan.checks.iter().map(|c| json!({
                    "from": hhmm(c.from_s),
                    "department": c.department.to_string(),
                    "tickets": c.tickets,
                    "served": c.served,
                    "counters_open": c.counters_open,
                    "p90_wait_s": c.p90_wait_s,
                    "met": c.met,
                    "over_s": c.over_s,
                    "shortfall": c.shortfall.map(|s| s.code()),
                })).collect::<Vec<_>>(),
            });
            let mut s = serde_json::to_string_pretty(&v)?;
            s.push('\n');
            s
        }
        PlanFormat::Table => {
            let mut s = format!(
                "Kế hoạch phân ca ngày {day}: {} lượt đến, {officials} cán bộ, mục tiêu 90% chờ ≤ {} phút (seed {}, {} lần chạy thử)\n\
                 Staffing plan for {day}: {} arrivals, {officials} officials, target 90% wait ≤ {} min (seed {}, {} replays)\n\n",
                arrivals.len(),
                target_s / 60,
                a.seed,
                plan.replays,
                arrivals.len(),
                target_s / 60,
                a.seed,
                plan.replays,
            );
            s.push_str("giờ / time     quầy mở / open counters\n");
            for k in 0..plan.open.len() {
                let from = plan.first_s + k as u32 * replay::HALF_HOUR_S;
                let cs = open_at(k);
                s.push_str(&format!(
                    "{}–{}  {:>2}: {}\n",
                    hhmm(from),
                    hhmm(from + replay::HALF_HOUR_S),
                    cs.len(),
                    cs.iter()
                        .map(|c| c.number.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            s.push_str(&format!(
                "\n{:<6} {:<22} {:>7} {:>6} {:>9}  {}\n{:<6} {:<22} {:>7} {:>6} {:>9}  {}\n",
                "giờ",
                "lĩnh vực",
                "phiếu",
                "quầy",
                "chờ p90",
                "so với mục tiêu",
                "time",
                "department",
                "tickets",
                "open",
                "wait p90",
                "against the target"
            ));
            for c in &plan.checks {
                let verdict = if c.met {
                    "đạt / met".to_string()
                } else {
                    let (vi, en) = c.shortfall.map_or(("", ""), |s| s.message());
                    match c.over_s {
                        Some(o) => format!(
                            "KHÔNG ĐẠT, quá {} phút ({vi}) / MISSED by {} min ({en})",
                            minutes1(o),
                            minutes1(o)
                        ),
                        None => format!(
                            "KHÔNG ĐẠT, {} người chưa được gọi ({vi}) / MISSED, {} never called ({en})",
                            c.tickets - c.served,
                            c.tickets - c.served
                        ),
                    }
                };
                s.push_str(&format!(
                    "{:<6} {:<22} {:>7} {:>6} {:>9}  {verdict}\n",
                    hhmm(c.from_s),
                    c.department.to_string(),
                    c.tickets,
                    c.counters_open,
                    minutes(c.p90_wait_s),
                ));
            }
            s.push_str(&if missed == 0 {
                "\nMọi nửa giờ đạt mục tiêu / every half hour meets the target\n".to_string()
            } else {
                format!(
                    "\n{missed} nửa giờ × lĩnh vực không đạt mục tiêu / {missed} half hour × department(s) miss the target\n"
                )
            });
            if plan.refused > 0 {
                s.push_str(&format!(
                    "{} lượt đến không lấy được số (ngoài giờ, ...) / {} arrivals got no ticket (outside hours, ...)\n",
                    plan.refused, plan.refused
                ));
            }
            s
        }
    };
    print!("{out}");
    Ok(())
}
