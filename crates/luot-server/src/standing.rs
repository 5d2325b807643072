//! One rule for credentials that change under an open websocket (docs/protocol.md §3.1):
//! logout, password change or reset, disable, a change of role, counters or name, and a
//! device's revocation. Each is announced on `App::account_changes` by the process that made
//! it, and every socket opened with that credential re-reads it at once; a socket also re-reads
//! it before every command, so a change made by another process (the `luot` CLI) is seen at
//! the socket's next command at the latest. What the re-read finds decides, the same way every
//! time:
//!
//! - the credential is gone (session logged out, password reset, account disabled, session
//!   expired; device revoked): `error` `session_ended` (a device: `device_revoked`), close 1008;
//! - the account still holds but its rights changed (role, counters, name): close 1012, so the
//!   client reconnects and is welcomed with what the account now allows.

use crate::App;
use crate::auth::Principal;
use crate::error::ApiError;
use luot_store::Accounts;
use std::sync::Arc;

/// What a socket's credential is now.
#[derive(Debug)]
pub enum Standing {
    /// As it was when the socket opened.
    Holds,
    /// The account is still valid but is not what it was: reconnect (1012).
    Changed,
    /// The credential no longer holds: this error, then its close (1008).
    Ended(ApiError),
}

impl Standing {
    /// Why a command in hand is refused, when the socket cannot carry on.
    pub fn refusal(&self) -> Option<ApiError> {
        match self {
            Standing::Holds => None,
            Standing::Changed => Some(ApiError::AccountChanged),
            Standing::Ended(e) => Some(e.clone()),
        }
    }
}

/// The close code and reason for a standing that ends a socket.
pub fn close_for(s: &Standing) -> Option<(u16, &'static str)> {
    s.refusal().and_then(|e| e.close()).map(|c| c.frame())
}

/// The key announced on `App::account_changes` for a credential: the login of a user, or
/// `device:<id>` (logins cannot hold `:`). `None` for phones and anonymous sockets.
pub fn key(p: &Principal) -> Option<String> {
    match p {
        Principal::User(u) => Some(u.login.clone()),
        Principal::Device(d) => Some(device_key(d.id)),
        _ => None,
    }
}

pub fn device_key(id: i64) -> String {
    format!("device:{id}")
}

/// Tells the open sockets of this credential to re-read it.
pub fn announce(app: &App, key: String) {
    let _ = app.account_changes.send(key);
}

/// Reads the socket's credential again: the session by its hash, the device by its token's hash.
pub async fn read(
    app: &Arc<App>,
    was: &Principal,
    session_hash: Option<&str>,
    device_hash: Option<&str>,
) -> Standing {
    match was {
        Principal::User(was) => {
            let now = match session_hash {
                Some(h) => crate::auth::session_by_hash(app, h.to_string()).await,
                None => Principal::Anonymous,
            };
            match now {
                Principal::User(u) if u.login == was.login && !u.disabled => {
                    if &u == was {
                        Standing::Holds
                    } else {
                        Standing::Changed
                    }
                }
                _ => Standing::Ended(ApiError::SessionEnded),
            }
        }
        Principal::Device(was) => {
            let Some(hash) = device_hash.map(str::to_string) else {
                return Standing::Ended(ApiError::DeviceRevoked);
            };
            match app.accounts(move |c| c.device_by_token(&hash)).await {
                Ok(Some(d)) if d.id == was.id && d.revoked_at.is_none() => {
                    if &d == was {
                        Standing::Holds
                    } else {
                        Standing::Changed
                    }
                }
                // A store error is not a revocation: keep the socket, the next read decides.
                Err(e) => {
                    tracing::warn!(error = %e, "could not re-read a device");
                    Standing::Holds
                }
                _ => Standing::Ended(ApiError::DeviceRevoked),
            }
        }
        _ => Standing::Holds,
    }
}
