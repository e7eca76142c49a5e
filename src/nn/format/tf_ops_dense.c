/*
 * MatMul and Softmax, the ops of Keras Dense layers as a SavedModel holds
 * them (the TF.js converter fuses them away, so tfjs.c never needed them).
 */
#include "nn/format/tf_ops_internal.h"

/* MatMul [M,K] x [K,N]: FULLY_CONNECTED, whose weights are [N,K] (a TRANSPOSE of b, folded when b is constant). */
int tfo_map_matmul(tfo *c, tfo_node *n, int arg)
{
	(void)arg;
	int rc, a, b, ta = 0, tb = 0;
	if ((rc = tfo_init_outputs(c, n, 1)) < 0 || (rc = tfo_want_inputs(c, n, 2, 2)) < 0 ||
	    (rc = tfo_input_of(c, n, 0, NN_F32, 2, &a)) < 0 || (rc = tfo_input_of(c, n, 1, NN_F32, 2, &b)) < 0 ||
	    (rc = tfo_attr_bool(c, n, "transpose_a", 0, &ta)) < 0 || (rc = tfo_attr_bool(c, n, "transpose_b", 0, &tb)) < 0)
		return rc;
	if (ta)
		return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED, "transpose_a is not supported");
	const nn_tensor *x = T(c, a), *w = T(c, b);
	int k = w->shape[tb ? 1 : 0], units = w->shape[tb ? 0 : 1];
	if (x->shape[1] != k)
		return tfo_node_fail(c, n, NN_ERR_SHAPE, "[%d,%d] x %s[%d,%d] do not fit", x->shape[0], x->shape[1],
				     tb ? "transposed " : "", w->shape[0], w->shape[1]);
	int weights = b;
	if (!tb) {
		int64_t shape[2] = { units, k };
		if ((weights = tfo_add_temp(c, n, "/weights", NN_F32, 2, shape)) < 0)
			return weights;
		nn_node *t;
		if (tfo_add_node1(c, n, NN_OP_TRANSPOSE, 1, &b, weights, &t) < 0)
			return NN_ERR_NOMEM;
		t->p.transpose.perm[0] = 1;
		t->p.transpose.perm[1] = 0;
	}
	int64_t oshape[2] = { x->shape[0], units };
	int y = tfo_out_tensor(c, n, 0, NN_F32, 2, oshape);
	if (y < 0)
		return y;
	int in[2] = { a, weights };
	nn_node *node;
	if (tfo_add_node1(c, n, NN_OP_FULLY_CONNECTED, 2, in, y, &node) < 0)
		return NN_ERR_NOMEM;
	node->p.fc.act = NN_ACT_NONE;
	node->p.fc.keep_num_dims = 0;
	return 0;
}

/* Softmax over the last dimension, as TensorFlow's. */
int tfo_map_softmax(tfo *c, tfo_node *n, int arg)
{
	(void)arg;
	int rc, x;
	if ((rc = tfo_init_outputs(c, n, 1)) < 0 || (rc = tfo_want_inputs(c, n, 1, 1)) < 0 ||
	    (rc = tfo_input_of(c, n, 0, NN_F32, -1, &x)) < 0)
		return rc;
	if (T(c, x)->rank < 1)
		return tfo_node_fail(c, n, NN_ERR_SHAPE, "a scalar has no dimension to normalise over");
	int y = tfo_add_like(c, n, n->name, NN_F32, x);
	if (y < 0)
		return y;
	n->out[0] = y;
	nn_node *node;
	if (tfo_add_node1(c, n, NN_OP_SOFTMAX, 1, &x, y, &node) < 0)
		return NN_ERR_NOMEM;
	node->p.softmax.beta = 1.0f;
	return 0;
}
