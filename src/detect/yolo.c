/*
 * Decoders of the YOLO family and its neighbours (see yolo.h). Every one
 * gathers candidates above the threshold into a bounded pool, then applies
 * NMS and keeps the best.
 */
#include "detect/yolo.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detect/nms.h"

/* More candidates than this before NMS are trimmed to the better half: the weakest would not survive anyway. */
#define POOL_CAP 4096

typedef struct pool {
	vg_detection *d;
	int n;
} pool;

static float clip01(float v)
{
	return v < 0 ? 0 : v > 1 ? 1 : v;
}

static float sigm(float v)
{
	return 1.0f / (1.0f + expf(-v));
}

static int by_score_desc(const void *pa, const void *pb)
{
	const vg_detection *a = pa, *b = pb;
	return (a->score < b->score) - (a->score > b->score);
}

static int pool_init(pool *p)
{
	p->n = 0;
	p->d = malloc(POOL_CAP * sizeof *p->d);
	return p->d ? 0 : -1;
}

/* Adds a box given in normalised corners. */
static void pool_add(pool *p, float x0, float y0, float x1, float y1, int cls, float score)
{
	if (p->n == POOL_CAP) {
		qsort(p->d, (size_t)p->n, sizeof *p->d, by_score_desc);
		p->n = POOL_CAP / 2;
	}
	vg_detection *d = &p->d[p->n++];
	memset(d, 0, sizeof *d);
	d->x0 = clip01(x0);
	d->y0 = clip01(y0);
	d->x1 = clip01(x1);
	d->y1 = clip01(y1);
	d->class_id = cls;
	d->score = score;
}

static int pool_finish(pool *p, float iou, int per_class, vg_detection *out, int max)
{
	int kept;
	if (iou > 0) {
		kept = vg_nms(p->d, p->n, iou, per_class, max);
	} else {
		qsort(p->d, (size_t)p->n, sizeof *p->d, by_score_desc);
		kept = p->n < max ? p->n : max;
	}
	memcpy(out, p->d, (size_t)kept * sizeof *out);
	free(p->d);
	return kept;
}

/* The best of n class values at data[k * step], and its index. */
static int best_class(const float *data, int n, long step, float *best)
{
	int bi = 0;
	float b = data[0];
	for (int c = 1; c < n; c++) {
		float v = data[(long)c * step];
		if (v > b) {
			b = v;
			bi = c;
		}
	}
	*best = b;
	return bi;
}

int vg_decode_yolox(const float *rows, int n, const int *strides, int n_strides, const vg_yolo_params *p,
		    float threshold, vg_detection *out, int max)
{
	int nc = p->num_classes, w = 5 + nc;
	if (nc < 1 || max <= 0 || !(p->in_w > 0) || !(p->in_h > 0))
		return -1;
	long total = 0;
	for (int s = 0; s < n_strides; s++) {
		if (strides[s] <= 0)
			return -1;
		total += (long)((int)ceilf(p->in_w / (float)strides[s])) * (int)ceilf(p->in_h / (float)strides[s]);
	}
	if (total != n)
		return -1;
	pool pl;
	if (pool_init(&pl) < 0)
		return 0;
	const float *r = rows;
	for (int s = 0; s < n_strides; s++) {
		float st = (float)strides[s];
		int gw = (int)ceilf(p->in_w / st), gh = (int)ceilf(p->in_h / st);
		for (int j = 0; j < gh; j++) {
			for (int i = 0; i < gw; i++, r += w) {
				float obj = p->sigmoid ? sigm(r[4]) : r[4];
				if (!(obj >= threshold))
					continue; /* objectness x a class at most 1 cannot reach it */
				float cs;
				int c = best_class(r + 5, nc, 1, &cs);
				float score = obj * (p->sigmoid ? sigm(cs) : cs);
				if (!(score >= threshold))
					continue;
				float cx = (r[0] + (float)i) * st, cy = (r[1] + (float)j) * st;
				float bw = expf(r[2]) * st, bh = expf(r[3]) * st;
				pool_add(&pl, (cx - bw / 2) / p->in_w, (cy - bh / 2) / p->in_h, (cx + bw / 2) / p->in_w,
					 (cy + bh / 2) / p->in_h, c, score);
			}
		}
	}
	return pool_finish(&pl, p->iou_threshold, p->per_class_nms, out, max);
}

int vg_decode_yolo_boxes(const float *data, int n, long row_step, long attr_step, int objectness,
			 const vg_yolo_params *p, float threshold, vg_detection *out, int max)
{
	int nc = p->num_classes, first = objectness ? 5 : 4;
	if (nc < 1 || n < 0 || max <= 0 || !(p->in_w > 0) || !(p->in_h > 0))
		return -1;
	pool pl;
	if (pool_init(&pl) < 0)
		return 0;
	float sx = p->normalized ? 1 : 1 / p->in_w, sy = p->normalized ? 1 : 1 / p->in_h;
	for (int i = 0; i < n; i++) {
		const float *b = data + (long)i * row_step;
		float obj = 1;
		if (objectness) {
			obj = p->sigmoid ? sigm(b[4 * attr_step]) : b[4 * attr_step];
			if (!(obj >= threshold))
				continue;
		}
		float cs;
		int c = best_class(b + (long)first * attr_step, nc, attr_step, &cs);
		float score = obj * (p->sigmoid ? sigm(cs) : cs);
		if (!(score >= threshold))
			continue;
		float cx = b[0] * sx, cy = b[attr_step] * sy, bw = b[2 * attr_step] * sx, bh = b[3 * attr_step] * sy;
		pool_add(&pl, cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2, c, score);
	}
	return pool_finish(&pl, p->iou_threshold, p->per_class_nms, out, max);
}

int vg_yolo_boxes_normalized(const float *data, int n, long row_step, long attr_step)
{
	int lim = n < 2000 ? n : 2000;
	for (int i = 0; i < lim; i++)
		for (int k = 0; k < 4; k++) {
			float v = data[(long)i * row_step + k * attr_step];
			if (!(v >= -0.1f && v <= 1.5f))
				return 0;
		}
	return lim > 0;
}

const float vg_fastestv2_coco_anchors[2][3][2] = {
	{ { 12.64f, 19.39f }, { 37.88f, 51.48f }, { 55.71f, 138.31f } },
	{ { 126.91f, 78.23f }, { 131.57f, 214.55f }, { 279.92f, 258.87f } },
};

int vg_decode_fastestv2(const vg_fastestv2_level *levels, int n_levels, const vg_yolo_params *p, float threshold,
			vg_detection *out, int max)
{
	int nc = p->num_classes;
	if (nc < 1 || max <= 0 || !(p->in_w > 0) || !(p->in_h > 0))
		return -1;
	pool pl;
	if (pool_init(&pl) < 0)
		return 0;
	for (int l = 0; l < n_levels; l++) {
		const vg_fastestv2_level *lv = &levels[l];
		if (lv->n_anchors < 1 || lv->n_anchors > 4 || lv->width < 1 || lv->height < 1) {
			free(pl.d);
			return -1;
		}
		long plane = (long)lv->width * lv->height;
		/* The original takes the input height over the grid height as the stride of both axes. */
		float stride = p->in_h / (float)lv->height;
		for (int j = 0; j < lv->height; j++) {
			for (int i = 0; i < lv->width; i++) {
				long at = (long)j * lv->width + i;
				float cls_p = -1;
				int cls = 0;
				for (int a = 0; a < lv->n_anchors; a++) {
					float obj = sigm(lv->obj[a * plane + at]);
					if (!(obj >= threshold))
						continue;
					if (cls_p < 0) {
						/* Softmax over the classes, once per cell: only its best value matters. */
						float m;
						cls = best_class(lv->cls + at, nc, plane, &m);
						float sum = 0;
						for (int c = 0; c < nc; c++)
							sum += expf(lv->cls[c * plane + at] - m);
						cls_p = 1 / sum;
					}
					float score = obj * cls_p;
					if (!(score >= threshold))
						continue;
					const float *r = lv->reg + (long)a * 4 * plane + at;
					float cx = (sigm(r[0]) * 2 - 0.5f + (float)i) * stride;
					float cy = (sigm(r[plane]) * 2 - 0.5f + (float)j) * stride;
					float bw = sigm(r[2 * plane]) * 2, bh = sigm(r[3 * plane]) * 2;
					bw = bw * bw * lv->anchors[a][0];
					bh = bh * bh * lv->anchors[a][1];
					pool_add(&pl, (cx - bw / 2) / p->in_w, (cy - bh / 2) / p->in_h,
						 (cx + bw / 2) / p->in_w, (cy + bh / 2) / p->in_h, cls, score);
				}
			}
		}
	}
	return pool_finish(&pl, p->iou_threshold, p->per_class_nms, out, max);
}

int vg_ultraface_priors(int in_w, int in_h, float *priors, int max)
{
	static const int strides[4] = { 8, 16, 32, 64 };
	static const int n_boxes[4] = { 3, 2, 2, 3 };
	static const float boxes[4][3] = { { 10, 16, 24 }, { 32, 48, 0 }, { 64, 96, 0 }, { 128, 192, 256 } };
	if (in_w <= 0 || in_h <= 0)
		return -1;
	int n = 0;
	for (int s = 0; s < 4; s++) {
		int fw = (in_w + strides[s] - 1) / strides[s], fh = (in_h + strides[s] - 1) / strides[s];
		for (int j = 0; j < fh; j++)
			for (int i = 0; i < fw; i++)
				for (int b = 0; b < n_boxes[s]; b++, n++) {
					if (!priors || n >= max)
						continue;
					float *o = priors + (size_t)n * 4;
					o[0] = clip01(((float)i + 0.5f) / (float)fw);
					o[1] = clip01(((float)j + 0.5f) / (float)fh);
					o[2] = clip01(boxes[s][b] / (float)in_w);
					o[3] = clip01(boxes[s][b] / (float)in_h);
				}
	}
	return n;
}

int vg_ultraface_boxes_are_corners(const float *boxes, int n)
{
	int bad = 0;
	for (int i = 0; i < n; i++) {
		const float *b = boxes + (size_t)i * 4;
		if (!(b[2] >= b[0]) || !(b[3] >= b[1]))
			bad++;
	}
	return n > 0 && bad * 100 <= n;
}

int vg_decode_ultraface(const float *scores, const float *boxes, int n, const float *priors, int raw,
			float iou_threshold, float threshold, vg_detection *out, int max)
{
	if (n < 0 || max <= 0 || (raw && !priors))
		return -1;
	pool pl;
	if (pool_init(&pl) < 0)
		return 0;
	for (int i = 0; i < n; i++) {
		float s = scores[(size_t)i * 2 + 1];
		if (!(s >= threshold))
			continue;
		const float *b = boxes + (size_t)i * 4;
		if (raw) {
			const float *pr = priors + (size_t)i * 4;
			float cx = b[0] * 0.1f * pr[2] + pr[0], cy = b[1] * 0.1f * pr[3] + pr[1];
			float w = expf(b[2] * 0.2f) * pr[2], h = expf(b[3] * 0.2f) * pr[3];
			pool_add(&pl, cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, 0, s);
		} else {
			pool_add(&pl, b[0], b[1], b[2], b[3], 0, s);
		}
	}
	return pool_finish(&pl, iou_threshold, 0, out, max);
}

static int whole(float v)
{
	return v == floorf(v) && v >= 0 && v < 100000;
}

int vg_nms_rows_detect(const float *rows, int k, int width, vg_nms_rows_layout *out)
{
	memset(out, 0, sizeof *out);
	if ((width != 6 && width != 7) || k < 1)
		return -1;
	out->width = width;
	if (width == 6) {
		out->box = 0;
		out->score = 4;
		out->cls = 5;
	} else {
		out->box = 1;
		int class_then_score = 1;
		for (int i = 0; i < k; i++) {
			const float *r = rows + (size_t)i * 7;
			if (!whole(r[5]) || !(r[6] >= 0 && r[6] <= 1))
				class_then_score = 0;
		}
		out->cls = class_then_score ? 5 : 6;
		out->score = class_then_score ? 6 : 5;
	}
	int norm = 1;
	for (int i = 0; i < k; i++)
		for (int c = 0; c < 4; c++) {
			float v = rows[(size_t)i * (size_t)width + (size_t)(out->box + c)];
			if (!(v >= -0.1f && v <= 1.5f))
				norm = 0;
		}
	out->normalized = norm;
	return 0;
}

int vg_decode_nms_rows(const float *rows, int k, const vg_nms_rows_layout *l, float in_w, float in_h,
		       float threshold, vg_detection *out, int max)
{
	if (k < 0 || max <= 0 || !(in_w > 0) || !(in_h > 0))
		return -1;
	float sx = l->normalized ? 1 : 1 / in_w, sy = l->normalized ? 1 : 1 / in_h;
	int n = 0;
	for (int i = 0; i < k && n < max; i++) {
		const float *r = rows + (size_t)i * (size_t)l->width;
		float s = r[l->score];
		if (!(s >= threshold))
			continue;
		const float *b = r + l->box;
		vg_detection *d = &out[n++];
		memset(d, 0, sizeof *d);
		d->x0 = clip01(fminf(b[0], b[2]) * sx);
		d->y0 = clip01(fminf(b[1], b[3]) * sy);
		d->x1 = clip01(fmaxf(b[0], b[2]) * sx);
		d->y1 = clip01(fmaxf(b[1], b[3]) * sy);
		float c = r[l->cls];
		d->class_id = c >= 0 && c < 100000 ? (int)lrintf(c) : 0;
		d->score = s;
	}
	return n;
}
