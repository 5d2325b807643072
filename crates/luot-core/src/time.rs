//! Time as an input. The core never reads a clock: the server converts its clock (in the site's
//! time zone) into a [`Now`] and passes it with every command.

use std::fmt;

/// A local calendar day, counted from 1970-01-01 in the site's time zone.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Day(pub i32);

impl Day {
    /// The day for a proleptic Gregorian date (Howard Hinnant's days_from_civil).
    pub fn from_ymd(y: i32, m: u32, d: u32) -> Day {
        let y = if m <= 2 { y - 1 } else { y };
        let era = if y >= 0 { y } else { y - 399 } / 400;
        let yoe = y - era * 400;
        let mp = (m as i32 + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d as i32 - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        Day(era * 146097 + doe - 719468)
    }

    /// The (year, month, day) of this day.
    pub fn ymd(self) -> (i32, u32, u32) {
        let z = self.0 + 719468;
        let era = if z >= 0 { z } else { z - 146096 } / 146097;
        let doe = z - era * 146097;
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        let y = yoe + era * 400;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        (if m <= 2 { y + 1 } else { y }, m, d)
    }

    /// Monday is 0, Sunday is 6 (1970-01-01 was a Thursday).
    pub fn weekday(self) -> u8 {
        (self.0 + 3).rem_euclid(7) as u8
    }

    pub fn next(self) -> Day {
        Day(self.0 + 1)
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl fmt::Debug for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

/// Minutes since local midnight, 0..1440.
pub type Minute = u16;

pub const MINUTES_PER_DAY: Minute = 1440;

/// The moment a command happens, as the server's clock saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now {
    /// Wall-clock instant, milliseconds since the Unix epoch. Stored with every event.
    pub at_ms: i64,
    /// The local day in the site's time zone.
    pub day: Day,
    /// Minutes since local midnight in the site's time zone.
    pub minute: Minute,
}

impl Now {
    /// A `Now` for a fixed UTC offset (Vietnam is UTC+7 all year). Tests and the simulator use
    /// this; the server derives `Now` from the site's time zone database entry.
    pub fn from_offset(at_ms: i64, offset_s: i32) -> Now {
        let local_s = at_ms.div_euclid(1000) + offset_s as i64;
        let day = local_s.div_euclid(86_400);
        let minute = (local_s.rem_euclid(86_400) / 60) as Minute;
        Now {
            at_ms,
            day: Day(day as i32),
            minute,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip() {
        for d in [-800_000, -1, 0, 1, 19_000, 20_420, 2_000_000] {
            let (y, m, dd) = Day(d).ymd();
            assert_eq!(Day::from_ymd(y, m, dd), Day(d));
        }
        assert_eq!(Day::from_ymd(2026, 11, 28).to_string(), "2026-11-28");
        assert_eq!(Day::from_ymd(2026, 11, 28).weekday(), 5); // a Saturday
        assert_eq!(Day::from_ymd(1970, 1, 1).weekday(), 3);
    }

    #[test]
    fn offset_now_rolls_at_local_midnight() {
        // 2026-11-27T17:00:00Z is 2026-11-28 00:00 in Asia/Ho_Chi_Minh.
        let at = (Day::from_ymd(2026, 11, 27).0 as i64 * 86_400 + 17 * 3600) * 1000;
        let n = Now::from_offset(at, 7 * 3600);
        assert_eq!(n.day, Day::from_ymd(2026, 11, 28));
        assert_eq!(n.minute, 0);
        let before = Now::from_offset(at - 1, 7 * 3600);
        assert_eq!(before.day, Day::from_ymd(2026, 11, 27));
        assert_eq!(before.minute, 1439);
    }
}
