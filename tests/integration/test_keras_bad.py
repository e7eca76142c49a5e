"""Bad and unusual Keras files: each must load or fail with one clear message
naming what is wrong, never crash or hang.

Built at test time: truncated and bit-flipped copies of the real emotion
model (models/keras/fer2013_mini_XCEPTION.102-0.66.hdf5), and with h5py
(tests/integration/keras_synth.py): a missing weight dataset, a weight of the
wrong shape, Lambda / custom / TFOpLambda layers (one error listing them all),
a model_config that is not JSON, a weights-only file, an unknown top-level
class, channels_first. Also a Keras 3 `.keras` zip (config.json in Keras 3's
spelling + model.weights.h5 with layers/<class in snake case>/vars/<i>, entries stored,
as Keras 3's saving_lib writes them) that
must give the same outputs as the equivalent Keras 2 file, and a deflated one,
which is refused by name.

Each case runs `nn-run` (a crash shows as a signal or a sanitizer report in
its exit status and stderr; the test fails on either). libhdf5 is
third-party: if a hostile file crashes inside it, the case fails here and its
reproducer is what to report.
"""
import json
import os
import shutil
import subprocess
import tempfile
import unittest
import zipfile

import numpy as np

import keras_synth
from vigil_harness import ASSETS, VIGIL_BIN, requires_assets

NN_RUN = os.path.join(os.path.dirname(VIGIL_BIN), "tests", "nn-run")
EMOTION = "models/keras/fer2013_mini_XCEPTION.102-0.66.hdf5"
PY = "/usr/bin/python3"


def have_h5py():
    return subprocess.run([PY, "-c", "import h5py"], capture_output=True).returncode == 0


def small_model():
    C = "channels_last"
    layers = [("in", "InputLayer", {"batch_input_shape": [None, 6, 6, 2], "dtype": "float32"}, []),
              ("conv", "Conv2D", {"filters": 3, "kernel_size": [3, 3], "strides": [1, 1], "padding": "same",
                                  "data_format": C, "dilation_rate": [1, 1], "activation": "relu",
                                  "use_bias": True}, ["in"]),
              ("bn", "BatchNormalization", {"axis": -1, "epsilon": 1e-3, "center": True, "scale": True}, ["conv"]),
              ("sub", "Subtract", {}, ["bn", "conv"]),
              ("gap", "GlobalAveragePooling2D", {"data_format": C}, ["sub"]),
              ("dense", "Dense", {"units": 4, "activation": "softmax", "use_bias": True}, ["gap"])]
    weights = {"conv": [("kernel", (3, 3, 2, 3)), ("bias", (3,))],
               "bn": [("gamma", (3,)), ("beta", (3,)), ("moving_mean", (3,)), ("moving_variance", (3,))],
               "dense": [("kernel", (3, 4)), ("bias", (4,))]}
    return layers, weights


class Runner:
    def nn_run(self, model, data=None):
        inp = os.path.join(self.tmp, "in.bin")
        with open(inp, "wb") as f:
            f.write(data if data is not None else b"\0" * (6 * 6 * 2 * 4))
        out = tempfile.mkdtemp(dir=self.tmp)
        p = subprocess.run([NN_RUN, model, inp, out], capture_output=True, text=True, timeout=120)
        crashed = p.returncode < 0 or p.returncode > 2 or "Sanitizer" in p.stderr or "runtime error" in p.stderr
        self.assertFalse(crashed, f"{model}: exit {p.returncode}: {p.stderr[-2000:]}")
        return p, out

    def fails_with(self, model, *words):
        p, _ = self.nn_run(model)
        self.assertEqual(p.returncode, 2, f"{model} loaded: {p.stdout}")
        msg = p.stderr.strip()
        self.assertEqual(len(msg.splitlines()), 1, f"more than one line: {msg}")
        for w in words:
            self.assertIn(w, msg)
        return msg


@unittest.skipUnless(have_h5py(), "Debian's python3-h5py is not installed")
class KerasBadFilesTest(unittest.TestCase, Runner):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vigil-keras-bad-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def write(self, name, layers, weights, **kw):
        path = os.path.join(self.tmp, name)
        keras_synth.write(path, keras_synth.functional(layers, ["in"], [layers[-1][0]]), weights, **kw)
        return path

    def test_good_small_model_runs(self):
        p, out = self.nn_run(self.write("good.h5", *small_model()))
        self.assertEqual(p.returncode, 0, p.stderr)
        v = np.fromfile(os.path.join(out, "0.bin"), "<f4")
        self.assertAlmostEqual(float(v.sum()), 1.0, places=5)

    def test_missing_dataset(self):
        layers, weights = small_model()
        msg = self.fails_with(self.write("missing.h5", layers, weights, skip={("bn", "moving_variance")}),
                              "'bn'", "moving_variance")
        print("\n  missing dataset:", msg)

    def test_missing_layer_group(self):
        layers, weights = small_model()
        weights = dict(weights)
        path = self.write("nogroup.h5", layers, weights)
        subprocess.run([PY, "-c", f"import h5py; f=h5py.File({path!r},'a'); del f['model_weights/dense']"],
                       check=True)
        msg = self.fails_with(path, "'dense'", "kernel, bias", "holds 0")
        print("\n  missing group:", msg)

    def test_wrong_weight_shape(self):
        layers, weights = small_model()
        msg = self.fails_with(self.write("shape.h5", layers, weights, reshape={("conv", "kernel"): (3, 3, 2, 4)}),
                              "'conv'", "kernel", "[3,3,2,4]", "expected [3,3,2,3]")
        print("\n  wrong shape:", msg)

    def test_integer_weights(self):
        layers, weights = small_model()
        msg = self.fails_with(self.write("int.h5", layers, weights, dtype=np.int32), "not floating point")
        print("\n  integer weights:", msg)

    def test_unsupported_layers_listed_in_one_error(self):
        layers, weights = small_model()
        layers = layers[:2] + [
            ("lam", "Lambda", {"function": ["4wEAAAAAAAAA", None, None], "function_type": "lambda"}, ["conv"]),
            ("mine", "MyFancyLayer", {}, ["lam"]),
            ("tfop", "TFOpLambda", {"function": "math.reduce_logsumexp"}, ["mine"]),
            ("elu", "ELU", {"alpha": 1.0}, ["tfop"]),
            ("cf", "Conv2D", {"filters": 3, "kernel_size": [1, 1], "data_format": "channels_first",
                              "activation": "linear"}, ["elu"]),
        ]
        msg = self.fails_with(self.write("lambda.h5", layers, weights), "5 layers cannot be run", "'lam' (Lambda",
                              "Python bytecode", "'mine' (MyFancyLayer", "custom layer", "math.reduce_logsumexp",
                              "'elu' (ELU", "channels_first")
        print("\n  unsupported:", msg)

    def test_dataset_without_storage(self):
        """A dataset may declare a huge shape and store nothing: refused before anything that size is allocated."""
        path = os.path.join(self.tmp, "sparse.h5")
        cfg = {"class_name": "Sequential", "config": {"name": "s", "layers": [
            {"class_name": "InputLayer", "config": {"name": "in", "batch_input_shape": [None, 4096]}},
            {"class_name": "Dense", "config": {"name": "d", "units": 65536, "use_bias": False}}]}}
        subprocess.run([PY, "-c", f"""
import h5py
with h5py.File({path!r}, 'w') as f:
    f.attrs['model_config'] = {json.dumps(cfg)!r}
    g = f.create_group('model_weights/d')
    g.attrs['weight_names'] = [b'd/kernel:0']
    g.create_dataset('d/kernel:0', shape=(4096, 65536), dtype='f4', chunks=(64, 64))
"""], check=True)
        self.fails_with(path, "'d'", "stores 0 bytes for 268435456 values")

    def test_bad_json(self):
        layers, weights = small_model()
        config = keras_synth.functional(layers, ["in"], ["dense"])
        text = json.dumps(config)[:-7]
        path = os.path.join(self.tmp, "badjson.h5")
        keras_synth.write(path, config, weights, model_config=text)
        self.fails_with(path, "not valid JSON")

    def test_subclassed_and_weights_only(self):
        path = os.path.join(self.tmp, "sub.h5")
        layers, weights = small_model()
        config = keras_synth.functional(layers, ["in"], ["dense"])
        keras_synth.write(path, config, weights, model_config=json.dumps({"class_name": "MyModel", "config": {}}))
        self.fails_with(path, "'MyModel'", "subclassed")
        wo = os.path.join(self.tmp, "weights_only.h5")
        subprocess.run([PY, "-c", f"import h5py; f=h5py.File({wo!r},'w'); f.attrs['layer_names']=[b'a']"],
                       check=True)
        self.fails_with(wo, "weights only")

    def test_dangling_reference_and_duplicate_names(self):
        layers, weights = small_model()
        bad = layers[:-1] + [("dense", "Dense", {"units": 4}, ["nowhere"])]
        self.fails_with(self.write("dangling.h5", bad, weights), "'nowhere'")
        dup = layers + [("conv", "Dense", {"units": 2}, ["dense"])]
        self.fails_with(self.write("dup.h5", dup, weights), "two layers are named 'conv'")

    def keras3_files(self, stored=True):
        """A Keras 3 .keras zip and the equivalent Keras 2 .h5 (two Conv2D, a PReLU: the group names)."""
        C = "channels_last"
        conv = {"kernel_size": [1, 1], "strides": [1, 1], "padding": "valid", "data_format": C,
                "dilation_rate": [1, 1], "activation": "linear", "use_bias": True}
        layers, weights = small_model()
        layers = layers[:2] + [("conv_b", "Conv2D", dict(conv, filters=3), ["conv"]),
                               ("pr", "PReLU", {"shared_axes": [1, 2]}, ["conv_b"]),
                               ("gap", "GlobalAveragePooling2D", {"data_format": C}, ["pr"]),
                               ("dense", "Dense", {"units": 4, "activation": "softmax", "use_bias": True}, ["gap"])]
        weights = dict(weights, conv_b=[("kernel", (1, 1, 3, 3)), ("bias", (3,))], pr=[("alpha", (1, 1, 3))])
        del weights["bn"]
        h5 = self.write("k2.h5", layers, weights)
        items = []
        for lname, cls, cfg, ins in layers:
            args = [{"class_name": "__keras_tensor__",
                     "config": {"shape": [None], "dtype": "float32", "keras_history": [i, 0, 0]}} for i in ins]
            cfg = dict(cfg, name=lname)
            if cls == "InputLayer":
                cfg = {"batch_shape": cfg["batch_input_shape"], "dtype": "float32", "name": lname}
            items.append({"module": "keras.layers", "class_name": cls, "config": cfg, "registered_name": None,
                          "name": lname,
                          "inbound_nodes": [{"args": [args] if len(args) > 1 else args, "kwargs": {}}] if ins else []})
        config = {"module": "keras", "class_name": "Functional", "registered_name": "Functional",
                  "config": {"name": "functional", "layers": items, "input_layers": [["in", 0, 0]],
                             "output_layers": ["dense", 0, 0]}}
        w = os.path.join(self.tmp, "model.weights.h5")
        src = h5.replace("\\", "/")
        # Keras 3 names each layer's group by its class in snake case, numbered when it repeats.
        groups = {"conv": "conv2d", "conv_b": "conv2d_1", "pr": "p_re_lu", "dense": "dense"}
        subprocess.run([PY, "-c", f"""
import h5py
s = h5py.File({src!r}, 'r')['model_weights']
with h5py.File({w!r}, 'w') as d:
    for layer in s:
        names = [n.decode() for n in s[layer].attrs['weight_names']]
        if not names:
            continue
        g = d.create_group('layers/' + {groups!r}[layer] + '/vars')
        for i, n in enumerate(names):
            g.create_dataset(str(i), data=s[layer][n][()])
"""], check=True)
        path = os.path.join(self.tmp, "model.keras" if stored else "deflated.keras")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED) as z:
            z.writestr("metadata.json", json.dumps({"keras_version": "3.3.3"}))
            z.writestr("config.json", json.dumps(config))
            z.write(w, "model.weights.h5")
        return h5, path

    def test_keras3_zip_matches_keras2_file(self):
        h5, keras = self.keras3_files()
        data = np.random.default_rng(3).uniform(-1, 1, 72).astype("<f4").tobytes()
        p2, o2 = self.nn_run(h5, data)
        p3, o3 = self.nn_run(keras, data)
        self.assertEqual(p2.returncode, 0, p2.stderr)
        self.assertEqual(p3.returncode, 0, p3.stderr)
        a = np.fromfile(os.path.join(o2, "0.bin"), "<f4")
        b = np.fromfile(os.path.join(o3, "0.bin"), "<f4")
        self.assertTrue(np.array_equal(a, b), f"{a} vs {b}")

    def test_keras3_deflated_zip_refused(self):
        _, keras = self.keras3_files(stored=False)
        self.fails_with(keras, "compressed")


@requires_assets(EMOTION)
class KerasDamagedFilesTest(unittest.TestCase, Runner):
    """Truncated and bit-flipped copies of the real emotion model."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vigil-keras-dmg-")
        with open(os.path.join(ASSETS, EMOTION), "rb") as f:
            cls.data = f.read()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def save(self, name, data):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def test_truncated(self):
        n = len(self.data)
        seen = set()
        for cut in [8, 40, 95, 200, 512, 2048, 4096, n // 4, n // 2, n - 4096, n - 100, n - 1]:
            p, _ = self.nn_run(self.save(f"cut{cut}.hdf5", self.data[:cut]), b"\0" * (64 * 64 * 4))
            self.assertEqual(p.returncode, 2, f"truncated at {cut} of {n} bytes loaded")
            seen.add(p.stderr.strip().split(": ", 1)[-1][:80])
        print("\n  truncated copies, messages:", *sorted(seen), sep="\n    ")

    def test_bit_flips(self):
        """80 copies with 1-8 flipped bits each (fixed seed): load or fail cleanly, never crash."""
        rng = np.random.default_rng(11)
        loaded = failed = 0
        for k in range(80):
            buf = bytearray(self.data)
            for _ in range(int(rng.integers(1, 9))):
                # Half of the flips land in the first 64 KiB, where HDF5 keeps its superblock and headers.
                pos = int(rng.integers(0, 65536 if rng.random() < 0.5 else len(buf)))
                buf[pos] ^= 1 << int(rng.integers(0, 8))
            path = self.save("flip.hdf5", bytes(buf))
            p, _ = self.nn_run(path, b"\0" * (64 * 64 * 4))
            if p.returncode == 0:
                loaded += 1
            else:
                failed += 1
                self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        print(f"\n  bit flips: {loaded} copies loaded and ran, {failed} refused with one message")


if __name__ == "__main__":
    unittest.main()
