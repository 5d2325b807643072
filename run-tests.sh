#!/usr/bin/env bash
# Runs every test of Luot on a fresh machine: installs what the tests need (Rust crates,
# Debian's Chromium and fonts, npm packages, cargo-fuzz, kosoku), then the Rust unit, property,
# simulation and end-to-end tests, the browser tests against the real server, a short fuzzing
# run and the Autobahn websocket conformance cases (docs/reliability.md).
set -euo pipefail
cd "$(dirname "$0")"

echo "== Rust: build the server binary (the end-to-end and browser tests start it)"
cargo build --locked -p luot

# -- TLS and reverse proxy: tests/e2e/proxy.rs runs the documented nginx recipe
# (docs/proxy/nginx.conf) in front of the server; it skips only when nginx is absent, so CI
# installs it here (nginx-light from Debian; the test runs its own nginx on a free loopback
# port with its own configuration, whatever the system service does).
if ! [ -x /usr/sbin/nginx ] && ! command -v nginx >/dev/null; then
  echo "== installing nginx-light (the reverse-proxy recipe's test)"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nginx-light >/dev/null
fi

echo "== Rust: every crate's tests and the end-to-end suite"
cargo test --locked --workspace

echo "== Browser tests (headless Chromium)"
bash tests/browser/run.sh

echo "== Fuzzing: 20 s per target from the committed seeds (long run: fuzz/run.sh long)"
bash fuzz/run.sh quick

echo "== Autobahn websocket conformance, cases 1-7, 9, 10"
bash tests/autobahn/run.sh
