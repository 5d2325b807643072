//! Users, sessions, devices and the audit log. Rare writes (logins, pairing), so they use their
//! own short connection rather than the event writer.

use crate::{DeviceKind, Role, Store, StoreError};
use rusqlite::{Connection, OptionalExtension, params};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub login: String,
    pub display_name: String,
    pub role: Role,
    pub password_hash: String,
    /// Counter codes an official may work at.
    pub counters: Vec<String>,
    pub disabled: bool,
    pub created_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub id: i64,
    pub kind: DeviceKind,
    pub name: String,
    pub site: String,
    pub counter: Option<String>,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// One line of the audit log.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: i64,
    /// Unix milliseconds.
    pub at_ms: i64,
    pub actor: String,
    #[cfg_attr(feature = "openapi", schema(example = "login"))]
    pub action: String,
    pub detail: String,
    /// The client's address; empty for the server's own actions.
    pub address: String,
}

/// Which audit lines to read. Times are Unix milliseconds, `to_ms` exclusive.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub actor: Option<String>,
    pub action: Option<String>,
}

/// Most audit lines one read returns (a page, or a CSV export).
pub const AUDIT_READ_MAX: usize = 10_000;

#[derive(Clone, Debug)]
pub struct NewDevice<'a> {
    pub kind: DeviceKind,
    pub name: &'a str,
    pub site: &'a str,
    pub counter: Option<&'a str>,
    pub token_hash: &'a str,
}

fn user_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    let counters: String = r.get(4)?;
    Ok(User {
        login: r.get(0)?,
        display_name: r.get(1)?,
        role: r.get(2)?,
        password_hash: r.get(3)?,
        counters: counters
            .split(',')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        disabled: r.get::<_, i64>(5)? != 0,
        created_at: r.get(6)?,
    })
}

fn device_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Device> {
    Ok(Device {
        id: r.get(0)?,
        kind: r.get(1)?,
        name: r.get(2)?,
        site: r.get(3)?,
        counter: r.get(4)?,
        created_at: r.get(5)?,
        revoked_at: r.get(6)?,
    })
}

const USER_COLUMNS: &str =
    "login, display_name, role, password_hash, counters, disabled, created_at";
const DEVICE_COLUMNS: &str = "id, kind, name, site, counter, created_at, revoked_at";

/// Account operations, on any connection to a Luot database (the store's, or one opened with
/// [`Store::open`] by the CLI).
pub trait Accounts {
    fn conn(&self) -> &Connection;

    fn user_count(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT count(*) FROM users", [], |r| r.get(0))?)
    }

    fn add_user(&self, u: &User) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO users (login, display_name, role, password_hash, counters, disabled, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![u.login, u.display_name, u.role, u.password_hash, u.counters.join(","), u.disabled as i64, u.created_at],
        )?;
        Ok(())
    }

    fn user(&self, login: &str) -> Result<Option<User>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE login = ?1"),
                [login],
                user_row,
            )
            .optional()?)
    }

    fn users(&self) -> Result<Vec<User>, StoreError> {
        let mut stmt = self
            .conn()
            .prepare(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY login"))?;
        let rows = stmt.query_map([], user_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn set_password(&self, login: &str, hash: &str) -> Result<bool, StoreError> {
        // A new password ends every session of the old one, in the same transaction: a crash
        // or a failed delete must not leave the old sessions alive under the new password.
        let tx = self.conn().unchecked_transaction()?;
        let n = tx.execute(
            "UPDATE users SET password_hash = ?2 WHERE login = ?1",
            params![login, hash],
        )?;
        tx.execute("DELETE FROM sessions WHERE login = ?1", [login])?;
        tx.commit()?;
        Ok(n == 1)
    }

    fn set_user_counters(&self, login: &str, counters: &[String]) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "UPDATE users SET counters = ?2 WHERE login = ?1",
            params![login, counters.join(",")],
        )?;
        Ok(n == 1)
    }

    /// Changes what is given; returns false when there is no such user.
    fn update_user(
        &self,
        login: &str,
        display_name: Option<&str>,
        role: Option<Role>,
        counters: Option<&[String]>,
    ) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "UPDATE users SET display_name = coalesce(?2, display_name), role = coalesce(?3, role), counters = coalesce(?4, counters) WHERE login = ?1",
            params![login, display_name, role, counters.map(|c| c.join(","))],
        )?;
        Ok(n == 1)
    }

    /// Disables (ending every session in the same transaction) or enables a user; returns false
    /// when there is no such user.
    fn set_disabled(&self, login: &str, disabled: bool) -> Result<bool, StoreError> {
        let tx = self.conn().unchecked_transaction()?;
        let n = tx.execute(
            "UPDATE users SET disabled = ?2 WHERE login = ?1",
            params![login, disabled as i64],
        )?;
        if disabled {
            tx.execute("DELETE FROM sessions WHERE login = ?1", [login])?;
        }
        tx.commit()?;
        Ok(n == 1)
    }

    /// Enabled admins, so the last one cannot be disabled or demoted.
    fn active_admins(&self) -> Result<i64, StoreError> {
        Ok(self.conn().query_row(
            "SELECT count(*) FROM users WHERE role = ?1 AND disabled = 0",
            [Role::Admin],
            |r| r.get(0),
        )?)
    }

    /// Hashes of a user's sessions (to forget them in memory when they end).
    fn session_hashes(&self, login: &str) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn()
            .prepare("SELECT token_hash FROM sessions WHERE login = ?1")?;
        let rows = stmt.query_map([login], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Audit lines matching `f`, newest first: `limit` (at most `AUDIT_READ_MAX`) from `offset`,
    /// and how many match in all.
    fn audit_page(
        &self,
        f: &AuditFilter,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<AuditEntry>, i64), StoreError> {
        const WHERE: &str = "WHERE (?1 IS NULL OR at_ms >= ?1) AND (?2 IS NULL OR at_ms < ?2) AND (?3 IS NULL OR actor = ?3) AND (?4 IS NULL OR action = ?4)";
        let args = params![f.from_ms, f.to_ms, f.actor, f.action];
        let total: i64 =
            self.conn()
                .query_row(&format!("SELECT count(*) FROM audit {WHERE}"), args, |r| {
                    r.get(0)
                })?;
        let mut stmt = self.conn().prepare(&format!(
            "SELECT id, at_ms, actor, action, detail, address FROM audit {WHERE} ORDER BY at_ms DESC, id DESC LIMIT ?5 OFFSET ?6"
        ))?;
        let rows = stmt.query_map(
            params![
                f.from_ms,
                f.to_ms,
                f.actor,
                f.action,
                limit.min(AUDIT_READ_MAX) as i64,
                offset as i64
            ],
            |r| {
                Ok(AuditEntry {
                    id: r.get(0)?,
                    at_ms: r.get(1)?,
                    actor: r.get(2)?,
                    action: r.get(3)?,
                    detail: r.get(4)?,
                    address: r.get(5)?,
                })
            },
        )?;
        Ok((rows.collect::<Result<_, _>>()?, total))
    }

    /// The actions and actors the log holds, for the viewer's filters (at most 200 each).
    fn audit_kinds(&self) -> Result<(Vec<String>, Vec<String>), StoreError> {
        let list = |sql: &str| -> Result<Vec<String>, StoreError> {
            let mut stmt = self.conn().prepare(sql)?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        };
        Ok((
            list("SELECT DISTINCT action FROM audit ORDER BY action LIMIT 200")?,
            list("SELECT DISTINCT actor FROM audit ORDER BY actor LIMIT 200")?,
        ))
    }

    fn add_session(&self, token_hash: &str, login: &str, at_ms: i64) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO sessions (token_hash, login, created_at) VALUES (?1, ?2, ?3)",
            params![token_hash, login, at_ms],
        )?;
        Ok(())
    }

    /// The session's user and creation time.
    fn session(&self, token_hash: &str) -> Result<Option<(User, i64)>, StoreError> {
        let cols = USER_COLUMNS
            .split(", ")
            .map(|c| format!("u.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {cols}, s.created_at FROM sessions s JOIN users u ON u.login = s.login WHERE s.token_hash = ?1"),
                [token_hash],
                |r| Ok((user_row(r)?, r.get(7)?)),
            )
            .optional()?)
    }

    fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        self.conn()
            .execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])?;
        Ok(())
    }

    fn delete_sessions_before(&self, at_ms: i64) -> Result<usize, StoreError> {
        Ok(self
            .conn()
            .execute("DELETE FROM sessions WHERE created_at < ?1", [at_ms])?)
    }

    fn add_device(&self, d: &NewDevice<'_>, at_ms: i64) -> Result<i64, StoreError> {
        self.conn().execute(
            "INSERT INTO devices (kind, name, site, counter, token_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![d.kind, d.name, d.site, d.counter, d.token_hash, at_ms],
        )?;
        Ok(self.conn().last_insert_rowid())
    }

    /// A paired, not revoked device by its token's hash.
    fn device_by_token(&self, token_hash: &str) -> Result<Option<Device>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE token_hash = ?1 AND revoked_at IS NULL"),
                [token_hash],
                device_row,
            )
            .optional()?)
    }

    fn devices(&self) -> Result<Vec<Device>, StoreError> {
        let mut stmt = self
            .conn()
            .prepare(&format!("SELECT {DEVICE_COLUMNS} FROM devices ORDER BY id"))?;
        let rows = stmt.query_map([], device_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn revoke_device(&self, id: i64, at_ms: i64) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "UPDATE devices SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            params![id, at_ms],
        )?;
        Ok(n == 1)
    }

    /// An audit line for the server's own action (no client address).
    fn audit(&self, at_ms: i64, actor: &str, action: &str, detail: &str) -> Result<(), StoreError> {
        self.audit_from(at_ms, actor, action, detail, "")
    }

    /// An audit line for a client's action, with the address it came from.
    fn audit_from(
        &self,
        at_ms: i64,
        actor: &str,
        action: &str,
        detail: &str,
        address: &str,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO audit (at_ms, actor, action, detail, address) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![at_ms, actor, action, detail, address],
        )?;
        Ok(())
    }
}

impl Accounts for Connection {
    fn conn(&self) -> &Connection {
        self
    }
}

impl Accounts for Store {
    fn conn(&self) -> &Connection {
        &self.conn
    }
}
