/*
 * Keras layers -> IR nodes (see keras.h and keras_internal.h): each layer
 * class reads its config, computes its output's static shape, checks the
 * weights the file holds for it against the shapes the config implies, and
 * converts them to the IR's layouts (Keras: Conv2D kernels HWIO, depthwise
 * [kh, kw, in, multiplier], Dense [in, out], Conv2DTranspose [kh, kw, out,
 * in]; IR: OHWI, [1, kh, kw, in * multiplier], [out, in], OHWI).
 */
#include "nn/format/keras_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cfg_int(kb *c, const kl *L, const char *key, int64_t def, int64_t lo, int64_t hi, int64_t *out)
{
	const cJSON *v = nn_keras_get(L->cfg, key);
	if (!v || cJSON_IsNull(v)) {
		*out = def;
		return 0;
	}
	if (!nn_keras_int_value(v, out) || *out < lo || *out > hi)
		return nn_keras_lfail(c, L, NN_ERR_FORMAT, "'%s' must be an integer from %lld to %lld", key, (long long)lo,
			     (long long)hi);
	return 0;
}

static int cfg_float(kb *c, const kl *L, const char *key, double def, double *out)
{
	const cJSON *v = nn_keras_get(L->cfg, key);
	if (!v || cJSON_IsNull(v)) {
		*out = def;
		return 0;
	}
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
		return nn_keras_lfail(c, L, NN_ERR_FORMAT, "'%s' must be a finite number", key);
	*out = v->valuedouble;
	return 0;
}

static int cfg_bool(kb *c, const kl *L, const char *key, int def, int *out)
{
	const cJSON *v = nn_keras_get(L->cfg, key);
	if (!v || cJSON_IsNull(v)) {
		*out = def;
		return 0;
	}
	if (!cJSON_IsBool(v))
		return nn_keras_lfail(c, L, NN_ERR_FORMAT, "'%s' must be true or false", key);
	*out = cJSON_IsTrue(v);
	return 0;
}

/* An integer or a list of two (height, width); null gives def. */
static int cfg_pair(kb *c, const kl *L, const char *key, int def, int lo, int hi, int *a, int *b)
{
	const cJSON *v = nn_keras_get(L->cfg, key);
	int64_t x, y;
	if (!v || cJSON_IsNull(v)) {
		*a = *b = def;
		return 0;
	}
	if (nn_keras_int_value(v, &x)) {
		y = x;
	} else if (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 2 && nn_keras_int_value(cJSON_GetArrayItem(v, 0), &x) &&
		   nn_keras_int_value(cJSON_GetArrayItem(v, 1), &y)) {
	} else {
		return nn_keras_lfail(c, L, NN_ERR_FORMAT, "'%s' must be an integer or a list of two", key);
	}
	if (x < lo || x > hi || y < lo || y > hi)
		return nn_keras_lfail(c, L, NN_ERR_FORMAT, "'%s' must hold integers from %d to %d", key, lo, hi);
	*a = (int)x;
	*b = (int)y;
	return 0;
}

/* ZeroPadding2D and Cropping2D amounts: n, [h, w] or [[top, bottom], [left, right]]. */
static int cfg_amounts(kb *c, const kl *L, const char *key, int def, int v[4])
{
	const cJSON *a = nn_keras_get(L->cfg, key);
	int64_t x;
	if (!a || cJSON_IsNull(a)) {
		v[0] = v[1] = v[2] = v[3] = def;
		return 0;
	}
	if (nn_keras_int_value(a, &x) && x >= 0 && x <= MAX_DIM) {
		v[0] = v[1] = v[2] = v[3] = (int)x;
		return 0;
	}
	if (cJSON_IsArray(a) && cJSON_GetArraySize(a) == 2) {
		for (int i = 0; i < 2; i++) {
			const cJSON *e = cJSON_GetArrayItem(a, i);
			int64_t p, q;
			if (nn_keras_int_value(e, &p) && p >= 0 && p <= MAX_DIM) {
				v[2 * i] = v[2 * i + 1] = (int)p;
			} else if (cJSON_IsArray(e) && cJSON_GetArraySize(e) == 2 &&
				   nn_keras_int_value(cJSON_GetArrayItem(e, 0), &p) && nn_keras_int_value(cJSON_GetArrayItem(e, 1), &q) &&
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
	return nn_keras_lfail(c, L, NN_ERR_FORMAT, "'%s' must be n, [h, w] or [[top, bottom], [left, right]] of integers >= 0",
		     key);
}

/* ---- IR helpers ---- */

int nn_keras_new_tensor(kb *c, const kl *L, const char *suffix, int rank, const int64_t *shape)
{
	char name[320];
	snprintf(name, sizeof name, "%s%s", L->name, suffix ? suffix : "");
	if (rank < 0 || rank > NN_MAX_RANK)
		return nn_keras_lfail(c, L, NN_ERR_UNSUPPORTED, "its result would have %d dimensions; at most %d are supported",
			     rank, NN_MAX_RANK);
	int64_t bytes = 4;
	for (int d = 0; d < rank; d++) {
		if (shape[d] < 1 || shape[d] > MAX_DIM)
			return nn_keras_lfail(c, L, NN_ERR_SHAPE, "dimension %d of its result would be %lld", d,
				     (long long)shape[d]);
		if (bytes > MAX_TENSOR_BYTES / shape[d])
			return nn_keras_lfail(c, L, NN_ERR_SHAPE, "its result would take more than %lld bytes",
				     (long long)MAX_TENSOR_BYTES);
		bytes *= shape[d];
	}
	int t = nn_graph_add_tensor(c->g, name);
	if (t < 0)
		return nn_keras_nomem(c);
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
	return nn_keras_new_tensor(c, L, suffix, T(c, like)->rank, s);
}

/* A float32 constant with the given values (or zeros when v is NULL). */
static int const_tensor(kb *c, const kl *L, const char *suffix, int rank, const int64_t *shape, const float *v)
{
	int t = nn_keras_new_tensor(c, L, suffix, rank, shape);
	if (t < 0)
		return t;
	if (nn_tensor_alloc_const(T(c, t)) < 0)
		return nn_keras_nomem(c);
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
		nn_keras_nomem(c);
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
		return nn_keras_lfail(c, L, NN_ERR_SHAPE, "inputs %s and %s do not broadcast together",
			     nn_keras_shape_str(T(c, a)->rank, T(c, a)->shape, s1, sizeof s1),
			     nn_keras_shape_str(T(c, b)->rank, T(c, b)->shape, s2, sizeof s2));
	int y = nn_keras_new_tensor(c, L, suffix, rank, shape);
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
	return nn_keras_lfail(c, L, NN_ERR_UNSUPPORTED, "activation '%.40s' is not supported", a);
}

/* ---- weights ---- */

static int expect_weights(kb *c, const kl *L, int n, const char *list)
{
	char why[256] = "";
	int have = c->w && c->w->count ? c->w->count(c->w->ctx, L->name, n, why, sizeof why) : 0;
	if (have < 0)
		return nn_keras_lfail(c, L, have, "cannot read its weights: %s", why);
	if (have != n)
		return nn_keras_lfail(c, L, NN_ERR_FORMAT, "the config implies %d weight%s (%s); the file holds %d%s%s", n,
			     n == 1 ? "" : "s", list, have, why[0] ? ": " : "", why);
	return 0;
}

/* Reads weight i of a layer, checking it has the shape the config implies; returns a new constant tensor. */
static int weight(kb *c, const kl *L, int i, const char *role, int rank, const int64_t *shape)
{
	char why[256] = "", s1[128], s2[128];
	nn_keras_weight w;
	memset(&w, 0, sizeof w);
	int rc = c->w->info(c->w->ctx, L->name, i, role, rank, shape, &w, why, sizeof why);
	if (rc < 0)
		return nn_keras_lfail(c, L, rc, "weight %d (%s): %s", i, role, why);
	w.name[sizeof w.name - 1] = 0;
	int ok = w.rank == rank;
	for (int d = 0; ok && d < rank; d++)
		ok = w.shape[d] == shape[d];
	if (!ok)
		return nn_keras_lfail(c, L, NN_ERR_SHAPE, "weight %d '%.120s' (%s) has shape %s, expected %s", i, w.name, role,
			     w.rank < 0 ? "(rank > 6)" : nn_keras_shape64_str(w.rank, w.shape, s1, sizeof s1),
			     nn_keras_shape64_str(rank, shape, s2, sizeof s2));
	char suffix[64];
	snprintf(suffix, sizeof suffix, "/%s", role);
	int t = const_tensor(c, L, suffix, rank, shape, NULL);
	if (t < 0)
		return t;
	rc = c->w->read(c->w->ctx, L->name, i, T(c, t)->data, nn_tensor_elements(T(c, t)), why, sizeof why);
	if (rc < 0)
		return nn_keras_lfail(c, L, rc, "weight %d '%.120s' (%s): %s", i, w.name, role, why);
	const float *v = T(c, t)->data;
	for (int64_t j = 0; j < nn_tensor_elements(T(c, t)); j++)
		if (!isfinite(v[j]))
			return nn_keras_lfail(c, L, NN_ERR_FORMAT, "weight %d '%.120s' (%s) holds a non-finite value at %lld", i,
				     w.name, role, (long long)j);
	return t;
}

/* ---- layers ---- */

static int want_rank(kb *c, const kl *L, int x, int rank)
{
	char s[96];
	if (T(c, x)->rank != rank)
		return nn_keras_lfail(c, L, NN_ERR_SHAPE, "expects a rank-%d input, got %s", rank,
			     nn_keras_shape_str(T(c, x)->rank, T(c, x)->shape, s, sizeof s));
	return 0;
}

static int padding_of(kb *c, const kl *L, nn_padding *p)
{
	const char *s = nn_keras_get_str(L->cfg, "padding");
	if (!s || !strcmp(s, "valid"))
		*p = NN_PADDING_VALID;
	else if (!strcmp(s, "same"))
		*p = NN_PADDING_SAME;
	else
		return nn_keras_lfail(c, L, NN_ERR_UNSUPPORTED, "padding '%.20s' is not supported", s);
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
		return nn_keras_lfail(c, L, NN_ERR_SHAPE, "its window (%lld) is larger than the input's %s (%d)", (long long)eff,
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
		return nn_keras_lfail(c, L, NN_ERR_UNSUPPORTED, "strides and dilation above 1 together are not supported");
	return 0;
}

/* Sets a conv node's fused activation when the Keras activation is one the IR fuses; else applies it after. */
static int conv_activation(kb *c, const kl *L, nn_node *n, int y, int fc)
{
	const char *a = nn_keras_act_name(nn_keras_get(L->cfg, "activation"));
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
		return nn_keras_lfail(c, L, NN_ERR_UNSUPPORTED, "grouped convolutions (groups %lld) are not supported",
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
	int out = nn_keras_new_tensor(c, L, "", 4, oshape);
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
	int y = nn_keras_new_tensor(c, L, sep ? "/depthwise" : "", 4, oshape);
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
	int z = nn_keras_new_tensor(c, L, "", 4, o2);
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
	const cJSON *op = nn_keras_get(L->cfg, "output_padding");
	if (op && !cJSON_IsNull(op))
		return nn_keras_lfail(c, L, NN_ERR_UNSUPPORTED, "output_padding is not supported");
	if (dh != 1 || dw != 1)
		return nn_keras_lfail(c, L, NN_ERR_UNSUPPORTED, "dilated transposed convolutions are not supported");
	if (pad == NN_PADDING_VALID && (kh < sh || kw < sw))
		return nn_keras_lfail(c, L, NN_ERR_UNSUPPORTED, "'valid' padding with a kernel smaller than the stride is not supported");
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
	int out = nn_keras_new_tensor(c, L, "", 4, oshape);
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
		return nn_keras_lfail(c, L, NN_ERR_SHAPE, "expects an input of rank 2 or more");
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
	int y = nn_keras_new_tensor(c, L, "", xi.rank, oshape);
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
	const cJSON *a = nn_keras_get(L->cfg, "axis");
	int64_t v = -1;
	if (cJSON_IsArray(a) && cJSON_GetArraySize(a) == 1)
		a = cJSON_GetArrayItem(a, 0);
	if (a && !cJSON_IsNull(a) && !nn_keras_int_value(a, &v))
		return nn_keras_lfail(c, L, NN_ERR_FORMAT, "'axis' must be an integer");
	if (v != -1 && v != rank - 1)
		return nn_keras_lfail(c, L, NN_ERR_UNSUPPORTED, "normalising along axis %lld of a rank-%d input is not supported "
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
		return nn_keras_lfail(c, L, NN_ERR_FORMAT, "epsilon is negative");
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
		return nn_keras_nomem(c);
	}
	const float *g = scale ? T(c, gamma)->data : NULL, *b = center ? T(c, beta)->data : NULL;
	const float *m = T(c, mean)->data, *v = T(c, var)->data;
	for (int64_t j = 0; j < ch; j++)
		if (!((double)v[j] + eps > 0)) {
			free(s);
			free(t);
			return nn_keras_lfail(c, L, NN_ERR_FORMAT,
					      "moving_variance[%lld] + epsilon is %g; it must be positive", (long long)j,
					      (double)v[j] + eps);
		}
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
		return nn_keras_lfail(c, L, NN_ERR_UNSUPPORTED, "invert=true is not supported");
	int64_t ch = xi.shape[xi.rank - 1];
	float *s = calloc((size_t)ch, sizeof *s), *t = calloc((size_t)ch, sizeof *t);
	double *mv = calloc((size_t)ch * 2, sizeof *mv);
	if (!s || !t || !mv) {
		rc = nn_keras_nomem(c);
		goto done;
	}
	const cJSON *cm = nn_keras_get(L->cfg, "mean"), *cv = nn_keras_get(L->cfg, "variance");
	if (cm && !cJSON_IsNull(cm)) {
		/* Given in the config: a number or a list (one per channel, or one for all). */
		const cJSON *src[2] = { cm, cv };
		for (int k = 0; k < 2; k++) {
			const cJSON *a = src[k];
			int n = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : cJSON_IsNumber(a) ? 1 : -1;
			if (n != 1 && n != ch) {
				rc = nn_keras_lfail(c, L, NN_ERR_FORMAT, "'%s' must be a number or %lld numbers",
					   k ? "variance" : "mean", (long long)ch);
				goto done;
			}
			for (int64_t j = 0; j < ch; j++) {
				const cJSON *e = cJSON_IsArray(a) ? cJSON_GetArrayItem(a, n == 1 ? 0 : (int)j) : a;
				if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble)) {
					rc = nn_keras_lfail(c, L, NN_ERR_FORMAT, "'%s' holds a value that is not a finite number",
						   k ? "variance" : "mean");
					goto done;
				}
				mv[k * ch + j] = e->valuedouble;
			}
		}
	} else {
		char why[256] = "";
		int have = c->w->count(c->w->ctx, L->name, 3, why, sizeof why);
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
		return nn_keras_lfail(c, L, NN_ERR_UNSUPPORTED, "a threshold other than 0 is not supported");
	const cJSON *mv = nn_keras_get(L->cfg, "max_value");
	int has_max = mv && !cJSON_IsNull(mv);
	if (has_max && maxv < 0)
		return nn_keras_lfail(c, L, NN_ERR_FORMAT, "max_value is negative");
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
	if (nn_keras_get(L->cfg, "negative_slope") && (rc = cfg_float(c, L, "negative_slope", 0.3, &alpha)) < 0)
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
	const cJSON *sa = nn_keras_get(L->cfg, "shared_axes");
	if (cJSON_IsNumber(sa) || cJSON_IsArray(sa)) {
		int n = cJSON_IsArray(sa) ? cJSON_GetArraySize(sa) : 1;
		for (int i = 0; i < n; i++) {
			int64_t a;
			if (!nn_keras_int_value(cJSON_IsArray(sa) ? cJSON_GetArrayItem(sa, i) : sa, &a) || a < 1 || a > rank)
				return nn_keras_lfail(c, L, NN_ERR_FORMAT, "shared_axes must hold axes from 1 to %d", rank);
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
		return nn_keras_lfail(c, L, NN_ERR_UNSUPPORTED, "softmax along axis %lld (not the last) is not supported",
			     (long long)axis);
	return unary(c, L, NN_OP_SOFTMAX, x, "");
}

static int map_merge(kb *c, const kl *L, nn_op op, int average, const int *in, int n)
{
	if (n < 2 && !average)
		return nn_keras_lfail(c, L, NN_ERR_FORMAT, "needs at least two inputs, has %d", n);
	if (n < 1)
		return nn_keras_lfail(c, L, NN_ERR_FORMAT, "has no input");
	if (op == NN_OP_SUB && n != 2)
		return nn_keras_lfail(c, L, NN_ERR_FORMAT, "needs exactly two inputs, has %d", n);
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
		return nn_keras_lfail(c, L, NN_ERR_FORMAT, "has no input");
	const nn_tensor a = *T(c, in[0]);
	if (axis < 0)
		axis += a.rank;
	if (axis < 1 || axis >= a.rank)
		return nn_keras_lfail(c, L, NN_ERR_FORMAT, "axis %lld is out of range for rank-%d inputs (batch axis excluded)",
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
			return nn_keras_lfail(c, L, NN_ERR_SHAPE, "inputs %s and %s do not join along axis %lld",
				     nn_keras_shape_str(a.rank, a.shape, s1, sizeof s1), nn_keras_shape_str(b->rank, b->shape, s2, sizeof s2),
				     (long long)axis);
		shape[axis] += b->shape[axis];
	}
	int y = nn_keras_new_tensor(c, L, "", a.rank, shape);
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
	int y = nn_keras_new_tensor(c, L, "", 4, shape);
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
	int y = nn_keras_new_tensor(c, L, suffix, rank, shape);
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
		int y = nn_keras_new_tensor(c, L, "", keep ? 4 : 2, keep ? kept : flat);
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
	int y = nn_keras_new_tensor(c, L, keep ? "" : "/pool", 4, kept);
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
	const cJSON *ts = nn_keras_get(L->cfg, "target_shape");
	const nn_tensor xi = *T(c, x);
	int n = cJSON_IsArray(ts) ? cJSON_GetArraySize(ts) : -1;
	if (n < 0 || n + 1 > NN_MAX_RANK)
		return nn_keras_lfail(c, L, NN_ERR_FORMAT, "target_shape must be a list of at most %d dimensions", NN_MAX_RANK - 1);
	int64_t shape[NN_MAX_RANK], known = 1, total = nn_tensor_elements(&xi) / xi.shape[0];
	int unknown = -1;
	shape[0] = xi.shape[0];
	for (int i = 0; i < n; i++) {
		int64_t v;
		if (!nn_keras_int_value(cJSON_GetArrayItem(ts, i), &v) || v == 0 || v < -1 || v > MAX_DIM || (v == -1 && unknown >= 0))
			return nn_keras_lfail(c, L, NN_ERR_FORMAT, "target_shape must hold positive sizes and at most one -1");
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
		return nn_keras_lfail(c, L, NN_ERR_SHAPE, "cannot reshape %s to its target_shape",
			     nn_keras_shape_str(xi.rank, xi.shape, s, sizeof s));
	return reshape(c, L, x, n + 1, shape, "");
}

static int map_permute(kb *c, const kl *L, int x)
{
	const cJSON *dims = nn_keras_get(L->cfg, "dims");
	const nn_tensor xi = *T(c, x);
	int n = cJSON_IsArray(dims) ? cJSON_GetArraySize(dims) : -1;
	if (n != xi.rank - 1)
		return nn_keras_lfail(c, L, NN_ERR_FORMAT, "dims must list %d axes", xi.rank - 1);
	int perm[NN_MAX_RANK] = { 0 }, seen[NN_MAX_RANK] = { 1 };
	int64_t shape[NN_MAX_RANK] = { xi.shape[0] };
	for (int i = 0; i < n; i++) {
		int64_t v;
		if (!nn_keras_int_value(cJSON_GetArrayItem(dims, i), &v) || v < 1 || v > n || seen[v])
			return nn_keras_lfail(c, L, NN_ERR_FORMAT, "dims must be a permutation of 1..%d", n);
		seen[v] = 1;
		perm[i + 1] = (int)v;
		shape[i + 1] = xi.shape[v];
	}
	int y = nn_keras_new_tensor(c, L, "", xi.rank, shape);
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
	int y = nn_keras_new_tensor(c, L, "", 4, shape);
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
		return nn_keras_lfail(c, L, NN_ERR_SHAPE, "crops more than the input's %dx%d", xi.shape[1], xi.shape[2]);
	int y = nn_keras_new_tensor(c, L, "", 4, shape);
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
	const char *interp = nn_keras_get_str(L->cfg, "interpolation");
	int bilinear = interp && !strcmp(interp, "bilinear");
	if (interp && !bilinear && strcmp(interp, "nearest"))
		return nn_keras_lfail(c, L, NN_ERR_UNSUPPORTED, "interpolation '%.20s' is not supported", interp);
	const nn_tensor xi = *T(c, x);
	int64_t shape[4] = { xi.shape[0], (int64_t)xi.shape[1] * sh, (int64_t)xi.shape[2] * sw, xi.shape[3] };
	int y = nn_keras_new_tensor(c, L, "", 4, shape);
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
	const cJSON *v = nn_keras_get(L->cfg, key);
	if (!v || cJSON_IsNull(v) || cJSON_IsNumber(v)) {
		double d = def;
		int rc = cfg_float(c, L, key, def, &d);
		return rc < 0 ? rc : scalar_const(c, L, suffix, (float)d);
	}
	int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : -1;
	if (n != 1 && n != channels)
		return nn_keras_lfail(c, L, NN_ERR_FORMAT, "'%s' must be a number or %d numbers", key, channels);
	int64_t len = n;
	int t = const_tensor(c, L, suffix, 1, &len, NULL);
	if (t < 0)
		return t;
	float *dst = T(c, t)->data;
	for (int i = 0; i < n; i++) {
		const cJSON *e = cJSON_GetArrayItem(v, i);
		if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble))
			return nn_keras_lfail(c, L, NN_ERR_FORMAT, "'%s' holds a value that is not a finite number", key);
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

/*
 * TFOpLambda: a TensorFlow function called on Keras tensors, saved by name.
 * The element-wise ones are mapped; the second operand of a binary one is a
 * second input (a tensor passed as y) or the number in the call's kwargs "y".
 */
static const struct tfop {
	const char *fn;
	int unary; /* 1: unary op; 0: binary op; 2: swish */
	nn_op op;
} tfops[] = {
	{ "math.add", 0, NN_OP_ADD },          { "__operators__.add", 0, NN_OP_ADD },
	{ "math.subtract", 0, NN_OP_SUB },     { "math.multiply", 0, NN_OP_MUL },
	{ "math.truediv", 0, NN_OP_DIV },      { "math.divide", 0, NN_OP_DIV },
	{ "math.maximum", 0, NN_OP_MAXIMUM },  { "math.minimum", 0, NN_OP_MINIMUM },
	{ "nn.relu", 1, NN_OP_RELU },          { "nn.relu6", 1, NN_OP_RELU6 },
	{ "math.sigmoid", 1, NN_OP_LOGISTIC }, { "nn.sigmoid", 1, NN_OP_LOGISTIC },
	{ "math.tanh", 1, NN_OP_TANH },        { "nn.tanh", 1, NN_OP_TANH },
	{ "nn.softmax", 1, NN_OP_SOFTMAX },    { "nn.silu", 2, NN_OP_MUL },
	{ "nn.swish", 2, NN_OP_MUL },          { NULL, 0, 0 },
};

static const struct tfop *find_tfop(const char *fn)
{
	for (int i = 0; fn && tfops[i].fn; i++)
		if (!strcmp(tfops[i].fn, fn))
			return &tfops[i];
	return NULL;
}

int nn_keras_tfop_known(const char *fn)
{
	return find_tfop(fn) != NULL;
}

static int map_tfop(kb *c, const kl *L, const int *in, int n_in, const cJSON *kwargs)
{
	const char *fn = nn_keras_get_str(L->cfg, "function");
	const struct tfop *t = find_tfop(fn);
	if (!t)
		return nn_keras_lfail(c, L, NN_ERR_UNSUPPORTED, "TensorFlow op '%.60s' is not mapped", fn ? fn : "?");
	if (t->unary) {
		if (n_in != 1)
			return nn_keras_lfail(c, L, NN_ERR_FORMAT, "%s takes one input, the config gives it %d", fn, n_in);
		if (t->unary == 2)
			return activation(c, L, in[0], "swish", "");
		if (t->op == NN_OP_SOFTMAX) {
			const cJSON *axis = nn_keras_get(kwargs, "axis");
			int64_t a;
			if (axis && !cJSON_IsNull(axis) &&
			    (!nn_keras_int_value(axis, &a) || (a != -1 && a != T(c, in[0])->rank - 1)))
				return nn_keras_lfail(c, L, NN_ERR_UNSUPPORTED, "softmax along an axis but the last");
		}
		return unary(c, L, t->op, in[0], "");
	}
	if (n_in == 2)
		return binary(c, L, t->op, in[0], in[1], "");
	const cJSON *y = nn_keras_get(kwargs, "y");
	if (n_in != 1 || !cJSON_IsNumber(y) || !isfinite(y->valuedouble))
		return nn_keras_lfail(c, L, NN_ERR_UNSUPPORTED,
				      "%s needs a second operand: a tensor or a number as its keyword argument y", fn);
	return binary_scalar(c, L, t->op, in[0], (float)y->valuedouble, "");
}

/* Builds one call of a layer on its inputs. */
int nn_keras_build_layer(kb *c, const kl *L, const int *in, int n_in, const cJSON *kwargs, int *out)
{
	const struct nn_keras_class *k = nn_keras_find_class(L->cls);
	if (!k)
		return nn_keras_lfail(c, L, NN_ERR_UNSUPPORTED, "not a layer vigil knows");
	int single = k->kind != K_BINARY && k->kind != K_AVERAGE && k->kind != K_CONCAT && k->kind != K_TFOP;
	if (single && n_in != 1)
		return nn_keras_lfail(c, L, NN_ERR_FORMAT, "takes one input, the config gives it %d", n_in);
	int x = in[0], y;
	if (single && T(c, x)->dtype != NN_F32)
		return nn_keras_lfail(c, L, NN_ERR_UNSUPPORTED, "its input is not float32");
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
		y = activation(c, L, x, nn_keras_act_name(nn_keras_get(L->cfg, "activation")), "");
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
	case K_TFOP:
		y = map_tfop(c, L, in, n_in, kwargs);
		break;
	default:
		return nn_keras_lfail(c, L, NN_ERR_UNSUPPORTED, "not supported here");
	}
	if (y < 0)
		return y;
	*out = y;
	return 0;
}
