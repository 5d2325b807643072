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
//! [`CLIP_BYTES_MAX`] bytes and [`CLIP_SECONDS_MAX`] seconds long. `ogg.rs` reads the Ogg pages
//! (capture pattern, CRC), the codec's identification header and the last page's granule
//! position.

use crate::error::ApiError;
use crate::ogg::{self, OggInfo};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Mutex, RwLock};

/// Largest clip accepted, in bytes. The built-in clips are 5–16 KiB.
pub const CLIP_BYTES_MAX: usize = 512 * 1024;
/// Longest clip accepted: a word or a phrase of an announcement, or the chime.
pub const CLIP_SECONDS_MAX: f64 = 10.0;
/// Longest clip or language name in a path.
pub(crate) const NAME_MAX: usize = 40;
/// Phrase clips a center may add per language, and the longest text of one (characters).
pub const PHRASES_MAX: usize = 50;
pub const PHRASE_TEXT_MAX: usize = 100;
/// Names the announcer reads by rule (a ticket's letters and digits, a counter's number).
pub(crate) const RESERVED_PREFIXES: [&str; 3] = ["letter_", "digit_", "number_"];

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

pub(crate) fn valid_name(s: &str) -> bool {
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
                    tracing::warn!(clip = %key, error = %e.text(crate::report::Lang::En), "stored clip skipped")
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

    /// How many phrase clips the center added in `lang`.
    pub(crate) fn phrases(&self, lang: &str) -> usize {
        let prefix = format!("{lang}/");
        self.index
            .read()
            .expect("clips lock")
            .iter()
            .filter(|(k, s)| s.text.is_some() && k.starts_with(&prefix))
            .count()
    }

    pub(crate) fn merge(&self, m: &mut Value) {
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
    pub(crate) fn store(&self, key: &str, bytes: &[u8], meta: &Stored) -> std::io::Result<()> {
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
    pub(crate) fn remove(&self, key: &str) -> std::io::Result<bool> {
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

pub(crate) fn stored(bytes: &[u8], info: &OggInfo, at_ms: i64, by: &str) -> Stored {
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

// ----- the check -----

/// Checks that `bytes` is one Ogg Vorbis or Ogg Opus stream (`ogg::read`) of at most
/// [`CLIP_SECONDS_MAX`] seconds.
pub fn check(bytes: &[u8]) -> Result<OggInfo, ApiError> {
    let info = ogg::read(bytes).map_err(ApiError::ClipRefused)?;
    if info.seconds > CLIP_SECONDS_MAX {
        return Err(ApiError::ClipTooLong {
            seconds: info.seconds,
            max: CLIP_SECONDS_MAX,
        });
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ogg::build::opus;
    use crate::report::Lang;

    const INVITE: &[u8] = include_bytes!("../../../kiosk-assets/audio/vi/invite.ogg");
    const CHIME: &[u8] = include_bytes!("../../../kiosk-assets/audio/chime.ogg");

    #[test]
    fn the_built_in_clips_pass_the_check() {
        let i = check(INVITE).expect("invite.ogg");
        assert_eq!((i.codec, i.sample_rate, i.channels), ("vorbis", 22050, 1));
        assert!(i.seconds > 0.5 && i.seconds < 5.0, "{i:?}");
        check(CHIME).expect("chime.ogg");
    }

    /// What a manager reads: the code, and where the file is damaged.
    #[test]
    fn a_refused_file_says_why_and_where() {
        let mut bad = INVITE.to_vec();
        bad[200] ^= 0x40;
        let e = check(&bad).unwrap_err();
        assert_eq!(e.code(), "clip_damaged");
        assert_eq!(e.status(), axum::http::StatusCode::UNPROCESSABLE_ENTITY);
        let en = e.text(Lang::En);
        assert!(en.contains("byte 58: checksum"), "{en}");
        assert!(e.text(Lang::Vi).contains("byte 58: sai mã kiểm tra"));
        let e = check(&INVITE[..INVITE.len() - 10]).unwrap_err();
        assert_eq!(e.code(), "clip_damaged");
        assert!(e.text(Lang::En).contains("truncated"));
        assert_eq!(check(b"RIFF....WAVE").unwrap_err().code(), "clip_not_ogg");
        assert_eq!(check(b"").unwrap_err().code(), "clip_empty");
        let mut two = INVITE.to_vec();
        two.extend_from_slice(CHIME);
        assert_eq!(check(&two).unwrap_err().code(), "clip_streams");
        assert_eq!(check(&opus(312)).unwrap_err().code(), "clip_silent");
    }

    /// [`CLIP_SECONDS_MAX`] is allowed, a sample more is not.
    #[test]
    fn a_clip_over_ten_seconds_is_refused() {
        check(&opus(10 * 48_000 + 312)).expect("exactly 10 s");
        let e = check(&opus(10 * 48_000 + 313)).unwrap_err();
        assert_eq!(e.code(), "clip_too_long");
        assert_eq!(e.text(Lang::En), "The clip lasts 10.0 s; at most 10 s");
    }
}
