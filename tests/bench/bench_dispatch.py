#!/usr/bin/env python3
"""Dispatch benchmark: framehive-master against the Python baseline master
(../shared/baseline-py/master.py) and, with --compare-bin, against another build of
framehive-master (e.g. the previous commit's), side by side in one run, all driven by the same
C++ load driver (tests/bench/bench_dispatch.cpp).

75 KB JPEG (vtest.avi frame 100, q80), `null` detector, batch 10; W workers and P producers
(W=1,P=1; W=2,P=1; W=4,P=2), at saturation and at an offered rate of --load (default 0.5) times
the saturation rate this tree's master reached in the same run for the same W and P. Each master
is started fresh for each run. Reports tasks/s, latency p50/p99 and the master's CPU time per
task (utime + stime from /proc/PID/stat over the run). Prints a Markdown table.

Usage: bench_dispatch.py [--bin build/bin] [--compare-bin DIR] [--no-baseline] [--frames 2000]
                         [--load 0.5 | --rate R] [--reps 1] [--out F]
"""
import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import xmlrpc.client


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def start_master(kind, bindir, baseline, port, tmp):
    """kind: "baseline" or the directory holding the framehive-master to run."""
    if kind == "baseline":
        args = ["/usr/bin/python3", os.path.join(baseline, "master.py"), "--host", "127.0.0.1",
                "--port", str(port)]
    else:
        args = [kind + "/framehive-master", "--port", str(port), "--db",
                os.path.join(tmp, "bench-%d.db" % port), "--max-pending-per-port", "1000000",
                "--max-frame-age", "0", "--stats-interval", "0", "--log-level", "warn"]
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    m = xmlrpc.client.ServerProxy("http://127.0.0.1:%d/RPC2" % port)
    for _ in range(100):
        try:
            m.system.listMethods()
            return p
        except OSError:
            time.sleep(0.1)
    p.kill()
    raise RuntimeError("master %s did not start" % kind)


def run(kind, args, w, prod, rate, tmp):
    port = free_port()
    p = start_master(kind, args.bin, args.baseline, port, tmp)
    try:
        cmd = [args.bin + "/bench_dispatch", "--master", "http://127.0.0.1:%d/RPC2" % port,
               "--image", args.image, "--frames", str(args.frames), "-W", str(w), "-P",
               str(prod), "--batch", "10", "--wait-ms", "100", "--master-pid", str(p.pid),
               "--rate", str(rate), "--label", "bench"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        kv = dict(t.split("=", 1) for t in out.stdout.split() if "=" in t)
        if "tasks_per_s" not in kv:
            raise RuntimeError("driver failed: " + out.stdout + out.stderr)
        return kv
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.abspath(os.path.join(here, "..", ".."))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default=os.path.join(root, "build", "bin"))
    ap.add_argument("--baseline", default=os.path.join(root, "..", "shared", "baseline-py"))
    ap.add_argument("--frames", type=int, default=2000)
    ap.add_argument("--compare-bin", default="", help="another build's bin/ to run side by side")
    ap.add_argument("--no-baseline", action="store_true", help="leave out the Python baseline")
    ap.add_argument("--load", type=float, default=0.5,
                    help="offered rate as a fraction of this tree's saturation rate")
    ap.add_argument("--rate", type=float, default=0.0,
                    help="a fixed offered rate in frames/s instead of --load (older figures)")
    ap.add_argument("--reps", type=int, default=1, help="runs per cell (median; masters alternate)")
    ap.add_argument("--only", default="", help="one W,P configuration, e.g. 1,1")
    ap.add_argument("--saturation-only", action="store_true", help="leave out the offered rate")
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="fh-bench-dispatch-")
    args.image = os.path.join(tmp, "frame100_q80.jpg")
    subprocess.run(["/usr/bin/python3", os.path.join(args.baseline, "make_jpeg.py"), "--out",
                    args.image], check=True, capture_output=True)
    rows = ["| master | workers | producers | offered | tasks/s | p50 ms | p99 ms | master CPU ms/task (min–max) |",
            "|---|---|---|---|---|---|---|---|"]
    kinds = [(os.path.abspath(args.bin), "framehive (%s)" % args.bin)]
    if args.compare_bin:
        kinds.append((os.path.abspath(args.compare_bin), "framehive (%s)" % args.compare_bin))
    if not args.no_baseline:
        kinds.append(("baseline", "baseline (Python)"))
    configs = ((1, 1), (2, 1), (4, 2))
    if args.only:
        configs = (tuple(int(x) for x in args.only.split(",")),)
    for w, prod in configs:
        rate = 0.0
        for phase in ("saturation", "offered"):
            # Repetitions interleave the masters (A B A B ...): drift on a shared machine hits
            # each alike.
            reps = {kind: [] for kind, _ in kinds}
            for _ in range(args.reps):
                for kind, _ in kinds:
                    reps[kind].append(run(kind, args, w, prod, rate, tmp))
            for kind, name in kinds:
                med = lambda k: statistics.median(float(r[k]) for r in reps[kind])
                if phase == "saturation" and kind == kinds[0][0]:
                    first_saturation = med("tasks_per_s")
                cpu = [float(r["master_cpu_ms_per_task"]) for r in reps[kind]]
                spread = " (%.3f–%.3f)" % (min(cpu), max(cpu)) if len(cpu) > 1 else ""
                rows.append("| %s | %d | %d | %s | %.0f | %.1f | %.1f | %.3f%s |" % (
                    name, w, prod, "saturation" if rate == 0 else "%.0f/s" % rate,
                    med("tasks_per_s"), med("p50_ms"), med("p99_ms"),
                    med("master_cpu_ms_per_task"), spread))
                print(rows[-1], flush=True)
            if args.saturation_only:
                break
            rate = args.rate or max(1.0, round(args.load * first_saturation))
    text = "\n".join(rows)
    print()
    print(text)
    if args.out:
        open(args.out, "w").write(text + "\n")


if __name__ == "__main__":
    main()
