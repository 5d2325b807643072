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

use crate::{APPLICATION_ID, SCHEMA_VERSION};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Component, Path, PathBuf};

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

/// Writes an archive of the data folder `data` to `output` (which must not exist yet), while a
/// server may be running on it. `at_ms` is the time the manifest states.
pub fn create(
    data: &Path,
    output: &Path,
    kind: BackupKind,
    at_ms: i64,
    progress: &mut dyn Progress,
) -> Result<Written, BackupError> {
    create_from(&data.join("luot.db"), data, output, kind, at_ms, progress)
}

/// [`create`] for a database file of any name (`Store::open` before a migration); the archive
/// always calls it `luot.db`. The secret and clips are taken from `data`.
pub(crate) fn create_from(
    db: &Path,
    data: &Path,
    output: &Path,
    kind: BackupKind,
    at_ms: i64,
    progress: &mut dyn Progress,
) -> Result<Written, BackupError> {
    if !db.is_file() {
        return Err(BackupError::NoDatabase(db.display().to_string()));
    }
    if output.exists() {
        return Err(BackupError::OutputExists(output.display().to_string()));
    }
    let folder = parent_of(output);
    if !folder.is_dir() {
        return Err(BackupError::NoParent(folder.display().to_string()));
    }
    let staging = tempfile::Builder::new()
        .prefix(".luot-backup-")
        .tempdir_in(folder)
        .map_err(io_err(
            "tạo thư mục tạm trong",
            "create a temporary folder in",
            folder,
        ))?;
    let stage = staging.path();

    progress.step(
        "Chụp cơ sở dữ liệu",
        "Copying the database (online backup)",
        None,
    );
    let (schema_version, last_seq, config) = snapshot(db, &stage.join("luot.db"))?;

    let mut files: Vec<String> = vec!["luot.db".into()];
    let secret = data.join("secret.key");
    if secret.is_file() {
        std::fs::copy(&secret, stage.join("secret.key"))
            .map_err(io_err("chép", "copy", &secret))?;
        files.push("secret.key".into());
    }
    if let Some(toml) = config {
        let path = stage.join("config.toml");
        std::fs::write(&path, toml).map_err(io_err("ghi", "write", &path))?;
        files.push("config.toml".into());
    }
    copy_clips(&data.join("clips"), &stage.join("clips"), &mut files)?;
    if files.len() > ARCHIVE_FILES_MAX {
        return Err(BackupError::Io {
            vi: "đọc",
            en: "read",
            path: data.join("clips").display().to_string(),
            reason: format!(
                "{} files; an archive holds at most {ARCHIVE_FILES_MAX}",
                files.len()
            ),
        });
    }

    let total: u64 = files
        .iter()
        .map(|f| std::fs::metadata(stage.join(f)).map_or(0, |m| m.len()))
        .sum();
    progress.step("Tính tổng kiểm tra", "Computing checksums", Some(total));
    let mut entries = Vec::with_capacity(files.len());
    for f in &files {
        let path = stage.join(f);
        let (bytes, sha256) = hash_file(&path, progress)?;
        entries.push(FileEntry {
            path: f.clone(),
            bytes,
            sha256,
        });
    }
    let manifest = Manifest {
        format: BACKUP_FORMAT,
        app: "luot".into(),
        app_version: env!("CARGO_PKG_VERSION").into(),
        schema_version,
        created_at: jiff::Timestamp::from_millisecond(at_ms)
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
            .to_string(),
        created_at_ms: at_ms,
        kind: kind.as_str().into(),
        last_seq,
        files: entries,
    };

    progress.step(
        "Nén và ghi tệp sao lưu",
        "Compressing and writing the archive",
        Some(total),
    );
    let partial = tempfile::Builder::new()
        .prefix(".luot-backup-")
        .suffix(".partial")
        .tempfile_in(folder)
        .map_err(io_err("tạo tệp trong", "create a file in", folder))?;
    let out_err = io_err("ghi", "write", output);
    let sink = HashingWriter {
        inner: BufWriter::new(partial.as_file().try_clone().map_err(&out_err)?),
        hasher: Sha256::new(),
        bytes: 0,
    };
    let gz = flate2::write::GzEncoder::new(sink, flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    let json = serde_json::to_vec_pretty(&manifest).expect("a manifest serializes");
    let mtime = (at_ms / 1000).max(0) as u64;
    append(
        &mut tar,
        MANIFEST_NAME,
        json.len() as u64,
        0o644,
        mtime,
        &json[..],
    )
    .map_err(&out_err)?;
    for e in &manifest.files {
        let path = stage.join(&e.path);
        let file = File::open(&path).map_err(io_err("đọc", "read", &path))?;
        let mode = if e.path == "secret.key" { 0o600 } else { 0o644 };
        let reader = ProgressReader {
            inner: BufReader::new(file),
            progress: &mut *progress,
        };
        append(&mut tar, &e.path, e.bytes, mode, mtime, reader).map_err(&out_err)?;
    }
    let gz = tar.into_inner().map_err(&out_err)?;
    let mut sink = gz.finish().map_err(&out_err)?;
    sink.inner.flush().map_err(&out_err)?;
    drop(sink.inner);
    partial.as_file().sync_all().map_err(&out_err)?;
    let (bytes, sha256) = (sink.bytes, hex(&sink.hasher.finalize()));
    partial.persist_noclobber(output).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            BackupError::OutputExists(output.display().to_string())
        } else {
            out_err(e.error)
        }
    })?;
    sync_dir(folder);
    Ok(Written {
        path: output.to_path_buf(),
        bytes,
        sha256,
        manifest,
    })
}

fn append(
    tar: &mut tar::Builder<impl Write>,
    path: &str,
    size: u64,
    mode: u32,
    mtime: u64,
    data: impl Read,
) -> std::io::Result<()> {
    let mut h = tar::Header::new_gnu();
    h.set_size(size);
    h.set_mode(mode);
    h.set_mtime(mtime);
    h.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut h, path, data)
}

/// Copies the live database into `to` in one step of the online backup API, leaves the copy in
/// rollback-journal mode (one self-contained file), and reads its schema version, last seq and
/// latest configuration.
fn snapshot(db: &Path, to: &Path) -> Result<(i64, u64, Option<String>), BackupError> {
    let err = sql_err(db);
    let src = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(&err)?;
    src.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(&err)?;
    let mut dst = Connection::open(to).map_err(sql_err(to))?;
    {
        let copy = rusqlite::backup::Backup::new(&src, &mut dst).map_err(&err)?;
        let mut tries = 0;
        loop {
            match copy.step(-1).map_err(&err)? {
                rusqlite::backup::StepResult::Done => break,
                rusqlite::backup::StepResult::More => {}
                _ if tries < SNAPSHOT_TRIES_MAX => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(SNAPSHOT_RETRY_MS));
                }
                other => {
                    return Err(BackupError::Sqlite {
                        path: db.display().to_string(),
                        reason: format!("the database stayed locked ({other:?})"),
                    });
                }
            }
        }
    }
    drop(src);
    let err = sql_err(to);
    dst.execute_batch("PRAGMA journal_mode = DELETE;")
        .map_err(&err)?;
    let (app_id, version): (i64, i64) = dst
        .query_row(
            "SELECT * FROM pragma_application_id, pragma_user_version",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(&err)?;
    if app_id != APPLICATION_ID {
        return Err(BackupError::NotLuot(db.display().to_string()));
    }
    let last_seq: Option<i64> = dst
        .query_row("SELECT max(seq) FROM events", [], |r| r.get(0))
        .map_err(&err)?;
    let config: Option<String> = dst
        .query_row(
            "SELECT toml FROM config_versions ORDER BY version DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(&err)?;
    dst.close().map_err(|(_, e)| err(e))?;
    Ok((version, last_seq.unwrap_or(0) as u64, config))
}

/// Copies `<data>/clips` (regular files, at most two folders deep) into the staging folder.
fn copy_clips(from: &Path, to: &Path, files: &mut Vec<String>) -> Result<(), BackupError> {
    fn walk(
        dir: &Path,
        rel: &str,
        depth: usize,
        to: &Path,
        files: &mut Vec<String>,
    ) -> Result<(), BackupError> {
        let read = io_err("đọc", "read", dir);
        for e in std::fs::read_dir(dir).map_err(&read)? {
            let e = e.map_err(&read)?;
            let Some(name) = e.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if !valid_part(&name) {
                continue;
            }
            let rel = format!("{rel}/{name}");
            let kind = e.file_type().map_err(&read)?;
            if kind.is_dir() && depth + 1 < ARCHIVE_PATH_DEPTH_MAX {
                walk(&e.path(), &rel, depth + 1, to, files)?;
            } else if kind.is_file() {
                let dest = to.join(&rel);
                if let Some(p) = dest.parent() {
                    std::fs::create_dir_all(p).map_err(io_err("tạo", "create", p))?;
                }
                std::fs::copy(e.path(), &dest).map_err(io_err("chép", "copy", &e.path()))?;
                files.push(rel);
            }
        }
        Ok(())
    }
    if !from.is_dir() {
        return Ok(());
    }
    walk(from, "clips", 1, to.parent().unwrap_or(to), files)
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

/// Restores the archive `input` into the folder `data`, which must not exist, be empty, or
/// (with `force`) have its contents moved aside first. Nothing is written unless the whole
/// archive checks out.
pub fn restore(
    input: &Path,
    data: &Path,
    force: bool,
    at_ms: i64,
    progress: &mut dyn Progress,
) -> Result<Restored, BackupError> {
    let target = data.display().to_string();
    let archive_name = input.display().to_string();
    let occupied = match std::fs::read_dir(data) {
        Ok(mut entries) => entries.next().is_some(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(io_err("đọc", "read", data)(e)),
    };
    if crate::lock::in_use(data) {
        return Err(BackupError::InUse(target));
    }
    if occupied && !force {
        return Err(BackupError::TargetNotEmpty(target));
    }
    let folder = parent_of(data);
    if !folder.is_dir() {
        return Err(BackupError::NoParent(folder.display().to_string()));
    }
    let file = File::open(input).map_err(io_err("đọc", "read", input))?;
    let total = file.metadata().map(|m| m.len()).ok();
    let staging = tempfile::Builder::new()
        .prefix(".luot-restore-")
        .tempdir_in(folder)
        .map_err(io_err(
            "tạo thư mục tạm trong",
            "create a temporary folder in",
            folder,
        ))?;
    let damaged = |vi: String, en: String| BackupError::Damaged {
        archive: archive_name.clone(),
        target: target.clone(),
        vi,
        en,
    };

    progress.step(
        "Đọc và kiểm tra bản sao lưu",
        "Reading and checking the archive",
        total,
    );
    let reader = ProgressReader {
        inner: BufReader::new(file),
        progress: &mut *progress,
    };
    let manifest = unpack(reader, staging.path(), &damaged)?;

    // The database: Luot's, intact, of the version and with the log the manifest says.
    let db = staging.path().join("luot.db");
    check_database(&db, &manifest, &damaged).map_err(|e| match e {
        Checked::TooNew(found) => BackupError::TooNew {
            archive: archive_name.clone(),
            found,
            known: SCHEMA_VERSION,
        },
        Checked::Bad(vi, en) => damaged(vi, en),
    })?;
    let secret = staging.path().join("secret.key");
    if secret.exists() {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600))
            .map_err(io_err("ghi", "write", &secret))?;
    }
    for e in &manifest.files {
        let p = staging.path().join(&e.path);
        File::open(&p)
            .and_then(|f| f.sync_all())
            .map_err(io_err("ghi", "write", &p))?;
    }
    sync_dir(staging.path());

    // Into place. A server could have started on the target meanwhile: look again.
    if crate::lock::in_use(data) {
        return Err(BackupError::InUse(target));
    }
    let mut moved_aside = None;
    if data.exists() {
        if occupied {
            let aside = aside_name(data, at_ms);
            std::fs::rename(data, &aside).map_err(io_err("đổi tên", "rename", data))?;
            moved_aside = Some(aside);
        } else {
            std::fs::remove_dir(data).map_err(io_err(
                "xoá thư mục trống",
                "remove the empty folder",
                data,
            ))?;
        }
    }
    let staged = staging.keep();
    if let Err(e) = std::fs::rename(&staged, data) {
        let _ = std::fs::remove_dir_all(&staged);
        return Err(io_err("đổi tên thành", "rename to", data)(e));
    }
    sync_dir(folder);
    Ok(Restored {
        manifest,
        moved_aside,
    })
}

fn aside_name(data: &Path, at_ms: i64) -> PathBuf {
    let name = data
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "luot-data".into());
    let base = format!("{name}.before-restore-{}", stamp(at_ms));
    let mut p = data.with_file_name(&base);
    let mut n = 1;
    while p.exists() {
        n += 1;
        p = data.with_file_name(format!("{base}-{n}"));
    }
    p
}

/// Reads the archive into `stage`, checking each file against the manifest; returns the
/// manifest when every file it lists arrived whole.
fn unpack(
    reader: impl Read,
    stage: &Path,
    damaged: &dyn Fn(String, String) -> BackupError,
) -> Result<Manifest, BackupError> {
    let unreadable = |e: std::io::Error| {
        damaged(
            format!("không đọc được ({e})"),
            format!("it cannot be read ({e})"),
        )
    };
    let gz = flate2::read::GzDecoder::new(reader);
    let mut archive = tar::Archive::new(gz);
    let mut manifest: Option<Manifest> = None;
    let mut seen = std::collections::HashSet::new();
    for entry in archive.entries().map_err(unreadable)? {
        let mut entry = entry.map_err(unreadable)?;
        let name = entry
            .path()
            .map_err(unreadable)?
            .components()
            .map(|c| match c {
                Component::Normal(s) => s.to_string_lossy().to_string(),
                _ => "..".into(),
            })
            .collect::<Vec<_>>()
            .join("/");
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(damaged(
                format!("mục {name:?} không phải tệp thường"),
                format!("entry {name:?} is not a regular file"),
            ));
        }
        let size = entry.header().size().map_err(unreadable)?;
        let Some(m) = &manifest else {
            if name != MANIFEST_NAME || size > MANIFEST_BYTES_MAX {
                return Err(damaged(
                    format!(
                        "mục đầu tiên phải là {MANIFEST_NAME} (tối đa {MANIFEST_BYTES_MAX} byte)"
                    ),
                    format!(
                        "its first entry must be {MANIFEST_NAME} (at most {MANIFEST_BYTES_MAX} bytes)"
                    ),
                ));
            }
            let mut text = Vec::new();
            (&mut entry)
                .take(MANIFEST_BYTES_MAX)
                .read_to_end(&mut text)
                .map_err(unreadable)?;
            manifest = Some(check_manifest(&text, damaged)?);
            continue;
        };
        let Some(expected) = m.files.iter().find(|f| f.path == name) else {
            return Err(damaged(
                format!("tệp {name:?} không có trong danh mục"),
                format!("the file {name:?} is not in the manifest"),
            ));
        };
        if !seen.insert(name.clone()) {
            return Err(damaged(
                format!("tệp {name:?} xuất hiện hai lần"),
                format!("the file {name:?} appears twice"),
            ));
        }
        if size != expected.bytes {
            return Err(damaged(
                format!("{name} có {size} byte, danh mục ghi {}", expected.bytes),
                format!(
                    "{name} has {size} bytes, the manifest says {}",
                    expected.bytes
                ),
            ));
        }
        let dest = stage.join(&name);
        if let Some(p) = dest.parent() {
            std::fs::create_dir_all(p).map_err(io_err("tạo", "create", p))?;
        }
        let out = File::create(&dest).map_err(io_err("ghi", "write", &dest))?;
        let mut sink = HashingWriter {
            inner: BufWriter::new(out),
            hasher: Sha256::new(),
            bytes: 0,
        };
        std::io::copy(&mut (&mut entry).take(expected.bytes), &mut sink).map_err(unreadable)?;
        sink.flush().map_err(io_err("ghi", "write", &dest))?;
        let sha = hex(&sink.hasher.finalize());
        if sink.bytes != expected.bytes || sha != expected.sha256 {
            return Err(damaged(
                format!("tổng kiểm tra SHA-256 của {name} không khớp"),
                format!("the SHA-256 checksum of {name} does not match"),
            ));
        }
    }
    let Some(manifest) = manifest else {
        return Err(damaged(
            "không có danh mục (manifest.json)".into(),
            "it has no manifest (manifest.json)".into(),
        ));
    };
    if let Some(missing) = manifest.files.iter().find(|f| !seen.contains(&f.path)) {
        return Err(damaged(
            format!("thiếu tệp {}", missing.path),
            format!("the file {} is missing", missing.path),
        ));
    }
    // Read the compressed stream to its end, so the gzip length and CRC-32 are checked too.
    let mut rest = archive.into_inner();
    std::io::copy(&mut rest, &mut std::io::sink()).map_err(unreadable)?;
    Ok(manifest)
}

fn check_manifest(
    text: &[u8],
    damaged: &dyn Fn(String, String) -> BackupError,
) -> Result<Manifest, BackupError> {
    let m: Manifest = serde_json::from_slice(text).map_err(|e| {
        damaged(
            format!("danh mục không đọc được ({e})"),
            format!("the manifest cannot be read ({e})"),
        )
    })?;
    if m.format != BACKUP_FORMAT {
        return Err(damaged(
            format!(
                "định dạng {} không được hỗ trợ (bản này đọc định dạng {BACKUP_FORMAT})",
                m.format
            ),
            format!(
                "format {} is not supported (this build reads format {BACKUP_FORMAT})",
                m.format
            ),
        ));
    }
    if m.files.len() > ARCHIVE_FILES_MAX {
        return Err(damaged(
            format!(
                "danh mục có {} tệp, tối đa {ARCHIVE_FILES_MAX}",
                m.files.len()
            ),
            format!(
                "the manifest lists {} files, at most {ARCHIVE_FILES_MAX}",
                m.files.len()
            ),
        ));
    }
    if let Some(bad) = m.files.iter().find(|f| !valid_path(&f.path)) {
        return Err(damaged(
            format!("đường dẫn không hợp lệ {:?}", bad.path),
            format!("invalid path {:?}", bad.path),
        ));
    }
    if !m.files.iter().any(|f| f.path == "luot.db") {
        return Err(damaged(
            "danh mục không có luot.db".into(),
            "the manifest lists no luot.db".into(),
        ));
    }
    Ok(m)
}

enum Checked {
    TooNew(i64),
    Bad(String, String),
}

fn check_database(
    db: &Path,
    m: &Manifest,
    _damaged: &dyn Fn(String, String) -> BackupError,
) -> Result<(), Checked> {
    let bad = |e: rusqlite::Error| {
        Checked::Bad(
            format!("cơ sở dữ liệu không mở được ({e})"),
            format!("the database cannot be opened ({e})"),
        )
    };
    let conn = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(bad)?;
    let (app_id, version): (i64, i64) = conn
        .query_row(
            "SELECT * FROM pragma_application_id, pragma_user_version",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(bad)?;
    if app_id != APPLICATION_ID {
        return Err(Checked::Bad(
            "luot.db không phải cơ sở dữ liệu Luot".into(),
            "luot.db is not a Luot database".into(),
        ));
    }
    if version > SCHEMA_VERSION {
        return Err(Checked::TooNew(version));
    }
    if version != m.schema_version {
        return Err(Checked::Bad(
            format!("lược đồ {version}, danh mục ghi {}", m.schema_version),
            format!("schema {version}, the manifest says {}", m.schema_version),
        ));
    }
    let check: String = conn
        .query_row("PRAGMA integrity_check(1)", [], |r| r.get(0))
        .map_err(bad)?;
    if check != "ok" {
        return Err(Checked::Bad(
            format!("PRAGMA integrity_check báo lỗi: {check}"),
            format!("PRAGMA integrity_check failed: {check}"),
        ));
    }
    let last: Option<i64> = conn
        .query_row("SELECT max(seq) FROM events", [], |r| r.get(0))
        .map_err(bad)?;
    if last.unwrap_or(0) as u64 != m.last_seq {
        return Err(Checked::Bad(
            format!(
                "sự kiện cuối là {}, danh mục ghi {}",
                last.unwrap_or(0),
                m.last_seq
            ),
            format!(
                "the last event is {}, the manifest says {}",
                last.unwrap_or(0),
                m.last_seq
            ),
        ));
    }
    Ok(())
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
