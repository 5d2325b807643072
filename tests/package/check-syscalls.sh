#!/usr/bin/env bash
# Checks that `luot serve` works inside the system-call filter of its systemd unit
# (crates/luot/debian/luot.service): there is no running systemd here, so the server runs under
# strace on a fresh data folder (first start: database, secret.key, the password file), serves
# pages, logs in (argon2), issues a ticket (the group-commit writer, fsync), upgrades a websocket
# and stops on SIGTERM; every system call it made must be allowed by the unit's
# SystemCallFilter= lines, expanded by this machine's `systemd-analyze syscall-filter`.
# A call outside the filter would kill the service with EPERM errors only on a real install.
# Usage: tests/package/check-syscalls.sh [path/to/luot] [path/to/luot.service]
# Prints "check-syscalls: N passed, 0 failed" when all is well.
set -euo pipefail
cd "$(dirname "$0")/../.."

luot="${1:-target/debug/luot}"
unit="${2:-crates/luot/debian/luot.service}"
for tool in strace curl systemd-analyze; do
  command -v "$tool" >/dev/null || { echo "check-syscalls: $tool is missing (apt-get install strace curl systemd)" >&2; exit 1; }
done
[ -x "$luot" ] || { echo "check-syscalls: no binary at $luot (cargo build -p luot)" >&2; exit 1; }

# --- the set the unit allows -------------------------------------------------------------
declare -A seen_group=()
expand() { # prints the system calls of a name: a call, or a @group (recursively)
  local name="$1"
  if [[ "$name" != @* ]]; then echo "$name"; return; fi
  [ -n "${seen_group[$name]:-}" ] && return
  seen_group[$name]=1
  local entry
  while read -r entry; do
    [ -z "$entry" ] || [[ "$entry" == \#* ]] && continue
    expand "$entry"
  done < <(systemd-analyze syscall-filter "$name" | tail -n +2)
}
allowed=()
denied=()
while IFS= read -r line; do
  value="${line#SystemCallFilter=}"
  if [[ "$value" == ~* ]]; then
    for name in ${value#\~}; do seen_group=(); denied+=($(expand "$name")); done
  else
    for name in $value; do seen_group=(); allowed+=($(expand "$name")); done
  fi
done < <(grep '^SystemCallFilter=' "$unit")
[ ${#allowed[@]} -gt 0 ] || { echo "check-syscalls: no SystemCallFilter= allow-list in $unit" >&2; exit 1; }
declare -A permitted=()
for s in "${allowed[@]}"; do permitted[$s]=1; done
for s in "${denied[@]}"; do unset "permitted[$s]"; done

# --- the server's calls under load -------------------------------------------------------
work="$(mktemp -d)"
server=""  # strace's pid
luot_pid=""
cleanup() {
  [ -n "$luot_pid" ] && kill -KILL "$luot_pid" 2>/dev/null
  [ -n "$server" ] && kill "$server" 2>/dev/null
  [ -n "${KEEP_TRACE:-}" ] && cp "$work/trace" "$KEEP_TRACE"; rm -rf "$work"
}
trap cleanup EXIT
# The service runs as its own user, never root: as root, SQLite also calls fchown on the
# journal files it makes (to match the database's owner), which the filter refuses and a real
# install never does. So as root, the server and strace run as nobody (65534).
as_user=()
if [ "$(id -u)" -eq 0 ]; then
  chown 65534:65534 "$work"
  as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
fi
"${as_user[@]}" strace -f -qq -o "$work/trace" "$(realpath "$luot")" serve --listen 127.0.0.1:0 --data "$work/data" \
  --start-clock 2026-11-30T09:00:00+07:00 > "$work/out" 2> "$work/log" < /dev/null &
server=$!
for _ in $(seq 1 600); do
  grep -q "device links above\|keep their pairing" "$work/out" 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || { cat "$work/out" "$work/log" >&2; echo "check-syscalls: FAIL: luot serve exited under strace" >&2; exit 1; }
  sleep 0.1
done
luot_pid="$(pgrep -P "$server" | head -n 1)"
base="$(sed -n 's/^Luot listening on \(http:[^ ]*\)$/\1/p' "$work/out")"
kiosk="$(grep -o 'kiosk?device=[0-9a-f]*' "$work/out" | head -n 1 | cut -d= -f2)"
password="$(sed -n 's/^password: //p' "$work/data/first-admin-password.txt")"
[ -n "$base" ] && [ -n "$kiosk" ] && [ -n "$password" ] || { cat "$work/out" >&2; echo "check-syscalls: FAIL: no banner, kiosk token or password file" >&2; exit 1; }

passed=0
failed=0
status() { # status EXPECTED what curl-args...: the HTTP status is EXPECTED
  local expected="$1" what="$2"; shift 2
  local got
  got="$(curl -s -o /dev/null -w '%{http_code}' --max-time 60 "$@" || true)"
  if [ "$got" = "$expected" ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "check-syscalls: FAIL: $what: HTTP $got, expected $expected" >&2; fi
}
status 200 "GET /healthz" "$base/healthz"
status 200 "GET /kiosk" "$base/kiosk"
status 200 "GET /metrics" "$base/metrics"
status 200 "log in" -c "$work/cookies" -H 'Content-Type: application/json' -H "Origin: $base" \
  --data "{\"login\":\"admin\",\"password\":\"$password\"}" "$base/api/v1/login"
status 401 "a wrong password" -H 'Content-Type: application/json' -H "Origin: $base" \
  --data '{"login":"admin","password":"not-the-password"}' "$base/api/v1/login"
# A webhook to a receiver named by host name: the delivery task resolves it (DNS through the
# C library's resolver) and connects out, which the filter must allow.
receiver_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
python3 -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        open(sys.argv[2], "a").write(self.headers.get("x-luot-signature", "") + "\n")
        self.send_response(204); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
' "$receiver_port" "$work/received" &
receiver=$!
trap 'kill "$receiver" 2>/dev/null; cleanup' EXIT
status 201 "add a webhook" -b "$work/cookies" -H 'Content-Type: application/json' -H "Origin: $base" \
  --data "{\"url\":\"http://localhost:$receiver_port/hook\",\"events\":[\"ticket.issued\"]}" "$base/api/v1/admin/webhooks"
status 201 "issue a ticket" -H "Authorization: Bearer $kiosk" -H 'Content-Type: application/json' -H "Origin: $base" \
  --data '{"service":"khai-sinh"}' "$base/api/v1/sites/sa-huynh/tickets"
# The websocket upgrade: curl stops waiting after a second; the status line is what counts.
got="$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
  -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' -H "Origin: $base" "$base/ws" || true)"
if [ "$got" = 101 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "check-syscalls: FAIL: websocket upgrade: HTTP $got" >&2; fi

# The webhook delivery of that ticket reached the receiver, signed.
for _ in $(seq 1 300); do grep -q '^sha256=' "$work/received" 2>/dev/null && break; sleep 0.1; done
if grep -q '^sha256=' "$work/received" 2>/dev/null; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "check-syscalls: FAIL: no webhook delivery reached the receiver" >&2; fi

# SIGTERM to the server itself (a signal to strace would only detach it); strace ends with it
# and exits with the server's status.
kill -TERM "$luot_pid"
for _ in $(seq 1 600); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$server" 2>/dev/null; then
  failed=$((failed + 1)); echo "check-syscalls: FAIL: luot serve did not stop within 60 s of SIGTERM" >&2
elif wait "$server"; then
  passed=$((passed + 1))
else
  failed=$((failed + 1)); echo "check-syscalls: FAIL: luot serve did not exit cleanly on SIGTERM" >&2
fi
server=""
luot_pid=""

# strace -f lines: "PID name(args…) = …", "PID <... name resumed> …", "PID +++ exited …".
made="$(sed -n 's/^[0-9]\+ \+\([a-z0-9_]\+\)(.*/\1/p' "$work/trace" | sort -u)"
count=0
for s in $made; do
  count=$((count + 1))
  if [ -n "${permitted[$s]:-}" ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "check-syscalls: FAIL: luot serve calls $s, which the unit's SystemCallFilter= refuses" >&2; fi
done
[ "$count" -ge 20 ] || { failed=$((failed + 1)); echo "check-syscalls: FAIL: only $count distinct calls traced; the trace is not read right" >&2; }
echo "check-syscalls: $count distinct system calls, ${#permitted[@]} allowed by the unit"
echo "check-syscalls: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
