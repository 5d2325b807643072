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

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fmt::Write as _;
use std::ops::Range;

use luot_core::config::limits;
use luot_core::time::MINUTES_PER_DAY;
use luot_core::{
    Code, Counter, CounterService, Day, Department, Minute, Policy, Prefix, PriorityCategory,
    Service, SiteConfig, Text, WeekHours,
};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use toml::Spanned;

/// The default center (Sa Huỳnh), embedded in the binary. Always valid: a unit test proves it.
pub const DEFAULT_CONFIG_TOML: &str = include_str!("../../../config/default.toml");

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

// ----- errors -----

/// One problem in a configuration file, at a 1-based line and column (counted in characters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: u32,
    pub column: u32,
    /// In English.
    pub message: String,
    /// The same in Vietnamese (a part quoted from the TOML parser or a value's own check may stay
    /// in English inside it).
    pub message_vi: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {} ({})",
            self.file, self.line, self.column, self.message_vi, self.message
        )
    }
}

/// Every problem found in a configuration file, in file order. Never empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigErrors {
    pub errors: Vec<ConfigError>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

// ----- the raw file, as serde reads it -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    public_url: Option<Spanned<String>>,
    #[serde(default)]
    allowed_origins: Vec<Spanned<String>>,
    #[serde(default)]
    site: Vec<RawSite>,
    #[serde(default)]
    printer: Vec<RawPrinter>,
    backup: Option<Spanned<RawBackup>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBackup {
    time: Spanned<String>,
    folder: Option<Spanned<String>>,
    days_kept: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrinter {
    name: Spanned<String>,
    site: Option<Spanned<String>>,
    kiosk: Spanned<String>,
    address: Spanned<String>,
    paper_width_dots: Option<Spanned<i64>>,
    timeout_ms: Option<Spanned<i64>>,
}

/// `intake_close`: one time, or one per session.
#[derive(Deserialize)]
#[serde(
    untagged,
    expecting = "a time \"HH:MM\" or a list of times, one per session, e.g. [\"11:15\", \"16:45\"]"
)]
enum RawClocks {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSite {
    code: Spanned<String>,
    name: Spanned<RawText>,
    time_zone: Option<Spanned<String>>,
    #[serde(default)]
    holidays: Vec<Spanned<String>>,
    notice: Option<Spanned<RawText>>,
    recent_calls: Option<Spanned<i64>>,
    intake_close: Option<Spanned<RawClocks>>,
    hours: Option<RawHours>,
    #[serde(default)]
    policy: RawPolicy,
    #[serde(default)]
    rating: RawRating,
    #[serde(default)]
    announcement: RawAnnouncement,
    #[serde(default)]
    priority: Vec<RawPriority>,
    #[serde(default)]
    department: Vec<RawDepartment>,
    #[serde(default)]
    service: Vec<RawService>,
    #[serde(default)]
    counter: Vec<RawCounter>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a text in both languages: { vi = \"…\", en = \"…\" }"
)]
struct RawText {
    vi: String,
    en: String,
}

#[derive(Deserialize, Default)]
#[serde(
    deny_unknown_fields,
    expecting = "opening hours: { mon = [\"07:00-11:30\", \"13:30-17:00\"], … }"
)]
struct RawHours {
    #[serde(default)]
    mon: Vec<Spanned<String>>,
    #[serde(default)]
    tue: Vec<Spanned<String>>,
    #[serde(default)]
    wed: Vec<Spanned<String>>,
    #[serde(default)]
    thu: Vec<Spanned<String>>,
    #[serde(default)]
    fri: Vec<Spanned<String>>,
    #[serde(default)]
    sat: Vec<Spanned<String>>,
    #[serde(default)]
    sun: Vec<Spanned<String>>,
}

const DAY_KEYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl RawHours {
    fn days(&self) -> [&[Spanned<String>]; 7] {
        [
            &self.mon, &self.tue, &self.wed, &self.thu, &self.fri, &self.sat, &self.sun,
        ]
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    normal_per_priority: Option<Spanned<i64>>,
    max_wait_min: Option<Spanned<i64>>,
    appointment_early_min: Option<Spanned<i64>>,
    no_show_return_min: Option<Spanned<i64>>,
    recall_max: Option<Spanned<i64>>,
    console_absent_s: Option<Spanned<i64>>,
    wait_target_min: Option<Spanned<i64>>,
    rating_window_min: Option<Spanned<i64>>,
    rating_levels: Option<Spanned<i64>>,
    tickets_per_day_max: Option<Spanned<i64>>,
    waiting_max: Option<Spanned<i64>>,
    per_person_day_max: Option<Spanned<i64>>,
    per_person_department_max: Option<Spanned<i64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRating {
    labels: Option<Spanned<Vec<Spanned<RawText>>>>,
    low_score_reasons: Option<Spanned<Vec<Spanned<RawText>>>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAnnouncement {
    vi: Option<Spanned<String>>,
    en: Option<Spanned<String>>,
    repeat: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPriority {
    code: Spanned<String>,
    name: Spanned<RawText>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDepartment {
    code: Spanned<String>,
    prefix: Spanned<String>,
    name: Spanned<RawText>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    code: Spanned<String>,
    department: Spanned<String>,
    name: Spanned<RawText>,
    expected_service_min: Option<Spanned<i64>>,
    daily_cap: Option<Spanned<i64>>,
    #[serde(default)]
    carry_over: bool,
    prefix: Option<Spanned<String>>,
    hours: Option<Spanned<RawHours>>,
    #[serde(default)]
    keywords: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCounter {
    code: Spanned<String>,
    number: Spanned<i64>,
    name: Option<Spanned<RawText>>,
    #[serde(default)]
    services: Vec<Spanned<RawServe>>,
    #[serde(default)]
    departments: Vec<Spanned<String>>,
    #[serde(default)]
    priority_first: bool,
}

/// One entry of a counter's `services`: `"khai-sinh"` or `{ service = "ket-hon", weight = 2 }`.
/// Deserialized by hand: an untagged enum would lose the source positions.
enum RawServe {
    Code(String),
    Table {
        service: Spanned<String>,
        weight: Option<Spanned<i64>>,
    },
}

impl<'de> Deserialize<'de> for RawServe {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RawServe, D::Error> {
        struct ServeVisitor;
        impl<'de> Visitor<'de> for ServeVisitor {
            type Value = RawServe;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a service code or a table { service = \"khai-sinh\", weight = 2 }")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawServe, E> {
                Ok(RawServe::Code(v.to_owned()))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawServe, A::Error> {
                const FIELDS: &[&str] = &["service", "weight"];
                let mut service = None;
                let mut weight = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "service" if service.is_none() => service = Some(map.next_value()?),
                        "weight" if weight.is_none() => weight = Some(map.next_value()?),
                        "service" | "weight" => {
                            return Err(de::Error::custom(format!("duplicate key `{key}`")));
                        }
                        other => return Err(de::Error::unknown_field(other, FIELDS)),
                    }
                }
                let service = service.ok_or_else(|| de::Error::missing_field("service"))?;
                Ok(RawServe::Table { service, weight })
            }
        }
        d.deserialize_any(ServeVisitor)
    }
}

// ----- parsing and validation -----

/// The TOML reader's message (English) said in Vietnamese: the common ones in full, the rest
/// after a Vietnamese lead.
fn toml_error_vi(en: &str) -> String {
    let list = |rest: &str| rest.replace(", expected one of ", "; các khóa dùng được: ");
    if let Some(rest) = en.strip_prefix("unknown field ") {
        return format!("khóa {} không có ở đây", list(rest));
    }
    if let Some(rest) = en.strip_prefix("missing field ") {
        return format!("thiếu khóa {rest}");
    }
    if let Some(rest) = en.strip_prefix("duplicate key") {
        return format!("khóa bị ghi hai lần{rest}");
    }
    if let Some(rest) = en.strip_prefix("invalid type: ") {
        let said = [
            ("expected a whole number", "cần một số nguyên"),
            (", expected ", ", cần "),
            ("string ", "chữ "),
            ("a string", "chữ (trong ngoặc kép)"),
            ("integer ", "số nguyên "),
            ("boolean ", "giá trị đúng/sai "),
            ("a boolean", "true hoặc false"),
            ("a sequence", "một danh sách [...]"),
            ("a map", "một bảng"),
        ]
        .iter()
        .fold(rest.to_string(), |s, (en, vi)| s.replace(en, vi));
        return format!("sai kiểu giá trị: {said}");
    }
    let mut vi = format!("lỗi cú pháp TOML: {en}");
    if en.contains("double brackets") {
        vi.push_str(" (danh sách bảng viết bằng hai dấu ngoặc vuông)");
    }
    vi
}

/// The checks of single values (times, URLs, codes, addresses) say what is wrong in English; a
/// Vietnamese message quoting one says it in Vietnamese, by these fragments.
const FRAGMENTS_VI: &[(&str, &str)] = &[
    (
        "write times as HH:MM, e.g. 07:30",
        "ghi giờ theo dạng HH:MM, ví dụ 07:30",
    ),
    (
        " is not between 00:00 and 24:00",
        " không nằm trong khoảng 00:00 đến 24:00",
    ),
    (
        "write opening hours as HH:MM-HH:MM, e.g.",
        "ghi giờ làm việc theo dạng HH:MM-HH:MM, ví dụ",
    ),
    (
        "a range cannot start at 24:00",
        "một khoảng giờ không thể bắt đầu lúc 24:00",
    ),
    (
        "the start must be before the end",
        "giờ bắt đầu phải trước giờ kết thúc",
    ),
    ("it must be host:port, e.g.", "phải có dạng máy:cổng, ví dụ"),
    (
        "write host:port only, without a scheme or path, e.g.",
        "chỉ ghi máy:cổng, không có giao thức hay đường dẫn, ví dụ",
    ),
    ("it may not contain spaces", "không được có dấu cách"),
    (
        "an IPv6 address needs its closing ]",
        "địa chỉ IPv6 thiếu dấu ] đóng",
    ),
    ("expected :port after ]", "cần :cổng sau dấu ]"),
    (
        "write an IPv6 address in brackets:",
        "ghi địa chỉ IPv6 trong ngoặc vuông:",
    ),
    ("it has no host name", "không có tên máy"),
    (
        "a public URL is scheme://host[:port], without a path: the pages live at the server's root",
        "địa chỉ công khai có dạng giao_thức://máy[:cổng], không có đường dẫn: các trang nằm ở gốc máy chủ",
    ),
    (
        "it must start with http:// or https://",
        "phải bắt đầu bằng http:// hoặc https://",
    ),
    (
        "it may not contain a query (?) or a fragment (#)",
        "không được có phần truy vấn (?) hay phân đoạn (#)",
    ),
    (
        "it may not contain a user name or password (@)",
        "không được có tên người dùng hay mật khẩu (@)",
    ),
    (
        "its port must be a number from 1 to 65535",
        "cổng phải là số từ 1 đến 65535",
    ),
    (
        "an origin is scheme://host[:port], without a path or a trailing slash",
        "một nguồn (origin) có dạng giao_thức://máy[:cổng], không có đường dẫn hay dấu / ở cuối",
    ),
    ("a code may not be empty", "mã không được để trống"),
    ("a code has at most", "mã có tối đa"),
    (" characters, this one has ", " ký tự, mã này có "),
    (
        "a code may use only ASCII letters, digits and . _ - @ (found",
        "mã chỉ được dùng chữ cái không dấu, chữ số và . _ - @ (có",
    ),
    (": time ", ": giờ "),
];

fn vi_fragments(mut vi: String) -> String {
    for (en, v) in FRAGMENTS_VI {
        if vi.contains(en) {
            vi = vi.replace(en, v);
        }
    }
    vi
}

/// What a message is about, in Vietnamese and English: ("thủ tục", "service").
type What<'w> = (&'w str, &'w str);

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

struct Checker<'a> {
    src: &'a str,
    file: &'a str,
    line_starts: Vec<usize>,
    /// (offset, Vietnamese, English).
    errors: Vec<(usize, String, String)>,
}

/// The codes a site declares, by kind, with where each was first declared. Reference checks use
/// these (and not the built core structs) so that one broken service does not also make every
/// counter that names it "unknown".
#[derive(Default)]
struct Declared {
    departments: HashMap<String, Range<usize>>,
    services: HashMap<String, Range<usize>>,
}

impl<'a> Checker<'a> {
    fn new(src: &'a str, file: &'a str) -> Checker<'a> {
        let mut line_starts = vec![0];
        line_starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        Checker {
            src,
            file,
            line_starts,
            errors: Vec::new(),
        }
    }

    fn err(&mut self, span: Range<usize>, vi: impl Into<String>, en: impl Into<String>) {
        let vi = vi_fragments(vi.into());
        self.errors.push((span.start, vi, en.into()));
    }

    fn position(&self, offset: usize) -> (u32, u32) {
        let mut offset = offset.min(self.src.len());
        while !self.src.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self.line_starts[line - 1];
        let column = self.src[start..offset].chars().count() + 1;
        (line as u32, column as u32)
    }

    fn line_of(&self, span: &Range<usize>) -> u32 {
        self.position(span.start).0
    }

    fn finish(mut self) -> ConfigErrors {
        self.errors.sort_by_key(|(offset, _, _)| *offset);
        self.errors.dedup();
        let errors = self
            .errors
            .iter()
            .map(|(offset, vi, en)| {
                let (line, column) = self.position(*offset);
                ConfigError {
                    file: self.file.to_owned(),
                    line,
                    column,
                    message: en.clone(),
                    message_vi: vi.clone(),
                }
            })
            .collect();
        ConfigErrors { errors }
    }

    // ----- small checks -----

    fn code(&mut self, s: &Spanned<String>, (what_vi, what): What<'_>) -> Option<Code> {
        match Code::new(s.get_ref()) {
            Ok(c) => Some(c),
            Err(e) => {
                self.err(
                    s.span(),
                    format!("Mã {what_vi} {:?}: {e}", s.get_ref()),
                    format!("{what} code {:?}: {e}", s.get_ref()),
                );
                None
            }
        }
    }

    fn text(&mut self, t: &Spanned<RawText>, (what_vi, what): What<'_>, max_len: usize) -> Text {
        let raw = t.get_ref();
        for (lang_vi, lang, value) in [
            ("tiếng Việt (vi)", "Vietnamese (vi)", &raw.vi),
            ("tiếng Anh (en)", "English (en)", &raw.en),
        ] {
            if value.trim().is_empty() {
                self.err(
                    t.span(),
                    format!("{what_vi} chưa có chữ {lang_vi}"),
                    format!("{what} has no {lang} text"),
                );
            } else if value.len() > max_len {
                self.err(
                    t.span(),
                    format!("{what_vi}: chữ {lang_vi} dài quá {max_len} byte"),
                    format!("{what}: the {lang} text is longer than {max_len} bytes"),
                );
            }
        }
        Text::new(raw.vi.trim(), raw.en.trim())
    }

    fn int(&mut self, v: &Option<Spanned<i64>>, name: &str, lo: i64, hi: i64) -> Option<i64> {
        let v = v.as_ref()?;
        let n = *v.get_ref();
        if (lo..=hi).contains(&n) {
            Some(n)
        } else {
            self.err(
                v.span(),
                format!("{name} = {n} nằm ngoài khoảng cho phép: phải từ {lo} đến {hi}"),
                format!("{name} = {n} is out of range: it must be between {lo} and {hi}"),
            );
            None
        }
    }

    /// The `intake_close` times, sorted: each must be a valid `HH:MM`, none twice, at most
    /// `limits::INTAKE_CLOSES_MAX`.
    fn clock(&mut self, s: &Spanned<String>, (what_vi, what): What<'_>) -> Option<Minute> {
        match parse_clock(s.get_ref().trim()) {
            Ok(m) => Some(m),
            Err(e) => {
                self.err(
                    s.span(),
                    format!("{what_vi} {:?}: {e}", s.get_ref()),
                    format!("{what} {:?}: {e}", s.get_ref()),
                );
                None
            }
        }
    }

    fn intake_close(&mut self, raw: Option<&Spanned<RawClocks>>) -> Vec<Minute> {
        let Some(raw) = raw else { return Vec::new() };
        let list: Vec<&String> = match raw.get_ref() {
            RawClocks::One(s) => vec![s],
            RawClocks::Many(v) => v.iter().collect(),
        };
        if list.len() > limits::INTAKE_CLOSES_MAX {
            self.err(
                raw.span(),
                format!(
                    "intake_close có {} giờ: tối đa {}",
                    list.len(),
                    limits::INTAKE_CLOSES_MAX
                ),
                format!(
                    "intake_close has {} times: at most {}",
                    list.len(),
                    limits::INTAKE_CLOSES_MAX
                ),
            );
            return Vec::new();
        }
        let mut out = Vec::with_capacity(list.len());
        for s in list {
            match parse_clock(s.trim()) {
                Ok(m) if out.contains(&m) => {
                    self.err(
                        raw.span(),
                        format!("intake_close {s:?} được ghi hai lần"),
                        format!("intake_close {s:?} is given twice"),
                    );
                }
                Ok(m) => out.push(m),
                Err(e) => self.err(
                    raw.span(),
                    format!("intake_close {s:?}: {e}"),
                    format!("intake_close {s:?}: {e}"),
                ),
            }
        }
        out.sort_unstable();
        out
    }

    fn hours(&mut self, raw: &RawHours, (what_vi, what): What<'_>) -> WeekHours {
        let mut week = WeekHours::default();
        for (d, ranges) in raw.days().into_iter().enumerate() {
            let mut parsed: Vec<(Minute, Minute, &Spanned<String>)> = Vec::new();
            for r in ranges {
                match parse_range(r.get_ref()) {
                    Ok((s, e)) => parsed.push((s, e, r)),
                    Err(e) => self.err(
                        r.span(),
                        format!("{what_vi} {:?}: {e}", r.get_ref()),
                        format!("{what} {:?}: {e}", r.get_ref()),
                    ),
                }
            }
            parsed.sort_by_key(|&(s, e, _)| (s, e));
            for pair in parsed.windows(2) {
                let (a, b) = (&pair[0], &pair[1]);
                if b.0 < a.1 {
                    self.err(
                        b.2.span(),
                        format!(
                            "{what_vi} {:?} chồng lên {:?} vào {}",
                            b.2.get_ref(),
                            a.2.get_ref(),
                            DAY_KEYS[d]
                        ),
                        format!(
                            "{what} {:?} overlaps {:?} on {}",
                            b.2.get_ref(),
                            a.2.get_ref(),
                            DAY_KEYS[d]
                        ),
                    );
                }
            }
            week.days[d] = parsed.iter().map(|&(s, e, _)| (s, e)).collect();
        }
        week
    }

    fn placeholders(&mut self, s: &Spanned<String>, (what_vi, what): What<'_>) {
        let t = s.get_ref();
        if t.trim().is_empty() {
            self.err(
                s.span(),
                format!("{what_vi} đang để trống"),
                format!("{what} is empty"),
            );
            return;
        }
        if t.len() > ANNOUNCEMENT_LEN_MAX {
            self.err(
                s.span(),
                format!("{what_vi} dài quá {ANNOUNCEMENT_LEN_MAX} byte"),
                format!("{what} is longer than {ANNOUNCEMENT_LEN_MAX} bytes"),
            );
        }
        let mut rest = t.as_str();
        let mut has_ticket = false;
        while let Some(i) = rest.find(['{', '}']) {
            if rest[i..].starts_with('}') {
                self.err(
                    s.span(),
                    format!("{what_vi} có dấu '}}' mà không có '{{'; chỗ điền viết như {{ticket}}"),
                    format!("{what} has a '}}' without '{{'; placeholders look like {{ticket}}"),
                );
                return;
            }
            let after = &rest[i + 1..];
            let close = match after.find(['{', '}']) {
                Some(j) if after[j..].starts_with('}') => j,
                _ => {
                    self.err(
                        s.span(),
                        format!(
                            "{what_vi} có dấu '{{' mà không có '}}'; chỗ điền viết như {{ticket}}"
                        ),
                        format!(
                            "{what} has a '{{' without '}}'; placeholders look like {{ticket}}"
                        ),
                    );
                    return;
                }
            };
            let name = &after[..close];
            if !ANNOUNCEMENT_PLACEHOLDERS.contains(&name) {
                self.err(
                    s.span(),
                    format!(
                        "{what_vi} dùng chỗ điền không có {{{name}}}; chỉ có {{ticket}} và {{counter}}"
                    ),
                    format!(
                        "{what} uses unknown placeholder {{{name}}}; the known placeholders are {{ticket}} and {{counter}}"
                    ),
                );
                return;
            }
            has_ticket |= name == "ticket";
            rest = &after[close + 1..];
        }
        if !has_ticket {
            self.err(
                s.span(),
                format!("{what_vi} không đọc số thứ tự: thêm {{ticket}}"),
                format!("{what} never says the ticket number: add {{ticket}}"),
            );
        }
    }

    // ----- the file -----

    fn file(&mut self, raw: &RawFile) -> CenterConfig {
        let public_url =
            raw.public_url
                .as_ref()
                .and_then(|u| match check_public_url(u.get_ref()) {
                    Ok(url) => Some(url),
                    Err(e) => {
                        self.err(
                            u.span(),
                            format!("public_url {:?}: {e}", u.get_ref()),
                            format!("public_url {:?}: {e}", u.get_ref()),
                        );
                        None
                    }
                });
        let mut allowed_origins = Vec::new();
        for (i, o) in raw.allowed_origins.iter().enumerate() {
            if i == ORIGINS_MAX {
                self.err(
                    o.span(),
                    format!("allowed_origins quá nhiều: tối đa {ORIGINS_MAX}"),
                    format!("too many allowed_origins: at most {ORIGINS_MAX}"),
                );
            }
            match check_url(o.get_ref(), true) {
                Ok(()) => allowed_origins.push(o.get_ref().clone()),
                Err(e) => self.err(
                    o.span(),
                    format!("allowed_origins {:?}: {e}", o.get_ref()),
                    format!("allowed origin {:?}: {e}", o.get_ref()),
                ),
            }
        }
        if raw.site.is_empty() {
            self.err(
                0..0,
                "chưa khai báo điểm phục vụ nào: thêm một bảng [[site]]",
                "no site is defined: add a [[site]] table",
            );
        }
        let mut site_codes: HashMap<String, Range<usize>> = HashMap::new();
        let mut sites = Vec::new();
        for (i, s) in raw.site.iter().enumerate() {
            if i == SITES_MAX {
                self.err(
                    s.code.span(),
                    format!("quá nhiều điểm phục vụ ([[site]]): tối đa {SITES_MAX}"),
                    format!("too many sites: at most {SITES_MAX}"),
                );
            }
            if let Some(first) = site_codes.get(s.code.get_ref()) {
                let line = self.line_of(first);
                self.err(
                    s.code.span(),
                    format!(
                        "mã điểm phục vụ {:?} bị trùng (đã khai báo ở dòng {line})",
                        s.code.get_ref()
                    ),
                    format!(
                        "duplicate site code {:?} (first defined on line {line})",
                        s.code.get_ref()
                    ),
                );
            } else {
                site_codes.insert(s.code.get_ref().clone(), s.code.span());
            }
            if let Some(site) = self.site(s) {
                sites.push(site);
            }
        }
        let printers = self.printers(&raw.printer, &sites);
        let backup = raw.backup.as_ref().and_then(|b| self.backup(b.get_ref()));
        CenterConfig {
            public_url,
            allowed_origins,
            sites,
            printers,
            backup,
        }
    }

    fn backup(&mut self, raw: &RawBackup) -> Option<BackupSettings> {
        let time = self.clock(&raw.time, ("giờ sao lưu", "backup time"));
        if time == Some(MINUTES_PER_DAY) {
            self.err(
                raw.time.span(),
                "giờ sao lưu 24:00: hãy ghi 00:00 (một ngày không có phút 24:00)",
                "backup time 24:00: write 00:00 (a day has no minute 24:00)",
            );
        }
        let folder = match &raw.folder {
            None => BACKUP_FOLDER_DEFAULT.to_owned(),
            Some(f) => {
                let v = f.get_ref().trim();
                if v.is_empty() || v.len() > BACKUP_FOLDER_LEN_MAX || v.contains('\0') {
                    self.err(
                        f.span(),
                        format!(
                            "thư mục sao lưu {:?}: ghi đường dẫn thư mục dài 1 đến {BACKUP_FOLDER_LEN_MAX} byte",
                            f.get_ref()
                        ),
                        format!(
                            "backup folder {:?}: write a folder path of 1 to {BACKUP_FOLDER_LEN_MAX} bytes",
                            f.get_ref()
                        ),
                    );
                }
                v.to_owned()
            }
        };
        let days_kept = match &raw.days_kept {
            None => Some(BACKUP_DAYS_KEPT_DEFAULT),
            Some(_) => self
                .int(&raw.days_kept, "days_kept", 1, BACKUP_DAYS_KEPT_MAX)
                .map(|d| d as u32),
        };
        Some(BackupSettings {
            time: time.filter(|&t| t < MINUTES_PER_DAY)?,
            folder,
            days_kept: days_kept?,
        })
    }

    fn printers(&mut self, raw: &[RawPrinter], sites: &[SiteSettings]) -> Vec<PrinterSettings> {
        let mut names: HashMap<String, Range<usize>> = HashMap::new();
        let mut kiosks: HashMap<(String, String), Range<usize>> = HashMap::new();
        let mut out = Vec::new();
        for (i, p) in raw.iter().enumerate() {
            if i == PRINTERS_MAX {
                self.err(
                    p.name.span(),
                    format!("quá nhiều máy in: tối đa {PRINTERS_MAX}"),
                    format!("too many printers: at most {PRINTERS_MAX}"),
                );
            }
            let name = self.code(&p.name, ("máy in", "printer"));
            if let Some(first) = names.get(p.name.get_ref()) {
                let line = self.line_of(first);
                self.err(
                    p.name.span(),
                    format!(
                        "tên máy in {:?} bị trùng (đã khai báo ở dòng {line})",
                        p.name.get_ref()
                    ),
                    format!(
                        "duplicate printer name {:?} (first defined on line {line})",
                        p.name.get_ref()
                    ),
                );
            } else {
                names.insert(p.name.get_ref().clone(), p.name.span());
            }
            let site = match &p.site {
                None => sites.first().map(|s| s.core.code),
                Some(s) => match sites.iter().find(|x| x.core.code.as_str() == s.get_ref()) {
                    Some(x) => Some(x.core.code),
                    None => {
                        self.err(
                            s.span(),
                            format!(
                                "máy in {:?}: không có điểm phục vụ {:?}",
                                p.name.get_ref(),
                                s.get_ref()
                            ),
                            format!(
                                "printer {:?}: unknown site {:?}",
                                p.name.get_ref(),
                                s.get_ref()
                            ),
                        );
                        None
                    }
                },
            };
            let kiosk = p.kiosk.get_ref().trim();
            if kiosk.is_empty() || kiosk.len() > KIOSK_NAME_LEN_MAX {
                self.err(
                    p.kiosk.span(),
                    format!(
                        "máy in {:?}: kiosk phải là tên một kiosk đã ghép nối, dài 1 đến {KIOSK_NAME_LEN_MAX} byte",
                        p.name.get_ref()
                    ),
                    format!(
                        "printer {:?}: kiosk must be a paired kiosk's name, 1 to {KIOSK_NAME_LEN_MAX} bytes",
                        p.name.get_ref()
                    ),
                );
            } else if let Some(site) = site {
                let key = (site.to_string(), kiosk.to_owned());
                if let Some(first) = kiosks.get(&key) {
                    let line = self.line_of(first);
                    self.err(
                        p.kiosk.span(),
                        format!("kiosk {kiosk:?} đã có máy in (dòng {line}); mỗi kiosk in ra một máy in"),
                        format!("kiosk {kiosk:?} already has a printer (line {line}); a kiosk prints on one printer"),
                    );
                } else {
                    kiosks.insert(key, p.kiosk.span());
                }
            }
            let address = match check_printer_address(p.address.get_ref()) {
                Ok(a) => Some(a),
                Err(e) => {
                    self.err(
                        p.address.span(),
                        format!(
                            "máy in {:?}: địa chỉ {:?}: {e}",
                            p.name.get_ref(),
                            p.address.get_ref()
                        ),
                        format!(
                            "printer {:?}: address {:?}: {e}",
                            p.name.get_ref(),
                            p.address.get_ref()
                        ),
                    );
                    None
                }
            };
            let width = self.int(
                &p.paper_width_dots,
                "paper_width_dots",
                PAPER_WIDTH_DOTS_MIN,
                PAPER_WIDTH_DOTS_MAX,
            );
            if let (Some(w), Some(raw_w)) = (width.filter(|w| w % 8 != 0), &p.paper_width_dots) {
                self.err(
                    raw_w.span(),
                    format!("paper_width_dots = {w} phải là bội số của 8 (576 cho giấy 80 mm, 384 cho giấy 58 mm)"),
                    format!("paper_width_dots = {w} must be a multiple of 8 (576 for 80 mm paper, 384 for 58 mm)"),
                );
            }
            let timeout = self.int(
                &p.timeout_ms,
                "timeout_ms",
                PRINTER_TIMEOUT_MS_MIN,
                PRINTER_TIMEOUT_MS_MAX,
            );
            if let (Some(name), Some(site), Some(address)) = (name, site, address) {
                out.push(PrinterSettings {
                    name,
                    site,
                    kiosk: kiosk.to_owned(),
                    address,
                    paper_width_dots: width.map_or(PAPER_WIDTH_DOTS_DEFAULT, |w| w as u16),
                    timeout_ms: timeout.map_or(PRINTER_TIMEOUT_MS_DEFAULT, |t| t as u32),
                });
            }
        }
        out
    }

    fn site(&mut self, raw: &RawSite) -> Option<SiteSettings> {
        let code = self.code(&raw.code, ("điểm phục vụ", "site"));
        let site_name = raw.code.get_ref();
        let name = self.text(
            &raw.name,
            (
                &format!("tên điểm phục vụ {site_name:?}"),
                &format!("name of site {site_name:?}"),
            ),
            NAME_LEN_MAX,
        );

        let time_zone = match &raw.time_zone {
            None => DEFAULT_TIME_ZONE.to_owned(),
            Some(tz) => {
                if !looks_like_iana(tz.get_ref()) {
                    self.err(
                        tz.span(),
                        format!(
                            "time_zone {:?} không phải tên múi giờ IANA (Khu vực/Thành phố, ví dụ \"Asia/Ho_Chi_Minh\")",
                            tz.get_ref()
                        ),
                        format!(
                            "time_zone {:?} does not look like an IANA time zone name (Area/City, e.g. \"Asia/Ho_Chi_Minh\")",
                            tz.get_ref()
                        ),
                    );
                }
                tz.get_ref().clone()
            }
        };

        let mut holidays = Vec::new();
        let mut seen_days: HashMap<Day, Range<usize>> = HashMap::new();
        for (i, h) in raw.holidays.iter().enumerate() {
            if i == HOLIDAYS_MAX {
                self.err(
                    h.span(),
                    format!("quá nhiều ngày nghỉ: tối đa {HOLIDAYS_MAX}"),
                    format!("too many holidays: at most {HOLIDAYS_MAX}"),
                );
            }
            match parse_date(h.get_ref()) {
                Some(day) => {
                    if let Some(first) = seen_days.get(&day) {
                        let line = self.line_of(first);
                        self.err(
                            h.span(),
                            format!("ngày nghỉ {day} được ghi hai lần (cả ở dòng {line})"),
                            format!("holiday {day} is listed twice (also on line {line})"),
                        );
                    } else {
                        seen_days.insert(day, h.span());
                        holidays.push(day);
                    }
                }
                None => self.err(
                    h.span(),
                    format!(
                        "ngày nghỉ {:?} không phải ngày hợp lệ: ghi theo dạng YYYY-MM-DD, ví dụ \"2026-09-02\"",
                        h.get_ref()
                    ),
                    format!(
                        "holiday {:?} is not a valid date: write YYYY-MM-DD, e.g. \"2026-09-02\"",
                        h.get_ref()
                    ),
                ),
            }
        }

        let notice = match &raw.notice {
            None => Text::default(),
            Some(n) => {
                let t = n.get_ref();
                if t.vi.len() > NOTICE_LEN_MAX || t.en.len() > NOTICE_LEN_MAX {
                    self.err(
                        n.span(),
                        format!("thông báo (notice) dài quá {NOTICE_LEN_MAX} byte"),
                        format!("notice is longer than {NOTICE_LEN_MAX} bytes"),
                    );
                }
                Text::new(t.vi.trim(), t.en.trim())
            }
        };

        let recent_calls = self
            .int(
                &raw.recent_calls,
                "recent_calls",
                1,
                crate::RECENT_CALLS_MAX as i64,
            )
            .map_or(RECENT_CALLS_SHOWN_DEFAULT, |n| n as u8);

        let intake_close = self.intake_close(raw.intake_close.as_ref());

        let site_hours = match &raw.hours {
            Some(h) => self.hours(h, ("giờ làm việc của điểm phục vụ", "site hours")),
            None => WeekHours::default(),
        };

        let (mut policy, rating) = self.policy_and_rating(&raw.policy, &raw.rating);
        policy.intake_close = intake_close;
        let announcement = self.announcement(&raw.announcement);

        // Priority categories.
        let mut priority_categories = Vec::new();
        let mut seen: HashMap<String, Range<usize>> = HashMap::new();
        for (i, p) in raw.priority.iter().enumerate() {
            if i == PRIORITIES_MAX {
                self.err(
                    p.code.span(),
                    format!("quá nhiều đối tượng ưu tiên: tối đa {PRIORITIES_MAX}"),
                    format!("too many priority categories: at most {PRIORITIES_MAX}"),
                );
            }
            self.duplicate(
                &mut seen,
                &p.code,
                ("đối tượng ưu tiên", "priority category"),
            );
            let c = self.code(&p.code, ("đối tượng ưu tiên", "priority category"));
            let n = self.text(
                &p.name,
                (
                    &format!("tên đối tượng ưu tiên {:?}", p.code.get_ref()),
                    &format!("name of priority category {:?}", p.code.get_ref()),
                ),
                NAME_LEN_MAX,
            );
            if let Some(code) = c {
                priority_categories.push(PriorityCategory { code, name: n });
            }
        }

        // Departments and their prefixes.
        let mut declared = Declared::default();
        let mut departments = Vec::new();
        let mut prefix_owner: HashMap<Prefix, String> = HashMap::new();
        for (i, d) in raw.department.iter().enumerate() {
            if i == limits::DEPARTMENTS_MAX {
                self.err(
                    d.code.span(),
                    format!(
                        "quá nhiều lĩnh vực: tối đa {} mỗi điểm phục vụ",
                        limits::DEPARTMENTS_MAX
                    ),
                    format!(
                        "too many departments: at most {} per site",
                        limits::DEPARTMENTS_MAX
                    ),
                );
            }
            let first = self.duplicate(
                &mut declared.departments,
                &d.code,
                ("lĩnh vực", "department"),
            );
            let c = self.code(&d.code, ("lĩnh vực", "department"));
            let n = self.text(
                &d.name,
                (
                    &format!("tên lĩnh vực {:?}", d.code.get_ref()),
                    &format!("name of department {:?}", d.code.get_ref()),
                ),
                NAME_LEN_MAX,
            );
            let prefix = self.prefix(&d.prefix);
            if let Some(p) = prefix
                && first
            {
                match prefix_owner.get(&p) {
                    Some(owner) if owner != d.code.get_ref() => self.err(
                        d.prefix.span(),
                        format!(
                            "tiền tố {:?} của lĩnh vực {:?} đã được lĩnh vực {owner:?} dùng",
                            p.as_str(),
                            d.code.get_ref()
                        ),
                        format!(
                            "prefix {:?} of department {:?} is already used by department {owner:?}",
                            p.as_str(),
                            d.code.get_ref()
                        ),
                    ),
                    _ => {
                        prefix_owner.insert(p, d.code.get_ref().clone());
                    }
                }
            }
            if let (Some(code), Some(prefix)) = (c, prefix) {
                departments.push(Department {
                    code,
                    name: n,
                    prefix,
                });
            }
        }

        // Services.
        let mut services = Vec::new();
        let mut service_keywords = HashMap::new();
        for (i, s) in raw.service.iter().enumerate() {
            if i == limits::SERVICES_MAX {
                self.err(
                    s.code.span(),
                    format!(
                        "quá nhiều thủ tục: tối đa {} mỗi điểm phục vụ",
                        limits::SERVICES_MAX
                    ),
                    format!(
                        "too many services: at most {} per site",
                        limits::SERVICES_MAX
                    ),
                );
            }
            let sname = s.code.get_ref();
            self.duplicate(&mut declared.services, &s.code, ("thủ tục", "service"));
            let c = self.code(&s.code, ("thủ tục", "service"));
            let n = self.text(
                &s.name,
                (
                    &format!("tên thủ tục {sname:?}"),
                    &format!("name of service {sname:?}"),
                ),
                NAME_LEN_MAX,
            );
            let dept = if declared.departments.contains_key(s.department.get_ref()) {
                departments
                    .iter()
                    .find(|d| d.code.as_str() == s.department.get_ref())
                    .cloned()
            } else {
                self.err(
                    s.department.span(),
                    format!(
                        "thủ tục {sname:?} thuộc lĩnh vực không có: {:?}",
                        s.department.get_ref()
                    ),
                    format!(
                        "service {sname:?} belongs to unknown department {:?}",
                        s.department.get_ref()
                    ),
                );
                None
            };
            let prefix = match &s.prefix {
                None => dept.as_ref().map(|d| d.prefix),
                Some(p) => {
                    let own = self.prefix(p);
                    if let (Some(own), Some(d)) = (own, &dept) {
                        match prefix_owner.get(&own) {
                            Some(owner) if owner != d.code.as_str() => self.err(
                                p.span(),
                                format!(
                                    "tiền tố {:?} của thủ tục {sname:?} đã được lĩnh vực {owner:?} dùng",
                                    own.as_str()
                                ),
                                format!(
                                    "prefix {:?} of service {sname:?} is already used by department {owner:?}",
                                    own.as_str()
                                ),
                            ),
                            _ => {
                                prefix_owner.insert(own, d.code.as_str().to_owned());
                            }
                        }
                    }
                    own
                }
            };
            let expected = self
                .int(&s.expected_service_min, "expected_service_min", 1, 240)
                .unwrap_or(10);
            let daily_cap = match &s.daily_cap {
                Some(v) if *v.get_ref() < 1 => {
                    self.err(
                        v.span(),
                        format!("daily_cap = {} phải từ 1 trở lên", v.get_ref()),
                        format!("daily_cap = {} must be at least 1", v.get_ref()),
                    );
                    500
                }
                v => self
                    .int(v, "daily_cap", 1, limits::TICKETS_PER_DAY_MAX as i64)
                    .unwrap_or(500),
            };
            let hours = match &s.hours {
                Some(h) => self.hours(
                    h.get_ref(),
                    (
                        &format!("giờ làm việc của thủ tục {sname:?}"),
                        &format!("hours of service {sname:?}"),
                    ),
                ),
                None => site_hours.clone(),
            };
            if hours.days.iter().all(Vec::is_empty) {
                let span = s.hours.as_ref().map_or(s.code.span(), Spanned::span);
                self.err(
                    span,
                    format!(
                        "thủ tục {sname:?} không bao giờ mở: khai báo giờ làm việc [site.hours] cho điểm phục vụ hoặc giờ riêng cho thủ tục"
                    ),
                    format!(
                        "service {sname:?} is never open: give the site [site.hours] or the service its own hours"
                    ),
                );
            }
            let mut keywords = Vec::new();
            for (k, kw) in s.keywords.iter().enumerate() {
                let word = kw.get_ref().trim();
                if k == KEYWORDS_PER_SERVICE_MAX {
                    self.err(
                        kw.span(),
                        format!(
                            "thủ tục {sname:?} có quá nhiều từ khóa: tối đa {KEYWORDS_PER_SERVICE_MAX}"
                        ),
                        format!(
                            "service {sname:?} has too many keywords: at most {KEYWORDS_PER_SERVICE_MAX}"
                        ),
                    );
                }
                if word.is_empty() {
                    self.err(
                        kw.span(),
                        format!("thủ tục {sname:?} có một từ khóa để trống"),
                        format!("service {sname:?} has an empty keyword"),
                    );
                } else if word.len() > KEYWORD_LEN_MAX {
                    self.err(
                        kw.span(),
                        format!("từ khóa dài quá {KEYWORD_LEN_MAX} byte"),
                        format!("keyword is longer than {KEYWORD_LEN_MAX} bytes"),
                    );
                } else {
                    keywords.push(word.to_owned());
                }
            }
            if let (Some(code), Some(d), Some(prefix)) = (c, dept, prefix) {
                if !keywords.is_empty() {
                    service_keywords.insert(code, keywords);
                }
                services.push(Service {
                    code,
                    department: d.code,
                    name: n,
                    prefix,
                    hours,
                    daily_cap: daily_cap as u32,
                    expected_service_s: expected as u32 * 60,
                    carry_over: s.carry_over,
                });
            }
        }

        // Counters. Indexes first: a site may have a thousand services and two hundred counters.
        let built: HashMap<&str, Code> =
            services.iter().map(|s| (s.code.as_str(), s.code)).collect();
        let mut built_of_department: HashMap<&str, Vec<Code>> = HashMap::new();
        for s in &services {
            built_of_department
                .entry(s.department.as_str())
                .or_default()
                .push(s.code);
        }
        let mut raw_of_department: HashMap<&str, Vec<&str>> = HashMap::new();
        for s in &raw.service {
            raw_of_department
                .entry(s.department.get_ref())
                .or_default()
                .push(s.code.get_ref());
        }
        let mut counters = Vec::new();
        let mut counter_codes: HashMap<String, Range<usize>> = HashMap::new();
        let mut numbers: HashMap<i64, String> = HashMap::new();
        let mut served: HashSet<String> = HashSet::new();
        for (i, c) in raw.counter.iter().enumerate() {
            if i == limits::COUNTERS_MAX {
                self.err(
                    c.code.span(),
                    format!(
                        "quá nhiều quầy: tối đa {} mỗi điểm phục vụ",
                        limits::COUNTERS_MAX
                    ),
                    format!(
                        "too many counters: at most {} per site",
                        limits::COUNTERS_MAX
                    ),
                );
            }
            let cname = c.code.get_ref();
            self.duplicate(&mut counter_codes, &c.code, ("quầy", "counter"));
            let code = self.code(&c.code, ("quầy", "counter"));
            let number = self.int(
                &Some(c.number.clone()),
                "counter number",
                1,
                COUNTER_NUMBER_MAX as i64,
            );
            if let Some(n) = number {
                if let Some(other) = numbers.get(&n) {
                    self.err(
                        c.number.span(),
                        format!("quầy {cname:?} có số {n}, số này đã là của quầy {other:?}"),
                        format!(
                            "counter {cname:?} has number {n}, already used by counter {other:?}"
                        ),
                    );
                } else {
                    numbers.insert(n, cname.clone());
                }
            }
            let number = number.unwrap_or(1) as u16;
            let name = match &c.name {
                Some(t) => self.text(
                    t,
                    (
                        &format!("tên quầy {cname:?}"),
                        &format!("name of counter {cname:?}"),
                    ),
                    NAME_LEN_MAX,
                ),
                None => default_counter_name(number),
            };

            let mut list: Vec<CounterService> = Vec::new();
            let mut listed: HashSet<String> = HashSet::new();
            let mut broken = false;
            for entry in &c.services {
                let (svc, span, weight) = match entry.get_ref() {
                    RawServe::Code(s) => (s.clone(), entry.span(), None),
                    RawServe::Table { service, weight } => {
                        (service.get_ref().clone(), service.span(), weight.clone())
                    }
                };
                let weight = match weight {
                    None => 1,
                    Some(w) => self
                        .int(&Some(w), "weight", 1, WEIGHT_MAX as i64)
                        .unwrap_or(1) as u32,
                };
                if !declared.services.contains_key(&svc) {
                    self.err(
                        span,
                        format!("quầy {cname:?} phục vụ thủ tục không có: {svc:?}"),
                        format!("counter {cname:?} serves unknown service {svc:?}"),
                    );
                    broken = true;
                    continue;
                }
                if !listed.insert(svc.clone()) {
                    self.err(
                        span,
                        format!("quầy {cname:?} ghi thủ tục {svc:?} hai lần"),
                        format!("counter {cname:?} lists service {svc:?} twice"),
                    );
                    continue;
                }
                served.insert(svc.clone());
                if let Some(&service) = built.get(svc.as_str()) {
                    list.push(CounterService { service, weight });
                }
            }
            let mut listed_departments = HashSet::new();
            for d in &c.departments {
                if !declared.departments.contains_key(d.get_ref()) {
                    self.err(
                        d.span(),
                        format!(
                            "quầy {cname:?} phục vụ lĩnh vực không có: {:?}",
                            d.get_ref()
                        ),
                        format!(
                            "counter {cname:?} serves unknown department {:?}",
                            d.get_ref()
                        ),
                    );
                    broken = true;
                    continue;
                }
                if !listed_departments.insert(d.get_ref().clone()) {
                    self.err(
                        d.span(),
                        format!("quầy {cname:?} ghi lĩnh vực {:?} hai lần", d.get_ref()),
                        format!("counter {cname:?} lists department {:?} twice", d.get_ref()),
                    );
                    continue;
                }
                for &rs in raw_of_department
                    .get(d.get_ref().as_str())
                    .into_iter()
                    .flatten()
                {
                    served.insert(rs.to_owned());
                }
                for &service in built_of_department
                    .get(d.get_ref().as_str())
                    .into_iter()
                    .flatten()
                {
                    if listed.insert(service.as_str().to_owned()) {
                        list.push(CounterService { service, weight: 1 });
                    }
                }
            }
            if c.services.is_empty() && c.departments.is_empty() {
                self.err(
                    c.code.span(),
                    format!(
                        "quầy {cname:?} không phục vụ gì: thêm services = [...] hoặc departments = [...]"
                    ),
                    format!(
                        "counter {cname:?} serves nothing: give it services = [...] or departments = [...]"
                    ),
                );
            } else if listed.is_empty() && !broken {
                self.err(
                    c.code.span(),
                    format!(
                        "quầy {cname:?} không phục vụ gì: các lĩnh vực của quầy chưa có thủ tục nào"
                    ),
                    format!("counter {cname:?} serves nothing: its departments have no services"),
                );
            }
            if let Some(code) = code {
                counters.push(Counter {
                    code,
                    number,
                    name,
                    services: list,
                    priority_first: c.priority_first,
                });
            }
        }
        for s in &raw.service {
            if !served.contains(s.code.get_ref()) {
                self.err(
                    s.code.span(),
                    format!(
                        "thủ tục {:?} chưa có quầy nào phục vụ: thêm vào services hoặc departments của một quầy",
                        s.code.get_ref()
                    ),
                    format!(
                        "service {:?} is not served by any counter: add it to a counter's services or departments",
                        s.code.get_ref()
                    ),
                );
            }
        }
        if raw.service.is_empty() {
            self.err(
                raw.code.span(),
                format!(
                    "điểm phục vụ {site_name:?} chưa có thủ tục: thêm các bảng [[site.service]]"
                ),
                format!("site {site_name:?} has no services: add [[site.service]] tables"),
            );
        }

        Some(SiteSettings {
            core: SiteConfig {
                code: code?,
                name,
                departments,
                services,
                counters,
                priority_categories,
                policy,
                holidays,
            },
            time_zone,
            hours: site_hours,
            rating,
            announcement,
            notice,
            recent_calls,
            service_keywords,
        })
    }

    /// Records `code` as declared; reports and returns false if it already was.
    fn duplicate(
        &mut self,
        seen: &mut HashMap<String, Range<usize>>,
        code: &Spanned<String>,
        (what_vi, what): What<'_>,
    ) -> bool {
        if let Some(first) = seen.get(code.get_ref()) {
            let line = self.line_of(first);
            self.err(
                code.span(),
                format!(
                    "mã {what_vi} {:?} bị trùng (đã khai báo ở dòng {line})",
                    code.get_ref()
                ),
                format!(
                    "duplicate {what} code {:?} (first defined on line {line})",
                    code.get_ref()
                ),
            );
            false
        } else {
            seen.insert(code.get_ref().clone(), code.span());
            true
        }
    }

    fn prefix(&mut self, p: &Spanned<String>) -> Option<Prefix> {
        let prefix = Prefix::new(p.get_ref());
        if prefix.is_none() {
            self.err(
                p.span(),
                format!(
                    "tiền tố {:?} không hợp lệ: dùng 1 đến 3 chữ cái in hoa không dấu, ví dụ \"A\" hoặc \"KQ\"",
                    p.get_ref()
                ),
                format!(
                    "prefix {:?} is not valid: use 1 to 3 uppercase ASCII letters, e.g. \"A\" or \"KQ\"",
                    p.get_ref()
                ),
            );
        }
        prefix
    }

    fn policy_and_rating(&mut self, rp: &RawPolicy, rr: &RawRating) -> (Policy, RatingScale) {
        let d = Policy::default();
        let mins = |v: Option<i64>, default: u32| v.map_or(default, |m| m as u32 * 60);
        let mut p = Policy {
            normal_per_priority: self
                .int(&rp.normal_per_priority, "policy.normal_per_priority", 0, 20)
                .map_or(d.normal_per_priority, |v| v as u32),
            max_wait_s: mins(
                self.int(&rp.max_wait_min, "policy.max_wait_min", 1, 1440),
                d.max_wait_s,
            ),
            appointment_early_s: mins(
                self.int(
                    &rp.appointment_early_min,
                    "policy.appointment_early_min",
                    0,
                    240,
                ),
                d.appointment_early_s,
            ),
            no_show_return_s: mins(
                self.int(&rp.no_show_return_min, "policy.no_show_return_min", 0, 480),
                d.no_show_return_s,
            ),
            recall_max: self
                .int(&rp.recall_max, "policy.recall_max", 0, 20)
                .map_or(d.recall_max, |v| v as u8),
            console_absent_s: self
                .int(
                    &rp.console_absent_s,
                    "policy.console_absent_s",
                    luot_core::config::CONSOLE_ABSENT_S_MIN as i64,
                    3600,
                )
                .map_or(d.console_absent_s, |v| v as u32),
            wait_target_s: mins(
                self.int(
                    &rp.wait_target_min,
                    "policy.wait_target_min",
                    1,
                    luot_core::config::WAIT_TARGET_MIN_MAX as i64,
                ),
                d.wait_target_s,
            ),
            rating_window_s: mins(
                self.int(&rp.rating_window_min, "policy.rating_window_min", 1, 1440),
                d.rating_window_s,
            ),
            rating_levels: d.rating_levels,
            tickets_per_day_max: self
                .int(
                    &rp.tickets_per_day_max,
                    "policy.tickets_per_day_max",
                    1,
                    limits::TICKETS_PER_DAY_MAX as i64,
                )
                .map_or(d.tickets_per_day_max, |v| v as u32),
            waiting_max: self
                .int(
                    &rp.waiting_max,
                    "policy.waiting_max",
                    1,
                    limits::WAITING_MAX as i64,
                )
                .map_or(d.waiting_max, |v| v as u32),
            per_person_day_max: self
                .int(&rp.per_person_day_max, "policy.per_person_day_max", 1, 20)
                .map_or(d.per_person_day_max, |v| v as u8),
            per_person_department_max: self
                .int(
                    &rp.per_person_department_max,
                    "policy.per_person_department_max",
                    1,
                    20,
                )
                .map_or(d.per_person_department_max, |v| v as u8),
            // Set by the caller from the site's `intake_close`.
            intake_close: Vec::new(),
        };
        if p.per_person_department_max > p.per_person_day_max
            && let Some(v) = rp
                .per_person_department_max
                .as_ref()
                .or(rp.per_person_day_max.as_ref())
        {
            self.err(
                v.span(),
                format!(
                    "policy.per_person_department_max = {} lớn hơn policy.per_person_day_max = {}",
                    p.per_person_department_max, p.per_person_day_max
                ),
                format!(
                    "policy.per_person_department_max = {} is more than policy.per_person_day_max = {}",
                    p.per_person_department_max, p.per_person_day_max
                ),
            );
        }

        let levels = self.int(&rp.rating_levels, "policy.rating_levels", 3, 5);
        let labels = match &rr.labels {
            None => default_rating_labels(levels.unwrap_or(d.rating_levels as i64) as u8),
            Some(list) => {
                let n = list.get_ref().len();
                if !(3..=5).contains(&n) {
                    self.err(
                        list.span(),
                        format!(
                            "thang đánh giá có {n} mức; phải có 3 đến 5 mức (mức tốt nhất trước)"
                        ),
                        format!(
                            "the rating scale has {n} labels; it must have 3 to 5 (best first)"
                        ),
                    );
                } else if let (Some(l), Some(v)) = (levels, &rp.rating_levels)
                    && l as usize != n
                {
                    self.err(
                        v.span(),
                        format!("policy.rating_levels = {l} nhưng [site.rating] có {n} mức"),
                        format!("policy.rating_levels = {l} but [site.rating] has {n} labels"),
                    );
                }
                list.get_ref()
                    .iter()
                    .enumerate()
                    .map(|(i, t)| {
                        self.text(
                            t,
                            (
                                &format!("mức đánh giá {}", i + 1),
                                &format!("rating label {}", i + 1),
                            ),
                            NAME_LEN_MAX,
                        )
                    })
                    .collect()
            }
        };
        p.rating_levels = labels.len().clamp(3, 5) as u8;
        let low_score_reasons = match &rr.low_score_reasons {
            None => default_low_score_reasons(),
            Some(list) => {
                if list.get_ref().len() > LOW_SCORE_REASONS_MAX {
                    self.err(
                        list.span(),
                        format!("quá nhiều lý do chưa hài lòng (low_score_reasons): tối đa {LOW_SCORE_REASONS_MAX}"),
                        format!("too many low_score_reasons: at most {LOW_SCORE_REASONS_MAX}"),
                    );
                }
                list.get_ref()
                    .iter()
                    .map(|t| {
                        self.text(t, ("lý do chưa hài lòng", "low score reason"), NAME_LEN_MAX)
                    })
                    .collect()
            }
        };
        (
            p,
            RatingScale {
                labels,
                low_score_reasons,
            },
        )
    }

    fn announcement(&mut self, raw: &RawAnnouncement) -> Announcement {
        let mut a = Announcement::default();
        if let Some(vi) = &raw.vi {
            self.placeholders(vi, ("câu đọc gọi số (vi)", "announcement (vi)"));
            a.vi = vi.get_ref().trim().to_owned();
        }
        if let Some(en) = &raw.en {
            self.placeholders(en, ("câu đọc gọi số (en)", "announcement (en)"));
            a.en = en.get_ref().trim().to_owned();
        }
        if let Some(r) = self.int(&raw.repeat, "announcement.repeat", 1, 3) {
            a.repeat = r as u8;
        }
        a
    }
}

fn default_counter_name(number: u16) -> Text {
    Text::new(format!("Quầy {number}"), format!("Counter {number}"))
}

/// `HH:MM`, 00:00 to 24:00.
fn parse_clock(s: &str) -> Result<Minute, String> {
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
fn parse_range(s: &str) -> Result<(Minute, Minute), String> {
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

fn format_clock(m: Minute) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

/// `YYYY-MM-DD`, a real date between 1970 and 2200.
fn parse_date(s: &str) -> Option<Day> {
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
fn looks_like_iana(s: &str) -> bool {
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
fn check_printer_address(s: &str) -> Result<String, &'static str> {
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
fn check_url(s: &str, origin_only: bool) -> Result<(), &'static str> {
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

// ----- writing -----

/// Writes a configuration in the format `parse_config` reads: `parse_config(&to_toml(c), _)`
/// gives back `c` for every configuration `parse_config` produced. (Times are written in whole
/// minutes: a hand-built configuration with seconds that are not a multiple of 60 is rounded
/// down.)
pub fn to_toml(cfg: &CenterConfig) -> String {
    let mut w = String::new();
    w.push_str("# Luot center configuration. Format: see config/default.toml.\n");
    if let Some(url) = &cfg.public_url {
        let _ = writeln!(w, "public_url = {}", q(url));
    }
    if !cfg.allowed_origins.is_empty() {
        let list: Vec<String> = cfg.allowed_origins.iter().map(|o| q(o)).collect();
        let _ = writeln!(w, "allowed_origins = [{}]", list.join(", "));
    }
    for site in &cfg.sites {
        write_site(&mut w, site);
    }
    if let Some(b) = &cfg.backup {
        let _ = writeln!(w, "\n[backup]");
        let _ = writeln!(w, "time = {}", q(&format_clock(b.time)));
        let _ = writeln!(w, "folder = {}", q(&b.folder));
        let _ = writeln!(w, "days_kept = {}", b.days_kept);
    }
    for p in &cfg.printers {
        let _ = writeln!(w, "\n[[printer]]");
        let _ = writeln!(w, "name = {}", q(p.name.as_str()));
        let _ = writeln!(w, "site = {}", q(p.site.as_str()));
        let _ = writeln!(w, "kiosk = {}", q(&p.kiosk));
        let _ = writeln!(w, "address = {}", q(&p.address));
        let _ = writeln!(w, "paper_width_dots = {}", p.paper_width_dots);
        let _ = writeln!(w, "timeout_ms = {}", p.timeout_ms);
    }
    w
}

/// A TOML string literal.
fn q(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

fn text_inline(t: &Text) -> String {
    format!("{{ vi = {}, en = {} }}", q(&t.vi), q(&t.en))
}

fn ranges_inline(ranges: &[(Minute, Minute)]) -> String {
    let list: Vec<String> = ranges
        .iter()
        .map(|&(s, e)| format!("\"{}-{}\"", format_clock(s), format_clock(e)))
        .collect();
    format!("[{}]", list.join(", "))
}

fn hours_inline(h: &WeekHours) -> String {
    let days: Vec<String> = h
        .days
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.is_empty())
        .map(|(d, r)| format!("{} = {}", DAY_KEYS[d], ranges_inline(r)))
        .collect();
    if days.is_empty() {
        "{}".into()
    } else {
        format!("{{ {} }}", days.join(", "))
    }
}

fn write_site(w: &mut String, site: &SiteSettings) {
    let c = &site.core;
    let _ = writeln!(w, "\n[[site]]");
    let _ = writeln!(w, "code = {}", q(c.code.as_str()));
    let _ = writeln!(w, "name = {}", text_inline(&c.name));
    let _ = writeln!(w, "time_zone = {}", q(&site.time_zone));
    if !c.holidays.is_empty() {
        w.push_str("holidays = [\n");
        for chunk in c.holidays.chunks(5) {
            let list: Vec<String> = chunk.iter().map(|d| format!("\"{d}\"")).collect();
            let _ = writeln!(w, "  {},", list.join(", "));
        }
        w.push_str("]\n");
    }
    if site.notice != Text::default() {
        let _ = writeln!(w, "notice = {}", text_inline(&site.notice));
    }
    if site.recent_calls != RECENT_CALLS_SHOWN_DEFAULT {
        let _ = writeln!(w, "recent_calls = {}", site.recent_calls);
    }
    match &c.policy.intake_close[..] {
        [] => {}
        [m] => {
            let _ = writeln!(w, "intake_close = \"{}\"", format_clock(*m));
        }
        list => {
            let times: Vec<String> = list
                .iter()
                .map(|m| format!("\"{}\"", format_clock(*m)))
                .collect();
            let _ = writeln!(w, "intake_close = [{}]", times.join(", "));
        }
    }

    if site.hours.days.iter().any(|d| !d.is_empty()) {
        w.push_str("\n[site.hours]\n");
        for (d, r) in site.hours.days.iter().enumerate() {
            if !r.is_empty() {
                let _ = writeln!(w, "{} = {}", DAY_KEYS[d], ranges_inline(r));
            }
        }
    }

    let p = &c.policy;
    w.push_str("\n[site.policy]\n");
    let _ = writeln!(w, "normal_per_priority = {}", p.normal_per_priority);
    let _ = writeln!(w, "max_wait_min = {}", p.max_wait_s / 60);
    let _ = writeln!(w, "appointment_early_min = {}", p.appointment_early_s / 60);
    let _ = writeln!(w, "no_show_return_min = {}", p.no_show_return_s / 60);
    let _ = writeln!(w, "recall_max = {}", p.recall_max);
    let _ = writeln!(w, "console_absent_s = {}", p.console_absent_s);
    let _ = writeln!(w, "wait_target_min = {}", p.wait_target_s / 60);
    let _ = writeln!(w, "rating_window_min = {}", p.rating_window_s / 60);
    let _ = writeln!(w, "tickets_per_day_max = {}", p.tickets_per_day_max);
    let _ = writeln!(w, "waiting_max = {}", p.waiting_max);
    let _ = writeln!(w, "per_person_day_max = {}", p.per_person_day_max);
    let _ = writeln!(
        w,
        "per_person_department_max = {}",
        p.per_person_department_max
    );

    w.push_str("\n[site.rating]\nlabels = [\n");
    for t in &site.rating.labels {
        let _ = writeln!(w, "  {},", text_inline(t));
    }
    w.push_str("]\nlow_score_reasons = [\n");
    for t in &site.rating.low_score_reasons {
        let _ = writeln!(w, "  {},", text_inline(t));
    }
    w.push_str("]\n");

    let a = &site.announcement;
    w.push_str("\n[site.announcement]\n");
    let _ = writeln!(w, "vi = {}", q(&a.vi));
    let _ = writeln!(w, "en = {}", q(&a.en));
    let _ = writeln!(w, "repeat = {}", a.repeat);

    for p in &c.priority_categories {
        let _ = writeln!(w, "\n[[site.priority]]");
        let _ = writeln!(w, "code = {}", q(p.code.as_str()));
        let _ = writeln!(w, "name = {}", text_inline(&p.name));
    }
    for d in &c.departments {
        let _ = writeln!(w, "\n[[site.department]]");
        let _ = writeln!(w, "code = {}", q(d.code.as_str()));
        let _ = writeln!(w, "prefix = {}", q(d.prefix.as_str()));
        let _ = writeln!(w, "name = {}", text_inline(&d.name));
    }
    for s in &c.services {
        let _ = writeln!(w, "\n[[site.service]]");
        let _ = writeln!(w, "code = {}", q(s.code.as_str()));
        let _ = writeln!(w, "department = {}", q(s.department.as_str()));
        let _ = writeln!(w, "name = {}", text_inline(&s.name));
        let _ = writeln!(w, "expected_service_min = {}", s.expected_service_s / 60);
        let _ = writeln!(w, "daily_cap = {}", s.daily_cap);
        if s.carry_over {
            w.push_str("carry_over = true\n");
        }
        if c.department(s.department).map(|d| d.prefix) != Some(s.prefix) {
            let _ = writeln!(w, "prefix = {}", q(s.prefix.as_str()));
        }
        if s.hours != site.hours {
            let _ = writeln!(w, "hours = {}", hours_inline(&s.hours));
        }
        if let Some(k) = site.service_keywords.get(&s.code)
            && !k.is_empty()
        {
            let list: Vec<String> = k.iter().map(|k| q(k)).collect();
            let _ = writeln!(w, "keywords = [{}]", list.join(", "));
        }
    }
    for counter in &c.counters {
        let _ = writeln!(w, "\n[[site.counter]]");
        let _ = writeln!(w, "code = {}", q(counter.code.as_str()));
        let _ = writeln!(w, "number = {}", counter.number);
        if counter.name != default_counter_name(counter.number) {
            let _ = writeln!(w, "name = {}", text_inline(&counter.name));
        }
        match departments_shorthand(c, counter) {
            Some(deps) => {
                let list: Vec<String> = deps.iter().map(|d| q(d.as_str())).collect();
                let _ = writeln!(w, "departments = [{}]", list.join(", "));
            }
            None => {
                let list: Vec<String> = counter
                    .services
                    .iter()
                    .map(|cs| {
                        if cs.weight == 1 {
                            q(cs.service.as_str())
                        } else {
                            format!(
                                "{{ service = {}, weight = {} }}",
                                q(cs.service.as_str()),
                                cs.weight
                            )
                        }
                    })
                    .collect();
                if list.len() <= 4 {
                    let _ = writeln!(w, "services = [{}]", list.join(", "));
                } else {
                    w.push_str("services = [\n");
                    for item in list {
                        let _ = writeln!(w, "  {item},");
                    }
                    w.push_str("]\n");
                }
            }
        }
        if counter.priority_first {
            w.push_str("priority_first = true\n");
        }
    }
}

/// The departments whose services, in order and all at weight 1, make exactly the counter's
/// list; `None` when the list is not such a concatenation (it is then written out in full).
fn departments_shorthand(site: &SiteConfig, counter: &Counter) -> Option<Vec<Code>> {
    let mut rest = counter.services.as_slice();
    let mut deps = Vec::new();
    while let Some(first) = rest.first() {
        let dept = site.service(first.service)?.department;
        let of_dept: Vec<Code> = site
            .services
            .iter()
            .filter(|s| s.department == dept)
            .map(|s| s.code)
            .collect();
        if deps.contains(&dept) || rest.len() < of_dept.len() {
            return None;
        }
        let (head, tail) = rest.split_at(of_dept.len());
        if !head
            .iter()
            .zip(&of_dept)
            .all(|(cs, code)| cs.service == *code && cs.weight == 1)
        {
            return None;
        }
        deps.push(dept);
        rest = tail;
    }
    (!deps.is_empty()).then_some(deps)
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
