//! What an account or a paired device is, and what that lets it do. Stored as text (the
//! `users.role` and `devices.kind` columns, with a `CHECK` on the same words), parsed once when a
//! row is read, and written to JSON as the same lowercase words. The rights are methods, so a
//! handler asks `role.manages()` rather than comparing strings.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use std::fmt;
use std::str::FromStr;

/// A user's role.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = UserRole))]
pub enum Role {
    /// Works at the counters the account lists.
    Official,
    /// Runs the floor: every counter, services, caps, the configuration, reports, the audit log.
    Manager,
    /// Everything a manager may, and accounts and devices.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Official, Role::Manager, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Official => "official",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }

    /// May act at every counter and on the floor page, read and apply the configuration, read
    /// reports, the audit log and the list of accounts.
    pub fn manages(self) -> bool {
        matches!(self, Role::Manager | Role::Admin)
    }

    /// May add, edit and disable accounts and pair and revoke devices.
    pub fn administers(self) -> bool {
        self == Role::Admin
    }

    /// Serves citizens, so a rating tablet lists the name (admins keep the server, not a
    /// counter).
    pub fn serves(self) -> bool {
        self != Role::Admin
    }
}

/// A paired device's kind.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DeviceKind {
    Kiosk,
    Display,
    CounterDisplay,
    Rating,
}

impl DeviceKind {
    pub const ALL: [DeviceKind; 4] = [
        DeviceKind::Kiosk,
        DeviceKind::Display,
        DeviceKind::CounterDisplay,
        DeviceKind::Rating,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::Kiosk => "kiosk",
            DeviceKind::Display => "display",
            DeviceKind::CounterDisplay => "counter_display",
            DeviceKind::Rating => "rating",
        }
    }

    /// Issues tickets (in the kiosk channel, rate-limited per device), may have a network
    /// printer and reprint its own recent tickets.
    pub fn issues(self) -> bool {
        self == DeviceKind::Kiosk
    }

    /// Rates the tickets served at its counter.
    pub fn rates(self) -> bool {
        self == DeviceKind::Rating
    }

    /// Belongs to one counter, named when it is paired.
    pub fn needs_counter(self) -> bool {
        matches!(self, DeviceKind::CounterDisplay | DeviceKind::Rating)
    }
}

/// A role or device kind that is not one of the known words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownName(pub String);

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown name {:?}", self.0)
    }
}

impl std::error::Error for UnknownName {}

macro_rules! text_enum {
    ($t:ty) => {
        impl FromStr for $t {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<$t, UnknownName> {
                <$t>::ALL
                    .into_iter()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| UnknownName(s.to_string()))
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl ToSql for $t {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $t {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<$t> {
                value
                    .as_str()?
                    .parse()
                    .map_err(|e| FromSqlError::Other(Box::new(e)))
            }
        }
    };
}

text_enum!(Role);
text_enum!(DeviceKind);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms_round_trip_in_json_and_from_str() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
            assert_eq!(serde_json::to_string(&r).unwrap(), format!("\"{r}\""));
        }
        for k in DeviceKind::ALL {
            assert_eq!(k.as_str().parse::<DeviceKind>(), Ok(k));
            assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{k}\""));
        }
        assert!("root".parse::<Role>().is_err());
        assert!("Admin".parse::<Role>().is_err());
        assert!("toaster".parse::<DeviceKind>().is_err());
    }
}
