#include "detect/segment.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "detect/model_config.h"

/* Automatic choice: at most this many classes (more looks like a feature map). */
#define AUTO_MAX_CLASSES 32

static int is_int_type(nn_dtype t)
{
	return t == NN_I32 || t == NN_I64;
}

/* Scores: float, or quantized (the detector dequantizes them, which keeps their order). */
static int is_score_type(nn_dtype t)
{
	return t == NN_F32 || t == NN_U8 || t == NN_I8;
}

/* Whether w x h has the input's aspect ratio within 2%. */
static int same_aspect(int w, int h, int in_w, int in_h)
{
	if (w <= 0 || h <= 0 || in_w <= 0 || in_h <= 0)
		return 0;
	double a = (double)w / h, b = (double)in_w / in_h;
	return fabs(a / b - 1.0) <= 0.02;
}

/* One output against the rules of vg_segment_bind: 1 and b when it qualifies. */
static int bind_one(const nn_tensor *t, int in_w, int in_h, int automatic, vg_seg_binding *b)
{
	if (t->shape[0] != 1)
		return 0;
	if (automatic) {
		if (t->rank != 4 || !is_score_type(t->dtype))
			return 0;
		int nchw = t->shape[2] == in_h && t->shape[3] == in_w && t->shape[1] >= 2 &&
			   t->shape[1] <= AUTO_MAX_CLASSES;
		int nhwc = t->shape[1] == in_h && t->shape[2] == in_w && t->shape[3] >= 2 &&
			   t->shape[3] <= AUTO_MAX_CLASSES;
		if (nchw == nhwc)  /* neither, or both (a tiny square input): not unambiguous */
			return 0;
		/* Three channels of the input's size are more likely a picture (style transfer, denoising). */
		if ((nchw ? t->shape[1] : t->shape[3]) == 3)
			return 0;
		b->layout = nchw ? VG_SEG_NCHW : VG_SEG_NHWC;
		b->classes = nchw ? t->shape[1] : t->shape[3];
		b->height = in_h;
		b->width = in_w;
		return 1;
	}
	if (t->rank == 3) {
		if (!same_aspect(t->shape[2], t->shape[1], in_w, in_h))
			return 0;
		b->layout = VG_SEG_INDICES;
		b->classes = 0;
		b->height = t->shape[1];
		b->width = t->shape[2];
		return 1;
	}
	if (t->rank != 4)
		return 0;
	int nchw = same_aspect(t->shape[3], t->shape[2], in_w, in_h);
	int nhwc = same_aspect(t->shape[2], t->shape[1], in_w, in_h);
	if (nchw && nhwc) {
		/* Both fit (a square model's [1,C,S,S] and [1,S,S,C]): the channels are the shorter axis. */
		nchw = t->shape[1] < t->shape[3];
		nhwc = !nchw;
	}
	if (!nchw && !nhwc)
		return 0;
	int c = nchw ? t->shape[1] : t->shape[3];
	if (c < 1 || c > VG_SEG_MAX_CLASSES)
		return 0;
	b->height = nchw ? t->shape[2] : t->shape[1];
	b->width = nchw ? t->shape[3] : t->shape[2];
	if (c == 1) {
		/* One channel of integers is a map of class ids; one of floats says nothing of its classes. */
		if (!is_int_type(t->dtype))
			return 0;
		b->layout = VG_SEG_INDICES;
		b->classes = 0;
		return 1;
	}
	if (!is_score_type(t->dtype))
		return 0;
	b->layout = nchw ? VG_SEG_NCHW : VG_SEG_NHWC;
	b->classes = c;
	return 1;
}

int vg_segment_bind(const nn_tensor *const *outs, int n_outs, int in_w, int in_h, int automatic, vg_seg_binding *b,
		    char *reason, size_t reasonlen, char *why, size_t whylen)
{
	if (automatic && n_outs != 1) {
		snprintf(why, whylen, "chosen automatically only for a model of one output, this one has %d", n_outs);
		return 0;
	}
	for (int i = 0; i < n_outs; i++) {
		const nn_tensor *t = outs[i];
		if (t->rank < 1)
			continue;
		if (t->rank == 3 && !is_int_type(t->dtype))
			continue;
		vg_seg_binding x = { .output = i };
		if (!bind_one(t, in_w, in_h, automatic, &x))
			continue;
		*b = x;
		char s[128];
		nn_tensor_shape_str(t, s, sizeof s);
		if (x.layout == VG_SEG_INDICES)
			snprintf(reason, reasonlen, "output %d %s holds a class id per pixel (%dx%d) for a %dx%d input", i,
				 s, x.width, x.height, in_w, in_h);
		else
			snprintf(reason, reasonlen,
				 "output %d %s holds %d class scores per pixel, %s, %dx%d for a %dx%d input%s", i, s,
				 x.classes, x.layout == VG_SEG_NCHW ? "NCHW" : "NHWC", x.width, x.height, in_w, in_h,
				 automatic ? " (the input's own size, few channels: nothing but a segmentation gives that)"
					   : "");
		return 1;
	}
	if (automatic)
		snprintf(why, whylen,
			 "it needs one float output [1,C,H,W] or [1,H,W,C] of the input's size with 2 to %d classes "
			 "(not 3, which is more likely a picture)",
			 AUTO_MAX_CLASSES);
	else
		snprintf(why, whylen,
			 "it needs an output of per-pixel class scores (float or quantized) [1,C,H,W] or [1,H,W,C], "
			 "or class ids, int32/int64 [1,H,W], whose height and width have the input's aspect ratio (%dx%d)",
			 in_w, in_h);
	return 0;
}

int vg_seg_mask_init(vg_seg_mask *m, size_t capacity)
{
	memset(m, 0, sizeof *m);
	m->cls = malloc(capacity ? capacity : 1);
	if (!m->cls)
		return -1;
	m->capacity = capacity;
	return 0;
}

void vg_seg_mask_free(vg_seg_mask *m)
{
	free(m->cls);
	memset(m, 0, sizeof *m);
}

int vg_seg_mask_copy(vg_seg_mask *dst, const vg_seg_mask *src)
{
	size_t n = (size_t)src->w * (size_t)src->h;
	if (n > dst->capacity)
		return -1;
	memcpy(dst->cls, src->cls, n);
	dst->w = src->w;
	dst->h = src->h;
	dst->classes = src->classes;
	memcpy(dst->count, src->count, sizeof dst->count);
	return 0;
}

double vg_seg_mask_area(const vg_seg_mask *m, int c)
{
	if (m->w <= 0 || m->h <= 0 || c < 0 || c >= m->classes)
		return 0;
	return (double)m->count[c] / ((double)m->w * (double)m->h);
}

void vg_segment_crop(const vg_preprocess *pp, int out_w, int out_h, int *x0, int *y0, int *x1, int *y1)
{
	/* map_point is affine per axis: the frame's 0 and 1 in model units follow from two points. */
	float ax = 0, ay = 0, bx = 1, by = 1;
	vg_preprocess_map_point(pp, &ax, &ay);
	vg_preprocess_map_point(pp, &bx, &by);
	*x0 = 0;
	*y0 = 0;
	*x1 = out_w;
	*y1 = out_h;
	if (bx - ax > 0) {
		/* Frame 0 sits at model -a / (b - a), frame 1 at (1 - a) / (b - a). */
		double u0 = -ax / (bx - ax), u1 = (1.0 - ax) / (bx - ax);
		int c0 = (int)lround(u0 * out_w), c1 = (int)lround(u1 * out_w);
		*x0 = c0 < 0 ? 0 : c0 > out_w ? out_w : c0;
		*x1 = c1 < *x0 + 1 ? *x0 + 1 : c1 > out_w ? out_w : c1;
	}
	if (by - ay > 0) {
		double v0 = -ay / (by - ay), v1 = (1.0 - ay) / (by - ay);
		int r0 = (int)lround(v0 * out_h), r1 = (int)lround(v1 * out_h);
		*y0 = r0 < 0 ? 0 : r0 > out_h ? out_h : r0;
		*y1 = r1 < *y0 + 1 ? *y0 + 1 : r1 > out_h ? out_h : r1;
	}
	if (*x0 >= out_w)
		*x0 = out_w - 1;
	if (*y0 >= out_h)
		*y0 = out_h - 1;
	if (*x1 <= *x0)
		*x1 = *x0 + 1;
	if (*y1 <= *y0)
		*y1 = *y0 + 1;
}

int vg_segment_decode(const vg_seg_binding *b, const float *scores, const int64_t *ids64, const int32_t *ids32,
		      int x0, int y0, int x1, int y1, vg_seg_mask *m)
{
	m->w = m->h = 0;
	if (x0 < 0 || y0 < 0 || x1 > b->width || y1 > b->height || x1 <= x0 || y1 <= y0)
		return -1;
	size_t w = (size_t)(x1 - x0), h = (size_t)(y1 - y0);
	if (w * h > m->capacity)
		return -1;
	int classes = b->layout == VG_SEG_INDICES ? (b->classes > 0 ? b->classes : VG_SEG_MAX_CLASSES) : b->classes;
	if (classes < 1 || classes > VG_SEG_MAX_CLASSES)
		return -1;
	m->w = (int)w;
	m->h = (int)h;
	m->classes = classes;
	memset(m->count, 0, sizeof m->count);
	size_t W = (size_t)b->width, plane = (size_t)b->width * (size_t)b->height;
	for (size_t j = 0; j < h; j++) {
		uint8_t *row = m->cls + j * w;
		size_t y = (size_t)y0 + j;
		switch (b->layout) {
		case VG_SEG_NCHW: {
			/* Channel after channel over the row, so every read is sequential. */
			const float *s0 = scores + y * W + (size_t)x0;
			float best[4096];
			for (size_t i0 = 0; i0 < w; i0 += 4096) {
				size_t n = w - i0 < 4096 ? w - i0 : 4096;
				for (size_t i = 0; i < n; i++) {
					best[i] = s0[i0 + i];
					row[i0 + i] = 0;
				}
				for (int c = 1; c < classes; c++) {
					const float *s = s0 + (size_t)c * plane + i0;
					for (size_t i = 0; i < n; i++)
						if (s[i] > best[i]) {
							best[i] = s[i];
							row[i0 + i] = (uint8_t)c;
						}
				}
			}
			break;
		}
		case VG_SEG_NHWC: {
			const float *s = scores + (y * W + (size_t)x0) * (size_t)classes;
			for (size_t i = 0; i < w; i++, s += classes) {
				int arg = 0;
				float v = s[0];
				for (int c = 1; c < classes; c++)
					if (s[c] > v) {
						v = s[c];
						arg = c;
					}
				row[i] = (uint8_t)arg;
			}
			break;
		}
		case VG_SEG_INDICES: {
			size_t at = y * W + (size_t)x0;
			for (size_t i = 0; i < w; i++) {
				double v = ids64 ? (double)ids64[at + i] : ids32 ? (double)ids32[at + i] : (double)scores[at + i];
				row[i] = v >= 0 && v < classes ? (uint8_t)v : 0;
			}
			break;
		}
		}
		for (size_t i = 0; i < w; i++)
			m->count[row[i]]++;
	}
	return 0;
}

typedef struct {
	char *p;
	size_t cap, len;
	int over;
} json_buf;

static void jput(json_buf *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void jput(json_buf *o, const char *fmt, ...)
{
	if (o->over)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len)
		o->over = 1;
	else
		o->len += (size_t)n;
}

static void jstring(json_buf *o, const char *s)
{
	jput(o, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			jput(o, "\\%c", c);
		else if (c < 0x20)
			jput(o, "\\u%04x", c);
		else
			jput(o, "%c", c);
	}
	jput(o, "\"");
}

size_t vg_segment_json(const vg_seg_mask *m, const char *const *labels, int n_labels, char *dst, size_t cap)
{
	if (cap == 0)
		return 0;
	json_buf o = { dst, cap, 0, 0 };
	jput(&o, "{\"classes\":[");
	int first = 1;
	for (int c = 1; c < m->classes; c++) {
		if (m->classes > 8 && m->count[c] == 0)
			continue;
		jput(&o, "%s{\"label\":", first ? "" : ",");
		first = 0;
		const char *name = labels && c < n_labels ? labels[c] : NULL;
		if (name) {
			jstring(&o, name);
		} else {
			char buf[24];
			snprintf(buf, sizeof buf, "class %d", c);
			jstring(&o, buf);
		}
		jput(&o, ",\"class_id\":%d,\"area\":%.4f}", c, vg_seg_mask_area(m, c));
	}
	jput(&o, "]}");
	return o.over ? 0 : o.len;
}

/* The last path component, less trailing slashes (a SavedModel is a folder), into buf. */
static const char *base_of(const char *model, char *buf, size_t len)
{
	size_t n = strlen(model);
	while (n > 1 && model[n - 1] == '/')
		n--;
	size_t s = n;
	while (s > 0 && model[s - 1] != '/')
		s--;
	snprintf(buf, len, "%.*s", (int)(n - s), model + s);
	return buf;
}

int vg_segment_builtin(vg_model_config *c, const char *model, const nn_tensor *input, char *note, size_t notelen)
{
	char base[256];
	if (!model)
		return 0;
	base_of(model, base, sizeof base);
	if (!strcasestr(base, "ppseg_lite_portrait") && !strcasestr(base, "humanseg"))
		return 0;
	int nhwc = input && input->rank == 4 && input->shape[1] == 224 && input->shape[2] == 398 && input->shape[3] == 3;
	int nchw = input && input->rank == 4 && input->shape[1] == 3 && input->shape[2] == 224 && input->shape[3] == 398;
	if (!input || input->dtype != NN_F32 || input->shape[0] > 1 || (!nhwc && !nchw)) {
		if (note)
			snprintf(note, notelen,
				 "%s: not the model vigil has built-in defaults for (expected a float32 input "
				 "[1,224,398,3] or [1,3,224,398]), so none are used",
				 base);
		return 0;
	}
	/*
	 * PaddleSeg's PP-HumanSeg portrait models are trained on RGB, normalised
	 * by mean 0.5 and std 0.5 of x / 255, and infer on the whole picture
	 * resized to 398x224. On golden/mediapipe_sergey.png RGB gives a mean
	 * winning probability of 0.985 against 0.85 for BGR.
	 */
	c->has_layout = 1;
	c->nchw = nchw;
	c->has_color = 1;
	c->bgr = 0;
	c->has_mean = c->has_std = c->has_resize = 1;
	for (int i = 0; i < 3; i++) {
		c->mean[i] = 127.5f;
		c->std[i] = 127.5f;
	}
	c->resize = VG_RESIZE_STRETCH;
	snprintf(c->decoder, sizeof c->decoder, "segmentation");
	snprintf(c->known_as, sizeof c->known_as, "PP-HumanSeg-Lite portrait segmentation");
	static const char *const names[] = { "background", "person" };
	c->label_names = calloc(2, sizeof *c->label_names);
	if (!c->label_names)
		return 0;
	for (int i = 0; i < 2; i++) {
		if (!(c->label_names[i] = strdup(names[i]))) {
			vg_model_config_free(c);
			return 0;
		}
		c->n_labels++;
	}
	snprintf(c->origin, sizeof c->origin, "built-in defaults for %s (%s)", c->known_as, base);
	return 1;
}
