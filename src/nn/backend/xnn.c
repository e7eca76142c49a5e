#include "nn/backend/xnn.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xnnpack.h>

#include "nn/backend/native.h"

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

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static enum xnn_status init_status = xnn_status_uninitialized;

static void init_xnnpack(void)
{
	init_status = xnn_initialize(NULL);
}

static const char *status_name(enum xnn_status s)
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

int nn_xnn_init(char *err, size_t errlen)
{
	pthread_once(&init_once, init_xnnpack);
	if (init_status != xnn_status_success) {
		snprintf(err, errlen, "cannot initialise XNNPACK: %s", status_name(init_status));
		return NN_ERR_BACKEND;
	}
	return 0;
}

/* Records why XNNPACK cannot take the node; the executor then tries the reference kernel. */
static int unsupported(ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->why, c->whylen, fmt, ap);
	va_end(ap);
	return 0;
}

static int failed(ctx *c, int code, const char *fmt, ...)
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
static int check(ctx *c, enum xnn_status s, const char *call)
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
static xnn_operator_t *next_op(ctx *c)
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

static void *keep_buffer(ctx *c, void *p)
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

static nn_tensor *input(ctx *c, int k)
{
	if (k >= c->n->n_inputs || c->n->inputs[k] < 0)
		return NULL;
	return &c->g->tensors[c->n->inputs[k]];
}

static nn_tensor *output(ctx *c, int k)
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
static const void *input_data(ctx *c, const nn_tensor *t)
{
	if (!t->is_const)
		return t->data;
	size_t bytes = nn_tensor_bytes(t);
	void *copy = keep_buffer(c, calloc(1, bytes + XNN_EXTRA_BYTES));
	if (copy && bytes)
		memcpy(copy, t->data, bytes);
	return copy;
}

static const char *shape_str(const nn_tensor *t, char *buf, size_t len)
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

static int scale_ok(float s)
{
	return isfinite(s) && s > 0;
}

static kind kind_of(const nn_tensor *t)
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

static const char *kind_name(const nn_tensor *t)
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

static float qscale(const nn_tensor *t)
{
	return t->quant.scale[0];
}

static int32_t qzero(const nn_tensor *t)
{
	return t->quant.zero_point[0];
}

/* Whether two quantized tensors share scale and zero point, as ops that do not requantize need. */
static int same_quant(const nn_tensor *a, const nn_tensor *b)
{
	return kind_of(a) == kind_of(b) && qscale(a) == qscale(b) && qzero(a) == qzero(b);
}

static int act_valid(nn_activation act)
{
	return act == NN_ACT_NONE || act == NN_ACT_RELU || act == NN_ACT_RELU6 || act == NN_ACT_RELU_N1_TO_1;
}

static void f32_range(nn_activation act, float *lo, float *hi)
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
static int32_t quantize_bound(double v, float scale, int32_t zp, int32_t qmin, int32_t qmax)
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
static int q_range(const nn_tensor *y, nn_activation act, int32_t *lo, int32_t *hi)
{
	int32_t qmin = y->dtype == NN_U8 ? 0 : -128, qmax = y->dtype == NN_U8 ? 255 : 127;
	float flo, fhi;
	f32_range(act, &flo, &fhi);
	*lo = isinf(flo) ? qmin : quantize_bound(flo, qscale(y), qzero(y), qmin, qmax);
	*hi = isinf(fhi) ? qmax : quantize_bound(fhi, qscale(y), qzero(y), qmin, qmax);
	return *lo < *hi;
}

/*
 * One spatial axis of a convolution or pool: the padding before and after
 * and the output size it gives. Returns 0 for parameters that make no sense
 * (non-positive kernel, stride or dilation, negative padding, a window that
 * does not fit).
 */
static int window_axis(int in, int k, int stride, int dilation, nn_padding padding, int exp_before, int exp_after,
		       int *before, int *after, int *out)
{
	if (in <= 0 || k <= 0 || stride <= 0 || dilation <= 0 || k > 65536 || dilation > 65536)
		return 0;
	int64_t eff = (int64_t)(k - 1) * dilation + 1;
	int64_t o;
	*before = *after = 0;
	switch (padding) {
	case NN_PADDING_VALID:
		if (eff > in)
			return 0;
		o = (in - eff) / stride + 1;
		break;
	case NN_PADDING_SAME: {
		o = ((int64_t)in + stride - 1) / stride;
		int64_t total = (o - 1) * stride + eff - in;
		if (total < 0)
			total = 0;
		*before = (int)(total / 2);
		*after = (int)(total - total / 2);
		break;
	}
	case NN_PADDING_EXPLICIT:
		if (exp_before < 0 || exp_after < 0 || exp_before > 65536 || exp_after > 65536)
			return 0;
		if ((int64_t)in + exp_before + exp_after < eff)
			return 0;
		*before = exp_before;
		*after = exp_after;
		o = ((int64_t)in + exp_before + exp_after - eff) / stride + 1;
		break;
	default:
		return 0;
	}
	if (o <= 0 || o > INT32_MAX)
		return 0;
	*out = (int)o;
	return 1;
}

static int bias_ok(const nn_tensor *b, nn_dtype dtype, int channels)
{
	return !b || (b->is_const && b->dtype == dtype && nn_tensor_elements(b) == channels);
}

/* Per-channel symmetric int8 weights along axis, one scale per output channel, as XNNPACK's qc8 kernels take. */
static int per_channel_s8(const nn_tensor *w, int axis, int channels)
{
	if (w->dtype != NN_I8 || w->quant.count != channels || w->quant.axis != axis)
		return 0;
	for (int i = 0; i < channels; i++)
		if (!scale_ok(w->quant.scale[i]) || w->quant.zero_point[i] != 0)
			return 0;
	return 1;
}

/* Per-tensor symmetric int8 weights, as XNNPACK's qs8 kernels take. */
static int per_tensor_s8(const nn_tensor *w)
{
	return kind_of(w) == K_QS8 && qzero(w) == 0;
}

/* The NHWC shape a node's output must have; any other is a malformed model, reported as such. */
static int expect_nhwc(ctx *c, const nn_tensor *y, const nn_tensor *x, int n, int h, int w, int ch)
{
	if (y->rank == 4 && y->shape[0] == n && y->shape[1] == h && y->shape[2] == w && y->shape[3] == ch)
		return 1;
	char sy[96], sx[96];
	return failed(c, NN_ERR_SHAPE,
		      "output shape %s does not match [%d,%d,%d,%d], computed from the input %s and the node's "
		      "parameters",
		      shape_str(y, sy, sizeof sy), n, h, w, ch, shape_str(x, sx, sizeof sx));
}

/*
 * A fused SILU after a float convolution, for when the native kernels do not
 * take the node (no AVX-512, or a shape they leave to XNNPACK): the native
 * SILU pass over the output when the CPU has AVX-512 (one pass); otherwise
 * sigmoid of the output into a buffer of the node's own, then the output
 * multiplied by it in place, two operators after the convolution's.
 */
static int conv_silu(ctx *c, nn_tensor *y)
{
	size_t count = (size_t)nn_tensor_elements(y);
	if (nn_native_available()) {
		c->st->silu = y->data;
		c->st->silu_count = count;
		return 1;
	}
	float *sig = keep_buffer(c, calloc(1, count * sizeof(float) + XNN_EXTRA_BYTES));
	xnn_operator_t *sop = next_op(c);
	if (!sig || !sop)
		return failed(c, NN_ERR_NOMEM, "out of memory");
	int rc = check(c, xnn_create_sigmoid_nc_f32(count, count, count, 0, sop), "xnn_create_sigmoid_nc_f32");
	if (rc <= 0)
		return rc;
	rc = check(c, xnn_setup_sigmoid_nc_f32(*sop, 1, y->data, sig, c->pool), "xnn_setup_sigmoid_nc_f32");
	if (rc <= 0)
		return rc;
	xnn_operator_t *mul = next_op(c);
	if (!mul)
		return failed(c, NN_ERR_NOMEM, "out of memory");
	rc = check(c, xnn_create_multiply_nd_f32(-INFINITY, INFINITY, 0, mul), "xnn_create_multiply_nd_f32");
	if (rc <= 0)
		return rc;
	size_t shape[1] = { count };
	return check(c, xnn_setup_multiply_nd_f32(*mul, 1, shape, 1, shape, y->data, sig, y->data, c->pool),
		     "xnn_setup_multiply_nd_f32");
}

static int build_conv(ctx *c)
{
	nn_node *n = c->n;
	const nn_conv_params *p = &n->p.conv;
	int depthwise = n->op == NN_OP_DEPTHWISE_CONV2D;
	nn_tensor *x = input(c, 0), *w = input(c, 1), *b = input(c, 2), *y = output(c, 0);
	if (!x || !w || !y)
		return unsupported(c, "input, filter or output missing");
	if (x->rank != 4 || w->rank != 4 || y->rank != 4)
		return unsupported(c, "expected rank-4 input, filter and output, got ranks %d, %d, %d", x->rank,
				   w->rank, y->rank);
	if (!w->is_const || (b && !b->is_const))
		return unsupported(c, "filter or bias is not constant");
	if (!act_valid(p->act) && p->act != NN_ACT_SILU)
		return unsupported(c, "unknown fused activation %d", (int)p->act);
	int batch = x->shape[0], ih = x->shape[1], iw = x->shape[2], ic = x->shape[3];
	int kh = w->shape[1], kw = w->shape[2];
	int oc = depthwise ? w->shape[3] : w->shape[0];
	uint32_t groups;
	size_t group_ic, group_oc;
	if (ic <= 0 || oc <= 0 || batch <= 0)
		return unsupported(c, "empty input or filter");
	if (depthwise) {
		if (w->shape[0] != 1 || oc % ic)
			return unsupported(c, "depthwise filter shape %d,%d,%d,%d does not fit %d input channels",
					   w->shape[0], kh, kw, oc, ic);
		groups = (uint32_t)ic;
		group_ic = 1;
		group_oc = (size_t)(oc / ic);
	} else {
		/* A filter with fewer input channels than the input is a grouped convolution. */
		int fic = w->shape[3];
		if (fic <= 0 || ic % fic || oc % (ic / fic))
			return unsupported(c, "filter with %d input channels does not fit %d input channels", fic, ic);
		groups = (uint32_t)(ic / fic);
		group_ic = (size_t)fic;
		group_oc = (size_t)(oc / (int)groups);
	}
	int pt, pb, pl, pr, oh, ow;
	if (!window_axis(ih, kh, p->stride_h, p->dilation_h, p->padding, p->pad_top, p->pad_bottom, &pt, &pb, &oh) ||
	    !window_axis(iw, kw, p->stride_w, p->dilation_w, p->padding, p->pad_left, p->pad_right, &pl, &pr, &ow))
		return unsupported(c, "invalid stride, dilation or padding for a %dx%d input and %dx%d filter", ih, iw,
				   kh, kw);
	int rc = expect_nhwc(c, y, x, batch, oh, ow, oc);
	if (rc <= 0)
		return rc;

	uint32_t flags = depthwise ? XNN_FLAG_DEPTHWISE_CONVOLUTION : 0;
	const void *in = input_data(c, x);
	xnn_operator_t *op = next_op(c);
	if (!in || !op)
		return failed(c, NN_ERR_NOMEM, "out of memory");
	kind kx = kind_of(x), kwt = kind_of(w), ky = kind_of(y);
	if (kx == K_F32 && kwt == K_F32 && ky == K_F32 && bias_ok(b, NN_F32, oc)) {
		float lo, hi;
		f32_range(p->act, &lo, &hi);
		rc = check(c,
			   xnn_create_convolution2d_nhwc_f32((uint32_t)pt, (uint32_t)pr, (uint32_t)pb, (uint32_t)pl,
							     (uint32_t)kh, (uint32_t)kw, (uint32_t)p->stride_h,
							     (uint32_t)p->stride_w, (uint32_t)p->dilation_h,
							     (uint32_t)p->dilation_w, groups, group_ic, group_oc,
							     (size_t)ic, (size_t)oc, w->data, b ? b->data : NULL, lo,
							     hi, flags, op),
			   "xnn_create_convolution2d_nhwc_f32");
		if (rc <= 0)
			return rc;
		rc = check(c,
			   xnn_setup_convolution2d_nhwc_f32(*op, (size_t)batch, (size_t)ih, (size_t)iw, in, y->data,
							    c->pool),
			   "xnn_setup_convolution2d_nhwc_f32");
		return rc <= 0 || p->act != NN_ACT_SILU ? rc : conv_silu(c, y);
	}
	if (p->act == NN_ACT_SILU)
		return unsupported(c, "fused SILU on a quantized convolution");
	int32_t lo, hi;
	if ((kx == K_QU8 || kx == K_QS8) && ky == kx && !q_range(y, p->act, &lo, &hi))
		return unsupported(c, "the fused activation leaves a single output value");
	if (kx == K_QU8 && kwt == K_QU8 && ky == K_QU8 && bias_ok(b, NN_I32, oc)) {
		rc = check(c,
			   xnn_create_convolution2d_nhwc_qu8(
				   (uint32_t)pt, (uint32_t)pr, (uint32_t)pb, (uint32_t)pl, (uint32_t)kh, (uint32_t)kw,
				   (uint32_t)p->stride_h, (uint32_t)p->stride_w, (uint32_t)p->dilation_h,
				   (uint32_t)p->dilation_w, groups, group_ic, group_oc, (size_t)ic, (size_t)oc,
				   (uint8_t)qzero(x), qscale(x), (uint8_t)qzero(w), qscale(w), w->data,
				   b ? b->data : NULL, (uint8_t)qzero(y), qscale(y), (uint8_t)lo, (uint8_t)hi, flags, op),
			   "xnn_create_convolution2d_nhwc_qu8");
		if (rc <= 0)
			return rc;
		return check(c,
			     xnn_setup_convolution2d_nhwc_qu8(*op, (size_t)batch, (size_t)ih, (size_t)iw, in, y->data,
							      c->pool),
			     "xnn_setup_convolution2d_nhwc_qu8");
	}
	if (kx == K_QS8 && ky == K_QS8 && per_tensor_s8(w) && bias_ok(b, NN_I32, oc)) {
		rc = check(c,
			   xnn_create_convolution2d_nhwc_qs8(
				   (uint32_t)pt, (uint32_t)pr, (uint32_t)pb, (uint32_t)pl, (uint32_t)kh, (uint32_t)kw,
				   (uint32_t)p->stride_h, (uint32_t)p->stride_w, (uint32_t)p->dilation_h,
				   (uint32_t)p->dilation_w, groups, group_ic, group_oc, (size_t)ic, (size_t)oc,
				   (int8_t)qzero(x), qscale(x), qscale(w), w->data, b ? b->data : NULL,
				   (int8_t)qzero(y), qscale(y), (int8_t)lo, (int8_t)hi, flags, op),
			   "xnn_create_convolution2d_nhwc_qs8");
		if (rc <= 0)
			return rc;
		return check(c,
			     xnn_setup_convolution2d_nhwc_qs8(*op, (size_t)batch, (size_t)ih, (size_t)iw, in, y->data,
							      c->pool),
			     "xnn_setup_convolution2d_nhwc_qs8");
	}
	if (kx == K_QS8 && ky == K_QS8 && per_channel_s8(w, depthwise ? 3 : 0, oc) && bias_ok(b, NN_I32, oc)) {
		rc = check(c,
			   xnn_create_convolution2d_nhwc_qc8(
				   (uint32_t)pt, (uint32_t)pr, (uint32_t)pb, (uint32_t)pl, (uint32_t)kh, (uint32_t)kw,
				   (uint32_t)p->stride_h, (uint32_t)p->stride_w, (uint32_t)p->dilation_h,
				   (uint32_t)p->dilation_w, groups, group_ic, group_oc, (size_t)ic, (size_t)oc,
				   (int8_t)qzero(x), qscale(x), w->quant.scale, w->data, b ? b->data : NULL,
				   (int8_t)qzero(y), qscale(y), (int8_t)lo, (int8_t)hi, flags, op),
			   "xnn_create_convolution2d_nhwc_qc8");
		if (rc <= 0)
			return rc;
		return check(c,
			     xnn_setup_convolution2d_nhwc_qc8(*op, (size_t)batch, (size_t)ih, (size_t)iw, in, y->data,
							      c->pool),
			     "xnn_setup_convolution2d_nhwc_qc8");
	}
	return unsupported(c,
			   "%s input, %s filter, %s output: XNNPACK takes float32, quantized uint8, or int8 with a "
			   "symmetric per-tensor or per-channel filter and an int32 bias",
			   kind_name(x), kind_name(w), kind_name(y));
}

/*
 * One spatial axis of a TRANSPOSE_CONV2D. XNNPACK's deconvolution computes
 * the full stride * (in - 1) + k outputs, crops `before` and `after` of them
 * and may extend the result by an adjustment smaller than the stride. TFLite
 * derives SAME padding from the output size, treating the output as the
 * input of the forward convolution; the odd pixel goes to the bottom/right.
 */
static int deconv_axis(int in, int k, int stride, int out, nn_padding padding, int exp_before, int *before,
		       int *after, int *adj)
{
	if (in <= 0 || k <= 0 || stride <= 0 || out <= 0 || k > 65536 || stride > 65536)
		return 0;
	int64_t pad = 0;
	if (padding == NN_PADDING_SAME) {
		int64_t fwd = ((int64_t)out + stride - 1) / stride;
		int64_t total = (fwd - 1) * stride + k - out;
		pad = total > 0 ? total / 2 : 0;
	} else if (padding == NN_PADDING_EXPLICIT) {
		if (exp_before < 0 || exp_before > 65536)
			return 0;
		pad = exp_before;
	} else if (padding != NN_PADDING_VALID) {
		return 0;
	}
	int64_t full = (int64_t)stride * (in - 1) + k;
	int64_t rest = full - pad - out;
	*before = (int)pad;
	*after = rest > 0 ? (int)rest : 0;
	*adj = rest < 0 ? (int)-rest : 0;
	return *adj < stride;
}

/*
 * TRANSPOSE_CONV2D. Inputs in TFLite's order (output shape, filter [out, kh,
 * kw, in], input, optional bias) or, as the reference kernel also accepts,
 * in convolution order (input, filter, optional bias): a rank-1 int32 first
 * input is the output shape, never an activation.
 */
static int build_deconv(ctx *c)
{
	const nn_conv_params *p = &c->n->p.conv;
	nn_tensor *first = input(c, 0), *x, *w, *b, *y = output(c, 0);
	if (first && first->dtype == NN_I32 && first->rank == 1 && c->n->n_inputs >= 3) {
		w = input(c, 1);
		x = input(c, 2);
		b = input(c, 3);
	} else {
		x = first;
		w = input(c, 1);
		b = input(c, 2);
	}
	if (!x || !w || !y)
		return unsupported(c, "input, filter or output missing");
	if (x->rank != 4 || w->rank != 4 || y->rank != 4)
		return unsupported(c, "expected rank-4 input, filter and output");
	if (!w->is_const || (b && !b->is_const))
		return unsupported(c, "filter or bias is not constant");
	if (!act_valid(p->act) && p->act != NN_ACT_SILU)
		return unsupported(c, "unknown fused activation %d", (int)p->act);
	int batch = x->shape[0], ih = x->shape[1], iw = x->shape[2], ic = x->shape[3];
	int oc = w->shape[0], kh = w->shape[1], kw = w->shape[2];
	if (batch <= 0 || ic <= 0 || oc <= 0 || w->shape[3] != ic)
		return unsupported(c, "filter shape does not fit %d input channels", ic);
	if (p->dilation_h > 1 || p->dilation_w > 1)
		return unsupported(c, "dilation");
	int pt, pb, pl, pr, adj_h, adj_w;
	if (y->shape[0] != batch || y->shape[3] != oc ||
	    !deconv_axis(ih, kh, p->stride_h, y->shape[1], p->padding, p->pad_top, &pt, &pb, &adj_h) ||
	    !deconv_axis(iw, kw, p->stride_w, y->shape[2], p->padding, p->pad_left, &pl, &pr, &adj_w))
		return unsupported(c, "output shape, stride or padding that XNNPACK's deconvolution cannot express");
	const void *in = input_data(c, x);
	xnn_operator_t *op = next_op(c);
	if (!in || !op)
		return failed(c, NN_ERR_NOMEM, "out of memory");
	kind kx = kind_of(x), kwt = kind_of(w), ky = kind_of(y);
	int rc;
	if (kx == K_F32 && kwt == K_F32 && ky == K_F32 && bias_ok(b, NN_F32, oc)) {
		float lo, hi;
		f32_range(p->act, &lo, &hi);
		rc = check(c,
			   xnn_create_deconvolution2d_nhwc_f32((uint32_t)pt, (uint32_t)pr, (uint32_t)pb, (uint32_t)pl,
							       (uint32_t)kh, (uint32_t)kw, (uint32_t)p->stride_h,
							       (uint32_t)p->stride_w, 1, 1, 1, (size_t)ic, (size_t)oc,
							       (size_t)ic, (size_t)oc, w->data, b ? b->data : NULL, lo,
							       hi, 0, op),
			   "xnn_create_deconvolution2d_nhwc_f32");
		if (rc <= 0)
			return rc;
		return check(c,
			     xnn_setup_deconvolution2d_nhwc_f32(*op, (size_t)batch, (size_t)ih, (size_t)iw,
								(uint32_t)adj_h, (uint32_t)adj_w, in, y->data, c->pool),
			     "xnn_setup_deconvolution2d_nhwc_f32");
	}
	int32_t lo, hi;
	if ((kx == K_QU8 || kx == K_QS8) && ky == kx && !q_range(y, p->act, &lo, &hi))
		return unsupported(c, "the fused activation leaves a single output value");
	if (kx == K_QU8 && kwt == K_QU8 && ky == K_QU8 && bias_ok(b, NN_I32, oc)) {
		rc = check(c,
			   xnn_create_deconvolution2d_nhwc_qu8(
				   (uint32_t)pt, (uint32_t)pr, (uint32_t)pb, (uint32_t)pl, (uint32_t)kh, (uint32_t)kw,
				   (uint32_t)p->stride_h, (uint32_t)p->stride_w, 1, 1, 1, (size_t)ic, (size_t)oc,
				   (size_t)ic, (size_t)oc, (uint8_t)qzero(x), qscale(x), (uint8_t)qzero(w), qscale(w),
				   w->data, b ? b->data : NULL, (uint8_t)qzero(y), qscale(y), (uint8_t)lo, (uint8_t)hi,
				   0, op),
			   "xnn_create_deconvolution2d_nhwc_qu8");
		if (rc <= 0)
			return rc;
		return check(c,
			     xnn_setup_deconvolution2d_nhwc_qu8(*op, (size_t)batch, (size_t)ih, (size_t)iw,
								(uint32_t)adj_h, (uint32_t)adj_w, in, y->data, c->pool),
			     "xnn_setup_deconvolution2d_nhwc_qu8");
	}
	if (kx == K_QS8 && ky == K_QS8 && per_tensor_s8(w) && bias_ok(b, NN_I32, oc)) {
		rc = check(c,
			   xnn_create_deconvolution2d_nhwc_qs8(
				   (uint32_t)pt, (uint32_t)pr, (uint32_t)pb, (uint32_t)pl, (uint32_t)kh, (uint32_t)kw,
				   (uint32_t)p->stride_h, (uint32_t)p->stride_w, 1, 1, 1, (size_t)ic, (size_t)oc,
				   (size_t)ic, (size_t)oc, (int8_t)qzero(x), qscale(x), qscale(w), w->data,
				   b ? b->data : NULL, (int8_t)qzero(y), qscale(y), (int8_t)lo, (int8_t)hi, 0, op),
			   "xnn_create_deconvolution2d_nhwc_qs8");
		if (rc <= 0)
			return rc;
		return check(c,
			     xnn_setup_deconvolution2d_nhwc_qs8(*op, (size_t)batch, (size_t)ih, (size_t)iw,
								(uint32_t)adj_h, (uint32_t)adj_w, in, y->data, c->pool),
			     "xnn_setup_deconvolution2d_nhwc_qs8");
	}
	return unsupported(c,
			   "%s input, %s filter, %s output: XNNPACK's deconvolution takes float32, quantized uint8 "
			   "or int8 with a symmetric per-tensor filter",
			   kind_name(x), kind_name(w), kind_name(y));
}

static int build_fc(ctx *c)
{
	const nn_activation act = c->n->p.fc.act;
	nn_tensor *x = input(c, 0), *w = input(c, 1), *b = input(c, 2), *y = output(c, 0);
	if (!x || !w || !y)
		return unsupported(c, "input, weights or output missing");
	if (w->rank != 2 || !w->is_const || (b && !b->is_const))
		return unsupported(c, "weights are not a constant [out, in] matrix or bias not constant");
	if (!act_valid(act))
		return unsupported(c, "unknown fused activation %d", (int)act);
	int oc = w->shape[0], ic = w->shape[1];
	int64_t xe = nn_tensor_elements(x);
	if (oc <= 0 || ic <= 0 || xe <= 0 || xe % ic)
		return unsupported(c, "input of %lld elements is not a whole number of rows of %d", (long long)xe, ic);
	int64_t batch = xe / ic;
	if (nn_tensor_elements(y) != batch * oc)
		return unsupported(c, "output has %lld elements; expected %lld rows of %d",
				   (long long)nn_tensor_elements(y), (long long)batch, oc);
	const void *in = input_data(c, x);
	xnn_operator_t *op = next_op(c);
	if (!in || !op)
		return failed(c, NN_ERR_NOMEM, "out of memory");
	kind kx = kind_of(x), kwt = kind_of(w), ky = kind_of(y);
	int rc;
	if (kx == K_F32 && kwt == K_F32 && ky == K_F32 && bias_ok(b, NN_F32, oc)) {
		float lo, hi;
		f32_range(act, &lo, &hi);
		rc = check(c,
			   xnn_create_fully_connected_nc_f32((size_t)ic, (size_t)oc, (size_t)ic, (size_t)oc, w->data,
							     b ? b->data : NULL, lo, hi, 0, op),
			   "xnn_create_fully_connected_nc_f32");
		if (rc <= 0)
			return rc;
		return check(c, xnn_setup_fully_connected_nc_f32(*op, (size_t)batch, in, y->data, c->pool),
			     "xnn_setup_fully_connected_nc_f32");
	}
	int32_t lo, hi;
	if ((kx == K_QU8 || kx == K_QS8) && ky == kx && !q_range(y, act, &lo, &hi))
		return unsupported(c, "the fused activation leaves a single output value");
	if (kx == K_QU8 && kwt == K_QU8 && ky == K_QU8 && bias_ok(b, NN_I32, oc)) {
		rc = check(c,
			   xnn_create_fully_connected_nc_qu8((size_t)ic, (size_t)oc, (size_t)ic, (size_t)oc,
							     (uint8_t)qzero(x), qscale(x), (uint8_t)qzero(w),
							     qscale(w), w->data, b ? b->data : NULL, (uint8_t)qzero(y),
							     qscale(y), (uint8_t)lo, (uint8_t)hi, 0, op),
			   "xnn_create_fully_connected_nc_qu8");
		if (rc <= 0)
			return rc;
		return check(c, xnn_setup_fully_connected_nc_qu8(*op, (size_t)batch, in, y->data, c->pool),
			     "xnn_setup_fully_connected_nc_qu8");
	}
	if (kx == K_QS8 && ky == K_QS8 && per_tensor_s8(w) && bias_ok(b, NN_I32, oc)) {
		rc = check(c,
			   xnn_create_fully_connected_nc_qs8((size_t)ic, (size_t)oc, (size_t)ic, (size_t)oc,
							     (int8_t)qzero(x), qscale(x), qscale(w), w->data,
							     b ? b->data : NULL, (int8_t)qzero(y), qscale(y),
							     (int8_t)lo, (int8_t)hi, 0, op),
			   "xnn_create_fully_connected_nc_qs8");
		if (rc <= 0)
			return rc;
		return check(c, xnn_setup_fully_connected_nc_qs8(*op, (size_t)batch, in, y->data, c->pool),
			     "xnn_setup_fully_connected_nc_qs8");
	}
	if (kx == K_QS8 && ky == K_QS8 && per_channel_s8(w, 0, oc) && bias_ok(b, NN_I32, oc)) {
		/*
		 * This XNNPACK has no per-channel fully connected operator, but a 1x1
		 * convolution over a batch x 1 image with the same [out, in] weights
		 * computes exactly that.
		 */
		if (batch > UINT32_MAX)
			return unsupported(c, "batch too large");
		rc = check(c,
			   xnn_create_convolution2d_nhwc_qc8(0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, (size_t)ic, (size_t)oc,
							     (size_t)ic, (size_t)oc, (int8_t)qzero(x), qscale(x),
							     w->quant.scale, w->data, b ? b->data : NULL,
							     (int8_t)qzero(y), qscale(y), (int8_t)lo, (int8_t)hi, 0, op),
			   "xnn_create_convolution2d_nhwc_qc8");
		if (rc <= 0)
			return rc;
		return check(c,
			     xnn_setup_convolution2d_nhwc_qc8(*op, 1, (size_t)batch, 1, in, y->data, c->pool),
			     "xnn_setup_convolution2d_nhwc_qc8");
	}
	return unsupported(c,
			   "%s input, %s weights, %s output: XNNPACK takes float32, quantized uint8, or int8 with "
			   "symmetric weights and an int32 bias",
			   kind_name(x), kind_name(w), kind_name(y));
}

static int build_pool(ctx *c)
{
	const nn_pool_params *p = &c->n->p.pool;
	int is_max = c->n->op == NN_OP_MAX_POOL2D;
	nn_tensor *x = input(c, 0), *y = output(c, 0);
	if (!x || !y)
		return unsupported(c, "input or output missing");
	if (x->rank != 4 || y->rank != 4)
		return unsupported(c, "expected rank-4 input and output");
	if (!act_valid(p->act))
		return unsupported(c, "unknown fused activation %d", (int)p->act);
	int batch = x->shape[0], ih = x->shape[1], iw = x->shape[2], ch = x->shape[3];
	if (batch <= 0 || ch <= 0)
		return unsupported(c, "empty input");
	/* XNNPACK refuses 1x1 windows; they are a copy (max) or a requantization (average) anyway. */
	if (p->filter_h * (int64_t)p->filter_w <= 1)
		return unsupported(c, "1x1 pooling window");
	int pt, pb, pl, pr, oh, ow;
	if (!window_axis(ih, p->filter_h, p->stride_h, 1, p->padding, p->pad_top, p->pad_bottom, &pt, &pb, &oh) ||
	    !window_axis(iw, p->filter_w, p->stride_w, 1, p->padding, p->pad_left, p->pad_right, &pl, &pr, &ow))
		return unsupported(c, "invalid window, stride or padding for a %dx%d input", ih, iw);
	int rc = expect_nhwc(c, y, x, batch, oh, ow, ch);
	if (rc <= 0)
		return rc;
	const void *in = input_data(c, x);
	xnn_operator_t *op = next_op(c);
	if (!in || !op)
		return failed(c, NN_ERR_NOMEM, "out of memory");
	kind kx = kind_of(x), ky = kind_of(y);
	uint32_t fh = (uint32_t)p->filter_h, fw = (uint32_t)p->filter_w;
	uint32_t sh = (uint32_t)p->stride_h, sw = (uint32_t)p->stride_w;
	if (kx == K_F32 && ky == K_F32) {
		float lo, hi;
		f32_range(p->act, &lo, &hi);
		if (is_max) {
			rc = check(c,
				   xnn_create_max_pooling2d_nhwc_f32((uint32_t)pt, (uint32_t)pr, (uint32_t)pb,
								     (uint32_t)pl, fh, fw, sh, sw, 1, 1, (size_t)ch,
								     (size_t)ch, (size_t)ch, lo, hi, 0, op),
				   "xnn_create_max_pooling2d_nhwc_f32");
			if (rc <= 0)
				return rc;
			return check(c,
				     xnn_setup_max_pooling2d_nhwc_f32(*op, (size_t)batch, (size_t)ih, (size_t)iw, in,
								      y->data, c->pool),
				     "xnn_setup_max_pooling2d_nhwc_f32");
		}
		rc = check(c,
			   xnn_create_average_pooling2d_nhwc_f32((uint32_t)pt, (uint32_t)pr, (uint32_t)pb,
								 (uint32_t)pl, fh, fw, sh, sw, (size_t)ch, (size_t)ch,
								 (size_t)ch, lo, hi, 0, op),
			   "xnn_create_average_pooling2d_nhwc_f32");
		if (rc <= 0)
			return rc;
		return check(c,
			     xnn_setup_average_pooling2d_nhwc_f32(*op, (size_t)batch, (size_t)ih, (size_t)iw, in,
								  y->data, c->pool),
			     "xnn_setup_average_pooling2d_nhwc_f32");
	}
	int32_t lo, hi;
	if ((kx != K_QU8 && kx != K_QS8) || ky != kx)
		return unsupported(c, "%s input, %s output: XNNPACK pools float32 and quantized 8-bit tensors",
				   kind_name(x), kind_name(y));
	if (!q_range(y, p->act, &lo, &hi))
		return unsupported(c, "the fused activation leaves a single output value");
	if (is_max) {
		if (!same_quant(x, y))
			return unsupported(c, "input and output quantization differ");
		if (kx == K_QU8) {
			rc = check(c,
				   xnn_create_max_pooling2d_nhwc_u8((uint32_t)pt, (uint32_t)pr, (uint32_t)pb,
								    (uint32_t)pl, fh, fw, sh, sw, 1, 1, (size_t)ch,
								    (size_t)ch, (size_t)ch, (uint8_t)lo, (uint8_t)hi, 0,
								    op),
				   "xnn_create_max_pooling2d_nhwc_u8");
			if (rc <= 0)
				return rc;
			return check(c,
				     xnn_setup_max_pooling2d_nhwc_u8(*op, (size_t)batch, (size_t)ih, (size_t)iw, in,
								     y->data, c->pool),
				     "xnn_setup_max_pooling2d_nhwc_u8");
		}
		rc = check(c,
			   xnn_create_max_pooling2d_nhwc_s8((uint32_t)pt, (uint32_t)pr, (uint32_t)pb, (uint32_t)pl,
							    fh, fw, sh, sw, 1, 1, (size_t)ch, (size_t)ch, (size_t)ch,
							    (int8_t)lo, (int8_t)hi, 0, op),
			   "xnn_create_max_pooling2d_nhwc_s8");
		if (rc <= 0)
			return rc;
		return check(c,
			     xnn_setup_max_pooling2d_nhwc_s8(*op, (size_t)batch, (size_t)ih, (size_t)iw, in, y->data,
							     c->pool),
			     "xnn_setup_max_pooling2d_nhwc_s8");
	}
	if (kx != K_QU8)
		return unsupported(c, "this XNNPACK has no int8 average pooling");
	/*
	 * XNNPACK's quantized average pooling divides by the whole window, while
	 * TFLite averages only the pixels inside the image: they agree only
	 * without padding.
	 */
	if (pt || pb || pl || pr)
		return unsupported(c, "quantized average pooling over padding");
	rc = check(c,
		   xnn_create_average_pooling2d_nhwc_qu8((uint32_t)pt, (uint32_t)pr, (uint32_t)pb, (uint32_t)pl, fh,
							 fw, sh, sw, (size_t)ch, (size_t)ch, (size_t)ch,
							 (uint8_t)qzero(x), qscale(x), (uint8_t)qzero(y), qscale(y),
							 (uint8_t)lo, (uint8_t)hi, 0, op),
		   "xnn_create_average_pooling2d_nhwc_qu8");
	if (rc <= 0)
		return rc;
	return check(c,
		     xnn_setup_average_pooling2d_nhwc_qu8(*op, (size_t)batch, (size_t)ih, (size_t)iw, in, y->data,
							  c->pool),
		     "xnn_setup_average_pooling2d_nhwc_qu8");
}

static int build_mean(ctx *c)
{
	const nn_node *n = c->n;
	nn_tensor *x = input(c, 0), *y = output(c, 0);
	if (!x || !y || x->rank != 4)
		return unsupported(c, "only the mean of a rank-4 tensor over height and width");
	int axes = 0;
	for (int i = 0; i < n->p.reduce.n_axes && i < NN_MAX_RANK; i++) {
		int a = n->p.reduce.axes[i];
		if (a < 0)
			a += 4;
		if (a != 1 && a != 2)
			return unsupported(c, "only the mean over height and width (axes 1 and 2)");
		axes |= 1 << a;
	}
	if (axes != 6 || n->p.reduce.n_axes != 2)
		return unsupported(c, "only the mean over height and width (axes 1 and 2)");
	int batch = x->shape[0], ch = x->shape[3];
	size_t width = (size_t)x->shape[1] * (size_t)x->shape[2];
	/* With or without keep_dims the output holds batch x channels values in the same order. */
	if (batch <= 0 || ch <= 0 || width == 0 || nn_tensor_elements(y) != (int64_t)batch * ch)
		return unsupported(c, "output does not hold one value per batch and channel");
	const void *in = input_data(c, x);
	xnn_operator_t *op = next_op(c);
	if (!in || !op)
		return failed(c, NN_ERR_NOMEM, "out of memory");
	kind kx = kind_of(x), ky = kind_of(y);
	int rc;
	if (kx == K_F32 && ky == K_F32) {
		rc = check(c,
			   xnn_create_global_average_pooling_nwc_f32((size_t)ch, (size_t)ch, (size_t)ch, -INFINITY,
								     INFINITY, 0, op),
			   "xnn_create_global_average_pooling_nwc_f32");
		if (rc <= 0)
			return rc;
		return check(c,
			     xnn_setup_global_average_pooling_nwc_f32(*op, (size_t)batch, width, in, y->data,
								      c->pool),
			     "xnn_setup_global_average_pooling_nwc_f32");
	}
	if (kx == K_QU8 && ky == K_QU8) {
		rc = check(c,
			   xnn_create_global_average_pooling_nwc_qu8((size_t)ch, (size_t)ch, (size_t)ch,
								     (uint8_t)qzero(x), qscale(x), (uint8_t)qzero(y),
								     qscale(y), 0, 255, 0, op),
			   "xnn_create_global_average_pooling_nwc_qu8");
		if (rc <= 0)
			return rc;
		return check(c,
			     xnn_setup_global_average_pooling_nwc_qu8(*op, (size_t)batch, width, in, y->data,
								      c->pool),
			     "xnn_setup_global_average_pooling_nwc_qu8");
	}
	if (kx == K_QS8 && ky == K_QS8) {
		rc = check(c,
			   xnn_create_global_average_pooling_nwc_qs8((size_t)ch, (size_t)ch, (size_t)ch,
								     (int8_t)qzero(x), qscale(x), (int8_t)qzero(y),
								     qscale(y), -128, 127, 0, op),
			   "xnn_create_global_average_pooling_nwc_qs8");
		if (rc <= 0)
			return rc;
		return check(c,
			     xnn_setup_global_average_pooling_nwc_qs8(*op, (size_t)batch, width, in, y->data,
								      c->pool),
			     "xnn_setup_global_average_pooling_nwc_qs8");
	}
	return unsupported(c, "%s input, %s output", kind_name(x), kind_name(y));
}

/* NumPy broadcasting of a and b; 0 when they do not broadcast or the output's shape differs. */
static int broadcast_ok(const nn_tensor *a, const nn_tensor *b, const nn_tensor *y)
{
	int r = a->rank > b->rank ? a->rank : b->rank;
	if (y->rank != r)
		return 0;
	for (int i = 0; i < r; i++) {
		int da = i < a->rank ? a->shape[a->rank - 1 - i] : 1;
		int db = i < b->rank ? b->shape[b->rank - 1 - i] : 1;
		int d;
		if (da == db || db == 1)
			d = da;
		else if (da == 1)
			d = db;
		else
			return 0;
		if (y->shape[r - 1 - i] != d)
			return 0;
	}
	return 1;
}

static size_t dims(const nn_tensor *t, size_t *out)
{
	if (t->rank == 0) {
		out[0] = 1;
		return 1;
	}
	for (int i = 0; i < t->rank; i++)
		out[i] = (size_t)t->shape[i];
	return (size_t)t->rank;
}

static int build_binary(ctx *c)
{
	nn_op op_kind = c->n->op;
	nn_tensor *a = input(c, 0), *b = input(c, 1), *y = output(c, 0);
	if (!a || !b || !y || c->n->n_inputs != 2)
		return unsupported(c, "expected two inputs and an output");
	if (!broadcast_ok(a, b, y)) {
		char sa[96], sb[96], sy[96];
		return failed(c, NN_ERR_SHAPE, "input shapes %s and %s do not broadcast to the output shape %s",
			      shape_str(a, sa, sizeof sa), shape_str(b, sb, sizeof sb), shape_str(y, sy, sizeof sy));
	}
	if (nn_tensor_elements(a) <= 0 || nn_tensor_elements(b) <= 0)
		return unsupported(c, "empty input");
	/* MAXIMUM and MINIMUM have no fused activation; for them the union holds nothing. */
	nn_activation act = (op_kind == NN_OP_MAXIMUM || op_kind == NN_OP_MINIMUM) ? NN_ACT_NONE : c->n->p.act;
	if (!act_valid(act))
		return unsupported(c, "unknown fused activation %d", (int)act);
	size_t sa[XNN_MAX_TENSOR_DIMS], sb[XNN_MAX_TENSOR_DIMS];
	size_t ra = dims(a, sa), rb = dims(b, sb);
	const void *ina = input_data(c, a), *inb = input_data(c, b);
	xnn_operator_t *op = next_op(c);
	if (!ina || !inb || !op)
		return failed(c, NN_ERR_NOMEM, "out of memory");
	kind ka = kind_of(a), kb = kind_of(b), ky = kind_of(y);
	int rc;
	if (ka == K_F32 && kb == K_F32 && ky == K_F32) {
		float lo, hi;
		f32_range(act, &lo, &hi);
		switch (op_kind) {
		case NN_OP_ADD:
			rc = check(c, xnn_create_add_nd_f32(lo, hi, 0, op), "xnn_create_add_nd_f32");
			if (rc <= 0)
				return rc;
			return check(c, xnn_setup_add_nd_f32(*op, ra, sa, rb, sb, ina, inb, y->data, c->pool),
				     "xnn_setup_add_nd_f32");
		case NN_OP_SUB:
			rc = check(c, xnn_create_subtract_nd_f32(lo, hi, 0, op), "xnn_create_subtract_nd_f32");
			if (rc <= 0)
				return rc;
			return check(c, xnn_setup_subtract_nd_f32(*op, ra, sa, rb, sb, ina, inb, y->data, c->pool),
				     "xnn_setup_subtract_nd_f32");
		case NN_OP_MUL:
			rc = check(c, xnn_create_multiply_nd_f32(lo, hi, 0, op), "xnn_create_multiply_nd_f32");
			if (rc <= 0)
				return rc;
			return check(c, xnn_setup_multiply_nd_f32(*op, ra, sa, rb, sb, ina, inb, y->data, c->pool),
				     "xnn_setup_multiply_nd_f32");
		case NN_OP_DIV:
			rc = check(c, xnn_create_divide_nd_f32(lo, hi, 0, op), "xnn_create_divide_nd_f32");
			if (rc <= 0)
				return rc;
			return check(c, xnn_setup_divide_nd_f32(*op, ra, sa, rb, sb, ina, inb, y->data, c->pool),
				     "xnn_setup_divide_nd_f32");
		case NN_OP_MAXIMUM:
			rc = check(c, xnn_create_maximum_nd_f32(0, op), "xnn_create_maximum_nd_f32");
			if (rc <= 0)
				return rc;
			return check(c, xnn_setup_maximum_nd_f32(*op, ra, sa, rb, sb, ina, inb, y->data, c->pool),
				     "xnn_setup_maximum_nd_f32");
		case NN_OP_MINIMUM:
			rc = check(c, xnn_create_minimum_nd_f32(0, op), "xnn_create_minimum_nd_f32");
			if (rc <= 0)
				return rc;
			return check(c, xnn_setup_minimum_nd_f32(*op, ra, sa, rb, sb, ina, inb, y->data, c->pool),
				     "xnn_setup_minimum_nd_f32");
		default:
			break;
		}
	}
	int quantized = (ka == K_QU8 || ka == K_QS8) && kb == ka && ky == ka;
	if (!quantized || (op_kind != NN_OP_ADD && op_kind != NN_OP_SUB && op_kind != NN_OP_MUL))
		return unsupported(c, "%s and %s inputs, %s output: XNNPACK takes float32%s", kind_name(a),
				   kind_name(b), kind_name(y),
				   op_kind == NN_OP_ADD || op_kind == NN_OP_SUB || op_kind == NN_OP_MUL
					   ? " or quantized 8-bit tensors of one type"
					   : "");
	int32_t lo, hi;
	if (!q_range(y, act, &lo, &hi))
		return unsupported(c, "the fused activation leaves a single output value");
	if (ka == K_QU8) {
		uint8_t za = (uint8_t)qzero(a), zb = (uint8_t)qzero(b), zy = (uint8_t)qzero(y);
		float fa = qscale(a), fb = qscale(b), fy = qscale(y);
		switch (op_kind) {
		case NN_OP_ADD:
			rc = check(c, xnn_create_add_nd_qu8(za, fa, zb, fb, zy, fy, (uint8_t)lo, (uint8_t)hi, 0, op),
				   "xnn_create_add_nd_qu8");
			if (rc <= 0)
				return rc;
			return check(c, xnn_setup_add_nd_qu8(*op, ra, sa, rb, sb, ina, inb, y->data, c->pool),
				     "xnn_setup_add_nd_qu8");
		case NN_OP_SUB:
			rc = check(c,
				   xnn_create_subtract_nd_qu8(za, fa, zb, fb, zy, fy, (uint8_t)lo, (uint8_t)hi, 0, op),
				   "xnn_create_subtract_nd_qu8");
			if (rc <= 0)
				return rc;
			return check(c, xnn_setup_subtract_nd_qu8(*op, ra, sa, rb, sb, ina, inb, y->data, c->pool),
				     "xnn_setup_subtract_nd_qu8");
		default:
			rc = check(c,
				   xnn_create_multiply_nd_qu8(za, fa, zb, fb, zy, fy, (uint8_t)lo, (uint8_t)hi, 0, op),
				   "xnn_create_multiply_nd_qu8");
			if (rc <= 0)
				return rc;
			return check(c, xnn_setup_multiply_nd_qu8(*op, ra, sa, rb, sb, ina, inb, y->data, c->pool),
				     "xnn_setup_multiply_nd_qu8");
		}
	}
	int8_t za = (int8_t)qzero(a), zb = (int8_t)qzero(b), zy = (int8_t)qzero(y);
	float fa = qscale(a), fb = qscale(b), fy = qscale(y);
	switch (op_kind) {
	case NN_OP_ADD:
		rc = check(c, xnn_create_add_nd_qs8(za, fa, zb, fb, zy, fy, (int8_t)lo, (int8_t)hi, 0, op),
			   "xnn_create_add_nd_qs8");
		if (rc <= 0)
			return rc;
		return check(c, xnn_setup_add_nd_qs8(*op, ra, sa, rb, sb, ina, inb, y->data, c->pool),
			     "xnn_setup_add_nd_qs8");
	case NN_OP_SUB:
		rc = check(c, xnn_create_subtract_nd_qs8(za, fa, zb, fb, zy, fy, (int8_t)lo, (int8_t)hi, 0, op),
			   "xnn_create_subtract_nd_qs8");
		if (rc <= 0)
			return rc;
		return check(c, xnn_setup_subtract_nd_qs8(*op, ra, sa, rb, sb, ina, inb, y->data, c->pool),
			     "xnn_setup_subtract_nd_qs8");
	default:
		rc = check(c, xnn_create_multiply_nd_qs8(za, fa, zb, fb, zy, fy, (int8_t)lo, (int8_t)hi, 0, op),
			   "xnn_create_multiply_nd_qs8");
		if (rc <= 0)
			return rc;
		return check(c, xnn_setup_multiply_nd_qs8(*op, ra, sa, rb, sb, ina, inb, y->data, c->pool),
			     "xnn_setup_multiply_nd_qs8");
	}
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

static int unary_begin(ctx *c, unary *u, int channels_from_last_dim)
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
static int run_f32_nc(ctx *c, const unary *u, f32_nc_create create, const char *create_name, f32_nc_setup setup,
		      const char *setup_name)
{
	int rc = check(c, create(u->channels, u->channels, u->channels, 0, u->op), create_name);
	if (rc <= 0)
		return rc;
	return check(c, setup(*u->op, u->batch, u->in, u->out, c->pool), setup_name);
}

static int build_clamp(ctx *c)
{
	nn_tensor *x = input(c, 0), *y = output(c, 0);
	nn_activation act = c->n->op == NN_OP_RELU ? NN_ACT_RELU
			    : c->n->op == NN_OP_RELU6 ? NN_ACT_RELU6
						      : NN_ACT_RELU_N1_TO_1;
	if (!x || !y)
		return unsupported(c, "input or output missing");
	kind kx = kind_of(x), ky = kind_of(y);
	if (kx != ky || (kx != K_F32 && kx != K_QU8 && kx != K_QS8))
		return unsupported(c, "%s input, %s output", kind_name(x), kind_name(y));
	/* Clamping in the quantized domain is exact only when it does not requantize. */
	if (kx != K_F32 && !same_quant(x, y))
		return unsupported(c, "input and output quantization differ");
	int32_t lo = 0, hi = 0;
	if (kx != K_F32 && !q_range(y, act, &lo, &hi))
		return unsupported(c, "the activation leaves a single output value");
	unary u;
	int rc = unary_begin(c, &u, 0);
	if (rc <= 0)
		return rc;
	if (kx == K_F32) {
		float flo, fhi;
		f32_range(act, &flo, &fhi);
		rc = check(c, xnn_create_clamp_nc_f32(u.channels, u.channels, u.channels, flo, fhi, 0, u.op),
			   "xnn_create_clamp_nc_f32");
		if (rc <= 0)
			return rc;
		return check(c, xnn_setup_clamp_nc_f32(*u.op, u.batch, u.in, u.out, c->pool), "xnn_setup_clamp_nc_f32");
	}
	if (kx == K_QU8) {
		rc = check(c,
			   xnn_create_clamp_nc_u8(u.channels, u.channels, u.channels, (uint8_t)lo, (uint8_t)hi, 0, u.op),
			   "xnn_create_clamp_nc_u8");
		if (rc <= 0)
			return rc;
		return check(c, xnn_setup_clamp_nc_u8(*u.op, u.batch, u.in, u.out, c->pool), "xnn_setup_clamp_nc_u8");
	}
	rc = check(c, xnn_create_clamp_nc_s8(u.channels, u.channels, u.channels, (int8_t)lo, (int8_t)hi, 0, u.op),
		   "xnn_create_clamp_nc_s8");
	if (rc <= 0)
		return rc;
	return check(c, xnn_setup_clamp_nc_s8(*u.op, u.batch, u.in, u.out, c->pool), "xnn_setup_clamp_nc_s8");
}

static int build_logistic_tanh(ctx *c)
{
	int is_tanh = c->n->op == NN_OP_TANH;
	nn_tensor *x = input(c, 0), *y = output(c, 0);
	if (!x || !y)
		return unsupported(c, "input or output missing");
	kind kx = kind_of(x), ky = kind_of(y);
	if (kx != ky || (kx != K_F32 && kx != K_QU8 && kx != K_QS8) || (is_tanh && kx == K_F32))
		return unsupported(c, "%s input, %s output: XNNPACK takes %s", kind_name(x), kind_name(y),
				   is_tanh ? "quantized 8-bit tensors" : "float32 or quantized 8-bit tensors");
	unary u;
	int rc = unary_begin(c, &u, 0);
	if (rc <= 0)
		return rc;
	if (kx == K_F32)
		return run_f32_nc(c, &u, F32_NC(sigmoid));
	if (kx == K_QU8) {
		uint8_t zx = (uint8_t)qzero(x), zy = (uint8_t)qzero(y);
		if (is_tanh) {
			rc = check(c,
				   xnn_create_tanh_nc_qu8(u.channels, u.channels, u.channels, zx, qscale(x), zy,
							  qscale(y), 0, 255, 0, u.op),
				   "xnn_create_tanh_nc_qu8");
			if (rc <= 0)
				return rc;
			return check(c, xnn_setup_tanh_nc_qu8(*u.op, u.batch, u.in, u.out, c->pool),
				     "xnn_setup_tanh_nc_qu8");
		}
		rc = check(c,
			   xnn_create_sigmoid_nc_qu8(u.channels, u.channels, u.channels, zx, qscale(x), zy, qscale(y), 0,
						     255, 0, u.op),
			   "xnn_create_sigmoid_nc_qu8");
		if (rc <= 0)
			return rc;
		return check(c, xnn_setup_sigmoid_nc_qu8(*u.op, u.batch, u.in, u.out, c->pool),
			     "xnn_setup_sigmoid_nc_qu8");
	}
	int8_t zx = (int8_t)qzero(x), zy = (int8_t)qzero(y);
	if (is_tanh) {
		rc = check(c,
			   xnn_create_tanh_nc_qs8(u.channels, u.channels, u.channels, zx, qscale(x), zy, qscale(y), -128,
						  127, 0, u.op),
			   "xnn_create_tanh_nc_qs8");
		if (rc <= 0)
			return rc;
		return check(c, xnn_setup_tanh_nc_qs8(*u.op, u.batch, u.in, u.out, c->pool), "xnn_setup_tanh_nc_qs8");
	}
	rc = check(c,
		   xnn_create_sigmoid_nc_qs8(u.channels, u.channels, u.channels, zx, qscale(x), zy, qscale(y), -128,
					     127, 0, u.op),
		   "xnn_create_sigmoid_nc_qs8");
	if (rc <= 0)
		return rc;
	return check(c, xnn_setup_sigmoid_nc_qs8(*u.op, u.batch, u.in, u.out, c->pool), "xnn_setup_sigmoid_nc_qs8");
}

static int build_hard_swish(ctx *c)
{
	nn_tensor *x = input(c, 0), *y = output(c, 0);
	if (!x || !y || kind_of(x) != K_F32 || kind_of(y) != K_F32)
		return unsupported(c, "XNNPACK's hard swish takes float32 only");
	unary u;
	int rc = unary_begin(c, &u, 0);
	if (rc <= 0)
		return rc;
	return run_f32_nc(c, &u, F32_NC(hardswish));
}

static int build_leaky_relu(ctx *c)
{
	nn_tensor *x = input(c, 0), *y = output(c, 0);
	float alpha = c->n->p.leaky_relu.alpha;
	if (!x || !y)
		return unsupported(c, "input or output missing");
	if (!isfinite(alpha))
		return unsupported(c, "alpha is not finite");
	kind kx = kind_of(x), ky = kind_of(y);
	if (kx != ky || (kx != K_F32 && kx != K_QU8))
		return unsupported(c, "%s input, %s output: XNNPACK takes float32 or quantized uint8", kind_name(x),
				   kind_name(y));
	unary u;
	int rc = unary_begin(c, &u, 0);
	if (rc <= 0)
		return rc;
	if (kx == K_F32) {
		rc = check(c, xnn_create_leaky_relu_nc_f32(u.channels, u.channels, u.channels, alpha, 0, u.op),
			   "xnn_create_leaky_relu_nc_f32");
		if (rc <= 0)
			return rc;
		return check(c, xnn_setup_leaky_relu_nc_f32(*u.op, u.batch, u.in, u.out, c->pool),
			     "xnn_setup_leaky_relu_nc_f32");
	}
	rc = check(c,
		   xnn_create_leaky_relu_nc_qu8(u.channels, u.channels, u.channels, alpha, (uint8_t)qzero(x), qscale(x),
						(uint8_t)qzero(y), qscale(y), 0, 255, 0, u.op),
		   "xnn_create_leaky_relu_nc_qu8");
	if (rc <= 0)
		return rc;
	return check(c, xnn_setup_leaky_relu_nc_qu8(*u.op, u.batch, u.in, u.out, c->pool),
		     "xnn_setup_leaky_relu_nc_qu8");
}

static int build_prelu(ctx *c)
{
	nn_tensor *x = input(c, 0), *alpha = input(c, 1), *y = output(c, 0);
	if (!x || !alpha || !y)
		return unsupported(c, "input, alpha or output missing");
	if (kind_of(x) != K_F32 || kind_of(alpha) != K_F32 || kind_of(y) != K_F32)
		return unsupported(c, "XNNPACK's PReLU takes float32 only");
	if (!alpha->is_const || x->rank < 1)
		return unsupported(c, "alpha is not constant");
	/* XNNPACK has one slope per channel: alpha must be [..., 1, C]. */
	int ch = x->shape[x->rank - 1];
	if (alpha->rank < 1 || alpha->shape[alpha->rank - 1] != ch || nn_tensor_elements(alpha) != ch ||
	    alpha->rank > x->rank)
		return unsupported(c, "alpha varies along more than the channel axis");
	unary u;
	int rc = unary_begin(c, &u, 1);
	if (rc <= 0)
		return rc;
	rc = check(c, xnn_create_prelu_nc_f32(u.channels, u.channels, u.channels, alpha->data, 0, u.op),
		   "xnn_create_prelu_nc_f32");
	if (rc <= 0)
		return rc;
	return check(c, xnn_setup_prelu_nc_f32(*u.op, u.batch, u.in, u.out, c->pool), "xnn_setup_prelu_nc_f32");
}

static int build_softmax(ctx *c)
{
	nn_tensor *x = input(c, 0), *y = output(c, 0);
	float beta = c->n->p.softmax.beta;
	if (!x || !y || x->rank < 1)
		return unsupported(c, "input or output missing");
	kind kx = kind_of(x), ky = kind_of(y);
	if (!(beta > 0) || !isfinite(beta))
		return unsupported(c, "beta %g", (double)beta);
	if (kx == K_F32 && ky == K_F32) {
		if (beta != 1.0f)
			return unsupported(c, "XNNPACK's float softmax has no beta (here %g)", (double)beta);
		unary u;
		int rc = unary_begin(c, &u, 1);
		if (rc <= 0)
			return rc;
		return run_f32_nc(c, &u, F32_NC(softmax));
	}
	if (kx == K_QU8 && ky == K_QU8) {
		unary u;
		int rc = unary_begin(c, &u, 1);
		if (rc <= 0)
			return rc;
		/* softmax(beta * s * (q - zp)): beta folds into the input scale. The zero point cancels out. */
		rc = check(c,
			   xnn_create_softmax_nc_qu8(u.channels, u.channels, u.channels, beta * qscale(x),
						     (uint8_t)qzero(y), qscale(y), 0, u.op),
			   "xnn_create_softmax_nc_qu8");
		if (rc <= 0)
			return rc;
		return check(c, xnn_setup_softmax_nc_qu8(*u.op, u.batch, u.in, u.out, c->pool),
			     "xnn_setup_softmax_nc_qu8");
	}
	return unsupported(c, "%s input, %s output: XNNPACK takes float32 or quantized uint8", kind_name(x),
			   kind_name(y));
}

/*
 * Requantizes uint8 rows of `channels` values, read `in_stride` and written
 * `out_stride` apart. This XNNPACK has no 8-bit requantization operator, but
 * its uint8 leaky ReLU is a table of 256 requantized values, correctly
 * rounded; with a slope of 1 it is the identity on real values, which leaves
 * exactly the requantization.
 */
static int requantize_u8(ctx *c, const nn_tensor *x, const nn_tensor *y, xnn_operator_t *op, size_t channels,
			 size_t out_stride)
{
	return check(c,
		     xnn_create_leaky_relu_nc_qu8(channels, channels, out_stride, 1.0f, (uint8_t)qzero(x), qscale(x),
						  (uint8_t)qzero(y), qscale(y), 0, 255, 0, op),
		     "xnn_create_leaky_relu_nc_qu8 (requantization)");
}

static int build_convert(ctx *c)
{
	int quantize = c->n->op == NN_OP_QUANTIZE;
	nn_tensor *x = input(c, 0), *y = output(c, 0);
	if (!x || !y)
		return unsupported(c, "input or output missing");
	kind kx = kind_of(x), ky = kind_of(y);
	unary u;
	int rc;
	if (quantize && kx == K_F32 && (ky == K_QU8 || ky == K_QS8)) {
		if ((rc = unary_begin(c, &u, 0)) <= 0)
			return rc;
		if (ky == K_QU8) {
			rc = check(c,
				   xnn_create_convert_nc_f32_qu8(u.channels, u.channels, u.channels, qscale(y),
								 (uint8_t)qzero(y), 0, 255, 0, u.op),
				   "xnn_create_convert_nc_f32_qu8");
			if (rc <= 0)
				return rc;
			return check(c, xnn_setup_convert_nc_f32_qu8(*u.op, u.batch, u.in, u.out, c->pool),
				     "xnn_setup_convert_nc_f32_qu8");
		}
		rc = check(c,
			   xnn_create_convert_nc_f32_qs8(u.channels, u.channels, u.channels, qscale(y),
							 (int8_t)qzero(y), -128, 127, 0, u.op),
			   "xnn_create_convert_nc_f32_qs8");
		if (rc <= 0)
			return rc;
		return check(c, xnn_setup_convert_nc_f32_qs8(*u.op, u.batch, u.in, u.out, c->pool),
			     "xnn_setup_convert_nc_f32_qs8");
	}
	if (quantize && kx == K_QU8 && ky == K_QU8) {
		if ((rc = unary_begin(c, &u, 0)) <= 0)
			return rc;
		u.batch *= u.channels;
		rc = requantize_u8(c, x, y, u.op, 1, 1);
		if (rc <= 0)
			return rc;
		return check(c, xnn_setup_leaky_relu_nc_qu8(*u.op, u.batch, u.in, u.out, c->pool),
			     "xnn_setup_leaky_relu_nc_qu8");
	}
	if (!quantize && ky == K_F32 && (kx == K_QU8 || kx == K_QS8 || kx == K_F16)) {
		if ((rc = unary_begin(c, &u, 0)) <= 0)
			return rc;
		if (kx == K_F16) {
			rc = check(c, xnn_create_convert_nc_f16_f32(u.channels, u.channels, u.channels, 0, u.op),
				   "xnn_create_convert_nc_f16_f32");
			if (rc <= 0)
				return rc;
			return check(c, xnn_setup_convert_nc_f16_f32(*u.op, u.batch, u.in, u.out, c->pool),
				     "xnn_setup_convert_nc_f16_f32");
		}
		if (kx == K_QU8) {
			rc = check(c,
				   xnn_create_convert_nc_qu8_f32(u.channels, u.channels, u.channels, qscale(x),
								 (uint8_t)qzero(x), 0, u.op),
				   "xnn_create_convert_nc_qu8_f32");
			if (rc <= 0)
				return rc;
			return check(c, xnn_setup_convert_nc_qu8_f32(*u.op, u.batch, u.in, u.out, c->pool),
				     "xnn_setup_convert_nc_qu8_f32");
		}
		rc = check(c,
			   xnn_create_convert_nc_qs8_f32(u.channels, u.channels, u.channels, qscale(x),
							 (int8_t)qzero(x), 0, u.op),
			   "xnn_create_convert_nc_qs8_f32");
		if (rc <= 0)
			return rc;
		return check(c, xnn_setup_convert_nc_qs8_f32(*u.op, u.batch, u.in, u.out, c->pool),
			     "xnn_setup_convert_nc_qs8_f32");
	}
	return unsupported(c, "%s input, %s output: XNNPACK converts between float32 and per-tensor quantized "
			      "8-bit, float16 to float32 and uint8 to uint8",
			   kind_name(x), kind_name(y));
}

/*
 * CAST of a mask to float32 (CenterNet multiplies its 1.3M heat-map scores
 * by one): the bools, 0 or 1 in a byte, are uint8 with scale 1 and zero
 * point 0. Only masks that EQUAL or a CAST wrote: those hold 0 or 1, where
 * a bool from elsewhere may hold any non-zero byte, which the reference
 * kernel maps to 1.
 */
static int build_cast(ctx *c)
{
	nn_tensor *x = input(c, 0), *y = output(c, 0);
	if (!x || !y || x->dtype != NN_BOOL || y->dtype != NN_F32 || x->is_const)
		return unsupported(c, "XNNPACK takes CAST only from a computed bool to float32");
	int written = 0;
	for (int i = 0; i < c->g->n_nodes && !written; i++) {
		const nn_node *p = &c->g->nodes[i];
		if ((p->op == NN_OP_EQUAL || p->op == NN_OP_CAST) && p->n_outputs == 1 && p->outputs[0] >= 0 &&
		    &c->g->tensors[p->outputs[0]] == x)
			written = 1;
	}
	if (!written)
		return unsupported(c, "CAST of a bool that no EQUAL or CAST wrote");
	unary u;
	int rc = unary_begin(c, &u, 0);
	if (rc <= 0)
		return rc;
	rc = check(c, xnn_create_convert_nc_qu8_f32(u.channels, u.channels, u.channels, 1.0f, 0, 0, u.op),
		   "xnn_create_convert_nc_qu8_f32");
	if (rc <= 0)
		return rc;
	return check(c, xnn_setup_convert_nc_qu8_f32(*u.op, u.batch, u.in, u.out, c->pool),
		     "xnn_setup_convert_nc_qu8_f32");
}

static int build_pad(ctx *c)
{
	nn_tensor *x = input(c, 0), *y = output(c, 0);
	if (!x || !y || x->rank != y->rank || x->rank < 1 || x->dtype != y->dtype)
		return unsupported(c, "input and output of different ranks or types");
	/* A third input is PADV2's pad value; only the implicit zero is handled here. */
	if (c->n->n_inputs > 2 && c->n->inputs[2] >= 0)
		return unsupported(c, "explicit pad value");
	if (nn_tensor_elements(x) <= 0)
		return unsupported(c, "empty input");
	size_t shape[XNN_MAX_TENSOR_DIMS], pre[XNN_MAX_TENSOR_DIMS], post[XNN_MAX_TENSOR_DIMS];
	for (int d = 0; d < x->rank; d++) {
		int b = c->n->p.pad.pads[d][0], a = c->n->p.pad.pads[d][1];
		if (b < 0 || a < 0 || (int64_t)x->shape[d] + b + a != y->shape[d])
			return unsupported(c, "negative padding or an output shape that does not match the padding");
		shape[d] = (size_t)x->shape[d];
		pre[d] = (size_t)b;
		post[d] = (size_t)a;
	}
	/* Padding is zero in the real domain: the zero point for quantized tensors. */
	union {
		float f;
		uint32_t u32;
		uint16_t u16;
		uint8_t u8;
		int8_t s8;
	} value = { .u32 = 0 };
	if (nn_tensor_is_quantized(x) || nn_tensor_is_quantized(y)) {
		kind kx = kind_of(x);
		if ((kx != K_QU8 && kx != K_QS8) || !same_quant(x, y))
			return unsupported(c, "quantized padding that requantizes or is not 8-bit per-tensor");
		if (kx == K_QU8)
			value.u8 = (uint8_t)qzero(x);
		else
			value.s8 = (int8_t)qzero(x);
	}
	const void *in = input_data(c, x);
	xnn_operator_t *op = next_op(c);
	if (!in || !op)
		return failed(c, NN_ERR_NOMEM, "out of memory");
	size_t es = nn_dtype_size(x->dtype);
	size_t r = (size_t)x->rank;
	int rc;
	if (es == 4) {
		rc = check(c, xnn_create_constant_pad_nd_x32(&value.u32, 0, op), "xnn_create_constant_pad_nd_x32");
		if (rc <= 0)
			return rc;
		return check(c, xnn_setup_constant_pad_nd_x32(*op, r, shape, pre, post, in, y->data, c->pool),
			     "xnn_setup_constant_pad_nd_x32");
	}
	if (es == 2) {
		rc = check(c, xnn_create_constant_pad_nd_x16(&value.u16, 0, op), "xnn_create_constant_pad_nd_x16");
		if (rc <= 0)
			return rc;
		return check(c, xnn_setup_constant_pad_nd_x16(*op, r, shape, pre, post, in, y->data, c->pool),
			     "xnn_setup_constant_pad_nd_x16");
	}
	if (es == 1) {
		rc = check(c, xnn_create_constant_pad_nd_x8(&value.u8, 0, op), "xnn_create_constant_pad_nd_x8");
		if (rc <= 0)
			return rc;
		return check(c, xnn_setup_constant_pad_nd_x8(*op, r, shape, pre, post, in, y->data, c->pool),
			     "xnn_setup_constant_pad_nd_x8");
	}
	return unsupported(c, "%s elements", nn_dtype_name(x->dtype));
}

static int build_resize(ctx *c)
{
	nn_tensor *x = input(c, 0), *y = output(c, 0);
	int align = c->n->p.resize.align_corners, half = c->n->p.resize.half_pixel_centers;
	if (!x || !y || x->rank != 4 || y->rank != 4)
		return unsupported(c, "expected rank-4 input and output");
	/*
	 * The ONNX coordinate modes XNNPACK reproduces: half_pixel is
	 * TensorFlow's half-pixel centres (both clamp the source coordinate into
	 * the input), pytorch_half_pixel is the same while no output axis has
	 * one pixel, asymmetric is TensorFlow's legacy mode, and align_corners
	 * XNNPACK's own flag (one output pixel divides by zero there). The
	 * others run on the reference kernel.
	 */
	switch (c->n->p.resize.coord) {
	case NN_RESIZE_TF:
		break;
	case NN_RESIZE_HALF_PIXEL:
		align = 0, half = 1;
		break;
	case NN_RESIZE_PYTORCH_HALF_PIXEL:
		if (y->shape[1] < 2 || y->shape[2] < 2)
			return unsupported(c, "pytorch_half_pixel with a one-pixel output axis");
		align = 0, half = 1;
		break;
	case NN_RESIZE_ALIGN_CORNERS:
		if (y->shape[1] < 2 || y->shape[2] < 2)
			return unsupported(c, "align_corners with a one-pixel output axis");
		align = 1, half = 0;
		break;
	case NN_RESIZE_ASYMMETRIC:
		align = 0, half = 0;
		break;
	default:
		return unsupported(c, "coordinate mode %d, which XNNPACK's resize does not reproduce",
				   (int)c->n->p.resize.coord);
	}
	if (align && half)
		return unsupported(c, "align_corners together with half_pixel_centers");
	if (x->shape[0] != y->shape[0] || x->shape[3] != y->shape[3] || nn_tensor_elements(x) <= 0 ||
	    nn_tensor_elements(y) <= 0)
		return unsupported(c, "batch or channels differ between input and output, or empty tensors");
	/* XNNPACK's default is half-pixel centres; the legacy mode is TensorFlow 1's corner-aligned sampling. */
	uint32_t flags = align ? XNN_FLAG_ALIGN_CORNERS : half ? 0 : XNN_FLAG_TENSORFLOW_LEGACY_MODE;
	kind kx = kind_of(x), ky = kind_of(y);
	if (kx != ky || (kx != K_F32 && kx != K_QU8 && kx != K_QS8))
		return unsupported(c, "%s input, %s output", kind_name(x), kind_name(y));
	if (kx != K_F32 && !same_quant(x, y))
		return unsupported(c, "input and output quantization differ");
	const void *in = input_data(c, x);
	xnn_operator_t *op = next_op(c);
	if (!in || !op)
		return failed(c, NN_ERR_NOMEM, "out of memory");
	size_t n = (size_t)x->shape[0], ih = (size_t)x->shape[1], iw = (size_t)x->shape[2], ch = (size_t)x->shape[3];
	size_t oh = (size_t)y->shape[1], ow = (size_t)y->shape[2];
	int rc;
	if (kx == K_F32) {
		rc = check(c, xnn_create_resize_bilinear2d_nhwc_f32(ch, ch, ch, flags, op),
			   "xnn_create_resize_bilinear2d_nhwc_f32");
		if (rc <= 0)
			return rc;
		return check(c, xnn_setup_resize_bilinear2d_nhwc_f32(*op, n, ih, iw, oh, ow, in, y->data, c->pool),
			     "xnn_setup_resize_bilinear2d_nhwc_f32");
	}
	if (kx == K_QU8) {
		rc = check(c, xnn_create_resize_bilinear2d_nhwc_u8(ch, ch, ch, flags, op),
			   "xnn_create_resize_bilinear2d_nhwc_u8");
		if (rc <= 0)
			return rc;
		return check(c, xnn_setup_resize_bilinear2d_nhwc_u8(*op, n, ih, iw, oh, ow, in, y->data, c->pool),
			     "xnn_setup_resize_bilinear2d_nhwc_u8");
	}
	rc = check(c, xnn_create_resize_bilinear2d_nhwc_s8(ch, ch, ch, flags, op),
		   "xnn_create_resize_bilinear2d_nhwc_s8");
	if (rc <= 0)
		return rc;
	return check(c, xnn_setup_resize_bilinear2d_nhwc_s8(*op, n, ih, iw, oh, ow, in, y->data, c->pool),
		     "xnn_setup_resize_bilinear2d_nhwc_s8");
}

/*
 * CONCATENATION as one strided copy per input: each input is `outer` rows of
 * its own slice, written at its offset within the output's rows.
 */
static int build_concat(ctx *c)
{
	const nn_node *n = c->n;
	nn_tensor *y = output(c, 0);
	if (!y || n->n_inputs < 1 || y->rank < 1)
		return unsupported(c, "no inputs or output");
	if (n->p.concat.act != NN_ACT_NONE)
		return unsupported(c, "fused activation");
	int axis = n->p.concat.axis < 0 ? n->p.concat.axis + y->rank : n->p.concat.axis;
	if (axis < 0 || axis >= y->rank)
		return unsupported(c, "axis %d outside rank %d", n->p.concat.axis, y->rank);
	size_t es = nn_dtype_size(y->dtype);
	int64_t outer = 1, out_row = 1;
	for (int d = 0; d < axis; d++)
		outer *= y->shape[d];
	for (int d = axis; d < y->rank; d++)
		out_row *= y->shape[d];
	if (outer <= 0 || out_row <= 0)
		return unsupported(c, "empty output");
	int64_t sum_axis = 0;
	for (int k = 0; k < n->n_inputs; k++) {
		const nn_tensor *x = input(c, k);
		if (!x || x->rank != y->rank || x->dtype != y->dtype)
			return unsupported(c, "input %d missing or of another rank or type than the output", k);
		for (int d = 0; d < y->rank; d++)
			if (d != axis && x->shape[d] != y->shape[d])
				return unsupported(c, "input %d's shape does not fit the output's", k);
		sum_axis += x->shape[axis];
		/* Copies move bytes, so inputs quantized otherwise than the output need requantize_u8. */
		if (nn_tensor_is_quantized(x) || nn_tensor_is_quantized(y)) {
			kind kx = kind_of(x);
			if ((kx != K_QU8 && kx != K_QS8) || kind_of(y) != kx || (kx == K_QS8 && !same_quant(x, y)))
				return unsupported(c, "input %d is quantized differently from the output (XNNPACK "
						      "requantizes only uint8)",
						   k);
		}
	}
	if (sum_axis != y->shape[axis])
		return unsupported(c, "inputs add up to %lld along axis %d; the output has %d", (long long)sum_axis,
				   axis, y->shape[axis]);
	/* Copy the widest unit that divides the element size: 4-byte words also carry int64. */
	size_t unit = es % 4 == 0 ? 4 : es % 2 == 0 ? 2 : 1;
	size_t per = es / unit;
	int64_t offset = 0;
	for (int k = 0; k < n->n_inputs; k++) {
		const nn_tensor *x = input(c, k);
		int64_t row = nn_tensor_elements(x) / outer;
		if (row == 0)
			continue;
		const void *in = input_data(c, x);
		xnn_operator_t *op = next_op(c);
		if (!in || !op)
			return failed(c, NN_ERR_NOMEM, "out of memory");
		size_t channels = (size_t)row * per, stride = (size_t)out_row * per;
		void *out = (char *)y->data + (size_t)offset * es;
		int rc;
		if (kind_of(y) == K_QU8 && !same_quant(x, y)) {
			rc = requantize_u8(c, x, y, op, (size_t)row, (size_t)out_row);
			if (rc > 0)
				rc = check(c, xnn_setup_leaky_relu_nc_qu8(*op, (size_t)outer, in, out, c->pool),
					   "xnn_setup_leaky_relu_nc_qu8");
		} else if (unit == 4) {
			rc = check(c, xnn_create_copy_nc_x32(channels, channels, stride, 0, op), "xnn_create_copy_nc_x32");
			if (rc > 0)
				rc = check(c, xnn_setup_copy_nc_x32(*op, (size_t)outer, in, out, c->pool),
					   "xnn_setup_copy_nc_x32");
		} else if (unit == 2) {
			rc = check(c, xnn_create_copy_nc_x16(channels, channels, stride, 0, op), "xnn_create_copy_nc_x16");
			if (rc > 0)
				rc = check(c, xnn_setup_copy_nc_x16(*op, (size_t)outer, in, out, c->pool),
					   "xnn_setup_copy_nc_x16");
		} else {
			rc = check(c, xnn_create_copy_nc_x8(channels, channels, stride, 0, op), "xnn_create_copy_nc_x8");
			if (rc > 0)
				rc = check(c, xnn_setup_copy_nc_x8(*op, (size_t)outer, in, out, c->pool),
					   "xnn_setup_copy_nc_x8");
		}
		if (rc <= 0)
			return rc;
		offset += row;
	}
	return 1;
}

/*
 * CLAMP (ONNX Clip) with arbitrary bounds. Quantized, with one encoding in
 * and out, clamping the integers between the quantized bounds is what the
 * reference's clamp in real values gives.
 */
static int build_clamp_bounds(ctx *c)
{
	nn_tensor *x = input(c, 0), *y = output(c, 0);
	float lo = c->n->p.clamp.min, hi = c->n->p.clamp.max;
	if (!x || !y || c->n->n_inputs != 1)
		return unsupported(c, "expected one input and an output");
	if (isnan(lo) || isnan(hi) || !(lo <= hi))
		return unsupported(c, "bounds [%g, %g] that XNNPACK's clamp cannot express", (double)lo, (double)hi);
	kind kx = kind_of(x), ky = kind_of(y);
	if (kx != ky || (kx != K_F32 && kx != K_QU8 && kx != K_QS8))
		return unsupported(c, "%s input, %s output", kind_name(x), kind_name(y));
	if (kx != K_F32 && !same_quant(x, y))
		return unsupported(c, "input and output quantization differ");
	unary u;
	int rc = unary_begin(c, &u, 0);
	if (rc <= 0)
		return rc;
	if (kx == K_F32) {
		rc = check(c, xnn_create_clamp_nc_f32(u.channels, u.channels, u.channels, lo, hi, 0, u.op),
			   "xnn_create_clamp_nc_f32");
		if (rc <= 0)
			return rc;
		return check(c, xnn_setup_clamp_nc_f32(*u.op, u.batch, u.in, u.out, c->pool), "xnn_setup_clamp_nc_f32");
	}
	int32_t qmin = kx == K_QU8 ? 0 : -128, qmax = kx == K_QU8 ? 255 : 127;
	int32_t qlo = isinf(lo) ? qmin : quantize_bound(lo, qscale(y), qzero(y), qmin, qmax);
	int32_t qhi = isinf(hi) ? qmax : quantize_bound(hi, qscale(y), qzero(y), qmin, qmax);
	if (qlo >= qhi)
		return unsupported(c, "the bounds leave a single output value");
	if (kx == K_QU8) {
		rc = check(c,
			   xnn_create_clamp_nc_u8(u.channels, u.channels, u.channels, (uint8_t)qlo, (uint8_t)qhi, 0, u.op),
			   "xnn_create_clamp_nc_u8");
		if (rc <= 0)
			return rc;
		return check(c, xnn_setup_clamp_nc_u8(*u.op, u.batch, u.in, u.out, c->pool), "xnn_setup_clamp_nc_u8");
	}
	rc = check(c, xnn_create_clamp_nc_s8(u.channels, u.channels, u.channels, (int8_t)qlo, (int8_t)qhi, 0, u.op),
		   "xnn_create_clamp_nc_s8");
	if (rc <= 0)
		return rc;
	return check(c, xnn_setup_clamp_nc_s8(*u.op, u.batch, u.in, u.out, c->pool), "xnn_setup_clamp_nc_s8");
}

/* ELU of quantized int8, XNNPACK's table-driven operator. */
static int build_elu_qs8(ctx *c, const nn_tensor *x, const nn_tensor *y)
{
	float alpha = c->n->p.elu.alpha;
	if (!isfinite(alpha))
		return unsupported(c, "alpha is not finite");
	unary u;
	int rc = unary_begin(c, &u, 0);
	if (rc <= 0)
		return rc;
	rc = check(c,
		   xnn_create_elu_nc_qs8(u.channels, u.channels, u.channels, alpha, (int8_t)qzero(x), qscale(x),
					 (int8_t)qzero(y), qscale(y), -128, 127, 0, u.op),
		   "xnn_create_elu_nc_qs8");
	if (rc <= 0)
		return rc;
	return check(c, xnn_setup_elu_nc_qs8(*u.op, u.batch, u.in, u.out, c->pool), "xnn_setup_elu_nc_qs8");
}

/* ABS, NEG and ELU of float32 (and ELU of quantized int8). */
static int build_f32_unary(ctx *c)
{
	nn_tensor *x = input(c, 0), *y = output(c, 0);
	if (x && y && c->n->op == NN_OP_ELU && kind_of(x) == K_QS8 && kind_of(y) == K_QS8)
		return build_elu_qs8(c, x, y);
	if (!x || !y || kind_of(x) != K_F32 || kind_of(y) != K_F32)
		return unsupported(c, "XNNPACK's %s takes float32%s only", nn_op_name(c->n->op),
				   c->n->op == NN_OP_ELU ? " or quantized int8" : "");
	unary u;
	int rc = unary_begin(c, &u, 0);
	if (rc <= 0)
		return rc;
	switch (c->n->op) {
	case NN_OP_ABS:
		return run_f32_nc(c, &u, F32_NC(abs));
	case NN_OP_NEG:
		return run_f32_nc(c, &u, F32_NC(negate));
	default: {
		float alpha = c->n->p.elu.alpha;
		if (!isfinite(alpha))
			return unsupported(c, "alpha is not finite");
		rc = check(c, xnn_create_elu_nc_f32(u.channels, u.channels, u.channels, alpha, 0, u.op),
			   "xnn_create_elu_nc_f32");
		if (rc <= 0)
			return rc;
		return check(c, xnn_setup_elu_nc_f32(*u.op, u.batch, u.in, u.out, c->pool), "xnn_setup_elu_nc_f32");
	}
	}
}

/*
 * SILU of float32: XNNPACK (this version) has no swish operator, so the node
 * runs its sigmoid into a scratch buffer of its own and multiplies, two
 * operators back to back in one node instead of two nodes and an arena
 * tensor between them.
 */
static int build_silu(ctx *c)
{
	nn_tensor *x = input(c, 0), *y = output(c, 0);
	if (!x || !y || kind_of(x) != K_F32 || kind_of(y) != K_F32)
		return unsupported(c, "float32 only");
	unary u;
	int rc = unary_begin(c, &u, 0);
	if (rc <= 0)
		return rc;
	size_t count = u.batch * u.channels;
	float *sig = keep_buffer(c, calloc(1, count * sizeof(float) + XNN_EXTRA_BYTES));
	xnn_operator_t *mul = next_op(c);
	if (!sig || !mul)
		return failed(c, NN_ERR_NOMEM, "out of memory");
	unary s = u;
	s.out = sig;
	rc = run_f32_nc(c, &s, F32_NC(sigmoid));
	if (rc <= 0)
		return rc;
	rc = check(c, xnn_create_multiply_nd_f32(-INFINITY, INFINITY, 0, mul), "xnn_create_multiply_nd_f32");
	if (rc <= 0)
		return rc;
	size_t shape[1] = { count };
	return check(c, xnn_setup_multiply_nd_f32(*mul, 1, shape, 1, shape, u.in, sig, y->data, c->pool),
		     "xnn_setup_multiply_nd_f32");
}

/* SQRT of float32 (MoveNet's keypoint distances). */
static int build_sqrt(ctx *c)
{
	nn_tensor *x = input(c, 0), *y = output(c, 0);
	if (!x || !y || kind_of(x) != K_F32 || kind_of(y) != K_F32)
		return unsupported(c, "only float32");
	unary u;
	int rc = unary_begin(c, &u, 0);
	if (rc <= 0)
		return rc;
	return run_f32_nc(c, &u, F32_NC(square_root));
}

/* DEPTH_TO_SPACE of 4-byte elements (float32, int32): XNNPACK's x32 operator, TensorFlow's DCR order. */
static int build_depth_to_space(ctx *c)
{
	nn_tensor *x = input(c, 0), *y = output(c, 0);
	int bs = c->n->p.space.block_size;
	if (!x || !y || x->rank != 4 || y->rank != 4 || x->dtype != y->dtype || nn_dtype_size(x->dtype) != 4)
		return unsupported(c, "only 4-byte elements in NHWC");
	if (nn_tensor_is_quantized(x) || nn_tensor_is_quantized(y))
		return unsupported(c, "quantized tensors");
	if (bs < 2 || x->shape[3] % (bs * bs) != 0 || y->shape[0] != x->shape[0] ||
	    (int64_t)y->shape[1] != (int64_t)x->shape[1] * bs || (int64_t)y->shape[2] != (int64_t)x->shape[2] * bs ||
	    y->shape[3] != x->shape[3] / (bs * bs))
		return unsupported(c, "shapes that are not a %dx%d depth-to-space", bs, bs);
	const void *in = input_data(c, x);
	xnn_operator_t *op = next_op(c);
	if (!in || !op)
		return failed(c, NN_ERR_NOMEM, "out of memory");
	size_t oc = (size_t)y->shape[3];
	int rc = check(c, xnn_create_depth_to_space_nhwc_x32(oc, (size_t)x->shape[3], oc, (uint32_t)bs, 0, op),
		       "xnn_create_depth_to_space_nhwc_x32");
	if (rc <= 0)
		return rc;
	return check(c, xnn_setup_depth_to_space_nhwc_x32(*op, (size_t)x->shape[0], (size_t)x->shape[1],
							   (size_t)x->shape[2], in, y->data, c->pool),
		     "xnn_setup_depth_to_space_nhwc_x32");
}

static int build(ctx *c)
{
	switch (c->n->op) {
	case NN_OP_CONV2D:
	case NN_OP_DEPTHWISE_CONV2D:
		return build_conv(c);
	case NN_OP_TRANSPOSE_CONV2D:
		return build_deconv(c);
	case NN_OP_FULLY_CONNECTED:
		return build_fc(c);
	case NN_OP_AVERAGE_POOL2D:
	case NN_OP_MAX_POOL2D:
		return build_pool(c);
	case NN_OP_MEAN:
		return build_mean(c);
	case NN_OP_ADD:
	case NN_OP_SUB:
	case NN_OP_MUL:
	case NN_OP_DIV:
	case NN_OP_MAXIMUM:
	case NN_OP_MINIMUM:
		return build_binary(c);
	case NN_OP_RELU:
	case NN_OP_RELU6:
	case NN_OP_RELU_N1_TO_1:
		return build_clamp(c);
	case NN_OP_LOGISTIC:
	case NN_OP_TANH:
		return build_logistic_tanh(c);
	case NN_OP_HARD_SWISH:
		return build_hard_swish(c);
	case NN_OP_LEAKY_RELU:
		return build_leaky_relu(c);
	case NN_OP_PRELU:
		return build_prelu(c);
	case NN_OP_SOFTMAX:
		return build_softmax(c);
	case NN_OP_QUANTIZE:
	case NN_OP_DEQUANTIZE:
		return build_convert(c);
	case NN_OP_PAD:
		return build_pad(c);
	case NN_OP_RESIZE_BILINEAR:
		return build_resize(c);
	case NN_OP_CONCATENATION:
		return build_concat(c);
	case NN_OP_DEPTH_TO_SPACE:
		return build_depth_to_space(c);
	case NN_OP_SQRT:
		return build_sqrt(c);
	case NN_OP_CAST:
		return build_cast(c);
	case NN_OP_CLAMP:
		return build_clamp_bounds(c);
	case NN_OP_ABS:
	case NN_OP_NEG:
	case NN_OP_ELU:
		return build_f32_unary(c);
	case NN_OP_SILU:
		return build_silu(c);
	default:
		return unsupported(c, "XNNPACK has no operator for %s", nn_op_name(c->n->op));
	}
}

static void free_state(xnn_state *st)
{
	if (!st)
		return;
	for (int i = 0; i < st->n_ops; i++)
		if (st->ops[i])
			xnn_delete_operator(st->ops[i]);
	for (int i = 0; i < st->n_buffers; i++)
		free(st->buffers[i]);
	free(st->ops);
	free(st->buffers);
	free(st);
}

int nn_xnn_create(nn_graph *g, nn_node *n, pthreadpool_t pool, char *why, size_t whylen, char *err, size_t errlen)
{
	xnn_state *st = calloc(1, sizeof *st);
	if (!st) {
		snprintf(err, errlen, "out of memory");
		return NN_ERR_NOMEM;
	}
	ctx c = { .g = g, .n = n, .pool = pool, .st = st, .why = why, .whylen = whylen, .err = err, .errlen = errlen };
	/* Output data is needed for setup; a node whose output has no place in the arena stays off XNNPACK. */
	for (int k = 0; k < n->n_outputs; k++)
		if (!g->tensors[n->outputs[k]].data) {
			free_state(st);
			return unsupported(&c, "output has no memory");
		}
	int rc = build(&c);
	if (rc <= 0) {
		free_state(st);
		return rc;
	}
	n->backend = st;
	return 1;
}

int nn_xnn_run(nn_node *n, pthreadpool_t pool, char *err, size_t errlen)
{
	xnn_state *st = n->backend;
	if (!st) {
		snprintf(err, errlen, "no XNNPACK operator was created");
		return NN_ERR_BACKEND;
	}
	for (int i = 0; i < st->n_ops; i++) {
		enum xnn_status s = xnn_run_operator(st->ops[i], pool);
		if (s != xnn_status_success) {
			snprintf(err, errlen, "XNNPACK failed to run the operator: %s", status_name(s));
			return NN_ERR_BACKEND;
		}
	}
	if (st->silu)
		nn_native_silu_inplace(st->silu, st->silu_count, pool);
	return 0;
}

void nn_xnn_destroy(nn_node *n)
{
	free_state(n->backend);
	n->backend = NULL;
}
