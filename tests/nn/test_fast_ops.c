/*
 * The speed work of issue 12 must not change a value: a SILU fused into the
 * convolution that feeds it (each native kernel's epilogue, XNNPACK's
 * convolution followed by a SILU pass, and the reference kernel), against a
 * convolution and SiLU worked out here in double precision; and the fusion
 * left alone where it would be wrong.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/backend/native.h"
#include "nn/model.h"
#include "nn_build.h"
#include "test.h"

/* mode 1: reference kernels only; 0: the default choice; -1: the default without the native kernels. */
static nn_model *prepare_graph(nn_graph *g, int mode)
{
	nn_model *m;
	char err[512];
	CHECK_MSG(nn_model_from_graph(&m, g, err, sizeof err) == 0, "%s", err);
	nn_prepare_options opt = { .threads = 1, .reference_only = mode == 1, .no_native = mode == -1 };
	CHECK_MSG(nn_model_prepare(m, &opt, err, sizeof err) == 0, "%s", err);
	return m;
}

/* One convolution layer shape: which native kernel takes it depends on these (native.c). */
typedef struct conv_case {
	const char *what;
	int depthwise;
	int h, w, ci, co, k, stride, pad;
	const char *backend;      /* the default path's backend where the CPU has AVX-512F */
} conv_case;

static const conv_case cases[] = {
	{ "dense 3x3", 0, 9, 11, 16, 40, 3, 1, 1, "native" },
	{ "dense 3x3 stride 2", 0, 10, 9, 24, 33, 3, 2, 1, "native" },
	{ "pointwise 1x1 to 5", 0, 6, 7, 24, 5, 1, 1, 0, "native" },
	{ "stem 3x3 over 3", 0, 12, 10, 3, 24, 3, 2, 1, "native" },
	{ "depthwise 3x3", 1, 9, 13, 40, 40, 3, 1, 1, "native" },
	{ "depthwise 5x5 stride 2", 1, 11, 12, 20, 20, 5, 2, 2, "native" },
	{ "16 outputs (XNNPACK)", 0, 9, 9, 12, 16, 3, 1, 1, "xnnpack" },
};

typedef struct built {
	nn_graph *g;
	int x, filter, bias, conv_out;
} built;

/*
 * x -> CONV2D or DEPTHWISE_CONV2D (explicit padding) -> LOGISTIC and MUL
 * (SiLU spelled out, as ONNX exports it) -> y. With conv_out_is_output the
 * convolution's output is also a graph output, so the SILU must not fuse.
 */
static built build_conv_silu(const conv_case *c, uint32_t seed, int conv_out_is_output)
{
	built b;
	nn_graph *g = b.g = nn_graph_create("conv_silu");
	int oh = (c->h + 2 * c->pad - c->k) / c->stride + 1, ow = (c->w + 2 * c->pad - c->k) / c->stride + 1;
	b.x = tb_tensor(g, "x", NN_F32, 4, 1, c->h, c->w, c->ci);
	b.filter = c->depthwise ? tb_tensor(g, "w", NN_F32, 4, 1, c->k, c->k, c->co)
				: tb_tensor(g, "w", NN_F32, 4, c->co, c->k, c->k, c->ci);
	b.bias = tb_tensor(g, "b", NN_F32, 1, c->co);
	tb_const(g, b.filter, &seed, -0.5f, 0.5f);
	tb_const(g, b.bias, &seed, -1.0f, 1.0f);
	b.conv_out = tb_tensor(g, "conv", NN_F32, 4, 1, oh, ow, c->co);
	int s = tb_tensor(g, "sig", NN_F32, 4, 1, oh, ow, c->co), y = tb_tensor(g, "y", NN_F32, 4, 1, oh, ow, c->co);
	int n = tb_node(g, c->depthwise ? NN_OP_DEPTHWISE_CONV2D : NN_OP_CONV2D, "conv", TB_LIST(b.x, b.filter, b.bias),
			TB_LIST(b.conv_out));
	nn_conv_params *p = &g->nodes[n].p.conv;
	p->stride_h = p->stride_w = c->stride;
	p->dilation_h = p->dilation_w = 1;
	p->padding = NN_PADDING_EXPLICIT;
	p->pad_top = p->pad_bottom = p->pad_left = p->pad_right = c->pad;
	p->depth_multiplier = 1;
	tb_node(g, NN_OP_LOGISTIC, "sigmoid", TB_LIST(b.conv_out), TB_LIST(s));
	tb_node(g, NN_OP_MUL, "mul", TB_LIST(b.conv_out, s), TB_LIST(y));
	if (conv_out_is_output)
		tb_io(g, TB_LIST(b.x), TB_LIST(y, b.conv_out));
	else
		tb_io(g, TB_LIST(b.x), TB_LIST(y));
	return b;
}

/* The convolution and its SiLU in double precision, straight from the definitions. */
static void expected(const conv_case *c, const float *x, const float *w, const float *bias, float *want)
{
	int oh = (c->h + 2 * c->pad - c->k) / c->stride + 1, ow = (c->w + 2 * c->pad - c->k) / c->stride + 1;
	for (int oy = 0; oy < oh; oy++)
		for (int ox = 0; ox < ow; ox++)
			for (int o = 0; o < c->co; o++) {
				double acc = bias[o];
				for (int ky = 0; ky < c->k; ky++)
					for (int kx = 0; kx < c->k; kx++) {
						int iy = oy * c->stride - c->pad + ky, ix = ox * c->stride - c->pad + kx;
						if (iy < 0 || iy >= c->h || ix < 0 || ix >= c->w)
							continue;
						const float *px = x + ((size_t)iy * c->w + ix) * c->ci;
						if (c->depthwise) {
							acc += (double)px[o] * w[((size_t)ky * c->k + kx) * c->co + o];
						} else {
							for (int i = 0; i < c->ci; i++)
								acc += (double)px[i] *
								       w[(((size_t)o * c->k + ky) * c->k + kx) * c->ci + i];
						}
					}
				want[((size_t)oy * ow + ox) * c->co + o] = (float)(acc / (1.0 + exp(-acc)));
			}
}

TEST(conv_silu_fused)
{
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		const conv_case *c = &cases[k];
		for (int mode = 1; mode >= -1; mode--) {
			built b = build_conv_silu(c, 1234u + (uint32_t)k, 0);
			float w[40 * 5 * 5 * 40], bias[64];
			const nn_tensor *wt = &b.g->tensors[b.filter];
			CHECK((size_t)nn_tensor_elements(wt) <= sizeof w / sizeof w[0]);
			memcpy(w, wt->data, nn_tensor_bytes(wt));
			memcpy(bias, b.g->tensors[b.bias].data, nn_tensor_bytes(&b.g->tensors[b.bias]));
			nn_model *m = prepare_graph(b.g, mode);
			const nn_graph *g = nn_model_graph(m);
			CHECK_MSG(g->n_nodes == 1 && g->nodes[0].p.conv.act == NN_ACT_SILU, "%s: %d nodes, act %d",
				  c->what, g->n_nodes, (int)g->nodes[0].p.conv.act);
			const char *backend = nn_model_node_backend(m, 0);
			const char *want_backend = mode == 1			 ? "reference"
						   : mode == -1 || !nn_native_available() ? "xnnpack"
											   : c->backend;
			CHECK_MSG(strcmp(backend, want_backend) == 0, "%s (mode %d) ran on %s, not %s", c->what, mode,
				  backend, want_backend);

			nn_tensor *in = nn_model_input(m, 0);
			uint32_t seed = 99u + (uint32_t)k;
			tb_fill(in, &seed, -3.0f, 3.0f);
			const nn_tensor *out = nn_model_output(m, 0);
			size_t count = (size_t)nn_tensor_elements(out);
			float want[9 * 13 * 40];
			CHECK(count <= sizeof want / sizeof want[0]);
			expected(c, in->data, w, bias, want);
			char err[256];
			CHECK_MSG(nn_model_run(m, err, sizeof err) == 0, "%s", err);
			const float *got = out->data;
			for (size_t i = 0; i < count; i++)
				CHECK_MSG(fabsf(got[i] - want[i]) <= 2e-5f * fmaxf(1.0f, fabsf(want[i])),
					  "%s (mode %d, %s): element %zu: %g, want %g", c->what, mode, backend, i,
					  (double)got[i], (double)want[i]);
			nn_model_free(m);
		}
	}
}

TEST(conv_silu_not_fused_when_read_elsewhere)
{
	/* The convolution's output is also a graph output: it must stay the value before the SiLU. */
	built b = build_conv_silu(&cases[0], 7u, 1);
	nn_model *m = prepare_graph(b.g, 0);
	const nn_graph *g = nn_model_graph(m);
	CHECK_MSG(g->n_nodes == 2, "%d nodes", g->n_nodes);
	CHECK(g->nodes[0].p.conv.act == NN_ACT_NONE && g->nodes[1].op == NN_OP_SILU);
	nn_tensor *in = nn_model_input(m, 0);
	uint32_t seed = 5u;
	tb_fill(in, &seed, -3.0f, 3.0f);
	char err[256];
	CHECK_MSG(nn_model_run(m, err, sizeof err) == 0, "%s", err);
	const nn_tensor *y = nn_model_output(m, 0), *conv = nn_model_output(m, 1);
	const float *yv = y->data, *cv = conv->data;
	int negative = 0;
	for (int64_t i = 0; i < nn_tensor_elements(y); i++) {
		float v = cv[i], s = v / (1.0f + expf(-v));
		negative += v < -0.5f;
		CHECK_MSG(fabsf(yv[i] - s) <= 2e-5f * fmaxf(1.0f, fabsf(s)), "element %lld", (long long)i);
	}
	/* SiLU of those would be above -0.28: the output is the convolution's. */
	CHECK(negative > 0);
	nn_model_free(m);
}


/*
 * YOLOX's Focus on an NCHW input: x[..., dy::2, dx::2] for four (dy, dx),
 * each to NHWC, concatenated on channels in the order given; then, with
 * conv set, a 3x3 convolution (the only reader, whose filter the fusion
 * permutes when the order is not SPACE_TO_DEPTH's).
 */
enum { FC = 3, FH = 8, FW = 10, FO = 5 };

static nn_graph *build_focus(const int dydx[4][2], int conv, int *filter)
{
	nn_graph *g = nn_graph_create("focus");
	int x = tb_tensor(g, "x", NN_F32, 4, 1, FC, FH, FW);
	int parts[4];
	for (int k = 0; k < 4; k++) {
		char name[32];
		snprintf(name, sizeof name, "rows%d", k);
		int r = tb_tensor(g, name, NN_F32, 4, 1, FC, FH / 2, FW);
		snprintf(name, sizeof name, "cols%d", k);
		int c = tb_tensor(g, name, NN_F32, 4, 1, FC, FH / 2, FW / 2);
		snprintf(name, sizeof name, "nhwc%d", k);
		parts[k] = tb_tensor(g, name, NN_F32, 4, 1, FH / 2, FW / 2, FC);
		int ni = tb_node(g, NN_OP_STRIDED_SLICE, "slice_h", TB_LIST(x), TB_LIST(r));
		nn_node *n = &g->nodes[ni];
		for (int d = 0; d < 4; d++)
			n->p.slice.stride[d] = 1;
		n->p.slice.begin[2] = dydx[k][0], n->p.slice.stride[2] = 2;
		ni = tb_node(g, NN_OP_STRIDED_SLICE, "slice_w", TB_LIST(r), TB_LIST(c));
		n = &g->nodes[ni];
		for (int d = 0; d < 4; d++)
			n->p.slice.stride[d] = 1;
		n->p.slice.begin[3] = dydx[k][1], n->p.slice.stride[3] = 2;
		ni = tb_node(g, NN_OP_TRANSPOSE, "to_nhwc", TB_LIST(c), TB_LIST(parts[k]));
		n = &g->nodes[ni];
		n->p.transpose.perm[0] = 0, n->p.transpose.perm[1] = 2, n->p.transpose.perm[2] = 3;
		n->p.transpose.perm[3] = 1;
	}
	int cat = tb_tensor(g, "cat", NN_F32, 4, 1, FH / 2, FW / 2, 4 * FC);
	int ci = tb_node(g, NN_OP_CONCATENATION, "concat", TB_LIST(parts[0], parts[1], parts[2], parts[3]),
			 TB_LIST(cat));
	nn_node *n = &g->nodes[ci];
	n->p.concat.axis = 3;
	if (!conv) {
		tb_io(g, TB_LIST(x), TB_LIST(cat));
		return g;
	}
	*filter = tb_tensor(g, "w", NN_F32, 4, FO, 3, 3, 4 * FC);
	uint32_t seed = 77u;
	tb_const(g, *filter, &seed, -1.0f, 1.0f);
	int y = tb_tensor(g, "y", NN_F32, 4, 1, FH / 2, FW / 2, FO);
	int cv = tb_node(g, NN_OP_CONV2D, "conv", TB_LIST(cat, *filter, -1), TB_LIST(y));
	nn_conv_params *p = &g->nodes[cv].p.conv;
	p->stride_h = p->stride_w = p->dilation_h = p->dilation_w = 1;
	p->padding = NN_PADDING_SAME;
	tb_io(g, TB_LIST(x), TB_LIST(y));
	return g;
}

TEST(focus_becomes_space_to_depth)
{
	static const int yolox[4][2] = { { 0, 0 }, { 1, 0 }, { 0, 1 }, { 1, 1 } };
	static const int s2d[4][2] = { { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 } };
	for (int variant = 0; variant < 3; variant++) {
		const int(*dydx)[2] = variant == 1 ? s2d : yolox;
		int conv = variant != 1, filter = -1;
		for (int mode = 1; mode >= 0; mode--) {
			nn_graph *g = build_focus(dydx, conv, &filter);
			float w[FO * 3 * 3 * 4 * FC];
			if (conv)
				memcpy(w, g->tensors[filter].data, sizeof w);
			if (variant == 2) {
				/* The filter is also read by a second convolution: permuting it would be wrong. */
				int y2 = tb_tensor(g, "y2", NN_F32, 4, 1, FH / 2, FW / 2, FO);
				int cat = g->nodes[g->n_nodes - 1].inputs[0];
				int cv = tb_node(g, NN_OP_CONV2D, "conv2", TB_LIST(cat, filter, -1), TB_LIST(y2));
				nn_conv_params *p = &g->nodes[cv].p.conv;
				p->stride_h = p->stride_w = p->dilation_h = p->dilation_w = 1;
				p->padding = NN_PADDING_SAME;
				g->outputs = realloc(g->outputs, 2 * sizeof *g->outputs);
				CHECK(g->outputs != NULL);
				g->outputs[g->n_outputs++] = y2;
			}
			nn_model *m = prepare_graph(g, mode);
			const nn_graph *pg = nn_model_graph(m);
			int s2d_nodes = 0;
			for (int i = 0; i < pg->n_nodes; i++)
				if (pg->nodes[i].op == NN_OP_SPACE_TO_DEPTH) {
					s2d_nodes++;
					const char *want = mode == 1 ? "reference" : nn_native_available() ? "native" : "reference";
					CHECK_MSG(strcmp(nn_model_node_backend(m, i), want) == 0, "SPACE_TO_DEPTH ran on %s",
						  nn_model_node_backend(m, i));
				}
			CHECK_MSG(s2d_nodes == (variant == 2 ? 0 : 1), "variant %d: %d SPACE_TO_DEPTH nodes of %d",
				  variant, s2d_nodes, pg->n_nodes);
			nn_tensor *in = nn_model_input(m, 0);
			uint32_t seed = 3u;
			tb_fill(in, &seed, -2.0f, 2.0f);
			const float *x = in->data;
			char err[256];
			CHECK_MSG(nn_model_run(m, err, sizeof err) == 0, "%s", err);
			/* The focus image as the concat defines it. */
			float f[FH / 2][FW / 2][4 * FC];
			for (int yy = 0; yy < FH / 2; yy++)
				for (int xx = 0; xx < FW / 2; xx++)
					for (int k = 0; k < 4; k++)
						for (int c = 0; c < FC; c++)
							f[yy][xx][k * FC + c] =
								x[(c * FH + 2 * yy + dydx[k][0]) * FW + 2 * xx + dydx[k][1]];
			const float *got = nn_model_output(m, 0)->data;
			for (int yy = 0; yy < FH / 2; yy++)
				for (int xx = 0; xx < FW / 2; xx++)
					for (int o = 0; o < (conv ? FO : 4 * FC); o++) {
						double want = 0;
						if (!conv) {
							want = f[yy][xx][o];
						} else {
							for (int ky = 0; ky < 3; ky++)
								for (int kx = 0; kx < 3; kx++) {
									int iy = yy + ky - 1, ix = xx + kx - 1;
									if (iy < 0 || iy >= FH / 2 || ix < 0 || ix >= FW / 2)
										continue;
									for (int i = 0; i < 4 * FC; i++)
										want += (double)f[iy][ix][i] *
											w[((o * 3 + ky) * 3 + kx) * 4 * FC + i];
								}
						}
						float v = got[(yy * (FW / 2) + xx) * (conv ? FO : 4 * FC) + o];
						CHECK_MSG(fabs(v - want) <= 1e-4 * fmax(1.0, fabs(want)),
							  "variant %d mode %d: (%d,%d,%d): %g, want %g", variant, mode, yy, xx,
							  o, (double)v, want);
					}
			nn_model_free(m);
		}
	}
}

/* NCHW to NHWC (the native kernels for few and for many channels; pixel counts that are not multiples of 16). */
TEST(transpose_to_nhwc)
{
	static const int shapes[][3] = { { 3, 17, 9 }, { 1, 8, 8 }, { 16, 5, 13 }, { 5, 12, 11 }, { 24, 9, 9 } };
	for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
		const int C = shapes[k][0], H = shapes[k][1], W = shapes[k][2];
		for (int mode = 1; mode >= 0; mode--) {
			nn_graph *g = nn_graph_create("transpose");
			int x = tb_tensor(g, "x", NN_F32, 4, 2, C, H, W), y = tb_tensor(g, "y", NN_F32, 4, 2, H, W, C);
			int ni = tb_node(g, NN_OP_TRANSPOSE, "t", TB_LIST(x), TB_LIST(y));
			int *perm = g->nodes[ni].p.transpose.perm;
			perm[0] = 0, perm[1] = 2, perm[2] = 3, perm[3] = 1;
			for (int d = 4; d < NN_MAX_RANK; d++)
				perm[d] = d;
			tb_io(g, TB_LIST(x), TB_LIST(y));
			nn_model *m = prepare_graph(g, mode);
			/* Up to 16 channels the gather kernel, more the tiled one of native_permute.c. */
			const char *want = mode == 0 && nn_native_available() ? "native" : "reference";
			/* One channel may become a RESHAPE; the values below still hold. */
			if (nn_model_graph(m)->nodes[0].op == NN_OP_TRANSPOSE)
				CHECK_MSG(strcmp(nn_model_node_backend(m, 0), want) == 0, "%dx%dx%d ran on %s", C, H, W,
					  nn_model_node_backend(m, 0));
			nn_tensor *in = nn_model_input(m, 0);
			uint32_t seed = 11u + (uint32_t)k;
			tb_fill(in, &seed, -1.0f, 1.0f);
			char err[256];
			CHECK_MSG(nn_model_run(m, err, sizeof err) == 0, "%s", err);
			const float *xv = in->data, *yv = nn_model_output(m, 0)->data;
			for (int b = 0; b < 2; b++)
				for (int c = 0; c < C; c++)
					for (int i = 0; i < H; i++)
						for (int j = 0; j < W; j++)
							CHECK_MSG(yv[((b * H + i) * W + j) * C + c] ==
									  xv[((b * C + c) * H + i) * W + j],
								  "%dx%dx%d mode %d at %d,%d,%d,%d", C, H, W, mode, b, c, i, j);
			nn_model_free(m);
		}
	}
}

/*
 * NHWC -> NCHW read by two transposes back to NHWC, each feeding an op the
 * layout pass does not move transposes through (a convolution, a pool):
 * both pairs cancel and the values stay.
 */
TEST(transpose_pairs_cancel)
{
	nn_graph *g = nn_graph_create("pairs");
	int x = tb_tensor(g, "x", NN_F32, 4, 1, 4, 5, 6), mid = tb_tensor(g, "mid", NN_F32, 4, 1, 6, 4, 5);
	int b1 = tb_tensor(g, "b1", NN_F32, 4, 1, 4, 5, 6), b2 = tb_tensor(g, "b2", NN_F32, 4, 1, 4, 5, 6);
	int y1 = tb_tensor(g, "y1", NN_F32, 4, 1, 4, 5, 3), y2 = tb_tensor(g, "y2", NN_F32, 4, 1, 2, 2, 6);
	int w = tb_tensor(g, "w", NN_F32, 4, 3, 1, 1, 6);
	uint32_t seed = 8u;
	tb_const(g, w, &seed, -1.0f, 1.0f);
	static const int to_nchw[4] = { 0, 3, 1, 2 }, to_nhwc[4] = { 0, 2, 3, 1 };
	int ni[3] = { tb_node(g, NN_OP_TRANSPOSE, "a", TB_LIST(x), TB_LIST(mid)),
		      tb_node(g, NN_OP_TRANSPOSE, "b1", TB_LIST(mid), TB_LIST(b1)),
		      tb_node(g, NN_OP_TRANSPOSE, "b2", TB_LIST(mid), TB_LIST(b2)) };
	for (int k = 0; k < 3; k++)
		for (int d = 0; d < NN_MAX_RANK; d++)
			g->nodes[ni[k]].p.transpose.perm[d] = d < 4 ? (k ? to_nhwc : to_nchw)[d] : d;
	int cv = tb_node(g, NN_OP_CONV2D, "conv", TB_LIST(b1, w, -1), TB_LIST(y1));
	nn_conv_params *p = &g->nodes[cv].p.conv;
	p->stride_h = p->stride_w = p->dilation_h = p->dilation_w = 1;
	int pl = tb_node(g, NN_OP_MAX_POOL2D, "pool", TB_LIST(b2), TB_LIST(y2));
	nn_pool_params *pp = &g->nodes[pl].p.pool;
	pp->filter_h = pp->filter_w = pp->stride_h = pp->stride_w = 2;
	float wv[18];
	memcpy(wv, g->tensors[w].data, sizeof wv);
	tb_io(g, TB_LIST(x), TB_LIST(y1, y2));
	nn_model *m = prepare_graph(g, 0);
	const nn_graph *pg = nn_model_graph(m);
	for (int i = 0; i < pg->n_nodes; i++)
		CHECK_MSG(pg->nodes[i].op != NN_OP_TRANSPOSE, "node %d of %d is still a TRANSPOSE", i, pg->n_nodes);
	nn_tensor *in = nn_model_input(m, 0);
	seed = 21u;
	tb_fill(in, &seed, -4.0f, 4.0f);
	char err[256];
	CHECK_MSG(nn_model_run(m, err, sizeof err) == 0, "%s", err);
	const float *xv = in->data, *c = nn_model_output(m, 0)->data, *mx = nn_model_output(m, 1)->data;
	for (int px = 0; px < 20; px++)
		for (int o = 0; o < 3; o++) {
			double want = 0;
			for (int i = 0; i < 6; i++)
				want += (double)xv[px * 6 + i] * wv[o * 6 + i];
			CHECK_MSG(fabs(c[px * 3 + o] - want) <= 1e-4, "conv pixel %d channel %d", px, o);
		}
	for (int oy = 0; oy < 2; oy++)
		for (int ox = 0; ox < 2; ox++)
			for (int ch = 0; ch < 6; ch++) {
				float want = -INFINITY;
				for (int dy = 0; dy < 2; dy++)
					for (int dx = 0; dx < 2; dx++)
						want = fmaxf(want, xv[((2 * oy + dy) * 5 + 2 * ox + dx) * 6 + ch]);
				CHECK(mx[(oy * 2 + ox) * 6 + ch] == want);
			}
	nn_model_free(m);
}

TEST_SUITE(nn_fast_ops,
	   TEST_ENTRY(conv_silu_fused),
	   TEST_ENTRY(conv_silu_not_fused_when_read_elsewhere),
	   TEST_ENTRY(focus_becomes_space_to_depth),
	   TEST_ENTRY(transpose_to_nhwc),
	   TEST_ENTRY(transpose_pairs_cancel));
