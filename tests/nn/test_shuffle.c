/*
 * The channel shuffle's path (issue 12, YOLO-FastestV2): the pass that turns
 * a RESHAPE / TRANSPOSE / RESHAPE / GATHER chain into STRIDED_SLICEs
 * (pass/shuffle.c), the native TRANSPOSE of any block reordering or batch
 * of 2-D transposes (backend/native_permute.c) and the native STRIDED_SLICE
 * (backend/native_slice.c). Values are checked against index arithmetic
 * written here, on the reference kernels and on the default path.
 */
#include <stdint.h>
#include <string.h>

#include "nn/backend/native.h"
#include "nn/model.h"
#include "nn_build.h"
#include "test.h"

/* mode 1: reference kernels only; 0: the default choice. */
static nn_model *prepare(nn_graph *g, int mode)
{
	nn_model *m;
	char err[512];
	CHECK_MSG(nn_model_from_graph(&m, g, err, sizeof err) == 0, "%s", err);
	nn_prepare_options opt = { .threads = 1, .reference_only = mode == 1 };
	CHECK_MSG(nn_model_prepare(m, &opt, err, sizeof err) == 0, "%s", err);
	return m;
}

static void run(nn_model *m)
{
	char err[512];
	CHECK_MSG(nn_model_run(m, err, sizeof err) == 0, "%s", err);
}

/* Input values that name their own index: x[i] = i. */
static void iota(nn_tensor *t)
{
	float *v = t->data;
	for (int64_t i = 0; i < nn_tensor_elements(t); i++)
		v[i] = (float)i;
}

/*
 * x [1, C, H, W] -> RESHAPE [C/2, 2, HW] -> TRANSPOSE (1, 0, 2) -> RESHAPE
 * [2, 1, C/2, H, W] -> GATHER 0 and GATHER 1 on axis 0: the even and the odd
 * channels. The pass leaves two STRIDED_SLICEs and nothing else.
 */
TEST(shuffle_becomes_slices)
{
	enum { C = 10, H = 3, W = 5 };
	/* pre: the input is [C, HW], reshaped to [1, C, H, W] first: the slice is of that, not of the input. */
	for (int pre = 0; pre < 2; pre++)
	for (int mode = 1; mode >= 0; mode--) {
		nn_graph *g = nn_graph_create("shuffle");
		int in = pre ? tb_tensor(g, "in", NN_F32, 2, C, H * W) : -1;
		int x = tb_tensor(g, "x", NN_F32, 4, 1, C, H, W);
		if (pre)
			tb_node(g, NN_OP_RESHAPE, "pre", TB_LIST(in), TB_LIST(x));
		int r1 = tb_tensor(g, "r1", NN_F32, 3, C / 2, 2, H * W);
		int t = tb_tensor(g, "t", NN_F32, 3, 2, C / 2, H * W);
		int r2 = tb_tensor(g, "r2", NN_F32, 5, 2, 1, C / 2, H, W);
		int i0 = tb_tensor(g, "i0", NN_I32, 0), i1 = tb_tensor(g, "i1", NN_I32, 0);
		CHECK(nn_tensor_alloc_const(&g->tensors[i0]) == 0 && nn_tensor_alloc_const(&g->tensors[i1]) == 0);
		((int32_t *)g->tensors[i0].data)[0] = 0;
		((int32_t *)g->tensors[i1].data)[0] = 1;
		int y0 = tb_tensor(g, "y0", NN_F32, 4, 1, C / 2, H, W), y1 = tb_tensor(g, "y1", NN_F32, 4, 1, C / 2, H, W);
		tb_node(g, NN_OP_RESHAPE, "r1", TB_LIST(x), TB_LIST(r1));
		int tn = tb_node(g, NN_OP_TRANSPOSE, "t", TB_LIST(r1), TB_LIST(t));
		int *perm = g->nodes[tn].p.transpose.perm;
		perm[0] = 1, perm[1] = 0, perm[2] = 2;
		tb_node(g, NN_OP_RESHAPE, "r2", TB_LIST(t), TB_LIST(r2));
		tb_node(g, NN_OP_GATHER, "g0", TB_LIST(r2, i0), TB_LIST(y0));
		tb_node(g, NN_OP_GATHER, "g1", TB_LIST(r2, i1), TB_LIST(y1));
		tb_io(g, TB_LIST(pre ? in : x), TB_LIST(y0, y1));
		nn_model *m = prepare(g, mode);
		const nn_graph *pg = nn_model_graph(m);
		CHECK_MSG(pg->n_nodes == 2 + pre && pg->nodes[pre].op == NN_OP_STRIDED_SLICE &&
				  pg->nodes[pre + 1].op == NN_OP_STRIDED_SLICE,
			  "pre %d: %d nodes, the first %s", pre, pg->n_nodes, nn_op_name(pg->nodes[0].op));
		iota(nn_model_input(m, 0));
		run(m);
		for (int j = 0; j < 2; j++) {
			const float *y = nn_model_output(m, j)->data;
			for (int c = 0; c < C / 2; c++)
				for (int p = 0; p < H * W; p++)
					CHECK_MSG(y[c * H * W + p] == (float)((2 * c + j) * H * W + p),
						  "mode %d output %d (%d,%d): %g", mode, j, c, p,
						  (double)y[c * H * W + p]);
		}
		nn_model_free(m);
	}
}

/* A GATHER that is not a fixed stride (a chain that reverses an axis) stays a GATHER. */
TEST(shuffle_leaves_other_gathers)
{
	nn_graph *g = nn_graph_create("not a shuffle");
	int x = tb_tensor(g, "x", NN_F32, 4, 1, 4, 2, 3);
	int t = tb_tensor(g, "t", NN_F32, 4, 4, 1, 3, 2);
	int i0 = tb_tensor(g, "i0", NN_I32, 0), y = tb_tensor(g, "y", NN_F32, 3, 1, 3, 2);
	CHECK(nn_tensor_alloc_const(&g->tensors[i0]) == 0);
	((int32_t *)g->tensors[i0].data)[0] = 2;
	int tn = tb_node(g, NN_OP_TRANSPOSE, "t", TB_LIST(x), TB_LIST(t));
	int *perm = g->nodes[tn].p.transpose.perm;
	perm[0] = 1, perm[1] = 0, perm[2] = 3, perm[3] = 2;
	tb_node(g, NN_OP_GATHER, "g", TB_LIST(t, i0), TB_LIST(y));
	tb_io(g, TB_LIST(x), TB_LIST(y));
	nn_model *m = prepare(g, 0);
	const nn_graph *pg = nn_model_graph(m);
	int gathers = 0;
	for (int i = 0; i < pg->n_nodes; i++)
		gathers += pg->nodes[i].op == NN_OP_GATHER;
	CHECK(gathers == 1); /* the output has a lower rank than x: not a slice of it */
	iota(nn_model_input(m, 0));
	run(m);
	const float *v = nn_model_output(m, 0)->data;
	/* y[0, w, h] = x[0, 2, h, w] */
	for (int w = 0; w < 3; w++)
		for (int h = 0; h < 2; h++)
			CHECK(v[w * 2 + h] == (float)(2 * 6 + h * 3 + w));
	nn_model_free(m);
}

/* Transposes of rank 3 to 5, each on both paths, against out[i] = x[index of i under the permutation]. */
TEST(native_permute_values)
{
	static const struct {
		int rank, shape[5], perm[5];
	} cases[] = {
		{ 4, { 1, 9, 7, 40 }, { 0, 3, 1, 2 } },    /* NHWC to NCHW, 40 channels: tiles with tails */
		{ 4, { 2, 33, 5, 3 }, { 0, 2, 3, 1 } },    /* NCHW to NHWC, 33 channels, two images */
		{ 3, { 24, 2, 37 }, { 1, 0, 2 } },         /* the shuffle's block reordering */
		{ 5, { 2, 3, 1, 4, 5 }, { 1, 0, 2, 4, 3 } }, /* a unit axis, two swaps: stays on the reference kernel */
		{ 4, { 3, 4, 5, 6 }, { 2, 3, 0, 1 } },     /* merges into one 2-D transpose of 12 rows */
		{ 3, { 4, 5, 6 }, { 2, 1, 0 } },           /* neither form: stays on the reference kernel */
		{ 4, { 1, 6, 2, 37 }, { 0, 1, 3, 2 } },    /* NanoDet's shuffle: 2 rows, interleaved by permutes */
		{ 3, { 5, 7, 35 }, { 0, 2, 1 } },          /* 7 rows: gathers, a 3-column tail */
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
		for (int mode = 1; mode >= 0; mode--) {
			const int r = cases[k].rank, *s = cases[k].shape, *p = cases[k].perm;
			nn_graph *g = nn_graph_create("permute");
			int x = nn_graph_add_tensor(g, "x"), y = nn_graph_add_tensor(g, "y");
			g->tensors[x].dtype = g->tensors[y].dtype = NN_F32;
			g->tensors[x].rank = g->tensors[y].rank = r;
			for (int d = 0; d < r; d++) {
				g->tensors[x].shape[d] = s[d];
				g->tensors[y].shape[d] = s[p[d]];
			}
			int n = tb_node(g, NN_OP_TRANSPOSE, "t", TB_LIST(x), TB_LIST(y));
			for (int d = 0; d < NN_MAX_RANK; d++)
				g->nodes[n].p.transpose.perm[d] = d < r ? p[d] : d;
			tb_io(g, TB_LIST(x), TB_LIST(y));
			nn_model *m = prepare(g, mode);
			iota(nn_model_input(m, 0));
			run(m);
			const float *v = nn_model_output(m, 0)->data;
			int64_t xs[5], st = 1, count = 1;
			for (int d = r - 1; d >= 0; d--) {
				xs[d] = st;
				st *= s[d];
			}
			int idx[5] = { 0 };
			for (int d = 0; d < r; d++)
				count *= s[p[d]];
			for (int64_t i = 0; i < count; i++) {
				int64_t off = 0;
				for (int d = 0; d < r; d++)
					off += idx[d] * xs[p[d]];
				CHECK_MSG(v[i] == (float)off, "case %zu mode %d (%s): element %lld is %g, want %lld", k, mode,
					  nn_model_node_backend(m, 0), (long long)i, (double)v[i], (long long)off);
				for (int d = r - 1; d >= 0; d--) {
					if (++idx[d] < s[p[d]])
						break;
					idx[d] = 0;
				}
			}
			if (mode == 0 && nn_native_available() && k != 3 && k != 5 && nn_model_graph(m)->nodes[0].op == NN_OP_TRANSPOSE)
				CHECK_MSG(!strcmp(nn_model_node_backend(m, 0), "native"), "case %zu ran on %s", k,
					  nn_model_node_backend(m, 0));
			nn_model_free(m);
		}
}

/* Strided slices of [2, 5, 7, C]: strides 1, 2 and 3 along the channels, 2 along the height. */
TEST(native_slice_values)
{
	static const struct {
		int c, begin[4], stride[4], out[4];
	} cases[] = {
		{ 48, { 0, 0, 0, 1 }, { 1, 1, 1, 2 }, { 2, 5, 7, 24 } },
		{ 37, { 0, 0, 0, 0 }, { 1, 1, 1, 2 }, { 2, 5, 7, 19 } },
		{ 50, { 1, 1, 2, 3 }, { 1, 2, 1, 3 }, { 1, 2, 5, 16 } },
		{ 20, { 0, 2, 0, 4 }, { 1, 1, 3, 1 }, { 2, 3, 3, 16 } },
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
		for (int mode = 1; mode >= 0; mode--) {
			nn_graph *g = nn_graph_create("slice");
			const int *o = cases[k].out, *b = cases[k].begin, *s = cases[k].stride, C = cases[k].c;
			int x = tb_tensor(g, "x", NN_F32, 4, 2, 5, 7, C), y = tb_tensor(g, "y", NN_F32, 4, o[0], o[1], o[2], o[3]);
			int n = tb_node(g, NN_OP_STRIDED_SLICE, "s", TB_LIST(x), TB_LIST(y));
			memcpy(g->nodes[n].p.slice.begin, b, 4 * sizeof *b);
			memcpy(g->nodes[n].p.slice.stride, s, 4 * sizeof *s);
			tb_io(g, TB_LIST(x), TB_LIST(y));
			nn_model *m = prepare(g, mode);
			iota(nn_model_input(m, 0));
			run(m);
			const float *v = nn_model_output(m, 0)->data;
			int64_t i = 0;
			for (int a = 0; a < o[0]; a++)
				for (int h = 0; h < o[1]; h++)
					for (int w = 0; w < o[2]; w++)
						for (int c = 0; c < o[3]; c++, i++) {
							int64_t off = (((int64_t)(b[0] + a * s[0]) * 5 + b[1] + h * s[1]) * 7 +
								       b[2] + w * s[2]) * C + b[3] + c * s[3];
							CHECK_MSG(v[i] == (float)off, "case %zu mode %d: element %lld is %g, want %lld",
								  k, mode, (long long)i, (double)v[i], (long long)off);
						}
			if (mode == 0 && nn_native_available())
				CHECK_MSG(!strcmp(nn_model_node_backend(m, 0), "native"), "case %zu ran on %s", k,
					  nn_model_node_backend(m, 0));
			nn_model_free(m);
		}
}

TEST_SUITE(nn_shuffle,
	   TEST_ENTRY(shuffle_becomes_slices),
	   TEST_ENTRY(shuffle_leaves_other_gathers),
	   TEST_ENTRY(native_permute_values),
	   TEST_ENTRY(native_slice_values));
