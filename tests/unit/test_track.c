/*
 * The tracker's parts: the Kalman filter, the assignment (against brute
 * force) and the tracker's rules. Its quality on synthetic scenes is in
 * test_track_scenes.c.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "test_rng.h"
#include "track/assign.h"
#include "track/kalman.h"
#include "track/tracker.h"

/* ---- Kalman filter ---- */

TEST(track_kalman_converges_on_constant_velocity)
{
	rng r = { 1 };
	vg_kalman k;
	double vx = 0.3, vy = -0.12, dt = 0.1, h = 0.2;
	double z[4] = { 0.2, 0.7, 0.5, h };
	vg_kalman_init(&k, z);
	for (int i = 1; i <= 60; i++) {
		vg_kalman_predict(&k, dt);
		/* Noise of about 1% of the height on the position, as a good detector gives. */
		double m[4] = { 0.2 + vx * dt * i + 0.002 * rng_gauss(&r), 0.7 + vy * dt * i + 0.002 * rng_gauss(&r),
			0.5 + 0.01 * rng_gauss(&r), h + 0.002 * rng_gauss(&r) };
		vg_kalman_update(&k, m);
	}
	CHECK_MSG(fabs(k.x[4] - vx) < 0.02 && fabs(k.x[5] - vy) < 0.02, "v = %g %g", k.x[4], k.x[5]);
	CHECK(fabs(k.x[0] - (0.2 + vx * 6)) < 0.01 && fabs(k.x[1] - (0.7 + vy * 6)) < 0.01);
	CHECK(fabs(k.x[2] - 0.5) < 0.05 && fabs(k.x[3] - h) < 0.01);
	CHECK(fabs(k.x[7]) < 0.02);
	/* Uneven steps: the velocity is per second, so a longer gap moves the prediction further. */
	double a[4], b[4];
	vg_kalman_peek(&k, 0.05, a);
	vg_kalman_peek(&k, 0.5, b);
	CHECK(fabs((b[0] - a[0]) - vx * 0.45) < 0.01);
	/* Covariance stays symmetric with a positive diagonal. */
	for (int i = 0; i < VG_KF_DIM; i++) {
		CHECK(k.P[i][i] > 0);
		for (int j = 0; j < VG_KF_DIM; j++)
			CHECK(k.P[i][j] == k.P[j][i]);
	}
}

TEST(track_kalman_predict_without_update)
{
	vg_kalman k;
	double z[4] = { 0.5, 0.5, 0.4, 0.3 };
	vg_kalman_init(&k, z);
	for (int i = 1; i <= 20; i++) {
		vg_kalman_predict(&k, 0.1);
		double m[4] = { 0.5 + 0.02 * i, 0.5, 0.4, 0.3 };
		vg_kalman_update(&k, m);
	}
	double x0 = k.x[0], vx = k.x[4], p = k.P[0][0];
	vg_kalman_predict(&k, 0); /* no time, no change */
	CHECK(k.x[0] == x0 && k.P[0][0] == p);
	for (int i = 1; i <= 10; i++) {
		double peek[4];
		vg_kalman_peek(&k, 0.1, peek);
		vg_kalman_predict(&k, 0.1);
		CHECK(fabs(k.x[0] - (x0 + vx * 0.1 * i)) < 1e-9);
		CHECK(peek[0] == k.x[0]);
		CHECK_MSG(k.P[0][0] > p, "the uncertainty grows while nothing is measured");
		p = k.P[0][0];
	}
	CHECK(fabs(vx - 0.2) < 0.01);
}

/* ---- Assignment ---- */

/* The best value of sum(cost - thr) over every partial matching, by enumeration. */
static double brute(const double *c, int rows, int cols, double thr, int r, unsigned used)
{
	if (r == rows)
		return 0;
	double best = brute(c, rows, cols, thr, r + 1, used);
	for (int j = 0; j < cols; j++) {
		double w = c[r * cols + j];
		if ((used >> j) & 1 || !(w <= thr))
			continue;
		double v = (w - thr) + brute(c, rows, cols, thr, r + 1, used | 1u << j);
		if (v < best)
			best = v;
	}
	return best;
}

static double check_solution(const double *c, int rows, int cols, double thr, const int *r2c, const int *c2r)
{
	double v = 0;
	for (int r = 0; r < rows; r++) {
		if (r2c[r] < 0)
			continue;
		CHECK(r2c[r] < cols && c2r[r2c[r]] == r);
		CHECK(c[r * cols + r2c[r]] <= thr);
		v += c[r * cols + r2c[r]] - thr;
	}
	for (int j = 0; j < cols; j++)
		CHECK(c2r[j] < 0 || r2c[c2r[j]] == j);
	return v;
}

TEST(track_assign_matches_brute_force)
{
	rng r = { 7 };
	double c[64];
	int r2c[8], c2r[8];
	for (int it = 0; it < 3000; it++) {
		int rows = 1 + (int)(rng_unit(&r) * 6), cols = 1 + (int)(rng_unit(&r) * 6);
		double thr = rng_range(&r, 0.1, 1.0);
		for (int k = 0; k < rows * cols; k++)
			/* Some ties and some forbidden entries, as IoU costs have. */
			c[k] = rng_unit(&r) < 0.2 ? 1.0 : floor(rng_unit(&r) * 20) / 20;
		int m = vg_assign(c, rows, cols, thr, r2c, c2r);
		CHECK(m >= 0);
		double got = check_solution(c, rows, cols, thr, r2c, c2r);
		double want = brute(c, rows, cols, thr, 0, 0);
		CHECK_MSG(fabs(got - want) < 1e-9, "%dx%d thr %g: %g, brute force %g", rows, cols, thr, got, want);
	}
}

TEST(track_assign_is_not_greedy_and_respects_threshold)
{
	/* Greedy takes (0,0) at 0.1 and leaves row 1 with nothing under 0.5; the optimum matches both. */
	double c[4] = { 0.1, 0.2, 0.15, 0.9 };
	int r2c[2], c2r[2];
	CHECK(vg_assign(c, 2, 2, 0.5, r2c, c2r) == 2);
	CHECK(r2c[0] == 1 && r2c[1] == 0);
	/* Nothing under the threshold: nothing matched. */
	double d[6] = { 0.7, 0.8, 0.9, 0.95, 0.71, 0.6 };
	int a[2], b[3];
	CHECK(vg_assign(d, 2, 3, 0.5, a, b) == 0);
	CHECK(a[0] == -1 && a[1] == -1 && b[0] == -1 && b[1] == -1 && b[2] == -1);
	/* A pair exactly at the threshold is allowed. */
	CHECK(vg_assign(d, 2, 3, 0.6, a, b) == 1 && a[1] == 2);
	/* NaN is never a match. */
	double e[1] = { NAN };
	CHECK(vg_assign(e, 1, 1, 1, a, b) == 0 && a[0] == -1);
}

TEST(track_assign_empty_and_rectangular)
{
	int r2c[8], c2r[8];
	CHECK(vg_assign(NULL, 0, 0, 1, r2c, c2r) == 0);
	CHECK(vg_assign(NULL, 0, 5, 1, r2c, c2r) == 0);
	for (int j = 0; j < 5; j++)
		CHECK(c2r[j] == -1);
	CHECK(vg_assign(NULL, 4, 0, 1, r2c, c2r) == 0 && r2c[3] == -1);
	CHECK(vg_assign_sparse(NULL, 3, 3, NULL, 0, 1, r2c, c2r) == 0);
	/* Out-of-range pairs are an error, not a write past the arrays. */
	vg_assign_pair bad = { 3, 0, 0.1 };
	CHECK(vg_assign_sparse(NULL, 3, 3, &bad, 1, 1, r2c, c2r) == -1);

	rng r = { 11 };
	double c[64];
	for (int it = 0; it < 200; it++) {
		int rows = it % 2 ? 2 : 7, cols = it % 2 ? 7 : 2;
		for (int k = 0; k < rows * cols; k++)
			c[k] = rng_unit(&r);
		CHECK(vg_assign(c, rows, cols, 0.8, r2c, c2r) >= 0);
		double got = check_solution(c, rows, cols, 0.8, r2c, c2r);
		CHECK(fabs(got - brute(c, rows, cols, 0.8, 0, 0)) < 1e-9);
	}
}

TEST(track_assign_many_groups_shuffled)
{
	/* 250 independent 4x4 blocks, rows and columns scattered over 1000 indices; each block checked by brute force. */
	enum { B = 250, S = 4, N = B * S };
	rng r = { 3 };
	static int rperm[N], cperm[N], r2c[N], c2r[N];
	static double block[B][S * S];
	static vg_assign_pair pairs[B * S * S];
	for (int i = 0; i < N; i++)
		rperm[i] = cperm[i] = i;
	for (int i = N - 1; i > 0; i--) {
		int j = (int)(rng_unit(&r) * (i + 1)), t = rperm[i];
		rperm[i] = rperm[j];
		rperm[j] = t;
		j = (int)(rng_unit(&r) * (i + 1));
		t = cperm[i];
		cperm[i] = cperm[j];
		cperm[j] = t;
	}
	int np = 0;
	for (int b = 0; b < B; b++)
		for (int k = 0; k < S * S; k++) {
			block[b][k] = rng_unit(&r) < 0.3 ? 2.0 : rng_unit(&r);
			if (block[b][k] <= 0.7)
				pairs[np++] = (vg_assign_pair){ rperm[b * S + k / S], cperm[b * S + k % S], block[b][k] };
		}
	vg_assign_ws ws = { 0 };
	CHECK(vg_assign_sparse(&ws, N, N, pairs, np, 0.7, r2c, c2r) >= 0);
	CHECK(vg_assign_sparse(&ws, N, N, pairs, np, 0.7, r2c, c2r) >= 0); /* the workspace is reused */
	vg_assign_ws_fini(&ws);
	for (int b = 0; b < B; b++) {
		double got = 0;
		for (int i = 0; i < S; i++) {
			int gc = r2c[rperm[b * S + i]];
			if (gc < 0)
				continue;
			int j = -1;
			for (int q = 0; q < S; q++)
				if (cperm[b * S + q] == gc)
					j = q;
			CHECK_MSG(j >= 0, "block %d row %d matched outside its block", b, i);
			got += block[b][i * S + j] - 0.7;
		}
		CHECK(fabs(got - brute(block[b], S, S, 0.7, 0, 0)) < 1e-9);
	}
}

/* ---- Tracker rules ---- */

static vg_detection det(float cx, float cy, float w, float h, float score, int cls)
{
	vg_detection d = { .x0 = cx - w / 2, .y0 = cy - h / 2, .x1 = cx + w / 2, .y1 = cy + h / 2, .score = score,
		.class_id = cls };
	snprintf(d.label, sizeof d.label, "class%d", cls);
	return d;
}

TEST(tracker_ids_at_confirmation)
{
	vg_tracker *t = vg_tracker_create(NULL);
	CHECK(t);
	vg_detection d[2];
	for (int f = 0; f < 10; f++) {
		int n = 1;
		d[0] = det(0.2f + 0.01f * f, 0.5f, 0.1f, 0.2f, 0.9f, 0);
		if (f >= 4)
			d[n++] = det(0.7f, 0.3f, 0.1f, 0.2f, 0.8f, 0);
		CHECK(vg_tracker_update(t, d, n, f * 0.1) == 0);
		CHECK_MSG(d[0].track_id == (f < 2 ? 0 : 1), "frame %d: id %d", f, d[0].track_id);
		if (n > 1)
			CHECK(d[1].track_id == (f < 6 ? 0 : 2));
	}
	vg_tracker_stats s;
	vg_tracker_get_stats(t, &s);
	CHECK(s.births == 2 && s.confirmed == 2 && s.deaths == 0 && s.live == 2 && s.tentative == 0);
	CHECK(s.fragments == 0 && s.updates == 10);
	/* A low-score detection alone never starts a track, nor one under new_score. */
	vg_detection e[2] = { det(0.5f, 0.8f, 0.1f, 0.1f, 0.3f, 0), det(0.8f, 0.8f, 0.1f, 0.1f, 0.55f, 0) };
	for (int f = 10; f < 16; f++) {
		CHECK(vg_tracker_update(t, e, 2, f * 0.1) == 0);
		CHECK(e[0].track_id == 0 && e[1].track_id == 0);
	}
	vg_tracker_destroy(t);
}

TEST(tracker_ends_after_misses)
{
	vg_tracker_options o = { .max_misses = 5, .confirm_hits = 2 };
	vg_tracker *t = vg_tracker_create(&o);
	vg_detection d = det(0.5f, 0.5f, 0.1f, 0.2f, 0.9f, 0);
	for (int f = 0; f < 4; f++)
		vg_tracker_update(t, &d, 1, f);
	CHECK(d.track_id == 1);
	vg_track_info info[4];
	for (int m = 1; m <= 5; m++) {
		vg_tracker_update(t, NULL, 0, 3 + m);
		int live = vg_tracker_tracks(t, info, 4), ended = vg_tracker_ended(t, info + 1, 3);
		if (m < 5) {
			CHECK(live == 1 && info[0].misses == m && ended == 0);
			CHECK(vg_tracker_predict(t, 4 + m, info, 4) == 0); /* missing tracks are not drawn */
		} else {
			CHECK(live == 0 && ended == 1);
			CHECK(info[1].id == 1 && info[1].hits == 4 && info[1].last_time == 3 && info[1].first_time == 0);
			CHECK(fabs(info[1].x0 - 0.45f) < 1e-3 && fabs(info[1].y1 - 0.6f) < 1e-3);
			CHECK(!strcmp(info[1].label, "class0"));
		}
	}
	CHECK(vg_tracker_ended(t, info, 4) == 0);
	vg_tracker_stats s;
	vg_tracker_get_stats(t, &s);
	CHECK(s.deaths == 1 && s.live == 0);
	/* A tentative track that misses once is gone without an end. */
	vg_tracker_update(t, &d, 1, 10);
	vg_tracker_update(t, NULL, 0, 11);
	vg_tracker_get_stats(t, &s);
	CHECK(s.tentative == 0 && s.deaths == 1 && vg_tracker_ended(t, info, 4) == 0);
	vg_tracker_destroy(t);
}

TEST(tracker_leaving_the_frame_ends_at_once)
{
	vg_tracker *t = vg_tracker_create(NULL);
	vg_detection d;
	int f = 0;
	for (; f < 40; f++) {
		float cx = 0.5f + 0.03f * (float)f;
		if (cx > 1.02f)
			break;
		d = det(cx, 0.5f, 0.1f, 0.2f, 0.9f, 0);
		vg_tracker_update(t, &d, 1, f * 0.1);
	}
	vg_track_info info[2];
	int ended = 0, waited = 0;
	while (!ended && waited < 30) {
		vg_tracker_update(t, NULL, 0, (f + waited++) * 0.1);
		ended = vg_tracker_ended(t, info, 2);
	}
	CHECK(ended == 1);
	CHECK_MSG(waited <= 3, "ended after %d misses", waited);
	vg_tracker_destroy(t);
}

TEST(tracker_ended_queue_is_bounded)
{
	/* 1100 objects confirmed, then all gone at once: the oldest 76 ends are dropped and counted. */
	enum { N = 1100 };
	vg_tracker_options o = { .max_misses = 1 };
	vg_tracker *t = vg_tracker_create(&o);
	static vg_detection d[N];
	static vg_track_info info[N];
	for (int f = 0; f < 3; f++) {
		for (int i = 0; i < N; i++)
			d[i] = det(0.01f + 0.03f * (float)(i % 33), 0.01f + 0.03f * (float)(i / 33), 0.02f, 0.02f, 0.9f, i % 3);
		CHECK(vg_tracker_update(t, d, N, f * 0.1) == 0);
	}
	CHECK(vg_tracker_tracks(t, NULL, 0) == N);
	vg_tracker_update(t, NULL, 0, 0.3);
	vg_tracker_stats s;
	vg_tracker_get_stats(t, &s);
	CHECK(s.deaths == N && s.ended_dropped == N - 1024 && s.live == 0);
	CHECK(vg_tracker_ended(t, info, N) == 1024);
	CHECK(info[0].id == N - 1024 + 1 && info[1023].id == N);
	vg_tracker_destroy(t);
}

TEST(tracker_counts_fragments)
{
	/*
	 * An object jumps further than the IoU reaches (a dropped stretch of
	 * video): its track goes missing and a second one starts where it is.
	 * The new id is counted as a fragment; a new object far away is not.
	 */
	vg_tracker *t = vg_tracker_create(NULL);
	vg_detection d;
	for (int f = 0; f < 5; f++) {
		d = det(0.3f, 0.5f, 0.1f, 0.2f, 0.9f, 0);
		vg_tracker_update(t, &d, 1, f * 0.1);
	}
	for (int f = 5; f < 10; f++) {
		d = det(0.38f, 0.5f, 0.1f, 0.2f, 0.9f, 0);
		vg_tracker_update(t, &d, 1, f * 0.1);
	}
	CHECK(d.track_id == 2);
	vg_detection e = det(0.8f, 0.2f, 0.1f, 0.2f, 0.9f, 0);
	for (int f = 10; f < 14; f++)
		vg_tracker_update(t, &e, 1, f * 0.1);
	CHECK(e.track_id == 3);
	vg_tracker_stats s;
	vg_tracker_get_stats(t, &s);
	CHECK_MSG(s.fragments == 1 && s.confirmed == 3, "fragments %llu", (unsigned long long)s.fragments);
	vg_tracker_destroy(t);
}

TEST(tracker_low_scores_keep_a_track)
{
	vg_tracker *t = vg_tracker_create(NULL);
	vg_detection d;
	for (int f = 0; f < 20; f++) {
		/* Partly hidden for a while: the detector's confidence falls under the high threshold. */
		float score = f >= 6 && f < 14 ? 0.3f : 0.9f;
		d = det(0.2f + 0.01f * f, 0.5f, 0.1f, 0.2f, score, 0);
		vg_tracker_update(t, &d, 1, f * 0.1);
		if (f >= 2)
			CHECK_MSG(d.track_id == 1, "frame %d: id %d", f, d.track_id);
	}
	vg_track_info info;
	CHECK(vg_tracker_tracks(t, &info, 1) == 1 && info.hits == 20 && info.best_score == 0.9f && info.score == 0.9f);
	vg_tracker_destroy(t);
}

TEST(tracker_keeps_classes_apart)
{
	vg_tracker *t = vg_tracker_create(NULL);
	for (int f = 0; f < 12; f++) {
		/* Same box, two classes (a person on a bicycle); the order of the list changes every frame. */
		vg_detection d[2] = { det(0.3f + 0.005f * f, 0.5f, 0.1f, 0.3f, 0.9f, 0),
			det(0.3f + 0.005f * f, 0.52f, 0.1f, 0.28f, 0.8f, 1) };
		if (f % 2) {
			vg_detection x = d[0];
			d[0] = d[1];
			d[1] = x;
		}
		vg_tracker_update(t, d, 2, f * 0.1);
		if (f >= 2)
			for (int i = 0; i < 2; i++)
				CHECK(d[i].track_id == (d[i].class_id == 0 ? 1 : 2));
	}
	vg_track_info info[4];
	CHECK(vg_tracker_tracks(t, info, 4) == 2);
	for (int i = 0; i < 2; i++)
		CHECK(info[i].class_id == info[i].id - 1 && !strcmp(info[i].label, info[i].class_id ? "class1" : "class0"));
	vg_tracker_destroy(t);
}

TEST(tracker_predicts_between_analyses)
{
	vg_tracker *t = vg_tracker_create(NULL);
	vg_detection d;
	for (int f = 0; f < 30; f++) {
		d = det(0.1f + 0.02f * f, 0.5f, 0.1f, 0.2f, 0.9f, 0);
		vg_tracker_update(t, &d, 1, f * 0.2); /* 5 analyses a second, 0.1 per second across */
	}
	vg_track_info now, later, info;
	CHECK(vg_tracker_predict(t, 29 * 0.2, &now, 1) == 1);
	CHECK(vg_tracker_predict(t, 29 * 0.2 + 0.1, &later, 1) == 1);
	float dx = 0.5f * (later.x0 + later.x1) - 0.5f * (now.x0 + now.x1);
	CHECK_MSG(fabs(dx - 0.01f) < 0.001f, "moved %g in 0.1 s", dx);
	CHECK(fabs(0.5f * (now.x0 + now.x1) - 0.68f) < 0.005f);
	/* Predicting does not move the tracker. */
	CHECK(vg_tracker_tracks(t, &info, 1) == 1 && info.x0 == now.x0);
	/* Too small an array still gives the count. */
	CHECK(vg_tracker_predict(t, 6, NULL, 0) == 1);
	vg_tracker_destroy(t);
}

TEST(tracker_trail_and_stationary)
{
	vg_tracker *t = vg_tracker_create(NULL);
	vg_detection d[2];
	vg_track_info info[2];
	for (int f = 0; f < 45; f++) {
		/* One walks on; one walks, then stops at frame 20 with a little jitter. */
		float stop_x = f < 20 ? 0.2f + 0.01f * f : 0.39f + 0.002f * (f % 2);
		d[0] = det(0.1f + 0.01f * f, 0.2f, 0.05f, 0.2f, 0.9f, 0);
		d[1] = det(stop_x, 0.7f, 0.05f, 0.2f, 0.9f, 0);
		vg_tracker_update(t, d, 2, f * 0.1);
		CHECK(vg_tracker_tracks(t, info, 2) == (f >= 2 ? 2 : 0));
		if (f < 2)
			continue;
		const vg_track_info *walk = info[0].id == 1 ? &info[0] : &info[1], *stop = walk == info ? &info[1] : &info[0];
		CHECK(walk->n_trail == (f + 1 < VG_TRACK_TRAIL ? f + 1 : VG_TRACK_TRAIL));
		CHECK(walk->trail[walk->n_trail - 1][0] > walk->trail[0][0]); /* oldest first */
		CHECK(!walk->stationary);
		/* The filter's velocity takes some frames to die down after the stop. */
		if (f >= 35)
			CHECK_MSG(stop->stationary, "frame %d", f);
		if (f < 25)
			CHECK(!stop->stationary);
	}
	vg_tracker_destroy(t);
}

TEST(tracker_frame_aspect_for_stationary)
{
	/*
	 * A box 0.2 high creeping 0.0018 across in normalised x per analysis:
	 * its last ten centres span 0.0162, 0.08 of its height on a square
	 * frame, but 0.144 on a 16:9 frame, where a unit of x is 16/9 as long as
	 * a unit of y.
	 */
	for (int wide = 0; wide < 2; wide++) {
		vg_tracker_options o = { .frame_aspect = wide ? 16.0f / 9.0f : 1.0f };
		vg_tracker *t = vg_tracker_create(&o);
		vg_detection d;
		vg_track_info info;
		for (int f = 0; f < 40; f++) {
			d = det(0.5f + 0.0018f * (float)f, 0.5f, 0.1f, 0.2f, 0.9f, 0);
			vg_tracker_update(t, &d, 1, f * 0.1);
		}
		CHECK(vg_tracker_tracks(t, &info, 1) == 1);
		CHECK_MSG(info.stationary == !wide, "aspect %g: stationary %d", o.frame_aspect, info.stationary);
		vg_tracker_destroy(t);
	}
}

TEST(tracker_ignores_whole_frame_and_bad_boxes)
{
	vg_tracker *t = vg_tracker_create(NULL);
	for (int f = 0; f < 5; f++) {
		vg_detection d[3] = { det(0.5f, 0.5f, 1, 1, 0.9f, 0), det(0.5f, 0.5f, 0.1f, 0.1f, NAN, 0),
			det(0.3f, 0.3f, 0, 0.1f, 0.9f, 0) };
		d[0].whole_frame = 1;
		CHECK(vg_tracker_update(t, d, 3, f) == 0);
		CHECK(d[0].track_id == 0 && d[1].track_id == 0 && d[2].track_id == 0);
	}
	vg_tracker_stats s;
	vg_tracker_get_stats(t, &s);
	CHECK(s.births == 0);
	vg_tracker_options bad = { .low_score = 0.6f, .high_score = 0.5f };
	CHECK(vg_tracker_create(&bad) == NULL);
	vg_tracker_destroy(t);
}

TEST_SUITE(track,
	TEST_ENTRY(track_kalman_converges_on_constant_velocity),
	TEST_ENTRY(track_kalman_predict_without_update),
	TEST_ENTRY(track_assign_matches_brute_force),
	TEST_ENTRY(track_assign_is_not_greedy_and_respects_threshold),
	TEST_ENTRY(track_assign_empty_and_rectangular),
	TEST_ENTRY(track_assign_many_groups_shuffled),
	TEST_ENTRY(tracker_ids_at_confirmation),
	TEST_ENTRY(tracker_ends_after_misses),
	TEST_ENTRY(tracker_leaving_the_frame_ends_at_once),
	TEST_ENTRY(tracker_ended_queue_is_bounded),
	TEST_ENTRY(tracker_counts_fragments),
	TEST_ENTRY(tracker_low_scores_keep_a_track),
	TEST_ENTRY(tracker_keeps_classes_apart),
	TEST_ENTRY(tracker_predicts_between_analyses),
	TEST_ENTRY(tracker_trail_and_stationary),
	TEST_ENTRY(tracker_frame_aspect_for_stationary),
	TEST_ENTRY(tracker_ignores_whole_frame_and_bad_boxes));
