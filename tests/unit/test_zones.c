#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test.h"
#include "track/lines.h"
#include "track/zones.h"
#include "zones_test.h"


/* A horizontal line across the middle, A on the left: moving down the picture is "in". */
static vg_line_def hline(float x0, float x1, float y)
{
	vg_line_def d;
	char err[256];
	char spec[128];
	snprintf(spec, sizeof spec, "door:%g,%g,%g,%g", x0, y, x1, y);
	CHECK(vg_line_parse(spec, &d, err, sizeof err) == 0);
	return d;
}

/* An object whose box's bottom centre is (x, y). */
static vg_zone_obj at(int id, const char *label, float x, float y)
{
	vg_zone_obj o = { id, 0, label, x - 0.05f, y - 0.2f, x + 0.05f, y };
	return o;
}

TEST(zones_pip_convex)
{
	const float sq[] = { 0.2f, 0.2f, 0.8f, 0.2f, 0.8f, 0.8f, 0.2f, 0.8f };
	vg_polygon p = poly(4, sq);
	CHECK(vg_polygon_contains(&p, 0.5f, 0.5f));
	CHECK(vg_polygon_contains(&p, 0.21f, 0.79f));
	CHECK(!vg_polygon_contains(&p, 0.1f, 0.5f));
	CHECK(!vg_polygon_contains(&p, 0.5f, 0.81f));
	CHECK(!vg_polygon_contains(&p, 0.9f, 0.9f));
	const float tri[] = { 0.5f, 0.1f, 0.9f, 0.9f, 0.1f, 0.9f };
	vg_polygon t = poly(3, tri);
	CHECK(vg_polygon_contains(&t, 0.5f, 0.5f));
	CHECK(!vg_polygon_contains(&t, 0.2f, 0.2f));
	CHECK(!vg_polygon_contains(&t, 0.5f, NAN));
}

TEST(zones_pip_concave)
{
	/* A U: the notch between its arms, x 0.4..0.6 above y 0.6, is outside. */
	const float u[] = { 0.2f, 0.2f, 0.4f, 0.2f, 0.4f, 0.6f, 0.6f, 0.6f, 0.6f, 0.2f, 0.8f, 0.2f, 0.8f, 0.8f, 0.2f, 0.8f };
	vg_polygon p = poly(8, u);
	CHECK(vg_polygon_contains(&p, 0.3f, 0.3f));
	CHECK(vg_polygon_contains(&p, 0.7f, 0.3f));
	CHECK(vg_polygon_contains(&p, 0.5f, 0.7f));
	CHECK(!vg_polygon_contains(&p, 0.5f, 0.4f));
	CHECK(!vg_polygon_contains(&p, 0.5f, 0.59f));
	/* A ray from the notch passes the arms' vertical edges and the notch's vertices' height. */
	CHECK(!vg_polygon_contains(&p, 0.5f, 0.2f));
	CHECK(vg_polygon_contains(&p, 0.3f, 0.6f));
}

TEST(zones_pip_edges_and_vertices_are_inside)
{
	const float sq[] = { 0.2f, 0.2f, 0.8f, 0.2f, 0.8f, 0.8f, 0.2f, 0.8f };
	vg_polygon p = poly(4, sq);
	for (int i = 0; i < 4; i++)
		CHECK(vg_polygon_contains(&p, p.x[i], p.y[i]));
	CHECK(vg_polygon_contains(&p, 0.5f, 0.2f));
	CHECK(vg_polygon_contains(&p, 0.8f, 0.5f));
	CHECK(vg_polygon_contains(&p, 0.5f, 0.8f));
	CHECK(vg_polygon_contains(&p, 0.2f, 0.5f));
	CHECK(!vg_polygon_contains(&p, 0.5f, 0.1999f));
	/* A diagonal edge: its midpoint, despite float rounding. */
	const float tri[] = { 0.1f, 0.1f, 0.7f, 0.3f, 0.2f, 0.9f };
	vg_polygon t = poly(3, tri);
	CHECK(vg_polygon_contains(&t, 0.4f, 0.2f));
	CHECK(vg_polygon_contains(&t, 0.7f, 0.3f));
	CHECK(!vg_polygon_contains(&t, 0.4f, 0.18f));
}

TEST(zones_line_side_convention)
{
	vg_line_def d = hline(0.2f, 0.8f, 0.5f);
	CHECK(vg_line_side(&d, 0.5, 0.4) < 0); /* above, on screen the left of a rightward arrow */
	CHECK(vg_line_side(&d, 0.5, 0.6) > 0);
	CHECK(!strcmp(d.dir_name[VG_LINE_IN], "in") && !strcmp(d.dir_name[VG_LINE_OUT], "out"));
	vg_line_track st = { 0 };
	CHECK(vg_line_step(&d, &st, 0.5f, 0.4f) == -1);
	CHECK(vg_line_step(&d, &st, 0.5f, 0.6f) == VG_LINE_IN);
	/* An arrow pointing up: its left is the picture's left, so moving right is "in". */
	vg_line_def up;
	char err[256];
	CHECK(vg_line_parse("up:0.5,0.9,0.5,0.1", &up, err, sizeof err) == 0);
	vg_line_track s2 = { 0 };
	vg_line_step(&up, &s2, 0.3f, 0.5f);
	CHECK(vg_line_step(&up, &s2, 0.7f, 0.5f) == VG_LINE_IN);
	CHECK(vg_line_step(&up, &s2, 0.3f, 0.5f) == VG_LINE_OUT);
}

TEST(zones_segments_intersect_inclusive)
{
	CHECK(vg_segments_intersect(0, 0, 1, 1, 0, 1, 1, 0));
	CHECK(vg_segments_intersect(0, 0, 1, 0, 1, 0, 2, 5));       /* shared endpoint */
	CHECK(vg_segments_intersect(0.5, -1, 0.5, 0, 0, 0, 1, 0));  /* touches at one end */
	CHECK(vg_segments_intersect(0, 0, 2, 0, 1, 0, 3, 0));       /* collinear overlap */
	CHECK(!vg_segments_intersect(0, 0, 1, 0, 2, 0, 3, 0));      /* collinear apart */
	CHECK(!vg_segments_intersect(0, 0, 1, 1, 0, 1, 0.4, 0.7));  /* stops short */
}

TEST(zones_line_crossing_at_endpoints)
{
	vg_line_def d = hline(0.2f, 0.8f, 0.5f);
	/* Straight down through A, then up through B. */
	vg_line_track st = { 0 };
	vg_line_step(&d, &st, 0.2f, 0.3f);
	CHECK(vg_line_step(&d, &st, 0.2f, 0.7f) == VG_LINE_IN);
	vg_line_track s2 = { 0 };
	vg_line_step(&d, &s2, 0.8f, 0.7f);
	CHECK(vg_line_step(&d, &s2, 0.8f, 0.3f) == VG_LINE_OUT);
	/* Stopping exactly on the endpoint, then going on. */
	vg_line_track s3 = { 0 };
	vg_line_step(&d, &s3, 0.7f, 0.3f);
	CHECK(vg_line_step(&d, &s3, 0.8f, 0.5f) == -1);
	CHECK(vg_line_step(&d, &s3, 0.9f, 0.7f) == VG_LINE_IN);
	/* A diagonal line, crossed diagonally through its vertex B. */
	vg_line_def g;
	char err[256];
	CHECK(vg_line_parse("g:0.1,0.1,0.7,0.3", &g, err, sizeof err) == 0);
	vg_line_track s4 = { 0 };
	vg_line_step(&g, &s4, 0.6f, 0.4f);
	CHECK(vg_line_step(&g, &s4, 0.8f, 0.2f) == VG_LINE_OUT);
}

TEST(zones_line_passing_beside_segment_does_not_count)
{
	vg_line_def d = hline(0.2f, 0.8f, 0.5f);
	vg_line_track st = { 0 };
	vg_line_step(&d, &st, 0.9f, 0.3f);
	CHECK(vg_line_step(&d, &st, 0.9f, 0.7f) == -1); /* past B's end */
	vg_line_step(&d, &st, 0.1f, 0.7f);
	CHECK(vg_line_step(&d, &st, 0.1f, 0.3f) == -1); /* before A */
	/* Round the end of the segment and back through it: one crossing. */
	vg_line_step(&d, &st, 0.9f, 0.3f);
	vg_line_step(&d, &st, 0.9f, 0.7f);
	CHECK(vg_line_step(&d, &st, 0.5f, 0.3f) == VG_LINE_OUT);
	/* A box straddling the line with its reference point beside it: nothing. */
	vg_line_track s2 = { 0 };
	CHECK(vg_line_step(&d, &s2, 0.5f, 0.45f) == -1);
	CHECK(vg_line_step(&d, &s2, 0.5f, 0.4f) == -1);
}

TEST(zones_line_jitter_counts_once)
{
	vg_line_def d = hline(0.2f, 0.8f, 0.5f);
	vg_line_track st = { 0 };
	const float ys[] = { 0.4f, 0.499f, 0.501f, 0.497f, 0.503f, 0.495f, 0.505f, 0.498f, 0.502f, 0.52f, 0.6f };
	int counts = 0;
	for (size_t i = 0; i < sizeof ys / sizeof ys[0]; i++)
		counts += vg_line_step(&d, &st, 0.5f + 0.001f * (float)(i % 3), ys[i]) == VG_LINE_IN;
	CHECK_MSG(counts == 1, "%d counts", counts);
	/* Jitter on the line from the right and back to the right: no count in either direction. */
	const float back[] = { 0.505f, 0.495f, 0.503f, 0.492f, 0.52f };
	for (size_t i = 0; i < sizeof back / sizeof back[0]; i++)
		CHECK(vg_line_step(&d, &st, 0.5f, back[i]) == -1);
}

TEST(zones_line_back_and_forth_counts_twice)
{
	vg_line *l = vg_line_create(&(vg_line_def){ 0 }, 4);
	CHECK(l);
	vg_line_destroy(l);
	vg_line_def d = hline(0.2f, 0.8f, 0.5f);
	l = vg_line_create(&d, 4);
	int64_t t = T0;
	CHECK(vg_line_update(l, 1, "person", 0.5f, 0.4f, t) == -1);
	CHECK(vg_line_update(l, 1, "person", 0.5f, 0.6f, t += SEC) == VG_LINE_IN);
	CHECK(vg_line_update(l, 1, "person", 0.5f, 0.4f, t += SEC) == VG_LINE_OUT);
	uint64_t tot[2];
	vg_line_totals(l, tot);
	CHECK(tot[VG_LINE_IN] == 1 && tot[VG_LINE_OUT] == 1);
	vg_line_destroy(l);
}

TEST(zones_line_counts_per_label_hour_and_day)
{
	setenv("TZ", "UTC", 1);
	tzset();
	vg_line_def d = hline(0.2f, 0.8f, 0.5f);
	vg_line *l = vg_line_create(&d, 8);
	int64_t t = T0 + 10 * SEC;
	vg_line_update(l, 1, "person", 0.5f, 0.4f, t);
	vg_line_update(l, 1, "person", 0.5f, 0.6f, t);
	vg_line_update(l, 2, "car", 0.5f, 0.6f, t);
	vg_line_update(l, 2, "car", 0.5f, 0.4f, t);
	vg_line_update(l, 3, NULL, 0.5f, 0.4f, t);
	vg_line_update(l, 3, NULL, 0.5f, 0.6f, t);
	vg_line_counts c[8];
	CHECK(vg_line_get_counts(l, t, c, 8) == 3);
	CHECK(!strcmp(c[0].label, "person") && c[0].total[VG_LINE_IN] == 1 && c[0].hour[VG_LINE_IN] == 1);
	CHECK(!strcmp(c[1].label, "car") && c[1].total[VG_LINE_OUT] == 1 && c[1].total[VG_LINE_IN] == 0);
	CHECK(!strcmp(c[2].label, "unknown") && c[2].day[VG_LINE_IN] == 1);
	/* Read an hour later with no update in between: the hour became the previous one. */
	vg_line_get_counts(l, T0 + 3600 * SEC + 5, c, 8);
	CHECK(c[0].hour[VG_LINE_IN] == 0 && c[0].prev_hour[VG_LINE_IN] == 1 && c[0].total[VG_LINE_IN] == 1);
	vg_line_get_counts(l, T0 + 2 * 3600 * SEC, c, 8);
	CHECK(c[0].prev_hour[VG_LINE_IN] == 0 && c[0].day[VG_LINE_IN] == 1);
	/* A crossing in the next hour moves the counters on. */
	t = T0 + 3600 * SEC + 60 * SEC;
	CHECK(vg_line_update(l, 1, "person", 0.5f, 0.4f, t) == VG_LINE_OUT);
	vg_line_get_counts(l, t, c, 8);
	CHECK(c[0].hour[VG_LINE_OUT] == 1 && c[0].hour[VG_LINE_IN] == 0 && c[0].prev_hour[VG_LINE_IN] == 1);
	/* Local midnight (UTC here) clears today, nothing else. */
	int64_t midnight = (T0 / (86400 * SEC) + 1) * 86400 * SEC;
	vg_line_get_counts(l, midnight + SEC, c, 8);
	CHECK(c[0].day[VG_LINE_IN] == 0 && c[0].day[VG_LINE_OUT] == 0 && c[0].total[VG_LINE_IN] == 1);
	vg_line_update(l, 1, "person", 0.5f, 0.6f, midnight + SEC);
	vg_line_get_counts(l, midnight + SEC, c, 8);
	CHECK(c[0].day[VG_LINE_IN] == 1 && c[0].total[VG_LINE_IN] == 2);
	vg_line_destroy(l);
}

TEST(zones_line_labels_and_tracks_bounded)
{
	vg_line_def d = hline(0.2f, 0.8f, 0.5f);
	vg_line *l = vg_line_create(&d, 4);
	char label[32];
	for (int i = 1; i <= 200; i++) {
		snprintf(label, sizeof label, "class%d", i);
		vg_line_update(l, i, label, 0.5f, 0.4f, T0);
		CHECK(vg_line_update(l, i, label, 0.5f, 0.6f, T0) == VG_LINE_IN);
		CHECK(vg_line_tracked(l) <= 4);
	}
	vg_line_counts *c = calloc(VG_LINE_MAX_LABELS, sizeof *c);
	int n = vg_line_get_counts(l, T0, c, VG_LINE_MAX_LABELS);
	CHECK(n == VG_LINE_MAX_LABELS);
	CHECK(!strcmp(c[n - 1].label, "other") && c[n - 1].total[VG_LINE_IN] == 200 - (VG_LINE_MAX_LABELS - 1));
	uint64_t tot[2];
	vg_line_totals(l, tot);
	CHECK(tot[VG_LINE_IN] == 200);
	vg_line_forget(l, 200);
	CHECK(vg_line_tracked(l) == 3);
	/* A forgotten track starts afresh: its next position adopts a side without counting. */
	CHECK(vg_line_update(l, 200, "x", 0.5f, 0.4f, T0) == -1);
	free(c);
	vg_line_destroy(l);
}

typedef struct recorder {
	int n;
	vg_zone_event ev[256];
	vg_zones *z;   /* when set, the callback reads counts (it must not deadlock) */
	int read;
} recorder;

static void record(const vg_zone_event *ev, void *user)
{
	recorder *r = user;
	if (r->n < 256)
		r->ev[r->n++] = *ev;
	if (r->z)
		r->read = vg_zones_objects(r->z, 0, NULL);
}

static int count_kind(const recorder *r, vg_zone_event_kind k)
{
	int n = 0;
	for (int i = 0; i < r->n; i++)
		n += r->ev[i].kind == k;
	return n;
}

static vg_zone_def square_zone(const char *spec)
{
	vg_zone_def d;
	char err[256];
	CHECK_MSG(vg_zone_parse(spec, &d, err, sizeof err) == 0, "%s", err);
	return d;
}

TEST(zones_zone_inertia_enter_and_leave)
{
	vg_zone_def d = square_zone("yard:0.2,0.2,0.8,0.2,0.8,0.8,0.2,0.8");
	CHECK(d.inertia == 3);
	recorder r = { 0 };
	vg_zones *z = vg_zones_create(&d, 1, NULL, 0, 0, 0, record, &r);
	int64_t t = T0;
	vg_zone_obj in = at(7, "person", 0.5f, 0.5f), out = at(7, "person", 0.5f, 0.95f);
	/* In, out, in, in: never three in a row. */
	vg_zones_update(z, &in, 1, t += SEC);
	vg_zones_update(z, &out, 1, t += SEC);
	vg_zones_update(z, &in, 1, t += SEC);
	vg_zones_update(z, &in, 1, t += SEC);
	CHECK(r.n == 0 && vg_zones_objects(z, 0, NULL) == 0);
	CHECK(vg_zones_update(z, &in, 1, t += SEC) == 1);
	CHECK(r.ev[0].kind == VG_ZONE_ENTERED && !strcmp(r.ev[0].name, "yard") && r.ev[0].track_id == 7 &&
	      !strcmp(r.ev[0].label, "person") && r.ev[0].time_us == t);
	CHECK(vg_zones_objects(z, 0, NULL) == 1 && vg_zones_objects(z, 0, "person") == 1);
	/* Leaving takes as many frames outside. */
	vg_zones_update(z, &out, 1, t += SEC);
	vg_zones_update(z, &out, 1, t += SEC);
	CHECK(r.n == 1 && vg_zones_objects(z, 0, NULL) == 1);
	vg_zones_update(z, &out, 1, t += SEC);
	CHECK(r.n == 2 && r.ev[1].kind == VG_ZONE_LEFT && r.ev[1].dwell_s == 3.0);
	CHECK(vg_zones_objects(z, 0, NULL) == 0);
	vg_zones_destroy(z);
}

TEST(zones_zone_loitering_once_per_stay)
{
	vg_zone_def d = square_zone("porch:0.2,0.2,0.8,0.2,0.8,0.8,0.2,0.8");
	d.inertia = 1;
	d.loitering_time_s = 2.5;
	recorder r = { 0 };
	vg_zones *z = vg_zones_create(&d, 1, NULL, 0, 0, 0, record, &r);
	vg_zone_obj in = at(3, "person", 0.5f, 0.5f), out = at(3, "person", 0.5f, 0.95f);
	int64_t t = T0;
	for (int i = 0; i < 10; i++)
		vg_zones_update(z, &in, 1, t += SEC);
	CHECK(count_kind(&r, VG_ZONE_ENTERED) == 1 && count_kind(&r, VG_ZONE_LOITERING) == 1);
	CHECK(r.ev[1].kind == VG_ZONE_LOITERING && r.ev[1].dwell_s == 3.0);
	/* A new stay may loiter again. */
	vg_zones_update(z, &out, 1, t += SEC);
	for (int i = 0; i < 2; i++)
		vg_zones_update(z, &in, 1, t += SEC);
	CHECK(count_kind(&r, VG_ZONE_LOITERING) == 1);
	for (int i = 0; i < 5; i++)
		vg_zones_update(z, &in, 1, t += SEC);
	CHECK(count_kind(&r, VG_ZONE_LOITERING) == 2 && count_kind(&r, VG_ZONE_ENTERED) == 2 &&
	      count_kind(&r, VG_ZONE_LEFT) == 1);
	vg_zones_destroy(z);
}

TEST(zones_zone_objects_filter_and_counts_per_label)
{
	vg_zone_def d = square_zone("drive:0.2,0.2,0.8,0.2,0.8,0.8,0.2,0.8");
	d.inertia = 1;
	d.n_objects = 2;
	snprintf(d.objects[0], sizeof d.objects[0], "car");
	snprintf(d.objects[1], sizeof d.objects[1], "truck");
	CHECK(vg_zone_wants(&d, "car") && !vg_zone_wants(&d, "person"));
	vg_zone_def all = square_zone("all:0.2,0.2,0.8,0.2,0.8,0.8,0.2,0.8");
	all.inertia = 1;
	vg_zone_def both[2] = { d, all };
	recorder r = { 0 };
	vg_zones *z = vg_zones_create(both, 2, NULL, 0, 0, 0, record, &r);
	vg_zone_obj objs[] = { at(1, "person", 0.5f, 0.5f), at(2, "car", 0.4f, 0.6f), at(3, "person", 0.3f, 0.3f),
			       at(4, "car", 0.9f, 0.9f) };
	vg_zones_update(z, objs, 4, T0);
	CHECK(vg_zones_objects(z, 0, NULL) == 1 && vg_zones_objects(z, 0, "car") == 1);
	CHECK(vg_zones_objects(z, 0, "person") == 0);
	CHECK(vg_zones_objects(z, 1, NULL) == 3 && vg_zones_objects(z, 1, "person") == 2);
	CHECK(count_kind(&r, VG_ZONE_ENTERED) == 4);
	vg_zones_destroy(z);
}

TEST(zones_zone_table_bounded_and_forgetting)
{
	vg_zone_def d = square_zone("yard:0.2,0.2,0.8,0.2,0.8,0.8,0.2,0.8");
	d.inertia = 1;
	vg_line_def l = hline(0.2f, 0.8f, 0.5f);
	recorder r = { 0 };
	vg_zones *z = vg_zones_create(&d, 1, &l, 1, 8, 2 * SEC, record, &r);
	int64_t t = T0;
	/* A thousand short tracks, never forgotten by the caller: the table stays within 8. */
	for (int id = 1; id <= 1000; id++) {
		vg_zone_obj o = at(id, "person", 0.5f, 0.3f + 0.001f * (float)(id % 50));
		r.n = 0;
		vg_zones_update(z, &o, 1, t += 100000);
		CHECK(vg_zones_tracked(z) <= 8);
	}
	CHECK(vg_zones_objects(z, 0, NULL) <= 8);
	/* Nothing seen for longer than forget_us: all of them are forgotten, and leave. */
	r.n = 0;
	vg_zones_update(z, NULL, 0, t += 3 * SEC);
	CHECK(vg_zones_tracked(z) == 0 && vg_zones_objects(z, 0, NULL) == 0);
	CHECK(r.n == 8 && count_kind(&r, VG_ZONE_LEFT) == 8);
	/* More objects in one frame than the table holds: the first 8 are followed, the rest ignored. */
	vg_zone_obj many[20];
	for (int i = 0; i < 20; i++)
		many[i] = at(2000 + i, "car", 0.5f, 0.5f);
	vg_zones_update(z, many, 20, t += SEC);
	CHECK(vg_zones_tracked(z) == 8 && vg_zones_objects(z, 0, "car") == 8);
	/* The tracker ends one: it leaves at once. */
	r.n = 0;
	vg_zones_forget(z, 2003, t);
	CHECK(r.n == 1 && r.ev[0].kind == VG_ZONE_LEFT && r.ev[0].track_id == 2003);
	CHECK(vg_zones_tracked(z) == 7 && vg_zones_objects(z, 0, NULL) == 7);
	vg_zones_forget(z, 99999, t); /* unknown: nothing */
	CHECK(r.n == 1);
	vg_zones_destroy(z);
}

TEST(zones_line_crossing_events)
{
	vg_line_def l = hline(0.2f, 0.8f, 0.5f);
	snprintf(l.dir_name[VG_LINE_IN], sizeof l.dir_name[0], "enter");
	recorder r = { 0 };
	vg_zones *z = vg_zones_create(NULL, 0, &l, 1, 0, 0, record, &r);
	vg_zone_obj a = at(5, "dog", 0.5f, 0.3f), b = at(5, "dog", 0.5f, 0.7f);
	vg_zones_update(z, &a, 1, T0);
	CHECK(vg_zones_update(z, &b, 1, T0 + SEC) == 1);
	CHECK(r.ev[0].kind == VG_LINE_CROSSED && !strcmp(r.ev[0].name, "door") && r.ev[0].direction == VG_LINE_IN &&
	      !strcmp(r.ev[0].direction_name, "enter") && !strcmp(r.ev[0].label, "dog") && r.ev[0].track_id == 5);
	CHECK(!strcmp(vg_zone_event_kind_name(r.ev[0].kind), "crossed"));
	char *j = vg_zone_event_json(&r.ev[0], "front", 42);
	CHECK_MSG(j && !strcmp(j, "{\"event\":\"crossed\",\"camera\":\"front\",\"line\":\"door\",\"direction\":\"enter\","
			       "\"track_id\":5,\"label\":\"dog\",\"time\":1796558401,\"frame\":42}"), "%s", j);
	free(j);
	vg_zone_event left = r.ev[0];
	left.kind = VG_ZONE_LEFT;
	left.dwell_s = 2.5;
	left.time_us += 250000;
	j = vg_zone_event_json(&left, NULL, -1);
	CHECK_MSG(j && !strcmp(j, "{\"event\":\"left\",\"zone\":\"door\",\"track_id\":5,\"label\":\"dog\","
			       "\"time\":1796558401.25,\"dwell_s\":2.5}"), "%s", j);
	free(j);
	/* The box's top crossing the line does not count: only its bottom centre does. */
	vg_zone_obj tall = { 6, 0, "dog", 0.45f, 0.1f, 0.55f, 0.3f }, tall2 = { 6, 0, "dog", 0.45f, 0.35f, 0.55f, 0.45f };
	vg_zones_update(z, &tall, 1, T0 + 2 * SEC);
	CHECK(vg_zones_update(z, &tall2, 1, T0 + 3 * SEC) == 0);
	uint64_t tot[2];
	vg_zones_line_totals(z, 0, tot);
	CHECK(tot[VG_LINE_IN] == 1 && tot[VG_LINE_OUT] == 0);
	/* Objects without a track are ignored. */
	vg_zone_obj none = at(0, "dog", 0.5f, 0.3f);
	CHECK(vg_zones_update(z, &none, 1, T0 + 4 * SEC) == 0);
	vg_zones_destroy(z);
}

TEST(zones_callback_may_read_counts)
{
	vg_zone_def d = square_zone("yard:0.2,0.2,0.8,0.2,0.8,0.8,0.2,0.8");
	d.inertia = 1;
	recorder r = { 0 };
	vg_zones *z = vg_zones_create(&d, 1, NULL, 0, 0, 0, record, &r);
	r.z = z;
	vg_zone_obj o = at(1, "cat", 0.5f, 0.5f);
	vg_zones_update(z, &o, 1, T0);
	CHECK(r.n == 1 && r.read == 1);
	vg_zones_destroy(z);
}

static void check_parse_error(int zone, const char *arg, const char *expect)
{
	char err[256] = "";
	vg_zone_def zd;
	vg_line_def ld;
	int rc = zone ? vg_zone_parse(arg, &zd, err, sizeof err) : vg_line_parse(arg, &ld, err, sizeof err);
	CHECK_MSG(rc < 0, "'%s' was accepted", arg ? arg : "(null)");
	CHECK_MSG(strstr(err, expect), "'%s': message '%s' lacks '%s'", arg ? arg : "(null)", err, expect);
}

TEST(zones_parse_zone_good_and_bad)
{
	vg_zone_def d;
	char err[256];
	CHECK(vg_zone_parse("front_door-2:0,0,1,0, 0.5 ,1", &d, err, sizeof err) == 0);
	CHECK(!strcmp(d.name, "front_door-2") && d.poly.n == 3 && d.poly.x[2] == 0.5f && d.poly.y[2] == 1.0f);
	CHECK(d.n_objects == 0 && d.inertia == 3 && d.loitering_time_s == 0);
	check_parse_error(1, NULL, "empty");
	check_parse_error(1, "", "empty");
	check_parse_error(1, "yard", "no ':'");
	check_parse_error(1, ":0,0,1,0,1,1", "name before ':'");
	check_parse_error(1, "a-very-long-zone-name-of-more-than-32:0,0,1,0,1,1", "1 to 32 characters");
	check_parse_error(1, "my zone:0,0,1,0,1,1", "may only have letters");
	check_parse_error(1, "yard/1:0,0,1,0,1,1", "may only have letters");
	check_parse_error(1, "yard:", "coordinate 1 is empty");
	check_parse_error(1, "yard:0,0,,0,1,1", "coordinate 3 is empty");
	check_parse_error(1, "yard:0,0,1,0,1,1,", "coordinate 7 is empty");
	check_parse_error(1, "yard:0,0,1,0,1,x", "coordinate 6 ('x') is not a number");
	check_parse_error(1, "yard:0,0,1,0,1,nan", "is not a number");
	check_parse_error(1, "yard:0,0,1,0,1,inf", "is not a number");
	check_parse_error(1, "yard:0,0,1,0,1,0x1", "is not a number");
	check_parse_error(1, "yard:0,0,1,0,1,1.2.3", "is not a number");
	check_parse_error(1, "yard:0,0,1,0,1,1 2", "is not a number");
	check_parse_error(1, "yard:0,0,1.5,0,1,1", "coordinate 3 (1.5) is outside 0..1");
	check_parse_error(1, "yard:0,-0.1,1,0,1,1", "outside 0..1");
	check_parse_error(1, "yard:0,0,1,0,1", "odd number");
	check_parse_error(1, "yard:0,0,1,1", "at least 3 points");
	char big[2048] = "yard:";
	for (int i = 0; i < 2 * VG_POLYGON_MAX_POINTS + 2; i++)
		strcat(big, i ? ",0.5" : "0.5");
	check_parse_error(1, big, "more than 128 coordinates");
	vg_polygon p;
	CHECK(vg_polygon_parse("0,0,1,0,1,1", &p, err, sizeof err) == 0 && p.n == 3);
	CHECK(vg_polygon_parse("0,0,1,0", &p, err, sizeof err) < 0 && strstr(err, "at least 3 points"));
	CHECK(vg_polygon_parse("", &p, err, sizeof err) < 0 && strstr(err, "empty"));
	CHECK(vg_polygon_parse("0,0,1,0,1,2", &p, err, sizeof err) < 0 && strstr(err, "outside 0..1"));
}

TEST(zones_parse_line_good_and_bad)
{
	vg_line_def d;
	char err[256];
	CHECK(vg_line_parse("Gate_1:0.1,0.5,0.9,0.5", &d, err, sizeof err) == 0);
	CHECK(!strcmp(d.name, "Gate_1") && d.ax == 0.1f && d.ay == 0.5f && d.bx == 0.9f && d.by == 0.5f);
	CHECK(d.margin == VG_LINE_MARGIN);
	check_parse_error(0, "", "empty");
	check_parse_error(0, "gate", "no ':'");
	check_parse_error(0, "ga te:0,0,1,1", "may only have letters");
	check_parse_error(0, "gate:0,0,1", "expected 4 coordinates X1,Y1,X2,Y2, got 3");
	check_parse_error(0, "gate:0,0,1,1,1,1", "expected 4 coordinates X1,Y1,X2,Y2, got 6");
	check_parse_error(0, "gate:0.5,0.5,0.5,0.5", "same");
	check_parse_error(0, "gate:0,0,2,1", "coordinate 3 (2) is outside 0..1");
	check_parse_error(0, "gate:0,0,1,e", "not a number");
	check_parse_error(0, "gate:0,0,1,", "coordinate 4 is empty");
}

TEST(zones_stats_json_and_metrics)
{
	setenv("TZ", "UTC", 1);
	tzset();
	vg_zone_def d = square_zone("yard:0.2,0.2,0.8,0.2,0.8,0.8,0.2,0.8");
	d.inertia = 1;
	vg_line_def l = hline(0.2f, 0.8f, 0.5f);
	vg_zones *z = vg_zones_create(&d, 1, &l, 1, 0, 0, NULL, NULL);
	vg_zone_obj a[] = { at(1, "person", 0.5f, 0.4f), at(2, "traffic \"light\"", 0.3f, 0.3f) };
	vg_zone_obj b[] = { at(1, "person", 0.5f, 0.6f), at(2, "traffic \"light\"", 0.3f, 0.3f) };
	vg_zones_update(z, a, 2, T0);
	vg_zones_update(z, b, 2, T0 + SEC);
	char *json = vg_zones_stats_json(z, T0 + 2 * SEC);
	CHECK(json);
	cJSON *root = cJSON_Parse(json);
	CHECK_MSG(root, "%s", json);
	cJSON *yard = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "zones"), "yard");
	CHECK(cJSON_GetObjectItem(yard, "total")->valueint == 2);
	CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(yard, "objects"), "person")->valueint == 1);
	cJSON *door = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "lines"), "door");
	CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(door, "in"), "person")->valueint == 1);
	CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(door, "out"), "person")->valueint == 0);
	CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(door, "hour"), "in"), "person")->valueint == 1);
	CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(door, "today"), "in"), "person")->valueint == 1);
	CHECK(cJSON_GetObjectItem(door, "previous_hour"));
	cJSON_Delete(root);
	free(json);

	char *buf = NULL;
	size_t len = 0, cap = 0;
	vg_zones *zs[2] = { z, NULL };
	const char *cams[2] = { "front", "back" };
	CHECK(vg_zones_metrics(zs, cams, 2, &buf, &len, &cap) == 0);
	CHECK(buf && strlen(buf) == len);
	CHECK_MSG(strstr(buf, "# TYPE vigil_zone_objects gauge\n"), "%s", buf);
	CHECK(strstr(buf, "vigil_zone_objects{camera=\"front\",zone=\"yard\",label=\"person\"} 1\n"));
	CHECK(strstr(buf, "vigil_zone_objects{camera=\"front\",zone=\"yard\",label=\"traffic \\\"light\\\"\"} 1\n"));
	CHECK(strstr(buf, "# TYPE vigil_line_crossings_total counter\n"));
	CHECK(strstr(buf, "vigil_line_crossings_total{camera=\"front\",line=\"door\",direction=\"in\",label=\"person\"} 1\n"));
	CHECK(strstr(buf, "vigil_line_crossings_total{camera=\"front\",line=\"door\",direction=\"out\",label=\"person\"} 0\n"));
	CHECK(!strstr(buf, "back"));
	/* Appending keeps what was there. */
	size_t before = len;
	CHECK(vg_zones_metrics(zs, cams, 1, &buf, &len, &cap) == 0 && len == 2 * before && !strncmp(buf, buf + before, before));
	free(buf);
	vg_zones_destroy(z);
}

TEST(zones_masks_and_area_filters)
{
	const float m[] = { 0, 0, 0.5f, 0, 0.5f, 0.5f, 0, 0.5f };
	vg_polygon mask = poly(4, m);
	CHECK(vg_masks_hide(&mask, 1, 0.1f, 0.1f, 0.3f, 0.4f));       /* bottom centre (0.2, 0.4) */
	CHECK(!vg_masks_hide(&mask, 1, 0.1f, 0.1f, 0.3f, 0.6f));      /* its top in the mask, its feet not */
	CHECK(vg_masks_hide(&mask, 1, 0.4f, 0.2f, 0.6f, 0.5f));       /* on the edge */
	CHECK(!vg_masks_hide(NULL, 0, 0.1f, 0.1f, 0.3f, 0.4f));
	vg_area_filter f[] = { { "person", 0.01f, 0.5f }, { "*", 0.02f, 0 } };
	CHECK(vg_area_ok(f, 2, "person", 0, 0, 0.2f, 0.2f));          /* 0.04 */
	CHECK(!vg_area_ok(f, 2, "person", 0, 0, 0.05f, 0.1f));        /* 0.005 < 0.01 */
	CHECK(!vg_area_ok(f, 2, "person", 0, 0, 1, 0.9f));            /* 0.9 > 0.5 */
	CHECK(!vg_area_ok(f, 2, "car", 0, 0, 0.1f, 0.1f));            /* "*": 0.01 < 0.02 */
	CHECK(vg_area_ok(f, 2, "car", 0, 0, 1, 1));                   /* no maximum */
	CHECK(vg_area_ok(f, 1, "car", 0, 0, 0.01f, 0.01f));           /* no entry */
}

/* A small deterministic generator, so that the noisy walks are the same on every run. */
static uint32_t lcg(uint32_t *s)
{
	*s = *s * 1664525u + 1013904223u;
	return *s >> 8;
}

static float noise(uint32_t *s, float amp)
{
	return amp * (2.0f * (float)(lcg(s) & 0xffff) / 65535.0f - 1.0f);
}

TEST(zones_noisy_walkers_counted_exactly)
{
	/*
	 * 60 walkers cross a line downwards, 20 others walk past beside it, all
	 * with noise on their feet of +-0.004 per frame, and all stand still on
	 * the line for a while: each crossing walker counts exactly once, the
	 * others never.
	 */
	vg_line_def l = hline(0.2f, 0.8f, 0.5f);
	recorder r = { 0 };
	vg_zones *z = vg_zones_create(NULL, 0, &l, 1, 0, 0, record, &r);
	uint32_t seed = 12345;
	int64_t t = T0;
	vg_zone_obj objs[80];
	for (int step = 0; step < 40; step++) {
		for (int k = 0; k < 80; k++) {
			float x = k < 60 ? 0.25f + 0.5f * (float)k / 60.0f : 0.85f + 0.1f * (float)(k - 60) / 20.0f;
			/* Everyone stops on the line for eight frames on the way. */
			int s2 = step < 20 ? step : step < 28 ? 20 : step - 8;
			float y = 0.1f + 0.02f * (float)s2 + 0.001f * (float)(k % 7);
			objs[k] = at(100 + k, k % 2 ? "person" : "bicycle", x + noise(&seed, 0.004f), y + noise(&seed, 0.004f));
		}
		vg_zones_update(z, objs, 80, t += 100000);
	}
	uint64_t tot[2];
	vg_zones_line_totals(z, 0, tot);
	CHECK_MSG(tot[VG_LINE_IN] == 60 && tot[VG_LINE_OUT] == 0, "in %d out %d", (int)tot[VG_LINE_IN],
		  (int)tot[VG_LINE_OUT]);
	CHECK(count_kind(&r, VG_LINE_CROSSED) == 60);
	for (int i = 0; i < r.n; i++)
		CHECK(r.ev[i].track_id >= 100 && r.ev[i].track_id < 160);
	vg_line_counts c[4];
	CHECK(vg_zones_line_counts(z, 0, t, c, 4) == 2);
	CHECK(c[0].total[VG_LINE_IN] + c[1].total[VG_LINE_IN] == 60 && c[0].total[VG_LINE_IN] == 30);
	vg_zones_destroy(z);
}

typedef struct reader_arg {
	vg_zones *z;
	atomic_int stop;
	int reads;
} reader_arg;

static void *reader(void *p)
{
	reader_arg *a = p;
	while (!atomic_load(&a->stop)) {
		char *json = vg_zones_stats_json(a->z, T0);
		char *buf = NULL;
		size_t len = 0, cap = 0;
		const char *cam = "c";
		vg_zones_metrics(&a->z, &cam, 1, &buf, &len, &cap);
		if (!json || !buf)
			abort();
		free(json);
		free(buf);
		a->reads++;
	}
	return NULL;
}

TEST(zones_reads_while_updating)
{
	vg_zone_def d = square_zone("yard:0.2,0.2,0.8,0.2,0.8,0.8,0.2,0.8");
	d.inertia = 1;
	vg_line_def l = hline(0.2f, 0.8f, 0.5f);
	vg_zones *z = vg_zones_create(&d, 1, &l, 1, 16, SEC, NULL, NULL);
	reader_arg a = { .z = z };
	pthread_t th;
	CHECK(pthread_create(&th, NULL, reader, &a) == 0);
	char label[16];
	for (int i = 0; i < 3000; i++) {
		vg_zone_obj o[3];
		for (int k = 0; k < 3; k++) {
			snprintf(label, sizeof label, "l%d", (i + k) % 90);
			o[k] = at(1 + (i / 10 + k) % 40, label, 0.5f, (i + k) % 2 ? 0.3f : 0.7f);
		}
		vg_zones_update(z, o, 3, T0 + (int64_t)i * 100000);
	}
	atomic_store(&a.stop, 1);
	pthread_join(th, NULL);
	CHECK(a.reads > 0 && vg_zones_tracked(z) <= 16);
	vg_zones_destroy(z);
}

/* Counts a store kept before a restart: this hour's, the previous hour's and today's, never the totals. */
TEST(line_restore_counts)
{
	setenv("TZ", "UTC", 1);
	tzset();
	vg_line_def d;
	char err[128];
	CHECK(vg_line_parse("gate:0.5,0,0.5,1", &d, err, sizeof err) == 0);
	vg_line *l = vg_line_create(&d, 8);
	/* 2026-12-06 15:30 UTC. */
	const int64_t h = 3600000000LL, now = 1796571000000000LL;
	const int64_t this_hour = now - now % h;
	vg_line_restore(l, "person", VG_LINE_IN, this_hour, 4, now);
	vg_line_restore(l, "person", VG_LINE_IN, this_hour - h, 3, now);
	vg_line_restore(l, "person", VG_LINE_OUT, this_hour - 5 * h, 2, now);  /* 10:00 today */
	vg_line_restore(l, "car", VG_LINE_OUT, this_hour - 16 * h, 9, now);    /* 23:00 yesterday: not today */
	vg_line_restore(l, "person", 7, this_hour, 5, now);                     /* no such direction */
	vg_line_counts c[4];
	CHECK_EQ_INT(vg_line_get_counts(l, now, c, 4), 1);
	CHECK_EQ_STR(c[0].label, "person");
	CHECK(c[0].hour[VG_LINE_IN] == 4 && c[0].prev_hour[VG_LINE_IN] == 3 && c[0].hour[VG_LINE_OUT] == 0);
	CHECK(c[0].day[VG_LINE_IN] == 7 && c[0].day[VG_LINE_OUT] == 2);
	CHECK(c[0].total[VG_LINE_IN] == 0 && c[0].total[VG_LINE_OUT] == 0);
	/* A crossing now adds to them. */
	vg_line_update(l, 1, "person", 0.4f, 0.5f, now);
	CHECK(vg_line_update(l, 1, "person", 0.6f, 0.5f, now + 1000) >= 0);
	vg_line_get_counts(l, now + 1000, c, 4);
	CHECK(c[0].day[0] + c[0].day[1] == 10 && c[0].total[0] + c[0].total[1] == 1);
	vg_line_destroy(l);
	/* Through the zones, by the line's and the direction's names. */
	CHECK(vg_line_parse("door:0.5,0,0.5,1", &d, err, sizeof err) == 0);
	vg_zones *z = vg_zones_create(NULL, 0, &d, 1, 0, 0, NULL, NULL);
	CHECK(vg_zones_restore_line(z, "door", "out", "person", this_hour, 6, now) == 0);
	CHECK(vg_zones_restore_line(z, "door", "sideways", "person", this_hour, 6, now) < 0);
	CHECK(vg_zones_restore_line(z, "gate", "in", "person", this_hour, 6, now) < 0);
	CHECK_EQ_INT(vg_zones_line_counts(z, 0, now, c, 4), 1);
	CHECK(c[0].hour[VG_LINE_OUT] == 6 && c[0].day[VG_LINE_OUT] == 6);
	vg_zones_destroy(z);
}

TEST_SUITE(zones, TEST_ENTRY(line_restore_counts),
	TEST_ENTRY(zones_pip_convex),
	TEST_ENTRY(zones_pip_concave),
	TEST_ENTRY(zones_pip_edges_and_vertices_are_inside),
	TEST_ENTRY(zones_line_side_convention),
	TEST_ENTRY(zones_segments_intersect_inclusive),
	TEST_ENTRY(zones_line_crossing_at_endpoints),
	TEST_ENTRY(zones_line_passing_beside_segment_does_not_count),
	TEST_ENTRY(zones_line_jitter_counts_once),
	TEST_ENTRY(zones_line_back_and_forth_counts_twice),
	TEST_ENTRY(zones_line_counts_per_label_hour_and_day),
	TEST_ENTRY(zones_line_labels_and_tracks_bounded),
	TEST_ENTRY(zones_zone_inertia_enter_and_leave),
	TEST_ENTRY(zones_zone_loitering_once_per_stay),
	TEST_ENTRY(zones_zone_objects_filter_and_counts_per_label),
	TEST_ENTRY(zones_zone_table_bounded_and_forgetting),
	TEST_ENTRY(zones_line_crossing_events),
	TEST_ENTRY(zones_callback_may_read_counts),
	TEST_ENTRY(zones_parse_zone_good_and_bad),
	TEST_ENTRY(zones_parse_line_good_and_bad),
	TEST_ENTRY(zones_stats_json_and_metrics),
	TEST_ENTRY(zones_masks_and_area_filters),
	TEST_ENTRY(zones_noisy_walkers_counted_exactly),
	TEST_ENTRY(zones_reads_while_updating));
