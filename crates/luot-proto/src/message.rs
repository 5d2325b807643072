//! Messages on the websocket (`/ws`) and the bodies of the REST API.

use crate::event::{AppointmentDto, EventDto, TargetDto};
use crate::snapshot::{ServiceStatsDto, SiteSnapshot, TicketView};
use serde::{Deserialize, Serialize};

/// Who a websocket client says it is. The server checks the claim against a device token, an
/// official's session or a ticket token; an unproven claim gets public data only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Role {
    Kiosk,
    Display,
    Counter,
    Rating,
    Phone,
    Admin,
}

impl Role {
    /// Whether this role's snapshots list every waiting ticket. Only the people who choose whom
    /// to call need the list; the others show counts, and a public screen shows no more than it
    /// must.
    pub fn lists_waiting(self) -> bool {
        matches!(self, Role::Counter | Role::Admin)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Kiosk => "kiosk",
            Role::Display => "display",
            Role::Counter => "counter",
            Role::Rating => "rating",
            Role::Phone => "phone",
            Role::Admin => "admin",
        }
    }
}

/// Client → server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ClientMessage {
    /// The first message on a socket.
    Hello {
        role: Role,
        /// Site code; the first site when omitted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(nullable = false, value_type = Option<crate::schema::Code>) )]
        site: Option<String>,
        /// The last `seq` this client applied: the server replays what came after, or sends a
        /// fresh snapshot when that is too old.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(nullable = false))]
        resume_from: Option<u64>,
        /// A paired device's token (kiosk, display, rating tablet).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(
            feature = "openapi",
            schema(nullable = false, pattern = "^[0-9a-f]{64}$")
        )]
        device_token: Option<String>,
        /// A phone page's ticket token.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(nullable = false, value_type = Option<crate::schema::TicketToken>) )]
        ticket_token: Option<String>,
    },
    /// A command; answered by exactly one `reply` with the same `id`.
    Command { id: String, command: CommandDto },
}

/// A command as clients send it. The server fills in what it must not trust from a client: the
/// channel, the official, the public token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CommandDto {
    Issue {
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
        service: String,
        /// Priority category code.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(nullable = false, value_type = Option<crate::schema::Code>) )]
        priority: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(nullable = false))]
        appointment: Option<AppointmentDto>,
        /// ID card number, for per-person limits; only a keyed hash of it is kept.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(
            feature = "openapi",
            schema(nullable = false, pattern = "^\\s*([0-9]{9}|[0-9]{12})\\s*$")
        )]
        person_id: Option<String>,
    },
    CallNext {
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
        counter: String,
    },
    CallTicket {
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
        counter: String,
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::NumberAsTyped) )]
        number: String,
    },
    Recall {
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
        counter: String,
    },
    Start {
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
        counter: String,
    },
    Complete {
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
        counter: String,
    },
    NoShow {
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
        counter: String,
    },
    Return {
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::NumberAsTyped) )]
        number: String,
    },
    Transfer {
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
        counter: String,
        to: TargetDto,
        /// At most 500 bytes.
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(max_length = 500))]
        note: String,
    },
    Cancel {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(nullable = false, value_type = Option<crate::schema::NumberAsTyped> ) )]
        number: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(nullable = false, value_type = Option<crate::schema::TicketToken>) )]
        token: Option<String>,
    },
    /// A number taken from home is in the hall. A kiosk names it by the token in its QR code, or
    /// by its number and the last 4 digits of the phone it was taken with; an official by its
    /// number.
    CheckIn {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(nullable = false, value_type = Option<crate::schema::NumberAsTyped> ) )]
        number: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(nullable = false, value_type = Option<crate::schema::TicketToken>) )]
        token: Option<String>,
        /// A kiosk checking in by number: the last 4 digits of the phone it was taken with.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(nullable = false, pattern = "^[0-9]{4}$"))]
        phone_last4: Option<String>,
    },
    OpenCounter {
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
        counter: String,
    },
    PauseCounter {
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
        counter: String,
        /// At most 500 bytes.
        #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 500))]
        reason: String,
    },
    ResumeCounter {
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
        counter: String,
    },
    CloseCounter {
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
        counter: String,
    },
    Rate {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(nullable = false, value_type = Option<crate::schema::NumberAsTyped> ) )]
        number: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(nullable = false, value_type = Option<crate::schema::TicketToken>) )]
        token: Option<String>,
        /// 1 is the best level; at most the site's number of levels (3–5).
        #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 5))]
        score: u8,
        /// At most 500 bytes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(nullable = false, max_length = 500))]
        reason: Option<String>,
    },
    /// Managers: stop issuing for one service now, with a reason the kiosk shows.
    PauseService {
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
        service: String,
        /// At most 500 bytes.
        #[cfg_attr(feature = "openapi", schema(max_length = 500))]
        reason: String,
    },
    ResumeService {
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
        service: String,
    },
    /// Managers: raise today's daily cap of one service.
    RaiseDailyCap {
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
        service: String,
        /// Today's new cap: more than the cap in force, at most the site's tickets_per_day_max.
        #[cfg_attr(feature = "openapi", schema(minimum = 1))]
        cap: u32,
    },
    /// The official attaches the dossier code (mã hồ sơ) to a ticket of their counter.
    AttachDossier {
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
        counter: String,
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::NumberAsTyped) )]
        number: String,
        /// A dossier code: 1–40 unaccented letters, digits and `. - / _` (surrounding spaces are
        /// trimmed). Otherwise refused with `dossier_invalid` (400).
        #[cfg_attr(
            feature = "openapi",
            schema(
                pattern = "^\\s*[A-Za-z0-9./_-]{1,40}\\s*$",
                example = "000.00.28.H26-241128-0001"
            )
        )]
        dossier: String,
    },
}

impl CommandDto {
    pub fn kind(&self) -> &'static str {
        match self {
            CommandDto::Issue { .. } => "issue",
            CommandDto::CallNext { .. } => "call_next",
            CommandDto::CallTicket { .. } => "call_ticket",
            CommandDto::Recall { .. } => "recall",
            CommandDto::Start { .. } => "start",
            CommandDto::Complete { .. } => "complete",
            CommandDto::NoShow { .. } => "no_show",
            CommandDto::Return { .. } => "return",
            CommandDto::Transfer { .. } => "transfer",
            CommandDto::Cancel { .. } => "cancel",
            CommandDto::CheckIn { .. } => "check_in",
            CommandDto::OpenCounter { .. } => "open_counter",
            CommandDto::PauseCounter { .. } => "pause_counter",
            CommandDto::ResumeCounter { .. } => "resume_counter",
            CommandDto::CloseCounter { .. } => "close_counter",
            CommandDto::Rate { .. } => "rate",
            CommandDto::AttachDossier { .. } => "attach_dossier",
            CommandDto::PauseService { .. } => "pause_service",
            CommandDto::ResumeService { .. } => "resume_service",
            CommandDto::RaiseDailyCap { .. } => "raise_daily_cap",
        }
    }

    /// The counter the command acts at, if any (for authorization).
    pub fn counter(&self) -> Option<&str> {
        match self {
            CommandDto::CallNext { counter }
            | CommandDto::CallTicket { counter, .. }
            | CommandDto::Recall { counter }
            | CommandDto::Start { counter }
            | CommandDto::Complete { counter }
            | CommandDto::NoShow { counter }
            | CommandDto::Transfer { counter, .. }
            | CommandDto::OpenCounter { counter }
            | CommandDto::PauseCounter { counter, .. }
            | CommandDto::ResumeCounter { counter }
            | CommandDto::CloseCounter { counter } => Some(counter),
            _ => None,
        }
    }
}

/// An error with a stable code and a message in both languages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(examples(json!({"code": "counter_busy", "message": "Quầy đang phục vụ số A001: hãy hoàn thành hoặc báo vắng trước", "message_en": "The counter is serving A001: complete it or mark a no-show first" }))))]
pub struct ErrorDto {
    /// Stable machine code (see docs/protocol.md §12).
    pub code: String,
    /// Vietnamese, for people.
    pub message: String,
    /// English, for people.
    pub message_en: String,
    /// The field or place the error is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub field: Option<String>,
}

impl ErrorDto {
    pub fn new(code: &str, vi: impl Into<String>, en: impl Into<String>) -> ErrorDto {
        ErrorDto {
            code: code.into(),
            message: vi.into(),
            message_en: en.into(),
            field: None,
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> ErrorDto {
        self.field = Some(field.into());
        self
    }

    pub fn from_rejection(r: &luot_core::Rejection) -> ErrorDto {
        let (vi, en) = r.message();
        ErrorDto::new(r.code(), vi, en)
    }
}

/// What a successful command returns.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommandResult {
    /// Sequence number of the command's last event: durable when this reply is sent.
    pub seq: u64,
    /// The ticket the command was about (issued, called, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub ticket: Option<TicketView>,
    /// For `issue` only: the public token and the phone page's URL, for the QR code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false, value_type = Option<crate::schema::TicketToken>) )]
    pub token: Option<String>,
    /// `issue` only: the phone page, for the QR code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub url: Option<String>,
    /// For `issue` from a kiosk with a network printer: the print job was handed to it. How it
    /// went arrives later as a `printer` message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub print: Option<PrintDto>,
}

/// A print job handed to a network printer (or refused because its queue is full).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Print))]
pub struct PrintDto {
    pub printer: String,
    /// False when the printer's queue was full: nothing will be printed.
    pub queued: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub error: Option<ErrorDto>,
}

/// A network printer as the server last found it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = PrinterStatus))]
pub struct PrinterStatusDto {
    pub name: String,
    pub site: String,
    /// The kiosk device it prints for.
    pub kiosk: String,
    /// `unknown` (nothing printed yet), `ok`, `paper_near_end`, `paper_out`, `offline`,
    /// `unreachable`, `timeout`, `bad_reply`, `busy`.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::PrinterStateCode))]
    pub state: String,
    /// True when it can print (`ok`, `paper_near_end`, `unknown`).
    pub ok: bool,
    /// Vietnamese, then English; for a failure it says the ticket stays valid.
    pub message: String,
    pub message_en: String,
    /// Unix epoch milliseconds: when it entered this state.
    pub since_ms: i64,
    /// The ticket of the last job (printed or not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub ticket: Option<String>,
    pub printed: u64,
    pub failed: u64,
}

/// Server → client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ServerMessage {
    /// Answer to `hello`: who the server takes this client for.
    Welcome {
        /// Protocol version.
        v: u32,
        role: Role,
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
        site: String,
        /// True when the client's claim was proven (device token, session, ticket token).
        authenticated: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(nullable = false))]
        user: Option<String>,
        /// Unix epoch milliseconds.
        server_time_ms: i64,
        /// For a kiosk with a network printer: that printer's state now.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(nullable = false))]
        printer: Option<PrinterStatusDto>,
    },
    /// The whole state at `seq`; events with larger `seq` follow.
    Snapshot {
        /// Protocol version.
        v: u32,
        seq: u64,
        snapshot: Box<SiteSnapshot>,
    },
    Event {
        /// Protocol version.
        v: u32,
        seq: u64,
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
        site: String,
        /// Unix epoch milliseconds.
        at_ms: i64,
        event: EventDto,
        /// The ticket the event is about, as it is after the event (no secrets), so a client
        /// can draw it without having seen it before.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(nullable = false))]
        ticket: Option<TicketView>,
        /// Waiting counts and estimates of the services this event changed.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        stats: Vec<ServiceStatsDto>,
    },
    /// For a phone socket: its ticket as it is now.
    Ticket {
        /// Protocol version.
        v: u32,
        seq: u64,
        ticket: TicketView,
    },
    Reply {
        /// Protocol version.
        v: u32,
        id: String,
        ok: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(nullable = false))]
        result: Option<CommandResult>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(nullable = false))]
        error: Option<ErrorDto>,
    },
    /// A problem with the socket or a frame that is not about one command.
    Error { v: u32, error: ErrorDto },
    /// The center's configuration changed: reload `/api/v1/sites/{site}/setup` and resync.
    Config { v: u32, seq: u64 },
    /// A network printer's state after a job (printed, or failed: paper out, unreachable…).
    Printer { v: u32, printer: PrinterStatusDto },
    /// A session boundary passed (a service opened or closed for the day or for lunch, or the
    /// site's `intake_close`): every service's stats of `site` as of `at_ms`. The server sends
    /// it at the boundary itself, so no client has to watch the clock.
    Stats {
        v: u32,
        site: String,
        at_ms: i64,
        stats: Vec<ServiceStatsDto>,
    },
    /// Fresh wait estimates (computed off the broker after the state changed, or as time runs
    /// on): the stats of the services whose estimate changed, as they are now.
    Estimates {
        v: u32,
        site: String,
        at_ms: i64,
        /// The last event the estimates took into account.
        as_of_seq: u64,
        stats: Vec<ServiceStatsDto>,
    },
    /// Issuing stopped (storage fault) or resumed; kiosks show "tạm ngưng cấp số".
    Intake {
        /// Protocol version.
        v: u32,
        open: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(nullable = false))]
        reason: Option<ErrorDto>,
    },
}
