#include <math.h>
#include <string.h>

#include "core/frame.h"
#include "detect/keypoints.h"
#include "render/draw.h"
#include "render/font.h"
#include "grey_frame.h"
#include "test.h"


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
	vg_frame *f = vg_test_grey_frame(pool);
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
	vg_frame *f = vg_test_grey_frame(pool);
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
	vg_frame *f = vg_test_grey_frame(pool);
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
	vg_frame *f = vg_test_grey_frame(pool);
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

static int same_colour(const vg_frame *f, int x, int y, vg_color c)
{
	return luma(f, x, y) == c.y && f->plane[1][(y / 2) * f->stride[1] + x / 2] == c.u &&
	       f->plane[2][(y / 2) * f->stride[2] + x / 2] == c.v;
}

static int is_grey(const vg_frame *f, int x, int y)
{
	return same_colour(f, x, y, (vg_color){ 128, 128, 128 });
}

TEST(keypoints_dots_and_skeleton)
{
	vg_frame_pool *pool = vg_frame_pool_create(320, 240);
	vg_frame *f = vg_test_grey_frame(pool);
	vg_detection d = { .x0 = 0.1f, .y0 = 0.2f, .x1 = 0.9f, .y1 = 0.95f, .score = 0.6f, .label = "person" };
	d.layout = &vg_keypoints_coco17;
	d.n_keypoints = 17;
	/* Only the shoulders (joined by an edge) score above the threshold; the left hip scores just below it. */
	for (int k = 0; k < 17; k++)
		d.keypoints[k] = (vg_keypoint){ 0.5f, 0.7f, 0 }; /* (160, 168), not found */
	d.keypoints[5] = (vg_keypoint){ 0.3f, 0.4f, 0.9f };   /* left_shoulder: (96, 96) */
	d.keypoints[6] = (vg_keypoint){ 0.7f, 0.4f, 0.8f };   /* right_shoulder: (224, 96) */
	d.keypoints[11] = (vg_keypoint){ 0.3f, 0.8f, 0.19f }; /* left_hip: (96, 192) */
	vg_draw_detections(f, &d, 1);
	vg_color white = vg_color_rgb(255, 255, 255), black = vg_color_rgb(0, 0, 0), line = vg_color_for_class(0);
	/* A dot's centre is white, ringed in black (radius 2 and a 1-pixel ring at this size). */
	CHECK(same_colour(f, 96, 96, white) && same_colour(f, 224, 96, white));
	CHECK(luma(f, 96, 93) == black.y && luma(f, 224, 99) == black.y);
	/* The shoulders' edge: its midpoint, and points along it, are in the class colour. */
	CHECK_MSG(same_colour(f, 160, 96, line), "midpoint %d", luma(f, 160, 96));
	CHECK(same_colour(f, 130, 96, line) && same_colour(f, 190, 95, line));
	CHECK(is_grey(f, 160, 92) && is_grey(f, 160, 100)); /* about 2 pixels wide, not more */
	/* The low-scoring hip: no dot, and no edge from the shoulder to it. */
	for (int y = 186; y <= 198; y++)
		for (int x = 90; x <= 102; x++)
			CHECK_MSG(is_grey(f, x, y), "pixel (%d, %d) drawn at a keypoint below the threshold", x, y);
	CHECK(is_grey(f, 96, 144) && is_grey(f, 96, 120));
	CHECK(is_grey(f, 160, 168) && is_grey(f, 163, 168));
	vg_frame_unref(f);
	vg_frame_pool_release(pool);
}

TEST(keypoints_without_layout_are_dots)
{
	/* Bigger frames, bigger dots: radius 2 ringed to 3 at 640x480, radius 3 ringed to 4 at 1280x720. */
	static const int sizes[2][4] = { { 640, 480, 2, 3 }, { 1280, 720, 3, 4 } };
	for (int i = 0; i < 2; i++) {
		int w = sizes[i][0], h = sizes[i][1], r = sizes[i][2], reach = sizes[i][3];
		vg_frame_pool *pool = vg_frame_pool_create(w, h);
		vg_frame *f = vg_test_grey_frame(pool);
		vg_detection d = { .n_keypoints = 2, .keypoints = { { 0.25f, 0.5f, 1 }, { 0.75f, 0.5f, 1 } } };
		vg_draw_keypoints(f, &d, vg_color_for_class(0));
		int x = w / 4, y = h / 2;
		CHECK(same_colour(f, x, y, vg_color_rgb(255, 255, 255)));
		CHECK(luma(f, x + r, y) == 255 && luma(f, x + reach, y) == 0 && luma(f, x + reach + 1, y) == 128);
		CHECK(is_grey(f, w / 2, y)); /* no layout, no line */
		vg_frame_unref(f);
		vg_frame_pool_release(pool);
	}
}

TEST(lines_are_clipped)
{
	vg_frame_pool *pool = vg_frame_pool_create(64, 48);
	vg_frame *f = vg_test_grey_frame(pool);
	vg_color c = vg_color_rgb(255, 0, 0);
	vg_draw_line(f, 2, 2, 61, 45, 2, c); /* a diagonal */
	CHECK(same_colour(f, 2, 2, c) && luma(f, 32, 24) == c.y && luma(f, 61, 45) == c.y);
	CHECK(luma(f, 50, 10) == 128);
	/* End points far away or not numbers: clipped or skipped, no out-of-bounds write (ASan), no long walk. */
	vg_draw_line(f, -1e12, 10, 1e12, 10, 3, c);
	CHECK(luma(f, 0, 10) == c.y && luma(f, 63, 10) == c.y);
	vg_draw_line(f, -1e12, -1e12, -5e11, -1e12, 3, c);
	vg_draw_line(f, NAN, 0, 10, 10, 2, c);
	vg_draw_dot(f, 1e12, 5, 3, 1, c, c);
	vg_draw_dot(f, 63, 47, 3, 1, c, c);
	CHECK(luma(f, 63, 47) == c.y);
	vg_detection d = { .n_keypoints = 17, .layout = &vg_keypoints_coco17 };
	for (int k = 0; k < 17; k++)
		d.keypoints[k] = (vg_keypoint){ k % 2 ? INFINITY : -1e30f, NAN, 1 };
	vg_draw_keypoints(f, &d, c);
	vg_frame_unref(f);
	vg_frame_pool_release(pool);
}

TEST_SUITE(render, TEST_ENTRY(colours_convert_to_full_range_ycbcr), TEST_ENTRY(rect_outline_and_clipping),
	   TEST_ENTRY(text_draws_glyphs), TEST_ENTRY(detections_get_box_and_label),
	   TEST_ENTRY(classifier_labels_listed_not_boxed), TEST_ENTRY(keypoints_dots_and_skeleton),
	   TEST_ENTRY(keypoints_without_layout_are_dots), TEST_ENTRY(lines_are_clipped));
