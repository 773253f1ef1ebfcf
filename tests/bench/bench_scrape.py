#!/usr/bin/python3
"""What a /metrics scrape and a GET /api/v1/status cost the master with 64 ports (a benchmark:
prints a table; not run by ctest).

A master (with a secret, --db in a temporary directory) and a null worker; 64 camera ports fed
through XML-RPC add_tasks with small JPEGs (vtest.avi at 160x120) until every port has
completions, and one frame per port completed by a labelling client (an XML-RPC worker of this
script that reports three detections: person, car, bicycle) so that every port has
detection-label series too. Then, on one keep-alive connection with Basic credentials, N GETs of
/metrics and N of /api/v1/status, timed from the request to the last body byte: p50, p99 and max
in ms, reply bytes, and the master's CPU time per request (utime + stime from /proc/PID/stat).

Usage: bench_scrape.py [--bin build/bin] [--ports 64] [--frames-per-port 4] [--n 200]
"""
import argparse
import base64
import http.client
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))
import fhtest  # noqa: E402
from fhtest import wait_until  # noqa: E402

FIRST_PORT = 7000
LABELS = ("person", "car", "bicycle")


def pct(xs, p):
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * len(xs) + 0.5)) - 1))
    return xs[k]


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_gets(port, secret, path, n):
    auth = "Basic " + base64.b64encode(("framehive:" + secret).encode()).decode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    times, sizes = [], []
    try:
        for _ in range(n):
            t0 = time.perf_counter()
            conn.request("GET", path, headers={"Authorization": auth})
            r = conn.getresponse()
            body = r.read()
            times.append((time.perf_counter() - t0) * 1000)
            if r.status != 200:
                raise RuntimeError("GET %s: %d %r" % (path, r.status, body[:200]))
            sizes.append(len(body))
    finally:
        conn.close()
    return times, sizes


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = os.path.abspath(os.path.join(HERE, "..", ".."))
    ap.add_argument("--bin", default=os.path.join(root, "build", "bin"))
    ap.add_argument("--ports", type=int, default=64)
    ap.add_argument("--frames-per-port", type=int, default=4)
    ap.add_argument("--n", type=int, default=200, help="requests of each route")
    a = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="fh-bench-scrape-")
    procs = fhtest.Procs(tmp)
    secret = os.urandom(16).hex()
    secret_file = os.path.join(tmp, "secret")
    fhtest.write_secret(secret_file, secret)
    mport = fhtest.free_port()
    ports = list(range(FIRST_PORT, FIRST_PORT + a.ports))
    try:
        master = procs.start("master", [
            a.bin + "/framehive-master", "--port", str(mport), "--db",
            os.path.join(tmp, "bench.db"), "--auth-file", secret_file, "--stats-interval", "0",
            "--max-frame-age", "0", "--default-detector", "null"])
        h = fhtest.Http(mport, secret)
        wait_until(lambda: h.get("/api/v1/status").status == 200, 20, "the master")
        url = "http://127.0.0.1:%d/RPC2" % mport
        procs.start("worker", [a.bin + "/framehive-worker", "--master", url, "--detector",
                               "null", "--auth-file", secret_file])
        rpc = h.rpc()
        wait_until(lambda: any(w["alive"] for w in rpc.status()["workers"]), 20, "the worker")
        jpegs = fhtest.vtest_jpegs(8, start=50, width=160)
        frames = [fhtest.frame(p, i + 1, jpegs[(p + i) % len(jpegs)], stream="cam%d" % p)
                  for p in ports for i in range(a.frames_per_port)]
        for i in range(0, len(frames), 500):
            rpc.add_tasks(frames[i:i + 500])
        # one frame per port for the labelling client
        rpc.register_worker("labeller", "127.0.0.1", ["labels"])
        rpc.add_tasks([fhtest.frame(p, 1000, jpegs[0], stream="cam%d" % p, detector="labels")
                       for p in ports])
        labelled = 0
        while labelled < len(ports):
            task = rpc.request_task("labeller", 2000)
            if not task:
                raise RuntimeError("the labelling client got no task")
            dets = [{"label": l, "confidence": 0.5 + 0.1 * k, "x": 10 * k, "y": 5, "w": 20,
                     "h": 40} for k, l in enumerate(LABELS)]
            rpc.complete_task("labeller", task["task_id"],
                              {"detections": dets, "processing_ms": 1.0})
            labelled += 1

        def fed():
            st = {p["port"]: p for p in rpc.status()["ports"]}
            return all(st.get(p, {}).get("completed", 0) == a.frames_per_port + 1 for p in ports)
        wait_until(fed, 120, "every port's frames completed", step=0.2)
        rpc("close")()

        rows = []
        for path in ("/metrics", "/api/v1/status"):
            timed_gets(mport, secret, path, 5)  # warm-up: connection, caches
            c0 = cpu_seconds(master.pid)
            t, s = timed_gets(mport, secret, path, a.n)
            cpu_ms = (cpu_seconds(master.pid) - c0) * 1000 / a.n
            rows.append((path, a.n, pct(t, 50), pct(t, 99), max(t), s[-1], cpu_ms))
        series = sum(1 for line in h.get("/metrics").body.decode().splitlines()
                     if line and not line.startswith("#"))
    except BaseException:
        print("bench_scrape: the processes' logs are in " + tmp, file=sys.stderr)
        raise
    finally:
        procs.stop_all()
    shutil.rmtree(tmp, ignore_errors=True)

    print("%d ports, %d frames each (null) + 1 with 3 labels; %d samples in a scrape; "
          "%d sequential GETs per route on one keep-alive connection, Basic auth"
          % (a.ports, a.frames_per_port, series, a.n))
    print()
    print("| route | requests | p50 ms | p99 ms | max ms | bytes | master CPU ms/request |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print("| `%s` | %d | %.2f | %.2f | %.2f | %d | %.2f |" % r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
