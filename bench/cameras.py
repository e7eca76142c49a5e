#!/usr/bin/python3
"""Many cameras in one server: 16 lavfi cameras of 640x480 at 10 fps sharing one small model, then 8
cameras with 10 viewers each.

Part 1 prints, per camera, the stream fps and analysis fps, the spread of analysis fps between cameras
(fairness), and the server's CPU and RSS. Part 2 prints the stream fps each viewer receives and the
latency from capture (X-Capture-Time) to the arrival of a frame's last byte, p50 and p99.

Usage: bench/cameras.py [--seconds N] [--workers N] [--model PATH]
"""

import argparse
import os
import statistics
import sys
import time

from benchlib import h, result, need_binary, pctl, read_streams

CACHE = (os.environ.get("VIGIL_CACHE")
         or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
                         "vigil"))
BLAZEFACE = os.path.join(CACHE, "human-models-3.0.4", "models", "blazeface.json")


def config(ncams, workers, model, size="640x480", rate=10):
    text = "listen: 127.0.0.1:{port}\nlog_level: warn\ninference_workers: %d\n" % workers
    if model:
        text += "models:\n  small:\n    model: %s\n" % model
    text += "cameras:\n"
    for i in range(ncams):
        # Each camera a different picture, so that no two encode the same.
        text += '  cam%02d:\n    source: "lavfi:testsrc2=size=%s:rate=%d,hue=h=%d"\n' % (i, size, rate, i * 20)
        if model:
            text += "    model: small\n"
    return text


def part1(args):
    v = h.ConfigVigil(config(16, args.workers, args.model))
    try:
        v.wait_ready(60)
        time.sleep(3.0)
        cpu0, t0 = h.cpu_seconds(v.pid), time.monotonic()
        time.sleep(args.seconds)
        cpu1, t1 = h.cpu_seconds(v.pid), time.monotonic()
        s = v.stats()
        rss = h.rss_kib(v.pid) / 1024.0
    finally:
        v.kill()
    cams = s["cameras"]
    out = [c["output"]["fps"] for c in cams]
    ana = [c["analysis"]["fps"] for c in cams]
    share = [c["analysis"]["share"] for c in cams]
    print("16 cameras 640x480 at 10 fps, model %s, %d inference worker(s), %.0f s:"
          % (os.path.basename(args.model) if args.model else "none", args.workers, args.seconds))
    print("  %-6s %10s %12s %8s" % ("camera", "stream fps", "analysis fps", "share"))
    for c, o, a, sh in zip(cams, out, ana, share):
        print("  %-6s %10.2f %12.2f %8.3f" % (c["name"], o, a, sh))
    mean_a = statistics.mean(ana) if ana else 0.0
    spread = (max(ana) - min(ana)) / mean_a if mean_a > 0 else float("nan")
    cpu = 100.0 * (cpu1 - cpu0) / (t1 - t0)
    print("  stream fps: min %.2f, mean %.2f; analysis fps: min %.2f, mean %.2f, max %.2f (spread %.0f%% of the mean)"
          % (min(out), statistics.mean(out), min(ana), mean_a, max(ana), 100 * spread))
    print("  server CPU %.0f%% (of one core), RSS %.0f MiB" % (cpu, rss))
    result("cameras16-stream-fps-min", min(out), "fps", ">= 9.5")
    result("cameras16-analysis-fps-mean", mean_a, "fps")
    result("cameras16-analysis-spread", 100 * spread, "% of mean", "small")
    result("cameras16-cpu", cpu, "% of a core")
    result("cameras16-rss", rss, "MiB")


def part2(args):
    v = h.ConfigVigil(config(8, args.workers, args.model))
    try:
        v.wait_ready(60)
        time.sleep(2.0)
        lat, frames = [], {}
        t_start = time.time() + 1.5

        def counter(key):
            def on_part(p):
                if p.t_done >= t_start:
                    frames[key] = frames.get(key, 0) + 1
                    if p.capture_time is not None:
                        lat.append((p.t_done - p.capture_time) * 1000.0)
            return on_part

        streams = {}
        for cam in range(8):
            for viewer in range(10):
                n = len(streams)
                s = h.open_stream(v.port, path="/cam/cam%02d/video_feed" % cam, timeout=5,
                                  source="127.0.12.%d" % (n % 250 + 1))
                s.setblocking(False)
                streams[s] = h.MultipartParser(keep_body=False, on_part=counter(n))
        read_streams(streams, 1.5 + args.seconds)
    finally:
        v.kill()
    fps = [frames.get(k, 0) / args.seconds for k in range(len(streams))]
    print("8 cameras x 10 viewers, 640x480 at 10 fps, %.0f s:" % args.seconds)
    print("  fps per viewer: min %.2f, mean %.2f; latency capture to client p50 %.1f ms, p99 %.1f ms (%d frames)"
          % (min(fps), statistics.mean(fps), pctl(lat, 50), pctl(lat, 99), len(lat)))
    result("cameras8x10-viewer-fps-min", min(fps), "fps", ">= 9.5")
    result("cameras8x10-latency-p50", pctl(lat, 50), "ms", "< 110")
    result("cameras8x10-latency-p99", pctl(lat, 99), "ms")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--model", default=BLAZEFACE if os.path.exists(BLAZEFACE) else "")
    args = ap.parse_args()
    need_binary()
    h.raise_nofile(4096)
    if not args.model:
        print("no model (scripts/fetch-demo-assets gives BlazeFace); cameras run without analysis", file=sys.stderr)
    part1(args)
    part2(args)


if __name__ == "__main__":
    main()
