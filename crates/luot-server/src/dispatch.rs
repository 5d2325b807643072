//! One way in for commands, from websockets and REST alike: authorize, validate, fill in what a
//! client may not choose (channel, official, token), rate-limit, and hand to the broker.

use crate::App;
use crate::auth::Principal;
use crate::error::{ApiError, AppointmentFault};
use luot_core::{Channel, Command, PersonKey, TicketNumber, TicketRef, Token, TransferTarget};
use luot_proto::{CommandDto, CommandResult, TargetDto, code};
use luot_store::Accounts;
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::sync::Arc;

/// A ticket number as the protocol writes it (§1): 1–3 letters, then 3 or 4 digits. Letters
/// are taken in either case (`a001` is `A001`); anything else (`Z1`, ` A001`) is
/// `invalid_field` `number`, not an unknown ticket.
fn number(s: &str) -> Result<TicketNumber, ApiError> {
    let letters = s.bytes().take_while(u8::is_ascii_alphabetic).count();
    let digits = s.len() - letters;
    let well_formed = (1..=3).contains(&letters)
        && (3..=4).contains(&digits)
        && s.bytes().skip(letters).all(|b| b.is_ascii_digit());
    well_formed
        .then(|| TicketNumber::parse(s))
        .flatten()
        .ok_or_else(|| luot_proto::WireError::invalid("number", s).into())
}

/// How far ahead of now a staff appointment's window may start.
pub const APPOINTMENT_HORIZON_MS: i64 = 12 * 3600 * 1000;

/// An appointment window must start before it ends, end in the future and start within
/// [`APPOINTMENT_HORIZON_MS`]; the error names the field.
fn check_appointment(a: &luot_proto::AppointmentDto, now_ms: i64) -> Result<(), ApiError> {
    let invalid = |f| Err(ApiError::AppointmentWindow(f));
    if a.from_ms >= a.to_ms {
        return invalid(AppointmentFault::Backwards);
    }
    if a.to_ms <= now_ms {
        return invalid(AppointmentFault::Ended);
    }
    if a.from_ms > now_ms + APPOINTMENT_HORIZON_MS {
        return invalid(AppointmentFault::TooFar {
            hours: APPOINTMENT_HORIZON_MS / 3_600_000,
        });
    }
    Ok(())
}

fn token(s: &str) -> Result<Token, ApiError> {
    Token::from_hex(s).ok_or_else(|| luot_proto::WireError::invalid("token", s).into())
}

fn ticket_ref(number_s: &Option<String>, token_s: &Option<String>) -> Result<TicketRef, ApiError> {
    match (number_s, token_s) {
        (_, Some(t)) => Ok(TicketRef::Token(token(t)?)),
        (Some(n), None) => Ok(TicketRef::Number(number(n)?)),
        (None, None) => Err(luot_proto::WireError::missing("number").into()),
    }
}

/// A manager or an admin, not disabled: may act at every counter and on the floor page.
fn manages(p: &Principal) -> bool {
    matches!(p, Principal::User(u) if !u.disabled && u.role.manages())
}

/// May this principal act at this counter?
fn at_counter(p: &Principal, site_code: &str, counter: &str) -> Result<(), ApiError> {
    match p {
        Principal::User(u) if u.disabled => Err(ApiError::Forbidden),
        _ if manages(p) => Ok(()),
        Principal::User(u) => {
            let qualified = format!("{site_code}/{counter}");
            if u.counters.iter().any(|c| c == counter || *c == qualified) {
                Ok(())
            } else {
                Err(ApiError::Forbidden)
            }
        }
        Principal::Anonymous => Err(ApiError::LoginRequired),
        _ => Err(ApiError::Forbidden),
    }
}

/// Digits of a person's ID number: 12 (the citizen ID) or 9 (an old ID card).
pub const PERSON_ID_DIGITS: [usize; 2] = [12, 9];

pub(crate) fn person_key(app: &App, id: &str) -> Result<PersonKey, ApiError> {
    let id = id.trim();
    if !PERSON_ID_DIGITS.contains(&id.len()) || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::InvalidPersonId);
    }
    let mut h = Sha256::new();
    h.update(app.secret);
    h.update(id.as_bytes());
    let d = h.finalize();
    Ok(PersonKey(u64::from_le_bytes(
        d[..8].try_into().expect("8 bytes"),
    )))
}

/// Failed check-ins by number a kiosk may make: guessing four digits takes thousands of tries.
pub const CHECK_IN_TRIES_BURST: f64 = 10.0;
/// ... refilled at this rate (per second): 10 a minute.
pub const CHECK_IN_TRIES_PER_S: f64 = 10.0 / 60.0;

/// A kiosk checking a number in by the ticket's number: the phone's last 4 digits must match
/// the phone it was taken with. Every try counts against the kiosk's limit, so that the digits
/// cannot be guessed.
async fn check_in_by_number(
    app: &Arc<App>,
    site: usize,
    device: i64,
    r: TicketRef,
    last4: Option<&str>,
) -> Result<(), ApiError> {
    let last4 = last4
        .filter(|d| d.len() == 4 && d.bytes().all(|b| b.is_ascii_digit()))
        .ok_or(ApiError::InvalidPhoneLast4)?
        .to_string();
    if !app.check_in_limiter.allow(&format!("device:{device}")) {
        return Err(ApiError::RateLimited);
    }
    let matches = app
        .broker
        .read(move |v| {
            v.sites[site]
                .resolve(r)
                .and_then(|t| t.phone.as_deref().map(|p| p.ends_with(&last4)))
        })
        .await?;
    match matches {
        Some(true) => Ok(()),
        _ => Err(ApiError::CheckInNoMatch),
    }
}

/// Runs one command for `principal` at `site`.
pub async fn execute(
    app: &Arc<App>,
    principal: &Principal,
    site: usize,
    dto: CommandDto,
    addr: IpAddr,
) -> Result<CommandResult, ApiError> {
    let runtime = app.broker.runtime();
    let rt = &runtime[site];
    let site_code = rt.code.as_str();
    if let Principal::Device(d) = principal {
        if d.site != site_code {
            return Err(ApiError::Forbidden);
        }
    }
    let official = match principal {
        Principal::User(u) => Some(code("official", &u.login)?),
        _ => None,
    };
    let counter_cmd = |c: &str| -> Result<luot_core::Code, ApiError> {
        at_counter(principal, site_code, c)?;
        Ok(code("counter", c)?)
    };
    let floor = floor_context(app, principal, site, &dto).await;
    let cmd = match &dto {
        CommandDto::Issue {
            service,
            priority,
            appointment,
            person_id,
        } => {
            let channel = match principal {
                // An appointment is called before the queue: only staff may make one.
                Principal::Device(d) if d.kind.issues() && appointment.is_some() => {
                    return Err(ApiError::StaffOnlyField("appointment"));
                }
                Principal::Device(d) if d.kind.issues() => Channel::Kiosk,
                Principal::User(u) if !u.disabled => {
                    if let Some(a) = appointment {
                        check_appointment(a, app.clock.now_ms())?;
                        Channel::Appointment
                    } else {
                        Channel::Staff
                    }
                }
                Principal::Anonymous => return Err(ApiError::LoginRequired),
                _ => return Err(ApiError::Forbidden),
            };
            let key = match principal {
                Principal::Device(d) => format!("device:{}", d.id),
                _ => format!("addr:{addr}"),
            };
            if channel == Channel::Kiosk && !app.issue_limiter.allow(&key) {
                app.metrics
                    .rate_limited
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return Err(ApiError::RateLimited);
            }
            // `intake_close` (per session) is the core's: `Site::decide` refuses with
            // `intake_closed`, and the service stats show it.
            Command::Issue {
                phone: None,
                service: code("service", service)?,
                channel,
                priority: luot_proto::code_opt("priority", priority)?,
                token: Token(crate::auth::random_bytes::<16>()),
                appointment: appointment.as_ref().map(|a| luot_core::Appointment {
                    from_ms: a.from_ms,
                    to_ms: a.to_ms,
                }),
                person: person_id
                    .as_deref()
                    .map(|id| person_key(app, id))
                    .transpose()?,
            }
        }
        CommandDto::CallNext { counter } => Command::CallNext {
            counter: counter_cmd(counter)?,
        },
        CommandDto::CallTicket { counter, number: n } => Command::CallTicket {
            counter: counter_cmd(counter)?,
            ticket: TicketRef::Number(number(n)?),
        },
        CommandDto::Recall { counter } => Command::Recall {
            counter: counter_cmd(counter)?,
        },
        CommandDto::Start { counter } => Command::Start {
            counter: counter_cmd(counter)?,
        },
        CommandDto::Complete { counter } => Command::Complete {
            counter: counter_cmd(counter)?,
        },
        CommandDto::NoShow { counter } => Command::NoShow {
            counter: counter_cmd(counter)?,
        },
        CommandDto::Transfer { counter, to, note } => Command::Transfer {
            counter: counter_cmd(counter)?,
            to: match to {
                TargetDto::Service(s) => TransferTarget::Service(code("to", s)?),
                TargetDto::Counter(c) => TransferTarget::Counter(code("to", c)?),
            },
            note: note.clone(),
        },
        CommandDto::OpenCounter { counter } => Command::OpenCounter {
            counter: counter_cmd(counter)?,
            official: official.ok_or(ApiError::Forbidden)?,
        },
        CommandDto::PauseCounter { counter, reason } => {
            let counter = counter_cmd(counter)?;
            // A manager pausing someone else's counter puts a ticket it called back in line,
            // as the absent pause does: the official is not there to serve it.
            if floor.forced {
                Command::PauseAbsent {
                    counter,
                    reason: reason.clone(),
                }
            } else {
                Command::PauseCounter {
                    counter,
                    reason: reason.clone(),
                }
            }
        }
        CommandDto::ResumeCounter { counter } => Command::ResumeCounter {
            counter: counter_cmd(counter)?,
        },
        CommandDto::CloseCounter { counter } => Command::CloseCounter {
            counter: counter_cmd(counter)?,
        },
        CommandDto::Return { number: n } => {
            staff_only(principal)?;
            Command::Return {
                ticket: TicketRef::Number(number(n)?),
            }
        }
        CommandDto::Cancel {
            number: n,
            token: t,
        } => {
            let r = ticket_ref(n, t)?;
            own_ticket_or_staff(principal, site, &r)?;
            Command::Cancel { ticket: r }
        }
        CommandDto::CheckIn {
            number: n,
            token: t,
            phone_last4,
        } => {
            let r = ticket_ref(n, t)?;
            match (principal, r) {
                // The QR code of the ticket is its token: whoever holds it may check in.
                (Principal::Device(d), TicketRef::Token(_)) if d.kind.issues() => {}
                (Principal::Device(d), TicketRef::Number(_)) if d.kind.issues() => {
                    check_in_by_number(app, site, d.id, r, phone_last4.as_deref()).await?
                }
                (Principal::User(_), _) => staff_only(principal)?,
                (Principal::Anonymous, _) => return Err(ApiError::LoginRequired),
                // A citizen cannot check in from home: it would make the hold meaningless.
                _ => return Err(ApiError::Forbidden),
            }
            Command::CheckIn { ticket: r }
        }
        CommandDto::Rate {
            number: n,
            token: t,
            score,
            reason,
        } => {
            let r = ticket_ref(n, t)?;
            match principal {
                Principal::Phone { .. } => own_ticket_or_staff(principal, site, &r)?,
                Principal::Device(d) if d.kind.rates() => {
                    // A counter's tablet rates only what was served at its counter.
                    let counter = d.counter.clone();
                    let served_here = app
                        .broker
                        .read(move |v| {
                            v.sites[site]
                                .resolve(r)
                                .is_some_and(|t| t.counter.map(|c| c.to_string()) == counter)
                        })
                        .await?;
                    if !served_here {
                        return Err(ApiError::Forbidden);
                    }
                }
                Principal::Anonymous => return Err(ApiError::LoginRequired),
                _ => return Err(ApiError::Forbidden),
            }
            Command::Rate {
                ticket: r,
                score: *score,
                reason: reason.clone(),
            }
        }
        CommandDto::AttachDossier {
            counter,
            number: n,
            dossier,
        } => {
            let counter = counter_cmd(counter)?;
            // Checked here as well as in the core, so the error names the field.
            luot_core::site::check_dossier(dossier).map_err(ApiError::Rejected)?;
            Command::AttachDossier {
                counter,
                ticket: TicketRef::Number(number(n)?),
                dossier: dossier.clone(),
            }
        }
        CommandDto::PauseService { service, reason } => {
            manager_only(principal)?;
            Command::PauseService {
                service: code("service", service)?,
                reason: reason.clone(),
            }
        }
        CommandDto::ResumeService { service } => {
            manager_only(principal)?;
            Command::ResumeService {
                service: code("service", service)?,
            }
        }
        CommandDto::RaiseDailyCap { service, cap } => {
            manager_only(principal)?;
            Command::RaiseDailyCap {
                service: code("service", service)?,
                cap: *cap,
            }
        }
    };
    let mut result = app.broker.command(site, cmd).await?;
    if let Some(t) = &result.token {
        result.url = Some(app.ticket_url(t));
    }
    audit_command(app, principal, &dto, &result, &floor, addr).await;
    // A kiosk with a network printer: the ticket is durable now; print it without waiting.
    if let (Principal::Device(d), Some(t), CommandDto::Issue { .. }) =
        (principal, &result.ticket, &dto)
    {
        let number = t.number.clone();
        result.print = print_issued(app, site, site_code, &d.name, &number).await;
    }
    Ok(result)
}

/// What a manager's command changes, read before it runs, for its audit line.
#[derive(Default)]
struct FloorContext {
    /// A manager or admin pausing or closing a counter another official works at.
    forced: bool,
    /// The service's cap in force before a raise.
    cap_before: Option<u32>,
}

async fn floor_context(
    app: &Arc<App>,
    principal: &Principal,
    site: usize,
    dto: &CommandDto,
) -> FloorContext {
    let Principal::User(u) = principal else {
        return FloorContext::default();
    };
    if !manages(principal) {
        return FloorContext::default();
    }
    let (counter, service) = match dto {
        CommandDto::PauseCounter { counter, .. } | CommandDto::CloseCounter { counter } => {
            (counter.clone(), String::new())
        }
        CommandDto::RaiseDailyCap { service, .. } => (String::new(), service.clone()),
        _ => return FloorContext::default(),
    };
    let login = u.login.clone();
    app.broker
        .read(move |v| {
            let s = &v.sites[site];
            let official = luot_core::Code::new(&counter)
                .ok()
                .and_then(|c| s.counter_state(c))
                .and_then(|c| c.official);
            FloorContext {
                forced: official.is_some_and(|o| o.as_str() != login),
                cap_before: luot_core::Code::new(&service)
                    .ok()
                    .and_then(|c| s.daily_cap(c)),
            }
        })
        .await
        .unwrap_or_default()
}

/// Managers and admins only (the floor page's actions on services).
fn manager_only(p: &Principal) -> Result<(), ApiError> {
    match p {
        _ if manages(p) => Ok(()),
        Principal::Anonymous => Err(ApiError::LoginRequired),
        _ => Err(ApiError::Forbidden),
    }
}

/// Cancellations, transfers, returns and the floor page's actions (a counter paused or closed
/// by a manager, a service stopped or resumed, a cap raised) go to the audit log: who, from
/// where, what. The command is already durable, so a failed audit write is logged, not turned
/// into a refusal.
async fn audit_command(
    app: &Arc<App>,
    principal: &Principal,
    dto: &CommandDto,
    result: &CommandResult,
    floor: &FloorContext,
    addr: IpAddr,
) {
    let number = result
        .ticket
        .as_ref()
        .map(|t| t.number.clone())
        .unwrap_or_default();
    let (action, detail) = match dto {
        CommandDto::Cancel { .. } => ("ticket_cancel", number),
        CommandDto::Return { .. } => ("ticket_return", number),
        CommandDto::CheckIn { .. } if matches!(principal, Principal::User(_)) => {
            ("ticket_check_in", number)
        }
        CommandDto::Transfer { counter, to, note } => {
            let to = match to {
                luot_proto::TargetDto::Counter(c) => c,
                luot_proto::TargetDto::Service(s) => s,
            };
            let mut d = format!("{number} {counter} → {to}");
            if !note.is_empty() {
                d.push_str(&format!(": {note}"));
            }
            ("ticket_transfer", d)
        }
        CommandDto::PauseCounter { counter, reason } if floor.forced => {
            ("counter_force_pause", format!("{counter}: {reason}"))
        }
        CommandDto::CloseCounter { counter } if floor.forced => {
            ("counter_force_close", counter.clone())
        }
        CommandDto::PauseService { service, reason } => {
            ("service_pause", format!("{service}: {reason}"))
        }
        CommandDto::ResumeService { service } => ("service_resume", service.clone()),
        CommandDto::RaiseDailyCap { service, cap } => match floor.cap_before {
            Some(before) => ("daily_cap_raise", format!("{service}: {before} → {cap}")),
            None => ("daily_cap_raise", format!("{service}: {cap}")),
        },
        _ => return,
    };
    let (actor, now, from) = (principal.name(), app.clock.now_ms(), addr.to_string());
    if let Err(e) = app
        .accounts(move |c| c.audit_from(now, &actor, action, &detail, &from))
        .await
    {
        tracing::warn!(action, error = %e, "audit line not written");
    }
}

/// Hands a kiosk's new ticket to the kiosk's network printer, if it has one.
async fn print_issued(
    app: &App,
    site: usize,
    site_code: &str,
    kiosk: &str,
    number: &str,
) -> Option<luot_proto::PrintDto> {
    let p = app.printers.for_kiosk(site_code, kiosk)?;
    let n = TicketNumber::parse(number)?;
    let (ticket, _) = crate::printer::ticket_print(app, site, n).await.ok()??;
    Some(p.submit(ticket, None))
}

fn staff_only(p: &Principal) -> Result<(), ApiError> {
    match p {
        Principal::User(u) if !u.disabled => Ok(()),
        Principal::Anonymous => Err(ApiError::LoginRequired),
        _ => Err(ApiError::Forbidden),
    }
}

fn own_ticket_or_staff(p: &Principal, site: usize, r: &TicketRef) -> Result<(), ApiError> {
    match (p, r) {
        (Principal::Phone { site: s, token }, TicketRef::Token(t)) if *s == site && t == token => {
            Ok(())
        }
        (Principal::User(_), _) => staff_only(p),
        (Principal::Anonymous, _) => Err(ApiError::LoginRequired),
        _ => Err(ApiError::Forbidden),
    }
}
