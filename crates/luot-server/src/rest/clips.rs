//! `/api/v1/admin/clips`: the voice clips a manager replaces or adds (`crate::clips` keeps them
//! and checks them).

use crate::App;
use crate::clips::{
    CLIP_BYTES_MAX, CLIP_SECONDS_MAX, NAME_MAX, PHRASE_TEXT_MAX, PHRASES_MAX, RESERVED_PREFIXES,
    check, stored, valid_name,
};
use crate::error::{ApiError, FieldFault, store_error};
use crate::http::require_user;
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use luot_proto::{PROTOCOL_VERSION, ServerMessage};
use luot_store::Accounts;
use luot_store::Role;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// A voice clip the announcer knows: built-in, replaced by the center's recording, or a phrase
/// the center added.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Clip {
    /// `null` for the chime.
    #[schema(required = true)]
    lang: Option<String>,
    name: String,
    /// What the clip says (from the manifest).
    #[schema(required = true)]
    text: Option<String>,
    #[schema(example = "/audio/vi/invite.ogg?v=3f2a9c01d4e5b677")]
    url: String,
    /// A phrase clip the center added (not in the built-in manifest).
    custom: bool,
    /// `null` while the built-in clip plays.
    #[schema(required = true)]
    replaced: Option<ClipReplaced>,
}

/// The center's recording that replaces a clip.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ClipReplaced {
    bytes: u64,
    duration_ms: u64,
    #[schema(value_type = ClipCodec)]
    codec: String,
    /// Milliseconds since the epoch.
    uploaded_at: i64,
    uploaded_by: String,
    version: String,
}

/// The codec of a recording (`crate::clips::check` takes no other).
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
enum ClipCodec {
    Vorbis,
    Opus,
}

/// Every clip, with the limits an upload must keep.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ClipList {
    limits: ClipLimits,
    /// The voices, Vietnamese first.
    languages: Vec<String>,
    clips: Vec<Clip>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ClipLimits {
    bytes_max: usize,
    seconds_max: f64,
    phrases_max: usize,
    phrase_text_max: usize,
}

/// A recording, the body of `PUT`: the .ogg file itself.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
struct OggFile(Vec<u8>);

/// An added phrase clip, removed.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ClipRemoved {
    #[schema(required = true)]
    lang: Option<String>,
    name: String,
    /// Always `true`.
    removed: bool,
}

/// What deleting a clip answers: the clip as listed (built-in again), or that an added phrase
/// is gone.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub(crate) enum ClipDeleted {
    Listed(Clip),
    Removed(ClipRemoved),
}

/// The manifest the announcer reads (the `--assets` folder's or the embedded one), with the
/// phrases the center added.
async fn manifest(app: &App) -> Result<Value, ApiError> {
    let bytes = crate::assets::read(app, "audio/manifest.json")
        .await
        .ok_or(ApiError::ClipManifest(None))?;
    let mut m: Value =
        serde_json::from_slice(&bytes).map_err(|e| ApiError::ClipManifest(Some(e.to_string())))?;
    app.clips.merge(&mut m);
    Ok(m)
}

/// Phrases first (as a template reads), then letters, digits and numbers in order.
fn clip_order(name: &str) -> (u8, u64, String) {
    for (i, p) in RESERVED_PREFIXES.iter().enumerate() {
        if let Some(rest) = name.strip_prefix(p) {
            return (i as u8 + 1, rest.parse().unwrap_or(0), rest.to_string());
        }
    }
    (0, 0, name.to_string())
}

/// One clip the announcer knows.
struct Known {
    /// Its path under `/audio/`.
    key: String,
    lang: Option<String>,
    name: String,
    text: Option<String>,
}

/// Every clip the (merged) manifest names, the chime first.
fn known(m: &Value) -> Vec<Known> {
    let chime = m["chime"].as_str().unwrap_or("chime.ogg").to_string();
    let mut out = vec![Known {
        key: chime,
        lang: None,
        name: "chime".into(),
        text: None,
    }];
    let mut langs: Vec<(&String, &Value)> = m["languages"]
        .as_object()
        .map(|o| o.iter().collect())
        .unwrap_or_default();
    // Vietnamese first: the default voice.
    langs.sort_by_key(|(l, _)| (l.as_str() != "vi", l.to_string()));
    for (lang, l) in langs {
        let mut clips: Vec<(&String, &Value)> = l["clips"]
            .as_object()
            .map(|o| o.iter().collect())
            .unwrap_or_default();
        clips.sort_by_key(|(n, _)| clip_order(n));
        for (name, text) in clips {
            out.push(Known {
                key: format!("{lang}/{name}.ogg"),
                lang: Some(lang.clone()),
                name: name.clone(),
                text: text.as_str().map(str::to_string),
            });
        }
    }
    out
}

fn clip_json(app: &App, k: &Known) -> Clip {
    let replaced = app.clips.get(&k.key);
    let url = match &replaced {
        Some(s) => format!("/audio/{}?v={}", k.key, s.version),
        None => format!("/audio/{}", k.key),
    };
    Clip {
        lang: k.lang.clone(),
        name: k.name.clone(),
        text: k.text.clone(),
        url,
        custom: replaced.as_ref().is_some_and(|s| s.text.is_some()),
        replaced: replaced.map(|s| ClipReplaced {
            bytes: s.bytes,
            duration_ms: s.duration_ms,
            codec: s.codec,
            uploaded_at: s.uploaded_at_ms,
            uploaded_by: s.uploaded_by,
            version: s.version,
        }),
    }
}

/// `GET /api/v1/admin/clips`: every clip the announcer knows, built-in, replaced or added.
#[utoipa::path(
    get,
    path = "/admin/clips",
    operation_id = "listClips",
    tag = "administration",
    summary = r#"The hall display's voice clips, built-in or replaced (manager, admin)"#,
    description = r#"The chime and every clip of every language of audio/manifest.json, with its text, its URL (with ?v=<version> when replaced) and, when a center's recording replaces it, its size, duration, codec and who uploaded it when. Phrase clips the center added are listed with custom: true."#,
    security(("sessionCookie" = [])),
    responses(
        (status = 200, description = "OK", body = ClipList, content_type = "application/json"),
        (status = 401, response = crate::rest::doc::Unauthorized),
        (status = 403, response = crate::rest::doc::Forbidden),
        (status = 503, response = crate::rest::doc::ServiceUnavailable),
    )
)]
pub async fn list(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
) -> Result<Json<ClipList>, ApiError> {
    require_user(&app, &headers, Role::manages).await?;
    let m = manifest(&app).await?;
    let clips: Vec<Clip> = known(&m).iter().map(|k| clip_json(&app, k)).collect();
    let mut languages: Vec<String> = m["languages"]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    languages.sort_by_key(|l| (l.as_str() != "vi", l.to_string()));
    Ok(Json(ClipList {
        limits: ClipLimits {
            bytes_max: CLIP_BYTES_MAX,
            seconds_max: CLIP_SECONDS_MAX,
            phrases_max: PHRASES_MAX,
            phrase_text_max: PHRASE_TEXT_MAX,
        },
        languages,
        clips,
    }))
}

fn shown(s: &str) -> String {
    s.chars().take(NAME_MAX).collect()
}

/// The language of a path, if the manifest has a voice for it.
fn check_lang(m: &Value, lang: Option<&str>) -> Result<(), ApiError> {
    match lang {
        Some(l) if !valid_name(l) || m["languages"].get(l).is_none() => {
            Err(ApiError::ClipLanguage(shown(l)))
        }
        _ => Ok(()),
    }
}

fn unknown(lang: Option<&str>, name: &str) -> ApiError {
    ApiError::ClipUnknown {
        lang: lang.map(str::to_string),
        name: shown(name),
    }
}

/// A phrase's text as the announcer compares it (`normalize` in announcer.js).
fn normalize(text: &str) -> String {
    const PUNCT: &str = ".,!?;:…\"'“”‘’()[]–—-";
    text.to_lowercase()
        .chars()
        .map(|c| if PUNCT.contains(c) { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The text of a new or re-recorded phrase clip `name` of `lang`, checked against the others.
fn check_phrase(m: &Value, lang: &str, name: &str, text: &str) -> Result<String, ApiError> {
    let text = text.trim();
    let norm = normalize(text);
    if norm.is_empty() || text.chars().count() > PHRASE_TEXT_MAX {
        return Err(ApiError::ClipTextInvalid {
            max: PHRASE_TEXT_MAX,
        });
    }
    let taken = known(m).into_iter().find(|k| {
        k.lang.as_deref() == Some(lang)
            && k.name != name
            && !RESERVED_PREFIXES.iter().any(|p| k.name.starts_with(p))
            && k.text.as_deref().map(normalize).as_deref() == Some(norm.as_str())
    });
    if let Some(k) = taken {
        return Err(ApiError::ClipTextTaken {
            other: k.name,
            text: text.to_string(),
        });
    }
    Ok(text.to_string())
}

/// What a PUT is about to store: the clip's key and, for a phrase the center added, its text.
async fn target(
    app: &App,
    lang: Option<&str>,
    name: &str,
    text: Option<&str>,
) -> Result<(String, Option<String>, bool), ApiError> {
    let m = manifest(app).await?;
    check_lang(&m, lang)?;
    let entry = known(&m)
        .into_iter()
        .find(|k| k.lang.as_deref() == lang && k.name == name);
    let custom = |key: &str| app.clips.get(key).and_then(|s| s.text);
    match (entry, lang, text) {
        (Some(k), Some(l), Some(t)) if custom(&k.key).is_some() => {
            let t = check_phrase(&m, l, name, t)?;
            Ok((k.key, Some(t), false))
        }
        // A built-in clip: its text is the manifest's.
        (Some(k), _, Some(_)) => Err(ApiError::ClipTextFixed(Some((
            k.name,
            k.text.unwrap_or_default(),
        )))),
        (Some(k), _, None) => {
            let t = custom(&k.key);
            Ok((k.key, t, false))
        }
        (None, Some(l), Some(t)) => {
            if !valid_name(name)
                || name == "chime"
                || RESERVED_PREFIXES.iter().any(|p| name.starts_with(p))
            {
                return Err(ApiError::ClipNameInvalid {
                    name: shown(name),
                    max: NAME_MAX,
                });
            }
            let added = app.clips.phrases(l);
            if added >= PHRASES_MAX {
                return Err(ApiError::ClipTooMany {
                    lang: l.to_string(),
                    max: PHRASES_MAX,
                });
            }
            let t = check_phrase(&m, l, name, t)?;
            Ok((format!("{l}/{name}.ogg"), Some(t), true))
        }
        (None, _, _) => Err(unknown(lang, name)),
    }
}

/// The clip as listed, after a change.
async fn listed(app: &App, lang: Option<&str>, name: &str) -> Result<Clip, ApiError> {
    let m = manifest(app).await?;
    known(&m)
        .iter()
        .find(|k| k.lang.as_deref() == lang && k.name == name)
        .map(|k| clip_json(app, k))
        .ok_or_else(|| unknown(lang, name))
}

/// Tells hall displays (and every other client) to reload: the same `config` message as a
/// configuration change, after which the announcer fetches the manifest and the new clip.
async fn announce_change(app: &Arc<App>) {
    let seq = app.broker.read(|v| v.seq).await.unwrap_or(0);
    let msg = ServerMessage::Config {
        v: PROTOCOL_VERSION,
        seq,
    };
    let json = serde_json::to_string(&msg).expect("server messages serialize");
    for site in 0..app.broker.runtime().len() {
        app.hub.publish(crate::hub::Outgoing {
            seq: 0,
            site,
            ticket: None,
            json: json.clone().into(),
            call_received: None,
        });
    }
}

fn io_error(e: std::io::Error) -> ApiError {
    ApiError::ClipStorage(e.to_string())
}

/// Reads a body of at most [`CLIP_BYTES_MAX`] bytes, with a clear error beyond.
async fn read_body(body: Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, CLIP_BYTES_MAX)
        .await
        .map_err(|_| ApiError::ClipTooLarge {
            max: CLIP_BYTES_MAX,
        })
}

/// The query of a PUT: only `text` (a phrase clip's).
fn query_text(q: &HashMap<String, String>) -> Result<Option<&str>, ApiError> {
    if let Some(k) = q.keys().find(|k| k.as_str() != "text") {
        return Err(ApiError::InvalidField(FieldFault::UnknownParameter(shown(
            k,
        ))));
    }
    Ok(q.get("text").map(String::as_str))
}

async fn replace(
    app: Arc<App>,
    addr: std::net::IpAddr,
    headers: HeaderMap,
    lang: Option<String>,
    name: String,
    text: Option<&str>,
    body: Body,
) -> Result<Response, ApiError> {
    let user = require_user(&app, &headers, Role::manages).await?;
    // A phrase typed with combining marks matches the announcer's NFC text (text.rs).
    let text = text.map(luot_proto::nfc);
    let (key, text, new) = target(&app, lang.as_deref(), &name, text.as_deref()).await?;
    let bytes = read_body(body).await?;
    let info = check(&bytes)?;
    let now = app.clock.now_ms();
    let mut meta = stored(&bytes, &info, now, &user.login);
    meta.text = text;
    let a = app.clone();
    let (k, m) = (key.clone(), meta.clone());
    tokio::task::spawn_blocking(move || a.clips.store(&k, &bytes, &m))
        .await
        .map_err(|e| io_error(std::io::Error::other(e.to_string())))?
        .map_err(io_error)?;
    let mut detail = format!(
        "{key} {} B {:.1} s {} {}",
        meta.bytes,
        meta.duration_ms as f64 / 1000.0,
        meta.codec,
        meta.version
    );
    if let Some(t) = &meta.text {
        detail.push_str(&format!(" “{t}”"));
    }
    let action = if new { "clip_add" } else { "clip_replace" };
    let actor = user.login.clone();
    let from = addr.to_string();
    app.accounts(move |c| c.audit_from(now, &actor, action, &detail, &from))
        .await
        .map_err(store_error)?;
    tracing::info!(clip = %key, by = %user.login, action, "voice clip changed");
    announce_change(&app).await;
    let v = listed(&app, lang.as_deref(), &name).await?;
    Ok((
        if new {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        Json(v),
    )
        .into_response())
}

async fn restore(
    app: Arc<App>,
    addr: std::net::IpAddr,
    headers: HeaderMap,
    lang: Option<String>,
    name: String,
) -> Result<Response, ApiError> {
    let user = require_user(&app, &headers, Role::manages).await?;
    let m = manifest(&app).await?;
    check_lang(&m, lang.as_deref())?;
    let key = known(&m)
        .into_iter()
        .find(|k| k.lang.as_deref() == lang.as_deref() && k.name == name)
        .map(|k| k.key)
        .ok_or_else(|| unknown(lang.as_deref(), &name))?;
    let added = app.clips.get(&key).is_some_and(|s| s.text.is_some());
    let a = app.clone();
    let k = key.clone();
    let existed = tokio::task::spawn_blocking(move || a.clips.remove(&k))
        .await
        .map_err(|e| io_error(std::io::Error::other(e.to_string())))?
        .map_err(io_error)?;
    if existed {
        let now = app.clock.now_ms();
        let actor = user.login.clone();
        let k = key.clone();
        let action = if added { "clip_remove" } else { "clip_restore" };
        let from = addr.to_string();
        app.accounts(move |c| c.audit_from(now, &actor, action, &k, &from))
            .await
            .map_err(store_error)?;
        announce_change(&app).await;
    }
    if added {
        return Ok(Json(ClipDeleted::Removed(ClipRemoved {
            lang,
            name,
            removed: true,
        }))
        .into_response());
    }
    let clip = listed(&app, lang.as_deref(), &name).await?;
    Ok(Json(ClipDeleted::Listed(clip)).into_response())
}

/// `PUT /api/v1/admin/clips/{lang}/{name}[?text=…]`: the body is the .ogg file. With `text`, a
/// phrase clip the center adds (or re-records) for its own template.
#[utoipa::path(
    put,
    path = "/admin/clips/{lang}/{name}",
    operation_id = "replaceClip",
    tag = "administration",
    summary = r#"Replace one voice clip with the center's recording, or add a phrase clip with ?text= (manager, admin); displays reload it live"#,
    security(("sessionCookie" = [])),
    params(
        ("lang" = String, Path, description = "A language of audio/manifest.json (vi, en)."),
        ("name" = String, Path, description = "A clip name of that language in the manifest (invite, to_counter, digit_0, letter_b, number_4…)."),
        ("text" = Option<String>, Query, description = "Only for a phrase clip the center adds (or re-records) for its own template: what it says (1-100 characters, not a text another phrase clip of the language already says). A built-in clip's text cannot change (clip_text_fixed). At most 50 added phrases per language (clip_too_many).", max_length = 100),
    ),
    request_body(content = OggFile, content_type = "audio/ogg", description = "The recording: Ogg Vorbis or Ogg Opus, one stream, at most 512 KiB (524288 bytes) and 10 seconds."),
    responses(
        (status = 200, description = "The clip as listed by GET /api/v1/admin/clips.", body = Clip, content_type = "application/json"),
        (status = 201, description = "A phrase clip added (listed with custom: true).", body = Clip, content_type = "application/json"),
        (status = 400, description = "clip_text_fixed, clip_text_invalid, clip_name_invalid or invalid_field (an unknown query parameter); a malformed query is a plain-text 400 from the HTTP layer.", body = luot_proto::ErrorDto, content_type = "application/json"),
        (status = 401, response = crate::rest::doc::Unauthorized),
        (status = 403, response = crate::rest::doc::Forbidden),
        (status = 404, response = crate::rest::doc::NotFound),
        (status = 409, description = "clip_text_taken (another clip of the language says it) or clip_too_many.", body = luot_proto::ErrorDto, content_type = "application/json"),
        (status = 413, response = crate::rest::doc::PayloadTooLarge),
        (status = 422, description = "The file is not a clip the announcer can use: code clip_empty, clip_not_ogg, clip_damaged (says at which byte), clip_streams, clip_codec, clip_silent or clip_too_long (more than 10 s).", body = luot_proto::ErrorDto, content_type = "application/json"),
        (status = 503, response = crate::rest::doc::ServiceUnavailable),
    )
)]
pub async fn put(
    State(app): State<Arc<App>>,
    crate::proxy::ClientIp(addr): crate::proxy::ClientIp,
    headers: HeaderMap,
    Path((lang, name)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    body: Body,
) -> Result<Response, ApiError> {
    let text = query_text(&q)?;
    replace(app, addr, headers, Some(lang), name, text, body).await
}

/// `DELETE /api/v1/admin/clips/{lang}/{name}`: back to the built-in clip, or an added phrase
/// removed.
#[utoipa::path(
    delete,
    path = "/admin/clips/{lang}/{name}",
    operation_id = "restoreClip",
    tag = "administration",
    summary = r#"Back to the built-in clip, or remove a phrase clip the center added (manager, admin)"#,
    security(("sessionCookie" = [])),
    params(
        ("lang" = String, Path, description = "A language of audio/manifest.json (vi, en)."),
        ("name" = String, Path, description = "A clip name of that language in the manifest (invite, to_counter, digit_0, letter_b, number_4…)."),
    ),
    responses(
        (status = 200, description = "The clip as listed (built-in again), or {lang, name, removed: true} for an added phrase.", body = ClipDeleted, content_type = "application/json"),
        (status = 401, response = crate::rest::doc::Unauthorized),
        (status = 403, response = crate::rest::doc::Forbidden),
        (status = 404, response = crate::rest::doc::NotFound),
        (status = 503, response = crate::rest::doc::ServiceUnavailable),
    )
)]
pub async fn delete(
    State(app): State<Arc<App>>,
    crate::proxy::ClientIp(addr): crate::proxy::ClientIp,
    headers: HeaderMap,
    Path((lang, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    restore(app, addr, headers, Some(lang), name).await
}

/// `PUT /api/v1/admin/clips/chime`.
#[utoipa::path(
    put,
    path = "/admin/clips/chime",
    operation_id = "replaceChime",
    tag = "administration",
    summary = r#"Replace the chime played before each call (manager, admin)"#,
    security(("sessionCookie" = [])),
    request_body(content = OggFile, content_type = "audio/ogg", description = "The recording: Ogg Vorbis or Ogg Opus, one stream, at most 512 KiB (524288 bytes) and 10 seconds."),
    responses(
        (status = 200, description = "The clip as listed by GET /api/v1/admin/clips.", body = Clip, content_type = "application/json"),
        (status = 400, description = "clip_text_fixed: the chime takes no text.", body = luot_proto::ErrorDto, content_type = "application/json"),
        (status = 401, response = crate::rest::doc::Unauthorized),
        (status = 403, response = crate::rest::doc::Forbidden),
        (status = 404, response = crate::rest::doc::NotFound),
        (status = 413, response = crate::rest::doc::PayloadTooLarge),
        (status = 422, description = "The file is not a clip the announcer can use: code clip_empty, clip_not_ogg, clip_damaged (says at which byte), clip_streams, clip_codec, clip_silent or clip_too_long (more than 10 s).", body = luot_proto::ErrorDto, content_type = "application/json"),
        (status = 503, response = crate::rest::doc::ServiceUnavailable),
    )
)]
pub async fn put_chime(
    State(app): State<Arc<App>>,
    crate::proxy::ClientIp(addr): crate::proxy::ClientIp,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    body: Body,
) -> Result<Response, ApiError> {
    if query_text(&q)?.is_some() {
        return Err(ApiError::ClipTextFixed(None));
    }
    replace(app, addr, headers, None, "chime".into(), None, body).await
}

/// `DELETE /api/v1/admin/clips/chime`.
#[utoipa::path(
    delete,
    path = "/admin/clips/chime",
    operation_id = "restoreChime",
    tag = "administration",
    summary = r#"Back to the built-in chime (manager, admin)"#,
    security(("sessionCookie" = [])),
    responses(
        (status = 200, description = "The clip as listed by GET /api/v1/admin/clips.", body = Clip, content_type = "application/json"),
        (status = 401, response = crate::rest::doc::Unauthorized),
        (status = 403, response = crate::rest::doc::Forbidden),
        (status = 404, response = crate::rest::doc::NotFound),
        (status = 503, response = crate::rest::doc::ServiceUnavailable),
    )
)]
pub async fn delete_chime(
    State(app): State<Arc<App>>,
    crate::proxy::ClientIp(addr): crate::proxy::ClientIp,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    restore(app, addr, headers, None, "chime".into()).await
}
