#!/usr/bin/python3
"""Events (issue #12, docs/events.md) end to end, with real processes on 127.0.0.1.

Usage: test_events.py BIN_DIR SOURCE_DIR [unittest options, e.g. -v or -k config]

Starts, each on a free port: Debian's MQTT broker (/usr/sbin/mosquitto) and a subscriber to
framehive/# (mosquitto_sub, package mosquitto-clients) writing every message to a file; a
webhook receiver (a Python HTTP server in a thread) that checks the HMAC signature of every
POST it gets and can be switched to answer 503 or to close its listening socket;
framehive-master with --events-config (the minimal config of docs/events.md with a rule
"people": persons on the camera port, zone "path" = the bottom half, and a rule "health":
camera.*, worker.*, detector.*; both to the webhook and MQTT), --stall-after 3 and a database
in a temporary directory; framehive-receiver; two hog workers; framehive-sender looping
vtest.avi. Then, in order (each step polls with a deadline, never sleeps for what it awaits):

  1. object events of port P (person tracks) reach the store, the webhook and MQTT;
  2. the webhook answers 503, the master is killed (SIGKILL) while it has undelivered events,
     the broker publishes its will (framehive/available offline), the webhook's socket is
     closed while the master restarts on the same database and config; receiver and workers
     reconnect by themselves; the webhook comes back;
  3. the sender stops and a worker is killed: camera.stalled and worker.dead; both start again:
     camera.recovered and worker.back;
  4. SIGHUP with a rule added (min_duration, cooldown, ignore_stationary, camera settings):
     the log says reloaded and new events match the new rule; SIGHUP with a broken file: the
     master keeps running on the previous config;
  5. every stored event of the rules "people" and "health" arrived at the webhook and on MQTT
     at least once (duplicates are counted), every signature was valid, "people" events are
     person object events of port P, tracks are far fewer than detections;
  6. the API (paging, order, since, type), results' track_id, snapshots as JPEG, summary
     tracks, framehive-ctl events/summary, XML-RPC get_events, the retained MQTT topics.

ParkedLossyUnoffered, with a master, database and config of its own (camera.loss_window 5 s,
tracking.stationary_after 6 s; a rule "parked" = person object.start/stationary of one port, a
rule "alarms" = camera.loss and detector.unavailable, both to a signed webhook), one receiver,
one hog worker and four senders started at once, shows the event types the scenario above
cannot make:

  1. object.stationary: a still clip (one vtest.avi frame with people, written with cv2 as MJPG,
     14 s at 5 fps, looped; --motion off) gives each person one object.start and, 6 s later
     (the config's tracking section; the default is 10), object.stationary (store, webhook,
     framehive-ctl), and no new tracks while they stand;
  2. camera.loss: a UDP forwarder in a thread drops every 16th datagram of a second port
     (9 datagrams a frame); camera.loss names the incomplete ratio, and the receiver's reported
     incomplete frames (/api/v1/status) are > 0 and at most what the forwarder damaged; a
     fourth port loses every 3rd datagram, so none of its frames ever reaches the master:
     camera.loss at 100 % from the receiver's reports alone;
  3. detector.unavailable: a third port's frames go to haar:frontalface (--detector), which no
     worker offers: the event comes after the 10 s grace naming the detector; then a haar worker
     starts and the port's frames get done.

Separately, a master given a config with an unknown key on line 3 exits non-zero naming the
file and line 3. The processes' logs, the MQTT messages, the webhook's requests and a summary
go to the artifacts directory ($FH_ARTIFACTS, else BIN_DIR/../test-artifacts/events).
"""
import atexit
import hmac
import hashlib
import http.server
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "api"))
import fhtest  # noqa: E402  (tests/api/fhtest.py: shared test helpers)
from fhtest import free_port, wait_until  # noqa: E402

BIN = SRC = None
C = None  # the Scratch (temporary directory, artifacts, processes); see scratch()

MOSQUITTO = "/usr/sbin/mosquitto"
MOSQUITTO_SUB = "/usr/bin/mosquitto_sub"
MOSQUITTO_PUB = "/usr/bin/mosquitto_pub"

OBJECT_TYPES = {"object.start", "object.zone_enter", "object.zone_leave", "object.stationary",
                "object.end"}
OTHER_TYPES = {"camera.stalled", "camera.recovered", "camera.loss", "detector.unavailable",
               "detector.fallback", "detector.restored", "worker.dead", "worker.back"}
DELIVERED_RULES = ("people", "health")  # the rules with a webhook and MQTT


def log(msg):
    print("[events %6.1fs] %s" % (time.monotonic() - T0, msg), flush=True)


T0 = time.monotonic()


class Scratch:
    """The temporary directory (databases, configs, secrets), the artifacts directory (logs)
    and the processes started; run_tests() removes .tmp after a success."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="fh-events-test-")
        self.artifacts = os.path.abspath(os.environ.get("FH_ARTIFACTS") or os.path.join(
            BIN, "..", "test-artifacts", "events"))
        os.makedirs(self.artifacts, exist_ok=True)
        for name in os.listdir(self.artifacts):  # logs of an earlier run
            if name.endswith((".log", ".txt", ".json", ".jsonl")):
                os.remove(os.path.join(self.artifacts, name))
        self.procs = fhtest.Procs(self.artifacts)
        atexit.register(self.procs.stop_all)  # also when the test itself dies


def scratch():
    global C
    if C is None:
        C = Scratch()
    return C


# ---------------------------------------------------------------------------------------------
# The MQTT broker and a subscriber

class Mqtt:
    """mosquitto on a free port and mosquitto_sub -q 1 on framehive/# writing one line per
    message, "RETAIN QOS TOPIC HEXPAYLOAD", to mqtt-messages.txt (artifacts)."""

    def __init__(self, procs, tmp, logdir):
        self.port = free_port()
        conf = os.path.join(tmp, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"
                    "log_dest stdout\nconnection_messages true\n" % self.port)
        self.broker = procs.start("mosquitto", [MOSQUITTO, "-c", conf])
        wait_until(lambda: self.connectable(), 10, "mosquitto listening on %d" % self.port)
        self.path = os.path.join(logdir, "mqtt-messages.txt")
        out = open(self.path, "w")
        err = open(os.path.join(logdir, "mosquitto_sub.log"), "w")
        sub = subprocess.Popen([MOSQUITTO_SUB, "-h", "127.0.0.1", "-p", str(self.port), "-q", "1",
                                "-i", "fhtest-sub", "-t", "framehive/#", "-t", "fhtest/probe",
                                "-F", "%r %q %t %x"], stdout=out, stderr=err,
                               stdin=subprocess.DEVNULL)
        out.close()
        err.close()
        procs.procs.append(("mosquitto_sub", sub))
        self.sub = sub

        # Subscribed once a probe published after its start comes back.
        def probe():
            if sub.poll() is not None:
                raise AssertionError("mosquitto_sub exited (%s)" % sub.returncode)
            subprocess.run([MOSQUITTO_PUB, "-h", "127.0.0.1", "-p", str(self.port), "-q", "1",
                            "-t", "fhtest/probe", "-m", "ready"], check=True, timeout=10)
            return any(m[2] == "fhtest/probe" for m in self.messages())
        wait_until(probe, 15, "the subscriber to receive a probe", step=0.3)

    def connectable(self):
        if self.broker.poll() is not None:
            raise AssertionError("mosquitto exited (%s)" % self.broker.returncode)
        with socket.create_connection(("127.0.0.1", self.port), timeout=1):
            return True

    def messages(self):
        """[(retained, qos, topic, payload bytes)] in order of arrival."""
        out = []
        with open(self.path, errors="replace") as f:
            for line in f:
                if not line.endswith("\n"):
                    break  # being written
                parts = line.rstrip("\n").split(" ", 3)
                if len(parts) < 3:
                    continue
                payload = bytes.fromhex(parts[3]) if len(parts) == 4 and parts[3] else b""
                out.append((parts[0] == "1", int(parts[1]), parts[2], payload))
        return out

    def events(self):
        """[(topic, qos, event dict)] of the messages on framehive/<port>/events and
        framehive/events."""
        out = []
        for _, qos, topic, payload in self.messages():
            if topic == "framehive/events" or re.fullmatch(r"framehive/\d+/events", topic):
                try:
                    out.append((topic, qos, json.loads(payload)))
                except ValueError:
                    raise AssertionError("MQTT %s: not JSON: %r" % (topic, payload[:200]))
        return out

    def retained(self, topics, timeout=15):
        """{topic: payload} of the retained messages a new subscriber gets on these topics."""
        args = [MOSQUITTO_SUB, "-h", "127.0.0.1", "-p", str(self.port), "--retained-only",
                "-C", str(len(topics)), "-W", str(timeout), "-F", "%r %t %x"]
        for t in topics:
            args += ["-t", t]
        r = subprocess.run(args, capture_output=True, text=True, timeout=timeout + 5)
        got = {}
        for line in r.stdout.splitlines():
            parts = line.split(" ", 2)
            if len(parts) >= 2 and parts[0] == "1":
                got[parts[1]] = bytes.fromhex(parts[2]) if len(parts) == 3 else b""
        return got


# ---------------------------------------------------------------------------------------------
# The webhook receiver

class Webhook:
    """An HTTP server on a free port in a thread. Every POST's signature is checked
    (X-Framehive-Signature: sha256=HMAC-SHA256(secret, body), hmac.compare_digest) and its
    headers against its body; problems are collected in .problems (each one fails the test).
    mode "up" answers 200, "503" answers 503; close() closes the listening socket, open()
    listens again on the same port."""

    def __init__(self, secret, logpath):
        self.secret = secret.encode()
        self.port = free_port()
        self.lock = threading.Lock()  # guards mode, posts, problems
        self.mode = "up"
        self.posts = []      # {"t", "id", "type", "status", "body"}
        self.problems = []
        self.log = open(logpath, "w", buffering=1)
        self.server = None
        self.thread = None
        self.open()

    def handler(self):
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, fmt, *args):
                hook.log.write("%.3f %s\n" % (time.time(), fmt % args))

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                status = hook.receive(self.path, self.headers, body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler

    def receive(self, path, headers, body):
        problems = []
        want = "sha256=" + hmac.new(self.secret, body, hashlib.sha256).hexdigest()
        sig = headers.get("X-Framehive-Signature") or ""
        if not hmac.compare_digest(sig.encode(), want.encode()):
            problems.append("bad signature %r (expected %s) on %r" % (sig, want, body[:200]))
        if path != "/hook":
            problems.append("POST to %s, not /hook" % path)
        ctype = headers.get("Content-Type") or ""
        if not ctype.startswith("application/json"):
            problems.append("Content-Type %r" % ctype)
        try:
            event = json.loads(body)
        except ValueError:
            event = {}
            problems.append("body not JSON: %r" % body[:200])
        if event.get("id") != headers.get("X-Framehive-Event-Id"):
            problems.append("X-Framehive-Event-Id %r, body id %r" % (
                headers.get("X-Framehive-Event-Id"), event.get("id")))
        if event.get("type") != headers.get("X-Framehive-Event-Type"):
            problems.append("X-Framehive-Event-Type %r, body type %r" % (
                headers.get("X-Framehive-Event-Type"), event.get("type")))
        with self.lock:
            status = 400 if problems else (200 if self.mode == "up" else 503)
            self.problems += problems
            self.posts.append({"t": time.time(), "id": event.get("id"),
                               "type": event.get("type"), "status": status, "body": event})
        self.log.write("%.3f POST %s %s -> %d%s\n" % (time.time(), event.get("type"),
                                                       event.get("id"), status,
                                                       " PROBLEM" if problems else ""))
        return status

    def open(self):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), self.handler())
        server.daemon_threads = True
        self.server = server
        self.thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()
        self.log.write("%.3f listening on %d\n" % (time.time(), self.port))

    def close(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(10)
            self.server = None
            self.log.write("%.3f closed the listening socket\n" % time.time())

    def set_mode(self, mode):
        with self.lock:
            self.mode = mode
        self.log.write("%.3f mode %s\n" % (time.time(), mode))

    def snapshot(self):
        with self.lock:
            return list(self.posts), list(self.problems)

    def url(self):
        return "http://127.0.0.1:%d/hook" % self.port


# ---------------------------------------------------------------------------------------------
# Checks of one event

def check_event(e, where, api=False):
    """The fields of docs/events.md for e's type (AssertionError naming where and what)."""
    def fail(what):
        raise AssertionError("%s: %s in %s" % (where, what, json.dumps(e)[:600]))
    for k in ("id", "type", "time", "port", "stream", "rules"):
        if k not in e:
            fail("no %r" % k)
    if not isinstance(e["id"], str) or not e["id"]:
        fail("id is not a non-empty string")
    if e["type"] not in OBJECT_TYPES | OTHER_TYPES:
        fail("unknown type %r" % e["type"])
    if not isinstance(e["time"], (int, float)) or abs(e["time"] - time.time()) > 3600:
        fail("time %r is not a recent Unix time" % e["time"])
    if not isinstance(e["port"], int) or not 0 <= e["port"] <= 65535:
        fail("port %r" % e["port"])
    if not isinstance(e["rules"], list) or not all(isinstance(r, str) for r in e["rules"]):
        fail("rules is not a list of names")
    if api and (not isinstance(e.get("seq"), int) or e["seq"] <= 0):
        fail("an API item without a positive seq")
    if e["type"] in OBJECT_TYPES:
        if not isinstance(e.get("track_id"), int) or e["track_id"] <= 0:
            fail("an object event without a positive track_id")
        if not isinstance(e.get("label"), str) or not e["label"]:
            fail("no label")
        if not isinstance(e.get("confidence"), (int, float)) or not 0 <= e["confidence"] <= 1:
            fail("confidence not in 0..1")
        box = e.get("box")
        if not isinstance(box, dict) or set(box) != {"x", "y", "w", "h"} or \
                box["w"] <= 0 or box["h"] <= 0:
            fail("box is not {x, y, w, h} with w, h > 0")
        if not isinstance(e.get("start"), (int, float)) or e["start"] > e["time"] + 0.001:
            fail("start is not a time at or before the event's")
        if "end" not in e:
            fail("no end")
        if e["type"] == "object.end" and e["end"] < e["start"]:
            fail("object.end with end before start")
        if not isinstance(e.get("snapshot_task_id"), str) or not e["snapshot_task_id"]:
            fail("no snapshot_task_id")
        if e["type"] in ("object.zone_enter", "object.zone_leave") and not e.get("zone"):
            fail("a zone event without its zone")
    elif not isinstance(e.get("detail"), str):
        fail("a %s event without a detail string" % e["type"])


SPEC = None


def check_schema(e, where):
    """e against the Event schema of docs/http-api.openapi.yaml (objects closed: an undocumented
    member fails), with the validator of tests/api/test_http_api.py."""
    global SPEC
    if SPEC is None:
        from test_http_api import Spec  # tests/api, on sys.path
        SPEC = Spec(os.path.join(SRC, "docs", "http-api.openapi.yaml"))
    SPEC.check(e, SPEC.schema("Event"), where)


def mqtt_topic_of(e):
    return "framehive/%d/events" % e["port"] if e["port"] else "framehive/events"


# ---------------------------------------------------------------------------------------------
# Reading the store

class MasterStore:
    """The master's event store and the webhook, for a TestCase with .http (fhtest.Http),
    .hook (Webhook) and .alive() (AssertionError when one of its processes exited)."""

    def events(self, **query):
        """Every stored event matching query, oldest first, through all pages (limit 1000,
        after=)."""
        out = []
        after = 0
        while True:
            q = dict(query, after=after, limit=1000, order="asc")
            j = self.http.get_json("/api/v1/events?" + urllib.parse.urlencode(q))
            page = j["events"]
            if not page:
                return out
            for e in page:
                check_event(e, "GET /api/v1/events", api=True)
                check_schema(e, "GET /api/v1/events: %s" % e["id"])
            seqs = [e["seq"] for e in page]
            self.assertEqual(seqs, sorted(set(seqs)), "order=asc: seq increasing")
            self.assertGreater(seqs[0], after, "after=%d returned seq %d" % (after, seqs[0]))
            self.assertEqual(j["after"], seqs[-1], "the page's after is its last seq")
            out += page
            after = j["after"]

    def last_seq(self):
        page = self.http.get_json("/api/v1/events?order=desc&limit=1")["events"]
        return page[0]["seq"] if page else 0

    def wait_event(self, what, timeout, pred, **query):
        """The first stored event matching query and pred (polled)."""
        def find():
            self.alive()
            return next((e for e in self.events(**query) if pred(e)), None)
        e = wait_until(find, timeout, what, step=0.5)
        log("%s: %s seq %d %s" % (what, e["type"], e["seq"], e.get("detail") or
                                  "track %s" % e.get("track_id")))
        return e

    def posts(self):
        """What the webhook received so far; AssertionError as soon as one request was wrong
        (a bad signature, headers that do not match the body)."""
        posts, problems = self.hook.snapshot()
        if problems:
            raise AssertionError("the webhook got %d bad request(s): %s" % (
                len(problems), "; ".join(problems[:3])))
        return posts


# ---------------------------------------------------------------------------------------------
# The scenario

class EventsEndToEnd(MasterStore, unittest.TestCase):
    """One pipeline, the steps in order (test_1 ... test_7); a step is skipped when an earlier
    one failed."""

    done = set()
    numbers = {}  # for the summary

    @classmethod
    def setUpClass(cls):
        s = scratch()
        cls.s = s
        cls.procs = s.procs
        cls.current = {}  # name -> Popen of the processes that should be running now
        try:
            cls.start_all()
        except BaseException:
            cls.procs.stop_all()
            print("logs in %s" % s.artifacts, file=sys.stderr)
            raise

    @classmethod
    def start_all(cls):
        s = cls.s
        for exe in (MOSQUITTO, MOSQUITTO_SUB, MOSQUITTO_PUB, fhtest.VTEST):
            if not os.path.exists(exe):
                raise AssertionError("%s is missing (scripts/install-deps.sh installs it)" % exe)
        cls.secret = secrets.token_hex(16)
        cls.secret_file = os.path.join(s.tmp, "secret")
        fhtest.write_secret(cls.secret_file, cls.secret)
        cls.hook_secret = secrets.token_hex(20)
        fhtest.write_secret(os.path.join(s.tmp, "hook.secret"), cls.hook_secret)

        cls.mqtt = Mqtt(cls.procs, s.tmp, s.artifacts)
        cls.current.update({"mosquitto": cls.mqtt.broker, "mosquitto_sub": cls.mqtt.sub})
        cls.hook = Webhook(cls.hook_secret, os.path.join(s.artifacts, "webhook.log"))
        cls.cam = free_port(socket.SOCK_DGRAM)
        cls.mport = free_port()
        cls.url = "http://127.0.0.1:%d/RPC2" % cls.mport
        cls.http = fhtest.Http(cls.mport, cls.secret)
        cls.config = os.path.join(s.tmp, "events.json")
        cls.write_config(cls.config_doc())
        cls.db = os.path.join(s.tmp, "master.db")
        cls.masters = 0
        cls.t_start = time.time()
        cls.start_master()
        for w in ("a", "b"):
            cls.start_worker(w)
        cls.spawn("receiver", [BIN + "/framehive-receiver", "--bind", "127.0.0.1", "--ports",
                               str(cls.cam), "--master", cls.url, "--auth-file", cls.secret_file,
                               "--stats-interval", "0", "--report-interval", "1"])
        wait_until(lambda: cls.workers_alive() >= 2, 30, "both hog workers registered")
        cls.senders = 0
        cls.start_sender()

    # -- processes ------------------------------------------------------------------------

    @classmethod
    def spawn(cls, name, args):
        p = cls.procs.start(name, args)
        cls.current[name.split("#")[0]] = p
        log("started %s (pid %d)" % (name, p.pid))
        return p

    @classmethod
    def alive(cls):
        for name, p in cls.current.items():
            if p.poll() is not None:
                raise AssertionError("%s (pid %d) exited with status %s; its log ends:\n%s" % (
                    name, p.pid, p.returncode, cls.procs.tail(cls.logname(p))))

    @classmethod
    def logname(cls, proc):
        return next(n for n, p in cls.procs.procs if p is proc)

    @classmethod
    def config_doc(cls, extra_rules=(), extra=None):
        """The minimal config of docs/events.md (ports and URLs of this run) and the rule
        "health", with extra rules and top-level keys."""
        doc = {"mqtt": {"host": "127.0.0.1", "port": cls.mqtt.port},
               "zones": {str(cls.cam): [{"name": "path",
                                         "polygon": [[0, 0.5], [1, 0.5], [1, 1], [0, 1]]}]},
               "rules": [{"name": "people", "ports": [cls.cam], "labels": ["person"],
                          "min_confidence": 0.5,
                          "webhooks": [{"url": cls.hook.url(), "secret_file": "hook.secret"}],
                          "mqtt": True},
                         {"name": "health", "types": ["camera.*", "worker.*", "detector.*"],
                          "webhooks": [{"url": cls.hook.url(), "secret_file": "hook.secret"}],
                          "mqtt": True}] + list(extra_rules),
               # retries within the test's time: 0.2 s, 0.4 s, ... at most 2 s apart
               "delivery": {"backoff_initial": 0.2, "backoff_max": 2}}
        doc.update(extra or {})
        return doc

    @classmethod
    def write_config(cls, doc_or_text):
        text = doc_or_text if isinstance(doc_or_text, str) else json.dumps(doc_or_text, indent=1)
        tmp = cls.config + ".new"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, cls.config)  # the master never reads half a file

    @classmethod
    def start_master(cls):
        cls.masters += 1
        p = cls.spawn("master#%d" % cls.masters if cls.masters > 1 else "master", [
            BIN + "/framehive-master", "--port", str(cls.mport), "--db", cls.db,
            "--auth-file", cls.secret_file, "--events-config", cls.config,
            "--stall-after", "3", "--heartbeat-interval", "1", "--detector", "%d=hog" % cls.cam,
            "--stats-interval", "5"])
        cls.master = p

        def up():
            if p.poll() is not None:
                raise AssertionError("the master exited (%s):\n%s" % (
                    p.returncode, cls.procs.tail(cls.logname(p))))
            return cls.http.get("/api/v1/status").status == 200
        wait_until(up, 30, "the master answering /api/v1/status")
        return p

    @classmethod
    def start_worker(cls, w, generation=1):
        name = "worker-%s" % w + ("#%d" % generation if generation > 1 else "")
        return cls.spawn(name, [BIN + "/framehive-worker", "--master", cls.url, "--detector",
                                "hog", "--id", "e2e-hog-" + w, "--auth-file", cls.secret_file])

    @classmethod
    def start_sender(cls):
        cls.senders += 1
        # 5 fps of 768x576 frames: hog takes about 0.1 s a frame on one core, so the two
        # workers keep up on a loaded 2-core machine; people move a few pixels a frame.
        cls.sender = cls.spawn("sender#%d" % cls.senders if cls.senders > 1 else "sender", [
            BIN + "/framehive-sender", "--source", fhtest.VTEST, "--receiver", "127.0.0.1",
            "--port", str(cls.cam), "--stream", "plaza", "--fps", "5", "--loop",
            "--stats-interval", "0", "--motion", "off"])

    @classmethod
    def workers_alive(cls):
        return sum(1 for w in cls.http.get_json("/api/v1/workers")["workers"] if w["alive"])

    # -- step bookkeeping -----------------------------------------------------------------------

    def setUp(self):
        me = self._testMethodName
        earlier = [n for n in sorted(dir(self)) if n.startswith("test_") and n < me]
        missing = [n for n in earlier if n not in EventsEndToEnd.done]
        if missing:
            self.skipTest("an earlier step failed: %s" % ", ".join(missing))
        self.alive()

    def passed(self):
        EventsEndToEnd.done.add(self._testMethodName)

    # -- the steps --------------------------------------------------------------------------

    def test_1_object_events(self):
        """Person tracks of the camera port reach the store, the webhook and MQTT."""
        e = self.wait_event("a person's object.start on port %d" % self.cam, 60,
                            lambda e: e["label"] == "person" and "people" in e["rules"],
                            port=self.cam, type="object.start")
        self.assertEqual(e["stream"], "plaza")
        wait_until(lambda: any(p["id"] == e["id"] and p["status"] == 200
                               for p in self.posts()), 30,
                   "object.start %s at the webhook" % e["id"], step=0.2)
        wait_until(lambda: any(m[2]["id"] == e["id"] for m in self.mqtt.events()), 30,
                   "object.start %s on MQTT" % e["id"], step=0.2)
        online = [m for m in self.mqtt.messages() if m[2] == "framehive/available"]
        self.assertTrue(online and online[-1][3] == b"online",
                        "framehive/available says online: %s" % online)
        self.passed()

    def test_2_webhook_down_master_killed(self):
        """503s, then kill -9 with undelivered events, the will, a closed socket while the
        master restarts on the same database; everything is delivered later (step 5)."""
        cls = type(self)
        self.hook.set_mode("503")
        t_down = time.monotonic()
        posts_before = len(self.hook.snapshot()[0])

        def undelivered():
            """People events refused by the webhook (503) and not delivered since, once the
            webhook has been down for 5 s."""
            self.alive()
            posts = self.hook.snapshot()[0]
            ok = {p["id"] for p in posts if p["status"] == 200}
            refused = {p["id"] for p in posts[posts_before:] if p["status"] == 503}
            ids = [e["id"] for e in self.events() if "people" in e["rules"]
                   and e["id"] in refused and e["id"] not in ok]
            return time.monotonic() - t_down >= 5 and ids
        undelivered = wait_until(undelivered, 60, "a people event refused (503) by the webhook",
                                 step=0.3)
        n503 = sum(1 for p in self.hook.snapshot()[0][posts_before:] if p["status"] == 503)
        seq_before = self.last_seq()
        mqtt_mark = len(self.mqtt.messages())
        log("webhook down for %.1f s, %d refused; killing the master (pid %d) with %d "
            "undelivered people events, last seq %d" % (time.monotonic() - t_down, n503,
                                                        self.master.pid, len(undelivered),
                                                        seq_before))
        cls.numbers["undelivered_at_kill"] = len(undelivered)
        cls.seq_at_kill = seq_before
        self.master.kill()
        self.master.wait()
        del cls.current["master"]

        def will():
            return [m for m in self.mqtt.messages()[mqtt_mark:]
                    if m[2] == "framehive/available" and m[3] == b"offline"]
        wait_until(will, 30, "the broker to publish the master's will (framehive/available "
                   "offline)", step=0.2)
        log("the broker published framehive/available offline (the will)")

        self.hook.close()
        t_closed = time.monotonic()
        cls.start_master()
        log("the master restarted (pid %d) on the same database" % self.master.pid)
        wait_until(lambda: [m for m in self.mqtt.messages()[mqtt_mark:]
                            if m[2] == "framehive/available" and m[3] == b"online"], 30,
                   "framehive/available online again", step=0.2)
        self.assertGreaterEqual(self.last_seq(), seq_before, "the store kept its events")
        t_restart = time.time()
        wait_until(lambda: self.workers_alive() >= 2, 30, "both workers back with the new master")

        def new_results():
            self.alive()
            rs = self.http.get_json("/api/v1/ports/%d/results?limit=5" % self.cam)["results"]
            return [r for r in rs if r["completed_at"] > t_restart]
        wait_until(new_results, 45, "results from the receiver and workers after the restart",
                   step=0.5)
        # Downtime on purpose: the socket stays closed (connections refused) for at least 5 s.
        time.sleep(max(0.0, 5 - (time.monotonic() - t_closed)))
        self.hook.set_mode("up")
        self.hook.open()
        cls.numbers["webhook_down_s"] = round(time.monotonic() - t_down, 1)
        log("webhook up again after %.1f s down (503, then closed)" % cls.numbers[
            "webhook_down_s"])
        self.passed()

    def test_3_camera_and_worker_health(self):
        """The sender stops and a worker dies: camera.stalled, worker.dead; both come back:
        camera.recovered, worker.back."""
        cls = type(self)
        mark = self.last_seq()
        self.sender.send_signal(signal.SIGTERM)
        self.sender.wait(15)
        del cls.current["sender"]
        victim = cls.current.pop("worker-b")
        victim.kill()
        victim.wait()
        log("stopped the sender, killed worker-b (pid %d)" % victim.pid)
        stalled = self.wait_event("camera.stalled of port %d" % self.cam, 30,
                                  lambda e: e["seq"] > mark, port=self.cam, type="camera.stalled")
        self.assertIn("health", stalled["rules"])
        dead = self.wait_event("worker.dead of e2e-hog-b", 30,
                               lambda e: e["seq"] > mark and "e2e-hog-b" in e["detail"],
                               type="worker.dead")
        self.assertEqual(dead["port"], 0, "a worker event belongs to no camera")
        self.assertIn("health", dead["rules"])
        cls.start_sender()
        cls.start_worker("b", 2)
        recovered = self.wait_event("camera.recovered of port %d" % self.cam, 30,
                                    lambda e: e["seq"] > stalled["seq"], port=self.cam,
                                    type="camera.recovered")
        back = self.wait_event("worker.back of e2e-hog-b", 30,
                               lambda e: e["seq"] > dead["seq"] and "e2e-hog-b" in e["detail"],
                               type="worker.back")
        self.assertIn("health", recovered["rules"])
        self.assertIn("health", back["rules"])
        cls.numbers["health"] = {"stalled": stalled["id"], "recovered": recovered["id"]}
        self.passed()

    def test_4_sighup_reload(self):
        """SIGHUP reloads a changed config; a broken one leaves the master on the old one."""
        cls = type(self)
        late = {"name": "late", "ports": [self.cam], "labels": ["person"],
                "types": ["object.start"], "min_confidence": 0.5, "min_duration": 0.5,
                "cooldown": 0, "ignore_stationary": True, "mqtt": True}
        cls.write_config(cls.config_doc([late], {"camera": {"loss_threshold": 0.5,
                                                            "loss_window": 30}}))
        logname = self.logname(self.master)
        logpath = os.path.join(self.s.artifacts, logname + ".log")
        mark_log = os.path.getsize(logpath)
        mark = self.last_seq()
        self.master.send_signal(signal.SIGHUP)

        def log_since(mark_bytes):
            with open(logpath, errors="replace") as f:
                f.seek(mark_bytes)
                return f.read()
        wait_until(lambda: self.alive() or re.search(r"reloaded " + re.escape(self.config),
                                                     log_since(mark_log)), 15,
                   "the master's log to say it reloaded %s" % self.config, step=0.2)
        self.wait_event("an object.start of the rule added by SIGHUP (late)", 90,
                        lambda e: e["seq"] > mark and "late" in e["rules"], port=self.cam,
                        type="object.start")

        # A broken file: an error naming the file and line, the master goes on as before.
        broken = json.dumps(cls.config_doc([late]), indent=1).replace('"min_duration"',
                                                                     '"min_durationn"', 1)
        bad_line = next(i + 1 for i, line in enumerate(broken.splitlines())
                        if "min_durationn" in line)
        cls.write_config(broken)
        mark_log = os.path.getsize(logpath)
        mark = self.last_seq()
        self.master.send_signal(signal.SIGHUP)
        found = wait_until(lambda: self.alive() or re.search(
            re.escape(self.config) + r":(\d+): .*", log_since(mark_log)), 15,
            "the master's log to name the broken %s and a line" % self.config, step=0.2)
        text = found.group(0)
        self.assertEqual(int(found.group(1)), bad_line, "the line of the error: %s" % text)
        self.assertIn("min_durationn", text, "the error names the unknown key")
        log("broken config on SIGHUP: %s" % text.strip())
        self.wait_event("an object.start of rule late after the broken SIGHUP", 90,
                        lambda e: e["seq"] > mark and "late" in e["rules"], port=self.cam,
                        type="object.start")
        self.alive()
        self.passed()

    def test_5_delivered_at_least_once(self):
        """Every stored event of the rules people and health reached the webhook and MQTT."""
        cls = type(self)

        def missing():
            self.alive()
            stored = [e for e in self.events() if set(e["rules"]) & set(DELIVERED_RULES)]
            posts = self.posts()
            hooked = {p["id"] for p in posts if p["status"] == 200}
            mq = {m[2]["id"] for m in self.mqtt.events()}
            gaps = {"webhook": [e["id"] for e in stored if e["id"] not in hooked],
                    "mqtt": [e["id"] for e in stored if e["id"] not in mq]}
            cls.missing_last = gaps
            return None if gaps["webhook"] or gaps["mqtt"] else stored
        try:
            stored = wait_until(missing, 60, "every people/health event at the webhook and on "
                                "MQTT", step=1)
        except AssertionError:
            gaps = cls.missing_last
            raise AssertionError("not delivered after 60 s: %d to the webhook (%s), %d on MQTT "
                                 "(%s)" % (len(gaps["webhook"]), gaps["webhook"][:10],
                                           len(gaps["mqtt"]), gaps["mqtt"][:10]))
        posts, problems = self.hook.snapshot()
        self.assertEqual(problems, [], "every webhook request is signed and well-formed")
        mqtt_events = self.mqtt.events()
        by_id = {e["id"]: e for e in self.events()}  # after what arrived: a superset
        # What arrived is what was stored.
        for p in posts:
            e = by_id.get(p["id"])
            self.assertIsNotNone(e, "the webhook got %s, which is not stored" % p["id"])
            check_event(p["body"], "webhook body")
            check_schema(p["body"], "webhook body %s" % p["id"])
            for k in ("type", "port", "track_id", "label", "zone"):
                self.assertEqual(p["body"].get(k), e.get(k), "webhook %s: %s" % (p["id"], k))
        for topic, qos, m in mqtt_events:
            e = by_id.get(m["id"])
            self.assertIsNotNone(e, "MQTT brought %s, which is not stored" % m["id"])
            check_event(m, "MQTT " + topic)
            check_schema(m, "MQTT %s %s" % (topic, m["id"]))
            self.assertEqual(topic, mqtt_topic_of(e), "the topic of %s %s" % (e["type"], e["id"]))
            self.assertEqual(qos, 1, "events are published with QoS 1")
            self.assertEqual(m["type"], e["type"])
        # What the rules select.
        for e in stored:
            if "people" in e["rules"]:
                self.assertTrue(e["type"] in OBJECT_TYPES and e["label"] == "person"
                                and e["port"] == self.cam and e["confidence"] >= 0.5,
                                "a people event that is not a person's object event of port "
                                "%d: %s" % (self.cam, e))
            if "health" in e["rules"]:
                self.assertTrue(e["type"].split(".")[0] in ("camera", "worker", "detector"),
                                "a health event of type %s" % e["type"])
        types = {}
        for e in by_id.values():
            types[e["type"]] = types.get(e["type"], 0) + 1
        ok_posts = [p["id"] for p in posts if p["status"] == 200]
        mq_ids = [m["id"] for _, _, m in mqtt_events]
        cls.numbers.update({
            "events": len(by_id), "events_by_type": types, "delivered_events": len(stored),
            "webhook_posts": len(posts), "webhook_2xx": len(ok_posts),
            "webhook_refused": sum(1 for p in posts if p["status"] == 503),
            "webhook_duplicates": len(ok_posts) - len(set(ok_posts)),
            "mqtt_messages": len(mq_ids), "mqtt_duplicates": len(mq_ids) - len(set(mq_ids))})
        zone = [e for e in by_id.values() if e["type"] == "object.zone_enter"]
        self.assertTrue(any(e["zone"] == "path" for e in zone), "a zone_enter of zone path")

        # The story of each track: object.start first, a zone left only after it was entered
        # and before the end, nothing after object.end, whose end is its last sighting; every
        # track open when the master was killed ended (and left its zones) when it started
        # again.
        first = {}
        last_seen = {}
        ended_by = {}
        inside = set()
        for e in sorted(by_id.values(), key=lambda e: e["seq"]):
            if e["type"] not in OBJECT_TYPES:
                continue
            t = e["track_id"]
            if e["type"] == "object.start":
                self.assertNotIn(t, first, "a second object.start of track %d" % t)
                first[t] = e
            else:
                self.assertIn(t, first, "%s of track %d before its object.start" % (e["type"], t))
            self.assertNotIn(t, ended_by, "%s of track %d after its object.end %s" % (
                e["type"], t, ended_by.get(t)))
            if e["type"] == "object.end":
                self.assertGreaterEqual(e["end"], last_seen[t] - 0.001,
                                        "object.end of track %d: end %.3f before a sighting at "
                                        "%.3f (%s)" % (t, e["end"], last_seen[t], e))
                ended_by[t] = e["id"]
            last_seen[t] = max(last_seen.get(t, 0), e["time"])
            if e["type"] == "object.zone_enter":
                inside.add((t, e["zone"]))
            if e["type"] == "object.zone_leave":
                self.assertIn((t, e["zone"]), inside, "zone_leave %s without its zone_enter" % e)
                inside.discard((t, e["zone"]))
            if e["type"] == "object.end":  # it left every zone it was in before it ended
                self.assertEqual({z for (u, z) in inside if u == t}, set(),
                                 "track %d ended inside a zone it never left" % t)
        ended = {e["track_id"] for e in by_id.values() if e["type"] == "object.end"}
        before_kill = {t for t, e in first.items() if e["seq"] <= cls.seq_at_kill}
        self.assertTrue(before_kill, "tracks started before the kill -9")
        self.assertEqual(before_kill - ended, set(),
                         "tracks of the killed master without object.end")
        self.passed()

    def test_6_tracks_api_cli(self):
        """Tracks vs detections, results' track_id, snapshots, summary, paging, ctl, XML-RPC."""
        cls = type(self)
        stored = self.events()
        starts = [e for e in stored if e["type"] == "object.start" and e["port"] == self.cam
                  and e["label"] == "person"]
        tracks = {e["track_id"] for e in starts}
        self.assertEqual(len(tracks), len(starts), "one object.start per track")
        since = int(cls.t_start) - 1
        summary = self.http.get_json("/api/v1/ports/%d/summary?interval=10&since=%d" % (
            self.cam, since))
        detections = sum(b["labels"].get("person", 0) for b in summary["buckets"])
        frames = sum(b["frames"] for b in summary["buckets"])
        self.assertTrue(all("tracks" in b for b in summary["buckets"]), "buckets have tracks")
        bucket_tracks = max((b["tracks"].get("person", 0) for b in summary["buckets"]),
                            default=0)
        cls.numbers.update({"tracks": len(tracks), "detections": detections, "frames": frames,
                            "max_tracks_per_10s": bucket_tracks})
        log("person tracks %d, person detections %d in %d frames" % (len(tracks), detections,
                                                                       frames))
        self.assertGreaterEqual(len(tracks), 2, "vtest.avi shows a dozen people")
        self.assertLessEqual(len(tracks) * 5, detections, "tracks follow people over frames")
        self.assertGreater(bucket_tracks, 0, "summary buckets count tracks")

        # Results carry track ids, of tracks the store knows.
        def tracked_results():
            rs = self.http.get_json("/api/v1/ports/%d/results?limit=100" % self.cam)["results"]
            ids = {d["track_id"] for r in rs for d in r["detections"] if d.get("track_id")}
            known = {e["track_id"] for e in self.events(port=self.cam, type="object.start")}
            return ids and ids <= known and ids
        wait_until(tracked_results, 20, "results with track_id, each of a stored track")

        # Snapshots: the first, a middle and the last object event (before and after the
        # master's restart).
        objects = [e for e in stored if e["type"] in OBJECT_TYPES]
        self.assertEqual([e["id"] for e in objects if not e["snapshot_kept"]], [],
                         "object events whose snapshot is not kept (retention: 7 days)")
        for e in (objects[0], objects[len(objects) // 2], objects[-1]):
            r = self.http.get("/api/v1/tasks/%s/frame.jpg" % urllib.parse.quote(
                e["snapshot_task_id"]))
            self.assertEqual(r.status, 200, "snapshot of %s %s (task %s): %r" % (
                e["type"], e["id"], e["snapshot_task_id"], r))
            self.assertEqual(r.body[:2], b"\xff\xd8", "a JPEG")

        # The API's query parameters.
        # (Events keep coming: compare with the store up to the newest one the page saw.)
        newest = self.http.get_json("/api/v1/events?order=desc&limit=5")["events"]
        upto = [e["id"] for e in self.events() if e["seq"] <= newest[0]["seq"]]
        self.assertEqual([e["id"] for e in newest], upto[::-1][:5],
                         "order=desc&limit=5: the newest five, newest first")
        mid = stored[len(stored) // 2]["time"]
        recent = self.events(since="%.6f" % mid)
        self.assertTrue(recent and all(e["time"] >= mid for e in recent), "since=")
        stalls = self.events(port=self.cam, type="camera.stalled")
        self.assertTrue(stalls and all(e["type"] == "camera.stalled" for e in stalls), "type=")
        r = self.http.get("/api/v1/events?limit=1001")
        self.assertEqual(r.status, 400, "limit above 1000: %r" % r)

        # XML-RPC get_events(port, since, limit [, after]).
        rpc = self.http.rpc()
        items = rpc.get_events(self.cam, float(int(cls.t_start) - 1), 1000, 0)
        self.assertIsInstance(items, list, "get_events returns array<Event>")
        want = [e["id"] for e in stored if e["port"] == self.cam][:1000]
        self.assertEqual([e["id"] for e in items][:len(want)], want,
                         "get_events(port, since, 1000, 0): oldest first, from the first")
        self.assertTrue(all(e["port"] == self.cam for e in items), "get_events: the port's")
        after = stored[len(stored) // 2]["seq"]
        self.assertEqual([e["id"] for e in rpc.get_events(-1, 0.0, 3, after)],
                         [e["id"] for e in stored if e["seq"] > after][:3],
                         "get_events(-1, 0, 3, after)")
        rpc("close")()

        # framehive-ctl events and summary.
        ctl = [BIN + "/framehive-ctl", "--master", self.url, "--auth-file", self.secret_file]
        out = open(os.path.join(self.s.artifacts, "framehive-ctl.txt"), "w")
        self.addCleanup(out.close)

        def run_ctl(*args):
            r = subprocess.run(ctl + list(args), capture_output=True, text=True, timeout=30)
            out.write("$ framehive-ctl %s\n%s%s(exit %d)\n\n" % (" ".join(args), r.stdout,
                                                                r.stderr, r.returncode))
            return r
        r = run_ctl("events", "--port", str(self.cam), "--limit", "5")
        self.assertEqual(r.returncode, 0, "framehive-ctl events: %s" % r.stderr)
        lines = [ln for ln in r.stdout.splitlines()
                 if re.search(r"\b(object|camera)\.[a-z_]+\b", ln)]
        self.assertEqual(len(lines), 5, "framehive-ctl events --limit 5 (the port has %d "
                         "events) printed:\n%s" % (len(stored), r.stdout))
        r = run_ctl("events", "--json", "--type", "camera.*", "--since", "1h")
        self.assertEqual(r.returncode, 0, "framehive-ctl events --json: %s" % r.stderr)
        printed = [json.loads(ln) for ln in r.stdout.splitlines() if ln.strip()]
        self.assertTrue(printed and all(e["type"].startswith("camera.") for e in printed),
                        "--type camera.*: %s" % r.stdout[:500])
        self.assertLessEqual(set(cls.numbers["health"].values()), {e["id"] for e in printed},
                             "the stalled and recovered events in framehive-ctl's output")
        r = run_ctl("summary", "--port", str(self.cam), "--since", "10m")
        self.assertEqual(r.returncode, 0, "framehive-ctl summary: %s" % r.stderr)
        self.assertRegex(r.stdout, r"\(\d+ objects?\)", "framehive-ctl summary shows objects")

        # --follow prints the events made after it started (the sender still loops vtest.avi).
        newest = max(e["seq"] for e in self.events())
        path = os.path.join(self.s.artifacts, "framehive-ctl-follow.jsonl")
        with open(path, "w") as sink:
            follow = subprocess.Popen(ctl + ["events", "--follow", "--json", "--port",
                                             str(self.cam), "--limit", "1"],
                                      stdout=sink, stderr=subprocess.STDOUT)
        try:
            def followed():
                with open(path) as f:
                    got = [json.loads(ln) for ln in f if ln.startswith("{")]
                return [e for e in got if e["seq"] > newest] or None
            fresh = wait_until(followed, 60, "framehive-ctl events --follow to print a new event")
            self.assertTrue(all(e["port"] == self.cam for e in fresh))
            self.assertIsNone(follow.poll(), "--follow keeps running")
        finally:
            follow.kill()
            follow.wait()
        self.passed()

    def test_7_retained_topics(self):
        """A new subscriber gets the retained counts and availability."""
        topics = ["framehive/%d/person" % self.cam, "framehive/available"]
        got = self.mqtt.retained(topics)
        self.assertEqual(set(got), set(topics), "retained topics: %s" % got)
        self.assertRegex(got[topics[0]].decode(), r"^\d+$", "a decimal count")
        self.assertEqual(got["framehive/available"], b"online")
        counts = [m for m in self.mqtt.messages() if m[2] == topics[0]]
        self.assertTrue(counts, "count updates on %s" % topics[0])
        type(self).numbers["count_updates"] = len(counts)
        self.passed()

    @classmethod
    def tearDownClass(cls):
        cls.procs.stop_all()  # newest first: the master before the broker and subscriber
        if hasattr(cls, "hook"):
            cls.hook.close()
        bad = [(name, p.returncode) for name, p in cls.procs.procs
               if p in cls.current.values() and p.returncode != 0]
        cls.write_summary()
        if bad:
            raise AssertionError("not a clean stop (SIGTERM, exit 0): %s" % bad)
        if cls.done:
            available = [m[3] for m in cls.mqtt.messages() if m[2] == "framehive/available"]
            if available[-1:] != [b"offline"]:
                raise AssertionError("the master stopped cleanly, but framehive/available "
                                     "ended %s, not offline" % available[-3:])

    @classmethod
    def write_summary(cls):
        n = cls.numbers
        with open(os.path.join(cls.s.artifacts, "summary.json"), "w") as f:
            json.dump(n, f, indent=1)
        if "events" not in n:
            print("artifacts: %s" % cls.s.artifacts, flush=True)
            return
        rows = sorted(n["events_by_type"].items())
        print("\n%-24s %6s" % ("events by type", "count"))
        for t, c in rows:
            print("  %-22s %6d" % (t, c))
        print("  %-22s %6d" % ("total", n["events"]))
        print("deliveries (rules people, health: %d events)" % n["delivered_events"])
        print("  webhook: %d POSTs, %d answered 2xx, %d refused (503), %d duplicates" % (
            n["webhook_posts"], n["webhook_2xx"], n["webhook_refused"],
            n["webhook_duplicates"]))
        print("  mqtt:    %d messages, %d duplicates" % (n["mqtt_messages"],
                                                         n["mqtt_duplicates"]))
        print("  undelivered people events at the kill -9: %s" % n.get("undelivered_at_kill"))
        if "tracks" in n:
            print("tracks vs detections: %d person tracks, %d person detections in %d frames"
                  % (n["tracks"], n["detections"], n["frames"]))
        print("artifacts: %s" % cls.s.artifacts, flush=True)


# ---------------------------------------------------------------------------------------------
# A parked scene, a lossy link and a detector nobody offers

MEGAMIND = "/usr/share/doc/opencv-doc/examples/data/Megamind.avi"


def write_still_clip(path, frame_index, seconds, fps):
    """An MJPG .avi of frame frame_index of vtest.avi repeated for seconds at fps (a camera
    looking at people who stand still). Returns how many people OpenCV's HOG finds in it (the
    worker's parameters); AssertionError when it finds none."""
    import cv2
    cap = cv2.VideoCapture(fhtest.VTEST)
    img = None
    for _ in range(frame_index + 1):
        ok, img = cap.read()
        if not ok:
            raise AssertionError("vtest.avi has no frame %d" % frame_index)
    cap.release()
    hog = cv2.HOGDescriptor()
    hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
    people, _ = hog.detectMultiScale(img, hitThreshold=0, winStride=(8, 8), padding=(8, 8),
                                     scale=1.05, groupThreshold=2)
    if len(people) == 0:
        raise AssertionError("HOG finds no person in frame %d of vtest.avi" % frame_index)
    out = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), fps,
                          (img.shape[1], img.shape[0]))
    if not out.isOpened():
        raise AssertionError("cv2.VideoWriter cannot write MJPG to %s" % path)
    for _ in range(int(seconds * fps)):
        out.write(img)
    out.release()
    return len(people)


class LossyForwarder:
    """A lossy network between a sender and the receiver: a UDP socket on a free 127.0.0.1 port,
    read by a thread that forwards every datagram to the target port except every drop_every-th
    one (counted from the first: deterministic). Counts the datagrams and the frames it saw and
    damaged (a frame is its header's session and frame_seq, docs/protocol.md)."""

    def __init__(self, target_port, drop_every):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.target = ("127.0.0.1", target_port)
        self.drop_every = drop_every
        self.lock = threading.Lock()  # guards datagrams, dropped, frames, damaged
        self.datagrams = 0
        self.dropped = 0
        self.frames = set()   # (session, frame_seq) bytes of every frame seen
        self.damaged = set()  # ... of the frames that lost a datagram here
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopping.is_set():
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            frame = data[8:20]
            with self.lock:
                self.datagrams += 1
                self.frames.add(frame)
                drop = self.datagrams % self.drop_every == 0
                if drop:
                    self.dropped += 1
                    self.damaged.add(frame)
            if not drop:
                self.out.sendto(data, self.target)

    def counts(self):
        with self.lock:
            return {"datagrams": self.datagrams, "dropped": self.dropped,
                    "frames": len(self.frames), "damaged": len(self.damaged)}

    def close(self):
        self.stopping.set()
        self.thread.join(5)
        self.sock.close()
        self.out.close()


class ParkedLossyUnoffered(MasterStore, unittest.TestCase):
    """object.stationary, camera.loss and detector.unavailable with real processes, all three at
    once: a master of its own (own database; an events config with camera.loss_window 5 s, rule
    "parked" = person object.start/stationary of the parked port, rule "alarms" = camera.loss and
    detector.unavailable, both to a signed webhook), one receiver (reports every 1 s), one hog
    worker and three senders:
      - port parked: one vtest.avi frame with people as a 14 s clip at 5 fps, looped;
      - port lossy: vtest.avi at 320 px, 2000-byte datagrams, through a LossyForwarder that
        drops every 16th datagram;
      - port faces: Megamind.avi, --detector faces=haar:frontalface, which no worker offers
        until test_3 starts one;
      - port broken: vtest.avi at 320 px, 2 fps, through a LossyForwarder dropping every 3rd
        datagram: no frame arrives whole, the master knows the port only from the receiver's
        reports, and camera.loss must still fire.
    The steps only wait and look (test_3 then starts the haar worker); each can fail alone."""

    LOSS_WINDOW = 5     # camera.loss_window (s); loss_threshold stays 0.2 (20 %)
    STATIONARY_AFTER = 6  # the config's tracking.stationary_after (s); the default is 10
    DROP_EVERY = 16     # with ~9 datagrams a frame: about half the lossy port's frames damaged
    PARKED_FRAME = 50   # of vtest.avi: HOG finds 5 people in it
    numbers = {}

    @classmethod
    def setUpClass(cls):
        s = scratch()
        cls.s = s
        cls.t0 = time.monotonic()
        cls.t0_wall = time.time()
        cls.procs = fhtest.Procs(s.artifacts)
        atexit.register(cls.procs.stop_all)
        cls.current = {}
        cls.hook = cls.forwarder = cls.breaker = None
        try:
            cls.start_all()
        except BaseException:
            cls.stop_all()
            print("logs in %s" % s.artifacts, file=sys.stderr)
            raise
        cls.numbers["setup_s"] = round(time.monotonic() - cls.t0, 1)

    @classmethod
    def start_all(cls):
        s = cls.s
        for f in (fhtest.VTEST, MEGAMIND):
            if not os.path.exists(f):
                raise AssertionError("%s is missing (package opencv-doc)" % f)
        cls.secret = secrets.token_hex(16)
        cls.secret_file = os.path.join(s.tmp, "plu-secret")
        fhtest.write_secret(cls.secret_file, cls.secret)
        hook_secret = secrets.token_hex(20)
        fhtest.write_secret(os.path.join(s.tmp, "plu-hook.secret"), hook_secret)
        cls.hook = Webhook(hook_secret, os.path.join(s.artifacts, "plu-webhook.log"))
        ports = set()
        while len(ports) < 4:
            ports.add(free_port(socket.SOCK_DGRAM))
        cls.parked, cls.lossy, cls.faces, cls.broken = sorted(ports)
        cls.clip = os.path.join(s.tmp, "parked.avi")
        cls.people = write_still_clip(cls.clip, cls.PARKED_FRAME, 14, 5)
        log("%s: frame %d of vtest.avi for 14 s at 5 fps, %d people for HOG" % (
            cls.clip, cls.PARKED_FRAME, cls.people))

        hook = [{"url": cls.hook.url(), "secret_file": "plu-hook.secret"}]
        cls.config = os.path.join(s.tmp, "plu-events.json")
        with open(cls.config, "w") as f:
            json.dump({"rules": [{"name": "parked", "ports": [cls.parked], "labels": ["person"],
                                  "types": ["object.start", "object.stationary"],
                                  "webhooks": hook},
                                 {"name": "alarms", "types": ["camera.loss",
                                                              "detector.unavailable"],
                                  "webhooks": hook}],
                       "camera": {"loss_window": cls.LOSS_WINDOW},
                       "tracking": {"stationary_after": cls.STATIONARY_AFTER},
                       "delivery": {"backoff_initial": 0.2, "backoff_max": 2}}, f, indent=1)
        cls.mport = free_port()
        cls.url = "http://127.0.0.1:%d/RPC2" % cls.mport
        cls.http = fhtest.Http(cls.mport, cls.secret)
        master = cls.spawn("plu-master", [
            BIN + "/framehive-master", "--port", str(cls.mport),
            "--db", os.path.join(s.tmp, "plu-master.db"), "--auth-file", cls.secret_file,
            "--events-config", cls.config, "--heartbeat-interval", "1",
            "--detector", "%d=haar:frontalface" % cls.faces, "--stats-interval", "5"])

        def up():
            if master.poll() is not None:
                raise AssertionError("the master exited (%s):\n%s" % (
                    master.returncode, cls.procs.tail("plu-master")))
            return cls.http.get("/api/v1/status").status == 200
        wait_until(up, 30, "the master answering /api/v1/status")
        cls.start_worker("hog")
        cls.spawn("plu-receiver", [
            BIN + "/framehive-receiver", "--bind", "127.0.0.1", "--ports",
            "%d,%d,%d,%d" % (cls.parked, cls.lossy, cls.faces, cls.broken), "--master", cls.url,
            "--auth-file", cls.secret_file, "--stats-interval", "0", "--report-interval", "1"])
        wait_until(lambda: cls.offered("hog"), 30, "the hog worker registered")
        cls.forwarder = LossyForwarder(cls.lossy, cls.DROP_EVERY)
        # Every 3rd datagram of ~9-datagram frames: no frame of port broken arrives whole.
        cls.breaker = LossyForwarder(cls.broken, 3)

        def sender(name, port, source, *extra):
            # --motion off everywhere: a gating sender sends a still scene only as one keep-alive
            # frame per --idle-interval (docs/motion.md), too few frames to see a track stand.
            return cls.spawn("plu-sender-" + name, [
                BIN + "/framehive-sender", "--source", source, "--receiver", "127.0.0.1",
                "--port", str(port), "--stream", name, "--loop", "--motion", "off",
                "--stats-interval", "0"] + list(extra))
        cls.t_faces = time.time()
        sender("faces", cls.faces, MEGAMIND, "--fps", "2", "--width", "360")
        sender("parked", cls.parked, cls.clip, "--fps", "5")
        # 320 px frames (~13 KB) in 2000-byte datagrams: several datagrams a frame.
        sender("lossy", cls.forwarder.port, fhtest.VTEST, "--fps", "5", "--width", "320",
               "--chunk-size", "2000")
        sender("broken", cls.breaker.port, fhtest.VTEST, "--fps", "2", "--width", "320",
               "--chunk-size", "2000")

    @classmethod
    def spawn(cls, name, args):
        p = cls.procs.start(name, args)
        cls.current[name] = p
        log("started %s (pid %d)" % (name, p.pid))
        return p

    @classmethod
    def start_worker(cls, detector):
        name = detector.split(":")[0]
        return cls.spawn("plu-worker-" + name, [
            BIN + "/framehive-worker", "--master", cls.url, "--detector", detector,
            "--id", "plu-" + name, "--auth-file", cls.secret_file])

    @classmethod
    def offered(cls, detector):
        return any(w["alive"] and detector in w["capabilities"]
                   for w in cls.http.get_json("/api/v1/workers")["workers"])

    @classmethod
    def alive(cls):
        for name, p in cls.current.items():
            if p.poll() is not None:
                raise AssertionError("%s (pid %d) exited with status %s; its log ends:\n%s" % (
                    name, p.pid, p.returncode, cls.procs.tail(name)))

    def results(self, port, limit=100):
        return self.http.get_json("/api/v1/ports/%d/results?limit=%d" % (port, limit))["results"]

    def delivered(self, e):
        """Waits for e at the webhook, answered 200."""
        wait_until(lambda: any(p["id"] == e["id"] and p["status"] == 200 for p in self.posts()),
                   20, "%s %s at the webhook" % (e["type"], e["id"]), step=0.2)

    def took(self, what, at=None):
        """Records when what happened (the event's time, else now), in s since the setup began."""
        type(self).numbers[what + "_at_s"] = round((at or time.time()) - self.t0_wall, 1)

    # -- the three event types --------------------------------------------------------------

    def test_1_object_stationary(self):
        """A parked person: object.start once, object.stationary after the config's
        tracking.stationary_after (6 s, not the default 10), no new tracks."""
        e = self.wait_event("object.stationary of a person on port %d" % self.parked, 45,
                            lambda e: e["label"] == "person", port=self.parked,
                            type="object.stationary")
        self.took("stationary", e["time"])
        self.assertEqual(e["stream"], "parked")
        self.assertIn("parked", e["rules"])
        stood = e["time"] - e["start"]
        self.assertGreaterEqual(stood, self.STATIONARY_AFTER - 0.01,
                                "stationary only after standing %d s: %s" % (
                                    self.STATIONARY_AFTER, e))
        self.assertLess(stood, 10 - 0.01, "the config's stationary_after, not the default 10 s")
        self.delivered(e)
        # Stays parked: look again once frames captured 3 s after it are done.
        wait_until(lambda: self.alive() or any(r["captured_at"] > e["time"] + 3
                                               for r in self.results(self.parked, 5)),
                   20, "results of port %d captured 3 s after the stationary event" % self.parked,
                   step=0.3)
        starts = self.events(port=self.parked, type="object.start")
        tracks = {s["track_id"] for s in starts}
        mine = [s["id"] for s in starts if s["track_id"] == e["track_id"]]
        self.assertEqual(len(mine), 1, "one object.start of the parked track %d: %s" % (
            e["track_id"], mine))
        self.assertEqual(len(tracks), len(starts), "one object.start per track")
        results = self.results(self.parked)
        most = max(len(r["detections"]) for r in results)
        # The first frame's detections were tentative hits: they get their tracks' ids when the
        # tracks are confirmed (on the third frame), in the results already stored.
        first = min(results, key=lambda r: r["frame_id"])
        self.assertEqual(first["frame_id"], 0, "the clip's first frame is among the results")
        self.assertTrue(first["detections"], "HOG found people in the first frame")
        self.assertEqual([d for d in first["detections"] if not d.get("track_id")], [],
                         "every detection of the first frame carries its track's id")
        self.assertLessEqual({d["track_id"] for d in first["detections"]}, tracks,
                             "the first frame's ids are those of the object.start events")
        self.assertLessEqual(len(tracks), most, "tracks of a still scene: at most the people in "
                             "a frame (%d), not new ones while they stand" % most)
        self.assertEqual([x["id"] for x in self.events(port=self.parked, type="object.end")
                          if x["track_id"] == e["track_id"]], [],
                         "the parked track did not end")
        hooked = {p["id"] for p in self.posts() if p["status"] == 200 and
                  p["type"] == "object.start" and p["body"].get("track_id") == e["track_id"]}
        self.assertEqual(len(hooked), 1, "the webhook got one object.start of track %d" %
                         e["track_id"])
        r = subprocess.run([BIN + "/framehive-ctl", "--master", self.url, "--auth-file",
                            self.secret_file, "events", "--json", "--port", str(self.parked),
                            "--type", "object.stationary"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, "framehive-ctl events: %s" % r.stderr)
        self.assertIn(e["id"], [json.loads(ln)["id"] for ln in r.stdout.splitlines()
                                if ln.startswith("{")], "framehive-ctl events prints it")
        type(self).numbers.update({"parked_tracks": len(tracks), "people_per_frame": most})

    def test_2_camera_loss(self):
        """Every 16th datagram of port lossy dropped: camera.loss names the incomplete ratio."""
        e = self.wait_event("camera.loss of port %d" % self.lossy, 30, lambda e: True,
                            port=self.lossy, type="camera.loss")
        self.took("camera_loss", e["time"])
        fwd = self.forwarder.counts()
        self.assertEqual(e["stream"], "lossy")
        self.assertIn("alarms", e["rules"])
        m = re.fullmatch(r"(\d+\.\d)% of frames incomplete \((\d+) of (\d+) over (\d+) s\)",
                         e["detail"])
        self.assertIsNotNone(m, "the detail of camera.loss: %r" % e["detail"])
        ratio, incomplete, total = float(m.group(1)), int(m.group(2)), int(m.group(3))
        self.assertAlmostEqual(ratio, 100.0 * incomplete / total, delta=0.06, msg=e["detail"])
        self.assertGreater(ratio, 20.0, "above the threshold: %s" % e["detail"])
        self.assertLessEqual(int(m.group(4)), self.LOSS_WINDOW + 2, "within the window")
        self.assertLessEqual(incomplete, fwd["damaged"],
                             "no more incomplete frames than the forwarder damaged: %s" % fwd)
        self.assertGreaterEqual(fwd["datagrams"], 3 * fwd["frames"] - 3,
                                "several datagrams a frame: %s" % fwd)
        self.delivered(e)
        status = self.http.get_json("/api/v1/status")
        reported = sum(c["frames_incomplete"] for r in status["receivers"] for c in r["ports"]
                       if c["port"] == self.lossy)
        row = next(p for p in status["ports"] if p["port"] == self.lossy)
        damaged = self.forwarder.counts()["damaged"]
        self.assertGreater(reported, 0, "the receiver's report of port %d" % self.lossy)
        self.assertLessEqual(reported, damaged, "reported incomplete <= damaged")
        self.assertEqual(row["incomplete"], reported, "ports[].incomplete: the receivers' sum")
        self.assertEqual(self.events(port=self.parked, type="camera.loss"), [],
                         "no camera.loss of the port without a lossy link")
        log("camera.loss: %s; forwarder %s; receivers report %d incomplete" % (
            e["detail"], fwd, reported))
        type(self).numbers.update({"loss_detail": e["detail"], "forwarder": fwd,
                                   "reported_incomplete": reported})

    def test_2b_camera_loss_of_a_camera_never_seen_whole(self):
        """Every frame of port broken loses a datagram: the master never gets one of its frames,
        yet the receivers' reports raise camera.loss at 100 %."""
        e = self.wait_event("camera.loss of port %d" % self.broken, 30, lambda e: True,
                            port=self.broken, type="camera.loss")
        self.took("camera_loss_broken", e["time"])
        fwd = self.breaker.counts()
        self.assertEqual(fwd["damaged"], fwd["frames"], "every frame damaged: %s" % fwd)
        self.assertRegex(e["detail"], r"^100\.0% of frames incomplete \(\d+ of \d+ over \d+ s\)$")
        self.assertIn("alarms", e["rules"])
        self.delivered(e)
        status = self.http.get_json("/api/v1/status")
        self.assertEqual([p for p in status["ports"] if p["port"] == self.broken], [],
                         "no frame of port %d reached the master" % self.broken)
        log("camera.loss of a camera never seen whole: %s; forwarder %s" % (e["detail"], fwd))

    def test_3_detector_unavailable(self):
        """Port faces waits for haar:frontalface: detector.unavailable after 10 s; a worker
        offering it starts and the frames get done."""
        e = self.wait_event("detector.unavailable of haar:frontalface", 40,
                            lambda e: "haar:frontalface" in e["detail"],
                            type="detector.unavailable")
        self.took("detector_unavailable", e["time"])
        self.assertIn("alarms", e["rules"])
        self.assertEqual(e["port"], 0, "a single detector's event belongs to no camera")
        self.assertRegex(e["detail"], r"^haar:frontalface: \d+ frame\(s\) wait, no live worker "
                         r"offers it$")
        self.assertGreaterEqual(e["time"], self.t_faces + 10,
                                "after the 10 s grace (the faces sender started at %.3f)" %
                                self.t_faces)
        self.delivered(e)
        status = self.http.get_json("/api/v1/status")
        self.assertIn("haar:frontalface", status["waiting_detectors"])
        self.assertEqual(next(p["state"] for p in status["ports"] if p["port"] == self.faces),
                         "waiting")
        self.assertEqual(self.results(self.faces), [], "no frame of port faces done yet")
        t = time.time()
        self.start_worker("haar:frontalface")
        done = wait_until(lambda: self.alive() or [r for r in self.results(self.faces)
                                                   if r["completed_at"] > t], 30,
                          "results of port %d after the haar worker started" % self.faces,
                          step=0.3)
        self.took("faces_done")
        self.assertTrue(all(r["detector"] == "haar:frontalface" for r in done))
        wait_until(lambda: "haar:frontalface" not in
                   self.http.get_json("/api/v1/status")["waiting_detectors"], 10,
                   "haar:frontalface no longer waited for")
        log("port %d: %d results after the haar worker started" % (self.faces, len(done)))

    @classmethod
    def stop_all(cls):
        cls.procs.stop_all()
        if cls.hook:
            cls.hook.close()
        for f in (cls.forwarder, cls.breaker):
            if f:
                f.close()

    @classmethod
    def tearDownClass(cls):
        cls.stop_all()
        bad = [(name, p.returncode) for name, p in cls.current.items() if p.returncode != 0]
        cls.numbers["wall_s"] = round(time.monotonic() - cls.t0, 1)
        with open(os.path.join(cls.s.artifacts, "plu-summary.json"), "w") as f:
            json.dump(cls.numbers, f, indent=1)
        log("ParkedLossyUnoffered: %s" % json.dumps(cls.numbers))
        if bad:
            raise AssertionError("not a clean stop (SIGTERM, exit 0): %s" % bad)


# ---------------------------------------------------------------------------------------------

class ConfigErrors(unittest.TestCase):
    def test_unknown_key_on_line_3(self):
        """A master given a config with a typo on line 3 exits non-zero naming file and line."""
        s = scratch()
        path = os.path.join(s.tmp, "broken.json")
        with open(path, "w") as f:
            f.write('{\n'
                    '  "mqtt": {"host": "127.0.0.1", "port": 1883},\n'
                    '  "zonez": {"5000": []},\n'
                    '  "rules": []\n'
                    '}\n')
        try:
            r = subprocess.run([BIN + "/framehive-master", "--port", str(free_port()),
                                "--db", ":memory:", "--events-config", path],
                               capture_output=True, text=True, timeout=30)
        except subprocess.TimeoutExpired:
            self.fail("the master kept running with a broken --events-config")
        with open(os.path.join(s.artifacts, "master-broken-config.log"), "w") as f:
            f.write(r.stdout + r.stderr)
        self.assertNotEqual(r.returncode, 0, "exit status with a broken config")
        self.assertIn(path, r.stderr, "stderr names the file")
        self.assertRegex(r.stderr, r"(%s:3\b|line 3\b)" % re.escape(path),
                         "stderr names line 3")
        self.assertIn("zonez", r.stderr, "stderr names the unknown key")


if __name__ == "__main__":
    sys.exit(fhtest.run_tests(sys.modules[__name__], "test_events"))
