//! Everything the server parses from a client's or the log's JSON: websocket messages
//! (`ClientMessage`, and `ServerMessage` as the load generator reads it), stored events
//! (`EventDto` and its conversion to the core's `Event`), and the small string parsers applied
//! to client fields (ticket numbers, tokens, codes, days).
//!
//! Oracle: no panic, whatever parses survives a round trip unchanged, and a redacted event
//! holds no public token, person key or dossier code (no `token`, `person` or `dossier` key at
//! any depth) and keeps everything else.
#![no_main]

use libfuzzer_sys::fuzz_target;
use luot_core::{Code, Event, TicketNumber, Token};
use luot_proto::{ClientMessage, EventDto, ServerMessage, Wire, parse_day};
use serde_json::Value;

/// The fields `EventDto::redacted` removes, wherever they are (a `day_opened`'s carried
/// tickets carry them too).
const SECRET_KEYS: [&str; 3] = ["token", "person", "dossier"];

fn without_secrets(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !SECRET_KEYS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), without_secrets(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_secrets).collect()),
        other => other.clone(),
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = serde_json::from_slice::<ClientMessage>(data) {
        let text = serde_json::to_string(&m).expect("a client message serializes");
        let back: ClientMessage = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{text} does not parse back: {e}"));
        assert_eq!(back, m, "round trip through {text}");
    }
    if let Ok(dto) = serde_json::from_slice::<EventDto>(data) {
        let full = serde_json::to_value(&dto).expect("an event serializes");
        let redacted = serde_json::to_value(dto.redacted()).expect("an event serializes");
        assert_eq!(
            redacted,
            without_secrets(&full),
            "redacting {full} must drop exactly its token, person key and dossier code"
        );
        if let Ok(event) = Event::from_wire(&dto) {
            let again = Event::from_wire(&event.to_wire())
                .unwrap_or_else(|e| panic!("{event:?} written as {:?}: {e}", event.to_wire()));
            assert_eq!(again, event);
        }
    }
    if let Ok(m) = serde_json::from_slice::<ServerMessage>(data) {
        serde_json::to_string(&m).expect("a server message serializes");
    }
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(n) = TicketNumber::parse(s) {
        assert_eq!(TicketNumber::parse(&n.to_string()), Some(n), "{s:?}");
    }
    if let Some(t) = Token::from_hex(s) {
        assert_eq!(Token::from_hex(&t.to_hex()), Some(t), "{s:?}");
    }
    if let Ok(c) = Code::new(s) {
        assert_eq!(c.as_str(), s);
    }
    if let Some(d) = parse_day(s) {
        assert_eq!(parse_day(&d.to_string()), Some(d), "{s:?}");
    }
});
