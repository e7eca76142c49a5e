/*
 * Tests of the reference kernels (src/nn/ref/): tiny graphs built by hand,
 * checked against values computed by hand or documented by TensorFlow, and
 * quantized kernels checked against the float kernel on dequantized values.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "nn/graph.h"
#include "nn/ref/quant.h"
#include "nn/ref/ref.h"
#include "test.h"

/* Building blocks. */

static nn_graph *new_graph(void)
{
	nn_graph *g = nn_graph_create("test_ref");
	CHECK(g != NULL);
	return g;
}

/* Adds a tensor of the given dtype and shape, with zeroed data. */
static int tensor(nn_graph *g, nn_dtype dtype, int rank, ...)
{
	char name[32];
	snprintf(name, sizeof name, "t%d", g->n_tensors);
	int i = nn_graph_add_tensor(g, name);
	CHECK(i >= 0);
	nn_tensor *t = &g->tensors[i];
	t->dtype = dtype;
	t->rank = rank;
	va_list ap;
	va_start(ap, rank);
	for (int d = 0; d < rank; d++)
		t->shape[d] = va_arg(ap, int);
	va_end(ap);
	CHECK(nn_tensor_alloc_const(t) == 0);
	return i;
}

static void quant(nn_graph *g, int t, float scale, int32_t zero_point)
{
	CHECK(nn_tensor_set_quant(&g->tensors[t], 1, 0, &scale, &zero_point) == 0);
}

static void quant_channels(nn_graph *g, int t, int axis, int count, const float *scales)
{
	CHECK(nn_tensor_set_quant(&g->tensors[t], count, axis, scales, NULL) == 0);
}

static float *fdata(nn_graph *g, int t)
{
	return g->tensors[t].data;
}

static void set_f(nn_graph *g, int t, const float *v)
{
	memcpy(g->tensors[t].data, v, nn_tensor_bytes(&g->tensors[t]));
}

static nn_node *node(nn_graph *g, nn_op op, int n_in, const int *in, int n_out, const int *out)
{
	nn_node *n = nn_graph_add_node(g, op, n_in, n_out);
	CHECK(n != NULL);
	memcpy(n->inputs, in, (size_t)n_in * sizeof *in);
	memcpy(n->outputs, out, (size_t)n_out * sizeof *out);
	n->name = strdup("node_under_test");
	CHECK(n->name != NULL);
	return n;
}

static void run(nn_graph *g, const nn_node *n)
{
	char err[512] = "";
	int rc = nn_ref_run(g, n, err, sizeof err);
	CHECK_MSG(rc == 0, "nn_ref_run returned %d: %s", rc, err);
}

static void expect_near(const float *got, const float *want, int count, float tol)
{
	for (int i = 0; i < count; i++)
		CHECK_MSG(fabsf(got[i] - want[i]) <= tol * fmaxf(1.0f, fabsf(want[i])),
			  "element %d: got %.7g, want %.7g", i, (double)got[i], (double)want[i]);
}

static nn_conv_params conv_params(int stride, int dilation, nn_padding padding, nn_activation act)
{
	return (nn_conv_params){ .stride_h = stride, .stride_w = stride, .dilation_h = dilation,
				 .dilation_w = dilation, .padding = padding, .act = act };
}

/* A small deterministic generator, so the "random" tests are reproducible. */
static uint32_t rng_state = 12345;
static float frand(void)
{
	rng_state = rng_state * 1664525u + 1013904223u;
	return (float)(rng_state >> 8) / 16777216.0f * 2.0f - 1.0f;
}

static int qrand(int lo, int hi)
{
	rng_state = rng_state * 1664525u + 1013904223u;
	return lo + (int)((rng_state >> 8) % (uint32_t)(hi - lo + 1));
}

/* Convolutions. */

TEST(ref_conv_3x3_same_and_valid)
{
	nn_graph *g = new_graph();
	int in = tensor(g, NN_F32, 4, 1, 3, 3, 1);
	/* Two output channels: a 3x3 box sum, and 2 * centre + 1 through the bias. */
	int w = tensor(g, NN_F32, 4, 2, 3, 3, 1);
	int b = tensor(g, NN_F32, 1, 2);
	int same = tensor(g, NN_F32, 4, 1, 3, 3, 2);
	int valid = tensor(g, NN_F32, 4, 1, 1, 1, 2);
	set_f(g, in, (float[]){ 1, 2, 3, 4, 5, 6, 7, 8, 9 });
	set_f(g, w, (float[]){ 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 2, 0, 0, 0, 0 });
	set_f(g, b, (float[]){ 0, 1 });
	nn_node *n = node(g, NN_OP_CONV2D, 3, (int[]){ in, w, b }, 1, (int[]){ same });
	n->p.conv = conv_params(1, 1, NN_PADDING_SAME, NN_ACT_NONE);
	run(g, n);
	expect_near(fdata(g, same),
		    (float[]){ 12, 3, 21, 5, 16, 7, 27, 9, 45, 11, 33, 13, 24, 15, 39, 17, 28, 19 }, 18, 1e-6f);

	n = node(g, NN_OP_CONV2D, 3, (int[]){ in, w, b }, 1, (int[]){ valid });
	n->p.conv = conv_params(1, 1, NN_PADDING_VALID, NN_ACT_NONE);
	run(g, n);
	expect_near(fdata(g, valid), (float[]){ 45, 11 }, 2, 1e-6f);

	/* RELU6 fused: the box sums clamp at 6. */
	n = node(g, NN_OP_CONV2D, 3, (int[]){ in, w, b }, 1, (int[]){ valid });
	n->p.conv = conv_params(1, 1, NN_PADDING_VALID, NN_ACT_RELU6);
	run(g, n);
	expect_near(fdata(g, valid), (float[]){ 6, 6 }, 2, 1e-6f);
	nn_graph_free(g);
}

TEST(ref_conv_stride2)
{
	nn_graph *g = new_graph();
	int in = tensor(g, NN_F32, 4, 1, 5, 5, 1);
	int w = tensor(g, NN_F32, 4, 1, 3, 3, 1);
	int valid = tensor(g, NN_F32, 4, 1, 2, 2, 1);
	int same = tensor(g, NN_F32, 4, 1, 3, 3, 1);
	for (int i = 0; i < 25; i++)
		fdata(g, in)[i] = (float)i;
	for (int i = 0; i < 9; i++)
		fdata(g, w)[i] = 1;
	nn_node *n = node(g, NN_OP_CONV2D, 3, (int[]){ in, w, -1 }, 1, (int[]){ valid });
	n->p.conv = conv_params(2, 1, NN_PADDING_VALID, NN_ACT_NONE);
	run(g, n);
	/* Windows centred on (1,1), (1,3), (3,1), (3,3): nine times the centre. */
	expect_near(fdata(g, valid), (float[]){ 54, 72, 144, 162 }, 4, 1e-6f);

	/* SAME, stride 2 on 5: 3 outputs, total padding 2, one pixel each side; windows centred on 0, 2, 4. */
	n = node(g, NN_OP_CONV2D, 2, (int[]){ in, w }, 1, (int[]){ same });
	n->p.conv = conv_params(2, 1, NN_PADDING_SAME, NN_ACT_NONE);
	run(g, n);
	expect_near(fdata(g, same), (float[]){ 12, 27, 24, 63, 108, 81, 72, 117, 84 }, 9, 1e-6f);
	nn_graph_free(g);
}

TEST(ref_conv_dilation2)
{
	nn_graph *g = new_graph();
	int in = tensor(g, NN_F32, 4, 1, 5, 5, 1);
	int w = tensor(g, NN_F32, 4, 1, 2, 2, 1);
	int out = tensor(g, NN_F32, 4, 1, 3, 3, 1);
	for (int i = 0; i < 25; i++)
		fdata(g, in)[i] = (float)i;
	set_f(g, w, (float[]){ 1, 2, 3, 4 });
	nn_node *n = node(g, NN_OP_CONV2D, 2, (int[]){ in, w }, 1, (int[]){ out });
	n->p.conv = conv_params(1, 2, NN_PADDING_VALID, NN_ACT_NONE);
	run(g, n);
	/* in(y,x) = 5y + x; taps at (0,0), (0,2), (2,0), (2,2) give 10 * in(y,x) + 82. */
	float want[9];
	for (int y = 0; y < 3; y++)
		for (int x = 0; x < 3; x++)
			want[y * 3 + x] = 10.0f * (float)(5 * y + x) + 82;
	expect_near(fdata(g, out), want, 9, 1e-6f);
	nn_graph_free(g);
}

/*
 * The test's own oracle for grouped convolution: written from the
 * definition with an explicitly zero-padded input, sharing no code with
 * the kernel.
 */
static void oracle_conv(const float *in, int H, int W, int C, const float *w, int O, int KH, int KW, int I,
			const float *bias, int stride, int dil, int pad, int OH, int OW, float *out)
{
	int PH = H + 2 * pad + 8, PW = W + 2 * pad + 8;
	float padded[64 * 64 * 8];
	CHECK(PH * PW * C <= (int)(sizeof padded / sizeof *padded));
	memset(padded, 0, sizeof padded);
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++)
			for (int c = 0; c < C; c++)
				padded[((y + pad) * PW + x + pad) * C + c] = in[(y * W + x) * C + c];
	int groups = C / I, per_group = O / groups;
	for (int oy = 0; oy < OH; oy++)
		for (int ox = 0; ox < OW; ox++)
			for (int o = 0; o < O; o++) {
				double acc = bias ? bias[o] : 0;
				int g0 = (o / per_group) * I;
				for (int ky = 0; ky < KH; ky++)
					for (int kx = 0; kx < KW; kx++) {
						int py = oy * stride + ky * dil, px = ox * stride + kx * dil;
						for (int i = 0; i < I; i++)
							acc += padded[(py * PW + px) * C + g0 + i] *
							       w[((o * KH + ky) * KW + kx) * I + i];
					}
				out[(oy * OW + ox) * O + o] = (float)acc;
			}
}

TEST(ref_conv_grouped_vs_oracle)
{
	/* 7x6 input, 4 channels in 2 groups, 6 outputs, 3x3 taps, stride 2, dilation 2, explicit padding 2. */
	nn_graph *g = new_graph();
	int in = tensor(g, NN_F32, 4, 1, 7, 6, 4);
	int w = tensor(g, NN_F32, 4, 6, 3, 3, 2);
	int b = tensor(g, NN_F32, 1, 6);
	int out = tensor(g, NN_F32, 4, 1, 4, 3, 6);
	for (int i = 0; i < 7 * 6 * 4; i++)
		fdata(g, in)[i] = frand();
	for (int i = 0; i < 6 * 9 * 2; i++)
		fdata(g, w)[i] = frand();
	for (int i = 0; i < 6; i++)
		fdata(g, b)[i] = frand();
	nn_node *n = node(g, NN_OP_CONV2D, 3, (int[]){ in, w, b }, 1, (int[]){ out });
	n->p.conv = conv_params(2, 2, NN_PADDING_EXPLICIT, NN_ACT_NONE);
	n->p.conv.pad_top = n->p.conv.pad_bottom = n->p.conv.pad_left = n->p.conv.pad_right = 2;
	run(g, n);
	float want[4 * 3 * 6];
	oracle_conv(fdata(g, in), 7, 6, 4, fdata(g, w), 6, 3, 3, 2, fdata(g, b), 2, 2, 2, 4, 3, want);
	expect_near(fdata(g, out), want, 4 * 3 * 6, 1e-5f);
	nn_graph_free(g);
}

TEST(ref_depthwise_multiplier2)
{
	nn_graph *g = new_graph();
	int in = tensor(g, NN_F32, 4, 1, 3, 3, 2);
	int w = tensor(g, NN_F32, 4, 1, 2, 2, 4);
	int b = tensor(g, NN_F32, 1, 4);
	int out = tensor(g, NN_F32, 4, 1, 2, 2, 4);
	/* Channel 0 holds 1..9, channel 1 ten times that. */
	for (int i = 0; i < 9; i++) {
		fdata(g, in)[i * 2] = (float)(i + 1);
		fdata(g, in)[i * 2 + 1] = 10.0f * (float)(i + 1);
	}
	/*
	 * Output channel c*2 + m: (0,0) box sum, (0,1) top-left tap, (1,0) box
	 * sum, (1,1) bottom-right tap. Layout [1, kh, kw, 4].
	 */
	set_f(g, w, (float[]){ 1, 1, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 1 });
	set_f(g, b, (float[]){ 0, 1, 2, 3 });
	nn_node *n = node(g, NN_OP_DEPTHWISE_CONV2D, 3, (int[]){ in, w, b }, 1, (int[]){ out });
	n->p.conv = conv_params(1, 1, NN_PADDING_VALID, NN_ACT_NONE);
	n->p.conv.depth_multiplier = 2;
	run(g, n);
	expect_near(fdata(g, out),
		    (float[]){ 12, 2, 122, 53, 16, 3, 162, 63, 24, 5, 242, 83, 28, 6, 282, 93 }, 16, 1e-6f);
	nn_graph_free(g);
}

TEST(ref_transpose_conv)
{
	nn_graph *g = new_graph();
	int shape_valid = tensor(g, NN_I32, 1, 4);
	int shape_same = tensor(g, NN_I32, 1, 4);
	int w = tensor(g, NN_F32, 4, 1, 3, 3, 1);
	int in = tensor(g, NN_F32, 4, 1, 2, 2, 1);
	int valid = tensor(g, NN_F32, 4, 1, 5, 5, 1);
	int same = tensor(g, NN_F32, 4, 1, 4, 4, 1);
	memcpy(g->tensors[shape_valid].data, (int32_t[]){ 1, 5, 5, 1 }, 16);
	memcpy(g->tensors[shape_same].data, (int32_t[]){ 1, 4, 4, 1 }, 16);
	for (int i = 0; i < 9; i++)
		fdata(g, w)[i] = 1;
	set_f(g, in, (float[]){ 1, 2, 3, 4 });

	/* TFLite's input order: output_shape, filter, input. Each input pixel stamps a 3x3 block at 2*(y, x). */
	nn_node *n = node(g, NN_OP_TRANSPOSE_CONV2D, 3, (int[]){ shape_valid, w, in }, 1, (int[]){ valid });
	n->p.conv = conv_params(2, 1, NN_PADDING_VALID, NN_ACT_NONE);
	run(g, n);
	expect_near(fdata(g, valid),
		    (float[]){ 1, 1, 3, 2, 2, 1, 1, 3, 2, 2, 4, 4, 10, 6, 6, 3, 3, 7, 4, 4, 3, 3, 7, 4, 4 }, 25, 1e-6f);

	/* SAME to 4x4: one pixel of padding in total, cut at the bottom/right as TensorFlow does. */
	n = node(g, NN_OP_TRANSPOSE_CONV2D, 4, (int[]){ shape_same, w, in, -1 }, 1, (int[]){ same });
	n->p.conv = conv_params(2, 0, NN_PADDING_SAME, NN_ACT_NONE);
	run(g, n);
	float want_same[16] = { 1, 1, 3, 2, 1, 1, 3, 2, 4, 4, 10, 6, 3, 3, 7, 4 };
	expect_near(fdata(g, same), want_same, 16, 1e-6f);

	/* The convolution input order (input, filter, bias) is accepted too. */
	memset(fdata(g, same), 0, 64);
	n = node(g, NN_OP_TRANSPOSE_CONV2D, 2, (int[]){ in, w }, 1, (int[]){ same });
	n->p.conv = conv_params(2, 1, NN_PADDING_SAME, NN_ACT_NONE);
	run(g, n);
	expect_near(fdata(g, same), want_same, 16, 1e-6f);

	/* An output_shape that disagrees with the output tensor is a shape error. */
	memcpy(g->tensors[shape_same].data, (int32_t[]){ 1, 4, 5, 1 }, 16);
	n = node(g, NN_OP_TRANSPOSE_CONV2D, 3, (int[]){ shape_same, w, in }, 1, (int[]){ same });
	n->p.conv = conv_params(2, 1, NN_PADDING_SAME, NN_ACT_NONE);
	char err[256];
	CHECK(nn_ref_run(g, n, err, sizeof err) == NN_ERR_SHAPE);
	nn_graph_free(g);
}

TEST(ref_fully_connected)
{
	nn_graph *g = new_graph();
	int in = tensor(g, NN_F32, 2, 2, 3);
	int w = tensor(g, NN_F32, 2, 2, 3);
	int b = tensor(g, NN_F32, 1, 2);
	int out = tensor(g, NN_F32, 2, 2, 2);
	set_f(g, in, (float[]){ 1, 2, 3, -1, -2, -3 });
	set_f(g, w, (float[]){ 1, 0, -1, 0.5f, 0.5f, 0.5f });
	set_f(g, b, (float[]){ 10, -1 });
	nn_node *n = node(g, NN_OP_FULLY_CONNECTED, 3, (int[]){ in, w, b }, 1, (int[]){ out });
	run(g, n);
	expect_near(fdata(g, out), (float[]){ 8, 2, 12, -4 }, 4, 1e-6f);
	n->p.fc.act = NN_ACT_RELU;
	run(g, n);
	expect_near(fdata(g, out), (float[]){ 8, 2, 12, 0 }, 4, 1e-6f);

	/* A [1,2,1,3] input flattens to two rows of 3; keep_num_dims gives [1,2,1,2]. */
	int in4 = tensor(g, NN_F32, 4, 1, 2, 1, 3);
	int out4 = tensor(g, NN_F32, 4, 1, 2, 1, 2);
	set_f(g, in4, (float[]){ 1, 2, 3, -1, -2, -3 });
	n = node(g, NN_OP_FULLY_CONNECTED, 3, (int[]){ in4, w, b }, 1, (int[]){ out4 });
	n->p.fc.keep_num_dims = 1;
	run(g, n);
	expect_near(fdata(g, out4), (float[]){ 8, 2, 12, -4 }, 4, 1e-6f);
	nn_graph_free(g);
}

/* Pools. */

TEST(ref_pool_padding)
{
	nn_graph *g = new_graph();
	int in = tensor(g, NN_F32, 4, 1, 3, 3, 1);
	int out = tensor(g, NN_F32, 4, 1, 2, 2, 1);
	int out3 = tensor(g, NN_F32, 4, 1, 3, 3, 1);
	set_f(g, in, (float[]){ 1, 2, 3, 4, 5, 6, 7, 8, 9 });
	nn_pool_params p = { .filter_h = 2, .filter_w = 2, .stride_h = 2, .stride_w = 2, .padding = NN_PADDING_SAME };

	/* SAME 2x2/2 on 3x3: the padding row and column go after, and do not count in the average. */
	nn_node *n = node(g, NN_OP_AVERAGE_POOL2D, 1, (int[]){ in }, 1, (int[]){ out });
	n->p.pool = p;
	run(g, n);
	expect_near(fdata(g, out), (float[]){ 3, 4.5f, 7.5f, 9 }, 4, 1e-6f);
	n = node(g, NN_OP_MAX_POOL2D, 1, (int[]){ in }, 1, (int[]){ out });
	n->p.pool = p;
	run(g, n);
	expect_near(fdata(g, out), (float[]){ 5, 6, 8, 9 }, 4, 1e-6f);

	/* 3x3/1 SAME: one pixel of padding all round. */
	p.filter_h = p.filter_w = 3, p.stride_h = p.stride_w = 1;
	n = node(g, NN_OP_AVERAGE_POOL2D, 1, (int[]){ in }, 1, (int[]){ out3 });
	n->p.pool = p;
	run(g, n);
	expect_near(fdata(g, out3), (float[]){ 3, 3.5f, 4, 4.5f, 5, 5.5f, 6, 6.5f, 7 }, 9, 1e-6f);

	/* Fused RELU_N1_TO_1 on a max pool. */
	p.act = NN_ACT_RELU_N1_TO_1;
	n = node(g, NN_OP_MAX_POOL2D, 1, (int[]){ in }, 1, (int[]){ out3 });
	n->p.pool = p;
	run(g, n);
	for (int i = 0; i < 9; i++)
		CHECK(fdata(g, out3)[i] == 1.0f);
	nn_graph_free(g);
}

TEST(ref_pool_quantized)
{
	nn_graph *g = new_graph();
	int in = tensor(g, NN_U8, 4, 1, 2, 2, 1);
	int out = tensor(g, NN_U8, 4, 1, 1, 1, 1);
	quant(g, in, 0.5f, 10);
	quant(g, out, 0.5f, 10);
	memcpy(g->tensors[in].data, (uint8_t[]){ 10, 11, 12, 12 }, 4);
	nn_node *n = node(g, NN_OP_AVERAGE_POOL2D, 1, (int[]){ in }, 1, (int[]){ out });
	n->p.pool = (nn_pool_params){ .filter_h = 2, .filter_w = 2, .stride_h = 1, .stride_w = 1 };
	run(g, n);
	/* (10 + 11 + 12 + 12) / 4 = 11.25 -> 11. */
	CHECK(((uint8_t *)g->tensors[out].data)[0] == 11);
	memcpy(g->tensors[in].data, (uint8_t[]){ 10, 11, 12, 13 }, 4);
	run(g, n);
	/* 11.5 rounds up, as TFLite does. */
	CHECK(((uint8_t *)g->tensors[out].data)[0] == 12);
	nn_graph_free(g);
}

/* Elementwise. */

TEST(ref_add_broadcast)
{
	nn_graph *g = new_graph();
	int a = tensor(g, NN_F32, 3, 2, 1, 3);
	int b = tensor(g, NN_F32, 3, 1, 4, 1);
	int out = tensor(g, NN_F32, 3, 2, 4, 3);
	set_f(g, a, (float[]){ 0, 1, 2, 3, 4, 5 });
	set_f(g, b, (float[]){ 10, 20, 30, 40 });
	nn_node *n = node(g, NN_OP_ADD, 2, (int[]){ a, b }, 1, (int[]){ out });
	run(g, n);
	float want[24];
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 4; j++)
			for (int k = 0; k < 3; k++)
				want[(i * 4 + j) * 3 + k] = (float)(i * 3 + k) + 10.0f * (float)(j + 1);
	expect_near(fdata(g, out), want, 24, 0);

	/* The other binary ops, with a rank-0 operand broadcast over a [2,3]. */
	int x = tensor(g, NN_F32, 2, 2, 3);
	int s = tensor(g, NN_F32, 0);
	int y = tensor(g, NN_F32, 2, 2, 3);
	set_f(g, x, (float[]){ -3, -1, 0, 1, 2, 4 });
	fdata(g, s)[0] = 2;
	struct {
		nn_op op;
		float want[6];
	} cases[] = {
		{ NN_OP_SUB, { -5, -3, -2, -1, 0, 2 } },     { NN_OP_MUL, { -6, -2, 0, 2, 4, 8 } },
		{ NN_OP_DIV, { -1.5f, -0.5f, 0, 0.5f, 1, 2 } }, { NN_OP_MAXIMUM, { 2, 2, 2, 2, 2, 4 } },
		{ NN_OP_MINIMUM, { -3, -1, 0, 1, 2, 2 } },     { NN_OP_PRELU, { -6, -2, 0, 1, 2, 4 } },
	};
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		n = node(g, cases[c].op, 2, (int[]){ x, s }, 1, (int[]){ y });
		run(g, n);
		expect_near(fdata(g, y), cases[c].want, 6, 1e-6f);
	}
	/* Fused RELU on SUB. */
	n = node(g, NN_OP_SUB, 2, (int[]){ x, s }, 1, (int[]){ y });
	n->p.act = NN_ACT_RELU;
	run(g, n);
	expect_near(fdata(g, y), (float[]){ 0, 0, 0, 0, 0, 2 }, 6, 0);

	/* Shapes that do not broadcast are refused. */
	int bad = tensor(g, NN_F32, 3, 2, 3, 3);
	n = node(g, NN_OP_ADD, 2, (int[]){ a, b }, 1, (int[]){ bad });
	char err[256];
	CHECK(nn_ref_run(g, n, err, sizeof err) == NN_ERR_SHAPE);
	CHECK_MSG(strstr(err, "node_under_test") && strstr(err, "ADD"), "%s", err);
	nn_graph_free(g);
}

TEST(ref_add_mul_quantized)
{
	nn_graph *g = new_graph();
	int a = tensor(g, NN_U8, 2, 4, 8);
	int b = tensor(g, NN_U8, 1, 8);
	int sum = tensor(g, NN_U8, 2, 4, 8);
	int prod = tensor(g, NN_I8, 2, 4, 8);
	int ai = tensor(g, NN_I8, 2, 4, 8);
	int bi = tensor(g, NN_I8, 1, 8);
	quant(g, a, 0.02f, 128);
	quant(g, b, 0.03f, 100);
	quant(g, sum, 0.04f, 90);
	quant(g, ai, 0.02f, 0);
	quant(g, bi, 0.05f, -3);
	quant(g, prod, 0.01f, 5);
	uint8_t *qa = g->tensors[a].data, *qb = g->tensors[b].data;
	int8_t *qai = g->tensors[ai].data, *qbi = g->tensors[bi].data;
	for (int i = 0; i < 32; i++) {
		qa[i] = (uint8_t)qrand(0, 255);
		qai[i] = (int8_t)qrand(-128, 127);
	}
	for (int i = 0; i < 8; i++) {
		qb[i] = (uint8_t)qrand(0, 255);
		qbi[i] = (int8_t)qrand(-128, 127);
	}
	run(g, node(g, NN_OP_ADD, 2, (int[]){ a, b }, 1, (int[]){ sum }));
	run(g, node(g, NN_OP_MUL, 2, (int[]){ ai, bi }, 1, (int[]){ prod }));
	for (int i = 0; i < 32; i++) {
		double real_sum = 0.02 * (qa[i] - 128) + 0.03 * (qb[i % 8] - 100);
		double want = fmin(255, fmax(0, round(real_sum / 0.04) + 90));
		CHECK_MSG(fabs(((uint8_t *)g->tensors[sum].data)[i] - want) <= 1, "add %d: %d vs %g", i,
			  ((uint8_t *)g->tensors[sum].data)[i], want);
		double real_prod = 0.02 * qai[i] * 0.05 * (qbi[i % 8] + 3);
		want = fmin(127, fmax(-128, round(real_prod / 0.01) + 5));
		CHECK_MSG(fabs(((int8_t *)g->tensors[prod].data)[i] - want) <= 1, "mul %d: %d vs %g", i,
			  ((int8_t *)g->tensors[prod].data)[i], want);
	}
	nn_graph_free(g);
}

TEST(ref_activations)
{
	nn_graph *g = new_graph();
	int in = tensor(g, NN_F32, 1, 6);
	int out = tensor(g, NN_F32, 1, 6);
	float x[6] = { -4, -1.5f, -0.5f, 0, 0.5f, 7 };
	set_f(g, in, x);
	struct {
		nn_op op;
		float want[6];
	} cases[] = {
		{ NN_OP_RELU, { 0, 0, 0, 0, 0.5f, 7 } },
		{ NN_OP_RELU6, { 0, 0, 0, 0, 0.5f, 6 } },
		{ NN_OP_RELU_N1_TO_1, { -1, -1, -0.5f, 0, 0.5f, 1 } },
		{ NN_OP_HARD_SWISH, { 0, -1.5f * 1.5f / 6, -0.5f * 2.5f / 6, 0, 0.5f * 3.5f / 6, 7 } },
		{ NN_OP_LEAKY_RELU, { -0.8f, -0.3f, -0.1f, 0, 0.5f, 7 } },
	};
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		nn_node *n = node(g, cases[c].op, 1, (int[]){ in }, 1, (int[]){ out });
		n->p.leaky_relu.alpha = 0.2f;
		run(g, n);
		expect_near(fdata(g, out), cases[c].want, 6, 1e-6f);
	}
	run(g, node(g, NN_OP_LOGISTIC, 1, (int[]){ in }, 1, (int[]){ out }));
	for (int i = 0; i < 6; i++)
		CHECK(fabsf(fdata(g, out)[i] - 1.0f / (1.0f + expf(-x[i]))) < 1e-6f);
	run(g, node(g, NN_OP_TANH, 1, (int[]){ in }, 1, (int[]){ out }));
	for (int i = 0; i < 6; i++)
		CHECK(fabsf(fdata(g, out)[i] - tanhf(x[i])) < 1e-6f);

	/* Quantized LOGISTIC with TFLite's fixed output encoding (1/256, -128 for int8): within one step. */
	int qin = tensor(g, NN_I8, 1, 256);
	int qout = tensor(g, NN_I8, 1, 256);
	quant(g, qin, 0.0625f, 3);
	quant(g, qout, 1.0f / 256, -128);
	for (int i = 0; i < 256; i++)
		((int8_t *)g->tensors[qin].data)[i] = (int8_t)(i - 128);
	run(g, node(g, NN_OP_LOGISTIC, 1, (int[]){ qin }, 1, (int[]){ qout }));
	for (int i = 0; i < 256; i++) {
		double real = 0.0625 * (i - 128 - 3);
		double want = fmin(127, round(256.0 / (1.0 + exp(-real))) - 128);
		CHECK(fabs(((int8_t *)g->tensors[qout].data)[i] - want) <= 1);
	}
	nn_graph_free(g);
}

/* Tensor ops. */

TEST(ref_mean_axes)
{
	nn_graph *g = new_graph();
	int in = tensor(g, NN_F32, 4, 1, 2, 2, 3);
	int keep = tensor(g, NN_F32, 4, 1, 1, 1, 3);
	int flat = tensor(g, NN_F32, 2, 1, 3);
	for (int i = 0; i < 12; i++)
		fdata(g, in)[i] = (float)i;
	nn_node *n = node(g, NN_OP_MEAN, 1, (int[]){ in }, 1, (int[]){ keep });
	n->p.reduce.n_axes = 2, n->p.reduce.axes[0] = 1, n->p.reduce.axes[1] = 2, n->p.reduce.keep_dims = 1;
	run(g, n);
	/* Channel c averages c, c+3, c+6, c+9. */
	expect_near(fdata(g, keep), (float[]){ 4.5f, 5.5f, 6.5f }, 3, 1e-6f);

	/* Negative axes, without keep_dims. */
	n = node(g, NN_OP_MEAN, 1, (int[]){ in }, 1, (int[]){ flat });
	n->p.reduce.n_axes = 2, n->p.reduce.axes[0] = -3, n->p.reduce.axes[1] = -2;
	run(g, n);
	expect_near(fdata(g, flat), (float[]){ 4.5f, 5.5f, 6.5f }, 3, 1e-6f);

	/* The last axis, axes given as TFLite's second input. */
	int axes = tensor(g, NN_I32, 1, 1);
	int rows = tensor(g, NN_F32, 3, 1, 2, 2);
	((int32_t *)g->tensors[axes].data)[0] = 3;
	n = node(g, NN_OP_MEAN, 2, (int[]){ in, axes }, 1, (int[]){ rows });
	run(g, n);
	expect_near(fdata(g, rows), (float[]){ 1, 4, 7, 10 }, 4, 1e-6f);

	/* A wrong output shape is refused. */
	int bad = tensor(g, NN_F32, 2, 1, 4);
	n = node(g, NN_OP_MEAN, 1, (int[]){ in }, 1, (int[]){ bad });
	n->p.reduce.n_axes = 1, n->p.reduce.axes[0] = 1;
	char err[256];
	CHECK(nn_ref_run(g, n, err, sizeof err) == NN_ERR_SHAPE);

	/* Quantized mean, requantized to other parameters. */
	int qin = tensor(g, NN_U8, 2, 1, 4);
	int qout = tensor(g, NN_U8, 2, 1, 1);
	quant(g, qin, 0.5f, 100);
	quant(g, qout, 0.25f, 50);
	memcpy(g->tensors[qin].data, (uint8_t[]){ 100, 104, 110, 117 }, 4);
	n = node(g, NN_OP_MEAN, 1, (int[]){ qin }, 1, (int[]){ qout });
	n->p.reduce.n_axes = 1, n->p.reduce.axes[0] = 1, n->p.reduce.keep_dims = 1;
	run(g, n);
	/* Real values 0, 2, 5, 8.5: mean 3.875 -> 15.5 steps -> 66. */
	CHECK(((uint8_t *)g->tensors[qout].data)[0] == 66);
	nn_graph_free(g);
}

TEST(ref_softmax)
{
	nn_graph *g = new_graph();
	int in = tensor(g, NN_F32, 2, 2, 3);
	int out = tensor(g, NN_F32, 2, 2, 3);
	set_f(g, in, (float[]){ 1, 2, 3, 1000, 1000, 1000 });
	nn_node *n = node(g, NN_OP_SOFTMAX, 1, (int[]){ in }, 1, (int[]){ out });
	n->p.softmax.beta = 1.0f;
	run(g, n);
	expect_near(fdata(g, out), (float[]){ 0.09003057f, 0.24472847f, 0.66524096f, 1 / 3.0f, 1 / 3.0f, 1 / 3.0f }, 6,
		    1e-6f);
	n->p.softmax.beta = 2.0f;
	run(g, n);
	/* beta scales the logits: softmax(2, 4, 6). */
	expect_near(fdata(g, out), (float[]){ 0.01587624f, 0.11731043f, 0.86681333f }, 3, 1e-6f);
	/* A negative beta reverses the order, without overflow on the large row. */
	n->p.softmax.beta = -1.0f;
	run(g, n);
	expect_near(fdata(g, out),
		    (float[]){ 0.66524096f, 0.24472847f, 0.09003057f, 1 / 3.0f, 1 / 3.0f, 1 / 3.0f }, 6, 1e-6f);

	/* Quantized to TFLite's output encoding for uint8 (1/256, 0). */
	int qin = tensor(g, NN_U8, 1, 3);
	int qout = tensor(g, NN_U8, 1, 3);
	quant(g, qin, 0.1f, 0);
	quant(g, qout, 1.0f / 256, 0);
	memcpy(g->tensors[qin].data, (uint8_t[]){ 10, 20, 30 }, 3);
	n = node(g, NN_OP_SOFTMAX, 1, (int[]){ qin }, 1, (int[]){ qout });
	n->p.softmax.beta = 1.0f;
	run(g, n);
	const uint8_t *q = g->tensors[qout].data;
	CHECK(abs(q[0] - 23) <= 1 && abs(q[1] - 63) <= 1 && abs(q[2] - 170) <= 1);
	nn_graph_free(g);
}

TEST(ref_concat_requantize)
{
	nn_graph *g = new_graph();
	/* Float, axis 1 of three. */
	int a = tensor(g, NN_F32, 3, 2, 1, 2);
	int b = tensor(g, NN_F32, 3, 2, 2, 2);
	int out = tensor(g, NN_F32, 3, 2, 3, 2);
	set_f(g, a, (float[]){ 1, 2, 3, 4 });
	set_f(g, b, (float[]){ 5, 6, 7, 8, 9, 10, 11, 12 });
	nn_node *n = node(g, NN_OP_CONCATENATION, 2, (int[]){ a, b }, 1, (int[]){ out });
	n->p.concat.axis = 1;
	run(g, n);
	expect_near(fdata(g, out), (float[]){ 1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12 }, 12, 0);

	/* Quantized along the last axis (-1), each input with its own scale, requantized to the output's. */
	int qa = tensor(g, NN_U8, 2, 2, 2);
	int qb = tensor(g, NN_U8, 2, 2, 1);
	int qout = tensor(g, NN_U8, 2, 2, 3);
	quant(g, qa, 0.1f, 10);
	quant(g, qb, 0.5f, 0);
	quant(g, qout, 0.2f, 5);
	memcpy(g->tensors[qa].data, (uint8_t[]){ 10, 30, 255, 0 }, 4);
	memcpy(g->tensors[qb].data, (uint8_t[]){ 3, 200 }, 2);
	n = node(g, NN_OP_CONCATENATION, 2, (int[]){ qa, qb }, 1, (int[]){ qout });
	n->p.concat.axis = -1;
	run(g, n);
	/* Reals 0, 2, 24.5, -1 | 1.5, 100 -> /0.2 + 5: 5, 15, 127.5, 0 | 12.5, 505. */
	const uint8_t *q = g->tensors[qout].data;
	uint8_t want[6] = { 5, 15, 13, 128, 0, 255 };
	for (int i = 0; i < 6; i++)
		CHECK_MSG(abs(q[i] - want[i]) <= 1, "element %d: %d vs %d", i, q[i], want[i]);
	/* With RELU fused, the negative real value clamps to 0 (the zero point). */
	n->p.concat.act = NN_ACT_RELU;
	run(g, n);
	CHECK(q[4] == 5);

	/* Inputs that do not add up along the axis are refused. */
	int bad = tensor(g, NN_F32, 3, 2, 4, 2);
	n = node(g, NN_OP_CONCATENATION, 2, (int[]){ a, b }, 1, (int[]){ bad });
	n->p.concat.axis = 1;
	char err[256];
	CHECK(nn_ref_run(g, n, err, sizeof err) == NN_ERR_SHAPE);
	nn_graph_free(g);
}

TEST(ref_reshape_pad)
{
	nn_graph *g = new_graph();
	int in = tensor(g, NN_F32, 2, 2, 3);
	int flat = tensor(g, NN_F32, 1, 6);
	set_f(g, in, (float[]){ 1, 2, 3, 4, 5, 6 });
	run(g, node(g, NN_OP_RESHAPE, 1, (int[]){ in }, 1, (int[]){ flat }));
	expect_near(fdata(g, flat), (float[]){ 1, 2, 3, 4, 5, 6 }, 6, 0);

	int padded = tensor(g, NN_F32, 2, 3, 6);
	nn_node *n = node(g, NN_OP_PAD, 1, (int[]){ in }, 1, (int[]){ padded });
	n->p.pad.pads[0][0] = 1, n->p.pad.pads[1][0] = 2, n->p.pad.pads[1][1] = 1;
	run(g, n);
	expect_near(fdata(g, padded), (float[]){ 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 0, 4, 5, 6, 0 }, 18, 0);

	/* Quantized padding is the zero point. */
	int qin = tensor(g, NN_I8, 1, 2);
	int qout = tensor(g, NN_I8, 1, 4);
	quant(g, qin, 0.5f, -7);
	quant(g, qout, 0.5f, -7);
	memcpy(g->tensors[qin].data, (int8_t[]){ 20, -100 }, 2);
	n = node(g, NN_OP_PAD, 1, (int[]){ qin }, 1, (int[]){ qout });
	n->p.pad.pads[0][0] = 1, n->p.pad.pads[0][1] = 1;
	run(g, n);
	CHECK(memcmp(g->tensors[qout].data, (int8_t[]){ -7, 20, -100, -7 }, 4) == 0);

	/* RESHAPE to a different size is refused. */
	int bad = tensor(g, NN_F32, 1, 5);
	char err[256];
	CHECK(nn_ref_run(g, node(g, NN_OP_RESHAPE, 1, (int[]){ in }, 1, (int[]){ bad }), err, sizeof err) ==
	      NN_ERR_SHAPE);
	nn_graph_free(g);
}

TEST(ref_int32_arith_and_reshape)
{
	nn_graph *g = new_graph();
	/* [2,3] with a [3] row broadcast, values chosen so that ADD, SUB and MUL overflow. */
	int a = tensor(g, NN_I32, 2, 2, 3);
	int b = tensor(g, NN_I32, 1, 3);
	int y = tensor(g, NN_I32, 2, 2, 3);
	memcpy(g->tensors[a].data, (int32_t[]){ INT32_MAX, INT32_MIN, 7, -5, 100000, 3 }, 6 * sizeof(int32_t));
	memcpy(g->tensors[b].data, (int32_t[]){ 1, 1, -9 }, 3 * sizeof(int32_t));
	struct {
		nn_op op;
		int32_t want[6];
	} cases[] = {
		/* INT32_MAX + 1 wraps to INT32_MIN, as in TensorFlow; INT32_MIN - 1 to INT32_MAX. */
		{ NN_OP_ADD, { INT32_MIN, INT32_MIN + 1, -2, -4, 100001, -6 } },
		{ NN_OP_SUB, { INT32_MAX - 1, INT32_MAX, 16, -6, 99999, 12 } },
		{ NN_OP_MUL, { INT32_MAX, INT32_MIN, -63, -5, 100000, -27 } },
		{ NN_OP_MAXIMUM, { INT32_MAX, 1, 7, 1, 100000, 3 } },
		{ NN_OP_MINIMUM, { 1, INT32_MIN, -9, -5, 1, -9 } },
	};
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		nn_node *n = node(g, cases[c].op, 2, (int[]){ a, b }, 1, (int[]){ y });
		n->p.act = NN_ACT_NONE;
		run(g, n);
		const int32_t *got = g->tensors[y].data;
		for (int i = 0; i < 6; i++)
			CHECK_MSG(got[i] == cases[c].want[i], "%s element %d: got %d, want %d", nn_op_name(cases[c].op), i,
				  (int)got[i], (int)cases[c].want[i]);
	}
	/* 100000 * 100000 = 10^10 keeps its low 32 bits: 10^10 - 2 * 2^32 = 1410065408. */
	int s = tensor(g, NN_I32, 0);
	((int32_t *)g->tensors[s].data)[0] = 100000;
	run(g, node(g, NN_OP_MUL, 2, (int[]){ a, s }, 1, (int[]){ y }));
	CHECK(((int32_t *)g->tensors[y].data)[4] == 1410065408);
	CHECK(((int32_t *)g->tensors[y].data)[2] == 700000);

	/* Division truncates toward zero (7 / -9 = 0, 3 / -9 = 0); no mixed dtypes for int32. */
	char err[256];
	run(g, node(g, NN_OP_DIV, 2, (int[]){ a, b }, 1, (int[]){ y }));
	CHECK(memcmp(g->tensors[y].data, (int32_t[]){ INT32_MAX, INT32_MIN, 0, -5, 100000, 0 }, 6 * sizeof(int32_t)) ==
	      0);
	int f = tensor(g, NN_F32, 2, 2, 3);
	CHECK(!nn_ref_supports(g, node(g, NN_OP_ADD, 2, (int[]){ a, b }, 1, (int[]){ f }), err, sizeof err));

	/* RESHAPE copies plain int32 values unchanged. */
	int r = tensor(g, NN_I32, 3, 3, 1, 2);
	run(g, node(g, NN_OP_RESHAPE, 1, (int[]){ a }, 1, (int[]){ r }));
	CHECK(memcmp(g->tensors[r].data, (int32_t[]){ INT32_MAX, INT32_MIN, 7, -5, 100000, 3 }, 6 * sizeof(int32_t)) ==
	      0);
	nn_graph_free(g);
}

TEST(ref_resize_bilinear_modes)
{
	nn_graph *g = new_graph();
	int in = tensor(g, NN_F32, 4, 1, 2, 2, 1);
	int out = tensor(g, NN_F32, 4, 1, 4, 4, 1);
	set_f(g, in, (float[]){ 1, 2, 3, 4 });
	nn_node *n = node(g, NN_OP_RESIZE_BILINEAR, 1, (int[]){ in }, 1, (int[]){ out });

	/* The values tf.image.resize / tf.compat.v1.image.resize_bilinear document for [[1,2],[3,4]] to 4x4. */
	run(g, n);
	expect_near(fdata(g, out), (float[]){ 1, 1.5f, 2, 2, 2, 2.5f, 3, 3, 3, 3.5f, 4, 4, 3, 3.5f, 4, 4 }, 16, 1e-6f);

	n->p.resize.align_corners = 1;
	run(g, n);
	const float t = 1.0f / 3;
	expect_near(fdata(g, out),
		    (float[]){ 1, 1 + t, 1 + 2 * t, 2, 1 + 2 * t, 2, 2 + t, 2 + 2 * t, 2 + t, 2 + 2 * t, 3, 3 + t, 3,
			       3 + t, 3 + 2 * t, 4 },
		    16, 1e-5f);

	n->p.resize.align_corners = 0, n->p.resize.half_pixel_centers = 1;
	run(g, n);
	const float want_half[16] = { 1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f,
				      2.5f, 2.75f, 3.25f, 3.5f, 3, 3.25f, 3.75f, 4 };
	expect_near(fdata(g, out), want_half, 16, 1e-6f);

	/* Both flags at once is what TensorFlow refuses. */
	n->p.resize.align_corners = 1;
	char why[256];
	CHECK(!nn_ref_supports(g, n, why, sizeof why));

	/* Quantized with the same parameters in and out interpolates the integers. */
	int qin = tensor(g, NN_U8, 4, 1, 2, 2, 1);
	int qout = tensor(g, NN_U8, 4, 1, 4, 4, 1);
	quant(g, qin, 0.1f, 0);
	quant(g, qout, 0.1f, 0);
	memcpy(g->tensors[qin].data, (uint8_t[]){ 10, 20, 30, 40 }, 4);
	n = node(g, NN_OP_RESIZE_BILINEAR, 1, (int[]){ qin }, 1, (int[]){ qout });
	n->p.resize.half_pixel_centers = 1;
	run(g, n);
	const uint8_t want_q[16] = { 10, 13, 18, 20, 15, 18, 23, 25, 25, 28, 33, 35, 30, 33, 38, 40 };
	CHECK(memcmp(g->tensors[qout].data, want_q, 16) == 0);
	nn_graph_free(g);
}

TEST(ref_resize_nearest_modes)
{
	nn_graph *g = new_graph();
	int in = tensor(g, NN_F32, 4, 1, 1, 3, 1);
	int out = tensor(g, NN_F32, 4, 1, 1, 5, 1);
	set_f(g, in, (float[]){ 1, 2, 3 });
	nn_node *n = node(g, NN_OP_RESIZE_NEAREST, 1, (int[]){ in }, 1, (int[]){ out });
	/* Scale 0.6: floor(0, 0.6, 1.2, 1.8, 2.4). */
	run(g, n);
	expect_near(fdata(g, out), (float[]){ 1, 1, 2, 2, 3 }, 5, 0);
	/* align_corners, scale 0.5: round(0, 0.5, 1, 1.5, 2) half away from zero. */
	n->p.resize.align_corners = 1;
	run(g, n);
	expect_near(fdata(g, out), (float[]){ 1, 2, 2, 3, 3 }, 5, 0);
	/* half_pixel_centers: floor((x + 0.5) * 0.6) = floor(0.3, 0.9, 1.5, 2.1, 2.7). */
	n->p.resize.align_corners = 0, n->p.resize.half_pixel_centers = 1;
	run(g, n);
	expect_near(fdata(g, out), (float[]){ 1, 1, 2, 3, 3 }, 5, 0);
	nn_graph_free(g);
}

/* Quantized convolutions against the float kernel on the dequantized values. */

static void dequantize_into(nn_graph *g, int q, int f)
{
	const nn_tensor *t = &g->tensors[q];
	int axis = t->quant.axis;
	size_t inner = 1;
	for (int d = axis + 1; d < t->rank; d++)
		inner *= (size_t)t->shape[d];
	for (size_t i = 0; i < (size_t)nn_tensor_elements(t); i++) {
		int c = t->quant.count > 1 ? (int)((i / inner) % (size_t)t->shape[axis]) : 0;
		fdata(g, f)[i] = nn_ref_scale(t, c) * (float)(nn_ref_load_q(t, i) - nn_ref_zero_point(t, c));
	}
}

static void check_within_one_step(nn_graph *g, int q, int f)
{
	const nn_tensor *t = &g->tensors[q];
	int32_t lo, hi;
	nn_ref_dtype_range(t->dtype, &lo, &hi);
	int exact = 0;
	for (size_t i = 0; i < (size_t)nn_tensor_elements(t); i++) {
		float real = fdata(g, f)[i];
		int32_t want = nn_ref_quantize_value(real, nn_ref_scale(t, 0), nn_ref_zero_point(t, 0), lo, hi);
		int32_t got = nn_ref_load_q(t, i);
		CHECK_MSG(abs(got - want) <= 1, "element %zu: quantized %d, float says %d (%g)", i, got, want,
			  (double)fdata(g, f)[i]);
		exact += got == want;
	}
	/* Not clamped into agreement: most values land inside the range and match exactly. */
	CHECK(exact * 10 >= (int)nn_tensor_elements(t) * 9);
}

TEST(ref_conv_uint8_vs_float)
{
	nn_graph *g = new_graph();
	int q_in = tensor(g, NN_U8, 4, 1, 6, 5, 3), f_in = tensor(g, NN_F32, 4, 1, 6, 5, 3);
	int q_w = tensor(g, NN_U8, 4, 4, 3, 3, 3), f_w = tensor(g, NN_F32, 4, 4, 3, 3, 3);
	int q_b = tensor(g, NN_I32, 1, 4), f_b = tensor(g, NN_F32, 1, 4);
	int q_out = tensor(g, NN_U8, 4, 1, 3, 3, 4), f_out = tensor(g, NN_F32, 4, 1, 3, 3, 4);
	quant(g, q_in, 0.05f, 120);
	quant(g, q_w, 0.01f, 130);
	quant(g, q_out, 0.3f, 128);
	quant(g, q_b, 0.05f * 0.01f, 0);
	for (int i = 0; i < 6 * 5 * 3; i++)
		((uint8_t *)g->tensors[q_in].data)[i] = (uint8_t)qrand(0, 255);
	for (int i = 0; i < 4 * 27; i++)
		((uint8_t *)g->tensors[q_w].data)[i] = (uint8_t)qrand(0, 255);
	for (int i = 0; i < 4; i++) {
		((int32_t *)g->tensors[q_b].data)[i] = qrand(-3000, 3000);
		fdata(g, f_b)[i] = (float)((int32_t *)g->tensors[q_b].data)[i] * 0.05f * 0.01f;
	}
	dequantize_into(g, q_in, f_in);
	dequantize_into(g, q_w, f_w);
	nn_conv_params p = conv_params(2, 1, NN_PADDING_SAME, NN_ACT_NONE);
	nn_node *n = node(g, NN_OP_CONV2D, 3, (int[]){ f_in, f_w, f_b }, 1, (int[]){ f_out });
	n->p.conv = p;
	run(g, n);
	n = node(g, NN_OP_CONV2D, 3, (int[]){ q_in, q_w, q_b }, 1, (int[]){ q_out });
	n->p.conv = p;
	run(g, n);
	check_within_one_step(g, q_out, f_out);

	/* With RELU6 fused, the quantized output stays inside quantize(0)..quantize(6). */
	n->p.conv.act = NN_ACT_RELU6;
	run(g, n);
	for (int i = 0; i < 36; i++) {
		int v = ((uint8_t *)g->tensors[q_out].data)[i];
		CHECK(v >= 128 && v <= 148);
	}
	nn_graph_free(g);
}

TEST(ref_conv_int8_per_channel)
{
	nn_graph *g = new_graph();
	const float scales[3] = { 0.002f, 0.01f, 0.03f };
	/* CONV2D: per-channel along axis 0. */
	int q_in = tensor(g, NN_I8, 4, 1, 5, 5, 2), f_in = tensor(g, NN_F32, 4, 1, 5, 5, 2);
	int q_w = tensor(g, NN_I8, 4, 3, 3, 3, 2), f_w = tensor(g, NN_F32, 4, 3, 3, 3, 2);
	int q_b = tensor(g, NN_I32, 1, 3), f_b = tensor(g, NN_F32, 1, 3);
	int q_out = tensor(g, NN_I8, 4, 1, 5, 5, 3), f_out = tensor(g, NN_F32, 4, 1, 5, 5, 3);
	quant(g, q_in, 0.02f, -5);
	quant_channels(g, q_w, 0, 3, scales);
	quant(g, q_out, 0.25f, 3);
	for (int i = 0; i < 50; i++)
		((int8_t *)g->tensors[q_in].data)[i] = (int8_t)qrand(-128, 127);
	for (int i = 0; i < 54; i++)
		((int8_t *)g->tensors[q_w].data)[i] = (int8_t)qrand(-127, 127);
	for (int c = 0; c < 3; c++) {
		((int32_t *)g->tensors[q_b].data)[c] = qrand(-500, 500);
		fdata(g, f_b)[c] = (float)((int32_t *)g->tensors[q_b].data)[c] * 0.02f * scales[c];
	}
	dequantize_into(g, q_in, f_in);
	dequantize_into(g, q_w, f_w);
	nn_conv_params p = conv_params(1, 1, NN_PADDING_SAME, NN_ACT_NONE);
	nn_node *n = node(g, NN_OP_CONV2D, 3, (int[]){ f_in, f_w, f_b }, 1, (int[]){ f_out });
	n->p.conv = p;
	run(g, n);
	n = node(g, NN_OP_CONV2D, 3, (int[]){ q_in, q_w, q_b }, 1, (int[]){ q_out });
	n->p.conv = p;
	run(g, n);
	check_within_one_step(g, q_out, f_out);

	/* DEPTHWISE_CONV2D: per-channel along axis 3 (multiplier 1, three channels)... */
	int dq_in = tensor(g, NN_I8, 4, 1, 4, 4, 3), df_in = tensor(g, NN_F32, 4, 1, 4, 4, 3);
	int dq_w = tensor(g, NN_I8, 4, 1, 3, 3, 3), df_w = tensor(g, NN_F32, 4, 1, 3, 3, 3);
	int dq_out = tensor(g, NN_I8, 4, 1, 2, 2, 3), df_out = tensor(g, NN_F32, 4, 1, 2, 2, 3);
	quant(g, dq_in, 0.02f, 0);
	quant_channels(g, dq_w, 3, 3, scales);
	quant(g, dq_out, 0.1f, -10);
	for (int i = 0; i < 48; i++)
		((int8_t *)g->tensors[dq_in].data)[i] = (int8_t)qrand(-128, 127);
	for (int i = 0; i < 27; i++)
		((int8_t *)g->tensors[dq_w].data)[i] = (int8_t)qrand(-127, 127);
	dequantize_into(g, dq_in, df_in);
	dequantize_into(g, dq_w, df_w);
	p = conv_params(1, 1, NN_PADDING_VALID, NN_ACT_NONE);
	n = node(g, NN_OP_DEPTHWISE_CONV2D, 2, (int[]){ df_in, df_w }, 1, (int[]){ df_out });
	n->p.conv = p;
	run(g, n);
	n = node(g, NN_OP_DEPTHWISE_CONV2D, 3, (int[]){ dq_in, dq_w, -1 }, 1, (int[]){ dq_out });
	n->p.conv = p;
	run(g, n);
	check_within_one_step(g, dq_out, df_out);

	/* ...and FULLY_CONNECTED per-channel along axis 0. */
	int fq_in = tensor(g, NN_I8, 2, 2, 16), ff_in = tensor(g, NN_F32, 2, 2, 16);
	int fq_w = tensor(g, NN_I8, 2, 3, 16), ff_w = tensor(g, NN_F32, 2, 3, 16);
	int fq_out = tensor(g, NN_I8, 2, 2, 3), ff_out = tensor(g, NN_F32, 2, 2, 3);
	quant(g, fq_in, 0.05f, 7);
	quant_channels(g, fq_w, 0, 3, scales);
	quant(g, fq_out, 0.3f, 0);
	for (int i = 0; i < 32; i++)
		((int8_t *)g->tensors[fq_in].data)[i] = (int8_t)qrand(-128, 127);
	for (int i = 0; i < 48; i++)
		((int8_t *)g->tensors[fq_w].data)[i] = (int8_t)qrand(-127, 127);
	dequantize_into(g, fq_in, ff_in);
	dequantize_into(g, fq_w, ff_w);
	run(g, node(g, NN_OP_FULLY_CONNECTED, 2, (int[]){ ff_in, ff_w }, 1, (int[]){ ff_out }));
	run(g, node(g, NN_OP_FULLY_CONNECTED, 2, (int[]){ fq_in, fq_w }, 1, (int[]){ fq_out }));
	check_within_one_step(g, fq_out, ff_out);
	nn_graph_free(g);
}

TEST(ref_transpose_conv_quantized)
{
	nn_graph *g = new_graph();
	int shape = tensor(g, NN_I32, 1, 4);
	memcpy(g->tensors[shape].data, (int32_t[]){ 1, 6, 6, 2 }, 16);
	int q_in = tensor(g, NN_U8, 4, 1, 3, 3, 3), f_in = tensor(g, NN_F32, 4, 1, 3, 3, 3);
	int q_w = tensor(g, NN_U8, 4, 2, 3, 3, 3), f_w = tensor(g, NN_F32, 4, 2, 3, 3, 3);
	int q_out = tensor(g, NN_U8, 4, 1, 6, 6, 2), f_out = tensor(g, NN_F32, 4, 1, 6, 6, 2);
	quant(g, q_in, 0.02f, 128);
	quant(g, q_w, 0.01f, 120);
	quant(g, q_out, 0.05f, 128);
	for (int i = 0; i < 27; i++)
		((uint8_t *)g->tensors[q_in].data)[i] = (uint8_t)qrand(0, 255);
	for (int i = 0; i < 54; i++)
		((uint8_t *)g->tensors[q_w].data)[i] = (uint8_t)qrand(0, 255);
	dequantize_into(g, q_in, f_in);
	dequantize_into(g, q_w, f_w);
	nn_conv_params p = conv_params(2, 1, NN_PADDING_SAME, NN_ACT_NONE);
	nn_node *n = node(g, NN_OP_TRANSPOSE_CONV2D, 3, (int[]){ shape, f_w, f_in }, 1, (int[]){ f_out });
	n->p.conv = p;
	run(g, n);
	n = node(g, NN_OP_TRANSPOSE_CONV2D, 3, (int[]){ shape, q_w, q_in }, 1, (int[]){ q_out });
	n->p.conv = p;
	run(g, n);
	check_within_one_step(g, q_out, f_out);
	nn_graph_free(g);
}

/* QUANTIZE and DEQUANTIZE. */

TEST(ref_dequantize_float16)
{
	nn_graph *g = new_graph();
	int in = tensor(g, NN_F16, 1, 7);
	int out = tensor(g, NN_F32, 1, 7);
	memcpy(g->tensors[in].data, (uint16_t[]){ 0x3C00, 0xC000, 0x7BFF, 0x0001, 0x8000, 0x7C00, 0x3555 }, 14);
	run(g, node(g, NN_OP_DEQUANTIZE, 1, (int[]){ in }, 1, (int[]){ out }));
	const float *f = fdata(g, out);
	CHECK(f[0] == 1.0f);
	CHECK(f[1] == -2.0f);
	CHECK(f[2] == 65504.0f);
	CHECK(f[3] == 0x1p-24f);
	CHECK(f[4] == 0.0f && signbit(f[4]));
	CHECK(isinf(f[5]) && f[5] > 0);
	CHECK(f[6] == 0.333251953125f);

	/* And back: round to nearest even, overflow to infinity, subnormals kept. */
	CHECK(nn_ref_f32_to_f16(1.0f) == 0x3C00);
	CHECK(nn_ref_f32_to_f16(-2.0f) == 0xC000);
	CHECK(nn_ref_f32_to_f16(65504.0f) == 0x7BFF);
	CHECK(nn_ref_f32_to_f16(65520.0f) == 0x7C00);
	CHECK(nn_ref_f32_to_f16(0x1p-24f) == 0x0001);
	CHECK(nn_ref_f32_to_f16(0x1p-25f) == 0x0000);
	CHECK(nn_ref_f32_to_f16(0x1.8p-25f) == 0x0001);
	CHECK(nn_ref_f32_to_f16(1.0f + 0x1p-11f) == 0x3C00);
	CHECK(nn_ref_f32_to_f16(1.0f + 0x1.8p-11f) == 0x3C01);
	for (uint32_t h = 0; h < 0x7C00; h++)
		CHECK(nn_ref_f32_to_f16(nn_ref_f16_to_f32((uint16_t)h)) == h);
	nn_graph_free(g);
}

TEST(ref_quantize_dequantize)
{
	nn_graph *g = new_graph();
	int f = tensor(g, NN_F32, 1, 6);
	int u8 = tensor(g, NN_U8, 1, 6);
	int i8 = tensor(g, NN_I8, 1, 6);
	int back = tensor(g, NN_F32, 1, 6);
	quant(g, u8, 0.5f, 10);
	quant(g, i8, 0.25f, -3);
	set_f(g, f, (float[]){ 0.25f, -0.25f, 1000, -1000, 2.0f, -4.75f });
	run(g, node(g, NN_OP_QUANTIZE, 1, (int[]){ f }, 1, (int[]){ u8 }));
	/* Halves round away from zero: 0.5 -> 1, -0.5 -> -1; then clamping. */
	CHECK(memcmp(g->tensors[u8].data, (uint8_t[]){ 11, 9, 255, 0, 14, 0 }, 6) == 0);

	/* Requantize uint8 -> int8: reals 0.5, -0.5, 122.5, -5, 2, -5 -> /0.25 - 3. */
	run(g, node(g, NN_OP_QUANTIZE, 1, (int[]){ u8 }, 1, (int[]){ i8 }));
	CHECK(memcmp(g->tensors[i8].data, (int8_t[]){ -1, -5, 127, -23, 5, -23 }, 6) == 0);

	run(g, node(g, NN_OP_DEQUANTIZE, 1, (int[]){ i8 }, 1, (int[]){ back }));
	expect_near(fdata(g, back), (float[]){ 0.5f, -0.5f, 32.5f, -5, 2, -5 }, 6, 0);

	/* Per-channel DEQUANTIZE of int8 weights [2,3] along axis 0. */
	int w = tensor(g, NN_I8, 2, 2, 3);
	int wf = tensor(g, NN_F32, 2, 2, 3);
	quant_channels(g, w, 0, 2, (float[]){ 0.5f, 2.0f });
	memcpy(g->tensors[w].data, (int8_t[]){ 1, -2, 3, 1, -2, 3 }, 6);
	run(g, node(g, NN_OP_DEQUANTIZE, 1, (int[]){ w }, 1, (int[]){ wf }));
	expect_near(fdata(g, wf), (float[]){ 0.5f, -1, 1.5f, 2, -4, 6 }, 6, 0);
	nn_graph_free(g);
}

/* TFLite_Detection_PostProcess. */

/*
 * Three anchors. Boxes 0 and 1 overlap heavily (IoU 0.68); box 2 is decoded
 * from a non-zero encoding: centre (0.6, 0.5), size 0.4 x 0.2.
 * Scores (background, class 0, class 1): box 0 (0, .9, .1), box 1 (0, .2,
 * .8), box 2 (0, .6, .4).
 */
typedef struct detpp_case {
	nn_graph *g;
	int enc, cls, anchors, boxes, classes, scores, count;
} detpp_case;

static detpp_case detpp_make(int rows, nn_dtype score_dtype)
{
	detpp_case c;
	nn_graph *g = c.g = new_graph();
	c.enc = tensor(g, NN_F32, 3, 1, 3, 4);
	c.cls = tensor(g, score_dtype, 3, 1, 3, 3);
	c.anchors = tensor(g, NN_F32, 2, 3, 4);
	c.boxes = tensor(g, NN_F32, 3, 1, rows, 4);
	c.classes = tensor(g, NN_F32, 2, 1, rows);
	c.scores = tensor(g, NN_F32, 2, 1, rows);
	c.count = tensor(g, NN_F32, 1, 1);
	set_f(g, c.enc, (float[]){ 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 5 * logf(2), 0 });
	set_f(g, c.anchors, (float[]){ 0.25f, 0.25f, 0.5f, 0.5f, 0.3f, 0.3f, 0.5f, 0.5f, 0.5f, 0.5f, 0.2f, 0.2f });
	const float scores[9] = { 0, 0.9f, 0.1f, 0, 0.2f, 0.8f, 0, 0.6f, 0.4f };
	if (score_dtype == NN_F32) {
		set_f(g, c.cls, scores);
	} else {
		quant(g, c.cls, 0.01f, 0);
		for (int i = 0; i < 9; i++)
			((uint8_t *)g->tensors[c.cls].data)[i] = (uint8_t)lroundf(scores[i] * 100);
	}
	/* Stale values, to show that unused rows are cleared. */
	for (int i = 0; i < rows; i++)
		fdata(g, c.scores)[i] = fdata(g, c.classes)[i] = 7;
	return c;
}

static nn_node *detpp_node(detpp_case *c, int regular, int max_classes)
{
	nn_node *n = node(c->g, NN_OP_DETECTION_POSTPROCESS, 3, (int[]){ c->enc, c->cls, c->anchors }, 4,
			  (int[]){ c->boxes, c->classes, c->scores, c->count });
	n->p.detpp = (nn_detection_postprocess_params){
		.max_detections = 3, .max_classes_per_detection = max_classes, .detections_per_class = 3,
		.use_regular_nms = regular, .nms_score_threshold = 0.3f, .nms_iou_threshold = 0.5f,
		.num_classes = 2, .y_scale = 10, .x_scale = 10, .h_scale = 5, .w_scale = 5,
	};
	return n;
}

static const float box0[4] = { 0, 0, 0.5f, 0.5f }, box1[4] = { 0.05f, 0.05f, 0.55f, 0.55f },
		   box2[4] = { 0.4f, 0.4f, 0.8f, 0.6f }, nobox[4] = { 0, 0, 0, 0 };

static void expect_row(detpp_case *c, int row, const float *box, float cls, float score)
{
	expect_near(fdata(c->g, c->boxes) + row * 4, box, 4, 1e-5f);
	CHECK_MSG(fdata(c->g, c->classes)[row] == cls, "row %d class %g", row, (double)fdata(c->g, c->classes)[row]);
	CHECK_MSG(fabsf(fdata(c->g, c->scores)[row] - score) < 1e-6f, "row %d score %g", row,
		  (double)fdata(c->g, c->scores)[row]);
}

TEST(ref_detpp_fast)
{
	/* Each box's best class: .9 (c0), .8 (c1), .6 (c0). Box 1 loses to box 0 whatever its class. */
	detpp_case c = detpp_make(3, NN_F32);
	run(c.g, detpp_node(&c, 0, 1));
	expect_row(&c, 0, box0, 0, 0.9f);
	expect_row(&c, 1, box2, 0, 0.6f);
	expect_row(&c, 2, nobox, 0, 0);
	CHECK(fdata(c.g, c.count)[0] == 2);
	nn_graph_free(c.g);

	/* Two classes per detection: each selected box fills two rows, best class first. */
	c = detpp_make(6, NN_F32);
	run(c.g, detpp_node(&c, 0, 2));
	expect_row(&c, 0, box0, 0, 0.9f);
	expect_row(&c, 1, box0, 1, 0.1f);
	expect_row(&c, 2, box2, 0, 0.6f);
	expect_row(&c, 3, box2, 1, 0.4f);
	expect_row(&c, 4, nobox, 0, 0);
	expect_row(&c, 5, nobox, 0, 0);
	CHECK(fdata(c.g, c.count)[0] == 2);
	nn_graph_free(c.g);

	/* Quantized class predictions give the same detections. */
	c = detpp_make(3, NN_U8);
	run(c.g, detpp_node(&c, 0, 1));
	expect_row(&c, 0, box0, 0, 0.9f);
	expect_row(&c, 1, box2, 0, 0.6f);
	CHECK(fdata(c.g, c.count)[0] == 2);
	nn_graph_free(c.g);
}

TEST(ref_detpp_regular)
{
	/*
	 * Per class: class 0 keeps boxes 0 (.9) and 2 (.6); class 1 keeps boxes
	 * 1 (.8) and 2 (.4), since box 0 scores under the threshold there. The
	 * best three overall: .9, .8, .6.
	 */
	detpp_case c = detpp_make(3, NN_F32);
	run(c.g, detpp_node(&c, 1, 1));
	expect_row(&c, 0, box0, 0, 0.9f);
	expect_row(&c, 1, box1, 1, 0.8f);
	expect_row(&c, 2, box2, 0, 0.6f);
	CHECK(fdata(c.g, c.count)[0] == 3);

	/* One detection per class: box 0 for class 0, box 1 for class 1. */
	nn_node *n = detpp_node(&c, 1, 1);
	n->p.detpp.detections_per_class = 1;
	run(c.g, n);
	expect_row(&c, 0, box0, 0, 0.9f);
	expect_row(&c, 1, box1, 1, 0.8f);
	expect_row(&c, 2, nobox, 0, 0);
	CHECK(fdata(c.g, c.count)[0] == 2);

	/* A score threshold above everything finds nothing. */
	n = detpp_node(&c, 1, 1);
	n->p.detpp.nms_score_threshold = 0.95f;
	run(c.g, n);
	CHECK(fdata(c.g, c.count)[0] == 0);
	expect_row(&c, 0, nobox, 0, 0);

	/* Outputs with fewer rows than max_detections are refused. */
	n = detpp_node(&c, 1, 1);
	n->p.detpp.max_detections = 4;
	char err[256];
	CHECK(nn_ref_run(c.g, n, err, sizeof err) == NN_ERR_SHAPE);
	nn_graph_free(c.g);
}

/* Refusals. */

TEST(ref_unsupported_and_shape_errors)
{
	nn_graph *g = new_graph();
	int in = tensor(g, NN_I16, 4, 1, 3, 3, 1);
	int w = tensor(g, NN_I16, 4, 1, 3, 3, 1);
	int out = tensor(g, NN_I16, 4, 1, 1, 1, 1);
	quant(g, in, 1, 0);
	quant(g, w, 1, 0);
	quant(g, out, 1, 0);
	nn_node *n = node(g, NN_OP_CONV2D, 2, (int[]){ in, w }, 1, (int[]){ out });
	n->p.conv = conv_params(1, 1, NN_PADDING_VALID, NN_ACT_NONE);
	char why[256] = "", err[256] = "";
	CHECK(!nn_ref_supports(g, n, why, sizeof why));
	CHECK_MSG(strstr(why, "CONV2D") && strstr(why, "int16 input is not supported"), "%s", why);
	CHECK(nn_ref_run(g, n, err, sizeof err) == NN_ERR_UNSUPPORTED);
	CHECK_MSG(strstr(err, "int16 input is not supported"), "%s", err);

	/* A float conv whose output tensor has the wrong spatial size: refused, naming the node. */
	int fin = tensor(g, NN_F32, 4, 1, 4, 4, 1);
	int fw = tensor(g, NN_F32, 4, 1, 3, 3, 1);
	int fout = tensor(g, NN_F32, 4, 1, 3, 3, 1);
	n = node(g, NN_OP_CONV2D, 2, (int[]){ fin, fw }, 1, (int[]){ fout });
	n->p.conv = conv_params(1, 1, NN_PADDING_VALID, NN_ACT_NONE);
	CHECK(nn_ref_run(g, n, err, sizeof err) == NN_ERR_SHAPE);
	CHECK_MSG(strstr(err, "node_under_test") && strstr(err, "[1,2,2,1]"), "%s", err);

	/* A filter whose channels do not match the input. */
	int fw2 = tensor(g, NN_F32, 4, 1, 3, 3, 3);
	n = node(g, NN_OP_CONV2D, 2, (int[]){ fin, fw2 }, 1, (int[]){ fout });
	n->p.conv = conv_params(1, 1, NN_PADDING_SAME, NN_ACT_NONE);
	CHECK(nn_ref_run(g, n, err, sizeof err) == NN_ERR_SHAPE);

	/* A zero stride, a quantized tensor without parameters, an unknown op, a dangling tensor index. */
	n = node(g, NN_OP_CONV2D, 2, (int[]){ fin, fw }, 1, (int[]){ fout });
	n->p.conv = conv_params(0, 1, NN_PADDING_SAME, NN_ACT_NONE);
	CHECK(nn_ref_run(g, n, err, sizeof err) == NN_ERR_UNSUPPORTED);
	int raw = tensor(g, NN_U8, 1, 4);
	int raw_out = tensor(g, NN_U8, 1, 4);
	CHECK(!nn_ref_supports(g, node(g, NN_OP_RELU, 1, (int[]){ raw }, 1, (int[]){ raw_out }), why, sizeof why));
	CHECK_MSG(strstr(why, "quantization"), "%s", why);
	n = node(g, NN_OP_RELU, 1, (int[]){ fin }, 1, (int[]){ fout });
	n->op = NN_OP_COUNT;
	CHECK(nn_ref_run(g, n, err, sizeof err) == NN_ERR_UNSUPPORTED);
	n = node(g, NN_OP_RELU, 1, (int[]){ g->n_tensors + 5 }, 1, (int[]){ fout });
	CHECK(nn_ref_run(g, n, err, sizeof err) == NN_ERR_UNSUPPORTED);

	/* A tensor without data. */
	int empty = nn_graph_add_tensor(g, "no_data");
	g->tensors[empty].rank = 1, g->tensors[empty].shape[0] = 4;
	CHECK(nn_ref_run(g, node(g, NN_OP_RELU, 1, (int[]){ empty }, 1, (int[]){ empty }), err, sizeof err) ==
	      NN_ERR_ARG);
	nn_graph_free(g);
}

TEST_SUITE(nn_ref,
	   TEST_ENTRY(ref_conv_3x3_same_and_valid),
	   TEST_ENTRY(ref_conv_stride2),
	   TEST_ENTRY(ref_conv_dilation2),
	   TEST_ENTRY(ref_conv_grouped_vs_oracle),
	   TEST_ENTRY(ref_depthwise_multiplier2),
	   TEST_ENTRY(ref_transpose_conv),
	   TEST_ENTRY(ref_fully_connected),
	   TEST_ENTRY(ref_pool_padding),
	   TEST_ENTRY(ref_pool_quantized),
	   TEST_ENTRY(ref_add_broadcast),
	   TEST_ENTRY(ref_add_mul_quantized),
	   TEST_ENTRY(ref_activations),
	   TEST_ENTRY(ref_mean_axes),
	   TEST_ENTRY(ref_softmax),
	   TEST_ENTRY(ref_concat_requantize),
	   TEST_ENTRY(ref_reshape_pad),
	   TEST_ENTRY(ref_int32_arith_and_reshape),
	   TEST_ENTRY(ref_resize_bilinear_modes),
	   TEST_ENTRY(ref_resize_nearest_modes),
	   TEST_ENTRY(ref_conv_uint8_vs_float),
	   TEST_ENTRY(ref_conv_int8_per_channel),
	   TEST_ENTRY(ref_transpose_conv_quantized),
	   TEST_ENTRY(ref_dequantize_float16),
	   TEST_ENTRY(ref_quantize_dequantize),
	   TEST_ENTRY(ref_detpp_fast),
	   TEST_ENTRY(ref_detpp_regular),
	   TEST_ENTRY(ref_unsupported_and_shape_errors));
