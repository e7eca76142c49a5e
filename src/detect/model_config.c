#include "detect/model_config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "detect/detector.h"
#include "detect/keypoints.h"
#include "detect/labels.h"
#include "detect/segment.h"

/* Sidecars are a few hundred bytes; a megabyte is not one. */
#define MAX_SIDECAR_BYTES (1 << 20)

void vg_model_config_init(vg_model_config *c)
{
	memset(c, 0, sizeof *c);
	c->keypoints = -1;
}

static void free_labels(vg_model_config *c)
{
	free(c->labels_path);
	c->labels_path = NULL;
	for (int i = 0; i < c->n_labels; i++)
		free(c->label_names[i]);
	free(c->label_names);
	c->label_names = NULL;
	c->n_labels = 0;
	c->labels_coco80 = 0;
}

void vg_model_config_free(vg_model_config *c)
{
	if (!c)
		return;
	free_labels(c);
	vg_model_config_init(c);
}

const char *vg_nms_kind_name(vg_nms_kind kind)
{
	switch (kind) {
	case VG_NMS_DEFAULT: return "default";
	case VG_NMS_PER_CLASS: return "per-class";
	case VG_NMS_CLASS_AGNOSTIC: return "class-agnostic";
	case VG_NMS_WEIGHTED: return "weighted";
	case VG_NMS_NONE: return "none";
	}
	return "unknown";
}

/* Formats "PATH: key 'KEY': ..." into err and returns -1. */
static int key_error(char *err, size_t errlen, const char *path, const char *key, const char *fmt, ...)
{
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s: key '%s': %s", path, key, what);
	return -1;
}

static int get_number(const cJSON *v, double lo, double hi, double *out)
{
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < lo || v->valuedouble > hi)
		return -1;
	*out = v->valuedouble;
	return 0;
}

static int get_int(const cJSON *v, int lo, int hi, int *out)
{
	double d;
	if (get_number(v, lo, hi, &d) < 0 || d != floor(d))
		return -1;
	*out = (int)d;
	return 0;
}

/* A number (all three the same) or an array of three numbers. */
static int get_triple(const cJSON *v, double lo, double hi, int nonzero, float out[3])
{
	double d;
	if (cJSON_IsNumber(v)) {
		if (get_number(v, lo, hi, &d) < 0 || (nonzero && d == 0))
			return -1;
		out[0] = out[1] = out[2] = (float)d;
		return 0;
	}
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 3)
		return -1;
	for (int i = 0; i < 3; i++) {
		if (get_number(cJSON_GetArrayItem(v, i), lo, hi, &d) < 0 || (nonzero && d == 0))
			return -1;
		out[i] = (float)d;
	}
	return 0;
}

/* Which of the strings in choices (NULL-terminated) s is, or -1. */
static int choice(const cJSON *v, const char *const *choices)
{
	if (!cJSON_IsString(v))
		return -1;
	for (int i = 0; choices[i]; i++)
		if (!strcmp(v->valuestring, choices[i]))
			return i;
	return -1;
}

/* dir of path (up to and including the last slash) joined with rel, unless rel is absolute. */
static char *resolve_relative(const char *path, const char *rel)
{
	const char *slash = strrchr(path, '/');
	size_t dir = (rel[0] == '/' || !slash) ? 0 : (size_t)(slash - path + 1);
	size_t n = strlen(rel);
	char *out = malloc(dir + n + 1);
	if (!out)
		return NULL;
	memcpy(out, path, dir);
	memcpy(out + dir, rel, n + 1);
	return out;
}

static int parse_labels(vg_model_config *c, const cJSON *v, const char *path, char *err, size_t errlen)
{
	free_labels(c);
	if (cJSON_IsString(v)) {
		if (!v->valuestring[0])
			return key_error(err, errlen, path, "labels", "expected a file name, not an empty string");
		if (!strncmp(v->valuestring, "builtin:", 8)) {
			if (strcmp(v->valuestring + 8, "coco80") != 0)
				return key_error(err, errlen, path, "labels",
						 "unknown built-in label set '%s' (known: builtin:coco80)",
						 v->valuestring);
			c->labels_coco80 = 1;
			return 0;
		}
		c->labels_path = resolve_relative(path, v->valuestring);
		return c->labels_path ? 0 : key_error(err, errlen, path, "labels", "out of memory");
	}
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0)
		return key_error(err, errlen, path, "labels",
				 "expected a file name or a non-empty array of class names");
	int n = cJSON_GetArraySize(v);
	c->label_names = calloc((size_t)n, sizeof *c->label_names);
	if (!c->label_names)
		return key_error(err, errlen, path, "labels", "out of memory");
	const cJSON *item;
	cJSON_ArrayForEach(item, v)
	{
		if (!cJSON_IsString(item)) {
			int at = c->n_labels;
			free_labels(c);
			return key_error(err, errlen, path, "labels", "element %d is not a string", at);
		}
		if (!(c->label_names[c->n_labels++] = strdup(item->valuestring))) {
			free_labels(c);
			return key_error(err, errlen, path, "labels", "out of memory");
		}
	}
	return 0;
}

/* A bool or 0/1. */
static int get_bool(const cJSON *v, int *out)
{
	if (cJSON_IsBool(v)) {
		*out = cJSON_IsTrue(v);
		return 0;
	}
	return get_int(v, 0, 1, out);
}

static const char *const anchor_keys =
	"strides, min_scale, max_scale, aspect_ratios, interpolated_scale_aspect_ratio, offset, offset_x, offset_y, "
	"fixed_anchor_size, reduce_boxes_in_lowest_layer, per_layer";

/*
 * SsdAnchorsCalculator's options under their MediaPipe names (num_layers is
 * the length of strides; the input size is the model's). What is not given
 * is MediaPipe's BlazeFace setting (vg_anchor_config_mediapipe). per_layer N
 * is a shorthand for N fixed-size anchors per cell and layer.
 */
static int parse_anchors(vg_model_config *c, const cJSON *v, const char *path, char *err, size_t errlen)
{
	if (!cJSON_IsObject(v))
		return key_error(err, errlen, path, "anchors",
				 "expected an object like "
				 "{\"strides\": [8, 16, 16, 16], \"aspect_ratios\": [1.0], \"offset\": 0.5}");
	vg_anchor_config a = { 0 };
	vg_anchor_config_mediapipe(&a);
	int have_strides = 0, per_layer = 0, have_ratios = 0, have_interp = 0;
	const cJSON *item;
	cJSON_ArrayForEach(item, v)
	{
		const char *k = item->string;
		double d;
		if (!strcmp(k, "strides")) {
			int n = cJSON_IsArray(item) ? cJSON_GetArraySize(item) : 0;
			if (n < 1 || n > VG_ANCHOR_MAX_LAYERS)
				return key_error(err, errlen, path, "anchors.strides",
						 "expected an array of 1 to %d strides", VG_ANCHOR_MAX_LAYERS);
			for (int i = 0; i < n; i++)
				if (get_int(cJSON_GetArrayItem(item, i), 1, 4096, &a.strides[i]) < 0)
					return key_error(err, errlen, path, "anchors.strides",
							 "element %d is not a whole number from 1 to 4096", i);
			a.n_layers = n;
			have_strides = 1;
		} else if (!strcmp(k, "per_layer")) {
			if (get_int(item, 1, VG_ANCHOR_MAX_RATIOS, &per_layer) < 0)
				return key_error(err, errlen, path, "anchors.per_layer",
						 "expected a whole number from 1 to %d", VG_ANCHOR_MAX_RATIOS);
		} else if (!strcmp(k, "min_scale") || !strcmp(k, "max_scale")) {
			if (get_number(item, 0, 100, &d) < 0)
				return key_error(err, errlen, path, k, "expected a number from 0 to 100");
			*(k[1] == 'i' ? &a.min_scale : &a.max_scale) = (float)d;
		} else if (!strcmp(k, "aspect_ratios")) {
			int n = cJSON_IsArray(item) ? cJSON_GetArraySize(item) : 0;
			if (n < 1 || n > VG_ANCHOR_MAX_RATIOS)
				return key_error(err, errlen, path, "anchors.aspect_ratios",
						 "expected an array of 1 to %d positive numbers", VG_ANCHOR_MAX_RATIOS);
			for (int i = 0; i < n; i++)
				if (get_number(cJSON_GetArrayItem(item, i), 1e-3, 1e3, &d) < 0)
					return key_error(err, errlen, path, "anchors.aspect_ratios",
							 "element %d is not a number from 0.001 to 1000", i);
				else
					a.aspect_ratios[i] = (float)d;
			a.n_aspect_ratios = n;
			have_ratios = 1;
		} else if (!strcmp(k, "interpolated_scale_aspect_ratio")) {
			if (get_number(item, 0, 1e3, &d) < 0)
				return key_error(err, errlen, path, k, "expected a number from 0 (none) to 1000");
			a.interpolated_scale_aspect_ratio = (float)d;
			have_interp = 1;
		} else if (!strcmp(k, "offset") || !strcmp(k, "offset_x") || !strcmp(k, "offset_y")) {
			if (get_number(item, 0, 1, &d) < 0)
				return key_error(err, errlen, path, k, "expected a number from 0 to 1 (cells)");
			if (strcmp(k, "offset_y") != 0)
				a.offset_x = (float)d;
			if (strcmp(k, "offset_x") != 0)
				a.offset_y = (float)d;
		} else if (!strcmp(k, "fixed_anchor_size") || !strcmp(k, "reduce_boxes_in_lowest_layer")) {
			int b;
			if (get_bool(item, &b) < 0)
				return key_error(err, errlen, path, k, "expected true or false");
			*(k[0] == 'f' ? &a.fixed_anchor_size : &a.reduce_boxes_in_lowest_layer) = b;
		} else {
			return key_error(err, errlen, path, k, "unknown key in 'anchors' (known: %s)", anchor_keys);
		}
	}
	if (!have_strides)
		return key_error(err, errlen, path, "anchors", "'strides' is missing");
	if (per_layer) {
		if (have_ratios || have_interp)
			return key_error(err, errlen, path, "anchors.per_layer",
					 "give either per_layer or aspect_ratios/interpolated_scale_aspect_ratio");
		/* N unit anchors: N - 1 of ratio 1 and the interpolated one, or just one. */
		a.n_aspect_ratios = per_layer > 1 ? per_layer - 1 : 1;
		for (int i = 0; i < a.n_aspect_ratios; i++)
			a.aspect_ratios[i] = 1.0f;
		a.interpolated_scale_aspect_ratio = per_layer > 1 ? 1.0f : 0.0f;
		a.fixed_anchor_size = 1;
	}
	if (a.max_scale < a.min_scale)
		return key_error(err, errlen, path, "anchors.max_scale", "is below min_scale");
	c->anchors = a;
	c->has_anchors = 1;
	return 0;
}

static const char *const prior_keys = "min_size, max_size, aspect_ratios, flip, step, step_w, step_h, offset, feature_map";

/* A number or an array of 1 to max numbers in [lo, hi]; returns the count or -1. */
static int get_floats(const cJSON *v, double lo, double hi, float *out, int max)
{
	double d;
	if (cJSON_IsNumber(v)) {
		if (get_number(v, lo, hi, &d) < 0)
			return -1;
		out[0] = (float)d;
		return 1;
	}
	int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0;
	if (n < 1 || n > max)
		return -1;
	for (int i = 0; i < n; i++) {
		if (get_number(cJSON_GetArrayItem(v, i), lo, hi, &d) < 0)
			return -1;
		out[i] = (float)d;
	}
	return n;
}

/* One Caffe PriorBox layer, "priors[i]". */
static int parse_prior_layer(vg_prior_layer *l, const cJSON *v, int index, const char *path, char *err,
			     size_t errlen)
{
	char key[48];
	if (!cJSON_IsObject(v)) {
		snprintf(key, sizeof key, "priors[%d]", index);
		return key_error(err, errlen, path, key,
				 "expected an object like {\"min_size\": 30, \"max_size\": 60, \"aspect_ratios\": [2], "
				 "\"step\": 8, \"feature_map\": [38, 38]}");
	}
	memset(l, 0, sizeof *l);
	l->flip = 1;
	l->offset = 0.5f;
	int n_max = 0, have_step = 0, have_step_wh = 0;
	const cJSON *item;
	cJSON_ArrayForEach(item, v)
	{
		const char *k = item->string;
		double d;
		int n;
		snprintf(key, sizeof key, "priors[%d].%s", index, k);
		if (!strcmp(k, "min_size") || !strcmp(k, "max_size")) {
			float *dst = k[1] == 'i' ? l->min_size : l->max_size;
			if ((n = get_floats(item, 1e-3, 1e5, dst, VG_PRIOR_MAX_SIZES)) < 0)
				return key_error(err, errlen, path, key,
						 "expected a size in input pixels above 0, or an array of 1 to %d",
						 VG_PRIOR_MAX_SIZES);
			*(k[1] == 'i' ? &l->n_sizes : &n_max) = n;
		} else if (!strcmp(k, "aspect_ratios")) {
			if ((n = get_floats(item, 1e-3, 1e3, l->aspect_ratios, VG_PRIOR_MAX_RATIOS)) < 0)
				return key_error(err, errlen, path, key, "expected an array of 1 to %d numbers from 0.001 to 1000",
						 VG_PRIOR_MAX_RATIOS);
			l->n_ratios = n;
		} else if (!strcmp(k, "flip")) {
			if (get_bool(item, &l->flip) < 0)
				return key_error(err, errlen, path, key, "expected true or false");
		} else if (!strcmp(k, "step") || !strcmp(k, "step_w") || !strcmp(k, "step_h")) {
			if (get_number(item, 1e-3, 1e5, &d) < 0)
				return key_error(err, errlen, path, key, "expected a number of input pixels above 0");
			if (k[4] != '_' || k[5] == 'w')
				l->step_w = (float)d;
			if (k[4] != '_' || k[5] == 'h')
				l->step_h = (float)d;
			*(k[4] == '_' ? &have_step_wh : &have_step) = 1;
		} else if (!strcmp(k, "offset")) {
			if (get_number(item, 0, 1, &d) < 0)
				return key_error(err, errlen, path, key, "expected a number from 0 to 1 (cells)");
			l->offset = (float)d;
		} else if (!strcmp(k, "feature_map")) {
			if (!cJSON_IsArray(item) || cJSON_GetArraySize(item) != 2 ||
			    get_int(cJSON_GetArrayItem(item, 0), 1, 4096, &l->feature_w) < 0 ||
			    get_int(cJSON_GetArrayItem(item, 1), 1, 4096, &l->feature_h) < 0)
				return key_error(err, errlen, path, key,
						 "expected [width, height] in cells, whole numbers from 1 to 4096");
		} else {
			return key_error(err, errlen, path, key, "unknown key in a prior layer (known: %s)", prior_keys);
		}
	}
	snprintf(key, sizeof key, "priors[%d]", index);
	if (l->n_sizes == 0)
		return key_error(err, errlen, path, key, "'min_size' is missing");
	if (n_max && n_max != l->n_sizes)
		return key_error(err, errlen, path, key, "give as many max sizes as min sizes (%d), or none", l->n_sizes);
	for (int i = 0; i < n_max; i++)
		if (!(l->max_size[i] > l->min_size[i]))
			return key_error(err, errlen, path, key, "each max_size must be above its min_size");
	if (have_step && have_step_wh)
		return key_error(err, errlen, path, key, "give 'step' or 'step_w' and 'step_h', not both");
	if (have_step_wh && !(l->step_w > 0 && l->step_h > 0))
		return key_error(err, errlen, path, key, "give both 'step_w' and 'step_h'");
	if (!l->feature_w && !(l->step_w > 0))
		return key_error(err, errlen, path, key, "give its 'feature_map' or its 'step'");
	return 0;
}

static int parse_priors(vg_model_config *c, const cJSON *v, const char *path, char *err, size_t errlen)
{
	int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0;
	if (n < 1 || n > VG_PRIOR_MAX_LAYERS)
		return key_error(err, errlen, path, "priors", "expected an array of 1 to %d prior layers",
				 VG_PRIOR_MAX_LAYERS);
	for (int i = 0; i < n; i++)
		if (parse_prior_layer(&c->priors.layers[i], cJSON_GetArrayItem(v, i), i, path, err, errlen) < 0)
			return -1;
	c->priors.n_layers = n;
	c->has_priors = 1;
	return 0;
}

static const char *const known_keys =
	"layout, color, mean, std, resize, letterbox_align, sampling, pad_value, decoder, labels, threshold, iou, nms, top_k, max_detections, "
	"center_offset, reg_max, anchors, box_scale, keypoints, keypoint_layout, score_clip, input_size, priors, "
	"variances, clip, crop_margin, comment";

static int parse_key(vg_model_config *c, const cJSON *v, const char *path, char *err, size_t errlen)
{
	static const char *const layouts[] = { "nhwc", "nchw", NULL };
	static const char *const colors[] = { "rgb", "bgr", NULL };
	static const char *const resizes[] = { "stretch", "letterbox", NULL };
	static const char *const nms_kinds[] = { "per-class", "class-agnostic", "weighted", "none", NULL };
	const char *k = v->string;
	double d;
	int i;
	if (!strcmp(k, "comment"))
		return 0;
	if (!strcmp(k, "layout")) {
		if ((i = choice(v, layouts)) < 0)
			return key_error(err, errlen, path, k, "expected \"nhwc\" or \"nchw\"");
		c->has_layout = 1;
		c->nchw = i;
	} else if (!strcmp(k, "color")) {
		if ((i = choice(v, colors)) < 0)
			return key_error(err, errlen, path, k, "expected \"rgb\" or \"bgr\"");
		c->has_color = 1;
		c->bgr = i;
	} else if (!strcmp(k, "mean")) {
		if (get_triple(v, -1e6, 1e6, 0, c->mean) < 0)
			return key_error(err, errlen, path, k, "expected a number or an array of 3 numbers");
		c->has_mean = 1;
	} else if (!strcmp(k, "std")) {
		if (get_triple(v, -1e6, 1e6, 1, c->std) < 0)
			return key_error(err, errlen, path, k,
					 "expected a non-zero number or an array of 3 non-zero numbers");
		c->has_std = 1;
	} else if (!strcmp(k, "resize")) {
		if ((i = choice(v, resizes)) < 0)
			return key_error(err, errlen, path, k, "expected \"stretch\" or \"letterbox\"");
		c->has_resize = 1;
		c->resize = i ? VG_RESIZE_LETTERBOX : VG_RESIZE_STRETCH;
	} else if (!strcmp(k, "letterbox_align")) {
		static const char *const aligns[] = { "center", "topleft", NULL };
		if ((i = choice(v, aligns)) < 0)
			return key_error(err, errlen, path, k, "expected \"center\" or \"topleft\"");
		c->has_align = 1;
		c->align_topleft = i;
	} else if (!strcmp(k, "sampling")) {
		static const char *const samplings[] = { "swscale", "warp", "linear", NULL };
		if ((i = choice(v, samplings)) < 0)
			return key_error(err, errlen, path, k, "expected \"swscale\", \"warp\" or \"linear\"");
		c->has_sampling = 1;
		c->sampling = i == 2 ? VG_SAMPLING_LINEAR : i ? VG_SAMPLING_WARP : VG_SAMPLING_SWSCALE;
	} else if (!strcmp(k, "pad_value")) {
		if (get_int(v, 0, 255, &i) < 0)
			return key_error(err, errlen, path, k, "expected a whole number from 0 to 255");
		c->has_pad = 1;
		c->pad_value = (uint8_t)i;
	} else if (!strcmp(k, "decoder")) {
		vg_decoder_kind kind;
		if (!cJSON_IsString(v) || vg_decoder_from_name(v->valuestring, &kind) < 0 ||
		    strlen(v->valuestring) >= sizeof c->decoder)
			return key_error(err, errlen, path, k, "expected one of %s", vg_decoder_names);
		snprintf(c->decoder, sizeof c->decoder, "%s", v->valuestring);
	} else if (!strcmp(k, "labels")) {
		return parse_labels(c, v, path, err, errlen);
	} else if (!strcmp(k, "threshold") || !strcmp(k, "iou")) {
		if (get_number(v, 0, 1, &d) < 0 || d <= 0)
			return key_error(err, errlen, path, k, "expected a number above 0, at most 1");
		*(k[0] == 't' ? &c->threshold : &c->iou) = (float)d;
	} else if (!strcmp(k, "nms")) {
		if ((i = choice(v, nms_kinds)) < 0)
			return key_error(err, errlen, path, k,
					 "expected \"per-class\", \"class-agnostic\", \"weighted\" or \"none\"");
		c->nms = (vg_nms_kind)(i + 1);
	} else if (!strcmp(k, "top_k") || !strcmp(k, "max_detections")) {
		if (get_int(v, 1, VG_MAX_DETECTIONS * 16, &i) < 0)
			return key_error(err, errlen, path, k, "expected a whole number from 1 to %d",
					 VG_MAX_DETECTIONS * 16);
		*(k[0] == 't' ? &c->top_k : &c->max_detections) = i;
	} else if (!strcmp(k, "center_offset")) {
		if (get_number(v, 0, 1, &d) < 0)
			return key_error(err, errlen, path, k, "expected a number from 0 to 1 (cells)");
		c->has_center_offset = 1;
		c->center_offset = (float)d;
	} else if (!strcmp(k, "reg_max")) {
		if (get_int(v, 1, 64, &c->reg_max) < 0)
			return key_error(err, errlen, path, k, "expected a whole number from 1 to 64");
	} else if (!strcmp(k, "anchors")) {
		return parse_anchors(c, v, path, err, errlen);
	} else if (!strcmp(k, "box_scale")) {
		if (cJSON_IsNumber(v)) {
			if (get_number(v, 1e-6, 1e6, &d) < 0)
				return key_error(err, errlen, path, k, "expected a positive number or an array of 4");
			c->box_scale[0] = c->box_scale[1] = c->box_scale[2] = c->box_scale[3] = (float)d;
		} else {
			if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 4)
				return key_error(err, errlen, path, k, "expected a positive number or an array of 4");
			for (i = 0; i < 4; i++) {
				if (get_number(cJSON_GetArrayItem(v, i), 1e-6, 1e6, &d) < 0)
					return key_error(err, errlen, path, k, "element %d is not a positive number", i);
				c->box_scale[i] = (float)d;
			}
		}
		c->has_box_scale = 1;
	} else if (!strcmp(k, "keypoints")) {
		if (get_int(v, 0, VG_MAX_KEYPOINTS, &c->keypoints) < 0)
			return key_error(err, errlen, path, k, "expected a whole number from 0 to %d", VG_MAX_KEYPOINTS);
	} else if (!strcmp(k, "keypoint_layout")) {
		if (!cJSON_IsString(v) || !(c->keypoint_layout = vg_keypoint_layout_find(v->valuestring)))
			return key_error(err, errlen, path, k,
					 "expected \"blazeface\", \"blazepalm\", \"pose_detector\" or \"coco17\"");
	} else if (!strcmp(k, "priors")) {
		return parse_priors(c, v, path, err, errlen);
	} else if (!strcmp(k, "variances")) {
		if (get_floats(v, 1e-6, 1e3, c->priors.variances, 4) != 4 || !cJSON_IsArray(v))
			return key_error(err, errlen, path, k, "expected an array of 4 positive numbers (x, y, w, h)");
		c->has_variances = 1;
	} else if (!strcmp(k, "clip")) {
		if (get_bool(v, &c->priors.clip) < 0)
			return key_error(err, errlen, path, k, "expected true or false");
		c->has_clip = 1;
	} else if (!strcmp(k, "crop_margin")) {
		if (get_number(v, 0, 2, &d) < 0)
			return key_error(err, errlen, path, k, "expected a number from 0 to 2 (fractions of the box)");
		c->crop_margin = (float)d;
		c->has_crop_margin = 1;
	} else if (!strcmp(k, "score_clip")) {
		if (get_number(v, 1e-6, 1e6, &d) < 0)
			return key_error(err, errlen, path, k, "expected a positive number");
		c->score_clip = (float)d;
	} else if (!strcmp(k, "input_size")) {
		if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2 || get_int(cJSON_GetArrayItem(v, 0), 1, 8192, &c->input_w) < 0 ||
		    get_int(cJSON_GetArrayItem(v, 1), 1, 8192, &c->input_h) < 0)
			return key_error(err, errlen, path, k, "expected [width, height], whole numbers from 1 to 8192");
	} else {
		return key_error(err, errlen, path, k, "unknown key (known: %s)", known_keys);
	}
	return 0;
}

int vg_model_config_parse(vg_model_config *c, const char *text, size_t len, const char *path, char *err,
			  size_t errlen)
{
	vg_model_config_init(c);
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (!root) {
		/* Line and column of where the parser gave up. */
		size_t at = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
		int line = 1, col = 1;
		for (size_t i = 0; i < at; i++) {
			if (text[i] == '\n') {
				line++;
				col = 1;
			} else {
				col++;
			}
		}
		snprintf(err, errlen, "%s: invalid JSON at line %d, column %d", path, line, col);
		return -1;
	}
	/* Nothing but white space may follow the object. */
	if (end) {
		while (end < text + len && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
			end++;
		if (end < text + len && *end) {
			cJSON_Delete(root);
			snprintf(err, errlen, "%s: invalid JSON: text after the object", path);
			return -1;
		}
	}
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		snprintf(err, errlen, "%s: expected a JSON object ({\"key\": value, ...})", path);
		return -1;
	}
	const cJSON *v;
	cJSON_ArrayForEach(v, root)
	{
		for (const cJSON *w = root->child; w != v; w = w->next) {
			if (!strcmp(w->string, v->string)) {
				key_error(err, errlen, path, v->string, "given twice");
				goto fail;
			}
		}
		if (parse_key(c, v, path, err, errlen) < 0)
			goto fail;
	}
	cJSON_Delete(root);
	snprintf(c->origin, sizeof c->origin, "sidecar %s", path);
	return 0;
fail:
	cJSON_Delete(root);
	vg_model_config_free(c);
	return -1;
}

int vg_model_config_load(vg_model_config *c, const char *path, char *err, size_t errlen)
{
	vg_model_config_init(c);
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "cannot open sidecar '%s': %s", path, strerror(errno));
		return -1;
	}
	char *buf = malloc(MAX_SIDECAR_BYTES + 1);
	size_t len = buf ? fread(buf, 1, MAX_SIDECAR_BYTES + 1, f) : 0;
	int bad = ferror(f);
	fclose(f);
	if (!buf || bad || len > MAX_SIDECAR_BYTES) {
		free(buf);
		snprintf(err, errlen, "sidecar '%s': %s", path,
			 !buf ? "out of memory" : bad ? "read error" : "larger than 1 MiB, not a sidecar");
		return -1;
	}
	buf[len] = '\0';
	int rc = vg_model_config_parse(c, buf, len, path, err, errlen);
	free(buf);
	return rc;
}

static int is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int vg_model_config_find_sidecar(const char *model, char *out, size_t outlen)
{
	if (!model || !*model)
		return 0;
	const char *slash = strrchr(model, '/');
	const char *base = slash ? slash + 1 : model;
	const char *dot = strrchr(base, '.');
	/* A leading dot is a hidden file's name, not an extension. */
	size_t stem = dot && dot != base ? (size_t)(dot - model) : strlen(model);
	if ((size_t)snprintf(out, outlen, "%.*s.vigil.json", (int)stem, model) < outlen && is_file(out) &&
	    strcmp(out, model) != 0)
		return 1;
	if ((size_t)snprintf(out, outlen, "%s.vigil.json", model) < outlen && is_file(out))
		return 1;
	out[0] = '\0';
	return 0;
}

int vg_model_config_input_size(const char *model, const char *sidecar, int *w, int *h, char *err, size_t errlen)
{
	*w = *h = 0;
	char found[4096];
	if (sidecar && !strcmp(sidecar, "none"))
		sidecar = NULL;
	else if (!sidecar && vg_model_config_find_sidecar(model, found, sizeof found))
		sidecar = found;
	if (sidecar) {
		vg_model_config side;
		if (vg_model_config_load(&side, sidecar, err, errlen) < 0)
			return -1;
		*w = side.input_w;
		*h = side.input_h;
		vg_model_config_free(&side);
		if (*w > 0)
			return 0;
	}
	/* OpenCV's face detector leaves its input size open; it was trained on 300x300. */
	const char *slash = model ? strrchr(model, '/') : NULL;
	const char *base = slash ? slash + 1 : model;
	if (base && !strncmp(base, "opencv_face_detector", 20)) {
		*w = 300;
		*h = 300;
	}
	return 0;
}

/* Built-in defaults. */

static int set_labels(vg_model_config *c, const char *const *names, int n)
{
	c->label_names = calloc((size_t)n, sizeof *c->label_names);
	if (!c->label_names)
		return -1;
	for (int i = 0; i < n; i++) {
		if (!(c->label_names[i] = strdup(names[i]))) {
			free_labels(c);
			return -1;
		}
		c->n_labels++;
	}
	return 0;
}

static void set3(float v[3], float a, float b, float c)
{
	v[0] = a;
	v[1] = b;
	v[2] = c;
}

/* centernet.json: github.com/610265158/mobilenetv3_centernet, COCO, detections in-graph. */
static void builtin_centernet(vg_model_config *c)
{
	c->has_layout = c->has_color = c->has_mean = c->has_std = c->has_resize = 1;
	c->nchw = 0;
	c->bgr = 0;
	/* The graph takes pixel values 0..255 as they are: it normalises internally. */
	set3(c->mean, 0, 0, 0);
	set3(c->std, 1, 1, 1);
	c->resize = VG_RESIZE_STRETCH;
	snprintf(c->decoder, sizeof c->decoder, "centernet");
	c->labels_coco80 = 1;
	c->threshold = 0.3f;
	c->iou = 0.5f;
	c->nms = VG_NMS_PER_CLASS;
}

/* nanodet.json: nanodet-m 416 (github.com/RangiLyu/nanodet, GFL head), converted through ONNX. */
static void builtin_nanodet(vg_model_config *c)
{
	c->has_layout = c->has_color = c->has_mean = c->has_std = c->has_resize = 1;
	c->nchw = 1;
	/* NanoDet's training pipeline reads images with OpenCV (BGR) and normalises with these. */
	c->bgr = 1;
	set3(c->mean, 103.53f, 116.28f, 123.675f);
	set3(c->std, 57.375f, 57.12f, 58.395f);
	c->resize = VG_RESIZE_STRETCH;
	snprintf(c->decoder, sizeof c->decoder, "nanodet");
	c->labels_coco80 = 1;
	c->threshold = 0.35f;
	c->iou = 0.6f;
	c->nms = VG_NMS_PER_CLASS;
	c->has_center_offset = 1;
	c->center_offset = 0.5f;
	c->reg_max = 10;
}

/* MediaPipe's BlazeFace: the front-camera model at 128x128, the back-camera model at 256x256. */
static int builtin_blazeface(vg_model_config *c, int size)
{
	static const char *const face[] = { "face" };
	c->has_layout = c->has_color = c->has_mean = c->has_std = c->has_resize = c->has_pad = 1;
	c->nchw = 0;
	c->bgr = 0;
	set3(c->mean, 127.5f, 127.5f, 127.5f);
	set3(c->std, 127.5f, 127.5f, 127.5f);
	/* MediaPipe keeps the aspect ratio and pads with black. */
	c->resize = VG_RESIZE_LETTERBOX;
	c->pad_value = 0;
	snprintf(c->decoder, sizeof c->decoder, "blazeface");
	c->threshold = 0.5f;
	c->iou = 0.3f;
	c->nms = VG_NMS_WEIGHTED;
	c->has_anchors = 1;
	vg_anchor_config_mediapipe(&c->anchors);
	c->anchors.n_layers = 4;
	c->anchors.strides[0] = size / 16;
	c->anchors.strides[1] = c->anchors.strides[2] = c->anchors.strides[3] = size / 8;
	c->has_box_scale = 1;
	c->box_scale[0] = c->box_scale[1] = c->box_scale[2] = c->box_scale[3] = (float)size;
	c->keypoints = 6;
	c->keypoint_layout = &vg_keypoints_blazeface;
	c->score_clip = 100;
	return set_labels(c, face, 1);
}

/* handdetect.json: MediaPipe's palm detector (BlazePalm) at 256x256, anchors of strides 8, 16, 32. */
static int builtin_handdetect(vg_model_config *c)
{
	static const char *const hand[] = { "hand" };
	if (builtin_blazeface(c, 256) < 0)
		return -1;
	free_labels(c);
	/* The 2019 hand tracker's palm model: 5 layers, scales from 0.1171875 (only the count matters here). */
	c->anchors.n_layers = 5;
	c->anchors.min_scale = 0.1171875f;
	const int strides[5] = { 8, 16, 32, 32, 32 };
	memcpy(c->anchors.strides, strides, sizeof strides);
	c->keypoints = 7;
	c->keypoint_layout = &vg_keypoints_blazepalm;
	return set_labels(c, hand, 1);
}

/*
 * MoveNet single-pose (lightning 192x192, thunder 256x256), by "movenet" in
 * its file name. It takes the whole frame stretched to a square: on Coral's
 * squat.bmp, stretching reproduces Coral's reference keypoints (16 of 17
 * within 0.02) better than letterboxing does (13 of 17). Quantized inputs
 * take raw pixel values, float ones 0..255 as they are.
 */
static int builtin_movenet(vg_model_config *c, const char *base, const nn_tensor *input, char *note, size_t notelen)
{
	static const char *const person[] = { "person" };
	if (!input || input->rank != 4 || input->shape[0] != 1 || input->shape[3] != 3 ||
	    input->shape[1] != input->shape[2] || (input->shape[1] != 192 && input->shape[1] != 256)) {
		if (note)
			snprintf(note, notelen,
				 "%s: not the model vigil has built-in defaults for (expected an input [1,192,192,3] "
				 "or [1,256,256,3]), so none are used",
				 base);
		return 0;
	}
	c->has_layout = c->has_color = c->has_resize = 1;
	c->nchw = 0;
	c->bgr = 0;
	c->resize = VG_RESIZE_STRETCH;
	if (input->dtype == NN_F32) {
		c->has_mean = c->has_std = 1;
		set3(c->mean, 0, 0, 0);
		set3(c->std, 1, 1, 1);
	}
	snprintf(c->decoder, sizeof c->decoder, "movenet");
	c->threshold = 0.3f;
	if (set_labels(c, person, 1) < 0)
		return 0;
	snprintf(c->origin, sizeof c->origin, "built-in defaults for MoveNet (%s)", base);
	return 1;
}

/*
 * OpenCV's ResNet-10 SSD face detector (opencv_face_detector_uint8.pb and
 * its float twin), as OpenCV's face detector sample feeds it: 300x300
 * stretched, BGR, mean 104, 177, 123 (sic: the sample's values), no
 * scaling. Its PriorBox layers are those of opencv_face_detector.pbtxt. The
 * feature maps of its last two layers are 5x5, not the 3x3 and 1x1 that
 * their steps of 100 and 300 suggest: OpenCV builds them from the size of
 * the layers they hang off, so they are listed here rather than derived.
 */
static int builtin_opencv_face(vg_model_config *c)
{
	static const char *const face[] = { "face" };
	static const struct {
		int map;
		float min, max, step;
		int n_ratios;
	} layers[] = {
		{ 38, 30, 60, 8, 1 },   { 19, 60, 111, 16, 2 },  { 10, 111, 162, 32, 2 },
		{ 5, 162, 213, 64, 2 }, { 5, 213, 264, 100, 1 }, { 5, 264, 315, 300, 1 },
	};
	c->has_layout = c->has_color = c->has_mean = c->has_std = c->has_resize = 1;
	c->nchw = 0;
	c->bgr = 1;
	set3(c->mean, 104, 177, 123);
	set3(c->std, 1, 1, 1);
	c->resize = VG_RESIZE_STRETCH;
	/*
	 * OpenCV's blobFromImage scales with cv2.resize's two-tap bilinear, no
	 * averaging; swscale's filter averages when it shrinks, and on the
	 * emotion model's picture that moves a box enough to turn a sad face
	 * angry (tests/integration/test_face_emotion.py).
	 */
	c->has_sampling = 1;
	c->sampling = VG_SAMPLING_LINEAR;
	snprintf(c->decoder, sizeof c->decoder, "ssd-priorbox");
	c->has_priors = c->has_variances = c->has_clip = 1;
	c->priors.n_layers = (int)(sizeof layers / sizeof layers[0]);
	for (int i = 0; i < c->priors.n_layers; i++) {
		vg_prior_layer *l = &c->priors.layers[i];
		memset(l, 0, sizeof *l);
		l->feature_w = l->feature_h = layers[i].map;
		l->n_sizes = 1;
		l->min_size[0] = layers[i].min;
		l->max_size[0] = layers[i].max;
		l->n_ratios = layers[i].n_ratios;
		l->aspect_ratios[0] = 2;
		l->aspect_ratios[1] = 3;
		l->flip = 1;
		l->step_w = l->step_h = layers[i].step;
		l->offset = 0.5f;
	}
	c->priors.variances[0] = c->priors.variances[1] = 0.1f;
	c->priors.variances[2] = c->priors.variances[3] = 0.2f;
	c->priors.clip = 0;
	c->iou = 0.45f;
	c->top_k = 400;
	c->max_detections = 200;
	c->threshold = 0.5f;
	snprintf(c->known_as, sizeof c->known_as, "OpenCV's ResNet-10 SSD face detector");
	return set_labels(c, face, 1);
}

/*
 * oarriaga/face_classification's mini-Xception emotion classifier (fer2013):
 * a 64x64 grey face scaled to [-1, 1], seven emotions in FER2013's order.
 */
static int builtin_fer2013(vg_model_config *c)
{
	static const char *const emotions[] = { "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral" };
	c->has_mean = c->has_std = c->has_resize = 1;
	set3(c->mean, 127.5f, 127.5f, 127.5f);
	set3(c->std, 127.5f, 127.5f, 127.5f);
	c->resize = VG_RESIZE_STRETCH;
	/*
	 * Faces are shrunk with swscale's averaging filter, not cv2.resize's two
	 * taps (its repository's demo crops with margins, so its pixels are not
	 * ours anyway): on its result picture, averaging leaves the sad face sad
	 * by 0.55 to 0.25, two taps by 0.380 to 0.379.
	 */
	snprintf(c->decoder, sizeof c->decoder, "classifier");
	snprintf(c->known_as, sizeof c->known_as, "mini-Xception FER2013 emotion classifier");
	return set_labels(c, emotions, 7);
}

/* An image input of h x w x channels, NHWC, any dimension given as 0 or less unknown and accepted. */
static int input_is(const nn_tensor *t, int h, int w, int channels)
{
	if (!t || t->rank != 4 || t->shape[3] != channels || t->shape[0] > 1)
		return 0;
	return (t->shape[1] <= 0 || t->shape[1] == h) && (t->shape[2] <= 0 || t->shape[2] == w);
}

int vg_model_config_builtin(vg_model_config *c, const char *model, const nn_tensor *input, char *note,
			    size_t notelen)
{
	vg_model_config_init(c);
	if (note && notelen)
		note[0] = '\0';
	const char *slash = model ? strrchr(model, '/') : NULL;
	const char *base = slash ? slash + 1 : model ? model : "";
	int want_nchw = 0, want_h = 0, want_w = 0;
	if (strcasestr(base, "movenet"))
		return builtin_movenet(c, base, input, note, notelen);
	int seg = vg_segment_builtin(c, model, input, note, notelen);
	if (seg || (note && note[0]))
		return seg;
	int face = !strncmp(base, "opencv_face_detector", 20), fer = !strncmp(base, "fer2013_mini_XCEPTION", 21);
	if (face || fer) {
		if (!(face ? input_is(input, 300, 300, 3) : input_is(input, 64, 64, 1))) {
			if (note)
				snprintf(note, notelen,
					 "%s: not the model vigil has built-in defaults for (expected an input %s), so none "
					 "are used",
					 base, face ? "[1,300,300,3]" : "[1,64,64,1]");
			return 0;
		}
		if (face ? builtin_opencv_face(c) < 0 : builtin_fer2013(c) < 0)
			return 0;
		snprintf(c->origin, sizeof c->origin, "built-in defaults for %s (%s)", c->known_as, base);
		return 1;
	}
	if (!strcmp(base, "centernet.json")) {
		want_h = want_w = 512;
	} else if (!strcmp(base, "nanodet.json")) {
		want_nchw = 1;
		want_h = want_w = 416;
	} else if (!strcmp(base, "blazeface-front.json")) {
		want_h = want_w = 128;
	} else if (!strcmp(base, "blazeface.json") || !strcmp(base, "blazeface-back.json") ||
		   !strcmp(base, "handdetect.json")) {
		want_h = want_w = 256;
	} else {
		return 0;
	}
	int c_axis = want_nchw ? 1 : 3, h_axis = want_nchw ? 2 : 1;
	if (!input || input->rank != 4 || input->shape[0] != 1 || input->shape[c_axis] != 3 ||
	    input->shape[h_axis] != want_h || input->shape[h_axis + 1] != want_w || input->dtype != NN_F32) {
		if (note)
			snprintf(note, notelen,
				 "%s: not the model vigil has built-in defaults for (expected a float32 input %s), "
				 "so none are used",
				 base, want_nchw ? (want_h == 416 ? "[1,3,416,416]" : "[1,3,H,W]")
						 : (want_h == 512 ? "[1,512,512,3]" : want_h == 256 ? "[1,256,256,3]"
												    : "[1,128,128,3]"));
		return 0;
	}
	if (!strcmp(base, "centernet.json"))
		builtin_centernet(c);
	else if (!strcmp(base, "nanodet.json"))
		builtin_nanodet(c);
	else if (!strcmp(base, "handdetect.json") ? builtin_handdetect(c) < 0 : builtin_blazeface(c, want_h) < 0)
		return 0;
	snprintf(c->origin, sizeof c->origin, "built-in defaults for %s", base);
	return 1;
}

/*
 * MediaPipe's detectors of the BlazeFace family, as their graphs configure
 * SsdAnchorsCalculator and TensorsToDetectionsCalculator
 * (the .pbtxt graphs in mediapipe/modules/ face_detection, pose_detection, palm_detection). All take a square
 * RGB float input in [-1, 1], letterboxed with black borders, and regress
 * boxes and keypoints in input pixels on fixed-size anchors (scales
 * 0.1484375 to 0.75, aspect ratio 1).
 */
static const struct mediapipe_detector {
	const char *name;
	int size;             /* input width and height */
	int anchors, coords;  /* outputs [1,anchors,coords] and [1,anchors,1] */
	int n_layers;
	int strides[5];
	float interpolated;   /* interpolated_scale_aspect_ratio */
	int keypoints;
	float threshold;      /* min_score_thresh */
	const char *label;
	const vg_keypoint_layout *layout;
} mediapipe_detectors[] = {
	{ "MediaPipe face detection, short range", 128, 896, 16, 4, { 8, 16, 16, 16 }, 1.0f, 6, 0.5f, "face",
	  &vg_keypoints_blazeface },
	{ "MediaPipe face detection, full range", 192, 2304, 16, 1, { 4 }, 0.0f, 6, 0.6f, "face",
	  &vg_keypoints_blazeface },
	/* MediaPipe's own threshold is 0.2 because its landmark model confirms; alone, 0.5 keeps false people out. */
	{ "MediaPipe pose detection", 224, 2254, 12, 5, { 8, 16, 32, 32, 32 }, 1.0f, 4, 0.5f, "person",
	  &vg_keypoints_pose_detector },
	{ "MediaPipe palm detection (2020, 128x128)", 128, 896, 18, 4, { 8, 16, 16, 16 }, 1.0f, 7, 0.5f, "palm",
	  &vg_keypoints_blazepalm },
};

static int is_shape(const nn_tensor *t, int rank, int d1, int d2)
{
	return t->rank == rank && t->shape[0] == 1 && t->shape[1] == d1 && (rank < 3 || t->shape[2] == d2);
}

int vg_model_config_mediapipe(vg_model_config *c, const nn_tensor *input, const nn_tensor *const *outputs,
			      int n_outputs)
{
	vg_model_config_init(c);
	if (!input || input->rank != 4 || input->shape[0] != 1 || input->shape[3] != 3 || input->dtype != NN_F32 ||
	    input->shape[1] != input->shape[2] || n_outputs != 2)
		return 0;
	for (size_t i = 0; i < sizeof mediapipe_detectors / sizeof mediapipe_detectors[0]; i++) {
		const struct mediapipe_detector *m = &mediapipe_detectors[i];
		if (input->shape[1] != m->size)
			continue;
		int boxes = -1;
		for (int o = 0; o < 2; o++)
			if (is_shape(outputs[o], 3, m->anchors, m->coords) &&
			    (is_shape(outputs[1 - o], 3, m->anchors, 1) || is_shape(outputs[1 - o], 2, m->anchors, 0)))
				boxes = o;
		if (boxes < 0)
			continue;
		c->has_layout = c->has_color = c->has_mean = c->has_std = c->has_resize = c->has_pad = 1;
		set3(c->mean, 127.5f, 127.5f, 127.5f);
		set3(c->std, 127.5f, 127.5f, 127.5f);
		/* ImageToTensorCalculator with keep_aspect_ratio and BORDER_ZERO: black bars. */
		c->resize = VG_RESIZE_LETTERBOX;
		c->pad_value = 0;
		c->has_sampling = 1;
		c->sampling = VG_SAMPLING_WARP;
		snprintf(c->decoder, sizeof c->decoder, "blazeface");
		c->threshold = m->threshold;
		c->iou = 0.3f;
		c->nms = VG_NMS_WEIGHTED;
		c->has_anchors = 1;
		vg_anchor_config_mediapipe(&c->anchors);
		c->anchors.n_layers = m->n_layers;
		memcpy(c->anchors.strides, m->strides, sizeof m->strides);
		c->anchors.interpolated_scale_aspect_ratio = m->interpolated;
		c->has_box_scale = 1;
		c->box_scale[0] = c->box_scale[1] = c->box_scale[2] = c->box_scale[3] = (float)m->size;
		c->keypoints = m->keypoints;
		c->keypoint_layout = m->layout;
		c->score_clip = 100;
		if (set_labels(c, &m->label, 1) < 0)
			return 0;
		snprintf(c->known_as, sizeof c->known_as, "%s", m->name);
		snprintf(c->origin, sizeof c->origin,
			 "built-in defaults for %s, recognised by its input [1,%d,%d,3] and outputs [1,%d,%d] + [1,%d,1]",
			 m->name, m->size, m->size, m->anchors, m->coords, m->anchors);
		return 1;
	}
	return 0;
}

int vg_model_config_automl_traffic(vg_model_config *c, const char *model, const nn_tensor *input, int n_state)
{
	static const char *const labels[] = { "sedan", "pickup_suv_van", "large_veh_bus" };
	vg_model_config_init(c);
	const char *slash = model ? strrchr(model, '/') : NULL;
	const char *base = slash ? slash + 1 : model ? model : "";
	if (!strstr(base, "traffic_model") || n_state != 2 || !input || input->rank != 4 || input->dtype != NN_U8 ||
	    input->shape[1] != 256 || input->shape[2] != 256 || input->shape[3] != 3)
		return 0;
	/* automl-video-ondevice's traffic_label_map.pbtxt (ids 1-3; the model's classes count from 0). */
	if (set_labels(c, labels, 3) < 0)
		return 0;
	/* Its examples and tests use 0.2: the LSTM-SSD's scores for clear cars are 0.3-0.5. */
	c->threshold = 0.2f;
	snprintf(c->known_as, sizeof c->known_as, "AutoML Video on-device traffic detector (LSTM-SSD)");
	snprintf(c->origin, sizeof c->origin,
		 "built-in defaults for the AutoML Video traffic detector, recognised by its name, a uint8 "
		 "[1,256,256,3] image and two state inputs");
	return 1;
}

void vg_model_config_overlay(vg_model_config *b, vg_model_config *t)
{
	if (t->has_layout) {
		b->has_layout = 1;
		b->nchw = t->nchw;
	}
	if (t->has_color) {
		b->has_color = 1;
		b->bgr = t->bgr;
	}
	if (t->has_mean) {
		b->has_mean = 1;
		memcpy(b->mean, t->mean, sizeof b->mean);
	}
	if (t->has_std) {
		b->has_std = 1;
		memcpy(b->std, t->std, sizeof b->std);
	}
	if (t->has_resize) {
		b->has_resize = 1;
		b->resize = t->resize;
	}
	if (t->has_pad) {
		b->has_pad = 1;
		b->pad_value = t->pad_value;
	}
	if (t->has_sampling) {
		b->has_sampling = 1;
		b->sampling = t->sampling;
	}
	if (t->decoder[0])
		memcpy(b->decoder, t->decoder, sizeof b->decoder);
	if (t->labels_path || t->label_names || t->labels_coco80) {
		free_labels(b);
		b->labels_path = t->labels_path;
		b->label_names = t->label_names;
		b->n_labels = t->n_labels;
		b->labels_coco80 = t->labels_coco80;
		t->labels_path = NULL;
		t->label_names = NULL;
		t->n_labels = 0;
		t->labels_coco80 = 0;
	}
	if (t->threshold > 0)
		b->threshold = t->threshold;
	if (t->iou > 0)
		b->iou = t->iou;
	if (t->nms != VG_NMS_DEFAULT)
		b->nms = t->nms;
	if (t->top_k > 0)
		b->top_k = t->top_k;
	if (t->max_detections > 0)
		b->max_detections = t->max_detections;
	if (t->has_center_offset) {
		b->has_center_offset = 1;
		b->center_offset = t->center_offset;
	}
	if (t->reg_max > 0)
		b->reg_max = t->reg_max;
	if (t->has_anchors) {
		b->has_anchors = 1;
		b->anchors = t->anchors;
	}
	if (t->has_box_scale) {
		b->has_box_scale = 1;
		memcpy(b->box_scale, t->box_scale, sizeof b->box_scale);
	}
	if (t->keypoints >= 0)
		b->keypoints = t->keypoints;
	if (t->score_clip > 0)
		b->score_clip = t->score_clip;
	if (t->input_w > 0) {
		b->input_w = t->input_w;
		b->input_h = t->input_h;
	}
	if (t->keypoint_layout)
		b->keypoint_layout = t->keypoint_layout;
	if (t->has_priors) {
		b->has_priors = 1;
		b->priors.n_layers = t->priors.n_layers;
		memcpy(b->priors.layers, t->priors.layers, sizeof b->priors.layers);
	}
	if (t->has_variances) {
		b->has_variances = 1;
		memcpy(b->priors.variances, t->priors.variances, sizeof b->priors.variances);
	}
	if (t->has_clip) {
		b->has_clip = 1;
		b->priors.clip = t->priors.clip;
	}
	if (t->has_crop_margin) {
		b->has_crop_margin = 1;
		b->crop_margin = t->crop_margin;
	}
	if (t->known_as[0])
		memcpy(b->known_as, t->known_as, sizeof b->known_as);
	if (t->origin[0]) {
		if (b->origin[0]) {
			char merged[2 * sizeof b->origin + 8];
			snprintf(merged, sizeof merged, "%s over %s", t->origin, b->origin);
			size_t n = strlen(merged);
			n = n < sizeof b->origin ? n : sizeof b->origin - 1;
			memcpy(b->origin, merged, n);
			b->origin[n] = '\0';
		} else {
			memcpy(b->origin, t->origin, sizeof b->origin);
		}
	}
	vg_model_config_free(t);
}
