//! The server's clock. The core never reads one; the broker asks this for `now` in a site's
//! time zone. Tests and fault drills inject a clock that jumps.

use jiff::tz::TimeZone;
use luot_core::{Day, Now};
use std::sync::atomic::{AtomicI64, Ordering};

pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Wall-clock time, milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        jiff::Timestamp::now().as_millisecond()
    }
}

/// The system clock shifted by an adjustable offset, for clock-jump drills and tests.
#[derive(Debug, Default)]
pub struct OffsetClock {
    pub offset_ms: AtomicI64,
}

impl OffsetClock {
    pub fn set_offset_ms(&self, ms: i64) {
        self.offset_ms.store(ms, Ordering::SeqCst);
    }
}

impl Clock for OffsetClock {
    fn now_ms(&self) -> i64 {
        jiff::Timestamp::now().as_millisecond() + self.offset_ms.load(Ordering::SeqCst)
    }
}

/// `now` as a site in time zone `tz` sees it.
pub fn site_now(at_ms: i64, tz: &TimeZone) -> Now {
    let ts = jiff::Timestamp::from_millisecond(at_ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let local = ts.to_zoned(tz.clone()).datetime();
    Now {
        at_ms,
        day: Day::from_ymd(
            local.year() as i32,
            local.month() as u32,
            local.day() as u32,
        ),
        minute: local.hour() as u16 * 60 + local.minute() as u16,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnam_midnight_is_17_utc() {
        let tz = TimeZone::get("Asia/Ho_Chi_Minh").unwrap();
        let at: jiff::Timestamp = "2026-11-27T17:00:00Z".parse().unwrap();
        let now = site_now(at.as_millisecond(), &tz);
        assert_eq!(now.day.to_string(), "2026-11-28");
        assert_eq!(now.minute, 0);
        assert_eq!(now, Now::from_offset(at.as_millisecond(), 7 * 3600));
    }
}

/// The UTC offset of `tz` at noon of `day` (the offset a whole working day of a Vietnamese site
/// has; replays and plans of a past day use it).
pub fn utc_offset_at_noon(tz: &TimeZone, day: Day) -> Result<i32, jiff::Error> {
    let (y, m, d) = day.ymd();
    let noon = jiff::civil::date(y as i16, m as i8, d as i8)
        .at(12, 0, 0, 0)
        .to_zoned(tz.clone())?;
    Ok(noon.offset().seconds())
}
