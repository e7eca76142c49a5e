#include "detect/detector_priv.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "detect/keypoints.h"

/* A tensor name's last path component, without an "init_" prefix: "raw_inputs/init_lstm_c" is "lstm_c". */
static const char *state_key(const char *name, size_t *len)
{
	const char *slash = name ? strrchr(name, '/') : NULL;
	const char *b = slash ? slash + 1 : name ? name : "";
	if (!strncmp(b, "init_", 5))
		b += 5;
	const char *colon = strchr(b, ':');
	*len = colon ? (size_t)(colon - b) : strlen(b);
	return b;
}

static int same_layout(const nn_tensor *a, const nn_tensor *b)
{
	if (a->dtype != b->dtype || a->rank != b->rank)
		return 0;
	for (int i = 0; i < a->rank; i++)
		if (a->shape[i] != b->shape[i])
			return 0;
	return 1;
}

/*
 * Inputs beyond the image are a video model's state: each must match an
 * output by shape and type (by name too, when names tell pairs apart), which
 * is fed back as that input on the next frame. The matched outputs are taken
 * out of the outputs the decoders see.
 */
static int bind_state(vg_detector *d, char *err, size_t errlen)
{
	int n_in = nn_model_input_count(d->model);
	int taken[64] = { 0 };
	size_t m = 0;
	for (int i = 1; i < n_in; i++) {
		nn_tensor *in = nn_model_input(d->model, i);
		size_t kl, ol;
		const char *key = state_key(in->name, &kl);
		int match = -1, candidates = 0, last = -1;
		for (int o = 0; o < d->n_outs && o < 64; o++) {
			if (taken[o] || !same_layout(in, d->outs[o]))
				continue;
			candidates++;
			last = o;
			const char *ok = state_key(d->outs[o]->name, &ol);
			if (match < 0 && kl && ol == kl && !strncmp(ok, key, kl))
				match = o;
		}
		if (match < 0 && candidates == 1)
			match = last;
		if (match < 0 || d->n_state == MAX_STATE) {
			char s[128];
			nn_tensor_shape_str(in, s, sizeof s);
			snprintf(err, errlen,
				 "%s: input %d '%s' %s is not the image, and %s, so it cannot be carried as state",
				 d->opt.model, i, in->name ? in->name : "?", s,
				 candidates ? "several outputs of its shape and type could feed it and none by name"
					    : "no output of its shape and type feeds it back");
			return -1;
		}
		if (in->quant.count && d->outs[match]->quant.count &&
		    (in->quant.scale[0] != d->outs[match]->quant.scale[0] ||
		     (in->quant.zero_point ? in->quant.zero_point[0] : 0) !=
			     (d->outs[match]->quant.zero_point ? d->outs[match]->quant.zero_point[0] : 0))) {
			snprintf(err, errlen, "%s: state input '%s' and output '%s' are quantized differently",
				 d->opt.model, in->name ? in->name : "?", d->outs[match]->name ? d->outs[match]->name : "?");
			return -1;
		}
		taken[match] = 1;
		d->state_in[d->n_state] = in;
		d->state_out[d->n_state] = d->outs[match];
		d->n_state++;
		char s[128];
		nn_tensor_shape_str(in, s, sizeof s);
		if (m < sizeof d->state_desc)
			m += (size_t)snprintf(d->state_desc + m, sizeof d->state_desc - m, "%s'%s' -> '%s' %s",
					      m ? "; " : "", d->outs[match]->name ? d->outs[match]->name : "?",
					      in->name ? in->name : "?", s);
	}
	if (!d->n_state)
		return 0;
	/* The decoders see only the other outputs. */
	int k = 0;
	for (int o = 0; o < d->n_outs; o++)
		if (o >= 64 || !taken[o])
			d->outs[k++] = d->outs[o];
	d->n_outs = k;
	vg_detector_reset_state(d);
	return 0;
}

void vg_detector_reset_state(vg_detector *d)
{
	/* The state starts at real zero: the quantized zero point, or 0.0. */
	for (int i = 0; i < d->n_state; i++) {
		nn_tensor *t = d->state_in[i];
		size_t n = nn_tensor_bytes(t);
		int32_t zp = t->quant.count && t->quant.zero_point ? t->quant.zero_point[0] : 0;
		if (t->dtype == NN_U8 || t->dtype == NN_I8)
			memset(t->data, (int)(uint8_t)zp, n);
		else
			memset(t->data, 0, n);
	}
	d->state_fresh = 1;
}

int vg_detector_state_count(const vg_detector *d)
{
	return d->n_state;
}

const char *vg_detector_state_summary(const vg_detector *d)
{
	return d->state_desc;
}

/* After a run: each state output becomes its input for the next frame, unless the user turned state off. */
static void carry_state(vg_detector *d)
{
	if (d->opt.no_state) {
		vg_detector_reset_state(d);
		return;
	}
	for (int i = 0; i < d->n_state; i++)
		memcpy(d->state_in[i]->data, d->state_out[i]->data, nn_tensor_bytes(d->state_in[i]));
	d->state_fresh = 0;
}

static int load_labels(vg_detector *d, char *err, size_t errlen)
{
	if (d->opt.labels) {
		snprintf(d->labels_from, sizeof d->labels_from, "--labels");
		return vg_labels_load(&d->labels, d->opt.labels, err, errlen);
	}
	if (d->cfg.labels_path) {
		snprintf(d->labels_from, sizeof d->labels_from, "the sidecar's file");
		return vg_labels_load(&d->labels, d->cfg.labels_path, err, errlen);
	}
	if (d->cfg.label_names || d->cfg.labels_coco80) {
		int coco = d->cfg.labels_coco80;
		snprintf(d->labels_from, sizeof d->labels_from, "%s",
			 coco ? "COCO-80, built in" : "listed in the settings");
		if (vg_labels_from_list(&d->labels, coco ? vg_coco80_labels : (const char *const *)d->cfg.label_names,
					coco ? VG_COCO80_COUNT : d->cfg.n_labels) < 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		return 0;
	}
	if (d->meta.n_names > 0) {
		snprintf(d->labels_from, sizeof d->labels_from, "Ultralytics metadata (%s)",
			 d->meta.source == VG_ULTRA_ONNX_PROPS ? "metadata_props" : d->meta.source == VG_ULTRA_TEMP_META
												? "temp_meta.txt"
												: "metadata.json");
		if (vg_labels_from_list(&d->labels, (const char *const *)d->meta.names, d->meta.n_names) < 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		return 0;
	}
	int n = 0;
	const char *const *names = nn_model_labels(d->model, &n);
	if ((!names || n == 0) && d->kind == VG_DECODER_MOVENET) {
		/* MoveNet finds people only; naming its class lets --classes person work under any file name. */
		static const char *const person[] = { "person" };
		snprintf(d->labels_from, sizeof d->labels_from, "MoveNet's, built in");
		if (vg_labels_from_list(&d->labels, person, 1) < 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		return 0;
	}
	if ((!names || n == 0) && d->kind == VG_DECODER_SSD_ANCHORS && strstr(d->opt.model, "oidv4")) {
		/* MediaPipe's OpenImages SSD ships its label map as a file beside the model. */
		char path[1024];
		const char *slash = strrchr(d->opt.model, '/');
		int dir = slash ? (int)(slash - d->opt.model + 1) : 0;
		snprintf(path, sizeof path, "%.*sobject_detection_oidv4_labelmap.txt", dir, d->opt.model);
		FILE *f = fopen(path, "r");
		if (f) {
			fclose(f);
			snprintf(d->labels_from, sizeof d->labels_from, "object_detection_oidv4_labelmap.txt beside the model");
			return vg_labels_load(&d->labels, path, err, errlen);
		}
	}
	if ((!names || n == 0) && vg_det_is_yolo(d->kind) && d->kind != VG_DECODER_SSD_ANCHORS &&
	    (d->num_classes == VG_COCO80_COUNT || d->kind == VG_DECODER_ULTRAFACE)) {
		/* The YOLO family's public weights are COCO-80; UltraFace finds faces. */
		static const char *const face[] = { "face" };
		int uf = d->kind == VG_DECODER_ULTRAFACE;
		snprintf(d->labels_from, sizeof d->labels_from, "%s", uf ? "UltraFace's, built in" : "COCO-80, built in (80 classes)");
		if (vg_labels_from_list(&d->labels, uf ? face : vg_coco80_labels, uf ? 1 : VG_COCO80_COUNT) < 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		return 0;
	}
	if (!names || n == 0) {
		snprintf(d->labels_from, sizeof d->labels_from, "none");
		return 0;
	}
	snprintf(d->labels_from, sizeof d->labels_from, "packed in the model");
	/* Detection label maps start with a "???" background entry that class ids skip. */
	int skip = (d->kind == VG_DECODER_POSTPROCESSED && names[0] && !strcmp(names[0], "???")) ? 1 : 0;
	if (vg_labels_from_list(&d->labels, names + skip, n - skip) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int parse_class_filter(vg_detector *d, char *err, size_t errlen)
{
	if (!d->opt.classes)
		return 0;
	int n = vg_labels_parse_classes(&d->labels, d->opt.classes, "--classes", "this model",
					" (it has no labels; give ids or --labels)", d->keep, MAX_CLASS_FILTER, err, errlen);
	if (n < 0)
		return -1;
	d->n_keep = n;
	return 0;
}

int vg_detector_load_settings(vg_model_config *cfg, const vg_detector_options *opt, const nn_tensor *input,
			      const nn_tensor *const *outs, int n_outs, int n_state, char *note, size_t notelen,
			      char *err, size_t errlen)
{
	vg_model_config_init(cfg);
	if (!vg_model_config_builtin(cfg, opt->model, input, note, notelen))
		if (!vg_model_config_mediapipe(cfg, input, outs, n_outs))
			vg_model_config_automl_traffic(cfg, opt->model, input, n_state);
	const char *sidecar = opt->sidecar;
	char found[4096];
	if (sidecar && !strcmp(sidecar, "none"))
		return 0;
	if (!sidecar && vg_model_config_find_sidecar(opt->model, found, sizeof found))
		sidecar = found;
	if (!sidecar)
		return 0;
	vg_model_config side;
	if (vg_model_config_load(&side, sidecar, err, errlen) < 0)
		return -1;
	vg_model_config_overlay(cfg, &side);
	return 0;
}

static int load_model_config(vg_detector *d, char *err, size_t errlen)
{
	return vg_detector_load_settings(&d->cfg, &d->opt, nn_model_input(d->model, 0), d->outs, d->n_outs, d->n_state,
					 d->cfg_note, sizeof d->cfg_note, err, errlen);
}

void vg_detector_resolve_preprocess(const vg_detector_options *opt, const vg_model_config *c, const nn_tensor *in,
				    vg_preprocess_config *out)
{
	vg_preprocess_config p = opt->pre;
	if (c->has_layout)
		p.nchw = c->nchw;
	else
		p.nchw = in->rank == 4 && ((in->shape[1] == 3 && in->shape[3] != 3) ||
					   (in->shape[1] == 1 && in->shape[3] != 1 && in->shape[3] != 3));
	if (!opt->pre.bgr && c->has_color)
		p.bgr = c->bgr;
	if (!opt->resize_set && c->has_resize)
		p.resize = c->resize;
	if (c->has_pad)
		p.pad_value = c->pad_value;
	if (c->has_align)
		p.align_topleft = c->align_topleft;
	if (c->has_sampling)
		p.sampling = c->sampling;
	/* has_norm without the flags: a caller that fills mean and std itself. */
	int mean_set = opt->mean_set || (opt->pre.has_norm && !opt->std_set);
	int std_set = opt->std_set || (opt->pre.has_norm && !opt->mean_set);
	if (opt->pre.has_norm || c->has_mean || c->has_std) {
		for (int i = 0; i < 3; i++) {
			p.mean[i] = mean_set ? opt->pre.mean[i] : c->has_mean ? c->mean[i] : 127.5f;
			p.std[i] = std_set ? opt->pre.std[i] : c->has_std ? c->std[i] : 127.5f;
		}
		p.has_norm = 1;
	}
	*out = p;
}

float vg_detector_resolve_threshold(const vg_detector_options *opt, const vg_model_config *c, vg_decoder_kind kind)
{
	if (opt->threshold > 0)
		return opt->threshold;
	if (c->threshold > 0)
		return c->threshold;
	if (vg_det_is_yolo(kind)) {
		float iou, threshold;
		int per_class;
		vg_det_yolo_nms_defaults(kind, &iou, &per_class, &threshold);
		if (threshold > 0)
			return threshold;
	}
	/* MoveNet's score is a mean over all 17 keypoints: people in view score about 0.3 to 0.75, empty rooms less. */
	return kind == VG_DECODER_CLASSIFIER ? 0.1f : kind == VG_DECODER_MOVENET ? 0.3f : 0.5f;
}

static void write_summary(vg_detector *d)
{
	const vg_preprocess_config *p = &d->pre_cfg;
	const nn_tensor *in = nn_model_input(d->model, 0);
	char norm[160];
	if (p->has_norm)
		snprintf(norm, sizeof norm, "(pixel - %g,%g,%g) / %g,%g,%g", (double)p->mean[0], (double)p->mean[1],
			 (double)p->mean[2], (double)p->std[0], (double)p->std[1], (double)p->std[2]);
	else if (in->dtype == NN_F32)
		snprintf(norm, sizeof norm, "(pixel - 127.5) / 127.5");
	else
		snprintf(norm, sizeof norm, "raw pixel values%s", in->dtype == NN_I8 ? " - 128" : "");
	/* Said only when it is not the centred black border every model had before the YOLO family. */
	char letterbox[64] = "";
	if (p->resize == VG_RESIZE_LETTERBOX && (p->align_topleft || p->pad_value))
		snprintf(letterbox, sizeof letterbox, ", letterbox %s, padded with %d", p->align_topleft ? "top left" : "centred",
			 p->pad_value);
	char nms[64] = "none";
	if (d->kind == VG_DECODER_CENTERNET || d->kind == VG_DECODER_CENTERNET_RAW || d->kind == VG_DECODER_NANODET ||
	    d->kind == VG_DECODER_BLAZEFACE || d->kind == VG_DECODER_SSD_PRIORBOX ||
	    (vg_det_is_yolo(d->kind) && d->kind != VG_DECODER_NMS_ROWS)) {
		if (d->iou > 0)
			snprintf(nms, sizeof nms, "%s, IoU %g",
				 d->weighted_nms ? "weighted" : d->per_class_nms ? "per class" : "across classes",
				 (double)d->iou);
	} else {
		snprintf(nms, sizeof nms, "%s",
			 d->kind == VG_DECODER_CLASSIFIER ? "n/a"
			 : d->kind == VG_DECODER_MOVENET  ? "n/a (one person)"
							  : "in the model");
	}
	snprintf(d->summary, sizeof d->summary,
		 "%s to %dx%d (%s sampling), %s, %s, %s%s; threshold %g; NMS %s; labels: %s (%d); settings: %s%s%s%s",
		 p->resize == VG_RESIZE_LETTERBOX ? "letterbox" : "stretch", d->in_w, d->in_h,
		 p->sampling == VG_SAMPLING_WARP ? "warp" : p->sampling == VG_SAMPLING_LINEAR ? "linear" : "swscale",
		 p->bgr ? "BGR" : "RGB", p->nchw ? "NCHW" : "NHWC", norm, letterbox, (double)d->threshold, nms,
		 d->labels_from, d->labels.count,
		 d->opt.sidecar && !strcmp(d->opt.sidecar, "none") ? "sidecar disabled, " : "",
		 d->cfg.origin[0] ? d->cfg.origin : "options and generic defaults", d->cfg_note[0] ? "; " : "",
		 d->cfg_note);
}

static int alloc_scratch(vg_detector *d, char *err, size_t errlen)
{
	d->n_scratch = d->n_outs;
	d->scratch = calloc((size_t)(d->n_scratch > 0 ? d->n_scratch : 1), sizeof *d->scratch);
	if (!d->scratch)
		goto nomem;
	for (int i = 0; i < d->n_scratch; i++) {
		const nn_tensor *t = d->outs[i];
		if (t->dtype != NN_F32) {
			d->scratch[i] = malloc((size_t)nn_tensor_elements(t) * sizeof(float));
			if (!d->scratch[i])
				goto nomem;
		}
	}
	if (d->kind == VG_DECODER_SEGMENTATION) {
		if (d->seg.layout == VG_SEG_INDICES && d->labels.count > 0 && d->labels.count <= VG_SEG_MAX_CLASSES)
			d->seg.classes = d->labels.count;
		if (vg_seg_mask_init(&d->mask, (size_t)d->seg.width * (size_t)d->seg.height) < 0)
			goto nomem;
		d->mask.classes = d->seg.classes > 0 ? d->seg.classes : VG_SEG_MAX_CLASSES;
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

int vg_detector_create(vg_detector **out, const vg_detector_options *opt, char *err, size_t errlen)
{
	*out = NULL;
	vg_detector *d = calloc(1, sizeof *d);
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	d->opt = *opt;
	vg_model_config_init(&d->cfg);
	nn_load_options lo = { .input_w = opt->input_w, .input_h = opt->input_h };
	if (!lo.input_w && vg_model_config_input_size(opt->model, opt->sidecar, &lo.input_w, &lo.input_h, err, errlen) < 0)
		goto fail;
	if (nn_model_load_ex(&d->model, opt->model, &lo, err, errlen) < 0)
		goto fail;
	nn_prepare_options po = { .threads = opt->threads > 0 ? opt->threads : 1, .reference_only = opt->reference_only };
	if (nn_model_prepare(d->model, &po, err, errlen) < 0)
		goto fail;
	if (nn_model_input_count(d->model) < 1) {
		snprintf(err, errlen, "%s: the model has no input", opt->model);
		goto fail;
	}
	d->n_outs = nn_model_output_count(d->model);
	d->outs = calloc((size_t)(d->n_outs > 0 ? d->n_outs : 1), sizeof *d->outs);
	if (!d->outs) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (int i = 0; i < d->n_outs; i++)
		d->outs[i] = nn_model_output(d->model, i);
	if (bind_state(d, err, errlen) < 0)
		goto fail;
	char meta_err[256];
	if (vg_ultra_meta_load(&d->meta, d->model, meta_err, sizeof meta_err) < 0) {
		snprintf(err, errlen, "%s: Ultralytics metadata: %s", opt->model, meta_err);
		goto fail;
	}
	if (load_model_config(d, err, errlen) < 0)
		goto fail;
	vg_detector_resolve_preprocess(&d->opt, &d->cfg, nn_model_input(d->model, 0), &d->pre_cfg);
	char why[256];
	if (vg_preprocess_create(&d->pre, nn_model_input(d->model, 0), &d->pre_cfg, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s: %s", opt->model, why);
		goto fail;
	}
	d->in_w = vg_preprocess_width(d->pre);
	d->in_h = vg_preprocess_height(d->pre);
	if (vg_det_choose(d, err, errlen) < 0 || vg_det_yolo_preprocess(d, err, errlen) < 0)
		goto fail;

	const vg_model_config *c = &d->cfg;
	d->threshold = vg_detector_resolve_threshold(opt, c, d->kind);
	d->opt.max_detections = opt->max_detections > 0 ? opt->max_detections
				: c->max_detections > 0 ? c->max_detections
							: 100;
	if (d->opt.max_detections > VG_MAX_DETECTIONS)
		d->opt.max_detections = VG_MAX_DETECTIONS;
	d->top_k = opt->top_k > 0		      ? opt->top_k
		   : c->top_k > 0		      ? c->top_k
		   : d->kind == VG_DECODER_CLASSIFIER    ? 5
		   : d->kind == VG_DECODER_SSD_PRIORBOX ? 400
							: 100;
	/* NMS: each decoder's usual kind and overlap unless the settings say otherwise. */
	vg_nms_kind nms = c->nms;
	float iou = c->iou;
	switch (d->kind) {
	case VG_DECODER_CENTERNET:
	case VG_DECODER_CENTERNET_RAW:
		if (nms == VG_NMS_DEFAULT)
			nms = VG_NMS_PER_CLASS;
		if (!(iou > 0))
			iou = 0.5f;
		break;
	case VG_DECODER_NANODET:
		if (nms == VG_NMS_DEFAULT)
			nms = VG_NMS_PER_CLASS;
		if (!(iou > 0))
			iou = 0.6f;
		break;
	case VG_DECODER_BLAZEFACE:
		if (nms == VG_NMS_DEFAULT)
			nms = VG_NMS_WEIGHTED;
		if (!(iou > 0))
			iou = 0.3f;
		break;
	case VG_DECODER_YOLOX:
	case VG_DECODER_YOLOV5:
	case VG_DECODER_YOLOV8:
	case VG_DECODER_FASTESTV2:
	case VG_DECODER_ULTRAFACE:
	case VG_DECODER_SSD_ANCHORS: {
		float def_iou, def_threshold;
		int per_class;
		vg_det_yolo_nms_defaults(d->kind, &def_iou, &per_class, &def_threshold);
		if (nms == VG_NMS_DEFAULT)
			nms = per_class ? VG_NMS_PER_CLASS : VG_NMS_CLASS_AGNOSTIC;
		if (!(iou > 0))
			iou = def_iou;
		break;
	}
	case VG_DECODER_SSD_PRIORBOX:
		/* DetectionOutput suppresses within each class; Caffe's default overlap is 0.45 in SSD's deploy files. */
		if (nms == VG_NMS_DEFAULT)
			nms = VG_NMS_PER_CLASS;
		if (!(iou > 0))
			iou = 0.45f;
		break;
	default: break;
	}
	d->iou = nms == VG_NMS_NONE ? 0 : iou;
	d->per_class_nms = nms == VG_NMS_PER_CLASS;
	d->weighted_nms = nms == VG_NMS_WEIGHTED;
	d->center_offset = c->has_center_offset ? c->center_offset : d->kind == VG_DECODER_NANODET ? 0.5f : 0.0f;
	if (d->kind == VG_DECODER_BLAZEFACE) {
		d->bf.iou_threshold = nms == VG_NMS_NONE ? 1.0f : iou;
		d->bf.weighted = d->weighted_nms;
	}
	if (d->kind == VG_DECODER_SSD_PRIORBOX) {
		static const float caffe_variances[4] = { 0.1f, 0.1f, 0.2f, 0.2f };
		d->dout = (vg_detection_output_params){
			.num_classes = d->num_classes,
			.background_label_id = 0,
			/* No NMS is an overlap nothing exceeds. */
			.nms_threshold = nms == VG_NMS_NONE ? 1.0f : iou,
			.top_k = d->top_k,
			.keep_top_k = c->max_detections > 0 ? c->max_detections : 200,
		};
		memcpy(d->dout.variances, c->has_variances ? c->priors.variances : caffe_variances,
		       sizeof d->dout.variances);
	}

	if (load_labels(d, err, errlen) < 0 || parse_class_filter(d, err, errlen) < 0)
		goto fail;
	if (alloc_scratch(d, err, errlen) < 0)
		goto fail;
	d->candidates = malloc(VG_MAX_DETECTIONS * sizeof *d->candidates);
	if (!d->candidates) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	atomic_init(&d->decode_threshold, d->threshold);
	write_summary(d);
	*out = d;
	return 0;
fail:
	vg_detector_destroy(d);
	return -1;
}

/* An output as float values: itself, or dequantized into scratch. */
const float *vg_det_output_floats(vg_detector *d, int index)
{
	const nn_tensor *t = d->outs[index];
	if (t->dtype == NN_F32)
		return t->data;
	float *f = d->scratch[index];
	int64_t n = nn_tensor_elements(t);
	float scale = t->quant.count ? t->quant.scale[0] : 1.0f;
	int32_t zp = t->quant.count && t->quant.zero_point ? t->quant.zero_point[0] : 0;
	for (int64_t i = 0; i < n; i++) {
		int32_t q;
		switch (t->dtype) {
		case NN_U8: q = ((const uint8_t *)t->data)[i]; break;
		case NN_I8: q = ((const int8_t *)t->data)[i]; break;
		case NN_I32: q = ((const int32_t *)t->data)[i]; break;
		default: q = 0; break;
		}
		f[i] = scale * (float)(q - zp);
	}
	return f;
}

static int keep_class(const vg_detector *d, int class_id)
{
	if (d->n_keep == 0)
		return 1;
	for (int i = 0; i < d->n_keep; i++)
		if (d->keep[i] == class_id)
			return 1;
	return 0;
}

int vg_det_decode(vg_detector *d)
{
	vg_detection *cand = d->candidates;
	switch (d->kind) {
	case VG_DECODER_POSTPROCESSED: {
		const nn_tensor *boxes = d->outs[d->out_boxes];
		int rows = boxes->shape[1];
		int found = (int)vg_det_output_floats(d, d->out_count)[0];
		if (found < rows && found >= 0)
			rows = found;
		return vg_decode_postprocessed(vg_det_output_floats(d, d->out_boxes), vg_det_output_floats(d, d->out_classes),
					       vg_det_output_floats(d, d->out_scores), rows, d->threshold, cand,
					       VG_MAX_DETECTIONS);
	}
	case VG_DECODER_CLASSIFIER: {
		const nn_tensor *t = d->outs[d->out_scores];
		int k = d->top_k < VG_MAX_DETECTIONS ? d->top_k : VG_MAX_DETECTIONS;
		return vg_decode_top_k(vg_det_output_floats(d, d->out_scores), t->shape[t->rank - 1], k, d->threshold, cand);
	}
	case VG_DECODER_MOVENET:
		return vg_decode_movenet(vg_det_output_floats(d, d->out_dets), d->n_pose_keypoints, d->threshold,
					 VG_KEYPOINT_MIN_SCORE, cand);
	case VG_DECODER_CENTERNET: {
		const nn_tensor *t = d->outs[d->out_dets];
		return vg_decode_centernet(vg_det_output_floats(d, d->out_dets), t->shape[1], (float)d->in_w, (float)d->in_h,
					   d->threshold, d->iou, d->per_class_nms, cand, VG_MAX_DETECTIONS);
	}
	case VG_DECODER_CENTERNET_RAW: {
		const nn_tensor *h = d->outs[d->out_heat];
		vg_centernet_params p = {
			.height = h->shape[1],
			.width = h->shape[2],
			.num_classes = h->shape[3],
			.in_w = (float)d->in_w,
			.in_h = (float)d->in_h,
			.center_offset = d->center_offset,
			.size_scale = 1,
			.top_k = d->top_k,
			.iou_threshold = d->iou,
			.per_class_nms = d->per_class_nms,
		};
		return vg_decode_centernet_raw(vg_det_output_floats(d, d->out_heat), vg_det_output_floats(d, d->out_wh), &p,
					       d->threshold, cand, VG_MAX_DETECTIONS);
	}
	case VG_DECODER_NANODET: {
		vg_nanodet_level lv[MAX_LEVELS];
		for (int i = 0; i < d->n_levels; i++) {
			lv[i] = (vg_nanodet_level){ .scores = vg_det_output_floats(d, d->level[i].scores),
						    .dist = vg_det_output_floats(d, d->level[i].dist),
						    .width = d->level[i].width,
						    .height = d->level[i].height,
						    .stride = d->level[i].stride };
		}
		vg_nanodet_params p = {
			.num_classes = d->num_classes,
			.reg_max = d->reg_max,
			.in_w = (float)d->in_w,
			.in_h = (float)d->in_h,
			.center_offset = d->center_offset,
			.iou_threshold = d->iou,
			.per_class_nms = d->per_class_nms,
		};
		return vg_decode_nanodet(lv, d->n_levels, &p, d->threshold, cand, VG_MAX_DETECTIONS);
	}
	case VG_DECODER_BLAZEFACE: {
		const float *boxes = vg_det_output_floats(d, d->part_boxes[0]), *scores = vg_det_output_floats(d, d->part_scores[0]);
		if (d->combined) {
			/* Score and box interleaved per anchor: split them. */
			size_t w = (size_t)d->bf.coords + 1;
			for (size_t i = 0; i < (size_t)d->bf.n; i++) {
				d->bf_scores[i] = boxes[i * w];
				memcpy(d->bf_boxes + i * (w - 1), boxes + i * w + 1, (w - 1) * sizeof(float));
			}
			boxes = d->bf_boxes;
			scores = d->bf_scores;
		} else if (d->n_parts > 1) {
			/* The grids' outputs concatenated in anchor order. */
			size_t at = 0;
			for (int p = 0; p < d->n_parts; p++) {
				size_t n = (size_t)d->part_count[p];
				memcpy(d->bf_boxes + at * (size_t)d->bf.coords, vg_det_output_floats(d, d->part_boxes[p]),
				       n * (size_t)d->bf.coords * sizeof(float));
				memcpy(d->bf_scores + at, vg_det_output_floats(d, d->part_scores[p]), n * sizeof(float));
				at += n;
			}
			boxes = d->bf_boxes;
			scores = d->bf_scores;
		}
		int n = vg_decode_blazeface(boxes, scores, &d->bf, d->threshold, cand, VG_MAX_DETECTIONS);
		const vg_keypoint_layout *layout = d->cfg.keypoint_layout;
		for (int i = 0; i < n; i++)
			cand[i].layout = layout && layout->count == cand[i].n_keypoints ? layout : NULL;
		return n;
	}
	case VG_DECODER_SSD_PRIORBOX:
		return vg_decode_ssd_priorbox(vg_det_output_floats(d, d->out_boxes), vg_det_output_floats(d, d->out_scores), d->anchors,
					      d->n_priors, &d->dout, d->threshold, cand, VG_MAX_DETECTIONS);
	case VG_DECODER_YOLOX:
	case VG_DECODER_YOLOV5:
	case VG_DECODER_YOLOV8:
	case VG_DECODER_FASTESTV2:
	case VG_DECODER_ULTRAFACE:
	case VG_DECODER_SSD_ANCHORS:
	case VG_DECODER_NMS_ROWS: return vg_det_decode_yolo(d, cand, VG_MAX_DETECTIONS);
	case VG_DECODER_SEGMENTATION: {
		const nn_tensor *t = d->outs[d->seg.output];
		int x0, y0, x1, y1, ids = d->seg.layout == VG_SEG_INDICES && t->dtype != NN_F32;
		vg_segment_crop(d->pre, d->seg.width, d->seg.height, &x0, &y0, &x1, &y1);
		vg_segment_decode(&d->seg, ids ? NULL : vg_det_output_floats(d, d->seg.output),
				  ids && t->dtype == NN_I64 ? t->data : NULL, ids && t->dtype == NN_I32 ? t->data : NULL,
				  x0, y0, x1, y1, &d->mask);
		return 0;
	}
	case VG_DECODER_AUTO: break;
	}
	return 0;
}

int vg_detector_run(vg_detector *d, const vg_frame *frame, vg_detection *out, int max, int64_t *pre_us,
		    int64_t *infer_us, int64_t *post_us, char *err, size_t errlen)
{
	int64_t t0 = vg_mono_us();
	d->threshold = atomic_load(&d->decode_threshold);
	nn_tensor *input = nn_model_input(d->model, 0);
	if (vg_preprocess_run(d->pre, frame, input) < 0) {
		snprintf(err, errlen, "cannot scale a %dx%d frame to the model's input", frame->width, frame->height);
		return -1;
	}
	int64_t t1 = vg_mono_us();
	if (nn_model_run(d->model, err, errlen) < 0)
		return -1;
	int64_t t2 = vg_mono_us();
	/* The decoders read only the other outputs, so the state can move on before them. */
	carry_state(d);

	int limit = max < d->opt.max_detections ? max : d->opt.max_detections;
	int n = vg_det_decode(d);
	int kept = 0;
	for (int i = 0; i < n && kept < limit; i++) {
		vg_detection *c = &d->candidates[i];
		if (!keep_class(d, c->class_id))
			continue;
		if (!c->whole_frame) {
			vg_preprocess_map_box(d->pre, c);
			for (int k = 0; k < c->n_keypoints; k++)
				vg_preprocess_map_point(d->pre, &c->keypoints[k].x, &c->keypoints[k].y);
		}
		const char *name = vg_labels_get(&d->labels, c->class_id);
		if (name)
			snprintf(c->label, sizeof c->label, "%s", name);
		out[kept++] = *c;
	}
	int64_t t3 = vg_mono_us();
	if (pre_us)
		*pre_us = t1 - t0;
	if (infer_us)
		*infer_us = t2 - t1;
	if (post_us)
		*post_us = t3 - t2;
	return kept;
}

int vg_detection_filter_init(vg_detection_filter *f, const vg_detector *d, const vg_detector_options *opt,
			     const char *option, char *err, size_t errlen)
{
	memset(f, 0, sizeof *f);
	f->threshold = vg_detector_resolve_threshold(opt, &d->cfg, d->kind);
	f->max_detections = opt->max_detections > 0 ? opt->max_detections
			    : d->cfg.max_detections > 0 ? d->cfg.max_detections
							: 100;
	if (f->max_detections > VG_MAX_DETECTIONS)
		f->max_detections = VG_MAX_DETECTIONS;
	if (!opt->classes)
		return 0;
	int n = vg_labels_parse_classes(&d->labels, opt->classes, option, "this model",
					" (it has no labels; give ids or --labels)", f->keep, VG_MAX_CLASS_FILTER, err,
					errlen);
	if (n < 0)
		return -1;
	f->n_keep = n;
	return 0;
}

static int filter_keeps(const vg_detection_filter *f, const vg_detection *c)
{
	if (!(c->score >= f->threshold))
		return 0;
	if (f->n_keep == 0)
		return 1;
	for (int i = 0; i < f->n_keep; i++)
		if (f->keep[i] == c->class_id)
			return 1;
	return 0;
}

int vg_detection_filter_apply(const vg_detection_filter *f, vg_detection *dets, int n)
{
	int kept = 0;
	for (int i = 0; i < n && kept < f->max_detections; i++)
		if (filter_keeps(f, &dets[i])) {
			if (kept != i)
				dets[kept] = dets[i];
			kept++;
		}
	return kept;
}

float vg_detector_threshold(const vg_detector *d)
{
	return atomic_load(&d->decode_threshold);
}

int vg_detector_threshold_filters(const vg_detector *d)
{
	/* Weighted NMS blends a box with the lower-scoring boxes it suppresses, so more candidates move it. */
	return !d->weighted_nms && d->kind != VG_DECODER_SEGMENTATION;
}

void vg_detector_lower_threshold(vg_detector *d, float threshold)
{
	float now = atomic_load(&d->decode_threshold);
	while (threshold < now && !atomic_compare_exchange_weak(&d->decode_threshold, &now, threshold))
		;
}

const char *vg_detector_decoder_name(const vg_detector *d)
{
	return vg_decoder_name(d->kind);
}

const char *vg_detector_decoder_reason(const vg_detector *d)
{
	return d->reason;
}

const char *vg_detector_config_summary(const vg_detector *d)
{
	return d->summary;
}

struct nn_model *vg_detector_model(vg_detector *d)
{
	return d->model;
}

const vg_labels *vg_detector_labels(const vg_detector *d)
{
	return &d->labels;
}

const vg_seg_mask *vg_detector_segmentation(const vg_detector *d)
{
	return d->kind == VG_DECODER_SEGMENTATION ? &d->mask : NULL;
}

void vg_detector_destroy(vg_detector *d)
{
	if (!d)
		return;
	vg_seg_mask_free(&d->mask);
	for (int i = 0; i < d->n_scratch; i++)
		free(d->scratch[i]);
	free(d->scratch);
	free(d->candidates);
	free(d->anchors);
	free(d->bf_boxes);
	free(d->bf_scores);
	free(d->yolo.priors);
	free(d->outs);
	vg_ultra_meta_free(&d->meta);
	vg_labels_free(&d->labels);
	vg_model_config_free(&d->cfg);
	vg_preprocess_destroy(d->pre);
	if (d->model)
		nn_model_free(d->model);
	free(d);
}

int vg_decode_tensors(const nn_tensor *outputs, int n_outputs, int in_w, int in_h, const vg_model_config *cfg,
		      const char *decoder, float threshold, vg_decoder_kind *kind, char *reason, size_t reasonlen,
		      vg_detection *out, int max, char *err, size_t errlen)
{
	for (int i = 0; i < n_outputs; i++)
		if (outputs[i].dtype != NN_F32 || !outputs[i].data) {
			snprintf(err, errlen, "output %d is not float32 data", i);
			return -1;
		}
	vg_detector *d = vg_det_detached(outputs, n_outputs, in_w, in_h, cfg, decoder, "tensors", err, errlen);
	if (!d)
		return -1;
	int rc = vg_det_choose(d, err, errlen);
	*kind = d->kind;
	snprintf(reason, reasonlen, "%s", d->reason);
	if (rc == 0) {
		/* The detector's defaults for the decoders these tensors can reach. */
		d->threshold = threshold > 0 ? threshold : vg_detector_resolve_threshold(&d->opt, &d->cfg, d->kind);
		d->top_k = 100;
		d->per_class_nms = 1;
		if (vg_det_is_yolo(d->kind)) {
			float t;
			vg_det_yolo_nms_defaults(d->kind, &d->iou, &d->per_class_nms, &t);
		} else if (d->kind == VG_DECODER_NANODET) {
			d->iou = 0.6f;
			d->center_offset = 0.5f;
		} else {
			d->iou = 0.5f;
		}
		if (d->cfg.iou > 0)
			d->iou = d->cfg.iou;
		int n = vg_det_decode(d);
		rc = n < max ? n : max;
		memcpy(out, d->candidates, (size_t)rc * sizeof *out);
	}
	vg_det_detached_free(d);
	return rc;
}
