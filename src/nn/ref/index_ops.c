/*
 * Layout and indexing ops of TensorFlow Lite's pose and detection models:
 * DEPTH_TO_SPACE, ARG_MAX, PACK, UNPACK, GATHER_ND, and CONCATENATION of
 * plain integers (the float and quantized one is in tensor.c). Apart from
 * ARG_MAX they move elements as bytes, so they take every dtype; a
 * quantized output must share its input's scale and zero point, as
 * TensorFlow Lite requires of these ops (nothing is requantized).
 *
 * ARG_MAX ranks raw values: for quantized inputs that orders them as their
 * real values, because the scale is positive. Ties go to the lowest index
 * (the highest with p.arg.select_last, ONNX's select_last_index),
 * and NaN ranks below every number, so a row of NaNs gives index 0.
 *
 * GATHER_ND: an index outside params is an error at run time naming the
 * node and the index (TensorFlow Lite's kernel refuses it as well).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/ref/index_ops.h"
#include "nn/ref/quant.h"

int nn_ref_is_integer_node(const nn_graph *g, const nn_node *n)
{
	const nn_tensor *a = nn_ref_input(g, n, 0);
	/* uint8, int8 and int16 without quantization parameters are plain integers too (ONNX's integer tensors). */
	return a && (a->dtype == NN_I32 || a->dtype == NN_I64 || a->dtype == NN_U8 || a->dtype == NN_I8 ||
		     a->dtype == NN_I16) && a->quant.count == 0;
}

static size_t product(const int *shape, int from, int to)
{
	size_t p = 1;
	for (int d = from; d < to; d++)
		p *= (size_t)shape[d];
	return p;
}

static int valid_tensor(const nn_node *n, const nn_tensor *t, const char *role, int slot, char *why,
			size_t whylen)
{
	char buf[NN_REF_SHAPE_BUF];
	if (nn_dtype_size(t->dtype) == 0)
		return nn_ref_fail(why, whylen, n, 0, "%s %d has an unknown dtype %d", role, slot, (int)t->dtype);
	if (nn_ref_elements(t) < 0)
		return nn_ref_fail(why, whylen, n, 0, "%s %d has an invalid shape %s", role, slot,
				   nn_ref_shape_str(t, buf));
	return 1;
}

/* Every input and output present, with a known dtype and a valid shape. */
static int valid_io(const nn_graph *g, const nn_node *n, int n_in, int n_out, char *why, size_t whylen)
{
	if ((n_in >= 0 && n->n_inputs != n_in) || n->n_inputs < 1 || (n_out >= 0 && n->n_outputs != n_out) ||
	    n->n_outputs < 1)
		return nn_ref_fail(why, whylen, n, 0, "has %d inputs and %d outputs, expected %d and %d", n->n_inputs,
				   n->n_outputs, n_in, n_out);
	for (int i = 0; i < n->n_inputs; i++) {
		const nn_tensor *t = nn_ref_input(g, n, i);
		if (!t)
			return nn_ref_fail(why, whylen, n, 0, "input %d is missing", i);
		if (!valid_tensor(n, t, "input", i, why, whylen))
			return 0;
	}
	for (int i = 0; i < n->n_outputs; i++) {
		const nn_tensor *t = nn_ref_output(g, n, i);
		if (!t)
			return nn_ref_fail(why, whylen, n, 0, "output %d is missing", i);
		if (!valid_tensor(n, t, "output", i, why, whylen))
			return 0;
	}
	return 1;
}

/* dst holds the same kind of numbers as src: the same dtype and quantization. */
static int same_kind(const nn_node *n, const nn_tensor *src, const char *src_role, const nn_tensor *dst,
		     const char *dst_role, char *why, size_t whylen)
{
	if (dst->dtype != src->dtype)
		return nn_ref_fail(why, whylen, n, 0, "%s is %s but %s is %s", dst_role, nn_dtype_name(dst->dtype),
				   src_role, nn_dtype_name(src->dtype));
	if (!nn_ref_same_encoding(src, dst))
		return nn_ref_fail(why, whylen, n, 0, "%s is quantized differently from %s (requantizing is not "
				   "supported)",
				   dst_role, src_role);
	return 1;
}

/* DEPTH_TO_SPACE. */

static int d2s_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen)
{
	if (!valid_io(g, n, 1, 1, why, whylen))
		return 0;
	const nn_tensor *in = nn_ref_input(g, n, 0), *out = nn_ref_output(g, n, 0);
	if (!same_kind(n, in, "the input", out, "the output", why, whylen))
		return 0;
	int bs = n->p.space.block_size;
	char a[NN_REF_SHAPE_BUF], b[NN_REF_SHAPE_BUF];
	if (bs < 1 || bs > 4096)
		return nn_ref_fail(why, whylen, n, 0, "block size %d, expected 1 to 4096", bs);
	if (in->rank != 4 || out->rank != 4 || in->shape[3] % (bs * bs) != 0 || out->shape[0] != in->shape[0] ||
	    (int64_t)out->shape[1] != (int64_t)in->shape[1] * bs || (int64_t)out->shape[2] != (int64_t)in->shape[2] * bs ||
	    out->shape[3] != in->shape[3] / (bs * bs))
		return nn_ref_fail(why, whylen, n, 0, "output %s is not input %s rearranged in %dx%d blocks",
				   nn_ref_shape_str(out, a), nn_ref_shape_str(in, b), bs, bs);
	return 1;
}

static int d2s_run(nn_graph *g, const nn_node *n)
{
	const nn_tensor *in = nn_ref_input(g, n, 0);
	nn_tensor *out = nn_ref_output(g, n, 0);
	int bs = n->p.space.block_size;
	size_t es = nn_dtype_size(in->dtype);
	/* One output row of a block is bs * out_channels contiguous input elements. */
	size_t row = (size_t)bs * (size_t)out->shape[3] * es;
	const char *src = in->data;
	char *dst = out->data;
	int H = in->shape[1], W = in->shape[2];
	size_t out_row_bytes = (size_t)out->shape[2] * (size_t)out->shape[3] * es;
	for (int b = 0; b < in->shape[0]; b++)
		for (int h = 0; h < H; h++)
			for (int w = 0; w < W; w++, src += (size_t)bs * row)
				for (int by = 0; by < bs; by++) {
					size_t oh = (size_t)b * (size_t)out->shape[1] + (size_t)h * (size_t)bs + (size_t)by;
					memcpy(dst + oh * out_row_bytes + (size_t)w * row, src + (size_t)by * row, row);
				}
	return NN_OK;
}

/* ARG_MAX. */

static int argmax_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen)
{
	/* TFLite's axis tensor may stay attached as a second input; p.arg.axis holds its value. */
	if (n->n_inputs == 2 ? !valid_io(g, n, 2, 1, why, whylen) : !valid_io(g, n, 1, 1, why, whylen))
		return 0;
	const nn_tensor *in = nn_ref_input(g, n, 0), *out = nn_ref_output(g, n, 0);
	char a[NN_REF_SHAPE_BUF], b[NN_REF_SHAPE_BUF];
	if (in->dtype == NN_BOOL || in->quant.count > 1)
		return nn_ref_fail(why, whylen, n, 0, "%s input is not supported", nn_dtype_name(in->dtype));
	if (out->dtype != NN_I32 && out->dtype != NN_I64)
		return nn_ref_fail(why, whylen, n, 0, "output of type %s, expected int32 or int64",
				   nn_dtype_name(out->dtype));
	int axis = n->p.arg.axis;
	if (in->rank < 1 || axis < 0 || axis >= in->rank)
		return nn_ref_fail(why, whylen, n, 0, "axis %d is outside input %s", axis, nn_ref_shape_str(in, a));
	if (in->shape[axis] < 1)
		return nn_ref_fail(why, whylen, n, 0, "axis %d of input %s is empty", axis, nn_ref_shape_str(in, a));
	int fits = out->rank == in->rank - 1;
	for (int d = 0, o = 0; fits && d < in->rank; d++)
		if (d != axis)
			fits = out->shape[o++] == in->shape[d];
	if (!fits)
		return nn_ref_fail(why, whylen, n, 0, "output %s is not input %s without axis %d",
				   nn_ref_shape_str(out, a), nn_ref_shape_str(in, b), axis);
	return 1;
}

/* Element i of a float or integer tensor as a double (exact for all but int64 beyond 2^53, compared raw). */
static inline double load_num(const nn_tensor *t, size_t i)
{
	switch (t->dtype) {
	case NN_F32:
		return ((const float *)t->data)[i];
	case NN_F16:
		return nn_ref_f16_to_f32(((const uint16_t *)t->data)[i]);
	default:
		return (double)nn_ref_load_int(t, i);
	}
}

static int argmax_run(nn_graph *g, const nn_node *n)
{
	const nn_tensor *in = nn_ref_input(g, n, 0);
	nn_tensor *out = nn_ref_output(g, n, 0);
	int axis = n->p.arg.axis, last = n->p.arg.select_last;
	size_t outer = product(in->shape, 0, axis), len = (size_t)in->shape[axis];
	size_t inner = product(in->shape, axis + 1, in->rank);
	for (size_t o = 0; o < outer; o++)
		for (size_t i = 0; i < inner; i++) {
			size_t base = o * len * inner + i, best = 0;
			if (in->dtype == NN_I64) {
				int64_t bv = nn_ref_load_int(in, base);
				for (size_t k = 1; k < len; k++) {
					int64_t v = nn_ref_load_int(in, base + k * inner);
					if (v > bv || (last && v == bv))
						bv = v, best = k;
				}
			} else {
				double bv = load_num(in, base);
				for (size_t k = 1; k < len; k++) {
					double v = load_num(in, base + k * inner);
					if (v > bv || (last && v == bv) || (isnan(bv) && !isnan(v)))
						bv = v, best = k;
				}
			}
			if (out->dtype == NN_I32)
				((int32_t *)out->data)[o * inner + i] = (int32_t)best;
			else
				((int64_t *)out->data)[o * inner + i] = (int64_t)best;
		}
	return NN_OK;
}

/* PACK and UNPACK: the stacked tensor has the others' shape with a new axis of n entries. */

static int pack_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen)
{
	int pack = n->op == NN_OP_PACK;
	if (!valid_io(g, n, pack ? -1 : 1, pack ? 1 : -1, why, whylen))
		return 0;
	const nn_tensor *whole = pack ? nn_ref_output(g, n, 0) : nn_ref_input(g, n, 0);
	int parts = pack ? n->n_inputs : n->n_outputs;
	int axis = n->p.pack.axis;
	char a[NN_REF_SHAPE_BUF], b[NN_REF_SHAPE_BUF];
	if (whole->rank < 1 || axis < 0 || axis >= whole->rank)
		return nn_ref_fail(why, whylen, n, 0, "axis %d is outside %s %s", axis, pack ? "output" : "input",
				   nn_ref_shape_str(whole, a));
	if (whole->shape[axis] != parts)
		return nn_ref_fail(why, whylen, n, 0, "%s %s has %d entries along axis %d for %d %s",
				   pack ? "output" : "input", nn_ref_shape_str(whole, a), whole->shape[axis], axis, parts,
				   pack ? "inputs" : "outputs");
	for (int i = 0; i < parts; i++) {
		const nn_tensor *t = pack ? nn_ref_input(g, n, i) : nn_ref_output(g, n, i);
		char role[32];
		snprintf(role, sizeof role, "%s %d", pack ? "input" : "output", i);
		if (!same_kind(n, whole, pack ? "the output" : "the input", t, role, why, whylen))
			return 0;
		int fits = t->rank == whole->rank - 1;
		for (int d = 0, k = 0; fits && d < whole->rank; d++)
			if (d != axis)
				fits = t->shape[k++] == whole->shape[d];
		if (!fits)
			return nn_ref_fail(why, whylen, n, 0, "%s %s is not %s %s without axis %d", role,
					   nn_ref_shape_str(t, a), pack ? "output" : "input", nn_ref_shape_str(whole, b),
					   axis);
	}
	return 1;
}

static int pack_run(nn_graph *g, const nn_node *n)
{
	int pack = n->op == NN_OP_PACK;
	const nn_tensor *whole = pack ? nn_ref_output(g, n, 0) : nn_ref_input(g, n, 0);
	int parts = whole->shape[n->p.pack.axis];
	size_t outer = product(whole->shape, 0, n->p.pack.axis);
	size_t chunk = product(whole->shape, n->p.pack.axis + 1, whole->rank) * nn_dtype_size(whole->dtype);
	if (chunk == 0)
		return NN_OK;
	char *w = whole->data;
	for (size_t o = 0; o < outer; o++)
		for (int i = 0; i < parts; i++, w += chunk) {
			const nn_tensor *t = pack ? nn_ref_input(g, n, i) : nn_ref_output(g, n, i);
			char *p = (char *)t->data + o * chunk;
			if (pack)
				memcpy(w, p, chunk);
			else
				memcpy(p, w, chunk);
		}
	return NN_OK;
}

/* GATHER_ND. */

static int gather_nd_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen)
{
	if (!valid_io(g, n, 2, 1, why, whylen))
		return 0;
	const nn_tensor *params = nn_ref_input(g, n, 0), *idx = nn_ref_input(g, n, 1), *out = nn_ref_output(g, n, 0);
	char a[NN_REF_SHAPE_BUF], b[NN_REF_SHAPE_BUF], c[NN_REF_SHAPE_BUF];
	if (idx->dtype != NN_I32 && idx->dtype != NN_I64)
		return nn_ref_fail(why, whylen, n, 0, "indices of type %s, expected int32 or int64",
				   nn_dtype_name(idx->dtype));
	if (!same_kind(n, params, "params", out, "the output", why, whylen))
		return 0;
	if (idx->rank < 1 || params->rank < 1)
		return nn_ref_fail(why, whylen, n, 0, "params %s and indices %s must both have rank 1 or more",
				   nn_ref_shape_str(params, a), nn_ref_shape_str(idx, b));
	int k = idx->shape[idx->rank - 1];
	if (k < 1 || k > params->rank)
		return nn_ref_fail(why, whylen, n, 0, "indices %s index %d dimensions of params %s, expected 1 to %d",
				   nn_ref_shape_str(idx, a), k, nn_ref_shape_str(params, b), params->rank);
	int want[2 * NN_MAX_RANK], rank = 0;
	for (int d = 0; d < idx->rank - 1; d++)
		want[rank++] = idx->shape[d];
	for (int d = k; d < params->rank; d++)
		want[rank++] = params->shape[d];
	int fits = out->rank == rank;
	for (int d = 0; fits && d < rank; d++)
		fits = out->shape[d] == want[d];
	if (!fits)
		return nn_ref_fail(why, whylen, n, 0, "output %s is not params %s gathered by indices %s",
				   nn_ref_shape_str(out, a), nn_ref_shape_str(params, b), nn_ref_shape_str(idx, c));
	return 1;
}

static int gather_nd_run(nn_graph *g, const nn_node *n, char *err, size_t errlen)
{
	const nn_tensor *params = nn_ref_input(g, n, 0), *idx = nn_ref_input(g, n, 1);
	nn_tensor *out = nn_ref_output(g, n, 0);
	int k = idx->shape[idx->rank - 1];
	size_t count = product(idx->shape, 0, idx->rank - 1);
	size_t chunk = product(params->shape, k, params->rank) * nn_dtype_size(params->dtype);
	/* Every index is checked before anything is written, so a bad one leaves the output untouched. */
	for (size_t i = 0; i < count; i++)
		for (int d = 0; d < k; d++) {
			int64_t v = nn_ref_load_int(idx, i * (size_t)k + (size_t)d);
			if (v < 0 || v >= params->shape[d]) {
				char a[NN_REF_SHAPE_BUF];
				return nn_ref_fail(err, errlen, n, NN_ERR_ARG,
						   "index %lld in entry %zu, dimension %d of indices is outside params %s",
						   (long long)v, i, d, nn_ref_shape_str(params, a));
			}
		}
	if (chunk == 0)
		return NN_OK;
	for (size_t i = 0; i < count; i++) {
		size_t off = 0;
		for (int d = 0; d < k; d++)
			off = off * (size_t)params->shape[d] + (size_t)nn_ref_load_int(idx, i * (size_t)k + (size_t)d);
		memcpy((char *)out->data + i * chunk, (const char *)params->data + off * chunk, chunk);
	}
	return NN_OK;
}

/* CONCATENATION of int32 and int64 tensors: raw copies, no activation. */

static int concat_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen)
{
	if (!valid_io(g, n, -1, 1, why, whylen))
		return 0;
	const nn_tensor *out = nn_ref_output(g, n, 0);
	char a[NN_REF_SHAPE_BUF], b[NN_REF_SHAPE_BUF];
	if (n->p.concat.act != NN_ACT_NONE)
		return nn_ref_fail(why, whylen, n, 0, "a fused activation on integer tensors is not supported");
	int axis = n->p.concat.axis < 0 ? n->p.concat.axis + out->rank : n->p.concat.axis;
	if (axis < 0 || axis >= out->rank)
		return nn_ref_fail(why, whylen, n, 0, "axis %d is outside output %s", n->p.concat.axis,
				   nn_ref_shape_str(out, a));
	int64_t total = 0;
	for (int i = 0; i < n->n_inputs; i++) {
		const nn_tensor *t = nn_ref_input(g, n, i);
		char role[32];
		snprintf(role, sizeof role, "input %d", i);
		if (!same_kind(n, out, "the output", t, role, why, whylen))
			return 0;
		int fits = t->rank == out->rank;
		for (int d = 0; fits && d < out->rank; d++)
			fits = d == axis || t->shape[d] == out->shape[d];
		if (!fits)
			return nn_ref_fail(why, whylen, n, 0, "input %d %s does not match output %s outside axis %d", i,
					   nn_ref_shape_str(t, a), nn_ref_shape_str(out, b), axis);
		total += t->shape[axis];
	}
	if (total != out->shape[axis])
		return nn_ref_fail(why, whylen, n, 0, "the inputs add up to %lld along axis %d, output %s has %d",
				   (long long)total, axis, nn_ref_shape_str(out, a), out->shape[axis]);
	return 1;
}

static int concat_run(nn_graph *g, const nn_node *n)
{
	nn_tensor *out = nn_ref_output(g, n, 0);
	int axis = n->p.concat.axis < 0 ? n->p.concat.axis + out->rank : n->p.concat.axis;
	size_t outer = product(out->shape, 0, axis);
	size_t inner = product(out->shape, axis + 1, out->rank) * nn_dtype_size(out->dtype);
	char *dst = out->data;
	for (size_t o = 0; o < outer; o++)
		for (int i = 0; i < n->n_inputs; i++) {
			const nn_tensor *t = nn_ref_input(g, n, i);
			size_t chunk = (size_t)t->shape[axis] * inner;
			if (chunk == 0)
				continue;
			memcpy(dst, (const char *)t->data + o * chunk, chunk);
			dst += chunk;
		}
	return NN_OK;
}

/* RESHAPE of int32 and int64 tensors (index arithmetic), which tensor.c leaves to this file. */

static int reshape_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen)
{
	/* TFLite's shape tensor may stay attached as a second input. */
	if (n->n_inputs == 2 ? !valid_io(g, n, 2, 1, why, whylen) : !valid_io(g, n, 1, 1, why, whylen))
		return 0;
	const nn_tensor *in = nn_ref_input(g, n, 0), *out = nn_ref_output(g, n, 0);
	char a[NN_REF_SHAPE_BUF], b[NN_REF_SHAPE_BUF];
	if (!same_kind(n, in, "the input", out, "the output", why, whylen))
		return 0;
	if (nn_ref_elements(in) != nn_ref_elements(out))
		return nn_ref_fail(why, whylen, n, 0, "input %s and output %s hold different numbers of elements",
				   nn_ref_shape_str(in, a), nn_ref_shape_str(out, b));
	return 1;
}

int nn_ref_index_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen)
{
	switch (n->op) {
	case NN_OP_DEPTH_TO_SPACE:
		return d2s_supports(g, n, why, whylen);
	case NN_OP_ARG_MAX:
		return argmax_supports(g, n, why, whylen);
	case NN_OP_PACK:
	case NN_OP_UNPACK:
		return pack_supports(g, n, why, whylen);
	case NN_OP_GATHER_ND:
		return gather_nd_supports(g, n, why, whylen);
	case NN_OP_CONCATENATION:
		return concat_supports(g, n, why, whylen);
	case NN_OP_RESHAPE:
		return reshape_supports(g, n, why, whylen);
	default:
		return nn_ref_fail(why, whylen, n, 0, "no reference kernel");
	}
}

int nn_ref_index_run(nn_graph *g, const nn_node *n, char *err, size_t errlen)
{
	/* Checking again costs little and keeps the kernels safe from any caller. */
	if (!nn_ref_index_supports(g, n, err, errlen))
		return NN_ERR_UNSUPPORTED;
	switch (n->op) {
	case NN_OP_DEPTH_TO_SPACE:
		return d2s_run(g, n);
	case NN_OP_ARG_MAX:
		return argmax_run(g, n);
	case NN_OP_PACK:
	case NN_OP_UNPACK:
		return pack_run(g, n);
	case NN_OP_GATHER_ND:
		return gather_nd_run(g, n, err, errlen);
	case NN_OP_CONCATENATION:
		return concat_run(g, n);
	case NN_OP_RESHAPE: {
		const nn_tensor *in = nn_ref_input(g, n, 0);
		nn_tensor *out = nn_ref_output(g, n, 0);
		memmove(out->data, in->data, nn_tensor_bytes(in));
		return NN_OK;
	}
	default:
		return nn_ref_fail(err, errlen, n, NN_ERR_UNSUPPORTED, "no reference kernel");
	}
}
