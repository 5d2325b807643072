//! Tickets and their life: waiting → called (→ recalled) → serving → done | no-show; waiting →
//! cancelled; called/serving → transferred (waiting again, same number); no-show → waiting again
//! within the return window; waiting at day close → carried to the next day or expired.

use crate::ids::{Code, PersonKey, Sym, TicketId, TicketNumber, Token};
use crate::time::Day;

/// Where a ticket was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Channel {
    Kiosk,
    Phone,
    Appointment,
    Staff,
}

impl Channel {
    pub const ALL: [Channel; 4] = [
        Channel::Kiosk,
        Channel::Phone,
        Channel::Appointment,
        Channel::Staff,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Kiosk => "kiosk",
            Channel::Phone => "phone",
            Channel::Appointment => "appointment",
            Channel::Staff => "staff",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Taken away from the hall (from home, on the phone): not present until checked in.
    pub fn is_remote(self) -> bool {
        self == Channel::Phone
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TicketState {
    Waiting,
    Called,
    Serving,
    Done,
    NoShow,
    Cancelled,
    /// Not served by day close (and not carried), or held at a counter at day close.
    Expired,
    /// Moved to the next day at close; the next day holds it under a new id.
    Carried,
}

impl TicketState {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketState::Waiting => "waiting",
            TicketState::Called => "called",
            TicketState::Serving => "serving",
            TicketState::Done => "done",
            TicketState::NoShow => "no_show",
            TicketState::Cancelled => "cancelled",
            TicketState::Expired => "expired",
            TicketState::Carried => "carried",
        }
    }

    pub fn parse(s: &str) -> Option<TicketState> {
        use TicketState::*;
        [
            Waiting, Called, Serving, Done, NoShow, Cancelled, Expired, Carried,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}

/// A booked time window (phone or web appointment), Unix milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Appointment {
    pub from_ms: i64,
    pub to_ms: i64,
}

/// Why the assignment policy chose a ticket. Recorded with every call ("why next").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallReason {
    /// The official asked for this ticket by number.
    Requested,
    /// Transferred to this very counter.
    Transferred,
    /// An appointment whose window is due.
    Appointment,
    /// Waited longer than the policy's maximum.
    Aged { waited_s: u32 },
    /// A priority counter takes priority tickets first.
    PriorityCounter,
    /// A priority ticket goes before the normal tickets waiting at this counter.
    PriorityFirst,
    /// Priority tickets were waiting, but no normal ticket was.
    PriorityOnly,
    /// Priority tickets still wait, but the policy's `normal_per_priority` priority calls in a
    /// row at this counter gave one normal ticket its turn.
    NormalTurn,
    /// First come, first served: no priority ticket waited, and this was the earliest normal
    /// ticket the counter serves.
    NextInLine,
    /// No priority ticket waited; the counter's service weights chose this ticket over an
    /// earlier one of another service.
    ServiceWeight,
}

impl CallReason {
    pub fn code(self) -> &'static str {
        match self {
            CallReason::Requested => "requested",
            CallReason::Transferred => "transferred",
            CallReason::Appointment => "appointment",
            CallReason::Aged { .. } => "aged",
            CallReason::PriorityCounter => "priority_counter",
            CallReason::PriorityFirst => "priority_first",
            CallReason::PriorityOnly => "priority_only",
            CallReason::NormalTurn => "normal_turn",
            CallReason::NextInLine => "next_in_line",
            CallReason::ServiceWeight => "service_weight",
        }
    }
}

/// Where a transfer sends a ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransferTarget {
    /// Into another service's queue (it keeps its number and its place by issue time).
    Service(Code),
    /// Straight to one counter, called there before anything else.
    Counter(Code),
}

/// A ticket as the live state holds it. Every timestamp is Unix milliseconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket {
    pub id: TicketId,
    pub number: TicketNumber,
    /// The day the ticket was issued (a carried ticket keeps it).
    pub issued_day: Day,
    pub service: Sym,
    pub channel: Channel,
    pub priority: Option<Sym>,
    pub token: Token,
    pub person: Option<PersonKey>,
    pub appointment: Option<Appointment>,
    /// The citizen's mobile number, for a number taken from home (check-in, the center's SMS).
    pub phone: Option<String>,
    /// In the hall. A number taken from home is not until it is checked in: it keeps its place
    /// in line but is never called before (`Site::choose_next` does not see it).
    pub present: bool,
    /// When a ticket behind it in its line was called while it was not checked in: its turn
    /// had come. Checked in within the policy's `remote_hold_s` of this, it keeps its place.
    pub turn_passed_at_ms: Option<i64>,
    /// When a number from home was checked in: when its citizen was in the hall.
    pub checked_in_at_ms: Option<i64>,
    pub state: TicketState,
    pub issued_at_ms: i64,
    /// Sort key in its queue: issue time, or the time it came back after a no-show.
    pub enqueued_at_ms: i64,
    /// The counter holding it (called/serving) or last holding it.
    pub counter: Option<Sym>,
    pub official: Option<Sym>,
    /// Set while the ticket waits for one particular counter after a transfer.
    pub target_counter: Option<Sym>,
    pub called_at_ms: Option<i64>,
    pub started_at_ms: Option<i64>,
    pub finished_at_ms: Option<i64>,
    pub no_show_at_ms: Option<i64>,
    pub recalls: u8,
    pub transfers: u8,
    pub last_reason: Option<CallReason>,
    pub rating: Option<u8>,
    /// The administrative dossier code the official attached (mã hồ sơ).
    pub dossier: Option<String>,
}

impl Ticket {
    pub fn is_priority(&self) -> bool {
        self.priority.is_some()
    }
}
