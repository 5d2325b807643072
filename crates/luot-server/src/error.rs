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

    /// The Vietnamese and the English text.
    fn texts(&self) -> (String, String) {
        use ApiError as E;
        let s = |vi: &str, en: &str| (vi.to_string(), en.to_string());
        match self {
            E::Rejected(r) => r.message(),
            E::AppointmentWindow(AppointmentFault::Backwards) => s(
                "Khung giờ hẹn không hợp lệ: from_ms phải trước to_ms",
                "Invalid appointment window: from_ms must be before to_ms",
            ),
            E::AppointmentWindow(AppointmentFault::Ended) => s(
                "Khung giờ hẹn đã kết thúc (to_ms không ở tương lai)",
                "The appointment window has already ended (to_ms is not in the future)",
            ),
            E::AppointmentWindow(AppointmentFault::TooFar { hours: h }) => (
                format!("Khung giờ hẹn phải bắt đầu trong vòng {h} giờ tới"),
                format!("The appointment window must start within the next {h} hours"),
            ),
            E::UnknownTicket(TicketKey::Number) => {
                s("Không có số thứ tự này hôm nay", "No such ticket today")
            }
            E::UnknownTicket(TicketKey::Token) => s("Không tìm thấy số thứ tự", "No such ticket"),
            E::UnknownTicket(TicketKey::ExpiredToken) => s(
                "Không tìm thấy số thứ tự (có thể đã hết hạn)",
                "No such ticket (it may have expired)",
            ),
            E::ServerBusy => s(
                "Máy chủ đang quá tải, vui lòng thử lại",
                "The server is busy, try again",
            ),
            E::ServerStopping => s("Máy chủ đang dừng", "The server is shutting down"),
            E::Storage { detail, .. } => (
                "Tạm ngưng: không ghi được dữ liệu. Vui lòng báo cán bộ.".into(),
                format!("Paused: the data could not be saved ({detail})"),
            ),
            E::ConfigRefused { vi, en } => (vi.clone(), en.clone()),
            E::ConfigInvalid(e) => {
                let n = e.errors.len();
                let at = |m: &dyn Fn(&luot_proto::config::ConfigError) -> &str| {
                    e.errors
                        .first()
                        .map(|e| format!("{}:{}: {}", e.line, e.column, m(e)))
                        .unwrap_or_default()
                };
                (
                    format!(
                        "Cấu hình có {n} lỗi. Lỗi đầu tiên, dòng {}",
                        at(&|e| &e.message_vi)
                    ),
                    format!(
                        "The configuration has {n} error(s). First, line {}",
                        at(&|e| &e.message)
                    ),
                )
            }
            E::UnknownSite => s("Không có điểm tiếp nhận này", "No such site"),
            E::AtHello(e) => match **e {
                E::DeviceUnknown => s(
                    "Thiết bị chưa được ghép nối hoặc đã bị thu hồi",
                    "This device is not paired or was revoked",
                ),
                ref e => e.texts(),
            },
            E::OriginRefused => s("Nguồn kết nối không được phép", "Origin not allowed"),
            E::NoRoute { action: false } => s("Không có đường dẫn API này", "No such API route"),
            E::NoRoute { action: true } => s("Không có thao tác này", "No such action"),
            E::InvalidRange => s("Ngày bắt đầu sau ngày kết thúc", "`from` is after `to`"),
            E::RangeTooLong { days_max } => (
                format!("Khoảng thời gian quá dài (tối đa {days_max} ngày)"),
                format!("Range too long ({days_max} days at most)"),
            ),
            E::UnsupportedMediaType { got } => (
                format!("Nội dung phải là JSON (Content-Type: application/json), không phải {got}"),
                format!("The body must be JSON (Content-Type: application/json), not {got}"),
            ),
            E::BodyTimeout { secs } => (
                format!("Nội dung yêu cầu không đến đủ trong {secs} giây"),
                format!("The request body did not arrive within {secs} s"),
            ),
            E::TooManyConnections { per_address: None } => {
                s("Máy chủ đã đủ kết nối", "Too many connections")
            }
            E::TooManyConnections {
                per_address: Some(max),
            } => (
                format!(
                    "Địa chỉ này đã mở quá nhiều kết nối (tối đa {max}); hãy đóng bớt rồi thử lại"
                ),
                format!(
                    "Too many connections from this address (at most {max}); close some and try again"
                ),
            ),
            E::InvalidField(f) => match f {
                FieldFault::Wire(e) => (format!("Dữ liệu không hợp lệ: {e}"), e.to_string()),
                FieldFault::LoginTooLong => s(
                    "Tên đăng nhập hoặc mật khẩu quá dài",
                    "Login or password too long",
                ),
                FieldFault::RequestIdTooLong => {
                    let max = luot_proto::REQUEST_ID_LEN_MAX;
                    (
                        format!("Mã yêu cầu quá dài (tối đa {max} byte)"),
                        format!("Request id too long (at most {max} bytes)"),
                    )
                }
                FieldFault::UnknownParameter(k) => (
                    format!("Tham số không biết: “{k}”"),
                    format!("Unknown parameter “{k}”"),
                ),
            },
            E::BadBody(j) => json_texts(j, "Nội dung không hợp lệ", "Malformed body"),
            E::BadMessage(j) => json_texts(j, "Tin nhắn không hợp lệ", "Malformed message"),
            E::InvalidPersonId => s(
                "Số định danh cá nhân phải có 12 chữ số (hoặc CMND 9 số)",
                "The ID number must have 12 digits (or 9 for an old ID card)",
            ),
            E::StaffOnlyField(field) => (
                format!("Chỉ cán bộ mới được đặt trường `{field}`"),
                format!("Only staff may set the field `{field}`"),
            ),
            E::LoginRequired => s("Cần đăng nhập", "Login required"),
            E::Forbidden => s("Không có quyền thực hiện", "Not allowed"),
            E::RateLimited => s(
                "Thao tác quá nhanh, vui lòng chờ",
                "Too many requests, slow down",
            ),
            E::QrFailed(why) => ("Không tạo được mã QR".into(), why.clone()),
            E::ExportFailed(why)
            | E::ReportFailed(why)
            | E::PlanFailed(why)
            | E::HashFailed(why) => (why.clone(), why.clone()),
            E::InvalidPageSize { max } => (
                format!("Số dòng mỗi trang phải từ 1 đến {max}"),
                format!("page_size must be 1 to {max}"),
            ),
            E::PlanBusy => s(
                "Đang lập một kế hoạch khác; thử lại sau ít giây",
                "Another plan is being made; try again in a few seconds",
            ),
            E::DayNotPast => s(
                "Chọn một ngày đã qua: kế hoạch lập theo một ngày trọn vẹn trong lịch sử",
                "Pick a past day: the plan replays a whole day of the history",
            ),
            E::InvalidTarget { minutes: m, max } => (
                format!("Mục tiêu chờ {m} phút: phải trong 1–{max} phút"),
                format!("Wait target {m} min: must be within 1–{max} minutes"),
            ),
            E::InvalidOfficials { officials: n, max } => (
                format!("Số cán bộ {n}: phải trong 1–{max}"),
                format!("{n} officials: must be within 1–{max}"),
            ),
            E::NoHistory => s(
                "Ngày này không có vé nào để lập kế hoạch",
                "That day has no tickets to plan from",
            ),
            E::LoginBackoff { wait_s } => (
                format!("Sai quá nhiều lần, thử lại sau {wait_s} giây"),
                format!("Too many failures, try again in {wait_s} s"),
            ),
            E::LoginFailed => s("Sai tên đăng nhập hoặc mật khẩu", "Wrong login or password"),
            E::WeakPassword(why) => (format!("Mật khẩu yếu: {why}"), why.clone()),
            E::UserExists(detail) => ("Tên đăng nhập đã có".into(), detail.clone()),
            E::UserUnknown => s("Không có tài khoản này", "No such account"),
            E::UserCounterUnknown(c) => {
                (format!("Không có quầy '{c}'"), format!("No counter '{c}'"))
            }
            E::TooManyCounters { max } => (
                format!("Tối đa {max} quầy cho một tài khoản"),
                format!("At most {max} counters per account"),
            ),
            E::LastAdmin => s(
                "Không thể khóa hoặc hạ quyền quản trị viên cuối cùng",
                "The last active admin cannot be disabled or lose the admin role",
            ),
            E::CannotDisableSelf => s(
                "Không thể tự khóa tài khoản của mình",
                "You cannot disable your own account",
            ),
            E::DeviceUnknown => s("Không có thiết bị này", "No such device"),
            E::NoPrinter(NoPrinter::Kiosk) => s(
                "Kiosk này không có máy in mạng",
                "This kiosk has no network printer",
            ),
            E::NoPrinter(NoPrinter::Site) => s(
                "Điểm tiếp nhận này không có máy in mạng",
                "This site has no network printer",
            ),
            E::NoPrinter(NoPrinter::Several) => s(
                "Có nhiều máy in: hãy chọn máy in (printer)",
                "Several printers: say which one (printer)",
            ),
            E::UnknownPrinter => s("Không có máy in này", "No such printer"),
            E::TicketFinished => s(
                "Số thứ tự này đã xong hoặc đã hủy, không in lại",
                "This ticket is finished or cancelled; it is not printed again",
            ),
            E::PrinterBusy => {
                let (vi, en) = crate::printer::PrinterState::Busy.message();
                (vi.to_string(), en.to_string())
            }
            E::PrintFailed(st) => (st.message.clone(), st.message_en.clone()),
            E::ClipManifest(None) => s(
                "Không tìm thấy danh sách giọng đọc (audio/manifest.json)",
                "The voice manifest (audio/manifest.json) is missing",
            ),
            E::ClipManifest(Some(why)) => (
                format!("audio/manifest.json không hợp lệ: {why}"),
                format!("audio/manifest.json is invalid: {why}"),
            ),
            E::ClipLanguage(l) => (
                format!("Không có giọng đọc cho ngôn ngữ “{l}”"),
                format!("No voice for the language “{l}”"),
            ),
            E::ClipUnknown {
                lang: Some(l),
                name: n,
            } => (
                format!(
                    "Không có đoạn âm thanh “{n}” trong giọng đọc “{l}” (muốn thêm một câu mới thì gửi kèm nội dung của câu)"
                ),
                format!(
                    "No clip “{n}” in the “{l}” voice (to add a phrase, send its text with it)"
                ),
            ),
            E::ClipUnknown {
                lang: None,
                name: n,
            } => (
                format!("Không có đoạn âm thanh “{n}”"),
                format!("No clip “{n}”"),
            ),
            E::ClipTooLarge { max } => (
                format!("Tệp quá lớn: tối đa {max} byte ({} KiB)", max / 1024),
                format!(
                    "The file is too large: at most {max} bytes ({} KiB)",
                    max / 1024
                ),
            ),
            E::ClipRefused(f) => clip_texts(f),
            E::ClipTooLong { seconds, max } => (
                format!("Đoạn âm thanh dài {seconds:.1} giây; tối đa {max} giây"),
                format!("The clip lasts {seconds:.1} s; at most {max} s"),
            ),
            E::ClipTextInvalid { max } => (
                format!("Nội dung của câu phải có chữ, tối đa {max} ký tự"),
                format!("A phrase's text needs words, at most {max} characters"),
            ),
            E::ClipTextTaken { other, text } => (
                format!("Đoạn “{other}” đã đọc câu “{text}”: hãy thay đoạn đó"),
                format!("The clip “{other}” already says “{text}”: replace that one"),
            ),
            E::ClipTextFixed(Some((name, text))) => (
                format!(
                    "Nội dung của đoạn có sẵn “{name}” không đổi được: hãy thu đúng câu “{text}”"
                ),
                format!("The text of the built-in clip “{name}” cannot change: record “{text}”"),
            ),
            E::ClipTextFixed(None) => s(
                "Tiếng chuông không có nội dung đọc",
                "The chime has no text",
            ),
            E::ClipNameInvalid { name, max } => (
                format!(
                    "Tên đoạn “{name}” không dùng được: chữ thường không dấu, số và _ (tối đa {max}), không bắt đầu bằng letter_, digit_, number_"
                ),
                format!(
                    "The clip name “{name}” cannot be used: lowercase a-z, digits and _ (at most {max}), not starting with letter_, digit_, number_"
                ),
            ),
            E::ClipTooMany { lang: l, max } => (
                format!("Đã có {max} câu thêm cho giọng “{l}”: hãy xóa bớt"),
                format!("The “{l}” voice already has {max} added phrases: remove one"),
            ),
            E::ClipStorage(why) => (
                format!("Không lưu được đoạn âm thanh vào thư mục dữ liệu: {why}"),
                format!("Could not store the clip in the data folder: {why}"),
            ),
            E::HelloFirst => s("Cần gửi hello trước", "Send hello first"),
            E::HelloTwice => s("Đã gửi hello", "Hello was already sent"),
            E::TooManyAnonymous => s(
                "Quá nhiều kết nối chưa xác thực",
                "Too many anonymous connections",
            ),
            E::SessionEnded => s(
                "Phiên đăng nhập đã kết thúc (đã đăng xuất, đổi mật khẩu hoặc tài khoản bị khóa); hãy đăng nhập lại",
                "Your session has ended (logged out, password changed or account disabled); log in again",
            ),
            E::AccountChanged => s(
                "Quyền của tài khoản vừa thay đổi; hãy kết nối lại",
                "The account's rights just changed; reconnect",
            ),
            E::DeviceRevoked => s(
                "Thiết bị này đã bị thu hồi; cần ghép nối lại",
                "This device was revoked; it must be paired again",
            ),
            E::InvalidPhone => s(
                "Số điện thoại di động không hợp lệ (10 chữ số, ví dụ 0912 345 678)",
                "Not a valid mobile number (10 digits, e.g. 0912 345 678)",
            ),
            E::InvalidPhoneLast4 => s(
                "Nhập đúng 4 số cuối của số điện thoại đã dùng khi lấy số",
                "Enter the last 4 digits of the phone number the ticket was taken with",
            ),
            E::CheckInNoMatch => s(
                "Không tìm thấy số lấy trực tuyến khớp với số phiếu và 4 số cuối điện thoại này",
                "No number taken online matches this ticket number and these 4 digits",
            ),
            E::TokenUnknown => s("Mã truy cập API không đúng", "Unknown API token"),
            E::TokenRevoked => s(
                "Mã truy cập API đã bị thu hồi",
                "This API token was revoked",
            ),
            E::TokenScope(scope) => (
                format!("Mã truy cập API không có phạm vi `{scope}`"),
                format!("The API token lacks the scope `{scope}`"),
            ),
            E::TokenNotAllowed => s(
                "Mã truy cập API không dùng được cho việc này; cần quản trị viên đăng nhập",
                "API tokens cannot do this; an admin must sign in",
            ),
            E::TokenRateLimited => s(
                "Quá nhiều yêu cầu với mã truy cập API này, vui lòng chờ",
                "Too many requests with this API token, slow down",
            ),
            E::TokenNotFound => s("Không có mã truy cập API này", "No such API token"),
            E::IntegrationLimit { vi, en, max } => (
                format!("Đã đủ {max} {vi}; hãy xoá bớt trước"),
                format!("There are already {max} {en}; remove one first"),
            ),
            E::WebhookNotFound => s("Không có webhook này", "No such webhook"),
            E::DeliveryNotFound => s("Không có lần gửi này", "No such delivery"),
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
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// The variant's name: a variant added to `ApiError` fails to compile here until it is
    /// named, and `every_variant_has_a_sample` then fails until `samples` holds one.
    fn name(e: &ApiError) -> &'static str {
        use ApiError as E;
        match e {
            E::Rejected(_) => "Rejected",
            E::AppointmentWindow(_) => "AppointmentWindow",
            E::UnknownTicket(_) => "UnknownTicket",
            E::ServerBusy => "ServerBusy",
            E::ServerStopping => "ServerStopping",
            E::Storage { .. } => "Storage",
            E::ConfigRefused { .. } => "ConfigRefused",
            E::ConfigInvalid(_) => "ConfigInvalid",
            E::UnknownSite => "UnknownSite",
            E::AtHello(_) => "AtHello",
            E::OriginRefused => "OriginRefused",
            E::NoRoute { .. } => "NoRoute",
            E::InvalidRange => "InvalidRange",
            E::RangeTooLong { .. } => "RangeTooLong",
            E::UnsupportedMediaType { .. } => "UnsupportedMediaType",
            E::BodyTimeout { .. } => "BodyTimeout",
            E::TooManyConnections { .. } => "TooManyConnections",
            E::InvalidField(_) => "InvalidField",
            E::BadBody(_) => "BadBody",
            E::InvalidPersonId => "InvalidPersonId",
            E::StaffOnlyField(_) => "StaffOnlyField",
            E::LoginRequired => "LoginRequired",
            E::Forbidden => "Forbidden",
            E::RateLimited => "RateLimited",
            E::QrFailed(_) => "QrFailed",
            E::ExportFailed(_) => "ExportFailed",
            E::ReportFailed(_) => "ReportFailed",
            E::InvalidPageSize { .. } => "InvalidPageSize",
            E::PlanBusy => "PlanBusy",
            E::DayNotPast => "DayNotPast",
            E::InvalidTarget { .. } => "InvalidTarget",
            E::InvalidOfficials { .. } => "InvalidOfficials",
            E::NoHistory => "NoHistory",
            E::PlanFailed(_) => "PlanFailed",
            E::LoginBackoff { .. } => "LoginBackoff",
            E::LoginFailed => "LoginFailed",
            E::WeakPassword(_) => "WeakPassword",
            E::HashFailed(_) => "HashFailed",
            E::UserExists(_) => "UserExists",
            E::UserUnknown => "UserUnknown",
            E::UserCounterUnknown(_) => "UserCounterUnknown",
            E::TooManyCounters { .. } => "TooManyCounters",
            E::LastAdmin => "LastAdmin",
            E::CannotDisableSelf => "CannotDisableSelf",
            E::DeviceUnknown => "DeviceUnknown",
            E::NoPrinter(_) => "NoPrinter",
            E::UnknownPrinter => "UnknownPrinter",
            E::TicketFinished => "TicketFinished",
            E::PrinterBusy => "PrinterBusy",
            E::PrintFailed(_) => "PrintFailed",
            E::ClipManifest(_) => "ClipManifest",
            E::ClipLanguage(_) => "ClipLanguage",
            E::ClipUnknown { .. } => "ClipUnknown",
            E::ClipTooLarge { .. } => "ClipTooLarge",
            E::ClipRefused(_) => "ClipRefused",
            E::ClipTooLong { .. } => "ClipTooLong",
            E::ClipTextInvalid { .. } => "ClipTextInvalid",
            E::ClipTextTaken { .. } => "ClipTextTaken",
            E::ClipTextFixed(_) => "ClipTextFixed",
            E::ClipNameInvalid { .. } => "ClipNameInvalid",
            E::ClipTooMany { .. } => "ClipTooMany",
            E::ClipStorage(_) => "ClipStorage",
            E::BadMessage(_) => "BadMessage",
            E::HelloFirst => "HelloFirst",
            E::HelloTwice => "HelloTwice",
            E::TooManyAnonymous => "TooManyAnonymous",
            E::SessionEnded => "SessionEnded",
            E::AccountChanged => "AccountChanged",
            E::DeviceRevoked => "DeviceRevoked",
            E::InvalidPhone => "InvalidPhone",
            E::InvalidPhoneLast4 => "InvalidPhoneLast4",
            E::CheckInNoMatch => "CheckInNoMatch",
            E::TokenUnknown => "TokenUnknown",
            E::TokenRevoked => "TokenRevoked",
            E::TokenScope(_) => "TokenScope",
            E::TokenNotAllowed => "TokenNotAllowed",
            E::TokenRateLimited => "TokenRateLimited",
            E::TokenNotFound => "TokenNotFound",
            E::IntegrationLimit { .. } => "IntegrationLimit",
            E::WebhookNotFound => "WebhookNotFound",
            E::DeliveryNotFound => "DeliveryNotFound",
        }
    }

    /// How many variants `name` knows: keep it equal to the arms above.
    const VARIANTS: usize = 81;

    /// Every variant, with every kind of the data that changes its code or text.
    fn samples() -> Vec<ApiError> {
        use ApiError as E;
        let code = luot_core::Code::new("x").unwrap();
        let json = JsonFault {
            detail: "expected value".into(),
            line: 1,
            column: 2,
        };
        let status = PrinterStatusDto {
            name: "p1".into(),
            site: "s".into(),
            kiosk: "k".into(),
            state: "paper_out".into(),
            ok: false,
            message: "Hết giấy".into(),
            message_en: "Out of paper".into(),
            since_ms: 0,
            ticket: None,
            printed: 0,
            failed: 1,
        };
        let config = luot_proto::config::ConfigErrors {
            errors: vec![luot_proto::config::ConfigError {
                file: "config.toml".into(),
                line: 3,
                column: 1,
                message: "bad".into(),
                message_vi: "sai".into(),
            }],
        };
        let damaged = |why| E::ClipRefused(ClipFault::Damaged { at: 58, why });
        vec![
            E::Rejected(Rejection::UnknownCounter(code)),
            E::Rejected(Rejection::QueueEmpty),
            E::Rejected(Rejection::DossierInvalid { max: 40 }),
            E::Rejected(Rejection::AppointmentInvalid),
            E::Rejected(Rejection::UnknownTicket),
            E::AppointmentWindow(AppointmentFault::Backwards),
            E::AppointmentWindow(AppointmentFault::Ended),
            E::AppointmentWindow(AppointmentFault::TooFar { hours: 12 }),
            E::UnknownTicket(TicketKey::Number),
            E::UnknownTicket(TicketKey::Token),
            E::UnknownTicket(TicketKey::ExpiredToken),
            E::ServerBusy,
            E::ServerStopping,
            E::storage(&luot_store::StoreError::Other("failing".into())),
            E::ConfigRefused {
                vi: "không".into(),
                en: "no".into(),
            },
            E::ConfigInvalid(config),
            E::UnknownSite,
            E::UnknownSite.at_hello(),
            E::DeviceUnknown.at_hello(),
            E::UnknownTicket(TicketKey::Token).at_hello(),
            E::BadMessage(json.clone()).at_hello(),
            E::OriginRefused,
            E::NoRoute { action: false },
            E::NoRoute { action: true },
            E::InvalidRange,
            E::RangeTooLong { days_max: 366 },
            E::UnsupportedMediaType {
                got: "text/plain".into(),
            },
            E::BodyTimeout { secs: 30.0 },
            E::TooManyConnections { per_address: None },
            E::TooManyConnections {
                per_address: Some(64),
            },
            E::from(WireError::invalid("number", "A0")),
            E::from(WireError::missing("counter")),
            E::InvalidField(FieldFault::LoginTooLong),
            E::InvalidField(FieldFault::RequestIdTooLong),
            E::InvalidField(FieldFault::UnknownParameter("lang".into())),
            E::BadBody(json.clone()),
            E::BadBody(JsonFault {
                line: 0,
                ..json.clone()
            }),
            E::InvalidPersonId,
            E::StaffOnlyField("appointment"),
            E::LoginRequired,
            E::Forbidden,
            E::RateLimited,
            E::QrFailed("too long".into()),
            E::ExportFailed("disk".into()),
            E::ReportFailed("task".into()),
            E::InvalidPageSize { max: 500 },
            E::PlanBusy,
            E::DayNotPast,
            E::InvalidTarget {
                minutes: 0,
                max: 240,
            },
            E::InvalidOfficials {
                officials: 0,
                max: 500,
            },
            E::NoHistory,
            E::PlanFailed("task".into()),
            E::LoginBackoff { wait_s: 4 },
            E::LoginFailed,
            E::WeakPassword("too short".into()),
            E::HashFailed("argon2".into()),
            E::UserExists("login taken".into()),
            E::UserUnknown,
            E::UserCounterUnknown("C9".into()),
            E::TooManyCounters { max: 50 },
            E::LastAdmin,
            E::CannotDisableSelf,
            E::DeviceUnknown,
            E::NoPrinter(NoPrinter::Kiosk),
            E::NoPrinter(NoPrinter::Site),
            E::NoPrinter(NoPrinter::Several),
            E::UnknownPrinter,
            E::TicketFinished,
            E::PrinterBusy,
            E::PrintFailed(Box::new(status)),
            E::ClipManifest(None),
            E::ClipManifest(Some("eof".into())),
            E::ClipLanguage("fr".into()),
            E::ClipUnknown {
                lang: Some("vi".into()),
                name: "x".into(),
            },
            E::ClipUnknown {
                lang: None,
                name: "x".into(),
            },
            E::ClipTooLarge { max: 512 * 1024 },
            E::ClipRefused(ClipFault::Empty),
            E::ClipRefused(ClipFault::NotOgg),
            damaged(OggDamage::NoPage),
            damaged(OggDamage::Version),
            damaged(OggDamage::Truncated),
            damaged(OggDamage::Crc),
            damaged(OggDamage::NoBeginning),
            damaged(OggDamage::CodecHeader),
            E::ClipRefused(ClipFault::Streams),
            E::ClipRefused(ClipFault::Codec),
            E::ClipRefused(ClipFault::Silent),
            E::ClipTooLong {
                seconds: 11.0,
                max: 10.0,
            },
            E::ClipTextInvalid { max: 100 },
            E::ClipTextTaken {
                other: "a".into(),
                text: "b".into(),
            },
            E::ClipTextFixed(Some(("invite".into(), "Mời".into()))),
            E::ClipTextFixed(None),
            E::ClipNameInvalid {
                name: "Bad".into(),
                max: 40,
            },
            E::ClipTooMany {
                lang: "vi".into(),
                max: 50,
            },
            E::ClipStorage("disk full".into()),
            E::BadMessage(json),
            E::HelloFirst,
            E::HelloTwice,
            E::TooManyAnonymous,
            E::SessionEnded,
            E::AccountChanged,
            E::DeviceRevoked,
            E::InvalidPhone,
            E::InvalidPhoneLast4,
            E::CheckInNoMatch,
            E::TokenUnknown,
            E::TokenRevoked,
            E::TokenScope("read"),
            E::TokenNotAllowed,
            E::TokenRateLimited,
            E::TokenNotFound,
            E::IntegrationLimit {
                vi: "mã truy cập",
                en: "tokens",
                max: 50,
            },
            E::WebhookNotFound,
            E::DeliveryNotFound,
        ]
    }

    /// Codes several variants send, because they say the same thing: each such code lists
    /// every variant allowed to send it. Any other code belongs to one variant.
    const SAME_MEANING: &[(&str, &[&str])] = &[
        // The server checks a staff appointment's window before the core, saying which rule.
        ("appointment_invalid", &["Rejected", "AppointmentWindow"]),
        // The server's lookups by number say "today"; by token, the alias (protocol §12).
        ("unknown_ticket", &["Rejected", "UnknownTicket"]),
        // An account's counters naming a counter no site has.
        ("unknown_counter", &["Rejected", "UserCounterUnknown"]),
        // Not allowed, naming the field when a field is the reason.
        ("forbidden", &["Forbidden", "StaffOnlyField"]),
        // The hello says the same meanings, ending the socket.
        ("unknown_site", &["UnknownSite", "AtHello"]),
        ("device_unknown", &["DeviceUnknown", "AtHello"]),
        (TICKET_UNKNOWN_ALIAS, &["UnknownTicket", "AtHello"]),
        ("bad_message", &["BadMessage", "AtHello"]),
    ];

    #[test]
    fn every_variant_has_a_sample() {
        let named: std::collections::BTreeSet<_> = samples().iter().map(name).collect();
        assert_eq!(named.len(), VARIANTS, "{named:?}");
    }

    #[test]
    fn each_code_has_one_meaning_and_every_error_both_texts() {
        let mut by_code: BTreeMap<&str, std::collections::BTreeSet<&str>> = BTreeMap::new();
        for e in samples() {
            let dto = e.to_dto();
            assert!(!dto.message.trim().is_empty(), "{e:?}: no Vietnamese text");
            assert!(!dto.message_en.trim().is_empty(), "{e:?}: no English text");
            assert_eq!(dto.code, e.code());
            assert!(
                dto.code
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{}",
                dto.code
            );
            assert_eq!(e.text(Lang::Vi), dto.message);
            assert_eq!(e.text(Lang::En), dto.message_en);
            by_code.entry(e.code()).or_default().insert(name(&e));
        }
        for (code, variants) in by_code {
            if variants.len() == 1 {
                continue;
            }
            let allowed = SAME_MEANING
                .iter()
                .find(|(c, _)| *c == code)
                .map(|(_, v)| v.iter().copied().collect())
                .unwrap_or_default();
            assert!(
                variants.is_subset(&allowed),
                "code {code} is sent by {variants:?}: one code per meaning"
            );
        }
    }

    /// The statuses `dispatch::status_for` chose from the code's text, now by variant.
    #[test]
    fn refusals_keep_the_status_their_code_had() {
        let code = luot_core::Code::new("x").unwrap();
        let cases = [
            (Rejection::UnknownService(code), StatusCode::NOT_FOUND),
            (Rejection::UnknownCounter(code), StatusCode::NOT_FOUND),
            (Rejection::UnknownTicket, StatusCode::NOT_FOUND),
            (
                Rejection::UnknownPriorityCategory(code),
                StatusCode::NOT_FOUND,
            ),
            (Rejection::TextTooLong { max: 1 }, StatusCode::BAD_REQUEST),
            (Rejection::TextEmpty, StatusCode::BAD_REQUEST),
            (
                Rejection::ScoreOutOfRange { levels: 5 },
                StatusCode::BAD_REQUEST,
            ),
            (Rejection::AppointmentInvalid, StatusCode::BAD_REQUEST),
            (
                Rejection::DossierInvalid { max: 40 },
                StatusCode::BAD_REQUEST,
            ),
            (Rejection::QueueEmpty, StatusCode::CONFLICT),
            (Rejection::CounterClosed, StatusCode::CONFLICT),
            (Rejection::AlreadyRated, StatusCode::CONFLICT),
        ];
        for (r, status) in cases {
            let e = ApiError::rejected(&r);
            assert_eq!(e.status(), status, "{}", r.code());
            assert_eq!(e.code(), r.code());
            assert!(e.close().is_none());
        }
    }

    /// Protocol §13: a credential that is gone closes 1008, changed rights 1012; a hello's
    /// refusal closes with its own reason and names the hello's field.
    #[test]
    fn errors_that_end_a_socket_carry_their_close() {
        let frame = |e: ApiError| e.close().map(Close::frame);
        assert_eq!(frame(ApiError::SessionEnded), Some((1008, "session ended")));
        assert_eq!(
            frame(ApiError::DeviceRevoked),
            Some((1008, "device revoked"))
        );
        assert_eq!(
            frame(ApiError::AccountChanged),
            Some((1012, "account changed"))
        );
        assert_eq!(frame(ApiError::HelloFirst), Some((1008, "hello first")));
        assert_eq!(
            frame(ApiError::TooManyAnonymous),
            Some((1013, "too many anonymous"))
        );
        assert_eq!(frame(ApiError::RateLimited), None);
        assert_eq!(frame(ApiError::UnknownSite), None);
        let hello = ApiError::UnknownSite.at_hello();
        assert_eq!(
            hello.close().map(Close::frame),
            Some((1008, "unknown site"))
        );
        assert_eq!(hello.to_dto().field.as_deref(), Some("site"));
        let hello = ApiError::UnknownTicket(TicketKey::ExpiredToken).at_hello();
        assert_eq!(
            hello.close().map(Close::frame),
            Some((1008, "ticket unknown"))
        );
        assert_eq!(hello.code(), TICKET_UNKNOWN_ALIAS);
        assert_eq!(hello.to_dto().field.as_deref(), Some("ticket_token"));
        assert_eq!(
            ApiError::UnknownTicket(TicketKey::Number).code(),
            "unknown_ticket"
        );
    }

    /// A print that failed answers `printer_<state>`, the state's own code.
    #[test]
    fn a_failed_print_is_coded_by_the_printer_state() {
        use crate::printer::PrinterState;
        for s in PrinterState::ALL {
            assert_eq!(
                PrinterState::error_code(s.code()),
                format!("printer_{}", s.code())
            );
        }
    }

    /// What REST answers carry beyond the error: Retry-After, the configuration's findings,
    /// the printer's status.
    #[tokio::test]
    async fn rest_answers_carry_what_their_error_adds() {
        let res = ApiError::LoginBackoff { wait_s: 7 }.into_response();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(res.headers()[header::RETRY_AFTER], "7");
        let res = ApiError::RateLimited.into_response();
        assert_eq!(res.headers()[header::RETRY_AFTER], "1");
        let config = ApiError::ConfigInvalid(luot_proto::config::ConfigErrors {
            errors: vec![luot_proto::config::ConfigError {
                file: "config.toml".into(),
                line: 3,
                column: 5,
                message: "bad".into(),
                message_vi: "sai".into(),
            }],
        });
        let res = config.into_response();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["code"], "config_invalid");
        assert_eq!(
            v["message_en"],
            "The configuration has 1 error(s). First, line 3:5: bad"
        );
        assert_eq!(v["errors"][0]["message"], "sai");
        assert_eq!(v["errors"][0]["line"], 3);
    }
}
