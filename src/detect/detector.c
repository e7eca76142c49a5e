#include "detect/detector.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "detect/decode.h"
#include "detect/labels.h"
#include "nn/nn.h"

#define MAX_CLASS_FILTER 256

struct vg_detector {
	vg_detector_options opt;
	nn_model *model;
	vg_preprocess *pre;
	vg_labels labels;
	vg_decoder_kind kind;
	char reason[256];
	/* Output tensor indices bound by the decoder. */
	int out_boxes, out_classes, out_scores, out_count;
	/* Dequantized copies of quantized outputs. */
	float *scratch[4];
	int n_keep;
	int keep[MAX_CLASS_FILTER];
	vg_detection *candidates;
};

const char *vg_decoder_name(vg_decoder_kind kind)
{
	switch (kind) {
	case VG_DECODER_AUTO: return "auto";
	case VG_DECODER_POSTPROCESSED: return "postprocessed";
	case VG_DECODER_CLASSIFIER: return "classifier";
	}
	return "unknown";
}

static void shape_str(const nn_tensor *t, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "%s[", nn_dtype_name(t->dtype));
	for (int i = 0; i < t->rank && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%d", i ? "," : "", t->shape[i]);
	if (n < len)
		snprintf(buf + n, len - n, "]");
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = s ? strlen(s) : 0, b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Binds TFLite_Detection_PostProcess outputs by shape: [1,N,4] boxes, [1] count, two [1,N] classes and scores. */
static int bind_postprocessed(vg_detector *d)
{
	int n_out = nn_model_output_count(d->model);
	if (n_out != 4)
		return 0;
	int boxes = -1, count = -1, pair[2] = { -1, -1 }, n_pair = 0, n = 0;
	for (int i = 0; i < 4; i++) {
		const nn_tensor *t = nn_model_output(d->model, i);
		if (t->rank == 3 && t->shape[0] == 1 && t->shape[2] == 4) {
			boxes = i;
			n = t->shape[1];
		} else if (nn_tensor_elements(t) == 1) {
			count = i;
		} else if (t->rank == 2 && t->shape[0] == 1 && n_pair < 2) {
			pair[n_pair++] = i;
		}
	}
	if (boxes < 0 || count < 0 || n_pair != 2 || nn_model_output(d->model, pair[0])->shape[1] != n ||
	    nn_model_output(d->model, pair[1])->shape[1] != n)
		return 0;
	/* The op names its outputs ":0" boxes, ":1" classes, ":2" scores, ":3" count; otherwise keep that order. */
	int classes = pair[0], scores = pair[1];
	if (ends_with(nn_model_output(d->model, pair[0])->name, ":2") ||
	    ends_with(nn_model_output(d->model, pair[1])->name, ":1")) {
		classes = pair[1];
		scores = pair[0];
	}
	d->out_boxes = boxes;
	d->out_classes = classes;
	d->out_scores = scores;
	d->out_count = count;
	snprintf(d->reason, sizeof d->reason,
		 "4 outputs shaped like TFLite_Detection_PostProcess: boxes [1,%d,4], classes, scores, count", n);
	return 1;
}

static int bind_classifier(vg_detector *d)
{
	if (nn_model_output_count(d->model) != 1)
		return 0;
	const nn_tensor *t = nn_model_output(d->model, 0);
	if (t->rank < 1 || nn_tensor_elements(t) != t->shape[t->rank - 1] || t->shape[t->rank - 1] < 2)
		return 0;
	d->out_scores = 0;
	snprintf(d->reason, sizeof d->reason, "one output of %d class scores", t->shape[t->rank - 1]);
	return 1;
}

static int choose_decoder(vg_detector *d, char *err, size_t errlen)
{
	const char *want = d->opt.decoder;
	if (want && strcmp(want, "auto") != 0) {
		int ok;
		if (!strcmp(want, "postprocessed"))
			ok = bind_postprocessed(d), d->kind = VG_DECODER_POSTPROCESSED;
		else if (!strcmp(want, "classifier"))
			ok = bind_classifier(d), d->kind = VG_DECODER_CLASSIFIER;
		else {
			snprintf(err, errlen, "unknown decoder '%s' (known: auto, postprocessed, classifier)", want);
			return -1;
		}
		if (!ok) {
			snprintf(err, errlen, "%s: the model's outputs do not fit the '%s' decoder", d->opt.model, want);
			return -1;
		}
		snprintf(d->reason, sizeof d->reason, "chosen with --decoder");
		return 0;
	}
	if (bind_postprocessed(d)) {
		d->kind = VG_DECODER_POSTPROCESSED;
		return 0;
	}
	if (bind_classifier(d)) {
		d->kind = VG_DECODER_CLASSIFIER;
		return 0;
	}
	char shapes[512] = "";
	size_t n = 0;
	for (int i = 0; i < nn_model_output_count(d->model) && n < sizeof shapes - 64; i++) {
		char s[128];
		shape_str(nn_model_output(d->model, i), s, sizeof s);
		n += (size_t)snprintf(shapes + n, sizeof shapes - n, "%s%s", i ? ", " : "", s);
	}
	snprintf(err, errlen, "%s: cannot tell how to decode outputs %s; pass --decoder", d->opt.model, shapes);
	return -1;
}

static int load_labels(vg_detector *d, char *err, size_t errlen)
{
	if (d->opt.labels)
		return vg_labels_load(&d->labels, d->opt.labels, err, errlen);
	int n = 0;
	const char *const *names = nn_model_labels(d->model, &n);
	if (!names || n == 0)
		return 0;
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
	char *list = strdup(d->opt.classes), *save = NULL;
	if (!list)
		return -1;
	for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (isspace((unsigned char)*tok))
			tok++;
		char *end = tok + strlen(tok);
		while (end > tok && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (!*tok)
			continue;
		int id = -1;
		for (int i = 0; i < d->labels.count; i++) {
			if (d->labels.names[i] && !strcasecmp(d->labels.names[i], tok)) {
				id = i;
				break;
			}
		}
		if (id < 0) {
			char *num_end;
			long v = strtol(tok, &num_end, 10);
			if (*num_end || num_end == tok || v < 0 || v > 100000) {
				snprintf(err, errlen, "--classes: '%s' is not a class name of this model%s", tok,
					 d->labels.count ? "" : " (it has no labels; give ids or --labels)");
				free(list);
				return -1;
			}
			id = (int)v;
		}
		if (d->n_keep == MAX_CLASS_FILTER) {
			snprintf(err, errlen, "--classes: more than %d classes", MAX_CLASS_FILTER);
			free(list);
			return -1;
		}
		d->keep[d->n_keep++] = id;
	}
	free(list);
	if (d->n_keep == 0) {
		snprintf(err, errlen, "--classes: no class given");
		return -1;
	}
	return 0;
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
	if (d->opt.max_detections <= 0)
		d->opt.max_detections = 100;
	if (d->opt.max_detections > VG_MAX_DETECTIONS)
		d->opt.max_detections = VG_MAX_DETECTIONS;
	if (d->opt.top_k <= 0)
		d->opt.top_k = 5;
	if (nn_model_load(&d->model, opt->model, err, errlen) < 0)
		goto fail;
	nn_prepare_options po = { .threads = opt->threads > 0 ? opt->threads : 1, .reference_only = opt->reference_only };
	if (nn_model_prepare(d->model, &po, err, errlen) < 0)
		goto fail;
	if (nn_model_input_count(d->model) < 1) {
		snprintf(err, errlen, "%s: the model has no input", opt->model);
		goto fail;
	}
	if (choose_decoder(d, err, errlen) < 0)
		goto fail;
	if (d->opt.threshold <= 0)
		d->opt.threshold = d->kind == VG_DECODER_CLASSIFIER ? 0.1f : 0.5f;
	char why[256];
	if (vg_preprocess_create(&d->pre, nn_model_input(d->model, 0), &d->opt.pre, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s: %s", opt->model, why);
		goto fail;
	}
	if (load_labels(d, err, errlen) < 0 || parse_class_filter(d, err, errlen) < 0)
		goto fail;
	for (int i = 0; i < nn_model_output_count(d->model) && i < 4; i++) {
		const nn_tensor *t = nn_model_output(d->model, i);
		if (t->dtype != NN_F32) {
			d->scratch[i] = malloc((size_t)nn_tensor_elements(t) * sizeof(float));
			if (!d->scratch[i]) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
		}
	}
	d->candidates = malloc(VG_MAX_DETECTIONS * sizeof *d->candidates);
	if (!d->candidates) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	*out = d;
	return 0;
fail:
	vg_detector_destroy(d);
	return -1;
}

/* An output as float values: itself, or dequantized into scratch. */
static const float *output_floats(vg_detector *d, int index)
{
	const nn_tensor *t = nn_model_output(d->model, index);
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

int vg_detector_run(vg_detector *d, const vg_frame *frame, vg_detection *out, int max, int64_t *pre_us,
		    int64_t *infer_us, int64_t *post_us, char *err, size_t errlen)
{
	int64_t t0 = vg_mono_us();
	nn_tensor *input = nn_model_input(d->model, 0);
	if (vg_preprocess_run(d->pre, frame, input) < 0) {
		snprintf(err, errlen, "cannot scale a %dx%d frame to the model's input", frame->width, frame->height);
		return -1;
	}
	int64_t t1 = vg_mono_us();
	if (nn_model_run(d->model, err, errlen) < 0)
		return -1;
	int64_t t2 = vg_mono_us();

	int limit = max < d->opt.max_detections ? max : d->opt.max_detections;
	int n = 0;
	if (d->kind == VG_DECODER_POSTPROCESSED) {
		const nn_tensor *boxes = nn_model_output(d->model, d->out_boxes);
		int rows = boxes->shape[1];
		int found = (int)output_floats(d, d->out_count)[0];
		if (found < rows && found >= 0)
			rows = found;
		n = vg_decode_postprocessed(output_floats(d, d->out_boxes), output_floats(d, d->out_classes),
					    output_floats(d, d->out_scores), rows, d->opt.threshold, d->candidates,
					    VG_MAX_DETECTIONS);
	} else {
		const nn_tensor *t = nn_model_output(d->model, d->out_scores);
		n = vg_decode_top_k(output_floats(d, d->out_scores), t->shape[t->rank - 1], d->opt.top_k,
				    d->opt.threshold, d->candidates);
	}
	int kept = 0;
	for (int i = 0; i < n && kept < limit; i++) {
		vg_detection *c = &d->candidates[i];
		if (!keep_class(d, c->class_id))
			continue;
		if (!c->whole_frame)
			vg_preprocess_map_box(d->pre, c);
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

const char *vg_detector_decoder_name(const vg_detector *d)
{
	return vg_decoder_name(d->kind);
}

const char *vg_detector_decoder_reason(const vg_detector *d)
{
	return d->reason;
}

struct nn_model *vg_detector_model(vg_detector *d)
{
	return d->model;
}

void vg_detector_destroy(vg_detector *d)
{
	if (!d)
		return;
	for (int i = 0; i < 4; i++)
		free(d->scratch[i]);
	free(d->candidates);
	vg_labels_free(&d->labels);
	vg_preprocess_destroy(d->pre);
	if (d->model)
		nn_model_free(d->model);
	free(d);
}
