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
#include "nn/format/keras_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int nn_keras_fail(kb *c, int code, const char *fmt, ...)
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

int nn_keras_lfail(kb *c, const kl *L, int code, const char *fmt, ...)
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

int nn_keras_nomem(kb *c)
{
	return nn_keras_fail(c, NN_ERR_NOMEM, "out of memory");
}

const char *nn_keras_shape_str(int rank, const int *shape, char *buf, size_t len)
{
	size_t k = (size_t)snprintf(buf, len, "[");
	for (int d = 0; d < rank && k < len; d++)
		k += (size_t)snprintf(buf + k, len - k, d ? ",%d" : "%d", shape[d]);
	if (k < len)
		snprintf(buf + k, len - k, "]");
	return buf;
}

const char *nn_keras_shape64_str(int rank, const int64_t *shape, char *buf, size_t len)
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

const cJSON *nn_keras_get(const cJSON *o, const char *key)
{
	return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
}

const char *nn_keras_get_str(const cJSON *o, const char *key)
{
	const cJSON *v = nn_keras_get(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- config values ---- */

int nn_keras_int_value(const cJSON *v, int64_t *out)
{
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble != floor(v->valuedouble) ||
	    fabs(v->valuedouble) > 9e15)
		return 0;
	*out = (int64_t)v->valuedouble;
	return 1;
}

/* The name of an activation: a string, or Keras 3's {"class_name": "function", "config": "relu"}. */
const char *nn_keras_act_name(const cJSON *v)
{
	if (!v || cJSON_IsNull(v))
		return "linear";
	if (cJSON_IsString(v))
		return v->valuestring;
	if (cJSON_IsObject(v)) {
		const char *s = nn_keras_get_str(v, "config");
		if (s)
			return s;
		s = nn_keras_get_str(v, "registered_name");
		if (s)
			return s;
		s = nn_keras_get_str(v, "class_name");
		if (s)
			return s;
	}
	return NULL;
}

static const char *const known_acts[] = { "linear", "relu", "relu6", "sigmoid", "hard_sigmoid", "tanh", "softmax",
					  "swish", "silu", "hard_swish", "hard_silu", NULL };

int nn_keras_act_known(const char *a)
{
	for (int i = 0; a && known_acts[i]; i++)
		if (!strcmp(a, known_acts[i]))
			return 1;
	return 0;
}

/* ---- which layers exist ---- */


static const struct nn_keras_class classes[] = {
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
	{ "TFOpLambda", K_TFOP, 0 },
	{ NULL, 0, 0 },
};

const struct nn_keras_class *nn_keras_find_class(const char *name)
{
	for (int i = 0; name && classes[i].name; i++)
		if (!strcmp(classes[i].name, name))
			return &classes[i];
	return NULL;
}

/* Why a layer cannot be run, or NULL when it can (as far as its config shows). */
static const char *why_unsupported(const kl *L, char *buf, size_t len)
{
	const struct nn_keras_class *k = nn_keras_find_class(L->cls);
	if (!strcmp(L->cls, "Lambda"))
		return "holds Python bytecode, which only Python can run";
	if (!strcmp(L->cls, "TFOpLambda") || !strcmp(L->cls, "SlicingOpLambda")) {
		const char *fn = nn_keras_get_str(L->cfg, "function");
		if (!strcmp(L->cls, "TFOpLambda") && nn_keras_tfop_known(fn))
			return NULL;
		snprintf(buf, len, "TensorFlow op '%.60s' is not mapped", fn ? fn : "?");
		return buf;
	}
	if (!strcmp(L->cls, "Sequential") || !strcmp(L->cls, "Model") || !strcmp(L->cls, "Functional"))
		return "a model nested as a layer";
	if (!k)
		return "a custom layer: its code is in the Python program, not in the file";
	const char *df = nn_keras_get_str(L->cfg, "data_format");
	if (df && strcmp(df, "channels_last"))
		return "data_format channels_first (vigil runs channels_last)";
	const char *act = nn_keras_act_name(nn_keras_get(L->cfg, "activation"));
	if ((k->kind == K_CONV || k->kind == K_SEPCONV || k->kind == K_DWCONV || k->kind == K_DECONV ||
	     k->kind == K_DENSE || k->kind == K_ACT) &&
	    !nn_keras_act_known(act)) {
		snprintf(buf, len, "activation '%.40s' is not supported", act ? act : "(not a name)");
		return buf;
	}
	if (k->kind == K_ELU)
		return "needs exp, which vigil's IR lacks yet";
	const char *pad = nn_keras_get_str(L->cfg, "padding");
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
	return nn_keras_fail(c, NN_ERR_UNSUPPORTED, "%d layer%s cannot be run: %s", n, n > 1 ? "s" : "", list);
}

/* ---- the model's structure ---- */

/* The input shape an InputLayer or a Sequential model's first layer declares; batch None becomes 1. */
static int input_shape(kb *c, const kl *L, int *rank, int64_t *shape)
{
	const cJSON *s = nn_keras_get(L->cfg, "batch_input_shape");
	int batch = 1;
	if (!s || cJSON_IsNull(s))
		s = nn_keras_get(L->cfg, "batch_shape");
	if (!s || cJSON_IsNull(s)) {
		s = nn_keras_get(L->cfg, "input_shape");
		if (!s || cJSON_IsNull(s))
			s = nn_keras_get(L->cfg, "shape");
		batch = 0;
	}
	if (!cJSON_IsArray(s))
		return nn_keras_lfail(c, L, NN_ERR_FORMAT, "gives no input shape (batch_input_shape or batch_shape)");
	int n = cJSON_GetArraySize(s);
	if (n < 1 || n + !batch > NN_MAX_RANK)
		return nn_keras_lfail(c, L, NN_ERR_UNSUPPORTED, "an input of %d dimensions is not supported", n + !batch);
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
			return nn_keras_lfail(c, L, NN_ERR_UNSUPPORTED,
				     "input dimension %d is not fixed (None): vigil needs every size but the batch known",
				     d);
		if (!nn_keras_int_value(e, &v) || v < 1 || v > MAX_DIM)
			return nn_keras_lfail(c, L, NN_ERR_FORMAT, "input dimension %d must be a positive integer", d);
		shape[d] = v;
	}
	const char *dt = nn_keras_get_str(L->cfg, "dtype");
	if (dt && strcmp(dt, "float32"))
		return nn_keras_lfail(c, L, NN_ERR_UNSUPPORTED, "input dtype '%.20s' is not supported (float32 only)", dt);
	return 0;
}

static int add_input(kb *c, const kl *L, int *t)
{
	int rank = 0, rc;
	int64_t shape[NN_MAX_RANK];
	if ((rc = input_shape(c, L, &rank, shape)) < 0)
		return rc;
	*t = nn_keras_new_tensor(c, L, "", rank, shape);
	if (*t < 0)
		return *t;
	int *p = realloc(c->g->inputs, ((size_t)c->g->n_inputs + 1) * sizeof *p);
	if (!p)
		return nn_keras_nomem(c);
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
	if (!cJSON_IsString(name) || n < 1 || (n > 1 && !nn_keras_int_value(cJSON_GetArrayItem(r, 1), &node_i)) ||
	    (n > 2 && !nn_keras_int_value(cJSON_GetArrayItem(r, 2), &tensor_i)))
		return nn_keras_lfail(c, L, NN_ERR_FORMAT, "an input reference is not [\"layer\", node_index, tensor_index]");
	int li = find_layer(c, name->valuestring);
	if (li < 0)
		return nn_keras_lfail(c, L, NN_ERR_FORMAT, "reads layer '%.120s', which the config does not define",
			     name->valuestring);
	const kl *src = &c->layers[li];
	if (node_i < 0 || node_i >= src->n_calls)
		return nn_keras_lfail(c, L, NN_ERR_FORMAT, "reads call %lld of layer '%.120s', which has %d", (long long)node_i,
			     src->name, src->n_calls);
	if (tensor_i != 0)
		return nn_keras_lfail(c, L, NN_ERR_UNSUPPORTED, "reads output %lld of layer '%.120s', which has one",
			     (long long)tensor_i, src->name);
	*t = src->out[node_i];
	return 0;
}

/* Collects Keras 3's keras_history references inside a call's args, in order. */
static int collect_k3(kb *c, const kl *L, const cJSON *v, int *in, int *n, int depth)
{
	if (depth > 16)
		return nn_keras_lfail(c, L, NN_ERR_FORMAT, "its call arguments nest too deeply");
	if (cJSON_IsObject(v)) {
		const cJSON *hist = nn_keras_get(nn_keras_get(v, "config"), "keras_history");
		if (hist) {
			if (*n >= MAX_CALLS)
				return nn_keras_lfail(c, L, NN_ERR_FORMAT, "has too many inputs");
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
/* A call's keyword arguments: Keras 3's "kwargs", or the object after the first Keras 2 reference. */
static const cJSON *call_kwargs(const cJSON *call)
{
	if (cJSON_IsObject(call))
		return nn_keras_get(call, "kwargs");
	const cJSON *first = cJSON_IsArray(call) ? cJSON_GetArrayItem(call, 0) : NULL;
	const cJSON *kw = cJSON_IsArray(first) ? cJSON_GetArrayItem(first, 3) : NULL;
	return cJSON_IsObject(kw) ? kw : NULL;
}

/*
 * The input tensors of call k of a functional layer, and its keyword
 * arguments; *ready is 0 when an input is not built yet. A TFOpLambda's
 * second operand may be a tensor passed as the keyword argument y: it
 * becomes the last input.
 */
static int call_inputs(kb *c, const kl *L, int k, int *in, int *n, int *ready, const cJSON **kwargs)
{
	const cJSON *call = cJSON_GetArrayItem(L->calls, k);
	*n = 0;
	*ready = 1;
	*kwargs = call_kwargs(call);
	int rc;
	if (cJSON_IsObject(call)) {
		if ((rc = collect_k3(c, L, nn_keras_get(call, "args"), in, n, 0)) < 0)
			return rc;
	} else if (cJSON_IsArray(call)) {
		const cJSON *r;
		cJSON_ArrayForEach(r, call)
		{
			if (*n >= MAX_CALLS)
				return nn_keras_lfail(c, L, NN_ERR_FORMAT, "has too many inputs");
			if ((rc = resolve_ref(c, L, r, &in[(*n)++])) < 0)
				return rc;
		}
	} else {
		return nn_keras_lfail(c, L, NN_ERR_FORMAT, "inbound node %d is neither a list nor an object", k);
	}
	if (!*n)
		return nn_keras_lfail(c, L, NN_ERR_FORMAT, "inbound node %d has no input", k);
	const cJSON *y = nn_keras_get(*kwargs, "y");
	if (!strcmp(L->cls, "TFOpLambda") && y) {
		if (cJSON_IsArray(y) && cJSON_IsString(cJSON_GetArrayItem(y, 0))) {
			if (*n >= MAX_CALLS)
				return nn_keras_lfail(c, L, NN_ERR_FORMAT, "has too many inputs");
			if ((rc = resolve_ref(c, L, y, &in[(*n)++])) < 0)
				return rc;
		} else if (cJSON_IsObject(y) && (rc = collect_k3(c, L, y, in, n, 0)) < 0) {
			return rc;
		}
	}
	for (int i = 0; i < *n; i++)
		if (in[i] < 0)
			*ready = 0;
	return 0;
}

static int add_layer_table(kb *c, const cJSON *layers, int functional)
{
	int n = cJSON_GetArraySize(layers);
	if (n < 1)
		return nn_keras_fail(c, NN_ERR_FORMAT, "the model has no layers");
	if (n > MAX_LAYERS)
		return nn_keras_fail(c, NN_ERR_FORMAT, "the model has %d layers; at most %d are supported", n, MAX_LAYERS);
	c->layers = calloc((size_t)n, sizeof *c->layers);
	c->cap = 16;
	while (c->cap < (size_t)n * 2)
		c->cap *= 2;
	c->slot = calloc(c->cap, sizeof *c->slot);
	if (!c->layers || !c->slot)
		return nn_keras_nomem(c);
	const cJSON *e;
	cJSON_ArrayForEach(e, layers)
	{
		kl *L = &c->layers[c->n_layers];
		L->cls = nn_keras_get_str(e, "class_name");
		L->cfg = nn_keras_get(e, "config");
		L->name = nn_keras_get_str(e, "name");
		if (!L->name)
			L->name = nn_keras_get_str(L->cfg, "name");
		if (!L->cls || !L->name || !cJSON_IsObject(L->cfg))
			return nn_keras_fail(c, NN_ERR_FORMAT, "layer %d has no class_name, name or config object", c->n_layers);
		if (!L->name[0] || strlen(L->name) > 255)
			return nn_keras_fail(c, NN_ERR_FORMAT, "layer %d has an empty or overlong name", c->n_layers);
		if (find_layer(c, L->name) >= 0)
			return nn_keras_fail(c, NN_ERR_FORMAT, "two layers are named '%.120s'", L->name);
		L->n_calls = 1;
		if (functional && strcmp(L->cls, "InputLayer")) {
			L->calls = nn_keras_get(e, "inbound_nodes");
			if (!cJSON_IsArray(L->calls))
				return nn_keras_fail(c, NN_ERR_FORMAT, "layer '%.120s' has no inbound_nodes list", L->name);
			L->n_calls = cJSON_GetArraySize(L->calls);
			if (L->n_calls > MAX_CALLS)
				return nn_keras_fail(c, NN_ERR_FORMAT, "layer '%.120s' is called %d times", L->name, L->n_calls);
		}
		L->out = malloc(((size_t)L->n_calls + 1) * sizeof *L->out);
		if (!L->out)
			return nn_keras_nomem(c);
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
		return nn_keras_nomem(c);
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
				return nn_keras_lfail(c, L, NN_ERR_FORMAT, "an InputLayer may only come first in a Sequential model");
			if ((rc = add_input(c, L, &x)) < 0)
				return rc;
			if (!strcmp(L->cls, "InputLayer")) {
				L->out[0] = x;
				continue;
			}
		}
		if ((rc = nn_keras_build_layer(c, L, &x, 1, NULL, &x)) < 0)
			return rc;
		L->out[0] = x;
	}
	return add_output(c, x);
}

/* [name, node, tensor] or a list of them: the model's inputs or outputs. */
static int io_refs(kb *c, const char *key, int outputs)
{
	const cJSON *v = nn_keras_get(nn_keras_get(c->root, "config"), key);
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) < 1)
		return nn_keras_fail(c, NN_ERR_FORMAT, "the functional config has no %s list", key);
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
			return nn_keras_fail(c, NN_ERR_FORMAT, "%s names a layer that is not connected to the inputs", key);
		if (outputs && (rc = add_output(c, t)) < 0)
			return rc;
		if (!outputs) {
			int found = 0;
			for (int k = 0; k < c->g->n_inputs; k++)
				found |= c->g->inputs[k] == t;
			if (!found)
				return nn_keras_fail(c, NN_ERR_FORMAT, "input_layers names a layer that is not an InputLayer");
		}
	}
	return 0;
}

static int build_functional(kb *c)
{
	int rc, *in = malloc(MAX_CALLS * sizeof *in);
	if (!in)
		return nn_keras_nomem(c);
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
				const cJSON *kwargs;
				if ((rc = call_inputs(c, L, k, in, &n, &ready, &kwargs)) < 0)
					goto done;
				if (!ready) {
					left = 1;
					continue;
				}
				if ((rc = nn_keras_build_layer(c, L, in, n, kwargs, &L->out[k])) < 0)
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
		return nn_keras_nomem(c);
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
				return nn_keras_fail(c, NN_ERR_UNSUPPORTED, "output %d is the model's input itself: nothing to run", i);
	return 0;
}

void nn_keras_clean_message(char *msg)
{
	for (; msg && *msg; msg++)
		if ((unsigned char)*msg < 0x20 || (unsigned char)*msg >= 0x7f)
			*msg = '?';
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
		return nn_keras_fail(&c, NN_ERR_ARG, "nn_keras_build: no weights interface");
	c.root = cJSON_ParseWithLength(json, len);
	if (!c.root) {
		rc = nn_keras_fail(&c, NN_ERR_FORMAT, "the model config is not valid JSON");
		goto done;
	}
	const char *cls = nn_keras_get_str(c.root, "class_name");
	const cJSON *cfg = nn_keras_get(c.root, "config");
	if (!cls) {
		rc = nn_keras_fail(&c, NN_ERR_FORMAT, "the model config has no class_name");
		goto done;
	}
	const cJSON *layers;
	if (!strcmp(cls, "Sequential")) {
		c.sequential = 1;
		layers = cJSON_IsArray(cfg) ? cfg : nn_keras_get(cfg, "layers");
	} else if (!strcmp(cls, "Model") || !strcmp(cls, "Functional")) {
		layers = nn_keras_get(cfg, "layers");
	} else {
		rc = nn_keras_fail(&c, NN_ERR_UNSUPPORTED,
			  "the model is a '%.60s'; vigil loads Sequential and functional (Model, Functional) models: a "
			  "subclassed model's structure is Python code, not in the file",
			  cls);
		goto done;
	}
	if (!cJSON_IsArray(layers)) {
		rc = nn_keras_fail(&c, NN_ERR_FORMAT, "the model config has no list of layers");
		goto done;
	}
	if ((rc = add_layer_table(&c, layers, !c.sequential)) < 0 || (rc = check_supported(&c)) < 0)
		goto done;
	c.g = nn_graph_create(c.src);
	if (!c.g) {
		rc = nn_keras_nomem(&c);
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
		nn_keras_fail(&c, rc, "cannot build the model");
	/* The file's name is the caller's; what follows it came from the file. */
	if (rc < 0 && c.err && c.errlen && strlen(c.err) >= strlen(c.src))
		nn_keras_clean_message(c.err + strlen(c.src));
	nn_graph_free(c.g);
	for (int i = 0; i < c.n_layers; i++)
		free(c.layers[i].out);
	free(c.layers);
	free(c.slot);
	cJSON_Delete(c.root);
	return rc;
}
