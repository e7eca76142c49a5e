/*
 * Elementwise ops. Binary ones (ADD, SUB, MUL, DIV, MAXIMUM, MINIMUM and
 * PRELU, whose second operand is alpha) broadcast NumPy-style up to
 * NN_MAX_RANK; unary ones are the activations.
 *
 * int32 tensors that are not quantized (TensorFlow's index arithmetic) take
 * ADD, SUB, MUL, MAXIMUM and MINIMUM exactly, wrapping around on overflow as
 * TensorFlow does, with no fused activation.
 *
 * Quantized tensors are computed through their real values: dequantize,
 * apply the op in floating point, quantize the result with rounding. That is
 * the exact result TensorFlow Lite's fixed-point kernels approximate, so the
 * two agree within one quantization step, and it works for any mix of scales.
 */
#include <math.h>

#include "nn/ref/quant.h"

static int is_binary(nn_op op)
{
	return op == NN_OP_ADD || op == NN_OP_SUB || op == NN_OP_MUL || op == NN_OP_DIV || op == NN_OP_MAXIMUM ||
	       op == NN_OP_MINIMUM || op == NN_OP_PRELU;
}

static int is_int_binary(nn_op op)
{
	return op == NN_OP_ADD || op == NN_OP_SUB || op == NN_OP_MUL || op == NN_OP_MAXIMUM || op == NN_OP_MINIMUM;
}

/* Only the arithmetic ops carry a fused activation; for the others the union member is not theirs. */
static nn_activation fused_activation(const nn_node *n)
{
	switch (n->op) {
	case NN_OP_ADD:
	case NN_OP_SUB:
	case NN_OP_MUL:
	case NN_OP_DIV:
		return n->p.act;
	default:
		return NN_ACT_NONE;
	}
}

int nn_ref_elementwise_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen)
{
	int binary = is_binary(n->op);
	const nn_tensor *a = nn_ref_input(g, n, 0), *b = binary ? nn_ref_input(g, n, 1) : NULL;
	const nn_tensor *out = n->n_outputs == 1 ? nn_ref_output(g, n, 0) : NULL;
	if (!a || (binary && !b) || !out)
		return nn_ref_fail(why, whylen, n, 0, binary ? "expects two inputs and one output"
							      : "expects one input and one output");
	if ((unsigned)fused_activation(n) > NN_ACT_RELU_N1_TO_1)
		return nn_ref_fail(why, whylen, n, 0, "unknown fused activation %d", (int)fused_activation(n));
	nn_dtype dt = a->dtype;
	if (dt == NN_I32 && is_int_binary(n->op) && a->quant.count == 0) {
		if ((b && (b->dtype != NN_I32 || b->quant.count != 0)) || out->dtype != NN_I32 || out->quant.count != 0)
			return nn_ref_fail(why, whylen, n, 0, "int32 inputs need an int32 output and no quantization");
		if (fused_activation(n) != NN_ACT_NONE)
			return nn_ref_fail(why, whylen, n, 0, "int32 inputs take no fused activation");
		return 1;
	}
	if (dt != NN_F32 && dt != NN_U8 && dt != NN_I8)
		return nn_ref_fail(why, whylen, n, 0, "%s input is not supported", nn_dtype_name(dt));
	if (b && b->dtype != dt)
		return nn_ref_fail(why, whylen, n, 0, "mixed %s and %s inputs are not supported", nn_dtype_name(dt),
				   nn_dtype_name(b->dtype));
	if (out->dtype != dt)
		return nn_ref_fail(why, whylen, n, 0, "%s output with %s input is not supported",
				   nn_dtype_name(out->dtype), nn_dtype_name(dt));
	return nn_ref_check_quant(n, a, "input", 0, why, whylen) &&
	       (!b || nn_ref_check_quant(n, b, n->op == NN_OP_PRELU ? "alpha" : "second input", 0, why, whylen)) &&
	       nn_ref_check_quant(n, out, "output", 0, why, whylen);
}

/* Float tensors are read directly; the general path costs a dtype switch per element. */
static inline float get(const nn_tensor *t, size_t i)
{
	return t->dtype == NN_F32 ? ((const float *)t->data)[i] : nn_ref_read(t, i);
}

static inline void put(nn_tensor *t, size_t i, float v)
{
	if (t->dtype == NN_F32)
		((float *)t->data)[i] = v;
	else
		nn_ref_write(t, i, v);
}

static float binary_op(nn_op op, float x, float y)
{
	switch (op) {
	case NN_OP_ADD:
		return x + y;
	case NN_OP_SUB:
		return x - y;
	case NN_OP_MUL:
		return x * y;
	case NN_OP_DIV:
		return x / y;
	case NN_OP_MAXIMUM:
		return x > y ? x : y;
	case NN_OP_MINIMUM:
		return x < y ? x : y;
	case NN_OP_PRELU:
		return x >= 0.0f ? x : x * y;
	default:
		return 0.0f;
	}
}

/* Wraps like TensorFlow's int32 kernels: the arithmetic is done on uint32_t, where overflow is defined. */
static int32_t int_binary_op(nn_op op, int32_t x, int32_t y)
{
	switch (op) {
	case NN_OP_ADD:
		return (int32_t)((uint32_t)x + (uint32_t)y);
	case NN_OP_SUB:
		return (int32_t)((uint32_t)x - (uint32_t)y);
	case NN_OP_MUL:
		return (int32_t)((uint32_t)x * (uint32_t)y);
	case NN_OP_MAXIMUM:
		return x > y ? x : y;
	case NN_OP_MINIMUM:
		return x < y ? x : y;
	default:
		return 0;
	}
}

static int binary_run(nn_graph *g, const nn_node *n, char *err, size_t errlen)
{
	const nn_tensor *a = nn_ref_input(g, n, 0), *b = nn_ref_input(g, n, 1);
	nn_tensor *out = nn_ref_output(g, n, 0);
	char sa[NN_REF_SHAPE_BUF], sb[NN_REF_SHAPE_BUF], so[NN_REF_SHAPE_BUF];
	int rank = out->rank;
	if (a->rank > rank || b->rank > rank)
		goto mismatch;

	/*
	 * Shapes align at their last dimension. An input dimension of 1 is
	 * broadcast (stride 0); any other must equal the output's, and the
	 * output's must be what broadcasting gives.
	 */
	size_t stride_a[NN_MAX_RANK], stride_b[NN_MAX_RANK];
	size_t step_a = 1, step_b = 1;
	for (int d = rank - 1; d >= 0; d--) {
		int da = d - (rank - a->rank), db = d - (rank - b->rank);
		int dim_a = da >= 0 ? a->shape[da] : 1, dim_b = db >= 0 ? b->shape[db] : 1;
		if (dim_a != dim_b && dim_a != 1 && dim_b != 1)
			goto mismatch;
		int expect = dim_a == 1 ? dim_b : dim_a;
		if (out->shape[d] != expect)
			goto mismatch;
		stride_a[d] = dim_a == 1 ? 0 : step_a;
		stride_b[d] = dim_b == 1 ? 0 : step_b;
		step_a *= (size_t)dim_a;
		step_b *= (size_t)dim_b;
	}

	float lo, hi;
	nn_ref_act_range(fused_activation(n), &lo, &hi);
	size_t count = (size_t)nn_ref_elements(out);
	int index[NN_MAX_RANK] = { 0 };
	size_t ia = 0, ib = 0;
	int ints = a->dtype == NN_I32;
	for (size_t i = 0; i < count; i++) {
		if (ints) {
			((int32_t *)out->data)[i] =
				int_binary_op(n->op, ((const int32_t *)a->data)[ia], ((const int32_t *)b->data)[ib]);
		} else {
			float v = binary_op(n->op, get(a, ia), get(b, ib));
			put(out, i, v < lo ? lo : v > hi ? hi : v);
		}
		/* Advance the multi-index like an odometer, moving both input offsets with it. */
		for (int d = rank - 1; d >= 0; d--) {
			ia += stride_a[d], ib += stride_b[d];
			if (++index[d] < out->shape[d])
				break;
			ia -= stride_a[d] * (size_t)out->shape[d];
			ib -= stride_b[d] * (size_t)out->shape[d];
			index[d] = 0;
		}
	}
	return NN_OK;

mismatch:
	return nn_ref_fail(err, errlen, n, NN_ERR_SHAPE, "inputs %s and %s do not broadcast to output %s",
			   nn_ref_shape_str(a, sa), nn_ref_shape_str(b, sb), nn_ref_shape_str(out, so));
}

static float unary_op(const nn_node *n, float x)
{
	switch (n->op) {
	case NN_OP_LOGISTIC:
		return 1.0f / (1.0f + expf(-x));
	case NN_OP_TANH:
		return tanhf(x);
	case NN_OP_RELU:
		return x > 0.0f ? x : 0.0f;
	case NN_OP_RELU6:
		return x < 0.0f ? 0.0f : x > 6.0f ? 6.0f : x;
	case NN_OP_RELU_N1_TO_1:
		return x < -1.0f ? -1.0f : x > 1.0f ? 1.0f : x;
	case NN_OP_HARD_SWISH: {
		float gate = x + 3.0f;
		gate = gate < 0.0f ? 0.0f : gate > 6.0f ? 6.0f : gate;
		return x * gate / 6.0f;
	}
	case NN_OP_LEAKY_RELU:
		return x > 0.0f ? x : x * n->p.leaky_relu.alpha;
	default:
		return 0.0f;
	}
}

int nn_ref_elementwise_run(nn_graph *g, const nn_node *n, char *err, size_t errlen)
{
	if (is_binary(n->op))
		return binary_run(g, n, err, errlen);
	const nn_tensor *in = nn_ref_input(g, n, 0);
	nn_tensor *out = nn_ref_output(g, n, 0);
	if (!nn_ref_same_shape(in, out)) {
		char a[NN_REF_SHAPE_BUF], b[NN_REF_SHAPE_BUF];
		return nn_ref_fail(err, errlen, n, NN_ERR_SHAPE, "input %s and output %s differ in shape",
				   nn_ref_shape_str(in, a), nn_ref_shape_str(out, b));
	}
	size_t count = (size_t)nn_ref_elements(in);
	for (size_t i = 0; i < count; i++)
		put(out, i, unary_op(n, get(in, i)));
	return NN_OK;
}
