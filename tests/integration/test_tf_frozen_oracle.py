"""OpenCV's frozen-graph face detector through vigil's engine, against OpenCV DNN.

The model is ../shared/assets/models/tf_frozen/opencv_face_detector_uint8.pb
(OpenCV's ResNet-10 SSD, uint8 weights dequantized in the graph). OpenCV DNN
4.6 (Debian python3-opencv, `cv2.dnn.readNetFromTensorflow(pb, pbtxt)`, its
own OPENCV backend on the CPU, one thread) is the independent executor: it
reads the same .pb with its own importer and runs its own kernels.

Inputs: real photos with faces (images/coral_face.jpg,
golden/mediapipe_sergey.png, refs/face_classification_emotion_classification.jpg)
and two frames of video/opencv_megamind_720x528.avi, preprocessed once by
OpenCV as the model wants (cv2.dnn.blobFromImage: 300x300, BGR, mean
(104, 177, 123), NCHW float32); vigil gets the same numbers in NHWC through
build/tests/nn-run --input-size 300x300.

Compared: the graph's raw outputs, the tensors OpenCV's DetectionOutput
reads: vigil's outputs are the nodes nothing reads in the .pb, `mbox_loc`
(the six box regressions concatenated, [1, 35568]) and `mbox_conf_flatten`
(the class scores after the softmax, [1, 17784]); OpenCV's layers of the
same names in the .pbtxt give them (net.forward(names)). The decoded faces
are compared elsewhere (the SSD decoder's own test).

Tolerance: max abs error <= 1e-4 x the OpenCV output's range (max - min).
Both sides dequantize the same uint8 weights with the same formula and run
float32 arithmetic; they differ in summation order (XNNPACK's or vigil's
kernels against OpenCV's), which over the network's ~30 layers stays well
below that.

OpenCV takes well under a second per image, so nothing is cached.
Environment: VIGIL_ASSETS, VIGIL_BIN.
"""
import os
import shutil
import subprocess
import tempfile
import unittest

import numpy as np

from vigil_harness import ASSETS, FFMPEG, VIGIL_BIN

try:
    import cv2
except ImportError:  # plain python3 sees no Debian modules; run with /usr/bin/python3
    cv2 = None

NN_RUN = os.path.join(os.path.dirname(VIGIL_BIN), "tests", "nn-run")
MODEL = os.path.join(ASSETS, "models", "tf_frozen", "opencv_face_detector_uint8.pb")
PBTXT = os.path.join(ASSETS, "models", "tf_frozen", "opencv_face_detector.pbtxt")
VIDEO = os.path.join(ASSETS, "video", "opencv_megamind_720x528.avi")
PHOTOS = ["images/coral_face.jpg", "golden/mediapipe_sergey.png",
          "refs/face_classification_emotion_classification.jpg"]
FRAMES = [60, 200]
OUTPUTS = ["mbox_loc", "mbox_conf_flatten"]
TOL = 1e-4


def blob(bgr):
    """The model's input as OpenCV prepares it: [1, 3, 300, 300] float32."""
    return cv2.dnn.blobFromImage(bgr, 1.0, (300, 300), (104, 177, 123), swapRB=False, crop=False)


def run_opencv(data):
    net = cv2.dnn.readNetFromTensorflow(MODEL, PBTXT)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    net.setInput(data)
    return dict(zip(OUTPUTS, net.forward(OUTPUTS)))


def run_vigil(data, tmp):
    """vigil's engine on the NHWC bytes of the blob: {name: array}."""
    inp = os.path.join(tmp, "in.bin")
    np.ascontiguousarray(data.transpose(0, 2, 3, 1), dtype=np.float32).tofile(inp)
    out = os.path.join(tmp, "out")
    os.makedirs(out, exist_ok=True)
    p = subprocess.run([NN_RUN, "--threads", "1", "--input-size", "300x300", MODEL, inp, out],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, f"nn-run: {p.stderr.strip()}"
    result = {}
    for line in p.stdout.splitlines():
        idx, name, dtype, shape = line.split("\t")[:4]
        arr = np.fromfile(os.path.join(out, f"{idx}.bin"), dtype=np.dtype(dtype))
        result[name[:-2] if name.endswith(":0") else name] = arr.reshape([int(s) for s in shape.split(",")])
    return result


@unittest.skipUnless(cv2 is not None, "OpenCV for Python (python3-opencv) not importable; run with /usr/bin/python3")
@unittest.skipUnless(os.path.isfile(MODEL) and os.path.isfile(PBTXT), f"{MODEL} (and .pbtxt) not found")
@unittest.skipUnless(os.access(NN_RUN, os.X_OK), f"{NN_RUN} not built")
class TfFrozenOracleTest(unittest.TestCase):
    """Both raw outputs of OpenCV's face detector, vigil against OpenCV DNN 4.6, on five real pictures."""

    @classmethod
    def setUpClass(cls):
        cv2.setNumThreads(1)
        cls.tmp = tempfile.mkdtemp(prefix="vigil-tffrozen-")
        cls.images = []  # (label, BGR uint8)
        for rel in PHOTOS:
            path = os.path.join(ASSETS, rel)
            if os.path.isfile(path):
                cls.images.append((os.path.basename(rel), cv2.imread(path, cv2.IMREAD_COLOR)))
        if os.path.isfile(VIDEO) and os.access(FFMPEG, os.X_OK):
            for n in FRAMES:
                png = os.path.join(cls.tmp, f"frame{n}.png")
                p = subprocess.run([FFMPEG, "-v", "error", "-y", "-i", VIDEO, "-vf", f"select=eq(n\\,{n})",
                                    "-frames:v", "1", png], capture_output=True, text=True, timeout=120)
                if p.returncode == 0 and os.path.isfile(png):
                    cls.images.append((f"megamind#{n}", cv2.imread(png, cv2.IMREAD_COLOR)))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_raw_outputs_match_opencv(self):
        self.assertGreaterEqual(len(self.images), 3, "too few of the test pictures were found")
        print("\n  opencv_face_detector_uint8.pb: vigil nn-run (1 thread) vs OpenCV DNN "
              f"{cv2.__version__} (OPENCV backend, CPU, 1 thread)")
        print(f"  {'input':<48} {'output':<18} {'shape':<9} {'max abs':>10} {'range':>9} {'tolerance':>10}")
        failures = []
        for label, bgr in self.images:
            data = blob(bgr)
            ref = run_opencv(data)
            ours = run_vigil(data, self.tmp)
            if sorted(ours) != sorted(OUTPUTS):
                failures.append(f"{label}: vigil's outputs are {sorted(ours)}, expected {OUTPUTS}")
                continue
            for name in OUTPUTS:
                a, r = ours[name], ref[name]
                if a.size != r.size:
                    failures.append(f"{label} {name}: shape {a.shape} in vigil, {r.shape} in OpenCV")
                    continue
                a = a.reshape(-1).astype(np.float64)
                r = r.reshape(-1).astype(np.float64)
                err = float(np.max(np.abs(a - r)))
                rng = float(r.max() - r.min())
                tol = TOL * rng
                ok = err <= tol
                shape = "x".join(str(s) for s in ours[name].shape)
                print(f"  {label:<48} {name:<18} {shape:<9} {err:10.3g} {rng:9.4g} {tol:10.3g}"
                      f"{'' if ok else '  FAIL'}")
                if not ok:
                    i = int(np.argmax(np.abs(a - r)))
                    failures.append(f"{label} {name}: max abs error {err:.4g} > {tol:.4g} at [{i}] "
                                    f"(vigil {a[i]:.6g}, OpenCV {r[i]:.6g})")
        self.assertFalse(failures, "\n".join(failures))

    def test_opencv_finds_the_faces(self):
        """The oracle itself: at least one face (score >= 0.5) in each picture, so the inputs mean something."""
        net = cv2.dnn.readNetFromTensorflow(MODEL, PBTXT)
        for label, bgr in self.images:
            net.setInput(blob(bgr))
            det = net.forward()[0, 0]
            self.assertGreaterEqual(int(np.sum(det[:, 2] >= 0.5)), 1, label)


if __name__ == "__main__":
    unittest.main()
