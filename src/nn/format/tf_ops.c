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
#include "nn/format/tf_ops_internal.h"

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

/* ---- messages ---- */

PRINTF(3, 4) int tfo_fail(tfo *c, int code, const char *fmt, ...)
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

PRINTF(4, 5) int tfo_node_fail(tfo *c, const tfo_node *n, int code, const char *fmt, ...)
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

int tfo_nomem(tfo *c)
{
	return tfo_fail(c, NN_ERR_NOMEM, "out of memory");
}

const char *tfo_shape_str(int rank, const int *shape, char *buf, size_t len)
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

const char *tfo_tshape(const nn_tensor *t, char *buf, size_t len)
{
	return tfo_shape_str(t->rank, t->shape, buf, len);
}

/* A heap copy of "base" followed by suffix, for tensor names; NULL when out of memory. */
char *tfo_join_name(const char *base, const char *suffix)
{
	size_t a = strlen(base), b = strlen(suffix);
	char *s = malloc(a + b + 1);
	if (s) {
		memcpy(s, base, a);
		memcpy(s + a, suffix, b + 1);
	}
	return s;
}

/* ---- attributes ---- */

const nn_tf_attr *tfo_attr_get(const tfo_node *n, const char *key)
{
	return nn_tf_node_attr(n->src, key);
}

/* An int attribute; def when absent. */
int tfo_attr_int(tfo *c, const tfo_node *n, const char *key, int64_t def, int64_t lo, int64_t hi, int64_t *out)
{
	*out = def;
	const nn_tf_attr *a = tfo_attr_get(n, key);
	if (!a)
		return 0;
	if (a->kind != NN_TF_ATTR_INT || a->i < lo || a->i > hi)
		return tfo_node_fail(c, n, NN_ERR_FORMAT, "attribute '%s' is not an integer from %lld to %lld", key,
				 (long long)lo, (long long)hi);
	*out = a->i;
	return 0;
}

int tfo_attr_bool(tfo *c, const tfo_node *n, const char *key, int def, int *out)
{
	*out = def;
	const nn_tf_attr *a = tfo_attr_get(n, key);
	if (!a)
		return 0;
	if (a->kind != NN_TF_ATTR_BOOL)
		return tfo_node_fail(c, n, NN_ERR_FORMAT, "attribute '%s' is not a boolean", key);
	*out = a->b != 0;
	return 0;
}

int tfo_attr_float(tfo *c, const tfo_node *n, const char *key, float def, float *out)
{
	*out = def;
	const nn_tf_attr *a = tfo_attr_get(n, key);
	if (!a)
		return 0;
	if (a->kind != NN_TF_ATTR_FLOAT || !isfinite(a->f) || fabs(a->f) > 3.0e38)
		return tfo_node_fail(c, n, NN_ERR_FORMAT, "attribute '%s' is not a finite number", key);
	*out = (float)a->f;
	return 0;
}

/* A string attribute copied into buf, NUL-terminated; *present says whether it was there. */
int tfo_attr_string(tfo *c, const tfo_node *n, const char *key, char *buf, size_t cap, int *present)
{
	buf[0] = 0;
	*present = 0;
	const nn_tf_attr *a = tfo_attr_get(n, key);
	if (!a)
		return 0;
	if (a->kind != NN_TF_ATTR_STRING || a->s_len >= cap || (a->s_len && !a->s) ||
	    (a->s_len && memchr(a->s, 0, a->s_len)))
		return tfo_node_fail(c, n, NN_ERR_FORMAT, "attribute '%s' is not a string of at most %zu bytes", key, cap - 1);
	if (a->s_len)
		memcpy(buf, a->s, a->s_len);
	buf[a->s_len] = 0;
	*present = 1;
	return 0;
}

/* A list of ints; *count is -1 when the attribute is absent. */
int tfo_attr_ints(tfo *c, const tfo_node *n, const char *key, int64_t *vals, int max, int *count)
{
	*count = -1;
	const nn_tf_attr *a = tfo_attr_get(n, key);
	if (!a)
		return 0;
	*count = 0;
	if (a->kind != NN_TF_ATTR_LIST || (a->n > 0 && (a->list_kind != NN_TF_ATTR_INT || !a->ints)))
		return tfo_node_fail(c, n, NN_ERR_FORMAT, "attribute '%s' is not a list of integers", key);
	if (a->n > max)
		return tfo_node_fail(c, n, NN_ERR_FORMAT, "attribute '%s' has more than %d values", key, max);
	for (int k = 0; k < a->n; k++)
		vals[k] = a->ints[k];
	*count = a->n;
	return 0;
}

/* "DT_FLOAT" for float: the spelling of TensorFlow's enum, which users know from their graphs. */
const char *tfo_dt_spelling(nn_tf_dtype dt, char *buf, size_t len)
{
	const char *s = nn_tf_dtype_name(dt);
	size_t k = (size_t)snprintf(buf, len, "DT_");
	for (; *s && k + 1 < len; s++)
		buf[k++] = (char)(*s >= 'a' && *s <= 'z' ? *s - 'a' + 'A' : *s);
	buf[k < len ? k : len - 1] = 0;
	return buf;
}

/* TensorFlow's dtypes that the IR holds: int64 becomes int32. */
int tfo_ir_dtype(nn_tf_dtype t, nn_dtype *dt)
{
	switch (t) {
	case NN_TF_FLOAT: *dt = NN_F32; return 0;
	case NN_TF_INT32:
	case NN_TF_INT64: *dt = NN_I32; return 0;
	case NN_TF_BOOL: *dt = NN_BOOL; return 0;
	default: return -1;
	}
}

int tfo_attr_dtype(tfo *c, const tfo_node *n, const char *key, int required, nn_dtype *dt)
{
	const nn_tf_attr *a = tfo_attr_get(n, key);
	if (!a) {
		if (!required)
			return 1;
		return tfo_node_fail(c, n, NN_ERR_FORMAT, "has no '%s' attribute naming its data type", key);
	}
	if (a->kind != NN_TF_ATTR_TYPE)
		return tfo_node_fail(c, n, NN_ERR_FORMAT, "attribute '%s' is not a data type", key);
	char s[32];
	if (tfo_ir_dtype(a->type, dt) < 0)
		return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED, "data type %s (attribute '%s') is not supported",
				 tfo_dt_spelling(a->type, s, sizeof s), key);
	return 0;
}

/* Adds a tensor after checking its shape: dimensions in range and no more than MAX_TENSOR_BYTES. */
int tfo_add_tensor(tfo *c, const tfo_node *n, const char *name, nn_dtype dt, int rank, const int64_t *shape)
{
	if (rank < 0 || rank > NN_MAX_RANK)
		return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED, "its result '%.160s' would have %d dimensions; at most %d are supported",
				 name, rank, NN_MAX_RANK);
	int64_t bytes = (int64_t)nn_dtype_size(dt);
	for (int d = 0; d < rank; d++) {
		if (shape[d] < 0 || shape[d] > INT32_MAX)
			return tfo_node_fail(c, n, NN_ERR_SHAPE, "dimension %d of its result '%.160s' would be %lld", d, name,
					 (long long)shape[d]);
		if (shape[d] && bytes > MAX_TENSOR_BYTES / shape[d])
			return tfo_node_fail(c, n, NN_ERR_SHAPE,
					 "its result '%.160s' would take more than %lld bytes: the shape overflows", name,
					 (long long)MAX_TENSOR_BYTES);
		bytes *= shape[d];
	}
	int t = nn_graph_add_tensor(c->g, name);
	if (t < 0)
		return tfo_nomem(c);
	nn_tensor *x = T(c, t);
	x->dtype = dt;
	x->rank = rank;
	for (int d = 0; d < rank; d++)
		x->shape[d] = (int)shape[d];
	return t;
}

/* Adds a tensor shaped like an existing one. */
int tfo_add_like(tfo *c, const tfo_node *n, const char *name, nn_dtype dt, int like)
{
	int64_t shape[NN_MAX_RANK];
	int rank = T(c, like)->rank;
	for (int d = 0; d < rank; d++)
		shape[d] = T(c, like)->shape[d];
	return tfo_add_tensor(c, n, name, dt, rank, shape);
}

/* Adds a tensor named after the node with the given suffix ("name/conv"). */
int tfo_add_temp(tfo *c, const tfo_node *n, const char *suffix, nn_dtype dt, int rank, const int64_t *shape)
{
	char *name = tfo_join_name(n->name, suffix);
	if (!name)
		return tfo_nomem(c);
	int t = tfo_add_tensor(c, n, name, dt, rank, shape);
	free(name);
	return t;
}

int tfo_init_outputs(tfo *c, tfo_node *n, int count)
{
	n->out = malloc(((size_t)count + 1) * sizeof *n->out);
	if (!n->out)
		return tfo_nomem(c);
	for (int k = 0; k < count; k++)
		n->out[k] = -1;
	n->n_out = count;
	return 0;
}

/* Adds the tensor of output port k: named after the node, with ":k" after the first. */
int tfo_out_tensor(tfo *c, tfo_node *n, int k, nn_dtype dt, int rank, const int64_t *shape)
{
	int t;
	if (k == 0) {
		t = tfo_add_tensor(c, n, n->name, dt, rank, shape);
	} else {
		char suffix[16];
		snprintf(suffix, sizeof suffix, ":%d", k);
		t = tfo_add_temp(c, n, suffix, dt, rank, shape);
	}
	if (t >= 0)
		n->out[k] = t;
	return t;
}

static int is_dead(const tfo *c, int i)
{
	return i < c->cap_dead && c->dead[i];
}

int tfo_mark_dead(tfo *c, int i)
{
	if (i >= c->cap_dead) {
		int cap = c->cap_dead ? c->cap_dead : 64;
		while (cap <= i)
			cap *= 2;
		unsigned char *d = realloc(c->dead, (size_t)cap);
		if (!d)
			return tfo_nomem(c);
		memset(d + c->cap_dead, 0, (size_t)(cap - c->cap_dead));
		c->dead = d;
		c->cap_dead = cap;
	}
	c->dead[i] = 1;
	return 0;
}

/* Adds an IR node named after the TF node. Returns its index, or a negative code. */
int tfo_add_node(tfo *c, const tfo_node *n, nn_op op, int n_in, const int *in, int n_out, const int *out,
		    nn_node **node)
{
	if (node)
		*node = NULL;
	nn_node *x = nn_graph_add_node(c->g, op, n_in, n_out);
	if (!x || !(x->name = strdup(n->name)))
		return tfo_nomem(c);
	memcpy(x->inputs, in, (size_t)n_in * sizeof *in);
	memcpy(x->outputs, out, (size_t)n_out * sizeof *out);
	if (node)
		*node = x;
	return c->g->n_nodes - 1;
}

int tfo_add_node1(tfo *c, const tfo_node *n, nn_op op, int n_in, const int *in, int out, nn_node **node)
{
	return tfo_add_node(c, n, op, n_in, in, 1, &out, node);
}

/* The IR node that writes tensor t, or -1 for constants and graph inputs. */
int tfo_producer_of(const tfo *c, int t)
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

int tfo_want_inputs(tfo *c, const tfo_node *n, int lo, int hi)
{
	if (n->n_in < lo || n->n_in > hi) {
		if (lo == hi)
			return tfo_node_fail(c, n, NN_ERR_FORMAT, "has %d inputs, expected %d", n->n_in, lo);
		return tfo_node_fail(c, n, NN_ERR_FORMAT, "has %d inputs, expected %d to %d", n->n_in, lo, hi);
	}
	return 0;
}

/* The IR tensor that input k of n reads. */
int tfo_input_tensor(tfo *c, const tfo_node *n, int k, int *t)
{
	*t = -1;
	/* Found by fuzz_graphdef: a BatchToSpaceND with too few inputs reached here through the dilation fold. */
	if (k < 0 || k >= n->n_in)
		return tfo_node_fail(c, n, NN_ERR_FORMAT, "has %d inputs, expected at least %d", n->n_in, k + 1);
	const tfo_node *p = &c->nodes[n->in_node[k]];
	int port = n->in_port[k];
	if (port >= p->n_out)
		return tfo_node_fail(c, n, NN_ERR_FORMAT, "input %d reads output %d of node '%.160s' (op %.60s), which has %d", k,
				 port, p->name, p->op, p->n_out);
	if (p->out[port] < 0)
		return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED, "input %d reads '%.160s', which has no tensor vigil can hold", k,
				 p->name);
	*t = p->out[port];
	return 0;
}

/* Input k, which must have dtype dt (or any when dt < 0) and, when rank >= 0, that rank. */
int tfo_input_of(tfo *c, const tfo_node *n, int k, int dt, int rank, int *t)
{
	int rc = tfo_input_tensor(c, n, k, t);
	if (rc < 0)
		return rc;
	const nn_tensor *x = T(c, *t);
	char s[96];
	if (dt >= 0 && x->dtype != (nn_dtype)dt)
		return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED, "input %d '%.160s' is %s, expected %s", k, x->name,
				 nn_dtype_name(x->dtype), nn_dtype_name((nn_dtype)dt));
	if (rank >= 0 && x->rank != rank)
		return tfo_node_fail(c, n, NN_ERR_SHAPE, "input %d '%.160s' has shape %s, expected %d dimensions", k, x->name,
				 tfo_tshape(x, s, sizeof s), rank);
	return 0;
}

/*
 * Makes tensor t constant, evaluating at load time the nodes it is computed
 * from (which must all have constant inputs in the end). `who` and `what`
 * name the node and input that need the value, for messages.
 */
int tfo_make_const(tfo *c, const tfo_node *who, int t, const char *what, int depth)
{
	if (T(c, t)->is_const)
		return 0;
	int p = tfo_producer_of(c, t);
	if (p < 0)
		return tfo_node_fail(c, who, NN_ERR_UNSUPPORTED,
				 "%s must be known when the model loads, but it depends on the graph input '%.160s'", what,
				 T(c, t)->name);
	if (depth > MAX_EVAL_DEPTH)
		return tfo_node_fail(c, who, NN_ERR_UNSUPPORTED,
				 "%s is computed by a chain of more than %d ops, too long to evaluate at load time", what,
				 MAX_EVAL_DEPTH);
	int n_in = c->g->nodes[p].n_inputs;
	for (int k = 0; k < n_in; k++) {
		int ti = c->g->nodes[p].inputs[k];
		int rc = ti >= 0 ? tfo_make_const(c, who, ti, what, depth + 1) : 0;
		if (rc < 0)
			return rc;
	}
	nn_node *x = &c->g->nodes[p];
	char desc[256];
	snprintf(desc, sizeof desc, "%s '%.160s'", nn_op_name(x->op), x->name ? x->name : "");
	for (int k = 0; k < x->n_outputs; k++) {
		int64_t e = nn_tensor_elements(T(c, x->outputs[k]));
		if (e < 0 || e > MAX_EVAL_ELEMENTS)
			return tfo_node_fail(c, who, NN_ERR_UNSUPPORTED,
					 "%s must be computed when the model loads, but %s gives %lld values, more than the "
					 "%lld evaluated at load time",
					 what, desc, (long long)e, (long long)MAX_EVAL_ELEMENTS);
	}
	int rc;
	char why[256];
	if (!nn_ref_supports(c->g, x, why, sizeof why))
		return tfo_node_fail(c, who, NN_ERR_UNSUPPORTED, "%s must be computed when the model loads, but %s cannot be: %s",
				 what, desc, why);
	for (int k = 0; k < x->n_outputs; k++)
		if (nn_tensor_alloc_const(T(c, x->outputs[k])) < 0)
			return tfo_nomem(c);
	rc = nn_ref_run(c->g, x, why, sizeof why);
	if (rc < 0)
		return tfo_node_fail(c, who, rc, "%s must be computed when the model loads, but %s failed: %s", what, desc, why);
	return tfo_mark_dead(c, p);
}

/*
 * Whether t is constant or computed from constants alone, so that
 * make_const can evaluate it. budget bounds the walk, which a hostile graph
 * of shared subexpressions could otherwise make exponential.
 */
int tfo_const_computable(const tfo *c, int t, int *budget)
{
	if (c->g->tensors[t].is_const)
		return 1;
	if (--*budget < 0)
		return 0;
	int p = tfo_producer_of(c, t);
	if (p < 0)
		return 0;
	const nn_node *x = &c->g->nodes[p];
	for (int k = 0; k < x->n_inputs; k++)
		if (x->inputs[k] >= 0 && !tfo_const_computable(c, x->inputs[k], budget))
			return 0;
	return 1;
}

/* The int32 values of input k, which must be known at load time. */
int tfo_const_ints(tfo *c, const tfo_node *n, int k, const char *what, int64_t *vals, int max, int *count)
{
	int t, rc;
	char desc[96];
	snprintf(desc, sizeof desc, "input %d (%s)", k, what);
	if ((rc = tfo_input_tensor(c, n, k, &t)) < 0 || (rc = tfo_make_const(c, n, t, desc, 0)) < 0)
		return rc;
	const nn_tensor *x = T(c, t);
	if (x->dtype != NN_I32)
		return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED, "%s '%.160s' is %s, expected int32", desc, x->name,
				 nn_dtype_name(x->dtype));
	int64_t e = nn_tensor_elements(x);
	if (e < 0 || e > max)
		return tfo_node_fail(c, n, NN_ERR_FORMAT, "%s '%.160s' has %lld values, expected at most %d", desc, x->name,
				 (long long)e, max);
	for (int64_t i = 0; i < e; i++)
		vals[i] = ((const int32_t *)x->data)[i];
	*count = (int)e;
	return 0;
}

/* A single int32 known at load time (a scalar or a one-element vector). */
int tfo_const_int(tfo *c, const tfo_node *n, int k, const char *what, int64_t *v)
{
	int count, rc = tfo_const_ints(c, n, k, what, v, 1, &count);
	if (rc < 0)
		return rc;
	if (count != 1)
		return tfo_node_fail(c, n, NN_ERR_FORMAT, "input %d (%s) has no value, expected one", k, what);
	return 0;
}

/* An axis in [-rank, rank) made non-negative. */
int tfo_norm_axis(tfo *c, const tfo_node *n, int64_t axis, int rank, const char *what, int *out)
{
	*out = 0;
	if (axis < -rank || axis >= rank || rank == 0)
		return tfo_node_fail(c, n, NN_ERR_FORMAT, "%s %lld is outside the input's %d dimensions", what, (long long)axis,
				 rank);
	*out = (int)(axis < 0 ? axis + rank : axis);
	return 0;
}

int tfo_const_f32(tfo *c, const tfo_node *n, const char *suffix, int rank, const int64_t *shape, const float *vals)
{
	int t = tfo_add_temp(c, n, suffix, NN_F32, rank, shape);
	if (t < 0)
		return t;
	if (nn_tensor_alloc_const(T(c, t)) < 0)
		return tfo_nomem(c);
	if (vals)
		memcpy(T(c, t)->data, vals, (size_t)nn_tensor_elements(T(c, t)) * sizeof *vals);
	return t;
}

tfo_node *tfo_sole_reader(tfo *c, const tfo_node *n, int *slot)
{
	/* A control edge or a graph output also reading it would need the value as it is. */
	if (n->n_readers != 1 || n->n_consumers != 1 || n->reader_port != 0 || n->is_output)
		return NULL;
	*slot = n->reader_slot;
	return &c->nodes[n->reader];
}

/* ---- the op table ---- */

static const struct tfo_op {
	const char *name;
	tfo_map_fn fn;
	int arg;
} op_table[] = {
	{ "Placeholder", tfo_map_placeholder, 0 },
	{ "Const", tfo_map_const, 0 },
	{ "Identity", tfo_map_identity, 0 },
	{ "IdentityN", tfo_map_identity, 1 },
	{ "StopGradient", tfo_map_identity, 0 },
	{ "Snapshot", tfo_map_identity, 0 },
	{ "PlaceholderWithDefault", tfo_map_identity, 0 },
	{ "NoOp", tfo_map_identity, 2 },
	{ "Shape", tfo_map_shape, 0 },
	{ "Conv2D", tfo_map_conv, CONV_PLAIN },
	{ "_FusedConv2D", tfo_map_conv, CONV_FUSED },
	{ "DepthwiseConv2dNative", tfo_map_conv, DW_PLAIN },
	{ "FusedDepthwiseConv2dNative", tfo_map_conv, DW_FUSED },
	{ "Conv2DBackpropInput", tfo_map_deconv, 0 },
	{ "MaxPool", tfo_map_pool, 1 },
	{ "AvgPool", tfo_map_pool, 0 },
	{ "BiasAdd", tfo_map_bias_add, 0 },
	{ "Add", tfo_map_binary, NN_OP_ADD },
	{ "AddV2", tfo_map_binary, NN_OP_ADD },
	{ "Sub", tfo_map_binary, NN_OP_SUB },
	{ "Mul", tfo_map_binary, NN_OP_MUL },
	{ "RealDiv", tfo_map_binary, NN_OP_DIV },
	{ "Maximum", tfo_map_binary, NN_OP_MAXIMUM },
	{ "Minimum", tfo_map_binary, NN_OP_MINIMUM },
	{ "FloorDiv", tfo_map_binary, NN_OP_FLOOR_DIV },
	{ "FloorMod", tfo_map_binary, NN_OP_FLOOR_MOD },
	{ "Equal", tfo_map_binary, NN_OP_EQUAL },
	{ "Relu", tfo_map_unary, NN_OP_RELU },
	{ "Relu6", tfo_map_unary, NN_OP_RELU6 },
	{ "LeakyRelu", tfo_map_unary, NN_OP_LEAKY_RELU },
	{ "Sigmoid", tfo_map_unary, NN_OP_LOGISTIC },
	{ "Tanh", tfo_map_unary, NN_OP_TANH },
	{ "Prelu", tfo_map_prelu, 0 },
	{ "Cast", tfo_map_cast, 0 },
	{ "Mean", tfo_map_mean, 0 },
	{ "Sum", tfo_map_mean, 1 },
	{ "Square", tfo_map_math, M_SQUARE },
	{ "Sqrt", tfo_map_math, M_SQRT },
	{ "Rsqrt", tfo_map_math, M_RSQRT },
	{ "Neg", tfo_map_math, M_NEG },
	{ "Abs", tfo_map_math, M_ABS },
	{ "Softmax", tfo_map_softmax, 0 },
	{ "AddN", tfo_map_add_n, 0 },
	{ "Pack", tfo_map_pack, 0 },
	{ "Unpack", tfo_map_pack, 1 },
	{ "Slice", tfo_map_slice, 0 },
	{ "SpaceToBatchND", tfo_map_space_to_batch, 0 },
	{ "BatchToSpaceND", tfo_map_batch_to_space, 0 },
	{ "FusedBatchNorm", tfo_map_batch_norm, 5 },
	{ "FusedBatchNormV2", tfo_map_batch_norm, 5 },
	{ "FusedBatchNormV3", tfo_map_batch_norm, 6 },
	{ "MatMul", tfo_map_matmul, 0 },
	{ "Dequantize", tfo_map_dequantize, 0 },
	{ "ResizeBilinear", tfo_map_resize, NN_OP_RESIZE_BILINEAR },
	{ "ResizeNearestNeighbor", tfo_map_resize, NN_OP_RESIZE_NEAREST },
	{ "ConcatV2", tfo_map_concat, 0 },
	{ "Reshape", tfo_map_reshape, 0 },
	{ "Squeeze", tfo_map_squeeze, 0 },
	{ "ExpandDims", tfo_map_expand_dims, 0 },
	{ "Pad", tfo_map_pad, 0 },
	{ "PadV2", tfo_map_pad, 1 },
	{ "Transpose", tfo_map_transpose, 0 },
	{ "Split", tfo_map_split, 0 },
	{ "SplitV", tfo_map_split, 1 },
	{ "StridedSlice", tfo_map_strided_slice, 0 },
	{ "GatherV2", tfo_map_gather, 1 },
	{ "Gather", tfo_map_gather, 0 },
	{ "TopKV2", tfo_map_topk, 0 },
	{ "SparseToDense", tfo_map_sparse_to_dense, 0 },
};

static const struct tfo_op *find_op(const char *name)
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

static int parse_nodes(tfo *c)
{
	int n = c->tg->n_nodes;
	if (n <= 0 || !c->tg->nodes)
		return tfo_fail(c, NN_ERR_FORMAT, "the graph has no nodes");
	c->nodes = calloc((size_t)n, sizeof *c->nodes);
	c->node_names = calloc((size_t)n, sizeof *c->node_names);
	if (!c->nodes || !c->node_names || nn_name_map_init(&c->node_map, n) < 0)
		return tfo_nomem(c);
	size_t n_inputs = 0;
	for (int i = 0; i < n; i++) {
		const nn_tf_node *e = &c->tg->nodes[i];
		tfo_node *x = &c->nodes[c->n_nodes];
		x->src = e;
		x->name = e->name;
		x->op = e->op;
		if (!x->name || !x->name[0] || !x->op || !x->op[0])
			return tfo_fail(c, NN_ERR_FORMAT, "node %d has no name or no op", i);
		if (e->n_inputs < 0 || (e->n_inputs > 0 && !e->inputs) || e->n_attrs < 0 || (e->n_attrs > 0 && !e->attrs))
			return tfo_fail(c, NN_ERR_FORMAT, "node '%.160s' has malformed inputs or attributes", x->name);
		n_inputs += (size_t)e->n_inputs;
		c->node_names[c->n_nodes] = x->name;
		int dup = nn_name_map_add(&c->node_map, c->node_names, c->n_nodes);
		if (dup >= 0)
			return tfo_fail(c, NN_ERR_FORMAT, "two nodes are called '%.160s' (nodes %d and %d)", x->name, dup, c->n_nodes);
		c->n_nodes++;
	}

	/* Inputs: "name" or "name:port" read a node's output; "^name" only orders execution and is dropped. */
	c->in_pool = malloc((2 * n_inputs + 1) * sizeof *c->in_pool);
	if (!c->in_pool)
		return tfo_nomem(c);
	int *pool = c->in_pool;
	for (int i = 0; i < n; i++) {
		tfo_node *x = &c->nodes[i];
		int k = x->src->n_inputs;
		x->in_node = pool;
		x->in_port = pool + k;
		pool += 2 * k;
		int j = 0;
		for (int m = 0; m < k; m++) {
			const char *s = x->src->inputs[m];
			if (!s)
				return tfo_fail(c, NN_ERR_FORMAT, "node '%.160s': input %d is missing", x->name, m);
			const char *name = s;
			int control = name[0] == '^', port = 0;
			if (control)
				name++;
			size_t len = strlen(name);
			if (!control && split_tensor_name(name, &len, &port) < 0)
				return tfo_fail(c, NN_ERR_FORMAT, "node '%.160s': input '%.160s' has a malformed output index", x->name,
					    s);
			int src = nn_name_map_find(&c->node_map, c->node_names, name, len);
			if (src < 0)
				return tfo_fail(c, NN_ERR_FORMAT, "node '%.160s' (op %.60s): input '%.160s' names no node in the graph",
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
static int find_outputs(tfo *c)
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
		return tfo_nomem(c);
	}
	int rc = 0;
	if (c->o->n_outputs > 0) {
		for (int i = 0; i < c->o->n_outputs && rc == 0; i++) {
			const nn_tf_endpoint *e = &c->o->outputs[i];
			if (!e->tensor || !e->tensor[0])
				rc = tfo_fail(c, NN_ERR_FORMAT, "output %d names no tensor", i);
			else if (!(c->out_names[n] = strdup(e->name && e->name[0] ? e->name : e->tensor)))
				rc = tfo_nomem(c);
			else
				tensors[n++] = e->tensor;
		}
	} else {
		for (int i = 0; i < c->n_nodes; i++) {
			const tfo_node *x = &c->nodes[i];
			if (x->n_consumers || !strcmp(x->op, "Const") || !strcmp(x->op, "Placeholder") || !strcmp(x->op, "NoOp"))
				continue;
			if (!(c->out_names[n++] = strdup(x->name))) {
				rc = tfo_nomem(c);
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
		rc = tfo_fail(c, NN_ERR_FORMAT, "the graph has no outputs (none given, and no node is left unread)");
	for (int i = 0; i < n && rc == 0; i++) {
		const char *s = tensors[i];
		size_t len;
		int port;
		if (split_tensor_name(s, &len, &port) < 0)
			rc = tfo_fail(c, NN_ERR_FORMAT, "output '%.160s' has a malformed output index", s);
		else if ((c->out_node[i] = nn_name_map_find(&c->node_map, c->node_names, s, len)) < 0)
			rc = tfo_fail(c, NN_ERR_FORMAT, "output '%.160s' names no node in the graph", s);
		c->out_port[i] = port;
	}
	free(tensors);
	return rc;
}

/*
 * The attribute of x that names a data type the mapping cannot hold ("T" or
 * "dtype"), or NULL. Const, Dequantize and Cast have types of their own,
 * which their mappings check.
 */
static const char *bad_dtype(const tfo_node *x, nn_tf_dtype *dt)
{
	static const char *const names[] = { "T", "dtype" };
	if (!strcmp(x->op, "Const") || !strcmp(x->op, "Dequantize") || !strcmp(x->op, "Cast"))
		return NULL;
	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
		const nn_tf_attr *a = nn_tf_node_attr(x->src, names[k]);
		nn_dtype ir;
		if (a && a->kind == NN_TF_ATTR_TYPE && tfo_ir_dtype(a->type, &ir) < 0) {
			*dt = a->type;
			return names[k];
		}
	}
	return NULL;
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
static int sort_nodes(tfo *c)
{
	int n = c->n_nodes;
	int *stack = malloc(((size_t)n + 1) * sizeof *stack), sp = 0;
	c->order = malloc(((size_t)n + 1) * sizeof *c->order);
	if (!stack || !c->order) {
		free(stack);
		return tfo_nomem(c);
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
		const tfo_node *x = &c->nodes[stack[--sp]];
		for (int k = 0; k < x->n_in; k++)
			if (!c->nodes[x->in_node[k]].needed) {
				c->nodes[x->in_node[k]].needed = 1;
				stack[sp++] = x->in_node[k];
			}
	}
	for (int i = 0; i < c->n_outputs; i++)
		c->nodes[c->out_node[i]].is_output = 1;
	for (int i = 0; i < n; i++) {
		const tfo_node *x = &c->nodes[i];
		for (int k = 0; x->needed && k < x->n_in; k++) {
			tfo_node *src = &c->nodes[x->in_node[k]];
			src->n_readers++;
			src->reader = i;
			src->reader_slot = k;
			src->reader_port = x->in_port[k];
		}
	}

	/* Control flow first: it explains the cycles and the ops that follow it. */
	for (int i = 0; i < n; i++)
		if (c->nodes[i].needed && is_control_flow(c->nodes[i].op)) {
			free(stack);
			return tfo_fail(c, NN_ERR_UNSUPPORTED,
				    "the graph has TensorFlow control flow (loops or conditionals), which vigil cannot run: "
				    "node '%.160s' (op %.60s) is the first",
				    c->nodes[i].name, c->nodes[i].op);
		}

	/*
	 * Ops and data types we lack, in one message: the first is named with its
	 * node, each other op or type listed once with its first node.
	 */
	char others[512] = "";
	int first = -1, n_nodes_bad = 0, listed[32], n_listed = 0;
	nn_tf_dtype first_dt = NN_TF_INVALID;
	const char *first_attr = NULL;
	for (int i = 0; i < n; i++) {
		const char *attr = NULL;
		nn_tf_dtype dt = NN_TF_INVALID;
		if (!c->nodes[i].needed || (find_op(c->nodes[i].op) && !(attr = bad_dtype(&c->nodes[i], &dt))))
			continue;
		n_nodes_bad++;
		if (first < 0) {
			first = i;
			first_dt = dt;
			first_attr = attr;
			continue;
		}
		/* The same op (or dtype) as one already named is counted, not listed again. */
		int seen = 0;
		for (int j = -1; j < n_listed && !seen; j++) {
			const tfo_node *y = &c->nodes[j < 0 ? first : listed[j]];
			nn_tf_dtype ydt = NN_TF_INVALID;
			const char *yattr = find_op(y->op) ? bad_dtype(y, &ydt) : NULL;
			seen = attr ? yattr && ydt == dt : !yattr && !strcmp(y->op, c->nodes[i].op);
		}
		if (seen || n_listed == (int)(sizeof listed / sizeof listed[0]))
			continue;
		size_t len = strlen(others);
		char ds[32];
		if (len + 8 < sizeof others && attr)
			snprintf(others + len, sizeof others - len, "%s%s (node '%.80s', attribute '%s')", n_listed ? ", " : "",
				 tfo_dt_spelling(dt, ds, sizeof ds), c->nodes[i].name, attr);
		else if (len + 8 < sizeof others)
			snprintf(others + len, sizeof others - len, "%s%.40s (node '%.80s')", n_listed ? ", " : "", c->nodes[i].op,
				 c->nodes[i].name);
		listed[n_listed++] = i;
	}
	if (first >= 0) {
		free(stack);
		char what[400], ds[32];
		const tfo_node *x = &c->nodes[first];
		if (first_attr)
			snprintf(what, sizeof what, "node '%.160s' (op %.60s): data type %s (attribute '%s') is not supported",
				 x->name, x->op, tfo_dt_spelling(first_dt, ds, sizeof ds), first_attr);
		else
			snprintf(what, sizeof what, "node '%.160s' (op %.60s) is not supported", x->name, x->op);
		if (n_listed)
			return tfo_fail(c, NN_ERR_UNSUPPORTED, "%s (nor are: %s; %d nodes in all)", what, others, n_nodes_bad);
		if (n_nodes_bad > 1)
			return tfo_fail(c, NN_ERR_UNSUPPORTED, "%s (nor are %d more such nodes)", what, n_nodes_bad - 1);
		return tfo_fail(c, NN_ERR_UNSUPPORTED, "%s", what);
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
		return tfo_nomem(c);
	}
	for (int i = 0; i < n; i++)
		head[i] = -1;
	int e = 0;
	for (int i = 0; i < n; i++) {
		tfo_node *x = &c->nodes[i];
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
		const tfo_node *x = &c->nodes[at];
		for (int k = 0; k < x->n_in; k++)
			if (c->nodes[x->in_node[k]].pending > 0) {
				at = x->in_node[k];
				break;
			}
	}
	const tfo_node *x = &c->nodes[at];
	const char *via = "";
	for (int k = 0; k < x->n_in; k++)
		if (c->nodes[x->in_node[k]].pending > 0) {
			via = c->nodes[x->in_node[k]].name;
			break;
		}
	return tfo_fail(c, NN_ERR_FORMAT, "node '%.160s' (op %.60s) is part of a cycle (through its input '%.160s'): the graph "
		    "must be acyclic",
		    x->name, x->op, via);
}

/* ---- finishing the graph ---- */

static int set_io(tfo *c)
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
		return tfo_nomem(c);
	}
	/* The inputs the options name come first, in their order; the other Placeholders follow by name. */
	for (int i = 0; i < c->o->n_inputs; i++) {
		const char *s = c->o->inputs[i].tensor;
		size_t len;
		int port, j = -1;
		if (s && split_tensor_name(s, &len, &port) == 0 && port == 0)
			j = nn_name_map_find(&c->node_map, c->node_names, s, len);
		if (j < 0 || strcmp(c->nodes[j].op, "Placeholder") != 0) {
			free(names);
			return tfo_fail(c, NN_ERR_FORMAT, "input '%.160s' names no Placeholder in the graph", s ? s : "");
		}
		int dup = 0;
		for (int k = 0; k < g->n_inputs; k++)
			dup |= g->inputs[k] == c->nodes[j].out[0];
		if (!dup)
			g->inputs[g->n_inputs++] = c->nodes[j].out[0];
	}
	int k = 0;
	for (int i = 0; i < c->n_order; i++) {
		const tfo_node *x = &c->nodes[c->order[i]];
		int listed = 0;
		for (int m = 0; m < g->n_inputs; m++)
			listed |= g->inputs[m] == x->out[0];
		if (!strcmp(x->op, "Placeholder") && !listed)
			names[k++] = x->name;
	}
	qsort(names, (size_t)k, sizeof *names, by_name);
	for (int i = 0; i < k; i++) {
		int j = nn_name_map_find(&c->node_map, c->node_names, names[i], strlen(names[i]));
		g->inputs[g->n_inputs++] = c->nodes[j].out[0];
	}
	free(names);

	for (int i = 0; i < c->n_outputs; i++) {
		tfo_node *x = &c->nodes[c->out_node[i]];
		int port = c->out_port[i];
		if (port >= x->n_out)
			return tfo_fail(c, NN_ERR_FORMAT, "output '%.160s' reads output %d of node '%.160s', which has %d",
				    c->out_names[i], port, x->name, x->n_out);
		int t = x->out[port];
		char *want = strdup(c->out_names[i]);
		if (!want)
			return tfo_nomem(c);
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
				int y = tfo_add_like(c, x, want, T(c, t)->dtype, t);
				if (y < 0 || tfo_add_node1(c, x, NN_OP_RESHAPE, 1, &t, y, NULL) < 0) {
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
static int compact(tfo *c)
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
		return tfo_nomem(c);
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

static int build(tfo *c, nn_graph **out)
{
	int rc;
	if ((rc = parse_nodes(c)) < 0 || (rc = find_outputs(c)) < 0 || (rc = sort_nodes(c)) < 0)
		return rc;
	if (!(c->g = nn_graph_create(c->src)))
		return tfo_nomem(c);
	for (int i = 0; i < c->n_order; i++) {
		tfo_node *x = &c->nodes[c->order[i]];
		const struct tfo_op *op = find_op(x->op);
		if ((rc = op->fn(c, x, op->arg)) < 0)
			return rc;
		for (int k = 0; k < x->n_out; k++)
			if (x->out[k] < 0)
				return tfo_node_fail(c, x, NN_ERR_FORMAT, "output %d was not produced", k);
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
	tfo c = { .src = o->source ? o->source : "(memory)", .err = err, .errlen = errlen, .tg = g, .o = o };
	if (!out || !g || (o->n_inputs > 0 && !o->inputs) || (o->n_outputs > 0 && !o->outputs)) {
		if (out)
			*out = NULL;
		return tfo_fail(&c, NN_ERR_ARG, "nn_tf_build: no output pointer, graph or endpoints");
	}
	*out = NULL;
	int rc = build(&c, out);
	for (int i = 0; i < c.n_nodes; i++)
		free(c.nodes[i].out);
	free(c.nodes);
	free(c.node_names);
	nn_name_map_free(&c.node_map);
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
