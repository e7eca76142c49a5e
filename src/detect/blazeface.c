/*
 * BlazeFace-style SSD decoding as MediaPipe defines it: anchors from
 * SsdAnchorsCalculator (fixed anchor size), boxes and keypoints regressed in
 * input pixels relative to the anchor centres, sigmoid scores with clipping,
 * and weighted non-maximum suppression (overlapping detections averaged by
 * score rather than dropped).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detect/decode.h"
#include "detect/nms.h"

int vg_anchors_grids(const vg_anchor_config *cfg, int *counts, int *strides, int max)
{
	if (cfg->n_layers <= 0 || cfg->n_layers > VG_ANCHOR_MAX_LAYERS || cfg->anchors_per_layer <= 0 ||
	    cfg->input_w <= 0 || cfg->input_h <= 0)
		return -1;
	int grids = 0;
	for (int l = 0; l < cfg->n_layers;) {
		int stride = cfg->strides[l];
		if (stride <= 0)
			return -1;
		int per_cell = 0, last = l;
		while (last < cfg->n_layers && cfg->strides[last] == stride) {
			per_cell += cfg->anchors_per_layer;
			last++;
		}
		int gw = (cfg->input_w + stride - 1) / stride, gh = (cfg->input_h + stride - 1) / stride;
		if (grids < max) {
			if (counts)
				counts[grids] = gw * gh * per_cell;
			if (strides)
				strides[grids] = stride;
		}
		grids++;
		l = last;
	}
	return grids;
}

int vg_anchors_generate(const vg_anchor_config *cfg, float *xy, int max)
{
	if (vg_anchors_grids(cfg, NULL, NULL, 0) < 0)
		return -1;
	int n = 0;
	for (int l = 0; l < cfg->n_layers;) {
		int stride = cfg->strides[l];
		int per_cell = 0, last = l;
		while (last < cfg->n_layers && cfg->strides[last] == stride) {
			per_cell += cfg->anchors_per_layer;
			last++;
		}
		int gw = (cfg->input_w + stride - 1) / stride, gh = (cfg->input_h + stride - 1) / stride;
		for (int y = 0; y < gh; y++) {
			for (int x = 0; x < gw; x++) {
				for (int a = 0; a < per_cell; a++, n++) {
					if (!xy || n >= max)
						continue;
					xy[n * 2 + 0] = ((float)x + cfg->offset) / (float)gw;
					xy[n * 2 + 1] = ((float)y + cfg->offset) / (float)gh;
				}
			}
		}
		l = last;
	}
	return n;
}

static int by_score_desc(const void *pa, const void *pb)
{
	const vg_detection *a = pa, *b = pb;
	return (a->score < b->score) - (a->score > b->score);
}

static float clip01(float v)
{
	return v < 0 ? 0 : v > 1 ? 1 : v;
}

int vg_decode_blazeface(const float *boxes, const float *scores, const vg_blazeface_params *p, float threshold,
			vg_detection *out, int max)
{
	int nk = p->num_keypoints < VG_MAX_KEYPOINTS ? p->num_keypoints : VG_MAX_KEYPOINTS;
	if (p->n <= 0 || max <= 0 || p->coords < 4 + 2 * (nk > 0 ? nk : 0) || !(p->x_scale > 0) ||
	    !(p->y_scale > 0) || !(p->w_scale > 0) || !(p->h_scale > 0))
		return 0;
	if (nk < 0)
		nk = 0;
	float clip = p->score_clip > 0 ? p->score_clip : INFINITY;
	/* Candidates above threshold; faces are few, so the cap only guards against a degenerate model. */
	int cap = p->n < 1024 ? p->n : 1024, count = 0;
	vg_detection *cand = malloc((size_t)cap * sizeof *cand);
	if (!cand)
		return 0;
	for (int i = 0; i < p->n && count < cap; i++) {
		float logit = scores[i];
		logit = logit < -clip ? -clip : logit > clip ? clip : logit;
		float score = 1.0f / (1.0f + expf(-logit));
		if (!(score >= threshold))
			continue;
		const float *r = boxes + (size_t)i * (size_t)p->coords;
		float ax = p->anchors[i * 2], ay = p->anchors[i * 2 + 1];
		float cx = r[0] / p->x_scale + ax, cy = r[1] / p->y_scale + ay;
		float w = r[2] / p->w_scale, h = r[3] / p->h_scale;
		vg_detection *f = &cand[count++];
		memset(f, 0, sizeof *f);
		f->x0 = cx - w / 2;
		f->y0 = cy - h / 2;
		f->x1 = cx + w / 2;
		f->y1 = cy + h / 2;
		f->score = score;
		f->n_keypoints = nk;
		for (int k = 0; k < nk; k++) {
			f->keypoints[k].x = r[4 + 2 * k] / p->x_scale + ax;
			f->keypoints[k].y = r[4 + 2 * k + 1] / p->y_scale + ay;
			f->keypoints[k].score = 1;
		}
	}
	qsort(cand, (size_t)count, sizeof *cand, by_score_desc);
	int kept = 0;
	/* Each round takes the best remaining face and every remaining one overlapping it (itself included). */
	char *used = calloc((size_t)(count > 0 ? count : 1), 1);
	if (!used) {
		free(cand);
		return 0;
	}
	for (int i = 0; i < count && kept < max; i++) {
		if (used[i])
			continue;
		vg_detection best = cand[i];
		float total = 0, x0 = 0, y0 = 0, x1 = 0, y1 = 0, kxy[VG_MAX_KEYPOINTS][2] = { { 0 } };
		for (int j = i; j < count; j++) {
			if (used[j] || (j != i && !(vg_iou(&cand[i], &cand[j]) > p->iou_threshold)))
				continue;
			used[j] = 1;
			if (!p->weighted && j != i)
				continue;
			float s = cand[j].score;
			total += s;
			x0 += s * cand[j].x0;
			y0 += s * cand[j].y0;
			x1 += s * cand[j].x1;
			y1 += s * cand[j].y1;
			for (int k = 0; k < nk; k++) {
				kxy[k][0] += s * cand[j].keypoints[k].x;
				kxy[k][1] += s * cand[j].keypoints[k].y;
			}
		}
		if (total > 0) {
			best.x0 = x0 / total;
			best.y0 = y0 / total;
			best.x1 = x1 / total;
			best.y1 = y1 / total;
			for (int k = 0; k < nk; k++) {
				best.keypoints[k].x = kxy[k][0] / total;
				best.keypoints[k].y = kxy[k][1] / total;
			}
		}
		best.x0 = clip01(best.x0);
		best.y0 = clip01(best.y0);
		best.x1 = clip01(best.x1);
		best.y1 = clip01(best.y1);
		out[kept++] = best;
	}
	free(used);
	free(cand);
	return kept;
}
