"""ONNX Runtime's com.microsoft quantized ops (its QOperator format) through vigil against ONNX Runtime.

One graph per 8-bit type (uint8, int8), built here with python3-onnx:
x (float, random) -> QuantizeLinear twice (two encodings, xq and wq) ->
QLinearAdd (with a constant broadcast B), QLinearMul (xq * wq),
QLinearSigmoid, QLinearLeakyRelu (alpha 0.2), QLinearGlobalAveragePool
(NCHW, and channels_last), QLinearAveragePool (3x3 stride 2 with pads,
count_include_pad 0 and 1; 2x2 channels_last), QLinearConcat (xq, wq along channels) and a
plain MaxPool on xq -> DequantizeLinear each = the outputs.

vigil (`vigil run`) and ONNX Runtime 1.20.1 (tests/oracle/ort_run.mjs, whose
CPU build has the contrib ops) run it on the same input; every output must
agree within one step of its output scale (the two round ties differently
and compute some results through float), and `vigil inspect` must show the
ops as engine nodes with no dequantization but the outputs' (so that they
ran quantized). The figures are printed.
"""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import numpy as np

from test_onnx_oracle import NODE_MODULES, node_ok, ort_outputs
from vigil_harness import VIGIL_BIN

# output: (op, its scale)
OUTS = {
    "y_add": ("QLinearAdd", 0.03),
    "y_mul": ("QLinearMul", 0.04),
    "y_sig": ("QLinearSigmoid", 1 / 256),
    "y_lrelu": ("QLinearLeakyRelu", 0.02),
    "y_gap": ("QLinearGlobalAveragePool", 0.004),
    "y_gapl": ("QLinearGlobalAveragePool", 0.005),
    "y_ap": ("QLinearAveragePool", 0.011),
    "y_ap1": ("QLinearAveragePool", 0.009),
    "y_apl": ("QLinearAveragePool", 0.02),
    "y_cat": ("QLinearConcat", 0.025),
    "y_mp": ("MaxPool", None),
}


def build_model(path, signed):
    import onnx
    from onnx import TensorProto as TP
    from onnx import helper as oh
    from onnx import numpy_helper as nh
    rng = np.random.default_rng(21 + signed)
    zt = np.int8 if signed else np.uint8
    off = -128 if signed else 0
    z = lambda v: np.array(v + off, zt)  # noqa: E731
    f32 = lambda v: np.array(v, np.float32)  # noqa: E731
    b = (rng.integers(0, 256, size=(4, 1, 1)) + off).astype(zt)
    inits = [nh.from_array(f32(0.02), "xs"), nh.from_array(z(128), "xz"),
             nh.from_array(f32(0.017), "ws"), nh.from_array(z(100), "wz"),
             nh.from_array(b, "b"), nh.from_array(f32(0.01), "bs"), nh.from_array(z(140), "bz")]
    zps = {"y_add": 120, "y_mul": 30, "y_sig": 0, "y_lrelu": 110, "y_gap": 125, "y_gapl": 135, "y_ap": 128,
           "y_ap1": 118, "y_apl": 131, "y_cat": 127}
    for name, (_, s) in OUTS.items():
        if s:
            inits += [nh.from_array(f32(s), name + "_s"), nh.from_array(z(zps[name]), name + "_z")]
    nodes = [oh.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
             oh.make_node("QuantizeLinear", ["x", "ws", "wz"], ["wq"])]
    ms = dict(domain="com.microsoft")

    def q(name):
        return [name + "_s", name + "_z"]
    nodes += [
        oh.make_node("QLinearAdd", ["xq", "xs", "xz", "b", "bs", "bz"] + q("y_add"), ["q_add"], **ms),
        oh.make_node("QLinearMul", ["xq", "xs", "xz", "wq", "ws", "wz"] + q("y_mul"), ["q_mul"], **ms),
        oh.make_node("QLinearSigmoid", ["xq", "xs", "xz"] + q("y_sig"), ["q_sig"], **ms),
        oh.make_node("QLinearLeakyRelu", ["xq", "xs", "xz"] + q("y_lrelu"), ["q_lrelu"], alpha=0.2, **ms),
        oh.make_node("QLinearGlobalAveragePool", ["xq", "xs", "xz"] + q("y_gap"), ["q_gap"], channels_last=0, **ms),
        oh.make_node("QLinearGlobalAveragePool", ["wq", "ws", "wz"] + q("y_gapl"), ["q_gapl"], channels_last=1,
                     **ms),
        oh.make_node("QLinearAveragePool", ["xq", "xs", "xz"] + q("y_ap"), ["q_ap"], kernel_shape=[3, 3],
                     strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=0, **ms),
        oh.make_node("QLinearAveragePool", ["wq", "ws", "wz"] + q("y_ap1"), ["q_ap1"], kernel_shape=[3, 3],
                     strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1, **ms),
        oh.make_node("QLinearAveragePool", ["wq", "ws", "wz"] + q("y_apl"), ["q_apl"], kernel_shape=[2, 2],
                     strides=[2, 2], channels_last=1, **ms),
        oh.make_node("QLinearConcat", q("y_cat") + ["xq", "xs", "xz", "wq", "ws", "wz"], ["q_cat"], axis=1, **ms),
        oh.make_node("MaxPool", ["xq"], ["q_mp"], kernel_shape=[2, 2], strides=[2, 2]),
    ]
    for name, (_, s) in OUTS.items():
        qs = q(name) if s else ["xs", "xz"]
        nodes.append(oh.make_node("DequantizeLinear", ["q" + name[1:]] + qs, [name]))
    shapes = {"y_add": [1, 4, 8, 8], "y_mul": [1, 4, 8, 8], "y_sig": [1, 4, 8, 8], "y_lrelu": [1, 4, 8, 8],
              "y_gap": [1, 4, 1, 1], "y_gapl": [1, 1, 1, 8], "y_ap": [1, 4, 4, 4], "y_ap1": [1, 4, 4, 4],
              "y_apl": [1, 2, 4, 8], "y_cat": [1, 8, 8, 8], "y_mp": [1, 4, 4, 4]}
    g = oh.make_graph(nodes, "msq", [oh.make_tensor_value_info("x", TP.FLOAT, [1, 4, 8, 8])],
                      [oh.make_tensor_value_info(k, TP.FLOAT, v) for k, v in shapes.items()], inits)
    m = oh.make_model(g, opset_imports=[oh.make_opsetid("", 13), oh.make_opsetid("com.microsoft", 1)],
                      producer_name="vigil-test")
    m.ir_version = 7
    onnx.save(m, path)


def build_chain(path):
    """A small network in ONNX Runtime's QOperator form: QLinearConv -> MaxPool -> QLinearConv -> QLinearAdd
    (residual) -> QLinearLeakyRelu -> QLinearAveragePool -> QLinearConcat (with its QLinearSigmoid) ->
    QLinearGlobalAveragePool -> QLinearMul (by a constant) -> DequantizeLinear, and the pooled means through
    Flatten (of the uint8 tensor) -> QLinearMatMul -> DequantizeLinear; uint8 activations, int8 filters
    per channel. The pooled and the added tensors keep one quantization each, as the quantizer writes them."""
    import onnx
    from onnx import TensorProto as TP
    from onnx import helper as oh
    from onnx import numpy_helper as nh
    rng = np.random.default_rng(33)
    f32 = lambda v: np.array(v, np.float32)  # noqa: E731
    u8 = lambda v: np.array(v, np.uint8)  # noqa: E731
    w1 = rng.integers(-127, 128, size=(8, 3, 3, 3), dtype=np.int8)
    w2 = rng.integers(-127, 128, size=(8, 8, 3, 3), dtype=np.int8)
    inits = [nh.from_array(f32(1 / 127), "s0"), nh.from_array(u8(128), "z0"),
             nh.from_array(w1, "w1"), nh.from_array(rng.uniform(0.002, 0.004, 8).astype(np.float32), "w1s"),
             nh.from_array(np.zeros(8, np.int8), "w1z"),
             nh.from_array(rng.integers(-200, 200, 8, dtype=np.int32), "b1"),
             nh.from_array(f32(0.02), "s1"), nh.from_array(u8(128), "z1"),
             nh.from_array(w2, "w2"), nh.from_array(rng.uniform(0.001, 0.002, 8).astype(np.float32), "w2s"),
             nh.from_array(np.zeros(8, np.int8), "w2z"),
             nh.from_array(f32(0.03), "s2"), nh.from_array(u8(128), "z2"),
             nh.from_array(f32(0.037), "s3"), nh.from_array(u8(126), "z3"),
             nh.from_array(f32(0.03), "s4"), nh.from_array(u8(40), "z4"),
             nh.from_array(f32(0.02), "s5"), nh.from_array(u8(50), "z5"),
             nh.from_array(f32(1 / 256), "s6"), nh.from_array(u8(0), "z6"),
             nh.from_array(f32(0.015), "s7"), nh.from_array(u8(60), "z7"),
             nh.from_array(f32(0.006), "s8"), nh.from_array(u8(70), "z8"),
             nh.from_array(rng.integers(0, 256, size=(1, 16, 1, 1), dtype=np.uint8), "m"),
             nh.from_array(f32(0.01), "ms"), nh.from_array(u8(128), "mz"),
             nh.from_array(f32(0.008), "s9"), nh.from_array(u8(128), "z9"),
             nh.from_array(rng.integers(-127, 128, size=(16, 5), dtype=np.int8), "fc"),
             nh.from_array(f32(0.01), "fcs"), nh.from_array(np.array(0, np.int8), "fcz"),
             nh.from_array(f32(0.05), "s10"), nh.from_array(u8(128), "z10")]
    ms = dict(domain="com.microsoft")
    nodes = [
        oh.make_node("QuantizeLinear", ["x", "s0", "z0"], ["q0"]),
        oh.make_node("QLinearConv", ["q0", "s0", "z0", "w1", "w1s", "w1z", "s1", "z1", "b1"], ["q1"],
                     pads=[1, 1, 1, 1]),
        oh.make_node("MaxPool", ["q1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        oh.make_node("QLinearConv", ["p1", "s1", "z1", "w2", "w2s", "w2z", "s2", "z2"], ["q2"], pads=[1, 1, 1, 1]),
        oh.make_node("QLinearAdd", ["q2", "s2", "z2", "p1", "s1", "z1", "s3", "z3"], ["q3"], **ms),
        oh.make_node("QLinearLeakyRelu", ["q3", "s3", "z3", "s4", "z4"], ["q4"], alpha=0.1, **ms),
        oh.make_node("QLinearAveragePool", ["q4", "s4", "z4", "s5", "z5"], ["q5"], kernel_shape=[2, 2],
                     strides=[2, 2], **ms),
        oh.make_node("QLinearSigmoid", ["q5", "s5", "z5", "s6", "z6"], ["q6"], **ms),
        oh.make_node("QLinearConcat", ["s7", "z7", "q5", "s5", "z5", "q6", "s6", "z6"], ["q7"], axis=1, **ms),
        oh.make_node("QLinearGlobalAveragePool", ["q7", "s7", "z7", "s8", "z8"], ["q8"], **ms),
        oh.make_node("QLinearMul", ["q8", "s8", "z8", "m", "ms", "mz", "s9", "z9"], ["q9"], **ms),
        oh.make_node("DequantizeLinear", ["q4", "s4", "z4"], ["y_act"]),
        oh.make_node("DequantizeLinear", ["q9", "s9", "z9"], ["y"]),
        oh.make_node("Flatten", ["q8"], ["f8"]),
        oh.make_node("QLinearMatMul", ["f8", "s8", "z8", "fc", "fcs", "fcz", "s10", "z10"], ["q10"]),
        oh.make_node("DequantizeLinear", ["q10", "s10", "z10"], ["y_fc"]),
    ]
    g = oh.make_graph(nodes, "qchain", [oh.make_tensor_value_info("x", TP.FLOAT, [1, 3, 16, 16])],
                      [oh.make_tensor_value_info("y_act", TP.FLOAT, [1, 8, 8, 8]),
                       oh.make_tensor_value_info("y", TP.FLOAT, [1, 16, 1, 1]),
                       oh.make_tensor_value_info("y_fc", TP.FLOAT, [1, 5])], inits)
    m = oh.make_model(g, opset_imports=[oh.make_opsetid("", 13), oh.make_opsetid("com.microsoft", 1)],
                      producer_name="vigil-test")
    m.ir_version = 7
    onnx.save(m, path)


@unittest.skipUnless(node_ok(), f"needs node and {NODE_MODULES}/onnxruntime-node (npm ci in tests/oracle)")
class OnnxMsQuantOracleTest(unittest.TestCase):

    def run_one(self, signed):
        try:
            import onnx  # noqa: F401
        except ImportError:
            self.skipTest("needs python3-onnx")
        tmp = tempfile.mkdtemp(prefix="vigil-msq-")
        try:
            model = os.path.join(tmp, "msq.onnx")
            build_model(model, signed)
            x = np.random.default_rng(5 + signed).uniform(-2.4, 2.4, size=(1, 4, 8, 8)).astype(np.float32)
            ref = ort_outputs(model, x, tmp)
            inp = os.path.join(tmp, "x.npy")
            np.save(inp, x)
            out = os.path.join(tmp, "out")
            p = subprocess.run([VIGIL_BIN, "run", model, "--input", inp, "--outputs", out], capture_output=True,
                               text=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr)
            for name, (op, step) in OUTS.items():
                r = ref[name]
                got = np.load(os.path.join(out, name + ".npy"))
                self.assertEqual(got.shape, r.shape, name)
                err = np.abs(got.astype(np.float64) - r)
                limit = step if step else 0.02
                print(f"  {'int8' if signed else 'uint8'} {name} ({op}) {list(r.shape)}: max abs {err.max():.3g} "
                      f"(one step {limit:.3g}), {100 * (err > 1e-6).mean():.2f}% of values differ, "
                      f"range {r.min():.3g}..{r.max():.3g}")
                self.assertGreater(float(r.max() - r.min()), 0, name)
                self.assertLessEqual(err.max(), limit * (1 + 1e-4), name)
            p = subprocess.run([VIGIL_BIN, "inspect", model], capture_output=True, text=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr)
            counts = {m.group(1): int(m.group(2)) for m in re.finditer(r"^\s+([A-Z_0-9]+)\s+(\d+)\s", p.stdout, re.M)}
            for op in ("ADD", "MUL", "LOGISTIC", "LEAKY_RELU", "AVERAGE_POOL2D", "CONCATENATION", "MAX_POOL2D"):
                self.assertGreaterEqual(counts.get(op, 0), 1, f"{op} not among the engine nodes:\n{p.stdout}")
            # Only the outputs' DequantizeLinear: every op above ran on the 8-bit integers.
            self.assertEqual(counts.get("DEQUANTIZE", 0), len(OUTS), p.stdout)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_uint8(self):
        self.run_one(False)

    def test_int8(self):
        self.run_one(True)

    def test_qoperator_chain(self):
        """The chain: y_act (after two convolutions, the pool, the add and the activation) within one step of
        its scale, y (after every op) within one step of its own plus one of the mean before the product; every
        op an engine node, no dequantization but the outputs'. The scales avoid exact ties: ONNX Runtime rounds
        them half to even, vigil's kernels (XNNPACK's and the reference) half up, which with the ratios of
        0.03 and 0.02 to 0.04 made 18% of an add's results differ by one step."""
        try:
            import onnx  # noqa: F401
        except ImportError:
            self.skipTest("needs python3-onnx")
        tmp = tempfile.mkdtemp(prefix="vigil-msq-chain-")
        try:
            model = os.path.join(tmp, "chain.onnx")
            build_chain(model)
            x = np.random.default_rng(9).uniform(-1, 1, size=(1, 3, 16, 16)).astype(np.float32)
            ref = ort_outputs(model, x, tmp)
            inp = os.path.join(tmp, "x.npy")
            np.save(inp, x)
            out = os.path.join(tmp, "out")
            p = subprocess.run([VIGIL_BIN, "run", model, "--input", inp, "--outputs", out], capture_output=True,
                               text=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr)
            # y, y_fc: one step of their own plus one of the pooled means (0.006) through the product (|m| up
            # to 1.28) or through the 16 terms of the matrix product (|B| up to 1.27).
            for name, step, steps in (("y_act", 0.03, 1), ("y", 0.008, 1 + 0.006 * 1.28 / 0.008),
                                      ("y_fc", 0.05, 1 + 0.006 * 16 * 1.27 / 0.05)):
                r = ref[name]
                got = np.load(os.path.join(out, name + ".npy"))
                self.assertEqual(got.shape, r.shape, name)
                err = np.abs(got.astype(np.float64) - r)
                print(f"  chain {name} {list(r.shape)}: max abs {err.max():.3g} (step {step:.3g}), "
                      f"{100 * (err > 1e-6).mean():.2f}% of values differ, range {r.min():.3g}..{r.max():.3g}")
                self.assertGreater(float(r.max() - r.min()), 4 * step, name)
                self.assertLessEqual(err.max(), steps * step * (1 + 1e-4), name)
            p = subprocess.run([VIGIL_BIN, "inspect", model], capture_output=True, text=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("DEQUANTIZE                        3 ", p.stdout)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
