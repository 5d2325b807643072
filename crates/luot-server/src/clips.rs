//! The hall display's voice clips, replaceable from the administration pages. A center's own
//! recording of a clip is kept in the data folder (`<data>/clips/<lang>/<name>.ogg`, the chime
//! at `<data>/clips/chime.ogg`) and served at the URL the announcer already fetches
//! (`/audio/<lang>/<name>.ogg`) ahead of the `--assets` folder and the embedded clips. Only the
//! clips `audio/manifest.json` names can be replaced, so their count is bounded by the manifest.
//! A manager may also add phrase clips for a template of their own (at most [`PHRASES_MAX`] per
//! language), each with the text it says: the served manifest lists them with the built-in ones,
//! and the announcer matches a template's words to them by that text.
//!
//! A clip must be Ogg Vorbis or Ogg Opus (what every browser's `decodeAudioData` reads), at most
//! [`CLIP_BYTES_MAX`] bytes and [`CLIP_SECONDS_MAX`] seconds long. The check reads the Ogg pages
//! (capture pattern, CRC), the codec's identification header and the last page's granule
//! position: a few dozen lines, so no Ogg crate.

use crate::App;
use crate::dispatch::ApiError;
use crate::rest::require_role;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, body::Bytes};
use luot_proto::{ErrorDto, PROTOCOL_VERSION, ServerMessage};
use luot_store::Accounts;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

/// Largest clip accepted, in bytes. The built-in clips are 5–16 KiB.
pub const CLIP_BYTES_MAX: usize = 512 * 1024;
/// Longest clip accepted: a word or a phrase of an announcement, or the chime.
pub const CLIP_SECONDS_MAX: f64 = 10.0;
/// Longest clip or language name in a path.
const NAME_MAX: usize = 40;
/// Phrase clips a center may add per language, and the longest text of one (characters).
pub const PHRASES_MAX: usize = 50;
pub const PHRASE_TEXT_MAX: usize = 100;
/// Names the announcer reads by rule (a ticket's letters and digits, a counter's number).
const RESERVED_PREFIXES: [&str; 3] = ["letter_", "digit_", "number_"];

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
    /// For a phrase clip the center added (not in the built-in manifest): what it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
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
            if std::fs::metadata(&path)?.len() > CLIP_BYTES_MAX as u64 {
                tracing::warn!(clip = %key, "stored clip over the size limit skipped");
                continue;
            }
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
                        s.text = m.text;
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

    /// The manifest as served: the built-in one with the phrase clips the center added, plus
    /// `replaced` ("vi/invite.ogg" → version), which the announcer appends to a replaced clip's
    /// URL so no cache keeps the old one.
    pub fn annotate_manifest(&self, bytes: Vec<u8>) -> Vec<u8> {
        let Ok(mut m) = serde_json::from_slice::<Value>(&bytes) else {
            return bytes;
        };
        self.merge(&mut m);
        serde_json::to_vec(&m).unwrap_or(bytes)
    }

    fn merge(&self, m: &mut Value) {
        let index = self.index.read().expect("clips lock");
        for (key, s) in index.iter() {
            let (Some(text), Some((lang, file))) = (&s.text, key.split_once('/')) else {
                continue;
            };
            let name = file.trim_end_matches(".ogg");
            if let Some(clips) = m
                .pointer_mut(&format!("/languages/{lang}/clips"))
                .and_then(Value::as_object_mut)
                && !clips.contains_key(name)
            {
                clips.insert(name.to_string(), json!(text));
            }
        }
        let replaced: serde_json::Map<String, Value> = index
            .iter()
            .map(|(k, s)| (k.clone(), json!(s.version)))
            .collect();
        if let Some(obj) = m.as_object_mut() {
            obj.insert("replaced".into(), Value::Object(replaced));
        }
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
        text: None,
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

/// The manifest the announcer reads (the `--assets` folder's or the embedded one), with the
/// phrases the center added.
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
    let mut m: Value = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorDto::new(
                "clip_manifest",
                format!("audio/manifest.json không hợp lệ: {e}"),
                format!("audio/manifest.json is invalid: {e}"),
            ),
        )
    })?;
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

fn clip_json(app: &App, k: &Known) -> Value {
    let replaced = app.clips.get(&k.key);
    let url = match &replaced {
        Some(s) => format!("/audio/{}?v={}", k.key, s.version),
        None => format!("/audio/{}", k.key),
    };
    json!({
        "lang": k.lang, "name": k.name, "text": k.text, "url": url,
        "custom": replaced.as_ref().is_some_and(|s| s.text.is_some()),
        "replaced": replaced.map(|s| json!({
            "bytes": s.bytes, "duration_ms": s.duration_ms, "codec": s.codec,
            "uploaded_at": s.uploaded_at_ms, "uploaded_by": s.uploaded_by, "version": s.version,
        })),
    })
}

/// `GET /api/v1/admin/clips`: every clip the announcer knows, built-in, replaced or added.
pub async fn list(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    require_role(&app, &headers, &["manager", "admin"]).await?;
    let m = manifest(&app).await?;
    let clips: Vec<Value> = known(&m).iter().map(|k| clip_json(&app, k)).collect();
    let mut languages: Vec<&String> = m["languages"]
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    languages.sort_by_key(|l| (l.as_str() != "vi", l.to_string()));
    Ok(Json(json!({
        "limits": {
            "bytes_max": CLIP_BYTES_MAX, "seconds_max": CLIP_SECONDS_MAX,
            "phrases_max": PHRASES_MAX, "phrase_text_max": PHRASE_TEXT_MAX,
        },
        "languages": languages,
        "clips": clips,
    })))
}

fn shown(s: &str) -> String {
    s.chars().take(NAME_MAX).collect()
}

/// The language of a path, if the manifest has a voice for it.
fn check_lang(m: &Value, lang: Option<&str>) -> Result<(), ApiError> {
    match lang {
        Some(l) if !valid_name(l) || m["languages"].get(l).is_none() => Err(ApiError::not_found(
            "clip_language",
            &format!("Không có giọng đọc cho ngôn ngữ “{}”", shown(l)),
            &format!("No voice for the language “{}”", shown(l)),
        )),
        _ => Ok(()),
    }
}

fn unknown(lang: Option<&str>, name: &str) -> ApiError {
    let n = shown(name);
    let (vi, en) = match lang {
        Some(l) => (
            format!(
                "Không có đoạn âm thanh “{n}” trong giọng đọc “{l}” (muốn thêm một câu mới thì gửi kèm nội dung của câu)"
            ),
            format!("No clip “{n}” in the “{l}” voice (to add a phrase, send its text with it)"),
        ),
        None => (
            format!("Không có đoạn âm thanh “{n}”"),
            format!("No clip “{n}”"),
        ),
    };
    ApiError::not_found("clip_unknown", &vi, &en)
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

fn bad(status: StatusCode, code: &str, vi: String, en: String) -> ApiError {
    ApiError::new(status, ErrorDto::new(code, vi, en).with_field("text"))
}

/// The text of a new or re-recorded phrase clip `name` of `lang`, checked against the others.
fn check_phrase(m: &Value, lang: &str, name: &str, text: &str) -> Result<String, ApiError> {
    let text = text.trim();
    let norm = normalize(text);
    if norm.is_empty() || text.chars().count() > PHRASE_TEXT_MAX {
        return Err(bad(
            StatusCode::BAD_REQUEST,
            "clip_text_invalid",
            format!("Nội dung của câu phải có chữ, tối đa {PHRASE_TEXT_MAX} ký tự"),
            format!("A phrase's text needs words, at most {PHRASE_TEXT_MAX} characters"),
        ));
    }
    let taken = known(m).into_iter().find(|k| {
        k.lang.as_deref() == Some(lang)
            && k.name != name
            && !RESERVED_PREFIXES.iter().any(|p| k.name.starts_with(p))
            && k.text.as_deref().map(normalize).as_deref() == Some(norm.as_str())
    });
    if let Some(k) = taken {
        return Err(bad(
            StatusCode::CONFLICT,
            "clip_text_taken",
            format!("Đoạn “{}” đã đọc câu “{text}”: hãy thay đoạn đó", k.name),
            format!(
                "The clip “{}” already says “{text}”: replace that one",
                k.name
            ),
        ));
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
        (Some(k), _, Some(_)) => Err(bad(
            StatusCode::BAD_REQUEST,
            "clip_text_fixed",
            format!(
                "Nội dung của đoạn có sẵn “{}” không đổi được: hãy thu đúng câu “{}”",
                k.name,
                k.text.clone().unwrap_or_default()
            ),
            format!(
                "The text of the built-in clip “{}” cannot change: record “{}”",
                k.name,
                k.text.clone().unwrap_or_default()
            ),
        )),
        (Some(k), _, None) => {
            let t = custom(&k.key);
            Ok((k.key, t, false))
        }
        (None, Some(l), Some(t)) => {
            if !valid_name(name)
                || name == "chime"
                || RESERVED_PREFIXES.iter().any(|p| name.starts_with(p))
            {
                return Err(ApiError::bad_request(
                    "clip_name_invalid",
                    format!(
                        "Tên đoạn “{}” không dùng được: chữ thường không dấu, số và _ (tối đa {NAME_MAX}), không bắt đầu bằng letter_, digit_, number_",
                        shown(name)
                    ),
                    format!(
                        "The clip name “{}” cannot be used: lowercase a-z, digits and _ (at most {NAME_MAX}), not starting with letter_, digit_, number_",
                        shown(name)
                    ),
                ));
            }
            let added = app
                .clips
                .index
                .read()
                .expect("clips lock")
                .iter()
                .filter(|(k, s)| s.text.is_some() && k.starts_with(&format!("{l}/")))
                .count();
            if added >= PHRASES_MAX {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    ErrorDto::new(
                        "clip_too_many",
                        format!("Đã có {PHRASES_MAX} câu thêm cho giọng “{l}”: hãy xóa bớt"),
                        format!(
                            "The “{l}” voice already has {PHRASES_MAX} added phrases: remove one"
                        ),
                    ),
                ));
            }
            let t = check_phrase(&m, l, name, t)?;
            Ok((format!("{l}/{name}.ogg"), Some(t), true))
        }
        (None, _, _) => Err(unknown(lang, name)),
    }
}

/// The clip as listed, after a change.
async fn listed(app: &App, lang: Option<&str>, name: &str) -> Result<Value, ApiError> {
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

/// The query of a PUT: only `text` (a phrase clip's).
fn query_text(q: &HashMap<String, String>) -> Result<Option<&str>, ApiError> {
    if let Some(k) = q.keys().find(|k| k.as_str() != "text") {
        return Err(ApiError::bad_request(
            "invalid_field",
            format!("Tham số không biết: “{}”", shown(k)),
            format!("Unknown parameter “{}”", shown(k)),
        ));
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
    let user = require_role(&app, &headers, &["manager", "admin"]).await?;
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
    let user = require_role(&app, &headers, &["manager", "admin"]).await?;
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
        return Ok(Json(json!({"lang": lang, "name": name, "removed": true})).into_response());
    }
    Ok(Json(listed(&app, lang.as_deref(), &name).await?).into_response())
}

/// `PUT /api/v1/admin/clips/{lang}/{name}[?text=…]`: the body is the .ogg file. With `text`, a
/// phrase clip the center adds (or re-records) for its own template.
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
pub async fn delete(
    State(app): State<Arc<App>>,
    crate::proxy::ClientIp(addr): crate::proxy::ClientIp,
    headers: HeaderMap,
    Path((lang, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    restore(app, addr, headers, Some(lang), name).await
}

/// `PUT /api/v1/admin/clips/chime`.
pub async fn put_chime(
    State(app): State<Arc<App>>,
    crate::proxy::ClientIp(addr): crate::proxy::ClientIp,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    body: Body,
) -> Result<Response, ApiError> {
    if query_text(&q)?.is_some() {
        return Err(ApiError::bad_request(
            "clip_text_fixed",
            "Tiếng chuông không có nội dung đọc",
            "The chime has no text",
        ));
    }
    replace(app, addr, headers, None, "chime".into(), None, body).await
}

/// `DELETE /api/v1/admin/clips/chime`.
pub async fn delete_chime(
    State(app): State<Arc<App>>,
    crate::proxy::ClientIp(addr): crate::proxy::ClientIp,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    restore(app, addr, headers, None, "chime".into()).await
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
