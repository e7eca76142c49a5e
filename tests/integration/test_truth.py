"""Issue 10, parts A and B: vigil keeps camera secrets to itself, and tells the truth about its source.

- Secrets in a source URI (user:password@, token/password/key... query parameters, names given with
  --redact-param) appear nowhere: /api/stats, /metrics, /events, the page, logs, error messages.
- ${NAME} in a source URI is taken from the environment, so the secret is not in argv.
- A file from which nothing decodes exits 2 with a message instead of serving nothing forever.
- /healthz answers 503 "source ended" when a file ends, and 503 within 5 s of a stall.
- SIGHUP is logged and ignored.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import vigil_harness as h

FACE_MODEL = os.path.join(h.ASSETS, "models", "tflite", "mediapipe_face_detection_short_range.tflite")


class FeedServer(threading.Thread):
    """A tiny HTTP video server on loopback.

    The first `streams` connections get `data` paced to last `duration` seconds, for at most
    `send_for` seconds; then the connection is closed ("close") or kept open in silence ("hold").
    Later connections are answered with `later` ("401", "404") or held silent ("hold").
    `stalled_at` is the monotonic time the first stream stopped sending.
    """

    def __init__(self, data, content_type, duration, send_for, after="close", later="401", streams=1):
        super().__init__(daemon=True)
        self.data, self.ctype, self.duration = data, content_type, duration
        self.send_for, self.after, self.later, self.streams = send_for, after, later, streams
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(16)
        self.srv.settimeout(0.2)
        self.port = self.srv.getsockname()[1]
        self.stop_ev = threading.Event()
        self.held = []
        self.requests = []
        self.stalled_at = None
        self.connections = 0

    def run(self):
        while not self.stop_ev.is_set():
            try:
                c, _ = self.srv.accept()
            except (socket.timeout, OSError):
                continue
            self.connections += 1
            threading.Thread(target=self.serve, args=(c, self.connections), daemon=True).start()

    def serve(self, c, n):
        try:
            c.settimeout(5)
            self.requests.append(c.recv(65536))
            if n > self.streams:
                if self.later == "hold":
                    self.held.append(c)
                    return
                c.sendall(b"HTTP/1.1 %s Nope\r\nWWW-Authenticate: Basic realm=\"cam\"\r\n"
                          b"Content-Length: 0\r\nConnection: close\r\n\r\n" % self.later.encode())
                c.close()
                return
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nConnection: close\r\n\r\n" % self.ctype.encode())
            rate = len(self.data) / self.duration
            t0 = time.monotonic()
            sent = 0
            while not self.stop_ev.is_set() and sent < len(self.data) and time.monotonic() - t0 < self.send_for:
                want = min(len(self.data), int((time.monotonic() - t0) * rate) + 4096)
                if want > sent:
                    c.sendall(self.data[sent:want])
                    sent = want
                time.sleep(0.01)
            self.stalled_at = time.monotonic()
            if self.after == "hold":
                self.held.append(c)
            else:
                c.close()
        except OSError:
            c.close()

    def close(self):
        self.stop_ev.set()
        self.join(2)
        self.srv.close()
        for c in self.held:
            c.close()


def proc_cmdline(pid):
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return f.read().replace(b"\0", b" ").decode("utf-8", "replace")


def poll_health(v, until, statuses, interval=0.05):
    """Polls /healthz until `until` (monotonic); appends (time, status, body)."""
    while time.monotonic() < until:
        try:
            r = v.get("/healthz", timeout=2)
            statuses.append((time.monotonic(), r.status, r.body.decode("utf-8", "replace")))
        except OSError as e:
            statuses.append((time.monotonic(), None, repr(e)))
        time.sleep(interval)


@h.requires_ffmpeg
class TruthTest(h.VigilTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dir = tempfile.mkdtemp(prefix="vigil-truth-")
        src = ["-f", "lavfi", "-i", "testsrc=size=160x120:rate=25"]
        cls.mjpg = os.path.join(cls.dir, "feed.mjpg")
        h.ffmpeg(src + ["-t", "6", "-q:v", "5", "-f", "mpjpeg", cls.mjpg])
        cls.ts = os.path.join(cls.dir, "feed.ts")
        h.ffmpeg(src + ["-t", "6", "-c:v", "mpeg4", "-f", "mpegts", cls.ts])
        # A file whose name stands in for a secret passed through the environment.
        cls.secret_name = "clip-Secr3tName.avi"
        cls.clip = os.path.join(cls.dir, cls.secret_name)
        h.ffmpeg(src + ["-t", "1", "-c:v", "mpeg4", cls.clip])
        # Undecodable: the container is intact, but the noise filter replaces every byte of every
        # video packet's payload, so no picture comes out. 100 packets end the short one; the
        # long one (500) is cut off at 300.
        cls.garbage = os.path.join(cls.dir, "garbage.avi")
        h.ffmpeg(src + ["-t", "4", "-c:v", "mpeg4", "-bsf:v", "noise=amount=1", cls.garbage])
        cls.long_garbage = os.path.join(cls.dir, "long-garbage.avi")
        h.ffmpeg(src + ["-t", "20", "-c:v", "mpeg4", "-bsf:v", "noise=amount=1", cls.long_garbage])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)
        super().tearDownClass()

    def feed(self, path, ctype, duration, send_for, **kw):
        with open(path, "rb") as f:
            data = f.read()
        s = FeedServer(data, ctype, duration, send_for, **kw)
        s.start()
        self.addCleanup(s.close)
        return s

    # -- A. Secrets ---------------------------------------------------------------------------

    SECRETS = ("usrSECRET1", "pwSECRET2", "tokSECRET3", "passSECRET4", "keySECRET5", "camSECRET6")

    def secret_uri(self, port):
        return ("http://usrSECRET1:pwSECRET2@127.0.0.1:%d/feed.mjpg?token=tokSECRET3&password=passSECRET4"
                "&api_key=keySECRET5&cam_code=camSECRET6&channel=1" % port)

    def shown_uri(self, port):
        return "http://***@127.0.0.1:%d/feed.mjpg?token=***&password=***&api_key=***&cam_code=***&channel=1" % port

    def assertNoSecret(self, text, where):
        for s in self.SECRETS:
            self.assertNotIn(s, text, "secret %s leaked in %s: %s" % (s, where, text[-3000:]))

    def test_secrets_hidden_everywhere(self):
        # The feed streams for 2.5 s, then closes; reopening gets 401, so vigil logs its attempts.
        feed = self.feed(self.mjpg, "multipart/x-mixed-replace;boundary=ffmpeg", 6, 2.5)
        uri = self.secret_uri(feed.port)
        v = self.vigil(uri, "-v", "--json", "--redact-param", "cam_code", "--reconnect-max", "0.5")
        # The real URI, secrets and all, is what was sent to the camera.
        self.assertIn(b"/feed.mjpg?token=tokSECRET3&password=passSECRET4", feed.requests[0])
        seen = {}
        with v.sse() as events:
            seen["/events"] = repr([events.next_event(timeout=5) for _ in range(3)])
        stats = v.stats()
        self.assertEqual(stats["source"]["uri"], self.shown_uri(feed.port))
        for path in ("/api/stats", "/metrics", "/", "/app.js", "/index.html"):
            r = v.get(path)
            seen[path] = r.body.decode("utf-8", "replace")
        # Wait until the feed closed and at least two reopening attempts failed with 401.
        self.assertEventually(lambda: feed.connections >= 3, 10, "vigil did not try to reconnect")
        self.assertEventually(lambda: v.stats()["source"]["state"] == "reconnecting", 5, "not reconnecting")
        seen["/api/stats (reconnecting)"] = v.get("/api/stats").body.decode()
        seen["/metrics (reconnecting)"] = v.get("/metrics").body.decode()
        seen["argv"] = proc_cmdline(v.pid)
        rc, _ = v.stop()
        self.assertEqual(rc, 0)
        err, out = v.stderr(), v.stdout()
        self.assertIn("401", err, "the reconnection failures were not logged")
        self.assertIn(self.shown_uri(feed.port), err, "the log does not name the source by its display form")
        seen["stderr"], seen["stdout"] = err, out
        for where, text in seen.items():
            if where != "argv":
                self.assertNoSecret(text, where)

    def test_open_failures_hide_secrets(self):
        # Every connection answers 401: serve and detect fail at once, naming the source without secrets.
        feed = self.feed(self.mjpg, "multipart/x-mixed-replace;boundary=ffmpeg", 6, 1, streams=0)
        uri = self.secret_uri(feed.port)
        rc, out, err, _ = h.run_vigil(["serve", "-v", "--source", uri, "--listen", "127.0.0.1:%d" % h.free_port(),
                                       "--redact-param", "cam_code"], timeout=20)
        self.assertEqual(rc, 2, err)
        self.assertIn(self.shown_uri(feed.port), err)
        self.assertIn("401", err)
        self.assertNoSecret(out + err, "vigil serve's error")
        if not os.path.exists(FACE_MODEL):
            self.skipTest("%s absent: vigil detect part skipped" % FACE_MODEL)
        rc, out, err, _ = h.run_vigil(["detect", "-v", "--model", FACE_MODEL, "--redact-param", "cam_code", uri],
                                      timeout=30)
        self.assertEqual(rc, 2, err)
        self.assertIn(self.shown_uri(feed.port), err)
        self.assertNoSecret(out + err, "vigil detect's error")

    def test_redact_param_names_more_secrets(self):
        feed = self.feed(self.mjpg, "multipart/x-mixed-replace;boundary=ffmpeg", 6, 6)
        base = "http://127.0.0.1:%d/feed.mjpg?Cam_Code=camSECRET6&channel=2" % feed.port
        v = self.vigil(base, "--redact-param", "CAM_CODE", "--redact-param", "other")
        self.assertEqual(v.stats()["source"]["uri"],
                         "http://127.0.0.1:%d/feed.mjpg?Cam_Code=***&channel=2" % feed.port)
        v.stop()
        self.assertNoSecret(v.stderr(), "stderr")
        self.assertIn("Cam_Code=***", v.stderr())
        rc, _, err, _ = h.run_vigil(["serve", "--redact-param", "", "--source", base], timeout=10)
        self.assertEqual(rc, 2)
        self.assertIn("--redact-param", err)

    def test_source_from_environment(self):
        # The file's name comes from the environment: it is opened, yet it is not in argv or on any page.
        template = os.path.join(self.dir, "${VG_TRUTH_CLIP}")
        v = self.vigil(template, "--loop", extra_env={"VG_TRUTH_CLIP": self.secret_name})
        stats = v.stats()
        self.assertEqual((stats["source"]["width"], stats["source"]["height"]), (160, 120))
        self.assertEqual(stats["source"]["uri"], template)
        argv = proc_cmdline(v.pid)
        self.assertIn("${VG_TRUTH_CLIP}", argv)
        self.assertNotIn("Secr3t", argv)
        with v.mjpeg() as c:
            self.assertEqual(h.jpeg_size(c.next_part(timeout=5).body), (160, 120))
        v.stop()
        self.assertNotIn("Secr3t", v.stderr())
        self.assertIn("${VG_TRUTH_CLIP}", v.stderr())

        # An unset variable and an unterminated ${ are errors naming the problem.
        env = dict(os.environ)
        env.pop("VG_TRUTH_UNSET", None)
        for source, expect in ((os.path.join(self.dir, "${VG_TRUTH_UNSET}"), "VG_TRUTH_UNSET is not set"),
                               (os.path.join(self.dir, "${VG_TRUTH_CLIP"), "without a closing '}'")):
            p = subprocess.run([h.VIGIL_BIN, "serve", "--source", source, "--listen", "127.0.0.1:%d" % h.free_port()],
                               stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=15, env=env)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn(expect, p.stderr)
        # A '$' not followed by '{' stays literal: this file does not exist under that name.
        rc, _, err, _ = h.run_vigil(["serve", "--source", os.path.join(self.dir, "$HOME.avi"),
                                     "--listen", "127.0.0.1:%d" % h.free_port()], timeout=15)
        self.assertEqual(rc, 2)
        self.assertIn("$HOME.avi", err)

    # -- B. Telling the truth -----------------------------------------------------------------

    def test_undecodable_file_exits_2(self):
        for path, extra, what in ((self.garbage, [], "before the end of the file"),
                                  (self.garbage, ["--loop"], "before the end of the file"),
                                  (self.long_garbage, [], "from the first 300 packets")):
            rc, out, err, took = h.run_vigil(["serve", "--source", path, "--listen", "127.0.0.1:%d" % h.free_port()]
                                             + extra, timeout=15)
            self.assertIsNotNone(rc, "vigil serve %s %s did not exit within 15 s" % (path, extra))
            self.assertEqual(rc, 2, err)
            self.assertIn("no video frame could be decoded", err)
            self.assertIn(what, err)
            self.assertLess(took, 10)
        if not os.path.exists(FACE_MODEL):
            self.skipTest("%s absent: vigil detect part skipped" % FACE_MODEL)
        for path in (self.garbage, self.long_garbage):
            rc, out, err, took = h.run_vigil(["detect", "--model", FACE_MODEL, path], timeout=30)
            self.assertEqual(rc, 2, err)
            self.assertIn("no video frame could be decoded", err)
            self.assertEqual(out, "")

    def test_healthz_503_when_file_ends(self):
        v = self.vigil(self.clip)  # 1 s, no --loop
        statuses = []
        t0 = time.monotonic()
        # The file ends about 1 s after the start; give it 1 + 5 s and a margin.
        deadline = t0 + 7.5
        while time.monotonic() < deadline:
            r = v.get("/healthz")
            statuses.append((time.monotonic(), r.status, r.body.decode()))
            if r.status == 503:
                break
            time.sleep(0.05)
        self.assertEqual(statuses[-1][1], 503, "still %r %.1f s after the start" % (statuses[-1], deadline - t0))
        self.assertIn("source ended", statuses[-1][2])
        stats = v.stats()
        self.assertEqual(stats["source"]["state"], "ended")
        # Within 5 s of the last frame (here: at once, the end is known).
        age = stats["source"]["last_frame_age_ms"]
        self.assertLess(age, 5000 + 1000, "503 came %.0f ms after the last frame" % age)
        print("\n  file end -> 503 '%s' %.0f ms after the last frame" % (statuses[-1][2].strip(), age), end=" ")
        # The server stays up and keeps the last frame, and says so once.
        time.sleep(0.3)
        self.assertTrue(v.alive())
        self.assertEqual(v.get("/snapshot.jpg").status, 200)
        self.assertEqual(v.get("/healthz").status, 503)
        self.assertEqual(v.stderr().count("ended; the last frame stays available"), 1, v.stderr())

    def check_stall(self, v, stalled_at_fn, label):
        """Polls /healthz until 8 s after the stall; asserts 503 within 6 s of it and no 200 afterwards."""
        statuses = []
        end = time.monotonic() + 30
        while time.monotonic() < end and stalled_at_fn() is None:
            poll_health(v, time.monotonic() + 0.1, statuses)
        stall = stalled_at_fn()
        self.assertIsNotNone(stall, "%s: the feed never stalled" % label)
        poll_health(v, stall + 8, statuses)
        after = [(t - stall, s, b) for t, s, b in statuses if t >= stall]
        first_503 = next((x for x in after if x[1] == 503), None)
        self.assertIsNotNone(first_503, "%s: /healthz never 503 in 8 s of a stall: %r" % (label, after[-3:]))
        print("\n  %s: /healthz 503 %.2f s after the stall (%s)" % (label, first_503[0], first_503[2].strip()),
              end=" ")
        self.assertLessEqual(first_503[0], 6.0, "%s: 503 came %.2f s after the stall" % (label, first_503[0]))
        flaps = [x for x in after if x[0] > first_503[0] and x[1] != 503]
        self.assertEqual(flaps, [], "%s: /healthz went back to 200 during the stall" % label)

    def test_healthz_503_when_http_source_stalls(self):
        # MPEG-TS: closing the stalled input flushes the demuxer's last packets, which used to
        # count as fresh frames and keep /healthz at 200 for 10 s.
        feed = self.feed(self.ts, "video/mp2t", 6, 2.0, after="hold", later="hold")
        v = self.vigil("http://127.0.0.1:%d/feed.ts" % feed.port)
        self.check_stall(v, lambda: feed.stalled_at, "MPEG-TS over HTTP")
        self.assertTrue(v.alive())

    def test_healthz_503_when_ffmpeg_feed_stops(self):
        # `ffmpeg -listen 1` serving MPEG-TS, then frozen with SIGSTOP: the connection stays open, silent.
        port = h.free_port()
        feed = self.popen([h.FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
                           "-f", "lavfi", "-i", "testsrc=size=160x120:rate=25", "-c:v", "mpeg4", "-f", "mpegts",
                           "-listen", "1", "http://127.0.0.1:%d/feed.ts" % port])
        self.addCleanup(lambda: feed.poll() is None and feed.send_signal(signal.SIGCONT))
        self.assertTrue(h.wait_listening(port, 10, feed), "ffmpeg did not listen")
        v = self.vigil("http://127.0.0.1:%d/feed.ts" % port)
        time.sleep(1.0)
        feed.send_signal(signal.SIGSTOP)
        stalled = time.monotonic()
        self.check_stall(v, lambda: stalled, "ffmpeg -listen 1 stopped")

    def test_sighup_is_logged_and_ignored(self):
        v = self.vigil("lavfi:testsrc=size=160x120:rate=25")
        v.send_signal(signal.SIGHUP)
        self.assertEventually(lambda: "SIGHUP received" in v.stderr(), 3, "SIGHUP was not logged")
        time.sleep(0.3)
        self.assertTrue(v.alive(), "SIGHUP ended the server: %s" % v.stderr()[-1000:])
        self.assertIn("no configuration file to reload (see --config), ignored", v.stderr())
        self.assertEqual(v.get("/healthz").status, 200)
        with v.mjpeg() as c:
            c.parts(3, timeout=5)
        rc, _ = v.stop()
        self.assertEqual(rc, 0)


if __name__ == "__main__":
    unittest.main()
