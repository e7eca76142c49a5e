/*
 * NON_MAX_SUPPRESSION (ONNX NonMaxSuppression) on hand-worked cases:
 * suppression by IoU (strictly above the threshold), the score threshold
 * (strictly above), center_point_box = 1, corners in either order, several
 * batches and classes, ties, and the output's run-time row count; and the
 * prepare-time refusal of an op that cannot pass that row count on.
 */
#include <stdint.h>
#include <string.h>

#include "nn/model.h"
#include "nn_build.h"
#include "test.h"

typedef struct nms_case {
	int B, C, N;
	const float *boxes, *scores;
	int max_per_class, center, has_score;
	float iou, score;
} nms_case;

/* Runs one NON_MAX_SUPPRESSION; returns the filled rows, copied to rows (B * C * N * 3 at most). */
static int run_nms(const nms_case *c, int64_t *rows)
{
	nn_graph *g = nn_graph_create("nms");
	CHECK(g != NULL);
	int cap = c->B * c->C * (c->max_per_class < c->N ? c->max_per_class : c->N);
	int b = tb_tensor(g, "boxes", NN_F32, 3, c->B, c->N, 4), s = tb_tensor(g, "scores", NN_F32, 3, c->B, c->C, c->N);
	int y = tb_tensor(g, "selected", NN_I64, 2, cap, 3);
	int n = tb_node(g, NN_OP_NON_MAX_SUPPRESSION, "nms", TB_LIST(b, s), TB_LIST(y));
	g->nodes[n].p.nms.max_per_class = c->max_per_class;
	g->nodes[n].p.nms.center_point_box = c->center;
	g->nodes[n].p.nms.iou_threshold = c->iou;
	g->nodes[n].p.nms.has_score_threshold = c->has_score;
	g->nodes[n].p.nms.score_threshold = c->score;
	tb_io(g, TB_LIST(b, s), TB_LIST(y));
	nn_model *m;
	char err[512];
	CHECK_MSG(nn_model_from_graph(&m, g, err, sizeof err) == 0, "%s", err);
	CHECK_MSG(nn_model_prepare(m, &(nn_prepare_options){ .threads = 1 }, err, sizeof err) == 0, "%s", err);
	memcpy(nn_model_input(m, 0)->data, c->boxes, (size_t)c->B * c->N * 4 * sizeof(float));
	memcpy(nn_model_input(m, 1)->data, c->scores, (size_t)c->B * c->C * c->N * sizeof(float));
	/* Garbage in the output first: the kernel zeroes the rows it leaves unfilled. */
	if (cap)
		memset(nn_model_output(m, 0)->data, 0x7f, (size_t)cap * 3 * sizeof(int64_t));
	CHECK_MSG(nn_model_run(m, err, sizeof err) == 0, "%s", err);
	const nn_tensor *out = nn_model_output(m, 0);
	CHECK(out->dynamic_rows);
	int k = nn_model_output_rows(m, 0);
	CHECK(k >= 0 && k <= cap);
	const int64_t *o = out->data;
	memcpy(rows, o, (size_t)k * 3 * sizeof *rows);
	for (int64_t i = (int64_t)k * 3; i < (int64_t)cap * 3; i++)
		CHECK_MSG(o[i] == 0, "unfilled element %lld is %lld", (long long)i, (long long)o[i]);
	nn_model_free(m);
	return k;
}

static void check_rows(const int64_t *got, int k, const int64_t *want, int n_want)
{
	CHECK_MSG(k == n_want, "%d rows selected, expected %d", k, n_want);
	for (int i = 0; i < k * 3; i++)
		CHECK_MSG(got[i] == want[i], "row %d column %d is %lld, expected %lld", i / 3, i % 3, (long long)got[i],
			  (long long)want[i]);
}

/*
 * Box 1 overlaps box 0 with IoU 0.9 / 1.1 = 0.82; box 2 is half of box 0
 * (IoU exactly 0.5); box 3 is apart. Corners [y1, x1, y2, x2].
 */
static const float four_boxes[] = { 0, 0, 1, 1, 0, 0.1f, 1, 1.1f, 0, 0, 1, 0.5f, 5, 5, 6, 6 };
static const float four_scores[] = { 0.9f, 0.8f, 0.7f, 0.6f };

TEST(nms_suppresses_above_the_iou_threshold)
{
	int64_t got[64];
	nms_case c = { 1, 1, 4, four_boxes, four_scores, 10, 0, 0, 0.5f, 0 };
	/* IoU 0.82 > 0.5 suppresses box 1; box 2's IoU of exactly 0.5 does not suppress it. */
	check_rows(got, run_nms(&c, got), (const int64_t[]){ 0, 0, 0, 0, 0, 2, 0, 0, 3 }, 3);
	c.iou = 0.49f;
	check_rows(got, run_nms(&c, got), (const int64_t[]){ 0, 0, 0, 0, 0, 3 }, 2);
	c.iou = 0.9f;
	check_rows(got, run_nms(&c, got), (const int64_t[]){ 0, 0, 0, 0, 0, 1, 0, 0, 2, 0, 0, 3 }, 4);
	/* At most two: the best two that survive. */
	c.iou = 0.5f;
	c.max_per_class = 2;
	check_rows(got, run_nms(&c, got), (const int64_t[]){ 0, 0, 0, 0, 0, 2 }, 2);
	c.max_per_class = 0;
	CHECK(run_nms(&c, got) == 0);
}

TEST(nms_score_threshold_is_strict)
{
	int64_t got[64];
	/* Scores above 0.7 only: box 2 (0.7) and box 3 (0.6) drop out before any IoU. */
	nms_case c = { 1, 1, 4, four_boxes, four_scores, 10, 0, 1, 0.95f, 0.7f };
	check_rows(got, run_nms(&c, got), (const int64_t[]){ 0, 0, 0, 0, 0, 1 }, 2);
	c.score = 0.95f;
	CHECK(run_nms(&c, got) == 0);
}

TEST(nms_corners_in_either_order)
{
	/* The same four boxes with y1 > y2 and x1 > x2 on boxes 0 and 1: the same choice. */
	static const float flipped[] = { 1, 1, 0, 0, 1, 1.1f, 0, 0.1f, 0, 0, 1, 0.5f, 6, 6, 5, 5 };
	int64_t got[64];
	nms_case c = { 1, 1, 4, flipped, four_scores, 10, 0, 0, 0.5f, 0 };
	check_rows(got, run_nms(&c, got), (const int64_t[]){ 0, 0, 0, 0, 0, 2, 0, 0, 3 }, 3);
}

TEST(nms_center_point_box)
{
	/*
	 * [x_center, y_center, width, height]: box 1 is box 0 moved 0.1 down
	 * (IoU 0.9 / 1.1 = 0.82); box 2 is apart.
	 */
	static const float boxes[] = { 0.5f, 0.5f, 1, 1, 0.5f, 0.6f, 1, 1, 3, 3, 1, 1 };
	static const float scores[] = { 0.5f, 0.9f, 0.3f };
	int64_t got[64];
	nms_case c = { 1, 1, 3, boxes, scores, 3, 1, 0, 0.5f, 0 };
	check_rows(got, run_nms(&c, got), (const int64_t[]){ 0, 0, 1, 0, 0, 2 }, 2);
	/*
	 * The same numbers as corners [y1, x1, y2, x2]: box 0 is x 0.5..1, y
	 * 0.5..1, box 1 x 0.6..1, y 0.5..1, IoU 0.2 / 0.25 = 0.8 (against 0.82 as
	 * centres): a threshold of 0.81 between the two tells the formats apart.
	 */
	c.center = 0;
	check_rows(got, run_nms(&c, got), (const int64_t[]){ 0, 0, 1, 0, 0, 2 }, 2);
	c.iou = 0.81f;
	check_rows(got, run_nms(&c, got), (const int64_t[]){ 0, 0, 1, 0, 0, 0, 0, 0, 2 }, 3);
	c.center = 1;
	check_rows(got, run_nms(&c, got), (const int64_t[]){ 0, 0, 1, 0, 0, 2 }, 2);
}

TEST(nms_batches_and_classes)
{
	/* Two batches of three boxes; in batch 1 boxes 0 and 1 overlap (IoU 0.82), in batch 0 none do. */
	static const float boxes[] = { 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 0, 0, 1, 1, 0, 0.1f, 1, 1.1f, 4, 4, 5, 5 };
	/* scores [2 batches][2 classes][3 boxes] */
	static const float scores[] = { 0.1f, 0.2f, 0.3f, 0.6f, 0.5f, 0.4f, 0.3f, 0.9f, 0.2f, 0.8f, 0.7f, 0.1f };
	int64_t got[64];
	nms_case c = { 2, 2, 3, boxes, scores, 2, 0, 1, 0.5f, 0.15f };
	check_rows(got, run_nms(&c, got),
		   (const int64_t[]){ 0, 0, 2, 0, 0, 1, /* batch 0 class 0: 0.3, 0.2 (0.1 below the threshold) */
				      0, 1, 0, 0, 1, 1, /* class 1: 0.6, 0.5 (two at most) */
				      1, 0, 1, 1, 0, 2, /* batch 1 class 0: 0.9 suppresses box 0 (0.3), then 0.2 */
				      1, 1, 0 },        /* class 1: 0.8 suppresses box 1 (0.7); box 2 is below 0.15 */
		   7);
}

TEST(nms_ties_go_to_the_lower_index)
{
	/* Boxes 0 and 2 identical, box 1 apart, all scores equal. */
	static const float boxes[] = { 0, 0, 1, 1, 3, 3, 4, 4, 0, 0, 1, 1 };
	static const float scores[] = { 0.5f, 0.5f, 0.5f };
	int64_t got[64];
	nms_case c = { 1, 1, 3, boxes, scores, 3, 0, 0, 0.5f, 0 };
	check_rows(got, run_nms(&c, got), (const int64_t[]){ 0, 0, 0, 0, 0, 1 }, 2);
	c.max_per_class = 1;
	check_rows(got, run_nms(&c, got), (const int64_t[]){ 0, 0, 0 }, 1);
}

/* boxes, scores -> NON_MAX_SUPPRESSION -> sel [6, 3] int64 -> CAST to int32 -> then `next` op. */
static nn_graph *nms_chain(nn_op next, int *last)
{
	nn_graph *g = nn_graph_create("nms_chain");
	CHECK(g != NULL);
	int b = tb_tensor(g, "boxes", NN_F32, 3, 1, 3, 4), s = tb_tensor(g, "scores", NN_F32, 3, 1, 2, 3);
	int sel = tb_tensor(g, "sel", NN_I64, 2, 6, 3), c32 = tb_tensor(g, "sel32", NN_I32, 2, 6, 3);
	int n = tb_node(g, NN_OP_NON_MAX_SUPPRESSION, "nms", TB_LIST(b, s), TB_LIST(sel));
	g->nodes[n].p.nms.max_per_class = 3;
	g->nodes[n].p.nms.iou_threshold = 0.5f;
	tb_node(g, NN_OP_CAST, "cast", TB_LIST(sel), TB_LIST(c32));
	int y;
	if (next == NN_OP_GATHER) {
		/* Column 2, the box index: [6]. */
		int col = tb_tensor(g, "col", NN_I32, 0);
		CHECK(nn_tensor_alloc_const(&g->tensors[col]) == 0);
		*(int32_t *)g->tensors[col].data = 2;
		y = tb_tensor(g, "box", NN_I32, 1, 6);
		int k = tb_node(g, NN_OP_GATHER, "gather", TB_LIST(c32, col), TB_LIST(y));
		g->nodes[k].p.gather.axis = 1;
	} else {
		/* TRANSPOSE to [3, 6]: the rows become columns, which no count can describe. */
		y = tb_tensor(g, "t", NN_I32, 2, 3, 6);
		int k = tb_node(g, NN_OP_TRANSPOSE, "transpose", TB_LIST(c32), TB_LIST(y));
		(void)k;
	}
	tb_io(g, TB_LIST(b, s), TB_LIST(y));
	*last = y;
	return g;
}

TEST(nms_row_count_passes_through_cast_and_gather)
{
	int y;
	nn_graph *g = nms_chain(NN_OP_GATHER, &y);
	nn_model *m;
	char err[512];
	CHECK_MSG(nn_model_from_graph(&m, g, err, sizeof err) == 0, "%s", err);
	CHECK_MSG(nn_model_prepare(m, &(nn_prepare_options){ .threads = 1 }, err, sizeof err) == 0, "%s", err);
	/* Boxes 0 and 1 overlap (IoU 0.82); box 2 is apart. */
	static const float boxes[] = { 0, 0, 1, 1, 0, 0.1f, 1, 1.1f, 3, 3, 4, 4 };
	static const float scores[] = { 0.9f, 0.8f, 0.7f, 0.1f, 0.2f, 0.3f };
	memcpy(nn_model_input(m, 0)->data, boxes, sizeof boxes);
	memcpy(nn_model_input(m, 1)->data, scores, sizeof scores);
	CHECK_MSG(nn_model_run(m, err, sizeof err) == 0, "%s", err);
	/* Class 0: boxes 0, 2; class 1: box 2, then 1 (0 is suppressed by 1). */
	CHECK(nn_model_output_rows(m, 0) == 4);
	const int32_t *box = nn_model_output(m, 0)->data;
	CHECK(box[0] == 0 && box[1] == 2 && box[2] == 2 && box[3] == 1);
	CHECK(box[4] == 0 && box[5] == 0);
	nn_model_free(m);
}

TEST(nms_refuses_an_op_that_cannot_pass_the_row_count_on)
{
	int y;
	nn_graph *g = nms_chain(NN_OP_TRANSPOSE, &y);
	nn_model *m;
	char err[512];
	CHECK_MSG(nn_model_from_graph(&m, g, err, sizeof err) == 0, "%s", err);
	int rc = nn_model_prepare(m, &(nn_prepare_options){ .threads = 1 }, err, sizeof err);
	CHECK(rc == NN_ERR_UNSUPPORTED);
	CHECK_MSG(strstr(err, "transpose") && strstr(err, "sel32") && strstr(err, "known only at run time"), "%s", err);
	nn_model_free(m);
}

/*
 * sel [6, 3] int64 -> CAST float32 -> ADD c -> y: with c [1, 3] the rows line
 * up and the count passes on; with c [2, 6, 3] the output is two copies of
 * the rows, which no count describes.
 */
static nn_model *nms_add(int broadcast, char *err, size_t errlen, int *rc)
{
	nn_graph *g = nn_graph_create("nms_add");
	CHECK(g != NULL);
	int b = tb_tensor(g, "boxes", NN_F32, 3, 1, 3, 4), s = tb_tensor(g, "scores", NN_F32, 3, 1, 2, 3);
	int sel = tb_tensor(g, "sel", NN_I64, 2, 6, 3), f = tb_tensor(g, "self", NN_F32, 2, 6, 3);
	int n = tb_node(g, NN_OP_NON_MAX_SUPPRESSION, "nms", TB_LIST(b, s), TB_LIST(sel));
	g->nodes[n].p.nms.max_per_class = 3;
	g->nodes[n].p.nms.iou_threshold = 0.5f;
	tb_node(g, NN_OP_CAST, "cast", TB_LIST(sel), TB_LIST(f));
	int c = broadcast ? tb_tensor(g, "c", NN_F32, 3, 2, 6, 3) : tb_tensor(g, "c", NN_F32, 2, 1, 3);
	int y = broadcast ? tb_tensor(g, "y", NN_F32, 3, 2, 6, 3) : tb_tensor(g, "y", NN_F32, 2, 6, 3);
	CHECK(nn_tensor_alloc_const(&g->tensors[c]) == 0);
	float *cv = g->tensors[c].data;
	for (int64_t i = 0; i < nn_tensor_elements(&g->tensors[c]); i++)
		cv[i] = i % 3 == 2 ? 100.0f : 0.0f;
	tb_node(g, NN_OP_ADD, "add", TB_LIST(f, c), TB_LIST(y));
	tb_io(g, TB_LIST(b, s), TB_LIST(y));
	nn_model *m;
	CHECK_MSG(nn_model_from_graph(&m, g, err, errlen) == 0, "%s", err);
	*rc = nn_model_prepare(m, &(nn_prepare_options){ .threads = 1 }, err, errlen);
	return m;
}

TEST(nms_row_count_passes_through_elementwise_ops)
{
	char err[512];
	int rc;
	nn_model *m = nms_add(0, err, sizeof err, &rc);
	CHECK_MSG(rc == 0, "%s", err);
	static const float boxes[] = { 0, 0, 1, 1, 0, 0.1f, 1, 1.1f, 3, 3, 4, 4 };
	static const float scores[] = { 0.9f, 0.8f, 0.7f, 0.1f, 0.2f, 0.3f };
	memcpy(nn_model_input(m, 0)->data, boxes, sizeof boxes);
	memcpy(nn_model_input(m, 1)->data, scores, sizeof scores);
	CHECK_MSG(nn_model_run(m, err, sizeof err) == 0, "%s", err);
	CHECK(nn_model_output_rows(m, 0) == 4);
	const float *y = nn_model_output(m, 0)->data;
	static const float want[] = { 0, 0, 100, 0, 0, 102, 0, 1, 102, 0, 1, 101 };
	for (int i = 0; i < 12; i++)
		CHECK_MSG(y[i] == want[i], "element %d is %g, expected %g", i, (double)y[i], (double)want[i]);
	nn_model_free(m);

	m = nms_add(1, err, sizeof err, &rc);
	CHECK(rc == NN_ERR_UNSUPPORTED);
	CHECK_MSG(strstr(err, "broadcast along dimension 0"), "%s", err);
	nn_model_free(m);
}

TEST_SUITE(nn_nms,
	   TEST_ENTRY(nms_suppresses_above_the_iou_threshold),
	   TEST_ENTRY(nms_score_threshold_is_strict),
	   TEST_ENTRY(nms_corners_in_either_order),
	   TEST_ENTRY(nms_center_point_box),
	   TEST_ENTRY(nms_batches_and_classes),
	   TEST_ENTRY(nms_ties_go_to_the_lower_index),
	   TEST_ENTRY(nms_row_count_passes_through_cast_and_gather),
	   TEST_ENTRY(nms_refuses_an_op_that_cannot_pass_the_row_count_on),
	   TEST_ENTRY(nms_row_count_passes_through_elementwise_ops));
