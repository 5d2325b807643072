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
mod doc;
mod read;
mod remote;
mod reports;
mod staffing_plan;
mod tokens;
mod webhooks;

pub use accounts::{DEVICE_NAME_LEN_MAX, DISPLAY_NAME_LEN_MAX, USER_COUNTERS_MAX};
pub use audit::{AUDIT_PAGE_DEFAULT, AUDIT_PAGE_MAX};
pub use commands::KIOSK_REPRINT_WINDOW_MS;
pub use config::CONFIG_BODY_MAX;
pub use remote::{REMOTE_ISSUES_BURST, REMOTE_ISSUES_PER_HOUR, REMOTE_TRIES_PER_PHONE};
pub use tokens::{TOKEN_NAME_LEN_MAX, TOKENS_MAX};
pub use webhooks::DELIVERY_LOG_MAX;

use crate::App;
use crate::error::ApiError;
use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use luot_proto::{ErrorDto, PrinterStatusDto};
use serde::Serialize;
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
        .routes(routes!(remote::services))
        .routes(routes!(remote::take))
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
        .routes(routes!(tokens::list, tokens::create))
        .routes(routes!(tokens::revoke))
        .routes(routes!(webhooks::list, webhooks::add))
        .routes(routes!(webhooks::edit, webhooks::remove))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(webhooks::resend))
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
    responses(
        (status = 200, description = "Serving; storage writable.", body = Health, content_type = "application/json"),
        (status = 503, description = "Storage failing (`degraded`: issuing paused) or the server is stopping.", body = Health, content_type = "application/json"),
    )
)]
async fn healthz(State(app): State<Arc<App>>) -> Response {
    let r = app
        .broker
        .read(|v| (v.intake_open, v.seq, v.intake_reason.map(ApiError::to_dto)))
        .await;
    let printers: Vec<_> = app.printers.all().iter().map(|p| p.status()).collect();
    let health = |status| Health {
        status,
        storage: None,
        seq: None,
        message: None,
        reason: None,
        error: None,
        printers: None,
    };
    match r {
        Ok((true, seq, _)) => Json(Health {
            storage: Some(Storage::Ok),
            seq: Some(seq),
            printers: Some(printers),
            ..health(HealthStatus::Ok)
        })
        .into_response(),
        Ok((false, seq, reason)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Health {
                storage: Some(Storage::Failing),
                seq: Some(seq),
                message: Some("Tạm ngưng cấp số: không ghi được dữ liệu".into()),
                // Sent as `null` when no reason was kept, as before.
                reason: Some(reason),
                printers: Some(printers),
                ..health(HealthStatus::Degraded)
            }),
        )
            .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Health {
                error: Some(e.to_dto()),
                ..health(HealthStatus::Stopping)
            }),
        )
            .into_response(),
    }
}

/// `GET /healthz`: whether tickets can be issued, and the network printers' states.
#[derive(Serialize, utoipa::ToSchema)]
struct Health {
    status: HealthStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    storage: Option<Storage>,
    /// The last durable event.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    seq: Option<u64>,
    /// While degraded: what the kiosks show (Vietnamese).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    message: Option<String>,
    /// While degraded: the storage fault that stopped issuing (`null` when none was kept).
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<Option<ErrorDto>>,
    /// While stopping: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    error: Option<ErrorDto>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    printers: Option<Vec<PrinterStatusDto>>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
enum HealthStatus {
    Ok,
    Degraded,
    Stopping,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
enum Storage {
    Ok,
    Failing,
}

#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "health",
    summary = r#"Prometheus metrics"#,
    security(()),
    responses(
        (status = 200, description = "OpenMetrics text format (Prometheus reads it) (counters, commit latency, websocket clients, waiting per service).", body = String, content_type = "application/openmetrics-text"),
    )
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

/// The `apiToken` security scheme: `Authorization: Bearer luot_…` (rest/tokens.rs).
pub(crate) struct ApiTokenScheme;

impl utoipa::Modify for ApiTokenScheme {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = doc.components.get_or_insert_with(Default::default);
        let mut http = Http::new(HttpAuthScheme::Bearer);
        http.description = Some(
            "An API token an admin made (`Authorization: Bearer luot_…`), with its scopes: `read`, `book`, `webhooks`. Rate limited per token; never manages accounts, devices, tokens or configuration.".into(),
        );
        components.add_security_scheme("apiToken", SecurityScheme::Http(http));
    }
}

/// The API document served at `/api/v1/openapi.json` (OpenAPI 3.1), as a value: the e2e suite
/// validates every answer against it in-process (`tests/openapi_check.rs`). All of it is made from
/// the code: the head and the shared error answers from `doc::ApiDoc`, each operation (path,
/// parameters, body, responses, security) from its handler's `#[utoipa::path]` in the route
/// tree, and the schemas from the types' `ToSchema`.
pub fn openapi_document() -> serde_json::Value {
    static DOC: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    DOC.get_or_init(|| {
        use utoipa::OpenApi;
        let mut doc = doc::ApiDoc::openapi();
        doc.merge(routes(None).into_openapi());
        let mut doc = serde_json::to_value(doc).expect("the API document serializes");
        optional_bodies_are_left_out(&mut doc);
        doc
    })
    .clone()
}

/// An optional request body (`request_body(content = Option<T>)`) is one a client leaves out,
/// not one it sends as `null`: utoipa writes it as `oneOf: [null, T]`, the document says `T`
/// (the body stays not `required`).
fn optional_bodies_are_left_out(doc: &mut serde_json::Value) {
    let ops = doc["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(|item| item.as_object_mut())
        .flat_map(|item| item.values_mut());
    for op in ops {
        let contents = op
            .get_mut("requestBody")
            .and_then(|b| b.get_mut("content"))
            .and_then(|c| c.as_object_mut());
        for media in contents.into_iter().flat_map(|c| c.values_mut()) {
            let Some(schema) = media.get_mut("schema") else {
                continue;
            };
            let Some(one_of) = schema.get("oneOf").and_then(|o| o.as_array()) else {
                continue;
            };
            let not_null: Vec<_> = one_of.iter().filter(|s| s["type"] != "null").collect();
            if one_of.len() == 2 && not_null.len() == 1 {
                *schema = not_null[0].clone();
            }
        }
    }
}

#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "meta",
    summary = r#"This document"#,
    security(()),
    responses(
        (status = 200, description = "OpenAPI 3.1 document.", body = serde_json::Value, content_type = "application/json"),
    )
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
    params(
        ("token" = inline(luot_proto::schema::TicketToken), Path, description = "The ticket's public token: the proof of a phone page."),
    ),
    responses(
        (status = 200, description = "The phone page; it reads the token from the URL.", body = String, content_type = "text/html"),
    )
)]
async fn phone_page(State(app): State<Arc<App>>) -> Response {
    crate::assets::file(&app, "phone.html").await
}

#[cfg(test)]
mod openapi_tests;
