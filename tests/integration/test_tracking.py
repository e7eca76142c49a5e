"""Tracking, zones and lines in the real server: people in vtest.avi, found by CenterNet, keep their
track_id from frame to frame; a zone and a counting line turn the tracks into zone and line events on
/events (never replaced by frame events), counts in /api/stats and /metrics, and MQTT messages and
retained counts on Debian's mosquitto, started by the test. Bad zones and lines are refused by name."""

import json
import os
import re
import subprocess
import time
import unittest

import vigil_harness as h
from test_mqtt_fleet import Broker, requires_mosquitto, retained, CENTERNET

requires_centernet = unittest.skipUnless(os.path.exists(CENTERNET),
                                         "needs the demo model %s (scripts/fetch-demo-assets)" % CENTERNET)

# The road people walk along in vtest.avi (768x576): a zone over its lower part, a line across it.
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
    zones:
      road:
        coordinates: [0.0, 0.3, 1.0, 0.3, 1.0, 0.75, 0.0, 0.75]
        objects: person
        inertia: 2
    lines:
      door:
        coordinates: [0.5, 0.2, 0.5, 0.9]
        in: eastward
        out: westward
"""


def step(a, b):
    """How far a box's centre moved, in its own heights (x in the same unit: vtest is 4:3)."""
    dx = ((b[0] + b[2]) - (a[0] + a[2])) / 2 * 4 / 3
    dy = ((b[1] + b[3]) - (a[1] + a[3])) / 2
    return (dx * dx + dy * dy) ** 0.5 / max(a[3] - a[1], 1e-6)


@requires_mosquitto
class TrackingTest(h.VigilTestCase):
    @h.requires_vtest
    @requires_centernet
    def test_tracks_zones_lines_over_http_and_mqtt(self):
        b = Broker()
        self.addCleanup(b.close)
        sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(b.port), "-t", "vigil/street/#", "-v"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               preexec_fn=h._pdeathsig)
        self.addCleanup(sub.kill)
        v = self.track(h.ConfigVigil(CONFIG % (b.port, h.VTEST, CENTERNET)))
        v.wait_ready(30)

        frames, zone_events, line_events = [], [], []
        with v.sse(path="/events?camera=street") as sse:
            deadline = time.monotonic() + 40
            while time.monotonic() < deadline and not (len(frames) >= 60 and zone_events and line_events):
                ev = sse.next_event(timeout=10, kind="*")
                kind, data = ev.get("event", "message"), json.loads(ev["data"])
                if kind == "message":
                    frames.append(data)
                elif kind == "zone":
                    zone_events.append(data)
                elif kind == "line":
                    line_events.append(data)
        self.assertTrue(zone_events, "no zone event in 40 s")
        self.assertTrue(line_events, "no line event in 40 s")

        # Zone and line events name their zone or line, the track, and the camera.
        for e in zone_events:
            self.assertEqual((e["camera"], e["zone"], e["label"]), ("street", "road", "person"), e)
            self.assertIn(e["event"], ("entered", "left", "loitering"))
            self.assertGreater(e["track_id"], 0)
        for e in line_events:
            self.assertEqual((e["camera"], e["line"], e["event"]), ("street", "door", "crossed"), e)
            self.assertIn(e["direction"], ("eastward", "westward"))

        # Identities: a tracked person keeps its id from one analysed frame to the next, moving less than its
        # height (a walker at a few analyses a second on a loaded machine), never across the picture.
        by_frame = {}
        for f in frames:
            if f["detections_frame_id"] is not None:  # None: no analysis finished yet
                by_frame[f["detections_frame_id"]] = f["detections"]
        ids = [{d["track_id"]: d["box"] for d in dets if "track_id" in d} for _, dets in sorted(by_frame.items())]
        self.assertTrue(any(ids), "no detection carried a track_id")
        kept = moved = 0
        for a, c in zip(ids, ids[1:]):
            for tid, box in a.items():
                if tid in c:
                    kept += 1
                    self.assertLess(step(box, c[tid]), 1.0, "track %d jumped: %r -> %r" % (tid, box, c[tid]))
                    moved += box != c[tid]
        self.assertGreater(kept, 50, "ids not kept across frames")
        self.assertGreater(moved, 10)

        # Counts: the line's crossings in /api/stats and /metrics cover those seen on /events.
        cam = [c for c in v.stats()["cameras"] if c["name"] == "street"][0]
        self.assertGreater(cam["tracking"]["confirmed"], 0)
        door = cam["lines"]["door"]
        crossed = sum(door["eastward"].values()) + sum(door["westward"].values())
        self.assertGreaterEqual(crossed, len(line_events), door)
        self.assertIn("person", cam["zones"]["road"]["objects"])
        metrics = v.get("/metrics").body.decode()
        found = re.findall(r'^vigil_line_crossings_total\{camera="street",line="door",direction="(\w+)",label="person"\} '
                           r'(\d+)$', metrics, re.M)
        self.assertEqual(sum(int(n) for _, n in found), crossed, found)
        self.assertRegex(metrics, r'vigil_zone_objects\{camera="street",zone="road",label="person"\} \d+')

        # MQTT: each crossing on PREFIX/CAMERA/lines/LINE; the zone's person count retained.
        count = retained(b.port, "vigil/street/zones/road/person")
        self.assertIsNotNone(count, "no retained zone count")
        self.assertTrue(count.isdigit(), count)
        time.sleep(1)
        sub.terminate()
        out = sub.communicate(timeout=5)[0].decode("utf-8", "replace")
        crossings = [json.loads(l.partition(" ")[2]) for l in out.splitlines() if l.startswith("vigil/street/lines/door ")]
        self.assertTrue(crossings, "no crossing on MQTT")
        self.assertTrue(all(c["event"] == "crossed" and c["track_id"] > 0 for c in crossings), crossings)
        zone_msgs = [l for l in out.splitlines() if l.startswith("vigil/street/zones/road ")]
        self.assertTrue(zone_msgs, "no zone event on MQTT")
        dets = [json.loads(l.partition(" ")[2]) for l in out.splitlines() if l.startswith("vigil/street/detections ")]
        self.assertTrue(any("track_id" in d for m in dets for d in m["detections"]), "no track_id on MQTT")


class MasksTest(h.VigilTestCase):
    @h.requires_vtest
    @requires_centernet
    def test_masks_and_size_limits(self):
        # The left half masked, people larger than 1% of the frame ignored, and anything else under 0.1%.
        v = self.track(h.ConfigVigil("""
listen: 127.0.0.1:{port}
cameras:
  street:
    source: %s
    loop: true
    model: %s
    masks:
      - [0, 0, 0.5, 0, 0.5, 1, 0, 1]
    max_area: {person: 0.01}
    min_area: {"*": 0.001}
""" % (h.VTEST, CENTERNET)))
        v.wait_ready(30)
        seen = 0
        with v.sse(path="/events?camera=street") as sse:
            for _ in range(40):
                for d in json.loads(sse.next_event(timeout=10)["data"])["detections"]:
                    x0, y0, x1, y1 = d["box"]
                    seen += 1
                    self.assertGreater((x0 + x1) / 2, 0.5, d)
                    # "*" is for the labels without limits of their own: person has its own (a maximum only).
                    if d["label"] == "person":
                        self.assertLessEqual((x1 - x0) * (y1 - y0), 0.01 + 1e-6, d)
                    else:
                        self.assertGreaterEqual((x1 - x0) * (y1 - y0), 0.001 - 1e-6, d)
        self.assertGreater(seen, 20, "the mask and limits left nothing to check")

    def test_bad_masks(self):
        for args, want in ((["--mask", "0,0,1,0"], "--mask"), (["--min-area", "person"], "--min-area"),
                           (["--min-area", "person:0.5", "--max-area", "person:0.1"], "would keep nothing"),
                           (["--mask", "0,0,1,0,1,1"], "needs a model")):
            rc, out, err, _ = h.run_vigil(["serve", "--source", "lavfi:testsrc"] + args)
            self.assertEqual(rc, 2, (args, err))
            self.assertIn(want, err, args)


class DetectTest(h.VigilTestCase):
    """vigil detect offline: a JSON line per crossing and zone event after its frame's line, the totals last."""

    @h.requires_vtest
    @requires_centernet
    def test_crossings_offline(self):
        args = ["detect", "--model", CENTERNET, "--max-frames", "150", "--line", "door:0.5,0.2,0.5,0.9",
                "--zone", "road:0,0.3,1,0.3,1,0.75,0,0.75", h.VTEST]
        rc, out, err, _ = h.run_vigil(args, timeout=300)
        self.assertEqual(rc, 0, err)
        lines = [json.loads(l) for l in out.splitlines()]
        frames = [l for l in lines if "detections" in l]
        self.assertEqual([f["frame"] for f in frames], list(range(1, 151)))
        crossings = [l for l in lines if l.get("event") == "crossed"]
        self.assertTrue(crossings, "nobody crossed the middle of vtest.avi in 150 frames")
        seen = {}
        for f in frames:
            for d in f["detections"]:
                if "track_id" in d:
                    seen.setdefault(d["track_id"], set()).add(f["frame"])
        last_frame = 0
        for l in lines:
            if "detections" in l:
                last_frame = l["frame"]
            elif "event" in l:
                # An event follows the line of the frame it happened in, and names a track shown then; "left"
                # comes also when a track ends, after its object was last shown.
                self.assertEqual(l["frame"], last_frame, l)
                if l["event"] == "left":
                    self.assertTrue([n for n in seen.get(l["track_id"], ()) if n <= l["frame"]], l)
                else:
                    self.assertIn(l["frame"], seen.get(l["track_id"], ()), l)
                self.assertTrue(l["label"], l)
        totals = lines[-1]["totals"]
        door = totals["lines"]["door"]
        for direction in ("in", "out"):
            self.assertEqual(sum(door[direction].values()),
                             sum(1 for c in crossings if c["direction"] == direction), direction)
        self.assertIn("road", totals["zones"])
        # The same video gives the same identities and crossings (its first 60 frames, to keep the test short).
        rc2, out2, _, _ = h.run_vigil([a if a != "150" else "60" for a in args], timeout=300)
        strip = lambda o: [{k: v for k, v in json.loads(l).items() if not k.endswith("_ms") and k != "time"}
                           for l in o.splitlines() if '"totals"' not in l]
        first = strip(out)
        upto = next(i for i, l in enumerate(first) if l.get("frame") == 61 and "detections" in l)
        self.assertEqual(first[:upto], strip(out2))
        print("\n    %d crossings in 150 frames of vtest.avi" % len(crossings), end=" ")

    @h.requires_vtest
    @requires_centernet
    def test_no_track(self):
        rc, out, err, _ = h.run_vigil(["detect", "--model", CENTERNET, "--max-frames", "5", "--no-track", h.VTEST])
        self.assertEqual(rc, 0, err)
        self.assertNotIn("track_id", out)
        rc, out, err, _ = h.run_vigil(["detect", "--model", CENTERNET, "--no-track", "--line", "a:0,0,1,1", h.VTEST])
        self.assertEqual(rc, 2)
        self.assertIn("--no-track", err)


class BadZonesTest(h.VigilTestCase):
    def test_flags(self):
        cases = [
            (["--zone", "a:0,0,1,0"], "--zone"),
            (["--zone", "a:0,0,1,0,1,1.5"], "--zone"),
            (["--line", "door:0.5,0.5,0.5,0.5"], "--line"),
            (["--line", "bad name:0,0,1,1"], "--line"),
            (["--line", "a:0,0,1,1", "--line", "a:0,1,1,0"], "two lines named 'a'"),
        ]
        for args, want in cases:
            rc, out, err, _ = h.run_vigil(["serve", "--source", "lavfi:testsrc"] + args)
            self.assertEqual(rc, 2, (args, err))
            self.assertIn(want, err, args)
        # Without a model there is nothing to track.
        rc, out, err, _ = h.run_vigil(["serve", "--source", "lavfi:testsrc", "--line", "a:0,0,1,1"])
        self.assertEqual(rc, 2)
        self.assertIn("needs a model", err)

    def test_configuration(self):
        with h.tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "c.yaml")
            with open(path, "w") as f:
                f.write("cameras:\n  c:\n    source: lavfi:testsrc\n    zones:\n      yard:\n"
                        "        coordinates: [0, 0, 1, 0]\n")
            rc, out, err, _ = h.run_vigil(["check-config", path])
            self.assertEqual(rc, 2, out)
            self.assertIn("key 'cameras.c.zones.yard.coordinates'", err)
            with open(path, "w") as f:
                f.write("cameras:\n  c:\n    source: lavfi:testsrc\n    lines:\n      door:\n"
                        "        coordinates: [0, 0, 1, 1]\n        inn: x\n")
            rc, out, err, _ = h.run_vigil(["check-config", path])
            self.assertEqual(rc, 2, out)
            self.assertIn("unknown key; did you mean 'in'?", err)
            # A good one: check-config names each camera's zones and lines.
            with open(path, "w") as f:
                f.write("cameras:\n  c:\n    source: lavfi:testsrc\n    track: false\n"
                        "  d:\n    source: lavfi:testsrc\n    lines:\n      door: {coordinates: [0, 0, 1, 1], in: enter}\n"
                        "    zones:\n      yard: {coordinates: '0,0,1,0,1,1', objects: [person, dog], inertia: 2}\n")
            rc, out, err, _ = h.run_vigil(["check-config", path])
            self.assertEqual(rc, 2, out)  # zones without a model: refused by name
            self.assertIn("needs a model", err)
            if os.path.exists(CENTERNET):
                with open(path) as f:
                    text = f.read().replace("    lines:", "    model: %s\n    lines:" % CENTERNET)
                with open(path, "w") as f:
                    f.write(text)
                rc, out, err, _ = h.run_vigil(["check-config", path], timeout=60)
                self.assertEqual(rc, 0, err)
                self.assertRegex(out, r"\n  d .*  zones yard  lines door\n")


if __name__ == "__main__":
    unittest.main()
