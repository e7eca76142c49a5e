/*
 * The small ONNX gaps of issue 12 closed together: plain integer arithmetic
 * (uint8, int8, int16 without quantization: wrapping, truncating division),
 * ARG_MAX's select_last, TOPK's smallest, GATHER's negative indices, and
 * through the ONNX loader integer Clip, Dropout's mask and training forms,
 * and the old opsets (1 to 6) with the ops whose meaning changed refused by
 * name. Every expectation is worked out by hand in the comments.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "nn/format/onnx.h"
#include "nn/model.h"
#include "nn_build.h"
#include "pb_builder.h"
#include "test.h"

/* ---- IR graphs on the reference kernels ---- */

static nn_model *prepare_ref(nn_graph *g)
{
	nn_model *m;
	char err[512];
	CHECK_MSG(nn_model_from_graph(&m, g, err, sizeof err) == 0, "%s", err);
	nn_prepare_options opt = { .threads = 1, .reference_only = 1 };
	CHECK_MSG(nn_model_prepare(m, &opt, err, sizeof err) == 0, "%s", err);
	return m;
}

static void feed(nn_model *m, int i, const void *data, size_t bytes)
{
	nn_tensor *t = nn_model_input(m, i);
	CHECK_MSG(nn_tensor_bytes(t) == bytes, "input %d takes %zu bytes, not %zu", i, nn_tensor_bytes(t), bytes);
	memcpy(t->data, data, bytes);
}

static int run_rc(nn_model *m, char *err, size_t len)
{
	return nn_model_run(m, err, len);
}

static void run(nn_model *m)
{
	char err[512];
	int rc = run_rc(m, err, sizeof err);
	CHECK_MSG(rc == 0, "run: rc %d: %s", rc, err);
}

static void expect_bytes(const nn_model *m, int i, const void *want, size_t bytes, const char *what)
{
	const nn_tensor *t = nn_model_output(m, i);
	CHECK_MSG(nn_tensor_bytes(t) == bytes, "%s: output has %zu bytes, expected %zu", what, nn_tensor_bytes(t), bytes);
	CHECK_MSG(memcmp(t->data, want, bytes) == 0, "%s: output differs", what);
}

/* y = op(a, b), all of dtype dt and 4 elements, b of shape [1] when scalar_b. */
static nn_model *binary(nn_op op, nn_dtype dt, int scalar_b)
{
	nn_graph *g = nn_graph_create("int");
	int a = tb_tensor(g, "a", dt, 1, 4), b = tb_tensor(g, "b", dt, 1, scalar_b ? 1 : 4);
	int y = tb_tensor(g, "y", dt, 1, 4);
	tb_node(g, op, "op", TB_LIST(a, b), TB_LIST(y));
	tb_io(g, TB_LIST(a, b), TB_LIST(y));
	return prepare_ref(g);
}

static void check_binary(nn_op op, nn_dtype dt, const void *a, const void *b, const void *want, const char *what)
{
	size_t es = nn_dtype_size(dt);
	nn_model *m = binary(op, dt, 0);
	feed(m, 0, a, 4 * es);
	feed(m, 1, b, 4 * es);
	run(m);
	expect_bytes(m, 0, want, 4 * es, what);
	nn_model_free(m);
}

TEST(intops_uint8_arith_wraps)
{
	const uint8_t a[4] = { 250, 3, 128, 7 }, b[4] = { 10, 255, 128, 2 };
	/* 260 mod 256 = 4, 258 mod 256 = 2, 256 mod 256 = 0, 9. */
	check_binary(NN_OP_ADD, NN_U8, a, b, (uint8_t[]){ 4, 2, 0, 9 }, "ADD uint8");
	/* 240; 3 - 255 = -252 = 4 mod 256; 0; 5. */
	check_binary(NN_OP_SUB, NN_U8, a, b, (uint8_t[]){ 240, 4, 0, 5 }, "SUB uint8");
	/* 2500 mod 256 = 196; 765 mod 256 = 253; 16384 mod 256 = 0; 14. */
	check_binary(NN_OP_MUL, NN_U8, a, b, (uint8_t[]){ 196, 253, 0, 14 }, "MUL uint8");
	/* 25, 0, 1, 3 (7 / 2 truncated). */
	check_binary(NN_OP_DIV, NN_U8, a, b, (uint8_t[]){ 25, 0, 1, 3 }, "DIV uint8");
	/* Unsigned comparison: 255 > 3. */
	check_binary(NN_OP_MAXIMUM, NN_U8, a, b, (uint8_t[]){ 250, 255, 128, 7 }, "MAXIMUM uint8");
	check_binary(NN_OP_MINIMUM, NN_U8, a, b, (uint8_t[]){ 10, 3, 128, 2 }, "MINIMUM uint8");
}

TEST(intops_int8_int16_arith)
{
	const int8_t a[4] = { 127, -128, -7, 7 }, b[4] = { 1, -1, 2, -2 };
	/* 128 wraps to -128; -129 to 127; -5; 5. */
	check_binary(NN_OP_ADD, NN_I8, a, b, (int8_t[]){ -128, 127, -5, 5 }, "ADD int8");
	/* Truncation toward zero: -7 / 2 = -3, 7 / -2 = -3; -128 / -1 = 128 wraps to -128. */
	check_binary(NN_OP_DIV, NN_I8, a, b, (int8_t[]){ 127, -128, -3, -3 }, "DIV int8");
	check_binary(NN_OP_MAXIMUM, NN_I8, a, b, (int8_t[]){ 127, -1, 2, 7 }, "MAXIMUM int8");
	const int16_t c[4] = { 32767, -300, 200, 0 }, d[4] = { 2, 300, 200, 5 };
	/* 32767 * 2 = 65534 = -2 mod 65536; -90000 = -90000 + 2 * 65536 = 41072 -> -24464; 40000 -> -25536; 0. */
	check_binary(NN_OP_MUL, NN_I16, c, d, (int16_t[]){ -2, -24464, -25536, 0 }, "MUL int16");
	check_binary(NN_OP_MINIMUM, NN_I16, c, d, (int16_t[]){ 2, -300, 200, 0 }, "MINIMUM int16");
	/* Division by zero gives 0 instead of trapping. */
	check_binary(NN_OP_DIV, NN_I16, d, c, (int16_t[]){ 0, -1, 1, 0 }, "DIV int16 by zero");

	/* POW: 2^10, (-3)^3, 5^-1 = 0.2 truncated to 0, 1^-7 = 1; (-1)^-3 = -1, 2^7 = 128 wraps to -128 in int8. */
	check_binary(NN_OP_POW, NN_I32, (int32_t[]){ 2, -3, 5, 1 }, (int32_t[]){ 10, 3, -1, -7 },
		     (int32_t[]){ 1024, -27, 0, 1 }, "POW int32");
	check_binary(NN_OP_POW, NN_I8, (int8_t[]){ -1, 2, 0, 3 }, (int8_t[]){ -3, 7, 0, 4 }, (int8_t[]){ -1, -128, 1, 81 },
		     "POW int8");

	/* A scalar operand broadcast. */
	nn_model *m = binary(NN_OP_SUB, NN_U8, 1);
	feed(m, 0, (uint8_t[]){ 0, 1, 2, 200 }, 4);
	feed(m, 1, (uint8_t[]){ 1 }, 1);
	run(m);
	expect_bytes(m, 0, (uint8_t[]){ 255, 0, 1, 199 }, 4, "SUB uint8 scalar");
	nn_model_free(m);
}

TEST(intops_argmax_select_last)
{
	for (int last = 0; last < 2; last++) {
		nn_graph *g = nn_graph_create("argmax");
		int x = tb_tensor(g, "x", NN_F32, 2, 2, 4), y = tb_tensor(g, "y", NN_I64, 1, 2);
		int n = tb_node(g, NN_OP_ARG_MAX, "am", TB_LIST(x), TB_LIST(y));
		g->nodes[n].p.arg.axis = 1;
		g->nodes[n].p.arg.select_last = last;
		tb_io(g, TB_LIST(x), TB_LIST(y));
		nn_model *m = prepare_ref(g);
		/* Row 0: the maximum 3 at 1 and 2; row 1: 5 only at 0. */
		feed(m, 0, (float[]){ 1, 3, 3, 0, 5, -1, 2, 4 }, 8 * sizeof(float));
		run(m);
		int64_t want[2] = { last ? 2 : 1, 0 };
		expect_bytes(m, 0, want, sizeof want, last ? "ARG_MAX select_last" : "ARG_MAX first");
		nn_model_free(m);
	}
}

static nn_model *topk(nn_dtype dt, int k, int smallest)
{
	nn_graph *g = nn_graph_create("topk");
	int x = tb_tensor(g, "x", dt, 2, 2, 5), v = tb_tensor(g, "v", dt, 2, 2, k), i = tb_tensor(g, "i", NN_I64, 2, 2, k);
	int n = tb_node(g, NN_OP_TOPK, "tk", TB_LIST(x), TB_LIST(v, i));
	g->nodes[n].p.topk.k = k;
	g->nodes[n].p.topk.smallest = smallest;
	tb_io(g, TB_LIST(x), TB_LIST(v, i));
	return prepare_ref(g);
}

TEST(intops_topk_smallest)
{
	nn_model *m = topk(NN_F32, 3, 1);
	/* Row 0: smallest 1 (at 1), 1 (at 3: ties by index), 2 (at 2). Row 1: -inf (4), -2 (0), 0 (2). */
	feed(m, 0, (float[]){ 3, 1, 2, 1, 9, -2, 7, 0, 8, -INFINITY }, 10 * sizeof(float));
	run(m);
	expect_bytes(m, 0, (float[]){ 1, 1, 2, -INFINITY, -2, 0 }, 6 * sizeof(float), "TOPK smallest float values");
	expect_bytes(m, 1, (int64_t[]){ 1, 3, 2, 4, 0, 2 }, 6 * sizeof(int64_t), "TOPK smallest float indices");
	nn_model_free(m);

	/* int32 with the extremes, where -x would overflow: ~x orders them without it. */
	m = topk(NN_I32, 2, 1);
	feed(m, 0, (int32_t[]){ INT32_MAX, INT32_MIN, 0, INT32_MIN, -1, 5, 4, 3, 2, 1 }, 10 * sizeof(int32_t));
	run(m);
	expect_bytes(m, 0, (int32_t[]){ INT32_MIN, INT32_MIN, 1, 2 }, 4 * sizeof(int32_t), "TOPK smallest int32 values");
	expect_bytes(m, 1, (int64_t[]){ 1, 3, 4, 3 }, 4 * sizeof(int64_t), "TOPK smallest int32 indices");
	nn_model_free(m);

	/* Largest still largest first. */
	m = topk(NN_I32, 2, 0);
	feed(m, 0, (int32_t[]){ INT32_MAX, INT32_MIN, 0, INT32_MIN, -1, 5, 4, 3, 2, 1 }, 10 * sizeof(int32_t));
	run(m);
	expect_bytes(m, 0, (int32_t[]){ INT32_MAX, 0, 5, 4 }, 4 * sizeof(int32_t), "TOPK largest int32 values");
	nn_model_free(m);
}

TEST(intops_gather_negative)
{
	for (int negative = 0; negative < 2; negative++) {
		nn_graph *g = nn_graph_create("gather");
		int p = tb_tensor(g, "p", NN_F32, 1, 3), ix = tb_tensor(g, "ix", NN_I64, 1, 3);
		int y = tb_tensor(g, "y", NN_F32, 1, 3);
		int n = tb_node(g, NN_OP_GATHER, "ga", TB_LIST(p, ix), TB_LIST(y));
		g->nodes[n].p.gather.negative = negative;
		tb_io(g, TB_LIST(p, ix), TB_LIST(y));
		nn_model *m = prepare_ref(g);
		feed(m, 0, (float[]){ 10, 20, 30 }, 3 * sizeof(float));
		feed(m, 1, (int64_t[]){ -1, 0, -3 }, 3 * sizeof(int64_t));
		char err[512] = "";
		int rc = run_rc(m, err, sizeof err);
		if (negative) {
			CHECK_MSG(rc == 0, "%s", err);
			expect_bytes(m, 0, (float[]){ 30, 10, 10 }, 3 * sizeof(float), "GATHER negative");
		} else {
			/* TensorFlow Lite's GATHER keeps refusing them. */
			CHECK_MSG(rc < 0 && strstr(err, "-1 is not in [0, 3)"), "rc %d: %s", rc, err);
		}
		nn_model_free(m);
	}
}

/* ---- through the ONNX loader ---- */

enum { T_FLOAT = 1, T_INT8 = 3, T_BOOL = 9, T_UINT32 = 12, T_UINT64 = 13 };

static void value_info(pbb *g, uint32_t field, const char *name, int elem, int rank, const int64_t *dims)
{
	pbb vi = { 0 }, tp = { 0 }, tt = { 0 }, sh = { 0 };
	for (int d = 0; d < rank; d++) {
		pbb dim = { 0 };
		pbb_int(&dim, 1, dims[d]);
		pbb_msg(&sh, 1, &dim);
	}
	pbb_int(&tt, 1, elem);
	if (rank >= 0)
		pbb_msg(&tt, 2, &sh);
	pbb_msg(&tp, 1, &tt);
	pbb_str(&vi, 1, name);
	pbb_msg(&vi, 2, &tp);
	pbb_msg(g, field, &vi);
	pbb_free(&sh);
}

/* A node with at most one attribute: an int (type 2), a float (1) or a string (3). */
static void node(pbb *g, const char *op, const char *const *in, int n_in, const char *const *out, int n_out,
		 const char *attr, int type, int64_t i, float f, const char *s)
{
	pbb nd = { 0 };
	for (int k = 0; k < n_in; k++)
		pbb_str(&nd, 1, in[k]);
	for (int k = 0; k < n_out; k++)
		pbb_str(&nd, 2, out[k]);
	pbb_str(&nd, 3, op);
	pbb_str(&nd, 4, op);
	if (attr) {
		pbb a = { 0 };
		pbb_str(&a, 1, attr);
		pbb_int(&a, 20, type);
		if (type == 1)
			pbb_float(&a, 2, f);
		if (type == 2)
			pbb_int(&a, 3, i);
		if (type == 3 && s)
			pbb_str(&a, 4, s);
		pbb_msg(&nd, 5, &a);
	}
	pbb_msg(g, 1, &nd);
}

/* A scalar initializer of type elem (int8 or float) with value v. */
static void scalar_init(pbb *g, const char *name, int elem, double v)
{
	pbb t = { 0 };
	pbb_int(&t, 2, elem);
	pbb_str(&t, 8, name);
	if (elem == T_FLOAT) {
		float f = (float)v;
		pbb_bytes(&t, 9, &f, sizeof f);
	} else {
		int8_t b = (int8_t)v;
		pbb_bytes(&t, 9, &b, 1);
	}
	pbb_msg(g, 5, &t);
}

static void finish(pbb *m, pbb *g, int opset)
{
	pbb_int(m, 1, 7);
	pbb_msg(m, 7, g);
	pbb o = { 0 };
	pbb_str(&o, 1, "");
	pbb_int(&o, 2, opset);
	pbb_msg(m, 8, &o);
	pbb_free(g);
}

#define S(...) (const char *const[]){ __VA_ARGS__ }
#define I64(...) (const int64_t[]){ __VA_ARGS__ }

static nn_model *load_ref(pbb *m)
{
	nn_graph *g = NULL;
	char err[1024];
	int rc = nn_onnx_load_buffer(&g, m->p, m->len, "t.onnx", NULL, err, sizeof err);
	CHECK_MSG(rc == 0, "load: %s", err);
	pbb_free(m);
	return prepare_ref(g);
}

static void load_fails(pbb *m, const char *want)
{
	nn_graph *g = NULL;
	char err[1024] = "";
	int rc = nn_onnx_load_buffer(&g, m->p, m->len, "t.onnx", NULL, err, sizeof err);
	CHECK_MSG(rc < 0 && !g && strstr(err, want), "rc %d, '%s', expected '%s'", rc, err, want);
	pbb_free(m);
}

TEST(intops_onnx_clip_int8)
{
	/* Clip(x, -3, 100) on int8, then Clip(x, min only). */
	for (int only_min = 0; only_min < 2; only_min++) {
		pbb g = { 0 }, m = { 0 };
		scalar_init(&g, "lo", T_INT8, -3);
		scalar_init(&g, "hi", T_INT8, 100);
		if (only_min)
			node(&g, "Clip", S("x", "lo"), 2, S("y"), 1, NULL, 0, 0, 0, NULL);
		else
			node(&g, "Clip", S("x", "lo", "hi"), 3, S("y"), 1, NULL, 0, 0, 0, NULL);
		value_info(&g, 11, "x", T_INT8, 1, I64(5));
		value_info(&g, 12, "y", T_INT8, -1, NULL);
		finish(&m, &g, 13);
		nn_model *mm = load_ref(&m);
		feed(mm, 0, (int8_t[]){ -128, -3, 0, 101, 127 }, 5);
		run(mm);
		if (only_min)
			expect_bytes(mm, 0, (int8_t[]){ -3, -3, 0, 101, 127 }, 5, "Clip int8 min only");
		else
			expect_bytes(mm, 0, (int8_t[]){ -3, -3, 0, 100, 100 }, 5, "Clip int8");
		nn_model_free(mm);
	}
}

TEST(intops_onnx_dropout_mask)
{
	/* Opset 13: ratio 0.3 and training_mode false: y = x, mask all true. Then training with ratio 0. */
	for (int training = 0; training < 2; training++) {
		pbb g = { 0 }, m = { 0 };
		scalar_init(&g, "ratio", T_FLOAT, training ? 0.0 : 0.3);
		pbb t = { 0 };
		pbb_int(&t, 2, T_BOOL);
		pbb_str(&t, 8, "train");
		uint8_t b = (uint8_t)training;
		pbb_bytes(&t, 9, &b, 1);
		pbb_msg(&g, 5, &t);
		node(&g, "Dropout", S("x", "ratio", "train"), 3, S("y", "mask"), 2, NULL, 0, 0, 0, NULL);
		value_info(&g, 11, "x", T_FLOAT, 2, I64(1, 3));
		value_info(&g, 12, "y", T_FLOAT, -1, NULL);
		value_info(&g, 12, "mask", T_BOOL, -1, NULL);
		finish(&m, &g, 13);
		nn_model *mm = load_ref(&m);
		feed(mm, 0, (float[]){ 1.5f, -2, 0 }, 3 * sizeof(float));
		run(mm);
		expect_bytes(mm, 0, (float[]){ 1.5f, -2, 0 }, 3 * sizeof(float), "Dropout output");
		expect_bytes(mm, 1, (uint8_t[]){ 1, 1, 1 }, 3, "Dropout mask");
		nn_model_free(mm);
	}
	/* Training with a ratio of 0.5 is random: refused by name. */
	pbb g = { 0 }, m = { 0 };
	scalar_init(&g, "ratio", T_FLOAT, 0.5);
	pbb t = { 0 };
	pbb_int(&t, 2, T_BOOL);
	pbb_str(&t, 8, "train");
	uint8_t b = 1;
	pbb_bytes(&t, 9, &b, 1);
	pbb_msg(&g, 5, &t);
	node(&g, "Dropout", S("x", "ratio", "train"), 3, S("y"), 1, NULL, 0, 0, 0, NULL);
	value_info(&g, 11, "x", T_FLOAT, 2, I64(1, 3));
	value_info(&g, 12, "y", T_FLOAT, -1, NULL);
	finish(&m, &g, 13);
	load_fails(&m, "training mode");
}

TEST(intops_onnx_old_opsets)
{
	/* Elu at opset 6 (alpha 0.5): elu(-1) = 0.5 * (e^-1 - 1) = -0.31606028. */
	pbb g = { 0 }, m = { 0 };
	node(&g, "Elu", S("x"), 1, S("y"), 1, "alpha", 1, 0, 0.5f, NULL);
	value_info(&g, 11, "x", T_FLOAT, 1, I64(2));
	value_info(&g, 12, "y", T_FLOAT, -1, NULL);
	finish(&m, &g, 6);
	nn_model *mm = load_ref(&m);
	feed(mm, 0, (float[]){ -1, 2 }, 2 * sizeof(float));
	run(mm);
	const float *y = nn_model_output(mm, 0)->data;
	CHECK_MSG(fabsf(y[0] + 0.31606028f) < 1e-6f && y[1] == 2, "Elu opset 6: %g %g", (double)y[0], (double)y[1]);
	nn_model_free(mm);

	/* Add at opset 6 with broadcast=1 and no axis: B's dims align with A's last, as NumPy's rule. */
	g = (pbb){ 0 }, m = (pbb){ 0 };
	node(&g, "Add", S("a", "b"), 2, S("y"), 1, "broadcast", 2, 1, 0, NULL);
	value_info(&g, 11, "a", T_FLOAT, 2, I64(2, 2));
	value_info(&g, 11, "b", T_FLOAT, 1, I64(2));
	value_info(&g, 12, "y", T_FLOAT, -1, NULL);
	finish(&m, &g, 6);
	mm = load_ref(&m);
	feed(mm, 0, (float[]){ 1, 2, 3, 4 }, 4 * sizeof(float));
	feed(mm, 1, (float[]){ 10, 20 }, 2 * sizeof(float));
	run(mm);
	expect_bytes(mm, 0, (float[]){ 11, 22, 13, 24 }, 4 * sizeof(float), "Add opset 6 broadcast");
	nn_model_free(mm);

	/* The same with axis 0 (B along A's first dimension): the legacy rule, refused by name. */
	g = (pbb){ 0 }, m = (pbb){ 0 };
	pbb nd = { 0 }, a1 = { 0 }, a2 = { 0 };
	pbb_str(&nd, 1, "a");
	pbb_str(&nd, 1, "b");
	pbb_str(&nd, 2, "y");
	pbb_str(&nd, 3, "add");
	pbb_str(&nd, 4, "Add");
	pbb_str(&a1, 1, "broadcast");
	pbb_int(&a1, 20, 2);
	pbb_int(&a1, 3, 1);
	pbb_msg(&nd, 5, &a1);
	pbb_str(&a2, 1, "axis");
	pbb_int(&a2, 20, 2);
	pbb_int(&a2, 3, 0);
	pbb_msg(&nd, 5, &a2);
	pbb_msg(&g, 1, &nd);
	value_info(&g, 11, "a", T_FLOAT, 2, I64(2, 2));
	value_info(&g, 11, "b", T_FLOAT, 1, I64(2));
	value_info(&g, 12, "y", T_FLOAT, -1, NULL);
	finish(&m, &g, 6);
	load_fails(&m, "broadcast");

	/* Dropout at opset 6 without is_test: inference still, the identity; its mask then float ones. */
	g = (pbb){ 0 }, m = (pbb){ 0 };
	node(&g, "Dropout", S("x"), 1, S("y", "mask"), 2, NULL, 0, 0, 0, NULL);
	value_info(&g, 11, "x", T_FLOAT, 1, I64(2));
	value_info(&g, 12, "y", T_FLOAT, -1, NULL);
	value_info(&g, 12, "mask", T_FLOAT, -1, NULL);
	finish(&m, &g, 6);
	mm = load_ref(&m);
	feed(mm, 0, (float[]){ -4, 0.25f }, 2 * sizeof(float));
	run(mm);
	expect_bytes(mm, 0, (float[]){ -4, 0.25f }, 2 * sizeof(float), "Dropout opset 6");
	expect_bytes(mm, 1, (float[]){ 1, 1 }, 2 * sizeof(float), "Dropout opset 6 mask");
	nn_model_free(mm);

	/* Reshape at opset 4 took its shape as an attribute: refused, naming the op and the opset. */
	g = (pbb){ 0 }, m = (pbb){ 0 };
	node(&g, "Reshape", S("x"), 1, S("y"), 1, NULL, 0, 0, 0, NULL);
	value_info(&g, 11, "x", T_FLOAT, 1, I64(2));
	value_info(&g, 12, "y", T_FLOAT, -1, NULL);
	finish(&m, &g, 4);
	load_fails(&m, "Reshape before opset 5");

	/* Outside 1..21. */
	g = (pbb){ 0 }, m = (pbb){ 0 };
	node(&g, "Relu", S("x"), 1, S("y"), 1, NULL, 0, 0, 0, NULL);
	value_info(&g, 11, "x", T_FLOAT, 1, I64(2));
	value_info(&g, 12, "y", T_FLOAT, -1, NULL);
	finish(&m, &g, 0);
	load_fails(&m, "opset 0 of the default domain (ai.onnx) is not supported (1 to 21 are)");
}

TEST(intops_onnx_unsigned_wide)
{
	/* Max(x, c) on uint32, held as int64: c = [4000000000, 1] from raw_data; 4e9 is past INT32_MAX. */
	pbb g = { 0 }, m = { 0 }, t = { 0 };
	pbb_packed_varints(&t, 1, I64(2), 1);
	pbb_int(&t, 2, T_UINT32);
	pbb_str(&t, 8, "c");
	uint32_t cv[2] = { 4000000000u, 1 };
	pbb_bytes(&t, 9, cv, sizeof cv);
	pbb_msg(&g, 5, &t);
	node(&g, "Max", S("x", "c"), 2, S("y"), 1, NULL, 0, 0, 0, NULL);
	value_info(&g, 11, "x", T_UINT32, 1, I64(2));
	value_info(&g, 12, "y", T_UINT32, -1, NULL);
	finish(&m, &g, 13);
	nn_model *mm = load_ref(&m);
	CHECK(nn_model_input(mm, 0)->dtype == NN_I64);
	feed(mm, 0, (int64_t[]){ 4000000001LL, 0 }, 2 * sizeof(int64_t));
	run(mm);
	expect_bytes(mm, 0, (int64_t[]){ 4000000001LL, 1 }, 2 * sizeof(int64_t), "Max uint32");
	nn_model_free(mm);

	/* A uint64 past 2^63 - 1 has no int64 to live in: refused with its value. */
	g = (pbb){ 0 }, m = (pbb){ 0 }, t = (pbb){ 0 };
	pbb_packed_varints(&t, 1, I64(1), 1);
	pbb_int(&t, 2, T_UINT64);
	pbb_str(&t, 8, "c");
	uint64_t big = 18446744073709551615ull;
	pbb_bytes(&t, 9, &big, sizeof big);
	pbb_msg(&g, 5, &t);
	node(&g, "Max", S("x", "c"), 2, S("y"), 1, NULL, 0, 0, 0, NULL);
	value_info(&g, 11, "x", T_UINT64, 1, I64(1));
	value_info(&g, 12, "y", T_UINT64, -1, NULL);
	finish(&m, &g, 13);
	load_fails(&m, "uint64 value 18446744073709551615 is past 2^63 - 1");
}

TEST(intops_onnx_batchnorm_training)
{
	/*
	 * x [2,1,1,2] = {1, 3, 5, 7}: batch mean 4, deviations -3 -1 1 3, variance
	 * (9 + 1 + 1 + 9) / 4 = 5; epsilon 4 makes the deviation sqrt(9) = 3.
	 * y = dev / 3 * 2 + 1 = -1, 1/3, 5/3, 3. Momentum 0.5: running mean
	 * 0 * 0.5 + 4 * 0.5 = 2, running variance 1 * 0.5 + 5 * 0.5 = 3.
	 */
	pbb g = { 0 }, m = { 0 }, nd = { 0 };
	scalar_init(&g, "s", T_FLOAT, 2);
	scalar_init(&g, "b", T_FLOAT, 1);
	scalar_init(&g, "mean", T_FLOAT, 0);
	scalar_init(&g, "var", T_FLOAT, 1);
	const char *const in[5] = { "x", "s", "b", "mean", "var" }, *const out[3] = { "y", "rm", "rv" };
	for (int k = 0; k < 5; k++)
		pbb_str(&nd, 1, in[k]);
	for (int k = 0; k < 3; k++)
		pbb_str(&nd, 2, out[k]);
	pbb_str(&nd, 3, "bn");
	pbb_str(&nd, 4, "BatchNormalization");
	const char *names[3] = { "epsilon", "momentum", "training_mode" };
	for (int k = 0; k < 3; k++) {
		pbb a = { 0 };
		pbb_str(&a, 1, names[k]);
		pbb_int(&a, 20, k < 2 ? 1 : 2);
		if (k < 2)
			pbb_float(&a, 2, k ? 0.5f : 4.0f);
		else
			pbb_int(&a, 3, 1);
		pbb_msg(&nd, 5, &a);
	}
	pbb_msg(&g, 1, &nd);
	value_info(&g, 11, "x", T_FLOAT, 4, I64(2, 1, 1, 2));
	value_info(&g, 12, "y", T_FLOAT, -1, NULL);
	value_info(&g, 12, "rm", T_FLOAT, -1, NULL);
	value_info(&g, 12, "rv", T_FLOAT, -1, NULL);
	finish(&m, &g, 15);
	nn_model *mm = load_ref(&m);
	feed(mm, 0, (float[]){ 1, 3, 5, 7 }, 4 * sizeof(float));
	run(mm);
	const float *y = nn_model_output(mm, 0)->data, want[4] = { -1, 1.0f / 3, 5.0f / 3, 3 };
	for (int k = 0; k < 4; k++)
		CHECK_MSG(fabsf(y[k] - want[k]) < 1e-6f, "y[%d] = %g, expected %g", k, (double)y[k], (double)want[k]);
	const float *rm = nn_model_output(mm, 1)->data, *rv = nn_model_output(mm, 2)->data;
	CHECK_MSG(fabsf(rm[0] - 2) < 1e-6f && fabsf(rv[0] - 3) < 1e-6f, "running %g %g", (double)rm[0], (double)rv[0]);
	nn_model_free(mm);
}

TEST(intops_onnx_argmin_or_xor)
{
	/* ArgMin of {3, 1, 1, 5}: the first 1 at index 1, the last at 2. */
	for (int last = 0; last < 2; last++) {
		pbb g = { 0 }, m = { 0 };
		node(&g, "ArgMin", S("x"), 1, S("y"), 1, "select_last_index", 2, last, 0, NULL);
		value_info(&g, 11, "x", T_FLOAT, 1, I64(4));
		value_info(&g, 12, "y", 7, -1, NULL);
		finish(&m, &g, 13);
		nn_model *mm = load_ref(&m);
		feed(mm, 0, (float[]){ 3, 1, 1, 5 }, 4 * sizeof(float));
		run(mm);
		int64_t want = last ? 2 : 1;
		expect_bytes(mm, 0, &want, sizeof want, "ArgMin");
		nn_model_free(mm);
	}
	/* a [2,2] = {1,0,1,1} against b [2] = {1,0}: pairs (1,1) (0,0) (1,1) (1,0). */
	for (int xor = 0; xor < 2; xor++) {
		pbb g = { 0 }, m = { 0 };
		node(&g, xor ? "Xor" : "Or", S("a", "b"), 2, S("y"), 1, NULL, 0, 0, 0, NULL);
		value_info(&g, 11, "a", T_BOOL, 2, I64(2, 2));
		value_info(&g, 11, "b", T_BOOL, 1, I64(2));
		value_info(&g, 12, "y", T_BOOL, -1, NULL);
		finish(&m, &g, 13);
		nn_model *mm = load_ref(&m);
		feed(mm, 0, (uint8_t[]){ 1, 0, 1, 1 }, 4);
		feed(mm, 1, (uint8_t[]){ 1, 0 }, 2);
		run(mm);
		if (xor)
			expect_bytes(mm, 0, (uint8_t[]){ 0, 0, 0, 1 }, 4, "Xor");
		else
			expect_bytes(mm, 0, (uint8_t[]){ 1, 0, 1, 1 }, 4, "Or");
		nn_model_free(mm);
	}
}

TEST(intops_onnx_rank0_axis_ops)
{
	/* A fuzzer finding: Softmax (and ArgMax) of a rank-0 input at axis 0 wrote perm[-1]; now refused by name. */
	const char *ops[2] = { "Softmax", "ArgMax" };
	for (int k = 0; k < 2; k++) {
		pbb g = { 0 }, m = { 0 };
		node(&g, ops[k], S("x"), 1, S("y"), 1, "axis", 2, 0, 0, NULL);
		value_info(&g, 11, "x", T_FLOAT, 0, NULL);
		value_info(&g, 12, "y", T_FLOAT, -1, NULL);
		finish(&m, &g, 13);
		load_fails(&m, "input of rank 0");
	}
}

TEST_SUITE(nn_intops,
	   TEST_ENTRY(intops_uint8_arith_wraps),
	   TEST_ENTRY(intops_int8_int16_arith),
	   TEST_ENTRY(intops_argmax_select_last),
	   TEST_ENTRY(intops_topk_smallest),
	   TEST_ENTRY(intops_gather_negative),
	   TEST_ENTRY(intops_onnx_clip_int8),
	   TEST_ENTRY(intops_onnx_dropout_mask),
	   TEST_ENTRY(intops_onnx_old_opsets),
	   TEST_ENTRY(intops_onnx_unsigned_wide),
	   TEST_ENTRY(intops_onnx_batchnorm_training),
	   TEST_ENTRY(intops_onnx_argmin_or_xor),
	   TEST_ENTRY(intops_onnx_rank0_axis_ops));
