"""SIGTERM and SIGINT: exit 0 within one second, idle or busy."""

import signal
import socket
import time
import unittest

import vigil_harness as h

SOURCE = "lavfi:testsrc=size=640x480:rate=25"


class SignalTest(h.VigilTestCase):
    def _stop_within_a_second(self, v, sig):
        rc, took = v.stop(sig, timeout=5)
        self.assertIsNotNone(rc, "vigil did not exit within 5 s of %s" % sig.name)
        self.assertEqual(rc, 0, "exit code %s after %s; stderr: %s" % (rc, sig.name, v.stderr()[-1500:]))
        self.assertLess(took, 1.0, "%s took %.3f s to exit" % (sig.name, took))
        return took

    def _busy_server(self):
        """A server with stream, event, stalled, idle and half-sent-request clients attached."""
        v = self.vigil(SOURCE)
        streams = [self.track(v.mjpeg(keep_body=False)) for _ in range(3)]
        for c in streams:
            c.next_part(timeout=5)
        events = self.track(v.sse())
        events.next_event(timeout=5)
        # A client that asks for the stream and never reads it.
        stalled = self.track(h.open_stream(v.port))
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.track(h.connect(v.port))  # idle: connects and sends nothing
        partial = self.track(h.connect(v.port))
        partial.sendall(b"GET /api/stats HTTP/1.1\r\nHost: localhost\r\n")
        time.sleep(1.0)  # let the stalled client's socket fill up
        self.assertTrue(v.alive())
        return v, streams

    def test_sigterm_idle(self):
        v = self.vigil(SOURCE)
        self._stop_within_a_second(v, signal.SIGTERM)

    def test_sigint_idle(self):
        v = self.vigil(SOURCE)
        self._stop_within_a_second(v, signal.SIGINT)

    def test_sigterm_with_clients(self):
        v, streams = self._busy_server()
        self._stop_within_a_second(v, signal.SIGTERM)
        # The clients see their connections end rather than hang.
        for c in streams:
            c.sock.settimeout(2)
            with self.assertRaises((ConnectionError, h.ProtocolError)):
                for _ in range(200):
                    c.next_part(timeout=2)

    def test_sigint_with_clients(self):
        v, _ = self._busy_server()
        self._stop_within_a_second(v, signal.SIGINT)

    def test_sigterm_with_many_idle_connections(self):
        h.raise_nofile(4096)
        v, _ = self._busy_server()
        # From 50 addresses (10 each): one address may hold only a few connections with no request yet.
        for i in range(500):
            self.track(h.connect(v.port, source="127.0.3.%d" % (i % 50 + 1)))
        self.assertEqual(v.get("/healthz").status, 200)
        self._stop_within_a_second(v, signal.SIGTERM)

    def test_sigterm_before_first_client_on_file(self):
        if not h.have_ffmpeg():
            self.skipTest("ffmpeg CLI missing")
        import os
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "clip.mp4")
            h.ffmpeg(["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", "2", "-pix_fmt", "yuv420p", path])
            v = self.vigil(path, "--loop")
            time.sleep(0.5)
            self._stop_within_a_second(v, signal.SIGTERM)


if __name__ == "__main__":
    unittest.main()
