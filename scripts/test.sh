#!/usr/bin/env bash
# Installs what the tests need (Debian packages, npm packages) and runs every test:
# Rust unit + integration tests, web-client type check and unit tests, and the end-to-end
# meeting in real Chromium inside a loopback-only network namespace.
#
# Needs root (apt-get, unshare -n). Run from anywhere: ./scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s ==\n' "$*"; }

step "system packages"
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
if ((${#missing[@]})); then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "chromium: $(chromium --version 2>/dev/null || echo missing)"

step "npm packages (web-client)"
(cd web-client && npm ci --no-audit --no-fund --loglevel=error)

step "rust: unit and integration tests"
cargo test --workspace --all-targets

step "web-client: type check and unit tests"
(cd web-client && npm run --silent check && npm test)

step "end to end: a meeting in real Chromium"
cargo build --release -p signaling
unshare -n bash -c 'ip link set lo up && cd web-client && node --test --test-concurrency=1 --test-timeout=300000 test/e2e/'
