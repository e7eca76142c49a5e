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

Small models written here with h5py (tests/integration/keras_synth.py, random
weights) cover the other layer classes vigil maps: every one of them runs on
both sides on random inputs, with the same tolerance.

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

import keras_synth
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


C = "channels_last"


def conv(filters, k, strides=1, padding="valid", activation="linear", use_bias=True, **kw):
    return dict(filters=filters, kernel_size=[k, k], strides=[strides, strides], padding=padding, data_format=C,
                dilation_rate=[1, 1], activation=activation, use_bias=use_bias, **kw)


def mixed_model():
    """A functional model through most layer classes; outputs 'out' and 'cat'.

    TensorFlow.js has no Subtract layer: tests/nn/test_keras.c checks that one.
    """
    L = [
        ("in", "InputLayer", {"batch_input_shape": [None, 12, 12, 3], "dtype": "float32"}, []),
        ("c1", "Conv2D", conv(8, 3, 2, "same", "relu"), ["in"]),
        ("bn1", "BatchNormalization", {"axis": -1, "epsilon": 1e-3, "center": True, "scale": True}, ["c1"]),
        ("s1", "SeparableConv2D", dict(conv(6, 3, activation="swish"), depth_multiplier=2), ["bn1"]),
        ("d1", "DepthwiseConv2D", {"kernel_size": [3, 3], "strides": [1, 1], "padding": "same", "depth_multiplier": 1,
                                   "activation": "relu6", "use_bias": True, "data_format": C,
                                   "dilation_rate": [1, 1]}, ["s1"]),
        ("zp", "ZeroPadding2D", {"padding": [[1, 2], [0, 1]], "data_format": C}, ["d1"]),
        ("cr", "Cropping2D", {"cropping": [[1, 0], [0, 1]], "data_format": C}, ["zp"]),
        ("mp", "MaxPooling2D", {"pool_size": [2, 2], "strides": [2, 2], "padding": "same", "data_format": C}, ["cr"]),
        ("ap", "AveragePooling2D", {"pool_size": [2, 2], "strides": [1, 1], "padding": "same", "data_format": C},
         ["cr"]),
        ("up", "UpSampling2D", {"size": [2, 2], "data_format": C, "interpolation": "nearest"}, ["mp"]),
        ("add", "Add", {}, ["ap", "up"]),
        ("sub", "Add", {}, ["ap", "cr"]),
        ("mul", "Multiply", {}, ["add", "sub"]),
        ("mx", "Maximum", {}, ["mul", "cr"]),
        ("mn", "Minimum", {}, ["mx", "ap"]),
        ("avg", "Average", {}, ["mn", "add", "sub"]),
        ("cat", "Concatenate", {"axis": -1}, ["avg", "cr"]),
        ("ct", "Conv2DTranspose", dict(conv(4, 3, 2, "same"), output_padding=None), ["cat"]),
        ("lr", "LeakyReLU", {"alpha": 0.2}, ["ct"]),
        ("pr", "PReLU", {"shared_axes": [1, 2]}, ["ct"]),
        ("rl", "ReLU", {"max_value": 0.3}, ["ct"]),
        ("hs", "Activation", {"activation": "hard_sigmoid"}, ["lr"]),
        ("th", "Activation", {"activation": "tanh"}, ["pr"]),
        ("sg", "Activation", {"activation": "sigmoid"}, ["rl"]),
        ("gmp", "GlobalMaxPooling2D", {"data_format": C}, ["hs"]),
        ("gap", "GlobalAveragePooling2D", {"data_format": C}, ["th"]),
        ("dense3", "Dense", {"units": 3, "activation": "linear", "use_bias": True}, ["sg"]),
        ("gap2", "GlobalAveragePooling2D", {"data_format": C}, ["dense3"]),
        ("cat2", "Concatenate", {"axis": -1}, ["gmp", "gap", "gap2"]),
        ("de", "Dense", {"units": 6, "activation": "tanh", "use_bias": True}, ["cat2"]),
        ("dr", "Dropout", {"rate": 0.5}, ["de"]),
        ("rs", "Reshape", {"target_shape": [3, 2]}, ["dr"]),
        ("pm", "Permute", {"dims": [2, 1]}, ["rs"]),
        ("fl", "Flatten", {"data_format": C}, ["pm"]),
        ("out", "Dense", {"units": 4, "activation": "softmax", "use_bias": False}, ["fl"]),
    ]
    weights = {
        "c1": [("kernel", (3, 3, 3, 8)), ("bias", (8,))],
        "bn1": [("gamma", (8,)), ("beta", (8,)), ("moving_mean", (8,)), ("moving_variance", (8,))],
        "s1": [("depthwise_kernel", (3, 3, 8, 2)), ("pointwise_kernel", (1, 1, 16, 6)), ("bias", (6,))],
        "d1": [("depthwise_kernel", (3, 3, 6, 1)), ("bias", (6,))],
        "ct": [("kernel", (3, 3, 4, 12)), ("bias", (4,))],
        "pr": [("alpha", (1, 1, 4))],
        "dense3": [("kernel", (4, 3)), ("bias", (3,))],
        "de": [("kernel", (11, 6)), ("bias", (6,))],
        "out": [("kernel", (6, 4))],
    }
    return keras_synth.functional(L, ["in"], ["out", "cat"]), weights


def strided_model():
    """Depthwise with a multiplier and stride, transposed convolution 'valid', dilated convolution."""
    L = [
        ("in", "InputLayer", {"batch_input_shape": [None, 9, 7, 2], "dtype": "float32"}, []),
        ("dw", "DepthwiseConv2D", {"kernel_size": [3, 3], "strides": [2, 2], "padding": "valid", "depth_multiplier": 2,
                                   "activation": "linear", "use_bias": True, "data_format": C,
                                   "dilation_rate": [1, 1]}, ["in"]),
        ("tc", "Conv2DTranspose", dict(conv(3, 3, 2, "valid", "tanh"), output_padding=None), ["dw"]),
        ("dc", "Conv2D", dict(conv(4, 3, 1, "same", "relu"), dilation_rate=[2, 2]), ["tc"]),
        ("dv", "Conv2D", dict(conv(2, 3, 1, "valid"), dilation_rate=[2, 1]), ["dc"]),
    ]
    weights = {"dw": [("depthwise_kernel", (3, 3, 2, 2)), ("bias", (4,))],
               "tc": [("kernel", (3, 3, 3, 4)), ("bias", (3,))],
               "dc": [("kernel", (3, 3, 3, 4)), ("bias", (4,))],
               "dv": [("kernel", (3, 3, 4, 2)), ("bias", (2,))]}
    return keras_synth.functional(L, ["in"], ["dv"]), weights


def old_sequential():
    """Keras 2.0's spelling: the config is the list of layers, the first carries batch_input_shape."""
    layers = [("conv", "Conv2D", dict(conv(4, 3, activation="relu"), batch_input_shape=[None, 8, 8, 1])),
              ("bn", "BatchNormalization", {"axis": -1, "epsilon": 1e-3, "center": False, "scale": True}),
              ("pool", "MaxPooling2D", {"pool_size": [2, 2], "strides": None, "padding": "valid", "data_format": C}),
              ("flat", "Flatten", {}),
              ("drop", "Dropout", {"rate": 0.25}),
              ("dense", "Dense", {"units": 3, "activation": "softmax", "use_bias": True})]
    weights = {"conv": [("kernel", (3, 3, 1, 4)), ("bias", (4,))],
               "bn": [("gamma", (4,)), ("moving_mean", (4,)), ("moving_variance", (4,))],
               "dense": [("kernel", (36, 3)), ("bias", (3,))]}
    return keras_synth.sequential(layers, as_list=True), weights


def rescaling_sequential():
    layers = [("input", "InputLayer", {"batch_input_shape": [None, 6, 6, 3], "dtype": "float32"}),
              ("rescale", "Rescaling", {"scale": 1 / 127.5, "offset": -1.0}),
              ("conv", "Conv2D", conv(2, 1, activation="sigmoid")),
              ("act", "Activation", {"activation": "softmax"})]
    return keras_synth.sequential(layers), {"conv": [("kernel", (1, 1, 3, 2)), ("bias", (2,))]}


@unittest.skipUnless(have_oracle(), f"TensorFlow.js layers not installed in {NODE_MODULES} (run scripts/install-deps)")
@unittest.skipUnless(have_h5py(), "Debian's python3-h5py is not installed (/usr/bin/python3 -c 'import h5py')")
class KerasLayersOracleTest(unittest.TestCase):
    """Synthetic models (random weights, random inputs) through both executors."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vigil-keras-layers-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def check(self, name, config, weights, shape, scale=1.0, **write_args):
        model = os.path.join(self.tmp, name + ".h5")
        keras_synth.write(model, config, weights, **write_args)
        rng = np.random.default_rng(7)
        inputs = [(rng.uniform(-scale, scale, size=shape).astype("<f4")).tobytes() for _ in range(3)]
        ref = run_oracle(model, inputs, self.tmp)
        print(f"\n  {name}: vigil nn-run vs TensorFlow.js layers")
        for i, data in enumerate(inputs):
            got = run_nn(model, data, self.tmp)
            self.assertEqual([n for n, _ in got], [n for n, _ in ref], "output names or order differ")
            for (oname, a), (_, r_all) in zip(got, ref):
                r = r_all[i:i + 1]
                self.assertEqual(a.shape, r.shape, f"{oname}: shape {a.shape}, TensorFlow.js {r.shape}")
                err = float(np.max(np.abs(a.astype(np.float64) - r)))
                tol = TOL * max(1.0, float(r.max() - r.min()))
                print(f"  input {i} {oname:<6} {str(a.shape):<16} max abs err {err:9.3g}  tol {tol:8.3g}")
                self.assertLessEqual(err, tol, f"{name} input {i} output {oname}")

    def test_mixed_functional(self):
        self.check("mixed", *mixed_model(), (1, 12, 12, 3))

    def test_strides_and_dilations(self):
        self.check("strided", *strided_model(), (1, 9, 7, 2))

    def test_keras20_sequential_list(self):
        config, weights = old_sequential()
        self.check("old_sequential", config, weights, (1, 8, 8, 1), keras_version="2.0.5")

    def test_float16_weights(self):
        config, weights = old_sequential()
        self.check("float16", config, weights, (1, 8, 8, 1), dtype=np.float16)

    def test_rescaling(self):
        self.check("rescaling", *rescaling_sequential(), (1, 6, 6, 3), scale=255.0)


if __name__ == "__main__":
    unittest.main()
