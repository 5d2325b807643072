#!/usr/bin/env bash
# Browser tests of every Luot web client, in Debian's headless Chromium against the real server.
# Installs what is missing on a fresh Debian machine (Chromium, poppler-utils for the printed
# ticket's PDF, a fallback font; the npm packages from package-lock.json), builds the server,
# then runs every tests/browser/*.test.mjs with Node's test runner. Screenshots and server logs
# go to tests/browser/output/.
set -euo pipefail
cd "$(dirname "$0")"

missing=()
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || missing+=(chromium)
for tool in pdfinfo pdftotext pdftoppm; do
  command -v "$tool" >/dev/null || { missing+=(poppler-utils); break; }
done
# Pages bring their own font (Be Vietnam Pro); a system one is only the fallback.
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/@axe-core/playwright ]; then
  echo "== npm ci"
  npm ci --no-audit --no-fund
fi

echo "== building the server"
(cd ../.. && cargo build --locked -p luot)

rm -rf output
mkdir -p output
echo "== browser tests"
# One file at a time: each starts its own server and browser, and the machine has 2 cores.
exec node --test --test-concurrency=1 --test-timeout=300000 ./*.test.mjs
