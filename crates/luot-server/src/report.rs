//! Reports for managers: the numbers from `luot_store::reports`, labelled with the
//! configuration's names, as a text table, CSV, XLSX or JSON; and their REST endpoints.

use luot_core::Channel;
use luot_proto::config::SiteSettings;
use luot_store::reports::{GroupBy, RatedTicket, Report, ReportQuery, ReportRow, Staffing};
use std::collections::HashMap;

/// Default wait target: "served within 15 minutes".
pub const TARGET_WAIT_S_DEFAULT: u32 = 15 * 60;
/// Default share of citizens who should meet the wait target.
pub const TARGET_SHARE_DEFAULT: f64 = 0.9;

/// The language of a report a person reads: column and sheet names, labels, values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    Vi,
    En,
}

impl Lang {
    /// `vi` or `en`.
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "vi" => Some(Lang::Vi),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn pick<'a>(self, vi: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Vi => vi,
            Lang::En => en,
        }
    }
}

/// What an export needs to say things as the center says them: the site's names, the reader's
/// language, the site's time zone (times are local, not UTC) and officials' display names.
#[derive(Debug)]
pub struct Labels<'a> {
    pub settings: &'a SiteSettings,
    pub lang: Lang,
    pub tz: jiff::tz::TimeZone,
    /// login → display name; a login not in it (an account deleted since) is shown as is.
    pub officials: HashMap<String, String>,
}

impl<'a> Labels<'a> {
    pub fn new(
        settings: &'a SiteSettings,
        lang: Lang,
        officials: HashMap<String, String>,
    ) -> Labels<'a> {
        let tz = jiff::tz::TimeZone::get(&settings.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
        Labels {
            settings,
            lang,
            tz,
            officials,
        }
    }

    fn t<'s>(&self, vi: &'s str, en: &'s str) -> &'s str {
        self.lang.pick(vi, en)
    }

    fn name(&self, t: &'a luot_core::Text) -> &'a str {
        self.lang.pick(&t.vi, &t.en)
    }

    fn official(&self, login: &str) -> String {
        self.officials
            .get(login)
            .cloned()
            .unwrap_or_else(|| login.to_string())
    }

    fn counter(&self, code: &str) -> String {
        label(self, "counter", code)
    }

    /// A moment as the site's wall clock reads it, `YYYY-MM-DD HH:MM:SS`.
    fn local_time(&self, ms: i64) -> String {
        jiff::Timestamp::from_millisecond(ms)
            .map(|t| {
                t.to_zoned(self.tz.clone())
                    .strftime("%Y-%m-%d %H:%M:%S")
                    .to_string()
            })
            .unwrap_or_default()
    }
}

/// Every account's display name by login, for [`Labels::officials`].
pub fn official_names(
    conn: &rusqlite::Connection,
) -> Result<HashMap<String, String>, luot_store::StoreError> {
    use luot_store::Accounts as _;
    Ok(conn
        .users()?
        .into_iter()
        .map(|u| (u.login, u.display_name))
        .collect())
}

/// Builds the query for a site and range.
pub fn query(
    settings: &SiteSettings,
    from: &str,
    to: &str,
    by: GroupBy,
    target_wait_s: u32,
    utc_offset_s: i32,
) -> ReportQuery {
    let core = &settings.core;
    ReportQuery {
        site: core.code.to_string(),
        from: from.into(),
        to: to.into(),
        by,
        target_wait_s,
        rating_levels: core.policy.rating_levels,
        utc_offset_s,
        departments: core
            .services
            .iter()
            .map(|s| (s.code.to_string(), s.department.to_string()))
            .collect(),
    }
}

/// Expected service time of each department (mean of its services), for staffing without history.
pub fn expected_service_s(settings: &SiteSettings) -> HashMap<String, f64> {
    let mut acc: HashMap<String, (f64, u32)> = HashMap::new();
    for s in &settings.core.services {
        let e = acc.entry(s.department.to_string()).or_default();
        e.0 += s.expected_service_s as f64;
        e.1 += 1;
    }
    acc.into_iter()
        .map(|(k, (sum, n))| (k, sum / n as f64))
        .collect()
}

/// The name of a report row's key in the reader's language.
pub fn label(l: &Labels<'_>, by: &str, key: &str) -> String {
    let core = &l.settings.core;
    let code = luot_core::Code::new(key).ok();
    let named = match by {
        "department" => code
            .and_then(|c| core.department(c))
            .map(|d| format!("{} – {}", d.prefix, l.name(&d.name))),
        "service" => code
            .and_then(|c| core.service(c))
            .map(|s| l.name(&s.name).to_string()),
        "counter" => code.and_then(|c| core.counter(c)).map(|c| {
            let name = l.name(&c.name);
            if name.is_empty() {
                format!("{} {}", l.t("Quầy", "Counter"), c.number)
            } else {
                name.to_string()
            }
        }),
        "weekday" => WEEKDAY_KEYS
            .iter()
            .position(|d| *d == key)
            .map(|i| weekday(l.lang, i).to_string()),
        "hour" => Some(format!("{key}:00")),
        "channel" => Some(match key {
            k if k == Channel::Kiosk.as_str() => "Kiosk".into(),
            "phone" => l.t("Điện thoại", "Phone").into(),
            "appointment" => l.t("Đặt lịch", "Appointment").into(),
            "staff" => l.t("Cán bộ cấp", "Issued by staff").into(),
            k => k.into(),
        }),
        _ => None,
    };
    named.unwrap_or_else(|| key.to_string())
}

const WEEKDAY_KEYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn weekday(lang: Lang, i: usize) -> &'static str {
    const VI: [&str; 7] = [
        "Thứ Hai",
        "Thứ Ba",
        "Thứ Tư",
        "Thứ Năm",
        "Thứ Sáu",
        "Thứ Bảy",
        "Chủ Nhật",
    ];
    const EN: [&str; 7] = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    lang.pick(VI[i], EN[i])
}

fn by_name(lang: Lang, by: &str) -> &str {
    match by {
        "department" => lang.pick("lĩnh vực", "department"),
        "service" => lang.pick("thủ tục", "procedure"),
        "counter" => lang.pick("quầy", "counter"),
        "official" => lang.pick("cán bộ", "official"),
        "day" => lang.pick("ngày", "day"),
        "weekday" => lang.pick("thứ", "weekday"),
        "hour" => lang.pick("giờ", "hour"),
        "channel" => lang.pick("kênh", "channel"),
        other => other,
    }
}

/// Puts rows in the configuration's order (departments A, B, C…; counter 2 before 10), other
/// groupings in key order.
pub fn order_rows(settings: &SiteSettings, report: &mut Report) {
    let core = &settings.core;
    let rank = |key: &str| -> usize {
        let pos = match report.by {
            "department" => core.departments.iter().position(|d| d.code.as_str() == key),
            "service" => core.services.iter().position(|s| s.code.as_str() == key),
            "counter" => core.counters.iter().position(|c| c.code.as_str() == key),
            "weekday" => WEEKDAY_KEYS.iter().position(|d| *d == key),
            _ => None,
        };
        pos.unwrap_or(usize::MAX)
    };
    report.rows.sort_by(|a, b| {
        rank(&a.key)
            .cmp(&rank(&b.key))
            .then_with(|| a.key.cmp(&b.key))
    });
}

fn minutes(s: Option<f64>) -> String {
    s.map(|s| format!("{:.1}", s / 60.0)).unwrap_or_default()
}

fn percent(x: Option<f64>) -> String {
    x.map(|x| format!("{:.0}%", x * 100.0)).unwrap_or_default()
}

/// Report columns (Vietnamese, English). The first is the grouping's code, kept for scripts.
const COLUMNS: [(&str, &str); 20] = [
    ("mã", "code"),
    ("tên", "name"),
    ("số phiếu cấp", "issued"),
    ("đã phục vụ", "served"),
    ("vắng mặt", "no-shows"),
    ("đã hủy", "cancelled"),
    ("chuyển đi", "transferred"),
    ("hết hạn", "expired"),
    ("còn chờ", "still open"),
    ("kiosk", "kiosk"),
    ("điện thoại", "phone"),
    ("đặt lịch", "appointment"),
    ("cán bộ cấp", "issued by staff"),
    ("chờ trung bình (phút)", "mean wait (min)"),
    ("chờ trung vị (phút)", "median wait (min)"),
    ("chờ p90 (phút)", "p90 wait (min)"),
    ("chờ lâu nhất (phút)", "longest wait (min)"),
    ("đạt mục tiêu chờ", "within wait target"),
    ("phục vụ trung bình (phút)", "mean service (min)"),
    ("hài lòng", "satisfied"),
];

fn header(lang: Lang, columns: &[(&'static str, &'static str)]) -> Vec<&'static str> {
    columns.iter().map(|(vi, en)| lang.pick(vi, en)).collect()
}

fn cells(l: &Labels<'_>, by: &str, r: &ReportRow) -> Vec<String> {
    let ch = |k: &str| r.by_channel.get(k).copied().unwrap_or(0).to_string();
    vec![
        r.key.clone(),
        if r.key == "total" {
            l.t("Tổng cộng", "Total").into()
        } else {
            label(l, by, &r.key)
        },
        r.issued.to_string(),
        r.served.to_string(),
        r.no_show.to_string(),
        r.cancelled.to_string(),
        r.transferred.to_string(),
        r.expired.to_string(),
        r.open.to_string(),
        ch(Channel::Kiosk.as_str()),
        ch(Channel::Phone.as_str()),
        ch(Channel::Appointment.as_str()),
        ch(Channel::Staff.as_str()),
        minutes(r.wait.mean_s),
        minutes(r.wait.median_s),
        minutes(r.wait.p90_s),
        minutes(r.wait.max_s),
        percent(r.within_target),
        minutes(r.service.mean_s),
        percent(r.satisfied),
    ]
}

/// A plain-text table for the terminal.
pub fn to_table(l: &Labels<'_>, report: &Report) -> String {
    let head: [&str; 11] = match l.lang {
        Lang::Vi => [
            "",
            "cấp",
            "xong",
            "vắng",
            "hủy",
            "chuyển",
            "chờ TB",
            "chờ p90",
            "≤ mục tiêu",
            "phục vụ TB",
            "hài lòng",
        ],
        Lang::En => [
            "",
            "issued",
            "served",
            "no-show",
            "cancel",
            "transfer",
            "wait avg",
            "wait p90",
            "≤ target",
            "service avg",
            "satisfied",
        ],
    };
    let mut lines = vec![format!(
        "{} · {} → {} · {} {} · {} {} {}",
        l.name(&l.settings.core.name),
        report.from,
        report.to,
        l.t("theo", "by"),
        by_name(l.lang, report.by),
        l.t("mục tiêu chờ", "wait target"),
        report.target_wait_s / 60,
        l.t("phút", "min"),
    )];
    let rows: Vec<Vec<String>> = report
        .rows
        .iter()
        .chain(std::iter::once(&report.total))
        .map(|r| {
            let c = cells(l, report.by, r);
            vec![
                c[1].clone(),
                c[2].clone(),
                c[3].clone(),
                c[4].clone(),
                c[5].clone(),
                c[6].clone(),
                c[13].clone(),
                c[15].clone(),
                c[17].clone(),
                c[18].clone(),
                c[19].clone(),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..head.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([head[i].chars().count()])
                .max()
                .unwrap_or(0)
                .min(40)
        })
        .collect();
    let fmt = |r: &[String]| -> String {
        r.iter()
            .enumerate()
            .map(|(i, c)| {
                let c: String = c.chars().take(40).collect();
                let pad = widths[i].saturating_sub(c.chars().count());
                if i == 0 {
                    format!("{c}{}", " ".repeat(pad))
                } else {
                    format!("{}{c}", " ".repeat(pad))
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    lines.push(fmt(&head.iter().map(|s| s.to_string()).collect::<Vec<_>>()));
    for r in &rows {
        lines.push(fmt(r));
    }
    lines.join("\n") + "\n"
}

/// CSV with a header row; starts with a UTF-8 byte order mark so Excel shows Vietnamese right.
pub fn to_csv(l: &Labels<'_>, report: &Report) -> Result<Vec<u8>, String> {
    let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    w.write_record(header(l.lang, &COLUMNS))
        .map_err(|e| e.to_string())?;
    for r in report.rows.iter().chain(std::iter::once(&report.total)) {
        w.write_record(cells(l, report.by, r))
            .map_err(|e| e.to_string())?;
    }
    w.into_inner().map_err(|e| e.to_string())
}

/// Columns of the list of ratings (CSV `ratings-csv` and the XLSX sheet "Đánh giá").
const RATING_COLUMNS: [(&str, &str); 10] = [
    ("ngày", "day"),
    ("số phiếu", "ticket"),
    ("thủ tục", "procedure"),
    ("quầy", "counter"),
    ("cán bộ", "official"),
    ("mức đánh giá", "score"),
    ("hài lòng", "satisfied"),
    ("lý do", "reason"),
    ("mã hồ sơ", "dossier"),
    ("lúc đánh giá", "rated at"),
];

/// Whether a score counts as satisfied: the better half of the scale (1 is the best).
fn satisfied(report: &Report, score: u8) -> bool {
    (score as usize) <= (report.rating_levels as usize) / 2
}

fn rating_cells(l: &Labels<'_>, report: &Report, r: &RatedTicket) -> Vec<String> {
    vec![
        r.day.clone(),
        r.number.clone(),
        label(l, "service", &r.service),
        r.counter
            .as_deref()
            .map(|c| l.counter(c))
            .unwrap_or_default(),
        r.official
            .as_deref()
            .map(|o| l.official(o))
            .unwrap_or_default(),
        r.score.to_string(),
        if satisfied(report, r.score) {
            l.t("có", "yes").into()
        } else {
            l.t("không", "no").into()
        },
        r.reason.clone().unwrap_or_default(),
        r.dossier.clone().unwrap_or_default(),
        r.rated_at_ms.map(|ms| l.local_time(ms)).unwrap_or_default(),
    ]
}

/// The ratings one by one (newest first), each with its ticket, official and dossier code; as
/// CSV with a byte order mark, like [`to_csv`].
pub fn ratings_csv(l: &Labels<'_>, report: &Report) -> Result<Vec<u8>, String> {
    let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    w.write_record(header(l.lang, &RATING_COLUMNS))
        .map_err(|e| e.to_string())?;
    for r in &report.rated_tickets {
        w.write_record(rating_cells(l, report, r))
            .map_err(|e| e.to_string())?;
    }
    w.into_inner().map_err(|e| e.to_string())
}

/// An Excel workbook: the report, arrivals by weekday and hour, queue length by hour, and the
/// staffing advice when given.
pub fn to_xlsx(
    l: &Labels<'_>,
    report: &Report,
    staffing: Option<&Staffing>,
) -> Result<Vec<u8>, String> {
    use rust_xlsxwriter::{Format, Workbook};
    let err = |e: rust_xlsxwriter::XlsxError| e.to_string();
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let ws = wb
        .add_worksheet()
        .set_name(l.t("Báo cáo", "Report"))
        .map_err(err)?;
    ws.write_string_with_format(
        0,
        0,
        format!(
            "{} · {} → {} · {} {}",
            l.name(&l.settings.core.name),
            report.from,
            report.to,
            l.t("theo", "by"),
            by_name(l.lang, report.by)
        ),
        &bold,
    )
    .map_err(err)?;
    for (c, h) in header(l.lang, &COLUMNS).iter().enumerate() {
        ws.write_string_with_format(2, c as u16, *h, &bold)
            .map_err(err)?;
    }
    for (i, r) in report
        .rows
        .iter()
        .chain(std::iter::once(&report.total))
        .enumerate()
    {
        for (c, v) in cells(l, report.by, r).into_iter().enumerate() {
            let row = 3 + i as u32;
            // Numbers stay numbers in Excel, so managers can chart and sum them.
            match v.trim_end_matches('%').parse::<f64>() {
                Ok(n) if c >= 2 && v.ends_with('%') => {
                    ws.write_number(row, c as u16, n / 100.0).map_err(err)?
                }
                Ok(n) if c >= 2 => ws.write_number(row, c as u16, n).map_err(err)?,
                _ => ws.write_string(row, c as u16, v).map_err(err)?,
            };
        }
    }
    let ws = wb
        .add_worksheet()
        .set_name(l.t("Giờ đến", "Arrivals"))
        .map_err(err)?;
    for h in 0..24u16 {
        ws.write_string_with_format(0, h + 1, format!("{h:02}h"), &bold)
            .map_err(err)?;
    }
    for (d, row) in report.arrivals.iter().enumerate() {
        ws.write_string_with_format(d as u32 + 1, 0, weekday(l.lang, d), &bold)
            .map_err(err)?;
        for (h, n) in row.iter().enumerate() {
            ws.write_number(d as u32 + 1, h as u16 + 1, *n as f64)
                .map_err(err)?;
        }
    }
    let ws = wb
        .add_worksheet()
        .set_name(l.t("Hàng chờ theo giờ", "Queue by hour"))
        .map_err(err)?;
    ws.write_string_with_format(0, 0, l.t("giờ", "hour"), &bold)
        .map_err(err)?;
    ws.write_string_with_format(0, 1, l.t("số người chờ TB", "people waiting (mean)"), &bold)
        .map_err(err)?;
    for (h, v) in report.queue_by_hour.iter().enumerate() {
        ws.write_number(h as u32 + 1, 0, h as f64).map_err(err)?;
        ws.write_number(h as u32 + 1, 1, (*v * 10.0).round() / 10.0)
            .map_err(err)?;
    }
    let ws = wb
        .add_worksheet()
        .set_name(l.t("Đánh giá", "Ratings"))
        .map_err(err)?;
    for (c, h) in header(l.lang, &RATING_COLUMNS).iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)
            .map_err(err)?;
    }
    for (i, r) in report.rated_tickets.iter().enumerate() {
        for (c, v) in rating_cells(l, report, r).into_iter().enumerate() {
            let row = 1 + i as u32;
            if c == 5 {
                ws.write_number(row, c as u16, r.score as f64)
                    .map_err(err)?;
            } else {
                ws.write_string(row, c as u16, v).map_err(err)?;
            }
        }
    }
    if let Some(s) = staffing {
        let ws = wb
            .add_worksheet()
            .set_name(l.t("Bố trí cán bộ", "Staffing"))
            .map_err(err)?;
        let title = match l.lang {
            Lang::Vi => format!(
                "Số quầy cần để {:.0}% chờ ≤ {} phút",
                s.target_share * 100.0,
                s.target_wait_s / 60
            ),
            Lang::En => format!(
                "Counters needed for {:.0}% of waits ≤ {} min",
                s.target_share * 100.0,
                s.target_wait_s / 60
            ),
        };
        ws.write_string_with_format(0, 0, title, &bold)
            .map_err(err)?;
        ws.write_string_with_format(1, 0, by_name(l.lang, "department"), &bold)
            .map_err(err)?;
        for h in 0..24u16 {
            ws.write_string_with_format(1, h + 1, format!("{h:02}h"), &bold)
                .map_err(err)?;
        }
        for (i, r) in s.rows.iter().enumerate() {
            ws.write_string(i as u32 + 2, 0, label(l, "department", &r.department))
                .map_err(err)?;
            for (h, c) in r.counters.iter().enumerate() {
                match c {
                    Some(c) => ws
                        .write_number(i as u32 + 2, h as u16 + 1, *c as f64)
                        .map_err(err)?,
                    None => ws
                        .write_string(i as u32 + 2, h as u16 + 1, ">50")
                        .map_err(err)?,
                };
            }
        }
    }
    wb.save_to_buffer().map_err(err)
}

/// A staffing table for the terminal: departments × working hours.
pub fn staffing_table(l: &Labels<'_>, s: &Staffing) -> String {
    let hours: Vec<usize> = (0..24)
        .filter(|&h| s.rows.iter().any(|r| r.arrivals_per_hour[h] > 0.0))
        .collect();
    let mut out = match l.lang {
        Lang::Vi => format!(
            "Bố trí cán bộ: số quầy để {:.0}% chờ ≤ {} phút ({} ngày dữ liệu, {} → {})\n",
            s.target_share * 100.0,
            s.target_wait_s / 60,
            s.days,
            s.from,
            s.to
        ),
        Lang::En => format!(
            "Staffing: counters for {:.0}% of waits ≤ {} min ({} days of history, {} → {})\n",
            s.target_share * 100.0,
            s.target_wait_s / 60,
            s.days,
            s.from,
            s.to
        ),
    };
    out.push_str(&format!("{:<36}", by_name(l.lang, "department")));
    for h in &hours {
        out.push_str(&format!("{:>5}", format!("{h}h")));
    }
    out.push_str(&format!("  {}\n", l.t("cao điểm", "peak")));
    for r in &s.rows {
        let name: String = label(l, "department", &r.department)
            .chars()
            .take(34)
            .collect();
        out.push_str(&format!("{name:<36}"));
        for &h in &hours {
            out.push_str(&format!(
                "{:>5}",
                r.counters[h].map_or(">50".into(), |c| c.to_string())
            ));
        }
        out.push_str(&format!(
            "  {}\n",
            r.peak_counters.map_or(">50".into(), |c| c.to_string())
        ));
    }
    out
}
