/*
 * Tests of the TensorFlow op mapping (src/nn/format/tf_ops*.c) through
 * nn_tf_build, on graphs built here as a format reader would fill them
 * (nn_tf_graph): the ops the frozen-graph and SavedModel formats brought
 * (Dequantize, dilated convolutions as SpaceToBatchND/BatchToSpaceND,
 * standalone batch normalisation, MatMul, the L2 normalisation's Square,
 * Sum, Rsqrt, Softmax, ...), checked against values worked out by hand or
 * by naive loops over TensorFlow's definitions, on the reference kernels
 * and on XNNPACK; and the graph-level behaviour every format shares:
 * control flow refused by its first node, every unsupported op listed in
 * one message, aliases, control inputs, inputs of unknown size.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/format/tf_graph.h"
#include "nn/model.h"
#include "nn_build.h"
#include "test.h"

/* ---- building nn_tf_graphs ---- */

#define MAX_NODES 48
#define MAX_ATTRS 12

typedef struct tg {
	nn_tf_graph g;
	nn_tf_attr *attrs[MAX_NODES];
} tg;

static tg *tg_new(void)
{
	tg *b = calloc(1, sizeof *b);
	CHECK(b);
	b->g.nodes = nn_tf_alloc(&b->g, MAX_NODES * sizeof *b->g.nodes);
	CHECK(b->g.nodes);
	return b;
}

static void tg_free(tg *b)
{
	nn_tf_graph_free(&b->g);
	free(b);
}

/* A node; inputs is a comma-separated list as GraphDef writes them ("a", "b:1", "^c"), or NULL. */
static nn_tf_node *node(tg *b, const char *name, const char *op, const char *inputs)
{
	CHECK(b->g.n_nodes < MAX_NODES);
	int i = b->g.n_nodes++;
	nn_tf_node *n = &b->g.nodes[i];
	n->name = nn_tf_strdup(&b->g, name, strlen(name));
	n->op = nn_tf_strdup(&b->g, op, strlen(op));
	b->attrs[i] = nn_tf_alloc(&b->g, MAX_ATTRS * sizeof *b->attrs[i]);
	n->attrs = b->attrs[i];
	const char **in = nn_tf_alloc(&b->g, 16 * sizeof *in);
	n->inputs = in;
	for (const char *s = inputs; s && *s;) {
		const char *e = strchr(s, ',');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		CHECK(n->n_inputs < 16);
		in[n->n_inputs++] = nn_tf_strdup(&b->g, s, len);
		s = e ? e + 1 : s + len;
	}
	return n;
}

static nn_tf_attr *attr(tg *b, nn_tf_node *n, const char *name, nn_tf_attr_kind kind)
{
	int i = (int)(n - b->g.nodes);
	CHECK(n->n_attrs < MAX_ATTRS);
	nn_tf_attr *a = &b->attrs[i][n->n_attrs++];
	a->name = name;
	a->kind = kind;
	return a;
}

static void a_int(tg *b, nn_tf_node *n, const char *name, int64_t v)
{
	attr(b, n, name, NN_TF_ATTR_INT)->i = v;
}

static void a_bool(tg *b, nn_tf_node *n, const char *name, int v)
{
	attr(b, n, name, NN_TF_ATTR_BOOL)->b = v;
}

static void a_float(tg *b, nn_tf_node *n, const char *name, double v)
{
	attr(b, n, name, NN_TF_ATTR_FLOAT)->f = v;
}

static void a_type(tg *b, nn_tf_node *n, const char *name, nn_tf_dtype t)
{
	attr(b, n, name, NN_TF_ATTR_TYPE)->type = t;
}

static void a_str(tg *b, nn_tf_node *n, const char *name, const char *s)
{
	nn_tf_attr *a = attr(b, n, name, NN_TF_ATTR_STRING);
	a->s = s;
	a->s_len = strlen(s);
}

static void a_ints(tg *b, nn_tf_node *n, const char *name, int count, const int64_t *v)
{
	nn_tf_attr *a = attr(b, n, name, NN_TF_ATTR_LIST);
	int64_t *copy = nn_tf_alloc(&b->g, (size_t)(count + 1) * sizeof *copy);
	memcpy(copy, v, (size_t)count * sizeof *v);
	a->list_kind = NN_TF_ATTR_INT;
	a->n = count;
	a->ints = copy;
}

static void a_shape(tg *b, nn_tf_node *n, int rank, const int64_t *dims)
{
	nn_tf_attr *a = attr(b, n, "shape", NN_TF_ATTR_SHAPE);
	int64_t *copy = nn_tf_alloc(&b->g, (size_t)(rank + 1) * sizeof *copy);
	if (rank > 0)
		memcpy(copy, dims, (size_t)rank * sizeof *dims);
	a->rank = rank;
	a->dims = copy;
}

/* A Const of any dtype: data holds elements of nn_tf_dtype_size(dt) bytes (copied). */
static nn_tf_node *constant(tg *b, const char *name, nn_tf_dtype dt, int rank, const int64_t *dims, const void *data)
{
	nn_tf_node *n = node(b, name, "Const", NULL);
	nn_tf_tensor *t = nn_tf_alloc(&b->g, sizeof *t);
	t->dtype = dt;
	t->rank = rank;
	t->elements = 1;
	for (int d = 0; d < rank; d++) {
		t->dims[d] = dims[d];
		t->elements *= dims[d];
	}
	size_t bytes = (size_t)t->elements * nn_tf_dtype_size(dt);
	void *copy = nn_tf_alloc(&b->g, bytes + 1);
	memcpy(copy, data, bytes);
	t->data = copy;
	attr(b, n, "value", NN_TF_ATTR_TENSOR)->tensor = t;
	a_type(b, n, "dtype", dt);
	return n;
}

static void const_f32(tg *b, const char *name, int rank, const int64_t *dims, const float *v)
{
	constant(b, name, NN_TF_FLOAT, rank, dims, v);
}

static void const_i32(tg *b, const char *name, int rank, const int64_t *dims, const int32_t *v)
{
	constant(b, name, NN_TF_INT32, rank, dims, v);
}

static void scalar_f32(tg *b, const char *name, float v)
{
	const_f32(b, name, 0, NULL, &v);
}

static nn_tf_node *input(tg *b, const char *name, int rank, const int64_t *dims)
{
	nn_tf_node *n = node(b, name, "Placeholder", NULL);
	a_type(b, n, "dtype", NN_TF_FLOAT);
	if (rank >= 0)
		a_shape(b, n, rank, dims);
	return n;
}

#define D(...) ((const int64_t[]){ __VA_ARGS__ })
#define RANK(...) ((int)(sizeof((const int64_t[]){ __VA_ARGS__ }) / sizeof(int64_t)))
#define SH(...) RANK(__VA_ARGS__), D(__VA_ARGS__)

/* ---- building, running, checking ---- */

static int build(tg *b, const nn_tf_build_options *o, nn_graph **g, char *err, size_t errlen)
{
	nn_tf_build_options none = { .source = "test.pb" };
	return nn_tf_build(g, &b->g, o ? o : &none, err, errlen);
}

static void expect_error(tg *b, const nn_tf_build_options *o, int code, const char *needle)
{
	nn_graph *g = (nn_graph *)&g;
	char err[1024];
	int rc = build(b, o, &g, err, sizeof err);
	CHECK_MSG(rc == code && g == NULL, "rc %d (expected %d), message '%s'", rc, code, err);
	CHECK_MSG(strstr(err, needle) != NULL, "message '%s' lacks '%s'", err, needle);
	CHECK_MSG(strncmp(err, "test.pb: ", 9) == 0, "message '%s' does not start with the file's name", err);
}

/* Builds, prepares (reference kernels only, or XNNPACK where it takes a node) and runs with one float input. */
static nn_model *run(tg *b, const nn_tf_build_options *o, int reference_only, const float *in)
{
	nn_graph *g;
	nn_model *m;
	char err[1024];
	CHECK_MSG(build(b, o, &g, err, sizeof err) == 0, "build: %s", err);
	CHECK(nn_model_from_graph(&m, g, err, sizeof err) == 0);
	nn_prepare_options po = { .threads = 1, .reference_only = reference_only };
	CHECK_MSG(nn_model_prepare(m, &po, err, sizeof err) == 0, "prepare: %s", err);
	if (in) {
		CHECK(nn_model_input_count(m) >= 1);
		nn_tensor *t = nn_model_input(m, 0);
		memcpy(t->data, in, nn_tensor_bytes(t));
	}
	CHECK_MSG(nn_model_run(m, err, sizeof err) == 0, "run: %s", err);
	return m;
}

static const nn_tensor *output_named(nn_model *m, const char *name)
{
	for (int i = 0; i < nn_model_output_count(m); i++)
		if (!strcmp(nn_model_output(m, i)->name, name))
			return nn_model_output(m, i);
	CHECK_MSG(0, "no output called '%s'", name);
	return NULL;
}

static void check_floats(const char *what, const float *got, const float *want, int64_t n, float tol)
{
	for (int64_t i = 0; i < n; i++)
		CHECK_MSG(fabsf(got[i] - want[i]) <= tol * (1.0f + fabsf(want[i])), "%s[%lld] = %.9g, expected %.9g", what,
			  (long long)i, (double)got[i], (double)want[i]);
}

/* Output `name` on both backends: its shape, and its values against want. */
static void check_output(tg *b, const nn_tf_build_options *o, const float *in, const char *name, int rank,
			 const int64_t *shape, const float *want, float tol)
{
	for (int ref = 1; ref >= 0; ref--) {
		nn_model *m = run(b, o, ref, in);
		const nn_tensor *t = output_named(m, name);
		int64_t n = 1;
		CHECK_MSG(t->rank == rank && t->dtype == NN_F32, "'%s' has rank %d, expected %d", name, t->rank, rank);
		for (int d = 0; d < rank; d++) {
			CHECK_MSG(t->shape[d] == shape[d], "'%s' dimension %d is %d, expected %lld", name, d, t->shape[d],
				  (long long)shape[d]);
			n *= shape[d];
		}
		check_floats(name, t->data, want, n, tol);
		nn_model_free(m);
	}
}

static void fill(float *v, int64_t n, uint32_t seed, float lo, float hi)
{
	for (int64_t i = 0; i < n; i++)
		v[i] = tb_uniform(&seed, lo, hi);
}

/* ---- Dequantize ---- */

TEST(tf_dequantize_min_combined)
{
	/* quint8: min + q * (max - min) / 255. */
	uint8_t q[4] = { 0, 1, 128, 255 };
	tg *b = tg_new();
	constant(b, "q", NN_TF_QUINT8, SH(4), q);
	scalar_f32(b, "lo", -1.0f);
	scalar_f32(b, "hi", 2.0f);
	nn_tf_node *n = node(b, "w", "Dequantize", "q,lo,hi");
	a_type(b, n, "T", NN_TF_QUINT8);
	float want[4] = { -1.0f, -1.0f + 3.0f / 255, -1.0f + 128 * 3.0f / 255, 2.0f };
	check_output(b, NULL, NULL, "w", SH(4), want, 1e-6f);
	tg_free(b);

	/* qint8: min + (q + 128) * (max - min) / 255, with the mode spelled out. */
	int8_t s[3] = { -128, 0, 127 };
	b = tg_new();
	constant(b, "q", NN_TF_QINT8, SH(3), s);
	scalar_f32(b, "lo", 0.0f);
	scalar_f32(b, "hi", 255.0f);
	n = node(b, "w", "Dequantize", "q,lo,hi");
	a_type(b, n, "T", NN_TF_QINT8);
	a_str(b, n, "mode", "MIN_COMBINED");
	float want2[3] = { 0.0f, 128.0f, 255.0f };
	check_output(b, NULL, NULL, "w", SH(3), want2, 1e-6f);
	tg_free(b);
}

TEST(tf_dequantize_min_first_and_axis)
{
	/*
	 * MIN_FIRST, quint8, min -1, max 1: the step is 2/255 and min is
	 * rounded to a multiple of it, dividing by the step as a float
	 * (0.0078431377...): -1 / that is -127.4999..., which rounds to -127
	 * steps (not -128), so q reads (q - 127) steps.
	 */
	uint8_t q[3] = { 0, 128, 255 };
	tg *b = tg_new();
	constant(b, "q", NN_TF_QUINT8, SH(3), q);
	scalar_f32(b, "lo", -1.0f);
	scalar_f32(b, "hi", 1.0f);
	nn_tf_node *n = node(b, "w", "Dequantize", "q,lo,hi");
	a_type(b, n, "T", NN_TF_QUINT8);
	a_str(b, n, "mode", "MIN_FIRST");
	double step = 2.0 / 255, fstep = (float)step;
	float want[3] = { (float)(-127 * fstep), (float)(-127 * fstep + 128 * step), (float)(-127 * fstep + 255 * step) };
	check_output(b, NULL, NULL, "w", SH(3), want, 1e-6f);
	tg_free(b);

	/* axis 1: each column has its own range. */
	uint8_t q2[4] = { 0, 0, 255, 255 };
	float los[2] = { 0.0f, 10.0f }, his[2] = { 1.0f, 20.0f };
	b = tg_new();
	constant(b, "q", NN_TF_QUINT8, SH(2, 2), q2);
	const_f32(b, "lo", SH(2), los);
	const_f32(b, "hi", SH(2), his);
	n = node(b, "w", "Dequantize", "q,lo,hi");
	a_type(b, n, "T", NN_TF_QUINT8);
	a_int(b, n, "axis", 1);
	float want2[4] = { 0.0f, 10.0f, 1.0f, 20.0f };
	check_output(b, NULL, NULL, "w", SH(2, 2), want2, 1e-6f);
	tg_free(b);

	/* SCALED is refused by name; so is a run-time input. */
	b = tg_new();
	constant(b, "q", NN_TF_QUINT8, SH(3), q);
	scalar_f32(b, "lo", -1.0f);
	scalar_f32(b, "hi", 1.0f);
	n = node(b, "w", "Dequantize", "q,lo,hi");
	a_type(b, n, "T", NN_TF_QUINT8);
	a_str(b, n, "mode", "SCALED");
	expect_error(b, NULL, NN_ERR_UNSUPPORTED, "node 'w' (op Dequantize): mode 'SCALED' is not supported");
	tg_free(b);
}

/* ---- dilated convolutions ---- */

/* TensorFlow's chain, naively: SpaceToBatchND, a stride-1 convolution (HWIO filter, SAME or VALID), BatchToSpaceND. */
static void naive_atrous(const float *x, int H, int W, int C, const float *f, int K, int O, int blk, const int *pads,
			 const int *crops, int same, float *out, int *OH, int *OW)
{
	int Hp = H + pads[0] + pads[1], Wp = W + pads[2] + pads[3], h = Hp / blk, w = Wp / blk;
	int pt = same ? (K - 1) / 2 : 0, ih = same ? h : h - K + 1, iw = same ? w : w - K + 1;
	int fh = blk * ih, fw = blk * iw;
	*OH = fh - crops[0] - crops[1];
	*OW = fw - crops[2] - crops[3];
	for (int y = 0; y < *OH; y++)
		for (int xx = 0; xx < *OW; xx++) {
			int Y = y + crops[0], X = xx + crops[2];
			int by = Y % blk, bx = X % blk, sy = Y / blk, sx = X / blk;
			for (int o = 0; o < O; o++) {
				double acc = 0;
				for (int dy = 0; dy < K; dy++)
					for (int dx = 0; dx < K; dx++) {
						int py = sy + dy - pt, px = sx + dx - pt;
						if (py < 0 || py >= h || px < 0 || px >= w)
							continue;
						int ry = by + blk * py - pads[0], rx = bx + blk * px - pads[2];
						if (ry < 0 || ry >= H || rx < 0 || rx >= W)
							continue;
						for (int i = 0; i < C; i++)
							acc += (double)x[((size_t)ry * W + rx) * C + i] *
							       f[(((size_t)dy * K + dx) * C + i) * O + o];
					}
				out[((size_t)y * *OW + xx) * O + o] = (float)acc;
			}
		}
}

static void atrous_case(int H, int W, int blk, const int *pads, const int *crops, int same)
{
	enum { C = 3, O = 4, K = 3 };
	float x[19 * 19 * C], f[K * K * C * O], want[19 * 19 * O];
	int OH, OW;
	fill(x, (int64_t)H * W * C, 11, -1, 1);
	fill(f, K * K * C * O, 12, -1, 1);
	naive_atrous(x, H, W, C, f, K, O, blk, pads, crops, same, want, &OH, &OW);
	int32_t block[2] = { blk, blk }, p[4] = { pads[0], pads[1], pads[2], pads[3] },
		cr[4] = { crops[0], crops[1], crops[2], crops[3] };
	tg *b = tg_new();
	input(b, "x", SH(1, H, W, C));
	const_f32(b, "f", SH(K, K, C, O), f);
	const_i32(b, "s2b/block", SH(2), block);
	const_i32(b, "s2b/pads", SH(2, 2), p);
	const_i32(b, "b2s/block", SH(2), block);
	const_i32(b, "b2s/crops", SH(2, 2), cr);
	node(b, "s2b", "SpaceToBatchND", "x,s2b/block,s2b/pads");
	nn_tf_node *c = node(b, "conv", "Conv2D", "s2b,f");
	a_ints(b, c, "strides", 4, D(1, 1, 1, 1));
	a_str(b, c, "padding", same ? "SAME" : "VALID");
	node(b, "y", "BatchToSpaceND", "conv,b2s/block,b2s/crops");
	check_output(b, NULL, x, "y", SH(1, OH, OW, O), want, 1e-4f);
	tg_free(b);
}

TEST(tf_dilated_conv_folds)
{
	/* The face detector's: 19x19, block 2, paddings 2,3 and crops 0,1 around a VALID 3x3 convolution. */
	atrous_case(19, 19, 2, (const int[]){ 2, 3, 2, 3 }, (const int[]){ 0, 1, 0, 1 }, 0);
	/* A SAME convolution inside, block 2, only the padding to a multiple of the block. */
	atrous_case(7, 9, 2, (const int[]){ 0, 1, 0, 1 }, (const int[]){ 0, 1, 0, 1 }, 1);
	/* Block 3, VALID: the output shrinks as a dilated VALID convolution's does. */
	atrous_case(12, 9, 3, (const int[]){ 0, 0, 0, 0 }, (const int[]){ 0, 0, 0, 0 }, 0);

	/* Without its BatchToSpaceND, a SpaceToBatchND is refused. */
	int32_t block[2] = { 2, 2 }, p[4] = { 0, 0, 0, 0 };
	tg *b = tg_new();
	input(b, "x", SH(1, 4, 4, 1));
	const_i32(b, "blk", SH(2), block);
	const_i32(b, "pads", SH(2, 2), p);
	node(b, "s2b", "SpaceToBatchND", "x,blk,pads");
	node(b, "y", "Relu", "s2b");
	expect_error(b, NULL, NN_ERR_UNSUPPORTED, "node 's2b' (op SpaceToBatchND): SpaceToBatchND is supported only");
	tg_free(b);
}

/* ---- batch normalisation, MatMul ---- */

TEST(tf_fused_batch_norm)
{
	float x[2 * 2 * 3], want[12];
	float scale[3] = { 1.0f, 2.0f, 0.5f }, offset[3] = { 0.0f, 1.0f, -1.0f }, mean[3] = { 0.5f, -0.5f, 2.0f },
	      var[3] = { 1.0f, 4.0f, 0.25f };
	fill(x, 12, 3, -2, 2);
	for (int i = 0; i < 12; i++) {
		int ch = i % 3;
		want[i] = (x[i] - mean[ch]) / sqrtf(var[ch] + 0.001f) * scale[ch] + offset[ch];
	}
	for (int v3 = 0; v3 < 2; v3++) {
		tg *b = tg_new();
		input(b, "x", SH(1, 2, 2, 3));
		const_f32(b, "scale", SH(3), scale);
		const_f32(b, "offset", SH(3), offset);
		const_f32(b, "mean", SH(3), mean);
		const_f32(b, "var", SH(3), var);
		nn_tf_node *n = node(b, "bn", v3 ? "FusedBatchNormV3" : "FusedBatchNorm", "x,scale,offset,mean,var");
		a_float(b, n, "epsilon", 0.001);
		a_bool(b, n, "is_training", 0);
		a_str(b, n, "data_format", "NHWC");
		check_output(b, NULL, x, "bn", SH(1, 2, 2, 3), want, 1e-5f);
		tg_free(b);
	}

	/* In training mode the statistics would come from the batch: refused. */
	tg *b = tg_new();
	input(b, "x", SH(1, 2, 2, 3));
	const_f32(b, "scale", SH(3), scale);
	const_f32(b, "offset", SH(3), offset);
	const_f32(b, "mean", SH(3), mean);
	const_f32(b, "var", SH(3), var);
	node(b, "bn", "FusedBatchNorm", "x,scale,offset,mean,var");
	expect_error(b, NULL, NN_ERR_UNSUPPORTED, "node 'bn' (op FusedBatchNorm): is_training is set");
	tg_free(b);
}

TEST(tf_matmul)
{
	float x[2 * 3], w[3 * 4], want[2 * 4];
	fill(x, 6, 5, -1, 1);
	fill(w, 12, 6, -1, 1);
	for (int tb = 0; tb < 2; tb++) {
		/* transpose_b: the constant is stored [4, 3], the transpose of the [3, 4] used. */
		float stored[12];
		for (int i = 0; i < 3; i++)
			for (int o = 0; o < 4; o++)
				stored[tb ? o * 3 + i : i * 4 + o] = w[i * 4 + o];
		for (int r = 0; r < 2; r++)
			for (int o = 0; o < 4; o++) {
				double acc = 0;
				for (int i = 0; i < 3; i++)
					acc += (double)x[r * 3 + i] * w[i * 4 + o];
				want[r * 4 + o] = (float)acc;
			}
		tg *b = tg_new();
		input(b, "x", SH(2, 3));
		if (tb)
			const_f32(b, "w", SH(4, 3), stored);
		else
			const_f32(b, "w", SH(3, 4), stored);
		nn_tf_node *n = node(b, "y", "MatMul", "x,w");
		a_bool(b, n, "transpose_b", tb);
		check_output(b, NULL, x, "y", SH(2, 4), want, 1e-5f);
		tg_free(b);
	}

	/* Two run-time operands are refused. */
	tg *b = tg_new();
	input(b, "x", SH(2, 3));
	input(b, "z", SH(3, 2));
	node(b, "y", "MatMul", "x,z");
	expect_error(b, NULL, NN_ERR_UNSUPPORTED, "node 'y' (op MatMul): a MatMul of two tensors computed at run time");
	tg_free(b);
}

/* ---- element-wise spellings and reductions ---- */

TEST(tf_l2_normalize_and_softmax)
{
	/* tf.math.l2_normalize over the channels, as the face detector spells it, then a softmax of the result. */
	float x[2 * 2 * 4], want[16], sm[16];
	fill(x, 16, 7, -3, 3);
	for (int p = 0; p < 4; p++) {
		double ss = 0, mx = -1e30, den = 0;
		for (int ch = 0; ch < 4; ch++)
			ss += (double)x[p * 4 + ch] * x[p * 4 + ch];
		double inv = 1.0 / sqrt(fmax(ss, 1e-10));
		for (int ch = 0; ch < 4; ch++) {
			want[p * 4 + ch] = (float)(x[p * 4 + ch] * inv);
			mx = fmax(mx, want[p * 4 + ch]);
		}
		for (int ch = 0; ch < 4; ch++)
			den += exp(want[p * 4 + ch] - mx);
		for (int ch = 0; ch < 4; ch++)
			sm[p * 4 + ch] = (float)(exp(want[p * 4 + ch] - mx) / den);
	}
	int32_t axis = 3;
	tg *b = tg_new();
	input(b, "x", SH(1, 2, 2, 4));
	node(b, "sq", "Square", "x");
	const_i32(b, "axis", 0, NULL, &axis);
	nn_tf_node *s = node(b, "sum", "Sum", "sq,axis");
	a_bool(b, s, "keep_dims", 1);
	scalar_f32(b, "eps", 1e-10f);
	node(b, "max", "Maximum", "sum,eps");
	node(b, "rsqrt", "Rsqrt", "max");
	node(b, "l2", "Mul", "x,rsqrt");
	node(b, "sm", "Softmax", "l2");
	nn_tf_endpoint outs[2] = { { .name = "l2", .tensor = "l2" }, { .name = "sm", .tensor = "sm:0" } };
	nn_tf_build_options o = { .source = "test.pb", .outputs = outs, .n_outputs = 2 };
	check_output(b, &o, x, "l2", SH(1, 2, 2, 4), want, 1e-5f);
	check_output(b, &o, x, "sm", SH(1, 2, 2, 4), sm, 1e-5f);
	tg_free(b);

	/* Sum without keep_dims over two axes. */
	float want2[4];
	for (int ch = 0; ch < 4; ch++)
		want2[ch] = x[ch] + x[4 + ch] + x[8 + ch] + x[12 + ch];
	int32_t axes[2] = { 1, 2 };
	b = tg_new();
	input(b, "x", SH(1, 2, 2, 4));
	const_i32(b, "axes", SH(2), axes);
	node(b, "sum", "Sum", "x,axes");
	check_output(b, NULL, x, "sum", SH(1, 4), want2, 1e-5f);
	tg_free(b);
}

TEST(tf_math_spellings)
{
	float x[6] = { -4.0f, -0.25f, 0.0f, 0.25f, 1.0f, 9.0f }, y[6];
	static const char *const ops[] = { "Neg", "Abs", "Sqrt", "Square" };
	for (size_t k = 0; k < 4; k++) {
		for (int i = 0; i < 6; i++) {
			float v = k == 2 ? fabsf(x[i]) : x[i];
			y[i] = k == 0 ? -v : k == 1 ? fabsf(v) : k == 2 ? sqrtf(v) : v * v;
		}
		float in[6];
		for (int i = 0; i < 6; i++)
			in[i] = k == 2 ? fabsf(x[i]) : x[i];
		tg *b = tg_new();
		input(b, "x", SH(2, 3));
		node(b, "y", ops[k], "x");
		check_output(b, NULL, in, "y", SH(2, 3), y, 1e-6f);
		tg_free(b);
	}

	/* AddN of three, one of them a constant. */
	float c[6] = { 1, 2, 3, 4, 5, 6 }, want[6];
	for (int i = 0; i < 6; i++)
		want[i] = x[i] + x[i] + c[i];
	tg *b = tg_new();
	input(b, "x", SH(2, 3));
	const_f32(b, "c", SH(2, 3), c);
	node(b, "y", "AddN", "x,c,x");
	check_output(b, NULL, x, "y", SH(2, 3), want, 1e-6f);
	tg_free(b);
}

TEST(tf_pack_unpack_slice)
{
	float x[2 * 3];
	fill(x, 6, 9, -1, 1);
	/* Unpack along axis 1 into three [2] vectors, Pack two of them back along axis 0, Slice the middle. */
	tg *b = tg_new();
	input(b, "x", SH(2, 3));
	nn_tf_node *u = node(b, "u", "Unpack", "x");
	a_int(b, u, "num", 3);
	a_int(b, u, "axis", 1);
	nn_tf_node *p = node(b, "p", "Pack", "u:2,u:0");
	a_int(b, p, "axis", 0);
	int32_t begin[2] = { 0, 1 }, size[2] = { -1, 1 };
	const_i32(b, "begin", SH(2), begin);
	const_i32(b, "size", SH(2), size);
	node(b, "s", "Slice", "x,begin,size");
	float want_p[4] = { x[2], x[5], x[0], x[3] }, want_s[2] = { x[1], x[4] }, want_u1[2] = { x[1], x[4] };
	nn_tf_endpoint outs[3] = { { .name = "p", .tensor = "p" }, { .name = "s", .tensor = "s" },
				   { .name = "u:1", .tensor = "u:1" } };
	nn_tf_build_options o = { .source = "test.pb", .outputs = outs, .n_outputs = 3 };
	check_output(b, &o, x, "p", SH(2, 2), want_p, 0);
	check_output(b, &o, x, "s", SH(2, 1), want_s, 0);
	check_output(b, &o, x, "u:1", SH(2), want_u1, 0);
	tg_free(b);
}

/* ---- graph-level behaviour ---- */

TEST(tf_aliases_and_control_inputs)
{
	float x[4] = { -1, 2, -3, 4 }, want[4] = { 0, 2, 0, 4 };
	tg *b = tg_new();
	input(b, "x", SH(4));
	node(b, "init", "NoOp", NULL);
	node(b, "id", "Identity", "x,^init");
	node(b, "sg", "StopGradient", "id");
	node(b, "ids", "IdentityN", "sg,x");
	node(b, "r", "Relu", "ids:0,^init");
	node(b, "out", "Identity", "r");
	check_output(b, NULL, x, "out", SH(4), want, 0);
	/* The aliases add nothing to the IR: one RELU. */
	nn_graph *g;
	char err[512];
	nn_tf_build_options o = { .source = "test.pb" };
	CHECK_MSG(nn_tf_build(&g, &b->g, &o, err, sizeof err) == 0, "%s", err);
	CHECK(g->n_nodes == 1 && g->nodes[0].op == NN_OP_RELU);
	nn_graph_free(g);
	tg_free(b);
}

TEST(tf_constants_of_other_dtypes)
{
	/* int64 becomes int32 (a Reshape's shape), double and half become float32. */
	int64_t shape[2] = { 2, -1 };
	double d[2] = { 0.5, -2.0 };
	uint16_t h[2] = { 0x3c00, 0xc000 }; /* 1.0, -2.0 */
	tg *b = tg_new();
	input(b, "x", SH(4));
	constant(b, "shape", NN_TF_INT64, SH(2), shape);
	node(b, "r", "Reshape", "x,shape");
	constant(b, "d", NN_TF_DOUBLE, SH(2), d);
	constant(b, "h", NN_TF_HALF, SH(2), h);
	node(b, "y", "Mul", "r,d");
	node(b, "z", "Add", "y,h");
	float x[4] = { 1, 2, 3, 4 }, want[4] = { 1.5f, -6.0f, 2.5f, -10.0f };
	check_output(b, NULL, x, "z", SH(2, 2), want, 1e-6f);
	tg_free(b);
}

TEST(tf_control_flow_refused)
{
	/* A TF1 while loop: the message says it is control flow and names the first such node in file order. */
	tg *b = tg_new();
	input(b, "x", SH(1));
	node(b, "loop/Enter", "Enter", "x");
	node(b, "loop/Merge", "Merge", "loop/Enter,loop/Next");
	scalar_f32(b, "one", 1.0f);
	node(b, "loop/Less", "Less", "loop/Merge,one");
	node(b, "loop/LoopCond", "LoopCond", "loop/Less");
	node(b, "loop/Switch", "Switch", "loop/Merge,loop/LoopCond");
	node(b, "loop/Add", "Add", "loop/Switch:1,one");
	node(b, "loop/Next", "NextIteration", "loop/Add");
	node(b, "loop/Exit", "Exit", "loop/Switch");
	expect_error(b, NULL, NN_ERR_UNSUPPORTED,
		     "the graph has TensorFlow control flow (loops or conditionals), which vigil cannot run: node "
		     "'loop/Enter' (op Enter) is the first");
	tg_free(b);

	b = tg_new();
	input(b, "x", SH(1));
	node(b, "w", "StatelessWhile", "x");
	expect_error(b, NULL, NN_ERR_UNSUPPORTED, "node 'w' (op StatelessWhile) is the first");
	tg_free(b);
}

TEST(tf_unsupported_ops_listed_once)
{
	tg *b = tg_new();
	input(b, "x", SH(4));
	node(b, "a", "Erf", "x");
	nn_tf_node *h = node(b, "h", "Relu", "a");
	a_type(b, h, "T", NN_TF_HALF);
	node(b, "b", "Lgamma", "h");
	node(b, "c", "Erf", "b");
	node(b, "d", "Digamma", "c");
	expect_error(b, NULL, NN_ERR_UNSUPPORTED,
		     "node 'a' (op Erf) is not supported (nor are: DT_HALF (node 'h', attribute 'T'), Lgamma (node 'b'), "
		     "Digamma (node 'd'); 5 nodes in all)");
	tg_free(b);

	/* A data type alone, first: named with its node and attribute. */
	b = tg_new();
	input(b, "x", SH(4));
	h = node(b, "h", "Relu", "x");
	a_type(b, h, "T", NN_TF_BFLOAT16);
	expect_error(b, NULL, NN_ERR_UNSUPPORTED, "node 'h' (op Relu): data type DT_BFLOAT16 (attribute 'T') is not supported");
	tg_free(b);
}

TEST(tf_input_sizes)
{
	float x[1 * 2 * 3 * 3] = { 0 };
	/* H and W unknown: the options give them; the batch of -1 becomes 1. */
	tg *b = tg_new();
	input(b, "x", SH(-1, -1, -1, 3));
	node(b, "y", "Relu", "x");
	nn_tf_build_options o = { .source = "test.pb", .input_w = 3, .input_h = 2 };
	float want[18] = { 0 };
	check_output(b, &o, x, "y", SH(1, 2, 3, 3), want, 0);
	/* Without them, the message says how to give them. */
	expect_error(b, NULL, NN_ERR_UNSUPPORTED, "give it with --input-size WxH or the sidecar's \"input_size\"");
	tg_free(b);

	/* No shape at all: with a size it is taken for an image of 3 channels. */
	b = tg_new();
	input(b, "x", -1, NULL);
	node(b, "y", "Relu", "x");
	check_output(b, &o, x, "y", SH(1, 2, 3, 3), want, 0);
	expect_error(b, NULL, NN_ERR_UNSUPPORTED, "the input's shape is unknown");
	tg_free(b);

	/* An endpoint names the input and gives its shape; the IR tensor takes the endpoint's name. */
	b = tg_new();
	input(b, "serving_x", -1, NULL);
	node(b, "y", "Relu", "serving_x");
	nn_tf_endpoint in = { .name = "image", .tensor = "serving_x:0", .rank = 4, .dims = { 1, 2, 3, 3 } };
	nn_tf_endpoint out = { .name = "scores", .tensor = "y", .rank = -1 };
	nn_tf_build_options o2 = { .source = "test.pb", .inputs = &in, .n_inputs = 1, .outputs = &out, .n_outputs = 1 };
	nn_graph *g;
	char err[512];
	CHECK_MSG(nn_tf_build(&g, &b->g, &o2, err, sizeof err) == 0, "%s", err);
	CHECK(g->n_inputs == 1 && !strcmp(g->tensors[g->inputs[0]].name, "image"));
	CHECK(g->n_outputs == 1 && !strcmp(g->tensors[g->outputs[0]].name, "scores"));
	CHECK(g->tensors[g->inputs[0]].rank == 4 && g->tensors[g->inputs[0]].shape[2] == 3);
	nn_graph_free(g);
	tg_free(b);
}

TEST_SUITE(nn_tf_ops,
	   TEST_ENTRY(tf_dequantize_min_combined),
	   TEST_ENTRY(tf_dequantize_min_first_and_axis),
	   TEST_ENTRY(tf_dilated_conv_folds),
	   TEST_ENTRY(tf_fused_batch_norm),
	   TEST_ENTRY(tf_matmul),
	   TEST_ENTRY(tf_l2_normalize_and_softmax),
	   TEST_ENTRY(tf_math_spellings),
	   TEST_ENTRY(tf_pack_unpack_slice),
	   TEST_ENTRY(tf_aliases_and_control_inputs),
	   TEST_ENTRY(tf_constants_of_other_dtypes),
	   TEST_ENTRY(tf_control_flow_refused),
	   TEST_ENTRY(tf_unsupported_ops_listed_once),
	   TEST_ENTRY(tf_input_sizes));
