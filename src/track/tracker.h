#ifndef VG_TRACKER_H
#define VG_TRACKER_H

#include <stdint.h>

#include "detect/detection.h"

/*
 * A multi-object tracker in the manner of ByteTrack (Zhang et al., 2022):
 * one Kalman filter per track, association by the IoU of predicted boxes in
 * two passes (confident detections first, then the low-score ones, which
 * keep tracks alive through partial occlusion), an optimal assignment, and
 * tracks kept apart per class. A track gets its id when it is confirmed, after
 * confirm_hits matches in a row; it ends after max_misses analyses without a
 * match. One tracker per camera. It is not thread-safe: a caller that draws
 * predictions from another thread holds a lock around every call.
 *
 * Coordinates are normalised to the frame (0..1, x right, y down), as in
 * vg_detection; frame_aspect (width / height) lets the filter and the
 * stationary test measure distances in one unit on both axes.
 */

typedef struct vg_tracker_options {
	float high_score;    /* detections at or above are confident (first pass); default 0.5 */
	float low_score;     /* detections below are ignored; default 0.1 */
	float new_score;     /* an unmatched detection at or above starts a track; default high_score + 0.1 */
	float match_iou;     /* least IoU for the first pass and for tentative tracks; default 0.2 */
	float low_match_iou; /* least IoU for the second pass; default 0.5 */
	int confirm_hits;    /* matches in a row before a track is confirmed and gets an id; default 3 */
	int max_misses;      /* analyses without a match before a confirmed track ends; default 30 */
	float frame_aspect;  /* frame width / height; default 1 */
} vg_tracker_options;

/* Leaves 0 in a field to take its default. */
void vg_tracker_options_default(vg_tracker_options *o);

/* How many past centres a track keeps, and how many of the latest decide "stationary". */
#define VG_TRACK_TRAIL 30
#define VG_TRACK_STATIONARY_POINTS 10

typedef struct vg_track_info {
	int id;                    /* > 0: only confirmed tracks are listed */
	int class_id;
	char label[48];
	float x0, y0, x1, y1;      /* the filter's box (or its prediction, from vg_tracker_predict) */
	float score;               /* of the last matched detection */
	float best_score;          /* the highest of its matched detections */
	int hits;                  /* matched analyses */
	int misses;                /* analyses since the last match (0 = matched in the last one) */
	int age;                   /* analyses since birth */
	double first_time;         /* time of the first detection */
	double last_time;          /* time of the last match */
	int stationary;            /* its last VG_TRACK_STATIONARY_POINTS centres lie within 0.1 x its height */
	int n_trail;
	float trail[VG_TRACK_TRAIL][2]; /* centres at its matches, oldest first */
} vg_track_info;

typedef struct vg_tracker_stats {
	uint64_t updates;
	uint64_t births;       /* tracks started (tentative ones included) */
	uint64_t confirmed;    /* tracks that got an id */
	uint64_t deaths;       /* confirmed tracks that ended */
	uint64_t fragments;    /* confirmed tracks that seem to continue an object another track had (see tracker.c) */
	uint64_t recoveries;   /* confirmed tracks matched again after missing at least one analysis */
	uint64_t ended_dropped; /* ended tracks not collected with vg_tracker_ended before the queue filled */
	int live;              /* confirmed tracks now */
	int tentative;         /* unconfirmed tracks now */
} vg_tracker_stats;

typedef struct vg_tracker vg_tracker;

/* Options may be NULL for the defaults. Returns NULL when memory runs out or an option is out of range. */
vg_tracker *vg_tracker_create(const vg_tracker_options *opt);
void vg_tracker_destroy(vg_tracker *t);

/*
 * Takes one analysis's detections at time (seconds, any origin, not
 * decreasing) and writes each detection's track_id (0 when it belongs to no
 * confirmed track). Whole-frame detections are left out. Returns 0, or -1
 * when memory runs out (the tracker stays usable, but that analysis's ids
 * may be missing and its unmatched tracks are not counted as missed).
 */
int vg_tracker_update(vg_tracker *t, vg_detection *dets, int n, double time);

/*
 * The confirmed tracks that matched in the last update, with their boxes
 * predicted to time (for drawing between analyses). Writes at most max and
 * returns how many there are. The prediction is a straight line from the
 * last analysis: a caller whose analyses stall limits how far ahead it draws.
 */
int vg_tracker_predict(const vg_tracker *t, double time, vg_track_info *out, int max);

/* Every confirmed track still alive (missing ones too: see misses). Writes at most max; returns the count. */
int vg_tracker_tracks(const vg_tracker *t, vg_track_info *out, int max);

/*
 * The confirmed tracks that ended since the last call, oldest first, as they
 * were at their last match; writes at most max and forgets those written.
 * Returns how many were written. At most 1024 wait; older ones are dropped
 * and counted.
 */
int vg_tracker_ended(vg_tracker *t, vg_track_info *out, int max);

void vg_tracker_get_stats(const vg_tracker *t, vg_tracker_stats *s);

#endif
