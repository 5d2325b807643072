//! `GET /api/v1/sites/{site}/reports` (managers and admins); the formats are `crate::report`'s.

use crate::App;
use crate::error::ApiError;
use crate::report::*;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use luot_store::Role;
use luot_store::reports::GroupBy;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(serde::Deserialize, Debug, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// First day, YYYY-MM-DD in the site's time zone (default today).
    #[param(value_type = Option<luot_proto::schema::Day>, inline)]
    pub from: Option<String>,
    /// Last day, inclusive (default: the later of `from` and today); at most 366 days.
    #[param(value_type = Option<luot_proto::schema::Day>, inline)]
    pub to: Option<String>,
    /// How rows are grouped (default `department`).
    #[param(value_type = Option<GroupBy>, inline)]
    pub by: Option<String>,
    /// `json` (default), `csv`, `ratings-csv` (the ratings one by one: ticket, official, score,
    /// reason, dossier code), `xlsx` or `table`.
    #[param(value_type = Option<ReportFormat>, inline)]
    pub format: Option<String>,
    /// Wait target in minutes (default 15).
    #[param(minimum = 1, maximum = 240)]
    pub target_wait_min: Option<u32>,
    /// Share of citizens the staffing advice keeps within the target (default 0.9).
    #[param(minimum = 0.5, maximum = 0.999)]
    pub target_share: Option<f64>,
    /// `vi` (default) or `en`: the language of exports' column names, sheet names, labels and
    /// values.
    #[param(value_type = Option<LangParam>, inline)]
    pub lang: Option<String>,
}

#[derive(utoipa::ToSchema)]
#[schema(rename_all = "kebab-case")]
#[allow(dead_code)]
enum ReportFormat {
    Json,
    Csv,
    RatingsCsv,
    Xlsx,
    Table,
}

/// The `lang` query parameter of the exports.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub(crate) enum LangParam {
    Vi,
    En,
}

/// A report in JSON: the rows, the staffing advice and the names to show for their keys.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ReportResponse {
    report: luot_store::reports::Report,
    /// Each row's key as people read it, in `lang`.
    labels: HashMap<String, String>,
    staffing: luot_store::reports::Staffing,
    /// Each staffing row's department as people read it, in `lang`.
    department_labels: HashMap<String, String>,
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
#[utoipa::path(
    get,
    path = "/sites/{site}/reports",
    operation_id = "getReport",
    tag = "reports",
    summary = r#"Report and staffing advice (managers, admins)"#,
    security(("sessionCookie" = [])),
    params(
        ("site" = inline(luot_proto::schema::Code), Path, description = "Site code, e.g. `sa-huynh`."),
        ReportParams,
    ),
    responses(
        (status = 200, description = "The report: JSON (default), CSV, XLSX or a text table, by `format`.", content((ReportResponse = "application/json"), (String = "text/csv"), (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (String = "text/plain"))),
        (status = 400, description = "`invalid_range`, `range_too_long`, `invalid_field` (`from`, `to`, `by`, `format`, `target_share`), `report_failed`, `export_failed` (ErrorDto); an unknown query parameter is answered in plain text.", content((luot_proto::ErrorDto = "application/json"), (String = "text/plain"))),
        (status = 401, response = crate::rest::doc::Unauthorized),
        (status = 403, response = crate::rest::doc::Forbidden),
        (status = 404, response = crate::rest::doc::NotFound),
        (status = 503, response = crate::rest::doc::ServiceUnavailable),
    )
)]
pub async fn reports(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(site): Path<String>,
    Query(p): Query<ReportParams>,
) -> Result<Response, ApiError> {
    crate::http::require_user_or_scope(&app, &headers, Role::manages, crate::auth::Scope::Read)
        .await?;
    let i = app.broker.site_index(&site).ok_or(ApiError::UnknownSite)?;
    let runtime = app.broker.runtime();
    let rt = &runtime[i];
    let now = crate::clock::site_now(app.clock.now_ms(), &rt.tz);
    let today = now.day.to_string();
    let from = day_param(p.from.as_ref(), &today, "from")?;
    let to = day_param(p.to.as_ref(), &from.clone().max(today.clone()), "to")?;
    if from > to {
        return Err(ApiError::InvalidRange);
    }
    let span = luot_proto::parse_day(&to).expect("valid").0
        - luot_proto::parse_day(&from).expect("valid").0;
    if span >= luot_store::reports::REPORT_DAYS_MAX {
        return Err(ApiError::RangeTooLong {
            days_max: luot_store::reports::REPORT_DAYS_MAX.into(),
        });
    }
    let by_s = p.by.clone().unwrap_or_else(|| "department".into());
    let by = GroupBy::parse(&by_s)
        .ok_or_else(|| ApiError::from(luot_proto::WireError::invalid("by", &by_s)))?;
    let target = p
        .target_wait_min
        .unwrap_or(TARGET_WAIT_S_DEFAULT / 60)
        .clamp(1, 240)
        * 60;
    let lang = crate::http::lang_param(p.lang.as_deref())?;
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
    let (report, staffing, officials) =
        tokio::task::spawn_blocking(move || -> Result<_, luot_store::StoreError> {
            let conn = luot_store::open_reader(&db)?;
            let r = luot_store::reports::report(&conn, &q)?;
            let s = luot_store::reports::staffing(&conn, &q, share, &expected)?;
            Ok((r, s, official_names(&conn)?))
        })
        .await
        .map_err(|e| ApiError::ReportFailed(e.to_string()))?
        .map_err(|e| ApiError::storage(&e))?;
    let settings = &rt.settings;
    let mut report = report;
    order_rows(settings, &mut report);
    let l = Labels::new(settings, lang, officials);
    let name = format!(
        "luot-{}-{}-{}-{}",
        settings.core.code,
        from,
        to,
        by.as_str()
    );
    let fail = ApiError::ExportFailed;
    Ok(match p.format.as_deref().unwrap_or("json") {
        "json" => {
            let labels: HashMap<String, String> = report
                .rows
                .iter()
                .map(|r| (r.key.clone(), label(&l, by.as_str(), &r.key)))
                .collect();
            let dept_labels: HashMap<String, String> = staffing
                .rows
                .iter()
                .map(|r| (r.department.clone(), label(&l, "department", &r.department)))
                .collect();
            axum::Json(ReportResponse {
                report,
                labels,
                staffing,
                department_labels: dept_labels,
            })
            .into_response()
        }
        "csv" => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}.csv\""),
                ),
            ],
            to_csv(&l, &report).map_err(fail)?,
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
            ratings_csv(&l, &report).map_err(fail)?,
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
            to_xlsx(&l, &report, Some(&staffing)).map_err(fail)?,
        )
            .into_response(),
        "table" => to_table(&l, &report).into_response(),
        other => return Err(luot_proto::WireError::invalid("format", other).into()),
    })
}
