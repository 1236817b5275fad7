#!/usr/bin/env bash
# Runs the browser test of a weak site (web-client/test/network/weak-link.e2e.test.js: a site's
# line cut to 300 kbit/s + 3% loss, then 60 kbit/s) N times (default 5) and prints, per run,
# the seconds from the cut to the first picture decoded at the low layer ("down-switch"), back
# to high after the limit is lifted ("up-switch"), and the audio figures at 60 kbit/s (packets
# received and lost, share of samples concealed, codec: the chair's audio `inbound-rtp` as the
# site's browser counts it over 10 s of audio alone). A sweep
# for RESULTS.md, not a test: the suite runs the same test once. Needs what the suite installs
# (chromium, playwright-core in web-client/node_modules, a release build: `cargo build
# --release -p signaling`), root for the network namespace. Keep the machine otherwise quiet,
# or say it was not. `DIEMCAU_BIN` runs another build (e.g. main's, for a before/after).
#
#   ./scripts/weak-link-runs.sh 5
#   DIEMCAU_BIN=/path/to/before/diemcau ./scripts/weak-link-runs.sh 5
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
[[ -x "${DIEMCAU_BIN:-target/release/diemcau}" ]] || { echo "build first: cargo build --release -p signaling" >&2; exit 2; }
for i in $(seq 1 "$runs"); do
  out=$(unshare -n bash -c 'ip link set lo up && cd web-client && node --test --test-concurrency=1 --test-timeout=300000 test/network/weak-link.e2e.test.js' 2>&1) || true
  verdict=$(grep -E '^# (pass|fail) ' <<<"$out" | tr '\n' ' ')
  figures=$(grep -E '# (weak link|good site)' <<<"$out" | sed 's/^# \\# //' | tr '\n' ';')
  echo "run $i: ${verdict}${figures}"
done
