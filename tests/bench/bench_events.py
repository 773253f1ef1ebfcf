#!/usr/bin/python3
"""Event delivery figures of docs/benchmarks.md (a benchmark: prints a table; not run by ctest).

A master with an events config whose rule sends every object.start to a webhook of this script
(a threaded HTTP server on 127.0.0.1 that checks each signature), and a labelling XML-RPC client
of this script as the only worker: it queues small JPEG frames (vtest.avi at 160x120) on
--ports camera ports, takes each back with request_task and completes it with boxes that make
tracks: each "generation" of --objects boxes is seen in 3 consecutive frames of its port (a track
is confirmed at its third sighting: object.start), then the next generation appears elsewhere.

1. Latency: for each object.start, from the complete_task call of the frame that confirmed the
   track (the event's time is that frame's capture time) to the webhook's arrival: p50, p99,
   max. The first generation of each port is left out (a port's first results wait up to the
   reorder window, 1 s).
2. Catch-up: the webhook answers 503 while --backlog events are made, then 200 again: the
   outbox's delivery rate from the first accepted POST to the last (events/s), and how long
   the first accepted POST took after the target came back (the backoff, capped at
   delivery.backoff_max).

Usage: bench_events.py [--bin build/bin] [--ports 4] [--objects 5] [--latency-events 300]
                       [--backlog 2000]
"""
import argparse
import hashlib
import hmac
import http.server
import json
import os
import shutil
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))
import fhtest  # noqa: E402
from fhtest import wait_until  # noqa: E402

SECRET = b"bench-webhook-secret"
FIRST_PORT = 7100
W, H = 160, 120


def pct(xs, p):
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * len(xs) + 0.5)) - 1))
    return xs[k]


class Hook:
    """The webhook target: records (arrival time, event) of every accepted POST."""

    def __init__(self):
        self.lock = threading.Lock()
        self.accepted = []  # (t, event)
        self.refused = 0
        self.bad_signatures = 0
        self.up = True
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                t = time.perf_counter()
                sig = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
                ok = hmac.compare_digest(sig, self.headers.get("X-Framehive-Signature", ""))
                with hook.lock:
                    if not ok:
                        hook.bad_signatures += 1
                    if not hook.up:
                        hook.refused += 1
                        status = 503
                    else:
                        hook.accepted.append((t, json.loads(body)))
                        status = 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def starts(self):
        with self.lock:
            return [(t, e) for t, e in self.accepted if e["type"] == "object.start"]


class Labeller:
    """The only worker: queues frames, completes them with the boxes of the current generation."""

    def __init__(self, rpc, jpeg, ports, objects):
        self.rpc = rpc
        self.jpeg = jpeg
        self.ports = ports
        self.objects = objects
        self.frame_id = {p: 0 for p in ports}
        self.generation = 0
        self.t0 = time.time()
        self.completed_at = {}  # (port, captured_at) -> perf_counter at complete_task
        rpc.register_worker("bench-labeller", "127.0.0.1", ["hog"])

    def boxes(self, g):
        # Each generation on a grid cell of its own, far from the previous one (IoU 0).
        out = []
        for i in range(self.objects):
            x = (i * 30 + (g % 2) * 15) % (W - 20)
            y = 10 + ((g // 2) % 3) * 35
            out.append({"label": "person", "confidence": 0.9, "x": x, "y": y, "w": 14, "h": 30})
        return out

    def generation_round(self):
        """Three frames of one generation on every port; returns the frames completed."""
        g = self.generation
        self.generation += 1
        n = 0
        for _ in range(3):
            for p in self.ports:
                self.frame_id[p] += 1
                fid = self.frame_id[p]
                captured = self.t0 + fid * 0.2  # frame time: 5 fps
                self.rpc.add_task({"port": p, "stream": "bench", "frame_id": fid,
                                   "captured_at": captured, "width": W, "height": H,
                                   "image": self.jpeg})
                task = self.rpc.request_task("bench-labeller", 1000)
                assert task and task["frame_id"] == fid, task
                ok = self.rpc.complete_task("bench-labeller", task["task_id"],
                                            {"detections": self.boxes(g), "processing_ms": 1.0})
                self.completed_at[(p, round(captured, 6))] = time.perf_counter()
                assert ok
                n += 1
        return n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build/bin")
    ap.add_argument("--ports", type=int, default=4)
    ap.add_argument("--objects", type=int, default=5, help="boxes per frame (tracks per generation)")
    ap.add_argument("--latency-events", type=int, default=300)
    ap.add_argument("--backlog", type=int, default=2000)
    a = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="fh-bench-events-")
    procs = fhtest.Procs(tmp)
    hook = Hook()
    try:
        with open(os.path.join(tmp, "hook.secret"), "wb") as f:
            f.write(SECRET + b"\n")
        ports = [FIRST_PORT + i for i in range(a.ports)]
        with open(os.path.join(tmp, "events.json"), "w") as f:
            json.dump({"rules": [{"name": "all", "types": ["object.start"],
                                  "webhooks": [{"url": "http://127.0.0.1:%d/hook" % hook.port,
                                                "secret_file": "hook.secret"}]}],
                       "delivery": {"backoff_initial": 0.05, "backoff_max": 1.0}}, f)
        mport = fhtest.free_port()
        master = procs.start("master", [os.path.join(a.bin, "framehive-master"), "--port", str(mport),
                                        "--db", os.path.join(tmp, "m.db"), "--max-frame-age", "0",
                                        "--stats-interval", "0", "--max-pending-per-port", "64",
                                        "--events-config", os.path.join(tmp, "events.json")])
        http = fhtest.Http(mport)
        wait_until(lambda: http.get("/api/v1/status").status == 200, 15, "the master")
        jpeg = fhtest.vtest_jpegs(1, width=W)[0]
        import xmlrpc.client
        rpc = xmlrpc.client.ServerProxy("http://127.0.0.1:%d/RPC2" % mport)
        lab = Labeller(rpc, xmlrpc.client.Binary(jpeg), ports, a.objects)

        # 1. latency
        lab.generation_round()  # warm-up generation: the ports' first results wait the window
        warm = a.ports * a.objects
        wait_until(lambda: len(hook.starts()) >= warm, 30, "the warm-up events")
        frames = 0
        t_run = time.perf_counter()
        while len(hook.starts()) < warm + a.latency_events:
            frames += lab.generation_round()
            if time.perf_counter() - t_run > 120:
                break
        wait_until(lambda: len(hook.starts()) >= warm + a.latency_events, 30,
                   "%d object.start events at the webhook" % a.latency_events)
        lat = []
        for t, e in hook.starts()[warm:]:
            done = lab.completed_at.get((e["port"], round(e["time"], 6)))
            if done is not None:
                lat.append((t - done) * 1000)
        # 2. catch-up after an outage
        def stored_starts(after):
            ids, cursor = set(), after
            while True:
                j = http.get_json("/api/v1/events?type=object.start&limit=1000&after=%d" % cursor)
                ids.update(e["id"] for e in j["events"])
                if len(j["events"]) < 1000:
                    return ids, j["after"]
                cursor = j["after"]

        time.sleep(1.0)  # the latency phase's last deliveries (not measured)
        _, seq0 = stored_starts(0)
        with hook.lock:
            hook.up = False
            before = len(hook.accepted)
        t_made = time.perf_counter()
        produced = set()
        while len(produced) < a.backlog:
            lab.generation_round()
            produced, _ = stored_starts(seq0)
        t_made = time.perf_counter() - t_made
        last = {"n": -1}

        def settled():  # the engine stored every event of the frames completed
            n = len(stored_starts(seq0)[0])
            done, last["n"] = n == last["n"], n
            return done
        wait_until(settled, 30, "the backlog stored", step=0.5)
        produced = stored_starts(seq0)[0]
        with hook.lock:
            hook.up = True
        t_up = time.perf_counter()

        def all_there():
            return produced <= {e["id"] for _, e in hook.starts()[before:]}
        wait_until(all_there, 300, "the backlog at the webhook", step=0.1)
        acc = [(t, e) for t, e in hook.starts()[before:] if e["id"] in produced]
        first_t = min(t for t, _ in acc)
        last_t = max(t for t, _ in acc)
        rate = len(acc) / max(1e-9, last_t - first_t)

        print("\nframehive events: delivery from result to webhook, loopback, %d ports, %d boxes "
              "per frame" % (a.ports, a.objects))
        print("| measure | value |")
        print("|---|---|")
        print("| object.start events timed | %d (over %d frames) |" % (len(lat), frames))
        print("| latency complete_task -> webhook p50 | %.1f ms |" % pct(lat, 50))
        print("| latency p99 | %.1f ms |" % pct(lat, 99))
        print("| latency max | %.1f ms |" % max(lat))
        print("| backlog made while the target answered 503 | %d events in %.1f s |"
              % (len(produced), t_made))
        print("| refused POSTs during the outage (retries) | %d |" % hook.refused)
        print("| first accepted POST after the target came back | %.2f s (backoff_max 1 s) |"
              % (first_t - t_up))
        print("| catch-up rate | %.0f events/s (%d in %.2f s) |" % (rate, len(acc), last_t - first_t))
        print("| deliveries of the backlog / distinct events (duplicates) | %d / %d |"
              % (len(acc), len({e["id"] for _, e in acc})))
        print("| bad signatures | %d |" % hook.bad_signatures)
        procs.stop(master)
        return 0 if hook.bad_signatures == 0 else 1
    finally:
        procs.stop_all()
        hook.server.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
