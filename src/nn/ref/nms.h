#ifndef NN_REF_NMS_H
#define NN_REF_NMS_H

#include "nn/ref/quant.h"
#include "nn/ref/ref.h"

/* NON_MAX_SUPPRESSION (ONNX NonMaxSuppression): see nms.c. */
int nn_ref_nms_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen);
int nn_ref_nms_run(nn_graph *g, const nn_node *n, char *err, size_t errlen);

/*
 * Greedy selection shared by NON_MAX_SUPPRESSION and NMS_PADDED: of n boxes
 * (4 floats each: [y1, x1, y2, x2] corners in either order, or [cx, cy, w,
 * h] with center_point_box) and their scores, those above the score
 * threshold (when there is one), best first (equal scores by lower index,
 * NaN last), each dropped when its IoU with one already selected is above
 * iou_threshold (at or above it with suppress_equal, as TensorFlow Lite).
 * With soft_sigma > 0 (TensorFlow's soft-NMS) an overlap below the threshold
 * scales the score by exp(-0.5 * iou^2 / soft_sigma) instead, and the box
 * goes back in line with its lowered score while that stays above the score
 * threshold. Writes up to max_out indices to sel (and their final scores to
 * sel_scores when not NULL); returns how many, or -1 when out of memory.
 */
typedef struct nn_nms_opts {
	float iou_threshold;
	int suppress_equal;
	int has_score_threshold;
	float score_threshold;
	float soft_sigma;
	int center_point_box;
} nn_nms_opts;

int nn_nms_select(const float *boxes, const float *scores, int n, int max_out, const nn_nms_opts *o, int *sel,
		  float *sel_scores);

/* NMS_PADDED (TFLite NON_MAX_SUPPRESSION_V4 and V5): see nms_padded.c. */
int nn_ref_nms_padded_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen);
int nn_ref_nms_padded_run(nn_graph *g, const nn_node *n, char *err, size_t errlen);

#endif
