/*
 * BatchNormalization with training_mode = 1 (opset 14 on): normalised with
 * the batch's own statistics over every axis but the channel one,
 *
 *   mean_b = mean(x), var_b = mean((x - mean_b)^2)   (the population variance)
 *   y = (x - mean_b) / sqrt(var_b + epsilon) * scale + B
 *
 * and, when asked for, the running statistics the step would leave:
 * running_mean = input_mean * momentum + mean_b * (1 - momentum), and the
 * same for the variance. Spelled out as MEAN, SUB, MUL, ADD, SQRT and DIV
 * in NCHW, as InstanceNormalization is in onnx_ops_nn.c.
 */
#include <stdio.h>
#include <string.h>

#include "nn/format/onnx_internal.h"

/* out = op(a, b) (b < 0: unary) into a new float32 temporary of the given shape, or into output out_k. */
static int emit(ox *c, const ox_node *n, nn_op op, int a, int b, const char *suffix, int out_k, int rank,
		const int *shape)
{
	int y = out_k >= 0 ? ox_out_tensor(c, n, out_k, NN_F32, rank, shape)
			   : ox_temp(c, n, suffix, NN_F32, rank, shape);
	if (y < 0)
		return y;
	int in[2] = { a, b };
	return ox_emit(c, n, op, b >= 0 ? 2 : 1, in, 1, &y) ? y : NN_ERR_NOMEM;
}

/* MEAN of t over every axis but 1, kept as [1, C, 1, ...]. */
static int channel_mean(ox *c, const ox_node *n, int t, int rank, const int *mshape, const char *suffix)
{
	int y = ox_temp(c, n, suffix, NN_F32, rank, mshape);
	if (y < 0)
		return y;
	nn_node *m = ox_emit(c, n, NN_OP_MEAN, 1, &t, 1, &y);
	if (!m)
		return NN_ERR_NOMEM;
	m->p.reduce.n_axes = 0;
	for (int d = 0; d < rank; d++)
		if (d != 1)
			m->p.reduce.axes[m->p.reduce.n_axes++] = d;
	m->p.reduce.keep_dims = 1;
	return y;
}

/* Input k ([C] floats) reshaped to shape (rank r), named with suffix. */
static int param(ox *c, const ox_node *n, int k, int C, int r, const int *shape, const char *suffix)
{
	int t = ox_in_tensor(c, n, k);
	if (t < 0)
		return t;
	nn_tensor *p = ox_T(c, t);
	if (p->dtype != NN_F32 || nn_tensor_elements(p) != C)
		return ox_nfail(c, NN_ERR_SHAPE, "input %d is not %d float32 values", k, C);
	int y = ox_temp(c, n, suffix, NN_F32, r, shape);
	return y < 0 ? y : ox_reshape(c, n, t, r, shape, y);
}

/* running = stat * (1 - momentum) + input k * momentum, into output out_k ([C]). */
static int running(ox *c, const ox_node *n, int stat, int k, int C, float momentum, int out_k, const char *suffix)
{
	int cs[1] = { C };
	char nm[512];
	int flat = ox_temp(c, n, suffix, NN_F32, 1, cs);
	if (flat < 0 || (flat = ox_reshape(c, n, stat, 1, cs, flat)) < 0)
		return flat;
	float w[2] = { 1.0f - momentum, momentum };
	snprintf(nm, sizeof nm, "%s/%s_w", n->out[0], suffix + 1);
	int kw = ox_const_f32(c, nm, 0, NULL, &w[0]);
	snprintf(nm, sizeof nm, "%s/%s_m", n->out[0], suffix + 1);
	int km = kw < 0 ? kw : ox_const_f32(c, nm, 0, NULL, &w[1]);
	int in = km < 0 ? km : param(c, n, k, C, 1, cs, "/bn_running_in");
	if (in < 0)
		return in;
	int a = emit(c, n, NN_OP_MUL, flat, kw, "/bn_running_a", -1, 1, cs);
	int b = a < 0 ? a : emit(c, n, NN_OP_MUL, in, km, "/bn_running_b", -1, 1, cs);
	return b < 0 ? b : emit(c, n, NN_OP_ADD, a, b, "", out_k, 1, cs);
}

int ox_map_batchnorm_training(ox *c, const ox_node *n)
{
	int x = ox_in_tensor(c, n, 0);
	if (x < 0)
		return x;
	nn_tensor *xt = ox_T(c, x);
	int rank = xt->rank, C = rank >= 2 ? xt->shape[1] : 0;
	if (xt->dtype != NN_F32)
		return ox_unsupported(c, "training mode on %s", nn_dtype_name(xt->dtype));
	if (rank < 2 || n->n_in < 5)
		return ox_nfail(c, NN_ERR_FORMAT, "training mode needs an input of rank 2 or more and 5 inputs");
	float eps = ox_attr_f(n, "epsilon", 1e-5f), momentum = ox_attr_f(n, "momentum", 0.9f);
	int shape[NN_MAX_RANK], mshape[NN_MAX_RANK], pshape[NN_MAX_RANK];
	memcpy(shape, xt->shape, sizeof shape);
	for (int d = 0; d < rank; d++)
		mshape[d] = d == 1 ? C : 1;
	/* Scale and B as [C, 1, ...], which broadcast against NCHW. */
	for (int d = 0; d < rank - 1; d++)
		pshape[d] = d == 0 ? C : 1;
	int bm = channel_mean(c, n, x, rank, mshape, "/bn_batch_mean");
	int dev = bm < 0 ? bm : emit(c, n, NN_OP_SUB, x, bm, "/bn_dev", -1, rank, shape);
	int sq = dev < 0 ? dev : emit(c, n, NN_OP_MUL, dev, dev, "/bn_sq", -1, rank, shape);
	int bv = sq < 0 ? sq : channel_mean(c, n, sq, rank, mshape, "/bn_batch_var");
	if (bv < 0)
		return bv;
	char nm[512];
	snprintf(nm, sizeof nm, "%s/bn_eps", n->out[0]);
	int ke = ox_const_f32(c, nm, 0, NULL, &eps);
	int ve = ke < 0 ? ke : emit(c, n, NN_OP_ADD, bv, ke, "/bn_var_eps", -1, rank, mshape);
	int sd = ve < 0 ? ve : emit(c, n, NN_OP_SQRT, ve, -1, "/bn_sd", -1, rank, mshape);
	int nrm = sd < 0 ? sd : emit(c, n, NN_OP_DIV, dev, sd, "/bn_norm", -1, rank, shape);
	int ks = nrm < 0 ? nrm : param(c, n, 1, C, rank - 1, pshape, "/bn_scale");
	int kb = ks < 0 ? ks : param(c, n, 2, C, rank - 1, pshape, "/bn_shift");
	int sc = kb < 0 ? kb : emit(c, n, NN_OP_MUL, nrm, ks, "/bn_scaled", -1, rank, shape);
	int y = sc < 0 ? sc : emit(c, n, NN_OP_ADD, sc, kb, "", 0, rank, shape);
	if (y < 0)
		return y;
	if (n->n_out > 1 && n->out[1][0] && (y = running(c, n, bm, 3, C, momentum, 1, "/bn_mean_flat")) < 0)
		return y;
	if (n->n_out > 2 && n->out[2][0] && (y = running(c, n, bv, 4, C, momentum, 2, "/bn_var_flat")) < 0)
		return y;
	return 0;
}
