"""Broken and unsupported ONNX files through `vigil inspect`: one clear error each, never a crash.

Truncated and bit-flipped copies of a real model (yolo-fastestv2_352.onnx,
made here in a temporary folder), and small graphs built with onnx.helper
(Debian's python3-onnx, run by /usr/bin/python3): a wrong opset, an
initializer shorter than its shape, a cycle, a dangling input, several
unsupported ops (all listed in one message, each with its node), external
data, and a dynamic input size with and without --input-size or the
Ultralytics imgsz metadata. Each must end with exit status 2 and a message
naming the file and the node or field, or load; nothing may crash, which
the AddressSanitizer build of `make check` checks too.
"""
import os
import random
import shutil
import subprocess
import tempfile
import textwrap
import unittest

import vigil_harness as h

MODEL = os.path.join(h.ASSETS, "models", "onnx", "yolo-fastestv2_352.onnx")
PY = "/usr/bin/python3"


def have_onnx():
    return os.path.exists(PY) and subprocess.run([PY, "-c", "import onnx"], capture_output=True).returncode == 0


# Builds the graphs into the folder given as argv[1]. The helper checks nothing we do not ask it to.
BUILD = textwrap.dedent("""
    import sys, os
    import numpy as np
    import onnx
    from onnx import helper as oh, TensorProto as TP, numpy_helper as nh
    d = sys.argv[1]
    def save(name, nodes, inputs, outputs, inits=(), opset=13, meta=None, check=False):
        g = oh.make_graph(nodes, name, inputs, outputs, list(inits))
        m = oh.make_model(g, opset_imports=[oh.make_opsetid("", opset)], producer_name="vigil-test")
        m.ir_version = 7
        for k, v in (meta or {}).items():
            e = m.metadata_props.add(); e.key = k; e.value = v
        onnx.save(m, os.path.join(d, name + ".onnx"))
    X = oh.make_tensor_value_info("x", TP.FLOAT, [1, 3, 8, 8])
    Y = oh.make_tensor_value_info("y", TP.FLOAT, None)
    save("opset99", [oh.make_node("Relu", ["x"], ["y"], name="r")], [X], [Y], opset=99)
    save("opset22", [oh.make_node("Relu", ["x"], ["y"], name="r")], [X], [Y], opset=22)
    save("opset5", [oh.make_node("Relu", ["x"], ["y"], name="r")], [X], [Y], opset=5)
    save("opset4_reshape", [oh.make_node("Reshape", ["x"], ["y"], name="rs", shape=[1, 192])], [X], [Y], opset=4)
    w = oh.make_tensor("w", TP.FLOAT, [1], [0.0])
    del w.dims[:]; w.dims.extend([4, 3, 3, 3]); w.raw_data = np.zeros(8, np.float32).tobytes(); del w.float_data[:]
    save("short_init", [oh.make_node("Conv", ["x", "w"], ["y"], name="conv")], [X], [Y], [w])
    save("cycle", [oh.make_node("Add", ["x", "b"], ["a"], name="add_a"), oh.make_node("Relu", ["a"], ["b"], name="relu_b"),
                   oh.make_node("Relu", ["a"], ["y"], name="out")], [X], [Y])
    save("dangling", [oh.make_node("Add", ["x", "nowhere"], ["y"], name="add_dangling")], [X], [Y])
    save("unsupported", [oh.make_node("Relu", ["x"], ["a"], name="ok"),
                         oh.make_node("Einsum", ["a"], ["b"], name="my_einsum", equation="ii"),
                         oh.make_node("Mod", ["b", "b"], ["c"], name="my_mod"),
                         oh.make_node("Relu", ["c"], ["y"], name="after")], [X], [Y])
    ext = oh.make_tensor("w", TP.FLOAT, [1], [0.0])
    ext.data_location = TP.EXTERNAL
    e = ext.external_data.add(); e.key = "location"; e.value = "weights.bin"
    del ext.float_data[:]
    save("external", [oh.make_node("Add", ["x", "w"], ["y"], name="add_ext")], [X], [Y], [ext])
    XD = oh.make_tensor_value_info("images", TP.FLOAT, ["N", 3, "height", "width"])
    save("dynamic", [oh.make_node("Relu", ["images"], ["y"], name="r")], [XD], [Y])
    save("dynamic_imgsz", [oh.make_node("Relu", ["images"], ["y"], name="r")], [XD], [Y],
         meta={"imgsz": "[320, 256]", "names": "{0: 'person'}"})
""")


@unittest.skipUnless(h.have_binary(), f"needs {h.VIGIL_BIN}")
class OnnxBadTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vigil-onnx-bad-")
        cls.built = False
        if have_onnx():
            p = subprocess.run([PY, "-c", BUILD, cls.tmp], capture_output=True, text=True, timeout=120)
            assert p.returncode == 0, p.stderr
            cls.built = True

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def inspect(self, path, *args):
        return subprocess.run([h.VIGIL_BIN, "inspect", path, *args], capture_output=True, text=True, timeout=60)

    def expect_error(self, name, *needles, args=()):
        if not self.built:
            self.skipTest("needs /usr/bin/python3 with onnx")
        path = os.path.join(self.tmp, name + ".onnx")
        p = self.inspect(path, *args)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertNotIn("Sanitizer", p.stderr)
        for n in needles:
            self.assertIn(n, p.stderr)
        return p.stderr

    def test_wrong_opset(self):
        self.expect_error("opset99", "opset 99", "1 to 21")
        self.expect_error("opset22", "opset 22", "1 to 21")
        # Opsets 1 to 6 load; an op whose meaning changed since is refused by name.
        self.expect_error("opset4_reshape", "node 'rs' (Reshape)", "Reshape before opset 5", "at opset 4")
        p = self.inspect(os.path.join(self.tmp, "opset5.onnx"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("opset 5", p.stdout)

    def test_initializer_shorter_than_shape(self):
        self.expect_error("short_init", "'w'", "raw_data holds 32 bytes", "needs 432")

    def test_cycle(self):
        self.expect_error("cycle", "cycle")

    def test_dangling_input(self):
        self.expect_error("dangling", "node 'add_dangling' (Add)", "'nowhere'")

    def test_unsupported_ops_listed_together(self):
        err = self.expect_error("unsupported", "2 nodes", "node 'my_einsum' (Einsum)", "node 'my_mod' (Mod)")
        self.assertNotIn("'after'", err)

    def test_external_data(self):
        self.expect_error("external", "external file")

    def test_dynamic_size(self):
        self.expect_error("dynamic", "'images'", "'height'", "--input-size")
        if not self.built:
            return
        p = self.inspect(os.path.join(self.tmp, "dynamic.onnx"), "--input-size", "64x48")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("[1,3,48,64]", p.stdout)
        p = self.inspect(os.path.join(self.tmp, "dynamic_imgsz.onnx"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("[1,3,320,256]", p.stdout)
        self.assertIn("opset 13", p.stdout)
        self.assertIn("imgsz", p.stdout)

    @unittest.skipUnless(os.path.exists(MODEL), f"needs {MODEL}")
    def test_truncated_and_bit_flipped(self):
        with open(MODEL, "rb") as f:
            data = f.read()
        rng = random.Random(12)
        path = os.path.join(self.tmp, "broken.onnx")
        cases = [data[:n] for n in (1, 7, 100, 4096, len(data) // 2, len(data) - 1)]
        for _ in range(12):
            b = bytearray(data)
            for _ in range(rng.choice((1, 4, 32))):
                k = rng.randrange(len(b))
                b[k] ^= 1 << rng.randrange(8)
            cases.append(bytes(b))
        for i, blob in enumerate(cases):
            with open(path, "wb") as f:
                f.write(blob)
            p = self.inspect(path)
            self.assertIn(p.returncode, (0, 2), f"case {i}: {p.stderr}")
            self.assertNotIn("Sanitizer", p.stderr)
            if p.returncode == 2:
                self.assertIn("broken.onnx", p.stderr, f"case {i}")


if __name__ == "__main__":
    unittest.main()
