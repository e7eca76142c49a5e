#ifndef VG_LINES_H
#define VG_LINES_H

#include <stddef.h>
#include <stdint.h>

/*
 * Directed counting lines. A line is a segment A->B in normalised frame
 * coordinates (0..1, x right, y down as in images). An object that moves
 * from the left of A->B to its right, as seen on the screen, goes "in"; the
 * other way is "out" (both names can be changed).
 *
 * An object is followed by its track's reference point, the bottom centre of
 * its box: where it stands on the ground, which is what a line painted on a
 * floor or a road means (the same point zones use).
 *
 * A crossing is counted when the point passes the segment itself, tested
 * step by step between consecutive positions (segment against segment,
 * endpoints inclusive), never because a box merely overlaps the line. Jitter
 * on the line must not count again and again, so a side is adopted only when
 * the point is at least a margin away from the line's infinite extension;
 * a crossing is the adopted side changing while some step since the last
 * adopted position touched the segment proper. Walking around the end of a
 * segment changes side without touching it, and counts nothing.
 *
 * The module keeps no clock: callers give the time (Unix microseconds) with
 * each update, which decides the hour and day the counts go to.
 */

/* Names are 1 to 32 of letters, digits, '_' and '-' (as camera names, with capitals allowed). */
#define VG_LINE_NAME_MAX 32
/* Direction names ("in", "out"), with their terminating zero. */
#define VG_LINE_DIR_NAME_MAX 16
/* Labels a line counts separately; crossings of further labels go to "other". */
#define VG_LINE_MAX_LABELS 64
/* A label's length in the counters, with its zero (as vg_detection's label). */
#define VG_LINE_LABEL_MAX 48
/* The default hysteresis margin: a hundredth of the frame. */
#define VG_LINE_MARGIN 0.01f

/* Directions: VG_LINE_IN is left to right of A->B. */
enum { VG_LINE_IN = 0, VG_LINE_OUT = 1 };

typedef struct vg_line_def {
	char name[VG_LINE_NAME_MAX + 1];
	float ax, ay, bx, by;                        /* A and B, normalised */
	char dir_name[2][VG_LINE_DIR_NAME_MAX];      /* [VG_LINE_IN], [VG_LINE_OUT]: "in", "out" by default */
	float margin;                                /* hysteresis, normalised; VG_LINE_MARGIN by default */
} vg_line_def;

/*
 * Parses "NAME:X1,Y1,X2,Y2" (the --line flag): A is (X1,Y1), B (X2,Y2), each
 * coordinate a number within 0..1, A and B distinct. Fills def with the
 * default direction names and margin. 0, or -1 with a message naming the
 * part that was wrong in err.
 */
int vg_line_parse(const char *arg, vg_line_def *def, char *err, size_t errlen);

/* 1 when s is a valid zone or line name. */
int vg_track_name_valid(const char *s);

/* What a line remembers of one track between positions. */
typedef struct vg_line_track {
	int side;        /* adopted side: -1 left, +1 right, 0 not yet known */
	int touched;     /* a step since the last adopted position touched the segment */
	int has_prev;
	float px, py;    /* the previous position */
} vg_line_track;

/*
 * The line's geometry and hysteresis for one new position (x, y) of a
 * track whose state is st (all zero for a new track): VG_LINE_IN or
 * VG_LINE_OUT when this position completes a crossing, -1 otherwise.
 * Pure: no counts change.
 */
int vg_line_step(const vg_line_def *def, vg_line_track *st, float x, float y);

/*
 * 1 when the segments P0-P1 and Q0-Q1 share a point, endpoints and
 * collinear overlaps included.
 */
int vg_segments_intersect(double p0x, double p0y, double p1x, double p1y, double q0x, double q0y, double q1x,
			  double q1y);

/* Signed side of P against the infinite line A->B, in normalised units: < 0 left, > 0 right (y down). */
double vg_line_side(const vg_line_def *def, double x, double y);

/* A line with its counts and the state of the tracks it follows. */
typedef struct vg_line vg_line;

/*
 * Counts of one label: since start, in the current UTC hour, in the hour
 * before it, and today (since local midnight), per direction.
 */
typedef struct vg_line_counts {
	char label[VG_LINE_LABEL_MAX];
	uint64_t total[2], hour[2], prev_hour[2], day[2];
} vg_line_counts;

/*
 * A line following at most max_tracks tracks at once (at least 1); when a
 * new track finds the table full, the one seen longest ago is forgotten.
 * NULL when out of memory.
 */
vg_line *vg_line_create(const vg_line_def *def, int max_tracks);
void vg_line_destroy(vg_line *l);
const vg_line_def *vg_line_get_def(const vg_line *l);

/*
 * A new position of track track_id (> 0) of label (NULL or "" reads
 * "unknown"), its reference point (x, y), at now_us (Unix microseconds):
 * VG_LINE_IN or VG_LINE_OUT when it crossed (and was counted), else -1.
 * Not thread-safe: vg_zones wraps lines in its mutex.
 */
int vg_line_update(vg_line *l, int track_id, const char *label, float x, float y, int64_t now_us);

/*
 * Adds count crossings of label in direction dir made in the UTC hour that
 * began at hour_start_us, as a store kept them before a restart: to this
 * hour's or the previous hour's counters, and to today's when the hour
 * began since local midnight. The totals since start are left alone.
 */
void vg_line_restore(vg_line *l, const char *label, int dir, int64_t hour_start_us, uint64_t count, int64_t now_us);

/* Drops what the line remembers of a track (it ended); its counts stay. */
void vg_line_forget(vg_line *l, int track_id);

/* Tracks the line follows now. */
int vg_line_tracked(const vg_line *l);

/*
 * The counts as they stand at now_us (an hour or a day that has passed
 * since the last update reads as such), one entry per label seen, in the
 * order first seen, into out (up to cap entries). Returns the number of
 * labels, which may exceed cap.
 */
int vg_line_get_counts(const vg_line *l, int64_t now_us, vg_line_counts *out, int cap);

/* Totals since start over every label: in[VG_LINE_IN], [VG_LINE_OUT]. */
void vg_line_totals(const vg_line *l, uint64_t out[2]);

#endif
