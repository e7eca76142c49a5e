"""vigil's Caffe SSD decoder (PriorBox priors + DetectionOutput) against OpenCV DNN's own layers.

OpenCV's ResNet-10 SSD face detector (models/tf_frozen/opencv_face_detector_uint8.pb with its
opencv_face_detector.pbtxt, whose PriorBox and DetectionOutput nodes OpenCV runs itself) is run by
OpenCV 4.6 (Debian's python3-opencv) on real photos with faces and on frames of the Megamind clip,
fed as OpenCV's face detector sample feeds it (300x300 stretched, BGR, mean 104, 177, 123).

- Priors: OpenCV's concatenated PriorBox output ('mbox_priorbox', [1, 2, N*4]) against the priors
  vigil makes from its built-in settings for opencv_face_detector*.pb (build/tests/ssd-priorbox-run):
  the same count, every coordinate within 1e-6 (both sides compute in float32 in the same order),
  and the variances 0.1, 0.1, 0.2, 0.2.
- Decoding: OpenCV's raw heads ('mbox_loc', 'mbox_conf_flatten') go through vigil's decoder, and its
  detections are compared with OpenCV's 'detection_out' at the .pbtxt's own settings (confidence
  threshold 0.01, NMS 0.45, top_k 400, keep_top_k 200): every detection of either side scoring
  0.02 or more has a counterpart on the other with IoU >= 0.9 and a score within 1e-3 (OpenCV's
  boxes clipped to 0..1, as vigil's are). Detections between 0.01 and 0.02 are left out of the
  comparison in both directions, so that scores a hair apart at the threshold cannot fail the test.
  OpenCV's detections whose boxes lie wholly outside the image (the priors of the 5x5 grids with
  steps of 100 and 300 reach far past it) are left out too: vigil drops them, having nothing to show.
  The figures (counts, largest coordinate and score differences) are printed.

This runs the decoder on OpenCV's own model outputs; the whole pipeline on the .pb (vigil's own
GraphDef loader and engine) is compared in test_face_emotion.py once vigil loads the .pb.
"""
import os
import subprocess
import tempfile
import unittest

import numpy as np

from vigil_harness import ASSETS, VIGIL_BIN

try:
    import cv2
except ImportError:  # Debian's python3-opencv is visible only to /usr/bin/python3
    cv2 = None

TOOL = os.path.join(os.path.dirname(VIGIL_BIN), "tests", "ssd-priorbox-run")
PB = os.path.join(ASSETS, "models", "tf_frozen", "opencv_face_detector_uint8.pb")
PBTXT = os.path.join(ASSETS, "models", "tf_frozen", "opencv_face_detector.pbtxt")
IMAGES = ["images/coral_face.jpg", "golden/mediapipe_sergey.png",
          "refs/face_classification_emotion_classification.jpg", "refs/face_classification_test_image.jpg"]
VIDEO = os.path.join(ASSETS, "video", "opencv_megamind_720x528.avi")
VIDEO_FRAMES = [20, 100, 200]


def iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def opencv_blob(img):
    return cv2.dnn.blobFromImage(img, 1.0, (300, 300), (104.0, 177.0, 123.0), False, False)


@unittest.skipIf(cv2 is None, "OpenCV for Python (python3-opencv) is not installed")
@unittest.skipUnless(os.path.exists(PB) and os.path.exists(PBTXT), "face detector assets absent: " + PB)
@unittest.skipUnless(os.access(TOOL, os.X_OK), "build/tests/ssd-priorbox-run not built")
class OpenCVFaceDetectorDecoding(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.net = cv2.dnn.readNetFromTensorflow(PB, PBTXT)
        cls.tmp = tempfile.TemporaryDirectory()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_priors_equal_opencv_priorbox(self):
        self.net.setInput(opencv_blob(np.zeros((300, 300, 3), np.uint8)))
        ref = self.net.forward("mbox_priorbox")
        n = ref.shape[2] // 4
        out = os.path.join(self.tmp.name, "priors.bin")
        r = subprocess.run([TOOL, "priors", "opencv_face_detector_uint8.pb", "300x300", out],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(int(r.stdout), n)
        ours = np.fromfile(out, np.float32)
        self.assertEqual(ours.size, n * 4)
        err = float(np.abs(ours - ref[0, 0]).max())
        print("\npriors: %d (OpenCV %d), max |coordinate difference| %.3g" % (ours.size // 4, n, err))
        self.assertLessEqual(err, 1e-6)
        np.testing.assert_allclose(ref[0, 1].reshape(-1, 4), np.tile([0.1, 0.1, 0.2, 0.2], (n, 1)), rtol=1e-6)

    def decode_and_compare(self, name, img):
        self.net.setInput(opencv_blob(img))
        loc, conf, ref = self.net.forward(["mbox_loc", "mbox_conf_flatten", "detection_out"])
        lp, cp = os.path.join(self.tmp.name, "loc.bin"), os.path.join(self.tmp.name, "conf.bin")
        loc.astype(np.float32).tofile(lp)
        conf.astype(np.float32).tofile(cp)
        r = subprocess.run([TOOL, "decode", "opencv_face_detector_uint8.pb", "300x300", lp, cp, "0.01"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        ours = [[float(v) for v in line.split()] for line in r.stdout.splitlines()]
        theirs = [[row[1] - 1, row[2]] + list(np.clip(row[3:7], 0, 1)) for row in ref[0, 0] if row[2] > 0]
        # vigil drops boxes wholly outside the input (no area once clipped); OpenCV keeps them.
        outside = sum(1 for d in theirs if not (d[4] > d[2] and d[5] > d[3]))
        theirs = [d for d in theirs if d[4] > d[2] and d[5] > d[3]]
        faces = sum(1 for d in theirs if d[1] >= 0.5)
        worst_iou, worst_score, worst_coord = 1.0, 0.0, 0.0
        for a_side, b_side, what in ((theirs, ours, "OpenCV's"), (ours, theirs, "vigil's")):
            for a in a_side:
                if a[1] < 0.02:
                    continue
                best = max(b_side, key=lambda b: iou(a[2:], b[2:]) if b[0] == a[0] else -1, default=None)
                self.assertIsNotNone(best, "%s: %s detection %s has no counterpart" % (name, what, a))
                o = iou(a[2:], best[2:])
                self.assertGreaterEqual(o, 0.9, "%s: %s detection %s: best IoU %.3f with %s" % (name, what, a, o, best))
                self.assertLessEqual(abs(a[1] - best[1]), 1e-3, "%s: %s detection %s vs %s" % (name, what, a, best))
                worst_iou = min(worst_iou, o)
                worst_score = max(worst_score, abs(a[1] - best[1]))
                worst_coord = max(worst_coord, max(abs(x - y) for x, y in zip(a[2:], best[2:])))
        print("%s: OpenCV %d detections (%d faces >= 0.5; %d more wholly outside), vigil %d; worst IoU %.6f, "
              "max |score diff| %.2g, max |coordinate diff| %.2g"
              % (name, len(theirs), faces, outside, len(ours), worst_iou, worst_score, worst_coord))
        return faces

    def test_decoded_faces_equal_opencv_detection_output(self):
        print()
        faces = {}
        for rel in IMAGES:
            path = os.path.join(ASSETS, rel)
            if not os.path.exists(path):
                self.skipTest("asset absent: " + path)
            img = cv2.imread(path)
            self.assertIsNotNone(img, path)
            faces[rel] = self.decode_and_compare(os.path.basename(rel), img)
        # The emotion picture shows four faces; the detector must see them all (a decoder that lost faces
        # to a wrong NMS or wrong priors would still agree with itself).
        self.assertEqual(faces["refs/face_classification_emotion_classification.jpg"], 4)
        self.assertGreaterEqual(faces["golden/mediapipe_sergey.png"], 1)
        if os.path.exists(VIDEO):
            cap = cv2.VideoCapture(VIDEO)
            index = 0
            while True:
                ok, frame = cap.read()
                if not ok:
                    break
                index += 1
                if index in VIDEO_FRAMES:
                    self.decode_and_compare("megamind frame %d" % index, frame)
            cap.release()
            self.assertGreaterEqual(index, max(VIDEO_FRAMES), "the video has fewer frames than expected")


if __name__ == "__main__":
    unittest.main()
