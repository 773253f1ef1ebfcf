#!/usr/bin/env python3
"""A seeded UDP impairment proxy: loss, duplication and reordering between a sender and a receiver.

Used by scripts/reliability.sh where the kernel has no netem qdisc (CONFIG_NET_SCH_NETEM off):
it listens on --listen HOST:PORT and forwards every datagram to --forward HOST:PORT, dropping a
fraction (--loss), sending a second copy of some (--dup) and holding some back until 1..3 later
datagrams went out (--reorder). Every decision comes from one seeded generator, and what it did
is counted and written as JSON to --stats (on SIGTERM/SIGINT or after --idle-exit seconds of
silence), so a test can check the receiver's counters against exactly what happened on the path.

  reliability_netem.py --listen 127.0.0.1:6000 --forward 127.0.0.1:5000 \\
      --loss 0.05 --dup 0.01 --reorder 0.25 --seed 7 --stats proxy.json
"""
import argparse
import json
import random
import select
import signal
import socket
import sys
import time


def addr(text):
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listen", type=addr, required=True, help="HOST:PORT to receive on")
    ap.add_argument("--forward", type=addr, required=True, help="HOST:PORT to forward to")
    ap.add_argument("--loss", type=float, default=0.0, help="fraction of datagrams dropped")
    ap.add_argument("--dup", type=float, default=0.0, help="fraction sent twice")
    ap.add_argument("--reorder", type=float, default=0.0,
                    help="fraction held back until 1..3 later datagrams were sent")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--stats", help="write the counters here as JSON at exit")
    ap.add_argument("--idle-exit", type=float, default=0.0,
                    help="exit after this many seconds without a datagram (0 = never)")
    args = ap.parse_args()

    rng = random.Random(args.seed)
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    rx.bind(args.listen)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    counts = {"received": 0, "forwarded": 0, "dropped": 0, "duplicated": 0, "reordered": 0}
    held = []  # [datagram, datagrams still to pass before it goes out]
    stop = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.append(1))

    def send(d):
        tx.sendto(d, args.forward)
        counts["forwarded"] += 1

    def release(force=False):
        keep = []
        for item in held:
            item[1] -= 1
            if force or item[1] <= 0:
                send(item[0])
            else:
                keep.append(item)
        held[:] = keep

    last = time.monotonic()
    while not stop:
        try:
            ready, _, _ = select.select([rx], [], [], 0.05)
        except InterruptedError:
            continue
        if not ready:
            release(force=True)  # a quiet path flushes what it held back
            if args.idle_exit and time.monotonic() - last > args.idle_exit:
                break
            continue
        d = rx.recv(65536)
        last = time.monotonic()
        counts["received"] += 1
        if rng.random() < args.loss:
            counts["dropped"] += 1
            continue
        copies = 2 if rng.random() < args.dup else 1
        counts["duplicated"] += copies - 1
        if rng.random() < args.reorder:
            counts["reordered"] += 1
            held.append([d, rng.randint(1, 3)])
            if copies == 2:
                send(d)
            continue
        for _ in range(copies):
            send(d)
        release()
    release(force=True)
    if args.stats:
        with open(args.stats, "w") as f:
            json.dump(counts, f)
    print(json.dumps(counts), file=sys.stderr)


if __name__ == "__main__":
    main()
