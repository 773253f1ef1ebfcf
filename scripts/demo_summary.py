#!/usr/bin/env python3
"""Prints the demo's per-port summary from the files scripts/demo.sh leaves in its output dir.

Usage: demo_summary.py OUT_DIR PORT [PORT ...]. Reads the final statistics lines of the
senders (logs/sender-*.log) and the receiver (logs/receiver.log), the master's status.json and
summary-PORT.jsonl. Exits 1 if any port's counts do not add up.
"""
import glob
import json
import sys


def stats_lines(path, prefix):
    out = {}
    try:
        for line in open(path, errors="replace"):
            if line.startswith(prefix + " "):
                kv = dict(tok.split("=", 1) for tok in line.split()[1:] if "=" in tok)
                out[int(kv["port"])] = kv
    except OSError:
        pass
    return out


def main():
    out_dir, ports = sys.argv[1], [int(p) for p in sys.argv[2:]]
    sent = {}
    for path in glob.glob(out_dir + "/logs/sender-*.log"):
        sent.update(stats_lines(path, "sender-stats"))
    recv = stats_lines(out_dir + "/logs/receiver.log", "receiver-stats")
    status = json.load(open(out_dir + "/status.json"))
    mports = {p["port"]: p for p in status["ports"]}
    ok = True
    rows = []
    for port in ports:
        s, r, m = sent.get(port, {}), recv.get(port, {}), mports.get(port, {})
        labels = {}
        try:
            for line in open("%s/summary-%d.jsonl" % (out_dir, port)):
                for k, v in json.loads(line)["labels"].items():
                    labels[k] = labels.get(k, 0) + v
        except OSError:
            pass
        n_sent = int(s.get("frames", 0))
        n_read, gated = int(s.get("read", n_sent)), int(s.get("gated", 0))
        # Frames read = sent + gated at the camera + frames that failed to encode (none here).
        if n_read != n_sent + gated or m.get("gated", 0) > gated:
            ok = False
        complete = int(r.get("frames_complete", 0))
        incomplete = int(r.get("frames_incomplete", 0))
        rdropped = int(r.get("frames_dropped", 0)) + int(r.get("frames_failed", 0))
        completed, failed = m.get("completed", 0), m.get("failed", 0)
        mdropped, expired = m.get("dropped", 0), m.get("expired", 0)
        left = m.get("pending", 0) + m.get("in_progress", 0)
        accounted = completed + failed + incomplete + rdropped + mdropped + expired + left
        rows.append((port, n_read, gated, n_sent, complete, completed, failed, incomplete,
                     rdropped + mdropped, expired, labels, m.get("latency_p50_ms", 0),
                     m.get("latency_p99_ms", 0), accounted))
        if accounted != n_sent:
            ok = False
    print("%6s %6s %6s %6s %9s %10s %7s %11s %8s %8s %9s %9s  %s" % (
        "port", "read", "gated", "sent", "received", "completed", "failed", "incomplete",
        "dropped", "expired", "p50 ms", "p99 ms", "detections"))
    for (port, n_read, gated, n_sent, complete, completed, failed, incomplete, dropped, expired,
         labels, p50, p99, accounted) in rows:
        det = ", ".join("%s\u00d7%d" % kv for kv in sorted(labels.items())) or "-"
        print("%6d %6d %6d %6d %9d %10d %7d %11d %8d %8d %9.0f %9.0f  %s%s" % (
            port, n_read, gated, n_sent, complete, completed, failed, incomplete, dropped,
            expired, p50, p99, det,
            "" if accounted == n_sent else "   (UNACCOUNTED: %d)" % (n_sent - accounted)))
    print("every frame accounted for: read = gated at the camera (--motion gate) + sent; "
          "sent = completed + failed + incomplete + dropped + expired" if ok
          else "COUNTS DO NOT ADD UP")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
