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

use crate::error::{ApiError, ClipFault, OggDamage};
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

/// Checks that `bytes` is one Ogg Vorbis or Ogg Opus stream of at most [`CLIP_SECONDS_MAX`]
/// seconds: every byte in a page whose CRC matches, one logical stream, a known codec header.
pub fn check(bytes: &[u8]) -> Result<OggInfo, ApiError> {
    check_ogg(bytes).map_err(ApiError::ClipRefused)
}

fn check_ogg(bytes: &[u8]) -> Result<OggInfo, ClipFault> {
    if bytes.is_empty() {
        return Err(ClipFault::Empty);
    }
    if !bytes.starts_with(b"OggS") {
        return Err(ClipFault::NotOgg);
    }
    let damaged = |at: usize, why: OggDamage| ClipFault::Damaged { at, why };
    let mut at = 0;
    let mut serial = None;
    let mut first_body: Option<&[u8]> = None;
    let mut last_granule: Option<u64> = None;
    while at < bytes.len() {
        let page = &bytes[at..];
        if page.len() < 27 || !page.starts_with(b"OggS") {
            return Err(damaged(at, OggDamage::NoPage));
        }
        if page[4] != 0 {
            return Err(damaged(at, OggDamage::Version));
        }
        let flags = page[5];
        let granule = u64::from_le_bytes(page[6..14].try_into().expect("8 bytes"));
        let s = u32::from_le_bytes(page[14..18].try_into().expect("4 bytes"));
        let crc = u32::from_le_bytes(page[22..26].try_into().expect("4 bytes"));
        let nseg = page[26] as usize;
        if page.len() < 27 + nseg {
            return Err(damaged(at, OggDamage::Truncated));
        }
        let body_len: usize = page[27..27 + nseg].iter().map(|&l| l as usize).sum();
        let len = 27 + nseg + body_len;
        if page.len() < len {
            return Err(damaged(at, OggDamage::Truncated));
        }
        let mut copy = page[..len].to_vec();
        copy[22..26].fill(0);
        if ogg_crc(&copy) != crc {
            return Err(damaged(at, OggDamage::Crc));
        }
        match serial {
            None => {
                if flags & 0x02 == 0 {
                    return Err(damaged(at, OggDamage::NoBeginning));
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
                return Err(ClipFault::Streams);
            }
            Some(_) => {}
        }
        if granule != u64::MAX {
            last_granule = Some(granule);
        }
        at += len;
    }
    let head = first_body.unwrap_or_default();
    let (codec, sample_rate, channels, samples) =
        if head.len() >= 30 && head.starts_with(b"\x01vorbis") {
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
            return Err(ClipFault::Codec);
        };
    if sample_rate == 0 || channels == 0 {
        return Err(damaged(0, OggDamage::CodecHeader));
    }
    let seconds = samples / sample_rate as f64;
    if last_granule.is_none_or(|g| g == 0) || seconds <= 0.0 {
        return Err(ClipFault::Silent);
    }
    if seconds > CLIP_SECONDS_MAX {
        return Err(ClipFault::TooLong { seconds });
    }
    Ok(OggInfo {
        codec,
        sample_rate,
        channels,
        seconds,
    })
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
        assert_eq!(e.code(), "clip_damaged");
        assert!(
            e.text(crate::report::Lang::En)
                .contains("byte 58: checksum"),
            "{}",
            e.text(crate::report::Lang::En)
        );
        let e = check(&INVITE[..INVITE.len() - 10]).unwrap_err();
        assert_eq!(e.code(), "clip_damaged");
        assert!(e.text(crate::report::Lang::En).contains("truncated"));
        assert_eq!(check(b"RIFF....WAVE").unwrap_err().code(), "clip_not_ogg");
        assert_eq!(check(b"").unwrap_err().code(), "clip_empty");
    }

    #[test]
    fn two_streams_one_after_the_other_are_refused() {
        let mut two = INVITE.to_vec();
        two.extend_from_slice(CHIME);
        assert_eq!(check(&two).unwrap_err().code(), "clip_streams");
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
        assert_eq!(e.code(), "clip_too_long");
        assert_eq!(check(&opus(312)).unwrap_err().code(), "clip_silent");
    }

    #[test]
    fn an_ogg_stream_of_another_codec_is_refused() {
        let f = page(0x06, 100, 0, &[b"\x80theora......................"]);
        assert_eq!(check(&f).unwrap_err().code(), "clip_codec");
    }

    #[test]
    fn the_crc_matches_the_reference_value() {
        // "OggS" pages of real files carry this CRC; a known vector for the polynomial:
        assert_eq!(ogg_crc(b"123456789"), 0x89a1_897f);
    }
}
