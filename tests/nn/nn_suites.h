/* Every test suite of the nn engine, run by the nn-tests binary. Add a line per new test file. */
#ifndef NN_SUITES_H
#define NN_SUITES_H

#include "test.h"

extern const vg_test vg_suite_nn_graph[];
extern const vg_test vg_suite_nn_ref[];
extern const vg_test vg_suite_nn_ops[];
extern const vg_test vg_suite_nn_tflite[];
extern const vg_test vg_suite_nn_tflite_ops[];
extern const vg_test vg_suite_nn_shape[];
extern const vg_test vg_suite_nn_tfjs[];
extern const vg_test vg_suite_nn_tf_ops[];
extern const vg_test vg_suite_nn_pose_ops[];
extern const vg_test vg_suite_nn_pb[];
extern const vg_test vg_suite_nn_keras[];
extern const vg_test vg_suite_nn_tensor_bundle[];
extern const vg_test vg_suite_nn_savedmodel[];
extern const vg_test vg_suite_nn_graphdef[];
extern const vg_test vg_suite_nn_onnx_ops[];
extern const vg_test vg_suite_nn_onnx[];
extern const vg_test vg_suite_nn_fast_ops[];
extern const vg_test vg_suite_nn_resize_pad[];
extern const vg_test vg_suite_nn_nms[];
extern const vg_test vg_suite_nn_tflite_nms[];
extern const vg_test vg_suite_nn_qonnx[];
extern const vg_test vg_suite_nn_onnx_msq[];
extern const vg_test vg_suite_nn_onnx_convt[];
extern const vg_test vg_suite_nn_shuffle[];
extern const vg_test vg_suite_nn_intops[];

static const vg_test *const vg_all_suites[] = {
	vg_suite_nn_graph,
	vg_suite_nn_ref,
	vg_suite_nn_ops,
	vg_suite_nn_tflite,
	vg_suite_nn_tflite_ops,
	vg_suite_nn_shape,
	vg_suite_nn_tfjs,
	vg_suite_nn_tf_ops,
	vg_suite_nn_pose_ops,
	vg_suite_nn_pb,
	vg_suite_nn_keras,
	vg_suite_nn_tensor_bundle,
	vg_suite_nn_savedmodel,
	vg_suite_nn_graphdef,
	vg_suite_nn_onnx_ops,
	vg_suite_nn_onnx,
	vg_suite_nn_fast_ops,
	vg_suite_nn_resize_pad,
	vg_suite_nn_nms,
	vg_suite_nn_tflite_nms,
	vg_suite_nn_qonnx,
	vg_suite_nn_onnx_convt,
	vg_suite_nn_shuffle,
	vg_suite_nn_intops,
	vg_suite_nn_onnx_msq,
	NULL,
};

#endif
