#include "detect/decode.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detect/nms.h"

static float clip01(float v)
{
	return v < 0 ? 0 : v > 1 ? 1 : v;
}

int vg_decode_postprocessed(const float *boxes, const float *classes, const float *scores, int n, float threshold,
			    vg_detection *out, int max)
{
	int count = 0;
	for (int i = 0; i < n && count < max; i++) {
		if (!(scores[i] >= threshold))
			continue;
		vg_detection *d = &out[count++];
		memset(d, 0, sizeof *d);
		d->y0 = clip01(boxes[i * 4 + 0]);
		d->x0 = clip01(boxes[i * 4 + 1]);
		d->y1 = clip01(boxes[i * 4 + 2]);
		d->x1 = clip01(boxes[i * 4 + 3]);
		d->class_id = (int)lrintf(classes[i]);
		d->score = scores[i];
	}
	return count;
}

int vg_decode_ssd(const float *encodings, const float *scores, const float *anchors, int n, int num_classes,
		  const vg_ssd_params *p, float threshold, vg_detection *out, int max)
{
	/* Candidates above threshold, before NMS; bounded by n, and by a cap to keep NMS cheap. */
	int cap = n < 4096 ? n : 4096;
	vg_detection *cand = malloc((size_t)(cap > 0 ? cap : 1) * sizeof *cand);
	if (!cand)
		return 0;
	int first = p->background_class ? 1 : 0;
	int count = 0;
	for (int i = 0; i < n && count < cap; i++) {
		const float *s = scores + (size_t)i * (size_t)num_classes;
		int best = -1;
		float best_score = -INFINITY;
		for (int c = first; c < num_classes; c++) {
			if (s[c] > best_score) {
				best_score = s[c];
				best = c;
			}
		}
		if (best < 0)
			continue;
		if (p->sigmoid)
			best_score = 1.0f / (1.0f + expf(-best_score));
		if (!(best_score >= threshold))
			continue;
		const float *e = encodings + (size_t)i * 4, *a = anchors + (size_t)i * 4;
		float yc = e[0] / p->y_scale * a[2] + a[0];
		float xc = e[1] / p->x_scale * a[3] + a[1];
		float h = expf(e[2] / p->h_scale) * a[2];
		float w = expf(e[3] / p->w_scale) * a[3];
		vg_detection *d = &cand[count++];
		memset(d, 0, sizeof *d);
		d->y0 = clip01(yc - h / 2);
		d->x0 = clip01(xc - w / 2);
		d->y1 = clip01(yc + h / 2);
		d->x1 = clip01(xc + w / 2);
		d->class_id = best - first;
		d->score = best_score;
	}
	int kept = vg_nms(cand, count, p->iou_threshold, p->per_class_nms, max);
	memcpy(out, cand, (size_t)kept * sizeof *out);
	free(cand);
	return kept;
}

int vg_decode_top_k(const float *scores, int n, int k, float threshold, vg_detection *out)
{
	int count = 0;
	for (int i = 0; i < n; i++) {
		if (!(scores[i] >= threshold))
			continue;
		/* Insertion into the sorted top-k list. */
		int pos = count < k ? count : k;
		while (pos > 0 && out[pos - 1].score < scores[i])
			pos--;
		if (pos >= k)
			continue;
		int last = count < k ? count : k - 1;
		memmove(&out[pos + 1], &out[pos], (size_t)(last - pos) * sizeof *out);
		memset(&out[pos], 0, sizeof out[pos]);
		out[pos].class_id = i;
		out[pos].score = scores[i];
		out[pos].whole_frame = 1;
		out[pos].x1 = out[pos].y1 = 1;
		if (count < k)
			count++;
	}
	return count;
}
