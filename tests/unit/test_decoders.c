/*
 * The CenterNet, NanoDet and BlazeFace decoders on small synthetic tensors
 * whose boxes are worked out by hand, and the choice of decoder by output
 * shapes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/decode.h"
#include "detect/detector.h"
#include "detect/model_config.h"
#include "shaped_tensor.h"
#include "test.h"

#define NEAR(a, b) (fabsf((float)(a) - (float)(b)) < 1e-4f)

static int box_is(const vg_detection *d, float x0, float y0, float x1, float y1)
{
	return NEAR(d->x0, x0) && NEAR(d->y0, y0) && NEAR(d->x1, x1) && NEAR(d->y1, y1);
}

TEST(centernet_in_graph_rows)
{
	/* x1, y1, x2, y2 in 512-pixel input coordinates, score, class. */
	float rows[] = {
		51.2f, 102.4f, 256.0f, 512.0f, 0.90f, 0,    /* person, 0.1 0.2 0.5 1.0 */
		0, 0, 10, 10, 0.85f, NAN,                  /* an empty slot */
		56.0f, 100.0f, 260.0f, 500.0f, 0.80f, 0,   /* the same person again: suppressed */
		56.0f, 100.0f, 260.0f, 500.0f, 0.70f, 16,  /* same place, another class: kept */
		-20.0f, 256.0f, 600.0f, 300.0f, 0.60f, 2,  /* clipped to the input */
		0, 0, 100, 100, 0.20f, 5,                  /* below threshold */
	};
	vg_detection out[8];
	int n = vg_decode_centernet(rows, 6, 512, 512, 0.5f, 0.5f, 1, out, 8);
	CHECK_MSG(n == 3, "%d", n);
	CHECK(box_is(&out[0], 0.1f, 0.2f, 0.5f, 1.0f) && out[0].class_id == 0 && NEAR(out[0].score, 0.9f));
	CHECK(out[1].class_id == 16);
	CHECK(out[2].class_id == 2 && out[2].x0 == 0 && out[2].x1 == 1);
	/* Without NMS the duplicate stays; max is honoured. */
	CHECK(vg_decode_centernet(rows, 6, 512, 512, 0.5f, 0, 1, out, 8) == 4);
	CHECK(vg_decode_centernet(rows, 6, 512, 512, 0.5f, 0, 1, out, 2) == 2);
	/* Class-agnostic NMS drops the other class at the same place too. */
	CHECK(vg_decode_centernet(rows, 6, 512, 512, 0.5f, 0.5f, 0, out, 8) == 2);
}

/* An 8x8 heatmap of 3 classes for a 32x32 input (stride 4), and its box head. */
#define HM 8
#define HC 3
static float heat[HM][HM][HC], wh[HM][HM][4];

static void set_box(int y, int x, float l, float t, float r, float b)
{
	wh[y][x][0] = l;
	wh[y][x][1] = t;
	wh[y][x][2] = r;
	wh[y][x][3] = b;
}

TEST(centernet_raw_single_peak)
{
	memset(heat, 0, sizeof heat);
	memset(wh, 0, sizeof wh);
	heat[2][5][1] = 0.9f;  /* the peak */
	heat[2][4][1] = 0.6f;  /* its neighbour: above threshold but not a peak */
	heat[3][6][1] = 0.55f; /* diagonal neighbour: not a peak either */
	heat[2][4][0] = 0.3f;  /* another class at the neighbour's place: below threshold */
	set_box(2, 5, 8, 4, 8, 12);
	vg_centernet_params p = { .height = HM, .width = HM, .num_classes = HC, .in_w = 32, .in_h = 32,
				  .center_offset = 0, .size_scale = 1, .top_k = 100, .iou_threshold = 0.5f,
				  .per_class_nms = 1 };
	vg_detection out[8];
	int n = vg_decode_centernet_raw(&heat[0][0][0], &wh[0][0][0], &p, 0.5f, out, 8);
	CHECK_MSG(n == 1, "%d", n);
	/* Peak cell (x 5, y 2) at input (20, 8): left 8, top 4, right 8, bottom 12 pixels. */
	CHECK_MSG(box_is(&out[0], 12.0f / 32, 4.0f / 32, 28.0f / 32, 20.0f / 32), "%g %g %g %g", (double)out[0].x0,
		  (double)out[0].y0, (double)out[0].x1, (double)out[0].y1);
	CHECK(out[0].class_id == 1 && NEAR(out[0].score, 0.9f));
	/* The graph's own convention is the cell corner; half a cell moves the box by 2 pixels. */
	p.center_offset = 0.5f;
	CHECK(vg_decode_centernet_raw(&heat[0][0][0], &wh[0][0][0], &p, 0.5f, out, 8) == 1);
	CHECK(box_is(&out[0], 14.0f / 32, 6.0f / 32, 30.0f / 32, 22.0f / 32));
}

TEST(centernet_raw_peaks_order_border_top_k)
{
	memset(heat, 0, sizeof heat);
	memset(wh, 0, sizeof wh);
	heat[2][5][1] = 0.9f;
	heat[6][1][2] = 0.7f;
	heat[0][0][0] = 0.55f; /* a corner peak: neighbours outside the map do not count */
	heat[7][7][2] = 0.6f;
	heat[7][6][2] = 0.6f;  /* a plateau of two: both are peaks, as with the graph's max-pool == test */
	set_box(6, 1, 2, 2, 2, 2);
	vg_centernet_params p = { .height = HM, .width = HM, .num_classes = HC, .in_w = 32, .in_h = 32,
				  .size_scale = 1, .top_k = 100 };
	vg_detection out[8];
	int n = vg_decode_centernet_raw(&heat[0][0][0], &wh[0][0][0], &p, 0.5f, out, 8);
	CHECK_MSG(n == 5, "%d", n);
	CHECK(NEAR(out[0].score, 0.9f) && NEAR(out[1].score, 0.7f) && NEAR(out[4].score, 0.55f));
	CHECK(out[1].class_id == 2 && box_is(&out[1], 2.0f / 32, 22.0f / 32, 6.0f / 32, 26.0f / 32));
	CHECK(out[4].class_id == 0);
	/* top_k keeps the best peaks before the threshold; max caps the output. */
	p.top_k = 2;
	CHECK(vg_decode_centernet_raw(&heat[0][0][0], &wh[0][0][0], &p, 0.5f, out, 8) == 2);
	p.top_k = 100;
	CHECK(vg_decode_centernet_raw(&heat[0][0][0], &wh[0][0][0], &p, 0.5f, out, 3) == 3);
	CHECK(vg_decode_centernet_raw(&heat[0][0][0], &wh[0][0][0], &p, 0.95f, out, 8) == 0);
}

/* NanoDet: 3 classes, reg_max 10 (11 bins per side). */
#define NC 3
#define BINS 11

/* Side s of cell c: a distribution peaked at bin (one-hot up to e^-60), or split evenly between two bins. */
static void peak_bin(float *dist, int cell, int side, int bin, int bin2)
{
	float *d = dist + (size_t)cell * 4 * BINS + (size_t)side * BINS;
	for (int i = 0; i < BINS; i++)
		d[i] = -30.0f;
	d[bin] = 30.0f;
	if (bin2 >= 0)
		d[bin2] = 30.0f;
}

TEST(nanodet_distribution_peaked_at_known_bins)
{
	/* Level 0: 4x4 cells of stride 8 on a 32x32 input; level 1: 2x2 cells of stride 16. */
	float s0[16 * NC] = { 0 }, d0[16 * 4 * BINS], s1[4 * NC] = { 0 }, d1[4 * 4 * BINS];
	for (int c = 0; c < 16; c++)
		for (int side = 0; side < 4; side++)
			peak_bin(d0, c, side, 0, -1);
	for (int c = 0; c < 4; c++)
		for (int side = 0; side < 4; side++)
			peak_bin(d1, c, side, 1, -1);
	/* Cell (x 2, y 2) = 10, centre (20, 20): left 2 bins, top 1, right 0.5 (split 0/1), bottom 0. */
	s0[10 * NC + 2] = 0.8f;
	peak_bin(d0, 10, 0, 2, -1);
	peak_bin(d0, 10, 1, 1, -1);
	peak_bin(d0, 10, 2, 0, 1);
	peak_bin(d0, 10, 3, 0, -1);
	s0[11 * NC + 2] = 0.7f; /* the neighbour, same class, nearly the same box: suppressed */
	peak_bin(d0, 11, 0, 3, -1);
	peak_bin(d0, 11, 1, 1, -1);
	peak_bin(d0, 11, 2, 0, -1);
	peak_bin(d0, 11, 3, 0, -1);
	s0[3 * NC + 0] = 0.3f; /* below threshold */
	/* Level 1, cell (x 1, y 0) = 1, centre (24, 8), one bin (16 pixels) each way. */
	s1[1 * NC + 0] = 0.6f;
	vg_nanodet_level lv[2] = { { s0, d0, 4, 4, 8 }, { s1, d1, 2, 2, 16 } };
	vg_nanodet_params p = { .num_classes = NC, .reg_max = BINS - 1, .in_w = 32, .in_h = 32, .center_offset = 0.5f,
				.iou_threshold = 0.6f, .per_class_nms = 1 };
	vg_detection out[8];
	int n = vg_decode_nanodet(lv, 2, &p, 0.5f, out, 8);
	CHECK_MSG(n == 2, "%d", n);
	CHECK(out[0].class_id == 2 && NEAR(out[0].score, 0.8f));
	CHECK_MSG(box_is(&out[0], 4.0f / 32, 12.0f / 32, 24.0f / 32, 20.0f / 32), "%g %g %g %g", (double)out[0].x0,
		  (double)out[0].y0, (double)out[0].x1, (double)out[0].y1);
	CHECK(out[1].class_id == 0 && box_is(&out[1], 8.0f / 32, 0, 1, 24.0f / 32));
	/* NanoDet-Plus puts cell centres on the corner: everything moves half a stride up and left. */
	p.center_offset = 0;
	CHECK(vg_decode_nanodet(lv, 2, &p, 0.5f, out, 8) == 2);
	CHECK(box_is(&out[0], 0, 8.0f / 32, 20.0f / 32, 16.0f / 32));
	/* Without NMS the neighbour survives; logits through the sigmoid. */
	p.center_offset = 0.5f;
	p.iou_threshold = 0;
	CHECK(vg_decode_nanodet(lv, 2, &p, 0.5f, out, 8) == 3);
	CHECK(NEAR(out[1].score, 0.7f));
	for (int i = 0; i < 16 * NC; i++)
		s0[i] = s0[i] > 0 ? logf(s0[i] / (1 - s0[i])) : -10;
	for (int i = 0; i < 4 * NC; i++)
		s1[i] = s1[i] > 0 ? logf(s1[i] / (1 - s1[i])) : -10;
	p.sigmoid = 1;
	p.iou_threshold = 0.6f;
	CHECK(vg_decode_nanodet(lv, 2, &p, 0.5f, out, 8) == 2);
	CHECK(NEAR(out[0].score, 0.8f) && box_is(&out[0], 4.0f / 32, 12.0f / 32, 24.0f / 32, 20.0f / 32));
}

/* Fixed-size MediaPipe anchors on strides given; the input size as given. */
static vg_anchor_config fixed_anchors(int w, int h, int n, const int *strides)
{
	vg_anchor_config c;
	memset(&c, 0, sizeof c);
	vg_anchor_config_mediapipe(&c);
	c.input_w = w;
	c.input_h = h;
	c.n_layers = n;
	for (int i = 0; i < n; i++)
		c.strides[i] = strides[i];
	return c;
}

TEST(blazeface_anchors_mediapipe)
{
	/* The front model: 128x128, strides 8, 16, 16, 16, two anchors per layer. */
	vg_anchor_config front = fixed_anchors(128, 128, 4, (const int[]){ 8, 16, 16, 16 });
	static float xy[4 * 1024];
	CHECK(vg_anchors_generate(&front, NULL, 0) == 896);
	CHECK(vg_anchors_generate(&front, xy, 1024) == 896);
	int counts[4], strides[4];
	CHECK(vg_anchors_grids(&front, counts, strides, 4) == 2);
	CHECK(counts[0] == 512 && counts[1] == 384 && strides[0] == 8 && strides[1] == 16);
	/* First anchors: cell (0, 0) of the 16x16 grid, twice. */
	CHECK(NEAR(xy[0], 0.5f / 16) && NEAR(xy[1], 0.5f / 16) && NEAR(xy[4], 0.5f / 16) && NEAR(xy[5], 0.5f / 16));
	CHECK(NEAR(xy[8], 1.5f / 16) && NEAR(xy[9], 0.5f / 16));
	CHECK(NEAR(xy[2], 1.0f) && NEAR(xy[3], 1.0f));
	/* Anchor 512 starts the 8x8 grid; the last is its bottom-right cell, six per cell. */
	CHECK(NEAR(xy[512 * 4], 0.5f / 8) && NEAR(xy[512 * 4 + 1], 0.5f / 8));
	CHECK(NEAR(xy[517 * 4], 0.5f / 8) && NEAR(xy[518 * 4], 1.5f / 8));
	CHECK(NEAR(xy[895 * 4], 7.5f / 8) && NEAR(xy[895 * 4 + 1], 7.5f / 8));
	/* The back model: 256x256, strides 16, 32, 32, 32: the same 896. */
	vg_anchor_config back = fixed_anchors(256, 256, 4, (const int[]){ 16, 32, 32, 32 });
	CHECK(vg_anchors_generate(&back, xy, 1024) == 896);
	CHECK(NEAR(xy[895 * 4], 7.5f / 8));
	vg_anchor_config bad = fixed_anchors(0, 128, 1, (const int[]){ 8 });
	CHECK(vg_anchors_generate(&bad, xy, 1024) < 0);
}

TEST(blazeface_decode_and_weighted_nms)
{
	float anchors[] = { 0.5f, 0.5f, 1, 1, 0.52f, 0.5f, 1, 1, 0.1f, 0.1f, 1, 1, 0.9f, 0.9f, 1, 1 };
	/* x, y, w, h in 128-pixel units, then 6 keypoints. */
	float boxes[4][16] = { { 0 } };
	float b0[16] = { 12.8f, -6.4f, 25.6f, 38.4f, 0, 0, 12.8f, 12.8f };
	memcpy(boxes[0], b0, sizeof b0);
	float b1[16] = { 12.8f - 0.02f * 128, -6.4f, 25.6f, 38.4f }; /* centred 0.6, 0.45 like the first */
	memcpy(boxes[1], b1, sizeof b1);
	boxes[1][4] = -0.02f * 128;                                /* keypoint 0 at 0.5, 0.5 like the first's */
	boxes[1][6] = 12.8f - 0.02f * 128 + 6.4f;                  /* keypoint 1 at x 0.65 */
	boxes[1][7] = 12.8f;
	float b2[16] = { 0, 0, 12.8f, 12.8f };
	memcpy(boxes[2], b2, sizeof b2);
	float scores[4] = { 3.0f, 1.0f, 1000.0f, -1000.0f };
	vg_blazeface_params p = { .anchors = anchors, .n = 4, .coords = 16, .num_keypoints = 6, .x_scale = 128,
				  .y_scale = 128, .w_scale = 128, .h_scale = 128, .score_clip = 100,
				  .iou_threshold = 0.3f, .weighted = 1 };
	vg_detection out[4];
	int n = vg_decode_blazeface(&boxes[0][0], scores, &p, 0.5f, out, 4);
	CHECK_MSG(n == 2, "%d", n);
	/* The clipped logit 1000 scores 1 and comes first: anchor (0.1, 0.1), 0.1 x 0.1. */
	CHECK(NEAR(out[0].score, 1.0f) && box_is(&out[0], 0.05f, 0.05f, 0.15f, 0.15f));
	/* The other two overlap: one box centred (0.6, 0.45), 0.2 x 0.3, averaged with weights 0.953 and 0.731. */
	float s0 = 1 / (1 + expf(-3.0f)), s1 = 1 / (1 + expf(-1.0f));
	CHECK(NEAR(out[1].score, s0));
	CHECK_MSG(box_is(&out[1], 0.5f, 0.3f, 0.7f, 0.6f), "%g %g %g %g", (double)out[1].x0, (double)out[1].y0,
		  (double)out[1].x1, (double)out[1].y1);
	CHECK(out[1].n_keypoints == 6);
	CHECK(NEAR(out[1].keypoints[0].x, 0.5f) && NEAR(out[1].keypoints[0].y, 0.5f));
	float kx = (s0 * 0.6f + s1 * 0.65f) / (s0 + s1);
	CHECK_MSG(NEAR(out[1].keypoints[1].x, kx) && NEAR(out[1].keypoints[1].y, 0.6f), "%g",
		  (double)out[1].keypoints[1].x);
	/* Plain NMS keeps the best box as it is. */
	p.weighted = 0;
	CHECK(vg_decode_blazeface(&boxes[0][0], scores, &p, 0.5f, out, 4) == 2);
	CHECK(NEAR(out[1].keypoints[1].x, 0.6f));
	CHECK(box_is(&out[1], 0.5f, 0.3f, 0.7f, 0.6f));
	CHECK(vg_decode_blazeface(&boxes[0][0], scores, &p, 0.999f, out, 4) == 1);
}

static int choose(const nn_tensor *outs, int n, int in_w, int in_h, const char *decoder, vg_decoder_kind *kind,
		  char *reason, char *err)
{
	return vg_decoder_choose(outs, n, in_w, in_h, NULL, decoder, kind, reason, 512, err, 512);
}

TEST(decoder_choice_by_shapes)
{
	vg_decoder_kind kind;
	char reason[512], err[512];
	/* centernet.json: wh, keypoints, detections. */
	nn_tensor cn[3] = { shaped("tower_0/wh", 4, 1, 128, 128, 4), shaped("tower_0/keypoints", 4, 1, 128, 128, 80),
			    shaped("tower_0/detections", 3, 1, 100, 6, 0) };
	CHECK(choose(cn, 3, 512, 512, NULL, &kind, reason, err) == 0);
	CHECK_MSG(kind == VG_DECODER_CENTERNET && strstr(reason, "[1,100,6]"), "%s", reason);
	CHECK(choose(cn, 3, 512, 512, "centernet-raw", &kind, reason, err) == 0);
	CHECK_MSG(kind == VG_DECODER_CENTERNET_RAW && strstr(reason, "tower_0/keypoints") && strstr(reason, "stride 4") &&
			  strstr(reason, "--decoder"),
		  "%s", reason);

	/* nanodet.json's six outputs, in its order. */
	nn_tensor nd[6] = { shaped("Identity", 3, 1, 2704, 80, 0), shaped("Identity_1", 3, 1, 676, 80, 0),
			    shaped("Identity_2", 3, 1, 169, 80, 0), shaped("Identity_3", 3, 1, 2704, 44, 0),
			    shaped("Identity_4", 3, 1, 676, 44, 0), shaped("Identity_5", 3, 1, 169, 44, 0) };
	CHECK(choose(nd, 6, 416, 416, NULL, &kind, reason, err) == 0);
	CHECK_MSG(kind == VG_DECODER_NANODET && strstr(reason, "strides 8, 16, 32") && strstr(reason, "11 bins"), "%s",
		  reason);
	/* Shuffled, the pairs are found all the same. */
	nn_tensor nd2[6] = { nd[5], nd[0], nd[4], nd[2], nd[3], nd[1] };
	CHECK(choose(nd2, 6, 416, 416, NULL, &kind, reason, err) == 0 && kind == VG_DECODER_NANODET);
	/* A wrong input size fits no stride. */
	CHECK(choose(nd, 6, 320, 320, "nanodet", &kind, reason, err) < 0);
	CHECK_MSG(strstr(err, "fit no stride"), "%s", err);

	/* blazeface.json (256x256) and blazeface-front.json (128x128): scores and boxes per grid. */
	nn_tensor bf[4] = { shaped("Identity_3", 3, 1, 384, 16, 0), shaped("Identity", 3, 1, 512, 1, 0),
			    shaped("Identity_1", 3, 1, 384, 1, 0), shaped("Identity_2", 3, 1, 512, 16, 0) };
	CHECK(choose(bf, 4, 256, 256, NULL, &kind, reason, err) == 0);
	CHECK_MSG(kind == VG_DECODER_BLAZEFACE && strstr(reason, "896") && strstr(reason, "16 (512 anchors)"), "%s",
		  reason);
	CHECK(choose(bf, 4, 128, 128, NULL, &kind, reason, err) == 0 && kind == VG_DECODER_BLAZEFACE);
	CHECK(strstr(reason, "8 (512 anchors)"));
	/* MediaPipe's TFLite export: one pair for all 896 anchors. */
	nn_tensor bt[2] = { shaped("regressors", 3, 1, 896, 16, 0), shaped("classificators", 3, 1, 896, 1, 0) };
	CHECK(choose(bt, 2, 128, 128, NULL, &kind, reason, err) == 0 && kind == VG_DECODER_BLAZEFACE);

	/* The existing two still come out as before. */
	nn_tensor pp[4] = { shaped("TFLite_Detection_PostProcess", 3, 1, 10, 4, 0),
			    shaped("TFLite_Detection_PostProcess:1", 2, 1, 10, 0, 0),
			    shaped("TFLite_Detection_PostProcess:2", 2, 1, 10, 0, 0),
			    shaped("TFLite_Detection_PostProcess:3", 1, 1, 0, 0, 0) };
	CHECK(choose(pp, 4, 300, 300, NULL, &kind, reason, err) == 0 && kind == VG_DECODER_POSTPROCESSED);
	nn_tensor cl[1] = { shaped("probs", 2, 1, 1001, 0, 0) };
	CHECK(choose(cl, 1, 224, 224, NULL, &kind, reason, err) == 0 && kind == VG_DECODER_CLASSIFIER);

	/* A YOLOv5 [1,25200,6] (3 anchors on the 8400 cells of 640x640) is not taken for CenterNet. */
	nn_tensor yolo[1] = { shaped("output", 3, 1, 25200, 6, 0) };
	CHECK(choose(yolo, 1, 640, 640, NULL, &kind, reason, err) == 0);
	CHECK_MSG(kind == VG_DECODER_YOLOV5 && strstr(reason, "3 anchors"), "%s", reason);
	/* Not recognised: rows that fit no grid; the message lists the decoders. */
	nn_tensor odd[1] = { shaped("output", 3, 1, 25201, 6, 0) };
	CHECK(choose(odd, 1, 640, 640, NULL, &kind, reason, err) < 0);
	CHECK_MSG(strstr(err, "--decoder") && strstr(err, "centernet-raw") && strstr(err, "yolo-fastestv2"), "%s", err);
	/* ...unless named. */
	CHECK(choose(yolo, 1, 640, 640, "centernet", &kind, reason, err) == 0 && kind == VG_DECODER_CENTERNET);
	/* A named decoder that does not fit says why. */
	CHECK(choose(cl, 1, 224, 224, "nanodet", &kind, reason, err) < 0);
	CHECK_MSG(strstr(err, "do not fit the 'nanodet' decoder") && strstr(err, "pairs"), "%s", err);
	CHECK(choose(cl, 1, 224, 224, "yolo", &kind, reason, err) < 0);
	CHECK_MSG(strstr(err, "unknown decoder 'yolo'"), "%s", err);
}

TEST(decoder_choice_from_settings)
{
	vg_decoder_kind kind;
	char reason[512], err[512];
	nn_tensor cn[3] = { shaped("tower_0/wh", 4, 1, 128, 128, 4), shaped("tower_0/keypoints", 4, 1, 128, 128, 80),
			    shaped("tower_0/detections", 3, 1, 100, 6, 0) };
	vg_model_config cfg;
	vg_model_config_init(&cfg);
	snprintf(cfg.decoder, sizeof cfg.decoder, "centernet-raw");
	snprintf(cfg.origin, sizeof cfg.origin, "sidecar /m/centernet.vigil.json");
	CHECK(vg_decoder_choose(cn, 3, 512, 512, &cfg, NULL, &kind, reason, sizeof reason, err, sizeof err) == 0);
	CHECK_MSG(kind == VG_DECODER_CENTERNET_RAW && strstr(reason, "named by sidecar /m/centernet.vigil.json"), "%s",
		  reason);
	/* --decoder wins over the settings. */
	CHECK(vg_decoder_choose(cn, 3, 512, 512, &cfg, "centernet", &kind, reason, sizeof reason, err, sizeof err) == 0);
	CHECK(kind == VG_DECODER_CENTERNET && strstr(reason, "named by --decoder"));
	/* Anchors from the settings: one stride of 4 anchors per cell on a 64x32 input. */
	vg_model_config_init(&cfg);
	cfg.has_anchors = 1;
	cfg.anchors = fixed_anchors(0, 0, 2, (const int[]){ 16, 16 });
	nn_tensor one[2] = { shaped("s", 3, 1, 32, 1, 0), shaped("b", 3, 1, 32, 4, 0) };
	cfg.keypoints = 0;
	CHECK(vg_decoder_choose(one, 2, 64, 32, &cfg, "blazeface", &kind, reason, sizeof reason, err, sizeof err) == 0);
	CHECK_MSG(strstr(reason, "32 SSD anchors"), "%s", reason);
	/* The palm detector: strides 8, 16, 32, 32, 32 make 2944 anchors; score and box in one output. */
	cfg.anchors = fixed_anchors(0, 0, 5, (const int[]){ 8, 16, 32, 32, 32 });
	cfg.keypoints = 7;
	nn_tensor palm[1] = { shaped("Identity", 3, 1, 2944, 19, 0) };
	CHECK(vg_decoder_choose(palm, 1, 256, 256, &cfg, "blazeface", &kind, reason, sizeof reason, err, sizeof err) ==
	      0);
	CHECK_MSG(strstr(reason, "[1,2944,1+18]") && strstr(reason, "7 keypoints"), "%s", reason);
}

TEST_SUITE(decoders, TEST_ENTRY(centernet_in_graph_rows), TEST_ENTRY(centernet_raw_single_peak),
	   TEST_ENTRY(centernet_raw_peaks_order_border_top_k), TEST_ENTRY(nanodet_distribution_peaked_at_known_bins),
	   TEST_ENTRY(blazeface_anchors_mediapipe), TEST_ENTRY(blazeface_decode_and_weighted_nms),
	   TEST_ENTRY(decoder_choice_by_shapes), TEST_ENTRY(decoder_choice_from_settings));
