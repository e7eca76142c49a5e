/*
 * Tests of the Keras config reader (src/nn/format/keras.c, keras_layers.c)
 * through nn_keras_build with weights held in memory: small configs in the
 * spellings of Keras 2.0 to 3, checked against values worked out here; the
 * BatchNormalization fold; and configs and weights that must fail, each with
 * a message naming the problem. The HDF5 side is covered by
 * tests/integration/test_keras_bad.py and test_keras_oracle.py.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/format/keras.h"
#include "nn/graph.h"
#include "nn/model.h"
#include "test.h"

/* ---- weights in memory ---- */

typedef struct mw {
	const char *layer;
	int rank;
	int64_t shape[4];
	const float *values;   /* NULL: 0.01 * (i + 1) */
} mw;

typedef struct mws {
	const mw *w;
	int n;
} mws;

static int find(const mws *s, const char *layer, int i)
{
	for (int k = 0, seen = 0; k < s->n; k++)
		if (!strcmp(s->w[k].layer, layer) && seen++ == i)
			return k;
	return -1;
}

static int m_count(void *ctx, const char *layer, int expected, char *why, size_t whylen)
{
	(void)expected, (void)why, (void)whylen;
	const mws *s = ctx;
	int n = 0;
	while (find(s, layer, n) >= 0)
		n++;
	return n;
}

static int m_info(void *ctx, const char *layer, int i, const char *role, int rank, const int64_t *shape,
		  nn_keras_weight *w, char *why, size_t whylen)
{
	(void)role, (void)rank, (void)shape;
	int k = find(ctx, layer, i);
	if (k < 0) {
		snprintf(why, whylen, "no weight %d", i);
		return NN_ERR_FORMAT;
	}
	const mw *x = &((const mws *)ctx)->w[k];
	snprintf(w->name, sizeof w->name, "%s/w%d", layer, i);
	w->rank = x->rank;
	memcpy(w->shape, x->shape, sizeof x->shape);
	return 0;
}

static int m_read(void *ctx, const char *layer, int i, float *dst, int64_t n, char *why, size_t whylen)
{
	(void)why, (void)whylen;
	const mw *x = &((const mws *)ctx)->w[find(ctx, layer, i)];
	for (int64_t j = 0; j < n; j++)
		dst[j] = x->values ? x->values[j] : 0.01f * (float)(j + 1);
	return 0;
}

static int build(const char *json, const mw *w, int n, nn_graph **g, char *err, size_t errlen)
{
	mws s = { w, n };
	nn_keras_weights api = { &s, m_count, m_info, m_read };
	return nn_keras_build(g, json, strlen(json), "2.9.0", &api, "test.h5", err, errlen);
}

/* Builds, prepares (reference kernels or the default backends) and runs on x; copies output k into y. */
static void run(const char *json, const mw *w, int n, int reference, const float *x, int k, float *y, int64_t ny)
{
	nn_graph *g;
	char err[1024];
	int rc = build(json, w, n, &g, err, sizeof err);
	CHECK_MSG(rc == 0, "%s", err);
	nn_model *m;
	CHECK(nn_model_from_graph(&m, g, err, sizeof err) == 0);
	nn_prepare_options po = { .threads = 1, .reference_only = reference };
	rc = nn_model_prepare(m, &po, err, sizeof err);
	CHECK_MSG(rc == 0, "%s", err);
	nn_tensor *in = nn_model_input(m, 0);
	memcpy(in->data, x, nn_tensor_bytes(in));
	rc = nn_model_run(m, err, sizeof err);
	CHECK_MSG(rc == 0, "%s", err);
	const nn_tensor *out = nn_model_output(m, k);
	CHECK_MSG(nn_tensor_elements(out) == ny, "output %d has %lld elements, expected %lld", k,
		  (long long)nn_tensor_elements(out), (long long)ny);
	memcpy(y, out->data, (size_t)ny * sizeof *y);
	nn_model_free(m);
}

static void near(const float *got, const float *want, int n, float tol)
{
	for (int i = 0; i < n; i++)
		CHECK_MSG(fabsf(got[i] - want[i]) <= tol, "element %d: %g, expected %g", i, got[i], want[i]);
}

#define IN(shape) "{\"class_name\":\"InputLayer\",\"config\":{\"name\":\"in\",\"batch_input_shape\":" shape "}}"
#define FIN(shape) \
	"{\"class_name\":\"InputLayer\",\"name\":\"in\",\"config\":{\"name\":\"in\",\"batch_input_shape\":" shape \
	"},\"inbound_nodes\":[]}"
#define FL(cls, name, cfg, ins) \
	"{\"class_name\":\"" cls "\",\"name\":\"" name "\",\"config\":{\"name\":\"" name "\"" cfg "},\"inbound_nodes\":[" ins "]}"
#define REF(n) "[\"" n "\",0,0,{}]"
#define FUNC(layers, outs) \
	"{\"class_name\":\"Functional\",\"config\":{\"name\":\"m\",\"layers\":[" layers \
	"],\"input_layers\":[[\"in\",0,0]],\"output_layers\":[" outs "]}}"

TEST(keras_dense_on_rank3)
{
	/* Dense acts on the last axis: [1,2,3] x kernel [3,2] + bias. */
	const char *json = "{\"class_name\":\"Sequential\",\"config\":{\"name\":\"s\",\"layers\":[" IN("[null,2,3]")
			   ",{\"class_name\":\"Dense\",\"config\":{\"name\":\"d\",\"units\":2,\"use_bias\":true,"
			   "\"activation\":\"relu\"}}]}}";
	const float kernel[6] = { 1, -1, 2, 0, -3, 1 }, bias[2] = { 0.5f, -0.5f };
	const mw w[] = { { "d", 2, { 3, 2 }, kernel }, { "d", 1, { 2 }, bias } };
	const float x[6] = { 1, 2, 3, -1, 0, 2 };
	float want[4], y[4];
	for (int r = 0; r < 2; r++)
		for (int u = 0; u < 2; u++) {
			float acc = bias[u];
			for (int i = 0; i < 3; i++)
				acc += x[r * 3 + i] * kernel[i * 2 + u];
			want[r * 2 + u] = acc > 0 ? acc : 0;
		}
	for (int ref = 0; ref < 2; ref++) {
		run(json, w, 2, ref, x, 0, y, 4);
		near(y, want, 4, 1e-5f);
	}
}

TEST(keras_activations_and_merges)
{
	/* ReLU(negative_slope, max_value), ReLU(6), LeakyReLU, hard_sigmoid (Keras 2), Subtract, Average, Minimum. */
	const char *json = FUNC(
		FIN("[null,6]") ","
		FL("ReLU", "r1", ",\"negative_slope\":0.5,\"max_value\":1.0,\"threshold\":0.0", "[" REF("in") "]") ","
		FL("ReLU", "r6", ",\"max_value\":6", "[" REF("in") "]") ","
		FL("LeakyReLU", "lk", ",\"alpha\":0.1", "[" REF("in") "]") ","
		FL("Activation", "hs", ",\"activation\":\"hard_sigmoid\"", "[" REF("in") "]") ","
		FL("Subtract", "sub", "", "[" REF("r1") "," REF("lk") "]") ","
		FL("Average", "avg", "", "[" REF("sub") "," REF("hs") "," REF("r6") "]") ","
		FL("Minimum", "min", "", "[" REF("avg") "," REF("in") "]"),
		"[\"min\",0,0],[\"sub\",0,0]");
	const float x[6] = { -8, -2, -0.5f, 0.3f, 2, 9 };
	float want_min[6], want_sub[6], y[6];
	for (int i = 0; i < 6; i++) {
		float v = x[i];
		float r1 = v >= 0 ? fminf(v, 1.0f) : 0.5f * v;
		float r6 = fminf(fmaxf(v, 0), 6);
		float lk = v >= 0 ? v : 0.1f * v;
		float hs = fminf(fmaxf(0.2f * v + 0.5f, 0), 1);
		want_sub[i] = r1 - lk;
		want_min[i] = fminf((want_sub[i] + hs + r6) / 3.0f, v);
	}
	for (int ref = 0; ref < 2; ref++) {
		run(json, NULL, 0, ref, x, 0, y, 6);
		near(y, want_min, 6, 1e-5f);
		run(json, NULL, 0, ref, x, 1, y, 6);
		near(y, want_sub, 6, 1e-5f);
	}
}

TEST(keras_batchnorm_folds_into_conv)
{
	const char *json = FUNC(
		FIN("[null,2,2,2]") ","
		FL("Conv2D", "c", ",\"filters\":2,\"kernel_size\":[1,1],\"strides\":[1,1],\"padding\":\"valid\","
				  "\"use_bias\":false,\"activation\":\"linear\"", "[" REF("in") "]") ","
		FL("BatchNormalization", "bn", ",\"axis\":-1,\"epsilon\":0.5,\"center\":true,\"scale\":true",
		   "[" REF("c") "]"),
		"[\"bn\",0,0]");
	const float k[4] = { 1, 2, -1, 0.5f }; /* HWIO [1,1,2,2] */
	const float gamma[2] = { 2, -1 }, beta[2] = { 0.25f, 1 }, mean[2] = { 1, -1 }, var[2] = { 1.5f, 3.5f };
	const mw w[] = { { "c", 4, { 1, 1, 2, 2 }, k }, { "bn", 1, { 2 }, gamma }, { "bn", 1, { 2 }, beta },
			 { "bn", 1, { 2 }, mean }, { "bn", 1, { 2 }, var } };
	nn_graph *g;
	char err[512];
	CHECK_MSG(build(json, w, 5, &g, err, sizeof err) == 0, "%s", err);
	int muls = 0, convs = 0;
	for (int i = 0; i < g->n_nodes; i++) {
		muls += g->nodes[i].op == NN_OP_MUL;
		convs += g->nodes[i].op == NN_OP_CONV2D;
	}
	CHECK_MSG(muls == 0 && convs == 1, "%d MUL and %d CONV2D nodes after the fold", muls, convs);
	nn_graph_free(g);
	const float x[8] = { 1, 2, -1, 0, 3, -2, 0.5f, 0.5f };
	float want[8], y[8];
	for (int p = 0; p < 4; p++)
		for (int o = 0; o < 2; o++) {
			float c = x[p * 2] * k[o] + x[p * 2 + 1] * k[2 + o];
			want[p * 2 + o] = (c - mean[o]) / sqrtf(var[o] + 0.5f) * gamma[o] + beta[o];
		}
	for (int ref = 0; ref < 2; ref++) {
		run(json, w, 5, ref, x, 0, y, 8);
		near(y, want, 8, 1e-5f);
	}
}

TEST(keras3_calls_and_shared_layers)
{
	/*
	 * Keras 3's call objects with keras_history, a flat output_layers, and
	 * a Dense layer called twice (its second call read as ["d", 1, 0]).
	 */
	const char *kt1 = "{\"class_name\":\"__keras_tensor__\",\"config\":{\"shape\":[null,2],\"dtype\":\"float32\","
			  "\"keras_history\":[\"in\",0,0]}}";
	char json[4096];
	snprintf(json, sizeof json,
		 "{\"module\":\"keras\",\"class_name\":\"Functional\",\"config\":{\"name\":\"f\",\"layers\":["
		 "{\"class_name\":\"InputLayer\",\"name\":\"in\",\"config\":{\"name\":\"in\",\"batch_shape\":[null,2],"
		 "\"dtype\":\"float32\"},\"inbound_nodes\":[]},"
		 "{\"class_name\":\"Dense\",\"name\":\"d\",\"config\":{\"name\":\"d\",\"units\":2,\"use_bias\":false,"
		 "\"activation\":{\"module\":\"keras.activations\",\"class_name\":\"function\",\"config\":\"linear\"}},"
		 "\"inbound_nodes\":[{\"args\":[%s],\"kwargs\":{}},{\"args\":[{\"class_name\":\"__keras_tensor__\","
		 "\"config\":{\"keras_history\":[\"d\",0,0]}}],\"kwargs\":{}}]},"
		 "{\"class_name\":\"Add\",\"name\":\"a\",\"config\":{\"name\":\"a\"},\"inbound_nodes\":[{\"args\":[[%s,"
		 "{\"class_name\":\"__keras_tensor__\",\"config\":{\"keras_history\":[\"d\",1,0]}}]],\"kwargs\":{}}]}"
		 "],\"input_layers\":[[\"in\",0,0]],\"output_layers\":[\"a\",0,0]}}",
		 kt1, kt1);
	const float k[4] = { 1, 2, 3, 4 };
	const mw w[] = { { "d", 2, { 2, 2 }, k } };
	const float x[2] = { 1, -1 };
	/* d(x) = [1*1 - 3, 1*2 - 4] = [-2, -2]; d(d(x)) = [-2 - 6, -4 - 8] = [-8, -12]; a = x + d(d(x)). */
	const float want[2] = { -7, -13 };
	float y[2];
	nn_graph *g;
	char err[512];
	mws s = { w, 1 };
	nn_keras_weights api = { &s, m_count, m_info, m_read };
	CHECK_MSG(nn_keras_build(&g, json, strlen(json), "3.3.3", &api, "k3", err, sizeof err) == 0, "%s", err);
	nn_graph_free(g);
	run(json, w, 1, 1, x, 0, y, 2);
	near(y, want, 2, 1e-5f);
}

TEST(keras_old_sequential_list_and_shapes)
{
	/* Keras 2.0: the config is the list, the first layer has batch_input_shape; pads, crops, pools, upsampling. */
	const char *json =
		"{\"class_name\":\"Sequential\",\"config\":["
		"{\"class_name\":\"ZeroPadding2D\",\"config\":{\"name\":\"z\",\"padding\":[[1,0],[2,1]],"
		"\"batch_input_shape\":[null,3,3,1]}},"
		"{\"class_name\":\"Cropping2D\",\"config\":{\"name\":\"c\",\"cropping\":[[0,1],[1,1]]}},"
		"{\"class_name\":\"UpSampling2D\",\"config\":{\"name\":\"u\",\"size\":[2,1]}},"
		"{\"class_name\":\"MaxPooling2D\",\"config\":{\"name\":\"p\",\"pool_size\":[2,2],\"strides\":[2,2],"
		"\"padding\":\"same\"}},"
		"{\"class_name\":\"Flatten\",\"config\":{\"name\":\"f\"}}]}";
	/* 3x3 -> pad 4x6 -> crop 3x4 -> upsample 6x4 -> pool 3x2. */
	const float x[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	float pad[4][6] = { { 0 } }, crop[3][4], up[6][4], want[6], y[6];
	for (int r = 0; r < 3; r++)
		for (int c = 0; c < 3; c++)
			pad[r + 1][c + 2] = x[r * 3 + c];
	for (int r = 0; r < 3; r++)
		for (int c = 0; c < 4; c++)
			crop[r][c] = pad[r][c + 1];
	for (int r = 0; r < 6; r++)
		for (int c = 0; c < 4; c++)
			up[r][c] = crop[r / 2][c];
	for (int r = 0; r < 3; r++)
		for (int c = 0; c < 2; c++)
			want[r * 2 + c] = fmaxf(fmaxf(up[2 * r][2 * c], up[2 * r][2 * c + 1]),
						fmaxf(up[2 * r + 1][2 * c], up[2 * r + 1][2 * c + 1]));
	for (int ref = 0; ref < 2; ref++) {
		run(json, NULL, 0, ref, x, 0, y, 6);
		near(y, want, 6, 0);
	}
}

TEST(keras_normalization_rescaling_pools)
{
	/*
	 * Normalization from config values and from weights (mean, variance,
	 * count), Rescaling with per-channel lists, GlobalMaxPooling2D with
	 * keepdims, Softmax as a layer.
	 */
	const char *json = FUNC(
		FIN("[null,1,2,2]") ","
		FL("Normalization", "nc", ",\"axis\":-1,\"mean\":[1,-1],\"variance\":[4,0.25]", "[" REF("in") "]") ","
		FL("Normalization", "nw", ",\"axis\":-1", "[" REF("nc") "]") ","
		FL("Rescaling", "rs", ",\"scale\":[2,0.5],\"offset\":[0,1]", "[" REF("nw") "]") ","
		FL("GlobalMaxPooling2D", "gm", ",\"keepdims\":true", "[" REF("rs") "]") ","
		FL("Softmax", "sm", ",\"axis\":-1", "[" REF("gm") "]"),
		"[\"sm\",0,0],[\"rs\",0,0]");
	const float mean[2] = { 0.5f, 0 }, var[2] = { 1, 9 }, count[1] = { 10 };
	const mw w[] = { { "nw", 1, { 2 }, mean }, { "nw", 1, { 2 }, var }, { "nw", 0, { 0 }, count } };
	const float x[4] = { 3, 0, -1, 2 };
	float rs[4], sm[2], y[4];
	for (int p = 0; p < 2; p++)
		for (int ch = 0; ch < 2; ch++) {
			float v = x[p * 2 + ch];
			v = (v - (ch ? -1.0f : 1.0f)) / (ch ? 0.5f : 2.0f);
			v = (v - mean[ch]) / sqrtf(var[ch]);
			rs[p * 2 + ch] = ch ? v * 0.5f + 1 : v * 2;
		}
	float m0 = fmaxf(rs[0], rs[2]), m1 = fmaxf(rs[1], rs[3]), mx = fmaxf(m0, m1);
	float e0 = expf(m0 - mx), e1 = expf(m1 - mx);
	sm[0] = e0 / (e0 + e1);
	sm[1] = e1 / (e0 + e1);
	for (int ref = 0; ref < 2; ref++) {
		run(json, w, 3, ref, x, 0, y, 2);
		near(y, sm, 2, 1e-5f);
		run(json, w, 3, ref, x, 1, y, 4);
		near(y, rs, 4, 1e-5f);
	}
}

TEST(keras_tfoplambda)
{
	/*
	 * Keras 2.4+ saves x * 2 as TFOpLambda math.multiply with y in the
	 * reference's kwargs, and a + b with y a reference; nn.relu takes one.
	 */
	const char *json = FUNC(
		FIN("[null,3]") ","
		FL("TFOpLambda", "mul", ",\"function\":\"math.multiply\"", "[[\"in\",0,0,{\"y\":2.0,\"name\":null}]]") ","
		FL("TFOpLambda", "add", ",\"function\":\"__operators__.add\"",
		   "[[\"mul\",0,0,{\"y\":[\"in\",0,0],\"name\":null}]]") ","
		FL("TFOpLambda", "sub", ",\"function\":\"math.subtract\"", "[[\"add\",0,0,{\"y\":4,\"name\":null}]]") ","
		FL("TFOpLambda", "relu", ",\"function\":\"nn.relu\"", "[[\"sub\",0,0,{\"name\":null}]]"),
		"[\"relu\",0,0]");
	const float x[3] = { -1, 1, 3 };
	const float want[3] = { 0, 0, 5 }; /* relu(3x - 4) */
	float y[3];
	for (int ref = 0; ref < 2; ref++) {
		run(json, NULL, 0, ref, x, 0, y, 3);
		near(y, want, 3, 1e-6f);
	}
	nn_graph *g = NULL;
	char err[512];
	const char *bad = FUNC(
		FIN("[null,3]") ","
		FL("TFOpLambda", "lse", ",\"function\":\"math.reduce_logsumexp\"", "[[\"in\",0,0,{}]]") ","
		FL("TFOpLambda", "mul", ",\"function\":\"math.multiply\"", "[[\"lse\",0,0,{\"y\":\"two\"}]]"),
		"[\"mul\",0,0]");
	CHECK(build(bad, NULL, 0, &g, err, sizeof err) == NN_ERR_UNSUPPORTED && !g);
	CHECK_MSG(strstr(err, "1 layer cannot be run: 'lse' (TFOpLambda: TensorFlow op 'math.reduce_logsumexp'"), "%s",
		  err);
}

/* Configs (and weights) that must fail, with a word the message must hold. */
TEST(keras_bad_configs)
{
	static const float nan_value[2] = { NAN, 0 };
	static const mw dense_w[] = { { "d", 2, { 2, 3 }, NULL }, { "d", 1, { 3 }, NULL } };
	static const mw dense_bad[] = { { "d", 2, { 2, 4 }, NULL }, { "d", 1, { 3 }, NULL } };
	static const mw dense_nan[] = { { "d", 2, { 2, 2 }, NULL }, { "d", 1, { 2 }, nan_value } };
	static const mw dense_one[] = { { "d", 2, { 2, 3 }, NULL } };
#define SEQ(layers) "{\"class_name\":\"Sequential\",\"config\":{\"name\":\"s\",\"layers\":[" IN("[null,2]") layers "]}}"
#define DENSE ",{\"class_name\":\"Dense\",\"config\":{\"name\":\"d\",\"units\":3}}"
	static const struct {
		const char *json;
		const mw *w;
		int n;
		const char *want;
	} cases[] = {
		{ "{\"class_name\":", NULL, 0, "not valid JSON" },
		{ "{\"config\":{}}", NULL, 0, "no class_name" },
		{ "{\"class_name\":\"MyModel\",\"config\":{}}", NULL, 0, "subclassed" },
		{ "{\"class_name\":\"Sequential\",\"config\":{\"layers\":[]}}", NULL, 0, "no layers" },
		{ "{\"class_name\":\"Sequential\",\"config\":{\"layers\":[{\"class_name\":\"Dense\"}]}}", NULL, 0,
		  "no class_name, name or config" },
		{ SEQ(DENSE), dense_w, 2, NULL },
		{ SEQ(DENSE), dense_bad, 2, "expected [2,3]" },
		{ SEQ(DENSE), dense_one, 1, "implies 2 weights" },
		{ SEQ(",{\"class_name\":\"Dense\",\"config\":{\"name\":\"d\",\"units\":2}}"), dense_nan, 2, "non-finite" },
		{ SEQ(",{\"class_name\":\"Dense\",\"config\":{\"name\":\"d\",\"units\":-3}}"), dense_w, 2, "'units'" },
		{ SEQ(",{\"class_name\":\"Lambda\",\"config\":{\"name\":\"l\"}},{\"class_name\":\"Weird\",\"config\":"
		      "{\"name\":\"w\"}}"),
		  NULL, 0, "2 layers cannot be run" },
		{ SEQ(",{\"class_name\":\"Activation\",\"config\":{\"name\":\"a\",\"activation\":\"gelu\"}}"), NULL, 0,
		  "'gelu'" },
		{ SEQ(",{\"class_name\":\"Conv2D\",\"config\":{\"name\":\"c\",\"filters\":1,\"kernel_size\":1}}"), NULL, 0,
		  "rank-4" },
		{ SEQ(",{\"class_name\":\"Reshape\",\"config\":{\"name\":\"r\",\"target_shape\":[3]}}"), NULL, 0,
		  "cannot reshape" },
		{ SEQ(",{\"class_name\":\"Reshape\",\"config\":{\"name\":\"r\",\"target_shape\":[-1,-1]}}"), NULL, 0,
		  "at most one -1" },
		{ SEQ(",{\"class_name\":\"Permute\",\"config\":{\"name\":\"p\",\"dims\":[2]}}"), NULL, 0, "permutation" },
		{ SEQ(",{\"class_name\":\"Dense\",\"config\":{\"name\":\"in\",\"units\":3}}"), NULL, 0,
		  "two layers are named" },
		{ "{\"class_name\":\"Sequential\",\"config\":[{\"class_name\":\"Dense\",\"config\":{\"name\":\"d\","
		  "\"units\":3,\"batch_input_shape\":[null,null]}}]}",
		  NULL, 0, "not fixed" },
		{ FUNC(FIN("[null,2]") "," FL("Dense", "d", ",\"units\":3", "[" REF("nowhere") "]"), "[\"d\",0,0]"), NULL, 0,
		  "'nowhere'" },
		{ FUNC(FIN("[null,2]") "," FL("Dense", "d", ",\"units\":3", "[[\"in\",3,0,{}]]"), "[\"d\",0,0]"), NULL, 0,
		  "call 3" },
		{ FUNC(FIN("[null,2]") "," FL("Dense", "d", ",\"units\":3", "[[\"in\",0,1,{}]]"), "[\"d\",0,0]"), NULL, 0,
		  "output 1" },
		{ FUNC(FIN("[null,2]") "," FL("Add", "a", "", "[" REF("b") "]") "," FL("Add", "b", "", "[" REF("a") "]"),
		       "[\"a\",0,0]"),
		  NULL, 0, "not connected" },
		{ FUNC(FIN("[null,2]") "," FL("Concatenate", "c", ",\"axis\":0", "[" REF("in") "," REF("in") "]"),
		       "[\"c\",0,0]"),
		  NULL, 0, "axis 0" },
		{ FUNC(FIN("[null,2]"), "[\"in\",0,0]"), NULL, 0, "input itself" },
		{ FUNC(FIN("[null,2,2,1]") "," FL("MaxPooling2D", "p", ",\"pool_size\":[3,3]", "[" REF("in") "]"),
		       "[\"p\",0,0]"),
		  NULL, 0, "larger than the input" },
		{ FUNC(FIN("[null,2,2,1]") "," FL("Conv2D", "c", ",\"filters\":2,\"kernel_size\":1,\"groups\":2",
						  "[" REF("in") "]"),
		       "[\"c\",0,0]"),
		  NULL, 0, "grouped" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		nn_graph *g = NULL;
		char err[1024] = "";
		int rc = build(cases[i].json, cases[i].w, cases[i].n, &g, err, sizeof err);
		if (!cases[i].want) {
			CHECK_MSG(rc == 0 && g, "case %zu: %s", i, err);
			nn_graph_free(g);
			continue;
		}
		CHECK_MSG(rc < 0 && !g, "case %zu loaded, expected an error with '%s'", i, cases[i].want);
		CHECK_MSG(strstr(err, cases[i].want) && !strncmp(err, "test.h5: ", 9),
			  "case %zu: message '%s' lacks '%s'", i, err, cases[i].want);
	}
#undef SEQ
#undef DENSE
}

TEST(keras_signatures)
{
	static unsigned char buf[2048];
	static const unsigned char sig[8] = { 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n' };
	CHECK(!nn_keras_is_hdf5(buf, sizeof buf));
	memcpy(buf + 512, sig, 8);
	CHECK(nn_keras_is_hdf5(buf, sizeof buf));
	CHECK(!nn_keras_is_hdf5(buf, 515));
	memset(buf, 0, sizeof buf);
	memcpy(buf + 100, sig, 8);
	CHECK(!nn_keras_is_hdf5(buf, sizeof buf));
	CHECK(nn_keras_is_zip("PK\3\4rest", 8) && !nn_keras_is_zip("PK", 2));
	nn_graph *g = NULL;
	char err[256];
	CHECK(nn_keras_load_hdf5(&g, buf, sizeof buf, "x.h5", err, sizeof err) == NN_ERR_FORMAT && !g);
	CHECK(strstr(err, "x.h5: not an HDF5 file"));
	memcpy(buf, sig, 8);
	CHECK(nn_keras_load_hdf5(&g, buf, sizeof buf, "x.h5", err, sizeof err) == NN_ERR_FORMAT && !g);
	CHECK_MSG(strstr(err, "libhdf5"), "%s", err);
	CHECK(nn_keras_load_zip(&g, "PK\3\4", 4, "m.keras", err, sizeof err) == NN_ERR_FORMAT && !g);
	CHECK_MSG(strstr(err, "m.keras: "), "%s", err);
}

TEST_SUITE(nn_keras,
	   TEST_ENTRY(keras_dense_on_rank3),
	   TEST_ENTRY(keras_activations_and_merges),
	   TEST_ENTRY(keras_batchnorm_folds_into_conv),
	   TEST_ENTRY(keras3_calls_and_shared_layers),
	   TEST_ENTRY(keras_old_sequential_list_and_shapes),
	   TEST_ENTRY(keras_tfoplambda),
	   TEST_ENTRY(keras_normalization_rescaling_pools),
	   TEST_ENTRY(keras_bad_configs),
	   TEST_ENTRY(keras_signatures));
