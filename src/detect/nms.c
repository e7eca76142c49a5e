#include "detect/nms.h"

#include <stdlib.h>

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
