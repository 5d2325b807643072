//! Writing an archive: the database copied with the online backup API, the secret, the
//! configuration in force and the voice clips, then the manifest, into one tar.gz.

use super::{
    ARCHIVE_FILES_MAX, ARCHIVE_PATH_DEPTH_MAX, BACKUP_FORMAT, BackupError, BackupKind, FileEntry,
    HashingWriter, MANIFEST_NAME, Manifest, Progress, ProgressReader, SNAPSHOT_RETRY_MS,
    SNAPSHOT_TRIES_MAX, Written, hash_file, hex, io_err, parent_of, sql_err, sync_dir, valid_part,
};
use crate::APPLICATION_ID;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

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
