/*
 * Caffe SSD's PriorBox and DetectionOutput layers, as OpenCV's DNN module
 * runs them for Caffe and TensorFlow SSDs such as OpenCV's face detector.
 * The arithmetic is in float in the same order as theirs, so that boxes
 * agree to the last few bits.
 */
#include "detect/decode.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The aspect ratios a layer's cells use after flipping: 1 and repeats skipped, each ratio then its inverse. */
static int layer_ratios(const vg_prior_layer *l, float *out)
{
	int n = 0;
	for (int i = 0; i < l->n_ratios && i < VG_PRIOR_MAX_RATIOS; i++) {
		float ar = l->aspect_ratios[i];
		int exists = fabsf(ar - 1.0f) < 1e-6f;
		for (int j = 0; j < n && !exists; j++)
			exists = fabsf(ar - out[j]) < 1e-6f;
		if (exists)
			continue;
		out[n++] = ar;
		if (l->flip)
			out[n++] = (float)(1.0 / ar);
	}
	return n;
}

int vg_prior_layer_per_cell(const vg_prior_layer *l)
{
	if (l->n_sizes < 1 || l->n_sizes > VG_PRIOR_MAX_SIZES || l->n_ratios < 0 || l->n_ratios > VG_PRIOR_MAX_RATIOS)
		return -1;
	float ratios[2 * VG_PRIOR_MAX_RATIOS];
	int per_size = 1 + layer_ratios(l, ratios) + (l->max_size[0] > 0 ? 1 : 0);
	return per_size * l->n_sizes;
}

static int fail(char *err, size_t errlen, const char *fmt, int layer, const char *what)
{
	if (err && errlen)
		snprintf(err, errlen, fmt, layer, what);
	return -1;
}

int vg_priors_generate(const vg_prior_config *cfg, int in_w, int in_h, float *priors, int max, char *err,
		       size_t errlen)
{
	if (cfg->n_layers < 1 || cfg->n_layers > VG_PRIOR_MAX_LAYERS)
		return fail(err, errlen, "%d prior layers: expected 1 to 12%s", cfg->n_layers, "");
	if (in_w < 1 || in_h < 1)
		return fail(err, errlen, "prior layer %d: %s", 0, "the input has no size");
	long total = 0;
	for (int li = 0; li < cfg->n_layers; li++) {
		const vg_prior_layer *l = &cfg->layers[li];
		int per_cell = vg_prior_layer_per_cell(l);
		if (per_cell < 0)
			return fail(err, errlen, "prior layer %d: %s", li, "needs 1 to 4 min sizes and at most 8 aspect ratios");
		for (int s = 0; s < l->n_sizes; s++) {
			if (!(l->min_size[s] > 0))
				return fail(err, errlen, "prior layer %d: %s", li, "min sizes must be above 0");
			if ((l->max_size[s] > 0) != (l->max_size[0] > 0) ||
			    (l->max_size[s] > 0 && !(l->max_size[s] > l->min_size[s])))
				return fail(err, errlen, "prior layer %d: %s", li,
					    "give one max size per min size, each larger than its min size, or none");
		}
		for (int r = 0; r < l->n_ratios; r++)
			if (!(l->aspect_ratios[r] > 0))
				return fail(err, errlen, "prior layer %d: %s", li, "aspect ratios must be above 0");
		int fw = l->feature_w, fh = l->feature_h;
		float sw = l->step_w, sh = l->step_h;
		if (fw <= 0 || fh <= 0) {
			if (!(sw > 0) || !(sh > 0))
				return fail(err, errlen, "prior layer %d: %s", li, "give its feature map size or its step");
			fw = (int)ceilf((float)in_w / sw);
			fh = (int)ceilf((float)in_h / sh);
		}
		if (fw > 4096 || fh > 4096)
			return fail(err, errlen, "prior layer %d: %s", li, "a feature map over 4096 cells a side");
		total += (long)fw * fh * per_cell;
		if (total > (1L << 22))
			return fail(err, errlen, "prior layer %d: %s", li, "more than 4M priors");
	}
	if (!priors)
		return (int)total;

	int at = 0;
	for (int li = 0; li < cfg->n_layers; li++) {
		const vg_prior_layer *l = &cfg->layers[li];
		float ratios[2 * VG_PRIOR_MAX_RATIOS];
		int n_ratios = layer_ratios(l, ratios);
		int fw = l->feature_w, fh = l->feature_h;
		float sw = l->step_w, sh = l->step_h;
		if (fw <= 0 || fh <= 0) {
			fw = (int)ceilf((float)in_w / sw);
			fh = (int)ceilf((float)in_h / sh);
		}
		/* OpenCV takes the input size over the grid size unless both steps are given. */
		if (!(sw > 0) || !(sh > 0)) {
			sw = (float)in_w / (float)fw;
			sh = (float)in_h / (float)fh;
		}
		/* Box sizes of one cell, in order. */
		float bw[VG_PRIOR_MAX_SIZES * (2 + 2 * VG_PRIOR_MAX_RATIOS)], bh[sizeof bw / sizeof bw[0]];
		int nb = 0;
		for (int s = 0; s < l->n_sizes; s++) {
			float mn = l->min_size[s];
			bw[nb] = bh[nb] = mn;
			nb++;
			if (l->max_size[s] > 0) {
				bw[nb] = bh[nb] = sqrtf(mn * l->max_size[s]);
				nb++;
			}
			for (int r = 0; r < n_ratios; r++) {
				float q = sqrtf(ratios[r]);
				bw[nb] = mn * q;
				bh[nb] = mn / q;
				nb++;
			}
		}
		for (int h = 0; h < fh; h++) {
			for (int w = 0; w < fw; w++) {
				float cx = ((float)w + l->offset) * sw, cy = ((float)h + l->offset) * sh;
				for (int b = 0; b < nb && at < max; b++, at++) {
					float *p = priors + (size_t)at * 4;
					p[0] = (cx - bw[b] * 0.5f) / (float)in_w;
					p[1] = (cy - bh[b] * 0.5f) / (float)in_h;
					p[2] = (cx + bw[b] * 0.5f) / (float)in_w;
					p[3] = (cy + bh[b] * 0.5f) / (float)in_h;
					if (cfg->clip)
						for (int k = 0; k < 4; k++)
							p[k] = p[k] < 0 ? 0 : p[k] > 1 ? 1 : p[k];
				}
			}
		}
	}
	return (int)total;
}

typedef struct scored {
	float score;
	int index;
} scored;

/* Best first; equal scores in prior order, as the stable sort of Caffe and OpenCV leaves them. */
static int by_score(const void *pa, const void *pb)
{
	const scored *a = pa, *b = pb;
	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	return (a->index > b->index) - (a->index < b->index);
}

typedef struct box {
	float x0, y0, x1, y1;
} box;

static box decode_one(const float *loc, const float *prior, const float var[4])
{
	float pw = prior[2] - prior[0], ph = prior[3] - prior[1];
	float pcx = (float)(prior[0] + pw * .5), pcy = (float)(prior[1] + ph * .5);
	float cx = var[0] * loc[0] * pw + pcx, cy = var[1] * loc[1] * ph + pcy;
	float w = expf(var[2] * loc[2]) * pw, h = expf(var[3] * loc[3]) * ph;
	box b = { (float)(cx - w * .5), (float)(cy - h * .5), (float)(cx + w * .5), (float)(cy + h * .5) };
	return b;
}

static float box_area(const box *b)
{
	return b->x1 < b->x0 || b->y1 < b->y0 ? 0 : (b->x1 - b->x0) * (b->y1 - b->y0);
}

/* Caffe's JaccardOverlap on normalised boxes. */
static float overlap(const box *a, const box *b)
{
	box i = { a->x0 > b->x0 ? a->x0 : b->x0, a->y0 > b->y0 ? a->y0 : b->y0, a->x1 < b->x1 ? a->x1 : b->x1,
		  a->y1 < b->y1 ? a->y1 : b->y1 };
	float inter = box_area(&i);
	if (!(inter > 0))
		return 0;
	return inter / (box_area(a) + box_area(b) - inter);
}

static float clip01(float v)
{
	return v < 0 ? 0 : v > 1 ? 1 : v;
}

int vg_decode_ssd_priorbox(const float *loc, const float *conf, const float *priors, int n,
			   const vg_detection_output_params *p, float threshold, vg_detection *out, int max)
{
	int nc = p->num_classes;
	if (n <= 0 || nc < 1 || max <= 0)
		return 0;
	int targets = nc - (p->background_label_id >= 0 && p->background_label_id < nc ? 1 : 0);
	int keep_top_k = p->keep_top_k > 0 ? p->keep_top_k : n;
	scored *cand = malloc((size_t)n * sizeof *cand);
	box *boxes = malloc((size_t)n * sizeof *boxes);
	char *decoded = calloc((size_t)n, 1);
	/* Kept detections over all classes: (score, class * n + prior). */
	size_t per_class = p->top_k > 0 && p->top_k < n ? (size_t)p->top_k : (size_t)n;
	size_t all_cap = per_class * (size_t)(targets > 0 ? targets : 1);
	scored *all = malloc(all_cap * sizeof *all);
	int *kept = malloc((size_t)n * sizeof *kept);
	int n_all = 0, count = 0;
	if (!cand || !boxes || !decoded || !all || !kept)
		goto done;
	for (int c = 0; c < nc; c++) {
		if (c == p->background_label_id)
			continue;
		int m = 0;
		for (int i = 0; i < n; i++) {
			float s = conf[(size_t)i * (size_t)nc + (size_t)c];
			if (s >= threshold)
				cand[m++] = (scored){ s, i };
		}
		qsort(cand, (size_t)m, sizeof *cand, by_score);
		if (p->top_k > 0 && m > p->top_k)
			m = p->top_k;
		int limit = targets == 1 ? keep_top_k : n;
		int n_kept = 0;
		for (int k = 0; k < m && n_kept < limit; k++) {
			int i = cand[k].index;
			if (!decoded[i]) {
				boxes[i] = decode_one(loc + (size_t)i * 4, priors + (size_t)i * 4, p->variances);
				decoded[i] = 1;
			}
			int keep = 1;
			for (int j = 0; j < n_kept && keep; j++)
				keep = overlap(&boxes[i], &boxes[kept[j]]) <= p->nms_threshold;
			if (!keep)
				continue;
			kept[n_kept++] = i;
			if ((size_t)n_all < all_cap)
				all[n_all++] = (scored){ cand[k].score, c * n + i };
		}
	}
	/* The best keep_top_k over all classes, best first (classes tie by class, then prior). */
	qsort(all, (size_t)n_all, sizeof *all, by_score);
	if (n_all > keep_top_k)
		n_all = keep_top_k;
	for (int k = 0; k < n_all && count < max; k++) {
		int c = all[k].index / n, i = all[k].index % n;
		box b = { clip01(boxes[i].x0), clip01(boxes[i].y0), clip01(boxes[i].x1), clip01(boxes[i].y1) };
		/* A box wholly outside the input (priors of coarse grids reach past it) is nothing to show. */
		if (!(b.x1 > b.x0 && b.y1 > b.y0))
			continue;
		vg_detection *d = &out[count++];
		memset(d, 0, sizeof *d);
		d->x0 = b.x0;
		d->y0 = b.y0;
		d->x1 = b.x1;
		d->y1 = b.y1;
		d->class_id = p->background_label_id >= 0 && c > p->background_label_id ? c - 1 : c;
		d->score = all[k].score;
	}
done:
	free(cand);
	free(boxes);
	free(decoded);
	free(all);
	free(kept);
	return count;
}
