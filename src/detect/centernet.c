/*
 * CenterNet decoders: the detections the graph computes itself, and the same
 * decoding done here from the raw heads (heatmap peaks and box distances).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detect/decode.h"
#include "detect/nms.h"

static float clip01(float v)
{
	return v < 0 ? 0 : v > 1 ? 1 : v;
}

int vg_decode_centernet(const float *dets, int n, float in_w, float in_h, float threshold, float iou_threshold,
			int per_class_nms, vg_detection *out, int max)
{
	if (n <= 0 || max <= 0 || !(in_w > 0) || !(in_h > 0))
		return 0;
	vg_detection *cand = malloc((size_t)n * sizeof *cand);
	if (!cand)
		return 0;
	int count = 0;
	for (int i = 0; i < n; i++) {
		const float *r = dets + (size_t)i * 6;
		/* NaN scores or classes (an empty top-k slot) fail these tests too. */
		if (!(r[4] >= threshold) || !(r[5] >= 0 && r[5] < 1e6f))
			continue;
		vg_detection *d = &cand[count++];
		memset(d, 0, sizeof *d);
		d->x0 = clip01(r[0] / in_w);
		d->y0 = clip01(r[1] / in_h);
		d->x1 = clip01(r[2] / in_w);
		d->y1 = clip01(r[3] / in_h);
		d->class_id = (int)lrintf(r[5]);
		d->score = r[4];
	}
	int kept = iou_threshold > 0 ? vg_nms(cand, count, iou_threshold, per_class_nms, max)
				     : (count < max ? count : max);
	memcpy(out, cand, (size_t)kept * sizeof *out);
	free(cand);
	return kept;
}

typedef struct peak {
	float score;
	int y, x, c;
} peak;

/* Is heat[y][x][c] no smaller than its 3x3 neighbours (those inside the map)? */
static int is_peak(const float *heat, int h, int w, int nc, int y, int x, int c, float v)
{
	for (int dy = -1; dy <= 1; dy++) {
		int yy = y + dy;
		if (yy < 0 || yy >= h)
			continue;
		for (int dx = -1; dx <= 1; dx++) {
			int xx = x + dx;
			if (xx < 0 || xx >= w || (dx == 0 && dy == 0))
				continue;
			if (heat[((size_t)yy * (size_t)w + (size_t)xx) * (size_t)nc + (size_t)c] > v)
				return 0;
		}
	}
	return 1;
}

int vg_decode_centernet_raw(const float *heat, const float *box, const vg_centernet_params *p, float threshold,
			    vg_detection *out, int max)
{
	int h = p->height, w = p->width, nc = p->num_classes;
	int k = p->top_k > 0 ? p->top_k : 100;
	if (h <= 0 || w <= 0 || nc <= 0 || max <= 0 || !(p->in_w > 0) || !(p->in_h > 0))
		return 0;
	peak *top = malloc((size_t)k * sizeof *top);
	if (!top)
		return 0;
	/* The k best peaks, kept sorted by score (highest first); ties keep the earlier position, as TopKV2 does. */
	int n = 0;
	for (int y = 0; y < h; y++) {
		for (int x = 0; x < w; x++) {
			const float *cell = heat + ((size_t)y * (size_t)w + (size_t)x) * (size_t)nc;
			for (int c = 0; c < nc; c++) {
				float v = cell[c];
				if (!(v >= threshold) || (n == k && !(v > top[k - 1].score)))
					continue;
				if (!is_peak(heat, h, w, nc, y, x, c, v))
					continue;
				int pos = n < k ? n : k - 1;
				while (pos > 0 && top[pos - 1].score < v) {
					top[pos] = top[pos - 1];
					pos--;
				}
				top[pos] = (peak){ v, y, x, c };
				if (n < k)
					n++;
			}
		}
	}
	float sx = p->in_w / (float)w, sy = p->in_h / (float)h;
	float scale = p->size_scale > 0 ? p->size_scale : 1.0f;
	vg_detection *cand = malloc((size_t)(n > 0 ? n : 1) * sizeof *cand);
	if (!cand) {
		free(top);
		return 0;
	}
	for (int i = 0; i < n; i++) {
		const float *b = box + ((size_t)top[i].y * (size_t)w + (size_t)top[i].x) * 4;
		float cx = ((float)top[i].x + p->center_offset) * sx, cy = ((float)top[i].y + p->center_offset) * sy;
		vg_detection *d = &cand[i];
		memset(d, 0, sizeof *d);
		d->x0 = clip01((cx - b[0] * scale) / p->in_w);
		d->y0 = clip01((cy - b[1] * scale) / p->in_h);
		d->x1 = clip01((cx + b[2] * scale) / p->in_w);
		d->y1 = clip01((cy + b[3] * scale) / p->in_h);
		d->class_id = top[i].c;
		d->score = top[i].score;
	}
	free(top);
	int kept = p->iou_threshold > 0 ? vg_nms(cand, n, p->iou_threshold, p->per_class_nms, max) : (n < max ? n : max);
	memcpy(out, cand, (size_t)kept * sizeof *out);
	free(cand);
	return kept;
}
