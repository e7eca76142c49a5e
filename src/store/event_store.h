#ifndef VG_EVENT_STORE_H
#define VG_EVENT_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "track/lifecycle.h"

/*
 * What outlives a restart: the object events, the index of their snapshots
 * and clips, and the zone and line counts per hour, in one SQLite database
 * under the data folder (--data DIR):
 *
 *   DIR/vigil.db                        events and counts
 *   DIR/snapshots/CAMERA/ID.jpg         the best frame, whole
 *   DIR/snapshots/CAMERA/ID-crop.jpg    the same, cropped around the object
 *   CLIPS/CAMERA/ID.mp4                 the clip (CLIPS: --clips, else DIR/clips)
 *
 * CAMERA is the camera's name, or "default" for an unnamed one.
 *
 * Writes are queued to the store's own thread, so the analysis never waits
 * for the disk; the queue is bounded (VG_STORE_QUEUE_MAX) and what does not
 * fit is dropped and counted. Reads (queries, for the HTTP server) use their
 * own connection and may run on any thread. Retention runs on the store's
 * thread at open and every minute: events that ended more than retain_days
 * ago go with their files, then the oldest ended events' clips and then
 * snapshots go until the files fit in max_bytes. A write that fails for want
 * of space is logged once and the store keeps trying; nothing crashes.
 */

#define VG_STORE_QUEUE_MAX 4096

typedef struct vg_store_options {
	const char *dir;          /* created if missing (with its parents) */
	const char *clips_dir;    /* NULL: DIR/clips */
	double retain_days;       /* 0: 10 days */
	int64_t max_bytes;        /* snapshots and clips together; 0: 10 GiB */
} vg_store_options;

typedef struct vg_store_stats {
	uint64_t events_written;  /* rows inserted or replaced */
	uint64_t dropped;         /* writes the full queue turned away */
	uint64_t write_errors;    /* statements or files that failed */
	uint64_t removed_events;  /* rows retention deleted */
	uint64_t removed_files;   /* files retention deleted */
	int64_t bytes;            /* snapshots and clips on disk, as last measured */
} vg_store_stats;

typedef struct vg_event_store vg_event_store;

/*
 * Opens (creating) the database and its folders and starts the store's
 * thread. Returns 0, or -1 with a one-line message naming the path and the
 * problem (not writable, not a database, a newer schema).
 */
int vg_event_store_open(vg_event_store **out, const vg_store_options *opt, char *err, size_t errlen);

/* Writes what is queued, stops the thread and closes. NULL is a no-op. */
void vg_event_store_close(vg_event_store *st);

/* Queues the event's state (inserted, or replacing the row of its id). Any thread. */
void vg_event_store_put(vg_event_store *st, const vg_object_state *s);

/* Queues "the clip of event id is complete" (has_clip stays 1, clip_bytes is set) or failed (has_clip 0). */
void vg_event_store_clip_done(vg_event_store *st, const char *id, int ok);

/*
 * Queues one count: kind "zone" (an object entered) or "line" (a crossing,
 * direction its name); added to the row of its camera, kind, name,
 * direction ("" for zones), label and UTC hour of wall_us.
 */
void vg_event_store_count(vg_event_store *st, const char *camera, const char *kind, const char *name,
			  const char *direction, const char *label, int64_t wall_us);

/* Waits until every write queued before the call is done (tests, shutdown). */
void vg_event_store_flush(vg_event_store *st);

typedef struct vg_event_query {
	const char *camera;       /* NULL: any */
	const char *label;        /* NULL: any */
	const char *zone;         /* NULL: any; else events that entered this zone */
	double after, before;     /* start_time range in Unix seconds; 0: open */
	int limit;                /* 0: 50; at most 1000 */
	int in_progress;          /* 1: only live events, 0: any */
} vg_event_query;

/* The matching events, newest first, as a JSON array of vg_object_state_json objects; malloc'd, NULL on error. */
char *vg_event_store_query_json(vg_event_store *st, const vg_event_query *q);

/* One event by id. 0, 1 when there is no such event, -1 on error. */
int vg_event_store_get(vg_event_store *st, const char *id, vg_object_state *out);

/*
 * Counts per hour, as a JSON array of {"camera", "kind", "name",
 * "direction", "label", "hour" (Unix seconds of its start), "count"},
 * oldest first, for hours starting in [from, to) (Unix seconds; 0: open);
 * camera NULL: any. Malloc'd, NULL on error.
 */
char *vg_event_store_counts_json(vg_event_store *st, const char *camera, double from, double to);

/*
 * The paths of an event's files (they may not exist yet). An id is checked
 * (digits, '.', '-', a-z only) so that no request can name a path
 * outside the folders. 0, or -1 for a bad id or a buffer too small.
 */
int vg_event_store_snapshot_path(const vg_event_store *st, const char *camera, const char *id, int crop, char *buf,
				 size_t cap);
int vg_event_store_clip_path(const vg_event_store *st, const char *camera, const char *id, char *buf, size_t cap);

/* The data folder (DIR above). */
const char *vg_event_store_dir(const vg_event_store *st);

/* The clips' folder (CLIPS above); a camera's clips are in CLIPS/CAMERA. */
const char *vg_event_store_clips_dir(const vg_event_store *st);

/* 1 when id is a well-formed event id. */
int vg_event_id_valid(const char *id);

void vg_event_store_get_stats(vg_event_store *st, vg_store_stats *out);

/* The data folder when --data is not given: $XDG_DATA_HOME/vigil, else ~/.local/share/vigil. */
int vg_store_default_dir(char *buf, size_t cap);

#endif
