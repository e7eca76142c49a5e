/*
 * Tests of the indexing, layout and integer ops (src/nn/ref/shape.c, cast.c,
 * topk.c, broadcast.c): one-node graphs run through nn_ref_run, checked
 * against values worked out by hand with TensorFlow's semantics, a large
 * TOPK against a full sort, a CenterNet-style decoding through the model
 * API, and malformed nodes that must be refused or fail cleanly.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/graph.h"
#include "nn/model.h"
#include "nn/ref/ref.h"
#include "nn_build.h"
#include "test.h"

#define NODE_NAME "node_under_test"

static nn_graph *new_graph(void)
{
	nn_graph *g = nn_graph_create("test_shape");
	CHECK(g != NULL);
	return g;
}

/* Adds a tensor of the given dtype and shape (rank dimensions follow), with zeroed data. */
static int ten(nn_graph *g, nn_dtype dt, int rank, ...)
{
	char name[32];
	snprintf(name, sizeof name, "t%d", g->n_tensors);
	int t = nn_graph_add_tensor(g, name);
	CHECK(t >= 0);
	nn_tensor *x = &g->tensors[t];
	x->dtype = dt;
	x->rank = rank;
	va_list ap;
	va_start(ap, rank);
	for (int d = 0; d < rank; d++)
		x->shape[d] = va_arg(ap, int);
	va_end(ap);
	CHECK(nn_tensor_alloc_const(x) == 0);
	return t;
}

static nn_node *node(nn_graph *g, nn_op op, int n_in, const int *in, int n_out, const int *out)
{
	/* Not &g->nodes[tb_node(...)]: the call may move the array after g->nodes was read. */
	int i = tb_node(g, op, NODE_NAME, n_in, in, n_out, out);
	return &g->nodes[i];
}

/* Copies count values into tensor t (the values' C type must match its dtype). */
static void set(nn_graph *g, int t, const void *v)
{
	memcpy(g->tensors[t].data, v, nn_tensor_bytes(&g->tensors[t]));
}

static const float *F(nn_graph *g, int t) { return g->tensors[t].data; }
static const int32_t *I32(nn_graph *g, int t) { return g->tensors[t].data; }
static const int64_t *I64(nn_graph *g, int t) { return g->tensors[t].data; }
static const uint8_t *U8(nn_graph *g, int t) { return g->tensors[t].data; }

static void run_ok(nn_graph *g, const nn_node *n)
{
	char why[512] = "";
	CHECK_MSG(nn_ref_supports(g, n, why, sizeof why), "refused: %s", why);
	char err[512] = "";
	int rc = nn_ref_run(g, n, err, sizeof err);
	CHECK_MSG(rc == 0, "nn_ref_run returned %d: %s", rc, err);
}

/* The node is refused by supports, and run fails too, both with a message containing want. */
static void refused(nn_graph *g, const nn_node *n, const char *want)
{
	char why[512] = "", err[512] = "";
	CHECK_MSG(!nn_ref_supports(g, n, why, sizeof why), "accepted, expected: %s", want);
	CHECK_MSG(strstr(why, want) && strstr(why, NODE_NAME), "reason \"%s\" lacks \"%s\"", why, want);
	CHECK(nn_ref_run(g, n, err, sizeof err) < 0);
	CHECK_MSG(strstr(err, want), "run error \"%s\" lacks \"%s\"", err, want);
}

/* The node is accepted, but running it fails on its values with a message containing want. */
static void run_fails(nn_graph *g, const nn_node *n, int code, const char *want)
{
	char why[512] = "", err[512] = "";
	CHECK_MSG(nn_ref_supports(g, n, why, sizeof why), "refused: %s", why);
	int rc = nn_ref_run(g, n, err, sizeof err);
	CHECK_MSG(rc == code, "nn_ref_run returned %d (%s), expected %d", rc, err, code);
	CHECK_MSG(strstr(err, want) && strstr(err, NODE_NAME), "error \"%s\" lacks \"%s\"", err, want);
}

static void expect_f32(const float *got, const float *want, int count)
{
	for (int i = 0; i < count; i++)
		CHECK_MSG(got[i] == want[i] || (isnan(got[i]) && isnan(want[i])), "element %d: got %.9g, want %.9g", i,
			  (double)got[i], (double)want[i]);
}

static void expect_i32(const int32_t *got, const int32_t *want, int count)
{
	for (int i = 0; i < count; i++)
		CHECK_MSG(got[i] == want[i], "element %d: got %d, want %d", i, (int)got[i], (int)want[i]);
}

static void expect_i64(const int64_t *got, const int64_t *want, int count)
{
	for (int i = 0; i < count; i++)
		CHECK_MSG(got[i] == want[i], "element %d: got %lld, want %lld", i, (long long)got[i],
			  (long long)want[i]);
}

static void expect_u8(const uint8_t *got, const uint8_t *want, int count)
{
	for (int i = 0; i < count; i++)
		CHECK_MSG(got[i] == want[i], "element %d: got %d, want %d", i, got[i], want[i]);
}

/* TRANSPOSE. */

TEST(shape_transpose_nhwc_to_nchw)
{
	nn_graph *g = new_graph();
	int in = ten(g, NN_F32, 4, 1, 2, 3, 4), out = ten(g, NN_F32, 4, 1, 4, 2, 3);
	float v[24];
	for (int i = 0; i < 24; i++)
		v[i] = (float)i;
	set(g, in, v);
	nn_node *n = node(g, NN_OP_TRANSPOSE, TB_LIST(in), TB_LIST(out));
	memcpy(n->p.transpose.perm, (int[]){ 0, 3, 1, 2 }, 4 * sizeof(int));
	run_ok(g, n);
	/* out[c][h][w] = in[h][w][c] = h * 12 + w * 4 + c. */
	const float *o = F(g, out);
	for (int c = 0; c < 4; c++)
		for (int h = 0; h < 2; h++)
			for (int w = 0; w < 3; w++)
				CHECK_MSG(o[c * 6 + h * 3 + w] == (float)(h * 12 + w * 4 + c), "c %d h %d w %d", c, h, w);
	/* The first channel plane, spelled out. */
	expect_f32(o, (float[]){ 0, 4, 8, 12, 16, 20 }, 6);
	nn_graph_free(g);
}

TEST(shape_transpose_3d_perm_every_size)
{
	/* perm [2, 0, 1] on [2,3,4] gives [4,2,3] with out[a][b][c] = in[b][c][a], for 1-, 2-, 4- and 8-byte types. */
	const nn_dtype types[] = { NN_U8, NN_I16, NN_I32, NN_I64, NN_BOOL, NN_F16 };
	for (size_t k = 0; k < sizeof types / sizeof *types; k++) {
		nn_graph *g = new_graph();
		int in = ten(g, types[k], 3, 2, 3, 4), out = ten(g, types[k], 3, 4, 2, 3);
		size_t es = nn_dtype_size(types[k]);
		unsigned char *src = g->tensors[in].data;
		for (int i = 0; i < 24; i++)
			for (size_t b = 0; b < es; b++)
				src[(size_t)i * es + b] = (unsigned char)(i * 7 + (int)b);
		nn_node *n = node(g, NN_OP_TRANSPOSE, TB_LIST(in), TB_LIST(out));
		memcpy(n->p.transpose.perm, (int[]){ 2, 0, 1 }, 3 * sizeof(int));
		run_ok(g, n);
		const unsigned char *dst = g->tensors[out].data;
		for (int a = 0; a < 4; a++)
			for (int b = 0; b < 2; b++)
				for (int c = 0; c < 3; c++)
					CHECK_MSG(memcmp(dst + (size_t)(a * 6 + b * 3 + c) * es,
							 src + (size_t)(b * 12 + c * 4 + a) * es, es) == 0,
						  "%s: out[%d][%d][%d]", nn_dtype_name(types[k]), a, b, c);
		nn_graph_free(g);
	}

	/* A plain 2-D transpose, by hand. */
	nn_graph *g = new_graph();
	int in = ten(g, NN_I32, 2, 2, 3), out = ten(g, NN_I32, 2, 3, 2);
	set(g, in, (int32_t[]){ 1, 2, 3, 4, 5, 6 });
	nn_node *n = node(g, NN_OP_TRANSPOSE, TB_LIST(in), TB_LIST(out));
	n->p.transpose.perm[0] = 1;
	n->p.transpose.perm[1] = 0;
	run_ok(g, n);
	expect_i32(I32(g, out), (int32_t[]){ 1, 4, 2, 5, 3, 6 }, 6);
	nn_graph_free(g);
}

TEST(shape_transpose_large_tiles)
{
	/* Sizes over several 32x32 tiles and a batch, for the blocked path, and a perm it does not take. */
	static const struct {
		int shape[4], perm[4];
	} cases[] = {
		{ { 2, 3, 40, 50 }, { 0, 2, 3, 1 } },
		{ { 2, 40, 50, 35 }, { 0, 3, 1, 2 } },
		{ { 3, 33, 70, 2 }, { 2, 3, 0, 1 } },
		{ { 2, 33, 40, 5 }, { 0, 2, 1, 3 } },
	};
	for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
		const int *sh = cases[k].shape, *p = cases[k].perm;
		nn_graph *g = new_graph();
		int in = ten(g, NN_F32, 4, sh[0], sh[1], sh[2], sh[3]);
		int out = ten(g, NN_F32, 4, sh[p[0]], sh[p[1]], sh[p[2]], sh[p[3]]);
		float *src = g->tensors[in].data;
		int count = sh[0] * sh[1] * sh[2] * sh[3];
		for (int i = 0; i < count; i++)
			src[i] = (float)i;
		nn_node *n = node(g, NN_OP_TRANSPOSE, TB_LIST(in), TB_LIST(out));
		memcpy(n->p.transpose.perm, p, 4 * sizeof(int));
		run_ok(g, n);
		const float *o = F(g, out);
		int idx[4], os[4] = { sh[p[0]], sh[p[1]], sh[p[2]], sh[p[3]] };
		for (int i = 0; i < count; i++) {
			/* Output multi-index of i, then the input element it must hold. */
			int rest = i;
			for (int d = 3; d >= 0; d--) {
				idx[d] = rest % os[d];
				rest /= os[d];
			}
			int at[4];
			for (int d = 0; d < 4; d++)
				at[p[d]] = idx[d];
			int want = ((at[0] * sh[1] + at[1]) * sh[2] + at[2]) * sh[3] + at[3];
			if (o[i] != (float)want) {
				CHECK_MSG(0, "case %zu: out[%d] = %g, want %d", k, i, (double)o[i], want);
				break;
			}
		}
		nn_graph_free(g);
	}
}

TEST(shape_transpose_bad_perm)
{
	nn_graph *g = new_graph();
	int in = ten(g, NN_F32, 3, 2, 3, 4), out = ten(g, NN_F32, 3, 2, 2, 4);
	nn_node *n = node(g, NN_OP_TRANSPOSE, TB_LIST(in), TB_LIST(out));
	memcpy(n->p.transpose.perm, (int[]){ 0, 0, 2 }, 3 * sizeof(int));
	refused(g, n, "perm [0,0,2] is not a permutation of 0..2");
	memcpy(n->p.transpose.perm, (int[]){ 0, 1, 3 }, 3 * sizeof(int));
	refused(g, n, "perm [0,1,3] is not a permutation");
	memcpy(n->p.transpose.perm, (int[]){ -1, 1, 2 }, 3 * sizeof(int));
	refused(g, n, "not a permutation");
	/* A valid perm whose output shape is wrong. */
	memcpy(n->p.transpose.perm, (int[]){ 1, 0, 2 }, 3 * sizeof(int));
	refused(g, n, "is not input [2,3,4] permuted by [1,0,2]");
	/* Mismatched dtype. */
	g->tensors[out].shape[0] = 3;
	g->tensors[out].shape[1] = 2;
	g->tensors[out].dtype = NN_I32;
	refused(g, n, "int32 output with float32 input");
	nn_graph_free(g);
}

/* STRIDED_SLICE. */

TEST(shape_strided_slice_stride2)
{
	/* x[:, 1::2] of a [2,5] tensor: columns 1 and 3. */
	nn_graph *g = new_graph();
	int in = ten(g, NN_F32, 2, 2, 5), out = ten(g, NN_F32, 2, 2, 2);
	set(g, in, (float[]){ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 });
	nn_node *n = node(g, NN_OP_STRIDED_SLICE, TB_LIST(in), TB_LIST(out));
	n->p.slice.begin[1] = 1;
	n->p.slice.stride[0] = 1;
	n->p.slice.stride[1] = 2;
	run_ok(g, n);
	expect_f32(F(g, out), (float[]){ 1, 3, 6, 8 }, 4);

	/* x[1:, 0:5:2] on [3,5] int64 rows: three columns of the last two rows. */
	nn_graph *h = new_graph();
	in = ten(h, NN_I64, 2, 3, 5);
	out = ten(h, NN_I64, 2, 2, 3);
	int64_t v[15];
	for (int i = 0; i < 15; i++)
		v[i] = (int64_t)i << 33;
	set(h, in, v);
	n = node(h, NN_OP_STRIDED_SLICE, TB_LIST(in), TB_LIST(out));
	n->p.slice.begin[0] = 1;
	n->p.slice.stride[0] = 1;
	n->p.slice.stride[1] = 2;
	run_ok(h, n);
	expect_i64(I64(h, out), (int64_t[]){ v[5], v[7], v[9], v[10], v[12], v[14] }, 6);
	nn_graph_free(g);
	nn_graph_free(h);
}

TEST(shape_strided_slice_negative_stride)
{
	/* x[::-1] and x[3::-2] of [0..4]. */
	nn_graph *g = new_graph();
	int in = ten(g, NN_I32, 1, 5), rev = ten(g, NN_I32, 1, 5), two = ten(g, NN_I32, 1, 2);
	set(g, in, (int32_t[]){ 0, 1, 2, 3, 4 });
	nn_node *n = node(g, NN_OP_STRIDED_SLICE, TB_LIST(in), TB_LIST(rev));
	n->p.slice.begin[0] = 4;
	n->p.slice.stride[0] = -1;
	run_ok(g, n);
	expect_i32(I32(g, rev), (int32_t[]){ 4, 3, 2, 1, 0 }, 5);
	n = node(g, NN_OP_STRIDED_SLICE, TB_LIST(in), TB_LIST(two));
	n->p.slice.begin[0] = 3;
	n->p.slice.stride[0] = -2;
	run_ok(g, n);
	expect_i32(I32(g, two), (int32_t[]){ 3, 1 }, 2);

	/* x[::-1, 3::-2] of a [3,4] uint8 tensor holding r * 4 + c. */
	int in2 = ten(g, NN_U8, 2, 3, 4), out2 = ten(g, NN_U8, 2, 3, 2);
	uint8_t v[12];
	for (int i = 0; i < 12; i++)
		v[i] = (uint8_t)i;
	set(g, in2, v);
	n = node(g, NN_OP_STRIDED_SLICE, TB_LIST(in2), TB_LIST(out2));
	n->p.slice.begin[0] = 2;
	n->p.slice.begin[1] = 3;
	n->p.slice.stride[0] = -1;
	n->p.slice.stride[1] = -2;
	run_ok(g, n);
	expect_u8(U8(g, out2), (uint8_t[]){ 11, 9, 7, 5, 3, 1 }, 6);
	nn_graph_free(g);
}

TEST(shape_strided_slice_bad)
{
	nn_graph *g = new_graph();
	int in = ten(g, NN_F32, 2, 2, 4), out = ten(g, NN_F32, 2, 2, 2), flat = ten(g, NN_F32, 1, 4);
	nn_node *n = node(g, NN_OP_STRIDED_SLICE, TB_LIST(in), TB_LIST(out));
	n->p.slice.stride[0] = 1;
	n->p.slice.stride[1] = 2;
	n->p.slice.begin[1] = 3; /* 3, 5: past the end */
	refused(g, n, "along dimension 1, 2 elements from 3 in steps of 2 end at 5, outside input [2,4]");
	n->p.slice.begin[1] = 1;
	n->p.slice.stride[1] = -2; /* 1, -1: before the start */
	refused(g, n, "end at -1");
	n->p.slice.begin[1] = 0;
	n->p.slice.stride[1] = 0;
	refused(g, n, "stride 0 along dimension 1");
	n->p.slice.begin[1] = 4; /* begin past the end, even with one element */
	n->p.slice.stride[1] = 1;
	refused(g, n, "outside input");

	/* Rank-changing slices are the loader's to turn into a slice and a RESHAPE. */
	n = node(g, NN_OP_STRIDED_SLICE, TB_LIST(in), TB_LIST(flat));
	n->p.slice.stride[0] = n->p.slice.stride[1] = 1;
	refused(g, n, "differ in rank");

	/* An empty output reads nothing, so its begin is not checked along that dimension. */
	int empty = ten(g, NN_F32, 2, 2, 0);
	n = node(g, NN_OP_STRIDED_SLICE, TB_LIST(in), TB_LIST(empty));
	n->p.slice.stride[0] = n->p.slice.stride[1] = 1;
	n->p.slice.begin[1] = 4;
	run_ok(g, n);
	nn_graph_free(g);
}

/* GATHER. */

TEST(shape_gather_axis0_2d_indices)
{
	nn_graph *g = new_graph();
	int params = ten(g, NN_F32, 2, 3, 2), idx = ten(g, NN_I32, 2, 2, 2), out = ten(g, NN_F32, 3, 2, 2, 2);
	set(g, params, (float[]){ 1, 2, 3, 4, 5, 6 });
	set(g, idx, (int32_t[]){ 2, 0, 1, 1 });
	nn_node *n = node(g, NN_OP_GATHER, TB_LIST(params, idx), TB_LIST(out));
	run_ok(g, n);
	expect_f32(F(g, out), (float[]){ 5, 6, 1, 2, 3, 4, 3, 4 }, 8);

	/* A scalar index drops the axis: params[1]. */
	int one = ten(g, NN_I64, 0), row = ten(g, NN_F32, 1, 2);
	set(g, one, (int64_t[]){ 1 });
	n = node(g, NN_OP_GATHER, TB_LIST(params, one), TB_LIST(row));
	run_ok(g, n);
	expect_f32(F(g, row), (float[]){ 3, 4 }, 2);
	nn_graph_free(g);
}

TEST(shape_gather_axis1_2d_indices)
{
	/* out[i][j][k] = params[i][indices[j][k]]. */
	nn_graph *g = new_graph();
	int params = ten(g, NN_I32, 2, 2, 3), idx = ten(g, NN_I32, 2, 2, 2), out = ten(g, NN_I32, 3, 2, 2, 2);
	set(g, params, (int32_t[]){ 1, 2, 3, 4, 5, 6 });
	set(g, idx, (int32_t[]){ 2, 0, 0, 1 });
	nn_node *n = node(g, NN_OP_GATHER, TB_LIST(params, idx), TB_LIST(out));
	n->p.gather.axis = 1;
	run_ok(g, n);
	expect_i32(I32(g, out), (int32_t[]){ 3, 1, 1, 2, 6, 4, 4, 5 }, 8);

	/* The same through int64 indices and axis -1, on uint8 params with inner dimensions. */
	int p3 = ten(g, NN_U8, 3, 2, 3, 2), i64 = ten(g, NN_I64, 1, 2), o3 = ten(g, NN_U8, 3, 2, 2, 2);
	set(g, p3, (uint8_t[]){ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 });
	set(g, i64, (int64_t[]){ 2, 0 });
	n = node(g, NN_OP_GATHER, TB_LIST(p3, i64), TB_LIST(o3));
	n->p.gather.axis = 1;
	run_ok(g, n);
	expect_u8(U8(g, o3), (uint8_t[]){ 4, 5, 0, 1, 10, 11, 6, 7 }, 8);
	n->p.gather.axis = -2;
	memset(g->tensors[o3].data, 0, 8);
	run_ok(g, n);
	expect_u8(U8(g, o3), (uint8_t[]){ 4, 5, 0, 1, 10, 11, 6, 7 }, 8);
	nn_graph_free(g);
}

TEST(shape_gather_errors)
{
	nn_graph *g = new_graph();
	int params = ten(g, NN_F32, 2, 3, 2), idx = ten(g, NN_I32, 2, 2, 2), out = ten(g, NN_F32, 3, 2, 2, 2);
	set(g, idx, (int32_t[]){ 0, 1, 3, 2 });
	nn_node *n = node(g, NN_OP_GATHER, TB_LIST(params, idx), TB_LIST(out));
	run_fails(g, n, NN_ERR_ARG, "indices[1,0] = 3 is not in [0, 3)");
	set(g, idx, (int32_t[]){ 0, -1, 1, 2 });
	run_fails(g, n, NN_ERR_ARG, "indices[0,1] = -1 is not in [0, 3)");

	/* Float indices, as a loader might wrongly pass on. */
	g->tensors[idx].dtype = NN_F32;
	refused(g, n, "GATHER '" NODE_NAME "': indices of type float32 are not supported");
	g->tensors[idx].dtype = NN_I32;
	/* Wrong output shape, axis out of range. */
	g->tensors[out].shape[2] = 3;
	refused(g, n, "is not params [3,2] gathered along axis 0 by indices [2,2]");
	g->tensors[out].shape[2] = 2;
	n->p.gather.axis = 2;
	refused(g, n, "axis 2 is outside params [3,2]");
	nn_graph_free(g);
}

/* SPLIT. */

TEST(shape_split_uneven)
{
	nn_graph *g = new_graph();
	int in = ten(g, NN_F32, 2, 2, 5), a = ten(g, NN_F32, 2, 2, 2), b = ten(g, NN_F32, 2, 2, 3);
	set(g, in, (float[]){ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 });
	nn_node *n = node(g, NN_OP_SPLIT, TB_LIST(in), TB_LIST(a, b));
	n->p.split.axis = 1;
	run_ok(g, n);
	expect_f32(F(g, a), (float[]){ 0, 1, 5, 6 }, 4);
	expect_f32(F(g, b), (float[]){ 2, 3, 4, 7, 8, 9 }, 6);
	n->p.split.axis = -1;
	memset(g->tensors[a].data, 0, 16);
	run_ok(g, n);
	expect_f32(F(g, a), (float[]){ 0, 1, 5, 6 }, 4);

	/* Three int32 parts of 1, 0 and 2 rows along axis 0. */
	int in3 = ten(g, NN_I32, 2, 3, 2), p = ten(g, NN_I32, 2, 1, 2), q = ten(g, NN_I32, 2, 0, 2),
	    r = ten(g, NN_I32, 2, 2, 2);
	set(g, in3, (int32_t[]){ 1, 2, 3, 4, 5, 6 });
	n = node(g, NN_OP_SPLIT, TB_LIST(in3), TB_LIST(p, q, r));
	run_ok(g, n);
	expect_i32(I32(g, p), (int32_t[]){ 1, 2 }, 2);
	expect_i32(I32(g, r), (int32_t[]){ 3, 4, 5, 6 }, 4);
	nn_graph_free(g);
}

TEST(shape_split_bad_sizes)
{
	nn_graph *g = new_graph();
	int in = ten(g, NN_F32, 2, 2, 5), a = ten(g, NN_F32, 2, 2, 2), b = ten(g, NN_F32, 2, 2, 2);
	nn_node *n = node(g, NN_OP_SPLIT, TB_LIST(in), TB_LIST(a, b));
	n->p.split.axis = 1;
	refused(g, n, "the outputs take 4 along axis 1, input [2,5] has 5");
	g->tensors[b].shape[1] = 3;
	g->tensors[b].shape[0] = 1;
	refused(g, n, "output 1 [1,3] does not match input [2,5] outside axis 1");
	g->tensors[b].shape[0] = 2;
	n->p.split.axis = 2;
	refused(g, n, "axis 2 is outside input [2,5]");
	nn_graph_free(g);
}

/* CAST. */

static int cast_node(nn_graph *g, int in, nn_dtype to)
{
	int out = ten(g, to, 1, g->tensors[in].shape[0]);
	run_ok(g, node(g, NN_OP_CAST, TB_LIST(in), TB_LIST(out)));
	return out;
}

TEST(shape_cast_float_to_int)
{
	nn_graph *g = new_graph();
	int in = ten(g, NN_F32, 1, 9);
	set(g, in, (float[]){ -1.7f, 1.7f, -0.5f, 2.999f, NAN, 1e10f, -1e10f, -0.0f, 2147483520.0f });
	int i32 = cast_node(g, in, NN_I32);
	expect_i32(I32(g, i32), (int32_t[]){ -1, 1, 0, 2, 0, INT32_MAX, INT32_MIN, 0, 2147483520 }, 9);
	int i64 = cast_node(g, in, NN_I64);
	expect_i64(I64(g, i64), (int64_t[]){ -1, 1, 0, 2, 0, 10000000000LL, -10000000000LL, 0, 2147483520 }, 9);
	int u8 = cast_node(g, in, NN_U8);
	expect_u8(U8(g, u8), (uint8_t[]){ 0, 1, 0, 2, 0, 255, 0, 0, 255 }, 9);
	int i8 = cast_node(g, in, NN_I8);
	const int8_t *s8 = g->tensors[i8].data;
	CHECK(s8[0] == -1 && s8[5] == 127 && s8[6] == -128);

	int big = ten(g, NN_F32, 1, 2);
	set(g, big, (float[]){ 1e19f, -1e19f });
	int b64 = cast_node(g, big, NN_I64);
	expect_i64(I64(g, b64), (int64_t[]){ INT64_MAX, INT64_MIN }, 2);
	nn_graph_free(g);
}

TEST(shape_cast_bool_and_integers)
{
	nn_graph *g = new_graph();
	int in = ten(g, NN_I32, 1, 5);
	set(g, in, (int32_t[]){ 0, 1, -5, 7, 300 });
	int b = cast_node(g, in, NN_BOOL);
	expect_u8(U8(g, b), (uint8_t[]){ 0, 1, 1, 1, 1 }, 5);
	/* Narrowing wraps modulo 2^bits, as TensorFlow's static_cast. */
	int u8 = cast_node(g, in, NN_U8);
	expect_u8(U8(g, u8), (uint8_t[]){ 0, 1, 251, 7, 44 }, 5);
	int f = cast_node(g, b, NN_F32);
	expect_f32(F(g, f), (float[]){ 0, 1, 1, 1, 1 }, 5);
	int w = cast_node(g, u8, NN_I32);
	expect_i32(I32(g, w), (int32_t[]){ 0, 1, 251, 7, 44 }, 5);

	int fl = ten(g, NN_F32, 1, 5);
	set(g, fl, (float[]){ 0.0f, -0.0f, 0.1f, NAN, -INFINITY });
	int fb = cast_node(g, fl, NN_BOOL);
	expect_u8(U8(g, fb), (uint8_t[]){ 0, 0, 1, 1, 1 }, 5);

	int wide = ten(g, NN_I64, 1, 3);
	set(g, wide, (int64_t[]){ (INT64_C(1) << 40) + 5, -1, INT64_C(16777217) });
	int narrow = cast_node(g, wide, NN_I32);
	expect_i32(I32(g, narrow), (int32_t[]){ 5, -1, 16777217 }, 3);
	int asf = cast_node(g, wide, NN_F32);
	expect_f32(F(g, asf), (float[]){ 1099511627781.0f, -1, 16777216 }, 3);
	int i8 = cast_node(g, wide, NN_I8);
	const int8_t *s8 = g->tensors[i8].data;
	CHECK(s8[0] == 5 && s8[1] == -1 && s8[2] == 1);
	nn_graph_free(g);
}

TEST(shape_cast_float16)
{
	nn_graph *g = new_graph();
	int in = ten(g, NN_F32, 1, 5);
	set(g, in, (float[]){ 1.0f, -2.5f, 65520.0f, 0.1f, -7.75f });
	int h = cast_node(g, in, NN_F16);
	const uint16_t *bits = g->tensors[h].data;
	CHECK(bits[0] == 0x3c00 && bits[1] == 0xc100 && bits[2] == 0x7c00 && bits[3] == 0x2e66 && bits[4] == 0xc7c0);
	int i = cast_node(g, h, NN_I32);
	expect_i32(I32(g, i), (int32_t[]){ 1, -2, INT32_MAX, 0, -7 }, 5);
	int back = cast_node(g, h, NN_F32);
	expect_f32(F(g, back), (float[]){ 1.0f, -2.5f, INFINITY, 0.0999755859375f, -7.75f }, 5);
	int ints = ten(g, NN_I32, 1, 2);
	set(g, ints, (int32_t[]){ 2049, -3 });
	int h2 = cast_node(g, ints, NN_F16);
	bits = g->tensors[h2].data;
	CHECK(bits[0] == 0x6800 && bits[1] == 0xc200); /* 2049 rounds to even: 2048 */

	/* Shapes must match. */
	int wrong = ten(g, NN_I32, 1, 4);
	refused(g, node(g, NN_OP_CAST, TB_LIST(in), TB_LIST(wrong)), "input [5] and output [4] differ in shape");
	nn_graph_free(g);
}

/* TOPK. */

static nn_node *topk_node(nn_graph *g, int in, int k, nn_dtype index_type, int *values, int *indices)
{
	/* Copied first: adding tensors may move the array. */
	nn_dtype dt = g->tensors[in].dtype;
	int rank = g->tensors[in].rank, rows = g->tensors[in].shape[0];
	if (rank == 1) {
		*values = ten(g, dt, 1, k);
		*indices = ten(g, index_type, 1, k);
	} else {
		*values = ten(g, dt, 2, rows, k);
		*indices = ten(g, index_type, 2, rows, k);
	}
	nn_node *n = node(g, NN_OP_TOPK, TB_LIST(in), TB_LIST(*values, *indices));
	n->p.topk.k = k;
	return n;
}

TEST(shape_topk_ties)
{
	nn_graph *g = new_graph();
	int in = ten(g, NN_F32, 1, 6), v, i;
	set(g, in, (float[]){ 1, 3, 3, 2, 3, 0 });
	run_ok(g, topk_node(g, in, 3, NN_I32, &v, &i));
	expect_f32(F(g, v), (float[]){ 3, 3, 3 }, 3);
	expect_i32(I32(g, i), (int32_t[]){ 1, 2, 4 }, 3);
	run_ok(g, topk_node(g, in, 4, NN_I32, &v, &i));
	expect_f32(F(g, v), (float[]){ 3, 3, 3, 2 }, 4);
	expect_i32(I32(g, i), (int32_t[]){ 1, 2, 4, 3 }, 4);
	run_ok(g, topk_node(g, in, 1, NN_I64, &v, &i));
	expect_i64(I64(g, i), (int64_t[]){ 1 }, 1);
	/* k = 0: empty outputs. */
	run_ok(g, topk_node(g, in, 0, NN_I32, &v, &i));
	nn_graph_free(g);
}

TEST(shape_topk_k_equals_n)
{
	/* Two rows, k = n: a full sort, descending, ties by index; -0.0 ties with 0.0. */
	nn_graph *g = new_graph();
	int in = ten(g, NN_F32, 2, 2, 5), v, i;
	set(g, in, (float[]){ 5, 1, 5, -1, 0, -INFINITY, 0.0f, INFINITY, -0.0f, 2 });
	run_ok(g, topk_node(g, in, 5, NN_I32, &v, &i));
	expect_f32(F(g, v), (float[]){ 5, 5, 1, 0, -1, INFINITY, 2, 0, 0, -INFINITY }, 10);
	expect_i32(I32(g, i), (int32_t[]){ 0, 2, 1, 4, 3, 2, 4, 1, 3, 0 }, 10);
	nn_graph_free(g);
}

TEST(shape_topk_nan_ranks_lowest)
{
	nn_graph *g = new_graph();
	int in = ten(g, NN_F32, 1, 5), v, i;
	set(g, in, (float[]){ NAN, 1, NAN, -INFINITY, 0.5f });
	run_ok(g, topk_node(g, in, 5, NN_I32, &v, &i));
	expect_f32(F(g, v), (float[]){ 1, 0.5f, -INFINITY, NAN, NAN }, 5);
	expect_i32(I32(g, i), (int32_t[]){ 1, 4, 3, 0, 2 }, 5);
	run_ok(g, topk_node(g, in, 2, NN_I32, &v, &i));
	expect_i32(I32(g, i), (int32_t[]){ 1, 4 }, 2);
	/* NaN first: the heap starts with NaN at its root and numbers must still displace it. */
	int in2 = ten(g, NN_F32, 1, 4);
	set(g, in2, (float[]){ NAN, NAN, 3, 4 });
	run_ok(g, topk_node(g, in2, 2, NN_I32, &v, &i));
	expect_i32(I32(g, i), (int32_t[]){ 3, 2 }, 2);
	run_ok(g, topk_node(g, in2, 3, NN_I32, &v, &i));
	expect_i32(I32(g, i), (int32_t[]){ 3, 2, 0 }, 3);
	nn_graph_free(g);
}

TEST(shape_topk_integers_and_float16)
{
	nn_graph *g = new_graph();
	int in = ten(g, NN_I32, 1, 5), v, i;
	set(g, in, (int32_t[]){ 5, -7, 5, 100, INT32_MIN });
	run_ok(g, topk_node(g, in, 3, NN_I32, &v, &i));
	expect_i32(I32(g, v), (int32_t[]){ 100, 5, 5 }, 3);
	expect_i32(I32(g, i), (int32_t[]){ 3, 0, 2 }, 3);
	run_ok(g, topk_node(g, in, 5, NN_I64, &v, &i));
	expect_i32(I32(g, v), (int32_t[]){ 100, 5, 5, -7, INT32_MIN }, 5);
	expect_i64(I64(g, i), (int64_t[]){ 3, 0, 2, 1, 4 }, 5);

	int big = ten(g, NN_I64, 1, 3);
	set(g, big, (int64_t[]){ INT64_C(1) << 40, (INT64_C(1) << 40) + 1, -(INT64_C(1) << 50) });
	run_ok(g, topk_node(g, big, 2, NN_I32, &v, &i));
	expect_i32(I32(g, i), (int32_t[]){ 1, 0 }, 2);

	int u8 = ten(g, NN_U8, 1, 4);
	set(g, u8, (uint8_t[]){ 200, 7, 255, 200 });
	run_ok(g, topk_node(g, u8, 3, NN_I32, &v, &i));
	expect_u8(U8(g, v), (uint8_t[]){ 255, 200, 200 }, 3);
	expect_i32(I32(g, i), (int32_t[]){ 2, 0, 3 }, 3);

	int h = ten(g, NN_F16, 1, 3);
	set(g, h, (uint16_t[]){ 0xc100 /* -2.5 */, 0x3c00 /* 1 */, 0x4000 /* 2 */ });
	run_ok(g, topk_node(g, h, 2, NN_I32, &v, &i));
	expect_i32(I32(g, i), (int32_t[]){ 2, 1 }, 2);
	const uint16_t *hv = g->tensors[v].data;
	CHECK(hv[0] == 0x4000 && hv[1] == 0x3c00);
	nn_graph_free(g);
}

TEST(shape_topk_bad)
{
	nn_graph *g = new_graph();
	int in = ten(g, NN_F32, 1, 4), v, i;
	nn_node *n = topk_node(g, in, 4, NN_I32, &v, &i);
	n->p.topk.k = 5;
	refused(g, n, "k = 5 is outside [0, 4]");
	n->p.topk.k = 3;
	refused(g, n, "values output [4] is not input [4] with its last dimension cut to k = 3");
	n->p.topk.k = 4;
	g->tensors[i].dtype = NN_F32;
	refused(g, n, "indices output of type float32 is not supported");
	g->tensors[in].dtype = g->tensors[v].dtype = NN_BOOL;
	refused(g, n, "bool input is not supported");
	nn_graph_free(g);
}

/* Full-sort oracle: descending values, ascending index among equals. */
typedef struct ranked {
	float v;
	int32_t i;
} ranked;

static int by_rank(const void *pa, const void *pb)
{
	const ranked *a = pa, *b = pb;
	if (a->v != b->v)
		return a->v > b->v ? -1 : 1;
	return a->i < b->i ? -1 : a->i > b->i;
}

/* A CenterNet-sized score map, with a coarse grid of values so that ties abound. */
TEST(shape_topk_large_random_vs_sort)
{
	const int count = 128 * 128 * 80, k = 100;
	nn_graph *g = new_graph();
	int in = tb_tensor(g, "scores", NN_F32, 2, 1, count);
	int v = tb_tensor(g, "values", NN_F32, 2, 1, k), i = tb_tensor(g, "indices", NN_I32, 2, 1, k);
	int n = tb_node(g, NN_OP_TOPK, "TopKV2", TB_LIST(in), TB_LIST(v, i));
	g->nodes[n].p.topk.k = k;
	tb_io(g, TB_LIST(in), TB_LIST(v, i));
	nn_model *m;
	char err[512];
	CHECK(nn_model_from_graph(&m, g, err, sizeof err) == 0);
	nn_prepare_options opt = { .threads = 1, .reference_only = 1 };
	CHECK_MSG(nn_model_prepare(m, &opt, err, sizeof err) == 0, "%s", err);

	ranked *all = malloc((size_t)count * sizeof *all);
	CHECK(all != NULL);
	uint32_t seed = 2024;
	for (int pass = 0; pass < 3; pass++) {
		float *scores = nn_model_input(m, 0)->data;
		for (int j = 0; j < count; j++) {
			/*
			 * Pass 0: 4096 levels, so the top 100 has ties; pass 1: a
			 * sigmoid-like tail of small values; pass 2: CenterNet's masked
			 * map, zeros but for one peak in about 2000, on 64 levels.
			 */
			float u = tb_uniform(&seed, 0, 1);
			scores[j] = pass == 0   ? floorf(u * 4096.0f) / 4096.0f
				    : pass == 1 ? u * u * u * u * 0.2f
				    : u < 0.0005f ? floorf(u * 2000.0f * 64.0f) / 64.0f
						  : 0.0f;
			all[j] = (ranked){ scores[j], j };
		}
		CHECK_MSG(nn_model_run(m, err, sizeof err) == 0, "%s", err);
		qsort(all, (size_t)count, sizeof *all, by_rank);
		const float *got_v = nn_model_output(m, 0)->data;
		const int32_t *got_i = nn_model_output(m, 1)->data;
		for (int j = 0; j < k; j++)
			CHECK_MSG(got_v[j] == all[j].v && got_i[j] == all[j].i,
				  "pass %d rank %d: got %g at %d, want %g at %d", pass, j, (double)got_v[j],
				  (int)got_i[j], (double)all[j].v, (int)all[j].i);
	}
	free(all);
	nn_model_free(m);
}

/* FLOOR_DIV and FLOOR_MOD. */

static void divmod(nn_graph *g, int a, int b, int *q, int *r)
{
	nn_dtype dt = g->tensors[a].dtype;
	int count = g->tensors[a].shape[0];
	*q = ten(g, dt, 1, count);
	*r = ten(g, dt, 1, count);
	run_ok(g, node(g, NN_OP_FLOOR_DIV, TB_LIST(a, b), TB_LIST(*q)));
	run_ok(g, node(g, NN_OP_FLOOR_MOD, TB_LIST(a, b), TB_LIST(*r)));
}

TEST(shape_floor_div_mod_int)
{
	nn_graph *g = new_graph();
	int a = ten(g, NN_I32, 1, 8), b = ten(g, NN_I32, 1, 8), q, r;
	set(g, a, (int32_t[]){ -7, 7, -7, 7, 0, -8, INT32_MIN, INT32_MIN });
	set(g, b, (int32_t[]){ 2, -2, -2, 2, 3, 2, -1, 3 });
	divmod(g, a, b, &q, &r);
	expect_i32(I32(g, q), (int32_t[]){ -4, -4, 3, 3, 0, -4, INT32_MIN, -715827883 }, 8);
	expect_i32(I32(g, r), (int32_t[]){ 1, -1, -1, 1, 0, 0, 0, 1 }, 8);

	int a64 = ten(g, NN_I64, 1, 4), b64 = ten(g, NN_I64, 1, 4);
	set(g, a64, (int64_t[]){ -7, 7, -(INT64_C(1) << 40) - 1, INT64_MIN });
	set(g, b64, (int64_t[]){ 2, -2, INT64_C(1) << 20, -1 });
	divmod(g, a64, b64, &q, &r);
	expect_i64(I64(g, q), (int64_t[]){ -4, -4, -(INT64_C(1) << 20) - 1, INT64_MIN }, 4);
	expect_i64(I64(g, r), (int64_t[]){ 1, -1, (INT64_C(1) << 20) - 1, 0 }, 4);
	nn_graph_free(g);
}

TEST(shape_floor_div_mod_float)
{
	nn_graph *g = new_graph();
	int a = ten(g, NN_F32, 1, 9), b = ten(g, NN_F32, 1, 9), q, r;
	set(g, a, (float[]){ -7, 7, -7, 7, 5.5f, -5.5f, 1, 1, -4 });
	set(g, b, (float[]){ 2, -2, -2, 2, 2, 2, 0, -INFINITY, 2 });
	divmod(g, a, b, &q, &r);
	/* TensorFlow's floor(x / y): 1 / -inf is -0.0, whose floor stays -0.0 (Python's // would say -1). */
	expect_f32(F(g, q), (float[]){ -4, -4, 3, 3, 2, -3, INFINITY, -0.0f, -2 }, 9);
	/* 1 mod -inf: fmod gives 1, whose sign differs from y's, so 1 + -inf. */
	expect_f32(F(g, r), (float[]){ 1, -1, -1, 1, 1.5f, 0.5f, NAN, -INFINITY, -0.0f }, 9);
	CHECK(signbit(F(g, r)[8])); /* TensorFlow keeps fmod's -0.0 */
	nn_graph_free(g);
}

TEST(shape_floor_div_mod_broadcast)
{
	/* CenterNet's decoding: flat indices into [h*w, classes] by a scalar number of classes. */
	nn_graph *g = new_graph();
	int idx = ten(g, NN_I32, 2, 1, 4), classes = ten(g, NN_I32, 0), pos = ten(g, NN_I32, 2, 1, 4),
	    cls = ten(g, NN_I32, 2, 1, 4);
	set(g, idx, (int32_t[]){ 0, 79, 80, 12345 });
	set(g, classes, (int32_t[]){ 80 });
	run_ok(g, node(g, NN_OP_FLOOR_DIV, TB_LIST(idx, classes), TB_LIST(pos)));
	run_ok(g, node(g, NN_OP_FLOOR_MOD, TB_LIST(idx, classes), TB_LIST(cls)));
	expect_i32(I32(g, pos), (int32_t[]){ 0, 0, 1, 154 }, 4);
	expect_i32(I32(g, cls), (int32_t[]){ 0, 79, 0, 25 }, 4);

	/* [2,1] against [3]: both inputs stretch. */
	int a = ten(g, NN_F32, 2, 2, 1), b = ten(g, NN_F32, 1, 3), o = ten(g, NN_F32, 2, 2, 3);
	set(g, a, (float[]){ 7, -7 });
	set(g, b, (float[]){ 2, -3, 4 });
	run_ok(g, node(g, NN_OP_FLOOR_MOD, TB_LIST(a, b), TB_LIST(o)));
	expect_f32(F(g, o), (float[]){ 1, -2, 3, 1, -1, 1 }, 6);
	int bad = ten(g, NN_F32, 2, 2, 2);
	refused(g, node(g, NN_OP_FLOOR_DIV, TB_LIST(a, b), TB_LIST(bad)),
		"inputs [2,1] and [3] do not broadcast to output [2,2]");
	nn_graph_free(g);
}

TEST(shape_floor_div_errors)
{
	nn_graph *g = new_graph();
	int a = ten(g, NN_I32, 1, 3), b = ten(g, NN_I32, 1, 3), o = ten(g, NN_I32, 1, 3);
	set(g, a, (int32_t[]){ 1, 2, 3 });
	set(g, b, (int32_t[]){ 1, 0, 1 });
	run_fails(g, node(g, NN_OP_FLOOR_DIV, TB_LIST(a, b), TB_LIST(o)), NN_ERR_ARG,
		  "integer division by zero (element 1 of the divisor)");
	run_fails(g, node(g, NN_OP_FLOOR_MOD, TB_LIST(a, b), TB_LIST(o)), NN_ERR_ARG, "division by zero");
	int64_t zero = 0;
	int a64 = ten(g, NN_I64, 1, 3), z64 = ten(g, NN_I64, 0), o64 = ten(g, NN_I64, 1, 3);
	set(g, z64, &zero);
	run_fails(g, node(g, NN_OP_FLOOR_DIV, TB_LIST(a64, z64), TB_LIST(o64)), NN_ERR_ARG, "division by zero");

	int u = ten(g, NN_U8, 1, 3), uo = ten(g, NN_U8, 1, 3);
	refused(g, node(g, NN_OP_FLOOR_DIV, TB_LIST(u, u), TB_LIST(uo)), "uint8 inputs are not supported");
	refused(g, node(g, NN_OP_FLOOR_MOD, TB_LIST(a, a64), TB_LIST(o)), "mixed int32 and int64 inputs");
	refused(g, node(g, NN_OP_FLOOR_MOD, TB_LIST(a, b), TB_LIST(o64)), "int64 output with int32 inputs");
	nn_graph_free(g);
}

/* EQUAL. */

TEST(shape_equal_broadcast)
{
	nn_graph *g = new_graph();
	int a = ten(g, NN_F32, 2, 2, 3), b = ten(g, NN_F32, 1, 3), o = ten(g, NN_BOOL, 2, 2, 3);
	set(g, a, (float[]){ 1, 2, 3, 4, 5, 6 });
	set(g, b, (float[]){ 1, 5, 3 });
	run_ok(g, node(g, NN_OP_EQUAL, TB_LIST(a, b), TB_LIST(o)));
	expect_u8(U8(g, o), (uint8_t[]){ 1, 0, 1, 0, 1, 0 }, 6);

	int x = ten(g, NN_I32, 2, 2, 1), y = ten(g, NN_I32, 2, 1, 3), xy = ten(g, NN_BOOL, 2, 2, 3);
	set(g, x, (int32_t[]){ 1, 2 });
	set(g, y, (int32_t[]){ 1, 2, 3 });
	run_ok(g, node(g, NN_OP_EQUAL, TB_LIST(x, y), TB_LIST(xy)));
	expect_u8(U8(g, xy), (uint8_t[]){ 1, 0, 0, 0, 1, 0 }, 6);

	/* IEEE: NaN equals nothing, -0.0 equals 0.0. */
	int f = ten(g, NN_F32, 1, 3), f2 = ten(g, NN_F32, 1, 3), fo = ten(g, NN_BOOL, 1, 3);
	set(g, f, (float[]){ NAN, -0.0f, INFINITY });
	set(g, f2, (float[]){ NAN, 0.0f, INFINITY });
	run_ok(g, node(g, NN_OP_EQUAL, TB_LIST(f, f2), TB_LIST(fo)));
	expect_u8(U8(g, fo), (uint8_t[]){ 0, 1, 1 }, 3);

	/* Equal float shapes, 37 values: two blocks of 16 and a remainder, NaN and signed zeros among them. */
	int e1 = ten(g, NN_F32, 1, 37), e2 = ten(g, NN_F32, 1, 37), eo = ten(g, NN_BOOL, 1, 37);
	float ev1[37], ev2[37];
	uint8_t ew[37];
	for (int i = 0; i < 37; i++) {
		ev1[i] = (float)(i % 4);
		ev2[i] = i % 3 == 0 ? ev1[i] : -ev1[i] - 1;
		ew[i] = i % 3 == 0;
	}
	ev1[5] = NAN, ev2[5] = NAN, ew[5] = 0;
	ev1[33] = -0.0f, ev2[33] = 0.0f, ew[33] = 1;
	set(g, e1, ev1);
	set(g, e2, ev2);
	run_ok(g, node(g, NN_OP_EQUAL, TB_LIST(e1, e2), TB_LIST(eo)));
	expect_u8(U8(g, eo), ew, 37);

	/* A scalar against a vector, in int64, uint8 and bool. */
	int s = ten(g, NN_I64, 0), v = ten(g, NN_I64, 1, 3), so = ten(g, NN_BOOL, 1, 3);
	set(g, s, (int64_t[]){ INT64_C(1) << 40 });
	set(g, v, (int64_t[]){ INT64_C(1) << 40, 0, (INT64_C(1) << 40) + 1 });
	run_ok(g, node(g, NN_OP_EQUAL, TB_LIST(v, s), TB_LIST(so)));
	expect_u8(U8(g, so), (uint8_t[]){ 1, 0, 0 }, 3);
	int u = ten(g, NN_U8, 1, 3), us = ten(g, NN_U8, 0), uo = ten(g, NN_BOOL, 1, 3);
	set(g, u, (uint8_t[]){ 0, 255, 7 });
	set(g, us, (uint8_t[]){ 255 });
	run_ok(g, node(g, NN_OP_EQUAL, TB_LIST(us, u), TB_LIST(uo)));
	expect_u8(U8(g, uo), (uint8_t[]){ 0, 1, 0 }, 3);
	int bl = ten(g, NN_BOOL, 1, 3), bt = ten(g, NN_BOOL, 0), bo = ten(g, NN_BOOL, 1, 3);
	set(g, bl, (uint8_t[]){ 0, 1, 1 });
	set(g, bt, (uint8_t[]){ 1 });
	run_ok(g, node(g, NN_OP_EQUAL, TB_LIST(bl, bt), TB_LIST(bo)));
	expect_u8(U8(g, bo), (uint8_t[]){ 0, 1, 1 }, 3);

	/* Two scalars. */
	int p = ten(g, NN_I32, 0), q = ten(g, NN_I32, 0), pq = ten(g, NN_BOOL, 0);
	set(g, p, (int32_t[]){ 3 });
	set(g, q, (int32_t[]){ 3 });
	run_ok(g, node(g, NN_OP_EQUAL, TB_LIST(p, q), TB_LIST(pq)));
	CHECK(U8(g, pq)[0] == 1);

	int wrong = ten(g, NN_F32, 2, 2, 3);
	refused(g, node(g, NN_OP_EQUAL, TB_LIST(a, b), TB_LIST(wrong)), "float32 output is not supported");
	refused(g, node(g, NN_OP_EQUAL, TB_LIST(a, x), TB_LIST(o)), "mixed float32 and int32 inputs");
	nn_graph_free(g);
}

/* SPARSE_TO_DENSE. */

TEST(shape_sparse_to_dense_1d)
{
	nn_graph *g = new_graph();
	int idx = ten(g, NN_I32, 1, 3), shp = ten(g, NN_I32, 1, 1), vals = ten(g, NN_F32, 1, 3),
	    def = ten(g, NN_F32, 0), out = ten(g, NN_F32, 1, 6);
	set(g, idx, (int32_t[]){ 0, 4, 2 });
	set(g, shp, (int32_t[]){ 6 });
	set(g, vals, (float[]){ 1, 2, 3 });
	set(g, def, (float[]){ 0.5f });
	run_ok(g, node(g, NN_OP_SPARSE_TO_DENSE, TB_LIST(idx, shp, vals, def), TB_LIST(out)));
	expect_f32(F(g, out), (float[]){ 1, 0.5f, 3, 0.5f, 2, 0.5f }, 6);

	/* A scalar value for every index, and a scalar index. */
	int one = ten(g, NN_F32, 0), out2 = ten(g, NN_F32, 1, 6);
	set(g, one, (float[]){ 9 });
	run_ok(g, node(g, NN_OP_SPARSE_TO_DENSE, TB_LIST(idx, shp, one, def), TB_LIST(out2)));
	expect_f32(F(g, out2), (float[]){ 9, 0.5f, 9, 0.5f, 9, 0.5f }, 6);
	int sidx = ten(g, NN_I64, 0), out3 = ten(g, NN_F32, 1, 6);
	set(g, sidx, (int64_t[]){ 5 });
	run_ok(g, node(g, NN_OP_SPARSE_TO_DENSE, TB_LIST(sidx, shp, one, def), TB_LIST(out3)));
	expect_f32(F(g, out3), (float[]){ 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 9 }, 6);
	nn_graph_free(g);
}

TEST(shape_sparse_to_dense_2d)
{
	/* Unsorted, with a repeated index: the last value wins. */
	nn_graph *g = new_graph();
	int idx = ten(g, NN_I64, 2, 3, 2), shp = ten(g, NN_I64, 1, 2), vals = ten(g, NN_I32, 1, 3),
	    def = ten(g, NN_I32, 0), out = ten(g, NN_I32, 2, 3, 4);
	set(g, idx, (int64_t[]){ 0, 1, 2, 3, 0, 1 });
	set(g, shp, (int64_t[]){ 3, 4 });
	set(g, vals, (int32_t[]){ 7, 8, 9 });
	set(g, def, (int32_t[]){ -1 });
	nn_node *n = node(g, NN_OP_SPARSE_TO_DENSE, TB_LIST(idx, shp, vals, def), TB_LIST(out));
	run_ok(g, n);
	expect_i32(I32(g, out), (int32_t[]){ -1, 9, -1, -1, -1, -1, -1, -1, -1, -1, -1, 8 }, 12);

	/* An index out of bounds, and output_shape values that contradict the output tensor. */
	set(g, idx, (int64_t[]){ 0, 1, 3, 0, 0, 1 });
	run_fails(g, n, NN_ERR_ARG, "sparse_indices[1] = [3,0] is out of bounds for output [3,4]");
	set(g, idx, (int64_t[]){ 0, 1, 2, -1, 0, 1 });
	run_fails(g, n, NN_ERR_ARG, "sparse_indices[1] = [2,-1] is out of bounds");
	set(g, idx, (int64_t[]){ 0, 1, 2, 3, 0, 1 });
	set(g, shp, (int64_t[]){ 3, 5 });
	run_fails(g, n, NN_ERR_SHAPE, "output_shape holds 5 in dimension 1, the output tensor is [3,4]");

	/* Malformed nodes. */
	g->tensors[idx].dtype = NN_F32;
	g->tensors[idx].shape[1] = 1; /* keep the byte size within the allocation */
	refused(g, n, "sparse_indices of type float32 are not supported");
	g->tensors[idx].dtype = NN_I64;
	g->tensors[idx].shape[1] = 2;
	g->tensors[vals].shape[0] = 2;
	refused(g, n, "sparse_values [2] should be [] or [3]");
	g->tensors[vals].shape[0] = 3;
	g->tensors[def].dtype = NN_F32;
	refused(g, n, "int32 output with float32 default_value");
	nn_graph_free(g);
}

/* Malformed tensors and nodes are refused, never read out of bounds. */
TEST(shape_malformed_nodes)
{
	nn_graph *g = new_graph();
	int in = ten(g, NN_F32, 1, 4), out = ten(g, NN_F32, 1, 4);
	nn_node *n = node(g, NN_OP_TRANSPOSE, TB_LIST(in), TB_LIST(out));
	g->tensors[in].rank = NN_MAX_RANK + 1;
	refused(g, n, "invalid shape");
	g->tensors[in].rank = 1;
	g->tensors[in].dtype = NN_DTYPE_COUNT;
	refused(g, n, "unknown dtype");
	g->tensors[in].dtype = NN_F32;
	n = node(g, NN_OP_GATHER, TB_LIST(in), TB_LIST(out));
	refused(g, n, "expects params, indices and one output");
	n = node(g, NN_OP_TOPK, TB_LIST(in), TB_LIST(out));
	refused(g, n, "expects one input and two outputs");
	n = node(g, NN_OP_SPLIT, TB_LIST(-1), TB_LIST(out));
	refused(g, n, "expects one input");
	n = node(g, NN_OP_EQUAL, TB_LIST(in, -1), TB_LIST(out));
	refused(g, n, "expects two inputs");
	nn_graph_free(g);
}

/* Through the model API: CenterNet's in-graph decoding of a score map, and a malformed node at prepare. */
TEST(shape_model_topk_decode)
{
	enum { CELLS = 6, CLASSES = 3, K = 4 };
	nn_graph *g = nn_graph_create("decode.json");
	CHECK(g != NULL);
	int scores = tb_tensor(g, "scores", NN_F32, 2, 1, CELLS * CLASSES);
	int values = tb_tensor(g, "values", NN_F32, 2, 1, K), flat = tb_tensor(g, "flat", NN_I32, 2, 1, K);
	int classes = tb_tensor(g, "classes", NN_I32, 0);
	int cell = tb_tensor(g, "cell", NN_I32, 2, 1, K), cls = tb_tensor(g, "class", NN_I32, 2, 1, K);
	int score_hit = tb_tensor(g, "is_top", NN_BOOL, 2, 1, K);
	CHECK(nn_tensor_alloc_const(&g->tensors[classes]) == 0);
	*(int32_t *)g->tensors[classes].data = CLASSES;
	int n = tb_node(g, NN_OP_TOPK, "TopKV2", TB_LIST(scores), TB_LIST(values, flat));
	g->nodes[n].p.topk.k = K;
	tb_node(g, NN_OP_FLOOR_DIV, "floordiv", TB_LIST(flat, classes), TB_LIST(cell));
	tb_node(g, NN_OP_FLOOR_MOD, "floormod", TB_LIST(flat, classes), TB_LIST(cls));
	tb_node(g, NN_OP_EQUAL, "equal", TB_LIST(values, values), TB_LIST(score_hit));
	tb_io(g, TB_LIST(scores), TB_LIST(values, cell, cls, score_hit));
	nn_model *m;
	char err[512];
	CHECK(nn_model_from_graph(&m, g, err, sizeof err) == 0);
	nn_prepare_options opt = { .threads = 1, .reference_only = 1 };
	CHECK_MSG(nn_model_prepare(m, &opt, err, sizeof err) == 0, "%s", err);
	float *s = nn_model_input(m, 0)->data;
	for (int j = 0; j < CELLS * CLASSES; j++)
		s[j] = 0.01f * (float)j;
	s[4 * CLASSES + 2] = 0.9f; /* cell 4, class 2 */
	s[1 * CLASSES + 0] = 0.8f; /* cell 1, class 0 */
	s[5 * CLASSES + 1] = 0.8f; /* cell 5, class 1: ties with the one before, comes after it */
	CHECK_MSG(nn_model_run(m, err, sizeof err) == 0, "%s", err);
	expect_f32(nn_model_output(m, 0)->data, (float[]){ 0.9f, 0.8f, 0.8f, 0.17f }, K);
	expect_i32(nn_model_output(m, 1)->data, (int32_t[]){ 4, 1, 5, 5 }, K);
	expect_i32(nn_model_output(m, 2)->data, (int32_t[]){ 2, 0, 1, 2 }, K);
	expect_u8(nn_model_output(m, 3)->data, (uint8_t[]){ 1, 1, 1, 1 }, K);
	nn_model_free(m);

	/* A TRANSPOSE with a broken perm fails at prepare, naming the node. */
	g = nn_graph_create("broken.json");
	int x = tb_tensor(g, "x", NN_F32, 2, 2, 3), y = tb_tensor(g, "y", NN_F32, 2, 3, 2);
	n = tb_node(g, NN_OP_TRANSPOSE, "model/transpose", TB_LIST(x), TB_LIST(y));
	g->nodes[n].p.transpose.perm[0] = 1;
	g->nodes[n].p.transpose.perm[1] = 1;
	tb_io(g, TB_LIST(x), TB_LIST(y));
	CHECK(nn_model_from_graph(&m, g, err, sizeof err) == 0);
	CHECK(nn_model_prepare(m, &opt, err, sizeof err) < 0);
	CHECK_MSG(strstr(err, "model/transpose") && strstr(err, "perm [1,1] is not a permutation"), "%s", err);
	nn_model_free(m);
}

TEST_SUITE(nn_shape,
	   TEST_ENTRY(shape_transpose_nhwc_to_nchw),
	   TEST_ENTRY(shape_transpose_3d_perm_every_size),
	   TEST_ENTRY(shape_transpose_large_tiles),
	   TEST_ENTRY(shape_transpose_bad_perm),
	   TEST_ENTRY(shape_strided_slice_stride2),
	   TEST_ENTRY(shape_strided_slice_negative_stride),
	   TEST_ENTRY(shape_strided_slice_bad),
	   TEST_ENTRY(shape_gather_axis0_2d_indices),
	   TEST_ENTRY(shape_gather_axis1_2d_indices),
	   TEST_ENTRY(shape_gather_errors),
	   TEST_ENTRY(shape_split_uneven),
	   TEST_ENTRY(shape_split_bad_sizes),
	   TEST_ENTRY(shape_cast_float_to_int),
	   TEST_ENTRY(shape_cast_bool_and_integers),
	   TEST_ENTRY(shape_cast_float16),
	   TEST_ENTRY(shape_topk_ties),
	   TEST_ENTRY(shape_topk_k_equals_n),
	   TEST_ENTRY(shape_topk_nan_ranks_lowest),
	   TEST_ENTRY(shape_topk_integers_and_float16),
	   TEST_ENTRY(shape_topk_bad),
	   TEST_ENTRY(shape_topk_large_random_vs_sort),
	   TEST_ENTRY(shape_floor_div_mod_int),
	   TEST_ENTRY(shape_floor_div_mod_float),
	   TEST_ENTRY(shape_floor_div_mod_broadcast),
	   TEST_ENTRY(shape_floor_div_errors),
	   TEST_ENTRY(shape_equal_broadcast),
	   TEST_ENTRY(shape_sparse_to_dense_1d),
	   TEST_ENTRY(shape_sparse_to_dense_2d),
	   TEST_ENTRY(shape_malformed_nodes),
	   TEST_ENTRY(shape_model_topk_decode));
