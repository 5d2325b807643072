//! The daily backup (`[backup]`): at the configured minute of the day, in the first site's time
//! zone, an archive of the data folder goes into the backup folder and daily archives older than
//! `days_kept` days are removed. Each run is logged and written to the audit log (actor
//! `system`, action `backup_daily` or `backup_failed`) and to the `backups` table.

use crate::App;
use luot_proto::config::BackupSettings;
use luot_store::Accounts;
use luot_store::backup;
use std::path::PathBuf;
use std::sync::Arc;

/// Where daily archives go: `folder`, inside the data folder when relative.
pub fn folder(app: &App, settings: &BackupSettings) -> PathBuf {
    let f = PathBuf::from(&settings.folder);
    if f.is_absolute() {
        f
    } else {
        data_dir(app).join(f)
    }
}

fn data_dir(app: &App) -> PathBuf {
    match app.db_path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The next time (Unix ms) the wall clock in `tz` shows `minute` (of the day), after `now_ms`.
pub fn next_run_ms(now_ms: i64, minute: u16, tz: &jiff::tz::TimeZone) -> i64 {
    let now = jiff::Timestamp::from_millisecond(now_ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let today = now.to_zoned(tz.clone()).date();
    let at = |date: jiff::civil::Date| {
        date.at((minute / 60) as i8, (minute % 60) as i8, 0, 0)
            .to_zoned(tz.clone())
            .map(|z| z.timestamp().as_millisecond())
            .unwrap_or(i64::MAX)
    };
    let first = at(today);
    if first > now_ms {
        first
    } else {
        today.tomorrow().map(at).unwrap_or(i64::MAX)
    }
}

/// Longest the daily backup task sleeps before it reads the clock again. Sleeping straight to
/// the next run would trust a timer that does not count time the machine spent suspended, nor a
/// wall clock set right (NTP, an operator) while it slept; reading it every second costs nothing.
pub const DAILY_RECHECK_MS: u64 = 1_000;

/// Runs the daily backup until the server shuts down: once each time the wall clock reaches the
/// next run (computed when the server starts and after each run), however it got there.
pub fn spawn_daily(app: Arc<App>, settings: BackupSettings, tz: jiff::tz::TimeZone) {
    let tracker = app.tracker.clone();
    let folder = folder(&app, &settings);
    tracing::info!(
        folder = %folder.display(),
        time = format!("{:02}:{:02}", settings.time / 60, settings.time % 60),
        days_kept = settings.days_kept,
        "daily backup scheduled"
    );
    tracker.spawn(async move {
        let mut next = next_run_ms(app.clock.now_ms(), settings.time, &tz);
        loop {
            let now = app.clock.now_ms();
            if now >= next {
                run_once(&app, &folder, settings.days_kept).await;
                next = next_run_ms(app.clock.now_ms(), settings.time, &tz);
                continue;
            }
            let wait = ((next - now) as u64).min(DAILY_RECHECK_MS);
            tokio::select! {
                _ = app.shutdown.cancelled() => return,
                _ = tokio::time::sleep(std::time::Duration::from_millis(wait)) => {}
            }
        }
    });
}

/// Takes one daily backup now, prunes, logs and audits.
pub async fn run_once(app: &Arc<App>, folder: &std::path::Path, days_kept: u32) {
    let at_ms = app.clock.now_ms();
    let data = data_dir(app);
    let dest = folder.to_path_buf();
    let started = std::time::Instant::now();
    let done =
        tokio::task::spawn_blocking(move || backup::daily(&data, &dest, days_kept, at_ms)).await;
    let result = match done {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(e) => Err(format!("the backup task failed: {e}")),
    };
    match result {
        Ok((written, pruned)) => {
            tracing::info!(
                archive = %written.path.display(),
                bytes = written.bytes,
                last_seq = written.manifest.last_seq,
                ms = started.elapsed().as_millis() as u64,
                pruned = pruned.len(),
                "daily backup written"
            );
            for p in &pruned {
                tracing::info!(archive = %p.display(), "old daily backup removed");
            }
            let detail = format!(
                "{} bytes={} last_seq={} sha256={} pruned={}",
                written.path.display(),
                written.bytes,
                written.manifest.last_seq,
                written.sha256,
                pruned.len()
            );
            let noted = app
                .accounts(move |c| {
                    backup::record(c, &written)?;
                    c.audit(at_ms, "system", "backup_daily", &detail)
                })
                .await;
            if let Err(e) = noted {
                tracing::warn!(error = %e, "the daily backup could not be noted in the database");
            }
        }
        Err(reason) => {
            tracing::error!(folder = %folder.display(), error = %reason, "daily backup failed");
            let detail = format!("{}: {reason}", folder.display());
            let _ = app
                .accounts(move |c| c.audit(at_ms, "system", "backup_failed", &detail))
                .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_run_is_today_or_tomorrow_in_the_site_time_zone() {
        let tz = jiff::tz::TimeZone::get("Asia/Ho_Chi_Minh").unwrap();
        let ms = |s: &str| s.parse::<jiff::Timestamp>().unwrap().as_millisecond();
        // 01:00 in Hà Nội is 18:00 UTC the day before.
        assert_eq!(
            next_run_ms(ms("2026-12-07T00:30:00+07:00"), 60, &tz),
            ms("2026-12-07T01:00:00+07:00")
        );
        assert_eq!(
            next_run_ms(ms("2026-12-07T01:00:00+07:00"), 60, &tz),
            ms("2026-12-08T01:00:00+07:00")
        );
        assert_eq!(
            next_run_ms(ms("2026-12-07T23:59:00+07:00"), 0, &tz),
            ms("2026-12-08T00:00:00+07:00")
        );
    }
}
