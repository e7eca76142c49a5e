#!/usr/bin/python3
"""TensorFlow's own model formats in vigil, and OpenCV DNN 4.6 beside it on the face detector.

One thread each, in the same run, timed runs after a warm-up:

- OpenCV's face detector (frozen GraphDef, opencv_face_detector_uint8.pb, 300x300):
  `vigil bench` against OpenCV DNN (cv2.dnn.readNetFromTensorflow(pb, pbtxt),
  cv2.setNumThreads(1), net.forward() timed here in Python). Both get the same
  input tensor: the pseudo-random one `vigil bench` fills its inputs with
  (xorshift32, (s % 2001) / 1000 - 1), made here in the same order and handed
  to OpenCV in its NCHW layout. OpenCV is timed twice: to the raw heads
  (forward(["mbox_loc", "mbox_conf_flatten"]), the work vigil's graph does)
  and the whole net with its PriorBox and DetectionOutput layers (decoding and
  NMS, which vigil does outside the model). The machine's speed drifts from
  minute to minute, so the ratio is also taken in paired rounds (vigil, then
  OpenCV straight after) and the median round is the figure. Target: vigil at
  most half OpenCV's time to the heads.
- The Keras mini-Xception emotion classifier (.hdf5, one 64x64 grey crop per
  run). Target: under 1 ms per crop.
- The Keras sudoku digit classifier (.h5) and the two SavedModels (MNIST
  digits, PP-HumanSeg portrait segmentation).

A model this build of vigil cannot load is reported as "not loadable by this
build" (with the first line of vigil's message), not as a failure, so the
script runs before and after the TensorFlow loaders are merged. Prints
figures; it exits non-zero only when nothing at all could be measured.

Usage: bench/tf_formats.py [--runs N] [--warmup N] [--rounds N]
Environment: VIGIL_BIN, VIGIL_ASSETS (see tests/integration/vigil_harness.py).
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

from benchlib import h, need_binary, result

ASSETS = h.ASSETS
FACE_PB = os.path.join(ASSETS, "models", "tf_frozen", "opencv_face_detector_uint8.pb")
FACE_PBTXT = os.path.join(ASSETS, "models", "tf_frozen", "opencv_face_detector.pbtxt")
OTHERS = [
    # (result name, path, what it is, target in ms or None)
    ("emotion_hdf5", os.path.join(ASSETS, "models", "keras", "fer2013_mini_XCEPTION.102-0.66.hdf5"),
     "Keras mini-Xception emotions, 64x64 grey crop", 1.0),
    ("sudoku_h5", os.path.join(ASSETS, "models", "keras", "sudoku_digit_classifier.h5"),
     "Keras sudoku digit CNN, 28x28", None),
    ("mnist_savedmodel", os.path.join(ASSETS, "models", "savedmodel", "mnist_digits_keras_ahadali01"),
     "SavedModel MNIST MLP, 28x28", None),
    ("humanseg_savedmodel", os.path.join(ASSETS, "models", "savedmodel", "humanseg_ppseg_lite_portrait_onnx2tf"),
     "SavedModel PP-HumanSeg-Lite, 398x224", None),
]
HEADS = ["mbox_loc", "mbox_conf_flatten"]
LINE = re.compile(r"min ([0-9.]+) ms\s+p50 ([0-9.]+) ms\s+p90 ([0-9.]+) ms\s+mean ([0-9.]+) ms")


def bench_supports(option):
    p = subprocess.run([h.VIGIL_BIN, "bench", "--help"], capture_output=True, text=True, timeout=30)
    return option in p.stdout


def vigil_bench(model, runs, warmup, extra=()):
    """{'min', 'p50', 'p90', 'mean'} in ms, or the reason it did not run as a string."""
    try:
        p = subprocess.run([h.VIGIL_BIN, "bench", model, "--threads", "1", "--runs", str(runs), "--warmup",
                            str(warmup), *extra], capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        return "timed out after 900 s"
    m = LINE.search(p.stdout)
    if p.returncode != 0 or not m:
        first = (p.stderr.strip() or p.stdout.strip() or f"exit {p.returncode}").splitlines()[0]
        return first.replace("vigil: ", "", 1).replace(model + ": ", "", 1)[:140]
    return dict(zip(("min", "p50", "p90", "mean"), (float(v) for v in m.groups())))


def bench_input(n):
    """vigil bench's float input: a xorshift32 sequence from 2463534242, each value (s % 2001) / 1000 - 1 in float32."""
    import numpy as np
    r = np.empty(n, np.float32)
    s = 2463534242
    m = 0xFFFFFFFF
    for i in range(n):
        s ^= (s << 13) & m
        s ^= s >> 17
        s ^= (s << 5) & m
        r[i] = s % 2001
    # The same single-precision steps as the C code: no double rounding.
    return r / np.float32(1000.0) - np.float32(1.0)


class OpenCvFace:
    """OpenCV DNN 4.6 on the face detector, one thread, on vigil bench's input."""

    def __init__(self):
        import cv2
        import numpy as np
        cv2.setNumThreads(1)
        self.cv2 = cv2
        self.net = cv2.dnn.readNetFromTensorflow(FACE_PB, FACE_PBTXT)
        self.net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        self.net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
        nhwc = bench_input(300 * 300 * 3).reshape(1, 300, 300, 3)
        self.net.setInput(np.ascontiguousarray(nhwc.transpose(0, 3, 1, 2)))

    def time(self, runs, warmup, heads):
        def once():
            return self.net.forward(HEADS) if heads else self.net.forward()
        for _ in range(warmup):
            once()
        lat = []
        for _ in range(runs):
            t0 = time.perf_counter()
            once()
            lat.append((time.perf_counter() - t0) * 1000.0)
        lat.sort()
        return {"min": lat[0], "p50": lat[len(lat) // 2], "p90": lat[(len(lat) * 9) // 10],
                "mean": sum(lat) / len(lat)}


def fmt(v):
    return "%.3f" % v if isinstance(v, float) else str(v)


def face(args):
    print("OpenCV face detector (frozen GraphDef, 300x300), 1 thread, the same input tensor in both:")
    if not (os.path.isfile(FACE_PB) and os.path.isfile(FACE_PBTXT)):
        print(f"  skipped: {FACE_PB} or its .pbtxt is absent")
        result("tf_face_pb_vigil_p50_1t", "absent", "ms")
        return 0
    extra = ("--input-size", "300x300") if bench_supports("--input-size") else ()
    ours = vigil_bench(FACE_PB, args.runs, args.warmup, extra)
    try:
        ocv = OpenCvFace()
    except Exception as e:  # OpenCV missing or unable to read the files: say so, keep going
        ocv = None
        print(f"  OpenCV DNN: cannot run: {e}")
    measured = 0
    rows = []
    if isinstance(ours, dict):
        rows.append(("vigil (graph to the heads)", ours))
        measured += 1
    else:
        print(f"  vigil: not loadable by this build: {ours}")
    if ocv:
        heads = ocv.time(args.runs, args.warmup, True)
        full = ocv.time(args.runs, args.warmup, False)
        rows.append(("OpenCV DNN %s to the heads" % ocv.cv2.__version__, heads))
        rows.append(("OpenCV DNN %s whole net (+ DetectionOutput)" % ocv.cv2.__version__, full))
        measured += 1
    print("  %-46s %10s %10s %10s %10s" % ("", "min ms", "p50 ms", "p90 ms", "mean ms"))
    for name, r in rows:
        print("  %-46s %10.3f %10.3f %10.3f %10.3f" % (name, r["min"], r["p50"], r["p90"], r["mean"]))
    result("tf_face_pb_vigil_p50_1t", ours["p50"] if isinstance(ours, dict) else "not loadable by this build", "ms")
    if ocv:
        result("tf_face_pb_opencv_p50_1t", heads["p50"], "ms")
        result("tf_face_pb_opencv_full_p50_1t", full["p50"], "ms")
    if isinstance(ours, dict) and ocv:
        print(f"  ratio of p50s, vigil / OpenCV to the heads: {ours['p50'] / heads['p50']:.2f} "
              f"(of minimums {ours['min'] / heads['min']:.2f})")
        ratios = []
        for r in range(args.rounds):
            v = vigil_bench(FACE_PB, max(5, args.runs // 4), 2, extra)
            o = ocv.time(max(5, args.runs // 4), 2, True)
            if isinstance(v, dict):
                ratios.append(v["p50"] / o["p50"])
                print(f"  round {r + 1}: vigil p50 {v['p50']:.3f} ms, OpenCV p50 {o['p50']:.3f} ms: "
                      f"{ratios[-1]:.2f}")
        if ratios:
            med = statistics.median(ratios)
            print(f"  paired rounds: median vigil / OpenCV {med:.2f} ({min(ratios):.2f}-{max(ratios):.2f}); "
                  f"target <= 0.5")
            result("tf_face_pb_vigil_over_opencv_1t_paired", "%.2f" % med, "x", "<= 0.5")
    return measured


def others(args):
    print("\nTensorFlow formats in vigil, 1 thread:")
    print("  %-22s %-46s %10s %10s %10s  %s" % ("model", "", "min ms", "p50 ms", "p90 ms", "target"))
    measured = 0
    for name, path, what, target in OTHERS:
        if not os.path.exists(path):
            print("  %-22s %-46s absent: %s" % (name, what, path))
            result(f"tf_{name}_p50_1t", "absent", "ms")
            continue
        r = vigil_bench(path, args.runs, args.warmup)
        tgt = f"< {target:g} ms" if target else ""
        if isinstance(r, dict):
            measured += 1
            print("  %-22s %-46s %10.3f %10.3f %10.3f  %s" % (name, what, r["min"], r["p50"], r["p90"], tgt))
            result(f"tf_{name}_p50_1t", r["p50"], "ms", tgt)
        else:
            print("  %-22s %-46s not loadable by this build: %s" % (name, what, r))
            result(f"tf_{name}_p50_1t", "not loadable by this build", "ms", tgt)
    return measured


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=50, help="timed runs per measurement (default 50)")
    ap.add_argument("--warmup", type=int, default=5, help="untimed runs first (default 5)")
    ap.add_argument("--rounds", type=int, default=5, help="paired vigil/OpenCV rounds (default 5; 0: none)")
    args = ap.parse_args()
    need_binary()
    measured = face(args) + others(args)
    return 0 if measured else 1


if __name__ == "__main__":
    sys.exit(main())
