/*
 * SQRT, and ADD, SUB, MUL, DIV, MAXIMUM and MINIMUM on plain integers
 * (uint8, int8, int16 without quantization, int32, int64), which
 * TensorFlow Lite models use for index arithmetic (MoveNet turns a flat
 * heatmap index into row and column with FLOOR_DIV, MUL and SUB). The float
 * and quantized ADD, SUB and MUL are in elementwise.c.
 *
 * SQRT takes float32, and uint8 or int8 computed through real values
 * (dequantize, square root, quantize with rounding), which is what
 * TensorFlow Lite's quantized kernels approximate. A negative input gives
 * NaN in float32, as sqrtf does, and the zero point in quantized outputs.
 *
 * Integer arithmetic wraps modulo 2^bits, as TensorFlow's kernels do on
 * two's-complement machines; it is computed on unsigned values so that the
 * wrap is defined C. Operands broadcast NumPy-style. The fused activations
 * clamp the integer result to [0, inf), [0, 6] or [-1, 1].
 */
#include <math.h>
#include <string.h>

#include "nn/ref/index_ops.h"
#include "nn/ref/quant.h"

static int valid(const nn_node *n, const nn_tensor *t, const char *role, char *why, size_t whylen)
{
	char buf[NN_REF_SHAPE_BUF];
	if (!t)
		return nn_ref_fail(why, whylen, n, 0, "%s is missing", role);
	if (nn_ref_elements(t) < 0)
		return nn_ref_fail(why, whylen, n, 0, "%s has an invalid shape %s", role, nn_ref_shape_str(t, buf));
	return 1;
}

/* SQRT. */

static int sqrt_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen)
{
	const nn_tensor *in = nn_ref_input(g, n, 0);
	const nn_tensor *out = n->n_outputs == 1 ? nn_ref_output(g, n, 0) : NULL;
	if (n->n_inputs != 1 || n->n_outputs != 1)
		return nn_ref_fail(why, whylen, n, 0, "expects one input and one output");
	if (!valid(n, in, "input", why, whylen) || !valid(n, out, "output", why, whylen))
		return 0;
	if (in->dtype != NN_F32 && in->dtype != NN_U8 && in->dtype != NN_I8)
		return nn_ref_fail(why, whylen, n, 0, "%s input is not supported", nn_dtype_name(in->dtype));
	if (out->dtype != in->dtype)
		return nn_ref_fail(why, whylen, n, 0, "%s output with %s input is not supported",
				   nn_dtype_name(out->dtype), nn_dtype_name(in->dtype));
	if (!nn_ref_same_shape(in, out)) {
		char a[NN_REF_SHAPE_BUF], b[NN_REF_SHAPE_BUF];
		return nn_ref_fail(why, whylen, n, 0, "input %s and output %s differ in shape", nn_ref_shape_str(in, a),
				   nn_ref_shape_str(out, b));
	}
	return nn_ref_check_quant(n, in, "input", 0, why, whylen) &&
	       nn_ref_check_quant(n, out, "output", 0, why, whylen);
}

static int sqrt_run(nn_graph *g, const nn_node *n)
{
	const nn_tensor *in = nn_ref_input(g, n, 0);
	nn_tensor *out = nn_ref_output(g, n, 0);
	size_t count = (size_t)nn_ref_elements(in);
	if (in->dtype == NN_F32) {
		const float *x = in->data;
		float *y = out->data;
		for (size_t i = 0; i < count; i++)
			y[i] = sqrtf(x[i]);
		return NN_OK;
	}
	for (size_t i = 0; i < count; i++) {
		float v = nn_ref_read(in, i);
		nn_ref_write(out, i, v < 0 ? NAN : sqrtf(v));
	}
	return NN_OK;
}

/*
 * Integer ADD, SUB, MUL, DIV, POW, MAXIMUM, MINIMUM: wrapping around on overflow
 * to the dtype's width, as TensorFlow's int32 kernels and NumPy (ONNX's
 * uint8, int8 and int16 tests) do. DIV truncates toward zero, as C and ONNX
 * Runtime do; a division by zero gives 0 rather than a trap.
 */

static int plain_int(nn_dtype t)
{
	return t == NN_U8 || t == NN_I8 || t == NN_I16 || t == NN_I32 || t == NN_I64;
}

/* r wrapped to the width of dtype t and sign-extended (zero-extended for uint8). */
static int64_t wrap_to(nn_dtype t, uint64_t r)
{
	switch (t) {
	case NN_U8: return (int64_t)(uint8_t)r;
	case NN_I8: { uint8_t u = (uint8_t)r; int8_t w; memcpy(&w, &u, 1); return w; }
	case NN_I16: { uint16_t u = (uint16_t)r; int16_t w; memcpy(&w, &u, 2); return w; }
	case NN_I32: { uint32_t u = (uint32_t)r; int32_t w; memcpy(&w, &u, 4); return w; }
	default: { int64_t w; memcpy(&w, &r, 8); return w; }
	}
}

static void store_int(nn_tensor *t, size_t i, int64_t v)
{
	switch (t->dtype) {
	case NN_U8: ((uint8_t *)t->data)[i] = (uint8_t)v; break;
	case NN_I8: ((int8_t *)t->data)[i] = (int8_t)v; break;
	case NN_I16: ((int16_t *)t->data)[i] = (int16_t)v; break;
	case NN_I32: ((int32_t *)t->data)[i] = (int32_t)v; break;
	default: ((int64_t *)t->data)[i] = v; break;
	}
}

/*
 * x to the power y, wrapping like repeated multiplication. A negative
 * exponent gives the real result truncated toward zero: 1 and -1 keep their
 * magnitude, every other base gives 0 (0 too, where the real result is
 * infinite).
 */
static uint64_t int_pow(int64_t x, int64_t y)
{
	if (y < 0)
		return x == 1 ? 1 : x == -1 ? ((y & 1) ? (uint64_t)-1 : 1) : 0;
	uint64_t r = 1, b = (uint64_t)x;
	for (uint64_t e = (uint64_t)y; e; e >>= 1) {
		if (e & 1)
			r *= b;
		b *= b;
	}
	return r;
}

static uint64_t int_div(int64_t x, int64_t y)
{
	if (y == 0)
		return 0;
	if (y == -1)
		return 0 - (uint64_t)x; /* INT64_MIN / -1 wraps instead of trapping */
	return (uint64_t)(x / y);
}

static int int_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen)
{
	const nn_tensor *a = nn_ref_input(g, n, 0), *b = nn_ref_input(g, n, 1);
	const nn_tensor *out = n->n_outputs == 1 ? nn_ref_output(g, n, 0) : NULL;
	if (n->n_inputs != 2 || n->n_outputs != 1)
		return nn_ref_fail(why, whylen, n, 0, "expects two inputs and one output");
	if (!valid(n, a, "input 0", why, whylen) || !valid(n, b, "input 1", why, whylen) ||
	    !valid(n, out, "output", why, whylen))
		return 0;
	if (!plain_int(a->dtype) || b->dtype != a->dtype || out->dtype != a->dtype)
		return nn_ref_fail(why, whylen, n, 0, "integer arithmetic on %s and %s into %s, expected one of uint8, "
				   "int8, int16, int32 or int64 throughout",
				   nn_dtype_name(a->dtype), nn_dtype_name(b->dtype), nn_dtype_name(out->dtype));
	if (a->quant.count || b->quant.count || out->quant.count)
		return nn_ref_fail(why, whylen, n, 0, "quantized %s arithmetic is not supported",
				   nn_dtype_name(a->dtype));
	if ((unsigned)n->p.act > NN_ACT_RELU_N1_TO_1)
		return nn_ref_fail(why, whylen, n, 0, "unknown fused activation %d", (int)n->p.act);
	char sa[NN_REF_SHAPE_BUF], sb[NN_REF_SHAPE_BUF], so[NN_REF_SHAPE_BUF];
	int rank = out->rank;
	int fits = a->rank <= rank && b->rank <= rank;
	for (int d = 0; fits && d < rank; d++) {
		int da = d - (rank - a->rank), db = d - (rank - b->rank);
		int xa = da >= 0 ? a->shape[da] : 1, xb = db >= 0 ? b->shape[db] : 1;
		fits = (xa == xb || xa == 1 || xb == 1) && out->shape[d] == (xa == 1 ? xb : xa);
	}
	if (!fits)
		return nn_ref_fail(why, whylen, n, 0, "inputs %s and %s do not broadcast to output %s",
				   nn_ref_shape_str(a, sa), nn_ref_shape_str(b, sb), nn_ref_shape_str(out, so));
	return 1;
}

static int int_run(nn_graph *g, const nn_node *n)
{
	const nn_tensor *a = nn_ref_input(g, n, 0), *b = nn_ref_input(g, n, 1);
	nn_tensor *out = nn_ref_output(g, n, 0);
	int rank = out->rank;
	size_t sa[NN_MAX_RANK] = { 0 }, sb[NN_MAX_RANK] = { 0 }, step_a = 1, step_b = 1;
	for (int d = rank - 1; d >= 0; d--) {
		int da = d - (rank - a->rank), db = d - (rank - b->rank);
		int xa = da >= 0 ? a->shape[da] : 1, xb = db >= 0 ? b->shape[db] : 1;
		sa[d] = xa == 1 ? 0 : step_a;
		sb[d] = xb == 1 ? 0 : step_b;
		step_a *= (size_t)xa;
		step_b *= (size_t)xb;
	}
	int64_t lo = INT64_MIN, hi = INT64_MAX;
	switch (n->p.act) {
	case NN_ACT_RELU: lo = 0; break;
	case NN_ACT_RELU6: lo = 0, hi = 6; break;
	case NN_ACT_RELU_N1_TO_1: lo = -1, hi = 1; break;
	default: break;
	}
	size_t count = (size_t)nn_ref_elements(out);
	int idx[NN_MAX_RANK] = { 0 };
	size_t ia = 0, ib = 0;
	for (size_t i = 0; i < count; i++) {
		uint64_t x = (uint64_t)nn_ref_load_int(a, ia), y = (uint64_t)nn_ref_load_int(b, ib), r;
		switch (n->op) {
		case NN_OP_ADD: r = x + y; break;
		case NN_OP_SUB: r = x - y; break;
		case NN_OP_MUL: r = x * y; break;
		case NN_OP_DIV: r = int_div((int64_t)x, (int64_t)y); break;
		case NN_OP_POW: r = int_pow((int64_t)x, (int64_t)y); break;
		case NN_OP_MAXIMUM: r = (int64_t)x > (int64_t)y ? x : y; break;
		default: r = (int64_t)x < (int64_t)y ? x : y; break;
		}
		int64_t v = wrap_to(out->dtype, r);
		v = v < lo ? lo : v > hi ? hi : v;
		store_int(out, i, v);
		for (int d = rank - 1; d >= 0; d--) {
			ia += sa[d];
			ib += sb[d];
			if (++idx[d] < out->shape[d])
				break;
			ia -= sa[d] * (size_t)out->shape[d];
			ib -= sb[d] * (size_t)out->shape[d];
			idx[d] = 0;
		}
	}
	return NN_OK;
}

int nn_ref_math_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen)
{
	switch (n->op) {
	case NN_OP_SQRT:
		return sqrt_supports(g, n, why, whylen);
	case NN_OP_ADD:
	case NN_OP_SUB:
	case NN_OP_MUL:
	case NN_OP_DIV:
	case NN_OP_POW:
	case NN_OP_MAXIMUM:
	case NN_OP_MINIMUM:
		return int_supports(g, n, why, whylen);
	default:
		return nn_ref_fail(why, whylen, n, 0, "no reference kernel");
	}
}

int nn_ref_math_run(nn_graph *g, const nn_node *n, char *err, size_t errlen)
{
	if (!nn_ref_math_supports(g, n, err, errlen))
		return NN_ERR_UNSUPPORTED;
	switch (n->op) {
	case NN_OP_SQRT:
		return sqrt_run(g, n);
	case NN_OP_ADD:
	case NN_OP_SUB:
	case NN_OP_MUL:
	case NN_OP_DIV:
	case NN_OP_POW:
	case NN_OP_MAXIMUM:
	case NN_OP_MINIMUM:
		return int_run(g, n);
	default:
		return nn_ref_fail(err, errlen, n, NN_ERR_UNSUPPORTED, "no reference kernel");
	}
}
