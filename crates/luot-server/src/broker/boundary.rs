//! When the next session boundary of a site is: the broker sleeps towards it and tells every
//! socket at it (ARCHITECTURE.md invariant 11).

use luot_core::Now;

/// The first minute after `now.minute` today at which a service of `cfg` opens or closes, or
/// kiosk intake closes (`policy.intake_close`); midnight (1440) when none is left today.
pub fn next_boundary_minute(cfg: &luot_core::SiteConfig, now: &Now) -> luot_core::Minute {
    let weekday = now.day.weekday() as usize;
    cfg.services
        .iter()
        .flat_map(|s| s.hours.days[weekday].iter().flat_map(|&(a, b)| [a, b]))
        .chain(cfg.policy.intake_close.iter().copied())
        .filter(|&m| m > now.minute)
        .min()
        .unwrap_or(luot_core::time::MINUTES_PER_DAY)
}

#[cfg(test)]
mod tests {
    use super::*;
    use luot_core::Day;

    fn at(day: Day, h: u16, m: u16) -> Now {
        Now {
            at_ms: 0,
            day,
            minute: h * 60 + m,
        }
    }

    /// Every opening, lunch, reopening, closing and `intake_close` of the default center is a
    /// boundary; a Sunday (closed) has none left but midnight.
    #[test]
    fn boundaries_are_the_hours_and_intake_close_times_of_the_day() {
        let toml = luot_proto::config::DEFAULT_CONFIG_TOML.replacen(
            "# intake_close = \"16:45\"",
            "intake_close = [\"11:15\", \"16:45\"]",
            1,
        );
        let center = luot_proto::config::parse_config(&toml, "default.toml").unwrap();
        let cfg = &center.sites[0].core;
        let monday = Day::from_ymd(2026, 11, 30);
        let walk: Vec<u16> = std::iter::successors(Some(at(monday, 0, 0)), |n| {
            let m = next_boundary_minute(cfg, n);
            (m < luot_core::time::MINUTES_PER_DAY).then(|| at(monday, m / 60, m % 60))
        })
        .skip(1)
        .map(|n| n.minute)
        .collect();
        let hm = |h: u16, m: u16| h * 60 + m;
        assert_eq!(
            walk,
            [
                hm(7, 0),
                hm(11, 15),
                hm(11, 30),
                hm(13, 30),
                hm(16, 45),
                hm(17, 0)
            ]
        );
        // 11:29:59 is in minute 11:29: the next boundary is 11:30, not 11:29.
        assert_eq!(next_boundary_minute(cfg, &at(monday, 11, 29)), hm(11, 30));
        let sunday = Day::from_ymd(2026, 12, 6);
        assert_eq!(
            next_boundary_minute(cfg, &at(sunday, 9, 0)),
            hm(11, 15),
            "intake_close counts on any day"
        );
        assert_eq!(
            next_boundary_minute(cfg, &at(sunday, 17, 0)),
            luot_core::time::MINUTES_PER_DAY
        );
    }
}
