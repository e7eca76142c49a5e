/*
 * Cost of the segmentation overlay and of --privacy per frame, at 720p and
 * 1080p: a 398x224 mask (PP-HumanSeg's size) whose class 1 is an upright
 * ellipse covering the given share of the frame, scaled up to the frame by
 * the lookups of render/mask.h. Each operation runs on a fresh copy of the
 * frame (the copy is not timed); prints the median and 90th percentile in
 * milliseconds, and RESULT lines for bench/run.
 * Usage: bench-privacy [ROUNDS] [AREA]   (defaults: 200 rounds, area 0.25)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/frame.h"
#include "render/mask.h"

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static void fill_noise(vg_frame *f)
{
	uint32_t s = 12345;
	for (int p = 0; p < 3; p++) {
		int w = p ? (f->width + 1) / 2 : f->width, h = p ? (f->height + 1) / 2 : f->height;
		for (int y = 0; y < h; y++)
			for (int x = 0; x < w; x++) {
				s = s * 1103515245u + 12345u;
				f->plane[p][(size_t)y * (size_t)f->stride[p] + (size_t)x] = (uint8_t)(s >> 24);
			}
	}
}

/* Class 1 inside an ellipse of half-axes a x 2a (mask pixels of a frame-shaped mask), centred. */
static void ellipse_mask(vg_seg_mask *m, double area)
{
	/* Ellipse area pi * a * 2a over w * h, in the frame's normalised units: a = sqrt(area / (2 pi)). */
	double a = sqrt(area / (2 * M_PI));
	size_t n = 0;
	memset(m->count, 0, sizeof m->count);
	for (int y = 0; y < m->h; y++)
		for (int x = 0; x < m->w; x++) {
			double u = ((x + 0.5) / m->w - 0.5) / a, v = ((y + 0.5) / m->h - 0.5) / (2 * a);
			uint8_t c = u * u + v * v <= 1 ? 1 : 0;
			m->cls[n++] = c;
			m->count[c]++;
		}
}

typedef enum { OP_OVERLAY, OP_FILL, OP_BLUR } op_kind;

static void run(int width, int height, int rounds, double area)
{
	vg_frame_pool *pool = vg_frame_pool_create(width, height);
	vg_frame *src = vg_frame_pool_get(pool);
	fill_noise(src);
	vg_seg_mask m;
	if (vg_seg_mask_init(&m, 398 * 224) < 0)
		exit(1);
	m.w = 398;
	m.h = 224;
	m.classes = 2;
	ellipse_mask(&m, area);
	uint8_t set[VG_SEG_MAX_CLASSES + 1] = { 0 };
	set[1] = 1;
	vg_mask_map mm = { 0 };
	vg_privacy_options fill = { .mode = VG_PRIVACY_FILL }, blur = { .mode = VG_PRIVACY_BLUR };
	int64_t *t = malloc((size_t)rounds * sizeof *t);
	static const char *const names[] = { "overlay", "fill", "blur" };
	for (int op = OP_OVERLAY; op <= OP_BLUR; op++) {
		for (int i = 0; i < rounds; i++) {
			vg_frame *f = vg_frame_copy(src);
			int64_t t0 = vg_mono_us();
			if (op == OP_OVERLAY)
				vg_draw_mask(f, &m, &mm, NULL, VG_MASK_ALPHA);
			else
				vg_privacy_mask(f, &m, &mm, set, op == OP_FILL ? &fill : &blur);
			t[i] = vg_mono_us() - t0;
			vg_frame_unref(f);
		}
		qsort(t, (size_t)rounds, sizeof *t, cmp_i64);
		double p50 = (double)t[rounds / 2] / 1e3, p90 = (double)t[rounds * 9 / 10] / 1e3;
		printf("%dx%d %-8s area %.2f: p50 %.2f ms, p90 %.2f ms\n", width, height, names[op],
		       (double)m.count[1] / (398.0 * 224.0), p50, p90);
		printf("RESULT\tprivacy-%s-%dp\t%.2f\tms/frame\t<= 5\n", names[op], height, p50);
	}
	free(t);
	vg_mask_map_free(&mm);
	vg_seg_mask_free(&m);
	vg_frame_unref(src);
	vg_frame_pool_release(pool);
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 200;
	double area = argc > 2 ? atof(argv[2]) : 0.25;
	if (rounds < 10 || !(area > 0 && area < 1)) {
		fprintf(stderr, "usage: bench-privacy [ROUNDS >= 10] [AREA in (0, 1)]\n");
		return 2;
	}
	run(1280, 720, rounds, area);
	run(1920, 1080, rounds, area);
	return 0;
}
