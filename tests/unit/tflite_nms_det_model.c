/*
 * Writes a small TFLite detector that ends the way TensorFlow exports with
 * NMS in the graph do (Ultralytics' TF exports with agnostic NMS and the
 * like): NON_MAX_SUPPRESSION_V4 (or V5) over candidate boxes [N,4] and
 * scores [N], GATHERs of boxes, scores and classes by the selected indices,
 * RESHAPEs to [1,K,4] / [1,K], and valid_outputs as a count [1].
 *
 * The candidates are constants plus 0 * MEAN(image), so the outputs do not
 * depend on the picture: tests/integration/test_tflite_nms_detect.py knows
 * them (and repeats the NMS in numpy). Padding rows past valid_outputs hold
 * candidate 0 again (index 0 gathered), as TensorFlow's padded NMS leaves
 * them: a decoder that ignores the count reports it more than once.
 *
 * Usage: tflite-nms-det-model OUT.tflite [v5] [scores-first]
 */
#include <stdio.h>
#include <string.h>

#include "../nn/tflite_builder.h"

enum { ADD = 0, GATHER = 36, MUL = 18, RESHAPE = 22, MEAN = 40, NMS_V4 = 120, NMS_V5 = 121 };
enum { O_REDUCER = 27, O_GATHER = 23 };
enum { T_F32 = 0, T_I32 = 2 };

#define N 6
#define K 5
#define H 64
#define W 64

/* y1, x1, y2, x2 (normalised), score, class: the same numbers as the integration test. */
static const float boxes_c[N][4] = {
	{ 0.10f, 0.10f, 0.50f, 0.40f }, { 0.12f, 0.11f, 0.52f, 0.41f }, { 0.60f, 0.50f, 0.90f, 0.95f },
	{ 0.20f, 0.60f, 0.40f, 0.80f }, { 0.55f, 0.05f, 0.95f, 0.30f }, { 0.61f, 0.52f, 0.88f, 0.93f },
};
static const float scores_c[N] = { 0.90f, 0.80f, 0.70f, 0.20f, 0.60f, 0.50f };
static const float classes_c[N] = { 1, 1, 3, 2, 0, 3 };

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s OUT.tflite [v5] [scores-first]\n", argv[0]);
		return 2;
	}
	int v5 = 0, scores_first = 0;
	for (int i = 2; i < argc; i++) {
		v5 |= !strcmp(argv[i], "v5");
		scores_first |= !strcmp(argv[i], "scores-first");
	}
	static const int32_t axes[3] = { 1, 2, 3 }, max_out = K, shp_b[3] = { 1, K, 4 }, shp_k[2] = { 1, K },
			     shp_1[1] = { 1 };
	static const float zero = 0, iou = 0.5f, score_thr = 0.3f, sigma = 0;
	static tb_model m;
	memset(&m, 0, sizeof m);
	m.n_buffers = 1;
	int img = tb_add_tensor(&m, "image", T_F32, 4, (int[]){ 1, H, W, 3 }, 0);
	int ax = tb_add_tensor(&m, "axes", T_I32, 1, (int[]){ 3 }, tb_add_buffer(&m, axes, sizeof axes));
	int mean = tb_add_tensor(&m, "mean", T_F32, 1, (int[]){ 1 }, 0);
	int zc = tb_add_tensor(&m, "zero", T_F32, 1, (int[]){ 1 }, tb_add_buffer(&m, &zero, sizeof zero));
	int z = tb_add_tensor(&m, "z", T_F32, 1, (int[]){ 1 }, 0);
	int bc = tb_add_tensor(&m, "boxes_c", T_F32, 2, (int[]){ N, 4 }, tb_add_buffer(&m, boxes_c, sizeof boxes_c));
	int sc = tb_add_tensor(&m, "scores_c", T_F32, 1, (int[]){ N }, tb_add_buffer(&m, scores_c, sizeof scores_c));
	int cc = tb_add_tensor(&m, "classes_c", T_F32, 1, (int[]){ N }, tb_add_buffer(&m, classes_c, sizeof classes_c));
	int b = tb_add_tensor(&m, "cand_boxes", T_F32, 2, (int[]){ N, 4 }, 0);
	int s = tb_add_tensor(&m, "cand_scores", T_F32, 1, (int[]){ N }, 0);
	int c = tb_add_tensor(&m, "cand_classes", T_F32, 1, (int[]){ N }, 0);
	int mx = tb_add_tensor(&m, "max_output_size", T_I32, 0, NULL, tb_add_buffer(&m, &max_out, sizeof max_out));
	int it = tb_add_tensor(&m, "iou_threshold", T_F32, 0, NULL, tb_add_buffer(&m, &iou, sizeof iou));
	int st = tb_add_tensor(&m, "score_threshold", T_F32, 0, NULL, tb_add_buffer(&m, &score_thr, sizeof score_thr));
	int sg = v5 ? tb_add_tensor(&m, "soft_nms_sigma", T_F32, 0, NULL, tb_add_buffer(&m, &sigma, sizeof sigma)) : -1;
	int idx = tb_add_tensor(&m, "selected_indices", T_I32, 1, (int[]){ K }, 0);
	int ssc = v5 ? tb_add_tensor(&m, "selected_scores", T_F32, 1, (int[]){ K }, 0) : -1;
	int valid = tb_add_tensor(&m, "valid_outputs", T_I32, 0, NULL, 0);
	int gb = tb_add_tensor(&m, "gathered_boxes", T_F32, 2, (int[]){ K, 4 }, 0);
	int gs = tb_add_tensor(&m, "gathered_scores", T_F32, 1, (int[]){ K }, 0);
	int gc = tb_add_tensor(&m, "gathered_classes", T_F32, 1, (int[]){ K }, 0);
	int sb = tb_add_tensor(&m, "shape_boxes", T_I32, 1, (int[]){ 3 }, tb_add_buffer(&m, shp_b, sizeof shp_b));
	int sk = tb_add_tensor(&m, "shape_k", T_I32, 1, (int[]){ 2 }, tb_add_buffer(&m, shp_k, sizeof shp_k));
	int s1 = tb_add_tensor(&m, "shape_1", T_I32, 1, (int[]){ 1 }, tb_add_buffer(&m, shp_1, sizeof shp_1));
	int ob = tb_add_tensor(&m, "output_boxes", T_F32, 3, (int[]){ 1, K, 4 }, 0);
	int os = tb_add_tensor(&m, "output_scores", T_F32, 2, (int[]){ 1, K }, 0);
	int oc = tb_add_tensor(&m, "output_classes", T_F32, 2, (int[]){ 1, K }, 0);
	int on = tb_add_tensor(&m, "num_detections", T_I32, 1, (int[]){ 1 }, 0);

	tb_opt(tb_add_op(&m, MEAN, NULL, 2, (int[]){ img, ax }, 1, (int[]){ mean }), O_REDUCER, 0, 1, 0);
	tb_add_op(&m, MUL, NULL, 2, (int[]){ mean, zc }, 1, (int[]){ z });
	tb_add_op(&m, ADD, NULL, 2, (int[]){ bc, z }, 1, (int[]){ b });
	tb_add_op(&m, ADD, NULL, 2, (int[]){ sc, z }, 1, (int[]){ s });
	tb_add_op(&m, ADD, NULL, 2, (int[]){ cc, z }, 1, (int[]){ c });
	if (v5)
		tb_add_op(&m, NMS_V5, NULL, 6, (int[]){ b, s, mx, it, st, sg }, 3, (int[]){ idx, ssc, valid });
	else
		tb_add_op(&m, NMS_V4, NULL, 5, (int[]){ b, s, mx, it, st }, 2, (int[]){ idx, valid });
	tb_opt(tb_add_op(&m, GATHER, NULL, 2, (int[]){ b, idx }, 1, (int[]){ gb }), O_GATHER, 0, 4, 0);
	tb_opt(tb_add_op(&m, GATHER, NULL, 2, (int[]){ s, idx }, 1, (int[]){ gs }), O_GATHER, 0, 4, 0);
	tb_opt(tb_add_op(&m, GATHER, NULL, 2, (int[]){ c, idx }, 1, (int[]){ gc }), O_GATHER, 0, 4, 0);
	tb_add_op(&m, RESHAPE, NULL, 2, (int[]){ gb, sb }, 1, (int[]){ ob });
	tb_add_op(&m, RESHAPE, NULL, 2, (int[]){ gs, sk }, 1, (int[]){ os });
	tb_add_op(&m, RESHAPE, NULL, 2, (int[]){ gc, sk }, 1, (int[]){ oc });
	tb_add_op(&m, RESHAPE, NULL, 2, (int[]){ valid, s1 }, 1, (int[]){ on });

	m.n_in = 1;
	m.in[0] = img;
	m.n_out = 4;
	m.out[0] = ob;
	m.out[1] = scores_first ? os : oc;
	m.out[2] = scores_first ? oc : os;
	m.out[3] = on;

	size_t len;
	uint8_t *f = tb_build(&m, &len, NULL);
	FILE *out = f ? fopen(argv[1], "wb") : NULL;
	if (!out || fwrite(f, 1, len, out) != len || fclose(out) != 0) {
		fprintf(stderr, "%s: cannot write %s\n", argv[0], argv[1]);
		return 1;
	}
	free(f);
	return 0;
}
