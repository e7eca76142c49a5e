#ifndef VG_ZONES_H
#define VG_ZONES_H

#include <stddef.h>
#include <stdint.h>

#include "track/lines.h"

/*
 * Zones and lines of one camera. A zone is a polygon in normalised frame
 * coordinates (0..1, y down). An object is in a zone when the bottom centre
 * of its box is inside the polygon, Frigate's convention: that is where the
 * object stands, so a person walking past in front of a driveway is not "in
 * the driveway" because the top of their box overlaps it. Points on the
 * polygon's edges and vertices are inside. Concave polygons work; a
 * self-intersecting outline is read by the even-odd rule.
 *
 * A vg_zones object is fed once per analysed frame with the tracked objects
 * and the time (vg_zones_update). It keeps a bounded table of the tracks it
 * follows (max_tracks; tracks unseen for forget_us, or forgotten with
 * vg_zones_forget when the tracker ends them, free their places), and
 * reports what happened through a callback: an object entered or left a
 * zone, loitered in one, crossed a line. Updates come from one thread (the
 * camera's analysis); the counts may be read from any thread (a mutex).
 * The callback runs in the updating thread, after the mutex is released,
 * so it may read the counts.
 */

#define VG_ZONE_NAME_MAX VG_LINE_NAME_MAX
#define VG_POLYGON_MAX_POINTS 64
/* Labels one zone's objects filter names, and labels one zone counts separately (further ones as "other"). */
#define VG_ZONE_MAX_OBJECTS 16
#define VG_ZONE_MAX_LABELS 64
#define VG_ZONE_LABEL_MAX VG_LINE_LABEL_MAX
/* Frames in a row inside before an object counts as entered (and outside before it has left). */
#define VG_ZONE_INERTIA 3
/* A track not seen for this long is forgotten (it left every zone). */
#define VG_ZONES_FORGET_US 5000000
/* The table's size when vg_zones_create is given 0: the most detections a frame carries. */
#define VG_ZONES_MAX_TRACKS 256

typedef struct vg_polygon {
	int n;                                   /* 3 .. VG_POLYGON_MAX_POINTS */
	float x[VG_POLYGON_MAX_POINTS], y[VG_POLYGON_MAX_POINTS];
} vg_polygon;

/* 1 when (x, y) is inside p or on its outline. */
int vg_polygon_contains(const vg_polygon *p, float x, float y);

typedef struct vg_zone_def {
	char name[VG_ZONE_NAME_MAX + 1];
	vg_polygon poly;
	int n_objects;                                        /* 0: every label */
	char objects[VG_ZONE_MAX_OBJECTS][VG_ZONE_LABEL_MAX]; /* the labels the zone cares about */
	int inertia;                                          /* >= 1; VG_ZONE_INERTIA by default */
	double loitering_time_s;                              /* > 0: one loitering event per stay this long */
} vg_zone_def;

/*
 * Parses "NAME:X1,Y1,X2,Y2,X3,Y3,..." (the --zone flag): at least 3 and at
 * most VG_POLYGON_MAX_POINTS points, each coordinate within 0..1. Fills
 * the rest of def with the defaults (every label, inertia 3, no
 * loitering). 0, or -1 with a message naming what was wrong in err.
 */
int vg_zone_parse(const char *arg, vg_zone_def *def, char *err, size_t errlen);

/* 1 when the zone's objects filter lets label through. */
int vg_zone_wants(const vg_zone_def *def, const char *label);

/* What the zones and lines take of a tracked object. */
typedef struct vg_zone_obj {
	int track_id;          /* > 0; objects without a track (0) are ignored */
	int class_id;
	const char *label;     /* NULL or "" reads "unknown"; copied */
	float x0, y0, x1, y1;  /* the box, normalised, y down */
} vg_zone_obj;

typedef enum vg_zone_event_kind {
	VG_ZONE_ENTERED,
	VG_ZONE_LEFT,
	VG_ZONE_LOITERING,
	VG_LINE_CROSSED,
} vg_zone_event_kind;

typedef struct vg_zone_event {
	vg_zone_event_kind kind;
	char name[VG_ZONE_NAME_MAX + 1];      /* the zone's or the line's */
	int track_id;
	int class_id;
	char label[VG_ZONE_LABEL_MAX];
	int direction;                        /* crossings: VG_LINE_IN or VG_LINE_OUT; else -1 */
	const char *direction_name;           /* crossings: the line's name for it ("in"); else NULL */
	int64_t time_us;                      /* the update's time */
	double dwell_s;                       /* left, loitering: seconds since the object entered */
} vg_zone_event;

const char *vg_zone_event_kind_name(vg_zone_event_kind k); /* "entered", "left", "loitering", "crossed" */

typedef void (*vg_zone_event_fn)(const vg_zone_event *ev, void *user);

/*
 * One event as a line of JSON (for `vigil detect`'s output, SSE and MQTT),
 * malloc'd, NULL when out of memory:
 *   {"event":"crossed","camera":C,"line":NAME,"direction":"in","track_id":5,"label":"person",
 *    "time":1765000000.25,"frame":120}
 *   {"event":"entered"|"left"|"loitering","camera":C,"zone":NAME,"track_id":..,"label":..,"time":..,
 *    "dwell_s":..}   (dwell_s for left and loitering)
 * camera NULL and frame < 0 leave those members out; time is Unix seconds.
 */
char *vg_zone_event_json(const vg_zone_event *ev, const char *camera, int64_t frame);

typedef struct vg_zones vg_zones;

/*
 * A camera's zones and lines (the definitions are copied). max_tracks <= 0
 * means VG_ZONES_MAX_TRACKS; forget_us <= 0 means VG_ZONES_FORGET_US. fn
 * may be NULL. NULL when out of memory.
 */
vg_zones *vg_zones_create(const vg_zone_def *zones, int nzones, const vg_line_def *lines, int nlines, int max_tracks,
			  int64_t forget_us, vg_zone_event_fn fn, void *user);
void vg_zones_destroy(vg_zones *z);

/*
 * One analysed frame's tracked objects at now_us (Unix microseconds). An
 * object absent from a frame keeps its state (occlusion) until forget_us
 * has passed. When the table is full, a new track takes the place of the
 * one seen longest ago (which leaves its zones, with events), unless every
 * track in it was seen in this frame: then the newcomer is ignored. Returns the number of events delivered.
 */
int vg_zones_update(vg_zones *z, const vg_zone_obj *objs, int n, int64_t now_us);

/* The tracker ended this track: it leaves the zones it was in (events) and is forgotten. */
void vg_zones_forget(vg_zones *z, int track_id, int64_t now_us);

/* The definitions, fixed at creation (no lock needed). */
int vg_zones_count(const vg_zones *z);
int vg_zones_line_count(const vg_zones *z);
const vg_zone_def *vg_zones_zone(const vg_zones *z, int i);
const vg_line_def *vg_zones_line(const vg_zones *z, int i);

/* Objects in zone i now, of label (NULL: all labels). */
int vg_zones_objects(vg_zones *z, int i, const char *label);

/* Line i's crossings since start per direction, all labels. */
void vg_zones_line_totals(vg_zones *z, int i, uint64_t out[2]);

/* Line i's counts per label at now_us (vg_line_get_counts). */
int vg_zones_line_counts(vg_zones *z, int i, int64_t now_us, vg_line_counts *out, int cap);

/*
 * Line NAME's crossings of a past UTC hour in the direction named
 * direction (its in or out name), restored from a store (vg_line_restore).
 * 0, or -1 when there is no such line or direction.
 */
int vg_zones_restore_line(vg_zones *z, const char *name, const char *direction, const char *label,
			  int64_t hour_start_us, uint64_t count, int64_t now_us);

/* Tracks in the table now (bounded by max_tracks). */
int vg_zones_tracked(vg_zones *z);

/*
 * The counts as JSON for /api/stats, malloc'd (NULL when out of memory):
 * {"zones":{NAME:{"objects":{LABEL:n,...},"total":n}},
 *  "lines":{NAME:{"in":{LABEL:n},"out":{LABEL:n},"hour":{"in":{..},"out":{..}},
 *                 "previous_hour":{..},"today":{..}}}}
 * where "in" and "out" are the line's direction names. A zone lists every
 * label it has seen, 0 when none is in it now.
 */
char *vg_zones_stats_json(vg_zones *z, int64_t now_us);

/*
 * Appends the Prometheus text of n cameras' zones and lines to the growing
 * buffer *buf (len bytes used of cap, realloc'd, kept NUL-terminated),
 * one family at a time as the format requires:
 *   vigil_zone_objects{camera,zone,label} gauge
 *   vigil_line_crossings_total{camera,line,direction,label} counter
 * zs[i] may be NULL (a camera without zones). 0, or -1 when out of memory.
 */
int vg_zones_metrics(vg_zones *const *zs, const char *const *cameras, int n, char **buf, size_t *len, size_t *cap);

/*
 * Object masks: polygons where detections are ignored. 1 when the bottom
 * centre of the box lies in one of the n masks (on an edge included).
 */
int vg_masks_hide(const vg_polygon *masks, int n, float x0, float y0, float x1, float y1);

/*
 * Parses a mask "X1,Y1,X2,Y2,X3,Y3,..." (no name). 0, or -1 with a message
 * in err.
 */
int vg_polygon_parse(const char *arg, vg_polygon *p, char *err, size_t errlen);

/*
 * Size filters per label, in fractions of the frame's area (resolution
 * does not matter): label "*" applies to labels without their own entry;
 * a bound of 0 is no bound.
 */
typedef struct vg_area_filter {
	char label[VG_ZONE_LABEL_MAX];
	float min_area, max_area;
} vg_area_filter;

/* 1 when the box's area passes the filter for its label (or no filter names it). */
int vg_area_ok(const vg_area_filter *f, int n, const char *label, float x0, float y0, float x1, float y1);

#endif
