/*
 * CAST between any two dtypes of the IR (float32, float16, uint8, int8,
 * int16, int32, int64, bool), on raw values: quantization parameters are
 * ignored, as TensorFlow Lite's CAST ignores them. TensorFlow's semantics:
 *   - float to integer truncates toward zero (-1.7 -> -1). Where TensorFlow
 *     leaves it undefined we choose: NaN gives 0, and values beyond the
 *     target's range clamp to its minimum or maximum (so -3.0 -> uint8 is 0);
 *   - integer to a narrower integer wraps modulo 2^bits, as C++'s
 *     static_cast does in TensorFlow (int32 300 -> uint8 44, -1 -> 255);
 *   - anything to bool is x != 0 (NaN is true); bool to a number is 0 or 1;
 *   - to float16 rounds to nearest even, overflowing to infinity; float16 to
 *     anything goes through its exact float32 value.
 */
#include <math.h>
#include <string.h>

#include "nn/ref/shape_ops.h"

int nn_ref_cast_check(const nn_graph *g, const nn_node *n, char *msg, size_t len)
{
	const nn_tensor *in = nn_ref_input(g, n, 0);
	const nn_tensor *out = n->n_outputs == 1 ? nn_ref_output(g, n, 0) : NULL;
	if (n->n_inputs != 1 || !in || !out)
		return nn_ref_fail(msg, len, n, NN_ERR_FORMAT, "expects one input and one output");
	/* Every dtype casts to every other; the dispatcher has checked that both are known. */
	if (!nn_ref_same_shape(in, out)) {
		char a[NN_REF_SHAPE_BUF], b[NN_REF_SHAPE_BUF];
		return nn_ref_fail(msg, len, n, NN_ERR_SHAPE, "input %s and output %s differ in shape",
				   nn_ref_shape_str(in, a), nn_ref_shape_str(out, b));
	}
	return 0;
}

/* x truncated toward zero and clamped to [lo, hi]; NaN gives 0. */
static inline int64_t float_to_int(float x, int64_t lo, int64_t hi)
{
	if (isnan(x))
		return 0;
	double t = trunc((double)x);
	if (t <= (double)lo)
		return lo;
	/* (double)INT64_MAX rounds up to 2^63, so >= catches everything beyond it. */
	if (t >= (double)hi)
		return hi;
	return (int64_t)t;
}

/*
 * Values go through a small buffer, a chunk at a time, as float (from the
 * float types, exact) or as int64 (from the integer types and bool, exact):
 * each load and store loop then has its dtype switch outside the loop.
 */
#define CHUNK 256

static void load_floats(const nn_tensor *t, size_t base, size_t m, float *v)
{
	if (t->dtype == NN_F32) {
		memcpy(v, (const float *)t->data + base, m * sizeof *v);
	} else {
		const uint16_t *src = (const uint16_t *)t->data + base;
		for (size_t j = 0; j < m; j++)
			v[j] = nn_ref_f16_to_f32(src[j]);
	}
}

static void load_ints(const nn_tensor *t, size_t base, size_t m, int64_t *v)
{
	switch (t->dtype) {
	case NN_U8:
		for (size_t j = 0; j < m; j++)
			v[j] = ((const uint8_t *)t->data)[base + j];
		break;
	case NN_BOOL:
		for (size_t j = 0; j < m; j++)
			v[j] = ((const uint8_t *)t->data)[base + j] != 0;
		break;
	case NN_I8:
		for (size_t j = 0; j < m; j++)
			v[j] = ((const int8_t *)t->data)[base + j];
		break;
	case NN_I16:
		for (size_t j = 0; j < m; j++)
			v[j] = ((const int16_t *)t->data)[base + j];
		break;
	case NN_I32:
		for (size_t j = 0; j < m; j++)
			v[j] = ((const int32_t *)t->data)[base + j];
		break;
	case NN_I64:
		memcpy(v, (const int64_t *)t->data + base, m * sizeof *v);
		break;
	default:
		break;
	}
}

static void store_floats(nn_tensor *t, size_t base, size_t m, const float *v)
{
	switch (t->dtype) {
	case NN_F32:
		memcpy((float *)t->data + base, v, m * sizeof *v);
		break;
	case NN_F16:
		for (size_t j = 0; j < m; j++)
			((uint16_t *)t->data)[base + j] = nn_ref_f32_to_f16(v[j]);
		break;
	case NN_BOOL:
		for (size_t j = 0; j < m; j++)
			((uint8_t *)t->data)[base + j] = v[j] != 0.0f;
		break;
	case NN_U8:
		for (size_t j = 0; j < m; j++)
			((uint8_t *)t->data)[base + j] = (uint8_t)float_to_int(v[j], 0, UINT8_MAX);
		break;
	case NN_I8:
		for (size_t j = 0; j < m; j++)
			((int8_t *)t->data)[base + j] = (int8_t)float_to_int(v[j], INT8_MIN, INT8_MAX);
		break;
	case NN_I16:
		for (size_t j = 0; j < m; j++)
			((int16_t *)t->data)[base + j] = (int16_t)float_to_int(v[j], INT16_MIN, INT16_MAX);
		break;
	case NN_I32:
		for (size_t j = 0; j < m; j++)
			((int32_t *)t->data)[base + j] = (int32_t)float_to_int(v[j], INT32_MIN, INT32_MAX);
		break;
	case NN_I64:
		for (size_t j = 0; j < m; j++)
			((int64_t *)t->data)[base + j] = float_to_int(v[j], INT64_MIN, INT64_MAX);
		break;
	default:
		break;
	}
}

/*
 * Narrowing goes through the unsigned type of the target's width, which C
 * defines as reduction modulo 2^bits; the conversion of that to the signed
 * type is two's complement on every compiler we build with (GCC, Clang).
 */
static void store_ints(nn_tensor *t, size_t base, size_t m, const int64_t *v)
{
	switch (t->dtype) {
	case NN_F32:
		for (size_t j = 0; j < m; j++)
			((float *)t->data)[base + j] = (float)v[j];
		break;
	case NN_F16:
		for (size_t j = 0; j < m; j++)
			((uint16_t *)t->data)[base + j] = nn_ref_f32_to_f16((float)v[j]);
		break;
	case NN_BOOL:
		for (size_t j = 0; j < m; j++)
			((uint8_t *)t->data)[base + j] = v[j] != 0;
		break;
	case NN_U8:
		for (size_t j = 0; j < m; j++)
			((uint8_t *)t->data)[base + j] = (uint8_t)(uint64_t)v[j];
		break;
	case NN_I8:
		for (size_t j = 0; j < m; j++)
			((int8_t *)t->data)[base + j] = (int8_t)(uint8_t)(uint64_t)v[j];
		break;
	case NN_I16:
		for (size_t j = 0; j < m; j++)
			((int16_t *)t->data)[base + j] = (int16_t)(uint16_t)(uint64_t)v[j];
		break;
	case NN_I32:
		for (size_t j = 0; j < m; j++)
			((int32_t *)t->data)[base + j] = (int32_t)(uint32_t)(uint64_t)v[j];
		break;
	case NN_I64:
		memcpy((int64_t *)t->data + base, v, m * sizeof *v);
		break;
	default:
		break;
	}
}

int nn_ref_cast_run(nn_graph *g, const nn_node *n, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	const nn_tensor *in = nn_ref_input(g, n, 0);
	nn_tensor *out = nn_ref_output(g, n, 0);
	size_t count = (size_t)nn_ref_elements(in);
	if (count == 0)
		return NN_OK;
	if (in->dtype == out->dtype) {
		/* A bool holding something other than 0 or 1 comes out as 1, as any other cast to bool. */
		if (in->dtype == NN_BOOL)
			for (size_t i = 0; i < count; i++)
				((uint8_t *)out->data)[i] = ((const uint8_t *)in->data)[i] != 0;
		else
			memmove(out->data, in->data, count * nn_dtype_size(in->dtype));
		return NN_OK;
	}
	if (in->dtype == NN_BOOL && out->dtype == NN_F32) {
		/* The common mask-to-float cast, without the generic path's int64 round trip. */
		const uint8_t *x = in->data;
		float *y = out->data;
		for (size_t i = 0; i < count; i++)
			y[i] = x[i] != 0 ? 1.0f : 0.0f;
		return NN_OK;
	}
	int from_float = in->dtype == NN_F32 || in->dtype == NN_F16;
	float fv[CHUNK];
	int64_t iv[CHUNK];
	for (size_t base = 0; base < count; base += CHUNK) {
		size_t m = count - base < CHUNK ? count - base : CHUNK;
		if (from_float) {
			load_floats(in, base, m, fv);
			store_floats(out, base, m, fv);
		} else {
			load_ints(in, base, m, iv);
			store_ints(out, base, m, iv);
		}
	}
	return NN_OK;
}
