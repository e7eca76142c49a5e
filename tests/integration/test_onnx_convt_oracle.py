"""ONNX ConvTranspose in each of its forms through vigil against ONNX Runtime.

Small one-node models are built here with python3-onnx: 2-D and 1-D (the
loader runs 1-D as 2-D with a height of 1), groups (a block-diagonal dense
filter), dilations (zero taps in a dense filter), auto_pad SAME_UPPER and
SAME_LOWER, output_shape, output_padding (also larger than the padding), the
kernel_shape attribute and an output reaching past the scatter by more than
the stride (which XNNPACK's deconvolution cannot express: the reference
kernel runs it). Each runs in `vigil run` and in ONNX Runtime 1.20.1
(tests/oracle/ort_run.mjs, an executor that shares no code with vigil) on
the same random input; the largest absolute difference must be at most
1e-4 x the range of ORT's output.
"""
import os
import shutil
import subprocess
import tempfile
import unittest

import numpy as np

from test_onnx_oracle import node_ok, NODE_MODULES, ort_outputs
from vigil_harness import VIGIL_BIN

TOL = 1e-4

# name: (input shape, filter shape [C, O/group, k...], attributes, with bias)
CASES = {
    "basic": ((1, 3, 5, 6), (3, 4, 3, 3), dict(strides=[2, 2], pads=[1, 1, 1, 1]), True),
    "asym_pads": ((2, 2, 4, 5), (2, 3, 3, 2), dict(strides=[2, 3], pads=[0, 1, 2, 0]), False),
    "one_d": ((1, 3, 7), (3, 2, 4), dict(strides=[3], pads=[1, 2], output_padding=[2]), True),
    "one_d_groups_dilations": ((1, 4, 6), (4, 3, 3), dict(group=2, dilations=[2], strides=[2]), True),
    "groups": ((1, 4, 5, 5), (4, 3, 3, 3), dict(group=2, strides=[2, 2], pads=[1, 0, 1, 0]), True),
    "depthwise": ((1, 6, 4, 4), (6, 1, 4, 4), dict(group=6, strides=[2, 2], pads=[1, 1, 1, 1]), True),
    "dilations": ((1, 2, 5, 4), (2, 3, 3, 2), dict(dilations=[2, 3], strides=[1, 2], pads=[1, 1, 0, 2]), True),
    "same_upper": ((1, 2, 3, 4), (2, 3, 3, 3), dict(auto_pad="SAME_UPPER", strides=[2, 2]), True),
    "same_lower": ((1, 2, 3, 4), (2, 3, 3, 3), dict(auto_pad="SAME_LOWER", strides=[2, 2]), True),
    "same_upper_even": ((1, 2, 3, 4), (2, 3, 4, 4), dict(auto_pad="SAME_UPPER", strides=[2, 2]), False),
    "output_shape": ((1, 2, 3, 3), (2, 3, 3, 3), dict(strides=[3, 2], output_shape=[10, 8]), True),
    "output_padding": ((1, 2, 4, 4), (2, 3, 3, 3), dict(strides=[3, 2], pads=[1, 1, 1, 1],
                                                        output_padding=[2, 1]), True),
    "output_padding_over_pad": ((1, 2, 4, 4), (2, 3, 3, 3), dict(strides=[3, 3], output_padding=[1, 2]), True),
    "kernel_shape": ((1, 3, 4, 5), (3, 2, 2, 3), dict(kernel_shape=[2, 3], strides=[2, 1]), True),
    "groups_dilations_output_padding": ((1, 6, 4, 3), (6, 2, 3, 2),
                                        dict(group=3, dilations=[2, 2], strides=[2, 3], pads=[2, 1, 1, 0],
                                             output_padding=[1, 2]), True),
}


def build(path, xshape, wshape, attrs, with_bias, rng):
    import onnx
    from onnx import TensorProto as TP
    from onnx import helper as oh
    from onnx import numpy_helper as nh
    group = attrs.get("group", 1)
    w = rng.standard_normal(wshape).astype(np.float32)
    inits = [nh.from_array(w, "w")]
    ins = ["x", "w"]
    if with_bias:
        inits.append(nh.from_array(rng.standard_normal(wshape[1] * group).astype(np.float32), "b"))
        ins.append("b")
    node = oh.make_node("ConvTranspose", ins, ["y"], name="convt", **attrs)
    g = oh.make_graph([node], "convt", [oh.make_tensor_value_info("x", TP.FLOAT, list(xshape))],
                      [oh.make_tensor_value_info("y", TP.FLOAT, None)], inits)
    m = oh.make_model(g, opset_imports=[oh.make_opsetid("", 13)], producer_name="vigil-test")
    m.ir_version = 7
    onnx.save(m, path)


@unittest.skipUnless(node_ok(), f"needs node and {NODE_MODULES}/onnxruntime-node (npm ci in tests/oracle)")
class OnnxConvTransposeOracleTest(unittest.TestCase):

    def setUp(self):
        try:
            import onnx  # noqa: F401
        except ImportError:
            self.skipTest("needs python3-onnx")
        self.tmp = tempfile.mkdtemp(prefix="vigil-convt-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def check(self, name):
        xshape, wshape, attrs, with_bias = CASES[name]
        rng = np.random.default_rng(abs(hash(name)) % (1 << 31))
        model = os.path.join(self.tmp, name + ".onnx")
        build(model, xshape, wshape, attrs, with_bias, rng)
        x = rng.standard_normal(xshape).astype(np.float32)
        ref = ort_outputs(model, x, self.tmp)["y"]
        inp = os.path.join(self.tmp, "x.npy")
        np.save(inp, x)
        out = os.path.join(self.tmp, "out")
        p = subprocess.run([VIGIL_BIN, "run", model, "--input", inp, "--outputs", out], capture_output=True,
                           text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        got = np.load(os.path.join(out, "y.npy"))
        self.assertEqual(got.shape, ref.shape)
        err = np.abs(got.astype(np.float64) - ref)
        rng_ = float(ref.max() - ref.min())
        print(f"  convtranspose {name} {list(ref.shape)}: max abs {err.max():.3g} (limit {TOL * rng_:.3g})")
        self.assertGreater(rng_, 0)
        self.assertLessEqual(err.max(), TOL * rng_)


def _make(name):
    return lambda self: self.check(name)


for _n in CASES:
    setattr(OnnxConvTransposeOracleTest, "test_" + _n, _make(_n))


if __name__ == "__main__":
    unittest.main()
