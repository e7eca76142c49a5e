"""The Keras HDF5 models of the shared assets through vigil's engine, against
TensorFlow.js's Layers API.

tests/oracle/keras_to_tfjs.py (Debian's h5py) copies each HDF5 file's
model_config and weight values, untouched, into a TensorFlow.js layers model;
tests/oracle/tfjs_layers_run.mjs runs it with @tensorflow/tfjs-layers 4.22 on
the plain-JavaScript cpu backend. No arithmetic is shared with vigil, which
reads the HDF5 file itself (libhdf5) and runs it through `nn-run` on the same
input bytes.

Models and inputs:
- models/keras/fer2013_mini_XCEPTION.102-0.66.hdf5 (mini-Xception, Keras 2.0.5
  functional model, 64x64x1 grey scaled to [-1, 1], 7 emotions in the order
  angry, disgust, fear, happy, sad, surprise, neutral) on real face crops:
  the four faces of refs/face_classification_emotion_classification.jpg (the
  model's repository's own result picture; the crops are the inside of the
  boxes drawn on it, found by looking at the picture), the two front faces
  of images/coral_face.jpg and the face of golden/mediapipe_sergey.png, each
  converted to grey and resized with PIL (bilinear). The four reference faces
  must get the labels drawn on the picture: surprise, happy, sad, angry.
- models/keras/sudoku_digit_classifier.h5 (Keras 2.9 Sequential CNN, 28x28x1)
  on the digits 1-9 drawn here with DejaVu fonts as its repository's pipeline
  feeds them: white on black, cropped to the digit, resized to 28x28, /255.
  How many it gets right is printed, and at least 7 of 9 per font are
  required (it was trained on photographed sudoku digits, not these fonts).

Tolerance: every output element, max abs error <= 1e-4 x max(1, range of the
reference output). Both sides compute in float32 in different orders
(XNNPACK and vigil's kernels against plain JavaScript loops); the outputs are
softmax probabilities, so 1e-4 of their range is far above float32 rounding
over these ~20 layers and far below any wrong op.

TensorFlow.js's outputs are cached in the cache folder (keras-oracle/, keyed
by the model file, the two oracle scripts, the locked npm packages and the
input bytes); VIGIL_TFJS_CACHE=0 turns that off.
"""
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from vigil_harness import ASSETS, VIGIL_BIN, requires_assets

HERE = os.path.dirname(os.path.abspath(__file__))
ORACLE_DIR = os.path.join(os.path.dirname(HERE), "oracle")
TO_TFJS = os.path.join(ORACLE_DIR, "keras_to_tfjs.py")
LAYERS_RUN = os.path.join(ORACLE_DIR, "tfjs_layers_run.mjs")
NODE_MODULES = os.path.join(ORACLE_DIR, "node_modules")
NN_RUN = os.path.join(os.path.dirname(VIGIL_BIN), "tests", "nn-run")
PY = "/usr/bin/python3"
CACHE = (os.environ.get("VIGIL_CACHE")
         or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
                         "vigil"))
USE_CACHE = os.environ.get("VIGIL_TFJS_CACHE", "1") != "0"

EMOTION = "models/keras/fer2013_mini_XCEPTION.102-0.66.hdf5"
SUDOKU = "models/keras/sudoku_digit_classifier.h5"
EMOTIONS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
REF_PICTURE = "refs/face_classification_emotion_classification.jpg"
# (picture, box inside the drawn lines (left, top, right, bottom), expected label or None)
FACES = [
    (REF_PICTURE, (144, 157, 304, 333), "surprise"),
    (REF_PICTURE, (666, 101, 852, 306), "happy"),
    (REF_PICTURE, (138, 594, 322, 797), "sad"),
    (REF_PICTURE, (692, 639, 891, 857), "angry"),
    ("images/coral_face.jpg", (115, 75, 230, 205), None),
    ("images/coral_face.jpg", (252, 50, 358, 190), None),
    ("golden/mediapipe_sergey.png", (115, 120, 465, 520), None),
]
FONTS = ["/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"]
TOL = 1e-4


def have_oracle():
    return shutil.which("node") is not None and os.path.isdir(os.path.join(NODE_MODULES, "@tensorflow", "tfjs-layers"))


def have_h5py():
    return subprocess.run([PY, "-c", "import h5py"], capture_output=True).returncode == 0


def face_input(path, box):
    grey = Image.open(os.path.join(ASSETS, path)).convert("RGB").convert("L").crop(box)
    x = np.asarray(grey.resize((64, 64), Image.BILINEAR), dtype=np.float32) / 255.0
    return ((x - 0.5) * 2.0).astype("<f4").tobytes()


def digit_input(digit, font_path):
    font = ImageFont.truetype(font_path, 96)
    img = Image.new("L", (160, 160), 0)
    ImageDraw.Draw(img).text((30, 10), str(digit), fill=255, font=font)
    img = img.crop(img.getbbox())
    x = np.asarray(img.resize((28, 28), Image.BILINEAR), dtype=np.float32) / 255.0
    return x.astype("<f4").tobytes()


def run_nn(model, data, tmp):
    """vigil: [(name, array)] for one input."""
    os.makedirs(tmp, exist_ok=True)
    inp = os.path.join(tmp, "in.bin")
    with open(inp, "wb") as f:
        f.write(data)
    out = tempfile.mkdtemp(dir=tmp)
    p = subprocess.run([NN_RUN, model, inp, out], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, f"nn-run {os.path.basename(model)}: {p.stderr.strip()}"
    outputs = []
    for line in p.stdout.splitlines():
        idx, name, dtype, shape = line.split("\t")[:4]
        arr = np.fromfile(os.path.join(out, f"{idx}.bin"), dtype=np.dtype(dtype))
        outputs.append((name, arr.reshape([int(s) for s in shape.split(",")])))
    return outputs


def oracle_key(model, inputs):
    h = hashlib.sha256()
    for path in (model, TO_TFJS, LAYERS_RUN, os.path.join(ORACLE_DIR, "package-lock.json")):
        with open(path, "rb") as f:
            h.update(f.read())
    for data in inputs:
        h.update(data)
    return h.hexdigest()[:32]


def run_oracle(model, inputs, tmp):
    """TensorFlow.js layers: per output (name, array [n_inputs, ...]) (cached, see the module's doc)."""
    key = oracle_key(model, inputs)
    cached = os.path.join(CACHE, "keras-oracle", key)
    out = cached if USE_CACHE else os.path.join(tmp, "oracle-" + key)
    if not os.path.exists(os.path.join(out, "outputs.json")):
        work = tempfile.mkdtemp(prefix="keras-oracle-", dir=tmp)
        conv = os.path.join(work, "tfjs")
        p = subprocess.run([PY, TO_TFJS, model, conv], capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, f"keras_to_tfjs: {p.stderr.strip()}"
        files = []
        for i, data in enumerate(inputs):
            files.append(os.path.join(work, f"in{i}.bin"))
            with open(files[-1], "wb") as f:
                f.write(data)
        res = os.path.join(work, "out")
        p = subprocess.run(["node", LAYERS_RUN, os.path.join(conv, "model.json"), res] + files,
                           capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, f"tfjs_layers_run: {p.stderr.strip()}"
        os.makedirs(os.path.dirname(out), exist_ok=True)
        try:
            os.rename(res, out)  # complete or absent, never half-written
        except OSError:
            if not os.path.exists(os.path.join(out, "outputs.json")):
                raise
    with open(os.path.join(out, "outputs.json")) as f:
        desc = json.load(f)
    return [(d["name"], np.fromfile(os.path.join(out, f"{i}.bin"), dtype=d["dtype"]).reshape(d["shape"]))
            for i, d in enumerate(desc)]


@requires_assets(EMOTION, SUDOKU, REF_PICTURE, "images/coral_face.jpg", "golden/mediapipe_sergey.png")
@unittest.skipUnless(have_oracle(), f"TensorFlow.js layers not installed in {NODE_MODULES} (run scripts/install-deps)")
@unittest.skipUnless(have_h5py(), "Debian's python3-h5py is not installed (/usr/bin/python3 -c 'import h5py')")
class KerasOracleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vigil-keras-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def compare(self, model_rel, labelled):
        """Runs both sides on [(label, bytes)]; returns vigil's outputs per input after checking each element."""
        model = os.path.join(ASSETS, model_rel)
        ref = run_oracle(model, [d for _, d in labelled], self.tmp)
        self.assertEqual(len(ref), 1, "one output expected from TensorFlow.js")
        ref_name, ref_all = ref[0]
        print(f"\n  {os.path.basename(model)}: vigil nn-run vs TensorFlow.js layers 4.22 cpu "
              f"(tolerance {TOL:g} x max(1, range))")
        failures, ours = [], []
        for i, (label, data) in enumerate(labelled):
            got = run_nn(model, data, self.tmp)
            self.assertEqual(len(got), 1, f"{label}: vigil gives {len(got)} outputs")
            name, a = got[0]
            r = ref_all[i:i + 1]
            self.assertEqual(name, ref_name, "output names differ")
            self.assertEqual(a.shape, r.shape, f"{label}: shape {a.shape}, TensorFlow.js {r.shape}")
            err = float(np.max(np.abs(a.astype(np.float64) - r)))
            tol = TOL * max(1.0, float(r.max() - r.min()))
            print(f"  {label:<34} max abs err {err:9.3g}  tol {tol:8.3g}  vigil top {int(np.argmax(a))} "
                  f"({float(a.max()):.3f})  tfjs top {int(np.argmax(r))} ({float(r.max()):.3f})"
                  f"{'' if err <= tol else '  FAIL'}")
            if err > tol:
                failures.append(f"{label}: max abs error {err:.4g} > {tol:.4g}")
            ours.append(a.reshape(-1))
        self.assertFalse(failures, "\n".join(failures))
        return ours

    def test_emotion_on_faces(self):
        labelled = [(f"{os.path.basename(p)} {box}", face_input(p, box)) for p, box, _ in FACES]
        ours = self.compare(EMOTION, labelled)
        wrong = []
        for (path, box, want), probs in zip(FACES, ours):
            got = EMOTIONS[int(np.argmax(probs))]
            print(f"  {os.path.basename(path)} {box}: {got} ({float(probs.max()):.2f})"
                  + (f", the picture says {want}" if want else ""))
            if want and got != want:
                wrong.append(f"{path} {box}: {got}, expected {want}")
        self.assertFalse(wrong, "\n".join(wrong))

    def test_sudoku_on_digits(self):
        labelled = [(f"{d} in {os.path.basename(f)}", digit_input(d, f)) for f in FONTS for d in range(1, 10)]
        ours = self.compare(SUDOKU, labelled)
        for k, font in enumerate(FONTS):
            got = [int(np.argmax(ours[k * 9 + d - 1])) for d in range(1, 10)]
            right = sum(g == d for g, d in zip(got, range(1, 10)))
            print(f"  {os.path.basename(font)}: read {got} for 1..9 ({right}/9 right)")
            self.assertGreaterEqual(right, 7, f"{font}: {got}")


if __name__ == "__main__":
    unittest.main()
