/*
 * TensorFlow's element-wise ops, reductions, resampling and data movement
 * onto the IR, each with its static output shape.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/format/slice_spec.h"
#include "nn/format/tf_ops_internal.h"

/* ---- mapping: elementwise ---- */

/* The NumPy broadcast of two shapes. */
int tfo_broadcast(tfo *c, const tfo_node *n, const nn_tensor *a, const nn_tensor *b, int *rank, int64_t *shape)
{
	int r = a->rank > b->rank ? a->rank : b->rank;
	for (int d = r - 1; d >= 0; d--) {
		int da = d - (r - a->rank), db = d - (r - b->rank);
		int x = da >= 0 ? a->shape[da] : 1, y = db >= 0 ? b->shape[db] : 1;
		if (x != y && x != 1 && y != 1) {
			char s1[96], s2[96];
			return tfo_node_fail(c, n, NN_ERR_SHAPE, "input shapes %s and %s do not broadcast", tfo_tshape(a, s1, sizeof s1),
					 tfo_tshape(b, s2, sizeof s2));
		}
		shape[d] = x == 1 ? y : x;
	}
	*rank = r;
	return 0;
}

/* Binary ops with broadcasting: arithmetic, FloorDiv, FloorMod, Equal. */
int tfo_map_binary(tfo *c, tfo_node *n, int op_arg)
{
	nn_op op = (nn_op)op_arg;
	int rc, a, b, rank;
	int64_t shape[NN_MAX_RANK];
	if ((rc = tfo_init_outputs(c, n, 1)) < 0 || (rc = tfo_want_inputs(c, n, 2, 2)) < 0 || (rc = tfo_input_tensor(c, n, 0, &a)) < 0 ||
	    (rc = tfo_input_tensor(c, n, 1, &b)) < 0 || (rc = tfo_broadcast(c, n, T(c, a), T(c, b), &rank, shape)) < 0)
		return rc;
	nn_dtype dt = T(c, a)->dtype;
	if (T(c, b)->dtype != dt)
		return tfo_node_fail(c, n, NN_ERR_FORMAT, "inputs of types %s and %s", nn_dtype_name(dt),
				 nn_dtype_name(T(c, b)->dtype));
	int ok = dt == NN_F32 || (dt == NN_I32 && op != NN_OP_DIV) || (dt == NN_BOOL && op == NN_OP_EQUAL);
	if (!ok)
		return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED, "%s inputs are not supported", nn_dtype_name(dt));
	int y = tfo_out_tensor(c, n, 0, op == NN_OP_EQUAL ? NN_BOOL : dt, rank, shape);
	if (y < 0)
		return y;
	int in[2] = { a, b };
	nn_node *node;
	if (tfo_add_node1(c, n, op, 2, in, y, &node) < 0)
		return NN_ERR_NOMEM;
	node->p.act = NN_ACT_NONE;
	/* Integer arithmetic on constants is index bookkeeping that later ops may need as values: evaluate it now. */
	int budget = 256;
	if (dt == NN_I32 && nn_tensor_elements(T(c, y)) <= MAX_EVAL_ELEMENTS && tfo_const_computable(c, y, &budget))
		return tfo_make_const(c, n, y, "the result", 0);
	return 0;
}

/* BiasAdd: an ADD of a [C] bias along the last dimension. */
int tfo_map_bias_add(tfo *c, tfo_node *n, int arg)
{
	(void)arg;
	int rc, x, b;
	if ((rc = tfo_init_outputs(c, n, 1)) < 0 || (rc = tfo_check_nhwc(c, n)) < 0 || (rc = tfo_want_inputs(c, n, 2, 2)) < 0 ||
	    (rc = tfo_input_of(c, n, 0, NN_F32, -1, &x)) < 0 || (rc = tfo_input_of(c, n, 1, NN_F32, 1, &b)) < 0)
		return rc;
	const nn_tensor *xi = T(c, x);
	if (xi->rank < 1 || T(c, b)->shape[0] != xi->shape[xi->rank - 1]) {
		char s1[96], s2[96];
		return tfo_node_fail(c, n, NN_ERR_SHAPE, "bias %s does not fit input %s", tfo_tshape(T(c, b), s1, sizeof s1),
				 tfo_tshape(xi, s2, sizeof s2));
	}
	int y = tfo_add_like(c, n, n->name, NN_F32, x);
	if (y < 0)
		return y;
	n->out[0] = y;
	int in[2] = { x, b };
	nn_node *node;
	if (tfo_add_node1(c, n, NN_OP_ADD, 2, in, y, &node) < 0)
		return NN_ERR_NOMEM;
	node->p.act = NN_ACT_NONE;
	return 0;
}

/* Activations: one float input, same shape out. */
int tfo_map_unary(tfo *c, tfo_node *n, int op_arg)
{
	nn_op op = (nn_op)op_arg;
	int rc, x;
	float alpha = 0.2f;
	if ((rc = tfo_init_outputs(c, n, 1)) < 0 || (rc = tfo_want_inputs(c, n, 1, 1)) < 0 ||
	    (rc = tfo_input_of(c, n, 0, NN_F32, -1, &x)) < 0 ||
	    (op == NN_OP_LEAKY_RELU && (rc = tfo_attr_float(c, n, "alpha", 0.2f, &alpha)) < 0))
		return rc;
	int y = tfo_add_like(c, n, n->name, NN_F32, x);
	if (y < 0)
		return y;
	n->out[0] = y;
	nn_node *node;
	if (tfo_add_node1(c, n, op, 1, &x, y, &node) < 0)
		return NN_ERR_NOMEM;
	if (op == NN_OP_LEAKY_RELU)
		node->p.leaky_relu.alpha = alpha;
	return 0;
}

/* Prelu (TF.js's own op): x, alpha. */
int tfo_map_prelu(tfo *c, tfo_node *n, int arg)
{
	(void)arg;
	int rc, x, a, rank;
	int64_t shape[NN_MAX_RANK];
	if ((rc = tfo_init_outputs(c, n, 1)) < 0 || (rc = tfo_want_inputs(c, n, 2, 2)) < 0 ||
	    (rc = tfo_input_of(c, n, 0, NN_F32, -1, &x)) < 0 || (rc = tfo_input_of(c, n, 1, NN_F32, -1, &a)) < 0 ||
	    (rc = tfo_broadcast(c, n, T(c, x), T(c, a), &rank, shape)) < 0)
		return rc;
	int y = tfo_out_tensor(c, n, 0, NN_F32, rank, shape);
	if (y < 0)
		return y;
	int in[2] = { x, a };
	return tfo_add_node1(c, n, NN_OP_PRELU, 2, in, y, NULL) < 0 ? NN_ERR_NOMEM : 0;
}

/* Cast: to DstT; the same type is no op at all. */
int tfo_map_cast(tfo *c, tfo_node *n, int arg)
{
	(void)arg;
	int rc, x;
	nn_dtype dt;
	if ((rc = tfo_init_outputs(c, n, 1)) < 0 || (rc = tfo_want_inputs(c, n, 1, 1)) < 0 ||
	    (rc = tfo_attr_dtype(c, n, "DstT", 1, &dt)) < 0 || (rc = tfo_input_tensor(c, n, 0, &x)) < 0)
		return rc;
	if (T(c, x)->dtype == dt) {
		n->out[0] = x;
		return 0;
	}
	int y = tfo_add_like(c, n, n->name, dt, x);
	if (y < 0)
		return y;
	n->out[0] = y;
	return tfo_add_node1(c, n, NN_OP_CAST, 1, &x, y, NULL) < 0 ? NN_ERR_NOMEM : 0;
}

/* ---- mapping: reductions, resampling ---- */

/* Mean (arg 0) and Sum (arg 1) over constant axes. */
int tfo_map_mean(tfo *c, tfo_node *n, int arg)
{
	int rc, x, count, keep;
	int64_t axes[NN_MAX_RANK * 4];
	if ((rc = tfo_init_outputs(c, n, 1)) < 0 || (rc = tfo_want_inputs(c, n, 2, 2)) < 0 ||
	    (rc = tfo_input_of(c, n, 0, NN_F32, -1, &x)) < 0 ||
	    (rc = tfo_const_ints(c, n, 1, "reduction_indices", axes, NN_MAX_RANK * 4, &count)) < 0 ||
	    (rc = tfo_attr_bool(c, n, "keep_dims", 0, &keep)) < 0)
		return rc;
	const nn_tensor xi = *T(c, x);
	unsigned mask = 0;
	for (int k = 0; k < count; k++) {
		int a;
		if ((rc = tfo_norm_axis(c, n, axes[k], xi.rank, "axis", &a)) < 0)
			return rc;
		mask |= 1u << a;
	}
	int64_t shape[NN_MAX_RANK];
	int rank = 0;
	for (int d = 0; d < xi.rank; d++) {
		if (!(mask & (1u << d)))
			shape[rank++] = xi.shape[d];
		else if (keep)
			shape[rank++] = 1;
	}
	int y = arg ? tfo_add_temp(c, n, "/mean", NN_F32, rank, shape) : tfo_out_tensor(c, n, 0, NN_F32, rank, shape);
	if (y < 0)
		return y;
	nn_node *node;
	if (tfo_add_node1(c, n, NN_OP_MEAN, 1, &x, y, &node) < 0)
		return NN_ERR_NOMEM;
	node->p.reduce.keep_dims = keep;
	node->p.reduce.n_axes = 0;
	float count_f = 1.0f;
	for (int d = 0; d < xi.rank; d++)
		if (mask & (1u << d)) {
			node->p.reduce.axes[node->p.reduce.n_axes++] = d;
			count_f *= (float)xi.shape[d];
		}
	if (!arg)
		return 0;
	/* Sum: the IR has a mean, so the sum is the mean times the number of values reduced. */
	int k = tfo_const_f32(c, n, "/count", 0, NULL, &count_f);
	int o = k < 0 ? k : tfo_out_tensor(c, n, 0, NN_F32, rank, shape);
	if (o < 0)
		return o;
	int in[2] = { y, k };
	if (tfo_add_node1(c, n, NN_OP_MUL, 2, in, o, &node) < 0)
		return NN_ERR_NOMEM;
	node->p.act = NN_ACT_NONE;
	return 0;
}

int tfo_map_resize(tfo *c, tfo_node *n, int op_arg)
{
	nn_op op = (nn_op)op_arg;
	int rc, x, count, align, half;
	int64_t size[2];
	if ((rc = tfo_init_outputs(c, n, 1)) < 0 || (rc = tfo_want_inputs(c, n, 2, 2)) < 0 ||
	    (rc = tfo_input_of(c, n, 0, NN_F32, 4, &x)) < 0 || (rc = tfo_const_ints(c, n, 1, "size", size, 2, &count)) < 0 ||
	    (rc = tfo_attr_bool(c, n, "align_corners", 0, &align)) < 0 ||
	    (rc = tfo_attr_bool(c, n, "half_pixel_centers", 0, &half)) < 0)
		return rc;
	if (count != 2 || size[0] < 1 || size[1] < 1 || size[0] > MAX_PARAM || size[1] > MAX_PARAM)
		return tfo_node_fail(c, n, NN_ERR_FORMAT, "size must hold a height and a width from 1 to %d", MAX_PARAM);
	if (align && half)
		return tfo_node_fail(c, n, NN_ERR_FORMAT, "align_corners and half_pixel_centers cannot both be set");
	const nn_tensor *xi = T(c, x);
	int64_t shape[4] = { xi->shape[0], size[0], size[1], xi->shape[3] };
	int y = tfo_out_tensor(c, n, 0, NN_F32, 4, shape);
	if (y < 0)
		return y;
	nn_node *node;
	if (tfo_add_node1(c, n, op, 1, &x, y, &node) < 0)
		return NN_ERR_NOMEM;
	node->p.resize.align_corners = align;
	node->p.resize.half_pixel_centers = half;
	return 0;
}

/* ---- mapping: data movement ---- */

int tfo_map_concat(tfo *c, tfo_node *n, int arg)
{
	(void)arg;
	int rc, n_data = n->n_in - 1, axis = 0;
	int64_t ax, na;
	if ((rc = tfo_init_outputs(c, n, 1)) < 0)
		return rc;
	if (n_data < 1)
		return tfo_node_fail(c, n, NN_ERR_FORMAT, "has %d inputs, expected the values and an axis", n->n_in);
	if ((rc = tfo_attr_int(c, n, "N", n_data, 1, INT32_MAX, &na)) < 0)
		return rc;
	if (na != n_data)
		return tfo_node_fail(c, n, NN_ERR_FORMAT, "N is %lld but the node has %d values", (long long)na, n_data);
	int *in = malloc((size_t)n_data * sizeof *in);
	if (!in)
		return tfo_nomem(c);
	for (int k = 0; k < n_data && rc == 0; k++)
		rc = tfo_input_tensor(c, n, k, &in[k]);
	if (rc == 0)
		rc = tfo_const_int(c, n, n_data, "axis", &ax);
	nn_tensor first = rc == 0 ? *T(c, in[0]) : (nn_tensor){ 0 };
	if (rc == 0)
		rc = tfo_norm_axis(c, n, ax, first.rank, "axis", &axis);
	int64_t shape[NN_MAX_RANK], total = 0;
	for (int k = 0; k < n_data && rc == 0; k++) {
		const nn_tensor *t = T(c, in[k]);
		int fits = t->rank == first.rank && t->dtype == first.dtype;
		for (int d = 0; fits && d < first.rank; d++)
			fits = d == axis || t->shape[d] == first.shape[d];
		if (!fits) {
			char s1[96], s2[96];
			rc = tfo_node_fail(c, n, NN_ERR_SHAPE, "input %d (%s %s) does not fit input 0 (%s %s) outside axis %d", k,
				       nn_dtype_name(t->dtype), tfo_tshape(t, s1, sizeof s1), nn_dtype_name(first.dtype),
				       tfo_tshape(&first, s2, sizeof s2), axis);
		}
		total += t->shape[axis < t->rank ? axis : 0];
	}
	if (rc < 0) {
		free(in);
		return rc;
	}
	for (int d = 0; d < first.rank; d++)
		shape[d] = d == axis ? total : first.shape[d];
	int y = tfo_out_tensor(c, n, 0, first.dtype, first.rank, shape);
	nn_node *node = NULL;
	if (y >= 0 && tfo_add_node1(c, n, NN_OP_CONCATENATION, n_data, in, y, &node) >= 0) {
		node->p.concat.axis = axis;
		node->p.concat.act = NN_ACT_NONE;
	}
	free(in);
	return y < 0 ? y : node ? 0 : NN_ERR_NOMEM;
}

/* Adds a RESHAPE of x to the given shape as output 0 of n. */
int tfo_emit_reshape(tfo *c, tfo_node *n, int x, int rank, const int64_t *shape)
{
	int64_t e = 1;
	for (int d = 0; d < rank; d++)
		e *= shape[d] >= 0 && shape[d] <= INT32_MAX ? shape[d] : -1;
	if (rank > NN_MAX_RANK || e != nn_tensor_elements(T(c, x))) {
		char s[96];
		return tfo_node_fail(c, n, NN_ERR_SHAPE, "cannot reshape %s (%lld values) to a shape of %lld values",
				 tfo_tshape(T(c, x), s, sizeof s), (long long)nn_tensor_elements(T(c, x)), (long long)e);
	}
	int y = tfo_out_tensor(c, n, 0, T(c, x)->dtype, rank, shape);
	if (y < 0)
		return y;
	return tfo_add_node1(c, n, NN_OP_RESHAPE, 1, &x, y, NULL) < 0 ? NN_ERR_NOMEM : 0;
}

int tfo_map_reshape(tfo *c, tfo_node *n, int arg)
{
	(void)arg;
	int rc, x, count, unknown = -1;
	int64_t shape[NN_MAX_RANK + 1];
	if ((rc = tfo_init_outputs(c, n, 1)) < 0 || (rc = tfo_want_inputs(c, n, 2, 2)) < 0 || (rc = tfo_input_tensor(c, n, 0, &x)) < 0 ||
	    (rc = tfo_const_ints(c, n, 1, "shape", shape, NN_MAX_RANK + 1, &count)) < 0)
		return rc;
	if (count > NN_MAX_RANK)
		return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED, "the new shape has %d dimensions; at most %d are supported", count,
				 NN_MAX_RANK);
	int64_t known = 1, total = nn_tensor_elements(T(c, x));
	for (int d = 0; d < count; d++) {
		if (shape[d] == -1 && unknown < 0) {
			unknown = d;
			continue;
		}
		if (shape[d] < 0 || shape[d] > INT32_MAX)
			return tfo_node_fail(c, n, NN_ERR_FORMAT, "dimension %d of the new shape is %lld", d, (long long)shape[d]);
		known = shape[d] && known > INT64_MAX / shape[d] ? -1 : known * shape[d];
		if (known < 0)
			return tfo_node_fail(c, n, NN_ERR_SHAPE, "the new shape overflows");
	}
	if (unknown >= 0) {
		if (known == 0 || total % known != 0) {
			char s[96];
			return tfo_node_fail(c, n, NN_ERR_SHAPE, "cannot infer dimension %d: %s holds %lld values, not a multiple of %lld",
					 unknown, tfo_tshape(T(c, x), s, sizeof s), (long long)total, (long long)known);
		}
		shape[unknown] = total / known;
	}
	return tfo_emit_reshape(c, n, x, count, shape);
}

int tfo_map_squeeze(tfo *c, tfo_node *n, int arg)
{
	(void)arg;
	int rc, x, count;
	int64_t dims[NN_MAX_RANK * 2];
	if ((rc = tfo_init_outputs(c, n, 1)) < 0 || (rc = tfo_want_inputs(c, n, 1, 1)) < 0 || (rc = tfo_input_tensor(c, n, 0, &x)) < 0 ||
	    (rc = tfo_attr_ints(c, n, "squeeze_dims", dims, NN_MAX_RANK * 2, &count)) < 0)
		return rc;
	if (count < 0 && (rc = tfo_attr_ints(c, n, "axis", dims, NN_MAX_RANK * 2, &count)) < 0)
		return rc;
	const nn_tensor xi = *T(c, x);
	unsigned drop = 0;
	for (int k = 0; k < count; k++) {
		int a;
		if ((rc = tfo_norm_axis(c, n, dims[k], xi.rank, "squeeze dimension", &a)) < 0)
			return rc;
		if (xi.shape[a] != 1)
			return tfo_node_fail(c, n, NN_ERR_SHAPE, "cannot squeeze dimension %d of size %d", a, xi.shape[a]);
		drop |= 1u << a;
	}
	int64_t shape[NN_MAX_RANK];
	int rank = 0;
	for (int d = 0; d < xi.rank; d++)
		if (count > 0 ? !(drop & (1u << d)) : xi.shape[d] != 1)
			shape[rank++] = xi.shape[d];
	return tfo_emit_reshape(c, n, x, rank, shape);
}

int tfo_map_expand_dims(tfo *c, tfo_node *n, int arg)
{
	(void)arg;
	int rc, x;
	int64_t dim;
	if ((rc = tfo_init_outputs(c, n, 1)) < 0 || (rc = tfo_want_inputs(c, n, 2, 2)) < 0 || (rc = tfo_input_tensor(c, n, 0, &x)) < 0 ||
	    (rc = tfo_const_int(c, n, 1, "dim", &dim)) < 0)
		return rc;
	const nn_tensor xi = *T(c, x);
	if (dim < -xi.rank - 1 || dim > xi.rank)
		return tfo_node_fail(c, n, NN_ERR_FORMAT, "dim %lld is outside -%d..%d", (long long)dim, xi.rank + 1, xi.rank);
	if (xi.rank >= NN_MAX_RANK)
		return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED, "the result would have more than %d dimensions", NN_MAX_RANK);
	int at = (int)(dim < 0 ? dim + xi.rank + 1 : dim);
	int64_t shape[NN_MAX_RANK];
	for (int d = 0, s = 0; d <= xi.rank; d++)
		shape[d] = d == at ? 1 : xi.shape[s++];
	return tfo_emit_reshape(c, n, x, xi.rank + 1, shape);
}

/*
 * Pad and PadV2. The IR's PAD pads with zero; another constant value v is
 * a zero PAD plus a constant mask that holds v in the border and 0 inside
 * (broadcast over the dimensions without padding): x + 0 is x, and 0 + v is
 * v, including v = -inf, which PyTorch exports put before max pooling.
 */
int tfo_map_pad(tfo *c, tfo_node *n, int v2)
{
	int rc, x, count;
	int64_t v[2 * NN_MAX_RANK];
	if ((rc = tfo_init_outputs(c, n, 1)) < 0 || (rc = tfo_want_inputs(c, n, v2 ? 3 : 2, v2 ? 3 : 2)) < 0 ||
	    (rc = tfo_input_tensor(c, n, 0, &x)) < 0 || (rc = tfo_const_ints(c, n, 1, "paddings", v, 2 * NN_MAX_RANK, &count)) < 0)
		return rc;
	const nn_tensor xi = *T(c, x);
	if (count != 2 * xi.rank)
		return tfo_node_fail(c, n, NN_ERR_FORMAT, "%d padding values for a %d-dimensional input, expected %d", count,
				 xi.rank, 2 * xi.rank);
	float value = 0.0f;
	if (v2) {
		int t;
		if ((rc = tfo_input_of(c, n, 2, NN_F32, -1, &t)) < 0 || (rc = tfo_make_const(c, n, t, "constant_values", 0)) < 0)
			return rc;
		if (nn_tensor_elements(T(c, t)) != 1)
			return tfo_node_fail(c, n, NN_ERR_FORMAT, "constant_values must be one value");
		value = *(const float *)T(c, t)->data;
	}
	int64_t shape[NN_MAX_RANK], mshape[NN_MAX_RANK], melems = 1;
	for (int d = 0; d < xi.rank; d++) {
		if (v[2 * d] < 0 || v[2 * d + 1] < 0 || v[2 * d] > MAX_PARAM || v[2 * d + 1] > MAX_PARAM)
			return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED, "padding %lld,%lld of dimension %d is outside 0..%d",
					 (long long)v[2 * d], (long long)v[2 * d + 1], d, MAX_PARAM);
		shape[d] = xi.shape[d] + v[2 * d] + v[2 * d + 1];
		mshape[d] = v[2 * d] || v[2 * d + 1] ? shape[d] : 1;
		/* Once past the limit checked below the count stops growing, so that huge pads cannot overflow it. */
		if (melems <= MAX_EVAL_ELEMENTS)
			melems *= mshape[d];
	}
	if (value != 0.0f && xi.dtype != NN_F32)
		return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED, "padding %s with a non-zero value is not supported",
				 nn_dtype_name(xi.dtype));
	int y = value == 0.0f ? tfo_out_tensor(c, n, 0, xi.dtype, xi.rank, shape)
			      : tfo_add_temp(c, n, "/zero_padded", xi.dtype, xi.rank, shape);
	if (y < 0)
		return y;
	nn_node *node;
	if (tfo_add_node1(c, n, NN_OP_PAD, 1, &x, y, &node) < 0)
		return NN_ERR_NOMEM;
	for (int d = 0; d < xi.rank; d++) {
		node->p.pad.pads[d][0] = (int)v[2 * d];
		node->p.pad.pads[d][1] = (int)v[2 * d + 1];
	}
	if (value == 0.0f)
		return 0;
	if (melems > MAX_EVAL_ELEMENTS)
		return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED, "padding with %g over more than %lld values is not supported",
				 (double)value, (long long)MAX_EVAL_ELEMENTS);
	int m = tfo_add_temp(c, n, "/pad_value", NN_F32, xi.rank, mshape);
	if (m < 0)
		return m;
	if (nn_tensor_alloc_const(T(c, m)) < 0)
		return tfo_nomem(c);
	float *mv = T(c, m)->data;
	int idx[NN_MAX_RANK] = { 0 };
	for (int64_t i = 0; i < melems; i++) {
		int border = 0;
		for (int d = 0; d < xi.rank; d++)
			if (mshape[d] > 1 && (idx[d] < v[2 * d] || idx[d] >= v[2 * d] + xi.shape[d]))
				border = 1;
		mv[i] = border ? value : 0.0f;
		for (int d = xi.rank - 1; d >= 0; d--) {
			if (++idx[d] < mshape[d])
				break;
			idx[d] = 0;
		}
	}
	int o = tfo_out_tensor(c, n, 0, NN_F32, xi.rank, shape);
	if (o < 0)
		return o;
	int in[2] = { y, m };
	if (tfo_add_node1(c, n, NN_OP_ADD, 2, in, o, &node) < 0)
		return NN_ERR_NOMEM;
	node->p.act = NN_ACT_NONE;
	return 0;
}

int tfo_map_transpose(tfo *c, tfo_node *n, int arg)
{
	(void)arg;
	int rc, x, count;
	int64_t perm[NN_MAX_RANK];
	if ((rc = tfo_init_outputs(c, n, 1)) < 0 || (rc = tfo_want_inputs(c, n, 2, 2)) < 0 || (rc = tfo_input_tensor(c, n, 0, &x)) < 0 ||
	    (rc = tfo_const_ints(c, n, 1, "perm", perm, NN_MAX_RANK, &count)) < 0)
		return rc;
	const nn_tensor xi = *T(c, x);
	unsigned seen = 0;
	int identity = 1;
	int64_t shape[NN_MAX_RANK];
	if (count != xi.rank)
		return tfo_node_fail(c, n, NN_ERR_FORMAT, "perm has %d values for a %d-dimensional input", count, xi.rank);
	for (int d = 0; d < count; d++) {
		if (perm[d] < 0 || perm[d] >= count || (seen & (1u << perm[d])))
			return tfo_node_fail(c, n, NN_ERR_FORMAT, "perm is not a permutation of 0..%d", count - 1);
		seen |= 1u << perm[d];
		identity &= perm[d] == d;
		shape[d] = xi.shape[perm[d]];
	}
	if (identity) {
		n->out[0] = x;
		return 0;
	}
	int y = tfo_out_tensor(c, n, 0, xi.dtype, xi.rank, shape);
	if (y < 0)
		return y;
	nn_node *node;
	if (tfo_add_node1(c, n, NN_OP_TRANSPOSE, 1, &x, y, &node) < 0)
		return NN_ERR_NOMEM;
	for (int d = 0; d < count; d++)
		node->p.transpose.perm[d] = (int)perm[d];
	return 0;
}

/* Split (axis, value; equal parts) and SplitV (value, size_splits, axis). */
int tfo_map_split(tfo *c, tfo_node *n, int v)
{
	int rc, x, axis, count = 0;
	int64_t num, ax;
	if ((rc = tfo_want_inputs(c, n, v ? 3 : 2, v ? 3 : 2)) < 0 ||
	    (rc = tfo_attr_int(c, n, "num_split", -1, 1, MAX_SPLITS, &num)) < 0)
		return rc;
	if (num < 1)
		return tfo_node_fail(c, n, NN_ERR_FORMAT, "has no num_split attribute from 1 to %d", MAX_SPLITS);
	if ((rc = tfo_init_outputs(c, n, (int)num)) < 0 || (rc = tfo_input_tensor(c, n, v ? 0 : 1, &x)) < 0 ||
	    (rc = tfo_const_int(c, n, v ? 2 : 0, "split_dim", &ax)) < 0 ||
	    (rc = tfo_norm_axis(c, n, ax, T(c, x)->rank, "split_dim", &axis)) < 0)
		return rc;
	const nn_tensor xi = *T(c, x);
	int64_t *sizes = malloc((size_t)num * sizeof *sizes);
	if (!sizes)
		return tfo_nomem(c);
	int64_t dim = xi.shape[axis];
	if (v) {
		rc = tfo_const_ints(c, n, 1, "size_splits", sizes, (int)num, &count);
		int unknown = -1;
		int64_t known = 0;
		for (int k = 0; rc == 0 && k < count; k++) {
			if (sizes[k] == -1 && unknown < 0)
				unknown = k;
			else if (sizes[k] < 0 || sizes[k] > dim)
				rc = tfo_node_fail(c, n, NN_ERR_FORMAT, "size_splits[%d] is %lld", k, (long long)sizes[k]);
			else
				known += sizes[k];
		}
		if (rc == 0 && count != num)
			rc = tfo_node_fail(c, n, NN_ERR_FORMAT, "size_splits has %d values for num_split %lld", count, (long long)num);
		if (rc == 0 && unknown >= 0)
			sizes[unknown] = dim - known, known = dim;
		if (rc == 0 && (known != dim || sizes[unknown >= 0 ? unknown : 0] < 0))
			rc = tfo_node_fail(c, n, NN_ERR_SHAPE, "size_splits add up to %lld, but dimension %d has %lld", (long long)known,
				       axis, (long long)dim);
	} else {
		if (dim % num != 0)
			rc = tfo_node_fail(c, n, NN_ERR_SHAPE, "dimension %d (%lld) does not split into %lld equal parts", axis,
				       (long long)dim, (long long)num);
		for (int k = 0; k < num; k++)
			sizes[k] = dim / num;
	}
	int64_t shape[NN_MAX_RANK];
	for (int d = 0; d < xi.rank; d++)
		shape[d] = xi.shape[d];
	for (int k = 0; rc == 0 && k < num; k++) {
		shape[axis] = sizes[k];
		if ((rc = tfo_out_tensor(c, n, k, xi.dtype, xi.rank, shape)) > 0)
			rc = 0;
	}
	free(sizes);
	if (rc < 0)
		return rc;
	nn_node *node;
	if (tfo_add_node(c, n, NN_OP_SPLIT, 1, &x, (int)num, n->out, &node) < 0)
		return NN_ERR_NOMEM;
	node->p.split.axis = axis;
	return 0;
}

/*
 * StridedSlice, resolved as TensorFlow's ValidateStridedSliceOp does: the
 * sparse spec (with its ellipsis and new axes) becomes a dense one over
 * the input's dimensions, each with a canonical begin, stride and extent.
 * The IR slice keeps the input's rank; when shrink or new axes change the
 * result's shape, a RESHAPE follows (the data is laid out the same).
 */
int tfo_map_strided_slice(tfo *c, tfo_node *n, int arg)
{
	(void)arg;
	enum { MAXS = NN_SLICE_MAX_SPEC };
	int rc, x, nb, ne, ns;
	int64_t begin[MAXS], end[MAXS], strides[MAXS];
	nn_slice_masks mk;
	if ((rc = tfo_init_outputs(c, n, 1)) < 0 || (rc = tfo_want_inputs(c, n, 4, 4)) < 0 || (rc = tfo_input_tensor(c, n, 0, &x)) < 0 ||
	    (rc = tfo_const_ints(c, n, 1, "begin", begin, MAXS, &nb)) < 0 ||
	    (rc = tfo_const_ints(c, n, 2, "end", end, MAXS, &ne)) < 0 ||
	    (rc = tfo_const_ints(c, n, 3, "strides", strides, MAXS, &ns)) < 0 ||
	    (rc = tfo_attr_int(c, n, "begin_mask", 0, 0, UINT32_MAX, &mk.begin)) < 0 ||
	    (rc = tfo_attr_int(c, n, "end_mask", 0, 0, UINT32_MAX, &mk.end)) < 0 ||
	    (rc = tfo_attr_int(c, n, "ellipsis_mask", 0, 0, UINT32_MAX, &mk.ellipsis)) < 0 ||
	    (rc = tfo_attr_int(c, n, "new_axis_mask", 0, 0, UINT32_MAX, &mk.new_axis)) < 0 ||
	    (rc = tfo_attr_int(c, n, "shrink_axis_mask", 0, 0, UINT32_MAX, &mk.shrink_axis)) < 0)
		return rc;
	if (nb != ne || nb != ns)
		return tfo_node_fail(c, n, NN_ERR_FORMAT, "begin, end and strides have %d, %d and %d values", nb, ne, ns);
	const nn_tensor xi = *T(c, x);
	int R = xi.rank;
	nn_slice_spec sp;
	char why[160];
	if ((rc = nn__slice_resolve(xi.shape, R, begin, end, strides, nb, mk, &sp, why, sizeof why)) < 0)
		return tfo_node_fail(c, n, rc, "%s", why);
	int same = sp.final_rank == R;
	for (int d = 0; same && d < R; d++)
		same = sp.final[d] == sp.shape[d];
	int y = same ? tfo_out_tensor(c, n, 0, xi.dtype, R, sp.shape) : tfo_add_temp(c, n, "/slice", xi.dtype, R, sp.shape);
	if (y < 0)
		return y;
	nn_node *node;
	if (tfo_add_node1(c, n, NN_OP_STRIDED_SLICE, 1, &x, y, &node) < 0)
		return NN_ERR_NOMEM;
	for (int d = 0; d < R; d++) {
		node->p.slice.begin[d] = sp.begin[d];
		node->p.slice.stride[d] = sp.stride[d];
	}
	return same ? 0 : tfo_emit_reshape(c, n, y, sp.final_rank, sp.final);
}

/* GatherV2 (params, indices, axis) and Gather (params, indices; axis 0). */
int tfo_map_gather(tfo *c, tfo_node *n, int v2)
{
	int rc, p, idx, axis;
	int64_t ax = 0, batch;
	if ((rc = tfo_init_outputs(c, n, 1)) < 0 || (rc = tfo_want_inputs(c, n, v2 ? 3 : 2, v2 ? 3 : 2)) < 0 ||
	    (rc = tfo_input_tensor(c, n, 0, &p)) < 0 || (rc = tfo_input_of(c, n, 1, NN_I32, -1, &idx)) < 0 ||
	    (v2 && (rc = tfo_const_int(c, n, 2, "axis", &ax)) < 0) ||
	    (rc = tfo_attr_int(c, n, "batch_dims", 0, INT32_MIN, INT32_MAX, &batch)) < 0 ||
	    (rc = tfo_norm_axis(c, n, ax, T(c, p)->rank, "axis", &axis)) < 0)
		return rc;
	if (batch != 0)
		return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED, "batch_dims %lld is not supported (only 0)", (long long)batch);
	const nn_tensor pi = *T(c, p), ii = *T(c, idx);
	int rank = pi.rank - 1 + ii.rank;
	if (rank > NN_MAX_RANK)
		return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED, "the result would have %d dimensions; at most %d are supported",
				 rank, NN_MAX_RANK);
	int64_t shape[NN_MAX_RANK];
	int r = 0;
	for (int d = 0; d < axis; d++)
		shape[r++] = pi.shape[d];
	for (int d = 0; d < ii.rank; d++)
		shape[r++] = ii.shape[d];
	for (int d = axis + 1; d < pi.rank; d++)
		shape[r++] = pi.shape[d];
	int y = tfo_out_tensor(c, n, 0, pi.dtype, rank, shape);
	if (y < 0)
		return y;
	int in[2] = { p, idx };
	nn_node *node;
	if (tfo_add_node1(c, n, NN_OP_GATHER, 2, in, y, &node) < 0)
		return NN_ERR_NOMEM;
	node->p.gather.axis = axis;
	return 0;
}

int tfo_map_topk(tfo *c, tfo_node *n, int arg)
{
	(void)arg;
	int rc, x;
	int64_t k;
	if ((rc = tfo_init_outputs(c, n, 2)) < 0 || (rc = tfo_want_inputs(c, n, 2, 2)) < 0 || (rc = tfo_input_tensor(c, n, 0, &x)) < 0 ||
	    (rc = tfo_const_int(c, n, 1, "k", &k)) < 0)
		return rc;
	const nn_tensor xi = *T(c, x);
	if (xi.rank < 1 || (xi.dtype != NN_F32 && xi.dtype != NN_I32))
		return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED, "expects a float32 or int32 input of at least one dimension");
	if (k < 0 || k > xi.shape[xi.rank - 1])
		return tfo_node_fail(c, n, NN_ERR_SHAPE, "k %lld is outside 0..%d (the last dimension)", (long long)k,
				 xi.shape[xi.rank - 1]);
	int64_t shape[NN_MAX_RANK];
	for (int d = 0; d < xi.rank; d++)
		shape[d] = d == xi.rank - 1 ? k : xi.shape[d];
	if ((rc = tfo_out_tensor(c, n, 0, xi.dtype, xi.rank, shape)) < 0 || (rc = tfo_out_tensor(c, n, 1, NN_I32, xi.rank, shape)) < 0)
		return rc;
	nn_node *node;
	if (tfo_add_node(c, n, NN_OP_TOPK, 1, &x, 2, n->out, &node) < 0)
		return NN_ERR_NOMEM;
	node->p.topk.k = (int)k;
	return 0;
}

/* SparseToDense: indices, output_shape (known at load time), values, default value. */
int tfo_map_sparse_to_dense(tfo *c, tfo_node *n, int arg)
{
	(void)arg;
	int rc, idx, shp, vals, def, count;
	int64_t shape[NN_MAX_RANK + 1];
	if ((rc = tfo_init_outputs(c, n, 1)) < 0 || (rc = tfo_want_inputs(c, n, 4, 4)) < 0 ||
	    (rc = tfo_input_of(c, n, 0, NN_I32, -1, &idx)) < 0 ||
	    (rc = tfo_const_ints(c, n, 1, "output_shape", shape, NN_MAX_RANK + 1, &count)) < 0 ||
	    (rc = tfo_input_tensor(c, n, 1, &shp)) < 0 || (rc = tfo_input_tensor(c, n, 2, &vals)) < 0 ||
	    (rc = tfo_input_tensor(c, n, 3, &def)) < 0)
		return rc;
	if (count > NN_MAX_RANK)
		return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED, "output_shape has %d dimensions; at most %d are supported", count,
				 NN_MAX_RANK);
	if (T(c, idx)->rank > 2 || T(c, vals)->rank > 1 || nn_tensor_elements(T(c, def)) != 1)
		return tfo_node_fail(c, n, NN_ERR_SHAPE, "expects indices of rank 0 to 2, values of rank 0 or 1 and one default value");
	nn_dtype dt = T(c, vals)->dtype;
	if (T(c, def)->dtype != dt)
		return tfo_node_fail(c, n, NN_ERR_FORMAT, "values are %s but the default value is %s", nn_dtype_name(dt),
				 nn_dtype_name(T(c, def)->dtype));
	int y = tfo_out_tensor(c, n, 0, dt, count, shape);
	if (y < 0)
		return y;
	int in[4] = { idx, shp, vals, def };
	return tfo_add_node1(c, n, NN_OP_SPARSE_TO_DENSE, 4, in, y, NULL) < 0 ? NN_ERR_NOMEM : 0;
}

/* ---- mapping: ops the IR spells with others ---- */

/* One IR node of x and a constant scalar v (x op v), or of x alone when v is NAN; its output named after n when last. */
static int emit_with_scalar(tfo *c, tfo_node *n, nn_op op, int x, float v, const char *suffix, int last)
{
	int k = -1, y;
	if (!isnan(v) && (k = tfo_const_f32(c, n, suffix, 0, NULL, &v)) < 0)
		return k;
	if (last)
		y = tfo_add_like(c, n, n->name, NN_F32, x);
	else {
		char name[32];
		snprintf(name, sizeof name, "%s_of", suffix);
		int64_t shape[NN_MAX_RANK];
		for (int d = 0; d < T(c, x)->rank; d++)
			shape[d] = T(c, x)->shape[d];
		y = tfo_add_temp(c, n, name, NN_F32, T(c, x)->rank, shape);
	}
	if (y < 0)
		return y;
	int in[2] = { x, k };
	nn_node *node;
	if (tfo_add_node1(c, n, op, isnan(v) ? 1 : 2, in, y, &node) < 0)
		return NN_ERR_NOMEM;
	node->p.act = NN_ACT_NONE;
	if (last)
		n->out[0] = y;
	return y;
}

/* Square (x * x), Sqrt, Rsqrt (1 / sqrt x), Neg (x * -1) and Abs (max(x, -x)) of one float input. */
int tfo_map_math(tfo *c, tfo_node *n, int arg)
{
	int rc, x, y;
	if ((rc = tfo_init_outputs(c, n, 1)) < 0 || (rc = tfo_want_inputs(c, n, 1, 1)) < 0 ||
	    (rc = tfo_input_of(c, n, 0, NN_F32, -1, &x)) < 0)
		return rc;
	switch (arg) {
	case M_SQUARE: {
		if ((y = tfo_add_like(c, n, n->name, NN_F32, x)) < 0)
			return y;
		int in[2] = { x, x };
		nn_node *node;
		if (tfo_add_node1(c, n, NN_OP_MUL, 2, in, y, &node) < 0)
			return NN_ERR_NOMEM;
		node->p.act = NN_ACT_NONE;
		n->out[0] = y;
		return 0;
	}
	case M_SQRT:
		return emit_with_scalar(c, n, NN_OP_SQRT, x, NAN, "", 1) < 0 ? NN_ERR_NOMEM : 0;
	case M_RSQRT: {
		int s = emit_with_scalar(c, n, NN_OP_SQRT, x, NAN, "/sqrt", 0);
		if (s < 0)
			return s;
		float one = 1.0f;
		int k = tfo_const_f32(c, n, "/one", 0, NULL, &one);
		if (k < 0 || (y = tfo_add_like(c, n, n->name, NN_F32, x)) < 0)
			return k < 0 ? k : y;
		int in[2] = { k, s };
		nn_node *node;
		if (tfo_add_node1(c, n, NN_OP_DIV, 2, in, y, &node) < 0)
			return NN_ERR_NOMEM;
		node->p.act = NN_ACT_NONE;
		n->out[0] = y;
		return 0;
	}
	case M_NEG:
		return (rc = emit_with_scalar(c, n, NN_OP_MUL, x, -1.0f, "/minus_one", 1)) < 0 ? rc : 0;
	default: {
		int m = emit_with_scalar(c, n, NN_OP_MUL, x, -1.0f, "/minus_one", 0);
		if (m < 0 || (y = tfo_add_like(c, n, n->name, NN_F32, x)) < 0)
			return m < 0 ? m : y;
		int in[2] = { x, m };
		nn_node *node;
		if (tfo_add_node1(c, n, NN_OP_MAXIMUM, 2, in, y, &node) < 0)
			return NN_ERR_NOMEM;
		node->p.act = NN_ACT_NONE;
		n->out[0] = y;
		return 0;
	}
	}
}

/* Softmax (and LogSoftmax is not): along the last axis, which is the IR's. */
int tfo_map_softmax(tfo *c, tfo_node *n, int arg)
{
	(void)arg;
	int rc, x;
	if ((rc = tfo_init_outputs(c, n, 1)) < 0 || (rc = tfo_want_inputs(c, n, 1, 1)) < 0 ||
	    (rc = tfo_input_of(c, n, 0, NN_F32, -1, &x)) < 0)
		return rc;
	if (T(c, x)->rank < 1)
		return tfo_node_fail(c, n, NN_ERR_SHAPE, "the input is a scalar");
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

/* AddN: a chain of ADDs over inputs of one shape. */
int tfo_map_add_n(tfo *c, tfo_node *n, int arg)
{
	(void)arg;
	int rc, acc;
	if ((rc = tfo_init_outputs(c, n, 1)) < 0 || (rc = tfo_want_inputs(c, n, 1, 1 << 16)) < 0 ||
	    (rc = tfo_input_tensor(c, n, 0, &acc)) < 0)
		return rc;
	for (int k = 1; k < n->n_in; k++) {
		int b, y;
		char suffix[24];
		if ((rc = tfo_input_tensor(c, n, k, &b)) < 0)
			return rc;
		const nn_tensor *ai = T(c, acc), *bi = T(c, b);
		int same = ai->rank == bi->rank && ai->dtype == bi->dtype;
		for (int d = 0; same && d < ai->rank; d++)
			same = ai->shape[d] == bi->shape[d];
		if (!same || (ai->dtype != NN_F32 && ai->dtype != NN_I32)) {
			char s1[96], s2[96];
			return tfo_node_fail(c, n, NN_ERR_SHAPE, "input %d (%s %s) differs from input 0 (%s %s)", k,
					     nn_dtype_name(bi->dtype), tfo_tshape(bi, s1, sizeof s1), nn_dtype_name(ai->dtype),
					     tfo_tshape(ai, s2, sizeof s2));
		}
		snprintf(suffix, sizeof suffix, "/sum_%d", k);
		y = k == n->n_in - 1 ? tfo_add_like(c, n, n->name, ai->dtype, acc) : -1;
		if (k < n->n_in - 1) {
			int64_t shape[NN_MAX_RANK];
			for (int d = 0; d < ai->rank; d++)
				shape[d] = ai->shape[d];
			y = tfo_add_temp(c, n, suffix, ai->dtype, ai->rank, shape);
		}
		if (y < 0)
			return y;
		int in[2] = { acc, b };
		nn_node *node;
		if (tfo_add_node1(c, n, NN_OP_ADD, 2, in, y, &node) < 0)
			return NN_ERR_NOMEM;
		node->p.act = NN_ACT_NONE;
		acc = y;
	}
	n->out[0] = acc;
	return 0;
}

/* Pack (arg 0): inputs of one shape stacked along a new axis; Unpack (arg 1): the reverse. */
int tfo_map_pack(tfo *c, tfo_node *n, int arg)
{
	int rc, x, axis;
	int64_t ax, num;
	if ((rc = tfo_attr_int(c, n, "axis", 0, -NN_MAX_RANK - 1, NN_MAX_RANK, &ax)) < 0)
		return rc;
	if (arg == 0) {
		if ((rc = tfo_init_outputs(c, n, 1)) < 0 || (rc = tfo_want_inputs(c, n, 1, MAX_SPLITS)) < 0 ||
		    (rc = tfo_input_tensor(c, n, 0, &x)) < 0)
			return rc;
		const nn_tensor first = *T(c, x);
		if (first.rank >= NN_MAX_RANK)
			return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED, "the result would have more than %d dimensions", NN_MAX_RANK);
		if ((rc = tfo_norm_axis(c, n, ax, first.rank + 1, "axis", &axis)) < 0)
			return rc;
		int *in = malloc((size_t)n->n_in * sizeof *in);
		if (!in)
			return tfo_nomem(c);
		for (int k = 0; k < n->n_in && rc == 0; k++) {
			if ((rc = tfo_input_tensor(c, n, k, &in[k])) < 0)
				break;
			const nn_tensor *t = T(c, in[k]);
			int same = t->rank == first.rank && t->dtype == first.dtype;
			for (int d = 0; same && d < t->rank; d++)
				same = t->shape[d] == first.shape[d];
			if (!same)
				rc = tfo_node_fail(c, n, NN_ERR_SHAPE, "input %d differs from input 0 in type or shape", k);
		}
		int64_t shape[NN_MAX_RANK];
		for (int d = 0, s = 0; d <= first.rank; d++)
			shape[d] = d == axis ? n->n_in : first.shape[s++];
		int y = rc < 0 ? rc : tfo_out_tensor(c, n, 0, first.dtype, first.rank + 1, shape);
		nn_node *node = NULL;
		if (y >= 0 && tfo_add_node1(c, n, NN_OP_PACK, n->n_in, in, y, &node) >= 0)
			node->p.pack.axis = axis;
		free(in);
		if (y < 0)
			return y;
		if (!node)
			return NN_ERR_NOMEM;
		/* Packed integers are usually a shape being put together: later ops need its value now. */
		int budget = 256;
		if (first.dtype == NN_I32 && tfo_const_computable(c, y, &budget))
			return tfo_make_const(c, n, y, "the result", 0);
		return 0;
	}
	if ((rc = tfo_attr_int(c, n, "num", -1, 1, MAX_SPLITS, &num)) < 0 || (rc = tfo_want_inputs(c, n, 1, 1)) < 0 ||
	    (rc = tfo_input_tensor(c, n, 0, &x)) < 0)
		return rc;
	const nn_tensor xi = *T(c, x);
	if ((rc = tfo_norm_axis(c, n, ax, xi.rank, "axis", &axis)) < 0)
		return rc;
	if (num < 1 || num != xi.shape[axis])
		return tfo_node_fail(c, n, NN_ERR_SHAPE, "num %lld does not match dimension %d of the input (%d)", (long long)num,
				     axis, xi.shape[axis]);
	if ((rc = tfo_init_outputs(c, n, (int)num)) < 0)
		return rc;
	int64_t shape[NN_MAX_RANK];
	for (int d = 0, s = 0; d < xi.rank; d++)
		if (d != axis)
			shape[s++] = xi.shape[d];
	for (int k = 0; k < num; k++)
		if ((rc = tfo_out_tensor(c, n, k, xi.dtype, xi.rank - 1, shape)) < 0)
			return rc;
	nn_node *node;
	if (tfo_add_node(c, n, NN_OP_UNPACK, 1, &x, (int)num, n->out, &node) < 0)
		return NN_ERR_NOMEM;
	node->p.pack.axis = axis;
	return 0;
}

/* Slice: begin and size (-1: to the end) known at load time; a STRIDED_SLICE of stride 1. */
int tfo_map_slice(tfo *c, tfo_node *n, int arg)
{
	(void)arg;
	int rc, x, nb, ns;
	int64_t begin[NN_MAX_RANK], size[NN_MAX_RANK];
	if ((rc = tfo_init_outputs(c, n, 1)) < 0 || (rc = tfo_want_inputs(c, n, 3, 3)) < 0 ||
	    (rc = tfo_input_tensor(c, n, 0, &x)) < 0 ||
	    (rc = tfo_const_ints(c, n, 1, "begin", begin, NN_MAX_RANK, &nb)) < 0 ||
	    (rc = tfo_const_ints(c, n, 2, "size", size, NN_MAX_RANK, &ns)) < 0)
		return rc;
	const nn_tensor xi = *T(c, x);
	if (nb != xi.rank || ns != xi.rank)
		return tfo_node_fail(c, n, NN_ERR_FORMAT, "begin and size have %d and %d values for a %d-dimensional input", nb,
				     ns, xi.rank);
	int64_t shape[NN_MAX_RANK];
	for (int d = 0; d < xi.rank; d++) {
		if (begin[d] < 0 || begin[d] > xi.shape[d])
			return tfo_node_fail(c, n, NN_ERR_SHAPE, "begin %lld is outside dimension %d of size %d",
					     (long long)begin[d], d, xi.shape[d]);
		shape[d] = size[d] == -1 ? xi.shape[d] - begin[d] : size[d];
		if (shape[d] < 0 || begin[d] + shape[d] > xi.shape[d])
			return tfo_node_fail(c, n, NN_ERR_SHAPE, "size %lld from %lld does not fit dimension %d of size %d",
					     (long long)size[d], (long long)begin[d], d, xi.shape[d]);
	}
	int y = tfo_out_tensor(c, n, 0, xi.dtype, xi.rank, shape);
	if (y < 0)
		return y;
	nn_node *node;
	if (tfo_add_node1(c, n, NN_OP_STRIDED_SLICE, 1, &x, y, &node) < 0)
		return NN_ERR_NOMEM;
	for (int d = 0; d < xi.rank; d++) {
		node->p.slice.begin[d] = (int)begin[d];
		node->p.slice.stride[d] = 1;
	}
	return 0;
}
