#ifndef VG_MODEL_CONFIG_H
#define VG_MODEL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "detect/decode.h"
#include "detect/preprocess.h"
#include "nn/nn.h"

/*
 * What a model needs around it that its file does not say: how to prepare
 * its input (layout, colour order, normalisation, resize), how to decode its
 * outputs, and its class names. Two sources, each overriding what comes
 * before it, and command-line options override both:
 *
 *   1. built-in defaults for models vigil knows by file name (centernet.json,
 *      nanodet.json, blazeface*.json, any name containing "movenet",
 *      opencv_face_detector*.pb, fer2013_mini_XCEPTION*, PP-HumanSeg's humanseg* and
 *      ppseg_lite_portrait*: see detect/segment.h), used only when the
 *      model's input has the expected shape;
 *   2. a sidecar file next to the model: the model's path with its extension
 *      replaced by ".vigil.json" (centernet.json -> centernet.vigil.json,
 *      detect.tflite -> detect.vigil.json), or else the model's path with
 *      ".vigil.json" appended (detect.tflite.vigil.json).
 *
 * A sidecar is a JSON object; every key is optional:
 *
 *   "layout": "nhwc" | "nchw"      "color": "rgb" | "bgr"
 *   "mean": [r, g, b] or one number (subtracted from pixel values 0..255)
 *   "std":  [r, g, b] or one number (then divided by)
 *   "resize": "stretch" | "letterbox"        "pad_value": 0..255
 *   "letterbox_align": "center" | "topleft"  (where the letterboxed frame sits; YOLOX pads right and bottom)
 *   "sampling": "swscale" | "warp" | "linear" (see preprocess.h)
 *   "decoder": "postprocessed" | "classifier" | "centernet" | "centernet-raw" | "nanodet" | "blazeface"
 *              | "movenet" | "ssd-priorbox" | "segmentation"
 *   "labels": "file.txt" (relative to the sidecar) | ["name", ...] | "builtin:coco80"
 *   "threshold": 0..1   "iou": 0..1
 *   "nms": "per-class" | "class-agnostic" | "weighted" (BlazeFace; elsewhere class-agnostic) | "none"
 *   "top_k": N          "max_detections": N
 *   "center_offset": cells (CenterNet, NanoDet)     "reg_max": N (NanoDet)
 *   "anchors": { "strides": [...], "min_scale": X, "max_scale": X, "aspect_ratios": [...],
 *                "interpolated_scale_aspect_ratio": X, "offset": X (or "offset_x", "offset_y"),
 *                "fixed_anchor_size": bool, "reduce_boxes_in_lowest_layer": bool }
 *              MediaPipe's SsdAnchorsCalculator options (BlazeFace family); "per_layer": N
 *              stands for N fixed-size anchors per cell and layer
 *   "box_scale": N or [x, y, w, h]    "keypoints": N    "score_clip": X  (BlazeFace)
 *   "keypoint_layout": "blazeface" | "blazepalm" | "pose_detector" | "coco17" (names and skeleton)
 *   "priors": [ {"min_size": X or [X, ...], "max_size": X or [X, ...], "aspect_ratios": [...],
 *                "flip": bool (true), "step": X (or "step_w", "step_h"), "offset": X (0.5),
 *                "feature_map": [w, h]}, ... ]
 *              Caffe SSD PriorBox layers, in the order the model concatenates them (decoder
 *              "ssd-priorbox", see decode.h); a layer needs its feature map or its step (the map is
 *              then ceil(input / step) cells a side, which is not always the model's)
 *   "variances": [x, y, w, h] (0.1, 0.1, 0.2, 0.2)     "clip": bool (clip priors to the input; false)
 *              ("top_k" is DetectionOutput's per-class top_k (400), "max_detections" its keep_top_k,
 *              "iou" its nms_threshold (0.45))
 *   "crop_margin": X (second-stage classifiers, --classify: the fraction of the box's width and
 *              height added on each side of a detection before cropping it; 0)
 *   "input_size": [W, H]  the input size of a model whose file leaves it unknown (TensorFlow graphs)
 *   "comment": anything
 *
 * Unknown keys, wrong types and out-of-range values are errors naming the
 * file and the key.
 */

typedef enum vg_nms_kind {
	VG_NMS_DEFAULT = 0,     /* the decoder's own choice */
	VG_NMS_PER_CLASS,
	VG_NMS_CLASS_AGNOSTIC,
	VG_NMS_WEIGHTED,
	VG_NMS_NONE,
} vg_nms_kind;

typedef struct vg_model_config {
	char origin[600];          /* "sidecar PATH" or "built-in defaults for NAME" */
	int has_layout, nchw;
	int has_color, bgr;
	int has_mean, has_std;
	float mean[3], std[3];
	int has_resize;
	vg_resize_mode resize;
	int has_pad;
	uint8_t pad_value;
	int has_align, align_topleft; /* letterbox_align: "topleft" pads right and bottom (YOLOX), "center" */
	int has_sampling;
	vg_sampling sampling;
	char decoder[32];          /* "" when not given */
	/* Labels: at most one of these. */
	char *labels_path;         /* resolved against the sidecar's folder */
	char **label_names;
	int n_labels;
	int labels_coco80;
	float threshold, iou;      /* 0 when not given */
	vg_nms_kind nms;
	int top_k, max_detections; /* 0 when not given */
	int has_center_offset;
	float center_offset;
	int reg_max;               /* 0 when not given */
	int has_anchors;
	vg_anchor_config anchors;  /* without the input size */
	int has_box_scale;
	float box_scale[4];
	int keypoints;             /* -1 when not given */
	float score_clip;          /* 0 when not given */
	const vg_keypoint_layout *keypoint_layout; /* NULL when not given */
	int has_priors;            /* priors.n_layers and .layers given */
	int has_variances, has_clip; /* priors.variances, priors.clip given */
	vg_prior_config priors;    /* ssd-priorbox */
	int has_crop_margin;
	float crop_margin;         /* second-stage classifiers */
	int input_w, input_h;      /* 0 when not given */
	char known_as[96];         /* the model these defaults are for, when recognised ("MediaPipe pose detection") */
} vg_model_config;

/* An empty configuration (nothing given). */
void vg_model_config_init(vg_model_config *c);
void vg_model_config_free(vg_model_config *c);

/* Parses sidecar text; path names the file in messages and anchors relative label paths. */
int vg_model_config_parse(vg_model_config *c, const char *text, size_t len, const char *path, char *err,
			  size_t errlen);

/* Reads and parses a sidecar file. */
int vg_model_config_load(vg_model_config *c, const char *path, char *err, size_t errlen);

/* The sidecar of a model that exists on disk, by the rule above: 1 and its path in out, or 0. */
int vg_model_config_find_sidecar(const char *model, char *out, size_t outlen);

/*
 * Built-in defaults for a model known by its file name. Returns 1 and fills c
 * when they apply; 0 when the name is unknown, or known but the input shape
 * is not the expected one (then note says so; note may be NULL).
 */
int vg_model_config_builtin(vg_model_config *c, const char *model, const nn_tensor *input, char *note,
			    size_t notelen);

/*
 * Built-in defaults for MediaPipe's face (short and full range), pose and
 * palm detectors, recognised by their input size and the anchor count and
 * width of their two outputs. Returns 1 and fills c (origin and known_as
 * name the model) when they apply, else 0.
 */
int vg_model_config_mediapipe(vg_model_config *c, const nn_tensor *input, const nn_tensor *const *outputs,
			      int n_outputs);

/*
 * Built-in defaults for the AutoML Video on-device traffic detector
 * (traffic_model*.tflite: an LSTM-SSD with n_state state inputs): its three
 * vehicle labels and score threshold. 1 when they apply, else 0.
 */
int vg_model_config_automl_traffic(vg_model_config *c, const char *model, const nn_tensor *input, int n_state);

/*
 * The input size to load a model with when its file leaves it unknown: the
 * sidecar's "input_size" (sidecar as in vg_detector_options: NULL looks for
 * the model's own, "none" uses none), else built-in defaults by name
 * (opencv_face_detector*: 300x300), else 0x0. 0, or -1 with a message when
 * the sidecar cannot be read.
 */
int vg_model_config_input_size(const char *model, const char *sidecar, int *w, int *h, char *err, size_t errlen);

/* Moves every field given in top onto base (labels included); top is left empty. */
void vg_model_config_overlay(vg_model_config *base, vg_model_config *top);

const char *vg_nms_kind_name(vg_nms_kind kind);

#endif
