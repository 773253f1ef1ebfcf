#!/usr/bin/env bash
# The long reliability run behind docs/reliability.md: faults injected into the running
# pipeline (kill -9 workers and the master, restart the receiver and the sender, packet loss,
# duplication and reordering on the path), hostile input (malformed XML-RPC, slow and idle
# clients, a UDP garbage flood, bad sources for the sender), 8 ports of load, and a soak
# sampling RSS, fds and threads of every process. Prints a Markdown report with the figures
# and the exact commands; writes it with the raw figures and every log to the --out directory.
# The short fault tests run under ctest (tests/integration/test_reliability_*.cpp).
#
#   scripts/reliability.sh                         # build, then everything (~20 min, 10-min soak)
#   scripts/reliability.sh --quick                 # 60-s soak, 20-s load: a development pass (~8 min)
#   scripts/reliability.sh --only soak --soak-seconds 1800
#   scripts/reliability.sh --no-build --skip netloss,soak
#
# Options: --quick, --no-build, and every option of scripts/reliability_run.py (--help):
# --only/--skip SECTION,... (workers master restart netloss hostile sender load soak mastermem),
# --soak-seconds (600), --load-seconds (60), --out DIR (out/reliability), --bin DIR.
# Environment: BUILD_DIR (build) as for scripts/build.sh. Needs root for the network
# namespaces of the netloss section (it falls back to a user-space impairment proxy only).
# Talks only to 127.0.0.1 and to the namespaces fhrel-a/fhrel-b it creates and deletes.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
build=1
args=()
for a in "$@"; do
  case "$a" in
    --no-build) build=0 ;;
    --quick) args+=(--soak-seconds 60 --soak-warmup 20 --load-seconds 20 --saturation-seconds 10
                    --worker-frames 120 --worker-kills 4 --loss-frames 150 --flood-seconds 4
                    --mastermem-tasks 120000) ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exec python3 scripts/reliability_run.py --help ;;
    *) args+=("$a") ;;
  esac
done

if [ "$build" = 1 ]; then
  echo "== building into $BUILD_DIR (log: /tmp/framehive-reliability-build.log)"
  BUILD_DIR="$BUILD_DIR" bash scripts/build.sh > /tmp/framehive-reliability-build.log 2>&1 || {
    tail -30 /tmp/framehive-reliability-build.log; echo "reliability: build failed"; exit 1; }
fi
if [ "$(id -u)" != 0 ]; then
  echo "reliability: not root: the netloss section uses only the user-space proxy" >&2
  args+=(--no-netns)
fi
exec python3 scripts/reliability_run.py --bin "$BUILD_DIR/bin" "${args[@]}"
