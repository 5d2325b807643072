//! The versioned REST API (`/api/v1/…`): every command and the read models, for integrations and
//! scripts; plus `/healthz`, `/metrics` and the static pages. One file per job: `read.rs` (read
//! models), `commands.rs`, `accounts.rs`, `devices.rs`, `audit.rs`, `config.rs` (the live
//! configuration), `clips.rs` (voice clips), `reports.rs`, `staffing_plan.rs` (the reports
//! page's staffing plan).

mod accounts;
mod audit;
mod clips;
mod commands;
mod config;
mod devices;
mod read;
mod reports;
mod staffing_plan;

pub use accounts::{DEVICE_NAME_LEN_MAX, DISPLAY_NAME_LEN_MAX, USER_COUNTERS_MAX};
pub use audit::{AUDIT_PAGE_DEFAULT, AUDIT_PAGE_MAX};
pub use commands::KIOSK_REPRINT_WINDOW_MS;
pub use config::CONFIG_BODY_MAX;

use crate::App;
use crate::error::ApiError;
use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::json;
use std::sync::Arc;

pub fn router(app: Arc<App>) -> Router {
    let api = Router::new()
        .route("/openapi.json", get(openapi))
        .route("/sites", get(read::sites))
        .route("/sites/{site}/setup", get(read::setup))
        .route("/sites/{site}/snapshot", get(read::snapshot))
        .route("/sites/{site}/queues", get(read::queues))
        .route("/sites/{site}/counters", get(read::counters))
        .route("/sites/{site}/summary", get(read::summary))
        .route("/sites/{site}/reports", get(reports::reports))
        .route(
            "/sites/{site}/staffing-plan",
            get(staffing_plan::staffing_plan),
        )
        .route("/sites/{site}/commands", post(commands::command))
        .route("/sites/{site}/tickets", post(commands::issue))
        .route(
            "/sites/{site}/tickets/{number}/{action}",
            post(commands::ticket_action),
        )
        .route(
            "/sites/{site}/counters/{counter}/{action}",
            post(commands::counter_action),
        )
        .route("/tickets/{token}", get(read::ticket))
        .route("/tickets/{token}/qr.svg", get(read::qr))
        .route("/tickets/{token}/{action}", post(commands::phone_action))
        .route("/login", post(accounts::login))
        .route("/logout", post(accounts::logout))
        .route("/me", get(accounts::me))
        .route("/sites/{site}/officials", get(read::officials))
        .route(
            "/admin/users",
            get(accounts::users).post(accounts::add_user),
        )
        .route("/admin/users/{login}", post(accounts::edit_user))
        .route("/admin/users/{login}/{action}", post(accounts::user_action))
        .route("/admin/audit", get(audit::audit))
        .route(
            "/admin/devices",
            get(devices::devices).post(devices::pair_device),
        )
        .route("/admin/devices/{id}/revoke", post(devices::revoke_device))
        .fallback(|| async { ApiError::no_route() })
        // Bodies are JSON, declared as such (json_body.rs); clips are not under this layer.
        .layer(axum::middleware::from_fn(crate::json_body::json_only));
    // Configuration texts are larger than any command: their own, larger body limit.
    let config = Router::new()
        .route(
            "/admin/config",
            get(config::get_config).put(config::put_config),
        )
        .route("/admin/config/check", post(config::check_config))
        .layer(DefaultBodyLimit::max(config::CONFIG_BODY_MAX))
        .layer(axum::middleware::from_fn(crate::json_body::json_only));
    // Voice clips: the body is the .ogg file, read up to its own limit (clips::CLIP_BYTES_MAX).
    let clips = Router::new()
        .route("/admin/clips", get(clips::list))
        .route(
            "/admin/clips/chime",
            put(clips::put_chime).delete(clips::delete_chime),
        )
        .route(
            "/admin/clips/{lang}/{name}",
            put(clips::put).delete(clips::delete),
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
                        crate::http::same_origin,
                    )),
            )
            .fallback(crate::assets::serve)
            .layer(DefaultBodyLimit::max(app.limits.http_body_max))
            .with_state(app),
        &logged,
    )
}

pub(crate) fn site_index(app: &App, code: &str) -> Result<usize, ApiError> {
    app.broker
        .site_index(code)
        .ok_or_else(ApiError::unknown_site)
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
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "stopping", "error": e.error}))).into_response(),
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

/// The API document served at `/api/v1/openapi.json` (OpenAPI 3.1), as a value: the e2e suite
/// validates every answer against it in-process (`tests/openapi_check.rs`).
pub fn openapi_document() -> serde_json::Value {
    static DOC: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    DOC.get_or_init(|| {
        serde_json::from_str(include_str!("../openapi.json")).expect("openapi.json is JSON")
    })
    .clone()
}

async fn openapi() -> Response {
    Json(openapi_document()).into_response()
}

async fn phone_page(State(app): State<Arc<App>>) -> Response {
    crate::assets::file(&app, "phone.html").await
}

#[cfg(test)]
mod openapi_tests;
