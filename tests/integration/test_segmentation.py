"""Segmentation models end to end: the real binary on real photos of people, over real HTTP.

PP-HumanSeg-Lite portrait (the SavedModel onnx2tf made of it; the ONNX original once vigil loads ONNX) gives
a [1,2,224,398] softmax. The reference mask is `vigil run --image` of the same first frame: its output's
argmax per pixel, cropped to the frame when letterboxed, scaled to the frame by nearest neighbour with pixel
centres aligned (render/mask.h's rule). Checked against it:

- `vigil detect` JSON lines: "segmentation" carries the person's area, equal to the reference mask's share
  of pixels (within 0.002: the same input, the JSON has four decimals); letterboxed into the 398x224 input,
  the bars are left out of the area.
- `vigil serve --privacy fill:FF00FF`: the snapshot and an MJPEG frame are magenta inside the mask (eroded
  by 6 pixels, for JPEG's blocks and the 1.5-pixel mask cells: at least 98% of those pixels within 40 levels
  of magenta per channel) and not outside it (eroded likewise: under 0.5%; the status line's rows left out);
  /events carries an area within 0.02 of the reference mask's.
- The same through a letterbox (800x600 into 398x224): the fill follows the mask cropped to the frame.
- `--privacy blur`: outside the mask the frame is the photo's (mean |difference| under 4 levels), inside it
  is not (over 8): pixelated.
- The overlay without --privacy tints the person blue (the blue channel rises inside the mask by more than
  10 levels on average) and leaves the rest.
- A detector (SSD MobileNet COCO): --privacy fill fills its person box and nothing else.
- Bad options: one clear error, exit status 2.
"""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import numpy as np
from PIL import Image

from vigil_harness import ASSETS, FFMPEG, VIGIL_BIN, Vigil, VigilTestCase, http_request

SAVEDMODEL = os.path.join(ASSETS, "models", "savedmodel", "humanseg_ppseg_lite_portrait_onnx2tf")
ONNX = os.path.join(ASSETS, "models", "onnx", "ppseg_lite_portrait_398x224_with_softmax_fixed.onnx")
SERGEY = os.path.join(ASSETS, "golden", "mediapipe_sergey.png")
MAGENTA = np.array([255, 0, 255], np.int32)
STATUS_ROWS = 48  # the status line drawn at the top ("5.0 fps  inference 10 ms") is neither photo nor mask


def vigil(*args, check=True):
    r = subprocess.run([VIGIL_BIN] + [str(a) for a in args], capture_output=True, text=True, timeout=120)
    if check and r.returncode != 0:
        raise AssertionError("vigil %s: exit %d: %s" % (" ".join(map(str, args)), r.returncode, r.stderr))
    return r


def make_video(image, path, pad_to=None):
    """A 2 s, 5 fps Motion JPEG video of a still image (best quality), optionally centred on a grey canvas."""
    vf = ["-vf", "pad=%d:%d:(ow-iw)/2:(oh-ih)/2:color=gray" % pad_to] if pad_to else []
    subprocess.run([FFMPEG, "-loglevel", "error", "-y", "-loop", "1", "-i", image, "-t", "2", "-r", "5"] + vf +
                   ["-c:v", "mjpeg", "-q:v", "2", "-pix_fmt", "yuvj420p", path], check=True, timeout=60)


def first_frame(video, tmp):
    """The video's first frame as RGB, as FFmpeg decodes it."""
    png = os.path.join(tmp, "first.png")
    subprocess.run([FFMPEG, "-loglevel", "error", "-y", "-i", video, "-frames:v", "1", png], check=True, timeout=60)
    return np.asarray(Image.open(png).convert("RGB")).astype(np.int32)


def reference_mask(model, video, tmp, width, height, letterbox=False):
    """The person mask at frame size from `vigil run` of the first frame, and its share of the frame."""
    out = os.path.join(tmp, "run")
    args = ["run", model, "--image", video, "--outputs", out] + (["--resize", "letterbox"] if letterbox else [])
    vigil(*args)
    scores = np.load(os.path.join(out, "identity.npy") if os.path.exists(os.path.join(out, "identity.npy"))
                     else os.path.join(out, sorted(f for f in os.listdir(out) if f.endswith(".npy"))[0]))
    cls = scores[0].argmax(axis=0)  # [H, W], NCHW output
    mh, mw = cls.shape
    x0, y0, x1, y1 = 0, 0, mw, mh
    if letterbox:
        # preprocess.c: the frame scaled by the smaller ratio, rounded, centred; segment.c crops to it.
        s = min(mw / width, mh / height)
        cw, ch = int(round(width * s)), int(round(height * s))
        x0, y0 = (mw - cw) // 2, (mh - ch) // 2
        x1, y1 = x0 + cw, y0 + ch
    crop = cls[y0:y1, x0:x1]
    h, w = crop.shape
    cols = np.minimum(((2 * np.arange(width) + 1) * w) // (2 * width), w - 1)
    rows = np.minimum(((2 * np.arange(height) + 1) * h) // (2 * height), h - 1)
    return crop[rows][:, cols] == 1, float((crop == 1).mean())


def erode(mask, r):
    """Pixels whose whole (2r+1)-square neighbourhood is in mask."""
    m = mask.copy()
    padded = np.pad(mask, r, constant_values=False)
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            m &= padded[r + dy:r + dy + mask.shape[0], r + dx:r + dx + mask.shape[1]]
    return m


def decode_jpeg(data, tmp, name):
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(data)
    return np.asarray(Image.open(path).convert("RGB")).astype(np.int32)


@unittest.skipUnless(os.path.isdir(SAVEDMODEL) and os.path.exists(SERGEY), "assets absent: " + SAVEDMODEL)
@unittest.skipUnless(os.access(FFMPEG, os.X_OK), "needs " + FFMPEG)
class SegmentationTest(VigilTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix="vigil-seg-")
        cls.video = os.path.join(cls.tmp, "sergey.avi")
        make_video(SERGEY, cls.video)
        cls.frame = first_frame(cls.video, cls.tmp)
        cls.h, cls.w = cls.frame.shape[:2]
        cls.mask, cls.area = reference_mask(SAVEDMODEL, cls.video, cls.tmp, cls.w, cls.h)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()

    def test_reference_mask_is_a_person(self):
        # The portrait fills the photo: a large, central person, background in the top corners.
        self.assertGreater(self.area, 0.5)
        self.assertLess(self.area, 0.8)
        self.assertTrue(self.mask[self.h // 2, self.w // 2])
        self.assertFalse(self.mask[5, 5] or self.mask[5, self.w - 6])

    def test_detect_json_carries_the_area(self):
        r = vigil("detect", "--model", SAVEDMODEL, self.video, "--max-frames", "1")
        line = json.loads(r.stdout.splitlines()[0])
        self.assertEqual(line["detections"], [])
        classes = line["segmentation"]["classes"]
        self.assertEqual([(c["label"], c["class_id"]) for c in classes], [("person", 1)])
        self.assertAlmostEqual(classes[0]["area"], self.area, delta=0.002)

    def test_inspect_names_the_decoder_and_the_defaults(self):
        out = vigil("inspect", SAVEDMODEL).stdout
        self.assertIn("decoder: segmentation", out)
        self.assertIn("PP-HumanSeg-Lite", out)
        self.assertIn("RGB", out)

    def test_letterbox_leaves_the_bars_out(self):
        # 800x600 with the photo centred: letterboxed into 398x224, bars on both sides of the input.
        video = os.path.join(self.tmp, "wide.avi")
        make_video(SERGEY, video, pad_to=(800, 600))
        _, area = reference_mask(SAVEDMODEL, video, self.tmp, 800, 600, letterbox=True)
        r = vigil("detect", "--model", SAVEDMODEL, "--resize", "letterbox", video, "--max-frames", "1")
        got = json.loads(r.stdout.splitlines()[0])["segmentation"]["classes"][0]["area"]
        self.assertAlmostEqual(got, area, delta=0.002)
        # Counted over the whole model input instead, the bars (background) would dilute it by a quarter.
        self.assertGreater(area, 0.3)

    def serve(self, *args):
        return Vigil.start(self.video, "--loop", "--model", SAVEDMODEL, *args, ready_timeout=60)

    def segmented_event(self, v):
        with v.sse(timeout=20) as sse:
            for _ in range(50):
                ev = json.loads(sse.next_event()["data"])
                if ev.get("segmentation") and ev["detections_frame_id"] is not None:
                    return ev
        self.fail("no event with a segmentation")

    def check_filled(self, img, what):
        inside, outside = erode(self.mask, 6), erode(~self.mask, 6)
        inside[:STATUS_ROWS, :] = outside[:STATUS_ROWS, :] = False
        near = (np.abs(img - MAGENTA) <= 40).all(axis=2)
        self.assertGreater(near[inside].mean(), 0.98, what + ": pixels inside the mask not filled")
        self.assertLess(near[outside].mean(), 0.005, what + ": pixels outside the mask filled")

    def test_privacy_fill_on_snapshot_stream_and_events(self):
        v = self.serve("--privacy", "fill:FF00FF")
        try:
            ev = self.segmented_event(v)
            self.assertAlmostEqual(ev["segmentation"]["classes"][0]["area"], self.area, delta=0.02)
            # With --privacy a frame waits for its own mask (a 10 ms model on a 5 fps video: nearly always).
            with v.sse(timeout=20) as sse:
                evs = [json.loads(sse.next_event()["data"]) for _ in range(10)]
            own = sum(e["detections_frame_id"] == e["frame_id"] for e in evs)
            self.assertGreaterEqual(own, 8, [(e["frame_id"], e["detections_frame_id"]) for e in evs])
            snap = v.get("/snapshot.jpg")
            self.assertEqual(snap.status, 200)
            self.check_filled(decode_jpeg(snap.body, self.tmp, "snap.jpg"), "snapshot")
            with v.mjpeg(timeout=10) as stream:
                part = stream.parts(2)[-1]
            self.check_filled(decode_jpeg(part.body, self.tmp, "part.jpg"), "MJPEG frame")
            rc, _ = v.stop()
            self.assertEqual(rc, 0, v.stderr())
        finally:
            v.kill()

    def test_privacy_fill_through_a_letterbox(self):
        # 800x600 letterboxed into 398x224: the stream's fill follows the mask cropped to the frame and scaled.
        video = os.path.join(self.tmp, "wide-serve.avi")
        make_video(SERGEY, video, pad_to=(800, 600))
        mask, area = reference_mask(SAVEDMODEL, video, self.tmp, 800, 600, letterbox=True)
        v = Vigil.start(video, "--loop", "--model", SAVEDMODEL, "--resize", "letterbox", "--privacy", "fill:FF00FF",
                        ready_timeout=60)
        try:
            ev = self.segmented_event(v)
            self.assertAlmostEqual(ev["segmentation"]["classes"][0]["area"], area, delta=0.02)
            img = decode_jpeg(v.get("/snapshot.jpg").body, self.tmp, "wide.jpg")
        finally:
            v.kill()
        inside, outside = erode(mask, 6), erode(~mask, 6)
        inside[:STATUS_ROWS, :] = outside[:STATUS_ROWS, :] = False
        near = (np.abs(img - MAGENTA) <= 40).all(axis=2)
        self.assertGreater(near[inside].mean(), 0.98)
        self.assertLess(near[outside].mean(), 0.005)

    def test_privacy_blur_hides_only_the_person(self):
        v = self.serve("--privacy", "blur")
        try:
            self.segmented_event(v)
            img = decode_jpeg(v.get("/snapshot.jpg").body, self.tmp, "blur.jpg")
        finally:
            v.kill()
        diff = np.abs(img - self.frame).mean(axis=2)
        inside, outside = erode(self.mask, 6), erode(~self.mask, 6)
        inside[:STATUS_ROWS, :] = outside[:STATUS_ROWS, :] = False
        self.assertLess(diff[outside].mean(), 4.0)
        self.assertGreater(diff[inside].mean(), 8.0)

    def test_overlay_tints_the_person(self):
        v = self.serve()
        try:
            self.segmented_event(v)
            img = decode_jpeg(v.get("/snapshot.jpg").body, self.tmp, "overlay.jpg")
        finally:
            v.kill()
        inside, outside = erode(self.mask, 6), erode(~self.mask, 6)
        inside[:STATUS_ROWS, :] = outside[:STATUS_ROWS, :] = False
        blue_rise = (img[..., 2] - self.frame[..., 2])[inside].mean()
        self.assertGreater(blue_rise, 10.0)
        self.assertLess(np.abs(img - self.frame).mean(axis=2)[outside].mean(), 4.0)

    def test_bad_privacy_options(self):
        r = vigil("serve", "--source", self.video, "--privacy", "blur", check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--privacy needs a model", r.stderr)
        r = vigil("serve", "--source", self.video, "--model", SAVEDMODEL, "--privacy", "smudge", check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("blur, fill or fill:RRGGBB", r.stderr)
        r = vigil("serve", "--source", self.video, "--model", SAVEDMODEL, "--privacy-classes", "person", check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--privacy-classes needs --privacy", r.stderr)
        r = vigil("serve", "--source", self.video, "--model", SAVEDMODEL, "--privacy", "fill", "--privacy-classes",
                  "dog", "--listen", "127.0.0.1:0", check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--privacy-classes", r.stderr)
        self.assertIn("dog", r.stderr)
        r = vigil("detect", "--model", SAVEDMODEL, "--privacy", "blur", self.video, check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("give --save DIR", r.stderr)

    def test_detect_save_hides_the_person(self):
        out = os.path.join(self.tmp, "saved")
        os.makedirs(out, exist_ok=True)
        vigil("detect", "--model", SAVEDMODEL, "--privacy", "fill:FF00FF", "--save", out, self.video,
              "--max-frames", "1")
        with open(os.path.join(out, "sergey.avi-0001.jpg"), "rb") as f:
            self.check_filled(decode_jpeg(f.read(), self.tmp, "saved.jpg"), "--save")


DETECTOR = os.path.join(ASSETS, "models", "tflite", "ssd_mobilenet_v1_coco_quant_2018_06_29_detect.tflite")
COCO_LABELS = os.path.join(ASSETS, "labels", "coco_labelmap_91_tf_od_api.txt")
PERSON = os.path.join(ASSETS, "images", "nanodetrepo_person.jpg")


@unittest.skipUnless(all(os.path.exists(p) for p in (DETECTOR, COCO_LABELS, PERSON)), "assets absent: " + DETECTOR)
@unittest.skipUnless(os.access(FFMPEG, os.X_OK), "needs " + FFMPEG)
class DetectorPrivacyTest(VigilTestCase):
    """A detector's person boxes are what --privacy hides: filled on the stream, the other boxes (a dog, a
    horse the model calls a sheep) and the rest of the photo untouched."""

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="vigil-seg-det-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)
        super().tearDown()

    def test_person_boxes_filled(self):
        video = os.path.join(self.tmp, "person.avi")
        make_video(PERSON, video)
        v = Vigil.start(video, "--loop", "--model", DETECTOR, "--labels", COCO_LABELS, "--privacy", "fill:FF00FF",
                        ready_timeout=60)
        try:
            ev = None
            with v.sse(timeout=20) as sse:
                for _ in range(50):
                    e = json.loads(sse.next_event()["data"])
                    if e["detections_frame_id"] == e["frame_id"] and e["detections"]:
                        ev = e
                        break
            self.assertIsNotNone(ev, "no event with detections of its own frame")
            img = decode_jpeg(v.get("/snapshot.jpg").body, self.tmp, "snap.jpg")
        finally:
            v.kill()
        h, w = img.shape[:2]
        people = [d["box"] for d in ev["detections"] if d["label"] == "person"]
        self.assertEqual(len(people), 1, ev["detections"])
        near = (np.abs(img - MAGENTA) <= 40).all(axis=2)
        covered = np.zeros((h, w), bool)
        for d in ev["detections"]:
            x0, y0, x1, y1 = d["box"]
            covered[max(0, int(y0 * h) - 30):int(y1 * h) + 8, max(0, int(x0 * w) - 8):int(x1 * w) + 8] = True
        x0, y0, x1, y1 = people[0]
        # Inside the box, less its outline and the label drawn at its top.
        inside = near[int(y0 * h) + 30:int(y1 * h) - 8, int(x0 * w) + 8:int(x1 * w) - 8]
        self.assertGreater(inside.mean(), 0.98)
        outside = ~covered
        outside[:STATUS_ROWS, :] = False
        self.assertLess(near[outside].mean(), 0.005)


@unittest.skipUnless(os.path.exists(ONNX) and os.path.exists(SERGEY), "assets absent: " + ONNX)
@unittest.skipUnless(os.access(FFMPEG, os.X_OK), "needs " + FFMPEG)
class OnnxSegmentationTest(VigilTestCase):
    """The ONNX original: the same decoder through the NCHW input; its area equals the SavedModel's."""

    def setUp(self):
        super().setUp()
        r = vigil("inspect", ONNX, check=False)
        self.assertEqual(r.returncode, 0, "vigil cannot load the ONNX model: " +
                         (r.stderr.strip().splitlines() or ["?"])[-1])
        self.tmp = tempfile.mkdtemp(prefix="vigil-seg-onnx-")

    def tearDown(self):
        shutil.rmtree(getattr(self, "tmp", ""), ignore_errors=True)
        super().tearDown()

    def test_onnx_area_matches_the_savedmodel(self):
        video = os.path.join(self.tmp, "sergey.avi")
        make_video(SERGEY, video)
        out = vigil("inspect", ONNX).stdout
        self.assertIn("decoder: segmentation", out)
        self.assertIn("NCHW", out)
        onnx_line = json.loads(vigil("detect", "--model", ONNX, video, "--max-frames", "1").stdout.splitlines()[0])
        sm_line = json.loads(vigil("detect", "--model", SAVEDMODEL, video, "--max-frames", "1").stdout.splitlines()[0])
        a = onnx_line["segmentation"]["classes"][0]
        b = sm_line["segmentation"]["classes"][0]
        self.assertEqual(a["label"], "person")
        # Two conversions of one network: their masks may differ on a few edge pixels.
        self.assertAlmostEqual(a["area"], b["area"], delta=0.005)
        frame = first_frame(video, self.tmp)
        _, area = reference_mask(ONNX, video, self.tmp, frame.shape[1], frame.shape[0])
        self.assertAlmostEqual(a["area"], area, delta=0.002)


if __name__ == "__main__":
    unittest.main()
