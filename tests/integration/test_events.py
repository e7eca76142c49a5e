"""Object events in the real server: CenterNet on the people of vtest.avi; every confirmed track is one
event, new then updates then end, with before and after states, on /events (SSE), MQTT vigil/events
(Debian's mosquitto, started by the test) and /api/events, filterable; its best snapshot, whole and
cropped; its clip, which ffprobe reads, served with range requests; the events and the hourly zone
counts survive a restart. A disk that refuses the clips (the test-only fault hook) is logged, and
the stream and the events go on."""

import json
import os
import shutil
import subprocess
import tempfile
import time

import vigil_harness as h
from test_mqtt_fleet import Broker, requires_mosquitto, CENTERNET
from test_tracking import requires_centernet

CONFIG = """
listen: 127.0.0.1:{port}
mqtt:
  host: 127.0.0.1
  port: %d
  keepalive: 5
cameras:
  street:
    source: %s
    loop: true
    model: %s
    threshold: 0.3
    event_clips: true
    pre_capture: 1
    post_capture: 1
    zones:
      road:
        coordinates: [0.0, 0.3, 1.0, 0.3, 1.0, 0.75, 0.0, 0.75]
        inertia: 2
    lines:
      door:
        coordinates: [0.5, 0.2, 0.5, 0.9]
"""


def ffprobe(path):
    """(duration in seconds, frames counted) of a video file's first video stream."""
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                          "stream=nb_read_frames:format=duration", "-of", "json", path],
                         capture_output=True, text=True, timeout=30)
    doc = json.loads(out.stdout or "{}")
    return float(doc.get("format", {}).get("duration", 0)), int(doc.get("streams", [{}])[0].get("nb_read_frames", 0))


class TmpMixin:
    def tmpdir(self):
        d = tempfile.mkdtemp(prefix="vigil-events-")
        self.addCleanup(shutil.rmtree, d, True)
        return d


def packet_md5s(path):
    """The MD5 of each video packet of a file, in order (FFmpeg's framemd5 of a stream copy)."""
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-map", "0:v", "-c", "copy", "-f", "framemd5", "-"],
                         capture_output=True, text=True, timeout=60).stdout
    return [line.rsplit(",", 1)[1].strip() for line in out.splitlines() if line and not line.startswith("#")]


@requires_mosquitto
class EventsTest(TmpMixin, h.VigilTestCase):
    @h.requires_vtest
    @requires_centernet
    def test_events_snapshots_clips_and_restart(self):
        b = Broker()
        self.addCleanup(b.close)
        sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(b.port), "-t", "vigil/events"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               preexec_fn=h._pdeathsig)
        self.addCleanup(sub.kill)
        data = os.path.join(self.tmpdir(), "data")
        config = CONFIG % (b.port, h.VTEST, CENTERNET)
        # Retention (which also measures the files' bytes) every second instead of every minute.
        v = self.track(h.ConfigVigil(config, "--data", data, extra_env={"VIGIL_STORE_RETENTION_INTERVAL_MS": "1000"}))
        v.wait_ready(30)

        # SSE: object messages until an event that began after we listened has ended.
        by_id, ended = {}, None
        with v.sse(path="/events?camera=street") as sse:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and ended is None:
                ev = sse.next_event(timeout=15, kind="object")
                m = json.loads(ev["data"])
                after = m["after"]
                by_id.setdefault(after["id"], []).append(m)
                if m["type"] == "end" and by_id[after["id"]][0]["type"] == "new":
                    ended, ended_seen = after, time.time()
        self.assertIsNotNone(ended, "no event began and ended within 60 s")
        msgs = by_id[ended["id"]]
        self.assertEqual(msgs[0]["type"], "new")
        self.assertIsNone(msgs[0]["before"])
        for m in msgs[1:]:
            self.assertEqual(m["before"]["id"], ended["id"])
            self.assertIn(m["type"], ("update", "end"))
        for m in msgs:
            a = m["after"]
            self.assertEqual((a["camera"], a["label"]), ("street", "person"), a)
            self.assertGreater(a["track_id"], 0)
            self.assertGreaterEqual(a["top_score"], 0.3)
            self.assertGreaterEqual(a["top_score"], a["score"] - 1e-6)
            self.assertTrue(a["has_snapshot"] and a["has_clip"], a)
        self.assertIsNone(msgs[0]["after"]["end_time"])
        self.assertGreater(ended["end_time"], ended["start_time"])
        self.assertLess(ended["end_time"] - ended["start_time"], 120)
        # The top score only rises, and an update says what changed.
        tops = [m["after"]["top_score"] for m in msgs]
        self.assertEqual(tops, sorted(tops))

        # /api/events: the ended event as SSE said it, newest first, with working filters.
        time.sleep(0.5)
        listed = v.get("/api/events?limit=1000").json()
        ids = [e["id"] for e in listed]
        self.assertIn(ended["id"], ids)
        starts = [e["start_time"] for e in listed]
        self.assertEqual(starts, sorted(starts, reverse=True))
        stored = v.get("/api/events/" + ended["id"]).json()
        self.assertEqual(stored, ended)
        self.assertEqual(len(v.get("/api/events?limit=1").json()), 1)
        self.assertEqual(v.get("/api/events?label=zebra").json(), [])
        self.assertEqual(v.get("/api/events?camera=nowhere").json(), [])
        self.assertIn(ended["id"], [e["id"] for e in v.get("/api/events?camera=street&label=person&limit=1000").json()])
        self.assertIn(ended["id"], [e["id"] for e in v.get(
            "/api/events?after=%f&before=%f&limit=1000" % (ended["start_time"] - 0.01, ended["start_time"] + 0.01)).json()])
        self.assertNotIn(ended["id"], [e["id"] for e in v.get(
            "/api/events?after=%f&limit=1000" % (ended["start_time"] + 0.01)).json()])
        self.assertTrue(all(e["end_time"] is None for e in v.get("/api/events?in_progress=1&limit=1000").json()))
        in_road = v.get("/api/events?zone=road&limit=1000").json()
        self.assertTrue(all("road" in e["entered_zones"] for e in in_road))
        self.assertEqual(v.get("/api/events?limit=0").status, 400)
        self.assertEqual(v.get("/api/events?after=soon").status, 400)
        self.assertEqual(v.get("/api/events/1.0-nosuch").status, 404)
        self.assertIn(v.get("/api/events/..%2F..%2Fvigil.db/clip.mp4").status, (400, 404))
        self.assertEqual(v.get("/api/events/..x/clip.mp4").status, 404)
        self.assertEqual(v.get("/api/events/" + ended["id"] + "/other").status, 404)

        # The best snapshot, whole (the frame's size) and cropped around the object.
        full = v.get("/api/events/%s/snapshot.jpg" % ended["id"])
        crop = v.get("/api/events/%s/snapshot.jpg?crop=1" % ended["id"])
        for r in (full, crop):
            self.assertEqual(r.status, 200)
            self.assertEqual(r.header("content-type"), "image/jpeg")
            self.assertEqual(r.body[:2], b"\xff\xd8")
        self.assertEqual(h.jpeg_size(full.body), (768, 576))
        cw, ch = h.jpeg_size(crop.body)
        self.assertTrue(64 <= cw < 768 and 64 <= ch < 576, (cw, ch))

        # The clip: from a second before the event to a second after, whole and by ranges.
        time.sleep(2.5)
        clip = v.get("/api/events/%s/clip.mp4" % ended["id"], timeout=15)
        self.assertEqual(clip.status, 200)
        self.assertEqual(clip.header("content-type"), "video/mp4")
        self.assertEqual(clip.header("accept-ranges"), "bytes")
        path = os.path.join(self.tmpdir(), "clip.mp4")
        with open(path, "wb") as f:
            f.write(clip.body)
        duration, frames = ffprobe(path)
        # From a second before the start to a second after the track ended, which it does when its object
        # left the picture or was missed for 30 analyses: after its last sighting (end_time), before the
        # end message reached us. Slack: the encoder's keyframe before the pre-roll (1 s), frame timing.
        least = ended["end_time"] - ended["start_time"] + 2
        most = ended_seen - ended["start_time"] + 2
        self.assertGreater(duration, least - 0.5, (duration, least))
        self.assertLess(duration, most + 1.2, (duration, most))
        self.assertGreater(frames, duration * 5, (frames, duration))  # vtest.avi is 10 frames a second
        size = len(clip.body)
        part = v.get("/api/events/%s/clip.mp4" % ended["id"], headers={"Range": "bytes=100-199"})
        self.assertEqual(part.status, 206)
        self.assertEqual(part.header("content-range"), "bytes 100-199/%d" % size)
        self.assertEqual(part.body, clip.body[100:200])
        tail = v.get("/api/events/%s/clip.mp4" % ended["id"], headers={"Range": "bytes=-10"})
        self.assertEqual((tail.status, tail.body), (206, clip.body[-10:]))
        bad = v.get("/api/events/%s/clip.mp4" % ended["id"], headers={"Range": "bytes=%d-" % (size + 5)})
        self.assertEqual(bad.status, 416)
        self.assertEqual(bad.header("content-range"), "bytes */%d" % size)

        # Their counts in /api/stats and /metrics.
        doc = v.stats()
        ev = [c for c in doc["cameras"] if c["name"] == "street"][0]["events"]
        self.assertGreaterEqual(ev["started"], len([i for i, ms in by_id.items() if ms[0]["type"] == "new"]), ev)
        self.assertGreaterEqual(ev["ended"], 1)
        self.assertGreaterEqual(ev["snapshots"], ev["started"])
        self.assertEqual(ev["snapshots_failed"], 0)
        self.assertGreaterEqual(ev["clips"]["done"], 1)
        self.assertEqual((ev["clips"]["failed"], ev["clips"]["paused"]), (0, False))
        self.assertGreaterEqual(doc["store"]["written"], ev["started"])
        self.assertEqual((doc["store"]["dropped"], doc["store"]["write_errors"]), (0, 0))
        self.assertGreaterEqual(doc["store"]["bytes"], len(clip.body) + len(full.body) + len(crop.body))
        metrics = v.get("/metrics").body.decode()
        self.assertRegex(metrics, r'(?m)^vigil_events_started_total\{camera="street"\} [1-9]\d*$')
        self.assertRegex(metrics, r'(?m)^vigil_clips_total\{camera="street"\} [1-9]\d*$')
        self.assertRegex(metrics, r'(?m)^vigil_store_bytes [1-9]\d*$')

        # MQTT vigil/events: the same messages as SSE, this event's new and end among them.
        time.sleep(0.5)
        def crossed_today(server):
            door = server.stats()["cameras"][0]["lines"]["door"]["today"]
            return sum(sum(door[d].values()) for d in ("in", "out"))
        # At least one crossing to carry over (walkers cross the door every few seconds).
        self.assertEventually(lambda: crossed_today(v) > 0, 30, "nobody crossed the line in 30 s", interval=0.5)
        today = crossed_today(v)
        v.stop()
        stopped = time.time()
        sub.kill()
        mqtt = [json.loads(line) for line in sub.stdout.read().decode().splitlines() if line.strip()]
        types = {m["type"] for m in mqtt if m["after"]["id"] == ended["id"]}
        self.assertEqual({"new", "end"} - types, set(), mqtt[:3])
        # Stopping ended every live event: what is in progress after a restart began after it.
        w = self.track(h.ConfigVigil(config, "--data", data))
        w.wait_ready(30)
        for e in w.get("/api/events?in_progress=1&limit=1000").json():
            self.assertGreater(e["start_time"], stopped, e)
        # The line counts of today carry on from the store.
        self.assertGreaterEqual(crossed_today(w), today)
        # The events, their files and the hourly counts are still there after the restart.
        again = w.get("/api/events/" + ended["id"]).json()
        self.assertEqual(again, ended)
        self.assertEqual(w.get("/api/events/%s/snapshot.jpg?crop=1" % ended["id"]).body, crop.body)
        counts = w.get("/api/counts?camera=street").json()
        if in_road:
            roads = [c for c in counts if c["kind"] == "zone" and c["name"] == "road" and c["label"] == "person"]
            self.assertTrue(roads and all(c["count"] > 0 and c["hour"] % 3600 == 0 for c in roads), counts)
        self.assertEqual(w.get("/api/counts?from=soon").status, 400)


class ClipFaultTest(TmpMixin, h.VigilTestCase):
    @h.requires_vtest
    @requires_centernet
    def test_disk_full_pauses_clips_only(self):
        data = os.path.join(self.tmpdir(), "data")
        v = self.track(h.Vigil(h.VTEST, "--loop", "--model", CENTERNET, "--threshold", "0.3", "--data", data,
                               "--clips", os.path.join(data, "clips"), "--pre-capture", "0.5", "--post-capture", "0.5",
                               extra_env={"VIGIL_FAULT_CLIP_WRITE": "1"}))
        v.wait_ready(30)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and "clip" not in v.stderr():
            time.sleep(0.5)
        err = v.stderr()
        self.assertRegex(err, r"clip.*(No space left on device|fault)", err[-2000:])
        # One line, not one per clip or per packet.
        self.assertLessEqual(sum("clip" in line and "warning" in line for line in err.splitlines()), 2, err[-2000:])
        # Events go on, without clips; so does the stream.
        time.sleep(2)
        events = v.get("/api/events?limit=1000").json()
        self.assertTrue(events, "no event")
        # A clip that failed is not offered (live events' included: theirs failed at their first packet).
        self.assertTrue(any(not e["has_clip"] for e in events), events[:3])
        for e in events:
            if not e["has_clip"]:
                self.assertEqual(v.get("/api/events/%s/clip.mp4" % e["id"]).status, 404)
        self.assertEqual(v.get("/healthz").status, 200)
        self.assertEqual(len(v.mjpeg().parts(3)), 3)
        clips = v.stats()["events"]["clips"]
        self.assertGreaterEqual(clips["failed"], 1, clips)
        self.assertEqual(clips["done"], 0, clips)
        self.assertTrue(clips["paused"], clips)


class RemuxTest(TmpMixin, h.VigilTestCase):
    @h.requires_vtest
    @requires_centernet
    @h.requires_ffmpeg
    def test_h264_source_is_remuxed(self):
        """An H.264 source's clips are its own packets: no re-encoding, keyframes where the source had them."""
        d = self.tmpdir()
        src = os.path.join(d, "street.mp4")
        subprocess.run(["ffmpeg", "-v", "error", "-i", h.VTEST, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
                        "-t", "30", "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-bf", "0", "-c:a", "aac",
                        "-shortest", src], check=True, timeout=60)
        v = self.track(h.Vigil(src, "--loop", "--model", CENTERNET, "--threshold", "0.3", "--data",
                               os.path.join(d, "data"), "--clips", os.path.join(d, "clips"), "--pre-capture", "1",
                               "--post-capture", "0.5"))
        v.wait_ready(30)
        self.assertIn("the source's H.264, remuxed", v.stderr())
        done = None
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and not done:
            ended = [e for e in v.get("/api/events?limit=1000").json() if e["end_time"] and e["has_clip"]]
            done, seen = (ended[-1], time.time()) if ended else (None, None)
            time.sleep(0.5)
        self.assertIsNotNone(done, "no event ended with a clip within 40 s")
        time.sleep(1.5)
        clip = v.get("/api/events/%s/clip.mp4" % done["id"], timeout=15)
        path = os.path.join(d, "clip.mp4")
        with open(path, "wb") as f:
            f.write(clip.body)
        duration, frames = ffprobe(path)
        # As above; the clip starts at the source's keyframe before its pre-roll, up to a second (10 frames)
        # early, and ends half a second after its track ended (before we saw it listed as ended).
        least = done["end_time"] - done["start_time"] + 1.5
        most = seen - done["start_time"] + 1.5
        self.assertGreater(duration, least - 0.3, (duration, least))
        self.assertLess(duration, most + 1.2, (duration, most))
        self.assertGreater(frames, duration * 8, (frames, duration))
        probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0",
                                path], capture_output=True, text=True).stdout.split()
        self.assertEqual(sorted(probe), ["aac", "h264"])  # the source's AAC is copied too
        # Remuxed, not re-encoded: every packet of the clip is one of the source's, byte for byte.
        clip_md5, src_md5 = packet_md5s(path), set(packet_md5s(src))
        self.assertGreater(len(clip_md5), 8)
        self.assertEqual([m for m in clip_md5 if m not in src_md5], [])


class EventOptionsTest(TmpMixin, h.VigilTestCase):
    def test_bad_options(self):
        for args, words in ((["--clips", "/tmp/x", "--source", "lavfi:testsrc"], "needs a model"),
                            (["--pre-capture", "-1"], "--pre-capture"),
                            (["--post-capture", "400"], "--post-capture"),
                            (["--retain-days", "0"], "--retain-days"),
                            (["--max-storage", "lots"], "--max-storage"),
                            (["--data", ""], "--data")):
            rc, out, err, _ = h.run_vigil(["serve"] + args)
            self.assertEqual(rc, 2, (args, err))
            self.assertIn(words, err, args)

    @requires_centernet
    def test_data_not_writable(self):
        f = os.path.join(self.tmpdir(), "file")
        open(f, "w").close()
        rc, out, err, _ = h.run_vigil(["serve", "--source", "lavfi:testsrc=size=320x240:rate=5", "--model",
                                       CENTERNET, "--data", os.path.join(f, "data"), "--listen", "127.0.0.1:0"])
        self.assertNotEqual(rc, 0)
        self.assertIn(os.path.join(f, "data"), err)
