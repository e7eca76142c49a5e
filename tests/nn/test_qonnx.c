/*
 * ONNX's matrix products and quantized ops (issue 12): BATCH_MATMUL in
 * float32, integers (MatMulInteger) and quantized numbers (QLinearMatMul),
 * DYNAMIC_QUANTIZE, per-channel QUANTIZE, and the ONNX mappings of
 * ConvInteger and QLinearConv, each against values worked out by hand here:
 * zero points per row and per column, rounding half to even, saturation,
 * per-channel weights.
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

/* reference_only 1: the reference kernels; 0: the executor's default choice. */
static nn_model *prepare_graph(nn_graph *g, int reference_only)
{
	nn_model *m;
	char err[512];
	CHECK_MSG(nn_model_from_graph(&m, g, err, sizeof err) == 0, "%s", err);
	nn_prepare_options opt = { .threads = 1, .reference_only = reference_only };
	CHECK_MSG(nn_model_prepare(m, &opt, err, sizeof err) == 0, "%s", err);
	return m;
}

static void feed(nn_model *m, int i, const void *data, size_t bytes)
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
	CHECK_MSG(nn_tensor_bytes(t) == bytes, "%s: output has %zu bytes, expected %zu", what, nn_tensor_bytes(t),
		  bytes);
	for (size_t k = 0; k < bytes; k++)
		CHECK_MSG(((const uint8_t *)t->data)[k] == ((const uint8_t *)want)[k], "%s: byte %zu is %u, expected %u",
			  what, k, ((const uint8_t *)t->data)[k], ((const uint8_t *)want)[k]);
}

static void set_data(nn_graph *g, int t, const void *v)
{
	CHECK(nn_tensor_alloc_const(&g->tensors[t]) == 0);
	memcpy(g->tensors[t].data, v, nn_tensor_bytes(&g->tensors[t]));
}

/* ---- BATCH_MATMUL ---- */

static nn_graph *build_bmm_float(void)
{
	nn_graph *g = nn_graph_create("bmm");
	int a = tb_tensor(g, "a", NN_F32, 4, 2, 1, 2, 2), b = tb_tensor(g, "b", NN_F32, 3, 3, 2, 2);
	int y = tb_tensor(g, "y", NN_F32, 4, 2, 3, 2, 2);
	tb_node(g, NN_OP_BATCH_MATMUL, "mm", TB_LIST(a, b), TB_LIST(y));
	tb_io(g, TB_LIST(a, b), TB_LIST(y));
	return g;
}

/* A [2,1,2,2] times B [3,2,2]: every A batch against every B batch (identity, swap, twice the identity). */
TEST(qonnx_batch_matmul_float_broadcast)
{
	static const float a[8] = { 1, 2, 3, 4, 0, 1, 1, 0 };
	static const float b[12] = { 1, 0, 0, 1, 0, 1, 1, 0, 2, 0, 0, 2 };
	static const float want[24] = {
		1, 2, 3, 4, 2, 1, 4, 3, 2, 4, 6, 8, /* A batch 0 times I, swap, 2I */
		0, 1, 1, 0, 1, 0, 0, 1, 0, 2, 2, 0, /* A batch 1 */
	};
	for (int ref = 1; ref >= 0; ref--) {
		nn_model *m = prepare_graph(build_bmm_float(), ref);
		feed(m, 0, a, sizeof a);
		feed(m, 1, b, sizeof b);
		run(m);
		expect_bytes(m, 0, want, sizeof want, "float batch matmul");
		nn_model_free(m);
	}
}

/* MatMulInteger: uint8 A with one zero point per row, int8 B with one for all, int32 out. */
TEST(qonnx_batch_matmul_integer_zero_points)
{
	nn_graph *g = nn_graph_create("mmi");
	int a = tb_tensor(g, "a", NN_U8, 2, 2, 3), b = tb_tensor(g, "b", NN_I8, 2, 3, 1);
	int za = tb_tensor(g, "za", NN_U8, 1, 2), zb = tb_tensor(g, "zb", NN_I8, 0);
	int y = tb_tensor(g, "y", NN_I32, 2, 2, 1);
	static const uint8_t av[6] = { 10, 20, 30, 0, 255, 1 }, zav[2] = { 10, 1 };
	static const int8_t bv[3] = { 1, -2, 3 }, zbv[1] = { -1 };
	set_data(g, b, bv);
	set_data(g, za, zav);
	set_data(g, zb, zbv);
	tb_node(g, NN_OP_BATCH_MATMUL, "mm", TB_LIST(a, b, za, zb), TB_LIST(y));
	tb_io(g, TB_LIST(a), TB_LIST(y));
	nn_model *m = prepare_graph(g, 0);
	feed(m, 0, av, sizeof av);
	run(m);
	/* Row 0: (0, 10, 20) . (2, -1, 4) = 70; row 1: (-1, 254, 0) . (2, -1, 4) = -256. */
	static const int32_t want[2] = { 70, -256 };
	expect_bytes(m, 0, want, sizeof want, "MatMulInteger");
	nn_model_free(m);
}

/*
 * QLinearMatMul: A uint8 (scale 0.5, zero point 128), B uint8 per column
 * (scales 1, 1, 2, 1), output uint8 (scale 1, zero point 10).
 */
TEST(qonnx_batch_matmul_quantized_rounding)
{
	nn_graph *g = nn_graph_create("qmm");
	int a = tb_tensor(g, "a", NN_U8, 2, 1, 4), b = tb_tensor(g, "b", NN_U8, 2, 4, 4);
	int y = tb_tensor(g, "y", NN_U8, 2, 1, 4);
	tb_quant(g, a, 0.5f, 128);
	tb_quant(g, y, 1.0f, 10);
	static const float bs[4] = { 1, 1, 2, 1 };
	static const int32_t bz[4] = { 0, 0, 0, 0 };
	CHECK(nn_tensor_set_quant(&g->tensors[b], 4, 1, bs, bz) == 0);
	static const uint8_t bv[16] = {
		1, 0, 255, 0, /* row k = 0 */
		0, 1, 0, 255, 3, 1, 0, 0, 0, 0, 0, 0,
	};
	set_data(g, b, bv);
	tb_node(g, NN_OP_BATCH_MATMUL, "mm", TB_LIST(a, b), TB_LIST(y));
	tb_io(g, TB_LIST(a), TB_LIST(y));
	nn_model *m = prepare_graph(g, 0);
	static const uint8_t av[4] = { 130, 126, 129, 128 }; /* 2, -2, 1, 0 */
	feed(m, 0, av, sizeof av);
	run(m);
	/*
	 * Column 0: 2*1 + 1*3 = 5, times 0.5 = 2.5 -> 2 (half to even) + 10 = 12.
	 * Column 1: -2 + 1 = -1, times 0.5 = -0.5 -> 0 + 10 = 10 (half away from zero would give 9).
	 * Column 2: 2*255 = 510, times 0.5 * 2 = 510 + 10 -> saturates to 255.
	 * Column 3: -2*255 = -510, times 0.5 = -255 + 10 -> saturates to 0.
	 */
	static const uint8_t want[4] = { 12, 10, 255, 0 };
	expect_bytes(m, 0, want, sizeof want, "QLinearMatMul");
	nn_model_free(m);
}

/* ---- DYNAMIC_QUANTIZE ---- */

typedef struct dq_case {
	const char *what;
	int count;
	float x[6];
	float scale;
	uint8_t zp;
	uint8_t y[6];
} dq_case;

/*
 * Ranges whose scale is exactly 0.5 (hi - lo = 127.5), so that the ties are
 * real ties: x / scale and -lo / scale land on halves.
 */
static const dq_case dq_cases[] = {
	/* lo -0.75: zero point 1.5 -> 2; -1.5 -> -2 + 2 = 0, 0.5 -> 0 + 2, 253.5 -> 254 + 2 saturates, 2.5 -> 2 + 2. */
	{ "zero point 1.5 to even", 4, { -0.75f, 0.25f, 126.75f, 1.25f }, 0.5f, 2, { 0, 2, 255, 4 } },
	/* lo -1.25: zero point 2.5 -> 2; -2.5 -> -2 + 2 = 0, 252.5 -> 252 + 2, 0.5 -> 0 + 2. */
	{ "zero point 2.5 to even", 3, { -1.25f, 126.25f, 0.25f }, 0.5f, 2, { 0, 254, 2 } },
	/* All positive: lo is 0, zero point 0; 0.25 -> 0.5 -> 0, 0.75 -> 1.5 -> 2, 127.5 -> 255. */
	{ "range from 0", 4, { 0.25f, 0.75f, 127.5f, 3.0f }, 0.5f, 0, { 0, 2, 255, 6 } },
	/* All negative: hi is 0, zero point 255; -127.5 -> 0, -0.25 -> -0.5 -> 0 + 255. */
	{ "range to 0", 3, { -127.5f, -0.25f, -1.0f }, 0.5f, 255, { 0, 255, 253 } },
	/* All zeros: scale 1 as ONNX Runtime (the specification would divide by zero), zero point 0. */
	{ "all zeros", 2, { 0, 0 }, 1.0f, 0, { 0, 0 } },
};

TEST(qonnx_dynamic_quantize)
{
	for (size_t k = 0; k < sizeof dq_cases / sizeof dq_cases[0]; k++) {
		const dq_case *d = &dq_cases[k];
		nn_graph *g = nn_graph_create("dq");
		int x = tb_tensor(g, "x", NN_F32, 1, d->count), y = tb_tensor(g, "y", NN_U8, 1, d->count);
		int s = tb_tensor(g, "scale", NN_F32, 0), z = tb_tensor(g, "zp", NN_U8, 0);
		tb_node(g, NN_OP_DYNAMIC_QUANTIZE, "dq", TB_LIST(x), TB_LIST(y, s, z));
		tb_io(g, TB_LIST(x), TB_LIST(y, s, z));
		nn_model *m = prepare_graph(g, 0);
		feed(m, 0, d->x, (size_t)d->count * sizeof(float));
		run(m);
		expect_bytes(m, 0, d->y, (size_t)d->count, d->what);
		CHECK_MSG(*(const float *)nn_model_output(m, 1)->data == d->scale, "%s: scale %g", d->what,
			  (double)*(const float *)nn_model_output(m, 1)->data);
		expect_bytes(m, 2, &d->zp, 1, d->what);
		nn_model_free(m);
	}
}

/* ---- per-channel QUANTIZE ---- */

/* float [2, 3] to int8 along axis 1: scales 1, 0.5, 2 and zero points 0, 10, -3. */
TEST(qonnx_quantize_per_channel)
{
	nn_graph *g = nn_graph_create("qpc");
	int x = tb_tensor(g, "x", NN_F32, 2, 2, 3), y = tb_tensor(g, "y", NN_I8, 2, 2, 3);
	static const float sc[3] = { 1.0f, 0.5f, 2.0f };
	static const int32_t zp[3] = { 0, 10, -3 };
	CHECK(nn_tensor_set_quant(&g->tensors[y], 3, 1, sc, zp) == 0);
	tb_node(g, NN_OP_QUANTIZE, "q", TB_LIST(x), TB_LIST(y));
	tb_io(g, TB_LIST(x), TB_LIST(y));
	nn_model *m = prepare_graph(g, 0);
	static const float xv[6] = { 1.4f, 1.2f, -7.4f, 300.0f, -100.0f, 0.9f };
	feed(m, 0, xv, sizeof xv);
	run(m);
	/*
	 * Channel 0: 1.4 -> 1, 300 saturates to 127. Channel 1: 2.4 -> 2 + 10 = 12, -200 + 10 saturates to -128.
	 * Channel 2: -3.7 -> -4 - 3 = -7, 0.45 -> 0 - 3 = -3.
	 */
	static const int8_t want[6] = { 1, 12, -7, 127, -128, -3 };
	expect_bytes(m, 0, want, sizeof want, "per-channel QUANTIZE");
	nn_model_free(m);
}

/* ---- the ONNX mappings, on ModelProto bytes built here ---- */

enum { T_FLOAT = 1, T_UINT8 = 2, T_INT8 = 3, T_INT32 = 6 };

/* An initializer: dims, ONNX type, name and the values as little-endian raw_data. */
static void init_raw(pbb *g, const char *name, int type, int rank, const int64_t *dims, const void *v, size_t bytes)
{
	pbb t = { 0 };
	pbb_packed_varints(&t, 1, dims, rank);
	pbb_int(&t, 2, type);
	pbb_str(&t, 8, name);
	pbb_bytes(&t, 9, v, bytes);
	pbb_msg(g, 5, &t);
}

static void io_info(pbb *g, uint32_t field, const char *name, int elem, int rank, const int64_t *dims)
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
}

/* A node with inputs, one output and an optional INTS attribute. */
static void onnx_node(pbb *g, const char *op, const char *const *in, int n_in, const char *out, const char *attr,
		      const int64_t *ints, int n_ints)
{
	pbb nd = { 0 };
	for (int k = 0; k < n_in; k++)
		pbb_str(&nd, 1, in[k]);
	pbb_str(&nd, 2, out);
	pbb_str(&nd, 3, op);
	pbb_str(&nd, 4, op);
	if (attr) {
		pbb a = { 0 };
		pbb_str(&a, 1, attr);
		pbb_int(&a, 20, 7);
		pbb_packed_varints(&a, 8, ints, n_ints);
		pbb_msg(&nd, 5, &a);
	}
	pbb_msg(g, 1, &nd);
}

static nn_model *load_model(pbb *g, int reference_only)
{
	pbb m = { 0 }, o = { 0 };
	pbb_int(&m, 1, 7);
	pbb_str(&m, 2, "vigil-test");
	pbb_msg(&m, 7, g);
	pbb_str(&o, 1, "");
	pbb_int(&o, 2, 13);
	pbb_msg(&m, 8, &o);
	nn_graph *gr = NULL;
	char err[512];
	CHECK_MSG(nn_onnx_load_buffer(&gr, m.p, m.len, "q.onnx", NULL, err, sizeof err) == 0, "%s", err);
	pbb_free(&m);
	return prepare_graph(gr, reference_only);
}

/* The backend the graph's first node of op runs on. */
static const char *backend_of(const nn_model *m, nn_op op)
{
	const nn_graph *g = nn_model_graph(m);
	for (int i = 0; i < g->n_nodes; i++)
		if (g->nodes[i].op == op)
			return nn_model_node_backend(m, i);
	return "absent";
}

#define S(...) (const char *const[]){ __VA_ARGS__ }
#define I64(...) (const int64_t[]){ __VA_ARGS__ }

/*
 * QLinearConv, 1x1, two input and two output channels: x uint8 (scale 0.5,
 * zero point 10), int8 weights (scale 0.25 for both channels, or 0.25 and
 * 0.5 per channel with the second channel's weights halved), int32 bias,
 * y uint8 (scale 0.3, zero point 100).
 */
static nn_model *qlinear_conv_model(int per_channel, int reference_only)
{
	pbb g = { 0 };
	float xs = 0.5f, ys = 0.3f, ws2[2] = { 0.25f, 0.5f }, ws1 = 0.25f;
	uint8_t xz = 10, yz = 100;
	int8_t wz1 = 0, wz2[2] = { 0, 0 };
	int8_t w[4] = { 4, -2, per_channel ? 4 : 8, 0 };
	int32_t b[2] = { 4, per_channel ? -4 : -8 };
	init_raw(&g, "xs", T_FLOAT, 0, NULL, &xs, 4);
	init_raw(&g, "xz", T_UINT8, 0, NULL, &xz, 1);
	if (per_channel) {
		init_raw(&g, "ws", T_FLOAT, 1, I64(2), ws2, 8);
		init_raw(&g, "wz", T_INT8, 1, I64(2), wz2, 2);
	} else {
		init_raw(&g, "ws", T_FLOAT, 0, NULL, &ws1, 4);
		init_raw(&g, "wz", T_INT8, 0, NULL, &wz1, 1);
	}
	init_raw(&g, "w", T_INT8, 4, I64(2, 2, 1, 1), w, 4);
	init_raw(&g, "ys", T_FLOAT, 0, NULL, &ys, 4);
	init_raw(&g, "yz", T_UINT8, 0, NULL, &yz, 1);
	init_raw(&g, "b", T_INT32, 1, I64(2), b, 8);
	onnx_node(&g, "QLinearConv", S("x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"), 9, "y", NULL, NULL, 0);
	io_info(&g, 11, "x", T_UINT8, 4, I64(1, 2, 2, 2));
	io_info(&g, 12, "y", T_UINT8, -1, NULL);
	return load_model(&g, reference_only);
}

TEST(qonnx_qlinear_conv)
{
	/* Channel 0 {10, 12, 14, 20} is {0, 1, 2, 5} real; channel 1 {11, 9, 10, 30} is {0.5, -0.5, 0, 10}. */
	static const uint8_t x[8] = { 10, 12, 14, 20, 11, 9, 10, 30 };
	/*
	 * Output 0 = x0 - 0.5 x1 + 0.5: {0.25, 1.75, 2.5, 0.5} / 0.3 -> {1, 6, 8, 2} + 100.
	 * Output 1 = 2 x0 - 1: {-1, 1, 3, 9} / 0.3 -> {-3, 3, 10, 30} + 100.
	 */
	static const uint8_t want[8] = { 101, 106, 108, 102, 97, 103, 110, 130 };
	for (int per_channel = 0; per_channel < 2; per_channel++)
		for (int ref = 1; ref >= 0; ref--) {
			nn_model *m = qlinear_conv_model(per_channel, ref);
			if (!ref && !per_channel) {
				/* int8 weights moved to uint8 by 128: XNNPACK's quantized uint8 convolution takes them. */
				CHECK_MSG(!strcmp(backend_of(m, NN_OP_CONV2D), "xnnpack"), "conv ran on %s",
					  backend_of(m, NN_OP_CONV2D));
			}
			feed(m, 0, x, sizeof x);
			run(m);
			expect_bytes(m, 0, want, sizeof want, per_channel ? "QLinearConv per channel" : "QLinearConv");
			nn_model_free(m);
		}
}

/*
 * ConvInteger, 1x1 with pads of 1: x uint8 [1,1,2,2] with zero point 1,
 * uint8 weights {5, 0} with zero points {3, 2} per output channel, so
 * (x - 1) times 2 and times -2, and zeros where the padding is.
 */
TEST(qonnx_conv_integer)
{
	pbb g = { 0 };
	uint8_t xz = 1, w[2] = { 5, 0 }, wz[2] = { 3, 2 };
	init_raw(&g, "xz", T_UINT8, 0, NULL, &xz, 1);
	init_raw(&g, "w", T_UINT8, 4, I64(2, 1, 1, 1), w, 2);
	init_raw(&g, "wz", T_UINT8, 1, I64(2), wz, 2);
	onnx_node(&g, "ConvInteger", S("x", "w", "xz", "wz"), 4, "y", "pads", I64(1, 1, 1, 1), 4);
	io_info(&g, 11, "x", T_UINT8, 4, I64(1, 1, 2, 2));
	io_info(&g, 12, "y", T_INT32, -1, NULL);
	nn_model *m = load_model(&g, 0);
	static const uint8_t x[4] = { 1, 2, 3, 4 };
	feed(m, 0, x, sizeof x);
	run(m);
	static const int32_t want[32] = {
		0, 0, 0, 0, 0, 0, 2, 0, 0, 4, 6, 0, 0, 0, 0, 0,    /* channel 0: 2 (x - 1) inside a ring of zeros */
		0, 0, 0, 0, 0, 0, -2, 0, 0, -4, -6, 0, 0, 0, 0, 0, /* channel 1: -2 (x - 1) */
	};
	expect_bytes(m, 0, want, sizeof want, "ConvInteger");
	nn_model_free(m);
}

/* MatMul of a run-time vector by a run-time [2, 3, 2] stack: the vector's dimension is dropped again. */
TEST(qonnx_matmul_vector_by_stack)
{
	pbb g = { 0 };
	onnx_node(&g, "MatMul", S("a", "b"), 2, "y", NULL, NULL, 0);
	io_info(&g, 11, "a", T_FLOAT, 1, I64(3));
	io_info(&g, 11, "b", T_FLOAT, 3, I64(2, 3, 2));
	io_info(&g, 12, "y", T_FLOAT, -1, NULL);
	nn_model *m = load_model(&g, 0);
	static const float a[3] = { 1, 2, 3 };
	static const float b[12] = { 1, 0, 0, 1, 1, 1, 2, 0, 0, 2, 0, 0 };
	feed(m, 0, a, sizeof a);
	feed(m, 1, b, sizeof b);
	run(m);
	const nn_tensor *y = nn_model_output(m, 0);
	CHECK_MSG(y->rank == 2 && y->shape[0] == 2 && y->shape[1] == 2, "output of rank %d", y->rank);
	/* Stack 0: (1 + 3, 2 + 3) = (4, 5); stack 1: (2, 4). */
	static const float want[4] = { 4, 5, 2, 4 };
	expect_bytes(m, 0, want, sizeof want, "MatMul vector by stack");
	nn_model_free(m);
}

/*
 * QLinearMatMul: A uint8 [2, 2] (scale 0.5, zero point 128) times int8 B
 * [2, 3] (scale 0.25), y uint8 (scale 0.3, zero point 100); B a constant
 * (a quantized FULLY_CONNECTED) or a graph input (BATCH_MATMUL).
 */
TEST(qonnx_qlinear_matmul)
{
	static const uint8_t a[4] = { 130, 126, 129, 128 }; /* real [[1, -1], [0.5, 0]] */
	static const int8_t b[6] = { 4, 8, -4, 2, 0, 4 };   /* real [[1, 2, -1], [0.5, 0, 1]] */
	/* Real [[0.5, 2, -2], [0.5, 1, -0.5]] / 0.3 -> [[2, 7, -7], [2, 3, -2]] + 100. */
	static const uint8_t want[6] = { 102, 107, 93, 102, 103, 98 };
	for (int b_input = 0; b_input < 2; b_input++) {
		pbb g = { 0 };
		float as = 0.5f, bs = 0.25f, ys = 0.3f;
		uint8_t az = 128, yz = 100;
		int8_t bz = 0;
		init_raw(&g, "as", T_FLOAT, 0, NULL, &as, 4);
		init_raw(&g, "az", T_UINT8, 0, NULL, &az, 1);
		init_raw(&g, "bs", T_FLOAT, 0, NULL, &bs, 4);
		init_raw(&g, "bz", T_INT8, 0, NULL, &bz, 1);
		init_raw(&g, "ys", T_FLOAT, 0, NULL, &ys, 4);
		init_raw(&g, "yz", T_UINT8, 0, NULL, &yz, 1);
		if (!b_input)
			init_raw(&g, "b", T_INT8, 2, I64(2, 3), b, 6);
		onnx_node(&g, "QLinearMatMul", S("a", "as", "az", "b", "bs", "bz", "ys", "yz"), 8, "y", NULL, NULL, 0);
		io_info(&g, 11, "a", T_UINT8, 2, I64(2, 2));
		if (b_input)
			io_info(&g, 11, "b", T_INT8, 2, I64(2, 3));
		io_info(&g, 12, "y", T_UINT8, -1, NULL);
		nn_model *m = load_model(&g, 0);
		if (!b_input)
			CHECK_MSG(!strcmp(backend_of(m, NN_OP_FULLY_CONNECTED), "xnnpack"), "FULLY_CONNECTED ran on %s",
				  backend_of(m, NN_OP_FULLY_CONNECTED));
		else
			CHECK_MSG(strcmp(backend_of(m, NN_OP_BATCH_MATMUL), "absent"), "no BATCH_MATMUL");
		feed(m, 0, a, sizeof a);
		if (b_input)
			feed(m, 1, b, sizeof b);
		run(m);
		expect_bytes(m, 0, want, sizeof want, b_input ? "QLinearMatMul, B at run time" : "QLinearMatMul");
		nn_model_free(m);
	}
}

/*
 * ONNX Runtime's dynamic quantization of a MatMul: DynamicQuantizeLinear of
 * x, MatMulInteger with its run-time zero point and constant uint8 weights,
 * Cast to float, and the two scales multiplied in. x = {0, 0.5, 1, 127.5}
 * quantizes exactly (scale 0.5, zero point 0, codes 0, 1, 2, 255); the
 * weights (scale 0.5, zero point 128) are [[1, 0], [-1, 1], [0, 2], [0.5, -0.5]].
 */
TEST(qonnx_dynamic_quantized_matmul)
{
	pbb g = { 0 };
	uint8_t w[8] = { 130, 128, 126, 130, 128, 132, 129, 127 }, wz = 128;
	float ws = 0.5f;
	init_raw(&g, "w", T_UINT8, 2, I64(4, 2), w, 8);
	init_raw(&g, "wz", T_UINT8, 0, NULL, &wz, 1);
	init_raw(&g, "ws", T_FLOAT, 0, NULL, &ws, 4);
	pbb nd = { 0 }, at = { 0 };
	pbb_str(&nd, 1, "x");
	pbb_str(&nd, 2, "xq");
	pbb_str(&nd, 2, "xs");
	pbb_str(&nd, 2, "xz");
	pbb_str(&nd, 4, "DynamicQuantizeLinear");
	pbb_msg(&g, 1, &nd);
	onnx_node(&g, "MatMulInteger", S("xq", "w", "xz", "wz"), 4, "acc", NULL, NULL, 0);
	pbb_str(&nd, 1, "acc");
	pbb_str(&nd, 2, "accf");
	pbb_str(&nd, 4, "Cast");
	pbb_str(&at, 1, "to");
	pbb_int(&at, 20, 2);
	pbb_int(&at, 3, T_FLOAT);
	pbb_msg(&nd, 5, &at);
	pbb_msg(&g, 1, &nd);
	onnx_node(&g, "Mul", S("accf", "xs"), 2, "scaled", NULL, NULL, 0);
	onnx_node(&g, "Mul", S("scaled", "ws"), 2, "y", NULL, NULL, 0);
	io_info(&g, 11, "x", T_FLOAT, 2, I64(1, 4));
	io_info(&g, 12, "y", T_FLOAT, -1, NULL);
	nn_model *m = load_model(&g, 0);
	static const float x[4] = { 0, 0.5f, 1, 127.5f };
	feed(m, 0, x, sizeof x);
	run(m);
	/* Codes times centred weights: 253 and -245, times 0.5 * 0.5. */
	static const float want[2] = { 63.25f, -61.25f };
	expect_bytes(m, 0, want, sizeof want, "dynamically quantized MatMul");
	nn_model_free(m);
}

/*
 * ConvInteger after DynamicQuantizeLinear (ONNX Runtime's dynamic
 * quantization of a Conv): the input's zero point known only at run time.
 * x = {0, -0.5, 1, 127} has lo -0.5 and hi 127, scale 0.5, zero point 1,
 * codes {1, 0, 3, 255}; the 1x1 filter holds 3 for each of the two channels.
 */
TEST(qonnx_dynamic_quantized_conv)
{
	for (int channels = 1; channels <= 2; channels++) {
		pbb g = { 0 };
		uint8_t w[2] = { 3, 3 };
		init_raw(&g, "w", T_UINT8, 4, I64(1, channels, 1, 1), w, (size_t)channels);
		pbb nd = { 0 };
		pbb_str(&nd, 1, "x");
		pbb_str(&nd, 2, "xq");
		pbb_str(&nd, 2, "xs");
		pbb_str(&nd, 2, "xz");
		pbb_str(&nd, 4, "DynamicQuantizeLinear");
		pbb_msg(&g, 1, &nd);
		onnx_node(&g, "ConvInteger", S("xq", "w", "xz"), 3, "y", NULL, NULL, 0);
		io_info(&g, 11, "x", T_FLOAT, 4, I64(1, channels, 2, 2 / channels));
		io_info(&g, 12, "y", T_INT32, -1, NULL);
		nn_model *m = load_model(&g, 0);
		static const float x[4] = { 0, -0.5f, 1, 127 };
		feed(m, 0, x, sizeof x);
		run(m);
		/*
		 * (code - 1) * 3: one channel {0, -3, 6, 762}; two channels of 2x1
		 * pixels, channel 0 {1, 0} and channel 1 {3, 255}: {0 + 6, -3 + 762}.
		 */
		static const int32_t want1[4] = { 0, -3, 6, 762 }, want2[2] = { 6, 759 };
		if (channels == 1)
			expect_bytes(m, 0, want1, sizeof want1, "ConvInteger after DynamicQuantizeLinear");
		else
			expect_bytes(m, 0, want2, sizeof want2, "ConvInteger of two channels after DynamicQuantizeLinear");
		nn_model_free(m);
	}
}

/*
 * ConvInteger whose sums pass 2^24, where float32 stops holding every
 * integer: 300 input channels of 255 (one of 254) times weights of 255
 * give 255 * (255 * 299 + 254) = 19507245, odd, which one float32
 * convolution would round; the mapping splits the channels into chunks
 * whose sums stay exact and adds them in int32. The second output channel
 * (weights of 1) gives 76499.
 */
TEST(qonnx_conv_integer_beyond_float_integers)
{
	enum { C = 300 };
	static uint8_t w[2 * C], x[C];
	for (int i = 0; i < C; i++) {
		w[i] = 255;
		w[C + i] = 1;
		x[i] = i == 7 ? 254 : 255;
	}
	pbb g = { 0 };
	init_raw(&g, "w", T_UINT8, 4, I64(2, C, 1, 1), w, sizeof w);
	onnx_node(&g, "ConvInteger", S("x", "w"), 2, "y", NULL, NULL, 0);
	io_info(&g, 11, "x", T_UINT8, 4, I64(1, C, 1, 1));
	io_info(&g, 12, "y", T_INT32, -1, NULL);
	nn_model *m = load_model(&g, 0);
	feed(m, 0, x, sizeof x);
	run(m);
	static const int32_t want[2] = { 19507245, 76499 };
	expect_bytes(m, 0, want, sizeof want, "ConvInteger beyond 2^24");
	nn_model_free(m);
}

TEST_SUITE(nn_qonnx,
	   TEST_ENTRY(qonnx_batch_matmul_float_broadcast),
	   TEST_ENTRY(qonnx_batch_matmul_integer_zero_points),
	   TEST_ENTRY(qonnx_batch_matmul_quantized_rounding),
	   TEST_ENTRY(qonnx_dynamic_quantize),
	   TEST_ENTRY(qonnx_quantize_per_channel),
	   TEST_ENTRY(qonnx_qlinear_conv),
	   TEST_ENTRY(qonnx_conv_integer),
	   TEST_ENTRY(qonnx_matmul_vector_by_stack),
	   TEST_ENTRY(qonnx_qlinear_matmul),
	   TEST_ENTRY(qonnx_dynamic_quantized_matmul),
	   TEST_ENTRY(qonnx_dynamic_quantized_conv),
	   TEST_ENTRY(qonnx_conv_integer_beyond_float_integers));
