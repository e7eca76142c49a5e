#ifndef VG_DETECTOR_H
#define VG_DETECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "core/frame.h"
#include "detect/detection.h"
#include "detect/preprocess.h"

/*
 * A model plus everything around it that turns a frame into detections:
 * preprocessing, the decoder chosen from the model's outputs, labels, and the
 * user's filters (threshold, classes, maximum count).
 */

typedef enum vg_decoder_kind {
	VG_DECODER_AUTO = 0,
	VG_DECODER_POSTPROCESSED,   /* TFLite_Detection_PostProcess outputs: boxes, classes, scores, count */
	VG_DECODER_CLASSIFIER,      /* one score vector: top-k labels */
	VG_DECODER_MOVENET,         /* MoveNet single-pose: one output [1,1,17,3] of (y, x, score) keypoints */
	VG_DECODER_CENTERNET,       /* CenterNet's detections computed in the graph: [1,K,6] */
	VG_DECODER_CENTERNET_RAW,   /* CenterNet's heads: heatmap [1,H,W,C] and box distances [1,H,W,4] */
	VG_DECODER_NANODET,         /* NanoDet: per level, class scores [1,N,C] and distance bins [1,N,4*(R+1)] */
	VG_DECODER_BLAZEFACE,       /* MediaPipe BlazeFace: scores [1,N,1] and boxes + keypoints [1,N,16] on SSD anchors */
	VG_DECODER_SSD_PRIORBOX,    /* Caffe SSD: locations [1,N*4] and confidences [1,N*C] on PriorBox priors */
	VG_DECODER_YOLOX,           /* YOLOX: [1,N,5+C] on stride 8/16/32 grids, objectness x class */
	VG_DECODER_YOLOV5,          /* YOLOv5/v7: [1,N,5+C] boxes in input pixels, objectness x class */
	VG_DECODER_YOLOV8,          /* YOLOv8/v11: [1,4+C,N] or [1,N,4+C], no objectness */
	VG_DECODER_FASTESTV2,       /* Yolo-FastestV2: per scale reg [1,4A,H,W], obj [1,A,H,W], cls [1,C,H,W] */
	VG_DECODER_ULTRAFACE,       /* UltraFace: scores [1,N,2] and boxes [1,N,4], raw or post-processed */
	VG_DECODER_SSD_ANCHORS,     /* raw SSD heads: encodings [1,N,4] and scores [1,N,C] on SSD anchors */
	VG_DECODER_NMS_ROWS,        /* NMS in the graph: rows [1,K,6] or [1,K,7] (see yolo.h) */
	VG_DECODER_SEGMENTATION,    /* a class per pixel (detect/segment.h): no detections, a mask */
} vg_decoder_kind;

/* The names --decoder and sidecars accept, for messages: "auto, postprocessed, ...". */
extern const char vg_decoder_names[];

/* The decoder called name; 0, or -1 when there is none. */
int vg_decoder_from_name(const char *name, vg_decoder_kind *out);

typedef struct vg_detector_options {
	const char *model;
	const char *labels;         /* NULL: labels packed in the model, if any */
	int threads;                /* default 1 */
	float threshold;            /* minimum score (default 0.5; classifiers 0.1) */
	const char *classes;        /* comma-separated names or ids to keep; NULL keeps all */
	int max_detections;         /* default 100 */
	int top_k;                  /* classifiers (default 5) */
	const char *decoder;        /* NULL, "auto" or one of vg_decoder_names */
	const char *sidecar;        /* NULL: look for MODEL's sidecar (see model_config.h); "none": use none */
	vg_preprocess_config pre;
	int resize_set;             /* pre.resize was given by the user */
	int mean_set, std_set;      /* pre.mean, pre.std were given by the user */
	int reference_only;         /* run on the reference kernels only (debugging) */
	int no_state;               /* video models: start every frame from the initial state */
	int input_w, input_h;       /* --input-size: for models whose input size is unknown (0: not given) */
} vg_detector_options;

typedef struct vg_detector vg_detector;

int vg_detector_create(vg_detector **out, const vg_detector_options *opt, char *err, size_t errlen);

/*
 * Runs the model on a frame. Writes up to max detections (frame coordinates,
 * labelled, filtered) and returns how many, or a negative code with a message.
 * Timings in microseconds go to *pre_us, *infer_us, *post_us when not NULL.
 */
int vg_detector_run(vg_detector *det, const vg_frame *frame, vg_detection *out, int max, int64_t *pre_us,
		    int64_t *infer_us, int64_t *post_us, char *err, size_t errlen);

/*
 * Video models with state (an LSTM-SSD's lstm_c and lstm_h): inputs besides
 * the image that an output of the same shape and type (and name, less an
 * "init_" prefix) feeds back. The state starts at real zero (the quantized
 * zero point), each run's outputs become the next run's inputs, and
 * vg_detector_reset_state starts it afresh (a new video, a restarted
 * source). With options.no_state every frame starts afresh.
 */
void vg_detector_reset_state(vg_detector *det);
int vg_detector_state_count(const vg_detector *det);
/* "'out' -> 'in' uint8[1,8,8,320]; ..." for `vigil inspect`; "" without state. */
const char *vg_detector_state_summary(const vg_detector *det);

/* Which decoder was chosen, and why, for `vigil inspect`. */
const char *vg_detector_decoder_name(const vg_detector *det);
const char *vg_detector_decoder_reason(const vg_detector *det);

/*
 * How frames are prepared and results filtered, and where those settings
 * came from (options, sidecar, built-in defaults), for `vigil inspect`.
 */
const char *vg_detector_config_summary(const vg_detector *det);

struct nn_model;
struct nn_model *vg_detector_model(vg_detector *det);

/* The class names the detections are labelled with (count 0 when none). */
struct vg_labels;
const struct vg_labels *vg_detector_labels(const vg_detector *det);

/*
 * The decoder choice on its own, for outputs of the given shapes and an input
 * of in_w x in_h (tests and tools): decoder NULL or "auto" chooses by shape,
 * as vg_detector_create does; cfg (may be NULL) supplies the sidecar's
 * decoder, anchors and reg_max. 0 with *kind and the reason, or -1 with err.
 */
struct vg_model_config;
int vg_decoder_choose(const nn_tensor *outputs, int n_outputs, int in_w, int in_h, const struct vg_model_config *cfg,
		      const char *decoder, vg_decoder_kind *kind, char *reason, size_t reasonlen, char *err,
		      size_t errlen);

/*
 * Decodes float32 output tensors (with data) of a model whose input is in_w x
 * in_h as the detector would: the decoder chosen as vg_decoder_choose
 * chooses, its default NMS, threshold (0: the decoder's default). Writes at
 * most max detections in normalised model-input coordinates, unlabelled,
 * and returns how many, or -1 with err. For tools and tests that hold a
 * model's outputs from elsewhere (ONNX Runtime).
 */
int vg_decode_tensors(const nn_tensor *outputs, int n_outputs, int in_w, int in_h, const struct vg_model_config *cfg,
		      const char *decoder, float threshold, vg_decoder_kind *kind, char *reason, size_t reasonlen,
		      vg_detection *out, int max, char *err, size_t errlen);

/*
 * The model's settings as serve and detect resolve them, for tools that run
 * a model without a decoder (vigil run): built-in defaults for the models
 * vigil knows (by file name; MediaPipe's by their shapes; the AutoML traffic
 * model), with the sidecar over them (opt->sidecar, "none" for none, else
 * the one found next to opt->model). input is the image input; outs the
 * outputs less those fed back as state; n_state the state inputs. note (may
 * be NULL) says why built-in defaults did not apply. 0, or -1 with err.
 */
int vg_detector_load_settings(struct vg_model_config *cfg, const vg_detector_options *opt, const nn_tensor *input,
			      const nn_tensor *const *outs, int n_outs, int n_state, char *note, size_t notelen,
			      char *err, size_t errlen);

/*
 * Precedence of settings, on their own for tests: options over the model's
 * settings (sidecar over built-in defaults, see model_config.h) over generic
 * defaults. The input layout, when nobody gives it, follows the input's shape.
 */
void vg_detector_resolve_preprocess(const vg_detector_options *opt, const struct vg_model_config *cfg,
				    const nn_tensor *input, vg_preprocess_config *out);
float vg_detector_resolve_threshold(const vg_detector_options *opt, const struct vg_model_config *cfg,
				    vg_decoder_kind kind);

/*
 * The segmentation decoder's mask of the last run (detect/segment.h; empty,
 * w 0, before the first run, its capacity and classes already set), or NULL
 * for other decoders.
 */
struct vg_seg_mask;
const struct vg_seg_mask *vg_detector_segmentation(const vg_detector *det);

/*
 * What one camera keeps of a shared detector's results: its own threshold,
 * classes and count, so that cameras that differ only in these share one
 * loaded model. The shared detector decodes at the lowest threshold of the
 * cameras using it and keeps every class; each camera filters the results.
 * NMS keeps a box or not by the boxes scoring above it, so a box above a
 * camera's threshold fares the same whatever lower-scoring candidates came
 * with it: the filtered results equal what a detector of the camera's own
 * would give. Two exceptions: weighted NMS blends lower-scoring boxes into the
 * one kept (vg_detector_threshold_filters says so, and such a model is shared
 * only at equal thresholds), and a frame with more candidates than
 * VG_MAX_DETECTIONS, where the lowest are cut either way.
 */
#define VG_MAX_CLASS_FILTER 256

typedef struct vg_detection_filter {
	float threshold;            /* minimum score, resolved as the detector resolves its own */
	int max_detections;
	int n_keep;                 /* 0: every class */
	int keep[VG_MAX_CLASS_FILTER];
} vg_detection_filter;

/*
 * The filter of the options' threshold, classes and max_detections against
 * the model the detector loaded (its labels, sidecar and decoder defaults);
 * 0, or -1 with a message naming the option ("--classes", "classes") and a
 * class the model does not have.
 */
int vg_detection_filter_init(vg_detection_filter *f, const vg_detector *det, const vg_detector_options *opt,
			     const char *option, char *err, size_t errlen);

/* Keeps, in order and in place, the detections the filter passes; returns how many. */
int vg_detection_filter_apply(const vg_detection_filter *f, vg_detection *dets, int n);

/* The score threshold the detector decodes at. */
float vg_detector_threshold(const vg_detector *det);

/* Whether filtering this detector's results by a higher threshold equals decoding at it (see above). */
int vg_detector_threshold_filters(const vg_detector *det);

/*
 * Lowers the decoding threshold (never raises it); safe while another thread
 * runs the detector, which takes the new value at its next run.
 */
void vg_detector_lower_threshold(vg_detector *det, float threshold);

void vg_detector_destroy(vg_detector *det);

const char *vg_decoder_name(vg_decoder_kind kind);

#endif
