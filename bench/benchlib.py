"""Shared pieces of the Python benchmarks: the binary, the server process, and RESULT lines.

Benchmarks print figures; they never pass or fail. Each prints, besides its
report, lines "RESULT<TAB>name<TAB>value<TAB>unit<TAB>target" that bench/run
gathers into its summary table.
"""

import os
import selectors
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

import vigil_harness as h  # noqa: E402

SOURCE_720P30 = "lavfi:testsrc2=size=1280x720:rate=30"


def result(name, value, unit, target=""):
    if isinstance(value, float):
        value = "%.2f" % value
    print("RESULT\t%s\t%s\t%s\t%s" % (name, value, unit, target), flush=True)


def need_binary():
    if not h.have_binary():
        print("vigil binary not found at %s (set VIGIL_BIN or build first)" % h.VIGIL_BIN, file=sys.stderr)
        sys.exit(2)


def pctl(values, p):
    """The p-th percentile (0..100) by nearest rank."""
    if not values:
        return float("nan")
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def read_streams(streams, seconds):
    """Reads MJPEG streams for a while: streams maps a non-blocking socket whose request was sent to the
    h.MultipartParser that takes its parts (each part stamped when the recv() that completes it returns).
    Closes the sockets at the end and returns how many the server closed before."""
    sel = selectors.DefaultSelector()
    heads = {}
    for s in streams:
        sel.register(s, selectors.EVENT_READ)
        heads[s] = bytearray()
    end = time.monotonic() + seconds
    closed = 0
    while time.monotonic() < end:
        for key, _ in sel.select(timeout=0.1):
            s = key.fileobj
            try:
                d = s.recv(262144)
            except BlockingIOError:
                continue
            except OSError:
                d = b""
            now = time.time()
            if not d:
                sel.unregister(s)
                closed += 1
                continue
            head = heads[s]
            if head is not None:
                head += d
                i = head.find(b"\r\n\r\n")
                if i < 0:
                    continue
                d = bytes(head[i + 4:])
                heads[s] = None
            streams[s].feed(d, now)
    for s in streams:
        s.close()
    sel.close()
    return closed
