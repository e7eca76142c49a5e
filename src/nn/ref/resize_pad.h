/*
 * ONNX Resize (every coordinate_transformation_mode, nearest_mode, linear and
 * cubic interpolation, explicit scales, tf_crop_and_resize's box and
 * extrapolation value) and ONNX Pad's reflect and edge modes, for the
 * reference kernels in tensor.c. Both follow ONNX Runtime's CPU kernels.
 */
#ifndef VIGIL_NN_REF_RESIZE_PAD_H
#define VIGIL_NN_REF_RESIZE_PAD_H

#include "nn/ref/quant.h"

/*
 * RESIZE_NEAREST, RESIZE_BILINEAR or RESIZE_CUBIC of an NHWC tensor with a
 * coordinate mode other than NN_RESIZE_TF. NN_OK, or NN_ERR_NOMEM with err.
 */
int nn_ref_resize_onnx(const nn_node *n, const nn_tensor *in, nn_tensor *out, char *err, size_t errlen);

/* PAD with mode reflect or edge: every output element from its mirrored or clamped input element. */
void nn_ref_pad_from_input(const nn_node *n, const nn_tensor *in, nn_tensor *out);

#endif
