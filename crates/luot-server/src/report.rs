//! Reports for managers: the numbers from `luot_store::reports`, labelled with the
//! configuration's names, as a text table, CSV, XLSX or JSON; and their REST endpoints.

use crate::App;
use crate::dispatch::ApiError;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use luot_proto::config::SiteSettings;
use luot_store::reports::{GroupBy, RatedTicket, Report, ReportQuery, ReportRow, Staffing};
use std::collections::HashMap;
use std::sync::Arc;

/// Default wait target: "served within 15 minutes".
pub const TARGET_WAIT_S_DEFAULT: u32 = 15 * 60;
/// Default share of citizens who should meet the wait target.
pub const TARGET_SHARE_DEFAULT: f64 = 0.9;

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

/// The Vietnamese name of a report row's key.
pub fn label(settings: &SiteSettings, by: &str, key: &str) -> String {
    let core = &settings.core;
    let code = luot_core::Code::new(key).ok();
    let named = match by {
        "department" => code
            .and_then(|c| core.department(c))
            .map(|d| format!("{} – {}", d.prefix, d.name.vi)),
        "service" => code
            .and_then(|c| core.service(c))
            .map(|s| s.name.vi.clone()),
        "counter" => code
            .and_then(|c| core.counter(c))
            .map(|c| format!("Quầy {}", c.number)),
        "weekday" => ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            .iter()
            .position(|d| *d == key)
            .map(|i| {
                [
                    "Thứ Hai",
                    "Thứ Ba",
                    "Thứ Tư",
                    "Thứ Năm",
                    "Thứ Sáu",
                    "Thứ Bảy",
                    "Chủ Nhật",
                ][i]
                    .to_string()
            }),
        "hour" => Some(format!("{key}:00")),
        "channel" => Some(match key {
            "kiosk" => "Kiosk".into(),
            "phone" => "Điện thoại".into(),
            "appointment" => "Đặt lịch".into(),
            "staff" => "Cán bộ cấp".into(),
            k => k.into(),
        }),
        _ => None,
    };
    named.unwrap_or_else(|| key.to_string())
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
            "weekday" => ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
                .iter()
                .position(|d| *d == key),
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

const COLUMNS: [&str; 20] = [
    "key",
    "name",
    "issued",
    "served",
    "no_show",
    "cancelled",
    "transferred",
    "expired",
    "open",
    "kiosk",
    "phone",
    "appointment",
    "staff",
    "wait_mean_min",
    "wait_median_min",
    "wait_p90_min",
    "wait_max_min",
    "within_target",
    "service_mean_min",
    "satisfied",
];

fn cells(settings: &SiteSettings, by: &str, r: &ReportRow) -> Vec<String> {
    let ch = |k: &str| r.by_channel.get(k).copied().unwrap_or(0).to_string();
    vec![
        r.key.clone(),
        if r.key == "total" {
            "Tổng cộng".into()
        } else {
            label(settings, by, &r.key)
        },
        r.issued.to_string(),
        r.served.to_string(),
        r.no_show.to_string(),
        r.cancelled.to_string(),
        r.transferred.to_string(),
        r.expired.to_string(),
        r.open.to_string(),
        ch("kiosk"),
        ch("phone"),
        ch("appointment"),
        ch("staff"),
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
pub fn to_table(settings: &SiteSettings, report: &Report) -> String {
    let head = [
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
    ];
    let mut lines = vec![format!(
        "{} · {} → {} · theo {} · mục tiêu chờ {} phút",
        settings.core.name.vi,
        report.from,
        report.to,
        report.by,
        report.target_wait_s / 60
    )];
    let rows: Vec<Vec<String>> = report
        .rows
        .iter()
        .chain(std::iter::once(&report.total))
        .map(|r| {
            let c = cells(settings, report.by, r);
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
pub fn to_csv(settings: &SiteSettings, report: &Report) -> Result<Vec<u8>, String> {
    let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    w.write_record(COLUMNS).map_err(|e| e.to_string())?;
    for r in report.rows.iter().chain(std::iter::once(&report.total)) {
        w.write_record(cells(settings, report.by, r))
            .map_err(|e| e.to_string())?;
    }
    w.into_inner().map_err(|e| e.to_string())
}

/// Columns of the list of ratings (CSV `ratings-csv` and the XLSX sheet "Đánh giá").
const RATING_COLUMNS: [&str; 10] = [
    "day",
    "number",
    "service",
    "counter",
    "official",
    "score",
    "satisfied",
    "reason",
    "dossier",
    "rated_at",
];

fn rating_cells(settings: &SiteSettings, report: &Report, r: &RatedTicket) -> Vec<String> {
    let rated_at = r
        .rated_at_ms
        .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
        .map(|t| t.to_string())
        .unwrap_or_default();
    vec![
        r.day.clone(),
        r.number.clone(),
        label(settings, "service", &r.service),
        r.counter.clone().unwrap_or_default(),
        r.official.clone().unwrap_or_default(),
        r.score.to_string(),
        if (r.score as usize) <= (report.rating_levels as usize) / 2 {
            "1".into()
        } else {
            "0".into()
        },
        r.reason.clone().unwrap_or_default(),
        r.dossier.clone().unwrap_or_default(),
        rated_at,
    ]
}

/// The ratings one by one (newest first), each with its ticket, official and dossier code; as
/// CSV with a byte order mark, like [`to_csv`].
pub fn ratings_csv(settings: &SiteSettings, report: &Report) -> Result<Vec<u8>, String> {
    let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    w.write_record(RATING_COLUMNS).map_err(|e| e.to_string())?;
    for r in &report.rated_tickets {
        w.write_record(rating_cells(settings, report, r))
            .map_err(|e| e.to_string())?;
    }
    w.into_inner().map_err(|e| e.to_string())
}

/// An Excel workbook: the report, arrivals by weekday and hour, queue length by hour, and the
/// staffing advice when given.
pub fn to_xlsx(
    settings: &SiteSettings,
    report: &Report,
    staffing: Option<&Staffing>,
) -> Result<Vec<u8>, String> {
    use rust_xlsxwriter::{Format, Workbook};
    let err = |e: rust_xlsxwriter::XlsxError| e.to_string();
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let ws = wb.add_worksheet().set_name("Báo cáo").map_err(err)?;
    ws.write_string_with_format(
        0,
        0,
        format!(
            "{} · {} → {}",
            settings.core.name.vi, report.from, report.to
        ),
        &bold,
    )
    .map_err(err)?;
    for (c, h) in COLUMNS.iter().enumerate() {
        ws.write_string_with_format(2, c as u16, *h, &bold)
            .map_err(err)?;
    }
    for (i, r) in report
        .rows
        .iter()
        .chain(std::iter::once(&report.total))
        .enumerate()
    {
        for (c, v) in cells(settings, report.by, r).into_iter().enumerate() {
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
    let ws = wb.add_worksheet().set_name("Giờ đến").map_err(err)?;
    let days = [
        "Thứ Hai",
        "Thứ Ba",
        "Thứ Tư",
        "Thứ Năm",
        "Thứ Sáu",
        "Thứ Bảy",
        "Chủ Nhật",
    ];
    for h in 0..24u16 {
        ws.write_string_with_format(0, h + 1, format!("{h:02}h"), &bold)
            .map_err(err)?;
    }
    for (d, row) in report.arrivals.iter().enumerate() {
        ws.write_string_with_format(d as u32 + 1, 0, days[d], &bold)
            .map_err(err)?;
        for (h, n) in row.iter().enumerate() {
            ws.write_number(d as u32 + 1, h as u16 + 1, *n as f64)
                .map_err(err)?;
        }
    }
    let ws = wb
        .add_worksheet()
        .set_name("Hàng chờ theo giờ")
        .map_err(err)?;
    ws.write_string_with_format(0, 0, "giờ", &bold)
        .map_err(err)?;
    ws.write_string_with_format(0, 1, "số người chờ TB", &bold)
        .map_err(err)?;
    for (h, v) in report.queue_by_hour.iter().enumerate() {
        ws.write_number(h as u32 + 1, 0, h as f64).map_err(err)?;
        ws.write_number(h as u32 + 1, 1, (*v * 10.0).round() / 10.0)
            .map_err(err)?;
    }
    let ws = wb.add_worksheet().set_name("Đánh giá").map_err(err)?;
    for (c, h) in RATING_COLUMNS.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)
            .map_err(err)?;
    }
    for (i, r) in report.rated_tickets.iter().enumerate() {
        for (c, v) in rating_cells(settings, report, r).into_iter().enumerate() {
            let row = 1 + i as u32;
            if c == 5 || c == 6 {
                ws.write_number(row, c as u16, v.parse::<f64>().unwrap_or(0.0))
                    .map_err(err)?;
            } else {
                ws.write_string(row, c as u16, v).map_err(err)?;
            }
        }
    }
    if let Some(s) = staffing {
        let ws = wb.add_worksheet().set_name("Bố trí cán bộ").map_err(err)?;
        ws.write_string_with_format(
            0,
            0,
            format!(
                "Số quầy cần để {:.0}% chờ ≤ {} phút",
                s.target_share * 100.0,
                s.target_wait_s / 60
            ),
            &bold,
        )
        .map_err(err)?;
        ws.write_string_with_format(1, 0, "lĩnh vực", &bold)
            .map_err(err)?;
        for h in 0..24u16 {
            ws.write_string_with_format(1, h + 1, format!("{h:02}h"), &bold)
                .map_err(err)?;
        }
        for (i, r) in s.rows.iter().enumerate() {
            ws.write_string(
                i as u32 + 2,
                0,
                label(settings, "department", &r.department),
            )
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
pub fn staffing_table(settings: &SiteSettings, s: &Staffing) -> String {
    let hours: Vec<usize> = (0..24)
        .filter(|&h| s.rows.iter().any(|r| r.arrivals_per_hour[h] > 0.0))
        .collect();
    let mut out = format!(
        "Bố trí cán bộ · staffing: counters for {:.0}% of waits ≤ {} min ({} days of history, {} → {})\n",
        s.target_share * 100.0,
        s.target_wait_s / 60,
        s.days,
        s.from,
        s.to
    );
    out.push_str(&format!("{:<36}", "lĩnh vực"));
    for h in &hours {
        out.push_str(&format!("{:>5}", format!("{h}h")));
    }
    out.push_str("  cao điểm\n");
    for r in &s.rows {
        let name: String = label(settings, "department", &r.department)
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

#[derive(serde::Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    pub from: Option<String>,
    pub to: Option<String>,
    pub by: Option<String>,
    pub format: Option<String>,
    pub target_wait_min: Option<u32>,
    pub target_share: Option<f64>,
}

fn day_param(v: Option<&String>, default: &str, field: &'static str) -> Result<String, ApiError> {
    match v {
        None => Ok(default.to_string()),
        Some(s) => luot_proto::parse_day(s)
            .map(|d| d.to_string())
            .ok_or_else(|| luot_proto::WireError::invalid(field, s).into()),
    }
}

/// `GET /api/v1/sites/{site}/reports`: managers and admins.
pub async fn reports(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(site): Path<String>,
    Query(p): Query<ReportParams>,
) -> Result<Response, ApiError> {
    crate::rest::require_role(&app, &headers, &["manager", "admin"]).await?;
    let i = app.broker.site_index(&site).ok_or_else(|| {
        ApiError::not_found(
            "unknown_site",
            "Không có điểm tiếp nhận này",
            "No such site",
        )
    })?;
    let runtime = app.broker.runtime();
    let rt = &runtime[i];
    let now = crate::clock::site_now(app.clock.now_ms(), &rt.tz);
    let today = now.day.to_string();
    let from = day_param(p.from.as_ref(), &today, "from")?;
    let to = day_param(p.to.as_ref(), &from.clone().max(today.clone()), "to")?;
    if from > to {
        return Err(ApiError::bad_request(
            "invalid_range",
            "Ngày bắt đầu sau ngày kết thúc",
            "`from` is after `to`",
        ));
    }
    let span = luot_proto::parse_day(&to).expect("valid").0
        - luot_proto::parse_day(&from).expect("valid").0;
    if span >= luot_store::reports::REPORT_DAYS_MAX {
        return Err(ApiError::bad_request(
            "range_too_long",
            "Khoảng thời gian quá dài (tối đa 366 ngày)",
            "Range too long (366 days at most)",
        ));
    }
    let by_s = p.by.clone().unwrap_or_else(|| "department".into());
    let by = GroupBy::parse(&by_s)
        .ok_or_else(|| ApiError::from(luot_proto::WireError::invalid("by", &by_s)))?;
    let target = p
        .target_wait_min
        .unwrap_or(TARGET_WAIT_S_DEFAULT / 60)
        .clamp(1, 240)
        * 60;
    let share = p.target_share.unwrap_or(TARGET_SHARE_DEFAULT);
    if !(0.5..=0.999).contains(&share) {
        return Err(luot_proto::WireError::invalid("target_share", &share.to_string()).into());
    }
    let offset = rt
        .tz
        .to_offset(
            jiff::Timestamp::from_millisecond(now.at_ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH),
        )
        .seconds();
    let q = query(&rt.settings, &from, &to, by, target, offset);
    let expected = expected_service_s(&rt.settings);
    let db = app.db_path.clone();
    let (report, staffing) =
        tokio::task::spawn_blocking(move || -> Result<_, luot_store::StoreError> {
            let conn = luot_store::open_reader(&db)?;
            let r = luot_store::reports::report(&conn, &q)?;
            let s = luot_store::reports::staffing(&conn, &q, share, &expected)?;
            Ok((r, s))
        })
        .await
        .map_err(|e| ApiError::bad_request("report_failed", e.to_string(), e.to_string()))?
        .map_err(|e| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                crate::broker::storage_error(&e),
            )
        })?;
    let settings = &rt.settings;
    let mut report = report;
    order_rows(settings, &mut report);
    let name = format!(
        "luot-{}-{}-{}-{}",
        settings.core.code,
        from,
        to,
        by.as_str()
    );
    let fail = |e: String| ApiError::bad_request("export_failed", e.clone(), e);
    Ok(match p.format.as_deref().unwrap_or("json") {
        "json" => {
            let labels: HashMap<String, String> = report
                .rows
                .iter()
                .map(|r| (r.key.clone(), label(settings, by.as_str(), &r.key)))
                .collect();
            let dept_labels: HashMap<String, String> = staffing
                .rows
                .iter()
                .map(|r| {
                    (
                        r.department.clone(),
                        label(settings, "department", &r.department),
                    )
                })
                .collect();
            axum::Json(serde_json::json!({"report": report, "labels": labels, "staffing": staffing, "department_labels": dept_labels})).into_response()
        }
        "csv" => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}.csv\""),
                ),
            ],
            to_csv(settings, &report).map_err(fail)?,
        )
            .into_response(),
        "ratings-csv" => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}-ratings.csv\""),
                ),
            ],
            ratings_csv(settings, &report).map_err(fail)?,
        )
            .into_response(),
        "xlsx" => (
            [
                (
                    header::CONTENT_TYPE,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}.xlsx\""),
                ),
            ],
            to_xlsx(settings, &report, Some(&staffing)).map_err(fail)?,
        )
            .into_response(),
        "table" => to_table(settings, &report).into_response(),
        other => return Err(luot_proto::WireError::invalid("format", other).into()),
    })
}
