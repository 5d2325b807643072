//! Durable storage for Luot: one SQLite file (WAL, `synchronous=FULL`) holding the append-only
//! event log, a per-ticket projection for history and reports, accounts and devices.
//!
//! One connection writes (the [`Writer`] thread, committing in batches); reports open their own
//! read-only connections and never block it.

mod accounts;
pub mod backup;
mod error;
mod integrations;
pub mod lock;
mod projection;
pub mod reports;
mod roles;
mod writer;

pub use accounts::{AUDIT_READ_MAX, Accounts, AuditEntry, AuditFilter, Device, NewDevice, User};
pub use error::StoreError;
pub use integrations::{ApiToken, Delivery, Integrations, OutboxRow, Webhook};
pub use lock::{DataLock, LockError};
pub use roles::{DeviceKind, Role, UnknownName};
pub use writer::{BATCH_RECORDS_MAX, Job, Writer, WriterStats};

use luot_core::{Code, Day, Event};
use luot_proto::{EventDto, Wire};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::path::{Path, PathBuf};

/// Marks a SQLite file as Luot's (`PRAGMA application_id`): "LUOT".
pub const APPLICATION_ID: i64 = 0x4C55_4F54;

/// Numbered migrations, applied in order; never edit one that has shipped.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_events.sql"),
    include_str!("migrations/0002_accounts.sql"),
    include_str!("migrations/0003_meta.sql"),
    include_str!("migrations/0004_checkpoint_index.sql"),
    include_str!("migrations/0005_dossier_audit.sql"),
    include_str!("migrations/0006_backups.sql"),
    include_str!("migrations/0007_audit_address.sql"),
    include_str!("migrations/0008_integrations.sql"),
    include_str!("migrations/0009_checked_in.sql"),
];

/// Size of the probe row: a write that needs new pages, so a full disk or a page limit shows.
const PROBE_BYTES: i64 = 64 * 1024;

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// How long a connection waits for a lock held by another connection before giving up.
const BUSY_TIMEOUT_MS: u64 = 5_000;

/// Prepared statements kept by the writing connection. Appending uses 13 (the event insert and
/// one per projection statement); rusqlite's default of 16 would start evicting them as soon
/// as a few more were cached on the same connection.
const STATEMENT_CACHE_CAPACITY: usize = 64;

/// One event as stored: its place in the log, its site and day, and when it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub seq: u64,
    pub site: Code,
    /// The site's open day when the event happened.
    pub day: Day,
    pub at_ms: i64,
    pub event: Event,
}

/// The writing connection.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
    last_seq: u64,
    /// The file the connection has open (device, inode): a write is refused when the path no
    /// longer leads to it, or SQLite would go on committing into a moved or deleted file.
    file_id: (u64, u64),
    /// Most pending webhook deliveries the outbox holds ([`OUTBOX_PENDING_MAX`] unless set).
    outbox_max: u64,
}

/// Default bound on pending webhook deliveries: past it a new delivery is not queued and is
/// counted on its endpoint (`webhooks.dropped`), so a dead receiver cannot fill the disk.
pub const OUTBOX_PENDING_MAX: u64 = 10_000;

/// The folder a database file is in.
fn data_folder(db: &Path) -> PathBuf {
    match db.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn file_id(path: &Path) -> std::io::Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path)?;
    Ok((m.dev(), m.ino()))
}

impl Store {
    /// Opens (or creates) the database, refusing files that are not Luot's, are damaged or were
    /// written by a newer version, and leaving such files exactly as they were.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let existed = path.exists();
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| StoreError::Open {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        conn.busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS))
            .map_err(|e| StoreError::corrupt(path, e))?;
        // Read before writing anything: a foreign or damaged file fails here, untouched.
        let (app_id, version): (i64, i64) = conn
            .query_row(
                "SELECT * FROM pragma_application_id, pragma_user_version",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(|e| open_error(path, e))?;
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
            .map_err(|e| StoreError::corrupt(path, e))?;
        if app_id != APPLICATION_ID && (app_id != 0 || tables > 0) {
            return Err(StoreError::corrupt(
                path,
                "another program's SQLite database",
            ));
        }
        if version > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                path: path.display().to_string(),
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        if existed
            && tables > 0
            && version < SCHEMA_VERSION
            && lock::held_elsewhere(&data_folder(path))
        {
            return Err(StoreError::MigrateInUse {
                path: path.display().to_string(),
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        if existed && tables > 0 {
            let check: String = conn
                .query_row("PRAGMA quick_check(1)", [], |r| r.get(0))
                .map_err(|e| StoreError::corrupt(path, e))?;
            if check != "ok" {
                return Err(StoreError::corrupt(path, check));
            }
        }
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
        )
        .map_err(|e| open_error(path, e))?;
        if conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false) {
            return Err(read_only(path, "SQLite opened it read-only".into()));
        }
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
        let file_id = file_id(path).map_err(|e| StoreError::Open {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
            last_seq: 0,
            file_id,
            outbox_max: OUTBOX_PENDING_MAX,
        };
        let before = if existed && tables > 0 && version < SCHEMA_VERSION {
            Some(store.backup_before_migration(version)?)
        } else {
            None
        };
        store.migrate(version)?;
        if let Some(written) = before {
            backup::record(&store.conn, &written)?;
        }
        store.last_seq = store.read_last_seq()?;
        Ok(store)
    }

    /// Archives the data folder (`<data>/backups/pre-migration-…`) before a migration changes the
    /// database: a migration that goes wrong, or a newer build the center wants to leave, is
    /// undone with `luot restore`. No archive, no migration.
    fn backup_before_migration(&self, from: i64) -> Result<backup::Written, StoreError> {
        let data = data_folder(&self.path);
        let folder = data.join(backup::PRE_MIGRATION_FOLDER);
        let fail = |reason: String| StoreError::Backup {
            path: folder.display().to_string(),
            reason,
        };
        std::fs::create_dir_all(&folder).map_err(|e| fail(e.to_string()))?;
        let at_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let output = folder.join(format!(
            "pre-migration-v{from}-to-v{SCHEMA_VERSION}-{}{}",
            backup::stamp(at_ms),
            backup::ARCHIVE_SUFFIX
        ));
        let written = backup::create_from(
            &self.path,
            &data,
            &output,
            backup::BackupKind::PreMigration,
            at_ms,
            &mut backup::NoProgress,
        )
        .map_err(|e| fail(e.to_string()))?;
        tracing::info!(
            archive = %written.path.display(),
            bytes = written.bytes,
            from,
            to = SCHEMA_VERSION,
            "backed up the data folder before migrating the database"
        );
        Ok(written)
    }

    fn migrate(&mut self, from: i64) -> Result<(), StoreError> {
        if from == SCHEMA_VERSION {
            return Ok(());
        }
        let tx = self.conn.transaction()?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(from as usize) {
            tx.execute_batch(sql)?;
            tracing::info!(version = i + 1, "applied database migration");
        }
        tx.execute_batch(&format!(
            "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION};"
        ))?;
        tx.commit()?;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sequence number of the last durable event (0 for an empty log).
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    fn read_last_seq(&self) -> Result<u64, StoreError> {
        let seq: Option<i64> = self
            .conn
            .query_row("SELECT max(seq) FROM events", [], |r| r.get(0))?;
        Ok(seq.unwrap_or(0) as u64)
    }

    /// Appends records in one transaction: all of them are durable when this returns Ok, none
    /// when it fails. Sequence numbers must continue the log without a gap.
    pub fn append(&mut self, records: &[Record]) -> Result<(), StoreError> {
        self.append_with_outbox(records, &[])
    }

    /// Sets the bound on pending webhook deliveries (default [`OUTBOX_PENDING_MAX`]).
    pub fn set_outbox_max(&mut self, max: u64) {
        self.outbox_max = max;
    }

    /// Appends records and the webhook deliveries they cause in one transaction: both are
    /// durable when this returns Ok, neither when it fails.
    pub fn append_with_outbox(
        &mut self,
        records: &[Record],
        outbox: &[OutboxRow],
    ) -> Result<(), StoreError> {
        let mut expected = self.last_seq + 1;
        for r in records {
            if r.seq != expected {
                return Err(StoreError::Sequence {
                    expected,
                    got: r.seq,
                });
            }
            expected += 1;
        }
        self.check_in_place()?;
        self.write(records, outbox).map_err(|e| self.diagnose(e))
    }

    fn write(&mut self, records: &[Record], outbox: &[OutboxRow]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO events (seq, site, day, at_ms, kind, ticket, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            // Records of one batch nearly always share their day: format it once per run.
            let mut day: Option<(Day, String)> = None;
            for r in records {
                let body = serde_json::to_string(&r.event.to_wire())
                    .map_err(|e| StoreError::Other(e.to_string()))?;
                let day_text = match &day {
                    Some((d, text)) if *d == r.day => text.as_str(),
                    _ => &day.insert((r.day, r.day.to_string())).1,
                };
                insert.execute(params![
                    r.seq as i64,
                    r.site.as_str(),
                    day_text,
                    r.at_ms,
                    r.event.kind(),
                    r.event.ticket().map(|t| t.0 as i64),
                    body
                ])?;
                projection::apply(&tx, r, day_text)?;
            }
        }
        integrations::insert_outbox(&tx, outbox, self.outbox_max)?;
        tx.commit()?;
        if let Some(last) = records.last() {
            self.last_seq = last.seq;
        }
        Ok(())
    }

    /// Checks that the database takes writes again after a failure: commits a row large enough
    /// to need new pages, then empties it. Touches no event.
    pub fn probe(&mut self) -> Result<(), StoreError> {
        self.check_in_place()?;
        self.write_probe().map_err(|e| self.diagnose(e))
    }

    fn write_probe(&mut self) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('probe', zeroblob(?1))",
            [PROBE_BYTES],
        )?;
        tx.commit()?;
        self.conn
            .execute("UPDATE meta SET value = x'' WHERE key = 'probe'", [])?;
        Ok(())
    }

    /// Refuses to write when the database's path no longer leads to the open file.
    fn check_in_place(&self) -> Result<(), StoreError> {
        match file_id(&self.path) {
            Ok(id) if id == self.file_id => Ok(()),
            _ => Err(StoreError::Missing {
                path: self.path.display().to_string(),
            }),
        }
    }

    /// SQLite reports a write to a read-only file system as a plain I/O error: name the cause.
    fn diagnose(&self, e: StoreError) -> StoreError {
        if !matches!(e, StoreError::Other(_)) {
            return e;
        }
        if let Err(missing) = self.check_in_place() {
            return missing;
        }
        match std::fs::OpenOptions::new().append(true).open(&self.path) {
            Err(io) if io.kind() == std::io::ErrorKind::ReadOnlyFilesystem => {
                StoreError::ReadOnly(format!(
                    "{} is on a read-only file system ({e})",
                    self.path.display()
                ))
            }
            Err(io) if io.kind() == std::io::ErrorKind::PermissionDenied => {
                StoreError::ReadOnly(format!("{}: {io} ({e})", self.path.display()))
            }
            _ => e,
        }
    }

    /// The events to replay for one site: from its last `day_opened` checkpoint on. A day's first
    /// event holds everything carried into it, so older days are never needed.
    pub fn load_site(&self, site: Code) -> Result<Vec<Record>, StoreError> {
        let mut out = Vec::new();
        self.replay_site(site, |r| out.push(r))?;
        Ok(out)
    }

    /// Rebuilds a site's live state by replaying its events from the last day checkpoint.
    pub fn recover(&self, cfg: luot_core::SiteConfig) -> Result<luot_core::Site, StoreError> {
        recover_site(&self.conn, cfg)
    }

    fn replay_site(&self, site: Code, each: impl FnMut(Record)) -> Result<(), StoreError> {
        replay_site(&self.conn, site, each)
    }

    /// Events after `seq`, oldest first, at most `limit` (for catching up a client from disk).
    pub fn events_after(&self, seq: u64, limit: u64) -> Result<Vec<Record>, StoreError> {
        read_events(&self.conn, "seq > ?1", params![seq as i64], limit)
    }

    /// Records the configuration the server runs with, when it differs from the last one.
    /// Returns its version number.
    pub fn record_config(
        &mut self,
        toml: &str,
        digest: &str,
        at_ms: i64,
    ) -> Result<i64, StoreError> {
        record_config(&self.conn, toml, digest, at_ms)
    }

    /// Read access for checks and tests that already hold the store.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

/// Why a database cannot be opened for writing: a read-only file or file system, a folder
/// that cannot be reached, or else (the file opened but cannot be read) damage.
fn open_error(path: &Path, e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode as C;
    let code = e.sqlite_error_code();
    if !matches!(
        code,
        Some(C::CannotOpen | C::ReadOnly | C::PermissionDenied | C::SystemIoFailure)
    ) {
        return StoreError::corrupt(path, e);
    }
    let probe = if path.exists() {
        std::fs::OpenOptions::new().append(true).open(path).err()
    } else {
        None
    };
    match probe {
        Some(io) if io.kind() == std::io::ErrorKind::ReadOnlyFilesystem => {
            read_only(path, format!("the file system is read-only ({e})"))
        }
        Some(io) if io.kind() == std::io::ErrorKind::PermissionDenied => {
            read_only(path, format!("{io} ({e})"))
        }
        _ if code == Some(C::ReadOnly) => read_only(path, e.to_string()),
        _ => StoreError::Open {
            path: path.display().to_string(),
            reason: e.to_string(),
        },
    }
}

fn read_only(path: &Path, why: String) -> StoreError {
    StoreError::ReadOnly(format!("{} cannot be written: {why}", path.display()))
}

fn read_events(
    conn: &Connection,
    filter: &str,
    args: impl rusqlite::Params,
    limit: u64,
) -> Result<Vec<Record>, StoreError> {
    let mut out = Vec::new();
    for_each_event(conn, filter, args, limit, |r| out.push(r))?;
    Ok(out)
}

fn for_each_event(
    conn: &Connection,
    filter: &str,
    args: impl rusqlite::Params,
    limit: u64,
    mut each: impl FnMut(Record),
) -> Result<(), StoreError> {
    scan_rows(conn, filter, args, limit, |row, body| {
        each(decode(row, body)?);
        Ok(())
    })
}

/// A stored event before its body is decoded.
#[derive(Clone, Copy, Debug)]
struct RawRow {
    seq: u64,
    site: Code,
    day: Day,
    at_ms: i64,
}

/// Steps through the log rows matching `filter` in seq order, handing each with its JSON body.
fn scan_rows(
    conn: &Connection,
    filter: &str,
    args: impl rusqlite::Params,
    limit: u64,
    mut each: impl FnMut(RawRow, &str) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let sql = format!(
        "SELECT seq, site, day, at_ms, body FROM events WHERE {filter} ORDER BY seq LIMIT {}",
        limit.min(i64::MAX as u64)
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(args)?;
    // Runs of events share their site and day: parse each once per run.
    let mut last_site: Option<(String, Code)> = None;
    let mut last_day: Option<(String, Day)> = None;
    while let Some(row) = rows.next()? {
        let seq = row.get::<_, i64>(0)? as u64;
        let bad = |reason: String| StoreError::BadEvent { seq, reason };
        let text = |i: usize| -> Result<&str, StoreError> {
            row.get_ref(i)?.as_str().map_err(|e| bad(e.to_string()))
        };
        let site_text = text(1)?;
        let site = match &last_site {
            Some((s, code)) if s == site_text => *code,
            _ => {
                let code = Code::new(site_text).map_err(|e| bad(e.to_string()))?;
                last_site = Some((site_text.to_string(), code));
                code
            }
        };
        let day_text = text(2)?;
        let day = match &last_day {
            Some((s, d)) if s == day_text => *d,
            _ => {
                let d = luot_proto::parse_day(day_text)
                    .ok_or_else(|| bad(format!("bad day {day_text:?}")))?;
                last_day = Some((day_text.to_string(), d));
                d
            }
        };
        let raw = RawRow {
            seq,
            site,
            day,
            at_ms: row.get(3)?,
        };
        each(raw, text(4)?)?;
    }
    Ok(())
}

fn decode(row: RawRow, body: &str) -> Result<Record, StoreError> {
    let bad = |reason: String| StoreError::BadEvent {
        seq: row.seq,
        reason,
    };
    let dto: EventDto = serde_json::from_str(body).map_err(|e| bad(e.to_string()))?;
    Ok(Record {
        seq: row.seq,
        site: row.site,
        day: row.day,
        at_ms: row.at_ms,
        event: Event::from_wire(&dto).map_err(|e| bad(e.to_string()))?,
    })
}

/// Calls `each` with a site's events from its last `day_opened` checkpoint on, on any
/// connection (the writer's, or a read-only one).
pub fn replay_site(
    conn: &Connection,
    site: Code,
    each: impl FnMut(Record),
) -> Result<(), StoreError> {
    let Some(from) = checkpoint(conn, site)? else {
        return Ok(());
    };
    // `+site`: walk the log by seq from the checkpoint and filter by site. Letting SQLite use
    // the (site, kind, seq) index instead reads the site's whole history and sorts it in a
    // temporary B-tree: seconds for a large day.
    for_each_event(
        conn,
        "+site = ?1 AND seq >= ?2",
        params![site.as_str(), from],
        u64::MAX,
        each,
    )
}

/// The seq of a site's last `day_opened` event: where replay starts.
fn checkpoint(conn: &Connection, site: Code) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT max(seq) FROM events WHERE site = ?1 AND kind = 'day_opened'",
            [site.as_str()],
            |r| r.get(0),
        )
        .optional()?
        .flatten())
}

/// Rows handed at once from the thread reading the log to the one decoding it, in recovery.
const RECOVERY_CHUNK_ROWS: usize = 1_024;
/// Chunks between the two threads at once: bounds the memory recovery adds (a few MB).
const RECOVERY_CHUNKS_IN_FLIGHT: usize = 4;

/// Rows of the log with their JSON bodies side by side in one string.
#[derive(Default)]
struct RawChunk {
    text: String,
    rows: Vec<(RawRow, std::ops::Range<usize>)>,
}

impl RawChunk {
    fn decode(&self) -> Result<Vec<Record>, StoreError> {
        self.rows
            .iter()
            .map(|(row, body)| decode(*row, &self.text[body.clone()]))
            .collect()
    }
}

/// Rebuilds a site's state from the durable log under `cfg`, on any connection.
///
/// Decoding the JSON costs about as much as applying the events, so a second thread decodes
/// while this one reads the log and applies what is decoded, in order: a restart after a busy
/// day takes half the time on two cores.
pub fn recover_site(
    conn: &Connection,
    cfg: luot_core::SiteConfig,
) -> Result<luot_core::Site, StoreError> {
    use std::sync::mpsc;
    let mut site = luot_core::Site::new(cfg);
    let code = site.config().code;
    let Some(from) = checkpoint(conn, code)? else {
        return Ok(site);
    };
    std::thread::scope(|scope| -> Result<(), StoreError> {
        let (raw_tx, raw_rx) = mpsc::sync_channel::<RawChunk>(RECOVERY_CHUNKS_IN_FLIGHT);
        let (done_tx, done_rx) =
            mpsc::sync_channel::<Result<Vec<Record>, StoreError>>(RECOVERY_CHUNKS_IN_FLIGHT);
        std::thread::Builder::new()
            .name("luot-store-recovery".into())
            .spawn_scoped(scope, move || {
                // After a failure keep taking chunks, unread: the reader must meet the error in
                // order, not a closed channel.
                let mut failed = false;
                for chunk in raw_rx {
                    if failed {
                        continue;
                    }
                    let decoded = chunk.decode();
                    failed = decoded.is_err();
                    if done_tx.send(decoded).is_err() {
                        return;
                    }
                }
            })
            .map_err(|e| StoreError::Other(format!("cannot start the recovery thread: {e}")))?;
        let gone = || StoreError::Other("the recovery thread stopped".into());
        // Chunks sent and not yet applied. Never more than the channels hold, so neither
        // thread ever blocks on a full channel while the other waits for it.
        let mut in_flight = 0;
        let apply_one = |site: &mut luot_core::Site| -> Result<(), StoreError> {
            for r in done_rx.recv().map_err(|_| gone())?? {
                site.evolve(&r.event, r.at_ms);
            }
            Ok(())
        };
        let mut chunk = RawChunk::default();
        let mut send = |chunk: RawChunk, site: &mut luot_core::Site| -> Result<(), StoreError> {
            if in_flight == RECOVERY_CHUNKS_IN_FLIGHT {
                apply_one(site)?;
                in_flight -= 1;
            }
            raw_tx.send(chunk).map_err(|_| gone())?;
            in_flight += 1;
            Ok(())
        };
        scan_rows(
            conn,
            "+site = ?1 AND seq >= ?2",
            params![code.as_str(), from],
            u64::MAX,
            |row, body| {
                let start = chunk.text.len();
                chunk.text.push_str(body);
                chunk.rows.push((row, start..chunk.text.len()));
                if chunk.rows.len() == RECOVERY_CHUNK_ROWS {
                    send(std::mem::take(&mut chunk), &mut site)?;
                }
                Ok(())
            },
        )?;
        if !chunk.rows.is_empty() {
            send(chunk, &mut site)?;
        }
        for _ in 0..in_flight {
            apply_one(&mut site)?;
        }
        Ok(())
    })?;
    Ok(site)
}

/// Records a configuration text unless it is the latest one already; returns its version.
pub fn record_config(
    conn: &Connection,
    toml: &str,
    digest: &str,
    at_ms: i64,
) -> Result<i64, StoreError> {
    let last: Option<(i64, String)> = conn
        .query_row(
            "SELECT version, digest FROM config_versions ORDER BY version DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match last {
        Some((v, d)) if d == digest => Ok(v),
        last => {
            let v = last.map_or(1, |(v, _)| v + 1);
            conn.execute(
                "INSERT INTO config_versions (version, at_ms, digest, toml) VALUES (?1, ?2, ?3, ?4)",
                params![v, at_ms, digest, toml],
            )?;
            Ok(v)
        }
    }
}

/// One recorded configuration: the text as it arrived, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigVersion {
    pub version: i64,
    pub at_ms: i64,
    /// SHA-256 of the text, hex.
    pub digest: String,
    pub toml: String,
}

/// The configuration in force: the latest recorded version (what the server runs, and what
/// `report`, `device pair` and `user add` read). None before the first start.
pub fn config_in_force(conn: &Connection) -> Result<Option<ConfigVersion>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT version, at_ms, digest, toml FROM config_versions ORDER BY version DESC LIMIT 1",
            [],
            |r| {
                Ok(ConfigVersion {
                    version: r.get(0)?,
                    at_ms: r.get(1)?,
                    digest: r.get(2)?,
                    toml: r.get(3)?,
                })
            },
        )
        .optional()?)
}

/// A small fact kept in the `meta` table (text values), e.g. the address the server last
/// announced.
pub fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT value FROM meta WHERE key = ?1 AND typeof(value) = 'text'",
            params![key],
            |r| r.get(0),
        )
        .optional()?)
}

pub fn meta_set(conn: &Connection, key: &str, value: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
        params![key, value],
    )?;
    Ok(())
}

/// Opens a read-only connection for reports and history: it never takes the write lock.
pub fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| StoreError::Open {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    conn.busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS))?;
    conn.execute_batch("PRAGMA query_only = ON;")?;
    Ok(conn)
}
