"""The YOLO-family decoders on real models and photos: what a person sees.

Two halves:

- ONNX Runtime's outputs (tests/oracle/ort_run.mjs, npm onnxruntime-node,
  CPU, one thread) decoded by vigil's decoders through build/tests/decode-npy.
  The inputs are prepared here with numpy and OpenCV exactly as each model's
  own demo prepares them: YOLOX BGR 0..255, letterboxed to 416 at the top
  left with grey 114; UltraFace RGB (x - 127) / 128 stretched to 320x240;
  Yolo-FastestV2 BGR / 255 stretched to 352x352 (its test.py feeds
  cv2.imread's BGR; with RGB the scores differ from its pictures). ORT's
  outputs are cached (keyed by model, input, runner and package lock);
  VIGIL_ORT_CACHE=0 turns that off.
- `vigil detect` end to end on the same models: vigil must load them (a
  model it cannot load fails the test with vigil's message).

Expectations come from the models' own published results: YOLOX's demo on
dog.jpg (dog 0.86, bicycle 0.80, car 0.80), the boxes UltraFace's README
draws on its sample photo (52 faces, drawn in red), the detections
Yolo-FastestV2's result pictures show (labels and scores printed on them).
"""
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import numpy as np

from vigil_harness import ASSETS, VIGIL_BIN

try:
    import cv2
except ImportError:  # the tests that need it skip
    cv2 = None

HERE = os.path.dirname(os.path.abspath(__file__))
ORACLE_DIR = os.path.join(os.path.dirname(HERE), "oracle")
ORT_RUN = os.path.join(ORACLE_DIR, "ort_run.mjs")
NODE_MODULES = os.path.join(ORACLE_DIR, "node_modules")
DECODE_NPY = os.path.join(os.path.dirname(VIGIL_BIN), "tests", "decode-npy")
ONNX = os.path.join(ASSETS, "models", "onnx")
TFLITE = os.path.join(ASSETS, "models", "tflite")
COCO = os.path.join(ASSETS, "labels", "coco80.names")
CACHE = (os.environ.get("VIGIL_CACHE")
         or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
                         "vigil"))
USE_CACHE = os.environ.get("VIGIL_ORT_CACHE", "1") != "0"

YOLOX = os.path.join(ONNX, "yolox_nano.onnx")
ULTRAFACE = os.path.join(ONNX, "ultraface_version-RFB-320.onnx")
ULTRAFACE_RAW = os.path.join(ONNX, "ultraface_version-slim-320_without_postprocessing.onnx")
FASTESTV2 = os.path.join(ONNX, "yolo-fastestv2_352.onnx")
DOG = os.path.join(ASSETS, "images", "yolox_assets_dog.jpg")
FACES = os.path.join(ASSETS, "refs", "ultraface_input_imgs_1.jpg")
FACES_DRAWN = os.path.join(ASSETS, "refs", "ultraface_readme_result_1.jpg")
FACES_DRAWN_COUNT = 52  # the count printed in the picture's top left corner
BUS = os.path.join(ASSETS, "images", "nanodetrepo_bus.jpg")

# Yolo-FastestV2's result pictures: label and score as printed on each box, best first.
FASTESTV2_PICTURES = {
    "000139": [("person", 0.87), ("bicycle", 0.46), ("person", 0.32)],
    "000148": [("bird", 0.88)],
    # Nine cars; the three scores legible on the picture.
    "000004": [("car", 0.87), ("car", 0.85), ("car", 0.76)] + [("car", None)] * 6,
}

# Where the three things are in dog.jpg, normalised (x0, y0, x1, y1), read off the picture.
DOG_BOXES = {"dog": (0.17, 0.36, 0.42, 0.94), "bicycle": (0.07, 0.24, 0.74, 0.73), "car": (0.61, 0.14, 0.90, 0.30)}


def iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def node_ok():
    return shutil.which("node") is not None and os.path.isdir(os.path.join(NODE_MODULES, "onnxruntime-node"))


def ort_outputs(model, x):
    """ONNX Runtime's outputs for input x, in the model's order, from the cache when it holds them."""
    h = hashlib.sha256()
    for path in (model, ORT_RUN, os.path.join(ORACLE_DIR, "package-lock.json")):
        with open(path, "rb") as f:
            h.update(f.read())
    h.update(str(x.shape).encode())
    h.update(x.tobytes())
    cached = os.path.join(CACHE, "ort-oracle", "yolo-" + h.hexdigest()[:32])
    if not (USE_CACHE and os.path.exists(os.path.join(cached, "outputs.json"))):
        tmp = tempfile.mkdtemp(prefix="vigil-ort-")
        try:
            inp = os.path.join(tmp, "in.npy")
            np.save(inp, x)
            out = os.path.join(tmp, "out")
            p = subprocess.run(["node", ORT_RUN, model, inp, out], capture_output=True, text=True, timeout=600)
            assert p.returncode == 0, f"ort_run: {p.stderr[-2000:]}"
            if not USE_CACHE:
                return [np.load(os.path.join(out, f"{i}.npy")) for i in range(len(json.load(open(
                    os.path.join(out, "outputs.json")))))]
            os.makedirs(os.path.dirname(cached), exist_ok=True)
            shutil.rmtree(cached, ignore_errors=True)
            shutil.copytree(out, cached)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    n = len(json.load(open(os.path.join(cached, "outputs.json"))))
    return [os.path.join(cached, f"{i}.npy") for i in range(n)]


def decode(outputs, w, h, decoder="auto", threshold=None, labels=COCO):
    """vigil's decoders on ORT's outputs (paths of .npy files): (decoder, reason, detections)."""
    cmd = [DECODE_NPY, decoder, str(w), str(h)]
    if threshold is not None:
        cmd += ["--threshold", str(threshold)]
    if labels:
        cmd += ["--labels", labels]
    p = subprocess.run(cmd + list(outputs), capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    j = json.loads(p.stdout)
    return j["decoder"], j["reason"], j["detections"]


def letterbox_topleft(img, size):
    """YOLOX's preprocessing: scale to fit, paste at the top left of a grey 114 square; and the scale."""
    h, w = img.shape[:2]
    r = min(size / h, size / w)
    res = cv2.resize(img, (int(w * r), int(h * r)), interpolation=cv2.INTER_LINEAR)
    out = np.full((size, size, 3), 114, np.uint8)
    out[:res.shape[0], :res.shape[1]] = res
    return out, r


def red_outline_ratio(mask, box_px):
    """Red pixels along a box's outline (a band 4 pixels either side) per pixel of its perimeter."""
    x0, y0, x1, y1 = [int(round(v)) for v in box_px]
    band = mask[max(0, y0 - 4):y1 + 5, max(0, x0 - 4):x1 + 5].sum()
    inner = mask[y0 + 4:max(y0 + 4, y1 - 3), x0 + 4:max(x0 + 4, x1 - 3)].sum()
    per = max(1, 2 * ((x1 - x0) + (y1 - y0)))
    return (band - inner) / per


def faces_recall(dets, w, h):
    """How many detections lie on a face UltraFace's README drew (a red outline), of the 52 it drew."""
    ref = cv2.imread(FACES_DRAWN).astype(int)
    red = (ref[:, :, 2] > 160) & (ref[:, :, 1] < 90) & (ref[:, :, 0] < 90)
    on_face = [d for d in dets
               if red_outline_ratio(red, (d["box"][0] * w, d["box"][1] * h, d["box"][2] * w, d["box"][3] * h)) > 1.0]
    return len(on_face), len(on_face) / FACES_DRAWN_COUNT


@unittest.skipUnless(os.path.isdir(ONNX), f"assets not found at {ONNX}")
class OrtDecodedTest(unittest.TestCase):
    """ONNX Runtime's outputs, decoded by vigil."""

    @classmethod
    def setUpClass(cls):
        if cv2 is None:
            raise unittest.SkipTest("python3-opencv not installed")
        if not node_ok():
            raise unittest.SkipTest("node or tests/oracle/node_modules/onnxruntime-node missing (npm ci in tests/oracle)")
        if not os.path.exists(DECODE_NPY):
            raise unittest.SkipTest(f"{DECODE_NPY} not built")

    def test_yolox_nano_dog(self):
        img = cv2.imread(DOG)
        boxed, r = letterbox_topleft(img, 416)
        x = np.ascontiguousarray(boxed.transpose(2, 0, 1)[None], dtype=np.float32)
        dec, reason, dets = decode(ort_outputs(YOLOX, x), 416, 416, threshold=0.5)
        self.assertEqual(dec, "yolox", reason)
        h, w = img.shape[:2]
        found = {}
        for d in dets:
            # Model-input coordinates back to the photo through the top-left letterbox.
            b = d["box"]
            box = (b[0] * 416 / r / w, b[1] * 416 / r / h, b[2] * 416 / r / w, b[3] * 416 / r / h)
            found.setdefault(d["label"], (d["score"], box))
        print("\nYOLOX nano on dog.jpg:", {k: round(v[0], 3) for k, v in found.items()})
        for label, want in (("dog", 0.86), ("bicycle", 0.80), ("car", 0.80)):
            self.assertIn(label, found)
            score, box = found[label]
            self.assertAlmostEqual(score, want, delta=0.03, msg=label)
            self.assertGreater(iou(box, DOG_BOXES[label]), 0.7, f"{label} box {box}")
        self.assertEqual(set(found), {"dog", "bicycle", "car"})

    def test_nanodet_onnx_heads(self):
        """NanoDet-m's ONNX heads ([N,80] / [1,N,80] scores, [.,32] = 4 x 8 bins), bound by shape, not name."""
        img = cv2.imread(DOG)
        for size, name in ((320, "nanodet_m_320.onnx"), (416, "nanodet_m_416.onnx")):
            # hpc203's main_nanodet.py: aspect kept (INTER_AREA), centred on black, BGR, NanoDet's mean and std.
            h, w = img.shape[:2]
            newh = int(size * h / w)
            res = cv2.resize(img, (size, newh), interpolation=cv2.INTER_AREA)
            top = int((size - newh) * 0.5)
            res = cv2.copyMakeBorder(res, top, size - newh - top, 0, 0, cv2.BORDER_CONSTANT, value=0)
            x = (res.astype(np.float32) - np.array([103.53, 116.28, 123.675], np.float32)) / \
                np.array([57.375, 57.12, 58.395], np.float32)
            x = np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)
            dec, reason, dets = decode(ort_outputs(os.path.join(ONNX, name), x), size, size, threshold=0.35)
            self.assertEqual(dec, "nanodet", reason)
            self.assertIn("4 sides x 8 bins", reason)
            found = {}
            for d in dets:
                b = d["box"]
                box = (b[0], (b[1] * size - top) / newh, b[2], (b[3] * size - top) / newh)
                found.setdefault(d["label"], (round(d["score"], 2), box))
            print(f"\n{name} on dog.jpg:", {k: v[0] for k, v in found.items()})
            for label in ("dog", "bicycle", "car"):
                self.assertIn(label, found, name)
                self.assertGreater(iou(found[label][1], DOG_BOXES[label]), 0.5, f"{name} {label} {found[label]}")

    def check_faces(self, model, raw):
        img = cv2.imread(FACES)
        rgb = cv2.resize(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), (320, 240)).astype(np.float32)
        x = np.ascontiguousarray(((rgb - 127) / 128).transpose(2, 0, 1)[None], dtype=np.float32)
        outs = ort_outputs(model, x)
        dec, reason, dets = decode(outs, 320, 240, labels=None)
        self.assertEqual(dec, "ultraface", reason)
        # Which of the two the box output holds: corners pass through between 0 and 1, raw locations do not.
        boxes = np.load(outs[1])
        self.assertEqual(bool(np.all(boxes[0, :, 2] >= boxes[0, :, 0])), not raw)
        h, w = img.shape[:2]
        hits, recall = faces_recall(dets, w, h)
        print(f"\n{os.path.basename(model)}: {len(dets)} faces, {hits} on the {FACES_DRAWN_COUNT} the README drew: "
              f"recall {recall:.2f}")
        self.assertGreaterEqual(hits, FACES_DRAWN_COUNT // 2)
        # Nearly every detection is one of the drawn faces.
        self.assertGreaterEqual(hits, len(dets) - 2)

    def test_ultraface_rfb_320_postprocessed(self):
        self.check_faces(ULTRAFACE, raw=False)

    def test_ultraface_slim_320_raw(self):
        self.check_faces(ULTRAFACE_RAW, raw=True)

    def test_yolo_fastestv2_pictures(self):
        for name, want in FASTESTV2_PICTURES.items():
            img = cv2.imread(os.path.join(ASSETS, "golden", f"yolofastestv2_{name}.jpg"))
            x = cv2.resize(img, (352, 352), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255
            x = np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)
            dec, reason, dets = decode(ort_outputs(FASTESTV2, x), 352, 352)
            self.assertEqual(dec, "yolo-fastestv2", reason)
            got = [(d["label"], round(d["score"], 2)) for d in dets]
            print(f"\nYolo-FastestV2 on {name}: {got}")
            self.assertEqual(sorted(g[0] for g in got), sorted(w[0] for w in want), name)
            for (label, score), (wl, ws) in zip(got, want):
                if ws is not None:
                    self.assertEqual(label, wl, name)
                    self.assertAlmostEqual(score, ws, delta=0.02, msg=f"{name} {label}")


def loads(model):
    """None when vigil can run model, else why not (for the failure message)."""
    p = subprocess.run([VIGIL_BIN, "inspect", model], capture_output=True, text=True, timeout=120)
    text = p.stdout + p.stderr
    if "cannot run" in text or "not recognised" in text or "not supported" in text or p.returncode != 0:
        line = next((ln for ln in text.splitlines() if "not recognised" in ln or "not supported" in ln
                     or "cannot run" in ln), text.strip()[-200:])
        return line.strip()
    return None


def detect(model, image, *extra):
    p = subprocess.run([VIGIL_BIN, "detect", "--model", model, *extra, image], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.splitlines()[0])["detections"]


@unittest.skipUnless(os.path.isdir(ONNX), f"assets not found at {ONNX}")
class VigilDetectTest(unittest.TestCase):
    """`vigil detect` end to end: decoder chosen by itself, preprocessing by its defaults."""

    def need(self, model):
        why = loads(model)
        if why:
            self.fail(f"vigil cannot run {os.path.basename(model)}: {why}")

    def test_yolox_nano_dog(self):
        self.need(YOLOX)
        dets = detect(YOLOX, DOG, "--threshold", "0.5")
        best = {}
        for d in dets:
            best.setdefault(d["label"], d)
        print("\nvigil detect yolox_nano dog.jpg:", {k: round(v["score"], 3) for k, v in best.items()})
        for label in ("dog", "bicycle", "car"):
            self.assertIn(label, best)
            self.assertGreater(best[label]["score"], 0.7, label)
            self.assertGreater(iou(best[label]["box"], DOG_BOXES[label]), 0.6, label)

    def test_ultraface_faces(self):
        self.need(ULTRAFACE)
        if cv2 is None:
            self.skipTest("python3-opencv not installed")
        dets = detect(ULTRAFACE, FACES)
        img = cv2.imread(FACES)
        hits, recall = faces_recall(dets, img.shape[1], img.shape[0])
        print(f"\nvigil detect UltraFace RFB-320: {len(dets)} faces, recall {recall:.2f}")
        self.assertGreaterEqual(hits, FACES_DRAWN_COUNT // 2)
        self.assertTrue(all(d["label"] == "face" for d in dets))

    def test_yolo_fastestv2(self):
        self.need(FASTESTV2)
        dets = detect(FASTESTV2, os.path.join(ASSETS, "golden", "yolofastestv2_000139.jpg"))
        labels = sorted(d["label"] for d in dets)
        self.assertIn("person", labels)
        self.assertIn("bicycle", labels)

    def check_yolov8_bus(self, name):
        model = os.path.join(TFLITE, name)
        self.need(model)
        p = subprocess.run([VIGIL_BIN, "inspect", model], capture_output=True, text=True, timeout=120)
        self.assertIn("decoder: yolov8", p.stdout)
        # Normalised boxes, said from the metadata when the loader exposes it, else told from the values.
        self.assertRegex(p.stdout, "normalised 0..1|told from the values")
        dets = detect(model, BUS)
        labels = [d["label"] for d in dets]
        print(f"\nvigil detect {name} bus.jpg:", [(d["label"], round(d["score"], 2)) for d in dets])
        self.assertGreaterEqual(labels.count("person"), 3)
        self.assertIn("bus", labels)

    def test_yolov8n_int8_bus(self):
        self.check_yolov8_bus("yolov8n_int8.tflite")

    def test_yolov8n_full_integer_bus(self):
        self.check_yolov8_bus("yolov8n_full_integer_quant.tflite")

    def test_openimages_ssd_dog(self):
        """MediaPipe's OpenImages SSD: raw heads on MediaPipe's anchors, labels from the map beside it."""
        model = os.path.join(TFLITE, "object_detection_ssd_mobilenetv2_oidv4_fp16.tflite")
        self.need(model)
        p = subprocess.run([VIGIL_BIN, "inspect", model], capture_output=True, text=True, timeout=120)
        self.assertIn("decoder: ssd-anchors", p.stdout)
        dets = detect(model, DOG)
        best = {}
        for d in dets:
            best.setdefault(d["label"], d)
        print("\nvigil detect OpenImages SSD dog.jpg:", {k: round(v["score"], 2) for k, v in best.items()})
        for label, ref in (("Dog", "dog"), ("Bicycle", "bicycle"), ("Car", "car")):
            self.assertIn(label, best)
            self.assertGreater(iou(best[label]["box"], DOG_BOXES[ref]), 0.6, label)


def constant_graph(path, out_value, metadata=None, size=96):
    """An ONNX model whose one output is out_value whatever the image [1,3,size,size] (0 x its mean added).

    No asset is a YOLOv5 or float YOLOv8 ONNX, has NMS inside or Ultralytics
    metadata_props: these stand in for them, built with Debian's python3-onnx.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["m"], keepdims=1),
        helper.make_node("Mul", ["m", "zero"], ["z"]),
        helper.make_node("Reshape", ["z", "shape"], ["z3"]),
        helper.make_node("Add", ["z3", "value"], ["output0"]),
    ]
    inits = [numpy_helper.from_array(np.zeros((1, 1, 1, 1), np.float32), "zero"),
             numpy_helper.from_array(np.array([1, 1, 1], np.int64), "shape"),
             numpy_helper.from_array(out_value.astype(np.float32), "value")]
    g = helper.make_graph(nodes, "synthetic",
                          [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, size, size])],
                          [helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(out_value.shape))], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    for k, v in (metadata or {}).items():
        p = m.metadata_props.add()
        p.key, p.value = k, v
    onnx.checker.check_model(m)
    onnx.save(m, path)


# Stride 8, 16, 32 grids of a 96x96 input: 144 + 36 + 9 cells.
CELLS_96 = 189
NAMES_3 = "{0: 'cat', 1: 'dog', 2: 'bird'}"


def have_onnx():
    try:
        import onnx  # noqa: F401
        return True
    except ImportError:
        return False


@unittest.skipUnless(have_onnx(), "python3-onnx not installed")
class SyntheticOnnxTest(unittest.TestCase):
    """Heads no asset has (YOLOv8 with Ultralytics metadata_props, YOLOv5, NMS rows), built here."""

    @classmethod
    def setUpClass(cls):
        if not node_ok() or not os.path.exists(DECODE_NPY):
            raise unittest.SkipTest("onnxruntime-node or decode-npy missing")
        cls.tmp = tempfile.mkdtemp(prefix="vigil-yolo-synth-")
        cls.image = os.path.join(cls.tmp, "grey.png")
        if cv2 is not None:
            cv2.imwrite(cls.image, np.full((96, 96, 3), 90, np.uint8))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_both(self, name, value, metadata, decoder="auto", labels=None):
        """ORT's output decoded by decode-npy, and `vigil detect` on the model when vigil can load it."""
        model = os.path.join(self.tmp, name)
        constant_graph(model, value, metadata)
        x = np.zeros((1, 3, 96, 96), np.float32)
        outs = ort_outputs(model, x)
        np.testing.assert_allclose(np.load(outs[0]), value, rtol=0, atol=1e-6)
        lab = os.path.join(self.tmp, "labels.txt")
        with open(lab, "w") as f:
            f.write("cat\ndog\nbird\n")
        decoded = decode(outs, 96, 96, decoder=decoder, labels=labels or lab)
        why = loads(model)
        vigil = None if why else detect(model, self.image)
        return model, decoded, vigil, why

    def test_yolov8_with_metadata_props(self):
        v = np.zeros((1, 4 + 3, CELLS_96), np.float32)
        v[0, :4, 5] = (48, 24, 20, 10)     # x 38..58, y 19..29 of 96
        v[0, 4 + 1, 5] = 0.9               # dog
        v[0, :4, 100] = (10, 80, 8, 8)
        v[0, 4 + 2, 100] = 0.3             # a bird below the threshold
        meta = {"names": NAMES_3, "imgsz": "[96, 96]", "stride": "32", "task": "detect"}
        model, (dec, reason, dets), vigil, why = self.run_both("yolov8_meta.onnx", v, meta)
        self.assertEqual(dec, "yolov8", reason)
        self.assertEqual([(d["label"], round(d["score"], 3)) for d in dets], [("dog", 0.9)])
        np.testing.assert_allclose(dets[0]["box"], [38 / 96, 19 / 96, 58 / 96, 29 / 96], atol=1e-4)
        if why:
            self.fail(f"vigil detect: {why}")
        p = subprocess.run([VIGIL_BIN, "inspect", model], capture_output=True, text=True, timeout=60)
        self.assertIn("boxes in input pixels (Ultralytics ONNX export, by its metadata)", p.stdout)
        self.assertIn("labels: Ultralytics metadata (metadata_props) (3)", p.stdout)
        self.assertEqual([d["label"] for d in vigil], ["dog"])
        np.testing.assert_allclose(vigil[0]["box"], [38 / 96, 19 / 96, 58 / 96, 29 / 96], atol=2e-3)

    def test_yolov5_rows(self):
        v = np.zeros((1, 3 * CELLS_96, 5 + 3), np.float32)
        v[0, 7] = (48, 48, 32, 16, 0.8, 0.1, 0.2, 0.9)   # bird 0.72, x 32..64, y 40..56
        model, (dec, reason, dets), vigil, why = self.run_both("yolov5.onnx", v, None)
        self.assertEqual(dec, "yolov5", reason)
        self.assertEqual([(d["label"], round(d["score"], 3)) for d in dets], [("bird", 0.72)])
        np.testing.assert_allclose(dets[0]["box"], [32 / 96, 40 / 96, 64 / 96, 56 / 96], atol=1e-4)
        if why:
            self.fail(f"vigil detect: {why}")
        self.assertEqual([d["class_id"] for d in vigil], [2])

    def test_nms_rows_yolov7_end2end(self):
        # batch, x1, y1, x2, y2, class, score: YOLOv7's end-to-end ONNX order, in input pixels.
        v = np.array([[[0, 10, 20, 50, 80, 1, 0.85], [0, 60, 60, 90, 90, 0, 0.55], [0, 0, 0, 0, 0, 0, 0]]],
                     np.float32)
        model, (dec, reason, dets), vigil, why = self.run_both("nms7.onnx", v, None)
        self.assertEqual(dec, "nms-rows", reason)
        self.assertEqual([(d["label"], round(d["score"], 2)) for d in dets], [("dog", 0.85), ("cat", 0.55)])
        np.testing.assert_allclose(dets[0]["box"], [10 / 96, 20 / 96, 50 / 96, 80 / 96], atol=1e-4)
        if why:
            self.fail(f"vigil detect: {why}")
        self.assertEqual(len(vigil), 2)


if __name__ == "__main__":
    unittest.main()
