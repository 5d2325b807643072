//! HTTP helpers shared by the REST handlers and `/ws`: JSON bodies, the `Origin` check, who may
//! call a route.

use crate::App;
use crate::auth::{self, Principal};
use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Response};
use luot_store::{Role, User};
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// Parses a JSON body with an error that says where it went wrong.
/// Its strings are taken in NFC (`luot_proto::nfc_json`).
pub fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    let parsed = match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(&luot_proto::nfc_json(text)),
        Err(_) => serde_json::from_slice(bytes),
    };
    parsed.map_err(|e| ApiError::BadBody((&e).into()))
}

/// Origins are checked only when a browser sends one: a page from another site may not drive
/// a kiosk's or an official's socket.
pub fn origin_allowed(app: &App, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get("origin").and_then(|o| o.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let origin_host = origin.split("://").nth(1).unwrap_or("");
    origin_host == host
        || origin == app.public_url
        || app.allowed_origins.iter().any(|o| o == origin)
}

/// A page from another origin may not act here with the credentials its browser holds:
/// SameSite=Strict keeps the session cookie from other sites, not from another port or
/// subdomain of the same one. Reads without credentials stay open to anyone.
pub async fn same_origin(
    State(app): State<Arc<App>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let headers = req.headers();
    let safe = matches!(*req.method(), Method::GET | Method::HEAD);
    let credentials =
        headers.contains_key(header::COOKIE) || headers.contains_key(header::AUTHORIZATION);
    if (!safe || credentials) && !origin_allowed(&app, headers) {
        return ApiError::OriginRefused.into_response();
    }
    next.run(req).await
}

/// The user asking, if their role has the right `may` asks for (`Role::manages`,
/// `Role::administers`) and the account is not disabled.
pub async fn require_user(
    app: &Arc<App>,
    headers: &HeaderMap,
    may: fn(Role) -> bool,
) -> Result<User, ApiError> {
    match auth::principal(app, headers).await {
        Principal::User(u) if may(u.role) && !u.disabled => Ok(u),
        Principal::Anonymous => Err(ApiError::LoginRequired),
        _ => Err(ApiError::Forbidden),
    }
}

/// The `lang` query parameter of what a person reads (exports, reports): `vi` (default) or `en`.
pub fn lang_param(v: Option<&str>) -> Result<crate::report::Lang, ApiError> {
    match v {
        None => Ok(crate::report::Lang::Vi),
        Some(s) => crate::report::Lang::parse(s)
            .ok_or_else(|| luot_proto::WireError::invalid("lang", s).into()),
    }
}
