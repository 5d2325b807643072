//! The one error type of the server's edge. Each meaning is one variant of [`ApiError`], which
//! fixes its stable code (`code`), its HTTP status (`status`, what a REST answer carries), the
//! websocket close when the error ends a socket (`close`), and its Vietnamese and English text
//! (`text`); REST answers, websocket error messages, command replies and closes are all built
//! from it (`to_dto`, `IntoResponse`). The queue rules' refusals (`luot_core::Rejection`) are
//! `ApiError::Rejected` and take their status from their variant, never from their code's text.
//! The codes and texts are listed in docs/protocol.md §12, the closes in §13.

use crate::ogg::{Damage as OggDamage, Fault as ClipFault};
use crate::report::Lang;
use axum::Json;
use axum::extract::ws::close_code;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use luot_core::Rejection;
use luot_proto::{ErrorDto, PrinterStatusDto, WireError};
use serde::Serialize;

mod texts;

/// Why a socket is closed after an error: each has its close code and reason (protocol §13).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Close {
    SessionEnded,
    DeviceRevoked,
    AccountChanged,
    /// The first message was not a hello.
    HelloFirst,
    /// The hello was not a valid message.
    BadHello,
    UnknownSite,
    DeviceUnknown,
    TicketUnknown,
    TooManyAnonymous,
}

impl Close {
    /// The close frame's code and reason.
    pub fn frame(self) -> (u16, &'static str) {
        match self {
            Close::SessionEnded => (close_code::POLICY, "session ended"),
            Close::DeviceRevoked => (close_code::POLICY, "device revoked"),
            Close::AccountChanged => (close_code::RESTART, "account changed"),
            Close::HelloFirst => (close_code::POLICY, "hello first"),
            Close::BadHello => (close_code::POLICY, "bad hello"),
            Close::UnknownSite => (close_code::POLICY, "unknown site"),
            Close::DeviceUnknown => (close_code::POLICY, "device unknown"),
            Close::TicketUnknown => (close_code::POLICY, "ticket unknown"),
            Close::TooManyAnonymous => (close_code::AGAIN, "too many anonymous"),
        }
    }
}

/// How a ticket was looked up when none was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TicketKey {
    /// By its number (commands, reprint): code `unknown_ticket`.
    Number,
    /// By its token (a phone's link, a hello's `ticket_token`): the documented alias
    /// `ticket_unknown` (protocol §12), which phone pages and open sockets stop retrying on.
    Token,
    /// By a token of a ticket that may have existed: tokens end with their day.
    ExpiredToken,
}

/// The code `unknown_ticket` is also sent as for a ticket token (see [`TicketKey::Token`]).
pub const TICKET_UNKNOWN_ALIAS: &str = "ticket_unknown";

/// Which rule a staff appointment's window breaks (`dispatch::check_appointment`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppointmentFault {
    /// `from_ms` is not before `to_ms`.
    Backwards,
    /// `to_ms` is not in the future.
    Ended,
    /// It starts more than `hours` from now.
    TooFar { hours: i64 },
}

/// A value that does not parse, or is over its limit: code `invalid_field`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldFault {
    /// A code, a number, a token, a role that does not parse, or a required field missing.
    Wire(WireError),
    /// A login or password over its limit (`auth::LOGIN_BYTES_MAX`, `PASSWORD_BYTES_MAX`);
    /// refused before any password check.
    LoginTooLong,
    /// A command's `id` over `REQUEST_ID_LEN_MAX` bytes.
    RequestIdTooLong,
    /// A query parameter the route does not know (at most `clips::NAME_MAX` characters shown).
    UnknownParameter(String),
}

/// Where a JSON text stopped making sense. `line` 0: serde_json knows no position (errors
/// inside tagged enums, which every message and command is).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonFault {
    pub detail: String,
    pub line: usize,
    pub column: usize,
}

impl From<&serde_json::Error> for JsonFault {
    fn from(e: &serde_json::Error) -> JsonFault {
        JsonFault {
            detail: e.to_string(),
            line: e.line(),
            column: e.column(),
        }
    }
}

/// Why no network printer can print this ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoPrinter {
    /// The kiosk asking has none.
    Kiosk,
    /// The site has none.
    Site,
    /// The site has several and the request did not say which.
    Several,
}

/// An error of the server's edge: one variant per meaning.
#[derive(Debug, Clone)]
pub enum ApiError {
    // ----- the queue rules -----
    /// A refusal from the queue rules: 404 for what does not exist, 400 for a value out of
    /// range, 409 for the state of the queue.
    Rejected(Rejection),
    /// A staff appointment's window the server refuses before the core sees it (the core's
    /// `appointment_invalid`, saying which rule; `field` = `appointment`).
    AppointmentWindow(AppointmentFault),
    /// No ticket by that number or token (the core's `unknown_ticket`; see [`TicketKey`]).
    UnknownTicket(TicketKey),

    // ----- the server -----
    /// The broker's queue is full.
    ServerBusy,
    /// The broker has stopped: the server is shutting down.
    ServerStopping,
    /// Storage failed: `code` is `StoreError::code` (`storage_*`), `detail` what failed.
    Storage {
        code: &'static str,
        detail: String,
    },
    /// A new configuration that would strand a citizen's ticket (the text says which).
    ConfigRefused {
        vi: String,
        en: String,
    },
    /// A configuration text with errors; the answer also lists every one (`errors`).
    ConfigInvalid(luot_proto::config::ConfigErrors),
    UnknownSite,
    /// The same meaning said at the hello: it names the hello's field and ends the socket.
    AtHello(Box<ApiError>),
    OriginRefused,
    /// A path no API route knows; `action`: an unknown action word (`…/counters/{c}/{action}`).
    NoRoute {
        action: bool,
    },
    /// A `from` day after the `to` day (reports, the audit log).
    InvalidRange,
    /// A report over more than `days_max` days.
    RangeTooLong {
        days_max: i64,
    },
    /// A body not declared `Content-Type: application/json` (`got`: the type sent).
    UnsupportedMediaType {
        got: String,
    },
    /// A request body that did not arrive within `secs` seconds (`HttpLimits`).
    BodyTimeout {
        secs: f64,
    },
    /// The server's cap on sockets, or (`per_address`) one address over its cap.
    TooManyConnections {
        per_address: Option<usize>,
    },
    InvalidField(FieldFault),
    /// A REST body that is not valid JSON for its route.
    BadBody(JsonFault),
    /// A person's ID number that is not 12 digits (or 9, an old ID card).
    InvalidPersonId,
    /// A field only staff may set, sent by someone else: refused (never silently dropped).
    StaffOnlyField(&'static str),
    LoginRequired,
    Forbidden,
    RateLimited,
    QrFailed(String),
    /// A CSV or XLSX export that could not be written.
    ExportFailed(String),
    /// The report's reading task failed.
    ReportFailed(String),
    /// `page_size` of the audit log outside 1…`max`.
    InvalidPageSize {
        max: usize,
    },

    // ----- the staffing plan -----
    /// The reports page's staffing plan: one is made at a time.
    PlanBusy,
    /// A plan's day that is today or later.
    DayNotPast,
    /// A wait target outside 1…`max` minutes.
    InvalidTarget {
        minutes: u32,
        max: u32,
    },
    /// A number of officials outside 1…`max`.
    InvalidOfficials {
        officials: u32,
        max: u32,
    },
    /// A day with no tickets to plan from.
    NoHistory,
    /// The plan's task failed.
    PlanFailed(String),

    // ----- accounts and devices -----
    /// Too many failed logins for this login or address: wait `wait_s` seconds.
    LoginBackoff {
        wait_s: u64,
    },
    LoginFailed,
    /// A new password `auth::check_password_strength` refused, saying why.
    WeakPassword(String),
    HashFailed(String),
    UserExists(String),
    UserUnknown,
    /// An account's `counters` naming a counter no site has (the core's `unknown_counter`).
    UserCounterUnknown(String),
    /// More than `max` counters on one account.
    TooManyCounters {
        max: usize,
    },
    LastAdmin,
    CannotDisableSelf,
    /// No paired device with this id; at the hello, no paired device holds the token.
    DeviceUnknown,

    // ----- printers -----
    NoPrinter(NoPrinter),
    UnknownPrinter,
    TicketFinished,
    /// The printer's queue is full.
    PrinterBusy,
    /// The printer failed to print: code `printer_<state>`, its status in the answer.
    PrintFailed(Box<PrinterStatusDto>),

    // ----- voice clips -----
    /// `audio/manifest.json` is missing (`None`), or invalid (why).
    ClipManifest(Option<String>),
    /// No voice for this language.
    ClipLanguage(String),
    /// No clip of this name (in this language's voice).
    ClipUnknown {
        lang: Option<String>,
        name: String,
    },
    ClipTooLarge {
        max: usize,
    },
    /// A clip file that is not one playable Ogg Vorbis/Opus stream (`ogg::read`).
    ClipRefused(ClipFault),
    /// A clip over `max` seconds (`clips::CLIP_SECONDS_MAX`).
    ClipTooLong {
        seconds: f64,
        max: f64,
    },
    /// A phrase's text with no words or over `max` characters.
    ClipTextInvalid {
        max: usize,
    },
    /// Another phrase clip of the language already says `text`.
    ClipTextTaken {
        other: String,
        text: String,
    },
    /// A built-in clip's text (name, text), or the chime's (`None`), cannot change.
    ClipTextFixed(Option<(String, String)>),
    /// A new phrase's name that cannot be used (at most `max` characters).
    ClipNameInvalid {
        name: String,
        max: usize,
    },
    /// The language already has `max` added phrases.
    ClipTooMany {
        lang: String,
        max: usize,
    },
    /// The clip could not be written to (or removed from) the data folder.
    ClipStorage(String),

    // ----- numbers taken from home -----
    /// A mobile number that is not a Vietnamese one (`luot_core::phone`).
    InvalidPhone,
    /// A kiosk's check-in by number without exactly 4 digits of the phone.
    InvalidPhoneLast4,
    /// No number taken from home has this number and these 4 digits: the same answer for an
    /// unknown number, so that a kiosk does not tell which numbers exist.
    CheckInNoMatch,

    // ----- integrations: API tokens and webhooks -----
    /// A bearer token of the API-token kind (`luot_…`) that no admin made.
    TokenUnknown,
    /// A bearer token an admin revoked.
    TokenRevoked,
    /// A valid token without the scope the route needs.
    TokenScope(&'static str),
    /// Accounts, devices, tokens, configuration: only a person signed in may change them.
    TokenNotAllowed,
    /// Too many requests with one API token (`auth::TOKEN_REQUESTS_PER_S`).
    TokenRateLimited,
    TokenNotFound,
    /// More active tokens or webhooks (`vi`, `en`: what) than `max`.
    IntegrationLimit {
        vi: &'static str,
        en: &'static str,
        max: usize,
    },
    WebhookNotFound,
    DeliveryNotFound,

    // ----- websocket -----
    /// A message that is not valid JSON for the protocol.
    BadMessage(JsonFault),
    HelloFirst,
    HelloTwice,
    TooManyAnonymous,
    /// The session behind a socket or request ended: logged out, password changed, disabled.
    SessionEnded,
    /// The reply to a command in hand when the account's rights just changed; the socket
    /// reconnects to take the new rights (1012).
    AccountChanged,
    DeviceRevoked,
}

impl ApiError {
    /// The stable code (protocol §12).
    pub fn code(&self) -> &'static str {
        use ApiError as E;
        match self {
            E::Rejected(r) => r.code(),
            E::AppointmentWindow(_) => "appointment_invalid",
            E::UnknownTicket(TicketKey::Number) => "unknown_ticket",
            E::UnknownTicket(_) => TICKET_UNKNOWN_ALIAS,
            E::ServerBusy => "server_busy",
            E::ServerStopping => "server_stopping",
            E::Storage { code, .. } => code,
            E::ConfigRefused { .. } => "config_refused",
            E::ConfigInvalid(_) => "config_invalid",
            E::UnknownSite => "unknown_site",
            E::AtHello(e) => e.code(),
            E::OriginRefused => "origin_refused",
            E::NoRoute { .. } => "no_route",
            E::InvalidRange => "invalid_range",
            E::RangeTooLong { .. } => "range_too_long",
            E::UnsupportedMediaType { .. } => "unsupported_media_type",
            E::BodyTimeout { .. } => "body_timeout",
            E::TooManyConnections { .. } => "too_many_connections",
            E::InvalidField(_) => "invalid_field",
            E::BadBody(_) => "bad_body",
            E::InvalidPersonId => "invalid_person_id",
            E::StaffOnlyField(_) | E::Forbidden => "forbidden",
            E::LoginRequired => "login_required",
            E::RateLimited => "rate_limited",
            E::QrFailed(_) => "qr_failed",
            E::ExportFailed(_) => "export_failed",
            E::ReportFailed(_) => "report_failed",
            E::InvalidPageSize { .. } => "invalid_page_size",
            E::PlanBusy => "plan_busy",
            E::DayNotPast => "day_not_past",
            E::InvalidTarget { .. } => "invalid_target",
            E::InvalidOfficials { .. } => "invalid_officials",
            E::NoHistory => "no_history",
            E::PlanFailed(_) => "plan_failed",
            E::LoginBackoff { .. } => "login_backoff",
            E::LoginFailed => "login_failed",
            E::WeakPassword(_) => "weak_password",
            E::HashFailed(_) => "hash_failed",
            E::UserExists(_) => "user_exists",
            E::UserUnknown => "user_unknown",
            E::UserCounterUnknown(_) => "unknown_counter",
            E::TooManyCounters { .. } => "too_many_counters",
            E::LastAdmin => "last_admin",
            E::CannotDisableSelf => "cannot_disable_self",
            E::DeviceUnknown => "device_unknown",
            E::NoPrinter(_) => "no_printer",
            E::UnknownPrinter => "unknown_printer",
            E::TicketFinished => "ticket_finished",
            E::PrinterBusy => "printer_busy",
            E::PrintFailed(st) => crate::printer::PrinterState::error_code(&st.state),
            E::ClipManifest(_) => "clip_manifest",
            E::ClipLanguage(_) => "clip_language",
            E::ClipUnknown { .. } => "clip_unknown",
            E::ClipTooLarge { .. } => "clip_too_large",
            E::ClipRefused(f) => match f {
                ClipFault::Empty => "clip_empty",
                ClipFault::NotOgg => "clip_not_ogg",
                ClipFault::Damaged { .. } => "clip_damaged",
                ClipFault::Streams => "clip_streams",
                ClipFault::Codec => "clip_codec",
                ClipFault::Silent => "clip_silent",
            },
            E::ClipTooLong { .. } => "clip_too_long",
            E::ClipTextInvalid { .. } => "clip_text_invalid",
            E::ClipTextTaken { .. } => "clip_text_taken",
            E::ClipTextFixed(_) => "clip_text_fixed",
            E::ClipNameInvalid { .. } => "clip_name_invalid",
            E::ClipTooMany { .. } => "clip_too_many",
            E::ClipStorage(_) => "clip_storage",
            E::BadMessage(_) => "bad_message",
            E::HelloFirst => "hello_first",
            E::HelloTwice => "hello_twice",
            E::TooManyAnonymous => "too_many_anonymous",
            E::SessionEnded => "session_ended",
            E::AccountChanged => "account_changed",
            E::DeviceRevoked => "device_revoked",
            E::InvalidPhone => "invalid_phone",
            E::InvalidPhoneLast4 => "invalid_phone_last4",
            E::CheckInNoMatch => "check_in_no_match",
            E::TokenUnknown => "token_unknown",
            E::TokenRevoked => "token_revoked",
            E::TokenScope(_) => "token_scope",
            E::TokenNotAllowed => "token_not_allowed",
            E::TokenRateLimited => "token_rate_limited",
            E::TokenNotFound => "token_not_found",
            E::IntegrationLimit { .. } => "integration_limit",
            E::WebhookNotFound => "webhook_not_found",
            E::DeliveryNotFound => "delivery_not_found",
        }
    }

    /// The HTTP status a REST answer carries.
    pub fn status(&self) -> StatusCode {
        use ApiError as E;
        use Rejection as R;
        match self {
            E::Rejected(r) => match r {
                R::UnknownService(_)
                | R::UnknownCounter(_)
                | R::UnknownTicket
                | R::UnknownPriorityCategory(_) => StatusCode::NOT_FOUND,
                R::TextTooLong { .. }
                | R::TextEmpty
                | R::ScoreOutOfRange { .. }
                | R::AppointmentInvalid
                | R::DossierInvalid { .. }
                | R::CapInvalid { .. } => StatusCode::BAD_REQUEST,
                _ => StatusCode::CONFLICT,
            },
            E::AtHello(e) => match **e {
                E::DeviceUnknown => StatusCode::UNAUTHORIZED,
                ref e => e.status(),
            },
            E::UnknownTicket(_)
            | E::UnknownSite
            | E::NoRoute { .. }
            | E::NoHistory
            | E::UserUnknown
            | E::DeviceUnknown
            | E::UnknownPrinter
            | E::ClipManifest(None)
            | E::ClipLanguage(_)
            | E::ClipUnknown { .. } => StatusCode::NOT_FOUND,
            E::AppointmentWindow(_)
            | E::InvalidRange
            | E::RangeTooLong { .. }
            | E::InvalidField(_)
            | E::BadBody(_)
            | E::InvalidPersonId
            | E::QrFailed(_)
            | E::ExportFailed(_)
            | E::ReportFailed(_)
            | E::InvalidPageSize { .. }
            | E::DayNotPast
            | E::InvalidTarget { .. }
            | E::InvalidOfficials { .. }
            | E::PlanFailed(_)
            | E::WeakPassword(_)
            | E::HashFailed(_)
            | E::UserCounterUnknown(_)
            | E::TooManyCounters { .. }
            | E::ConfigInvalid(_)
            | E::ClipTextInvalid { .. }
            | E::ClipTextFixed(_)
            | E::ClipNameInvalid { .. }
            | E::BadMessage(_)
            | E::HelloFirst
            | E::HelloTwice => StatusCode::BAD_REQUEST,
            E::ServerBusy
            | E::ServerStopping
            | E::Storage { .. }
            | E::TooManyConnections { .. }
            | E::TooManyAnonymous
            | E::PrinterBusy
            | E::PrintFailed(_)
            | E::ClipStorage(_) => StatusCode::SERVICE_UNAVAILABLE,
            E::ConfigRefused { .. }
            | E::UserExists(_)
            | E::LastAdmin
            | E::CannotDisableSelf
            | E::NoPrinter(_)
            | E::TicketFinished
            | E::ClipTextTaken { .. }
            | E::ClipTooMany { .. }
            | E::AccountChanged => StatusCode::CONFLICT,
            E::LoginRequired
            | E::LoginFailed
            | E::SessionEnded
            | E::DeviceRevoked
            | E::TokenUnknown
            | E::TokenRevoked => StatusCode::UNAUTHORIZED,
            E::InvalidPhone | E::InvalidPhoneLast4 => StatusCode::BAD_REQUEST,
            E::CheckInNoMatch | E::TokenNotFound | E::WebhookNotFound | E::DeliveryNotFound => {
                StatusCode::NOT_FOUND
            }
            E::TokenScope(_) | E::TokenNotAllowed => StatusCode::FORBIDDEN,
            E::TokenRateLimited => StatusCode::TOO_MANY_REQUESTS,
            E::IntegrationLimit { .. } => StatusCode::CONFLICT,
            E::OriginRefused | E::Forbidden | E::StaffOnlyField(_) => StatusCode::FORBIDDEN,
            E::RateLimited | E::PlanBusy | E::LoginBackoff { .. } => StatusCode::TOO_MANY_REQUESTS,
            E::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            E::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            E::ClipManifest(Some(_)) => StatusCode::INTERNAL_SERVER_ERROR,
            E::ClipTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            E::ClipRefused(_) | E::ClipTooLong { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    /// How a websocket ends when this error is sent on it; `None`: it carries on.
    pub fn close(&self) -> Option<Close> {
        use ApiError as E;
        match self {
            E::SessionEnded => Some(Close::SessionEnded),
            E::DeviceRevoked => Some(Close::DeviceRevoked),
            E::AccountChanged => Some(Close::AccountChanged),
            E::HelloFirst => Some(Close::HelloFirst),
            E::TooManyAnonymous => Some(Close::TooManyAnonymous),
            E::AtHello(e) => Some(match **e {
                E::BadMessage(_) => Close::BadHello,
                E::UnknownSite => Close::UnknownSite,
                E::DeviceUnknown => Close::DeviceUnknown,
                E::UnknownTicket(_) => Close::TicketUnknown,
                ref e => e.close().unwrap_or(Close::BadHello),
            }),
            _ => None,
        }
    }

    /// The field or place the error is about.
    pub fn field(&self) -> Option<&str> {
        use ApiError as E;
        match self {
            E::Rejected(Rejection::DossierInvalid { .. }) => Some("dossier"),
            E::AppointmentWindow(_) => Some("appointment"),
            E::AtHello(e) => match **e {
                E::UnknownSite => Some("site"),
                E::DeviceUnknown => Some("device_token"),
                E::UnknownTicket(_) => Some("ticket_token"),
                ref e => e.field(),
            },
            E::UnsupportedMediaType { .. } => Some("content-type"),
            E::InvalidField(FieldFault::Wire(w)) => Some(w.field()),
            E::InvalidField(FieldFault::RequestIdTooLong) => Some("id"),
            E::StaffOnlyField(f) => Some(f),
            E::InvalidPageSize { .. } => Some("page_size"),
            E::InvalidPhone => Some("phone"),
            E::InvalidPhoneLast4 => Some("phone_last4"),
            E::WeakPassword(_) => Some("password"),
            E::UserCounterUnknown(_) | E::TooManyCounters { .. } => Some("counters"),
            E::NoPrinter(_) => Some("printer"),
            E::ClipTextInvalid { .. } | E::ClipTextTaken { .. } | E::ClipTextFixed(Some(_)) => {
                Some("text")
            }
            _ => None,
        }
    }

    /// What a person reads, in `lang`.
    pub fn text(&self, lang: Lang) -> String {
        let (vi, en) = self.texts();
        match lang {
            Lang::Vi => vi,
            Lang::En => en,
        }
    }

    /// The body a REST answer, a websocket `error` or a failed `reply` carries.
    pub fn to_dto(&self) -> ErrorDto {
        let (vi, en) = self.texts();
        let dto = ErrorDto::new(self.code(), vi, en);
        match self.field() {
            Some(f) => dto.with_field(f),
            None => dto,
        }
    }

    /// The same meaning, said at the hello: names the hello's field and ends the socket.
    pub fn at_hello(self) -> ApiError {
        ApiError::AtHello(Box::new(self))
    }

    /// A refusal from the queue rules.
    pub fn rejected(r: &Rejection) -> ApiError {
        ApiError::Rejected(r.clone())
    }

    /// Storage failed (`storage_*` codes, from `StoreError::code`).
    pub fn storage(e: &luot_store::StoreError) -> ApiError {
        ApiError::Storage {
            code: e.code(),
            detail: e.to_string(),
        }
    }
}

/// A JSON text's fault, with its line and column when serde_json knows them.
fn json_texts(j: &JsonFault, vi: &str, en: &str) -> (String, String) {
    let JsonFault {
        detail,
        line,
        column,
    } = j;
    if *line == 0 {
        (format!("{vi}: {detail}"), format!("{en}: {detail}"))
    } else {
        (
            format!("{vi} (dòng {line}, cột {column}): {detail}"),
            format!("{en} (line {line}, column {column}): {detail}"),
        )
    }
}

fn clip_texts(f: &ClipFault) -> (String, String) {
    let s = |vi: &str, en: &str| (vi.to_string(), en.to_string());
    match f {
        ClipFault::Empty => s(
            "Tệp rỗng: hãy chọn một tệp âm thanh .ogg",
            "The file is empty: choose an .ogg audio file",
        ),
        ClipFault::NotOgg => s(
            "Tệp không phải Ogg (không bắt đầu bằng “OggS”). Hãy dùng tệp .ogg (Vorbis hoặc Opus)",
            "Not an Ogg file (it does not start with “OggS”). Use an .ogg file (Vorbis or Opus)",
        ),
        ClipFault::Damaged { at, why } => {
            let (vi, en) = match why {
                OggDamage::NoPage => ("không có trang Ogg ở đây", "no Ogg page here"),
                OggDamage::Version => ("phiên bản trang không hỗ trợ", "unsupported page version"),
                OggDamage::Truncated => ("tệp bị cắt cụt", "the file is truncated"),
                OggDamage::Crc => ("sai mã kiểm tra (CRC)", "checksum (CRC) mismatch"),
                OggDamage::NoBeginning => ("thiếu trang đầu luồng", "no beginning-of-stream page"),
                OggDamage::CodecHeader => ("phần đầu mã hóa không hợp lệ", "invalid codec header"),
            };
            (
                format!("Tệp Ogg hỏng ở byte {at}: {vi}"),
                format!("Damaged Ogg file at byte {at}: {en}"),
            )
        }
        ClipFault::Streams => s(
            "Tệp có nhiều luồng âm thanh; hãy xuất lại thành một luồng .ogg",
            "The file holds several audio streams; export it again as one .ogg stream",
        ),
        ClipFault::Codec => s(
            "Tệp Ogg nhưng không phải Vorbis hay Opus: trình duyệt có thể không phát được",
            "An Ogg file, but neither Vorbis nor Opus: browsers may not play it",
        ),
        ClipFault::Silent => s(
            "Tệp không có âm thanh (độ dài bằng 0)",
            "The file holds no audio (zero length)",
        ),
    }
}

impl From<WireError> for ApiError {
    fn from(e: WireError) -> ApiError {
        ApiError::InvalidField(FieldFault::Wire(e))
    }
}

impl From<luot_store::StoreError> for ApiError {
    fn from(e: luot_store::StoreError) -> ApiError {
        ApiError::storage(&e)
    }
}

/// A REST answer's body: the error, and what some errors add (a configuration's findings, a
/// printer's status).
#[derive(Serialize)]
struct Body {
    #[serde(flatten)]
    error: ErrorDto,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<Vec<ConfigFinding>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    printed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    printer: Option<PrinterStatusDto>,
}

/// One finding of the configuration check, in both languages (protocol §12, `config_invalid`).
#[derive(Serialize)]
struct ConfigFinding {
    line: u32,
    column: u32,
    message: String,
    message_en: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut body = Body {
            error: self.to_dto(),
            errors: None,
            printed: None,
            printer: None,
        };
        match &self {
            ApiError::ConfigInvalid(e) => {
                body.errors = Some(
                    e.errors
                        .iter()
                        .map(|e| ConfigFinding {
                            line: e.line,
                            column: e.column,
                            message: e.message_vi.clone(),
                            message_en: e.message.clone(),
                        })
                        .collect(),
                );
            }
            ApiError::PrintFailed(st) => {
                body.printed = Some(false);
                body.printer = Some((**st).clone());
            }
            _ => {}
        }
        let mut res = (status, Json(body)).into_response();
        let retry_after = match self {
            ApiError::LoginBackoff { wait_s } => Some(HeaderValue::from(wait_s)),
            _ if status == StatusCode::TOO_MANY_REQUESTS => Some(HeaderValue::from_static("1")),
            _ => None,
        };
        if let Some(v) = retry_after {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}

/// For `map_err` on the accounts connection.
pub fn store_error(e: luot_store::StoreError) -> ApiError {
    ApiError::storage(&e)
}

#[cfg(test)]
mod tests;
