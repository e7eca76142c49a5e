/*
 * The TensorFlow Lite ops that the MediaPipe pose and sparse face models,
 * MoveNet and the traffic LSTM-SSD brought in: each through a hand-built
 * flatbuffer, loaded, run on the default path (XNNPACK where it has the op)
 * and on the reference kernels alone, against values worked out by hand.
 * DENSIFY against hand-made sparse tensors (CSR, several index types, and
 * 2x2 blocks) and against hostile sparsity descriptions.
 */
#include <math.h>
#include <string.h>

#include "nn/graph.h"
#include "nn/pass/pass.h"
#include "nn/nn.h"
#include "nn/format/tflite.h"
#include "test.h"
#include "tflite_load.h"

enum {
	ADD = 0, DEPTH_TO_SPACE = 5, SPLIT = 49, CAST = 53, ARG_MAX = 56, SQRT = 75, PACK = 83, UNPACK = 88,
	FLOOR_DIV = 90, GATHER_ND = 107, DENSIFY = 124, MUL = 18, SUB = 41, RESHAPE = 22, PAD = 34, PADV2 = 60,
	DEPTHWISE_CONV_2D = 4,
};
enum { O_DWCONV = 2, O_ADD = 11, O_MUL = 21, O_SUB = 28, O_SPLIT = 35, O_ARG_MAX = 40, O_PACK = 59, O_UNPACK = 64, O_D2S = 94 };
enum { T_F32 = 0, T_F16 = 1, T_I32 = 2, T_U8 = 3, T_I8 = 9 };

static void empty(tb_model *m)
{
	memset(m, 0, sizeof *m);
	m->n_buffers = 1;
}

static void quant(tb_model *m, int t, float scale, int zp)
{
	m->tensors[t].n_scale = 1;
	m->tensors[t].scale[0] = scale;
	m->tensors[t].zero_point[0] = zp;
}

static nn_model *prepare(const tb_model *spec, int reference_only)
{
	size_t len;
	uint8_t *f = tb_build(spec, &len, NULL);
	CHECK(f != NULL);
	nn_model *m = NULL;
	char err[512];
	int rc = nn_model_load_tflite_buffer(&m, f, len, "t.tflite", err, sizeof err);
	free(f);
	CHECK_MSG(rc == 0 && m, "load: rc %d: %s", rc, err);
	nn_prepare_options po = { .threads = 1, .reference_only = reference_only };
	rc = nn_model_prepare(m, &po, err, sizeof err);
	CHECK_MSG(rc == 0, "prepare (%s): rc %d: %s", reference_only ? "reference" : "default", rc, err);
	return m;
}

static void set_input(nn_model *m, int i, const void *data, size_t bytes)
{
	nn_tensor *t = nn_model_input(m, i);
	CHECK_MSG(nn_tensor_bytes(t) == bytes, "input %d takes %zu bytes, not %zu", i, nn_tensor_bytes(t), bytes);
	memcpy(t->data, data, bytes);
}

static void run(nn_model *m)
{
	char err[512];
	int rc = nn_model_run(m, err, sizeof err);
	CHECK_MSG(rc == 0, "run: rc %d: %s", rc, err);
}

static void expect_bytes(const nn_model *m, int i, const void *want, size_t bytes, const char *what)
{
	const nn_tensor *t = nn_model_output(m, i);
	CHECK_MSG(nn_tensor_bytes(t) == bytes, "%s: output %d has %zu bytes, expected %zu", what, i, nn_tensor_bytes(t),
		  bytes);
	if (memcmp(t->data, want, bytes) != 0) {
		for (size_t k = 0; k < bytes; k++)
			if (((const uint8_t *)t->data)[k] != ((const uint8_t *)want)[k])
				CHECK_MSG(0, "%s: output %d differs at byte %zu: %u, expected %u", what, i, k,
					  ((const uint8_t *)t->data)[k], ((const uint8_t *)want)[k]);
	}
}

static const char *mode(int r)
{
	return r ? "reference kernels" : "default path";
}

TEST(pose_depth_to_space)
{
	/* Input [1,2,2,8] holds (h*2 + w)*8 + c; blocks of 2x2 give [1,4,4,2]. Worked out by hand from TF's definition. */
	static const int32_t want[32] = { 0,  1,  2,  3,  8,  9,  10, 11, 4,  5,  6,  7,  12, 13, 14, 15,
					  16, 17, 18, 19, 24, 25, 26, 27, 20, 21, 22, 23, 28, 29, 30, 31 };
	for (int type = 0; type < 2; type++)
		for (int r = 0; r < 2; r++) {
			tb_model s;
			empty(&s);
			int dt = type ? T_U8 : T_F32;
			int x = tb_add_tensor(&s, "x", dt, 4, (int[]){ 1, 2, 2, 8 }, 0);
			int y = tb_add_tensor(&s, "y", dt, 4, (int[]){ 1, 4, 4, 2 }, 0);
			if (type) {
				quant(&s, x, 0.5f, 3);
				quant(&s, y, 0.5f, 3);
			}
			tb_opt(tb_add_op(&s, DEPTH_TO_SPACE, NULL, 1, (int[]){ x }, 1, (int[]){ y }), O_D2S, 0, 4, 2);
			s.n_in = s.n_out = 1;
			s.in[0] = x;
			s.out[0] = y;
			nn_model *m = prepare(&s, r);
			if (type) {
				uint8_t in[32], out[32];
				for (int i = 0; i < 32; i++)
					in[i] = (uint8_t)(i * 7), out[i] = (uint8_t)(want[i] * 7);
				set_input(m, 0, in, sizeof in);
				run(m);
				expect_bytes(m, 0, out, sizeof out, mode(r));
			} else {
				float in[32], out[32];
				for (int i = 0; i < 32; i++)
					in[i] = (float)i + 0.25f, out[i] = (float)want[i] + 0.25f;
				set_input(m, 0, in, sizeof in);
				run(m);
				expect_bytes(m, 0, out, sizeof out, mode(r));
			}
			nn_model_free(m);
		}

	/* A block size that does not divide the channels is refused when the graph is prepared. */
	tb_model s;
	empty(&s);
	int x = tb_add_tensor(&s, "x", T_F32, 4, (int[]){ 1, 2, 2, 6 }, 0);
	int y = tb_add_tensor(&s, "y", T_F32, 4, (int[]){ 1, 4, 4, 1 }, 0);
	tb_opt(tb_add_op(&s, DEPTH_TO_SPACE, NULL, 1, (int[]){ x }, 1, (int[]){ y }), O_D2S, 0, 4, 2);
	s.n_in = s.n_out = 1;
	s.in[0] = x;
	s.out[0] = y;
	size_t len;
	uint8_t *f = tb_build(&s, &len, NULL);
	nn_model *m;
	char err[512];
	CHECK(nn_model_load_tflite_buffer(&m, f, len, "t.tflite", err, sizeof err) == 0);
	free(f);
	nn_prepare_options po = { .threads = 1 };
	CHECK(nn_model_prepare(m, &po, err, sizeof err) == NN_ERR_UNSUPPORTED);
	CHECK_MSG(strstr(err, "DEPTH_TO_SPACE") && strstr(err, "2x2 blocks"), "%s", err);
	nn_model_free(m);
}

TEST(pose_arg_max)
{
	/* int8 [1,5,3] along axis 1 (a constant axis input): ties go to the first index. */
	static const int8_t q[15] = { 3, -128, 1, 7, -128, 2, 7, -128, 3, -1, -128, 4, 0, -128, 127 };
	static const int32_t want_q[3] = { 1, 0, 4 };
	/* float [2,4] along axis -1. */
	static const float f[8] = { 0.5f, -1, 2.5f, 2.5f, -3, -2, -1, -4 };
	static const int32_t want_f[2] = { 2, 2 };
	static const int32_t axis1 = 1, axis_last = -1;
	for (int r = 0; r < 2; r++) {
		tb_model s;
		empty(&s);
		int x = tb_add_tensor(&s, "x", T_I8, 3, (int[]){ 1, 5, 3 }, 0);
		quant(&s, x, 0.1f, -5);
		int a = tb_add_tensor(&s, "axis", T_I32, 0, NULL, tb_add_buffer(&s, &axis1, 4));
		int y = tb_add_tensor(&s, "y", T_I32, 2, (int[]){ 1, 3 }, 0);
		int x2 = tb_add_tensor(&s, "x2", T_F32, 2, (int[]){ 2, 4 }, 0);
		int a2 = tb_add_tensor(&s, "axis2", T_I32, 1, (int[]){ 1 }, tb_add_buffer(&s, &axis_last, 4));
		int y2 = tb_add_tensor(&s, "y2", T_I32, 1, (int[]){ 2 }, 0);
		tb_opt(tb_add_op(&s, ARG_MAX, NULL, 2, (int[]){ x, a }, 1, (int[]){ y }), O_ARG_MAX, 0, 1, 2);
		tb_opt(tb_add_op(&s, ARG_MAX, NULL, 2, (int[]){ x2, a2 }, 1, (int[]){ y2 }), O_ARG_MAX, 0, 1, 2);
		s.n_in = s.n_out = 2;
		s.in[0] = x, s.in[1] = x2;
		s.out[0] = y, s.out[1] = y2;
		nn_model *m = prepare(&s, r);
		set_input(m, 0, q, sizeof q);
		set_input(m, 1, f, sizeof f);
		run(m);
		expect_bytes(m, 0, want_q, sizeof want_q, mode(r));
		expect_bytes(m, 1, want_f, sizeof want_f, mode(r));
		nn_model_free(m);
	}
}

TEST(pose_pack_unpack)
{
	static const int32_t a[2] = { 1, 2 }, b[2] = { 30, 40 }, c[2] = { -5, -6 };
	static const int32_t packed[6] = { 1, 30, -5, 2, 40, -6 }; /* stacked along the new axis 1: [2,3] */
	static const int8_t u[6] = { 10, 11, 20, 21, 30, 31 }; /* [3,2] unpacked along axis 1 into two [3] */
	static const int8_t u0[3] = { 10, 20, 30 }, u1[3] = { 11, 21, 31 };
	for (int r = 0; r < 2; r++) {
		tb_model s;
		empty(&s);
		int ta = tb_add_tensor(&s, "a", T_I32, 1, (int[]){ 2 }, 0);
		int tb = tb_add_tensor(&s, "b", T_I32, 1, (int[]){ 2 }, tb_add_buffer(&s, b, sizeof b));
		int tc = tb_add_tensor(&s, "c", T_I32, 1, (int[]){ 2 }, 0);
		int tp = tb_add_tensor(&s, "p", T_I32, 2, (int[]){ 2, 3 }, 0);
		int tu = tb_add_tensor(&s, "u", T_I8, 2, (int[]){ 3, 2 }, 0);
		int t0 = tb_add_tensor(&s, "u0", T_I8, 1, (int[]){ 3 }, 0);
		int t1 = tb_add_tensor(&s, "u1", T_I8, 1, (int[]){ 3 }, 0);
		quant(&s, tu, 0.25f, 1);
		quant(&s, t0, 0.25f, 1);
		quant(&s, t1, 0.25f, 1);
		tb_op *o = tb_add_op(&s, PACK, NULL, 3, (int[]){ ta, tb, tc }, 1, (int[]){ tp });
		tb_opt(o, O_PACK, 0, 4, 3);
		tb_opt(o, O_PACK, 1, 4, (uint32_t)-1);
		o = tb_add_op(&s, UNPACK, NULL, 1, (int[]){ tu }, 2, (int[]){ t0, t1 });
		tb_opt(o, O_UNPACK, 0, 4, 2);
		tb_opt(o, O_UNPACK, 1, 4, 1);
		s.n_in = 3, s.n_out = 3;
		s.in[0] = ta, s.in[1] = tc, s.in[2] = tu;
		s.out[0] = tp, s.out[1] = t0, s.out[2] = t1;
		nn_model *m = prepare(&s, r);
		set_input(m, 0, a, sizeof a);
		set_input(m, 1, c, sizeof c);
		set_input(m, 2, u, sizeof u);
		run(m);
		expect_bytes(m, 0, packed, sizeof packed, mode(r));
		expect_bytes(m, 1, u0, sizeof u0, mode(r));
		expect_bytes(m, 2, u1, sizeof u1, mode(r));
		nn_model_free(m);
	}
}

static tb_model gather_nd_model(const int32_t *idx, int n_idx, int k, int out_rank, const int *out_shape)
{
	tb_model s;
	empty(&s);
	int p = tb_add_tensor(&s, "params", T_F32, 3, (int[]){ 2, 3, 2 }, 0);
	int i = tb_add_tensor(&s, "indices", T_I32, 2, (int[]){ n_idx, k }, tb_add_buffer(&s, idx, 4 * (size_t)(n_idx * k)));
	int y = tb_add_tensor(&s, "y", T_F32, out_rank, out_shape, 0);
	tb_add_op(&s, GATHER_ND, NULL, 2, (int[]){ p, i }, 1, (int[]){ y });
	s.n_in = s.n_out = 1;
	s.in[0] = p;
	s.out[0] = y;
	return s;
}

TEST(pose_gather_nd)
{
	float params[12];
	for (int i = 0; i < 12; i++)
		params[i] = (float)i * 1.5f; /* params[a][b][c] = (a*6 + b*2 + c) * 1.5 */
	static const int32_t rows[6] = { 0, 1, 1, 2, 1, 0 };
	static const float want_rows[6] = { 3, 4.5f, 15, 16.5f, 9, 10.5f };
	static const int32_t points[6] = { 1, 2, 1, 0, 0, 1 };
	static const float want_points[2] = { 16.5f, 1.5f };
	for (int r = 0; r < 2; r++) {
		tb_model s = gather_nd_model(rows, 3, 2, 2, (int[]){ 3, 2 });
		nn_model *m = prepare(&s, r);
		set_input(m, 0, params, sizeof params);
		run(m);
		expect_bytes(m, 0, want_rows, sizeof want_rows, mode(r));
		nn_model_free(m);
		s = gather_nd_model(points, 2, 3, 1, (int[]){ 2 });
		m = prepare(&s, r);
		set_input(m, 0, params, sizeof params);
		run(m);
		expect_bytes(m, 0, want_points, sizeof want_points, mode(r));
		nn_model_free(m);
	}
	/* An index outside params is a run-time error naming the node and the index. */
	static const int32_t bad[2] = { 0, 3 };
	tb_model s = gather_nd_model(bad, 1, 2, 2, (int[]){ 1, 2 });
	nn_model *m = prepare(&s, 0);
	set_input(m, 0, params, sizeof params);
	char err[512];
	CHECK(nn_model_run(m, err, sizeof err) == NN_ERR_ARG);
	CHECK_MSG(strstr(err, "GATHER_ND") && strstr(err, "'y'") && strstr(err, "index 3 in entry 0, dimension 1"), "%s",
		  err);
	nn_model_free(m);
}

TEST(pose_sqrt)
{
	static const float f[4] = { 0, 1, 2.25f, 16 };
	static const float want_f[4] = { 0, 1, 1.5f, 4 };
	/* uint8 scale 0.25: reals 0, 1, 9, 6.25 -> 0, 1, 3, 2.5, written with scale 0.125 and zero point 2. */
	static const uint8_t q[4] = { 0, 4, 36, 25 };
	static const uint8_t want_q[4] = { 2, 10, 26, 22 };
	for (int r = 0; r < 2; r++) {
		tb_model s;
		empty(&s);
		int x = tb_add_tensor(&s, "x", T_F32, 1, (int[]){ 4 }, 0);
		int y = tb_add_tensor(&s, "y", T_F32, 1, (int[]){ 4 }, 0);
		int xq = tb_add_tensor(&s, "xq", T_U8, 1, (int[]){ 4 }, 0);
		int yq = tb_add_tensor(&s, "yq", T_U8, 1, (int[]){ 4 }, 0);
		quant(&s, xq, 0.25f, 0);
		quant(&s, yq, 0.125f, 2);
		tb_add_op(&s, SQRT, NULL, 1, (int[]){ x }, 1, (int[]){ y });
		tb_add_op(&s, SQRT, NULL, 1, (int[]){ xq }, 1, (int[]){ yq });
		s.n_in = s.n_out = 2;
		s.in[0] = x, s.in[1] = xq;
		s.out[0] = y, s.out[1] = yq;
		nn_model *m = prepare(&s, r);
		set_input(m, 0, f, sizeof f);
		set_input(m, 1, q, sizeof q);
		run(m);
		expect_bytes(m, 0, want_f, sizeof want_f, mode(r));
		expect_bytes(m, 1, want_q, sizeof want_q, mode(r));
		nn_model_free(m);
	}
}

/*
 * MoveNet's index arithmetic: the argmax of a flattened 3x4 heatmap, then
 * row = idx // 4 (FLOOR_DIV), col = idx - row * 4 (MUL, SUB on int32), the
 * two packed into [1,2], and CAST to float. Also FLOOR_DIV on negatives.
 */
TEST(pose_movenet_index_chain)
{
	static const int32_t axis = 1, four = 4;
	for (int r = 0; r < 2; r++) {
		tb_model s;
		empty(&s);
		int x = tb_add_tensor(&s, "heat", T_F32, 2, (int[]){ 1, 12 }, 0);
		int ax = tb_add_tensor(&s, "axis", T_I32, 0, NULL, tb_add_buffer(&s, &axis, 4));
		int k4 = tb_add_tensor(&s, "four", T_I32, 0, NULL, tb_add_buffer(&s, &four, 4));
		int idx = tb_add_tensor(&s, "idx", T_I32, 1, (int[]){ 1 }, 0);
		int row = tb_add_tensor(&s, "row", T_I32, 1, (int[]){ 1 }, 0);
		int rw = tb_add_tensor(&s, "row_x4", T_I32, 1, (int[]){ 1 }, 0);
		int col = tb_add_tensor(&s, "col", T_I32, 1, (int[]){ 1 }, 0);
		int rc = tb_add_tensor(&s, "rc", T_I32, 2, (int[]){ 1, 2 }, 0);
		int rcf = tb_add_tensor(&s, "rc_float", T_F32, 2, (int[]){ 1, 2 }, 0);
		int a = tb_add_tensor(&s, "a", T_I32, 1, (int[]){ 4 }, 0);
		int b = tb_add_tensor(&s, "b", T_I32, 1, (int[]){ 4 }, 0);
		int q = tb_add_tensor(&s, "q", T_I32, 1, (int[]){ 4 }, 0);
		tb_opt(tb_add_op(&s, ARG_MAX, NULL, 2, (int[]){ x, ax }, 1, (int[]){ idx }), O_ARG_MAX, 0, 1, 2);
		tb_add_op(&s, FLOOR_DIV, NULL, 2, (int[]){ idx, k4 }, 1, (int[]){ row });
		tb_opt(tb_add_op(&s, MUL, NULL, 2, (int[]){ row, k4 }, 1, (int[]){ rw }), O_MUL, 0, 1, 0);
		tb_opt(tb_add_op(&s, SUB, NULL, 2, (int[]){ idx, rw }, 1, (int[]){ col }), O_SUB, 0, 1, 0);
		tb_op *o = tb_add_op(&s, PACK, NULL, 2, (int[]){ row, col }, 1, (int[]){ rc });
		tb_opt(o, O_PACK, 0, 4, 2);
		tb_opt(o, O_PACK, 1, 4, 1);
		tb_add_op(&s, CAST, NULL, 1, (int[]){ rc }, 1, (int[]){ rcf });
		tb_add_op(&s, FLOOR_DIV, NULL, 2, (int[]){ a, b }, 1, (int[]){ q });
		s.n_in = 3, s.n_out = 2;
		s.in[0] = x, s.in[1] = a, s.in[2] = b;
		s.out[0] = rcf, s.out[1] = q;
		nn_model *m = prepare(&s, r);
		float heat[12] = { 0 };
		heat[9] = 2; /* row 2, column 1 */
		heat[3] = 1;
		static const int32_t na[4] = { -7, 7, -8, 9 }, nb[4] = { 2, -2, 2, 4 };
		static const int32_t want_q[4] = { -4, -4, -4, 2 };
		static const float want_rc[2] = { 2, 1 };
		set_input(m, 0, heat, sizeof heat);
		set_input(m, 1, na, sizeof na);
		set_input(m, 2, nb, sizeof nb);
		run(m);
		expect_bytes(m, 0, want_rc, sizeof want_rc, mode(r));
		expect_bytes(m, 1, want_q, sizeof want_q, mode(r));
		nn_model_free(m);
	}
}

/* TFLite SPLIT (axis input first) on uint8, as the traffic model's LSTM splits its state. */
TEST(pose_split)
{
	static const int32_t axis = -1;
	uint8_t in[16], want0[8], want1[8];
	for (int i = 0; i < 16; i++) {
		in[i] = (uint8_t)(100 + i);
		if (i % 4 < 2)
			want0[(i / 4) * 2 + i % 4] = in[i];
		else
			want1[(i / 4) * 2 + i % 4 - 2] = in[i];
	}
	for (int r = 0; r < 2; r++) {
		tb_model s;
		empty(&s);
		int ax = tb_add_tensor(&s, "axis", T_I32, 0, NULL, tb_add_buffer(&s, &axis, 4));
		int x = tb_add_tensor(&s, "x", T_U8, 4, (int[]){ 1, 2, 2, 4 }, 0);
		int y0 = tb_add_tensor(&s, "y0", T_U8, 4, (int[]){ 1, 2, 2, 2 }, 0);
		int y1 = tb_add_tensor(&s, "y1", T_U8, 4, (int[]){ 1, 2, 2, 2 }, 0);
		for (int t = x; t <= y1; t++)
			quant(&s, t, 0.0235294f, 0);
		tb_opt(tb_add_op(&s, SPLIT, NULL, 2, (int[]){ ax, x }, 2, (int[]){ y0, y1 }), O_SPLIT, 0, 4, 2);
		s.n_in = 1, s.n_out = 2;
		s.in[0] = x;
		s.out[0] = y0, s.out[1] = y1;
		nn_model *m = prepare(&s, r);
		set_input(m, 0, in, sizeof in);
		run(m);
		expect_bytes(m, 0, want0, sizeof want0, mode(r));
		expect_bytes(m, 1, want1, sizeof want1, mode(r));
		nn_model_free(m);
	}
}

/*
 * MoveNet's first SUB takes an int8 constant of about 1e-4 from values of
 * scale 1: the loader turns such an ADD or SUB into a copy. One whose
 * constant can move a value stays an arithmetic node.
 */
TEST(pose_negligible_sub_is_a_copy)
{
	static const int8_t tiny[3] = { 127, -128, 5 };  /* scale 1e-6: at most 1.3e-4 */
	static const int8_t big[3] = { 127, -128, 5 };   /* scale 0.01: up to 1.28 */
	int8_t in[12];
	for (int i = 0; i < 12; i++)
		in[i] = (int8_t)(i * 20 - 120);
	for (int variant = 0; variant < 2; variant++) {
		tb_model s;
		empty(&s);
		int x = tb_add_tensor(&s, "x", T_I8, 4, (int[]){ 1, 2, 2, 3 }, 0);
		int k = tb_add_tensor(&s, "mean", T_I8, 4, (int[]){ 1, 1, 1, 3 },
				      tb_add_buffer(&s, variant ? big : tiny, 3));
		int y = tb_add_tensor(&s, "y", T_I8, 4, (int[]){ 1, 2, 2, 3 }, 0);
		quant(&s, x, 1.0f, -128);
		quant(&s, k, variant ? 0.01f : 1e-6f, 0);
		quant(&s, y, 1.0f, -128);
		tb_opt(tb_add_op(&s, SUB, NULL, 2, (int[]){ x, k }, 1, (int[]){ y }), O_SUB, 0, 1, 0);
		s.n_in = s.n_out = 1;
		s.in[0] = x;
		s.out[0] = y;
		nn_graph *g;
		char err[512];
		CHECK_MSG(tb_load(&s, &g, err, sizeof err) == 0, "%s", err);
		CHECK(g->n_nodes == 1 && g->nodes[0].op == (variant ? NN_OP_SUB : NN_OP_RESHAPE));
		CHECK(g->nodes[0].inputs[0] == x);
		nn_graph_free(g);
		nn_model *m = prepare(&s, 0);
		set_input(m, 0, in, sizeof in);
		run(m);
		const int8_t *out = nn_model_output(m, 0)->data;
		for (int i = 0; i < 12; i++) {
			/* Real value (q + 128) minus the constant, rounded: the copy, or the input moved by up to one. */
			int want = variant ? (int)lrintf((float)(in[i] + 128) - 0.01f * (float)big[i % 3]) - 128 : in[i];
			CHECK_MSG(out[i] == want || (variant && abs(out[i] - want) <= 1 && out[i] != in[i]),
				  "variant %d element %d: %d, expected %d", variant, i, out[i], want);
		}
		nn_model_free(m);
	}
}

/*
 * PAD of H and W by one pixel, then a VALID 3x3 depthwise convolution of
 * stride 2 (MediaPipe's pattern): the pad becomes the convolution's own
 * padding. Input 1..9 in 3x3, ones as weights: the four windows of the
 * padded input sum to 12, 16, 24 and 28. Variants that must not fuse: the
 * padded tensor is also a graph output; the pad value is 1; channels padded.
 */
static tb_model pad_conv_model(int variant, const int32_t *pads, const float *weights, const float *one)
{
	tb_model s;
	empty(&s);
	int ch = variant == 3 ? 2 : 1;
	int x = tb_add_tensor(&s, "x", T_F32, 4, (int[]){ 1, 3, 3, 1 }, 0);
	int pt = tb_add_tensor(&s, "paddings", T_I32, 2, (int[]){ 4, 2 }, tb_add_buffer(&s, pads, 32));
	int xp = tb_add_tensor(&s, "x_padded", T_F32, 4, (int[]){ 1, 5, 5, ch }, 0);
	int w = tb_add_tensor(&s, "w", T_F32, 4, (int[]){ 1, 3, 3, ch }, tb_add_buffer(&s, weights, 36 * (size_t)ch));
	int y = tb_add_tensor(&s, "y", T_F32, 4, (int[]){ 1, 2, 2, ch }, 0);
	if (variant == 2) {
		int v = tb_add_tensor(&s, "value", T_F32, 0, NULL, tb_add_buffer(&s, one, 4));
		tb_add_op(&s, PADV2, NULL, 3, (int[]){ x, pt, v }, 1, (int[]){ xp });
	} else {
		tb_add_op(&s, PAD, NULL, 2, (int[]){ x, pt }, 1, (int[]){ xp });
	}
	tb_op *o = tb_add_op(&s, DEPTHWISE_CONV_2D, NULL, 2, (int[]){ xp, w }, 1, (int[]){ y });
	tb_opt(o, O_DWCONV, 0, 1, 1); /* VALID */
	tb_opt(o, O_DWCONV, 1, 4, 2);
	tb_opt(o, O_DWCONV, 2, 4, 2);
	tb_opt(o, O_DWCONV, 3, 4, 1);
	s.n_in = 1;
	s.in[0] = x;
	s.n_out = variant == 1 ? 2 : 1;
	s.out[0] = y;
	s.out[1] = xp;
	return s;
}

TEST(pose_pad_folds_into_conv)
{
	static const int32_t hw[8] = { 0, 0, 1, 1, 1, 1, 0, 0 }, hwc[8] = { 0, 0, 1, 1, 1, 1, 0, 1 };
	static const float ones[18] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 }, one = 1;
	static const float in[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	static const float want[4] = { 12, 16, 24, 28 };
	for (int variant = 0; variant < 4; variant++) {
		tb_model s = pad_conv_model(variant, variant == 3 ? hwc : hw, ones, &one);
		nn_graph *g;
		char err[512];
		CHECK_MSG(tb_load(&s, &g, err, sizeof err) == 0, "%s", err);
		CHECK(g->n_nodes == 2);
		CHECK(nn_pass_fuse_pad(g, err, sizeof err) == 0);
		if (variant == 0) {
			const nn_conv_params *cp = &g->nodes[0].p.conv;
			CHECK_MSG(g->n_nodes == 1 && g->nodes[0].op == NN_OP_DEPTHWISE_CONV2D && g->nodes[0].inputs[0] == 0,
				  "%d nodes", g->n_nodes);
			CHECK(cp->padding == NN_PADDING_EXPLICIT && cp->pad_top == 1 && cp->pad_bottom == 1 &&
			      cp->pad_left == 1 && cp->pad_right == 1);
		} else {
			CHECK_MSG(g->n_nodes == 2 && g->nodes[0].op == NN_OP_PAD, "variant %d: %d nodes", variant, g->n_nodes);
		}
		nn_graph_free(g);
		if (variant == 0 || variant == 1)
			for (int r = 0; r < 2; r++) {
				nn_model *m = prepare(&s, r);
				set_input(m, 0, in, sizeof in);
				run(m);
				expect_bytes(m, 0, want, sizeof want, mode(r));
				nn_model_free(m);
			}
	}
}

/* ---- DENSIFY ---- */

/*
 * x (input) + DENSIFY(sparse constant) -> y: with x = 0, y is the dense
 * tensor. values holds n_values floats stored in the sparse order.
 */
static tb_model densify_model(const tb_sparsity *sp, int rank, const int *shape, const float *values, int n_values)
{
	tb_model s;
	empty(&s);
	int x = tb_add_tensor(&s, "x", T_F32, rank, shape, 0);
	int w = tb_add_tensor(&s, "w_sparse", T_F32, rank, shape, tb_add_buffer(&s, values, 4 * (size_t)n_values));
	s.tensors[w].sp = sp;
	int d = tb_add_tensor(&s, "w", T_F32, rank, shape, 0);
	int y = tb_add_tensor(&s, "y", T_F32, rank, shape, 0);
	tb_add_op(&s, DENSIFY, NULL, 1, (int[]){ w }, 1, (int[]){ d });
	tb_opt(tb_add_op(&s, ADD, NULL, 2, (int[]){ x, d }, 1, (int[]){ y }), O_ADD, 0, 1, 0);
	s.n_in = s.n_out = 1;
	s.in[0] = x;
	s.out[0] = y;
	return s;
}

static void expect_dense(const tb_model *s, const float *want, int count)
{
	/* The loader leaves no DENSIFY node: the ADD is all there is. */
	nn_graph *g;
	char err[512];
	int rc = tb_load(s, &g, err, sizeof err);
	CHECK_MSG(rc == 0, "%s", err);
	CHECK(g->n_nodes == 1 && g->nodes[0].op == NN_OP_ADD);
	/* The dense weights are held once: by DENSIFY's output; the sparse tensor, read by nothing, lets go. */
	CHECK(g->tensors[2].is_const && g->tensors[2].owns_data && g->tensors[2].data);
	CHECK(!g->tensors[1].is_const && !g->tensors[1].data);
	nn_graph_free(g);
	for (int r = 0; r < 2; r++) {
		nn_model *m = prepare(s, r);
		float zero[64] = { 0 };
		set_input(m, 0, zero, sizeof(float) * (size_t)count);
		run(m);
		expect_bytes(m, 0, want, sizeof(float) * (size_t)count, mode(r));
		nn_model_free(m);
	}
}

/* [3,4], rows dense, columns CSR:  [[0,1,0,2], [0,0,0,0], [3,0,4,0]]. */
static const int csr_seg[4] = { 0, 2, 2, 4 }, csr_idx[4] = { 1, 3, 0, 2 };
static const float csr_values[4] = { 1, 2, 3, 4 };
static const float csr_dense[12] = { 0, 1, 0, 2, 0, 0, 0, 0, 3, 0, 4, 0 };

static tb_sparsity csr_sparsity(int seg_type, int idx_type)
{
	tb_sparsity sp = { .n_trav = 2, .trav = { 0, 1 }, .n_dims = 2 };
	sp.dims[0] = (tb_sparse_dim){ .format = 0, .dense_size = 3 };
	sp.dims[1] = (tb_sparse_dim){ .format = 1, .seg_type = seg_type, .n_seg = 4, .seg = csr_seg,
				      .idx_type = idx_type, .n_idx = 4, .idx = csr_idx };
	return sp;
}

TEST(densify_csr)
{
	/* Every combination of segment and index vector types: int32 (1), uint16 (2), uint8 (3). */
	for (int st = 1; st <= 3; st++)
		for (int it = 1; it <= 3; it++) {
			tb_sparsity sp = csr_sparsity(st, it);
			tb_model s = densify_model(&sp, 2, (int[]){ 3, 4 }, csr_values, 4);
			expect_dense(&s, csr_dense, 12);
		}
	/* Column-major traversal: columns dense, rows CSR. Column 0 has row 2; 1 row 0; 2 row 2; 3 row 0. */
	static const int seg[5] = { 0, 1, 2, 3, 4 }, idx[4] = { 2, 0, 2, 0 };
	static const float values[4] = { 3, 1, 4, 2 };
	tb_sparsity sp = { .n_trav = 2, .trav = { 1, 0 }, .n_dims = 2 };
	sp.dims[0] = (tb_sparse_dim){ .format = 0, .dense_size = 4 };
	sp.dims[1] = (tb_sparse_dim){ .format = 1, .seg_type = 1, .n_seg = 5, .seg = seg, .idx_type = 3, .n_idx = 4,
				      .idx = idx };
	tb_model s = densify_model(&sp, 2, (int[]){ 3, 4 }, values, 4);
	expect_dense(&s, csr_dense, 12);
}

/*
 * [4,4] in 2x2 blocks (block_map {0, 1}): block rows dense, block columns
 * CSR, then the dense 2x2 block. Blocks (0,0) = [[1,2],[3,4]] and
 * (1,1) = [[5,6],[7,8]]; the other two are zero.
 */
TEST(densify_blocks)
{
	static const int seg[3] = { 0, 1, 2 }, idx[2] = { 0, 1 };
	static const float values[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	static const float dense[16] = { 1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 5, 6, 0, 0, 7, 8 };
	tb_sparsity sp = { .n_trav = 4, .trav = { 0, 1, 2, 3 }, .n_block = 2, .block_map = { 0, 1 }, .n_dims = 4 };
	sp.dims[0] = (tb_sparse_dim){ .format = 0, .dense_size = 2 };
	sp.dims[1] = (tb_sparse_dim){ .format = 1, .seg_type = 3, .n_seg = 3, .seg = seg, .idx_type = 2, .n_idx = 2,
				      .idx = idx };
	sp.dims[2] = (tb_sparse_dim){ .format = 0, .dense_size = 2 };
	sp.dims[3] = (tb_sparse_dim){ .format = 0, .dense_size = 2 };
	tb_model s = densify_model(&sp, 2, (int[]){ 4, 4 }, values, 8);
	expect_dense(&s, dense, 16);

	/* TFLite's usual FULLY_CONNECTED layout: [2,8] with 1x4 blocks along dimension 1 (block_map {1}). */
	static const int seg2[3] = { 0, 1, 3 }, idx2[3] = { 1, 0, 1 };
	static const float values2[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	static const float dense2[16] = { 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	tb_sparsity sp2 = { .n_trav = 3, .trav = { 0, 1, 2 }, .n_block = 1, .block_map = { 1 }, .n_dims = 3 };
	sp2.dims[0] = (tb_sparse_dim){ .format = 0, .dense_size = 2 };
	sp2.dims[1] = (tb_sparse_dim){ .format = 1, .seg_type = 1, .n_seg = 3, .seg = seg2, .idx_type = 1, .n_idx = 3,
				       .idx = idx2 };
	sp2.dims[2] = (tb_sparse_dim){ .format = 0, .dense_size = 4 };
	s = densify_model(&sp2, 2, (int[]){ 2, 8 }, values2, 12);
	expect_dense(&s, dense2, 16);
}

static void densify_fails(const tb_sparsity *sp, int n_values, const char *want)
{
	float values[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	tb_model s = densify_model(sp, 2, (int[]){ 3, 4 }, values, n_values);
	nn_graph *g;
	char err[512];
	int rc = tb_load(&s, &g, err, sizeof err);
	CHECK_MSG(rc == NN_ERR_FORMAT && !g, "rc %d, expected a format error containing \"%s\" (%s)", rc, want, err);
	CHECK_MSG(strncmp(err, "t.tflite: tensor 1 ('w_sparse'): ", 33) == 0 && strstr(err, want),
		  "message \"%s\" lacks \"%s\"", err, want);
}

TEST(densify_bad_sparsity)
{
	tb_sparsity sp = csr_sparsity(1, 1);
	densify_fails(&sp, 3, "the sparsity describes 4 values, but the buffer holds 3");
	densify_fails(&sp, 5, "describes 4 values, but the buffer holds 5");

	sp = csr_sparsity(1, 1);
	sp.trav[1] = 0;
	densify_fails(&sp, 4, "traversal_order[1] is 0: not a permutation of 0..1");
	sp.trav[1] = 2;
	densify_fails(&sp, 4, "traversal_order[1] is 2");

	sp = csr_sparsity(1, 1);
	sp.n_trav = 3;
	sp.trav[2] = 2;
	densify_fails(&sp, 4, "3 traversal_order entries, 0 block_map entries and 2 dim_metadata tables");

	sp = csr_sparsity(1, 1);
	sp.dims[0].dense_size = 4;
	densify_fails(&sp, 4, "dim_metadata[0] is DENSE of size 4, expected 3");

	static const int short_seg[3] = { 0, 2, 4 }, falling[4] = { 0, 3, 2, 4 }, late[4] = { 1, 2, 2, 4 },
			 over[4] = { 0, 2, 2, 5 }, far_idx[4] = { 1, 4, 0, 2 }, neg_idx[4] = { 1, -1, 0, 2 };
	sp = csr_sparsity(1, 1);
	sp.dims[1].seg = short_seg;
	sp.dims[1].n_seg = 3;
	densify_fails(&sp, 4, "array_segments has 3 entries, expected 4");
	sp.dims[1].seg = falling;
	sp.dims[1].n_seg = 4;
	densify_fails(&sp, 4, "array_segments[2] = 2 is below the entry before it (3)");
	sp.dims[1].seg = late;
	densify_fails(&sp, 4, "array_segments[0] is 1, expected 0");
	sp.dims[1].seg = over;
	densify_fails(&sp, 4, "array_segments ends at 5, but array_indices (int32) has 4 entries");
	sp.dims[1].seg = csr_seg;
	sp.dims[1].idx = far_idx;
	densify_fails(&sp, 4, "array_indices[1] = 4 is outside expanded dimension 1 of size 4");
	sp.dims[1].idx = neg_idx;
	densify_fails(&sp, 4, "array_indices[1] = -1 is outside");

	sp = csr_sparsity(1, 1);
	sp.dims[1].seg_type = 0;
	densify_fails(&sp, 4, "SPARSE_CSR without array_segments and array_indices");
	sp = csr_sparsity(1, 1);
	sp.dims[1].idx_type = 4;
	densify_fails(&sp, 4, "array_indices has union type 4, expected 1 (int32), 2 (uint16) or 3 (uint8)");
	sp = csr_sparsity(1, 1);
	sp.dims[1].format = 2;
	densify_fails(&sp, 4, "dim_metadata[1] has format 2, expected DENSE (0) or SPARSE_CSR (1)");

	/* Blocks: a block size that does not divide its dimension, a block of an unknown dimension. */
	tb_sparsity b = { .n_trav = 3, .trav = { 0, 1, 2 }, .n_block = 1, .block_map = { 1 }, .n_dims = 3 };
	b.dims[0] = (tb_sparse_dim){ .format = 0, .dense_size = 3 };
	b.dims[1] = (tb_sparse_dim){ .format = 0, .dense_size = 1 };
	b.dims[2] = (tb_sparse_dim){ .format = 0, .dense_size = 3 };
	densify_fails(&b, 12, "block dimension 2 (of dimension 1, size 4) must be DENSE with a size that divides 4");
	b.dims[2].dense_size = 4;
	b.block_map[0] = 2;
	densify_fails(&b, 12, "block_map[0] is 2: expected a distinct dimension 0..1");
	b.block_map[0] = 1;
	densify_fails(&b, 11, "describes 12 values, but the buffer holds 11");
}

/* DENSIFY of something that is not a constant is refused by name. */
TEST(densify_needs_a_constant)
{
	tb_model s;
	empty(&s);
	int x = tb_add_tensor(&s, "x", T_F32, 2, (int[]){ 3, 4 }, 0);
	int y = tb_add_tensor(&s, "y", T_F32, 2, (int[]){ 3, 4 }, 0);
	tb_add_op(&s, DENSIFY, NULL, 1, (int[]){ x }, 1, (int[]){ y });
	s.n_in = s.n_out = 1;
	s.in[0] = x;
	s.out[0] = y;
	nn_graph *g;
	char err[512];
	int rc = tb_load(&s, &g, err, sizeof err);
	CHECK(rc == NN_ERR_FORMAT && !g);
	CHECK_MSG(strstr(err, "node 0 (output 'y'): DENSIFY: the input, tensor 0 ('x'), is not a constant"), "%s", err);
}

TEST_SUITE(nn_pose_ops,
	   TEST_ENTRY(pose_depth_to_space),
	   TEST_ENTRY(pose_arg_max),
	   TEST_ENTRY(pose_pack_unpack),
	   TEST_ENTRY(pose_gather_nd),
	   TEST_ENTRY(pose_sqrt),
	   TEST_ENTRY(pose_movenet_index_chain),
	   TEST_ENTRY(pose_split),
	   TEST_ENTRY(pose_negligible_sub_is_a_copy),
	   TEST_ENTRY(pose_pad_folds_into_conv),
	   TEST_ENTRY(densify_csr),
	   TEST_ENTRY(densify_blocks),
	   TEST_ENTRY(densify_bad_sparsity),
	   TEST_ENTRY(densify_needs_a_constant));
