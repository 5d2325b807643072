use std::path::Path;

/// A storage failure. Cloneable: one failed commit fails every caller in its batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {path}: {reason}")]
    Open { path: String, reason: String },
    #[error(
        "Cơ sở dữ liệu {path} do phiên bản Luot mới hơn ghi (lược đồ {found}, bản này chỉ biết tới lược đồ {known}); không thay đổi gì. Hãy chạy lại bản Luot mới hơn, hoặc khôi phục một bản sao lưu do bản này tạo (luot restore).\nthe database {path} was written by a newer Luot (schema {found}, this build knows up to {known}); it was not touched. Run the newer Luot again, or restore a backup this version made (luot restore)."
    )]
    TooNew {
        path: String,
        found: i64,
        known: i64,
    },
    #[error(
        "Cơ sở dữ liệu {path} (lược đồ {found}) cần nâng cấp lên lược đồ {known}, nhưng một máy chủ Luot đang chạy trên thư mục này: hãy dừng máy chủ rồi chạy lại lệnh; không thay đổi gì.\nthe database {path} (schema {found}) needs migrating to schema {known}, but a Luot server is running on its folder: stop the server, then run this again; nothing was changed."
    )]
    MigrateInUse {
        path: String,
        found: i64,
        known: i64,
    },
    #[error("{path} is not a Luot database, or it is damaged ({reason}); it was not touched")]
    Corrupt { path: String, reason: String },
    #[error(
        "Không sao lưu được vào {path} trước khi nâng cấp cơ sở dữ liệu, nên chưa nâng cấp: {reason}\ncould not back up into {path} before migrating the database, so it was not migrated: {reason}"
    )]
    Backup { path: String, reason: String },
    #[error("the disk or database is full: {0}")]
    Full(String),
    #[error("the database is read-only: {0}")]
    ReadOnly(String),
    #[error("the database is locked by another program: {0}")]
    Busy(String),
    #[error(
        "the database file {path} is gone from its folder (moved or deleted while the server runs); nothing more is written until it is back"
    )]
    Missing { path: String },
    #[error("storage error: {0}")]
    Other(String),
    #[error("event {got} arrived out of order (expected {expected})")]
    Sequence { expected: u64, got: u64 },
    #[error("stored event {seq} cannot be read: {reason}")]
    BadEvent { seq: u64, reason: String },
    #[error("not written: an earlier write in the same run failed")]
    Aborted,
    #[error("the storage writer has stopped")]
    WriterGone,
}

impl StoreError {
    /// A stable code for clients and `/healthz`.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Open { .. } => "storage_open",
            StoreError::TooNew { .. } => "storage_too_new",
            StoreError::Corrupt { .. } => "storage_corrupt",
            StoreError::Backup { .. } => "storage_backup_failed",
            StoreError::MigrateInUse { .. } => "storage_migrate_in_use",
            StoreError::Full(_) => "storage_full",
            StoreError::ReadOnly(_) => "storage_read_only",
            StoreError::Busy(_) => "storage_busy",
            StoreError::Missing { .. } => "storage_missing",
            StoreError::Other(_) => "storage_error",
            StoreError::Sequence { .. } => "storage_sequence",
            StoreError::BadEvent { .. } => "storage_bad_event",
            StoreError::Aborted => "storage_aborted",
            StoreError::WriterGone => "storage_stopped",
        }
    }

    pub(crate) fn corrupt(path: &Path, e: impl std::fmt::Display) -> StoreError {
        StoreError::Corrupt {
            path: path.display().to_string(),
            reason: e.to_string(),
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        use rusqlite::ErrorCode as C;
        let msg = e.to_string();
        match e.sqlite_error_code() {
            Some(C::DiskFull) => StoreError::Full(msg),
            Some(C::ReadOnly) => StoreError::ReadOnly(msg),
            Some(C::DatabaseBusy | C::DatabaseLocked) => StoreError::Busy(msg),
            Some(C::CannotOpen | C::PermissionDenied) => StoreError::Open {
                path: String::new(),
                reason: msg,
            },
            Some(C::NotADatabase | C::DatabaseCorrupt) => StoreError::Corrupt {
                path: String::new(),
                reason: msg,
            },
            _ => StoreError::Other(msg),
        }
    }
}
