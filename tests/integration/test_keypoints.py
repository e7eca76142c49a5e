"""Keypoints end to end: MoveNet through `vigil detect` and `vigil serve`.

MoveNet single-pose lightning (int8, Coral's test data) on Coral's squat.bmp
against Coral's CPU reference keypoints; on Intel's one-by-one-person video,
/events carry one person with 17 named keypoints and /snapshot.jpg shows them
(white dots ringed in black at the keypoints, red skeleton lines between
them); on a lavfi test pattern (no person) the server runs and events flow.

The reference CSV (golden/coral_movenet_single_pose_lightning_ptq_reference.csv)
was made from squat.bmp, the only full-body single-person photo among Coral's
test images. Its values all lie on a grid of 0.003954 (a uint8-quantized
output), while the model file here has a float32 output: it comes from a
differently quantized build of the model, so scores differ (they are not
compared) and positions agree to about 0.01 on average rather than exactly (a
keypoint is found in a 48x48 heatmap, so one cell, 0.021, is the natural
unit of disagreement).
"""
import csv
import io
import json
import os
import subprocess
import time
import unittest

from vigil_harness import ASSETS, VIGIL_BIN, VigilTestCase, have_binary

MODEL = os.path.join(ASSETS, "models", "tflite", "coral_movenet_single_pose_lightning_ptq.tflite")
SQUAT = os.path.join(ASSETS, "images", "coral_squat.bmp")
REFERENCE = os.path.join(ASSETS, "golden", "coral_movenet_single_pose_lightning_ptq_reference.csv")
VIDEO = os.path.join(ASSETS, "video", "intel_one-by-one-person-detection.mp4")

COCO17 = ["nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
          "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
          "right_knee", "left_ankle", "right_ankle"]
EDGES = [(0, 1), (0, 2), (1, 3), (2, 4), (0, 5), (0, 6), (5, 7), (7, 9), (6, 8), (8, 10), (5, 6), (5, 11),
         (6, 12), (11, 12), (11, 13), (13, 15), (12, 14), (14, 16)]
MIN_SCORE = 0.2  # VG_KEYPOINT_MIN_SCORE: the renderer draws keypoints scoring at least this

_loads = None


def movenet_loads():
    """None when `vigil inspect` runs MoveNet with the movenet decoder, else why not (for the skip reason)."""
    global _loads
    if _loads is None:
        p = subprocess.run([VIGIL_BIN, "inspect", MODEL], capture_output=True, text=True, timeout=120)
        if p.returncode == 0 and "decoder: movenet" in p.stdout:
            _loads = ""
        else:
            lines = [ln for ln in (p.stderr + p.stdout).splitlines() if "cannot run" in ln or "vigil:" in ln]
            _loads = "MoveNet does not run in this build: " + (lines[0] if lines else "see vigil inspect")
    return _loads or None


def need_movenet(test):
    if not have_binary():
        test.skipTest(f"vigil binary not found at {VIGIL_BIN}")
    if not os.path.exists(MODEL):
        test.skipTest(f"MoveNet model not found at {MODEL}")
    why = movenet_loads()
    if why:
        test.skipTest(why)


def detect(*args):
    p = subprocess.run([VIGIL_BIN, "detect", "--model", MODEL, *args], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "runtime error:" not in p.stderr, p.stderr  # UBSan, in the sanitizer build
    return [json.loads(line) for line in p.stdout.splitlines()]


def reference():
    """Coral's keypoints as [(x, y)] in COCO order."""
    with open(REFERENCE) as f:
        rows = sorted(csv.DictReader(f), key=lambda r: int(r["keypoint_id"]))
    return [(float(r["keypoint_x"]), float(r["keypoint_y"])) for r in rows]


def errors(person, ref):
    return [max(abs(k["x"] - x), abs(k["y"] - y)) for k, (x, y) in zip(person["keypoints"], ref)]


def check_person(test, d):
    """One MoveNet detection: a person with 17 keypoints named in COCO order, inside its box when found."""
    test.assertEqual(d["label"], "person")
    test.assertEqual(d["class_id"], 0)
    test.assertGreaterEqual(d["score"], 0.3)
    kps = d["keypoints"]
    test.assertEqual([k["name"] for k in kps], COCO17)
    x0, y0, x1, y1 = d["box"]
    test.assertTrue(0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1, d["box"])
    for k in kps:
        test.assertTrue(0 <= k["score"] <= 1, k)
        if k["score"] >= MIN_SCORE:
            kx, ky = min(max(k["x"], 0), 1), min(max(k["y"], 0), 1)
            test.assertTrue(x0 - 1e-4 <= kx <= x1 + 1e-4 and y0 - 1e-4 <= ky <= y1 + 1e-4, f"{k} outside {d['box']}")
    mean = sum(k["score"] for k in kps) / 17
    test.assertAlmostEqual(d["score"], mean, delta=1e-3)


@unittest.skipUnless(os.path.exists(SQUAT) and os.path.exists(REFERENCE), f"Coral's squat.bmp or reference not in {ASSETS}")
class MoveNetDetectTest(unittest.TestCase):
    """`vigil detect` with MoveNet on Coral's squat.bmp (500x610), against Coral's reference keypoints."""

    def setUp(self):
        need_movenet(self)

    def test_inspect_picks_movenet_and_its_defaults(self):
        p = subprocess.run([VIGIL_BIN, "inspect", MODEL], capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("decoder: movenet (output 0", p.stdout)
        self.assertIn("[1,1,17,3]", p.stdout)
        self.assertIn("stretch to 192x192", p.stdout)
        self.assertIn("built-in defaults for MoveNet", p.stdout)

    def test_squat_keypoints_match_coral_reference(self):
        frames = detect(SQUAT)
        self.assertEqual(len(frames), 1)
        self.assertEqual((frames[0]["width"], frames[0]["height"]), (500, 610))
        dets = frames[0]["detections"]
        self.assertEqual(len(dets), 1, dets)
        check_person(self, dets[0])
        err = errors(dets[0], reference())
        close = sum(e <= 0.02 for e in err)
        detail = ", ".join(f"{n} {e:.3f}" for n, e in zip(COCO17, err))
        # Measured: 16 of 17 within 0.02 (the left hip 0.046 off), mean 0.010.
        self.assertGreaterEqual(close, 15, detail)
        self.assertLessEqual(max(err), 0.05, detail)
        self.assertLess(sum(err) / 17, 0.013, detail)

    @unittest.expectedFailure
    def test_squat_every_keypoint_within_002(self):
        # The bar; the left hip misses it (0.046), see the module's note on the reference's model build.
        err = errors(detect(SQUAT)[0]["detections"][0], reference())
        self.assertLessEqual(max(err), 0.02, err)

    def test_stretch_is_the_right_resize(self):
        # MoveNet expects the whole frame resized to its square input: stretching is closer to Coral's keypoints.
        ref = reference()
        stretch = sum(errors(detect(SQUAT)[0]["detections"][0], ref))
        letterbox = sum(errors(detect("--resize", "letterbox", SQUAT)[0]["detections"][0], ref))
        self.assertLess(stretch, letterbox)

    def test_threshold_drops_the_person(self):
        dets = detect("--threshold", "0.95", SQUAT)[0]["detections"]
        self.assertEqual(dets, [])


def read_events(sse, events, until, timeout):
    """Reads events into events (by frame id) until until(events) or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    while not until(events):
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        ev = json.loads(sse.next_event(timeout=left)["data"])
        events[ev["frame_id"]] = ev
    return True


def snapshot_with_event(test, v, sse, events, want_person=True, attempts=20):
    """A snapshot and the event of the same frame (the detections drawn on it), as (PIL image, event)."""
    from PIL import Image
    for _ in range(attempts):
        r = v.get("/snapshot.jpg")
        test.assertEqual(r.status, 200)
        fid = int(r.header("x-frame-id"))
        read_events(sse, events, lambda e: e and max(e) >= fid, 10)
        ev = events.get(fid)
        if ev is not None and (ev["detections"] or not want_person):
            return Image.open(io.BytesIO(r.body)).convert("RGB"), ev
        time.sleep(0.2)
    test.fail("no snapshot whose frame's event has a person")


def luma(px):
    return 0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2]


def drawn_dots(img, det):
    """(drawn, expected): keypoints at least MIN_SCORE inside the image, and those showing a ringed white dot."""
    w, h = img.size
    px = img.load()
    drawn = expected = 0
    for k in det["keypoints"]:
        x, y = round(k["x"] * w), round(k["y"] * h)
        if k["score"] < MIN_SCORE or not (4 <= x < w - 4 and 4 <= y < h - 4):
            continue
        expected += 1
        # At 768x432 a dot is radius 2, ringed in black out to 3 (JPEG keeps the ring under 30 in luma).
        ring = [luma(px[x + dx, y + dy]) for dx, dy in ((3, 0), (-3, 0), (0, 3), (0, -3))]
        if luma(px[x, y]) > 200 and sum(r < 80 for r in ring) >= 3:
            drawn += 1
    return drawn, expected


@unittest.skipUnless(os.path.exists(VIDEO), f"Intel's one-by-one-person video not in {ASSETS}")
class MoveNetServeTest(VigilTestCase):
    """`vigil serve` with MoveNet on video: keypoints in /events and on the stream."""

    def setUp(self):
        super().setUp()
        need_movenet(self)

    def test_video_events_and_snapshot(self):
        # People walk in from about frame 60 (6 s at the file's 10 fps).
        v = self.vigil(VIDEO, "--model", MODEL, ready_timeout=60)
        events = {}
        with v.sse(timeout=30) as sse:
            with_person = lambda e: sum(1 for ev in e.values() if ev["detections"]) >= 5
            self.assertTrue(read_events(sse, events, with_person, 45), "no person in 45 s of events")
            img, ev = snapshot_with_event(self, v, sse, events)
        people = [ev2 for ev2 in events.values() if ev2["detections"]]
        for e in people:
            self.assertEqual(len(e["detections"]), 1, "MoveNet single-pose reports one person")
            check_person(self, e["detections"][0])
        for e in events.values():
            if not e["detections"]:
                self.assertNotIn("keypoints", json.dumps(e))
        self.assertEqual(img.size, (768, 432))
        drawn, expected = drawn_dots(img, ev["detections"][0])
        self.assertGreaterEqual(expected, 5, ev)
        self.assertGreaterEqual(drawn, expected - 1, f"{drawn} of {expected} keypoints show a dot")
        rc, _ = v.stop()
        self.assertEqual(rc, 0, v.stderr())

    def test_skeleton_against_plain_snapshot(self):
        # A still photo looped is the same frame every time: the snapshot without a model is the same picture.
        from PIL import Image
        plain = self.vigil(SQUAT, "--loop")
        base = Image.open(io.BytesIO(plain.get("/snapshot.jpg").body)).convert("RGB")
        plain.stop()
        v = self.vigil(SQUAT, "--loop", "--model", MODEL, ready_timeout=60)
        events = {}
        with v.sse(timeout=30) as sse:
            img, ev = snapshot_with_event(self, v, sse, events)
        self.assertEqual(img.size, base.size)
        det = ev["detections"][0]
        check_person(self, det)
        w, h = img.size
        kps = det["keypoints"]
        shown = [i for i, k in enumerate(kps) if k["score"] >= MIN_SCORE]
        a, b = img.load(), base.load()
        samples = changed = 0
        for i, j in EDGES:
            if i not in shown or j not in shown:
                continue
            for t in (0.3, 0.5, 0.7):
                x = kps[i]["x"] + t * (kps[j]["x"] - kps[i]["x"])
                y = kps[i]["y"] + t * (kps[j]["y"] - kps[i]["y"])
                px, py = round(x * w), round(y * h)
                # Not on a dot: dots sit on top of the lines.
                if any(abs(px - kps[m]["x"] * w) < 6 and abs(py - kps[m]["y"] * h) < 6 for m in shown):
                    continue
                samples += 1
                p, q = a[px, py], b[px, py]
                # The line is the person's class colour, (255, 56, 56): redder than the photo beneath it.
                if (p[0] - p[1]) - (q[0] - q[1]) > 40:
                    changed += 1
        self.assertGreaterEqual(samples, 20)
        self.assertGreaterEqual(changed, samples * 0.9, f"{changed} of {samples} points along edges are red")
        drawn, expected = drawn_dots(img, det)
        self.assertGreaterEqual(drawn, expected - 1, f"{drawn} of {expected} keypoints show a dot")
        # And the plain snapshot has no dots there.
        self.assertLessEqual(drawn_dots(base, det)[0], 1)


class MoveNetLavfiTest(VigilTestCase):
    """A synthetic source with no person in it: the server runs, events flow, nothing breaks."""

    def setUp(self):
        super().setUp()
        need_movenet(self)

    def test_lavfi_events_flow(self):
        v = self.vigil("lavfi:testsrc2=size=640x480:rate=10", "--model", MODEL, ready_timeout=60)
        events = {}
        with v.sse(timeout=20) as sse:
            self.assertTrue(read_events(sse, events, lambda e: len(e) >= 15, 30), "fewer than 15 events")
        analysed = [e for e in events.values() if e["detections_frame_id"] is not None]
        self.assertGreater(len(analysed), 5)
        for e in events.values():
            for d in e["detections"]:
                check_person(self, d)
        self.assertEqual(v.get("/healthz").status, 200)
        self.assertGreater(v.stats()["analysis"]["frames"], 5)
        rc, _ = v.stop()
        self.assertEqual(rc, 0, v.stderr())


if __name__ == "__main__":
    unittest.main()
