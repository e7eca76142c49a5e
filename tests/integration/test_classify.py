"""The second stage (--classify) end to end, with models vigil loads: TensorFlow Lite's SSD MobileNet v1
COCO detector and Coral's quantized MobileNet ImageNet classifiers on Coral's photos.

- `vigil detect --classify`: every classified detection's attribute equals what the classifier alone
  gives on the same crop. vigil writes each crop's input tensor and the classifier's output
  (VIGIL_CLASSIFY_DUMP, see src/detect/classify.h); the input goes through build/tests/nn-run and its
  best class and score must be the attribute's (score within 1e-4, the JSON's precision).
- The crop itself: recomputed here with PIL from the box in the JSON line, by classify.h's rule
  (edges to the nearest pixel, left and top down to even, clamped), then resized with PIL's bilinear
  filter. The two inputs are not bit-equal: vigil decodes the JPEG to 4:2:0 YCbCr and scales with
  swscale, PIL upsamples chroma its own way and filters differently, so pixels differ by a few levels
  (measured: mean |difference| 2-2.5 levels, 99th percentile 12-13). Allowed: mean <= 4, 99th
  percentile <= 20, which a crop off by more than a pixel or two, or of the wrong box, exceeds.
  The classifier's best class on PIL's crop must be vigil's, or score within 0.1 of PIL's best.
- Selection: the largest detections first, at most --classify-max, only --classify-classes; a class
  name the detector does not know is an error; no labels give "class N".
- `vigil serve --classify`: /events carries the same attributes as `vigil detect` for the same photo
  (looped), through real HTTP.
"""
import json
import math
import os
import shutil
import subprocess
import tempfile
import unittest

import numpy as np
from PIL import Image

from vigil_harness import ASSETS, FFMPEG, VIGIL_BIN, Vigil

TFLITE = os.path.join(ASSETS, "models", "tflite")
LABELS = os.path.join(ASSETS, "labels")
DETECTOR = os.path.join(TFLITE, "ssd_mobilenet_v1_coco_quant_2018_06_29_detect.tflite")
COCO_LABELS = os.path.join(LABELS, "coco_labelmap_91_tf_od_api.txt")
CLASSIFIER = os.path.join(TFLITE, "coral_mobilenet_v2_1.0_224_quant.tflite")
SMALL_CLASSIFIER = os.path.join(TFLITE, "coral_mobilenet_v1_0.25_128_quant.tflite")
IMAGENET = os.path.join(LABELS, "coral_imagenet_labels.txt")
PETS = os.path.join(ASSETS, "images", "coral_pets.jpg")
KITES = os.path.join(ASSETS, "images", "coral_kite_and_cold.jpg")
NN_RUN = os.path.join(os.path.dirname(VIGIL_BIN), "tests", "nn-run")


def crop_rect(box, w, h, margin=0.0):
    """classify.h's crop of a normalised box in a w x h frame: (left, top, right, bottom)."""
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    clamp = lambda v: min(1.0, max(0.0, v))
    x0, x1 = clamp(x0 - margin * bw), clamp(x1 + margin * bw)
    y0, y1 = clamp(y0 - margin * bh), clamp(y1 + margin * bh)
    rnd = lambda v: int(math.floor(v + 0.5))
    return rnd(x0 * w) & ~1, rnd(y0 * h) & ~1, min(rnd(x1 * w), w), min(rnd(y1 * h), h)


def run_classifier(model, raw, tmp):
    """nn-run on raw input bytes: the output dequantized as Coral's models state (uint8, scale 1/256)."""
    path = os.path.join(tmp, "in.bin")
    with open(path, "wb") as f:
        f.write(raw)
    r = subprocess.run([NN_RUN, model, path, tmp], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError("nn-run failed: " + r.stderr)
    scale, zp = float(r.stdout.split("\t")[4]), int(r.stdout.split("\t")[5])
    return (np.fromfile(os.path.join(tmp, "0.bin"), np.uint8).astype(np.float64) - zp) * scale


@unittest.skipUnless(all(os.path.exists(p) for p in (DETECTOR, CLASSIFIER, SMALL_CLASSIFIER, IMAGENET, PETS, KITES)),
                     "assets absent: " + TFLITE)
@unittest.skipUnless(os.access(NN_RUN, os.X_OK), "build/tests/nn-run not built")
class ClassifyTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vigil-classify-")
        self.sidecar = os.path.join(self.tmp, "imagenet.vigil.json")
        with open(self.sidecar, "w") as f:
            json.dump({"labels": IMAGENET}, f)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def detect(self, image, *args, classifier=CLASSIFIER, sidecar=True, env=None, status=0):
        argv = [VIGIL_BIN, "detect", "--model", DETECTOR, "--labels", COCO_LABELS, "--classify", classifier]
        if sidecar:
            argv += ["--classify-sidecar", self.sidecar]
        r = subprocess.run(argv + list(args) + [image], capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, **(env or {})))
        self.assertEqual(r.returncode, status, r.stderr)
        return [json.loads(line) for line in r.stdout.splitlines()] if status == 0 else r.stderr

    def test_attribute_is_the_classifier_on_the_crop(self):
        dump = os.path.join(self.tmp, "dump")
        os.mkdir(dump)
        line = self.detect(PETS, env={"VIGIL_CLASSIFY_DUMP": dump})[0]
        self.assertIn("classify_ms", line)
        img = Image.open(PETS).convert("RGB")
        with open(IMAGENET) as f:  # one name a line, "background" first: line i names class i
            labels = [row.rstrip("\n") for row in f]
        classified = 0
        print()
        for i, d in enumerate(line["detections"]):
            if "attributes" not in d:
                continue
            classified += 1
            a = d["attributes"][0]
            self.assertEqual(a["model"], os.path.basename(CLASSIFIER))
            with open(os.path.join(dump, "1-%d.input.bin" % i), "rb") as f:
                raw = f.read()
            self.assertEqual(len(raw), 224 * 224 * 3)
            alone = run_classifier(CLASSIFIER, raw, self.tmp)
            best = int(np.argmax(alone))
            self.assertEqual(a["class_id"], best)
            self.assertEqual(a["label"], labels[best][:63])
            self.assertAlmostEqual(a["score"], alone[best], delta=1e-4)
            # The same crop by PIL.
            rect = crop_rect(d["box"], *img.size)
            pil = np.asarray(img.crop(rect).resize((224, 224), Image.BILINEAR))
            ours = np.frombuffer(raw, np.uint8).reshape(224, 224, 3)
            diff = np.abs(ours.astype(int) - pil.astype(int))
            mean, p99 = diff.mean(), np.percentile(diff, 99)
            theirs = run_classifier(CLASSIFIER, pil.tobytes(), self.tmp)
            print("%s %s crop %s: vigil %s %.4f; PIL's crop %s %.4f; pixels mean |diff| %.2f, p99 %.0f"
                  % (d["label"], i, rect, a["label"], a["score"], labels[int(np.argmax(theirs))], theirs.max(),
                     mean, p99))
            self.assertLessEqual(mean, 4.0)
            self.assertLessEqual(p99, 20)
            self.assertTrue(int(np.argmax(theirs)) == best or theirs.max() - theirs[best] <= 0.1)
        self.assertEqual(classified, 2, "both dogs are classified")
        # Labels of dogs: ImageNet's dog classes are 152 to 269 in this 1001-class numbering.
        for d in line["detections"]:
            self.assertTrue(152 <= d["attributes"][0]["class_id"] <= 269, d)

    def test_selection_largest_first_classes_and_max(self):
        dets = self.detect(KITES, classifier=SMALL_CLASSIFIER)[0]["detections"]
        self.assertGreater(len(dets), 8)
        area = lambda d: (d["box"][2] - d["box"][0]) * (d["box"][3] - d["box"][1])
        done = [d for d in dets if "attributes" in d]
        skipped = [d for d in dets if "attributes" not in d]
        self.assertEqual(len(done), 8, "the default is 8 crops a frame")
        self.assertLessEqual(max(map(area, skipped)), min(map(area, done)), "the largest ones are classified")
        one = self.detect(KITES, "--classify-max", "1", classifier=SMALL_CLASSIFIER)[0]["detections"]
        self.assertEqual([area(d) for d in one if "attributes" in d], [max(map(area, dets))])
        kites = self.detect(KITES, "--classify-classes", "kite", classifier=SMALL_CLASSIFIER)[0]["detections"]
        self.assertEqual(sorted(d["label"] for d in kites if "attributes" in d),
                         sorted(d["label"] for d in kites if d["label"] == "kite"))
        self.assertGreater(sum(1 for d in kites if "attributes" in d), 0)
        # Classes the labels do not name are "class N" (Coral's models pack all their labels, so a sidecar
        # naming only the first two stands in for a model without labels).
        short = os.path.join(self.tmp, "two.vigil.json")
        with open(short, "w") as f:
            json.dump({"labels": ["background", "tench"]}, f)
        bare = self.detect(KITES, "--classify-max", "2", "--classify-sidecar", short, classifier=SMALL_CLASSIFIER,
                           sidecar=False)[0]["detections"]
        attrs = [d["attributes"][0] for d in bare if "attributes" in d]
        self.assertEqual(len(attrs), 2)
        for a in attrs:
            self.assertGreater(a["class_id"], 1)
            self.assertEqual(a["label"], "class %d" % a["class_id"])

    def test_bad_options(self):
        err = self.detect(KITES, "--classify-classes", "unicorn", status=2)
        self.assertIn("'unicorn' is not a class name of the detector", err)
        err = self.detect(KITES, "--classify-max", "0", status=2)
        self.assertIn("--classify-max", err)
        r = subprocess.run([VIGIL_BIN, "detect", "--model", DETECTOR, "--classify-max", "3", KITES],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 2)
        self.assertIn("need --classify MODEL", r.stderr)
        r = subprocess.run([VIGIL_BIN, "detect", "--model", DETECTOR, "--classify", os.path.join(self.tmp, "none.tflite"),
                            KITES], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--classify", r.stderr)

    @unittest.skipUnless(os.access(FFMPEG, os.X_OK), "needs " + FFMPEG)
    def test_serve_events_carry_the_attributes(self):
        # A still photo ends after one frame; a short video of it loops. Motion JPEG at the best quality
        # keeps the frames close to the photo, and `vigil detect` reads the same video for the expectation.
        video = os.path.join(self.tmp, "pets.avi")
        subprocess.run([FFMPEG, "-loglevel", "error", "-loop", "1", "-i", PETS, "-t", "2", "-r", "5", "-c:v", "mjpeg",
                        "-q:v", "2", "-pix_fmt", "yuvj420p", video], check=True, timeout=60)
        want = self.detect(video, "--max-frames", "1")[0]["detections"]
        self.assertEqual(sum(1 for d in want if "attributes" in d), 2)
        v = Vigil.start(video, "--loop", "--model", DETECTOR, "--labels", COCO_LABELS, "--classify", CLASSIFIER,
                        "--classify-sidecar", self.sidecar, ready_timeout=60)
        try:
            got = None
            with v.sse(timeout=20) as sse:
                for _ in range(50):
                    ev = json.loads(sse.next_event()["data"])
                    if ev["detections_frame_id"] is not None and ev["detections"]:
                        got = ev["detections"]
                        break
            self.assertIsNotNone(got, "no event with detections")
            self.assertEqual(len(got), len(want))
            for g, w in zip(got, want):
                self.assertEqual(g["label"], w["label"])
                self.assertEqual(len(g["attributes"]), 1)
                self.assertEqual(g["attributes"][0]["label"], w["attributes"][0]["label"])
                self.assertEqual(g["attributes"][0]["model"], os.path.basename(CLASSIFIER))
                self.assertAlmostEqual(g["attributes"][0]["score"], w["attributes"][0]["score"], delta=1e-4)
            rc, _ = v.stop()
            self.assertEqual(rc, 0, v.stderr())
            self.assertIn("second stage: coral_mobilenet_v2_1.0_224_quant.tflite", v.stderr())
        finally:
            v.kill()


if __name__ == "__main__":
    unittest.main()
