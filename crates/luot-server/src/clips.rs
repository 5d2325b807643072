//! The hall display's voice clips, replaceable from the administration pages. A center's own
//! recording of a clip is kept in the data folder (`<data>/clips/<lang>/<name>.ogg`, the chime
//! at `<data>/clips/chime.ogg`) and served at the URL the announcer already fetches
//! (`/audio/<lang>/<name>.ogg`) ahead of the `--assets` folder and the embedded clips. Only the
//! clips `audio/manifest.json` names can be replaced, so their count is bounded by the manifest.
//!
//! A clip must be Ogg Vorbis or Ogg Opus (what every browser's `decodeAudioData` reads), at most
//! [`CLIP_BYTES_MAX`] bytes and [`CLIP_SECONDS_MAX`] seconds long. The check reads the Ogg pages
//! (capture pattern, CRC), the codec's identification header and the last page's granule
//! position: a few dozen lines, so no Ogg crate.

use crate::App;
use crate::dispatch::ApiError;
use crate::rest::require_role;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, body::Bytes};
use luot_proto::{ErrorDto, PROTOCOL_VERSION, ServerMessage};
use luot_store::Accounts;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

/// Largest clip accepted, in bytes. The built-in clips are 5–16 KiB.
pub const CLIP_BYTES_MAX: usize = 512 * 1024;
/// Longest clip accepted: a word or a phrase of an announcement, or the chime.
pub const CLIP_SECONDS_MAX: f64 = 10.0;
/// Longest clip or language name in a path.
const NAME_MAX: usize = 40;

/// A clip replaced by a center's recording.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stored {
    /// First 16 hex digits of the bytes' SHA-256: the ETag and the `?v=` of its URL.
    pub version: String,
    pub bytes: u64,
    pub duration_ms: u64,
    /// "vorbis" or "opus".
    pub codec: String,
    pub uploaded_at_ms: i64,
    pub uploaded_by: String,
}

/// The replaced clips, by their path under `/audio/` ("vi/invite.ogg", "chime.ogg").
#[derive(Debug)]
pub struct Clips {
    dir: PathBuf,
    index: RwLock<BTreeMap<String, Stored>>,
    /// One change at a time (temp file names, index).
    writing: Mutex<()>,
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= NAME_MAX
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl Clips {
    /// Reads what `<data>/clips` holds; a file that no longer passes the checks is left out
    /// (and logged), so the built-in clip plays instead.
    pub fn open(data_dir: &FsPath) -> anyhow::Result<Clips> {
        let dir = data_dir.join("clips");
        let mut index = BTreeMap::new();
        let mut found = Vec::new();
        if dir.is_dir() {
            for e in std::fs::read_dir(&dir)? {
                let e = e?;
                let name = e.file_name().to_string_lossy().to_string();
                if e.file_type()?.is_dir() && valid_name(&name) {
                    for f in std::fs::read_dir(e.path())? {
                        let f = f?.file_name().to_string_lossy().to_string();
                        if let Some(stem) = f.strip_suffix(".ogg").filter(|s| valid_name(s)) {
                            found.push(format!("{name}/{stem}.ogg"));
                        }
                    }
                } else if name == "chime.ogg" {
                    found.push(name);
                }
            }
        }
        for key in found {
            let path = dir.join(&key);
            let bytes = std::fs::read(&path)?;
            let meta: Option<Stored> = std::fs::read(path.with_extension("json"))
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok());
            match check(&bytes) {
                Ok(info) => {
                    let mut s = stored(&bytes, &info, 0, "?");
                    if let Some(m) = meta {
                        s.uploaded_at_ms = m.uploaded_at_ms;
                        s.uploaded_by = m.uploaded_by;
                    }
                    index.insert(key, s);
                }
                Err(e) => {
                    tracing::warn!(clip = %key, error = %e.error.message_en, "stored clip skipped")
                }
            }
        }
        Ok(Clips {
            dir,
            index: RwLock::new(index),
            writing: Mutex::new(()),
        })
    }

    pub fn get(&self, key: &str) -> Option<Stored> {
        self.index.read().expect("clips lock").get(key).cloned()
    }

    /// The bytes of a replaced clip, if `key` is one.
    pub async fn read(&self, key: &str) -> Option<(Stored, Vec<u8>)> {
        let s = self.get(key)?;
        let bytes = tokio::fs::read(self.dir.join(key)).await.ok()?;
        Some((s, bytes))
    }

    /// The manifest as served: the built-in one plus `replaced` ("vi/invite.ogg" → version),
    /// which the announcer appends to a replaced clip's URL so no cache keeps the old one.
    pub fn annotate_manifest(&self, bytes: Vec<u8>) -> Vec<u8> {
        let Ok(mut m) = serde_json::from_slice::<Value>(&bytes) else {
            return bytes;
        };
        let replaced: serde_json::Map<String, Value> = self
            .index
            .read()
            .expect("clips lock")
            .iter()
            .map(|(k, s)| (k.clone(), json!(s.version)))
            .collect();
        if let Some(obj) = m.as_object_mut() {
            obj.insert("replaced".into(), Value::Object(replaced));
        }
        serde_json::to_vec(&m).unwrap_or(bytes)
    }

    /// Durable replace: a temp file, fsync, rename, fsync of the folder.
    fn store(&self, key: &str, bytes: &[u8], meta: &Stored) -> std::io::Result<()> {
        let _w = self.writing.lock().expect("clips write lock");
        let path = self.dir.join(key);
        let folder = path.parent().expect("clip path has a folder").to_path_buf();
        std::fs::create_dir_all(&folder)?;
        let meta_json = serde_json::to_vec_pretty(meta).expect("clip metadata serializes");
        write_durably(&path.with_extension("json"), &meta_json)?;
        write_durably(&path, bytes)?;
        std::fs::File::open(&folder)?.sync_all()?;
        self.index
            .write()
            .expect("clips lock")
            .insert(key.to_string(), meta.clone());
        Ok(())
    }

    /// Back to the built-in clip. False if it was not replaced.
    fn remove(&self, key: &str) -> std::io::Result<bool> {
        let _w = self.writing.lock().expect("clips write lock");
        let path = self.dir.join(key);
        let existed = self
            .index
            .write()
            .expect("clips lock")
            .remove(key)
            .is_some();
        for p in [path.clone(), path.with_extension("json")] {
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        if let Some(folder) = path.parent().filter(|f| f.is_dir()) {
            std::fs::File::open(folder)?.sync_all()?;
        }
        Ok(existed)
    }
}

fn write_durably(path: &FsPath, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)
}

fn stored(bytes: &[u8], info: &OggInfo, at_ms: i64, by: &str) -> Stored {
    let digest = <sha2::Sha256 as sha2::Digest>::digest(bytes);
    Stored {
        version: hex::encode(&digest[..8]),
        bytes: bytes.len() as u64,
        duration_ms: (info.seconds * 1000.0).round() as u64,
        codec: info.codec.to_string(),
        uploaded_at_ms: at_ms,
        uploaded_by: by.to_string(),
    }
}

// ----- the Ogg check -----

/// What the check found in a valid clip.
#[derive(Debug, Clone, PartialEq)]
pub struct OggInfo {
    pub codec: &'static str,
    pub sample_rate: u32,
    pub channels: u8,
    pub seconds: f64,
}

fn crc_table() -> &'static [u32; 256] {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut r = (i as u32) << 24;
            for _ in 0..8 {
                r = if r & 0x8000_0000 != 0 {
                    (r << 1) ^ 0x04c1_1db7
                } else {
                    r << 1
                };
            }
            *e = r;
        }
        t
    })
}

/// Ogg's CRC-32 (polynomial 0x04c11db7, not reflected, no final xor).
fn ogg_crc(bytes: &[u8]) -> u32 {
    let t = crc_table();
    bytes.iter().fold(0u32, |crc, &b| {
        (crc << 8) ^ t[((crc >> 24) as u8 ^ b) as usize]
    })
}

fn refuse(code: &str, vi: String, en: String) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorDto::new(code, vi, en),
    )
}

/// Checks that `bytes` is one Ogg Vorbis or Ogg Opus stream of at most [`CLIP_SECONDS_MAX`]
/// seconds: every byte in a page whose CRC matches, one logical stream, a known codec header.
pub fn check(bytes: &[u8]) -> Result<OggInfo, ApiError> {
    if bytes.is_empty() {
        return Err(refuse(
            "clip_empty",
            "Tệp rỗng: hãy chọn một tệp âm thanh .ogg".into(),
            "The file is empty: choose an .ogg audio file".into(),
        ));
    }
    if !bytes.starts_with(b"OggS") {
        return Err(refuse(
            "clip_not_ogg",
            "Tệp không phải Ogg (không bắt đầu bằng “OggS”). Hãy dùng tệp .ogg (Vorbis hoặc Opus)"
                .into(),
            "Not an Ogg file (it does not start with “OggS”). Use an .ogg file (Vorbis or Opus)"
                .into(),
        ));
    }
    let damaged = |at: usize, vi: &str, en: &str| {
        refuse(
            "clip_damaged",
            format!("Tệp Ogg hỏng ở byte {at}: {vi}"),
            format!("Damaged Ogg file at byte {at}: {en}"),
        )
    };
    let mut at = 0;
    let mut serial = None;
    let mut first_body: Option<&[u8]> = None;
    let mut last_granule: Option<u64> = None;
    while at < bytes.len() {
        let page = &bytes[at..];
        if page.len() < 27 || !page.starts_with(b"OggS") {
            return Err(damaged(at, "không có trang Ogg ở đây", "no Ogg page here"));
        }
        if page[4] != 0 {
            return Err(damaged(
                at,
                "phiên bản trang không hỗ trợ",
                "unsupported page version",
            ));
        }
        let flags = page[5];
        let granule = u64::from_le_bytes(page[6..14].try_into().expect("8 bytes"));
        let s = u32::from_le_bytes(page[14..18].try_into().expect("4 bytes"));
        let crc = u32::from_le_bytes(page[22..26].try_into().expect("4 bytes"));
        let nseg = page[26] as usize;
        if page.len() < 27 + nseg {
            return Err(damaged(at, "tệp bị cắt cụt", "the file is truncated"));
        }
        let body_len: usize = page[27..27 + nseg].iter().map(|&l| l as usize).sum();
        let len = 27 + nseg + body_len;
        if page.len() < len {
            return Err(damaged(at, "tệp bị cắt cụt", "the file is truncated"));
        }
        let mut copy = page[..len].to_vec();
        copy[22..26].fill(0);
        if ogg_crc(&copy) != crc {
            return Err(damaged(
                at,
                "sai mã kiểm tra (CRC)",
                "checksum (CRC) mismatch",
            ));
        }
        match serial {
            None => {
                if flags & 0x02 == 0 {
                    return Err(damaged(
                        at,
                        "thiếu trang đầu luồng",
                        "no beginning-of-stream page",
                    ));
                }
                serial = Some(s);
                let lacing = &page[27..27 + nseg];
                // The identification header is the first packet, alone on the first page.
                let first_len: usize = lacing
                    .iter()
                    .take_while(|&&l| l == 255)
                    .map(|_| 255usize)
                    .sum::<usize>()
                    + lacing.iter().find(|&&l| l < 255).map_or(0, |&l| l as usize);
                first_body = Some(&page[27 + nseg..27 + nseg + first_len.min(body_len)]);
            }
            Some(prev) if prev != s || flags & 0x02 != 0 => {
                return Err(refuse(
                    "clip_streams",
                    "Tệp có nhiều luồng âm thanh; hãy xuất lại thành một luồng .ogg".into(),
                    "The file holds several audio streams; export it again as one .ogg stream"
                        .into(),
                ));
            }
            Some(_) => {}
        }
        if granule != u64::MAX {
            last_granule = Some(granule);
        }
        at += len;
    }
    let head = first_body.unwrap_or_default();
    let (codec, sample_rate, channels, samples) = if head.len() >= 30
        && head.starts_with(b"\x01vorbis")
    {
        let rate = u32::from_le_bytes(head[12..16].try_into().expect("4 bytes"));
        ("vorbis", rate, head[11], last_granule.unwrap_or(0) as f64)
    } else if head.len() >= 19 && head.starts_with(b"OpusHead") {
        let pre_skip = u16::from_le_bytes(head[10..12].try_into().expect("2 bytes")) as u64;
        (
            "opus",
            48_000,
            head[9],
            last_granule.unwrap_or(0).saturating_sub(pre_skip) as f64,
        )
    } else {
        return Err(refuse(
            "clip_codec",
            "Tệp Ogg nhưng không phải Vorbis hay Opus: trình duyệt có thể không phát được".into(),
            "An Ogg file, but neither Vorbis nor Opus: browsers may not play it".into(),
        ));
    };
    if sample_rate == 0 || channels == 0 {
        return Err(damaged(
            0,
            "phần đầu mã hóa không hợp lệ",
            "invalid codec header",
        ));
    }
    let seconds = samples / sample_rate as f64;
    if last_granule.is_none_or(|g| g == 0) || seconds <= 0.0 {
        return Err(refuse(
            "clip_silent",
            "Tệp không có âm thanh (độ dài bằng 0)".into(),
            "The file holds no audio (zero length)".into(),
        ));
    }
    if seconds > CLIP_SECONDS_MAX {
        return Err(refuse(
            "clip_too_long",
            format!("Đoạn âm thanh dài {seconds:.1} giây; tối đa {CLIP_SECONDS_MAX} giây"),
            format!("The clip lasts {seconds:.1} s; at most {CLIP_SECONDS_MAX} s"),
        ));
    }
    Ok(OggInfo {
        codec,
        sample_rate,
        channels,
        seconds,
    })
}

// ----- the routes -----

/// The manifest the announcer reads (the `--assets` folder's or the embedded one), unannotated.
async fn manifest(app: &App) -> Result<Value, ApiError> {
    let bytes = crate::assets::read(app, "audio/manifest.json")
        .await
        .ok_or_else(|| {
            ApiError::not_found(
                "clip_manifest",
                "Không tìm thấy danh sách giọng đọc (audio/manifest.json)",
                "The voice manifest (audio/manifest.json) is missing",
            )
        })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorDto::new(
                "clip_manifest",
                format!("audio/manifest.json không hợp lệ: {e}"),
                format!("audio/manifest.json is invalid: {e}"),
            ),
        )
    })
}

/// Phrases first (as a template reads), then digits, letters and numbers in order.
fn clip_order(name: &str) -> (u8, u64, String) {
    for (i, p) in ["digit_", "letter_", "number_"].iter().enumerate() {
        if let Some(rest) = name.strip_prefix(p) {
            return (i as u8 + 1, rest.parse().unwrap_or(0), rest.to_string());
        }
    }
    (0, 0, name.to_string())
}

/// (key under /audio, language, name, text) of every clip the manifest names, chime first.
fn known(m: &Value) -> Vec<(String, Option<String>, String, Option<String>)> {
    let chime = m["chime"].as_str().unwrap_or("chime.ogg").to_string();
    let mut out = vec![(chime, None, "chime".to_string(), None)];
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
            out.push((
                format!("{lang}/{name}.ogg"),
                Some(lang.clone()),
                name.clone(),
                text.as_str().map(str::to_string),
            ));
        }
    }
    out
}

fn clip_json(app: &App, key: &str, lang: Option<&str>, name: &str, text: Option<&str>) -> Value {
    let replaced = app.clips.get(key);
    let url = match &replaced {
        Some(s) => format!("/audio/{key}?v={}", s.version),
        None => format!("/audio/{key}"),
    };
    json!({
        "lang": lang, "name": name, "text": text, "url": url,
        "replaced": replaced.map(|s| json!({
            "bytes": s.bytes, "duration_ms": s.duration_ms, "codec": s.codec,
            "uploaded_at": s.uploaded_at_ms, "uploaded_by": s.uploaded_by, "version": s.version,
        })),
    })
}

/// `GET /api/v1/admin/clips`: every clip the announcer knows, built-in or replaced.
pub async fn list(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    require_role(&app, &headers, &["manager", "admin"]).await?;
    let m = manifest(&app).await?;
    let clips: Vec<Value> = known(&m)
        .iter()
        .map(|(key, lang, name, text)| clip_json(&app, key, lang.as_deref(), name, text.as_deref()))
        .collect();
    let mut languages: Vec<&String> = m["languages"]
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    languages.sort_by_key(|l| (l.as_str() != "vi", l.to_string()));
    Ok(Json(json!({
        "limits": {"bytes_max": CLIP_BYTES_MAX, "seconds_max": CLIP_SECONDS_MAX},
        "languages": languages,
        "clips": clips,
    })))
}

/// The key of a clip the manifest names, or why not.
async fn resolve(app: &App, lang: Option<&str>, name: &str) -> Result<(String, Value), ApiError> {
    let m = manifest(app).await?;
    if let Some(l) = lang
        && (!valid_name(l) || m["languages"].get(l).is_none())
    {
        return Err(ApiError::not_found(
            "clip_language",
            &format!(
                "Không có giọng đọc cho ngôn ngữ “{}”",
                l.chars().take(NAME_MAX).collect::<String>()
            ),
            &format!(
                "No voice for the language “{}”",
                l.chars().take(NAME_MAX).collect::<String>()
            ),
        ));
    }
    let entry = known(&m)
        .into_iter()
        .find(|(_, l, n, _)| l.as_deref() == lang && n == name);
    match entry {
        Some((key, lang, name, text)) => {
            let v = clip_json(app, &key, lang.as_deref(), &name, text.as_deref());
            Ok((key, v))
        }
        None => {
            let shown: String = name.chars().take(NAME_MAX).collect();
            let (vi, en) = match lang {
                Some(l) => (
                    format!("Không có đoạn âm thanh “{shown}” trong giọng đọc “{l}”"),
                    format!("No clip “{shown}” in the “{l}” voice"),
                ),
                None => (
                    format!("Không có đoạn âm thanh “{shown}”"),
                    format!("No clip “{shown}”"),
                ),
            };
            Err(ApiError::not_found("clip_unknown", &vi, &en))
        }
    }
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
        });
    }
}

fn io_error(e: std::io::Error) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        ErrorDto::new(
            "clip_storage",
            format!("Không lưu được đoạn âm thanh vào thư mục dữ liệu: {e}"),
            format!("Could not store the clip in the data folder: {e}"),
        ),
    )
}

fn store_error(e: luot_store::StoreError) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        crate::broker::storage_error(&e),
    )
}

/// Reads a body of at most [`CLIP_BYTES_MAX`] bytes, with a clear error beyond.
async fn read_body(body: Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, CLIP_BYTES_MAX)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorDto::new(
                    "clip_too_large",
                    format!(
                        "Tệp quá lớn: tối đa {CLIP_BYTES_MAX} byte ({} KiB)",
                        CLIP_BYTES_MAX / 1024
                    ),
                    format!(
                        "The file is too large: at most {CLIP_BYTES_MAX} bytes ({} KiB)",
                        CLIP_BYTES_MAX / 1024
                    ),
                ),
            )
        })
}

async fn replace(
    app: Arc<App>,
    headers: HeaderMap,
    lang: Option<String>,
    name: String,
    body: Body,
) -> Result<Response, ApiError> {
    let user = require_role(&app, &headers, &["manager", "admin"]).await?;
    let (key, _) = resolve(&app, lang.as_deref(), &name).await?;
    let bytes = read_body(body).await?;
    let info = check(&bytes)?;
    let now = app.clock.now_ms();
    let meta = stored(&bytes, &info, now, &user.login);
    let a = app.clone();
    let (k, m) = (key.clone(), meta.clone());
    tokio::task::spawn_blocking(move || a.clips.store(&k, &bytes, &m))
        .await
        .map_err(|e| io_error(std::io::Error::other(e.to_string())))?
        .map_err(io_error)?;
    let detail = format!(
        "{key} {} B {:.1} s {} {}",
        meta.bytes,
        meta.duration_ms as f64 / 1000.0,
        meta.codec,
        meta.version
    );
    let actor = user.login.clone();
    app.accounts(move |c| c.audit(now, &actor, "clip_replace", &detail))
        .await
        .map_err(store_error)?;
    tracing::info!(clip = %key, by = %user.login, "clip replaced");
    announce_change(&app).await;
    let (_, v) = resolve(&app, lang.as_deref(), &name).await?;
    Ok(Json(v).into_response())
}

async fn restore(
    app: Arc<App>,
    headers: HeaderMap,
    lang: Option<String>,
    name: String,
) -> Result<Response, ApiError> {
    let user = require_role(&app, &headers, &["manager", "admin"]).await?;
    let (key, _) = resolve(&app, lang.as_deref(), &name).await?;
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
        app.accounts(move |c| c.audit(now, &actor, "clip_restore", &k))
            .await
            .map_err(store_error)?;
        announce_change(&app).await;
    }
    let (_, v) = resolve(&app, lang.as_deref(), &name).await?;
    Ok(Json(v).into_response())
}

/// `PUT /api/v1/admin/clips/{lang}/{name}`: the body is the .ogg file.
pub async fn put(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path((lang, name)): Path<(String, String)>,
    body: Body,
) -> Result<Response, ApiError> {
    replace(app, headers, Some(lang), name, body).await
}

/// `DELETE /api/v1/admin/clips/{lang}/{name}`: back to the built-in clip.
pub async fn delete(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path((lang, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    restore(app, headers, Some(lang), name).await
}

/// `PUT /api/v1/admin/clips/chime`.
pub async fn put_chime(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    replace(app, headers, None, "chime".into(), body).await
}

/// `DELETE /api/v1/admin/clips/chime`.
pub async fn delete_chime(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    restore(app, headers, None, "chime".into()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &[u8] = include_bytes!("../../../kiosk-assets/audio/vi/invite.ogg");
    const CHIME: &[u8] = include_bytes!("../../../kiosk-assets/audio/chime.ogg");

    #[test]
    fn the_built_in_clips_pass_the_check() {
        let i = check(INVITE).expect("invite.ogg");
        assert_eq!((i.codec, i.sample_rate, i.channels), ("vorbis", 22050, 1));
        assert!(i.seconds > 0.5 && i.seconds < 5.0, "{i:?}");
        check(CHIME).expect("chime.ogg");
    }

    #[test]
    fn a_flipped_byte_or_a_cut_file_is_refused_with_where() {
        let mut bad = INVITE.to_vec();
        bad[200] ^= 0x40;
        let e = check(&bad).unwrap_err();
        assert_eq!(e.error.code, "clip_damaged");
        assert!(
            e.error.message_en.contains("byte 58: checksum"),
            "{}",
            e.error.message_en
        );
        let e = check(&INVITE[..INVITE.len() - 10]).unwrap_err();
        assert_eq!(e.error.code, "clip_damaged");
        assert!(e.error.message_en.contains("truncated"));
        assert_eq!(
            check(b"RIFF....WAVE").unwrap_err().error.code,
            "clip_not_ogg"
        );
        assert_eq!(check(b"").unwrap_err().error.code, "clip_empty");
    }

    #[test]
    fn two_streams_one_after_the_other_are_refused() {
        let mut two = INVITE.to_vec();
        two.extend_from_slice(CHIME);
        assert_eq!(check(&two).unwrap_err().error.code, "clip_streams");
    }

    /// One Ogg page holding `packets` (each under 255 bytes), with its CRC.
    fn page(flags: u8, granule: u64, seq: u32, packets: &[&[u8]]) -> Vec<u8> {
        let mut p = b"OggS\0".to_vec();
        p.push(flags);
        p.extend_from_slice(&granule.to_le_bytes());
        p.extend_from_slice(&7u32.to_le_bytes());
        p.extend_from_slice(&seq.to_le_bytes());
        p.extend_from_slice(&[0; 4]);
        p.push(packets.len() as u8);
        p.extend(packets.iter().map(|k| k.len() as u8));
        for k in packets {
            p.extend_from_slice(k);
        }
        let crc = ogg_crc(&p);
        p[22..26].copy_from_slice(&crc.to_le_bytes());
        p
    }

    fn opus(final_granule: u64) -> Vec<u8> {
        let mut head = b"OpusHead\x01\x01".to_vec();
        head.extend_from_slice(&312u16.to_le_bytes()); // pre-skip
        head.extend_from_slice(&44_100u32.to_le_bytes()); // input rate: not the granule's
        head.extend_from_slice(&[0, 0, 0]);
        let mut f = page(0x02, 0, 0, &[&head]);
        f.extend(page(0, 0, 1, &[b"OpusTags\0\0\0\0\0\0\0\0"]));
        f.extend(page(0, 48_000, 2, &[&[0xfc; 40]]));
        f.extend(page(0x04, final_granule, 3, &[&[0xfc; 40]]));
        f
    }

    #[test]
    fn opus_is_timed_at_48_khz_less_the_pre_skip() {
        let i = check(&opus(2 * 48_000 + 312)).expect("opus");
        assert_eq!((i.codec, i.sample_rate, i.channels), ("opus", 48_000, 1));
        assert!((i.seconds - 2.0).abs() < 1e-9, "{i:?}");
        check(&opus(10 * 48_000 + 312)).expect("exactly 10 s");
        let e = check(&opus(10 * 48_000 + 313)).unwrap_err();
        assert_eq!(e.error.code, "clip_too_long");
        assert_eq!(check(&opus(312)).unwrap_err().error.code, "clip_silent");
    }

    #[test]
    fn an_ogg_stream_of_another_codec_is_refused() {
        let f = page(0x06, 100, 0, &[b"\x80theora......................"]);
        assert_eq!(check(&f).unwrap_err().error.code, "clip_codec");
    }

    #[test]
    fn the_crc_matches_the_reference_value() {
        // "OggS" pages of real files carry this CRC; a known vector for the polynomial:
        assert_eq!(ogg_crc(b"123456789"), 0x89a1_897f);
    }
}
