//! Read models: sites, their setup, snapshot, queues, counters and summary; a ticket by its
//! token and its QR code.

use super::site_index;
use crate::App;
use crate::error::{ApiError, TicketKey, store_error};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use luot_proto::{CounterView, ServiceStatsDto, SiteSnapshot, TicketView};
use luot_store::Accounts;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A text in Vietnamese and English.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Text {
    pub vi: String,
    pub en: String,
}

impl From<&luot_core::Text> for Text {
    fn from(t: &luot_core::Text) -> Text {
        Text {
            vi: t.vi.to_string(),
            en: t.en.to_string(),
        }
    }
}

/// A site of this server.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Site {
    #[schema(value_type = luot_proto::schema::Code)]
    code: String,
    name: Text,
}

/// A member of staff as the rating tablet names them.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Official {
    #[schema(value_type = luot_proto::schema::Code)]
    login: String,
    display_name: String,
}

/// The public configuration a client needs to draw itself.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Setup {
    #[schema(value_type = luot_proto::schema::Code)]
    site: String,
    name: Text,
    time_zone: String,
    public_url: String,
    /// Opening hours per weekday, Monday first (`HH:MM-HH:MM` each).
    #[schema(min_items = 7, max_items = 7)]
    hours: Vec<Vec<String>>,
    notice: Text,
    /// How many earlier calls the hall display's recent-calls strip keeps (site key
    /// recent_calls, default 6).
    #[schema(minimum = 1, maximum = 12)]
    recent_calls: u32,
    departments: Vec<SetupDepartment>,
    services: Vec<SetupService>,
    counters: Vec<SetupCounter>,
    priority_categories: Vec<SetupPriority>,
    rating: SetupRating,
    announcement: SetupAnnouncement,
    policy: SetupPolicy,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct SetupDepartment {
    #[schema(value_type = luot_proto::schema::Code)]
    code: String,
    prefix: String,
    name: Text,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct SetupService {
    #[schema(value_type = luot_proto::schema::Code)]
    code: String,
    #[schema(value_type = luot_proto::schema::Code)]
    department: String,
    prefix: String,
    name: Text,
    daily_cap: u32,
    expected_service_s: u32,
    /// Opening hours per weekday, Monday first (`HH:MM-HH:MM` each).
    #[schema(min_items = 7, max_items = 7)]
    hours: Vec<Vec<String>>,
    keywords: Vec<String>,
    /// Numbers of the counters serving it.
    counters: Vec<u16>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct SetupCounter {
    #[schema(value_type = luot_proto::schema::Code)]
    code: String,
    number: u16,
    name: Text,
    services: Vec<String>,
    priority_first: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct SetupPriority {
    #[schema(value_type = luot_proto::schema::Code)]
    code: String,
    name: Text,
    /// A citizen whose chip ID card (CCCD) shows at least this age is offered this category at
    /// the kiosk without being asked (`min_age` in `[[site.priority]]`).
    #[schema(required = true, minimum = 1, maximum = 120)]
    min_age: Option<u8>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct SetupRating {
    /// Best first; the number of levels.
    labels: Vec<Text>,
    low_score_reasons: Vec<Text>,
    window_s: u32,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct SetupAnnouncement {
    vi: String,
    en: String,
    repeat: u8,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct SetupPolicy {
    normal_per_priority: u32,
    max_wait_s: u32,
    recall_max: u8,
    no_show_return_s: u32,
    /// The center's wait target (policy.wait_target_min), in seconds.
    wait_target_s: u32,
    /// Most numbers one person (ID number) or one phone takes a day, and per department.
    per_person_day_max: u8,
    per_person_department_max: u8,
    /// How long a number taken from home keeps its place once its turn came before check-in
    /// (policy.remote_hold_min), in seconds.
    remote_hold_s: u32,
    /// Percent of each procedure's daily cap kept for citizens in the hall.
    hall_share_pct: u8,
}

/// The live state of a site at `seq`.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct SnapshotResponse {
    seq: u64,
    snapshot: SiteSnapshot,
}

/// Today so far.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Summary {
    #[schema(value_type = luot_proto::schema::Code)]
    site: String,
    #[schema(required = true, value_type = Option<luot_proto::schema::Day>)]
    day: Option<String>,
    issued: u32,
    waiting: u32,
    by_state: BTreeMap<String, u32>,
    by_channel: BTreeMap<String, u32>,
    #[schema(required = true)]
    wait_s_mean: Option<i64>,
    #[schema(required = true)]
    wait_s_max: Option<i64>,
    #[schema(required = true)]
    service_s_mean: Option<i64>,
    seq: u64,
}

/// A ticket found by its public token, for the phone page.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct PhoneTicket {
    #[schema(value_type = luot_proto::schema::Code)]
    site: String,
    site_index: usize,
    ticket: TicketView,
    #[schema(required = true)]
    counter_number: Option<u16>,
    seq: u64,
}

#[utoipa::path(
    get,
    path = "/sites",
    operation_id = "listSites",
    tag = "read",
    summary = r#"Sites of this server"#,
    security(()),
    responses(
        (status = 200, description = "OK", body = Vec<Site>, content_type = "application/json"),
    )
)]
pub(super) async fn sites(State(app): State<Arc<App>>) -> Json<Vec<Site>> {
    Json(
        app.broker
            .runtime()
            .iter()
            .map(|r| Site {
                code: r.code.as_str().to_string(),
                name: Text::from(&r.settings.core.name),
            })
            .collect(),
    )
}

/// Names of the staff, for the rating tablet ("Cán bộ: Nguyễn Văn A"). Public: the same names
/// stand on the counters' name plates.
#[utoipa::path(
    get,
    path = "/sites/{site}/officials",
    operation_id = "listOfficials",
    tag = "read",
    summary = r#"Names of the staff (for the rating tablet)"#,
    security(()),
    params(
        ("site" = inline(luot_proto::schema::Code), Path, description = "Site code, e.g. `sa-huynh`."),
    ),
    responses(
        (status = 200, description = "Enabled officials and managers.", body = Vec<Official>, content_type = "application/json"),
        (status = 404, response = crate::rest::doc::NotFound),
        (status = 503, response = crate::rest::doc::ServiceUnavailable),
    )
)]
pub(super) async fn officials(
    State(app): State<Arc<App>>,
    Path(site): Path<String>,
) -> Result<Json<Vec<Official>>, ApiError> {
    site_index(&app, &site)?;
    let users = app.accounts(|c| c.users()).await.map_err(store_error)?;
    Ok(Json(
        users
            .into_iter()
            .filter(|u| !u.disabled && u.role.serves())
            .map(|u| Official {
                login: u.login,
                display_name: u.display_name,
            })
            .collect(),
    ))
}

fn text(t: &luot_core::Text) -> Text {
    Text::from(t)
}

fn hours(h: &luot_core::WeekHours) -> Vec<Vec<String>> {
    h.days
        .iter()
        .map(|d| {
            d.iter()
                .map(|(s, e)| format!("{:02}:{:02}-{:02}:{:02}", s / 60, s % 60, e / 60, e % 60))
                .collect()
        })
        .collect()
}

/// The public configuration a client needs to draw itself: names, prefixes, counters, scale.
#[utoipa::path(
    get,
    path = "/sites/{site}/setup",
    operation_id = "getSetup",
    tag = "read",
    summary = r#"Public configuration of a site"#,
    security(()),
    params(
        ("site" = inline(luot_proto::schema::Code), Path, description = "Site code, e.g. `sa-huynh`."),
    ),
    responses(
        (status = 200, description = "OK", body = Setup, content_type = "application/json"),
        (status = 404, response = crate::rest::doc::NotFound),
    )
)]
pub(super) async fn setup(
    State(app): State<Arc<App>>,
    Path(site): Path<String>,
) -> Result<Json<Setup>, ApiError> {
    let i = site_index(&app, &site)?;
    let runtime = app.broker.runtime();
    let s = &runtime[i].settings;
    let c = &s.core;
    let code = |c: &luot_core::Code| c.as_str().to_string();
    Ok(Json(Setup {
        site: code(&c.code),
        name: text(&c.name),
        time_zone: s.time_zone.to_string(),
        public_url: app.public_url.to_string(),
        hours: hours(&s.hours),
        notice: text(&s.notice),
        recent_calls: s.recent_calls as u32,
        departments: c
            .departments
            .iter()
            .map(|d| SetupDepartment {
                code: code(&d.code),
                prefix: d.prefix.as_str().to_string(),
                name: text(&d.name),
            })
            .collect(),
        services: c
            .services
            .iter()
            .map(|v| SetupService {
                code: code(&v.code),
                department: code(&v.department),
                prefix: v.prefix.as_str().to_string(),
                name: text(&v.name),
                daily_cap: v.daily_cap,
                expected_service_s: v.expected_service_s,
                hours: hours(&v.hours),
                keywords: s.service_keywords.get(&v.code).cloned().unwrap_or_default(),
                counters: c
                    .counters
                    .iter()
                    .filter(|k| k.services.iter().any(|x| x.service == v.code))
                    .map(|k| k.number)
                    .collect(),
            })
            .collect(),
        counters: c
            .counters
            .iter()
            .map(|k| SetupCounter {
                code: code(&k.code),
                number: k.number,
                name: text(&k.name),
                services: k.services.iter().map(|x| code(&x.service)).collect(),
                priority_first: k.priority_first,
            })
            .collect(),
        priority_categories: c
            .priority_categories
            .iter()
            .map(|p| SetupPriority {
                code: code(&p.code),
                name: text(&p.name),
                min_age: p.min_age,
            })
            .collect(),
        rating: SetupRating {
            labels: s.rating.labels.iter().map(text).collect(),
            low_score_reasons: s.rating.low_score_reasons.iter().map(text).collect(),
            window_s: c.policy.rating_window_s,
        },
        announcement: SetupAnnouncement {
            vi: s.announcement.vi.to_string(),
            en: s.announcement.en.to_string(),
            repeat: s.announcement.repeat,
        },
        policy: SetupPolicy {
            normal_per_priority: c.policy.normal_per_priority,
            max_wait_s: c.policy.max_wait_s,
            recall_max: c.policy.recall_max,
            no_show_return_s: c.policy.no_show_return_s,
            wait_target_s: c.policy.wait_target_s,
            per_person_day_max: c.policy.per_person_day_max,
            per_person_department_max: c.policy.per_person_department_max,
            remote_hold_s: c.policy.remote_hold_s,
            hall_share_pct: c.policy.hall_share_pct,
        },
    }))
}

#[utoipa::path(
    get,
    path = "/sites/{site}/snapshot",
    operation_id = "getSnapshot",
    tag = "read",
    summary = r#"Live state of a site at a seq"#,
    security(()),
    params(
        ("site" = inline(luot_proto::schema::Code), Path, description = "Site code, e.g. `sa-huynh`."),
    ),
    responses(
        (status = 200, description = "OK", body = SnapshotResponse, content_type = "application/json"),
        (status = 404, response = crate::rest::doc::NotFound),
        (status = 503, response = crate::rest::doc::ServiceUnavailable),
    )
)]
pub(super) async fn snapshot(
    State(app): State<Arc<App>>,
    Path(site): Path<String>,
) -> Result<Json<SnapshotResponse>, ApiError> {
    let i = site_index(&app, &site)?;
    let (snap, seq) = app
        .broker
        .read(move |v| {
            (
                SiteSnapshot::of(&v.sites[i], &v.now(i), v.intake_open, true),
                v.seq,
            )
        })
        .await?;
    Ok(Json(SnapshotResponse {
        seq,
        snapshot: snap,
    }))
}

#[utoipa::path(
    get,
    path = "/sites/{site}/queues",
    operation_id = "getQueues",
    tag = "read",
    summary = r#"Waiting counts and estimates per service"#,
    security(()),
    params(
        ("site" = inline(luot_proto::schema::Code), Path, description = "Site code, e.g. `sa-huynh`."),
    ),
    responses(
        (status = 200, description = "OK", body = Vec<luot_proto::ServiceStatsDto>, content_type = "application/json"),
        (status = 404, response = crate::rest::doc::NotFound),
        (status = 503, response = crate::rest::doc::ServiceUnavailable),
    )
)]
pub(super) async fn queues(
    State(app): State<Arc<App>>,
    Path(site): Path<String>,
) -> Result<Json<Vec<ServiceStatsDto>>, ApiError> {
    per_service(&app, &site, ServiceStatsDto::of)
        .await
        .map(Json)
}

/// One read model per service of a site, in the configuration's order, made at the broker's
/// now (`queues`, and `remote::services` for numbers from home).
pub(super) async fn per_service<T: Send + 'static>(
    app: &Arc<App>,
    site: &str,
    of: fn(&luot_core::Site, &luot_core::Service, &luot_core::Now) -> T,
) -> Result<Vec<T>, ApiError> {
    let i = site_index(app, site)?;
    app.broker
        .read(move |v| {
            let s = &v.sites[i];
            let now = v.now(i);
            s.config()
                .services
                .iter()
                .map(|svc| of(s, svc, &now))
                .collect()
        })
        .await
}

#[utoipa::path(
    get,
    path = "/sites/{site}/counters",
    operation_id = "getCounters",
    tag = "read",
    summary = r#"Counters and their current tickets"#,
    security(()),
    params(
        ("site" = inline(luot_proto::schema::Code), Path, description = "Site code, e.g. `sa-huynh`."),
    ),
    responses(
        (status = 200, description = "OK", body = Vec<luot_proto::CounterView>, content_type = "application/json"),
        (status = 404, response = crate::rest::doc::NotFound),
        (status = 503, response = crate::rest::doc::ServiceUnavailable),
    )
)]
pub(super) async fn counters(
    State(app): State<Arc<App>>,
    Path(site): Path<String>,
) -> Result<Json<Vec<CounterView>>, ApiError> {
    let i = site_index(&app, &site)?;
    let snap = app
        .broker
        .read(move |v| SiteSnapshot::of(&v.sites[i], &v.now(i), v.intake_open, false))
        .await?;
    Ok(Json(snap.counters))
}

/// Today so far: counts by state and channel, mean and longest wait.
#[utoipa::path(
    get,
    path = "/sites/{site}/summary",
    operation_id = "getSummary",
    tag = "read",
    summary = r#"Today so far"#,
    security(()),
    params(
        ("site" = inline(luot_proto::schema::Code), Path, description = "Site code, e.g. `sa-huynh`."),
    ),
    responses(
        (status = 200, description = "OK", body = Summary, content_type = "application/json"),
        (status = 404, response = crate::rest::doc::NotFound),
        (status = 503, response = crate::rest::doc::ServiceUnavailable),
    )
)]
pub(super) async fn summary(
    State(app): State<Arc<App>>,
    Path(site): Path<String>,
) -> Result<Json<Summary>, ApiError> {
    let i = site_index(&app, &site)?;
    let v = app
        .broker
        .read(move |v| {
            let s = &v.sites[i];
            let mut by_state = BTreeMap::<String, u32>::new();
            let mut by_channel = BTreeMap::<String, u32>::new();
            let mut waits = Vec::new();
            let mut services = Vec::new();
            for t in s.tickets() {
                *by_state.entry(t.state.as_str().to_string()).or_default() += 1;
                *by_channel
                    .entry(t.channel.as_str().to_string())
                    .or_default() += 1;
                if let Some(c) = t.called_at_ms {
                    waits.push((c - t.issued_at_ms).max(0) / 1000);
                }
                if let (Some(a), Some(b)) = (t.started_at_ms, t.finished_at_ms) {
                    services.push((b - a).max(0) / 1000);
                }
            }
            let mean = |xs: &[i64]| {
                if xs.is_empty() {
                    None
                } else {
                    Some(xs.iter().sum::<i64>() / xs.len() as i64)
                }
            };
            Summary {
                site: s.config().code.as_str().to_string(),
                day: s.day().map(|d| d.to_string()),
                issued: s.issued_today(),
                waiting: s.waiting_total(),
                by_state,
                by_channel,
                wait_s_mean: mean(&waits),
                wait_s_max: waits.iter().max().copied(),
                service_s_mean: mean(&services),
                seq: v.seq,
            }
        })
        .await?;
    Ok(Json(v))
}

#[utoipa::path(
    get,
    path = "/tickets/{token}",
    operation_id = "getTicketByToken",
    tag = "phone",
    summary = r#"A ticket by its public token (phone page)"#,
    security(()),
    params(
        ("token" = inline(luot_proto::schema::TicketToken), Path, description = "The ticket's public token: the proof of a phone page."),
    ),
    responses(
        (status = 200, description = "OK", body = PhoneTicket, content_type = "application/json"),
        (status = 404, response = crate::rest::doc::NotFound),
        (status = 503, response = crate::rest::doc::ServiceUnavailable),
    )
)]
pub(super) async fn ticket(
    State(app): State<Arc<App>>,
    Path(token): Path<String>,
) -> Result<Json<PhoneTicket>, ApiError> {
    let t = luot_core::Token::from_hex(&token)
        .ok_or(ApiError::UnknownTicket(crate::error::TicketKey::Token))?;
    let found = app
        .broker
        .read(move |v| {
            v.sites.iter().enumerate().find_map(|(i, s)| {
                s.resolve(luot_core::TicketRef::Token(t)).map(|tk| {
                    let counter_number = tk
                        .counter
                        .and_then(|c| s.config().counter(*c))
                        .map(|c| c.number);
                    PhoneTicket {
                        site: s.config().code.as_str().to_string(),
                        site_index: i,
                        ticket: TicketView::of_at(tk, s, &v.now(i)),
                        counter_number,
                        seq: v.seq,
                    }
                })
            })
        })
        .await?;
    found.map(Json).ok_or(ApiError::UnknownTicket(
        crate::error::TicketKey::ExpiredToken,
    ))
}

#[utoipa::path(
    get,
    path = "/tickets/{token}/qr.svg",
    operation_id = "getTicketQr",
    tag = "phone",
    summary = r#"QR code of the phone page URL"#,
    description = r#"Only for a ticket that exists today (404 `ticket_unknown` otherwise)."#,
    security(()),
    params(
        ("token" = inline(luot_proto::schema::TicketToken), Path, description = "The ticket's public token: the proof of a phone page."),
    ),
    responses(
        (status = 200, description = "SVG image.", body = String, content_type = "image/svg+xml"),
        (status = 400, response = crate::rest::doc::BadRequest),
        (status = 404, response = crate::rest::doc::NotFound),
        (status = 503, response = crate::rest::doc::ServiceUnavailable),
    )
)]
pub(super) async fn qr(
    State(app): State<Arc<App>>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let unknown = || ApiError::UnknownTicket(TicketKey::Token);
    let t = luot_core::Token::from_hex(&token).ok_or_else(unknown)?;
    // Only for tickets that exist, like every other `/tickets/{token}` route.
    let known = app
        .broker
        .read(move |v| {
            v.sites
                .iter()
                .any(|s| s.resolve(luot_core::TicketRef::Token(t)).is_some())
        })
        .await?;
    if !known {
        return Err(unknown());
    }
    let url = app.ticket_url(&token);
    let code = qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| ApiError::QrFailed(e.to_string()))?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "private, max-age=86400"),
        ],
        svg,
    )
        .into_response())
}
