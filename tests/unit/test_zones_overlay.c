/* The zones and lines overlay (render/overlay.c); part of the zones tests (unit-tests zones_). */
#include <math.h>
#include <string.h>

#include "core/frame.h"
#include "render/overlay.h"
#include "test.h"
#include "track/lines.h"
#include "track/zones.h"
#include "grey_frame.h"
#include "zones_test.h"


TEST(zones_overlay_fills_polygon_translucent)
{
	vg_frame_pool *pool = vg_frame_pool_create(64, 48);
	vg_frame *f = vg_test_grey_frame(pool);
	vg_color red = vg_color_rgb(255, 0, 0);
	/* A triangle: pixels (x, y) with centres inside x + 0.5 >= 16, y + 0.5 >= 12, and under the diagonal. */
	const float tri[] = { 0.25f, 0.25f, 0.75f, 0.25f, 0.25f, 0.75f };
	vg_polygon p = poly(3, tri);
	vg_overlay_fill_polygon(f, &p, red, VG_OVERLAY_ALPHA);
	int want_y = (128 * (256 - 77) + red.y * 77 + 128) >> 8;
	int want_v = (128 * (256 - 77) + red.v * 77 + 128) >> 8;
	int changed = 0;
	for (int y = 0; y < 48; y++)
		for (int x = 0; x < 64; x++) {
			double cx = (x + 0.5) / 64, cy = (y + 0.5) / 48;
			int in = vg_polygon_contains(&p, (float)cx, (float)cy);
			int v = f->plane[0][y * f->stride[0] + x];
			/* Pixels right on the outline may go either way; all others must be exact. */
			int edge = fabs(cx - 0.25) < 0.02 || fabs(cy - 0.25) < 0.03 || fabs(cx + cy - 1.0) < 0.03;
			if (edge)
				continue;
			CHECK_MSG(v == (in ? want_y : 128), "pixel %d,%d is %d (inside %d)", x, y, v, in);
			changed += in;
		}
	CHECK(changed > 200);
	/* Towards red, not red: 30%. */
	CHECK(want_y > red.y && want_y < 128);
	CHECK(f->plane[2][10 * f->stride[2] + 10] == want_v);  /* chroma of pixels (20..21, 20..21), inside */
	CHECK(f->plane[2][2 * f->stride[2] + 2] == 128);       /* outside */
	/* Out of the frame and degenerate polygons: no writes out of bounds (ASan), nothing drawn. */
	const float wild[] = { -5, -5, 7, -5, 7, 9 };
	vg_polygon w = poly(3, wild);
	vg_overlay_fill_polygon(f, &w, red, 256);
	CHECK(f->plane[0][0] == red.y && f->plane[0][47 * f->stride[0] + 63] == red.y);
	vg_polygon two = poly(2, tri);
	vg_overlay_fill_polygon(f, &two, red, 256);
	vg_frame_unref(f);
	vg_frame_pool_release(pool);
}

TEST(zones_overlay_zone_and_line_drawn)
{
	vg_frame_pool *pool = vg_frame_pool_create(320, 240);
	vg_frame *f = vg_test_grey_frame(pool);
	vg_zone_def d;
	vg_line_def l;
	char err[256];
	CHECK(vg_zone_parse("yard:0.5,0.5,0.95,0.5,0.95,0.95,0.5,0.95", &d, err, sizeof err) == 0);
	CHECK(vg_line_parse("door:0.1,0.3,0.4,0.3", &l, err, sizeof err) == 0);
	d.inertia = 1;
	vg_zones *z = vg_zones_create(&d, 1, &l, 1, 0, 0, NULL, NULL);
	vg_zone_obj o = { 1, 0, "person", 0.65f, 0.6f, 0.75f, 0.8f };
	vg_zones_update(z, &o, 1, T0);
	vg_overlay_draw(f, z);
	vg_color c = vg_overlay_zone_color(0);
	int want = (128 * (256 - 77) + c.y * 77 + 128) >> 8;
	CHECK(f->plane[0][200 * f->stride[0] + 250] == want);       /* inside the zone, clear of its label */
	CHECK(f->plane[0][200 * f->stride[0] + 100] == 128);        /* outside everything */
	/* The line is drawn, and the arrow goes down from its middle (the "in" side). */
	vg_color yellow = vg_color_rgb(255, 214, 0);
	CHECK(f->plane[0][72 * f->stride[0] + 50] == yellow.y);
	CHECK(f->plane[0][80 * f->stride[0] + 80] == yellow.y);
	CHECK(f->plane[0][86 * f->stride[0] + 80] == yellow.y);
	CHECK(f->plane[0][68 * f->stride[0] + 80] == 128 && f->plane[0][69 * f->stride[0] + 80] == 128);
	/* Its label sits above the line: some pixels there are no longer grey. */
	int touched = 0;
	for (int y = 40; y < 70; y++)
		for (int x = 0; x < 160; x++)
			touched += f->plane[0][y * f->stride[0] + x] != 128;
	CHECK(touched > 100);
	/* Lines off the frame or of no length draw nothing and do not crash. */
	vg_line_def off = l;
	off.ax = off.bx = 0.5f;
	off.ay = off.by = 0.5f;
	uint64_t cnt[2] = { 1, 2 };
	vg_overlay_line(f, &off, cnt, yellow);
	off.ax = -40;
	off.bx = 40;
	vg_overlay_line(f, &off, cnt, yellow);
	vg_overlay_draw(f, NULL);
	vg_zones_destroy(z);
	vg_frame_unref(f);
	vg_frame_pool_release(pool);
}

TEST_SUITE(zones_overlay,
	TEST_ENTRY(zones_overlay_fills_polygon_translucent),
	TEST_ENTRY(zones_overlay_zone_and_line_drawn));
