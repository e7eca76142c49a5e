"""Command-line options that shape the output: --max-clients, --fps, --quality, --no-pace."""

import time
import unittest

import vigil_harness as h

SMALL = "lavfi:testsrc=size=320x240:rate=25"


class OptionsTest(h.VigilTestCase):
    def test_max_clients(self):
        v = self.vigil(SMALL, "--max-clients", "2")
        a = self.track(v.mjpeg())
        b = self.track(v.mjpeg())
        a.next_part(timeout=5)
        b.next_part(timeout=5)
        third = h.http_request(v.port, "/video_feed", timeout=5)
        self.assertEqual(third.status, 503, "third stream client got %s" % third.status)
        # Other endpoints are not limited by it.
        self.assertEqual(v.get("/snapshot.jpg").status, 200)
        self.assertEqual(v.get("/api/stats").json()["clients"]["stream"], 2)
        # The first two keep streaming.
        a.parts(5, timeout=3)
        b.parts(5, timeout=3)
        # A freed slot is given to the next client.
        a.close()

        def fourth_ok():
            with v.mjpeg() as c:
                if c.status != 200:
                    return False
                c.next_part(timeout=3)
                return True
        self.assertEventually(fourth_ok, 5, "no stream slot after a client left")

    def test_fps_cap(self):
        v = self.vigil(SMALL, "--fps", "5")
        with v.mjpeg() as c:
            c.parts(2, timeout=5)
            t0 = time.monotonic()
            parts = c.parts(16, timeout=8)
            took = time.monotonic() - t0
        rate = len(parts) / took
        self.assertTrue(4.0 <= rate <= 6.0, "output %.2f fps with --fps 5 on a 25 fps source" % rate)
        s = v.stats()
        self.assertAlmostEqual(s["source"]["fps"], 25, delta=5, msg="the source slowed down instead: %r" % s["source"])
        self.assertAlmostEqual(s["output"]["fps"], 5, delta=1.5)

    def test_quality(self):
        sizes = {}
        for q in (10, 95):
            v = self.vigil("lavfi:testsrc=size=640x480:rate=25", "--quality", str(q))
            r = v.get("/snapshot.jpg")
            self.assertEqual(r.status, 200)
            self.assertEqual(h.jpeg_size(r.body), (640, 480))
            sizes[q] = len(r.body)
            v.stop()
        self.assertLess(sizes[10] * 2, sizes[95], "JPEG sizes at quality 10 and 95: %r" % sizes)

    def test_no_pace(self):
        v = self.vigil("lavfi:testsrc=size=160x120:rate=25", "--no-pace")
        f0 = v.stats()["source"]["frames"]
        time.sleep(1.5)
        f1 = v.stats()["source"]["frames"]
        self.assertGreater(f1 - f0, 25 * 1.5 * 2, "--no-pace decoded only %d frames in 1.5 s" % (f1 - f0))

    def test_paced_file_runs_at_native_rate(self):
        if not h.have_ffmpeg():
            self.skipTest("ffmpeg CLI missing")
        import os
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "ten.mp4")
            h.ffmpeg(["-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-t", "3", "-pix_fmt", "yuv420p", path])
            v = self.vigil(path, "--loop")
            with v.mjpeg() as c:
                c.next_part(timeout=5)
                t0 = time.monotonic()
                c.parts(15, timeout=5)
                rate = 15 / (time.monotonic() - t0)
        self.assertTrue(8 <= rate <= 12, "a 10 fps file streams at %.1f fps" % rate)


if __name__ == "__main__":
    unittest.main()
