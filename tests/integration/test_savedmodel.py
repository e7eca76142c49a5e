"""TensorFlow SavedModel folders through the real binary.

- MNIST (models/savedmodel/mnist_digits_keras_ahadali01, a Keras Sequential
  of three Dense layers saved by TensorFlow 2.0): the digits 0-9 are drawn
  here white on black with Debian's DejaVu Sans, normalised as MNIST's
  digits are (the glyph scaled to fit 20x20, centred by its centre of mass
  in 28x28, grey levels / 255), run with `vigil run`, and at least 8 of the
  10 must come out as the digit drawn (9 do: the font's closed 4 reads as
  a 9). There is no independent TensorFlow executor on this machine, so this
  is a plausibility test of the loader (the signature, the inlined
  functions, the variables read from the bundle), not an oracle comparison;
  the humanseg model has one (test_savedmodel_oracle.py). As a check of the
  arithmetic, the same three layers (Dense, ReLU, Dense, ReLU, Dense,
  softmax) are computed here in numpy from the weights in variables.data,
  found through a LevelDB-table parser of this file's own: vigil's
  probabilities must be within 1e-5 of them.
- `vigil inspect` on both real SavedModels says what it runs and why: the
  serving_default signature, or, for humanseg (no signatures), the root
  object's concrete function that takes the image.
- Bad input: a copy of the MNIST folder with a truncated or bit-flipped
  saved_model.pb, a truncated or bit-flipped variables.index, a bit flip in
  the variables' bytes (a bad checksum), the shard file missing, the shard
  truncated (offsets past its end): each exits 2 with one message naming the
  file and the problem, and no crash (the ASan build runs this too).

Needs numpy and PIL (run with /usr/bin/python3). Skips, by name, when the
SavedModels or the font are absent.
"""
import os
import shutil
import subprocess
import tempfile
import unittest

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from vigil_harness import ASSETS, VIGIL_BIN

SAVEDMODELS = os.path.join(ASSETS, "models", "savedmodel")
MNIST = os.path.join(SAVEDMODELS, "mnist_digits_keras_ahadali01")
HUMANSEG = os.path.join(SAVEDMODELS, "humanseg_ppseg_lite_portrait_onnx2tf")
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def vigil(*args):
    p = subprocess.run([VIGIL_BIN, *args], capture_output=True, text=True, timeout=300)
    assert p.returncode >= 0, f"vigil {' '.join(args)}: killed by signal {-p.returncode}: {p.stderr}"
    return p


def mnist_digit(d):
    """The digit d as MNIST draws its digits: 28x28 float32 in [0, 1], white on black."""
    big = Image.new("L", (280, 280), 0)
    draw = ImageDraw.Draw(big)
    draw.text((140, 140), str(d), fill=255, font=ImageFont.truetype(FONT, 200), anchor="mm")
    glyph = big.crop(big.getbbox())
    scale = 20.0 / max(glyph.size)
    glyph = glyph.resize((max(1, round(glyph.width * scale)), max(1, round(glyph.height * scale))), Image.LANCZOS)
    g = np.asarray(glyph, dtype=np.float32)
    ys, xs = np.indices(g.shape)
    cy, cx = (ys * g).sum() / g.sum(), (xs * g).sum() / g.sum()
    out = np.zeros((28, 28), np.float32)
    top, left = int(round(14 - cy)), int(round(14 - cx))
    top = min(max(top, 0), 28 - g.shape[0])
    left = min(max(left, 0), 28 - g.shape[1])
    out[top:top + g.shape[0], left:left + g.shape[1]] = g
    return out / 255.0


def varint(b, i):
    r = s = 0
    while True:
        c = b[i]
        i += 1
        r |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return r, i


def table_entries(b, off, size):
    """The (key, value) entries of one block of a LevelDB table (no checks: the reader under test does those)."""
    blk = b[off:off + size]
    n = int.from_bytes(blk[-4:], "little")
    end, p, key, out = size - 4 - 4 * n, 0, b"", []
    while p < end:
        shared, p = varint(blk, p)
        unshared, p = varint(blk, p)
        vlen, p = varint(blk, p)
        key = key[:shared] + blk[p:p + unshared]
        p += unshared
        out.append((key.decode(), blk[p:p + vlen]))
        p += vlen
    return out


def bundle_tensors(prefix):
    """Every float tensor of a one-shard bundle: {key: array}, from BundleEntryProto's shape, offset and size."""
    with open(prefix + ".index", "rb") as f:
        idx = f.read()
    with open(prefix + ".data-00000-of-00001", "rb") as f:
        data = f.read()
    p = len(idx) - 48
    _, p = varint(idx, p)
    _, p = varint(idx, p)
    ioff, p = varint(idx, p)
    isize, p = varint(idx, p)
    out = {}
    for _, handle in table_entries(idx, ioff, isize):
        boff, q = varint(handle, 0)
        bsize, _ = varint(handle, q)
        for key, val in table_entries(idx, boff, bsize):
            fields, dims, q = {}, [], 0
            while q < len(val):
                tag, q = varint(val, q)
                if tag & 7 == 0:
                    fields[tag >> 3], q = varint(val, q)
                elif tag & 7 == 2:
                    n, q = varint(val, q)
                    if tag >> 3 == 2:  # TensorShapeProto: dim = 2 { size = 1 }
                        r = q
                        while r < q + n:
                            _, r = varint(val, r)
                            dl, r = varint(val, r)
                            dims.append(varint(val, r + 1)[0] if dl else 0)
                            r += dl
                    q += n
                elif tag & 7 == 5:
                    q += 4
            if key and fields.get(1) == 1:
                off, size = fields.get(4, 0), fields.get(5, 0)
                out[key] = np.frombuffer(data[off:off + size], "<f4").reshape(dims)
    return out


@unittest.skipUnless(os.path.exists(os.path.join(MNIST, "saved_model.pb")), f"needs {MNIST}")
class MnistSavedModelTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vigil-savedmodel-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    @unittest.skipUnless(os.path.exists(FONT), f"needs {FONT} (Debian's fonts-dejavu-core)")
    def test_digits(self):
        v = bundle_tensors(os.path.join(MNIST, "variables", "variables"))
        layer = [(v[f"layer_with_weights-{i}/kernel/.ATTRIBUTES/VARIABLE_VALUE"].astype(np.float64),
                  v[f"layer_with_weights-{i}/bias/.ATTRIBUTES/VARIABLE_VALUE"].astype(np.float64)) for i in range(3)]
        right = []
        for d in range(10):
            x = mnist_digit(d)[None]
            inp = os.path.join(self.tmp, f"{d}.npy")
            np.save(inp, x)
            out = os.path.join(self.tmp, f"out{d}")
            p = vigil("run", MNIST, "--input", f"flatten_input={inp}", "--outputs", out)
            self.assertEqual(p.returncode, 0, p.stderr)
            y = np.load(os.path.join(out, "dense_2.npy"))
            self.assertEqual(y.shape, (1, 10))
            # A softmax: non-negative, summing to 1.
            self.assertAlmostEqual(float(y.sum()), 1.0, places=4)
            self.assertGreaterEqual(float(y.min()), 0.0)
            h = x.reshape(1, 784).astype(np.float64)
            for i, (k, b) in enumerate(layer):
                h = h @ k + b
                h = np.maximum(h, 0) if i < 2 else np.exp(h - h.max()) / np.exp(h - h.max()).sum()
            self.assertLessEqual(float(np.abs(y - h).max()), 1e-5, f"digit {d}: vigil {y} numpy {h}")
            guess = int(y.argmax())
            print(f"  digit {d}: vigil says {guess} ({y[0, guess]:.3f})")
            right.append(guess == d)
        print(f"  {sum(right)} of 10 digits right")
        self.assertGreaterEqual(sum(right), 8)

    def test_inspect_says_which_signature(self):
        p = vigil("inspect", MNIST)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('runs: signature "serving_default"', p.stdout)
        self.assertIn("flatten_input", p.stdout)
        self.assertIn("dense_2", p.stdout)
        # The saved_model.pb path names the same model.
        p2 = vigil("inspect", os.path.join(MNIST, "saved_model.pb"))
        self.assertEqual(p2.returncode, 0, p2.stderr)
        self.assertIn('runs: signature "serving_default"', p2.stdout)

    def copy(self):
        dst = tempfile.mkdtemp(dir=self.tmp)
        os.rmdir(dst)
        shutil.copytree(MNIST, dst)
        for root, dirs, files in os.walk(dst):
            for n in dirs + files:
                os.chmod(os.path.join(root, n), 0o755 if n in dirs else 0o644)
        os.chmod(dst, 0o755)
        return dst

    def mangle(self, rel, how):
        m = self.copy()
        path = os.path.join(m, rel)
        with open(path, "rb") as f:
            data = bytearray(f.read())
        if how == "truncate":
            data = data[:len(data) // 2]
        elif how == "delete":
            os.remove(path)
            return m
        else:
            data[how] ^= 0x10
        with open(path, "wb") as f:
            f.write(data)
        return m

    def expect_error(self, model, *words):
        p = vigil("inspect", model)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
        self.assertEqual(len(lines), 1, p.stderr)
        for w in words:
            self.assertIn(w, lines[0])
        return lines[0]

    def test_bad_saved_model_pb(self):
        self.expect_error(self.mangle("saved_model.pb", "truncate"), "saved_model.pb: ")
        # Byte 2 is the tag of meta_graphs (0x12): flipped to 0x02 it is field number 0, which protobuf forbids.
        self.expect_error(self.mangle("saved_model.pb", 2), "saved_model.pb: ", "SavedModel")

    def test_bad_index(self):
        self.expect_error(self.mangle("variables/variables.index", "truncate"), "variables.index: ")
        # A bit in the first data block: its checksum fails.
        self.expect_error(self.mangle("variables/variables.index", 40), "variables.index: ", "checksum")

    def test_bad_variable_bytes(self):
        # Byte 200000 of the shard is inside the first Dense layer's kernel (bytes 0..401407): its checksum fails.
        line = self.expect_error(self.mangle("variables/variables.data-00000-of-00001", 200000),
                                 "variables.data-00000-of-00001: ", "fails its checksum")
        self.assertIn("VARIABLE_VALUE", line)

    def test_missing_and_short_shard(self):
        self.expect_error(self.mangle("variables/variables.data-00000-of-00001", "delete"),
                          "variables.data-00000-of-00001", "missing")
        self.expect_error(self.mangle("variables/variables.data-00000-of-00001", "truncate"),
                          "past the end of shard 0")


@unittest.skipUnless(os.path.exists(os.path.join(HUMANSEG, "saved_model.pb")), f"needs {HUMANSEG}")
class HumansegInspectTest(unittest.TestCase):

    def test_inspect_says_which_function(self):
        p = vigil("inspect", HUMANSEG)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('runs: function "__inference_<lambda>_2416": there are no signatures', p.stdout)
        self.assertIn("[1,224,398,3]", p.stdout)


if __name__ == "__main__":
    unittest.main()
