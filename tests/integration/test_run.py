"""`vigil run`: a model once on .npy inputs or an image, every output written as .npy.

- Outputs equal, byte for byte, what build/tests/nn-run (the engine alone, on
  raw bytes) gives on the same input: a quantized TFLite classifier, a float
  TFLite detector, a TFLite LSTM video model with state inputs, and a
  TensorFlow.js graph model from the demo's cache. np.load reads every file
  with the output's dtype and shape.
- Conversions: float64 and a missing batch dimension give the same bytes as
  the float32 array of the full shape; integer arrays convert when they fit.
- --image prepares the input as `vigil detect` does: the classifier's top
  class and score on coral_parrot.jpg (a macaw) and coral_cat.bmp (a cat) are
  detect's; the input written to DIR/inputs/ fed back with --input gives the
  same bytes; it is the photo resized to 128x128 in RGB order (compared with
  OpenCV's INTER_AREA resize of the same file: mean absolute difference under
  8 grey levels, where BGR order would be over 25; the two resamplers and
  YUV 4:2:0 chroma explain the difference); float inputs hold exactly
  (k - 127.5) / 127.5 for whole k, and letterboxing pads with -1.
- Bad input: wrong shapes, dtypes, names, values that do not fit, corrupt
  .npy files, missing inputs, --input-size against a fixed size: exit 2 and
  one message naming the input, what it expects and what it was given.

Needs numpy and OpenCV (Debian's python3-numpy, python3-opencv: run with
/usr/bin/python3). Models from ../shared/assets and the TensorFlow.js cache
(scripts/fetch-demo-assets); tests skip, by name, when those are absent.
"""
import os
import shutil
import subprocess
import tempfile
import unittest

from vigil_harness import ASSETS, VIGIL_BIN

try:
    import numpy as np
except ImportError:  # plain python3 without Debian's modules
    np = None
try:
    import cv2
except ImportError:
    cv2 = None

NN_RUN = os.path.join(os.path.dirname(VIGIL_BIN), "tests", "nn-run")
TFLITE = os.path.join(ASSETS, "models", "tflite")
IMAGES = os.path.join(ASSETS, "images")
MOBILENET = os.path.join(TFLITE, "coral_mobilenet_v1_0.25_128_quant.tflite")
FACE = os.path.join(TFLITE, "mediapipe_face_detection_short_range.tflite")
TRAFFIC = os.path.join(TFLITE, "coral_automl_traffic_model.tflite")
PARROT = os.path.join(IMAGES, "coral_parrot.jpg")
CAT = os.path.join(IMAGES, "coral_cat.bmp")
FACE_PHOTO = os.path.join(IMAGES, "coral_face.jpg")
IMAGENET_LABELS = os.path.join(ASSETS, "labels", "coral_imagenet_labels.txt")
CACHE = (os.environ.get("VIGIL_CACHE")
         or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
                         "vigil"))
HUMAN = os.environ.get("VIGIL_HUMAN_MODELS") or os.path.join(CACHE, "human-models-3.0.4", "models")
BLAZEFACE = os.path.join(HUMAN, "blazeface.json")


def have(*paths):
    return all(os.path.exists(p) for p in paths)


def run(*args, ok=True):
    p = subprocess.run([VIGIL_BIN, "run", *args], capture_output=True, text=True, timeout=300)
    if ok:
        assert p.returncode == 0, f"vigil run {' '.join(args)}: exit {p.returncode}: {p.stderr}"
    return p


def nn_run(model, data, tmp):
    """The engine alone on raw input bytes: a list of (name, dtype, shape, bytes) per output."""
    inp = os.path.join(tmp, "nn_in.bin")
    out = tempfile.mkdtemp(dir=tmp)
    with open(inp, "wb") as f:
        f.write(data)
    p = subprocess.run([NN_RUN, "--threads", "1", model, inp, out], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    outs = []
    for line in p.stdout.splitlines():
        idx, name, dtype, shape = line.split("\t")[:4]
        with open(os.path.join(out, f"{idx}.bin"), "rb") as f:
            outs.append((name, dtype, tuple(int(d) for d in shape.split(",") if d), f.read()))
    return outs


def file_name(name):
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)


@unittest.skipUnless(np is not None and cv2 is not None, "needs numpy and OpenCV (run with /usr/bin/python3)")
@unittest.skipUnless(os.access(NN_RUN, os.X_OK), f"needs {NN_RUN} (ninja -C build)")
class RunTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vigil-run-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def save(self, name, arr):
        path = os.path.join(self.tmp, name)
        np.save(path, arr)
        return path

    def outdir(self, name="out"):
        return os.path.join(self.tmp, name)

    def check_equals_nn_run(self, model, arr, *input_args, outs=None):
        """vigil run's outputs for these arguments against nn-run on arr's bytes: same names, shapes, bytes."""
        out = outs or self.outdir()
        p = run(model, *input_args, "--outputs", out)
        ref = nn_run(model, np.ascontiguousarray(arr).tobytes(), self.tmp)
        lines = [ln for ln in p.stdout.splitlines() if ln.startswith("output ")]
        self.assertEqual(len(lines), len(ref), p.stdout)
        for (name, dtype, shape, data), line in zip(ref, lines):
            path = os.path.join(out, file_name(name) + ".npy")
            self.assertIn(f"  {name}  ", line)
            self.assertTrue(line.endswith("-> " + path), line)
            got = np.load(path)
            self.assertEqual(got.shape, shape, name)
            self.assertEqual(str(got.dtype), {"float32": "float32", "uint8": "uint8", "int8": "int8",
                                              "int32": "int32", "int64": "int64"}[dtype], name)
            self.assertEqual(got.tobytes(), data, f"output '{name}' differs from nn-run's")
            if got.size and np.issubdtype(got.dtype, np.floating):
                self.assertIn(f"min {got.min():.9g} max {got.max():.9g}", line)
        return p

    @unittest.skipUnless(have(MOBILENET), f"needs {MOBILENET}")
    def test_quantized_classifier_equals_nn_run(self):
        x = np.random.default_rng(1).integers(0, 256, (1, 128, 128, 3), dtype=np.uint8)
        p = self.check_equals_nn_run(MOBILENET, x, "--input", self.save("x.npy", x))
        self.assertIn("uint8[1,1001]", p.stdout)
        self.assertIn("scale 0.00390625 zero_point 0", p.stdout)
        # The input as taken is written back unchanged.
        self.assertEqual(np.load(os.path.join(self.outdir(), "inputs", "input.npy")).tobytes(), x.tobytes())
        # By name, and by index, the same; int64 values that fit convert, without the batch dimension.
        for spec in ("input=%s", "0=%s"):
            self.check_equals_nn_run(MOBILENET, x, "--input", spec % self.save("x.npy", x),
                                     outs=self.outdir("by_" + spec[:1]))
        # (--input-size with the size the model fixes is accepted.)
        self.check_equals_nn_run(MOBILENET, x, "--input", self.save("x64.npy", x[0].astype(np.int64)),
                                 "--input-size", "128x128", outs=self.outdir("int64"))

    @unittest.skipUnless(have(FACE), f"needs {FACE}")
    def test_float_detector_equals_nn_run_and_converts(self):
        x = np.random.default_rng(2).uniform(-1, 1, (1, 128, 128, 3)).astype(np.float32)
        self.check_equals_nn_run(FACE, x, "--input", self.save("x.npy", x))
        # float64, without its batch dimension, Fortran order, big-endian: the same float32 tensor.
        x64 = x[0].astype(np.float64)
        p = self.check_equals_nn_run(FACE, x, "--input", "input=" + self.save("x64.npy", x64), outs=self.outdir("f64"))
        self.assertIn("batch dimension added, converted from float64", p.stdout)
        xf = np.asfortranarray(x.astype(">f4"))
        p = self.check_equals_nn_run(FACE, x, "--input", self.save("xf.npy", xf), outs=self.outdir("fortran"))
        self.assertIn("from Fortran order", p.stdout)

    @unittest.skipUnless(have(TRAFFIC, os.path.join(IMAGES, "coral_traffic_frame_0001.bmp")), f"needs {TRAFFIC}")
    def test_state_inputs_start_at_zero(self):
        # The state's zero point is 0, so nn-run's zero bytes are the same start.
        x = np.random.default_rng(3).integers(0, 256, (1, 256, 256, 3), dtype=np.uint8)
        p = self.check_equals_nn_run(TRAFFIC, x, "--input", self.save("x.npy", x))
        self.assertEqual(p.stdout.count("not given: a state input, at zero"), 2, p.stdout)
        # ':' and '/' in output names become '_' in file names.
        for name in ("TFLite_Detection_PostProcess_3.npy", "raw_outputs_lstm_c.npy"):
            self.assertTrue(os.path.isfile(os.path.join(self.outdir(), name)), name)
        # A state given explicitly by name is used.
        c = np.full((1, 8, 8, 320), 7, np.uint8)
        p = run(TRAFFIC, "--input", "normalized_input_image_tensor=" + self.save("x.npy", x),
                "--input", "raw_inputs/init_lstm_c=" + self.save("c.npy", c), "--outputs", self.outdir("c"))
        self.assertEqual(p.stdout.count("not given: a state input"), 1, p.stdout)
        self.assertEqual(np.load(os.path.join(self.outdir("c"), "inputs", "raw_inputs_init_lstm_c.npy")).max(), 7)
        # Without the image: the message names the missing input.
        p = run(TRAFFIC, "--input", "raw_inputs/init_lstm_c=" + self.save("c.npy", c), "--outputs", self.outdir("x"),
                ok=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("no value for the model's input 0 'normalized_input_image_tensor' uint8[1,256,256,3]",
                      p.stderr)

    @unittest.skipUnless(have(BLAZEFACE), f"needs {BLAZEFACE} (scripts/fetch-demo-assets)")
    def test_tfjs_model_equals_nn_run(self):
        x = np.random.default_rng(4).uniform(-1, 1, (1, 256, 256, 3)).astype(np.float32)
        p = self.check_equals_nn_run(BLAZEFACE, x, "--input", self.save("x.npy", x))
        self.assertEqual(p.stdout.count("output "), 4)

    @unittest.skipUnless(have(MOBILENET, PARROT, CAT, IMAGENET_LABELS), "needs the Coral classifier and photos")
    def test_image_prepared_as_detect_does(self):
        with open(IMAGENET_LABELS) as f:
            labels = [ln.strip() for ln in f]
        for photo, expect in ((PARROT, "macaw"), (CAT, "cat")):
            out = self.outdir(os.path.basename(photo))
            p = run(MOBILENET, "--image", photo, "--outputs", out)
            self.assertIn("stretched to 128x128, RGB, NHWC, raw pixel values", p.stdout)
            scores = np.load(os.path.join(out, "MobilenetV1_Predictions_Reshape_1.npy"))[0]
            top = int(scores.argmax())
            self.assertIn(expect, labels[top], f"{photo}: top class {labels[top]}")
            d = subprocess.run([VIGIL_BIN, "detect", "--model", MOBILENET, "--top-k", "1", photo],
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(d.returncode, 0, d.stderr)
            det = __import__("json").loads(d.stdout)["detections"][0]
            self.assertEqual(det["class_id"], top)
            self.assertAlmostEqual(det["score"], scores[top] / 256.0, places=4)
            # The prepared input fed back as a .npy gives the same bytes.
            prepared = os.path.join(out, "inputs", "input.npy")
            again = self.outdir("again")
            run(MOBILENET, "--input", prepared, "--outputs", again)
            with open(os.path.join(again, "MobilenetV1_Predictions_Reshape_1.npy"), "rb") as a, \
                    open(os.path.join(out, "MobilenetV1_Predictions_Reshape_1.npy"), "rb") as b:
                self.assertEqual(a.read(), b.read())
            # The photo, stretched to 128x128, in RGB order.
            ours = np.load(prepared)[0].astype(np.float64)
            img = cv2.imread(photo)[:, :, ::-1]
            ref = cv2.resize(img, (128, 128), interpolation=cv2.INTER_AREA).astype(np.float64)
            rgb, bgr = np.abs(ours - ref).mean(), np.abs(ours - ref[:, :, ::-1]).mean()
            self.assertLess(rgb, 8, f"{photo}: mean difference from OpenCV's resize {rgb:.2f}")
            self.assertGreater(bgr, 25 if photo == PARROT else 3 * rgb, "the channel order is told apart")
        # --bgr swaps the channels of the prepared input. swscale's BGR24 and RGB24 outputs round differently
        # (up to 6 levels, 1.7 on average on this photo), so the swap is told by the mean difference.
        run(MOBILENET, "--image", PARROT, "--bgr", "--outputs", self.outdir("bgr"))
        a = np.load(os.path.join(self.outdir(os.path.basename(PARROT)), "inputs", "input.npy")).astype(np.float64)
        b = np.load(os.path.join(self.outdir("bgr"), "inputs", "input.npy")).astype(np.float64)
        self.assertLess(np.abs(a[..., ::-1] - b).mean(), 3)
        self.assertGreater(np.abs(a - b).mean(), 25)

    @unittest.skipUnless(have(FACE, FACE_PHOTO), f"needs {FACE} and {FACE_PHOTO}")
    def test_image_float_normalisation_and_letterbox(self):
        p = run(FACE, "--image", FACE_PHOTO, "--outputs", self.outdir())
        self.assertIn("letterboxed to 128x128", p.stdout)
        self.assertIn("built-in defaults for MediaPipe face detection", p.stdout)
        x = np.load(os.path.join(self.outdir(), "inputs", "input.npy"))
        self.assertEqual((x.shape, str(x.dtype)), ((1, 128, 128, 3), "float32"))
        k = x * 127.5 + 127.5
        self.assertLess(np.abs(k - np.round(k)).max(), 1e-4, "values are (k - 127.5) / 127.5")
        # 512x354 letterboxed into 128x128: 88.5 rows of picture, the rest padding (-1) above and below.
        self.assertTrue(np.all(x[0, :15] == -1) and np.all(x[0, -15:] == -1), "letterbox padding")
        self.assertGreater(x[0, 30:98].std(), 0.1, "the picture in the middle")
        # --mean/--std override the built-in normalisation.
        run(FACE, "--image", FACE_PHOTO, "--mean", "0", "--std", "1", "--outputs", self.outdir("raw"))
        y = np.load(os.path.join(self.outdir("raw"), "inputs", "input.npy"))
        self.assertTrue(np.allclose(y, k, atol=1e-3))

    @unittest.skipUnless(have(MOBILENET, FACE), "needs the Coral classifier and MediaPipe's face detector")
    def test_bad_inputs_are_named(self):
        u8 = np.zeros((1, 128, 128, 3), np.uint8)
        cases = [
            # (model, arguments, fragments of the message)
            (MOBILENET, ["--input", self.save("s.npy", np.zeros((1, 64, 64, 3), np.uint8))],
             ["input 0 'input' is uint8[1,128,128,3]", "uint8 (1, 64, 64, 3)", "shapes differ"]),
            (MOBILENET, ["--input", self.save("f.npy", u8.astype(np.float32))],
             ["input 0 'input' is uint8[1,128,128,3]", "float32 (1, 128, 128, 3)", "quantized"]),
            (FACE, ["--input", self.save("i.npy", u8)],
             ["input 0 'input' is float32[1,128,128,3]", "uint8", "dtypes differ"]),
            (MOBILENET, ["--input", self.save("big.npy", np.full((1, 128, 128, 3), 300, np.int32))],
             ["element 0 (300) does not fit uint8"]),
            (MOBILENET, ["--input", "nosuch=" + self.save("x.npy", u8)],
             ["no input called 'nosuch'", "0 'input' uint8[1,128,128,3]"]),
            (MOBILENET, ["--input", self.save("x.npy", u8), "--input", "input=" + self.save("x.npy", u8)],
             ["input 0 'input' is given twice"]),
            (MOBILENET, ["--input", os.path.join(self.tmp, "missing.npy")], ["missing.npy", "cannot open"]),
            (MOBILENET, ["--input", self.save("x.npy", u8), "--input-size", "300x300"],
             ["--input-size 300x300", "is 128x128"]),
            (MOBILENET, ["--input", self.save("x.npy", u8), "--input-size", "300"], ["WIDTHxHEIGHT"]),
            (MOBILENET, ["--input", self.save("x.npy", u8), "--image", PARROT], ["given twice"]),
            (MOBILENET, ["--image", os.path.join(self.tmp, "nosuch.jpg")], ["nosuch.jpg"]),
        ]
        # Corrupt .npy files: truncated data, a bad header, not .npy at all.
        good = self.save("good.npy", u8)
        with open(good, "rb") as f:
            raw = f.read()
        for name, data, frag in (("cut.npy", raw[:-10], "needs 49152 bytes"),
                                 ("hdr.npy", raw[:20] + b"X" + raw[21:], ".npy header"),
                                 ("junk.npy", b"\x89PNG\r\n\x1a\n" + raw[8:], "not a .npy file")):
            path = os.path.join(self.tmp, name)
            with open(path, "wb") as f:
                f.write(data)
            cases.append((MOBILENET, ["--input", path], [name, frag]))
        for model, args, frags in cases:
            p = run(model, *args, "--outputs", self.outdir(), ok=False)
            self.assertEqual(p.returncode, 2, f"{args}: {p.stderr}")
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
            for frag in frags:
                self.assertIn(frag, p.stderr, args)
            self.assertFalse(os.path.exists(os.path.join(self.outdir(), "MobilenetV1_Predictions_Reshape_1.npy")))

    def test_usage(self):
        h = subprocess.run([VIGIL_BIN, "run", "--help"], capture_output=True, text=True, timeout=30)
        self.assertEqual(h.returncode, 0)
        self.assertIn("become '_' in file names", h.stdout)
        self.assertIn("StatefulPartitionedCall_0.npy", h.stdout)
        for args, frag in ((["model.tflite", "--input", "x.npy"], "needs --outputs"),
                           (["model.tflite", "--outputs", "o"], "needs inputs"),
                           (["--outputs", "o"], "takes one model"),
                           (["a", "b", "--outputs", "o"], "takes one model"),
                           (["m", "--bogus"], "unknown option")):
            p = run(*args, ok=False)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn(frag, p.stderr, args)
        p = run(os.path.join(self.tmp, "nosuch.tflite"), "--input", "x.npy", "--outputs", self.outdir(), ok=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("nosuch.tflite", p.stderr)


if __name__ == "__main__":
    unittest.main()
