"""oracle_cache.py: results come back from the cache only when their entry is whole and theirs.

Every test points VIGIL_ORACLE_CACHE at a fresh folder, so the user's cache is
neither read nor written.
"""
import os
import shutil
import tempfile
import unittest
from unittest import mock

import numpy as np

import oracle_cache
from vigil_harness import ASSETS

MODEL = os.path.join(ASSETS, "models", "tflite", "coral_mobilenet_v1_0.25_128_quant.tflite")


class OracleCacheTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vigil-oracle-cache-")
        self.saved = os.environ.get("VIGIL_ORACLE_CACHE")
        os.environ["VIGIL_ORACLE_CACHE"] = os.path.join(self.tmp, "cache")
        self.calls = 0

    def tearDown(self):
        if self.saved is None:
            os.environ.pop("VIGIL_ORACLE_CACHE", None)
        else:
            os.environ["VIGIL_ORACLE_CACHE"] = self.saved
        shutil.rmtree(self.tmp, ignore_errors=True)

    def produce(self, keep=True):
        def f():
            self.calls += 1
            return {"ok": True}, [np.arange(12, dtype=np.float32).reshape(3, 4), np.array([7], dtype=np.int8)], keep
        return f

    def entry(self, key):
        return os.path.join(self.tmp, "cache", "k", key + ".entry")

    def assert_result(self, got):
        meta, arrays = got
        self.assertTrue(meta["ok"])
        np.testing.assert_array_equal(arrays[0], np.arange(12, dtype=np.float32).reshape(3, 4))
        self.assertEqual(arrays[0].dtype, np.float32)
        self.assertEqual(arrays[1].tolist(), [7])
        self.assertEqual(arrays[1].dtype, np.int8)

    def test_computed_once(self):
        key = oracle_cache.digest("x")
        self.assert_result(oracle_cache.cached("k", key, self.produce()))
        self.assert_result(oracle_cache.cached("k", key, self.produce()))
        self.assertEqual(self.calls, 1)
        self.assertTrue(os.path.exists(self.entry(key)))
        oracle_cache.cached("k", oracle_cache.digest("y"), self.produce())
        self.assertEqual(self.calls, 2, "another key is another entry")

    def test_damaged_entries_are_recomputed(self):
        key = oracle_cache.digest("x")
        oracle_cache.cached("k", key, self.produce())
        with open(self.entry(key), "rb") as f:
            good = f.read()
        other = oracle_cache.digest("y")
        damaged = {
            "truncated": good[:len(good) // 2],
            "empty": b"",
            "one bit flipped in the body": good[:-40] + bytes([good[-40] ^ 1]) + good[-39:],
            "another key's entry": good.replace(key.encode(), other.encode()),
            "garbage": os.urandom(len(good)),
        }
        for what, blob in damaged.items():
            with self.subTest(what):
                with open(self.entry(key), "wb") as f:
                    f.write(blob)
                before = self.calls
                self.assert_result(oracle_cache.cached("k", key, self.produce()))
                self.assertEqual(self.calls, before + 1, f"{what}: the entry was trusted")
                with open(self.entry(key), "rb") as f:
                    self.assertEqual(f.read(), good, f"{what}: the entry was not rewritten")
        os.chmod(self.entry(key), 0)
        if not os.access(self.entry(key), os.R_OK):  # root reads it anyway
            before = self.calls
            self.assert_result(oracle_cache.cached("k", key, self.produce()))
            self.assertEqual(self.calls, before + 1)

    def test_switched_off_and_not_kept(self):
        key = oracle_cache.digest("x")
        oracle_cache.cached("k", key, self.produce(keep=False))
        oracle_cache.cached("k", key, self.produce(keep=False))
        self.assertEqual(self.calls, 2)
        os.environ["VIGIL_ORACLE_CACHE"] = "0"
        self.assertIsNone(oracle_cache.cache_dir())
        oracle_cache.cached("k", key, self.produce())
        oracle_cache.cached("k", key, self.produce())
        self.assertEqual(self.calls, 4)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "cache")))

    def test_digest_parts_do_not_run_together(self):
        self.assertNotEqual(oracle_cache.digest(b"ab", b"c"), oracle_cache.digest(b"a", b"bc"))
        self.assertNotEqual(oracle_cache.digest(b"abc"), oracle_cache.digest(b"abc", b""))

    @unittest.skipUnless(os.path.exists(MODEL), f"needs {MODEL}")
    def test_armnn_served_from_cache(self):
        if not oracle_cache.have_armnn():
            self.skipTest("Arm NN oracle (python3-pyarmnn, libarmnn-cpuref-backend22) not installed")
        fingerprint = oracle_cache.armnn_fingerprint()
        for field in ('"pyarmnn"', '"armnn"', '"files"'):
            self.assertIn(field, fingerprint)
        data = np.random.default_rng(1).integers(0, 256, 128 * 128 * 3, dtype=np.uint8).tobytes()
        first, why = oracle_cache.armnn(MODEL, data, self.tmp)
        self.assertIsNone(why)
        entries = os.listdir(os.path.join(self.tmp, "cache", "armnn-oracle"))
        self.assertEqual(len(entries), 1)
        with mock.patch.object(oracle_cache.subprocess, "run", side_effect=AssertionError("Arm NN ran again")):
            again, _ = oracle_cache.armnn(MODEL, data, self.tmp)
        self.assertEqual([a.tobytes() for a in again], [a.tobytes() for a in first])
        # Other input bytes are another entry, with Arm NN's own (different) answer.
        other, _ = oracle_cache.armnn(MODEL, data[::-1], self.tmp)
        self.assertEqual(len(os.listdir(os.path.join(self.tmp, "cache", "armnn-oracle"))), 2)
        self.assertNotEqual(other[0].tobytes(), first[0].tobytes())


if __name__ == "__main__":
    unittest.main()
