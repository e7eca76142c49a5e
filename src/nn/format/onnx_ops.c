/*
 * ONNX ops onto the IR: element-wise ops, activations, data movement and
 * reductions, which keep ONNX's layout (onnx_ops_nn.c has the ops that run
 * NHWC). Each mapping returns 0 when done, 1 when it found something
 * unsupported (recorded with ox_unsupported, so that the load lists every
 * problem at once) or a negative error.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/format/onnx_internal.h"

typedef int (*map_fn)(ox *c, const ox_node *n, int arg);

static void tdims(ox *c, int t, int *rank, int64_t *dims)
{
	nn_tensor *x = ox_T(c, t);
	*rank = x->rank;
	for (int d = 0; d < x->rank; d++)
		dims[d] = x->shape[d];
}

static int out_dims(ox *c, const ox_node *n, int k, nn_dtype dt, int rank, const int64_t *dims)
{
	int shape[NN_MAX_RANK];
	for (int d = 0; d < rank; d++) {
		if (dims[d] < 0 || dims[d] > OX_MAX_DIM)
			return ox_nfail(c, NN_ERR_SHAPE, "output dimension %d is %lld", d, (long long)dims[d]);
		shape[d] = (int)dims[d];
	}
	return ox_out_tensor(c, n, k, dt, rank, shape);
}

static int input_float(ox *c, const ox_node *n, int k, int *t)
{
	if ((*t = ox_in_tensor(c, n, k)) < 0)
		return *t;
	nn_dtype dt = ox_T(c, *t)->dtype;
	if (dt != NN_F32)
		return ox_unsupported(c, "input %d of type %s (float32 only)", k, nn_dtype_name(dt));
	return 0;
}

/* ---- element-wise -------------------------------------------------------- */

static int emit_binary(ox *c, const ox_node *n, nn_op op, int a, int b, int out_k, int out_t, nn_dtype odt)
{
	int ra, rb, r;
	int64_t da[NN_MAX_RANK], db[NN_MAX_RANK], dims[NN_MAX_RANK];
	tdims(c, a, &ra, da);
	tdims(c, b, &rb, db);
	if (ox_broadcast_dims(c, ra, da, rb, db, &r, dims) < 0)
		return NN_ERR_SHAPE;
	if (out_t < 0) {
		if (out_k >= 0)
			out_t = out_dims(c, n, out_k, odt, r, dims);
		else {
			int shape[NN_MAX_RANK];
			for (int d = 0; d < r; d++)
				shape[d] = (int)dims[d];
			out_t = ox_temp(c, n, "/partial", odt, r, shape);
		}
		if (out_t < 0)
			return out_t;
	}
	int in[2] = { a, b };
	nn_node *x = ox_emit(c, n, op, 2, in, 1, &out_t);
	if (!x)
		return NN_ERR_NOMEM;
	x->p.act = NN_ACT_NONE;
	return out_t;
}

/* Matches operand types: a float32 tensor with an integer constant (or the reverse) is refused, as ONNX does. */
static int same_types(ox *c, int a, int b)
{
	nn_dtype x = ox_T(c, a)->dtype, y = ox_T(c, b)->dtype;
	if (x != y)
		return ox_unsupported(c, "operands of types %s and %s", nn_dtype_name(x), nn_dtype_name(y));
	return 0;
}

static int map_binary(ox *c, const ox_node *n, int op)
{
	if (n->n_in != 2)
		return ox_nfail(c, NN_ERR_FORMAT, "has %d inputs, expected 2", n->n_in);
	int a = ox_in_tensor(c, n, 0), b = a < 0 ? a : ox_in_tensor(c, n, 1);
	if (b < 0)
		return b;
	nn_dtype bt = ox_T(c, b)->dtype;
	if (op == NN_OP_POW && ox_T(c, a)->dtype == NN_F32 && (bt == NN_I32 || bt == NN_I64)) {
		/* Pow takes an integer exponent with a float base: the exponent as float. */
		nn_tensor *t = ox_T(c, b);
		int shape[NN_MAX_RANK], rank = t->rank;
		memcpy(shape, t->shape, sizeof shape);
		int f = ox_temp(c, n, "/exponent", NN_F32, rank, shape);
		if (f < 0 || !ox_emit(c, n, NN_OP_CAST, 1, &b, 1, &f))
			return f < 0 ? f : NN_ERR_NOMEM;
		b = f;
	}
	if (op == NN_OP_POW && ox_plain_int(ox_T(c, a)->dtype) && bt != ox_T(c, a)->dtype)
		return ox_map_pow_int(c, n, a, b);
	int rc = same_types(c, a, b);
	if (rc)
		return rc;
	nn_dtype dt = ox_T(c, a)->dtype;
	int cmp = op == NN_OP_EQUAL || op == NN_OP_GREATER || op == NN_OP_LESS;
	if (op == NN_OP_LOGICAL_AND && dt != NN_BOOL)
		return ox_unsupported(c, "And of %s", nn_dtype_name(dt));
	if (!cmp && op != NN_OP_LOGICAL_AND && dt != NN_F32 && !ox_plain_int(dt))
		return ox_unsupported(c, "arithmetic on %s", nn_dtype_name(dt));
	if (op == NN_OP_POW && dt != NN_F32 && !ox_plain_int(dt))
		return ox_unsupported(c, "Pow of %s", nn_dtype_name(dt));
	int t = emit_binary(c, n, (nn_op)op, a, b, 0, -1, cmp ? NN_BOOL : dt);
	return t < 0 ? t : 0;
}

/* LessOrEqual / GreaterOrEqual: the negation of the strict comparison the other way round. */
static int map_cmp_eq(ox *c, const ox_node *n, int op)
{
	int a = ox_in_tensor(c, n, 0), b = a < 0 ? a : ox_in_tensor(c, n, 1);
	if (b < 0)
		return b;
	int rc = same_types(c, a, b);
	if (rc)
		return rc;
	int t = emit_binary(c, n, (nn_op)op, a, b, -1, -1, NN_BOOL);
	if (t < 0)
		return t;
	nn_tensor *x = ox_T(c, t);
	int shape[NN_MAX_RANK], rank = x->rank;
	memcpy(shape, x->shape, sizeof shape);
	int y = ox_out_tensor(c, n, 0, NN_BOOL, rank, shape);
	if (y < 0)
		return y;
	return ox_emit(c, n, NN_OP_LOGICAL_NOT, 1, &t, 1, &y) ? 0 : NN_ERR_NOMEM;
}

/* Max, Min, Sum, Mean of any number of inputs. */
static int map_variadic(ox *c, const ox_node *n, int op)
{
	if (n->n_in < 1)
		return ox_nfail(c, NN_ERR_FORMAT, "has no inputs");
	int mean = op < 0;
	int acc = ox_in_tensor(c, n, 0), rc = 0;
	if (acc < 0)
		return acc;
	nn_dtype vdt = ox_T(c, acc)->dtype;
	if (vdt != NN_F32 && (mean || !ox_plain_int(vdt)))
		return ox_unsupported(c, "input of type %s", nn_dtype_name(vdt));
	nn_op bop = mean ? NN_OP_ADD : (nn_op)op;
	if (n->n_in == 1 && !mean) {
		nn_tensor *x = ox_T(c, acc);
		int shape[NN_MAX_RANK];
		memcpy(shape, x->shape, sizeof shape);
		int y = ox_out_tensor(c, n, 0, vdt, x->rank, shape);
		return y < 0 ? y : ox_reshape(c, n, acc, ox_T(c, acc)->rank, shape, y) < 0 ? NN_ERR_NOMEM : 0;
	}
	for (int k = 1; k < n->n_in; k++) {
		int b = ox_in_tensor(c, n, k);
		if (b < 0)
			return b;
		if ((rc = same_types(c, acc, b)))
			return rc;
		int last = k == n->n_in - 1 && !mean;
		acc = emit_binary(c, n, bop, acc, b, last ? 0 : -1, -1, vdt);
		if (acc < 0)
			return acc;
	}
	if (mean) {
		float inv = 1.0f / (float)n->n_in;
		int s = ox_const_f32(c, "mean/scale", 0, NULL, &inv);
		if (s < 0)
			return s;
		int t = emit_binary(c, n, NN_OP_MUL, acc, s, 0, -1, NN_F32);
		return t < 0 ? t : 0;
	}
	return 0;
}

/* out = op(x) with x's shape and dtype. */
static nn_node *emit_unary(ox *c, const ox_node *n, nn_op op, int x, int out_k)
{
	nn_tensor *t = ox_T(c, x);
	int shape[NN_MAX_RANK], rank = t->rank;
	nn_dtype dt = t->dtype;
	memcpy(shape, t->shape, sizeof shape);
	int y = out_k >= 0 ? ox_out_tensor(c, n, out_k, op == NN_OP_LOGICAL_NOT ? NN_BOOL : dt, rank, shape)
			   : ox_temp(c, n, "/partial", dt, rank, shape);
	if (y < 0)
		return NULL;
	return ox_emit(c, n, op, 1, &x, 1, &y);
}

static int map_unary(ox *c, const ox_node *n, int op)
{
	int x = ox_in_tensor(c, n, 0);
	if (x < 0)
		return x;
	nn_dtype dt = ox_T(c, x)->dtype;
	if (op == NN_OP_LOGICAL_NOT ? dt != NN_BOOL
	    : op == NN_OP_NEG || op == NN_OP_ABS ? dt != NN_F32 && dt != NN_I32 && dt != NN_I64
						 : dt != NN_F32)
		return ox_unsupported(c, "input of type %s", nn_dtype_name(dt));
	nn_node *y = emit_unary(c, n, (nn_op)op, x, 0);
	if (!y)
		return NN_ERR_NOMEM;
	if (op == NN_OP_LEAKY_RELU)
		y->p.leaky_relu.alpha = ox_attr_f(n, "alpha", 0.01f);
	if (op == NN_OP_ELU)
		y->p.elu.alpha = ox_attr_f(n, "alpha", 1.0f);
	return 0;
}

static int map_identity(ox *c, const ox_node *n, int arg)
{
	(void)arg;
	int x = ox_in_tensor(c, n, 0);
	if (x < 0)
		return x;
	if (!strcmp(n->op, "Dropout"))
		return ox_map_dropout(c, n);
	return ox_bind_out(c, n, 0, x);
}

static int map_prelu(ox *c, const ox_node *n, int arg)
{
	(void)arg;
	int x, s, rc;
	if ((rc = input_float(c, n, 0, &x)) || (rc = input_float(c, n, 1, &s)))
		return rc;
	nn_tensor *xt = ox_T(c, x);
	int shape[NN_MAX_RANK], rank = xt->rank;
	memcpy(shape, xt->shape, sizeof shape);
	/* A slope of one value per channel, [C], broadcast over NCHW as [C, 1, 1]. */
	nn_tensor *st = ox_T(c, s);
	if (st->is_const && st->rank == 1 && rank >= 3 && st->shape[0] == shape[1] && shape[1] > 1) {
		int sh[NN_MAX_RANK] = { st->shape[0] };
		for (int d = 1; d < rank - 1; d++)
			sh[d] = 1;
		int s2 = ox_const_f32(c, n->in[1], rank - 1, sh, st->data);
		if (s2 < 0)
			return s2;
		s = s2;
	}
	int y = ox_out_tensor(c, n, 0, NN_F32, rank, shape);
	if (y < 0)
		return y;
	int in[2] = { x, s };
	return ox_emit(c, n, NN_OP_PRELU, 2, in, 1, &y) ? 0 : NN_ERR_NOMEM;
}

/* HardSigmoid: clamp(alpha x + beta, 0, 1) = relu6(6 alpha x + 6 beta) / 6, on ops every backend has. */
static int map_hard_sigmoid(ox *c, const ox_node *n, int arg)
{
	(void)arg;
	int x, rc;
	if ((rc = input_float(c, n, 0, &x)))
		return rc;
	float a = 6.0f * ox_attr_f(n, "alpha", 0.2f), b = 6.0f * ox_attr_f(n, "beta", 0.5f), s = 1.0f / 6.0f;
	int ka = ox_const_f32(c, "hard_sigmoid/alpha", 0, NULL, &a);
	int kb = ka < 0 ? ka : ox_const_f32(c, "hard_sigmoid/beta", 0, NULL, &b);
	int ks = kb < 0 ? kb : ox_const_f32(c, "hard_sigmoid/sixth", 0, NULL, &s);
	if (ks < 0)
		return ks;
	int t1 = emit_binary(c, n, NN_OP_MUL, x, ka, -1, -1, NN_F32);
	int t2 = t1 < 0 ? t1 : emit_binary(c, n, NN_OP_ADD, t1, kb, -1, -1, NN_F32);
	if (t2 < 0)
		return t2;
	c->g->nodes[c->g->n_nodes - 1].p.act = NN_ACT_RELU6;
	int t3 = emit_binary(c, n, NN_OP_MUL, t2, ks, 0, -1, NN_F32);
	return t3 < 0 ? t3 : 0;
}

static int map_clip(ox *c, const ox_node *n, int arg)
{
	(void)arg;
	int x, rc;
	if ((x = ox_in_tensor(c, n, 0)) >= 0 && ox_plain_int(ox_T(c, x)->dtype))
		return ox_map_clip_int(c, n);
	if ((rc = input_float(c, n, 0, &x)))
		return rc;
	float lo = -INFINITY, hi = INFINITY;
	if (c->opset < 11) {
		lo = ox_attr_f(n, "min", -INFINITY);
		hi = ox_attr_f(n, "max", INFINITY);
	} else {
		for (int k = 1; k <= 2 && k < n->n_in; k++) {
			if (!n->in[k][0])
				continue;
			ox_val *v = ox_in_const(c, n, k);
			if (!v || v->n != 1)
				return ox_unsupported(c, "Clip's %s must be a constant scalar", k == 1 ? "min" : "max");
			*(k == 1 ? &lo : &hi) = (float)ox_val_get(v, 0);
		}
	}
	nn_op op = NN_OP_CLAMP;
	if (lo == 0 && hi == 6)
		op = NN_OP_RELU6;
	else if (lo == 0 && isinf(hi) && hi > 0)
		op = NN_OP_RELU;
	else if (lo == -1 && hi == 1)
		op = NN_OP_RELU_N1_TO_1;
	nn_node *y = emit_unary(c, n, op, x, 0);
	if (!y)
		return NN_ERR_NOMEM;
	y->p.clamp.min = lo;
	y->p.clamp.max = hi;
	return 0;
}

/* Softmax and LogSoftmax: before opset 13 over the dimensions from axis on, flattened; from 13 on over one axis. */
static int map_softmax(ox *c, const ox_node *n, int logsm)
{
	int x, rc;
	if ((rc = input_float(c, n, 0, &x)))
		return rc;
	int rank;
	int64_t dims[NN_MAX_RANK];
	tdims(c, x, &rank, dims);
	if (rank < 1) /* ox_axis lets axis 0 through for a scalar; a softmax needs an axis to run along */
		return ox_nfail(c, NN_ERR_SHAPE, "input of rank 0");
	int axis;
	if (ox_axis(c, ox_attr_i(n, "axis", c->opset >= 13 ? -1 : 1), rank, &axis) < 0)
		return NN_ERR_FORMAT;
	int shape[NN_MAX_RANK];
	for (int d = 0; d < rank; d++)
		shape[d] = (int)dims[d];
	int perm[NN_MAX_RANK], src = x, moved = 0, flat = 0;
	if (axis != rank - 1) {
		if (c->opset >= 13) {
			for (int d = 0, j = 0; d < rank; d++)
				if (d != axis)
					perm[j++] = d;
			perm[rank - 1] = axis;
			if ((src = ox_transpose(c, n, x, perm, "/to_last")) < 0)
				return src;
			moved = 1;
		} else {
			int64_t outer = 1, inner = 1;
			for (int d = 0; d < rank; d++)
				*(d < axis ? &outer : &inner) *= dims[d];
			int sh2[2] = { (int)outer, (int)inner };
			if ((src = ox_reshape(c, n, x, 2, sh2, -1)) < 0)
				return src;
			flat = 1;
		}
	}
	nn_tensor *st = ox_T(c, src);
	int sshape[NN_MAX_RANK], srank = st->rank;
	memcpy(sshape, st->shape, sizeof sshape);
	int last = !moved && !flat && !logsm;
	int y = last ? ox_out_tensor(c, n, 0, NN_F32, rank, shape) : ox_temp(c, n, "/softmax", NN_F32, srank, sshape);
	if (y < 0)
		return y;
	nn_node *s = ox_emit(c, n, NN_OP_SOFTMAX, 1, &src, 1, &y);
	if (!s)
		return NN_ERR_NOMEM;
	s->p.softmax.beta = 1.0f;
	if (logsm) {
		int last2 = !moved && !flat;
		int z = last2 ? ox_out_tensor(c, n, 0, NN_F32, rank, shape) : ox_temp(c, n, "/log", NN_F32, srank, sshape);
		if (z < 0 || !ox_emit(c, n, NN_OP_LOG, 1, &y, 1, &z))
			return z < 0 ? z : NN_ERR_NOMEM;
		y = z;
	}
	if (moved) {
		int inv[NN_MAX_RANK];
		for (int d = 0; d < rank; d++)
			inv[perm[d]] = d;
		int o = ox_out_tensor(c, n, 0, NN_F32, rank, shape);
		if (o < 0)
			return o;
		nn_node *t = ox_emit(c, n, NN_OP_TRANSPOSE, 1, &y, 1, &o);
		if (!t)
			return NN_ERR_NOMEM;
		memcpy(t->p.transpose.perm, inv, sizeof inv);
	} else if (flat) {
		int o = ox_out_tensor(c, n, 0, NN_F32, rank, shape);
		if (o < 0 || ox_reshape(c, n, y, rank, shape, o) < 0)
			return o < 0 ? o : NN_ERR_NOMEM;
	}
	return 0;
}

static int map_cast(ox *c, const ox_node *n, int arg)
{
	(void)arg;
	int x = ox_in_tensor(c, n, 0);
	if (x < 0)
		return x;
	int to = (int)ox_attr_i(n, "to", 0);
	nn_dtype dt;
	if (ox_dtype_to_nn(to, &dt) < 0 || dt == NN_F16 || to == OX_UINT16 || to == OX_UINT32 || to == OX_UINT64)
		return ox_unsupported(c, "Cast to %s", ox_dtype_name(to));
	nn_tensor *t = ox_T(c, x);
	if (t->dtype == NN_F16)
		return ox_unsupported(c, "Cast from float16");
	int shape[NN_MAX_RANK], rank = t->rank;
	memcpy(shape, t->shape, sizeof shape);
	int y = ox_out_tensor(c, n, 0, dt, rank, shape);
	if (y < 0)
		return y;
	return ox_emit(c, n, NN_OP_CAST, 1, &x, 1, &y) ? 0 : NN_ERR_NOMEM;
}

/* ---- data movement ------------------------------------------------------- */

static int map_reshape_like(ox *c, const ox_node *n, int kind)
{
	/* A pending reshape's source stands for it: reshapes of reshapes become one. */
	ox_value *in = ox_in(c, n, 0);
	int x = in && in->t < 0 && in->lz_src >= 0 ? in->lz_src : ox_in_tensor(c, n, 0);
	if (x < 0)
		return x;
	int rank, r;
	int64_t dims[NN_MAX_RANK], out[NN_MAX_RANK];
	tdims(c, x, &rank, dims);
	if (in && in->t < 0 && in->lz_src >= 0) {
		rank = in->lz_rank;
		for (int d = 0; d < rank; d++)
			dims[d] = in->lz_shape[d];
	}
	if (kind == 0) {
		ox_val *shape = ox_in_const(c, n, 1);
		if (!shape)
			return ox_unsupported(c, "a new shape computed at run time");
		if (ox_reshape_dims(c, n, rank, dims, shape, &r, out) < 0)
			return NN_ERR_SHAPE;
	} else if (kind == 1) {
		int a;
		if (ox_axis(c, ox_attr_i(n, "axis", 1), rank + 1, &a) < 0)
			return NN_ERR_FORMAT;
		out[0] = out[1] = 1;
		for (int d = 0; d < rank; d++)
			out[d >= a] *= dims[d];
		r = 2;
	} else {
		if (c->opset >= 13 && n->n_in > 1 && n->in[1][0] && !ox_in_const(c, n, 1))
			return ox_unsupported(c, "axes computed at run time");
		if (ox_squeeze_dims(c, n, kind == 2, rank, dims, &r, out) < 0)
			return NN_ERR_SHAPE;
	}
	int shape[NN_MAX_RANK];
	for (int d = 0; d < r; d++) {
		if (out[d] > OX_MAX_DIM)
			return ox_nfail(c, NN_ERR_SHAPE, "output dimension %d is %lld", d, (long long)out[d]);
		shape[d] = (int)out[d];
	}
	return ox_bind_lazy(c, n, 0, x, r, shape);
}

/*
 * ShuffleNet's channel shuffle, Reshape [N,C,H,W] -> [N,g,C/g,H,W], Transpose
 * [0,2,1,3,4], Reshape back: the same in NHWC ([N,H,W,g,C/g] with its last
 * two dimensions swapped), so that the layout pass can cancel the
 * transposes around it. 1 when it matched (the output bound), 0 when not.
 */
static int channel_shuffle(ox *c, const ox_node *n, const int64_t *perm, int np)
{
	static const int64_t want[5] = { 0, 2, 1, 3, 4 };
	ox_value *v = ox_in(c, n, 0);
	if (np != 5 || memcmp(perm, want, sizeof want) || !v || v->t >= 0 || v->lz_src < 0 || v->lz_rank != 5)
		return 0;
	int src = v->lz_src;
	nn_tensor *s = ox_T(c, src);
	const int *z = v->lz_shape;
	if (s->rank != 4 || z[0] != s->shape[0] || (int64_t)z[1] * z[2] != s->shape[1] || z[3] != s->shape[2] ||
	    z[4] != s->shape[3])
		return 0;
	int N = z[0], g = z[1], cg = z[2], H = z[3], W = z[4];
	int xh = ox_transpose(c, n, src, ox_to_nhwc, "/nhwc");
	int s5[5] = { N, H, W, g, cg };
	int r1 = xh < 0 ? xh : ox_reshape(c, n, xh, 5, s5, -1);
	static const int p5[5] = { 0, 1, 2, 4, 3 };
	int t = r1 < 0 ? r1 : ox_transpose(c, n, r1, p5, "/shuffle");
	int s4[4] = { N, H, W, g * cg };
	int r2 = t < 0 ? t : ox_reshape(c, n, t, 4, s4, -1);
	int y = r2 < 0 ? r2 : ox_transpose(c, n, r2, ox_to_nchw, "/nchw");
	if (y < 0)
		return y;
	int o5[5] = { N, cg, g, H, W };
	int rc = ox_bind_lazy(c, n, 0, y, 5, o5);
	return rc < 0 ? rc : 1;
}

static int map_transpose(ox *c, const ox_node *n, int arg)
{
	(void)arg;
	{
		int64_t pp[NN_MAX_RANK];
		int npp;
		if (ox_attr_ints(c, n, "perm", pp, NN_MAX_RANK, &npp) < 0)
			return NN_ERR_FORMAT;
		int rc = channel_shuffle(c, n, pp, npp);
		if (rc)
			return rc < 0 ? rc : 0;
	}
	int x = ox_in_tensor(c, n, 0);
	if (x < 0)
		return x;
	int rank = ox_T(c, x)->rank, np;
	int64_t perm[NN_MAX_RANK];
	if (ox_attr_ints(c, n, "perm", perm, NN_MAX_RANK, &np) < 0)
		return NN_ERR_FORMAT;
	if (!np) {
		np = rank;
		for (int d = 0; d < rank; d++)
			perm[d] = rank - 1 - d;
	}
	int used[NN_MAX_RANK] = { 0 }, p[NN_MAX_RANK], shape[NN_MAX_RANK];
	if (np != rank)
		return ox_nfail(c, NN_ERR_FORMAT, "perm has %d values for rank %d", np, rank);
	for (int d = 0; d < rank; d++) {
		if (perm[d] < 0 || perm[d] >= rank || used[perm[d]]++)
			return ox_nfail(c, NN_ERR_FORMAT, "perm is not a permutation");
		p[d] = (int)perm[d];
		shape[d] = ox_T(c, x)->shape[p[d]];
	}
	int y = ox_out_tensor(c, n, 0, ox_T(c, x)->dtype, rank, shape);
	if (y < 0)
		return y;
	nn_node *t = ox_emit(c, n, NN_OP_TRANSPOSE, 1, &x, 1, &y);
	if (!t)
		return NN_ERR_NOMEM;
	memcpy(t->p.transpose.perm, p, sizeof p);
	return 0;
}

static int map_concat(ox *c, const ox_node *n, int arg)
{
	(void)arg;
	int in[256], k_in = 0;
	if (n->n_in > 256)
		return ox_unsupported(c, "more than 256 inputs");
	for (int k = 0; k < n->n_in; k++) {
		if (!n->in[k][0])
			continue;
		int t = ox_in_tensor(c, n, k);
		if (t < 0)
			return t;
		if (nn_tensor_elements(ox_T(c, t)) == 0 && n->n_in > 1)
			continue; /* an empty input adds nothing */
		in[k_in++] = t;
	}
	if (!k_in)
		return ox_nfail(c, NN_ERR_FORMAT, "no inputs");
	nn_tensor *f = ox_T(c, in[0]);
	int rank = f->rank, axis;
	if (ox_axis(c, ox_attr_i(n, "axis", 0), rank, &axis) < 0)
		return NN_ERR_FORMAT;
	int shape[NN_MAX_RANK];
	memcpy(shape, f->shape, sizeof shape);
	nn_dtype dt = f->dtype;
	shape[axis] = 0;
	for (int k = 0; k < k_in; k++) {
		nn_tensor *t = ox_T(c, in[k]);
		if (t->rank != rank || t->dtype != dt)
			return ox_nfail(c, NN_ERR_SHAPE, "inputs differ in rank or type");
		for (int d = 0; d < rank; d++)
			if (d != axis && t->shape[d] != f->shape[d])
				return ox_nfail(c, NN_ERR_SHAPE, "inputs differ in dimension %d", d);
		shape[axis] += t->shape[axis];
	}
	int y = ox_out_tensor(c, n, 0, dt, rank, shape);
	if (y < 0)
		return y;
	nn_node *x = ox_emit(c, n, NN_OP_CONCATENATION, k_in, in, 1, &y);
	if (!x)
		return NN_ERR_NOMEM;
	x->p.concat.axis = axis;
	x->p.concat.act = NN_ACT_NONE;
	return 0;
}

static int map_split(ox *c, const ox_node *n, int arg)
{
	(void)arg;
	int x = ox_in_tensor(c, n, 0);
	if (x < 0)
		return x;
	nn_tensor *t = ox_T(c, x);
	int rank = t->rank, axis;
	if (ox_axis(c, ox_attr_i(n, "axis", 0), rank, &axis) < 0)
		return NN_ERR_FORMAT;
	int64_t sizes[1024];
	int ns = 0, no = n->n_out;
	if (no < 1 || no > 1024)
		return ox_unsupported(c, "%d outputs", no);
	if (c->opset >= 13 && n->n_in > 1 && n->in[1][0]) {
		ox_val *v = ox_in_const(c, n, 1);
		if (!v || v->n > 1024)
			return ox_unsupported(c, "split sizes computed at run time");
		ns = (int)v->n;
		for (int k = 0; k < ns; k++)
			sizes[k] = ox_val_int(v, k);
	} else if (c->opset < 13 && ox_attr_get(n, "split")) {
		if (ox_attr_ints(c, n, "split", sizes, 1024, &ns) < 0)
			return NN_ERR_FORMAT;
	}
	int64_t dim = t->shape[axis];
	if (!ns) {
		/* Equal parts; from opset 18 the last may be smaller (num_outputs). */
		int64_t part = (dim + no - 1) / no;
		for (int k = 0; k < no; k++) {
			sizes[k] = dim - part * k < part ? dim - part * k : part;
			if (sizes[k] < 0)
				sizes[k] = 0;
		}
		ns = no;
		if (dim % no && c->opset < 18)
			return ox_nfail(c, NN_ERR_SHAPE, "dimension %lld does not split into %d equal parts", (long long)dim, no);
	}
	if (ns != no)
		return ox_nfail(c, NN_ERR_FORMAT, "%d split sizes for %d outputs", ns, no);
	int64_t sum = 0;
	for (int k = 0; k < ns; k++) {
		if (sizes[k] < 0)
			return ox_nfail(c, NN_ERR_FORMAT, "a negative split size");
		sum += sizes[k];
	}
	if (sum != dim)
		return ox_nfail(c, NN_ERR_SHAPE, "split sizes add up to %lld, the dimension is %lld", (long long)sum,
				(long long)dim);
	int outs[1024];
	for (int k = 0; k < no; k++) {
		t = ox_T(c, x);
		int shape[NN_MAX_RANK];
		memcpy(shape, t->shape, sizeof shape);
		shape[axis] = (int)sizes[k];
		outs[k] = n->out[k][0] ? ox_out_tensor(c, n, k, t->dtype, rank, shape)
				       : ox_temp(c, n, "/unused", t->dtype, rank, shape);
		if (outs[k] < 0)
			return outs[k];
	}
	nn_node *s = ox_emit(c, n, NN_OP_SPLIT, 1, &x, no, outs);
	if (!s)
		return NN_ERR_NOMEM;
	s->p.split.axis = axis;
	return 0;
}

static int const_ints_in(ox *c, const ox_node *n, int k, int64_t *v, int max, int *count, const char *what)
{
	*count = -1;
	if (k >= n->n_in || !n->in[k][0])
		return 0;
	ox_val *x = ox_in_const(c, n, k);
	if (!x)
		return ox_unsupported(c, "%s computed at run time", what);
	if (x->n > max)
		return ox_nfail(c, NN_ERR_FORMAT, "%s has %lld values", what, (long long)x->n);
	for (int64_t j = 0; j < x->n; j++)
		v[j] = ox_val_int(x, j);
	*count = (int)x->n;
	return 0;
}

static int map_slice(ox *c, const ox_node *n, int arg)
{
	(void)arg;
	int x = ox_in_tensor(c, n, 0);
	if (x < 0)
		return x;
	int64_t st[NN_MAX_RANK], en[NN_MAX_RANK], ax[NN_MAX_RANK], sp[NN_MAX_RANK];
	int ns, ne, na = -1, np = -1, rc;
	if (c->opset < 10) {
		if (ox_attr_ints(c, n, "starts", st, NN_MAX_RANK, &ns) < 0 || ox_attr_ints(c, n, "ends", en, NN_MAX_RANK, &ne) < 0 ||
		    ox_attr_ints(c, n, "axes", ax, NN_MAX_RANK, &na) < 0)
			return NN_ERR_FORMAT;
		if (!ox_attr_get(n, "axes"))
			na = -1;
	} else if ((rc = const_ints_in(c, n, 1, st, NN_MAX_RANK, &ns, "starts")) ||
		   (rc = const_ints_in(c, n, 2, en, NN_MAX_RANK, &ne, "ends")) ||
		   (rc = const_ints_in(c, n, 3, ax, NN_MAX_RANK, &na, "axes")) ||
		   (rc = const_ints_in(c, n, 4, sp, NN_MAX_RANK, &np, "steps"))) {
		return rc;
	}
	if (ns < 0 || ne != ns || (na >= 0 && na != ns) || (np >= 0 && np != ns))
		return ox_nfail(c, NN_ERR_FORMAT, "starts, ends, axes and steps differ in length");
	int rank;
	int64_t dims[NN_MAX_RANK], b[NN_MAX_RANK], s[NN_MAX_RANK], cnt[NN_MAX_RANK];
	tdims(c, x, &rank, dims);
	if (ox_slice_resolve(c, rank, dims, ns, st, en, na >= 0 ? ax : NULL, np >= 0 ? sp : NULL, b, s, cnt) < 0)
		return NN_ERR_FORMAT;
	for (int d = 0; d < rank; d++)
		if (s[d] > INT32_MAX || s[d] < -INT32_MAX)
			return ox_unsupported(c, "a step of %lld", (long long)s[d]);
	int y = out_dims(c, n, 0, ox_T(c, x)->dtype, rank, cnt);
	if (y < 0)
		return y;
	nn_node *t = ox_emit(c, n, NN_OP_STRIDED_SLICE, 1, &x, 1, &y);
	if (!t)
		return NN_ERR_NOMEM;
	for (int d = 0; d < rank; d++) {
		t->p.slice.begin[d] = (int)b[d];
		t->p.slice.stride[d] = (int)s[d];
	}
	return 0;
}

static int map_gather(ox *c, const ox_node *n, int elements)
{
	int x = ox_in_tensor(c, n, 0);
	if (x < 0)
		return x;
	int rank = ox_T(c, x)->rank, axis;
	if (ox_axis(c, ox_attr_i(n, "axis", 0), rank, &axis) < 0)
		return NN_ERR_FORMAT;
	int64_t dim = ox_T(c, x)->shape[axis];
	ox_val *iv = ox_in_const(c, n, 1);
	int idx;
	if (iv && !elements) {
		/* Constant indices: negative ones wrapped here, as the kernel takes [0, dim). */
		ox_val *w = ox_val_new(c, OX_INT32, iv->rank, iv->dims);
		if (!w)
			return NN_ERR_NOMEM;
		for (int64_t k = 0; k < iv->n; k++) {
			int64_t v = ox_val_int(iv, k);
			if (v < 0)
				v += dim;
			if (v < 0 || v >= dim)
				return ox_nfail(c, NN_ERR_FORMAT, "index %lld is out of range for dimension %lld",
						(long long)ox_val_int(iv, k), (long long)dim);
			w->i[k] = v;
		}
		char nm[512];
		snprintf(nm, sizeof nm, "%s/indices", n->in[1]);
		if ((idx = ox_const_tensor(c, w, nm)) < 0)
			return idx;
	} else {
		if ((idx = ox_in_tensor(c, n, 1)) < 0)
			return idx;
		nn_dtype it = ox_T(c, idx)->dtype;
		if (it != NN_I32 && it != NN_I64)
			return ox_unsupported(c, "indices of type %s", nn_dtype_name(it));
	}
	nn_tensor *xt = ox_T(c, x), *ix = ox_T(c, idx);
	int shape[NN_MAX_RANK], r = 0;
	if (elements) {
		if (ix->rank != xt->rank)
			return ox_nfail(c, NN_ERR_SHAPE, "indices of rank %d for data of rank %d", ix->rank, xt->rank);
		r = ix->rank;
		memcpy(shape, ix->shape, sizeof shape);
	} else {
		if (xt->rank - 1 + ix->rank > NN_MAX_RANK)
			return ox_unsupported(c, "output rank past %d", NN_MAX_RANK);
		for (int d = 0; d < axis; d++)
			shape[r++] = xt->shape[d];
		for (int d = 0; d < ix->rank; d++)
			shape[r++] = ix->shape[d];
		for (int d = axis + 1; d < xt->rank; d++)
			shape[r++] = xt->shape[d];
	}
	int y = ox_out_tensor(c, n, 0, ox_T(c, x)->dtype, r, shape);
	if (y < 0)
		return y;
	int in[2] = { x, idx };
	nn_node *g = ox_emit(c, n, elements ? NN_OP_GATHER_ELEMENTS : NN_OP_GATHER, 2, in, 1, &y);
	if (!g)
		return NN_ERR_NOMEM;
	g->p.gather.axis = axis;
	g->p.gather.negative = 1; /* ONNX: indices in [-dim, 0) count from the end */
	return 0;
}

static int map_expand_tile(ox *c, const ox_node *n, int tile)
{
	int x = ox_in_tensor(c, n, 0);
	if (x < 0)
		return x;
	ox_val *v = ox_in_const(c, n, 1);
	if (!v || v->n > NN_MAX_RANK)
		return ox_unsupported(c, "%s computed at run time", tile ? "repeats" : "the shape");
	int rank, r;
	int64_t dims[NN_MAX_RANK], want[NN_MAX_RANK], out[NN_MAX_RANK];
	tdims(c, x, &rank, dims);
	for (int k = 0; k < v->n; k++)
		want[k] = ox_val_int(v, k);
	if (tile) {
		if (v->n != rank)
			return ox_nfail(c, NN_ERR_FORMAT, "%lld repeats for rank %d", (long long)v->n, rank);
		for (int d = 0; d < rank; d++) {
			if (want[d] < 0)
				return ox_nfail(c, NN_ERR_FORMAT, "a negative repeat");
			out[d] = dims[d] * want[d];
		}
		r = rank;
	} else if (ox_broadcast_dims(c, rank, dims, (int)v->n, want, &r, out) < 0) {
		return NN_ERR_SHAPE;
	}
	int y = out_dims(c, n, 0, ox_T(c, x)->dtype, r, out);
	if (y < 0)
		return y;
	return ox_emit(c, n, tile ? NN_OP_TILE : NN_OP_BROADCAST_TO, 1, &x, 1, &y) ? 0 : NN_ERR_NOMEM;
}

static int map_where(ox *c, const ox_node *n, int arg)
{
	(void)arg;
	int in[3];
	for (int k = 0; k < 3; k++)
		if ((in[k] = ox_in_tensor(c, n, k)) < 0)
			return in[k];
	if (ox_T(c, in[0])->dtype != NN_BOOL)
		return ox_nfail(c, NN_ERR_FORMAT, "the condition is not bool");
	int rc = same_types(c, in[1], in[2]);
	if (rc)
		return rc;
	int r, r2, ra;
	int64_t a[NN_MAX_RANK], b[NN_MAX_RANK], t[NN_MAX_RANK], out[NN_MAX_RANK];
	tdims(c, in[0], &ra, a);
	tdims(c, in[1], &r, b);
	if (ox_broadcast_dims(c, ra, a, r, b, &r2, t) < 0)
		return NN_ERR_SHAPE;
	tdims(c, in[2], &r, b);
	if (ox_broadcast_dims(c, r2, t, r, b, &ra, out) < 0)
		return NN_ERR_SHAPE;
	int y = out_dims(c, n, 0, ox_T(c, in[1])->dtype, ra, out);
	if (y < 0)
		return y;
	return ox_emit(c, n, NN_OP_SELECT, 3, in, 1, &y) ? 0 : NN_ERR_NOMEM;
}

static int map_pad(ox *c, const ox_node *n, int arg)
{
	(void)arg;
	int x = ox_in_tensor(c, n, 0);
	if (x < 0)
		return x;
	const char *mode = ox_attr_s(n, "mode", "constant");
	nn_pad_mode pm = !strcmp(mode, "constant") ? NN_PAD_CONSTANT
			 : !strcmp(mode, "reflect") ? NN_PAD_REFLECT
			 : !strcmp(mode, "edge")    ? NN_PAD_EDGE
						    : (nn_pad_mode)-1;
	if ((int)pm < 0)
		return ox_unsupported(c, "pad mode '%s'", mode);
	int rank = ox_T(c, x)->rank, np, rc;
	int64_t pads[2 * NN_MAX_RANK], axes[NN_MAX_RANK];
	float value = 0;
	if (c->opset < 11) {
		if (ox_attr_ints(c, n, "pads", pads, 2 * NN_MAX_RANK, &np) < 0)
			return NN_ERR_FORMAT;
		value = ox_attr_f(n, "value", 0);
	} else {
		if ((rc = const_ints_in(c, n, 1, pads, 2 * NN_MAX_RANK, &np, "pads")))
			return rc;
		if (n->n_in > 2 && n->in[2][0]) {
			ox_val *v = ox_in_const(c, n, 2);
			if (!v || v->n != 1)
				return ox_unsupported(c, "a pad value computed at run time");
			value = (float)ox_val_get(v, 0);
		}
	}
	int na = -1;
	if ((rc = const_ints_in(c, n, 3, axes, NN_MAX_RANK, &na, "axes")))
		return rc;
	int nax = na >= 0 ? na : rank;
	if (np != 2 * nax)
		return ox_nfail(c, NN_ERR_FORMAT, "%d pads for %d axes", np, nax);
	int before[NN_MAX_RANK] = { 0 }, after[NN_MAX_RANK] = { 0 }, shape[NN_MAX_RANK];
	for (int k = 0; k < nax; k++) {
		int a = k;
		if (na >= 0 && ox_axis(c, axes[k], rank, &a) < 0)
			return NN_ERR_FORMAT;
		if (pads[k] < 0 || pads[k + nax] < 0)
			return ox_unsupported(c, "negative pads");
		if (pads[k] > OX_MAX_DIM || pads[k + nax] > OX_MAX_DIM)
			return ox_nfail(c, NN_ERR_FORMAT, "pads too large");
		before[a] = (int)pads[k];
		after[a] = (int)pads[k + nax];
	}
	for (int d = 0; d < rank; d++) {
		int64_t v = (int64_t)ox_T(c, x)->shape[d] + before[d] + after[d];
		if (v > OX_MAX_DIM)
			return ox_nfail(c, NN_ERR_FORMAT, "pads too large");
		shape[d] = (int)v;
	}
	int y = ox_out_tensor(c, n, 0, ox_T(c, x)->dtype, rank, shape);
	if (y < 0)
		return y;
	nn_node *p = ox_emit(c, n, NN_OP_PAD, 1, &x, 1, &y);
	if (!p)
		return NN_ERR_NOMEM;
	for (int d = 0; d < rank; d++) {
		p->p.pad.pads[d][0] = before[d];
		p->p.pad.pads[d][1] = after[d];
	}
	p->p.pad.mode = pm;
	p->p.pad.value = pm == NN_PAD_CONSTANT ? value : 0.0f;
	return 0;
}

static int map_reduce(ox *c, const ox_node *n, int op)
{
	int x, rc;
	if ((rc = input_float(c, n, 0, &x)))
		return rc;
	int rank = ox_T(c, x)->rank, na = 0;
	int64_t axes[NN_MAX_RANK];
	/* Axes moved from the attribute to an input: ReduceSum at 13, the others at 18. */
	int from_input = c->opset >= (op == NN_OP_REDUCE_SUM ? 13 : 18);
	if (from_input) {
		if ((rc = const_ints_in(c, n, 1, axes, NN_MAX_RANK, &na, "axes")))
			return rc;
		if (na < 0)
			na = 0;
	} else if (ox_attr_ints(c, n, "axes", axes, NN_MAX_RANK, &na) < 0) {
		return NN_ERR_FORMAT;
	}
	int keep = (int)ox_attr_i(n, "keepdims", 1);
	if (!na && ox_attr_i(n, "noop_with_empty_axes", 0)) {
		nn_tensor *t = ox_T(c, x);
		int shape[NN_MAX_RANK];
		memcpy(shape, t->shape, sizeof shape);
		int y = ox_out_tensor(c, n, 0, NN_F32, t->rank, shape);
		return y < 0 ? y : ox_reshape(c, n, x, rank, shape, y) < 0 ? NN_ERR_NOMEM : 0;
	}
	int red[NN_MAX_RANK] = { 0 };
	if (!na)
		for (int d = 0; d < rank; d++)
			axes[na++] = d;
	for (int k = 0; k < na; k++) {
		int a;
		if (ox_axis(c, axes[k], rank, &a) < 0)
			return NN_ERR_FORMAT;
		red[a] = 1;
	}
	int shape[NN_MAX_RANK], r = 0;
	for (int d = 0; d < rank; d++) {
		if (!red[d])
			shape[r++] = ox_T(c, x)->shape[d];
		else if (keep)
			shape[r++] = 1;
	}
	int y = ox_out_tensor(c, n, 0, NN_F32, r, shape);
	if (y < 0)
		return y;
	nn_node *m = ox_emit(c, n, (nn_op)op, 1, &x, 1, &y);
	if (!m)
		return NN_ERR_NOMEM;
	m->p.reduce.n_axes = 0;
	for (int d = 0; d < rank; d++)
		if (red[d])
			m->p.reduce.axes[m->p.reduce.n_axes++] = d;
	m->p.reduce.keep_dims = keep;
	return 0;
}

/* ArgMax; ArgMin (arg 1) as the ArgMax of -x, whose ties fall on the same indices. */
static int map_argmax(ox *c, const ox_node *n, int arg)
{
	int x, rc;
	if ((rc = input_float(c, n, 0, &x)))
		return rc;
	if (arg) {
		nn_node *neg = emit_unary(c, n, NN_OP_NEG, x, -1);
		if (!neg)
			return NN_ERR_NOMEM;
		x = neg->outputs[0];
	}
	int rank = ox_T(c, x)->rank, axis;
	if (rank < 1)
		return ox_nfail(c, NN_ERR_SHAPE, "input of rank 0");
	if (ox_axis(c, ox_attr_i(n, "axis", 0), rank, &axis) < 0)
		return NN_ERR_FORMAT;
	int keep = (int)ox_attr_i(n, "keepdims", 1);
	int shape[NN_MAX_RANK], r = 0, kshape[NN_MAX_RANK];
	for (int d = 0; d < rank; d++) {
		kshape[d] = d == axis ? 1 : ox_T(c, x)->shape[d];
		if (d != axis)
			shape[r++] = ox_T(c, x)->shape[d];
	}
	int y = keep ? ox_temp(c, n, "/argmax", NN_I64, r, shape) : ox_out_tensor(c, n, 0, NN_I64, r, shape);
	if (y < 0)
		return y;
	nn_node *a = ox_emit(c, n, NN_OP_ARG_MAX, 1, &x, 1, &y);
	if (!a)
		return NN_ERR_NOMEM;
	a->p.arg.axis = axis;
	a->p.arg.select_last = ox_attr_i(n, "select_last_index", 0) != 0;
	if (keep) {
		int o = ox_out_tensor(c, n, 0, NN_I64, rank, kshape);
		if (o < 0 || ox_reshape(c, n, y, rank, kshape, o) < 0)
			return o < 0 ? o : NN_ERR_NOMEM;
	}
	return 0;
}

static int map_topk(ox *c, const ox_node *n, int arg)
{
	(void)arg;
	int x, rc;
	if ((rc = input_float(c, n, 0, &x)))
		return rc;
	int rank = ox_T(c, x)->rank, axis;
	if (ox_axis(c, ox_attr_i(n, "axis", -1), rank, &axis) < 0)
		return NN_ERR_FORMAT;
	if (axis != rank - 1)
		return ox_unsupported(c, "TopK along axis %d (the last only)", axis);
	int64_t k;
	if (c->opset < 10) {
		k = ox_attr_i(n, "k", -1);
	} else {
		ox_val *v = ox_in_const(c, n, 1);
		if (!v || v->n != 1)
			return ox_unsupported(c, "k computed at run time");
		k = ox_val_int(v, 0);
	}
	if (k < 0 || k > ox_T(c, x)->shape[axis])
		return ox_nfail(c, NN_ERR_FORMAT, "k = %lld for a dimension of %d", (long long)k, ox_T(c, x)->shape[axis]);
	int shape[NN_MAX_RANK];
	memcpy(shape, ox_T(c, x)->shape, sizeof shape);
	shape[axis] = (int)k;
	int v = ox_out_tensor(c, n, 0, NN_F32, rank, shape);
	int i32 = v < 0 ? v : ox_temp(c, n, "/indices32", NN_I32, rank, shape);
	if (i32 < 0)
		return i32;
	int outs[2] = { v, i32 };
	nn_node *t = ox_emit(c, n, NN_OP_TOPK, 1, &x, 2, outs);
	if (!t)
		return NN_ERR_NOMEM;
	t->p.topk.k = (int)k;
	t->p.topk.smallest = !ox_attr_i(n, "largest", 1);
	if (n->n_out > 1 && n->out[1][0]) {
		int i64 = ox_out_tensor(c, n, 1, NN_I64, rank, shape);
		if (i64 < 0 || !ox_emit(c, n, NN_OP_CAST, 1, &i32, 1, &i64))
			return i64 < 0 ? i64 : NN_ERR_NOMEM;
	}
	return 0;
}

/* ---- quantization -------------------------------------------------------- */

/* Scale and zero point of a QuantizeLinear / DequantizeLinear (inputs 1 and 2): constants, per tensor or per axis. */
static int qparams(ox *c, const ox_node *n, int rank, const int *shape, int *count, int *axis, float **scale,
		   int32_t **zp, int *zp_dtype)
{
	ox_val *s = ox_in_const(c, n, 1), *z = n->n_in > 2 && n->in[2][0] ? ox_in_const(c, n, 2) : NULL;
	if (!s || !s->f || (n->n_in > 2 && n->in[2][0] && !z))
		return ox_unsupported(c, "scale or zero point computed at run time");
	if (ox_attr_i(n, "block_size", 0))
		return ox_unsupported(c, "blocked quantization");
	*zp_dtype = z ? z->dtype : OX_UINT8;
	if (*zp_dtype != OX_UINT8 && *zp_dtype != OX_INT8)
		return ox_unsupported(c, "zero point of type %s (uint8 and int8 only)", ox_dtype_name(*zp_dtype));
	if (z && z->n != s->n)
		return ox_nfail(c, NN_ERR_SHAPE, "%lld scales and %lld zero points", (long long)s->n, (long long)z->n);
	*count = (int)s->n;
	*axis = 0;
	if (s->n > 1) {
		if (ox_axis(c, ox_attr_i(n, "axis", 1), rank, axis) < 0)
			return NN_ERR_FORMAT;
		if (shape[*axis] != s->n)
			return ox_nfail(c, NN_ERR_SHAPE, "%lld scales for dimension %d of %d", (long long)s->n, *axis,
					shape[*axis]);
	}
	*scale = ox_alloc(c, (size_t)s->n * sizeof **scale);
	*zp = ox_alloc(c, (size_t)s->n * sizeof **zp);
	if (!*scale || !*zp)
		return NN_ERR_NOMEM;
	for (int64_t k = 0; k < s->n; k++) {
		(*scale)[k] = s->f[k];
		(*zp)[k] = z ? (int32_t)z->i[k] : 0;
		if (!(s->f[k] > 0) || !isfinite(s->f[k]))
			return ox_unsupported(c, "scale %g", s->f[k]);
	}
	return 0;
}

static int map_quantize(ox *c, const ox_node *n, int dequantize)
{
	int x = ox_in_tensor(c, n, 0);
	if (x < 0)
		return x;
	nn_tensor *t = ox_T(c, x);
	int rank = t->rank, shape[NN_MAX_RANK], count = 0, axis = 0, zdt = 0, rc;
	memcpy(shape, t->shape, sizeof shape);
	float *scale = NULL;
	int32_t *zp = NULL;
	if ((rc = qparams(c, n, rank, shape, &count, &axis, &scale, &zp, &zdt)))
		return rc;
	if (dequantize) {
		nn_dtype dt = t->dtype;
		if (dt != NN_U8 && dt != NN_I8 && dt != NN_I32)
			return ox_unsupported(c, "input of type %s", nn_dtype_name(dt));
		if (t->quant.count == 0) {
			if (nn_tensor_set_quant(t, count, axis, scale, zp) < 0)
				return ox_fail(c, NN_ERR_NOMEM, "out of memory");
		} else if (t->quant.count != count || t->quant.scale[0] != scale[0] || t->quant.zero_point[0] != zp[0]) {
			/* The tensor already carries other parameters (read twice differently): requantize through float. */
			return ox_unsupported(c, "a tensor dequantized with two different parameter sets");
		}
		int y = ox_out_tensor(c, n, 0, NN_F32, rank, shape);
		return y < 0 ? y : ox_emit(c, n, NN_OP_DEQUANTIZE, 1, &x, 1, &y) ? 0 : NN_ERR_NOMEM;
	}
	if (t->dtype != NN_F32)
		return ox_unsupported(c, "input of type %s", nn_dtype_name(t->dtype));
	int y = ox_out_tensor(c, n, 0, zdt == OX_INT8 ? NN_I8 : NN_U8, rank, shape);
	if (y < 0)
		return y;
	if (nn_tensor_set_quant(ox_T(c, y), count, axis, scale, zp) < 0)
		return ox_fail(c, NN_ERR_NOMEM, "out of memory");
	return ox_emit(c, n, NN_OP_QUANTIZE, 1, &x, 1, &y) ? 0 : NN_ERR_NOMEM;
}

/* ---- the table ----------------------------------------------------------- */

typedef struct op_entry {
	const char *name;
	map_fn fn;
	int arg;
} op_entry;

static int map_conv_w(ox *c, const ox_node *n, int a) { (void)a; return ox_map_conv(c, n); }
static int map_convt_w(ox *c, const ox_node *n, int a) { (void)a; return ox_map_conv_transpose(c, n); }
static int map_pool_w(ox *c, const ox_node *n, int a) { (void)a; return ox_map_pool(c, n); }
static int map_gpool_w(ox *c, const ox_node *n, int a) { (void)a; return ox_map_global_pool(c, n); }
static int map_resize_w(ox *c, const ox_node *n, int a) { (void)a; return ox_map_resize(c, n); }
static int map_bn_w(ox *c, const ox_node *n, int a) { (void)a; return ox_map_batchnorm(c, n); }
static int map_in_w(ox *c, const ox_node *n, int a) { (void)a; return ox_map_instancenorm(c, n); }
static int map_ds_w(ox *c, const ox_node *n, int a) { (void)a; return ox_map_depth_space(c, n); }
static int map_gemm_w(ox *c, const ox_node *n, int a) { (void)a; return ox_map_gemm(c, n); }
static int map_matmul_w(ox *c, const ox_node *n, int a) { (void)a; return ox_map_matmul(c, n); }
static int map_logic_w(ox *c, const ox_node *n, int a) { return ox_map_logic(c, n, a); }
static int map_eval_only(ox *c, const ox_node *n, int a)
{
	(void)a;
	return ox_unsupported(c, "%s of values known only at run time", n->op);
}

static const op_entry ops[] = {
	{ "Add", map_binary, NN_OP_ADD },
	{ "Sub", map_binary, NN_OP_SUB },
	{ "Mul", map_binary, NN_OP_MUL },
	{ "Div", map_binary, NN_OP_DIV },
	{ "Pow", map_binary, NN_OP_POW },
	{ "Equal", map_binary, NN_OP_EQUAL },
	{ "Greater", map_binary, NN_OP_GREATER },
	{ "Less", map_binary, NN_OP_LESS },
	{ "And", map_binary, NN_OP_LOGICAL_AND },
	{ "LessOrEqual", map_cmp_eq, NN_OP_GREATER },
	{ "GreaterOrEqual", map_cmp_eq, NN_OP_LESS },
	{ "Max", map_variadic, NN_OP_MAXIMUM },
	{ "Min", map_variadic, NN_OP_MINIMUM },
	{ "Sum", map_variadic, NN_OP_ADD },
	{ "Mean", map_variadic, -1 },
	{ "Relu", map_unary, NN_OP_RELU },
	{ "Sigmoid", map_unary, NN_OP_LOGISTIC },
	{ "Tanh", map_unary, NN_OP_TANH },
	{ "HardSwish", map_unary, NN_OP_HARD_SWISH },
	{ "LeakyRelu", map_unary, NN_OP_LEAKY_RELU },
	{ "Elu", map_unary, NN_OP_ELU },
	{ "Exp", map_unary, NN_OP_EXP },
	{ "Log", map_unary, NN_OP_LOG },
	{ "Neg", map_unary, NN_OP_NEG },
	{ "Abs", map_unary, NN_OP_ABS },
	{ "Erf", map_unary, NN_OP_ERF },
	{ "Sqrt", map_unary, NN_OP_SQRT },
	{ "Not", map_unary, NN_OP_LOGICAL_NOT },
	{ "HardSigmoid", map_hard_sigmoid, 0 },
	{ "PRelu", map_prelu, 0 },
	{ "Clip", map_clip, 0 },
	{ "Softmax", map_softmax, 0 },
	{ "LogSoftmax", map_softmax, 1 },
	{ "Cast", map_cast, 0 },
	{ "Identity", map_identity, 0 },
	{ "Dropout", map_identity, 0 },
	{ "Reshape", map_reshape_like, 0 },
	{ "Flatten", map_reshape_like, 1 },
	{ "Unsqueeze", map_reshape_like, 2 },
	{ "Squeeze", map_reshape_like, 3 },
	{ "Transpose", map_transpose, 0 },
	{ "Concat", map_concat, 0 },
	{ "Split", map_split, 0 },
	{ "Slice", map_slice, 0 },
	{ "Gather", map_gather, 0 },
	{ "GatherElements", map_gather, 1 },
	{ "Expand", map_expand_tile, 0 },
	{ "Tile", map_expand_tile, 1 },
	{ "Where", map_where, 0 },
	{ "Pad", map_pad, 0 },
	{ "ReduceMean", map_reduce, NN_OP_MEAN },
	{ "ReduceMax", map_reduce, NN_OP_REDUCE_MAX },
	{ "ReduceMin", map_reduce, NN_OP_REDUCE_MIN },
	{ "ReduceSum", map_reduce, NN_OP_REDUCE_SUM },
	{ "ArgMax", map_argmax, 0 },
	{ "TopK", map_topk, 0 },
	{ "NonMaxSuppression", ox_map_nms, 0 },
	{ "Conv", map_conv_w, 0 },
	{ "ConvTranspose", map_convt_w, 0 },
	{ "MaxPool", map_pool_w, 0 },
	{ "AveragePool", map_pool_w, 0 },
	{ "GlobalAveragePool", map_gpool_w, 0 },
	{ "GlobalMaxPool", map_gpool_w, 0 },
	{ "Resize", map_resize_w, 0 },
	{ "Upsample", map_resize_w, 0 },
	{ "BatchNormalization", map_bn_w, 0 },
	{ "InstanceNormalization", map_in_w, 0 },
	{ "DepthToSpace", map_ds_w, 0 },
	{ "SpaceToDepth", map_ds_w, 0 },
	{ "Gemm", map_gemm_w, 0 },
	{ "MatMul", map_matmul_w, 0 },
	{ "QuantizeLinear", map_quantize, 0 },
	{ "DequantizeLinear", map_quantize, 1 },
	{ "DynamicQuantizeLinear", ox_map_qop, OX_Q_DYNQUANT },
	{ "MatMulInteger", ox_map_qop, OX_Q_MATMUL_INTEGER },
	{ "QLinearMatMul", ox_map_qop, OX_Q_QLINEAR_MATMUL },
	{ "ConvInteger", ox_map_qop, OX_Q_CONV_INTEGER },
	{ "QLinearConv", ox_map_qop, OX_Q_QLINEAR_CONV },
	/* Evaluated at load time (onnx_eval.c); reaching the table means an input is known only at run time. */
	{ "Constant", map_eval_only, 0 },
	{ "Shape", map_eval_only, 0 },
	{ "Size", map_eval_only, 0 },
	{ "ConstantOfShape", map_eval_only, 0 },
	{ "Range", map_eval_only, 0 },
	{ "Or", map_logic_w, 0 },
	{ "Xor", map_logic_w, 1 },
	{ "ArgMin", map_argmax, 1 },
	{ NULL, NULL, 0 },
};

/* Domain com.microsoft (onnx_ops_msq.c). */
static const op_entry ms_ops[] = {
	{ "QLinearAdd", ox_map_msq, OX_MSQ_ADD },
	{ "QLinearMul", ox_map_msq, OX_MSQ_MUL },
	{ "QLinearSigmoid", ox_map_msq, OX_MSQ_SIGMOID },
	{ "QLinearLeakyRelu", ox_map_msq, OX_MSQ_LEAKY_RELU },
	{ "QLinearGlobalAveragePool", ox_map_msq, OX_MSQ_GLOBAL_AVG },
	{ "QLinearAveragePool", ox_map_msq, OX_MSQ_AVG_POOL },
	{ "QLinearConcat", ox_map_msq, OX_MSQ_CONCAT },
	{ NULL, NULL, 0 },
};

static const op_entry *find_op(const char *domain, const char *op)
{
	const op_entry *table = ops;
	if (!strcmp(domain, "com.microsoft"))
		table = ms_ops;
	else if (domain[0] && strcmp(domain, "ai.onnx"))
		return NULL;
	for (const op_entry *e = table; e->name; e++)
		if (!strcmp(e->name, op))
			return e;
	return NULL;
}

int ox_op_known(const char *domain, const char *op)
{
	return find_op(domain, op) != NULL;
}

int ox_map_node(ox *c, const ox_node *n)
{
	const op_entry *e = find_op(n->domain, n->op);
	if (!e)
		return ox_unsupported(c, "operator %s is not supported", n->op);
	for (int k = 0; k < n->n_in; k++) {
		ox_value *v = ox_in(c, n, k);
		if (v && !ox_has_value(v) && n->in[k][0])
			return ox_nfail(c, NN_ERR_FORMAT, "input '%s' has no value", n->in[k]);
	}
	return e->fn(c, n, e->arg);
}
