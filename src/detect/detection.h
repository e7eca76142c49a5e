#ifndef VG_DETECTION_H
#define VG_DETECTION_H

#include <stdint.h>

/* MoveNet's 17 COCO body keypoints are the most one detection carries. */
#define VG_MAX_KEYPOINTS 17

/* A landmark of a detection: a face's eye, a hand's wrist, a body's knee. */
typedef struct vg_keypoint {
	float x, y;      /* normalised like the box */
	float score;     /* 0..1; 1 when the model gives no per-keypoint confidence */
} vg_keypoint;

/*
 * What a detection's keypoints are: their names, in order, and the pairs of
 * keypoints that the renderer joins with a line (a skeleton). Layouts are
 * static tables, so detections can point at them across threads.
 */
typedef struct vg_keypoint_layout {
	const char *name;                /* "coco17", "blazeface", ... */
	int count;
	const char *const *names;        /* count names */
	int n_edges;
	const uint8_t (*edges)[2];       /* n_edges pairs of keypoint indices */
} vg_keypoint_layout;

/* A second-stage classifier's answers one detection carries (--classify). */
#define VG_MAX_ATTRIBUTES 2

/* What a classifier run on a detection's crop said: its best class. */
typedef struct vg_attribute {
	char model[64];   /* the classifier's file name, without its folder */
	char label[64];   /* its class name (cut to 63 bytes), or "class N" when it has no labels */
	int class_id;
	float score;      /* the classifier's output for that class (a probability for softmax outputs) */
} vg_attribute;

/*
 * One thing found in a frame. Coordinates are normalised to the frame: 0..1,
 * x right, y down. A classifier's answer is about the whole frame and has no
 * box (whole_frame set, coordinates 0 0 1 1).
 */
typedef struct vg_detection {
	float x0, y0, x1, y1;
	int class_id;
	float score;
	int whole_frame;
	char label[48];
	int n_keypoints;                    /* 0 for models without keypoints */
	const vg_keypoint_layout *layout;   /* names and skeleton of the keypoints, or NULL */
	vg_keypoint keypoints[VG_MAX_KEYPOINTS];
	int n_attributes;                   /* 0 unless a second-stage classifier ran on it */
	vg_attribute attributes[VG_MAX_ATTRIBUTES];
	int track_id;                       /* the tracker's id for this object, 0 when none (see track/tracker.h) */
} vg_detection;

/* The most detections one frame can carry through the pipeline. */
#define VG_MAX_DETECTIONS 256

#endif
