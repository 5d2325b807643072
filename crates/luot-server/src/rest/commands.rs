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
use luot_proto::{CommandDto, TargetDto};
use serde::Deserialize;
use serde_json::json;
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
    responses()
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IssueBody {
    service: String,
    #[serde(default)]
    priority: Option<String>,
    #[serde(default)]
    appointment: Option<luot_proto::AppointmentDto>,
    #[serde(default)]
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
    responses()
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
    responses()
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
        _ => return Err(ApiError::NoRoute { action: true }),
    };
    run(&app, &headers, addr, &site, dto).await
}

/// A kiosk may print again only its own recent tickets: its token is on the paper.
pub const KIOSK_REPRINT_WINDOW_MS: i64 = 10 * 60 * 1000;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReprintBody {
    #[serde(default)]
    printer: Option<String>,
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
        Ok(Ok(st)) if st.ok => Json(json!({"printed": true, "printer": st})).into_response(),
        Ok(Ok(st)) => ApiError::PrintFailed(Box::new(st)).into_response(),
        _ => (
            StatusCode::ACCEPTED,
            Json(json!({"printed": false, "queued": true, "printer": printer.status()})),
        )
            .into_response(),
    })
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CounterBody {
    #[serde(default)]
    number: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    to: Option<TargetDto>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    dossier: Option<String>,
}

#[utoipa::path(
    post,
    path = "/sites/{site}/counters/{counter}/{action}",
    operation_id = "counterAction",
    tag = "commands",
    summary = r#"Act at a counter"#,
    description = r#"Officials act only at the counters on their account; managers and admins at any counter."#,
    security(("sessionCookie" = [])),
    responses()
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RateBody {
    score: u8,
    #[serde(default)]
    reason: Option<String>,
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
    responses()
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
