/*
 * NON_MAX_SUPPRESSION: ONNX NonMaxSuppression (opsets 10 and 11).
 *
 * Inputs: boxes [B, N, 4] float32, scores [B, C, N] float32, then optional
 * run-time scalars (absent, or -1, when the loader put the value in p.nms):
 * 2 max_output_boxes_per_class (int64 or int32), 3 iou_threshold, 4
 * score_threshold (float32; present means the threshold applies). Output:
 * int64 [capacity, 3] rows (batch, class, box); the kernel sets the output's
 * rows to the count it selected and zeroes the rest of the capacity, so that
 * ops reading every row (a GATHER by these indices) stay in range.
 *
 * Per batch and class, in that order: the boxes whose score is above the
 * score threshold (strictly, as ONNX Runtime), highest score first (equal
 * scores by box index, NaN last), each kept unless its IoU with a box already
 * kept for that class is above iou_threshold (strictly), until
 * max_output_boxes_per_class are kept (0 or less: none). Corners
 * [y1, x1, y2, x2] may come in either order (center_point_box = 0); with
 * center_point_box = 1 a box is [x_center, y_center, width, height]. Boxes
 * with an empty intersection or an area of zero or less never suppress.
 */
#include "nn/ref/nms.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const nn_tensor *opt_input(const nn_graph *g, const nn_node *n, int i)
{
	return i < n->n_inputs && n->inputs[i] >= 0 ? nn_ref_input(g, n, i) : NULL;
}

int nn_ref_nms_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen)
{
	const nn_tensor *boxes = nn_ref_input(g, n, 0), *scores = nn_ref_input(g, n, 1);
	const nn_tensor *out = nn_ref_output(g, n, 0);
	char a[NN_REF_SHAPE_BUF], b[NN_REF_SHAPE_BUF];
	if (n->n_inputs < 2 || n->n_inputs > 5 || n->n_outputs != 1 || !boxes || !scores || !out)
		return nn_ref_fail(why, whylen, n, 0, "expects boxes, scores and up to three scalars, and one output");
	if (boxes->dtype != NN_F32 || scores->dtype != NN_F32 || boxes->quant.count || scores->quant.count)
		return nn_ref_fail(why, whylen, n, 0, "boxes and scores must be float32, not %s and %s",
				   nn_dtype_name(boxes->dtype), nn_dtype_name(scores->dtype));
	if (boxes->rank != 3 || boxes->shape[2] != 4 || scores->rank != 3 || scores->shape[0] != boxes->shape[0] ||
	    scores->shape[2] != boxes->shape[1])
		return nn_ref_fail(why, whylen, n, 0, "boxes %s and scores %s are not [B, N, 4] and [B, C, N]",
				   nn_ref_shape_str(boxes, a), nn_ref_shape_str(scores, b));
	if (out->dtype != NN_I64 || out->rank != 2 || out->shape[1] != 3)
		return nn_ref_fail(why, whylen, n, 0, "output %s is not int64[capacity, 3]", nn_ref_shape_str(out, a));
	for (int i = 2; i < 5; i++) {
		const nn_tensor *t = opt_input(g, n, i);
		if (!t)
			continue;
		int ok = nn_ref_elements(t) == 1 && (i == 2 ? t->dtype == NN_I64 || t->dtype == NN_I32 : t->dtype == NN_F32);
		if (!ok)
			return nn_ref_fail(why, whylen, n, 0, "input %d must be a single %s, not %s", i,
					   i == 2 ? "int64" : "float32", nn_ref_shape_str(t, a));
	}
	if (n->p.nms.center_point_box != 0 && n->p.nms.center_point_box != 1)
		return nn_ref_fail(why, whylen, n, 0, "center_point_box %d is not 0 or 1", n->p.nms.center_point_box);
	return 1;
}

/* A box as min/max corners. */
typedef struct nms_box {
	float x0, y0, x1, y1;
} nms_box;

static nms_box box_at(const float *b, int center)
{
	nms_box r;
	if (center) {
		r.x0 = b[0] - b[2] / 2;
		r.x1 = b[0] + b[2] / 2;
		r.y0 = b[1] - b[3] / 2;
		r.y1 = b[1] + b[3] / 2;
	} else {
		r.x0 = fminf(b[1], b[3]);
		r.x1 = fmaxf(b[1], b[3]);
		r.y0 = fminf(b[0], b[2]);
		r.y1 = fmaxf(b[0], b[2]);
	}
	return r;
}

/* Whether a and b overlap by more than thr (intersection over union). */
static int suppresses(const nms_box *a, const nms_box *b, float thr)
{
	float ix0 = fmaxf(a->x0, b->x0), ix1 = fminf(a->x1, b->x1);
	if (!(ix1 > ix0))
		return 0;
	float iy0 = fmaxf(a->y0, b->y0), iy1 = fminf(a->y1, b->y1);
	if (!(iy1 > iy0))
		return 0;
	float inter = (ix1 - ix0) * (iy1 - iy0);
	float area_a = (a->x1 - a->x0) * (a->y1 - a->y0), area_b = (b->x1 - b->x0) * (b->y1 - b->y0);
	float uni = area_a + area_b - inter;
	if (!(inter > 0) || !(area_a > 0) || !(area_b > 0) || !(uni > 0))
		return 0;
	return inter / uni > thr;
}

typedef struct nms_cand {
	float score;
	int index;
} nms_cand;

/* Highest score first, NaN last, equal scores by index. */
static int cand_cmp(const void *pa, const void *pb)
{
	const nms_cand *a = pa, *b = pb;
	int na = isnan(a->score), nb = isnan(b->score);
	if (na != nb)
		return na - nb;
	if (!na && a->score != b->score)
		return a->score > b->score ? -1 : 1;
	return (a->index > b->index) - (a->index < b->index);
}

int nn_ref_nms_run(nn_graph *g, const nn_node *n, char *err, size_t errlen)
{
	if (!nn_ref_nms_supports(g, n, err, errlen))
		return NN_ERR_UNSUPPORTED;
	const nn_tensor *boxes_t = nn_ref_input(g, n, 0), *scores_t = nn_ref_input(g, n, 1);
	nn_tensor *out = nn_ref_output(g, n, 0);
	const nn_tensor *max_t = opt_input(g, n, 2), *iou_t = opt_input(g, n, 3), *score_t = opt_input(g, n, 4);
	int64_t max_per_class = n->p.nms.max_per_class;
	if (max_t)
		max_per_class = max_t->dtype == NN_I64 ? *(const int64_t *)max_t->data : *(const int32_t *)max_t->data;
	float iou_thr = iou_t ? *(const float *)iou_t->data : n->p.nms.iou_threshold;
	int has_score = score_t || n->p.nms.has_score_threshold;
	float score_thr = score_t ? *(const float *)score_t->data : n->p.nms.score_threshold;
	if (!(iou_thr >= 0 && iou_thr <= 1))
		return nn_ref_fail(err, errlen, n, NN_ERR_ARG, "iou_threshold %g is outside [0, 1]", (double)iou_thr);

	int B = boxes_t->shape[0], N = boxes_t->shape[1], C = scores_t->shape[1];
	int cap = out->shape[0], center = n->p.nms.center_point_box;
	int64_t *o = out->data;
	if (cap > 0)
		memset(o, 0, (size_t)cap * 3 * sizeof *o);
	out->rows = 0;
	if (max_per_class <= 0 || N == 0)
		return 0;
	nms_cand *cand = malloc((size_t)N * sizeof *cand);
	nms_box *kept = malloc((size_t)N * sizeof *kept);
	if (!cand || !kept) {
		free(cand);
		free(kept);
		return nn_ref_fail(err, errlen, n, NN_ERR_NOMEM, "out of memory for %d boxes", N);
	}
	const float *boxes = boxes_t->data, *scores = scores_t->data;
	int rows = 0, rc = 0;
	for (int b = 0; b < B && rc == 0; b++) {
		const float *bb = boxes + (size_t)b * N * 4;
		for (int c = 0; c < C && rc == 0; c++) {
			const float *sc = scores + ((size_t)b * C + c) * N;
			int nc = 0;
			for (int i = 0; i < N; i++)
				if (!has_score || sc[i] > score_thr)
					cand[nc++] = (nms_cand){ sc[i], i };
			qsort(cand, (size_t)nc, sizeof *cand, cand_cmp);
			int nk = 0;
			for (int k = 0; k < nc && nk < max_per_class; k++) {
				nms_box x = box_at(bb + (size_t)cand[k].index * 4, center);
				int keep = 1;
				for (int j = 0; j < nk && keep; j++)
					keep = !suppresses(&kept[j], &x, iou_thr);
				if (!keep)
					continue;
				if (rows >= cap) {
					rc = nn_ref_fail(err, errlen, n, NN_ERR_SHAPE,
							 "more than the output's capacity of %d rows selected", cap);
					break;
				}
				kept[nk++] = x;
				o[rows * 3] = b;
				o[rows * 3 + 1] = c;
				o[rows * 3 + 2] = cand[k].index;
				rows++;
			}
		}
	}
	free(cand);
	free(kept);
	out->rows = rows;
	return rc;
}
