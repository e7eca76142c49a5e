#ifndef NN_REF_QUANT_H
#define NN_REF_QUANT_H

/*
 * Internal to the reference kernels (src/nn/ref/): quantization arithmetic,
 * float16 conversion, element access by dtype, and the small helpers every
 * kernel file shares (tensor lookup, shape checks, error messages). Nothing
 * here is part of the engine's public interface.
 */

#include <stddef.h>
#include <stdint.h>

#include "nn/graph.h"

/* float16 (IEEE 754 binary16) <-> float32. The conversion to float16 rounds to nearest even. */
float nn_ref_f16_to_f32(uint16_t h);
uint16_t nn_ref_f32_to_f16(float f);

/* The integer range of a quantized dtype (uint8, int8, int16, int32); 0 for any other dtype. */
int nn_ref_dtype_range(nn_dtype t, int32_t *qmin, int32_t *qmax);

/*
 * real -> q: zero_point + round(real / scale), rounding half away from zero as
 * TensorFlow Lite does, clamped to [qmin, qmax]. NaN maps to the zero point.
 */
int32_t nn_ref_quantize_value(double real, float scale, int32_t zero_point, int32_t qmin, int32_t qmax);

/* q -> real: scale * (q - zero_point). */
static inline float nn_ref_dequantize_value(int32_t q, float scale, int32_t zero_point)
{
	return scale * (float)(q - zero_point);
}

/* An integer accumulator scaled by a real multiplier, rounded, offset and clamped: quantized conv's last step. */
int32_t nn_ref_requantize(int64_t acc, double multiplier, int32_t zero_point, int32_t qmin, int32_t qmax);

/* The real-valued range a fused activation clamps to (-INFINITY/INFINITY when unbounded). */
void nn_ref_act_range(nn_activation act, float *lo, float *hi);

/*
 * The quantized range of an output of dtype t with the given scale and zero
 * point after a fused activation: the dtype's range intersected with the
 * quantized activation bounds, as TensorFlow Lite computes it.
 */
void nn_ref_act_range_q(nn_activation act, nn_dtype t, float scale, int32_t zero_point, int32_t *qmin,
			int32_t *qmax);

/* Per-channel quantization lookups: channel c's scale and zero point (or the per-tensor ones). */
float nn_ref_scale(const nn_tensor *t, int c);
int32_t nn_ref_zero_point(const nn_tensor *t, int c);

/*
 * Element access by dtype: element i of t as a real number (quantized types
 * dequantized with their per-tensor parameters, float16 widened), and the
 * reverse (quantized with rounding and clamping to the dtype). Only for
 * per-tensor quantization; the kernels check that before calling these.
 */
float nn_ref_read(const nn_tensor *t, size_t i);
void nn_ref_write(nn_tensor *t, size_t i, float v);

/* Element i of an integer or bool tensor (int8..int64, uint8, bool) as an int64, raw (quantization ignored). */
static inline int64_t nn_ref_load_int(const nn_tensor *t, size_t i)
{
	switch (t->dtype) {
	case NN_U8:
		return ((const uint8_t *)t->data)[i];
	case NN_I8:
		return ((const int8_t *)t->data)[i];
	case NN_I16:
		return ((const int16_t *)t->data)[i];
	case NN_I32:
		return ((const int32_t *)t->data)[i];
	case NN_I64:
		return ((const int64_t *)t->data)[i];
	case NN_BOOL:
		return ((const uint8_t *)t->data)[i] != 0;
	default:
		return 0;
	}
}

/* Raw integer access to quantized (uint8, int8, int16, int32) data, for kernels that compute on the integers. */
static inline int32_t nn_ref_load_q(const nn_tensor *t, size_t i)
{
	return (int32_t)nn_ref_load_int(t, i);
}

static inline void nn_ref_store_q(nn_tensor *t, size_t i, int32_t q)
{
	switch (t->dtype) {
	case NN_U8:
		((uint8_t *)t->data)[i] = (uint8_t)q;
		break;
	case NN_I8:
		((int8_t *)t->data)[i] = (int8_t)q;
		break;
	case NN_I16:
		((int16_t *)t->data)[i] = (int16_t)q;
		break;
	case NN_I32:
		((int32_t *)t->data)[i] = q;
		break;
	default:
		break;
	}
}

/* Whether a and b hold the same kind of numbers: same dtype and, when quantized, the same scale and zero point. */
int nn_ref_same_encoding(const nn_tensor *a, const nn_tensor *b);

/*
 * Checks shared by the kernels' supports functions. Each returns 1 when the
 * tensor is acceptable, else 0 with the reason written to why.
 * nn_ref_check_quant: when t is uint8/int8/int16, it has per-tensor (or, with
 * per_channel, per-channel) quantization with finite positive scales and
 * zero points inside the dtype's range.
 */
int nn_ref_check_quant(const nn_node *n, const nn_tensor *t, const char *role, int per_channel, char *why,
		       size_t whylen);

/* Tensor i of node n's inputs or outputs, or NULL when absent (-1) or out of the graph's range. */
const nn_tensor *nn_ref_input(const nn_graph *g, const nn_node *n, int i);
nn_tensor *nn_ref_output(const nn_graph *g, const nn_node *n, int i);

/* Number of elements of t, or -1 when its rank or a dimension is invalid or the count overflows. */
int64_t nn_ref_elements(const nn_tensor *t);

/* Whether a and b have the same rank and dimensions. */
int nn_ref_same_shape(const nn_tensor *a, const nn_tensor *b);

/*
 * Sliding-window geometry along one spatial axis, shared by convolutions and
 * pools: the output size TensorFlow computes for an input of size in, a
 * window of k taps dilation apart and the given padding (pad_before and
 * pad_after are used for NN_PADDING_EXPLICIT), and the padding before the
 * first tap. For SAME the padding derives from out_for_pad, the output size
 * actually used; TensorFlow puts the odd pixel after. Returns 0, or -1 when
 * the parameters give no valid output.
 */
int nn_ref_window(nn_padding padding, int in, int k, int stride, int dilation, int pad_before, int pad_after,
		  int *out);
int nn_ref_window_pad(nn_padding padding, int in, int k, int stride, int dilation, int pad_before,
		      int out_for_pad);

/* Writes t's shape as "[1,2,3]" into buf (at least 80 bytes), for messages; returns buf. */
#define NN_REF_SHAPE_BUF 80

/*
 * The geometry of a reduction (MEAN, REDUCE_*): which input dimensions
 * are kept and which reduced, with their strides. Output element o is
 * the reduction of the red_count input elements at kept offsets (its
 * kept index, row-major over kept_dim) plus every reduced offset.
 */
typedef struct nn_ref_reduce_plan {
	size_t stride[NN_MAX_RANK];         /* the input's element strides */
	int kept_dim[NN_MAX_RANK], nk;
	int red_dim[NN_MAX_RANK], nr;
	size_t red_count, out_count;
} nn_ref_reduce_plan;

/*
 * Plans a reduction node: axes from p.reduce (repeated ones count once,
 * negative ones from the end), or, with none there, from an int32 second
 * input holding data (TFLite keeps them there); keep_dims or not, the
 * output must hold the kept dimensions in order (only dimensions of 1 may
 * come and go). 1, or 0 with why.
 */
int nn_ref_reduce_plan_of(const nn_graph *g, const nn_node *n, nn_ref_reduce_plan *p, char *why, size_t whylen);
const char *nn_ref_shape_str(const nn_tensor *t, char *buf);

/*
 * Writes "OP 'node': message" into err (when err is not NULL) and returns
 * code, so kernels can write `return nn_ref_fail(...)`.
 */
#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
int nn_ref_fail(char *err, size_t errlen, const nn_node *n, int code, const char *fmt, ...);

/*
 * The per-file entry points ref.c dispatches to. supports: 1 or 0 with the
 * reason in why. run: called only after supports accepted the node and every
 * input and output has data; checks shapes, then computes.
 */
int nn_ref_conv_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen);
int nn_ref_conv_run(nn_graph *g, const nn_node *n, char *err, size_t errlen);
int nn_ref_fc_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen);
int nn_ref_fc_run(nn_graph *g, const nn_node *n, char *err, size_t errlen);
int nn_ref_pool_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen);
int nn_ref_pool_run(nn_graph *g, const nn_node *n, char *err, size_t errlen);
int nn_ref_elementwise_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen);
int nn_ref_elementwise_run(nn_graph *g, const nn_node *n, char *err, size_t errlen);
int nn_ref_tensor_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen);
int nn_ref_tensor_run(nn_graph *g, const nn_node *n, char *err, size_t errlen);
int nn_ref_quant_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen);
int nn_ref_quant_run(nn_graph *g, const nn_node *n, char *err, size_t errlen);
int nn_ref_detpp_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen);
int nn_ref_detpp_run(nn_graph *g, const nn_node *n, char *err, size_t errlen);
/* Indexing, layout and integer ops (ref/shape.c): TRANSPOSE ... SPARSE_TO_DENSE. */
int nn_ref_shape_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen);
int nn_ref_shape_run(nn_graph *g, const nn_node *n, char *err, size_t errlen);

#endif
