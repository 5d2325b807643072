//! The API document's names for the codes the wire types carry as text (a ticket's `state`,
//! `channel`, call `reason`…): the fields stay `String` on the wire, and their `ToSchema` lists
//! the values through these enums (`value_type`). The tests check each value is one the core
//! reads and writes.

#![allow(dead_code)]

use utoipa::ToSchema;

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
