#ifndef VG_LIFECYCLE_H
#define VG_LIFECYCLE_H

#include <stddef.h>
#include <stdint.h>

#include "track/tracker.h"
#include "track/zones.h"

/*
 * Object events: one event per confirmed track, with a beginning and an end,
 * in the manner of Frigate's frigate/events. The camera's analysis feeds a
 * vg_lifecycle once per analysed frame with the tracker's live tracks, the
 * tracks that ended and the zone events of that frame; it answers with
 * messages, each a type and the object's state before and after:
 *
 *   new     the track was confirmed (before is all zeros)
 *   update  something people act on changed: it entered or left a zone, its
 *           top score rose by at least VG_LIFECYCLE_SCORE_STEP, it stopped or
 *           moved again (stationary, for VG_LIFECYCLE_STATIONARY_RUN analyses)
 *   end     the track ended (after has end_time)
 *
 * Box and score alone change every frame and are not worth a message; they
 * ride along in the next one. One camera's lifecycle is used from one thread.
 */

#define VG_OBJECT_ID_MAX 40
#define VG_OBJECT_CAMERA_MAX 33
#define VG_OBJECT_LABEL_MAX 48
/* Zones listed per event; an object in more is listed in the first ones. */
#define VG_OBJECT_MAX_ZONES 8
/* The least rise of the top score that is an update of its own. */
#define VG_LIFECYCLE_SCORE_STEP 0.05f
/*
 * Analyses in a row that the tracker must call an object stationary (or
 * moving) before its event says so: a walker who slows down for a moment
 * does not stop and start again in its messages.
 */
#define VG_LIFECYCLE_STATIONARY_RUN 10
/* Live objects a lifecycle follows at once; tracks past these have no event. */
#define VG_LIFECYCLE_MAX_OBJECTS 256

typedef struct vg_object_state {
	char id[VG_OBJECT_ID_MAX];               /* "1765050000.123456-x7k2qa": start time and 6 random [a-z0-9] */
	char camera[VG_OBJECT_CAMERA_MAX];       /* "" for a server of one unnamed camera */
	char label[VG_OBJECT_LABEL_MAX];
	int track_id;
	int class_id;
	float score;                             /* of the last match */
	float top_score;                         /* the highest, the best snapshot's */
	float box[4];                            /* x0, y0, x1, y1 normalised, of the last match */
	float top_box[4];                        /* the box at the top score (the snapshot's crop) */
	int nzones;                              /* the zones it is in now */
	char zones[VG_OBJECT_MAX_ZONES][VG_ZONE_NAME_MAX + 1];
	int nentered;                            /* every zone it has been in, in order of entry */
	char entered_zones[VG_OBJECT_MAX_ZONES][VG_ZONE_NAME_MAX + 1];
	double start_time;                       /* Unix seconds of its first detection */
	double end_time;                         /* Unix seconds of its last match; 0 while it lives */
	double top_score_time;                   /* Unix seconds of the frame with the top score */
	int stationary;
	int has_snapshot;
	int has_clip;
} vg_object_state;

typedef enum vg_object_message_type {
	VG_OBJECT_NEW,
	VG_OBJECT_UPDATE,
	VG_OBJECT_END,
} vg_object_message_type;

const char *vg_object_message_type_name(vg_object_message_type t); /* "new", "update", "end" */

typedef struct vg_object_message {
	vg_object_message_type type;
	vg_object_state before, after;
} vg_object_message;

/* Bytes always enough for vg_object_state_json's output, NUL included. */
#define VG_OBJECT_STATE_JSON_MAX 2048

/*
 * One state as a JSON object: {"id", "camera", "label", "track_id", "class_id",
 * "score", "top_score", "box", "top_box", "zones", "entered_zones",
 * "start_time", "end_time" (null while it lives), "top_score_time",
 * "stationary", "has_snapshot", "has_clip"}. Returns its length, or 0 when
 * cap is too small.
 */
size_t vg_object_state_json(const vg_object_state *s, char *dst, size_t cap);

/* {"type": "new", "before": {...} or null for new, "after": {...}}, malloc'd; NULL when out of memory. */
char *vg_object_message_json(const vg_object_message *m);

/* Parses what vg_object_state_json wrote (the store keeps it). 0, or -1 when it is not such an object. */
int vg_object_state_parse(const char *json, size_t len, vg_object_state *out);

/* Called for each message, in the feeding thread. */
typedef void (*vg_object_message_fn)(const vg_object_message *m, void *user);

/*
 * Called, before the frame's messages, when an object's top score rose by
 * at least VG_LIFECYCLE_SNAPSHOT_STEP in the frame being fed (its first
 * frame included): the caller may keep this frame as the object's best
 * snapshot (top_box is the object's box in it). Returns 0 when it did, and
 * has_snapshot is then set.
 */
typedef int (*vg_object_snapshot_fn)(const vg_object_state *s, void *user);
#define VG_LIFECYCLE_SNAPSHOT_STEP 0.01f

typedef struct vg_lifecycle_options {
	const char *camera;                  /* may be NULL */
	int clips;                           /* clips are recorded: has_clip is set from the start */
	vg_object_message_fn on_message;
	vg_object_snapshot_fn on_better_frame; /* may be NULL: no snapshots */
	void *user;
} vg_lifecycle_options;

typedef struct vg_lifecycle vg_lifecycle;

/* NULL when out of memory. */
vg_lifecycle *vg_lifecycle_create(const vg_lifecycle_options *opt);

/* Ends every live object: their end messages are sent, with end_time now (the camera stops). */
void vg_lifecycle_end_all(vg_lifecycle *lc, int64_t now_wall_us);

/* Frees the lifecycle without a message. NULL is a no-op. */
void vg_lifecycle_destroy(vg_lifecycle *lc);

/* A zone event of the frame being fed (entered and left change the object's zones), before vg_lifecycle_update. */
void vg_lifecycle_zone_event(vg_lifecycle *lc, const vg_zone_event *ev);

/*
 * One analysed frame at track_time (the tracker's clock, seconds) and
 * wall_us (Unix µs, the same instant): the tracker's live confirmed tracks
 * (vg_tracker_tracks; the ones matched in this frame have misses 0) and the
 * ones that ended since the last frame (vg_tracker_ended). Sends the
 * messages of this frame. A live object missing from both lists (its end
 * was dropped by the tracker) ends too.
 */
void vg_lifecycle_update(vg_lifecycle *lc, const vg_track_info *live, int nlive, const vg_track_info *ended,
			 int nended, double track_time, int64_t wall_us);

/* The live object of a track (confirmed id), or NULL. Valid until the next call. */
const vg_object_state *vg_lifecycle_find(const vg_lifecycle *lc, int track_id);

#endif
