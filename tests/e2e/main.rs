//! End-to-end tests: the real server started in-process on a loopback port, driven the way its
//! clients drive it — kiosks, hall displays, counter consoles and phones over websockets,
//! scripts and the admin pages over the REST API — plus the `luot` binary itself.
//!
//! Run with `cargo build -p luot && cargo test -p luot-tests` (the CLI tests run the built
//! binary).

mod absent_consoles;
mod account_sockets;
mod address;
mod admin;
mod api_document;
mod api_tokens;
mod authorization;
mod backup;
mod bad_input;
mod boundaries;
mod calls;
mod cli;
mod clips;
mod clock;
mod closes;
mod concurrency;
mod config_in_force;
mod config_refusals;
mod crash;
mod doc_schemas;
mod env;
mod estimates;
mod first_start;
mod floor;
mod limits;
mod metrics;
mod mismatches;
mod nfc;
mod no_shows;
mod operations;
mod origins;
mod phone;
mod printer;
mod proxy;
mod recent_calls;
mod redaction;
mod remote;
mod replay;
mod restart;
mod resume;
mod rights;
mod sessions;
mod slow_clients;
mod soak;
mod socket_timers;
mod spawned;
mod staffing_plan;
mod stalled_display;
mod storage_faults;
mod storm;
mod tls;
mod transfers;
mod webhooks;
