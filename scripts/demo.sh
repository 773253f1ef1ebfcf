#!/usr/bin/env bash
# The whole framehive pipeline on the bundled sample videos, on this machine (127.0.0.1 only):
# a master, a receiver on ports 5000-5001, two workers (hog, haar:frontalface) and two
# publishers (vtest.avi -> 5000, Megamind.avi -> 5001). Shows progress, prints the per-port
# summary and the tracked people's events (zone "path", docs/events.md), writes annotated
# frames to demo-out/ and stops every process it started.
# Installs dependencies and builds when needed (progress every ~10%, full log in
# /tmp/framehive-demo-build.log). Safe to run again: demo-out/ is recreated. The master's web
# console is at http://127.0.0.1:DEMO_MASTER_PORT/ while the demo runs.
#
# Knobs (environment): DEMO_MASTER_PORT (8000), DEMO_PORT_A (5000), DEMO_PORT_B (5001),
# DEMO_VTEST_FRAMES (150), DEMO_VTEST_FPS (5), DEMO_MEGAMIND_FPS (8), DEMO_OUT (demo-out),
# DEMO_KEEP (0; 1: after the summary, keep the pipeline running, the publishers looping their
# videos, until Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."

MASTER_PORT=${DEMO_MASTER_PORT:-8000}
PORT_A=${DEMO_PORT_A:-5000}
PORT_B=${DEMO_PORT_B:-5001}
VTEST_FRAMES=${DEMO_VTEST_FRAMES:-150}
VTEST_FPS=${DEMO_VTEST_FPS:-5}
MEGAMIND_FPS=${DEMO_MEGAMIND_FPS:-8}
OUT=${DEMO_OUT:-demo-out}
DATA=/usr/share/doc/opencv-doc/examples/data
BIN=build/bin
URL="http://127.0.0.1:${MASTER_PORT}/RPC2"
CONSOLE="http://127.0.0.1:${MASTER_PORT}/"
KEEP=${DEMO_KEEP:-0}
BUILD_LOG=/tmp/framehive-demo-build.log

echo "== framehive demo: preparing (dependencies, build)"
bash scripts/install-deps.sh
build_t0=$SECONDS
echo "   building (full log: $BUILD_LOG)"
# cmake's "[ 42%] Building ..." lines, one per 10% step; everything goes to the log.
bash scripts/build.sh 2>&1 | tee "$BUILD_LOG" | awk '
  match($0, /^\[ *[0-9]+%\]/) {
    pct = substr($0, RSTART + 1, RLENGTH - 3) + 0
    if (pct >= next_pct) {
      print "   " $0; fflush()
      while (next_pct <= pct) next_pct += 10
    }
  }' || {
  tail -40 "$BUILD_LOG"; echo "demo: build failed (log: $BUILD_LOG)"; exit 1; }
echo "   build done in $((SECONDS - build_t0)) s"

rm -rf "$OUT"
mkdir -p "$OUT/logs"
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 50); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted"; exit 130' INT TERM

start() {  # start NAME CMD... : runs CMD in the background, logs to $OUT/logs/NAME.log
  local name=$1; shift
  "$@" > "$OUT/logs/$name.log" 2>&1 &
  PIDS+=($!)
  eval "PID_${name//-/_}=$!"
}

wait_until() {  # wait_until SECONDS CMD... : polls CMD every 0.2 s
  local deadline=$((SECONDS + $1)); shift
  until "$@" > /dev/null 2>&1; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.2
  done
}

# Events (docs/events.md): a zone "path" on the lower half of the vtest scene and a rule for
# the people in it (no webhook or MQTT here: the events are stored and listed at the end).
cat > "$OUT/events.json" <<EOF
{"zones": {"$PORT_A": [{"name": "path", "polygon": [[0, 0.5], [1, 0.5], [1, 1], [0, 1]]}]},
 "rules": [{"name": "people", "ports": [$PORT_A], "labels": ["person"], "min_confidence": 0.3}]}
EOF
echo "== starting master on $URL, receiver on UDP $PORT_A-$PORT_B, workers hog and haar:frontalface"
start master "$BIN/framehive-master" --port "$MASTER_PORT" --db "$OUT/master.db" \
  --detector "$PORT_A=hog" --detector "$PORT_B=haar:frontalface" --keep-frames 200 \
  --max-frame-age 30 --stats-interval 0 --events-config "$OUT/events.json"
wait_until 15 "$BIN/framehive-ctl" --master "$URL" status || {
  cat "$OUT/logs/master.log"; echo "demo: the master did not start (port $MASTER_PORT busy? set DEMO_MASTER_PORT)"; exit 1; }
echo "== master is up: console $CONSOLE (JSON API ${CONSOLE}api/v1/)"
start receiver "$BIN/framehive-receiver" --bind 127.0.0.1 --ports "$PORT_A-$PORT_B" \
  --master "$URL" --stats-interval 0
start worker-hog "$BIN/framehive-worker" --master "$URL" --detector hog --id demo-hog
start worker-face "$BIN/framehive-worker" --master "$URL" --detector haar:frontalface --id demo-face
sleep 0.5
for p in "$PID_receiver" "$PID_worker_hog" "$PID_worker_face"; do
  kill -0 "$p" 2>/dev/null || { tail -5 "$OUT"/logs/*.log; echo "demo: a component failed to start"; exit 1; }
done

echo "== publishing vtest.avi -> $PORT_A ($VTEST_FRAMES frames at $VTEST_FPS fps), Megamind.avi -> $PORT_B ($MEGAMIND_FPS fps)"
# --motion off: every frame is published, so the summary counts the videos' frames (a camera's
# default is --motion gate, docs/motion.md).
start sender-a "$BIN/framehive-sender" --source "$DATA/vtest.avi" --receiver 127.0.0.1 \
  --port "$PORT_A" --stream vtest --fps "$VTEST_FPS" --frames "$VTEST_FRAMES" --stats-interval 0 \
  --motion off
start sender-b "$BIN/framehive-sender" --source "$DATA/Megamind.avi" --receiver 127.0.0.1 \
  --port "$PORT_B" --stream megamind --fps "$MEGAMIND_FPS" --stats-interval 0 --motion off

progress() {
  "$BIN/framehive-ctl" --master "$URL" status --json 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)
parts = ["%d: %d received, %d done, %d failed, %d dropped, %.1f fps" % (
    p["port"], p["received"], p["completed"], p["failed"], p["dropped"] + p["expired"], p["fps"])
    for p in s["ports"]]
print("   queue %d pending, %d in progress | %s" % (s["pending"], s["in_progress"], " | ".join(parts) or "waiting for frames"))
' || true
}
while kill -0 "$PID_sender_a" 2>/dev/null || kill -0 "$PID_sender_b" 2>/dev/null; do
  progress
  sleep 3
done
wait "$PID_sender_a" || { tail -5 "$OUT/logs/sender-a.log"; echo "demo: sender for $PORT_A failed"; exit 1; }
wait "$PID_sender_b" || { tail -5 "$OUT/logs/sender-b.log"; echo "demo: sender for $PORT_B failed"; exit 1; }

echo "== publishers done; letting the queue drain"
sleep 1.5  # the receiver's frame timeout: incomplete frames are counted
kill -TERM "$PID_receiver"; wait "$PID_receiver" || true
drained() {
  "$BIN/framehive-ctl" --master "$URL" status --json | python3 -c '
import json, sys
s = json.load(sys.stdin)
sys.exit(0 if s["pending"] + s["in_progress"] == 0 else 1)'
}
wait_until 120 drained || echo "demo: the queue did not drain within 120 s (see status below)"
progress

echo "== annotated frames"
for port in "$PORT_A" "$PORT_B"; do
  "$BIN/framehive-ctl" --master "$URL" results --port "$port" --limit 200 --json 2>/dev/null \
    | python3 -c '
import json, sys
recs = [json.loads(l) for l in sys.stdin if l.strip()]
hits = [r for r in recs if r["detections"]]
hits.sort(key=lambda r: -len(r["detections"]))
for r in hits[:3]:
    print(r["task_id"])' | while read -r task; do
      "$BIN/framehive-ctl" --master "$URL" frame --task "$task" -o "$OUT/port$port-$task.jpg" | sed 's/^/   /'
    done
done

echo "== summary"
"$BIN/framehive-ctl" --master "$URL" status --json > "$OUT/status.json"
for port in "$PORT_A" "$PORT_B"; do
  "$BIN/framehive-ctl" --master "$URL" summary --port "$port" --interval 1d --since 2d --json \
    > "$OUT/summary-$port.jsonl" || true
  "$BIN/framehive-ctl" --master "$URL" export --port "$port" --format csv -o "$OUT/results-$port.csv" 2>/dev/null || true
done
python3 scripts/demo_summary.py "$OUT" "$PORT_A" "$PORT_B"
"$BIN/framehive-ctl" --master "$URL" events --limit 1000 --json > "$OUT/events.jsonl" || true
echo "== events (docs/events.md): people tracked on $PORT_A (vtest.avi) and walking into its \"path\" zone"
python3 - "$OUT/events.jsonl" "$PORT_A" <<'PY' || true
import collections, json, sys
events = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
port = int(sys.argv[2])
by = collections.Counter(e["type"] for e in events if e["port"] == port)
people = {e["track_id"] for e in events if e["port"] == port and e["type"] == "object.start"}
print("   %d people tracked (object.start), %d zone entries, %d ends; all types: %s" % (
    len(people), by["object.zone_enter"], by["object.end"],
    ", ".join("%s %d" % kv for kv in sorted(by.items())) or "none"))
PY
"$BIN/framehive-ctl" --master "$URL" events --port "$PORT_A" --type object.zone_enter --limit 8 \
  | sed 's/^/   /' || echo "   (no events)"
echo "   (all of them: framehive-ctl events --port $PORT_A --limit 1000; the console's Events page)"
echo "== results, logs and annotated frames are in $OUT/"

if [ "$KEEP" = 1 ]; then
  echo "== DEMO_KEEP=1: the pipeline keeps running, the publishers loop their videos"
  start receiver-keep "$BIN/framehive-receiver" --bind 127.0.0.1 --ports "$PORT_A-$PORT_B" \
    --master "$URL" --stats-interval 0
  start sender-a-keep "$BIN/framehive-sender" --source "$DATA/vtest.avi" --receiver 127.0.0.1 \
    --port "$PORT_A" --stream vtest --fps "$VTEST_FPS" --loop --stats-interval 0
  start sender-b-keep "$BIN/framehive-sender" --source "$DATA/Megamind.avi" --receiver 127.0.0.1 \
    --port "$PORT_B" --stream megamind --fps "$MEGAMIND_FPS" --loop --stats-interval 0
  # Ctrl-C ends the demo normally: the EXIT trap stops every process it started.
  trap 'echo; echo "demo: stopping"; exit 0' INT TERM
  echo "console: $CONSOLE — press Ctrl-C to stop"
  while :; do
    for p in "$PID_receiver_keep" "$PID_sender_a_keep" "$PID_sender_b_keep"; do
      kill -0 "$p" 2>/dev/null || { tail -5 "$OUT"/logs/*-keep.log; echo "demo: a component stopped"; exit 1; }
    done
    sleep 1 & wait $! || true  # wait returns at once when a signal arrives
  done
fi
