/*
 * NanoDet (generalized focal loss) decoder: per-cell class scores and, per
 * side of the box, a discrete distribution over distances 0..reg_max whose
 * expectation is the distance from the cell centre, in strides.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detect/decode.h"
#include "detect/nms.h"

/* More candidates than this before NMS are trimmed to the best ones (NanoDet's own nms_pre is 1000 per level). */
#define NANODET_MAX_CANDIDATES 4096

static float clip01(float v)
{
	return v < 0 ? 0 : v > 1 ? 1 : v;
}

/* The expectation of softmax(logits[0..n)) over the bin indices 0..n-1. */
static float integral(const float *logits, int n)
{
	float m = logits[0];
	for (int i = 1; i < n; i++)
		if (logits[i] > m)
			m = logits[i];
	float sum = 0, acc = 0;
	for (int i = 0; i < n; i++) {
		float e = expf(logits[i] - m);
		sum += e;
		acc += e * (float)i;
	}
	return acc / sum;
}

static int by_score_desc(const void *pa, const void *pb)
{
	const vg_detection *a = pa, *b = pb;
	return (a->score < b->score) - (a->score > b->score);
}

int vg_decode_nanodet(const vg_nanodet_level *levels, int n_levels, const vg_nanodet_params *p, float threshold,
		      vg_detection *out, int max)
{
	int nc = p->num_classes, bins = p->reg_max + 1;
	if (nc <= 0 || bins < 2 || max <= 0 || !(p->in_w > 0) || !(p->in_h > 0))
		return 0;
	/* Compare logits against the threshold's logit rather than taking the sigmoid of every score. */
	float cut = threshold;
	if (p->sigmoid)
		cut = threshold <= 0 ? -INFINITY : threshold >= 1 ? INFINITY : logf(threshold / (1 - threshold));
	int cap = NANODET_MAX_CANDIDATES, count = 0;
	vg_detection *cand = malloc((size_t)cap * sizeof *cand);
	if (!cand)
		return 0;
	for (int l = 0; l < n_levels; l++) {
		const vg_nanodet_level *lv = &levels[l];
		int cells = lv->width * lv->height;
		for (int i = 0; i < cells; i++) {
			const float *s = lv->scores + (size_t)i * (size_t)nc;
			const float *dist = NULL;
			float x0 = 0, y0 = 0, x1 = 0, y1 = 0;
			for (int c = 0; c < nc; c++) {
				if (!(s[c] >= cut))
					continue;
				if (!dist) {
					/* The box of this cell, computed once for all its classes. */
					dist = lv->dist + (size_t)i * 4 * (size_t)bins;
					float cx = ((float)(i % lv->width) + p->center_offset) * lv->stride;
					float cy = ((float)(i / lv->width) + p->center_offset) * lv->stride;
					x0 = clip01((cx - integral(dist, bins) * lv->stride) / p->in_w);
					y0 = clip01((cy - integral(dist + bins, bins) * lv->stride) / p->in_h);
					x1 = clip01((cx + integral(dist + 2 * bins, bins) * lv->stride) / p->in_w);
					y1 = clip01((cy + integral(dist + 3 * bins, bins) * lv->stride) / p->in_h);
				}
				if (count == cap) {
					/* Keep the better half and carry on: the weakest would not survive anyway. */
					qsort(cand, (size_t)count, sizeof *cand, by_score_desc);
					count = cap / 2;
				}
				vg_detection *d = &cand[count++];
				memset(d, 0, sizeof *d);
				d->x0 = x0;
				d->y0 = y0;
				d->x1 = x1;
				d->y1 = y1;
				d->class_id = c;
				d->score = p->sigmoid ? 1.0f / (1.0f + expf(-s[c])) : s[c];
			}
		}
	}
	int kept;
	if (p->iou_threshold > 0) {
		kept = vg_nms(cand, count, p->iou_threshold, p->per_class_nms, max);
	} else {
		qsort(cand, (size_t)count, sizeof *cand, by_score_desc);
		kept = count < max ? count : max;
	}
	memcpy(out, cand, (size_t)kept * sizeof *out);
	free(cand);
	return kept;
}
