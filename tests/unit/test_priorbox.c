/*
 * Caffe SSD priors and DetectionOutput decoding: priors computed by hand
 * from PriorBoxLayer's rules (order per cell, flip, repeated and unit
 * ratios, steps, offsets, clip, several min sizes), the built-in layers of
 * OpenCV's face detector, decoding and per-class NMS on synthetic heads,
 * the sidecar's "priors" keys and the decoder's choice by output sizes.
 * (test_ssd_priorbox.py compares the same code with OpenCV's own layers.)
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

#define NEAR(a, b) (fabsf((float)(a) - (float)(b)) < 1e-6f)

static int box_is(const float *p, float x0, float y0, float x1, float y1)
{
	return NEAR(p[0], x0) && NEAR(p[1], y0) && NEAR(p[2], x1) && NEAR(p[3], y1);
}

static vg_prior_layer layer(int fw, int fh, float min, float max, float step)
{
	vg_prior_layer l;
	memset(&l, 0, sizeof l);
	l.feature_w = fw;
	l.feature_h = fh;
	l.n_sizes = 1;
	l.min_size[0] = min;
	l.max_size[0] = max;
	l.flip = 1;
	l.step_w = l.step_h = step;
	l.offset = 0.5f;
	return l;
}

TEST(priors_order_and_sizes_by_hand)
{
	/* One 2x1 grid on a 100x50 input, min 20, max 80, ratios 2 (flipped) and 1 (skipped) and 2 again (repeat). */
	vg_prior_config c = { .n_layers = 1 };
	c.layers[0] = layer(2, 1, 20, 80, 0);
	c.layers[0].n_ratios = 3;
	c.layers[0].aspect_ratios[0] = 2;
	c.layers[0].aspect_ratios[1] = 1;
	c.layers[0].aspect_ratios[2] = 2;
	CHECK(vg_prior_layer_per_cell(&c.layers[0]) == 4);
	float p[8 * 4];
	CHECK(vg_priors_generate(&c, 100, 50, NULL, 0, NULL, 0) == 8);
	CHECK(vg_priors_generate(&c, 100, 50, p, 8, NULL, 0) == 8);
	/* No step: 100 / 2 = 50 pixels across, 50 / 1 down. Cell 0 centred at (25, 25). */
	CHECK(box_is(p + 0, 15 / 100.f, 15 / 50.f, 35 / 100.f, 35 / 50.f));             /* min: 20 x 20 */
	CHECK(box_is(p + 4, (25 - 20) / 100.f, 5 / 50.f, 45 / 100.f, 45 / 50.f));        /* sqrt(20 * 80) = 40 */
	float w = 20 * sqrtf(2), h = 20 / sqrtf(2);
	CHECK(box_is(p + 8, (25 - w / 2) / 100, (25 - h / 2) / 50, (25 + w / 2) / 100, (25 + h / 2) / 50)); /* 2 */
	CHECK(box_is(p + 12, (25 - h / 2) / 100, (25 - w / 2) / 50, (25 + h / 2) / 100, (25 + w / 2) / 50)); /* 1/2 */
	/* Cell 1, centred at (75, 25): the same boxes moved. */
	CHECK(box_is(p + 16, 65 / 100.f, 15 / 50.f, 85 / 100.f, 35 / 50.f));
	/* Without flip: min, the max box, ratio 2 only. */
	c.layers[0].flip = 0;
	CHECK(vg_prior_layer_per_cell(&c.layers[0]) == 3);
	/* No max size: min and ratios only; clip keeps boxes inside. */
	c.layers[0].max_size[0] = 0;
	c.layers[0].flip = 1;
	c.clip = 1;
	/* On a 100x20 input: cell 0 centred at (25, 10). */
	CHECK(vg_priors_generate(&c, 100, 20, p, 8, NULL, 0) == 6);
	CHECK(box_is(p + 0, 15 / 100.f, 0, 35 / 100.f, 1));
	for (int i = 0; i < 6 * 4; i++)
		CHECK(p[i] >= 0 && p[i] <= 1);
	CHECK(box_is(p + 8, (25 - h / 2) / 100, 0, (25 + h / 2) / 100, 1)); /* 1/2: 28 high, 14 wide, clipped */
	c.clip = 0;
	CHECK(vg_priors_generate(&c, 100, 20, p, 8, NULL, 0) == 6);
	CHECK(box_is(p + 8, (25 - h / 2) / 100, (10 - w / 2) / 20, (25 + h / 2) / 100, (10 + w / 2) / 20));
}

TEST(priors_steps_offsets_and_several_min_sizes)
{
	/* Steps given, feature map derived: ceil(30 / 8) = 4 cells a side; offset 0 puts centres on corners. */
	vg_prior_config c = { .n_layers = 2 };
	c.layers[0] = layer(0, 0, 4, 0, 8);
	c.layers[0].offset = 0;
	c.layers[1] = layer(1, 1, 10, 0, 0);
	/* Two min sizes with a max each: per size, min then sqrt(min * max). */
	c.layers[1].n_sizes = 2;
	c.layers[1].min_size[1] = 20;
	c.layers[1].max_size[0] = 40;
	c.layers[1].max_size[1] = 80;
	CHECK(vg_priors_generate(&c, 30, 30, NULL, 0, NULL, 0) == 16 + 4);
	float p[20 * 4];
	CHECK(vg_priors_generate(&c, 30, 30, p, 20, NULL, 0) == 20);
	CHECK(box_is(p + 0, -2 / 30.f, -2 / 30.f, 2 / 30.f, 2 / 30.f));       /* cell (0, 0) at (0, 0) */
	CHECK(box_is(p + 4, 6 / 30.f, -2 / 30.f, 10 / 30.f, 2 / 30.f));       /* cell (1, 0) at (8, 0): row by row */
	CHECK(box_is(p + 4 * 4, -2 / 30.f, 6 / 30.f, 2 / 30.f, 10 / 30.f));   /* cell (0, 1) */
	float *q = p + 16 * 4;                                                /* the 1x1 layer: centre 15, 15 */
	CHECK(box_is(q + 0, 10 / 30.f, 10 / 30.f, 20 / 30.f, 20 / 30.f));     /* min 10 */
	CHECK(box_is(q + 4, (15 - 10) / 30.f, 5 / 30.f, 25 / 30.f, 25 / 30.f)); /* sqrt(10 * 40) = 20 */
	CHECK(box_is(q + 8, 5 / 30.f, 5 / 30.f, 25 / 30.f, 25 / 30.f));       /* min 20 */
	CHECK(box_is(q + 12, -5 / 30.f, -5 / 30.f, 35 / 30.f, 35 / 30.f));    /* sqrt(20 * 80) = 40 */
	/* max writes no further than asked. */
	float few[3 * 4 + 1];
	few[12] = 42;
	CHECK(vg_priors_generate(&c, 30, 30, few, 3, NULL, 0) == 20 && few[12] == 42);
	/* Invalid layers say why. */
	char err[200];
	c.layers[1].max_size[1] = 10;
	CHECK(vg_priors_generate(&c, 30, 30, NULL, 0, err, sizeof err) < 0 && strstr(err, "prior layer 1"));
	c.layers[1].max_size[1] = 80;
	c.layers[0].step_w = c.layers[0].step_h = 0;
	CHECK(vg_priors_generate(&c, 30, 30, NULL, 0, err, sizeof err) < 0 && strstr(err, "feature map size or its step"));
	c.n_layers = 0;
	CHECK(vg_priors_generate(&c, 30, 30, NULL, 0, err, sizeof err) < 0);
}

TEST(priors_opencv_face_detector_builtin)
{
	nn_tensor in = shaped("data", 4, 1, 300, 300, 3);
	vg_model_config c;
	CHECK(vg_model_config_builtin(&c, "/m/opencv_face_detector_uint8.pb", &in, NULL, 0) == 1);
	CHECK(!strcmp(c.decoder, "ssd-priorbox") && c.bgr && c.mean[1] == 177 && c.std[0] == 1);
	CHECK(c.has_sampling && c.sampling == VG_SAMPLING_LINEAR && c.resize == VG_RESIZE_STRETCH);
	CHECK(c.n_labels == 1 && !strcmp(c.label_names[0], "face") && c.iou == 0.45f && c.top_k == 400);
	/* 38x38x4 + 19x19x6 + 10x10x6 + 5x5x6 + 5x5x4 + 5x5x4: OpenCV's mbox_priorbox holds 8892. */
	int n = vg_priors_generate(&c.priors, 300, 300, NULL, 0, NULL, 0);
	CHECK_MSG(n == 8892, "%d", n);
	float *p = malloc((size_t)n * 4 * sizeof *p);
	CHECK(vg_priors_generate(&c.priors, 300, 300, p, n, NULL, 0) == n);
	/* Layer 0 cell (0, 0) at (4, 4): min 30, sqrt(30 * 60), ratio 2, ratio 1/2 (OpenCV's first four). */
	CHECK(box_is(p + 0, -11 / 300.f, -11 / 300.f, 19 / 300.f, 19 / 300.f));
	float s = sqrtf(1800), w = 30 * sqrtf(2);
	CHECK(box_is(p + 4, (4 - s / 2) / 300, (4 - s / 2) / 300, (4 + s / 2) / 300, (4 + s / 2) / 300));
	CHECK(box_is(p + 8, (4 - w / 2) / 300, (4 - w / 4) / 300, (4 + w / 2) / 300, (4 + w / 4) / 300));
	/* The last layer's first prior: cell (0, 0) of 5x5 at step 300, centre 150; min 264. */
	float *last = p + (size_t)(n - 25 * 4) * 4;
	CHECK(box_is(last, (150 - 132) / 300.f, (150 - 132) / 300.f, (150 + 132) / 300.f, (150 + 132) / 300.f));
	free(p);
	/* Another input shape: no built-in settings, and a note that says why. */
	char note[256];
	nn_tensor other = shaped("data", 4, 1, 224, 224, 3);
	vg_model_config_free(&c);
	CHECK(vg_model_config_builtin(&c, "opencv_face_detector.pb", &other, note, sizeof note) == 0);
	CHECK(strstr(note, "[1,300,300,3]"));
	/* The emotion model: grey 64x64, [-1, 1], seven labels. */
	nn_tensor grey = shaped("input_1", 4, 1, 64, 64, 1);
	CHECK(vg_model_config_builtin(&c, "x/fer2013_mini_XCEPTION.102-0.66.hdf5", &grey, NULL, 0) == 1);
	CHECK(c.n_labels == 7 && !strcmp(c.label_names[5], "surprise") && c.mean[0] == 127.5f && c.std[2] == 127.5f);
	vg_model_config_free(&c);
}

/* Priors as (xmin, ymin, xmax, ymax) for decode tests. */
static const float test_priors[4][4] = {
	{ 0.1f, 0.1f, 0.3f, 0.3f },
	{ 0.12f, 0.1f, 0.32f, 0.3f }, /* overlaps prior 0 by IoU 0.818 */
	{ 0.6f, 0.6f, 0.9f, 0.8f },
	{ 0.9f, 0.9f, 1.3f, 1.3f },   /* reaches past the input */
};

TEST(detection_output_decode_nms_and_classes)
{
	vg_detection_output_params p = {
		.num_classes = 3, .background_label_id = 0, .variances = { 0.1f, 0.1f, 0.2f, 0.2f },
		.nms_threshold = 0.45f, .top_k = 400, .keep_top_k = 200,
	};
	float loc[4 * 4] = { 0 };
	/* Prior 2 moved by half its width right (0.5 / 0.1 = 5) and made e^0.2 taller (1 / 0.2 = 5... of 0.2). */
	loc[2 * 4 + 0] = 5;
	loc[2 * 4 + 3] = 1;
	/* Scores: background, class 1, class 2. */
	float conf[4 * 3] = {
		0.1f, 0.8f, 0.1f,   /* prior 0: class 1 */
		0.1f, 0.7f, 0.2f,   /* prior 1: class 1, suppressed by prior 0 */
		0.2f, 0.1f, 0.7f,   /* prior 2: class 2 */
		0.05f, 0.9f, 0.05f, /* prior 3: class 1, clipped */
	};
	vg_detection out[8];
	int n = vg_decode_ssd_priorbox(loc, conf, &test_priors[0][0], 4, &p, 0.5f, out, 8);
	CHECK_MSG(n == 3, "%d", n);
	/* Best first; class ids count from the first class after the background. */
	CHECK(out[0].class_id == 0 && NEAR(out[0].score, 0.9f));
	CHECK(NEAR(out[0].x0, 0.9f) && NEAR(out[0].x1, 1) && NEAR(out[0].y1, 1));
	CHECK(out[1].class_id == 0 && NEAR(out[1].score, 0.8f) && NEAR(out[1].x0, 0.1f) && NEAR(out[1].y1, 0.3f));
	CHECK(out[2].class_id == 1 && NEAR(out[2].score, 0.7f));
	float h = expf(0.2f) * 0.2f;
	CHECK(NEAR(out[2].x0, 0.75f) && NEAR(out[2].x1, 1.0f) && NEAR(out[2].y0, 0.7f - h / 2) &&
	      NEAR(out[2].y1, 0.7f + h / 2));
	/* NMS is per class: prior 1 as class 2 survives prior 0's class 1. */
	conf[1 * 3 + 2] = 0.75f;
	n = vg_decode_ssd_priorbox(loc, conf, &test_priors[0][0], 4, &p, 0.5f, out, 8);
	CHECK(n == 4 && out[2].class_id == 1 && NEAR(out[2].score, 0.75f) && NEAR(out[2].x0, 0.12f));
	/* No suppression at an overlap of 1; max caps the output. */
	p.nms_threshold = 1;
	CHECK(vg_decode_ssd_priorbox(loc, conf, &test_priors[0][0], 4, &p, 0.5f, out, 8) == 5);
	CHECK(vg_decode_ssd_priorbox(loc, conf, &test_priors[0][0], 4, &p, 0.5f, out, 2) == 2);
	/* top_k 1 per class before NMS, keep_top_k 2 over all. */
	p.top_k = 1;
	CHECK(vg_decode_ssd_priorbox(loc, conf, &test_priors[0][0], 4, &p, 0.5f, out, 8) == 2);
	p.top_k = 400;
	p.keep_top_k = 2;
	n = vg_decode_ssd_priorbox(loc, conf, &test_priors[0][0], 4, &p, 0.5f, out, 8);
	CHECK(n == 2 && NEAR(out[0].score, 0.9f) && NEAR(out[1].score, 0.8f));
	/* A box wholly outside the input is dropped. */
	loc[3 * 4 + 0] = 50;
	p.keep_top_k = 200;
	n = vg_decode_ssd_priorbox(loc, conf, &test_priors[0][0], 4, &p, 0.85f, out, 8);
	CHECK(n == 0);
}

TEST(detection_output_ties_keep_prior_order)
{
	/* Two identical boxes with equal scores: the earlier prior is kept, as Caffe's stable sort keeps it. */
	const float priors[2][4] = { { 0.2f, 0.2f, 0.4f, 0.4f }, { 0.2f, 0.2f, 0.4f, 0.4f } };
	float loc[8] = { 0, 0, 0, 0, 0, 0, 0.5f, 0 }; /* the second one wider */
	float conf[4] = { 0.4f, 0.6f, 0.4f, 0.6f };
	vg_detection_output_params p = { .num_classes = 2, .background_label_id = 0, .variances = { 1, 1, 1, 1 },
					 .nms_threshold = 0.45f, .top_k = 400, .keep_top_k = 200 };
	vg_detection out[2];
	CHECK(vg_decode_ssd_priorbox(loc, conf, &priors[0][0], 2, &p, 0.5f, out, 2) == 1);
	CHECK(NEAR(out[0].x1, 0.4f));
	/* No background: every column is a class. */
	p.background_label_id = -1;
	CHECK(vg_decode_ssd_priorbox(loc, conf, &priors[0][0], 2, &p, 0.3f, out, 2) == 2);
}

TEST(sidecar_priors)
{
	const char *text = "{\"decoder\": \"ssd-priorbox\", \"variances\": [0.1, 0.1, 0.2, 0.2], \"clip\": true,\n"
			   " \"priors\": [{\"min_size\": 30, \"max_size\": 60, \"aspect_ratios\": [2], \"step\": 8,\n"
			   "              \"feature_map\": [38, 38]},\n"
			   "             {\"min_size\": [60, 90], \"aspect_ratios\": [2, 3], \"flip\": false,\n"
			   "              \"step_w\": 16, \"step_h\": 12, \"offset\": 0}],\n"
			   " \"crop_margin\": 0.1}";
	vg_model_config c;
	char err[512];
	CHECK_MSG(vg_model_config_parse(&c, text, strlen(text), "/m/ssd.vigil.json", err, sizeof err) == 0, "%s", err);
	CHECK(c.has_priors && c.priors.n_layers == 2 && c.has_clip && c.priors.clip && c.has_variances);
	CHECK(c.priors.variances[2] == 0.2f && c.has_crop_margin && c.crop_margin == 0.1f);
	const vg_prior_layer *a = &c.priors.layers[0], *b = &c.priors.layers[1];
	CHECK(a->feature_w == 38 && a->feature_h == 38 && a->step_w == 8 && a->step_h == 8 && a->flip && a->offset == 0.5f);
	CHECK(a->n_sizes == 1 && a->max_size[0] == 60 && a->n_ratios == 1);
	CHECK(b->n_sizes == 2 && b->min_size[1] == 90 && b->max_size[0] == 0 && !b->flip && b->step_w == 16 &&
	      b->step_h == 12 && b->offset == 0 && b->n_ratios == 2);
	/* 38x38x4 and, on a 320x240 input, 20x20 cells of 2 sizes x 3 boxes. */
	CHECK(vg_priors_generate(&c.priors, 320, 240, NULL, 0, NULL, 0) == 38 * 38 * 4 + 20 * 20 * 6);
	/* Overlaid onto built-in settings. */
	nn_tensor in = shaped("data", 4, 1, 300, 300, 3);
	vg_model_config base;
	CHECK(vg_model_config_builtin(&base, "opencv_face_detector.pb", &in, NULL, 0) == 1);
	vg_model_config_overlay(&base, &c);
	CHECK(base.priors.n_layers == 2 && base.priors.clip && base.crop_margin == 0.1f && base.mean[1] == 177);
	vg_model_config_free(&base);

	static const struct {
		const char *text, *want;
	} bad[] = {
		{ "{\"priors\": []}", "array of 1 to 12 prior layers" },
		{ "{\"priors\": [3]}", "priors[0]" },
		{ "{\"priors\": [{\"step\": 8}]}", "'min_size' is missing" },
		{ "{\"priors\": [{\"min_size\": 30}]}", "'feature_map' or its 'step'" },
		{ "{\"priors\": [{\"min_size\": 30, \"step\": 8, \"step_w\": 8}]}", "not both" },
		{ "{\"priors\": [{\"min_size\": 30, \"step_w\": 8}]}", "both 'step_w' and 'step_h'" },
		{ "{\"priors\": [{\"min_size\": [30, 40], \"max_size\": 60, \"step\": 8}]}", "as many max sizes" },
		{ "{\"priors\": [{\"min_size\": 30, \"max_size\": 20, \"step\": 8}]}", "above its min_size" },
		{ "{\"priors\": [{\"min_size\": 30, \"step\": 8, \"feature_map\": [0, 3]}]}", "priors[0].feature_map" },
		{ "{\"priors\": [{\"min_size\": -1, \"step\": 8}]}", "priors[0].min_size" },
		{ "{\"priors\": [{\"min_size\": 30, \"step\": 8, \"sizes\": 3}]}", "unknown key in a prior layer" },
		{ "{\"priors\": [{\"min_size\": 30, \"step\": 8, \"aspect_ratios\": [1,2,3,4,5,6,7,8,9]}]}",
		  "aspect_ratios" },
		{ "{\"variances\": [0.1, 0.1, 0.2]}", "4 positive numbers" },
		{ "{\"variances\": 0.1}", "4 positive numbers" },
		{ "{\"clip\": \"yes\"}", "true or false" },
		{ "{\"crop_margin\": -0.1}", "crop_margin" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		vg_model_config x;
		err[0] = '\0';
		CHECK_MSG(vg_model_config_parse(&x, bad[i].text, strlen(bad[i].text), "/m/s.vigil.json", err, sizeof err) < 0,
			  "accepted %s", bad[i].text);
		CHECK_MSG(strstr(err, "/m/s.vigil.json") && strstr(err, bad[i].want), "%s: got '%s'", bad[i].text, err);
	}
}

TEST(decoder_choice_ssd_priorbox)
{
	nn_tensor in = shaped("data", 4, 1, 300, 300, 3);
	vg_model_config cfg;
	CHECK(vg_model_config_builtin(&cfg, "opencv_face_detector_uint8.pb", &in, NULL, 0) == 1);
	vg_decoder_kind kind;
	char reason[512], err[512];
	/* The .pb's two outputs, either order: told apart by size. */
	nn_tensor outs[2] = { shaped("mbox_conf_flatten", 2, 1, 8892 * 2, 0, 0), shaped("mbox_loc", 2, 1, 8892 * 4, 0, 0) };
	CHECK_MSG(vg_decoder_choose(outs, 2, 300, 300, &cfg, NULL, &kind, reason, sizeof reason, err, sizeof err) == 0, "%s",
		  err);
	CHECK_MSG(kind == VG_DECODER_SSD_PRIORBOX && strstr(reason, "8892 priors") && strstr(reason, "2 classes") &&
			  strstr(reason, "'mbox_loc'") && strstr(reason, "face detector"),
		  "%s", reason);
	/* Wrong sizes: an error naming both outputs. */
	outs[1] = shaped("mbox_loc", 2, 1, 8732 * 4, 0, 0);
	CHECK(vg_decoder_choose(outs, 2, 300, 300, &cfg, NULL, &kind, reason, sizeof reason, err, sizeof err) < 0);
	CHECK_MSG(strstr(err, "ssd-priorbox") && strstr(err, "8892 priors") && strstr(err, "[1,34928]"), "%s", err);
	/* Without priors in the settings, the decoder is never chosen by itself, and named it says what it lacks. */
	vg_model_config_free(&cfg);
	vg_model_config_init(&cfg);
	outs[1] = shaped("mbox_loc", 2, 1, 8892 * 4, 0, 0);
	CHECK(vg_decoder_choose(outs, 2, 300, 300, &cfg, "ssd-priorbox", &kind, reason, sizeof reason, err,
				sizeof err) < 0);
	CHECK_MSG(strstr(err, "\"priors\""), "%s", err);
}

TEST_SUITE(priorbox, TEST_ENTRY(priors_order_and_sizes_by_hand), TEST_ENTRY(priors_steps_offsets_and_several_min_sizes),
	   TEST_ENTRY(priors_opencv_face_detector_builtin), TEST_ENTRY(detection_output_decode_nms_and_classes),
	   TEST_ENTRY(detection_output_ties_keep_prior_order), TEST_ENTRY(sidecar_priors),
	   TEST_ENTRY(decoder_choice_ssd_priorbox));
