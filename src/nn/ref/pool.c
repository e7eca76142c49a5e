/*
 * AVERAGE_POOL2D and MAX_POOL2D over NHWC, float32 and uint8/int8. As in
 * TensorFlow Lite, padded positions take no part: an average divides by the
 * number of input pixels actually under the window. ONNX adds dilated
 * windows and MAX_POOL2D's second output, the int64 index of each maximum
 * (the first in row-major order among equals, as ONNX Runtime picks).
 */
#include <math.h>

#include "nn/ref/quant.h"

int nn_ref_pool_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen)
{
	const nn_tensor *in = nn_ref_input(g, n, 0);
	int two = n->op == NN_OP_MAX_POOL2D && n->n_outputs == 2;
	const nn_tensor *out = n->n_outputs == 1 || two ? nn_ref_output(g, n, 0) : NULL;
	if (!in || !out)
		return nn_ref_fail(why, whylen, n, 0, "expects one input and one output (two for MAX_POOL2D)");
	const nn_pool_params *p = &n->p.pool;
	if (two) {
		const nn_tensor *idx = nn_ref_output(g, n, 1);
		if (!idx || idx->dtype != NN_I64 || !nn_ref_same_shape(idx, out))
			return nn_ref_fail(why, whylen, n, 0, "the indices output must be int64 of the output's shape");
	}
	if (p->dilation_h < 0 || p->dilation_w < 0)
		return nn_ref_fail(why, whylen, n, 0, "dilation %dx%d", p->dilation_h, p->dilation_w);
	if (p->filter_h < 1 || p->filter_w < 1 || p->stride_h < 1 || p->stride_w < 1)
		return nn_ref_fail(why, whylen, n, 0, "filter %dx%d with stride %dx%d is invalid", p->filter_h,
				   p->filter_w, p->stride_h, p->stride_w);
	if (p->padding != NN_PADDING_VALID && p->padding != NN_PADDING_SAME && p->padding != NN_PADDING_EXPLICIT)
		return nn_ref_fail(why, whylen, n, 0, "unknown padding %d", (int)p->padding);
	if ((unsigned)p->act > NN_ACT_RELU_N1_TO_1)
		return nn_ref_fail(why, whylen, n, 0, "unknown fused activation %d", (int)p->act);
	if (in->dtype != NN_F32 && in->dtype != NN_U8 && in->dtype != NN_I8)
		return nn_ref_fail(why, whylen, n, 0, "%s input is not supported", nn_dtype_name(in->dtype));
	if (out->dtype != in->dtype)
		return nn_ref_fail(why, whylen, n, 0, "%s output with %s input is not supported",
				   nn_dtype_name(out->dtype), nn_dtype_name(in->dtype));
	/* MAX_POOL2D also takes plain (unquantized) 8-bit integers, in and out alike (ONNX's uint8 MaxPool). */
	if (n->op == NN_OP_MAX_POOL2D && in->dtype != NN_F32 && !in->quant.count && !out->quant.count)
		return 1;
	return nn_ref_check_quant(n, in, "input", 0, why, whylen) &&
	       nn_ref_check_quant(n, out, "output", 0, why, whylen);
}

int nn_ref_pool_run(nn_graph *g, const nn_node *n, char *err, size_t errlen)
{
	const nn_tensor *input = nn_ref_input(g, n, 0);
	nn_tensor *output = nn_ref_output(g, n, 0);
	const nn_pool_params *p = &n->p.pool;
	char a[NN_REF_SHAPE_BUF], b[NN_REF_SHAPE_BUF];
	if (input->rank != 4 || output->rank != 4)
		return nn_ref_fail(err, errlen, n, NN_ERR_SHAPE, "input %s and output %s are not both NHWC",
				   nn_ref_shape_str(input, a), nn_ref_shape_str(output, b));
	int batch = input->shape[0], in_h = input->shape[1], in_w = input->shape[2], channels = input->shape[3];
	int out_h, out_w, dh = p->dilation_h > 1 ? p->dilation_h : 1, dw = p->dilation_w > 1 ? p->dilation_w : 1;
	int64_t *indices = n->n_outputs == 2 ? nn_ref_output(g, n, 1)->data : NULL;
	if (nn_ref_window(p->padding, in_h, p->filter_h, p->stride_h, dh, p->pad_top, p->pad_bottom, &out_h) < 0 ||
	    nn_ref_window(p->padding, in_w, p->filter_w, p->stride_w, dw, p->pad_left, p->pad_right, &out_w) < 0)
		return nn_ref_fail(err, errlen, n, NN_ERR_SHAPE, "a %dx%d window does not fit input %s", p->filter_h,
				   p->filter_w, nn_ref_shape_str(input, a));
	if (output->shape[0] != batch || output->shape[1] != out_h || output->shape[2] != out_w ||
	    output->shape[3] != channels)
		return nn_ref_fail(err, errlen, n, NN_ERR_SHAPE,
				   "output has shape %s, expected [%d,%d,%d,%d] from input %s",
				   nn_ref_shape_str(output, a), batch, out_h, out_w, channels,
				   nn_ref_shape_str(input, b));
	int pad_top = nn_ref_window_pad(p->padding, in_h, p->filter_h, p->stride_h, dh, p->pad_top, out_h);
	int pad_left = nn_ref_window_pad(p->padding, in_w, p->filter_w, p->stride_w, dw, p->pad_left, out_w);

	int is_max = n->op == NN_OP_MAX_POOL2D;
	int quantized = input->dtype != NN_F32;
	/*
	 * With the same quantization in and out (what TFLite requires) the
	 * quantized result is computed on the integers, rounding averages half
	 * away from zero as TFLite does; otherwise through real values.
	 */
	int integer_path = quantized && nn_ref_same_encoding(input, output);
	float lo, hi;
	nn_ref_act_range(p->act, &lo, &hi);
	int32_t qmin = 0, qmax = 0;
	if (quantized)
		nn_ref_act_range_q(p->act, output->dtype, nn_ref_scale(output, 0), nn_ref_zero_point(output, 0), &qmin,
				   &qmax);

	size_t o_i = 0;
	for (int bi = 0; bi < batch; bi++)
		for (int oy = 0; oy < out_h; oy++)
			for (int ox = 0; ox < out_w; ox++) {
				/* The window's taps (every dh-th row, dw-th column) that fall inside the input. */
				int64_t y0 = (int64_t)oy * p->stride_h - pad_top;
				int64_t x0 = (int64_t)ox * p->stride_w - pad_left;
				int64_t ky0 = y0 < 0 ? (-y0 + dh - 1) / dh : 0, kx0 = x0 < 0 ? (-x0 + dw - 1) / dw : 0;
				int64_t ky1 = (in_h - 1 - y0) / dh + 1, kx1 = (in_w - 1 - x0) / dw + 1;
				ky1 = y0 > in_h - 1 ? 0 : ky1 > p->filter_h ? p->filter_h : ky1;
				kx1 = x0 > in_w - 1 ? 0 : kx1 > p->filter_w ? p->filter_w : kx1;
				int64_t count = (ky1 > ky0 && kx1 > kx0) ? (ky1 - ky0) * (kx1 - kx0) : 0;
				for (int c = 0; c < channels; c++, o_i++) {
					double sum = 0.0, max = -INFINITY;
					int64_t qsum = 0, arg = -1;
					int32_t qmax_seen = INT32_MIN;
					for (int64_t ky = ky0; ky < ky1; ky++)
						for (int64_t kx = kx0; kx < kx1; kx++) {
							int64_t y = y0 + ky * dh, x = x0 + kx * dw;
							size_t row = (size_t)bi * in_h + (size_t)y;
							size_t i = (row * in_w + (size_t)x) * channels + c;
							int better;
							if (integer_path) {
								int32_t q = nn_ref_load_q(input, i);
								qsum += q;
								better = q > qmax_seen;
								qmax_seen = better ? q : qmax_seen;
							} else {
								double v = nn_ref_read(input, i);
								sum += v;
								better = v > max || arg < 0;
								max = v > max ? v : max;
							}
							if (better && indices)
								arg = ((int64_t)bi * channels + c) * in_h * in_w +
								      (p->indices_col_major ? y + x * in_h : y * in_w + x);
						}
					if (indices)
						indices[o_i] = arg < 0 ? 0 : arg;
					if (integer_path) {
						int32_t q;
						if (count == 0)
							q = nn_ref_zero_point(output, 0);
						else if (is_max)
							q = qmax_seen;
						else
							q = (int32_t)(qsum >= 0 ? (qsum + count / 2) / count
										: (qsum - count / 2) / count);
						nn_ref_store_q(output, o_i, q < qmin ? qmin : q > qmax ? qmax : q);
						continue;
					}
					/* A window wholly in the padding (explicit padding only) gives 0. */
					float v = count == 0 ? 0.0f : (float)(is_max ? max : sum / (double)count);
					nn_ref_write(output, o_i, v < lo ? lo : v > hi ? hi : v);
				}
			}
	return NN_OK;
}
