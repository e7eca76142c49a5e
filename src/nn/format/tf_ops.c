/*
 * TensorFlow graphs onto the IR, for every TensorFlow format.
 *
 * The format readers (tfjs.c, graphdef.c, savedmodel.c) fill an
 * nn_tf_graph; this file resolves its node inputs, finds the outputs, sorts
 * what they depend on topologically, refuses control flow and lists every
 * op it cannot map in one message, then maps each TensorFlow op onto the
 * IR, computing every tensor's static shape on the way. Ops whose inputs are
 * all constant are left for the constant-folding pass at prepare time,
 * except where the mapping needs their values now (a Reshape's shape
 * computed by other ops, say): those small subgraphs are evaluated here on
 * the reference kernels.
 *
 * int64 tensors are kept as int32, as TensorFlow.js does (the IR's integer
 * ops are int32); int64 constants beyond int32 are clamped to it, which keeps
 * the meaning of the "to the end" sentinels that slices use.
 */
#include "nn/format/tf_graph.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ref/ref.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the TensorFlow op mapping assumes a little-endian host, like nn_tf_tensor"
#endif

/*
 * Limits far above any real model, so that a hostile file cannot make the
 * mapping allocate absurd amounts: any one tensor, and what is evaluated at
 * load time.
 */
#define MAX_TENSOR_BYTES ((int64_t)1 << 32)
#define MAX_EVAL_ELEMENTS ((int64_t)1 << 22)
#define MAX_EVAL_DEPTH 64
#define MAX_SPLITS 4096
#define MAX_PARAM (1 << 24)

#if defined(__GNUC__)
#define PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define PRINTF(a, b)
#endif

typedef struct tj_node {
	const nn_tf_node *src;
	const char *name, *op;
	int n_in;           /* data inputs; control inputs ("^name") are dropped */
	int *in_node;       /* the node and output port each input reads */
	int *in_port;
	int n_consumers;    /* nodes reading it, through data or control inputs */
	int needed;         /* an output depends on it (or it is an input) */
	int pending;        /* topological sort: inputs not yet placed */
	int n_out;          /* set when it is mapped: its outputs and their IR tensors */
	int *out;
} tj_node;

/* Open addressing over indices (stored + 1) into an array of named things. */
typedef struct tj_map {
	int *slot;
	size_t cap;
} tj_map;

typedef struct tj {
	const char *src;    /* the model file's name, for messages */
	char *err;
	size_t errlen;
	int failed;         /* the first message is kept: it is the cause, later ones its consequences */
	const nn_tf_graph *tg;
	const nn_tf_build_options *o;

	tj_node *nodes;
	int n_nodes;
	const char **node_names;
	tj_map node_map;
	int *in_pool;
	int *order, n_order;

	int *out_node, *out_port, n_outputs; /* graph outputs */
	char **out_names;

	nn_graph *g;
	unsigned char *dead; /* IR nodes evaluated at load time, dropped at the end */
	int cap_dead;
} tj;

typedef int (*tj_map_fn)(tj *c, tj_node *n, int arg);

/* ---- messages ---- */

typedef int (*tj_map_fn)(tj *c, tj_node *n, int arg);

/* ---- messages ---- */

PRINTF(3, 4) static int fail(tj *c, int code, const char *fmt, ...)
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

PRINTF(4, 5) static int node_fail(tj *c, const tj_node *n, int code, const char *fmt, ...)
{
	if (c->failed)
		return code;
	c->failed = 1;
	if (c->err && c->errlen) {
		int k = snprintf(c->err, c->errlen, "%s: node '%.160s' (op %.60s): ", c->src, n->name, n->op);
		if (k >= 0 && (size_t)k < c->errlen) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(c->err + k, c->errlen - (size_t)k, fmt, ap);
			va_end(ap);
		}
	}
	return code;
}

static int nomem(tj *c)
{
	return fail(c, NN_ERR_NOMEM, "out of memory");
}

static const char *shape_str(int rank, const int *shape, char *buf, size_t len)
{
	size_t k = 0;
	buf[0] = 0;
	k += (size_t)snprintf(buf, len, "[");
	for (int d = 0; d < rank && k < len; d++)
		k += (size_t)snprintf(buf + k, len - k, d ? ",%d" : "%d", shape[d]);
	if (k < len)
		snprintf(buf + k, len - k, "]");
	return buf;
}

static const char *tshape(const nn_tensor *t, char *buf, size_t len)
{
	return shape_str(t->rank, t->shape, buf, len);
}

/* A heap copy of "base" followed by suffix, for tensor names; NULL when out of memory. */
static char *join_name(const char *base, const char *suffix)
{
	size_t a = strlen(base), b = strlen(suffix);
	char *s = malloc(a + b + 1);
	if (s) {
		memcpy(s, base, a);
		memcpy(s + a, suffix, b + 1);
	}
	return s;
}

/* ---- name maps ---- */

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

static int map_init(tj_map *m, int n)
{
	size_t cap = 16;
	while (cap < (size_t)n * 2 + 1)
		cap *= 2;
	m->slot = calloc(cap, sizeof *m->slot);
	m->cap = cap;
	return m->slot ? 0 : -1;
}

/* The index of the thing called key[0..len), or -1. */
static int map_find(const tj_map *m, const char *const *names, const char *key, size_t len)
{
	if (!m->slot)
		return -1;
	size_t i = (size_t)hash_bytes(key, len) & (m->cap - 1);
	for (;; i = (i + 1) & (m->cap - 1)) {
		int v = m->slot[i];
		if (!v)
			return -1;
		const char *name = names[v - 1];
		if (strncmp(name, key, len) == 0 && name[len] == '\0')
			return v - 1;
	}
}

/* Adds index idx under names[idx]; returns the index already there under that name, or -1. */
static int map_add(tj_map *m, const char *const *names, int idx)
{
	const char *key = names[idx];
	size_t len = strlen(key);
	size_t i = (size_t)hash_bytes(key, len) & (m->cap - 1);
	for (;; i = (i + 1) & (m->cap - 1)) {
		int v = m->slot[i];
		if (!v) {
			m->slot[i] = idx + 1;
			return -1;
		}
		if (strcmp(names[v - 1], key) == 0)
			return v - 1;
	}
}

/* ---- JSON and TensorFlow AttrValue helpers ---- */
/* ---- attributes ---- */

static const nn_tf_attr *attr_get(const tj_node *n, const char *key)
{
	return nn_tf_node_attr(n->src, key);
}

/* An int attribute; def when absent. */
static int attr_int(tj *c, const tj_node *n, const char *key, int64_t def, int64_t lo, int64_t hi, int64_t *out)
{
	*out = def;
	const nn_tf_attr *a = attr_get(n, key);
	if (!a)
		return 0;
	if (a->kind != NN_TF_ATTR_INT || a->i < lo || a->i > hi)
		return node_fail(c, n, NN_ERR_FORMAT, "attribute '%s' is not an integer from %lld to %lld", key,
				 (long long)lo, (long long)hi);
	*out = a->i;
	return 0;
}

static int attr_bool(tj *c, const tj_node *n, const char *key, int def, int *out)
{
	*out = def;
	const nn_tf_attr *a = attr_get(n, key);
	if (!a)
		return 0;
	if (a->kind != NN_TF_ATTR_BOOL)
		return node_fail(c, n, NN_ERR_FORMAT, "attribute '%s' is not a boolean", key);
	*out = a->b != 0;
	return 0;
}

static int attr_float(tj *c, const tj_node *n, const char *key, float def, float *out)
{
	*out = def;
	const nn_tf_attr *a = attr_get(n, key);
	if (!a)
		return 0;
	if (a->kind != NN_TF_ATTR_FLOAT || !isfinite(a->f) || fabs(a->f) > 3.0e38)
		return node_fail(c, n, NN_ERR_FORMAT, "attribute '%s' is not a finite number", key);
	*out = (float)a->f;
	return 0;
}

/* A string attribute copied into buf, NUL-terminated; *present says whether it was there. */
static int attr_string(tj *c, const tj_node *n, const char *key, char *buf, size_t cap, int *present)
{
	buf[0] = 0;
	*present = 0;
	const nn_tf_attr *a = attr_get(n, key);
	if (!a)
		return 0;
	if (a->kind != NN_TF_ATTR_STRING || a->s_len >= cap || (a->s_len && !a->s) ||
	    (a->s_len && memchr(a->s, 0, a->s_len)))
		return node_fail(c, n, NN_ERR_FORMAT, "attribute '%s' is not a string of at most %zu bytes", key, cap - 1);
	if (a->s_len)
		memcpy(buf, a->s, a->s_len);
	buf[a->s_len] = 0;
	*present = 1;
	return 0;
}

/* A list of ints; *count is -1 when the attribute is absent. */
static int attr_ints(tj *c, const tj_node *n, const char *key, int64_t *vals, int max, int *count)
{
	*count = -1;
	const nn_tf_attr *a = attr_get(n, key);
	if (!a)
		return 0;
	*count = 0;
	if (a->kind != NN_TF_ATTR_LIST || (a->n > 0 && (a->list_kind != NN_TF_ATTR_INT || !a->ints)))
		return node_fail(c, n, NN_ERR_FORMAT, "attribute '%s' is not a list of integers", key);
	if (a->n > max)
		return node_fail(c, n, NN_ERR_FORMAT, "attribute '%s' has more than %d values", key, max);
	for (int k = 0; k < a->n; k++)
		vals[k] = a->ints[k];
	*count = a->n;
	return 0;
}

/* "DT_FLOAT" for float: the spelling of TensorFlow's enum, which users know from their graphs. */
static const char *dt_spelling(nn_tf_dtype dt, char *buf, size_t len)
{
	const char *s = nn_tf_dtype_name(dt);
	size_t k = (size_t)snprintf(buf, len, "DT_");
	for (; *s && k + 1 < len; s++)
		buf[k++] = (char)(*s >= 'a' && *s <= 'z' ? *s - 'a' + 'A' : *s);
	buf[k < len ? k : len - 1] = 0;
	return buf;
}

/* TensorFlow's dtypes that the IR holds: int64 becomes int32. */
static int ir_dtype(nn_tf_dtype t, nn_dtype *dt)
{
	switch (t) {
	case NN_TF_FLOAT: *dt = NN_F32; return 0;
	case NN_TF_INT32:
	case NN_TF_INT64: *dt = NN_I32; return 0;
	case NN_TF_BOOL: *dt = NN_BOOL; return 0;
	default: return -1;
	}
}

static int attr_dtype(tj *c, const tj_node *n, const char *key, int required, nn_dtype *dt)
{
	const nn_tf_attr *a = attr_get(n, key);
	if (!a) {
		if (!required)
			return 1;
		return node_fail(c, n, NN_ERR_FORMAT, "has no '%s' attribute naming its data type", key);
	}
	if (a->kind != NN_TF_ATTR_TYPE)
		return node_fail(c, n, NN_ERR_FORMAT, "attribute '%s' is not a data type", key);
	char s[32];
	if (ir_dtype(a->type, dt) < 0)
		return node_fail(c, n, NN_ERR_UNSUPPORTED, "data type %s (attribute '%s') is not supported",
				 dt_spelling(a->type, s, sizeof s), key);
	return 0;
}

static nn_tensor *T(tj *c, int t)
{
	return &c->g->tensors[t];
}

/* Adds a tensor after checking its shape: dimensions in range and no more than MAX_TENSOR_BYTES. */
static int add_tensor(tj *c, const tj_node *n, const char *name, nn_dtype dt, int rank, const int64_t *shape)
{
	if (rank < 0 || rank > NN_MAX_RANK)
		return node_fail(c, n, NN_ERR_UNSUPPORTED, "its result '%.160s' would have %d dimensions; at most %d are supported",
				 name, rank, NN_MAX_RANK);
	int64_t bytes = (int64_t)nn_dtype_size(dt);
	for (int d = 0; d < rank; d++) {
		if (shape[d] < 0 || shape[d] > INT32_MAX)
			return node_fail(c, n, NN_ERR_SHAPE, "dimension %d of its result '%.160s' would be %lld", d, name,
					 (long long)shape[d]);
		if (shape[d] && bytes > MAX_TENSOR_BYTES / shape[d])
			return node_fail(c, n, NN_ERR_SHAPE,
					 "its result '%.160s' would take more than %lld bytes: the shape overflows", name,
					 (long long)MAX_TENSOR_BYTES);
		bytes *= shape[d];
	}
	int t = nn_graph_add_tensor(c->g, name);
	if (t < 0)
		return nomem(c);
	nn_tensor *x = T(c, t);
	x->dtype = dt;
	x->rank = rank;
	for (int d = 0; d < rank; d++)
		x->shape[d] = (int)shape[d];
	return t;
}

/* Adds a tensor shaped like an existing one. */
static int add_like(tj *c, const tj_node *n, const char *name, nn_dtype dt, int like)
{
	int64_t shape[NN_MAX_RANK];
	int rank = T(c, like)->rank;
	for (int d = 0; d < rank; d++)
		shape[d] = T(c, like)->shape[d];
	return add_tensor(c, n, name, dt, rank, shape);
}

/* Adds a tensor named after the node with the given suffix ("name/conv"). */
static int add_temp(tj *c, const tj_node *n, const char *suffix, nn_dtype dt, int rank, const int64_t *shape)
{
	char *name = join_name(n->name, suffix);
	if (!name)
		return nomem(c);
	int t = add_tensor(c, n, name, dt, rank, shape);
	free(name);
	return t;
}

static int init_outputs(tj *c, tj_node *n, int count)
{
	n->out = malloc(((size_t)count + 1) * sizeof *n->out);
	if (!n->out)
		return nomem(c);
	for (int k = 0; k < count; k++)
		n->out[k] = -1;
	n->n_out = count;
	return 0;
}

/* Adds the tensor of output port k: named after the node, with ":k" after the first. */
static int out_tensor(tj *c, tj_node *n, int k, nn_dtype dt, int rank, const int64_t *shape)
{
	int t;
	if (k == 0) {
		t = add_tensor(c, n, n->name, dt, rank, shape);
	} else {
		char suffix[16];
		snprintf(suffix, sizeof suffix, ":%d", k);
		t = add_temp(c, n, suffix, dt, rank, shape);
	}
	if (t >= 0)
		n->out[k] = t;
	return t;
}

static int is_dead(const tj *c, int i)
{
	return i < c->cap_dead && c->dead[i];
}

static int mark_dead(tj *c, int i)
{
	if (i >= c->cap_dead) {
		int cap = c->cap_dead ? c->cap_dead : 64;
		while (cap <= i)
			cap *= 2;
		unsigned char *d = realloc(c->dead, (size_t)cap);
		if (!d)
			return nomem(c);
		memset(d + c->cap_dead, 0, (size_t)(cap - c->cap_dead));
		c->dead = d;
		c->cap_dead = cap;
	}
	c->dead[i] = 1;
	return 0;
}

/* Adds an IR node named after the TF node. Returns its index, or a negative code. */
static int add_node(tj *c, const tj_node *n, nn_op op, int n_in, const int *in, int n_out, const int *out,
		    nn_node **node)
{
	if (node)
		*node = NULL;
	nn_node *x = nn_graph_add_node(c->g, op, n_in, n_out);
	if (!x || !(x->name = strdup(n->name)))
		return nomem(c);
	memcpy(x->inputs, in, (size_t)n_in * sizeof *in);
	memcpy(x->outputs, out, (size_t)n_out * sizeof *out);
	if (node)
		*node = x;
	return c->g->n_nodes - 1;
}

static int add_node1(tj *c, const tj_node *n, nn_op op, int n_in, const int *in, int out, nn_node **node)
{
	return add_node(c, n, op, n_in, in, 1, &out, node);
}

/* The IR node that writes tensor t, or -1 for constants and graph inputs. */
static int producer_of(const tj *c, int t)
{
	for (int i = c->g->n_nodes - 1; i >= 0; i--) {
		if (is_dead(c, i))
			continue;
		const nn_node *x = &c->g->nodes[i];
		for (int k = 0; k < x->n_outputs; k++)
			if (x->outputs[k] == t)
				return i;
	}
	return -1;
}

/* ---- node inputs ---- */

static int want_inputs(tj *c, const tj_node *n, int lo, int hi)
{
	if (n->n_in < lo || n->n_in > hi) {
		if (lo == hi)
			return node_fail(c, n, NN_ERR_FORMAT, "has %d inputs, expected %d", n->n_in, lo);
		return node_fail(c, n, NN_ERR_FORMAT, "has %d inputs, expected %d to %d", n->n_in, lo, hi);
	}
	return 0;
}

/* The IR tensor that input k of n reads. */
static int input_tensor(tj *c, const tj_node *n, int k, int *t)
{
	*t = -1;
	const tj_node *p = &c->nodes[n->in_node[k]];
	int port = n->in_port[k];
	if (port >= p->n_out)
		return node_fail(c, n, NN_ERR_FORMAT, "input %d reads output %d of node '%.160s' (op %.60s), which has %d", k,
				 port, p->name, p->op, p->n_out);
	if (p->out[port] < 0)
		return node_fail(c, n, NN_ERR_UNSUPPORTED, "input %d reads '%.160s', which has no tensor vigil can hold", k,
				 p->name);
	*t = p->out[port];
	return 0;
}

/* Input k, which must have dtype dt (or any when dt < 0) and, when rank >= 0, that rank. */
static int input_of(tj *c, const tj_node *n, int k, int dt, int rank, int *t)
{
	int rc = input_tensor(c, n, k, t);
	if (rc < 0)
		return rc;
	const nn_tensor *x = T(c, *t);
	char s[96];
	if (dt >= 0 && x->dtype != (nn_dtype)dt)
		return node_fail(c, n, NN_ERR_UNSUPPORTED, "input %d '%.160s' is %s, expected %s", k, x->name,
				 nn_dtype_name(x->dtype), nn_dtype_name((nn_dtype)dt));
	if (rank >= 0 && x->rank != rank)
		return node_fail(c, n, NN_ERR_SHAPE, "input %d '%.160s' has shape %s, expected %d dimensions", k, x->name,
				 tshape(x, s, sizeof s), rank);
	return 0;
}

/*
 * Makes tensor t constant, evaluating at load time the nodes it is computed
 * from (which must all have constant inputs in the end). `who` and `what`
 * name the node and input that need the value, for messages.
 */
static int make_const(tj *c, const tj_node *who, int t, const char *what, int depth)
{
	if (T(c, t)->is_const)
		return 0;
	int p = producer_of(c, t);
	if (p < 0)
		return node_fail(c, who, NN_ERR_UNSUPPORTED,
				 "%s must be known when the model loads, but it depends on the graph input '%.160s'", what,
				 T(c, t)->name);
	if (depth > MAX_EVAL_DEPTH)
		return node_fail(c, who, NN_ERR_UNSUPPORTED,
				 "%s is computed by a chain of more than %d ops, too long to evaluate at load time", what,
				 MAX_EVAL_DEPTH);
	int n_in = c->g->nodes[p].n_inputs;
	for (int k = 0; k < n_in; k++) {
		int ti = c->g->nodes[p].inputs[k];
		int rc = ti >= 0 ? make_const(c, who, ti, what, depth + 1) : 0;
		if (rc < 0)
			return rc;
	}
	nn_node *x = &c->g->nodes[p];
	char desc[256];
	snprintf(desc, sizeof desc, "%s '%.160s'", nn_op_name(x->op), x->name ? x->name : "");
	for (int k = 0; k < x->n_outputs; k++) {
		int64_t e = nn_tensor_elements(T(c, x->outputs[k]));
		if (e < 0 || e > MAX_EVAL_ELEMENTS)
			return node_fail(c, who, NN_ERR_UNSUPPORTED,
					 "%s must be computed when the model loads, but %s gives %lld values, more than the "
					 "%lld evaluated at load time",
					 what, desc, (long long)e, (long long)MAX_EVAL_ELEMENTS);
	}
	int rc;
	char why[256];
	if (!nn_ref_supports(c->g, x, why, sizeof why))
		return node_fail(c, who, NN_ERR_UNSUPPORTED, "%s must be computed when the model loads, but %s cannot be: %s",
				 what, desc, why);
	for (int k = 0; k < x->n_outputs; k++)
		if (nn_tensor_alloc_const(T(c, x->outputs[k])) < 0)
			return nomem(c);
	rc = nn_ref_run(c->g, x, why, sizeof why);
	if (rc < 0)
		return node_fail(c, who, rc, "%s must be computed when the model loads, but %s failed: %s", what, desc, why);
	return mark_dead(c, p);
}

/*
 * Whether t is constant or computed from constants alone, so that
 * make_const can evaluate it. budget bounds the walk, which a hostile graph
 * of shared subexpressions could otherwise make exponential.
 */
static int const_computable(const tj *c, int t, int *budget)
{
	if (c->g->tensors[t].is_const)
		return 1;
	if (--*budget < 0)
		return 0;
	int p = producer_of(c, t);
	if (p < 0)
		return 0;
	const nn_node *x = &c->g->nodes[p];
	for (int k = 0; k < x->n_inputs; k++)
		if (x->inputs[k] >= 0 && !const_computable(c, x->inputs[k], budget))
			return 0;
	return 1;
}

/* The int32 values of input k, which must be known at load time. */
static int const_ints(tj *c, const tj_node *n, int k, const char *what, int64_t *vals, int max, int *count)
{
	int t, rc;
	char desc[96];
	snprintf(desc, sizeof desc, "input %d (%s)", k, what);
	if ((rc = input_tensor(c, n, k, &t)) < 0 || (rc = make_const(c, n, t, desc, 0)) < 0)
		return rc;
	const nn_tensor *x = T(c, t);
	if (x->dtype != NN_I32)
		return node_fail(c, n, NN_ERR_UNSUPPORTED, "%s '%.160s' is %s, expected int32", desc, x->name,
				 nn_dtype_name(x->dtype));
	int64_t e = nn_tensor_elements(x);
	if (e < 0 || e > max)
		return node_fail(c, n, NN_ERR_FORMAT, "%s '%.160s' has %lld values, expected at most %d", desc, x->name,
				 (long long)e, max);
	for (int64_t i = 0; i < e; i++)
		vals[i] = ((const int32_t *)x->data)[i];
	*count = (int)e;
	return 0;
}

/* A single int32 known at load time (a scalar or a one-element vector). */
static int const_int(tj *c, const tj_node *n, int k, const char *what, int64_t *v)
{
	int count, rc = const_ints(c, n, k, what, v, 1, &count);
	if (rc < 0)
		return rc;
	if (count != 1)
		return node_fail(c, n, NN_ERR_FORMAT, "input %d (%s) has no value, expected one", k, what);
	return 0;
}

/* An axis in [-rank, rank) made non-negative. */
static int norm_axis(tj *c, const tj_node *n, int64_t axis, int rank, const char *what, int *out)
{
	*out = 0;
	if (axis < -rank || axis >= rank || rank == 0)
		return node_fail(c, n, NN_ERR_FORMAT, "%s %lld is outside the input's %d dimensions", what, (long long)axis,
				 rank);
	*out = (int)(axis < 0 ? axis + rank : axis);
	return 0;
}

/* ---- weights ---- */
static float half_to_float(uint16_t h)
{
	uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
	if (exp == 0) {
		if (mant == 0) {
			bits = sign;
		} else {
			/* A subnormal half is a normal float: shift the mantissa up to its leading one. */
			exp = 113;
			while (!(mant & 0x400)) {
				mant <<= 1;
				exp--;
			}
			bits = sign | (exp << 23) | ((mant & 0x3ff) << 13);
		}
	} else if (exp == 31) {
		bits = sign | 0x7f800000u | (mant << 13);
	} else {
		bits = sign | ((exp + 112) << 23) | (mant << 13);
	}
	float f;
	memcpy(&f, &bits, sizeof f);
	return f;
}

/* ---- mapping: inputs, constants, aliases ---- */

/* The endpoint (in the options' inputs) that names output 0 of node `name`, or NULL. */
static const nn_tf_endpoint *input_endpoint(const tj *c, const char *name)
{
	size_t len = strlen(name);
	for (int i = 0; i < c->o->n_inputs; i++) {
		const char *s = c->o->inputs[i].tensor;
		if (s && !strncmp(s, name, len) && (!s[len] || !strcmp(s + len, ":0")))
			return &c->o->inputs[i];
	}
	return NULL;
}

static int map_placeholder(tj *c, tj_node *n, int arg)
{
	(void)arg;
	nn_dtype dt;
	int rc, rank = -1;
	int64_t dims[NN_MAX_RANK];
	if ((rc = init_outputs(c, n, 1)) < 0 || (rc = attr_dtype(c, n, "dtype", 1, &dt)) < 0)
		return rc;
	const nn_tf_attr *sh = attr_get(n, "shape");
	if (sh && sh->kind != NN_TF_ATTR_SHAPE)
		return node_fail(c, n, NN_ERR_FORMAT, "the input's shape is malformed");
	if (sh && sh->rank > NN_MAX_RANK)
		return node_fail(c, n, NN_ERR_UNSUPPORTED, "the input has more than %d dimensions", NN_MAX_RANK);
	if (sh && sh->rank >= 0) {
		rank = sh->rank;
		for (int d = 0; d < rank; d++)
			dims[d] = sh->dims[d] < 0 ? -1 : sh->dims[d];
	}
	const nn_tf_endpoint *e = input_endpoint(c, n->name);
	if (e && (e->rank > NN_MAX_RANK))
		return node_fail(c, n, NN_ERR_UNSUPPORTED, "the input has more than %d dimensions", NN_MAX_RANK);
	if (e && e->rank >= 0) {
		if (rank < 0) {
			rank = e->rank;
			for (int d = 0; d < rank; d++)
				dims[d] = e->dims[d] < 0 ? -1 : e->dims[d];
		} else if (e->rank == rank) {
			for (int d = 0; d < rank; d++)
				if (dims[d] < 0)
					dims[d] = e->dims[d] < 0 ? -1 : e->dims[d];
		}
	}
	if (rank < 0)
		return node_fail(c, n, NN_ERR_UNSUPPORTED,
				 "the input's shape is unknown (neither its 'shape' attribute nor the signature gives it)");
	/* A variable batch becomes 1: vigil runs one frame at a time. */
	if (rank > 0 && dims[0] < 0)
		dims[0] = 1;
	/* An image of unknown size takes the one the user gave. */
	if (rank == 4 && c->o->input_w > 0 && c->o->input_h > 0) {
		if (dims[1] < 0)
			dims[1] = c->o->input_h;
		if (dims[2] < 0)
			dims[2] = c->o->input_w;
	}
	for (int d = 0; d < rank; d++)
		if (dims[d] < 0) {
			int shape[NN_MAX_RANK];
			char s[96];
			for (int k = 0; k < rank; k++)
				shape[k] = (int)dims[k];
			if (rank == 4 && (d == 1 || d == 2))
				return node_fail(c, n, NN_ERR_UNSUPPORTED,
						 "the input's shape %s has an unknown dimension %d: its size is unknown; give it "
						 "with --input-size WxH or the sidecar's \"input_size\"",
						 shape_str(rank, shape, s, sizeof s), d);
			return node_fail(c, n, NN_ERR_UNSUPPORTED,
					 "the input's shape %s has an unknown dimension %d; vigil needs fixed input sizes",
					 shape_str(rank, shape, s, sizeof s), d);
		}
	int t = add_tensor(c, n, e && e->name ? e->name : n->name, dt, rank, dims);
	if (t < 0)
		return NN_ERR_SHAPE;
	n->out[0] = t;
	return 0;
}

/* The value of a Const node: its "value" tensor attribute, checked. NULL after a message. */
static const nn_tf_tensor *const_value(tj *c, const tj_node *n)
{
	const nn_tf_attr *a = attr_get(n, "value");
	if (!a || a->kind != NN_TF_ATTR_TENSOR || !a->tensor) {
		node_fail(c, n, NN_ERR_FORMAT, "the constant has no 'value' tensor");
		return NULL;
	}
	const nn_tf_tensor *v = a->tensor;
	int64_t e = 1;
	if (v->rank < 0 || v->rank > NN_MAX_RANK) {
		node_fail(c, n, NN_ERR_UNSUPPORTED, "the constant has more than %d dimensions", NN_MAX_RANK);
		return NULL;
	}
	for (int d = 0; d < v->rank; d++) {
		if (v->dims[d] < 0 || v->dims[d] > INT32_MAX || (v->dims[d] && e > (INT64_C(1) << 56) / v->dims[d])) {
			node_fail(c, n, NN_ERR_FORMAT, "the constant's shape is malformed");
			return NULL;
		}
		e *= v->dims[d];
	}
	if (e != v->elements || (e && !v->data && v->dtype != NN_TF_STRING)) {
		node_fail(c, n, NN_ERR_FORMAT, "the constant holds %lld values for a shape of %lld", (long long)v->elements,
			  (long long)e);
		return NULL;
	}
	return v;
}

static int map_const(tj *c, tj_node *n, int arg)
{
	(void)arg;
	int rc = init_outputs(c, n, 1);
	if (rc < 0)
		return rc;
	const nn_tf_tensor *v = const_value(c, n);
	if (!v)
		return NN_ERR_FORMAT;
	nn_dtype dt;
	char s[32];
	switch (v->dtype) {
	case NN_TF_FLOAT:
	case NN_TF_DOUBLE:
	case NN_TF_HALF:
	case NN_TF_BFLOAT16:
		dt = NN_F32;
		break;
	case NN_TF_INT32:
	case NN_TF_INT64:
	case NN_TF_INT16:
	case NN_TF_INT8:
	case NN_TF_UINT16:
		dt = NN_I32;
		break;
	case NN_TF_UINT8:
	case NN_TF_QUINT8:
		dt = NN_U8;
		break;
	case NN_TF_QINT8:
		dt = NN_I8;
		break;
	case NN_TF_BOOL:
		dt = NN_BOOL;
		break;
	case NN_TF_STRING:
		return node_fail(c, n, NN_ERR_UNSUPPORTED, "string constants are not supported");
	default:
		return node_fail(c, n, NN_ERR_UNSUPPORTED, "constants of data type %s are not supported",
				 dt_spelling(v->dtype, s, sizeof s));
	}
	int64_t shape[NN_MAX_RANK];
	for (int d = 0; d < v->rank; d++)
		shape[d] = v->dims[d];
	int t = out_tensor(c, n, 0, dt, v->rank, shape);
	if (t < 0)
		return t;
	nn_tensor *x = T(c, t);
	if (nn_tensor_alloc_const(x) < 0)
		return nomem(c);
	const unsigned char *p = v->data;
	for (int64_t i = 0; i < v->elements; i++) {
		switch (v->dtype) {
		case NN_TF_FLOAT:
			memcpy((float *)x->data + i, p + 4 * i, 4);
			break;
		case NN_TF_DOUBLE: {
			double d;
			memcpy(&d, p + 8 * i, 8);
			((float *)x->data)[i] = (float)d;
			break;
		}
		case NN_TF_HALF: {
			uint16_t h;
			memcpy(&h, p + 2 * i, 2);
			((float *)x->data)[i] = half_to_float(h);
			break;
		}
		case NN_TF_BFLOAT16: {
			uint16_t h;
			memcpy(&h, p + 2 * i, 2);
			uint32_t bits = (uint32_t)h << 16;
			memcpy((float *)x->data + i, &bits, 4);
			break;
		}
		case NN_TF_INT32:
			memcpy((int32_t *)x->data + i, p + 4 * i, 4);
			break;
		case NN_TF_INT64: {
			int64_t q;
			memcpy(&q, p + 8 * i, 8);
			/* Large int64 values are "as far as it goes" sentinels (a StridedSlice end): int32's ends mean the same. */
			((int32_t *)x->data)[i] = q < INT32_MIN ? INT32_MIN : q > INT32_MAX ? INT32_MAX : (int32_t)q;
			break;
		}
		case NN_TF_INT16: {
			int16_t q;
			memcpy(&q, p + 2 * i, 2);
			((int32_t *)x->data)[i] = q;
			break;
		}
		case NN_TF_UINT16: {
			uint16_t q;
			memcpy(&q, p + 2 * i, 2);
			((int32_t *)x->data)[i] = q;
			break;
		}
		case NN_TF_INT8:
			((int32_t *)x->data)[i] = (int8_t)p[i];
			break;
		case NN_TF_BOOL:
			((uint8_t *)x->data)[i] = p[i] != 0;
			break;
		default: /* uint8, quint8, qint8: the bytes as they are */
			((uint8_t *)x->data)[i] = p[i];
			break;
		}
	}
	return 0;
}

/* Identity and its kin: the output is the input's tensor. IdentityN (arg 1) passes each input; NoOp (arg 2) has no output. */
static int map_identity(tj *c, tj_node *n, int arg)
{
	int rc, count = arg == 1 ? n->n_in : arg == 2 ? 0 : 1;
	if ((rc = init_outputs(c, n, count)) < 0 || (arg != 1 && (rc = want_inputs(c, n, count, count)) < 0))
		return rc;
	for (int k = 0; k < count; k++)
		if ((rc = input_tensor(c, n, k, &n->out[k])) < 0)
			return rc;
	return 0;
}

/* Shape: known at load time, so a constant. */
static int map_shape(tj *c, tj_node *n, int arg)
{
	(void)arg;
	int rc, t;
	if ((rc = init_outputs(c, n, 1)) < 0 || (rc = want_inputs(c, n, 1, 1)) < 0 || (rc = input_tensor(c, n, 0, &t)) < 0)
		return rc;
	int rank = T(c, t)->rank;
	int64_t len = rank;
	int o = out_tensor(c, n, 0, NN_I32, 1, &len);
	if (o < 0)
		return o;
	if (nn_tensor_alloc_const(T(c, o)) < 0)
		return nomem(c);
	for (int d = 0; d < rank; d++)
		((int32_t *)T(c, o)->data)[d] = T(c, t)->shape[d];
	return 0;
}

/* ---- mapping: convolutions ---- */

static int check_nhwc(tj *c, const tj_node *n)
{
	char s[16];
	int present, rc = attr_string(c, n, "data_format", s, sizeof s, &present);
	if (rc < 0)
		return rc;
	if (present && strcmp(s, "NHWC") != 0)
		return node_fail(c, n, NN_ERR_UNSUPPORTED, "data_format '%s' is not supported; expected NHWC", s);
	return 0;
}

/* A [1, h, w, 1] list attribute (strides, dilations, ksize). */
static int hw_list(tj *c, const tj_node *n, const char *key, int required, int *h, int *w)
{
	int64_t v[8];
	int count, rc = attr_ints(c, n, key, v, 8, &count);
	if (rc < 0)
		return rc;
	if (count <= 0 && !required) {
		*h = *w = 1;
		return 0;
	}
	if (count != 4)
		return node_fail(c, n, NN_ERR_FORMAT, "attribute '%s' has %d values, expected 4 ([1, height, width, 1])", key,
				 count < 0 ? 0 : count);
	if (v[0] != 1 || v[3] != 1)
		return node_fail(c, n, NN_ERR_UNSUPPORTED, "attribute '%s' [%lld,%lld,%lld,%lld] acts on the batch or channels",
				 key, (long long)v[0], (long long)v[1], (long long)v[2], (long long)v[3]);
	if (v[1] < 1 || v[1] > MAX_PARAM || v[2] < 1 || v[2] > MAX_PARAM)
		return node_fail(c, n, NN_ERR_FORMAT, "attribute '%s' has values outside 1..%d", key, MAX_PARAM);
	*h = (int)v[1];
	*w = (int)v[2];
	return 0;
}

/* The padding attribute; pads[] gets top, bottom, left, right for EXPLICIT. */
static int read_padding(tj *c, const tj_node *n, nn_padding *pad, int *pads)
{
	char s[16];
	int present, rc = attr_string(c, n, "padding", s, sizeof s, &present);
	memset(pads, 0, 4 * sizeof *pads);
	if (rc < 0)
		return rc;
	if (!present)
		return node_fail(c, n, NN_ERR_FORMAT, "has no 'padding' attribute");
	if (!strcmp(s, "SAME")) {
		*pad = NN_PADDING_SAME;
	} else if (!strcmp(s, "VALID")) {
		*pad = NN_PADDING_VALID;
	} else if (!strcmp(s, "EXPLICIT")) {
		int64_t v[8];
		int count;
		if ((rc = attr_ints(c, n, "explicit_paddings", v, 8, &count)) < 0)
			return rc;
		if (count != 8)
			return node_fail(c, n, NN_ERR_FORMAT, "EXPLICIT padding needs 8 explicit_paddings, found %d",
					 count < 0 ? 0 : count);
		if (v[0] || v[1] || v[6] || v[7])
			return node_fail(c, n, NN_ERR_UNSUPPORTED, "explicit padding of the batch or channels is not supported");
		for (int k = 0; k < 4; k++) {
			if (v[2 + k] < 0 || v[2 + k] > MAX_PARAM)
				return node_fail(c, n, NN_ERR_FORMAT, "explicit padding %lld is outside 0..%d",
						 (long long)v[2 + k], MAX_PARAM);
			pads[k] = (int)v[2 + k];
		}
		*pad = NN_PADDING_EXPLICIT;
	} else {
		return node_fail(c, n, NN_ERR_UNSUPPORTED, "padding '%s' is not supported; expected SAME, VALID or EXPLICIT", s);
	}
	return 0;
}

/* The output size along one axis of a convolution or pool, as TensorFlow computes it. */
static int window(tj *c, const tj_node *n, nn_padding pad, int64_t in, int k, int stride, int dil, int before,
		  int after, const char *axis, int64_t *out)
{
	int64_t eff = (int64_t)(k - 1) * dil + 1, size;
	if (pad == NN_PADDING_SAME)
		size = (in + stride - 1) / stride;
	else {
		int64_t padded = in + (pad == NN_PADDING_EXPLICIT ? before + after : 0);
		size = padded >= eff ? (padded - eff) / stride + 1 : 0;
	}
	if (size <= 0)
		return node_fail(c, n, NN_ERR_SHAPE, "a window of %lld along the %s does not fit the input's %lld",
				 (long long)eff, axis, (long long)in);
	*out = size;
	return 0;
}

/* Scale and bias of a batch normalisation fused into a convolution (TF: _FusedConv2D with FusedBatchNorm). */
static int batch_norm_factors(tj *c, const tj_node *n, int first_arg, int channels, float **scale, float **bias)
{
	static const char *const what[4] = { "scale", "offset", "mean", "variance" };
	const float *v[4];
	float eps;
	int rc = attr_float(c, n, "epsilon", 0.0f, &eps);
	if (rc < 0)
		return rc;
	for (int k = 0; k < 4; k++) {
		int t;
		if ((rc = input_of(c, n, first_arg + k, NN_F32, -1, &t)) < 0 || (rc = make_const(c, n, t, what[k], 0)) < 0)
			return rc;
		if (nn_tensor_elements(T(c, t)) != channels)
			return node_fail(c, n, NN_ERR_SHAPE, "batch norm %s '%.160s' has %lld values for %d channels", what[k],
					 T(c, t)->name, (long long)nn_tensor_elements(T(c, t)), channels);
		v[k] = T(c, t)->data;
	}
	*scale = malloc((size_t)channels * sizeof **scale);
	*bias = malloc((size_t)channels * sizeof **bias);
	if (!*scale || !*bias)
		return nomem(c);
	for (int o = 0; o < channels; o++) {
		double s = (double)v[0][o] / sqrt((double)v[3][o] + eps);
		(*scale)[o] = (float)s;
		(*bias)[o] = (float)(v[1][o] - v[2][o] * s);
	}
	return 0;
}

/*
 * The IR filter of a TF filter: HWIO [kh,kw,in,out] becomes OHWI; a
 * depthwise [kh,kw,C,M] becomes [1,kh,kw,C*M] in the same element order.
 * scale, when not NULL, multiplies each output channel (batch norm folding).
 */
static int convert_filter(tj *c, const tj_node *n, int src, int depthwise, const float *scale, int *out)
{
	const nn_tensor w = *T(c, src);
	int kh = w.shape[0], kw = w.shape[1], ci = w.shape[2], co = w.shape[3];
	int64_t shape[4];
	if (depthwise) {
		shape[0] = 1, shape[1] = kh, shape[2] = kw, shape[3] = (int64_t)ci * co;
	} else {
		shape[0] = co, shape[1] = kh, shape[2] = kw, shape[3] = ci;
	}
	int t = add_temp(c, n, depthwise ? "/filter_1hwc" : "/filter_ohwi", NN_F32, 4, shape);
	if (t < 0)
		return t;
	if (nn_tensor_alloc_const(T(c, t)) < 0)
		return nomem(c);
	const float *s = w.data;
	float *d = T(c, t)->data;
	size_t outs = (size_t)(depthwise ? (int64_t)ci * co : co);
	for (int y = 0; y < kh; y++)
		for (int x = 0; x < kw; x++)
			for (int i = 0; i < ci; i++)
				for (int o = 0; o < co; o++) {
					size_t from = (((size_t)y * kw + x) * ci + i) * co + o;
					size_t to, ch;
					if (depthwise) {
						to = from;
						ch = (size_t)i * co + o;
					} else {
						to = (((size_t)o * kh + y) * kw + x) * ci + i;
						ch = (size_t)o;
					}
					d[to] = scale ? s[from] * scale[ch % outs] : s[from];
				}
	*out = t;
	return 0;
}

enum { CONV_PLAIN, CONV_FUSED, DW_PLAIN, DW_FUSED };

/* Conv2D, DepthwiseConv2dNative and their fused forms (_FusedConv2D, FusedDepthwiseConv2dNative). */
static int map_conv(tj *c, tj_node *n, int kind)
{
	int depthwise = kind == DW_PLAIN || kind == DW_FUSED, fused = kind == CONV_FUSED || kind == DW_FUSED;
	nn_conv_params p = { .depth_multiplier = 1 };
	int pads[4], rc, x, w;
	if ((rc = init_outputs(c, n, 1)) < 0 || (rc = check_nhwc(c, n)) < 0 ||
	    (rc = hw_list(c, n, "strides", 1, &p.stride_h, &p.stride_w)) < 0 ||
	    (rc = hw_list(c, n, "dilations", 0, &p.dilation_h, &p.dilation_w)) < 0 ||
	    (rc = read_padding(c, n, &p.padding, pads)) < 0 || (rc = want_inputs(c, n, 2, fused ? 8 : 2)) < 0 ||
	    (rc = input_of(c, n, 0, NN_F32, 4, &x)) < 0 || (rc = input_of(c, n, 1, NN_F32, 4, &w)) < 0 ||
	    (rc = make_const(c, n, w, "the filter", 0)) < 0)
		return rc;
	p.pad_top = pads[0], p.pad_bottom = pads[1], p.pad_left = pads[2], p.pad_right = pads[3];
	const nn_tensor xi = *T(c, x), wi = *T(c, w);
	int in_c = xi.shape[3], kh = wi.shape[0], kw = wi.shape[1], fi = wi.shape[2], fo = wi.shape[3], out_c;
	char s1[96], s2[96];
	if (kh < 1 || kw < 1 || fi < 1 || fo < 1 || in_c < 1)
		return node_fail(c, n, NN_ERR_SHAPE, "the filter %s or the input %s is empty", tshape(&wi, s1, sizeof s1),
				 tshape(&xi, s2, sizeof s2));
	if (depthwise) {
		if (fi != in_c || (int64_t)fi * fo > INT32_MAX)
			return node_fail(c, n, NN_ERR_SHAPE, "filter %s does not fit input %s: expected [kh,kw,%d,multiplier]",
					 tshape(&wi, s1, sizeof s1), tshape(&xi, s2, sizeof s2), in_c);
		out_c = fi * fo;
		p.depth_multiplier = fo;
	} else {
		if (in_c % fi != 0 || fo % (in_c / fi) != 0)
			return node_fail(c, n, NN_ERR_SHAPE, "filter %s (HWIO) does not fit input %s", tshape(&wi, s1, sizeof s1),
					 tshape(&xi, s2, sizeof s2));
		out_c = fo;
	}

	/* The fused ops: a bias or a batch norm first, then at most one activation. */
	char ops[4][32];
	int n_ops = 0, num_args = 0;
	if (fused) {
		const nn_tf_attr *list = attr_get(n, "fused_ops");
		if (list && (list->kind != NN_TF_ATTR_LIST || (list->n > 0 && list->list_kind != NN_TF_ATTR_STRING)))
			return node_fail(c, n, NN_ERR_FORMAT, "attribute 'fused_ops' is not a list of strings");
		for (int k = 0; list && k < list->n; k++) {
			if (n_ops >= 4)
				return node_fail(c, n, NN_ERR_UNSUPPORTED, "more than 3 fused ops are not supported");
			size_t len = list->string_lens[k];
			if (len >= sizeof ops[n_ops] || memchr(list->strings[k], 0, len))
				return node_fail(c, n, NN_ERR_FORMAT, "attribute 'fused_ops' holds a malformed name");
			memcpy(ops[n_ops], list->strings[k], len);
			ops[n_ops][len] = 0;
			n_ops++;
		}
		int64_t na;
		if ((rc = attr_int(c, n, "num_args", n->n_in - 2, 0, 6, &na)) < 0)
			return rc;
		num_args = (int)na;
		if (num_args != n->n_in - 2)
			return node_fail(c, n, NN_ERR_FORMAT, "num_args is %d but the node has %d extra inputs", num_args,
					 n->n_in - 2);
	}
	float *bn_scale = NULL, *bn_bias = NULL;
	int bias = -1, next = 0, arg = 2;
	nn_op extra = NN_OP_COUNT;
	float alpha = 0.2f;
	int prelu_alpha = -1;
	if (n_ops > 0 && !strcmp(ops[0], "BiasAdd")) {
		if (num_args < 1)
			return node_fail(c, n, NN_ERR_FORMAT, "fused BiasAdd without a bias input");
		if ((rc = input_of(c, n, arg++, NN_F32, -1, &bias)) < 0)
			return rc;
		if (nn_tensor_elements(T(c, bias)) != out_c || T(c, bias)->rank != 1)
			return node_fail(c, n, NN_ERR_SHAPE, "bias '%.160s' has shape %s, expected [%d]", T(c, bias)->name,
					 tshape(T(c, bias), s1, sizeof s1), out_c);
		next = 1;
	} else if (n_ops > 0 && (!strcmp(ops[0], "FusedBatchNorm") || !strcmp(ops[0], "FusedBatchNormV3"))) {
		if (num_args < 4)
			return node_fail(c, n, NN_ERR_FORMAT, "fused %s needs 4 inputs, found %d", ops[0], num_args);
		if ((rc = batch_norm_factors(c, n, arg, out_c, &bn_scale, &bn_bias)) < 0) {
			free(bn_scale);
			free(bn_bias);
			return rc;
		}
		arg += 4;
		next = 1;
	}
	rc = 0;
	if (next < n_ops) {
		const char *a = ops[next++];
		if (!strcmp(a, "Relu"))
			p.act = NN_ACT_RELU;
		else if (!strcmp(a, "Relu6"))
			p.act = NN_ACT_RELU6;
		else if (!strcmp(a, "LeakyRelu")) {
			extra = NN_OP_LEAKY_RELU;
			rc = attr_float(c, n, "leakyrelu_alpha", 0.2f, &alpha);
		} else if (!strcmp(a, "Sigmoid"))
			extra = NN_OP_LOGISTIC;
		else if (!strcmp(a, "Tanh"))
			extra = NN_OP_TANH;
		else if (!strcmp(a, "Prelu")) {
			extra = NN_OP_PRELU;
			if (arg >= n->n_in)
				rc = node_fail(c, n, NN_ERR_FORMAT, "fused Prelu without an alpha input");
			else
				rc = input_of(c, n, arg++, NN_F32, -1, &prelu_alpha);
		} else
			next = -1;
	}
	if (rc == 0 && (next < 0 || next < n_ops || (n_ops > 0 && bias < 0 && !bn_scale && p.act == NN_ACT_NONE &&
						      extra == NN_OP_COUNT)))
		rc = node_fail(c, n, NN_ERR_UNSUPPORTED,
			       "fused ops [%s%s%s%s%s] are not supported; expected BiasAdd or FusedBatchNorm, then optionally "
			       "Relu, Relu6, LeakyRelu, Sigmoid, Tanh or Prelu",
			       n_ops > 0 ? ops[0] : "", n_ops > 1 ? ", " : "", n_ops > 1 ? ops[1] : "", n_ops > 2 ? ", " : "",
			       n_ops > 2 ? ops[2] : "");
	if (rc == 0 && arg != n->n_in)
		rc = node_fail(c, n, NN_ERR_FORMAT, "has %d inputs, but its fused ops read %d", n->n_in, arg);

	int64_t oshape[4] = { xi.shape[0], 0, 0, out_c };
	int filter = -1;
	if (rc == 0)
		rc = window(c, n, p.padding, xi.shape[1], kh, p.stride_h, p.dilation_h, p.pad_top, p.pad_bottom, "height",
			    &oshape[1]);
	if (rc == 0)
		rc = window(c, n, p.padding, xi.shape[2], kw, p.stride_w, p.dilation_w, p.pad_left, p.pad_right, "width",
			    &oshape[2]);
	if (rc == 0)
		rc = convert_filter(c, n, w, depthwise, bn_scale, &filter);
	free(bn_scale);
	if (rc == 0 && bn_bias) {
		int64_t len = out_c;
		bias = add_temp(c, n, "/bias", NN_F32, 1, &len);
		if (bias < 0)
			rc = bias;
		else if (nn_tensor_alloc_const(T(c, bias)) < 0)
			rc = nomem(c);
		else
			memcpy(T(c, bias)->data, bn_bias, (size_t)out_c * sizeof *bn_bias);
	}
	free(bn_bias);
	if (rc < 0)
		return rc;

	int y = extra == NN_OP_COUNT ? out_tensor(c, n, 0, NN_F32, 4, oshape) : add_temp(c, n, "/conv", NN_F32, 4, oshape);
	if (y < 0)
		return y;
	int in[3] = { x, filter, bias };
	nn_node *node;
	if (add_node1(c, n, depthwise ? NN_OP_DEPTHWISE_CONV2D : NN_OP_CONV2D, 3, in, y, &node) < 0)
		return NN_ERR_NOMEM;
	node->p.conv = p;
	if (extra == NN_OP_COUNT)
		return 0;
	int o = out_tensor(c, n, 0, NN_F32, 4, oshape);
	if (o < 0)
		return o;
	int ain[2] = { y, prelu_alpha };
	if (add_node1(c, n, extra, extra == NN_OP_PRELU ? 2 : 1, ain, o, &node) < 0)
		return NN_ERR_NOMEM;
	if (extra == NN_OP_LEAKY_RELU)
		node->p.leaky_relu.alpha = alpha;
	return 0;
}

/* Conv2DBackpropInput (a transposed convolution): input_sizes, filter [kh,kw,out,in], input. */
static int map_deconv(tj *c, tj_node *n, int arg)
{
	(void)arg;
	nn_conv_params p = { .depth_multiplier = 1 };
	int pads[4], rc, x, w, dh, dw, count;
	int64_t sizes[4];
	if ((rc = init_outputs(c, n, 1)) < 0 || (rc = check_nhwc(c, n)) < 0 ||
	    (rc = hw_list(c, n, "strides", 1, &p.stride_h, &p.stride_w)) < 0 ||
	    (rc = hw_list(c, n, "dilations", 0, &dh, &dw)) < 0 || (rc = read_padding(c, n, &p.padding, pads)) < 0 ||
	    (rc = want_inputs(c, n, 3, 3)) < 0 || (rc = const_ints(c, n, 0, "input_sizes", sizes, 4, &count)) < 0 ||
	    (rc = input_of(c, n, 1, NN_F32, 4, &w)) < 0 || (rc = input_of(c, n, 2, NN_F32, 4, &x)) < 0 ||
	    (rc = make_const(c, n, w, "the filter", 0)) < 0)
		return rc;
	if (dh != 1 || dw != 1)
		return node_fail(c, n, NN_ERR_UNSUPPORTED, "dilated transposed convolutions are not supported");
	p.pad_top = pads[0], p.pad_bottom = pads[1], p.pad_left = pads[2], p.pad_right = pads[3];
	const nn_tensor xi = *T(c, x), wi = *T(c, w);
	int kh = wi.shape[0], kw = wi.shape[1], co = wi.shape[2], ci = wi.shape[3];
	char s1[96], s2[96];
	if (count != 4 || sizes[0] != xi.shape[0] || sizes[3] != co || sizes[1] < 1 || sizes[2] < 1 || kh < 1 || kw < 1 ||
	    ci != xi.shape[3])
		return node_fail(c, n, NN_ERR_SHAPE, "input_sizes, filter %s and input %s do not fit together",
				 tshape(&wi, s1, sizeof s1), tshape(&xi, s2, sizeof s2));
	/* The output must be what the forward convolution would turn back into the input. */
	int64_t fh, fw;
	if ((rc = window(c, n, p.padding, sizes[1], kh, p.stride_h, 1, p.pad_top, p.pad_bottom, "height", &fh)) < 0 ||
	    (rc = window(c, n, p.padding, sizes[2], kw, p.stride_w, 1, p.pad_left, p.pad_right, "width", &fw)) < 0)
		return rc;
	if (fh != xi.shape[1] || fw != xi.shape[2])
		return node_fail(c, n, NN_ERR_SHAPE,
				 "input_sizes [%lld,%lld,%lld,%lld] does not convolve back to the input %s",
				 (long long)sizes[0], (long long)sizes[1], (long long)sizes[2], (long long)sizes[3],
				 tshape(&xi, s2, sizeof s2));
	/* [kh,kw,out,in] to OHWI [out,kh,kw,in]. */
	int64_t fshape[4] = { co, kh, kw, ci };
	int f = add_temp(c, n, "/filter_ohwi", NN_F32, 4, fshape);
	if (f < 0)
		return f;
	if (nn_tensor_alloc_const(T(c, f)) < 0)
		return nomem(c);
	const float *src = wi.data;
	float *dst = T(c, f)->data;
	for (int y = 0; y < kh; y++)
		for (int xx = 0; xx < kw; xx++)
			for (int o = 0; o < co; o++)
				for (int i = 0; i < ci; i++)
					dst[(((size_t)o * kh + y) * kw + xx) * ci + i] =
						src[(((size_t)y * kw + xx) * co + o) * ci + i];
	int y = out_tensor(c, n, 0, NN_F32, 4, sizes);
	if (y < 0)
		return y;
	int in[2] = { x, f };
	nn_node *node;
	if (add_node1(c, n, NN_OP_TRANSPOSE_CONV2D, 2, in, y, &node) < 0)
		return NN_ERR_NOMEM;
	node->p.conv = p;
	return 0;
}

/* MaxPool and AvgPool. */
static int map_pool(tj *c, tj_node *n, int max)
{
	nn_pool_params p = { 0 };
	int pads[4], rc, x;
	if ((rc = init_outputs(c, n, 1)) < 0 || (rc = check_nhwc(c, n)) < 0 ||
	    (rc = hw_list(c, n, "ksize", 1, &p.filter_h, &p.filter_w)) < 0 ||
	    (rc = hw_list(c, n, "strides", 1, &p.stride_h, &p.stride_w)) < 0 ||
	    (rc = read_padding(c, n, &p.padding, pads)) < 0 || (rc = want_inputs(c, n, 1, 1)) < 0 ||
	    (rc = input_of(c, n, 0, NN_F32, 4, &x)) < 0)
		return rc;
	p.pad_top = pads[0], p.pad_bottom = pads[1], p.pad_left = pads[2], p.pad_right = pads[3];
	const nn_tensor *xi = T(c, x);
	int64_t oshape[4] = { xi->shape[0], 0, 0, xi->shape[3] };
	if ((rc = window(c, n, p.padding, xi->shape[1], p.filter_h, p.stride_h, 1, p.pad_top, p.pad_bottom, "height",
			 &oshape[1])) < 0 ||
	    (rc = window(c, n, p.padding, xi->shape[2], p.filter_w, p.stride_w, 1, p.pad_left, p.pad_right, "width",
			 &oshape[2])) < 0)
		return rc;
	int y = out_tensor(c, n, 0, NN_F32, 4, oshape);
	if (y < 0)
		return y;
	nn_node *node;
	if (add_node1(c, n, max ? NN_OP_MAX_POOL2D : NN_OP_AVERAGE_POOL2D, 1, &x, y, &node) < 0)
		return NN_ERR_NOMEM;
	node->p.pool = p;
	return 0;
}

/* ---- mapping: elementwise ---- */

/* The NumPy broadcast of two shapes. */
static int broadcast(tj *c, const tj_node *n, const nn_tensor *a, const nn_tensor *b, int *rank, int64_t *shape)
{
	int r = a->rank > b->rank ? a->rank : b->rank;
	for (int d = r - 1; d >= 0; d--) {
		int da = d - (r - a->rank), db = d - (r - b->rank);
		int x = da >= 0 ? a->shape[da] : 1, y = db >= 0 ? b->shape[db] : 1;
		if (x != y && x != 1 && y != 1) {
			char s1[96], s2[96];
			return node_fail(c, n, NN_ERR_SHAPE, "input shapes %s and %s do not broadcast", tshape(a, s1, sizeof s1),
					 tshape(b, s2, sizeof s2));
		}
		shape[d] = x == 1 ? y : x;
	}
	*rank = r;
	return 0;
}

/* Binary ops with broadcasting: arithmetic, FloorDiv, FloorMod, Equal. */
static int map_binary(tj *c, tj_node *n, int op_arg)
{
	nn_op op = (nn_op)op_arg;
	int rc, a, b, rank;
	int64_t shape[NN_MAX_RANK];
	if ((rc = init_outputs(c, n, 1)) < 0 || (rc = want_inputs(c, n, 2, 2)) < 0 || (rc = input_tensor(c, n, 0, &a)) < 0 ||
	    (rc = input_tensor(c, n, 1, &b)) < 0 || (rc = broadcast(c, n, T(c, a), T(c, b), &rank, shape)) < 0)
		return rc;
	nn_dtype dt = T(c, a)->dtype;
	if (T(c, b)->dtype != dt)
		return node_fail(c, n, NN_ERR_FORMAT, "inputs of types %s and %s", nn_dtype_name(dt),
				 nn_dtype_name(T(c, b)->dtype));
	int ok = dt == NN_F32 || (dt == NN_I32 && op != NN_OP_DIV) || (dt == NN_BOOL && op == NN_OP_EQUAL);
	if (!ok)
		return node_fail(c, n, NN_ERR_UNSUPPORTED, "%s inputs are not supported", nn_dtype_name(dt));
	int y = out_tensor(c, n, 0, op == NN_OP_EQUAL ? NN_BOOL : dt, rank, shape);
	if (y < 0)
		return y;
	int in[2] = { a, b };
	nn_node *node;
	if (add_node1(c, n, op, 2, in, y, &node) < 0)
		return NN_ERR_NOMEM;
	node->p.act = NN_ACT_NONE;
	/* Integer arithmetic on constants is index bookkeeping that later ops may need as values: evaluate it now. */
	int budget = 256;
	if (dt == NN_I32 && nn_tensor_elements(T(c, y)) <= MAX_EVAL_ELEMENTS && const_computable(c, y, &budget))
		return make_const(c, n, y, "the result", 0);
	return 0;
}

/* BiasAdd: an ADD of a [C] bias along the last dimension. */
static int map_bias_add(tj *c, tj_node *n, int arg)
{
	(void)arg;
	int rc, x, b;
	if ((rc = init_outputs(c, n, 1)) < 0 || (rc = check_nhwc(c, n)) < 0 || (rc = want_inputs(c, n, 2, 2)) < 0 ||
	    (rc = input_of(c, n, 0, NN_F32, -1, &x)) < 0 || (rc = input_of(c, n, 1, NN_F32, 1, &b)) < 0)
		return rc;
	const nn_tensor *xi = T(c, x);
	if (xi->rank < 1 || T(c, b)->shape[0] != xi->shape[xi->rank - 1]) {
		char s1[96], s2[96];
		return node_fail(c, n, NN_ERR_SHAPE, "bias %s does not fit input %s", tshape(T(c, b), s1, sizeof s1),
				 tshape(xi, s2, sizeof s2));
	}
	int y = add_like(c, n, n->name, NN_F32, x);
	if (y < 0)
		return y;
	n->out[0] = y;
	int in[2] = { x, b };
	nn_node *node;
	if (add_node1(c, n, NN_OP_ADD, 2, in, y, &node) < 0)
		return NN_ERR_NOMEM;
	node->p.act = NN_ACT_NONE;
	return 0;
}

/* Activations: one float input, same shape out. */
static int map_unary(tj *c, tj_node *n, int op_arg)
{
	nn_op op = (nn_op)op_arg;
	int rc, x;
	float alpha = 0.2f;
	if ((rc = init_outputs(c, n, 1)) < 0 || (rc = want_inputs(c, n, 1, 1)) < 0 ||
	    (rc = input_of(c, n, 0, NN_F32, -1, &x)) < 0 ||
	    (op == NN_OP_LEAKY_RELU && (rc = attr_float(c, n, "alpha", 0.2f, &alpha)) < 0))
		return rc;
	int y = add_like(c, n, n->name, NN_F32, x);
	if (y < 0)
		return y;
	n->out[0] = y;
	nn_node *node;
	if (add_node1(c, n, op, 1, &x, y, &node) < 0)
		return NN_ERR_NOMEM;
	if (op == NN_OP_LEAKY_RELU)
		node->p.leaky_relu.alpha = alpha;
	return 0;
}

/* Prelu (TF.js's own op): x, alpha. */
static int map_prelu(tj *c, tj_node *n, int arg)
{
	(void)arg;
	int rc, x, a, rank;
	int64_t shape[NN_MAX_RANK];
	if ((rc = init_outputs(c, n, 1)) < 0 || (rc = want_inputs(c, n, 2, 2)) < 0 ||
	    (rc = input_of(c, n, 0, NN_F32, -1, &x)) < 0 || (rc = input_of(c, n, 1, NN_F32, -1, &a)) < 0 ||
	    (rc = broadcast(c, n, T(c, x), T(c, a), &rank, shape)) < 0)
		return rc;
	int y = out_tensor(c, n, 0, NN_F32, rank, shape);
	if (y < 0)
		return y;
	int in[2] = { x, a };
	return add_node1(c, n, NN_OP_PRELU, 2, in, y, NULL) < 0 ? NN_ERR_NOMEM : 0;
}

/* Cast: to DstT; the same type is no op at all. */
static int map_cast(tj *c, tj_node *n, int arg)
{
	(void)arg;
	int rc, x;
	nn_dtype dt;
	if ((rc = init_outputs(c, n, 1)) < 0 || (rc = want_inputs(c, n, 1, 1)) < 0 ||
	    (rc = attr_dtype(c, n, "DstT", 1, &dt)) < 0 || (rc = input_tensor(c, n, 0, &x)) < 0)
		return rc;
	if (T(c, x)->dtype == dt) {
		n->out[0] = x;
		return 0;
	}
	int y = add_like(c, n, n->name, dt, x);
	if (y < 0)
		return y;
	n->out[0] = y;
	return add_node1(c, n, NN_OP_CAST, 1, &x, y, NULL) < 0 ? NN_ERR_NOMEM : 0;
}

/* ---- mapping: reductions, resampling ---- */

static int map_mean(tj *c, tj_node *n, int arg)
{
	(void)arg;
	int rc, x, count, keep;
	int64_t axes[NN_MAX_RANK * 4];
	if ((rc = init_outputs(c, n, 1)) < 0 || (rc = want_inputs(c, n, 2, 2)) < 0 ||
	    (rc = input_of(c, n, 0, NN_F32, -1, &x)) < 0 ||
	    (rc = const_ints(c, n, 1, "reduction_indices", axes, NN_MAX_RANK * 4, &count)) < 0 ||
	    (rc = attr_bool(c, n, "keep_dims", 0, &keep)) < 0)
		return rc;
	const nn_tensor xi = *T(c, x);
	unsigned mask = 0;
	for (int k = 0; k < count; k++) {
		int a;
		if ((rc = norm_axis(c, n, axes[k], xi.rank, "axis", &a)) < 0)
			return rc;
		mask |= 1u << a;
	}
	int64_t shape[NN_MAX_RANK];
	int rank = 0;
	for (int d = 0; d < xi.rank; d++) {
		if (!(mask & (1u << d)))
			shape[rank++] = xi.shape[d];
		else if (keep)
			shape[rank++] = 1;
	}
	int y = out_tensor(c, n, 0, NN_F32, rank, shape);
	if (y < 0)
		return y;
	nn_node *node;
	if (add_node1(c, n, NN_OP_MEAN, 1, &x, y, &node) < 0)
		return NN_ERR_NOMEM;
	node->p.reduce.keep_dims = keep;
	node->p.reduce.n_axes = 0;
	for (int d = 0; d < xi.rank; d++)
		if (mask & (1u << d))
			node->p.reduce.axes[node->p.reduce.n_axes++] = d;
	return 0;
}

static int map_resize(tj *c, tj_node *n, int op_arg)
{
	nn_op op = (nn_op)op_arg;
	int rc, x, count, align, half;
	int64_t size[2];
	if ((rc = init_outputs(c, n, 1)) < 0 || (rc = want_inputs(c, n, 2, 2)) < 0 ||
	    (rc = input_of(c, n, 0, NN_F32, 4, &x)) < 0 || (rc = const_ints(c, n, 1, "size", size, 2, &count)) < 0 ||
	    (rc = attr_bool(c, n, "align_corners", 0, &align)) < 0 ||
	    (rc = attr_bool(c, n, "half_pixel_centers", 0, &half)) < 0)
		return rc;
	if (count != 2 || size[0] < 1 || size[1] < 1 || size[0] > MAX_PARAM || size[1] > MAX_PARAM)
		return node_fail(c, n, NN_ERR_FORMAT, "size must hold a height and a width from 1 to %d", MAX_PARAM);
	if (align && half)
		return node_fail(c, n, NN_ERR_FORMAT, "align_corners and half_pixel_centers cannot both be set");
	const nn_tensor *xi = T(c, x);
	int64_t shape[4] = { xi->shape[0], size[0], size[1], xi->shape[3] };
	int y = out_tensor(c, n, 0, NN_F32, 4, shape);
	if (y < 0)
		return y;
	nn_node *node;
	if (add_node1(c, n, op, 1, &x, y, &node) < 0)
		return NN_ERR_NOMEM;
	node->p.resize.align_corners = align;
	node->p.resize.half_pixel_centers = half;
	return 0;
}

/* ---- mapping: data movement ---- */

static int map_concat(tj *c, tj_node *n, int arg)
{
	(void)arg;
	int rc, n_data = n->n_in - 1, axis = 0;
	int64_t ax, na;
	if ((rc = init_outputs(c, n, 1)) < 0)
		return rc;
	if (n_data < 1)
		return node_fail(c, n, NN_ERR_FORMAT, "has %d inputs, expected the values and an axis", n->n_in);
	if ((rc = attr_int(c, n, "N", n_data, 1, INT32_MAX, &na)) < 0)
		return rc;
	if (na != n_data)
		return node_fail(c, n, NN_ERR_FORMAT, "N is %lld but the node has %d values", (long long)na, n_data);
	int *in = malloc((size_t)n_data * sizeof *in);
	if (!in)
		return nomem(c);
	for (int k = 0; k < n_data && rc == 0; k++)
		rc = input_tensor(c, n, k, &in[k]);
	if (rc == 0)
		rc = const_int(c, n, n_data, "axis", &ax);
	nn_tensor first = rc == 0 ? *T(c, in[0]) : (nn_tensor){ 0 };
	if (rc == 0)
		rc = norm_axis(c, n, ax, first.rank, "axis", &axis);
	int64_t shape[NN_MAX_RANK], total = 0;
	for (int k = 0; k < n_data && rc == 0; k++) {
		const nn_tensor *t = T(c, in[k]);
		int fits = t->rank == first.rank && t->dtype == first.dtype;
		for (int d = 0; fits && d < first.rank; d++)
			fits = d == axis || t->shape[d] == first.shape[d];
		if (!fits) {
			char s1[96], s2[96];
			rc = node_fail(c, n, NN_ERR_SHAPE, "input %d (%s %s) does not fit input 0 (%s %s) outside axis %d", k,
				       nn_dtype_name(t->dtype), tshape(t, s1, sizeof s1), nn_dtype_name(first.dtype),
				       tshape(&first, s2, sizeof s2), axis);
		}
		total += t->shape[axis < t->rank ? axis : 0];
	}
	if (rc < 0) {
		free(in);
		return rc;
	}
	for (int d = 0; d < first.rank; d++)
		shape[d] = d == axis ? total : first.shape[d];
	int y = out_tensor(c, n, 0, first.dtype, first.rank, shape);
	nn_node *node = NULL;
	if (y >= 0 && add_node1(c, n, NN_OP_CONCATENATION, n_data, in, y, &node) >= 0) {
		node->p.concat.axis = axis;
		node->p.concat.act = NN_ACT_NONE;
	}
	free(in);
	return y < 0 ? y : node ? 0 : NN_ERR_NOMEM;
}

/* Adds a RESHAPE of x to the given shape as output 0 of n. */
static int emit_reshape(tj *c, tj_node *n, int x, int rank, const int64_t *shape)
{
	int64_t e = 1;
	for (int d = 0; d < rank; d++)
		e *= shape[d] >= 0 && shape[d] <= INT32_MAX ? shape[d] : -1;
	if (rank > NN_MAX_RANK || e != nn_tensor_elements(T(c, x))) {
		char s[96];
		return node_fail(c, n, NN_ERR_SHAPE, "cannot reshape %s (%lld values) to a shape of %lld values",
				 tshape(T(c, x), s, sizeof s), (long long)nn_tensor_elements(T(c, x)), (long long)e);
	}
	int y = out_tensor(c, n, 0, T(c, x)->dtype, rank, shape);
	if (y < 0)
		return y;
	return add_node1(c, n, NN_OP_RESHAPE, 1, &x, y, NULL) < 0 ? NN_ERR_NOMEM : 0;
}

static int map_reshape(tj *c, tj_node *n, int arg)
{
	(void)arg;
	int rc, x, count, unknown = -1;
	int64_t shape[NN_MAX_RANK + 1];
	if ((rc = init_outputs(c, n, 1)) < 0 || (rc = want_inputs(c, n, 2, 2)) < 0 || (rc = input_tensor(c, n, 0, &x)) < 0 ||
	    (rc = const_ints(c, n, 1, "shape", shape, NN_MAX_RANK + 1, &count)) < 0)
		return rc;
	if (count > NN_MAX_RANK)
		return node_fail(c, n, NN_ERR_UNSUPPORTED, "the new shape has %d dimensions; at most %d are supported", count,
				 NN_MAX_RANK);
	int64_t known = 1, total = nn_tensor_elements(T(c, x));
	for (int d = 0; d < count; d++) {
		if (shape[d] == -1 && unknown < 0) {
			unknown = d;
			continue;
		}
		if (shape[d] < 0 || shape[d] > INT32_MAX)
			return node_fail(c, n, NN_ERR_FORMAT, "dimension %d of the new shape is %lld", d, (long long)shape[d]);
		known = shape[d] && known > INT64_MAX / shape[d] ? -1 : known * shape[d];
		if (known < 0)
			return node_fail(c, n, NN_ERR_SHAPE, "the new shape overflows");
	}
	if (unknown >= 0) {
		if (known == 0 || total % known != 0) {
			char s[96];
			return node_fail(c, n, NN_ERR_SHAPE, "cannot infer dimension %d: %s holds %lld values, not a multiple of %lld",
					 unknown, tshape(T(c, x), s, sizeof s), (long long)total, (long long)known);
		}
		shape[unknown] = total / known;
	}
	return emit_reshape(c, n, x, count, shape);
}

static int map_squeeze(tj *c, tj_node *n, int arg)
{
	(void)arg;
	int rc, x, count;
	int64_t dims[NN_MAX_RANK * 2];
	if ((rc = init_outputs(c, n, 1)) < 0 || (rc = want_inputs(c, n, 1, 1)) < 0 || (rc = input_tensor(c, n, 0, &x)) < 0 ||
	    (rc = attr_ints(c, n, "squeeze_dims", dims, NN_MAX_RANK * 2, &count)) < 0)
		return rc;
	if (count < 0 && (rc = attr_ints(c, n, "axis", dims, NN_MAX_RANK * 2, &count)) < 0)
		return rc;
	const nn_tensor xi = *T(c, x);
	unsigned drop = 0;
	for (int k = 0; k < count; k++) {
		int a;
		if ((rc = norm_axis(c, n, dims[k], xi.rank, "squeeze dimension", &a)) < 0)
			return rc;
		if (xi.shape[a] != 1)
			return node_fail(c, n, NN_ERR_SHAPE, "cannot squeeze dimension %d of size %d", a, xi.shape[a]);
		drop |= 1u << a;
	}
	int64_t shape[NN_MAX_RANK];
	int rank = 0;
	for (int d = 0; d < xi.rank; d++)
		if (count > 0 ? !(drop & (1u << d)) : xi.shape[d] != 1)
			shape[rank++] = xi.shape[d];
	return emit_reshape(c, n, x, rank, shape);
}

static int map_expand_dims(tj *c, tj_node *n, int arg)
{
	(void)arg;
	int rc, x;
	int64_t dim;
	if ((rc = init_outputs(c, n, 1)) < 0 || (rc = want_inputs(c, n, 2, 2)) < 0 || (rc = input_tensor(c, n, 0, &x)) < 0 ||
	    (rc = const_int(c, n, 1, "dim", &dim)) < 0)
		return rc;
	const nn_tensor xi = *T(c, x);
	if (dim < -xi.rank - 1 || dim > xi.rank)
		return node_fail(c, n, NN_ERR_FORMAT, "dim %lld is outside -%d..%d", (long long)dim, xi.rank + 1, xi.rank);
	if (xi.rank >= NN_MAX_RANK)
		return node_fail(c, n, NN_ERR_UNSUPPORTED, "the result would have more than %d dimensions", NN_MAX_RANK);
	int at = (int)(dim < 0 ? dim + xi.rank + 1 : dim);
	int64_t shape[NN_MAX_RANK];
	for (int d = 0, s = 0; d <= xi.rank; d++)
		shape[d] = d == at ? 1 : xi.shape[s++];
	return emit_reshape(c, n, x, xi.rank + 1, shape);
}

/*
 * Pad and PadV2. The IR's PAD pads with zero; another constant value v is
 * a zero PAD plus a constant mask that holds v in the border and 0 inside
 * (broadcast over the dimensions without padding): x + 0 is x, and 0 + v is
 * v, including v = -inf, which PyTorch exports put before max pooling.
 */
static int map_pad(tj *c, tj_node *n, int v2)
{
	int rc, x, count;
	int64_t v[2 * NN_MAX_RANK];
	if ((rc = init_outputs(c, n, 1)) < 0 || (rc = want_inputs(c, n, v2 ? 3 : 2, v2 ? 3 : 2)) < 0 ||
	    (rc = input_tensor(c, n, 0, &x)) < 0 || (rc = const_ints(c, n, 1, "paddings", v, 2 * NN_MAX_RANK, &count)) < 0)
		return rc;
	const nn_tensor xi = *T(c, x);
	if (count != 2 * xi.rank)
		return node_fail(c, n, NN_ERR_FORMAT, "%d padding values for a %d-dimensional input, expected %d", count,
				 xi.rank, 2 * xi.rank);
	float value = 0.0f;
	if (v2) {
		int t;
		if ((rc = input_of(c, n, 2, NN_F32, -1, &t)) < 0 || (rc = make_const(c, n, t, "constant_values", 0)) < 0)
			return rc;
		if (nn_tensor_elements(T(c, t)) != 1)
			return node_fail(c, n, NN_ERR_FORMAT, "constant_values must be one value");
		value = *(const float *)T(c, t)->data;
	}
	int64_t shape[NN_MAX_RANK], mshape[NN_MAX_RANK], melems = 1;
	for (int d = 0; d < xi.rank; d++) {
		if (v[2 * d] < 0 || v[2 * d + 1] < 0 || v[2 * d] > MAX_PARAM || v[2 * d + 1] > MAX_PARAM)
			return node_fail(c, n, NN_ERR_UNSUPPORTED, "padding %lld,%lld of dimension %d is outside 0..%d",
					 (long long)v[2 * d], (long long)v[2 * d + 1], d, MAX_PARAM);
		shape[d] = xi.shape[d] + v[2 * d] + v[2 * d + 1];
		mshape[d] = v[2 * d] || v[2 * d + 1] ? shape[d] : 1;
		/* Once past the limit checked below the count stops growing, so that huge pads cannot overflow it. */
		if (melems <= MAX_EVAL_ELEMENTS)
			melems *= mshape[d];
	}
	if (value != 0.0f && xi.dtype != NN_F32)
		return node_fail(c, n, NN_ERR_UNSUPPORTED, "padding %s with a non-zero value is not supported",
				 nn_dtype_name(xi.dtype));
	int y = value == 0.0f ? out_tensor(c, n, 0, xi.dtype, xi.rank, shape)
			      : add_temp(c, n, "/zero_padded", xi.dtype, xi.rank, shape);
	if (y < 0)
		return y;
	nn_node *node;
	if (add_node1(c, n, NN_OP_PAD, 1, &x, y, &node) < 0)
		return NN_ERR_NOMEM;
	for (int d = 0; d < xi.rank; d++) {
		node->p.pad.pads[d][0] = (int)v[2 * d];
		node->p.pad.pads[d][1] = (int)v[2 * d + 1];
	}
	if (value == 0.0f)
		return 0;
	if (melems > MAX_EVAL_ELEMENTS)
		return node_fail(c, n, NN_ERR_UNSUPPORTED, "padding with %g over more than %lld values is not supported",
				 (double)value, (long long)MAX_EVAL_ELEMENTS);
	int m = add_temp(c, n, "/pad_value", NN_F32, xi.rank, mshape);
	if (m < 0)
		return m;
	if (nn_tensor_alloc_const(T(c, m)) < 0)
		return nomem(c);
	float *mv = T(c, m)->data;
	int idx[NN_MAX_RANK] = { 0 };
	for (int64_t i = 0; i < melems; i++) {
		int border = 0;
		for (int d = 0; d < xi.rank; d++)
			if (mshape[d] > 1 && (idx[d] < v[2 * d] || idx[d] >= v[2 * d] + xi.shape[d]))
				border = 1;
		mv[i] = border ? value : 0.0f;
		for (int d = xi.rank - 1; d >= 0; d--) {
			if (++idx[d] < mshape[d])
				break;
			idx[d] = 0;
		}
	}
	int o = out_tensor(c, n, 0, NN_F32, xi.rank, shape);
	if (o < 0)
		return o;
	int in[2] = { y, m };
	if (add_node1(c, n, NN_OP_ADD, 2, in, o, &node) < 0)
		return NN_ERR_NOMEM;
	node->p.act = NN_ACT_NONE;
	return 0;
}

static int map_transpose(tj *c, tj_node *n, int arg)
{
	(void)arg;
	int rc, x, count;
	int64_t perm[NN_MAX_RANK];
	if ((rc = init_outputs(c, n, 1)) < 0 || (rc = want_inputs(c, n, 2, 2)) < 0 || (rc = input_tensor(c, n, 0, &x)) < 0 ||
	    (rc = const_ints(c, n, 1, "perm", perm, NN_MAX_RANK, &count)) < 0)
		return rc;
	const nn_tensor xi = *T(c, x);
	unsigned seen = 0;
	int identity = 1;
	int64_t shape[NN_MAX_RANK];
	if (count != xi.rank)
		return node_fail(c, n, NN_ERR_FORMAT, "perm has %d values for a %d-dimensional input", count, xi.rank);
	for (int d = 0; d < count; d++) {
		if (perm[d] < 0 || perm[d] >= count || (seen & (1u << perm[d])))
			return node_fail(c, n, NN_ERR_FORMAT, "perm is not a permutation of 0..%d", count - 1);
		seen |= 1u << perm[d];
		identity &= perm[d] == d;
		shape[d] = xi.shape[perm[d]];
	}
	if (identity) {
		n->out[0] = x;
		return 0;
	}
	int y = out_tensor(c, n, 0, xi.dtype, xi.rank, shape);
	if (y < 0)
		return y;
	nn_node *node;
	if (add_node1(c, n, NN_OP_TRANSPOSE, 1, &x, y, &node) < 0)
		return NN_ERR_NOMEM;
	for (int d = 0; d < count; d++)
		node->p.transpose.perm[d] = (int)perm[d];
	return 0;
}

/* Split (axis, value; equal parts) and SplitV (value, size_splits, axis). */
static int map_split(tj *c, tj_node *n, int v)
{
	int rc, x, axis, count = 0;
	int64_t num, ax;
	if ((rc = want_inputs(c, n, v ? 3 : 2, v ? 3 : 2)) < 0 ||
	    (rc = attr_int(c, n, "num_split", -1, 1, MAX_SPLITS, &num)) < 0)
		return rc;
	if (num < 1)
		return node_fail(c, n, NN_ERR_FORMAT, "has no num_split attribute from 1 to %d", MAX_SPLITS);
	if ((rc = init_outputs(c, n, (int)num)) < 0 || (rc = input_tensor(c, n, v ? 0 : 1, &x)) < 0 ||
	    (rc = const_int(c, n, v ? 2 : 0, "split_dim", &ax)) < 0 ||
	    (rc = norm_axis(c, n, ax, T(c, x)->rank, "split_dim", &axis)) < 0)
		return rc;
	const nn_tensor xi = *T(c, x);
	int64_t *sizes = malloc((size_t)num * sizeof *sizes);
	if (!sizes)
		return nomem(c);
	int64_t dim = xi.shape[axis];
	if (v) {
		rc = const_ints(c, n, 1, "size_splits", sizes, (int)num, &count);
		int unknown = -1;
		int64_t known = 0;
		for (int k = 0; rc == 0 && k < count; k++) {
			if (sizes[k] == -1 && unknown < 0)
				unknown = k;
			else if (sizes[k] < 0 || sizes[k] > dim)
				rc = node_fail(c, n, NN_ERR_FORMAT, "size_splits[%d] is %lld", k, (long long)sizes[k]);
			else
				known += sizes[k];
		}
		if (rc == 0 && count != num)
			rc = node_fail(c, n, NN_ERR_FORMAT, "size_splits has %d values for num_split %lld", count, (long long)num);
		if (rc == 0 && unknown >= 0)
			sizes[unknown] = dim - known, known = dim;
		if (rc == 0 && (known != dim || sizes[unknown >= 0 ? unknown : 0] < 0))
			rc = node_fail(c, n, NN_ERR_SHAPE, "size_splits add up to %lld, but dimension %d has %lld", (long long)known,
				       axis, (long long)dim);
	} else {
		if (dim % num != 0)
			rc = node_fail(c, n, NN_ERR_SHAPE, "dimension %d (%lld) does not split into %lld equal parts", axis,
				       (long long)dim, (long long)num);
		for (int k = 0; k < num; k++)
			sizes[k] = dim / num;
	}
	int64_t shape[NN_MAX_RANK];
	for (int d = 0; d < xi.rank; d++)
		shape[d] = xi.shape[d];
	for (int k = 0; rc == 0 && k < num; k++) {
		shape[axis] = sizes[k];
		if ((rc = out_tensor(c, n, k, xi.dtype, xi.rank, shape)) > 0)
			rc = 0;
	}
	free(sizes);
	if (rc < 0)
		return rc;
	nn_node *node;
	if (add_node(c, n, NN_OP_SPLIT, 1, &x, (int)num, n->out, &node) < 0)
		return NN_ERR_NOMEM;
	node->p.split.axis = axis;
	return 0;
}

/*
 * StridedSlice, resolved as TensorFlow's ValidateStridedSliceOp does: the
 * sparse spec (with its ellipsis and new axes) becomes a dense one over
 * the input's dimensions, each with a canonical begin, stride and extent.
 * The IR slice keeps the input's rank; when shrink or new axes change the
 * result's shape, a RESHAPE follows (the data is laid out the same).
 */
static int map_strided_slice(tj *c, tj_node *n, int arg)
{
	(void)arg;
	enum { MAXS = 2 * NN_MAX_RANK, NEW_AXIS = -1, SHRINK = -2 };
	int rc, x, nb, ne, ns;
	int64_t begin[MAXS], end[MAXS], strides[MAXS], bm, em, ell, nam, sam;
	if ((rc = init_outputs(c, n, 1)) < 0 || (rc = want_inputs(c, n, 4, 4)) < 0 || (rc = input_tensor(c, n, 0, &x)) < 0 ||
	    (rc = const_ints(c, n, 1, "begin", begin, MAXS, &nb)) < 0 ||
	    (rc = const_ints(c, n, 2, "end", end, MAXS, &ne)) < 0 ||
	    (rc = const_ints(c, n, 3, "strides", strides, MAXS, &ns)) < 0 ||
	    (rc = attr_int(c, n, "begin_mask", 0, 0, UINT32_MAX, &bm)) < 0 ||
	    (rc = attr_int(c, n, "end_mask", 0, 0, UINT32_MAX, &em)) < 0 ||
	    (rc = attr_int(c, n, "ellipsis_mask", 0, 0, UINT32_MAX, &ell)) < 0 ||
	    (rc = attr_int(c, n, "new_axis_mask", 0, 0, UINT32_MAX, &nam)) < 0 ||
	    (rc = attr_int(c, n, "shrink_axis_mask", 0, 0, UINT32_MAX, &sam)) < 0)
		return rc;
	if (nb != ne || nb != ns)
		return node_fail(c, n, NN_ERR_FORMAT, "begin, end and strides have %d, %d and %d values", nb, ne, ns);
	if (ell & (ell - 1))
		return node_fail(c, n, NN_ERR_FORMAT, "ellipsis_mask marks more than one ellipsis");
	const nn_tensor xi = *T(c, x);
	int R = xi.rank, m = nb, sparse = nb;

	/* Sparse to dense. Without an ellipsis, one is implied after the last index. */
	int seen = 0, new_after = 0;
	for (int i = 0; i < m; i++) {
		if (seen && (nam >> i & 1))
			new_after++;
		if (ell >> i & 1)
			seen = 1;
	}
	if (!seen) {
		ell |= (int64_t)1 << m;
		sparse = m + 1;
	}
	int64_t db[NN_MAX_RANK] = { 0 }, de[NN_MAX_RANK] = { 0 }, ds[NN_MAX_RANK];
	int dbm[NN_MAX_RANK] = { 0 }, dem[NN_MAX_RANK] = { 0 }, dsh[NN_MAX_RANK] = { 0 };
	int gather[NN_MAX_RANK + MAXS + 1], ng = 0, full = 0;
	for (int i = 0; i < sparse; i++) {
		if (ell >> i & 1) {
			int next = R - (sparse - i) + 1 + new_after;
			if (next > R)
				next = R;
			for (; full < next; full++) {
				ds[full] = 1;
				dbm[full] = dem[full] = 1;
				gather[ng++] = full;
			}
		} else if (nam >> i & 1) {
			gather[ng++] = NEW_AXIS;
		} else {
			if (full >= R)
				return node_fail(c, n, NN_ERR_FORMAT, "the slice has more dimensions than the input's %d", R);
			db[full] = begin[i];
			de[full] = end[i];
			ds[full] = strides[i];
			dbm[full] = (int)(bm >> i & 1);
			dem[full] = (int)(em >> i & 1);
			dsh[full] = (int)(sam >> i & 1);
			gather[ng++] = dsh[full] ? SHRINK : full;
			full++;
		}
	}
	for (; full < R; full++) {
		ds[full] = 1;
		dbm[full] = dem[full] = 1;
		gather[ng++] = full;
	}

	/* Canonical begin and extent per dimension. */
	int64_t pshape[NN_MAX_RANK];
	int pbegin[NN_MAX_RANK], pstride[NN_MAX_RANK];
	for (int d = 0; d < R; d++) {
		int64_t s = ds[d], dim = xi.shape[d], b, e;
		if (s == 0 || s < -INT32_MAX || s > INT32_MAX)
			return node_fail(c, n, NN_ERR_FORMAT, "stride %lld of dimension %d is invalid", (long long)s, d);
		if (dsh[d]) {
			if (s <= 0)
				return node_fail(c, n, NN_ERR_FORMAT, "only stride 1 is allowed on a shrunk dimension (%d)", d);
			b = db[d] < 0 ? dim + db[d] : db[d];
			if (b < 0 || b >= dim)
				return node_fail(c, n, NN_ERR_SHAPE, "index %lld is outside dimension %d of size %lld",
						 (long long)db[d], d, (long long)dim);
			e = b + 1;
		} else {
			int64_t lo = s > 0 ? 0 : -1, hi = s > 0 ? dim : dim - 1;
			if (dbm[d])
				b = s > 0 ? lo : hi;
			else {
				b = db[d] < 0 ? dim + db[d] : db[d];
				b = b < lo ? lo : b > hi ? hi : b;
			}
			if (dem[d])
				e = s > 0 ? hi : lo;
			else {
				e = de[d] < 0 ? dim + de[d] : de[d];
				e = e < lo ? lo : e > hi ? hi : e;
			}
		}
		int64_t len = e - b, size = 0;
		if (len != 0 && (len < 0) == (s < 0))
			size = len / s + (len % s != 0);
		pshape[d] = size;
		/* An empty extent reads nothing; its begin is kept in range all the same. */
		if (size == 0)
			b = 0;
		pbegin[d] = (int)b;
		pstride[d] = (int)s;
	}
	int64_t fshape[NN_MAX_RANK + MAXS + 1];
	int frank = 0;
	for (int k = 0; k < ng; k++)
		if (gather[k] == NEW_AXIS)
			fshape[frank++] = 1;
		else if (gather[k] >= 0)
			fshape[frank++] = pshape[gather[k]];
	if (frank > NN_MAX_RANK)
		return node_fail(c, n, NN_ERR_UNSUPPORTED, "the result would have %d dimensions; at most %d are supported",
				 frank, NN_MAX_RANK);
	int same = frank == R;
	for (int d = 0; same && d < R; d++)
		same = fshape[d] == pshape[d];
	int y = same ? out_tensor(c, n, 0, xi.dtype, R, pshape) : add_temp(c, n, "/slice", xi.dtype, R, pshape);
	if (y < 0)
		return y;
	nn_node *node;
	if (add_node1(c, n, NN_OP_STRIDED_SLICE, 1, &x, y, &node) < 0)
		return NN_ERR_NOMEM;
	for (int d = 0; d < R; d++) {
		node->p.slice.begin[d] = pbegin[d];
		node->p.slice.stride[d] = pstride[d];
	}
	return same ? 0 : emit_reshape(c, n, y, frank, fshape);
}

/* GatherV2 (params, indices, axis) and Gather (params, indices; axis 0). */
static int map_gather(tj *c, tj_node *n, int v2)
{
	int rc, p, idx, axis;
	int64_t ax = 0, batch;
	if ((rc = init_outputs(c, n, 1)) < 0 || (rc = want_inputs(c, n, v2 ? 3 : 2, v2 ? 3 : 2)) < 0 ||
	    (rc = input_tensor(c, n, 0, &p)) < 0 || (rc = input_of(c, n, 1, NN_I32, -1, &idx)) < 0 ||
	    (v2 && (rc = const_int(c, n, 2, "axis", &ax)) < 0) ||
	    (rc = attr_int(c, n, "batch_dims", 0, INT32_MIN, INT32_MAX, &batch)) < 0 ||
	    (rc = norm_axis(c, n, ax, T(c, p)->rank, "axis", &axis)) < 0)
		return rc;
	if (batch != 0)
		return node_fail(c, n, NN_ERR_UNSUPPORTED, "batch_dims %lld is not supported (only 0)", (long long)batch);
	const nn_tensor pi = *T(c, p), ii = *T(c, idx);
	int rank = pi.rank - 1 + ii.rank;
	if (rank > NN_MAX_RANK)
		return node_fail(c, n, NN_ERR_UNSUPPORTED, "the result would have %d dimensions; at most %d are supported",
				 rank, NN_MAX_RANK);
	int64_t shape[NN_MAX_RANK];
	int r = 0;
	for (int d = 0; d < axis; d++)
		shape[r++] = pi.shape[d];
	for (int d = 0; d < ii.rank; d++)
		shape[r++] = ii.shape[d];
	for (int d = axis + 1; d < pi.rank; d++)
		shape[r++] = pi.shape[d];
	int y = out_tensor(c, n, 0, pi.dtype, rank, shape);
	if (y < 0)
		return y;
	int in[2] = { p, idx };
	nn_node *node;
	if (add_node1(c, n, NN_OP_GATHER, 2, in, y, &node) < 0)
		return NN_ERR_NOMEM;
	node->p.gather.axis = axis;
	return 0;
}

static int map_topk(tj *c, tj_node *n, int arg)
{
	(void)arg;
	int rc, x;
	int64_t k;
	if ((rc = init_outputs(c, n, 2)) < 0 || (rc = want_inputs(c, n, 2, 2)) < 0 || (rc = input_tensor(c, n, 0, &x)) < 0 ||
	    (rc = const_int(c, n, 1, "k", &k)) < 0)
		return rc;
	const nn_tensor xi = *T(c, x);
	if (xi.rank < 1 || (xi.dtype != NN_F32 && xi.dtype != NN_I32))
		return node_fail(c, n, NN_ERR_UNSUPPORTED, "expects a float32 or int32 input of at least one dimension");
	if (k < 0 || k > xi.shape[xi.rank - 1])
		return node_fail(c, n, NN_ERR_SHAPE, "k %lld is outside 0..%d (the last dimension)", (long long)k,
				 xi.shape[xi.rank - 1]);
	int64_t shape[NN_MAX_RANK];
	for (int d = 0; d < xi.rank; d++)
		shape[d] = d == xi.rank - 1 ? k : xi.shape[d];
	if ((rc = out_tensor(c, n, 0, xi.dtype, xi.rank, shape)) < 0 || (rc = out_tensor(c, n, 1, NN_I32, xi.rank, shape)) < 0)
		return rc;
	nn_node *node;
	if (add_node(c, n, NN_OP_TOPK, 1, &x, 2, n->out, &node) < 0)
		return NN_ERR_NOMEM;
	node->p.topk.k = (int)k;
	return 0;
}

/* SparseToDense: indices, output_shape (known at load time), values, default value. */
static int map_sparse_to_dense(tj *c, tj_node *n, int arg)
{
	(void)arg;
	int rc, idx, shp, vals, def, count;
	int64_t shape[NN_MAX_RANK + 1];
	if ((rc = init_outputs(c, n, 1)) < 0 || (rc = want_inputs(c, n, 4, 4)) < 0 ||
	    (rc = input_of(c, n, 0, NN_I32, -1, &idx)) < 0 ||
	    (rc = const_ints(c, n, 1, "output_shape", shape, NN_MAX_RANK + 1, &count)) < 0 ||
	    (rc = input_tensor(c, n, 1, &shp)) < 0 || (rc = input_tensor(c, n, 2, &vals)) < 0 ||
	    (rc = input_tensor(c, n, 3, &def)) < 0)
		return rc;
	if (count > NN_MAX_RANK)
		return node_fail(c, n, NN_ERR_UNSUPPORTED, "output_shape has %d dimensions; at most %d are supported", count,
				 NN_MAX_RANK);
	if (T(c, idx)->rank > 2 || T(c, vals)->rank > 1 || nn_tensor_elements(T(c, def)) != 1)
		return node_fail(c, n, NN_ERR_SHAPE, "expects indices of rank 0 to 2, values of rank 0 or 1 and one default value");
	nn_dtype dt = T(c, vals)->dtype;
	if (T(c, def)->dtype != dt)
		return node_fail(c, n, NN_ERR_FORMAT, "values are %s but the default value is %s", nn_dtype_name(dt),
				 nn_dtype_name(T(c, def)->dtype));
	int y = out_tensor(c, n, 0, dt, count, shape);
	if (y < 0)
		return y;
	int in[4] = { idx, shp, vals, def };
	return add_node1(c, n, NN_OP_SPARSE_TO_DENSE, 4, in, y, NULL) < 0 ? NN_ERR_NOMEM : 0;
}

/* ---- the op table ---- */

static const struct tj_op {
	const char *name;
	tj_map_fn fn;
	int arg;
} op_table[] = {
	{ "Placeholder", map_placeholder, 0 },
	{ "Const", map_const, 0 },
	{ "Identity", map_identity, 0 },
	{ "IdentityN", map_identity, 1 },
	{ "StopGradient", map_identity, 0 },
	{ "Snapshot", map_identity, 0 },
	{ "PlaceholderWithDefault", map_identity, 0 },
	{ "NoOp", map_identity, 2 },
	{ "Shape", map_shape, 0 },
	{ "Conv2D", map_conv, CONV_PLAIN },
	{ "_FusedConv2D", map_conv, CONV_FUSED },
	{ "DepthwiseConv2dNative", map_conv, DW_PLAIN },
	{ "FusedDepthwiseConv2dNative", map_conv, DW_FUSED },
	{ "Conv2DBackpropInput", map_deconv, 0 },
	{ "MaxPool", map_pool, 1 },
	{ "AvgPool", map_pool, 0 },
	{ "BiasAdd", map_bias_add, 0 },
	{ "Add", map_binary, NN_OP_ADD },
	{ "AddV2", map_binary, NN_OP_ADD },
	{ "Sub", map_binary, NN_OP_SUB },
	{ "Mul", map_binary, NN_OP_MUL },
	{ "RealDiv", map_binary, NN_OP_DIV },
	{ "Maximum", map_binary, NN_OP_MAXIMUM },
	{ "Minimum", map_binary, NN_OP_MINIMUM },
	{ "FloorDiv", map_binary, NN_OP_FLOOR_DIV },
	{ "FloorMod", map_binary, NN_OP_FLOOR_MOD },
	{ "Equal", map_binary, NN_OP_EQUAL },
	{ "Relu", map_unary, NN_OP_RELU },
	{ "Relu6", map_unary, NN_OP_RELU6 },
	{ "LeakyRelu", map_unary, NN_OP_LEAKY_RELU },
	{ "Sigmoid", map_unary, NN_OP_LOGISTIC },
	{ "Tanh", map_unary, NN_OP_TANH },
	{ "Prelu", map_prelu, 0 },
	{ "Cast", map_cast, 0 },
	{ "Mean", map_mean, 0 },
	{ "ResizeBilinear", map_resize, NN_OP_RESIZE_BILINEAR },
	{ "ResizeNearestNeighbor", map_resize, NN_OP_RESIZE_NEAREST },
	{ "ConcatV2", map_concat, 0 },
	{ "Reshape", map_reshape, 0 },
	{ "Squeeze", map_squeeze, 0 },
	{ "ExpandDims", map_expand_dims, 0 },
	{ "Pad", map_pad, 0 },
	{ "PadV2", map_pad, 1 },
	{ "Transpose", map_transpose, 0 },
	{ "Split", map_split, 0 },
	{ "SplitV", map_split, 1 },
	{ "StridedSlice", map_strided_slice, 0 },
	{ "GatherV2", map_gather, 1 },
	{ "Gather", map_gather, 0 },
	{ "TopKV2", map_topk, 0 },
	{ "SparseToDense", map_sparse_to_dense, 0 },
};

static const struct tj_op *find_op(const char *name)
{
	for (size_t i = 0; i < sizeof op_table / sizeof op_table[0]; i++)
		if (!strcmp(op_table[i].name, name))
			return &op_table[i];
	return NULL;
}

/* ---- the graph's structure ---- */

/* Splits "name:port" (port 0 when absent); -1 when the port is malformed. */
static int split_tensor_name(const char *s, size_t *len, int *port)
{
	const char *colon = strrchr(s, ':');
	*len = strlen(s);
	*port = 0;
	if (!colon)
		return 0;
	char *end;
	errno = 0;
	long v = strtol(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end || errno || v > MAX_SPLITS)
		return -1;
	*port = (int)v;
	*len = (size_t)(colon - s);
	return 0;
}

static int parse_nodes(tj *c)
{
	int n = c->tg->n_nodes;
	if (n <= 0 || !c->tg->nodes)
		return fail(c, NN_ERR_FORMAT, "the graph has no nodes");
	c->nodes = calloc((size_t)n, sizeof *c->nodes);
	c->node_names = calloc((size_t)n, sizeof *c->node_names);
	if (!c->nodes || !c->node_names || map_init(&c->node_map, n) < 0)
		return nomem(c);
	size_t n_inputs = 0;
	for (int i = 0; i < n; i++) {
		const nn_tf_node *e = &c->tg->nodes[i];
		tj_node *x = &c->nodes[c->n_nodes];
		x->src = e;
		x->name = e->name;
		x->op = e->op;
		if (!x->name || !x->name[0] || !x->op || !x->op[0])
			return fail(c, NN_ERR_FORMAT, "node %d has no name or no op", i);
		if (e->n_inputs < 0 || (e->n_inputs > 0 && !e->inputs) || e->n_attrs < 0 || (e->n_attrs > 0 && !e->attrs))
			return fail(c, NN_ERR_FORMAT, "node '%.160s' has malformed inputs or attributes", x->name);
		n_inputs += (size_t)e->n_inputs;
		c->node_names[c->n_nodes] = x->name;
		int dup = map_add(&c->node_map, c->node_names, c->n_nodes);
		if (dup >= 0)
			return fail(c, NN_ERR_FORMAT, "two nodes are called '%.160s' (nodes %d and %d)", x->name, dup, c->n_nodes);
		c->n_nodes++;
	}

	/* Inputs: "name" or "name:port" read a node's output; "^name" only orders execution and is dropped. */
	c->in_pool = malloc((2 * n_inputs + 1) * sizeof *c->in_pool);
	if (!c->in_pool)
		return nomem(c);
	int *pool = c->in_pool;
	for (int i = 0; i < n; i++) {
		tj_node *x = &c->nodes[i];
		int k = x->src->n_inputs;
		x->in_node = pool;
		x->in_port = pool + k;
		pool += 2 * k;
		int j = 0;
		for (int m = 0; m < k; m++) {
			const char *s = x->src->inputs[m];
			if (!s)
				return fail(c, NN_ERR_FORMAT, "node '%.160s': input %d is missing", x->name, m);
			const char *name = s;
			int control = name[0] == '^', port = 0;
			if (control)
				name++;
			size_t len = strlen(name);
			if (!control && split_tensor_name(name, &len, &port) < 0)
				return fail(c, NN_ERR_FORMAT, "node '%.160s': input '%.160s' has a malformed output index", x->name,
					    s);
			int src = map_find(&c->node_map, c->node_names, name, len);
			if (src < 0)
				return fail(c, NN_ERR_FORMAT, "node '%.160s' (op %.60s): input '%.160s' names no node in the graph",
					    x->name, x->op, s);
			c->nodes[src].n_consumers++;
			if (control)
				continue;
			x->in_node[j] = src;
			x->in_port[j] = port;
			j++;
		}
		x->n_in = j;
	}
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The graph outputs: the options' (in their order), else the nodes no other
 * node reads (sorted by name). Each IR output is named as its endpoint says.
 */
static int find_outputs(tj *c)
{
	int n = 0, cap = c->o->n_outputs;
	if (cap <= 0)
		for (int i = 0; i < c->n_nodes; i++)
			cap += c->nodes[i].n_consumers == 0;
	c->out_names = calloc((size_t)cap + 1, sizeof *c->out_names);
	c->out_node = calloc((size_t)cap + 1, sizeof *c->out_node);
	c->out_port = calloc((size_t)cap + 1, sizeof *c->out_port);
	const char **tensors = calloc((size_t)cap + 1, sizeof *tensors);
	if (!c->out_names || !c->out_node || !c->out_port || !tensors) {
		free(tensors);
		return nomem(c);
	}
	int rc = 0;
	if (c->o->n_outputs > 0) {
		for (int i = 0; i < c->o->n_outputs && rc == 0; i++) {
			const nn_tf_endpoint *e = &c->o->outputs[i];
			if (!e->tensor || !e->tensor[0])
				rc = fail(c, NN_ERR_FORMAT, "output %d names no tensor", i);
			else if (!(c->out_names[n] = strdup(e->name && e->name[0] ? e->name : e->tensor)))
				rc = nomem(c);
			else
				tensors[n++] = e->tensor;
		}
	} else {
		for (int i = 0; i < c->n_nodes; i++) {
			const tj_node *x = &c->nodes[i];
			if (x->n_consumers || !strcmp(x->op, "Const") || !strcmp(x->op, "Placeholder") || !strcmp(x->op, "NoOp"))
				continue;
			if (!(c->out_names[n++] = strdup(x->name))) {
				rc = nomem(c);
				break;
			}
		}
		if (rc == 0)
			qsort(c->out_names, (size_t)n, sizeof *c->out_names, by_name);
		for (int i = 0; i < n; i++)
			tensors[i] = c->out_names[i];
	}
	c->n_outputs = n;
	if (rc == 0 && n == 0)
		rc = fail(c, NN_ERR_FORMAT, "the graph has no outputs (none given, and no node is left unread)");
	for (int i = 0; i < n && rc == 0; i++) {
		const char *s = tensors[i];
		size_t len;
		int port;
		if (split_tensor_name(s, &len, &port) < 0)
			rc = fail(c, NN_ERR_FORMAT, "output '%.160s' has a malformed output index", s);
		else if ((c->out_node[i] = map_find(&c->node_map, c->node_names, s, len)) < 0)
			rc = fail(c, NN_ERR_FORMAT, "output '%.160s' names no node in the graph", s);
		c->out_port[i] = port;
	}
	free(tensors);
	return rc;
}

/* TensorFlow's control-flow ops: loops (TF1 and TF2) and conditionals, and the TensorArrays loops use. */
static int is_control_flow(const char *op)
{
	static const char *const names[] = { "While", "StatelessWhile", "If", "StatelessIf", "Switch", "Merge",
					     "Enter", "Exit", "NextIteration", "LoopCond", "RefSwitch", "RefMerge",
					     "RefEnter", "RefExit", "RefNextIteration", "_SwitchN", "Case", "StatelessCase" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!strcmp(op, names[i]))
			return 1;
	return !strncmp(op, "TensorArray", 11);
}

/* Marks what the outputs depend on, sorts it topologically, and reports unsupported ops and cycles. */
static int sort_nodes(tj *c)
{
	int n = c->n_nodes;
	int *stack = malloc(((size_t)n + 1) * sizeof *stack), sp = 0;
	c->order = malloc(((size_t)n + 1) * sizeof *c->order);
	if (!stack || !c->order) {
		free(stack);
		return nomem(c);
	}
	for (int i = 0; i < c->n_outputs; i++)
		if (!c->nodes[c->out_node[i]].needed) {
			c->nodes[c->out_node[i]].needed = 1;
			stack[sp++] = c->out_node[i];
		}
	/* Every Placeholder is an input of the model, whether the outputs read it or not. */
	for (int i = 0; i < n; i++)
		if (!strcmp(c->nodes[i].op, "Placeholder") && !c->nodes[i].needed) {
			c->nodes[i].needed = 1;
			stack[sp++] = i;
		}
	while (sp > 0) {
		const tj_node *x = &c->nodes[stack[--sp]];
		for (int k = 0; k < x->n_in; k++)
			if (!c->nodes[x->in_node[k]].needed) {
				c->nodes[x->in_node[k]].needed = 1;
				stack[sp++] = x->in_node[k];
			}
	}

	/* Control flow first: it explains the cycles and the ops that follow it. */
	for (int i = 0; i < n; i++)
		if (c->nodes[i].needed && is_control_flow(c->nodes[i].op)) {
			free(stack);
			return fail(c, NN_ERR_UNSUPPORTED,
				    "the graph has TensorFlow control flow (loops or conditionals), which vigil cannot run: "
				    "node '%.160s' (op %.60s) is the first",
				    c->nodes[i].name, c->nodes[i].op);
		}

	/* Ops we lack: the first is named with its node, each other op listed once with its first node. */
	char others[512] = "";
	int first = -1, n_bad = 0, n_nodes_bad = 0;
	for (int i = 0; i < n; i++) {
		if (!c->nodes[i].needed || find_op(c->nodes[i].op))
			continue;
		n_nodes_bad++;
		if (first < 0) {
			first = i;
			continue;
		}
		int seen = !strcmp(c->nodes[i].op, c->nodes[first].op);
		for (int j = first + 1; j < i && !seen; j++)
			seen = c->nodes[j].needed && !find_op(c->nodes[j].op) && !strcmp(c->nodes[j].op, c->nodes[i].op);
		if (seen)
			continue;
		size_t len = strlen(others);
		if (len + 8 < sizeof others)
			snprintf(others + len, sizeof others - len, "%s%.40s (node '%.80s')", n_bad ? ", " : "", c->nodes[i].op,
				 c->nodes[i].name);
		n_bad++;
	}
	if (first >= 0) {
		free(stack);
		if (n_bad)
			return fail(c, NN_ERR_UNSUPPORTED,
				    "node '%.160s' (op %.60s) is not supported (nor are: %s; %d nodes in all)",
				    c->nodes[first].name, c->nodes[first].op, others, n_nodes_bad);
		if (n_nodes_bad > 1)
			return fail(c, NN_ERR_UNSUPPORTED, "node '%.160s' (op %.60s) is not supported (nor are %d more %.60s nodes)",
				    c->nodes[first].name, c->nodes[first].op, n_nodes_bad - 1, c->nodes[first].op);
		return fail(c, NN_ERR_UNSUPPORTED, "node '%.160s' (op %.60s) is not supported", c->nodes[first].name,
			    c->nodes[first].op);
	}

	/* Kahn's algorithm, in JSON order among the nodes that are ready. */
	size_t n_edges = 0;
	for (int i = 0; i < n; i++)
		if (c->nodes[i].needed)
			n_edges += (size_t)c->nodes[i].n_in;
	/* Per node, a list of the edges to its readers: head[] starts it, next[] links it. */
	int *head = malloc(((size_t)n + 1) * sizeof *head);
	int *next = malloc((n_edges + 1) * sizeof *next), *edge_to = malloc((n_edges + 1) * sizeof *edge_to);
	if (!next || !head || !edge_to) {
		free(stack);
		free(next);
		free(head);
		free(edge_to);
		return nomem(c);
	}
	for (int i = 0; i < n; i++)
		head[i] = -1;
	int e = 0;
	for (int i = 0; i < n; i++) {
		tj_node *x = &c->nodes[i];
		if (!x->needed)
			continue;
		x->pending = x->n_in;
		for (int k = 0; k < x->n_in; k++) {
			edge_to[e] = i;
			next[e] = head[x->in_node[k]];
			head[x->in_node[k]] = e++;
		}
	}
	int qh = 0, qt = 0, n_needed = 0;
	for (int i = 0; i < n; i++) {
		n_needed += c->nodes[i].needed;
		if (c->nodes[i].needed && c->nodes[i].pending == 0)
			stack[qt++] = i;
	}
	while (qh < qt) {
		int i = stack[qh++];
		c->order[c->n_order++] = i;
		for (int k = head[i]; k >= 0; k = next[k])
			if (--c->nodes[edge_to[k]].pending == 0)
				stack[qt++] = edge_to[k];
	}
	free(next);
	free(head);
	free(edge_to);
	free(stack);
	if (c->n_order == n_needed)
		return 0;

	/* Some node waits on itself. Walking back through waiting inputs long enough lands on the cycle. */
	int at = -1;
	for (int i = 0; i < n && at < 0; i++)
		if (c->nodes[i].needed && c->nodes[i].pending > 0)
			at = i;
	for (int steps = 0; steps < n; steps++) {
		const tj_node *x = &c->nodes[at];
		for (int k = 0; k < x->n_in; k++)
			if (c->nodes[x->in_node[k]].pending > 0) {
				at = x->in_node[k];
				break;
			}
	}
	const tj_node *x = &c->nodes[at];
	const char *via = "";
	for (int k = 0; k < x->n_in; k++)
		if (c->nodes[x->in_node[k]].pending > 0) {
			via = c->nodes[x->in_node[k]].name;
			break;
		}
	return fail(c, NN_ERR_FORMAT, "node '%.160s' (op %.60s) is part of a cycle (through its input '%.160s'): the graph "
		    "must be acyclic",
		    x->name, x->op, via);
}

/* ---- finishing the graph ---- */

static int set_io(tj *c)
{
	nn_graph *g = c->g;
	int n_in = 0;
	for (int i = 0; i < c->n_order; i++)
		n_in += !strcmp(c->nodes[c->order[i]].op, "Placeholder");
	g->inputs = malloc(((size_t)n_in + 1) * sizeof *g->inputs);
	g->outputs = malloc(((size_t)c->n_outputs + 1) * sizeof *g->outputs);
	const char **names = malloc(((size_t)n_in + 1) * sizeof *names);
	if (!g->inputs || !g->outputs || !names) {
		free(names);
		return nomem(c);
	}
	/* The inputs the options name come first, in their order; the other Placeholders follow by name. */
	for (int i = 0; i < c->o->n_inputs; i++) {
		const char *s = c->o->inputs[i].tensor;
		size_t len;
		int port, j = -1;
		if (s && split_tensor_name(s, &len, &port) == 0 && port == 0)
			j = map_find(&c->node_map, c->node_names, s, len);
		if (j < 0 || strcmp(c->nodes[j].op, "Placeholder") != 0) {
			free(names);
			return fail(c, NN_ERR_FORMAT, "input '%.160s' names no Placeholder in the graph", s ? s : "");
		}
		int dup = 0;
		for (int k = 0; k < g->n_inputs; k++)
			dup |= g->inputs[k] == c->nodes[j].out[0];
		if (!dup)
			g->inputs[g->n_inputs++] = c->nodes[j].out[0];
	}
	int k = 0;
	for (int i = 0; i < c->n_order; i++) {
		const tj_node *x = &c->nodes[c->order[i]];
		int listed = 0;
		for (int m = 0; m < g->n_inputs; m++)
			listed |= g->inputs[m] == x->out[0];
		if (!strcmp(x->op, "Placeholder") && !listed)
			names[k++] = x->name;
	}
	qsort(names, (size_t)k, sizeof *names, by_name);
	for (int i = 0; i < k; i++) {
		int j = map_find(&c->node_map, c->node_names, names[i], strlen(names[i]));
		g->inputs[g->n_inputs++] = c->nodes[j].out[0];
	}
	free(names);

	for (int i = 0; i < c->n_outputs; i++) {
		tj_node *x = &c->nodes[c->out_node[i]];
		int port = c->out_port[i];
		if (port >= x->n_out)
			return fail(c, NN_ERR_FORMAT, "output '%.160s' reads output %d of node '%.160s', which has %d",
				    c->out_names[i], port, x->name, x->n_out);
		int t = x->out[port];
		char *want = strdup(c->out_names[i]);
		if (!want)
			return nomem(c);
		/*
		 * An output that an Identity (or another alias) passes through takes
		 * the Identity's name, which is the one users look for. Where the
		 * tensor must keep its own name (a graph input, another output), a
		 * copy carries the output's name instead.
		 */
		if (strcmp(T(c, t)->name, want) != 0) {
			int keep = 0;
			for (int k2 = 0; k2 < g->n_inputs; k2++)
				keep |= g->inputs[k2] == t;
			for (int k2 = 0; k2 < g->n_outputs; k2++)
				keep |= g->outputs[k2] == t;
			if (!keep) {
				free(T(c, t)->name);
				T(c, t)->name = want;
				want = NULL;
			} else {
				int y = add_like(c, x, want, T(c, t)->dtype, t);
				if (y < 0 || add_node1(c, x, NN_OP_RESHAPE, 1, &t, y, NULL) < 0) {
					free(want);
					return y < 0 ? y : NN_ERR_NOMEM;
				}
				t = y;
			}
		}
		free(want);
		g->outputs[g->n_outputs++] = t;
	}
	return 0;
}

/* Drops the nodes evaluated at load time and every tensor nothing refers to any more. */
static int compact(tj *c)
{
	nn_graph *g = c->g;
	int kept = 0;
	for (int i = 0; i < g->n_nodes; i++) {
		nn_node *x = &g->nodes[i];
		if (is_dead(c, i)) {
			free(x->name);
			free(x->inputs);
			free(x->outputs);
			continue;
		}
		g->nodes[kept++] = *x;
	}
	g->n_nodes = kept;
	int *map = malloc(((size_t)g->n_tensors + 1) * sizeof *map);
	if (!map)
		return nomem(c);
	for (int t = 0; t < g->n_tensors; t++)
		map[t] = -1;
	for (int i = 0; i < g->n_nodes; i++) {
		for (int k = 0; k < g->nodes[i].n_inputs; k++)
			if (g->nodes[i].inputs[k] >= 0)
				map[g->nodes[i].inputs[k]] = 0;
		for (int k = 0; k < g->nodes[i].n_outputs; k++)
			map[g->nodes[i].outputs[k]] = 0;
	}
	for (int i = 0; i < g->n_inputs; i++)
		map[g->inputs[i]] = 0;
	for (int i = 0; i < g->n_outputs; i++)
		map[g->outputs[i]] = 0;
	int n = 0;
	for (int t = 0; t < g->n_tensors; t++) {
		nn_tensor *x = &g->tensors[t];
		if (map[t] < 0) {
			if (x->owns_data)
				free(x->data);
			free(x->quant.scale);
			free(x->quant.zero_point);
			free(x->name);
			free(x->aux);
			continue;
		}
		map[t] = n;
		g->tensors[n++] = *x;
	}
	g->n_tensors = n;
	for (int i = 0; i < g->n_nodes; i++) {
		for (int k = 0; k < g->nodes[i].n_inputs; k++)
			if (g->nodes[i].inputs[k] >= 0)
				g->nodes[i].inputs[k] = map[g->nodes[i].inputs[k]];
		for (int k = 0; k < g->nodes[i].n_outputs; k++)
			g->nodes[i].outputs[k] = map[g->nodes[i].outputs[k]];
	}
	for (int i = 0; i < g->n_inputs; i++)
		g->inputs[i] = map[g->inputs[i]];
	for (int i = 0; i < g->n_outputs; i++)
		g->outputs[i] = map[g->outputs[i]];
	free(map);
	return 0;
}

static int build(tj *c, nn_graph **out)
{
	int rc;
	if ((rc = parse_nodes(c)) < 0 || (rc = find_outputs(c)) < 0 || (rc = sort_nodes(c)) < 0)
		return rc;
	if (!(c->g = nn_graph_create(c->src)))
		return nomem(c);
	for (int i = 0; i < c->n_order; i++) {
		tj_node *x = &c->nodes[c->order[i]];
		const struct tj_op *op = find_op(x->op);
		if ((rc = op->fn(c, x, op->arg)) < 0)
			return rc;
		for (int k = 0; k < x->n_out; k++)
			if (x->out[k] < 0)
				return node_fail(c, x, NN_ERR_FORMAT, "output %d was not produced", k);
	}
	if ((rc = set_io(c)) < 0 || (rc = compact(c)) < 0)
		return rc;
	*out = c->g;
	c->g = NULL;
	return 0;
}

int nn_tf_build(nn_graph **out, const nn_tf_graph *g, const nn_tf_build_options *o, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = 0;
	nn_tf_build_options none = { 0 };
	if (!o)
		o = &none;
	tj c = { .src = o->source ? o->source : "(memory)", .err = err, .errlen = errlen, .tg = g, .o = o };
	if (!out || !g || (o->n_inputs > 0 && !o->inputs) || (o->n_outputs > 0 && !o->outputs)) {
		if (out)
			*out = NULL;
		return fail(&c, NN_ERR_ARG, "nn_tf_build: no output pointer, graph or endpoints");
	}
	*out = NULL;
	int rc = build(&c, out);
	for (int i = 0; i < c.n_nodes; i++)
		free(c.nodes[i].out);
	free(c.nodes);
	free(c.node_names);
	free(c.node_map.slot);
	free(c.in_pool);
	free(c.order);
	for (int i = 0; c.out_names && i < c.n_outputs; i++)
		free(c.out_names[i]);
	free(c.out_names);
	free(c.out_node);
	free(c.out_port);
	free(c.dead);
	nn_graph_free(c.g);
	return rc;
}
