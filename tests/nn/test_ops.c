/*
 * XNNPACK and the native kernels against the reference kernels, op by op
 * and dtype by dtype. Each test builds a one-node graph with seeded random
 * weights, prepares it five times (reference only; XNNPACK on one and on two
 * threads; the default choice, which takes a native kernel where one fits, on
 * one and on two threads), feeds all five the same seeded random inputs and
 * compares the outputs:
 *
 * - float32: |got - reference| <= 1e-4 * max(1, |reference|) on every
 *   element (XNNPACK and the native kernels sum in another order and with
 *   FMA; exp-based ops use polynomial approximations, for which a test may
 *   state a looser bound);
 * - quantized: within one quantization step on every element. The reference
 *   computes through real values with exact rounding, XNNPACK in fixed point,
 *   so a value that lies near a rounding boundary may land on either side.
 *
 * Every test also checks that the node really ran on XNNPACK when the
 * native kernels were left out; the ops_native_ tests check that their node
 * ran on a native kernel.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/model.h"
#include "nn/backend/native.h"
#include "nn_build.h"
#include "test.h"

typedef nn_graph *(*builder)(const void *arg);

typedef struct tolerance {
	float f32;    /* relative-or-absolute bound for float outputs */
	int steps;    /* bound in quantization steps for 8-bit outputs */
} tolerance;

static const tolerance default_tol = { 1e-4f, 1 };

/* Input value ranges: floats uniform in [lo, hi); 8-bit integers over their whole range unless narrowed. */
typedef struct input_range {
	float lo, hi;
} input_range;

static nn_model *prepare(builder build, const void *arg, int reference_only, int no_native, int threads)
{
	nn_model *m;
	char err[512];
	CHECK_MSG(nn_model_from_graph(&m, build(arg), err, sizeof err) == 0, "%s", err);
	nn_prepare_options opt = { .threads = threads, .reference_only = reference_only, .no_native = no_native };
	CHECK_MSG(nn_model_prepare(m, &opt, err, sizeof err) == 0, "%s", err);
	return m;
}

static void fill_inputs(nn_model *m, const input_range *ranges)
{
	uint32_t seed = 12345;
	for (int i = 0; i < nn_model_input_count(m); i++) {
		nn_tensor *t = nn_model_input(m, i);
		float lo = ranges ? ranges[i].lo : 0, hi = ranges ? ranges[i].hi : 0;
		if (lo == hi) {
			lo = t->dtype == NN_U8 ? 0 : t->dtype == NN_I8 ? -128 : -3;
			hi = t->dtype == NN_U8 ? 255 : t->dtype == NN_I8 ? 127 : 3;
		}
		tb_fill(t, &seed, lo, hi);
	}
}

static void compare(const char *what, const nn_tensor *ref, const nn_tensor *got, tolerance tol)
{
	int64_t n = nn_tensor_elements(ref);
	CHECK(n == nn_tensor_elements(got) && ref->dtype == got->dtype);
	int64_t bad = 0, first_bad = -1;
	double worst = 0;
	for (int64_t i = 0; i < n; i++) {
		double r, x, lim;
		switch (ref->dtype) {
		case NN_F32:
			r = ((const float *)ref->data)[i];
			x = ((const float *)got->data)[i];
			lim = tol.f32 * fmax(1.0, fabs(r));
			break;
		case NN_U8:
			r = ((const uint8_t *)ref->data)[i];
			x = ((const uint8_t *)got->data)[i];
			lim = tol.steps;
			break;
		case NN_I8:
			r = ((const int8_t *)ref->data)[i];
			x = ((const int8_t *)got->data)[i];
			lim = tol.steps;
			break;
		default:
			CHECK(!"compare: dtype not handled");
			return;
		}
		double d = fabs(r - x);
		if (!(d <= lim)) {
			if (first_bad < 0)
				first_bad = i;
			bad++;
		}
		if (d > worst || d != d)
			worst = d;
	}
	/*
	 * A comparison says little if the reference output is constant or mostly
	 * clipped to the type's limits: the cases are sized so that it is not.
	 */
	int64_t clipped = 0, varied = 0;
	for (int64_t i = 0; i < n; i++) {
		if (ref->dtype == NN_F32) {
			varied += ((const float *)ref->data)[i] != ((const float *)ref->data)[0];
		} else if (ref->dtype == NN_U8) {
			uint8_t v = ((const uint8_t *)ref->data)[i];
			varied += v != ((const uint8_t *)ref->data)[0];
			clipped += v == 0 || v == 255;
		} else {
			int8_t v = ((const int8_t *)ref->data)[i];
			varied += v != ((const int8_t *)ref->data)[0];
			clipped += v == -128 || v == 127;
		}
	}
	CHECK_MSG(varied > 0 && clipped * 4 <= n, "%s: degenerate reference output (%lld of %lld clipped)", what,
		  (long long)clipped, (long long)n);
	if (bad) {
		double r = 0, x = 0;
		if (ref->dtype == NN_F32) {
			r = ((const float *)ref->data)[first_bad];
			x = ((const float *)got->data)[first_bad];
		} else if (ref->dtype == NN_U8) {
			r = ((const uint8_t *)ref->data)[first_bad];
			x = ((const uint8_t *)got->data)[first_bad];
		} else {
			r = ((const int8_t *)ref->data)[first_bad];
			x = ((const int8_t *)got->data)[first_bad];
		}
		CHECK_MSG(0, "%s: %lld of %lld elements out of tolerance, worst difference %g; first at %lld: reference %g, "
			     "got %g",
			  what, (long long)bad, (long long)n, worst, (long long)first_bad, r, x);
	}
}

/*
 * Runs the five preparations of one graph and compares their outputs. With
 * want_native set, the default preparations must have put every node on a
 * native kernel.
 */
static void check_op_on(builder build, const void *arg, const input_range *ranges, tolerance tol, int want_native)
{
	enum { N_PREP = 5 };
	static const char *const what[N_PREP] = { "reference", "XNNPACK, 1 thread", "XNNPACK, 2 threads",
						  "default, 1 thread", "default, 2 threads" };
	nn_model *models[N_PREP] = {
		prepare(build, arg, 1, 1, 1), prepare(build, arg, 0, 1, 1), prepare(build, arg, 0, 1, 2),
		prepare(build, arg, 0, 0, 1), prepare(build, arg, 0, 0, 2),
	};
	char err[512];
	for (int k = 0; k < N_PREP; k++) {
		const nn_graph *g = nn_model_graph(models[k]);
		const char *want = k == 1 || k == 2 ? "xnnpack" : k >= 3 && want_native ? "native" : NULL;
		for (int i = 0; want && i < g->n_nodes; i++)
			CHECK_MSG(strcmp(nn_model_node_backend(models[k], i), want) == 0, "%s: node %d (%s) ran on %s",
				  what[k], i, nn_op_name(g->nodes[i].op), nn_model_node_backend(models[k], i));
		fill_inputs(models[k], ranges);
		CHECK_MSG(nn_model_run(models[k], err, sizeof err) == 0, "%s", err);
	}
	for (int o = 0; o < nn_model_output_count(models[0]); o++)
		for (int k = 1; k < N_PREP; k++)
			compare(what[k], nn_model_output(models[0], o), nn_model_output(models[k], o), tol);
	for (int k = 0; k < N_PREP; k++)
		nn_model_free(models[k]);
}

static void check_op(builder build, const void *arg, const input_range *ranges, tolerance tol)
{
	check_op_on(build, arg, ranges, tol, 0);
}

/* Runs one case through check_op_on, requiring its node on a native kernel; skips on CPUs without AVX-512F. */
static void check_native(builder build, const void *arg)
{
	if (!nn_native_available())
		SKIP("this CPU has no AVX-512F, so no node runs on a native kernel");
	check_op_on(build, arg, NULL, default_tol, 1);
}

/* Quantizes a tensor with the typical parameters of the tests: zero point mid-range for uint8. */
static void quant_like(nn_graph *g, int t, float scale, int32_t u8_zero_point, int32_t i8_zero_point)
{
	tb_quant(g, t, scale, g->tensors[t].dtype == NN_U8 ? u8_zero_point : i8_zero_point);
}

static int window_out(int in, int k, int stride, int dilation, nn_padding padding, int before, int after)
{
	int eff = (k - 1) * dilation + 1;
	switch (padding) {
	case NN_PADDING_SAME: return (in + stride - 1) / stride;
	case NN_PADDING_VALID: return (in - eff) / stride + 1;
	default: return (in + before + after - eff) / stride + 1;
	}
}

/* CONV2D and DEPTHWISE_CONV2D. */
typedef struct conv_case {
	nn_op op;
	nn_dtype dt;
	int per_channel; /* int8 filter scales per output channel */
	int n, h, w, c;
	int out_c;       /* CONV2D: output channels; DEPTHWISE_CONV2D: the multiplier */
	int groups;      /* CONV2D: filter input channels = c / groups */
	int kh, kw, stride, dilation;
	nn_padding padding;
	int pad[4];      /* top, bottom, left, right for NN_PADDING_EXPLICIT */
	nn_activation act;
	int no_bias;
} conv_case;

static nn_graph *build_conv(const void *arg)
{
	const conv_case *cc = arg;
	uint32_t seed = 42;
	int dw = cc->op == NN_OP_DEPTHWISE_CONV2D;
	int groups = cc->groups ? cc->groups : 1;
	int oc = dw ? cc->c * cc->out_c : cc->out_c;
	int stride = cc->stride ? cc->stride : 1, dil = cc->dilation ? cc->dilation : 1;
	int oh = window_out(cc->h, cc->kh, stride, dil, cc->padding, cc->pad[0], cc->pad[1]);
	int ow = window_out(cc->w, cc->kw, stride, dil, cc->padding, cc->pad[2], cc->pad[3]);
	nn_graph *g = nn_graph_create("ops");
	nn_dtype dt = cc->dt;
	int x = tb_tensor(g, "x", dt, 4, cc->n, cc->h, cc->w, cc->c);
	int w = dw ? tb_tensor(g, "w", dt, 4, 1, cc->kh, cc->kw, oc)
		   : tb_tensor(g, "w", dt, 4, oc, cc->kh, cc->kw, cc->c / groups);
	int b = cc->no_bias ? -1 : tb_tensor(g, "b", dt == NN_F32 ? NN_F32 : NN_I32, 1, oc);
	int y = tb_tensor(g, "y", dt, 4, cc->n, oh, ow, oc);
	int taps = cc->kh * cc->kw * (dw ? 1 : cc->c / groups);
	if (dt == NN_F32) {
		tb_const(g, w, &seed, -1, 1);
		if (b >= 0)
			tb_const(g, b, &seed, -1, 1);
	} else {
		float in_scale = 0.05f, w_scale = 0.02f;
		quant_like(g, x, in_scale, 128, -5);
		if (cc->per_channel) {
			float *scales = malloc((size_t)oc * sizeof *scales);
			int32_t *zps = calloc((size_t)oc, sizeof *zps);
			for (int i = 0; i < oc; i++)
				scales[i] = tb_uniform(&seed, 0.005f, 0.035f);
			CHECK(nn_tensor_set_quant(&g->tensors[w], oc, dw ? 3 : 0, scales, zps) == 0);
			free(scales);
			free(zps);
		} else {
			quant_like(g, w, w_scale, 120, 0);
		}
		tb_const(g, w, &seed, dt == NN_U8 ? 0 : -127, dt == NN_U8 ? 255 : 127);
		if (b >= 0) {
			tb_const(g, b, &seed, -3000, 3000);
			tb_quant(g, b, in_scale * w_scale, 0);
		}
		/* Accumulators have a spread of about sqrt(taps) * 74 * 73: aim the output at +-40 steps. */
		quant_like(g, y, in_scale * w_scale * sqrtf((float)taps) * 135, 100, -10);
	}
	int node = tb_node(g, cc->op, "conv", TB_LIST(x, w, b), TB_LIST(y));
	g->nodes[node].p.conv = (nn_conv_params){ .stride_h = stride, .stride_w = stride, .dilation_h = dil,
						  .dilation_w = dil, .padding = cc->padding, .pad_top = cc->pad[0],
						  .pad_bottom = cc->pad[1], .pad_left = cc->pad[2],
						  .pad_right = cc->pad[3], .depth_multiplier = dw ? cc->out_c : 0,
						  .act = cc->act };
	tb_io(g, TB_LIST(x), TB_LIST(y));
	return g;
}

static void conv(conv_case cc)
{
	check_op(build_conv, &cc, NULL, default_tol);
}

TEST(ops_conv_f32_same_stride1_bias)
{
	conv((conv_case){ .op = NN_OP_CONV2D, .dt = NN_F32, .n = 1, .h = 7, .w = 9, .c = 5, .out_c = 6, .kh = 3, .kw = 3,
			  .padding = NN_PADDING_SAME });
}

TEST(ops_conv_f32_valid_stride2_no_bias)
{
	conv((conv_case){ .op = NN_OP_CONV2D, .dt = NN_F32, .n = 2, .h = 11, .w = 8, .c = 3, .out_c = 8, .kh = 3, .kw = 2,
			  .stride = 2, .padding = NN_PADDING_VALID, .no_bias = 1 });
}

/* 8 and 10 at stride 2 with a 3x3 filter need one pixel of padding: TensorFlow puts it at the bottom/right. */
TEST(ops_conv_f32_same_stride2_odd_padding)
{
	conv((conv_case){ .op = NN_OP_CONV2D, .dt = NN_F32, .n = 1, .h = 8, .w = 10, .c = 4, .out_c = 5, .kh = 3, .kw = 3,
			  .stride = 2, .padding = NN_PADDING_SAME, .act = NN_ACT_RELU });
}

TEST(ops_conv_f32_explicit_padding)
{
	conv((conv_case){ .op = NN_OP_CONV2D, .dt = NN_F32, .n = 1, .h = 6, .w = 5, .c = 3, .out_c = 4, .kh = 3, .kw = 3,
			  .padding = NN_PADDING_EXPLICIT, .pad = { 1, 2, 0, 1 } });
}

TEST(ops_conv_f32_dilation2_relu6)
{
	conv((conv_case){ .op = NN_OP_CONV2D, .dt = NN_F32, .n = 1, .h = 10, .w = 9, .c = 3, .out_c = 7, .kh = 3, .kw = 3,
			  .dilation = 2, .padding = NN_PADDING_SAME, .act = NN_ACT_RELU6 });
}

TEST(ops_conv_f32_1x1)
{
	conv((conv_case){ .op = NN_OP_CONV2D, .dt = NN_F32, .n = 1, .h = 5, .w = 5, .c = 16, .out_c = 24, .kh = 1, .kw = 1,
			  .padding = NN_PADDING_VALID, .act = NN_ACT_RELU_N1_TO_1 });
}

TEST(ops_conv_f32_grouped)
{
	conv((conv_case){ .op = NN_OP_CONV2D, .dt = NN_F32, .n = 1, .h = 6, .w = 6, .c = 8, .out_c = 12, .groups = 4,
			  .kh = 3, .kw = 3, .padding = NN_PADDING_SAME });
}

TEST(ops_conv_f32_large_threads)
{
	conv((conv_case){ .op = NN_OP_CONV2D, .dt = NN_F32, .n = 1, .h = 33, .w = 31, .c = 24, .out_c = 40, .kh = 3,
			  .kw = 3, .stride = 1, .padding = NN_PADDING_SAME, .act = NN_ACT_RELU6 });
}

TEST(ops_depthwise_f32_mult1_same)
{
	conv((conv_case){ .op = NN_OP_DEPTHWISE_CONV2D, .dt = NN_F32, .n = 1, .h = 8, .w = 7, .c = 6, .out_c = 1,
			  .kh = 3, .kw = 3, .padding = NN_PADDING_SAME, .act = NN_ACT_RELU6 });
}

TEST(ops_depthwise_f32_mult2_stride2)
{
	conv((conv_case){ .op = NN_OP_DEPTHWISE_CONV2D, .dt = NN_F32, .n = 2, .h = 8, .w = 9, .c = 3, .out_c = 2,
			  .kh = 3, .kw = 3, .stride = 2, .padding = NN_PADDING_SAME });
}

TEST(ops_depthwise_f32_dilation2_valid)
{
	conv((conv_case){ .op = NN_OP_DEPTHWISE_CONV2D, .dt = NN_F32, .n = 1, .h = 11, .w = 10, .c = 5, .out_c = 1,
			  .kh = 3, .kw = 3, .dilation = 2, .padding = NN_PADDING_VALID, .no_bias = 1 });
}

TEST(ops_depthwise_f32_5x5_explicit)
{
	conv((conv_case){ .op = NN_OP_DEPTHWISE_CONV2D, .dt = NN_F32, .n = 1, .h = 9, .w = 8, .c = 4, .out_c = 1,
			  .kh = 5, .kw = 5, .padding = NN_PADDING_EXPLICIT, .pad = { 2, 2, 1, 3 } });
}

/*
 * The native depthwise kernel (native_window.c): each case must run on it.
 * The shapes cover its paths: channel counts below, at and across its
 * 16-channel slices; images narrower than one window, than four pixels and
 * than the padding; rows and columns of zero padding on both sides; batch 2.
 */
static void native_dw(conv_case cc)
{
	cc.op = NN_OP_DEPTHWISE_CONV2D;
	cc.dt = NN_F32;
	cc.out_c = 1;
	check_native(build_conv, &cc);
}

TEST(ops_native_dw_3x3_stride1_channel_slices)
{
	static const int channels[] = { 1, 5, 16, 18, 33, 64 };
	for (size_t i = 0; i < sizeof channels / sizeof *channels; i++)
		native_dw((conv_case){ .n = 1, .h = 9, .w = 13, .c = channels[i], .kh = 3, .kw = 3,
				       .padding = NN_PADDING_SAME, .act = NN_ACT_RELU6 });
}

TEST(ops_native_dw_3x3_stride2)
{
	native_dw((conv_case){ .n = 2, .h = 12, .w = 17, .c = 24, .kh = 3, .kw = 3, .stride = 2,
			       .padding = NN_PADDING_SAME });
	native_dw((conv_case){ .n = 1, .h = 11, .w = 20, .c = 7, .kh = 3, .kw = 3, .stride = 2,
			       .padding = NN_PADDING_VALID, .no_bias = 1 });
}

TEST(ops_native_dw_5x5_both_strides)
{
	native_dw((conv_case){ .n = 1, .h = 14, .w = 19, .c = 40, .kh = 5, .kw = 5, .padding = NN_PADDING_SAME,
			       .act = NN_ACT_RELU });
	native_dw((conv_case){ .n = 1, .h = 15, .w = 22, .c = 17, .kh = 5, .kw = 5, .stride = 2,
			       .padding = NN_PADDING_SAME });
}

TEST(ops_native_dw_explicit_asymmetric_padding)
{
	native_dw((conv_case){ .n = 1, .h = 10, .w = 11, .c = 20, .kh = 3, .kw = 3, .padding = NN_PADDING_EXPLICIT,
			       .pad = { 0, 2, 2, 0 }, .act = NN_ACT_RELU_N1_TO_1 });
	native_dw((conv_case){ .n = 1, .h = 9, .w = 12, .c = 3, .kh = 5, .kw = 5, .stride = 2,
			       .padding = NN_PADDING_EXPLICIT, .pad = { 3, 1, 1, 4 } });
}

/* Images where no output column, or fewer than four, has its whole window inside. */
TEST(ops_native_dw_narrow_images)
{
	native_dw((conv_case){ .n = 1, .h = 4, .w = 2, .c = 19, .kh = 3, .kw = 3, .padding = NN_PADDING_SAME });
	native_dw((conv_case){ .n = 2, .h = 3, .w = 3, .c = 16, .kh = 5, .kw = 5, .padding = NN_PADDING_SAME });
	native_dw((conv_case){ .n = 1, .h = 6, .w = 6, .c = 9, .kh = 5, .kw = 5, .padding = NN_PADDING_VALID });
}

/* The native 1x1 convolution with few output channels (native_pointwise.c). */
static void native_pointwise(conv_case cc)
{
	cc.op = NN_OP_CONV2D;
	cc.dt = NN_F32;
	cc.kh = cc.kw = 1;
	check_native(build_conv, &cc);
}

TEST(ops_native_pointwise)
{
	/* Every output count it takes; input channels below, at and across 16, and an odd pixel count. */
	static const int inputs[] = { 3, 16, 40, 128 };
	for (int oc = 1; oc <= 8; oc++)
		native_pointwise((conv_case){ .n = 1, .h = 5, .w = 7, .c = inputs[oc % 4], .out_c = oc,
					      .padding = NN_PADDING_VALID, .act = oc == 2 ? NN_ACT_RELU : NN_ACT_NONE,
					      .no_bias = oc == 3 });
	/* More pixels than one task takes, on two threads, in a batch of two. */
	native_pointwise((conv_case){ .n = 2, .h = 11, .w = 13, .c = 24, .out_c = 4, .padding = NN_PADDING_SAME,
				      .act = NN_ACT_RELU6 });
}

/* The native stem convolution: 3x3 over 1 to 3 input channels (native_stem.c). */
static void native_stem(conv_case cc)
{
	cc.op = NN_OP_CONV2D;
	cc.dt = NN_F32;
	cc.kh = cc.kw = 3;
	check_native(build_conv, &cc);
}

TEST(ops_native_stem)
{
	/* RGB at stride 2 into 16 and 32 channels, as CenterNet and NanoDet begin. */
	native_stem((conv_case){ .n = 1, .h = 18, .w = 23, .c = 3, .out_c = 16, .stride = 2, .padding = NN_PADDING_SAME,
				 .act = NN_ACT_RELU });
	native_stem((conv_case){ .n = 2, .h = 13, .w = 16, .c = 3, .out_c = 32, .stride = 2,
				 .padding = NN_PADDING_EXPLICIT, .pad = { 1, 1, 1, 1 } });
	/* Grey and two-channel images, stride 1, output channels not a multiple of 16, no bias. */
	native_stem((conv_case){ .n = 1, .h = 9, .w = 12, .c = 1, .out_c = 8, .padding = NN_PADDING_SAME,
				 .act = NN_ACT_RELU6 });
	native_stem((conv_case){ .n = 1, .h = 10, .w = 11, .c = 2, .out_c = 21, .padding = NN_PADDING_VALID,
				 .no_bias = 1 });
	/* Narrower than one window plus four pixels: every column on the checked path. */
	native_stem((conv_case){ .n = 1, .h = 4, .w = 3, .c = 3, .out_c = 24, .padding = NN_PADDING_SAME });
}

/*
 * The native dense convolution (native_conv.c). Output channels above and
 * across its 32-channel panels, pixel counts that are not a multiple of its
 * 8-pixel tile (tiles run across rows), every kind of padding.
 */
static void native_dense(conv_case cc)
{
	cc.op = NN_OP_CONV2D;
	cc.dt = NN_F32;
	check_native(build_conv, &cc);
}

TEST(ops_native_conv)
{
	native_dense((conv_case){ .n = 1, .h = 9, .w = 11, .c = 8, .out_c = 40, .kh = 3, .kw = 3,
				  .padding = NN_PADDING_SAME, .act = NN_ACT_RELU });
	native_dense((conv_case){ .n = 2, .h = 16, .w = 13, .c = 16, .out_c = 32, .kh = 3, .kw = 3, .stride = 2,
				  .padding = NN_PADDING_SAME });
	native_dense((conv_case){ .n = 1, .h = 8, .w = 9, .c = 64, .out_c = 24, .kh = 1, .kw = 1,
				  .padding = NN_PADDING_VALID, .act = NN_ACT_RELU6 });
	native_dense((conv_case){ .n = 1, .h = 12, .w = 14, .c = 4, .out_c = 20, .kh = 5, .kw = 5,
				  .padding = NN_PADDING_VALID });
	native_dense((conv_case){ .n = 1, .h = 10, .w = 9, .c = 12, .out_c = 48, .kh = 3, .kw = 3,
				  .padding = NN_PADDING_EXPLICIT, .pad = { 0, 2, 1, 0 }, .act = NN_ACT_RELU_N1_TO_1 });
	native_dense((conv_case){ .n = 1, .h = 17, .w = 16, .c = 32, .out_c = 17, .kh = 2, .kw = 2, .stride = 2,
				  .padding = NN_PADDING_VALID, .no_bias = 1 });
}

TEST(ops_conv_qu8_same)
{
	conv((conv_case){ .op = NN_OP_CONV2D, .dt = NN_U8, .n = 1, .h = 7, .w = 8, .c = 5, .out_c = 6, .kh = 3, .kw = 3,
			  .padding = NN_PADDING_SAME });
}

TEST(ops_conv_qu8_stride2_relu6)
{
	conv((conv_case){ .op = NN_OP_CONV2D, .dt = NN_U8, .n = 1, .h = 9, .w = 9, .c = 8, .out_c = 4, .kh = 3, .kw = 3,
			  .stride = 2, .padding = NN_PADDING_SAME, .act = NN_ACT_RELU6 });
}

TEST(ops_conv_qu8_1x1_relu)
{
	conv((conv_case){ .op = NN_OP_CONV2D, .dt = NN_U8, .n = 1, .h = 4, .w = 6, .c = 16, .out_c = 8, .kh = 1, .kw = 1,
			  .padding = NN_PADDING_VALID, .act = NN_ACT_RELU });
}

TEST(ops_depthwise_qu8_mult1)
{
	conv((conv_case){ .op = NN_OP_DEPTHWISE_CONV2D, .dt = NN_U8, .n = 1, .h = 8, .w = 8, .c = 7, .out_c = 1, .kh = 3,
			  .kw = 3, .padding = NN_PADDING_SAME, .act = NN_ACT_RELU6 });
}

TEST(ops_conv_qs8_per_tensor)
{
	conv((conv_case){ .op = NN_OP_CONV2D, .dt = NN_I8, .n = 1, .h = 7, .w = 6, .c = 4, .out_c = 5, .kh = 2, .kw = 2,
			  .padding = NN_PADDING_SAME });
}

TEST(ops_conv_qc8_per_channel)
{
	conv((conv_case){ .op = NN_OP_CONV2D, .dt = NN_I8, .per_channel = 1, .n = 1, .h = 9, .w = 7, .c = 6, .out_c = 10,
			  .kh = 3, .kw = 3, .stride = 2, .padding = NN_PADDING_SAME, .act = NN_ACT_RELU6 });
}

TEST(ops_conv_qc8_dilation2_explicit)
{
	conv((conv_case){ .op = NN_OP_CONV2D, .dt = NN_I8, .per_channel = 1, .n = 1, .h = 10, .w = 10, .c = 3,
			  .out_c = 4, .kh = 3, .kw = 3, .dilation = 2, .padding = NN_PADDING_EXPLICIT,
			  .pad = { 1, 1, 2, 0 } });
}

TEST(ops_depthwise_qc8_mult2)
{
	conv((conv_case){ .op = NN_OP_DEPTHWISE_CONV2D, .dt = NN_I8, .per_channel = 1, .n = 1, .h = 8, .w = 9, .c = 4,
			  .out_c = 2, .kh = 3, .kw = 3, .stride = 2, .padding = NN_PADDING_SAME, .act = NN_ACT_RELU });
}

TEST(ops_depthwise_qs8_per_tensor)
{
	conv((conv_case){ .op = NN_OP_DEPTHWISE_CONV2D, .dt = NN_I8, .n = 1, .h = 6, .w = 6, .c = 8, .out_c = 1, .kh = 3,
			  .kw = 3, .padding = NN_PADDING_VALID });
}

/* TRANSPOSE_CONV2D in TFLite's input order: output shape, filter, input, bias. */
typedef struct deconv_case {
	nn_dtype dt;
	int n, h, w, c, out_c, k, stride;
	nn_padding padding;
	int out_h, out_w;
	int no_bias;
} deconv_case;

static nn_graph *build_deconv(const void *arg)
{
	const deconv_case *dc = arg;
	uint32_t seed = 43;
	nn_graph *g = nn_graph_create("ops");
	nn_dtype dt = dc->dt;
	int shape = tb_tensor(g, "output_shape", NN_I32, 1, 4);
	int x = tb_tensor(g, "x", dt, 4, dc->n, dc->h, dc->w, dc->c);
	int w = tb_tensor(g, "w", dt, 4, dc->out_c, dc->k, dc->k, dc->c);
	int b = dc->no_bias ? -1 : tb_tensor(g, "b", dt == NN_F32 ? NN_F32 : NN_I32, 1, dc->out_c);
	int y = tb_tensor(g, "y", dt, 4, dc->n, dc->out_h, dc->out_w, dc->out_c);
	CHECK(nn_tensor_alloc_const(&g->tensors[shape]) == 0);
	int32_t *s = g->tensors[shape].data;
	s[0] = dc->n, s[1] = dc->out_h, s[2] = dc->out_w, s[3] = dc->out_c;
	if (dt == NN_F32) {
		tb_const(g, w, &seed, -1, 1);
		if (b >= 0)
			tb_const(g, b, &seed, -1, 1);
	} else {
		quant_like(g, x, 0.05f, 128, -5);
		quant_like(g, w, 0.02f, 120, 0);
		tb_const(g, w, &seed, dt == NN_U8 ? 0 : -127, dt == NN_U8 ? 255 : 127);
		if (b >= 0) {
			tb_const(g, b, &seed, -3000, 3000);
			tb_quant(g, b, 0.05f * 0.02f, 0);
		}
		int taps = dc->c * ((dc->k + dc->stride - 1) / dc->stride) * ((dc->k + dc->stride - 1) / dc->stride);
		quant_like(g, y, 0.05f * 0.02f * sqrtf((float)taps) * 135, 100, -10);
	}
	int node = tb_node(g, NN_OP_TRANSPOSE_CONV2D, "deconv", TB_LIST(shape, w, x, b), TB_LIST(y));
	g->nodes[node].p.conv = (nn_conv_params){ .stride_h = dc->stride, .stride_w = dc->stride, .dilation_h = 1,
						  .dilation_w = 1, .padding = dc->padding };
	tb_io(g, TB_LIST(x), TB_LIST(y));
	return g;
}

TEST(ops_transpose_conv_f32_same_stride2)
{
	deconv_case dc = { NN_F32, 1, 4, 5, 3, 6, 3, 2, NN_PADDING_SAME, 8, 10, 0 };
	check_op(build_deconv, &dc, NULL, default_tol);
}

TEST(ops_transpose_conv_f32_same_odd_output)
{
	/* 4 -> 7 at stride 2: the forward convolution of 7 with SAME gives 4. */
	deconv_case dc = { NN_F32, 1, 4, 4, 2, 3, 3, 2, NN_PADDING_SAME, 7, 7, 1 };
	check_op(build_deconv, &dc, NULL, default_tol);
}

TEST(ops_transpose_conv_f32_valid)
{
	deconv_case dc = { NN_F32, 2, 3, 4, 4, 2, 3, 2, NN_PADDING_VALID, 7, 9, 0 };
	check_op(build_deconv, &dc, NULL, default_tol);
}

TEST(ops_transpose_conv_f32_adjustment)
{
	/* A 1x1 filter at stride 2 reaches 7 of 8 output rows: XNNPACK needs an adjustment of one. */
	deconv_case dc = { NN_F32, 1, 4, 4, 3, 2, 1, 2, NN_PADDING_SAME, 8, 8, 0 };
	check_op(build_deconv, &dc, NULL, default_tol);
}

TEST(ops_transpose_conv_qu8)
{
	deconv_case dc = { NN_U8, 1, 4, 4, 3, 4, 3, 2, NN_PADDING_SAME, 8, 8, 0 };
	check_op(build_deconv, &dc, NULL, default_tol);
}

TEST(ops_transpose_conv_qs8)
{
	deconv_case dc = { NN_I8, 1, 3, 5, 4, 3, 2, 2, NN_PADDING_VALID, 6, 10, 0 };
	check_op(build_deconv, &dc, NULL, default_tol);
}

/* FULLY_CONNECTED: input [batch, in] (or rank 4 flattened), weights [out, in]. */
typedef struct fc_case {
	nn_dtype dt;
	int per_channel;
	int batch, in, out;
	int rank4; /* input [batch, 1, 1, in] */
	nn_activation act;
	int no_bias;
} fc_case;

static nn_graph *build_fc(const void *arg)
{
	const fc_case *fc = arg;
	uint32_t seed = 44;
	nn_graph *g = nn_graph_create("ops");
	nn_dtype dt = fc->dt;
	int x = fc->rank4 ? tb_tensor(g, "x", dt, 4, fc->batch, 1, 1, fc->in) : tb_tensor(g, "x", dt, 2, fc->batch, fc->in);
	int w = tb_tensor(g, "w", dt, 2, fc->out, fc->in);
	int b = fc->no_bias ? -1 : tb_tensor(g, "b", dt == NN_F32 ? NN_F32 : NN_I32, 1, fc->out);
	int y = tb_tensor(g, "y", dt, 2, fc->batch, fc->out);
	if (dt == NN_F32) {
		tb_const(g, w, &seed, -1, 1);
		if (b >= 0)
			tb_const(g, b, &seed, -1, 1);
	} else {
		quant_like(g, x, 0.05f, 128, 3);
		if (fc->per_channel) {
			float *scales = malloc((size_t)fc->out * sizeof *scales);
			int32_t *zps = calloc((size_t)fc->out, sizeof *zps);
			for (int i = 0; i < fc->out; i++)
				scales[i] = tb_uniform(&seed, 0.005f, 0.035f);
			CHECK(nn_tensor_set_quant(&g->tensors[w], fc->out, 0, scales, zps) == 0);
			free(scales);
			free(zps);
		} else {
			quant_like(g, w, 0.02f, 130, 0);
		}
		tb_const(g, w, &seed, dt == NN_U8 ? 0 : -127, dt == NN_U8 ? 255 : 127);
		if (b >= 0) {
			tb_const(g, b, &seed, -3000, 3000);
			tb_quant(g, b, 0.05f * 0.02f, 0);
		}
		quant_like(g, y, 0.05f * 0.02f * sqrtf((float)fc->in) * 135, 120, 0);
	}
	int node = tb_node(g, NN_OP_FULLY_CONNECTED, "fc", TB_LIST(x, w, b), TB_LIST(y));
	g->nodes[node].p.fc.act = fc->act;
	tb_io(g, TB_LIST(x), TB_LIST(y));
	return g;
}

TEST(ops_fc_f32)
{
	fc_case fc = { .dt = NN_F32, .batch = 3, .in = 37, .out = 11 };
	check_op(build_fc, &fc, NULL, default_tol);
}

TEST(ops_fc_f32_rank4_relu_no_bias)
{
	fc_case fc = { .dt = NN_F32, .batch = 2, .in = 64, .out = 10, .rank4 = 1, .act = NN_ACT_RELU, .no_bias = 1 };
	check_op(build_fc, &fc, NULL, default_tol);
}

TEST(ops_fc_qu8)
{
	fc_case fc = { .dt = NN_U8, .batch = 4, .in = 50, .out = 9, .act = NN_ACT_RELU6 };
	check_op(build_fc, &fc, NULL, default_tol);
}

TEST(ops_fc_qs8)
{
	fc_case fc = { .dt = NN_I8, .batch = 1, .in = 100, .out = 17 };
	check_op(build_fc, &fc, NULL, default_tol);
}

TEST(ops_fc_qs8_per_channel)
{
	fc_case fc = { .dt = NN_I8, .per_channel = 1, .batch = 5, .in = 33, .out = 12, .act = NN_ACT_RELU };
	check_op(build_fc, &fc, NULL, default_tol);
}

/* AVERAGE_POOL2D and MAX_POOL2D. */
typedef struct pool_case {
	nn_op op;
	nn_dtype dt;
	int n, h, w, c, fh, fw, stride;
	nn_padding padding;
	nn_activation act;
	int requantize; /* average pooling: output quantized differently from the input */
} pool_case;

static nn_graph *build_pool(const void *arg)
{
	const pool_case *pc = arg;
	nn_graph *g = nn_graph_create("ops");
	int oh = window_out(pc->h, pc->fh, pc->stride, 1, pc->padding, 0, 0);
	int ow = window_out(pc->w, pc->fw, pc->stride, 1, pc->padding, 0, 0);
	int x = tb_tensor(g, "x", pc->dt, 4, pc->n, pc->h, pc->w, pc->c);
	int y = tb_tensor(g, "y", pc->dt, 4, pc->n, oh, ow, pc->c);
	if (pc->dt != NN_F32) {
		quant_like(g, x, 0.05f, 128, -3);
		if (pc->requantize)
			quant_like(g, y, 0.03f, 100, 10);
		else
			quant_like(g, y, 0.05f, 128, -3);
	}
	int node = tb_node(g, pc->op, "pool", TB_LIST(x), TB_LIST(y));
	g->nodes[node].p.pool = (nn_pool_params){ .filter_h = pc->fh, .filter_w = pc->fw, .stride_h = pc->stride,
						  .stride_w = pc->stride, .padding = pc->padding, .act = pc->act };
	tb_io(g, TB_LIST(x), TB_LIST(y));
	return g;
}

static void pool(pool_case pc)
{
	check_op(build_pool, &pc, NULL, default_tol);
}

TEST(ops_avgpool_f32_same)
{
	/* Odd padding on both axes, where TFLite averages only the pixels inside the image. */
	pool((pool_case){ NN_OP_AVERAGE_POOL2D, NN_F32, 1, 8, 6, 5, 3, 3, 2, NN_PADDING_SAME, NN_ACT_NONE, 0 });
}

TEST(ops_avgpool_f32_valid_relu6)
{
	pool((pool_case){ NN_OP_AVERAGE_POOL2D, NN_F32, 2, 8, 8, 3, 2, 2, 2, NN_PADDING_VALID, NN_ACT_RELU6, 0 });
}

TEST(ops_avgpool_qu8_valid)
{
	pool((pool_case){ NN_OP_AVERAGE_POOL2D, NN_U8, 1, 9, 9, 6, 3, 3, 2, NN_PADDING_VALID, NN_ACT_NONE, 0 });
}

TEST(ops_avgpool_qu8_requantize_relu)
{
	pool((pool_case){ NN_OP_AVERAGE_POOL2D, NN_U8, 1, 7, 8, 4, 2, 2, 2, NN_PADDING_VALID, NN_ACT_RELU, 1 });
}

TEST(ops_maxpool_f32_same)
{
	pool((pool_case){ NN_OP_MAX_POOL2D, NN_F32, 1, 10, 7, 5, 3, 3, 2, NN_PADDING_SAME, NN_ACT_NONE, 0 });
}

/*
 * Max pooling on the native kernel (native_window.c). The inputs reach -3, so
 * a window over the edge that took the padding for a zero would show.
 */
static void native_maxpool(pool_case pc)
{
	pc.op = NN_OP_MAX_POOL2D;
	pc.dt = NN_F32;
	check_native(build_pool, &pc);
}

TEST(ops_native_maxpool)
{
	/* CenterNet's peak finding: 3x3, stride 1, SAME, over class heatmaps. */
	native_maxpool((pool_case){ .n = 1, .h = 13, .w = 11, .c = 80, .fh = 3, .fw = 3, .stride = 1,
				    .padding = NN_PADDING_SAME });
	native_maxpool((pool_case){ .n = 2, .h = 9, .w = 14, .c = 7, .fh = 5, .fw = 5, .stride = 1,
				    .padding = NN_PADDING_SAME, .act = NN_ACT_RELU6 });
	native_maxpool((pool_case){ .n = 1, .h = 12, .w = 17, .c = 33, .fh = 3, .fw = 3, .stride = 2,
				    .padding = NN_PADDING_VALID });
	native_maxpool((pool_case){ .n = 1, .h = 11, .w = 10, .c = 16, .fh = 5, .fw = 5, .stride = 2,
				    .padding = NN_PADDING_SAME });
	native_maxpool((pool_case){ .n = 1, .h = 2, .w = 3, .c = 21, .fh = 3, .fw = 3, .stride = 1,
				    .padding = NN_PADDING_SAME });
}

TEST(ops_maxpool_f32_valid_stride1_relu)
{
	pool((pool_case){ NN_OP_MAX_POOL2D, NN_F32, 1, 6, 6, 3, 2, 2, 1, NN_PADDING_VALID, NN_ACT_RELU, 0 });
}

TEST(ops_maxpool_u8_same)
{
	pool((pool_case){ NN_OP_MAX_POOL2D, NN_U8, 1, 8, 9, 4, 3, 3, 2, NN_PADDING_SAME, NN_ACT_NONE, 0 });
}

TEST(ops_maxpool_s8_valid_relu6)
{
	pool((pool_case){ NN_OP_MAX_POOL2D, NN_I8, 2, 6, 6, 3, 2, 2, 2, NN_PADDING_VALID, NN_ACT_RELU6, 0 });
}

/* MEAN over height and width. */
typedef struct mean_case {
	nn_dtype dt;
	int n, h, w, c;
	int keep_dims;
} mean_case;

static nn_graph *build_mean(const void *arg)
{
	const mean_case *mc = arg;
	nn_graph *g = nn_graph_create("ops");
	int x = tb_tensor(g, "x", mc->dt, 4, mc->n, mc->h, mc->w, mc->c);
	int y = mc->keep_dims ? tb_tensor(g, "y", mc->dt, 4, mc->n, 1, 1, mc->c) : tb_tensor(g, "y", mc->dt, 2, mc->n, mc->c);
	if (mc->dt != NN_F32) {
		quant_like(g, x, 0.05f, 128, -3);
		quant_like(g, y, 0.02f, 120, 5);
	}
	int node = tb_node(g, NN_OP_MEAN, "mean", TB_LIST(x), TB_LIST(y));
	g->nodes[node].p.reduce.n_axes = 2;
	g->nodes[node].p.reduce.axes[0] = 1;
	g->nodes[node].p.reduce.axes[1] = 2;
	g->nodes[node].p.reduce.keep_dims = mc->keep_dims;
	tb_io(g, TB_LIST(x), TB_LIST(y));
	return g;
}

TEST(ops_mean_f32_keep_dims)
{
	mean_case mc = { NN_F32, 2, 7, 5, 6, 1 };
	check_op(build_mean, &mc, NULL, default_tol);
}

TEST(ops_mean_qu8)
{
	mean_case mc = { NN_U8, 1, 6, 6, 10, 1 };
	check_op(build_mean, &mc, NULL, default_tol);
}

TEST(ops_mean_qs8_squeezed)
{
	mean_case mc = { NN_I8, 2, 5, 4, 3, 0 };
	check_op(build_mean, &mc, NULL, default_tol);
}

/* Binary elementwise ops with NumPy broadcasting. */
typedef struct binary_case {
	nn_op op;
	nn_dtype dt;
	int ra, a[4];
	int rb, b[4];
	nn_activation act;
} binary_case;

static nn_graph *build_binary(const void *arg)
{
	const binary_case *bc = arg;
	nn_graph *g = nn_graph_create("ops");
	int a = tb_tensor(g, "a", bc->dt, 0), b = tb_tensor(g, "b", bc->dt, 0);
	int r = bc->ra > bc->rb ? bc->ra : bc->rb;
	int y = tb_tensor(g, "y", bc->dt, 0);
	g->tensors[a].rank = bc->ra;
	g->tensors[b].rank = bc->rb;
	g->tensors[y].rank = r;
	memcpy(g->tensors[a].shape, bc->a, sizeof bc->a);
	memcpy(g->tensors[b].shape, bc->b, sizeof bc->b);
	for (int i = 0; i < r; i++) {
		int da = i < bc->ra ? bc->a[bc->ra - 1 - i] : 1, db = i < bc->rb ? bc->b[bc->rb - 1 - i] : 1;
		g->tensors[y].shape[r - 1 - i] = da == 1 ? db : da;
	}
	if (bc->dt != NN_F32) {
		quant_like(g, a, 0.05f, 128, 10);
		quant_like(g, b, 0.03f, 100, -3);
		quant_like(g, y, bc->op == NN_OP_MUL ? 0.12f : 0.08f, 128, 5);
	}
	int node = tb_node(g, bc->op, "binary", TB_LIST(a, b), TB_LIST(y));
	g->nodes[node].p.act = bc->act;
	tb_io(g, TB_LIST(a, b), TB_LIST(y));
	return g;
}

static void binary(binary_case bc)
{
	/* Divisors stay away from zero, where a relative error in either operand is magnified. */
	input_range div_ranges[2] = { { -3, 3 }, { 0.5f, 2 } };
	check_op(build_binary, &bc, bc.op == NN_OP_DIV ? div_ranges : NULL, default_tol);
}

TEST(ops_add_f32_same_shape_relu)
{
	binary((binary_case){ NN_OP_ADD, NN_F32, 4, { 1, 5, 7, 3 }, 4, { 1, 5, 7, 3 }, NN_ACT_RELU });
}

TEST(ops_add_f32_channel_vector)
{
	binary((binary_case){ NN_OP_ADD, NN_F32, 4, { 2, 4, 5, 6 }, 1, { 6 }, NN_ACT_NONE });
}

TEST(ops_add_f32_scalar_like)
{
	binary((binary_case){ NN_OP_ADD, NN_F32, 4, { 1, 3, 5, 7 }, 4, { 1, 1, 1, 1 }, NN_ACT_RELU6 });
}

TEST(ops_add_f32_cross_broadcast)
{
	/* [N,H,1,C] + [N,1,W,1] -> [N,H,W,C] */
	binary((binary_case){ NN_OP_ADD, NN_F32, 4, { 2, 4, 1, 3 }, 4, { 2, 1, 5, 1 }, NN_ACT_NONE });
}

TEST(ops_sub_f32_broadcast)
{
	binary((binary_case){ NN_OP_SUB, NN_F32, 1, { 7 }, 3, { 3, 5, 7 }, NN_ACT_RELU_N1_TO_1 });
}

TEST(ops_mul_f32_broadcast)
{
	binary((binary_case){ NN_OP_MUL, NN_F32, 4, { 1, 6, 6, 4 }, 4, { 1, 6, 1, 4 }, NN_ACT_NONE });
}

TEST(ops_div_f32_broadcast)
{
	binary((binary_case){ NN_OP_DIV, NN_F32, 4, { 1, 3, 4, 5 }, 1, { 5 }, NN_ACT_NONE });
}

TEST(ops_maximum_f32)
{
	binary((binary_case){ NN_OP_MAXIMUM, NN_F32, 4, { 1, 4, 4, 3 }, 4, { 1, 4, 4, 3 }, NN_ACT_NONE });
}

TEST(ops_minimum_f32_broadcast)
{
	binary((binary_case){ NN_OP_MINIMUM, NN_F32, 4, { 2, 3, 1, 3 }, 4, { 2, 1, 4, 1 }, NN_ACT_NONE });
}

TEST(ops_add_qu8_broadcast_relu)
{
	binary((binary_case){ NN_OP_ADD, NN_U8, 4, { 1, 5, 6, 4 }, 1, { 4 }, NN_ACT_RELU });
}

TEST(ops_add_qs8_cross_broadcast)
{
	binary((binary_case){ NN_OP_ADD, NN_I8, 4, { 1, 4, 1, 3 }, 4, { 1, 1, 5, 1 }, NN_ACT_NONE });
}

TEST(ops_sub_qu8)
{
	binary((binary_case){ NN_OP_SUB, NN_U8, 4, { 1, 4, 4, 5 }, 4, { 1, 4, 4, 5 }, NN_ACT_NONE });
}

TEST(ops_sub_qs8_broadcast_relu6)
{
	binary((binary_case){ NN_OP_SUB, NN_I8, 4, { 2, 3, 3, 4 }, 4, { 1, 1, 1, 1 }, NN_ACT_RELU6 });
}

TEST(ops_mul_qu8_broadcast)
{
	binary((binary_case){ NN_OP_MUL, NN_U8, 4, { 1, 5, 5, 3 }, 4, { 1, 5, 1, 3 }, NN_ACT_NONE });
}

TEST(ops_mul_qs8)
{
	binary((binary_case){ NN_OP_MUL, NN_I8, 3, { 4, 5, 6 }, 3, { 4, 5, 6 }, NN_ACT_NONE });
}

/* Unary ops on one tensor, with per-op quantization and parameters. */
typedef struct unary_case {
	nn_op op;
	nn_dtype dt;
	int rank, shape[4];
	float in_scale, out_scale;
	int32_t in_zp, out_zp;
	float param; /* LEAKY_RELU alpha, SOFTMAX beta */
} unary_case;

static nn_graph *build_unary(const void *arg)
{
	const unary_case *uc = arg;
	nn_graph *g = nn_graph_create("ops");
	/*
	 * dt is the quantized side of QUANTIZE and DEQUANTIZE, whose other side
	 * is float32, except for a QUANTIZE with an input scale: a requantization.
	 */
	nn_dtype in_dt = uc->op == NN_OP_QUANTIZE && uc->in_scale == 0 ? NN_F32 : uc->dt;
	nn_dtype out_dt = uc->op == NN_OP_DEQUANTIZE ? NN_F32 : uc->dt;
	int x = tb_tensor(g, "x", in_dt, 0), y = tb_tensor(g, "y", out_dt, 0);
	for (int t = 0; t < 2; t++) {
		g->tensors[t].rank = uc->rank;
		memcpy(g->tensors[t].shape, uc->shape, sizeof uc->shape);
	}
	if (g->tensors[x].dtype == NN_U8 || g->tensors[x].dtype == NN_I8)
		tb_quant(g, x, uc->in_scale, uc->in_zp);
	if (g->tensors[y].dtype == NN_U8 || g->tensors[y].dtype == NN_I8)
		tb_quant(g, y, uc->out_scale, uc->out_zp);
	int node = tb_node(g, uc->op, "unary", TB_LIST(x), TB_LIST(y));
	if (uc->op == NN_OP_LEAKY_RELU)
		g->nodes[node].p.leaky_relu.alpha = uc->param;
	if (uc->op == NN_OP_SOFTMAX)
		g->nodes[node].p.softmax.beta = uc->param;
	tb_io(g, TB_LIST(x), TB_LIST(y));
	return g;
}

static void unary(unary_case uc, tolerance tol)
{
	check_op(build_unary, &uc, NULL, tol);
}

#define SHAPE4(a, b, c, d) 4, { a, b, c, d }

TEST(ops_relu_f32)
{
	unary((unary_case){ NN_OP_RELU, NN_F32, SHAPE4(1, 5, 7, 3), 0, 0, 0, 0, 0 }, default_tol);
}

TEST(ops_relu6_f32)
{
	unary((unary_case){ NN_OP_RELU6, NN_F32, SHAPE4(2, 3, 9, 5), 0, 0, 0, 0, 0 }, (tolerance){ 0, 0 });
}

TEST(ops_relu_n1_to_1_f32)
{
	unary((unary_case){ NN_OP_RELU_N1_TO_1, NN_F32, SHAPE4(1, 1, 1, 1000), 0, 0, 0, 0, 0 }, (tolerance){ 0, 0 });
}

TEST(ops_relu_u8)
{
	unary((unary_case){ NN_OP_RELU, NN_U8, SHAPE4(1, 6, 6, 5), 0.05f, 0.05f, 100, 100, 0 }, (tolerance){ 0, 0 });
}

TEST(ops_relu6_s8)
{
	unary((unary_case){ NN_OP_RELU6, NN_I8, SHAPE4(1, 4, 7, 3), 0.03f, 0.03f, -20, -20, 0 }, (tolerance){ 0, 0 });
}

TEST(ops_relu_n1_to_1_u8)
{
	unary((unary_case){ NN_OP_RELU_N1_TO_1, NN_U8, SHAPE4(1, 4, 4, 4), 0.02f, 0.02f, 128, 128, 0 },
	      (tolerance){ 0, 0 });
}

TEST(ops_logistic_f32)
{
	unary((unary_case){ NN_OP_LOGISTIC, NN_F32, SHAPE4(1, 7, 5, 3), 0, 0, 0, 0, 0 }, default_tol);
}

TEST(ops_logistic_qu8)
{
	unary((unary_case){ NN_OP_LOGISTIC, NN_U8, SHAPE4(1, 8, 8, 4), 0.025f, 1.0f / 256, 128, 0, 0 }, default_tol);
}

TEST(ops_logistic_qs8)
{
	unary((unary_case){ NN_OP_LOGISTIC, NN_I8, SHAPE4(1, 8, 8, 4), 0.025f, 1.0f / 256, 3, -128, 0 }, default_tol);
}

TEST(ops_tanh_qu8)
{
	unary((unary_case){ NN_OP_TANH, NN_U8, SHAPE4(1, 8, 8, 4), 0.012f, 1.0f / 128, 128, 128, 0 }, default_tol);
}

TEST(ops_tanh_qs8)
{
	unary((unary_case){ NN_OP_TANH, NN_I8, SHAPE4(1, 8, 8, 4), 0.012f, 1.0f / 128, -4, 0, 0 }, default_tol);
}

TEST(ops_hard_swish_f32)
{
	unary((unary_case){ NN_OP_HARD_SWISH, NN_F32, SHAPE4(1, 9, 7, 5), 0, 0, 0, 0, 0 }, default_tol);
}

TEST(ops_leaky_relu_f32)
{
	unary((unary_case){ NN_OP_LEAKY_RELU, NN_F32, SHAPE4(1, 5, 5, 5), 0, 0, 0, 0, 0.2f }, default_tol);
}

TEST(ops_leaky_relu_qu8_requantize)
{
	unary((unary_case){ NN_OP_LEAKY_RELU, NN_U8, SHAPE4(1, 6, 6, 4), 0.05f, 0.04f, 128, 100, 0.1f }, default_tol);
}

TEST(ops_softmax_f32)
{
	unary((unary_case){ NN_OP_SOFTMAX, NN_F32, SHAPE4(1, 3, 4, 21), 0, 0, 0, 0, 1.0f }, default_tol);
}

TEST(ops_softmax_qu8)
{
	unary((unary_case){ NN_OP_SOFTMAX, NN_U8, SHAPE4(2, 1, 5, 10), 0.01f, 1.0f / 256, 128, 0, 1.0f }, default_tol);
}

TEST(ops_softmax_qu8_beta)
{
	unary((unary_case){ NN_OP_SOFTMAX, NN_U8, SHAPE4(1, 1, 3, 40), 0.02f, 1.0f / 256, 100, 0, 0.5f }, default_tol);
}

TEST(ops_quantize_f32_to_u8)
{
	unary((unary_case){ NN_OP_QUANTIZE, NN_U8, SHAPE4(1, 5, 6, 7), 0, 0.025f, 0, 120, 0 }, default_tol);
}

TEST(ops_quantize_f32_to_s8)
{
	unary((unary_case){ NN_OP_QUANTIZE, NN_I8, SHAPE4(1, 5, 6, 7), 0, 0.02f, 0, -7, 0 }, default_tol);
}

TEST(ops_quantize_u8_requantize)
{
	unary((unary_case){ NN_OP_QUANTIZE, NN_U8, SHAPE4(1, 7, 6, 5), 0.04f, 0.03f, 110, 140, 0 }, default_tol);
}

TEST(ops_dequantize_u8)
{
	unary((unary_case){ NN_OP_DEQUANTIZE, NN_U8, SHAPE4(1, 5, 6, 7), 0.03f, 0, 117, 0, 0 }, default_tol);
}

TEST(ops_dequantize_s8)
{
	unary((unary_case){ NN_OP_DEQUANTIZE, NN_I8, SHAPE4(2, 3, 3, 3), 0.07f, 0, -9, 0, 0 }, default_tol);
}

TEST(ops_dequantize_f16)
{
	unary((unary_case){ NN_OP_DEQUANTIZE, NN_F16, SHAPE4(1, 4, 5, 6), 0, 0, 0, 0, 0 }, (tolerance){ 0, 0 });
}

/* PRELU with a per-channel constant alpha. */
static nn_graph *build_prelu(const void *arg)
{
	(void)arg;
	uint32_t seed = 45;
	nn_graph *g = nn_graph_create("ops");
	int x = tb_tensor(g, "x", NN_F32, 4, 1, 5, 6, 7);
	int alpha = tb_tensor(g, "alpha", NN_F32, 3, 1, 1, 7);
	int y = tb_tensor(g, "y", NN_F32, 4, 1, 5, 6, 7);
	tb_const(g, alpha, &seed, 0, 0.5f);
	tb_node(g, NN_OP_PRELU, "prelu", TB_LIST(x, alpha), TB_LIST(y));
	tb_io(g, TB_LIST(x), TB_LIST(y));
	return g;
}

TEST(ops_prelu_f32)
{
	check_op(build_prelu, NULL, NULL, default_tol);
}

/* PAD with zeros (the zero point for quantized tensors). */
static nn_graph *build_pad(const void *arg)
{
	nn_dtype dt = *(const nn_dtype *)arg;
	nn_graph *g = nn_graph_create("ops");
	int x = tb_tensor(g, "x", dt, 4, 1, 4, 5, 3);
	int y = tb_tensor(g, "y", dt, 4, 1, 7, 6, 5);
	if (dt != NN_F32) {
		quant_like(g, x, 0.05f, 77, -33);
		quant_like(g, y, 0.05f, 77, -33);
	}
	int node = tb_node(g, NN_OP_PAD, "pad", TB_LIST(x), TB_LIST(y));
	int pads[4][2] = { { 0, 0 }, { 1, 2 }, { 0, 1 }, { 2, 0 } };
	memcpy(g->nodes[node].p.pad.pads, pads, sizeof pads);
	tb_io(g, TB_LIST(x), TB_LIST(y));
	return g;
}

TEST(ops_pad_f32)
{
	nn_dtype dt = NN_F32;
	check_op(build_pad, &dt, NULL, (tolerance){ 0, 0 });
}

TEST(ops_pad_u8)
{
	nn_dtype dt = NN_U8;
	check_op(build_pad, &dt, NULL, (tolerance){ 0, 0 });
}

TEST(ops_pad_s8)
{
	nn_dtype dt = NN_I8;
	check_op(build_pad, &dt, NULL, (tolerance){ 0, 0 });
}

/* RESIZE_BILINEAR in its three sampling modes. */
typedef struct resize_case {
	nn_dtype dt;
	int h, w, oh, ow, c;
	int align_corners, half_pixel;
} resize_case;

static nn_graph *build_resize(const void *arg)
{
	const resize_case *rc = arg;
	nn_graph *g = nn_graph_create("ops");
	int x = tb_tensor(g, "x", rc->dt, 4, 1, rc->h, rc->w, rc->c);
	int y = tb_tensor(g, "y", rc->dt, 4, 1, rc->oh, rc->ow, rc->c);
	if (rc->dt != NN_F32) {
		quant_like(g, x, 0.05f, 128, 0);
		quant_like(g, y, 0.05f, 128, 0);
	}
	int node = tb_node(g, NN_OP_RESIZE_BILINEAR, "resize", TB_LIST(x), TB_LIST(y));
	g->nodes[node].p.resize.align_corners = rc->align_corners;
	g->nodes[node].p.resize.half_pixel_centers = rc->half_pixel;
	tb_io(g, TB_LIST(x), TB_LIST(y));
	return g;
}

TEST(ops_resize_bilinear_f32_half_pixel)
{
	resize_case rc = { NN_F32, 5, 6, 10, 12, 3, 0, 1 };
	check_op(build_resize, &rc, NULL, default_tol);
}

TEST(ops_resize_bilinear_f32_align_corners)
{
	resize_case rc = { NN_F32, 5, 4, 9, 7, 2, 1, 0 };
	check_op(build_resize, &rc, NULL, default_tol);
}

TEST(ops_resize_bilinear_f32_legacy)
{
	resize_case rc = { NN_F32, 4, 4, 7, 9, 3, 0, 0 };
	check_op(build_resize, &rc, NULL, default_tol);
}

TEST(ops_resize_bilinear_u8_half_pixel)
{
	resize_case rc = { NN_U8, 5, 6, 10, 13, 3, 0, 1 };
	check_op(build_resize, &rc, NULL, default_tol);
}

TEST(ops_resize_bilinear_s8_align_corners)
{
	resize_case rc = { NN_I8, 6, 5, 11, 9, 4, 1, 0 };
	check_op(build_resize, &rc, NULL, default_tol);
}

/* CONCATENATION as strided copies, one of its inputs constant. */
typedef struct concat_case {
	nn_dtype dt;
	int axis;
	int requantize; /* uint8 inputs quantized each their own way, as in SSD box and class heads */
} concat_case;

static nn_graph *build_concat(const void *arg)
{
	const concat_case *cc = arg;
	uint32_t seed = 46;
	nn_graph *g = nn_graph_create("ops");
	int shapes[3][4] = { { 2, 3, 4, 5 }, { 2, 3, 4, 5 }, { 2, 3, 4, 5 } };
	shapes[1][cc->axis < 0 ? cc->axis + 4 : cc->axis] = 2;
	shapes[2][cc->axis < 0 ? cc->axis + 4 : cc->axis] = 1;
	int in[3];
	for (int i = 0; i < 3; i++) {
		in[i] = tb_tensor(g, NULL, cc->dt, 4, shapes[i][0], shapes[i][1], shapes[i][2], shapes[i][3]);
		if (cc->dt != NN_F32 && cc->requantize)
			quant_like(g, in[i], 0.03f + 0.05f * (float)i, 100 + 20 * i, 0);
		else if (cc->dt != NN_F32)
			quant_like(g, in[i], 0.1f, 3, -3);
	}
	tb_const(g, in[2], &seed, cc->dt == NN_F32 ? -1 : -100, cc->dt == NN_F32 ? 1 : 100);
	int out_shape[4] = { 2, 3, 4, 5 };
	out_shape[cc->axis < 0 ? cc->axis + 4 : cc->axis] += 3;
	int y = tb_tensor(g, "y", cc->dt, 4, out_shape[0], out_shape[1], out_shape[2], out_shape[3]);
	if (cc->dt != NN_F32)
		quant_like(g, y, cc->requantize ? 0.07f : 0.1f, cc->requantize ? 128 : 3, -3);
	int node = tb_node(g, NN_OP_CONCATENATION, "concat", TB_LIST(in[0], in[1], in[2]), TB_LIST(y));
	g->nodes[node].p.concat.axis = cc->axis;
	tb_io(g, TB_LIST(in[0], in[1]), TB_LIST(y));
	return g;
}

TEST(ops_concat_f32_channels)
{
	concat_case cc = { NN_F32, 3, 0 };
	check_op(build_concat, &cc, NULL, (tolerance){ 0, 0 });
}

TEST(ops_concat_f32_axis1)
{
	concat_case cc = { NN_F32, 1, 0 };
	check_op(build_concat, &cc, NULL, (tolerance){ 0, 0 });
}

TEST(ops_concat_u8_negative_axis)
{
	concat_case cc = { NN_U8, -2, 0 };
	check_op(build_concat, &cc, NULL, (tolerance){ 0, 0 });
}

TEST(ops_concat_s8_axis0)
{
	concat_case cc = { NN_I8, 0, 0 };
	check_op(build_concat, &cc, NULL, (tolerance){ 0, 0 });
}

TEST(ops_concat_u8_requantize)
{
	concat_case cc = { NN_U8, 2, 1 };
	check_op(build_concat, &cc, NULL, default_tol);
}

/* What XNNPACK cannot do stays on the reference kernel, and the model still runs. */
TEST(ops_fallback_to_reference)
{
	struct {
		builder build;
		const void *arg;
	} cases[] = {
		/* float TANH: this XNNPACK has none. */
		{ build_unary, &(unary_case){ NN_OP_TANH, NN_F32, SHAPE4(1, 2, 3, 4), 0, 0, 0, 0, 0 } },
		/* quantized LOGISTIC whose output scale is not 1/256. */
		{ build_unary, &(unary_case){ NN_OP_LOGISTIC, NN_U8, SHAPE4(1, 2, 3, 4), 0.05f, 0.01f, 128, 0, 0 } },
		/* float SOFTMAX with beta. */
		{ build_unary, &(unary_case){ NN_OP_SOFTMAX, NN_F32, SHAPE4(1, 1, 2, 8), 0, 0, 0, 0, 0.5f } },
		/* quantized average pooling over padding. */
		{ build_pool, &(pool_case){ NN_OP_AVERAGE_POOL2D, NN_U8, 1, 5, 5, 2, 3, 3, 2, NN_PADDING_SAME,
					    NN_ACT_NONE, 0 } },
		/* int8 average pooling. */
		{ build_pool, &(pool_case){ NN_OP_AVERAGE_POOL2D, NN_I8, 1, 4, 4, 2, 2, 2, 2, NN_PADDING_VALID,
					    NN_ACT_NONE, 0 } },
		/* int8 DIV. */
		{ build_binary, &(binary_case){ NN_OP_DIV, NN_I8, 1, { 4 }, 1, { 4 }, NN_ACT_NONE } },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		nn_model *m = prepare(cases[i].build, cases[i].arg, 0, 0, 1);
		CHECK_MSG(strcmp(nn_model_node_backend(m, 0), "reference") == 0, "case %zu went to XNNPACK", i);
		char err[256];
		fill_inputs(m, NULL);
		CHECK_MSG(nn_model_run(m, err, sizeof err) == 0, "case %zu: %s", i, err);
		nn_model_free(m);
	}
}

TEST_SUITE(nn_ops,
	   TEST_ENTRY(ops_conv_f32_same_stride1_bias),
	   TEST_ENTRY(ops_conv_f32_valid_stride2_no_bias),
	   TEST_ENTRY(ops_conv_f32_same_stride2_odd_padding),
	   TEST_ENTRY(ops_conv_f32_explicit_padding),
	   TEST_ENTRY(ops_conv_f32_dilation2_relu6),
	   TEST_ENTRY(ops_conv_f32_1x1),
	   TEST_ENTRY(ops_conv_f32_grouped),
	   TEST_ENTRY(ops_conv_f32_large_threads),
	   TEST_ENTRY(ops_depthwise_f32_mult1_same),
	   TEST_ENTRY(ops_depthwise_f32_mult2_stride2),
	   TEST_ENTRY(ops_depthwise_f32_dilation2_valid),
	   TEST_ENTRY(ops_depthwise_f32_5x5_explicit),
	   TEST_ENTRY(ops_native_dw_3x3_stride1_channel_slices), TEST_ENTRY(ops_native_dw_3x3_stride2),
	   TEST_ENTRY(ops_native_dw_5x5_both_strides), TEST_ENTRY(ops_native_dw_explicit_asymmetric_padding),
	   TEST_ENTRY(ops_native_dw_narrow_images), TEST_ENTRY(ops_native_pointwise), TEST_ENTRY(ops_native_stem), TEST_ENTRY(ops_native_conv),
	   TEST_ENTRY(ops_conv_qu8_same),
	   TEST_ENTRY(ops_conv_qu8_stride2_relu6),
	   TEST_ENTRY(ops_conv_qu8_1x1_relu),
	   TEST_ENTRY(ops_depthwise_qu8_mult1),
	   TEST_ENTRY(ops_conv_qs8_per_tensor),
	   TEST_ENTRY(ops_conv_qc8_per_channel),
	   TEST_ENTRY(ops_conv_qc8_dilation2_explicit),
	   TEST_ENTRY(ops_depthwise_qc8_mult2),
	   TEST_ENTRY(ops_depthwise_qs8_per_tensor),
	   TEST_ENTRY(ops_transpose_conv_f32_same_stride2),
	   TEST_ENTRY(ops_transpose_conv_f32_same_odd_output),
	   TEST_ENTRY(ops_transpose_conv_f32_valid),
	   TEST_ENTRY(ops_transpose_conv_f32_adjustment),
	   TEST_ENTRY(ops_transpose_conv_qu8),
	   TEST_ENTRY(ops_transpose_conv_qs8),
	   TEST_ENTRY(ops_fc_f32),
	   TEST_ENTRY(ops_fc_f32_rank4_relu_no_bias),
	   TEST_ENTRY(ops_fc_qu8),
	   TEST_ENTRY(ops_fc_qs8),
	   TEST_ENTRY(ops_fc_qs8_per_channel),
	   TEST_ENTRY(ops_avgpool_f32_same),
	   TEST_ENTRY(ops_avgpool_f32_valid_relu6),
	   TEST_ENTRY(ops_avgpool_qu8_valid),
	   TEST_ENTRY(ops_avgpool_qu8_requantize_relu),
	   TEST_ENTRY(ops_maxpool_f32_same),
	   TEST_ENTRY(ops_maxpool_f32_valid_stride1_relu), TEST_ENTRY(ops_native_maxpool),
	   TEST_ENTRY(ops_maxpool_u8_same),
	   TEST_ENTRY(ops_maxpool_s8_valid_relu6),
	   TEST_ENTRY(ops_mean_f32_keep_dims),
	   TEST_ENTRY(ops_mean_qu8),
	   TEST_ENTRY(ops_mean_qs8_squeezed),
	   TEST_ENTRY(ops_add_f32_same_shape_relu),
	   TEST_ENTRY(ops_add_f32_channel_vector),
	   TEST_ENTRY(ops_add_f32_scalar_like),
	   TEST_ENTRY(ops_add_f32_cross_broadcast),
	   TEST_ENTRY(ops_sub_f32_broadcast),
	   TEST_ENTRY(ops_mul_f32_broadcast),
	   TEST_ENTRY(ops_div_f32_broadcast),
	   TEST_ENTRY(ops_maximum_f32),
	   TEST_ENTRY(ops_minimum_f32_broadcast),
	   TEST_ENTRY(ops_add_qu8_broadcast_relu),
	   TEST_ENTRY(ops_add_qs8_cross_broadcast),
	   TEST_ENTRY(ops_sub_qu8),
	   TEST_ENTRY(ops_sub_qs8_broadcast_relu6),
	   TEST_ENTRY(ops_mul_qu8_broadcast),
	   TEST_ENTRY(ops_mul_qs8),
	   TEST_ENTRY(ops_relu_f32),
	   TEST_ENTRY(ops_relu6_f32),
	   TEST_ENTRY(ops_relu_n1_to_1_f32),
	   TEST_ENTRY(ops_relu_u8),
	   TEST_ENTRY(ops_relu6_s8),
	   TEST_ENTRY(ops_relu_n1_to_1_u8),
	   TEST_ENTRY(ops_logistic_f32),
	   TEST_ENTRY(ops_logistic_qu8),
	   TEST_ENTRY(ops_logistic_qs8),
	   TEST_ENTRY(ops_tanh_qu8),
	   TEST_ENTRY(ops_tanh_qs8),
	   TEST_ENTRY(ops_hard_swish_f32),
	   TEST_ENTRY(ops_leaky_relu_f32),
	   TEST_ENTRY(ops_leaky_relu_qu8_requantize),
	   TEST_ENTRY(ops_softmax_f32),
	   TEST_ENTRY(ops_softmax_qu8),
	   TEST_ENTRY(ops_softmax_qu8_beta),
	   TEST_ENTRY(ops_quantize_f32_to_u8),
	   TEST_ENTRY(ops_quantize_f32_to_s8),
	   TEST_ENTRY(ops_quantize_u8_requantize),
	   TEST_ENTRY(ops_dequantize_u8),
	   TEST_ENTRY(ops_dequantize_s8),
	   TEST_ENTRY(ops_dequantize_f16),
	   TEST_ENTRY(ops_prelu_f32),
	   TEST_ENTRY(ops_pad_f32),
	   TEST_ENTRY(ops_pad_u8),
	   TEST_ENTRY(ops_pad_s8),
	   TEST_ENTRY(ops_resize_bilinear_f32_half_pixel),
	   TEST_ENTRY(ops_resize_bilinear_f32_align_corners),
	   TEST_ENTRY(ops_resize_bilinear_f32_legacy),
	   TEST_ENTRY(ops_resize_bilinear_u8_half_pixel),
	   TEST_ENTRY(ops_resize_bilinear_s8_align_corners),
	   TEST_ENTRY(ops_concat_f32_channels),
	   TEST_ENTRY(ops_concat_f32_axis1),
	   TEST_ENTRY(ops_concat_u8_negative_axis),
	   TEST_ENTRY(ops_concat_s8_axis0),
	   TEST_ENTRY(ops_concat_u8_requantize),
	   TEST_ENTRY(ops_fallback_to_reference));
