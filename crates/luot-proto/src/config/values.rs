//! Checks of single values: times, opening-hour ranges, dates, time zone names, printer
//! addresses and URLs. They say what is wrong in English; the checker says it in Vietnamese too
//! (`error::vi_fragments`).

use std::ops::Range;

use luot_core::time::MINUTES_PER_DAY;
use luot_core::{Day, Minute};

use super::PRINTER_ADDRESS_LEN_MAX;

/// `HH:MM`, 00:00 to 24:00.
pub(super) fn parse_clock(s: &str) -> Result<Minute, String> {
    let b = s.as_bytes();
    let digits_ok =
        b.len() == 5 && b[2] == b':' && [0, 1, 3, 4].iter().all(|&i| b[i].is_ascii_digit());
    if !digits_ok {
        return Err("write times as HH:MM, e.g. 07:30".into());
    }
    let h = ((b[0] - b'0') * 10 + (b[1] - b'0')) as Minute;
    let m = ((b[3] - b'0') * 10 + (b[4] - b'0')) as Minute;
    if m > 59 || h * 60 + m > MINUTES_PER_DAY {
        return Err(format!("time {s} is not between 00:00 and 24:00"));
    }
    Ok(h * 60 + m)
}

/// `HH:MM-HH:MM` with start < end.
pub(super) fn parse_range(s: &str) -> Result<(Minute, Minute), String> {
    let Some((a, b)) = s.split_once('-') else {
        return Err("write opening hours as HH:MM-HH:MM, e.g. \"07:00-11:30\"".into());
    };
    let start = parse_clock(a.trim())?;
    let end = parse_clock(b.trim())?;
    if start == MINUTES_PER_DAY {
        return Err("a range cannot start at 24:00".into());
    }
    if start >= end {
        return Err("the start must be before the end".into());
    }
    Ok((start, end))
}

pub(super) fn format_clock(m: Minute) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

/// `YYYY-MM-DD`, a real date between 1970 and 2200.
pub(super) fn parse_date(s: &str) -> Option<Day> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: Range<usize>| -> Option<u32> {
        let t = &s[r];
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1970..=2200).contains(&y) || !(1..=12).contains(&m) {
        return None;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    (1..=days)
        .contains(&d)
        .then(|| Day::from_ymd(y as i32, m, d))
}

/// `Area/Location` (or `UTC`): segments of ASCII letters, digits, `_`, `-`, `+`, each starting
/// with an uppercase letter, as in the tz database.
pub(super) fn looks_like_iana(s: &str) -> bool {
    if s == "UTC" {
        return true;
    }
    let parts: Vec<&str> = s.split('/').collect();
    parts.len() >= 2
        && s.len() <= 64
        && parts.iter().all(|p| {
            p.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+'))
        })
}

/// `host[:port]` of a raw-TCP printer, with the port filled in (9100). IPv6 as `[::1]:9100`.
pub(super) fn check_printer_address(s: &str) -> Result<String, &'static str> {
    let s = s.trim();
    if s.is_empty() || s.len() > PRINTER_ADDRESS_LEN_MAX {
        return Err("it must be host:port, e.g. \"192.168.1.50:9100\"");
    }
    if s.contains("://") || s.contains('/') {
        return Err("write host:port only, without a scheme or path, e.g. \"192.168.1.50:9100\"");
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("it may not contain spaces");
    }
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest
            .split_once(']')
            .ok_or("an IPv6 address needs its closing ]")?;
        match after {
            "" => (h, None),
            p => (
                h,
                Some(p.strip_prefix(':').ok_or("expected :port after ]")?),
            ),
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, Some(p)),
            Some(_) => return Err("write an IPv6 address in brackets: [::1]:9100"),
            None => (s, None),
        }
    };
    if host.is_empty() {
        return Err("it has no host name");
    }
    let port = match port {
        None => 9100,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => n,
            _ => return Err("the port must be a number from 1 to 65535"),
        },
    };
    Ok(if s.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    })
}

/// Checks a public URL (the configuration's `public_url`, `luot serve --public-url`): the base of
/// every link and QR code, so `http://` or `https://`, a host, an optional port and nothing after
/// it (the web pages live at the server's root, so a path would break every link). A trailing
/// slash is dropped. Returns the URL as it will be used.
pub fn check_public_url(s: &str) -> Result<String, &'static str> {
    let url = s.trim().trim_end_matches('/');
    check_url(url, true).map_err(|e| {
        if e.starts_with("an origin") {
            "a public URL is scheme://host[:port], without a path: the pages live at the server's root"
        } else {
            e
        }
    })?;
    Ok(url.to_owned())
}

/// `http(s)://host[:port]`, optionally with a path unless `origin_only`.
pub(super) fn check_url(s: &str, origin_only: bool) -> Result<(), &'static str> {
    let rest = s
        .strip_prefix("http://")
        .or_else(|| s.strip_prefix("https://"))
        .ok_or("it must start with http:// or https://")?;
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("it may not contain spaces");
    }
    if s.contains(['?', '#']) {
        return Err("it may not contain a query (?) or a fragment (#)");
    }
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') {
        return Err("it has no host name");
    }
    if host.contains('@') {
        return Err("it may not contain a user name or password (@)");
    }
    // The port, after the last ':' that is not inside an IPv6 address's brackets.
    let port = match host.rfind(':') {
        Some(i) if !host[i..].contains(']') => Some(&host[i + 1..]),
        _ => None,
    };
    if port.is_some_and(|p| p.parse::<u16>().map_or(true, |p| p == 0)) {
        return Err("its port must be a number from 1 to 65535");
    }
    if origin_only && host.len() != rest.len() {
        return Err("an origin is scheme://host[:port], without a path or a trailing slash");
    }
    Ok(())
}
