/*
 * A camera's scene (track/scene.h): the tracker and the zones fed together,
 * identities reaching the zones and lines, ended tracks forgotten by them,
 * and predictions for the encode thread held to a second past the last
 * analysis.
 */
#include <stdio.h>
#include <string.h>

#include "test.h"
#include "track/scene.h"

typedef struct seen {
	int entered, left, crossed_in, crossed_out;
	int last_track;
} seen;

static void on_event(const vg_zone_event *ev, void *user)
{
	seen *s = user;
	s->last_track = ev->track_id;
	if (ev->kind == VG_ZONE_ENTERED)
		s->entered++;
	else if (ev->kind == VG_ZONE_LEFT)
		s->left++;
	else if (ev->kind == VG_LINE_CROSSED)
		*(ev->direction == VG_LINE_IN ? &s->crossed_in : &s->crossed_out) += 1;
}

static vg_detection person(float cx, float cy, float score)
{
	vg_detection d = { .x0 = cx - 0.05f, .y0 = cy - 0.1f, .x1 = cx + 0.05f, .y1 = cy + 0.1f, .score = score };
	snprintf(d.label, sizeof d.label, "person");
	return d;
}

TEST(scene_walker_through_zone_and_line)
{
	char err[256];
	vg_zone_def zone;
	vg_line_def line;
	CHECK(vg_zone_parse("right:0.5,0,1,0,1,1,0.5,1", &zone, err, sizeof err) == 0);
	/* Top to bottom at x = 0.5: walking left to right crosses it from its right to its left, "out". */
	CHECK(vg_line_parse("mid:0.5,0,0.5,1", &line, err, sizeof err) == 0);
	seen s = { 0 };
	vg_scene_options o = { .tracking = 1, .zones = &zone, .nzones = 1, .lines = &line, .nlines = 1,
			       .on_zone_event = on_event, .user = &s };
	vg_scene *sc = vg_scene_create(&o);
	CHECK(sc);
	CHECK(vg_scene_zones(sc) != NULL);
	int64_t t0 = 1000000, wall0 = 1765000000000000;
	int id = 0;
	/* 0.02 of the frame per analysis at 10 a second, from x 0.2 to 0.8. */
	for (int i = 0; i <= 30; i++) {
		vg_detection d = person(0.2f + 0.02f * (float)i, 0.5f, 0.9f);
		vg_scene_update(sc, &d, 1, 640, 480, t0 + i * 100000, wall0 + i * 100000);
		if (i >= 2) {
			CHECK_MSG(d.track_id > 0, "analysis %d: no track id", i);
			CHECK(id == 0 || d.track_id == id);
			id = d.track_id;
		}
	}
	CHECK(s.entered == 1 && s.left == 0);
	CHECK(s.crossed_out == 1 && s.crossed_in == 0);
	CHECK(s.last_track == id);
	CHECK(vg_zones_objects(vg_scene_zones(sc), 0, "person") == 1);

	/* Predictions move on with the track, but stop a second after the last analysis. */
	vg_track_info p[4];
	int64_t last = t0 + 30 * 100000;
	CHECK(vg_scene_predict(sc, last + 500000, p, 4) == 1);
	float half = (p[0].x0 + p[0].x1) / 2;
	CHECK_MSG(half > 0.85f && half < 0.95f, "predicted at %f", half);
	CHECK(vg_scene_predict(sc, last + 5000000, p, 4) == 1);
	float capped = (p[0].x0 + p[0].x1) / 2;
	CHECK_MSG(capped > 0.95f && capped < 1.05f, "5 s ahead drawn at %f, not a second's worth", capped);

	/* Gone for good: the track ends and the zone forgets it (it leaves). */
	for (int i = 31; i < 80 && s.left == 0; i++)
		vg_scene_update(sc, NULL, 0, 640, 480, t0 + i * 100000, wall0 + i * 100000);
	CHECK(s.left == 1);
	CHECK(vg_zones_objects(vg_scene_zones(sc), 0, "person") == 0);
	vg_tracker_stats st;
	vg_scene_tracker_stats(sc, &st);
	CHECK(st.confirmed == 1 && st.deaths == 1 && st.live == 0);
	vg_scene_destroy(sc);
}

TEST(scene_without_tracking_leaves_detections_alone)
{
	vg_scene_options o = { .tracking = 0 };
	vg_scene *sc = vg_scene_create(&o);
	CHECK(sc && !vg_scene_zones(sc));
	vg_detection d = person(0.5f, 0.5f, 0.9f);
	for (int i = 0; i < 5; i++)
		CHECK(vg_scene_update(sc, &d, 1, 640, 480, i * 100000, i * 100000) == 0);
	CHECK(d.track_id == 0);
	vg_track_info p[1];
	CHECK(vg_scene_predict(sc, 0, p, 1) == 0);
	vg_scene_destroy(sc);
	/* A tracker option out of range is refused at creation. */
	vg_scene_options bad = { .tracking = 1, .tracker = { .high_score = 0.2f, .low_score = 0.5f } };
	CHECK(vg_scene_create(&bad) == NULL);
}

TEST_SUITE(scene, TEST_ENTRY(scene_walker_through_zone_and_line), TEST_ENTRY(scene_without_tracking_leaves_detections_alone));
