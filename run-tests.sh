#!/usr/bin/env bash
# Runs every test of Luot on a fresh machine: installs what the tests need (Rust crates,
# Debian's Chromium and fonts, npm packages), then the Rust unit, property, simulation and
# end-to-end tests, then the browser tests against the real server.
set -euo pipefail
cd "$(dirname "$0")"

echo "== Rust: build the server binary (the end-to-end and browser tests start it)"
cargo build --locked -p luot

echo "== Rust: every crate's tests and the end-to-end suite"
cargo test --locked --workspace

echo "== Browser tests (headless Chromium)"
bash tests/browser/run.sh
