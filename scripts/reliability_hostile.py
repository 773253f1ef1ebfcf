#!/usr/bin/env python3
"""Hostile clients for framehive's reliability report (scripts/reliability.sh).

  xmlrpc  --url URL --jpeg FILE [--max-conn N] [--request-timeout S] [--keepalive-timeout S]
          Malformed XML-RPC and HTTP against a running framehive-master (wrong types, missing
          fields, truncated/invalid/huge base64, non-JPEG images, oversized and truncated
          bodies, XML bombs, slow clients, many idle connections, clients resetting mid-reply)
          while a well-behaved client measured alongside keeps calling status() and add_task
          on its own keep-alive connection. Prints one JSON object: every case with its outcome,
          the probe's call count, failures and latency percentiles.
  connflood --url URL --ctl PATH [--idle N] [--slow N] [--seconds S] [--auth-file F]
          Holds N idle TCP connections (nothing sent) and N slow-header ones (one header byte
          every 0.5 s) to the master, reopening whatever it closes, while framehive-ctl status
          runs in a loop and a Python client calls status() on a keep-alive connection. Prints
          {"held_min", "reopened", "ctl": {...}, "probe": {...}} (calls, failures, p50/p99/max).
  udpflood --target HOST:PORT --seconds S [--mode random|header|mixed] [--rate PPS]
          Datagrams of garbage at a receiver port: random bytes, or framehive headers with a
          valid CRC that claim the largest frames under fresh sessions (the expensive kind).
          Prints {"sent": N, ...}.
  udpsessions --target HOST:PORT --seconds S [--rate PPS]
          Forged one-chunk frames (valid CRC and geometry, version 1, no key), each under a
          session never used before: the flood that once evicted a live camera's partial
          frames. Prints {"sent": N, ...}.
  udprecord --listen HOST:PORT --target HOST:PORT --file F [--idle S] [--seconds S]
          A recording relay: forwards every datagram it receives to the target and appends it
          to F (length-prefixed), until nothing came for --idle seconds. Point a sender at
          --listen with the receiver's port number (e.g. 127.0.0.2:PORT for a receiver on
          127.0.0.1:PORT) so the tags stay valid for that port. Prints {"recorded": N}.
  udpreplay --file F --target HOST:PORT [--rate PPS]
          Sends a recording again. Prints {"sent": N}.
"""
import argparse
import base64
import http.client
import json
import os
import random
import select
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib


def http_post(body, path="/RPC2", extra="", version="HTTP/1.1", length=None):
    if isinstance(body, str):
        body = body.encode()
    n = len(body) if length is None else length
    head = (f"POST {path} {version}\r\nHost: x\r\nContent-Type: text/xml\r\n"
            f"Content-Length: {n}\r\n{extra}\r\n")
    return head.encode() + body


def call_xml(method, params_xml=""):
    return (f'<?xml version="1.0"?><methodCall><methodName>{method}</methodName>'
            f"<params>{params_xml}</params></methodCall>")


def frame_xml(image_xml, port="<int>5999</int>", frame_id="<int>1</int>", drop=None):
    fields = {"port": port, "frame_id": frame_id, "captured_at": "<double>0</double>",
              "image": image_xml}
    if drop:
        fields.pop(drop)
    members = "".join(f"<member><name>{k}</name><value>{v}</value></member>"
                      for k, v in fields.items())
    return f"<param><value><struct>{members}</struct></value></param>"


class Raw:
    """One raw TCP connection to the master."""

    def __init__(self, port, timeout=10.0):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        try:
            self.s.sendall(data)
            return True
        except OSError:
            return False

    def response(self, timeout=10.0):
        """One HTTP response (status line .. body) or what arrived before close/timeout."""
        self.s.settimeout(timeout)
        deadline = time.monotonic() + timeout
        while True:
            head_end = self.buf.find(b"\r\n\r\n")
            if head_end >= 0:
                head = self.buf[:head_end].decode("latin-1")
                n = 0
                for line in head.split("\r\n")[1:]:
                    k, _, v = line.partition(":")
                    if k.strip().lower() == "content-length":
                        n = int(v.strip())
                if len(self.buf) >= head_end + 4 + n:
                    r = self.buf[:head_end + 4 + n]
                    self.buf = self.buf[head_end + 4 + n:]
                    return r.decode("latin-1")
            if time.monotonic() > deadline:
                return self.buf.decode("latin-1")
            try:
                d = self.s.recv(65536)
            except (socket.timeout, OSError):
                return self.buf.decode("latin-1")
            if not d:
                r, self.buf = self.buf, b""
                return r.decode("latin-1")
            self.buf += d

    def closed_within(self, seconds):
        """True when the server closes the connection within seconds."""
        self.s.settimeout(0.2)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                d = self.s.recv(65536)
                if not d:
                    return True
                self.buf += d
            except socket.timeout:
                continue
            except OSError:
                return True
        return False

    def reset(self):
        """Close with RST (SO_LINGER 0)."""
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.s.close()

    def close(self):
        self.s.close()


def status_code(resp):
    parts = resp.split(" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[0].startswith("HTTP/") and parts[1].isdigit() else 0


def fault_code(resp):
    at = resp.find("<name>faultCode</name>")
    if at < 0:
        return None
    v = resp[at:at + 200]
    s = v.find("<int>") + 5 if "<int>" in v else v.find("<i4>") + 4
    e = v.find("<", s)
    try:
        return int(v[s:e])
    except ValueError:
        return None


class Probe(threading.Thread):
    """A well-behaved client on its own keep-alive connection: status() and add_task, timed."""

    def __init__(self, port, jpeg, period=0.05):
        super().__init__(daemon=True)
        self.port, self.jpeg, self.period = port, jpeg, period
        self.lat, self.failures, self.errors = [], 0, []
        self.stop = threading.Event()

    def run(self):
        conn = None
        b64 = base64.b64encode(self.jpeg).decode()
        i = 0
        while not self.stop.is_set():
            i += 1
            body = call_xml("status") if i % 2 else call_xml(
                "add_task", frame_xml(f"<base64>{b64}</base64>", port="<int>5998</int>",
                                      frame_id=f"<int>{i}</int>"))
            t0 = time.monotonic()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("POST", "/RPC2", body, {"Content-Type": "text/xml"})
                r = conn.getresponse()
                data = r.read().decode("utf-8", "replace")
                if r.status != 200 or "faultCode" in data:
                    raise RuntimeError(f"HTTP {r.status} {data[:120]}")
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except Exception as e:  # noqa: BLE001 - any failure of the probe is recorded
                self.failures += 1
                if len(self.errors) < 5:
                    self.errors.append(f"{type(e).__name__}: {e}"[:200])
                if conn is not None:
                    conn.close()
                conn = None
            self.lat.append(time.monotonic() - t0)
            self.stop.wait(self.period)

    def summary(self):
        lat = sorted(self.lat) or [0.0]
        pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000.0  # noqa: E731
        return {"calls": len(self.lat), "failures": self.failures, "errors": self.errors,
                "p50_ms": round(pick(0.50), 2), "p99_ms": round(pick(0.99), 2),
                "max_ms": round(lat[-1] * 1000.0, 2)}


def xmlrpc_battery(args):
    port = int(args.url.split(":")[2].split("/")[0])
    jpeg = open(args.jpeg, "rb").read()
    b64 = base64.b64encode(jpeg).decode()
    results = []
    probe = Probe(port, jpeg)
    probe.start()
    time.sleep(0.3)

    def one(name, request, expect, timeout=10.0):
        """expect: 'fault', 'http4xx', 'closed', 'ok'."""
        t0 = time.monotonic()
        try:
            c = Raw(port)
            sent = c.send(request)
            r = c.response(timeout)
            c.close()
        except OSError as e:
            sent, r = False, f"connect: {e}"
        code, fault = status_code(r), fault_code(r)
        if expect == "ok":
            ok = code == 200 and fault is None
        elif expect == "answer":
            # refused with an answer within the timeout: silence means the server is busy on it
            ok = (code == 200 and fault is not None) or code >= 400
        else:
            # refused: an XML-RPC fault, an HTTP error status or the connection closed; the
            # expectation names the preferred form and the table shows what happened
            ok = (code == 200 and fault is not None) or code >= 400 or code == 0
        detail = f"HTTP {code}" + (f", fault {fault}" if fault is not None else "")
        msg = ""
        if fault is not None:
            at = r.find("<name>faultString</name>")
            if at >= 0:
                s = r.find("<string>", at)
                s = r.find(">", s) + 1 if s >= 0 else r.find("<value>", at) + 7
                msg = r[s:r.find("<", s)][:120]
        results.append({"case": name, "expect": expect, "ok": ok, "outcome": detail,
                        "message": msg, "ms": round((time.monotonic() - t0) * 1000, 1)})

    img = lambda x: f"<base64>{x}</base64>"  # noqa: E731
    one("wrong type: port is a string", http_post(call_xml("add_task", frame_xml(img(b64), port="<string>x</string>"))), "fault")
    one("wrong type: frame is an int", http_post(call_xml("add_task", "<param><value><int>3</int></value></param>")), "fault")
    one("missing field: image", http_post(call_xml("add_task", frame_xml(img(b64), drop="image"))), "fault")
    one("missing field: frame_id", http_post(call_xml("add_task", frame_xml(img(b64), drop="frame_id"))), "fault")
    one("wrong parameter count", http_post(call_xml("add_task")), "fault")
    one("port out of range", http_post(call_xml("add_task", frame_xml(img(b64), port="<int>70000</int>"))), "fault")
    one("int overflow", http_post(call_xml("add_task", frame_xml(img(b64), frame_id="<int>99999999999999999999</int>"))), "fault")
    one("truncated base64", http_post(call_xml("add_task", frame_xml(img(b64[: len(b64) // 2 + 1])))), "fault")
    one("invalid base64 characters", http_post(call_xml("add_task", frame_xml(img("!!!!" + b64[4:])))), "fault")
    one("base64 of half a JPEG (no EOI)", http_post(call_xml("add_task", frame_xml(img(base64.b64encode(jpeg[: len(jpeg) // 2]).decode())))), "fault")
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + os.urandom(2000)).decode()
    one("non-JPEG image (PNG)", http_post(call_xml("add_task", frame_xml(img(png)))), "fault")
    one("empty image", http_post(call_xml("add_task", frame_xml(img("")))), "fault")
    big = base64.b64encode(b"\x00" * (1 << 20)).decode()
    one("1 MiB base64 of zeros (not a JPEG)", http_post(call_xml("add_task", frame_xml(img(big)))), "fault")
    one("add_tasks of 1001 frames", http_post(call_xml("add_tasks", "<param><value><array><data>" + "".join(
        f"<value><struct><member><name>port</name><value><int>5999</int></value></member><member><name>frame_id</name><value><int>{i}</int></value></member><member><name>captured_at</name><value><double>0</double></value></member><member><name>image</name><value><base64>{b64[:0]}</base64></value></member></struct></value>"
        for i in range(1001)) + "</data></array></value></param>")), "fault")
    one("unknown method", http_post(call_xml("drop_database")), "fault")
    one("unparsable XML", http_post("<methodCall><methodName>status</methodName><params><param>"), "fault")
    one("not XML at all", http_post(os.urandom(3000)), "fault")
    one("nesting bomb (20k nested arrays)", http_post(call_xml("add_task", "<param><value>" + "<array><data><value>" * 20000 + "</value></data></array>" * 20000 + "</value></param>")), "fault")
    ents = '<!ENTITY a0 "aaaaaaaaaa">' + "".join(f'<!ENTITY a{i} "{("&a%d;" % (i - 1)) * 10}">' for i in range(1, 10))
    one("entity expansion (billion laughs, 10^10 bytes)", http_post(
        f'<?xml version="1.0"?><!DOCTYPE l [{ents}]><methodCall><methodName>&a9;</methodName></methodCall>'),
        "answer")
    one("complete_task for an unknown task", http_post(call_xml("complete_task", "<param><value>x</value></param><param><value>t-1</value></param><param><value><struct><member><name>detections</name><value><array><data/></array></value></member></struct></value></param>")), "ok")
    one("request_task from an unregistered worker", http_post(call_xml("request_task", "<param><value>ghost</value></param>")), "fault")
    one("garbage instead of HTTP", os.urandom(2000) + b"\r\n\r\n", "http4xx")
    one("GET instead of POST", b"GET /RPC2 HTTP/1.1\r\nHost: x\r\n\r\n", "http4xx")
    one("chunked body (no Content-Length)", b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "http4xx")
    one("64 KiB header line", b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nX: " + b"y" * 65536 + b"\r\n\r\n", "http4xx")
    one("Content-Length of 1 GiB announced, nothing sent", http_post(b"", length=1 << 30), "http4xx")
    over = args.max_request_bytes + (1 << 20)
    one(f"oversized body ({over >> 20} MiB sent)", http_post(b"<" * over), "closed", timeout=20)
    one("negative Content-Length", b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", "http4xx")

    # A body shorter than its Content-Length, then close: dropped, nothing processed.
    t0 = time.monotonic()
    c = Raw(port)
    c.send(http_post(call_xml("status"), length=100000))
    c.close()
    results.append({"case": "truncated body, then close", "expect": "closed", "ok": True,
                    "outcome": "client closed", "message": "", "ms": round((time.monotonic() - t0) * 1000, 1)})

    # Clients that reset mid-reply (SIGPIPE/EPIPE on the server): 20 large replies cut short.
    t0 = time.monotonic()
    for _ in range(20):
        c = Raw(port)
        c.send(http_post(call_xml("system.listMethods")) + http_post(call_xml("status")) * 50)
        c.reset()
    results.append({"case": "20 clients reset (RST) mid-reply", "expect": "server alive", "ok": True,
                    "outcome": "sent", "message": "", "ms": round((time.monotonic() - t0) * 1000, 1)})

    # Slow clients: one byte every 0.5 s; they must be dropped after --request-timeout.
    slow = []
    for _ in range(8):
        c = Raw(port)
        slow.append(c)
    req = http_post(call_xml("status"))
    t_slow = time.monotonic()
    dropped = [False] * len(slow)
    i = 0
    while time.monotonic() - t_slow < args.request_timeout + 12 and not all(dropped):
        for k, c in enumerate(slow):
            if not dropped[k] and not c.send(req[i:i + 1]):
                dropped[k] = True
        i += 1
        time.sleep(0.5)
        for k, c in enumerate(slow):
            if not dropped[k]:
                c.s.settimeout(0.01)
                try:
                    if c.s.recv(4096) == b"":
                        dropped[k] = True
                except socket.timeout:
                    pass
                except OSError:
                    dropped[k] = True
    waited = time.monotonic() - t_slow
    results.append({"case": "8 slow clients (1 byte / 0.5 s)",
                    "expect": "dropped at the header deadline (--header-timeout, 2 s)",
                    "ok": all(dropped) and waited < args.request_timeout + 3,
                    "outcome": f"{sum(dropped)}/8 dropped after {waited:.1f} s",
                    "message": "", "ms": round(waited * 1000, 1)})
    for c in slow:
        c.close()

    # Many idle connections: twice --max-conn. Beyond the cap the server refuses or does not
    # accept; the probe's established connection keeps being served; after the keep-alive
    # timeout the idle ones are closed and new connections are accepted again.
    idle = []
    refused = 0
    for _ in range(2 * args.max_conn):
        try:
            idle.append(Raw(port, timeout=2))
        except OSError:
            refused += 1
    t_idle = time.monotonic()
    answered_503 = 0
    for c in idle:
        c.s.settimeout(0.01)
        try:
            d = c.s.recv(4096)
            if d.startswith(b"HTTP/1.1 503"):
                answered_503 += 1
        except (socket.timeout, OSError):
            pass
    ok_new = False
    deadline = time.monotonic() + args.keepalive_timeout + args.request_timeout + 10
    while time.monotonic() < deadline:
        try:
            c = Raw(port, timeout=2)
            c.send(http_post(call_xml("status")))
            if status_code(c.response(2)) == 200:
                ok_new = True
                c.close()
                break
            c.close()
        except OSError:
            pass
        time.sleep(0.2)
    recovered = time.monotonic() - t_idle
    results.append({"case": f"{2 * args.max_conn} idle connections (--max-conn {args.max_conn})",
                    "expect": "held (cheap) until the header deadline; new clients served at once",
                    "ok": ok_new, "outcome": f"{answered_503} answered 503, {refused} connect errors; "
                    f"a new client was served after {recovered:.1f} s", "message": "",
                    "ms": round(recovered * 1000, 1)})
    for c in idle:
        c.close()

    time.sleep(0.5)
    probe.stop.set()
    probe.join()
    out = {"cases": results, "probe": probe.summary()}
    print(json.dumps(out))


def percentiles(lat_s, failures, errors):
    lat = sorted(lat_s)

    def q(f):
        return round(1000 * lat[min(len(lat) - 1, int(f * len(lat)))], 1) if lat else 0.0
    return {"calls": len(lat), "failures": failures, "p50_ms": q(0.5), "p99_ms": q(0.99),
            "max_ms": round(1000 * lat[-1], 1) if lat else 0.0, "errors": errors[:5]}


def conn_flood(args):
    host_port = args.url.split("/")[2]
    host, _, port = host_port.rpartition(":")
    port = int(port)
    header = (b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
              b"Content-Length: 90\r\n\r\n")

    def opened():
        try:
            return socket.create_connection((host, port), timeout=2)
        except OSError:
            return None
    socks = [opened() for _ in range(args.idle + args.slow)]
    sent = [0] * len(socks)
    stop = threading.Event()
    ctl_lat, ctl_fail, ctl_err = [], [0], []
    probe_lat, probe_fail, probe_err = [], [0], []

    def ctl_loop():
        argv = [args.ctl, "--master", args.url, "status", "--json"]
        if args.auth_file:
            argv += ["--auth-file", args.auth_file]
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                r = subprocess.run(argv, capture_output=True, text=True, timeout=15)
                if r.returncode != 0:
                    raise RuntimeError(f"exit {r.returncode}: {r.stderr.strip()[:160]}")
            except Exception as e:  # noqa: BLE001 - every failure is recorded
                ctl_fail[0] += 1
                ctl_err.append(f"{type(e).__name__}: {e}"[:200])
            ctl_lat.append(time.monotonic() - t0)
            stop.wait(0.1)

    def probe_loop():
        conn = None
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(host, port, timeout=10)
                conn.request("POST", "/RPC2", call_xml("status"), {"Content-Type": "text/xml"})
                r = conn.getresponse()
                data = r.read()
                if r.status != 200 or b"faultCode" in data:
                    raise RuntimeError(f"HTTP {r.status} {data[:120]!r}")
            except Exception as e:  # noqa: BLE001
                probe_fail[0] += 1
                probe_err.append(f"{type(e).__name__}: {e}"[:200])
                if conn is not None:
                    conn.close()
                conn = None
            probe_lat.append(time.monotonic() - t0)
            stop.wait(0.02)

    threads = [threading.Thread(target=ctl_loop, daemon=True),
               threading.Thread(target=probe_loop, daemon=True)]
    for t in threads:
        t.start()
    held_min, reopened = len(socks), 0
    end = time.monotonic() + args.seconds
    next_byte = time.monotonic()
    poller = select.poll()
    while time.monotonic() < end:
        poller = select.poll()
        index = {}
        for i, c in enumerate(socks):
            if c is not None:
                poller.register(c.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
                index[c.fileno()] = i
        for fd, _ in poller.poll(50):
            i = index[fd]
            socks[i].close()  # closed or answered by the master: open a new one
            socks[i] = opened()
            sent[i] = 0
            reopened += 1
        held_min = min(held_min, sum(1 for c in socks if c is not None))
        if time.monotonic() >= next_byte:
            next_byte += 0.5
            for i in range(args.idle, len(socks)):
                if socks[i] is not None:
                    try:
                        socks[i].send(header[sent[i] % len(header):][:1])
                    except OSError:
                        pass
                    sent[i] += 1
    stop.set()
    for t in threads:
        t.join()
    for c in socks:
        if c is not None:
            c.close()
    print(json.dumps({"idle": args.idle, "slow": args.slow, "seconds": args.seconds,
                      "held_min": held_min, "reopened": reopened,
                      "ctl": percentiles(ctl_lat, ctl_fail[0], ctl_err),
                      "probe": percentiles(probe_lat, probe_fail[0], probe_err)}))


def udp_flood(args):
    host, _, p = args.target.rpartition(":")
    target = (host, int(p))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rng = random.Random(args.seed)
    sent = 0
    payload = bytes(rng.getrandbits(8) for _ in range(1356))
    crc = zlib.crc32(payload)
    t0 = time.monotonic()
    end = t0 + args.seconds
    randoms = [bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 1400))) for _ in range(256)]
    seq = 0
    chunks = -(-args.frame_len // len(payload))
    while time.monotonic() < end:
        for _ in range(64):
            mode = args.mode if args.mode != "mixed" else ("random" if sent % 2 else "header")
            if mode == "random":
                d = randoms[sent % 256]
            else:
                # A valid header (CRC and chunk geometry right) claiming a --frame-len frame
                # under a fresh session and seq each time: the most memory one datagram can ask
                # the receiver to set aside.
                seq += 1
                index = rng.randrange(chunks - 1)  # any chunk but the last: touches a random page
                header = struct.pack(">IBBBBQIHHIHHQI", 0x46485644, 1, 0, 0, 0, seq, seq, index, chunks,
                                     args.frame_len, len(payload), 0, int(time.time() * 1e6), crc)
                d = header + payload
            try:
                s.sendto(d, target)
                sent += 1
            except OSError:
                pass
        if args.rate:
            ahead = sent / args.rate - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)
    secs = time.monotonic() - t0
    print(json.dumps({"sent": sent, "seconds": round(secs, 2), "rate": round(sent / secs)}))


def udp_sessions(args):
    host, _, p = args.target.rpartition(":")
    target = (host, int(p))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rng = random.Random(args.seed)
    payload = bytes(rng.getrandbits(8) for _ in range(100))
    crc = zlib.crc32(payload)
    session = rng.getrandbits(48) << 16
    sent = 0
    t0 = time.monotonic()
    end = t0 + args.seconds
    while time.monotonic() < end:
        session += 1
        header = struct.pack(">IBBBBQIHHIHHQI", 0x46485644, 1, 0, 3, 0, session, 0, 0, 1,
                             len(payload), len(payload), 0, int(time.time() * 1e6), crc)
        try:
            s.sendto(header + b"cam" + payload, target)
            sent += 1
        except OSError:
            pass
        if args.rate:
            ahead = sent / args.rate - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)
    secs = time.monotonic() - t0
    print(json.dumps({"sent": sent, "seconds": round(secs, 2), "rate": round(sent / secs)}))


def udp_record(args):
    host, _, p = args.listen.rpartition(":")
    thost, _, tp = args.target.rpartition(":")
    target = (thost, int(tp))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((host, int(p)))
    s.settimeout(args.idle)
    out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    n = 0
    print(json.dumps({"listening": args.listen}), flush=True)
    end = time.monotonic() + args.seconds
    with open(args.file, "wb") as f:
        while time.monotonic() < end:
            try:
                d = s.recv(65536)
            except socket.timeout:
                if n:
                    break
                continue
            out.sendto(d, target)
            f.write(struct.pack(">I", len(d)) + d)
            n += 1
    print(json.dumps({"recorded": n}), flush=True)


def udp_replay(args):
    host, _, p = args.target.rpartition(":")
    target = (host, int(p))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    data = open(args.file, "rb").read()
    sent, i, t0 = 0, 0, time.monotonic()
    while i + 4 <= len(data):
        (n,) = struct.unpack(">I", data[i:i + 4])
        s.sendto(data[i + 4:i + 4 + n], target)
        i += 4 + n
        sent += 1
        if args.rate:
            ahead = sent / args.rate - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)
    print(json.dumps({"sent": sent}))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    x = sub.add_parser("xmlrpc")
    x.add_argument("--url", required=True)
    x.add_argument("--jpeg", required=True, help="a valid JPEG for the probe")
    x.add_argument("--max-conn", type=int, default=64)
    x.add_argument("--request-timeout", type=float, default=15)
    x.add_argument("--keepalive-timeout", type=float, default=15)
    x.add_argument("--max-request-bytes", type=int, default=64 << 20)
    f = sub.add_parser("connflood")
    f.add_argument("--url", required=True)
    f.add_argument("--ctl", required=True, help="path of framehive-ctl")
    f.add_argument("--auth-file", default="")
    f.add_argument("--idle", type=int, default=1000)
    f.add_argument("--slow", type=int, default=100)
    f.add_argument("--seconds", type=float, default=15)
    u = sub.add_parser("udpflood")
    u.add_argument("--target", required=True)
    u.add_argument("--seconds", type=float, default=5)
    u.add_argument("--mode", choices=["random", "header", "mixed"], default="mixed")
    u.add_argument("--rate", type=float, default=0, help="datagrams per second (0 = as fast as possible)")
    u.add_argument("--frame-len", type=int, default=8 << 20)
    u.add_argument("--seed", type=int, default=1)
    v = sub.add_parser("udpsessions")
    v.add_argument("--target", required=True)
    v.add_argument("--seconds", type=float, default=5)
    v.add_argument("--rate", type=float, default=3000, help="datagrams per second (0 = unpaced)")
    v.add_argument("--seed", type=int, default=1)
    r = sub.add_parser("udprecord")
    r.add_argument("--listen", required=True)
    r.add_argument("--target", required=True)
    r.add_argument("--file", required=True)
    r.add_argument("--idle", type=float, default=1.0, help="stop after this long without a datagram")
    r.add_argument("--seconds", type=float, default=60)
    y = sub.add_parser("udpreplay")
    y.add_argument("--file", required=True)
    y.add_argument("--target", required=True)
    y.add_argument("--rate", type=float, default=20000)
    args = ap.parse_args()
    {"xmlrpc": xmlrpc_battery, "udpflood": udp_flood, "udpsessions": udp_sessions,
     "udprecord": udp_record, "udpreplay": udp_replay, "connflood": conn_flood}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
