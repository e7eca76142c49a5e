/*
 * Tests of the ONNX loader (src/nn/format/onnx*.c) on ModelProto bytes
 * built here with pb_builder.h: initializers in raw_data and the typed
 * fields (float, float16, int32/int64 forms), a convolution computed by hand
 * through the engine, the load-time evaluation of a shape subgraph (no
 * SHAPE node survives), Softmax's axis before and after opset 13, and
 * hostile input (truncation at every length, wrong opset, short
 * initializers, a cycle, a dangling input, unsupported ops listed
 * together), each failing with a message that names the node or field.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/format/onnx.h"
#include "nn/graph.h"
#include "nn/model.h"
#include "pb_builder.h"
#include "test.h"

enum { T_FLOAT = 1, T_INT32 = 6, T_INT64 = 7, T_FLOAT16 = 10 };

/* A TensorProto: dims, type, name and the values as raw_data (raw != 0) or the typed field. */
static void tensor_f32(pbb *t, const char *name, int rank, const int64_t *dims, const float *v, int n, int raw)
{
	pbb_packed_varints(t, 1, dims, rank);
	pbb_int(t, 2, T_FLOAT);
	pbb_str(t, 8, name);
	if (raw)
		pbb_bytes(t, 9, v, (size_t)n * sizeof *v);
	else
		pbb_packed_floats(t, 4, v, n);
}

static void value_info(pbb *g, uint32_t field, const char *name, int elem, int rank, const int64_t *dims,
		       const char *const *params)
{
	pbb vi = { 0 }, tp = { 0 }, tt = { 0 }, sh = { 0 };
	for (int d = 0; d < rank; d++) {
		pbb dim = { 0 };
		if (params && params[d])
			pbb_str(&dim, 2, params[d]);
		else
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

typedef struct attr_spec {
	const char *name;
	int type; /* 1 float, 2 int, 3 string, 7 ints */
	float f;
	int64_t i;
	const char *s;
	int n;                /* ints: how many; -1 leaves the field out (an INTS attribute with no values) */
	const int64_t *ints;
} attr_spec;

static void node(pbb *g, const char *name, const char *op, const char *const *in, int n_in, const char *const *out,
		 int n_out, const attr_spec *attrs, int n_attrs)
{
	pbb nd = { 0 };
	for (int k = 0; k < n_in; k++)
		pbb_str(&nd, 1, in[k]);
	for (int k = 0; k < n_out; k++)
		pbb_str(&nd, 2, out[k]);
	pbb_str(&nd, 3, name);
	pbb_str(&nd, 4, op);
	for (int k = 0; k < n_attrs; k++) {
		pbb a = { 0 };
		pbb_str(&a, 1, attrs[k].name);
		pbb_int(&a, 20, attrs[k].type);
		if (attrs[k].type == 1)
			pbb_float(&a, 2, attrs[k].f);
		if (attrs[k].type == 2)
			pbb_int(&a, 3, attrs[k].i);
		if (attrs[k].type == 3)
			pbb_str(&a, 4, attrs[k].s);
		if (attrs[k].type == 7 && attrs[k].n >= 0)
			pbb_packed_varints(&a, 8, attrs[k].ints, attrs[k].n);
		pbb_msg(&nd, 5, &a);
	}
	pbb_msg(g, 1, &nd);
}

static void model(pbb *m, pbb *g, int opset)
{
	pbb_int(m, 1, 7);
	pbb_str(m, 2, "vigil-test");
	pbb_msg(m, 7, g);
	pbb o = { 0 };
	pbb_str(&o, 1, "");
	pbb_int(&o, 2, opset);
	pbb_msg(m, 8, &o);
}

#define S(...) (const char *const[]){ __VA_ARGS__ }
#define I64(...) (const int64_t[]){ __VA_ARGS__ }

static int load(pbb *m, nn_graph **g, char *err, size_t len)
{
	return nn_onnx_load_buffer(g, m->p, m->len, "t.onnx", NULL, err, len);
}

/* x [1,1,3,3] -> Conv 2x2 (w, bias) -> Relu -> y; the filter raw, the bias typed. */
static void conv_model(pbb *m, int raw)
{
	pbb g = { 0 }, w = { 0 }, b = { 0 };
	float wv[4] = { 1, 2, 3, 4 }, bv[1] = { -10 };
	tensor_f32(&w, "w", 4, I64(1, 1, 2, 2), wv, 4, raw);
	tensor_f32(&b, "b", 1, I64(1), bv, 1, !raw);
	pbb_msg(&g, 5, &w);
	pbb_msg(&g, 5, &b);
	node(&g, "conv", "Conv", S("x", "w", "b"), 3, S("c"), 1,
	     (attr_spec[]){ { .name = "kernel_shape", .type = 7, .n = 2, .ints = I64(2, 2) } }, 1);
	node(&g, "relu", "Relu", S("c"), 1, S("y"), 1, NULL, 0);
	value_info(&g, 11, "x", T_FLOAT, 4, I64(1, 1, 3, 3), NULL);
	value_info(&g, 12, "y", T_FLOAT, -1, NULL, NULL);
	model(m, &g, 13);
	pbb_free(&g);
}

TEST(onnx_conv_runs)
{
	for (int raw = 0; raw < 2; raw++) {
		pbb m = { 0 };
		conv_model(&m, raw);
		CHECK(nn_onnx_sniff(m.p, m.len));
		nn_graph *g = NULL;
		char err[512];
		int rc = load(&m, &g, err, sizeof err);
		CHECK_MSG(rc == 0, "%s", err);
		nn_model *mm;
		CHECK(nn_model_from_graph(&mm, g, err, sizeof err) == 0);
		CHECK_MSG(nn_model_prepare(mm, &(nn_prepare_options){ .threads = 1 }, err, sizeof err) == 0, "%s", err);
		float *x = nn_model_input(mm, 0)->data;
		for (int k = 0; k < 9; k++)
			x[k] = (float)k;
		CHECK(nn_model_run(mm, err, sizeof err) == 0);
		const nn_tensor *y = nn_model_output(mm, 0);
		CHECK(y->rank == 4 && y->shape[1] == 1 && y->shape[2] == 2 && y->shape[3] == 2);
		/* out(i,j) = x(i,j) + 2 x(i,j+1) + 3 x(i+1,j) + 4 x(i+1,j+1) - 10, then relu. */
		const float want[4] = { 0 + 2 + 9 + 16 - 10, 1 + 4 + 12 + 20 - 10, 3 + 8 + 18 + 28 - 10,
					4 + 10 + 21 + 32 - 10 };
		for (int k = 0; k < 4; k++)
			CHECK_MSG(fabsf(((const float *)y->data)[k] - want[k]) < 1e-4f, "%d: %g", k,
				  ((const float *)y->data)[k]);
		nn_model_free(mm);
		pbb_free(&m);
	}
}

TEST(onnx_truncated_at_every_length)
{
	pbb m = { 0 };
	conv_model(&m, 1);
	for (size_t n = 0; n < m.len; n++) {
		nn_graph *g = NULL;
		char err[512] = "";
		int rc = nn_onnx_load_buffer(&g, m.p, n, "t.onnx", NULL, err, sizeof err);
		if (rc == 0) {
			nn_graph_free(g);
			continue; /* a cut between whole top-level fields can still be a model */
		}
		CHECK(g == NULL);
		CHECK_MSG(!strncmp(err, "t.onnx: ", 8), "%zu: %s", n, err);
	}
	pbb_free(&m);
}

/* A shape subgraph feeding Reshape evaluates at load time; float16 and int32-typed initializers read. */
TEST(onnx_shape_subgraph_and_typed_fields)
{
	pbb g = { 0 }, idx = { 0 }, ax = { 0 }, m1 = { 0 }, h = { 0 };
	pbb_int(&idx, 2, T_INT64);
	pbb_str(&idx, 8, "i0");
	pbb_packed_varints(&idx, 7, I64(0), 1);
	pbb_packed_varints(&ax, 1, I64(1), 1);
	pbb_int(&ax, 2, T_INT32);
	pbb_str(&ax, 8, "ax");
	pbb_packed_varints(&ax, 5, I64(0), 1);
	pbb_packed_varints(&m1, 1, I64(1), 1);
	pbb_int(&m1, 2, T_INT64);
	pbb_str(&m1, 8, "m1");
	pbb_packed_varints(&m1, 7, I64(-1), 1);
	/* float16 1.5 = 0x3e00, -2 = 0xc000, in int32_data. */
	pbb_packed_varints(&h, 1, I64(2), 1);
	pbb_int(&h, 2, T_FLOAT16);
	pbb_str(&h, 8, "h");
	pbb_packed_varints(&h, 5, I64(0x3e00, 0xc000), 2);
	pbb_msg(&g, 5, &idx);
	pbb_msg(&g, 5, &m1);
	pbb_msg(&g, 5, &h);
	node(&g, "shape", "Shape", S("x"), 1, S("s"), 1, NULL, 0);
	node(&g, "gather", "Gather", S("s", "i0"), 2, S("n"), 1, NULL, 0);
	node(&g, "unsq", "Unsqueeze", S("n"), 1, S("nu"), 1,
	     (attr_spec[]){ { .name = "axes", .type = 7, .n = 1, .ints = I64(0) } }, 1);
	node(&g, "cat", "Concat", S("nu", "m1"), 2, S("shp"), 1, (attr_spec[]){ { .name = "axis", .type = 2, .i = 0 } }, 1);
	node(&g, "reshape", "Reshape", S("x", "shp"), 2, S("r"), 1, NULL, 0);
	node(&g, "mul", "Mul", S("r", "h"), 2, S("y"), 1, NULL, 0);
	value_info(&g, 11, "x", T_FLOAT, 4, I64(1, 2, 1, 1), NULL);
	value_info(&g, 12, "y", T_FLOAT, -1, NULL, NULL);
	pbb m = { 0 };
	model(&m, &g, 11);
	nn_graph *gr = NULL;
	char err[512];
	CHECK_MSG(load(&m, &gr, err, sizeof err) == 0, "%s", err);
	int reshapes = 0;
	for (int i = 0; i < gr->n_nodes; i++) {
		CHECK(gr->nodes[i].op == NN_OP_RESHAPE || gr->nodes[i].op == NN_OP_MUL);
		reshapes += gr->nodes[i].op == NN_OP_RESHAPE;
	}
	CHECK(reshapes == 1);
	nn_model *mm;
	CHECK(nn_model_from_graph(&mm, gr, err, sizeof err) == 0);
	CHECK_MSG(nn_model_prepare(mm, &(nn_prepare_options){ .threads = 1 }, err, sizeof err) == 0, "%s", err);
	float *x = nn_model_input(mm, 0)->data;
	x[0] = 2, x[1] = 3;
	CHECK(nn_model_run(mm, err, sizeof err) == 0);
	const nn_tensor *y = nn_model_output(mm, 0);
	CHECK(y->rank == 2 && y->shape[0] == 1 && y->shape[1] == 2);
	CHECK(((const float *)y->data)[0] == 3.0f && ((const float *)y->data)[1] == -6.0f);
	nn_model_free(mm);
	pbb_free(&m);
	pbb_free(&g);
}

static void expect_error(pbb *m, const char *a, const char *b)
{
	nn_graph *g = NULL;
	char err[1024] = "";
	int rc = load(m, &g, err, sizeof err);
	CHECK_MSG(rc < 0 && !g, "loaded; expected an error with '%s'", a);
	CHECK_MSG(strstr(err, a) && (!b || strstr(err, b)), "%s", err);
	pbb_free(m);
}

TEST(onnx_bad_models)
{
	pbb g = { 0 }, m = { 0 };
	/* Opset outside 1..21. */
	node(&g, "r", "Relu", S("x"), 1, S("y"), 1, NULL, 0);
	value_info(&g, 11, "x", T_FLOAT, 2, I64(1, 4), NULL);
	value_info(&g, 12, "y", T_FLOAT, -1, NULL, NULL);
	model(&m, &g, 22);
	expect_error(&m, "opset 22", "1 to 21");
	pbb_free(&g);

	/* An initializer shorter than its shape. */
	pbb w = { 0 };
	float v[3] = { 1, 2, 3 };
	tensor_f32(&w, "w", 2, I64(2, 2), v, 3, 1);
	pbb_msg(&g, 5, &w);
	node(&g, "add", "Add", S("x", "w"), 2, S("y"), 1, NULL, 0);
	value_info(&g, 11, "x", T_FLOAT, 2, I64(2, 2), NULL);
	value_info(&g, 12, "y", T_FLOAT, -1, NULL, NULL);
	model(&m, &g, 13);
	expect_error(&m, "initializer 'w'", "needs 16");
	pbb_free(&g);

	/* A cycle. */
	node(&g, "a", "Add", S("x", "b"), 2, S("a"), 1, NULL, 0);
	node(&g, "b", "Relu", S("a"), 1, S("b"), 1, NULL, 0);
	value_info(&g, 11, "x", T_FLOAT, 2, I64(2, 2), NULL);
	value_info(&g, 12, "a", T_FLOAT, -1, NULL, NULL);
	model(&m, &g, 13);
	expect_error(&m, "cycle", NULL);
	pbb_free(&g);

	/* A dangling input. */
	node(&g, "lost", "Add", S("x", "ghost"), 2, S("y"), 1, NULL, 0);
	value_info(&g, 11, "x", T_FLOAT, 2, I64(2, 2), NULL);
	value_info(&g, 12, "y", T_FLOAT, -1, NULL, NULL);
	model(&m, &g, 13);
	expect_error(&m, "node 'lost' (Add)", "'ghost'");
	pbb_free(&g);

	/* Unsupported ops: all named, each with its node. */
	node(&g, "e1", "Einsum", S("x"), 1, S("a"), 1, NULL, 0);
	node(&g, "e2", "Hardmax", S("a"), 1, S("y"), 1, NULL, 0);
	value_info(&g, 11, "x", T_FLOAT, 2, I64(2, 2), NULL);
	value_info(&g, 12, "y", T_FLOAT, -1, NULL, NULL);
	model(&m, &g, 13);
	expect_error(&m, "node 'e1' (Einsum)", "node 'e2' (Hardmax)");
	pbb_free(&g);

	/* A dynamic height without a size. */
	node(&g, "r", "Relu", S("x"), 1, S("y"), 1, NULL, 0);
	value_info(&g, 11, "x", T_FLOAT, 4, I64(1, 3, 0, 0), S("N", NULL, "height", "width"));
	value_info(&g, 12, "y", T_FLOAT, -1, NULL, NULL);
	model(&m, &g, 13);
	expect_error(&m, "input 'x'", "'height'");
	pbb_free(&g);
}

/* Loads m and returns 0 or the error, freeing m; the message is in err. */
static int load_outcome(pbb *m, char *err, size_t len)
{
	nn_graph *g = NULL;
	err[0] = '\0';
	int rc = load(m, &g, err, len);
	CHECK_MSG((rc == 0) == (g != NULL), "rc %d, graph %p", rc, (void *)g);
	nn_graph_free(g);
	pbb_free(m);
	return rc;
}

/* A 2x2 MaxPool of x [1,1,4,4] whose strides attribute is given as spec says. */
static void pool_with_strides(pbb *m, attr_spec strides)
{
	pbb g = { 0 };
	node(&g, "pool", "MaxPool", S("x"), 1, S("y"), 1,
	     (attr_spec[]){ { .name = "kernel_shape", .type = 7, .n = 2, .ints = I64(2, 2) }, strides }, 2);
	value_info(&g, 11, "x", T_FLOAT, 4, I64(1, 1, 4, 4), NULL);
	value_info(&g, 12, "y", T_FLOAT, -1, NULL, NULL);
	model(m, &g, 13);
	pbb_free(&g);
}

/* The inputs fuzz_onnx found crashing the loader, as regression tests (each named after its finding). */
TEST(onnx_fuzz_findings)
{
	char err[1024];
	pbb m = { 0 }, g = { 0 };

	/* An INTS attribute with no values at all, and one with a zero-length packed list: both read as empty. */
	pool_with_strides(&m, (attr_spec){ .name = "strides", .type = 7, .n = -1 });
	int absent = load_outcome(&m, err, sizeof err);
	pool_with_strides(&m, (attr_spec){ .name = "strides", .type = 7, .n = 0, .ints = I64(0) });
	int empty = load_outcome(&m, err, sizeof err);
	CHECK_MSG(absent == empty, "no values: %d, empty packed list: %d (%s)", absent, empty, err);
	CHECK_MSG(empty == 0 || strstr(err, "strides"), "%s", err);

	/* A node with no outputs. */
	node(&g, "t", "Transpose", S("x"), 1, S(NULL), 0, NULL, 0);
	value_info(&g, 11, "x", T_FLOAT, 2, I64(2, 2), NULL);
	value_info(&g, 12, "x", T_FLOAT, -1, NULL, NULL);
	model(&m, &g, 13);
	CHECK_MSG(load_outcome(&m, err, sizeof err) < 0 && strstr(err, "Transpose"), "%s", err);
	pbb_free(&g);

	/* A huge shape with a few bytes of data: refused before anything of that size is allocated. */
	pbb w = { 0 };
	float v[4] = { 1, 2, 3, 4 };
	tensor_f32(&w, "w", 2, I64(1, 1040137215), v, 4, 1);
	pbb_msg(&g, 5, &w);
	node(&g, "add", "Add", S("x", "w"), 2, S("y"), 1, NULL, 0);
	value_info(&g, 11, "x", T_FLOAT, 2, I64(2, 2), NULL);
	value_info(&g, 12, "y", T_FLOAT, -1, NULL, NULL);
	model(&m, &g, 13);
	expect_error(&m, "initializer 'w'", NULL);
	pbb_free(&g);

	/* A Resize scale that is NaN. */
	pbb sc = { 0 };
	tensor_f32(&sc, "sc", 1, I64(4), (const float[]){ 1, 1, NAN, 2 }, 4, 1);
	pbb_msg(&g, 5, &sc);
	node(&g, "rs", "Resize", S("x", "", "sc"), 3, S("y"), 1,
	     (attr_spec[]){ { .name = "mode", .type = 3, .s = "nearest" } }, 1);
	value_info(&g, 11, "x", T_FLOAT, 4, I64(1, 1, 2, 2), NULL);
	value_info(&g, 12, "y", T_FLOAT, -1, NULL, NULL);
	model(&m, &g, 13);
	expect_error(&m, "rs", "scale");
	pbb_free(&g);
}

/* Softmax over axis 1 of [1,2,2]: opset 11 flattens from the axis on (one softmax of 4), opset 13 takes the axis. */
TEST(onnx_softmax_axis_by_opset)
{
	for (int opset = 11; opset <= 13; opset += 2) {
		pbb g = { 0 }, m = { 0 };
		node(&g, "sm", "Softmax", S("x"), 1, S("y"), 1, (attr_spec[]){ { .name = "axis", .type = 2, .i = 1 } }, 1);
		value_info(&g, 11, "x", T_FLOAT, 3, I64(1, 2, 2), NULL);
		value_info(&g, 12, "y", T_FLOAT, -1, NULL, NULL);
		model(&m, &g, opset);
		nn_graph *gr = NULL;
		char err[512];
		CHECK_MSG(load(&m, &gr, err, sizeof err) == 0, "%s", err);
		nn_model *mm;
		CHECK(nn_model_from_graph(&mm, gr, err, sizeof err) == 0);
		CHECK_MSG(nn_model_prepare(mm, &(nn_prepare_options){ .threads = 1 }, err, sizeof err) == 0, "%s", err);
		float *x = nn_model_input(mm, 0)->data;
		x[0] = 0, x[1] = 1, x[2] = 2, x[3] = 3;
		CHECK(nn_model_run(mm, err, sizeof err) == 0);
		const float *y = nn_model_output(mm, 0)->data;
		if (opset == 11) {
			float s = 1 + expf(1) + expf(2) + expf(3);
			CHECK(fabsf(y[3] - expf(3) / s) < 1e-6f && fabsf(y[0] + y[1] + y[2] + y[3] - 1) < 1e-6f);
		} else {
			/* Along axis 1: pairs (x0, x2) and (x1, x3). */
			CHECK(fabsf(y[0] + y[2] - 1) < 1e-6f && fabsf(y[1] + y[3] - 1) < 1e-6f);
			CHECK(fabsf(y[2] - 1 / (1 + expf(-2))) < 1e-6f);
		}
		nn_model_free(mm);
		pbb_free(&m);
		pbb_free(&g);
	}
}

TEST_SUITE(nn_onnx,
	   TEST_ENTRY(onnx_conv_runs),
	   TEST_ENTRY(onnx_truncated_at_every_length),
	   TEST_ENTRY(onnx_shape_subgraph_and_typed_fields),
	   TEST_ENTRY(onnx_bad_models),
	   TEST_ENTRY(onnx_fuzz_findings),
	   TEST_ENTRY(onnx_softmax_axis_by_opset));
