#!/usr/bin/python3
"""Latency: from a frame's capture (its X-Capture-Time) to the arrival of the last byte of its
JPEG at the client, p50 and p99, with 1 and with 100 clients, 1280x720 at 30 fps.

The clients run in this process, parse every part by Content-Length and stamp
it when the recv() that completes it returns, so client-side queueing is part
of the figure (with 100 clients on a 2-core machine it is a real share of it).
Target: p50 under one frame interval plus 10 ms.

Usage: bench/latency.py [--seconds N] [--source URI] [--fps N]
"""

import argparse
import sys
import time

from benchlib import h, result, need_binary, pctl, read_streams, SOURCE_720P30


def measure(port, nclients, seconds):
    lat = []
    t_start = time.time() + 1.5

    def on_part(p):
        if p.t_done >= t_start and p.capture_time is not None:
            lat.append((p.t_done - p.capture_time) * 1000.0)

    streams = {}
    for i in range(nclients):
        # Each client from an address of its own, as viewers are: one address may hold only a few connections.
        s = h.open_stream(port, timeout=5, source="127.0.13.%d" % (i % 250 + 1))
        s.setblocking(False)
        streams[s] = h.MultipartParser(keep_body=False, on_part=on_part)
    closed = read_streams(streams, 1.5 + seconds)
    return lat, closed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--source", default=SOURCE_720P30)
    ap.add_argument("--fps", type=float, default=30.0, help="the source's frame rate, for the target")
    args = ap.parse_args()
    need_binary()
    h.raise_nofile(4096)
    target = 1000.0 / args.fps + 10.0
    v = h.Vigil.start(args.source, "--quiet")
    try:
        time.sleep(1.0)
        for n in (1, 100):
            lat, closed = measure(v.port, n, args.seconds)
            p50, p99 = pctl(lat, 50), pctl(lat, 99)
            print("%3d clients: %d samples  p50 %.1f ms  p99 %.1f ms  min %.1f  max %.1f  (target p50 < %.1f ms)%s"
                  % (n, len(lat), p50, p99, min(lat) if lat else float("nan"), max(lat) if lat else float("nan"),
                     target, "  %d streams closed early" % closed if closed else ""), flush=True)
            result("latency_p50_%d_clients" % n, p50, "ms", "< %.1f" % target)
            result("latency_p99_%d_clients" % n, p99, "ms", "")
            time.sleep(0.5)
        s = v.stats()
        print("server-side capture to JPEG ready (EWMA): %.1f ms; encode %.1f ms"
              % (s["output"]["latency_ms"], s["output"]["encode_ms"]))
    finally:
        v.stop()
        v.kill()


if __name__ == "__main__":
    sys.exit(main())
