#!/usr/bin/python3
"""Every route of docs/http-api.md against a real pipeline: shapes (validated against the
schemas of docs/http-api.openapi.yaml), status codes, bad input, uploads and their limits, images
and the live stream, export and search, authentication (Basic, login cookie, CSRF, Origin,
throttled logins) and the XML-RPC add_image/get_task path.

Usage: test_http_api.py BIN_DIR SOURCE_DIR [unittest options, e.g. -v or -k upload]

The pipeline (started once, stopped by PID at the end):
  master A  --auth-file (a 32-character secret), --max-image-bytes 2 MiB, --max-pixels 800x600,
            ports: CAM (hog, fed by a real receiver + sender playing vtest.avi), NULL (null,
            fed by XML-RPC add_tasks), WAIT (haar:frontalface, no worker offers it), FAIL
            (a fake XML-RPC worker fails its task), 0 (uploads, hog)
  workers   hog, null
  master B  --max-pending-uploads 2, no worker (the 503 of a full upload queue)
"""
import csv
import io
import json
import os
import re
import secrets
import socket
import struct
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import xmlrpc.client
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fhtest  # noqa: E402
from fhtest import wait_until  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

BIN = SRC = None
C = None  # the Cluster
# (method, OpenAPI path template) of every route the tests exercised
EXERCISED = set()


def exercised(method, template):
    EXERCISED.add((method.lower(), template))


# ---------------------------------------------------------------------------------------------
# A small validator for the subset of OpenAPI 3.0 schemas docs/http-api.openapi.yaml uses:
# $ref, allOf, nullable, type, enum, required, properties, additionalProperties, items,
# minimum/maximum. Objects are closed: a key the schema does not declare is an error (an
# undocumented field) unless additionalProperties says otherwise.

class Spec:
    def __init__(self, path):
        import yaml  # python3-yaml
        with open(path) as f:
            self.doc = yaml.safe_load(f)

    def resolve(self, schema):
        while "$ref" in schema:
            ref = schema["$ref"]
            if not ref.startswith("#/"):
                raise AssertionError("external $ref %s" % ref)
            node = self.doc
            for part in ref[2:].split("/"):
                node = node[part]
            schema = node
        return schema

    def merged(self, schema):
        """schema with allOf flattened into one object schema."""
        schema = self.resolve(schema)
        if "allOf" not in schema:
            return schema
        out = {k: v for k, v in schema.items() if k != "allOf"}
        props, required = dict(out.get("properties", {})), list(out.get("required", []))
        for part in schema["allOf"]:
            part = self.merged(part)
            for k, v in part.items():
                if k == "properties":
                    props.update(v)
                elif k == "required":
                    required += v
                elif k not in out:
                    out[k] = v
        if props:
            out["properties"] = props
        if required:
            out["required"] = required
        return out

    def check(self, value, schema, where="$"):
        schema = self.merged(schema)
        if value is None:
            if schema.get("nullable"):
                return
            raise AssertionError("%s: null where the schema does not allow it" % where)
        t = schema.get("type")
        kinds = {"integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
                 "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
                 "string": lambda v: isinstance(v, str),
                 "boolean": lambda v: isinstance(v, bool),
                 "array": lambda v: isinstance(v, list),
                 "object": lambda v: isinstance(v, dict)}
        if t and not kinds[t](value):
            raise AssertionError("%s: expected %s, got %s %r" % (where, t, type(value).__name__,
                                                                 value if not isinstance(value, (dict, list)) else "..."))
        if "enum" in schema and value not in schema["enum"]:
            raise AssertionError("%s: %r is not one of %s" % (where, value, schema["enum"]))
        if "minimum" in schema and value < schema["minimum"]:
            raise AssertionError("%s: %r below the minimum %s" % (where, value, schema["minimum"]))
        if "maximum" in schema and value > schema["maximum"]:
            raise AssertionError("%s: %r above the maximum %s" % (where, value, schema["maximum"]))
        if t == "array" and "items" in schema:
            for i, item in enumerate(value):
                self.check(item, schema["items"], "%s[%d]" % (where, i))
        if t == "object":
            props = schema.get("properties", {})
            missing = [k for k in schema.get("required", []) if k not in value]
            if missing:
                raise AssertionError("%s: missing required keys %s (has %s)"
                                     % (where, missing, sorted(value)))
            extra_schema = schema.get("additionalProperties")
            for k, v in value.items():
                if k in props:
                    self.check(v, props[k], "%s.%s" % (where, k))
                elif isinstance(extra_schema, dict):
                    self.check(v, extra_schema, "%s.%s" % (where, k))
                elif extra_schema is not True:
                    raise AssertionError("%s: key %r is not in the schema (undocumented)"
                                         % (where, k))

    def schema(self, name):
        return {"$ref": "#/components/schemas/" + name}


# ---------------------------------------------------------------------------------------------
# The pipeline

class Cluster:
    def __init__(self, bindir, srcdir):
        self.bin = bindir
        self.tmp = tempfile.mkdtemp(prefix="fh-api-test-")
        self.procs = fhtest.Procs(self.tmp)
        self.secret = secrets.token_hex(16)
        self.secret_file = os.path.join(self.tmp, "secret")
        fhtest.write_secret(self.secret_file, self.secret)
        self.spec = Spec(os.path.join(srcdir, "docs", "http-api.openapi.yaml"))
        self.cam = fhtest.free_port(socket.SOCK_DGRAM)
        others = [p for p in range(7101, 7120) if p != self.cam]
        self.null, self.wait, self.fail = others[0], others[1], others[2]

    def start_master(self, name, port, extra):
        p = self.procs.start(name, [self.bin + "/framehive-master", "--port", str(port),
                                    "--stats-interval", "0"] + extra)
        h = fhtest.Http(port, self.secret)

        def up():
            if p.poll() is not None:
                raise AssertionError("%s exited (%s):\n%s" % (name, p.returncode,
                                                              self.procs.tail(name)))
            return h.get("/api/v1/status").status == 200
        wait_until(up, 20, name + " answering /api/v1/status")
        return h

    def start(self):
        self.mport = fhtest.free_port()
        self.http = self.start_master("master", self.mport, [
            "--db", os.path.join(self.tmp, "a.db"), "--auth-file", self.secret_file,
            "--max-image-bytes", str(2 << 20), "--max-pixels", "800x600",
            "--max-frame-age", "0", "--max-pending-per-port", "200",
            "--detector", "%d=hog" % self.cam, "--detector", "%d=null" % self.null,
            "--detector", "%d=haar:frontalface" % self.wait,
            "--detector", "%d=fakedet" % self.fail])
        url = "http://127.0.0.1:%d/RPC2" % self.mport
        self.rpc = self.http.rpc()
        for det in ("hog", "null"):
            self.procs.start("worker-" + det, [
                self.bin + "/framehive-worker", "--master", url, "--detector", det,
                "--id", det + "-w", "--auth-file", self.secret_file])
        wait_until(lambda: {w["worker_id"] for w in self.rpc.status()["workers"]
                            if w["alive"]} >= {"hog-w", "null-w"}, 30, "both workers registered")
        self.procs.start("receiver", [
            self.bin + "/framehive-receiver", "--bind", "127.0.0.1", "--ports", str(self.cam),
            "--master", url, "--auth-file", self.secret_file, "--stats-interval", "0",
            "--queue-per-port", "200"])
        time.sleep(0.2)  # the receiver binds its UDP port right after start (no readiness signal)
        self.sender = self.procs.start("sender", [
            self.bin + "/framehive-sender", "--source", fhtest.VTEST, "--receiver", "127.0.0.1",
            "--port", str(self.cam), "--fps", "6", "--frames", "24", "--stream", "vtest",
            "--stats-interval", "0", "--motion", "off"])

        # the XML-RPC-only ports: NULL (10 frames), WAIT (1 frame, no worker), FAIL (fake worker)
        small = fhtest.vtest_jpegs(10, start=30, width=320)
        self.rpc.add_tasks([fhtest.frame(self.null, i + 1, j, stream="null-cam")
                            for i, j in enumerate(small)])
        self.rpc.add_tasks([fhtest.frame(self.wait, 1, small[0], stream="waiting-cam")])
        self.rpc.register_worker("fake-w", "127.0.0.1", ["fakedet"])
        self.rpc.add_tasks([fhtest.frame(self.fail, 1, small[1], stream="failing-cam")])
        task = wait_until(lambda: self.rpc.request_task("fake-w", 1000), 20,
                          "a task for the fake worker")
        self.failed_task = task["task_id"]
        assert self.rpc.fail_task("fake-w", self.failed_task, "test: refused on purpose")

        # the camera port quiesced: the sender done, every received frame ended, no new one
        wait_until(lambda: self.sender.poll() is not None, 60, "the sender to finish 24 frames")
        self.procs.check_alive()
        last = {"n": -1, "since": time.monotonic()}

        def quiet():
            p = self.port_status(self.cam)
            if p is None:
                return False
            if p["received"] != last["n"]:
                last["n"], last["since"] = p["received"], time.monotonic()
                return False
            return (p["pending"] + p["in_progress"] == 0 and p["completed"] > 0
                    and time.monotonic() - last["since"] > 1.5)
        wait_until(quiet, 120, "the camera port %d to quiesce" % self.cam, step=0.2)
        wait_until(lambda: self.port_status(self.null)["completed"] == 10, 60,
                   "the 10 frames of port %d completed" % self.null)

        # master B: uploads only, no worker, a queue of 2
        self.bport = fhtest.free_port()
        self.http_b = self.start_master("master-b", self.bport, [
            "--db", ":memory:", "--auth-file", self.secret_file, "--max-pending-uploads", "2"])

    def port_status(self, port):
        for p in self.http.get_json("/api/v1/status")["ports"]:
            if p["port"] == port:
                return p
        return None

    def stop(self, check=False):
        if getattr(self, "rpc", None):
            self.rpc("close")()
        self.procs.stop_all(check)


def setUpModule():
    global C
    C = Cluster(BIN, SRC)
    try:
        C.start()
    except BaseException:
        C.stop()
        print("pipeline logs in", C.tmp, file=sys.stderr)
        raise


def tearDownModule():
    if C:
        C.stop(check=True)


# ---------------------------------------------------------------------------------------------
# Images made for the tests

def jpeg_of(img, quality=90):
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


def png_of(img):
    ok, buf = cv2.imencode(".png", img)
    assert ok
    return buf.tobytes()


def png_declaring(width, height):
    """A PNG signature and an IHDR chunk declaring width x height (no image data follows)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(
        ">I", zlib.crc32(b"IHDR" + ihdr) & 0xffffffff)
    return b"\x89PNG\r\n\x1a\n" + chunk + b"\x00" * 64


def vtest_frame(index):
    cap = cv2.VideoCapture(fhtest.VTEST)
    cap.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, img = cap.read()
    cap.release()
    assert ok, "cannot read frame %d of vtest.avi" % index
    return img


# ---------------------------------------------------------------------------------------------

class Base(unittest.TestCase):
    maxDiff = 2000

    def get(self, template, path, **kw):
        exercised("get", template)
        return C.http.get(path, **kw)

    def post(self, template, path, body, headers=None, **kw):
        exercised("post", template)
        return C.http.request("POST", path, body=body, headers=headers, **kw)

    def ok_json(self, template, path, schema=None, **kw):
        r = self.get(template, path, **kw)
        self.assertEqual(r.status, 200, "GET %s: %r" % (path, r))
        self.assertTrue(r.header("Content-Type", "").startswith("application/json"),
                        "GET %s: Content-Type %s" % (path, r.header("Content-Type")))
        j = r.json()
        if schema:
            C.spec.check(j, schema, "GET " + path)
        return j

    def assert_error(self, r, status, what, message_re=None):
        """r is the JSON error of docs/http-api.md, "Errors", with this status."""
        self.assertEqual(r.status, status, "%s: expected %d, got %r" % (what, status, r))
        self.assertTrue(r.header("Content-Type", "").startswith("application/json"),
                        "%s: error Content-Type %s, body %r" % (what, r.header("Content-Type"),
                                                                 r.body[:200]))
        j = r.json()
        C.spec.check(j, C.spec.schema("Error"), what)
        self.assertEqual(j["error"]["status"], status, what + ": error.status")
        self.assertTrue(j["error"]["message"], what + ": an empty message")
        if message_re:
            self.assertRegex(j["error"]["message"], message_re, what)
        return j

    def bad(self, template, path, status=400, message_re=None):
        return self.assert_error(self.get(template, path), status, "GET " + path, message_re)


class T01Status(Base):
    def test_status_shape_and_states(self):
        s = self.ok_json("/api/v1/status", "/api/v1/status", C.spec.schema("Status"))
        self.assertLess(abs(s["now"] - time.time()), 5, "now is the master's clock")
        self.assertTrue(s["version"])
        ports = {p["port"]: p for p in s["ports"]}
        for port in (C.cam, C.null, C.wait, C.fail):
            self.assertIn(port, ports, "status lists port %d" % port)
        cam = ports[C.cam]
        self.assertEqual(cam["source"], "camera")
        self.assertEqual(cam["detector"], "hog")
        self.assertEqual(cam["stream"], "vtest")
        self.assertGreater(cam["completed"], 0)
        self.assertEqual(cam["received"], cam["pending"] + cam["in_progress"] + cam["completed"]
                         + cam["failed"] + cam["dropped"] + cam["expired"], "received adds up")
        self.assertIn(cam["state"], ("live", "stalled"))
        self.assertTrue(cam["latest_task_id"], "a kept frame")
        self.assertEqual(ports[C.wait]["state"], "waiting", "no worker offers haar:frontalface")
        self.assertIn("haar:frontalface", s["waiting_detectors"])
        self.assertEqual(s["queue"].get("haar:frontalface"), 1)
        self.assertEqual(ports[C.fail]["failed"], 1)
        for w in s["workers"]:
            self.assertGreaterEqual(w["task_age_s"], 0)

    def test_workers(self):
        j = self.ok_json("/api/v1/workers", "/api/v1/workers")
        C.spec.check(j, {"type": "object", "required": ["workers"], "properties": {
            "workers": {"type": "array", "items": C.spec.schema("WorkerStatus")}}})
        by_id = {w["worker_id"]: w for w in j["workers"]}
        self.assertEqual(by_id["hog-w"]["capabilities"], ["hog"])
        self.assertTrue(by_id["hog-w"]["alive"])
        self.assertGreater(by_id["hog-w"]["completed"], 0)
        self.assertEqual(by_id["null-w"]["capabilities"], ["null"])

    def test_session_basic(self):
        j = self.ok_json("/api/v1/session", "/api/v1/session", C.spec.schema("Session"))
        self.assertEqual({k: j[k] for k in ("auth_required", "authenticated", "via")},
                         {"auth_required": True, "authenticated": True, "via": "basic"})
        self.assertEqual(j["max_image_bytes"], 2 * 1024 * 1024)  # the master's --max-image-bytes
        self.assertEqual(j["max_pixels"], 800 * 600)


class T02Results(Base):
    T = "/api/v1/ports/{port}/results"

    def results(self, port, query=""):
        path = "/api/v1/ports/%d/results%s" % (port, query)
        schema = {"type": "object", "required": ["port", "results"], "properties": {
            "port": {"type": "integer"},
            "results": {"type": "array", "items": C.spec.schema("ResultRecordKept")}}}
        return self.ok_json(self.T, path, schema)

    def test_results_shape_order_and_filters(self):
        j = self.results(C.cam)
        self.assertEqual(j["port"], C.cam)
        rs = j["results"]
        st = C.port_status(C.cam)
        self.assertEqual(len(rs), st["completed"], "every completed frame of the port")
        caps = [r["captured_at"] for r in rs]
        self.assertEqual(caps, sorted(caps, reverse=True), "newest first")
        self.assertTrue(all(r["detector"] == "hog" and r["worker_id"] == "hog-w" for r in rs))
        self.assertTrue(all(r["stream"] == "vtest" for r in rs))
        self.assertTrue(any(r["detections"] for r in rs), "hog finds people in vtest.avi")
        self.assertTrue(rs[0]["frame_kept"])
        self.assertEqual(len(self.results(C.cam, "?limit=3")["results"]), 3)
        self.assertEqual(self.results(C.cam, "?limit=1")["results"][0]["task_id"], rs[0]["task_id"])
        people = self.results(C.cam, "?label=person")["results"]
        self.assertEqual(len(people), sum(1 for r in rs if any(
            d["label"] == "person" for d in r["detections"])))
        self.assertTrue(all(any(d["label"] == "person" for d in r["detections"]) for r in people))
        self.assertEqual(self.results(C.cam, "?label=unicorn")["results"], [])
        self.assertEqual(self.results(C.cam, "?since=%f" % (time.time() + 100))["results"], [])
        self.assertEqual(len(self.results(C.cam, "?since=3600")["results"]), len(rs),
                         "since=3600: the last hour")
        mid = caps[len(caps) // 2]
        self.assertEqual(len(self.results(C.cam, "?since=%.6f" % mid)["results"]),
                         sum(1 for c in caps if c >= mid))
        nulls = self.results(C.null)["results"]
        self.assertEqual(len(nulls), 10)
        self.assertTrue(all(r["detections"] == [] for r in nulls), "null detects nothing")

    def test_results_bad_input(self):
        p = "/api/v1/ports/%d/results" % C.cam
        for q in ("limit=abc", "limit=0", "limit=10001", "limit=1.5", "limit=-3", "since=-1",
                  "since=abc", "since=nan", "since=1e300"):
            self.bad(self.T, p + "?" + q, 400)
        self.bad(self.T, "/api/v1/ports/9/results", 404, r"unknown port 9 \(known: .*%d" % C.cam)
        self.bad(self.T, "/api/v1/ports/abc/results", 400, "expected 0..65535")
        self.bad(self.T, "/api/v1/ports/70000/results", 400)


class T03Summary(Base):
    T = "/api/v1/ports/{port}/summary"

    def test_summary(self):
        j = self.ok_json(self.T, "/api/v1/ports/%d/summary?interval=10&since=3600" % C.cam,
                         C.spec.schema("Summary"))
        self.assertEqual(j["port"], C.cam)
        self.assertEqual(j["interval"], 10)
        self.assertTrue(j["buckets"], "the camera's frames are in the last hour")
        frames = sum(b["frames"] for b in j["buckets"])
        self.assertEqual(frames, C.port_status(C.cam)["completed"])
        people = sum(b["labels"].get("person", 0) for b in j["buckets"])
        self.assertGreater(people, 0)
        for b in j["buckets"]:
            self.assertAlmostEqual(b["end"] - b["start"], 10, places=6)
            self.assertAlmostEqual(b["start"] % 10, 0, places=3)
        starts = [b["start"] for b in j["buckets"]]
        self.assertEqual(starts, sorted(starts), "oldest first")
        d = self.ok_json(self.T, "/api/v1/ports/%d/summary" % C.cam)
        self.assertEqual((d["interval"], sum(b["frames"] for b in d["buckets"])), (60, frames),
                         "defaults: 60 s buckets over the last hour")
        self.assertEqual(self.ok_json(self.T, "/api/v1/ports/%d/summary?since=%f" % (
            C.cam, time.time() + 60))["buckets"], [])

    def test_summary_bad_input(self):
        p = "/api/v1/ports/%d/summary" % C.cam
        for q in ("interval=0", "interval=abc", "interval=-5", "since=-1",
                  "interval=1&since=86400"):  # 86,400 buckets: over 10,000
            self.bad(self.T, p + "?" + q, 400)
        self.bad(self.T, "/api/v1/ports/9/summary", 404)


class T04Images(Base):
    def decode(self, r, what):
        self.assertEqual(r.status, 200, "%s: %r" % (what, r))
        self.assertEqual(r.header("Content-Type"), "image/jpeg", what)
        img = cv2.imdecode(np.frombuffer(r.body, np.uint8), cv2.IMREAD_COLOR)
        self.assertIsNotNone(img, what + ": the JPEG does not decode")
        return img

    def test_latest_jpg(self):
        T = "/api/v1/ports/{port}/latest.jpg"
        base = "/api/v1/ports/%d/latest.jpg" % C.cam
        r = self.get(T, base)
        img = self.decode(r, "latest.jpg")
        self.assertEqual(img.shape[:2], (576, 768), "vtest.avi's size")
        self.assertEqual(r.header("X-Framehive-Task-Id"), C.port_status(C.cam)["latest_task_id"])
        for width in (320, 100, 16):
            small = self.decode(self.get(T, base + "?width=%d" % width), "width=%d" % width)
            self.assertEqual(small.shape[1], width, "?width=%d" % width)
            self.assertEqual(small.shape[0], round(576 * width / 768), "aspect kept")
        plain = self.decode(self.get(T, base + "?boxes=0&width=320"), "boxes=0")
        self.assertEqual(plain.shape[1], 320)
        for q in ("width=8", "width=abc", "width=4000", "width=-1", "boxes=2"):
            self.bad(T, base + "?" + q, 400)
        self.bad(T, "/api/v1/ports/9/latest.jpg", 404)
        self.bad(T, "/api/v1/ports/%d/latest.jpg" % C.wait, 404, "no kept frame")

    def test_task_frame_jpg(self):
        T = "/api/v1/tasks/{task_id}/frame.jpg"
        tid = C.port_status(C.cam)["latest_task_id"]
        path = "/api/v1/tasks/%s/frame.jpg" % urllib.parse.quote(tid)
        r = self.get(T, path + "?width=200")
        img = self.decode(r, "frame.jpg")
        self.assertEqual(img.shape[1], 200)
        self.assertEqual(r.header("X-Framehive-Task-Id"), tid)
        self.assertEqual(r.header("Cache-Control"), "private, max-age=86400", "immutable")
        etag = r.header("ETag")
        self.assertTrue(etag)
        r304 = self.get(T, path + "?width=200", headers={"If-None-Match": etag})
        self.assertEqual(r304.status, 304, "If-None-Match: %r" % r304)
        full = self.decode(self.get(T, path), "frame.jpg full size")
        self.assertEqual(full.shape[:2], (576, 768))
        self.bad(T, "/api/v1/tasks/no-such-task/frame.jpg", 404)
        self.bad(T, path + "?width=3", 400)
        # a pending upload's image is served too (plain): the WAIT port's frame is not an
        # upload, so it has none
        self.bad(T, "/api/v1/tasks/%s/frame.jpg" % urllib.parse.quote(C.failed_task), 404)

    def test_live_mjpeg(self):
        """At least 2 JPEG parts with different task ids within a deadline, while frames for
        the NULL port arrive through add_tasks."""
        T = "/api/v1/ports/{port}/live.mjpeg"
        exercised("get", T)
        stop = threading.Event()
        frames = fhtest.vtest_jpegs(5, start=100, width=320)

        def feed():
            with C.http.rpc() as rpc:
                i = 1000
                while not stop.is_set():
                    rpc.add_tasks([fhtest.frame(C.null, i, frames[i % 5], stream="null-cam")])
                    i += 1
                    stop.wait(0.15)
        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        sock = socket.create_connection(("127.0.0.1", C.mport), timeout=5)
        try:
            req = ("GET /api/v1/ports/%d/live.mjpeg?width=160 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                   "Authorization: %s\r\n\r\n" % (C.null, C.mport, C.http.basic(C.secret)))
            sock.sendall(req.encode())
            buf = b""
            deadline = time.monotonic() + 30
            while b"\r\n\r\n" not in buf:
                self.assertLess(time.monotonic(), deadline, "no response header")
                chunk = sock.recv(65536)
                self.assertTrue(chunk, "closed before the header: %r" % buf)
                buf += chunk
            head, buf = buf.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            self.assertIn(" 200 ", lines[0] + " ", "status line %r" % lines[0])
            headers = {k.strip().lower(): v.strip() for k, v in
                       (l.split(":", 1) for l in lines[1:])}
            self.assertEqual(headers.get("content-type"),
                             "multipart/x-mixed-replace; boundary=framehive-frame")
            parts = []
            while len({p[0] for p in parts}) < 2:
                self.assertLess(time.monotonic(), deadline,
                                "fewer than 2 distinct frames in 30 s: %s" % [p[0] for p in parts])
                m = re.match(rb"--framehive-frame\r\n((?:[^\r\n]+\r\n)+)\r\n", buf)
                if m:
                    ph = dict(l.split(": ", 1) for l in m.group(1).decode().split("\r\n") if l)
                    n = int(ph["Content-Length"])
                    if len(buf) >= m.end() + n + 2:
                        body = buf[m.end():m.end() + n]
                        self.assertEqual(buf[m.end() + n:m.end() + n + 2], b"\r\n")
                        buf = buf[m.end() + n + 2:]
                        self.assertEqual(ph["Content-Type"], "image/jpeg")
                        img = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
                        self.assertIsNotNone(img, "a part does not decode")
                        self.assertEqual(img.shape[1], 160, "?width=160")
                        parts.append((ph["X-Framehive-Task-Id"], len(body)))
                        continue
                elif len(buf) > 40 and not buf.startswith(b"--framehive-frame"):
                    self.fail("not a multipart part: %r" % buf[:80])
                chunk = sock.recv(65536)
                self.assertTrue(chunk, "the stream ended after %d parts" % len(parts))
                buf += chunk
        finally:
            sock.close()
            stop.set()
            feeder.join(10)
        self.bad(T, "/api/v1/ports/9/live.mjpeg", 404)
        self.bad(T, "/api/v1/ports/%d/live.mjpeg?width=2" % C.null, 400)


    def test_live_mjpeg_limit_and_release(self):
        """16 streams at once (503 beyond, with Retry-After); a closed stream of a quiet port
        gives its place back at once (not at its next frame, which may never come)."""
        T = "/api/v1/ports/{port}/live.mjpeg"
        exercised("get", T)

        def live_streams():
            _, samples = fhtest.parse_exposition(C.http.get("/metrics").body.decode())
            return [v for n, l, v in samples if n == "framehive_live_streams"][0]
        wait_until(lambda: live_streams() == 0, 10, "no live stream open")

        def open_stream():
            s = socket.create_connection(("127.0.0.1", C.mport), timeout=10)
            s.sendall(("GET /api/v1/ports/%d/live.mjpeg HTTP/1.1\r\nHost: x\r\n"
                       "Authorization: %s\r\n\r\n" % (C.wait, C.http.basic(C.secret))).encode())
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = s.recv(4096)
                if not chunk:
                    break
                head += chunk
            return s, head.split(b"\r\n")[0].decode()
        socks = []
        try:
            for i in range(16):
                s, line = open_stream()
                socks.append(s)
                self.assertIn(" 200 ", line, "stream %d of 16" % (i + 1))
            self.assertEqual(live_streams(), 16)
            r = self.get(T, "/api/v1/ports/%d/live.mjpeg" % C.wait)
            self.assert_error(r, 503, "a 17th live stream", "too many live streams")
            self.assertEqual(r.header("Retry-After"), "1")
        finally:
            for s in socks:
                s.close()
        wait_until(lambda: live_streams() == 0, 5, "the closed streams' places given back")
        s, line = open_stream()
        s.close()
        self.assertIn(" 200 ", line, "a stream after the others closed")


class T05Failures(Base):
    T = "/api/v1/failures"

    def test_failures(self):
        schema = {"type": "object", "required": ["failures"], "properties": {
            "failures": {"type": "array", "items": C.spec.schema("FailureRecord")}}}
        j = self.ok_json(self.T, "/api/v1/failures", schema)
        mine = [f for f in j["failures"] if f["task_id"] == C.failed_task]
        self.assertEqual(len(mine), 1, "the fake worker's failure: %s" % j["failures"])
        f = mine[0]
        self.assertEqual((f["port"], f["worker_id"], f["stream"]), (C.fail, "fake-w", "failing-cam"))
        self.assertIn("test: refused on purpose", f["reason"])
        one = self.ok_json(self.T, "/api/v1/failures?port=%d&limit=5" % C.fail, schema)
        self.assertEqual([x["task_id"] for x in one["failures"]], [C.failed_task])
        self.assertEqual(self.ok_json(self.T, "/api/v1/failures?port=%d" % C.cam)["failures"], [])
        for q in ("port=abc", "limit=0", "limit=10001", "limit=x"):
            self.bad(self.T, "/api/v1/failures?" + q, 400)
        self.bad(self.T, "/api/v1/failures?port=9", 404)


class T06Tasks(Base):
    T = "/api/v1/tasks/{task_id}"

    def task(self, tid):
        return self.ok_json(self.T, "/api/v1/tasks/" + urllib.parse.quote(tid),
                            C.spec.schema("TaskInfo"))

    def test_task_states(self):
        tid = C.port_status(C.cam)["latest_task_id"]
        t = self.task(tid)
        self.assertEqual((t["state"], t["port"], t["detector"], t["frame_kept"]),
                         ("completed", C.cam, "hog", True))
        self.assertIsNone(t["failure"])
        self.assertEqual(t["record"]["task_id"], tid)
        f = self.task(C.failed_task)
        self.assertEqual(f["state"], "failed")
        self.assertIsNone(f["record"])
        self.assertIn("refused on purpose", f["failure"]["reason"])
        self.assertFalse(f["frame_kept"])
        waiting = [r for r in C.rpc.get_results(C.wait, 0)]
        self.assertEqual(waiting, [])
        self.bad(self.T, "/api/v1/tasks/no-such-task", 404, "unknown task")
        self.bad(self.T, "/api/v1/tasks/%2e%2e%2fstatus", 404)


class T07Uploads(Base):
    T = "/api/v1/images"

    def upload(self, body, ctype, query="", master=None, headers=None):
        h = {"Content-Type": ctype} if ctype else {}
        h.update(headers or {})
        exercised("post", self.T)
        return (master or C.http).request("POST", self.T + query, body=body, headers=h)

    def wait_done(self, tid, timeout=60):
        def done():
            t = C.http.get_json("/api/v1/tasks/" + urllib.parse.quote(tid))
            return t if t["state"] in ("completed", "failed") else None
        t = wait_until(done, timeout, "upload %s to complete" % tid, step=0.1)
        C.spec.check(t, C.spec.schema("TaskInfo"), "task " + tid)
        self.assertEqual(t["state"], "completed", "upload %s: %s" % (tid, t))
        return t

    def test_jpeg_and_png_uploads_complete_with_people(self):
        img = vtest_frame(20)  # five people for OpenCV's HOG
        r = self.upload(jpeg_of(img), "image/jpeg", "?name=door.jpg")
        self.assertEqual(r.status, 202, "JPEG upload: %r" % r)
        a = r.json()
        C.spec.check(a, C.spec.schema("UploadAccepted"), "202 body")
        self.assertEqual((a["detector"], a["waiting"]), ("hog", False))
        rp = self.upload(png_of(img), "image/png", "?name=door.png")
        self.assertEqual(rp.status, 202, "PNG upload: %r" % rp)
        b = rp.json()
        for up, name in ((a, "door.jpg"), (b, "door.png")):
            t = self.wait_done(up["task_id"])
            self.assertEqual((t["port"], t["stream"], t["detector"]), (0, "upload:" + name, "hog"))
            people = [d for d in t["record"]["detections"] if d["label"] == "person"]
            self.assertGreater(len(people), 0, "hog finds people in vtest frame 20: %s" % t)
            self.assertTrue(t["frame_kept"])
            frame = self.get("/api/v1/tasks/{task_id}/frame.jpg", "/api/v1/tasks/%s/frame.jpg"
                             % urllib.parse.quote(up["task_id"]))
            self.assertEqual(frame.status, 200)
            self.assertEqual(cv2.imdecode(np.frombuffer(frame.body, np.uint8),
                                          cv2.IMREAD_COLOR).shape[:2], (576, 768))
        # another detector by name; the upload port shows as source "upload"
        n = self.upload(jpeg_of(img), "image/jpeg; charset=binary", "?detector=null")
        self.assertEqual(n.status, 202, "Content-Type with a parameter: %r" % n)
        t = self.wait_done(n.json()["task_id"])
        self.assertEqual((t["detector"], t["record"]["detections"]), ("null", []))
        p0 = C.port_status(0)
        self.assertEqual(p0["source"], "upload")
        latest = self.get("/api/v1/ports/{port}/latest.jpg", "/api/v1/ports/0/latest.jpg?width=64")
        self.assertEqual(latest.status, 200)

    def test_upload_limits_and_bad_bodies(self):
        big = jpeg_of(vtest_frame(0))
        # over --max-image-bytes (2 MiB): 3 MB
        self.assert_error(self.upload(big + b"\0" * (3 << 20), "image/jpeg"), 413, "3 MB body",
                          "max-image-bytes")
        # over --max-pixels (800x600): a 1024x768 JPEG, and a PNG declaring 100000x100000
        wide = cv2.resize(vtest_frame(0), (1024, 768))
        self.assert_error(self.upload(jpeg_of(wide), "image/jpeg"), 413, "1024x768 JPEG",
                          "max-pixels")
        self.assert_error(self.upload(png_of(wide), "image/png"), 413, "1024x768 PNG")
        self.assert_error(self.upload(png_declaring(100000, 100000), "image/png"), 413,
                          "PNG IHDR 100000x100000", "max-pixels")
        # other types
        for ctype in ("text/plain", "image/gif", "application/octet-stream", None):
            self.assert_error(self.upload(big, ctype), 415, "Content-Type %s" % ctype)
        # undecodable
        rnd = bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8))
        self.assert_error(self.upload(rnd, "image/jpeg"), 400, "random bytes as JPEG")
        self.assert_error(self.upload(b"\xff\xd8\xff\xe0" + rnd + b"\xff\xd9", "image/jpeg"), 400,
                          "a JPEG header over garbage")
        self.assert_error(self.upload(big[:len(big) // 3], "image/jpeg"), 400, "a truncated JPEG")
        self.assert_error(self.upload(b"", "image/jpeg"), 400, "an empty body")
        self.assert_error(self.upload(png_declaring(64, 64), "image/png"), 400,
                          "a PNG without image data")
        self.assert_error(self.upload(big, "image/jpeg", "?detector=a%20b"), 400,
                          "a detector name with a space")
        # other methods
        r = C.http.get(self.T)
        self.assert_error(r, 405, "GET /api/v1/images")
        self.assertEqual(r.header("Allow"), "POST")

    def test_full_upload_queue_is_503(self):
        img = jpeg_of(cv2.resize(vtest_frame(5), (320, 240)))
        for i in range(2):
            r = self.upload(img, "image/jpeg", master=C.http_b)
            self.assertEqual(r.status, 202, "upload %d of 2 to master B: %r" % (i + 1, r))
            self.assertTrue(r.json()["waiting"], "no worker on master B")
        pending = r.json()["task_id"]
        r = self.upload(img, "image/jpeg", master=C.http_b)
        self.assert_error(r, 503, "the third upload", "max-pending-uploads|upload")
        self.assertEqual(r.header("Retry-After"), "1")
        # a waiting upload's image is served, without boxes
        f = C.http_b.get("/api/v1/tasks/%s/frame.jpg" % urllib.parse.quote(pending))
        self.assertEqual(f.status, 200, "a pending upload's frame: %r" % f)
        self.assertEqual(f.header("Cache-Control"), "no-store")
        t = C.http_b.get_json("/api/v1/tasks/" + urllib.parse.quote(pending))
        self.assertEqual(t["state"], "pending")
        self.assertEqual(C.http_b.get_json("/api/v1/status")["waiting_detectors"], ["hog"])


class T08ExportSearch(Base):
    def test_export_csv_matches_results(self):
        T = "/api/v1/export"
        r = self.get(T, "/api/v1/export?port=%d&format=csv" % C.cam)
        self.assertEqual(r.status, 200, repr(r))
        self.assertTrue(r.header("Content-Type").startswith("text/csv"))
        self.assertIn('filename="framehive-%d.csv"' % C.cam, r.header("Content-Disposition"))
        rows = list(csv.reader(io.StringIO(r.body.decode())))
        header = ("task_id,port,stream,frame_id,captured_at,received_at,completed_at,worker_id,"
                  "detector,processing_ms,label,confidence,x,y,w,h").split(",")
        self.assertEqual(rows[0], header)
        results = C.http.get_json("/api/v1/ports/%d/results?limit=10000" % C.cam)["results"]
        expected = []
        for res in reversed(results):  # export is oldest first
            head = [res["task_id"], str(res["port"]), res["stream"], str(res["frame_id"]),
                    "%.6f" % res["captured_at"]]
            dets = res["detections"] or [None]
            for d in dets:
                tail = ["", "", "", "", "", ""] if d is None else [
                    d["label"], "%.6f" % d["confidence"], str(d["x"]), str(d["y"]), str(d["w"]),
                    str(d["h"])]
                expected.append(head + tail)
        got = [row[:5] + row[10:] for row in rows[1:]]
        self.assertEqual(len(got), len(expected), "one CSV row per detection (or per empty frame)")
        self.assertEqual(sorted(got), sorted(expected), "CSV rows = /results")
        order = [row[0] for row in rows[1:]]
        caps = [float(row[4]) for row in rows[1:]]
        self.assertEqual(caps, sorted(caps), "oldest first: %s" % order[:5])

        # JSON lines: one ResultRecord per line, the same records
        j = self.get(T, "/api/v1/export?port=%d&format=jsonl" % C.cam)
        self.assertEqual(j.status, 200)
        self.assertEqual(j.header("Content-Type"), "application/x-ndjson")
        lines = j.body.decode().splitlines()
        recs = [json.loads(line) for line in lines]
        for rec in recs:
            C.spec.check(rec, C.spec.schema("ResultRecord"), "jsonl line")
        self.assertEqual({x["task_id"] for x in recs}, {x["task_id"] for x in results})
        # since in the future: the header alone
        empty = self.get(T, "/api/v1/export?port=%d&since=%f" % (C.cam, time.time() + 60))
        self.assertEqual(empty.body.decode().splitlines(), [",".join(header)])
        default = self.get(T, "/api/v1/export?port=%d" % C.null)
        self.assertEqual(len(default.body.decode().splitlines()), 1 + C.port_status(C.null)["completed"],
                         "csv by default; null frames have one row each")

    def test_export_bad_input(self):
        T = "/api/v1/export"
        for q in ("", "?format=csv", "?port=abc", "?port=%d&format=xml" % C.cam,
                  "?port=%d&since=-1" % C.cam):
            self.bad(T, T + q, 400)
        self.bad(T, T + "?port=9", 404)

    def test_search(self):
        T = "/api/v1/search"
        schema = {"type": "object", "required": ["results"], "properties": {
            "results": {"type": "array", "items": C.spec.schema("ResultRecordKept")}}}
        everything = self.ok_json(T, T + "?limit=1000", schema)["results"]
        self.assertGreater(len(everything), 0)
        confs = sorted(d["confidence"] for r in everything for d in r["detections"]
                       if d["label"] == "person")
        self.assertTrue(confs, "person detections in the database")
        threshold = confs[len(confs) // 2]
        j = self.ok_json(T, T + "?label=person&min_confidence=%.6f&limit=1000" % threshold, schema)
        got = j["results"]
        self.assertTrue(got, "results at or above the median confidence")
        for r in got:
            self.assertTrue(any(d["label"] == "person" and d["confidence"] >= threshold - 1e-6
                                for d in r["detections"]), "search returned %s" % r)
        expected = {r["task_id"] for r in everything if any(
            d["label"] == "person" and d["confidence"] >= threshold - 1e-6 for d in r["detections"])}
        self.assertEqual({r["task_id"] for r in got}, expected)
        caps = [r["completed_at"] for r in got]
        self.assertEqual(len(caps), len(set(r["task_id"] for r in got)), "no duplicates")
        only_cam = self.ok_json(T, T + "?ports=%d,%d&limit=1000" % (C.cam, C.wait), schema)["results"]
        self.assertTrue(only_cam and all(r["port"] == C.cam for r in only_cam))
        self.assertEqual(self.ok_json(T, T + "?label=unicorn")["results"], [])
        self.assertEqual(self.ok_json(T, T + "?label=person&min_confidence=1")["results"], [],
                         "hog's confidence is a sigmoid: below 1")
        self.assertEqual(len(self.ok_json(T, T + "?limit=2")["results"]), 2)
        self.assertEqual(self.ok_json(T, T + "?since=%f" % (time.time() + 60))["results"], [])
        self.assertEqual(len(self.ok_json(T, T + "?until=%f&limit=1000" % (time.time() + 60))["results"]),
                         len(everything))
        for q in ("limit=0", "limit=1001", "min_confidence=2", "min_confidence=-0.1",
                  "min_confidence=x", "ports=abc", "ports=1,,x", "since=-5", "until=x"):
            self.bad(T, T + "?" + q, 400)


class T09Routes(Base):
    def test_unknown_routes_and_methods(self):
        self.bad("/api/v1/nope", "/api/v1/nope", 404, "no such API route")
        self.bad("/api/v1/nope", "/api/v1/ports/%d/nope" % C.cam, 404)
        self.bad("/api/v1/nope", "/api/v1/ports/%d" % C.cam, 404)
        self.bad("/api/v1/nope", "/api/v1/tasks/x/y/z", 404)
        for path in ("/api/v2/status", "/nope.html"):  # not the API: the console's 404
            self.assertEqual(C.http.get(path).status, 404, path)
        for path, method in (("/api/v1/status", "POST"), ("/api/v1/workers", "POST"),
                             ("/api/v1/ports/%d/results" % C.cam, "POST"),
                             ("/api/v1/search", "POST"), ("/api/v1/export?port=1", "POST"),
                             ("/api/v1/status", "DELETE"), ("/api/v1/status", "PUT"),
                             ("/api/v1/images", "DELETE"), ("/api/v1/images?x=1", "PUT"),
                             ("/api/v1/ports/%d/latest.jpg" % C.cam, "PATCH")):
            r = C.http.request(method, path, body=b"" if method != "GET" else None)
            self.assert_error(r, 405, "%s %s" % (method, path))
            allow = "POST" if "/images" in path else "GET"
            self.assertEqual(r.header("Allow"), allow, "%s %s: Allow" % (method, path))
        r = C.http.request("HEAD", "/api/v1/status")
        self.assertEqual((r.status, r.header("Allow")), (405, "GET"), "HEAD /api/v1/status")
        r = C.http.request("POST", "/metrics", body=b"")
        self.assertEqual((r.status, r.header("Allow")), (405, "GET"))
        r = C.http.request("GET", "/RPC2")
        self.assertEqual((r.status, r.header("Allow")), (405, "POST"))


class T10Auth(Base):
    def test_missing_and_wrong_credentials(self):
        for path in ("/api/v1/status", "/api/v1/ports/%d/latest.jpg" % C.cam, "/api/v1/nope",
                     "/api/v1/session"):
            r = C.http.get(path, auth=None)
            self.assert_error(r, 401, "GET %s without credentials" % path)
            self.assertEqual(r.header("WWW-Authenticate"), 'Basic realm="framehive"')
            r = C.http.get(path, auth=None, headers={"X-Framehive-Console": "1"})
            self.assert_error(r, 401, "GET %s from the console script" % path)
            self.assertIsNone(r.header("WWW-Authenticate"), "no password dialog for the console")
            r = C.http.get(path, auth="wrong-" + C.secret)
            self.assert_error(r, 401, "GET %s with a wrong password" % path)
        # an API route asking for HTML still gets the 401 (never a redirect)
        r = C.http.get("/api/v1/status", auth=None, headers={"Accept": "text/html"})
        self.assertEqual(r.status, 401)
        r = C.http.get("/metrics", auth=None)
        self.assertEqual(r.status, 401)
        r = C.http.request("POST", "/api/v1/images", body=b"x", auth=None,
                           headers={"Content-Type": "image/jpeg"})
        self.assert_error(r, 401, "an upload without credentials")

    def test_browser_redirect_and_public_pages(self):
        exercised("get", "/")
        r = C.http.get("/", auth=None, headers={"Accept": "text/html,application/xhtml+xml"})
        self.assertEqual((r.status, r.header("Location")), (303, "/login?next=/"), repr(r))
        r = C.http.get("/?tab=camera", auth=None, headers={"Accept": "text/html"})
        self.assertEqual(r.status, 303)
        self.assertTrue(r.header("Location").startswith("/login?next=/"), r.header("Location"))
        exercised("get", "/login")
        r = C.http.get("/login", auth=None)
        self.assertEqual(r.status, 200, repr(r))
        self.assertTrue(r.header("Content-Type").startswith("text/html"))
        self.assertIn(b"password", r.body)
        exercised("get", "/assets/{path}")
        r = C.http.get("/assets/app.css", auth=None)
        self.assertEqual(r.status, 200, repr(r))
        self.assertTrue(r.header("Content-Type").startswith("text/css"), r.header("Content-Type"))
        self.assertEqual(C.http.get("/assets/no-such.css", auth=None).status, 404)
        page = self.get("/", "/")
        self.assertEqual(page.status, 200)
        self.assertTrue(page.header("Content-Type").startswith("text/html"))

    def login(self, password, nxt=None):
        exercised("post", "/login")
        form = {"password": password}
        if nxt:
            form["next"] = nxt
        return C.http.request("POST", "/login", body=urllib.parse.urlencode(form).encode(),
                              auth=None,
                              headers={"Content-Type": "application/x-www-form-urlencoded"})

    def test_login_cookie_csrf_origin_logout(self):
        r = self.login(C.secret, "/#camera")
        self.assertEqual(r.status, 303, repr(r))
        self.assertEqual(r.header("Location"), "/#camera")
        cookies = r.headers_all("Set-Cookie")
        session = [c for c in cookies if c.startswith("fh_session=")]
        csrf = [c for c in cookies if c.startswith("fh_csrf=")]
        self.assertEqual((len(session), len(csrf)), (1, 1), "Set-Cookie: %s" % cookies)
        attrs = [a.strip() for a in session[0].split(";")]
        self.assertIn("HttpOnly", attrs)
        self.assertIn("SameSite=Strict", attrs)
        self.assertIn("Path=/", attrs)
        self.assertNotIn("HttpOnly", [a.strip() for a in csrf[0].split(";")],
                         "the page's script reads fh_csrf")
        token = session[0].split(";")[0].split("=", 1)[1]
        csrf_token = csrf[0].split(";")[0].split("=", 1)[1]
        self.assertGreaterEqual(len(token), 32)
        jar = "fh_session=%s; fh_csrf=%s" % (token, csrf_token)

        s = C.http.get_json("/api/v1/session", auth=None, headers={"Cookie": jar})
        self.assertEqual({k: s[k] for k in ("auth_required", "authenticated", "via")},
                         {"auth_required": True, "authenticated": True, "via": "cookie"})
        st = C.http.get("/api/v1/status", auth=None, headers={"Cookie": jar})
        self.assertEqual(st.status, 200)
        page = C.http.get("/", auth=None, headers={"Cookie": jar, "Accept": "text/html"})
        self.assertEqual(page.status, 200, "the console with the cookie")

        img = jpeg_of(cv2.resize(vtest_frame(3), (320, 240)))
        up = {"Cookie": jar, "Content-Type": "image/jpeg"}
        exercised("post", "/api/v1/images")
        r = C.http.request("POST", "/api/v1/images?detector=null", body=img, auth=None, headers=up)
        self.assert_error(r, 403, "a cookie POST without X-CSRF-Token", "CSRF")
        r = C.http.request("POST", "/api/v1/images?detector=null", body=img, auth=None,
                           headers=dict(up, **{"X-CSRF-Token": "0" * 64}))
        self.assert_error(r, 403, "a cookie POST with a wrong X-CSRF-Token")
        r = C.http.request("POST", "/api/v1/images?detector=null", body=img, auth=None,
                           headers=dict(up, **{"X-CSRF-Token": csrf_token}))
        self.assertEqual(r.status, 202, "a cookie POST with X-CSRF-Token: %r" % r)
        same = "http://127.0.0.1:%d" % C.mport
        r = C.http.request("POST", "/api/v1/images?detector=null", body=img, auth=None,
                           headers=dict(up, **{"X-CSRF-Token": csrf_token, "Origin": same}))
        self.assertEqual(r.status, 202, "same Origin: %r" % r)

        # a foreign Origin is refused whatever the credentials
        for origin in ("http://evil.example", "http://127.0.0.1:1", "null"):
            r = C.http.request("POST", "/api/v1/images?detector=null", body=img,
                               headers={"Content-Type": "image/jpeg", "Origin": origin})
            self.assert_error(r, 403, "Basic POST with Origin %s" % origin, "cross-site")
        r = C.http.request("POST", "/RPC2", body=b"<methodCall/>",
                           headers={"Content-Type": "text/xml", "Origin": "http://evil.example"})
        self.assertEqual(r.status, 403, "XML-RPC with a foreign Origin: %r" % r)

        # logout: needs the CSRF token too, then the cookie is worthless
        exercised("post", "/logout")
        r = C.http.request("POST", "/logout", body=b"", auth=None, headers={"Cookie": jar})
        self.assertEqual(r.status, 403, "logout without X-CSRF-Token: %r" % r)
        r = C.http.request("POST", "/logout", body=b"", auth=None,
                           headers={"Cookie": jar, "X-CSRF-Token": csrf_token})
        self.assertEqual((r.status, r.header("Location")), (303, "/login"), repr(r))
        cleared = r.headers_all("Set-Cookie")
        self.assertTrue(any(c.startswith("fh_session=;") and "Max-Age=0" in c for c in cleared),
                        "logout clears the cookie: %s" % cleared)
        r = C.http.get("/api/v1/status", auth=None, headers={"Cookie": jar})
        self.assert_error(r, 401, "the cookie after logout")

        # wrong password: back to the form, no cookie; next is kept local
        r = self.login("wrong", "//evil.example/")
        self.assertEqual(r.status, 303)
        self.assertTrue(r.header("Location").startswith("/login?failed=1"), r.header("Location"))
        self.assertEqual(r.headers_all("Set-Cookie"), [])
        r = self.login(C.secret, "https://evil.example/")
        self.assertEqual((r.status, r.header("Location")), (303, "/"), "no open redirect")

    def test_zz_failed_logins_are_throttled(self):
        """Runs last among the auth tests (a throttled second refuses right passwords too)."""
        # The master checks at most 10 failed logins per second of its clock: 11 in a row get a
        # 429 unless they straddle a second, so go on (up to 21, which cannot straddle two
        # boundaries in well under a second) until one is throttled.
        statuses, t0 = [], time.monotonic()
        while 429 not in statuses and len(statuses) < 21:
            statuses.append(self.login("wrong-%d" % len(statuses)).status)
        elapsed = time.monotonic() - t0
        self.assertIn(429, statuses, "%d wrong logins in %.2f s: %s" % (len(statuses), elapsed,
                                                                        statuses))
        self.assertTrue(set(statuses) <= {303, 429}, statuses)
        wait_until(lambda: self.login(C.secret).status == 303, 10,
                   "a right login once the second is over")


class T11XmlRpc(Base):
    def test_add_image_and_get_task(self):
        img = jpeg_of(vtest_frame(20))
        rpc = C.http.rpc()
        self.addCleanup(rpc.__exit__)
        tid = rpc.add_image(img, "hog", "rpc.jpg")

        def done():
            t = rpc.get_task(tid)
            return t if t["state"] == "completed" else None
        t = wait_until(done, 60, "add_image task %s to complete" % tid, step=0.1)
        self.assertEqual((t["port"], t["stream"], t["detector"]), (0, "upload:rpc.jpg", "hog"))
        self.assertTrue([d for d in t["record"]["detections"] if d["label"] == "person"])
        # the same task through the HTTP API
        j = C.http.get_json("/api/v1/tasks/" + urllib.parse.quote(tid))
        self.assertEqual(j["record"]["detections"], t["record"]["detections"])
        png_tid = rpc.add_image(png_of(cv2.resize(vtest_frame(20), (384, 288))), "null")
        wait_until(lambda: rpc.get_task(png_tid)["state"] == "completed", 60,
                   "add_image PNG task to complete")
        with self.assertRaises(xmlrpc.client.Fault) as e:
            rpc.get_task("no-such-task")
        self.assertEqual(e.exception.faultCode, 404)
        for password in (None, "wrong"):
            with C.http.rpc(password) as anonymous:
                with self.assertRaises(xmlrpc.client.ProtocolError) as e:
                    anonymous.status()
                self.assertEqual(e.exception.errcode, 401, "XML-RPC with password %r" % password)
        with self.assertRaises(xmlrpc.client.Fault):
            rpc.add_image(b"not an image")


class T12Events(Base):
    T = "/api/v1/events"

    def schema(self):
        return C.spec.doc["paths"][self.T]["get"]["responses"]["200"]["content"][
            "application/json"]["schema"]

    def test_events_of_the_camera_tracks_and_snapshots(self):
        # The camera's people (vtest.avi, hog): tracks confirmed during the run, their
        # object.start stored (docs/events.md). The engine works behind the completions: poll.
        def starts():
            j = self.ok_json(self.T, self.T + "?port=%d&type=object.start&limit=1000" % C.cam,
                             self.schema())
            return j["events"] or None
        got = wait_until(starts, 20, "object.start events of port %d" % C.cam)
        people = {e["track_id"] for e in got}
        self.assertTrue(all(e["type"] == "object.start" and e["port"] == C.cam
                            and e["label"] == "person" and e["track_id"] > 0 for e in got), got)
        detections = sum(len(r["detections"]) for r in self.ok_json(
            "/api/v1/ports/{port}/results", "/api/v1/ports/%d/results?limit=10000" % C.cam)["results"])
        self.assertLess(len(people), detections, "tracks, not one per detection")
        # the tracked detections carry their track ids, and every started track has some
        tracked = {d.get("track_id") for r in self.ok_json(
            "/api/v1/ports/{port}/results", "/api/v1/ports/%d/results?limit=10000" % C.cam)["results"]
            for d in r["detections"]} - {None}
        self.assertEqual(people - tracked, set(), "started tracks without tracked detections")
        # a snapshot is a JPEG
        e = got[0]
        self.assertTrue(e["snapshot_kept"])
        r = self.get("/api/v1/tasks/{task_id}/frame.jpg",
                     "/api/v1/tasks/%s/frame.jpg?width=160" % e["snapshot_task_id"])
        self.assertEqual((r.status, r.body[:2]), (200, b"\xff\xd8"), r)
        # cursors, order, families, ports
        everything = self.ok_json(self.T, self.T + "?limit=1000", self.schema())
        seqs = [x["seq"] for x in everything["events"]]
        self.assertEqual(seqs, sorted(seqs))
        self.assertEqual(everything["after"], seqs[-1])
        rest = self.ok_json(self.T, self.T + "?limit=1000&after=%d" % seqs[0])["events"]
        self.assertEqual([x["seq"] for x in rest], seqs[1:])
        desc = self.ok_json(self.T, self.T + "?limit=2&order=desc")["events"]
        self.assertEqual([x["seq"] for x in desc], sorted(seqs, reverse=True)[:2])
        fam = self.ok_json(self.T, self.T + "?type=object.*&limit=1000")["events"]
        self.assertTrue(fam and all(x["type"].startswith("object.") for x in fam))
        self.assertEqual(self.ok_json(self.T, self.T + "?port=%d" % C.null)["events"], [],
                         "the null detector's port has no detections, so no events")
        self.assertEqual(self.ok_json(self.T, self.T + "?since=%f" % (time.time() + 60))["events"], [])
        for q in ("limit=0", "limit=1001", "type=object.nope", "type=bogus", "port=x",
                  "after=-1", "since=-5"):
            self.bad(self.T, self.T + "?" + q, 400)


class T99OpenApi(unittest.TestCase):
    """docs/http-api.openapi.yaml: every route of docs/http-api.md, every exercised route."""

    ROUTES = {("get", "/api/v1/status"), ("get", "/api/v1/workers"),
              ("get", "/api/v1/ports/{port}/results"), ("get", "/api/v1/ports/{port}/summary"),
              ("get", "/api/v1/ports/{port}/latest.jpg"),
              ("get", "/api/v1/ports/{port}/live.mjpeg"), ("get", "/api/v1/failures"),
              ("get", "/api/v1/tasks/{task_id}"), ("get", "/api/v1/tasks/{task_id}/frame.jpg"),
              ("post", "/api/v1/images"), ("get", "/api/v1/export"), ("get", "/api/v1/search"),
              ("get", "/api/v1/session"), ("get", "/api/v1/events"), ("get", "/login"),
              ("post", "/login"),
              ("post", "/logout"), ("get", "/"), ("get", "/assets/{path}"), ("get", "/metrics")}

    def test_spec_lists_every_route(self):
        doc = C.spec.doc
        self.assertTrue(doc["openapi"].startswith("3.0"))
        paths = doc["paths"]
        listed = {(m, p) for p, ops in paths.items() for m in ops if m in (
            "get", "post", "put", "delete", "patch")}
        self.assertEqual(listed, self.ROUTES, "the spec's routes = docs/http-api.md's")
        not_run = self.ROUTES - EXERCISED - {("get", "/metrics")}  # tests/api/test_metrics.py
        if len(EXERCISED) > 5:  # a full run, not a -k selection
            self.assertEqual(not_run, set(), "routes no test exercised")
        self.assertEqual(EXERCISED - self.ROUTES - {("get", "/api/v1/nope")}, set(),
                         "exercised routes missing from the spec")
        schemes = doc["components"]["securitySchemes"]
        self.assertEqual((schemes["basic"]["type"], schemes["basic"]["scheme"]), ("http", "basic"))
        self.assertEqual((schemes["cookie"]["in"], schemes["cookie"]["name"]),
                         ("cookie", "fh_session"))
        for name in ("ResultRecord", "FailureRecord", "PortStatus", "WorkerStatus", "Status",
                     "TaskInfo", "SummaryBucket", "Error"):
            self.assertIn(name, doc["components"]["schemas"])
        # every $ref resolves
        def refs(node):
            if isinstance(node, dict):
                for k, v in node.items():
                    if k == "$ref":
                        yield v
                    else:
                        yield from refs(v)
            elif isinstance(node, list):
                for v in node:
                    yield from refs(v)
        for ref in refs(doc):
            C.spec.resolve({"$ref": ref})
        # path parameters are declared
        for p, ops in paths.items():
            for name in re.findall(r"{(\w+)}", p):
                for m, op in ops.items():
                    params = [C.spec.resolve(x) for x in op.get("parameters", [])]
                    self.assertIn(name, [x["name"] for x in params if x["in"] == "path"],
                                  "%s %s declares {%s}" % (m, p, name))



if __name__ == "__main__":
    sys.exit(fhtest.run_tests(sys.modules[__name__], "test_http_api"))
