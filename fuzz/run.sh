#!/usr/bin/env bash
# Runs Luot's cargo fuzz (libFuzzer) targets for a bounded time each, starting from the
# committed seeds (fuzz/seeds/<target>/); what libFuzzer adds goes to fuzz/corpus/<target>/
# (not committed), a crash to fuzz/artifacts/<target>/. See docs/reliability.md.
#
#   fuzz/run.sh quick            proto, config, core, ogg: 20 s each (CI, from run-tests.sh)
#   fuzz/run.sh long             proto, config, core, ogg, ws: 600 s each
#   fuzz/run.sh long ws core     only these targets
#   LUOT_FUZZ_SECONDS=1200 fuzz/run.sh long    another time per target
#
# Only stable Rust is needed: cargo-fuzz's nightly flags are allowed with RUSTC_BOOTSTRAP=1.
# No sanitizer: Luot's crates forbid `unsafe`, so AddressSanitizer would check little beyond
# the standard library and slow every run; panics, integer overflow (debug assertions are on)
# and the targets' own checks are what is looked for.
set -euo pipefail
cd "$(dirname "$0")"
mode="${1:-quick}"
shift || true
case "$mode" in
  quick) seconds="${LUOT_FUZZ_SECONDS:-20}"; targets=(proto config core ogg) ;;
  long) seconds="${LUOT_FUZZ_SECONDS:-600}"; targets=(proto config core ogg ws) ;;
  *) echo "usage: fuzz/run.sh quick|long [target...]" >&2; exit 2 ;;
esac
[ $# -gt 0 ] && targets=("$@")
CARGO_FUZZ_VERSION=0.13.2

export RUSTC_BOOTSTRAP=1
if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  echo "== installing cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install --locked --quiet "cargo-fuzz@$CARGO_FUZZ_VERSION"
fi
flags=(-O -a --sanitizer none)
# The long run always builds with the server (one build for every target; a build with and
# one without it would each recompile the shared crates).
[ "$mode" = long ] && flags+=(--features ws)

echo "== building fuzz targets: ${targets[*]}"
cargo fuzz build "${flags[@]}"
summary=()
failed=0
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  log="artifacts/$t/last-run.log"
  echo "== fuzzing $t for $seconds s"
  # ws: one input is one connection to a real server; its timeouts are seconds, not ms.
  extra=()
  [ "$t" = ws ] && extra=(-timeout=60)
  if cargo fuzz run "${flags[@]}" "$t" "corpus/$t" "seeds/$t" -- \
    -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=4096 "${extra[@]}" >"$log" 2>&1; then
    result=ok
  else
    result="FAILED (see fuzz/$log and fuzz/artifacts/$t/)"
    failed=1
    grep -E "panicked|ERROR|SUMMARY|Test unit written" "$log" | head -20 || true
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 || true)
  summary+=("$t: ${runs:-?} executions (${rate:-?}/s), $cov, corpus $(find "corpus/$t" -type f | wc -l) files: $result")
done
printf '== fuzz summary (%s, %s s per target)\n' "$mode" "$seconds"
printf '  %s\n' "${summary[@]}"
exit "$failed"
