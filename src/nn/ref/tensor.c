/*
 * Ops that move, reduce or resample data: CONCATENATION, RESHAPE, PAD, MEAN,
 * SOFTMAX, RESIZE_BILINEAR, RESIZE_NEAREST and RESIZE_CUBIC, in float32 and
 * uint8/int8 (RESHAPE copies any dtype; plain integers are index_ops.c's).
 * RESIZE_* follows TensorFlow Lite's rules with NN_RESIZE_TF and ONNX
 * Resize's (resize_pad.c) with the others; PAD's reflect and edge modes are
 * resize_pad.c's too. Where
 * quantization parameters differ between input and output, values go through their real value and are requantized.
 */
#include <math.h>
#include <string.h>

#include "nn/ref/quant.h"
#include "nn/ref/resize_pad.h"

static int is_f32_or_q8(nn_dtype t)
{
	return t == NN_F32 || t == NN_U8 || t == NN_I8;
}

/* PAD's own conditions; any dtype pads that the input and output encode alike (ONNX pads int32 and int64 too). */
static int pad_supports(const nn_node *n, const nn_tensor *in, const nn_tensor *out, char *why, size_t whylen)
{
	for (int d = 0; d < NN_MAX_RANK; d++)
		if (n->p.pad.pads[d][0] < 0 || n->p.pad.pads[d][1] < 0)
			return nn_ref_fail(why, whylen, n, 0, "negative padding (cropping) is not supported");
	if ((unsigned)n->p.pad.mode > NN_PAD_EDGE)
		return nn_ref_fail(why, whylen, n, 0, "unknown pad mode %d", (int)n->p.pad.mode);
	if (!isfinite(n->p.pad.value) && in->dtype != NN_F32 && in->dtype != NN_F16)
		return nn_ref_fail(why, whylen, n, 0, "a pad value that is not finite in %s elements",
				   nn_dtype_name(in->dtype));
	if (n->p.pad.mode != NN_PAD_CONSTANT && nn_ref_elements(in) <= 0 && nn_ref_elements(out) > 0)
		return nn_ref_fail(why, whylen, n, 0, "reflect or edge padding of an empty tensor");
	return 1;
}

/* Plain (unquantized) integers and float16, which PAD copies as they are and fills with its value. */
static int is_plain_other(const nn_tensor *t)
{
	return t->quant.count == 0 && (t->dtype == NN_F16 || t->dtype == NN_I16 || t->dtype == NN_I32 ||
				       t->dtype == NN_I64 || ((t->dtype == NN_U8 || t->dtype == NN_I8)));
}

int nn_ref_tensor_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen)
{
	const nn_tensor *in = nn_ref_input(g, n, 0);
	const nn_tensor *out = n->n_outputs == 1 ? nn_ref_output(g, n, 0) : NULL;
	if (!in || !out)
		return nn_ref_fail(why, whylen, n, 0, "expects an input and one output");

	if (n->op == NN_OP_RESHAPE) {
		if (out->dtype != in->dtype)
			return nn_ref_fail(why, whylen, n, 0, "%s output with %s input is not supported",
					   nn_dtype_name(out->dtype), nn_dtype_name(in->dtype));
		if (!nn_ref_same_encoding(in, out) && !is_f32_or_q8(in->dtype))
			return nn_ref_fail(why, whylen, n, 0, "requantizing %s is not supported",
					   nn_dtype_name(in->dtype));
		return nn_ref_check_quant(n, in, "input", 0, why, whylen) &&
		       nn_ref_check_quant(n, out, "output", 0, why, whylen);
	}

	if (n->op == NN_OP_PAD && in->dtype != NN_F32 && is_plain_other(in) && is_plain_other(out) &&
	    in->dtype == out->dtype)
		return pad_supports(n, in, out, why, whylen);
	if (!is_f32_or_q8(in->dtype))
		return nn_ref_fail(why, whylen, n, 0, "%s input is not supported", nn_dtype_name(in->dtype));
	if (out->dtype != in->dtype)
		return nn_ref_fail(why, whylen, n, 0, "%s output with %s input is not supported",
				   nn_dtype_name(out->dtype), nn_dtype_name(in->dtype));
	if (!nn_ref_check_quant(n, out, "output", 0, why, whylen))
		return 0;

	switch (n->op) {
	case NN_OP_CONCATENATION:
		if ((unsigned)n->p.concat.act > NN_ACT_RELU_N1_TO_1)
			return nn_ref_fail(why, whylen, n, 0, "unknown fused activation %d", (int)n->p.concat.act);
		for (int i = 0; i < n->n_inputs; i++) {
			const nn_tensor *t = nn_ref_input(g, n, i);
			if (!t)
				return nn_ref_fail(why, whylen, n, 0, "input %d is missing", i);
			if (t->dtype != in->dtype)
				return nn_ref_fail(why, whylen, n, 0, "mixed %s and %s inputs are not supported",
						   nn_dtype_name(in->dtype), nn_dtype_name(t->dtype));
			if (!nn_ref_check_quant(n, t, "input", 0, why, whylen))
				return 0;
		}
		return 1;
	case NN_OP_PAD:
		if (!pad_supports(n, in, out, why, whylen))
			return 0;
		break;
	case NN_OP_RESIZE_BILINEAR:
	case NN_OP_RESIZE_NEAREST:
	case NN_OP_RESIZE_CUBIC:
		if ((unsigned)n->p.resize.coord > NN_RESIZE_TF_CROP_AND_RESIZE)
			return nn_ref_fail(why, whylen, n, 0, "unknown coordinate mode %d", (int)n->p.resize.coord);
		if ((unsigned)n->p.resize.nearest > NN_NEAREST_CEIL)
			return nn_ref_fail(why, whylen, n, 0, "unknown nearest mode %d", (int)n->p.resize.nearest);
		if (n->op == NN_OP_RESIZE_NEAREST && n->p.resize.coord == NN_RESIZE_TF &&
		    n->p.resize.nearest != NN_NEAREST_TF)
			return nn_ref_fail(why, whylen, n, 0,
					   "an ONNX nearest mode with TensorFlow's coordinates (set an ONNX coordinate mode)");
		if (n->op == NN_OP_RESIZE_BILINEAR && n->p.resize.coord == NN_RESIZE_TF && n->p.resize.align_corners &&
		    n->p.resize.half_pixel_centers)
			return nn_ref_fail(why, whylen, n, 0,
					   "align_corners and half_pixel_centers cannot both be set");
		if (n->p.resize.coord == NN_RESIZE_TF && (n->op == NN_OP_RESIZE_CUBIC || n->p.resize.scale_h > 0 ||
							   n->p.resize.scale_w > 0))
			return nn_ref_fail(why, whylen, n, 0, "cubic or explicit scales with TensorFlow's coordinates");
		if (!(n->p.resize.scale_h >= 0) || !(n->p.resize.scale_w >= 0) || !isfinite(n->p.resize.scale_h) ||
		    !isfinite(n->p.resize.scale_w))
			return nn_ref_fail(why, whylen, n, 0, "scales %g, %g", (double)n->p.resize.scale_h,
					   (double)n->p.resize.scale_w);
		break;
	case NN_OP_SOFTMAX:
		if (!isfinite(n->p.softmax.beta))
			return nn_ref_fail(why, whylen, n, 0, "beta %g is not finite", (double)n->p.softmax.beta);
		break;
	default:
		break;
	}
	return nn_ref_check_quant(n, in, "input", 0, why, whylen);
}

/* Copies count elements, converting through real values unless both tensors encode them alike. */
static void copy_elements(nn_tensor *dst, size_t di, const nn_tensor *src, size_t si, size_t count, int same)
{
	if (same) {
		size_t size = nn_dtype_size(src->dtype);
		memmove((char *)dst->data + di * size, (const char *)src->data + si * size, count * size);
		return;
	}
	for (size_t k = 0; k < count; k++)
		nn_ref_write(dst, di + k, nn_ref_read(src, si + k));
}

static int concat_run(nn_graph *g, const nn_node *n, char *err, size_t errlen)
{
	nn_tensor *out = nn_ref_output(g, n, 0);
	char a[NN_REF_SHAPE_BUF], b[NN_REF_SHAPE_BUF];
	int rank = out->rank;
	int axis = n->p.concat.axis < 0 ? n->p.concat.axis + rank : n->p.concat.axis;
	if (axis < 0 || axis >= rank)
		return nn_ref_fail(err, errlen, n, NN_ERR_SHAPE, "axis %d is outside output %s", n->p.concat.axis,
				   nn_ref_shape_str(out, a));
	int64_t axis_total = 0;
	for (int i = 0; i < n->n_inputs; i++) {
		const nn_tensor *t = nn_ref_input(g, n, i);
		int fits = t->rank == rank;
		for (int d = 0; fits && d < rank; d++)
			fits = d == axis || t->shape[d] == out->shape[d];
		if (!fits)
			return nn_ref_fail(err, errlen, n, NN_ERR_SHAPE,
					   "input %d %s does not match output %s outside axis %d", i,
					   nn_ref_shape_str(t, a), nn_ref_shape_str(out, b), axis);
		axis_total += t->shape[axis];
	}
	if (axis_total != out->shape[axis])
		return nn_ref_fail(err, errlen, n, NN_ERR_SHAPE, "inputs sum to %lld along axis %d, output %s has %d",
				   (long long)axis_total, axis, nn_ref_shape_str(out, a), out->shape[axis]);

	size_t outer = 1, inner = 1;
	for (int d = 0; d < axis; d++)
		outer *= (size_t)out->shape[d];
	for (int d = axis + 1; d < rank; d++)
		inner *= (size_t)out->shape[d];
	nn_activation act = n->p.concat.act;
	float lo, hi;
	nn_ref_act_range(act, &lo, &hi);
	size_t o_i = 0;
	for (size_t o = 0; o < outer; o++)
		for (int i = 0; i < n->n_inputs; i++) {
			const nn_tensor *t = nn_ref_input(g, n, i);
			size_t chunk = (size_t)t->shape[axis] * inner;
			if (act == NN_ACT_NONE) {
				copy_elements(out, o_i, t, o * chunk, chunk, nn_ref_same_encoding(t, out));
			} else {
				for (size_t k = 0; k < chunk; k++) {
					float v = nn_ref_read(t, o * chunk + k);
					nn_ref_write(out, o_i + k, v < lo ? lo : v > hi ? hi : v);
				}
			}
			o_i += chunk;
		}
	return NN_OK;
}

static int reshape_run(nn_graph *g, const nn_node *n, char *err, size_t errlen)
{
	const nn_tensor *in = nn_ref_input(g, n, 0);
	nn_tensor *out = nn_ref_output(g, n, 0);
	if (nn_ref_elements(in) != nn_ref_elements(out)) {
		char a[NN_REF_SHAPE_BUF], b[NN_REF_SHAPE_BUF];
		return nn_ref_fail(err, errlen, n, NN_ERR_SHAPE, "input %s and output %s differ in size",
				   nn_ref_shape_str(in, a), nn_ref_shape_str(out, b));
	}
	/* The executor gives a RESHAPE that changes no value its input's bytes: nothing to copy then. */
	if (out->data != in->data)
		copy_elements(out, 0, in, 0, (size_t)nn_ref_elements(in), nn_ref_same_encoding(in, out));
	return NN_OK;
}

static int pad_run(nn_graph *g, const nn_node *n, char *err, size_t errlen)
{
	const nn_tensor *in = nn_ref_input(g, n, 0);
	nn_tensor *out = nn_ref_output(g, n, 0);
	int rank = in->rank;
	char a[NN_REF_SHAPE_BUF], b[NN_REF_SHAPE_BUF];
	int fits = out->rank == rank;
	for (int d = 0; fits && d < rank; d++)
		fits = (int64_t)in->shape[d] + n->p.pad.pads[d][0] + n->p.pad.pads[d][1] == out->shape[d];
	if (!fits)
		return nn_ref_fail(err, errlen, n, NN_ERR_SHAPE, "output %s is not input %s with the padding added",
				   nn_ref_shape_str(out, a), nn_ref_shape_str(in, b));

	if (n->p.pad.mode != NN_PAD_CONSTANT) {
		nn_ref_pad_from_input(n, in, out);
		return NN_OK;
	}
	/* The padding value is in real units: 0 is the output's zero point when quantized. */
	size_t out_count = (size_t)nn_ref_elements(out);
	for (size_t i = 0; i < out_count; i++)
		nn_ref_write(out, i, n->p.pad.value);
	size_t in_count = (size_t)nn_ref_elements(in);
	if (in_count == 0)
		return NN_OK;
	if (rank == 0) {
		copy_elements(out, 0, in, 0, 1, nn_ref_same_encoding(in, out));
		return NN_OK;
	}

	/* Copy the input row by row (rows along the last dimension), each to its place inside the padding. */
	size_t out_stride[NN_MAX_RANK];
	out_stride[rank - 1] = 1;
	for (int d = rank - 2; d >= 0; d--)
		out_stride[d] = out_stride[d + 1] * (size_t)out->shape[d + 1];
	size_t row = (size_t)in->shape[rank - 1];
	int same = nn_ref_same_encoding(in, out);
	int index[NN_MAX_RANK] = { 0 };
	for (size_t si = 0; si < in_count; si += row) {
		size_t di = 0;
		for (int d = 0; d < rank; d++)
			di += ((size_t)index[d] + (size_t)n->p.pad.pads[d][0]) * out_stride[d];
		copy_elements(out, di, in, si, row, same);
		for (int d = rank - 2; d >= 0; d--) {
			if (++index[d] < in->shape[d])
				break;
			index[d] = 0;
		}
	}
	return NN_OK;
}

static int mean_run(nn_graph *g, const nn_node *n, char *err, size_t errlen)
{
	const nn_tensor *in = nn_ref_input(g, n, 0);
	nn_tensor *out = nn_ref_output(g, n, 0);
	nn_ref_reduce_plan p;
	if (!nn_ref_reduce_plan_of(g, n, &p, err, errlen))
		return NN_ERR_SHAPE;
	/* Two odometers: one over the kept dimensions (one output element each), one over the reduced. */
	int ki[NN_MAX_RANK] = { 0 };
	for (size_t o = 0; o < p.out_count; o++) {
		size_t base = 0;
		for (int k = 0; k < p.nk; k++)
			base += (size_t)ki[k] * p.stride[p.kept_dim[k]];
		double sum = 0.0;
		int ri[NN_MAX_RANK] = { 0 };
		for (size_t r = 0; r < p.red_count; r++) {
			size_t off = base;
			for (int k = 0; k < p.nr; k++)
				off += (size_t)ri[k] * p.stride[p.red_dim[k]];
			sum += nn_ref_read(in, off);
			for (int k = p.nr - 1; k >= 0; k--) {
				if (++ri[k] < in->shape[p.red_dim[k]])
					break;
				ri[k] = 0;
			}
		}
		nn_ref_write(out, o, p.red_count ? (float)(sum / (double)p.red_count) : 0.0f);
		for (int k = p.nk - 1; k >= 0; k--) {
			if (++ki[k] < in->shape[p.kept_dim[k]])
				break;
			ki[k] = 0;
		}
	}
	return NN_OK;
}

static int softmax_run(nn_graph *g, const nn_node *n, char *err, size_t errlen)
{
	const nn_tensor *in = nn_ref_input(g, n, 0);
	nn_tensor *out = nn_ref_output(g, n, 0);
	if (!nn_ref_same_shape(in, out) || in->rank < 1) {
		char a[NN_REF_SHAPE_BUF], b[NN_REF_SHAPE_BUF];
		return nn_ref_fail(err, errlen, n, NN_ERR_SHAPE, "input %s and output %s differ or are scalars",
				   nn_ref_shape_str(in, a), nn_ref_shape_str(out, b));
	}
	size_t depth = (size_t)in->shape[in->rank - 1];
	size_t count = (size_t)nn_ref_elements(in);
	double beta = n->p.softmax.beta;
	if ((in->dtype == NN_I8 || in->dtype == NN_U8) && in->quant.count == 1 && beta > 0 && in->quant.scale[0] > 0) {
		/*
		 * 8-bit input: a value's distance to its row's largest is one of
		 * 256 steps, so exp() is taken 256 times per node instead of twice
		 * per element (YOLOv8's int8 DFL softmax has half a million).
		 */
		double table[256];
		for (int d = 0; d < 256; d++)
			table[d] = exp(-beta * (double)in->quant.scale[0] * d);
		const int8_t *s8 = in->data;
		const uint8_t *u8 = in->data;
		int is_signed = in->dtype == NN_I8;
		for (size_t row = 0; depth && row < count; row += depth) {
			int max = is_signed ? s8[row] : u8[row];
			for (size_t k = 1; k < depth; k++) {
				int v = is_signed ? s8[row + k] : u8[row + k];
				max = v > max ? v : max;
			}
			double sum = 0.0;
			for (size_t k = 0; k < depth; k++)
				sum += table[max - (is_signed ? s8[row + k] : u8[row + k])];
			for (size_t k = 0; k < depth; k++)
				nn_ref_write(out, row + k, (float)(table[max - (is_signed ? s8[row + k] : u8[row + k])] / sum));
		}
		return NN_OK;
	}
	for (size_t row = 0; depth && row < count; row += depth) {
		/* Subtracting the largest beta * logit keeps exp() from overflowing and changes nothing. */
		double max = beta * nn_ref_read(in, row);
		for (size_t k = 1; k < depth; k++) {
			double v = beta * nn_ref_read(in, row + k);
			max = v > max ? v : max;
		}
		double sum = 0.0;
		for (size_t k = 0; k < depth; k++)
			sum += exp(beta * nn_ref_read(in, row + k) - max);
		for (size_t k = 0; k < depth; k++)
			nn_ref_write(out, row + k, (float)(exp(beta * nn_ref_read(in, row + k) - max) / sum));
	}
	return NN_OK;
}

/* TFLite's source coordinate for nearest-neighbour resizing (reference_ops GetNearestNeighbor). */
static int nearest_source(int o, int in_size, int out_size, int align_corners, int half_pixel_centers)
{
	float scale = (align_corners && out_size > 1) ? (float)(in_size - 1) / (float)(out_size - 1)
						     : (float)in_size / (float)out_size;
	float offset = half_pixel_centers ? 0.5f : 0.0f;
	float src = ((float)o + offset) * scale;
	int i = align_corners ? (int)roundf(src) : (int)floorf(src);
	if (i > in_size - 1)
		i = in_size - 1;
	if (i < 0)
		i = 0;
	return i;
}

/* TFLite's bilinear source coordinate and its two neighbours (reference_ops ComputeInterpolationValues). */
static void bilinear_source(int o, float scale, int half_pixel_centers, int in_size, float *src, int *lo, int *hi)
{
	*src = half_pixel_centers ? ((float)o + 0.5f) * scale - 0.5f : (float)o * scale;
	int floor_i = (int)floorf(*src), ceil_i = (int)ceilf(*src);
	*lo = floor_i < 0 ? 0 : floor_i > in_size - 1 ? in_size - 1 : floor_i;
	*hi = ceil_i > in_size - 1 ? in_size - 1 : ceil_i < 0 ? 0 : ceil_i;
}

static int resize_run(nn_graph *g, const nn_node *n, char *err, size_t errlen)
{
	const nn_tensor *in = nn_ref_input(g, n, 0);
	nn_tensor *out = nn_ref_output(g, n, 0);
	char a[NN_REF_SHAPE_BUF], b[NN_REF_SHAPE_BUF];
	if (in->rank != 4 || out->rank != 4 || out->shape[0] != in->shape[0] || out->shape[3] != in->shape[3] ||
	    ((in->shape[1] < 1 || in->shape[2] < 1) && nn_ref_elements(out) > 0))
		return nn_ref_fail(err, errlen, n, NN_ERR_SHAPE, "cannot resize %s to %s", nn_ref_shape_str(in, a),
				   nn_ref_shape_str(out, b));
	if (n->p.resize.coord != NN_RESIZE_TF || n->op == NN_OP_RESIZE_CUBIC)
		return nn_ref_resize_onnx(n, in, out, err, errlen);
	int batch = in->shape[0], in_h = in->shape[1], in_w = in->shape[2], channels = in->shape[3];
	int out_h = out->shape[1], out_w = out->shape[2];
	int align = n->p.resize.align_corners, half = n->p.resize.half_pixel_centers;
	int same = nn_ref_same_encoding(in, out);
#define IN_AT(bb, yy, xx, cc) ((((size_t)(bb) * in_h + (yy)) * in_w + (xx)) * channels + (cc))

	if (n->op == NN_OP_RESIZE_NEAREST) {
		size_t o_i = 0;
		for (int bi = 0; bi < batch; bi++)
			for (int y = 0; y < out_h; y++) {
				int sy = nearest_source(y, in_h, out_h, align, half);
				for (int x = 0; x < out_w; x++, o_i += (size_t)channels) {
					int sx = nearest_source(x, in_w, out_w, align, half);
					copy_elements(out, o_i, in, IN_AT(bi, sy, sx, 0), (size_t)channels, same);
				}
			}
		return NN_OK;
	}

	float scale_h = (float)in_h / (float)out_h, scale_w = (float)in_w / (float)out_w;
	if (align && out_h > 1)
		scale_h = (float)(in_h - 1) / (float)(out_h - 1);
	if (align && out_w > 1)
		scale_w = (float)(in_w - 1) / (float)(out_w - 1);
	/*
	 * Quantized tensors with the same parameters in and out interpolate the
	 * integers and round half up, as TFLite's reference does.
	 */
	int integer_path = same && in->dtype != NN_F32;
	int32_t qmin, qmax;
	nn_ref_dtype_range(out->dtype, &qmin, &qmax);
	size_t o_i = 0;
	for (int bi = 0; bi < batch; bi++)
		for (int y = 0; y < out_h; y++) {
			float sy;
			int y0, y1;
			bilinear_source(y, scale_h, half, in_h, &sy, &y0, &y1);
			float dy = sy - (float)y0;
			for (int x = 0; x < out_w; x++) {
				float sx;
				int x0, x1;
				bilinear_source(x, scale_w, half, in_w, &sx, &x0, &x1);
				float dx = sx - (float)x0;
				for (int c = 0; c < channels; c++, o_i++) {
					float v00, v10, v01, v11;
					if (integer_path) {
						v00 = (float)nn_ref_load_q(in, IN_AT(bi, y0, x0, c));
						v10 = (float)nn_ref_load_q(in, IN_AT(bi, y1, x0, c));
						v01 = (float)nn_ref_load_q(in, IN_AT(bi, y0, x1, c));
						v11 = (float)nn_ref_load_q(in, IN_AT(bi, y1, x1, c));
					} else {
						v00 = nn_ref_read(in, IN_AT(bi, y0, x0, c));
						v10 = nn_ref_read(in, IN_AT(bi, y1, x0, c));
						v01 = nn_ref_read(in, IN_AT(bi, y0, x1, c));
						v11 = nn_ref_read(in, IN_AT(bi, y1, x1, c));
					}
					/* TFLite's expression and order of evaluation, for the same float rounding. */
					float v = v00 * (1 - dy) * (1 - dx) + v10 * dy * (1 - dx) +
						  v01 * (1 - dy) * dx + v11 * dy * dx;
					if (integer_path) {
						float q = floorf(v + 0.5f);
						int32_t qi = q < qmin ? qmin : q > qmax ? qmax : (int32_t)q;
						nn_ref_store_q(out, o_i, qi);
					} else {
						nn_ref_write(out, o_i, v);
					}
				}
			}
		}
#undef IN_AT
	return NN_OK;
}

int nn_ref_tensor_run(nn_graph *g, const nn_node *n, char *err, size_t errlen)
{
	switch (n->op) {
	case NN_OP_CONCATENATION:
		return concat_run(g, n, err, errlen);
	case NN_OP_RESHAPE:
		return reshape_run(g, n, err, errlen);
	case NN_OP_PAD:
		return pad_run(g, n, err, errlen);
	case NN_OP_MEAN:
		return mean_run(g, n, err, errlen);
	case NN_OP_SOFTMAX:
		return softmax_run(g, n, err, errlen);
	case NN_OP_RESIZE_BILINEAR:
	case NN_OP_RESIZE_NEAREST:
	case NN_OP_RESIZE_CUBIC:
		return resize_run(g, n, err, errlen);
	default:
		return nn_ref_fail(err, errlen, n, NN_ERR_UNSUPPORTED, "not a tensor op");
	}
}
