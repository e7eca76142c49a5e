#ifndef VG_DECODE_H
#define VG_DECODE_H

#include <stddef.h>

#include "detect/detection.h"

/*
 * Model outputs to detections, in normalised model-input coordinates (the
 * caller maps them to the frame). Each returns the number of detections
 * written to out (at most max), best first. Labels are left empty (except
 * MoveNet's, which finds nothing but people).
 */

/*
 * Outputs of TensorFlow Lite's TFLite_Detection_PostProcess: boxes [n][4] as
 * (ymin, xmin, ymax, xmax), class ids and scores [n].
 */
int vg_decode_postprocessed(const float *boxes, const float *classes, const float *scores, int n, float threshold,
			    vg_detection *out, int max);

/* Box coder scales of an SSD model (TensorFlow's defaults: 10, 10, 5, 5). */
typedef struct vg_ssd_params {
	float y_scale, x_scale, h_scale, w_scale;
	int background_class;    /* scores include a background column 0 to skip */
	int sigmoid;             /* scores are logits: apply the logistic function */
	float iou_threshold;
	int per_class_nms;
} vg_ssd_params;

/*
 * Raw SSD heads: box encodings [n][4] (ty, tx, th, tw) relative to anchors
 * [n][4] (ycenter, xcenter, h, w), class scores [n][num_classes]. Takes the
 * best class per anchor, thresholds, decodes and applies NMS.
 */
int vg_decode_ssd(const float *encodings, const float *scores, const float *anchors, int n, int num_classes,
		  const vg_ssd_params *p, float threshold, vg_detection *out, int max);

/* A classifier's scores [n]: the k best classes above threshold, as whole-frame results. */
int vg_decode_top_k(const float *scores, int n, int k, float threshold, vg_detection *out);

/*
 * MoveNet single-pose: keypoints [n][3] as (y, x, score), normalised
 * model-input coordinates, in COCO-17 order (n at most VG_MAX_KEYPOINTS; with
 * 17 the detection's layout is COCO-17). One detection, labelled "person"
 * (class 0), scoring the mean of the keypoint scores, boxed by the keypoints
 * scoring at least kp_threshold widened by a tenth a side (at least 0.02), or
 * the whole input when none does. Returns 1, or 0 when its score is below
 * threshold.
 */
int vg_decode_movenet(const float *kp, int n, float threshold, float kp_threshold, vg_detection *out);

/*
 * CenterNet's detections computed in the graph ([n][6]: x1, y1, x2, y2 in
 * input pixels, score, class as a 0-based index), as @vladmandic's
 * centernet.json exports them as tower_0/detections. Rows are already sorted
 * by score; keeps those at or above threshold, then NMS (iou_threshold 0 or
 * less: none). in_w and in_h are the model input's size in pixels.
 */
int vg_decode_centernet(const float *dets, int n, float in_w, float in_h, float threshold, float iou_threshold,
			int per_class_nms, vg_detection *out, int max);

/* The raw heads of a CenterNet model, NHWC. */
typedef struct vg_centernet_params {
	int height, width;     /* heatmap cells */
	int num_classes;       /* heatmap channels */
	float in_w, in_h;      /* model input in pixels; the stride is in / heatmap size */
	float center_offset;   /* where a peak sits in its cell: 0 (the corner, as centernet.json's graph), 0.5 */
	float size_scale;      /* box head values to input pixels (1: centernet.json scales them in-graph) */
	int top_k;             /* peaks kept before the threshold (the graph's TopKV2: 100) */
	float iou_threshold;   /* NMS after decoding; 0 or less: none */
	int per_class_nms;
} vg_centernet_params;

/*
 * CenterNet from its raw heads: heat [h][w][c] (scores after the sigmoid) and
 * box [h][w][4] distances from the peak's cell position to the left, top,
 * right and bottom edges. A peak is a value no smaller than any of its 3x3
 * neighbours (the graph's max-pool-and-compare); the top_k peaks at or above
 * threshold become boxes.
 */
int vg_decode_centernet_raw(const float *heat, const float *box, const vg_centernet_params *p, float threshold,
			    vg_detection *out, int max);

/* One output level of a NanoDet (generalized focal loss) head: a grid of width x height cells, row by row. */
typedef struct vg_nanodet_level {
	const float *scores;   /* [cells][num_classes] */
	const float *dist;     /* [cells][4][reg_max + 1]: logits of the left, top, right, bottom distance bins */
	int width, height;
	float stride;          /* input pixels per cell */
} vg_nanodet_level;

typedef struct vg_nanodet_params {
	int num_classes;
	int reg_max;           /* bins per side minus one (nanodet-m: 10; NanoDet-Plus: 7) */
	float in_w, in_h;      /* model input in pixels */
	float center_offset;   /* cell centres at (i + offset) * stride: 0.5 for NanoDet's GFL head, 0 for NanoDet-Plus */
	int sigmoid;           /* scores are logits */
	float iou_threshold;
	int per_class_nms;
} vg_nanodet_params;

/*
 * NanoDet: every (cell, class) scoring at least threshold becomes a box whose
 * four sides are the expectations of their softmax distributions, in stride
 * units from the cell centre; then NMS.
 */
int vg_decode_nanodet(const vg_nanodet_level *levels, int n_levels, const vg_nanodet_params *p, float threshold,
		      vg_detection *out, int max);

/*
 * SSD anchors as MediaPipe's SsdAnchorsCalculator makes them. Layers sharing
 * a stride share one grid of ceil(input / stride) cells per side, and their
 * anchors are interleaved per cell, row by row. Layer i of n has the scale
 * min_scale + (max_scale - min_scale) * i / (n - 1) (the mean of the two when
 * n is 1) and one anchor per aspect ratio, plus, when
 * interpolated_scale_aspect_ratio is above 0, one of that ratio at the
 * geometric mean of this layer's scale and the next one's (1 after the last).
 * With reduce_boxes_in_lowest_layer the first layer instead has three:
 * scale 0.1 ratio 1, then ratios 2 and 0.5. Centres sit at
 * ((i + offset) / cells); an anchor's size is scale * sqrt(ratio) wide and
 * scale / sqrt(ratio) high, or 1 x 1 with fixed_anchor_size (BlazeFace,
 * BlazePose, BlazePalm).
 */
#define VG_ANCHOR_MAX_LAYERS 8
#define VG_ANCHOR_MAX_RATIOS 8
typedef struct vg_anchor_config {
	int input_w, input_h;
	int n_layers;
	int strides[VG_ANCHOR_MAX_LAYERS];
	float min_scale, max_scale;
	int n_aspect_ratios;
	float aspect_ratios[VG_ANCHOR_MAX_RATIOS];
	float interpolated_scale_aspect_ratio;  /* 0 or less: none */
	float offset_x, offset_y;               /* in cells */
	int fixed_anchor_size;
	int reduce_boxes_in_lowest_layer;
} vg_anchor_config;

/*
 * MediaPipe's settings common to its BlazeFace-family detectors, without
 * input size and strides: scales 0.1484375 to 0.75, aspect ratio 1,
 * interpolated ratio 1, offsets 0.5, fixed anchor size.
 */
void vg_anchor_config_mediapipe(vg_anchor_config *cfg);

/* Anchors one cell of layer layer (and the layers of its stride after it) carries. */
int vg_anchors_per_cell(const vg_anchor_config *cfg, int layer);

/*
 * Writes up to max anchors as (x_centre, y_centre, w, h), normalised, to
 * anchors (may be NULL) and returns how many the configuration makes, or -1
 * if it is invalid.
 */
int vg_anchors_generate(const vg_anchor_config *cfg, float *anchors, int max);

/* Anchors per grid of the configuration: counts[i] for the i-th distinct stride run; returns the number of grids. */
int vg_anchors_grids(const vg_anchor_config *cfg, int *counts, int *strides, int max);

typedef struct vg_blazeface_params {
	const float *anchors;  /* [n][4] x and y centres, widths and heights, normalised */
	int n;                 /* anchors */
	int coords;            /* values per anchor in the box tensor: 4 + 2 * num_keypoints (16) */
	int num_keypoints;     /* 6 for BlazeFace, at most VG_MAX_KEYPOINTS */
	float x_scale, y_scale, w_scale, h_scale; /* regression units per input (the input size) */
	float score_clip;      /* logits are clipped to +-score_clip before the sigmoid (MediaPipe: 100) */
	float iou_threshold;   /* weighted NMS overlap (MediaPipe: 0.3) */
	int weighted;          /* 1: MediaPipe's weighted NMS (overlapping boxes averaged); 0: plain NMS */
} vg_blazeface_params;

/*
 * BlazeFace and its family, as MediaPipe's TensorsToDetectionsCalculator
 * decodes them (reverse_output_order, no exponential on box sizes): boxes
 * [n][coords] as (x_centre, y_centre, w, h, then keypoints x, y), each
 * divided by its scale and multiplied by the anchor's size, the centres and
 * keypoints offset by the anchor's centre; scores [n] as logits. Each detection
 * carries its num_keypoints keypoints (in normalised model-input
 * coordinates, like its box). Class id 0.
 */
int vg_decode_blazeface(const float *boxes, const float *scores, const vg_blazeface_params *p, float threshold,
			vg_detection *out, int max);

/*
 * Caffe SSD PriorBox layers (OpenCV's face detector and other Caffe-trained
 * SSDs). Each layer lays a grid of feature_w x feature_h cells over the
 * input; every cell carries, for each min size in turn, a square box of that
 * size, then (when max sizes are given) a square of sqrt(min * max), then one
 * box per aspect ratio (ratios of 1 and repeats skipped, each followed by its
 * inverse when flip is set) of min * sqrt(ratio) wide and min / sqrt(ratio)
 * high. Cell (i, j) is centred at ((i + offset) * step_w, (j + offset) *
 * step_h) input pixels; without a step, the step is the input size divided
 * by the grid size. Boxes are normalised by the input size and, with clip,
 * clipped to 0..1. This is the order and arithmetic of Caffe's and OpenCV's
 * PriorBoxLayer.
 */
#define VG_PRIOR_MAX_LAYERS 12
#define VG_PRIOR_MAX_SIZES 4
#define VG_PRIOR_MAX_RATIOS 8
typedef struct vg_prior_layer {
	int feature_w, feature_h;          /* grid cells; 0: ceil(input / step) */
	int n_sizes;                       /* min sizes */
	float min_size[VG_PRIOR_MAX_SIZES];
	float max_size[VG_PRIOR_MAX_SIZES]; /* 0: none (all or none are given) */
	int n_ratios;
	float aspect_ratios[VG_PRIOR_MAX_RATIOS]; /* as given, before flipping */
	int flip;
	float step_w, step_h;              /* input pixels per cell; 0: input / grid */
	float offset;                      /* cell centre, in cells (Caffe's default 0.5) */
} vg_prior_layer;

typedef struct vg_prior_config {
	int n_layers;
	vg_prior_layer layers[VG_PRIOR_MAX_LAYERS];
	float variances[4];                /* x, y, w, h (Caffe's usual 0.1, 0.1, 0.2, 0.2) */
	int clip;                          /* clip priors to 0..1 */
} vg_prior_config;

/* Priors one cell of a layer carries, or -1 when the layer is invalid. */
int vg_prior_layer_per_cell(const vg_prior_layer *l);

/*
 * Writes up to max priors as (xmin, ymin, xmax, ymax), normalised to an
 * in_w x in_h input, layer after layer, row by row, to priors (may be NULL),
 * and returns how many the configuration makes, or -1 when it is invalid
 * (err, when not NULL, says why).
 */
int vg_priors_generate(const vg_prior_config *cfg, int in_w, int in_h, float *priors, int max, char *err,
		       size_t errlen);

/* Caffe's DetectionOutput settings (code type CENTER_SIZE, shared locations, variances not in the target). */
typedef struct vg_detection_output_params {
	int num_classes;                   /* columns of the confidence output, background included */
	int background_label_id;           /* the column that is no class (0), or -1 */
	float variances[4];
	float nms_threshold;               /* 0.45 */
	int top_k;                         /* candidates per class before NMS (400) */
	int keep_top_k;                    /* detections kept over all classes (200) */
} vg_detection_output_params;

/*
 * DetectionOutput: loc [n][4] as (dx, dy, dw, dh) against priors [n][4]
 * (xmin, ymin, xmax, ymax), conf [n][num_classes] (probabilities). Per class
 * other than the background: the top_k priors scoring at least threshold,
 * best first (ties by prior order), decoded and kept unless they overlap a
 * kept box by more than nms_threshold; then the keep_top_k best of all
 * classes. Boxes are clipped to 0..1 after NMS, as the unclipped boxes are
 * what Caffe's and OpenCV's NMS compare, and those left with no area (wholly
 * outside the input) are dropped where Caffe would keep them. Class ids
 * count from the first non-background column. Returns at most max
 * detections, best first.
 */
int vg_decode_ssd_priorbox(const float *loc, const float *conf, const float *priors, int n,
			   const vg_detection_output_params *p, float threshold, vg_detection *out, int max);

#endif
