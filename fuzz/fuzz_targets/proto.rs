//! Everything the server parses from a client's or the log's JSON: websocket messages
//! (`ClientMessage`, and `ServerMessage` as the load generator reads it), stored events
//! (`EventDto` and its conversion to the core's `Event`), and the small string parsers applied
//! to client fields (ticket numbers, tokens, codes, days).
//!
//! Oracle: no panic, and whatever parses survives a round trip unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use luot_core::{Code, Event, TicketNumber, Token};
use luot_proto::{ClientMessage, EventDto, ServerMessage, Wire, parse_day};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = serde_json::from_slice::<ClientMessage>(data) {
        let text = serde_json::to_string(&m).expect("a client message serializes");
        let back: ClientMessage = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{text} does not parse back: {e}"));
        assert_eq!(back, m, "round trip through {text}");
    }
    if let Ok(dto) = serde_json::from_slice::<EventDto>(data) {
        let _ = dto.redacted();
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
