/*
 * ONNX Runtime's com.microsoft quantized ops (version 1), what its
 * QOperator-format quantizer emits besides QLinearConv and QLinearMatMul:
 * QLinearAdd, QLinearMul, QLinearSigmoid, QLinearLeakyRelu,
 * QLinearGlobalAveragePool, QLinearAveragePool and QLinearConcat.
 *
 * Each becomes the IR's quantized op (ADD, MUL, LOGISTIC, LEAKY_RELU,
 * AVERAGE_POOL2D or MEAN, CONCATENATION): the scales and zero points, one
 * per tensor and known at load time, are the tensors' quantization
 * parameters; the kernels requantize between them. The layout moves
 * around the pools (NCHW, or channels_last, to NHWC and back) keep their
 * input's quantization (follow_q, also what a quantized MaxPool uses).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/format/onnx_internal.h"

/* One scale and zero point (inputs ks and kz; kz absent or empty: 0 of type uint8), known at load time. */
typedef struct mq {
	float scale;
	int32_t zp;
	nn_dtype dt;
} mq;

static int read_mq(ox *c, const ox_node *n, int ks, int kz, mq *q)
{
	if (ks >= n->n_in || !n->in[ks][0])
		return ox_nfail(c, NN_ERR_FORMAT, "input %d (a scale) is missing", ks);
	ox_val *s = ox_in_const(c, n, ks);
	int has_z = kz < n->n_in && n->in[kz][0];
	ox_val *z = has_z ? ox_in_const(c, n, kz) : NULL;
	if (!s || !s->f || (has_z && (!z || !z->i)))
		return ox_unsupported(c, "scale or zero point (inputs %d, %d) computed at run time", ks, kz);
	if (s->n != 1 || (z && z->n != 1))
		return ox_unsupported(c, "%lld scales (one per tensor only)", (long long)s->n);
	int zt = z ? z->dtype : OX_UINT8;
	if (zt != OX_UINT8 && zt != OX_INT8)
		return ox_unsupported(c, "zero point of type %s (uint8 and int8 only)", ox_dtype_name(zt));
	if (!(s->f[0] > 0) || !isfinite(s->f[0]))
		return ox_unsupported(c, "scale %g", (double)s->f[0]);
	q->scale = s->f[0];
	q->zp = z ? (int32_t)z->i[0] : 0;
	q->dt = zt == OX_INT8 ? NN_I8 : NN_U8;
	return 0;
}

/* Gives tensor t the quantization q; one that has other parameters already is refused (nothing requantizes it). */
static int set_mq(ox *c, int t, const mq *q, const char *what)
{
	nn_tensor *x = ox_T(c, t);
	if (x->dtype != q->dt)
		return ox_unsupported(c, "%s of type %s with a %s zero point", what, nn_dtype_name(x->dtype),
				      nn_dtype_name(q->dt));
	if (x->quant.count == 0)
		return nn_tensor_set_quant(x, 1, 0, &q->scale, &q->zp) < 0 ? ox_fail(c, NN_ERR_NOMEM, "out of memory") : 0;
	if (x->quant.count == 1 && x->quant.scale[0] == q->scale && x->quant.zero_point[0] == q->zp)
		return 0;
	return ox_unsupported(c, "%s quantized with two different parameter sets", what);
}

/* Input k as a tensor with the quantization of inputs ks, kz. */
static int q_input(ox *c, const ox_node *n, int k, int ks, int kz, const char *what)
{
	mq q;
	int rc = read_mq(c, n, ks, kz, &q);
	if (rc)
		return rc > 0 ? -1000 : rc;
	int t = ox_in_tensor(c, n, k);
	if (t < 0)
		return t;
	if ((rc = set_mq(c, t, &q, what)))
		return rc > 0 ? -1000 : rc;
	return t;
}

#define QIN(var, k, ks, kz, what)                               \
	do {                                                    \
		(var) = q_input(c, n, (k), (ks), (kz), (what)); \
		if ((var) < 0)                                  \
			return (var) == -1000 ? 1 : (var);      \
	} while (0)

/* Output 0 of the node: a new tensor of that shape with the quantization of inputs ks, kz. */
static int q_output(ox *c, const ox_node *n, int rank, const int *shape, int ks, int kz, int *y)
{
	mq q;
	int rc = read_mq(c, n, ks, kz, &q);
	if (rc)
		return rc;
	if ((*y = ox_out_tensor(c, n, 0, q.dt, rank, shape)) < 0)
		return *y;
	return set_mq(c, *y, &q, "the output");
}

/* QLinearAdd, QLinearMul: A, A_scale, A_zero_point, B, B_scale, B_zero_point, C_scale, C_zero_point. */
static int map_binary(ox *c, const ox_node *n, nn_op op)
{
	if (n->n_in < 7)
		return ox_nfail(c, NN_ERR_FORMAT, "has %d inputs, expected 8", n->n_in);
	int a, b;
	QIN(a, 0, 1, 2, "A");
	QIN(b, 3, 4, 5, "B");
	if (ox_T(c, a)->dtype != ox_T(c, b)->dtype)
		return ox_unsupported(c, "A of type %s and B of type %s", nn_dtype_name(ox_T(c, a)->dtype),
				      nn_dtype_name(ox_T(c, b)->dtype));
	int64_t da[NN_MAX_RANK], db[NN_MAX_RANK], dims[NN_MAX_RANK];
	nn_tensor *ta = ox_T(c, a), *tb = ox_T(c, b);
	int ra = ta->rank, rb = tb->rank, r;
	for (int d = 0; d < ra; d++)
		da[d] = ta->shape[d];
	for (int d = 0; d < rb; d++)
		db[d] = tb->shape[d];
	if (ox_broadcast_dims(c, ra, da, rb, db, &r, dims) < 0)
		return NN_ERR_SHAPE;
	int shape[NN_MAX_RANK];
	for (int d = 0; d < r; d++)
		shape[d] = (int)dims[d];
	int y, rc;
	if ((rc = q_output(c, n, r, shape, 6, 7, &y)))
		return rc;
	if (ox_T(c, y)->dtype != ox_T(c, a)->dtype)
		return ox_unsupported(c, "inputs of type %s and an output of type %s", nn_dtype_name(ox_T(c, a)->dtype),
				      nn_dtype_name(ox_T(c, y)->dtype));
	int in[2] = { a, b };
	nn_node *x = ox_emit(c, n, op, 2, in, 1, &y);
	if (!x)
		return NN_ERR_NOMEM;
	x->p.act = NN_ACT_NONE;
	return 0;
}

/* QLinearSigmoid, QLinearLeakyRelu (alpha): X, X_scale, X_zero_point, Y_scale, Y_zero_point. */
static int map_unary(ox *c, const ox_node *n, nn_op op)
{
	if (n->n_in < 4)
		return ox_nfail(c, NN_ERR_FORMAT, "has %d inputs, expected 5", n->n_in);
	int x, y, rc;
	QIN(x, 0, 1, 2, "X");
	nn_tensor *t = ox_T(c, x);
	int shape[NN_MAX_RANK], rank = t->rank;
	nn_dtype dt = t->dtype;
	memcpy(shape, t->shape, sizeof shape);
	if ((rc = q_output(c, n, rank, shape, 3, 4, &y)))
		return rc;
	if (ox_T(c, y)->dtype != dt)
		return ox_unsupported(c, "input of type %s and output of type %s", nn_dtype_name(dt),
				      nn_dtype_name(ox_T(c, y)->dtype));
	nn_node *e = ox_emit(c, n, op, 1, &x, 1, &y);
	if (!e)
		return NN_ERR_NOMEM;
	if (op == NN_OP_LEAKY_RELU)
		e->p.leaky_relu.alpha = ox_attr_f(n, "alpha", 0.01f);
	return 0;
}

/*
 * QLinearGlobalAveragePool (channels_last 0: NCHW..., 1: NHW...C): X,
 * x_scale, x_zero_point, y_scale, y_zero_point. Rank 4 runs as an
 * AVERAGE_POOL2D over the whole image (between transposes for NCHW), other
 * ranks as a MEAN over the spatial axes.
 */
static int map_global_avg(ox *c, const ox_node *n)
{
	if (n->n_in < 4)
		return ox_nfail(c, NN_ERR_FORMAT, "has %d inputs, expected 5", n->n_in);
	int last = ox_attr_i(n, "channels_last", 0) != 0;
	int x, y, rc;
	QIN(x, 0, 1, 2, "X");
	nn_tensor *t = ox_T(c, x);
	int rank = t->rank, shape[NN_MAX_RANK];
	if (rank < 3)
		return ox_nfail(c, NN_ERR_SHAPE, "input of rank %d", rank);
	memcpy(shape, t->shape, sizeof shape);
	int s0 = last ? 1 : 2, s1 = last ? rank - 1 : rank; /* the spatial axes [s0, s1) */
	for (int d = s0; d < s1; d++)
		shape[d] = 1;
	if ((rc = q_output(c, n, rank, shape, 3, 4, &y)))
		return rc;
	if (ox_T(c, y)->dtype != ox_T(c, x)->dtype)
		return ox_unsupported(c, "input and output of different types");
	if (rank != 4) {
		nn_node *m = ox_emit(c, n, NN_OP_MEAN, 1, &x, 1, &y);
		if (!m)
			return NN_ERR_NOMEM;
		m->p.reduce.n_axes = 0;
		for (int d = s0; d < s1; d++)
			m->p.reduce.axes[m->p.reduce.n_axes++] = d;
		m->p.reduce.keep_dims = 1;
		return 0;
	}
	int xh = last ? x : ox_transpose(c, n, x, ox_to_nhwc, "/nhwc");
	if (xh < 0)
		return xh;
	if (!last && (rc = set_mq(c, xh, &(mq){ ox_T(c, x)->quant.scale[0], ox_T(c, x)->quant.zero_point[0],
						   ox_T(c, x)->dtype }, "X")))
		return rc;
	nn_tensor *h = ox_T(c, xh);
	int fh = h->shape[1], fw = h->shape[2];
	int ysh[4] = { h->shape[0], 1, 1, h->shape[3] };
	int yh = y;
	if (!last) {
		nn_tensor *yt = ox_T(c, y);
		mq q = { yt->quant.scale[0], yt->quant.zero_point[0], yt->dtype };
		if ((yh = ox_temp(c, n, "/pool_nhwc", q.dt, 4, ysh)) < 0)
			return yh;
		if ((rc = set_mq(c, yh, &q, "the output")))
			return rc;
	}
	nn_node *pl = ox_emit(c, n, NN_OP_AVERAGE_POOL2D, 1, &xh, 1, &yh);
	if (!pl)
		return NN_ERR_NOMEM;
	pl->p.pool = (nn_pool_params){ .filter_h = fh, .filter_w = fw, .stride_h = 1, .stride_w = 1,
				       .padding = NN_PADDING_VALID };
	if (last)
		return 0;
	nn_node *tr = ox_emit(c, n, NN_OP_TRANSPOSE, 1, &yh, 1, &y);
	if (!tr)
		return NN_ERR_NOMEM;
	memcpy(tr->p.transpose.perm, ox_to_nchw, sizeof ox_to_nchw);
	return 0;
}

/*
 * Gives the 8-bit tensors that the nodes from index first on made without
 * quantization theirs: a layout move's (TRANSPOSE, RESHAPE, PAD) or a max
 * pool's output takes its input's, any other y's.
 */
static int follow_q(ox *c, int first, const mq *y)
{
	nn_graph *g = c->g;
	for (int k = first; k < g->n_nodes; k++) {
		nn_node *nd = &g->nodes[k];
		for (int o = 0; o < nd->n_outputs; o++) {
			nn_tensor *t = &g->tensors[nd->outputs[o]];
			if (t->quant.count || (t->dtype != NN_U8 && t->dtype != NN_I8))
				continue;
			nn_op op = nd->op;
			const nn_tensor *in = nd->n_inputs && nd->inputs[0] >= 0 ? &g->tensors[nd->inputs[0]] : NULL;
			int same = op == NN_OP_TRANSPOSE || op == NN_OP_RESHAPE || op == NN_OP_PAD || op == NN_OP_MAX_POOL2D;
			const float *s = same && in ? in->quant.scale : &y->scale;
			const int32_t *z = same && in ? in->quant.zero_point : &y->zp;
			if (same && (!in || !in->quant.count))
				continue;
			if (nn_tensor_set_quant(t, 1, 0, s, z) < 0)
				return ox_fail(c, NN_ERR_NOMEM, "out of memory");
		}
	}
	return 0;
}

int ox_q_follow(ox *c, int first, int x)
{
	nn_tensor *t = ox_T(c, x);
	if (!t->quant.count)
		return 0;
	mq q = { t->quant.scale[0], t->quant.zero_point[0], t->dtype };
	return follow_q(c, first, &q);
}

/* A value of the node's name plus suffix bound to tensor t (for a node made up here). */
static const char *bind_temp(ox *c, const ox_node *n, const char *suffix, int t)
{
	char nm[512];
	snprintf(nm, sizeof nm, "%s%s", n->out[0], suffix);
	const char *name = ox_strndup(c, nm, strlen(nm));
	int v = name ? ox_value_find(c, name, 1) : -1;
	if (v < 0)
		return NULL;
	c->vals[v].t = t;
	return name;
}

/*
 * QLinearAveragePool: X, x_scale, x_zero_point, y_scale, y_zero_point and
 * AveragePool's attributes. channels_last (N, spatial..., C): the pooling
 * of the input moved to NCHW, moved back.
 */
static int map_avg_pool(ox *c, const ox_node *n)
{
	if (n->n_in < 4)
		return ox_nfail(c, NN_ERR_FORMAT, "has %d inputs, expected 5", n->n_in);
	int last = ox_attr_i(n, "channels_last", 0) != 0;
	int x, rc;
	QIN(x, 0, 1, 2, "X");
	mq qy;
	if ((rc = read_mq(c, n, 3, 4, &qy)))
		return rc;
	if (qy.dt != ox_T(c, x)->dtype)
		return ox_unsupported(c, "input and output of different types");
	int rank = ox_T(c, x)->rank;
	if (rank != 3 && rank != 4)
		return ox_unsupported(c, "pooling of rank %d (1-D and 2-D only)", rank);
	int first = c->g->n_nodes;
	if (!last) {
		if ((rc = ox_map_pool(c, n)))
			return rc;
		return follow_q(c, first, &qy);
	}
	static const int to_first[2][4] = { { 0, 2, 1 }, { 0, 3, 1, 2 } }, to_last[2][4] = { { 0, 2, 1 }, { 0, 2, 3, 1 } };
	int xc = ox_transpose(c, n, x, to_first[rank == 4], "/channels_first");
	if (xc < 0)
		return xc;
	const char *in = bind_temp(c, n, "/channels_first", xc);
	char onm[512];
	snprintf(onm, sizeof onm, "%s/pool_channels_first", n->out[0]);
	const char *out = ox_strndup(c, onm, strlen(onm));
	const char **ins = ox_alloc(c, (size_t)n->n_in * sizeof *ins);
	if (!in || !out || !ins)
		return NN_ERR_NOMEM;
	for (int k = 0; k < n->n_in; k++)
		ins[k] = k ? n->in[k] : in;
	ox_node syn = *n;
	syn.in = ins;
	syn.out = &out;
	syn.n_out = 1;
	if ((rc = follow_q(c, first, &qy)) || (rc = ox_map_pool(c, &syn)))
		return rc;
	int v = ox_value_find(c, out, 0);
	if (v < 0 || c->vals[v].t < 0)
		return ox_nfail(c, NN_ERR_FORMAT, "the pooling made no output");
	int yc = c->vals[v].t;
	nn_tensor *t = ox_T(c, yc);
	int shape[4];
	for (int d = 0; d < rank; d++)
		shape[d] = t->shape[to_last[rank == 4][d]];
	int y = ox_out_tensor(c, n, 0, qy.dt, rank, shape);
	if (y < 0)
		return y;
	nn_node *tr = ox_emit(c, n, NN_OP_TRANSPOSE, 1, &yc, 1, &y);
	if (!tr)
		return NN_ERR_NOMEM;
	memcpy(tr->p.transpose.perm, to_last[rank == 4], sizeof to_last[0]);
	return follow_q(c, first, &qy);
}

/* QLinearConcat (axis): Y_scale, Y_zero_point, then (X, X_scale, X_zero_point) for each input. */
static int map_concat(ox *c, const ox_node *n)
{
	if (n->n_in < 5 || (n->n_in - 2) % 3)
		return ox_nfail(c, NN_ERR_FORMAT, "has %d inputs, expected 2 + 3 per input", n->n_in);
	int k_in = (n->n_in - 2) / 3, in[256];
	if (k_in > 256)
		return ox_unsupported(c, "more than 256 inputs");
	for (int k = 0; k < k_in; k++)
		QIN(in[k], 2 + 3 * k, 3 + 3 * k, 4 + 3 * k, "an input");
	nn_tensor *f = ox_T(c, in[0]);
	int rank = f->rank, axis, shape[NN_MAX_RANK], rc, y;
	nn_dtype dt = f->dtype;
	if (ox_axis(c, ox_attr_i(n, "axis", 0), rank, &axis) < 0)
		return NN_ERR_FORMAT;
	memcpy(shape, f->shape, sizeof shape);
	shape[axis] = 0;
	for (int k = 0; k < k_in; k++) {
		nn_tensor *t = ox_T(c, in[k]);
		if (t->rank != rank || t->dtype != dt)
			return ox_nfail(c, NN_ERR_SHAPE, "inputs differ in rank or type");
		for (int d = 0; d < rank; d++)
			if (d != axis && t->shape[d] != ox_T(c, in[0])->shape[d])
				return ox_nfail(c, NN_ERR_SHAPE, "inputs differ in dimension %d", d);
		shape[axis] += t->shape[axis];
	}
	if ((rc = q_output(c, n, rank, shape, 0, 1, &y)))
		return rc;
	if (ox_T(c, y)->dtype != dt)
		return ox_unsupported(c, "inputs of type %s and an output of type %s", nn_dtype_name(dt),
				      nn_dtype_name(ox_T(c, y)->dtype));
	nn_node *x = ox_emit(c, n, NN_OP_CONCATENATION, k_in, in, 1, &y);
	if (!x)
		return NN_ERR_NOMEM;
	x->p.concat.axis = axis;
	x->p.concat.act = NN_ACT_NONE;
	return 0;
}

int ox_map_msq(ox *c, const ox_node *n, int which)
{
	if (c->ms_opset != 1)
		return c->ms_opset ? ox_unsupported(c, "opset %d of domain com.microsoft (1 only)", c->ms_opset)
				   : ox_unsupported(c, "a node of domain com.microsoft without its opset import");
	switch (which) {
	case OX_MSQ_ADD:
		return map_binary(c, n, NN_OP_ADD);
	case OX_MSQ_MUL:
		return map_binary(c, n, NN_OP_MUL);
	case OX_MSQ_SIGMOID:
		return map_unary(c, n, NN_OP_LOGISTIC);
	case OX_MSQ_LEAKY_RELU:
		return map_unary(c, n, NN_OP_LEAKY_RELU);
	case OX_MSQ_GLOBAL_AVG:
		return map_global_avg(c, n);
	case OX_MSQ_AVG_POOL:
		return map_avg_pool(c, n);
	case OX_MSQ_CONCAT:
		return map_concat(c, n);
	default:
		return ox_unsupported(c, "operator %s", n->op);
	}
}
