/*
 * FLOOR_DIV, FLOOR_MOD and EQUAL, broadcasting NumPy-style up to
 * NN_MAX_RANK (shapes align at their last dimension; a dimension of 1
 * stretches), with TensorFlow's semantics:
 *   - FLOOR_DIV and FLOOR_MOD take float32, int32 and int64 (not quantized)
 *     and write the same dtype. On integers the quotient rounds toward minus
 *     infinity and the remainder has the sign of the divisor (-7 // 2 = -4,
 *     -7 % 2 = 1, 7 % -2 = -1); a zero divisor is an error naming the node;
 *     the one overflowing case, MIN // -1, wraps to MIN (TensorFlow leaves it
 *     undefined). On floats, FLOOR_DIV is floor(x / y) and FLOOR_MOD is
 *     TensorFlow's fmod-based x - floor(x / y) * y, which carries the sign
 *     of y; division by zero follows IEEE (infinities and NaN).
 *   - EQUAL takes two inputs of one dtype (float32, float16, uint8, int8,
 *     int16, int32, int64, bool) and writes bool (one byte, 0 or 1). Floats
 *     compare as IEEE does: NaN equals nothing, -0.0 equals +0.0. Quantized
 *     inputs with different scales or zero points compare their real values.
 */
#include <math.h>

#include "nn/ref/shape_ops.h"

/*
 * The geometry of a broadcast: the output's shape (at least rank 1), each
 * input's element stride per output dimension (0 where it stretches), and an
 * odometer over all dimensions but the last, with both inputs' offsets at
 * the start of the current row.
 */
typedef struct bcast {
	int rank;
	int shape[NN_MAX_RANK];
	size_t sa[NN_MAX_RANK], sb[NN_MAX_RANK];
	int idx[NN_MAX_RANK];
	size_t ia, ib;
} bcast;

/* Returns 0, or -1 when a and b do not broadcast to out's shape. */
static int bcast_init(bcast *bc, const nn_tensor *a, const nn_tensor *b, const nn_tensor *out)
{
	int rank = out->rank;
	if (a->rank > rank || b->rank > rank)
		return -1;
	*bc = (bcast){ .rank = rank };
	size_t step_a = 1, step_b = 1;
	for (int d = rank - 1; d >= 0; d--) {
		int da = d - (rank - a->rank), db = d - (rank - b->rank);
		int dim_a = da >= 0 ? a->shape[da] : 1, dim_b = db >= 0 ? b->shape[db] : 1;
		if (dim_a != dim_b && dim_a != 1 && dim_b != 1)
			return -1;
		if (out->shape[d] != (dim_a == 1 ? dim_b : dim_a))
			return -1;
		bc->shape[d] = out->shape[d];
		bc->sa[d] = dim_a == 1 ? 0 : step_a;
		bc->sb[d] = dim_b == 1 ? 0 : step_b;
		step_a *= (size_t)dim_a;
		step_b *= (size_t)dim_b;
	}
	if (rank == 0) {
		/* Scalars: one row of one element. */
		bc->rank = 1;
		bc->shape[0] = 1;
	}
	return 0;
}

/* Moves to the next row; returns 0 after the last one. */
static int bcast_next(bcast *bc)
{
	for (int d = bc->rank - 2; d >= 0; d--) {
		bc->ia += bc->sa[d];
		bc->ib += bc->sb[d];
		if (++bc->idx[d] < bc->shape[d])
			return 1;
		bc->ia -= bc->sa[d] * (size_t)bc->shape[d];
		bc->ib -= bc->sb[d] * (size_t)bc->shape[d];
		bc->idx[d] = 0;
	}
	return 0;
}

/*
 * Runs BODY for every output element o, with ia and ib the matching input
 * elements. Declares the loop's variables in a block of its own; BODY may
 * return from the enclosing function.
 */
#define BCAST_LOOP(bc, BODY)                                                                  \
	do {                                                                                  \
		size_t o = 0, inner_ = (size_t)(bc).shape[(bc).rank - 1];                     \
		size_t sa_ = (bc).sa[(bc).rank - 1], sb_ = (bc).sb[(bc).rank - 1];            \
		do {                                                                          \
			size_t ia = (bc).ia, ib = (bc).ib;                                    \
			for (size_t j_ = 0; j_ < inner_; j_++, o++, ia += sa_, ib += sb_) {   \
				BODY;                                                         \
			}                                                                     \
		} while (bcast_next(&(bc)));                                                  \
	} while (0)

static int is_divmod(nn_op op)
{
	return op == NN_OP_FLOOR_DIV || op == NN_OP_FLOOR_MOD;
}

int nn_ref_broadcast_check(const nn_graph *g, const nn_node *n, char *msg, size_t len)
{
	const nn_tensor *a = nn_ref_input(g, n, 0), *b = nn_ref_input(g, n, 1);
	const nn_tensor *out = n->n_outputs == 1 ? nn_ref_output(g, n, 0) : NULL;
	if (n->n_inputs != 2 || !a || !b || !out)
		return nn_ref_fail(msg, len, n, NN_ERR_FORMAT, "expects two inputs and one output");
	nn_dtype dt = a->dtype;
	if (b->dtype != dt)
		return nn_ref_fail(msg, len, n, NN_ERR_UNSUPPORTED, "mixed %s and %s inputs are not supported",
				   nn_dtype_name(dt), nn_dtype_name(b->dtype));
	if (is_divmod(n->op)) {
		if (dt != NN_F32 && dt != NN_I32 && dt != NN_I64)
			return nn_ref_fail(msg, len, n, NN_ERR_UNSUPPORTED, "%s inputs are not supported",
					   nn_dtype_name(dt));
		if (out->dtype != dt)
			return nn_ref_fail(msg, len, n, NN_ERR_UNSUPPORTED, "%s output with %s inputs is not supported",
					   nn_dtype_name(out->dtype), nn_dtype_name(dt));
		if (a->quant.count > 0 || b->quant.count > 0 || out->quant.count > 0)
			return nn_ref_fail(msg, len, n, NN_ERR_UNSUPPORTED, "quantized %s is not supported",
					   nn_dtype_name(dt));
	} else if (out->dtype != NN_BOOL) {
		return nn_ref_fail(msg, len, n, NN_ERR_UNSUPPORTED, "%s output is not supported (EQUAL writes bool)",
				   nn_dtype_name(out->dtype));
	}
	/* EQUAL takes every dtype of the IR; the dispatcher has checked that it is a known one. */
	bcast bc;
	if (bcast_init(&bc, a, b, out) < 0) {
		char sa[NN_REF_SHAPE_BUF], sb[NN_REF_SHAPE_BUF], so[NN_REF_SHAPE_BUF];
		return nn_ref_fail(msg, len, n, NN_ERR_SHAPE, "inputs %s and %s do not broadcast to output %s",
				   nn_ref_shape_str(a, sa), nn_ref_shape_str(b, sb), nn_ref_shape_str(out, so));
	}
	return 0;
}

/*
 * Integer floor division and modulo, for a divisor that is not zero. x / -1
 * and x % -1 are computed apart: MIN / -1 overflows, which C leaves
 * undefined, and MIN % -1 with it.
 */
#define DEFINE_FLOOR(T, UT, suffix)                                                        \
	static inline T floor_div_##suffix(T x, T y)                                       \
	{                                                                                  \
		if (y == -1)                                                               \
			return (T)(0u - (UT)x);                                            \
		T q = x / y;                                                               \
		return (x % y != 0 && ((x < 0) != (y < 0))) ? q - 1 : q;                   \
	}                                                                                  \
	static inline T floor_mod_##suffix(T x, T y)                                       \
	{                                                                                  \
		if (y == -1)                                                               \
			return 0;                                                          \
		T r = x % y;                                                               \
		return (r != 0 && ((r < 0) != (y < 0))) ? r + y : r;                       \
	}

DEFINE_FLOOR(int32_t, uint32_t, i32)
DEFINE_FLOOR(int64_t, uint64_t, i64)

/* TensorFlow's floor_fmod: the truncated remainder, moved by y when its sign differs from y's. */
static inline float floor_mod_f32(float x, float y)
{
	float r = fmodf(x, y);
	return (r != 0.0f && ((y < 0.0f) != (r < 0.0f))) ? r + y : r;
}

static int div_by_zero(const nn_node *n, size_t ib, char *err, size_t errlen)
{
	return nn_ref_fail(err, errlen, n, NN_ERR_ARG, "integer division by zero (element %zu of the divisor)", ib);
}

static int divmod_run(bcast bc, const nn_node *n, const nn_tensor *a, const nn_tensor *b, nn_tensor *out,
		      char *err, size_t errlen)
{
	int div = n->op == NN_OP_FLOOR_DIV;
	switch (a->dtype) {
	case NN_F32: {
		const float *x = a->data, *y = b->data;
		float *z = out->data;
		if (div)
			BCAST_LOOP(bc, z[o] = floorf(x[ia] / y[ib]));
		else
			BCAST_LOOP(bc, z[o] = floor_mod_f32(x[ia], y[ib]));
		break;
	}
	case NN_I32: {
		const int32_t *x = a->data, *y = b->data;
		int32_t *z = out->data;
		BCAST_LOOP(bc, {
			if (y[ib] == 0)
				return div_by_zero(n, ib, err, errlen);
			z[o] = div ? floor_div_i32(x[ia], y[ib]) : floor_mod_i32(x[ia], y[ib]);
		});
		break;
	}
	default: {
		const int64_t *x = a->data, *y = b->data;
		int64_t *z = out->data;
		BCAST_LOOP(bc, {
			if (y[ib] == 0)
				return div_by_zero(n, ib, err, errlen);
			z[o] = div ? floor_div_i64(x[ia], y[ib]) : floor_mod_i64(x[ia], y[ib]);
		});
		break;
	}
	}
	return NN_OK;
}

/*
 * Equal shapes need no index bookkeeping. Restrict parameters and blocks of
 * a fixed 16 are what GCC vectorizes at -O2, where its cost model refuses
 * loops that need a remainder.
 */
static void equal_f32_flat(uint8_t *restrict z, const float *restrict x, const float *restrict y, size_t count)
{
	size_t i = 0;
	for (; i + 16 <= count; i += 16)
		for (int k = 0; k < 16; k++)
			z[i + k] = x[i + k] == y[i + k];
	for (; i < count; i++)
		z[i] = x[i] == y[i];
}

static void equal_run(bcast bc, const nn_tensor *a, const nn_tensor *b, nn_tensor *out)
{
	uint8_t *z = out->data;
	if (!nn_ref_same_encoding(a, b)) {
		/* Different quantization: the real values are compared. */
		BCAST_LOOP(bc, z[o] = nn_ref_read(a, ia) == nn_ref_read(b, ib));
		return;
	}
	switch (a->dtype) {
	case NN_F32: {
		const float *x = a->data, *y = b->data;
		/* CenterNet compares 1.3M heat-map values with their max pool on every frame. */
		if (nn_ref_same_shape(a, out) && nn_ref_same_shape(b, out)) {
			equal_f32_flat(z, x, y, (size_t)nn_ref_elements(out));
			break;
		}
		BCAST_LOOP(bc, z[o] = x[ia] == y[ib]);
		break;
	}
	case NN_F16: {
		const uint16_t *x = a->data, *y = b->data;
		BCAST_LOOP(bc, z[o] = nn_ref_f16_to_f32(x[ia]) == nn_ref_f16_to_f32(y[ib]));
		break;
	}
	case NN_U8:
	case NN_I8: {
		const uint8_t *x = a->data, *y = b->data;
		BCAST_LOOP(bc, z[o] = x[ia] == y[ib]);
		break;
	}
	case NN_BOOL: {
		const uint8_t *x = a->data, *y = b->data;
		BCAST_LOOP(bc, z[o] = (x[ia] != 0) == (y[ib] != 0));
		break;
	}
	case NN_I16: {
		const int16_t *x = a->data, *y = b->data;
		BCAST_LOOP(bc, z[o] = x[ia] == y[ib]);
		break;
	}
	case NN_I32: {
		const int32_t *x = a->data, *y = b->data;
		BCAST_LOOP(bc, z[o] = x[ia] == y[ib]);
		break;
	}
	case NN_I64: {
		const int64_t *x = a->data, *y = b->data;
		BCAST_LOOP(bc, z[o] = x[ia] == y[ib]);
		break;
	}
	default:
		break;
	}
}

int nn_ref_broadcast_run(nn_graph *g, const nn_node *n, char *err, size_t errlen)
{
	const nn_tensor *a = nn_ref_input(g, n, 0), *b = nn_ref_input(g, n, 1);
	nn_tensor *out = nn_ref_output(g, n, 0);
	if (nn_ref_elements(out) == 0)
		return NN_OK;
	bcast bc;
	if (bcast_init(&bc, a, b, out) < 0)
		return nn_ref_fail(err, errlen, n, NN_ERR_SHAPE, "inputs do not broadcast to the output");
	if (is_divmod(n->op))
		return divmod_run(bc, n, a, b, out, err, errlen);
	equal_run(bc, a, b, out);
	return NN_OK;
}
