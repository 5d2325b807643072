//! Paired devices: list, pair, revoke (admins).

use super::accounts::DEVICE_NAME_LEN_MAX;
use super::site_index;
use crate::App;
use crate::auth::{self};
use crate::error::{ApiError, store_error};
use crate::http::{body, require_user};
use crate::proxy::ClientIp;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use luot_store::Accounts;
use luot_store::NewDevice;
use luot_store::{DeviceKind, Role};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use super::accounts::OkReply;

/// A paired device (never its token).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Device)]
pub(crate) struct DeviceReply {
    id: i64,
    kind: DeviceKind,
    name: String,
    #[schema(value_type = luot_proto::schema::Code)]
    site: String,
    #[schema(required = true, value_type = Option<luot_proto::schema::Code>)]
    counter: Option<String>,
    /// Unix epoch milliseconds.
    created_at: i64,
    /// Unix epoch milliseconds.
    #[schema(required = true)]
    revoked_at: Option<i64>,
}

/// A device just paired: its token, shown once.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct PairedDevice {
    id: i64,
    /// Shown once.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    token: String,
    #[schema(value_type = DeviceKind)]
    kind: String,
    name: String,
}

#[utoipa::path(
    get,
    path = "/admin/devices",
    operation_id = "listDevices",
    tag = "administration",
    summary = r#"List paired devices (admin)"#,
    security(("sessionCookie" = [])),
    responses(
        (status = 200, description = "OK", body = Vec<DeviceReply>, content_type = "application/json"),
        (status = 401, response = crate::rest::doc::Unauthorized),
        (status = 403, response = crate::rest::doc::Forbidden),
        (status = 503, response = crate::rest::doc::ServiceUnavailable),
    )
)]
pub(super) async fn devices(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
) -> Result<Json<Vec<DeviceReply>>, ApiError> {
    require_user(&app, &headers, Role::administers).await?;
    let list = app.accounts(|c| c.devices()).await.map_err(store_error)?;
    Ok(Json(
        list.into_iter()
            .map(|d| DeviceReply {
                id: d.id,
                kind: d.kind,
                name: d.name,
                site: d.site,
                counter: d.counter,
                created_at: d.created_at,
                revoked_at: d.revoked_at,
            })
            .collect(),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PairDevice)]
struct PairBody {
    #[schema(value_type = DeviceKind)]
    kind: String,
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// A configuration code (ASCII letters, digits, `. _ - @`); the first site when left out.
    #[serde(default)]
    #[schema(nullable = false, value_type = Option<luot_proto::schema::Code>)]
    site: Option<String>,
    /// Required for `rating` and `counter_display`.
    #[serde(default)]
    #[schema(nullable = false, value_type = Option<luot_proto::schema::Code>)]
    counter: Option<String>,
}

#[utoipa::path(
    post,
    path = "/admin/devices",
    operation_id = "pairDevice",
    tag = "administration",
    summary = r#"Pair a device (admin)"#,
    security(("sessionCookie" = [])),
    request_body(content = PairBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Paired; the token is shown once.", body = PairedDevice, content_type = "application/json"),
        (status = 400, response = crate::rest::doc::BadRequest),
        (status = 401, response = crate::rest::doc::Unauthorized),
        (status = 403, response = crate::rest::doc::Forbidden),
        (status = 404, response = crate::rest::doc::NotFound),
        (status = 413, response = crate::rest::doc::PayloadTooLarge),
        (status = 503, response = crate::rest::doc::ServiceUnavailable),
    )
)]
pub(super) async fn pair_device(
    State(app): State<Arc<App>>,
    ClientIp(addr): ClientIp,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let from = addr.to_string();
    let admin = require_user(&app, &headers, Role::administers).await?;
    let b: PairBody = body(&bytes)?;
    let kind: DeviceKind = b
        .kind
        .parse()
        .map_err(|_| ApiError::from(luot_proto::WireError::invalid("kind", &b.kind)))?;
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
    } else if kind.needs_counter() {
        return Err(luot_proto::WireError::missing("counter").into());
    }
    let token = auth::new_token();
    let hash = auth::token_hash(&token);
    let now = app.clock.now_ms();
    let (name, counter, actor) = (b.name.clone(), b.counter.clone(), admin.login);
    let id = app
        .accounts(move |c| {
            let id = c.add_device(
                &NewDevice {
                    kind,
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
        Json(PairedDevice {
            id,
            token,
            kind: b.kind,
            name: b.name,
        }),
    )
        .into_response())
}

#[utoipa::path(
    post,
    path = "/admin/devices/{id}/revoke",
    operation_id = "revokeDevice",
    tag = "administration",
    summary = r#"Revoke a device (admin)"#,
    security(("sessionCookie" = [])),
    params(
        ("id" = i64, Path),
    ),
    responses(
        (status = 200, description = "OK", body = OkReply, content_type = "application/json"),
        (status = 400, description = "The id is not an integer (plain text, from the HTTP layer).", body = String, content_type = "text/plain"),
        (status = 401, response = crate::rest::doc::Unauthorized),
        (status = 403, response = crate::rest::doc::Forbidden),
        (status = 404, response = crate::rest::doc::NotFound),
        (status = 503, response = crate::rest::doc::ServiceUnavailable),
    )
)]
pub(super) async fn revoke_device(
    State(app): State<Arc<App>>,
    ClientIp(addr): ClientIp,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Json<OkReply>, ApiError> {
    let from = addr.to_string();
    let admin = require_user(&app, &headers, Role::administers).await?;
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
        return Err(ApiError::DeviceUnknown);
    }
    // The device's open sockets end now (standing.rs).
    crate::standing::announce(&app, crate::standing::device_key(id));
    Ok(Json(OkReply::OK))
}
