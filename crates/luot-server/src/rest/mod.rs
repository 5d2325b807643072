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
use serde_json::json;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The server's routes, each with its `#[utoipa::path]`: the API document is made from this
/// tree (`openapi_document`), so it lists exactly what is routed. `app` adds the layers that
/// need the state; the document is made without it.
fn routes(app: Option<&Arc<App>>) -> OpenApiRouter<Arc<App>> {
    let api = OpenApiRouter::new()
        .routes(routes!(openapi))
        .routes(routes!(read::sites))
        .routes(routes!(read::setup))
        .routes(routes!(read::snapshot))
        .routes(routes!(read::queues))
        .routes(routes!(read::counters))
        .routes(routes!(read::summary))
        .routes(routes!(reports::reports))
        .routes(routes!(staffing_plan::staffing_plan))
        .routes(routes!(commands::command))
        .routes(routes!(commands::issue))
        .routes(routes!(commands::ticket_action))
        .routes(routes!(commands::counter_action))
        .routes(routes!(read::ticket))
        .routes(routes!(read::qr))
        .routes(routes!(commands::phone_action))
        .routes(routes!(accounts::login))
        .routes(routes!(accounts::logout))
        .routes(routes!(accounts::me))
        .routes(routes!(read::officials))
        .routes(routes!(accounts::users, accounts::add_user))
        .routes(routes!(accounts::edit_user))
        .routes(routes!(accounts::user_action))
        .routes(routes!(audit::audit))
        .routes(routes!(devices::devices, devices::pair_device))
        .routes(routes!(devices::revoke_device))
        .fallback(|| async { ApiError::NoRoute { action: false } })
        // Bodies are JSON, declared as such (json_body.rs); clips are not under this layer.
        .layer(axum::middleware::from_fn(crate::json_body::json_only));
    // Configuration texts are larger than any command: their own, larger body limit.
    let config = OpenApiRouter::new()
        .routes(routes!(config::get_config, config::put_config))
        .routes(routes!(config::check_config))
        .layer(DefaultBodyLimit::max(config::CONFIG_BODY_MAX))
        .layer(axum::middleware::from_fn(crate::json_body::json_only));
    // Voice clips: the body is the .ogg file, read up to its own limit (clips::CLIP_BYTES_MAX).
    let clips = OpenApiRouter::new()
        .routes(routes!(clips::list))
        .routes(routes!(clips::put_chime, clips::delete_chime))
        .routes(routes!(clips::put, clips::delete));
    let mut v1 = config.merge(clips).merge(api);
    if let Some(app) = app {
        v1 = v1.layer(axum::middleware::from_fn_with_state(
            app.clone(),
            crate::http::same_origin,
        ));
    }
    OpenApiRouter::new()
        .routes(routes!(crate::ws::handler))
        .routes(routes!(healthz))
        .routes(routes!(metrics))
        .routes(routes!(phone_page))
        .nest("/api/v1", v1)
}

pub fn router(app: Arc<App>) -> Router {
    let (routed, _) = routes(Some(&app)).split_for_parts();
    // The access log sees every request, the fallback's included.
    let logged = app.clone();
    crate::access_log::layer(
        routed
            .fallback(crate::assets::serve)
            .layer(DefaultBodyLimit::max(app.limits.http_body_max))
            .with_state(app),
        &logged,
    )
}

pub(crate) fn site_index(app: &App, code: &str) -> Result<usize, ApiError> {
    app.broker.site_index(code).ok_or(ApiError::UnknownSite)
}

// ----- health and metrics -----

/// Ready (200) while tickets can be issued. A printer fault is reported in `printers` but
/// keeps the server ready: tickets stay valid, show on the kiosk and can be printed again.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "health",
    tag = "health",
    summary = r#"Liveness and storage health"#,
    security(()),
    responses()
)]
async fn healthz(State(app): State<Arc<App>>) -> Response {
    let r = app
        .broker
        .read(|v| (v.intake_open, v.seq, v.intake_reason.map(ApiError::to_dto)))
        .await;
    let printers: Vec<_> = app.printers.all().iter().map(|p| p.status()).collect();
    match r {
        Ok((true, seq, _)) => Json(json!({"status": "ok", "storage": "ok", "seq": seq, "printers": printers})).into_response(),
        Ok((false, seq, reason)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "degraded", "storage": "failing", "seq": seq, "message": "Tạm ngưng cấp số: không ghi được dữ liệu", "reason": reason, "printers": printers})),
        )
            .into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "stopping", "error": e.to_dto()}))).into_response(),
    }
}

#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "health",
    summary = r#"Prometheus metrics"#,
    security(()),
    responses()
)]
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

/// The schemas generated from the types' `ToSchema` (the others are still in
/// `openapi_base.json`, which must not keep these).
#[derive(utoipa::OpenApi)]
#[openapi(components(schemas(luot_proto::message::ErrorDto)))]
struct Schemas;

fn generated_schemas() -> serde_json::Map<String, serde_json::Value> {
    use utoipa::OpenApi;
    let doc = serde_json::to_value(Schemas::openapi()).expect("the schemas serialize");
    doc["components"]["schemas"]
        .as_object()
        .cloned()
        .unwrap_or_default()
}

/// The API document served at `/api/v1/openapi.json` (OpenAPI 3.1), as a value: the e2e suite
/// validates every answer against it in-process (`tests/openapi_check.rs`). Its operations
/// (paths, methods, operation ids, tags, summaries, descriptions, security) are generated from
/// the handlers' `#[utoipa::path]`, and the schemas of the types that derive `ToSchema`
/// (`Schemas`); their parameters, bodies and responses, the other schemas and the document's
/// head are still kept by hand in `openapi_base.json`.
pub fn openapi_document() -> serde_json::Value {
    static DOC: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    DOC.get_or_init(|| {
        let generated = serde_json::to_value(routes(None).into_openapi())
            .expect("the generated document serializes");
        let mut doc: serde_json::Value = serde_json::from_str(include_str!("../openapi_base.json"))
            .expect("openapi_base.json is JSON");
        let mut kept = doc["paths"].take();
        let mut paths = serde_json::Map::new();
        for (path, item) in generated["paths"].as_object().into_iter().flatten() {
            let mut out = serde_json::Map::new();
            for (method, op) in item.as_object().into_iter().flatten() {
                let mut op = op.clone();
                if let (Some(op), Some(detail)) =
                    (op.as_object_mut(), kept[path][method].take().as_object())
                {
                    op.extend(detail.clone());
                }
                out.insert(method.clone(), op);
            }
            paths.insert(path.clone(), out.into());
        }
        doc["paths"] = paths.into();
        let schemas = &mut doc["components"]["schemas"];
        for (name, schema) in generated_schemas() {
            schemas[name.as_str()] = schema;
        }
        doc
    })
    .clone()
}

#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "meta",
    summary = r#"This document"#,
    security(()),
    responses()
)]
async fn openapi() -> Response {
    Json(openapi_document()).into_response()
}

#[utoipa::path(
    get,
    path = "/t/{token}",
    operation_id = "phonePage",
    tag = "pages",
    summary = r#"The phone page for a ticket (HTML)"#,
    security(()),
    responses()
)]
async fn phone_page(State(app): State<Arc<App>>) -> Response {
    crate::assets::file(&app, "phone.html").await
}

#[cfg(test)]
mod openapi_tests;
