"""Shared pieces of the Python benchmarks: the binary, the server process, and RESULT lines.

Benchmarks print figures; they never pass or fail. Each prints, besides its
report, lines "RESULT<TAB>name<TAB>value<TAB>unit<TAB>target" that bench/run
gathers into its summary table.
"""

import os
import sys

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
