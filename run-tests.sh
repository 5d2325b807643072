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

# ---- Debian package (issue #10, item 4) ---------------------------------------------------
# Builds the .deb with cargo-deb and checks it with tests/package/check-deb.sh: control and
# maintainer scripts, contents, the unpacked binary and configuration, and the systemd unit
# (`systemd-analyze verify` with no warning, `systemd-analyze security` exposure at most 2.0);
# then tests/package/check-syscalls.sh: the server stays inside the unit's system-call filter.
# cargo-deb is pinned like cargo-fuzz; installing it took 5 min 37 s here (once per machine).
# The package is built from the dev profile, reusing the debug build above instead of adding a
# release build of the whole workspace; its layout, unit and scripts are those of the release
# package (`cargo deb -p luot`), which only differs in the binary's optimisation.
echo "== Debian package: cargo deb, then tests/package/check-deb.sh"
CARGO_DEB_VERSION=3.8.0
if ! cargo deb --version 2>/dev/null | grep -q "$CARGO_DEB_VERSION"; then
  echo "== installing cargo-deb $CARGO_DEB_VERSION"
  cargo install --locked --quiet "cargo-deb@$CARGO_DEB_VERSION"
fi
missing=()
command -v systemd-analyze >/dev/null || missing+=(systemd)  # checks the unit file; starts nothing
command -v dpkg-deb >/dev/null || missing+=(dpkg)
command -v strace >/dev/null || missing+=(strace)
command -v curl >/dev/null || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
rm -rf target/debian/ci
# (cargo-deb warns that the dev profile is meant for releases only: expected here.)
cargo deb --locked -p luot --profile dev --fast --output target/debian/ci/
bash tests/package/check-deb.sh target/debian/ci/luot_*.deb
# The server under strace, on loopback: every system call it makes is one the unit allows.
bash tests/package/check-syscalls.sh target/debug/luot crates/luot/debian/luot.service
# ---- end of the Debian package block -------------------------------------------------------

echo "== Fuzzing: 20 s per target from the committed seeds (long run: fuzz/run.sh long)"
bash fuzz/run.sh quick

echo "== Autobahn websocket conformance, cases 1-7, 9, 10"
bash tests/autobahn/run.sh
