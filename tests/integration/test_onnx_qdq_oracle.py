"""ONNX QDQ models (QuantizeLinear / DequantizeLinear around float Convs) through vigil against ONNX Runtime.

The graph, built here with python3-onnx, is what static quantization
exports: x (float, from a real photo) -> QuantizeLinear (int8) ->
DequantizeLinear -> Conv (filter DequantizeLinear of int8 per output channel
on axis 0, bias DequantizeLinear of int32) -> Relu -> QuantizeLinear (zero
point -128, so the Relu changes nothing) -> DequantizeLinear -> Conv (filter
int8 per tensor, float bias, stride 2) -> QuantizeLinear = q2 ->
DequantizeLinear = y; q2 -> Flatten -> DequantizeLinear, read by a Gemm
(transB, B^T int8 per row, float C) -> Clip to [-2.001, 2] ->
QuantizeLinear (its range -2.008..1.992, so the Clip changes nothing) ->
DequantizeLinear = y_gemm and by a MatMul (B int8 per column) -> Relu -> QuantizeLinear (zero
point -128) -> DequantizeLinear = y_mm. vigil maps each group as a
quantized CONV2D or FULLY_CONNECTED (src/nn/format/onnx_qdq.c), so that
`vigil inspect` lists one QuantizeLinear and the outputs' DequantizeLinears
only; each output must be within one step of its scale of
ONNX Runtime 1.20.1's (tests/oracle/ort_run.mjs) (rounding ties and the
float bias's requantization); the figures are printed.

A real network too: UltraFace slim (the asset, moved to opset 13) quantized
here the way static quantization writes it (int8 activations with ranges
from ONNX Runtime on the photo, int8 filters per output channel, int32
biases; a Q/DQ pair after each Conv, or its Relu, and on each Conv's input):
every Conv group must become quantized, and vigil's scores and boxes match
ONNX Runtime's (which fuses the same groups into QLinearConv).
"""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import numpy as np

from test_onnx_oracle import IMG, NODE_MODULES, ONNX_DIR, node_ok, ort_outputs, preprocess
from vigil_harness import VIGIL_BIN

S0, S1, S2, S3, S4 = 1 / 64.0, 0.05, 0.08, 4 / 255.0, 0.06


def build_model(path, z1=-128):
    import onnx
    from onnx import TensorProto as TP
    from onnx import helper as oh
    from onnx import numpy_helper as nh
    rng = np.random.default_rng(11)
    f32 = lambda v: np.array(v, np.float32)  # noqa: E731
    w1 = rng.integers(-127, 128, size=(8, 3, 3, 3), dtype=np.int8)
    w1s = rng.random(8).astype(np.float32) * 0.004 + 0.002
    b1 = rng.integers(-3000, 3000, size=8, dtype=np.int32)
    w2 = rng.integers(-127, 128, size=(4, 8, 3, 3), dtype=np.int8)
    b2 = rng.random(4).astype(np.float32) - 0.5
    g3 = rng.integers(-127, 128, size=(10, 256), dtype=np.int8)
    g3s = rng.random(10).astype(np.float32) * 0.002 + 0.001
    c3 = rng.random(10).astype(np.float32) - 0.5
    m4 = rng.integers(-127, 128, size=(256, 6), dtype=np.int8)
    m4s = rng.random(6).astype(np.float32) * 0.002 + 0.001
    inits = [nh.from_array(f32(S0), "s0"), nh.from_array(np.array(3, np.int8), "z0"),
             nh.from_array(w1, "w1"), nh.from_array(w1s, "w1s"), nh.from_array(np.zeros(8, np.int8), "w1z"),
             nh.from_array(b1, "b1"), nh.from_array((w1s * np.float32(S0)).astype(np.float32), "b1s"),
             nh.from_array(np.zeros(8, np.int32), "b1z"),
             nh.from_array(f32(S1), "s1"), nh.from_array(np.array(z1, np.int8), "z1"),
             nh.from_array(w2, "w2"), nh.from_array(f32(0.003), "w2s"), nh.from_array(np.array(0, np.int8), "w2z"),
             nh.from_array(b2, "b2"),
             nh.from_array(f32(S2), "s2"), nh.from_array(np.array(5, np.int8), "z2"),
             nh.from_array(g3, "g3"), nh.from_array(g3s, "g3s"), nh.from_array(c3, "c3"),
             nh.from_array(f32(S3), "s3"), nh.from_array(np.array(0, np.int8), "z3"),
             nh.from_array(f32(-2.001), "lo3"), nh.from_array(f32(2), "hi3"),
             nh.from_array(m4, "m4"), nh.from_array(m4s, "m4s"),
             nh.from_array(np.zeros(6, np.int8), "z4s"),
             nh.from_array(f32(S4), "s4"), nh.from_array(np.array(-128, np.int8), "z4")]
    nodes = [oh.make_node("QuantizeLinear", ["x", "s0", "z0"], ["xq"]),
             oh.make_node("DequantizeLinear", ["xq", "s0", "z0"], ["xd"]),
             oh.make_node("DequantizeLinear", ["w1", "w1s", "w1z"], ["w1d"], axis=0),
             oh.make_node("DequantizeLinear", ["b1", "b1s", "b1z"], ["b1d"], axis=0),
             oh.make_node("Conv", ["xd", "w1d", "b1d"], ["c1"], pads=[1, 1, 1, 1]),
             oh.make_node("Relu", ["c1"], ["r1"]),
             oh.make_node("QuantizeLinear", ["r1", "s1", "z1"], ["q1"]),
             oh.make_node("DequantizeLinear", ["q1", "s1", "z1"], ["d1"]),
             oh.make_node("DequantizeLinear", ["w2", "w2s", "w2z"], ["w2d"]),
             oh.make_node("Conv", ["d1", "w2d", "b2"], ["c2"], pads=[1, 1, 1, 1], strides=[2, 2]),
             oh.make_node("QuantizeLinear", ["c2", "s2", "z2"], ["q2"]),
             oh.make_node("DequantizeLinear", ["q2", "s2", "z2"], ["y"]),
             oh.make_node("Flatten", ["q2"], ["fq"]),
             oh.make_node("DequantizeLinear", ["fq", "s2", "z2"], ["fd"]),
             oh.make_node("DequantizeLinear", ["g3", "g3s"], ["g3d"], axis=0),
             oh.make_node("Gemm", ["fd", "g3d", "c3"], ["g"], transB=1),
             oh.make_node("Clip", ["g", "lo3", "hi3"], ["gc"]),
             oh.make_node("QuantizeLinear", ["gc", "s3", "z3"], ["gq"]),
             oh.make_node("DequantizeLinear", ["gq", "s3", "z3"], ["y_gemm"]),
             oh.make_node("DequantizeLinear", ["m4", "m4s", "z4s"], ["m4d"], axis=1),
             oh.make_node("MatMul", ["fd", "m4d"], ["mm"]),
             oh.make_node("Relu", ["mm"], ["mr"]),
             oh.make_node("QuantizeLinear", ["mr", "s4", "z4"], ["mq"]),
             oh.make_node("DequantizeLinear", ["mq", "s4", "z4"], ["y_mm"])]
    g = oh.make_graph(nodes, "qdq", [oh.make_tensor_value_info("x", TP.FLOAT, [1, 3, 16, 16])],
                      [oh.make_tensor_value_info("y", TP.FLOAT, [1, 4, 8, 8]),
                       oh.make_tensor_value_info("y_gemm", TP.FLOAT, [1, 10]),
                       oh.make_tensor_value_info("y_mm", TP.FLOAT, [1, 6])], inits)
    m = oh.make_model(g, opset_imports=[oh.make_opsetid("", 13)], producer_name="vigil-test")
    m.ir_version = 7
    onnx.checker.check_model(m)
    onnx.save(m, path)


def ultraface_qdq(src, dst, photo, tmp):
    """Writes the QDQ model of UltraFace slim at src into dst; returns (input, number of Convs)."""
    import onnx
    from onnx import helper as oh
    from onnx import numpy_helper as nh
    m = onnx.load(src)
    g = m.graph
    for o in m.opset_import:
        if o.domain in ("", "ai.onnx"):
            o.version = 13
    for k, n in enumerate(g.node):
        if n.op_type in ("Unsqueeze", "Squeeze"):
            ax = [a for a in n.attribute if a.name == "axes"][0]
            g.initializer.append(nh.from_array(np.array(list(ax.ints), np.int64), f"axes_{k}"))
            n.attribute.remove(ax)
            n.input.append(f"axes_{k}")
    inits = {i.name: i for i in g.initializer}
    keep = [i for i in g.input if i.name not in inits]
    del g.input[:]
    g.input.extend(keep)
    m.ir_version = 7
    convs = [n for n in g.node if n.op_type == "Conv" and n.input[1] in inits]
    readers = {}
    for n in g.node:
        for i in n.input:
            readers.setdefault(i, []).append(n)
    acts = set()
    for n in convs:
        acts.add(n.input[0])
        r = readers.get(n.output[0], [])
        acts.add(r[0].output[0] if len(r) == 1 and r[0].op_type == "Relu" else n.output[0])
    acts = sorted(acts)
    # The activations' ranges on the photo, from ONNX Runtime.
    shape = [d.dim_value for d in g.input[0].type.tensor_type.shape.dim]
    x = preprocess(photo, shape[3], shape[2], "RGB", 127.0, 1 / 128.0)
    probe = onnx.ModelProto()
    probe.CopyFrom(m)
    have = {o.name for o in probe.graph.output}
    probe.graph.output.extend(oh.make_empty_tensor_value_info(a) for a in acts if a not in have)
    onnx.save(probe, os.path.join(tmp, "probe.onnx"))
    vals = ort_outputs(os.path.join(tmp, "probe.onnx"), x, tmp)
    qp, new_inits, nodes = {}, [], []
    for a in acts:
        lo, hi = min(0.0, float(vals[a].min())), max(0.0, float(vals[a].max()))
        s = max(hi - lo, 1e-6) / 255.0
        qp[a] = s
        new_inits += [nh.from_array(np.array(s, np.float32), a + "_s"),
                      nh.from_array(np.array(int(np.clip(round(-128 - lo / s), -128, 127)), np.int8), a + "_z")]
    for i in g.input:
        if i.name in qp:
            nodes += [oh.make_node("QuantizeLinear", [i.name, i.name + "_s", i.name + "_z"], [i.name + "_q"]),
                      oh.make_node("DequantizeLinear", [i.name + "_q", i.name + "_s", i.name + "_z"], [i.name + "_dq"])]
    for n in g.node:
        for k, i in enumerate(n.input):
            if i in qp:
                n.input[k] = i + "_dq"
        if n in convs:
            w = nh.to_array(inits[n.input[1]]).astype(np.float32)
            ws = (np.maximum(np.abs(w.reshape(w.shape[0], -1)).max(1), 1e-8) / 127.0).astype(np.float32)
            wq = np.clip(np.round(w / ws.reshape(-1, 1, 1, 1)), -127, 127).astype(np.int8)
            wn = n.input[1]
            new_inits += [nh.from_array(wq, wn + "_q"), nh.from_array(ws, wn + "_ws"),
                          nh.from_array(np.zeros(len(ws), np.int8), wn + "_wz")]
            nodes.append(oh.make_node("DequantizeLinear", [wn + "_q", wn + "_ws", wn + "_wz"], [wn + "_wd"], axis=0))
            n.input[1] = wn + "_wd"
            if len(n.input) > 2 and n.input[2]:
                bs = (ws * np.float32(qp[n.input[0][:-3]])).astype(np.float32)
                bq = np.round(nh.to_array(inits[n.input[2]]).astype(np.float32) / bs).astype(np.int32)
                bn = n.input[2]
                new_inits += [nh.from_array(bq, bn + "_q"), nh.from_array(bs, bn + "_bs"),
                              nh.from_array(np.zeros(len(bs), np.int32), bn + "_bz")]
                nodes.append(oh.make_node("DequantizeLinear", [bn + "_q", bn + "_bs", bn + "_bz"], [bn + "_bd"],
                                          axis=0))
                n.input[2] = bn + "_bd"
        nodes.append(n)
        for o in n.output:
            if o in qp:
                nodes += [oh.make_node("QuantizeLinear", [o, o + "_s", o + "_z"], [o + "_q"]),
                          oh.make_node("DequantizeLinear", [o + "_q", o + "_s", o + "_z"], [o + "_dq"])]
    del g.node[:]
    g.node.extend(nodes)
    g.initializer.extend(new_inits)
    onnx.checker.check_model(m)
    onnx.save(m, dst)
    return x, len(convs), len(acts)


def op_counts(text):
    """op -> (count, native, xnnpack, reference) from `vigil inspect`'s table."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"\s+([A-Z0-9_]+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$", line)
        if m:
            out[m.group(1)] = tuple(int(v) for v in m.groups()[1:])
    return out


@unittest.skipUnless(node_ok(), f"needs node and {NODE_MODULES}/onnxruntime-node (npm ci in tests/oracle)")
class OnnxQdqOracleTest(unittest.TestCase):

    def test_qdq_convs_run_quantized(self):
        self.check(-128)

    def test_relu_that_matters_stays_float(self):
        """q1's zero point 10: the Relu clamps real values, so the first Conv group keeps the float path."""
        self.check(10)

    def check(self, z1):
        try:
            import onnx  # noqa: F401
        except ImportError:
            self.skipTest("needs python3-onnx")
        photo = IMG("images", "yolox_assets_dog.jpg")
        if not os.path.exists(photo):
            self.skipTest(f"needs {photo}")
        tmp = tempfile.mkdtemp(prefix="vigil-qdq-")
        try:
            model = os.path.join(tmp, "qdq.onnx")
            build_model(model, z1)
            p = subprocess.run([VIGIL_BIN, "inspect", model], capture_output=True, text=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr)
            ops = op_counts(p.stdout)
            print(f"  engine ops: {ops}")
            # Every group quantized: one QuantizeLinear (the input's), a DequantizeLinear per output.
            self.assertEqual(ops.get("CONV2D", (0,))[0], 2, p.stdout)
            self.assertEqual(ops.get("FULLY_CONNECTED", (0,))[0], 2, p.stdout)
            # With z1 10 the first Conv is float: q1's QuantizeLinear and x's DequantizeLinear stay.
            self.assertEqual(ops.get("QUANTIZE", (0,))[0], 1 if z1 == -128 else 2, p.stdout)
            self.assertEqual(ops.get("DEQUANTIZE", (0,))[0], 3 if z1 == -128 else 4, p.stdout)
            # The quantized convolutions on XNNPACK (a float one may take vigil's native kernel).
            self.assertEqual(ops["CONV2D"][2], 2 if z1 == -128 else 1, p.stdout)
            x = preprocess(photo, 16, 16, "RGB", 127.5, 1 / 64.0)
            ref = ort_outputs(model, x, tmp)
            inp = os.path.join(tmp, "x.npy")
            np.save(inp, x)
            out = os.path.join(tmp, "out")
            p = subprocess.run([VIGIL_BIN, "run", model, "--input", inp, "--outputs", out], capture_output=True,
                               text=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr)
            for name, step in (("y", S2), ("y_gemm", S3), ("y_mm", S4)):
                r = ref[name]
                got = np.load(os.path.join(out, name + ".npy"))
                self.assertEqual(got.shape, r.shape, name)
                err = np.abs(got.astype(np.float64) - r) / step
                print(f"  {name} {list(r.shape)}: max error {err.max():.3g} steps, "
                      f"{100 * (err > 1e-3).mean():.2f}% of values differ, range {r.min():.3g}..{r.max():.3g}")
                self.assertGreater(float(r.max() - r.min()), 3 * step, name)
                self.assertLessEqual(err.max(), 1 + 1e-3, name)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_ultraface_slim_qdq(self):
        try:
            import onnx  # noqa: F401
        except ImportError:
            self.skipTest("needs python3-onnx")
        photo = IMG("images", "yolox_assets_dog.jpg")
        src = os.path.join(ONNX_DIR, "ultraface_version-slim-320_without_postprocessing.onnx")
        for f in (photo, src):
            if not os.path.exists(f):
                self.skipTest(f"needs {f}")
        tmp = tempfile.mkdtemp(prefix="vigil-qdq-uf-")
        try:
            model = os.path.join(tmp, "uf_qdq.onnx")
            x, n_conv, n_act = ultraface_qdq(src, model, photo, tmp)
            p = subprocess.run([VIGIL_BIN, "inspect", model], capture_output=True, text=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr)
            ops = op_counts(p.stdout)
            n_q = ops.get("QUANTIZE", (0,))[0]
            print(f"  {n_conv} Convs, {n_act} quantized activations; engine QUANTIZE {n_q}, "
                  f"CONV2D {ops.get('CONV2D')}, DEPTHWISE_CONV2D {ops.get('DEPTHWISE_CONV2D')}")
            # Each fused group takes its QuantizeLinear: those left quantize the float ops' outputs.
            self.assertEqual(n_q, n_act - n_conv, p.stdout)
            ref = ort_outputs(model, x, tmp)
            inp = os.path.join(tmp, "x.npy")
            np.save(inp, x)
            out = os.path.join(tmp, "out")
            p = subprocess.run([VIGIL_BIN, "run", model, "--input", inp, "--outputs", out], capture_output=True,
                               text=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr)
            for name in ("scores", "boxes"):
                r = ref[name]
                got = np.load(os.path.join(out, name + ".npy"))
                self.assertEqual(got.shape, r.shape, name)
                err = np.abs(got.astype(np.float64) - r)
                rng = float(r.max() - r.min())
                print(f"  {name} {list(r.shape)}: max abs {err.max():.3g}, mean {err.mean():.3g}, "
                      f"range {r.min():.3g}..{r.max():.3g}")
                self.assertLessEqual(err.max(), 0.02 * rng, name)
            faces = lambda s: int((s[0, :, 1] > 0.7).sum())  # noqa: E731
            got = np.load(os.path.join(out, "scores.npy"))
            self.assertGreater(faces(ref["scores"]), 0)
            self.assertEqual(faces(got), faces(ref["scores"]))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
