#!/usr/bin/env bash
# Explores with the fuzz targets (cargo-fuzz, libFuzzer) for a time budget each, starting from
# the committed seed corpus: the signaling message parser, SDP offers through the media plane,
# and the RTP payload parsing and forwarding decisions. Random, so not part of the test
# command (that replays the committed corpora: `cargo test --test replay`, fuzz/README.md).
# Fails on any crash, panic or failed property; the input that found it is kept in
# fuzz/artifacts/<target>/ (reproduce with
# `cd fuzz && cargo fuzz run -s none <target> artifacts/<target>/<file>`); once fixed, copy it
# into fuzz/corpus/<target>/ so the replay keeps it fixed.
#
# Works on stable Rust: no sanitizer (`-s none`), so no nightly flag is needed. Needs a C++
# compiler for libFuzzer (g++). Builds go to fuzz/target (not the workspace's target/), at
# nice 19. Each run starts from the committed seeds; new inputs it finds go to a scratch
# directory (fuzz/target/corpus-run/<target>/), emptied first, so a short run costs the same
# every time. FUZZ_KEEP_CORPUS=1 keeps them across runs in fuzz/target/corpus/<target>/
# instead (for long runs). Nothing is ever written into the committed seeds.
#
#   ./scripts/fuzz.sh                  every target, FUZZ_SECONDS (default 20) each
#   FUZZ_SECONDS=600 FUZZ_KEEP_CORPUS=1 ./scripts/fuzz.sh rtp_forward    ten minutes
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds="${FUZZ_SECONDS:-20}"
targets=("$@")
((${#targets[@]})) || targets=(signaling_message sdp_offer rtp_forward)

# Longest input per target: an SDP offer from Chromium with ten sections is ~30 kB.
max_len() {
  case "$1" in
    sdp_offer) echo 48000 ;;
    signaling_message) echo 8192 ;;
    *) echo 4096 ;;
  esac
}

if ! cargo fuzz --version 2>/dev/null | grep -q '^cargo-fuzz 0\.13\.2$'; then
  nice -n 19 cargo install --locked --quiet cargo-fuzz --version 0.13.2
fi

build=(-s none --codegen-units 16)
start=$(date +%s)
nice -n 19 cargo fuzz build "${build[@]}"
echo "fuzz build: $(($(date +%s) - start)) s"

for t in "${targets[@]}"; do
  if [[ -n "${FUZZ_KEEP_CORPUS:-}" ]]; then
    found="target/corpus/$t"
  else
    found="target/corpus-run/$t"
    rm -rf "$found"
  fi
  mkdir -p "$found"
  echo "== fuzz $t for ${seconds} s =="
  # Timing is not measured here, so the run shares the machine politely.
  log="target/fuzz-$t.log"
  status=0
  nice -n 19 cargo fuzz run "${build[@]}" "$t" "$found" "corpus/$t" -- \
    -max_total_time="$seconds" -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E '^(#[0-9]+[[:space:]]+(INITED|DONE)|stat::(number_of_executed_units|average_exec_per_sec|new_units_added))' "$log" || true
  if ((status != 0)); then
    grep -E -A4 'panicked|ERROR: libFuzzer|Test unit written|SUMMARY' "$log" | grep -vE '^ +([0-9]+:|at )' | head -n 40 >&2
    echo "fuzz target $t failed (exit $status); log: fuzz/$log, input: fuzz/artifacts/$t/" >&2
    exit 1
  fi
done
