#!/usr/bin/python3
"""vigil against ONNX Runtime on every ONNX model in the assets, one thread each.

For each model, in interleaved rounds: `vigil bench MODEL --threads 1` times
its runs, then ONNX Runtime (bench/ort/ort_bench.mjs, npm onnxruntime-node 1.31.1
from bench/ort, one intra-op and one inter-op thread, all graph optimisations)
times as many straight after, on the same input values (vigil bench's fixed
pseudo-random input). The machine's speed drifts from minute to minute, so the
figure per model is the median over rounds of vigil's p50 / ONNX Runtime's p50
in that round. Goal: at most 1 on every model.

A model this build of vigil cannot load is reported as "not loadable by this
build" with the first line of vigil's message. ONNX Runtime is installed into
bench/ort on first use (npm). Prints figures; exits non-zero only when nothing
could be measured.

Usage: bench/onnx_ort.py [--runs N] [--warmup N] [--rounds N] [--profile] [MODEL.onnx ...]
Environment: VIGIL_BIN, VIGIL_ASSETS (see tests/integration/vigil_harness.py).
"""

import argparse
import glob
import os
import re
import statistics
import subprocess
import sys
import tempfile

from benchlib import h, need_binary, result

HERE = os.path.dirname(os.path.abspath(__file__))
ORT_DIR = os.path.join(HERE, "ort")
LINE = re.compile(r"min ([0-9.]+) ms\s+p50 ([0-9.]+) ms\s+p90 ([0-9.]+) ms\s+mean ([0-9.]+) ms")
# Models whose file leaves the input size unknown: the size both engines get.
SIZES = {"ch_ppocr_mobile_v2.0_cls_infer.onnx": "192x48"}


def stats(text):
    m = LINE.search(text)
    return dict(zip(("min", "p50", "p90", "mean"), (float(v) for v in m.groups()))) if m else None


def vigil_bench(model, runs, warmup, size, profile=False):
    """Figures as a dict, or the reason it did not run as a string (and the profile text when asked)."""
    cmd = [h.VIGIL_BIN, "bench", model, "--threads", "1", "--runs", str(runs), "--warmup", str(warmup)]
    if size:
        cmd += ["--input-size", size]
    if profile:
        cmd.append("--profile")
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        return "timed out after 900 s", ""
    s = stats(p.stdout)
    if p.returncode != 0 or not s:
        first = (p.stderr.strip() or p.stdout.strip() or f"exit {p.returncode}").splitlines()[0]
        return first.replace("vigil: ", "", 1).replace(model + ": ", "", 1)[:160], ""
    return s, p.stdout


def ensure_ort():
    """The path of onnxruntime-node 1.31.1 in bench/ort, installing it when missing; None with a message."""
    if os.path.isdir(os.path.join(ORT_DIR, "node_modules", "onnxruntime-node")):
        return True
    print("  installing onnxruntime-node into bench/ort (npm ci)...")
    p = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=ORT_DIR, capture_output=True, text=True,
                       timeout=900)
    if p.returncode != 0:
        print("  ONNX Runtime: npm ci failed: " + (p.stderr.strip().splitlines() or ["?"])[-1])
        return False
    return True


class Ort:
    """A loaded ONNX Runtime session in a Node process, timed on request."""

    def __init__(self, model, size):
        cmd = ["node", os.path.join(ORT_DIR, "ort_bench.mjs"), model]
        if size:
            cmd += ["--size", size]
        # Its messages go to a file: a pipe nobody reads while it runs would fill and stall it.
        self.log = tempfile.TemporaryFile(mode="w+")
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.p.stdout.readline()
        if line.strip() != "ready":
            self.p.wait()
            self.log.seek(0)
            err = [l for l in self.log.read().splitlines() if "Error" in l]
            raise RuntimeError(err[0].strip() if err else "ort_bench.mjs did not start")

    def time(self, runs, warmup):
        self.p.stdin.write(f"RUN {runs} {warmup}\n")
        self.p.stdin.flush()
        return stats(self.p.stdout.readline())

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=60)
        self.log.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=30, help="timed runs per engine and round (default 30)")
    ap.add_argument("--warmup", type=int, default=5, help="untimed runs first (default 5)")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds per model (default 5)")
    ap.add_argument("--profile", action="store_true", help="print vigil's time per op type for each model")
    ap.add_argument("models", nargs="*", help="ONNX files (default: every .onnx in the assets)")
    args = ap.parse_args()
    need_binary()
    models = args.models or sorted(glob.glob(os.path.join(h.ASSETS, "models", "onnx", "*.onnx")))
    print("ONNX models, vigil against ONNX Runtime 1.31.1, 1 thread each, interleaved rounds:")
    if not models:
        print(f"  skipped: no .onnx file under {os.path.join(h.ASSETS, 'models', 'onnx')}")
        return 1
    have_ort = ensure_ort()
    measured = 0
    rows = []
    for model in models:
        name = os.path.basename(model)[:-5] if model.endswith(".onnx") else os.path.basename(model)
        size = SIZES.get(os.path.basename(model))
        first, profile = vigil_bench(model, args.runs, args.warmup, size, args.profile)
        loadable = isinstance(first, dict)
        if not loadable:
            print(f"  {name}: not loadable by this build: {first}")
            result(f"onnx_{name}_vigil_p50_1t", "not loadable by this build", "ms")
        measured += 1
        if args.profile and profile:
            print(f"  {name}: vigil --profile\n" + "\n".join("    " + l for l in profile.splitlines()))
        ort = None
        if have_ort:
            try:
                ort = Ort(model, size)
            except (RuntimeError, OSError) as e:
                print(f"  {name}: ONNX Runtime cannot run it: {e}")
        ours, theirs, ratios = [], [], []
        for _ in range(args.rounds):
            v = vigil_bench(model, args.runs, args.warmup, size)[0] if loadable else None
            o = ort.time(args.runs, args.warmup) if ort else None
            if isinstance(v, dict):
                ours.append(v["p50"])
            if o:
                theirs.append(o["p50"])
            if isinstance(v, dict) and o:
                ratios.append(v["p50"] / o["p50"])
        if ort:
            ort.close()
        v50 = statistics.median(ours) if ours else (first["p50"] if loadable else None)
        o50 = statistics.median(theirs) if theirs else None
        ratio = statistics.median(ratios) if ratios else None
        if v50 is None and o50 is None:
            measured -= 1
            continue
        rows.append((name, v50, o50, ratio, (min(ratios), max(ratios)) if ratios else None))
        if v50 is not None:
            result(f"onnx_{name}_vigil_p50_1t", "%.3f" % v50, "ms")
        if o50 is not None:
            result(f"onnx_{name}_ort_p50_1t", "%.3f" % o50, "ms")
        if ratio is not None:
            result(f"onnx_{name}_vigil_over_ort_1t", "%.2f" % ratio, "x", "<= 1")
    print("  %-48s %12s %12s %10s  %s" % ("model", "vigil p50", "ORT p50", "ratio", "rounds"))
    for name, v50, o50, ratio, span in rows:
        v = "%9.3f ms" % v50 if v50 is not None else "%12s" % "-"
        o = "%9.3f ms" % o50 if o50 is not None else "%12s" % "-"
        r = "%10.2f" % ratio if ratio is not None else "%10s" % "-"
        s = "%.2f-%.2f" % span if span else ""
        print("  %-48s %s %s %s  %s" % (name, v, o, r, s))
    return 0 if measured else 1


if __name__ == "__main__":
    sys.exit(main())
