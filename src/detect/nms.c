#include "detect/nms.h"

#include <stdlib.h>
#include <string.h>

float vg_iou(const vg_detection *a, const vg_detection *b)
{
	float area_a = (a->x1 - a->x0) * (a->y1 - a->y0);
	float area_b = (b->x1 - b->x0) * (b->y1 - b->y0);
	if (area_a <= 0 || area_b <= 0)
		return 0;
	float ix0 = a->x0 > b->x0 ? a->x0 : b->x0, iy0 = a->y0 > b->y0 ? a->y0 : b->y0;
	float ix1 = a->x1 < b->x1 ? a->x1 : b->x1, iy1 = a->y1 < b->y1 ? a->y1 : b->y1;
	if (ix1 <= ix0 || iy1 <= iy0)
		return 0;
	float inter = (ix1 - ix0) * (iy1 - iy0);
	return inter / (area_a + area_b - inter);
}

static int by_score_desc(const void *pa, const void *pb)
{
	const vg_detection *a = pa, *b = pb;
	return (a->score < b->score) - (a->score > b->score);
}

int vg_nms(vg_detection *dets, int count, float iou_threshold, int per_class, int max_keep)
{
	if (count <= 0 || max_keep <= 0)
		return 0;
	qsort(dets, (size_t)count, sizeof *dets, by_score_desc);
	int kept = 0;
	for (int i = 0; i < count && kept < max_keep; i++) {
		int suppressed = 0;
		for (int k = 0; k < kept && !suppressed; k++) {
			if (per_class && dets[k].class_id != dets[i].class_id)
				continue;
			suppressed = vg_iou(&dets[k], &dets[i]) > iou_threshold;
		}
		if (!suppressed)
			dets[kept++] = dets[i];
	}
	return kept;
}

int vg_nms_weighted(vg_detection *dets, int count, float iou_threshold, int max_keep)
{
	if (count <= 0 || max_keep <= 0)
		return 0;
	qsort(dets, (size_t)count, sizeof *dets, by_score_desc);
	char *used = calloc((size_t)count, 1);
	vg_detection *out = malloc((size_t)(count < max_keep ? count : max_keep) * sizeof *out);
	if (!used || !out) {
		/* Without memory for the blend, plain suppression still gives a sound answer. */
		free(used);
		free(out);
		return vg_nms(dets, count, iou_threshold, 0, max_keep);
	}
	int kept = 0;
	for (int i = 0; i < count && kept < max_keep; i++) {
		if (used[i])
			continue;
		const vg_detection *top = &dets[i];
		int nk = top->n_keypoints < VG_MAX_KEYPOINTS ? top->n_keypoints : VG_MAX_KEYPOINTS;
		double total = 0, x0 = 0, y0 = 0, x1 = 0, y1 = 0, kxy[VG_MAX_KEYPOINTS][2];
		memset(kxy, 0, sizeof kxy);
		/* The top one and every remaining one overlapping it are averaged, weighted by score. */
		for (int j = i; j < count; j++) {
			if (used[j] || (j != i && !(vg_iou(top, &dets[j]) > iou_threshold)))
				continue;
			used[j] = 1;
			double s = dets[j].score;
			total += s;
			x0 += s * dets[j].x0;
			y0 += s * dets[j].y0;
			x1 += s * dets[j].x1;
			y1 += s * dets[j].y1;
			for (int k = 0; k < nk && k < dets[j].n_keypoints; k++) {
				kxy[k][0] += s * dets[j].keypoints[k].x;
				kxy[k][1] += s * dets[j].keypoints[k].y;
			}
		}
		vg_detection *o = &out[kept++];
		*o = *top;
		if (total > 0) {
			o->x0 = (float)(x0 / total);
			o->y0 = (float)(y0 / total);
			o->x1 = (float)(x1 / total);
			o->y1 = (float)(y1 / total);
			for (int k = 0; k < nk; k++) {
				o->keypoints[k].x = (float)(kxy[k][0] / total);
				o->keypoints[k].y = (float)(kxy[k][1] / total);
			}
		}
	}
	memcpy(dets, out, (size_t)kept * sizeof *dets);
	free(out);
	free(used);
	return kept;
}
