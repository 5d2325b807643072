//! One server per data folder. `luot serve` holds an exclusive `flock` on the database file for
//! as long as it runs (the operating system drops it when the process ends, even after `kill
//! -9`), so a second server on the same folder is refused, and commands that must not change
//! the database under a running server (`luot config import`) can tell that one is running.
//!
//! The lock is on `luot.db` itself rather than a file beside it, so a read-only data folder
//! still reaches the store's own, clearer error. SQLite locks with POSIX record locks, which
//! are independent of `flock` on Linux; and the descriptor is kept open until the process
//! ends, because closing any descriptor of the file would drop SQLite's record locks.

use anyhow::Context;
use std::fs::{File, OpenOptions};
use std::path::Path;

/// `meta` key: the process id of the server holding the folder, for messages.
const META_SERVER_PID: &str = "server_pid";

/// Held by a running `luot serve`; dropped when it stops.
#[derive(Debug)]
pub struct DataLock {
    _file: File,
}

#[cfg(unix)]
fn try_lock(file: &File) -> std::io::Result<bool> {
    use rustix::fs::{FlockOperation, flock};
    match flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(true),
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(unix))]
fn try_lock(_file: &File) -> std::io::Result<bool> {
    Ok(true)
}

fn running_pid(db: &Path) -> String {
    luot_store::open_reader(db)
        .ok()
        .and_then(|c| luot_store::meta_get(&c, META_SERVER_PID).ok().flatten())
        .unwrap_or_else(|| "?".into())
}

impl DataLock {
    /// Takes the folder for a server; refuses, naming the other server's process, when one
    /// already runs on it.
    pub fn acquire(data: &Path) -> anyhow::Result<DataLock> {
        match DataLock::try_acquire(data)? {
            Ok(lock) => Ok(lock),
            Err(pid) => anyhow::bail!(
                "một máy chủ Luot khác (tiến trình {pid}) đang chạy trên thư mục {d} · \
                 another Luot server (process {pid}) is running on the data folder {d}",
                d = data.display()
            ),
        }
    }

    /// Takes the folder, or says which process ("?" when unknown) holds it. A command that
    /// changes the database behind a server's back (`luot config import`) holds it for as long
    /// as it works, so no server can start in the middle.
    pub fn try_acquire(data: &Path) -> anyhow::Result<Result<DataLock, String>> {
        std::fs::create_dir_all(data).with_context(|| {
            format!(
                "tạo thư mục dữ liệu {d} · creating the data folder {d}",
                d = data.display()
            )
        })?;
        let db = data.join("luot.db");
        // An empty file is an empty database to SQLite. On a read-only file system an existing
        // database still opens here, and the store then says what is wrong.
        let file = match OpenOptions::new().read(true).open(&db) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&db)
                .with_context(|| {
                    format!(
                        "tạo cơ sở dữ liệu {d} · creating the database {d}",
                        d = db.display()
                    )
                })?,
            Err(e) => {
                return Err(e).with_context(|| format!("mở {d} · opening {d}", d = db.display()));
            }
        };
        if !try_lock(&file).with_context(|| format!("khóa {d} · locking {d}", d = db.display()))?
        {
            return Ok(Err(running_pid(&db)));
        }
        Ok(Ok(DataLock { _file: file }))
    }

    /// Notes this process as the one holding the folder (once the database is open), for the
    /// messages of commands refused while it runs.
    pub fn record_pid(store: &luot_store::Store) -> anyhow::Result<()> {
        luot_store::meta_set(
            store.connection(),
            META_SERVER_PID,
            &std::process::id().to_string(),
        )?;
        Ok(())
    }
}
