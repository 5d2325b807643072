//! `GET /api/v1/sites/{site}/staffing-plan`: the staffing plan of `luot staffing-plan`
//! (`luot_core::plan`) for a past day of the center's own history, on the reports page. The day
//! is replayed with the counters the configuration has and as many officials as the center has
//! (or as the manager asks), so the plan only opens counters that exist, counts a counter that
//! serves several departments once, and what it claims as met is what the replay shows.

use crate::App;
use crate::error::ApiError;
use crate::report::Lang;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use luot_core::plan::{PlanRequest, StaffingPlan, TARGET_SHARE};
use luot_core::replay::{Arrival, HALF_HOUR_S, Wanted};
use luot_core::{Channel, Code, SiteConfig};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Days before today the default day (the busiest one) is taken from.
pub const PLAN_LOOKBACK_DAYS: i32 = 28;
/// Most officials a plan may be asked for.
pub const PLAN_OFFICIALS_MAX: u32 = 500;
/// Longest wait target a plan may be asked for, minutes: the configuration's own limit.
pub const PLAN_TARGET_MIN_MAX: u32 = luot_core::config::WAIT_TARGET_MIN_MAX;
/// The replays' seed, that of `luot replay --seed 1` (and `luot staffing-plan --seed 1`): the
/// same day and staff give the same plan, and the CLI replays it the same way.
const PLAN_SEED: u64 = 1;

/// One plan is searched at a time (each is up to `REPLAYS_MAX` replays of a whole day).
static PLANNING: AtomicBool = AtomicBool::new(false);

#[derive(serde::Deserialize, Debug, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PlanParams {
    /// A day before today, `YYYY-MM-DD` (default: the busiest of the last 28 days).
    #[param(value_type = Option<luot_proto::schema::Day>, inline)]
    pub day: Option<String>,
    /// Most counters open at once (default: enabled officials' accounts, else every counter).
    #[param(minimum = 1, maximum = 500)]
    pub officials: Option<u32>,
    /// Wait target in minutes (default: the site's policy.wait_target_min).
    #[param(minimum = 1, maximum = 240)]
    pub target_min: Option<u32>,
    /// `json` (default) or `csv`: one row per counter and shift, column names in `lang`.
    #[param(value_type = Option<PlanFormat>, inline)]
    pub format: Option<String>,
    /// `vi` (default) or `en`.
    #[param(value_type = Option<super::reports::LangParam>, inline)]
    pub lang: Option<String>,
}

#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
enum PlanFormat {
    Json,
    Csv,
}

/// Where a plan's number of officials came from.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
enum OfficialsFrom {
    Asked,
    Accounts,
    Counters,
}

/// Why a half hour missed the target though the plan tried.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
enum ShortfallCode {
    AllCountersOpen,
    NoOfficialLeft,
    SearchBudget,
}

/// The staffing plan for a past day: which counters to open in each half hour, and how the
/// replay of that plan went.
#[derive(serde::Serialize, Debug, utoipa::ToSchema)]
#[schema(as = StaffingPlan)]
pub struct PlanReply {
    /// The day replayed; `null` when no day of the last [`PLAN_LOOKBACK_DAYS`] had a ticket (a
    /// new center), and then the plan is empty.
    #[schema(required = true, value_type = Option<luot_proto::schema::Day>)]
    pub day: Option<String>,
    /// Tickets of the day replayed (cancelled ones left out).
    pub tickets: usize,
    pub officials: u32,
    /// Where `officials` came from: `asked`, `accounts` or `counters`.
    #[schema(value_type = OfficialsFrom)]
    pub officials_from: &'static str,
    pub target_s: u32,
    pub target_share: f64,
    pub replays: u32,
    /// Tickets the replay could not issue (outside opening hours, over a cap).
    pub refused: usize,
    /// Every half hour with citizens met the target (true when there were none).
    pub all_met: bool,
    pub most_open: u32,
    /// Officials who change counters during the day.
    pub moves: u32,
    /// Start of each half hour of the plan, `HH:MM`.
    pub half_hours: Vec<String>,
    /// Every counter of the site, in configuration order.
    pub counters: Vec<PlanCounter>,
    /// Per half hour and department with citizens: how the replay of the plan went.
    pub checks: Vec<PlanCheck>,
}

#[derive(serde::Serialize, Debug, utoipa::ToSchema)]
pub struct PlanCounter {
    pub code: String,
    pub name: String,
    pub departments: Vec<String>,
    /// Open in each half hour of `half_hours`.
    pub open: Vec<bool>,
    /// The times it is open, `[from, to]` as `HH:MM`.
    #[schema(value_type = Vec<Vec<String>>)]
    pub shifts: Vec<[String; 2]>,
}

#[derive(serde::Serialize, Debug, utoipa::ToSchema)]
pub struct PlanCheck {
    /// Start of the half hour, `HH:MM`.
    pub from: String,
    pub department: String,
    pub department_name: String,
    pub tickets: u32,
    pub served: u32,
    #[schema(required = true)]
    pub p90_wait_s: Option<u32>,
    pub counters_open: u32,
    pub met: bool,
    #[schema(required = true)]
    pub over_s: Option<u32>,
    /// Why the target was missed though the plan tried (`null` when met).
    #[schema(required = true, value_type = Option<ShortfallCode>)]
    pub shortfall: Option<&'static str>,
    #[schema(required = true, value_type = Option<String>)]
    pub shortfall_text: Option<&'static str>,
}

fn hhmm(s: u32) -> String {
    format!("{:02}:{:02}", s / 3600 % 24, s / 60 % 60)
}

/// The past day's tickets as the replay's arrivals; tickets of procedures no longer configured
/// are left out. A ticket never served takes the mean service time of its procedure that day,
/// else the configured expectation.
fn arrivals(cfg: &SiteConfig, tickets: &[luot_store::reports::DayTicket]) -> Vec<Arrival> {
    let mut mean: HashMap<&str, (u64, u32)> = HashMap::new();
    for t in tickets {
        if let (Some(s), "done") = (t.service_s, t.state.as_str()) {
            let e = mean.entry(t.service.as_str()).or_default();
            e.0 += s as u64;
            e.1 += 1;
        }
    }
    tickets
        .iter()
        .filter_map(|t| {
            let code = Code::new(&t.service).ok()?;
            let service = cfg.service(code)?;
            let served = t.service_s.filter(|_| t.state == "done");
            let service_s = served.unwrap_or_else(|| match mean.get(t.service.as_str()) {
                Some(&(sum, n)) if n > 0 => (sum / n as u64) as u32,
                _ => service.expected_service_s,
            });
            Some(Arrival {
                at_s: t.at_s,
                wanted: Wanted::Service(code),
                priority: t.priority.as_deref().and_then(|p| Code::new(p).ok()),
                service_s: service_s.max(1),
                no_show: t.state == "no_show",
                channel: Channel::parse(&t.channel).unwrap_or(Channel::Kiosk),
            })
        })
        .collect()
}

fn reply(
    settings: &luot_proto::config::SiteSettings,
    lang: Lang,
    day: Option<String>,
    tickets: usize,
    officials: (u32, &'static str),
    plan: &StaffingPlan,
) -> PlanReply {
    let cfg = &settings.core;
    let name = |t: &luot_core::Text| lang.pick(&t.vi, &t.en).to_string();
    let dept_name = |code: Code| {
        cfg.department(code)
            .map_or_else(|| code.to_string(), |d| name(&d.name))
    };
    let n = plan.open.len();
    let at = |k: usize| hhmm(plan.first_s + k as u32 * HALF_HOUR_S);
    let counters = cfg
        .counters
        .iter()
        .enumerate()
        .map(|(c, counter)| {
            let open: Vec<bool> = (0..n).map(|k| plan.open[k][c]).collect();
            let mut shifts = Vec::new();
            let mut k = 0;
            while k < n {
                if open[k] {
                    let from = k;
                    while k < n && open[k] {
                        k += 1;
                    }
                    shifts.push([at(from), at(k)]);
                } else {
                    k += 1;
                }
            }
            let mut departments: Vec<String> = Vec::new();
            for s in &counter.services {
                if let Some(svc) = cfg.service(s.service) {
                    let d = dept_name(svc.department);
                    if !departments.contains(&d) {
                        departments.push(d);
                    }
                }
            }
            PlanCounter {
                code: counter.code.to_string(),
                name: name(&counter.name),
                departments,
                open,
                shifts,
            }
        })
        .collect();
    PlanReply {
        day,
        tickets,
        officials: officials.0,
        officials_from: officials.1,
        target_s: plan.target_s,
        target_share: TARGET_SHARE,
        replays: plan.replays,
        refused: plan.refused,
        all_met: plan.all_met(),
        most_open: plan.most_open(),
        moves: plan.moves(),
        half_hours: (0..n).map(at).collect(),
        counters,
        checks: plan
            .checks
            .iter()
            .map(|c| PlanCheck {
                from: hhmm(c.from_s),
                department: c.department.to_string(),
                department_name: dept_name(c.department),
                tickets: c.tickets,
                served: c.served,
                p90_wait_s: c.p90_wait_s,
                counters_open: c.counters_open,
                met: c.met,
                over_s: c.over_s,
                shortfall: c.shortfall.map(|s| s.code()),
                shortfall_text: c.shortfall.map(|s| {
                    let (vi, en) = s.message();
                    lang.pick(vi, en)
                }),
            })
            .collect(),
    }
}

/// The plan as a CSV a manager prints or pins up: one row per counter and shift.
fn to_csv(lang: Lang, r: &PlanReply) -> Result<Vec<u8>, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let t = |vi: &'static str, en: &'static str| lang.pick(vi, en);
    w.write_record([
        t("Ngày", "Day"),
        t("Quầy", "Counter"),
        t("Lĩnh vực", "Departments"),
        t("Mở từ", "Open from"),
        t("Đến", "Until"),
    ])
    .map_err(|e| e.to_string())?;
    for c in &r.counters {
        for [from, to] in &c.shifts {
            let day = r.day.as_deref().unwrap_or_default();
            w.write_record([day, &c.name, &c.departments.join("; "), from, to])
                .map_err(|e| e.to_string())?;
        }
    }
    w.into_inner().map_err(|e| e.to_string())
}

struct Planning;

impl Planning {
    fn start() -> Option<Planning> {
        PLANNING
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
            .then_some(Planning)
    }
}

impl Drop for Planning {
    fn drop(&mut self) {
        PLANNING.store(false, Ordering::Release);
    }
}

/// `GET /api/v1/sites/{site}/staffing-plan`: managers and admins.
#[utoipa::path(
    get,
    path = "/sites/{site}/staffing-plan",
    operation_id = "getStaffingPlan",
    tag = "reports",
    summary = r#"Staffing plan for a past day of the history, checked by replaying it (managers, admins)"#,
    description = r#"Replays a past day's tickets with the site's counters and officials and searches which counters to open each half hour so that 90% of each half hour's citizens wait at most the target (see docs/staffing-plan.md). Only one plan is made at a time."#,
    security(("sessionCookie" = [])),
    params(
        ("site" = inline(luot_proto::schema::Code), Path, description = "Site code, e.g. `sa-huynh`."),
        PlanParams,
    ),
    responses(
        (status = 200, description = "The plan and how its replay went.", content((PlanReply = "application/json"), (String = "text/csv"))),
        (status = 400, description = "`day_not_past`, `invalid_target`, `invalid_officials`, `invalid_field` (`day`, `format`, `lang`) (ErrorDto); an unknown query parameter is answered in plain text.", content((luot_proto::ErrorDto = "application/json"), (String = "text/plain"))),
        (status = 401, response = crate::rest::doc::Unauthorized),
        (status = 403, response = crate::rest::doc::Forbidden),
        (status = 404, description = "`unknown_site`, or `no_history`: the `day` asked for has no ticket.", body = luot_proto::ErrorDto, content_type = "application/json"),
        (status = 429, description = "`plan_busy`: another plan is being made.", body = luot_proto::ErrorDto, content_type = "application/json"),
        (status = 503, response = crate::rest::doc::ServiceUnavailable),
    )
)]
pub async fn staffing_plan(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(site): Path<String>,
    Query(p): Query<PlanParams>,
) -> Result<Response, ApiError> {
    crate::http::require_user_or_scope(
        &app,
        &headers,
        luot_store::Role::manages,
        crate::auth::Scope::Read,
    )
    .await?;
    let i = app.broker.site_index(&site).ok_or(ApiError::UnknownSite)?;
    let lang = crate::http::lang_param(p.lang.as_deref())?;
    let format = p.format.as_deref().unwrap_or("json");
    if !matches!(format, "json" | "csv") {
        return Err(luot_proto::WireError::invalid("format", format).into());
    }
    let runtime = app.broker.runtime();
    let rt = &runtime[i];
    let settings = rt.settings.clone();
    let cfg = &settings.core;
    let today = crate::clock::site_now(app.clock.now_ms(), &rt.tz).day;
    let day = match &p.day {
        Some(s) => {
            let d = luot_proto::parse_day(s)
                .ok_or_else(|| ApiError::from(luot_proto::WireError::invalid("day", s)))?;
            if d >= today {
                return Err(ApiError::DayNotPast);
            }
            Some(d)
        }
        None => None,
    };
    let target_s = match p.target_min {
        Some(m) if (1..=PLAN_TARGET_MIN_MAX).contains(&m) => m * 60,
        Some(m) => {
            return Err(ApiError::InvalidTarget {
                minutes: m,
                max: PLAN_TARGET_MIN_MAX,
            });
        }
        None => cfg.policy.wait_target_s,
    };
    if let Some(n) = p.officials
        && !(1..=PLAN_OFFICIALS_MAX).contains(&n)
    {
        return Err(ApiError::InvalidOfficials {
            officials: n,
            max: PLAN_OFFICIALS_MAX,
        });
    }
    let Some(guard) = Planning::start() else {
        return Err(ApiError::PlanBusy);
    };
    let db = app.db_path.clone();
    let tz = rt.tz.clone();
    let plan_settings = settings.clone();
    let asked = p.officials;
    let made = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        let _guard = guard;
        let cfg = &plan_settings.core;
        let storage = crate::error::store_error;
        let conn = luot_store::open_reader(&db).map_err(storage)?;
        let site = cfg.code.to_string();
        let accounts = {
            use luot_store::Accounts as _;
            conn.users()
                .map_err(storage)?
                .iter()
                .filter(|u| u.role == luot_store::Role::Official && !u.disabled)
                .count() as u32
        };
        let officials = match asked {
            Some(n) => (n, "asked"),
            None if accounts > 0 => (accounts, "accounts"),
            None => (cfg.counters.len() as u32, "counters"),
        };
        let day = match day {
            Some(d) => d,
            None => {
                let from = luot_core::Day(today.0 - PLAN_LOOKBACK_DAYS).to_string();
                let to = luot_core::Day(today.0 - 1).to_string();
                let busiest = luot_store::reports::busiest_day(&conn, &site, &from, &to)
                    .map_err(storage)?
                    .and_then(|(d, _)| luot_proto::parse_day(&d));
                match busiest {
                    Some(d) => d,
                    // A new center: nothing to plan from yet, which is not an error.
                    None => {
                        return Ok((
                            None,
                            0,
                            officials,
                            StaffingPlan::empty(target_s, officials.0),
                        ));
                    }
                }
            }
        };
        let offset = crate::clock::utc_offset_at_noon(&tz, day).unwrap_or(0);
        let tickets = luot_store::reports::day_tickets(&conn, &site, &day.to_string(), offset)
            .map_err(storage)?;
        let arrivals = arrivals(cfg, &tickets);
        if arrivals.is_empty() {
            return Err(ApiError::NoHistory);
        }
        let plan = luot_core::plan::plan_staffing(&PlanRequest {
            cfg,
            day,
            utc_offset_s: offset,
            arrivals: &arrivals,
            officials: officials.0,
            target_s,
            seed: luot_core::replay::day_seed(PLAN_SEED, 0),
        });
        Ok((Some(day), tickets.len(), officials, plan))
    })
    .await
    .map_err(|e| ApiError::PlanFailed(e.to_string()))??;
    let (day, tickets, officials, plan) = made;
    let r = reply(
        &settings,
        lang,
        day.map(|d| d.to_string()),
        tickets,
        officials,
        &plan,
    );
    if format == "csv" {
        let body = to_csv(lang, &r).map_err(ApiError::ExportFailed)?;
        let name = format!(
            "luot-{}-{}-ke-hoach.csv",
            cfg.code,
            r.day.as_deref().unwrap_or("0000-00-00")
        );
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}\""),
                ),
            ],
            body,
        )
            .into_response());
    }
    Ok(axum::Json(r).into_response())
}
