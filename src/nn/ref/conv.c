/*
 * CONV2D, DEPTHWISE_CONV2D and TRANSPOSE_CONV2D, in float32 and in quantized
 * uint8/int8 (per-tensor or per-output-channel filter scales).
 *
 * CONV2D and DEPTHWISE_CONV2D share one loop: a depthwise convolution is a
 * grouped convolution with one group per input channel, whose filter is laid
 * out [1, kh, kw, out_channels] instead of [out_channels, kh, kw, in/groups].
 * The loop walks the filter through strides, so only the strides differ.
 */
#include <math.h>

#include "nn/ref/quant.h"

typedef struct conv_operands {
	const nn_tensor *input, *filter, *bias;
	const nn_tensor *output_shape; /* TRANSPOSE_CONV2D in TFLite's input order only */
	nn_tensor *output;
} conv_operands;

/*
 * TRANSPOSE_CONV2D keeps TensorFlow Lite's input order (output_shape,
 * filter, input, optional bias) when the loader maps it one to one; the
 * convolution order (input, filter, optional bias) is accepted too. The two
 * are told apart by the first input: a rank-1 int32 output_shape is never a
 * valid rank-4 activation.
 */
static void get_operands(const nn_graph *g, const nn_node *n, conv_operands *o)
{
	o->output = n->n_outputs == 1 ? nn_ref_output(g, n, 0) : NULL;
	o->output_shape = NULL;
	const nn_tensor *first = nn_ref_input(g, n, 0);
	if (n->op == NN_OP_TRANSPOSE_CONV2D && n->n_inputs >= 3 && first && first->dtype == NN_I32 &&
	    first->rank == 1) {
		o->output_shape = first;
		o->filter = nn_ref_input(g, n, 1);
		o->input = nn_ref_input(g, n, 2);
		o->bias = nn_ref_input(g, n, 3);
	} else {
		o->input = first;
		o->filter = nn_ref_input(g, n, 1);
		o->bias = nn_ref_input(g, n, 2);
	}
}

/* The filter axis that holds the output channels, along which per-channel scales run. */
static int channel_axis(nn_op op)
{
	return op == NN_OP_DEPTHWISE_CONV2D ? 3 : 0;
}

int nn_ref_conv_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen)
{
	conv_operands o;
	get_operands(g, n, &o);
	if (!o.input || !o.filter || !o.output)
		return nn_ref_fail(why, whylen, n, 0, "expects an input, a filter, an optional bias and one output");
	const nn_conv_params *p = &n->p.conv;
	if (p->stride_h < 1 || p->stride_w < 1)
		return nn_ref_fail(why, whylen, n, 0, "stride %dx%d is invalid", p->stride_h, p->stride_w);
	if (n->op == NN_OP_TRANSPOSE_CONV2D) {
		/* TFLite's TRANSPOSE_CONV has no dilation; a loader may leave the field 0. */
		if (p->dilation_h > 1 || p->dilation_w > 1)
			return nn_ref_fail(why, whylen, n, 0, "dilation is not supported");
	} else if (p->dilation_h < 1 || p->dilation_w < 1) {
		return nn_ref_fail(why, whylen, n, 0, "dilation %dx%d is invalid", p->dilation_h, p->dilation_w);
	}
	if (p->padding != NN_PADDING_VALID && p->padding != NN_PADDING_SAME && p->padding != NN_PADDING_EXPLICIT)
		return nn_ref_fail(why, whylen, n, 0, "unknown padding %d", (int)p->padding);
	if (p->padding == NN_PADDING_EXPLICIT &&
	    (p->pad_top < 0 || p->pad_bottom < 0 || p->pad_left < 0 || p->pad_right < 0))
		return nn_ref_fail(why, whylen, n, 0, "negative explicit padding is not supported");
	if ((unsigned)p->act > NN_ACT_SILU)
		return nn_ref_fail(why, whylen, n, 0, "unknown fused activation %d", (int)p->act);
	if (p->act == NN_ACT_SILU && o.input->dtype != NN_F32)
		return nn_ref_fail(why, whylen, n, 0, "fused SILU on a quantized convolution");

	nn_dtype dt = o.input->dtype;
	if (dt != NN_F32 && dt != NN_U8 && dt != NN_I8)
		return nn_ref_fail(why, whylen, n, 0, "%s input is not supported", nn_dtype_name(dt));
	if (o.filter->dtype != dt)
		return nn_ref_fail(why, whylen, n, 0, "%s filter with %s input is not supported",
				   nn_dtype_name(o.filter->dtype), nn_dtype_name(dt));
	if (o.output->dtype != dt)
		return nn_ref_fail(why, whylen, n, 0, "%s output with %s input is not supported",
				   nn_dtype_name(o.output->dtype), nn_dtype_name(dt));
	nn_dtype bias_dt = dt == NN_F32 ? NN_F32 : NN_I32;
	if (o.bias && o.bias->dtype != bias_dt)
		return nn_ref_fail(why, whylen, n, 0, "%s bias with %s input is not supported (expected %s)",
				   nn_dtype_name(o.bias->dtype), nn_dtype_name(dt), nn_dtype_name(bias_dt));
	if (dt == NN_F32)
		return 1;
	if (!nn_ref_check_quant(n, o.input, "input", 0, why, whylen) ||
	    !nn_ref_check_quant(n, o.output, "output", 0, why, whylen) ||
	    !nn_ref_check_quant(n, o.filter, "filter", 1, why, whylen))
		return 0;
	if (o.filter->quant.count > 1 && o.filter->quant.axis != channel_axis(n->op))
		return nn_ref_fail(why, whylen, n, 0,
				   "per-channel filter scales along axis %d are not supported (expected %d)",
				   o.filter->quant.axis, channel_axis(n->op));
	return 1;
}

typedef struct conv_geometry {
	int batch, in_h, in_w, in_c;
	int out_h, out_w, out_c;
	int k_h, k_w;
	int pad_top, pad_left;
	int groups;             /* out_c and in_c are split into this many groups */
	int group_in_c;         /* input channels per group */
	/* Filter element (oc, ky, kx, ic) sits at oc*f_oc + ky*f_ky + kx*f_kx + ic*f_ic. */
	size_t f_oc, f_ky, f_kx, f_ic;
} conv_geometry;

static int shape_error(char *err, size_t errlen, const nn_node *n, const char *what, const nn_tensor *t)
{
	char buf[NN_REF_SHAPE_BUF];
	return nn_ref_fail(err, errlen, n, NN_ERR_SHAPE, "%s has shape %s", what, nn_ref_shape_str(t, buf));
}

/* Checks the shapes of a CONV2D or DEPTHWISE_CONV2D node and fills in its geometry. */
static int conv_geometry_of(const nn_node *n, const conv_operands *o, conv_geometry *c, char *err, size_t errlen)
{
	const nn_conv_params *p = &n->p.conv;
	const nn_tensor *in = o->input, *f = o->filter, *out = o->output;
	if (in->rank != 4)
		return shape_error(err, errlen, n, "input is not NHWC: it", in);
	if (f->rank != 4)
		return shape_error(err, errlen, n, "filter is not rank 4: it", f);
	if (out->rank != 4)
		return shape_error(err, errlen, n, "output is not NHWC: it", out);
	c->batch = in->shape[0], c->in_h = in->shape[1], c->in_w = in->shape[2], c->in_c = in->shape[3];
	c->k_h = f->shape[1], c->k_w = f->shape[2];

	if (n->op == NN_OP_CONV2D) {
		c->out_c = f->shape[0];
		c->group_in_c = f->shape[3];
		if (c->in_c < 1 || c->group_in_c < 1 || c->in_c % c->group_in_c != 0)
			return nn_ref_fail(err, errlen, n, NN_ERR_SHAPE,
					   "input has %d channels, not a multiple of the filter's %d", c->in_c,
					   c->group_in_c);
		c->groups = c->in_c / c->group_in_c;
		if (c->out_c % c->groups != 0)
			return nn_ref_fail(err, errlen, n, NN_ERR_SHAPE,
					   "%d output channels cannot be split into %d groups", c->out_c, c->groups);
		c->f_ic = 1;
		c->f_kx = (size_t)c->group_in_c;
		c->f_ky = c->f_kx * (size_t)c->k_w;
		c->f_oc = c->f_ky * (size_t)c->k_h;
	} else {
		/*
		 * The multiplier comes from the shapes, as in TFLite's kernels:
		 * some converters leave the depth_multiplier field inconsistent.
		 */
		c->out_c = f->shape[3];
		if (f->shape[0] != 1 || c->in_c < 1 || c->out_c % c->in_c != 0)
			return nn_ref_fail(err, errlen, n, NN_ERR_SHAPE,
					   "filter [1,kh,kw,%d] does not fit an input with %d channels", c->out_c,
					   c->in_c);
		c->groups = c->in_c;
		c->group_in_c = 1;
		c->f_oc = 1;
		c->f_kx = (size_t)c->out_c;
		c->f_ky = c->f_kx * (size_t)c->k_w;
		c->f_ic = 0;
	}

	int expect_h, expect_w;
	if (nn_ref_window(p->padding, c->in_h, c->k_h, p->stride_h, p->dilation_h, p->pad_top, p->pad_bottom,
			  &expect_h) < 0 ||
	    nn_ref_window(p->padding, c->in_w, c->k_w, p->stride_w, p->dilation_w, p->pad_left, p->pad_right,
			  &expect_w) < 0)
		return nn_ref_fail(err, errlen, n, NN_ERR_SHAPE, "a %dx%d filter does not fit a %dx%d input",
				   c->k_h, c->k_w, c->in_h, c->in_w);
	c->out_h = out->shape[1], c->out_w = out->shape[2];
	if (out->shape[0] != c->batch || c->out_h != expect_h || c->out_w != expect_w || out->shape[3] != c->out_c) {
		char a[NN_REF_SHAPE_BUF], b[NN_REF_SHAPE_BUF];
		return nn_ref_fail(
			err, errlen, n, NN_ERR_SHAPE, "output has shape %s, expected [%d,%d,%d,%d] from input %s",
			nn_ref_shape_str(out, a), c->batch, expect_h, expect_w, c->out_c, nn_ref_shape_str(in, b));
	}
	c->pad_top = nn_ref_window_pad(p->padding, c->in_h, c->k_h, p->stride_h, p->dilation_h, p->pad_top, c->out_h);
	c->pad_left = nn_ref_window_pad(p->padding, c->in_w, c->k_w, p->stride_w, p->dilation_w, p->pad_left, c->out_w);
	return NN_OK;
}

static int check_bias(const nn_node *n, const nn_tensor *bias, int out_c, char *err, size_t errlen)
{
	if (bias && nn_ref_elements(bias) != out_c)
		return nn_ref_fail(err, errlen, n, NN_ERR_SHAPE, "bias has %lld values for %d output channels",
				   (long long)nn_ref_elements(bias), out_c);
	return NN_OK;
}

/* Adds the bias to a float accumulator, applies the fused activation and stores output element i. */
static void store_float(const conv_operands *o, const nn_conv_params *p, double acc, int oc, float lo, float hi,
			size_t i)
{
	if (o->bias)
		acc += ((const float *)o->bias->data)[oc];
	float v = (float)acc;
	if (p->act == NN_ACT_SILU)
		v = v / (1.0f + expf(-v));
	((float *)o->output->data)[i] = v < lo ? lo : v > hi ? hi : v;
}

/*
 * Adds the int32 bias (scale input * filter[oc]) to a quantized accumulator,
 * rescales it to the output's scale and stores output element i, clamped to
 * [qmin, qmax] (the dtype's range narrowed by the fused activation).
 */
static void store_quant(const conv_operands *o, int64_t acc, int oc, int32_t qmin, int32_t qmax, size_t i)
{
	if (o->bias)
		acc += ((const int32_t *)o->bias->data)[oc];
	double multiplier =
		(double)nn_ref_scale(o->input, 0) * nn_ref_scale(o->filter, oc) / nn_ref_scale(o->output, 0);
	nn_ref_store_q(o->output, i, nn_ref_requantize(acc, multiplier, nn_ref_zero_point(o->output, 0), qmin, qmax));
}

/* Offset of element (b, y, x, 0) in an NHWC tensor of the given height, width and channels. */
static size_t nhwc(int b, int64_t y, int64_t x, int h, int w, int channels)
{
	return (((size_t)b * (size_t)h + (size_t)y) * (size_t)w + (size_t)x) * (size_t)channels;
}

/*
 * The window of output pixel (b, oy, ox) for output channel oc: the dot
 * product of the in-bounds input taps with the filter. Padding contributes
 * nothing. In double, so that the oracle is more exact than what it checks.
 */
static double conv_dot_float(const conv_geometry *c, const nn_conv_params *p, const float *in, const float *w,
			     int b, int oy, int ox, int oc)
{
	int first_ic = (oc / (c->out_c / c->groups)) * c->group_in_c;
	double acc = 0.0;
	for (int ky = 0; ky < c->k_h; ky++) {
		int64_t iy = (int64_t)oy * p->stride_h - c->pad_top + (int64_t)ky * p->dilation_h;
		if (iy < 0 || iy >= c->in_h)
			continue;
		for (int kx = 0; kx < c->k_w; kx++) {
			int64_t ix = (int64_t)ox * p->stride_w - c->pad_left + (int64_t)kx * p->dilation_w;
			if (ix < 0 || ix >= c->in_w)
				continue;
			const float *src = in + nhwc(b, iy, ix, c->in_h, c->in_w, c->in_c) + first_ic;
			const float *tap = w + oc * c->f_oc + ky * c->f_ky + kx * c->f_kx;
			for (int ic = 0; ic < c->group_in_c; ic++)
				acc += (double)src[ic] * tap[ic * c->f_ic];
		}
	}
	return acc;
}

/* The same on quantized values, zero points subtracted. 64 bits: a long reduction could overflow int32. */
static int64_t conv_dot_quant(const conv_geometry *c, const nn_conv_params *p, const nn_tensor *input,
			      const nn_tensor *filter, int b, int oy, int ox, int oc)
{
	int first_ic = (oc / (c->out_c / c->groups)) * c->group_in_c;
	int32_t in_zp = nn_ref_zero_point(input, 0), w_zp = nn_ref_zero_point(filter, oc);
	int64_t acc = 0;
	for (int ky = 0; ky < c->k_h; ky++) {
		int64_t iy = (int64_t)oy * p->stride_h - c->pad_top + (int64_t)ky * p->dilation_h;
		if (iy < 0 || iy >= c->in_h)
			continue;
		for (int kx = 0; kx < c->k_w; kx++) {
			int64_t ix = (int64_t)ox * p->stride_w - c->pad_left + (int64_t)kx * p->dilation_w;
			if (ix < 0 || ix >= c->in_w)
				continue;
			size_t src = nhwc(b, iy, ix, c->in_h, c->in_w, c->in_c) + (size_t)first_ic;
			size_t tap = oc * c->f_oc + ky * c->f_ky + kx * c->f_kx;
			for (int ic = 0; ic < c->group_in_c; ic++)
				acc += (int64_t)(nn_ref_load_q(input, src + ic) - in_zp) *
				       (nn_ref_load_q(filter, tap + ic * c->f_ic) - w_zp);
		}
	}
	return acc;
}

static void conv_run(const nn_node *n, const conv_operands *o, const conv_geometry *c)
{
	const nn_conv_params *p = &n->p.conv;
	nn_tensor *output = o->output;
	int quantized = output->dtype != NN_F32;
	float lo, hi;
	nn_ref_act_range(p->act, &lo, &hi);
	int32_t qmin = 0, qmax = 0;
	if (quantized)
		nn_ref_act_range_q(p->act, output->dtype, nn_ref_scale(output, 0), nn_ref_zero_point(output, 0), &qmin,
				   &qmax);
	size_t o_i = 0;
	for (int b = 0; b < c->batch; b++)
		for (int oy = 0; oy < c->out_h; oy++)
			for (int ox = 0; ox < c->out_w; ox++)
				for (int oc = 0; oc < c->out_c; oc++, o_i++) {
					if (quantized) {
						int64_t acc = conv_dot_quant(c, p, o->input, o->filter, b, oy, ox, oc);
						store_quant(o, acc, oc, qmin, qmax, o_i);
					} else {
						double acc = conv_dot_float(c, p, o->input->data, o->filter->data, b,
									    oy, ox, oc);
						store_float(o, p, acc, oc, lo, hi, o_i);
					}
				}
}

/*
 * TRANSPOSE_CONV2D as TFLite's reference defines it: input pixel (iy, ix)
 * scatters filter tap (ky, kx) onto output pixel (iy*stride - pad + ky,
 * ix*stride - pad + kx). Here each output pixel gathers the taps that land
 * on it instead, which needs no scratch accumulator.
 */
typedef struct transpose_geometry {
	int batch, in_h, in_w, in_c;
	int out_h, out_w, out_c;
	int k_h, k_w;
	int pad_top, pad_left;
} transpose_geometry;

static int transpose_geometry_of(const nn_node *n, const conv_operands *o, transpose_geometry *t, char *err,
				 size_t errlen)
{
	const nn_conv_params *p = &n->p.conv;
	const nn_tensor *in = o->input, *f = o->filter, *out = o->output;
	if (in->rank != 4)
		return shape_error(err, errlen, n, "input is not NHWC: it", in);
	if (f->rank != 4)
		return shape_error(err, errlen, n, "filter is not rank 4: it", f);
	if (out->rank != 4)
		return shape_error(err, errlen, n, "output is not NHWC: it", out);
	t->batch = in->shape[0], t->in_h = in->shape[1], t->in_w = in->shape[2], t->in_c = in->shape[3];
	t->out_c = f->shape[0], t->k_h = f->shape[1], t->k_w = f->shape[2];
	t->out_h = out->shape[1], t->out_w = out->shape[2];
	if (f->shape[3] != t->in_c)
		return nn_ref_fail(err, errlen, n, NN_ERR_SHAPE, "filter has %d input channels, the input %d",
				   f->shape[3], t->in_c);
	if (out->shape[0] != t->batch || out->shape[3] != t->out_c) {
		char a[NN_REF_SHAPE_BUF];
		return nn_ref_fail(err, errlen, n, NN_ERR_SHAPE, "output has shape %s, expected [%d,h,w,%d]",
				   nn_ref_shape_str(out, a), t->batch, t->out_c);
	}
	if (o->output_shape && o->output_shape->data && nn_ref_elements(o->output_shape) == 4) {
		const int32_t *s = o->output_shape->data;
		for (int d = 0; d < 4; d++)
			if (s[d] != out->shape[d]) {
				char a[NN_REF_SHAPE_BUF];
				return nn_ref_fail(err, errlen, n, NN_ERR_SHAPE,
						   "output has shape %s, its output_shape input says [%d,%d,%d,%d]",
						   nn_ref_shape_str(out, a), (int)s[0], (int)s[1], (int)s[2],
						   (int)s[3]);
			}
	}
	if (t->k_h < 1 || t->k_w < 1 || t->out_h < 1 || t->out_w < 1)
		return shape_error(err, errlen, n, "output or filter is empty: output", out);

	/*
	 * TFLite derives the padding by treating the output as the input of the
	 * forward convolution, whose output size it recomputes (it does not use
	 * the actual input size).
	 */
	int fwd_h, fwd_w;
	if (p->padding == NN_PADDING_EXPLICIT) {
		t->pad_top = p->pad_top, t->pad_left = p->pad_left;
	} else if (nn_ref_window(p->padding, t->out_h, t->k_h, p->stride_h, 1, 0, 0, &fwd_h) < 0 ||
		   nn_ref_window(p->padding, t->out_w, t->k_w, p->stride_w, 1, 0, 0, &fwd_w) < 0) {
		/* VALID with a filter larger than the output: nothing of the filter is cut away. */
		t->pad_top = t->pad_left = 0;
	} else {
		t->pad_top = nn_ref_window_pad(p->padding, t->out_h, t->k_h, p->stride_h, 1, 0, fwd_h);
		t->pad_left = nn_ref_window_pad(p->padding, t->out_w, t->k_w, p->stride_w, 1, 0, fwd_w);
	}
	return NN_OK;
}

/* The input coordinate whose filter tap k lands on output coordinate o, or -1 when there is none. */
static int transpose_source(int o, int k, int stride, int pad, int in_size)
{
	int64_t shifted = (int64_t)o + pad - k;
	if (shifted < 0 || shifted % stride != 0)
		return -1;
	int64_t i = shifted / stride;
	return i < in_size ? (int)i : -1;
}

/* The taps landing on output pixel (b, oy, ox), channel oc, summed in double. */
static double transpose_dot_float(const transpose_geometry *t, const nn_conv_params *p, const float *in,
				  const float *w, int b, int oy, int ox, int oc)
{
	double acc = 0.0;
	for (int ky = 0; ky < t->k_h; ky++) {
		int iy = transpose_source(oy, ky, p->stride_h, t->pad_top, t->in_h);
		if (iy < 0)
			continue;
		for (int kx = 0; kx < t->k_w; kx++) {
			int ix = transpose_source(ox, kx, p->stride_w, t->pad_left, t->in_w);
			if (ix < 0)
				continue;
			const float *src = in + nhwc(b, iy, ix, t->in_h, t->in_w, t->in_c);
			/* An OHWI filter is laid out like an NHWC tensor. */
			const float *tap = w + nhwc(oc, ky, kx, t->k_h, t->k_w, t->in_c);
			for (int ic = 0; ic < t->in_c; ic++)
				acc += (double)src[ic] * tap[ic];
		}
	}
	return acc;
}

static int64_t transpose_dot_quant(const transpose_geometry *t, const nn_conv_params *p, const nn_tensor *input,
				   const nn_tensor *filter, int b, int oy, int ox, int oc)
{
	int32_t in_zp = nn_ref_zero_point(input, 0), w_zp = nn_ref_zero_point(filter, oc);
	int64_t acc = 0;
	for (int ky = 0; ky < t->k_h; ky++) {
		int iy = transpose_source(oy, ky, p->stride_h, t->pad_top, t->in_h);
		if (iy < 0)
			continue;
		for (int kx = 0; kx < t->k_w; kx++) {
			int ix = transpose_source(ox, kx, p->stride_w, t->pad_left, t->in_w);
			if (ix < 0)
				continue;
			size_t src = nhwc(b, iy, ix, t->in_h, t->in_w, t->in_c);
			size_t tap = nhwc(oc, ky, kx, t->k_h, t->k_w, t->in_c);
			for (int ic = 0; ic < t->in_c; ic++)
				acc += (int64_t)(nn_ref_load_q(input, src + ic) - in_zp) *
				       (nn_ref_load_q(filter, tap + ic) - w_zp);
		}
	}
	return acc;
}

static void transpose_run(const nn_node *n, const conv_operands *o, const transpose_geometry *t)
{
	const nn_conv_params *p = &n->p.conv;
	nn_tensor *output = o->output;
	int quantized = output->dtype != NN_F32;
	float lo, hi;
	nn_ref_act_range(p->act, &lo, &hi);
	int32_t qmin = 0, qmax = 0;
	if (quantized)
		nn_ref_act_range_q(p->act, output->dtype, nn_ref_scale(output, 0), nn_ref_zero_point(output, 0), &qmin,
				   &qmax);
	size_t o_i = 0;
	for (int b = 0; b < t->batch; b++)
		for (int oy = 0; oy < t->out_h; oy++)
			for (int ox = 0; ox < t->out_w; ox++)
				for (int oc = 0; oc < t->out_c; oc++, o_i++) {
					if (quantized) {
						int64_t acc =
							transpose_dot_quant(t, p, o->input, o->filter, b, oy, ox, oc);
						store_quant(o, acc, oc, qmin, qmax, o_i);
					} else {
						double acc = transpose_dot_float(t, p, o->input->data, o->filter->data,
										 b, oy, ox, oc);
						store_float(o, p, acc, oc, lo, hi, o_i);
					}
				}
}

int nn_ref_conv_run(nn_graph *g, const nn_node *n, char *err, size_t errlen)
{
	conv_operands o;
	get_operands(g, n, &o);
	int rc;
	if (n->op == NN_OP_TRANSPOSE_CONV2D) {
		transpose_geometry t = { 0 };
		if ((rc = transpose_geometry_of(n, &o, &t, err, errlen)) < 0 ||
		    (rc = check_bias(n, o.bias, t.out_c, err, errlen)) < 0)
			return rc;
		transpose_run(n, &o, &t);
		return NN_OK;
	}
	conv_geometry c = { 0 };
	if ((rc = conv_geometry_of(n, &o, &c, err, errlen)) < 0 ||
	    (rc = check_bias(n, o.bias, c.out_c, err, errlen)) < 0)
		return rc;
	conv_run(n, &o, &c);
	return NN_OK;
}
