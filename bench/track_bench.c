/*
 * The tracker's cost per analysis with 10, 100 and 1000 objects moving on a
 * 16:9 frame at 10 analyses a second: boxes sized so that the objects cover
 * about a fifth of the frame whatever their number, random velocities,
 * bouncing off the edges (so paths cross), detections with a little noise,
 * 5% of them missed. Times vg_tracker_update alone (the detections are made
 * beforehand) after a warm-up in which every track is confirmed, and prints
 * the median and the 90th percentile in microseconds, and RESULT lines for
 * bench/run. Usage: bench-track [FRAMES]   (default 300)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/clock.h"
#include "track/tracker.h"

#define WARMUP 30

typedef struct mover {
	double x, y, vx, vy, w, h;
} mover;

static uint64_t state = 42;

static double unit(void)
{
	state = state * 6364136223846793005ull + 1442695040888963407ull;
	return (double)(state >> 11) * (1.0 / 9007199254740992.0);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static void run(int n, int frames)
{
	const double aspect = 16.0 / 9.0;
	mover *m = malloc((size_t)n * sizeof *m);
	vg_detection *d = malloc((size_t)n * sizeof *d);
	int64_t *t_us = malloc((size_t)frames * sizeof *t_us);
	if (!m || !d || !t_us)
		exit(1);
	/* Heights such that n boxes of aspect 0.4 cover about 20% of the frame. */
	double h = sqrt(0.2 * aspect / (n * 0.4));
	for (int i = 0; i < n; i++) {
		m[i].h = h * (0.7 + 0.6 * unit());
		m[i].w = m[i].h * 0.4 / aspect;
		m[i].x = unit();
		m[i].y = unit();
		/* Up to a tenth of a box height per analysis, a walker's pace at 10 analyses a second. */
		m[i].vx = (unit() - 0.5) * 0.2 * m[i].h / aspect;
		m[i].vy = (unit() - 0.5) * 0.2 * m[i].h;
	}
	vg_tracker_options o = { .frame_aspect = (float)aspect };
	vg_tracker *t = vg_tracker_create(&o);
	if (!t)
		exit(1);
	long ids = 0, dets = 0;
	for (int f = 0; f < WARMUP + frames; f++) {
		int k = 0;
		for (int i = 0; i < n; i++) {
			mover *p = &m[i];
			p->x += p->vx;
			p->y += p->vy;
			if (p->x < 0 || p->x > 1)
				p->vx = -p->vx;
			if (p->y < 0 || p->y > 1)
				p->vy = -p->vy;
			if (unit() < 0.05)
				continue;
			double nx = (unit() - 0.5) * 0.05 * p->h / aspect, ny = (unit() - 0.5) * 0.05 * p->h;
			d[k++] = (vg_detection){ .x0 = (float)(p->x + nx - p->w / 2), .y0 = (float)(p->y + ny - p->h / 2),
				.x1 = (float)(p->x + nx + p->w / 2), .y1 = (float)(p->y + ny + p->h / 2),
				.score = (float)(0.6 + 0.35 * unit()), .label = "person" };
		}
		int64_t t0 = vg_mono_us();
		if (vg_tracker_update(t, d, k, f * 0.1) < 0)
			exit(1);
		int64_t t1 = vg_mono_us();
		if (f >= WARMUP) {
			t_us[f - WARMUP] = t1 - t0;
			dets += k;
			for (int i = 0; i < k; i++)
				ids += d[i].track_id > 0;
		}
	}
	vg_tracker_stats s;
	vg_tracker_get_stats(t, &s);
	qsort(t_us, (size_t)frames, sizeof *t_us, cmp_i64);
	double p50 = (double)t_us[frames / 2], p90 = (double)t_us[frames * 9 / 10];
	printf("%5d objects: %9.1f us/frame median, %9.1f p90; %.1f%% of detections with an id, %d live tracks, "
	       "%llu confirmed\n",
		n, p50, p90, 100.0 * (double)ids / (double)(dets ? dets : 1), s.live,
		(unsigned long long)s.confirmed);
	printf("RESULT\ttrack-%d-objects\t%.1f\tus/frame\t< 1000\n", n, p50);
	vg_tracker_destroy(t);
	free(m);
	free(d);
	free(t_us);
}

int main(int argc, char **argv)
{
	int frames = argc > 1 ? atoi(argv[1]) : 300;
	if (frames < 10)
		frames = 10;
	static const int counts[] = { 10, 100, 1000 };
	for (size_t i = 0; i < sizeof counts / sizeof *counts; i++)
		run(counts[i], frames);
	return 0;
}
