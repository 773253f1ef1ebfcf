#!/usr/bin/env python3
"""End-to-end benchmark of framehive against the Python baseline (../shared/baseline-py), in one run.

Prints a table (and writes it to --out as Markdown). Everything runs on 127.0.0.1; every process
started is stopped by PID. Rates are set from the capacity measured earlier in the same run.

1. Throughput: hog on vtest.avi, 2 workers x 1 thread, sender unthrottled, N frames: frames/s
   (results / (last completion - sender start)) against the bare loop (JPEG decode + HOG on the
   same N frames, 2 threads, tests/bench/bench_detect_loop). The baseline's pipeline
   (run_e2e.sh, FPS=0) is measured against the same bare loop. Where the rest goes: CPU-seconds
   of every process (/proc/PID/stat, or wait4 for the sender) and each worker's gap between
   two tasks (completed_at - previous completed_at - processing_ms: the complete_task and
   request_task round trips, the frame's transfer and XML-RPC decode).
2. Overhead at half the e2e capacity measured in step 1: per frame, (completed_at -
   captured_at) - processing_ms: everything that is not decode + detection (the sender's JPEG
   encode and datagrams, reassembly, queueing, XML-RPC, scheduling), split at received_at.
3. Overload at 2x the e2e capacity, with the master's settings a user who wants at most ~1 s of
   latency would choose: --max-pending-per-port 8 (the default: about 8 / capacity seconds of
   queue, 0.5 s at 16 fps, but 2 s when the workers are slowed to 4 fps) and --max-frame-age 0.5
   (a frame older than 0.5 s when a worker asks for it is expired, counted: whatever the
   capacity, latency <= 0.5 s + one detection). Latency p50/p99 of the completed frames; frames
   dropped and expired are counted and shown.

4. With --compare-prefetch N: N times the bare loop and the throughput run with the workers'
   --prefetch 0 and 1, side by side (the worker's prefetch is what this issue changed).

Usage: bench_e2e.py [--bin build/bin] [--frames 300] [--baseline ../shared/baseline-py] [--out F]
                    [--skip-baseline] [--compare-prefetch N]
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import xmlrpc.client

VTEST = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
CLK_TCK = os.sysconf("SC_CLK_TCK")


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


def cpu_seconds(pid):
    """utime + stime of a live process, in seconds (/proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class Procs:
    """Processes this benchmark started; each is stopped by its PID."""

    def __init__(self):
        self.procs = []

    def start(self, args, log):
        p = subprocess.Popen(args, stdout=open(log, "w"), stderr=subprocess.STDOUT)
        self.procs.append(p)
        return p

    def wait_cpu(self, p, timeout):
        """Waits for p to exit; returns its CPU-seconds (from wait4's rusage)."""
        end = time.time() + timeout
        while time.time() < end:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid == p.pid:
                p.returncode = os.waitstatus_to_exitcode(status)
                return ru.ru_utime + ru.ru_stime
            time.sleep(0.05)
        raise RuntimeError("%s did not exit within %d s" % (p.args[0], timeout))

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


def sender_has_motion(bindir):
    """True when framehive-sender has --motion (issue 13): its default may gate idle frames."""
    out = subprocess.run([bindir + "/framehive-sender", "--help"], capture_output=True, text=True)
    return "--motion" in out.stdout + out.stderr


def bare_loop(binary, frames, threads=2):
    out = subprocess.run([binary, "--detector", "hog", "--threads", str(threads),
                          "--frames", str(frames)], capture_output=True, text=True, check=True)
    kv = dict(t.split("=", 1) for t in out.stdout.split())
    return float(kv["frames_per_s"]), float(kv["decode_detect_ms_p50"]), \
        float(kv["decode_detect_ms_mean"])


def stats_kv(line):
    return dict(t.split("=", 1) for t in line.split()[1:] if "=" in t) if line else {}


def run_pipeline(bindir, tmp, label, source, frames, fps, master_args, workers=2,
                 worker_args=(), sender_args=(), detector="hog", drain_timeout=600):
    """master + receiver + workers + sender on 127.0.0.1, until every frame sent is accounted
    for. Returns a dict: t0 (sender start, Unix s), records, status, receiver / sender stats,
    cpu (CPU-seconds per process), wall (sender start to drained)."""
    procs = Procs()
    mport, uport = free_port(), free_port(socket.SOCK_DGRAM)
    url = "http://127.0.0.1:%d/RPC2" % mport
    logs = os.path.join(tmp, label)
    os.makedirs(logs, exist_ok=True)
    try:
        master = procs.start([bindir + "/framehive-master", "--port", str(mport), "--db",
                              ":memory:", "--stats-interval", "0", "--retain-results", "100000"]
                             + list(master_args), logs + "/master.log")
        m = xmlrpc.client.ServerProxy(url, use_builtin_types=True)
        if not wait_for(lambda: m.status() is not None, 10):
            raise RuntimeError("master did not start (%s/master.log)" % logs)
        rcv = procs.start([bindir + "/framehive-receiver", "--bind", "127.0.0.1", "--ports",
                           str(uport), "--master", url, "--stats-interval", "0",
                           "--queue-per-port", "1000", "--rcvbuf", str(32 << 20)],
                          logs + "/receiver.log")
        wks = []
        for i in range(workers):
            wks.append(procs.start([bindir + "/framehive-worker", "--master", url, "--detector",
                                    detector, "--id", "w%d" % i, "--threads", "1"]
                                   + list(worker_args), logs + "/worker%d.log" % i))
        if not wait_for(lambda: len(m.status()["workers"]) == workers, 20):
            raise RuntimeError("workers did not register (%s)" % logs)
        cpu0 = {"master": cpu_seconds(master.pid), "receiver": cpu_seconds(rcv.pid),
                "workers": sum(cpu_seconds(w.pid) for w in wks)}
        t0 = time.time()
        snd = procs.start([bindir + "/framehive-sender", "--source", source, "--receiver",
                           "127.0.0.1", "--port", str(uport), "--frames", str(frames),
                           "--stats-interval", "0"]
                          + (["--fps", str(fps)] if fps is not None else []) + list(sender_args),
                          logs + "/sender.log")
        cpu = {"sender": procs.wait_cpu(snd, 900)}
        sline = [l for l in open(logs + "/sender.log") if l.startswith("sender-stats")]
        skv = stats_kv(sline[-1] if sline else "")
        sent = int(skv.get("frames", "0"))

        def drained():
            # Every frame the sender sent is in the master's books (or lost on the way, which
            # the receiver counts after its frame timeout) and nothing is left to do.
            s = m.status()
            p = s["ports"][0] if s["ports"] else None
            if not p or s["pending"] + s["in_progress"] > 0:
                return False
            if p["received"] >= sent:
                return True
            return time.time() - t_end > 2.5  # receiver's frame timeout (1 s) has passed
        t_end = time.time()
        if not wait_for(drained, drain_timeout, 0.05):
            raise RuntimeError("pipeline did not drain (%s)" % logs)
        wall = time.time() - t0
        cpu["master"] = cpu_seconds(master.pid) - cpu0["master"]
        cpu["receiver"] = cpu_seconds(rcv.pid) - cpu0["receiver"]
        cpu["workers"] = sum(cpu_seconds(w.pid) for w in wks) - cpu0["workers"]
        procs.stop(rcv)
        recs = m.get_results(uport, 0)
        status = m.status()
        rline = [l for l in open(logs + "/receiver.log") if l.startswith("receiver-stats")]
        return {"t0": t0, "records": recs, "status": status, "port": uport,
                "receiver": stats_kv(rline[-1] if rline else ""), "sender": skv, "cpu": cpu,
                "wall": wall, "url": url}
    finally:
        procs.stop_all()


def worker_gaps(recs):
    """Per worker, the time between two consecutive tasks that was not decode + detection:
    completed_at[i] - completed_at[i-1] - processing_ms[i] (ms), while its queue was full."""
    by = {}
    for r in recs:
        by.setdefault(r["worker_id"], []).append(r)
    gaps = []
    for rs in by.values():
        rs.sort(key=lambda r: r["completed_at"])
        for a, b in zip(rs, rs[1:]):
            gaps.append((b["completed_at"] - a["completed_at"]) * 1000 - b["processing_ms"])
    return gaps


def decompose(recs, t0):
    """Splits the workers' time (2 x span: sender start to last completion) into decode +
    detection, gaps between tasks, the wait for the first frame and the idle tail after a
    worker's last task. Returns shares of the whole, in %."""
    by = {}
    for r in recs:
        by.setdefault(r["worker_id"], []).append(r)
    last = max(r["completed_at"] for r in recs)
    total = (last - t0) * len(by)
    proc = sum(r["processing_ms"] for r in recs) / 1000
    start = tail = 0.0
    for rs in by.values():
        rs.sort(key=lambda r: r["completed_at"])
        start += rs[0]["completed_at"] - rs[0]["processing_ms"] / 1000 - t0
        tail += last - rs[-1]["completed_at"]
    gaps = total - proc - start - tail
    return {k: 100 * v / total for k, v in
            (("detect", proc), ("gaps", gaps), ("start", start), ("tail", tail))}


def run_ours(bindir, tmp, frames, fps, master_args, label, worker_args=()):
    # The sender gates idle frames by default (issue 13); this benchmark measures every frame.
    return run_pipeline(bindir, tmp, label, VTEST, frames, fps, master_args,
                        worker_args=worker_args, sender_args=["--motion", "off"])


def compare_prefetch(a, tmp, reps):
    """reps x (bare loop, e2e with --prefetch 0, e2e with --prefetch 1), side by side."""
    unbounded = ["--max-pending-per-port", "100000", "--max-frame-age", "0"]
    lines = ["| rep | bare loop fps | worker --prefetch | e2e fps | % of bare loop | gap p50 ms | "
             "detection | gaps | first frame | tail |", "|" + "---|" * 10]
    for rep in range(reps):
        loop_fps = bare_loop(a.bin + "/bench_detect_loop", a.frames)[0]
        for pf in ("0", "1"):
            r = run_ours(a.bin, tmp, a.frames, 0, unbounded, "prefetch%s-%d" % (pf, rep),
                         ["--prefetch", pf])
            recs = r["records"]
            fps = len(recs) / (max(x["completed_at"] for x in recs) - r["t0"])
            d = decompose(recs, r["t0"])
            lines.append("| %d | %.2f | %s | %.2f | %.1f%% | %.2f | %.1f%% | %.1f%% | %.1f%% | "
                         "%.1f%% |" % (rep + 1, loop_fps, pf, fps, 100 * fps / loop_fps,
                                       pct(worker_gaps(recs), 50), d["detect"], d["gaps"],
                                       d["start"], d["tail"]))
            print(lines[-1], flush=True)
    return "\n".join(lines)


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


def verdict(ok):
    return "met" if ok else "**missed**"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.abspath(os.path.join(here, "..", ".."))
    ap.add_argument("--bin", default=os.path.join(root, "build", "bin"))
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--baseline", default=os.path.join(root, "..", "shared", "baseline-py"))
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--out", default="")
    ap.add_argument("--compare-prefetch", type=int, default=0, metavar="N",
                    help="then N times: the bare loop and the throughput run with the workers' "
                         "--prefetch 0 and 1, side by side (a second table)")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="fh-bench-e2e-")
    rows = []
    unbounded = ["--max-pending-per-port", "100000", "--max-frame-age", "0"]

    loop_fps, loop_ms, loop_mean = bare_loop(a.bin + "/bench_detect_loop", a.frames)
    rows.append(("bare loop: decode + hog, 2 threads, %d frames" % a.frames, "%.2f fps" % loop_fps,
                 "", "", "decode + hog p50 %.1f ms, mean %.1f ms; threads busy %.1f%%" % (
                     loop_ms, loop_mean, loop_mean * loop_fps / 20)))

    r = run_ours(a.bin, tmp, a.frames, 0, unbounded, "throughput")
    recs = r["records"]
    last = max(x["completed_at"] for x in recs)
    ours_fps = len(recs) / (last - r["t0"])
    share = 100 * ours_fps / loop_fps
    rows.append(("framehive e2e, sender unthrottled, 2 hog workers",
                 "%.2f fps = %.1f%% of bare loop" % (ours_fps, share), ">= 97%",
                 verdict(share >= 97), "%d/%d frames completed, processing p50 %.1f ms" % (
                     len(recs), a.frames, pct([x["processing_ms"] for x in recs], 50))))
    span = last - r["t0"]
    c = r["cpu"]
    rows.append(("  where the CPU went (CPU-s over %.1f s x 2 cores)" % span,
                 "workers %.2f, sender %.2f, receiver %.2f, master %.2f" % (
                     c["workers"], c["sender"], c["receiver"], c["master"]), "", "",
                 "sender + receiver + master = %.1f%% of 2 cores" % (
                     100 * (c["sender"] + c["receiver"] + c["master"]) / (2 * span))))
    gaps = worker_gaps(recs)
    mean = sum(x["processing_ms"] for x in recs) / len(recs)
    rows.append(("  worker gap between tasks (report + next task)",
                 "p50 %.2f ms, p99 %.2f ms" % (pct(gaps, 50), pct(gaps, 99)), "", "",
                 "%.1f%% of a task's time at p50" % (100 * pct(gaps, 50) / mean)))
    d = decompose(recs, r["t0"])
    rows.append(("  the workers' time, sender start to last result",
                 "detection %.1f%%, gaps %.1f%%, first frame %.1f%%, tail %.1f%%" % (
                     d["detect"], d["gaps"], d["start"], d["tail"]), "", "",
                 "decode + hog mean %.1f ms in the workers, %.1f ms in the bare loop (%+.1f%%)" % (
                     mean, loop_mean, 100 * (mean / loop_mean - 1))))
    if not a.skip_baseline:
        b = run_baseline(a.baseline, a.frames, 0)
        rows.append(("baseline e2e (run_e2e.sh FPS=0)",
                     "%.2f fps = %.1f%% of bare loop" % (b["fps_achieved"], 100 * b["fps_achieved"] / loop_fps),
                     "(README: 88%)", "", "%d/%d frames completed" % (b["frames_completed"], a.frames)))

    half = round(ours_fps / 2, 1)
    n_half = min(a.frames, max(60, int(half * 20)))
    r = run_ours(a.bin, tmp, n_half, half, unbounded, "half")
    recs = r["records"]
    over = [(x["completed_at"] - x["captured_at"]) * 1000 - x["processing_ms"] for x in recs]
    lat = [(x["completed_at"] - x["captured_at"]) * 1000 for x in recs]
    before = [(x["received_at"] - x["captured_at"]) * 1000 for x in recs]
    after = [(x["completed_at"] - x["received_at"]) * 1000 - x["processing_ms"] for x in recs]
    proc = [x["processing_ms"] for x in recs]
    p50, p99 = pct(over, 50), pct(over, 99)
    rows.append(("framehive at %.1f fps (half of e2e capacity): overhead = latency - processing" % half,
                 "p50 %.2f ms, p99 %.2f ms" % (p50, p99), "p50 <= 3 ms, p99 <= 10 ms",
                 verdict(p50 <= 3 and p99 <= 10),
                 "latency p50 %.0f / p99 %.0f ms, processing p50 %.0f ms, %d frames" % (
                     pct(lat, 50), pct(lat, 99), pct(proc, 50), len(recs))))
    rows.append(("  captured -> received (sender encode + datagrams + reassembly)",
                 "p50 %.2f ms, p99 %.2f ms" % (pct(before, 50), pct(before, 99)), "", "", ""))
    rows.append(("  received -> completed - processing (master, RPC, scheduling)",
                 "p50 %.2f ms, p99 %.2f ms" % (pct(after, 50), pct(after, 99)), "", "", ""))
    if not a.skip_baseline:
        b = run_baseline(a.baseline, n_half, half)
        rows.append(("baseline at %.1f fps: latency" % half, "p50 %s ms, p99 %s ms" % (
            b["latency_ms"]["p50"], b["latency_ms"]["p99"]), "", "", ""))

    fps_over = round(2 * ours_fps, 1)
    bounded = ["--max-pending-per-port", "8", "--max-frame-age", "0.5"]
    r = run_ours(a.bin, tmp, a.frames, fps_over, bounded, "overload")
    recs = r["records"]
    lat = [(x["completed_at"] - x["captured_at"]) * 1000 for x in recs]
    port = r["status"]["ports"][0]
    kv = r["receiver"]
    rows.append(("framehive overload: %.1f fps (2x e2e capacity), %d frames, "
                 "--max-pending-per-port 8 --max-frame-age 0.5" % (fps_over, a.frames),
                 "p50 %.0f ms, p99 %.0f ms" % (pct(lat, 50), pct(lat, 99)), "p99 <= 1 s",
                 verdict(pct(lat, 99) <= 1000),
                 "sent %s, completed %d, dropped %d (master) + %s (receiver), expired %d, "
                 "incomplete %s" % (r["sender"].get("frames", "?"), port["completed"],
                                    port["dropped"], kv.get("frames_dropped", "?"),
                                    port["expired"], kv.get("frames_incomplete", "?"))))
    if not a.skip_baseline:
        b = run_baseline(a.baseline, a.frames, fps_over)
        rows.append(("baseline overload: %.1f fps" % fps_over, "p50 %s ms, p99 %s ms" % (
            b["latency_ms"]["p50"], b["latency_ms"]["p99"]), "", "",
            "completed %d, nothing dropped: queue grows" % b["frames_completed"]))

    lines = ["| measure | result | target | verdict | notes |", "|---|---|---|---|---|"]
    lines += ["| %s | %s | %s | %s | %s |" % row for row in rows]
    text = "\n".join(lines)
    print(text, flush=True)
    if a.compare_prefetch > 0:
        text += "\n\n" + compare_prefetch(a, tmp, a.compare_prefetch)
    if a.out:
        open(a.out, "w").write(text + "\n")


if __name__ == "__main__":
    main()
