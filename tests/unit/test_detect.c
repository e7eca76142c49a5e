#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/frame.h"
#include "detect/decode.h"
#include "detect/labels.h"
#include "detect/nms.h"
#include "detect/preprocess.h"
#include "test.h"

static vg_detection box(float x0, float y0, float x1, float y1, int cls, float score)
{
	vg_detection d = { .x0 = x0, .y0 = y0, .x1 = x1, .y1 = y1, .class_id = cls, .score = score };
	return d;
}

TEST(labels_one_per_line_drops_background_placeholder)
{
	const char text[] = "???\nperson\nbicycle\n\n???\ncar\r\n";
	vg_labels l;
	char err[128];
	CHECK(vg_labels_parse(&l, text, sizeof text - 1, err, sizeof err) == 0);
	CHECK(l.count == 4);
	CHECK(!strcmp(vg_labels_get(&l, 0), "person"));
	CHECK(!strcmp(vg_labels_get(&l, 1), "bicycle"));
	CHECK(!strcmp(vg_labels_get(&l, 2), "???")); /* placeholders inside the map keep their place */
	CHECK(!strcmp(vg_labels_get(&l, 3), "car"));
	CHECK(vg_labels_get(&l, 4) == NULL && vg_labels_get(&l, -1) == NULL);
	vg_labels_free(&l);
}

TEST(labels_id_name_format)
{
	const char text[] = "0  person\n1  bicycle\n12  stop sign\n";
	vg_labels l;
	char err[128];
	CHECK(vg_labels_parse(&l, text, sizeof text - 1, err, sizeof err) == 0);
	CHECK(l.count == 13);
	CHECK(!strcmp(vg_labels_get(&l, 12), "stop sign"));
	CHECK(vg_labels_get(&l, 5) == NULL);
	vg_labels_free(&l);
}

TEST(labels_errors)
{
	vg_labels l;
	char err[256];
	CHECK(vg_labels_parse(&l, "\n\n", 2, err, sizeof err) < 0);
	CHECK(vg_labels_load(&l, "/nonexistent/labels.txt", err, sizeof err) < 0);
	CHECK_MSG(strstr(err, "/nonexistent/labels.txt") != NULL, "%s", err);
}

TEST(labels_real_files)
{
	char path[512];
	vg_labels l;
	char err[256];
	snprintf(path, sizeof path, "%s/labels/coco_labelmap_91_tf_od_api.txt", VG_ASSETS_DIR);
	if (vg_labels_load(&l, path, err, sizeof err) < 0)
		SKIP("%s", err);
	CHECK(!strcmp(vg_labels_get(&l, 0), "person"));
	CHECK(!strcmp(vg_labels_get(&l, 16), "cat"));
	vg_labels_free(&l);
	snprintf(path, sizeof path, "%s/labels/coral_imagenet_labels.txt", VG_ASSETS_DIR);
	CHECK(vg_labels_load(&l, path, err, sizeof err) == 0);
	CHECK(l.count == 1001 && !strcmp(vg_labels_get(&l, 0), "background"));
	vg_labels_free(&l);
}

TEST(nms_suppresses_overlaps)
{
	vg_detection d[4] = {
		box(0.10f, 0.10f, 0.50f, 0.50f, 1, 0.6f),
		box(0.12f, 0.12f, 0.52f, 0.52f, 1, 0.9f), /* overlaps the first: keeps this one */
		box(0.60f, 0.60f, 0.90f, 0.90f, 1, 0.7f),
		box(0.11f, 0.11f, 0.51f, 0.51f, 2, 0.8f), /* same place, another class */
	};
	int n = vg_nms(d, 4, 0.5f, 1, 10);
	CHECK(n == 3);
	CHECK(d[0].score == 0.9f && d[1].class_id == 2 && d[2].score == 0.7f);

	vg_detection e[4] = { d[0], d[1], d[2] };
	e[3] = box(0.11f, 0.11f, 0.51f, 0.51f, 2, 0.8f);
	CHECK(vg_nms(e, 4, 0.5f, 0, 10) == 2); /* class-agnostic */
	CHECK(vg_nms(e, 2, 0.5f, 0, 1) == 1);  /* max_keep */
	CHECK(vg_nms(e, 0, 0.5f, 0, 1) == 0);
}

TEST(iou_values)
{
	vg_detection a = box(0, 0, 1, 1, 0, 1), b = box(0.5f, 0, 1.5f, 1, 0, 1), c = box(2, 2, 3, 3, 0, 1);
	CHECK(fabsf(vg_iou(&a, &b) - 1.0f / 3.0f) < 1e-6f);
	CHECK(vg_iou(&a, &c) == 0);
	vg_detection empty = box(0.5f, 0.5f, 0.5f, 0.9f, 0, 1);
	CHECK(vg_iou(&a, &empty) == 0);
}

TEST(decode_postprocessed)
{
	float boxes[] = { 0.1f, 0.2f, 0.5f, 0.6f, -0.1f, 0.0f, 1.2f, 0.5f, 0, 0, 0, 0 };
	float classes[] = { 0, 16, 3 }, scores[] = { 0.9f, 0.55f, 0.2f };
	vg_detection out[3];
	int n = vg_decode_postprocessed(boxes, classes, scores, 3, 0.5f, out, 3);
	CHECK(n == 2);
	CHECK(out[0].x0 == 0.2f && out[0].y0 == 0.1f && out[0].x1 == 0.6f && out[0].y1 == 0.5f);
	CHECK(out[1].class_id == 16 && out[1].y0 == 0 && out[1].y1 == 1); /* clipped */
	CHECK(vg_decode_postprocessed(boxes, classes, scores, 3, 0.5f, out, 1) == 1);
}

TEST(decode_ssd_anchor_boxes)
{
	/* Anchor centred at (0.5, 0.5), 0.2 x 0.4; zero encodings decode to the anchor itself. */
	float anchors[] = { 0.5f, 0.5f, 0.2f, 0.4f, 0.5f, 0.5f, 0.2f, 0.4f };
	float enc[] = { 0, 0, 0, 0, 1.0f, 0, 0, 5.0f * logf(2.0f) };
	/* scores: background column, then classes 0 and 1 */
	float scores[] = { 0.9f, 0.05f, 0.8f, 0.1f, 0.7f, 0.2f };
	vg_ssd_params p = { 10, 10, 5, 5, 1, 0, 0.5f, 0 };
	vg_detection out[2];
	int n = vg_decode_ssd(enc, scores, anchors, 2, 3, &p, 0.5f, out, 2);
	CHECK(n == 2);
	CHECK(out[0].class_id == 1 && fabsf(out[0].score - 0.8f) < 1e-6f);
	CHECK(fabsf(out[0].y0 - 0.4f) < 1e-6f && fabsf(out[0].x0 - 0.3f) < 1e-6f && fabsf(out[0].x1 - 0.7f) < 1e-6f);
	/* Second: centre moved by 0.1 * h = 0.02 down, width doubled. */
	CHECK(out[1].class_id == 0);
	CHECK(fabsf((out[1].y0 + out[1].y1) / 2 - 0.52f) < 1e-5f);
	CHECK(fabsf((out[1].x1 - out[1].x0) - 0.8f) < 1e-5f);
}

TEST(decode_top_k_sorted)
{
	float s[] = { 0.01f, 0.5f, 0.2f, 0.9f, 0.3f, 0.05f };
	vg_detection out[3];
	int n = vg_decode_top_k(s, 6, 3, 0.1f, out);
	CHECK(n == 3);
	CHECK(out[0].class_id == 3 && out[1].class_id == 1 && out[2].class_id == 4);
	CHECK(out[0].whole_frame && out[0].x1 == 1);
	CHECK(vg_decode_top_k(s, 6, 3, 0.95f, out) == 0);
}

/* An RGB uint8 NHWC tensor to preprocess into. */
static nn_tensor image_tensor(int h, int w, nn_dtype dtype, void *data)
{
	nn_tensor t;
	memset(&t, 0, sizeof t);
	t.dtype = dtype;
	t.rank = 4;
	t.shape[0] = 1;
	t.shape[1] = h;
	t.shape[2] = w;
	t.shape[3] = 3;
	t.data = data;
	return t;
}

static void fill_frame(vg_frame *f, uint8_t y, uint8_t u, uint8_t v)
{
	for (int r = 0; r < f->height; r++)
		memset(f->plane[0] + r * f->stride[0], y, (size_t)f->width);
	for (int r = 0; r < f->height / 2; r++) {
		memset(f->plane[1] + r * f->stride[1], u, (size_t)f->width / 2);
		memset(f->plane[2] + r * f->stride[2], v, (size_t)f->width / 2);
	}
}

TEST(preprocess_letterbox_geometry_and_mapping)
{
	vg_frame_pool *pool = vg_frame_pool_create(200, 100);
	vg_frame *f = vg_frame_pool_get(pool);
	fill_frame(f, 255, 128, 128); /* white */
	uint8_t data[64 * 64 * 3];
	nn_tensor t = image_tensor(64, 64, NN_U8, data);
	vg_preprocess_config cfg = { .resize = VG_RESIZE_LETTERBOX, .pad_value = 0 };
	vg_preprocess *pp;
	char err[128];
	CHECK(vg_preprocess_create(&pp, &t, &cfg, err, sizeof err) == 0);
	CHECK(vg_preprocess_run(pp, f, &t) == 0);
	/* 200x100 into 64x64: content 64x32 centred, rows 16..47 white, borders black. */
	CHECK(data[(5 * 64 + 32) * 3] == 0);
	CHECK(data[(32 * 64 + 32) * 3] >= 250);
	CHECK(data[(60 * 64 + 32) * 3] == 0);
	/* The content's corners map to the frame's. */
	vg_detection d = box(0, 16.0f / 64, 1, 48.0f / 64, 0, 1);
	vg_preprocess_map_box(pp, &d);
	CHECK(fabsf(d.x0) < 1e-6f && fabsf(d.y0) < 1e-6f && fabsf(d.x1 - 1) < 1e-6f && fabsf(d.y1 - 1) < 1e-6f);
	float x = 0.5f, y = 0.5f;
	vg_preprocess_map_point(pp, &x, &y);
	CHECK(fabsf(x - 0.5f) < 1e-6f && fabsf(y - 0.5f) < 1e-6f);
	vg_preprocess_destroy(pp);
	vg_frame_unref(f);
	vg_frame_pool_release(pool);
}

/* YOLOX's letterbox: the frame at the top left, grey 114 right and below, in both sampling paths. */
TEST(preprocess_letterbox_topleft)
{
	for (int warp = 0; warp < 2; warp++) {
		vg_frame_pool *pool = vg_frame_pool_create(200, 100);
		vg_frame *f = vg_frame_pool_get(pool);
		fill_frame(f, 255, 128, 128);
		uint8_t data[64 * 64 * 3];
		nn_tensor t = image_tensor(64, 64, NN_U8, data);
		vg_preprocess_config cfg = { .resize = VG_RESIZE_LETTERBOX, .pad_value = 114, .align_topleft = 1,
					     .sampling = warp ? VG_SAMPLING_LINEAR : VG_SAMPLING_SWSCALE };
		vg_preprocess *pp;
		char err[128];
		CHECK(vg_preprocess_create(&pp, &t, &cfg, err, sizeof err) == 0);
		CHECK(vg_preprocess_run(pp, f, &t) == 0);
		/* 200x100 into 64x64: content 64x32 at rows 0..31, grey below. */
		CHECK_MSG(data[(5 * 64 + 32) * 3] >= 250, "%d", data[(5 * 64 + 32) * 3]);
		CHECK_MSG(data[(40 * 64 + 32) * 3] == 114, "%d", data[(40 * 64 + 32) * 3]);
		CHECK(data[(63 * 64 + 0) * 3] == 114);
		/* Model rows 0..32 are the whole frame. */
		vg_detection d = box(0.25f, 0, 0.5f, 0.5f, 0, 1);
		vg_preprocess_map_box(pp, &d);
		CHECK_MSG(fabsf(d.x0 - 0.25f) < 1e-6f && fabsf(d.y0) < 1e-6f && fabsf(d.x1 - 0.5f) < 1e-6f &&
				  fabsf(d.y1 - 1) < 1e-6f,
			  "%g %g %g %g", (double)d.x0, (double)d.y0, (double)d.x1, (double)d.y1);
		vg_preprocess_destroy(pp);
		vg_frame_unref(f);
		vg_frame_pool_release(pool);
	}
}

TEST(preprocess_dtypes_and_colour)
{
	vg_frame_pool *pool = vg_frame_pool_create(32, 32);
	vg_frame *f = vg_frame_pool_get(pool);
	/* Full-range YCbCr of pure red (255, 0, 0). */
	fill_frame(f, 76, 85, 255);
	char err[128];
	vg_preprocess *pp;

	uint8_t u8[16 * 16 * 3];
	nn_tensor t = image_tensor(16, 16, NN_U8, u8);
	vg_preprocess_config cfg = { 0 };
	CHECK(vg_preprocess_create(&pp, &t, &cfg, err, sizeof err) == 0);
	CHECK(vg_preprocess_run(pp, f, &t) == 0);
	CHECK_MSG(u8[0] > 245 && u8[1] < 10 && u8[2] < 10, "rgb %d %d %d", u8[0], u8[1], u8[2]);
	vg_preprocess_destroy(pp);

	cfg.bgr = 1;
	CHECK(vg_preprocess_create(&pp, &t, &cfg, err, sizeof err) == 0);
	CHECK(vg_preprocess_run(pp, f, &t) == 0);
	CHECK(u8[2] > 245 && u8[0] < 10);
	vg_preprocess_destroy(pp);

	float f32[16 * 16 * 3];
	nn_tensor tf = image_tensor(16, 16, NN_F32, f32);
	vg_preprocess_config norm = { .has_norm = 1, .mean = { 0, 0, 0 }, .std = { 255, 255, 255 } };
	CHECK(vg_preprocess_create(&pp, &tf, &norm, err, sizeof err) == 0);
	CHECK(vg_preprocess_run(pp, f, &tf) == 0);
	CHECK(f32[0] > 0.96f && f32[0] <= 1.0f && f32[1] < 0.04f);
	vg_preprocess_destroy(pp);

	vg_preprocess_config dflt = { 0 };
	CHECK(vg_preprocess_create(&pp, &tf, &dflt, err, sizeof err) == 0);
	CHECK(vg_preprocess_run(pp, f, &tf) == 0);
	CHECK(f32[0] > 0.9f && f32[1] < -0.9f); /* [-1, 1] */
	vg_preprocess_destroy(pp);

	int8_t i8[16 * 16 * 3];
	nn_tensor ti = image_tensor(16, 16, NN_I8, i8);
	CHECK(vg_preprocess_create(&pp, &ti, &dflt, err, sizeof err) == 0);
	CHECK(vg_preprocess_run(pp, f, &ti) == 0);
	CHECK(i8[0] > 115 && i8[1] < -118);
	vg_preprocess_destroy(pp);

	float nchw[3 * 16 * 16];
	nn_tensor tn = image_tensor(16, 16, NN_F32, nchw);
	tn.shape[1] = 3;
	tn.shape[2] = 16;
	tn.shape[3] = 16;
	vg_preprocess_config planar = { .nchw = 1, .has_norm = 1, .mean = { 0, 0, 0 }, .std = { 1, 1, 1 } };
	CHECK(vg_preprocess_create(&pp, &tn, &planar, err, sizeof err) == 0);
	CHECK(vg_preprocess_run(pp, f, &tn) == 0);
	CHECK(nchw[0] > 245 && nchw[256] < 10 && nchw[512] < 10);
	vg_preprocess_destroy(pp);

	vg_frame_unref(f);
	vg_frame_pool_release(pool);
}

TEST(preprocess_rejects_non_images)
{
	float data[10];
	nn_tensor t = image_tensor(1, 10, NN_F32, data);
	t.rank = 2;
	vg_preprocess *pp;
	char err[256];
	vg_preprocess_config cfg = { 0 };
	CHECK(vg_preprocess_create(&pp, &t, &cfg, err, sizeof err) < 0);
	CHECK(strstr(err, "not an image") != NULL);
	t = image_tensor(8, 8, NN_I32, data);
	CHECK(vg_preprocess_create(&pp, &t, &cfg, err, sizeof err) < 0);
	CHECK(strstr(err, "int32") != NULL);
}

TEST_SUITE(detect, TEST_ENTRY(labels_one_per_line_drops_background_placeholder), TEST_ENTRY(labels_id_name_format),
	   TEST_ENTRY(labels_errors), TEST_ENTRY(labels_real_files), TEST_ENTRY(nms_suppresses_overlaps),
	   TEST_ENTRY(iou_values), TEST_ENTRY(decode_postprocessed), TEST_ENTRY(decode_ssd_anchor_boxes),
	   TEST_ENTRY(decode_top_k_sorted), TEST_ENTRY(preprocess_letterbox_geometry_and_mapping),
	   TEST_ENTRY(preprocess_letterbox_topleft),
	   TEST_ENTRY(preprocess_dtypes_and_colour), TEST_ENTRY(preprocess_rejects_non_images));
