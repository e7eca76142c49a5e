#!/usr/bin/python3
"""Fan-out cost: the server's CPU while it streams 1280x720 at 30 fps to 1, 10 and 100 clients.

One server; clients are added in steps (1, then 10, then 100) and the server's
utime+stime (from /proc/PID/stat) is measured over a window at each step. The
clients sit in this process on one selector and only count bytes (no parsing),
so that they keep up. Target: 100 clients cost less than twice the CPU of one.

Usage: bench/fanout.py [--seconds N] [--source URI]
"""

import argparse
import os
import selectors
import sys
import time

from benchlib import h, result, need_binary, SOURCE_720P30


class Sink:
    """Clients that read and discard everything they are sent."""

    def __init__(self):
        self.sel = selectors.DefaultSelector()
        self.buf = bytearray(1 << 20)
        self.view = memoryview(self.buf)
        self.socks = []
        self.bytes = 0
        self.errors = 0

    def add(self, port):
        # Each client from an address of its own, as viewers are: one address may hold only a few connections.
        s = h.open_stream(port, timeout=5, source="127.0.11.%d" % (len(self.socks) % 250 + 1))
        s.setblocking(False)
        self.sel.register(s, selectors.EVENT_READ)
        self.socks.append(s)

    def pump(self, seconds):
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            for key, _ in self.sel.select(timeout=min(left, 0.1)):
                try:
                    n = key.fileobj.recv_into(self.view)
                except BlockingIOError:
                    continue
                except OSError:
                    n = 0
                if n == 0:
                    self.errors += 1
                    self.sel.unregister(key.fileobj)
                    continue
                self.bytes += n

    def close(self):
        for s in self.socks:
            s.close()
        self.sel.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=6.0, help="measurement window per step")
    ap.add_argument("--source", default=SOURCE_720P30)
    args = ap.parse_args()
    need_binary()
    h.raise_nofile(4096)

    v = h.Vigil.start(args.source, "--quiet")
    sink = Sink()
    rows = []
    try:
        time.sleep(1.0)
        for n in (1, 10, 100):
            while len(sink.socks) < n:
                sink.add(v.port)
            sink.pump(1.5)  # settle
            s0 = v.stats()
            b0 = sink.bytes
            t0, (u0, k0) = time.monotonic(), h.cpu_times(v.pid)
            me0 = os.times()
            sink.pump(args.seconds)
            t1, (u1, k1) = time.monotonic(), h.cpu_times(v.pid)
            me1 = os.times()
            c0, c1 = u0 + k0, u1 + k1
            user = 100.0 * (u1 - u0) / (t1 - t0)
            system = 100.0 * (k1 - k0) / (t1 - t0)
            client_cpu = 100.0 * ((me1.user + me1.system) - (me0.user + me0.system)) / (t1 - t0)
            s1 = v.stats()
            cpu = 100.0 * (c1 - c0) / (t1 - t0)
            frames = s1["output"]["frames"] - s0["output"]["frames"]
            jpeg_bytes = s1["output"]["bytes"] - s0["output"]["bytes"]
            avg_jpeg = jpeg_bytes / frames if frames else 0
            recv_mb_s = (sink.bytes - b0) / (t1 - t0) / 1e6
            per_client_fps = ((sink.bytes - b0) / avg_jpeg / n / (t1 - t0)) if avg_jpeg else 0
            skipped = s1["clients"]["frames_skipped"] - s0["clients"]["frames_skipped"]
            rows.append((n, cpu, frames / (t1 - t0), per_client_fps, recv_mb_s, skipped))
            print("%3d clients: server CPU %6.1f%% (user %.1f%%, system %.1f%%)  output %.1f fps (%.0f KB/frame)  "
                  "per client ~%.1f fps  received %.0f MB/s  skipped %d  closed %d  (client process CPU %.0f%%)"
                  % (n, cpu, user, system, frames / (t1 - t0), avg_jpeg / 1e3, per_client_fps, recv_mb_s, skipped,
                     sink.errors, client_cpu), flush=True)
    finally:
        sink.close()
        v.stop()
        v.kill()

    base = rows[0][1]
    ratio = rows[-1][1] / base if base > 0 else float("nan")
    print("CPU ratio 100 clients / 1 client: %.2fx (target < 2x)" % ratio)
    print("(on loopback the kernel usually runs the receiver's TCP input processing inside the sender's send(),"
          " so the server's system time includes part of the clients' side)")
    for n, cpu, _, fps, _, _ in rows:
        result("fanout_cpu_%d_clients" % n, cpu, "% CPU", "")
        result("fanout_client_fps_%d_clients" % n, fps, "fps", "30")
    result("fanout_cpu_ratio_100_vs_1", ratio, "x", "< 2")


if __name__ == "__main__":
    sys.exit(main())
