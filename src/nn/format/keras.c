/*
 * Keras model config (JSON) -> IR. See keras.h.
 *
 * The config is Sequential (a list of layers, each reading the previous
 * one's output) or functional ("Model" up to Keras 2.3, "Functional" after
 * it): every layer lists its calls ("inbound nodes"), each naming the
 * layers, call indices and output indices it reads. Keras 2 writes a call as
 * [["name", node_index, tensor_index, {kwargs}], ...]; Keras 3 as
 * {"args": [...], "kwargs": {...}} with each input tensor a
 * "__keras_tensor__" whose "keras_history" is [name, node_index, tensor_index].
 *
 * Before building anything, every layer is checked for being runnable
 * (known class, activation and options), so that one error lists all the
 * layers vigil cannot run. Layers are then built in dependency order; each
 * computes its output's static shape (batch 1) and checks the weights the
 * file holds for it against the shapes the config implies.
 */
#include "nn/format/keras.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LAYERS 100000
#define MAX_CALLS 4096
#define MAX_DIM (1 << 24)
#define MAX_TENSOR_BYTES ((int64_t)1 << 32)
#define UNSUPPORTED_CAP 1536

#if defined(__GNUC__)
#define PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define PRINTF(a, b)
#endif

typedef struct kl {
	const char *cls, *name;
	const cJSON *cfg;     /* the layer's "config" object */
	const cJSON *calls;   /* functional: the "inbound_nodes" array */
	int n_calls;
	int *out;             /* IR tensor per call, -1 until built */
} kl;

typedef struct kb {
	const char *src;
	char *err;
	size_t errlen;
	int failed;
	const nn_keras_weights *w;
	int keras3;
	cJSON *root;
	kl *layers;
	int n_layers;
	int *slot;            /* name hash: index + 1 */
	size_t cap;
	int sequential;
	nn_graph *g;
} kb;

PRINTF(3, 4) static int fail(kb *c, int code, const char *fmt, ...)
{
	if (c->failed)
		return code;
	c->failed = 1;
	if (c->err && c->errlen) {
		int k = snprintf(c->err, c->errlen, "%s: ", c->src);
		if (k >= 0 && (size_t)k < c->errlen) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(c->err + k, c->errlen - (size_t)k, fmt, ap);
			va_end(ap);
		}
	}
	return code;
}

PRINTF(4, 5) static int lfail(kb *c, const kl *L, int code, const char *fmt, ...)
{
	if (c->failed)
		return code;
	c->failed = 1;
	if (c->err && c->errlen) {
		int k = snprintf(c->err, c->errlen, "%s: layer '%.120s' (%.60s): ", c->src, L->name, L->cls);
		if (k >= 0 && (size_t)k < c->errlen) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(c->err + k, c->errlen - (size_t)k, fmt, ap);
			va_end(ap);
		}
	}
	return code;
}

static int nomem(kb *c)
{
	return fail(c, NN_ERR_NOMEM, "out of memory");
}

static const char *shape_str(int rank, const int *shape, char *buf, size_t len)
{
	size_t k = (size_t)snprintf(buf, len, "[");
	for (int d = 0; d < rank && k < len; d++)
		k += (size_t)snprintf(buf + k, len - k, d ? ",%d" : "%d", shape[d]);
	if (k < len)
		snprintf(buf + k, len - k, "]");
	return buf;
}

static const char *shape64_str(int rank, const int64_t *shape, char *buf, size_t len)
{
	size_t k = (size_t)snprintf(buf, len, "[");
	for (int d = 0; d < rank && k < len; d++)
		k += (size_t)snprintf(buf + k, len - k, d ? ",%lld" : "%lld", (long long)shape[d]);
	if (k < len)
		snprintf(buf + k, len - k, "]");
	return buf;
}

/* ---- the layer table ---- */

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static int find_layer(const kb *c, const char *name)
{
	if (!name || !c->cap)
		return -1;
	for (size_t i = hash_str(name) & (c->cap - 1);; i = (i + 1) & (c->cap - 1)) {
		int s = c->slot[i];
		if (!s)
			return -1;
		if (!strcmp(c->layers[s - 1].name, name))
			return s - 1;
	}
}

static const cJSON *get(const cJSON *o, const char *key)
{
	return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
}

static const char *get_str(const cJSON *o, const char *key)
{
	const cJSON *v = get(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- config values ---- */

static int int_value(const cJSON *v, int64_t *out)
{
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble != floor(v->valuedouble) ||
	    fabs(v->valuedouble) > 9e15)
		return 0;
	*out = (int64_t)v->valuedouble;
	return 1;
}

static int cfg_int(kb *c, const kl *L, const char *key, int64_t def, int64_t lo, int64_t hi, int64_t *out)
{
	const cJSON *v = get(L->cfg, key);
	if (!v || cJSON_IsNull(v)) {
		*out = def;
		return 0;
	}
	if (!int_value(v, out) || *out < lo || *out > hi)
		return lfail(c, L, NN_ERR_FORMAT, "'%s' must be an integer from %lld to %lld", key, (long long)lo,
			     (long long)hi);
	return 0;
}

static int cfg_float(kb *c, const kl *L, const char *key, double def, double *out)
{
	const cJSON *v = get(L->cfg, key);
	if (!v || cJSON_IsNull(v)) {
		*out = def;
		return 0;
	}
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
		return lfail(c, L, NN_ERR_FORMAT, "'%s' must be a finite number", key);
	*out = v->valuedouble;
	return 0;
}

static int cfg_bool(kb *c, const kl *L, const char *key, int def, int *out)
{
	const cJSON *v = get(L->cfg, key);
	if (!v || cJSON_IsNull(v)) {
		*out = def;
		return 0;
	}
	if (!cJSON_IsBool(v))
		return lfail(c, L, NN_ERR_FORMAT, "'%s' must be true or false", key);
	*out = cJSON_IsTrue(v);
	return 0;
}

/* An integer or a list of two (height, width); null gives def. */
static int cfg_pair(kb *c, const kl *L, const char *key, int def, int lo, int hi, int *a, int *b)
{
	const cJSON *v = get(L->cfg, key);
	int64_t x, y;
	if (!v || cJSON_IsNull(v)) {
		*a = *b = def;
		return 0;
	}
	if (int_value(v, &x)) {
		y = x;
	} else if (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 2 && int_value(cJSON_GetArrayItem(v, 0), &x) &&
		   int_value(cJSON_GetArrayItem(v, 1), &y)) {
	} else {
		return lfail(c, L, NN_ERR_FORMAT, "'%s' must be an integer or a list of two", key);
	}
	if (x < lo || x > hi || y < lo || y > hi)
		return lfail(c, L, NN_ERR_FORMAT, "'%s' must hold integers from %d to %d", key, lo, hi);
	*a = (int)x;
	*b = (int)y;
	return 0;
}

/* ZeroPadding2D and Cropping2D amounts: n, [h, w] or [[top, bottom], [left, right]]. */
static int cfg_amounts(kb *c, const kl *L, const char *key, int def, int v[4])
{
	const cJSON *a = get(L->cfg, key);
	int64_t x;
	if (!a || cJSON_IsNull(a)) {
		v[0] = v[1] = v[2] = v[3] = def;
		return 0;
	}
	if (int_value(a, &x) && x >= 0 && x <= MAX_DIM) {
		v[0] = v[1] = v[2] = v[3] = (int)x;
		return 0;
	}
	if (cJSON_IsArray(a) && cJSON_GetArraySize(a) == 2) {
		for (int i = 0; i < 2; i++) {
			const cJSON *e = cJSON_GetArrayItem(a, i);
			int64_t p, q;
			if (int_value(e, &p) && p >= 0 && p <= MAX_DIM) {
				v[2 * i] = v[2 * i + 1] = (int)p;
			} else if (cJSON_IsArray(e) && cJSON_GetArraySize(e) == 2 &&
				   int_value(cJSON_GetArrayItem(e, 0), &p) && int_value(cJSON_GetArrayItem(e, 1), &q) &&
				   p >= 0 && q >= 0 && p <= MAX_DIM && q <= MAX_DIM) {
				v[2 * i] = (int)p;
				v[2 * i + 1] = (int)q;
			} else {
				goto bad;
			}
		}
		return 0;
	}
bad:
	return lfail(c, L, NN_ERR_FORMAT, "'%s' must be n, [h, w] or [[top, bottom], [left, right]] of integers >= 0",
		     key);
}

/* The name of an activation: a string, or Keras 3's {"class_name": "function", "config": "relu"}. */
static const char *act_name(const cJSON *v)
{
	if (!v || cJSON_IsNull(v))
		return "linear";
	if (cJSON_IsString(v))
		return v->valuestring;
	if (cJSON_IsObject(v)) {
		const char *s = get_str(v, "config");
		if (s)
			return s;
		s = get_str(v, "registered_name");
		if (s)
			return s;
		s = get_str(v, "class_name");
		if (s)
			return s;
	}
	return NULL;
}

static const char *const known_acts[] = { "linear", "relu", "relu6", "sigmoid", "hard_sigmoid", "tanh", "softmax",
					  "swish", "silu", "hard_swish", "hard_silu", NULL };

static int act_known(const char *a)
{
	for (int i = 0; a && known_acts[i]; i++)
		if (!strcmp(a, known_acts[i]))
			return 1;
	return 0;
}

/* ---- which layers exist ---- */

enum { K_INPUT = 1, K_CONV, K_SEPCONV, K_DWCONV, K_DECONV, K_DENSE, K_BN, K_ACT, K_RELU, K_LEAKY, K_PRELU, K_ELU,
       K_SOFTMAX, K_BINARY, K_AVERAGE, K_CONCAT, K_MAXPOOL, K_AVGPOOL, K_GAP, K_GMP, K_FLATTEN, K_RESHAPE,
       K_PERMUTE, K_IDENTITY, K_ZEROPAD, K_CROP, K_UPSAMPLE, K_RESCALE, K_NORMALIZE };

static const struct kclass {
	const char *name;
	int kind;
	int arg;
} classes[] = {
	{ "InputLayer", K_INPUT, 0 },
	{ "Conv2D", K_CONV, 0 },
	{ "Convolution2D", K_CONV, 0 },
	{ "SeparableConv2D", K_SEPCONV, 0 },
	{ "SeparableConvolution2D", K_SEPCONV, 0 },
	{ "DepthwiseConv2D", K_DWCONV, 0 },
	{ "Conv2DTranspose", K_DECONV, 0 },
	{ "Convolution2DTranspose", K_DECONV, 0 },
	{ "Dense", K_DENSE, 0 },
	{ "BatchNormalization", K_BN, 0 },
	{ "Activation", K_ACT, 0 },
	{ "ReLU", K_RELU, 0 },
	{ "LeakyReLU", K_LEAKY, 0 },
	{ "PReLU", K_PRELU, 0 },
	{ "ELU", K_ELU, 0 },
	{ "Softmax", K_SOFTMAX, 0 },
	{ "Add", K_BINARY, NN_OP_ADD },
	{ "Subtract", K_BINARY, NN_OP_SUB },
	{ "Multiply", K_BINARY, NN_OP_MUL },
	{ "Maximum", K_BINARY, NN_OP_MAXIMUM },
	{ "Minimum", K_BINARY, NN_OP_MINIMUM },
	{ "Average", K_AVERAGE, 0 },
	{ "Concatenate", K_CONCAT, 0 },
	{ "MaxPooling2D", K_MAXPOOL, 0 },
	{ "MaxPool2D", K_MAXPOOL, 0 },
	{ "AveragePooling2D", K_AVGPOOL, 0 },
	{ "AvgPool2D", K_AVGPOOL, 0 },
	{ "GlobalAveragePooling2D", K_GAP, 0 },
	{ "GlobalAvgPool2D", K_GAP, 0 },
	{ "GlobalMaxPooling2D", K_GMP, 0 },
	{ "GlobalMaxPool2D", K_GMP, 0 },
	{ "Flatten", K_FLATTEN, 0 },
	{ "Reshape", K_RESHAPE, 0 },
	{ "Permute", K_PERMUTE, 0 },
	{ "Dropout", K_IDENTITY, 0 },
	{ "SpatialDropout1D", K_IDENTITY, 0 },
	{ "SpatialDropout2D", K_IDENTITY, 0 },
	{ "SpatialDropout3D", K_IDENTITY, 0 },
	{ "GaussianNoise", K_IDENTITY, 0 },
	{ "GaussianDropout", K_IDENTITY, 0 },
	{ "AlphaDropout", K_IDENTITY, 0 },
	{ "ActivityRegularization", K_IDENTITY, 0 },
	{ "ZeroPadding2D", K_ZEROPAD, 0 },
	{ "Cropping2D", K_CROP, 0 },
	{ "UpSampling2D", K_UPSAMPLE, 0 },
	{ "Rescaling", K_RESCALE, 0 },
	{ "Normalization", K_NORMALIZE, 0 },
	{ NULL, 0, 0 },
};

static const struct kclass *find_class(const char *name)
{
	for (int i = 0; name && classes[i].name; i++)
		if (!strcmp(classes[i].name, name))
			return &classes[i];
	return NULL;
}

/* Why a layer cannot be run, or NULL when it can (as far as its config shows). */
static const char *why_unsupported(const kl *L, char *buf, size_t len)
{
	const struct kclass *k = find_class(L->cls);
	if (!strcmp(L->cls, "Lambda"))
		return "a Lambda layer holds Python bytecode, which only Python can run";
	if (!strcmp(L->cls, "TFOpLambda") || !strcmp(L->cls, "SlicingOpLambda")) {
		const char *fn = get_str(L->cfg, "function");
		snprintf(buf, len, "TensorFlow function '%.60s' called on a Keras tensor is not mapped", fn ? fn : "?");
		return buf;
	}
	if (!strcmp(L->cls, "Sequential") || !strcmp(L->cls, "Model") || !strcmp(L->cls, "Functional"))
		return "a model nested as a layer is not supported";
	if (!k)
		return "not a built-in Keras layer that vigil knows: a custom layer's code is in the Python program that "
		       "saved the file, not in the file";
	const char *df = get_str(L->cfg, "data_format");
	if (df && strcmp(df, "channels_last"))
		return "data_format channels_first is not supported (vigil runs channels_last, NHWC)";
	const char *act = act_name(get(L->cfg, "activation"));
	if ((k->kind == K_CONV || k->kind == K_SEPCONV || k->kind == K_DWCONV || k->kind == K_DECONV ||
	     k->kind == K_DENSE || k->kind == K_ACT) &&
	    !act_known(act)) {
		snprintf(buf, len, "activation '%.40s' is not supported", act ? act : "(not a name)");
		return buf;
	}
	if (k->kind == K_ELU)
		return "ELU needs an exponential, which vigil's IR does not have yet";
	const char *pad = get_str(L->cfg, "padding");
	if (pad && strcmp(pad, "valid") && strcmp(pad, "same") && k->kind != K_ZEROPAD)
		return "padding other than 'valid' or 'same' is not supported";
	return NULL;
}

/* Lists every layer that cannot be run in one error. */
static int check_supported(kb *c)
{
	char list[UNSUPPORTED_CAP], why_buf[128];
	size_t k = 0;
	int n = 0;
	list[0] = 0;
	for (int i = 0; i < c->n_layers; i++) {
		const kl *L = &c->layers[i];
		const char *why = why_unsupported(L, why_buf, sizeof why_buf);
		if (!why)
			continue;
		n++;
		if (k + 200 < sizeof list) {
			int m = snprintf(list + k, sizeof list - k, "%s'%.80s' (%.60s: %s)", n > 1 ? "; " : "", L->name,
					 L->cls, why);
			if (m > 0)
				k += (size_t)m < sizeof list - k ? (size_t)m : sizeof list - k - 1;
		} else if (k + 8 < sizeof list && list[k - 1] != '.') {
			k += (size_t)snprintf(list + k, sizeof list - k, "; ...");
		}
	}
	if (!n)
		return 0;
	return fail(c, NN_ERR_UNSUPPORTED, "%d layer%s cannot be run: %s", n, n > 1 ? "s" : "", list);
}

/* ---- IR helpers ---- */

static nn_tensor *T(kb *c, int t)
{
	return &c->g->tensors[t];
}

static int new_tensor(kb *c, const kl *L, const char *suffix, int rank, const int64_t *shape)
{
	char name[320];
	snprintf(name, sizeof name, "%s%s", L->name, suffix ? suffix : "");
	if (rank < 0 || rank > NN_MAX_RANK)
		return lfail(c, L, NN_ERR_UNSUPPORTED, "its result would have %d dimensions; at most %d are supported",
			     rank, NN_MAX_RANK);
	int64_t bytes = 4;
	for (int d = 0; d < rank; d++) {
		if (shape[d] < 1 || shape[d] > MAX_DIM)
			return lfail(c, L, NN_ERR_SHAPE, "dimension %d of its result would be %lld", d,
				     (long long)shape[d]);
		if (bytes > MAX_TENSOR_BYTES / shape[d])
			return lfail(c, L, NN_ERR_SHAPE, "its result would take more than %lld bytes",
				     (long long)MAX_TENSOR_BYTES);
		bytes *= shape[d];
	}
	int t = nn_graph_add_tensor(c->g, name);
	if (t < 0)
		return nomem(c);
	nn_tensor *x = T(c, t);
	x->dtype = NN_F32;
	x->rank = rank;
	for (int d = 0; d < rank; d++)
		x->shape[d] = (int)shape[d];
	return t;
}

static int like_tensor(kb *c, const kl *L, const char *suffix, int like)
{
	int64_t s[NN_MAX_RANK];
	for (int d = 0; d < T(c, like)->rank; d++)
		s[d] = T(c, like)->shape[d];
	return new_tensor(c, L, suffix, T(c, like)->rank, s);
}

/* A float32 constant with the given values (or zeros when v is NULL). */
static int const_tensor(kb *c, const kl *L, const char *suffix, int rank, const int64_t *shape, const float *v)
{
	int t = new_tensor(c, L, suffix, rank, shape);
	if (t < 0)
		return t;
	if (nn_tensor_alloc_const(T(c, t)) < 0)
		return nomem(c);
	if (v)
		memcpy(T(c, t)->data, v, nn_tensor_bytes(T(c, t)));
	return t;
}

static int scalar_const(kb *c, const kl *L, const char *suffix, float v)
{
	int64_t one = 1;
	return const_tensor(c, L, suffix, 1, &one, &v);
}

static nn_node *node(kb *c, const kl *L, nn_op op, int n_in, const int *in, int out)
{
	nn_node *x = nn_graph_add_node(c->g, op, n_in, 1);
	if (!x || !(x->name = strdup(L->name))) {
		nomem(c);
		return NULL;
	}
	memcpy(x->inputs, in, (size_t)n_in * sizeof *in);
	x->outputs[0] = out;
	return x;
}

/* An elementwise unary op on x: a new tensor of x's shape. */
static int unary(kb *c, const kl *L, nn_op op, int x, const char *suffix)
{
	int y = like_tensor(c, L, suffix, x);
	if (y < 0)
		return y;
	nn_node *n = node(c, L, op, 1, &x, y);
	if (!n)
		return NN_ERR_NOMEM;
	if (op == NN_OP_SOFTMAX)
		n->p.softmax.beta = 1.0f;
	return y;
}

/* Broadcast shape of two tensors, NumPy style, or -1. */
static int broadcast(const nn_tensor *a, const nn_tensor *b, int *rank, int64_t *shape)
{
	int r = a->rank > b->rank ? a->rank : b->rank;
	for (int d = 0; d < r; d++) {
		int da = d - (r - a->rank), db = d - (r - b->rank);
		int x = da >= 0 ? a->shape[da] : 1, y = db >= 0 ? b->shape[db] : 1;
		if (x != y && x != 1 && y != 1)
			return -1;
		shape[d] = x == 1 ? y : x;
	}
	*rank = r;
	return 0;
}

static int binary(kb *c, const kl *L, nn_op op, int a, int b, const char *suffix)
{
	int rank;
	int64_t shape[NN_MAX_RANK];
	char s1[96], s2[96];
	if (broadcast(T(c, a), T(c, b), &rank, shape) < 0)
		return lfail(c, L, NN_ERR_SHAPE, "inputs %s and %s do not broadcast together",
			     shape_str(T(c, a)->rank, T(c, a)->shape, s1, sizeof s1),
			     shape_str(T(c, b)->rank, T(c, b)->shape, s2, sizeof s2));
	int y = new_tensor(c, L, suffix, rank, shape);
	if (y < 0)
		return y;
	int in[2] = { a, b };
	nn_node *n = node(c, L, op, 2, in, y);
	if (!n)
		return NN_ERR_NOMEM;
	n->p.act = NN_ACT_NONE;
	return y;
}

static int binary_scalar(kb *c, const kl *L, nn_op op, int x, float v, const char *suffix)
{
	char name[64];
	snprintf(name, sizeof name, "%s/const", suffix ? suffix : "");
	int k = scalar_const(c, L, name, v);
	return k < 0 ? k : binary(c, L, op, x, k, suffix);
}

/* Applies a Keras activation by name to x; returns the result tensor. */
static int activation(kb *c, const kl *L, int x, const char *a, const char *suffix)
{
	if (!a || !strcmp(a, "linear"))
		return x;
	if (!strcmp(a, "relu"))
		return unary(c, L, NN_OP_RELU, x, suffix);
	if (!strcmp(a, "relu6"))
		return unary(c, L, NN_OP_RELU6, x, suffix);
	if (!strcmp(a, "sigmoid"))
		return unary(c, L, NN_OP_LOGISTIC, x, suffix);
	if (!strcmp(a, "tanh"))
		return unary(c, L, NN_OP_TANH, x, suffix);
	if (!strcmp(a, "softmax"))
		return unary(c, L, NN_OP_SOFTMAX, x, suffix);
	if (!strcmp(a, "hard_swish") || !strcmp(a, "hard_silu"))
		return unary(c, L, NN_OP_HARD_SWISH, x, suffix);
	if (!strcmp(a, "swish") || !strcmp(a, "silu")) {
		int s = unary(c, L, NN_OP_LOGISTIC, x, "/sigmoid");
		return s < 0 ? s : binary(c, L, NN_OP_MUL, x, s, suffix);
	}
	if (!strcmp(a, "hard_sigmoid")) {
		/* Keras 2: clip(0.2 x + 0.5, 0, 1); Keras 3: relu6(x + 3) / 6. */
		float slope = c->keras3 ? 1.0f / 6.0f : 0.2f;
		int y = binary_scalar(c, L, NN_OP_MUL, x, slope, "/hs_mul");
		if (y >= 0)
			y = binary_scalar(c, L, NN_OP_ADD, y, 0.5f, "/hs_add");
		if (y >= 0)
			y = binary_scalar(c, L, NN_OP_MAXIMUM, y, 0.0f, "/hs_max");
		if (y >= 0)
			y = binary_scalar(c, L, NN_OP_MINIMUM, y, 1.0f, suffix);
		return y;
	}
	return lfail(c, L, NN_ERR_UNSUPPORTED, "activation '%.40s' is not supported", a);
}

/* ---- weights ---- */

static int expect_weights(kb *c, const kl *L, int n, const char *list)
{
	char why[256] = "";
	int have = c->w && c->w->count ? c->w->count(c->w->ctx, L->name, why, sizeof why) : 0;
	if (have < 0)
		return lfail(c, L, have, "cannot read its weights: %s", why);
	if (have != n)
		return lfail(c, L, NN_ERR_FORMAT, "the config implies %d weight%s (%s); the file holds %d%s%s", n,
			     n == 1 ? "" : "s", list, have, why[0] ? ": " : "", why);
	return 0;
}

/* Reads weight i of a layer, checking it has the shape the config implies; returns a new constant tensor. */
static int weight(kb *c, const kl *L, int i, const char *role, int rank, const int64_t *shape)
{
	char why[256] = "", s1[128], s2[128];
	nn_keras_weight w;
	memset(&w, 0, sizeof w);
	int rc = c->w->info(c->w->ctx, L->name, i, &w, why, sizeof why);
	if (rc < 0)
		return lfail(c, L, rc, "weight %d (%s): %s", i, role, why);
	w.name[sizeof w.name - 1] = 0;
	int ok = w.rank == rank;
	for (int d = 0; ok && d < rank; d++)
		ok = w.shape[d] == shape[d];
	if (!ok)
		return lfail(c, L, NN_ERR_SHAPE, "weight %d '%.120s' (%s) has shape %s, expected %s", i, w.name, role,
			     w.rank < 0 ? "(rank > 6)" : shape64_str(w.rank, w.shape, s1, sizeof s1),
			     shape64_str(rank, shape, s2, sizeof s2));
	char suffix[64];
	snprintf(suffix, sizeof suffix, "/%s", role);
	int t = const_tensor(c, L, suffix, rank, shape, NULL);
	if (t < 0)
		return t;
	rc = c->w->read(c->w->ctx, L->name, i, T(c, t)->data, nn_tensor_elements(T(c, t)), why, sizeof why);
	if (rc < 0)
		return lfail(c, L, rc, "weight %d '%.120s' (%s): %s", i, w.name, role, why);
	const float *v = T(c, t)->data;
	for (int64_t j = 0; j < nn_tensor_elements(T(c, t)); j++)
		if (!isfinite(v[j]))
			return lfail(c, L, NN_ERR_FORMAT, "weight %d '%.120s' (%s) holds a non-finite value at %lld", i,
				     w.name, role, (long long)j);
	return t;
}

/* ---- layers ---- */

static int want_rank(kb *c, const kl *L, int x, int rank)
{
	char s[96];
	if (T(c, x)->rank != rank)
		return lfail(c, L, NN_ERR_SHAPE, "expects a rank-%d input, got %s", rank,
			     shape_str(T(c, x)->rank, T(c, x)->shape, s, sizeof s));
	return 0;
}

static int padding_of(kb *c, const kl *L, nn_padding *p)
{
	const char *s = get_str(L->cfg, "padding");
	if (!s || !strcmp(s, "valid"))
		*p = NN_PADDING_VALID;
	else if (!strcmp(s, "same"))
		*p = NN_PADDING_SAME;
	else
		return lfail(c, L, NN_ERR_UNSUPPORTED, "padding '%.20s' is not supported", s);
	return 0;
}

/* Output size of a window op along one axis, as TensorFlow computes it. */
static int window_out(kb *c, const kl *L, nn_padding p, int in, int k, int s, int d, const char *axis, int64_t *out)
{
	int64_t eff = (int64_t)(k - 1) * d + 1;
	if (p == NN_PADDING_SAME) {
		*out = (in + (int64_t)s - 1) / s;
		return 0;
	}
	if (eff > in)
		return lfail(c, L, NN_ERR_SHAPE, "its window (%lld) is larger than the input's %s (%d)", (long long)eff,
			     axis, in);
	*out = (in - eff) / s + 1;
	return 0;
}

/* Folds a per-channel scale s (and shift t) after a node we just made, when nothing else reads its output. */
static int conv_common(kb *c, const kl *L, int *kh, int *kw, int *sh, int *sw, int *dh, int *dw, nn_padding *pad)
{
	int rc;
	if ((rc = cfg_pair(c, L, "kernel_size", 1, 1, 4096, kh, kw)) < 0 ||
	    (rc = cfg_pair(c, L, "strides", 1, 1, 4096, sh, sw)) < 0 ||
	    (rc = cfg_pair(c, L, "dilation_rate", 1, 1, 4096, dh, dw)) < 0 || (rc = padding_of(c, L, pad)) < 0)
		return rc;
	if ((*sh > 1 || *sw > 1) && (*dh > 1 || *dw > 1))
		return lfail(c, L, NN_ERR_UNSUPPORTED, "strides and dilation above 1 together are not supported");
	return 0;
}

/* Sets a conv node's fused activation when the Keras activation is one the IR fuses; else applies it after. */
static int conv_activation(kb *c, const kl *L, nn_node *n, int y, int fc)
{
	const char *a = act_name(get(L->cfg, "activation"));
	nn_activation act = NN_ACT_NONE;
	if (a && !strcmp(a, "relu"))
		act = NN_ACT_RELU;
	else if (a && !strcmp(a, "relu6"))
		act = NN_ACT_RELU6;
	if (act != NN_ACT_NONE) {
		if (fc)
			n->p.fc.act = act;
		else
			n->p.conv.act = act;
		return y;
	}
	int z = activation(c, L, y, a, "/act");
	if (z >= 0 && z != y) {
		/* The layer's output carries the layer's name; the value before the activation gets the suffix. */
		char *name = T(c, y)->name;
		T(c, y)->name = T(c, z)->name;
		T(c, z)->name = name;
	}
	return z;
}

static int bias_weight(kb *c, const kl *L, int i, int use_bias, int64_t channels)
{
	return use_bias ? weight(c, L, i, "bias", 1, &channels) : -1;
}

static int map_conv(kb *c, const kl *L, int x)
{
	int kh, kw, sh, sw, dh, dw, rc, use_bias;
	nn_padding pad;
	int64_t filters, groups, oh = 0, ow = 0;
	if ((rc = want_rank(c, L, x, 4)) < 0 || (rc = conv_common(c, L, &kh, &kw, &sh, &sw, &dh, &dw, &pad)) < 0 ||
	    (rc = cfg_int(c, L, "filters", -1, 1, MAX_DIM, &filters)) < 0 ||
	    (rc = cfg_int(c, L, "groups", 1, 1, MAX_DIM, &groups)) < 0 ||
	    (rc = cfg_bool(c, L, "use_bias", 1, &use_bias)) < 0)
		return rc;
	if (groups != 1)
		return lfail(c, L, NN_ERR_UNSUPPORTED, "grouped convolutions (groups %lld) are not supported",
			     (long long)groups);
	const nn_tensor xi = *T(c, x);
	int64_t ci = xi.shape[3];
	if ((rc = window_out(c, L, pad, xi.shape[1], kh, sh, dh, "height", &oh)) < 0 ||
	    (rc = window_out(c, L, pad, xi.shape[2], kw, sw, dw, "width", &ow)) < 0 ||
	    (rc = expect_weights(c, L, use_bias ? 2 : 1, use_bias ? "kernel, bias" : "kernel")) < 0)
		return rc;
	int64_t kshape[4] = { kh, kw, ci, filters };
	int k = weight(c, L, 0, "kernel", 4, kshape);
	if (k < 0)
		return k;
	int b = bias_weight(c, L, 1, use_bias, filters);
	if (use_bias && b < 0)
		return b;
	/* HWIO to OHWI. */
	int64_t fshape[4] = { filters, kh, kw, ci };
	int f = const_tensor(c, L, "/filter_ohwi", 4, fshape, NULL);
	if (f < 0)
		return f;
	const float *src = T(c, k)->data;
	float *dst = T(c, f)->data;
	for (int y = 0; y < kh; y++)
		for (int xx = 0; xx < kw; xx++)
			for (int i = 0; i < ci; i++)
				for (int o = 0; o < filters; o++)
					dst[(((size_t)o * kh + y) * kw + xx) * ci + i] =
						src[(((size_t)y * kw + xx) * ci + i) * filters + o];
	int64_t oshape[4] = { xi.shape[0], oh, ow, filters };
	int out = new_tensor(c, L, "", 4, oshape);
	if (out < 0)
		return out;
	int in[3] = { x, f, b };
	nn_node *n = node(c, L, NN_OP_CONV2D, 3, in, out);
	if (!n)
		return NN_ERR_NOMEM;
	n->p.conv = (nn_conv_params){ .stride_h = sh, .stride_w = sw, .dilation_h = dh, .dilation_w = dw,
				      .padding = pad, .depth_multiplier = 1 };
	return conv_activation(c, L, n, out, 0);
}

/* DepthwiseConv2D, and the first half of SeparableConv2D (weight 0 is the depthwise kernel). */
static int depthwise(kb *c, const kl *L, int x, int sep, int *out)
{
	int kh, kw, sh, sw, dh, dw, rc, use_bias;
	nn_padding pad;
	int64_t mult, oh = 0, ow = 0, filters = 0;
	if ((rc = want_rank(c, L, x, 4)) < 0 || (rc = conv_common(c, L, &kh, &kw, &sh, &sw, &dh, &dw, &pad)) < 0 ||
	    (rc = cfg_int(c, L, "depth_multiplier", 1, 1, 4096, &mult)) < 0 ||
	    (rc = cfg_bool(c, L, "use_bias", 1, &use_bias)) < 0)
		return rc;
	if (sep && (rc = cfg_int(c, L, "filters", -1, 1, MAX_DIM, &filters)) < 0)
		return rc;
	const nn_tensor xi = *T(c, x);
	int64_t ci = xi.shape[3], cm = ci * mult;
	if ((rc = window_out(c, L, pad, xi.shape[1], kh, sh, dh, "height", &oh)) < 0 ||
	    (rc = window_out(c, L, pad, xi.shape[2], kw, sw, dw, "width", &ow)) < 0)
		return rc;
	if (sep)
		rc = expect_weights(c, L, use_bias ? 3 : 2,
				    use_bias ? "depthwise_kernel, pointwise_kernel, bias"
					     : "depthwise_kernel, pointwise_kernel");
	else
		rc = expect_weights(c, L, use_bias ? 2 : 1, use_bias ? "depthwise_kernel, bias" : "depthwise_kernel");
	if (rc < 0)
		return rc;
	int64_t kshape[4] = { kh, kw, ci, mult };
	int k = weight(c, L, 0, "depthwise_kernel", 4, kshape);
	if (k < 0)
		return k;
	/* [kh, kw, in, mult] is already [1, kh, kw, in * mult] in memory: channel c * mult + m. */
	nn_tensor *kt = T(c, k);
	kt->shape[0] = 1, kt->shape[1] = kh, kt->shape[2] = kw, kt->shape[3] = (int)cm;
	int b = sep ? -1 : bias_weight(c, L, 1, use_bias, cm);
	if (!sep && use_bias && b < 0)
		return b;
	int64_t oshape[4] = { xi.shape[0], oh, ow, cm };
	int y = new_tensor(c, L, sep ? "/depthwise" : "", 4, oshape);
	if (y < 0)
		return y;
	int in[3] = { x, k, b };
	nn_node *n = node(c, L, NN_OP_DEPTHWISE_CONV2D, 3, in, y);
	if (!n)
		return NN_ERR_NOMEM;
	n->p.conv = (nn_conv_params){ .stride_h = sh, .stride_w = sw, .dilation_h = dh, .dilation_w = dw,
				      .padding = pad, .depth_multiplier = (int)mult };
	if (!sep) {
		*out = conv_activation(c, L, n, y, 0);
		return *out < 0 ? *out : 0;
	}
	/* The pointwise half: a 1x1 convolution whose [1, 1, in * mult, filters] kernel is OHWI once transposed. */
	int64_t pshape[4] = { 1, 1, cm, filters };
	int p = weight(c, L, 1, "pointwise_kernel", 4, pshape);
	if (p < 0)
		return p;
	b = bias_weight(c, L, 2, use_bias, filters);
	if (use_bias && b < 0)
		return b;
	int64_t fshape[4] = { filters, 1, 1, cm };
	int f = const_tensor(c, L, "/pointwise_ohwi", 4, fshape, NULL);
	if (f < 0)
		return f;
	const float *src = T(c, p)->data;
	float *dst = T(c, f)->data;
	for (int64_t i = 0; i < cm; i++)
		for (int64_t o = 0; o < filters; o++)
			dst[o * cm + i] = src[i * filters + o];
	int64_t o2[4] = { xi.shape[0], oh, ow, filters };
	int z = new_tensor(c, L, "", 4, o2);
	if (z < 0)
		return z;
	int in2[3] = { y, f, b };
	n = node(c, L, NN_OP_CONV2D, 3, in2, z);
	if (!n)
		return NN_ERR_NOMEM;
	n->p.conv = (nn_conv_params){ .stride_h = 1, .stride_w = 1, .dilation_h = 1, .dilation_w = 1,
				      .padding = NN_PADDING_VALID, .depth_multiplier = 1 };
	*out = conv_activation(c, L, n, z, 0);
	return *out < 0 ? *out : 0;
}

static int map_deconv(kb *c, const kl *L, int x)
{
	int kh, kw, sh, sw, dh, dw, rc, use_bias;
	nn_padding pad;
	int64_t filters;
	if ((rc = want_rank(c, L, x, 4)) < 0 || (rc = conv_common(c, L, &kh, &kw, &sh, &sw, &dh, &dw, &pad)) < 0 ||
	    (rc = cfg_int(c, L, "filters", -1, 1, MAX_DIM, &filters)) < 0 ||
	    (rc = cfg_bool(c, L, "use_bias", 1, &use_bias)) < 0)
		return rc;
	const cJSON *op = get(L->cfg, "output_padding");
	if (op && !cJSON_IsNull(op))
		return lfail(c, L, NN_ERR_UNSUPPORTED, "output_padding is not supported");
	if (dh != 1 || dw != 1)
		return lfail(c, L, NN_ERR_UNSUPPORTED, "dilated transposed convolutions are not supported");
	if (pad == NN_PADDING_VALID && (kh < sh || kw < sw))
		return lfail(c, L, NN_ERR_UNSUPPORTED, "'valid' padding with a kernel smaller than the stride is not supported");
	const nn_tensor xi = *T(c, x);
	int64_t ci = xi.shape[3];
	int64_t oh = pad == NN_PADDING_SAME ? (int64_t)xi.shape[1] * sh : (int64_t)(xi.shape[1] - 1) * sh + kh;
	int64_t ow = pad == NN_PADDING_SAME ? (int64_t)xi.shape[2] * sw : (int64_t)(xi.shape[2] - 1) * sw + kw;
	if ((rc = expect_weights(c, L, use_bias ? 2 : 1, use_bias ? "kernel, bias" : "kernel")) < 0)
		return rc;
	int64_t kshape[4] = { kh, kw, filters, ci };
	int k = weight(c, L, 0, "kernel", 4, kshape);
	if (k < 0)
		return k;
	int b = bias_weight(c, L, 1, use_bias, filters);
	if (use_bias && b < 0)
		return b;
	/* [kh, kw, out, in] to OHWI [out, kh, kw, in]. */
	int64_t fshape[4] = { filters, kh, kw, ci };
	int f = const_tensor(c, L, "/filter_ohwi", 4, fshape, NULL);
	if (f < 0)
		return f;
	const float *src = T(c, k)->data;
	float *dst = T(c, f)->data;
	for (int y = 0; y < kh; y++)
		for (int xx = 0; xx < kw; xx++)
			for (int o = 0; o < filters; o++)
				for (int i = 0; i < ci; i++)
					dst[(((size_t)o * kh + y) * kw + xx) * ci + i] =
						src[(((size_t)y * kw + xx) * filters + o) * ci + i];
	int64_t oshape[4] = { xi.shape[0], oh, ow, filters };
	int out = new_tensor(c, L, "", 4, oshape);
	if (out < 0)
		return out;
	int in[3] = { x, f, b };
	nn_node *n = node(c, L, NN_OP_TRANSPOSE_CONV2D, 3, in, out);
	if (!n)
		return NN_ERR_NOMEM;
	n->p.conv = (nn_conv_params){ .stride_h = sh, .stride_w = sw, .dilation_h = 1, .dilation_w = 1,
				      .padding = pad, .depth_multiplier = 1 };
	return conv_activation(c, L, n, out, 0);
}

static int map_dense(kb *c, const kl *L, int x)
{
	int64_t units;
	int use_bias, rc;
	if ((rc = cfg_int(c, L, "units", -1, 1, MAX_DIM, &units)) < 0 ||
	    (rc = cfg_bool(c, L, "use_bias", 1, &use_bias)) < 0)
		return rc;
	const nn_tensor xi = *T(c, x);
	if (xi.rank < 2)
		return lfail(c, L, NN_ERR_SHAPE, "expects an input of rank 2 or more");
	int64_t in = xi.shape[xi.rank - 1];
	if ((rc = expect_weights(c, L, use_bias ? 2 : 1, use_bias ? "kernel, bias" : "kernel")) < 0)
		return rc;
	int64_t kshape[2] = { in, units };
	int k = weight(c, L, 0, "kernel", 2, kshape);
	if (k < 0)
		return k;
	int b = bias_weight(c, L, 1, use_bias, units);
	if (use_bias && b < 0)
		return b;
	int64_t wshape[2] = { units, in };
	int w = const_tensor(c, L, "/weights", 2, wshape, NULL);
	if (w < 0)
		return w;
	const float *src = T(c, k)->data;
	float *dst = T(c, w)->data;
	for (int64_t i = 0; i < in; i++)
		for (int64_t o = 0; o < units; o++)
			dst[o * in + i] = src[i * units + o];
	int64_t oshape[NN_MAX_RANK];
	for (int d = 0; d < xi.rank; d++)
		oshape[d] = xi.shape[d];
	oshape[xi.rank - 1] = units;
	int y = new_tensor(c, L, "", xi.rank, oshape);
	if (y < 0)
		return y;
	int ins[3] = { x, w, b };
	nn_node *n = node(c, L, NN_OP_FULLY_CONNECTED, 3, ins, y);
	if (!n)
		return NN_ERR_NOMEM;
	n->p.fc.act = NN_ACT_NONE;
	n->p.fc.keep_num_dims = xi.rank > 2;
	return conv_activation(c, L, n, y, 1);
}

/* The channel axis of BatchNormalization/Normalization: only the last is supported. */
static int last_axis(kb *c, const kl *L, int rank)
{
	const cJSON *a = get(L->cfg, "axis");
	int64_t v = -1;
	if (cJSON_IsArray(a) && cJSON_GetArraySize(a) == 1)
		a = cJSON_GetArrayItem(a, 0);
	if (a && !cJSON_IsNull(a) && !int_value(a, &v))
		return lfail(c, L, NN_ERR_FORMAT, "'axis' must be an integer");
	if (v != -1 && v != rank - 1)
		return lfail(c, L, NN_ERR_UNSUPPORTED, "normalising along axis %lld of a rank-%d input is not supported "
						       "(only the last, channels_last)",
			     (long long)v, rank);
	return 0;
}

/* x * s + t with per-channel constants. */
static int scale_shift(kb *c, const kl *L, int x, const float *s, const float *t, int64_t ch)
{
	int ks = const_tensor(c, L, "/scale", 1, &ch, s);
	if (ks < 0)
		return ks;
	int kt = const_tensor(c, L, "/shift", 1, &ch, t);
	if (kt < 0)
		return kt;
	int y = binary(c, L, NN_OP_MUL, x, ks, "/mul");
	return y < 0 ? y : binary(c, L, NN_OP_ADD, y, kt, "");
}

static int map_bn(kb *c, const kl *L, int x)
{
	int center, scale, rc;
	double eps;
	const nn_tensor xi = *T(c, x);
	if ((rc = last_axis(c, L, xi.rank)) < 0 || (rc = cfg_bool(c, L, "center", 1, &center)) < 0 ||
	    (rc = cfg_bool(c, L, "scale", 1, &scale)) < 0 || (rc = cfg_float(c, L, "epsilon", 1e-3, &eps)) < 0)
		return rc;
	if (eps < 0)
		return lfail(c, L, NN_ERR_FORMAT, "epsilon is negative");
	int64_t ch = xi.shape[xi.rank - 1];
	int n = 2 + center + scale, i = 0;
	char list[96];
	snprintf(list, sizeof list, "%s%smoving_mean, moving_variance", scale ? "gamma, " : "", center ? "beta, " : "");
	if ((rc = expect_weights(c, L, n, list)) < 0)
		return rc;
	int gamma = scale ? weight(c, L, i++, "gamma", 1, &ch) : -1;
	if (scale && gamma < 0)
		return gamma;
	int beta = center ? weight(c, L, i++, "beta", 1, &ch) : -1;
	if (center && beta < 0)
		return beta;
	int mean = weight(c, L, i++, "moving_mean", 1, &ch);
	if (mean < 0)
		return mean;
	int var = weight(c, L, i++, "moving_variance", 1, &ch);
	if (var < 0)
		return var;
	float *s = malloc((size_t)ch * sizeof *s), *t = malloc((size_t)ch * sizeof *t);
	if (!s || !t) {
		free(s);
		free(t);
		return nomem(c);
	}
	const float *g = scale ? T(c, gamma)->data : NULL, *b = center ? T(c, beta)->data : NULL;
	const float *m = T(c, mean)->data, *v = T(c, var)->data;
	for (int64_t j = 0; j < ch; j++) {
		double k = (g ? g[j] : 1.0) / sqrt((double)v[j] + eps);
		s[j] = (float)k;
		t[j] = (float)((b ? b[j] : 0.0) - m[j] * k);
	}
	int y = scale_shift(c, L, x, s, t, ch);
	free(s);
	free(t);
	return y;
}

static int map_normalization(kb *c, const kl *L, int x)
{
	const nn_tensor xi = *T(c, x);
	int rc, invert;
	if ((rc = last_axis(c, L, xi.rank)) < 0 || (rc = cfg_bool(c, L, "invert", 0, &invert)) < 0)
		return rc;
	if (invert)
		return lfail(c, L, NN_ERR_UNSUPPORTED, "invert=true is not supported");
	int64_t ch = xi.shape[xi.rank - 1];
	float *s = calloc((size_t)ch, sizeof *s), *t = calloc((size_t)ch, sizeof *t);
	double *mv = calloc((size_t)ch * 2, sizeof *mv);
	if (!s || !t || !mv) {
		rc = nomem(c);
		goto done;
	}
	const cJSON *cm = get(L->cfg, "mean"), *cv = get(L->cfg, "variance");
	if (cm && !cJSON_IsNull(cm)) {
		/* Given in the config: a number or a list (one per channel, or one for all). */
		const cJSON *src[2] = { cm, cv };
		for (int k = 0; k < 2; k++) {
			const cJSON *a = src[k];
			int n = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : cJSON_IsNumber(a) ? 1 : -1;
			if (n != 1 && n != ch) {
				rc = lfail(c, L, NN_ERR_FORMAT, "'%s' must be a number or %lld numbers",
					   k ? "variance" : "mean", (long long)ch);
				goto done;
			}
			for (int64_t j = 0; j < ch; j++) {
				const cJSON *e = cJSON_IsArray(a) ? cJSON_GetArrayItem(a, n == 1 ? 0 : (int)j) : a;
				if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble)) {
					rc = lfail(c, L, NN_ERR_FORMAT, "'%s' holds a value that is not a finite number",
						   k ? "variance" : "mean");
					goto done;
				}
				mv[k * ch + j] = e->valuedouble;
			}
		}
	} else {
		char why[256] = "";
		int have = c->w->count(c->w->ctx, L->name, why, sizeof why);
		if (have != 2 && have != 3) {
			rc = expect_weights(c, L, 3, "mean, variance, count");
			goto done;
		}
		int m = weight(c, L, 0, "mean", 1, &ch);
		int v = m < 0 ? m : weight(c, L, 1, "variance", 1, &ch);
		if (v < 0) {
			rc = v;
			goto done;
		}
		for (int64_t j = 0; j < ch; j++) {
			mv[j] = ((const float *)T(c, m)->data)[j];
			mv[ch + j] = ((const float *)T(c, v)->data)[j];
		}
	}
	for (int64_t j = 0; j < ch; j++) {
		/* Keras divides by max(sqrt(variance), epsilon) with its epsilon 1e-7. */
		double sd = mv[ch + j] > 0 ? sqrt(mv[ch + j]) : 0;
		if (sd < 1e-7)
			sd = 1e-7;
		s[j] = (float)(1.0 / sd);
		t[j] = (float)(-mv[j] / sd);
	}
	rc = scale_shift(c, L, x, s, t, ch);
done:
	free(s);
	free(t);
	free(mv);
	return rc;
}

static int map_relu(kb *c, const kl *L, int x)
{
	double maxv, slope, thr;
	int rc;
	if ((rc = cfg_float(c, L, "max_value", -1, &maxv)) < 0 ||
	    (rc = cfg_float(c, L, "negative_slope", 0, &slope)) < 0 || (rc = cfg_float(c, L, "threshold", 0, &thr)) < 0)
		return rc;
	if (thr != 0)
		return lfail(c, L, NN_ERR_UNSUPPORTED, "a threshold other than 0 is not supported");
	const cJSON *mv = get(L->cfg, "max_value");
	int has_max = mv && !cJSON_IsNull(mv);
	if (has_max && maxv < 0)
		return lfail(c, L, NN_ERR_FORMAT, "max_value is negative");
	if (slope == 0 && !has_max)
		return unary(c, L, NN_OP_RELU, x, "");
	if (slope == 0 && maxv == 6)
		return unary(c, L, NN_OP_RELU6, x, "");
	int y;
	if (slope != 0) {
		y = unary(c, L, NN_OP_LEAKY_RELU, x, has_max ? "/leaky" : "");
		if (y >= 0)
			c->g->nodes[c->g->n_nodes - 1].p.leaky_relu.alpha = (float)slope;
	} else {
		y = unary(c, L, NN_OP_RELU, x, "/relu");
	}
	return y < 0 || !has_max ? y : binary_scalar(c, L, NN_OP_MINIMUM, y, (float)maxv, "");
}

static int map_leaky(kb *c, const kl *L, int x)
{
	double alpha;
	int rc;
	/* Keras 2 calls it alpha (default 0.3); Keras 3 negative_slope (same default). */
	if ((rc = cfg_float(c, L, "alpha", 0.3, &alpha)) < 0)
		return rc;
	if (get(L->cfg, "negative_slope") && (rc = cfg_float(c, L, "negative_slope", 0.3, &alpha)) < 0)
		return rc;
	int y = unary(c, L, NN_OP_LEAKY_RELU, x, "");
	if (y >= 0)
		c->g->nodes[c->g->n_nodes - 1].p.leaky_relu.alpha = (float)alpha;
	return y;
}

static int map_prelu(kb *c, const kl *L, int x)
{
	const nn_tensor xi = *T(c, x);
	int64_t shape[NN_MAX_RANK];
	int rank = xi.rank - 1, rc;
	for (int d = 0; d < rank; d++)
		shape[d] = xi.shape[d + 1];
	const cJSON *sa = get(L->cfg, "shared_axes");
	if (cJSON_IsNumber(sa) || cJSON_IsArray(sa)) {
		int n = cJSON_IsArray(sa) ? cJSON_GetArraySize(sa) : 1;
		for (int i = 0; i < n; i++) {
			int64_t a;
			if (!int_value(cJSON_IsArray(sa) ? cJSON_GetArrayItem(sa, i) : sa, &a) || a < 1 || a > rank)
				return lfail(c, L, NN_ERR_FORMAT, "shared_axes must hold axes from 1 to %d", rank);
			shape[a - 1] = 1;
		}
	}
	if ((rc = expect_weights(c, L, 1, "alpha")) < 0)
		return rc;
	int a = weight(c, L, 0, "alpha", rank, shape);
	if (a < 0)
		return a;
	int y = like_tensor(c, L, "", x);
	if (y < 0)
		return y;
	int in[2] = { x, a };
	return node(c, L, NN_OP_PRELU, 2, in, y) ? y : NN_ERR_NOMEM;
}

static int map_softmax(kb *c, const kl *L, int x)
{
	int64_t axis;
	int rc = cfg_int(c, L, "axis", -1, -NN_MAX_RANK, NN_MAX_RANK, &axis);
	if (rc < 0)
		return rc;
	if (axis != -1 && axis != T(c, x)->rank - 1)
		return lfail(c, L, NN_ERR_UNSUPPORTED, "softmax along axis %lld (not the last) is not supported",
			     (long long)axis);
	return unary(c, L, NN_OP_SOFTMAX, x, "");
}

static int map_merge(kb *c, const kl *L, nn_op op, int average, const int *in, int n)
{
	if (n < 2 && !average)
		return lfail(c, L, NN_ERR_FORMAT, "needs at least two inputs, has %d", n);
	if (n < 1)
		return lfail(c, L, NN_ERR_FORMAT, "has no input");
	if (op == NN_OP_SUB && n != 2)
		return lfail(c, L, NN_ERR_FORMAT, "needs exactly two inputs, has %d", n);
	int y = in[0];
	for (int i = 1; i < n; i++) {
		y = binary(c, L, op, y, in[i], i == n - 1 && !average ? "" : "/partial");
		if (y < 0)
			return y;
	}
	if (average)
		y = binary_scalar(c, L, NN_OP_MUL, y, 1.0f / (float)n, "");
	return y;
}

static int map_concat(kb *c, const kl *L, const int *in, int n)
{
	int64_t axis;
	int rc = cfg_int(c, L, "axis", -1, -NN_MAX_RANK, NN_MAX_RANK, &axis);
	if (rc < 0)
		return rc;
	if (n < 1)
		return lfail(c, L, NN_ERR_FORMAT, "has no input");
	const nn_tensor a = *T(c, in[0]);
	if (axis < 0)
		axis += a.rank;
	if (axis < 1 || axis >= a.rank)
		return lfail(c, L, NN_ERR_FORMAT, "axis %lld is out of range for rank-%d inputs (batch axis excluded)",
			     (long long)axis, a.rank);
	int64_t shape[NN_MAX_RANK];
	for (int d = 0; d < a.rank; d++)
		shape[d] = a.shape[d];
	shape[axis] = 0;
	for (int i = 0; i < n; i++) {
		const nn_tensor *b = T(c, in[i]);
		char s1[96], s2[96];
		int ok = b->rank == a.rank;
		for (int d = 0; ok && d < a.rank; d++)
			ok = d == axis || b->shape[d] == a.shape[d];
		if (!ok)
			return lfail(c, L, NN_ERR_SHAPE, "inputs %s and %s do not join along axis %lld",
				     shape_str(a.rank, a.shape, s1, sizeof s1), shape_str(b->rank, b->shape, s2, sizeof s2),
				     (long long)axis);
		shape[axis] += b->shape[axis];
	}
	int y = new_tensor(c, L, "", a.rank, shape);
	if (y < 0)
		return y;
	nn_node *nd = node(c, L, NN_OP_CONCATENATION, n, in, y);
	if (!nd)
		return NN_ERR_NOMEM;
	nd->p.concat.axis = (int)axis;
	nd->p.concat.act = NN_ACT_NONE;
	return y;
}

static int map_pool(kb *c, const kl *L, int x, int max)
{
	int ph, pw, sh, sw, rc;
	nn_padding pad;
	int64_t oh = 0, ow = 0;
	if ((rc = want_rank(c, L, x, 4)) < 0 || (rc = cfg_pair(c, L, "pool_size", 2, 1, 4096, &ph, &pw)) < 0 ||
	    (rc = cfg_pair(c, L, "strides", 0, 1, 4096, &sh, &sw)) < 0 || (rc = padding_of(c, L, &pad)) < 0)
		return rc;
	if (!sh)
		sh = ph, sw = pw;
	const nn_tensor xi = *T(c, x);
	if ((rc = window_out(c, L, pad, xi.shape[1], ph, sh, 1, "height", &oh)) < 0 ||
	    (rc = window_out(c, L, pad, xi.shape[2], pw, sw, 1, "width", &ow)) < 0)
		return rc;
	int64_t shape[4] = { xi.shape[0], oh, ow, xi.shape[3] };
	int y = new_tensor(c, L, "", 4, shape);
	if (y < 0)
		return y;
	nn_node *n = node(c, L, max ? NN_OP_MAX_POOL2D : NN_OP_AVERAGE_POOL2D, 1, &x, y);
	if (!n)
		return NN_ERR_NOMEM;
	n->p.pool = (nn_pool_params){ .filter_h = ph, .filter_w = pw, .stride_h = sh, .stride_w = sw, .padding = pad };
	return y;
}

static int reshape(kb *c, const kl *L, int x, int rank, const int64_t *shape, const char *suffix)
{
	int y = new_tensor(c, L, suffix, rank, shape);
	if (y < 0)
		return y;
	return node(c, L, NN_OP_RESHAPE, 1, &x, y) ? y : NN_ERR_NOMEM;
}

static int map_global_pool(kb *c, const kl *L, int x, int max)
{
	int keep, rc;
	if ((rc = want_rank(c, L, x, 4)) < 0 || (rc = cfg_bool(c, L, "keepdims", 0, &keep)) < 0)
		return rc;
	const nn_tensor xi = *T(c, x);
	int64_t kept[4] = { xi.shape[0], 1, 1, xi.shape[3] }, flat[2] = { xi.shape[0], xi.shape[3] };
	if (!max) {
		int y = new_tensor(c, L, "", keep ? 4 : 2, keep ? kept : flat);
		if (y < 0)
			return y;
		nn_node *n = node(c, L, NN_OP_MEAN, 1, &x, y);
		if (!n)
			return NN_ERR_NOMEM;
		n->p.reduce.axes[0] = 1;
		n->p.reduce.axes[1] = 2;
		n->p.reduce.n_axes = 2;
		n->p.reduce.keep_dims = keep;
		return y;
	}
	int y = new_tensor(c, L, keep ? "" : "/pool", 4, kept);
	if (y < 0)
		return y;
	nn_node *n = node(c, L, NN_OP_MAX_POOL2D, 1, &x, y);
	if (!n)
		return NN_ERR_NOMEM;
	n->p.pool = (nn_pool_params){ .filter_h = xi.shape[1], .filter_w = xi.shape[2], .stride_h = 1, .stride_w = 1,
				      .padding = NN_PADDING_VALID };
	return keep ? y : reshape(c, L, y, 2, flat, "");
}

static int map_flatten(kb *c, const kl *L, int x)
{
	const nn_tensor xi = *T(c, x);
	int64_t shape[2] = { xi.shape[0], 1 };
	for (int d = 1; d < xi.rank; d++)
		shape[1] *= xi.shape[d];
	/* NHWC in memory is the order Keras's channels_last Flatten gives: a plain reshape. */
	return reshape(c, L, x, 2, shape, "");
}

static int map_reshape(kb *c, const kl *L, int x)
{
	const cJSON *ts = get(L->cfg, "target_shape");
	const nn_tensor xi = *T(c, x);
	int n = cJSON_IsArray(ts) ? cJSON_GetArraySize(ts) : -1;
	if (n < 0 || n + 1 > NN_MAX_RANK)
		return lfail(c, L, NN_ERR_FORMAT, "target_shape must be a list of at most %d dimensions", NN_MAX_RANK - 1);
	int64_t shape[NN_MAX_RANK], known = 1, total = nn_tensor_elements(&xi) / xi.shape[0];
	int unknown = -1;
	shape[0] = xi.shape[0];
	for (int i = 0; i < n; i++) {
		int64_t v;
		if (!int_value(cJSON_GetArrayItem(ts, i), &v) || v == 0 || v < -1 || v > MAX_DIM || (v == -1 && unknown >= 0))
			return lfail(c, L, NN_ERR_FORMAT, "target_shape must hold positive sizes and at most one -1");
		if (v == -1)
			unknown = i + 1;
		else
			known *= v;
		shape[i + 1] = v;
	}
	if (unknown >= 0 && known > 0 && total % known == 0)
		shape[unknown] = total / known, known = total;
	char s[96];
	if (known != total)
		return lfail(c, L, NN_ERR_SHAPE, "cannot reshape %s to its target_shape",
			     shape_str(xi.rank, xi.shape, s, sizeof s));
	return reshape(c, L, x, n + 1, shape, "");
}

static int map_permute(kb *c, const kl *L, int x)
{
	const cJSON *dims = get(L->cfg, "dims");
	const nn_tensor xi = *T(c, x);
	int n = cJSON_IsArray(dims) ? cJSON_GetArraySize(dims) : -1;
	if (n != xi.rank - 1)
		return lfail(c, L, NN_ERR_FORMAT, "dims must list %d axes", xi.rank - 1);
	int perm[NN_MAX_RANK] = { 0 }, seen[NN_MAX_RANK] = { 1 };
	int64_t shape[NN_MAX_RANK] = { xi.shape[0] };
	for (int i = 0; i < n; i++) {
		int64_t v;
		if (!int_value(cJSON_GetArrayItem(dims, i), &v) || v < 1 || v > n || seen[v])
			return lfail(c, L, NN_ERR_FORMAT, "dims must be a permutation of 1..%d", n);
		seen[v] = 1;
		perm[i + 1] = (int)v;
		shape[i + 1] = xi.shape[v];
	}
	int y = new_tensor(c, L, "", xi.rank, shape);
	if (y < 0)
		return y;
	nn_node *nd = node(c, L, NN_OP_TRANSPOSE, 1, &x, y);
	if (!nd)
		return NN_ERR_NOMEM;
	memcpy(nd->p.transpose.perm, perm, sizeof perm);
	return y;
}

static int map_zeropad(kb *c, const kl *L, int x)
{
	int v[4], rc;
	if ((rc = want_rank(c, L, x, 4)) < 0 || (rc = cfg_amounts(c, L, "padding", 1, v)) < 0)
		return rc;
	const nn_tensor xi = *T(c, x);
	int64_t shape[4] = { xi.shape[0], (int64_t)xi.shape[1] + v[0] + v[1], (int64_t)xi.shape[2] + v[2] + v[3],
			     xi.shape[3] };
	int y = new_tensor(c, L, "", 4, shape);
	if (y < 0)
		return y;
	nn_node *n = node(c, L, NN_OP_PAD, 1, &x, y);
	if (!n)
		return NN_ERR_NOMEM;
	memset(&n->p.pad, 0, sizeof n->p.pad);
	n->p.pad.pads[1][0] = v[0], n->p.pad.pads[1][1] = v[1];
	n->p.pad.pads[2][0] = v[2], n->p.pad.pads[2][1] = v[3];
	return y;
}

static int map_crop(kb *c, const kl *L, int x)
{
	int v[4], rc;
	if ((rc = want_rank(c, L, x, 4)) < 0 || (rc = cfg_amounts(c, L, "cropping", 0, v)) < 0)
		return rc;
	const nn_tensor xi = *T(c, x);
	int64_t shape[4] = { xi.shape[0], (int64_t)xi.shape[1] - v[0] - v[1], (int64_t)xi.shape[2] - v[2] - v[3],
			     xi.shape[3] };
	if (shape[1] < 1 || shape[2] < 1)
		return lfail(c, L, NN_ERR_SHAPE, "crops more than the input's %dx%d", xi.shape[1], xi.shape[2]);
	int y = new_tensor(c, L, "", 4, shape);
	if (y < 0)
		return y;
	nn_node *n = node(c, L, NN_OP_STRIDED_SLICE, 1, &x, y);
	if (!n)
		return NN_ERR_NOMEM;
	memset(&n->p.slice, 0, sizeof n->p.slice);
	n->p.slice.begin[1] = v[0];
	n->p.slice.begin[2] = v[2];
	for (int d = 0; d < NN_MAX_RANK; d++)
		n->p.slice.stride[d] = 1;
	return y;
}

static int map_upsample(kb *c, const kl *L, int x)
{
	int sh, sw, rc;
	if ((rc = want_rank(c, L, x, 4)) < 0 || (rc = cfg_pair(c, L, "size", 2, 1, 4096, &sh, &sw)) < 0)
		return rc;
	const char *interp = get_str(L->cfg, "interpolation");
	int bilinear = interp && !strcmp(interp, "bilinear");
	if (interp && !bilinear && strcmp(interp, "nearest"))
		return lfail(c, L, NN_ERR_UNSUPPORTED, "interpolation '%.20s' is not supported", interp);
	const nn_tensor xi = *T(c, x);
	int64_t shape[4] = { xi.shape[0], (int64_t)xi.shape[1] * sh, (int64_t)xi.shape[2] * sw, xi.shape[3] };
	int y = new_tensor(c, L, "", 4, shape);
	if (y < 0)
		return y;
	nn_node *n = node(c, L, bilinear ? NN_OP_RESIZE_BILINEAR : NN_OP_RESIZE_NEAREST, 1, &x, y);
	if (!n)
		return NN_ERR_NOMEM;
	/* TensorFlow 2's image resizing, which Keras's UpSampling2D calls, samples at half-pixel centres. */
	n->p.resize.align_corners = 0;
	n->p.resize.half_pixel_centers = 1;
	return y;
}

/* A number or a list of numbers (one per channel) from the config, as a constant. */
static int cfg_const(kb *c, const kl *L, const char *key, double def, int channels, const char *suffix)
{
	const cJSON *v = get(L->cfg, key);
	if (!v || cJSON_IsNull(v) || cJSON_IsNumber(v)) {
		double d = def;
		int rc = cfg_float(c, L, key, def, &d);
		return rc < 0 ? rc : scalar_const(c, L, suffix, (float)d);
	}
	int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : -1;
	if (n != 1 && n != channels)
		return lfail(c, L, NN_ERR_FORMAT, "'%s' must be a number or %d numbers", key, channels);
	int64_t len = n;
	int t = const_tensor(c, L, suffix, 1, &len, NULL);
	if (t < 0)
		return t;
	float *dst = T(c, t)->data;
	for (int i = 0; i < n; i++) {
		const cJSON *e = cJSON_GetArrayItem(v, i);
		if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble))
			return lfail(c, L, NN_ERR_FORMAT, "'%s' holds a value that is not a finite number", key);
		dst[i] = (float)e->valuedouble;
	}
	return t;
}

static int map_rescale(kb *c, const kl *L, int x)
{
	const nn_tensor *xi = T(c, x);
	int ch = xi->shape[xi->rank - 1];
	int s = cfg_const(c, L, "scale", 1.0, ch, "/scale");
	if (s < 0)
		return s;
	int o = cfg_const(c, L, "offset", 0.0, ch, "/offset");
	if (o < 0)
		return o;
	int y = binary(c, L, NN_OP_MUL, x, s, "/mul");
	return y < 0 ? y : binary(c, L, NN_OP_ADD, y, o, "");
}

/* Builds one call of a layer on its inputs. */
static int build_layer(kb *c, const kl *L, const int *in, int n_in, int *out)
{
	const struct kclass *k = find_class(L->cls);
	if (!k)
		return lfail(c, L, NN_ERR_UNSUPPORTED, "not a layer vigil knows");
	int single = k->kind != K_BINARY && k->kind != K_AVERAGE && k->kind != K_CONCAT;
	if (single && n_in != 1)
		return lfail(c, L, NN_ERR_FORMAT, "takes one input, the config gives it %d", n_in);
	int x = in[0], y;
	if (single && T(c, x)->dtype != NN_F32)
		return lfail(c, L, NN_ERR_UNSUPPORTED, "its input is not float32");
	switch (k->kind) {
	case K_CONV:
		y = map_conv(c, L, x);
		break;
	case K_SEPCONV:
	case K_DWCONV: {
		int rc = depthwise(c, L, x, k->kind == K_SEPCONV, &y);
		if (rc < 0)
			return rc;
		break;
	}
	case K_DECONV:
		y = map_deconv(c, L, x);
		break;
	case K_DENSE:
		y = map_dense(c, L, x);
		break;
	case K_BN:
		y = map_bn(c, L, x);
		break;
	case K_ACT:
		y = activation(c, L, x, act_name(get(L->cfg, "activation")), "");
		break;
	case K_RELU:
		y = map_relu(c, L, x);
		break;
	case K_LEAKY:
		y = map_leaky(c, L, x);
		break;
	case K_PRELU:
		y = map_prelu(c, L, x);
		break;
	case K_SOFTMAX:
		y = map_softmax(c, L, x);
		break;
	case K_BINARY:
		y = map_merge(c, L, (nn_op)k->arg, 0, in, n_in);
		break;
	case K_AVERAGE:
		y = map_merge(c, L, NN_OP_ADD, 1, in, n_in);
		break;
	case K_CONCAT:
		y = map_concat(c, L, in, n_in);
		break;
	case K_MAXPOOL:
	case K_AVGPOOL:
		y = map_pool(c, L, x, k->kind == K_MAXPOOL);
		break;
	case K_GAP:
	case K_GMP:
		y = map_global_pool(c, L, x, k->kind == K_GMP);
		break;
	case K_FLATTEN:
		y = map_flatten(c, L, x);
		break;
	case K_RESHAPE:
		y = map_reshape(c, L, x);
		break;
	case K_PERMUTE:
		y = map_permute(c, L, x);
		break;
	case K_IDENTITY:
		y = x;
		break;
	case K_ZEROPAD:
		y = map_zeropad(c, L, x);
		break;
	case K_CROP:
		y = map_crop(c, L, x);
		break;
	case K_UPSAMPLE:
		y = map_upsample(c, L, x);
		break;
	case K_RESCALE:
		y = map_rescale(c, L, x);
		break;
	case K_NORMALIZE:
		y = map_normalization(c, L, x);
		break;
	default:
		return lfail(c, L, NN_ERR_UNSUPPORTED, "not supported here");
	}
	if (y < 0)
		return y;
	*out = y;
	return 0;
}

/* ---- the model's structure ---- */

/* The input shape an InputLayer or a Sequential model's first layer declares; batch None becomes 1. */
static int input_shape(kb *c, const kl *L, int *rank, int64_t *shape)
{
	const cJSON *s = get(L->cfg, "batch_input_shape");
	int batch = 1;
	if (!s || cJSON_IsNull(s))
		s = get(L->cfg, "batch_shape");
	if (!s || cJSON_IsNull(s)) {
		s = get(L->cfg, "input_shape");
		if (!s || cJSON_IsNull(s))
			s = get(L->cfg, "shape");
		batch = 0;
	}
	if (!cJSON_IsArray(s))
		return lfail(c, L, NN_ERR_FORMAT, "gives no input shape (batch_input_shape or batch_shape)");
	int n = cJSON_GetArraySize(s);
	if (n < 1 || n + !batch > NN_MAX_RANK)
		return lfail(c, L, NN_ERR_UNSUPPORTED, "an input of %d dimensions is not supported", n + !batch);
	*rank = n + !batch;
	if (!batch)
		shape[0] = 1;
	for (int i = 0; i < n; i++) {
		const cJSON *e = cJSON_GetArrayItem(s, i);
		int d = i + !batch;
		int64_t v;
		if (d == 0 && cJSON_IsNull(e)) {
			shape[0] = 1;
			continue;
		}
		if (cJSON_IsNull(e))
			return lfail(c, L, NN_ERR_UNSUPPORTED,
				     "input dimension %d is not fixed (None): vigil needs every size but the batch known",
				     d);
		if (!int_value(e, &v) || v < 1 || v > MAX_DIM)
			return lfail(c, L, NN_ERR_FORMAT, "input dimension %d must be a positive integer", d);
		shape[d] = v;
	}
	const char *dt = get_str(L->cfg, "dtype");
	if (dt && strcmp(dt, "float32"))
		return lfail(c, L, NN_ERR_UNSUPPORTED, "input dtype '%.20s' is not supported (float32 only)", dt);
	return 0;
}

static int add_input(kb *c, const kl *L, int *t)
{
	int rank = 0, rc;
	int64_t shape[NN_MAX_RANK];
	if ((rc = input_shape(c, L, &rank, shape)) < 0)
		return rc;
	*t = new_tensor(c, L, "", rank, shape);
	if (*t < 0)
		return *t;
	int *p = realloc(c->g->inputs, ((size_t)c->g->n_inputs + 1) * sizeof *p);
	if (!p)
		return nomem(c);
	c->g->inputs = p;
	p[c->g->n_inputs++] = *t;
	return 0;
}

/* A reference [name, node_index, tensor_index, ...] to a layer call's output: the IR tensor, or -1 (not built). */
static int resolve_ref(kb *c, const kl *L, const cJSON *r, int *t)
{
	const cJSON *name = cJSON_IsArray(r) ? cJSON_GetArrayItem(r, 0) : NULL;
	int64_t node_i = 0, tensor_i = 0;
	int n = cJSON_IsArray(r) ? cJSON_GetArraySize(r) : 0;
	if (!cJSON_IsString(name) || n < 1 || (n > 1 && !int_value(cJSON_GetArrayItem(r, 1), &node_i)) ||
	    (n > 2 && !int_value(cJSON_GetArrayItem(r, 2), &tensor_i)))
		return lfail(c, L, NN_ERR_FORMAT, "an input reference is not [\"layer\", node_index, tensor_index]");
	int li = find_layer(c, name->valuestring);
	if (li < 0)
		return lfail(c, L, NN_ERR_FORMAT, "reads layer '%.120s', which the config does not define",
			     name->valuestring);
	const kl *src = &c->layers[li];
	if (node_i < 0 || node_i >= src->n_calls)
		return lfail(c, L, NN_ERR_FORMAT, "reads call %lld of layer '%.120s', which has %d", (long long)node_i,
			     src->name, src->n_calls);
	if (tensor_i != 0)
		return lfail(c, L, NN_ERR_UNSUPPORTED, "reads output %lld of layer '%.120s', which has one",
			     (long long)tensor_i, src->name);
	*t = src->out[node_i];
	return 0;
}

/* Collects Keras 3's keras_history references inside a call's args, in order. */
static int collect_k3(kb *c, const kl *L, const cJSON *v, int *in, int *n, int depth)
{
	if (depth > 16)
		return lfail(c, L, NN_ERR_FORMAT, "its call arguments nest too deeply");
	if (cJSON_IsObject(v)) {
		const cJSON *hist = get(get(v, "config"), "keras_history");
		if (hist) {
			if (*n >= MAX_CALLS)
				return lfail(c, L, NN_ERR_FORMAT, "has too many inputs");
			return resolve_ref(c, L, hist, &in[(*n)++]);
		}
		return 0;
	}
	if (cJSON_IsArray(v)) {
		const cJSON *e;
		cJSON_ArrayForEach(e, v)
		{
			int rc = collect_k3(c, L, e, in, n, depth + 1);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

/* The input tensors of call k of a functional layer; *ready is 0 when one is not built yet. */
static int call_inputs(kb *c, const kl *L, int k, int *in, int *n, int *ready)
{
	const cJSON *call = cJSON_GetArrayItem(L->calls, k);
	*n = 0;
	*ready = 1;
	int rc;
	if (cJSON_IsObject(call)) {
		if ((rc = collect_k3(c, L, get(call, "args"), in, n, 0)) < 0)
			return rc;
	} else if (cJSON_IsArray(call)) {
		const cJSON *r;
		cJSON_ArrayForEach(r, call)
		{
			if (*n >= MAX_CALLS)
				return lfail(c, L, NN_ERR_FORMAT, "has too many inputs");
			if ((rc = resolve_ref(c, L, r, &in[(*n)++])) < 0)
				return rc;
		}
	} else {
		return lfail(c, L, NN_ERR_FORMAT, "inbound node %d is neither a list nor an object", k);
	}
	if (!*n)
		return lfail(c, L, NN_ERR_FORMAT, "inbound node %d has no input", k);
	for (int i = 0; i < *n; i++)
		if (in[i] < 0)
			*ready = 0;
	return 0;
}

static int add_layer_table(kb *c, const cJSON *layers, int functional)
{
	int n = cJSON_GetArraySize(layers);
	if (n < 1)
		return fail(c, NN_ERR_FORMAT, "the model has no layers");
	if (n > MAX_LAYERS)
		return fail(c, NN_ERR_FORMAT, "the model has %d layers; at most %d are supported", n, MAX_LAYERS);
	c->layers = calloc((size_t)n, sizeof *c->layers);
	c->cap = 16;
	while (c->cap < (size_t)n * 2)
		c->cap *= 2;
	c->slot = calloc(c->cap, sizeof *c->slot);
	if (!c->layers || !c->slot)
		return nomem(c);
	const cJSON *e;
	cJSON_ArrayForEach(e, layers)
	{
		kl *L = &c->layers[c->n_layers];
		L->cls = get_str(e, "class_name");
		L->cfg = get(e, "config");
		L->name = get_str(e, "name");
		if (!L->name)
			L->name = get_str(L->cfg, "name");
		if (!L->cls || !L->name || !cJSON_IsObject(L->cfg))
			return fail(c, NN_ERR_FORMAT, "layer %d has no class_name, name or config object", c->n_layers);
		if (!L->name[0] || strlen(L->name) > 255)
			return fail(c, NN_ERR_FORMAT, "layer %d has an empty or overlong name", c->n_layers);
		if (find_layer(c, L->name) >= 0)
			return fail(c, NN_ERR_FORMAT, "two layers are named '%.120s'", L->name);
		L->n_calls = 1;
		if (functional && strcmp(L->cls, "InputLayer")) {
			L->calls = get(e, "inbound_nodes");
			if (!cJSON_IsArray(L->calls))
				return fail(c, NN_ERR_FORMAT, "layer '%.120s' has no inbound_nodes list", L->name);
			L->n_calls = cJSON_GetArraySize(L->calls);
			if (L->n_calls > MAX_CALLS)
				return fail(c, NN_ERR_FORMAT, "layer '%.120s' is called %d times", L->name, L->n_calls);
		}
		L->out = malloc(((size_t)L->n_calls + 1) * sizeof *L->out);
		if (!L->out)
			return nomem(c);
		for (int k = 0; k < L->n_calls; k++)
			L->out[k] = -1;
		size_t i = hash_str(L->name) & (c->cap - 1);
		while (c->slot[i])
			i = (i + 1) & (c->cap - 1);
		c->slot[i] = ++c->n_layers;
	}
	return 0;
}

static int add_output(kb *c, int t)
{
	int *p = realloc(c->g->outputs, ((size_t)c->g->n_outputs + 1) * sizeof *p);
	if (!p)
		return nomem(c);
	c->g->outputs = p;
	p[c->g->n_outputs++] = t;
	return 0;
}

static int build_sequential(kb *c)
{
	int x = -1, rc;
	for (int i = 0; i < c->n_layers; i++) {
		kl *L = &c->layers[i];
		if (i == 0 || !strcmp(L->cls, "InputLayer")) {
			if (i > 0)
				return lfail(c, L, NN_ERR_FORMAT, "an InputLayer may only come first in a Sequential model");
			if ((rc = add_input(c, L, &x)) < 0)
				return rc;
			if (!strcmp(L->cls, "InputLayer")) {
				L->out[0] = x;
				continue;
			}
		}
		if ((rc = build_layer(c, L, &x, 1, &x)) < 0)
			return rc;
		L->out[0] = x;
	}
	return add_output(c, x);
}

/* [name, node, tensor] or a list of them: the model's inputs or outputs. */
static int io_refs(kb *c, const char *key, int outputs)
{
	const cJSON *v = get(get(c->root, "config"), key);
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) < 1)
		return fail(c, NN_ERR_FORMAT, "the functional config has no %s list", key);
	/* Keras 3 writes a single input or output as a flat [name, 0, 0]. */
	int flat = cJSON_IsString(cJSON_GetArrayItem(v, 0));
	int n = flat ? 1 : cJSON_GetArraySize(v);
	kl dummy = { .cls = "Model", .name = key };
	for (int i = 0; i < n; i++) {
		const cJSON *r = flat ? v : cJSON_GetArrayItem(v, i);
		int t, rc = resolve_ref(c, &dummy, r, &t);
		if (rc < 0)
			return rc;
		if (t < 0)
			return fail(c, NN_ERR_FORMAT, "%s names a layer that is not connected to the inputs", key);
		if (outputs && (rc = add_output(c, t)) < 0)
			return rc;
		if (!outputs) {
			int found = 0;
			for (int k = 0; k < c->g->n_inputs; k++)
				found |= c->g->inputs[k] == t;
			if (!found)
				return fail(c, NN_ERR_FORMAT, "input_layers names a layer that is not an InputLayer");
		}
	}
	return 0;
}

static int build_functional(kb *c)
{
	int rc, *in = malloc(MAX_CALLS * sizeof *in);
	if (!in)
		return nomem(c);
	for (int i = 0; i < c->n_layers; i++) {
		kl *L = &c->layers[i];
		if (!strcmp(L->cls, "InputLayer") && (rc = add_input(c, L, &L->out[0])) < 0)
			goto done;
	}
	/* Passes in config order until nothing more can be built: the config is usually in order already. */
	for (int progress = 1, left = 1; left && progress;) {
		progress = left = 0;
		for (int i = 0; i < c->n_layers; i++) {
			kl *L = &c->layers[i];
			for (int k = 0; k < L->n_calls; k++) {
				if (L->out[k] >= 0)
					continue;
				int n, ready;
				if ((rc = call_inputs(c, L, k, in, &n, &ready)) < 0)
					goto done;
				if (!ready) {
					left = 1;
					continue;
				}
				if ((rc = build_layer(c, L, in, n, &L->out[k])) < 0)
					goto done;
				progress = 1;
			}
		}
	}
	if ((rc = io_refs(c, "input_layers", 0)) < 0 || (rc = io_refs(c, "output_layers", 1)) < 0)
		goto done;
	rc = 0;
done:
	free(in);
	return rc;
}

/*
 * conv -> MUL by a per-channel constant (a BatchNormalization's scale), when
 * the conv's output is read by nothing else: the scale moves into the
 * filter and bias. The ADD of the shift that follows is taken into the bias
 * by the graph passes at prepare time.
 */
static int fold_scales(kb *c)
{
	nn_graph *g = c->g;
	int *producer = malloc(((size_t)g->n_tensors + 1) * sizeof *producer);
	int *readers = calloc((size_t)g->n_tensors + 1, sizeof *readers);
	unsigned char *removed = calloc((size_t)g->n_nodes + 1, 1);
	if (!producer || !readers || !removed) {
		free(producer);
		free(readers);
		free(removed);
		return nomem(c);
	}
	nn_graph_index_uses(g, NULL, producer, readers);
	int any = 0;
	for (int m = 0; m < g->n_nodes; m++) {
		nn_node *mul = &g->nodes[m];
		if (mul->op != NN_OP_MUL || mul->n_inputs != 2 || mul->p.act != NN_ACT_NONE)
			continue;
		int x = mul->inputs[0], k = mul->inputs[1];
		if (x < 0 || k < 0 || !T(c, k)->is_const || T(c, k)->rank != 1 || T(c, x)->is_const)
			continue;
		int p = producer[x];
		if (p < 0 || readers[x] != 1 || nn_graph_is_output(g, x))
			continue;
		nn_node *conv = &g->nodes[p];
		int ch = T(c, x)->shape[T(c, x)->rank - 1];
		if (T(c, k)->shape[0] != ch || conv->n_inputs != 3)
			continue;
		int w = conv->inputs[1], b = conv->inputs[2], outer;
		if (conv->op == NN_OP_CONV2D || conv->op == NN_OP_TRANSPOSE_CONV2D) {
			if (conv->p.conv.act != NN_ACT_NONE)
				continue;
			outer = 1;
		} else if (conv->op == NN_OP_DEPTHWISE_CONV2D) {
			if (conv->p.conv.act != NN_ACT_NONE)
				continue;
			outer = 0;
		} else if (conv->op == NN_OP_FULLY_CONNECTED) {
			if (conv->p.fc.act != NN_ACT_NONE)
				continue;
			outer = 1;
		} else {
			continue;
		}
		/* Each filter and bias is the layer's own (made by this loader), so it is scaled in place. */
		const float *s = T(c, k)->data;
		float *f = T(c, w)->data;
		int64_t n = nn_tensor_elements(T(c, w));
		if (n % ch)
			continue;
		for (int64_t i = 0; i < n; i++)
			f[i] *= s[outer ? i / (n / ch) : i % ch];
		if (b >= 0) {
			float *bv = T(c, b)->data;
			for (int i = 0; i < ch; i++)
				bv[i] *= s[i];
		}
		conv->outputs[0] = mul->outputs[0];
		removed[m] = 1;
		any = 1;
	}
	if (any)
		nn_graph_remove_nodes(g, removed);
	free(producer);
	free(readers);
	free(removed);
	return 0;
}

/* Every graph output must be written by a node: a model whose output is its input has nothing to run. */
static int check_outputs(kb *c)
{
	for (int i = 0; i < c->g->n_outputs; i++)
		for (int k = 0; k < c->g->n_inputs; k++)
			if (c->g->outputs[i] == c->g->inputs[k])
				return fail(c, NN_ERR_UNSUPPORTED, "output %d is the model's input itself: nothing to run", i);
	return 0;
}

int nn_keras_build(nn_graph **out, const char *json, size_t len, const char *keras_version,
		   const nn_keras_weights *w, const char *src, char *err, size_t errlen)
{
	kb c = { .src = src ? src : "(memory)", .err = err, .errlen = errlen, .w = w };
	*out = NULL;
	if (err && errlen)
		err[0] = 0;
	c.keras3 = keras_version && keras_version[0] >= '3' && keras_version[0] <= '9';
	int rc;
	if (!w || !w->count || !w->info || !w->read)
		return fail(&c, NN_ERR_ARG, "nn_keras_build: no weights interface");
	c.root = cJSON_ParseWithLength(json, len);
	if (!c.root) {
		rc = fail(&c, NN_ERR_FORMAT, "the model config is not valid JSON");
		goto done;
	}
	const char *cls = get_str(c.root, "class_name");
	const cJSON *cfg = get(c.root, "config");
	if (!cls) {
		rc = fail(&c, NN_ERR_FORMAT, "the model config has no class_name");
		goto done;
	}
	const cJSON *layers;
	if (!strcmp(cls, "Sequential")) {
		c.sequential = 1;
		layers = cJSON_IsArray(cfg) ? cfg : get(cfg, "layers");
	} else if (!strcmp(cls, "Model") || !strcmp(cls, "Functional")) {
		layers = get(cfg, "layers");
	} else {
		rc = fail(&c, NN_ERR_UNSUPPORTED,
			  "the model is a '%.60s'; vigil loads Sequential and functional (Model, Functional) models: a "
			  "subclassed model's structure is Python code, not in the file",
			  cls);
		goto done;
	}
	if (!cJSON_IsArray(layers)) {
		rc = fail(&c, NN_ERR_FORMAT, "the model config has no list of layers");
		goto done;
	}
	if ((rc = add_layer_table(&c, layers, !c.sequential)) < 0 || (rc = check_supported(&c)) < 0)
		goto done;
	c.g = nn_graph_create(c.src);
	if (!c.g) {
		rc = nomem(&c);
		goto done;
	}
	if ((rc = c.sequential ? build_sequential(&c) : build_functional(&c)) < 0 || (rc = check_outputs(&c)) < 0 ||
	    (rc = fold_scales(&c)) < 0)
		goto done;
	*out = c.g;
	c.g = NULL;
	rc = 0;
done:
	if (rc < 0 && !c.failed)
		fail(&c, rc, "cannot build the model");
	nn_graph_free(c.g);
	for (int i = 0; i < c.n_layers; i++)
		free(c.layers[i].out);
	free(c.layers);
	free(c.slot);
	cJSON_Delete(c.root);
	return rc;
}
