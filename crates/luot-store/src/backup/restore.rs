//! Restoring an archive: every file checked against the manifest and the database checked, in a
//! folder beside the target, before it is renamed into place.

use super::{
    ARCHIVE_FILES_MAX, BACKUP_FORMAT, BackupError, HashingWriter, MANIFEST_BYTES_MAX,
    MANIFEST_NAME, Manifest, Progress, ProgressReader, Restored, hex, io_err, parent_of, stamp,
    sync_dir, valid_path,
};
use crate::{APPLICATION_ID, SCHEMA_VERSION};
use rusqlite::{Connection, OpenFlags};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Component, Path, PathBuf};

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
