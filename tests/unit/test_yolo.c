/*
 * The YOLO-family decoders (yolo.h) on small synthetic tensors whose boxes
 * are worked out by hand in the comments.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/detector.h"
#include "detect/model_config.h"
#include "detect/pyliteral.h"
#include "detect/ultralytics.h"
#include "detect/yolo.h"
#include "shaped_tensor.h"
#include "test.h"

#define NEAR(a, b) (fabsf((float)(a) - (float)(b)) < 1e-4f)

static int box_is(const vg_detection *d, float x0, float y0, float x1, float y1)
{
	return NEAR(d->x0, x0) && NEAR(d->y0, y0) && NEAR(d->x1, x1) && NEAR(d->y1, y1);
}

TEST(yolox_grid_and_strides)
{
	/* A 16x16 input, strides 8 and 16: a 2x2 grid then a 1x1 grid, 5 rows of 5 + 2 values. */
	float rows[5][7];
	for (int i = 0; i < 5; i++) {
		float r[7] = { 0, 0, 0, 0, 0.1f, 0.5f, 0.5f };
		memcpy(rows[i], r, sizeof r);
	}
	/* Row 3: stride 8, cell (1, 1); centre (0.5 + 1) * 8 = 12, size exp(0) * 8 = 8 by exp(ln 2) * 8 = 16. */
	float a[7] = { 0.5f, 0.5f, 0, logf(2), 0.9f, 0.2f, 0.8f };
	/* Row 4: stride 16, cell (0, 0); centre 8, 8; size 8 by 16. */
	float b[7] = { 0.5f, 0.5f, logf(0.5f), 0, 0.5f, 0.9f, 0.1f };
	memcpy(rows[3], a, sizeof a);
	memcpy(rows[4], b, sizeof b);
	int strides[2] = { 8, 16 };
	vg_yolo_params p = { .num_classes = 2, .in_w = 16, .in_h = 16, .iou_threshold = 0.45f, .per_class_nms = 0 };
	vg_detection out[8];
	int n = vg_decode_yolox(&rows[0][0], 5, strides, 2, &p, 0.3f, out, 8);
	CHECK_MSG(n == 2, "%d", n);
	/* 0.9 x 0.8 = 0.72, class 1, x 8..16, y 4..20 (clipped to 16). */
	CHECK(NEAR(out[0].score, 0.72f) && out[0].class_id == 1 && box_is(&out[0], 0.5f, 0.25f, 1, 1));
	/* 0.5 x 0.9 = 0.45, class 0, x 4..12, y 0..16; IoU with the first 0.27, kept. */
	CHECK(NEAR(out[1].score, 0.45f) && out[1].class_id == 0 && box_is(&out[1], 0.25f, 0, 0.75f, 1));
	/*
	 * As logits: row 3 scores sigmoid(0.9) x sigmoid(0.8) = 0.49, row 4
	 * sigmoid(0.5) x sigmoid(0.9) = 0.44, the others sigmoid(0.1) x sigmoid(0.5) = 0.33.
	 */
	p.sigmoid = 1;
	CHECK(vg_decode_yolox(&rows[0][0], 5, strides, 2, &p, 0.4f, out, 8) == 2);
	CHECK(NEAR(out[0].score, 0.4901f) || fabsf(out[0].score - 0.4901f) < 1e-3f);
	CHECK(vg_decode_yolox(&rows[0][0], 5, strides, 2, &p, 0.3f, out, 8) == 5);
	CHECK(vg_decode_yolox(&rows[0][0], 5, strides, 2, &p, 0.99f, out, 8) == 0);
	/* Row counts that are not the grids' total are refused. */
	CHECK(vg_decode_yolox(&rows[0][0], 4, strides, 2, &p, 0.3f, out, 8) == -1);
}

TEST(yolov5_rows_in_pixels)
{
	/* A 100x50 input: centre 50, 25, size 20 by 10: x 40..60, y 20..30. */
	float rows[2][7] = {
		{ 50, 25, 20, 10, 0.8f, 0.5f, 0.9f },
		{ 10, 10, 4, 4, 0.3f, 0.9f, 0.9f }, /* objectness x class 0.27: below */
	};
	vg_yolo_params p = { .num_classes = 2, .in_w = 100, .in_h = 50, .iou_threshold = 0.45f };
	vg_detection out[4];
	int n = vg_decode_yolo_boxes(&rows[0][0], 2, 7, 1, 1, &p, 0.5f, out, 4);
	CHECK_MSG(n == 1, "%d", n);
	CHECK(NEAR(out[0].score, 0.72f) && out[0].class_id == 1 && box_is(&out[0], 0.4f, 0.4f, 0.6f, 0.6f));
	CHECK(!vg_yolo_boxes_normalized(&rows[0][0], 2, 7, 1));
}

TEST(yolov8_channels_first)
{
	/* [4 + 2][N = 3]: box 0 at centre 10, 10 size 20 in a 50x50 input, class 1 0.6. */
	float t[6][3] = {
		{ 10, 25, 40 }, { 10, 25, 40 }, { 20, 10, 10 }, { 20, 10, 10 },
		{ 0.1f, 0.2f, 0.7f }, { 0.6f, 0.3f, 0.1f },
	};
	vg_yolo_params p = { .num_classes = 2, .in_w = 50, .in_h = 50, .iou_threshold = 0.5f, .per_class_nms = 1 };
	vg_detection out[4];
	int n = vg_decode_yolo_boxes(&t[0][0], 3, 1, 3, 0, &p, 0.5f, out, 4);
	CHECK_MSG(n == 2, "%d", n);
	/* Box 2: centre 40, size 10: 35..45; class 0 0.7. */
	CHECK(out[0].class_id == 0 && NEAR(out[0].score, 0.7f) && box_is(&out[0], 0.7f, 0.7f, 0.9f, 0.9f));
	CHECK(out[1].class_id == 1 && NEAR(out[1].score, 0.6f) && box_is(&out[1], 0, 0, 0.4f, 0.4f));
	/* Normalised (TFLite) boxes: the same divided by 50. */
	for (int k = 0; k < 4; k++)
		for (int i = 0; i < 3; i++)
			t[k][i] /= 50;
	CHECK(vg_yolo_boxes_normalized(&t[0][0], 3, 1, 3));
	p.normalized = 1;
	n = vg_decode_yolo_boxes(&t[0][0], 3, 1, 3, 0, &p, 0.5f, out, 4);
	CHECK(n == 2 && box_is(&out[1], 0, 0, 0.4f, 0.4f));
}

TEST(fastestv2_one_cell)
{
	/* One 1x1 grid of a 32x32 input (stride 32), one anchor 16 by 8, two classes. */
	float reg[4] = { 0, 0, 0, 0 };
	float obj[1] = { logf(0.8f / 0.2f) };
	float cls[2] = { 0, logf(3) };
	vg_fastestv2_level lv = { .reg = reg, .obj = obj, .cls = cls, .width = 1, .height = 1, .n_anchors = 1,
				  .anchors = { { 16, 8 } } };
	vg_yolo_params p = { .num_classes = 2, .in_w = 32, .in_h = 32, .iou_threshold = 0.4f, .per_class_nms = 1 };
	vg_detection out[2];
	int n = vg_decode_fastestv2(&lv, 1, &p, 0.3f, out, 2);
	CHECK_MSG(n == 1, "%d", n);
	/*
	 * Centre (0.5 * 2 - 0.5 + 0) * 32 = 16; size (0.5 * 2)^2 x anchor = 16 by 8;
	 * score 0.8 x softmax(0, ln 3)[1] = 0.8 x 0.75 = 0.6.
	 */
	CHECK(out[0].class_id == 1 && NEAR(out[0].score, 0.6f) && box_is(&out[0], 0.25f, 0.375f, 0.75f, 0.625f));
	CHECK(vg_decode_fastestv2(&lv, 1, &p, 0.7f, out, 2) == 0);
}

TEST(ultraface_priors_and_decoding)
{
	static float pr[4420 * 4];
	CHECK(vg_ultraface_priors(320, 240, NULL, 0) == 4420);
	CHECK(vg_ultraface_priors(320, 240, pr, 4420) == 4420);
	/* First: cell (0, 0) of the 40x30 grid, 10 pixels. */
	CHECK(NEAR(pr[0], 0.5f / 40) && NEAR(pr[1], 0.5f / 30) && NEAR(pr[2], 10.0f / 320) && NEAR(pr[3], 10.0f / 240));
	/* Last: cell (4, 3) of the 5x4 grid, 256 pixels, its height 256 / 240 clamped to 1. */
	float *l = pr + 4419 * 4;
	CHECK(NEAR(l[0], 0.9f) && NEAR(l[1], 0.875f) && NEAR(l[2], 0.8f) && NEAR(l[3], 1));

	/* Raw locations against prior 4419: centre offset 0.1 x 0.1 x w, size exp(0.2 x ln 0.5 / 0.2) = half. */
	static float scores[4420 * 2], loc[4420 * 4];
	scores[4419 * 2 + 1] = 0.9f;
	loc[4419 * 4 + 0] = 1;
	loc[4419 * 4 + 2] = logf(0.5f) / 0.2f;
	loc[4419 * 4 + 3] = logf(0.5f) / 0.2f;
	vg_detection out[4];
	int n = vg_decode_ultraface(scores, loc, 4420, pr, 1, 0.3f, 0.7f, out, 4);
	CHECK_MSG(n == 1, "%d", n);
	/* cx 0.9 + 0.1 x 0.8 = 0.98, w 0.4; cy 0.875, h 0.5. */
	CHECK(out[0].class_id == 0 && NEAR(out[0].score, 0.9f) && box_is(&out[0], 0.78f, 0.625f, 1, 1));
	/* Corners (post-processing in the graph) pass through. */
	float corners[2 * 4] = { 0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.5f, 0.6f, 0.7f };
	float sc[4] = { 0.1f, 0.9f, 0.8f, 0.2f };
	CHECK(vg_ultraface_boxes_are_corners(corners, 2));
	n = vg_decode_ultraface(sc, corners, 2, NULL, 0, 0.3f, 0.7f, out, 4);
	CHECK(n == 1 && box_is(&out[0], 0.1f, 0.2f, 0.3f, 0.4f));
	float swapped[4] = { 0.3f, 0.2f, 0.1f, 0.4f };
	CHECK(!vg_ultraface_boxes_are_corners(swapped, 1));
}

TEST(nms_rows_layouts)
{
	/* Width 6 in 200-pixel input coordinates: x1, y1, x2, y2, score, class. */
	float six[2][6] = { { 20, 40, 100, 200, 0.9f, 3 }, { 0, 0, 0, 0, 0, 0 } };
	vg_nms_rows_layout l;
	CHECK(vg_nms_rows_detect(&six[0][0], 2, 6, &l) == 0 && l.score == 4 && l.cls == 5 && !l.normalized);
	vg_detection out[4];
	int n = vg_decode_nms_rows(&six[0][0], 2, &l, 200, 200, 0.5f, out, 4);
	CHECK(n == 1 && out[0].class_id == 3 && box_is(&out[0], 0.1f, 0.2f, 0.5f, 1));
	/* Width 7, YOLOv7's end-to-end order: batch, box, class, score (normalised here). */
	float seven[2][7] = { { 0, 0.1f, 0.2f, 0.3f, 0.4f, 2, 0.8f }, { 0, 0.5f, 0.5f, 0.6f, 0.6f, 7, 0.6f } };
	CHECK(vg_nms_rows_detect(&seven[0][0], 2, 7, &l) == 0 && l.cls == 5 && l.score == 6 && l.normalized);
	n = vg_decode_nms_rows(&seven[0][0], 2, &l, 640, 640, 0.7f, out, 4);
	CHECK(n == 1 && out[0].class_id == 2 && NEAR(out[0].score, 0.8f) && box_is(&out[0], 0.1f, 0.2f, 0.3f, 0.4f));
	/* Width 7 with the score before the class: column 6 holds 2, not a probability. */
	float other[1][7] = { { 0, 0.1f, 0.2f, 0.3f, 0.4f, 0.8f, 2 } };
	CHECK(vg_nms_rows_detect(&other[0][0], 1, 7, &l) == 0 && l.score == 5 && l.cls == 6);
	CHECK(vg_nms_rows_detect(&other[0][0], 1, 5, &l) == -1);
}

static int choose(const nn_tensor *o, int n, int w, int h, const char *dec, vg_decoder_kind *kind, char *reason)
{
	char err[512];
	int rc = vg_decoder_choose(o, n, w, h, NULL, dec, kind, reason, 512, err, sizeof err);
	if (rc < 0)
		snprintf(reason, 512, "%s", err);
	return rc;
}

TEST(choice_of_the_asset_models)
{
	vg_decoder_kind kind;
	char reason[512];
	/* yolox_nano.onnx: [1,3549,85] at 416x416. */
	nn_tensor yx[1] = { shaped("output", 3, 1, 3549, 85, 0) };
	CHECK_MSG(choose(yx, 1, 416, 416, NULL, &kind, reason) == 0 && kind == VG_DECODER_YOLOX, "%s", reason);
	CHECK(strstr(reason, "YOLOX") && strstr(reason, "80 classes"));
	/* yolox_nano_float16_quantize.tflite: 3 classes. */
	nn_tensor ym[1] = { shaped("Identity", 3, 1, 3549, 8, 0) };
	CHECK(choose(ym, 1, 416, 416, NULL, &kind, reason) == 0 && kind == VG_DECODER_YOLOX);
	/* yolov8n: [1,84,8400] at 640. */
	nn_tensor y8[1] = { shaped("Identity", 3, 1, 84, 8400, 0) };
	CHECK_MSG(choose(y8, 1, 640, 640, NULL, &kind, reason) == 0 && kind == VG_DECODER_YOLOV8, "%s", reason);
	CHECK(strstr(reason, "80 class scores") && strstr(reason, "told from the values"));
	/* Transposed, without metadata it reads as YOLOX's shape unless named. */
	nn_tensor y8t[1] = { shaped("output0", 3, 1, 8400, 84, 0) };
	CHECK(choose(y8t, 1, 640, 640, "yolov8", &kind, reason) == 0 && kind == VG_DECODER_YOLOV8);
	/* yolo-fastestv2_352.onnx, outputs in its order. */
	nn_tensor fv[6] = { shaped("753", 4, 1, 12, 22, 22), shaped("754", 4, 1, 3, 22, 22), shaped("755", 4, 1, 80, 22, 22),
			    shaped("756", 4, 1, 12, 11, 11), shaped("757", 4, 1, 3, 11, 11), shaped("758", 4, 1, 80, 11, 11) };
	CHECK_MSG(choose(fv, 6, 352, 352, NULL, &kind, reason) == 0 && kind == VG_DECODER_FASTESTV2, "%s", reason);
	nn_tensor fv2[6] = { fv[5], fv[1], fv[3], fv[4], fv[0], fv[2] };
	CHECK(choose(fv2, 6, 352, 352, NULL, &kind, reason) == 0 && kind == VG_DECODER_FASTESTV2);
	CHECK_MSG(strstr(reason, "22x22 and 11x11"), "%s", reason);
	/* UltraFace at 320x240. */
	nn_tensor uf[2] = { shaped("scores", 3, 1, 4420, 2, 0), shaped("boxes", 3, 1, 4420, 4, 0) };
	CHECK_MSG(choose(uf, 2, 320, 240, NULL, &kind, reason) == 0 && kind == VG_DECODER_ULTRAFACE, "%s", reason);
	CHECK(choose(uf, 2, 640, 480, "ultraface", &kind, reason) < 0 && strstr(reason, "17640"));
	/* MediaPipe's OpenImages SSD: 1917 anchors at 300x300. */
	nn_tensor ss[2] = { shaped("raw_outputs/box_encodings", 3, 1, 1917, 4, 0),
			    shaped("raw_outputs/class_predictions", 3, 1, 1917, 24, 0) };
	CHECK_MSG(choose(ss, 2, 300, 300, NULL, &kind, reason) == 0 && kind == VG_DECODER_SSD_ANCHORS, "%s", reason);
	/* NanoDet 320's rank-2 heads. */
	nn_tensor nd[6] = { shaped("a", 2, 1600, 80, 0, 0), shaped("b", 2, 400, 80, 0, 0), shaped("c", 2, 100, 80, 0, 0),
			    shaped("d", 2, 1600, 32, 0, 0), shaped("e", 2, 400, 32, 0, 0), shaped("f", 2, 100, 32, 0, 0) };
	CHECK_MSG(choose(nd, 6, 320, 320, NULL, &kind, reason) == 0 && kind == VG_DECODER_NANODET, "%s", reason);
	CHECK(strstr(reason, "8 bins"));
	/* NMS rows of 7: chosen; of 6: CenterNet's unless named. */
	nn_tensor r7[1] = { shaped("dets", 2, 100, 7, 0, 0) };
	CHECK(choose(r7, 1, 640, 640, NULL, &kind, reason) == 0 && kind == VG_DECODER_NMS_ROWS);
	nn_tensor r6[1] = { shaped("dets", 3, 1, 300, 6, 0) };
	CHECK(choose(r6, 1, 640, 640, NULL, &kind, reason) == 0 && kind == VG_DECODER_CENTERNET);
	CHECK(choose(r6, 1, 640, 640, "nms-rows", &kind, reason) == 0 && kind == VG_DECODER_NMS_ROWS);
	/* A named YOLOX that does not fit says why. */
	CHECK(choose(yx, 1, 640, 640, "yolox", &kind, reason) < 0 && strstr(reason, "8400 cells"));
}

TEST(python_literals)
{
	const char *t = "{'names': {0: 'person', 1: \"bi\\\"cycle\", 2: 'caf\\xe9'}, 'imgsz': [640, 480], "
			"'stride': 32, 'f': -1.5e2, 'ok': True, 'no': None, 't': (1, 2,), 'e': {}}";
	vg_py *v;
	char err[256];
	CHECK_MSG(vg_py_parse(t, strlen(t), &v, err, sizeof err) == 0, "%s", err);
	const vg_py *names = vg_py_get(v, "names");
	CHECK(names && names->type == VG_PY_DICT && names->n == 3);
	CHECK(names->items[3].type == VG_PY_STR && !strcmp(names->items[3].s, "bi\"cycle"));
	CHECK(!strcmp(names->items[5].s, "caf\xc3\xa9"));
	double d;
	CHECK(vg_py_number(vg_py_get(v, "f"), &d) && d == -150);
	CHECK(vg_py_get(v, "ok")->type == VG_PY_BOOL && vg_py_get(v, "ok")->i == 1);
	CHECK(vg_py_get(v, "no")->type == VG_PY_NONE);
	CHECK(vg_py_get(v, "t")->type == VG_PY_TUPLE && vg_py_get(v, "t")->n == 2);
	CHECK(vg_py_get(v, "e")->type == VG_PY_DICT && vg_py_get(v, "e")->n == 0);
	vg_py_free(v);
	/* Errors name the byte. */
	static const char *const bad[] = { "{'a': }", "{'a' 1}", "[1, 2", "'open", "{'a': 1} x", "'\\q'", "1e999",
					   "Truth", "", "{1: 'a',, }" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK_MSG(vg_py_parse(bad[i], strlen(bad[i]), &v, err, sizeof err) < 0, "%s", bad[i]);
		CHECK_MSG(strstr(err, "at byte"), "%s: %s", bad[i], err);
	}
	/* Depth is bounded. */
	char deep[200];
	memset(deep, '[', sizeof deep);
	CHECK(vg_py_parse(deep, sizeof deep, &v, err, sizeof err) < 0 && strstr(err, "nested deeper"));
}

TEST(ultralytics_metadata)
{
	vg_ultra_meta m = { 0 };
	char err[256];
	const char *t = "{'description': 'Ultralytics YOLOv8n', 'stride': 32, 'task': 'detect', 'batch': 1, "
			"'imgsz': [480, 640], 'names': {0: 'person', 2: 'car'}}";
	CHECK_MSG(vg_ultra_meta_parse(&m, t, strlen(t), err, sizeof err) == 0, "%s", err);
	CHECK(m.n_names == 3 && !strcmp(m.names[0], "person") && m.names[1] == NULL && !strcmp(m.names[2], "car"));
	CHECK(m.imgsz_w == 640 && m.imgsz_h == 480 && m.stride == 32 && !strcmp(m.task, "detect"));
	vg_ultra_meta_free(&m);
	/* JSON, as metadata.json has it: ids as strings. */
	const char *j = "{\"names\": {\"0\": \"person\", \"1\": \"bicycle\"}, \"imgsz\": [640, 640], \"int8\": false}";
	CHECK_MSG(vg_ultra_meta_parse(&m, j, strlen(j), err, sizeof err) == 0, "%s", err);
	CHECK(m.n_names == 2 && !strcmp(m.names[1], "bicycle") && m.imgsz_w == 640);
	vg_ultra_meta_free(&m);
	const char *bad1 = "{'names': {99999: 'x'}}", *bad2 = "{'imgsz': [0, 640]}", *bad3 = "{'names': {0: 5}}";
	CHECK(vg_ultra_meta_parse(&m, bad1, strlen(bad1), err, sizeof err) < 0 && strstr(err, "'names'"));
	vg_ultra_meta_free(&m);
	CHECK(vg_ultra_meta_parse(&m, bad2, strlen(bad2), err, sizeof err) < 0 && strstr(err, "'imgsz'"));
	vg_ultra_meta_free(&m);
	CHECK(vg_ultra_meta_parse(&m, bad3, strlen(bad3), err, sizeof err) < 0 && strstr(err, "not a string"));
	vg_ultra_meta_free(&m);
}

/*
 * The real thing: the temp_meta.txt Ultralytics zipped (stored, uncompressed)
 * onto yolov8n_int8.tflite, read here straight from the zip's local header.
 */
TEST(ultralytics_metadata_of_the_yolov8n_asset)
{
	char path[512];
	snprintf(path, sizeof path, "%s/models/tflite/yolov8n_int8.tflite", VG_ASSETS_DIR);
	FILE *f = fopen(path, "rb");
	if (!f)
		SKIP("%s absent", path);
	static uint8_t buf[4 << 20];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	const uint8_t *hdr = NULL;
	for (size_t i = n >= 30 ? n - 30 : 0; i > 0 && !hdr; i--)
		if (!memcmp(buf + i, "PK\x03\x04", 4) && i + 30 + 13 <= n && !memcmp(buf + i + 30, "temp_meta.txt", 13))
			hdr = buf + i;
	CHECK(hdr);
	size_t size = (size_t)hdr[18] | (size_t)hdr[19] << 8 | (size_t)hdr[20] << 16 | (size_t)hdr[21] << 24;
	size_t name_len = (size_t)hdr[26] | (size_t)hdr[27] << 8, extra = (size_t)hdr[28] | (size_t)hdr[29] << 8;
	const char *text = (const char *)hdr + 30 + name_len + extra;
	CHECK(hdr[8] == 0 && (const uint8_t *)text + size <= buf + n);
	vg_ultra_meta m = { 0 };
	char err[256];
	CHECK_MSG(vg_ultra_meta_parse(&m, text, size, err, sizeof err) == 0, "%s", err);
	CHECK_MSG(m.n_names == 80 && !strcmp(m.names[0], "person") && !strcmp(m.names[5], "bus") &&
			  !strcmp(m.names[79], "toothbrush"),
		  "%d", m.n_names);
	CHECK(m.imgsz_w == 640 && m.imgsz_h == 640 && m.stride == 32 && !strcmp(m.task, "detect"));
	vg_ultra_meta_free(&m);
}

TEST(sidecar_letterbox_align_and_decoder_names)
{
	vg_model_config c;
	char err[256];
	const char *ok = "{\"letterbox_align\": \"topleft\", \"decoder\": \"yolo-fastestv2\"}";
	CHECK_MSG(vg_model_config_parse(&c, ok, strlen(ok), "m.vigil.json", err, sizeof err) == 0, "%s", err);
	CHECK(c.has_align && c.align_topleft == 1 && !strcmp(c.decoder, "yolo-fastestv2"));
	vg_model_config_free(&c);
	const char *centre = "{\"letterbox_align\": \"center\"}";
	CHECK(vg_model_config_parse(&c, centre, strlen(centre), "m.vigil.json", err, sizeof err) == 0);
	CHECK(c.has_align && c.align_topleft == 0);
	vg_model_config_free(&c);
	const char *bad = "{\"letterbox_align\": \"bottom\"}";
	CHECK(vg_model_config_parse(&c, bad, strlen(bad), "m.vigil.json", err, sizeof err) < 0);
	CHECK_MSG(strstr(err, "letterbox_align") && strstr(err, "topleft"), "%s", err);
	static const char *const names[] = { "yolox", "yolov5", "yolov8", "yolo-fastestv2", "ultraface", "ssd-anchors",
					     "nms-rows" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		vg_decoder_kind k;
		CHECK(vg_decoder_from_name(names[i], &k) == 0 && !strcmp(vg_decoder_name(k), names[i]));
		CHECK(strstr(vg_decoder_names, names[i]));
	}
}

TEST_SUITE(yolo, TEST_ENTRY(yolox_grid_and_strides), TEST_ENTRY(yolov5_rows_in_pixels),
	   TEST_ENTRY(yolov8_channels_first), TEST_ENTRY(fastestv2_one_cell), TEST_ENTRY(ultraface_priors_and_decoding),
	   TEST_ENTRY(nms_rows_layouts), TEST_ENTRY(choice_of_the_asset_models), TEST_ENTRY(python_literals),
	   TEST_ENTRY(ultralytics_metadata), TEST_ENTRY(sidecar_letterbox_align_and_decoder_names),
	   TEST_ENTRY(ultralytics_metadata_of_the_yolov8n_asset));
