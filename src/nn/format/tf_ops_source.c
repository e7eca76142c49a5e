/*
 * The TensorFlow ops that bring values into a graph or pass them on:
 * Placeholder (the graph's inputs, their shapes completed from the
 * endpoints and the options), Const (every dtype a reader may hand over,
 * int64 narrowed to int32, half, bfloat16 and double widened or narrowed
 * to float32), Identity and its kin, and Shape (known at load time).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/format/tf_ops_internal.h"
#include "nn/ref/quant.h"


/* ---- mapping: inputs, constants, aliases ---- */

/* The endpoint (in the options' inputs) that names output 0 of node `name`, or NULL. */
static const nn_tf_endpoint *input_endpoint(const tfo *c, const char *name)
{
	size_t len = strlen(name);
	for (int i = 0; i < c->o->n_inputs; i++) {
		const char *s = c->o->inputs[i].tensor;
		if (s && !strncmp(s, name, len) && (!s[len] || !strcmp(s + len, ":0")))
			return &c->o->inputs[i];
	}
	return NULL;
}

int tfo_map_placeholder(tfo *c, tfo_node *n, int arg)
{
	(void)arg;
	nn_dtype dt;
	int rc, rank = -1;
	int64_t dims[NN_MAX_RANK];
	if ((rc = tfo_init_outputs(c, n, 1)) < 0 || (rc = tfo_attr_dtype(c, n, "dtype", 1, &dt)) < 0)
		return rc;
	const nn_tf_attr *sh = tfo_attr_get(n, "shape");
	if (sh && sh->kind != NN_TF_ATTR_SHAPE)
		return tfo_node_fail(c, n, NN_ERR_FORMAT, "the input's shape is malformed");
	if (sh && sh->rank > NN_MAX_RANK)
		return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED, "the input has more than %d dimensions", NN_MAX_RANK);
	if (sh && sh->rank >= 0) {
		rank = sh->rank;
		for (int d = 0; d < rank; d++)
			dims[d] = sh->dims[d] < 0 ? -1 : sh->dims[d];
	}
	const nn_tf_endpoint *e = input_endpoint(c, n->name);
	if (e && (e->rank > NN_MAX_RANK))
		return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED, "the input has more than %d dimensions", NN_MAX_RANK);
	if (e && e->rank >= 0) {
		if (rank < 0) {
			rank = e->rank;
			for (int d = 0; d < rank; d++)
				dims[d] = e->dims[d] < 0 ? -1 : e->dims[d];
		} else if (e->rank == rank) {
			for (int d = 0; d < rank; d++)
				if (dims[d] < 0)
					dims[d] = e->dims[d] < 0 ? -1 : e->dims[d];
		}
	}
	if (rank < 0 && c->o->input_w > 0 && c->o->input_h > 0 && dt == NN_F32) {
		/* A float input of unknown shape given an image size is taken for an image, as vigil feeds one: 3 channels. */
		rank = 4;
		dims[0] = 1, dims[1] = c->o->input_h, dims[2] = c->o->input_w, dims[3] = 3;
	}
	if (rank < 0)
		return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED,
				 "the input's shape is unknown (neither its 'shape' attribute nor the signature gives it); for "
				 "an image, give its size with --input-size WxH or the sidecar's \"input_size\"");
	/* A variable batch becomes 1: vigil runs one frame at a time. */
	if (rank > 0 && dims[0] < 0)
		dims[0] = 1;
	/* An image of unknown size takes the one the user gave. */
	if (rank == 4 && c->o->input_w > 0 && c->o->input_h > 0) {
		if (dims[1] < 0)
			dims[1] = c->o->input_h;
		if (dims[2] < 0)
			dims[2] = c->o->input_w;
	}
	for (int d = 0; d < rank; d++)
		if (dims[d] < 0) {
			int shape[NN_MAX_RANK];
			char s[96];
			for (int k = 0; k < rank; k++)
				shape[k] = (int)dims[k];
			if (rank == 4 && (d == 1 || d == 2))
				return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED,
						 "the input's shape %s has an unknown dimension %d: its size is unknown; give it "
						 "with --input-size WxH or the sidecar's \"input_size\"",
						 tfo_shape_str(rank, shape, s, sizeof s), d);
			return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED,
					 "the input's shape %s has an unknown dimension %d; vigil needs fixed input sizes",
					 tfo_shape_str(rank, shape, s, sizeof s), d);
		}
	int t = tfo_add_tensor(c, n, e && e->name ? e->name : n->name, dt, rank, dims);
	if (t < 0)
		return NN_ERR_SHAPE;
	n->out[0] = t;
	return 0;
}

/* The value of a Const node: its "value" tensor attribute, checked. NULL after a message. */
const nn_tf_tensor *tfo_const_value(tfo *c, const tfo_node *n)
{
	const nn_tf_attr *a = tfo_attr_get(n, "value");
	if (!a || a->kind != NN_TF_ATTR_TENSOR || !a->tensor) {
		tfo_node_fail(c, n, NN_ERR_FORMAT, "the constant has no 'value' tensor");
		return NULL;
	}
	const nn_tf_tensor *v = a->tensor;
	int64_t e = 1;
	if (v->rank < 0 || v->rank > NN_MAX_RANK) {
		tfo_node_fail(c, n, NN_ERR_UNSUPPORTED, "the constant has more than %d dimensions", NN_MAX_RANK);
		return NULL;
	}
	for (int d = 0; d < v->rank; d++) {
		if (v->dims[d] < 0 || v->dims[d] > INT32_MAX || (v->dims[d] && e > (INT64_C(1) << 56) / v->dims[d])) {
			tfo_node_fail(c, n, NN_ERR_FORMAT, "the constant's shape is malformed");
			return NULL;
		}
		e *= v->dims[d];
	}
	if (e != v->elements || (e && !v->data && v->dtype != NN_TF_STRING)) {
		tfo_node_fail(c, n, NN_ERR_FORMAT, "the constant holds %lld values for a shape of %lld", (long long)v->elements,
			  (long long)e);
		return NULL;
	}
	return v;
}

int tfo_map_const(tfo *c, tfo_node *n, int arg)
{
	(void)arg;
	int rc = tfo_init_outputs(c, n, 1);
	if (rc < 0)
		return rc;
	const nn_tf_tensor *v = tfo_const_value(c, n);
	if (!v)
		return NN_ERR_FORMAT;
	nn_dtype dt;
	char s[32];
	switch (v->dtype) {
	case NN_TF_FLOAT:
	case NN_TF_DOUBLE:
	case NN_TF_HALF:
	case NN_TF_BFLOAT16:
		dt = NN_F32;
		break;
	case NN_TF_INT32:
	case NN_TF_INT64:
	case NN_TF_INT16:
	case NN_TF_INT8:
	case NN_TF_UINT16:
		dt = NN_I32;
		break;
	case NN_TF_UINT8:
	case NN_TF_QUINT8:
		dt = NN_U8;
		break;
	case NN_TF_QINT8:
		dt = NN_I8;
		break;
	case NN_TF_BOOL:
		dt = NN_BOOL;
		break;
	case NN_TF_STRING:
		return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED, "string constants are not supported");
	default:
		return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED, "constants of data type %s are not supported",
				 tfo_dt_spelling(v->dtype, s, sizeof s));
	}
	int64_t shape[NN_MAX_RANK];
	for (int d = 0; d < v->rank; d++)
		shape[d] = v->dims[d];
	int t = tfo_out_tensor(c, n, 0, dt, v->rank, shape);
	if (t < 0)
		return t;
	nn_tensor *x = T(c, t);
	if (nn_tensor_alloc_const(x) < 0)
		return tfo_nomem(c);
	const unsigned char *p = v->data;
	for (int64_t i = 0; i < v->elements; i++) {
		switch (v->dtype) {
		case NN_TF_FLOAT:
			memcpy((float *)x->data + i, p + 4 * i, 4);
			break;
		case NN_TF_DOUBLE: {
			double d;
			memcpy(&d, p + 8 * i, 8);
			((float *)x->data)[i] = (float)d;
			break;
		}
		case NN_TF_HALF: {
			uint16_t h;
			memcpy(&h, p + 2 * i, 2);
			((float *)x->data)[i] = nn_ref_f16_to_f32(h);
			break;
		}
		case NN_TF_BFLOAT16: {
			uint16_t h;
			memcpy(&h, p + 2 * i, 2);
			uint32_t bits = (uint32_t)h << 16;
			memcpy((float *)x->data + i, &bits, 4);
			break;
		}
		case NN_TF_INT32:
			memcpy((int32_t *)x->data + i, p + 4 * i, 4);
			break;
		case NN_TF_INT64: {
			int64_t q;
			memcpy(&q, p + 8 * i, 8);
			/* Large int64 values are "as far as it goes" sentinels (a StridedSlice end): int32's ends mean the same. */
			((int32_t *)x->data)[i] = q < INT32_MIN ? INT32_MIN : q > INT32_MAX ? INT32_MAX : (int32_t)q;
			break;
		}
		case NN_TF_INT16: {
			int16_t q;
			memcpy(&q, p + 2 * i, 2);
			((int32_t *)x->data)[i] = q;
			break;
		}
		case NN_TF_UINT16: {
			uint16_t q;
			memcpy(&q, p + 2 * i, 2);
			((int32_t *)x->data)[i] = q;
			break;
		}
		case NN_TF_INT8:
			((int32_t *)x->data)[i] = (int8_t)p[i];
			break;
		case NN_TF_BOOL:
			((uint8_t *)x->data)[i] = p[i] != 0;
			break;
		default: /* uint8, quint8, qint8: the bytes as they are */
			((uint8_t *)x->data)[i] = p[i];
			break;
		}
	}
	return 0;
}

/* Identity and its kin: the output is the input's tensor. IdentityN (arg 1) passes each input; NoOp (arg 2) has no output. */
int tfo_map_identity(tfo *c, tfo_node *n, int arg)
{
	int rc, count = arg == 1 ? n->n_in : arg == 2 ? 0 : 1;
	if ((rc = tfo_init_outputs(c, n, count)) < 0 || (arg != 1 && (rc = tfo_want_inputs(c, n, count, count)) < 0))
		return rc;
	for (int k = 0; k < count; k++)
		if ((rc = tfo_input_tensor(c, n, k, &n->out[k])) < 0)
			return rc;
	return 0;
}

/* Shape: known at load time, so a constant. */
int tfo_map_shape(tfo *c, tfo_node *n, int arg)
{
	(void)arg;
	int rc, t;
	if ((rc = tfo_init_outputs(c, n, 1)) < 0 || (rc = tfo_want_inputs(c, n, 1, 1)) < 0 || (rc = tfo_input_tensor(c, n, 0, &t)) < 0)
		return rc;
	int rank = T(c, t)->rank;
	int64_t len = rank;
	int o = tfo_out_tensor(c, n, 0, NN_I32, 1, &len);
	if (o < 0)
		return o;
	if (nn_tensor_alloc_const(T(c, o)) < 0)
		return tfo_nomem(c);
	for (int d = 0; d < rank; d++)
		((int32_t *)T(c, o)->data)[d] = T(c, t)->shape[d];
	return 0;
}
