/*
 * NMS_PADDED: TensorFlow Lite NON_MAX_SUPPRESSION_V4 and V5 (TensorFlow's
 * NonMaxSuppressionV4 with pad_to_max_output_size, and V5).
 *
 * Inputs: boxes [N, 4] float32 ([y1, x1, y2, x2], corners in either order),
 * scores [N] float32, max_output_size (int32 scalar; the loader checked it
 * is a constant equal to p.nms.max_per_class and to the outputs' size M),
 * iou_threshold and score_threshold (float32 scalars) and, for V5,
 * soft_nms_sigma (float32 scalar). Outputs: selected_indices int32 [M], for
 * V5 selected_scores float32 [M], then valid_outputs (int32 scalar); the
 * entries past valid_outputs are 0.
 *
 * The selection is nn_nms_select's with TensorFlow Lite's rules: a score
 * must be above score_threshold, a box is dropped at an IoU at or above
 * iou_threshold with one selected, and soft_nms_sigma > 0 lowers the score
 * of smaller overlaps by exp(-0.5 * iou^2 / sigma). Equal scores go by the
 * lower index, as TensorFlow and TF.js (TFLite's heap leaves them unordered).
 */
#include "nn/ref/nms.h"

#include <stdlib.h>
#include <string.h>

static int scalar_f32(const nn_tensor *t)
{
	return t && t->dtype == NN_F32 && !t->quant.count && nn_ref_elements(t) == 1;
}

int nn_ref_nms_padded_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen)
{
	char a[NN_REF_SHAPE_BUF], b[NN_REF_SHAPE_BUF];
	if (n->n_inputs < 5 || n->n_inputs > 6 || n->n_outputs != n->n_inputs - 3)
		return nn_ref_fail(why, whylen, n, 0,
				   "expects boxes, scores, max_output_size, iou_threshold, score_threshold and, with "
				   "selected_scores, soft_nms_sigma");
	for (int k = 0; k < n->n_inputs; k++)
		if (n->inputs[k] < 0 || !nn_ref_input(g, n, k))
			return nn_ref_fail(why, whylen, n, 0, "input %d is missing", k);
	for (int k = 0; k < n->n_outputs; k++)
		if (n->outputs[k] < 0 || !nn_ref_output(g, n, k))
			return nn_ref_fail(why, whylen, n, 0, "output %d is missing", k);
	const nn_tensor *boxes = nn_ref_input(g, n, 0), *scores = nn_ref_input(g, n, 1);
	if (boxes->dtype != NN_F32 || scores->dtype != NN_F32 || boxes->quant.count || scores->quant.count)
		return nn_ref_fail(why, whylen, n, 0, "boxes and scores must be float32, not %s and %s",
				   nn_dtype_name(boxes->dtype), nn_dtype_name(scores->dtype));
	if (boxes->rank != 2 || boxes->shape[1] != 4 || scores->rank != 1 || scores->shape[0] != boxes->shape[0])
		return nn_ref_fail(why, whylen, n, 0, "boxes %s and scores %s are not [N, 4] and [N]",
				   nn_ref_shape_str(boxes, a), nn_ref_shape_str(scores, b));
	const nn_tensor *mx = nn_ref_input(g, n, 2);
	if (mx->dtype != NN_I32 || nn_ref_elements(mx) != 1)
		return nn_ref_fail(why, whylen, n, 0, "max_output_size must be a single int32, not %s %s",
				   nn_dtype_name(mx->dtype), nn_ref_shape_str(mx, a));
	for (int k = 3; k < n->n_inputs; k++)
		if (!scalar_f32(nn_ref_input(g, n, k)))
			return nn_ref_fail(why, whylen, n, 0, "input %d must be a single float32, not %s", k,
					   nn_ref_shape_str(nn_ref_input(g, n, k), a));
	int m = n->p.nms.max_per_class, v5 = n->n_outputs == 3;
	const nn_tensor *idx = nn_ref_output(g, n, 0), *valid = nn_ref_output(g, n, n->n_outputs - 1);
	if (idx->dtype != NN_I32 || idx->rank != 1 || idx->shape[0] != m)
		return nn_ref_fail(why, whylen, n, 0, "selected_indices %s %s is not int32 [%d]", nn_dtype_name(idx->dtype),
				   nn_ref_shape_str(idx, a), m);
	if (v5) {
		const nn_tensor *sc = nn_ref_output(g, n, 1);
		if (sc->dtype != NN_F32 || sc->quant.count || sc->rank != 1 || sc->shape[0] != m)
			return nn_ref_fail(why, whylen, n, 0, "selected_scores %s %s is not float32 [%d]",
					   nn_dtype_name(sc->dtype), nn_ref_shape_str(sc, a), m);
	}
	if (valid->dtype != NN_I32 || nn_ref_elements(valid) != 1)
		return nn_ref_fail(why, whylen, n, 0, "valid_outputs %s %s is not a single int32",
				   nn_dtype_name(valid->dtype), nn_ref_shape_str(valid, a));
	return 1;
}

int nn_ref_nms_padded_run(nn_graph *g, const nn_node *n, char *err, size_t errlen)
{
	if (!nn_ref_nms_padded_supports(g, n, err, errlen))
		return NN_ERR_UNSUPPORTED;
	const nn_tensor *boxes = nn_ref_input(g, n, 0), *scores = nn_ref_input(g, n, 1);
	int v5 = n->n_outputs == 3, m = n->p.nms.max_per_class, N = boxes->shape[0];
	int32_t mx = *(const int32_t *)nn_ref_input(g, n, 2)->data;
	if (mx != m)
		return nn_ref_fail(err, errlen, n, NN_ERR_ARG, "max_output_size is %d, not the %d the outputs were sized for",
				   (int)mx, m);
	nn_nms_opts o = { .suppress_equal = 1, .has_score_threshold = 1 };
	o.iou_threshold = *(const float *)nn_ref_input(g, n, 3)->data;
	o.score_threshold = *(const float *)nn_ref_input(g, n, 4)->data;
	o.soft_sigma = v5 ? *(const float *)nn_ref_input(g, n, 5)->data : 0.0f;
	if (!(o.iou_threshold >= 0 && o.iou_threshold <= 1))
		return nn_ref_fail(err, errlen, n, NN_ERR_ARG, "iou_threshold %g is outside [0, 1]", (double)o.iou_threshold);
	if (!(o.soft_sigma >= 0))
		return nn_ref_fail(err, errlen, n, NN_ERR_ARG, "soft_nms_sigma %g is negative", (double)o.soft_sigma);
	int32_t *idx = nn_ref_output(g, n, 0)->data;
	float *sc = v5 ? nn_ref_output(g, n, 1)->data : NULL;
	int32_t *valid = nn_ref_output(g, n, n->n_outputs - 1)->data;
	int *sel = malloc((size_t)(m > 0 ? m : 1) * sizeof *sel);
	if (!sel)
		return nn_ref_fail(err, errlen, n, NN_ERR_NOMEM, "out of memory for %d selections", m);
	if (m > 0) {
		memset(idx, 0, (size_t)m * sizeof *idx);
		if (sc)
			memset(sc, 0, (size_t)m * sizeof *sc);
	}
	int ns = nn_nms_select(boxes->data, scores->data, N, m, &o, sel, sc);
	if (ns < 0) {
		free(sel);
		return nn_ref_fail(err, errlen, n, NN_ERR_NOMEM, "out of memory for %d boxes", N);
	}
	for (int k = 0; k < ns; k++)
		idx[k] = sel[k];
	*valid = ns;
	free(sel);
	return 0;
}
