"""`vigil detect` on a TFLite model whose graph ends in NMS, as TF exports with NMS do.

The model is written by build/tests/tflite-nms-det-model (tests/unit/
tflite_nms_det_model.c): six candidate boxes and scores (constants plus
0 * mean(image)), NON_MAX_SUPPRESSION_V4 or V5 (max 5 outputs, IoU 0.5,
score threshold 0.3), GATHERs of boxes, scores and classes by the selected
indices, RESHAPEs to [1,5,4] / [1,5], and valid_outputs as a count [1]:
the layout of TFLite_Detection_PostProcess, which the "postprocessed"
decoder reads. The expected detections come from the same NMS written
here in numpy (TensorFlow's rule: score above the threshold, dropped at
IoU >= 0.5 with a kept box); rows past the count repeat candidate 0
(index 0 gathered as padding) and must not be reported, nor must the
suppressed candidates or the one under the model's score threshold.
"""
import json
import os
import subprocess
import tempfile
import shutil
import unittest

import numpy as np

from vigil_harness import ASSETS, VIGIL_BIN

WRITER = os.path.join(os.path.dirname(VIGIL_BIN), "tests", "tflite-nms-det-model")
PHOTO = os.path.join(ASSETS, "images", "coral_grace_hopper.bmp")

# The same numbers as tflite_nms_det_model.c: y1, x1, y2, x2 normalised; score; class.
BOXES = np.array([[0.10, 0.10, 0.50, 0.40], [0.12, 0.11, 0.52, 0.41], [0.60, 0.50, 0.90, 0.95],
                  [0.20, 0.60, 0.40, 0.80], [0.55, 0.05, 0.95, 0.30], [0.61, 0.52, 0.88, 0.93]], np.float32)
SCORES = np.array([0.90, 0.80, 0.70, 0.20, 0.60, 0.50], np.float32)
CLASSES = [1, 1, 3, 2, 0, 3]
MAX_OUT, IOU, SCORE_THR = 5, 0.5, 0.3


def iou(a, b):
    ih = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iw = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ih * iw
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def numpy_nms():
    """Indices kept by TensorFlow's NonMaxSuppressionV4 rule, best score first."""
    keep = []
    for i in np.argsort(-SCORES, kind="stable"):
        if SCORES[i] <= SCORE_THR or len(keep) == MAX_OUT:
            continue
        if all(iou(BOXES[i], BOXES[k]) < IOU for k in keep):
            keep.append(int(i))
    return keep


@unittest.skipUnless(os.access(WRITER, os.X_OK), f"{WRITER} not built")
@unittest.skipUnless(os.path.exists(PHOTO), f"{PHOTO} not found (shared assets absent)")
class TfliteNmsDetectTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vigil-tflite-nms-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def model(self, *flags):
        path = os.path.join(self.tmp, "nms_det%s.tflite" % "".join("_" + f for f in flags))
        p = subprocess.run([WRITER, path, *flags], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        return path

    def inspect(self, model):
        p = subprocess.run([VIGIL_BIN, "inspect", model], capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        return p.stdout

    def detect(self, model, *extra):
        p = subprocess.run([VIGIL_BIN, "detect", "--model", model, "--threshold", "0.1", *extra, PHOTO],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout.splitlines()[0])["detections"]

    def check(self, dets):
        keep = numpy_nms()
        self.assertEqual(keep, [0, 2, 4])  # 1 and 5 suppressed (IoU 0.85, 0.82), 3 under the score threshold
        got = [(d["class_id"], round(d["score"], 5), [round(v, 5) for v in d["box"]]) for d in dets]
        print("\nvigil detect:", got)
        self.assertEqual(len(dets), len(keep), got)  # no padding rows, no suppressed candidates
        for d, i in zip(dets, keep):
            y1, x1, y2, x2 = BOXES[i]
            self.assertEqual(d["class_id"], CLASSES[i])
            self.assertAlmostEqual(d["score"], float(SCORES[i]), places=5)
            for g, w in zip(d["box"], (x1, y1, x2, y2)):
                self.assertAlmostEqual(g, float(w), places=4, msg=got)

    def test_v4_chosen_without_flags(self):
        model = self.model()
        text = self.inspect(model)
        self.assertIn("TFLite_Detection_PostProcess", text)
        self.assertIn("NON_MAX_SUPPRESSION_V4", text)
        self.check(self.detect(model))

    def test_v5_scores_before_classes(self):
        # Outputs in the order boxes, scores, classes, count: told apart by their names.
        model = self.model("v5", "scores-first")
        self.check(self.detect(model))

    def test_named_decoder(self):
        self.check(self.detect(self.model(), "--decoder", "postprocessed"))


if __name__ == "__main__":
    unittest.main()
