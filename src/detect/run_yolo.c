/*
 * The YOLO family's decoders inside the detector: which outputs they read
 * (chosen by shape, or named by --decoder), their preprocessing and NMS
 * defaults, and running them on a frame's outputs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/detector_priv.h"

static const int yolo_strides[3] = { 8, 16, 32 };

int vg_det_is_yolo(vg_decoder_kind kind)
{
	return kind == VG_DECODER_YOLOX || kind == VG_DECODER_YOLOV5 || kind == VG_DECODER_YOLOV8 ||
	       kind == VG_DECODER_FASTESTV2 || kind == VG_DECODER_ULTRAFACE || kind == VG_DECODER_SSD_ANCHORS ||
	       kind == VG_DECODER_NMS_ROWS;
}

/* Cells of the stride 8, 16 and 32 grids of the input together (8400 for 640x640, 3549 for 416x416). */
static int grid_cells(const vg_detector *d)
{
	int n = 0;
	for (int i = 0; i < 3; i++)
		n += ((d->in_w + yolo_strides[i] - 1) / yolo_strides[i]) * ((d->in_h + yolo_strides[i] - 1) / yolo_strides[i]);
	return n;
}

/* The one output shaped [1,a,b] (or [a,b]), or -1. */
static int single_rows(const vg_detector *d, int *a, int *b)
{
	if (d->n_outs != 1)
		return -1;
	const nn_tensor *t = d->outs[0];
	if (!((t->rank == 3 && t->shape[0] == 1) || t->rank == 2) || t->shape[t->rank - 2] < 1 || t->shape[t->rank - 1] < 1)
		return -1;
	*a = t->shape[t->rank - 2];
	*b = t->shape[t->rank - 1];
	return 0;
}

static int bind_yolox(vg_detector *d, int automatic, char *why, size_t whylen)
{
	int n, w, cells = grid_cells(d);
	if (single_rows(d, &n, &w) < 0 || w < 6) {
		snprintf(why, whylen, "it needs one output [1,N,5+C]");
		return 0;
	}
	if (n != cells) {
		if (!automatic)
			snprintf(why, whylen, "its %d rows are not the %d cells of the stride 8, 16 and 32 grids of a %dx%d input",
				 n, cells, d->in_w, d->in_h);
		return 0;
	}
	/* [1,N,4+C] of YOLOv8 transposed has this shape too: Ultralytics metadata naming 4 fewer classes says so. */
	if (automatic && d->meta.source != VG_ULTRA_NONE && d->meta.n_names == w - 4)
		return 0;
	d->yolo.out = 0;
	d->yolo.n = n;
	d->num_classes = w - 5;
	d->yolo.sigmoid = -1;
	d->yolo.n_strides = 3;
	memcpy(d->yolo.strides, yolo_strides, sizeof yolo_strides);
	char s[160];
	snprintf(d->reason, sizeof d->reason,
		 "output %s: %d rows = the cells of the stride 8, 16, 32 grids of a %dx%d input, each x, y, w, h, "
		 "objectness and %d classes: YOLOX (grid-relative boxes; logits or probabilities told from the values)",
		 vg_det_out_desc(d, 0, s, sizeof s), n, d->in_w, d->in_h, d->num_classes);
	return 1;
}

static int bind_yolov5(vg_detector *d, int automatic, char *why, size_t whylen)
{
	int n, w;
	if (single_rows(d, &n, &w) < 0 || w < 6) {
		snprintf(why, whylen, "it needs one output [1,N,5+C]");
		return 0;
	}
	if (automatic && n != 3 * grid_cells(d))
		return 0;
	d->yolo.out = 0;
	d->yolo.n = n;
	d->yolo.row_step = w;
	d->yolo.attr_step = 1;
	d->yolo.objectness = 1;
	d->yolo.normalized = -1;
	d->yolo.sigmoid = -1;
	d->num_classes = w - 5;
	char s[160];
	snprintf(d->reason, sizeof d->reason,
		 "output %s: %d rows%s of cx, cy, w, h, objectness and %d classes: YOLOv5/v7 (boxes decoded in the graph)",
		 vg_det_out_desc(d, 0, s, sizeof s), n, n == 3 * grid_cells(d) ? " = 3 anchors on each cell of the stride 8, 16, 32 grids" : "",
		 d->num_classes);
	return 1;
}

static int bind_yolov8(vg_detector *d, int automatic, char *why, size_t whylen)
{
	int a, b, cells = grid_cells(d);
	if (single_rows(d, &a, &b) < 0 || (a < 5 && b < 5)) {
		snprintf(why, whylen, "it needs one output [1,4+C,N] or [1,N,4+C]");
		return 0;
	}
	int channels_first;
	if (automatic) {
		if (b == cells && a >= 5 && a < b)
			channels_first = 1;
		else if (a == cells && b >= 5 && d->meta.source != VG_ULTRA_NONE && (d->meta.n_names == b - 4 || !d->meta.n_names))
			channels_first = 0;
		else
			return 0;
	} else {
		channels_first = a < b;
	}
	int n = channels_first ? b : a, w = channels_first ? a : b;
	d->yolo.out = 0;
	d->yolo.n = n;
	d->yolo.row_step = channels_first ? 1 : w;
	d->yolo.attr_step = channels_first ? n : 1;
	d->yolo.objectness = 0;
	d->yolo.sigmoid = 0;
	d->num_classes = w - 4;
	/* Ultralytics' TFLite exports give boxes in 0..1, its ONNX exports in input pixels; otherwise the values tell. */
	const char *units;
	if (d->meta.source == VG_ULTRA_TEMP_META || d->meta.source == VG_ULTRA_METADATA_JSON) {
		d->yolo.normalized = 1;
		units = "boxes normalised 0..1 (Ultralytics TFLite export, by its metadata)";
	} else if (d->meta.source == VG_ULTRA_ONNX_PROPS) {
		d->yolo.normalized = 0;
		units = "boxes in input pixels (Ultralytics ONNX export, by its metadata)";
	} else {
		d->yolo.normalized = -1;
		units = "boxes normalised or in input pixels, told from the values on each frame";
	}
	char s[160];
	snprintf(d->reason, sizeof d->reason, "output %s: %s %d boxes of cx, cy, w, h and %d class scores%s: YOLOv8/v11; %s",
		 vg_det_out_desc(d, 0, s, sizeof s), channels_first ? "channels first," : "", n, d->num_classes,
		 n == cells ? " on the stride 8, 16, 32 grids" : "", units);
	return 1;
}

/* Yolo-FastestV2: per scale, NCHW reg [1,4A,H,W], obj [1,A,H,W], cls [1,C,H,W]. */
static int bind_fastestv2(vg_detector *d, int automatic, char *why, size_t whylen)
{
	const char *need = "it needs, per scale, reg [1,4A,H,W], obj [1,A,H,W] and cls [1,C,H,W] outputs (NCHW)";
	(void)automatic;
	if (d->n_outs < 3 || d->n_outs % 3 || d->n_outs > 12) {
		snprintf(why, whylen, "%s", need);
		return 0;
	}
	int used[12] = { 0 };
	d->yolo.n_levels = 0;
	for (int i = 0; i < d->n_outs; i++) {
		const nn_tensor *t = d->outs[i];
		if (t->rank != 4 || t->shape[0] != 1) {
			snprintf(why, whylen, "%s", need);
			return 0;
		}
	}
	for (int i = 0; i < d->n_outs; i++) {
		if (used[i])
			continue;
		int grp[3], g = 0;
		for (int j = i; j < d->n_outs && g < 4; j++)
			if (!used[j] && d->outs[j]->shape[2] == d->outs[i]->shape[2] && d->outs[j]->shape[3] == d->outs[i]->shape[3]) {
				if (g == 3) {
					g = 4;
					break;
				}
				grp[g++] = j;
			}
		if (g != 3) {
			snprintf(why, whylen, "%s; the %dx%d grid has %s 3 outputs", need, d->outs[i]->shape[3],
				 d->outs[i]->shape[2], g > 3 ? "more than" : "fewer than");
			return 0;
		}
		int reg = -1, obj = -1, cls = -1;
		for (int x = 0; x < 3 && reg < 0; x++)
			for (int y = 0; y < 3; y++)
				if (x != y && d->outs[grp[x]]->shape[1] == 4 * d->outs[grp[y]]->shape[1] &&
				    d->outs[grp[y]]->shape[1] <= 4) {
					reg = grp[x];
					obj = grp[y];
					cls = grp[3 - x - y];
					break;
				}
		if (reg < 0) {
			snprintf(why, whylen, "%s; no output of the %dx%d grid has 4 times the channels of another", need,
				 d->outs[i]->shape[3], d->outs[i]->shape[2]);
			return 0;
		}
		if (d->yolo.n_levels == 4) {
			snprintf(why, whylen, "%s; more than 4 scales", need);
			return 0;
		}
		int l = d->yolo.n_levels++;
		d->yolo.reg[l] = reg;
		d->yolo.obj[l] = obj;
		d->yolo.cls[l] = cls;
		d->yolo.gh[l] = d->outs[reg]->shape[2];
		d->yolo.gw[l] = d->outs[reg]->shape[3];
		used[grp[0]] = used[grp[1]] = used[grp[2]] = 1;
	}
	/* Finest grid first: it takes the smallest anchors. */
	for (int i = 1; i < d->yolo.n_levels; i++)
		for (int j = i; j > 0 && d->yolo.gh[j] > d->yolo.gh[j - 1]; j--) {
#define SWAP(a) do { int t_ = d->yolo.a[j]; d->yolo.a[j] = d->yolo.a[j - 1]; d->yolo.a[j - 1] = t_; } while (0)
			SWAP(reg);
			SWAP(obj);
			SWAP(cls);
			SWAP(gh);
			SWAP(gw);
#undef SWAP
		}
	int na = d->outs[d->yolo.obj[0]]->shape[1];
	d->num_classes = d->outs[d->yolo.cls[0]]->shape[1];
	for (int l = 0; l < d->yolo.n_levels; l++)
		if (d->outs[d->yolo.obj[l]]->shape[1] != na || d->outs[d->yolo.cls[l]]->shape[1] != d->num_classes) {
			snprintf(why, whylen, "%s; the scales differ in anchors or classes", need);
			return 0;
		}
	if (d->yolo.n_levels != 2 || na != 3) {
		snprintf(why, whylen, "%s; only Yolo-FastestV2's own 2 scales of 3 anchors have known anchors", need);
		return 0;
	}
	memcpy(d->yolo.anchors, vg_fastestv2_coco_anchors, sizeof vg_fastestv2_coco_anchors);
	snprintf(d->reason, sizeof d->reason,
		 "%d outputs: reg, obj, cls on %dx%d and %dx%d grids, 3 anchors, %d classes: Yolo-FastestV2 (COCO anchors "
		 "of its data/coco.data)",
		 d->n_outs, d->yolo.gw[0], d->yolo.gh[0], d->yolo.gw[1], d->yolo.gh[1], d->num_classes);
	return 1;
}

/* Two outputs [1,N,2] and [1,N,4] with N UltraFace's prior count. */
static int bind_ultraface(vg_detector *d, int automatic, char *why, size_t whylen)
{
	int sc = -1, bx = -1;
	for (int i = 0; i < d->n_outs; i++) {
		const nn_tensor *t = d->outs[i];
		if (t->rank != 3 || t->shape[0] != 1)
			continue;
		if (t->shape[2] == 2)
			sc = i;
		else if (t->shape[2] == 4)
			bx = i;
	}
	int priors = vg_ultraface_priors(d->in_w, d->in_h, NULL, 0);
	if (d->n_outs != 2 || sc < 0 || bx < 0 || d->outs[sc]->shape[1] != d->outs[bx]->shape[1]) {
		snprintf(why, whylen, "it needs scores [1,N,2] and boxes [1,N,4]");
		return 0;
	}
	int n = d->outs[sc]->shape[1];
	if (n != priors) {
		if (!automatic)
			snprintf(why, whylen, "%d boxes, but UltraFace's priors for a %dx%d input number %d", n, d->in_w,
				 d->in_h, priors);
		return 0;
	}
	free(d->yolo.priors);
	d->yolo.priors = malloc((size_t)n * 4 * sizeof(float));
	if (!d->yolo.priors) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	vg_ultraface_priors(d->in_w, d->in_h, d->yolo.priors, n);
	d->yolo.out = bx;
	d->yolo.out_scores = sc;
	d->yolo.n = n;
	d->yolo.raw = -1;
	d->num_classes = 1;
	char s1[160], s2[160];
	snprintf(d->reason, sizeof d->reason,
		 "scores %s and boxes %s: %d = UltraFace's priors for a %dx%d input (corners or raw locations told from "
		 "the values)",
		 vg_det_out_desc(d, sc, s1, sizeof s1), vg_det_out_desc(d, bx, s2, sizeof s2), n, d->in_w, d->in_h);
	return 1;
}

/* MediaPipe's ssd_mobilenetv2 object-detection anchors (SsdAnchorsCalculatorOptions of its graph). */
static void mediapipe_ssd_anchors(vg_anchor_config *ac, int in_w, int in_h)
{
	static const int strides[6] = { 16, 32, 64, 128, 256, 512 };
	static const float ratios[5] = { 1.0f, 2.0f, 0.5f, 3.0f, 0.3333f };
	memset(ac, 0, sizeof *ac);
	ac->input_w = in_w;
	ac->input_h = in_h;
	ac->n_layers = 6;
	memcpy(ac->strides, strides, sizeof strides);
	ac->min_scale = 0.2f;
	ac->max_scale = 0.95f;
	ac->n_aspect_ratios = 5;
	memcpy(ac->aspect_ratios, ratios, sizeof ratios);
	ac->interpolated_scale_aspect_ratio = 1.0f;
	ac->offset_x = ac->offset_y = 0.5f;
	ac->reduce_boxes_in_lowest_layer = 1;
}

static int bind_ssd_anchors(vg_detector *d, int automatic, char *why, size_t whylen)
{
	int enc = -1, sc = -1;
	for (int i = 0; i < d->n_outs; i++) {
		const nn_tensor *t = d->outs[i];
		if (t->rank != 3 || t->shape[0] != 1)
			continue;
		if (t->shape[2] == 4 && enc < 0)
			enc = i;
		else if (t->shape[2] >= 2)
			sc = i;
	}
	if (d->n_outs != 2 || enc < 0 || sc < 0 || d->outs[enc]->shape[1] != d->outs[sc]->shape[1]) {
		snprintf(why, whylen, "it needs box encodings [1,N,4] and class scores [1,N,C]");
		return 0;
	}
	vg_anchor_config ac;
	const char *from;
	if (d->cfg.has_anchors) {
		ac = d->cfg.anchors;
		ac.input_w = d->in_w;
		ac.input_h = d->in_h;
		from = "the settings' anchors";
	} else {
		mediapipe_ssd_anchors(&ac, d->in_w, d->in_h);
		from = "MediaPipe's ssd_mobilenetv2 anchors";
	}
	int n = d->outs[enc]->shape[1], count = vg_anchors_generate(&ac, NULL, 0);
	if (count != n) {
		if (!automatic)
			snprintf(why, whylen, "%d boxes, but %s for a %dx%d input number %d", n, from, d->in_w, d->in_h,
				 count);
		return 0;
	}
	float *xywh = malloc((size_t)n * 4 * sizeof(float));
	free(d->yolo.priors);
	d->yolo.priors = malloc((size_t)n * 4 * sizeof(float));
	if (!xywh || !d->yolo.priors) {
		free(xywh);
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	vg_anchors_generate(&ac, xywh, n);
	/* vg_decode_ssd takes anchors as (y, x, h, w). */
	for (int i = 0; i < n; i++) {
		d->yolo.priors[i * 4 + 0] = xywh[i * 4 + 1];
		d->yolo.priors[i * 4 + 1] = xywh[i * 4 + 0];
		d->yolo.priors[i * 4 + 2] = xywh[i * 4 + 3];
		d->yolo.priors[i * 4 + 3] = xywh[i * 4 + 2];
	}
	free(xywh);
	d->yolo.out = enc;
	d->yolo.out_scores = sc;
	d->yolo.n = n;
	d->num_classes = d->outs[sc]->shape[2];
	char s1[160], s2[160];
	snprintf(d->reason, sizeof d->reason,
		 "box encodings %s and class scores %s: %d = %s for a %dx%d input: raw SSD heads (scales 10, 10, 5, 5, "
		 "sigmoid scores, class 0 the background)",
		 vg_det_out_desc(d, enc, s1, sizeof s1), vg_det_out_desc(d, sc, s2, sizeof s2), n, from, d->in_w, d->in_h);
	return 1;
}

/*
 * The rows of output `out` the last run filled: fewer than its capacity when
 * NMS in the graph (ONNX NonMaxSuppression) leaves the count to run time.
 */
static int filled_rows(const vg_detector *d, int out, int capacity)
{
	const nn_tensor *t = d->outs[out];
	if (t->rank != 2 || !t->dynamic_rows)
		return capacity;
	for (int i = 0; i < nn_model_output_count(d->model); i++)
		if (nn_model_output(d->model, i) == t) {
			int r = nn_model_output_rows(d->model, i);
			return r >= 0 && r < capacity ? r : capacity;
		}
	return capacity;
}

static int bind_nms_rows(vg_detector *d, int automatic, char *why, size_t whylen)
{
	int k, w;
	if (single_rows(d, &k, &w) < 0 || (w != 6 && w != 7)) {
		snprintf(why, whylen, "it needs one output of detection rows [1,K,6] or [1,K,7]");
		return 0;
	}
	/* Width 6 is CenterNet's decoder's by default (the same layout); width 7 only comes from NMS in the graph. */
	if (automatic && w != 7)
		return 0;
	d->yolo.out = 0;
	d->yolo.n = k;
	char s[160];
	snprintf(d->reason, sizeof d->reason,
		 "output %s: %s%d detection rows of %d values computed by NMS in the graph (%s; the column order and "
		 "units told from the values)",
		 vg_det_out_desc(d, 0, s, sizeof s), d->outs[0]->dynamic_rows ? "up to " : "", k, w,
		 w == 6 ? "x1, y1, x2, y2, score, class" : "batch, x1, y1, x2, y2, then class and score");
	return 1;
}

int vg_det_bind_yolo(vg_detector *d, vg_decoder_kind kind, int automatic, char *why, size_t whylen)
{
	switch (kind) {
	case VG_DECODER_YOLOX: return bind_yolox(d, automatic, why, whylen);
	case VG_DECODER_YOLOV5: return bind_yolov5(d, automatic, why, whylen);
	case VG_DECODER_YOLOV8: return bind_yolov8(d, automatic, why, whylen);
	case VG_DECODER_FASTESTV2: return bind_fastestv2(d, automatic, why, whylen);
	case VG_DECODER_ULTRAFACE: return bind_ultraface(d, automatic, why, whylen);
	case VG_DECODER_SSD_ANCHORS: return bind_ssd_anchors(d, automatic, why, whylen);
	case VG_DECODER_NMS_ROWS: return bind_nms_rows(d, automatic, why, whylen);
	default: return 0;
	}
}

void vg_det_yolo_nms_defaults(vg_decoder_kind kind, float *iou, int *per_class, float *threshold)
{
	*per_class = 1;
	*threshold = 0;
	switch (kind) {
	case VG_DECODER_YOLOX: *iou = 0.45f; break;     /* YOLOX's demo */
	case VG_DECODER_YOLOV5: *iou = 0.45f; break;    /* YOLOv5's detect.py */
	case VG_DECODER_YOLOV8: *iou = 0.7f; break;     /* Ultralytics' predict default */
	case VG_DECODER_FASTESTV2:                      /* its test.py: conf 0.3, NMS 0.4 */
		*iou = 0.4f;
		*threshold = 0.3f;
		break;
	case VG_DECODER_ULTRAFACE:                      /* its demos: threshold 0.7, NMS 0.3 */
		*iou = 0.3f;
		*per_class = 0;
		*threshold = 0.7f;
		break;
	case VG_DECODER_SSD_ANCHORS:                    /* MediaPipe's NonMaxSuppressionCalculator: 0.4 over all classes */
		*iou = 0.4f;
		*per_class = 0;
		break;
	default: *iou = 0; break;
	}
}

int vg_det_yolo_preprocess(vg_detector *d, char *err, size_t errlen)
{
	if ((!vg_det_is_yolo(d->kind) && d->kind != VG_DECODER_NANODET) || d->kind == VG_DECODER_NMS_ROWS ||
	    d->kind == VG_DECODER_SSD_ANCHORS)
		return 0;
	const vg_detector_options *o = &d->opt;
	const vg_model_config *c = &d->cfg;
	vg_preprocess_config *p = &d->pre_cfg;
	const nn_tensor *in = nn_model_input(d->model, 0);
	int yolo = d->kind == VG_DECODER_YOLOX || d->kind == VG_DECODER_YOLOV5 || d->kind == VG_DECODER_YOLOV8;
	int nanodet = d->kind == VG_DECODER_NANODET;
	if (!o->pre.bgr && !c->has_color)
		p->bgr = d->kind == VG_DECODER_YOLOX || d->kind == VG_DECODER_FASTESTV2 || nanodet;
	if (!o->mean_set && !o->std_set && !o->pre.has_norm && !c->has_mean && !c->has_std) {
		/*
		 * YOLOX takes 0..255, Ultralytics and Yolo-FastestV2 0..1, UltraFace (x - 127) / 128; quantized
		 * inputs get these values through their scale and zero point.
		 */
		float mean = d->kind == VG_DECODER_ULTRAFACE ? 127 : 0;
		float std = d->kind == VG_DECODER_YOLOX ? 1 : d->kind == VG_DECODER_ULTRAFACE ? 128 : 255;
		/* NanoDet's own normalisation, in BGR order, as its training pipeline and demos have it. */
		static const float nd_mean[3] = { 103.53f, 116.28f, 123.675f }, nd_std[3] = { 57.375f, 57.12f, 58.395f };
		for (int i = 0; i < 3; i++) {
			p->mean[i] = nanodet ? nd_mean[i] : mean;
			p->std[i] = nanodet ? nd_std[i] : std;
		}
		p->has_norm = 1;
	}
	/* NanoDet's demos keep the aspect ratio, centred on black. */
	if (nanodet && !o->resize_set && !c->has_resize)
		p->resize = VG_RESIZE_LETTERBOX;
	if (yolo) {
		if (!o->resize_set && !c->has_resize)
			p->resize = VG_RESIZE_LETTERBOX;
		if (!c->has_pad)
			p->pad_value = 114;
		if (!c->has_align)
			p->align_topleft = d->kind == VG_DECODER_YOLOX;
	}
	vg_preprocess_destroy(d->pre);
	d->pre = NULL;
	char why[256];
	if (vg_preprocess_create(&d->pre, in, p, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s: %s", o->model, why);
		return -1;
	}
	return 0;
}

/* Whether any objectness or class value lies outside 0..1: the graph left them as logits. */
static int any_logit(const float *data, int n, long row_step, long attr_step, int first, int count)
{
	int lim = n < 4000 ? n : 4000;
	for (int i = 0; i < lim; i++)
		for (int k = first; k < first + count; k++) {
			float v = data[(long)i * row_step + k * attr_step];
			if (v < 0 || v > 1)
				return 1;
		}
	return 0;
}

int vg_det_decode_yolo(vg_detector *d, vg_detection *cand, int max)
{
	vg_yolo_params p = {
		.num_classes = d->num_classes,
		.in_w = (float)d->in_w,
		.in_h = (float)d->in_h,
		.iou_threshold = d->iou,
		.per_class_nms = d->per_class_nms,
	};
	int n = 0;
	switch (d->kind) {
	case VG_DECODER_YOLOX: {
		const float *rows = vg_det_output_floats(d, d->yolo.out);
		p.sigmoid = d->yolo.sigmoid >= 0 ? d->yolo.sigmoid : any_logit(rows, d->yolo.n, 5 + d->num_classes, 1, 4, 1 + d->num_classes);
		if (p.sigmoid)
			d->yolo.sigmoid = 1; /* logits once are logits for good: no need to look again */
		n = vg_decode_yolox(rows, d->yolo.n, d->yolo.strides, d->yolo.n_strides, &p, d->threshold, cand, max);
		break;
	}
	case VG_DECODER_YOLOV5:
	case VG_DECODER_YOLOV8: {
		const float *data = vg_det_output_floats(d, d->yolo.out);
		int first = 4, count = d->num_classes + (d->yolo.objectness ? 1 : 0);
		p.sigmoid = d->yolo.sigmoid >= 0 ? d->yolo.sigmoid
						 : any_logit(data, d->yolo.n, d->yolo.row_step, d->yolo.attr_step, first, count);
		if (p.sigmoid)
			d->yolo.sigmoid = 1;
		p.normalized = d->yolo.normalized >= 0 ? d->yolo.normalized
						       : vg_yolo_boxes_normalized(data, d->yolo.n, d->yolo.row_step,
										  d->yolo.attr_step);
		n = vg_decode_yolo_boxes(data, d->yolo.n, d->yolo.row_step, d->yolo.attr_step, d->yolo.objectness, &p,
					 d->threshold, cand, max);
		break;
	}
	case VG_DECODER_FASTESTV2: {
		vg_fastestv2_level lv[4];
		for (int l = 0; l < d->yolo.n_levels; l++) {
			lv[l] = (vg_fastestv2_level){
				.reg = vg_det_output_floats(d, d->yolo.reg[l]),
				.obj = vg_det_output_floats(d, d->yolo.obj[l]),
				.cls = vg_det_output_floats(d, d->yolo.cls[l]),
				.width = d->yolo.gw[l],
				.height = d->yolo.gh[l],
				.n_anchors = 3,
			};
			memcpy(lv[l].anchors, d->yolo.anchors[l < 2 ? l : 1], sizeof d->yolo.anchors[0]);
		}
		n = vg_decode_fastestv2(lv, d->yolo.n_levels, &p, d->threshold, cand, max);
		break;
	}
	case VG_DECODER_ULTRAFACE: {
		const float *boxes = vg_det_output_floats(d, d->yolo.out);
		int raw = d->yolo.raw >= 0 ? d->yolo.raw : !vg_ultraface_boxes_are_corners(boxes, d->yolo.n);
		n = vg_decode_ultraface(vg_det_output_floats(d, d->yolo.out_scores), boxes, d->yolo.n, d->yolo.priors, raw,
					d->iou, d->threshold, cand, max);
		break;
	}
	case VG_DECODER_SSD_ANCHORS: {
		vg_ssd_params sp = { .y_scale = 10, .x_scale = 10, .h_scale = 5, .w_scale = 5, .background_class = 1,
				     .sigmoid = 1, .iou_threshold = d->iou, .per_class_nms = d->per_class_nms };
		if (d->cfg.has_box_scale) {
			sp.x_scale = d->cfg.box_scale[0];
			sp.y_scale = d->cfg.box_scale[1];
			sp.w_scale = d->cfg.box_scale[2];
			sp.h_scale = d->cfg.box_scale[3];
		}
		n = vg_decode_ssd(vg_det_output_floats(d, d->yolo.out), vg_det_output_floats(d, d->yolo.out_scores),
				  d->yolo.priors, d->yolo.n, d->num_classes, &sp, d->threshold, cand, max);
		break;
	}
	case VG_DECODER_NMS_ROWS: {
		const nn_tensor *t = d->outs[d->yolo.out];
		const float *rows = vg_det_output_floats(d, d->yolo.out);
		int w = t->shape[t->rank - 1];
		int k = filled_rows(d, d->yolo.out, d->yolo.n);
		vg_nms_rows_layout l;
		if (k <= 0 || vg_nms_rows_detect(rows, k, w, &l) < 0)
			return 0;
		n = vg_decode_nms_rows(rows, k, &l, (float)d->in_w, (float)d->in_h, d->threshold, cand, max);
		break;
	}
	default: break;
	}
	return n < 0 ? 0 : n;
}
