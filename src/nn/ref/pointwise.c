/*
 * Element-wise ops of ONNX graphs, broadcasting NumPy-style up to
 * NN_MAX_RANK:
 * - EXP, LOG, ERF, ELU, SILU: float32, and uint8/int8 through real values
 *   (dequantize, compute, quantize with rounding and clamping). LOG follows
 *   logf: log(0) = -inf, log(x < 0) = NaN.
 * - CLAMP (ONNX Clip): float32, uint8/int8 clamped in real values, and
 *   int32/int64 clamped to the integers inside [min, max]. NaN stays NaN, as
 *   in ONNX Runtime; min > max gives max everywhere (ONNX's
 *   min(max(x, lo), hi)).
 * - NEG, ABS: float32, int32, int64; integers wrap (-INT_MIN = INT_MIN), as
 *   two's-complement hardware and ONNX Runtime do.
 * - LOGICAL_NOT, LOGICAL_AND: bool (any non-zero byte is true; writes 0/1).
 * - POW: float32 powf(a, b).
 * - GREATER, LESS: float32, int32, int64 (and uint8/int8 through real
 *   values), writing bool; NaN compares false.
 * - SELECT (ONNX Where): bool condition, x and y of one dtype (any; copied
 *   as bytes), x, y and output encoded alike when quantized.
 */
#include <math.h>
#include <string.h>

#include "nn/ref/onnx_ops.h"
#include "nn/ref/quant.h"

int nn_ref_bcast_init(nn_ref_bcast *b, const nn_tensor *const *in, int n_in, const nn_tensor *out)
{
	memset(b, 0, sizeof *b);
	if (n_in < 1 || n_in > 3 || out->rank < 0 || out->rank > NN_MAX_RANK)
		return -1;
	b->rank = out->rank;
	b->n = n_in;
	memcpy(b->shape, out->shape, sizeof b->shape);
	for (int k = 0; k < n_in; k++) {
		const nn_tensor *t = in[k];
		if (t->rank > out->rank)
			return -1;
		size_t step = 1;
		for (int d = out->rank - 1; d >= 0; d--) {
			int dt = d - (out->rank - t->rank);
			int dim = dt >= 0 ? t->shape[dt] : 1;
			if (dim != out->shape[d] && dim != 1)
				return -1;
			b->stride[k][d] = dim == 1 ? 0 : step;
			step *= (size_t)dim;
		}
	}
	return 0;
}

/*
 * Runs BODY for each output element o with i0, i1, i2 the matching elements
 * of the inputs, walking the output with an odometer.
 */
#define BCAST_EACH(bc, count, ...)                                                           \
	do {                                                                                 \
		int idx_[NN_MAX_RANK] = { 0 };                                               \
		size_t i0 = 0, i1 = 0, i2 = 0;                                               \
		for (size_t o = 0; o < (count); o++) {                                       \
			__VA_ARGS__;                                                            \
			for (int d_ = (bc).rank - 1; d_ >= 0; d_--) {                        \
				i0 += (bc).stride[0][d_];                                    \
				i1 += (bc).stride[1][d_];                                    \
				i2 += (bc).stride[2][d_];                                    \
				if (++idx_[d_] < (bc).shape[d_])                             \
					break;                                               \
				i0 -= (bc).stride[0][d_] * (size_t)(bc).shape[d_];           \
				i1 -= (bc).stride[1][d_] * (size_t)(bc).shape[d_];           \
				i2 -= (bc).stride[2][d_] * (size_t)(bc).shape[d_];           \
				idx_[d_] = 0;                                                \
			}                                                                    \
		}                                                                            \
	} while (0)

static int arity(nn_op op)
{
	switch (op) {
	case NN_OP_POW:
	case NN_OP_GREATER:
	case NN_OP_LESS:
	case NN_OP_LOGICAL_AND:
		return 2;
	case NN_OP_SELECT:
		return 3;
	default:
		return 1;
	}
}

static int is_q8(const nn_tensor *t)
{
	return (t->dtype == NN_U8 || t->dtype == NN_I8) && t->quant.count > 0;
}

/* The dtypes each op takes for its (first data) input. */
static int dtype_ok(nn_op op, const nn_tensor *t)
{
	switch (op) {
	case NN_OP_EXP:
	case NN_OP_LOG:
	case NN_OP_ERF:
	case NN_OP_ELU:
	case NN_OP_SILU:
		return t->dtype == NN_F32 || is_q8(t);
	case NN_OP_CLAMP:
		return t->dtype == NN_F32 || is_q8(t) || t->dtype == NN_I32 || t->dtype == NN_I64;
	case NN_OP_NEG:
	case NN_OP_ABS:
		return t->dtype == NN_F32 || t->dtype == NN_I32 || t->dtype == NN_I64;
	case NN_OP_LOGICAL_NOT:
	case NN_OP_LOGICAL_AND:
		return t->dtype == NN_BOOL;
	case NN_OP_POW:
		return t->dtype == NN_F32;
	case NN_OP_GREATER:
	case NN_OP_LESS:
		return t->dtype == NN_F32 || t->dtype == NN_I32 || t->dtype == NN_I64 || is_q8(t);
	case NN_OP_SELECT:
		return nn_dtype_size(t->dtype) > 0;
	default:
		return 0;
	}
}

static const char *dtypes_taken(nn_op op)
{
	switch (op) {
	case NN_OP_NEG:
	case NN_OP_ABS:
		return "float32, int32 or int64";
	case NN_OP_CLAMP:
		return "float32, int32, int64 or quantized uint8/int8";
	case NN_OP_LOGICAL_NOT:
	case NN_OP_LOGICAL_AND:
		return "bool";
	case NN_OP_POW:
		return "float32";
	case NN_OP_GREATER:
	case NN_OP_LESS:
		return "float32, int32, int64 or quantized uint8/int8";
	default:
		return "float32 or quantized uint8/int8";
	}
}

/* The output dtype an op writes for input dtype t. */
static nn_dtype out_dtype(nn_op op, nn_dtype t)
{
	return op == NN_OP_GREATER || op == NN_OP_LESS ? NN_BOOL : t;
}

int nn_ref_pointwise_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen)
{
	int k = arity(n->op);
	char sa[NN_REF_SHAPE_BUF], so[NN_REF_SHAPE_BUF];
	if (n->n_inputs != k || n->n_outputs != 1)
		return nn_ref_fail(why, whylen, n, 0, "has %d inputs and %d outputs, expected %d and 1", n->n_inputs,
				   n->n_outputs, k);
	const nn_tensor *in[3] = { NULL, NULL, NULL };
	for (int i = 0; i < k; i++) {
		in[i] = nn_ref_input(g, n, i);
		if (!in[i])
			return nn_ref_fail(why, whylen, n, 0, "input %d is missing", i);
		if (nn_ref_elements(in[i]) < 0)
			return nn_ref_fail(why, whylen, n, 0, "input %d has an invalid shape %s", i,
					   nn_ref_shape_str(in[i], sa));
	}
	const nn_tensor *out = nn_ref_output(g, n, 0);
	if (!out || nn_ref_elements(out) < 0)
		return nn_ref_fail(why, whylen, n, 0, "output is missing or has an invalid shape");

	/* SELECT's data inputs are 1 and 2; its condition is bool. */
	const nn_tensor *x = n->op == NN_OP_SELECT ? in[1] : in[0];
	if (n->op == NN_OP_SELECT && in[0]->dtype != NN_BOOL)
		return nn_ref_fail(why, whylen, n, 0, "%s condition, expected bool", nn_dtype_name(in[0]->dtype));
	if (!dtype_ok(n->op, x))
		return nn_ref_fail(why, whylen, n, 0, "%s%s input, expected %s", nn_dtype_name(x->dtype),
				   nn_tensor_is_quantized(x) ? " (quantized)" : "", dtypes_taken(n->op));
	for (int i = n->op == NN_OP_SELECT ? 1 : 0; i < k; i++)
		if (in[i]->dtype != x->dtype)
			return nn_ref_fail(why, whylen, n, 0, "mixed %s and %s inputs are not supported",
					   nn_dtype_name(x->dtype), nn_dtype_name(in[i]->dtype));
	if (out->dtype != out_dtype(n->op, x->dtype))
		return nn_ref_fail(why, whylen, n, 0, "%s output with %s input, expected %s", nn_dtype_name(out->dtype),
				   nn_dtype_name(x->dtype), nn_dtype_name(out_dtype(n->op, x->dtype)));
	if (is_q8(x)) {
		for (int i = n->op == NN_OP_SELECT ? 1 : 0; i < k; i++)
			if (!nn_ref_check_quant(n, in[i], "input", 0, why, whylen))
				return 0;
		if (out->dtype != NN_BOOL && !nn_ref_check_quant(n, out, "output", 0, why, whylen))
			return 0;
	} else if (out->dtype != NN_BOOL && nn_tensor_is_quantized(out) != nn_tensor_is_quantized(x)) {
		return nn_ref_fail(why, whylen, n, 0, "input and output differ in quantization");
	}
	if (n->op == NN_OP_SELECT && (!nn_ref_same_encoding(in[1], out) || !nn_ref_same_encoding(in[2], out)))
		return nn_ref_fail(why, whylen, n, 0, "x, y and output must share their quantization (nothing is "
				   "requantized)");
	if (n->op == NN_OP_ELU && !isfinite(n->p.elu.alpha))
		return nn_ref_fail(why, whylen, n, 0, "alpha %g is not finite", (double)n->p.elu.alpha);
	if (n->op == NN_OP_CLAMP && (isnan(n->p.clamp.min) || isnan(n->p.clamp.max)))
		return nn_ref_fail(why, whylen, n, 0, "a NaN bound");
	nn_ref_bcast bc;
	if (nn_ref_bcast_init(&bc, in, k, out) < 0) {
		if (k == 1)
			return nn_ref_fail(why, whylen, n, 0, "input %s and output %s differ in shape",
					   nn_ref_shape_str(in[0], sa), nn_ref_shape_str(out, so));
		return nn_ref_fail(why, whylen, n, 0, "inputs do not broadcast to output %s", nn_ref_shape_str(out, so));
	}
	if (k == 1 && !nn_ref_same_shape(in[0], out))
		return nn_ref_fail(why, whylen, n, 0, "input %s and output %s differ in shape", nn_ref_shape_str(in[0], sa),
				   nn_ref_shape_str(out, so));
	return 1;
}

static inline float clampf(float v, float lo, float hi)
{
	/* Comparisons leave NaN alone; max wins over min as in min(max(x, lo), hi). */
	v = v < lo ? lo : v;
	return v > hi ? hi : v;
}

static float unary_f(const nn_node *n, float x)
{
	switch (n->op) {
	case NN_OP_EXP: return expf(x);
	case NN_OP_LOG: return logf(x);
	case NN_OP_ERF: return erff(x);
	case NN_OP_ELU: return x < 0 ? n->p.elu.alpha * expm1f(x) : x;
	case NN_OP_SILU: return x / (1.0f + expf(-x));
	case NN_OP_CLAMP: return clampf(x, n->p.clamp.min, n->p.clamp.max);
	case NN_OP_NEG: return -x;
	default: return fabsf(x);
	}
}

static void unary_run(const nn_node *n, const nn_tensor *in, nn_tensor *out, size_t count)
{
	if (in->dtype == NN_F32) {
		const float *x = in->data;
		float *y = out->data;
		for (size_t i = 0; i < count; i++)
			y[i] = unary_f(n, x[i]);
		return;
	}
	if ((in->dtype == NN_I32 || in->dtype == NN_I64) && n->op == NN_OP_CLAMP) {
		/* The integers inside [min, max]: its bounds rounded inward, then kept inside the dtype. */
		double tmin = in->dtype == NN_I32 ? (double)INT32_MIN : -9223372036854775808.0;
		double tmax = in->dtype == NN_I32 ? (double)INT32_MAX : 9223372036854775807.0;
		double lo = ceil((double)n->p.clamp.min), hi = floor((double)n->p.clamp.max);
		int64_t ilo = lo <= tmin ? (int64_t)tmin : lo >= tmax ? (in->dtype == NN_I32 ? INT32_MAX : INT64_MAX) : (int64_t)lo;
		int64_t ihi = hi <= tmin ? (int64_t)tmin : hi >= tmax ? (in->dtype == NN_I32 ? INT32_MAX : INT64_MAX) : (int64_t)hi;
		for (size_t i = 0; i < count; i++) {
			int64_t v = nn_ref_load_int(in, i);
			v = v < ilo ? ilo : v;
			v = v > ihi ? ihi : v;
			if (in->dtype == NN_I32)
				((int32_t *)out->data)[i] = (int32_t)v;
			else
				((int64_t *)out->data)[i] = v;
		}
		return;
	}
	if (in->dtype == NN_I32 || in->dtype == NN_I64) {
		/* NEG and ABS on unsigned arithmetic, so that the minimum wraps instead of overflowing. */
		for (size_t i = 0; i < count; i++) {
			int64_t v = nn_ref_load_int(in, i);
			int neg = n->op == NN_OP_NEG || v < 0;
			if (in->dtype == NN_I32) {
				uint32_t u = (uint32_t)(int32_t)v;
				u = neg ? 0u - u : u;
				int32_t r;
				memcpy(&r, &u, sizeof r);
				((int32_t *)out->data)[i] = r;
			} else {
				uint64_t u = (uint64_t)v;
				u = neg ? 0u - u : u;
				int64_t r;
				memcpy(&r, &u, sizeof r);
				((int64_t *)out->data)[i] = r;
			}
		}
		return;
	}
	if (in->dtype == NN_BOOL) {
		const uint8_t *x = in->data;
		uint8_t *y = out->data;
		for (size_t i = 0; i < count; i++)
			y[i] = x[i] == 0;
		return;
	}
	/* Quantized: 256 possible inputs, so a table costs less than computing every element. */
	uint8_t table[256];
	nn_tensor one_in = *in, one_out = *out;
	for (int q = 0; q < 256; q++) {
		uint8_t byte = (uint8_t)q;
		uint8_t res = 0;
		one_in.data = &byte;
		one_out.data = &res;
		nn_ref_write(&one_out, 0, unary_f(n, nn_ref_read(&one_in, 0)));
		table[q] = res;
	}
	const uint8_t *x = in->data;
	uint8_t *y = out->data;
	for (size_t i = 0; i < count; i++)
		y[i] = table[x[i]];
}

static void compare_run(const nn_node *n, const nn_ref_bcast *bc, const nn_tensor *a, const nn_tensor *b,
			nn_tensor *out, size_t count)
{
	uint8_t *z = out->data;
	int greater = n->op == NN_OP_GREATER;
	switch (a->dtype) {
	case NN_F32: {
		const float *x = a->data, *y = b->data;
		BCAST_EACH(*bc, count, z[o] = greater ? x[i0] > y[i1] : x[i0] < y[i1]);
		break;
	}
	case NN_I32: {
		const int32_t *x = a->data, *y = b->data;
		BCAST_EACH(*bc, count, z[o] = greater ? x[i0] > y[i1] : x[i0] < y[i1]);
		break;
	}
	case NN_I64: {
		const int64_t *x = a->data, *y = b->data;
		BCAST_EACH(*bc, count, z[o] = greater ? x[i0] > y[i1] : x[i0] < y[i1]);
		break;
	}
	default:
		BCAST_EACH(*bc, count, {
			float x = nn_ref_read(a, i0), y = nn_ref_read(b, i1);
			z[o] = greater ? x > y : x < y;
		});
		break;
	}
}

static void select_run(const nn_ref_bcast *bc, const nn_tensor *cond, const nn_tensor *a, const nn_tensor *b,
		       nn_tensor *out, size_t count)
{
	size_t size = nn_dtype_size(out->dtype);
	const uint8_t *c = cond->data;
	const char *x = a->data, *y = b->data;
	char *z = out->data;
	switch (size) {
	case 4:
		BCAST_EACH(*bc, count, memcpy(z + o * 4, c[i0] ? x + i1 * 4 : y + i2 * 4, 4));
		break;
	default:
		BCAST_EACH(*bc, count, memcpy(z + o * size, c[i0] ? x + i1 * size : y + i2 * size, size));
		break;
	}
}

int nn_ref_pointwise_run(nn_graph *g, const nn_node *n, char *err, size_t errlen)
{
	if (!nn_ref_pointwise_supports(g, n, err, errlen))
		return NN_ERR_UNSUPPORTED;
	int k = arity(n->op);
	const nn_tensor *in[3] = { nn_ref_input(g, n, 0), k > 1 ? nn_ref_input(g, n, 1) : NULL,
				   k > 2 ? nn_ref_input(g, n, 2) : NULL };
	nn_tensor *out = nn_ref_output(g, n, 0);
	size_t count = (size_t)nn_ref_elements(out);
	if (count == 0)
		return NN_OK;
	if (k == 1) {
		unary_run(n, in[0], out, count);
		return NN_OK;
	}
	nn_ref_bcast bc;
	if (nn_ref_bcast_init(&bc, in, k, out) < 0)
		return nn_ref_fail(err, errlen, n, NN_ERR_SHAPE, "inputs do not broadcast to the output");
	switch (n->op) {
	case NN_OP_POW: {
		const float *x = in[0]->data, *y = in[1]->data;
		float *z = out->data;
		BCAST_EACH(bc, count, z[o] = powf(x[i0], y[i1]));
		break;
	}
	case NN_OP_LOGICAL_AND: {
		const uint8_t *x = in[0]->data, *y = in[1]->data;
		uint8_t *z = out->data;
		BCAST_EACH(bc, count, z[o] = x[i0] != 0 && y[i1] != 0);
		break;
	}
	case NN_OP_SELECT:
		select_run(&bc, in[0], in[1], in[2], out, count);
		break;
	default:
		compare_run(n, &bc, in[0], in[1], out, count);
		break;
	}
	return NN_OK;
}
