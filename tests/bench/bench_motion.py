#!/usr/bin/python3
"""Motion gating benchmark: what --motion gate (and the worker's --motion-crop) saves, and what
recall it costs, on a scene with idle periods. A program that prints a table, not a test.

The scene is built from vtest.avi (768x576, 10 fps, people walking) with /usr/bin/python3 + cv2:
--cycles times (--still seconds of one vtest frame repeated with sensor-like Gaussian noise,
then --moving seconds of vtest.avi continuing after that frame), written as an MJPG .avi (every
frame JPEG-encoded, the noise included) into a temporary directory. Then, for each mode, the real
pipeline on 127.0.0.1 (framehive-sender at the file's own rate -> framehive-receiver ->
framehive-master -> 2 hog workers x 1 thread, as bench_e2e.py starts them; the master keeps
every frame: --max-pending-per-port 100000, --max-frame-age 0):

  off         framehive-sender --motion off
  gate        framehive-sender --motion gate
  gate+crop   framehive-sender --motion gate, framehive-worker --motion-crop

Per mode: frames sent and datagram bytes (the sender's final line), detection tasks (completed
by the master), worker CPU-seconds (utime + stime of the worker processes, /proc/PID/stat, from
before the sender starts until the master has drained), and person recall on the moving
stretches against off: off's detections on moving-stretch frames are the reference; one is
recalled when the mode processed the same frame of the video and found a detection with
IoU >= 0.5 (greedy one-to-one per frame). Frames are matched by their position in the video,
not by frame_id (gated frames use no frame id): index = round((captured_at - captured_at of
frame 0) x fps). The sender always sends the first frame and paces a file by its timestamps,
so captured_at is frame 0's plus index / fps; off (where index must equal frame_id) checks
this, and the table says how far it was off.

Cameras per worker core at 5 detections/s per camera: a camera at 5 fps sends half the frames of
this 10 fps scene, so its detection cost is C5 = (worker CPU-s / scene seconds) x 5 / fps, and
one core carries 1 / C5 cameras. (For gate this assumes the frames with motion halve too; the
keep-alives, one per --idle-interval, do not, so it slightly flatters gate at 5 fps.)

Target (issue 13): gate (+crop) needs <= 1/3 of off's worker CPU-seconds at >= 95% recall.

Usage: /usr/bin/python3 tests/bench/bench_motion.py [--bin build/bin] [--cycles 3] [--still 20]
         [--moving 10] [--modes off,gate,gate+crop] [--out F]
"""
import argparse
import os
import sys
import tempfile

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_e2e as e2e  # noqa: E402  (the pipeline runner and helpers)

MODES = {
    "off": (["--motion", "off"], []),
    "gate": (["--motion", "gate"], []),
    "gate+crop": (["--motion", "gate"], ["--motion-crop"]),
}


def build_scene(path, cycles, still_s, moving_s, noise_sigma, seed=1):
    """Writes the scene; returns (fps, frame count, list of moving-stretch frame indices)."""
    cap = cv2.VideoCapture(e2e.VTEST)
    frames = []
    ok, img = cap.read()
    while ok:
        frames.append(img)
        ok, img = cap.read()
    if not frames:
        raise RuntimeError("cannot read " + e2e.VTEST)
    fps = cap.get(cv2.CAP_PROP_FPS) or 10.0
    n_still, n_moving = int(round(still_s * fps)), int(round(moving_s * fps))
    # Walking stretches spread over the video, each starting where its still frame was taken.
    span = len(frames) - n_moving - 1
    starts = [int(span * (c + 0.5) / cycles) for c in range(cycles)]
    h, w = frames[0].shape[:2]
    out = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    if not out.isOpened():
        raise RuntimeError("cannot write " + path)
    rng = np.random.default_rng(seed)
    moving, index = [], 0

    def put(img):
        noise = rng.normal(0.0, noise_sigma, img.shape)
        out.write(np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8))

    for s in starts:
        for _ in range(n_still):
            put(frames[s])
            index += 1
        for k in range(1, n_moving + 1):  # walking resumes with the frame after the still one
            put(frames[s + k])
            moving.append(index)
            index += 1
    out.release()
    return fps, index, moving


def iou(a, b):
    x0, y0 = max(a["x"], b["x"]), max(a["y"], b["y"])
    x1 = min(a["x"] + a["w"], b["x"] + b["w"])
    y1 = min(a["y"] + a["h"], b["y"] + b["h"])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    union = a["w"] * a["h"] + b["w"] * b["h"] - inter
    return inter / union if union > 0 else 0.0


def index_records(recs, fps):
    """{scene frame index: record}, by captured_at relative to frame_id 0 (always sent)."""
    first = [r for r in recs if r["frame_id"] == 0]
    if not first:
        raise RuntimeError("frame 0 was not processed: cannot place frames in the video")
    t0 = first[0]["captured_at"]
    out, worst = {}, 0.0
    for r in recs:
        pos = (r["captured_at"] - t0) * fps
        out[int(round(pos))] = r
        worst = max(worst, abs(pos - round(pos)))
    return out, worst


def recall(ref, mode, moving):
    """Share of off's person detections on moving frames that mode found (IoU >= 0.5)."""
    total = found = 0
    for i in moving:
        if i not in ref:
            continue
        refs = [d for d in ref[i]["detections"] if d["label"] == "person"]
        total += len(refs)
        if i not in mode:
            continue
        cand = [d for d in mode[i]["detections"] if d["label"] == "person"]
        for d in refs:
            best, bj = 0.0, -1
            for j, c in enumerate(cand):
                v = iou(d, c)
                if v > best:
                    best, bj = v, j
            if best >= 0.5:
                found += 1
                cand.pop(bj)
    return found, total


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.abspath(os.path.join(here, "..", ".."))
    ap.add_argument("--bin", default=os.path.join(root, "build", "bin"))
    ap.add_argument("--cycles", type=int, default=3, help="still + moving stretches (3)")
    ap.add_argument("--still", type=float, default=20.0, help="seconds of each still stretch (20)")
    ap.add_argument("--moving", type=float, default=10.0,
                    help="seconds of each walking stretch (10)")
    ap.add_argument("--noise", type=float, default=3.0,
                    help="sensor noise: Gaussian sigma in 8-bit levels, every frame (3)")
    ap.add_argument("--modes", default="off,gate,gate+crop",
                    help="comma-separated, from off, gate, gate+crop; off is the reference")
    ap.add_argument("--out", default="", help="also write the table to this Markdown file")
    a = ap.parse_args()
    modes = a.modes.split(",")
    if modes[0] != "off" or any(m not in MODES for m in modes):
        ap.error("--modes: off first, then any of gate, gate+crop")
    if not e2e.sender_has_motion(a.bin):
        if modes != ["off"]:
            ap.error("framehive-sender in %s has no --motion (issue 13): only --modes off" % a.bin)
        MODES["off"] = ([], [])  # a sender without motion detection sends every frame
    tmp = tempfile.mkdtemp(prefix="fh-bench-motion-")
    scene = os.path.join(tmp, "scene.avi")
    fps, n, moving = build_scene(scene, a.cycles, a.still, a.moving, a.noise)
    seconds = n / fps
    print("scene: %s, %d frames at %.0f fps (%.0f s), %d of them walking" % (
        scene, n, fps, seconds, len(moving)), flush=True)

    results = {}
    for mode in modes:
        sender_args, worker_args = MODES[mode]
        r = e2e.run_pipeline(a.bin, tmp, mode, scene, 0, None,
                             ["--max-pending-per-port", "100000", "--max-frame-age", "0"],
                             worker_args=worker_args, sender_args=sender_args)
        placed, worst = index_records(r["records"], fps)
        if mode == "off":
            bad = sum(1 for i, rec in placed.items() if rec["frame_id"] != i)
            if bad or len(placed) != len(r["records"]):
                raise RuntimeError("off: %d frames placed at another index than their frame_id: "
                                   "the sender's pacing fell behind; rerun" % bad)
        results[mode] = (r, placed, worst)
        print("%s: done in %.0f s" % (mode, r["wall"]), flush=True)

    ref = results["off"][1]
    off_cpu = results["off"][0]["cpu"]["workers"]
    rows = []
    for mode in modes:
        r, placed, worst = results[mode]
        port = r["status"]["ports"][0]
        cpu = r["cpu"]["workers"]
        c5 = cpu / seconds * 5.0 / fps
        found, total = recall(ref, placed, moving)
        rec = 100.0 * found / total if total else float("nan")
        share = cpu / off_cpu if off_cpu > 0 else float("nan")
        if mode == "off":
            target = "reference"
        else:
            met = share <= 1 / 3 and rec >= 95
            target = "%s (CPU %.0f%% of off, recall %.1f%%)" % (
                "met" if met else "**missed**", 100 * share, rec)
        rows.append((mode, r["sender"].get("frames", "?"), r["sender"].get("gated", "-"),
                     r["sender"].get("bytes", "?"), str(port["completed"]),
                     "%.1f" % cpu, "%.1f%% (%d/%d)" % (rec, found, total),
                     "%.1f" % (1 / c5 if c5 > 0 else float("inf")),
                     "%.3f" % worst, target))
    head = ("mode", "frames sent", "gated", "datagram bytes", "detection tasks",
            "worker CPU-s", "recall (moving, vs off)", "cameras/core @5 det/s",
            "max |index - round|", "target: <= 1/3 CPU at >= 95% recall")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    text = "\n".join(lines)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
