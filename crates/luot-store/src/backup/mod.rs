//! Backups of a data folder, and their restore.
//!
//! An archive is one gzip-compressed tar file:
//!
//! ```text
//! manifest.json   format, schema version, created at, app version, last seq, every file's size and SHA-256
//! luot.db         the database, copied with SQLite's online backup API (never the live WAL file)
//! secret.key      the server's secret (per-person limits are keyed with it)
//! config.toml     the configuration in force, as the database holds it (for reading; restore uses the database's)
//! clips/…         voice clips a manager replaced
//! ```
//!
//! The database is copied in one step of the backup API: one read transaction, so the copy is
//! the log exactly as it was at one commit, while the server goes on committing (WAL readers do
//! not block the writer). A copy in several steps would restart at every commit of a busy server.
//!
//! Restore reads the whole archive into a new folder beside the target, checks every file's size
//! and checksum, the gzip checksum, the database's `PRAGMA integrity_check`, application id,
//! schema version and last seq, and only then renames the folder into place: a damaged archive
//! leaves nothing behind.
//!
//! `create` writes archives, `restore` checks and restores them; this module holds the format,
//! the errors, the helpers both share, and the daily backup's naming and pruning.

mod create;
mod restore;

pub use create::create;
pub(crate) use create::create_from;
pub use restore::restore;

use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

/// The archive layout this build writes and reads.
pub const BACKUP_FORMAT: u32 = 1;
/// The manifest's name; always the archive's first entry.
pub const MANIFEST_NAME: &str = "manifest.json";
/// Largest manifest read: a few hundred files' names and checksums take a few tens of KiB.
pub const MANIFEST_BYTES_MAX: u64 = 1024 * 1024;
/// Most files in one archive (the database, the secret, the configuration and voice clips,
/// which the server caps at a few hundred).
pub const ARCHIVE_FILES_MAX: usize = 4_096;
/// Deepest path in an archive (`clips/vi/invite.ogg`).
pub const ARCHIVE_PATH_DEPTH_MAX: usize = 3;
/// Longest path in an archive, in bytes.
pub const ARCHIVE_PATH_BYTES_MAX: usize = 200;
/// How often a copy of the database is retried while another connection holds a lock it needs
/// (checkpoints), and how long it waits between tries.
const SNAPSHOT_TRIES_MAX: u32 = 50;
const SNAPSHOT_RETRY_MS: u64 = 100;
/// The file name prefix of the daily backups the server takes (and prunes).
pub const DAILY_PREFIX: &str = "luot-backup-";
/// The file name suffix of every archive.
pub const ARCHIVE_SUFFIX: &str = ".tar.gz";
/// The folder, inside the data folder, for the backup taken before a migration.
pub const PRE_MIGRATION_FOLDER: &str = "backups";

/// What an archive holds, with the checksums restore verifies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub app: String,
    pub app_version: String,
    /// The database's schema version (`PRAGMA user_version`).
    pub schema_version: i64,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub created_at_ms: i64,
    /// `manual`, `daily` or `pre_migration`.
    pub kind: String,
    /// The last event in the archived log (0 for an empty log).
    pub last_seq: u64,
    pub files: Vec<FileEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Relative, with `/` between parts.
    pub path: String,
    pub bytes: u64,
    /// SHA-256, lowercase hex.
    pub sha256: String,
}

/// Why an archive was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackupKind {
    Manual,
    Daily,
    PreMigration,
}

impl BackupKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BackupKind::Manual => "manual",
            BackupKind::Daily => "daily",
            BackupKind::PreMigration => "pre_migration",
        }
    }
}

/// An archive written.
#[derive(Clone, Debug)]
pub struct Written {
    pub path: PathBuf,
    /// Size of the archive file.
    pub bytes: u64,
    /// SHA-256 of the archive file, hex.
    pub sha256: String,
    pub manifest: Manifest,
}

/// A restore done.
#[derive(Clone, Debug)]
pub struct Restored {
    pub manifest: Manifest,
    /// Where the target's earlier contents went (`--force` on a folder that was not empty).
    pub moved_aside: Option<PathBuf>,
}

/// Reports a long operation's progress: a bar on a terminal, lines in a log, or nothing.
pub trait Progress {
    /// A new step begins; `total_bytes` when its length is known.
    fn step(&mut self, vi: &str, en: &str, total_bytes: Option<u64>);
    /// `bytes` more of the current step are done.
    fn advance(&mut self, bytes: u64);
}

/// No progress reports (the server logs the result instead).
#[derive(Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn step(&mut self, _: &str, _: &str, _: Option<u64>) {}
    fn advance(&mut self, _: u64) {}
}

/// A backup or restore that did not happen. Each message is Vietnamese, then English, and says
/// what was (not) written.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("Không có cơ sở dữ liệu Luot tại {0}.\nThere is no Luot database at {0}.")]
    NoDatabase(String),
    #[error("{0} không phải cơ sở dữ liệu Luot.\n{0} is not a Luot database.")]
    NotLuot(String),
    #[error(
        "Tệp {0} đã có; chọn tên khác (không ghi đè bản sao lưu cũ).\nThe file {0} already exists; choose another name (an older backup is never overwritten)."
    )]
    OutputExists(String),
    #[error(
        "Bản sao lưu {archive} bị hỏng hoặc không đầy đủ: {vi}. Không ghi gì vào {target}.\nThe backup {archive} is damaged or incomplete: {en}. Nothing was written to {target}."
    )]
    Damaged {
        archive: String,
        target: String,
        vi: String,
        en: String,
    },
    #[error(
        "Bản sao lưu {archive} do phiên bản Luot mới hơn tạo (lược đồ {found}, bản này chỉ biết tới {known}). Không ghi gì; hãy khôi phục bằng bản Luot mới hơn.\nThe backup {archive} was made by a newer Luot (schema {found}, this build knows up to {known}). Nothing was written; restore it with the newer Luot."
    )]
    TooNew {
        archive: String,
        found: i64,
        known: i64,
    },
    #[error(
        "Thư mục {0} không trống. Dùng --force để chuyển nội dung cũ sang một thư mục bên cạnh rồi khôi phục.\nThe folder {0} is not empty. Use --force to move its contents aside and restore."
    )]
    TargetNotEmpty(String),
    #[error(
        "Thư mục {0} đang được một máy chủ Luot đang chạy sử dụng: hãy dừng máy chủ (systemctl stop luot) rồi khôi phục. Không ghi gì.\nThe folder {0} is in use by a running Luot server: stop the server (systemctl stop luot), then restore. Nothing was written."
    )]
    InUse(String),
    #[error(
        "Thư mục {0} chưa có: hãy tạo nó trước.\nThe folder {0} does not exist: create it first."
    )]
    NoParent(String),
    #[error("Lỗi khi {vi} {path}: {reason}\nCould not {en} {path}: {reason}")]
    Io {
        vi: &'static str,
        en: &'static str,
        path: String,
        reason: String,
    },
    #[error(
        "Lỗi cơ sở dữ liệu khi sao lưu {path}: {reason}\nDatabase error while backing up {path}: {reason}"
    )]
    Sqlite { path: String, reason: String },
}

fn io_err(
    vi: &'static str,
    en: &'static str,
    path: &Path,
) -> impl Fn(std::io::Error) -> BackupError {
    let path = path.display().to_string();
    move |e| BackupError::Io {
        vi,
        en,
        path: path.clone(),
        reason: e.to_string(),
    }
}

fn sql_err(path: &Path) -> impl Fn(rusqlite::Error) -> BackupError {
    let path = path.display().to_string();
    move |e| BackupError::Sqlite {
        path: path.clone(),
        reason: e.to_string(),
    }
}

/// `20261207T020000Z`: the time in archive names, sortable and the same in every time zone.
pub fn stamp(at_ms: i64) -> String {
    let ts = jiff::Timestamp::from_millisecond(at_ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    ts.strftime("%Y%m%dT%H%M%SZ").to_string()
}

fn parse_stamp(s: &str) -> Option<i64> {
    let dt = jiff::civil::DateTime::strptime("%Y%m%dT%H%M%SZ", s).ok()?;
    Some(
        dt.to_zoned(jiff::tz::TimeZone::UTC)
            .ok()?
            .timestamp()
            .as_millisecond(),
    )
}

/// One part of a path in an archive: letters, digits, `.`, `_`, `-`; not hidden, not `..`.
fn valid_part(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('.')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The paths an archive may hold: the three top-level files and clips.
fn valid_path(p: &str) -> bool {
    let parts: Vec<&str> = p.split('/').collect();
    p.len() <= ARCHIVE_PATH_BYTES_MAX
        && parts.len() <= ARCHIVE_PATH_DEPTH_MAX
        && parts.iter().all(|s| valid_part(s))
        && match parts.as_slice() {
            [one] => matches!(*one, "luot.db" | "secret.key" | "config.toml"),
            ["clips", ..] => parts.len() >= 2,
            _ => false,
        }
}

fn hash_file(path: &Path, progress: &mut dyn Progress) -> Result<(u64, String), BackupError> {
    let file = File::open(path).map_err(io_err("đọc", "read", path))?;
    let mut reader = ProgressReader {
        inner: BufReader::new(file),
        progress,
    };
    let mut sink = HashingWriter {
        inner: std::io::sink(),
        hasher: Sha256::new(),
        bytes: 0,
    };
    std::io::copy(&mut reader, &mut sink).map_err(io_err("đọc", "read", path))?;
    Ok((sink.bytes, hex(&sink.hasher.finalize())))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

struct ProgressReader<'a, R> {
    inner: R,
    progress: &'a mut dyn Progress,
}

impl<R: Read> Read for ProgressReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.advance(n as u64);
        Ok(n)
    }
}

fn parent_of(p: &Path) -> &Path {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Makes a rename or a new file in `dir` durable. Best effort: some file systems refuse it.
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// The daily backup: `<folder>/luot-backup-<stamp>.tar.gz`, then every daily backup in `folder`
/// older than `days_kept` days is removed. Returns the archive and the files removed.
pub fn daily(
    data: &Path,
    folder: &Path,
    days_kept: u32,
    at_ms: i64,
) -> Result<(Written, Vec<PathBuf>), BackupError> {
    std::fs::create_dir_all(folder).map_err(io_err("tạo", "create", folder))?;
    let output = folder.join(format!("{DAILY_PREFIX}{}{ARCHIVE_SUFFIX}", stamp(at_ms)));
    let written = create(data, &output, BackupKind::Daily, at_ms, &mut NoProgress)?;
    let pruned = prune(folder, days_kept, at_ms)?;
    Ok((written, pruned))
}

/// Removes daily backups (by the time in their name) older than `days_kept` days before
/// `now_ms`. Other files in the folder are never touched.
pub fn prune(folder: &Path, days_kept: u32, now_ms: i64) -> Result<Vec<PathBuf>, BackupError> {
    let cutoff = now_ms - i64::from(days_kept) * 86_400_000;
    let mut removed = Vec::new();
    let read = io_err("đọc", "read", folder);
    for e in std::fs::read_dir(folder).map_err(&read)? {
        let e = e.map_err(&read)?;
        let name = e.file_name().to_string_lossy().to_string();
        let Some(at) = name
            .strip_prefix(DAILY_PREFIX)
            .and_then(|s| s.strip_suffix(ARCHIVE_SUFFIX))
            .and_then(parse_stamp)
        else {
            continue;
        };
        if at < cutoff && e.file_type().map_err(&read)?.is_file() {
            std::fs::remove_file(e.path()).map_err(io_err("xoá", "remove", &e.path()))?;
            removed.push(e.path());
        }
    }
    removed.sort();
    Ok(removed)
}

/// Notes an archive in the database's `backups` table (schema 6 on).
pub fn record(conn: &Connection, w: &Written) -> Result<(), rusqlite::Error> {
    conn.execute(
        "INSERT INTO backups (at_ms, kind, path, bytes, sha256, last_seq, schema_version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        rusqlite::params![
            w.manifest.created_at_ms,
            w.manifest.kind,
            w.path.display().to_string(),
            w.bytes as i64,
            w.sha256,
            w.manifest.last_seq as i64,
            w.manifest.schema_version
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_paths() {
        for ok in [
            "luot.db",
            "secret.key",
            "config.toml",
            "clips/chime.ogg",
            "clips/vi/invite.ogg",
        ] {
            assert!(valid_path(ok), "{ok}");
        }
        for bad in [
            "../luot.db",
            "/etc/passwd",
            "clips/../../x",
            "clips/.hidden",
            "other.db",
            "clips",
            "clips/a/b/c.ogg",
            "",
        ] {
            assert!(!valid_path(bad), "{bad}");
        }
    }

    #[test]
    fn stamps_round_trip() {
        let ms = 1_796_000_000_000;
        assert_eq!(parse_stamp(&stamp(ms)), Some(ms));
        assert_eq!(parse_stamp("2026-12-07"), None);
    }
}
