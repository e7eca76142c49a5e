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
