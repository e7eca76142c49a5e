#ifndef VG_SCENE_H
#define VG_SCENE_H

#include <pthread.h>
#include <stdint.h>

#include "detect/detection.h"
#include "detect/detector.h"
#include "track/lifecycle.h"
#include "track/tracker.h"
#include "track/zones.h"

/*
 * What one camera's analysis knows across frames: the tracker that gives
 * detections their identities, and the zones and lines that turn those
 * identities into counts and events. The analysis feeds it once per analysed
 * frame (vg_scene_update); the encode thread reads the tracks' predicted
 * positions for the frames it shows between analyses (vg_scene_predict).
 * A lock keeps the two apart; zone counts have their own (zones.h).
 */

/* The lowest score the tracker looks at (ByteTrack's second pass), unless the camera's threshold is lower. */
#define VG_TRACK_LOW_SCORE 0.1f

/* How far ahead of the last analysis the encode thread draws predicted boxes. */
#define VG_SCENE_MAX_PREDICT_S 1.0

typedef struct vg_scene_options {
	int tracking;                       /* 0: no tracker, no zones or lines either (they follow tracks) */
	vg_tracker_options tracker;         /* zeros take the tracker's defaults; frame_aspect is set per frame */
	const vg_zone_def *zones;
	int nzones;
	const vg_line_def *lines;
	int nlines;
	vg_zone_event_fn on_zone_event;     /* may be NULL; called on the analysis thread */
	/*
	 * Object events (track/lifecycle.h), on when on_object is set: one per
	 * confirmed track, new, update and end, with the best frame offered to
	 * on_better_frame (may be NULL) and has_clip set when clips are kept.
	 * On the analysis thread, like the zone events, which come first.
	 */
	const char *camera;                 /* the events' camera (copied); NULL: none */
	vg_object_message_fn on_object;
	vg_object_snapshot_fn on_better_frame;
	int clips;
	void *user;                         /* every callback's */
	/* Object masks (where detections are ignored: bottom centre inside) and size limits per label. */
	const vg_polygon *masks;
	int nmasks;
	const vg_area_filter *areas;
	int nareas;
} vg_scene_options;

typedef struct vg_scene vg_scene;

/*
 * The tracker's scores for a model shown at threshold: confident at the
 * threshold, a second pass down to VG_TRACK_LOW_SCORE (or half the
 * threshold), new tracks from a little above it (ByteTrack's rules). The
 * model decodes down to the low score when its threshold is a filter of its
 * results (detector.h); otherwise there is no second pass.
 */
void vg_scene_track_settings(vg_tracker_options *to, vg_detector *det, float threshold);

/* Whether these options ask for a scene at all: tracking, or masks or size limits. */
int vg_scene_wanted(const vg_scene_options *opt);

/*
 * Drops, in place and in order, the detections an object mask hides or whose
 * size is out of their label's limits; returns how many are left. Before
 * tracking: what is ignored is not tracked either.
 */
int vg_scene_filter(const vg_scene *s, vg_detection *dets, int n);

/* NULL when out of memory or an option is out of range. The definitions are copied. */
vg_scene *vg_scene_create(const vg_scene_options *opt);
void vg_scene_destroy(vg_scene *s);

/*
 * One analysed frame of width x height at capture times mono_us (the
 * tracker's clock) and wall_us (the counts' hours and days): writes each
 * detection's track_id, moves the tracked objects scoring at least the
 * tracker's high_score (those shown) through the zones and lines, and lets
 * the zones forget the tracks that ended. Returns the zone and line
 * events delivered.
 */
int vg_scene_update(vg_scene *s, vg_detection *dets, int n, int width, int height, int64_t mono_us,
		    int64_t wall_us);

/*
 * The confirmed tracks matched in the last analysis, moved to mono_us (not
 * more than VG_SCENE_MAX_PREDICT_S past that analysis). Returns how many,
 * at most max.
 */
int vg_scene_predict(vg_scene *s, int64_t mono_us, vg_track_info *out, int max);

/* Ends the live objects' events (the camera stops): their end messages are sent now, at wall_us. */
void vg_scene_end_objects(vg_scene *s, int64_t wall_us);

/* The zones and lines (NULL without any), for drawing and counts. */
vg_zones *vg_scene_zones(const vg_scene *s);

void vg_scene_tracker_stats(vg_scene *s, vg_tracker_stats *out);

#endif
