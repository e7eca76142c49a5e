"""Corrupt and truncated video files: bad packets are skipped and counted, never fatal."""

import os
import random
import shutil
import sys
import tempfile
import time
import unittest

import vigil_harness as h

FPS = 25
SECONDS = 2


def has_encoder(name):
    import subprocess
    out = subprocess.run([h.FFMPEG, "-hide_banner", "-encoders"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, timeout=20).stdout.decode()
    return (" %s " % name) in out


def corrupt(path, seed=1234):
    """Flips bytes in the middle of the file: 300 single bytes plus two 2 KiB blocks of noise."""
    rnd = random.Random(seed)
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        lo, hi = int(len(data) * 0.3), int(len(data) * 0.7)
        for _ in range(300):
            i = rnd.randrange(lo, hi)
            data[i] ^= 0xFF
        for _ in range(2):
            i = rnd.randrange(lo, hi - 2048)
            data[i:i + 2048] = bytes(rnd.getrandbits(8) for _ in range(2048))
        f.seek(0)
        f.write(data)


@h.requires_ffmpeg
class CorruptInputTest(h.VigilTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dir = tempfile.mkdtemp(prefix="vigil-corrupt-")
        codec = ["-c:v", "libx264", "-preset", "ultrafast", "-g", "12"] if has_encoder("libx264") else ["-c:v", "mpeg4"]
        src = ["-f", "lavfi", "-i", "testsrc=size=320x240:rate=%d" % FPS, "-t", str(SECONDS), "-pix_fmt", "yuv420p"]
        cls.ts = os.path.join(cls.dir, "clip.ts")
        cls.mp4 = os.path.join(cls.dir, "clip.mp4")
        cls.avi = os.path.join(cls.dir, "clip.avi")
        h.ffmpeg(src + codec + ["-f", "mpegts", cls.ts])
        h.ffmpeg(src + codec + ["-movflags", "+faststart", cls.mp4])
        h.ffmpeg(src + ["-c:v", "mpeg4", "-q:v", "4", cls.avi])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)
        super().tearDownClass()

    def copy(self, src, name):
        dst = os.path.join(self.dir, name)
        shutil.copyfile(src, dst)
        return dst

    def stream_keeps_going(self, v, seconds, min_fraction, label):
        """Reads for `seconds`; checks every part decodes and that frames keep coming to the end."""
        parts = 0
        t_end = time.monotonic() + seconds
        bad = []
        with v.mjpeg() as c:
            while time.monotonic() < t_end:
                p = c.next_part(timeout=3)
                parts += 1
                try:
                    self.assertEqual(h.jpeg_size(p.body), (320, 240))
                except Exception as e:  # collect, report below
                    bad.append((p.frame_id, e))
        self.assertEqual(bad, [], "%s: parts that are not 320x240 JPEGs" % label)
        self.assertGreaterEqual(parts, min_fraction * FPS * seconds,
                                "%s: %d parts in %.0f s at %d fps" % (label, parts, seconds, FPS))
        self.assertTrue(v.alive(), "%s: vigil died; stderr %s" % (label, v.stderr()[-2000:]))
        return parts

    def check_corrupt_loop(self, clean, name):
        path = self.copy(clean, name)
        corrupt(path)
        v = self.vigil(path, "--loop")
        # Two and a half passes over the damaged middle.
        parts = self.stream_keeps_going(v, SECONDS * 2.5, 0.5, name)
        s = v.stats()
        print("\n  %s: %d parts, source frames %d, corrupt_packets %d, state %s"
              % (name, parts, s["source"]["frames"], s["source"]["corrupt_packets"], s["source"]["state"]),
              file=sys.stderr, end=" ")
        self.assertGreaterEqual(s["source"]["corrupt_packets"], 0)
        self.assertEqual(s["source"]["state"], "running")
        rc, _ = v.stop()
        self.assertEqual(rc, 0)

    def test_corrupt_ts_loops(self):
        self.check_corrupt_loop(self.ts, "bad.ts")

    def test_corrupt_mp4_loops(self):
        self.check_corrupt_loop(self.mp4, "bad.mp4")

    def test_corrupt_avi_loops(self):
        self.check_corrupt_loop(self.avi, "bad.avi")

    def test_truncated_ts_plays_what_it_can(self):
        path = self.copy(self.ts, "cut.ts")
        with open(path, "r+b") as f:
            f.truncate(os.path.getsize(path) * 6 // 10)
        v = self.vigil(path, ready=False)
        v.wait_ready(10)
        with v.mjpeg() as c:
            got = 0
            try:
                while True:
                    c.next_part(timeout=2.5)
                    got += 1
            except (OSError, ConnectionError):
                pass
        # Whatever the server does at the end of a non-looping file, it does not crash.
        time.sleep(0.5)
        if not v.alive():
            self.assertEqual(v.proc.returncode, 0, "vigil exited %s at the end of a truncated file; stderr %s"
                             % (v.proc.returncode, v.stderr()[-1500:]))
        else:
            s = v.stats()
            self.assertGreaterEqual(s["source"]["frames"], 0.4 * FPS * SECONDS,
                                    "only %d frames of about %d decoded" % (s["source"]["frames"], 0.6 * FPS * SECONDS))
            self.assertEqual(s["source"]["state"], "ended")
            # The last frame stays available.
            self.assertEqual(v.get("/snapshot.jpg").status, 200)
        self.assertGreaterEqual(got, 0.3 * FPS * SECONDS, "the client saw %d parts of a 1.2 s file" % got)

    def test_truncated_mp4_loops(self):
        path = self.copy(self.mp4, "cut.mp4")
        with open(path, "r+b") as f:
            f.truncate(os.path.getsize(path) // 2)
        v = self.vigil(path, "--loop")
        self.stream_keeps_going(v, SECONDS * 1.5, 0.4, "cut.mp4")


if __name__ == "__main__":
    unittest.main()
