/*
 * Keypoint layouts, the MoveNet decoder on hand-made [1,1,17,3] outputs, and
 * how MoveNet models are recognised (by output shape and by file name).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "detect/decode.h"
#include "detect/detector.h"
#include "detect/keypoints.h"
#include "detect/model_config.h"
#include "shaped_tensor.h"
#include "test.h"

#define NEAR(a, b) (fabsf((float)(a) - (float)(b)) < 1e-5f)

TEST(keypoint_layouts_are_consistent)
{
	const vg_keypoint_layout *all[] = { &vg_keypoints_coco17, &vg_keypoints_blazeface, &vg_keypoints_blazepalm,
					    &vg_keypoints_pose_detector };
	const int counts[] = { 17, 6, 7, 4 };
	for (int i = 0; i < 4; i++) {
		const vg_keypoint_layout *l = all[i];
		CHECK_MSG(l->count == counts[i] && l->count <= VG_MAX_KEYPOINTS, "%s has %d", l->name, l->count);
		CHECK(vg_keypoint_layout_find(l->name) == l);
		for (int k = 0; k < l->count; k++) {
			CHECK(l->names[k] && l->names[k][0]);
			for (int j = 0; j < k; j++)
				CHECK_MSG(strcmp(l->names[j], l->names[k]) != 0, "%s: %s twice", l->name, l->names[k]);
		}
		for (int e = 0; e < l->n_edges; e++)
			CHECK(l->edges[e][0] < l->count && l->edges[e][1] < l->count &&
			      l->edges[e][0] != l->edges[e][1]);
	}
	CHECK(vg_keypoint_layout_find("coco18") == NULL && vg_keypoint_layout_find(NULL) == NULL);
	/* MoveNet's order and skeleton. */
	const vg_keypoint_layout *c = &vg_keypoints_coco17;
	CHECK(!strcmp(c->names[0], "nose") && !strcmp(c->names[5], "left_shoulder") &&
	      !strcmp(c->names[10], "right_wrist") && !strcmp(c->names[16], "right_ankle"));
	CHECK(c->n_edges == 18);
	int hips = 0, knee_ankle = 0;
	for (int e = 0; e < c->n_edges; e++) {
		hips += c->edges[e][0] == 11 && c->edges[e][1] == 12;
		knee_ankle += c->edges[e][0] == 14 && c->edges[e][1] == 16;
	}
	CHECK(hips == 1 && knee_ankle == 1);
	CHECK(!strcmp(vg_keypoints_blazeface.names[0], "right_eye") &&
	      !strcmp(vg_keypoints_blazeface.names[5], "left_ear_tragion"));
	CHECK(!strcmp(vg_keypoints_blazepalm.names[0], "wrist_center") &&
	      !strcmp(vg_keypoints_blazepalm.names[2], "middle_finger_mcp"));
	CHECK(!strcmp(vg_keypoints_pose_detector.names[0], "mid_hip_center") &&
	      !strcmp(vg_keypoints_pose_detector.names[2], "mid_shoulder_center"));
	/* Names of a detection's keypoints: none without a layout, none past its end. */
	vg_detection d = { .n_keypoints = 17, .layout = &vg_keypoints_blazeface };
	CHECK(!strcmp(vg_keypoint_name(&d, 2), "nose_tip") && vg_keypoint_name(&d, 6) == NULL);
	d.layout = NULL;
	CHECK(vg_keypoint_name(&d, 0) == NULL);
}

/* A person: keypoint k at x = 0.3 + 0.02k, y = 0.1 + 0.05k, scoring 0.6 but for three hidden ones. */
static void person(float out[17][3])
{
	for (int k = 0; k < 17; k++) {
		out[k][0] = 0.1f + 0.05f * (float)k; /* y */
		out[k][1] = 0.3f + 0.02f * (float)k; /* x */
		out[k][2] = 0.6f;
	}
	out[0][2] = 0.1f;   /* nose: hidden, and the top-most, so the box starts at the left eye */
	out[16][2] = 0.19f; /* right ankle: just below the keypoint threshold */
	out[15][2] = 0.2f;  /* left ankle: at it, so it counts */
}

TEST(movenet_decodes_one_person)
{
	float kp[17][3];
	person(kp);
	vg_detection d;
	CHECK(vg_decode_movenet(&kp[0][0], 17, 0.3f, VG_KEYPOINT_MIN_SCORE, &d) == 1);
	CHECK(!strcmp(d.label, "person") && d.class_id == 0 && !d.whole_frame);
	CHECK(d.layout == &vg_keypoints_coco17 && d.n_keypoints == 17);
	float mean = (14 * 0.6f + 0.1f + 0.19f + 0.2f) / 17;
	CHECK_MSG(NEAR(d.score, mean), "score %f, expected %f", d.score, mean);
	/* Rows are (y, x, score); keypoints are (x, y, score). */
	for (int k = 0; k < 17; k++)
		CHECK(NEAR(d.keypoints[k].x, kp[k][1]) && NEAR(d.keypoints[k].y, kp[k][0]) &&
		      NEAR(d.keypoints[k].score, kp[k][2]));
	/* The box: keypoints 1 to 15, x 0.32..0.60 and y 0.15..0.85, widened by a tenth a side. */
	CHECK_MSG(NEAR(d.x0, 0.32f - 0.028f) && NEAR(d.x1, 0.60f + 0.028f) && NEAR(d.y0, 0.15f - 0.07f) &&
			  NEAR(d.y1, 0.85f + 0.07f),
		  "box %f %f %f %f", d.x0, d.y0, d.x1, d.y1);
	/* Below the detection threshold: nothing. */
	CHECK(vg_decode_movenet(&kp[0][0], 17, 0.6f, VG_KEYPOINT_MIN_SCORE, &d) == 0);
}

TEST(movenet_box_edge_cases)
{
	float kp[17][3];
	vg_detection d;
	/* No keypoint at the keypoint threshold (reported anyway, with a threshold of 0): the box is the whole input. */
	for (int k = 0; k < 17; k++) {
		kp[k][0] = 0.5f;
		kp[k][1] = 0.5f;
		kp[k][2] = 0.1f;
	}
	CHECK(vg_decode_movenet(&kp[0][0], 17, 0, VG_KEYPOINT_MIN_SCORE, &d) == 1);
	CHECK(d.x0 == 0 && d.y0 == 0 && d.x1 == 1 && d.y1 == 1);
	/* One keypoint: a small box around it (at least 0.02 a side); near the border, clipped. */
	kp[3][2] = 0.9f;
	kp[3][0] = 0.01f;
	kp[3][1] = 0.7f;
	CHECK(vg_decode_movenet(&kp[0][0], 17, 0, VG_KEYPOINT_MIN_SCORE, &d) == 1);
	CHECK_MSG(NEAR(d.x0, 0.68f) && NEAR(d.x1, 0.72f) && d.y0 == 0 && NEAR(d.y1, 0.03f), "box %f %f %f %f", d.x0,
		  d.y0, d.x1, d.y1);
	/* Fewer keypoints than COCO's 17: no layout, so no names. */
	CHECK(vg_decode_movenet(&kp[0][0], 5, 0, VG_KEYPOINT_MIN_SCORE, &d) == 1);
	CHECK(d.n_keypoints == 5 && d.layout == NULL);
	CHECK(vg_decode_movenet(&kp[0][0], 0, 0, VG_KEYPOINT_MIN_SCORE, &d) == 0);
	/* NaN scores do not pass the threshold. */
	kp[3][2] = NAN;
	CHECK(vg_decode_movenet(&kp[0][0], 17, 0.05f, VG_KEYPOINT_MIN_SCORE, &d) == 0);
}

TEST(movenet_chosen_by_output_shape)
{
	vg_decoder_kind kind;
	char reason[512], err[512];
	nn_tensor mn[1] = { shaped("StatefulPartitionedCall:0", 4, 1, 1, 17, 3) };
	CHECK(vg_decoder_choose(mn, 1, 192, 192, NULL, NULL, &kind, reason, sizeof reason, err, sizeof err) == 0);
	CHECK_MSG(kind == VG_DECODER_MOVENET && strstr(reason, "[1,1,17,3]") && strstr(reason, "MoveNet"), "%s",
		  reason);
	vg_decoder_kind named;
	CHECK(vg_decoder_from_name("movenet", &named) == 0 && named == VG_DECODER_MOVENET);
	CHECK(strstr(vg_decoder_names, "movenet") != NULL);
	/* Other keypoint counts and ranks only when named. */
	nn_tensor other[1] = { shaped("StatefulPartitionedCall:0", 3, 1, 13, 3, 0) };
	CHECK(vg_decoder_choose(other, 1, 192, 192, NULL, NULL, &kind, reason, sizeof reason, err, sizeof err) < 0);
	CHECK(vg_decoder_choose(other, 1, 192, 192, NULL, "movenet", &kind, reason, sizeof reason, err, sizeof err) ==
	      0);
	CHECK_MSG(kind == VG_DECODER_MOVENET && strstr(reason, "13 keypoints"), "%s", reason);
	/* Too many keypoints, or not (y, x, score) rows: a message saying what is needed. */
	nn_tensor wide[1] = { shaped("StatefulPartitionedCall:0", 4, 1, 1, 17, 4) };
	CHECK(vg_decoder_choose(wide, 1, 192, 192, NULL, "movenet", &kind, reason, sizeof reason, err, sizeof err) < 0);
	CHECK_MSG(strstr(err, "[1,1,K,3]"), "%s", err);
	nn_tensor many[1] = { shaped("StatefulPartitionedCall:0", 4, 1, 1, 33, 3) };
	CHECK(vg_decoder_choose(many, 1, 192, 192, NULL, "movenet", &kind, reason, sizeof reason, err, sizeof err) < 0);
	/* MoveNet multi-pose ([1,6,56]) is not single-pose. */
	nn_tensor multi[1] = { shaped("StatefulPartitionedCall:0", 3, 1, 6, 56, 0) };
	CHECK(vg_decoder_choose(multi, 1, 256, 256, NULL, "movenet", &kind, reason, sizeof reason, err, sizeof err) <
	      0);
	/* Its default threshold is 0.3; an option overrides it. */
	vg_detector_options opt = { 0 };
	vg_model_config cfg;
	vg_model_config_init(&cfg);
	CHECK(vg_detector_resolve_threshold(&opt, &cfg, VG_DECODER_MOVENET) == 0.3f);
	opt.threshold = 0.5f;
	CHECK(vg_detector_resolve_threshold(&opt, &cfg, VG_DECODER_MOVENET) == 0.5f);
}

TEST(movenet_builtin_defaults_by_name)
{
	vg_model_config c;
	char note[256];
	nn_tensor in = shaped("StatefulPartitionedCall:0", 4, 1, 192, 192, 3);
	in.dtype = NN_U8;
	CHECK(vg_model_config_builtin(&c, "/a/coral_movenet_single_pose_lightning_ptq.tflite", &in, note, sizeof note) ==
	      1);
	CHECK(!strcmp(c.decoder, "movenet") && c.has_resize && c.resize == VG_RESIZE_STRETCH && !c.bgr && !c.nchw);
	CHECK(c.threshold == 0.3f && c.n_labels == 1 && !strcmp(c.label_names[0], "person"));
	CHECK(!c.has_mean && !c.has_std); /* quantized: raw pixel values */
	CHECK_MSG(strstr(c.origin, "MoveNet"), "%s", c.origin);
	vg_model_config_free(&c);
	/* Thunder, float: pixel values 0..255 as they are. */
	nn_tensor thunder = shaped("StatefulPartitionedCall:0", 4, 1, 256, 256, 3);
	CHECK(vg_model_config_builtin(&c, "MoveNet-Thunder.tflite", &thunder, note, sizeof note) == 1);
	CHECK(c.has_mean && c.mean[0] == 0 && c.std[0] == 1);
	vg_model_config_free(&c);
	/* The name but not the input: no defaults, and a note. */
	nn_tensor odd = shaped("StatefulPartitionedCall:0", 4, 1, 224, 224, 3);
	CHECK(vg_model_config_builtin(&c, "movenet.tflite", &odd, note, sizeof note) == 0);
	CHECK_MSG(strstr(note, "movenet.tflite") && strstr(note, "[1,192,192,3]"), "%s", note);
}

TEST_SUITE(keypoints, TEST_ENTRY(keypoint_layouts_are_consistent), TEST_ENTRY(movenet_decodes_one_person),
	   TEST_ENTRY(movenet_box_edge_cases), TEST_ENTRY(movenet_chosen_by_output_shape),
	   TEST_ENTRY(movenet_builtin_defaults_by_name));
