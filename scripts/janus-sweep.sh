#!/usr/bin/env bash
# Issue 15 item 3: diemcau and Janus side by side in the same run (`--target both`) at 50,
# 100, 200 and 400 sites, Janus as packaged (event_loops unset: a thread per handle) and with
# `event_loops = 2`, then one table of the runs from their result.json: CPU s per million
# delivered packets for each, joined, loss, first keyframe p50, e2e video p99, generator and
# other processes' cores. A sweep for RESULTS.md, not a test. Needs a release build
# (`cargo build --release -p signaling -p load-tests`), Debian's `janus`, root (network
# namespace). Takes ~25 min; keep the machine otherwise quiet, or say it was not.
#
#   ./scripts/janus-sweep.sh [sizes...]      # default: 50 100 200 400
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-50 100 200 400}")
read -r -a sizes <<<"${sizes[*]}"
[[ -x target/release/diemcau && -x target/release/load-tests ]] ||
  { echo "build first: cargo build --release -p signaling -p load-tests" >&2; exit 2; }
command -v janus >/dev/null || { echo "janus is not installed (apt-get install janus)" >&2; exit 2; }
runs=$(mktemp)
for n in "${sizes[@]}"; do
  for loops in 0 2; do
    echo "== province-$n, janus event_loops=$loops ($(date -u +%H:%M:%S))" >&2
    mark=$(mktemp)
    unshare -n bash -c "ip link set lo up; ./target/release/load-tests --target both --server-nice -10 \
      --janus-event-loops $loops --no-record load-tests/scenarios/province-$n.toml" >/dev/null
    find load-tests/results -name result.json -newer "$mark" | sort | sed "s/\$/ $loops/" >>"$runs"
    rm -f "$mark"
  done
done
python3 - "$runs" <<'PY'
import json, sys
print("| run | target | joined | loss | CPU s per M delivered | first keyframe p50 | e2e video p99 | generator cores | other cores |")
print("|---|---|---|---|---|---|---|---|---|")
for line in open(sys.argv[1]):
    path, loops = line.split()
    d = json.load(open(path))
    m, g = d["media"], d["generator"]
    target = d["target"] if d["target"] != "janus" else f"janus (event_loops {loops if loops != '0' else 'unset'})"
    print(f"| {path.split('/')[-2]} | {target} | {d['joined']}/{d['joined'] + d['failed']} "
          f"| {m['loss_pct']:.3f}% | **{d['per_packet']['cpu_s_per_million']:.2f}** "
          f"| {d['join']['first_video_ms'][0]:.0f} ms | {m['video_e2e_ms'][1]:.0f} ms "
          f"| {g['cores']:.2f} | {g['other_cores']:.2f} |")
PY
rm -f "$runs"
