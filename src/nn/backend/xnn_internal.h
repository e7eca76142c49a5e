/*
 * What the XNNPACK builders share (backend/xnn.c: the node and operator
 * bookkeeping, convolutions, pools, binary ops, conversions, layout ops;
 * backend/xnn_pointwise.c: activations and other element-wise ops): a
 * node's state, the build context and small helpers over tensors.
 */
#ifndef NN_XNN_INTERNAL_H
#define NN_XNN_INTERNAL_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xnnpack.h>

#include "nn/backend/xnn.h"

/* A node's XNNPACK operators, run in order, and the buffers they read at run time. */
typedef struct xnn_state {
	int n_ops, cap_ops;
	xnn_operator_t *ops;
	int n_buffers, cap_buffers;
	void **buffers;
	float *silu;              /* a fused SILU the native kernel applies after the operators, or NULL */
	size_t silu_count;
} xnn_state;

/* What the builders below share while they create one node's operators. */
typedef struct ctx {
	nn_graph *g;
	nn_node *n;
	pthreadpool_t pool;
	xnn_state *st;
	char *why;
	size_t whylen;
	char *err;
	size_t errlen;
} ctx;

static inline const char *status_name(enum xnn_status s)
{
	switch (s) {
	case xnn_status_success: return "success";
	case xnn_status_uninitialized: return "XNNPACK not initialised";
	case xnn_status_invalid_parameter: return "invalid parameter";
	case xnn_status_invalid_state: return "invalid state";
	case xnn_status_unsupported_parameter: return "unsupported parameter";
	case xnn_status_unsupported_hardware: return "unsupported hardware";
	case xnn_status_out_of_memory: return "out of memory";
	default: return "unknown status";
	}
}

/* Records why XNNPACK cannot take the node; the executor then tries the reference kernel. */
static inline int unsupported(ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->why, c->whylen, fmt, ap);
	va_end(ap);
	return 0;
}

static inline int failed(ctx *c, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
	return code;
}

/*
 * Maps the status of an XNNPACK create or setup call: 1 on success; 0 when
 * XNNPACK declines these parameters (for instance a ratio of quantization
 * scales outside what its fixed-point kernels handle), so that the node
 * falls back to the reference kernel; an error otherwise.
 */
static inline int check(ctx *c, enum xnn_status s, const char *call)
{
	if (s == xnn_status_success)
		return 1;
	if (s == xnn_status_unsupported_parameter || s == xnn_status_unsupported_hardware)
		return unsupported(c, "XNNPACK declined the operator (%s: %s)", call, status_name(s));
	if (s == xnn_status_out_of_memory)
		return failed(c, NN_ERR_NOMEM, "XNNPACK ran out of memory (%s)", call);
	return failed(c, NN_ERR_BACKEND, "XNNPACK rejected the operator: %s (%s)", status_name(s), call);
}

/* A slot for the next operator; the state deletes whatever XNNPACK leaves in it. */
static inline xnn_operator_t *next_op(ctx *c)
{
	xnn_state *st = c->st;
	if (st->n_ops == st->cap_ops) {
		int cap = st->cap_ops ? 2 * st->cap_ops : 2;
		xnn_operator_t *ops = realloc(st->ops, (size_t)cap * sizeof *ops);
		if (!ops)
			return NULL;
		st->ops = ops;
		st->cap_ops = cap;
	}
	st->ops[st->n_ops] = NULL;
	return &st->ops[st->n_ops++];
}

static inline void *keep_buffer(ctx *c, void *p)
{
	xnn_state *st = c->st;
	if (!p)
		return NULL;
	if (st->n_buffers == st->cap_buffers) {
		int cap = st->cap_buffers ? 2 * st->cap_buffers : 2;
		void **b = realloc(st->buffers, (size_t)cap * sizeof *b);
		if (!b) {
			free(p);
			return NULL;
		}
		st->buffers = b;
		st->cap_buffers = cap;
	}
	st->buffers[st->n_buffers++] = p;
	return p;
}

static inline nn_tensor *input(ctx *c, int k)
{
	if (k >= c->n->n_inputs || c->n->inputs[k] < 0)
		return NULL;
	return &c->g->tensors[c->n->inputs[k]];
}

static inline nn_tensor *output(ctx *c, int k)
{
	if (k >= c->n->n_outputs || c->n->outputs[k] < 0)
		return NULL;
	return &c->g->tensors[c->n->outputs[k]];
}

/*
 * The pointer XNNPACK reads a run-time input from. Arena tensors have the
 * XNN_EXTRA_BYTES of slack XNNPACK may read past their end; constants point
 * into the model file or a tight allocation, so they get a padded copy.
 * Weights need none of this: XNNPACK packs them at create time.
 */
static inline const void *input_data(ctx *c, const nn_tensor *t)
{
	if (!t->is_const)
		return t->data;
	size_t bytes = nn_tensor_bytes(t);
	void *copy = keep_buffer(c, calloc(1, bytes + XNN_EXTRA_BYTES));
	if (copy && bytes)
		memcpy(copy, t->data, bytes);
	return copy;
}

static inline const char *shape_str(const nn_tensor *t, char *buf, size_t len)
{
	size_t used = (size_t)snprintf(buf, len, "[");
	for (int i = 0; i < t->rank && i < NN_MAX_RANK && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, i ? ",%d" : "%d", t->shape[i]);
	if (used < len)
		snprintf(buf + used, len - used, "]");
	return buf;
}

/* How XNNPACK sees a tensor's element type. */
typedef enum kind {
	K_F32,   /* float32 */
	K_F16,   /* float16 */
	K_QU8,   /* uint8, one valid scale and zero point */
	K_QS8,   /* int8, one valid scale and zero point */
	K_OTHER, /* anything else: per-channel, unquantized integers, int16, ... */
} kind;

static inline int scale_ok(float s)
{
	return isfinite(s) && s > 0;
}

static inline kind kind_of(const nn_tensor *t)
{
	if (t->dtype == NN_F32)
		return K_F32;
	if (t->dtype == NN_F16)
		return K_F16;
	if ((t->dtype != NN_U8 && t->dtype != NN_I8) || t->quant.count != 1 || !scale_ok(t->quant.scale[0]))
		return K_OTHER;
	int32_t zp = t->quant.zero_point[0];
	if (t->dtype == NN_U8)
		return zp >= 0 && zp <= 255 ? K_QU8 : K_OTHER;
	return zp >= -128 && zp <= 127 ? K_QS8 : K_OTHER;
}

static inline const char *kind_name(const nn_tensor *t)
{
	switch (kind_of(t)) {
	case K_F32: return "float32";
	case K_F16: return "float16";
	case K_QU8: return "quantized uint8";
	case K_QS8: return "quantized int8";
	default: break;
	}
	if (t->quant.count > 1)
		return t->dtype == NN_I8 ? "per-channel int8" : "per-channel quantized";
	return nn_dtype_name(t->dtype);
}

static inline float qscale(const nn_tensor *t)
{
	return t->quant.scale[0];
}

static inline int32_t qzero(const nn_tensor *t)
{
	return t->quant.zero_point[0];
}

/* Whether two quantized tensors share scale and zero point, as ops that do not requantize need. */
static inline int same_quant(const nn_tensor *a, const nn_tensor *b)
{
	return kind_of(a) == kind_of(b) && qscale(a) == qscale(b) && qzero(a) == qzero(b);
}

static inline int act_valid(nn_activation act)
{
	return act == NN_ACT_NONE || act == NN_ACT_RELU || act == NN_ACT_RELU6 || act == NN_ACT_RELU_N1_TO_1;
}

static inline void f32_range(nn_activation act, float *lo, float *hi)
{
	*lo = -INFINITY;
	*hi = INFINITY;
	if (act == NN_ACT_RELU) {
		*lo = 0;
	} else if (act == NN_ACT_RELU6) {
		*lo = 0;
		*hi = 6;
	} else if (act == NN_ACT_RELU_N1_TO_1) {
		*lo = -1;
		*hi = 1;
	}
}

/* Quantizes a real bound as TFLite does (round half away from zero), clamped to the type's range. */
static inline int32_t quantize_bound(double v, float scale, int32_t zp, int32_t qmin, int32_t qmax)
{
	double q = (double)zp + round(v / (double)scale);
	if (q < qmin)
		return qmin;
	if (q > qmax)
		return qmax;
	return (int32_t)q;
}

/*
 * The output range of a quantized op with a fused activation, in the output's
 * quantized domain. Returns 0 when it collapses to one value, which XNNPACK
 * refuses (output_min must be below output_max).
 */
static inline int q_range(const nn_tensor *y, nn_activation act, int32_t *lo, int32_t *hi)
{
	int32_t qmin = y->dtype == NN_U8 ? 0 : -128, qmax = y->dtype == NN_U8 ? 255 : 127;
	float flo, fhi;
	f32_range(act, &flo, &fhi);
	*lo = isinf(flo) ? qmin : quantize_bound(flo, qscale(y), qzero(y), qmin, qmax);
	*hi = isinf(fhi) ? qmax : quantize_bound(fhi, qscale(y), qzero(y), qmin, qmax);
	return *lo < *hi;
}

/*
 * Elementwise ops over a contiguous tensor: XNNPACK's "nc" operators see it
 * as batch rows of channels (the last dimension), and treat a contiguous
 * tensor as one long vector anyway.
 */
typedef struct unary {
	const void *in;
	void *out;
	size_t batch, channels;
	xnn_operator_t *op;
} unary;

static inline int unary_begin(ctx *c, unary *u, int channels_from_last_dim)
{
	nn_tensor *x = input(c, 0), *y = output(c, 0);
	if (!x || !y)
		return unsupported(c, "input or output missing");
	int64_t e = nn_tensor_elements(x);
	if (e <= 0 || nn_tensor_elements(y) != e)
		return unsupported(c, "input of %lld elements, output of %lld", (long long)e,
				   (long long)nn_tensor_elements(y));
	size_t ch = channels_from_last_dim && x->rank > 0 ? (size_t)x->shape[x->rank - 1] : (size_t)e;
	u->channels = ch;
	u->batch = (size_t)e / ch;
	u->in = input_data(c, x);
	u->out = y->data;
	u->op = next_op(c);
	if (!u->in || !u->op)
		return failed(c, NN_ERR_NOMEM, "out of memory");
	return 1;
}

/*
 * XNNPACK's float32 elementwise operators without parameters share one
 * signature; F32_NC(name) names one such operator's pair for run_f32_nc.
 */
typedef enum xnn_status (*f32_nc_create)(size_t, size_t, size_t, uint32_t, xnn_operator_t *);
typedef enum xnn_status (*f32_nc_setup)(xnn_operator_t, size_t, const float *, float *, pthreadpool_t);
#define F32_NC(name) xnn_create_##name##_nc_f32, "xnn_create_" #name "_nc_f32", xnn_setup_##name##_nc_f32, \
		     "xnn_setup_" #name "_nc_f32"

/* Creates and sets up one such operator over u's rows. */
static inline int run_f32_nc(ctx *c, const unary *u, f32_nc_create create, const char *create_name, f32_nc_setup setup,
		      const char *setup_name)
{
	int rc = check(c, create(u->channels, u->channels, u->channels, 0, u->op), create_name);
	if (rc <= 0)
		return rc;
	return check(c, setup(*u->op, u->batch, u->in, u->out, c->pool), setup_name);
}

/* The element-wise builders of xnn_pointwise.c: 1 built, 0 unsupported (why set), negative on failure. */
int nn_xnn_build_clamp(ctx *c);
int nn_xnn_build_logistic_tanh(ctx *c);
int nn_xnn_build_hard_swish(ctx *c);
int nn_xnn_build_leaky_relu(ctx *c);
int nn_xnn_build_prelu(ctx *c);
int nn_xnn_build_softmax(ctx *c);
int nn_xnn_build_clamp_bounds(ctx *c);
int nn_xnn_build_f32_unary(ctx *c);
int nn_xnn_build_silu(ctx *c);
int nn_xnn_build_sqrt(ctx *c);

#endif
