#!/usr/bin/python3
"""GET /metrics of a live master against its own /api/v1/status: promtool accepts the scrape,
and the exposition agrees with the status once the pipeline is quiet.

Usage: test_metrics.py BIN_DIR SOURCE_DIR [unittest options]

The pipeline: a master with a secret, a hog worker and a null worker; frames of vtest.avi
through XML-RPC add_tasks to a hog port and a null port (some of the null port's frames with
no capture time, captured_at 0, which the latency histogram leaves out), and one upload. The
null port's detector is the chain haar:frontalface,null with no haar worker: it runs on its
fallback (framehive_port_fallback 1); some of its frames say the sender gated frames before
them (outcome "gated").
"""
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fhtest  # noqa: E402
from fhtest import wait_until  # noqa: E402

BIN = SRC = None
C = None
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"

HOG_PORT, NULL_PORT = 6201, 6202
HOG_FRAMES, NULL_FRAMES, NULL_UNTIMED = 8, 20, 4
NULL_CHAIN = ["haar:frontalface", "null"]
NULL_GATED = 7  # frames 1..NULL_GATED of the null port each say 1 frame was gated before it


class Cluster:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="fh-metrics-test-")
        self.procs = fhtest.Procs(self.tmp)
        self.secret = "metrics-" + os.urandom(12).hex()
        self.secret_file = os.path.join(self.tmp, "secret")
        fhtest.write_secret(self.secret_file, self.secret)

    def start(self):
        self.port = fhtest.free_port()
        m = self.procs.start("master", [
            BIN + "/framehive-master", "--port", str(self.port), "--db",
            os.path.join(self.tmp, "m.db"), "--auth-file", self.secret_file, "--stats-interval",
            "0", "--max-frame-age", "0", "--max-pending-per-port", "100",
            "--detector", "%d=hog" % HOG_PORT, "--detector", "%d=%s" % (NULL_PORT, ",".join(NULL_CHAIN))])
        self.http = fhtest.Http(self.port, self.secret)

        def up():
            if m.poll() is not None:
                raise AssertionError("master exited:\n" + self.procs.tail("master"))
            return self.http.get("/api/v1/status").status == 200
        wait_until(up, 20, "the master answering")
        url = "http://127.0.0.1:%d/RPC2" % self.port
        for det in ("hog", "null"):
            self.procs.start("worker-" + det, [BIN + "/framehive-worker", "--master", url,
                                               "--detector", det, "--id", det + "-w",
                                               "--auth-file", self.secret_file])
        wait_until(lambda: len([w for w in self.status()["workers"] if w["alive"]]) == 2, 30,
                   "both workers registered")
        with self.http.rpc() as rpc:
            hog = fhtest.vtest_jpegs(HOG_FRAMES, start=10)  # full size: HOG finds people
            rpc.add_tasks([fhtest.frame(HOG_PORT, i + 1, j, stream="hogcam")
                           for i, j in enumerate(hog)])
            small = fhtest.vtest_jpegs(NULL_FRAMES, start=200, width=160)
            nulls = [fhtest.frame(NULL_PORT, i + 1, j, stream="nullcam",
                                  captured_at=0.0 if i < NULL_UNTIMED else None)
                     for i, j in enumerate(small)]
            for f in nulls[:NULL_GATED]:
                f["gated"] = 1
            rpc.add_tasks(nulls)
            rpc.add_image(fhtest.vtest_jpegs(1, start=20)[0], "hog", "metrics.jpg")

        def quiet():
            s = self.status()
            ports = {p["port"]: p for p in s["ports"]}
            return (s["pending"] + s["in_progress"] == 0 and
                    ports.get(HOG_PORT, {}).get("completed") == HOG_FRAMES and
                    ports.get(NULL_PORT, {}).get("completed") == NULL_FRAMES and
                    ports.get(0, {}).get("completed") == 1)
        wait_until(quiet, 120, "every frame completed", step=0.1)

    def status(self):
        return self.http.get_json("/api/v1/status")

    def scrape(self):
        r = self.http.get("/metrics")
        if r.status != 200:
            raise AssertionError("GET /metrics: %r" % r)
        return r


def setUpModule():
    global C
    C = Cluster()
    try:
        C.start()
    except BaseException:
        C.procs.stop_all()
        print("logs in", C.tmp, file=sys.stderr)
        raise


def tearDownModule():
    if C:
        C.procs.stop_all(check=True)


class Metrics(unittest.TestCase):
    def setUp(self):
        self.status = C.status()
        r = C.scrape()
        self.reply = r
        self.text = r.body.decode()
        self.types, self.samples = fhtest.parse_exposition(self.text)

    def values(self, name, **labels):
        return [v for n, l, v in self.samples
                if n == name and all(l.get(k) == str(x) for k, x in labels.items())]

    def one(self, name, **labels):
        vs = self.values(name, **labels)
        self.assertEqual(len(vs), 1, "exactly one sample %s%s, got %s" % (name, labels, vs))
        return vs[0]

    def test_auth(self):
        r = C.http.get("/metrics", auth=None)
        self.assertEqual(r.status, 401, "without credentials: %r" % r)
        self.assertEqual(r.header("WWW-Authenticate"), 'Basic realm="framehive"')
        self.assertEqual(C.http.get("/metrics", auth="wrong").status, 401)
        self.assertEqual(C.http.get("/metrics", auth=None,
                                    headers={"Accept": "text/html"}).status, 401,
                         "a browser asking for /metrics is not sent to the login form")

    def test_promtool_accepts_the_scrape(self):
        self.assertEqual(self.reply.header("Content-Type"),
                         "text/plain; version=0.0.4; charset=utf-8")
        self.assertTrue(os.path.exists(PROMTOOL), "promtool (Debian package prometheus)")
        p = subprocess.run([PROMTOOL, "check", "metrics"], input=self.reply.body,
                           capture_output=True, timeout=60)
        out = (p.stdout + p.stderr).decode(errors="replace").strip()
        self.assertEqual((p.returncode, out), (0, ""),
                         "promtool check metrics: exit %d:\n%s" % (p.returncode, out))

    def test_every_sample_has_a_declared_family(self):
        for name, labels, value in self.samples:
            family = name
            for suffix in ("_bucket", "_sum", "_count"):
                if name.endswith(suffix) and name[:-len(suffix)] in self.types:
                    family = name[:-len(suffix)]
            self.assertIn(family, self.types, "sample %s without # TYPE" % name)
            self.assertFalse(math.isnan(value), "%s%s is NaN" % (name, labels))
            if self.types[family] == "counter":
                self.assertTrue(name.endswith("_total"), "counter %s ends in _total" % name)
                self.assertGreaterEqual(value, 0)

    def test_frames_agree_with_status(self):
        for p in self.status["ports"]:
            for outcome in ("received", "completed", "failed", "dropped", "expired",
                            "lost_at_start", "gated"):
                self.assertEqual(self.one("framehive_frames_total", port=p["port"],
                                          outcome=outcome), p[outcome],
                                 "port %d %s: metrics vs status" % (p["port"], outcome))
            self.assertEqual(self.one("framehive_frames_pending", port=p["port"]), p["pending"])
            self.assertEqual(self.one("framehive_frames_in_progress", port=p["port"]),
                             p["in_progress"])
            info = [l for n, l, v in self.samples
                    if n == "framehive_port_info" and l["port"] == str(p["port"])]
            self.assertEqual(len(info), 1)
            self.assertEqual((info[0]["stream"], info[0]["detector"], info[0]["source"]),
                             (p["stream"], p["detector"], p["source"]))
        ports = {p["port"]: p for p in self.status["ports"]}
        self.assertEqual(ports[NULL_PORT]["gated"], NULL_GATED)
        self.assertEqual(ports[HOG_PORT]["gated"], 0)
        self.assertEqual(ports[HOG_PORT]["completed"], HOG_FRAMES)
        self.assertEqual(ports[NULL_PORT]["completed"], NULL_FRAMES)
        self.assertEqual(ports[0]["source"], "upload")

    def test_latency_histograms(self):
        self.assertEqual(self.types.get("framehive_latency_seconds"), "histogram")
        untimed = {HOG_PORT: 0, NULL_PORT: NULL_UNTIMED, 0: 0}
        for p in self.status["ports"]:
            port = p["port"]
            buckets = [(l["le"], v) for n, l, v in self.samples
                       if n == "framehive_latency_seconds_bucket" and l["port"] == str(port)]
            self.assertTrue(buckets, "port %d has latency buckets" % port)
            self.assertEqual(buckets[-1][0], "+Inf", "the last bucket is +Inf")
            bounds = [float(le) for le, _ in buckets[:-1]]
            self.assertEqual(bounds, sorted(bounds), "bucket bounds ascend")
            counts = [v for _, v in buckets]
            self.assertEqual(counts, sorted(counts), "port %d: cumulative buckets %s"
                             % (port, buckets))
            count = self.one("framehive_latency_seconds_count", port=port)
            self.assertEqual(buckets[-1][1], count, "+Inf bucket = _count")
            self.assertEqual(count, p["completed"] - untimed[port],
                             "port %d: _count = completed frames with a capture time" % port)
            total = self.one("framehive_latency_seconds_sum", port=port)
            self.assertGreater(total, 0)
            self.assertLess(total / count, 120, "mean latency in seconds")

    def test_detections_workers_queue_and_process(self):
        people = self.one("framehive_detections_total", port=HOG_PORT, label="person")
        self.assertGreater(people, 0, "hog finds people in vtest.avi")
        self.assertGreater(self.one("framehive_detections_total", port=0, label="person"), 0)
        self.assertEqual(self.values("framehive_detections_total", port=NULL_PORT), [],
                         "null detects nothing")
        alive = sum(1 for w in self.status["workers"] if w["alive"])
        self.assertEqual(alive, 2)
        self.assertEqual(self.one("framehive_workers", state="alive"), alive)
        self.assertEqual(self.one("framehive_workers", state="dead"),
                         len(self.status["workers"]) - alive)
        for w in self.status["workers"]:
            self.assertEqual(self.one("framehive_worker_up", worker=w["worker_id"]),
                             1 if w["alive"] else 0)
            for outcome in ("assigned", "completed", "failed"):
                self.assertEqual(self.one("framehive_worker_tasks_total", worker=w["worker_id"],
                                          outcome=outcome), w[outcome])
        for det, n in self.status["queue"].items():
            self.assertEqual(self.one("framehive_queue_depth", detector=det), n)
        cpu = self.one("process_cpu_seconds_total")
        self.assertGreater(cpu, 0)
        self.assertEqual(self.types["process_cpu_seconds_total"], "counter")
        self.assertGreater(self.one("process_resident_memory_bytes"), 1 << 20)
        self.assertGreater(self.one("process_open_fds"), 0)
        self.assertLess(abs(self.one("process_start_time_seconds") - time.time()), 3600)
        before = self.one("framehive_metrics_scrapes_total")
        _, again = fhtest.parse_exposition(C.scrape().body.decode())
        after = [v for n, l, v in again if n == "framehive_metrics_scrapes_total"]
        self.assertEqual(after, [before + 1], "each scrape counts")

    def test_fallback_gauge_agrees_with_status(self):
        ports = {p["port"]: p for p in self.status["ports"]}
        null = ports[NULL_PORT]
        self.assertEqual((null["detector_chain"], null["running_detector"], null["fallback"]),
                         (NULL_CHAIN, "null", True), "no haar worker: the chain's fallback runs")
        self.assertEqual((ports[HOG_PORT]["detector_chain"], ports[HOG_PORT]["fallback"]),
                         ([], False))
        self.assertEqual(self.types.get("framehive_port_fallback"), "gauge")
        for p in self.status["ports"]:
            self.assertEqual(self.one("framehive_port_fallback", port=p["port"]),
                             1 if p["fallback"] else 0, "port %d" % p["port"])
        with C.http.rpc() as rpc:
            records = rpc.get_results(NULL_PORT, 100)
        self.assertEqual(len(records), NULL_FRAMES)
        self.assertEqual({r["detector"] for r in records}, {"null"},
                         "the records name the detector that ran")


if __name__ == "__main__":
    sys.exit(fhtest.run_tests(sys.modules[__name__], "test_metrics"))
