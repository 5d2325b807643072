//! Numbers taken from home (`/lay-so`): the procedures a citizen can take one for now, and
//! taking one. Anyone may, without an account: the limits are the site's policy (the hall's
//! share of each cap, per-person and per-phone limits, hours and intake close, all in the core)
//! and the rate limits here, per address and per phone.

use super::site_index;
use crate::App;
use crate::error::ApiError;
use crate::http::body;
use crate::proxy::ClientIp;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use luot_core::{Channel, Command, Token};
use luot_proto::RemoteServiceDto;
use serde::Deserialize;
use std::sync::Arc;

/// Numbers from home one address may try to take in a burst. Mobile networks put many citizens
/// behind one address, so this is wide; one phone is held to the person's limits by the core.
pub const REMOTE_ISSUES_BURST: f64 = 20.0;
/// ... refilled at this many an hour.
pub const REMOTE_ISSUES_PER_HOUR: f64 = 20.0;
/// Tries one phone number may make in a burst (refused ones count), refilled at the same rate
/// an hour: a script cannot walk the procedures with one number.
pub const REMOTE_TRIES_PER_PHONE: f64 = 6.0;

#[utoipa::path(
    get,
    path = "/sites/{site}/remote-services",
    operation_id = "listRemoteServices",
    tag = "remote",
    summary = r#"Procedures a number can be taken for from home, now"#,
    security(()),
    params(
        ("site" = inline(luot_proto::schema::Code), Path, description = "Site code, e.g. `sa-huynh`."),
    ),
    responses(
        (status = 200, description = "Each procedure: open for numbers from home now or why not, how many are left today, who waits and a newcomer's wait.", body = Vec<RemoteServiceDto>, content_type = "application/json"),
        (status = 404, response = crate::rest::doc::NotFound),
        (status = 503, response = crate::rest::doc::ServiceUnavailable),
    )
)]
pub(super) async fn services(
    State(app): State<Arc<App>>,
    Path(site): Path<String>,
) -> Result<Json<Vec<RemoteServiceDto>>, ApiError> {
    super::read::per_service(&app, &site, RemoteServiceDto::of)
        .await
        .map(Json)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct TakeBody {
    #[schema(value_type = luot_proto::schema::Code)]
    service: String,
    /// The citizen's mobile number as typed: `0912 345 678`, `+84912345678`.
    #[schema(max_length = 32)]
    phone: String,
    /// The ID number (12 digits, or 9 for an old ID card), for the per-person limits; only its
    /// keyed hash is kept.
    #[serde(default)]
    #[schema(nullable = false, pattern = "^\\s*([0-9]{9}|[0-9]{12})\\s*$")]
    person_id: Option<String>,
}

#[utoipa::path(
    post,
    path = "/sites/{site}/remote-tickets",
    operation_id = "takeRemoteTicket",
    tag = "remote",
    summary = r#"Take a number from home"#,
    description = r#"A ticket on the `phone` channel: it holds a place in line from now but is not called until checked in at the kiosk (its QR code, or its number and the phone's last 4 digits) or by an official."#,
    security(()),
    params(
        ("site" = inline(luot_proto::schema::Code), Path, description = "Site code, e.g. `sa-huynh`."),
    ),
    request_body(content = TakeBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Taken; `token` and `url` are for the ticket's page and its QR code.", body = luot_proto::CommandResult, content_type = "application/json"),
        (status = 400, response = crate::rest::doc::BadRequest),
        (status = 403, response = crate::rest::doc::Forbidden),
        (status = 404, response = crate::rest::doc::NotFound),
        (status = 409, response = crate::rest::doc::Conflict),
        (status = 413, response = crate::rest::doc::PayloadTooLarge),
        (status = 429, response = crate::rest::doc::TooManyRequests),
        (status = 503, response = crate::rest::doc::ServiceUnavailable),
    )
)]
pub(super) async fn take(
    State(app): State<Arc<App>>,
    ClientIp(addr): ClientIp,
    Path(site): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let i = site_index(&app, &site)?;
    let b: TakeBody = body(&bytes)?;
    let phone = luot_core::phone::normalize_phone(&b.phone).ok_or(ApiError::InvalidPhone)?;
    let person = b
        .person_id
        .as_deref()
        .map(|id| crate::dispatch::person_key(&app, id))
        .transpose()?;
    if !app.remote_limiter.allow(&format!("addr:{addr}"))
        || !app.phone_limiter.allow(&format!("phone:{phone}"))
    {
        app.metrics
            .rate_limited
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return Err(ApiError::RateLimited);
    }
    let cmd = Command::Issue {
        service: luot_proto::code("service", &b.service)?,
        channel: Channel::Phone,
        priority: None,
        token: Token(crate::auth::random_bytes::<16>()),
        appointment: None,
        person,
        phone: Some(phone),
    };
    let mut result = app.broker.command(i, cmd).await?;
    if let Some(t) = &result.token {
        result.url = Some(app.ticket_url(t));
    }
    Ok((StatusCode::CREATED, Json(result)).into_response())
}
