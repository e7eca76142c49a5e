/*
 * Object events (track/lifecycle.h): one event per confirmed track, new,
 * update on the changes people act on and not on every move, end with its
 * time; the best frame offered on each rise of the top score; the states'
 * JSON read back; and the same through a scene, where zone events name the
 * zones an object is in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "track/lifecycle.h"
#include "track/scene.h"

#define MAX_MESSAGES 64

typedef struct log {
	int n;
	vg_object_message m[MAX_MESSAGES];
	int snapshots;          /* better frames offered */
	float snapshot_scores[MAX_MESSAGES];
	int refuse_snapshots;   /* the snapshot callback fails */
} log;

static void on_message(const vg_object_message *m, void *user)
{
	log *l = user;
	if (l->n < MAX_MESSAGES)
		l->m[l->n++] = *m;
}

static int on_better(const vg_object_state *s, void *user)
{
	log *l = user;
	if (l->snapshots < MAX_MESSAGES)
		l->snapshot_scores[l->snapshots] = s->top_score;
	l->snapshots++;
	return l->refuse_snapshots ? -1 : 0;
}

static vg_track_info track(int id, float cx, float score, double t)
{
	vg_track_info ti = { .id = id, .class_id = 0, .x0 = cx - 0.05f, .y0 = 0.4f, .x1 = cx + 0.05f, .y1 = 0.6f,
			     .score = score, .best_score = score, .first_time = 10.0, .last_time = t };
	snprintf(ti.label, sizeof ti.label, "person");
	return ti;
}

/* Wall time = track time + this, in seconds. */
#define WALL0 1765000000.0

static int64_t wall_us(double t)
{
	return (int64_t)((WALL0 + t) * 1e6);
}

TEST(lifecycle_new_update_end)
{
	log l = { 0 };
	vg_lifecycle_options o = { .camera = "front", .on_message = on_message, .on_better_frame = on_better, .user = &l };
	vg_lifecycle *lc = vg_lifecycle_create(&o);
	CHECK(lc);
	/* Confirmed at 10.2 s (its first detection at 10.0). */
	vg_track_info t = track(7, 0.3f, 0.70f, 10.2);
	vg_lifecycle_update(lc, &t, 1, NULL, 0, 10.2, wall_us(10.2));
	CHECK_EQ_INT(l.n, 1);
	const vg_object_message *m = &l.m[0];
	CHECK_EQ_INT(m->type, VG_OBJECT_NEW);
	CHECK_EQ_STR(m->after.camera, "front");
	CHECK_EQ_STR(m->after.label, "person");
	CHECK_EQ_INT(m->after.track_id, 7);
	CHECK_NEAR(m->after.start_time, WALL0 + 10.0, 1e-3);
	CHECK(m->after.end_time == 0);
	CHECK_NEAR(m->after.top_score, 0.70, 1e-6);
	CHECK(m->after.has_snapshot);
	CHECK_EQ_INT(l.snapshots, 1);
	CHECK_EQ_STR(m->before.id, "");
	char id[VG_OBJECT_ID_MAX];
	snprintf(id, sizeof id, "%s", m->after.id);
	/* "1765000010.000000-abcdef": the start to the microsecond. */
	CHECK(strncmp(id, "1765000010.000000-", 18) == 0 && strlen(id) == 24);
	CHECK(strspn(id + 18, "abcdefghijklmnopqrstuvwxyz0123456789") == 6);

	/* Moving with the same score: no message. A rise of 0.02: a new snapshot, no message. */
	t = track(7, 0.32f, 0.70f, 10.3);
	vg_lifecycle_update(lc, &t, 1, NULL, 0, 10.3, wall_us(10.3));
	t = track(7, 0.34f, 0.72f, 10.4);
	vg_lifecycle_update(lc, &t, 1, NULL, 0, 10.4, wall_us(10.4));
	CHECK_EQ_INT(l.n, 1);
	CHECK_EQ_INT(l.snapshots, 2);
	CHECK_NEAR(l.snapshot_scores[1], 0.72, 1e-6);
	/* A fall gives nothing; a rise to 0.80 (0.10 over the last message's) is an update. */
	t = track(7, 0.36f, 0.60f, 10.5);
	vg_lifecycle_update(lc, &t, 1, NULL, 0, 10.5, wall_us(10.5));
	CHECK_EQ_INT(l.n, 1);
	t = track(7, 0.38f, 0.80f, 10.6);
	vg_lifecycle_update(lc, &t, 1, NULL, 0, 10.6, wall_us(10.6));
	CHECK_EQ_INT(l.n, 2);
	m = &l.m[1];
	CHECK_EQ_INT(m->type, VG_OBJECT_UPDATE);
	CHECK_EQ_STR(m->after.id, id);
	CHECK_NEAR(m->before.top_score, 0.70, 1e-6);
	CHECK_NEAR(m->after.top_score, 0.80, 1e-6);
	CHECK_NEAR(m->after.top_box[0], 0.33, 1e-6);
	CHECK_NEAR(m->after.top_score_time, WALL0 + 10.6, 1e-3);
	CHECK_NEAR(m->after.score, 0.80, 1e-6);

	/* It stops: an update, once the tracker has said so for a run of analyses (a pause is not a stop). */
	for (int i = 0; i < VG_LIFECYCLE_STATIONARY_RUN - 1; i++) {
		t = track(7, 0.38f, 0.75f, 10.7);
		t.stationary = i != 3;
		vg_lifecycle_update(lc, &t, 1, NULL, 0, 10.7, wall_us(10.7));
	}
	CHECK_EQ_INT(l.n, 2);
	for (int i = 0; i < VG_LIFECYCLE_STATIONARY_RUN; i++) {
		t = track(7, 0.38f, 0.75f, 10.7);
		t.stationary = 1;
		vg_lifecycle_update(lc, &t, 1, NULL, 0, 10.7, wall_us(10.7));
	}
	CHECK_EQ_INT(l.n, 3);
	CHECK(!l.m[2].before.stationary && l.m[2].after.stationary);
	/* Missed for a while (misses > 0): its box and score stay those of its last match. */
	t = track(7, 0.5f, 0.1f, 10.7);
	t.misses = 3;
	t.stationary = 1;
	vg_lifecycle_update(lc, &t, 1, NULL, 0, 11.0, wall_us(11.0));
	CHECK_EQ_INT(l.n, 3);
	CHECK_NEAR(vg_lifecycle_find(lc, 7)->score, 0.75, 1e-6);
	/* It ends: end_time is its last match's, not the frame's. */
	vg_lifecycle_update(lc, NULL, 0, &t, 1, 14.0, wall_us(14.0));
	CHECK_EQ_INT(l.n, 4);
	m = &l.m[3];
	CHECK_EQ_INT(m->type, VG_OBJECT_END);
	CHECK_EQ_STR(m->after.id, id);
	CHECK_NEAR(m->after.end_time, WALL0 + 10.7, 1e-3);
	CHECK(m->before.end_time == 0);
	CHECK(vg_lifecycle_find(lc, 7) == NULL);
	/* The ended track's last state is not a frame of now: no snapshot offered. */
	CHECK_EQ_INT(l.snapshots, 3);
	vg_lifecycle_destroy(lc);
}

TEST(lifecycle_snapshot_refused_and_clips)
{
	log l = { .refuse_snapshots = 1 };
	vg_lifecycle_options o = { .clips = 1, .on_message = on_message, .on_better_frame = on_better, .user = &l };
	vg_lifecycle *lc = vg_lifecycle_create(&o);
	vg_track_info t = track(1, 0.5f, 0.9f, 10.0);
	vg_lifecycle_update(lc, &t, 1, NULL, 0, 10.0, wall_us(10.0));
	CHECK_EQ_INT(l.n, 1);
	CHECK(!l.m[0].after.has_snapshot);
	CHECK(l.m[0].after.has_clip);
	CHECK_EQ_STR(l.m[0].after.camera, "");
	vg_lifecycle_destroy(lc);
}

TEST(lifecycle_vanished_tracks_and_end_all)
{
	log l = { 0 };
	vg_lifecycle_options o = { .camera = "c", .on_message = on_message, .user = &l };
	vg_lifecycle *lc = vg_lifecycle_create(&o);
	vg_track_info ts[3] = { track(1, 0.2f, 0.9f, 10.0), track(2, 0.5f, 0.9f, 10.0), track(3, 0.8f, 0.9f, 10.0) };
	vg_lifecycle_update(lc, ts, 3, NULL, 0, 10.0, wall_us(10.0));
	CHECK_EQ_INT(l.n, 3);
	/* Track 2 is neither live nor ended (the tracker's queue overflowed): it ends at the frame's time. */
	vg_track_info rest[2] = { ts[0], ts[2] };
	vg_lifecycle_update(lc, rest, 2, NULL, 0, 10.1, wall_us(10.1));
	CHECK_EQ_INT(l.n, 4);
	CHECK_EQ_INT(l.m[3].type, VG_OBJECT_END);
	CHECK_EQ_INT(l.m[3].after.track_id, 2);
	CHECK_NEAR(l.m[3].after.end_time, WALL0 + 10.1, 1e-3);
	/* The camera stops: the two others end. */
	vg_lifecycle_end_all(lc, wall_us(12.0));
	CHECK_EQ_INT(l.n, 6);
	CHECK(l.m[4].type == VG_OBJECT_END && l.m[5].type == VG_OBJECT_END);
	CHECK_NEAR(l.m[5].after.end_time, WALL0 + 12.0, 1e-3);
	vg_lifecycle_end_all(lc, wall_us(13.0));
	CHECK_EQ_INT(l.n, 6);
	vg_lifecycle_destroy(lc);
}

TEST(lifecycle_json_round_trip)
{
	vg_object_state s = { .track_id = 12, .class_id = 3, .score = 0.5f, .top_score = 0.875f,
			      .box = { 0.1f, 0.2f, 0.3f, 0.4f }, .top_box = { 0.11f, 0.21f, 0.31f, 0.41f },
			      .nzones = 1, .nentered = 2, .start_time = 1765000000.25, .top_score_time = 1765000001.5,
			      .stationary = 1, .has_snapshot = 1 };
	snprintf(s.id, sizeof s.id, "1765000000.250000-ab12cd");
	snprintf(s.camera, sizeof s.camera, "yard");
	snprintf(s.label, sizeof s.label, "a \"quoted\"\\label");
	snprintf(s.zones[0], sizeof s.zones[0], "door");
	snprintf(s.entered_zones[0], sizeof s.entered_zones[0], "porch");
	snprintf(s.entered_zones[1], sizeof s.entered_zones[1], "door");
	char json[VG_OBJECT_STATE_JSON_MAX];
	size_t len = vg_object_state_json(&s, json, sizeof json);
	CHECK(len > 0 && len == strlen(json));
	CHECK(strstr(json, "\"end_time\":null") != NULL);
	CHECK(strstr(json, "\"zones\":[\"door\"]") != NULL);
	CHECK(strstr(json, "\"entered_zones\":[\"porch\",\"door\"]") != NULL);
	CHECK(strstr(json, "\"stationary\":true") != NULL);
	vg_object_state r;
	CHECK(vg_object_state_parse(json, len, &r) == 0);
	CHECK_EQ_STR(r.id, s.id);
	CHECK_EQ_STR(r.label, s.label);
	CHECK_EQ_STR(r.camera, "yard");
	CHECK_EQ_INT(r.track_id, 12);
	CHECK_EQ_INT(r.nentered, 2);
	CHECK_EQ_STR(r.entered_zones[1], "door");
	CHECK_NEAR(r.top_score, 0.875, 1e-4);
	CHECK_NEAR(r.box[3], 0.4, 1e-4);
	CHECK_NEAR(r.start_time, 1765000000.25, 1e-3);
	CHECK(r.end_time == 0 && r.stationary && r.has_snapshot && !r.has_clip);
	/* Too small a buffer fails whole; not an object fails. */
	CHECK(vg_object_state_json(&s, json, 40) == 0);
	CHECK(vg_object_state_parse("[1,2]", 5, &r) < 0);
	CHECK(vg_object_state_parse("{\"id\":", 6, &r) < 0);

	vg_object_message m = { .type = VG_OBJECT_NEW, .after = s };
	char *text = vg_object_message_json(&m);
	CHECK(text && strncmp(text, "{\"type\":\"new\",\"before\":null,\"after\":{\"id\":", 42) == 0);
	free(text);
	m.type = VG_OBJECT_END;
	m.before = s;
	m.after.end_time = 1765000009.5;
	text = vg_object_message_json(&m);
	CHECK(text && strstr(text, "\"type\":\"end\",\"before\":{") && strstr(text, "\"end_time\":1765000009.5"));
	free(text);
}

static vg_detection person(float cx, float cy, float score)
{
	vg_detection d = { .x0 = cx - 0.05f, .y0 = cy - 0.1f, .x1 = cx + 0.05f, .y1 = cy + 0.1f, .score = score };
	snprintf(d.label, sizeof d.label, "person");
	return d;
}

/* Through a scene: the zone an object walks into and out of is listed in its updates, then its end. */
TEST(lifecycle_scene_zones)
{
	char err[256];
	vg_zone_def zone;
	CHECK(vg_zone_parse("right:0.5,0,1,0,1,1,0.5,1", &zone, err, sizeof err) == 0);
	log l = { 0 };
	vg_scene_options o = { .tracking = 1, .zones = &zone, .nzones = 1, .camera = "cam1", .on_object = on_message,
			       .on_better_frame = on_better, .user = &l };
	vg_scene *sc = vg_scene_create(&o);
	CHECK(sc);
	int64_t t0 = 1000000, wall0 = 1765000000000000;
	/* From x 0.2 to 0.8 and back to 0.2, then gone for longer than a track lives unmatched. */
	int i = 0;
	for (; i <= 60; i++) {
		float x = i <= 30 ? 0.2f + 0.02f * (float)i : 0.8f - 0.02f * (float)(i - 30);
		vg_detection d = person(x, 0.5f, 0.9f);
		vg_scene_update(sc, &d, 1, 640, 480, t0 + i * 100000, wall0 + i * 100000);
	}
	for (; i <= 100; i++)
		vg_scene_update(sc, NULL, 0, 640, 480, t0 + i * 100000, wall0 + i * 100000);
	CHECK_MSG(l.n == 4, "%d messages", l.n);
	CHECK_EQ_INT(l.m[0].type, VG_OBJECT_NEW);
	CHECK_EQ_STR(l.m[0].after.camera, "cam1");
	CHECK_EQ_INT(l.m[0].after.nzones, 0);
	CHECK_EQ_INT(l.m[1].type, VG_OBJECT_UPDATE);
	CHECK(l.m[1].before.nzones == 0 && l.m[1].after.nzones == 1);
	CHECK_EQ_STR(l.m[1].after.zones[0], "right");
	CHECK_EQ_INT(l.m[2].type, VG_OBJECT_UPDATE);
	CHECK(l.m[2].after.nzones == 0 && l.m[2].after.nentered == 1);
	CHECK_EQ_STR(l.m[2].after.entered_zones[0], "right");
	CHECK_EQ_INT(l.m[3].type, VG_OBJECT_END);
	/* Its last match was the 61st analysis, 6.0 s after the first. */
	CHECK_NEAR(l.m[3].after.end_time, 1765000000.0 + 6.0, 0.01);
	CHECK_NEAR(l.m[3].after.start_time, 1765000000.0, 0.01);
	CHECK_EQ_STR(l.m[3].after.id, l.m[0].after.id);
	vg_scene_end_objects(sc, wall0 + 200 * 100000);
	CHECK_EQ_INT(l.n, 4);
	vg_scene_destroy(sc);
}

TEST_SUITE(lifecycle, TEST_ENTRY(lifecycle_new_update_end), TEST_ENTRY(lifecycle_snapshot_refused_and_clips),
	   TEST_ENTRY(lifecycle_vanished_tracks_and_end_all), TEST_ENTRY(lifecycle_json_round_trip),
	   TEST_ENTRY(lifecycle_scene_zones));
