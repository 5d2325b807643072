//! Sessions (login, logout, me) and the accounts admins manage.

use crate::App;
use crate::auth::{self, Principal, SESSION_COOKIE};
use crate::error::{ApiError, FieldFault, store_error};
use crate::http::{body, require_user};
use crate::proxy::ClientIp;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use luot_store::Accounts;
use luot_store::Role;
use luot_store::User;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    #[schema(max_length = 64)]
    login: String,
    #[schema(max_length = 256)]
    password: String,
}

fn session_cookie(app: &App, value: &str, max_age_s: i64) -> HeaderValue {
    let secure = if app.secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}"
    ))
    .expect("cookie is ASCII")
}

/// An account as the API shows it (never its password hash).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = User)]
pub(crate) struct UserReply {
    #[schema(value_type = luot_proto::schema::Code)]
    login: String,
    display_name: String,
    role: Role,
    /// Counter codes (`quay-1` or `site/quay-1`).
    counters: Vec<String>,
    disabled: bool,
}

fn user_json(u: &User) -> UserReply {
    UserReply {
        login: u.login.clone(),
        display_name: u.display_name.clone(),
        role: u.role,
        counters: u.counters.clone(),
        disabled: u.disabled,
    }
}

/// A paired device asking who it is.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct DeviceMe {
    device: i64,
    kind: luot_store::DeviceKind,
    name: String,
    #[schema(value_type = luot_proto::schema::Code)]
    site: String,
    #[schema(required = true, value_type = Option<luot_proto::schema::Code>)]
    counter: Option<String>,
}

/// `GET /me`: a signed-in user or a paired device.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub(crate) enum MeReply {
    User(UserReply),
    Device(DeviceMe),
}

/// `{"ok": true}`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Ok)]
pub(crate) struct OkReply {
    /// Always `true`.
    ok: bool,
}

impl OkReply {
    pub(crate) const OK: OkReply = OkReply { ok: true };
}

/// A password set by an admin: `password` is there only when the server made it, shown once.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct PasswordSet {
    /// Always `true`.
    ok: bool,
    login: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    password: Option<String>,
}

/// What `POST /admin/users/{login}/{action}` answers.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub(crate) enum UserActionReply {
    User(UserReply),
    Password(PasswordSet),
}

/// The actions of `POST /admin/users/{login}/{action}`.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
enum UserAction {
    Disable,
    Enable,
    Password,
}

#[utoipa::path(
    post,
    path = "/login",
    operation_id = "login",
    tag = "accounts",
    summary = r#"Sign in"#,
    security(()),
    request_body(content = LoginBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Signed in; the session cookie is set.", body = UserReply, content_type = "application/json", headers(("Set-Cookie" = String, description = "`luot_session=<token>; Path=/; HttpOnly; SameSite=Strict; Max-Age=50400`"))),
        (status = 400, response = crate::rest::doc::BadRequest),
        (status = 401, response = crate::rest::doc::Unauthorized),
        (status = 403, response = crate::rest::doc::Forbidden),
        (status = 413, response = crate::rest::doc::PayloadTooLarge),
        (status = 429, response = crate::rest::doc::TooManyRequests),
        (status = 503, response = crate::rest::doc::ServiceUnavailable),
    )
)]
pub(super) async fn login(
    State(app): State<Arc<App>>,
    ClientIp(addr): ClientIp,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let b: LoginBody = body(&bytes)?;
    if b.login.len() > auth::LOGIN_BYTES_MAX || b.password.len() > auth::PASSWORD_BYTES_MAX {
        return Err(ApiError::InvalidField(FieldFault::LoginTooLong));
    }
    let keys = [format!("login:{}", b.login), format!("addr:{addr}")];
    if let Some(wait) = keys.iter().filter_map(|k| app.backoff.wait(k)).max() {
        app.metrics
            .rate_limited
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return Err(ApiError::LoginBackoff {
            wait_s: wait.as_secs() + 1,
        });
    }
    let login = b.login.clone();
    let user = app
        .accounts(move |c| c.user(&login))
        .await
        .map_err(store_error)?;
    let password = b.password;
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    // Verify even for unknown users, so timing does not tell which logins exist.
    let ok = tokio::task::spawn_blocking(move || {
        let h = hash.unwrap_or_else(|| "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0000000000000000000000000000000000000000000".into());
        auth::verify_password(&password, &h)
    })
    .await
    .unwrap_or(false);
    let user = match user {
        Some(u) if ok && !u.disabled => u,
        _ => {
            for k in &keys {
                app.backoff.failed(k);
            }
            // One line per failure (each cost a password check), and one when a failure starts a
            // back-off, naming what is held back and for how long.
            let held: Vec<String> = keys
                .iter()
                .filter_map(|k| {
                    app.backoff
                        .wait(k)
                        .map(|w| format!("{k} {} s", w.as_secs() + 1))
                })
                .collect();
            let (who, now, from) = (b.login.clone(), app.clock.now_ms(), addr.to_string());
            app.accounts(move |c| {
                c.audit_from(now, &who, "login_failed", "", &from)?;
                if !held.is_empty() {
                    c.audit_from(now, &who, "login_backoff", &held.join(", "), &from)?;
                }
                Ok(())
            })
            .await
            .map_err(store_error)?;
            return Err(ApiError::LoginFailed);
        }
    };
    for k in &keys {
        app.backoff.succeeded(k);
    }
    // A new token at every login; the old session, if any, ends.
    if let Some(old) = auth::cookie(&headers, SESSION_COOKIE) {
        let h = auth::token_hash(old);
        app.activity.forget(&h);
        let _ = app.accounts(move |c| c.delete_session(&h)).await;
    }
    let token = auth::new_token();
    let hash = auth::token_hash(&token);
    let (login, now) = (user.login.clone(), app.clock.now_ms());
    app.activity.touch(&hash);
    let from = addr.to_string();
    app.accounts(move |c| {
        c.add_session(&hash, &login, now)?;
        c.audit_from(now, &login, "login", "", &from)
    })
    .await
    .map_err(store_error)?;
    let mut res = Json(user_json(&user)).into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(&app, &token, auth::SESSION_ABSOLUTE_MS / 1000),
    );
    Ok(res)
}

#[utoipa::path(
    post,
    path = "/logout",
    operation_id = "logout",
    tag = "accounts",
    summary = r#"Sign out"#,
    security((), ("sessionCookie" = [])),
    responses(
        (status = 200, description = "Signed out; the cookie is cleared.", body = OkReply, content_type = "application/json"),
        (status = 403, response = crate::rest::doc::Forbidden),
    )
)]
pub(super) async fn logout(
    State(app): State<Arc<App>>,
    ClientIp(addr): ClientIp,
    headers: HeaderMap,
) -> Response {
    if let Some(token) = auth::cookie(&headers, SESSION_COOKIE) {
        let h = auth::token_hash(token);
        app.activity.forget(&h);
        let (now, from) = (app.clock.now_ms(), addr.to_string());
        let ended = app
            .accounts(move |c| {
                let who = c.session(&h)?.map(|(u, _)| u.login);
                c.delete_session(&h)?;
                if let Some(login) = &who {
                    c.audit_from(now, login, "logout", "", &from)?;
                }
                Ok(who)
            })
            .await;
        // The sockets opened with this session end now (standing.rs).
        if let Ok(Some(login)) = ended {
            crate::standing::announce(&app, login);
        }
    }
    let mut res = Json(OkReply::OK).into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&app, "", 0));
    res
}

#[utoipa::path(
    get,
    path = "/me",
    operation_id = "me",
    tag = "accounts",
    summary = r#"Who am I"#,
    security(("sessionCookie" = []), ("deviceToken" = [])),
    responses(
        (status = 200, description = "OK", body = MeReply, content_type = "application/json"),
        (status = 401, response = crate::rest::doc::Unauthorized),
        (status = 403, response = crate::rest::doc::Forbidden),
    )
)]
pub(super) async fn me(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
) -> Result<Json<MeReply>, ApiError> {
    match auth::principal(&app, &headers).await {
        Principal::User(u) => Ok(Json(MeReply::User(user_json(&u)))),
        Principal::Device(d) => Ok(Json(MeReply::Device(DeviceMe {
            device: d.id,
            kind: d.kind,
            name: d.name.clone(),
            site: d.site.clone(),
            counter: d.counter.clone(),
        }))),
        _ => Err(ApiError::LoginRequired),
    }
}

#[utoipa::path(
    get,
    path = "/admin/users",
    operation_id = "listUsers",
    tag = "administration",
    summary = r#"List users (admin, manager)"#,
    security(("sessionCookie" = [])),
    responses(
        (status = 200, description = "OK", body = Vec<UserReply>, content_type = "application/json"),
        (status = 401, response = crate::rest::doc::Unauthorized),
        (status = 403, response = crate::rest::doc::Forbidden),
        (status = 503, response = crate::rest::doc::ServiceUnavailable),
    )
)]
pub(super) async fn users(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
) -> Result<Json<Vec<UserReply>>, ApiError> {
    require_user(&app, &headers, Role::manages).await?;
    let list = app.accounts(|c| c.users()).await.map_err(store_error)?;
    Ok(Json(list.iter().map(user_json).collect()))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewUser)]
struct NewUserBody {
    #[schema(value_type = luot_proto::schema::Code)]
    login: String,
    #[schema(min_length = 1, max_length = 100)]
    display_name: String,
    #[schema(value_type = Role)]
    role: String,
    #[schema(min_length = 10, max_length = 256)]
    password: String,
    /// Counter codes (`quay-1` or `site/quay-1`).
    #[serde(default)]
    counters: Vec<String>,
}

#[utoipa::path(
    post,
    path = "/admin/users",
    operation_id = "addUser",
    tag = "administration",
    summary = r#"Add a user (admin)"#,
    security(("sessionCookie" = [])),
    request_body(content = NewUserBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Created.", body = UserReply, content_type = "application/json"),
        (status = 400, response = crate::rest::doc::BadRequest),
        (status = 401, response = crate::rest::doc::Unauthorized),
        (status = 403, response = crate::rest::doc::Forbidden),
        (status = 409, description = "`user_exists` (also answered, today, when storage fails).", body = luot_proto::ErrorDto, content_type = "application/json"),
        (status = 413, response = crate::rest::doc::PayloadTooLarge),
    )
)]
pub(super) async fn add_user(
    State(app): State<Arc<App>>,
    ClientIp(addr): ClientIp,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let from = addr.to_string();
    let admin = require_user(&app, &headers, Role::administers).await?;
    let b: NewUserBody = body(&bytes)?;
    luot_proto::code("login", &b.login)?;
    let role = parse_role(&b.role)?;
    check_counters(&app, &b.counters)?;
    check_display_name(&b.display_name)?;
    auth::check_password_strength(&b.password).map_err(ApiError::WeakPassword)?;
    let password = b.password.clone();
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(|e| ApiError::HashFailed(e.to_string()))?
        .map_err(ApiError::HashFailed)?;
    let now = app.clock.now_ms();
    let user = User {
        login: b.login,
        display_name: b.display_name,
        role,
        password_hash: hash,
        counters: b.counters,
        disabled: false,
        created_at: now,
    };
    let u = user.clone();
    let actor = admin.login.clone();
    app.accounts(move |c| {
        if c.user(&u.login)?.is_some() {
            return Err(luot_store::StoreError::Other(format!(
                "login {} exists",
                u.login
            )));
        }
        c.add_user(&u)?;
        c.audit_from(now, &actor, "user_add", &u.login, &from)
    })
    .await
    .map_err(|e| ApiError::UserExists(e.to_string()))?;
    Ok((StatusCode::CREATED, Json(user_json(&user))).into_response())
}

/// A role as a request names it; an unknown word is `invalid_field` `role`.
fn parse_role(role: &str) -> Result<Role, ApiError> {
    role.parse()
        .map_err(|_| luot_proto::WireError::invalid("role", role).into())
}

fn check_display_name(name: &str) -> Result<(), ApiError> {
    if name.trim().is_empty() || name.len() > DISPLAY_NAME_LEN_MAX {
        return Err(luot_proto::WireError::invalid("display_name", name).into());
    }
    Ok(())
}

/// Longest display name, in bytes.
pub const DISPLAY_NAME_LEN_MAX: usize = 100;
/// Longest name of a paired device ("Kiosk sảnh A"), in bytes.
pub const DEVICE_NAME_LEN_MAX: usize = 100;
/// Most counters one official may be assigned.
pub const USER_COUNTERS_MAX: usize = 50;

/// Counter codes as accounts hold them (`counter` or `site/counter`), each of a known counter.
fn check_counters(app: &App, counters: &[String]) -> Result<(), ApiError> {
    if counters.len() > USER_COUNTERS_MAX {
        return Err(ApiError::TooManyCounters {
            max: USER_COUNTERS_MAX,
        });
    }
    let runtime = app.broker.runtime();
    for c in counters {
        let (site, counter) = match c.split_once('/') {
            Some((s, c)) => (Some(s), c),
            None => (None, c.as_str()),
        };
        let known = luot_core::Code::new(counter).ok().is_some_and(|code| {
            runtime.iter().any(|rt| {
                site.is_none_or(|s| rt.code.as_str() == s)
                    && rt.settings.core.counter(code).is_some()
            })
        });
        if !known {
            return Err(ApiError::UserCounterUnknown(c.clone()));
        }
    }
    Ok(())
}

/// Ends a user's sessions in memory and tells their open websockets.
fn account_changed(app: &App, login: &str, hashes: &[String]) {
    for h in hashes {
        app.activity.forget(h);
    }
    let _ = app.account_changes.send(login.to_string());
}

/// What to change; fields left out stay as they are.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = EditUser)]
struct EditUserBody {
    #[serde(default)]
    #[schema(nullable = false, min_length = 1, max_length = 100)]
    display_name: Option<String>,
    #[serde(default)]
    #[schema(nullable = false, value_type = Option<Role>)]
    role: Option<String>,
    /// Known counter codes (`quay-1` or `site/quay-1`).
    #[serde(default)]
    #[schema(nullable = false, max_items = 50)]
    counters: Option<Vec<String>>,
}

/// `POST /admin/users/{login}`: change the display name, role or counters (admins).
#[utoipa::path(
    post,
    path = "/admin/users/{login}",
    operation_id = "editUser",
    tag = "administration",
    summary = r#"Change an account's display name, role or counters (admin)"#,
    description = r#"Audited (`user_edit`). The user's open websockets close and reconnect with the new rights. The last active admin keeps the admin role (`last_admin`, 409)."#,
    security(("sessionCookie" = [])),
    params(
        ("login" = inline(luot_proto::schema::Code), Path),
    ),
    request_body(content = EditUserBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The account as it is now.", body = UserReply, content_type = "application/json"),
        (status = 400, response = crate::rest::doc::BadRequest),
        (status = 401, response = crate::rest::doc::Unauthorized),
        (status = 403, response = crate::rest::doc::Forbidden),
        (status = 404, response = crate::rest::doc::NotFound),
        (status = 409, response = crate::rest::doc::Conflict),
        (status = 413, response = crate::rest::doc::PayloadTooLarge),
        (status = 503, response = crate::rest::doc::ServiceUnavailable),
    )
)]
pub(super) async fn edit_user(
    State(app): State<Arc<App>>,
    ClientIp(addr): ClientIp,
    headers: HeaderMap,
    Path(login): Path<String>,
    bytes: Bytes,
) -> Result<Json<UserReply>, ApiError> {
    let from = addr.to_string();
    let admin = require_user(&app, &headers, Role::administers).await?;
    let b: EditUserBody = body(&bytes)?;
    if let Some(n) = &b.display_name {
        check_display_name(n)?;
    }
    let role = b.role.as_deref().map(parse_role).transpose()?;
    if let Some(c) = &b.counters {
        check_counters(&app, c)?;
    }
    let now = app.clock.now_ms();
    let (l, actor) = (login.clone(), admin.login.clone());
    let outcome = app
        .accounts(move |c| {
            let Some(before) = c.user(&l)? else {
                return Ok(Err(ApiError::UserUnknown));
            };
            if before.role.administers()
                && role.is_some_and(|r| !r.administers())
                && !before.disabled
                && c.active_admins()? <= 1
            {
                return Ok(Err(ApiError::LastAdmin));
            }
            c.update_user(
                &l,
                b.display_name.as_deref().map(str::trim),
                role,
                b.counters.as_deref(),
            )?;
            let mut what = Vec::new();
            if let Some(n) = &b.display_name {
                what.push(format!("display_name={}", n.trim()));
            }
            if let Some(r) = role {
                what.push(format!("role={r}"));
            }
            if let Some(cs) = &b.counters {
                what.push(format!("counters={}", cs.join(",")));
            }
            c.audit_from(
                now,
                &actor,
                "user_edit",
                &format!("{l} {}", what.join(" ")),
                &from,
            )?;
            Ok(Ok(c.user(&l)?.expect("just updated")))
        })
        .await
        .map_err(store_error)??;
    let user = outcome;
    // Sessions stay valid; open sockets reconnect to take the new rights.
    account_changed(&app, &login, &[]);
    Ok(Json(user_json(&user)))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PasswordReset)]
struct PasswordBody {
    /// Left out: the server makes one and returns it once.
    #[serde(default)]
    #[schema(nullable = false, min_length = 12, max_length = 256)]
    password: Option<String>,
}

/// `POST /admin/users/{login}/disable|enable|password` (admins). Disabling ends the user's
/// sessions and closes their websockets at once; a new password ends their sessions too.
#[utoipa::path(
    post,
    path = "/admin/users/{login}/{action}",
    operation_id = "userAction",
    tag = "administration",
    summary = r#"Disable, enable or reset the password of an account (admin)"#,
    description = r#"`disable`: the user can no longer log in; their sessions end and their open websockets close at once (`session_ended`). An admin cannot disable themselves (`cannot_disable_self`) nor the last active admin (`last_admin`). `enable`: undo. `password`: a new password (body `PasswordReset`; left out, one is made and returned once); ends the user's sessions. All audited."#,
    security(("sessionCookie" = [])),
    params(
        ("login" = inline(luot_proto::schema::Code), Path),
        ("action" = inline(UserAction), Path),
    ),
    request_body(content = Option<PasswordBody>, content_type = "application/json"),
    responses(
        (status = 200, description = "`disable`/`enable`: the account (User); `password`: `{ok, login, password?}`.", body = UserActionReply, content_type = "application/json"),
        (status = 400, response = crate::rest::doc::BadRequest),
        (status = 401, response = crate::rest::doc::Unauthorized),
        (status = 403, response = crate::rest::doc::Forbidden),
        (status = 404, response = crate::rest::doc::NotFound),
        (status = 409, response = crate::rest::doc::Conflict),
        (status = 413, response = crate::rest::doc::PayloadTooLarge),
        (status = 503, response = crate::rest::doc::ServiceUnavailable),
    )
)]
pub(super) async fn user_action(
    State(app): State<Arc<App>>,
    ClientIp(addr): ClientIp,
    headers: HeaderMap,
    Path((login, action)): Path<(String, String)>,
    bytes: Bytes,
) -> Result<Json<UserActionReply>, ApiError> {
    let from = addr.to_string();
    let admin = require_user(&app, &headers, Role::administers).await?;
    let now = app.clock.now_ms();
    let actor = admin.login.clone();
    match action.as_str() {
        "disable" | "enable" => {
            let disable = action == "disable";
            if disable && login == admin.login {
                return Err(ApiError::CannotDisableSelf);
            }
            let l = login.clone();
            let (user, hashes) = app
                .accounts(move |c| {
                    let Some(before) = c.user(&l)? else {
                        return Ok(Err(ApiError::UserUnknown));
                    };
                    if disable
                        && before.role.administers()
                        && !before.disabled
                        && c.active_admins()? <= 1
                    {
                        return Ok(Err(ApiError::LastAdmin));
                    }
                    let hashes = c.session_hashes(&l)?;
                    c.set_disabled(&l, disable)?;
                    c.audit_from(
                        now,
                        &actor,
                        if disable {
                            "user_disable"
                        } else {
                            "user_enable"
                        },
                        &l,
                        &from,
                    )?;
                    Ok(Ok((c.user(&l)?.expect("exists"), hashes)))
                })
                .await
                .map_err(store_error)??;
            if disable {
                account_changed(&app, &login, &hashes);
            }
            Ok(Json(UserActionReply::User(user_json(&user))))
        }
        "password" => {
            let b: PasswordBody = if bytes.is_empty() {
                PasswordBody::default()
            } else {
                body(&bytes)?
            };
            let (password, generated) = match b.password {
                Some(p) => {
                    auth::check_password_strength(&p).map_err(ApiError::WeakPassword)?;
                    (p, false)
                }
                None => (auth::new_password(), true),
            };
            let p = password.clone();
            let hash = tokio::task::spawn_blocking(move || auth::hash_password(&p))
                .await
                .map_err(|e| ApiError::HashFailed(e.to_string()))?
                .map_err(ApiError::HashFailed)?;
            let l = login.clone();
            let hashes = app
                .accounts(move |c| {
                    if c.user(&l)?.is_none() {
                        return Ok(Err(ApiError::UserUnknown));
                    }
                    let hashes = c.session_hashes(&l)?;
                    c.set_password(&l, &hash)?;
                    c.audit_from(now, &actor, "user_password", &l, &from)?;
                    Ok(Ok(hashes))
                })
                .await
                .map_err(store_error)??;
            account_changed(&app, &login, &hashes);
            Ok(Json(UserActionReply::Password(PasswordSet {
                ok: true,
                login,
                password: generated.then_some(password),
            })))
        }
        _ => Err(ApiError::NoRoute { action: true }),
    }
}
