//! What clients ask the broker to do.

use crate::ids::{Code, PersonKey, TicketNumber, Token};
use crate::ticket::{Appointment, Channel, TransferTarget};
use crate::time::Day;

/// A ticket named by a client: officials use the printed number, phones the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TicketRef {
    Number(TicketNumber),
    Token(Token),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Close the current day (expire or carry waiting tickets) and open `day`; numbering restarts.
    OpenDay {
        day: Day,
    },
    Issue {
        service: Code,
        channel: Channel,
        priority: Option<Code>,
        /// Made by the server from a CSPRNG.
        token: Token,
        appointment: Option<Appointment>,
        person: Option<PersonKey>,
        /// A mobile number (digits, checked by the server): for a number taken from home.
        phone: Option<String>,
    },
    /// A citizen who took a number from home is in the hall (the kiosk or an official says so).
    CheckIn {
        ticket: TicketRef,
    },
    /// The counter asks the assignment policy for the next ticket.
    CallNext {
        counter: Code,
    },
    /// The counter calls one ticket by its number.
    CallTicket {
        counter: Code,
        ticket: TicketRef,
    },
    /// Repeat the current call.
    Recall {
        counter: Code,
    },
    /// The citizen has arrived at the counter.
    Start {
        counter: Code,
    },
    Complete {
        counter: Code,
    },
    NoShow {
        counter: Code,
    },
    /// A citizen marked no-show turned up within the window.
    Return {
        ticket: TicketRef,
    },
    Transfer {
        counter: Code,
        to: TransferTarget,
        note: String,
    },
    Cancel {
        ticket: TicketRef,
    },
    OpenCounter {
        counter: Code,
        official: Code,
    },
    PauseCounter {
        counter: Code,
        reason: String,
    },
    /// The server pauses an open counter whose official has had no console connected for the
    /// site's `console_absent_s`: a ticket it called but did not start goes back to its place in
    /// line. Refused while a ticket is being served there (the citizen is at the desk).
    PauseAbsent {
        counter: Code,
        reason: String,
    },
    ResumeCounter {
        counter: Code,
    },
    CloseCounter {
        counter: Code,
    },
    Rate {
        ticket: TicketRef,
        score: u8,
        reason: Option<String>,
    },
    /// A manager stops issuing for one service now (the kiosk shows the reason); tickets already
    /// issued are still called. Lasts until `ResumeService` or the end of the day.
    PauseService {
        service: Code,
        reason: String,
    },
    ResumeService {
        service: Code,
    },
    /// A manager raises today's daily cap of one service to `cap` (more than the cap in force,
    /// at most the site's `tickets_per_day_max`).
    RaiseDailyCap {
        service: Code,
        cap: u32,
    },
    /// The official records the administrative dossier code (mã hồ sơ) of a ticket called or
    /// served at this counter, so its rating can be tied to the dossier. A later code replaces
    /// an earlier one (a typo corrected).
    AttachDossier {
        counter: Code,
        ticket: TicketRef,
        dossier: String,
    },
}

impl Command {
    /// The counter a command acts at, for authorization (officials act only at their counters).
    pub fn counter(&self) -> Option<Code> {
        match self {
            Command::CallNext { counter }
            | Command::CallTicket { counter, .. }
            | Command::Recall { counter }
            | Command::Start { counter }
            | Command::Complete { counter }
            | Command::NoShow { counter }
            | Command::Transfer { counter, .. }
            | Command::OpenCounter { counter, .. }
            | Command::PauseCounter { counter, .. }
            | Command::PauseAbsent { counter, .. }
            | Command::ResumeCounter { counter }
            | Command::CloseCounter { counter }
            | Command::AttachDossier { counter, .. } => Some(*counter),
            _ => None,
        }
    }
}
