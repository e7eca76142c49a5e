/*
 * ONNX Runtime's com.microsoft quantized ops (onnx_ops_msq.c) against
 * values worked out by hand: QLinearAdd and QLinearMul with a constant B of
 * another encoding, QLinearGlobalAveragePool, QLinearConcat of two
 * encodings, each on the reference kernels and on the executor's choice;
 * and the message for a com.microsoft op the loader does not have.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "nn/format/onnx.h"
#include "nn/model.h"
#include "pb_builder.h"
#include "test.h"

enum { T_FLOAT = 1, T_UINT8 = 2 };

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

/* A com.microsoft node with inputs, one output and an optional INT attribute. */
static void ms_node(pbb *g, const char *op, const char *const *in, int n_in, const char *out, const char *attr,
		    int64_t v)
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
		pbb_int(&a, 20, 2);
		pbb_int(&a, 3, v);
		pbb_msg(&nd, 5, &a);
	}
	pbb_str(&nd, 7, "com.microsoft");
	pbb_msg(g, 1, &nd);
}

/* Loads the graph (opsets 13 and com.microsoft ms, none when 0): 0, or the load's error with its message in err. */
static int load_ms(pbb *g, int ms, nn_graph **gr, char *err, size_t errlen)
{
	pbb m = { 0 }, o = { 0 }, o2 = { 0 };
	pbb_int(&m, 1, 7);
	pbb_str(&m, 2, "vigil-test");
	pbb_msg(&m, 7, g);
	pbb_str(&o, 1, "");
	pbb_int(&o, 2, 13);
	pbb_msg(&m, 8, &o);
	pbb_str(&o2, 1, "com.microsoft");
	pbb_int(&o2, 2, ms);
	if (ms)
		pbb_msg(&m, 8, &o2);
	else
		pbb_free(&o2);
	*gr = NULL;
	int rc = nn_onnx_load_buffer(gr, m.p, m.len, "msq.onnx", NULL, err, errlen);
	pbb_free(&m);
	return rc;
}

static int load(pbb *g, nn_graph **gr, char *err, size_t errlen)
{
	return load_ms(g, 1, gr, err, errlen);
}

static nn_model *prepare(pbb *g, int reference_only)
{
	nn_graph *gr;
	nn_model *m;
	char err[512];
	CHECK_MSG(load(g, &gr, err, sizeof err) == 0, "%s", err);
	CHECK_MSG(nn_model_from_graph(&m, gr, err, sizeof err) == 0, "%s", err);
	nn_prepare_options opt = { .threads = 1, .reference_only = reference_only };
	CHECK_MSG(nn_model_prepare(m, &opt, err, sizeof err) == 0, "%s", err);
	return m;
}

/* Feeds input 0 (uint8), runs, and compares output 0 (uint8) with want; the op must be an engine node. */
static void check_run(nn_model *m, nn_op op, const uint8_t *x, size_t nx, const uint8_t *want, size_t nw,
		      const char *what)
{
	const nn_graph *g = nn_model_graph(m);
	int found = 0;
	for (int i = 0; i < g->n_nodes; i++)
		found |= g->nodes[i].op == op;
	CHECK_MSG(found, "%s: no %s node", what, nn_op_name(op));
	nn_tensor *t = nn_model_input(m, 0);
	CHECK_MSG(t->dtype == NN_U8 && nn_tensor_bytes(t) == nx, "%s: input of %zu bytes", what, nn_tensor_bytes(t));
	memcpy(t->data, x, nx);
	char err[512];
	CHECK_MSG(nn_model_run(m, err, sizeof err) == 0, "%s: %s", what, err);
	const nn_tensor *y = nn_model_output(m, 0);
	CHECK_MSG(y->dtype == NN_U8 && nn_tensor_bytes(y) == nw, "%s: output of %zu bytes", what, nn_tensor_bytes(y));
	for (size_t k = 0; k < nw; k++)
		CHECK_MSG(((const uint8_t *)y->data)[k] == want[k], "%s: byte %zu is %u, expected %u", what, k,
			  ((const uint8_t *)y->data)[k], want[k]);
}

#define S(...) (const char *const[]){ __VA_ARGS__ }
#define I64(...) (const int64_t[]){ __VA_ARGS__ }

/* x uint8 [1, 2, 2, 2] with scale 0.5 and zero point 10: the inputs of every case. */
static void x_params(pbb *g)
{
	float xs = 0.5f;
	uint8_t xz = 10;
	init_raw(g, "xs", T_FLOAT, 0, NULL, &xs, 4);
	init_raw(g, "xz", T_UINT8, 0, NULL, &xz, 1);
	io_info(g, 11, "x", T_UINT8, 4, I64(1, 2, 2, 2));
	io_info(g, 12, "y", T_UINT8, -1, NULL);
}

/* Channel 0 {0, 1, 2, 5}, channel 1 {0, 0, 0.5, 0.5} in real values. */
static const uint8_t X[8] = { 10, 12, 14, 20, 10, 10, 11, 11 };

/* QLinearAdd / QLinearMul of x and B = {1, 2} per channel ([2, 1, 1], scale 0.25, zero point 4); y scale 0.5,
 * zero point 100. */
static nn_model *binary_model(const char *op, int ref)
{
	pbb g = { 0 };
	x_params(&g);
	float bs = 0.25f, ys = 0.5f;
	uint8_t bz = 4, yz = 100, b[2] = { 8, 12 };
	init_raw(&g, "b", T_UINT8, 3, I64(2, 1, 1), b, 2);
	init_raw(&g, "bs", T_FLOAT, 0, NULL, &bs, 4);
	init_raw(&g, "bz", T_UINT8, 0, NULL, &bz, 1);
	init_raw(&g, "ys", T_FLOAT, 0, NULL, &ys, 4);
	init_raw(&g, "yz", T_UINT8, 0, NULL, &yz, 1);
	ms_node(&g, op, S("x", "xs", "xz", "b", "bs", "bz", "ys", "yz"), 8, "y", NULL, 0);
	return prepare(&g, ref);
}

TEST(onnx_msq_qlinear_add_mul)
{
	/* Add: {1, 2, 3, 6} and {2, 2, 2.5, 2.5} -> / 0.5 -> {2, 4, 6, 12, 4, 4, 5, 5} + 100. */
	static const uint8_t add[8] = { 102, 104, 106, 112, 104, 104, 105, 105 };
	/* Mul: {0, 1, 2, 5} and {0, 0, 1, 1} -> / 0.5 -> {0, 2, 4, 10, 0, 0, 2, 2} + 100. */
	static const uint8_t mul[8] = { 100, 102, 104, 110, 100, 100, 102, 102 };
	for (int ref = 1; ref >= 0; ref--) {
		nn_model *m = binary_model("QLinearAdd", ref);
		check_run(m, NN_OP_ADD, X, 8, add, 8, "QLinearAdd");
		nn_model_free(m);
		m = binary_model("QLinearMul", ref);
		check_run(m, NN_OP_MUL, X, 8, mul, 8, "QLinearMul");
		nn_model_free(m);
	}
}

/* QLinearGlobalAveragePool, NCHW: means 2 and 0.25, y scale 0.25 zero point 3 -> {11, 4}. */
TEST(onnx_msq_qlinear_global_average_pool)
{
	static const uint8_t want[2] = { 11, 4 };
	for (int ref = 1; ref >= 0; ref--) {
		pbb g = { 0 };
		x_params(&g);
		float ys = 0.25f;
		uint8_t yz = 3;
		init_raw(&g, "ys", T_FLOAT, 0, NULL, &ys, 4);
		init_raw(&g, "yz", T_UINT8, 0, NULL, &yz, 1);
		ms_node(&g, "QLinearGlobalAveragePool", S("x", "xs", "xz", "ys", "yz"), 5, "y", "channels_last", 0);
		nn_model *m = prepare(&g, ref);
		check_run(m, NN_OP_AVERAGE_POOL2D, X, 8, want, 2, "QLinearGlobalAveragePool");
		nn_model_free(m);
	}
}

/*
 * QLinearConcat along axis 2 of x and a constant c [1, 2, 1, 2] of scale 1,
 * zero point 0 = {1, 2, 3, 4}; y scale 0.25, zero point 0.
 */
TEST(onnx_msq_qlinear_concat)
{
	static const uint8_t want[12] = {
		0, 4, 8, 20, 4, 8,  /* channel 0: x {0, 1, 2, 5}, then c {1, 2} */
		0, 0, 2, 2, 12, 16, /* channel 1: x {0, 0, 0.5, 0.5}, then c {3, 4} */
	};
	for (int ref = 1; ref >= 0; ref--) {
		pbb g = { 0 };
		x_params(&g);
		float cs = 1, ys = 0.25f;
		uint8_t cz = 0, yz = 0, cv[4] = { 1, 2, 3, 4 };
		init_raw(&g, "c", T_UINT8, 4, I64(1, 2, 1, 2), cv, 4);
		init_raw(&g, "cs", T_FLOAT, 0, NULL, &cs, 4);
		init_raw(&g, "cz", T_UINT8, 0, NULL, &cz, 1);
		init_raw(&g, "ys", T_FLOAT, 0, NULL, &ys, 4);
		init_raw(&g, "yz", T_UINT8, 0, NULL, &yz, 1);
		ms_node(&g, "QLinearConcat", S("ys", "yz", "x", "xs", "xz", "c", "cs", "cz"), 8, "y", "axis", 2);
		nn_model *m = prepare(&g, ref);
		check_run(m, NN_OP_CONCATENATION, X, 8, want, 12, "QLinearConcat");
		nn_model_free(m);
	}
}

/* Another op of the domain: refused with its name and domain. */
TEST(onnx_msq_other_op_refused)
{
	pbb g = { 0 };
	x_params(&g);
	ms_node(&g, "QLinearSoftmax", S("x", "xs", "xz", "xs", "xz"), 5, "y", NULL, 0);
	nn_graph *gr;
	char err[512] = "";
	CHECK(load(&g, &gr, err, sizeof err) < 0);
	CHECK_MSG(strstr(err, "operator QLinearSoftmax of domain com.microsoft is not supported"), "%s", err);
}

/* The ops need the domain's version 1 imported. */
TEST(onnx_msq_needs_opset_1)
{
	for (int ms = 0; ms <= 2; ms += 2) {
		pbb g = { 0 };
		x_params(&g);
		ms_node(&g, "QLinearSigmoid", S("x", "xs", "xz", "xs", "xz"), 5, "y", NULL, 0);
		nn_graph *gr;
		char err[512] = "";
		CHECK(load_ms(&g, ms, &gr, err, sizeof err) < 0);
		CHECK_MSG(strstr(err, ms ? "opset 2 of domain com.microsoft (1 only)" : "without its opset import"), "%s",
			  err);
	}
}

TEST_SUITE(nn_onnx_msq,
	   TEST_ENTRY(onnx_msq_qlinear_add_mul),
	   TEST_ENTRY(onnx_msq_qlinear_global_average_pool),
	   TEST_ENTRY(onnx_msq_qlinear_concat),
	   TEST_ENTRY(onnx_msq_other_op_refused),
	   TEST_ENTRY(onnx_msq_needs_opset_1));
