//! Users, sessions, devices and the audit log. Rare writes (logins, pairing), so they use their
//! own short connection rather than the event writer.

use crate::{Store, StoreError};
use rusqlite::{Connection, OptionalExtension, params};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub login: String,
    pub display_name: String,
    /// `official`, `manager` or `admin`.
    pub role: String,
    pub password_hash: String,
    /// Counter codes an official may work at.
    pub counters: Vec<String>,
    pub disabled: bool,
    pub created_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub id: i64,
    /// `kiosk`, `display`, `counter_display` or `rating`.
    pub kind: String,
    pub name: String,
    pub site: String,
    pub counter: Option<String>,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct NewDevice<'a> {
    pub kind: &'a str,
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

    fn audit(&self, at_ms: i64, actor: &str, action: &str, detail: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO audit (at_ms, actor, action, detail) VALUES (?1, ?2, ?3, ?4)",
            params![at_ms, actor, action, detail],
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
