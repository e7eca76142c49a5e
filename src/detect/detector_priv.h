#ifndef VG_DETECTOR_PRIV_H
#define VG_DETECTOR_PRIV_H

/*
 * The detector's state, shared by its parts: detector.c (create, run,
 * settings), choose.c (which decoder, bound to which outputs) and
 * run_yolo.c (the YOLO-family decoders' binding and running).
 */

#include <stdatomic.h>
#include <stddef.h>

#include "detect/decode.h"
#include "detect/detector.h"
#include "detect/labels.h"
#include "detect/model_config.h"
#include "detect/segment.h"
#include "detect/ultralytics.h"
#include "detect/yolo.h"
#include "nn/nn.h"

#define MAX_CLASS_FILTER VG_MAX_CLASS_FILTER
#define MAX_LEVELS 8
#define MAX_STATE 8

/* A CenterNet-style output of more rows than this is something else (YOLO heads have thousands). */
#define CENTERNET_MAX_ROWS 1000

/* One NanoDet level: its two outputs and its grid. */
typedef struct nanodet_level {
	int scores, dist, width, height;
	float stride;
} nanodet_level;

/* The YOLO-family decoders' bindings (run_yolo.c). */
#define VG_DET_MAX_STRIDES 6
typedef struct vg_det_yolo {
	int out;                    /* the rows / boxes output; UltraFace's boxes */
	int out_scores;             /* UltraFace's scores */
	int n;                      /* boxes (rows, anchors, priors) */
	long row_step, attr_step;   /* yolov5 / yolov8: value k of box i at i * row_step + k * attr_step */
	int objectness;             /* yolov5: a column of objectness before the classes */
	int normalized;             /* boxes in 0..1 of the input; -1: told from the values on every frame */
	int sigmoid;                /* class and objectness values are logits */
	int n_strides, strides[VG_DET_MAX_STRIDES];
	int n_levels;               /* yolo-fastestv2 */
	int reg[4], obj[4], cls[4], gw[4], gh[4];
	float anchors[4][3][2];
	int raw;                    /* ultraface: raw locations against priors; -1: told from the values */
	float *priors;              /* ultraface's, [n][4] */
	vg_nms_rows_layout rows;    /* nms-rows */
	int letterbox_topleft;      /* the letterbox pads right and bottom (YOLOX) */
} vg_det_yolo;

struct vg_detector {
	vg_detector_options opt;
	nn_model *model;
	const nn_tensor **outs;       /* the model's outputs */
	int n_outs;
	vg_preprocess *pre;
	vg_preprocess_config pre_cfg; /* as resolved from options, sidecar and built-in defaults */
	vg_model_config cfg;          /* sidecar over built-in defaults */
	char cfg_note[256];           /* why built-in defaults were not used, if so */
	vg_labels labels;
	char labels_from[96];
	vg_decoder_kind kind;
	char reason[512];
	char summary[1024];
	int in_w, in_h;
	float threshold, iou;
	/* The threshold the next run decodes at: lowered from another thread for a camera that shares the model. */
	_Atomic float decode_threshold;
	int per_class_nms, weighted_nms, top_k;
	/* Output tensor indices bound by the decoder. */
	int out_boxes, out_classes, out_scores, out_count; /* postprocessed, classifier */
	int out_dets;                                       /* centernet; movenet's keypoints */
	int n_pose_keypoints;                               /* movenet */
	int out_heat, out_wh;                               /* centernet-raw */
	float center_offset;
	int n_levels;                                       /* nanodet */
	nanodet_level level[MAX_LEVELS];
	int num_classes, reg_max;
	int n_parts;                                        /* blazeface: one score and box output per part */
	int combined;                                       /* ...or one output, the score before the box */
	int part_scores[MAX_LEVELS], part_boxes[MAX_LEVELS], part_count[MAX_LEVELS];
	vg_blazeface_params bf;
	int n_priors;                                       /* ssd-priorbox: priors in d->anchors */
	vg_detection_output_params dout;
	float *anchors, *bf_boxes, *bf_scores;
	vg_det_yolo yolo;                                   /* the decoders of run_yolo.c */
	vg_ultra_meta meta;                                 /* Ultralytics metadata, if the model has it */
	/* Dequantized copies of quantized outputs, per output. */
	float **scratch;
	int n_scratch;
	int n_keep;
	int keep[MAX_CLASS_FILTER];
	vg_detection *candidates;
	/* Recurrent state: inputs fed from outputs of the previous run (an LSTM's c and h). */
	int n_state;
	nn_tensor *state_in[MAX_STATE];
	const nn_tensor *state_out[MAX_STATE];
	int state_fresh;                                    /* the state was reset and not yet run */
	char state_desc[512];
	vg_seg_binding seg;                                 /* segmentation */
	vg_seg_mask mask;
};

/* Helpers for messages (choose.c). */
const char *vg_det_out_desc(const vg_detector *d, int i, char *buf, size_t len);

/*
 * A detector with no model over given output tensors, for choosing and
 * decoding on their own (vg_decoder_choose, vg_decode_tensors): outputs
 * are borrowed, cfg's decoder fields copied without its labels (choose.c).
 * NULL with err when out of memory; freed with vg_det_detached_free.
 */
vg_detector *vg_det_detached(const nn_tensor *outputs, int n_outputs, int in_w, int in_h, const vg_model_config *cfg,
			     const char *decoder, const char *name, char *err, size_t errlen);
void vg_det_detached_free(vg_detector *d);

/* Chooses the decoder and binds its outputs (choose.c): 0, or -1 with err. */
int vg_det_choose(vg_detector *d, char *err, size_t errlen);

/* Decodes the bound outputs into d->candidates (detector.c); the number of detections. */
int vg_det_decode(vg_detector *d);

/* An output as float values: itself, or dequantized into scratch (detector.c). */
const float *vg_det_output_floats(vg_detector *d, int index);

/*
 * The YOLO family's decoders (run_yolo.c): whether the outputs fit kind (1),
 * do not (0, with why), or are an error (-1); automatic is the choice by shape.
 */
int vg_det_bind_yolo(vg_detector *d, vg_decoder_kind kind, int automatic, char *why, size_t whylen);
/* Decodes the bound outputs into cand (at most max); the number of detections. */
int vg_det_decode_yolo(vg_detector *d, vg_detection *cand, int max);
/* Whether kind is one of run_yolo.c's decoders. */
int vg_det_is_yolo(vg_decoder_kind kind);

/*
 * After the choice: the decoder's preprocessing where neither options nor
 * settings give it (colour order, scaling, letterbox, grey 114 padding), for
 * the YOLO family and NanoDet, recreating d->pre; 0, or -1 with err.
 */
int vg_det_yolo_preprocess(vg_detector *d, char *err, size_t errlen);

/* The decoder's NMS overlap and kind and score threshold when settings give none. */
void vg_det_yolo_nms_defaults(vg_decoder_kind kind, float *iou, int *per_class, float *threshold);

#endif
