/*
 * TFLite operators that only move or describe data (TRANSPOSE,
 * STRIDED_SLICE, SHAPE), and the dilated convolution TensorFlow writes as
 * SPACE_TO_BATCH_ND, CONV_2D or DEPTHWISE_CONV_2D, BATCH_TO_SPACE_ND, which
 * folds into one convolution whose dilation is the block. onnx2tf and
 * onnx-tf exports (YOLOv8, YOLOX) and the Keras UltraFace use them.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/format/slice_spec.h"
#include "nn/format/tflite_loader.h"
#include "nn/ref/ref.h"

/* Data-moving operators keep their input's numbers: same dtype and, quantized, the same scale and zero point. */
static int same_encoding(tfl *c, tfl_op *o, int in, int out)
{
	const nn_tensor *x = &c->g->tensors[in], *y = &c->g->tensors[out];
	if (nn_tensor_same_encoding(x, y))
		return 0;
	if (x->dtype != y->dtype)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s turns %s into %s, expected the same type", o->desc, o->opname,
				    nn_dtype_name(x->dtype), nn_dtype_name(y->dtype));
	return nn__tfl_fail(c, NN_ERR_UNSUPPORTED,
			    "%s: %s: the input and output have different quantization; TFLite requires the same", o->desc,
			    o->opname);
}

/* Whether tensor t has the given shape; fails naming both shapes when not. */
static int want_shape(tfl *c, tfl_op *o, int t, int rank, const int64_t *shape)
{
	const nn_tensor *y = &c->g->tensors[t];
	int same = y->rank == rank;
	for (int d = 0; same && d < rank; d++)
		same = y->shape[d] == shape[d];
	if (same)
		return 0;
	char a[96], b[96];
	size_t k = 0;
	b[0] = 0;
	k += (size_t)snprintf(b, sizeof b, "[");
	for (int d = 0; d < rank && k < sizeof b; d++)
		k += (size_t)snprintf(b + k, sizeof b - k, d ? ",%lld" : "%lld", (long long)shape[d]);
	if (k < sizeof b)
		snprintf(b + k, sizeof b - k, "]");
	return nn__tfl_fail(c, NN_ERR_SHAPE, "%s: %s: the output has shape %s, but the operator gives %s", o->desc,
			    o->opname, nn__tfl_shape_str(y, a, sizeof a), b);
}

int nn__tfl_map_transpose(tfl *c, tfl_op *o)
{
	int rc, n;
	int64_t perm[NN_MAX_RANK + 1], shape[NN_MAX_RANK];
	if ((rc = nn__tfl_want_io(c, o, 2, 2, 1)) < 0 ||
	    (rc = nn__tfl_const_ints(c, o, o->in[1], "perm", perm, NN_MAX_RANK + 1, &n)) < 0 ||
	    (rc = same_encoding(c, o, o->in[0], o->out[0])) < 0)
		return rc;
	const nn_tensor *x = &c->g->tensors[o->in[0]];
	if (n != x->rank)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: perm has %d values for a %d-dimensional input", o->desc,
				    o->opname, n, x->rank);
	unsigned seen = 0;
	nn_node tmpl;
	memset(&tmpl, 0, sizeof tmpl);
	for (int d = 0; d < n; d++) {
		if (perm[d] < 0 || perm[d] >= n || (seen >> perm[d] & 1))
			return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: perm is not a permutation of 0..%d", o->desc,
					    o->opname, n - 1);
		seen |= 1u << perm[d];
		tmpl.p.transpose.perm[d] = (int)perm[d];
		shape[d] = x->shape[perm[d]];
	}
	if ((rc = want_shape(c, o, o->out[0], n, shape)) < 0)
		return rc;
	return nn__tfl_add_node(c, o, NN_OP_TRANSPOSE, &tmpl, o->in, 1, o->out, 1, NULL);
}

/*
 * STRIDED_SLICE: begin, end and strides known at load time, resolved as
 * TensorFlow does. The IR slice keeps the input's rank; when shrink or new
 * axes change the result's shape, a RESHAPE to the file's output follows.
 */
int nn__tfl_map_strided_slice(tfl *c, tfl_op *o)
{
	int rc, nb, ne, ns, offset, masks[5];
	int64_t begin[NN_SLICE_MAX_SPEC], end[NN_SLICE_MAX_SPEC], strides[NN_SLICE_MAX_SPEC];
	static const char *const mask_names[5] = { "begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask",
						   "shrink_axis_mask" };
	nn__fb_table opt;
	if ((rc = nn__tfl_want_io(c, o, 4, 4, 1)) < 0 || (rc = nn__tfl_get_options(c, o, OPT_STRIDED_SLICE, &opt)) < 0)
		return rc;
	for (int k = 0; k < 5; k++)
		if ((rc = nn__tfl_get_int(c, o, &opt, k, 0, mask_names[k], 0, INT32_MAX, &masks[k])) < 0)
			return rc;
	if ((rc = nn__tfl_get_bool(c, o, &opt, 5, &offset)) < 0 ||
	    (rc = nn__tfl_const_ints(c, o, o->in[1], "begin", begin, NN_SLICE_MAX_SPEC, &nb)) < 0 ||
	    (rc = nn__tfl_const_ints(c, o, o->in[2], "end", end, NN_SLICE_MAX_SPEC, &ne)) < 0 ||
	    (rc = nn__tfl_const_ints(c, o, o->in[3], "strides", strides, NN_SLICE_MAX_SPEC, &ns)) < 0 ||
	    (rc = same_encoding(c, o, o->in[0], o->out[0])) < 0)
		return rc;
	if (nb != ne || nb != ns)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: begin, end and strides have %d, %d and %d values", o->desc,
				    o->opname, nb, ne, ns);
	/* With offset set, end counts from begin (TFLite's StridedSliceOptions.offset). */
	if (offset)
		for (int k = 0; k < nb; k++) {
			if ((begin[k] > 0 && end[k] > INT64_MAX / 2) || (begin[k] < 0 && end[k] < INT64_MIN / 2))
				return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: end %d overflows", o->desc, o->opname, k);
			end[k] += begin[k];
		}
	const nn_tensor *x = &c->g->tensors[o->in[0]];
	nn_slice_masks mk = { masks[0], masks[1], masks[2], masks[3], masks[4] };
	nn_slice_spec sp;
	char why[160];
	if ((rc = nn__slice_resolve(x->shape, x->rank, begin, end, strides, nb, mk, &sp, why, sizeof why)) < 0)
		return nn__tfl_fail(c, rc, "%s: %s: %s", o->desc, o->opname, why);
	if ((rc = want_shape(c, o, o->out[0], sp.final_rank, sp.final)) < 0)
		return rc;
	int R = x->rank, same = sp.final_rank == R;
	for (int d = 0; same && d < R; d++)
		same = sp.final[d] == sp.shape[d];
	nn_node tmpl;
	memset(&tmpl, 0, sizeof tmpl);
	for (int d = 0; d < R; d++) {
		tmpl.p.slice.begin[d] = sp.begin[d];
		tmpl.p.slice.stride[d] = sp.stride[d];
	}
	if (same)
		return nn__tfl_add_node(c, o, NN_OP_STRIDED_SLICE, &tmpl, o->in, 1, o->out, 1, NULL);

	/* The slice writes a tensor of the input's rank, which a RESHAPE turns into the file's output. */
	if (nn__tfl_charge(c, sizeof(nn_tensor) + 64) < 0)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: the model holds more tensor data than its size allows", o->desc);
	int t = nn_graph_add_tensor_like(c->g, o->out[0], "/slice");
	if (t < 0)
		return nn__tfl_fail(c, NN_ERR_NOMEM, "%s: out of memory", o->desc);
	nn_tensor *y = &c->g->tensors[t];
	const nn_tensor *out = &c->g->tensors[o->out[0]];
	y->rank = R;
	for (int d = 0; d < R; d++)
		y->shape[d] = (int)sp.shape[d];
	if (out->quant.count > 0 &&
	    nn_tensor_set_quant(y, out->quant.count, out->quant.axis, out->quant.scale, out->quant.zero_point) < 0)
		return nn__tfl_fail(c, NN_ERR_NOMEM, "%s: out of memory", o->desc);
	nn_node reshape;
	memset(&reshape, 0, sizeof reshape);
	if ((rc = nn__tfl_add_node(c, o, NN_OP_STRIDED_SLICE, &tmpl, o->in, 1, &t, 1, NULL)) < 0)
		return rc;
	return nn__tfl_add_node(c, o, NN_OP_RESHAPE, &reshape, &t, 1, o->out, 1, NULL);
}

/*
 * SHAPE: the input's shape is known when the model is loaded, so the output
 * becomes a constant and no node is built; the nodes computing from it
 * (STRIDED_SLICE, PACK before a RESHAPE, as Keras exports write) fold.
 */
int nn__tfl_map_shape(tfl *c, tfl_op *o)
{
	int rc;
	char td[160];
	if ((rc = nn__tfl_want_io(c, o, 1, 1, 1)) < 0)
		return rc;
	const nn_tensor *x = &c->g->tensors[o->in[0]];
	nn_tensor *y = &c->g->tensors[o->out[0]];
	if ((y->dtype != NN_I32 && y->dtype != NN_I64) || y->rank != 1 || y->shape[0] != x->rank)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: the output is %s of %d dimensions, expected int32 or int64 [%d]",
				    o->desc, o->opname, nn_dtype_name(y->dtype), y->rank, x->rank);
	if (y->is_const)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s writes %s, which is already a constant", o->desc, o->opname,
				    nn__tfl_tensor_desc(c, o->out[0], td, sizeof td));
	for (int d = 0; d < x->rank; d++)
		if (x->shape[d] < 1)
			return nn__tfl_fail(c, NN_ERR_UNSUPPORTED, "%s: %s: dimension %d of the input is not known (%d)",
					    o->desc, o->opname, d, x->shape[d]);
	if (nn_tensor_alloc_const(y) < 0)
		return nn__tfl_fail(c, NN_ERR_NOMEM, "%s: %s: out of memory", o->desc, o->opname);
	for (int d = 0; d < x->rank; d++) {
		if (y->dtype == NN_I32) {
			int32_t v = x->shape[d];
			memcpy((char *)y->data + 4 * d, &v, 4);
		} else {
			int64_t v = x->shape[d];
			memcpy((char *)y->data + 8 * d, &v, 8);
		}
	}
	return 0;
}

/* block_shape and the [2,2] paddings or crops of a SPACE_TO_BATCH_ND or BATCH_TO_SPACE_ND. */
static int space_params(tfl *c, tfl_op *o, const char *what, int64_t block[2], int64_t pads[4])
{
	int rc, n;
	if ((rc = nn__tfl_want_io(c, o, 3, 3, 1)) < 0 ||
	    (rc = nn__tfl_const_ints(c, o, o->in[1], "block_shape", block, 2, &n)) < 0)
		return rc;
	if (n != 2 || block[0] < 1 || block[1] < 1 || block[0] > MAX_PARAM || block[1] > MAX_PARAM)
		return nn__tfl_fail(c, NN_ERR_UNSUPPORTED, "%s: %s: block_shape must hold two values from 1 to %d", o->desc,
				    o->opname, MAX_PARAM);
	if ((rc = nn__tfl_const_ints(c, o, o->in[2], what, pads, 4, &n)) < 0)
		return rc;
	if (n != 4)
		return nn__tfl_fail(c, NN_ERR_UNSUPPORTED, "%s: %s: %s must be [2,2] (height, width)", o->desc, o->opname,
				    what);
	for (int k = 0; k < 4; k++)
		if (pads[k] < 0 || pads[k] > MAX_PARAM)
			return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: %s value %lld is outside 0..%d", o->desc, o->opname,
					    what, (long long)pads[k], MAX_PARAM);
	if (c->g->tensors[o->in[0]].rank != 4)
		return nn__tfl_fail(c, NN_ERR_UNSUPPORTED, "%s: %s: only 4-dimensional NHWC inputs are supported", o->desc,
				    o->opname);
	return 0;
}

/*
 * SPACE_TO_BATCH_ND. The IR has no such op: it is taken only where it opens
 * a dilated convolution. No node is built; the convolution that reads it is
 * noted (nn__tfl_note_conv) and rewritten at the BATCH_TO_SPACE_ND.
 */
int nn__tfl_map_space_to_batch(tfl *c, tfl_op *o)
{
	int rc;
	int64_t block[2], pads[4];
	if ((rc = space_params(c, o, "paddings", block, pads)) < 0 ||
	    (rc = same_encoding(c, o, o->in[0], o->out[0])) < 0)
		return rc;
	if (c->n_folds == c->cap_folds) {
		int cap = c->cap_folds ? 2 * c->cap_folds : 8;
		if (nn__tfl_charge(c, sizeof(nn__tfl_fold) * (size_t)(cap - c->cap_folds)) < 0)
			return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: the model holds more operators than its size allows",
					    o->desc);
		nn__tfl_fold *f = realloc(c->folds, sizeof *f * (size_t)cap);
		if (!f)
			return nn__tfl_fail(c, NN_ERR_NOMEM, "%s: out of memory", o->desc);
		c->folds = f;
		c->cap_folds = cap;
	}
	nn__tfl_fold *f = &c->folds[c->n_folds++];
	memset(f, 0, sizeof *f);
	f->s2b_in = o->in[0];
	f->s2b_out = o->out[0];
	f->conv_node = -1;
	f->conv_out = -1;
	memcpy(f->block, block, sizeof f->block);
	memcpy(f->pads, pads, sizeof f->pads);
	snprintf(f->desc, sizeof f->desc, "%s", o->desc);
	return 0;
}

int nn__tfl_note_conv(tfl *c, tfl_op *o, int node)
{
	const nn_node *n = &c->g->nodes[node];
	for (int k = 0; k < c->n_folds; k++) {
		nn__tfl_fold *f = &c->folds[k];
		if (f->s2b_out != n->inputs[0])
			continue;
		if (f->conv_node >= 0)
			return nn__tfl_fail(c, NN_ERR_UNSUPPORTED,
					    "%s: %s reads the output of the SPACE_TO_BATCH_ND at %s, which another convolution "
					    "reads already; only one convolution per SPACE_TO_BATCH_ND is supported",
					    o->desc, o->opname, f->desc);
		const nn_conv_params *p = &n->p.conv;
		if (p->stride_h != 1 || p->stride_w != 1 || p->dilation_h != 1 || p->dilation_w != 1)
			return nn__tfl_fail(c, NN_ERR_UNSUPPORTED,
					    "%s: %s after a SPACE_TO_BATCH_ND must have stride 1 and dilation 1 (a dilated "
					    "convolution)",
					    o->desc, o->opname);
		f->conv_node = node;
		f->conv_out = n->outputs[0];
		return 0;
	}
	return 0;
}

/*
 * BATCH_TO_SPACE_ND: closes a dilated convolution. The convolution's node
 * now reads the SPACE_TO_BATCH_ND's input and writes this operator's
 * output, with the block as its dilation and the padding that gives the
 * same result (nn__dilated_conv).
 */
int nn__tfl_map_batch_to_space(tfl *c, tfl_op *o)
{
	int rc;
	int64_t block[2], crops[4];
	if ((rc = space_params(c, o, "crops", block, crops)) < 0 || (rc = same_encoding(c, o, o->in[0], o->out[0])) < 0)
		return rc;
	nn__tfl_fold *f = NULL;
	for (int k = 0; k < c->n_folds && !f; k++)
		if (c->folds[k].conv_out == o->in[0] && !c->folds[k].done)
			f = &c->folds[k];
	if (!f)
		return nn__tfl_fail(c, NN_ERR_UNSUPPORTED,
				    "%s: %s is supported only as TensorFlow writes a dilated convolution: after a CONV_2D or "
				    "DEPTHWISE_CONV_2D that reads a SPACE_TO_BATCH_ND",
				    o->desc, o->opname);
	if (block[0] != f->block[0] || block[1] != f->block[1])
		return nn__tfl_fail(c, NN_ERR_UNSUPPORTED, "%s: %s: block_shape differs from its SPACE_TO_BATCH_ND's (%s)",
				    o->desc, o->opname, f->desc);
	nn_node *n = &c->g->nodes[f->conv_node];
	nn_conv_params *p = &n->p.conv;
	if (p->padding == NN_PADDING_EXPLICIT)
		return nn__tfl_fail(c, NN_ERR_UNSUPPORTED, "%s: the convolution has explicit padding", o->desc);
	const nn_tensor *x = &c->g->tensors[f->s2b_in], *w = &c->g->tensors[n->inputs[1]];
	const nn_tensor *cy = &c->g->tensors[f->conv_out];
	if (w->rank != 4)
		return nn__tfl_fail(c, NN_ERR_SHAPE, "%s: the convolution's filter has %d dimensions, expected 4", o->desc,
				    w->rank);
	int64_t in[2] = { x->shape[1], x->shape[2] }, k[2] = { w->shape[1], w->shape[2] };
	int64_t before[2], after[2], out[2];
	char why[192];
	if ((rc = nn__dilated_conv(in, k, p->padding == NN_PADDING_SAME, block, f->pads, crops, MAX_PARAM, before, after,
				   out, why, sizeof why)) < 0)
		return nn__tfl_fail(c, rc, "%s: %s: %s", o->desc, o->opname, why);
	int64_t want[4] = { x->shape[0], out[0], out[1], cy->shape[3] };
	if ((rc = want_shape(c, o, o->out[0], 4, want)) < 0)
		return rc;
	p->dilation_h = (int)block[0];
	p->dilation_w = (int)block[1];
	p->padding = NN_PADDING_EXPLICIT;
	p->pad_top = (int)before[0], p->pad_bottom = (int)after[0];
	p->pad_left = (int)before[1], p->pad_right = (int)after[1];
	n->inputs[0] = f->s2b_in;
	n->outputs[0] = o->out[0];
	f->done = 1;
	return 0;
}

int nn__tfl_check_folds(tfl *c)
{
	for (int k = 0; k < c->n_folds; k++) {
		const nn__tfl_fold *f = &c->folds[k];
		if (!f->done)
			return nn__tfl_fail(c, NN_ERR_UNSUPPORTED,
					    "%s: SPACE_TO_BATCH_ND is supported only as TensorFlow writes a dilated "
					    "convolution: read by one CONV_2D or DEPTHWISE_CONV_2D that one BATCH_TO_SPACE_ND "
					    "reads",
					    f->desc);
		/* The tensors between the three operators no longer exist: nothing else may read them. */
		for (int i = 0; i < c->g->n_nodes; i++) {
			const nn_node *n = &c->g->nodes[i];
			for (int j = 0; j < n->n_inputs; j++)
				if (n->inputs[j] >= 0 && (n->inputs[j] == f->s2b_out || n->inputs[j] == f->conv_out))
					return nn__tfl_fail(c, NN_ERR_UNSUPPORTED,
							    "node '%.100s' reads a tensor inside the dilated convolution "
							    "that starts at %s; it cannot be folded",
							    n->name ? n->name : "", f->desc);
		}
		for (int j = 0; j < c->g->n_outputs; j++)
			if (c->g->outputs[j] == f->s2b_out || c->g->outputs[j] == f->conv_out)
				return nn__tfl_fail(c, NN_ERR_UNSUPPORTED,
						    "a graph output lies inside the dilated convolution that starts at %s",
						    f->desc);
	}
	return 0;
}

/* ---- values known at load time ---- */

/*
 * Runs the node just added when it computes a small integer result from
 * constants only (the SHAPE, STRIDED_SLICE, PACK chains that build a
 * RESHAPE's shape), so that the RESHAPE can read that shape at load time.
 * The node is dropped and its outputs become constants.
 */
static int fold_now(tfl *c, tfl_op *o)
{
	nn_graph *g = c->g;
	nn_node *n = &g->nodes[g->n_nodes - 1];
	int any = 0;
	for (int k = 0; k < n->n_inputs; k++) {
		if (n->inputs[k] < 0)
			continue;
		if (!g->tensors[n->inputs[k]].is_const || !g->tensors[n->inputs[k]].data)
			return 0;
		any = 1;
	}
	if (!any || n->op == NN_OP_DETECTION_POSTPROCESS)
		return 0;
	for (int k = 0; k < n->n_outputs; k++) {
		const nn_tensor *t = &g->tensors[n->outputs[k]];
		int64_t e = nn_tensor_elements(t);
		if ((t->dtype != NN_I32 && t->dtype != NN_I64) || t->is_const || e < 0 || e > 64)
			return 0;
	}
	char why[256];
	if (!nn_ref_supports(g, n, why, sizeof why))
		return 0;
	for (int k = 0; k < n->n_outputs; k++)
		if (nn_tensor_alloc_const(&g->tensors[n->outputs[k]]) < 0)
			return nn__tfl_fail(c, NN_ERR_NOMEM, "%s: out of memory", o->desc);
	if (nn_ref_run(g, n, why, sizeof why) < 0)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: computing it at load time: %s", o->desc, o->opname, why);
	unsigned char *removed = calloc((size_t)g->n_nodes, 1);
	if (!removed)
		return nn__tfl_fail(c, NN_ERR_NOMEM, "%s: out of memory", o->desc);
	removed[g->n_nodes - 1] = 1;
	nn_graph_remove_nodes(g, removed);
	free(removed);
	return 0;
}

int nn__tfl_after_node(tfl *c, tfl_op *o)
{
	return fold_now(c, o);
}

static int is_dynamic(const tfl *c, int t)
{
	return t >= 0 && t < c->n_dyn && c->dyn[t];
}

static int mark_dynamic(tfl *c, tfl_op *o, int t)
{
	if (t >= c->n_dyn) {
		int n = c->g->n_tensors > t ? c->g->n_tensors : t + 1;
		unsigned char *d = realloc(c->dyn, (size_t)n);
		if (!d)
			return nn__tfl_fail(c, NN_ERR_NOMEM, "%s: out of memory", o->desc);
		memset(d + c->n_dyn, 0, (size_t)(n - c->n_dyn));
		c->dyn = d;
		c->n_dyn = n;
	}
	c->dyn[t] = 1;
	return 0;
}

/* Sets tensor t's shape (rank dims) and marks it as sized from the data, not the file. */
static int resize_tensor(tfl *c, tfl_op *o, int t, int rank, const int64_t *shape)
{
	nn_tensor *y = &c->g->tensors[t];
	y->rank = rank;
	for (int d = 0; d < rank; d++)
		y->shape[d] = (int)shape[d];
	return mark_dynamic(c, o, t);
}

/* Whether the file marks a dimension of tensor t as known only at run time (-1 in Tensor.shape_signature). */
static int dynamic_signature(tfl *c, int t)
{
	nn__fb_table tt;
	nn__fb_vec sig;
	if (t < 0 || (uint32_t)t >= c->tensor_tables.n || nn__fb_vec_table(&c->fb, &c->tensor_tables, (uint32_t)t, &tt) < 0 ||
	    nn__fb_vector(&c->fb, &tt, 7, 4, &sig) <= 0)
		return 0;
	for (uint32_t k = 0; k < sig.n; k++)
		if (nn__fb_vec_i32(&c->fb, &sig, k) < 0)
			return 1;
	return 0;
}

/*
 * Shapes that the file gives only as placeholders. A converter that keeps
 * a dynamic dimension (UltraFace's [-1,-1,2]) marks it -1 in the tensor's
 * shape_signature and writes size 1 for it in its shape, and TFLite resizes the tensor when it runs: a RESHAPE
 * whose shape input is known at load time gets that shape, and the shape
 * then flows through the operators after it. Called before operator o is
 * mapped; an operator this cannot follow fails with a message.
 */
int nn__tfl_dynamic_shapes(tfl *c, tfl_op *o)
{
	nn_graph *g = c->g;
	int32_t code = o->code->builtin;
	if (code == TFL_RESHAPE && o->n_in == 2 && o->n_out == 1 && o->in[0] >= 0 && o->in[1] >= 0 &&
	    g->tensors[o->in[1]].is_const && g->tensors[o->in[1]].data && dynamic_signature(c, o->out[0])) {
		int64_t s[NN_MAX_RANK + 1];
		int n, rc, infer = -1;
		if ((rc = nn__tfl_const_ints(c, o, o->in[1], "shape", s, NN_MAX_RANK, &n)) < 0)
			return rc;
		const nn_tensor *x = &g->tensors[o->in[0]], *y = &g->tensors[o->out[0]];
		int64_t total = nn_tensor_elements(x), prod = 1;
		for (int d = 0; d < n; d++) {
			if (s[d] == -1 && infer < 0)
				infer = d;
			else if (s[d] < 1 || s[d] > INT32_MAX)
				return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: shape value %lld in dimension %d", o->desc,
						    o->opname, (long long)s[d], d);
			else
				prod *= s[d];
		}
		if (infer >= 0) {
			if (prod <= 0 || total % prod)
				return nn__tfl_fail(c, NN_ERR_SHAPE, "%s: %s: %lld elements do not fill the new shape", o->desc,
						    o->opname, (long long)total);
			s[infer] = total / prod;
		}
		int same = y->rank == n;
		for (int d = 0; same && d < n; d++)
			same = y->shape[d] == s[d];
		/* Only a placeholder is replaced: a file whose shapes disagree is reported by the RESHAPE itself. */
		if (!same && nn_tensor_elements(y) != total)
			return resize_tensor(c, o, o->out[0], n, s);
		return 0;
	}
	int dyn = 0;
	for (int k = 0; k < o->n_in; k++)
		dyn |= is_dynamic(c, o->in[k]);
	if (!dyn)
		return 0;
	const nn_tensor *x = &g->tensors[o->in[0]];
	int64_t s[NN_MAX_RANK];
	for (int d = 0; d < x->rank; d++)
		s[d] = x->shape[d];
	switch (code) {
	case TFL_SOFTMAX:
	case TFL_LOGISTIC:
	case TFL_TANH:
	case TFL_RELU:
	case TFL_RELU6:
	case TFL_QUANTIZE:
	case TFL_DEQUANTIZE:
		if (o->n_out != 1)
			break;
		return resize_tensor(c, o, o->out[0], x->rank, s);
	case TFL_CONCATENATION: {
		nn__fb_table opt;
		int rc, axis;
		if (o->n_out != 1 || (rc = nn__tfl_get_options(c, o, OPT_CONCATENATION, &opt)) < 0 ||
		    (rc = nn__tfl_get_int(c, o, &opt, 0, 0, "axis", -x->rank, x->rank - 1, &axis)) < 0)
			return o->n_out != 1 ? 0 : rc;
		if (axis < 0)
			axis += x->rank;
		s[axis] = 0;
		for (int k = 0; k < o->n_in; k++) {
			const nn_tensor *t = o->in[k] >= 0 ? &g->tensors[o->in[k]] : NULL;
			if (!t || t->rank != x->rank)
				return 0; /* the CONCATENATION's own checks name the problem */
			s[axis] += t->shape[axis];
		}
		if (s[axis] > INT32_MAX)
			return nn__tfl_fail(c, NN_ERR_SHAPE, "%s: %s: the result is too long", o->desc, o->opname);
		return resize_tensor(c, o, o->out[0], x->rank, s);
	}
	default:
		break;
	}
	return nn__tfl_fail(c, NN_ERR_UNSUPPORTED,
			    "%s: %s reads a tensor whose size the file leaves to run time (a dynamic dimension); only "
			    "RESHAPE, CONCATENATION and element-wise activations after it are supported",
			    o->desc, o->opname);
}

/*
 * Dynamic-range ("hybrid") quantized models keep int8 weights under float
 * activations: TFLite quantizes the activations on the fly. Here such
 * weights become float constants (scale * (q - zero_point), per channel
 * where the file says so), so every float kernel can run the node; the
 * results are those of the float model the weights were rounded from.
 */
int nn__tfl_dequantize_weights(tfl *c)
{
	nn_graph *g = c->g;
	int n_tensors = g->n_tensors;
	int *copy = malloc(sizeof(int) * (size_t)(n_tensors > 0 ? n_tensors : 1));
	if (!copy)
		return nn__tfl_fail(c, NN_ERR_NOMEM, "out of memory");
	for (int t = 0; t < n_tensors; t++)
		copy[t] = -1;
	int rc = 0;
	for (int i = 0; i < g->n_nodes && rc == 0; i++) {
		nn_node *n = &g->nodes[i];
		/* TFLite's hybrid kernels: the filter (input 1) of these, under a float input. */
		if ((n->op != NN_OP_CONV2D && n->op != NN_OP_DEPTHWISE_CONV2D && n->op != NN_OP_FULLY_CONNECTED &&
		     n->op != NN_OP_TRANSPOSE_CONV2D) ||
		    n->n_inputs < 2 || n->inputs[0] < 0 || g->tensors[n->inputs[0]].dtype != NN_F32)
			continue;
		for (int k = 1; k < 2 && rc == 0; k++) {
			int w = n->inputs[k];
			if (w < 0 || w >= n_tensors)
				continue;
			const nn_tensor *q = &g->tensors[w];
			if (!q->is_const || !q->data || (q->dtype != NN_I8 && q->dtype != NN_U8) || q->quant.count < 1)
				continue;
			if (copy[w] < 0) {
				int64_t e = nn_tensor_elements(q);
				int axis = q->quant.axis, count = q->quant.count;
				if (count > 1 && (axis < 0 || axis >= q->rank || q->shape[axis] != count)) {
					rc = nn__tfl_fail(c, NN_ERR_FORMAT, "tensor '%.100s': %d scales for quantized dimension %d",
							  q->name ? q->name : "", count, axis);
					break;
				}
				if (e < 0 || (size_t)e * 4 > c->dense_budget) {
					rc = nn__tfl_fail(c, NN_ERR_FORMAT,
							  "tensor '%.100s': dequantizing it takes more memory than a model of "
							  "this size may use",
							  q->name ? q->name : "");
					break;
				}
				c->dense_budget -= (size_t)e * 4;
				int u = nn_graph_add_tensor_like(g, w, "/dequantized");
				if (u < 0) {
					rc = nn__tfl_fail(c, NN_ERR_NOMEM, "out of memory");
					break;
				}
				n = &g->nodes[i];
				q = &g->tensors[w];
				nn_tensor *f = &g->tensors[u];
				f->dtype = NN_F32;
				f->is_const = 1;
				if (nn_tensor_alloc_const(f) < 0) {
					rc = nn__tfl_fail(c, NN_ERR_NOMEM, "out of memory");
					break;
				}
				/* Elements per step of the quantized axis, and how many steps make one channel run. */
				int64_t inner = 1;
				for (int d = axis + 1; count > 1 && d < q->rank; d++)
					inner *= q->shape[d];
				float *out = f->data;
				for (int64_t j = 0; j < e; j++) {
					int ch = count > 1 ? (int)((j / inner) % count) : 0;
					int32_t v = q->dtype == NN_I8 ? ((const int8_t *)q->data)[j] : ((const uint8_t *)q->data)[j];
					out[j] = q->quant.scale[ch] * (float)(v - q->quant.zero_point[ch]);
				}
				copy[w] = u;
			}
			n->inputs[k] = copy[w];
		}
	}
	free(copy);
	return rc;
}
