/*
 * The second stage's pieces: which detections are classified (largest
 * first, class filter, maximum), the crop of a box (margin, clamping, even
 * left and top edges), grey model inputs from the frame's luma, attributes
 * in the event JSON and on the frame. (test_classify.py runs the whole
 * stage on real models through the binary.)
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/frame.h"
#include "detect/classify.h"
#include "detect/preprocess.h"
#include "event.h"
#include "render/draw.h"
#include "render/font.h"
#include "test.h"

static vg_detection box(float x0, float y0, float x1, float y1, int class_id)
{
	vg_detection d;
	memset(&d, 0, sizeof d);
	d.x0 = x0;
	d.y0 = y0;
	d.x1 = x1;
	d.y1 = y1;
	d.class_id = class_id;
	d.score = 0.9f;
	return d;
}

TEST(crop_rect_margin_clamp_even)
{
	vg_crop_rect r;
	/* A 100x50 frame: box 0.2..0.6 x 0.2..0.8 is pixels 20..60 x 10..40. */
	vg_detection d = box(0.2f, 0.2f, 0.6f, 0.8f, 0);
	CHECK(vg_crop_rect_for(&d, 100, 50, 0, &r) == 0);
	CHECK_MSG(r.x == 20 && r.y == 10 && r.w == 40 && r.h == 30, "%d %d %d %d", r.x, r.y, r.w, r.h);
	/* A margin of 0.25: 10 pixels more on each side across, 7.5 down (rounded to the nearest edge). */
	CHECK(vg_crop_rect_for(&d, 100, 50, 0.25f, &r) == 0);
	CHECK_MSG(r.x == 10 && r.y == 2 && r.w == 60 && r.h == 46, "%d %d %d %d", r.x, r.y, r.w, r.h);
	/* Odd left and top edges move down to even pixels: 0.21 * 100 = 21 -> 20; 0.3 * 50 = 15 -> 14. */
	d = box(0.21f, 0.3f, 0.5f, 0.5f, 0);
	CHECK(vg_crop_rect_for(&d, 100, 50, 0, &r) == 0);
	CHECK_MSG(r.x == 20 && r.y == 14 && r.w == 30 && r.h == 11, "%d %d %d %d", r.x, r.y, r.w, r.h);
	/* Clamped to the frame. */
	d = box(0.8f, 0.8f, 1.0f, 1.0f, 0);
	CHECK(vg_crop_rect_for(&d, 100, 50, 1.0f, &r) == 0);
	CHECK(r.x == 60 && r.y == 30 && r.x + r.w == 100 && r.y + r.h == 50);
	/* Under 2x2 pixels, or empty: nothing to crop. */
	d = box(0.5f, 0.5f, 0.505f, 0.6f, 0);
	CHECK(vg_crop_rect_for(&d, 100, 50, 0, &r) < 0);
	d = box(0.5f, 0.5f, 0.4f, 0.6f, 0);
	CHECK(vg_crop_rect_for(&d, 100, 50, 0, &r) < 0);
	d = box(NAN, 0.5f, 0.6f, 0.6f, 0);
	CHECK(vg_crop_rect_for(&d, 100, 50, 0, &r) < 0);
}

TEST(select_largest_first_with_filter_and_max)
{
	vg_detection d[6] = {
		box(0.0f, 0.0f, 0.1f, 0.1f, 0), /* area 1 (units of 0.01) */
		box(0.0f, 0.0f, 0.3f, 0.3f, 1), /* 9 */
		box(0.0f, 0.0f, 0.2f, 0.2f, 0), /* 4 */
		box(0.5f, 0.5f, 0.8f, 0.8f, 0), /* 9, after detection 1 */
		box(0.0f, 0.0f, 0.5f, 0.5f, 2), /* 25 */
		box(0.0f, 0.0f, 1.0f, 1.0f, 0), /* whole frame: never */
	};
	d[5].whole_frame = 1;
	int order[8];
	CHECK(vg_classify_select(d, 6, 100, 100, NULL, 0, 8, order) == 5);
	CHECK(order[0] == 4 && order[1] == 1 && order[2] == 3 && order[3] == 2 && order[4] == 0);
	CHECK(vg_classify_select(d, 6, 100, 100, NULL, 0, 2, order) == 2);
	CHECK(order[0] == 4 && order[1] == 1);
	int keep[] = { 0 };
	CHECK(vg_classify_select(d, 6, 100, 100, keep, 1, 8, order) == 3);
	CHECK(order[0] == 3 && order[1] == 2 && order[2] == 0);
	int keep2[] = { 2, 1 };
	CHECK(vg_classify_select(d, 6, 100, 100, keep2, 2, 1, order) == 1 && order[0] == 4);
	/* A wide box and a tall one of equal area: detection order. */
	vg_detection e[2] = { box(0, 0, 0.1f, 0.4f, 0), box(0, 0, 0.4f, 0.1f, 0) };
	CHECK(vg_classify_select(e, 2, 400, 100, NULL, 0, 8, order) == 2 && order[0] == 0);
	CHECK(vg_classify_select(e, 0, 400, 100, NULL, 0, 8, order) == 0);
}

TEST(preprocess_grey_input_takes_luma)
{
	vg_frame_pool *pool = vg_frame_pool_create(16, 16);
	vg_frame *f = vg_frame_pool_get(pool);
	/* Luma rising across, chroma far from neutral: grey must ignore it. */
	for (int y = 0; y < 16; y++)
		for (int x = 0; x < 16; x++)
			f->plane[0][y * f->stride[0] + x] = (uint8_t)(x * 16 + y);
	for (int y = 0; y < 8; y++) {
		memset(f->plane[1] + y * f->stride[1], 20, 8);
		memset(f->plane[2] + y * f->stride[2], 230, 8);
	}
	float grey[16 * 16];
	nn_tensor t;
	memset(&t, 0, sizeof t);
	t.dtype = NN_F32;
	t.rank = 4;
	t.shape[0] = 1;
	t.shape[1] = 16;
	t.shape[2] = 16;
	t.shape[3] = 1;
	t.data = grey;
	char err[200];
	for (int s = 0; s < 2; s++) {
		vg_preprocess_config cfg = { .has_norm = 1, .mean = { 127.5f, 0, 0 }, .std = { 127.5f, 1, 1 },
					     .sampling = s ? VG_SAMPLING_WARP : VG_SAMPLING_SWSCALE };
		vg_preprocess *pp;
		CHECK_MSG(vg_preprocess_create(&pp, &t, &cfg, err, sizeof err) == 0, "%s", err);
		CHECK(vg_preprocess_run(pp, f, &t) == 0);
		/* The same size: each value is its pixel's luma, scaled to [-1, 1]. */
		for (int y = 0; y < 16; y++)
			for (int x = 0; x < 16; x++) {
				float want = ((float)(x * 16 + y) - 127.5f) / 127.5f;
				CHECK_MSG(fabsf(grey[y * 16 + x] - want) <= 1.5f / 127.5f, "%s (%d,%d): %f, want %f",
					  s ? "warp" : "swscale", x, y, (double)grey[y * 16 + x], (double)want);
			}
		vg_preprocess_destroy(pp);
	}
	/* Two channels is no image. */
	t.shape[3] = 2;
	vg_preprocess_config cfg = { 0 };
	vg_preprocess *pp;
	CHECK(vg_preprocess_create(&pp, &t, &cfg, err, sizeof err) < 0 && strstr(err, "[1,H,W,1]"));
	vg_frame_unref(f);
	vg_frame_pool_release(pool);
}

TEST(preprocess_linear_sampling_is_cv2_resize)
{
	/* Luma x * 8 + y on 16x16 (a plane, so bilinear interpolation of it is exact). */
	vg_frame_pool *pool = vg_frame_pool_create(16, 16);
	vg_frame *f = vg_frame_pool_get(pool);
	for (int y = 0; y < 16; y++)
		for (int x = 0; x < 16; x++)
			f->plane[0][y * f->stride[0] + x] = (uint8_t)(x * 8 + y);
	for (int y = 0; y < 8; y++) {
		memset(f->plane[1] + y * f->stride[1], 128, 8);
		memset(f->plane[2] + y * f->stride[2], 128, 8);
	}
	char err[200];
	for (int size = 8; size <= 32; size *= 4) {
		float out[32 * 32];
		nn_tensor t;
		memset(&t, 0, sizeof t);
		t.dtype = NN_F32;
		t.rank = 4;
		t.shape[0] = 1;
		t.shape[1] = t.shape[2] = size;
		t.shape[3] = 1;
		t.data = out;
		vg_preprocess_config cfg = { .has_norm = 1, .mean = { 0, 0, 0 }, .std = { 1, 1, 1 },
					     .sampling = VG_SAMPLING_LINEAR };
		vg_preprocess *pp;
		CHECK_MSG(vg_preprocess_create(&pp, &t, &cfg, err, sizeof err) == 0, "%s", err);
		CHECK(vg_preprocess_run(pp, f, &t) == 0);
		/* cv2.resize INTER_LINEAR: pixel i takes (i + 0.5) * 16 / size - 0.5, clamped to the frame. */
		for (int y = 0; y < size; y++)
			for (int x = 0; x < size; x++) {
				float sx = (x + 0.5f) * 16 / (float)size - 0.5f, sy = (y + 0.5f) * 16 / (float)size - 0.5f;
				sx = sx < 0 ? 0 : sx > 15 ? 15 : sx;
				sy = sy < 0 ? 0 : sy > 15 ? 15 : sy;
				float want = sx * 8 + sy;
				CHECK_MSG(fabsf(out[y * size + x] - want) <= 0.5f, "%dx%d (%d,%d): %f, want %f", size, size, x,
					  y, (double)out[y * size + x], (double)want);
			}
		vg_preprocess_destroy(pp);
	}
	vg_frame_unref(f);
	vg_frame_pool_release(pool);
}

TEST(event_json_attributes)
{
	vg_detection d[2] = { box(0.1f, 0.1f, 0.4f, 0.5f, 0), box(0.5f, 0.5f, 0.9f, 0.9f, 0) };
	snprintf(d[0].label, sizeof d[0].label, "face");
	d[0].n_attributes = 2;
	snprintf(d[0].attributes[0].model, sizeof d[0].attributes[0].model, "fer2013_mini_XCEPTION.102-0.66.hdf5");
	snprintf(d[0].attributes[0].label, sizeof d[0].attributes[0].label, "happy");
	d[0].attributes[0].class_id = 3;
	d[0].attributes[0].score = 0.83f;
	/* The worst case for the bound: every byte escaped, NaN scores. */
	memset(d[0].attributes[1].model, '"', sizeof d[0].attributes[1].model - 1);
	memset(d[0].attributes[1].label, 1, sizeof d[0].attributes[1].label - 1);
	d[0].attributes[1].score = NAN;
	vg_event ev = { .frame_id = 7, .width = 640, .height = 480, .detections = d, .detection_count = 2 };
	char buf[8192];
	size_t n = vg_event_json(&ev, buf, sizeof buf);
	CHECK(n > 0 && n == strlen(buf));
	CHECK_MSG(n < 512 + vg_detections_json_bound(d, 2), "%zu bytes, bound %zu", n, vg_detections_json_bound(d, 2));
	cJSON *j = cJSON_Parse(buf);
	CHECK_MSG(j != NULL, "not JSON: %s", buf);
	cJSON *dets = cJSON_GetObjectItem(j, "detections");
	cJSON *attrs = cJSON_GetObjectItem(cJSON_GetArrayItem(dets, 0), "attributes");
	CHECK(cJSON_IsArray(attrs) && cJSON_GetArraySize(attrs) == 2);
	cJSON *a = cJSON_GetArrayItem(attrs, 0);
	CHECK(!strcmp(cJSON_GetObjectItem(a, "model")->valuestring, "fer2013_mini_XCEPTION.102-0.66.hdf5"));
	CHECK(!strcmp(cJSON_GetObjectItem(a, "label")->valuestring, "happy"));
	CHECK(cJSON_GetObjectItem(a, "class_id")->valueint == 3);
	CHECK(fabs(cJSON_GetObjectItem(a, "score")->valuedouble - 0.83) < 1e-4);
	a = cJSON_GetArrayItem(attrs, 1);
	CHECK(strlen(cJSON_GetObjectItem(a, "model")->valuestring) == sizeof d[0].attributes[1].model - 1);
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(a, "score")));
	/* Without attributes, no key. */
	CHECK(cJSON_GetObjectItem(cJSON_GetArrayItem(dets, 1), "attributes") == NULL);
	cJSON_Delete(j);
}

TEST(attributes_drawn_under_the_label)
{
	vg_frame_pool *pool = vg_frame_pool_create(320, 240);
	vg_frame *f = vg_frame_pool_get(pool);
	for (int y = 0; y < 240; y++)
		memset(f->plane[0] + y * f->stride[0], 128, 320);
	for (int y = 0; y < 120; y++) {
		memset(f->plane[1] + y * f->stride[1], 128, 160);
		memset(f->plane[2] + y * f->stride[2], 128, 160);
	}
	vg_detection d = box(0.25f, 0.5f, 0.75f, 0.9f, 0);
	snprintf(d.label, sizeof d.label, "face");
	d.n_attributes = 1;
	snprintf(d.attributes[0].label, sizeof d.attributes[0].label, "surprise");
	d.attributes[0].score = 0.5f;
	vg_draw_detections(f, &d, 1);
	/* Scale 1 at 240 lines: labels are 16 + 4 high; the label sits on 100..120, the attribute on 120..140. */
	int label_h = VG_FONT_H + 4, y0 = 120;
	vg_color dark = vg_color_rgb(24, 24, 24);
	/* The attribute's background, right of the box's left edge line, away from the text. */
	int text_w = vg_text_width("surprise 50%", 1) + 4;
	CHECK_MSG(f->plane[0][(y0 + label_h - 1) * f->stride[0] + 80 + text_w - 1] == dark.y, "%d",
		  f->plane[0][(y0 + label_h - 1) * f->stride[0] + 80 + text_w - 1]);
	/* Some of it is text: white pixels inside the attribute's line. */
	int white = 0;
	for (int y = y0; y < y0 + label_h; y++)
		for (int x = 82; x < 80 + text_w; x++)
			white += f->plane[0][y * f->stride[0] + x] == 255;
	CHECK(white > 20);
	/* Past its width, the box's inside is untouched. */
	CHECK(f->plane[0][(y0 + 5) * f->stride[0] + 80 + text_w + 5] == 128);
	vg_frame_unref(f);
	vg_frame_pool_release(pool);
}

TEST_SUITE(classify, TEST_ENTRY(crop_rect_margin_clamp_even), TEST_ENTRY(select_largest_first_with_filter_and_max),
	   TEST_ENTRY(preprocess_grey_input_takes_luma), TEST_ENTRY(preprocess_linear_sampling_is_cv2_resize),
	   TEST_ENTRY(event_json_attributes),
	   TEST_ENTRY(attributes_drawn_under_the_label));
