//! The Luot queue domain: sites, services, counters, tickets, the assignment policy, numbering,
//! day rollover and wait estimates.
//!
//! This crate does no IO, reads no clock and has no dependencies. Time comes in as [`Now`], the
//! randomness of public tokens comes in with the command, and a state change is always
//! `decide(command, now) -> events` followed by `evolve(event)`.

pub mod command;
pub mod config;
pub mod event;
pub mod ids;
pub mod phone;
pub mod plan;
pub mod queue;
pub mod rejection;
pub mod replay;
pub mod sim;
pub mod site;
pub mod staffing;
pub mod ticket;
pub mod time;

pub use command::{Command, TicketRef};
pub use config::{
    Counter, CounterService, Department, Policy, PriorityCategory, Service, SiteConfig, Text,
    WeekHours,
};
pub use event::{CarriedTicket, Event};
pub use ids::{Code, PersonKey, Prefix, Sym, TicketId, TicketNumber, Token};
pub use rejection::Rejection;
pub use site::estimate::EstimateTable;
pub use site::{
    CounterState, CounterStatus, RECENT_CALLS_KEPT, ServiceTime, Session, Site, Tickets,
    WaitEstimate, session_left_s,
};
pub use ticket::{Appointment, CallReason, Channel, Ticket, TicketState, TransferTarget};
pub use time::{Day, Minute, Now};
