/*
 * XNNPACK operators for activations and other element-wise ops: clamps
 * and ReLUs, logistic, tanh, hard swish, leaky ReLU, PReLU, softmax, ELU,
 * absolute value, negation, SiLU and square root.
 */
#include "nn/backend/native.h"
#include "nn/backend/xnn_internal.h"

int nn_xnn_build_clamp(ctx *c)
{
	nn_tensor *x = input(c, 0), *y = output(c, 0);
	nn_activation act = c->n->op == NN_OP_RELU ? NN_ACT_RELU
			    : c->n->op == NN_OP_RELU6 ? NN_ACT_RELU6
						      : NN_ACT_RELU_N1_TO_1;
	if (!x || !y)
		return unsupported(c, "input or output missing");
	kind kx = kind_of(x), ky = kind_of(y);
	if (kx != ky || (kx != K_F32 && kx != K_QU8 && kx != K_QS8))
		return unsupported(c, "%s input, %s output", kind_name(x), kind_name(y));
	/* Clamping in the quantized domain is exact only when it does not requantize. */
	if (kx != K_F32 && !same_quant(x, y))
		return unsupported(c, "input and output quantization differ");
	int32_t lo = 0, hi = 0;
	if (kx != K_F32 && !q_range(y, act, &lo, &hi))
		return unsupported(c, "the activation leaves a single output value");
	unary u;
	int rc = unary_begin(c, &u, 0);
	if (rc <= 0)
		return rc;
	if (kx == K_F32) {
		float flo, fhi;
		f32_range(act, &flo, &fhi);
		rc = check(c, xnn_create_clamp_nc_f32(u.channels, u.channels, u.channels, flo, fhi, 0, u.op),
			   "xnn_create_clamp_nc_f32");
		if (rc <= 0)
			return rc;
		return check(c, xnn_setup_clamp_nc_f32(*u.op, u.batch, u.in, u.out, c->pool), "xnn_setup_clamp_nc_f32");
	}
	if (kx == K_QU8) {
		rc = check(c,
			   xnn_create_clamp_nc_u8(u.channels, u.channels, u.channels, (uint8_t)lo, (uint8_t)hi, 0, u.op),
			   "xnn_create_clamp_nc_u8");
		if (rc <= 0)
			return rc;
		return check(c, xnn_setup_clamp_nc_u8(*u.op, u.batch, u.in, u.out, c->pool), "xnn_setup_clamp_nc_u8");
	}
	rc = check(c, xnn_create_clamp_nc_s8(u.channels, u.channels, u.channels, (int8_t)lo, (int8_t)hi, 0, u.op),
		   "xnn_create_clamp_nc_s8");
	if (rc <= 0)
		return rc;
	return check(c, xnn_setup_clamp_nc_s8(*u.op, u.batch, u.in, u.out, c->pool), "xnn_setup_clamp_nc_s8");
}

int nn_xnn_build_logistic_tanh(ctx *c)
{
	int is_tanh = c->n->op == NN_OP_TANH;
	nn_tensor *x = input(c, 0), *y = output(c, 0);
	if (!x || !y)
		return unsupported(c, "input or output missing");
	kind kx = kind_of(x), ky = kind_of(y);
	if (kx != ky || (kx != K_F32 && kx != K_QU8 && kx != K_QS8) || (is_tanh && kx == K_F32))
		return unsupported(c, "%s input, %s output: XNNPACK takes %s", kind_name(x), kind_name(y),
				   is_tanh ? "quantized 8-bit tensors" : "float32 or quantized 8-bit tensors");
	unary u;
	int rc = unary_begin(c, &u, 0);
	if (rc <= 0)
		return rc;
	if (kx == K_F32)
		return run_f32_nc(c, &u, F32_NC(sigmoid));
	if (kx == K_QU8) {
		uint8_t zx = (uint8_t)qzero(x), zy = (uint8_t)qzero(y);
		if (is_tanh) {
			rc = check(c,
				   xnn_create_tanh_nc_qu8(u.channels, u.channels, u.channels, zx, qscale(x), zy,
							  qscale(y), 0, 255, 0, u.op),
				   "xnn_create_tanh_nc_qu8");
			if (rc <= 0)
				return rc;
			return check(c, xnn_setup_tanh_nc_qu8(*u.op, u.batch, u.in, u.out, c->pool),
				     "xnn_setup_tanh_nc_qu8");
		}
		rc = check(c,
			   xnn_create_sigmoid_nc_qu8(u.channels, u.channels, u.channels, zx, qscale(x), zy, qscale(y), 0,
						     255, 0, u.op),
			   "xnn_create_sigmoid_nc_qu8");
		if (rc <= 0)
			return rc;
		return check(c, xnn_setup_sigmoid_nc_qu8(*u.op, u.batch, u.in, u.out, c->pool),
			     "xnn_setup_sigmoid_nc_qu8");
	}
	int8_t zx = (int8_t)qzero(x), zy = (int8_t)qzero(y);
	if (is_tanh) {
		rc = check(c,
			   xnn_create_tanh_nc_qs8(u.channels, u.channels, u.channels, zx, qscale(x), zy, qscale(y), -128,
						  127, 0, u.op),
			   "xnn_create_tanh_nc_qs8");
		if (rc <= 0)
			return rc;
		return check(c, xnn_setup_tanh_nc_qs8(*u.op, u.batch, u.in, u.out, c->pool), "xnn_setup_tanh_nc_qs8");
	}
	rc = check(c,
		   xnn_create_sigmoid_nc_qs8(u.channels, u.channels, u.channels, zx, qscale(x), zy, qscale(y), -128,
					     127, 0, u.op),
		   "xnn_create_sigmoid_nc_qs8");
	if (rc <= 0)
		return rc;
	return check(c, xnn_setup_sigmoid_nc_qs8(*u.op, u.batch, u.in, u.out, c->pool), "xnn_setup_sigmoid_nc_qs8");
}

int nn_xnn_build_hard_swish(ctx *c)
{
	nn_tensor *x = input(c, 0), *y = output(c, 0);
	if (!x || !y || kind_of(x) != K_F32 || kind_of(y) != K_F32)
		return unsupported(c, "XNNPACK's hard swish takes float32 only");
	unary u;
	int rc = unary_begin(c, &u, 0);
	if (rc <= 0)
		return rc;
	return run_f32_nc(c, &u, F32_NC(hardswish));
}

int nn_xnn_build_leaky_relu(ctx *c)
{
	nn_tensor *x = input(c, 0), *y = output(c, 0);
	float alpha = c->n->p.leaky_relu.alpha;
	if (!x || !y)
		return unsupported(c, "input or output missing");
	if (!isfinite(alpha))
		return unsupported(c, "alpha is not finite");
	kind kx = kind_of(x), ky = kind_of(y);
	if (kx != ky || (kx != K_F32 && kx != K_QU8))
		return unsupported(c, "%s input, %s output: XNNPACK takes float32 or quantized uint8", kind_name(x),
				   kind_name(y));
	unary u;
	int rc = unary_begin(c, &u, 0);
	if (rc <= 0)
		return rc;
	if (kx == K_F32) {
		rc = check(c, xnn_create_leaky_relu_nc_f32(u.channels, u.channels, u.channels, alpha, 0, u.op),
			   "xnn_create_leaky_relu_nc_f32");
		if (rc <= 0)
			return rc;
		return check(c, xnn_setup_leaky_relu_nc_f32(*u.op, u.batch, u.in, u.out, c->pool),
			     "xnn_setup_leaky_relu_nc_f32");
	}
	rc = check(c,
		   xnn_create_leaky_relu_nc_qu8(u.channels, u.channels, u.channels, alpha, (uint8_t)qzero(x), qscale(x),
						(uint8_t)qzero(y), qscale(y), 0, 255, 0, u.op),
		   "xnn_create_leaky_relu_nc_qu8");
	if (rc <= 0)
		return rc;
	return check(c, xnn_setup_leaky_relu_nc_qu8(*u.op, u.batch, u.in, u.out, c->pool),
		     "xnn_setup_leaky_relu_nc_qu8");
}

int nn_xnn_build_prelu(ctx *c)
{
	nn_tensor *x = input(c, 0), *alpha = input(c, 1), *y = output(c, 0);
	if (!x || !alpha || !y)
		return unsupported(c, "input, alpha or output missing");
	if (kind_of(x) != K_F32 || kind_of(alpha) != K_F32 || kind_of(y) != K_F32)
		return unsupported(c, "XNNPACK's PReLU takes float32 only");
	if (!alpha->is_const || x->rank < 1)
		return unsupported(c, "alpha is not constant");
	/* XNNPACK has one slope per channel: alpha must be [..., 1, C]. */
	int ch = x->shape[x->rank - 1];
	if (alpha->rank < 1 || alpha->shape[alpha->rank - 1] != ch || nn_tensor_elements(alpha) != ch ||
	    alpha->rank > x->rank)
		return unsupported(c, "alpha varies along more than the channel axis");
	unary u;
	int rc = unary_begin(c, &u, 1);
	if (rc <= 0)
		return rc;
	rc = check(c, xnn_create_prelu_nc_f32(u.channels, u.channels, u.channels, alpha->data, 0, u.op),
		   "xnn_create_prelu_nc_f32");
	if (rc <= 0)
		return rc;
	return check(c, xnn_setup_prelu_nc_f32(*u.op, u.batch, u.in, u.out, c->pool), "xnn_setup_prelu_nc_f32");
}

int nn_xnn_build_softmax(ctx *c)
{
	nn_tensor *x = input(c, 0), *y = output(c, 0);
	float beta = c->n->p.softmax.beta;
	if (!x || !y || x->rank < 1)
		return unsupported(c, "input or output missing");
	kind kx = kind_of(x), ky = kind_of(y);
	if (!(beta > 0) || !isfinite(beta))
		return unsupported(c, "beta %g", (double)beta);
	if (kx == K_F32 && ky == K_F32) {
		if (beta != 1.0f)
			return unsupported(c, "XNNPACK's float softmax has no beta (here %g)", (double)beta);
		unary u;
		int rc = unary_begin(c, &u, 1);
		if (rc <= 0)
			return rc;
		return run_f32_nc(c, &u, F32_NC(softmax));
	}
	if (kx == K_QU8 && ky == K_QU8) {
		unary u;
		int rc = unary_begin(c, &u, 1);
		if (rc <= 0)
			return rc;
		/* softmax(beta * s * (q - zp)): beta folds into the input scale. The zero point cancels out. */
		rc = check(c,
			   xnn_create_softmax_nc_qu8(u.channels, u.channels, u.channels, beta * qscale(x),
						     (uint8_t)qzero(y), qscale(y), 0, u.op),
			   "xnn_create_softmax_nc_qu8");
		if (rc <= 0)
			return rc;
		return check(c, xnn_setup_softmax_nc_qu8(*u.op, u.batch, u.in, u.out, c->pool),
			     "xnn_setup_softmax_nc_qu8");
	}
	return unsupported(c, "%s input, %s output: XNNPACK takes float32 or quantized uint8", kind_name(x),
			   kind_name(y));
}

/*
 * CLAMP (ONNX Clip) with arbitrary bounds. Quantized, with one encoding in
 * and out, clamping the integers between the quantized bounds is what the
 * reference's clamp in real values gives.
 */
int nn_xnn_build_clamp_bounds(ctx *c)
{
	nn_tensor *x = input(c, 0), *y = output(c, 0);
	float lo = c->n->p.clamp.min, hi = c->n->p.clamp.max;
	if (!x || !y || c->n->n_inputs != 1)
		return unsupported(c, "expected one input and an output");
	if (isnan(lo) || isnan(hi) || !(lo <= hi))
		return unsupported(c, "bounds [%g, %g] that XNNPACK's clamp cannot express", (double)lo, (double)hi);
	kind kx = kind_of(x), ky = kind_of(y);
	if (kx != ky || (kx != K_F32 && kx != K_QU8 && kx != K_QS8))
		return unsupported(c, "%s input, %s output", kind_name(x), kind_name(y));
	if (kx != K_F32 && !same_quant(x, y))
		return unsupported(c, "input and output quantization differ");
	unary u;
	int rc = unary_begin(c, &u, 0);
	if (rc <= 0)
		return rc;
	if (kx == K_F32) {
		rc = check(c, xnn_create_clamp_nc_f32(u.channels, u.channels, u.channels, lo, hi, 0, u.op),
			   "xnn_create_clamp_nc_f32");
		if (rc <= 0)
			return rc;
		return check(c, xnn_setup_clamp_nc_f32(*u.op, u.batch, u.in, u.out, c->pool), "xnn_setup_clamp_nc_f32");
	}
	int32_t qmin = kx == K_QU8 ? 0 : -128, qmax = kx == K_QU8 ? 255 : 127;
	int32_t qlo = isinf(lo) ? qmin : quantize_bound(lo, qscale(y), qzero(y), qmin, qmax);
	int32_t qhi = isinf(hi) ? qmax : quantize_bound(hi, qscale(y), qzero(y), qmin, qmax);
	if (qlo >= qhi)
		return unsupported(c, "the bounds leave a single output value");
	if (kx == K_QU8) {
		rc = check(c,
			   xnn_create_clamp_nc_u8(u.channels, u.channels, u.channels, (uint8_t)qlo, (uint8_t)qhi, 0, u.op),
			   "xnn_create_clamp_nc_u8");
		if (rc <= 0)
			return rc;
		return check(c, xnn_setup_clamp_nc_u8(*u.op, u.batch, u.in, u.out, c->pool), "xnn_setup_clamp_nc_u8");
	}
	rc = check(c, xnn_create_clamp_nc_s8(u.channels, u.channels, u.channels, (int8_t)qlo, (int8_t)qhi, 0, u.op),
		   "xnn_create_clamp_nc_s8");
	if (rc <= 0)
		return rc;
	return check(c, xnn_setup_clamp_nc_s8(*u.op, u.batch, u.in, u.out, c->pool), "xnn_setup_clamp_nc_s8");
}

/* ELU of quantized int8, XNNPACK's table-driven operator. */
static int build_elu_qs8(ctx *c, const nn_tensor *x, const nn_tensor *y)
{
	float alpha = c->n->p.elu.alpha;
	if (!isfinite(alpha))
		return unsupported(c, "alpha is not finite");
	unary u;
	int rc = unary_begin(c, &u, 0);
	if (rc <= 0)
		return rc;
	rc = check(c,
		   xnn_create_elu_nc_qs8(u.channels, u.channels, u.channels, alpha, (int8_t)qzero(x), qscale(x),
					 (int8_t)qzero(y), qscale(y), -128, 127, 0, u.op),
		   "xnn_create_elu_nc_qs8");
	if (rc <= 0)
		return rc;
	return check(c, xnn_setup_elu_nc_qs8(*u.op, u.batch, u.in, u.out, c->pool), "xnn_setup_elu_nc_qs8");
}

/* ABS, NEG and ELU of float32 (and ELU of quantized int8). */
int nn_xnn_build_f32_unary(ctx *c)
{
	nn_tensor *x = input(c, 0), *y = output(c, 0);
	if (x && y && c->n->op == NN_OP_ELU && kind_of(x) == K_QS8 && kind_of(y) == K_QS8)
		return build_elu_qs8(c, x, y);
	if (!x || !y || kind_of(x) != K_F32 || kind_of(y) != K_F32)
		return unsupported(c, "XNNPACK's %s takes float32%s only", nn_op_name(c->n->op),
				   c->n->op == NN_OP_ELU ? " or quantized int8" : "");
	unary u;
	int rc = unary_begin(c, &u, 0);
	if (rc <= 0)
		return rc;
	switch (c->n->op) {
	case NN_OP_ABS:
		return run_f32_nc(c, &u, F32_NC(abs));
	case NN_OP_NEG:
		return run_f32_nc(c, &u, F32_NC(negate));
	default: {
		float alpha = c->n->p.elu.alpha;
		if (!isfinite(alpha))
			return unsupported(c, "alpha is not finite");
		rc = check(c, xnn_create_elu_nc_f32(u.channels, u.channels, u.channels, alpha, 0, u.op),
			   "xnn_create_elu_nc_f32");
		if (rc <= 0)
			return rc;
		return check(c, xnn_setup_elu_nc_f32(*u.op, u.batch, u.in, u.out, c->pool), "xnn_setup_elu_nc_f32");
	}
	}
}

/*
 * SILU of float32: XNNPACK (this version) has no swish operator, so the node
 * runs its sigmoid into a scratch buffer of its own and multiplies, two
 * operators back to back in one node instead of two nodes and an arena
 * tensor between them.
 */
int nn_xnn_build_silu(ctx *c)
{
	nn_tensor *x = input(c, 0), *y = output(c, 0);
	if (!x || !y || kind_of(x) != K_F32 || kind_of(y) != K_F32)
		return unsupported(c, "float32 only");
	unary u;
	int rc = unary_begin(c, &u, 0);
	if (rc <= 0)
		return rc;
	size_t count = u.batch * u.channels;
	float *sig = keep_buffer(c, calloc(1, count * sizeof(float) + XNN_EXTRA_BYTES));
	xnn_operator_t *mul = next_op(c);
	if (!sig || !mul)
		return failed(c, NN_ERR_NOMEM, "out of memory");
	unary s = u;
	s.out = sig;
	rc = run_f32_nc(c, &s, F32_NC(sigmoid));
	if (rc <= 0)
		return rc;
	rc = check(c, xnn_create_multiply_nd_f32(-INFINITY, INFINITY, 0, mul), "xnn_create_multiply_nd_f32");
	if (rc <= 0)
		return rc;
	size_t shape[1] = { count };
	return check(c, xnn_setup_multiply_nd_f32(*mul, 1, shape, 1, shape, u.in, sig, y->data, c->pool),
		     "xnn_setup_multiply_nd_f32");
}

/* SQRT of float32 (MoveNet's keypoint distances). */
int nn_xnn_build_sqrt(ctx *c)
{
	nn_tensor *x = input(c, 0), *y = output(c, 0);
	if (!x || !y || kind_of(x) != K_F32 || kind_of(y) != K_F32)
		return unsupported(c, "only float32");
	unary u;
	int rc = unary_begin(c, &u, 0);
	if (rc <= 0)
		return rc;
	return run_f32_nc(c, &u, F32_NC(square_root));
}

/* DEPTH_TO_SPACE of 4-byte elements (float32, int32): XNNPACK's x32 operator, TensorFlow's DCR order. */
