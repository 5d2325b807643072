//! Events on the wire and in the store. One JSON shape for both; the broadcast form is the same
//! event with its secrets (public token, person key) removed.

use crate::{Wire, WireError, code, code_opt};
use luot_core as core;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Appointment))]
pub struct AppointmentDto {
    /// Unix epoch milliseconds.
    pub from_ms: i64,
    /// Unix epoch milliseconds.
    pub to_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = CarriedTicket))]
pub struct CarriedTicketDto {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::TicketNumber) )]
    pub number: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Day))]
    pub issued_day: String,
    /// Unix epoch milliseconds.
    pub issued_at_ms: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
    pub service: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::ChannelCode))]
    pub channel: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false, value_type = Option<crate::schema::Code>) )]
    pub priority: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub appointment: Option<AppointmentDto>,
}

/// `{"kind": "service", "code": "khai-sinh"}` or `{"kind": "counter", "code": "quay-4"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "code", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Target))]
pub enum TargetDto {
    Service(String),
    Counter(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ServiceTime))]
pub struct ServiceTimeDto {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
    pub service: String,
    pub mean_s: u32,
    pub dev_s: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EventDto {
    DayClosed {
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Day))]
        day: String,
        expired: Vec<u64>,
        carried: Vec<u64>,
    },
    DayOpened {
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Day))]
        day: String,
        /// Ticket id within the day.
        first_ticket_id: u64,
        carried: Vec<CarriedTicketDto>,
        service_times: Vec<ServiceTimeDto>,
    },
    TicketIssued {
        /// Ticket id within the day.
        ticket: u64,
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::TicketNumber) )]
        number: String,
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
        service: String,
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::ChannelCode))]
        channel: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(nullable = false, value_type = Option<crate::schema::Code>) )]
        priority: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        person: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(nullable = false))]
        appointment: Option<AppointmentDto>,
        /// A number taken from home: the citizen's mobile number (a secret, like the token).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(
            feature = "openapi",
            schema(nullable = false, pattern = "^0[35789][0-9]{8}$")
        )]
        phone: Option<String>,
    },
    TicketCheckedIn {
        /// Ticket id within the day.
        ticket: u64,
        /// Checked in before its turn or within `remote_hold_min` of it: it waits at its place by
        /// issue time; otherwise from the check-in.
        kept_place: bool,
    },
    TicketCalled {
        /// Ticket id within the day.
        ticket: u64,
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
        counter: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(nullable = false, value_type = Option<crate::schema::Code>) )]
        official: Option<String>,
        /// Why it was last called.
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::CallReasonCode))]
        reason: String,
        /// For reason `aged` only.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(nullable = false))]
        waited_s: Option<u32>,
    },
    TicketRecalled {
        /// Ticket id within the day.
        ticket: u64,
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
        counter: String,
        #[cfg_attr(feature = "openapi", schema(minimum = 1))]
        recalls: u8,
    },
    ServiceStarted {
        /// Ticket id within the day.
        ticket: u64,
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
        counter: String,
    },
    ServiceCompleted {
        /// Ticket id within the day.
        ticket: u64,
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
        counter: String,
        service_s: u32,
    },
    TicketNoShow {
        /// Ticket id within the day.
        ticket: u64,
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
        counter: String,
    },
    TicketReturned {
        /// Ticket id within the day.
        ticket: u64,
    },
    TicketTransferred {
        /// Ticket id within the day.
        ticket: u64,
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
        from_counter: String,
        to: TargetDto,
        note: String,
    },
    TicketCancelled {
        /// Ticket id within the day.
        ticket: u64,
    },
    TicketRated {
        /// Ticket id within the day.
        ticket: u64,
        #[cfg_attr(feature = "openapi", schema(minimum = 1))]
        score: u8,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(nullable = false))]
        reason: Option<String>,
    },
    /// `dossier` is dropped from what public sockets receive (`redacted`).
    DossierAttached {
        /// Ticket id within the day.
        ticket: u64,
        counter: String,
        /// Absent on websockets (broadcast events are redacted); kept in the stored event.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(nullable = false))]
        dossier: Option<String>,
    },
    CounterOpened {
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
        counter: String,
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
        official: String,
    },
    CounterPaused {
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
        counter: String,
        reason: String,
        /// A called ticket put back in line by a pause for an absent console.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        requeued: Option<u64>,
    },
    CounterResumed {
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
        counter: String,
    },
    CounterClosed {
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
        counter: String,
    },
    ServicePaused {
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
        service: String,
        reason: String,
    },
    ServiceResumed {
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
        service: String,
    },
    DailyCapRaised {
        #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Code))]
        service: String,
        cap: u32,
    },
}

impl EventDto {
    /// The same event without secrets, for sockets that may not see them.
    pub fn redacted(&self) -> EventDto {
        let mut e = self.clone();
        match &mut e {
            EventDto::TicketIssued {
                token,
                person,
                phone,
                ..
            } => {
                *token = None;
                *person = None;
                *phone = None;
            }
            EventDto::DayOpened { carried, .. } => {
                for c in carried {
                    c.token = None;
                    c.person = None;
                }
            }
            EventDto::DossierAttached { dossier, .. } => *dossier = None,
            _ => {}
        }
        e
    }
}

fn reason_to_wire(r: core::CallReason) -> (String, Option<u32>) {
    let waited = match r {
        core::CallReason::Aged { waited_s } => Some(waited_s),
        _ => None,
    };
    (r.code().to_string(), waited)
}

pub(crate) fn reason_from_wire(
    s: &str,
    waited_s: Option<u32>,
) -> Result<core::CallReason, WireError> {
    use core::CallReason::*;
    Ok(match s {
        "requested" => Requested,
        "transferred" => Transferred,
        "appointment" => Appointment,
        "aged" => Aged {
            waited_s: waited_s.unwrap_or(0),
        },
        "priority_counter" => PriorityCounter,
        "priority_first" => PriorityFirst,
        // Written before priority went first (December 2026): the interleave gave a priority
        // ticket its turn over normal ones, which is what `priority_first` says.
        "priority_turn" => PriorityFirst,
        "priority_only" => PriorityOnly,
        "normal_turn" => NormalTurn,
        "next_in_line" => NextInLine,
        "service_weight" => ServiceWeight,
        _ => return Err(WireError::invalid("reason", s)),
    })
}

pub(crate) fn day_from_wire(s: &str) -> Result<core::Day, WireError> {
    parse_day(s).ok_or_else(|| WireError::invalid("day", s))
}

/// `YYYY-MM-DD`.
pub fn parse_day(s: &str) -> Option<core::Day> {
    let mut it = s.split('-');
    let (y, m, d) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i32, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    if !(1..=12).contains(&m) || d == 0 {
        return None;
    }
    let day = core::Day::from_ymd(y, m, d);
    (day.ymd() == (y, m, d)).then_some(day)
}

fn number(s: &str) -> Result<core::TicketNumber, WireError> {
    core::TicketNumber::parse(s).ok_or_else(|| WireError::invalid("number", s))
}

fn channel(s: &str) -> Result<core::Channel, WireError> {
    core::Channel::parse(s).ok_or_else(|| WireError::invalid("channel", s))
}

fn token_opt(t: &Option<String>) -> Result<core::Token, WireError> {
    let s = t.as_deref().ok_or_else(|| WireError::missing("token"))?;
    core::Token::from_hex(s).ok_or_else(|| WireError::invalid("token", s))
}

fn appointment(a: &Option<AppointmentDto>) -> Option<core::Appointment> {
    a.as_ref().map(|a| core::Appointment {
        from_ms: a.from_ms,
        to_ms: a.to_ms,
    })
}

fn appointment_dto(a: &Option<core::Appointment>) -> Option<AppointmentDto> {
    a.map(|a| AppointmentDto {
        from_ms: a.from_ms,
        to_ms: a.to_ms,
    })
}

impl Wire for core::Event {
    type Dto = EventDto;

    fn to_wire(&self) -> EventDto {
        use core::Event as E;
        let s = |c: &core::Code| c.as_str().to_string();
        match self {
            E::DayClosed {
                day,
                expired,
                carried,
            } => EventDto::DayClosed {
                day: day.to_string(),
                expired: expired.iter().map(|t| t.0).collect(),
                carried: carried.iter().map(|t| t.0).collect(),
            },
            E::DayOpened {
                day,
                first_ticket_id,
                carried,
                service_times,
            } => EventDto::DayOpened {
                day: day.to_string(),
                first_ticket_id: first_ticket_id.0,
                carried: carried
                    .iter()
                    .map(|c| CarriedTicketDto {
                        number: c.number.to_string(),
                        issued_day: c.issued_day.to_string(),
                        issued_at_ms: c.issued_at_ms,
                        service: s(&c.service),
                        channel: c.channel.as_str().into(),
                        priority: c.priority.as_ref().map(s),
                        token: Some(c.token.to_hex()),
                        person: c.person.map(|p| p.0),
                        appointment: appointment_dto(&c.appointment),
                    })
                    .collect(),
                service_times: service_times
                    .iter()
                    .map(|(c, mean_s, dev_s)| ServiceTimeDto {
                        service: s(c),
                        mean_s: *mean_s,
                        dev_s: *dev_s,
                    })
                    .collect(),
            },
            E::TicketIssued {
                ticket,
                number,
                service,
                channel,
                priority,
                token,
                person,
                appointment,
                phone,
            } => EventDto::TicketIssued {
                ticket: ticket.0,
                number: number.to_string(),
                service: s(service),
                channel: channel.as_str().into(),
                priority: priority.as_ref().map(s),
                token: Some(token.to_hex()),
                person: person.map(|p| p.0),
                appointment: appointment_dto(appointment),
                phone: phone.clone(),
            },
            E::TicketCheckedIn { ticket, kept_place } => EventDto::TicketCheckedIn {
                ticket: ticket.0,
                kept_place: *kept_place,
            },
            E::TicketCalled {
                ticket,
                counter,
                official,
                reason,
            } => {
                let (reason, waited_s) = reason_to_wire(*reason);
                EventDto::TicketCalled {
                    ticket: ticket.0,
                    counter: s(counter),
                    official: official.as_ref().map(s),
                    reason,
                    waited_s,
                }
            }
            E::TicketRecalled {
                ticket,
                counter,
                recalls,
            } => EventDto::TicketRecalled {
                ticket: ticket.0,
                counter: s(counter),
                recalls: *recalls,
            },
            E::ServiceStarted { ticket, counter } => EventDto::ServiceStarted {
                ticket: ticket.0,
                counter: s(counter),
            },
            E::ServiceCompleted {
                ticket,
                counter,
                service_s,
            } => EventDto::ServiceCompleted {
                ticket: ticket.0,
                counter: s(counter),
                service_s: *service_s,
            },
            E::TicketNoShow { ticket, counter } => EventDto::TicketNoShow {
                ticket: ticket.0,
                counter: s(counter),
            },
            E::TicketReturned { ticket } => EventDto::TicketReturned { ticket: ticket.0 },
            E::TicketTransferred {
                ticket,
                from_counter,
                to,
                note,
            } => EventDto::TicketTransferred {
                ticket: ticket.0,
                from_counter: s(from_counter),
                to: match to {
                    core::TransferTarget::Service(c) => TargetDto::Service(s(c)),
                    core::TransferTarget::Counter(c) => TargetDto::Counter(s(c)),
                },
                note: note.clone(),
            },
            E::TicketCancelled { ticket } => EventDto::TicketCancelled { ticket: ticket.0 },
            E::TicketRated {
                ticket,
                score,
                reason,
            } => EventDto::TicketRated {
                ticket: ticket.0,
                score: *score,
                reason: reason.clone(),
            },
            E::DossierAttached {
                ticket,
                counter,
                dossier,
            } => EventDto::DossierAttached {
                ticket: ticket.0,
                counter: s(counter),
                dossier: Some(dossier.clone()),
            },
            E::CounterOpened { counter, official } => EventDto::CounterOpened {
                counter: s(counter),
                official: s(official),
            },
            E::CounterPaused {
                counter,
                reason,
                requeued,
            } => EventDto::CounterPaused {
                counter: s(counter),
                reason: reason.clone(),
                requeued: requeued.map(|t| t.0),
            },
            E::CounterResumed { counter } => EventDto::CounterResumed {
                counter: s(counter),
            },
            E::CounterClosed { counter } => EventDto::CounterClosed {
                counter: s(counter),
            },
            E::ServicePaused { service, reason } => EventDto::ServicePaused {
                service: s(service),
                reason: reason.clone(),
            },
            E::ServiceResumed { service } => EventDto::ServiceResumed {
                service: s(service),
            },
            E::DailyCapRaised { service, cap } => EventDto::DailyCapRaised {
                service: s(service),
                cap: *cap,
            },
        }
    }

    fn from_wire(dto: &EventDto) -> Result<core::Event, WireError> {
        use core::Event as E;
        let id = core::TicketId;
        Ok(match dto {
            EventDto::DayClosed {
                day,
                expired,
                carried,
            } => E::DayClosed {
                day: day_from_wire(day)?,
                expired: expired.iter().map(|&t| id(t)).collect(),
                carried: carried.iter().map(|&t| id(t)).collect(),
            },
            EventDto::DayOpened {
                day,
                first_ticket_id,
                carried,
                service_times,
            } => E::DayOpened {
                day: day_from_wire(day)?,
                first_ticket_id: id(*first_ticket_id),
                carried: carried
                    .iter()
                    .map(|c| {
                        Ok(core::CarriedTicket {
                            number: number(&c.number)?,
                            issued_day: day_from_wire(&c.issued_day)?,
                            issued_at_ms: c.issued_at_ms,
                            service: code("service", &c.service)?,
                            channel: channel(&c.channel)?,
                            priority: code_opt("priority", &c.priority)?,
                            token: token_opt(&c.token)?,
                            person: c.person.map(core::PersonKey),
                            appointment: appointment(&c.appointment),
                        })
                    })
                    .collect::<Result<_, WireError>>()?,
                service_times: service_times
                    .iter()
                    .map(|t| Ok((code("service", &t.service)?, t.mean_s, t.dev_s)))
                    .collect::<Result<_, WireError>>()?,
            },
            EventDto::TicketIssued {
                ticket,
                number: n,
                service,
                channel: ch,
                priority,
                token,
                person,
                appointment: a,
                phone,
            } => E::TicketIssued {
                phone: match phone {
                    Some(p) if core::phone::is_phone(p) => Some(p.clone()),
                    Some(p) => return Err(WireError::invalid("phone", p)),
                    None => None,
                },
                ticket: id(*ticket),
                number: number(n)?,
                service: code("service", service)?,
                channel: channel(ch)?,
                priority: code_opt("priority", priority)?,
                token: token_opt(token)?,
                person: person.map(core::PersonKey),
                appointment: appointment(a),
            },
            EventDto::TicketCalled {
                ticket,
                counter,
                official,
                reason,
                waited_s,
            } => E::TicketCalled {
                ticket: id(*ticket),
                counter: code("counter", counter)?,
                official: code_opt("official", official)?,
                reason: reason_from_wire(reason, *waited_s)?,
            },
            EventDto::TicketRecalled {
                ticket,
                counter,
                recalls,
            } => E::TicketRecalled {
                ticket: id(*ticket),
                counter: code("counter", counter)?,
                recalls: *recalls,
            },
            EventDto::ServiceStarted { ticket, counter } => E::ServiceStarted {
                ticket: id(*ticket),
                counter: code("counter", counter)?,
            },
            EventDto::ServiceCompleted {
                ticket,
                counter,
                service_s,
            } => E::ServiceCompleted {
                ticket: id(*ticket),
                counter: code("counter", counter)?,
                service_s: *service_s,
            },
            EventDto::TicketNoShow { ticket, counter } => E::TicketNoShow {
                ticket: id(*ticket),
                counter: code("counter", counter)?,
            },
            EventDto::TicketCheckedIn { ticket, kept_place } => E::TicketCheckedIn {
                ticket: id(*ticket),
                kept_place: *kept_place,
            },
            EventDto::TicketReturned { ticket } => E::TicketReturned {
                ticket: id(*ticket),
            },
            EventDto::TicketTransferred {
                ticket,
                from_counter,
                to,
                note,
            } => E::TicketTransferred {
                ticket: id(*ticket),
                from_counter: code("from_counter", from_counter)?,
                to: match to {
                    TargetDto::Service(c) => core::TransferTarget::Service(code("to", c)?),
                    TargetDto::Counter(c) => core::TransferTarget::Counter(code("to", c)?),
                },
                note: note.clone(),
            },
            EventDto::TicketCancelled { ticket } => E::TicketCancelled {
                ticket: id(*ticket),
            },
            EventDto::TicketRated {
                ticket,
                score,
                reason,
            } => E::TicketRated {
                ticket: id(*ticket),
                score: *score,
                reason: reason.clone(),
            },
            EventDto::DossierAttached {
                ticket,
                counter,
                dossier,
            } => E::DossierAttached {
                ticket: id(*ticket),
                counter: code("counter", counter)?,
                dossier: dossier
                    .clone()
                    .ok_or_else(|| WireError::missing("dossier"))?,
            },
            EventDto::CounterOpened { counter, official } => E::CounterOpened {
                counter: code("counter", counter)?,
                official: code("official", official)?,
            },
            EventDto::CounterPaused {
                counter,
                reason,
                requeued,
            } => E::CounterPaused {
                counter: code("counter", counter)?,
                reason: reason.clone(),
                requeued: requeued.map(luot_core::TicketId),
            },
            EventDto::CounterResumed { counter } => E::CounterResumed {
                counter: code("counter", counter)?,
            },
            EventDto::CounterClosed { counter } => E::CounterClosed {
                counter: code("counter", counter)?,
            },
            EventDto::ServicePaused { service, reason } => E::ServicePaused {
                service: code("service", service)?,
                reason: reason.clone(),
            },
            EventDto::ServiceResumed { service } => E::ServiceResumed {
                service: code("service", service)?,
            },
            EventDto::DailyCapRaised { service, cap } => E::DailyCapRaised {
                service: code("service", service)?,
                cap: *cap,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Wire;

    /// The floor page's events, as stored: core → JSON → core is the identity, and the JSON
    /// is what docs/protocol.md §10 shows.
    #[test]
    fn floor_events_round_trip_through_stored_json() {
        let service = core::Code::new("khai-sinh").unwrap();
        for (e, json) in [
            (
                core::Event::ServicePaused {
                    service,
                    reason: "Mất kết nối cơ sở dữ liệu hộ tịch".into(),
                },
                r#"{"type":"service_paused","service":"khai-sinh","reason":"Mất kết nối cơ sở dữ liệu hộ tịch"}"#,
            ),
            (
                core::Event::ServiceResumed { service },
                r#"{"type":"service_resumed","service":"khai-sinh"}"#,
            ),
            (
                core::Event::DailyCapRaised { service, cap: 150 },
                r#"{"type":"daily_cap_raised","service":"khai-sinh","cap":150}"#,
            ),
        ] {
            let text = serde_json::to_string(&e.to_wire()).unwrap();
            assert_eq!(text, json);
            let back: EventDto = serde_json::from_str(&text).unwrap();
            assert_eq!(core::Event::from_wire(&back).unwrap(), e);
            assert_eq!(back.redacted(), back, "nothing secret in {json}");
        }
        let bad = r#"{"type":"daily_cap_raised","service":"khai sinh","cap":150}"#;
        let dto: EventDto = serde_json::from_str(bad).unwrap();
        assert!(core::Event::from_wire(&dto).is_err(), "a code with a space");
    }
}
