#ifndef VG_DECODE_H
#define VG_DECODE_H

#include "detect/detection.h"

/*
 * Model outputs to detections, in normalised model-input coordinates (the
 * caller maps them to the frame). Each returns the number of detections
 * written to out (at most max), best first. Labels are left empty.
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

#endif
