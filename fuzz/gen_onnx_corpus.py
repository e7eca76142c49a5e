#!/usr/bin/python3
"""Writes the seed corpus of fuzz_onnx: tiny ONNX models built with onnx.helper.

fuzz/run calls it for a fresh corpus each time (models are not kept in git).
The last seeds are the shapes of what fuzz_onnx found; tests/nn/test_onnx.c
(onnx_fuzz_findings) holds the same cases as regression tests.

usage: /usr/bin/python3 fuzz/gen_onnx_corpus.py DIR
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto as TP
from onnx import helper as oh
from onnx import numpy_helper as nh

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(12)


def save(name, nodes, inputs, outputs, inits=(), opset=13, meta=None):
    g = oh.make_graph(nodes, name, inputs, outputs, [nh.from_array(v, k) for k, v in inits])
    m = oh.make_model(g, opset_imports=[oh.make_opsetid("", opset)], producer_name="seed")
    m.ir_version = 7
    for k, v in (meta or {}).items():
        e = m.metadata_props.add()
        e.key, e.value = k, v
    onnx.save(m, os.path.join(out, name + ".onnx"))


f = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
X = oh.make_tensor_value_info("x", TP.FLOAT, [1, 3, 8, 8])
XD = oh.make_tensor_value_info("x", TP.FLOAT, ["N", 3, "H", "W"])
Y = oh.make_tensor_value_info("y", TP.FLOAT, None)
save("conv_bn_relu", [oh.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], strides=[2, 2]),
                      oh.make_node("BatchNormalization", ["c", "s", "o", "m", "v"], ["n"]),
                      oh.make_node("Relu", ["n"], ["y"])], [X], [Y],
     [("w", f(4, 3, 3, 3)), ("b", f(4)), ("s", f(4)), ("o", f(4)), ("m", f(4)), ("v", np.abs(f(4)) + 1)])
save("dw_pool_resize", [oh.make_node("Conv", ["x", "w"], ["c"], group=3, pads=[1, 1, 1, 1]),
                        oh.make_node("MaxPool", ["c"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
                        oh.make_node("Resize", ["p", "", "sc"], ["y"], mode="nearest")], [XD], [Y],
     [("w", f(3, 1, 3, 3)), ("sc", np.array([1, 1, 2, 2], np.float32))])
save("shape_reshape", [oh.make_node("Shape", ["x"], ["s"]),
                       oh.make_node("Gather", ["s", "i0"], ["n"], axis=0),
                       oh.make_node("Unsqueeze", ["n", "ax"], ["nu"]),
                       oh.make_node("Concat", ["nu", "m1"], ["shp"], axis=0),
                       oh.make_node("Reshape", ["x", "shp"], ["r"]),
                       oh.make_node("Softmax", ["r"], ["y"], axis=1)], [X], [Y],
     [("i0", np.array(0, np.int64)), ("ax", np.array([0], np.int64)), ("m1", np.array([-1], np.int64))])
save("gemm_split_slice", [oh.make_node("Flatten", ["x"], ["fl"]),
                          oh.make_node("Gemm", ["fl", "w", "b"], ["g"], transB=1),
                          oh.make_node("Split", ["g"], ["a", "b2"], axis=1),
                          oh.make_node("Slice", ["a", "st", "en"], ["sl"]),
                          oh.make_node("Concat", ["sl", "b2"], ["y"], axis=1)], [X], [Y],
     [("w", f(6, 192)), ("b", f(6)), ("st", np.array([0, 1], np.int64)), ("en", np.array([1, 3], np.int64))])
save("act_mix", [oh.make_node("HardSigmoid", ["x"], ["h"]),
                 oh.make_node("Clip", ["h", "lo", "hi"], ["c"]),
                 oh.make_node("LeakyRelu", ["c"], ["l"], alpha=0.1),
                 oh.make_node("GlobalAveragePool", ["l"], ["y"])], [X], [Y],
     [("lo", np.array(0, np.float32)), ("hi", np.array(6, np.float32))], meta={"imgsz": "[8, 8]"})
save("opset9_upsample", [oh.make_node("Upsample", ["x", "sc"], ["u"]),
                         oh.make_node("Transpose", ["u"], ["y"], perm=[0, 2, 3, 1])], [X], [Y],
     [("sc", np.array([1, 1, 2, 2], np.float32))], opset=9)

# The ops issue 12's later work added: run-time row counts (NonMaxSuppression), the quantized forms,
# ConvTranspose's forms, Pad modes, cubic and crop-and-resize Resize, dilated and 3-D pooling.
B = oh.make_tensor_value_info("boxes", TP.FLOAT, [1, 6, 4])
S = oh.make_tensor_value_info("scores", TP.FLOAT, [1, 2, 6])
SEL = oh.make_tensor_value_info("y", TP.INT64, None)
save("nms_gather", [oh.make_node("NonMaxSuppression", ["boxes", "scores", "mx", "iou", "th"], ["sel"],
                                 center_point_box=1),
                    oh.make_node("Gather", ["sel", "c2"], ["y"], axis=1)], [B, S], [SEL],
     [("mx", np.array([3], np.int64)), ("iou", np.array([0.5], np.float32)), ("th", np.array([0.1], np.float32)),
      ("c2", np.array(2, np.int64))], opset=11)
XU = oh.make_tensor_value_info("x", TP.UINT8, [1, 3, 8, 8])
YU = oh.make_tensor_value_info("y", TP.UINT8, None)
save("qlinearconv", [oh.make_node("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"], ["y"],
                                  pads=[1, 1, 1, 1])], [XU], [YU],
     [("xs", np.array(0.02, np.float32)), ("xz", np.array(128, np.uint8)),
      ("w", rng.integers(-20, 20, (4, 3, 3, 3)).astype(np.int8)), ("ws", np.array([0.01, 0.02, 0.03, 0.04], np.float32)),
      ("wz", np.zeros(4, np.int8)), ("ys", np.array(0.05, np.float32)), ("yz", np.array(100, np.uint8)),
      ("b", rng.integers(-50, 50, 4).astype(np.int32))])
XF2 = oh.make_tensor_value_info("x", TP.FLOAT, [2, 8])
YF = oh.make_tensor_value_info("y", TP.FLOAT, None)
save("dynamic_quant_matmul", [oh.make_node("DynamicQuantizeLinear", ["x"], ["q", "qs", "qz"]),
                              oh.make_node("MatMulInteger", ["q", "w", "qz", "wz"], ["i"]),
                              oh.make_node("Cast", ["i"], ["f"], to=TP.FLOAT),
                              oh.make_node("Mul", ["f", "qs"], ["y"])], [XF2], [YF],
     [("w", rng.integers(0, 255, (8, 4)).astype(np.uint8)), ("wz", np.array(120, np.uint8))])
XB = oh.make_tensor_value_info("x", TP.FLOAT, [2, 3, 4])
WB = oh.make_tensor_value_info("w", TP.FLOAT, [2, 4, 5])
save("batch_matmul", [oh.make_node("MatMul", ["x", "w"], ["y"])], [XB, WB], [YF])
save("convtranspose_forms", [oh.make_node("ConvTranspose", ["x", "w"], ["c"], group=3, dilations=[2, 2],
                                          strides=[2, 2], output_padding=[1, 1], auto_pad="SAME_UPPER"),
                             oh.make_node("Pad", ["c", "pp"], ["y"], mode="reflect")], [X], [Y],
     [("w", f(3, 2, 3, 3)), ("pp", np.array([0, 0, 1, 2, 0, 0, 2, 1], np.int64))])
save("resize_cubic_crop", [oh.make_node("Resize", ["x", "roi", "sc"], ["r"], mode="cubic", exclude_outside=1,
                                        coordinate_transformation_mode="tf_crop_and_resize",
                                        extrapolation_value=2.0),
                           oh.make_node("Pad", ["r", "pp", "pv"], ["y"], mode="constant")], [X], [Y],
     [("roi", np.array([0, 0, 0.2, 0.1, 1, 1, 0.9, 0.8], np.float32)), ("sc", np.array([1, 1, 1.5, 0.75], np.float32)),
      ("pp", np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64)), ("pv", np.array(1.5, np.float32))])
save("pool_dilated_indices", [oh.make_node("MaxPool", ["x"], ["p", "idx"], kernel_shape=[2, 2], dilations=[2, 2],
                                           ceil_mode=1),
                              oh.make_node("AveragePool", ["p"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                                           count_include_pad=1)], [X], [Y])
X5 = oh.make_tensor_value_info("x", TP.FLOAT, [1, 2, 4, 6, 6])
save("pool_3d", [oh.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2, 2], strides=[2, 2, 2])], [X5], [Y])

# Found by fuzz_onnx: an INTS attribute without values, a node without outputs, a huge shape with a
# few bytes of data, a NaN Resize scale.
empty_strides = oh.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2])
empty_strides.attribute.add(name="strides", type=onnx.AttributeProto.INTS)
save("finding_empty_ints_attribute", [empty_strides], [X], [Y])
save("finding_node_without_output", [oh.make_node("Transpose", ["x"], [], perm=[0, 2, 3, 1])], [X], [Y])
huge = onnx.TensorProto(name="w", dims=[1, 1040137215], data_type=TP.FLOAT, raw_data=b"\0" * 16)
g = oh.make_graph([oh.make_node("Add", ["x", "w"], ["y"])], "huge", [X], [Y], [huge])
m = oh.make_model(g, opset_imports=[oh.make_opsetid("", 13)], producer_name="seed")
m.ir_version = 7
onnx.save(m, os.path.join(out, "finding_huge_shape_no_data.onnx"))
save("finding_resize_nan_scale", [oh.make_node("Resize", ["x", "", "sc"], ["y"], mode="nearest")], [X], [Y],
     [("sc", np.array([1, 1, np.nan, 2], np.float32))])
