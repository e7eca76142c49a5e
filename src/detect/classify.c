#include "detect/classify.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "detect/detector.h"
#include "detect/model_config.h"
#include "detect/preprocess.h"
#include "nn/nn.h"

#define MAX_CLASS_FILTER 64

struct vg_classifier {
	vg_classifier_options opt;
	char name[64];             /* the model's file name */
	nn_model *model;
	const nn_tensor *out;
	int n_classes;
	vg_preprocess *pre;
	vg_model_config cfg;
	float margin;
	vg_labels labels;
	int n_keep;
	int keep[MAX_CLASS_FILTER];
	char summary[768];
	const char *dump;          /* VIGIL_CLASSIFY_DUMP */
	uint64_t runs;
	int order[VG_MAX_DETECTIONS];
};

int vg_crop_rect_for(const vg_detection *d, int frame_w, int frame_h, float margin, vg_crop_rect *out)
{
	float bw = d->x1 - d->x0, bh = d->y1 - d->y0;
	if (!(bw > 0) || !(bh > 0) || frame_w < 2 || frame_h < 2)
		return -1;
	float x0 = d->x0 - margin * bw, x1 = d->x1 + margin * bw;
	float y0 = d->y0 - margin * bh, y1 = d->y1 + margin * bh;
	x0 = x0 < 0 ? 0 : x0 > 1 ? 1 : x0;
	x1 = x1 < 0 ? 0 : x1 > 1 ? 1 : x1;
	y0 = y0 < 0 ? 0 : y0 > 1 ? 1 : y0;
	y1 = y1 < 0 ? 0 : y1 > 1 ? 1 : y1;
	int left = (int)lroundf(x0 * (float)frame_w), right = (int)lroundf(x1 * (float)frame_w);
	int top = (int)lroundf(y0 * (float)frame_h), bottom = (int)lroundf(y1 * (float)frame_h);
	left &= ~1;
	top &= ~1;
	if (right > frame_w)
		right = frame_w;
	if (bottom > frame_h)
		bottom = frame_h;
	if (right - left < 2 || bottom - top < 2)
		return -1;
	*out = (vg_crop_rect){ left, top, right - left, bottom - top };
	return 0;
}

int vg_classify_select(const vg_detection *dets, int n, int frame_w, int frame_h, const int *keep, int n_keep,
		       int max, int *order)
{
	int count = 0;
	for (int i = 0; i < n; i++) {
		const vg_detection *d = &dets[i];
		if (d->whole_frame)
			continue;
		int wanted = n_keep == 0;
		for (int k = 0; k < n_keep && !wanted; k++)
			wanted = keep[k] == d->class_id;
		if (!wanted)
			continue;
		/* Insertion by area in pixels, largest first; equal areas keep detection order. */
		double area = (double)(d->x1 - d->x0) * frame_w * (double)(d->y1 - d->y0) * frame_h;
		int at = count;
		while (at > 0) {
			const vg_detection *p = &dets[order[at - 1]];
			double pa = (double)(p->x1 - p->x0) * frame_w * (double)(p->y1 - p->y0) * frame_h;
			if (pa >= area)
				break;
			at--;
		}
		if (at >= max)
			continue;
		int last = count < max ? count : max - 1;
		memmove(&order[at + 1], &order[at], (size_t)(last - at) * sizeof *order);
		order[at] = i;
		if (count < max)
			count++;
	}
	return count;
}

static int parse_classes(vg_classifier *c, const vg_labels *labels, char *err, size_t errlen)
{
	if (!c->opt.classes)
		return 0;
	int n = vg_labels_parse_classes(labels, c->opt.classes, "--classify-classes", "the detector",
					" (it has no labels; give class ids)", c->keep, MAX_CLASS_FILTER, err, errlen);
	if (n < 0)
		return -1;
	c->n_keep = n;
	return 0;
}

/* Built-in defaults for the model's name, then its sidecar over them. */
static int load_settings(vg_classifier *c, char *err, size_t errlen)
{
	char note[256];
	vg_model_config_builtin(&c->cfg, c->opt.model, nn_model_input(c->model, 0), note, sizeof note);
	const char *sidecar = c->opt.sidecar;
	char found[4096];
	if (sidecar && !strcmp(sidecar, "none"))
		return 0;
	if (!sidecar && vg_model_config_find_sidecar(c->opt.model, found, sizeof found))
		sidecar = found;
	if (!sidecar)
		return 0;
	vg_model_config side;
	if (vg_model_config_load(&side, sidecar, err, errlen) < 0)
		return -1;
	vg_model_config_overlay(&c->cfg, &side);
	return 0;
}

static int load_labels(vg_classifier *c, char *err, size_t errlen)
{
	if (c->cfg.labels_path)
		return vg_labels_load(&c->labels, c->cfg.labels_path, err, errlen);
	const char *const *names = NULL;
	int n = 0;
	if (c->cfg.label_names || c->cfg.labels_coco80) {
		names = c->cfg.labels_coco80 ? vg_coco80_labels : (const char *const *)c->cfg.label_names;
		n = c->cfg.labels_coco80 ? VG_COCO80_COUNT : c->cfg.n_labels;
	} else {
		names = nn_model_labels(c->model, &n);
	}
	if (names && n > 0 && vg_labels_from_list(&c->labels, names, n) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

int vg_classifier_create(vg_classifier **out, const vg_classifier_options *opt, const vg_labels *detector_labels,
			 char *err, size_t errlen)
{
	*out = NULL;
	vg_classifier *c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->opt = *opt;
	if (c->opt.max_crops <= 0)
		c->opt.max_crops = VG_CLASSIFY_DEFAULT_MAX;
	if (c->opt.max_crops > VG_MAX_DETECTIONS)
		c->opt.max_crops = VG_MAX_DETECTIONS;
	vg_model_config_init(&c->cfg);
	const char *slash = strrchr(opt->model, '/');
	snprintf(c->name, sizeof c->name, "%s", slash ? slash + 1 : opt->model);
	char why[512];
	/* A TensorFlow graph may leave its input size open: the classifier's sidecar can give it. */
	nn_load_options lo = { 0 };
	if (vg_model_config_input_size(opt->model, opt->sidecar, &lo.input_w, &lo.input_h, why, sizeof why) < 0 ||
	    nn_model_load_ex(&c->model, opt->model, &lo, why, sizeof why) < 0) {
		snprintf(err, errlen, "--classify: %s", why);
		goto fail;
	}
	nn_prepare_options po = { .threads = opt->threads > 0 ? opt->threads : 1 };
	if (nn_model_prepare(c->model, &po, why, sizeof why) < 0) {
		snprintf(err, errlen, "--classify: %s", why);
		goto fail;
	}
	if (nn_model_input_count(c->model) != 1 || nn_model_output_count(c->model) < 1) {
		snprintf(err, errlen, "--classify: %s: a classifier takes one image and gives class scores; it has %d "
			 "inputs and %d outputs", opt->model, nn_model_input_count(c->model), nn_model_output_count(c->model));
		goto fail;
	}
	c->out = nn_model_output(c->model, 0);
	int64_t n_out = nn_tensor_elements(c->out);
	if (c->out->rank < 1 || n_out != c->out->shape[c->out->rank - 1] || n_out < 2 ||
	    (c->out->dtype != NN_F32 && c->out->dtype != NN_U8 && c->out->dtype != NN_I8)) {
		snprintf(err, errlen, "--classify: %s: its first output '%s' is not one vector of class scores",
			 opt->model, c->out->name ? c->out->name : "?");
		goto fail;
	}
	c->n_classes = (int)n_out;
	if (load_settings(c, err, errlen) < 0 || load_labels(c, err, errlen) < 0)
		goto fail;
	c->margin = c->cfg.has_crop_margin ? c->cfg.crop_margin : 0;
	vg_detector_options none = { 0 };
	vg_preprocess_config pcfg;
	nn_tensor *in = nn_model_input(c->model, 0);
	vg_detector_resolve_preprocess(&none, &c->cfg, in, &pcfg);
	if (vg_preprocess_create(&c->pre, in, &pcfg, why, sizeof why) < 0) {
		snprintf(err, errlen, "--classify: %s: %s", opt->model, why);
		goto fail;
	}
	if (parse_classes(c, detector_labels, err, errlen) < 0)
		goto fail;
	c->dump = getenv("VIGIL_CLASSIFY_DUMP");
	if (c->dump && !*c->dump)
		c->dump = NULL;
	int grey = in->rank == 4 && in->shape[pcfg.nchw ? 1 : 3] == 1;
	snprintf(c->summary, sizeof c->summary,
		 "%s: crops (margin %g) scaled to %dx%d, %s, (pixel - %g) / %g; %d classes, labels: %s; settings: %s",
		 c->name, (double)c->margin, vg_preprocess_width(c->pre), vg_preprocess_height(c->pre),
		 grey ? "grey" : pcfg.bgr ? "BGR" : "RGB", (double)(pcfg.has_norm ? pcfg.mean[0] : 127.5f),
		 (double)(pcfg.has_norm ? pcfg.std[0] : 127.5f), c->n_classes,
		 c->labels.count ? "yes" : "none (\"class N\")", c->cfg.origin[0] ? c->cfg.origin : "generic defaults");
	*out = c;
	return 0;
fail:
	vg_classifier_destroy(c);
	return -1;
}

static float output_value(const nn_tensor *t, int i)
{
	if (t->dtype == NN_F32)
		return ((const float *)t->data)[i];
	float scale = t->quant.count ? t->quant.scale[0] : 1.0f;
	int32_t zp = t->quant.count && t->quant.zero_point ? t->quant.zero_point[0] : 0;
	int32_t q = t->dtype == NN_U8 ? ((const uint8_t *)t->data)[i] : ((const int8_t *)t->data)[i];
	return scale * (float)(q - zp);
}

static void dump(const vg_classifier *c, int det, const nn_tensor *t, const char *what)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%llu-%d.%s.bin", c->dump, (unsigned long long)c->runs, det, what);
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(t->data, 1, nn_tensor_bytes(t), f);
		fclose(f);
	}
}

int vg_classifier_run(vg_classifier *c, const vg_frame *frame, vg_detection *dets, int n, char *err, size_t errlen)
{
	c->runs++;
	int k = vg_classify_select(dets, n, frame->width, frame->height, c->keep, c->n_keep, c->opt.max_crops, c->order);
	int done = 0;
	nn_tensor *in = nn_model_input(c->model, 0);
	for (int j = 0; j < k; j++) {
		vg_detection *d = &dets[c->order[j]];
		vg_crop_rect r;
		if (d->n_attributes >= VG_MAX_ATTRIBUTES ||
		    vg_crop_rect_for(d, frame->width, frame->height, c->margin, &r) < 0)
			continue;
		/* A view of the crop inside the frame: no copy. x and y are even, so chroma lines up. */
		vg_frame view;
		memset(&view, 0, sizeof view);
		view.width = r.w;
		view.height = r.h;
		view.plane[0] = frame->plane[0] + (size_t)r.y * (size_t)frame->stride[0] + (size_t)r.x;
		view.plane[1] = frame->plane[1] + (size_t)(r.y / 2) * (size_t)frame->stride[1] + (size_t)(r.x / 2);
		view.plane[2] = frame->plane[2] + (size_t)(r.y / 2) * (size_t)frame->stride[2] + (size_t)(r.x / 2);
		for (int p = 0; p < 3; p++)
			view.stride[p] = frame->stride[p];
		if (vg_preprocess_run(c->pre, &view, in) < 0) {
			snprintf(err, errlen, "--classify: cannot scale a %dx%d crop to the classifier's input", r.w, r.h);
			return -1;
		}
		if (nn_model_run(c->model, err, errlen) < 0)
			return -1;
		if (c->dump) {
			dump(c, c->order[j], in, "input");
			dump(c, c->order[j], c->out, "output");
		}
		int best = 0;
		float best_v = output_value(c->out, 0);
		for (int i = 1; i < c->n_classes; i++) {
			float v = output_value(c->out, i);
			if (v > best_v) {
				best_v = v;
				best = i;
			}
		}
		vg_attribute *a = &d->attributes[d->n_attributes++];
		memset(a, 0, sizeof *a);
		snprintf(a->model, sizeof a->model, "%s", c->name);
		const char *label = vg_labels_get(&c->labels, best);
		if (label)
			snprintf(a->label, sizeof a->label, "%s", label);
		else
			snprintf(a->label, sizeof a->label, "class %d", best);
		a->class_id = best;
		a->score = best_v;
		done++;
	}
	return done;
}

const char *vg_classifier_summary(const vg_classifier *c)
{
	return c->summary;
}

void vg_classifier_destroy(vg_classifier *c)
{
	if (!c)
		return;
	vg_preprocess_destroy(c->pre);
	vg_labels_free(&c->labels);
	vg_model_config_free(&c->cfg);
	if (c->model)
		nn_model_free(c->model);
	free(c);
}
