"""The issue's face-emotion acceptance test: OpenCV's face detector (.pb) and the mini-Xception emotion
classifier (.hdf5) through `vigil detect --classify`, on the emotion model's own result picture.

refs/face_classification_emotion_classification.jpg is oarriaga/face_classification's result picture:
four faces in a 2x2 grid that its pipeline labelled surprise (top left), happy (top right), sad
(bottom left) and angry (bottom right); the boxes and words it drew are part of the picture and of
the test. With the default crop (the detector's box, no margin):

- vigil finds exactly four faces scoring 0.5 or more, one per quadrant, each with one attribute from
  fer2013_mini_XCEPTION.102-0.66.hdf5 whose label is that quadrant's;
- vigil's faces are OpenCV DNN's (its detection_out on the same picture, fed as OpenCV's sample feeds
  it): IoU >= 0.98 and scores within 0.005 (measured: IoU 0.999 to 1.000, scores equal to 4 decimals).
  Not closer: both scale the picture to 300x300 with cv2.resize's two-tap bilinear (vigil's "linear"
  sampling, the face detector's built-in setting), but vigil samples the JPEG's 4:2:0 YCbCr and OpenCV
  its BGR, so the network sees pixels a level or two apart; test_ssd_priorbox.py shows the decoding
  itself equal to 5e-8, and the GraphDef loader's own test compares the raw heads;
- the classifier's outputs on vigil's crops (the input tensors vigil fed it, written through
  VIGIL_CLASSIFY_DUMP) equal TensorFlow.js's Layers API running the same HDF5 (the keras oracle,
  tests/oracle/keras_to_tfjs.py + tfjs_layers_run.mjs, reused from test_keras_oracle.py): max abs
  error <= 1e-4 (the outputs are probabilities, range 1), and each attribute is TF.js's best class
  with its score within 1e-4.

The same runs with MediaPipe's short-range face detector (TensorFlow Lite) in place of OpenCV's, which
vigil loaded before the .pb: the second stage does not depend on which detector found the faces
(MediaPipe's boxes are its own, so there is no OpenCV comparison for it).

Skipped, by name, when vigil has no loader for the .pb or the .hdf5 (no GraphDef or Keras loader linked
in: "format not recognised"), when the assets are absent, or when the oracle (node with tfjs-layers, Debian's h5py) is missing.
"""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import numpy as np

from vigil_harness import ASSETS, VIGIL_BIN, Vigil

try:
    import cv2
except ImportError:
    cv2 = None
from test_keras_oracle import have_h5py, have_oracle, run_oracle

PB = os.path.join(ASSETS, "models", "tf_frozen", "opencv_face_detector_uint8.pb")
MEDIAPIPE = os.path.join(ASSETS, "models", "tflite", "mediapipe_face_detection_short_range.tflite")
PBTXT = os.path.join(ASSETS, "models", "tf_frozen", "opencv_face_detector.pbtxt")
EMOTION = os.path.join(ASSETS, "models", "keras", "fer2013_mini_XCEPTION.102-0.66.hdf5")
PICTURE = os.path.join(ASSETS, "refs", "face_classification_emotion_classification.jpg")
EMOTIONS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
# (row, column) of the 2x2 grid -> the label the emotion model's repository drew there.
EXPECTED = {(0, 0): "surprise", (0, 1): "happy", (1, 0): "sad", (1, 1): "angry"}


def loader_missing(model):
    """Why vigil has no loader for the model's format (its error says so), or None. Any other failure to
    load (an unsupported op, a bad weight) is left to fail the test."""
    r = subprocess.run([VIGIL_BIN, "inspect", model], capture_output=True, text=True, timeout=120)
    if r.returncode != 0 and ("format not recognised" in r.stderr or "not linked in" in r.stderr):
        return r.stderr.strip()
    return None


def iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


class FaceEmotion:
    DETECTOR = None

    @classmethod
    def setUpClass(cls):
        for model in (cls.DETECTOR, EMOTION, PICTURE):
            if not os.path.exists(model):
                raise unittest.SkipTest("asset absent: " + model)
        for model in (cls.DETECTOR, EMOTION):
            why = loader_missing(model)
            if why:
                raise unittest.SkipTest("vigil has no loader for %s yet: %s" % (os.path.basename(model), why))
        cls.tmp = tempfile.mkdtemp(prefix="vigil-face-emotion-")
        cls.dump = os.path.join(cls.tmp, "dump")
        os.mkdir(cls.dump)
        r = subprocess.run([VIGIL_BIN, "detect", "--model", cls.DETECTOR, "--classify", EMOTION, PICTURE], capture_output=True,
                           text=True, timeout=300, env=dict(os.environ, VIGIL_CLASSIFY_DUMP=cls.dump))
        if r.returncode != 0:
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise AssertionError("vigil detect failed: " + r.stderr)
        cls.line = json.loads(r.stdout.splitlines()[0])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def faces(self):
        return [(i, d) for i, d in enumerate(self.line["detections"]) if d["score"] >= 0.5]

    def test_four_faces_with_the_repositorys_labels(self):
        faces = self.faces()
        print()
        for i, d in faces:
            print("face %d %.4f %s: %s" % (i, d["score"], d["box"], d.get("attributes")))
        self.assertEqual(len(faces), 4, self.line["detections"])
        seen = {}
        for _, d in faces:
            self.assertEqual(d["label"], "face")
            cx, cy = (d["box"][0] + d["box"][2]) / 2, (d["box"][1] + d["box"][3]) / 2
            cell = (int(cy >= 0.5), int(cx >= 0.5))
            self.assertNotIn(cell, seen, "two faces in one quadrant")
            self.assertEqual(len(d["attributes"]), 1)
            a = d["attributes"][0]
            self.assertEqual(a["model"], os.path.basename(EMOTION))
            self.assertEqual(a["label"], EMOTIONS[a["class_id"]])
            seen[cell] = a["label"]
        self.assertEqual(seen, EXPECTED)

    def test_classifier_outputs_equal_tfjs_on_the_same_crops(self):
        if not have_oracle() or not have_h5py():
            self.skipTest("needs node with @tensorflow/tfjs-layers in tests/oracle/node_modules and python3-h5py")
        faces = self.faces()
        inputs, ours = [], []
        for i, _ in faces:
            with open(os.path.join(self.dump, "1-%d.input.bin" % i), "rb") as f:
                inputs.append(f.read())
            self.assertEqual(len(inputs[-1]), 64 * 64 * 4, "a 64x64 grey float input")
            ours.append(np.fromfile(os.path.join(self.dump, "1-%d.output.bin" % i), np.float32))
        (name, theirs), = run_oracle(EMOTION, inputs, self.tmp)
        theirs = theirs.reshape(len(faces), 7)
        err = float(np.abs(np.stack(ours) - theirs).max())
        print("\nclassifier on %d crops against TF.js layers: max abs error %.2g" % (len(faces), err))
        self.assertLessEqual(err, 1e-4)
        for (i, d), t in zip(faces, theirs):
            a = d["attributes"][0]
            self.assertEqual(a["class_id"], int(np.argmax(t)))
            self.assertAlmostEqual(a["score"], float(t.max()), delta=1e-4)


class OpenCVFaceEmotionTest(FaceEmotion, unittest.TestCase):
    """The issue's pair: OpenCV's face detector (.pb) and the emotion model (.hdf5)."""
    DETECTOR = PB

    def test_faces_are_opencvs(self):
        if cv2 is None:
            self.skipTest("OpenCV for Python (python3-opencv) is not installed")
        net = cv2.dnn.readNetFromTensorflow(PB, PBTXT)
        img = cv2.imread(PICTURE)
        net.setInput(cv2.dnn.blobFromImage(img, 1.0, (300, 300), (104.0, 177.0, 123.0), False, False))
        ref = [r for r in net.forward("detection_out")[0, 0] if r[2] >= 0.5]
        ours = [d for _, d in self.faces()]
        self.assertEqual(len(ref), len(ours))
        for r in ref:
            box = list(np.clip(r[3:7], 0, 1))
            best = max(ours, key=lambda d: iou(box, d["box"]))
            o = iou(box, best["box"])
            print("OpenCV face %.4f %s: vigil %.4f, IoU %.3f" % (r[2], np.round(box, 4).tolist(), best["score"], o))
            self.assertGreaterEqual(o, 0.98)
            self.assertLessEqual(abs(float(r[2]) - best["score"]), 0.005)

    def test_demo_serve_megamind(self):
        """The README's one-command demo: faces of the Megamind clip with emotions, through /events."""
        video = os.path.join(ASSETS, "video", "opencv_megamind_720x528.avi")
        if not os.path.exists(video):
            self.skipTest("asset absent: " + video)
        v = Vigil.start(video, "--loop", "--model", PB, "--classify", EMOTION, ready_timeout=60)
        try:
            with_attr = 0
            with v.sse(timeout=20) as sse:
                for _ in range(40):
                    ev = json.loads(sse.next_event()["data"])
                    for d in ev["detections"]:
                        for a in d.get("attributes", []):
                            self.assertEqual(a["model"], os.path.basename(EMOTION))
                            self.assertIn(a["label"], EMOTIONS)
                            with_attr += 1
            self.assertGreater(with_attr, 10, "few faces with an emotion in 40 events")
            rc, _ = v.stop()
            self.assertEqual(rc, 0, v.stderr())
        finally:
            v.kill()


class MediaPipeFaceEmotionTest(FaceEmotion, unittest.TestCase):
    """MediaPipe's short-range face detector (.tflite) and the emotion model (.hdf5)."""
    DETECTOR = MEDIAPIPE


if __name__ == "__main__":
    unittest.main()
