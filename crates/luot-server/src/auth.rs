//! Who is asking: officials and managers by session cookie, devices by token, phones by ticket
//! token. Passwords are argon2id; tokens are 256 random bits of which only a SHA-256 is stored.

use crate::App;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::http::{HeaderMap, header};
use luot_store::{Accounts, ApiToken, Device, Integrations, User};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "luot_session";
/// A session ends after this long without a request.
pub const SESSION_IDLE: Duration = Duration::from_secs(2 * 3600);
/// And after this long in any case (one working day and then some).
pub const SESSION_ABSOLUTE_MS: i64 = 14 * 3600 * 1000;
/// Longest password, in bytes: argon2 hashes any length, so a bound keeps a login cheap.
pub const PASSWORD_BYTES_MAX: usize = 256;
/// Longest login name a login request may carry, in bytes (longer cannot exist: logins are
/// codes); checked before the back-off keys are built from it.
pub const LOGIN_BYTES_MAX: usize = 64;
/// Failed logins allowed before each further attempt is delayed.
pub const LOGIN_FREE_FAILURES: u32 = 3;
/// Longest a login may be held off.
pub const LOGIN_BACKOFF_MAX: Duration = Duration::from_secs(300);
/// Account changes (disable, role, counters, password) announced to open sockets; a socket
/// that misses some re-reads its session.
pub const ACCOUNT_CHANGES_CAPACITY: usize = 64;
/// Entries kept by each in-memory limiter before the oldest are dropped.
pub const LIMITER_ENTRIES_MAX: usize = 10_000;
/// What every API token starts with (`Authorization: Bearer luot_…`): tells it from a device's
/// token without a lookup, and lets secret scanners recognize a leaked one.
pub const API_TOKEN_PREFIX: &str = "luot_";
/// Requests one API token may make per second, and in a burst; past that, 429
/// `token_rate_limited` (`http::same_origin`).
pub const TOKEN_REQUESTS_PER_S: f64 = 5.0;
pub const TOKEN_REQUESTS_BURST: f64 = 30.0;
/// A token's `last_used_at` is written at most this often.
pub const TOKEN_USE_WRITE_MS: i64 = 60_000;

/// What an API token may do. Tokens never manage accounts, devices, tokens or configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The read models and the reports a manager can read.
    Read,
    /// The booking routes (appointments, issue #15 item 2), checked with `http::require_scope`.
    Book,
    /// Webhook endpoints and their delivery log.
    Webhooks,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Read, Scope::Book, Scope::Webhooks];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Book => "book",
            Scope::Webhooks => "webhooks",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// The authenticated party behind a request or socket.
#[derive(Clone, Debug)]
pub enum Principal {
    Anonymous,
    User(User),
    Device(Device),
    /// A phone page, holding one ticket's token.
    Phone {
        site: usize,
        token: luot_core::Token,
    },
    /// A script or portal with an API token an admin made (`luot_…`).
    Token(ApiToken),
    /// An API token that is unknown or revoked: 401 wherever it is sent.
    BadToken {
        revoked: bool,
    },
}

impl Principal {
    pub fn is_anonymous(&self) -> bool {
        matches!(self, Principal::Anonymous)
    }

    pub fn name(&self) -> String {
        match self {
            Principal::Anonymous => "anonymous".into(),
            Principal::User(u) => u.login.clone(),
            Principal::Device(d) => format!("device:{}", d.id),
            Principal::Phone { .. } => "phone".into(),
            Principal::Token(t) => format!("token:{}", t.id),
            Principal::BadToken { .. } => "bad-token".into(),
        }
    }
}

// ----- who is asking -----

/// A cookie's value, from any of the `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The hash of the session cookie's token, if one of the right length is sent.
pub fn session_hash(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE)
        .filter(|t| t.len() == 64)
        .map(token_hash)
}

/// The official or manager behind a session cookie, if it is valid and not expired.
pub async fn session_principal(app: &Arc<App>, headers: &HeaderMap) -> Principal {
    match session_hash(headers) {
        Some(hash) => session_by_hash(app, hash).await,
        None => Principal::Anonymous,
    }
}

/// The user of a session (by its token's hash), if it is valid, not expired, not disabled.
pub async fn session_by_hash(app: &Arc<App>, hash: String) -> Principal {
    if !app.activity.touch(&hash) {
        let h = hash.clone();
        let _ = app.accounts(move |c| c.delete_session(&h)).await;
        return Principal::Anonymous;
    }
    let h = hash.clone();
    let Ok(Some((user, created))) = app.accounts(move |c| c.session(&h)).await else {
        return Principal::Anonymous;
    };
    if app.clock.now_ms() - created > SESSION_ABSOLUTE_MS || user.disabled {
        app.activity.forget(&hash);
        let _ = app.accounts(move |c| c.delete_session(&hash)).await;
        return Principal::Anonymous;
    }
    Principal::User(user)
}

/// A session, or a device presenting `Authorization: Bearer <token>`.
pub async fn principal(app: &Arc<App>, headers: &HeaderMap) -> Principal {
    if let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        let token = token.trim();
        if token.starts_with(API_TOKEN_PREFIX) {
            return api_token_principal(app, token).await;
        }
        let hash = token_hash(token);
        return match app.accounts(move |c| c.device_by_token(&hash)).await {
            Ok(Some(d)) => Principal::Device(d),
            _ => Principal::Anonymous,
        };
    }
    session_principal(app, headers).await
}

/// The API token behind `Authorization: Bearer luot_…`.
async fn api_token_principal(app: &Arc<App>, token: &str) -> Principal {
    let hash = token_hash(token);
    match app.accounts(move |c| c.token_by_hash(&hash)).await {
        Ok(Some(t)) if t.revoked_at.is_none() => {
            let now = app.clock.now_ms();
            if t.last_used_at
                .is_none_or(|at| now - at >= TOKEN_USE_WRITE_MS)
            {
                let id = t.id;
                let _ = app.accounts(move |c| c.token_used(id, now)).await;
            }
            Principal::Token(t)
        }
        Ok(Some(_)) => Principal::BadToken { revoked: true },
        _ => Principal::BadToken { revoked: false },
    }
}

/// A new API token: the prefix and 256 bits from the OS CSPRNG, hex.
pub fn new_api_token() -> String {
    format!("{API_TOKEN_PREFIX}{}", new_token())
}

/// The API token a request carries, if any (not checked).
pub fn api_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| t.starts_with(API_TOKEN_PREFIX))
}

// ----- secrets -----

pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Checked when a password is set: long enough to survive a guess or two.
pub fn check_password_strength(password: &str) -> Result<(), String> {
    if password.chars().count() < 10 {
        return Err("the password needs at least 10 characters".into());
    }
    if password.len() > PASSWORD_BYTES_MAX {
        return Err(format!(
            "the password is longer than {PASSWORD_BYTES_MAX} bytes"
        ));
    }
    Ok(())
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::rng().fill_bytes(&mut b);
    b
}

/// A new secret token: 256 bits from the OS CSPRNG, hex.
pub fn new_token() -> String {
    hex::encode(random_bytes::<32>())
}

/// What the database keeps of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A readable random password for the first admin: 16 characters from an unambiguous alphabet.
pub fn new_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    random_bytes::<16>()
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// Slows down password guessing per login name and per address: after a few failures each
/// attempt must wait, doubling every time.
#[derive(Debug, Default)]
pub struct LoginBackoff {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl LoginBackoff {
    /// How long the caller must still wait before trying `key` again.
    pub fn wait(&self, key: &str) -> Option<Duration> {
        let map = self.failures.lock().expect("backoff lock");
        let &(n, last) = map.get(key)?;
        if n < LOGIN_FREE_FAILURES {
            return None;
        }
        let delay =
            Duration::from_secs(1u64 << (n - LOGIN_FREE_FAILURES).min(16)).min(LOGIN_BACKOFF_MAX);
        let elapsed = last.elapsed();
        (elapsed < delay).then(|| delay - elapsed)
    }

    pub fn failed(&self, key: &str) {
        let mut map = self.failures.lock().expect("backoff lock");
        if map.len() >= LIMITER_ENTRIES_MAX && !map.contains_key(key) {
            let oldest = map
                .iter()
                .min_by_key(|(_, (_, t))| *t)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                map.remove(&k);
            }
        }
        let e = map.entry(key.to_string()).or_insert((0, Instant::now()));
        e.0 += 1;
        e.1 = Instant::now();
    }

    pub fn succeeded(&self, key: &str) {
        self.failures.lock().expect("backoff lock").remove(key);
    }
}

/// Token buckets keyed by device or address: `rate` per second, bursts up to `burst`.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(rate: f64, burst: f64) -> RateLimiter {
        RateLimiter {
            rate,
            burst,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token; false when the bucket is empty.
    pub fn allow(&self, key: &str) -> bool {
        let mut map = self.buckets.lock().expect("rate lock");
        if map.len() >= LIMITER_ENTRIES_MAX && !map.contains_key(key) {
            // Full buckets carry no information: drop them first.
            let now = Instant::now();
            map.retain(|_, (tokens, t)| {
                *tokens + now.duration_since(*t).as_secs_f64() * self.rate < self.burst
            });
            if map.len() >= LIMITER_ENTRIES_MAX {
                return false;
            }
        }
        let now = Instant::now();
        let (tokens, last) = map.entry(key.to_string()).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.rate).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Last request time per session, so idle sessions expire without a write per request.
#[derive(Debug, Default)]
pub struct SessionActivity {
    seen: Mutex<HashMap<String, Instant>>,
}

impl SessionActivity {
    /// Marks the session used now; false when it had been idle too long (or is unknown to
    /// this process and `strict`).
    pub fn touch(&self, token_hash: &str) -> bool {
        let mut map = self.seen.lock().expect("activity lock");
        let now = Instant::now();
        match map.get_mut(token_hash) {
            Some(t) if now.duration_since(*t) > SESSION_IDLE => {
                map.remove(token_hash);
                false
            }
            Some(t) => {
                *t = now;
                true
            }
            None => {
                if map.len() >= LIMITER_ENTRIES_MAX {
                    map.retain(|_, t| now.duration_since(*t) <= SESSION_IDLE);
                }
                map.insert(token_hash.to_string(), now);
                true
            }
        }
    }

    pub fn forget(&self, token_hash: &str) {
        self.seen.lock().expect("activity lock").remove(token_hash);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn tokens_are_long_and_distinct() {
        let a = new_token();
        assert_eq!(a.len(), 64);
        assert_ne!(a, new_token());
        assert_eq!(token_hash(&a).len(), 64);
    }

    #[test]
    fn backoff_starts_after_free_failures() {
        let b = LoginBackoff::default();
        for _ in 0..LOGIN_FREE_FAILURES {
            assert!(b.wait("x").is_none());
            b.failed("x");
        }
        assert!(b.wait("x").is_some());
        b.succeeded("x");
        assert!(b.wait("x").is_none());
    }

    #[test]
    fn rate_limiter_allows_a_burst_then_refuses() {
        let r = RateLimiter::new(0.001, 3.0);
        assert!(r.allow("k") && r.allow("k") && r.allow("k"));
        assert!(!r.allow("k"));
        assert!(r.allow("other"));
    }
}
