#ifndef VG_CLASSIFY_H
#define VG_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

#include "core/frame.h"
#include "detect/detection.h"
#include "detect/labels.h"

/*
 * The second stage (--classify): a classifier run on the crop of each
 * selected detection, whose best class is attached to the detection as an
 * attribute. A detection is selected when its class is among the chosen
 * ones (all by default) and it has a box; of those, the max_crops largest
 * (by area in pixels; equal areas in detection order) are classified.
 *
 * The crop is the box widened by crop_margin (the classifier's setting, a
 * fraction of the box's width and height added on each side; 0 by default)
 * and clamped to the frame: its edges are the nearest pixel edges, the left
 * and top ones then moved down to an even pixel, since the frame's chroma is
 * sampled once per 2x2 pixels; crops under 2x2 pixels are skipped. It is
 * scaled to the classifier's input by the same code as a detector's input
 * (preprocess.h: swscale's bilinear filter, stretched unless the
 * classifier's settings say letterbox), converted as the classifier's
 * settings say (built-in defaults for known models, its sidecar, see
 * model_config.h), or to grey, the frame's luma, for a one-channel input.
 *
 * For tests: with the environment variable VIGIL_CLASSIFY_DUMP naming a
 * folder, each crop's input tensor and the classifier's output are written
 * there as F-D.input.bin and F-D.output.bin (raw tensor bytes; F counts the
 * runs from 1, D is the detection's index).
 */

#define VG_CLASSIFY_DEFAULT_MAX 8

typedef struct vg_classifier_options {
	const char *model;
	const char *classes;      /* comma-separated detection class names or ids to classify; NULL: all */
	int max_crops;            /* crops per frame, largest first; 0: VG_CLASSIFY_DEFAULT_MAX */
	int threads;              /* default 1 */
	const char *sidecar;      /* NULL: the model's own sidecar, if any; "none": none */
} vg_classifier_options;

typedef struct vg_classifier vg_classifier;

/*
 * Loads the classifier. detector_labels (may be NULL) resolve the class
 * names in options.classes; names it does not know are an error.
 */
int vg_classifier_create(vg_classifier **out, const vg_classifier_options *opt, const vg_labels *detector_labels,
			 char *err, size_t errlen);

/*
 * Classifies the selected detections of a frame (their boxes normalised to
 * the frame) and appends each one's attribute. Returns the number of crops
 * classified, or -1 with a message.
 */
int vg_classifier_run(vg_classifier *c, const vg_frame *frame, vg_detection *dets, int n, char *err, size_t errlen);

/* How the classifier's input is prepared, its labels, and where the settings came from, for messages. */
const char *vg_classifier_summary(const vg_classifier *c);

void vg_classifier_destroy(vg_classifier *c);

/* The pieces, for tests. */

/* A crop in frame pixels: [x, x + w) x [y, y + h). */
typedef struct vg_crop_rect {
	int x, y, w, h;
} vg_crop_rect;

/* The crop of a detection by the rule above: 0, or -1 when it is under 2x2 pixels. */
int vg_crop_rect_for(const vg_detection *d, int frame_w, int frame_h, float margin, vg_crop_rect *out);

/*
 * The detections to classify, by the rule above: writes their indices to
 * order, largest first, and returns how many (at most max). keep (n_keep
 * class ids) filters by class unless n_keep is 0.
 */
int vg_classify_select(const vg_detection *dets, int n, int frame_w, int frame_h, const int *keep, int n_keep,
		       int max, int *order);

#endif
