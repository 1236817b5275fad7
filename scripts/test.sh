#!/usr/bin/env bash
# Installs what the tests need (Debian packages, npm packages) and runs every test:
# Rust unit + integration tests, web-client type check and unit tests, and the end-to-end
# tests in real Chromium (and one Firefox ESR site) inside a loopback-only network namespace
# (a meeting, chairing, the line check, the operator page, metrics scraped by a real
# Prometheus, TURN, ICE-TCP, shaped and cut links in their own namespaces), a replay of every
# fuzz target's committed corpus, and schemathesis against the admin API's OpenAPI document.
#
# Needs root (apt-get, unshare -n). Run from anywhere: ./scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# A fresh checkout gains nothing from incremental state; it only costs disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

step() { printf '\n== %s ==\n' "$*"; }

step "system packages"
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v firefox-esr >/dev/null 2>&1 || missing+=(firefox-esr)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v nft >/dev/null 2>&1 || missing+=(nftables)
command -v turnserver >/dev/null 2>&1 || missing+=(coturn)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# The cluster tests (signaling/tests/cluster.rs) run a real JetStream server.
command -v nats-server >/dev/null 2>&1 || missing+=(nats-server)
command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1 || missing+=(docker-compose)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v pip3 >/dev/null 2>&1 || missing+=(python3-pip)
python3 -c 'import yaml' 2>/dev/null || missing+=(python3-yaml)
# libFuzzer (the fuzz targets) is C++.
command -v g++ >/dev/null 2>&1 || missing+=(g++)
# Recordings are checked (and composed) with Debian's ffmpeg and ffprobe.
command -v ffprobe >/dev/null 2>&1 || missing+=(ffmpeg)
if ((${#missing[@]})); then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "chromium: $(chromium --version 2>/dev/null || echo missing)"
echo "firefox: $(firefox-esr --version 2>/dev/null || echo missing)"
# The Kubernetes manifest validator is on PyPI only.
command -v kubernetes-validate >/dev/null 2>&1 ||
  pip3 install --quiet --break-system-packages kubernetes-validate==1.37.0 >/dev/null

step "npm packages (web-client)"
(cd web-client && npm ci --no-audit --no-fund --loglevel=error)

step "rust: formatting and lints (first, so they fail fast)"
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  rustup component add rustfmt clippy
fi
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings

step "rust: unit and integration tests"
cargo test --workspace --all-targets

step "fuzz corpora: every committed input through its target, once (no exploration)"
# The same target code libFuzzer runs (fuzz/targets), built with the workspace above; random
# exploration stays in ./scripts/fuzz.sh, which a test run must not depend on.
cargo test --workspace --locked --test replay -- --nocapture

step "web-client: type check and unit tests"
(cd web-client && npm run --silent check && npm test)

step "end to end: a meeting in real Chromium, and sites on shaped links"
cargo build --release -p signaling
unshare -n bash -c 'ip link set lo up && cd web-client && node --test --test-concurrency=1 --test-timeout=300000 test/e2e/ test/network/'

step "admin API against its OpenAPI document (schemathesis)"
./scripts/schemathesis.sh

step "deployment files"
./deploy/check.sh
