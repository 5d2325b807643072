//! Webhook endpoints and their delivery log: for a signed-in admin, or an API token with the
//! `webhooks` scope. Add (the secret is shown once), enable or disable, remove; the latest
//! deliveries of an endpoint; "send again". Every change is audited. Delivery itself is in
//! `crate::webhooks`.

use super::tokens::DoneDto;
use crate::App;
use crate::auth::Scope;
use crate::error::{ApiError, store_error};
use crate::http::{Caller, body, require_user_or_scope};
use crate::proxy::ClientIp;
use crate::webhooks::{EVENT_TYPES, NEAR_DEFAULT, NEAR_MAX, URL_LEN_MAX, WEBHOOKS_MAX};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use luot_proto::ErrorDto;
use luot_store::{Accounts, Delivery, Integrations, Role, Webhook};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Deliveries one log request returns at most (and by default).
pub const DELIVERY_LOG_MAX: usize = 100;

/// A webhook endpoint as listed (never its secret).
#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookDto {
    pub id: i64,
    pub url: String,
    /// Event types it receives (`ticket.issued`, `ticket.near`, `ticket.called`,
    /// `ticket.completed`, `ticket.rated`; `booking.made`, `booking.cancelled` reserved).
    pub events: Vec<String>,
    /// `ticket.near` fires when this many people or fewer are ahead.
    pub near: u32,
    pub enabled: bool,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Deliveries not queued because the outbox was full.
    pub dropped: i64,
}

impl From<&Webhook> for WebhookDto {
    fn from(w: &Webhook) -> WebhookDto {
        WebhookDto {
            id: w.id,
            url: w.url.clone(),
            events: w.events.clone(),
            near: w.near,
            enabled: w.enabled,
            created_at: w.created_at,
            dropped: w.dropped,
        }
    }
}

/// A new endpoint: `secret` signs its deliveries and is shown this once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookCreatedDto {
    #[serde(flatten)]
    pub info: WebhookDto,
    /// `whsec_` and 64 hex digits: the HMAC-SHA256 key of `X-Luot-Signature`.
    pub secret: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookBody {
    /// `http://` or `https://`, at most 2048 bytes.
    pub url: String,
    /// One or more event types.
    pub events: Vec<String>,
    /// For `ticket.near`: 0 to 50, default 3.
    #[serde(default)]
    pub near: Option<u32>,
    /// Default true.
    #[serde(default)]
    pub enabled: Option<bool>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditWebhookBody {
    pub enabled: bool,
}

/// One delivery (an outbox row): pending, delivered or failed.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DeliveryDto {
    pub id: i64,
    pub webhook: i64,
    /// The event's id (`X-Luot-Event-Id`).
    pub event_id: String,
    /// The event type.
    #[serde(rename = "type")]
    pub kind: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i64,
    /// Unix milliseconds: queued, next try (pending), last try.
    pub created_at: i64,
    pub next_at: i64,
    pub last_at: Option<i64>,
    /// The receiver's HTTP status at the last try, if it answered.
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    /// The JSON body sent.
    pub body: String,
}

impl From<&Delivery> for DeliveryDto {
    fn from(d: &Delivery) -> DeliveryDto {
        DeliveryDto {
            id: d.id,
            webhook: d.webhook,
            event_id: d.event_id.clone(),
            kind: d.kind.clone(),
            state: d.state.clone(),
            attempts: d.attempts,
            created_at: d.created_at,
            next_at: d.next_at,
            last_at: d.last_at,
            last_status: d.last_status,
            last_error: d.last_error.clone(),
            body: d.body.clone(),
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogParams {
    /// How many, newest first: 1 to 100 (default 100).
    pub limit: Option<usize>,
}

async fn caller(app: &Arc<App>, headers: &HeaderMap) -> Result<Caller, ApiError> {
    require_user_or_scope(app, headers, Role::administers, Scope::Webhooks).await
}

/// Reloads the endpoints the broker reads.
async fn reload(app: &Arc<App>) -> Result<Vec<Webhook>, ApiError> {
    let list = app.accounts(|c| c.webhooks()).await.map_err(store_error)?;
    app.hooks.set(&list);
    Ok(list)
}

#[utoipa::path(
    get,
    path = "/admin/webhooks",
    operation_id = "listWebhooks",
    tag = "administration",
    summary = r#"List webhook endpoints (admin, or token scope `webhooks`)"#,
    security(("sessionCookie" = []), ("apiToken" = ["webhooks"])),
    responses(
        (status = 200, description = "The endpoints, oldest first", body = Vec<WebhookDto>),
        (status = 401, description = "Not signed in (`login_required`), or an unknown or revoked API token (`token_unknown`, `token_revoked`)", body = ErrorDto),
        (status = 403, description = "Not an admin (`forbidden`), or a token without the scope (`token_scope`)", body = ErrorDto),
        (status = 429, description = "Too many requests with one API token (`token_rate_limited`)", body = ErrorDto),
        (status = 503, description = "Storage failing", body = ErrorDto),
    )
)]
pub(super) async fn list(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
) -> Result<Json<Vec<WebhookDto>>, ApiError> {
    caller(&app, &headers).await?;
    let list = app.accounts(|c| c.webhooks()).await.map_err(store_error)?;
    Ok(Json(list.iter().map(WebhookDto::from).collect()))
}

fn check_url(url: &str) -> Result<(), ApiError> {
    let ok = url.len() <= URL_LEN_MAX
        && reqwest::Url::parse(url).is_ok_and(|u| {
            matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty())
        });
    if ok {
        Ok(())
    } else {
        Err(luot_proto::WireError::invalid("url", url).into())
    }
}

#[utoipa::path(
    post,
    path = "/admin/webhooks",
    operation_id = "addWebhook",
    tag = "administration",
    summary = r#"Add a webhook endpoint; its secret is shown once"#,
    security(("sessionCookie" = []), ("apiToken" = ["webhooks"])),
    request_body(content = NewWebhookBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Added: the secret is in this answer only", body = WebhookCreatedDto),
        (status = 400, description = "Malformed body (`bad_body`); a bad URL, event type or `near` (`invalid_field`)", body = ErrorDto),
        (status = 401, description = "Not signed in, or a bad API token", body = ErrorDto),
        (status = 403, description = "Not an admin, or a token without the scope", body = ErrorDto),
        (status = 409, description = "Already `WEBHOOKS_MAX` (16) endpoints (`integration_limit`)", body = ErrorDto),
        (status = 413, description = "Body too large (plain text, from the HTTP layer)", content_type = "text/plain", body = String),
        (status = 415, description = "Not JSON", body = ErrorDto),
        (status = 429, description = "Too many requests with one API token", body = ErrorDto),
        (status = 503, description = "Storage failing", body = ErrorDto),
    )
)]
pub(super) async fn add(
    State(app): State<Arc<App>>,
    ClientIp(addr): ClientIp,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let from = addr.to_string();
    let who = caller(&app, &headers).await?;
    let b: NewWebhookBody = body(&bytes)?;
    let url = b.url.trim().to_string();
    check_url(&url)?;
    let mut events: Vec<String> = Vec::new();
    for e in &b.events {
        if !EVENT_TYPES.contains(&e.as_str()) {
            return Err(luot_proto::WireError::invalid("events", e).into());
        }
        if !events.contains(e) {
            events.push(e.clone());
        }
    }
    if events.is_empty() {
        return Err(luot_proto::WireError::missing("events").into());
    }
    let near = b.near.unwrap_or(NEAR_DEFAULT);
    if near > NEAR_MAX {
        return Err(luot_proto::WireError::invalid("near", &near.to_string()).into());
    }
    let enabled = b.enabled.unwrap_or(true);
    let secret = crate::webhooks::new_secret();
    let now = app.clock.now_ms();
    let actor = who.name();
    let (u, ev, s) = (url.clone(), events.clone(), secret.clone());
    let made = app
        .accounts(move |c| {
            if c.webhooks()?.len() >= WEBHOOKS_MAX {
                return Ok(None);
            }
            let id = c.add_webhook(&u, &ev, near, &s, now)?;
            if !enabled {
                c.set_webhook_enabled(id, false)?;
            }
            c.audit_from(
                now,
                &actor,
                "webhook_add",
                &format!("{id} {u} [{}]", ev.join(",")),
                &from,
            )?;
            Ok(Some(id))
        })
        .await
        .map_err(store_error)?;
    let Some(id) = made else {
        return Err(ApiError::IntegrationLimit {
            vi: "webhook",
            en: "webhooks",
            max: WEBHOOKS_MAX,
        });
    };
    reload(&app).await?;
    let dto = WebhookCreatedDto {
        info: WebhookDto {
            id,
            url,
            events,
            near,
            enabled,
            created_at: now,
            dropped: 0,
        },
        secret,
    };
    Ok((StatusCode::CREATED, Json(dto)).into_response())
}

#[utoipa::path(
    patch,
    path = "/admin/webhooks/{id}",
    operation_id = "editWebhook",
    tag = "administration",
    summary = r#"Enable or disable a webhook endpoint"#,
    description = "A disabled endpoint gets no new deliveries; those already queued wait.",
    security(("sessionCookie" = []), ("apiToken" = ["webhooks"])),
    params(("id" = i64, Path, description = "The endpoint's id")),
    request_body(content = EditWebhookBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Changed", body = WebhookDto),
        (status = 400, description = "Malformed body (`bad_body`), or the id is not an integer (plain text)", content((ErrorDto = "application/json"), (String = "text/plain"))),
        (status = 401, description = "Not signed in, or a bad API token", body = ErrorDto),
        (status = 403, description = "Not an admin, or a token without the scope", body = ErrorDto),
        (status = 404, description = "No such endpoint (`webhook_not_found`)", body = ErrorDto),
        (status = 415, description = "Not JSON", body = ErrorDto),
        (status = 429, description = "Too many requests with one API token", body = ErrorDto),
        (status = 503, description = "Storage failing", body = ErrorDto),
    )
)]
pub(super) async fn edit(
    State(app): State<Arc<App>>,
    ClientIp(addr): ClientIp,
    headers: HeaderMap,
    Path(id): Path<i64>,
    bytes: Bytes,
) -> Result<Json<WebhookDto>, ApiError> {
    let from = addr.to_string();
    let actor = caller(&app, &headers).await?.name();
    let b: EditWebhookBody = body(&bytes)?;
    let now = app.clock.now_ms();
    let enabled = b.enabled;
    let done = app
        .accounts(move |c| {
            let done = c.set_webhook_enabled(id, enabled)?;
            if done {
                let action = if enabled {
                    "webhook_enable"
                } else {
                    "webhook_disable"
                };
                c.audit_from(now, &actor, action, &id.to_string(), &from)?;
            }
            Ok(done)
        })
        .await
        .map_err(store_error)?;
    if !done {
        return Err(ApiError::WebhookNotFound);
    }
    let list = reload(&app).await?;
    let w = list
        .iter()
        .find(|w| w.id == id)
        .ok_or(ApiError::WebhookNotFound)?;
    if enabled {
        app.hooks.wake.notify_one();
    }
    Ok(Json(WebhookDto::from(w)))
}

#[utoipa::path(
    delete,
    path = "/admin/webhooks/{id}",
    operation_id = "removeWebhook",
    tag = "administration",
    summary = r#"Remove a webhook endpoint and its deliveries"#,
    security(("sessionCookie" = []), ("apiToken" = ["webhooks"])),
    params(("id" = i64, Path, description = "The endpoint's id")),
    responses(
        (status = 200, description = "Removed", body = DoneDto),
        (status = 400, description = "The id is not an integer (plain text, from the HTTP layer)", content_type = "text/plain", body = String),
        (status = 401, description = "Not signed in, or a bad API token", body = ErrorDto),
        (status = 403, description = "Not an admin, or a token without the scope", body = ErrorDto),
        (status = 404, description = "No such endpoint (`webhook_not_found`)", body = ErrorDto),
        (status = 429, description = "Too many requests with one API token", body = ErrorDto),
        (status = 503, description = "Storage failing", body = ErrorDto),
    )
)]
pub(super) async fn remove(
    State(app): State<Arc<App>>,
    ClientIp(addr): ClientIp,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Json<DoneDto>, ApiError> {
    let from = addr.to_string();
    let actor = caller(&app, &headers).await?.name();
    let now = app.clock.now_ms();
    let done = app
        .accounts(move |c| {
            let done = c.remove_webhook(id)?;
            if done {
                c.audit_from(now, &actor, "webhook_remove", &id.to_string(), &from)?;
            }
            Ok(done)
        })
        .await
        .map_err(store_error)?;
    if !done {
        return Err(ApiError::WebhookNotFound);
    }
    reload(&app).await?;
    Ok(Json(DoneDto { ok: true }))
}

#[utoipa::path(
    get,
    path = "/admin/webhooks/{id}/deliveries",
    operation_id = "webhookDeliveries",
    tag = "administration",
    summary = r#"The delivery log of an endpoint, newest first"#,
    description = "Pending, delivered and failed deliveries; the latest 200 finished ones of each endpoint are kept.",
    security(("sessionCookie" = []), ("apiToken" = ["webhooks"])),
    params(("id" = i64, Path, description = "The endpoint's id"), LogParams),
    responses(
        (status = 200, description = "The deliveries", body = Vec<DeliveryDto>),
        (status = 400, description = "A bad `limit` (`invalid_field`), or the id is not an integer (plain text)", content((ErrorDto = "application/json"), (String = "text/plain"))),
        (status = 401, description = "Not signed in, or a bad API token", body = ErrorDto),
        (status = 403, description = "Not an admin, or a token without the scope", body = ErrorDto),
        (status = 404, description = "No such endpoint (`webhook_not_found`)", body = ErrorDto),
        (status = 429, description = "Too many requests with one API token", body = ErrorDto),
        (status = 503, description = "Storage failing", body = ErrorDto),
    )
)]
pub(super) async fn deliveries(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(p): Query<LogParams>,
) -> Result<Json<Vec<DeliveryDto>>, ApiError> {
    caller(&app, &headers).await?;
    let limit = p.limit.unwrap_or(DELIVERY_LOG_MAX);
    if limit == 0 || limit > DELIVERY_LOG_MAX {
        return Err(luot_proto::WireError::invalid("limit", &limit.to_string()).into());
    }
    let found = app
        .accounts(move |c| {
            if !c.webhooks()?.iter().any(|w| w.id == id) {
                return Ok(None);
            }
            Ok(Some(c.deliveries(id, limit)?))
        })
        .await
        .map_err(store_error)?;
    let list = found.ok_or(ApiError::WebhookNotFound)?;
    Ok(Json(list.iter().map(DeliveryDto::from).collect()))
}

#[utoipa::path(
    post,
    path = "/admin/webhooks/deliveries/{id}/resend",
    operation_id = "resendDelivery",
    tag = "administration",
    summary = r#"Send a delivery again ("send again")"#,
    description = "The delivery goes back to pending, due now, with a new 24-hour retry window; the body and event id stay the same.",
    security(("sessionCookie" = []), ("apiToken" = ["webhooks"])),
    params(("id" = i64, Path, description = "The delivery's id")),
    responses(
        (status = 200, description = "Queued again", body = DeliveryDto),
        (status = 400, description = "The id is not an integer (plain text, from the HTTP layer)", content_type = "text/plain", body = String),
        (status = 401, description = "Not signed in, or a bad API token", body = ErrorDto),
        (status = 403, description = "Not an admin, or a token without the scope", body = ErrorDto),
        (status = 404, description = "No such delivery (`delivery_not_found`)", body = ErrorDto),
        (status = 429, description = "Too many requests with one API token", body = ErrorDto),
        (status = 503, description = "Storage failing", body = ErrorDto),
    )
)]
pub(super) async fn resend(
    State(app): State<Arc<App>>,
    ClientIp(addr): ClientIp,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Json<DeliveryDto>, ApiError> {
    let from = addr.to_string();
    let actor = caller(&app, &headers).await?.name();
    let now = app.clock.now_ms();
    let found = app
        .accounts(move |c| {
            if !c.resend(id, now)? {
                return Ok(None);
            }
            let d = c.delivery(id)?;
            if let Some(d) = &d {
                c.audit_from(
                    now,
                    &actor,
                    "webhook_resend",
                    &format!("{id} {} {}", d.webhook, d.event_id),
                    &from,
                )?;
            }
            Ok(d)
        })
        .await
        .map_err(store_error)?;
    let d = found.ok_or(ApiError::DeliveryNotFound)?;
    app.hooks.wake.notify_one();
    Ok(Json(DeliveryDto::from(&d)))
}
