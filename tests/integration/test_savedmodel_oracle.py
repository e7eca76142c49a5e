"""The humanseg SavedModel through vigil against its ONNX original in ONNX Runtime.

models/savedmodel/humanseg_ppseg_lite_portrait_onnx2tf is PaddleSeg's
PP-HumanSeg-Lite portrait model converted by onnx2tf from
models/onnx/ppseg_lite_portrait_398x224_with_softmax_fixed.onnx. The ONNX
file runs in ONNX Runtime 1.20.1 (npm onnxruntime-node, CPU, one thread,
tests/oracle/ort_run.mjs): an executor that shares no code with vigil's.

Inputs: real photos with a person (golden/mediapipe_sergey.png,
images/coral_squat.bmp), stretched to 398x224 with PIL's bilinear resize,
RGB, normalised as PP-HumanSeg expects: (x / 255 - 0.5) / 0.5. ORT takes them
NCHW [1,3,224,398] as the ONNX model declares; vigil takes them NHWC
[1,224,398,3] as the SavedModel's function (inputs_0) declares, which is how
onnx2tf lays out images. Both give [1,2,224,398] (onnx2tf transposes back
to NCHW before the output), the background and person probabilities.

Tolerance: the largest absolute difference is at most 1e-4 x the range of
ORT's output (a softmax: the range is about 1). The figures (max and mean
absolute difference, pixels whose arg-max class differs) are printed.

ORT's outputs are cached in the cache folder (ort-oracle/, keyed by the
model, the input bytes, the script and the locked package versions);
VIGIL_ORT_CACHE=0 turns that off.
"""
import hashlib
import os
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
SAVEDMODEL = os.path.join(ASSETS, "models", "savedmodel", "humanseg_ppseg_lite_portrait_onnx2tf")
ONNX = os.path.join(ASSETS, "models", "onnx", "ppseg_lite_portrait_398x224_with_softmax_fixed.onnx")
PHOTOS = [os.path.join(ASSETS, "golden", "mediapipe_sergey.png"), os.path.join(ASSETS, "images", "coral_squat.bmp")]
CACHE = (os.environ.get("VIGIL_CACHE")
         or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
                         "vigil"))
USE_CACHE = os.environ.get("VIGIL_ORT_CACHE", "1") != "0"
W, H = 398, 224
TOL = 1e-4


def node_ok():
    return shutil.which("node") is not None and os.path.isdir(os.path.join(NODE_MODULES, "onnxruntime-node"))


def preprocess(photo):
    """The photo as PP-HumanSeg's input, NHWC float32 [1, 224, 398, 3]."""
    img = Image.open(photo).convert("RGB").resize((W, H), Image.BILINEAR)
    x = (np.asarray(img, dtype=np.float32) / 255.0 - 0.5) / 0.5
    return np.ascontiguousarray(x[None], dtype=np.float32)


def ort_outputs(nchw, tmp):
    """ONNX Runtime's output for the NCHW input, from the cache when it holds it."""
    h = hashlib.sha256()
    for path in (ONNX, ORT_RUN, os.path.join(ORACLE_DIR, "package-lock.json")):
        with open(path, "rb") as f:
            h.update(f.read())
    h.update(nchw.tobytes())
    cached = os.path.join(CACHE, "ort-oracle", h.hexdigest()[:32] + ".npy")
    if USE_CACHE and os.path.exists(cached):
        return np.load(cached)
    inp = os.path.join(tmp, "ort_in.npy")
    np.save(inp, nchw)
    out = os.path.join(tmp, "ort_out")
    p = subprocess.run(["node", ORT_RUN, ONNX, inp, out], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, f"ort_run: {p.stderr}"
    y = np.load(os.path.join(out, "0.npy"))
    if USE_CACHE:
        os.makedirs(os.path.dirname(cached), exist_ok=True)
        np.save(cached + ".tmp.npy", y)
        os.replace(cached + ".tmp.npy", cached)
    return y


@unittest.skipUnless(os.path.exists(os.path.join(SAVEDMODEL, "saved_model.pb")), f"needs {SAVEDMODEL}")
@unittest.skipUnless(os.path.exists(ONNX), f"needs {ONNX}")
@unittest.skipUnless(node_ok(), f"needs node and {NODE_MODULES}/onnxruntime-node (npm ci in tests/oracle)")
class HumansegOracleTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vigil-humanseg-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_against_onnxruntime(self):
        for photo in PHOTOS:
            if not os.path.exists(photo):
                self.skipTest(f"needs {photo}")
            x = preprocess(photo)
            ref = ort_outputs(np.ascontiguousarray(x.transpose(0, 3, 1, 2)), self.tmp)
            inp = os.path.join(self.tmp, "x.npy")
            np.save(inp, x)
            out = os.path.join(self.tmp, "out")
            p = subprocess.run([VIGIL_BIN, "run", SAVEDMODEL, "--input", f"inputs_0={inp}", "--outputs", out],
                               capture_output=True, text=True, timeout=300)
            self.assertEqual(p.returncode, 0, p.stderr)
            got = np.load(os.path.join(out, "identity.npy"))
            self.assertEqual(got.shape, ref.shape)
            self.assertEqual(ref.shape, (1, 2, H, W))
            err = np.abs(got.astype(np.float64) - ref)
            rng = float(ref.max() - ref.min())
            flips = float((got.argmax(1) != ref.argmax(1)).mean())
            person = float((ref.argmax(1) == 1).mean())
            print(f"  {os.path.basename(photo)}: max abs {err.max():.3g} (limit {TOL * rng:.3g}), "
                  f"mean abs {err.mean():.3g}, arg-max differs at {100 * flips:.4f}% of pixels, "
                  f"person {100 * person:.1f}% of the image")
            # A person is in every photo: a model that runs but segments nothing must not pass.
            self.assertGreater(person, 0.05)
            self.assertLessEqual(err.max(), TOL * rng)


if __name__ == "__main__":
    unittest.main()
