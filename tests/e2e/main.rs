//! End-to-end tests: the real server started in-process on a loopback port, driven the way its
//! clients drive it — kiosks, hall displays, counter consoles and phones over websockets,
//! scripts and the admin pages over the REST API — plus the `luot` binary itself.
//!
//! Run with `cargo build -p luot && cargo test -p luot-tests` (the CLI tests run the built
//! binary).

mod admin;
mod authorization;
mod bad_input;
mod calls;
mod cli;
mod clips;
mod clock;
mod closes;
mod concurrency;
mod config_refusals;
mod crash;
mod limits;
mod operations;
mod origins;
mod phone;
mod printer;
mod redaction;
mod restart;
mod resume;
mod sessions;
mod soak;
mod socket_timers;
mod storage_faults;
mod storm;
