//! The Luot wire format: JSON messages between the server and its web clients, the REST bodies,
//! and the stored form of events. Serializable counterparts of `luot-core` types live here, at
//! the edge, so the core stays free of serde.
//!
//! Every server message carries `v` (the protocol version); state updates carry `seq`.

pub mod config;
pub mod event;
pub mod message;
#[cfg(feature = "openapi")]
pub mod schema;
pub mod snapshot;
pub mod text;

pub use event::{AppointmentDto, CarriedTicketDto, EventDto, TargetDto, parse_day};
pub use message::*;
pub use snapshot::*;
pub use text::{nfc, nfc_json};

/// Version of the JSON protocol. Raised on any change a deployed client could trip on.
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest websocket frame or REST body a client may send, in bytes. A command is a few hundred
/// bytes; anything near this is a mistake or an attack.
pub const CLIENT_MESSAGE_BYTES_MAX: usize = 16 * 1024;

/// Longest request id a client may attach to a command.
pub const REQUEST_ID_LEN_MAX: usize = 64;

/// A core type with a JSON counterpart.
pub trait Wire: Sized {
    type Dto;
    fn to_wire(&self) -> Self::Dto;
    fn from_wire(dto: &Self::Dto) -> Result<Self, WireError>;
}

/// A JSON value that parsed but does not make sense. Names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("field `{field}`: invalid value {value:?}{}", detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Invalid {
        field: &'static str,
        value: String,
        detail: Option<String>,
    },
    #[error("field `{field}` is required")]
    Missing { field: &'static str },
}

impl WireError {
    pub fn invalid(field: &'static str, value: &str) -> WireError {
        let value: String = value.chars().take(64).collect();
        WireError::Invalid {
            field,
            value,
            detail: None,
        }
    }

    pub fn missing(field: &'static str) -> WireError {
        WireError::Missing { field }
    }

    pub fn field(&self) -> &'static str {
        match self {
            WireError::Invalid { field, .. } | WireError::Missing { field } => field,
        }
    }
}

/// Parses a configuration code from a JSON string field.
pub fn code(field: &'static str, s: &str) -> Result<luot_core::Code, WireError> {
    luot_core::Code::new(s).map_err(|e| WireError::Invalid {
        field,
        value: s.chars().take(64).collect(),
        detail: Some(e.to_string()),
    })
}

pub fn code_opt(
    field: &'static str,
    s: &Option<String>,
) -> Result<Option<luot_core::Code>, WireError> {
    s.as_deref().map(|s| code(field, s)).transpose()
}
