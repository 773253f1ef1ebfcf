#!/usr/bin/env python3
"""End-to-end benchmark of framehive against the Python baseline (../shared/baseline-py), in one run.

Prints a table (and writes it to --out as Markdown). Everything runs on 127.0.0.1; every process
started is stopped by PID.

1. Throughput: hog on vtest.avi, 2 workers x 1 thread, sender unthrottled, N frames: frames/s
   (results / (last completion - sender start)) against the bare loop (JPEG decode + HOG on the
   same N frames, 2 threads, tests/bench/bench_detect_loop). The baseline's pipeline
   (run_e2e.sh, FPS=0) is measured against the same bare loop.
2. Overhead at 10 fps: per frame, (completed_at - captured_at) - processing_ms: everything
   that is not detection (UDP, reassembly, queueing, XML-RPC, scheduling).
3. Overload at 2x the measured detector capacity: latency p50/p99, frames dropped (counted).

Usage: bench_e2e.py [--bin build/bin] [--frames 300] [--baseline ../shared/baseline-py] [--out F]
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import xmlrpc.client

VTEST = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * len(xs) + 0.5)) - 1))
    return xs[k]


class Procs:
    def __init__(self):
        self.procs = []

    def start(self, args, log):
        p = subprocess.Popen(args, stdout=open(log, "w"), stderr=subprocess.STDOUT)
        self.procs.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=15):
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def stop_all(self):
        for p in reversed(self.procs):
            self.stop(p)


def wait_for(pred, timeout, step=0.1):
    end = time.time() + timeout
    while time.time() < end:
        try:
            if pred():
                return True
        except (OSError, xmlrpc.client.Error):
            pass
        time.sleep(step)
    return False


def bare_loop(binary, frames, threads=2):
    out = subprocess.run([binary, "--detector", "hog", "--threads", str(threads),
                          "--frames", str(frames)], capture_output=True, text=True, check=True)
    kv = dict(t.split("=", 1) for t in out.stdout.split())
    return float(kv["frames_per_s"])


def run_ours(bindir, tmp, frames, fps, pending_bound, label):
    """master + receiver + 2 hog workers + sender; returns (records, status, receiver line)."""
    procs = Procs()
    mport, uport = free_port(), free_port(socket.SOCK_DGRAM)
    url = "http://127.0.0.1:%d/RPC2" % mport
    logs = os.path.join(tmp, label)
    os.makedirs(logs, exist_ok=True)
    try:
        procs.start([bindir + "/framehive-master", "--port", str(mport), "--db", ":memory:",
                     "--max-pending-per-port", str(pending_bound), "--max-frame-age", "0",
                     "--stats-interval", "0", "--retain-results", "100000"],
                    logs + "/master.log")
        m = xmlrpc.client.ServerProxy(url, use_builtin_types=True)
        if not wait_for(lambda: m.status() is not None, 10):
            raise RuntimeError("master did not start")
        rcv = procs.start([bindir + "/framehive-receiver", "--bind", "127.0.0.1", "--ports",
                           str(uport), "--master", url, "--stats-interval", "0",
                           "--queue-per-port", "1000", "--rcvbuf", str(32 << 20)],
                          logs + "/receiver.log")
        for i in range(2):
            procs.start([bindir + "/framehive-worker", "--master", url, "--detector", "hog",
                         "--id", "w%d" % i, "--threads", "1"], logs + "/worker%d.log" % i)
        if not wait_for(lambda: len(m.status()["workers"]) == 2, 20):
            raise RuntimeError("workers did not register")
        time.sleep(0.3)
        t0 = time.time()
        snd = procs.start([bindir + "/framehive-sender", "--source", VTEST, "--receiver",
                           "127.0.0.1", "--port", str(uport), "--fps", str(fps), "--frames",
                           str(frames), "--stats-interval", "0", "--motion", "off"],
                          logs + "/sender.log")
        snd.wait(600)
        time.sleep(1.2)  # receiver frame timeout: incomplete frames are counted

        def drained():
            s = m.status()
            return s["pending"] + s["in_progress"] == 0 and s["ports"] and \
                s["ports"][0]["received"] > 0
        wait_for(drained, 300, 0.2)
        procs.stop(rcv)
        recs = m.get_results(uport, 0)
        status = m.status()
        rline = [l for l in open(logs + "/receiver.log") if l.startswith("receiver-stats")]
        return t0, recs, status, rline[-1] if rline else ""
    finally:
        procs.stop_all()


def run_baseline(baseline, frames, fps):
    env = dict(os.environ, WORKERS="2", FPS=str(fps), MAX_FRAMES=str(frames),
               MASTER_PORT=str(free_port()), PORTS=str(free_port(socket.SOCK_DGRAM)),
               DRAIN_TIMEOUT="300")
    out = subprocess.run(["bash", os.path.join(baseline, "run_e2e.sh")], env=env,
                         capture_output=True, text=True, timeout=900)
    lines = [l for l in out.stdout.splitlines() if l.startswith("{")]
    if not lines:
        raise RuntimeError("baseline run_e2e.sh printed no result:\n" + out.stdout + out.stderr)
    return json.loads(lines[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.abspath(os.path.join(here, "..", ".."))
    ap.add_argument("--bin", default=os.path.join(root, "build", "bin"))
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--baseline", default=os.path.join(root, "..", "shared", "baseline-py"))
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="fh-bench-e2e-")
    rows = []

    loop_fps = bare_loop(a.bin + "/bench_detect_loop", a.frames)
    rows.append(("bare loop: decode + hog, 2 threads, %d frames" % a.frames, "%.2f fps" % loop_fps, "", ""))

    t0, recs, st, rline = run_ours(a.bin, tmp, a.frames, 0, 100000, "throughput")
    last = max(r["completed_at"] for r in recs)
    ours_fps = len(recs) / (last - t0)
    rows.append(("framehive e2e, sender unthrottled, 2 hog workers",
                 "%.2f fps = %.1f%% of bare loop" % (ours_fps, 100 * ours_fps / loop_fps),
                 ">= 97%", "%d/%d frames completed" % (len(recs), a.frames)))
    if not a.skip_baseline:
        b = run_baseline(a.baseline, a.frames, 0)
        rows.append(("baseline e2e (run_e2e.sh FPS=0)",
                     "%.2f fps = %.1f%% of bare loop" % (b["fps_achieved"], 100 * b["fps_achieved"] / loop_fps),
                     "(README: 88%)", "%d/%d frames completed" % (b["frames_completed"], a.frames)))

    n10 = min(a.frames, 200)
    t0, recs, st, rline = run_ours(a.bin, tmp, n10, 10, 8, "fps10")
    over = [(r["completed_at"] - r["captured_at"]) * 1000 - r["processing_ms"] for r in recs]
    lat = [(r["completed_at"] - r["captured_at"]) * 1000 for r in recs]
    proc = [r["processing_ms"] for r in recs]
    rows.append(("framehive at 10 fps: overhead = latency - processing",
                 "p50 %.2f ms, p99 %.2f ms" % (pct(over, 50), pct(over, 99)),
                 "p50 <= 3 ms, p99 <= 10 ms",
                 "latency p50 %.0f / p99 %.0f ms, processing p50 %.0f ms, %d frames" % (
                     pct(lat, 50), pct(lat, 99), pct(proc, 50), len(recs))))
    if not a.skip_baseline:
        b = run_baseline(a.baseline, n10, 10)
        rows.append(("baseline at 10 fps: latency", "p50 %s ms, p99 %s ms" % (
            b["latency_ms"]["p50"], b["latency_ms"]["p99"]), "", ""))

    fps_over = round(2 * loop_fps)
    t0, recs, st, rline = run_ours(a.bin, tmp, a.frames, fps_over, 8, "overload")
    lat = [(r["completed_at"] - r["captured_at"]) * 1000 for r in recs]
    port = st["ports"][0]
    kv = dict(t.split("=", 1) for t in rline.split()[1:]) if rline else {}
    rows.append(("framehive overload: %d fps (2x capacity), %d frames" % (fps_over, a.frames),
                 "p50 %.0f ms, p99 %.0f ms" % (pct(lat, 50), pct(lat, 99)), "p99 <= 1 s",
                 "completed %d, dropped %d (master) + %s (receiver), expired %d, incomplete %s" % (
                     port["completed"], port["dropped"], kv.get("frames_dropped", "?"),
                     port["expired"], kv.get("frames_incomplete", "?"))))
    if not a.skip_baseline:
        b = run_baseline(a.baseline, a.frames, fps_over)
        rows.append(("baseline overload: %d fps" % fps_over, "p50 %s ms, p99 %s ms" % (
            b["latency_ms"]["p50"], b["latency_ms"]["p99"]), "",
            "completed %d, nothing dropped: queue grows" % b["frames_completed"]))

    w = [max(len(r[i]) for r in rows + [("measure", "result", "target", "notes")]) for i in range(4)]
    lines = ["| measure | result | target | notes |", "|---|---|---|---|"]
    lines += ["| %s | %s | %s | %s |" % r for r in rows]
    text = "\n".join(lines)
    print(text)
    if a.out:
        open(a.out, "w").write(text + "\n")


if __name__ == "__main__":
    main()
