/*
 * TFLite NON_MAX_SUPPRESSION_V4 and V5 onto NMS_PADDED (ref/nms_padded.c).
 *
 * max_output_size sizes the outputs, so it must be a constant; the
 * thresholds and soft_nms_sigma stay inputs read on every run. The outputs
 * (selected_indices [M], V5's selected_scores [M], valid_outputs) take
 * their shapes from max_output_size when the file leaves them as
 * placeholders.
 */
#include <stdint.h>
#include <string.h>

#include "nn/format/tflite_loader.h"

/* Output t as [m] (rank 1) or a scalar (rank 0) of dtype; set when the file's shape is a placeholder. */
static int nms_output(tfl *c, tfl_op *o, int t, const char *what, nn_dtype dtype, int rank, int m)
{
	nn_tensor *y = &c->g->tensors[t];
	char td[160], sh[96];
	if (y->dtype != dtype || y->quant.count)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: %s, %s, is %s%s, expected %s", o->desc, o->opname, what,
				    nn__tfl_tensor_desc(c, t, td, sizeof td), y->quant.count ? "quantized " : "",
				    nn_dtype_name(y->dtype), nn_dtype_name(dtype));
	if (y->is_const)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s writes %s, which is already a constant", o->desc, o->opname,
				    nn__tfl_tensor_desc(c, t, td, sizeof td));
	int64_t n = nn_tensor_elements(y);
	if (rank == 1 ? y->rank == 1 && y->shape[0] == m : n == 1)
		return 0;
	/* A placeholder: no dimension, or unknown ones (TFLite resizes these outputs when it prepares the op). */
	int placeholder = y->rank == 0 || n <= 1;
	for (int d = 0; d < y->rank; d++)
		placeholder |= y->shape[d] < 1;
	if (!placeholder)
		return nn__tfl_fail(c, NN_ERR_SHAPE, "%s: %s: %s has shape %s, expected [%d]", o->desc, o->opname, what,
				    nn__tfl_shape_str(y, sh, sizeof sh), rank ? m : 1);
	y->rank = rank;
	if (rank)
		y->shape[0] = m;
	return 0;
}

int nn__tfl_map_nms(tfl *c, tfl_op *o)
{
	int v5 = o->code->builtin == TFL_NON_MAX_SUPPRESSION_V5, rc;
	int n_in = v5 ? 6 : 5, n_out = v5 ? 3 : 2;
	if ((rc = nn__tfl_want_io(c, o, n_in, n_in, n_out)) < 0)
		return rc;
	for (int k = 0; k < n_in; k++)
		if (o->in[k] < 0)
			return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: input %d is missing (-1)", o->desc, o->opname, k);
	for (int k = 0; k < n_out; k++)
		if (o->out[k] < 0)
			return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: output %d is missing (-1)", o->desc, o->opname, k);
	const nn_graph *g = c->g;
	const nn_tensor *boxes = &g->tensors[o->in[0]], *scores = &g->tensors[o->in[1]];
	char a[96], b[96];
	if (boxes->dtype != NN_F32 || scores->dtype != NN_F32 || boxes->quant.count || scores->quant.count)
		return nn__tfl_fail(c, NN_ERR_UNSUPPORTED, "%s: %s: boxes and scores of types %s and %s (float32 only)",
				    o->desc, o->opname, nn_dtype_name(boxes->dtype), nn_dtype_name(scores->dtype));
	if (boxes->rank != 2 || boxes->shape[1] != 4 || scores->rank != 1 || scores->shape[0] != boxes->shape[0])
		return nn__tfl_fail(c, NN_ERR_SHAPE, "%s: %s: boxes %s and scores %s are not [N,4] and [N]", o->desc,
				    o->opname, nn__tfl_shape_str(boxes, a, sizeof a), nn__tfl_shape_str(scores, b, sizeof b));
	const nn_tensor *mx = &g->tensors[o->in[2]];
	if (!mx->is_const || !mx->data)
		return nn__tfl_fail(c, NN_ERR_UNSUPPORTED,
				    "%s: %s: max_output_size is computed at run time; only a constant is supported, as it "
				    "sets the size of the outputs", o->desc, o->opname);
	if (mx->dtype != NN_I32 || nn_tensor_elements(mx) != 1)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: max_output_size is %s %s, expected one int32", o->desc,
				    o->opname, nn_dtype_name(mx->dtype), nn__tfl_shape_str(mx, a, sizeof a));
	int32_t m;
	memcpy(&m, mx->data, sizeof m);
	if (m < 1 || m > (1 << 24))
		return nn__tfl_fail(c, NN_ERR_UNSUPPORTED, "%s: %s: max_output_size %d is outside 1..%d", o->desc,
				    o->opname, (int)m, 1 << 24);
	const char *names[3] = { "iou_threshold", "score_threshold", "soft_nms_sigma" };
	for (int k = 3; k < n_in; k++) {
		const nn_tensor *t = &g->tensors[o->in[k]];
		if (t->dtype != NN_F32 || t->quant.count || nn_tensor_elements(t) != 1)
			return nn__tfl_fail(c, NN_ERR_UNSUPPORTED, "%s: %s: %s is %s %s, expected one float32", o->desc,
					    o->opname, names[k - 3], nn_dtype_name(t->dtype), nn__tfl_shape_str(t, a, sizeof a));
		if (k == 5 && t->is_const && t->data) {
			float s;
			memcpy(&s, t->data, sizeof s);
			if (!(s >= 0))
				return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: soft_nms_sigma %g is negative", o->desc,
						    o->opname, (double)s);
		}
	}
	if ((rc = nms_output(c, o, o->out[0], "selected_indices", NN_I32, 1, m)) < 0 ||
	    (v5 && (rc = nms_output(c, o, o->out[1], "selected_scores", NN_F32, 1, m)) < 0) ||
	    (rc = nms_output(c, o, o->out[n_out - 1], "valid_outputs", NN_I32, 0, 1)) < 0)
		return rc;
	nn_node tmpl;
	memset(&tmpl, 0, sizeof tmpl);
	tmpl.p.nms.max_per_class = m;
	tmpl.p.nms.has_score_threshold = 1;
	return nn__tfl_add_node(c, o, NN_OP_NMS_PADDED, &tmpl, o->in, n_in, o->out, n_out, NULL);
}
