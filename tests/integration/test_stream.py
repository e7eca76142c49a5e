"""The outputs of `vigil serve` on a healthy source: MJPEG, snapshot, events, stats, metrics, web page."""

import json
import math
import re
import socket
import time
import unittest

import vigil_harness as h

LAVFI = "lavfi:testsrc=size=640x480:rate=25"
CAPTURE_RE = re.compile(r"^\d{9,}\.\d{6}$")


def check_parts(tc, parts, width, height):
    """The per-part checks shared by every MJPEG test."""
    now = time.time()
    prev = None
    for i, p in enumerate(parts):
        hd = p.headers
        for name in ("content-type", "content-length", "x-frame-id", "x-capture-time"):
            tc.assertIn(name, hd, "part %d lacks %s: %r" % (i, name, hd))
        tc.assertEqual(hd["content-type"], "image/jpeg")
        tc.assertEqual(int(hd["content-length"]), len(p.body))
        tc.assertTrue(p.body.startswith(b"\xff\xd8"), "part %d does not start with SOI" % i)
        tc.assertTrue(p.body.rstrip(b"\0").endswith(b"\xff\xd9"), "part %d does not end with EOI" % i)
        tc.assertEqual(h.jpeg_size(p.body), (width, height), "part %d" % i)
        tc.assertIsNotNone(p.frame_id, "X-Frame-Id %r is not a decimal integer" % hd["x-frame-id"])
        if prev is not None:
            tc.assertGreater(p.frame_id, prev, "X-Frame-Id not strictly increasing at part %d" % i)
        prev = p.frame_id
        tc.assertRegex(hd["x-capture-time"], CAPTURE_RE)
        tc.assertLess(abs(p.capture_time - now), 5.0, "X-Capture-Time %s is not within 5 s of now (%.6f)"
                      % (hd["x-capture-time"], now))
        # The frame cannot arrive before it was captured (small slack for clock granularity).
        tc.assertLessEqual(p.capture_time, p.t_done + 0.05)


class LavfiStreamTest(h.VigilTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.v = cls.class_vigil(LAVFI)

    def test_mjpeg_30_parts(self):
        with self.v.mjpeg() as c:
            self.assertEqual(c.status, 200)
            ctype = c.headers.get("content-type", "")
            self.assertRegex(ctype.replace(" ", ""), r"^multipart/x-mixed-replace;boundary=\"?vigilframe\"?$")
            t0 = time.monotonic()
            parts = c.parts(30, timeout=10)
            elapsed = time.monotonic() - t0
        check_parts(self, parts, 640, 480)
        # 30 parts of a 25 fps source take about 1.2 s; much faster would mean repeated frames.
        self.assertGreater(elapsed, 0.6, "30 parts in %.2f s from a 25 fps source" % elapsed)

    def test_two_clients_get_the_same_frames(self):
        with self.v.mjpeg() as a, self.v.mjpeg() as b:
            pa = a.parts(15, timeout=5)
            pb = b.parts(15, timeout=5)
        common = set(p.frame_id for p in pa) & set(p.frame_id for p in pb)
        self.assertTrue(common, "two clients reading together saw no frame in common")
        ba = {p.frame_id: p.body for p in pa}
        for p in pb:
            if p.frame_id in ba:
                self.assertEqual(ba[p.frame_id], p.body, "frame %d differs between clients" % p.frame_id)

    def test_snapshot(self):
        r = self.v.get("/snapshot.jpg")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("content-type"), "image/jpeg")
        self.assertEqual(int(r.header("content-length")), len(r.body))
        self.assertEqual(h.jpeg_size(r.body), (640, 480))
        time.sleep(0.3)
        r2 = self.v.get("/snapshot.jpg")
        self.assertEqual(r2.status, 200)
        self.assertNotEqual(r.body, r2.body, "snapshot did not change in 0.3 s on a moving 25 fps source")

    def test_snapshot_head(self):
        raw = h.raw_request(self.v.port, b"HEAD /snapshot.jpg HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        self.assertIn(b"\r\n\r\n", raw, raw[:200])
        head, body = raw.split(b"\r\n\r\n", 1)
        status, _, hd = h.parse_head(head)
        self.assertEqual(status, 200)
        self.assertEqual(hd.get("content-type"), "image/jpeg")
        self.assertGreater(int(hd.get("content-length", "0")), 1000)
        self.assertEqual(body, b"", "HEAD answered with a body")

    def test_events(self):
        with self.v.sse() as s:
            self.assertEqual(s.status, 200)
            self.assertTrue(s.headers.get("content-type", "").startswith("text/event-stream"), s.headers)
            events = [s.next_event(timeout=5) for _ in range(10)]
        prev = None
        now = time.time()
        for ev in events:
            self.assertIn("data", ev)
            self.assertIn("id", ev)
            d = json.loads(ev["data"])
            self.assertIsInstance(d, dict)
            for k in ("frame_id", "capture_time", "width", "height", "latency_ms",
                      "detections_frame_id", "detections_age_ms", "detections"):
                self.assertIn(k, d, "event lacks %s: %s" % (k, ev["data"]))
            self.assertIsInstance(d["frame_id"], int)
            self.assertEqual(str(d["frame_id"]), ev["id"], "SSE id is not the frame id")
            if prev is not None:
                self.assertGreater(d["frame_id"], prev)
            prev = d["frame_id"]
            self.assertIsInstance(d["capture_time"], (int, float))
            self.assertLess(abs(d["capture_time"] - now), 5.0)
            self.assertEqual((d["width"], d["height"]), (640, 480))
            lat = d["latency_ms"]
            for k in ("decode", "inference", "encode", "total"):
                self.assertIn(k, lat, "latency_ms lacks %s" % k)
                self.assertIsInstance(lat[k], (int, float))
                self.assertTrue(0 <= lat[k] < 5000, "latency_ms.%s = %r" % (k, lat[k]))
            self.assertGreaterEqual(lat["total"], lat["encode"])
            self.assertEqual(d["detections"], [])
            self.assertIsInstance(d["detections_frame_id"], int)
            self.assertTrue(d["detections_age_ms"] is None or isinstance(d["detections_age_ms"], (int, float)))

    def test_stats(self):
        with self.v.mjpeg() as c:
            c.parts(2, timeout=5)
            s1 = self.v.stats()
            time.sleep(1.0)
            c.parts(2, timeout=5)
            s2 = self.v.stats()
        for k in ("source", "analysis", "output", "clients", "uptime_s"):
            self.assertIn(k, s1)
        src = s1["source"]
        for k in ("uri", "state", "width", "height", "fps", "nominal_fps", "frames", "corrupt_packets",
                  "reconnects", "last_frame_age_ms"):
            self.assertIn(k, src, "source lacks %s: %r" % (k, src))
        self.assertEqual(src["uri"], LAVFI)
        self.assertEqual(src["state"], "running")
        self.assertEqual((src["width"], src["height"]), (640, 480))
        self.assertAlmostEqual(src["nominal_fps"], 25, delta=0.5)
        self.assertAlmostEqual(src["fps"], 25, delta=5)
        self.assertLess(src["last_frame_age_ms"], 1000)
        for k in ("frames", "fps", "drops", "encode_ms", "latency_ms", "bytes"):
            self.assertIn(k, s1["output"], "output lacks %s: %r" % (k, s1["output"]))
        for k in ("stream", "events", "connections", "requests", "rejected", "frames_sent", "frames_skipped",
                  "bytes_sent"):
            self.assertIn(k, s1["clients"], "clients lacks %s: %r" % (k, s1["clients"]))
        self.assertGreaterEqual(s1["clients"]["stream"], 1, "our open stream client is not counted")
        # Counters grow: about 25 frames in that second.
        self.assertGreaterEqual(s2["source"]["frames"] - s1["source"]["frames"], 15)
        self.assertGreaterEqual(s2["output"]["frames"] - s1["output"]["frames"], 15)
        self.assertGreater(s2["output"]["bytes"], s1["output"]["bytes"])
        self.assertGreater(s2["clients"]["frames_sent"], s1["clients"]["frames_sent"])
        self.assertGreater(s2["clients"]["bytes_sent"], s1["clients"]["bytes_sent"])
        self.assertGreater(s2["clients"]["requests"], s1["clients"]["requests"])
        self.assertGreater(s2["uptime_s"], s1["uptime_s"])

    def test_metrics(self):
        r1 = self.v.get("/metrics")
        time.sleep(0.5)
        r2 = self.v.get("/metrics")
        self.assertEqual(r1.status, 200)
        self.assertTrue(r1.header("content-type", "").startswith("text/plain"), r1.headers)
        m1 = parse_prometheus(self, r1.body.decode("utf-8"))
        m2 = parse_prometheus(self, r2.body.decode("utf-8"))
        self.assertGreaterEqual(len(m1), 10, "fewer than 10 samples in /metrics")
        for name, _ in m1:
            self.assertTrue(name.startswith("vigil_"), "metric %s lacks the vigil_ prefix" % name)
        grew = [k for k in m1 if k in m2 and m2[k] > m1[k]]
        self.assertTrue(any("frame" in k[0] for k in grew), "no frame counter grew in 0.5 s: %r" % grew)

    def test_healthz(self):
        r = self.v.get("/healthz")
        self.assertEqual(r.status, 200)
        self.assertIn(b"ok", r.body.lower())

    def test_web_assets(self):
        r = self.v.get("/")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header("content-type", "").startswith("text/html"), r.headers)
        html = r.body.decode("utf-8")
        for ident in ("stream", "fps", "latency", "dropped", "clients", "source-state", "detections"):
            self.assertRegex(html, r"id=[\"']%s[\"']" % re.escape(ident), "page lacks #%s" % ident)
        self.assertIn("/video_feed", html)
        self.assertIn("app.js", html)
        self.assertIn("style.css", html)
        r = self.v.get("/app.js")
        self.assertEqual(r.status, 200)
        self.assertRegex(r.header("content-type", ""), r"^(application|text)/javascript")
        self.assertGreater(len(r.body), 100)
        r = self.v.get("/style.css")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header("content-type", "").startswith("text/css"), r.headers)
        r = self.v.get("/", method="HEAD")
        self.assertEqual(r.status, 200)

    def test_unknown_path_404(self):
        for path in ("/nope", "/video_feed2", "/snapshot.png", "/api/stats/x", "/index.htm"):
            self.assertEqual(self.v.get(path).status, 404, path)

    def test_keep_alive(self):
        # Two requests on one HTTP/1.1 connection: both answered, the connection stays open.
        with h.connect(self.v.port) as s:
            for _ in range(2):
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
                buf = bytearray()
                while b"\r\n\r\n" not in buf:
                    d = s.recv(4096)
                    self.assertTrue(d, "connection closed after a keep-alive request")
                    buf += d
                i = buf.index(b"\r\n\r\n")
                status, _, hd = h.parse_head(bytes(buf[:i]))
                self.assertEqual(status, 200)
                self.assertIn("content-length", hd)
                n = int(hd["content-length"])
                body = bytes(buf[i + 4:])
                while len(body) < n:
                    body += s.recv(4096)
                self.assertEqual(len(body), n, "more bytes than Content-Length")

    def test_head_stream_and_events(self):
        for path, ctype in (("/video_feed", "multipart/x-mixed-replace"), ("/events", "text/event-stream")):
            raw = h.raw_request(self.v.port, ("HEAD %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" % path).encode(),
                                timeout=3)
            self.assertIn(b"\r\n\r\n", raw, "%s: %r" % (path, raw[:200]))
            head, body = raw.split(b"\r\n\r\n", 1)
            status, _, hd = h.parse_head(head)
            self.assertEqual(status, 200, path)
            self.assertTrue(hd.get("content-type", "").startswith(ctype), "%s: %r" % (path, hd))
            self.assertEqual(body, b"", "HEAD %s answered with a body" % path)

    def test_query_strings_are_ignored(self):
        r = self.v.get("/snapshot.jpg?t=1712345678901")
        self.assertEqual(r.status, 200)
        self.assertEqual(h.jpeg_size(r.body), (640, 480))
        with h.MjpegClient(self.v.port, path="/video_feed?client=test&x=1") as c:
            self.assertEqual(c.status, 200)
            check_parts(self, c.parts(3, timeout=5), 640, 480)
        self.assertEqual(self.v.get("/api/stats?pretty=1").status, 200)

    def test_http10_stream(self):
        # Old clients (and some tools) speak HTTP/1.0: no chunked encoding, body until close.
        with h.connect(self.v.port) as s:
            s.sendall(b"GET /video_feed HTTP/1.0\r\n\r\n")
            buf = bytearray()
            while b"\r\n\r\n" not in buf:
                d = s.recv(65536)
                self.assertTrue(d, "closed before the head")
                buf += d
            i = buf.index(b"\r\n\r\n")
            status, _, hd = h.parse_head(bytes(buf[:i]))
            self.assertEqual(status, 200)
            self.assertNotIn("chunked", hd.get("transfer-encoding", ""), "chunked encoding to an HTTP/1.0 client")
            parts = []
            parser = h.MultipartParser(on_part=parts.append)
            parser.feed(bytes(buf[i + 4:]))
            deadline = time.monotonic() + 5
            while len(parts) < 3 and time.monotonic() < deadline:
                d = s.recv(262144)
                self.assertTrue(d, "stream closed")
                parser.feed(d)
        self.assertGreaterEqual(len(parts), 3)
        check_parts(self, parts, 640, 480)

    def test_events_and_stream_agree(self):
        """The same frame has the same id and capture time in /events and in /video_feed."""
        with self.v.sse() as s, self.v.mjpeg() as c:
            events = {}
            for _ in range(15):
                d = json.loads(s.next_event(timeout=5)["data"])
                events[d["frame_id"]] = d
            parts = c.parts(15, timeout=5)
        common = [p for p in parts if p.frame_id in events]
        self.assertGreaterEqual(len(common), 5, "few frames in common between /events and /video_feed")
        for p in common:
            self.assertAlmostEqual(p.capture_time, events[p.frame_id]["capture_time"], delta=2e-6,
                                   msg="frame %d: X-Capture-Time %s, event capture_time %r"
                                   % (p.frame_id, p.headers["x-capture-time"], events[p.frame_id]["capture_time"]))

    def test_pipelined_requests(self):
        with h.connect(self.v.port) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\nGET /api/stats HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            raw = h.recv_until_closed(s, timeout=5)
        self.assertEqual(raw.count(b"HTTP/1.1 200"), 2, raw[:400])


def parse_prometheus(tc, text):
    """Checks the Prometheus text exposition format; returns {(name, labels): value}."""
    sample_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?[ \t]+(\S+)([ \t]+-?\d+)?$')
    label_re = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"\s*(,|$)')
    types, helps, samples = {}, {}, {}
    seen_families = []
    tc.assertTrue(text.endswith("\n"), "exposition does not end with a newline")
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 3 and parts[1] == "TYPE":
                tc.assertEqual(len(parts), 4, "line %d: %r" % (n, line))
                tc.assertIn(parts[3], ("counter", "gauge", "histogram", "summary", "untyped"), "line %d" % n)
                tc.assertNotIn(parts[2], types, "line %d: second TYPE for %s" % (n, parts[2]))
                types[parts[2]] = parts[3]
            elif len(parts) >= 3 and parts[1] == "HELP":
                helps[parts[2]] = parts[3] if len(parts) > 3 else ""
            continue
        m = sample_re.match(line)
        tc.assertIsNotNone(m, "line %d is not a sample: %r" % (n, line))
        name, labels, value = m.group(1), m.group(3), m.group(4)
        lab = ()
        if labels:
            pos, pairs = 0, []
            while pos < len(labels):
                lm = label_re.match(labels, pos)
                tc.assertIsNotNone(lm, "line %d: bad labels %r" % (n, labels))
                pairs.append((lm.group(1), lm.group(2)))
                pos = lm.end()
            lab = tuple(pairs)
        try:
            v = float(value)
        except ValueError:
            tc.fail("line %d: bad value %r" % (n, value))
        tc.assertFalse(math.isnan(v) and value not in ("NaN",), line)
        family = name
        for suffix in ("_bucket", "_sum", "_count", "_total", "_created"):
            if name not in types and name.endswith(suffix) and name[:-len(suffix)] in types:
                family = name[:-len(suffix)]
        tc.assertIn(family, types, "line %d: sample %s has no TYPE line before it" % (n, name))
        tc.assertIn(family, helps, "line %d: sample %s has no HELP line" % (n, name))
        if not seen_families or seen_families[-1] != family:
            tc.assertNotIn(family, seen_families, "line %d: samples of %s are not grouped together" % (n, family))
            seen_families.append(family)
        key = (name, lab)
        tc.assertNotIn(key, samples, "line %d: duplicate sample %r" % (n, key))
        samples[key] = v
    for fam, typ in types.items():
        if typ == "counter":
            for (name, _), v in samples.items():
                if name in (fam, fam + "_total"):
                    tc.assertGreaterEqual(v, 0, "counter %s is negative" % name)
    return samples


@h.requires_vtest
class VtestStreamTest(h.VigilTestCase):
    def test_mjpeg_vtest(self):
        v = self.vigil(h.VTEST, "--loop")
        with v.mjpeg() as c:
            self.assertEqual(c.status, 200)
            parts = c.parts(30, timeout=12)
        check_parts(self, parts, 768, 576)
        r = v.get("/snapshot.jpg")
        self.assertEqual(r.status, 200)
        self.assertEqual(h.jpeg_size(r.body), (768, 576))
        s = v.stats()
        self.assertEqual((s["source"]["width"], s["source"]["height"]), (768, 576))
        self.assertAlmostEqual(s["source"]["nominal_fps"], 10, delta=0.5)


class OtherListenTest(h.VigilTestCase):
    def test_ipv6_loopback(self):
        try:
            h.free_port(socket.AF_INET6, "::1")
        except OSError:
            self.skipTest("no IPv6 loopback on this machine")
        v = self.vigil("lavfi:testsrc=size=160x120:rate=25", listen_host="::1")
        with v.mjpeg() as c:
            parts = c.parts(3, timeout=5)
        self.assertEqual(h.jpeg_size(parts[0].body), (160, 120))

    def test_quiet_and_verbose(self):
        lengths = {}
        for flag in ("--quiet", None, "--verbose"):
            args = [flag] if flag else []
            v = self.vigil("lavfi:testsrc=size=160x120:rate=25", *args)
            with v.mjpeg() as c:
                c.parts(3, timeout=5)
            self.assertEqual(v.get("/nope").status, 404)
            rc, _ = v.stop()
            self.assertEqual(rc, 0)
            lengths[flag] = len([l for l in v.stderr().split("\n") if l.strip()])
            if flag == "--quiet":
                self.assertEqual(v.stderr().strip(), "", "--quiet still logs: %r" % v.stderr()[:500])
        self.assertGreater(lengths["--verbose"], lengths[None], "--verbose logs no more than the default: %r" % lengths)

    def test_odd_size_is_cropped_to_even(self):
        # 4:2:0 JPEG wants even sizes; vigil crops the odd last row and column (see source.c).
        v = self.vigil("lavfi:testsrc=size=321x241:rate=25")
        with v.mjpeg() as c:
            size = h.jpeg_size(c.next_part(timeout=5).body)
        s = v.stats()["source"]
        self.assertEqual(size, (s["width"], s["height"]), "JPEG size differs from the size in /api/stats")
        self.assertIn(size, ((320, 240), (321, 241)))

    def test_pixel_formats(self):
        for fmt in ("yuv444p", "gray", "rgb24", "yuv422p10le", "yuvj422p"):
            with self.subTest(fmt=fmt):
                v = self.vigil("lavfi:testsrc=size=320x240:rate=25,format=%s" % fmt)
                with v.mjpeg() as c:
                    for p in c.parts(3, timeout=5):
                        self.assertEqual(h.jpeg_size(p.body), (320, 240))
                self.assertEqual(v.stop()[0], 0)

    def test_json_lines_on_stdout(self):
        v = self.vigil("lavfi:testsrc=size=160x120:rate=25", "--json")
        time.sleep(1.0)
        rc, took = v.stop()
        self.assertEqual(rc, 0)
        lines = [l for l in v.stdout().split("\n") if l.strip()]
        self.assertGreaterEqual(len(lines), 10, "fewer than 10 JSON lines in a second at 25 fps: %r" % lines[:3])
        prev = None
        for l in lines:
            d = json.loads(l)
            self.assertIn("frame_id", d)
            self.assertIn("latency_ms", d)
            self.assertEqual(d["detections"], [])
            if prev is not None:
                self.assertGreater(d["frame_id"], prev)
            prev = d["frame_id"]


if __name__ == "__main__":
    unittest.main()
