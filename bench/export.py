#!/usr/bin/python3
"""`vigil detect --save-video`: what writing the annotated MP4 costs against inference alone.

CenterNet (the demo's model) on vtest.avi (768x576, 10 fps), the first N
frames, four ways side by side:

- `vigil detect` at --threads 1 and 2: decode and inference one frame at a
  time, the JSON lines on stdout (the inference-only rate);
- `vigil detect --save-video OUT.mp4 --save-tracks OUT.txt` at --threads 1
  and 2: decode, inference and drawing + H.264 encoding on threads of their
  own.

The rate is frames per second between the first JSON line and the process's
exit (so the model's loading is left out and the encoder's final flush and
the MP4's trailer are counted). The machine's speed drifts, so the four runs
are made in rounds, one of each per round in turn, and the median round is
the figure. Target: --save-video at --threads 1 keeps at least 90% of the
inference-only rate at --threads 1 (the encoder has the other core).

Usage: bench/export.py [--frames N] [--rounds N] [--model FILE] [--video FILE]
Environment: VIGIL_BIN, VIGIL_CACHE (see tests/integration).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import h, need_binary, result

CACHE = (os.environ.get("VIGIL_CACHE")
         or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
                         "vigil"))
CENTERNET = os.path.join(CACHE, "human-models-3.0.4", "models", "centernet.json")


def run(model, video, frames, threads, out_dir=None):
    """Frames per second from the first JSON line to the exit, and the frames seen."""
    args = [h.VIGIL_BIN, "detect", "--model", model, "--threads", str(threads), "--max-frames", str(frames)]
    if out_dir:
        args += ["--save-video", os.path.join(out_dir, "bench.mp4"), "--save-tracks",
                 os.path.join(out_dir, "bench.txt")]
    p = subprocess.Popen(args + [video], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    first, n = None, 0
    for _ in p.stdout:
        n += 1
        if first is None:
            first = time.monotonic()
    err = p.stderr.read()
    rc = p.wait()
    end = time.monotonic()
    if rc != 0 or n < 2:
        raise RuntimeError("vigil exited %d after %d lines: %s" % (rc, n, err.strip()[-500:]))
    return (n - 1) / (end - first), n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--model", default=CENTERNET)
    ap.add_argument("--video", default=h.VTEST)
    a = ap.parse_args()
    need_binary()
    for path, what in ((a.model, "model (scripts/fetch-demo-assets)"), (a.video, "video (Debian opencv-doc)")):
        if not os.path.exists(path):
            print("export: skipped: %s %s missing" % (what, path))
            return 0
    configs = [("detect_t1", 1, False), ("detect_t2", 2, False), ("save_video_t1", 1, True),
               ("save_video_t2", 2, True)]
    fps = {c[0]: [] for c in configs}
    with tempfile.TemporaryDirectory() as d:
        for r in range(a.rounds):
            for name, threads, save in configs:
                f, n = run(a.model, a.video, a.frames, threads, d if save else None)
                fps[name].append(f)
                print("round %d  %-14s %6.2f fps  (%d frames)" % (r + 1, name, f, n), flush=True)
    med = {k: statistics.median(v) for k, v in fps.items()}
    print()
    print("%s, %d frames of %s, median of %d rounds (frames per second):" % (
        os.path.basename(a.model), a.frames, os.path.basename(a.video), a.rounds))
    print("%-10s %16s %22s %8s" % ("threads", "detect (infer)", "detect --save-video", "ratio"))
    for t in (1, 2):
        plain, save = med["detect_t%d" % t], med["save_video_t%d" % t]
        print("%-10d %16.2f %22.2f %7.0f%%" % (t, plain, save, 100 * save / plain))
    for name in fps:
        result("export_%s" % name, med[name], "fps")
    result("export_save_video_ratio_t1", 100 * med["save_video_t1"] / med["detect_t1"], "%", ">= 90")
    result("export_save_video_ratio_t2", 100 * med["save_video_t2"] / med["detect_t2"], "%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
