//! What happened. Events are the truth: the live state is whatever replaying them gives.

use crate::ids::{Code, PersonKey, TicketId, TicketNumber, Token};
use crate::ticket::{Appointment, CallReason, Channel, TransferTarget};
use crate::time::Day;

/// A waiting ticket moved from the closed day into the new one. Complete, so a day's first event
/// is a recovery checkpoint: replay never needs the days before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CarriedTicket {
    pub number: TicketNumber,
    pub issued_day: Day,
    pub issued_at_ms: i64,
    pub service: Code,
    pub channel: Channel,
    pub priority: Option<Code>,
    pub token: Token,
    pub person: Option<PersonKey>,
    pub appointment: Option<Appointment>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    DayClosed {
        day: Day,
        /// Waiting or held tickets that end with the day.
        expired: Vec<TicketId>,
        /// Waiting tickets that move to the next day.
        carried: Vec<TicketId>,
    },
    /// Carried tickets get ids `first_ticket_id..` in order and wait first in their queues.
    DayOpened {
        day: Day,
        first_ticket_id: TicketId,
        carried: Vec<CarriedTicket>,
        /// Learned service times (service, mean s, mean deviation s), so the estimate survives
        /// the night and a replay from this checkpoint learns exactly what live service knew.
        service_times: Vec<(Code, u32, u32)>,
    },
    TicketIssued {
        ticket: TicketId,
        number: TicketNumber,
        service: Code,
        channel: Channel,
        priority: Option<Code>,
        token: Token,
        person: Option<PersonKey>,
        appointment: Option<Appointment>,
        phone: Option<String>,
    },
    /// A number taken from home was checked in. `kept_place`: within the hold (or before its
    /// turn came), so it waits at its place by issue time; otherwise from the check-in time.
    TicketCheckedIn {
        ticket: TicketId,
        kept_place: bool,
    },
    TicketCalled {
        ticket: TicketId,
        counter: Code,
        official: Option<Code>,
        reason: CallReason,
    },
    TicketRecalled {
        ticket: TicketId,
        counter: Code,
        recalls: u8,
    },
    ServiceStarted {
        ticket: TicketId,
        counter: Code,
    },
    ServiceCompleted {
        ticket: TicketId,
        counter: Code,
        service_s: u32,
    },
    TicketNoShow {
        ticket: TicketId,
        counter: Code,
    },
    TicketReturned {
        ticket: TicketId,
    },
    TicketTransferred {
        ticket: TicketId,
        from_counter: Code,
        to: TransferTarget,
        note: String,
    },
    TicketCancelled {
        ticket: TicketId,
    },
    TicketRated {
        ticket: TicketId,
        score: u8,
        reason: Option<String>,
    },
    DossierAttached {
        ticket: TicketId,
        counter: Code,
        dossier: String,
    },
    CounterOpened {
        counter: Code,
        official: Code,
    },
    CounterPaused {
        counter: Code,
        reason: String,
        /// A ticket the counter had called, not started, put back at its place in line (a pause
        /// for an absent console, `Command::PauseAbsent`).
        requeued: Option<TicketId>,
    },
    CounterResumed {
        counter: Code,
    },
    CounterClosed {
        counter: Code,
    },
    /// A manager stopped issuing for one service until resumed or the day ends; tickets already
    /// issued are still served.
    ServicePaused {
        service: Code,
        reason: String,
    },
    ServiceResumed {
        service: Code,
    },
    /// A manager lifted the service's daily cap for the rest of the day (`cap` is the new one).
    DailyCapRaised {
        service: Code,
        cap: u32,
    },
}

impl Event {
    /// Stable name, used as the event's `type` on the wire and in the store.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::DayClosed { .. } => "day_closed",
            Event::DayOpened { .. } => "day_opened",
            Event::TicketIssued { .. } => "ticket_issued",
            Event::TicketCheckedIn { .. } => "ticket_checked_in",
            Event::TicketCalled { .. } => "ticket_called",
            Event::TicketRecalled { .. } => "ticket_recalled",
            Event::ServiceStarted { .. } => "service_started",
            Event::ServiceCompleted { .. } => "service_completed",
            Event::TicketNoShow { .. } => "ticket_no_show",
            Event::TicketReturned { .. } => "ticket_returned",
            Event::TicketTransferred { .. } => "ticket_transferred",
            Event::TicketCancelled { .. } => "ticket_cancelled",
            Event::TicketRated { .. } => "ticket_rated",
            Event::DossierAttached { .. } => "dossier_attached",
            Event::CounterOpened { .. } => "counter_opened",
            Event::CounterPaused { .. } => "counter_paused",
            Event::CounterResumed { .. } => "counter_resumed",
            Event::CounterClosed { .. } => "counter_closed",
            Event::ServicePaused { .. } => "service_paused",
            Event::ServiceResumed { .. } => "service_resumed",
            Event::DailyCapRaised { .. } => "daily_cap_raised",
        }
    }

    /// The ticket an event is about, if any.
    pub fn ticket(&self) -> Option<TicketId> {
        match self {
            Event::TicketIssued { ticket, .. }
            | Event::TicketCheckedIn { ticket, .. }
            | Event::TicketCalled { ticket, .. }
            | Event::TicketRecalled { ticket, .. }
            | Event::ServiceStarted { ticket, .. }
            | Event::ServiceCompleted { ticket, .. }
            | Event::TicketNoShow { ticket, .. }
            | Event::TicketReturned { ticket }
            | Event::TicketTransferred { ticket, .. }
            | Event::TicketCancelled { ticket }
            | Event::TicketRated { ticket, .. }
            | Event::DossierAttached { ticket, .. } => Some(*ticket),
            Event::CounterPaused { requeued, .. } => *requeued,
            _ => None,
        }
    }
}
