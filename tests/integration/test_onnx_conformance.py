"""ONNX's backend node tests (Debian's libonnx-testdata) through vigil's ONNX loader.

Runs build/tests/onnx-conformance (tests/onnx_conformance.c) over every
test_*/ folder and checks its summary against a floor, so that a change that
breaks ops fails here. The floors are the counts measured when they were
last set (513 of 932 pass, 430 of the 447 tests of the issue's op list,
after NonMaxSuppression, the quantized ops, Resize/Pad/pooling modes,
ConvTranspose's forms and opsets 1 to 21 landed) minus a small margin.
Also: nothing crashes, and a test of an op vigil maps
with the same numbers as ONNX (test_relu, test_conv_with_strides_padding,
test_softmax_axis_1) passes by name. The whole sweep takes about a second.
"""
import os
import re
import subprocess
import unittest

import vigil_harness as h

RUNNER = os.environ.get("VIGIL_ONNX_CONFORMANCE") or os.path.join(os.path.dirname(h.VIGIL_BIN), "tests",
                                                                   "onnx-conformance")
DATA = "/usr/share/libonnx-testdata/data/node"
FLOOR_PASS = 509
FLOOR_LISTED_PASS = 427
MUST_PASS = ("test_relu", "test_conv_with_strides_padding", "test_softmax_axis_1", "test_concat_3d_axis_1",
             "test_gemm_default_no_bias", "test_maxpool_2d_pads", "test_batchnorm_epsilon",
             "test_nonmaxsuppression_two_classes", "test_qlinearconv", "test_convtranspose_dilations",
             "test_resize_upsample_sizes_cubic", "test_reflect_pad", "test_dynamicquantizelinear", "test_matmul_4d",
             "test_argmax_negative_axis_keepdims_example_select_last_index",
             "test_maxpool_with_argmax_2d_precomputed_strides", "test_maxpool_2d_uint8")


@unittest.skipUnless(os.access(RUNNER, os.X_OK), f"needs {RUNNER}")
@unittest.skipUnless(os.path.isdir(DATA), f"needs {DATA} (Debian's libonnx-testdata)")
class OnnxConformanceTest(unittest.TestCase):

    def test_sweep(self):
        p = subprocess.run([RUNNER, DATA], capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        lines = p.stdout.rstrip("\n").split("\n")
        m = re.match(r"summary: (\d+) tests: (\d+) pass, (\d+) fail, (\d+) unsupported; ops of the issue's list: "
                     r"(\d+) tests, (\d+) pass", lines[-1])
        self.assertIsNotNone(m, lines[-1])
        total, passed, failed, unsup, listed, listed_pass = map(int, m.groups())
        print(f"  {lines[-1]}")
        self.assertEqual(passed + failed + unsup, total)
        self.assertEqual(total, len(lines) - 1)
        self.assertGreaterEqual(passed, FLOOR_PASS)
        self.assertGreaterEqual(listed_pass, FLOOR_LISTED_PASS)
        verdict = {ln.split(":")[0]: ln.split(":", 1)[1].strip() for ln in lines[:-1]}
        for name in MUST_PASS:
            self.assertTrue(verdict.get(name, "").startswith("pass"), f"{name}: {verdict.get(name)}")


if __name__ == "__main__":
    unittest.main()
