/*
 * ONNX op forms on plain integers and the inference forms of training ops:
 * Clip of uint8 / int8 / int16 / int32 / int64 (MAXIMUM with min, then
 * MINIMUM with max, computed by the reference kernels' integer arithmetic),
 * and Dropout with its mask output, its ratio input and its training_mode
 * input (at inference Dropout is the identity and its mask all true; in
 * training mode only a ratio of 0 is deterministic, and it is the same).
 */
#include <string.h>

#include "nn/format/onnx_internal.h"

/* out = op(a, b) with a's shape and dtype (b is a scalar or broadcasts to a); into output 0 when last. */
static int emit_int2(ox *c, const ox_node *n, nn_op op, int a, int b, int last, const char *suffix)
{
	nn_tensor *t = ox_T(c, a);
	int shape[NN_MAX_RANK], rank = t->rank;
	nn_dtype dt = t->dtype;
	memcpy(shape, t->shape, sizeof shape);
	int y = last ? ox_out_tensor(c, n, 0, dt, rank, shape) : ox_temp(c, n, suffix, dt, rank, shape);
	if (y < 0)
		return y;
	int in[2] = { a, b };
	return ox_emit(c, n, op, 2, in, 1, &y) ? y : NN_ERR_NOMEM;
}

int ox_map_clip_int(ox *c, const ox_node *n)
{
	int x = ox_in_tensor(c, n, 0);
	if (x < 0)
		return x;
	nn_dtype dt = ox_T(c, x)->dtype;
	if (!ox_plain_int(dt))
		return ox_unsupported(c, "input 0 of type %s", nn_dtype_name(dt));
	if (c->opset < 11)
		return ox_unsupported(c, "Clip of %s before opset 11 (float only then)", nn_dtype_name(dt));
	int bound[2] = { -1, -1 }, nb = 0;
	for (int k = 1; k <= 2 && k < n->n_in; k++) {
		if (!n->in[k][0])
			continue;
		int t = ox_in_tensor(c, n, k);
		if (t < 0)
			return t;
		nn_tensor *bt = ox_T(c, t);
		if (bt->dtype != dt)
			return ox_nfail(c, NN_ERR_FORMAT, "%s of type %s for input of type %s", k == 1 ? "min" : "max",
					nn_dtype_name(bt->dtype), nn_dtype_name(dt));
		if (nn_tensor_elements(bt) != 1)
			return ox_nfail(c, NN_ERR_SHAPE, "%s is not a scalar", k == 1 ? "min" : "max");
		bound[k - 1] = t;
		nb++;
	}
	if (!nb)
		return ox_bind_out(c, n, 0, x);
	int y = x;
	if (bound[0] >= 0 && (y = emit_int2(c, n, NN_OP_MAXIMUM, y, bound[0], bound[1] < 0, "/clip_min")) < 0)
		return y;
	if (bound[1] >= 0 && (y = emit_int2(c, n, NN_OP_MINIMUM, y, bound[1], 1, "/clip_max")) < 0)
		return y;
	return 0;
}

int ox_map_dropout(ox *c, const ox_node *n)
{
	int x = ox_in_tensor(c, n, 0);
	if (x < 0)
		return x;
	/*
	 * Before opset 7 an is_test attribute (default 0) said training; a
	 * model run for inference means test mode whatever it says, as other
	 * runtimes take it, and from 7 to 11 Dropout had no training form.
	 */
	int training = 0;
	if (c->opset >= 12 && n->n_in > 2 && n->in[2][0]) {
		ox_val *tm = ox_in_const(c, n, 2);
		if (!tm || tm->n != 1)
			return ox_unsupported(c, "Dropout's training_mode computed at run time");
		training = ox_val_int(tm, 0) != 0;
	}
	if (training) {
		/* In training mode the output is random unless nothing is dropped. */
		float ratio = 0.5f;
		if (n->n_in > 1 && n->in[1][0]) {
			ox_val *r = ox_in_const(c, n, 1);
			if (!r || r->n != 1)
				return ox_unsupported(c, "Dropout's ratio computed at run time in training mode");
			ratio = (float)ox_val_get(r, 0);
		}
		if (ratio != 0)
			return ox_unsupported(c, "Dropout in training mode (ratio %g: random)", (double)ratio);
	}
	/* The mask: all true (bool from opset 10, before that of the input's type: 1). */
	nn_tensor *t = ox_T(c, x);
	int want_mask = n->n_out > 1 && n->out[1][0];
	if (want_mask && c->opset < 10 && t->dtype != NN_F32)
		return ox_unsupported(c, "Dropout's mask of %s before opset 10", nn_dtype_name(t->dtype));
	int rc = ox_bind_out(c, n, 0, x);
	if (rc < 0 || !want_mask)
		return rc;
	int64_t dims[NN_MAX_RANK];
	for (int d = 0; d < t->rank; d++)
		dims[d] = t->shape[d];
	int mask_bool = c->opset >= 10;
	ox_val *m = ox_val_new(c, mask_bool ? OX_BOOL : OX_FLOAT, t->rank, dims);
	if (!m)
		return NN_ERR_NOMEM;
	for (int64_t k = 0; k < m->n; k++) {
		if (mask_bool)
			m->i[k] = 1;
		else
			m->f[k] = 1.0f;
	}
	return ox_bind_const(c, n, 1, m);
}

/* out = op(inputs) as bool of the given shape: output 0 when last, else a temporary. */
static int emit_bool(ox *c, const ox_node *n, nn_op op, int n_in, const int *in, int last, const char *suffix,
		     int rank, const int *shape)
{
	int y = last ? ox_out_tensor(c, n, 0, NN_BOOL, rank, shape) : ox_temp(c, n, suffix, NN_BOOL, rank, shape);
	if (y < 0)
		return y;
	return ox_emit(c, n, op, n_in, in, 1, &y) ? y : NN_ERR_NOMEM;
}

/* Or(a, b) = NOT(AND(NOT a, NOT b)); Xor(a, b) = NOT(EQUAL(a, b)); bool, broadcasting. */
int ox_map_logic(ox *c, const ox_node *n, int xor)
{
	if (n->n_in != 2)
		return ox_nfail(c, NN_ERR_FORMAT, "has %d inputs, expected 2", n->n_in);
	int a = ox_in_tensor(c, n, 0), b = a < 0 ? a : ox_in_tensor(c, n, 1);
	if (b < 0)
		return b;
	nn_tensor *ta = ox_T(c, a), *tb = ox_T(c, b);
	if (ta->dtype != NN_BOOL || tb->dtype != NN_BOOL)
		return ox_unsupported(c, "%s of %s and %s", n->op, nn_dtype_name(ta->dtype), nn_dtype_name(tb->dtype));
	int64_t da[NN_MAX_RANK], db[NN_MAX_RANK], dims[NN_MAX_RANK];
	int ra = ta->rank, rb = tb->rank, rank;
	for (int d = 0; d < ra; d++)
		da[d] = ta->shape[d];
	for (int d = 0; d < rb; d++)
		db[d] = tb->shape[d];
	if (ox_broadcast_dims(c, ra, da, rb, db, &rank, dims) < 0)
		return NN_ERR_SHAPE;
	int shape[NN_MAX_RANK];
	for (int d = 0; d < rank; d++)
		shape[d] = (int)dims[d];
	int t;
	if (xor) {
		t = emit_bool(c, n, NN_OP_EQUAL, 2, (int[]){ a, b }, 0, "/xor_eq", rank, shape);
	} else {
		int sa[NN_MAX_RANK], sb[NN_MAX_RANK];
		memcpy(sa, ta->shape, sizeof sa);
		memcpy(sb, tb->shape, sizeof sb);
		int na = emit_bool(c, n, NN_OP_LOGICAL_NOT, 1, &a, 0, "/or_not_a", ra, sa);
		int nb = na < 0 ? na : emit_bool(c, n, NN_OP_LOGICAL_NOT, 1, &b, 0, "/or_not_b", rb, sb);
		t = nb < 0 ? nb : emit_bool(c, n, NN_OP_LOGICAL_AND, 2, (int[]){ na, nb }, 0, "/or_and", rank, shape);
	}
	if (t < 0)
		return t;
	t = emit_bool(c, n, NN_OP_LOGICAL_NOT, 1, &t, 1, "", rank, shape);
	return t < 0 ? t : 0;
}

/* y = CAST(x) to dt, a temporary of x's shape (or output 0 when last). */
static int cast_to(ox *c, const ox_node *n, int x, nn_dtype dt, int last, const char *suffix)
{
	nn_tensor *t = ox_T(c, x);
	int shape[NN_MAX_RANK], rank = t->rank;
	memcpy(shape, t->shape, sizeof shape);
	int y = last ? ox_out_tensor(c, n, 0, dt, rank, shape) : ox_temp(c, n, suffix, dt, rank, shape);
	if (y < 0)
		return y;
	return ox_emit(c, n, NN_OP_CAST, 1, &x, 1, &y) ? y : NN_ERR_NOMEM;
}

/*
 * Pow with an integer base and an exponent of another type; the result has
 * the base's type. An integer exponent is cast to the base's type (POW on
 * plain integers, math_ops.c); a float one takes the base to float32, and
 * the power back to the base's type truncated toward zero, as ONNX Runtime
 * casts std::pow's result.
 */
int ox_map_pow_int(ox *c, const ox_node *n, int a, int b)
{
	nn_dtype at = ox_T(c, a)->dtype, bt = ox_T(c, b)->dtype;
	int64_t da[NN_MAX_RANK], db[NN_MAX_RANK], dims[NN_MAX_RANK];
	int ra = ox_T(c, a)->rank, rb = ox_T(c, b)->rank, rank;
	for (int d = 0; d < ra; d++)
		da[d] = ox_T(c, a)->shape[d];
	for (int d = 0; d < rb; d++)
		db[d] = ox_T(c, b)->shape[d];
	if (ox_broadcast_dims(c, ra, da, rb, db, &rank, dims) < 0)
		return NN_ERR_SHAPE;
	int shape[NN_MAX_RANK];
	for (int d = 0; d < rank; d++)
		shape[d] = (int)dims[d];
	if (ox_plain_int(bt)) {
		int e = cast_to(c, n, b, at, 0, "/exponent");
		if (e < 0)
			return e;
		int y = ox_out_tensor(c, n, 0, at, rank, shape);
		if (y < 0)
			return y;
		return ox_emit(c, n, NN_OP_POW, 2, (int[]){ a, e }, 1, &y) ? 0 : NN_ERR_NOMEM;
	}
	if (bt != NN_F32)
		return ox_unsupported(c, "Pow of %s by %s", nn_dtype_name(at), nn_dtype_name(bt));
	int fa = cast_to(c, n, a, NN_F32, 0, "/base_f32");
	if (fa < 0)
		return fa;
	int p = ox_temp(c, n, "/pow_f32", NN_F32, rank, shape);
	if (p < 0)
		return p;
	if (!ox_emit(c, n, NN_OP_POW, 2, (int[]){ fa, b }, 1, &p))
		return NN_ERR_NOMEM;
	int y = cast_to(c, n, p, at, 1, "");
	return y < 0 ? y : 0;
}
