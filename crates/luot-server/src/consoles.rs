//! Officials' consoles, and counters left open without one. An official who closes the browser
//! (or loses the network) leaves the counter open: the hall display invites citizens to it, the
//! wait estimates count it and a ticket it called stays "Đang mời". The server counts each
//! official's connected counter consoles; a watch pauses an open counter whose official has had
//! none for the site's `console_absent_s` ("Cán bộ vắng mặt", a durable `counter_paused`), and a
//! ticket it had called but not started goes back to its place in line. The official's return
//! resumes it (`resume_counter`, one key on the console).

use crate::App;
use luot_core::{Code, Command};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often the watch looks at the open counters: a counter is paused within this much after
/// its official's `console_absent_s` has passed.
pub const CHECK_INTERVAL: Duration = Duration::from_secs(5);
/// The pause's reason, shown on the hall display, the counter display and the console.
pub const ABSENT_REASON: &str = "Cán bộ vắng mặt";

/// Connected counter consoles per official (by login).
#[derive(Debug)]
pub struct Consoles {
    by_login: Mutex<HashMap<String, Presence>>,
    /// Before a login is first seen, it has been absent since the server started.
    started: Instant,
}

#[derive(Debug, Clone, Copy)]
struct Presence {
    open: u32,
    /// When `open` last fell to 0.
    since: Instant,
}

impl Default for Consoles {
    fn default() -> Consoles {
        Consoles {
            by_login: Mutex::new(HashMap::new()),
            started: Instant::now(),
        }
    }
}

impl Consoles {
    /// Counts a console of `login` as connected until the guard is dropped.
    pub fn enter(self: &Arc<Self>, login: &str) -> ConsoleGuard {
        let mut map = self.by_login.lock().expect("consoles lock");
        let p = map.entry(login.to_string()).or_insert(Presence {
            open: 0,
            since: self.started,
        });
        p.open += 1;
        ConsoleGuard {
            consoles: self.clone(),
            login: login.to_string(),
        }
    }

    /// How long `login` has had no console connected; `None` while one is.
    pub fn absent_for(&self, login: &str) -> Option<Duration> {
        let map = self.by_login.lock().expect("consoles lock");
        match map.get(login) {
            Some(p) if p.open > 0 => None,
            Some(p) => Some(p.since.elapsed()),
            None => Some(self.started.elapsed()),
        }
    }
}

/// One connected console; dropping it (the socket ended) counts it out.
#[derive(Debug)]
pub struct ConsoleGuard {
    consoles: Arc<Consoles>,
    login: String,
}

impl Drop for ConsoleGuard {
    fn drop(&mut self) {
        let mut map = self.consoles.by_login.lock().expect("consoles lock");
        if let Some(p) = map.get_mut(&self.login) {
            p.open = p.open.saturating_sub(1);
            if p.open == 0 {
                p.since = Instant::now();
            }
        }
    }
}

/// Starts the watch; it ends with the server.
pub fn spawn_watch(app: Arc<App>) {
    let tracker = app.tracker.clone();
    tracker.spawn(async move {
        let mut tick = tokio::time::interval(CHECK_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = app.shutdown.cancelled() => break,
                _ = tick.tick() => pause_absent(&app).await,
            }
        }
    });
}

/// Pauses every open counter whose official has been away from all consoles for longer than
/// the site allows.
async fn pause_absent(app: &Arc<App>) {
    let open = app
        .broker
        .read(|v| {
            let mut out: Vec<(usize, Code, String, u32)> = Vec::new();
            for (i, s) in v.sites.iter().enumerate() {
                let limit = s.config().policy.console_absent_s;
                for c in s.counters() {
                    if c.status == luot_core::CounterStatus::Open
                        && let Some(o) = c.official
                    {
                        out.push((i, c.code, o.to_string(), limit));
                    }
                }
            }
            out
        })
        .await
        .unwrap_or_default();
    for (site, counter, official, limit_s) in open {
        let Some(away) = app.consoles.absent_for(&official) else {
            continue;
        };
        if away < Duration::from_secs(limit_s.into()) {
            continue;
        }
        let cmd = Command::PauseAbsent {
            counter,
            reason: ABSENT_REASON.to_string(),
        };
        match app.broker.command(site, cmd).await {
            Ok(r) => {
                let requeued = r.ticket.as_ref().map(|t| t.number.clone());
                tracing::info!(%counter, %official, away_s = away.as_secs(), ?requeued, "counter paused: no console of its official");
                let detail = match &requeued {
                    Some(n) => format!("{counter} {official} {n}"),
                    None => format!("{counter} {official}"),
                };
                let now = app.clock.now_ms();
                if let Err(e) = app
                    .accounts(move |c| {
                        luot_store::Accounts::audit(c, now, "system", "counter_absent", &detail)
                    })
                    .await
                {
                    tracing::warn!(error = %e, "audit line not written");
                }
            }
            // Serving a citizen (the console may come back), or paused or closed meanwhile.
            Err(e) => tracing::debug!(%counter, code = %e.code(), "absent pause not made"),
        }
    }
}
