"""The YOLO-family TFLite detectors of the assets against independent executors.

Models (models/tflite/): yolov8n_int8 (Ultralytics 8.1.42 via onnx2tf, int8
weights under float activations), yolov8n_full_integer_quant (int8 I/O),
yolox_nano_float16_quantize (face-mask YOLOX, NCHW input, float16 weights),
object_detection_ssd_mobilenetv2_oidv4_fp16 (MediaPipe's OpenImages SSD, raw
outputs) and ultraface_version-RFB-320_without_postprocessing. vigil's
outputs come from `vigil run` (one thread).

Oracles:
- Arm NN's TfLite parser on CpuRef (tests/oracle/armnn_tflite.py). Debian's
  Arm NN 22 takes neither float16 constants behind DEQUANTIZE nor int8
  filters under float inputs, so those models are first rewritten by
  tests/oracle/tflite_f32_weights.py (float16 -> float32; --int8-weights:
  int8 -> scale * (q - zero_point), per channel), a Python rewrite that
  shares no code with vigil. For yolov8n_int8 that means both executors run
  the float model its int8 weights stand for; TFLite's own hybrid kernels
  also quantize the activations on the fly, which neither does.
- UltraFace: Arm NN's parser has no SHAPE operator, so the check is ONNX
  Runtime (npm onnxruntime-node, tests/oracle/ort_run.mjs) on the same
  network's ONNX export, models/onnx/ultraface_version-RFB-320.onnx, whose
  scores are the TFLite scores and whose boxes are the TFLite box encodings
  decoded against UltraFace's priors (centre variance 0.1, size variance
  0.2). The priors are the ones the ONNX file carries: centres at
  (i + 0.5) / fw, (j + 0.5) / fh for a feature map of fw x fh =
  ceil(320 / stride) x ceil(240 / stride), strides 8, 16, 32, 64, sizes
  10/16/24, 32/48, 64/96, 128/192/256 pixels, clipped to [0, 1]. (Centres
  at (j + 0.5) * stride / 240 differ from them in the last row of strides
  32 and 64, by up to 0.0625.)

Tolerances: float outputs, largest absolute error at most 1e-4 x the
oracle's range. int8 output: at least 99% of the elements within one
quantization step, as tests/integration/test_models.py asks of the other
quantized models: the two executors round requantization differently (Arm
NN in float, vigil as TFLite does), and the full-integer YOLOv8n amplifies
that in its deepest layers (a few elements differ by tens of steps, and
both differ from the float model by more). What a person sees: YOLOv8n
scores a person and the bus at 0.5 or more on images/nanodetrepo_bus.jpg.

Oracle outputs are cached in the cache folder: Arm NN's and the rewritten
models by oracle_cache.py (keyed by everything they depend on, including the
installed Arm NN; VIGIL_ORACLE_CACHE=0 turns that off), ONNX Runtime's in
ort-oracle/ (keyed by model, script, package lock and input bytes;
VIGIL_ORT_CACHE=0 turns that off).
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

import oracle_cache
from vigil_harness import ASSETS, VIGIL_BIN

HERE = os.path.dirname(os.path.abspath(__file__))
ORACLE_DIR = os.path.join(os.path.dirname(HERE), "oracle")
ORT_RUN = os.path.join(ORACLE_DIR, "ort_run.mjs")
NODE_MODULES = os.path.join(ORACLE_DIR, "node_modules")
TFLITE = os.path.join(ASSETS, "models", "tflite")
ULTRAFACE_ONNX = os.path.join(ASSETS, "models", "onnx", "ultraface_version-RFB-320.onnx")
CACHE = (os.environ.get("VIGIL_CACHE")
         or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
                         "vigil"))
USE_CACHE = os.environ.get("VIGIL_ORT_CACHE", "1") != "0"
TOL = 1e-4
PERSON, BUS = 0, 5


def have_armnn():
    return oracle_cache.have_armnn()


def have_ort():
    return shutil.which("node") is not None and os.path.isdir(os.path.join(NODE_MODULES, "onnxruntime-node"))


def photo(name, w, h):
    """An asset photo stretched to w x h, RGB uint8 [h, w, 3]."""
    return np.asarray(Image.open(os.path.join(ASSETS, name)).convert("RGB").resize((w, h), Image.BILINEAR),
                      dtype=np.uint8)


def digest(*parts):
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, str) and os.path.exists(p):
            with open(p, "rb") as f:
                h.update(f.read())
        else:
            h.update(p if isinstance(p, bytes) else str(p).encode())
    return h.hexdigest()[:32]


def cached(kind, key, produce):
    """produce() -> list of arrays, kept in CACHE/kind/key/ when caching is on."""
    folder = os.path.join(CACHE, kind, key)
    if USE_CACHE and os.path.exists(os.path.join(folder, "done")):
        n = len([f for f in os.listdir(folder) if f.endswith(".npy")])
        return [np.load(os.path.join(folder, f"{i}.npy")) for i in range(n)]
    arrays = produce()
    if USE_CACHE:
        tmp = folder + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        for i, a in enumerate(arrays):
            np.save(os.path.join(tmp, f"{i}.npy"), a)
        open(os.path.join(tmp, "done"), "w").close()
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
    return arrays


def armnn_outputs(model, flags, x, tmp):
    """Arm NN's outputs for input x, on the model rewritten by tflite_f32_weights.py with flags (None: as it is)."""
    path = model
    if flags is not None:
        path = oracle_cache.rewrite(model, os.path.join(tmp, "rewritten.tflite"), *flags)
        assert path is not None, f"rewrite: nothing to rewrite in {os.path.basename(model)}"
    ref, reason = oracle_cache.armnn(path, x.tobytes(), tmp)
    assert ref is not None, f"Arm NN cannot run {os.path.basename(model)}: {reason}"
    return ref


def ort_outputs(model, x, tmp):
    def produce():
        inp = os.path.join(tmp, "ort_in.npy")
        np.save(inp, x)
        out = os.path.join(tmp, "ort")
        p = subprocess.run(["node", ORT_RUN, model, inp, out], capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, f"ort_run: {p.stderr[-2000:]}"
        with open(os.path.join(out, "outputs.json")) as f:
            n = len(json.load(f))
        return [np.load(os.path.join(out, f"{i}.npy")) for i in range(n)]
    key = digest(model, ORT_RUN, os.path.join(ORACLE_DIR, "package-lock.json"), x.tobytes())
    return cached("ort-oracle", key, produce)


def vigil_outputs(model, x, tmp):
    """vigil's outputs, in the model's output order, from `vigil run`."""
    inp = os.path.join(tmp, "vigil_in.npy")
    np.save(inp, x)
    out = os.path.join(tmp, "vigil")
    p = subprocess.run([VIGIL_BIN, "run", model, "--input", inp, "--outputs", out, "--threads", "1"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    paths = [m.group(1) for m in re.finditer(r"^output \d+ .* -> (\S+)$", p.stdout, re.M)]
    assert paths, p.stdout
    return [np.load(path) for path in paths]


def check_float(test, name, got, ref):
    test.assertEqual(got.shape, ref.shape, name)
    err = np.abs(got.astype(np.float64) - ref)
    rng = float(ref.max() - ref.min())
    print(f"  {name}: max abs {err.max():.3g} (limit {TOL * rng:.3g}), mean abs {err.mean():.3g}, range {rng:.4g}")
    test.assertGreater(rng, 0, f"{name}: the oracle's output is constant")
    test.assertLessEqual(float(err.max()), TOL * rng, name)


def ultraface_priors(w=320, h=240):
    """UltraFace's priors (cx, cy, w, h), normalised and clipped, in its output order."""
    min_boxes = [[10, 16, 24], [32, 48], [64, 96], [128, 192, 256]]
    priors = []
    for k, stride in enumerate([8, 16, 32, 64]):
        fw, fh = int(np.ceil(w / stride)), int(np.ceil(h / stride))
        for j in range(fh):
            for i in range(fw):
                for m in min_boxes[k]:
                    priors.append([(i + 0.5) / fw, (j + 0.5) / fh, m / w, m / h])
    return np.clip(np.array(priors), 0.0, 1.0)


@unittest.skipUnless(os.path.isdir(TFLITE), f"assets not found at {TFLITE}")
class TfliteYoloOracleTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vigil-tflite-yolo-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def model(self, name):
        path = os.path.join(TFLITE, name)
        if not os.path.exists(path):
            self.skipTest(f"needs {path}")
        return path

    def armnn_or_skip(self):
        if not have_armnn():
            self.skipTest("Arm NN oracle (python3-pyarmnn, libarmnn-cpuref-backend22) not installed")

    def sees_person_and_bus(self, scores, what):
        """scores: [80, N] class scores of YOLOv8n on nanodetrepo_bus.jpg."""
        person, bus = float(scores[PERSON].max()), float(scores[BUS].max())
        print(f"  {what}: best person {person:.3f}, best bus {bus:.3f}")
        self.assertGreaterEqual(person, 0.5, what)
        self.assertGreaterEqual(bus, 0.5, what)
        # Everywhere else in the photo nothing is sure: most anchors score low for every class.
        self.assertLess(float(np.mean(scores.max(0) > 0.5)), 0.05, what)

    def test_yolov8n_int8_weights(self):
        self.armnn_or_skip()
        model = self.model("yolov8n_int8.tflite")
        x = (photo("images/nanodetrepo_bus.jpg", 640, 640).astype(np.float32) / 255.0)[None]
        ref = armnn_outputs(model, ["--int8-weights"], x, self.tmp)
        got = vigil_outputs(model, x, self.tmp)
        self.assertEqual(len(got), 1)
        check_float(self, "yolov8n_int8 [1,84,8400]", got[0], ref[0])
        self.sees_person_and_bus(got[0][0, 4:], "yolov8n_int8")

    def test_yolov8n_full_integer(self):
        self.armnn_or_skip()
        model = self.model("yolov8n_full_integer_quant.tflite")
        # The input's quantization as the file gives it (and vigil inspect prints): scale 0.0186584, zero point -14.
        scale, zp = 0.018658448, -14
        real = photo("images/nanodetrepo_bus.jpg", 640, 640).astype(np.float32) / 255.0
        x = np.clip(np.round(real / scale) + zp, -128, 127).astype(np.int8)[None]
        ref = armnn_outputs(model, None, x, self.tmp)[0]
        got = vigil_outputs(model, x, self.tmp)[0]
        self.assertEqual(got.dtype, np.int8)
        self.assertEqual(got.shape, ref.shape)
        diff = np.abs(got.astype(np.int32) - ref.astype(np.int32))
        within_one = float(np.mean(diff <= 1))
        print(f"  yolov8n_full_integer_quant: {within_one:.4%} within one step, {float(np.mean(diff == 0)):.4%} "
              f"equal, max {diff.max()} steps")
        self.assertGreaterEqual(within_one, 0.99)
        # The output's quantization: scale 0.00398602, zero point -128.
        self.sees_person_and_bus((got[0, 4:].astype(np.float32) + 128) * 0.00398602, "yolov8n_full_integer_quant")

    def test_yolox_nano_face_mask(self):
        self.armnn_or_skip()
        model = self.model("yolox_nano_float16_quantize.tflite")
        # YOLOX takes 0..255 RGB, NCHW as the file declares.
        x = np.ascontiguousarray(photo("images/yolox_assets_dog.jpg", 416, 416).astype(np.float32)
                                 .transpose(2, 0, 1)[None])
        ref = armnn_outputs(model, [], x, self.tmp)
        got = vigil_outputs(model, x, self.tmp)
        check_float(self, "yolox_nano [1,3549,8]", got[0], ref[0])

    def test_ssd_mobilenetv2_oidv4(self):
        self.armnn_or_skip()
        model = self.model("object_detection_ssd_mobilenetv2_oidv4_fp16.tflite")
        x = ((photo("images/coral_kite_and_cold.jpg", 300, 300).astype(np.float32) - 127.5) / 127.5)[None]
        ref = armnn_outputs(model, [], x, self.tmp)
        got = vigil_outputs(model, x, self.tmp)
        self.assertEqual(len(got), 2)
        check_float(self, "oidv4 box_encodings", got[0], ref[0])
        check_float(self, "oidv4 class_predictions", got[1], ref[1])

    @unittest.skipUnless(os.path.exists(ULTRAFACE_ONNX), f"needs {ULTRAFACE_ONNX}")
    @unittest.skipUnless(have_ort(), f"needs node and {NODE_MODULES}/onnxruntime-node")
    def test_ultraface_rfb320(self):
        model = self.model("ultraface_version-RFB-320_without_postprocessing.tflite")
        x = ((photo("refs/ultraface_input_imgs_1.jpg", 320, 240).astype(np.float32) - 127.0) / 128.0)[None]
        scores, boxes = ort_outputs(ULTRAFACE_ONNX, np.ascontiguousarray(x.transpose(0, 3, 1, 2)), self.tmp)
        got = vigil_outputs(model, x, self.tmp)
        self.assertEqual([g.shape for g in got], [(1, 4420, 4), (1, 4420, 2)])
        check_float(self, "ultraface scores", got[1], scores)
        p = ultraface_priors()
        loc = got[0][0].astype(np.float64)
        centre = p[:, :2] + loc[:, :2] * 0.1 * p[:, 2:]
        size = p[:, 2:] * np.exp(loc[:, 2:] * 0.2)
        decoded = np.concatenate([centre - size / 2, centre + size / 2], 1)
        check_float(self, "ultraface boxes", decoded, boxes[0])
        # Faces are in the photo: some priors are sure of one.
        self.assertGreater(int(np.sum(got[1][0, :, 1] > 0.9)), 5)


if __name__ == "__main__":
    unittest.main()
