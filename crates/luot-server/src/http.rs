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
    // An API token (`luot_…`) sent without a cookie is not a browser's ambient credential: a
    // page from another origin cannot make its browser send it, so there is nothing to forge.
    // Every such request is rate limited per token instead.
    if let Some(token) = auth::api_token(headers)
        && !headers.contains_key(header::COOKIE)
    {
        if !app.token_limiter.allow(&auth::token_hash(token)) {
            return ApiError::TokenRateLimited.into_response();
        }
        // An unknown or revoked token is refused everywhere, public reads included.
        if let Principal::BadToken { revoked } = auth::principal(&app, headers).await {
            return bad_token(revoked).into_response();
        }
        return next.run(req).await;
    }
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
        Principal::BadToken { revoked } => Err(bad_token(revoked)),
        Principal::Token(_) => Err(ApiError::TokenNotAllowed),
        _ => Err(ApiError::Forbidden),
    }
}

fn bad_token(revoked: bool) -> ApiError {
    if revoked {
        ApiError::TokenRevoked
    } else {
        ApiError::TokenUnknown
    }
}

/// Who may call a route open to both people and API tokens.
#[derive(Clone, Debug)]
pub enum Caller {
    User(User),
    Token(luot_store::ApiToken),
}

impl Caller {
    /// For the audit log: the login, or `token:<id>`.
    pub fn name(&self) -> String {
        match self {
            Caller::User(u) => u.login.clone(),
            Caller::Token(t) => format!("token:{}", t.id),
        }
    }
}

/// The API token asking, if it holds `scope` (not revoked). The booking routes use this with
/// `Scope::Book`; routes people use too call [`require_user_or_scope`].
pub async fn require_scope(
    app: &Arc<App>,
    headers: &HeaderMap,
    scope: auth::Scope,
) -> Result<luot_store::ApiToken, ApiError> {
    match auth::principal(app, headers).await {
        Principal::Token(t) if t.scopes.iter().any(|s| s == scope.as_str()) => Ok(t),
        Principal::Token(_) => Err(ApiError::TokenScope(scope.as_str())),
        Principal::BadToken { revoked } => Err(bad_token(revoked)),
        Principal::Anonymous => Err(ApiError::LoginRequired),
        _ => Err(ApiError::Forbidden),
    }
}

/// A signed-in user whose role `may`, or an API token with `scope`.
pub async fn require_user_or_scope(
    app: &Arc<App>,
    headers: &HeaderMap,
    may: fn(Role) -> bool,
    scope: auth::Scope,
) -> Result<Caller, ApiError> {
    match auth::principal(app, headers).await {
        Principal::User(u) if may(u.role) && !u.disabled => Ok(Caller::User(u)),
        Principal::Token(t) if t.scopes.iter().any(|s| s == scope.as_str()) => Ok(Caller::Token(t)),
        Principal::Token(_) => Err(ApiError::TokenScope(scope.as_str())),
        Principal::BadToken { revoked } => Err(bad_token(revoked)),
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
