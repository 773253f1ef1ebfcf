#!/usr/bin/env python3
"""What an open console costs the master: its CPU with 8 cameras and no console, with the
Overview open in headless Chromium, with a camera page open (live view and chart), and with
no console again, side by side in one run (docs/benchmarks.md, "Console cost").

A benchmark, not a test: it prints a table. Run with Debian's python3 (python3-selenium):
  /usr/bin/python3 tests/bench/bench_console.py build/bin [--seconds 20] [--fps 5]

The pipeline: one master, one receiver on 8 UDP ports, one sender playing vtest.avi and
Megamind.avi (4 cameras each) at --fps, and null workers (decode only), so that the machine
is not saturated and the master's own CPU is what changes. Master CPU is read from
/proc/PID/stat (utime + stime) over each window; "renders" is the master's
framehive_frame_renders_total over the window (annotated frames drawn for the console).
"""
import argparse
import os
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "console"))
import test_console as tc  # noqa: E402  (the console test's process and browser helpers)

MEGAMIND = "/usr/share/doc/opencv-doc/examples/data/Megamind.avi"


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick  # utime, stime


def metric(base, name):
    body = urllib.request.urlopen(base + "/metrics", timeout=10).read().decode()
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def completed(base):
    import json
    s = json.load(urllib.request.urlopen(base + "/api/v1/status", timeout=10))
    return sum(p["completed"] for p in s["ports"])


def window(pid, base, seconds):
    c0, r0, f0, t0 = cpu_seconds(pid), metric(base, "framehive_frame_renders_total"), \
        completed(base), time.monotonic()
    time.sleep(seconds)  # the measurement window itself, not a wait for an event
    c1, r1, f1, t1 = cpu_seconds(pid), metric(base, "framehive_frame_renders_total"), \
        completed(base), time.monotonic()
    dt = t1 - t0
    return {"cpu_pct": 100.0 * (c1 - c0) / dt, "renders": r1 - r0, "fps": (f1 - f0) / dt}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bindir")
    ap.add_argument("--seconds", type=float, default=20.0, help="length of each window")
    ap.add_argument("--fps", type=float, default=5.0, help="frames per second per camera")
    ap.add_argument("--cameras", type=int, default=8)
    a = ap.parse_args()
    bindir = os.path.abspath(a.bindir)
    tmp = tempfile.mkdtemp(prefix="fh-bench-console-")
    procs = tc.Processes(tmp)
    browser = None
    try:
        mport = tc.free_port()
        ports = []
        while len(ports) < a.cameras:
            p = tc.free_port(tc.socket.SOCK_DGRAM)
            if p not in ports:
                ports.append(p)
        url = "http://127.0.0.1:%d/RPC2" % mport
        base = "http://127.0.0.1:%d" % mport
        master = procs.start("master", [os.path.join(bindir, "framehive-master"), "--port",
                                        str(mport), "--db", os.path.join(tmp, "m.db"),
                                        "--default-detector", "null", "--stats-interval", "0"])
        procs.start("receiver", [os.path.join(bindir, "framehive-receiver"), "--bind",
                                 "127.0.0.1", "--ports", ",".join(map(str, ports)), "--master",
                                 url, "--stats-interval", "0"])
        for i in range(2):
            procs.start("worker-%d" % i, [os.path.join(bindir, "framehive-worker"), "--master",
                                          url, "--detector", "null", "--id", "null-%d" % i])
        sender = [os.path.join(bindir, "framehive-sender"), "--receiver", "127.0.0.1", "--fps",
                  str(a.fps), "--loop", "--stats-interval", "0", "--motion", "off"]
        for i, p in enumerate(ports):
            sender += ["--source", tc.VTEST if i % 2 == 0 else MEGAMIND, "--port", str(p),
                       "--stream", "cam%d" % (i + 1)]
        procs.start("sender", sender)
        tc.wait_for("the cameras completing frames", lambda: completed(base) > 4 * a.cameras, 60)
        time.sleep(3)  # settle: the first seconds include start-up work

        rows = []
        rows.append(("no console", window(master.pid, base, a.seconds)))
        browser = tc.Browser(tmp)
        browser.driver.get(base + "/")
        tc.wait_for("the overview's tiles", lambda: browser.js(
            "return document.querySelectorAll('img').length") >= a.cameras, 30)
        rows.append(("overview open", window(master.pid, base, a.seconds)))
        browser.driver.get(base + "/#/camera/%d" % ports[0])
        time.sleep(2)
        rows.append(("camera page open", window(master.pid, base, a.seconds)))
        browser.quit()
        browser = None
        rows.append(("no console again", window(master.pid, base, a.seconds)))
        procs.check_alive()

        idle = (rows[0][1]["cpu_pct"] + rows[3][1]["cpu_pct"]) / 2
        print("\nmaster CPU with %d cameras at %.0f fps each (%.0f s windows, one run)" %
              (a.cameras, a.fps, a.seconds))
        print("%-20s %14s %16s %10s %14s" % ("console", "master CPU %", "extra vs none",
                                              "renders", "frames/s done"))
        for name, r in rows:
            extra = r["cpu_pct"] - idle
            print("%-20s %14.1f %16s %10.0f %14.1f" % (
                name, r["cpu_pct"], "-" if name.startswith("no") else "%+.1f" % extra,
                r["renders"], r["fps"]))
        print("(CPU % of one core; 'extra' against the mean of the two no-console windows)")
    finally:
        if browser is not None:
            browser.quit()
        procs.stop_all()


if __name__ == "__main__":
    main()
