#!/usr/bin/python3
"""Runs the integration tests and ends with the line `N passed, N failed, N skipped`.

Usage: /usr/bin/python3 tests/integration/run.py [module-or-test ...]
  e.g. run.py test_stream test_errors.BadStartTest.test_missing_file
Environment: VIGIL_BIN, VIGIL_ASSETS (see vigil_harness.py).
Exit status: 0 when nothing failed, 1 otherwise.
"""

import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


class Result(unittest.TextTestResult):
    def startTest(self, test):
        self._t0 = time.monotonic()
        super().startTest(test)

    passed = 0

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1
        if self.showAll:
            self.stream.write("    (%.1f s)\n" % (time.monotonic() - self._t0))
            self.stream.flush()


def main(argv):
    import vigil_harness
    if not vigil_harness.have_binary():
        # Every test would skip; a run that tests nothing must not look green.
        print("vigil binary not found at %s (build it, or set VIGIL_BIN)" % vigil_harness.VIGIL_BIN)
        print("0 passed, 1 failed, 0 skipped")
        return 1
    loader = unittest.TestLoader()
    if argv:
        suite = loader.loadTestsFromNames(argv)
    else:
        suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    runner = unittest.TextTestRunner(verbosity=2, resultclass=Result, stream=sys.stdout)
    t0 = time.monotonic()
    res = runner.run(suite)
    failed = len(res.failures) + len(res.errors) + len(res.unexpectedSuccesses)
    skipped = len(res.skipped)
    passed = res.passed
    print("integration tests: %.0f s" % (time.monotonic() - t0))
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
