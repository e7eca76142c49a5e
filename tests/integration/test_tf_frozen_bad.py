"""Broken frozen GraphDefs through `vigil inspect`: one clear error each, never a crash.

Truncated and bit-flipped copies of OpenCV's face detector (made here, in a
temporary folder), and small hand-written GraphDefs with a varint of more
than 64 bits, a length past the end, attrs nested past the limit, a constant
with more values than its shape holds and a dtype TensorFlow does not have.
Each must end with exit status 2 and one line on stderr naming the file and
what is wrong, or (a flipped bit in a weight) load; nothing may crash, which
the AddressSanitizer build of `make check` checks too.
"""
import os
import random
import shutil
import tempfile
import unittest

import vigil_harness as h

MODEL = os.path.join(h.ASSETS, "models", "tf_frozen", "opencv_face_detector_uint8.pb")


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def field(number, payload):
    """A length-delimited field."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def vint(number, value):
    return varint(number << 3) + varint(value & (2 ** 64 - 1))


def node(name, op, *rest):
    return field(1, field(1, name.encode()) + field(2, op.encode()) + b"".join(rest))


def attr(key, value):
    return field(5, field(1, key.encode()) + field(2, value))


def shape(*dims):
    return b"".join(field(2, vint(1, d)) for d in dims)


def nested_func(depth):
    """An AttrValue holding a func whose attr holds a func ... depth deep."""
    inner = b""
    for _ in range(depth):
        inner = field(10, field(1, b"f") + field(2, field(1, b"g") + field(2, inner)))
    return inner


PLACEHOLDER = node("data", "Placeholder", attr("dtype", vint(6, 1)), attr("shape", field(7, shape(1, 4, 4, 3))))


class TfFrozenBadInputTest(h.VigilTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dir = tempfile.mkdtemp(prefix="vigil-tfbad-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)
        super().tearDownClass()

    def inspect(self, name, data, expect=None, may_load=False):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(data)
        code, out, err, _ = h.run_vigil(["inspect", path, "--input-size", "300x300"], timeout=120)
        self.assertIsNotNone(code, f"{name}: vigil inspect hung")
        self.assertNotIn("Sanitizer", err, f"{name}: {err}")
        self.assertNotIn("runtime error", err, f"{name}: {err}")
        if may_load and code == 0:
            return None
        self.assertEqual(code, 2, f"{name}: exit status {code}, stderr: {err}")
        lines = err.strip().splitlines()
        self.assertEqual(len(lines), 1, f"{name}: {err}")
        self.assertTrue(lines[0].startswith(f"vigil: {path}: "), f"{name}: {lines[0]}")
        if expect:
            self.assertIn(expect, lines[0], name)
        return lines[0]

    def test_hand_made_graphs(self):
        # A varint of eleven bytes in place of a dtype.
        overflow = PLACEHOLDER + field(1, field(1, b"c") + field(2, b"Const") + attr(
            "dtype", varint(6 << 3) + b"\xff" * 10 + b"\x01"))
        self.inspect("overflow.pb", overflow, "node 'c' attr 'dtype': a varint is longer than 64 bits")
        # A length of 127 with 3 bytes behind it.
        self.inspect("past_end.pb", PLACEHOLDER + b"\x0a\x7f\x0a\x01c", "runs past the end of its message")
        # A node that says it is longer than the file, inside a node of the right length.
        inner = field(1, b"c") + varint(2 << 3 | 2) + varint(1000) + b"Const"
        self.inspect("past_end_inner.pb", PLACEHOLDER + field(1, inner), "node 'c': a field runs past the end")
        self.inspect("deep.pb", PLACEHOLDER + node("call", "PartitionedCall", attr("f", nested_func(500))),
                     "attrs nested more than 16 deep")
        tensor = vint(1, 1) + field(2, shape(2)) + field(5, b"\0\0\x80\x3f" * 3)
        self.inspect("values.pb", PLACEHOLDER + node("w", "Const", attr("value", field(8, tensor))),
                     "node 'w' attr 'value': 3 values in float_val for a tensor of 2 elements")
        tensor = vint(1, 77) + field(2, shape(2))
        self.inspect("dtype.pb", PLACEHOLDER + node("w", "Const", attr("value", field(8, tensor))),
                     "node 'w' attr 'value': dtype 77 is not a TensorFlow DataType")
        tensor = vint(1, 1) + field(2, shape(1, 1, 1, 1, 1, 1, 1, 1))
        self.inspect("rank.pb", PLACEHOLDER + node("w", "Const", attr("value", field(8, tensor))),
                     "a shape of more than 6 dimensions")
        tensor = vint(1, 1) + field(2, shape(2 ** 31, 2 ** 31, 2 ** 31))
        self.inspect("elements.pb", PLACEHOLDER + node("w", "Const", attr("value", field(8, tensor))),
                     "more than 2^62 elements")
        self.inspect("dup.pb", PLACEHOLDER + PLACEHOLDER, "two nodes are called 'data'")
        self.inspect("not_graphdef.pb", b"\x08\x01\x12\x00", "not a frozen TensorFlow GraphDef")
        # No size given and none in the graph: the error says how to give it.
        path = os.path.join(self.dir, "nosize.pb")
        with open(path, "wb") as f:
            f.write(node("data", "Placeholder", attr("dtype", vint(6, 1))) + node("y", "Relu", field(3, b"data")))
        code, _, err, _ = h.run_vigil(["inspect", path], timeout=60)
        self.assertEqual(code, 2, err)
        self.assertIn("input 'data' has no fixed size: give it with --input-size WxH", err)
        self.assertIn('"input_size": [W, H]', err)

    @unittest.skipUnless(os.path.isfile(MODEL), f"{MODEL} not found")
    def test_truncated_face_detector(self):
        with open(MODEL, "rb") as f:
            data = f.read()
        cuts = [1, 7, 4096] + [int(len(data) * k / 6) + 3 for k in range(1, 6)] + [len(data) - 1]
        for cut in cuts:
            line = self.inspect(f"cut{cut}.pb", data[:cut])
            self.assertTrue("runs past the end" in line or "not a frozen TensorFlow GraphDef" in line, line)

    @unittest.skipUnless(os.path.isfile(MODEL), f"{MODEL} not found")
    def test_bit_flipped_face_detector(self):
        with open(MODEL, "rb") as f:
            data = f.read()
        rnd = random.Random(20261205)
        # Flips in the first 64 KiB hit the graph's structure (names, attrs, small constants); later ones mostly
        # weights, which load with other values.
        failed = 0
        for i in range(10):
            copy = bytearray(data)
            hi = 65536 if i < 8 else len(data)
            for _ in range(1 + i % 4):
                copy[rnd.randrange(0, hi)] ^= 1 << rnd.randrange(8)
            if self.inspect(f"flip{i}.pb", bytes(copy), may_load=True) is not None:
                failed += 1
        print(f"\n  bit-flipped face detectors: {failed} of 10 refused with one error, the others load")


if __name__ == "__main__":
    unittest.main()
