//! The configuration, live: read it, check a text, apply one (managers and admins).

use crate::App;
use crate::error::{ApiError, store_error};
use crate::http::{body, require_user};
use crate::proxy::ClientIp;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use luot_store::Accounts;
use luot_store::Role;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

pub const CONFIG_BODY_MAX: usize = 1024 * 1024;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ConfigBody {
    /// The whole configuration file (TOML), at most 1 MiB.
    toml: String,
}

/// The configuration in force and its version (counts every apply).
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ConfigText {
    toml: String,
    version: i64,
}

/// A configuration text that checks: what it holds.
#[derive(Serialize, utoipa::ToSchema)]
struct ConfigCheck {
    /// Always `true`.
    ok: bool,
    summary: ConfigSummary,
}

#[derive(Serialize, utoipa::ToSchema)]
struct ConfigSummary {
    sites: usize,
    services: usize,
    counters: usize,
}

/// A configuration applied.
#[derive(Serialize, utoipa::ToSchema)]
struct ConfigApplied {
    version: i64,
    /// The listening address, public URL, origins, printers or daily backup changed: they are
    /// read at start only.
    restart_needed: bool,
}

/// `config_invalid`: every error of the text with its line and column.
#[derive(Serialize, utoipa::ToSchema)]
struct ConfigInvalid {
    /// `config_invalid`.
    code: &'static str,
    message: String,
    message_en: String,
    errors: Vec<ConfigErrorAt>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct ConfigErrorAt {
    line: u32,
    column: u32,
    /// Vietnamese.
    message: String,
    message_en: String,
}

/// What a refused configuration body gets (400).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum ConfigRefused {
    Invalid(ConfigInvalid),
    Error(luot_proto::ErrorDto),
}

/// Parses and checks a configuration text, including the time zones against the tz database.
fn parse_center(
    text: &str,
) -> Result<
    (
        luot_proto::config::CenterConfig,
        Vec<crate::broker::SiteRuntime>,
    ),
    ApiError,
> {
    let center =
        luot_proto::config::parse_config(text, "config.toml").map_err(ApiError::ConfigInvalid)?;
    let mut runtime = Vec::new();
    for s in &center.sites {
        let tz = jiff::tz::TimeZone::get(&s.time_zone).map_err(|_| {
            ApiError::ConfigInvalid(luot_proto::config::ConfigErrors {
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

#[utoipa::path(
    get,
    path = "/admin/config",
    operation_id = "getConfig",
    tag = "administration",
    summary = r#"The configuration in force (managers, admins)"#,
    security(("sessionCookie" = [])),
    responses(
        (status = 200, description = "OK", body = ConfigText, content_type = "application/json"),
        (status = 401, response = crate::rest::doc::Unauthorized),
        (status = 403, response = crate::rest::doc::Forbidden),
    )
)]
pub(super) async fn get_config(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
) -> Result<Json<ConfigText>, ApiError> {
    require_user(&app, &headers, Role::manages).await?;
    let (toml, version) = app.config_text.read().expect("config lock").clone();
    Ok(Json(ConfigText { toml, version }))
}

#[utoipa::path(
    post,
    path = "/admin/config/check",
    operation_id = "checkConfig",
    tag = "administration",
    summary = r#"Check a configuration without applying it (managers, admins)"#,
    security(("sessionCookie" = [])),
    request_body(content = ConfigBody, content_type = "application/json"),
    responses(
        (status = 200, description = "OK", body = ConfigCheck, content_type = "application/json"),
        (status = 400, description = "`config_invalid` with every error and its line, or `bad_body`.", body = ConfigRefused, content_type = "application/json"),
        (status = 401, response = crate::rest::doc::Unauthorized),
        (status = 403, response = crate::rest::doc::Forbidden),
        (status = 413, description = "The body is larger than 1 MiB (plain text).", body = String, content_type = "text/plain"),
    )
)]
pub(super) async fn check_config(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    require_user(&app, &headers, Role::manages).await?;
    let b: ConfigBody = body(&bytes)?;
    let (c, _) = parse_center(&b.toml)?;
    let services: usize = c.sites.iter().map(|s| s.core.services.len()).sum();
    let counters: usize = c.sites.iter().map(|s| s.core.counters.len()).sum();
    Ok(Json(ConfigCheck {
        ok: true,
        summary: ConfigSummary {
            sites: c.sites.len(),
            services,
            counters,
        },
    })
    .into_response())
}

/// Applies a configuration live: kiosks, displays and consoles reload their setup without a
/// page reload. Audited.
#[utoipa::path(
    put,
    path = "/admin/config",
    operation_id = "applyConfig",
    tag = "administration",
    summary = r#"Apply a configuration live (managers, admins)"#,
    description = r#"Rebuilds today's state under the new configuration from the durable events. Body at most 1 MiB."#,
    security(("sessionCookie" = [])),
    request_body(content = ConfigBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Applied; every socket gets a `config` message.", body = ConfigApplied, content_type = "application/json"),
        (status = 400, description = "`config_invalid` with every error and its line, or `bad_body`.", body = ConfigRefused, content_type = "application/json"),
        (status = 401, response = crate::rest::doc::Unauthorized),
        (status = 403, response = crate::rest::doc::Forbidden),
        (status = 409, description = "`config_refused`: it would strand a ticket or an open counter, or it changes the list of sites.", body = luot_proto::ErrorDto, content_type = "application/json"),
        (status = 413, description = "The body is larger than 1 MiB (plain text).", body = String, content_type = "text/plain"),
        (status = 503, response = crate::rest::doc::ServiceUnavailable),
    )
)]
pub(super) async fn put_config(
    State(app): State<Arc<App>>,
    ClientIp(addr): ClientIp,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let from = addr.to_string();
    let user = require_user(&app, &headers, Role::manages).await?;
    let b: ConfigBody = body(&bytes)?;
    let (center, runtime) = parse_center(&b.toml)?;
    // The listening address, public URL, origins, printers and daily backup are read at start
    // only.
    let restart_needed = center.public_url != app.center.public_url
        || center.allowed_origins != app.center.allowed_origins
        || center.printers != app.center.printers
        || center.backup != app.center.backup;
    app.broker.reconfigure(runtime).await?;
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
    Ok(Json(ConfigApplied {
        version,
        restart_needed,
    })
    .into_response())
}
