//! Read models: sites, their setup, snapshot, queues, counters and summary; a ticket by its
//! token and its QR code.

use super::site_index;
use crate::App;
use crate::error::{ApiError, TicketKey, store_error};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use luot_proto::{ServiceStatsDto, SiteSnapshot, TicketView};
use luot_store::Accounts;
use serde_json::{Value, json};
use std::sync::Arc;

#[utoipa::path(
    get,
    path = "/sites",
    operation_id = "listSites",
    tag = "read",
    summary = r#"Sites of this server"#,
    security(()),
    responses()
)]
pub(super) async fn sites(State(app): State<Arc<App>>) -> Json<Value> {
    Json(json!(
        app.broker
            .runtime()
            .iter()
            .map(|r| json!({
                "code": r.code.as_str(),
                "name": {"vi": r.settings.core.name.vi, "en": r.settings.core.name.en},
            }))
            .collect::<Vec<_>>()
    ))
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
    responses()
)]
pub(super) async fn officials(
    State(app): State<Arc<App>>,
    Path(site): Path<String>,
) -> Result<Json<Value>, ApiError> {
    site_index(&app, &site)?;
    let users = app.accounts(|c| c.users()).await.map_err(store_error)?;
    Ok(Json(json!(
        users
            .iter()
            .filter(|u| !u.disabled && u.role.serves())
            .map(|u| json!({"login": u.login, "display_name": u.display_name}))
            .collect::<Vec<_>>()
    )))
}

fn text(t: &luot_core::Text) -> Value {
    json!({"vi": t.vi, "en": t.en})
}

fn hours(h: &luot_core::WeekHours) -> Value {
    json!(
        h.days
            .iter()
            .map(|d| d
                .iter()
                .map(|(s, e)| format!("{:02}:{:02}-{:02}:{:02}", s / 60, s % 60, e / 60, e % 60))
                .collect::<Vec<_>>())
            .collect::<Vec<_>>()
    )
}

/// The public configuration a client needs to draw itself: names, prefixes, counters, scale.
#[utoipa::path(
    get,
    path = "/sites/{site}/setup",
    operation_id = "getSetup",
    tag = "read",
    summary = r#"Public configuration of a site"#,
    security(()),
    responses()
)]
pub(super) async fn setup(
    State(app): State<Arc<App>>,
    Path(site): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let i = site_index(&app, &site)?;
    let runtime = app.broker.runtime();
    let s = &runtime[i].settings;
    let c = &s.core;
    Ok(Json(json!({
        "site": c.code.as_str(),
        "name": text(&c.name),
        "time_zone": s.time_zone,
        "public_url": app.public_url,
        "hours": hours(&s.hours),
        "notice": text(&s.notice),
        "recent_calls": s.recent_calls,
        "departments": c.departments.iter().map(|d| json!({
            "code": d.code.as_str(), "prefix": d.prefix.as_str(), "name": text(&d.name),
        })).collect::<Vec<_>>(),
        "services": c.services.iter().map(|v| json!({
            "code": v.code.as_str(), "department": v.department.as_str(), "prefix": v.prefix.as_str(),
            "name": text(&v.name), "daily_cap": v.daily_cap, "expected_service_s": v.expected_service_s,
            "hours": hours(&v.hours),
            "keywords": s.service_keywords.get(&v.code).cloned().unwrap_or_default(),
            "counters": c.counters.iter().filter(|k| k.services.iter().any(|x| x.service == v.code)).map(|k| k.number).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "counters": c.counters.iter().map(|k| json!({
            "code": k.code.as_str(), "number": k.number, "name": text(&k.name),
            "services": k.services.iter().map(|x| x.service.as_str()).collect::<Vec<_>>(),
            "priority_first": k.priority_first,
        })).collect::<Vec<_>>(),
        "priority_categories": c.priority_categories.iter().map(|p| json!({"code": p.code.as_str(), "name": text(&p.name), "min_age": p.min_age})).collect::<Vec<_>>(),
        "rating": {
            "labels": s.rating.labels.iter().map(text).collect::<Vec<_>>(),
            "low_score_reasons": s.rating.low_score_reasons.iter().map(text).collect::<Vec<_>>(),
            "window_s": c.policy.rating_window_s,
        },
        "announcement": {"vi": s.announcement.vi, "en": s.announcement.en, "repeat": s.announcement.repeat},
        "policy": {"normal_per_priority": c.policy.normal_per_priority, "max_wait_s": c.policy.max_wait_s, "recall_max": c.policy.recall_max, "no_show_return_s": c.policy.no_show_return_s, "wait_target_s": c.policy.wait_target_s},
    })))
}

#[utoipa::path(
    get,
    path = "/sites/{site}/snapshot",
    operation_id = "getSnapshot",
    tag = "read",
    summary = r#"Live state of a site at a seq"#,
    security(()),
    responses()
)]
pub(super) async fn snapshot(
    State(app): State<Arc<App>>,
    Path(site): Path<String>,
) -> Result<Json<Value>, ApiError> {
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
    Ok(Json(json!({"seq": seq, "snapshot": snap})))
}

#[utoipa::path(
    get,
    path = "/sites/{site}/queues",
    operation_id = "getQueues",
    tag = "read",
    summary = r#"Waiting counts and estimates per service"#,
    security(()),
    responses()
)]
pub(super) async fn queues(
    State(app): State<Arc<App>>,
    Path(site): Path<String>,
) -> Result<Json<Vec<ServiceStatsDto>>, ApiError> {
    let i = site_index(&app, &site)?;
    let stats = app
        .broker
        .read(move |v| {
            let s = &v.sites[i];
            let now = v.now(i);
            s.config()
                .services
                .iter()
                .map(|svc| ServiceStatsDto::of(s, svc, &now))
                .collect()
        })
        .await?;
    Ok(Json(stats))
}

#[utoipa::path(
    get,
    path = "/sites/{site}/counters",
    operation_id = "getCounters",
    tag = "read",
    summary = r#"Counters and their current tickets"#,
    security(()),
    responses()
)]
pub(super) async fn counters(
    State(app): State<Arc<App>>,
    Path(site): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let i = site_index(&app, &site)?;
    let snap = app
        .broker
        .read(move |v| SiteSnapshot::of(&v.sites[i], &v.now(i), v.intake_open, false))
        .await?;
    Ok(Json(json!(snap.counters)))
}

/// Today so far: counts by state and channel, mean and longest wait.
#[utoipa::path(
    get,
    path = "/sites/{site}/summary",
    operation_id = "getSummary",
    tag = "read",
    summary = r#"Today so far"#,
    security(()),
    responses()
)]
pub(super) async fn summary(
    State(app): State<Arc<App>>,
    Path(site): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let i = site_index(&app, &site)?;
    let v = app
        .broker
        .read(move |v| {
            let s = &v.sites[i];
            let mut by_state = std::collections::BTreeMap::<&str, u32>::new();
            let mut by_channel = std::collections::BTreeMap::<&str, u32>::new();
            let mut waits = Vec::new();
            let mut services = Vec::new();
            for t in s.tickets() {
                *by_state.entry(t.state.as_str()).or_default() += 1;
                *by_channel.entry(t.channel.as_str()).or_default() += 1;
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
            json!({
                "site": s.config().code.as_str(),
                "day": s.day().map(|d| d.to_string()),
                "issued": s.issued_today(),
                "waiting": s.waiting_total(),
                "by_state": by_state,
                "by_channel": by_channel,
                "wait_s_mean": mean(&waits),
                "wait_s_max": waits.iter().max(),
                "service_s_mean": mean(&services),
                "seq": v.seq,
            })
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
    responses()
)]
pub(super) async fn ticket(
    State(app): State<Arc<App>>,
    Path(token): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let t = luot_core::Token::from_hex(&token).ok_or(ApiError::UnknownTicket(TicketKey::Token))?;
    let found = app
        .broker
        .read(move |v| {
            v.sites.iter().enumerate().find_map(|(i, s)| {
                s.resolve(luot_core::TicketRef::Token(t)).map(|tk| {
                    let counter_number = tk.counter.and_then(|c| s.config().counter(*c)).map(|c| c.number);
                    json!({"site": s.config().code.as_str(), "site_index": i, "ticket": TicketView::of_at(tk, s, &v.now(i)), "counter_number": counter_number, "seq": v.seq})
                })
            })
        })
        .await
        ?;
    found
        .map(Json)
        .ok_or(ApiError::UnknownTicket(TicketKey::ExpiredToken))
}

#[utoipa::path(
    get,
    path = "/tickets/{token}/qr.svg",
    operation_id = "getTicketQr",
    tag = "phone",
    summary = r#"QR code of the phone page URL"#,
    description = r#"Only for a ticket that exists today (404 `ticket_unknown` otherwise)."#,
    security(()),
    responses()
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
    let url = format!("{}/t/{token}", app.public_url);
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
