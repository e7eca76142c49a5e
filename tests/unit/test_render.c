#include <string.h>

#include "core/frame.h"
#include "render/draw.h"
#include "render/font.h"
#include "test.h"

static vg_frame *grey_frame(vg_frame_pool *pool)
{
	vg_frame *f = vg_frame_pool_get(pool);
	for (int y = 0; y < f->height; y++)
		memset(f->plane[0] + y * f->stride[0], 128, (size_t)f->width);
	for (int y = 0; y < f->height / 2; y++) {
		memset(f->plane[1] + y * f->stride[1], 128, (size_t)f->width / 2);
		memset(f->plane[2] + y * f->stride[2], 128, (size_t)f->width / 2);
	}
	return f;
}

static int luma(const vg_frame *f, int x, int y)
{
	return f->plane[0][y * f->stride[0] + x];
}

TEST(colours_convert_to_full_range_ycbcr)
{
	vg_color w = vg_color_rgb(255, 255, 255), k = vg_color_rgb(0, 0, 0), r = vg_color_rgb(255, 0, 0);
	CHECK(w.y == 255 && w.u == 128 && w.v == 128);
	CHECK(k.y == 0 && k.u == 128 && k.v == 128);
	CHECK(r.y == 76 && r.v == 255);
	CHECK(vg_color_text_on(w).y == 0 && vg_color_text_on(k).y == 255);
	/* Neighbouring classes get different colours. */
	vg_color a = vg_color_for_class(0), b = vg_color_for_class(1);
	CHECK(a.y != b.y || a.u != b.u || a.v != b.v);
}

TEST(rect_outline_and_clipping)
{
	vg_frame_pool *pool = vg_frame_pool_create(64, 48);
	vg_frame *f = grey_frame(pool);
	vg_color white = vg_color_rgb(255, 255, 255);
	vg_draw_rect(f, 10, 10, 30, 20, 2, white);
	CHECK(luma(f, 10, 10) == 255 && luma(f, 29, 19) == 255 && luma(f, 11, 15) == 255);
	CHECK(luma(f, 20, 15) == 128); /* inside stays */
	CHECK(luma(f, 9, 9) == 128);
	/* Far outside and partly outside: clipped, no out-of-bounds write (ASan). */
	vg_draw_rect(f, -100, -100, 1000, 1000, 3, white);
	vg_draw_fill(f, 60, 44, 70, 50, white);
	CHECK(luma(f, 63, 47) == 255);
	vg_draw_fill(f, 5, 5, 5, 40, white); /* empty */
	vg_frame_unref(f);
	vg_frame_pool_release(pool);
}

TEST(text_draws_glyphs)
{
	vg_frame_pool *pool = vg_frame_pool_create(64, 32);
	vg_frame *f = grey_frame(pool);
	vg_color black = vg_color_rgb(0, 0, 0);
	int w = vg_draw_text(f, 0, 0, "H|", 1, black);
	CHECK(w == 2 * VG_FONT_W && vg_text_width("H|", 2) == 4 * VG_FONT_W);
	int dark = 0;
	for (int y = 0; y < VG_FONT_H; y++)
		for (int x = 0; x < 2 * VG_FONT_W; x++)
			dark += luma(f, x, y) == 0;
	CHECK_MSG(dark > 20, "only %d pixels drawn", dark);
	CHECK(luma(f, 40, 20) == 128);
	vg_draw_text(f, 60, 30, "clipped \x01\xff", 3, black); /* off the edge, odd bytes: no crash */
	vg_frame_unref(f);
	vg_frame_pool_release(pool);
}

TEST(detections_get_box_and_label)
{
	vg_frame_pool *pool = vg_frame_pool_create(320, 240);
	vg_frame *f = grey_frame(pool);
	vg_detection d[2] = {
		{ .x0 = 0.25f, .y0 = 0.5f, .x1 = 0.75f, .y1 = 0.9f, .class_id = 0, .score = 0.87f, .label = "person" },
		{ .x1 = 0.2f, .y1 = 0.2f, .class_id = 5, .score = 0.5f }, /* at the top edge: label goes inside */
	};
	vg_draw_detections(f, d, 2);
	vg_color c0 = vg_color_for_class(0);
	CHECK(luma(f, 80, 150) == c0.y);   /* left edge of the first box */
	CHECK(luma(f, 160, 180) == 128);   /* its inside is untouched */
	/* The label background sits just above the box. */
	CHECK(luma(f, 81, 120 - 3) == c0.y || luma(f, 81, 120 - 3) == vg_color_text_on(c0).y);
	vg_draw_status(f, "25.0 fps");
	CHECK(luma(f, 1, 1) == vg_color_rgb(16, 16, 16).y);
	vg_frame_unref(f);
	vg_frame_pool_release(pool);
}

TEST(classifier_labels_listed_not_boxed)
{
	vg_frame_pool *pool = vg_frame_pool_create(320, 240);
	vg_frame *f = grey_frame(pool);
	vg_detection d = { .x1 = 1, .y1 = 1, .class_id = 3, .score = 0.9f, .whole_frame = 1, .label = "tabby" };
	vg_draw_detections(f, &d, 1);
	/* No frame-sized box: the edges stay grey; the label sits at the top left below the status line. */
	CHECK(luma(f, 319, 120) == 128 && luma(f, 160, 239) == 128);
	int touched = 0;
	for (int y = 20; y < 60; y++)
		touched += luma(f, 2, y) != 128;
	CHECK(touched > 0);
	vg_frame_unref(f);
	vg_frame_pool_release(pool);
}

TEST_SUITE(render, TEST_ENTRY(colours_convert_to_full_range_ycbcr), TEST_ENTRY(rect_outline_and_clipping),
	   TEST_ENTRY(text_draws_glyphs), TEST_ENTRY(detections_get_box_and_label),
	   TEST_ENTRY(classifier_labels_listed_not_boxed));
