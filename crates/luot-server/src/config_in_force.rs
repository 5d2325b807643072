//! The configuration in force lives in the database (DESIGN.md §9). A TOML file is how a
//! configuration arrives — the first start, `luot serve --config FILE`, `luot config import
//! FILE`, the admin page — and once applied it is a row of `config_versions`; the latest row is
//! what the server runs after a restart and what every command reads.
//!
//! A file given at start replaces the one in force only through the checks the admin page runs
//! (`check_fits`: no citizen's ticket loses its service or counter, no open counter
//! disappears), and only when the file itself changed since it was last applied at a start: a
//! service unit that always passes the same `--config` must not undo, at every restart, what a
//! manager changed on the admin page.

use crate::broker::SiteRuntime;
use crate::error::ApiError;
use anyhow::Context;
use luot_core::{Site, SiteConfig, TicketState};
use luot_proto::config::{CenterConfig, DEFAULT_CONFIG_TOML, parse_config};
use luot_store::{Accounts, ConfigVersion, Store};
use rusqlite::Connection;
use std::path::Path;

/// The name errors give the built-in example configuration.
pub const BUILT_IN_NAME: &str = "default.toml (built in)";
/// `meta` key: SHA-256 of the last file `serve --config` applied, so an unchanged file is not
/// applied again over a newer configuration from the admin page or `config import`.
pub const META_START_FILE_DIGEST: &str = "config_start_file_digest";
/// `meta` key: the base URL the server last announced (for `luot device pair`'s links).
pub const META_ANNOUNCED_URL: &str = "announced_url";

/// SHA-256 of a configuration text, hex: how versions are compared.
pub fn digest(text: &str) -> String {
    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(text.as_bytes()))
}

/// Every site's time zone, looked up in the tz database (the one check `parse_config` cannot
/// make on its own).
pub fn site_runtimes(center: &CenterConfig) -> Result<Vec<SiteRuntime>, String> {
    center
        .sites
        .iter()
        .map(|s| {
            let tz = jiff::tz::TimeZone::get(&s.time_zone).map_err(|_| {
                format!(
                    "điểm {c}: không có múi giờ {z:?} · site {c}: unknown time zone {z:?}",
                    c = s.core.code,
                    z = s.time_zone
                )
            })?;
            Ok(SiteRuntime {
                code: s.core.code,
                settings: s.clone(),
                tz,
            })
        })
        .collect()
}

/// Parses and fully checks a configuration text; errors name the file, line and column.
pub fn parse_checked(text: &str, name: &str) -> anyhow::Result<CenterConfig> {
    let center = parse_config(text, name).map_err(|e| {
        anyhow::anyhow!("{name}: cấu hình có lỗi · the configuration has errors:\n{e}")
    })?;
    site_runtimes(&center).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    Ok(center)
}

fn refuse(vi: String, en: String) -> Result<(), ApiError> {
    Err(ApiError::ConfigRefused { vi, en })
}

fn holds_a_citizen(state: TicketState) -> bool {
    matches!(
        state,
        TicketState::Waiting | TicketState::Called | TicketState::Serving
    )
}

/// The admin page's check before `cfg` replaces a site's configuration: a ticket a citizen
/// holds keeps its service and, when it is at (or sent to) a counter, that counter; an open
/// counter is not removed. `live` is the site's current state.
pub fn check_fits(live: &Site, cfg: &SiteConfig) -> Result<(), ApiError> {
    for t in live.tickets() {
        let active = holds_a_citizen(t.state);
        if active && cfg.service(*t.service).is_none() {
            return refuse(
                format!(
                    "Thủ tục '{}' còn người chờ (số {}): chưa thể xóa",
                    t.service, t.number
                ),
                format!(
                    "Service '{}' still has tickets (e.g. {}): it cannot be removed yet",
                    t.service, t.number
                ),
            );
        }
        let counter = t
            .counter
            .filter(|_| active && t.state != TicketState::Waiting)
            .or(t.target_counter);
        if let Some(c) = counter.filter(|c| cfg.counter(**c).is_none()) {
            return refuse(
                format!("Quầy '{c}' đang giữ số {}: chưa thể xóa", t.number),
                format!(
                    "Counter '{c}' holds ticket {}: it cannot be removed yet",
                    t.number
                ),
            );
        }
    }
    for c in live.counters() {
        if c.status != luot_core::CounterStatus::Closed && cfg.counter(c.code).is_none() {
            return refuse(
                format!("Quầy '{}' đang mở: hãy đóng quầy trước khi xóa", c.code),
                format!("Counter '{}' is open: close it before removing it", c.code),
            );
        }
    }
    Ok(())
}

/// The admin page's checks run against the durable state, for a configuration that replaces
/// `old` while no broker holds the sites (at start, or `luot config import`). Unlike the live
/// path, sites may come and go here (a restart is what that needs), but a removed site must
/// hold no citizen's ticket and no open counter.
pub fn check_against_store(
    conn: &Connection,
    old: &CenterConfig,
    new: &CenterConfig,
) -> Result<(), ApiError> {
    let storage = |e: luot_store::StoreError| ApiError::storage(&e);
    for o in &old.sites {
        let live = luot_store::recover_site(conn, o.core.clone()).map_err(storage)?;
        match new.sites.iter().find(|n| n.core.code == o.core.code) {
            Some(n) => {
                check_fits(&live, &n.core)?;
                let rebuilt = luot_store::recover_site(conn, n.core.clone()).map_err(storage)?;
                if let Err(e) = rebuilt.check_invariants() {
                    return refuse(
                        format!("Cấu hình mới không khớp dữ liệu hôm nay: {e}"),
                        format!("The new configuration does not fit today's data: {e}"),
                    );
                }
            }
            None => {
                if let Some(t) = live.tickets().iter().find(|t| holds_a_citizen(t.state)) {
                    return refuse(
                        format!(
                            "Điểm tiếp nhận '{}' còn người chờ (số {}): chưa thể xóa",
                            o.core.code, t.number
                        ),
                        format!(
                            "Site '{}' still has tickets (e.g. {}): it cannot be removed yet",
                            o.core.code, t.number
                        ),
                    );
                }
                if let Some(c) = live
                    .counters()
                    .iter()
                    .find(|c| c.status != luot_core::CounterStatus::Closed)
                {
                    return refuse(
                        format!(
                            "Quầy '{}' của điểm '{}' đang mở: hãy đóng quầy trước",
                            c.code, o.core.code
                        ),
                        format!(
                            "Counter '{}' of site '{}' is open: close it first",
                            c.code, o.core.code
                        ),
                    );
                }
            }
        }
    }
    Ok(())
}

fn refused(name: &str, e: &ApiError) -> anyhow::Error {
    anyhow::anyhow!(
        "không áp dụng được cấu hình {name}: {}\n\
         the configuration {name} was not applied: {}",
        e.text(crate::report::Lang::Vi),
        e.text(crate::report::Lang::En)
    )
}

/// Where the configuration a server starts with came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A fresh database: the file (or the built-in example) became version 1.
    FirstStart { from: String },
    /// The version in force runs (no `--config`, or a file with the very same text).
    InForce,
    /// `--config FILE` had not changed since a start applied it, and something newer (the admin
    /// page, `config import`) is in force: that newer version runs.
    InForceFileUnchanged { file: String },
    /// `--config FILE` differed, passed the checks and is now the version in force.
    Applied { from: String },
}

/// The configuration a server starts with.
#[derive(Debug)]
pub struct Chosen {
    pub center: CenterConfig,
    pub toml: String,
    pub version: i64,
    /// When that version was recorded (ms since the epoch).
    pub at_ms: i64,
    pub origin: Origin,
}

impl Chosen {
    /// One line for the log and the banner, Vietnamese then English.
    pub fn describe(&self) -> String {
        let v = self.version;
        match &self.origin {
            Origin::FirstStart { from } => format!(
                "cấu hình phiên bản {v} từ {from} (lần chạy đầu) · configuration version {v} from {from} (first start)"
            ),
            Origin::InForce => format!(
                "cấu hình đang áp dụng, phiên bản {v} · the configuration in force, version {v}"
            ),
            Origin::InForceFileUnchanged { file } => format!(
                "cấu hình đang áp dụng, phiên bản {v}: {file} không đổi từ lần áp dụng trước nên không áp dụng lại (dùng `luot config import` để áp dụng) · \
                 the configuration in force, version {v}: {file} has not changed since it was last applied, so it is not applied again (use `luot config import` to apply it)"
            ),
            Origin::Applied { from } => format!(
                "đã áp dụng {from} thành cấu hình phiên bản {v} · applied {from} as configuration version {v}"
            ),
        }
    }
}

/// A configuration file as given on the command line.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    pub text: String,
    /// The path as the operator wrote it, for messages.
    pub name: String,
}

impl ConfigFile {
    pub fn read(path: &Path) -> anyhow::Result<ConfigFile> {
        Ok(ConfigFile {
            text: std::fs::read_to_string(path)
                .with_context(|| format!("đọc tệp {f} · reading {f}", f = path.display()))?,
            name: path.display().to_string(),
        })
    }
}

/// Reads the configuration in force and checks that it still parses (a configuration from an
/// older version of Luot may not).
pub fn read_in_force(conn: &Connection) -> anyhow::Result<Option<(ConfigVersion, CenterConfig)>> {
    let Some(v) = luot_store::config_in_force(conn)? else {
        return Ok(None);
    };
    let name = format!("configuration version {} (in force)", v.version);
    let center = parse_checked(&v.toml, &name).context(
        "cấu hình đang áp dụng không còn qua được bước kiểm tra; hãy thay bằng \
         `luot config import FILE` hoặc `luot serve --config FILE` · \
         the configuration in force no longer passes the checks; replace it with \
         `luot config import FILE` or `luot serve --config FILE`",
    )?;
    Ok(Some((v, center)))
}

/// Decides which configuration `luot serve` runs, records it, and says why. With a new file
/// that would strand a citizen's ticket, refuses with the admin page's message, in Vietnamese
/// and English, and changes nothing.
pub fn choose_at_start(
    db_path: &Path,
    file: Option<&ConfigFile>,
    now_ms: i64,
) -> anyhow::Result<Chosen> {
    let store = Store::open(db_path)?;
    let conn = store.connection();
    let in_force = read_in_force(conn)?;
    let record = |text: &str, center: CenterConfig, origin: Origin| -> anyhow::Result<Chosen> {
        let version = luot_store::record_config(conn, text, &digest(text), now_ms)?;
        let from = match &origin {
            Origin::FirstStart { from } | Origin::Applied { from } => from.clone(),
            _ => String::new(),
        };
        conn.audit(
            now_ms,
            "system",
            "config_apply",
            &format!("version {version} from {from} at start"),
        )?;
        Ok(Chosen {
            center,
            toml: text.to_owned(),
            version,
            at_ms: now_ms,
            origin,
        })
    };
    match (in_force, file) {
        (None, None) => {
            let center = parse_checked(DEFAULT_CONFIG_TOML, BUILT_IN_NAME)?;
            record(
                DEFAULT_CONFIG_TOML,
                center,
                Origin::FirstStart {
                    from: BUILT_IN_NAME.into(),
                },
            )
        }
        (None, Some(f)) => {
            let center = parse_checked(&f.text, &f.name)?;
            luot_store::meta_set(conn, META_START_FILE_DIGEST, &digest(&f.text))?;
            record(
                &f.text,
                center,
                Origin::FirstStart {
                    from: f.name.clone(),
                },
            )
        }
        (Some((v, center)), None) => Ok(Chosen {
            center,
            toml: v.toml,
            version: v.version,
            at_ms: v.at_ms,
            origin: Origin::InForce,
        }),
        (Some((v, old)), Some(f)) => {
            let d = digest(&f.text);
            if d == v.digest {
                luot_store::meta_set(conn, META_START_FILE_DIGEST, &d)?;
                return Ok(Chosen {
                    center: old,
                    toml: v.toml,
                    version: v.version,
                    at_ms: v.at_ms,
                    origin: Origin::InForce,
                });
            }
            if luot_store::meta_get(conn, META_START_FILE_DIGEST)?.as_deref() == Some(d.as_str()) {
                return Ok(Chosen {
                    center: old,
                    toml: v.toml,
                    version: v.version,
                    at_ms: v.at_ms,
                    origin: Origin::InForceFileUnchanged {
                        file: f.name.clone(),
                    },
                });
            }
            let center = parse_checked(&f.text, &f.name)?;
            check_against_store(conn, &old, &center).map_err(|e| refused(&f.name, &e))?;
            luot_store::meta_set(conn, META_START_FILE_DIGEST, &d)?;
            record(
                &f.text,
                center,
                Origin::Applied {
                    from: f.name.clone(),
                },
            )
        }
    }
}

/// What `luot config import` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Imported {
    /// The text is already the configuration in force: nothing recorded.
    Unchanged { version: i64 },
    /// Recorded as this version; the next start runs it.
    Recorded { version: i64 },
}

/// Records `file` as the configuration in force after the admin page's checks against the
/// durable state. The caller makes sure no server holds the database (a running server would
/// go on with its own copy and could strand a ticket the checks did not see).
pub fn import(db_path: &Path, file: &ConfigFile, now_ms: i64) -> anyhow::Result<Imported> {
    let center = parse_checked(&file.text, &file.name)?;
    let store = Store::open(db_path)?;
    let conn = store.connection();
    let d = digest(&file.text);
    if let Some((v, old)) = read_in_force(conn)? {
        if v.digest == d {
            return Ok(Imported::Unchanged { version: v.version });
        }
        check_against_store(conn, &old, &center).map_err(|e| refused(&file.name, &e))?;
    }
    let version = luot_store::record_config(conn, &file.text, &d, now_ms)?;
    conn.audit(
        now_ms,
        "cli",
        "config_import",
        &format!("version {version} from {}", file.name),
    )?;
    Ok(Imported::Recorded { version })
}

/// The configuration in force for a command that reads it (`report`, `device pair`, `user
/// add`): the recorded one, or the built-in example on a database that never ran a server.
pub fn for_commands(conn: &Connection) -> anyhow::Result<(CenterConfig, Option<ConfigVersion>)> {
    match read_in_force(conn)? {
        Some((v, c)) => Ok((c, Some(v))),
        None => Ok((parse_checked(DEFAULT_CONFIG_TOML, BUILT_IN_NAME)?, None)),
    }
}

/// The base URL the last `luot serve` on this database announced, if any.
pub fn announced_url(conn: &Connection) -> anyhow::Result<Option<String>> {
    Ok(luot_store::meta_get(conn, META_ANNOUNCED_URL)?)
}
