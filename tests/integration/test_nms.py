"""ONNX NonMaxSuppression in vigil (`vigil run`) against ONNX Runtime.

Small hand-built models (python3-onnx) with one NonMaxSuppression node, and
a Gather and a Cast reading its selected indices, run in vigil and in ONNX
Runtime (tests/oracle/ort_run.mjs) on the same random boxes and scores. The
selected indices, whose row count is known only at run time, must match
exactly: vigil writes only the rows a run filled.
"""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

import numpy as np

from vigil_harness import VIGIL_BIN

HERE = os.path.dirname(os.path.abspath(__file__))
ORACLE_DIR = os.path.join(os.path.dirname(HERE), "oracle")
ORT_RUN = os.path.join(ORACLE_DIR, "ort_run.mjs")
NODE_MODULES = os.path.join(ORACLE_DIR, "node_modules")


def node_ok():
    return shutil.which("node") is not None and os.path.isdir(os.path.join(NODE_MODULES, "onnxruntime-node"))


def onnx_ok():
    try:
        import onnx  # noqa: F401
    except ImportError:
        return False
    return True


def build(path, center, runtime_thresholds, max_per_class, iou, score, batches, classes, boxes):
    """NonMaxSuppression -> selected; Gather(selected, 2, axis 1) -> box; Cast(box, float) -> box_f;
    Slice(selected, columns 1..2) -> class_box; box_f * box_f -> box_sq."""
    import onnx
    from onnx import TensorProto as TP
    from onnx import helper as oh
    from onnx import numpy_helper as nh

    inputs = [oh.make_tensor_value_info("boxes", TP.FLOAT, [batches, boxes, 4]),
              oh.make_tensor_value_info("scores", TP.FLOAT, [batches, classes, boxes])]
    inits = [nh.from_array(np.array(2, dtype=np.int64), "col"),
             nh.from_array(np.array([1], dtype=np.int64), "s_start"), nh.from_array(np.array([3], dtype=np.int64), "s_end"),
             nh.from_array(np.array([1], dtype=np.int64), "s_axes"),
             nh.from_array(np.array([max_per_class], dtype=np.int64), "max_per_class")]
    names = ["boxes", "scores", "max_per_class", "iou", "score"]
    if runtime_thresholds:
        inputs += [oh.make_tensor_value_info("iou", TP.FLOAT, []),
                   oh.make_tensor_value_info("score", TP.FLOAT, [])]
    else:
        inits.append(nh.from_array(np.array([iou], dtype=np.float32), "iou"))
        if score is None:
            names = names[:4]
        else:
            inits.append(nh.from_array(np.array([score], dtype=np.float32), "score"))
    nodes = [oh.make_node("NonMaxSuppression", names, ["selected"], center_point_box=center),
             oh.make_node("Gather", ["selected", "col"], ["box"], axis=1),
             oh.make_node("Cast", ["box"], ["box_f"], to=TP.FLOAT),
             oh.make_node("Slice", ["selected", "s_start", "s_end", "s_axes"], ["class_box"]),
             oh.make_node("Mul", ["box_f", "box_f"], ["box_sq"])]
    outputs = [oh.make_tensor_value_info("selected", TP.INT64, ["K", 3]),
               oh.make_tensor_value_info("box", TP.INT64, ["K"]),
               oh.make_tensor_value_info("box_f", TP.FLOAT, ["K"]),
               oh.make_tensor_value_info("class_box", TP.INT64, ["K", 2]),
               oh.make_tensor_value_info("box_sq", TP.FLOAT, ["K"])]
    g = oh.make_graph(nodes, "nms", inputs, outputs, initializer=inits)
    m = oh.make_model(g, opset_imports=[oh.make_opsetid("", 11)], producer_name="vigil-test")
    m.ir_version = 6
    onnx.checker.check_model(m)
    onnx.save(m, path)


def random_case(seed, batches, classes, boxes, center):
    """Boxes in a few clusters (so that IoU suppresses), distinct scores (so that no tie decides)."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0.2, 0.8, size=(4, 2))
    c = centres[rng.integers(0, 4, size=(batches, boxes))] + rng.normal(0, 0.04, size=(batches, boxes, 2))
    wh = rng.uniform(0.1, 0.3, size=(batches, boxes, 2))
    if center:
        b = np.concatenate([c, wh], axis=2)
    else:
        lo, hi = c - wh / 2, c + wh / 2
        # [y1, x1, y2, x2], some with the corners swapped.
        b = np.stack([lo[..., 1], lo[..., 0], hi[..., 1], hi[..., 0]], axis=2)
        swap = rng.random((batches, boxes)) < 0.3
        b[swap] = b[swap][:, [2, 3, 0, 1]]
    s = rng.permutation(batches * classes * boxes).reshape(batches, classes, boxes) / (batches * classes * boxes)
    return b.astype(np.float32), s.astype(np.float32)


@unittest.skipUnless(node_ok(), f"needs node and {NODE_MODULES}/onnxruntime-node (npm ci in tests/oracle)")
@unittest.skipUnless(onnx_ok(), "needs python3-onnx")
class NmsOracleTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vigil-nms-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def check(self, name, center=0, runtime_thresholds=False, max_per_class=3, iou=0.4, score=0.2, batches=2,
              classes=3, boxes=40, seed=1):
        model = os.path.join(self.tmp, name + ".onnx")
        build(model, center, runtime_thresholds, max_per_class, iou, score, batches, classes, boxes)
        b, s = random_case(seed, batches, classes, boxes, center)
        feeds = {"boxes": b, "scores": s}
        if runtime_thresholds:
            feeds["iou"] = np.array(iou, dtype=np.float32)
            feeds["score"] = np.array(score, dtype=np.float32)
        files = {}
        for k, v in feeds.items():
            files[k] = os.path.join(self.tmp, k + ".npy")
            np.save(files[k], v)
        ort_dir = os.path.join(self.tmp, name + "-ort")
        p = subprocess.run(["node", ORT_RUN, model, files["boxes"], ort_dir]
                           + [f"{k}={f}" for k, f in files.items() if k != "boxes"],
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(ort_dir, "outputs.json")) as f:
            meta = json.load(f)
        ref = {m["name"]: np.load(os.path.join(ort_dir, f"{i}.npy")) for i, m in enumerate(meta)}
        out = os.path.join(self.tmp, name + "-vigil")
        p = subprocess.run([VIGIL_BIN, "run", model, "--outputs", out]
                           + sum([["--input", f"{k}={f}"] for k, f in files.items()], []),
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        sel = ref["selected"]
        self.assertGreater(len(sel), 2, "a case that selects too little tests little")
        for key in ("selected", "box", "box_f", "class_box", "box_sq"):
            got = np.load(os.path.join(out, key + ".npy"))
            self.assertEqual(got.shape, ref[key].shape, f"{key}: vigil {got.shape}, ONNX Runtime {ref[key].shape}")
            np.testing.assert_array_equal(got.astype(np.float64), ref[key].astype(np.float64), err_msg=key)
        print(f"  {name}: {len(sel)} rows selected of {batches * classes * boxes} candidates")

    def test_corners(self):
        self.check("corners")

    def test_corners_no_score_threshold(self):
        self.check("no_score", score=None, max_per_class=5, iou=0.3, seed=2)

    def test_center_point_box_runtime_thresholds(self):
        self.check("centers", center=1, runtime_thresholds=True, max_per_class=100, iou=0.5, score=0.1, seed=3)

    def test_one_class_many_boxes(self):
        self.check("many", batches=1, classes=1, boxes=300, max_per_class=1000, iou=0.45, score=0.0, seed=4)

    def test_nothing_selected(self):
        model = os.path.join(self.tmp, "none.onnx")
        build(model, 0, False, 3, 0.5, 2.0, 1, 2, 10)  # every score is below 2.0
        b, s = random_case(5, 1, 2, 10, 0)
        np.save(os.path.join(self.tmp, "b.npy"), b)
        np.save(os.path.join(self.tmp, "s.npy"), s)
        out = os.path.join(self.tmp, "none-vigil")
        p = subprocess.run([VIGIL_BIN, "run", model, "--outputs", out, "--input",
                            f"boxes={self.tmp}/b.npy", "--input", f"scores={self.tmp}/s.npy"],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(np.load(os.path.join(out, "selected.npy")).shape, (0, 3))
        self.assertEqual(np.load(os.path.join(out, "box.npy")).shape, (0,))


@unittest.skipUnless(onnx_ok(), "needs python3-onnx")
class NmsRefusedTest(unittest.TestCase):
    """What would need the row count at load time, or lose it, is refused with a message saying why."""

    def run_after(self, op_nodes, out_type, out_shape):
        import onnx
        from onnx import TensorProto as TP
        from onnx import helper as oh
        from onnx import numpy_helper as nh
        tmp = tempfile.mkdtemp(prefix="vigil-nms-bad-")
        try:
            inputs = [oh.make_tensor_value_info("boxes", TP.FLOAT, [1, 5, 4]),
                      oh.make_tensor_value_info("scores", TP.FLOAT, [1, 2, 5])]
            inits = [nh.from_array(np.array([2], dtype=np.int64), "max_per_class"),
                     nh.from_array(np.array([0.5], dtype=np.float32), "iou")]
            nodes = [oh.make_node("NonMaxSuppression", ["boxes", "scores", "max_per_class", "iou"], ["sel"])] + op_nodes
            g = oh.make_graph(nodes, "nms_bad", inputs, [oh.make_tensor_value_info("y", out_type, out_shape)],
                              initializer=inits)
            m = oh.make_model(g, opset_imports=[oh.make_opsetid("", 11)], producer_name="vigil-test")
            m.ir_version = 6
            model = os.path.join(tmp, "m.onnx")
            onnx.save(m, model)
            b, s = random_case(6, 1, 2, 5, 0)
            np.save(os.path.join(tmp, "b.npy"), b)
            np.save(os.path.join(tmp, "s.npy"), s)
            return subprocess.run([VIGIL_BIN, "run", model, "--outputs", os.path.join(tmp, "out"), "--input",
                                   f"boxes={tmp}/b.npy", "--input", f"scores={tmp}/s.npy"],
                                  capture_output=True, text=True, timeout=120)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_shape_of_the_selected_indices(self):
        from onnx import TensorProto as TP
        from onnx import helper as oh
        p = self.run_after([oh.make_node("Shape", ["sel"], ["y"])], TP.INT64, [2])
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("known only at run time", p.stderr)

    def test_transpose_of_the_selected_indices(self):
        from onnx import TensorProto as TP
        from onnx import helper as oh
        p = self.run_after([oh.make_node("Transpose", ["sel"], ["y"], perm=[1, 0])], TP.INT64, [3, "K"])
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("known only at run time", p.stderr)


def build_detector(path, boxes_px, scores):
    """An image model with NMS inside: [1,3,96,96] -> NonMaxSuppression -> detection rows [K,7] (batch,
    x1, y1, x2, y2, class, score in input pixels, YOLOv7's end-to-end order), from constant boxes and scores
    (0 x the image's mean added, so that they are computed at run time)."""
    import onnx
    from onnx import TensorProto as TP
    from onnx import helper as oh
    from onnx import numpy_helper as nh
    n = boxes_px.shape[0]
    i64 = lambda v: np.array(v, np.int64)  # noqa: E731
    inits = [nh.from_array(np.zeros((1, 1, 1, 1), np.float32), "zero"),
             nh.from_array(i64([1, 1, 1]), "s3"), nh.from_array(i64([n, 4]), "s_boxes"), nh.from_array(i64([n]), "s_n"),
             nh.from_array(boxes_px[None].astype(np.float32), "boxes_c"),
             nh.from_array(scores[None, None].astype(np.float32), "scores_c"),
             nh.from_array(i64([10]), "max_per_class"), nh.from_array(np.array([0.5], np.float32), "iou"),
             nh.from_array(np.array([0.25], np.float32), "score_thr"),
             nh.from_array(i64(0), "c0"), nh.from_array(i64(1), "c1"), nh.from_array(i64(2), "c2")]
    nodes = [oh.make_node("ReduceMean", ["images"], ["m"], keepdims=1),
             oh.make_node("Mul", ["m", "zero"], ["z"]),
             oh.make_node("Reshape", ["z", "s3"], ["z3"]),
             oh.make_node("Add", ["boxes_c", "z3"], ["boxes"]),
             oh.make_node("Add", ["scores_c", "z3"], ["scores"]),
             oh.make_node("NonMaxSuppression", ["boxes", "scores", "max_per_class", "iou", "score_thr"], ["sel"]),
             oh.make_node("Gather", ["sel", "c0"], ["batch"], axis=1),
             oh.make_node("Gather", ["sel", "c1"], ["cls"], axis=1),
             oh.make_node("Gather", ["sel", "c2"], ["idx"], axis=1),
             oh.make_node("Reshape", ["boxes", "s_boxes"], ["boxes2"]),
             oh.make_node("Reshape", ["scores", "s_n"], ["scores1"]),
             oh.make_node("Gather", ["boxes2", "idx"], ["kbox"], axis=0),
             oh.make_node("Gather", ["scores1", "idx"], ["kscore"], axis=0),
             oh.make_node("Cast", ["batch"], ["batch_f"], to=TP.FLOAT),
             oh.make_node("Cast", ["cls"], ["cls_f"], to=TP.FLOAT),
             oh.make_node("Unsqueeze", ["batch_f"], ["batch_c"], axes=[1]),
             oh.make_node("Unsqueeze", ["cls_f"], ["cls_c"], axes=[1]),
             oh.make_node("Unsqueeze", ["kscore"], ["score_c"], axes=[1]),
             oh.make_node("Concat", ["batch_c", "kbox", "cls_c", "score_c"], ["output"], axis=1)]
    g = oh.make_graph(nodes, "nms_detector", [oh.make_tensor_value_info("images", TP.FLOAT, [1, 3, 96, 96])],
                      [oh.make_tensor_value_info("output", TP.FLOAT, ["K", 7])], initializer=inits)
    m = oh.make_model(g, opset_imports=[oh.make_opsetid("", 11)], producer_name="vigil-test")
    m.ir_version = 6
    onnx.checker.check_model(m)
    onnx.save(m, path)


@unittest.skipUnless(node_ok(), f"needs node and {NODE_MODULES}/onnxruntime-node (npm ci in tests/oracle)")
@unittest.skipUnless(onnx_ok(), "needs python3-onnx")
class NmsDetectorTest(unittest.TestCase):
    """`vigil detect` on a model with NMS inside: the detections of the rows the run filled, no more."""

    def test_detect_reads_the_filled_rows(self):
        from PIL import Image
        tmp = tempfile.mkdtemp(prefix="vigil-nms-det-")
        try:
            # Box 1 overlaps box 0 and box 5 box 4 (suppressed); box 3 is below the score threshold.
            boxes = np.array([[10, 10, 40, 50], [12, 11, 41, 52], [50, 50, 90, 80], [0, 60, 20, 90],
                              [60, 5, 85, 30], [61, 6, 86, 31]], np.float32)
            scores = np.array([0.9, 0.8, 0.7, 0.2, 0.6, 0.5], np.float32)
            model = os.path.join(tmp, "nms_det.onnx")
            build_detector(model, boxes, scores)
            x = os.path.join(tmp, "x.npy")
            np.save(x, np.zeros((1, 3, 96, 96), np.float32))
            p = subprocess.run(["node", ORT_RUN, model, x, os.path.join(tmp, "ort")], capture_output=True,
                               text=True, timeout=300)
            self.assertEqual(p.returncode, 0, p.stderr)
            ref = np.load(os.path.join(tmp, "ort", "0.npy"))
            self.assertEqual(ref[:, 1:5].tolist(), boxes[[0, 2, 4]].tolist())
            p = subprocess.run([VIGIL_BIN, "inspect", model], capture_output=True, text=True, timeout=120)
            self.assertIn("decoder: nms-rows", p.stdout, p.stdout + p.stderr)
            self.assertIn("up to 6 detection rows of 7 values", p.stdout)
            image = os.path.join(tmp, "grey.png")
            Image.fromarray(np.full((96, 96, 3), 90, np.uint8)).save(image)
            # The lowest threshold: the unfilled rows (zeros) would count as detections of score 0.
            p = subprocess.run([VIGIL_BIN, "detect", "--model", model, "--threshold", "0.0001", image],
                               capture_output=True, text=True, timeout=300)
            self.assertEqual(p.returncode, 0, p.stderr)
            dets = json.loads(p.stdout.splitlines()[0])["detections"]
            self.assertEqual(len(dets), len(ref), dets)
            for d, r in zip(sorted(dets, key=lambda d: -d["score"]), ref):
                self.assertAlmostEqual(d["score"], float(r[6]), places=5)
                np.testing.assert_allclose(d["box"], r[1:5] / 96, atol=2e-3)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
