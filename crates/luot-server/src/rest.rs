//! The versioned REST API (`/api/v1/…`): every command and the read models, for integrations and
//! scripts; plus `/healthz`, `/metrics` and the static pages.

use crate::App;
use crate::auth::{self, Principal, SESSION_COOKIE};
use crate::dispatch::{self, ApiError};
use crate::proxy::ClientIp;
use crate::report::Lang;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use luot_proto::{CommandDto, ErrorDto, ServiceStatsDto, SiteSnapshot, TargetDto, TicketView};
use luot_store::{Accounts, NewDevice, User};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::net::IpAddr;
use std::sync::Arc;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (self.status, Json(self.error)).into_response();
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        res
    }
}

fn store_error(e: luot_store::StoreError) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        crate::broker::storage_error(&e),
    )
}

fn broker_error(e: ErrorDto) -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e)
}

/// Parses a JSON body with an error that says where it went wrong.
/// Its strings are taken in NFC (`luot_proto::nfc_json`).
fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    let parsed = match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(&luot_proto::nfc_json(text)),
        Err(_) => serde_json::from_slice(bytes),
    };
    parsed.map_err(|e| {
        // No position is known (line 0) for errors inside tagged enums such as commands.
        if e.line() == 0 {
            return ApiError::bad_request(
                "bad_body",
                format!("Nội dung không hợp lệ: {e}"),
                format!("Malformed body: {e}"),
            );
        }
        ApiError::bad_request(
            "bad_body",
            format!(
                "Nội dung không hợp lệ (dòng {}, cột {}): {e}",
                e.line(),
                e.column()
            ),
            format!(
                "Malformed body (line {}, column {}): {e}",
                e.line(),
                e.column()
            ),
        )
    })
}

pub fn router(app: Arc<App>) -> Router {
    let api = Router::new()
        .route("/openapi.json", get(openapi))
        .route("/sites", get(sites))
        .route("/sites/{site}/setup", get(setup))
        .route("/sites/{site}/snapshot", get(snapshot))
        .route("/sites/{site}/queues", get(queues))
        .route("/sites/{site}/counters", get(counters))
        .route("/sites/{site}/summary", get(summary))
        .route("/sites/{site}/reports", get(crate::report::reports))
        .route(
            "/sites/{site}/staffing-plan",
            get(crate::staffing_plan::staffing_plan),
        )
        .route("/sites/{site}/commands", post(command))
        .route("/sites/{site}/tickets", post(issue))
        .route(
            "/sites/{site}/tickets/{number}/{action}",
            post(ticket_action),
        )
        .route(
            "/sites/{site}/counters/{counter}/{action}",
            post(counter_action),
        )
        .route("/tickets/{token}", get(ticket))
        .route("/tickets/{token}/qr.svg", get(qr))
        .route("/tickets/{token}/{action}", post(phone_action))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/me", get(me))
        .route("/sites/{site}/officials", get(officials))
        .route("/admin/users", get(users).post(add_user))
        .route("/admin/users/{login}", post(edit_user))
        .route("/admin/users/{login}/{action}", post(user_action))
        .route("/admin/audit", get(audit))
        .route("/admin/devices", get(devices).post(pair_device))
        .route("/admin/devices/{id}/revoke", post(revoke_device))
        .fallback(|| async {
            ApiError::not_found(
                "no_route",
                "Không có đường dẫn API này",
                "No such API route",
            )
        })
        // Bodies are JSON, declared as such (json_body.rs); clips are not under this layer.
        .layer(axum::middleware::from_fn(crate::json_body::json_only));
    // Configuration texts are larger than any command: their own, larger body limit.
    let config = Router::new()
        .route("/admin/config", get(get_config).put(put_config))
        .route("/admin/config/check", post(check_config))
        .layer(DefaultBodyLimit::max(CONFIG_BODY_MAX))
        .layer(axum::middleware::from_fn(crate::json_body::json_only));
    // Voice clips: the body is the .ogg file, read up to its own limit (clips::CLIP_BYTES_MAX).
    let clips = Router::new()
        .route("/admin/clips", get(crate::clips::list))
        .route(
            "/admin/clips/chime",
            put(crate::clips::put_chime).delete(crate::clips::delete_chime),
        )
        .route(
            "/admin/clips/{lang}/{name}",
            put(crate::clips::put).delete(crate::clips::delete),
        );
    // The access log sees every request, the fallback's included.
    let logged = app.clone();
    crate::access_log::layer(
        Router::new()
            .route("/ws", get(crate::ws::handler))
            .route("/healthz", get(healthz))
            .route("/metrics", get(metrics))
            .route("/t/{token}", get(phone_page))
            .nest(
                "/api/v1",
                config
                    .merge(clips)
                    .merge(api)
                    .layer(axum::middleware::from_fn_with_state(
                        app.clone(),
                        same_origin,
                    )),
            )
            .fallback(crate::assets::serve)
            .layer(DefaultBodyLimit::max(app.limits.http_body_max))
            .with_state(app),
        &logged,
    )
}

/// A page from another origin may not act here with the credentials its browser holds:
/// SameSite=Strict keeps the session cookie from other sites, not from another port or
/// subdomain of the same one. Reads without credentials stay open to anyone.
async fn same_origin(
    State(app): State<Arc<App>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let headers = req.headers();
    let safe = matches!(*req.method(), Method::GET | Method::HEAD);
    let credentials =
        headers.contains_key(header::COOKIE) || headers.contains_key(header::AUTHORIZATION);
    if (!safe || credentials) && !crate::ws::origin_allowed(&app, headers) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorDto::new(
                "origin_refused",
                "Nguồn kết nối không được phép",
                "Origin not allowed",
            ),
        )
        .into_response();
    }
    next.run(req).await
}

// ----- who is asking -----

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The hash of the session cookie's token, if one of the right length is sent.
pub fn session_hash(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE)
        .filter(|t| t.len() == 64)
        .map(auth::token_hash)
}

/// The official or manager behind a session cookie, if it is valid and not expired.
pub async fn session_principal(app: &Arc<App>, headers: &HeaderMap) -> Principal {
    match session_hash(headers) {
        Some(hash) => session_by_hash(app, hash).await,
        None => Principal::Anonymous,
    }
}

/// The user of a session (by its token's hash), if it is valid, not expired, not disabled.
pub async fn session_by_hash(app: &Arc<App>, hash: String) -> Principal {
    if !app.activity.touch(&hash) {
        let h = hash.clone();
        let _ = app.accounts(move |c| c.delete_session(&h)).await;
        return Principal::Anonymous;
    }
    let h = hash.clone();
    let Ok(Some((user, created))) = app.accounts(move |c| c.session(&h)).await else {
        return Principal::Anonymous;
    };
    if app.clock.now_ms() - created > auth::SESSION_ABSOLUTE_MS || user.disabled {
        app.activity.forget(&hash);
        let _ = app.accounts(move |c| c.delete_session(&hash)).await;
        return Principal::Anonymous;
    }
    Principal::User(user)
}

/// A session, or a device presenting `Authorization: Bearer <token>`.
async fn principal(app: &Arc<App>, headers: &HeaderMap) -> Principal {
    if let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        let hash = auth::token_hash(token.trim());
        return match app.accounts(move |c| c.device_by_token(&hash)).await {
            Ok(Some(d)) => Principal::Device(d),
            _ => Principal::Anonymous,
        };
    }
    session_principal(app, headers).await
}

fn site_index(app: &App, code: &str) -> Result<usize, ApiError> {
    app.broker.site_index(code).ok_or_else(|| {
        ApiError::not_found(
            "unknown_site",
            "Không có điểm tiếp nhận này",
            "No such site",
        )
    })
}

// ----- health and metrics -----

/// Ready (200) while tickets can be issued. A printer fault is reported in `printers` but
/// keeps the server ready: tickets stay valid, show on the kiosk and can be printed again.
async fn healthz(State(app): State<Arc<App>>) -> Response {
    let r = app
        .broker
        .read(|v| (v.intake_open, v.seq, v.intake_reason.cloned()))
        .await;
    let printers: Vec<_> = app.printers.all().iter().map(|p| p.status()).collect();
    match r {
        Ok((true, seq, _)) => Json(json!({"status": "ok", "storage": "ok", "seq": seq, "printers": printers})).into_response(),
        Ok((false, seq, reason)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "degraded", "storage": "failing", "seq": seq, "message": "Tạm ngưng cấp số: không ghi được dữ liệu", "reason": reason, "printers": printers})),
        )
            .into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "stopping", "error": e}))).into_response(),
    }
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let queues = app
        .broker
        .read(|v| {
            v.sites
                .iter()
                .flat_map(|s| {
                    s.config().services.iter().map(move |svc| {
                        (
                            s.config().code.to_string(),
                            svc.code.to_string(),
                            s.waiting_for(svc.code),
                        )
                    })
                })
                .collect::<Vec<_>>()
        })
        .await
        .unwrap_or_default();
    let text = app.metrics.render(queues, app.printers.metric_samples());
    ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response()
}

async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("openapi.json"),
    )
        .into_response()
}

// ----- read models -----

async fn sites(State(app): State<Arc<App>>) -> Json<Value> {
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
async fn officials(
    State(app): State<Arc<App>>,
    Path(site): Path<String>,
) -> Result<Json<Value>, ApiError> {
    site_index(&app, &site)?;
    let users = app.accounts(|c| c.users()).await.map_err(store_error)?;
    Ok(Json(json!(
        users
            .iter()
            .filter(|u| !u.disabled && u.role != "admin")
            .map(|u| json!({"login": u.login, "display_name": u.display_name}))
            .collect::<Vec<_>>()
    )))
}

// ----- configuration, live -----

/// Largest configuration text accepted over the API.
pub const CONFIG_BODY_MAX: usize = 1024 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigBody {
    toml: String,
}

fn config_errors(e: &luot_proto::config::ConfigErrors) -> Response {
    let at = |e: &luot_proto::config::ConfigError, m: &str| format!("{}:{}: {m}", e.line, e.column);
    let first_vi = e
        .errors
        .first()
        .map(|e| at(e, &e.message_vi))
        .unwrap_or_default();
    let first_en = e
        .errors
        .first()
        .map(|e| at(e, &e.message))
        .unwrap_or_default();
    (
        StatusCode::BAD_REQUEST,
        Json(json!({
            "code": "config_invalid",
            "message": format!("Cấu hình có {} lỗi. Lỗi đầu tiên, dòng {first_vi}", e.errors.len()),
            "message_en": format!("The configuration has {} error(s). First, line {first_en}", e.errors.len()),
            "errors": e.errors.iter().map(|e| json!({"line": e.line, "column": e.column, "message": e.message_vi, "message_en": e.message})).collect::<Vec<_>>(),
        })),
    )
        .into_response()
}

/// Parses and checks a configuration text, including the time zones against the tz database.
fn parse_center(
    text: &str,
) -> Result<
    (
        luot_proto::config::CenterConfig,
        Vec<crate::broker::SiteRuntime>,
    ),
    Response,
> {
    let center =
        luot_proto::config::parse_config(text, "config.toml").map_err(|e| config_errors(&e))?;
    let mut runtime = Vec::new();
    for s in &center.sites {
        let tz = jiff::tz::TimeZone::get(&s.time_zone).map_err(|_| {
            config_errors(&luot_proto::config::ConfigErrors {
                errors: vec![luot_proto::config::ConfigError {
                    file: "config.toml".into(),
                    line: 1,
                    column: 1,
                    message: format!("site {}: unknown time zone {:?}", s.core.code, s.time_zone),
                    message_vi: format!(
                        "điểm phục vụ {}: không có múi giờ {:?}",
                        s.core.code, s.time_zone
                    ),
                }],
            })
        })?;
        runtime.push(crate::broker::SiteRuntime {
            code: s.core.code,
            settings: s.clone(),
            tz,
        });
    }
    Ok((center, runtime))
}

async fn get_config(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    require_role(&app, &headers, &["manager", "admin"]).await?;
    let (toml, version) = app.config_text.read().expect("config lock").clone();
    Ok(Json(json!({"toml": toml, "version": version})))
}

async fn check_config(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    require_role(&app, &headers, &["manager", "admin"]).await?;
    let b: ConfigBody = body(&bytes)?;
    Ok(match parse_center(&b.toml) {
        Err(res) => res,
        Ok((c, _)) => {
            let services: usize = c.sites.iter().map(|s| s.core.services.len()).sum();
            let counters: usize = c.sites.iter().map(|s| s.core.counters.len()).sum();
            Json(json!({"ok": true, "summary": {"sites": c.sites.len(), "services": services, "counters": counters}})).into_response()
        }
    })
}

/// Applies a configuration live: kiosks, displays and consoles reload their setup without a
/// page reload. Audited.
async fn put_config(
    State(app): State<Arc<App>>,
    ClientIp(addr): ClientIp,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let from = addr.to_string();
    let user = require_role(&app, &headers, &["manager", "admin"]).await?;
    let b: ConfigBody = body(&bytes)?;
    let (center, runtime) = match parse_center(&b.toml) {
        Ok(x) => x,
        Err(res) => return Ok(res),
    };
    // The listening address, public URL, origins, printers and daily backup are read at start
    // only.
    let restart_needed = center.public_url != app.center.public_url
        || center.allowed_origins != app.center.allowed_origins
        || center.printers != app.center.printers
        || center.backup != app.center.backup;
    app.broker.reconfigure(runtime).await.map_err(|e| {
        let status = if e.code == "config_refused" {
            StatusCode::CONFLICT
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        ApiError::new(status, e)
    })?;
    let now = app.clock.now_ms();
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b.toml.as_bytes()));
    let text = b.toml.clone();
    let actor = user.login.clone();
    let version = app
        .accounts(move |c| {
            let v = luot_store::record_config(c, &text, &digest, now)?;
            c.audit_from(now, &actor, "config_apply", &format!("version {v}"), &from)?;
            Ok(v)
        })
        .await
        .map_err(store_error)?;
    *app.config_text.write().expect("config lock") = (b.toml, version);
    Ok(Json(json!({"version": version, "restart_needed": restart_needed})).into_response())
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
async fn setup(
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
        "priority_categories": c.priority_categories.iter().map(|p| json!({"code": p.code.as_str(), "name": text(&p.name)})).collect::<Vec<_>>(),
        "rating": {
            "labels": s.rating.labels.iter().map(text).collect::<Vec<_>>(),
            "low_score_reasons": s.rating.low_score_reasons.iter().map(text).collect::<Vec<_>>(),
            "window_s": c.policy.rating_window_s,
        },
        "announcement": {"vi": s.announcement.vi, "en": s.announcement.en, "repeat": s.announcement.repeat},
        "policy": {"normal_per_priority": c.policy.normal_per_priority, "max_wait_s": c.policy.max_wait_s, "recall_max": c.policy.recall_max, "no_show_return_s": c.policy.no_show_return_s, "wait_target_s": c.policy.wait_target_s},
    })))
}

async fn snapshot(
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
        .await
        .map_err(broker_error)?;
    Ok(Json(json!({"seq": seq, "snapshot": snap})))
}

async fn queues(
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
        .await
        .map_err(broker_error)?;
    Ok(Json(stats))
}

async fn counters(
    State(app): State<Arc<App>>,
    Path(site): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let i = site_index(&app, &site)?;
    let snap = app
        .broker
        .read(move |v| SiteSnapshot::of(&v.sites[i], &v.now(i), v.intake_open, false))
        .await
        .map_err(broker_error)?;
    Ok(Json(json!(snap.counters)))
}

/// Today so far: counts by state and channel, mean and longest wait.
async fn summary(
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
        .await
        .map_err(broker_error)?;
    Ok(Json(v))
}

async fn ticket(
    State(app): State<Arc<App>>,
    Path(token): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let t = luot_core::Token::from_hex(&token).ok_or_else(|| {
        ApiError::not_found(
            "ticket_unknown",
            "Không tìm thấy số thứ tự",
            "No such ticket",
        )
    })?;
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
        .map_err(broker_error)?;
    found.map(Json).ok_or_else(|| {
        ApiError::not_found(
            "ticket_unknown",
            "Không tìm thấy số thứ tự (có thể đã hết hạn)",
            "No such ticket (it may have expired)",
        )
    })
}

async fn qr(State(app): State<Arc<App>>, Path(token): Path<String>) -> Result<Response, ApiError> {
    let unknown = || {
        ApiError::not_found(
            "ticket_unknown",
            "Không tìm thấy số thứ tự",
            "No such ticket",
        )
    };
    let t = luot_core::Token::from_hex(&token).ok_or_else(unknown)?;
    // Only for tickets that exist, like every other `/tickets/{token}` route.
    let known = app
        .broker
        .read(move |v| {
            v.sites
                .iter()
                .any(|s| s.resolve(luot_core::TicketRef::Token(t)).is_some())
        })
        .await
        .map_err(broker_error)?;
    if !known {
        return Err(unknown());
    }
    let url = format!("{}/t/{token}", app.public_url);
    let code = qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| ApiError::bad_request("qr_failed", "Không tạo được mã QR", e.to_string()))?;
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

async fn phone_page(State(app): State<Arc<App>>) -> Response {
    crate::assets::file(&app, "phone.html").await
}

// ----- commands -----

async fn run(
    app: &Arc<App>,
    headers: &HeaderMap,
    addr: IpAddr,
    site: &str,
    dto: CommandDto,
) -> Result<Response, ApiError> {
    let i = site_index(app, site)?;
    let p = principal(app, headers).await;
    let r = dispatch::execute(app, &p, i, dto, addr).await?;
    Ok(Json(r).into_response())
}

async fn command(
    State(app): State<Arc<App>>,
    ClientIp(addr): ClientIp,
    headers: HeaderMap,
    Path(site): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let dto: CommandDto = body(&bytes)?;
    run(&app, &headers, addr, &site, dto).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IssueBody {
    service: String,
    #[serde(default)]
    priority: Option<String>,
    #[serde(default)]
    appointment: Option<luot_proto::AppointmentDto>,
    #[serde(default)]
    person_id: Option<String>,
}

async fn issue(
    State(app): State<Arc<App>>,
    ClientIp(addr): ClientIp,
    headers: HeaderMap,
    Path(site): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let b: IssueBody = body(&bytes)?;
    let dto = CommandDto::Issue {
        service: b.service,
        priority: b.priority,
        appointment: b.appointment,
        person_id: b.person_id,
    };
    let mut res = run(&app, &headers, addr, &site, dto).await?;
    *res.status_mut() = StatusCode::CREATED;
    Ok(res)
}

async fn ticket_action(
    State(app): State<Arc<App>>,
    ClientIp(addr): ClientIp,
    headers: HeaderMap,
    Path((site, number, action)): Path<(String, String, String)>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let dto = match action.as_str() {
        "reprint" => return reprint(&app, &headers, &site, &number, &bytes).await,
        "cancel" => CommandDto::Cancel {
            number: Some(number),
            token: None,
        },
        "return" => CommandDto::Return { number },
        _ => return Err(ApiError::no_action()),
    };
    run(&app, &headers, addr, &site, dto).await
}

/// A kiosk may print again only its own recent tickets: its token is on the paper.
pub const KIOSK_REPRINT_WINDOW_MS: i64 = 10 * 60 * 1000;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReprintBody {
    #[serde(default)]
    printer: Option<String>,
}

/// Prints a ticket again on a network printer and says how it went: 200 printed, 503 with the
/// printer's state when it failed, 202 when it is still waiting in the printer's queue.
async fn reprint(
    app: &Arc<App>,
    headers: &HeaderMap,
    site: &str,
    number: &str,
    bytes: &Bytes,
) -> Result<Response, ApiError> {
    let i = site_index(app, site)?;
    let b: ReprintBody = if bytes.is_empty() {
        ReprintBody::default()
    } else {
        body(bytes)?
    };
    let n = luot_core::TicketNumber::parse(number)
        .ok_or_else(|| ApiError::from(luot_proto::WireError::invalid("number", number)))?;
    let who = principal(app, headers).await;
    let no_printer = |vi: &str, en: &str| {
        ApiError::new(
            StatusCode::CONFLICT,
            ErrorDto::new("no_printer", vi, en).with_field("printer"),
        )
    };
    let printer = match &who {
        Principal::Device(d) if d.kind == "kiosk" && d.site == site => {
            app.printers.for_kiosk(site, &d.name).ok_or_else(|| {
                no_printer(
                    "Kiosk này không có máy in mạng",
                    "This kiosk has no network printer",
                )
            })?
        }
        Principal::User(u) if !u.disabled => match &b.printer {
            Some(name) => app.printers.by_name(site, name).ok_or_else(|| {
                ApiError::not_found("unknown_printer", "Không có máy in này", "No such printer")
            })?,
            None => match app.printers.of_site(site).as_slice() {
                [only] => *only,
                [] => {
                    return Err(no_printer(
                        "Điểm tiếp nhận này không có máy in mạng",
                        "This site has no network printer",
                    ));
                }
                _ => {
                    return Err(no_printer(
                        "Có nhiều máy in: hãy chọn máy in (printer)",
                        "Several printers: say which one (printer)",
                    ));
                }
            },
        },
        Principal::Anonymous => return Err(ApiError::login_required()),
        _ => return Err(ApiError::forbidden()),
    };
    let unknown = || {
        ApiError::not_found(
            "unknown_ticket",
            "Không có số thứ tự này hôm nay",
            "No such ticket today",
        )
    };
    let (ticket, t) = crate::printer::ticket_print(app, i, n)
        .await
        .map_err(broker_error)?
        .ok_or_else(unknown)?;
    use luot_core::TicketState as S;
    if !matches!(t.state, S::Waiting | S::Called | S::Serving) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorDto::new(
                "ticket_finished",
                "Số thứ tự này đã xong hoặc đã hủy, không in lại",
                "This ticket is finished or cancelled; it is not printed again",
            ),
        ));
    }
    if matches!(who, Principal::Device(_))
        && (t.channel != luot_core::Channel::Kiosk
            || app.clock.now_ms() - t.issued_at_ms > KIOSK_REPRINT_WINDOW_MS)
    {
        return Err(ApiError::forbidden());
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    let queued = printer.submit(ticket, Some(tx));
    if let Some(e) = queued.error {
        return Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e));
    }
    // Long enough for the jobs ahead of it in a short queue; then answer "still queued".
    let wait = std::time::Duration::from_millis(u64::from(printer.settings.timeout_ms))
        * (crate::printer::SEND_TIMEOUT_FACTOR + 3);
    Ok(match tokio::time::timeout(wait, rx).await {
        Ok(Ok(st)) if st.ok => Json(json!({"printed": true, "printer": st})).into_response(),
        Ok(Ok(st)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "code": format!("printer_{}", st.state),
                "message": st.message,
                "message_en": st.message_en,
                "printed": false,
                "printer": st,
            })),
        )
            .into_response(),
        _ => (
            StatusCode::ACCEPTED,
            Json(json!({"printed": false, "queued": true, "printer": printer.status()})),
        )
            .into_response(),
    })
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CounterBody {
    #[serde(default)]
    number: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    to: Option<TargetDto>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    dossier: Option<String>,
}

async fn counter_action(
    State(app): State<Arc<App>>,
    ClientIp(addr): ClientIp,
    headers: HeaderMap,
    Path((site, counter, action)): Path<(String, String, String)>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let b: CounterBody = if bytes.is_empty() {
        CounterBody::default()
    } else {
        body(&bytes)?
    };
    let missing = |f: &'static str| -> ApiError { luot_proto::WireError::missing(f).into() };
    let dto = match action.as_str() {
        "call-next" => CommandDto::CallNext { counter },
        "call" => CommandDto::CallTicket {
            counter,
            number: b.number.ok_or_else(|| missing("number"))?,
        },
        "recall" => CommandDto::Recall { counter },
        "start" => CommandDto::Start { counter },
        "complete" => CommandDto::Complete { counter },
        "no-show" => CommandDto::NoShow { counter },
        "transfer" => CommandDto::Transfer {
            counter,
            to: b.to.ok_or_else(|| missing("to"))?,
            note: b.note.unwrap_or_default(),
        },
        "open" => CommandDto::OpenCounter { counter },
        "pause" => CommandDto::PauseCounter {
            counter,
            reason: b.reason.ok_or_else(|| missing("reason"))?,
        },
        "resume" => CommandDto::ResumeCounter { counter },
        "close" => CommandDto::CloseCounter { counter },
        "dossier" => CommandDto::AttachDossier {
            counter,
            number: b.number.ok_or_else(|| missing("number"))?,
            dossier: b.dossier.ok_or_else(|| missing("dossier"))?,
        },
        _ => return Err(ApiError::no_action()),
    };
    run(&app, &headers, addr, &site, dto).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RateBody {
    score: u8,
    #[serde(default)]
    reason: Option<String>,
}

/// A phone acting on its own ticket: the token in the path is its proof.
async fn phone_action(
    State(app): State<Arc<App>>,
    ClientIp(addr): ClientIp,
    Path((token, action)): Path<(String, String)>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let t = luot_core::Token::from_hex(&token).ok_or_else(|| {
        ApiError::not_found(
            "ticket_unknown",
            "Không tìm thấy số thứ tự",
            "No such ticket",
        )
    })?;
    let site = app
        .broker
        .read(move |v| {
            v.sites
                .iter()
                .position(|s| s.resolve(luot_core::TicketRef::Token(t)).is_some())
        })
        .await
        .map_err(broker_error)?
        .ok_or_else(|| {
            ApiError::not_found(
                "ticket_unknown",
                "Không tìm thấy số thứ tự",
                "No such ticket",
            )
        })?;
    let dto = match action.as_str() {
        "cancel" => CommandDto::Cancel {
            number: None,
            token: Some(token),
        },
        "rate" => {
            let b: RateBody = body(&bytes)?;
            CommandDto::Rate {
                number: None,
                token: Some(token),
                score: b.score,
                reason: b.reason,
            }
        }
        _ => return Err(ApiError::no_action()),
    };
    let p = Principal::Phone { site, token: t };
    let r = dispatch::execute(&app, &p, site, dto, addr).await?;
    Ok(Json(r).into_response())
}

// ----- accounts -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    login: String,
    password: String,
}

fn session_cookie(app: &App, value: &str, max_age_s: i64) -> HeaderValue {
    let secure = if app.secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}"
    ))
    .expect("cookie is ASCII")
}

fn user_json(u: &User) -> Value {
    json!({"login": u.login, "display_name": u.display_name, "role": u.role, "counters": u.counters, "disabled": u.disabled})
}

async fn login(
    State(app): State<Arc<App>>,
    ClientIp(addr): ClientIp,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let b: LoginBody = body(&bytes)?;
    if b.login.len() > 64 || b.password.len() > 256 {
        return Err(ApiError::bad_request(
            "invalid_field",
            "Tên đăng nhập hoặc mật khẩu quá dài",
            "Login or password too long",
        ));
    }
    let keys = [format!("login:{}", b.login), format!("addr:{addr}")];
    if let Some(wait) = keys.iter().filter_map(|k| app.backoff.wait(k)).max() {
        app.metrics
            .rate_limited
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut res = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorDto::new(
                "login_backoff",
                format!("Sai quá nhiều lần, thử lại sau {} giây", wait.as_secs() + 1),
                format!("Too many failures, try again in {} s", wait.as_secs() + 1),
            ),
        )
        .into_response();
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait.as_secs() + 1));
        return Ok(res);
    }
    let login = b.login.clone();
    let user = app
        .accounts(move |c| c.user(&login))
        .await
        .map_err(store_error)?;
    let password = b.password;
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    // Verify even for unknown users, so timing does not tell which logins exist.
    let ok = tokio::task::spawn_blocking(move || {
        let h = hash.unwrap_or_else(|| "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0000000000000000000000000000000000000000000".into());
        auth::verify_password(&password, &h)
    })
    .await
    .unwrap_or(false);
    let user = match user {
        Some(u) if ok && !u.disabled => u,
        _ => {
            for k in &keys {
                app.backoff.failed(k);
            }
            // One line per failure (each cost a password check), and one when a failure starts a
            // back-off, naming what is held back and for how long.
            let held: Vec<String> = keys
                .iter()
                .filter_map(|k| {
                    app.backoff
                        .wait(k)
                        .map(|w| format!("{k} {} s", w.as_secs() + 1))
                })
                .collect();
            let (who, now, from) = (b.login.clone(), app.clock.now_ms(), addr.to_string());
            app.accounts(move |c| {
                c.audit_from(now, &who, "login_failed", "", &from)?;
                if !held.is_empty() {
                    c.audit_from(now, &who, "login_backoff", &held.join(", "), &from)?;
                }
                Ok(())
            })
            .await
            .map_err(store_error)?;
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorDto::new(
                    "login_failed",
                    "Sai tên đăng nhập hoặc mật khẩu",
                    "Wrong login or password",
                ),
            ));
        }
    };
    for k in &keys {
        app.backoff.succeeded(k);
    }
    // A new token at every login; the old session, if any, ends.
    if let Some(old) = cookie(&headers, SESSION_COOKIE) {
        let h = auth::token_hash(old);
        app.activity.forget(&h);
        let _ = app.accounts(move |c| c.delete_session(&h)).await;
    }
    let token = auth::new_token();
    let hash = auth::token_hash(&token);
    let (login, now) = (user.login.clone(), app.clock.now_ms());
    app.activity.touch(&hash);
    let from = addr.to_string();
    app.accounts(move |c| {
        c.add_session(&hash, &login, now)?;
        c.audit_from(now, &login, "login", "", &from)
    })
    .await
    .map_err(store_error)?;
    let mut res = Json(user_json(&user)).into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(&app, &token, auth::SESSION_ABSOLUTE_MS / 1000),
    );
    Ok(res)
}

async fn logout(
    State(app): State<Arc<App>>,
    ClientIp(addr): ClientIp,
    headers: HeaderMap,
) -> Response {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        let h = auth::token_hash(token);
        app.activity.forget(&h);
        let (now, from) = (app.clock.now_ms(), addr.to_string());
        let ended = app
            .accounts(move |c| {
                let who = c.session(&h)?.map(|(u, _)| u.login);
                c.delete_session(&h)?;
                if let Some(login) = &who {
                    c.audit_from(now, login, "logout", "", &from)?;
                }
                Ok(who)
            })
            .await;
        // The sockets opened with this session end now (standing.rs).
        if let Ok(Some(login)) = ended {
            crate::standing::announce(&app, login);
        }
    }
    let mut res = Json(json!({"ok": true})).into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&app, "", 0));
    res
}

async fn me(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    match principal(&app, &headers).await {
        Principal::User(u) => Ok(Json(user_json(&u))),
        Principal::Device(d) => Ok(Json(
            json!({"device": d.id, "kind": d.kind, "name": d.name, "site": d.site, "counter": d.counter}),
        )),
        _ => Err(ApiError::login_required()),
    }
}

pub async fn require_role(
    app: &Arc<App>,
    headers: &HeaderMap,
    roles: &[&str],
) -> Result<User, ApiError> {
    match principal(app, headers).await {
        Principal::User(u) if roles.contains(&u.role.as_str()) && !u.disabled => Ok(u),
        Principal::Anonymous => Err(ApiError::login_required()),
        _ => Err(ApiError::forbidden()),
    }
}

async fn users(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    require_role(&app, &headers, &["admin", "manager"]).await?;
    let list = app.accounts(|c| c.users()).await.map_err(store_error)?;
    Ok(Json(json!(list.iter().map(user_json).collect::<Vec<_>>())))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUserBody {
    login: String,
    display_name: String,
    role: String,
    password: String,
    #[serde(default)]
    counters: Vec<String>,
}

async fn add_user(
    State(app): State<Arc<App>>,
    ClientIp(addr): ClientIp,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let from = addr.to_string();
    let admin = require_role(&app, &headers, &["admin"]).await?;
    let b: NewUserBody = body(&bytes)?;
    luot_proto::code("login", &b.login)?;
    check_role(&b.role)?;
    check_counters(&app, &b.counters)?;
    if b.display_name.trim().is_empty() || b.display_name.len() > DISPLAY_NAME_LEN_MAX {
        return Err(luot_proto::WireError::invalid("display_name", &b.display_name).into());
    }
    auth::check_password_strength(&b.password).map_err(|e| {
        ApiError::bad_request("weak_password", format!("Mật khẩu yếu: {e}"), e)
            .into_field("password")
    })?;
    let password = b.password.clone();
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(|e| ApiError::bad_request("hash_failed", e.to_string(), e.to_string()))?
        .map_err(|e| ApiError::bad_request("hash_failed", e.clone(), e))?;
    let now = app.clock.now_ms();
    let user = User {
        login: b.login,
        display_name: b.display_name,
        role: b.role,
        password_hash: hash,
        counters: b.counters,
        disabled: false,
        created_at: now,
    };
    let u = user.clone();
    let actor = admin.login.clone();
    app.accounts(move |c| {
        if c.user(&u.login)?.is_some() {
            return Err(luot_store::StoreError::Other(format!(
                "login {} exists",
                u.login
            )));
        }
        c.add_user(&u)?;
        c.audit_from(now, &actor, "user_add", &u.login, &from)
    })
    .await
    .map_err(|e| {
        ApiError::new(
            StatusCode::CONFLICT,
            ErrorDto::new("user_exists", "Tên đăng nhập đã có", e.to_string()),
        )
    })?;
    Ok((StatusCode::CREATED, Json(user_json(&user))).into_response())
}

fn no_user() -> ApiError {
    ApiError::not_found("user_unknown", "Không có tài khoản này", "No such account")
}

fn check_role(role: &str) -> Result<(), ApiError> {
    if ["official", "manager", "admin"].contains(&role) {
        Ok(())
    } else {
        Err(luot_proto::WireError::invalid("role", role).into())
    }
}

fn check_display_name(name: &str) -> Result<(), ApiError> {
    if name.trim().is_empty() || name.len() > DISPLAY_NAME_LEN_MAX {
        return Err(luot_proto::WireError::invalid("display_name", name).into());
    }
    Ok(())
}

/// Longest display name, in bytes.
pub const DISPLAY_NAME_LEN_MAX: usize = 100;
/// Longest name of a paired device ("Kiosk sảnh A"), in bytes.
pub const DEVICE_NAME_LEN_MAX: usize = 100;
/// Most counters one official may be assigned.
pub const USER_COUNTERS_MAX: usize = 50;

/// Counter codes as accounts hold them (`counter` or `site/counter`), each of a known counter.
fn check_counters(app: &App, counters: &[String]) -> Result<(), ApiError> {
    if counters.len() > USER_COUNTERS_MAX {
        return Err(ApiError::bad_request(
            "too_many_counters",
            format!("Tối đa {USER_COUNTERS_MAX} quầy cho một tài khoản"),
            format!("At most {USER_COUNTERS_MAX} counters per account"),
        )
        .into_field("counters"));
    }
    let runtime = app.broker.runtime();
    for c in counters {
        let (site, counter) = match c.split_once('/') {
            Some((s, c)) => (Some(s), c),
            None => (None, c.as_str()),
        };
        let known = luot_core::Code::new(counter).ok().is_some_and(|code| {
            runtime.iter().any(|rt| {
                site.is_none_or(|s| rt.code.as_str() == s)
                    && rt.settings.core.counter(code).is_some()
            })
        });
        if !known {
            return Err(ApiError::bad_request(
                "unknown_counter",
                format!("Không có quầy '{c}'"),
                format!("No counter '{c}'"),
            )
            .into_field("counters"));
        }
    }
    Ok(())
}

/// Ends a user's sessions in memory and tells their open websockets.
fn account_changed(app: &App, login: &str, hashes: &[String]) {
    for h in hashes {
        app.activity.forget(h);
    }
    let _ = app.account_changes.send(login.to_string());
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EditUserBody {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    counters: Option<Vec<String>>,
}

/// `POST /admin/users/{login}`: change the display name, role or counters (admins).
async fn edit_user(
    State(app): State<Arc<App>>,
    ClientIp(addr): ClientIp,
    headers: HeaderMap,
    Path(login): Path<String>,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let from = addr.to_string();
    let admin = require_role(&app, &headers, &["admin"]).await?;
    let b: EditUserBody = body(&bytes)?;
    if let Some(n) = &b.display_name {
        check_display_name(n)?;
    }
    if let Some(r) = &b.role {
        check_role(r)?;
    }
    if let Some(c) = &b.counters {
        check_counters(&app, c)?;
    }
    let now = app.clock.now_ms();
    let (l, actor) = (login.clone(), admin.login.clone());
    let outcome = app
        .accounts(move |c| {
            let Some(before) = c.user(&l)? else {
                return Ok(Err(no_user()));
            };
            if before.role == "admin"
                && b.role.as_deref().is_some_and(|r| r != "admin")
                && !before.disabled
                && c.active_admins()? <= 1
            {
                return Ok(Err(last_admin()));
            }
            c.update_user(
                &l,
                b.display_name.as_deref().map(str::trim),
                b.role.as_deref(),
                b.counters.as_deref(),
            )?;
            let mut what = Vec::new();
            if let Some(n) = &b.display_name {
                what.push(format!("display_name={}", n.trim()));
            }
            if let Some(r) = &b.role {
                what.push(format!("role={r}"));
            }
            if let Some(cs) = &b.counters {
                what.push(format!("counters={}", cs.join(",")));
            }
            c.audit_from(
                now,
                &actor,
                "user_edit",
                &format!("{l} {}", what.join(" ")),
                &from,
            )?;
            Ok(Ok(c.user(&l)?.expect("just updated")))
        })
        .await
        .map_err(store_error)??;
    let user = outcome;
    // Sessions stay valid; open sockets reconnect to take the new rights.
    account_changed(&app, &login, &[]);
    Ok(Json(user_json(&user)))
}

fn last_admin() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        ErrorDto::new(
            "last_admin",
            "Không thể khóa hoặc hạ quyền quản trị viên cuối cùng",
            "The last active admin cannot be disabled or lose the admin role",
        ),
    )
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    #[serde(default)]
    password: Option<String>,
}

/// `POST /admin/users/{login}/disable|enable|password` (admins). Disabling ends the user's
/// sessions and closes their websockets at once; a new password ends their sessions too.
async fn user_action(
    State(app): State<Arc<App>>,
    ClientIp(addr): ClientIp,
    headers: HeaderMap,
    Path((login, action)): Path<(String, String)>,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let from = addr.to_string();
    let admin = require_role(&app, &headers, &["admin"]).await?;
    let now = app.clock.now_ms();
    let actor = admin.login.clone();
    match action.as_str() {
        "disable" | "enable" => {
            let disable = action == "disable";
            if disable && login == admin.login {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    ErrorDto::new(
                        "cannot_disable_self",
                        "Không thể tự khóa tài khoản của mình",
                        "You cannot disable your own account",
                    ),
                ));
            }
            let l = login.clone();
            let (user, hashes) = app
                .accounts(move |c| {
                    let Some(before) = c.user(&l)? else {
                        return Ok(Err(no_user()));
                    };
                    if disable
                        && before.role == "admin"
                        && !before.disabled
                        && c.active_admins()? <= 1
                    {
                        return Ok(Err(last_admin()));
                    }
                    let hashes = c.session_hashes(&l)?;
                    c.set_disabled(&l, disable)?;
                    c.audit_from(
                        now,
                        &actor,
                        if disable {
                            "user_disable"
                        } else {
                            "user_enable"
                        },
                        &l,
                        &from,
                    )?;
                    Ok(Ok((c.user(&l)?.expect("exists"), hashes)))
                })
                .await
                .map_err(store_error)??;
            if disable {
                account_changed(&app, &login, &hashes);
            }
            Ok(Json(user_json(&user)))
        }
        "password" => {
            let b: PasswordBody = if bytes.is_empty() {
                PasswordBody::default()
            } else {
                body(&bytes)?
            };
            let (password, generated) = match b.password {
                Some(p) => {
                    auth::check_password_strength(&p).map_err(|e| {
                        ApiError::bad_request("weak_password", format!("Mật khẩu yếu: {e}"), e)
                            .into_field("password")
                    })?;
                    (p, false)
                }
                None => (auth::new_password(), true),
            };
            let p = password.clone();
            let hash = tokio::task::spawn_blocking(move || auth::hash_password(&p))
                .await
                .map_err(|e| ApiError::bad_request("hash_failed", e.to_string(), e.to_string()))?
                .map_err(|e| ApiError::bad_request("hash_failed", e.clone(), e))?;
            let l = login.clone();
            let hashes = app
                .accounts(move |c| {
                    if c.user(&l)?.is_none() {
                        return Ok(Err(no_user()));
                    }
                    let hashes = c.session_hashes(&l)?;
                    c.set_password(&l, &hash)?;
                    c.audit_from(now, &actor, "user_password", &l, &from)?;
                    Ok(Ok(hashes))
                })
                .await
                .map_err(store_error)??;
            account_changed(&app, &login, &hashes);
            let mut out = json!({"ok": true, "login": login});
            if generated {
                out["password"] = json!(password);
            }
            Ok(Json(out))
        }
        _ => Err(ApiError::no_action()),
    }
}

/// Default and largest page of the audit viewer.
pub const AUDIT_PAGE_DEFAULT: usize = 50;
pub const AUDIT_PAGE_MAX: usize = 500;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditParams {
    /// First day, `YYYY-MM-DD` in the first site's time zone.
    #[serde(default)]
    from: Option<String>,
    /// Last day, inclusive.
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    actor: Option<String>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    page: Option<usize>,
    #[serde(default)]
    page_size: Option<usize>,
    #[serde(default)]
    format: Option<String>,
    /// The CSV's language (`vi`, the default, or `en`).
    #[serde(default)]
    lang: Option<String>,
}

/// Unix milliseconds of a day's midnight in the first site's time zone.
fn day_start_ms(app: &App, field: &'static str, s: &str) -> Result<i64, ApiError> {
    let bad = || ApiError::from(luot_proto::WireError::invalid(field, s));
    let day = luot_proto::parse_day(s).ok_or_else(bad)?;
    let (y, m, d) = day.ymd();
    let date = jiff::civil::Date::new(y as i16, m as i8, d as i8).map_err(|_| bad())?;
    let tz = &app.broker.runtime()[0].tz;
    let z = date.to_zoned(tz.clone()).map_err(|_| bad())?;
    Ok(z.timestamp().as_millisecond())
}

/// `GET /admin/audit`: the audit log, newest first, filtered and paged (managers and admins);
/// `format=csv` exports every matching line up to `AUDIT_READ_MAX`.
async fn audit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    axum::extract::Query(p): axum::extract::Query<AuditParams>,
) -> Result<Response, ApiError> {
    require_role(&app, &headers, &["manager", "admin"]).await?;
    let from_ms = p
        .from
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| day_start_ms(&app, "from", s))
        .transpose()?;
    let to_ms =
        p.to.as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| day_start_ms(&app, "to", s).map(|ms| ms + 86_400_000))
            .transpose()?;
    if matches!((from_ms, to_ms), (Some(f), Some(t)) if f >= t) {
        return Err(ApiError::bad_request(
            "invalid_range",
            "Ngày bắt đầu sau ngày kết thúc",
            "`from` is after `to`",
        ));
    }
    let text_filter =
        |field: &'static str, v: Option<String>| -> Result<Option<String>, ApiError> {
            match v.filter(|s| !s.is_empty()) {
                Some(s) if s.len() > 64 => Err(luot_proto::WireError::invalid(field, &s).into()),
                v => Ok(v),
            }
        };
    let filter = luot_store::AuditFilter {
        from_ms,
        to_ms,
        actor: text_filter("actor", p.actor)?,
        action: text_filter("action", p.action)?,
    };
    let lang = match p.lang.as_deref() {
        None => Lang::Vi,
        Some(s) => Lang::parse(s)
            .ok_or_else(|| ApiError::from(luot_proto::WireError::invalid("lang", s)))?,
    };
    let csv_out = match p.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => return Err(luot_proto::WireError::invalid("format", other).into()),
    };
    let page_size = p.page_size.unwrap_or(AUDIT_PAGE_DEFAULT);
    if page_size == 0 || page_size > AUDIT_PAGE_MAX {
        return Err(ApiError::bad_request(
            "invalid_page_size",
            format!("Số dòng mỗi trang phải từ 1 đến {AUDIT_PAGE_MAX}"),
            format!("page_size must be 1 to {AUDIT_PAGE_MAX}"),
        )
        .into_field("page_size"));
    }
    let page = p.page.unwrap_or(1).max(1);
    let (offset, limit) = if csv_out {
        (0, luot_store::AUDIT_READ_MAX)
    } else {
        ((page - 1).saturating_mul(page_size), page_size)
    };
    let f = filter.clone();
    let ((entries, total), (actions, actors)) = app
        .accounts(move |c| Ok((c.audit_page(&f, offset, limit)?, c.audit_kinds()?)))
        .await
        .map_err(store_error)?;
    if csv_out {
        let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
        let fail =
            |e: csv::Error| ApiError::bad_request("export_failed", e.to_string(), e.to_string());
        let header = match lang {
            Lang::Vi => [
                "STT",
                "Thời điểm",
                "Người thực hiện",
                "Thao tác",
                "Chi tiết",
                "Địa chỉ máy",
            ],
            Lang::En => ["No.", "Time", "Who", "Action", "Detail", "Address"],
        };
        w.write_record(header).map_err(fail)?;
        // People by their names ("Nguyễn Văn An (an)"), as the manager knows them.
        let names: std::collections::HashMap<String, String> = app
            .accounts(|c| c.users())
            .await
            .map_err(store_error)?
            .into_iter()
            .map(|u| (u.login.clone(), format!("{} ({})", u.display_name, u.login)))
            .collect();
        // Times in the site's time zone, as the manager reads a clock.
        let tz = app.broker.runtime()[0].tz.clone();
        for e in &entries {
            let at = jiff::Timestamp::from_millisecond(e.at_ms)
                .map(|t| {
                    t.to_zoned(tz.clone())
                        .strftime("%Y-%m-%d %H:%M:%S")
                        .to_string()
                })
                .unwrap_or_default();
            w.write_record([
                e.id.to_string(),
                at,
                names
                    .get(&e.actor)
                    .cloned()
                    .unwrap_or_else(|| e.actor.clone()),
                audit_action_names(&e.action)
                    .map_or(e.action.as_str(), |(vi, en)| lang.pick(vi, en))
                    .to_string(),
                e.detail.clone(),
                e.address.clone(),
            ])
            .map_err(fail)?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| ApiError::bad_request("export_failed", e.to_string(), e.to_string()))?;
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"luot-audit.csv\"",
                ),
            ],
            bytes,
        )
            .into_response());
    }
    Ok(Json(json!({
        "entries": entries,
        "total": total,
        "page": page,
        "page_size": page_size,
        "pages": (total as usize).div_ceil(page_size).max(1),
        "action_names": actions
            .iter()
            .chain(entries.iter().map(|e| &e.action))
            .filter_map(|a| audit_action_names(a).map(|(vi, en)| (a.clone(), json!({"vi": vi, "en": en}))))
            .collect::<serde_json::Map<String, Value>>(),
        "actions": actions,
        "actors": actors,
    }))
    .into_response())
}

/// What an audit line's action code means, in Vietnamese and English: for the CSV export and,
/// through `action_names` in the JSON, for the admin page (one list, here).
fn audit_action_names(action: &str) -> Option<(&'static str, &'static str)> {
    Some(match action {
        "login" => ("Đăng nhập", "Login"),
        "login_failed" => ("Đăng nhập sai", "Failed login"),
        "login_backoff" => ("Tạm chặn đăng nhập", "Login held back"),
        "logout" => ("Đăng xuất", "Logout"),
        "user_add" => ("Thêm tài khoản", "Account added"),
        "user_edit" => ("Sửa tài khoản", "Account edited"),
        "user_disable" => ("Khóa tài khoản", "Account disabled"),
        "user_enable" => ("Mở khóa tài khoản", "Account enabled"),
        "user_password" => ("Đặt lại mật khẩu", "Password reset"),
        "user_passwd" => (
            "Đổi mật khẩu (dòng lệnh)",
            "Password changed (command line)",
        ),
        "device_pair" => ("Ghép nối thiết bị", "Device paired"),
        "device_revoke" => ("Thu hồi thiết bị", "Device revoked"),
        "config_apply" => ("Áp dụng cấu hình", "Configuration applied"),
        "config_import" => (
            "Nhập cấu hình (dòng lệnh)",
            "Configuration imported (command line)",
        ),
        "clip_replace" => ("Thay đoạn giọng đọc", "Voice clip replaced"),
        "clip_restore" => ("Dùng lại giọng đọc có sẵn", "Voice clip back to built-in"),
        "clip_add" => ("Thêm câu đọc", "Phrase added"),
        "clip_remove" => ("Xóa câu đọc", "Phrase removed"),
        "ticket_cancel" => ("Hủy số", "Ticket cancelled"),
        "ticket_transfer" => ("Chuyển số", "Ticket transferred"),
        "ticket_return" => (
            "Xếp lại số vắng mặt vào hàng",
            "Missed ticket put back in line",
        ),
        "counter_absent" => (
            "Tạm dừng quầy: cán bộ vắng mặt",
            "Counter paused: official absent",
        ),
        "counter_force_pause" => ("Quản lý tạm dừng quầy", "Counter paused by a manager"),
        "counter_force_close" => ("Quản lý đóng quầy", "Counter closed by a manager"),
        "service_pause" => ("Tạm ngừng cấp số thủ tục", "Issuing stopped for a service"),
        "service_resume" => ("Cấp số lại cho thủ tục", "Issuing resumed for a service"),
        "daily_cap_raise" => ("Nâng số phiếu tối đa hôm nay", "Today's cap raised"),
        "backup" => ("Sao lưu", "Backup"),
        "backup_daily" => ("Sao lưu hằng ngày", "Daily backup"),
        "backup_failed" => ("Sao lưu thất bại", "Backup failed"),
        "first_start" => ("Khởi động lần đầu", "First start"),
        _ => return None,
    })
}

trait IntoField {
    fn into_field(self, f: &str) -> ApiError;
}

impl IntoField for ApiError {
    fn into_field(mut self, f: &str) -> ApiError {
        self.error.field = Some(f.into());
        self
    }
}

async fn devices(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    require_role(&app, &headers, &["admin"]).await?;
    let list = app.accounts(|c| c.devices()).await.map_err(store_error)?;
    Ok(Json(json!(list.iter().map(|d| json!({"id": d.id, "kind": d.kind, "name": d.name, "site": d.site, "counter": d.counter, "created_at": d.created_at, "revoked_at": d.revoked_at})).collect::<Vec<_>>())))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PairBody {
    kind: String,
    name: String,
    #[serde(default)]
    site: Option<String>,
    #[serde(default)]
    counter: Option<String>,
}

async fn pair_device(
    State(app): State<Arc<App>>,
    ClientIp(addr): ClientIp,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let from = addr.to_string();
    let admin = require_role(&app, &headers, &["admin"]).await?;
    let b: PairBody = body(&bytes)?;
    if !["kiosk", "display", "counter_display", "rating"].contains(&b.kind.as_str()) {
        return Err(luot_proto::WireError::invalid("kind", &b.kind).into());
    }
    if b.name.trim().is_empty() || b.name.len() > DEVICE_NAME_LEN_MAX {
        return Err(luot_proto::WireError::invalid("name", &b.name).into());
    }
    let i = match &b.site {
        Some(s) => site_index(&app, s)?,
        None => 0,
    };
    let site = app.broker.runtime()[i].code.to_string();
    if let Some(c) = &b.counter {
        let known = luot_core::Code::new(c)
            .ok()
            .and_then(|c| app.broker.runtime()[i].settings.core.counter(c).map(|_| ()));
        if known.is_none() {
            return Err(luot_proto::WireError::invalid("counter", c).into());
        }
    } else if b.kind == "rating" || b.kind == "counter_display" {
        return Err(luot_proto::WireError::missing("counter").into());
    }
    let token = auth::new_token();
    let hash = auth::token_hash(&token);
    let now = app.clock.now_ms();
    let (kind, name, counter, actor) = (
        b.kind.clone(),
        b.name.clone(),
        b.counter.clone(),
        admin.login,
    );
    let id = app
        .accounts(move |c| {
            let id = c.add_device(
                &NewDevice {
                    kind: &kind,
                    name: &name,
                    site: &site,
                    counter: counter.as_deref(),
                    token_hash: &hash,
                },
                now,
            )?;
            c.audit_from(
                now,
                &actor,
                "device_pair",
                &format!("{id} {kind} {name}"),
                &from,
            )?;
            Ok(id)
        })
        .await
        .map_err(store_error)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": id, "token": token, "kind": b.kind, "name": b.name})),
    )
        .into_response())
}

async fn revoke_device(
    State(app): State<Arc<App>>,
    ClientIp(addr): ClientIp,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    let from = addr.to_string();
    let admin = require_role(&app, &headers, &["admin"]).await?;
    let now = app.clock.now_ms();
    let done = app
        .accounts(move |c| {
            let done = c.revoke_device(id, now)?;
            c.audit_from(now, &admin.login, "device_revoke", &id.to_string(), &from)?;
            Ok(done)
        })
        .await
        .map_err(store_error)?;
    if !done {
        return Err(ApiError::not_found(
            "device_unknown",
            "Không có thiết bị này",
            "No such device",
        ));
    }
    // The device's open sockets end now (standing.rs).
    crate::standing::announce(&app, crate::standing::device_key(id));
    Ok(Json(json!({"ok": true})))
}

#[cfg(test)]
mod openapi_tests {
    //! `openapi.json` must parse, and list exactly the routes `router()` defines, with the same
    //! methods: a route added, removed or renamed without the document fails here.

    use serde_json::Value;
    use std::collections::{BTreeSet, HashMap};

    const SOURCE: &str = include_str!("rest.rs");
    const DOCUMENT: &str = include_str!("openapi.json");
    const METHODS: [&str; 7] = ["get", "post", "put", "delete", "patch", "head", "options"];

    type Routes = BTreeSet<(String, String)>;

    /// The text of `router()`, read from this file (the code above this module).
    fn router_source() -> &'static str {
        let code = &SOURCE[..SOURCE
            .find("#[cfg(test)]\nmod openapi_tests")
            .expect("this module")];
        let start = code.find("pub fn router(").expect("fn router");
        let body = &code[start..];
        &body[..body.find("\n}\n").expect("end of fn router")]
    }

    /// Where the expression starting at `s` ends: at `stop` outside brackets, or where a bracket
    /// opened before `s` closes. String literals are skipped.
    fn scan(s: &str, stop: char) -> usize {
        let mut depth = 0i32;
        let mut chars = s.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    let mut escaped = false;
                    for (_, c) in chars.by_ref() {
                        match (escaped, c) {
                            (true, _) => escaped = false,
                            (false, '\\') => escaped = true,
                            (false, '"') => break,
                            _ => {}
                        }
                    }
                }
                '(' | '{' | '[' => depth += 1,
                ')' | '}' | ']' => {
                    depth -= 1;
                    if depth < 0 {
                        return i;
                    }
                }
                c if c == stop && depth == 0 => return i,
                _ => {}
            }
        }
        s.len()
    }

    /// The string literal at the start of `s` (after blanks), and what follows it.
    fn literal(s: &str) -> (&str, &str) {
        let s = s.trim_start();
        assert!(
            s.starts_with('"'),
            "expected a string literal at {:?}",
            &s[..s.len().min(40)]
        );
        let end = s[1..].find('"').expect("closing quote") + 1;
        (&s[1..end], &s[end + 1..])
    }

    fn is_ident(c: char) -> bool {
        c.is_alphanumeric() || c == '_'
    }

    /// `let <name> = Router::new()…;` statements of `src`: name → text, and `src` without them.
    fn named_routers(src: &str) -> (HashMap<&str, &str>, String) {
        let mut named = HashMap::new();
        let mut rest = src.to_string();
        for (at, _) in src.match_indices("let ") {
            let after = &src[at + 4..];
            let name_len = after.find(|c| !is_ident(c)).unwrap_or(after.len());
            let value = after[name_len..].trim_start();
            let Some(value) = value.strip_prefix('=').map(str::trim_start) else {
                continue;
            };
            if !value.starts_with("Router::new()") {
                continue;
            }
            let start = src.len() - value.len();
            let end = start + scan(value, ';');
            named.insert(&after[..name_len], &src[start..end]);
            rest.replace_range(at..end, &" ".repeat(end - at));
        }
        (named, rest)
    }

    /// (path, method) of the routes a router chain defines, its merged and nested routers'
    /// included.
    fn chain_routes(chain: &str, named: &HashMap<&str, &str>, depth: u32) -> Routes {
        assert!(depth < 8, "routers nest too deep");
        let routers_in = |expr: &str| -> Vec<&str> {
            expr.split(|c| !is_ident(c))
                .filter_map(|w| named.get(w).copied())
                .collect()
        };
        let mut routes = Routes::new();
        let mut s = chain;
        loop {
            let next = [".route(", ".nest(", ".merge("]
                .into_iter()
                .filter_map(|k| s.find(k).map(|i| (i, k)))
                .min();
            let Some((i, call)) = next else { break };
            let args = &s[i + call.len()..];
            let end = scan(args, '\0');
            match call {
                ".route(" => {
                    let (path, handlers) = literal(&args[..end]);
                    let mut found = false;
                    for m in METHODS {
                        for (j, _) in handlers.match_indices(&format!("{m}(")) {
                            if !handlers[..j].chars().next_back().is_some_and(is_ident) {
                                routes.insert((path.to_string(), m.to_string()));
                                found = true;
                            }
                        }
                    }
                    assert!(found, "no method for route {path}: {handlers}");
                }
                ".nest(" => {
                    let (prefix, expr) = literal(&args[..end]);
                    for r in routers_in(expr) {
                        for (path, m) in chain_routes(r, named, depth + 1) {
                            routes.insert((format!("{prefix}{path}"), m));
                        }
                    }
                }
                _ => {
                    for r in routers_in(&args[..end]) {
                        routes.extend(chain_routes(r, named, depth + 1));
                    }
                }
            }
            s = &args[end..];
        }
        routes
    }

    /// Axum's `{param}` and `{*rest}` (and the older `:param`) as OpenAPI's `{param}`.
    fn openapi_path(axum: &str) -> String {
        axum.split('/')
            .map(|seg| match seg.strip_prefix(':') {
                Some(p) => format!("{{{p}}}"),
                None => seg.replace("{*", "{"),
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    /// (path, method) of every route of `router()`.
    fn router_routes() -> Routes {
        let (named, outer) = named_routers(router_source());
        let routes: Routes = chain_routes(&outer, &named, 0)
            .into_iter()
            .map(|(p, m)| (openapi_path(&p), m))
            .collect();
        assert!(routes.len() > 20, "found only {routes:?}");
        routes
    }

    fn document() -> Value {
        serde_json::from_str(DOCUMENT).expect("openapi.json is valid JSON")
    }

    #[test]
    fn openapi_document_parses_as_openapi_3_1() {
        let doc = document();
        assert!(
            doc["openapi"]
                .as_str()
                .is_some_and(|v| v.starts_with("3.1")),
            "openapi version: {}",
            doc["openapi"]
        );
        assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
        assert!(doc["paths"].as_object().is_some_and(|p| !p.is_empty()));
        // Every local reference resolves.
        fn refs(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    if let Some(Value::String(r)) = m.get("$ref") {
                        out.push(r.clone());
                    }
                    m.values().for_each(|v| refs(v, out));
                }
                Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let mut all = Vec::new();
        refs(&doc, &mut all);
        for r in all {
            let pointer = r
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("non-local $ref {r}"));
            assert!(doc.pointer(pointer).is_some(), "dangling $ref {r}");
        }
    }

    #[test]
    fn openapi_lists_every_route_of_the_router() {
        let doc = document();
        let mut documented = Routes::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for m in METHODS {
                if let Some(op) = item.get(m) {
                    assert!(
                        op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                        "{m} {path} has no responses"
                    );
                    documented.insert((path.clone(), m.to_string()));
                }
            }
        }
        let routed = router_routes();
        let missing: Vec<_> = routed.difference(&documented).collect();
        let stale: Vec<_> = documented.difference(&routed).collect();
        assert!(
            missing.is_empty() && stale.is_empty(),
            "openapi.json is out of date with rest.rs\n  routes not documented: {missing:?}\n  documented but not routed: {stale:?}"
        );
    }
}
