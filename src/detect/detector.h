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
} vg_decoder_kind;

typedef struct vg_detector_options {
	const char *model;
	const char *labels;         /* NULL: labels packed in the model, if any */
	int threads;                /* default 1 */
	float threshold;            /* minimum score (default 0.5; classifiers 0.1) */
	const char *classes;        /* comma-separated names or ids to keep; NULL keeps all */
	int max_detections;         /* default 100 */
	int top_k;                  /* classifiers (default 5) */
	const char *decoder;        /* NULL or "auto", "postprocessed", "classifier" */
	vg_preprocess_config pre;
	int resize_set;             /* pre.resize was given by the user */
	int reference_only;         /* run on the reference kernels only (debugging) */
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

/* Which decoder was chosen, and why, for `vigil inspect`. */
const char *vg_detector_decoder_name(const vg_detector *det);
const char *vg_detector_decoder_reason(const vg_detector *det);

struct nn_model;
struct nn_model *vg_detector_model(vg_detector *det);

void vg_detector_destroy(vg_detector *det);

const char *vg_decoder_name(vg_decoder_kind kind);

#endif
