/*
 * Reductions and data movement of ONNX graphs:
 * - REDUCE_MAX, REDUCE_MIN, REDUCE_SUM: p.reduce as MEAN (axes, repeated
 *   ones counted once; keep_dims or not, the output holds the kept
 *   dimensions in order). float32, int32, int64; MAX and MIN also uint8/int8
 *   with one encoding in and out (raw values order as real ones). NaN
 *   propagates through MAX and MIN as NumPy's does; an empty reduction gives
 *   the identity (0, or -inf/+inf, the integer type's limits).
 * - TILE, BROADCAST_TO, GATHER_ELEMENTS, SPACE_TO_DEPTH move elements as
 *   bytes, so they take any dtype; a quantized output shares its input's
 *   encoding. TILE and BROADCAST_TO may keep the loader's repeats/shape
 *   tensor as a second input, which they ignore: the output's shape says it.
 * - GATHER_ELEMENTS: an index outside [-dim, dim) is an error at run time
 *   naming the node, the index and the element.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nn/ref/onnx_ops.h"
#include "nn/ref/quant.h"

static int io_ok(const nn_graph *g, const nn_node *n, int min_in, int max_in, char *why, size_t whylen)
{
	char buf[NN_REF_SHAPE_BUF];
	if (n->n_inputs < min_in || n->n_inputs > max_in || n->n_outputs != 1)
		return nn_ref_fail(why, whylen, n, 0, "has %d inputs and %d outputs, expected %d%s and 1", n->n_inputs,
				   n->n_outputs, min_in, max_in > min_in ? " or more" : "");
	for (int i = 0; i < min_in; i++) {
		const nn_tensor *t = nn_ref_input(g, n, i);
		if (!t)
			return nn_ref_fail(why, whylen, n, 0, "input %d is missing", i);
		if (nn_dtype_size(t->dtype) == 0 || nn_ref_elements(t) < 0)
			return nn_ref_fail(why, whylen, n, 0, "input %d has an unknown dtype or invalid shape %s", i,
					   nn_ref_shape_str(t, buf));
	}
	const nn_tensor *out = nn_ref_output(g, n, 0);
	if (!out || nn_dtype_size(out->dtype) == 0 || nn_ref_elements(out) < 0)
		return nn_ref_fail(why, whylen, n, 0, "output is missing or has an unknown dtype or invalid shape");
	return 1;
}

/* For the byte-moving ops: output of the input's dtype and encoding. */
static int same_kind(const nn_node *n, const nn_tensor *in, const nn_tensor *out, char *why, size_t whylen)
{
	if (in->dtype != out->dtype)
		return nn_ref_fail(why, whylen, n, 0, "%s output with %s input", nn_dtype_name(out->dtype),
				   nn_dtype_name(in->dtype));
	if (!nn_ref_same_encoding(in, out))
		return nn_ref_fail(why, whylen, n, 0, "input and output quantization differ (nothing is requantized)");
	return 1;
}

static int reduce_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen)
{
	if (!io_ok(g, n, 1, 2, why, whylen))
		return 0;
	const nn_tensor *in = nn_ref_input(g, n, 0), *out = nn_ref_output(g, n, 0);
	int q8 = (in->dtype == NN_U8 || in->dtype == NN_I8) && n->op != NN_OP_REDUCE_SUM;
	if (in->dtype != NN_F32 && in->dtype != NN_I32 && in->dtype != NN_I64 && !q8)
		return nn_ref_fail(why, whylen, n, 0, "%s input, expected float32, int32 or int64%s",
				   nn_dtype_name(in->dtype), n->op != NN_OP_REDUCE_SUM ? " (or quantized uint8/int8)" : "");
	if (!same_kind(n, in, out, why, whylen))
		return 0;
	if (!q8 && nn_tensor_is_quantized(in))
		return nn_ref_fail(why, whylen, n, 0, "quantized %s is not supported", nn_dtype_name(in->dtype));
	nn_ref_reduce_plan p;
	return nn_ref_reduce_plan_of(g, n, &p, why, whylen);
}

/* Reduction state in the widest type of each family. */
typedef struct acc {
	double f;
	int64_t i;
	int nan;
} acc;

static void reduce_run(const nn_graph *g, const nn_node *n)
{
	const nn_tensor *in = nn_ref_input(g, n, 0);
	nn_tensor *out = nn_ref_output(g, n, 0);
	nn_ref_reduce_plan p;
	if (!nn_ref_reduce_plan_of(g, n, &p, NULL, 0))
		return; /* supports() planned it already */
	int is_float = in->dtype == NN_F32;
	int64_t imin = INT64_MIN, imax = INT64_MAX;
	if (in->dtype == NN_I32)
		imin = INT32_MIN, imax = INT32_MAX;
	else if (in->dtype == NN_U8)
		imin = 0, imax = 255;
	else if (in->dtype == NN_I8)
		imin = -128, imax = 127;
	int ki[NN_MAX_RANK] = { 0 };
	for (size_t o = 0; o < p.out_count; o++) {
		size_t base = 0;
		for (int k = 0; k < p.nk; k++)
			base += (size_t)ki[k] * p.stride[p.kept_dim[k]];
		acc a = { 0, 0, 0 };
		if (n->op == NN_OP_REDUCE_MAX)
			a.f = -INFINITY, a.i = imin;
		else if (n->op == NN_OP_REDUCE_MIN)
			a.f = INFINITY, a.i = imax;
		int ri[NN_MAX_RANK] = { 0 };
		for (size_t r = 0; r < p.red_count; r++) {
			size_t off = base;
			for (int k = 0; k < p.nr; k++)
				off += (size_t)ri[k] * p.stride[p.red_dim[k]];
			if (is_float) {
				float v = ((const float *)in->data)[off];
				if (isnan(v))
					a.nan = 1;
				else if (n->op == NN_OP_REDUCE_SUM)
					a.f += v;
				else if (n->op == NN_OP_REDUCE_MAX ? v > a.f : v < a.f)
					a.f = v;
			} else {
				int64_t v = nn_ref_load_int(in, off);
				if (n->op == NN_OP_REDUCE_SUM)
					a.i = (int64_t)((uint64_t)a.i + (uint64_t)v); /* wraps, as the integer kernels do */
				else if (n->op == NN_OP_REDUCE_MAX ? v > a.i : v < a.i)
					a.i = v;
			}
			for (int k = p.nr - 1; k >= 0; k--) {
				if (++ri[k] < in->shape[p.red_dim[k]])
					break;
				ri[k] = 0;
			}
		}
		switch (out->dtype) {
		case NN_F32: ((float *)out->data)[o] = a.nan ? NAN : (float)a.f; break;
		case NN_I32: ((int32_t *)out->data)[o] = (int32_t)(uint32_t)(uint64_t)a.i; break;
		case NN_I64: ((int64_t *)out->data)[o] = a.i; break;
		default: nn_ref_store_q(out, o, (int32_t)a.i); break;
		}
		for (int k = p.nk - 1; k >= 0; k--) {
			if (++ki[k] < in->shape[p.kept_dim[k]])
				break;
			ki[k] = 0;
		}
	}
}

/* TILE and BROADCAST_TO: each output dimension reads input index i % in_dim (0 for a broadcast 1). */
static int repeat_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen)
{
	if (!io_ok(g, n, 1, 2, why, whylen))
		return 0;
	const nn_tensor *in = nn_ref_input(g, n, 0), *out = nn_ref_output(g, n, 0);
	char a[NN_REF_SHAPE_BUF], b[NN_REF_SHAPE_BUF];
	if (!same_kind(n, in, out, why, whylen))
		return 0;
	if (n->op == NN_OP_TILE) {
		int fits = in->rank == out->rank;
		for (int d = 0; fits && d < in->rank; d++)
			fits = in->shape[d] == 0 ? out->shape[d] == 0 : out->shape[d] % in->shape[d] == 0;
		if (!fits)
			return nn_ref_fail(why, whylen, n, 0, "output %s is not input %s repeated a whole number of times",
					   nn_ref_shape_str(out, a), nn_ref_shape_str(in, b));
		return 1;
	}
	nn_ref_bcast bc;
	if (nn_ref_bcast_init(&bc, &in, 1, out) < 0)
		return nn_ref_fail(why, whylen, n, 0, "input %s does not broadcast to output %s", nn_ref_shape_str(in, a),
				   nn_ref_shape_str(out, b));
	return 1;
}

static void repeat_run(const nn_graph *g, const nn_node *n)
{
	const nn_tensor *in = nn_ref_input(g, n, 0);
	nn_tensor *out = nn_ref_output(g, n, 0);
	size_t count = (size_t)nn_ref_elements(out), size = nn_dtype_size(out->dtype);
	if (count == 0)
		return;
	int rank = out->rank, off = rank - in->rank;
	size_t in_stride[NN_MAX_RANK] = { 0 }, step = 1;
	int in_dim[NN_MAX_RANK];
	for (int d = rank - 1; d >= 0; d--) {
		in_dim[d] = d >= off ? in->shape[d - off] : 1;
		in_stride[d] = step;
		step *= (size_t)in_dim[d];
	}
	/* Output rows along the last dimension, each from one input row (repeated, or one element stretched). */
	int idx[NN_MAX_RANK] = { 0 };
	const char *src = in->data;
	char *dst = out->data;
	size_t row = rank ? (size_t)out->shape[rank - 1] : 1;
	for (size_t o = 0; o < count; o += row) {
		size_t base = 0;
		for (int d = 0; d < rank - 1; d++)
			base += (size_t)(idx[d] % in_dim[d]) * in_stride[d];
		size_t last = rank ? (size_t)in_dim[rank - 1] : 1;
		if (last == 1) {
			for (size_t j = 0; j < row; j++)
				memcpy(dst + (o + j) * size, src + base * size, size);
		} else {
			/* The input row, whole, as many times as the output row holds it. */
			for (size_t j = 0; j < row; j += last)
				memcpy(dst + (o + j) * size, src + base * size, last * size);
		}
		for (int d = rank - 2; d >= 0; d--) {
			if (++idx[d] < out->shape[d])
				break;
			idx[d] = 0;
		}
	}
}

static int gather_elements_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen)
{
	if (!io_ok(g, n, 2, 2, why, whylen))
		return 0;
	const nn_tensor *data = nn_ref_input(g, n, 0), *ind = nn_ref_input(g, n, 1), *out = nn_ref_output(g, n, 0);
	char a[NN_REF_SHAPE_BUF], b[NN_REF_SHAPE_BUF];
	if (!same_kind(n, data, out, why, whylen))
		return 0;
	if (ind->dtype != NN_I32 && ind->dtype != NN_I64)
		return nn_ref_fail(why, whylen, n, 0, "%s indices, expected int32 or int64", nn_dtype_name(ind->dtype));
	int axis = n->p.gather.axis < 0 ? n->p.gather.axis + data->rank : n->p.gather.axis;
	if (data->rank < 1 || axis < 0 || axis >= data->rank)
		return nn_ref_fail(why, whylen, n, 0, "axis %d is outside data %s", n->p.gather.axis,
				   nn_ref_shape_str(data, a));
	if (ind->rank != data->rank || !nn_ref_same_shape(ind, out))
		return nn_ref_fail(why, whylen, n, 0, "indices %s must have data's rank and the output's shape %s",
				   nn_ref_shape_str(ind, a), nn_ref_shape_str(out, b));
	for (int d = 0; d < data->rank; d++)
		if (d != axis && ind->shape[d] > data->shape[d])
			return nn_ref_fail(why, whylen, n, 0, "indices %s exceed data %s outside the axis",
					   nn_ref_shape_str(ind, a), nn_ref_shape_str(data, b));
	return 1;
}

static int gather_elements_run(const nn_graph *g, const nn_node *n, char *err, size_t errlen)
{
	const nn_tensor *data = nn_ref_input(g, n, 0), *ind = nn_ref_input(g, n, 1);
	nn_tensor *out = nn_ref_output(g, n, 0);
	int rank = data->rank;
	int axis = n->p.gather.axis < 0 ? n->p.gather.axis + rank : n->p.gather.axis;
	size_t dstride[NN_MAX_RANK], step = 1, size = nn_dtype_size(data->dtype);
	for (int d = rank - 1; d >= 0; d--) {
		dstride[d] = step;
		step *= (size_t)data->shape[d];
	}
	size_t count = (size_t)nn_ref_elements(out);
	int idx[NN_MAX_RANK] = { 0 };
	int64_t dim = data->shape[axis];
	for (size_t o = 0; o < count; o++) {
		int64_t k = nn_ref_load_int(ind, o);
		if (k < -dim || k >= dim)
			return nn_ref_fail(err, errlen, n, NN_ERR_ARG, "index %lld at element %zu is outside [%lld, %lld)",
					   (long long)k, o, (long long)-dim, (long long)dim);
		if (k < 0)
			k += dim;
		size_t src = 0;
		for (int d = 0; d < rank; d++)
			src += (d == axis ? (size_t)k : (size_t)idx[d]) * dstride[d];
		memcpy((char *)out->data + o * size, (const char *)data->data + src * size, size);
		for (int d = rank - 1; d >= 0; d--) {
			if (++idx[d] < ind->shape[d])
				break;
			idx[d] = 0;
		}
	}
	return NN_OK;
}

static int space_to_depth_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen)
{
	if (!io_ok(g, n, 1, 1, why, whylen))
		return 0;
	const nn_tensor *in = nn_ref_input(g, n, 0), *out = nn_ref_output(g, n, 0);
	char a[NN_REF_SHAPE_BUF], b[NN_REF_SHAPE_BUF];
	if (!same_kind(n, in, out, why, whylen))
		return 0;
	int bs = n->p.space.block_size;
	if (bs < 1 || bs > 4096)
		return nn_ref_fail(why, whylen, n, 0, "block size %d", bs);
	if (in->rank != 4 || out->rank != 4 || in->shape[1] % bs || in->shape[2] % bs || out->shape[0] != in->shape[0] ||
	    out->shape[1] != in->shape[1] / bs || out->shape[2] != in->shape[2] / bs ||
	    (int64_t)out->shape[3] != (int64_t)in->shape[3] * bs * bs)
		return nn_ref_fail(why, whylen, n, 0, "output %s is not NHWC input %s with %dx%d blocks moved to depth",
				   nn_ref_shape_str(out, a), nn_ref_shape_str(in, b), bs, bs);
	return 1;
}

static void space_to_depth_run(const nn_graph *g, const nn_node *n)
{
	const nn_tensor *in = nn_ref_input(g, n, 0);
	nn_tensor *out = nn_ref_output(g, n, 0);
	int bs = n->p.space.block_size;
	size_t size = nn_dtype_size(in->dtype);
	size_t ih = (size_t)in->shape[1], iw = (size_t)in->shape[2], c = (size_t)in->shape[3];
	size_t oh = (size_t)out->shape[1], ow = (size_t)out->shape[2];
	const char *src = in->data;
	char *dst = out->data;
	/* Output channel (by * bs + bx) * C + c of pixel (y, x) is input (y * bs + by, x * bs + bx, c). */
	for (size_t b = 0; b < (size_t)in->shape[0]; b++)
		for (size_t y = 0; y < oh; y++)
			for (size_t x = 0; x < ow; x++)
				for (int by = 0; by < bs; by++)
					for (int bx = 0; bx < bs; bx++) {
						size_t s = ((b * ih + y * (size_t)bs + (size_t)by) * iw + x * (size_t)bs +
							    (size_t)bx) * c;
						size_t d = ((b * oh + y) * ow + x) * c * (size_t)bs * (size_t)bs +
							   ((size_t)by * (size_t)bs + (size_t)bx) * c;
						memcpy(dst + d * size, src + s * size, c * size);
					}
}

int nn_ref_layout_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen)
{
	switch (n->op) {
	case NN_OP_REDUCE_MAX:
	case NN_OP_REDUCE_MIN:
	case NN_OP_REDUCE_SUM:
		return reduce_supports(g, n, why, whylen);
	case NN_OP_TILE:
	case NN_OP_BROADCAST_TO:
		return repeat_supports(g, n, why, whylen);
	case NN_OP_GATHER_ELEMENTS:
		return gather_elements_supports(g, n, why, whylen);
	case NN_OP_SPACE_TO_DEPTH:
		return space_to_depth_supports(g, n, why, whylen);
	default:
		return nn_ref_fail(why, whylen, n, 0, "no reference kernel");
	}
}

int nn_ref_layout_run(nn_graph *g, const nn_node *n, char *err, size_t errlen)
{
	if (!nn_ref_layout_supports(g, n, err, errlen))
		return NN_ERR_UNSUPPORTED;
	if (nn_ref_elements(nn_ref_output(g, n, 0)) == 0)
		return NN_OK;
	switch (n->op) {
	case NN_OP_REDUCE_MAX:
	case NN_OP_REDUCE_MIN:
	case NN_OP_REDUCE_SUM:
		reduce_run(g, n);
		return NN_OK;
	case NN_OP_TILE:
	case NN_OP_BROADCAST_TO:
		repeat_run(g, n);
		return NN_OK;
	case NN_OP_GATHER_ELEMENTS:
		return gather_elements_run(g, n, err, errlen);
	case NN_OP_SPACE_TO_DEPTH:
		space_to_depth_run(g, n);
		return NN_OK;
	default:
		return nn_ref_fail(err, errlen, n, NN_ERR_UNSUPPORTED, "no reference kernel");
	}
}
