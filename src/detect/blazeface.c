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

void vg_anchor_config_mediapipe(vg_anchor_config *cfg)
{
	cfg->min_scale = 0.1484375f;
	cfg->max_scale = 0.75f;
	cfg->n_aspect_ratios = 1;
	cfg->aspect_ratios[0] = 1.0f;
	cfg->interpolated_scale_aspect_ratio = 1.0f;
	cfg->offset_x = cfg->offset_y = 0.5f;
	cfg->fixed_anchor_size = 1;
	cfg->reduce_boxes_in_lowest_layer = 0;
}

static int config_valid(const vg_anchor_config *cfg)
{
	if (cfg->n_layers <= 0 || cfg->n_layers > VG_ANCHOR_MAX_LAYERS || cfg->input_w <= 0 || cfg->input_h <= 0 ||
	    cfg->n_aspect_ratios < 0 || cfg->n_aspect_ratios > VG_ANCHOR_MAX_RATIOS)
		return 0;
	for (int l = 0; l < cfg->n_layers; l++)
		if (cfg->strides[l] <= 0)
			return 0;
	for (int a = 0; a < cfg->n_aspect_ratios; a++)
		if (!(cfg->aspect_ratios[a] > 0))
			return 0;
	return 1;
}

/* The layer after the run of layers sharing layer's stride. */
static int run_end(const vg_anchor_config *cfg, int layer)
{
	int last = layer;
	while (last < cfg->n_layers && cfg->strides[last] == cfg->strides[layer])
		last++;
	return last;
}

static float layer_scale(const vg_anchor_config *cfg, int layer)
{
	if (cfg->n_layers == 1)
		return (cfg->min_scale + cfg->max_scale) * 0.5f;
	return cfg->min_scale + (cfg->max_scale - cfg->min_scale) * (float)layer / ((float)cfg->n_layers - 1.0f);
}

/*
 * The anchor sizes of one cell of the stride run starting at layer: w and h
 * (either may be NULL), up to max. Returns the count.
 */
static int cell_anchors(const vg_anchor_config *cfg, int layer, float *w, float *h, int max)
{
	int n = 0;
	for (int l = layer; l < run_end(cfg, layer); l++) {
		float scale = layer_scale(cfg, l);
		float sizes[VG_ANCHOR_MAX_RATIOS + 3][2];
		int k = 0;
		if (l == 0 && cfg->reduce_boxes_in_lowest_layer) {
			const float ratios[3] = { 1.0f, 2.0f, 0.5f }, scales[3] = { 0.1f, scale, scale };
			for (int i = 0; i < 3; i++, k++) {
				sizes[k][0] = scales[i] * sqrtf(ratios[i]);
				sizes[k][1] = scales[i] / sqrtf(ratios[i]);
			}
		} else {
			for (int i = 0; i < cfg->n_aspect_ratios; i++, k++) {
				sizes[k][0] = scale * sqrtf(cfg->aspect_ratios[i]);
				sizes[k][1] = scale / sqrtf(cfg->aspect_ratios[i]);
			}
			if (cfg->interpolated_scale_aspect_ratio > 0) {
				float next = l == cfg->n_layers - 1 ? 1.0f : layer_scale(cfg, l + 1);
				float s = sqrtf(scale * next), r = sqrtf(cfg->interpolated_scale_aspect_ratio);
				sizes[k][0] = s * r;
				sizes[k][1] = s / r;
				k++;
			}
		}
		for (int i = 0; i < k; i++, n++) {
			if (n >= max)
				continue;
			if (w)
				w[n] = sizes[i][0];
			if (h)
				h[n] = sizes[i][1];
		}
	}
	return n;
}

int vg_anchors_per_cell(const vg_anchor_config *cfg, int layer)
{
	if (!config_valid(cfg) || layer < 0 || layer >= cfg->n_layers)
		return -1;
	return cell_anchors(cfg, layer, NULL, NULL, 0);
}

int vg_anchors_grids(const vg_anchor_config *cfg, int *counts, int *strides, int max)
{
	if (!config_valid(cfg))
		return -1;
	int grids = 0;
	for (int l = 0; l < cfg->n_layers; l = run_end(cfg, l)) {
		int stride = cfg->strides[l];
		int per_cell = cell_anchors(cfg, l, NULL, NULL, 0);
		int gw = (cfg->input_w + stride - 1) / stride, gh = (cfg->input_h + stride - 1) / stride;
		if (per_cell <= 0)
			return -1;
		if (grids < max) {
			if (counts)
				counts[grids] = gw * gh * per_cell;
			if (strides)
				strides[grids] = stride;
		}
		grids++;
	}
	return grids;
}

int vg_anchors_generate(const vg_anchor_config *cfg, float *anchors, int max)
{
	if (vg_anchors_grids(cfg, NULL, NULL, 0) < 0)
		return -1;
	int n = 0;
	for (int l = 0; l < cfg->n_layers; l = run_end(cfg, l)) {
		int stride = cfg->strides[l];
		float w[VG_ANCHOR_MAX_LAYERS * (VG_ANCHOR_MAX_RATIOS + 3)], h[VG_ANCHOR_MAX_LAYERS * (VG_ANCHOR_MAX_RATIOS + 3)];
		int per_cell = cell_anchors(cfg, l, w, h, (int)(sizeof w / sizeof w[0]));
		int gw = (cfg->input_w + stride - 1) / stride, gh = (cfg->input_h + stride - 1) / stride;
		for (int y = 0; y < gh; y++) {
			for (int x = 0; x < gw; x++) {
				for (int a = 0; a < per_cell; a++, n++) {
					if (!anchors || n >= max)
						continue;
					float *o = anchors + (size_t)n * 4;
					o[0] = ((float)x + cfg->offset_x) / (float)gw;
					o[1] = ((float)y + cfg->offset_y) / (float)gh;
					o[2] = cfg->fixed_anchor_size ? 1.0f : w[a];
					o[3] = cfg->fixed_anchor_size ? 1.0f : h[a];
				}
			}
		}
	}
	return n;
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
	/* Candidates at or above threshold, in anchor order; counted first, as most frames have a handful. */
	int cap = 0, count = 0;
	for (int i = 0; i < p->n; i++) {
		float logit = scores[i] < -clip ? -clip : scores[i] > clip ? clip : scores[i];
		cap += 1.0f / (1.0f + expf(-logit)) >= threshold;
	}
	if (cap == 0)
		return 0;
	vg_detection *cand = malloc((size_t)cap * sizeof *cand);
	if (!cand)
		return 0;
	for (int i = 0; i < p->n && count < cap; i++) {
		float logit = scores[i] < -clip ? -clip : scores[i] > clip ? clip : scores[i];
		float score = 1.0f / (1.0f + expf(-logit));
		if (!(score >= threshold))
			continue;
		const float *r = boxes + (size_t)i * (size_t)p->coords;
		const float *a = p->anchors + (size_t)i * 4;
		float cx = r[0] / p->x_scale * a[2] + a[0], cy = r[1] / p->y_scale * a[3] + a[1];
		float w = r[2] / p->w_scale * a[2], h = r[3] / p->h_scale * a[3];
		vg_detection *f = &cand[count++];
		memset(f, 0, sizeof *f);
		f->x0 = cx - w / 2;
		f->y0 = cy - h / 2;
		f->x1 = cx + w / 2;
		f->y1 = cy + h / 2;
		f->score = score;
		f->n_keypoints = nk;
		for (int k = 0; k < nk; k++) {
			f->keypoints[k].x = r[4 + 2 * k] / p->x_scale * a[2] + a[0];
			f->keypoints[k].y = r[4 + 2 * k + 1] / p->y_scale * a[3] + a[1];
			f->keypoints[k].score = 1;
		}
	}
	int kept = p->weighted ? vg_nms_weighted(cand, count, p->iou_threshold, max)
			       : vg_nms(cand, count, p->iou_threshold, 0, max);
	for (int i = 0; i < kept; i++) {
		out[i] = cand[i];
		out[i].x0 = clip01(out[i].x0);
		out[i].y0 = clip01(out[i].y0);
		out[i].x1 = clip01(out[i].x1);
		out[i].y1 = clip01(out[i].y1);
	}
	free(cand);
	return kept;
}
