//! The data folder's advisory lock: a running server holds `<data>/luot.lock` locked for as long
//! as it runs, so `luot restore` can tell a folder in use from one that is not. The kernel drops
//! the lock when the process ends, however it ends: a crash never leaves a stale lock behind.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The folders this process holds (canonical paths), so that the store can tell its own
/// server's lock from another process's (see [`held_elsewhere`]).
static HELD: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn held_key(data: &Path) -> PathBuf {
    std::fs::canonicalize(data).unwrap_or_else(|_| data.to_path_buf())
}

/// The lock file's name inside the data folder. It holds nothing; only its lock matters.
pub const LOCK_FILE: &str = "luot.lock";

/// An exclusive lock on a data folder, released when dropped.
#[derive(Debug)]
pub struct DataLock {
    path: PathBuf,
    key: PathBuf,
    /// Kept open: closing the file would release the lock. `None` only on a read-only file
    /// system without a lock file, where no other process can write either (and the store then
    /// refuses to start, naming the read-only database).
    _file: Option<File>,
}

/// Why a data folder's lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "Thư mục dữ liệu {0} đang được một máy chủ Luot khác sử dụng.\nThe data folder {0} is in use by another running Luot server."
    )]
    InUse(String),
    #[error("Không mở được {path}: {reason}\nCannot open {path}: {reason}")]
    Io { path: String, reason: String },
}

impl DataLock {
    /// Takes the folder's lock, or says that another process holds it.
    pub fn acquire(data: &Path) -> Result<DataLock, LockError> {
        let path = data.join(LOCK_FILE);
        let io = |e: std::io::Error| LockError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let file = match OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
        {
            Ok(f) => f,
            // A read-only file system: a lock on the existing file still works (flock needs no
            // write access); without one, nobody can write here, so there is nothing to guard.
            Err(e) if e.kind() == std::io::ErrorKind::ReadOnlyFilesystem => {
                match File::open(&path) {
                    Ok(f) => f,
                    Err(_) => return Ok(DataLock::held(path, data, None)),
                }
            }
            Err(e) => return Err(io(e)),
        };
        match file.try_lock() {
            Ok(()) => Ok(DataLock::held(path, data, Some(file))),
            Err(TryLockError::WouldBlock) => Err(LockError::InUse(data.display().to_string())),
            Err(TryLockError::Error(e)) => Err(io(e)),
        }
    }

    fn held(path: PathBuf, data: &Path, file: Option<File>) -> DataLock {
        let key = held_key(data);
        HELD.lock().expect("held folders").push(key.clone());
        DataLock {
            path,
            key,
            _file: file,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for DataLock {
    fn drop(&mut self) {
        let mut held = HELD.lock().expect("held folders");
        if let Some(i) = held.iter().position(|k| *k == self.key) {
            held.swap_remove(i);
        }
    }
}

fn flock_held(path: &Path) -> bool {
    let Ok(file) = File::open(path) else {
        return false;
    };
    match file.try_lock_shared() {
        Ok(()) => false,
        Err(TryLockError::WouldBlock) => true,
        // A file system without locks: say "held" rather than risk a running server's folder.
        Err(TryLockError::Error(_)) => true,
    }
}

/// Whether another process's server holds the folder's `luot.lock` (a command about to migrate
/// the database must not do it under a running server of the older version). The lock this
/// process took through [`DataLock::acquire`] does not count.
pub fn held_elsewhere(data: &Path) -> bool {
    if HELD.lock().expect("held folders").contains(&held_key(data)) {
        return false;
    }
    flock_held(&data.join(LOCK_FILE))
}

/// Whether a running server holds the folder now: the lock on `luot.lock` (taken by
/// `luot_server::start`), or an exclusive `flock` on `luot.db` itself (the convention of
/// `luot serve`'s own data-folder lock). A folder with neither file has no server.
///
/// Only a `flock` is tested, never SQLite opened: this process has no SQLite connection to the
/// folder's database, so opening and closing the file drops no record lock of its own.
pub fn in_use(data: &Path) -> bool {
    [LOCK_FILE, "luot.db"]
        .iter()
        .any(|name| flock_held(&data.join(name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_released_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!in_use(dir.path()), "no lock file: not in use");
        let lock = DataLock::acquire(dir.path()).unwrap();
        assert_eq!(lock.path(), dir.path().join(LOCK_FILE));
        assert!(in_use(dir.path()));
        let second = DataLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(
            second.contains("đang được một máy chủ Luot khác sử dụng")
                && second.contains("in use by another running Luot server"),
            "{second}"
        );
        drop(lock);
        assert!(
            !in_use(dir.path()),
            "the lock file stays, its lock does not"
        );
        DataLock::acquire(dir.path()).unwrap();
    }

    #[test]
    fn this_process_s_own_lock_is_not_held_elsewhere() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!held_elsewhere(dir.path()));
        let lock = DataLock::acquire(dir.path()).unwrap();
        assert!(!held_elsewhere(dir.path()), "our own lock");
        assert!(in_use(dir.path()), "but restore still sees it");
        drop(lock);
        // A lock this process did not take through DataLock, as another process's would be.
        let other = File::open(dir.path().join(LOCK_FILE)).unwrap();
        other.try_lock().unwrap();
        assert!(held_elsewhere(dir.path()));
        drop(other);
        assert!(!held_elsewhere(dir.path()));
    }

    #[test]
    fn a_flock_on_the_database_itself_also_means_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let db = File::create(dir.path().join("luot.db")).unwrap();
        assert!(!in_use(dir.path()));
        db.try_lock().unwrap();
        assert!(in_use(dir.path()));
        db.unlock().unwrap();
        assert!(!in_use(dir.path()));
    }
}
