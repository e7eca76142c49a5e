#include "nn/backend/xnn.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xnnpack.h>

#include "nn/backend/native.h"
#include "nn/backend/xnn_internal.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static enum xnn_status init_status = xnn_status_uninitialized;

static void init_xnnpack(void)
{
	init_status = xnn_initialize(NULL);
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
	int32_t lo = 0, hi = 0;
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
	if (p->dilation_h > 1 || p->dilation_w > 1 || c->n->n_outputs != 1)
		return unsupported(c, "dilated pooling or the indices of the maxima");
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
	/* XNNPACK pads with a constant only: reflect and edge run on the reference kernel. */
	if (c->n->p.pad.mode != NN_PAD_CONSTANT)
		return unsupported(c, "pad mode %d (constant only)", (int)c->n->p.pad.mode);
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
	/* p.pad.value in the real domain: float32 takes it as is, 0 is the zero point for quantized tensors. */
	union {
		float f;
		uint32_t u32;
		uint16_t u16;
		uint8_t u8;
		int8_t s8;
	} value = { .u32 = 0 };
	if (c->n->p.pad.value != 0.0f) {
		if (x->dtype != NN_F32 || nn_tensor_is_quantized(x))
			return unsupported(c, "pad value %g in %s elements", (double)c->n->p.pad.value,
					   nn_dtype_name(x->dtype));
		value.f = c->n->p.pad.value;
	}
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
	/* XNNPACK maps coordinates with out / in: an explicit ONNX scale that differs runs on the reference kernel. */
	if (c->n->p.resize.scale_h > 0 || c->n->p.resize.scale_w > 0)
		return unsupported(c, "explicit scales %g, %g", (double)c->n->p.resize.scale_h,
				   (double)c->n->p.resize.scale_w);
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
		return nn_xnn_build_clamp(c);
	case NN_OP_LOGISTIC:
	case NN_OP_TANH:
		return nn_xnn_build_logistic_tanh(c);
	case NN_OP_HARD_SWISH:
		return nn_xnn_build_hard_swish(c);
	case NN_OP_LEAKY_RELU:
		return nn_xnn_build_leaky_relu(c);
	case NN_OP_PRELU:
		return nn_xnn_build_prelu(c);
	case NN_OP_SOFTMAX:
		return nn_xnn_build_softmax(c);
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
		return nn_xnn_build_sqrt(c);
	case NN_OP_CAST:
		return build_cast(c);
	case NN_OP_CLAMP:
		return nn_xnn_build_clamp_bounds(c);
	case NN_OP_ABS:
	case NN_OP_NEG:
	case NN_OP_ELU:
		return nn_xnn_build_f32_unary(c);
	case NN_OP_SILU:
		return nn_xnn_build_silu(c);
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
