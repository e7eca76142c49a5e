#include "track/lines.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "track/parse.h"

int vg_track_name_valid(const char *s)
{
	size_t n = strlen(s);
	int ok = n >= 1 && n <= VG_LINE_NAME_MAX;
	for (size_t i = 0; ok && i < n; i++)
		ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		     s[i] == '_' || s[i] == '-';
	return ok;
}

/* Accepts only the characters of a plain decimal number, so "nan", "inf" and hexadecimal never get to strtod. */
static int number_chars(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!p[i] || !strchr("0123456789.eE+- \t", p[i]))
			return 0;
	return 1;
}

int vg_track__parse_spec(const char *what, const char *arg, char *name, size_t name_cap, float *v, int max_values,
			 int *count, char *err, size_t errlen)
{
	*count = 0;
	if (!arg || !*arg) {
		snprintf(err, errlen, "%s: expected NAME:X1,Y1,... but the value is empty", what);
		return -1;
	}
	const char *colon = strchr(arg, ':');
	if (!colon) {
		snprintf(err, errlen, "%s '%.60s': expected NAME:X1,Y1,... (no ':' after the name)", what, arg);
		return -1;
	}
	size_t nlen = (size_t)(colon - arg);
	if (nlen == 0 || nlen >= name_cap) {
		snprintf(err, errlen, "%s '%.60s': the name before ':' must be 1 to %d characters", what, arg,
			 (int)name_cap - 1);
		return -1;
	}
	memcpy(name, arg, nlen);
	name[nlen] = '\0';
	if (!vg_track_name_valid(name)) {
		snprintf(err, errlen, "%s name '%s' may only have letters, digits, '_' and '-'", what, name);
		return -1;
	}
	return vg_track__parse_numbers(what, name, colon + 1, v, max_values, count, err, errlen);
}

int vg_track__parse_numbers(const char *what, const char *name, const char *p, float *v, int max_values, int *count,
			    char *err, size_t errlen)
{
	int n = 0;
	*count = 0;
	char who[64];
	if (*name)
		snprintf(who, sizeof who, "%s '%s'", what, name);
	else
		snprintf(who, sizeof who, "%s", what);
	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (n == max_values) {
			snprintf(err, errlen, "%s: more than %d coordinates", who, max_values);
			return -1;
		}
		char tok[64];
		size_t lead = 0;
		while (lead < len && (p[lead] == ' ' || p[lead] == '\t'))
			lead++;
		if (lead == len) {
			snprintf(err, errlen, "%s: coordinate %d is empty", who, n + 1);
			return -1;
		}
		if (len >= sizeof tok || !number_chars(p, len)) {
			snprintf(err, errlen, "%s: coordinate %d ('%.*s') is not a number", who, n + 1,
				 (int)(len < 24 ? len : 24), p);
			return -1;
		}
		memcpy(tok, p, len);
		tok[len] = '\0';
		char *stop = NULL;
		double d = strtod(tok, &stop);
		while (stop && (*stop == ' ' || *stop == '\t'))
			stop++;
		if (stop == tok || (stop && *stop)) {
			snprintf(err, errlen, "%s: coordinate %d ('%s') is not a number", who, n + 1, tok);
			return -1;
		}
		if (!(d >= 0.0 && d <= 1.0)) {
			snprintf(err, errlen, "%s: coordinate %d (%s) is outside 0..1 (coordinates are fractions of "
				 "the frame's width and height)", who, n + 1, tok);
			return -1;
		}
		v[n++] = (float)d;
		if (!end)
			break;
		p = end + 1;
	}
	*count = n;
	return 0;
}

int vg_line_parse(const char *arg, vg_line_def *def, char *err, size_t errlen)
{
	memset(def, 0, sizeof *def);
	float v[16];
	int n = 0;
	if (vg_track__parse_spec("line", arg, def->name, sizeof def->name, v, 16, &n, err, errlen) < 0)
		return -1;
	if (n != 4) {
		snprintf(err, errlen, "line '%s': expected 4 coordinates X1,Y1,X2,Y2, got %d", def->name, n);
		return -1;
	}
	if (v[0] == v[2] && v[1] == v[3]) {
		snprintf(err, errlen, "line '%s': its two points are the same (%g,%g); a line needs distinct ends",
			 def->name, v[0], v[1]);
		return -1;
	}
	def->ax = v[0];
	def->ay = v[1];
	def->bx = v[2];
	def->by = v[3];
	snprintf(def->dir_name[VG_LINE_IN], sizeof def->dir_name[0], "in");
	snprintf(def->dir_name[VG_LINE_OUT], sizeof def->dir_name[0], "out");
	def->margin = VG_LINE_MARGIN;
	return 0;
}

/* Twice the signed area of a, b, c: > 0 when c is to the right of a->b with y pointing down. */
static double orient(double ax, double ay, double bx, double by, double cx, double cy)
{
	return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
}

/*
 * A point closer than this to a segment's line (a millionth of the frame,
 * far below a pixel) counts as on it: coordinates come as floats, so a
 * point meant to be on a diagonal segment lands a rounding error beside it,
 * and a path through a segment's endpoint must still count.
 */
#define COLLINEAR_DIST 1e-6

/* The side of c against a->b, 0 when within COLLINEAR_DIST of its line. */
static int side_of(double ax, double ay, double bx, double by, double cx, double cy)
{
	double o = orient(ax, ay, bx, by, cx, cy), eps = COLLINEAR_DIST * hypot(bx - ax, by - ay);
	return o > eps ? 1 : o < -eps ? -1 : 0;
}

/* c, known collinear with a-b, lies within the segment's bounding box. */
static int within(double ax, double ay, double bx, double by, double cx, double cy)
{
	const double e = COLLINEAR_DIST;
	return cx >= fmin(ax, bx) - e && cx <= fmax(ax, bx) + e && cy >= fmin(ay, by) - e && cy <= fmax(ay, by) + e;
}

int vg_segments_intersect(double p0x, double p0y, double p1x, double p1y, double q0x, double q0y, double q1x,
			  double q1y)
{
	int d1 = side_of(q0x, q0y, q1x, q1y, p0x, p0y);
	int d2 = side_of(q0x, q0y, q1x, q1y, p1x, p1y);
	int d3 = side_of(p0x, p0y, p1x, p1y, q0x, q0y);
	int d4 = side_of(p0x, p0y, p1x, p1y, q1x, q1y);
	if (d1 * d2 < 0 && d3 * d4 < 0)
		return 1;
	return (d1 == 0 && within(q0x, q0y, q1x, q1y, p0x, p0y)) || (d2 == 0 && within(q0x, q0y, q1x, q1y, p1x, p1y)) ||
	       (d3 == 0 && within(p0x, p0y, p1x, p1y, q0x, q0y)) || (d4 == 0 && within(p0x, p0y, p1x, p1y, q1x, q1y));
}

double vg_line_side(const vg_line_def *def, double x, double y)
{
	double len = hypot((double)def->bx - def->ax, (double)def->by - def->ay);
	if (!(len > 0))
		return 0;
	return orient(def->ax, def->ay, def->bx, def->by, x, y) / len;
}

int vg_line_step(const vg_line_def *def, vg_line_track *st, float x, float y)
{
	if (!isfinite(x) || !isfinite(y))
		return -1;
	double d = vg_line_side(def, x, y), m = def->margin;
	int s = m > 0 ? (d >= m ? 1 : d <= -m ? -1 : 0) : (d > 0 ? 1 : d < 0 ? -1 : 0);
	if (st->has_prev && vg_segments_intersect(st->px, st->py, x, y, def->ax, def->ay, def->bx, def->by))
		st->touched = 1;
	int crossed = -1;
	if (s != 0) {
		if (st->side != 0 && s != st->side && st->touched)
			crossed = st->side < 0 ? VG_LINE_IN : VG_LINE_OUT;
		/* Any adopted position starts afresh: back on the same side, a touch no longer means anything. */
		st->side = s;
		st->touched = 0;
	}
	st->px = x;
	st->py = y;
	st->has_prev = 1;
	return crossed;
}

typedef struct line_slot {
	int track_id;       /* 0: free */
	uint64_t seen;      /* the line's update sequence when last seen, for eviction */
	vg_line_track st;
} line_slot;

struct vg_line {
	vg_line_def def;
	line_slot *slots;
	int cap;
	uint64_t seq;
	int64_t hour_key, day_key;  /* of the hour and day the counters hold */
	int64_t quarter;            /* the quarter hour of the last update */
	int counted;                /* the keys are set */
	int nlabels;
	vg_line_counts labels[VG_LINE_MAX_LABELS];
};

vg_line *vg_line_create(const vg_line_def *def, int max_tracks)
{
	if (max_tracks < 1)
		max_tracks = 1;
	vg_line *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->slots = calloc((size_t)max_tracks, sizeof *l->slots);
	if (!l->slots) {
		free(l);
		return NULL;
	}
	l->def = *def;
	l->def.name[VG_LINE_NAME_MAX] = '\0';
	l->cap = max_tracks;
	return l;
}

void vg_line_destroy(vg_line *l)
{
	if (!l)
		return;
	free(l->slots);
	free(l);
}

const vg_line_def *vg_line_get_def(const vg_line *l)
{
	return &l->def;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t hour_key(int64_t now_us)
{
	return floor_div(now_us, INT64_C(3600000000));
}

/* The local calendar day, so that "today" resets at local midnight (daylight saving included). */
static int64_t day_key(int64_t now_us)
{
	time_t t = (time_t)floor_div(now_us, 1000000);
	struct tm tm;
	if (!localtime_r(&t, &tm))
		return 0;
	return (int64_t)tm.tm_year * 1000 + tm.tm_yday;
}

/* Moves the counters on to the hour and day of now_us. */
static void roll(vg_line *l, int64_t now_us)
{
	/*
	 * Every time zone's offset is a multiple of a quarter hour, so neither
	 * the UTC hour nor the local day can change within one: the calendar is
	 * consulted once per quarter, not for each object of each frame.
	 */
	int64_t quarter = floor_div(now_us, INT64_C(900000000));
	if (l->counted && quarter == l->quarter)
		return;
	l->quarter = quarter;
	int64_t hk = hour_key(now_us), dk = day_key(now_us);
	if (!l->counted) {
		l->hour_key = hk;
		l->day_key = dk;
		l->counted = 1;
		return;
	}
	if (hk != l->hour_key) {
		for (int i = 0; i < l->nlabels; i++)
			for (int d = 0; d < 2; d++) {
				l->labels[i].prev_hour[d] = hk == l->hour_key + 1 ? l->labels[i].hour[d] : 0;
				l->labels[i].hour[d] = 0;
			}
		l->hour_key = hk;
	}
	if (dk != l->day_key) {
		for (int i = 0; i < l->nlabels; i++)
			l->labels[i].day[0] = l->labels[i].day[1] = 0;
		l->day_key = dk;
	}
}

static vg_line_counts *label_counts(vg_line *l, const char *label)
{
	for (int i = 0; i < l->nlabels; i++)
		if (!strcmp(l->labels[i].label, label))
			return &l->labels[i];
	/* The last entry is kept for "other", so that a model with many classes cannot grow the table. */
	if (l->nlabels >= VG_LINE_MAX_LABELS - 1) {
		if (strcmp(label, "other") != 0)
			return label_counts(l, "other");
		if (l->nlabels == VG_LINE_MAX_LABELS)
			return &l->labels[VG_LINE_MAX_LABELS - 1];
	}
	vg_line_counts *c = &l->labels[l->nlabels++];
	memset(c, 0, sizeof *c);
	snprintf(c->label, sizeof c->label, "%s", label);
	return c;
}

static line_slot *find_slot(vg_line *l, int track_id)
{
	for (int i = 0; i < l->cap; i++)
		if (l->slots[i].track_id == track_id)
			return &l->slots[i];
	return NULL;
}

/* A free slot, or the one seen longest ago, cleared for track_id. */
static line_slot *new_slot(vg_line *l, int track_id)
{
	line_slot *victim = &l->slots[0];
	for (int i = 0; i < l->cap; i++) {
		if (!l->slots[i].track_id) {
			victim = &l->slots[i];
			break;
		}
		if (l->slots[i].seen < victim->seen)
			victim = &l->slots[i];
	}
	memset(victim, 0, sizeof *victim);
	victim->track_id = track_id;
	return victim;
}

int vg_line_update(vg_line *l, int track_id, const char *label, float x, float y, int64_t now_us)
{
	if (track_id <= 0)
		return -1;
	roll(l, now_us);
	line_slot *s = find_slot(l, track_id);
	if (!s)
		s = new_slot(l, track_id);
	s->seen = ++l->seq;
	int dir = vg_line_step(&l->def, &s->st, x, y);
	if (dir < 0)
		return -1;
	vg_line_counts *c = label_counts(l, label && *label ? label : "unknown");
	c->total[dir]++;
	c->hour[dir]++;
	c->day[dir]++;
	return dir;
}

void vg_line_restore(vg_line *l, const char *label, int dir, int64_t hour_start_us, uint64_t count, int64_t now_us)
{
	if ((dir != VG_LINE_IN && dir != VG_LINE_OUT) || count == 0)
		return;
	roll(l, now_us);
	int64_t hk = hour_key(hour_start_us);
	int today = day_key(hour_start_us) == l->day_key && hour_start_us <= now_us;
	if (hk != l->hour_key && hk != l->hour_key - 1 && !today)
		return;
	vg_line_counts *c = label_counts(l, label && *label ? label : "unknown");
	if (hk == l->hour_key)
		c->hour[dir] += count;
	else if (hk == l->hour_key - 1)
		c->prev_hour[dir] += count;
	if (today)
		c->day[dir] += count;
}

void vg_line_forget(vg_line *l, int track_id)
{
	line_slot *s = track_id > 0 ? find_slot(l, track_id) : NULL;
	if (s)
		memset(s, 0, sizeof *s);
}

int vg_line_tracked(const vg_line *l)
{
	int n = 0;
	for (int i = 0; i < l->cap; i++)
		n += l->slots[i].track_id != 0;
	return n;
}

int vg_line_get_counts(const vg_line *l, int64_t now_us, vg_line_counts *out, int cap)
{
	int64_t hk = hour_key(now_us), dk = day_key(now_us);
	for (int i = 0; i < l->nlabels && i < cap; i++) {
		const vg_line_counts *c = &l->labels[i];
		out[i] = *c;
		/* Counters are moved on by updates only; a reader after a quiet hour sees what the hour holds. */
		if (l->counted && hk != l->hour_key)
			for (int d = 0; d < 2; d++) {
				out[i].prev_hour[d] = hk == l->hour_key + 1 ? c->hour[d] : 0;
				out[i].hour[d] = 0;
			}
		if (l->counted && dk != l->day_key)
			out[i].day[0] = out[i].day[1] = 0;
	}
	return l->nlabels;
}

void vg_line_totals(const vg_line *l, uint64_t out[2])
{
	out[0] = out[1] = 0;
	for (int i = 0; i < l->nlabels; i++) {
		out[0] += l->labels[i].total[0];
		out[1] += l->labels[i].total[1];
	}
}
