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
	int training = 0;
	if (c->opset < 7)
		training = !ox_attr_i(n, "is_test", 0);
	if (c->opset >= 12 && n->n_in > 2 && n->in[2][0]) {
		ox_val *tm = ox_in_const(c, n, 2);
		if (!tm || tm->n != 1)
			return ox_unsupported(c, "Dropout's training_mode computed at run time");
		training = ox_val_int(tm, 0) != 0;
	}
	if (training) {
		/* In training mode the output is random unless nothing is dropped. */
		float ratio = ox_attr_f(n, "ratio", 0.5f);
		if (c->opset >= 12) {
			ratio = 0.5f;
			if (n->n_in > 1 && n->in[1][0]) {
				ox_val *r = ox_in_const(c, n, 1);
				if (!r || r->n != 1)
					return ox_unsupported(c, "Dropout's ratio computed at run time in training mode");
				ratio = (float)ox_val_get(r, 0);
			}
		}
		if (ratio != 0)
			return ox_unsupported(c, "Dropout in training mode (ratio %g: random)", (double)ratio);
	}
	int rc = ox_bind_out(c, n, 0, x);
	if (rc < 0 || n->n_out < 2 || !n->out[1][0])
		return rc;
	/* The mask: all true (bool from opset 10, before that of the input's type: float 1). */
	nn_tensor *t = ox_T(c, x);
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
