#!/usr/bin/python3
"""The console (master/web/) in a real browser, against a live pipeline.

Starts, on 127.0.0.1 with free ports: framehive-master with a secret (--auth-file) and a
database in a temporary directory, framehive-receiver on two UDP ports, two workers (hog; null:
the second port's detector is the chain haar:frontalface,null, with no haar worker it runs on
its fallback) and framehive-sender playing vtest.avi to both ports; then drives headless
Chromium through chromedriver (Selenium) and checks:

  1. without credentials, / redirects to /login; logging in through the form leads back;
  2. the overview shows one tile per camera port, whose frame loads and changes over time, with
     completed / gated frames, and the second port's tile shows its chain and "fallback";
  3. a camera page's chart has data points (Chart.js data), among them the "objects (tracks)"
     dataset; its recent events list object events; its recent results show thumbnails, a
     click opens the frame and its record;
  4. uploads (a JPEG and a PNG made from vtest.avi) complete with the annotated frame shown;
     a file that is not an image is refused before anything is sent;
  5. search finds frames;
  6. the Events view lists events newest first, among them an object event (label #track_id)
     whose snapshot loads and opens in the frame dialog; with the sender stopped for longer
     than --stall-after (3 s), a camera.stalled event appears without a reload (live polling);
     the type and camera filters narrow the list;
  7. a phone-width (390x844) overview and Events view render without horizontal scrolling;
  8. "Log out" ends the session;
  9. the browser's console has no SEVERE entry during all of this.

Screenshots go to the artifacts directory (--artifacts, else $FH_ARTIFACTS, else
BIN_DIR/../test-artifacts/console/, i.e. build/test-artifacts/console/): overview.png,
camera.png, upload.png, events.png, phone.png, events-phone.png (and, when a check fails,
failure.png and failure.html). Every process the test started is stopped by PID.

Usage: /usr/bin/python3 tests/console/test_console.py BIN_DIR [--artifacts DIR] [--keep]
Exit status: 0 passed, 1 a check failed, 77 skipped (no Chromium, chromedriver or Selenium).
"""
import argparse
import base64
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "api"))
from fhtest import free_port  # noqa: E402  (tests/api/fhtest.py: shared test helpers)

VTEST = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SKIP = 77


class CheckFailed(Exception):
    """A check of the console failed; the message says what was expected and what was seen."""


def log(msg):
    print("[console %6.1fs] %s" % (time.monotonic() - T0, msg), flush=True)


T0 = time.monotonic()


def wait_for(what, predicate, timeout, step=0.2):
    """Polls predicate() until it returns a true value (returned) or the deadline passes
    (CheckFailed naming `what` and the last value or exception seen)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = predicate()
            if value:
                return value
            last = value
        except CheckFailed:
            raise
        except Exception as e:  # noqa: BLE001 - reported below if it persists
            last = "%s: %s" % (type(e).__name__, e)
        if time.monotonic() >= deadline:
            raise CheckFailed("timed out after %.0f s waiting for %s (last seen: %r)" %
                              (timeout, what, last))
        time.sleep(step)


class Processes:
    """The processes this test started; stop_all() ends each of them by PID."""

    def __init__(self, logdir):
        self.logdir = logdir
        self.procs = []  # (name, Popen)

    def start(self, name, args):
        logf = open(os.path.join(self.logdir, name + ".log"), "w")
        p = subprocess.Popen(args, stdout=logf, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
        logf.close()
        self.procs.append((name, p))
        log("started %s (pid %d): %s" % (name, p.pid, " ".join(args)))
        return p

    def stop(self, name):
        """Stops one process (SIGTERM, then SIGKILL after 10 s); it is no longer checked."""
        for i, (n, p) in enumerate(self.procs):
            if n == name and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
                del self.procs[i]
                log("stopped %s (pid %d)" % (name, p.pid))
                return
        raise CheckFailed("no running process named %s to stop" % name)

    def check_alive(self):
        for name, p in self.procs:
            if p.poll() is not None:
                raise CheckFailed("%s exited early with status %s; its log:\n%s" %
                                  (name, p.returncode, self.tail(name)))

    def tail(self, name, lines=25):
        try:
            with open(os.path.join(self.logdir, name + ".log"), errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError as e:
            return "(no log: %s)" % e

    def stop_all(self):
        for name, p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for name, p in reversed(self.procs):
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log("%s (pid %d) ignored SIGTERM: killing it" % (name, p.pid))
                p.kill()
                p.wait()


class Api:
    """The master's JSON API with HTTP Basic credentials (what a script would use)."""

    def __init__(self, base, secret):
        self.base = base
        token = base64.b64encode(("framehive:" + secret).encode()).decode()
        self.auth = "Basic " + token

    def get(self, path, timeout=5):
        req = urllib.request.Request(self.base + path, headers={"Authorization": self.auth})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read().decode())

    def status_code(self, path, auth=True):
        headers = {"Authorization": self.auth} if auth else {}
        req = urllib.request.Request(self.base + path, headers=headers)
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(req, timeout=5) as r:
                return r.status, dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def make_uploads(tmp):
    """A frame of vtest.avi as JPEG and as PNG (with people in it), and a text file."""
    import cv2  # python3-opencv, imported here so that a missing module is a clear skip
    cap = cv2.VideoCapture(VTEST)
    frame = None
    for _ in range(60):  # a frame from the middle of the walk
        ok, f = cap.read()
        if not ok:
            break
        frame = f
    cap.release()
    if frame is None:
        raise CheckFailed("cannot read a frame of %s with OpenCV" % VTEST)
    jpg = os.path.join(tmp, "walkers.jpg")
    png = os.path.join(tmp, "walkers.png")
    txt = os.path.join(tmp, "notes.txt")
    if not cv2.imwrite(jpg, frame, [cv2.IMWRITE_JPEG_QUALITY, 90]):
        raise CheckFailed("cannot write " + jpg)
    if not cv2.imwrite(png, cv2.resize(frame, (384, 288))):
        raise CheckFailed("cannot write " + png)
    with open(txt, "w") as f:
        f.write("not an image\n")
    return jpg, png, txt


class Browser:
    """Headless Chromium through chromedriver, collecting the console log as it goes."""

    def __init__(self, artifacts):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,800",
                  "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--metrics-recording-only", "--no-default-browser-check"):
            opts.add_argument(a)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.service = Service(CHROMEDRIVER, log_path=os.path.join(artifacts, "chromedriver.log"))
        self.driver = webdriver.Chrome(service=self.service, options=opts)
        self.driver.set_page_load_timeout(30)
        self.driver.set_script_timeout(15)
        self.artifacts = artifacts
        self.logs = []

    def collect_log(self):
        entries = self.driver.get_log("browser")
        self.logs.extend(entries)
        return entries

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def screenshot(self, name, full_page=False):
        """Saves the window (or, with full_page, the whole page up to 2400 px tall)."""
        path = os.path.join(self.artifacts, name)
        size = self.driver.get_window_size()
        if full_page:
            self.js("window.scrollTo({top: 0, behavior: 'instant'})")
            height = self.js("return document.documentElement.scrollHeight")
            chrome = size["height"] - self.js("return window.innerHeight")
            self.driver.set_window_size(size["width"], min(2400, height + chrome))
        try:
            saved = self.driver.save_screenshot(path)
        finally:
            if full_page:
                self.driver.set_window_size(size["width"], size["height"])
        if not saved:
            raise CheckFailed("could not write the screenshot " + path)
        size = os.path.getsize(path)
        if size < 5000:
            raise CheckFailed("the screenshot %s is only %d bytes: nothing rendered?" %
                              (path, size))
        log("screenshot %s (%d KiB)" % (path, size // 1024))

    def quit(self):
        try:
            self.driver.quit()
        finally:
            proc = getattr(self.service, "process", None)
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()


def click(b, css):
    """Clicks the element like a user: scrolled to the middle of the window first (the sticky
    header must not cover it), at once (Bootstrap makes scrolling smooth, i.e. animated)."""
    e = b.driver.find_element("css selector", css)
    b.js("arguments[0].scrollIntoView({block: 'center', inline: 'nearest', behavior: 'instant'})", e)
    e.click()
    return e


def path_of(url):
    return urllib.parse.urlparse(url).path


# ---- the checks -----------------------------------------------------------------------------

def check_login(b, base, secret):
    d = b.driver
    d.get(base + "/")
    wait_for("/ to redirect to the login page", lambda: path_of(d.current_url) == "/login", 10)
    q = urllib.parse.parse_qs(urllib.parse.urlparse(d.current_url).query)
    if q.get("next") != ["/"]:
        raise CheckFailed("the redirect to /login should carry next=/, got %s" % d.current_url)
    log("without credentials / redirects to %s" % d.current_url)
    # A wrong password first: back to the form, which says so.
    d.find_element("id", "password").send_keys("wrong-" + secret[:8])
    d.find_element("css selector", "#login-form button[type=submit]").click()
    wait_for("the login page to show the failure (?failed=1)",
             lambda: "failed=1" in d.current_url and
             d.find_element("id", "login-failed").is_displayed(), 10)
    # Then the secret.
    d.find_element("id", "password").send_keys(secret)
    d.find_element("css selector", "#login-form button[type=submit]").click()
    wait_for("the console after logging in", lambda: path_of(d.current_url) == "/" and
             d.find_elements("id", "view-overview"), 10)
    if not d.get_cookie("fh_session"):
        raise CheckFailed("no fh_session cookie after logging in; cookies: %s" %
                          [c["name"] for c in d.get_cookies()])
    log("logged in through the form")


TILE_STATE = """
return [...document.querySelectorAll('#camera-tiles .camera-tile')].map(t => {
  const img = t.querySelector('img.tile-frame');
  return {port: Number(t.dataset.port), href: t.getAttribute('href'),
          src: img ? img.getAttribute('src') : null,
          loaded: !!img && !img.hidden && img.complete && img.naturalWidth > 0,
          alt: img ? img.alt : '', text: t.innerText};
});
"""


def check_overview(b, base, ports):
    d = b.driver
    d.get(base + "/#/")

    def tiles_loaded():
        tiles = b.js(TILE_STATE)
        got = sorted(t["port"] for t in tiles)
        if got != sorted(ports):
            return None
        return tiles if all(t["loaded"] for t in tiles) else None

    tiles = wait_for("one tile per camera port %s, each with a loaded frame" % ports,
                     tiles_loaded, 45)
    for t in tiles:
        if t["href"] != "#/camera/%d" % t["port"]:
            raise CheckFailed("tile %d links to %r, not #/camera/%d" %
                              (t["port"], t["href"], t["port"]))
        if not t["alt"]:
            raise CheckFailed("the frame of tile %d has no alt text" % t["port"])
        if "/frame.jpg" not in (t["src"] or ""):
            raise CheckFailed("tile %d shows %r, not a task's frame.jpg" % (t["port"], t["src"]))
        for word in ("fps in", "fps detected", "p50 / p99", "failed", "completed / gated"):
            if word not in t["text"].lower():
                raise CheckFailed("tile %d lacks %r: %r" % (t["port"], word, t["text"]))
        chain = "null (fallback; chain haar:frontalface, null)"
        if (chain in t["text"]) != (t["port"] == ports[1]):
            raise CheckFailed("tile %d: the fallback chain %s: %r" % (
                t["port"], "missing" if t["port"] == ports[1] else "shown", t["text"]))
    log("overview: tiles %s loaded (%s)" % (ports, ", ".join(t["src"] for t in tiles)))
    first = {t["port"]: t["src"] for t in tiles}

    def all_changed():
        now = {t["port"]: t for t in b.js(TILE_STATE)}
        return all(now[p]["src"] != first[p] and now[p]["loaded"] for p in ports)

    wait_for("every tile's frame to change (live updates without reload)", all_changed, 45)
    log("overview: every tile's frame changed")
    totals = b.js("return document.getElementById('totals').innerText")
    workers = b.js("return document.getElementById('workers').innerText")
    for w in ("console-hog", "console-null"):
        if w not in workers:
            raise CheckFailed("the workers table does not list %s: %r" % (w, workers))
    if "COMPLETED" not in totals.upper():
        raise CheckFailed("the totals do not show completed frames: %r" % totals)
    version = b.js("return document.getElementById('master-version').innerText")
    if not version.strip():
        raise CheckFailed("the header shows no master version")
    b.screenshot("overview.png")


CHART_DATA = """
const canvas = document.getElementById('summary-chart');
const chart = window.Chart && Chart.getChart(canvas);
if (!chart) return null;
return {labels: chart.data.labels.length,
        datasets: chart.data.datasets.map(ds => ({label: ds.label,
          points: ds.data.filter(v => v > 0).length,
          sum: ds.data.reduce((a, v) => a + v, 0)}))};
"""


def check_camera(b, base, port):
    d = b.driver
    d.get(base + "/#/")
    wait_for("the tile of port %d" % port, lambda: d.find_elements(
        "css selector", '.camera-tile[data-port="%d"]' % port), 20)
    click(b, '.camera-tile[data-port="%d"]' % port)
    wait_for("the camera page of port %d" % port,
             lambda: d.current_url.endswith("#/camera/%d" % port) and
             d.find_element("id", "view-camera").is_displayed(), 10)

    def counters():
        text = b.js("return document.getElementById('camera-stats').innerText")
        return text if "gated" in text.lower() and "hog" in text else None

    stats = wait_for("the camera page's counters, with the gated frames", counters, 10)
    log("camera %d: counters %r" % (port, " | ".join(stats.split("\n"))))

    def chart_has_points():
        c = b.js(CHART_DATA)
        if not c:
            return None
        frames = [ds for ds in c["datasets"] if ds["label"] == "frames analysed"]
        return c if frames and frames[0]["points"] >= 3 else None

    # 5 s buckets: points in 3 of them take 10-15 s of results.
    c = wait_for("the chart of port %d to have data points in 3 buckets" % port,
                 chart_has_points, 40)
    labels = [ds for ds in c["datasets"]
              if ds["label"] not in ("frames analysed", OBJECTS_DATASET)]
    log("camera %d: chart with %d buckets; frames in %d buckets; labels %s" % (
        port, c["labels"], [ds for ds in c["datasets"] if ds["label"] == "frames analysed"][0]
        ["points"], ["%s=%d" % (ds["label"], ds["sum"]) for ds in labels]))
    if c["labels"] > 130:
        raise CheckFailed("the 5 min window has %d buckets (expected at most ~120)" % c["labels"])
    if not labels or max(ds["sum"] for ds in labels) <= 0:
        raise CheckFailed("hog on vtest.avi found nobody in the chart's 5 minutes: %s" % c)

    # The tracked objects (summary buckets' "tracks"): hog's people become tracks.
    def tracks_dataset():
        c = b.js(CHART_DATA) or {}
        ds = [x for x in c.get("datasets", []) if x["label"] == OBJECTS_DATASET]
        return ds[0] if ds and ds[0]["points"] >= 1 else None

    objects = wait_for("the chart's %r dataset to have data" % OBJECTS_DATASET, tracks_dataset, 30)
    log("camera %d: chart dataset %r in %d buckets (sum %d)" % (
        port, OBJECTS_DATASET, objects["points"], objects["sum"]))

    # Recent events of this camera: the people's tracks started.
    def camera_events():
        items = b.js("""return [...document.querySelectorAll('#camera-events .event-item')]
                        .map(li => ({type: li.dataset.type, port: Number(li.dataset.port),
                                     text: li.innerText}))""")
        return items if any(i["type"].startswith("object.") for i in items) else None

    items = wait_for("an object event in the camera page's recent events", camera_events, 30)
    if len(items) > 5 or any(i["port"] != port for i in items):
        raise CheckFailed("the camera page's recent events should be at most 5 of port %d: %s"
                          % (port, items))
    log("camera %d: recent events %s" % (port, [i["type"] for i in items]))

    # Another window: the chart is redrawn with coarser buckets.
    click(b, "label[for=win-3600]")
    wait_for("the 1 h window (60 s buckets)", lambda: (b.js(CHART_DATA) or {}).get("labels", 0)
             in range(55, 66), 15)
    click(b, "label[for=win-300]")

    def thumbs():
        return b.js("""return [...document.querySelectorAll('#camera-results .result-card img')]
                       .filter(i => i.complete && i.naturalWidth > 0).length""")

    n = wait_for("thumbnails of recent results", thumbs, 20)
    log("camera %d: %d thumbnails loaded" % (port, n))
    export = d.find_element("id", "export-csv").get_attribute("href")
    if not export.endswith("/api/v1/export?port=%d&format=csv" % port):
        raise CheckFailed("the CSV export link is %r" % export)
    b.screenshot("camera.png", full_page=True)
    # Open one: the dialog shows the full frame and the record.
    click(b, "#camera-results .result-card")
    wait_for("the frame dialog with its image", lambda: b.js(
        """const dlg = document.getElementById('frame-dialog');
           const img = document.getElementById('frame-dialog-img');
           return dlg.open && img.complete && img.naturalWidth > 0;"""), 10)
    record = json.loads(d.find_element("id", "frame-dialog-json").get_attribute("textContent"))
    if record.get("port") != port or "detections" not in record:
        raise CheckFailed("the dialog's record is not a ResultRecord of port %d: %s" %
                          (port, record))
    click(b, "#frame-dialog-close")
    wait_for("the dialog to close", lambda: not b.js(
        "return document.getElementById('frame-dialog').open"), 5)
    log("camera %d: the frame dialog shows task %s" % (port, record.get("task_id")))


OBJECTS_DATASET = "objects (tracks)"

EVENTS_STATE = """
return [...document.querySelectorAll('#events-list .event-item')].map(li => {
  const img = li.querySelector('img');
  const badge = li.querySelector('.event-badge');
  return {seq: Number(li.dataset.seq), type: li.dataset.type, port: Number(li.dataset.port),
          badge: badge ? badge.textContent : '', badgeClass: badge ? badge.className : '',
          src: img ? img.getAttribute('src') : '', lazy: img ? img.loading : '',
          loaded: !!img && img.complete && img.naturalWidth > 0, text: li.innerText};
});
"""


def events_api(api, **params):
    return api.get("/api/v1/events?" + urllib.parse.urlencode(params))["events"]


def check_events(b, base, api, procs, sender_args, port):
    d = b.driver
    d.get(base + "/#/")
    click(b, '[data-nav="events"]')
    wait_for("the Events view", lambda: d.current_url.endswith("#/events") and
             d.find_element("id", "view-events").is_displayed(), 10)

    def object_with_snapshot():
        items = b.js(EVENTS_STATE)
        return [i for i in items if i["type"].startswith("object.") and i["loaded"]] or None

    objs = wait_for("an object event whose snapshot loaded", object_with_snapshot, 40)
    o = objs[0]
    if "#" not in o["text"] or "person" not in o["text"]:
        raise CheckFailed("the object event should name its label and #track_id: %r" % o["text"])
    if not o["badge"].startswith("object.") or "/frame.jpg?" not in o["src"] or \
            "width=160" not in o["src"] or "boxes=1" not in o["src"] or o["lazy"] != "lazy":
        raise CheckFailed("the object event's badge or snapshot is not as expected: %s" % o)
    log("events: object event %s (seq %d) with its snapshot %s" % (o["type"], o["seq"], o["src"]))
    # The same events as the API, newest first.
    items = b.js(EVENTS_STATE)
    seqs = [i["seq"] for i in items]
    if seqs != sorted(seqs, reverse=True) or len(set(seqs)) != len(seqs):
        raise CheckFailed("the events are not newest first without repeats: %s" % seqs[:30])
    known = {e["seq"]: e for e in events_api(api, order="desc", limit=1000)}
    for i in items:
        e = known.get(i["seq"])
        if e is None or e["type"] != i["type"]:
            raise CheckFailed("the page shows event seq %d (%s) the API does not have: %s" % (
                i["seq"], i["type"], e))
    # Its snapshot opens the frame dialog with the event.
    click(b, '#events-list .event-item[data-seq="%d"] .event-thumb' % o["seq"])
    wait_for("the frame dialog with the event's snapshot", lambda: b.js(
        """const dlg = document.getElementById('frame-dialog');
           const img = document.getElementById('frame-dialog-img');
           return dlg.open && !img.hidden && img.complete && img.naturalWidth > 0;"""), 10)
    shown = json.loads(d.find_element("id", "frame-dialog-json").get_attribute("textContent"))
    if shown.get("seq") != o["seq"] or not shown.get("snapshot_task_id") or \
            "track_id" not in shown or "box" not in shown:
        raise CheckFailed("the dialog's JSON is not the object event seq %d: %s" %
                          (o["seq"], shown))
    click(b, "#frame-dialog-close")
    wait_for("the dialog to close", lambda: not b.js(
        "return document.getElementById('frame-dialog').open"), 5)

    # A camera event, live: the sender stops for longer than --stall-after.
    before = max(seqs) if seqs else 0
    procs.stop("sender")

    def stalled_shown():
        return [i for i in b.js(EVENTS_STATE)
                if i["type"] == "camera.stalled" and i["seq"] > before] or None

    try:
        stalled = wait_for("a camera.stalled event in the list (no reload)", stalled_shown, 30)
    except CheckFailed as e:
        raise CheckFailed("%s; the API's camera events: %s" % (
            e, events_api(api, type="camera.*", order="desc", limit=10)))
    s = stalled[0]
    if "warning" not in s["badgeClass"] and "danger" not in s["badgeClass"]:
        raise CheckFailed("camera.stalled is not shown as a warning: %s" % s)
    log("events: %s appeared live (seq %d): %r" % (s["type"], s["seq"], s["text"]))
    procs.start("sender-again", sender_args)
    try:
        wait_for("camera.recovered after the sender restarted", lambda: [
            i for i in b.js(EVENTS_STATE) if i["type"] == "camera.recovered"], 30)
        log("events: camera.recovered appeared after the sender restarted")
    except CheckFailed as e:
        raise CheckFailed("%s; the API's camera events: %s" % (
            e, events_api(api, type="camera.*", order="desc", limit=10)))

    # Filters: cameras only, then one camera; the URL says which.
    click(b, "label[for=events-family-camera]")
    wait_for("only camera events with type=camera in the URL", lambda: "type=camera" in
             d.current_url and b.js(EVENTS_STATE) and
             all(i["type"].startswith("camera.") for i in b.js(EVENTS_STATE)), 10)
    from selenium.webdriver.support.ui import Select
    Select(d.find_element("id", "events-port")).select_by_value(str(port))
    wait_for("only camera events of port %d" % port, lambda: "port=%d" % port in
             d.current_url and b.js(EVENTS_STATE) and
             all(i["type"].startswith("camera.") and i["port"] == port
                 for i in b.js(EVENTS_STATE)), 10)
    Select(d.find_element("id", "events-port")).select_by_value("")
    click(b, "label[for=events-family-all]")
    wait_for("all events again", lambda: d.current_url.endswith("#/events") and
             any(i["type"].startswith("object.") for i in b.js(EVENTS_STATE)), 10)
    wait_for("the first snapshots to load", lambda: all(
        i["loaded"] for i in b.js(EVENTS_STATE)[:3] if i["src"]), 15)
    time.sleep(3)  # the highlight of new events fades
    b.screenshot("events.png", full_page=True)


UPLOAD_STATE = """
return [...document.querySelectorAll('#upload-list .upload-item')].map(u => {
  const img = u.querySelector('img');
  return {name: u.querySelector('.file-name').textContent, state: u.dataset.state,
          task: u.dataset.task || '', src: img ? img.getAttribute('src') : '',
          loaded: !!img && img.complete && img.naturalWidth > 0, text: u.innerText};
});
"""


def check_upload(b, base, api, jpg, png, txt):
    from selenium.webdriver.support.ui import Select
    d = b.driver
    d.get(base + "/#/upload")
    wait_for("the detector list (capabilities of live workers)", lambda: "hog" in [
        o.get_attribute("value") for o in Select(d.find_element("id", "upload-detector")).options],
        15)
    Select(d.find_element("id", "upload-detector")).select_by_value("hog")
    d.find_element("id", "upload-files").send_keys("\n".join([jpg, png, txt]))

    def finished():
        items = b.js(UPLOAD_STATE)
        if len(items) != 3:
            return None
        by = {i["name"]: i for i in items}
        if by["notes.txt"]["state"] != "failed":
            raise CheckFailed("a text file was not refused by the page: %s" % by["notes.txt"])
        for name in ("walkers.jpg", "walkers.png"):
            if by[name]["state"] == "failed":
                raise CheckFailed("the upload of %s failed: %s" % (name, by[name]["text"]))
            if by[name]["state"] != "completed" or "/frame.jpg" not in by[name]["src"] \
                    or not by[name]["loaded"]:
                return None
        return by

    by = wait_for("both uploads to complete with their annotated frames shown", finished, 60)
    for name in ("walkers.jpg", "walkers.png"):
        task = api.get("/api/v1/tasks/" + urllib.parse.quote(by[name]["task"]))
        if task["state"] != "completed" or task["port"] != 0:
            raise CheckFailed("the API says task %s (%s) is %s on port %s" % (
                by[name]["task"], name, task["state"], task["port"]))
        boxes = len(task["record"]["detections"])
        if ("%d detection" % boxes) not in by[name]["text"]:
            raise CheckFailed("the page does not show the %d detections of %s: %r" % (
                boxes, name, by[name]["text"]))
        log("upload %s: task %s completed, %d boxes" % (name, by[name]["task"], boxes))
    if "Not a JPEG or PNG" not in by["notes.txt"]["text"]:
        raise CheckFailed("the refused text file says %r" % by["notes.txt"]["text"])
    b.screenshot("upload.png")


def check_search(b, base):
    d = b.driver
    d.get(base + "/#/search")
    wait_for("the camera checkboxes", lambda: len(d.find_elements(
        "css selector", "#search-ports input[type=checkbox]")) >= 2, 10)
    d.find_element("id", "search-label").send_keys("person")
    click(b, "#search-form button[type=submit]")
    n = wait_for("search results for label person", lambda: len(d.find_elements(
        "css selector", "#search-results .result-card")), 15)
    log("search: %d frames with a person" % n)


def check_phone(b, base, ports):
    d = b.driver
    d.set_window_size(390, 844)
    d.get(base + "/#/")
    wait_for("the phone-width overview with its tiles", lambda: all(
        t["loaded"] for t in b.js(TILE_STATE)) and len(b.js(TILE_STATE)) == len(ports), 30)
    width = b.js("return document.documentElement.scrollWidth")
    inner = b.js("return window.innerWidth")
    if width > inner + 1:
        raise CheckFailed("at phone width the page scrolls sideways: %d px wide in a %d px "
                          "window" % (width, inner))
    b.screenshot("phone.png")
    d.get(base + "/#/events")
    wait_for("the phone-width Events view with a loaded snapshot", lambda: any(
        i["loaded"] for i in b.js(EVENTS_STATE)), 30)
    width = b.js("return document.documentElement.scrollWidth")
    if width > inner + 1:
        raise CheckFailed("at phone width the Events view scrolls sideways: %d px wide in a "
                          "%d px window" % (width, inner))
    b.screenshot("events-phone.png", full_page=True)
    d.set_window_size(1280, 800)


def check_logout(b, base):
    d = b.driver
    d.get(base + "/#/")
    button = wait_for("the Log out button", lambda: d.find_element("id", "logout")
                      if d.find_element("id", "logout").is_displayed() else None, 10)
    button.click()
    wait_for("the login page after logging out", lambda: path_of(d.current_url) == "/login", 10)
    d.get(base + "/")
    wait_for("/ to need the login again", lambda: path_of(d.current_url) == "/login", 10)
    log("logged out: / redirects to the login page again")


def check_console_log(b):
    b.collect_log()
    severe = [e for e in b.logs if e.get("level") == "SEVERE"]
    with open(os.path.join(b.artifacts, "browser-console.json"), "w") as f:
        json.dump(b.logs, f, indent=1)
    if severe:
        raise CheckFailed("the browser console has %d SEVERE entries:\n  %s" % (
            len(severe), "\n  ".join(e["message"] for e in severe[:10])))
    log("browser console: %d entries, none SEVERE" % len(b.logs))


# ---- the pipeline ---------------------------------------------------------------------------

def sender_args(bindir, ports):
    # Half-size frames at 3 fps: hog keeps up on one thread of a 2-core machine that also
    # runs Chromium.
    hog_port, null_port = ports
    return [os.path.join(bindir, "framehive-sender"), "--receiver", "127.0.0.1",
            "--source", VTEST, "--port", str(hog_port), "--stream", "lobby",
            "--source", VTEST, "--port", str(null_port), "--stream", "yard",
            "--fps", "3", "--width", "480", "--loop", "--stats-interval", "0", "--motion", "off"]


def start_pipeline(procs, bindir, tmp, secret_file, mport, ports):
    master = os.path.join(bindir, "framehive-master")
    help_text = subprocess.run([master, "--help"], capture_output=True, text=True).stdout
    if "--stall-after" not in help_text:
        raise CheckFailed("framehive-master has no --stall-after option: the HTTP API of "
                          "docs/http-api.md is not in this build")
    # The secret of the XML-RPC clients is the console's password (docs/http-api.md).
    secret_flag = "--secret-file" if "--secret-file" in help_text else "--auth-file"
    url = "http://127.0.0.1:%d/RPC2" % mport
    hog_port, null_port = ports
    procs.start("master", [master, "--port", str(mport), "--db", os.path.join(tmp, "master.db"),
                           secret_flag, secret_file,
                           "--detector", "%d=hog" % hog_port,
                           "--detector", "%d=haar:frontalface,null" % null_port,
                           "--keep-frames", "300",
                           "--stats-interval", "0", "--max-frame-age", "30",
                           # camera.stalled 3 s after the test stops the sender
                           "--stall-after", "3"])
    procs.start("receiver", [os.path.join(bindir, "framehive-receiver"), "--bind", "127.0.0.1",
                             "--ports", "%d,%d" % (hog_port, null_port), "--master", url,
                             "--auth-file", secret_file, "--stats-interval", "0"])
    for det in ("hog", "null"):
        procs.start("worker-" + det, [os.path.join(bindir, "framehive-worker"), "--master", url,
                                      "--detector", det, "--id", "console-" + det,
                                      "--auth-file", secret_file])
    procs.start("sender", sender_args(bindir, ports))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bindir", help="the build's bin directory (framehive-* binaries)")
    ap.add_argument("--artifacts", default=os.environ.get("FH_ARTIFACTS"),
                    help="screenshots and logs (default: $FH_ARTIFACTS, else "
                    "BIN_DIR/../test-artifacts/console, i.e. build/test-artifacts/console)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    a = ap.parse_args()
    bindir = os.path.abspath(a.bindir)
    artifacts = os.path.abspath(a.artifacts or os.path.join(bindir, "..", "test-artifacts",
                                                            "console"))
    os.makedirs(artifacts, exist_ok=True)
    for stale in ("overview.png", "camera.png", "upload.png", "events.png", "phone.png",
                  "events-phone.png", "failure.png", "failure.html", "browser-console.json"):
        if os.path.exists(os.path.join(artifacts, stale)):
            os.remove(os.path.join(artifacts, stale))

    missing = [p for p in (CHROMIUM, CHROMEDRIVER, VTEST) if not os.path.exists(p)]
    try:
        import selenium  # noqa: F401
        import cv2  # noqa: F401
    except ImportError as e:
        missing.append("python module: %s" % e)
    if missing:
        print("SKIPPED: missing %s (scripts/install-deps.sh installs them)" % ", ".join(missing))
        return SKIP
    for name in ("master", "receiver", "worker", "sender"):
        if not os.access(os.path.join(bindir, "framehive-" + name), os.X_OK):
            print("FAILED: %s/framehive-%s is missing: build first" % (bindir, name))
            return 1

    tmp = tempfile.mkdtemp(prefix="fh-console-")
    procs = Processes(tmp)
    browser = None
    ok = False
    try:
        secret = secrets.token_hex(24)
        secret_file = os.path.join(tmp, "secret")
        fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, (secret + "\n").encode())
        os.close(fd)
        mport = free_port()
        ports = [free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_DGRAM)]
        while ports[1] == ports[0]:
            ports[1] = free_port(socket.SOCK_DGRAM)
        base = "http://127.0.0.1:%d" % mport
        api = Api(base, secret)
        jpg, png, txt = make_uploads(tmp)

        start_pipeline(procs, bindir, tmp, secret_file, mport, ports)

        def api_up():
            procs.check_alive()
            return api.get("/api/v1/status")

        wait_for("the master's /api/v1/status", api_up, 20)
        code, headers = api.status_code("/api/v1/status", auth=False)
        if code != 401:
            raise CheckFailed("/api/v1/status without credentials answered %d, not 401" % code)

        def frames_on_both():
            procs.check_alive()
            s = api.get("/api/v1/status")
            got = {p["port"]: p for p in s["ports"]}
            return all(p in got and got[p].get("latest_task_id") for p in ports)

        wait_for("completed frames on both camera ports %s" % ports, frames_on_both, 60)
        log("pipeline up: master %s, camera ports %s" % (base, ports))

        browser = Browser(artifacts)
        check_login(browser, base, secret)
        check_overview(browser, base, ports)
        check_camera(browser, base, ports[0])
        check_upload(browser, base, api, jpg, png, txt)
        check_search(browser, base)
        check_events(browser, base, api, procs, sender_args(bindir, ports), ports[0])
        check_phone(browser, base, ports)
        procs.check_alive()
        check_logout(browser, base)
        check_console_log(browser)
        ok = True
    except CheckFailed as e:
        print("FAILED: %s" % e, flush=True)
    except Exception:  # noqa: BLE001 - a bug or an unexpected condition: show all of it
        print("FAILED with an unexpected error:", flush=True)
        traceback.print_exc()
    finally:
        if browser is not None:
            if not ok:
                try:
                    browser.driver.save_screenshot(os.path.join(artifacts, "failure.png"))
                    with open(os.path.join(artifacts, "failure.html"), "w") as f:
                        f.write(browser.driver.page_source)
                    print("page at failure: %s (screenshot %s/failure.png)" % (
                        browser.driver.current_url, artifacts))
                    browser.collect_log()
                    for e in browser.logs[-15:]:
                        print("  browser %s: %s" % (e.get("level"), e.get("message")))
                except Exception as e:  # noqa: BLE001
                    print("(could not save the failure screenshot: %s)" % e)
            browser.quit()
        procs.stop_all()
        if not ok:
            for name, _ in procs.procs:
                print("---- %s log (last lines) ----\n%s" % (name, procs.tail(name)))
        if a.keep or not ok:
            print("logs kept in %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    log("PASSED" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
