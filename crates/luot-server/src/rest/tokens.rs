//! API tokens (admins only, signed in; a token never manages tokens): list, create (the token
//! is shown once), revoke. Every change is audited.
//!
//! A token is `luot_` and 256 bits from the OS CSPRNG in hex; only its SHA-256 is kept. A fast
//! hash is enough: a slow one (argon2) protects secrets people choose, which can be guessed;
//! nobody can guess 256 random bits, so a stolen database gives nothing to work from either way,
//! and a fast hash keeps every API request a single indexed lookup.

use crate::App;
use crate::auth::{self, Scope};
use crate::error::{ApiError, store_error};
use crate::http::{body, require_user};
use crate::proxy::ClientIp;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use luot_proto::ErrorDto;
use luot_store::{ApiToken, Integrations, Role};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Tokens not revoked at most.
pub const TOKENS_MAX: usize = 50;
/// Longest token name, in characters.
pub const TOKEN_NAME_LEN_MAX: usize = 80;

/// An API token as listed (never the token itself).
#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenDto {
    pub id: i64,
    /// What it is for ("Cổng đặt lịch của tỉnh").
    pub name: String,
    /// `read`, `book`, `webhooks`.
    pub scopes: Vec<String>,
    /// The admin who made it.
    pub created_by: String,
    /// Unix milliseconds.
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl From<&ApiToken> for TokenDto {
    fn from(t: &ApiToken) -> TokenDto {
        TokenDto {
            id: t.id,
            name: t.name.clone(),
            scopes: t.scopes.clone(),
            created_by: t.created_by.clone(),
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// A new token: `token` is shown this once and never again.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenCreatedDto {
    #[serde(flatten)]
    pub info: TokenDto,
    /// `luot_` and 64 hex digits; send it as `Authorization: Bearer <token>`.
    pub token: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenBody {
    /// What it is for, 1 to 80 characters.
    pub name: String,
    /// One or more of `read`, `book`, `webhooks`.
    pub scopes: Vec<String>,
}

/// `{"ok": true}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DoneDto {
    pub ok: bool,
}

#[utoipa::path(
    get,
    path = "/admin/tokens",
    operation_id = "listTokens",
    tag = "administration",
    summary = r#"List API tokens (admin)"#,
    description = "Every token made, revoked ones included; never the tokens themselves.",
    security(("sessionCookie" = [])),
    responses(
        (status = 200, description = "The tokens, oldest first", body = Vec<TokenDto>),
        (status = 401, description = "Not signed in (`login_required`), or an unknown or revoked API token (`token_unknown`, `token_revoked`)", body = ErrorDto),
        (status = 403, description = "Not an admin (`forbidden`), or an API token (`token_not_allowed`)", body = ErrorDto),
        (status = 429, description = "Too many requests with one API token (`token_rate_limited`)", body = ErrorDto),
        (status = 503, description = "Storage failing", body = ErrorDto),
    )
)]
pub(super) async fn list(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
) -> Result<Json<Vec<TokenDto>>, ApiError> {
    require_user(&app, &headers, Role::administers).await?;
    let list = app.accounts(|c| c.tokens()).await.map_err(store_error)?;
    Ok(Json(list.iter().map(TokenDto::from).collect()))
}

#[utoipa::path(
    post,
    path = "/admin/tokens",
    operation_id = "createToken",
    tag = "administration",
    summary = r#"Create an API token (admin); shown once"#,
    security(("sessionCookie" = [])),
    request_body(content = NewTokenBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Made: the token is in this answer only", body = TokenCreatedDto),
        (status = 400, description = "Malformed body (`bad_body`), a bad name or scope (`invalid_field`)", body = ErrorDto),
        (status = 401, description = "Not signed in, or a bad API token", body = ErrorDto),
        (status = 403, description = "Not an admin, or an API token (`token_not_allowed`)", body = ErrorDto),
        (status = 409, description = "Already `TOKENS_MAX` (50) tokens in force (`integration_limit`)", body = ErrorDto),
        (status = 413, description = "Body too large (plain text, from the HTTP layer)", content_type = "text/plain", body = String),
        (status = 415, description = "Not JSON", body = ErrorDto),
        (status = 429, description = "Too many requests with one API token", body = ErrorDto),
        (status = 503, description = "Storage failing", body = ErrorDto),
    )
)]
pub(super) async fn create(
    State(app): State<Arc<App>>,
    ClientIp(addr): ClientIp,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let from = addr.to_string();
    let admin = require_user(&app, &headers, Role::administers).await?;
    let b: NewTokenBody = body(&bytes)?;
    let name = b.name.trim().to_string();
    if name.is_empty() || name.chars().count() > TOKEN_NAME_LEN_MAX {
        return Err(luot_proto::WireError::invalid("name", &b.name).into());
    }
    let mut scopes: Vec<String> = Vec::new();
    for s in &b.scopes {
        let scope = Scope::parse(s)
            .ok_or_else(|| ApiError::from(luot_proto::WireError::invalid("scopes", s)))?;
        if !scopes.iter().any(|x| x == scope.as_str()) {
            scopes.push(scope.as_str().to_string());
        }
    }
    if scopes.is_empty() {
        return Err(luot_proto::WireError::missing("scopes").into());
    }
    let token = auth::new_api_token();
    let hash = auth::token_hash(&token);
    let now = app.clock.now_ms();
    let actor = admin.login.clone();
    let (n, s) = (name.clone(), scopes.clone());
    let made = app
        .accounts(move |c| {
            if c.active_tokens()? as usize >= TOKENS_MAX {
                return Ok(None);
            }
            let id = c.add_token(&n, &s, &hash, &actor, now)?;
            luot_store::Accounts::audit_from(
                c,
                now,
                &actor,
                "token_create",
                &format!("{id} {n} [{}]", s.join(",")),
                &from,
            )?;
            Ok(Some(id))
        })
        .await
        .map_err(store_error)?;
    let Some(id) = made else {
        return Err(ApiError::IntegrationLimit {
            vi: "mã truy cập API",
            en: "API tokens",
            max: TOKENS_MAX,
        });
    };
    let dto = TokenCreatedDto {
        info: TokenDto {
            id,
            name,
            scopes,
            created_by: admin.login,
            created_at: now,
            last_used_at: None,
            revoked_at: None,
        },
        token,
    };
    Ok((StatusCode::CREATED, Json(dto)).into_response())
}

#[utoipa::path(
    post,
    path = "/admin/tokens/{id}/revoke",
    operation_id = "revokeToken",
    tag = "administration",
    summary = r#"Revoke an API token (admin)"#,
    description = "From the next request on, the token gets 401 `token_revoked`.",
    security(("sessionCookie" = [])),
    params(("id" = i64, Path, description = "The token's id")),
    responses(
        (status = 200, description = "Revoked", body = DoneDto),
        (status = 400, description = "The id is not an integer (plain text, from the HTTP layer)", content_type = "text/plain", body = String),
        (status = 401, description = "Not signed in, or a bad API token", body = ErrorDto),
        (status = 403, description = "Not an admin, or an API token (`token_not_allowed`)", body = ErrorDto),
        (status = 404, description = "No such token, or already revoked (`token_not_found`)", body = ErrorDto),
        (status = 429, description = "Too many requests with one API token", body = ErrorDto),
        (status = 503, description = "Storage failing", body = ErrorDto),
    )
)]
pub(super) async fn revoke(
    State(app): State<Arc<App>>,
    ClientIp(addr): ClientIp,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Json<DoneDto>, ApiError> {
    let from = addr.to_string();
    let admin = require_user(&app, &headers, Role::administers).await?;
    let now = app.clock.now_ms();
    let done = app
        .accounts(move |c| {
            let done = c.revoke_token(id, now)?;
            if done {
                luot_store::Accounts::audit_from(
                    c,
                    now,
                    &admin.login,
                    "token_revoke",
                    &id.to_string(),
                    &from,
                )?;
            }
            Ok(done)
        })
        .await
        .map_err(store_error)?;
    if !done {
        return Err(ApiError::TokenNotFound);
    }
    Ok(Json(DoneDto { ok: true }))
}
