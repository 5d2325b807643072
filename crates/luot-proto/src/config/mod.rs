//! The center configuration file (TOML): its format, its validation and its export.
//!
//! `parse_config` reads a file in two steps. First serde reads it into "raw" structs that keep the
//! source position of every code, reference and time string (`toml::Spanned`) and reject unknown
//! keys, so a typo is an error and not a silently ignored setting. Then a validator walks the raw
//! structs, collects **every** semantic error with its `file:line:column`, and only when there is
//! none builds the core's [`SiteConfig`]s (minutes become seconds or minutes of the day, dates
//! become [`Day`]s). The format itself is documented at the top of `config/default.toml`.
//!
//! `to_toml` writes a configuration back in the same format; `parse_config(to_toml(c)) == c`.
//!
//! The module's parts: [`raw`] is the file as serde reads it, `check` turns it into the checked
//! configuration, `values` checks single values (times, dates, addresses, URLs), `error` holds the
//! error types and says the TOML reader's messages in Vietnamese, `write` writes a configuration
//! back out.

mod check;
mod error;
mod raw;
mod values;
mod write;

use std::collections::HashMap;

use luot_core::{Code, Minute, SiteConfig, Text, WeekHours};

use check::Checker;
use error::toml_error_vi;
use raw::RawFile;

pub use error::{ConfigError, ConfigErrors};
pub use values::check_public_url;
pub use write::to_toml;

#[cfg(test)]
use luot_core::Day;
#[cfg(test)]
use values::{looks_like_iana, parse_clock, parse_date, parse_range};

/// The default center (Sa Huỳnh), embedded in the binary. Always valid: a unit test proves it.
pub const DEFAULT_CONFIG_TOML: &str = include_str!("../../../../config/default.toml");

/// Time zone of a site that names none.
pub const DEFAULT_TIME_ZONE: &str = "Asia/Ho_Chi_Minh";

/// Largest configuration file accepted, in bytes (a thousand services with keywords fit easily).
pub const CONFIG_LEN_MAX: usize = 4 * 1024 * 1024;
/// Most sites one server hosts.
pub const SITES_MAX: usize = 32;
/// Most priority categories of a site.
pub const PRIORITIES_MAX: usize = 16;
/// Most holidays listed for a site (several years' worth).
pub const HOLIDAYS_MAX: usize = 400;
/// Most search keywords of one service, and the longest keyword in bytes.
pub const KEYWORDS_PER_SERVICE_MAX: usize = 32;
pub const KEYWORD_LEN_MAX: usize = 100;
/// Longest name (site, department, service, counter, category, rating label), in bytes.
pub const NAME_LEN_MAX: usize = 200;
/// Earlier calls the hall display's strip keeps when the configuration does not say.
pub const RECENT_CALLS_SHOWN_DEFAULT: u8 = 6;

/// Longest hall display notice and announcement template, in bytes.
pub const NOTICE_LEN_MAX: usize = 1000;
pub const ANNOUNCEMENT_LEN_MAX: usize = 300;
/// Most reasons offered for a low rating.
pub const LOW_SCORE_REASONS_MAX: usize = 10;
/// Most extra websocket origins.
pub const ORIGINS_MAX: usize = 32;
/// Most network ticket printers one server drives.
pub const PRINTERS_MAX: usize = 32;
/// Raster width of an ESC/POS printer, in dots: 384 is 58 mm paper, 576 is 80 mm, both at
/// 203 dpi; a few 80 mm printers print 640. Always a multiple of 8 (one byte is 8 dots).
pub const PAPER_WIDTH_DOTS_MIN: i64 = 256;
pub const PAPER_WIDTH_DOTS_MAX: i64 = 832;
pub const PAPER_WIDTH_DOTS_DEFAULT: u16 = 576;
/// How long the server waits for a printer (connect, status, send), in milliseconds.
pub const PRINTER_TIMEOUT_MS_MIN: i64 = 100;
pub const PRINTER_TIMEOUT_MS_MAX: i64 = 30_000;
pub const PRINTER_TIMEOUT_MS_DEFAULT: u32 = 3_000;
/// Longest printer address (`host:port`) and kiosk name, in bytes.
pub const PRINTER_ADDRESS_LEN_MAX: usize = 253 + 6;
pub const KIOSK_NAME_LEN_MAX: usize = 100;
/// Most days a daily backup is kept (`[backup] days_kept`): ten years.
pub const BACKUP_DAYS_KEPT_MAX: i64 = 3_650;
/// Days a daily backup is kept when `days_kept` is not given.
pub const BACKUP_DAYS_KEPT_DEFAULT: u32 = 14;
/// The backup folder when `folder` is not given (relative to the data folder).
pub const BACKUP_FOLDER_DEFAULT: &str = "backups";
/// Longest backup folder path, in bytes.
pub const BACKUP_FOLDER_LEN_MAX: usize = 1_024;
/// Highest counter number ("quầy số 999").
pub const COUNTER_NUMBER_MAX: u16 = 999;
/// Highest weight of a service at a counter.
pub const WEIGHT_MAX: u32 = 100;
/// Placeholders an announcement template may use.
pub const ANNOUNCEMENT_PLACEHOLDERS: [&str; 2] = ["ticket", "counter"];

// ----- the validated configuration -----

/// A whole configuration file: server-wide settings and one or more sites.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CenterConfig {
    /// Base URL printed in QR codes, e.g. `http://192.168.1.10:8080` (no trailing slash). `None`:
    /// the server derives it from the address it listens on.
    pub public_url: Option<String>,
    /// Extra origins allowed to open websockets (`scheme://host[:port]`), besides `public_url`.
    pub allowed_origins: Vec<String>,
    pub sites: Vec<SiteSettings>,
    /// ESC/POS network printers the server prints kiosk tickets on (`[[printer]]`).
    pub printers: Vec<PrinterSettings>,
    /// The daily backup the server takes (`[backup]`); `None`: no daily backup.
    pub backup: Option<BackupSettings>,
}

/// The daily backup (`[backup]`): an archive of the data folder at `time` each day, in the first
/// site's time zone, kept `days_kept` days.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupSettings {
    /// Minute of the day, 00:00 to 23:59.
    pub time: Minute,
    /// Where archives go; a relative path is inside the data folder.
    pub folder: String,
    pub days_kept: u32,
}

/// A receipt printer on the network (raw TCP, usually port 9100), bound to one kiosk: tickets
/// that kiosk issues are printed here by the server, as a raster image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrinterSettings {
    /// Its code, shown in `/healthz`, `/metrics` and on the kiosk.
    pub name: Code,
    pub site: Code,
    /// The paired kiosk device's name (as in `luot device add kiosk NAME`).
    pub kiosk: String,
    /// `host:port`; port 9100 when omitted.
    pub address: String,
    pub paper_width_dots: u16,
    pub timeout_ms: u32,
}

impl CenterConfig {
    pub fn site(&self, code: Code) -> Option<&SiteSettings> {
        self.sites.iter().find(|s| s.core.code == code)
    }
}

/// One site: what the core needs plus what the server and the clients need around it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteSettings {
    pub core: SiteConfig,
    /// IANA name, e.g. `Asia/Ho_Chi_Minh`. Only its shape is checked here; the server checks it
    /// against the time zone database.
    pub time_zone: String,
    /// The site's own opening hours (`[site.hours]`), the default of every service. Each service
    /// in `core` carries its effective hours; these are for the display ("open 07:00–17:00").
    pub hours: WeekHours,
    pub rating: RatingScale,
    pub announcement: Announcement,
    /// The scrolling line of the hall display. May be empty.
    pub notice: Text,
    /// How many earlier calls the hall display's "recent calls" strip keeps
    /// (1..=[`crate::RECENT_CALLS_MAX`], default [`RECENT_CALLS_SHOWN_DEFAULT`]).
    pub recent_calls: u8,
    /// Extra search words per service (only services that have some).
    pub service_keywords: HashMap<Code, Vec<String>>,
}

/// The satisfaction scale: `labels[0]` is level 1, the best. `labels.len()` equals
/// `core.policy.rating_levels`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RatingScale {
    pub labels: Vec<Text>,
    /// Offered to a citizen who gives a low score. May be empty.
    pub low_score_reasons: Vec<Text>,
}

/// What the hall says when a ticket is called, in each language, `repeat` times.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Announcement {
    pub vi: String,
    pub en: String,
    pub repeat: u8,
}

impl Announcement {
    /// Fills `{ticket}` and `{counter}` in a template.
    pub fn fill(template: &str, ticket: &str, counter: &str) -> String {
        template
            .replace("{ticket}", ticket)
            .replace("{counter}", counter)
    }
}

/// The standard satisfaction labels for a scale of `levels` (3 to 5), best first.
pub fn default_rating_labels(levels: u8) -> Vec<Text> {
    let all = [
        ("Rất hài lòng", "Very satisfied"),
        ("Hài lòng", "Satisfied"),
        ("Bình thường", "Neutral"),
        ("Không hài lòng", "Dissatisfied"),
        ("Rất không hài lòng", "Very dissatisfied"),
    ];
    let pick: &[usize] = match levels {
        3 => &[1, 2, 3],
        5 => &[0, 1, 2, 3, 4],
        _ => &[0, 1, 2, 3],
    };
    pick.iter()
        .map(|&i| Text::new(all[i].0, all[i].1))
        .collect()
}

/// The reasons offered for a low score when the file names none.
pub fn default_low_score_reasons() -> Vec<Text> {
    [
        ("Chờ lâu", "Long wait"),
        ("Thái độ chưa tốt", "Unfriendly attitude"),
        ("Hướng dẫn chưa rõ", "Unclear guidance"),
        ("Thủ tục phức tạp", "Complicated procedure"),
        ("Khác", "Other"),
    ]
    .iter()
    .map(|(vi, en)| Text::new(*vi, *en))
    .collect()
}

impl Default for Announcement {
    fn default() -> Announcement {
        Announcement {
            vi: "Mời công dân có số thứ tự {ticket} đến quầy số {counter}".into(),
            en: "Ticket {ticket}, please go to counter {counter}".into(),
            repeat: 2,
        }
    }
}

/// The default center. Panics only if `config/default.toml` is broken, which a test forbids.
pub fn default_config() -> CenterConfig {
    match parse_config(DEFAULT_CONFIG_TOML, "default.toml") {
        Ok(c) => c,
        Err(e) => panic!("the embedded default configuration is invalid:\n{e}"),
    }
}

// ----- parsing -----

/// Reads and validates a configuration file. `file_name` is only used in error messages.
pub fn parse_config(source: &str, file_name: &str) -> Result<CenterConfig, ConfigErrors> {
    // Editors on Windows like to start UTF-8 files with a byte order mark.
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    // Names typed with combining marks are read in NFC (text.rs); errors then point into the
    // normalised text, whose lines are the file's.
    let source = &*crate::text::nfc(source);
    let mut cx = Checker::new(source, file_name);
    if source.len() > CONFIG_LEN_MAX {
        cx.err(
            0..0,
            format!(
                "tệp có {} byte; cấu hình chỉ được tối đa {CONFIG_LEN_MAX} byte",
                source.len()
            ),
            format!(
                "the file has {} bytes; a configuration may have at most {CONFIG_LEN_MAX}",
                source.len()
            ),
        );
        return Err(cx.finish());
    }
    let raw: RawFile = match toml::from_str(source) {
        Ok(raw) => raw,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            let mut message = e
                .message()
                .trim()
                .replace('\n', "; ")
                .replace("expected i64", "expected a whole number");
            let at = source.get(span.start..).unwrap_or("");
            if message.contains("expected a sequence")
                && at.starts_with('[')
                && !at.starts_with("[[")
            {
                message.push_str(
                    "; a list of tables is written with double brackets: [[site]], [[site.service]], …",
                );
            }
            cx.err(span, toml_error_vi(&message), message);
            return Err(cx.finish());
        }
    };
    let cfg = cx.file(&raw);
    if cx.errors.is_empty() {
        Ok(cfg)
    } else {
        Err(cx.finish())
    }
}

fn default_counter_name(number: u16) -> Text {
    Text::new(format!("Quầy {number}"), format!("Counter {number}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_default_configuration_is_valid() {
        if let Err(e) = parse_config(DEFAULT_CONFIG_TOML, "default.toml") {
            panic!("config/default.toml is invalid:\n{e}");
        }
        let cfg = default_config();
        assert_eq!(cfg.sites.len(), 1);
        assert_eq!(parse_config(&to_toml(&cfg), "export.toml"), Ok(cfg));
    }

    #[test]
    fn clocks_ranges_and_dates() {
        assert_eq!(parse_clock("07:30"), Ok(450));
        assert_eq!(parse_clock("24:00"), Ok(1440));
        assert!(parse_clock("24:01").is_err());
        assert!(parse_clock("7:30").is_err());
        assert!(parse_clock("07:60").is_err());
        assert_eq!(parse_range("07:00 - 11:30"), Ok((420, 690)));
        assert!(parse_range("11:30-07:00").is_err());
        assert!(parse_range("24:00-24:00").is_err());
        assert_eq!(parse_date("2028-02-29"), Some(Day::from_ymd(2028, 2, 29)));
        assert_eq!(parse_date("2026-02-29"), None);
        assert_eq!(parse_date("2026-2-1"), None);
        assert_eq!(parse_date("2026-+2-01"), None);
    }

    #[test]
    fn time_zone_shapes() {
        assert!(looks_like_iana("Asia/Ho_Chi_Minh"));
        assert!(looks_like_iana("America/Argentina/Buenos_Aires"));
        assert!(looks_like_iana("Etc/GMT-7"));
        assert!(looks_like_iana("UTC"));
        assert!(!looks_like_iana("Vietnam"));
        assert!(!looks_like_iana("asia/ho_chi_minh"));
        assert!(!looks_like_iana("Asia/"));
        assert!(!looks_like_iana("UTC+7"));
    }

    #[test]
    fn announcements_fill_their_placeholders() {
        let a = Announcement::default();
        assert_eq!(
            Announcement::fill(&a.vi, "B017", "4"),
            "Mời công dân có số thứ tự B017 đến quầy số 4"
        );
    }
}
