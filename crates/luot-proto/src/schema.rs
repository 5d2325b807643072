//! The API document's names for the texts the wire types carry as `String`: the shapes of codes,
//! days, tokens and ticket numbers (one pattern each, here), and the values of the codes a
//! ticket's `state`, `channel`, call `reason`… take. Fields name them with `value_type`; on the
//! wire they stay strings. The tests check each listed value is one the core reads and writes.

#![allow(dead_code)]

use utoipa::ToSchema;

/// A configuration code (ASCII letters, digits, `. _ - @`).
#[derive(Debug, ToSchema)]
#[schema(pattern = "^[A-Za-z0-9._@-]{1,31}$")]
pub struct Code(String);

/// YYYY-MM-DD in the site's time zone.
#[derive(Debug, ToSchema)]
#[schema(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
pub struct Day(String);

/// A ticket's public token (128 bits, hex).
#[derive(Debug, ToSchema)]
#[schema(pattern = "^[0-9a-f]{32}$")]
pub struct TicketToken(String);

/// Ticket number: prefix and at least three digits; unique per site, day and prefix.
#[derive(Debug, ToSchema)]
#[schema(pattern = "^[A-Z]{1,3}[0-9]{3,4}$", example = "A001")]
pub struct TicketNumber(String);

/// Ticket number as printed (`A001`); letters are matched case-insensitively and leading zeros
/// are optional.
#[derive(Debug, ToSchema)]
#[schema(pattern = "^\\s*[A-Za-z]{1,3}[0-9]{1,4}\\s*$", example = "A001")]
pub struct NumberAsTyped(String);

/// A ticket's state.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum TicketStateCode {
    Waiting,
    Called,
    Serving,
    Done,
    NoShow,
    Cancelled,
    Expired,
    Carried,
}

/// How a ticket was issued.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum ChannelCode {
    Kiosk,
    Phone,
    Appointment,
    Staff,
}

/// Why a ticket was called (docs/protocol.md, call reasons).
#[derive(Debug, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum CallReasonCode {
    Requested,
    Transferred,
    Appointment,
    Aged,
    PriorityCounter,
    PriorityFirst,
    PriorityOnly,
    NormalTurn,
    NextInLine,
    ServiceWeight,
}

/// Why a service takes no tickets now (a rejection code).
#[derive(Debug, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum ClosedReasonCode {
    ServiceClosed,
    Holiday,
    IntakeClosed,
    DailyCapReached,
    ServicePaused,
}

/// Why a number cannot be taken from home now: a [`ClosedReasonCode`], or the procedure's
/// numbers from home for today are all taken.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum RemoteClosedReasonCode {
    ServiceClosed,
    Holiday,
    IntakeClosed,
    DailyCapReached,
    ServicePaused,
    RemoteShareReached,
}

/// A counter's status.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum CounterStatusCode {
    Open,
    Paused,
    Closed,
}

/// A network printer's state.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum PrinterStateCode {
    Unknown,
    Ok,
    PaperNearEnd,
    PaperOut,
    Offline,
    Unreachable,
    Timeout,
    BadReply,
    Busy,
}

#[cfg(test)]
mod tests {
    use super::*;
    use luot_core as core;

    fn values<T: ToSchema>() -> Vec<String> {
        let schema = serde_json::to_value(T::schema()).unwrap();
        schema["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{} lists no values: {schema}", T::name()))
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn the_documented_codes_are_the_cores() {
        let channels = values::<ChannelCode>();
        let written: Vec<&str> = core::Channel::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(channels, written);
        for s in values::<TicketStateCode>() {
            let state = core::TicketState::parse(&s).unwrap_or_else(|| panic!("state {s}"));
            assert_eq!(state.as_str(), s);
        }
        for s in values::<CallReasonCode>() {
            let r = crate::event::reason_from_wire(&s, None).unwrap_or_else(|_| panic!("{s}"));
            assert_eq!(r.code(), s);
        }
        let statuses = [
            core::CounterStatus::Open,
            core::CounterStatus::Paused {
                reason: String::new(),
            },
            core::CounterStatus::Closed,
        ];
        let written: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
        assert_eq!(values::<CounterStatusCode>(), written);
    }
}
