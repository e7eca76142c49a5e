/*
 * TFLite NON_MAX_SUPPRESSION_V4 and V5 (format/tflite_nms.c onto
 * ref/nms_padded.c). Each model is built with tflite_builder.h: boxes and
 * scores are the model's inputs, max_output_size and the thresholds
 * constants. The expected selections are worked out by hand from
 * TensorFlow's definition (tf.image.non_max_suppression_padded and
 * non_max_suppression_with_scores, as TensorFlow Lite's kernel runs them):
 * a score must be above score_threshold, a box is dropped at an IoU at or
 * above iou_threshold with one already selected, the outputs are padded
 * with 0 past valid_outputs, and soft-NMS scales a score by
 * exp(-0.5 * iou^2 / sigma).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/format/tflite.h"
#include "nn/graph.h"
#include "nn/model.h"
#include "nn/nn.h"
#include "test.h"
#include "tflite_load.h"
#include "tflite_nms_tfjs.h"

enum { NMS_V4 = 120, NMS_V5 = 121 };
enum { T_F32 = 0, T_I32 = 2 };

typedef struct nms_case {
	int v5, n, max;
	const float *boxes, *scores;
	float iou, score, sigma;
	int max_at_run_time; /* max_output_size as a model input, which the loader refuses */
} nms_case;

/* The model of case k, in m (whose buffers point into k). */
static void build(tb_model *m, const nms_case *k)
{
	memset(m, 0, sizeof *m);
	m->n_buffers = 1;
	int b = tb_add_tensor(m, "boxes", T_F32, 2, (int[]){ k->n, 4 }, 0);
	int s = tb_add_tensor(m, "scores", T_F32, 1, (int[]){ k->n }, 0);
	int mx = tb_add_tensor(m, "max_output_size", T_I32, 0, NULL,
			       k->max_at_run_time ? 0 : tb_add_buffer(m, &k->max, sizeof k->max));
	int iou = tb_add_tensor(m, "iou_threshold", T_F32, 0, NULL, tb_add_buffer(m, &k->iou, sizeof k->iou));
	int st = tb_add_tensor(m, "score_threshold", T_F32, 0, NULL, tb_add_buffer(m, &k->score, sizeof k->score));
	int sg = k->v5 ? tb_add_tensor(m, "soft_nms_sigma", T_F32, 0, NULL, tb_add_buffer(m, &k->sigma, sizeof k->sigma)) : -1;
	int idx = tb_add_tensor(m, "selected_indices", T_I32, 1, (int[]){ k->max }, 0);
	int sc = k->v5 ? tb_add_tensor(m, "selected_scores", T_F32, 1, (int[]){ k->max }, 0) : -1;
	int valid = tb_add_tensor(m, "valid_outputs", T_I32, 0, NULL, 0);
	m->n_in = 2;
	m->in[0] = b;
	m->in[1] = s;
	if (k->max_at_run_time)
		m->in[m->n_in++] = mx;
	m->n_out = 0;
	m->out[m->n_out++] = idx;
	if (k->v5)
		m->out[m->n_out++] = sc;
	m->out[m->n_out++] = valid;
	if (k->v5)
		tb_add_op(m, NMS_V5, NULL, 6, (int[]){ b, s, mx, iou, st, sg }, 3, (int[]){ idx, sc, valid });
	else
		tb_add_op(m, NMS_V4, NULL, 5, (int[]){ b, s, mx, iou, st }, 2, (int[]){ idx, valid });
}

/* Runs case k and checks selected_indices (and, for V5, selected_scores) against want, valid_outputs against n_want. */
static void check(const nms_case *k, const int32_t *want, const float *want_scores, int n_want)
{
	tb_model tm;
	build(&tm, k);
	nn_graph *g;
	nn_model *m;
	char err[512];
	int rc = tb_load(&tm, &g, err, sizeof err);
	CHECK_MSG(rc == 0 && g, "rc %d: %s", rc, err);
	if (rc)
		return;
	CHECK_MSG(nn_model_from_graph(&m, g, err, sizeof err) == 0, "%s", err);
	nn_prepare_options opt = { .threads = 1 };
	CHECK_MSG(nn_model_prepare(m, &opt, err, sizeof err) == 0, "%s", err);
	memcpy(nn_model_input(m, 0)->data, k->boxes, sizeof(float) * 4 * (size_t)k->n);
	memcpy(nn_model_input(m, 1)->data, k->scores, sizeof(float) * (size_t)k->n);
	CHECK_MSG(nn_model_run(m, err, sizeof err) == 0, "%s", err);
	const nn_tensor *idx = nn_model_output(m, 0), *valid = nn_model_output(m, k->v5 ? 2 : 1);
	CHECK(idx->dtype == NN_I32 && idx->rank == 1 && idx->shape[0] == k->max);
	CHECK(valid->dtype == NN_I32 && nn_tensor_elements(valid) == 1);
	CHECK_MSG(*(const int32_t *)valid->data == n_want, "valid_outputs %d, expected %d",
		  (int)*(const int32_t *)valid->data, n_want);
	const int32_t *y = idx->data;
	for (int i = 0; i < k->max; i++) {
		int32_t w = i < n_want ? want[i] : 0;
		CHECK_MSG(y[i] == w, "selected_indices[%d] = %d, expected %d", i, (int)y[i], (int)w);
	}
	if (k->v5) {
		const nn_tensor *st = nn_model_output(m, 1);
		CHECK(st->dtype == NN_F32 && st->rank == 1 && st->shape[0] == k->max);
		const float *s = st->data;
		for (int i = 0; i < k->max; i++) {
			float w = i < n_want ? want_scores[i] : 0.0f;
			CHECK_MSG(fabsf(s[i] - w) <= 1e-6f, "selected_scores[%d] = %.9g, expected %.9g", i, (double)s[i],
				  (double)w);
		}
	}
	nn_model_free(m);
}

/*
 * TensorFlow's own example: two clusters of three boxes and a lone one.
 * Boxes 1 and 2 overlap box 0 with an IoU of 0.9 / 1.1 = 0.82, box 4 box 3
 * the same way.
 */
static const float clusters[] = {
	0, 0, 1, 1,   0, 0.1f, 1, 1.1f,   0, -0.1f, 1, 0.9f,
	0, 10, 1, 11, 0, 10.1f, 1, 11.1f, 0, 100, 1, 101,
};
static const float cluster_scores[] = { 0.9f, 0.75f, 0.6f, 0.95f, 0.5f, 0.3f };

TEST(tflite_nms_v4_suppresses_overlaps_and_pads)
{
	nms_case k = { .n = 6, .max = 6, .boxes = clusters, .scores = cluster_scores, .iou = 0.5f, .score = -INFINITY };
	check(&k, (const int32_t[]){ 3, 0, 5 }, NULL, 3);
	/* An IoU threshold above 0.82 keeps every box, best first. */
	k.iou = 0.9f;
	check(&k, (const int32_t[]){ 3, 0, 1, 2, 4, 5 }, NULL, 6);
}

TEST(tflite_nms_v4_score_threshold_is_strict)
{
	/* 0.3 is not above 0.3: box 5 goes. */
	nms_case k = { .n = 6, .max = 4, .boxes = clusters, .scores = cluster_scores, .iou = 0.5f, .score = 0.3f };
	check(&k, (const int32_t[]){ 3, 0 }, NULL, 2);
	k.score = 0.29f;
	check(&k, (const int32_t[]){ 3, 0, 5 }, NULL, 3);
	/* Nothing above the threshold: all padding. */
	k.score = 0.96f;
	check(&k, NULL, NULL, 0);
}

TEST(tflite_nms_v4_max_output_size_cuts_the_survivors)
{
	nms_case k = { .n = 6, .max = 2, .boxes = clusters, .scores = cluster_scores, .iou = 0.5f, .score = 0.0f };
	check(&k, (const int32_t[]){ 3, 0 }, NULL, 2);
	k.max = 1;
	check(&k, (const int32_t[]){ 3 }, NULL, 1);
}

TEST(tflite_nms_v4_corners_in_either_order)
{
	/* The clusters with boxes 0, 3 and 4 given by their other corners. */
	static const float flipped[] = {
		1, 1, 0, 0,   0, 0.1f, 1, 1.1f,   0, -0.1f, 1, 0.9f,
		1, 11, 0, 10, 1, 10.1f, 0, 11.1f, 0, 100, 1, 101,
	};
	nms_case k = { .n = 6, .max = 5, .boxes = flipped, .scores = cluster_scores, .iou = 0.5f, .score = -1.0f };
	check(&k, (const int32_t[]){ 3, 0, 5 }, NULL, 3);
}

TEST(tflite_nms_v4_iou_at_the_threshold_suppresses)
{
	/* Boxes of area 3 sharing 2: IoU exactly 0.5. TensorFlow Lite drops at IoU >= threshold. */
	static const float boxes[] = { 0, 0, 1, 3, 0, 1, 1, 4, 5, 5, 6, 6 };
	static const float scores[] = { 0.5f, 0.9f, 0.5f };
	nms_case k = { .n = 3, .max = 3, .boxes = boxes, .scores = scores, .iou = 0.5f, .score = 0.0f };
	check(&k, (const int32_t[]){ 1, 2 }, NULL, 2);
	k.iou = 0.51f;
	/* Equal scores (0 and 2) go by the lower index. */
	check(&k, (const int32_t[]){ 1, 0, 2 }, NULL, 3);
}

TEST(tflite_nms_v5_hard_suppression_with_scores)
{
	nms_case k = { .v5 = 1, .n = 6, .max = 4, .boxes = clusters, .scores = cluster_scores, .iou = 0.5f,
		       .score = -INFINITY, .sigma = 0.0f };
	check(&k, (const int32_t[]){ 3, 0, 5 }, (const float[]){ 0.95f, 0.9f, 0.3f }, 3);
}

TEST(tflite_nms_v5_soft_nms)
{
	/*
	 * Box 1 overlaps box 0 by 0.5 / 1.5 = 1/3; box 2 overlaps neither.
	 * sigma 0.5: box 1's score becomes 0.8 * exp(-0.5 * (1/3)^2 / 0.5) =
	 * 0.8 * exp(-1/9) = 0.7159, below box 2's 0.75, so box 2 comes second.
	 */
	static const float boxes[] = { 0, 0, 1, 1, 0, 0.5f, 1, 1.5f, 0, 10, 1, 11 };
	static const float scores[] = { 0.9f, 0.8f, 0.75f };
	float soft = 0.8f * expf(-1.0f / 9.0f);
	nms_case k = { .v5 = 1, .n = 3, .max = 4, .boxes = boxes, .scores = scores, .iou = 1.0f, .score = 0.0f,
		       .sigma = 0.5f };
	check(&k, (const int32_t[]){ 0, 2, 1 }, (const float[]){ 0.9f, 0.75f, soft }, 3);
	/* Lowered to 0.7159, box 1 no longer passes a score threshold of 0.72. */
	k.score = 0.72f;
	check(&k, (const int32_t[]){ 0, 2 }, (const float[]){ 0.9f, 0.75f }, 2);
	/* An IoU threshold under 1/3 still drops box 1 outright. */
	k.score = 0.0f;
	k.iou = 0.3f;
	check(&k, (const int32_t[]){ 0, 2 }, (const float[]){ 0.9f, 0.75f }, 2);
	/* Without soft-NMS, box 1 keeps its score and its place. */
	k.iou = 1.0f;
	k.sigma = 0.0f;
	check(&k, (const int32_t[]){ 0, 1, 2 }, (const float[]){ 0.9f, 0.8f, 0.75f }, 3);
}

TEST(tflite_nms_refuses_a_run_time_max_output_size)
{
	nms_case k = { .n = 6, .max = 3, .boxes = clusters, .scores = cluster_scores, .iou = 0.5f, .max_at_run_time = 1 };
	tb_model tm;
	build(&tm, &k);
	nn_graph *g;
	char err[512];
	int rc = tb_load(&tm, &g, err, sizeof err);
	CHECK_MSG(rc == NN_ERR_UNSUPPORTED && !g, "rc %d: %s", rc, err);
	CHECK_MSG(strstr(err, "max_output_size is computed at run time; only a constant is supported"), "%s", err);
	/* A negative soft_nms_sigma is malformed. */
	nms_case k5 = { .v5 = 1, .n = 6, .max = 3, .boxes = clusters, .scores = cluster_scores, .iou = 0.5f, .sigma = -1 };
	build(&tm, &k5);
	rc = tb_load(&tm, &g, err, sizeof err);
	CHECK_MSG(rc == NN_ERR_FORMAT && !g, "rc %d: %s", rc, err);
	CHECK_MSG(strstr(err, "soft_nms_sigma -1 is negative"), "%s", err);
}

/*
 * TensorFlow.js (tf.image.nonMaxSuppressionPadded and
 * nonMaxSuppressionWithScore) on seeded random clusters of 40 and 60 boxes,
 * some with swapped corners: hard NMS at several thresholds, and soft-NMS.
 * The outputs are cached in tflite_nms_tfjs.h by
 * tests/oracle/tflite_nms_cases.mjs. Indices must match exactly; scores to
 * 1e-6 (TensorFlow.js decays them in double precision).
 */
TEST(tflite_nms_tfjs_oracle)
{
	for (size_t i = 0; i < sizeof tfjs_nms_cases / sizeof tfjs_nms_cases[0]; i++) {
		const tfjs_nms_case *t = &tfjs_nms_cases[i];
		nms_case k = { .v5 = t->v5, .n = t->n, .max = t->max, .boxes = t->boxes, .scores = t->scores,
			       .iou = t->iou, .score = t->score, .sigma = t->sigma };
		check(&k, t->indices, t->selected_scores, t->valid);
	}
}

/*
 * NON_MAX_SUPPRESSION_V4 then GATHER (axis -2 of the boxes, as TF exports with
 * NMS end): the rows of the selected boxes, padding rows gathering box 0.
 * GatherOptions with batch_dims 1 are refused.
 */
TEST(tflite_nms_then_gather)
{
	enum { GATHER = 36, O_GATHER = 23 };
	for (int bad = 0; bad < 2; bad++) {
		nms_case k = { .n = 6, .max = 4, .boxes = clusters, .scores = cluster_scores, .iou = 0.5f, .score = -INFINITY };
		tb_model tm;
		build(&tm, &k);
		int gb = tb_add_tensor(&tm, "gathered", T_F32, 2, (int[]){ k.max, 4 }, 0);
		tb_op *o = tb_add_op(&tm, GATHER, NULL, 2, (int[]){ tm.in[0], tm.out[0] }, 1, (int[]){ gb });
		tb_opt(o, O_GATHER, 0, 4, (uint32_t)-2);
		if (bad)
			tb_opt(o, O_GATHER, 1, 4, 1);
		tm.out[tm.n_out++] = gb;
		nn_graph *g;
		nn_model *m;
		char err[512];
		int rc = tb_load(&tm, &g, err, sizeof err);
		if (bad) {
			CHECK_MSG(rc == NN_ERR_FORMAT && !g && strstr(err, "batch_dims is 1"), "rc %d: %s", rc, err);
			continue;
		}
		CHECK_MSG(rc == 0 && g, "rc %d: %s", rc, err);
		if (rc)
			return;
		CHECK_MSG(nn_model_from_graph(&m, g, err, sizeof err) == 0, "%s", err);
		nn_prepare_options opt = { .threads = 1 };
		CHECK_MSG(nn_model_prepare(m, &opt, err, sizeof err) == 0, "%s", err);
		memcpy(nn_model_input(m, 0)->data, clusters, sizeof clusters);
		memcpy(nn_model_input(m, 1)->data, cluster_scores, sizeof cluster_scores);
		CHECK_MSG(nn_model_run(m, err, sizeof err) == 0, "%s", err);
		const nn_tensor *y = nn_model_output(m, 2);
		CHECK(y->dtype == NN_F32 && y->rank == 2 && y->shape[0] == 4 && y->shape[1] == 4);
		static const int rows[4] = { 3, 0, 5, 0 }; /* 3 selected, then index 0 as padding */
		for (int r = 0; r < 4; r++)
			for (int j = 0; j < 4; j++)
				CHECK_MSG(((const float *)y->data)[r * 4 + j] == clusters[rows[r] * 4 + j], "row %d col %d", r, j);
		nn_model_free(m);
	}
}

TEST_SUITE(nn_tflite_nms,
	   TEST_ENTRY(tflite_nms_v4_suppresses_overlaps_and_pads),
	   TEST_ENTRY(tflite_nms_v4_score_threshold_is_strict),
	   TEST_ENTRY(tflite_nms_v4_max_output_size_cuts_the_survivors),
	   TEST_ENTRY(tflite_nms_v4_corners_in_either_order),
	   TEST_ENTRY(tflite_nms_v4_iou_at_the_threshold_suppresses),
	   TEST_ENTRY(tflite_nms_v5_hard_suppression_with_scores),
	   TEST_ENTRY(tflite_nms_v5_soft_nms),
	   TEST_ENTRY(tflite_nms_refuses_a_run_time_max_output_size),
	   TEST_ENTRY(tflite_nms_tfjs_oracle),
	   TEST_ENTRY(tflite_nms_then_gather));
