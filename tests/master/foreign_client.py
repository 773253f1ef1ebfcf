#!/usr/bin/env python3
"""Drives a framehive-master as a foreign client would: Python's standard xmlrpc.client only.

Usage: foreign_client.py URL. Exits non-zero with a message on the first mismatch. When URL
carries credentials (http://framehive:SECRET@host:port/RPC2, HTTP Basic authentication), it first
checks that the same URL without them, or with a wrong password, is refused with HTTP 401.
"""
import os
import sys
import time
import urllib.parse
import xmlrpc.client

JPEG = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz", "corpus", "jpeg",
                         "optimized_8x8.jpg"), "rb").read()  # a real 8x8 JPEG


def check(cond, what):
    if not cond:
        print("foreign_client: FAILED: " + what, file=sys.stderr)
        sys.exit(1)


def check_refused(url, what):
    try:
        xmlrpc.client.ServerProxy(url).system.listMethods()
        check(False, what + " must be refused")
    except xmlrpc.client.ProtocolError as e:
        check(e.errcode == 401, what + ": HTTP 401, got %d" % e.errcode)
        challenge = e.headers.get("WWW-Authenticate", "")
        check(challenge == 'Basic realm="framehive"', what + ": challenge " + repr(challenge))


def main():
    url = sys.argv[1]
    parts = urllib.parse.urlsplit(url)
    if parts.username is not None:
        host = parts.hostname + (":%d" % parts.port if parts.port else "")
        check_refused(urllib.parse.urlunsplit(parts._replace(netloc=host)), "no credentials")
        wrong = parts.username + ":wrong-password@" + host
        check_refused(urllib.parse.urlunsplit(parts._replace(netloc=wrong)), "wrong password")
    m = xmlrpc.client.ServerProxy(url, use_builtin_types=True)
    methods = m.system.listMethods()
    for name in ("add_task", "add_tasks", "register_worker", "heartbeat", "request_task",
                 "complete_task", "fail_task", "get_results", "status"):
        check(name in methods, "listMethods has " + name)
    now = time.time()
    tid = m.add_task({"port": 6000, "stream": "py", "frame_id": 1, "captured_at": now,
                      "image": JPEG, "detector": "null"})
    check(isinstance(tid, str), "add_task returns a string")
    ids = m.add_tasks([{"port": 6000, "frame_id": 2, "captured_at": now, "image": JPEG,
                        "detector": "null"}])
    check(len(ids) == 1, "add_tasks returns one id per frame")
    reg = m.register_worker("py-worker", "python", ["null"])
    check(reg["heartbeat_interval"] > 0 and reg["task_timeout"] > 0, "register_worker reply")
    check(m.heartbeat("py-worker") is True, "heartbeat of a known worker")
    task = m.request_task("py-worker", 500)
    check(task["task_id"] == tid and task["image"] == JPEG and task["attempt"] == 1,
          "request_task hands out the first frame intact")
    ok = m.complete_task("py-worker", tid, {"detections": [
        {"label": "person", "confidence": 0.5, "x": 1, "y": 2, "w": 3, "h": 4}],
        "processing_ms": 1.5})
    check(ok is True, "complete_task accepted")
    check(m.complete_task("py-worker", tid, {"detections": [], "processing_ms": 0.0}) is False,
          "second completion refused")
    task2 = m.request_task("py-worker", 500)
    check(m.fail_task("py-worker", task2["task_id"], "cannot decode") is True, "fail_task")
    check(m.request_task("py-worker", 10) == {}, "empty struct when idle")
    res = m.get_results(6000)
    check(len(res) == 1 and res[0]["detections"][0]["label"] == "person", "get_results")
    check(len(m.get_results(6000, 1)) == 1, "get_results with limit")
    st = m.status()
    check(st["completed"] == 1 and st["failed"] == 1, "status counters")
    try:
        m.add_task({"port": "not a number", "frame_id": 1, "captured_at": now, "image": JPEG})
        check(False, "wrong type must fault")
    except xmlrpc.client.Fault as f:
        check("frame.port" in f.faultString, "fault names the field: " + f.faultString)
    try:
        m.add_task({"port": 6000, "frame_id": 1, "captured_at": now, "image": b"GIF89a"})
        check(False, "non-JPEG must fault")
    except xmlrpc.client.Fault as f:
        check("not a JPEG" in f.faultString, "non-JPEG fault: " + f.faultString)
    check(m.status()["pending"] == 0, "still serving after faults")
    print("foreign_client: all checks passed")


if __name__ == "__main__":
    main()
