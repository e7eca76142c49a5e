"""Many cameras in one server (`vigil serve --config FILE`): each camera's routes, the shared /events
stream and its ?camera= filter, per-camera stats and metrics, a disabled camera, a network camera that
is down at start (retried, the others unaffected), one loaded copy of a model shared by cameras, fair
shares of the inference workers, and SIGHUP reloading the file without disturbing unchanged cameras."""

import json
import os
import re
import signal
import tempfile
import time
import unittest

import vigil_harness as h

CACHE = (os.environ.get("VIGIL_CACHE")
         or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
                         "vigil"))
BLAZEFACE = os.path.join(CACHE, "human-models-3.0.4", "models", "blazeface.json")
CENTERNET = os.path.join(CACHE, "human-models-3.0.4", "models", "centernet.json")


def requires_blazeface(fn):
    return unittest.skipUnless(os.path.exists(BLAZEFACE),
                               "needs the demo models' %s (scripts/fetch-demo-assets)" % BLAZEFACE)(fn)


THREE = """
listen: 127.0.0.1:{port}
cameras:
  front:
    source: "lavfi:testsrc2=size=320x240:rate=10"
  back:
    source: "lavfi:testsrc=size=160x120:rate=10"
  attic:
    source: "lavfi:testsrc=size=160x120:rate=10"
    enabled: false
"""


def requires_centernet(fn):
    return h.requires_vtest(unittest.skipUnless(os.path.exists(CENTERNET),
                                                "needs the demo models' %s (scripts/fetch-demo-assets)" % CENTERNET)(fn))


def cameras_by_name(v):
    r = v.get("/api/cameras")
    assert r.status == 200, r.status
    return {c["name"]: c for c in r.json()["cameras"]}


class CamerasTest(h.VigilTestCase):
    def config_vigil(self, text, ready=True, **kw):
        v = self.track(h.ConfigVigil(text, **kw))
        if ready:
            v.wait_ready(20)
        return v

    def test_routes_of_each_camera(self):
        v = self.config_vigil(THREE)
        cams = cameras_by_name(v)
        self.assertEqual(list(cams), ["front", "back", "attic"], "cameras not listed in the file's order")
        self.assertEqual(cams["attic"]["state"], "disabled")
        self.assertEventually(lambda: cameras_by_name(v)["back"]["state"] == "running", 5, "back not running")
        self.assertEqual(cams["front"]["video_feed"], "/cam/front/video_feed")
        self.assertEqual(cams["front"]["snapshot"], "/cam/front/snapshot.jpg")
        self.assertTrue(cams["front"]["local"])

        # Each camera's snapshot and stream are its own (told apart by size).
        self.assertEqual(h.jpeg_size(v.get("/cam/front/snapshot.jpg").body), (320, 240))
        self.assertEqual(h.jpeg_size(v.get("/cam/back/snapshot.jpg").body), (160, 120))
        with v.mjpeg(path="/cam/back/video_feed") as m:
            for p in m.parts(3, timeout=5):
                self.assertEqual(h.jpeg_size(p.body), (160, 120))
        # The bare paths are the first camera's, for one-camera pages.
        self.assertEqual(h.jpeg_size(v.get("/snapshot.jpg").body), (320, 240))
        with v.mjpeg() as m:
            self.assertEqual(h.jpeg_size(m.next_part(timeout=5).body), (320, 240))
        # A disabled camera has no frame; an unknown one is 404.
        self.assertEqual(v.get("/cam/attic/snapshot.jpg").status, 503)
        self.assertEqual(v.get("/cam/nope/snapshot.jpg").status, 404)
        self.assertEqual(v.get("/cam/front/nothing").status, 404)
        self.assertEqual(v.get("/events?camera=nope").status, 404)
        # Health: every enabled camera delivers (the disabled one does not count against it).
        self.assertEqual(v.get("/healthz").status, 200)
        self.assertEqual(v.get("/cam/attic/healthz").status, 200)

    def test_events_and_stats_carry_the_camera(self):
        v = self.config_vigil(THREE)
        seen = set()
        with v.sse() as sse:
            deadline = time.monotonic() + 8
            while seen != {"front", "back"} and time.monotonic() < deadline:
                ev = json.loads(sse.next_event(timeout=5)["data"])
                seen.add(ev["camera"])
            self.assertEqual(seen, {"front", "back"}, "/events did not carry both running cameras")
            stats = json.loads(sse.next_event(timeout=3, kind="stats")["data"])
            self.assertEqual([c["name"] for c in stats["cameras"]], ["front", "back", "attic"])
        with v.sse(path="/events?camera=back") as sse:
            for _ in range(10):
                self.assertEqual(json.loads(sse.next_event(timeout=5)["data"])["camera"], "back")
            stats = json.loads(sse.next_event(timeout=3, kind="stats")["data"])
            self.assertEqual([c["name"] for c in stats["cameras"]], ["back"])
        with v.sse(path="/cam/front/events") as sse:
            for _ in range(5):
                self.assertEqual(json.loads(sse.next_event(timeout=5)["data"])["camera"], "front")

        s = v.stats()
        by = {c["name"]: c for c in s["cameras"]}
        self.assertEqual(by["attic"]["source"]["state"], "disabled")
        self.assertEqual(by["back"]["source"]["width"], 160)
        self.assertGreater(by["front"]["output"]["frames"], 0)
        self.assertEqual(by["attic"]["output"]["frames"], 0)
        one = v.get("/api/stats?camera=back").json()
        self.assertEqual([c["name"] for c in one["cameras"]], ["back"])
        self.assertEqual(v.get("/cam/back/stats").json()["cameras"][0]["name"], "back")

        metrics = v.get("/metrics").body.decode()
        frames = dict(re.findall(r'^vigil_source_frames_total\{camera="([a-z]+)"\} (\d+)$', metrics, re.M))
        self.assertEqual(set(frames), {"front", "back", "attic"})
        self.assertGreater(int(frames["front"]), 0)
        self.assertEqual(int(frames["attic"]), 0)
        self.assertIn('vigil_source_state{camera="attic",state="disabled"} 1', metrics)

    @h.requires_ffmpeg
    def test_network_camera_down_at_start_is_retried(self):
        fport = h.free_port()
        text = THREE + """  door:
    source: "http://127.0.0.1:%d/feed.mjpg"
    reconnect_max: 1
""" % fport
        v = self.config_vigil(text, ready=False)
        self.assertEventually(lambda: v.get("/cam/front/healthz").status == 200, 20, "front never served")
        self.assertTrue(v.alive(), "the server stopped over a camera that is down: %s" % v.stderr()[-1000:])
        self.assertEqual(cameras_by_name(v)["door"]["state"], "reconnecting")
        self.assertEqual(v.get("/healthz").status, 503)
        self.assertEqual(v.get("/cam/door/healthz").status, 503)
        # The feed appears: the camera starts by itself, and the others never stopped.
        before = v.stats()["cameras"][0]["source"]["frames"]
        log = tempfile.TemporaryFile()
        self.addCleanup(log.close)
        feed = self.popen([h.FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-f", "lavfi",
                           "-i", "testsrc=size=192x144:rate=10", "-f", "mpjpeg", "-listen", "1",
                           "http://127.0.0.1:%d/feed.mjpg" % fport], stderr=log)
        self.assertTrue(h.wait_listening(fport, 10, feed), "ffmpeg did not listen")
        self.assertEventually(lambda: cameras_by_name(v)["door"]["state"] == "running", 15,
                              "door did not start once its feed was up")
        self.assertEqual(h.jpeg_size(v.get("/cam/door/snapshot.jpg").body), (192, 144))
        self.assertGreater(v.stats()["cameras"][0]["source"]["frames"], before)
        self.assertEqual(v.get("/healthz").status, 200)

    def test_sighup_restarts_only_what_changed(self):
        v = self.config_vigil(THREE)
        self.assertEventually(lambda: cameras_by_name(v)["back"]["state"] == "running", 5, "back not running")
        with v.mjpeg(path="/cam/front/video_feed") as front:
            first = front.next_part(timeout=5).frame_id
            # back changes size, attic goes, garage comes.
            v.rewrite("""
listen: 127.0.0.1:{port}
cameras:
  front:
    source: "lavfi:testsrc2=size=320x240:rate=10"
  back:
    source: "lavfi:testsrc=size=240x180:rate=10"
  garage:
    source: "lavfi:testsrc=size=128x96:rate=10"
""")
            v.send_signal(signal.SIGHUP)
            self.assertEventually(lambda: list(cameras_by_name(v)) == ["front", "back", "garage"], 10,
                                  "the cameras after SIGHUP")
            self.assertEventually(lambda: h.jpeg_size(v.get("/cam/back/snapshot.jpg").body) == (240, 180), 10,
                                  "back was not restarted with its new size")
            self.assertEventually(lambda: v.get("/cam/garage/snapshot.jpg").status == 200, 10, "garage not started")
            self.assertEqual(v.get("/cam/attic/snapshot.jpg").status, 404)
            # front was left alone: its viewer kept its connection and its frame ids kept counting.
            parts = front.parts(5, timeout=5)
            self.assertGreater(parts[-1].frame_id, first)
            self.assertTrue(all(b.frame_id > a.frame_id for a, b in zip(parts, parts[1:])))
        self.assertIn("SIGHUP: cameras 1 started, 1 stopped, 1 restarted, 1 unchanged", v.stderr())
        # A file that no longer parses leaves everything as it was.
        v.rewrite("cameras: [\n")
        v.send_signal(signal.SIGHUP)
        self.assertEventually(lambda: "the cameras stay as they were" in v.stderr(), 5, "bad file not reported")
        self.assertEqual(list(cameras_by_name(v)), ["front", "back", "garage"])
        self.assertTrue(v.alive())

    @requires_blazeface
    def test_shared_model_and_fair_shares(self):
        # Four cameras want 25 analyses per second each, with one inference worker: far more than it gives.
        cams = "".join("""  c%d:
    source: "lavfi:testsrc2=size=320x240:rate=25"
    model: face
""" % i for i in range(4))
        v = self.config_vigil("""
listen: 127.0.0.1:{port}
inference_workers: 1
models:
  face:
    model: %s
cameras:
%s""" % (BLAZEFACE, cams))
        # One copy of the model for the four cameras.
        self.assertEqual(v.stderr().count("loaded model"), 1, v.stderr()[-3000:])
        time.sleep(4.5)
        s = v.stats()
        fps = [c["analysis"]["fps"] for c in s["cameras"]]
        shares = [c["analysis"]["share"] for c in s["cameras"]]
        fair = [c["analysis"]["fair_share"] for c in s["cameras"]]
        self.assertTrue(all(f > 0 for f in fps), "a camera starved: analysis fps %r" % fps)
        self.assertLess(max(fps) - min(fps), 0.35 * max(fps) + 0.5, "unfair analysis rates %r" % fps)
        self.assertTrue(all(abs(f - 0.25) < 0.01 for f in fair), "fair shares %r" % fair)
        self.assertTrue(all(abs(x - 0.25) < 0.1 for x in shares), "shares %r" % shares)
        # Every stream keeps its source rate whatever the inference load.
        for c in s["cameras"]:
            self.assertGreater(c["output"]["fps"], 15, "%s streams at %.1f fps" % (c["name"], c["output"]["fps"]))


    @requires_centernet
    def test_cameras_filter_a_shared_model_their_own_way(self):
        # Two cameras on one model: one wide open, one strict about score, class and count.
        v = self.config_vigil("""
listen: 127.0.0.1:{port}
models:
  det:
    model: %s
cameras:
  wide:
    source: %s
    loop: true
    model: det
    threshold: 0.2
  strict:
    source: %s
    loop: true
    model: det
    threshold: 0.45
    classes: person
    max_detections: 2
""" % (CENTERNET, h.VTEST, h.VTEST))
        err = v.stderr()
        self.assertEqual(err.count("loaded model"), 1, err[-3000:])
        self.assertIn("camera 'strict': shares the model loaded for camera 'wide' (threshold 0.45)", err)

        def detections(camera, frames):
            found = []
            with v.sse(path="/events?camera=" + camera) as sse:
                while frames > 0:
                    ev = json.loads(sse.next_event(timeout=10)["data"])
                    if "detections" in ev:
                        found.append(ev["detections"])
                        frames -= 1
            return found

        strict = detections("strict", 15)
        for dets in strict:
            self.assertLessEqual(len(dets), 2, dets)
            for d in dets:
                self.assertEqual(d["label"], "person", d)
                self.assertGreaterEqual(d["score"], 0.45, d)
        self.assertTrue(any(strict), "the strict camera found no one in vtest.avi")
        wide = [d for dets in detections("wide", 15) for d in dets]
        # The lower threshold reaches the shared model: the wide camera sees what the strict one may not.
        self.assertTrue(any(d["score"] < 0.45 for d in wide), "no low-scoring detection on the wide camera")


if __name__ == "__main__":
    unittest.main()
