"""Helpers shared by the HTTP API and metrics tests (tests/api/) and tests/bench/bench_scrape.py:
processes started and stopped by PID, free ports, deadline polls, a small HTTP client, vtest.avi
frames as JPEG. Standard library + cv2 + numpy only (Debian's /usr/bin/python3)."""
import base64
import http.client
import json
import os
import signal
import socket
import subprocess
import time
import urllib.parse
import xmlrpc.client

VTEST = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
USER = "framehive"


def free_port(kind=socket.SOCK_STREAM):
    """A port the kernel just handed out (TCP or UDP) on 127.0.0.1."""
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_until(pred, timeout, what, step=0.05):
    """Polls pred() until it returns a truthy value (returned) or the deadline passes
    (AssertionError naming what was awaited and the last value or exception)."""
    end = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = pred()
            if value:
                return value
            last = value
        except (OSError, http.client.HTTPException, xmlrpc.client.Error, ValueError,
                KeyError) as e:
            last = "%s: %s" % (type(e).__name__, e)
        if time.monotonic() >= end:
            raise AssertionError("timed out after %.0f s waiting for %s (last: %r)"
                                 % (timeout, what, last))
        time.sleep(step)


class Procs:
    """Processes this test started; stop_all() ends each by its own PID (SIGTERM, then
    SIGKILL after a grace period) and nothing else."""

    def __init__(self, logdir):
        self.logdir = logdir
        self.procs = []  # (name, Popen)

    def start(self, name, args, env=None):
        log = open(os.path.join(self.logdir, name + ".log"), "w")
        p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()
        self.procs.append((name, p))
        return p

    def stop(self, p, timeout=15):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def stop_all(self, check=False):
        """Stops every process (newest first). With check, AssertionError naming each one that
        did not exit with status 0 (a crash, a sanitizer report, no clean stop on SIGTERM)."""
        for _, p in reversed(self.procs):
            self.stop(p)
        bad = [(name, p.returncode) for name, p in self.procs if p.returncode != 0]
        if check and bad:
            raise AssertionError("\n".join("%s exited with status %s; its log ends:\n%s"
                                           % (name, rc, self.tail(name)) for name, rc in bad))

    def check_alive(self):
        """AssertionError naming any process that exited, with the tail of its log."""
        for name, p in self.procs:
            if p.poll() is not None and p.returncode not in (0,) and name != "sender":
                raise AssertionError("%s exited with status %s:\n%s"
                                     % (name, p.returncode, self.tail(name)))

    def tail(self, name, lines=20):
        try:
            with open(os.path.join(self.logdir, name + ".log"), errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""


def write_secret(path, secret):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")


class Reply:
    """One HTTP response: status, headers (case-insensitive get / get_all), body bytes."""

    def __init__(self, status, msg, body):
        self.status = status
        self.msg = msg
        self.body = body

    def header(self, name, default=None):
        return self.msg.get(name, default)

    def headers_all(self, name):
        return self.msg.get_all(name) or []

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError as e:
            raise AssertionError("not JSON (%s): %r" % (e, self.body[:300]))

    def __repr__(self):
        return "<%d %s %r>" % (self.status, self.header("Content-Type"), self.body[:200])


class Http:
    """A client of one master: request() opens a connection per request (the master closes
    after every error reply anyway). auth: None (no credentials), a password, or the default
    (self.secret)."""

    DEFAULT = object()

    def __init__(self, port, secret=None, host="127.0.0.1"):
        self.host, self.port, self.secret = host, port, secret

    def basic(self, password):
        token = base64.b64encode(("%s:%s" % (USER, password)).encode()).decode()
        return "Basic " + token

    def request(self, method, path, body=None, headers=None, auth=DEFAULT, timeout=30):
        h = dict(headers or {})
        password = self.secret if auth is Http.DEFAULT else auth
        if password is not None:
            h["Authorization"] = self.basic(password)
        if body is not None and method == "POST":
            h.setdefault("Content-Length", str(len(body)))
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            data = r.read()
            return Reply(r.status, r.msg, data)
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def get_json(self, path, **kw):
        r = self.get(path, **kw)
        if r.status != 200:
            raise AssertionError("GET %s: expected 200, got %r" % (path, r))
        return r.json()

    def rpc(self, password=DEFAULT):
        password = self.secret if password is Http.DEFAULT else password
        cred = "" if password is None else "%s:%s@" % (
            USER, urllib.parse.quote(password, safe=""))
        return xmlrpc.client.ServerProxy("http://%s%s:%d/RPC2" % (cred, self.host, self.port),
                                         use_builtin_types=True)


def vtest_jpegs(n, start=0, width=0, quality=80):
    """n JPEG frames of vtest.avi (bytes) from frame start on, optionally scaled to width."""
    import cv2
    cap = cv2.VideoCapture(VTEST)
    if not cap.isOpened():
        raise AssertionError("cannot open " + VTEST + " (Debian package opencv-doc)")
    out = []
    i = 0
    while len(out) < n:
        ok, img = cap.read()
        if not ok:
            break
        if i >= start:
            if width:
                img = cv2.resize(img, (width, int(img.shape[0] * width / img.shape[1])))
            ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
            out.append(buf.tobytes())
        i += 1
    cap.release()
    if len(out) < n:
        raise AssertionError("vtest.avi has fewer than %d frames from %d" % (n, start))
    return out


def frame(port, frame_id, jpeg, captured_at=None, stream="py", detector=None):
    """An XML-RPC Frame struct (docs/api.md)."""
    f = {"port": port, "frame_id": frame_id,
         "captured_at": time.time() if captured_at is None else captured_at,
         "image": jpeg, "stream": stream}
    if detector:
        f["detector"] = detector
    return f


def parse_exposition(text):
    """Prometheus text format 0.0.4 -> (types {family: type}, samples [(name, labels, value)])."""
    types, samples = {}, []
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
            continue
        if line.startswith("#"):
            continue
        if "{" in line:
            name, rest = line.split("{", 1)
            labels_text, value = rest.rsplit("} ", 1)
            labels = {}
            i = 0
            while i < len(labels_text):
                eq = labels_text.index("=", i)
                key = labels_text[i:eq].strip(", ")
                j = eq + 2  # past ="
                val = []
                while labels_text[j] != '"':
                    if labels_text[j] == "\\":
                        j += 1
                        val.append({"n": "\n"}.get(labels_text[j], labels_text[j]))
                    else:
                        val.append(labels_text[j])
                    j += 1
                labels[key] = "".join(val)
                i = j + 1
        else:
            name, value = line.split(" ", 1)
            labels = {}
        samples.append((name, labels, float(value.split(" ")[0])))
    return types, samples


def run_tests(module, name):
    """The main() of a test program of tests/api: BIN_DIR SOURCE_DIR [unittest arguments] set
    module.BIN and module.SRC, the unittest cases run, a summary line follows, and the temporary
    directory of module.C (the cluster the cases started) is removed after a success or named
    after a failure. Returns the exit status."""
    import shutil
    import sys
    import unittest
    if len(sys.argv) < 3:
        print(module.__doc__, file=sys.stderr)
        return 2
    module.BIN, module.SRC = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    t0 = time.monotonic()
    prog = unittest.main(module=module, argv=[sys.argv[0]] + sys.argv[3:], exit=False,
                         verbosity=2)
    print("%s: %d run, %d failed, %d errors in %.1f s" % (
        name, prog.result.testsRun, len(prog.result.failures), len(prog.result.errors),
        time.monotonic() - t0))
    if module.C and prog.result.wasSuccessful():
        shutil.rmtree(module.C.tmp, ignore_errors=True)
    elif module.C:
        print("%s: the processes' logs are in %s" % (name, module.C.tmp), file=sys.stderr)
    return 0 if prog.result.wasSuccessful() else 1
