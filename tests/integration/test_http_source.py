"""An HTTP MJPEG source served on loopback by `ffmpeg -listen 1`: it streams, survives the
server's death (keeps serving the last frame), and resumes by itself when the server comes back."""

import signal
import socket
import tempfile
import threading
import time
import unittest

import vigil_harness as h


def ffmpeg_server_argv(port, size="320x240", rate=25):
    return [h.FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
            "-f", "lavfi", "-i", "testsrc=size=%s:rate=%d" % (size, rate),
            "-f", "mpjpeg", "-listen", "1", "http://127.0.0.1:%d/feed.mjpg" % port]


@h.requires_ffmpeg
class HttpSourceTest(h.VigilTestCase):
    def start_feed(self, port, size="320x240"):
        log = tempfile.TemporaryFile()
        self.addCleanup(log.close)
        p = self.popen(ffmpeg_server_argv(port, size), stderr=log)
        if not h.wait_listening(port, 10, p):
            log.seek(0)
            self.fail("ffmpeg did not listen on %d (exit %s): %s" % (port, p.poll(), log.read()[-1000:]))
        return p

    def test_stream_survives_source_restart(self):
        fport = h.free_port()
        uri = "http://127.0.0.1:%d/feed.mjpg" % fport
        feed = self.start_feed(fport)
        v = self.vigil(uri, "--reconnect-max", "1")
        client = self.track(v.mjpeg())
        parts = client.parts(10, timeout=8)
        for p in parts:
            self.assertEqual(h.jpeg_size(p.body), (320, 240))
        s = v.stats()
        self.assertEqual(s["source"]["state"], "running")
        self.assertEqual(s["source"]["uri"], uri)
        self.assertEqual(s["source"]["reconnects"], 0)
        last_id = parts[-1].frame_id

        # The feed dies.
        feed.kill()
        feed.wait(5)
        self.assertEventually(lambda: v.stats()["source"]["state"] == "reconnecting", 8,
                              "source state did not become reconnecting after the feed died")
        # Drain what was in flight; the frame ids seen so far are the old ones.
        while True:
            try:
                p = client.next_part(timeout=0.3)
                last_id = p.frame_id
            except socket.timeout:
                break
        time.sleep(1.0)
        s = v.stats()
        self.assertEqual(s["source"]["state"], "reconnecting")
        self.assertGreater(s["source"]["last_frame_age_ms"], 900, "last_frame_age_ms does not age while down")
        self.assertTrue(v.alive())
        # The last frame is still served, to snapshot and to new stream clients.
        r = v.get("/snapshot.jpg")
        self.assertEqual(r.status, 200)
        self.assertEqual(h.jpeg_size(r.body), (320, 240))
        with v.mjpeg() as late:
            p = late.next_part(timeout=3)
            self.assertEqual(h.jpeg_size(p.body), (320, 240))
            self.assertLessEqual(p.frame_id, last_id)

        # The feed comes back on the same port: the old client sees new frames by itself.
        feed = self.start_feed(fport)
        deadline = time.monotonic() + 12
        new = []
        while len(new) < 5:
            left = deadline - time.monotonic()
            if left <= 0:
                self.fail("stream did not resume within 12 s of the feed's return (got %d new parts; stats %r)"
                          % (len(new), v.stats()["source"]))
            p = client.next_part(timeout=left)
            if p.frame_id > last_id:
                new.append(p)
        for a, b in zip(new, new[1:]):
            self.assertGreater(b.frame_id, a.frame_id)
        self.assertEqual(h.jpeg_size(new[-1].body), (320, 240))
        s = v.stats()
        self.assertEqual(s["source"]["state"], "running")
        self.assertGreaterEqual(s["source"]["reconnects"], 1)
        self.assertLess(s["source"]["last_frame_age_ms"], 1000)
        rc, took = v.stop()
        self.assertEqual(rc, 0)

    def test_size_change_on_reconnect(self):
        # The camera comes back with another resolution: the stream follows it.
        fport = h.free_port()
        feed = self.start_feed(fport)
        v = self.vigil("http://127.0.0.1:%d/feed.mjpg" % fport, "--reconnect-max", "1")
        client = self.track(v.mjpeg())
        self.assertEqual(h.jpeg_size(client.next_part(timeout=5).body), (320, 240))
        feed.kill()
        feed.wait(5)
        self.assertEventually(lambda: v.stats()["source"]["state"] == "reconnecting", 8, "not reconnecting")
        feed = self.start_feed(fport, size="640x360")
        deadline = time.monotonic() + 12
        while True:
            p = client.next_part(timeout=max(0.1, deadline - time.monotonic()))
            if h.jpeg_size(p.body) == (640, 360):
                break
            self.assertLess(time.monotonic(), deadline, "no 640x360 frame within 12 s")
        for p in client.parts(5, timeout=5):
            self.assertEqual(h.jpeg_size(p.body), (640, 360))
        s = v.stats()["source"]
        self.assertEqual((s["width"], s["height"]), (640, 360))
        self.assertEqual(h.jpeg_size(v.get("/snapshot.jpg").body), (640, 360))

    def test_sigterm_while_reconnecting(self):
        fport = h.free_port()
        feed = self.start_feed(fport)
        v = self.vigil("http://127.0.0.1:%d/feed.mjpg" % fport)  # default backoff cap: 5 s
        feed.kill()
        feed.wait(5)
        self.assertEventually(lambda: v.stats()["source"]["state"] == "reconnecting", 8,
                              "source state did not become reconnecting")
        time.sleep(2.5)  # well into a backoff sleep
        rc, took = v.stop(signal.SIGTERM)
        self.assertEqual(rc, 0, v.stderr()[-1000:])
        self.assertLess(took, 1.0, "SIGTERM while reconnecting took %.2f s" % took)

    def test_sigterm_while_source_stalls(self):
        # A source that accepted us and then sends nothing: blocking I/O must be interruptible.
        fport = h.free_port()
        feed = self.start_feed(fport)
        v = self.vigil("http://127.0.0.1:%d/feed.mjpg" % fport)
        feed.send_signal(signal.SIGSTOP)
        try:
            time.sleep(1.5)
            rc, took = v.stop(signal.SIGTERM)
        finally:
            feed.send_signal(signal.SIGCONT)
        self.assertEqual(rc, 0, v.stderr()[-1000:])
        self.assertLess(took, 1.0, "SIGTERM with a stalled source took %.2f s" % took)


class SilentSourceTest(h.VigilTestCase):
    def test_silent_tcp_server_is_an_error_not_a_hang(self):
        # Accepts the connection and never answers: opening must give up (io timeout), exit 2.
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        self.track(srv)
        port = srv.getsockname()[1]
        held = []
        stop = threading.Event()

        def accept():
            srv.settimeout(0.2)
            while not stop.is_set():
                try:
                    held.append(srv.accept()[0])
                except (socket.timeout, OSError):
                    pass

        t = threading.Thread(target=accept, daemon=True)
        t.start()
        try:
            rc, out, err, took = h.run_vigil(["serve", "--source", "http://127.0.0.1:%d/x.mjpg" % port,
                                              "--listen", "127.0.0.1:%d" % h.free_port()], timeout=20)
        finally:
            stop.set()
            t.join(2)
            for c in held:
                c.close()
        self.assertIsNotNone(rc, "vigil hung for 20 s on a source that never answers")
        self.assertEqual(rc, 2, err)
        self.assertEqual(len([l for l in err.split("\n") if l.strip()]), 1, err)


if __name__ == "__main__":
    unittest.main()
