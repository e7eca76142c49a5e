"""ONNX Runtime's quantized operators (QOperator format and dynamic quantization) through vigil against ONNX Runtime.

One graph built here with python3-onnx holds every op of the kind: x (float,
from a real photo) -> DynamicQuantizeLinear -> ConvInteger (uint8 weights,
with a zero point, the input's zero point at run time; ONNX Runtime takes
no per-channel weight zero points there) -> Cast
-> Mul by both scales -> Relu -> QuantizeLinear -> QLinearConv (int8 weights
per channel, int32 bias, stride 2) -> DequantizeLinear = y_conv; then
Flatten -> QuantizeLinear -> QLinearMatMul (constant int8 B, per tensor) ->
DequantizeLinear = y_qmm, and DynamicQuantizeLinear -> MatMulInteger
(uint8 B with a zero point) -> Cast -> Mul = y_dmm.

vigil (`vigil run`) and ONNX Runtime 1.20.1 (tests/oracle/ort_run.mjs) run it
on the same input. The quantized outputs may differ by one step of their
output scale (rounding ties: ONNX rounds half to even, vigil's reference
convolution half away from zero), and y_dmm, which starts from y_conv, by
the same one step of the conv's output carried through the product (bounded
here by 2% of its range); the figures are printed.
"""
import os
import shutil
import subprocess
import tempfile
import unittest

import numpy as np

from test_onnx_oracle import IMG, NODE_MODULES, node_ok, ort_outputs, preprocess
from vigil_harness import VIGIL_BIN

S_CONV = 0.05   # y_conv's quantization step
S_QMM = 0.1     # y_qmm's


def build_model(path):
    import onnx
    from onnx import TensorProto as TP
    from onnx import helper as oh
    from onnx import numpy_helper as nh
    rng = np.random.default_rng(7)
    w1 = rng.integers(0, 256, size=(8, 3, 3, 3), dtype=np.uint8)
    w1z = np.array(131, np.uint8)
    w2 = rng.integers(-127, 128, size=(4, 8, 3, 3), dtype=np.int8)
    w2s = (rng.random(4).astype(np.float32) * 0.004 + 0.001)
    b2 = rng.integers(-2000, 2000, size=4, dtype=np.int32)
    bq = rng.integers(-127, 128, size=(256, 10), dtype=np.int8)
    bu = rng.integers(0, 256, size=(256, 10), dtype=np.uint8)
    f32 = lambda v: np.array(v, np.float32)  # noqa: E731
    inits = [nh.from_array(w1, "w1"), nh.from_array(w1z, "w1z"), nh.from_array(f32(0.01), "w1s"),
             nh.from_array(f32(0.1), "s1"), nh.from_array(np.array(0, np.uint8), "z1"),
             nh.from_array(w2, "w2"), nh.from_array(w2s, "w2s"), nh.from_array(np.zeros(4, np.int8), "w2z"),
             nh.from_array(f32(S_CONV), "s2"), nh.from_array(np.array(128, np.uint8), "z2"),
             nh.from_array(b2, "b2"),
             nh.from_array(bq, "bq"), nh.from_array(f32(0.004), "bqs"), nh.from_array(np.array(0, np.int8), "bqz"),
             nh.from_array(f32(S_QMM), "s3"), nh.from_array(np.array(120, np.uint8), "z3"),
             nh.from_array(bu, "bu"), nh.from_array(np.array(128, np.uint8), "buz"), nh.from_array(f32(0.03), "bus")]
    nodes = [oh.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
             oh.make_node("ConvInteger", ["xq", "w1", "xz", "w1z"], ["c1"], pads=[1, 1, 1, 1]),
             oh.make_node("Cast", ["c1"], ["c1f"], to=TP.FLOAT),
             oh.make_node("Mul", ["c1f", "xs"], ["c1a"]),
             oh.make_node("Mul", ["c1a", "w1s"], ["c1b"]),
             oh.make_node("Relu", ["c1b"], ["r1"]),
             oh.make_node("QuantizeLinear", ["r1", "s1", "z1"], ["q1"]),
             oh.make_node("QLinearConv", ["q1", "s1", "z1", "w2", "w2s", "w2z", "s2", "z2", "b2"], ["q2"],
                          pads=[1, 1, 1, 1], strides=[2, 2]),
             oh.make_node("DequantizeLinear", ["q2", "s2", "z2"], ["y_conv"]),
             oh.make_node("Flatten", ["y_conv"], ["flat"]),
             oh.make_node("QuantizeLinear", ["flat", "s2", "z2"], ["fq"]),
             oh.make_node("QLinearMatMul", ["fq", "s2", "z2", "bq", "bqs", "bqz", "s3", "z3"], ["q3"]),
             oh.make_node("DequantizeLinear", ["q3", "s3", "z3"], ["y_qmm"]),
             oh.make_node("DynamicQuantizeLinear", ["flat"], ["dq", "ds", "dz"]),
             oh.make_node("MatMulInteger", ["dq", "bu", "dz", "buz"], ["acc"]),
             oh.make_node("Cast", ["acc"], ["accf"], to=TP.FLOAT),
             oh.make_node("Mul", ["accf", "ds"], ["acc1"]),
             oh.make_node("Mul", ["acc1", "bus"], ["y_dmm"])]
    g = oh.make_graph(nodes, "qops", [oh.make_tensor_value_info("x", TP.FLOAT, [1, 3, 16, 16])],
                      [oh.make_tensor_value_info("y_conv", TP.FLOAT, [1, 4, 8, 8]),
                       oh.make_tensor_value_info("y_qmm", TP.FLOAT, [1, 10]),
                       oh.make_tensor_value_info("y_dmm", TP.FLOAT, [1, 10])], inits)
    m = oh.make_model(g, opset_imports=[oh.make_opsetid("", 13)], producer_name="vigil-test")
    m.ir_version = 7
    onnx.checker.check_model(m)
    onnx.save(m, path)


@unittest.skipUnless(node_ok(), f"needs node and {NODE_MODULES}/onnxruntime-node (npm ci in tests/oracle)")
class OnnxQOperatorOracleTest(unittest.TestCase):

    def test_qoperator_and_dynamic_ops(self):
        try:
            import onnx  # noqa: F401
        except ImportError:
            self.skipTest("needs python3-onnx")
        photo = IMG("images", "yolox_assets_dog.jpg")
        if not os.path.exists(photo):
            self.skipTest(f"needs {photo}")
        tmp = tempfile.mkdtemp(prefix="vigil-qops-")
        try:
            model = os.path.join(tmp, "qops.onnx")
            build_model(model)
            x = preprocess(photo, 16, 16, "RGB", 127.5, 1 / 64.0)
            ref = ort_outputs(model, x, tmp)
            inp = os.path.join(tmp, "x.npy")
            np.save(inp, x)
            out = os.path.join(tmp, "out")
            p = subprocess.run([VIGIL_BIN, "run", model, "--input", inp, "--outputs", out], capture_output=True,
                               text=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr)
            for name, step in (("y_conv", S_CONV), ("y_qmm", S_QMM), ("y_dmm", None)):
                r = ref[name]
                got = np.load(os.path.join(out, name + ".npy"))
                self.assertEqual(got.shape, r.shape, name)
                err = np.abs(got.astype(np.float64) - r)
                rng = float(r.max() - r.min())
                limit = step if step else 0.02 * rng
                print(f"  {name} {list(r.shape)}: max abs {err.max():.3g} (limit {limit:.3g}), "
                      f"{100 * (err > 1e-6).mean():.2f}% of values differ, range {r.min():.3g}..{r.max():.3g}")
                self.assertGreater(rng, 0, name)
                self.assertLessEqual(err.max(), limit * (1 + 1e-4), name)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
