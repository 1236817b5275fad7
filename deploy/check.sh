#!/usr/bin/env bash
# Checks the deployment files: Kubernetes manifests (kubernetes-validate, strict), the
# compose file (docker compose / docker-compose config), the systemd unit
# (systemd-analyze verify), the Prometheus config of the compose stack (promtool), and that
# diemcau accepts the example config and the cluster's config (--check-config).
#
# Needs: python3 with kubernetes-validate and PyYAML (pip install kubernetes-validate pyyaml),
# one of `docker compose` / `docker-compose` (Debian: docker-compose), systemd-analyze
# (Debian: systemd), promtool (Debian: prometheus), openssl. A missing tool fails the check;
# SKIP_MISSING=1 turns that into a skipped step. Exits non-zero when any check fails.
set -uo pipefail
cd "$(dirname "$0")"
root=$(cd .. && pwd)
bin=${DIEMCAU_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/diemcau}
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { printf 'ok    %s\n' "$*"; }
bad() { printf 'FAIL  %s\n' "$*"; failed=1; }
missing() {
  if [[ ${SKIP_MISSING:-0} == 1 ]]; then printf 'skip  %s (not installed)\n' "$*"; else bad "$* (not installed)"; fi
}
run() { # run <label> <command...>: prints the output only on failure
  local label=$1; shift
  if out=$("$@" 2>&1); then ok "$label"; else bad "$label"; printf '%s\n' "$out" | sed 's/^/      /'; fi
}

# Kubernetes
if command -v kubernetes-validate >/dev/null 2>&1; then
  run "kubernetes manifests (kubernetes-validate --strict)" \
    kubernetes-validate --strict --quiet kubernetes/*.yaml kubernetes/alternatives/*.yaml
else
  missing "kubernetes-validate"
fi

# Compose: needs the variables of deploy/.env.
export DOMAIN=hop.example.test PUBLIC_IP=203.0.113.10
if docker compose version >/dev/null 2>&1; then
  run "compose.yaml (docker compose config)" docker compose -f compose.yaml config -q
  run "compose.cluster.yaml (docker compose config)" docker compose -f compose.cluster.yaml config -q
elif command -v docker-compose >/dev/null 2>&1; then
  run "compose.yaml (docker-compose config)" docker-compose -f compose.yaml config -q
  run "compose.cluster.yaml (docker-compose config)" docker-compose -f compose.cluster.yaml config -q
else
  missing "docker compose / docker-compose"
fi
for f in compose/grafana/provisioning/datasources/prometheus.yml compose/grafana/provisioning/dashboards/diemcau.yml; do
  run "$f parses" python3 -c 'import sys, yaml; d = yaml.safe_load(open(sys.argv[1])); assert d["apiVersion"] == 1' "$f"
done
if command -v promtool >/dev/null 2>&1; then
  # The compose Prometheus reads its rules from /etc/prometheus/rules: check with the same layout.
  mkdir -p "$tmp/prom/rules" && cp monitoring/rules/diemcau.yml "$tmp/prom/rules/"
  sed "s#/etc/prometheus/rules/#$tmp/prom/rules/#" compose/prometheus.yml > "$tmp/prom/prometheus.yml"
  run "compose/prometheus.yml (promtool check config)" promtool check config "$tmp/prom/prometheus.yml"
else
  missing "promtool"
fi

# systemd: verify needs the command to exist; use the built binary (or /bin/true).
if command -v systemd-analyze >/dev/null 2>&1; then
  exe=/bin/true
  [[ -x $bin ]] && exe=$bin
  sed "s#/usr/local/bin/diemcau#$exe#g" systemd/diemcau.service > "$tmp/diemcau.service"
  # verify exits 0 on settings it ignores ("Failed to parse …, ignoring"): any output fails.
  out=$(systemd-analyze verify "$tmp/diemcau.service" 2>&1)
  if [[ $? == 0 && -z $out ]]; then ok "systemd/diemcau.service (systemd-analyze verify)"
  else bad "systemd/diemcau.service (systemd-analyze verify)"; printf '%s\n' "$out" | sed 's/^/      /'; fi
else
  missing "systemd-analyze"
fi

# The configurations diemcau itself reads.
if [[ -x $bin ]]; then
  run "diemcau.example.toml (diemcau --check-config)" "$bin" --check-config --config diemcau.example.toml
  # The cluster's config, with its secret files in a scratch directory.
  if python3 - "$tmp" <<'PY'
import sys, yaml
tmp = sys.argv[1]
doc = yaml.safe_load(open("kubernetes/configmap.yaml"))
text = doc["data"]["diemcau.toml"].replace("/etc/diemcau/secrets/", tmp + "/")
open(tmp + "/cluster.toml", "w").write(text)
for name in ("admin_key", "token_secret", "turn_secret"):
    open(f"{tmp}/{name}", "w").write(name + "-0123456789abcdef0123456789abcdef\n")
PY
  then
    run "kubernetes/configmap.yaml diemcau.toml (diemcau --check-config)" \
      env DIEMCAU_ANNOUNCE_IP=203.0.113.10 DIEMCAU_DATA_DIR="$tmp/data" "$bin" --check-config --config "$tmp/cluster.toml"
  else
    bad "kubernetes/configmap.yaml: diemcau.toml not extracted"
  fi
else
  missing "diemcau binary at $bin (cargo build --release -p signaling)"
fi

exit $failed
