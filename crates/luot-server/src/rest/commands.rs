//! Commands over REST: the generic `commands` route, issuing, ticket and counter actions, a
//! phone acting on its own ticket, and reprints.

use super::site_index;
use crate::App;
use crate::auth::{self, Principal};
use crate::dispatch;
use crate::error::{ApiError, NoPrinter, TicketKey};
use crate::http::body;
use crate::proxy::ClientIp;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use luot_proto::{CommandDto, PrinterStatusDto, TargetDto};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::sync::Arc;

async fn run(
    app: &Arc<App>,
    headers: &HeaderMap,
    addr: IpAddr,
    site: &str,
    dto: CommandDto,
) -> Result<Response, ApiError> {
    let i = site_index(app, site)?;
    let p = auth::principal(app, headers).await;
    let r = dispatch::execute(app, &p, i, dto, addr).await?;
    Ok(Json(r).into_response())
}

#[utoipa::path(
    post,
    path = "/sites/{site}/commands",
    operation_id = "runCommand",
    tag = "commands",
    summary = r#"Run any command"#,
    description = r#"The body is the `command` object of a websocket command message. Answers 200 also for `issue`."#,
    security(("sessionCookie" = []), ("deviceToken" = [])),
    params(
        ("site" = inline(luot_proto::schema::Code), Path, description = "Site code, e.g. `sa-huynh`."),
    ),
    request_body(content = luot_proto::CommandDto, content_type = "application/json"),
    responses(
        (status = 200, description = "OK", body = luot_proto::CommandResult, content_type = "application/json"),
        (status = 400, response = crate::rest::doc::BadRequest),
        (status = 401, response = crate::rest::doc::Unauthorized),
        (status = 403, response = crate::rest::doc::Forbidden),
        (status = 404, response = crate::rest::doc::NotFound),
        (status = 409, response = crate::rest::doc::Conflict),
        (status = 413, response = crate::rest::doc::PayloadTooLarge),
        (status = 429, response = crate::rest::doc::TooManyRequests),
        (status = 503, response = crate::rest::doc::ServiceUnavailable),
    )
)]
pub(super) async fn command(
    State(app): State<Arc<App>>,
    ClientIp(addr): ClientIp,
    headers: HeaderMap,
    Path(site): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let dto: CommandDto = body(&bytes)?;
    run(&app, &headers, addr, &site, dto).await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct IssueBody {
    #[schema(value_type = luot_proto::schema::Code)]
    service: String,
    /// Priority category code.
    #[serde(default)]
    #[schema(nullable = false, value_type = Option<luot_proto::schema::Code>)]
    priority: Option<String>,
    #[serde(default)]
    #[schema(nullable = false)]
    appointment: Option<luot_proto::AppointmentDto>,
    /// ID number (12 digits, or 9 for an old ID card), for per-person limits; only a keyed hash
    /// is kept.
    #[serde(default)]
    #[schema(nullable = false, pattern = "^\\s*([0-9]{9}|[0-9]{12})\\s*$")]
    person_id: Option<String>,
}

#[utoipa::path(
    post,
    path = "/sites/{site}/tickets",
    operation_id = "issueTicket",
    tag = "commands",
    summary = r#"Issue a ticket"#,
    description = r#"A kiosk device token issues on the `kiosk` channel (1/s, burst 10 per kiosk; refused after the site's intake close time). A user issues on the `staff` channel, without the opening-hours and holiday checks, or on the `appointment` channel when the body has an appointment."#,
    security(("sessionCookie" = []), ("deviceToken" = [])),
    params(
        ("site" = inline(luot_proto::schema::Code), Path, description = "Site code, e.g. `sa-huynh`."),
    ),
    request_body(content = IssueBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Issued; `token` and `url` are for the QR code.", body = luot_proto::CommandResult, content_type = "application/json"),
        (status = 400, response = crate::rest::doc::BadRequest),
        (status = 401, response = crate::rest::doc::Unauthorized),
        (status = 403, response = crate::rest::doc::Forbidden),
        (status = 404, response = crate::rest::doc::NotFound),
        (status = 409, response = crate::rest::doc::Conflict),
        (status = 413, response = crate::rest::doc::PayloadTooLarge),
        (status = 429, response = crate::rest::doc::TooManyRequests),
        (status = 503, response = crate::rest::doc::ServiceUnavailable),
    )
)]
pub(super) async fn issue(
    State(app): State<Arc<App>>,
    ClientIp(addr): ClientIp,
    headers: HeaderMap,
    Path(site): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let b: IssueBody = body(&bytes)?;
    let dto = CommandDto::Issue {
        service: b.service,
        priority: b.priority,
        appointment: b.appointment,
        person_id: b.person_id,
    };
    let mut res = run(&app, &headers, addr, &site, dto).await?;
    *res.status_mut() = StatusCode::CREATED;
    Ok(res)
}

#[utoipa::path(
    post,
    path = "/sites/{site}/tickets/{number}/{action}",
    operation_id = "ticketAction",
    tag = "commands",
    summary = r#"Act on a ticket by number (staff); print it again (kiosk, staff)"#,
    security(("sessionCookie" = []), ("deviceToken" = [])),
    params(
        ("site" = inline(luot_proto::schema::Code), Path, description = "Site code, e.g. `sa-huynh`."),
        ("number" = inline(luot_proto::schema::NumberAsTyped), Path, description = "Ticket number as printed (`A001`); letters are matched case-insensitively and leading zeros are optional."),
        ("action" = inline(TicketAction), Path, description = "`cancel` a waiting ticket, `return` a no-show to the queue, `check-in` a number taken from home (staff), or `reprint` a waiting, called or served ticket on a network printer. `reprint` answers 200 `Reprinted` when printed, 503 with the printer's state when it failed (e.g. `printer_paper_out`), 202 when it still waits in the printer's queue, 409 `no_printer` or `ticket_finished`. A kiosk device may reprint its own printer's kiosk tickets of the last 10 minutes; staff name the `printer` when the site has several."),
    ),
    request_body(content = Option<ReprintBody>, content_type = "application/json"),
    responses(
        (status = 200, description = "OK: a `CommandResult` (cancel, return) or `Reprinted` (reprint).", body = TicketActionReply, content_type = "application/json"),
        (status = 202, description = "`reprint`: queued behind other jobs; the outcome arrives as a `printer` message.", body = Reprinted, content_type = "application/json"),
        (status = 400, response = crate::rest::doc::BadRequest),
        (status = 401, response = crate::rest::doc::Unauthorized),
        (status = 403, response = crate::rest::doc::Forbidden),
        (status = 404, response = crate::rest::doc::NotFound),
        (status = 409, response = crate::rest::doc::Conflict),
        (status = 503, response = crate::rest::doc::ServiceUnavailable),
    )
)]
pub(super) async fn ticket_action(
    State(app): State<Arc<App>>,
    ClientIp(addr): ClientIp,
    headers: HeaderMap,
    Path((site, number, action)): Path<(String, String, String)>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let dto = match action.as_str() {
        "reprint" => return reprint(&app, &headers, &site, &number, &bytes).await,
        "cancel" => CommandDto::Cancel {
            number: Some(number),
            token: None,
        },
        "return" => CommandDto::Return { number },
        "check-in" => {
            // Staff only on this route: a kiosk checks in with the `check_in` command, naming
            // the phone's last 4 digits or the ticket's token.
            match auth::principal(&app, &headers).await {
                Principal::User(_) => {}
                Principal::Anonymous => return Err(ApiError::LoginRequired),
                _ => return Err(ApiError::Forbidden),
            }
            CommandDto::CheckIn {
                number: Some(number),
                token: None,
                phone_last4: None,
            }
        }
        _ => return Err(ApiError::NoRoute { action: true }),
    };
    run(&app, &headers, addr, &site, dto).await
}

/// A kiosk may print again only its own recent tickets: its token is on the paper.
pub const KIOSK_REPRINT_WINDOW_MS: i64 = 10 * 60 * 1000;

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ReprintBody {
    /// Staff only: which printer, when the site has several.
    #[serde(default)]
    #[schema(nullable = false)]
    printer: Option<String>,
}

/// The actions of `POST /sites/{site}/tickets/{number}/{action}`.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "kebab-case")]
#[allow(dead_code)]
enum TicketAction {
    Cancel,
    Return,
    CheckIn,
    Reprint,
}

/// A ticket printed again (200), or still waiting in the printer's queue (202, `queued`).
#[derive(Serialize, utoipa::ToSchema)]
struct Reprinted {
    printed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    queued: Option<bool>,
    printer: PrinterStatusDto,
}

/// A reprint the printer could not do (503): an error whose code is `printer_` and the
/// printer's state, and the printer as it is.
#[derive(Serialize, utoipa::ToSchema)]
struct ReprintFailed {
    code: String,
    message: String,
    message_en: String,
    printed: bool,
    printer: PrinterStatusDto,
}

/// What a ticket action answers: a command's result (`cancel`, `return`) or a reprint's.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum TicketActionReply {
    Command(Box<luot_proto::CommandResult>),
    Reprinted(Reprinted),
}

/// Prints a ticket again on a network printer and says how it went: 200 printed, 503 with the
/// printer's state when it failed, 202 when it is still waiting in the printer's queue.
async fn reprint(
    app: &Arc<App>,
    headers: &HeaderMap,
    site: &str,
    number: &str,
    bytes: &Bytes,
) -> Result<Response, ApiError> {
    let i = site_index(app, site)?;
    let b: ReprintBody = if bytes.is_empty() {
        ReprintBody::default()
    } else {
        body(bytes)?
    };
    let n = luot_core::TicketNumber::parse(number)
        .ok_or_else(|| ApiError::from(luot_proto::WireError::invalid("number", number)))?;
    let who = auth::principal(app, headers).await;
    let printer = match &who {
        Principal::Device(d) if d.kind.issues() && d.site == site => app
            .printers
            .for_kiosk(site, &d.name)
            .ok_or(ApiError::NoPrinter(NoPrinter::Kiosk))?,
        Principal::User(u) if !u.disabled => match &b.printer {
            Some(name) => app
                .printers
                .by_name(site, name)
                .ok_or(ApiError::UnknownPrinter)?,
            None => match app.printers.of_site(site).as_slice() {
                [only] => *only,
                [] => {
                    return Err(ApiError::NoPrinter(NoPrinter::Site));
                }
                _ => {
                    return Err(ApiError::NoPrinter(NoPrinter::Several));
                }
            },
        },
        Principal::Anonymous => return Err(ApiError::LoginRequired),
        _ => return Err(ApiError::Forbidden),
    };
    let unknown = || ApiError::UnknownTicket(TicketKey::Number);
    let (ticket, t) = crate::printer::ticket_print(app, i, n)
        .await?
        .ok_or_else(unknown)?;
    use luot_core::TicketState as S;
    if !matches!(t.state, S::Waiting | S::Called | S::Serving) {
        return Err(ApiError::TicketFinished);
    }
    if matches!(who, Principal::Device(_))
        && (t.channel != luot_core::Channel::Kiosk
            || app.clock.now_ms() - t.issued_at_ms > KIOSK_REPRINT_WINDOW_MS)
    {
        return Err(ApiError::Forbidden);
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    let queued = printer.submit(ticket, Some(tx));
    if queued.error.is_some() {
        return Err(ApiError::PrinterBusy);
    }
    // Long enough for the jobs ahead of it in a short queue; then answer "still queued".
    let wait = std::time::Duration::from_millis(u64::from(printer.settings.timeout_ms))
        * (crate::printer::SEND_TIMEOUT_FACTOR + 3);
    Ok(match tokio::time::timeout(wait, rx).await {
        Ok(Ok(st)) if st.ok => Json(Reprinted {
            printed: true,
            queued: None,
            printer: st,
        })
        .into_response(),
        Ok(Ok(st)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(ReprintFailed {
                code: format!("printer_{}", st.state),
                message: st.message.clone(),
                message_en: st.message_en.clone(),
                printed: false,
                printer: st,
            }),
        )
            .into_response(),
        _ => (
            StatusCode::ACCEPTED,
            Json(Reprinted {
                printed: false,
                queued: Some(true),
                printer: printer.status(),
            }),
        )
            .into_response(),
    })
}

/// Fields used by some counter actions; an empty body is the same as `{}`.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CounterActionBody)]
struct CounterBody {
    /// Required by `call` and `dossier`.
    #[serde(default)]
    #[schema(nullable = false, value_type = Option<luot_proto::schema::NumberAsTyped> )]
    number: Option<String>,
    /// Required by `pause`.
    #[serde(default)]
    #[schema(nullable = false, max_length = 500)]
    reason: Option<String>,
    /// Required by `transfer`.
    #[serde(default)]
    #[schema(nullable = false)]
    to: Option<TargetDto>,
    /// For `transfer`.
    #[serde(default)]
    #[schema(nullable = false, max_length = 500)]
    note: Option<String>,
    /// Required by `dossier` (with `number`): a dossier code, 1–40 unaccented letters, digits and
    /// `. - / _` (surrounding spaces are trimmed); otherwise refused with `dossier_invalid` (400).
    #[serde(default)]
    #[schema(
        nullable = false,
        pattern = "^\\s*[A-Za-z0-9./_-]{1,40}\\s*$",
        example = "000.00.28.H26-241128-0001"
    )]
    dossier: Option<String>,
}

/// The actions of `POST /sites/{site}/counters/{counter}/{action}`.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "kebab-case")]
#[allow(dead_code)]
enum CounterAction {
    CallNext,
    Call,
    Recall,
    Start,
    Complete,
    NoShow,
    Transfer,
    Open,
    Pause,
    Resume,
    Close,
    Dossier,
}

#[utoipa::path(
    post,
    path = "/sites/{site}/counters/{counter}/{action}",
    operation_id = "counterAction",
    tag = "commands",
    summary = r#"Act at a counter"#,
    description = r#"Officials act only at the counters on their account; managers and admins at any counter."#,
    security(("sessionCookie" = [])),
    params(
        ("site" = inline(luot_proto::schema::Code), Path, description = "Site code, e.g. `sa-huynh`."),
        ("counter" = inline(luot_proto::schema::Code), Path, description = "Counter code, e.g. `quay-4`."),
        ("action" = inline(CounterAction), Path, description = "`call` needs `number`; `transfer` needs `to` (and may have `note`); `pause` needs `reason`. `dossier` needs `number` and `dossier`."),
    ),
    request_body(content = Option<CounterBody>, content_type = "application/json"),
    responses(
        (status = 200, description = "OK", body = luot_proto::CommandResult, content_type = "application/json"),
        (status = 400, response = crate::rest::doc::BadRequest),
        (status = 401, response = crate::rest::doc::Unauthorized),
        (status = 403, response = crate::rest::doc::Forbidden),
        (status = 404, response = crate::rest::doc::NotFound),
        (status = 409, response = crate::rest::doc::Conflict),
        (status = 413, response = crate::rest::doc::PayloadTooLarge),
        (status = 503, response = crate::rest::doc::ServiceUnavailable),
    )
)]
pub(super) async fn counter_action(
    State(app): State<Arc<App>>,
    ClientIp(addr): ClientIp,
    headers: HeaderMap,
    Path((site, counter, action)): Path<(String, String, String)>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let b: CounterBody = if bytes.is_empty() {
        CounterBody::default()
    } else {
        body(&bytes)?
    };
    let missing = |f: &'static str| -> ApiError { luot_proto::WireError::missing(f).into() };
    let dto = match action.as_str() {
        "call-next" => CommandDto::CallNext { counter },
        "call" => CommandDto::CallTicket {
            counter,
            number: b.number.ok_or_else(|| missing("number"))?,
        },
        "recall" => CommandDto::Recall { counter },
        "start" => CommandDto::Start { counter },
        "complete" => CommandDto::Complete { counter },
        "no-show" => CommandDto::NoShow { counter },
        "transfer" => CommandDto::Transfer {
            counter,
            to: b.to.ok_or_else(|| missing("to"))?,
            note: b.note.unwrap_or_default(),
        },
        "open" => CommandDto::OpenCounter { counter },
        "pause" => CommandDto::PauseCounter {
            counter,
            reason: b.reason.ok_or_else(|| missing("reason"))?,
        },
        "resume" => CommandDto::ResumeCounter { counter },
        "close" => CommandDto::CloseCounter { counter },
        "dossier" => CommandDto::AttachDossier {
            counter,
            number: b.number.ok_or_else(|| missing("number"))?,
            dossier: b.dossier.ok_or_else(|| missing("dossier"))?,
        },
        _ => return Err(ApiError::NoRoute { action: true }),
    };
    run(&app, &headers, addr, &site, dto).await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RateBody {
    /// 1 is the best level; at most the site's number of levels (3–5).
    #[schema(minimum = 1, maximum = 5)]
    score: u8,
    /// At most 500 bytes.
    #[serde(default)]
    #[schema(nullable = false, max_length = 500)]
    reason: Option<String>,
}

/// The actions of `POST /tickets/{token}/{action}`.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "kebab-case")]
#[allow(dead_code)]
enum PhoneAction {
    Cancel,
    Rate,
}

/// A phone acting on its own ticket: the token in the path is its proof.
#[utoipa::path(
    post,
    path = "/tickets/{token}/{action}",
    operation_id = "phoneAction",
    tag = "phone",
    summary = r#"The phone cancels or rates its own ticket"#,
    description = r#"The token in the path is the proof. `rate` needs a body; `cancel` takes none."#,
    security(()),
    params(
        ("token" = inline(luot_proto::schema::TicketToken), Path, description = "The ticket's public token: the proof of a phone page."),
        ("action" = inline(PhoneAction), Path),
    ),
    request_body(content = Option<RateBody>, content_type = "application/json"),
    responses(
        (status = 200, description = "OK", body = luot_proto::CommandResult, content_type = "application/json"),
        (status = 400, response = crate::rest::doc::BadRequest),
        (status = 403, response = crate::rest::doc::Forbidden),
        (status = 404, response = crate::rest::doc::NotFound),
        (status = 409, response = crate::rest::doc::Conflict),
        (status = 413, response = crate::rest::doc::PayloadTooLarge),
        (status = 503, response = crate::rest::doc::ServiceUnavailable),
    )
)]
pub(super) async fn phone_action(
    State(app): State<Arc<App>>,
    ClientIp(addr): ClientIp,
    Path((token, action)): Path<(String, String)>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let t = luot_core::Token::from_hex(&token).ok_or(ApiError::UnknownTicket(TicketKey::Token))?;
    let site = app
        .broker
        .read(move |v| {
            v.sites
                .iter()
                .position(|s| s.resolve(luot_core::TicketRef::Token(t)).is_some())
        })
        .await?
        .ok_or(ApiError::UnknownTicket(TicketKey::Token))?;
    let dto = match action.as_str() {
        "cancel" => CommandDto::Cancel {
            number: None,
            token: Some(token),
        },
        "rate" => {
            let b: RateBody = body(&bytes)?;
            CommandDto::Rate {
                number: None,
                token: Some(token),
                score: b.score,
                reason: b.reason,
            }
        }
        _ => return Err(ApiError::NoRoute { action: true }),
    };
    let p = Principal::Phone { site, token: t };
    let r = dispatch::execute(&app, &p, site, dto, addr).await?;
    Ok(Json(r).into_response())
}
