/*
 * ONNX Resize's cubic interpolation, explicit scales and tf_crop_and_resize
 * against ONNX Runtime's outputs (onnx_resize_ort.h's ort_resize_ext_cases,
 * written by tests/oracle/resize_cases.py), and ONNX Pad's reflect, edge and
 * non-zero constant modes against index arithmetic written here, also behind
 * a convolution, which must not take a non-zero pad as its own padding.
 * Also ONNX MaxPool and AveragePool (dilations, ceil_mode, count_include_pad,
 * MaxPool's Indices) through the ONNX loader against ONNX Runtime's outputs
 * (onnx_pool_ort.h, written by tests/oracle/pool_cases.py).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "nn/format/onnx.h"
#include "nn/model.h"
#include "nn_build.h"
#include "onnx_pool_ort.h"
#include "onnx_resize_ort.h"
#include "pb_builder.h"
#include "test.h"

typedef nn_graph *(*builder)(const void *arg);

/* reference_only: the reference kernels alone; else the default choice of backends. */
static nn_model *prepare(builder build, const void *arg, int reference_only)
{
	nn_model *m;
	char err[512];
	CHECK_MSG(nn_model_from_graph(&m, build(arg), err, sizeof err) == 0, "%s", err);
	nn_prepare_options opt = { .threads = 1, .reference_only = reference_only };
	CHECK_MSG(nn_model_prepare(m, &opt, err, sizeof err) == 0, "%s", err);
	return m;
}

static void feed_run(nn_model *m, const float *x, size_t count)
{
	nn_tensor *t = nn_model_input(m, 0);
	CHECK_MSG(nn_tensor_bytes(t) == count * sizeof(float), "input takes %zu bytes, not %zu", nn_tensor_bytes(t),
		  count * sizeof(float));
	memcpy(t->data, x, count * sizeof(float));
	char err[512];
	int rc = nn_model_run(m, err, sizeof err);
	CHECK_MSG(rc == 0, "run: rc %d: %s", rc, err);
}

static void expect_close(const nn_model *m, const float *want, size_t count, float tol, const char *what)
{
	const nn_tensor *t = nn_model_output(m, 0);
	CHECK_MSG(t->dtype == NN_F32 && (size_t)nn_tensor_elements(t) == count, "%s: output shape or dtype", what);
	const float *got = t->data;
	for (size_t k = 0; k < count; k++)
		CHECK_MSG(got[k] == want[k] || fabsf(got[k] - want[k]) <= tol * fmaxf(1.0f, fabsf(want[k])),
			  "%s: element %zu is %.9g, expected %.9g", what, k, (double)got[k], (double)want[k]);
}

/* ---- Resize ---- */

static nn_graph *build_ext_resize(const void *arg)
{
	const ort_resize_ext_case *c = arg;
	static const nn_op ops[3] = { NN_OP_RESIZE_NEAREST, NN_OP_RESIZE_BILINEAR, NN_OP_RESIZE_CUBIC };
	nn_graph *g = nn_graph_create("resize");
	int x = tb_tensor(g, "x", NN_F32, 4, 1, c->ih, c->iw, 1), y = tb_tensor(g, "y", NN_F32, 4, 1, c->oh, c->ow, 1);
	int ni = tb_node(g, ops[c->mode], "resize", TB_LIST(x), TB_LIST(y));
	nn_node *n = &g->nodes[ni];
	n->p.resize.coord = (nn_resize_coord)c->coord;
	n->p.resize.nearest = (nn_resize_nearest)c->nearest;
	n->p.resize.scale_h = c->scale_h;
	n->p.resize.scale_w = c->scale_w;
	n->p.resize.cubic_a = c->cubic_a;
	n->p.resize.exclude_outside = c->exclude_outside;
	n->p.resize.roi_h[0] = c->roi[0], n->p.resize.roi_w[0] = c->roi[1];
	n->p.resize.roi_h[1] = c->roi[2], n->p.resize.roi_w[1] = c->roi[3];
	n->p.resize.extrapolation = c->extrapolation;
	tb_io(g, TB_LIST(x), TB_LIST(y));
	return g;
}

/*
 * Every case on the reference kernel and on the default choice, which must
 * be the reference too: XNNPACK has no cubic, no crop box and maps
 * coordinates with out / in, never an explicit scale.
 */
TEST(resize_ext_ort_oracle)
{
	int n = (int)(sizeof ort_resize_ext_cases / sizeof ort_resize_ext_cases[0]), cubic = 0, crop = 0, scaled = 0;
	for (int k = 0; k < n; k++) {
		const ort_resize_ext_case *c = &ort_resize_ext_cases[k];
		cubic += c->mode == 2, crop += c->coord == NN_RESIZE_TF_CROP_AND_RESIZE, scaled += c->scale_h > 0;
		for (int ref = 1; ref >= 0; ref--) {
			nn_model *m = prepare(build_ext_resize, c, ref);
			char what[160];
			snprintf(what, sizeof what, "case %d (mode %d, coord %d, nearest %d, %dx%d -> %dx%d, scales %g %g, %s)",
				 k, c->mode, c->coord, c->nearest, c->ih, c->iw, c->oh, c->ow, (double)c->scale_h,
				 (double)c->scale_w, nn_model_node_backend(m, 0));
			CHECK_MSG(strcmp(nn_model_node_backend(m, 0), "reference") == 0, "%s: not the reference kernel",
				  what);
			feed_run(m, c->x, (size_t)(c->ih * c->iw));
			expect_close(m, c->y, (size_t)(c->oh * c->ow), 1e-5f, what);
			nn_model_free(m);
		}
	}
	CHECK_MSG(cubic >= 40 && crop >= 18 && scaled >= 100, "%d cubic, %d crop, %d scaled cases", cubic, crop, scaled);
}

/*
 * A file's roi can be NaN or huge (a fuzzer's find): a crop box that is NaN
 * samples nothing, so every element is the extrapolation value; one far
 * outside reads the edge pixel (every tap clamps there) and stays defined.
 */
TEST(resize_nonfinite_roi)
{
	static const float x[6] = { 1, 2, 3, 4, 5, 6 };
	for (int mode = 0; mode < 3; mode++) {
		ort_resize_ext_case c = { .mode = mode, .coord = NN_RESIZE_TF_CROP_AND_RESIZE, .ih = 2, .iw = 3, .oh = 3,
					  .ow = 2, .cubic_a = -0.75f, .roi = { NAN, 0, 1, 1 }, .extrapolation = 7.5f,
					  .x = x };
		nn_model *m = prepare(build_ext_resize, &c, 1);
		feed_run(m, x, 6);
		const float *got = nn_model_output(m, 0)->data;
		for (int k = 0; k < 6; k++)
			CHECK_MSG(got[k] == 7.5f, "mode %d NaN roi: element %d is %g, not the extrapolation value", mode,
				  k, (double)got[k]);
		nn_model_free(m);
		c.coord = NN_RESIZE_HALF_PIXEL;
		c.scale_h = c.scale_w = 1e-30f; /* maps every output far past the input's last pixel */
		m = prepare(build_ext_resize, &c, 1);
		feed_run(m, x, 6);
		got = nn_model_output(m, 0)->data;
		for (int k = 0; k < 6; k++)
			CHECK_MSG(got[k] == 6.0f, "mode %d huge coordinate: element %d is %g, not the last pixel", mode, k,
				  (double)got[k]);
		nn_model_free(m);
	}
}

/* Resize-10 and Upsample-9 with scales through the ONNX loader (nearest rounds up on a shrinking axis there). */
static void graph_value(pbb *g, uint32_t field, const char *name, int rank, const int64_t *dims);

static void legacy_model(pbb *m, const ort_resize_legacy_case *c)
{
	pbb g = { 0 }, nd = { 0 }, init = { 0 }, a = { 0 };
	const float sc[4] = { 1, 1, c->scale_h, c->scale_w };
	const int64_t four = 4;
	pbb_packed_varints(&init, 1, &four, 1);
	pbb_int(&init, 2, 1);
	pbb_str(&init, 8, "scales");
	pbb_bytes(&init, 9, sc, sizeof sc);
	pbb_msg(&g, 5, &init);
	pbb_str(&nd, 1, "x");
	pbb_str(&nd, 1, "scales");
	pbb_str(&nd, 2, "y");
	pbb_str(&nd, 3, "resize");
	pbb_str(&nd, 4, c->op ? "Upsample" : "Resize");
	pbb_str(&a, 1, "mode");
	pbb_int(&a, 20, 3);
	pbb_str(&a, 4, c->mode ? "linear" : "nearest");
	pbb_msg(&nd, 5, &a);
	pbb_msg(&g, 1, &nd);
	const int64_t xs[4] = { 1, 1, c->ih, c->iw };
	graph_value(&g, 11, "x", 4, xs);
	graph_value(&g, 12, "y", -1, NULL);
	pbb_int(m, 1, 7);
	pbb_str(m, 2, "vigil-test");
	pbb_msg(m, 7, &g);
	pbb o = { 0 };
	pbb_str(&o, 1, "");
	pbb_int(&o, 2, c->opset);
	pbb_msg(m, 8, &o);
	pbb_free(&g);
}

TEST(resize_legacy_ort_oracle)
{
	int n = (int)(sizeof ort_resize_legacy_cases / sizeof ort_resize_legacy_cases[0]);
	for (int k = 0; k < n; k++) {
		const ort_resize_legacy_case *c = &ort_resize_legacy_cases[k];
		for (int ref = 1; ref >= 0; ref--) {
			pbb mb = { 0 };
			legacy_model(&mb, c);
			nn_graph *g = NULL;
			nn_model *m;
			char err[1024];
			CHECK_MSG(nn_onnx_load_buffer(&g, mb.p, mb.len, "legacy.onnx", NULL, err, sizeof err) == 0,
				  "case %d: %s", k, err);
			pbb_free(&mb);
			CHECK_MSG(nn_model_from_graph(&m, g, err, sizeof err) == 0, "case %d: %s", k, err);
			nn_prepare_options opt = { .threads = 1, .reference_only = ref };
			CHECK_MSG(nn_model_prepare(m, &opt, err, sizeof err) == 0, "case %d: %s", k, err);
			char what[96];
			snprintf(what, sizeof what, "legacy case %d (%s-%d %s, %s)", k, c->op ? "Upsample" : "Resize",
				 c->opset, c->mode ? "linear" : "nearest", ref ? "reference" : "default");
			feed_run(m, c->x, (size_t)(c->ih * c->iw));
			expect_close(m, c->y, (size_t)(c->oh * c->ow), 1e-5f, what);
			nn_model_free(m);
		}
	}
}

/* ---- Pad ---- */

typedef struct pad_arg {
	nn_pad_mode mode;
	float value;
	int h, w, pads[4]; /* top, bottom, left, right */
	int conv;          /* a 3x3 all-ones VALID convolution reads the padded tensor */
} pad_arg;

static nn_graph *build_pad(const void *arg)
{
	const pad_arg *a = arg;
	nn_graph *g = nn_graph_create("pad");
	int ph = a->h + a->pads[0] + a->pads[1], pw = a->w + a->pads[2] + a->pads[3];
	int x = tb_tensor(g, "x", NN_F32, 4, 1, a->h, a->w, 1), p = tb_tensor(g, "p", NN_F32, 4, 1, ph, pw, 1);
	int ni = tb_node(g, NN_OP_PAD, "pad", TB_LIST(x), TB_LIST(p));
	nn_node *n = &g->nodes[ni];
	n->p.pad.pads[1][0] = a->pads[0], n->p.pad.pads[1][1] = a->pads[1];
	n->p.pad.pads[2][0] = a->pads[2], n->p.pad.pads[2][1] = a->pads[3];
	n->p.pad.mode = a->mode;
	n->p.pad.value = a->value;
	if (!a->conv) {
		tb_io(g, TB_LIST(x), TB_LIST(p));
		return g;
	}
	int w = tb_tensor(g, "w", NN_F32, 4, 1, 3, 3, 1), b = tb_tensor(g, "b", NN_F32, 1, 1);
	int y = tb_tensor(g, "y", NN_F32, 4, 1, ph - 2, pw - 2, 1);
	const float ones[9] = { 1, 1, 1, 1, 1, 1, 1, 1, 1 }, zero[1] = { 0 };
	tb_const_values(g, w, ones);
	tb_const_values(g, b, zero);
	int c = tb_node(g, NN_OP_CONV2D, "conv", TB_LIST(p, w, b), TB_LIST(y));
	g->nodes[c].p.conv = (nn_conv_params){ .stride_h = 1, .stride_w = 1, .dilation_h = 1, .dilation_w = 1,
					       .padding = NN_PADDING_VALID };
	tb_io(g, TB_LIST(x), TB_LIST(y));
	return g;
}

/*
 * The padded image worked out from the definitions: reflect mirrors about
 * the first and last pixel (..., 2, 1, [0, 1, 2, ...]), edge repeats them.
 */
static float padded_at(const pad_arg *a, const float *x, int r, int c)
{
	int i = r - a->pads[0], j = c - a->pads[2];
	if (a->mode == NN_PAD_CONSTANT && (i < 0 || i >= a->h || j < 0 || j >= a->w))
		return a->value;
	if (a->mode == NN_PAD_EDGE) {
		i = i < 0 ? 0 : i >= a->h ? a->h - 1 : i;
		j = j < 0 ? 0 : j >= a->w ? a->w - 1 : j;
	} else if (a->mode == NN_PAD_REFLECT) {
		/* A one-pixel axis has nothing to mirror but itself. */
		i = a->h == 1 ? 0 : i;
		j = a->w == 1 ? 0 : j;
		while (i < 0 || i >= a->h)
			i = i < 0 ? -i : 2 * (a->h - 1) - i;
		while (j < 0 || j >= a->w)
			j = j < 0 ? -j : 2 * (a->w - 1) - j;
	}
	return x[i * a->w + j];
}

static void check_pad(const pad_arg *a, const char *what)
{
	float x[64], want[256];
	for (int k = 0; k < a->h * a->w; k++)
		x[k] = (float)(k * 7 % 13) - 4.5f;
	int ph = a->h + a->pads[0] + a->pads[1], pw = a->w + a->pads[2] + a->pads[3];
	int oh = a->conv ? ph - 2 : ph, ow = a->conv ? pw - 2 : pw;
	for (int r = 0; r < oh; r++)
		for (int c = 0; c < ow; c++) {
			float s = 0;
			if (!a->conv)
				s = padded_at(a, x, r, c);
			else
				for (int dr = 0; dr < 3; dr++)
					for (int dc = 0; dc < 3; dc++)
						s += padded_at(a, x, r + dr, c + dc);
			want[r * ow + c] = s;
		}
	for (int ref = 1; ref >= 0; ref--) {
		nn_model *m = prepare(build_pad, a, ref);
		char buf[160];
		snprintf(buf, sizeof buf, "%s (%s)", what, ref ? "reference" : nn_model_node_backend(m, 0));
		feed_run(m, x, (size_t)(a->h * a->w));
		expect_close(m, want, (size_t)(oh * ow), 1e-6f, buf);
		if (a->conv) {
			/* The pad stays a node of its own unless it is a zero constant. */
			int folded = nn_model_graph(m)->n_nodes == 1;
			CHECK_MSG(folded == (a->mode == NN_PAD_CONSTANT && a->value == 0.0f), "%s: %d nodes", buf,
				  nn_model_graph(m)->n_nodes);
		}
		nn_model_free(m);
	}
}

TEST(pad_modes)
{
	pad_arg a = { NN_PAD_REFLECT, 0, 3, 4, { 2, 1, 3, 2 }, 0 };
	check_pad(&a, "reflect");
	a.mode = NN_PAD_EDGE;
	check_pad(&a, "edge");
	a.mode = NN_PAD_CONSTANT, a.value = 1.5f;
	check_pad(&a, "constant 1.5");
	a.value = -INFINITY;
	check_pad(&a, "constant -inf");
	/* One-pixel axes reflect onto themselves. */
	pad_arg one = { NN_PAD_REFLECT, 0, 1, 5, { 2, 2, 1, 3 }, 0 };
	check_pad(&one, "reflect of a one-pixel axis");
}

TEST(pad_not_folded_unless_zero)
{
	pad_arg a = { NN_PAD_REFLECT, 0, 4, 5, { 1, 1, 1, 1 }, 1 };
	check_pad(&a, "reflect into conv");
	a.mode = NN_PAD_EDGE;
	check_pad(&a, "edge into conv");
	a.mode = NN_PAD_CONSTANT, a.value = 2.0f;
	check_pad(&a, "constant 2 into conv");
	a.value = 0.0f;
	check_pad(&a, "constant 0 into conv");
}

/* Plain int32 pads as the ONNX tests do (test_edge_pad and test_reflect_pad use int32). */
static nn_graph *build_pad_i32(const void *arg)
{
	const pad_arg *a = arg;
	nn_graph *g = nn_graph_create("pad_i32");
	int x = tb_tensor(g, "x", NN_I32, 2, a->h, a->w);
	int p = tb_tensor(g, "p", NN_I32, 2, a->h + a->pads[0] + a->pads[1], a->w + a->pads[2] + a->pads[3]);
	int ni = tb_node(g, NN_OP_PAD, "pad", TB_LIST(x), TB_LIST(p));
	nn_node *n = &g->nodes[ni];
	n->p.pad.pads[0][0] = a->pads[0], n->p.pad.pads[0][1] = a->pads[1];
	n->p.pad.pads[1][0] = a->pads[2], n->p.pad.pads[1][1] = a->pads[3];
	n->p.pad.mode = a->mode;
	n->p.pad.value = a->value;
	tb_io(g, TB_LIST(x), TB_LIST(p));
	return g;
}

TEST(pad_int32)
{
	const nn_pad_mode modes[3] = { NN_PAD_CONSTANT, NN_PAD_REFLECT, NN_PAD_EDGE };
	for (int k = 0; k < 3; k++) {
		pad_arg a = { modes[k], 7, 3, 3, { 1, 2, 2, 1 }, 0 };
		int32_t x[9];
		float xf[9];
		for (int i = 0; i < 9; i++)
			x[i] = 100 * i - 300, xf[i] = (float)x[i];
		nn_model *m = prepare(build_pad_i32, &a, 0);
		nn_tensor *t = nn_model_input(m, 0);
		CHECK(nn_tensor_bytes(t) == sizeof x);
		memcpy(t->data, x, sizeof x);
		char err[512];
		CHECK_MSG(nn_model_run(m, err, sizeof err) == 0, "%s", err);
		const int32_t *got = nn_model_output(m, 0)->data;
		for (int r = 0; r < 6; r++)
			for (int c = 0; c < 6; c++)
				CHECK_MSG(got[r * 6 + c] == (int32_t)padded_at(&a, xf, r, c), "mode %d: [%d][%d] is %d, expected %g",
					  (int)a.mode, r, c, got[r * 6 + c], (double)padded_at(&a, xf, r, c));
		nn_model_free(m);
	}
}

/* ---- Pooling through the ONNX loader ---- */

/* One ONNX node's attribute: ints (n > 0) or an int. */
static void attr_ints(pbb *nd, const char *name, const int64_t *v, int n)
{
	pbb a = { 0 };
	pbb_str(&a, 1, name);
	if (n > 0) {
		pbb_int(&a, 20, 7);
		pbb_packed_varints(&a, 8, v, n);
	} else {
		pbb_int(&a, 20, 2);
		pbb_int(&a, 3, v[0]);
	}
	pbb_msg(nd, 5, &a);
}

static void graph_value(pbb *g, uint32_t field, const char *name, int rank, const int64_t *dims)
{
	pbb vi = { 0 }, tp = { 0 }, tt = { 0 }, sh = { 0 };
	for (int d = 0; d < rank; d++) {
		pbb dim = { 0 };
		pbb_int(&dim, 1, dims[d]);
		pbb_msg(&sh, 1, &dim);
	}
	pbb_int(&tt, 1, field == 12 && strcmp(name, "z") == 0 ? 7 : 1);
	if (rank >= 0)
		pbb_msg(&tt, 2, &sh);
	pbb_msg(&tp, 1, &tt);
	pbb_str(&vi, 1, name);
	pbb_msg(&vi, 2, &tp);
	pbb_msg(g, field, &vi);
	pbb_free(&sh);
}

/* The case as an opset-12 ModelProto: x [1, C, ih, iw] -> MaxPool (y, z) or AveragePool (y). */
static void pool_model(pbb *m, const ort_pool_case *c)
{
	pbb g = { 0 }, nd = { 0 };
	pbb_str(&nd, 1, "x");
	pbb_str(&nd, 2, "y");
	if (c->max)
		pbb_str(&nd, 2, "z");
	pbb_str(&nd, 3, "pool");
	pbb_str(&nd, 4, c->max ? "MaxPool" : "AveragePool");
	const int64_t k[2] = { c->k[0], c->k[1] }, s[2] = { c->s[0], c->s[1] }, d[2] = { c->d[0], c->d[1] };
	const int64_t pads[4] = { c->pads[0], c->pads[1], c->pads[2], c->pads[3] };
	const int64_t ceil_mode = c->ceil_mode, include = c->count_include_pad, order = c->storage_order;
	attr_ints(&nd, "kernel_shape", k, 2);
	attr_ints(&nd, "strides", s, 2);
	attr_ints(&nd, "pads", pads, 4);
	attr_ints(&nd, "ceil_mode", &ceil_mode, 0);
	if (c->max) {
		attr_ints(&nd, "dilations", d, 2);
		attr_ints(&nd, "storage_order", &order, 0);
	} else {
		attr_ints(&nd, "count_include_pad", &include, 0);
	}
	pbb_msg(&g, 1, &nd);
	const int64_t xs[4] = { 1, c->c, c->ih, c->iw };
	graph_value(&g, 11, "x", 4, xs);
	graph_value(&g, 12, "y", -1, NULL);
	if (c->max)
		graph_value(&g, 12, "z", -1, NULL);
	pbb_int(m, 1, 7);
	pbb_str(m, 2, "vigil-test");
	pbb_msg(m, 7, &g);
	pbb o = { 0 };
	pbb_str(&o, 1, "");
	pbb_int(&o, 2, 12);
	pbb_msg(m, 8, &o);
	pbb_free(&g);
}

TEST(pool_ort_oracle)
{
	int n = (int)(sizeof ort_pool_cases / sizeof ort_pool_cases[0]);
	for (int k = 0; k < n; k++) {
		const ort_pool_case *c = &ort_pool_cases[k];
		for (int ref = 1; ref >= 0; ref--) {
			pbb mb = { 0 };
			pool_model(&mb, c);
			nn_graph *g = NULL;
			nn_model *m;
			char err[1024];
			CHECK_MSG(nn_onnx_load_buffer(&g, mb.p, mb.len, "pool.onnx", NULL, err, sizeof err) == 0,
				  "case %d: %s", k, err);
			pbb_free(&mb);
			CHECK_MSG(nn_model_from_graph(&m, g, err, sizeof err) == 0, "case %d: %s", k, err);
			nn_prepare_options opt = { .threads = 1, .reference_only = ref };
			CHECK_MSG(nn_model_prepare(m, &opt, err, sizeof err) == 0, "case %d: %s", k, err);
			char what[96];
			snprintf(what, sizeof what, "case %d (%s, %s)", k, c->max ? "MaxPool" : "AveragePool",
				 ref ? "reference" : "default");
			feed_run(m, c->x, (size_t)(c->c * c->ih * c->iw));
			expect_close(m, c->y, (size_t)(c->c * c->oh * c->ow), 1e-6f, what);
			if (c->max) {
				const nn_tensor *z = nn_model_output(m, 1);
				CHECK_MSG(z->dtype == NN_I64 && nn_tensor_elements(z) == c->c * c->oh * c->ow,
					  "%s: indices shape or dtype", what);
				const int64_t *got = z->data;
				for (int i = 0; i < c->c * c->oh * c->ow; i++)
					CHECK_MSG(got[i] == c->indices[i], "%s: index %d is %lld, expected %lld", what, i,
						  (long long)got[i], (long long)c->indices[i]);
			}
			nn_model_free(m);
		}
	}
}

/* A 3-D case as an opset-12 ModelProto: x [1, C, id, ih, iw] -> MaxPool or AveragePool -> y. */
static void pool3d_model(pbb *m, const ort_pool3d_case *c)
{
	pbb g = { 0 }, nd = { 0 };
	pbb_str(&nd, 1, "x");
	pbb_str(&nd, 2, "y");
	pbb_str(&nd, 3, "pool3d");
	pbb_str(&nd, 4, c->max ? "MaxPool" : "AveragePool");
	int64_t k[3], s[3], d[3], pads[6];
	for (int i = 0; i < 3; i++)
		k[i] = c->k[i], s[i] = c->s[i], d[i] = c->d[i], pads[i] = c->pads[i], pads[i + 3] = c->pads[i + 3];
	const int64_t ceil_mode = c->ceil_mode, include = c->count_include_pad;
	attr_ints(&nd, "kernel_shape", k, 3);
	attr_ints(&nd, "strides", s, 3);
	attr_ints(&nd, "pads", pads, 6);
	attr_ints(&nd, "ceil_mode", &ceil_mode, 0);
	if (c->max)
		attr_ints(&nd, "dilations", d, 3);
	else
		attr_ints(&nd, "count_include_pad", &include, 0);
	pbb_msg(&g, 1, &nd);
	const int64_t xs[5] = { 1, c->c, c->id, c->ih, c->iw };
	graph_value(&g, 11, "x", 5, xs);
	graph_value(&g, 12, "y", -1, NULL);
	pbb_int(m, 1, 7);
	pbb_str(m, 2, "vigil-test");
	pbb_msg(m, 7, &g);
	pbb o = { 0 };
	pbb_str(&o, 1, "");
	pbb_int(&o, 2, 12);
	pbb_msg(m, 8, &o);
	pbb_free(&g);
}

/* 3-D pooling, which the loader splits into a height-width pool and a depth pool. */
TEST(pool3d_ort_oracle)
{
	int n = (int)(sizeof ort_pool3d_cases / sizeof ort_pool3d_cases[0]);
	for (int k = 0; k < n; k++) {
		const ort_pool3d_case *c = &ort_pool3d_cases[k];
		for (int ref = 1; ref >= 0; ref--) {
			pbb mb = { 0 };
			pool3d_model(&mb, c);
			nn_graph *g = NULL;
			nn_model *m;
			char err[1024];
			CHECK_MSG(nn_onnx_load_buffer(&g, mb.p, mb.len, "pool3d.onnx", NULL, err, sizeof err) == 0,
				  "case %d: %s", k, err);
			pbb_free(&mb);
			CHECK_MSG(nn_model_from_graph(&m, g, err, sizeof err) == 0, "case %d: %s", k, err);
			nn_prepare_options opt = { .threads = 1, .reference_only = ref };
			CHECK_MSG(nn_model_prepare(m, &opt, err, sizeof err) == 0, "case %d: %s", k, err);
			char what[96];
			snprintf(what, sizeof what, "3-D case %d (%s, %s)", k, c->max ? "MaxPool" : "AveragePool",
				 ref ? "reference" : "default");
			feed_run(m, c->x, (size_t)(c->c * c->id * c->ih * c->iw));
			expect_close(m, c->y, (size_t)(c->c * c->od * c->oh * c->ow), 1e-5f, what);
			nn_model_free(m);
		}
	}
}

TEST_SUITE(nn_resize_pad,
	   TEST_ENTRY(resize_nonfinite_roi),
	   TEST_ENTRY(resize_ext_ort_oracle),
	   TEST_ENTRY(resize_legacy_ort_oracle),
	   TEST_ENTRY(pad_modes),
	   TEST_ENTRY(pad_not_folded_unless_zero),
	   TEST_ENTRY(pad_int32),
	   TEST_ENTRY(pool_ort_oracle),
	   TEST_ENTRY(pool3d_ort_oracle));
