#ifndef VG_NMS_H
#define VG_NMS_H

#include "detect/detection.h"

/* Intersection over union of two boxes; 0 when either is empty. */
float vg_iou(const vg_detection *a, const vg_detection *b);

/*
 * Non-maximum suppression in place: sorts dets by score (highest first) and
 * keeps each box unless it overlaps a kept one by more than iou_threshold
 * (only boxes of the same class when per_class). Keeps at most max_keep.
 * Returns the number kept, which are dets[0..n).
 */
int vg_nms(vg_detection *dets, int count, float iou_threshold, int per_class, int max_keep);

/*
 * MediaPipe's weighted NMS (NonMaxSuppressionCalculator, algorithm
 * WEIGHTED), in place: in order of score, the best remaining detection and
 * every remaining one overlapping it by more than iou_threshold (itself
 * included) leave the pool together, and one detection comes out with the
 * best one's score and class and their boxes and keypoints averaged,
 * weighted by score. Keeps at most max_keep; returns the number kept.
 */
int vg_nms_weighted(vg_detection *dets, int count, float iou_threshold, int max_keep);

#endif
