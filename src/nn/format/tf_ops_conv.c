/*
 * TensorFlow's convolutions, pooling, matrix products and batch
 * normalisation onto the IR: filters converted to the IR's layouts (HWIO to
 * OHWI), batch normalisation folded into the weights where it follows a
 * convolution.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/format/slice_spec.h"
#include "nn/format/tf_ops_internal.h"

int tfo_check_nhwc(tfo *c, const tfo_node *n)
{
	char s[16];
	int present, rc = tfo_attr_string(c, n, "data_format", s, sizeof s, &present);
	if (rc < 0)
		return rc;
	if (present && strcmp(s, "NHWC") != 0)
		return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED, "data_format '%s' is not supported; expected NHWC", s);
	return 0;
}

/* A [1, h, w, 1] list attribute (strides, dilations, ksize). */
static int hw_list(tfo *c, const tfo_node *n, const char *key, int required, int *h, int *w)
{
	int64_t v[8];
	int count, rc = tfo_attr_ints(c, n, key, v, 8, &count);
	if (rc < 0)
		return rc;
	if (count <= 0 && !required) {
		*h = *w = 1;
		return 0;
	}
	if (count != 4)
		return tfo_node_fail(c, n, NN_ERR_FORMAT, "attribute '%s' has %d values, expected 4 ([1, height, width, 1])", key,
				 count < 0 ? 0 : count);
	if (v[0] != 1 || v[3] != 1)
		return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED, "attribute '%s' [%lld,%lld,%lld,%lld] acts on the batch or channels",
				 key, (long long)v[0], (long long)v[1], (long long)v[2], (long long)v[3]);
	if (v[1] < 1 || v[1] > MAX_PARAM || v[2] < 1 || v[2] > MAX_PARAM)
		return tfo_node_fail(c, n, NN_ERR_FORMAT, "attribute '%s' has values outside 1..%d", key, MAX_PARAM);
	*h = (int)v[1];
	*w = (int)v[2];
	return 0;
}

/* The padding attribute; pads[] gets top, bottom, left, right for EXPLICIT. */
static int read_padding(tfo *c, const tfo_node *n, nn_padding *pad, int *pads)
{
	char s[16];
	int present, rc = tfo_attr_string(c, n, "padding", s, sizeof s, &present);
	memset(pads, 0, 4 * sizeof *pads);
	if (rc < 0)
		return rc;
	if (!present)
		return tfo_node_fail(c, n, NN_ERR_FORMAT, "has no 'padding' attribute");
	if (!strcmp(s, "SAME")) {
		*pad = NN_PADDING_SAME;
	} else if (!strcmp(s, "VALID")) {
		*pad = NN_PADDING_VALID;
	} else if (!strcmp(s, "EXPLICIT")) {
		int64_t v[8];
		int count;
		if ((rc = tfo_attr_ints(c, n, "explicit_paddings", v, 8, &count)) < 0)
			return rc;
		if (count != 8)
			return tfo_node_fail(c, n, NN_ERR_FORMAT, "EXPLICIT padding needs 8 explicit_paddings, found %d",
					 count < 0 ? 0 : count);
		if (v[0] || v[1] || v[6] || v[7])
			return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED, "explicit padding of the batch or channels is not supported");
		for (int k = 0; k < 4; k++) {
			if (v[2 + k] < 0 || v[2 + k] > MAX_PARAM)
				return tfo_node_fail(c, n, NN_ERR_FORMAT, "explicit padding %lld is outside 0..%d",
						 (long long)v[2 + k], MAX_PARAM);
			pads[k] = (int)v[2 + k];
		}
		*pad = NN_PADDING_EXPLICIT;
	} else {
		return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED, "padding '%s' is not supported; expected SAME, VALID or EXPLICIT", s);
	}
	return 0;
}

/* The output size along one axis of a convolution or pool, as TensorFlow computes it. */
static int window(tfo *c, const tfo_node *n, nn_padding pad, int64_t in, int k, int stride, int dil, int before,
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
		return tfo_node_fail(c, n, NN_ERR_SHAPE, "a window of %lld along the %s does not fit the input's %lld",
				 (long long)eff, axis, (long long)in);
	*out = size;
	return 0;
}

/* Scale and bias of a batch normalisation fused into a convolution (TF: _FusedConv2D with FusedBatchNorm). */
static int batch_norm_factors(tfo *c, const tfo_node *n, int first_arg, int channels, float **scale, float **bias)
{
	static const char *const what[4] = { "scale", "offset", "mean", "variance" };
	const float *v[4];
	float eps;
	int rc = tfo_attr_float(c, n, "epsilon", 0.0f, &eps);
	if (rc < 0)
		return rc;
	for (int k = 0; k < 4; k++) {
		int t;
		if ((rc = tfo_input_of(c, n, first_arg + k, NN_F32, -1, &t)) < 0 || (rc = tfo_make_const(c, n, t, what[k], 0)) < 0)
			return rc;
		if (nn_tensor_elements(T(c, t)) != channels)
			return tfo_node_fail(c, n, NN_ERR_SHAPE, "batch norm %s '%.160s' has %lld values for %d channels", what[k],
					 T(c, t)->name, (long long)nn_tensor_elements(T(c, t)), channels);
		v[k] = T(c, t)->data;
	}
	*scale = malloc((size_t)channels * sizeof **scale);
	*bias = malloc((size_t)channels * sizeof **bias);
	if (!*scale || !*bias)
		return tfo_nomem(c);
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
static int convert_filter(tfo *c, const tfo_node *n, int src, int depthwise, const float *scale, int *out)
{
	const nn_tensor w = *T(c, src);
	int kh = w.shape[0], kw = w.shape[1], ci = w.shape[2], co = w.shape[3];
	int64_t shape[4];
	if (depthwise) {
		shape[0] = 1, shape[1] = kh, shape[2] = kw, shape[3] = (int64_t)ci * co;
	} else {
		shape[0] = co, shape[1] = kh, shape[2] = kw, shape[3] = ci;
	}
	int t = tfo_add_temp(c, n, depthwise ? "/filter_1hwc" : "/filter_ohwi", NN_F32, 4, shape);
	if (t < 0)
		return t;
	if (nn_tensor_alloc_const(T(c, t)) < 0)
		return tfo_nomem(c);
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

/* Conv2D, DepthwiseConv2dNative and their fused forms (_FusedConv2D, FusedDepthwiseConv2dNative). */
int tfo_map_conv(tfo *c, tfo_node *n, int kind)
{
	int depthwise = kind == DW_PLAIN || kind == DW_FUSED, fused = kind == CONV_FUSED || kind == DW_FUSED;
	nn_conv_params p = { .depth_multiplier = 1 };
	int pads[4], rc, x, w;
	if ((rc = tfo_init_outputs(c, n, 1)) < 0 || (rc = tfo_check_nhwc(c, n)) < 0 ||
	    (rc = hw_list(c, n, "strides", 1, &p.stride_h, &p.stride_w)) < 0 ||
	    (rc = hw_list(c, n, "dilations", 0, &p.dilation_h, &p.dilation_w)) < 0 ||
	    (rc = read_padding(c, n, &p.padding, pads)) < 0 || (rc = tfo_want_inputs(c, n, 2, fused ? 8 : 2)) < 0 ||
	    (rc = tfo_input_of(c, n, 0, NN_F32, 4, &x)) < 0 || (rc = tfo_input_of(c, n, 1, NN_F32, 4, &w)) < 0 ||
	    (rc = tfo_make_const(c, n, w, "the filter", 0)) < 0)
		return rc;
	p.pad_top = pads[0], p.pad_bottom = pads[1], p.pad_left = pads[2], p.pad_right = pads[3];
	const nn_tensor xi = *T(c, x), wi = *T(c, w);
	int in_c = xi.shape[3], kh = wi.shape[0], kw = wi.shape[1], fi = wi.shape[2], fo = wi.shape[3], out_c;
	char s1[96], s2[96];
	if (kh < 1 || kw < 1 || fi < 1 || fo < 1 || in_c < 1)
		return tfo_node_fail(c, n, NN_ERR_SHAPE, "the filter %s or the input %s is empty", tfo_tshape(&wi, s1, sizeof s1),
				 tfo_tshape(&xi, s2, sizeof s2));
	if (depthwise) {
		if (fi != in_c || (int64_t)fi * fo > INT32_MAX)
			return tfo_node_fail(c, n, NN_ERR_SHAPE, "filter %s does not fit input %s: expected [kh,kw,%d,multiplier]",
					 tfo_tshape(&wi, s1, sizeof s1), tfo_tshape(&xi, s2, sizeof s2), in_c);
		out_c = fi * fo;
		p.depth_multiplier = fo;
	} else {
		if (in_c % fi != 0 || fo % (in_c / fi) != 0)
			return tfo_node_fail(c, n, NN_ERR_SHAPE, "filter %s (HWIO) does not fit input %s", tfo_tshape(&wi, s1, sizeof s1),
					 tfo_tshape(&xi, s2, sizeof s2));
		out_c = fo;
	}

	/* The fused ops: a bias or a batch norm first, then at most one activation. */
	char ops[4][32];
	int n_ops = 0, num_args = 0;
	if (fused) {
		const nn_tf_attr *list = tfo_attr_get(n, "fused_ops");
		if (list && (list->kind != NN_TF_ATTR_LIST || (list->n > 0 && list->list_kind != NN_TF_ATTR_STRING)))
			return tfo_node_fail(c, n, NN_ERR_FORMAT, "attribute 'fused_ops' is not a list of strings");
		for (int k = 0; list && k < list->n; k++) {
			if (n_ops >= 4)
				return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED, "more than 3 fused ops are not supported");
			size_t len = list->string_lens[k];
			if (len >= sizeof ops[n_ops] || memchr(list->strings[k], 0, len))
				return tfo_node_fail(c, n, NN_ERR_FORMAT, "attribute 'fused_ops' holds a malformed name");
			memcpy(ops[n_ops], list->strings[k], len);
			ops[n_ops][len] = 0;
			n_ops++;
		}
		int64_t na;
		if ((rc = tfo_attr_int(c, n, "num_args", n->n_in - 2, 0, 6, &na)) < 0)
			return rc;
		num_args = (int)na;
		if (num_args != n->n_in - 2)
			return tfo_node_fail(c, n, NN_ERR_FORMAT, "num_args is %d but the node has %d extra inputs", num_args,
					 n->n_in - 2);
	}
	float *bn_scale = NULL, *bn_bias = NULL;
	int bias = -1, next = 0, arg = 2;
	nn_op extra = NN_OP_COUNT;
	float alpha = 0.2f;
	int prelu_alpha = -1;
	if (n_ops > 0 && !strcmp(ops[0], "BiasAdd")) {
		if (num_args < 1)
			return tfo_node_fail(c, n, NN_ERR_FORMAT, "fused BiasAdd without a bias input");
		if ((rc = tfo_input_of(c, n, arg++, NN_F32, -1, &bias)) < 0)
			return rc;
		if (nn_tensor_elements(T(c, bias)) != out_c || T(c, bias)->rank != 1)
			return tfo_node_fail(c, n, NN_ERR_SHAPE, "bias '%.160s' has shape %s, expected [%d]", T(c, bias)->name,
					 tfo_tshape(T(c, bias), s1, sizeof s1), out_c);
		next = 1;
	} else if (n_ops > 0 && (!strcmp(ops[0], "FusedBatchNorm") || !strcmp(ops[0], "FusedBatchNormV3"))) {
		if (num_args < 4)
			return tfo_node_fail(c, n, NN_ERR_FORMAT, "fused %s needs 4 inputs, found %d", ops[0], num_args);
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
			rc = tfo_attr_float(c, n, "leakyrelu_alpha", 0.2f, &alpha);
		} else if (!strcmp(a, "Sigmoid"))
			extra = NN_OP_LOGISTIC;
		else if (!strcmp(a, "Tanh"))
			extra = NN_OP_TANH;
		else if (!strcmp(a, "Prelu")) {
			extra = NN_OP_PRELU;
			if (arg >= n->n_in)
				rc = tfo_node_fail(c, n, NN_ERR_FORMAT, "fused Prelu without an alpha input");
			else
				rc = tfo_input_of(c, n, arg++, NN_F32, -1, &prelu_alpha);
		} else
			next = -1;
	}
	if (rc == 0 && (next < 0 || next < n_ops || (n_ops > 0 && bias < 0 && !bn_scale && p.act == NN_ACT_NONE &&
						      extra == NN_OP_COUNT)))
		rc = tfo_node_fail(c, n, NN_ERR_UNSUPPORTED,
			       "fused ops [%s%s%s%s%s] are not supported; expected BiasAdd or FusedBatchNorm, then optionally "
			       "Relu, Relu6, LeakyRelu, Sigmoid, Tanh or Prelu",
			       n_ops > 0 ? ops[0] : "", n_ops > 1 ? ", " : "", n_ops > 1 ? ops[1] : "", n_ops > 2 ? ", " : "",
			       n_ops > 2 ? ops[2] : "");
	if (rc == 0 && arg != n->n_in)
		rc = tfo_node_fail(c, n, NN_ERR_FORMAT, "has %d inputs, but its fused ops read %d", n->n_in, arg);

	int64_t oshape[4] = { xi.shape[0], 0, 0, out_c };
	int filter = -1;
	if (rc == 0 && n->space_to_batch)
		rc = tfo_fold_space_to_batch(c, n, &xi, kh, kw, &p, oshape);
	else if (rc == 0)
		rc = window(c, n, p.padding, xi.shape[1], kh, p.stride_h, p.dilation_h, p.pad_top, p.pad_bottom, "height",
			    &oshape[1]);
	if (rc == 0 && !n->space_to_batch)
		rc = window(c, n, p.padding, xi.shape[2], kw, p.stride_w, p.dilation_w, p.pad_left, p.pad_right, "width",
			    &oshape[2]);
	if (rc == 0)
		rc = convert_filter(c, n, w, depthwise, bn_scale, &filter);
	free(bn_scale);
	if (rc == 0 && bn_bias) {
		int64_t len = out_c;
		bias = tfo_add_temp(c, n, "/bias", NN_F32, 1, &len);
		if (bias < 0)
			rc = bias;
		else if (nn_tensor_alloc_const(T(c, bias)) < 0)
			rc = tfo_nomem(c);
		else
			memcpy(T(c, bias)->data, bn_bias, (size_t)out_c * sizeof *bn_bias);
	}
	free(bn_bias);
	if (rc < 0)
		return rc;

	int y = extra == NN_OP_COUNT ? tfo_out_tensor(c, n, 0, NN_F32, 4, oshape) : tfo_add_temp(c, n, "/conv", NN_F32, 4, oshape);
	if (y < 0)
		return y;
	int in[3] = { x, filter, bias };
	nn_node *node;
	if (tfo_add_node1(c, n, depthwise ? NN_OP_DEPTHWISE_CONV2D : NN_OP_CONV2D, 3, in, y, &node) < 0)
		return NN_ERR_NOMEM;
	node->p.conv = p;
	if (extra == NN_OP_COUNT)
		return 0;
	int o = tfo_out_tensor(c, n, 0, NN_F32, 4, oshape);
	if (o < 0)
		return o;
	int ain[2] = { y, prelu_alpha };
	if (tfo_add_node1(c, n, extra, extra == NN_OP_PRELU ? 2 : 1, ain, o, &node) < 0)
		return NN_ERR_NOMEM;
	if (extra == NN_OP_LEAKY_RELU)
		node->p.leaky_relu.alpha = alpha;
	return 0;
}

/* Conv2DBackpropInput (a transposed convolution): input_sizes, filter [kh,kw,out,in], input. */
int tfo_map_deconv(tfo *c, tfo_node *n, int arg)
{
	(void)arg;
	nn_conv_params p = { .depth_multiplier = 1 };
	int pads[4], rc, x, w, dh, dw, count;
	int64_t sizes[4];
	if ((rc = tfo_init_outputs(c, n, 1)) < 0 || (rc = tfo_check_nhwc(c, n)) < 0 ||
	    (rc = hw_list(c, n, "strides", 1, &p.stride_h, &p.stride_w)) < 0 ||
	    (rc = hw_list(c, n, "dilations", 0, &dh, &dw)) < 0 || (rc = read_padding(c, n, &p.padding, pads)) < 0 ||
	    (rc = tfo_want_inputs(c, n, 3, 3)) < 0 || (rc = tfo_const_ints(c, n, 0, "input_sizes", sizes, 4, &count)) < 0 ||
	    (rc = tfo_input_of(c, n, 1, NN_F32, 4, &w)) < 0 || (rc = tfo_input_of(c, n, 2, NN_F32, 4, &x)) < 0 ||
	    (rc = tfo_make_const(c, n, w, "the filter", 0)) < 0)
		return rc;
	if (dh != 1 || dw != 1)
		return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED, "dilated transposed convolutions are not supported");
	p.pad_top = pads[0], p.pad_bottom = pads[1], p.pad_left = pads[2], p.pad_right = pads[3];
	const nn_tensor xi = *T(c, x), wi = *T(c, w);
	int kh = wi.shape[0], kw = wi.shape[1], co = wi.shape[2], ci = wi.shape[3];
	char s1[96], s2[96];
	if (count != 4 || sizes[0] != xi.shape[0] || sizes[3] != co || sizes[1] < 1 || sizes[2] < 1 || kh < 1 || kw < 1 ||
	    ci != xi.shape[3])
		return tfo_node_fail(c, n, NN_ERR_SHAPE, "input_sizes, filter %s and input %s do not fit together",
				 tfo_tshape(&wi, s1, sizeof s1), tfo_tshape(&xi, s2, sizeof s2));
	/* The output must be what the forward convolution would turn back into the input. */
	int64_t fh, fw;
	if ((rc = window(c, n, p.padding, sizes[1], kh, p.stride_h, 1, p.pad_top, p.pad_bottom, "height", &fh)) < 0 ||
	    (rc = window(c, n, p.padding, sizes[2], kw, p.stride_w, 1, p.pad_left, p.pad_right, "width", &fw)) < 0)
		return rc;
	if (fh != xi.shape[1] || fw != xi.shape[2])
		return tfo_node_fail(c, n, NN_ERR_SHAPE,
				 "input_sizes [%lld,%lld,%lld,%lld] does not convolve back to the input %s",
				 (long long)sizes[0], (long long)sizes[1], (long long)sizes[2], (long long)sizes[3],
				 tfo_tshape(&xi, s2, sizeof s2));
	/* [kh,kw,out,in] to OHWI [out,kh,kw,in]. */
	int64_t fshape[4] = { co, kh, kw, ci };
	int f = tfo_add_temp(c, n, "/filter_ohwi", NN_F32, 4, fshape);
	if (f < 0)
		return f;
	if (nn_tensor_alloc_const(T(c, f)) < 0)
		return tfo_nomem(c);
	const float *src = wi.data;
	float *dst = T(c, f)->data;
	for (int y = 0; y < kh; y++)
		for (int xx = 0; xx < kw; xx++)
			for (int o = 0; o < co; o++)
				for (int i = 0; i < ci; i++)
					dst[(((size_t)o * kh + y) * kw + xx) * ci + i] =
						src[(((size_t)y * kw + xx) * co + o) * ci + i];
	int y = tfo_out_tensor(c, n, 0, NN_F32, 4, sizes);
	if (y < 0)
		return y;
	int in[2] = { x, f };
	nn_node *node;
	if (tfo_add_node1(c, n, NN_OP_TRANSPOSE_CONV2D, 2, in, y, &node) < 0)
		return NN_ERR_NOMEM;
	node->p.conv = p;
	return 0;
}

/* MaxPool and AvgPool. */
int tfo_map_pool(tfo *c, tfo_node *n, int max)
{
	nn_pool_params p = { 0 };
	int pads[4], rc, x;
	if ((rc = tfo_init_outputs(c, n, 1)) < 0 || (rc = tfo_check_nhwc(c, n)) < 0 ||
	    (rc = hw_list(c, n, "ksize", 1, &p.filter_h, &p.filter_w)) < 0 ||
	    (rc = hw_list(c, n, "strides", 1, &p.stride_h, &p.stride_w)) < 0 ||
	    (rc = read_padding(c, n, &p.padding, pads)) < 0 || (rc = tfo_want_inputs(c, n, 1, 1)) < 0 ||
	    (rc = tfo_input_of(c, n, 0, NN_F32, 4, &x)) < 0)
		return rc;
	p.pad_top = pads[0], p.pad_bottom = pads[1], p.pad_left = pads[2], p.pad_right = pads[3];
	const nn_tensor *xi = T(c, x);
	int64_t oshape[4] = { xi->shape[0], 0, 0, xi->shape[3] };
	if ((rc = window(c, n, p.padding, xi->shape[1], p.filter_h, p.stride_h, 1, p.pad_top, p.pad_bottom, "height",
			 &oshape[1])) < 0 ||
	    (rc = window(c, n, p.padding, xi->shape[2], p.filter_w, p.stride_w, 1, p.pad_left, p.pad_right, "width",
			 &oshape[2])) < 0)
		return rc;
	int y = tfo_out_tensor(c, n, 0, NN_F32, 4, oshape);
	if (y < 0)
		return y;
	nn_node *node;
	if (tfo_add_node1(c, n, max ? NN_OP_MAX_POOL2D : NN_OP_AVERAGE_POOL2D, 1, &x, y, &node) < 0)
		return NN_ERR_NOMEM;
	node->p.pool = p;
	return 0;
}

/* ---- dilated convolutions: SpaceToBatchND -> convolution -> BatchToSpaceND ---- */

/* block_shape and the [2,2] paddings or crops of a SpaceToBatchND or BatchToSpaceND, known at load time. */
static int space_params(tfo *c, const tfo_node *n, const char *what, int64_t block[2], int64_t pads[4])
{
	int rc, count;
	if ((rc = tfo_want_inputs(c, n, 3, 3)) < 0 || (rc = tfo_const_ints(c, n, 1, "block_shape", block, 2, &count)) < 0)
		return rc;
	if (count != 2 || block[0] < 1 || block[1] < 1 || block[0] > MAX_PARAM || block[1] > MAX_PARAM)
		return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED, "block_shape must hold two values from 1 to %d (height, width)",
				     MAX_PARAM);
	if ((rc = tfo_const_ints(c, n, 2, what, pads, 4, &count)) < 0)
		return rc;
	if (count != 4)
		return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED, "%s must be [2,2] (height, width)", what);
	for (int k = 0; k < 4; k++)
		if (pads[k] < 0 || pads[k] > MAX_PARAM)
			return tfo_node_fail(c, n, NN_ERR_FORMAT, "%s value %lld is outside 0..%d", what, (long long)pads[k],
					     MAX_PARAM);
	return 0;
}

/*
 * SpaceToBatchND. The IR has no such op: it is taken only where it opens
 * TensorFlow's dilated convolution (SpaceToBatchND, Conv2D or
 * DepthwiseConv2dNative, BatchToSpaceND with the same block), which folds
 * into one convolution whose dilation is the block. Here it passes its
 * input on and marks the convolution; tfo_map_conv does the rest.
 */
int tfo_map_space_to_batch(tfo *c, tfo_node *n, int arg)
{
	(void)arg;
	int rc, x, slot = -1, slot2 = -1;
	if ((rc = tfo_init_outputs(c, n, 1)) < 0 || (rc = tfo_want_inputs(c, n, 3, 3)) < 0 ||
	    (rc = tfo_input_of(c, n, 0, NN_F32, 4, &x)) < 0)
		return rc;
	tfo_node *conv = tfo_sole_reader(c, n, &slot);
	tfo_node *b2s = conv ? tfo_sole_reader(c, conv, &slot2) : NULL;
	if (!conv || slot != 0 || (strcmp(conv->op, "Conv2D") && strcmp(conv->op, "DepthwiseConv2dNative")) || !b2s ||
	    slot2 != 0 || strcmp(b2s->op, "BatchToSpaceND"))
		return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED,
				     "SpaceToBatchND is supported only as TensorFlow writes a dilated convolution: read by one "
				     "Conv2D or DepthwiseConv2dNative that one BatchToSpaceND reads");
	conv->space_to_batch = n;
	b2s->folded = 1;
	n->out[0] = x;
	return 0;
}

/* BatchToSpaceND: the end of a folded dilated convolution (see tfo_map_space_to_batch), passed on. */
int tfo_map_batch_to_space(tfo *c, tfo_node *n, int arg)
{
	(void)arg;
	int rc, x;
	if ((rc = tfo_init_outputs(c, n, 1)) < 0 || (rc = tfo_want_inputs(c, n, 3, 3)) < 0)
		return rc;
	if (!n->folded)
		return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED,
				     "BatchToSpaceND is supported only as TensorFlow writes a dilated convolution, after a "
				     "convolution of a SpaceToBatchND");
	if ((rc = tfo_input_tensor(c, n, 0, &x)) < 0)
		return rc;
	n->out[0] = x;
	return 0;
}

/*
 * The dilation and explicit padding of the one convolution that does what
 * SpaceToBatchND (block b, paddings pb/pa), a stride-1 convolution (kernel
 * k, inner SAME padding pt) and BatchToSpaceND (crops cb/ca) do together.
 * Output z of the chain reads input z + b*dy - (pb + b*pt - cb) for tap dy:
 * a convolution with dilation b and that much padding before; its output
 * size is the chain's, which sets the padding after.
 */
int tfo_fold_space_to_batch(tfo *c, tfo_node *conv, const nn_tensor *xi, int kh, int kw, nn_conv_params *p,
			    int64_t oshape[4])
{
	tfo_node *s2b = conv->space_to_batch, *b2s = NULL;
	int rc, slot;
	int64_t block[2], pads[4], block2[2], crops[4];
	if ((rc = space_params(c, s2b, "paddings", block, pads)) < 0)
		return rc;
	b2s = tfo_sole_reader(c, conv, &slot);
	if (!b2s || (rc = space_params(c, b2s, "crops", block2, crops)) < 0)
		return b2s ? rc : tfo_node_fail(c, conv, NN_ERR_FORMAT, "the dilated convolution lost its BatchToSpaceND");
	if (block[0] != block2[0] || block[1] != block2[1])
		return tfo_node_fail(c, b2s, NN_ERR_UNSUPPORTED, "block_shape differs from its SpaceToBatchND's");
	if (p->stride_h != 1 || p->stride_w != 1 || p->dilation_h != 1 || p->dilation_w != 1 ||
	    p->padding == NN_PADDING_EXPLICIT)
		return tfo_node_fail(c, conv, NN_ERR_UNSUPPORTED,
				     "a convolution between SpaceToBatchND and BatchToSpaceND must have stride 1, dilation 1 "
				     "and SAME or VALID padding");
	int64_t in[2] = { xi->shape[1], xi->shape[2] }, k[2] = { kh, kw }, before[2], after[2], out[2];
	char why[192];
	if ((rc = nn__dilated_conv(in, k, p->padding == NN_PADDING_SAME, block, pads, crops, MAX_PARAM, before, after, out,
				   why, sizeof why)) < 0)
		return tfo_node_fail(c, rc == NN_ERR_SHAPE ? s2b : conv, rc, "%s", why);
	oshape[1] = out[0];
	oshape[2] = out[1];
	p->dilation_h = (int)block[0];
	p->dilation_w = (int)block[1];
	p->padding = NN_PADDING_EXPLICIT;
	p->pad_top = (int)before[0], p->pad_bottom = (int)after[0];
	p->pad_left = (int)before[1], p->pad_right = (int)after[1];
	return 0;
}

/* ---- batch normalisation, matrix products, quantized constants ---- */

/* FusedBatchNorm and FusedBatchNormV3 at inference (is_training false): a per-channel MUL and ADD. */
int tfo_map_batch_norm(tfo *c, tfo_node *n, int arg)
{
	int rc, x, training;
	if ((rc = tfo_init_outputs(c, n, arg)) < 0 || (rc = tfo_check_nhwc(c, n)) < 0 ||
	    (rc = tfo_want_inputs(c, n, 5, 5)) < 0 || (rc = tfo_attr_bool(c, n, "is_training", 1, &training)) < 0 ||
	    (rc = tfo_input_of(c, n, 0, NN_F32, -1, &x)) < 0)
		return rc;
	if (training)
		return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED,
				     "is_training is set: batch statistics are computed in training only; export the model "
				     "for inference");
	const nn_tensor xi = *T(c, x);
	if (xi.rank < 1)
		return tfo_node_fail(c, n, NN_ERR_SHAPE, "the input has no channels dimension");
	int ch = xi.shape[xi.rank - 1];
	float *scale = NULL, *bias = NULL;
	int64_t len = ch;
	int s = -1, b = -1, m = -1, y = -1;
	nn_node *node;
	rc = batch_norm_factors(c, n, 1, ch, &scale, &bias);
	if (rc == 0 && (s = tfo_const_f32(c, n, "/scale", 1, &len, scale)) < 0)
		rc = s;
	if (rc == 0 && (b = tfo_const_f32(c, n, "/offset", 1, &len, bias)) < 0)
		rc = b;
	free(scale);
	free(bias);
	if (rc < 0)
		return rc;
	if ((m = tfo_add_like(c, n, n->name, NN_F32, x)) < 0)
		return m;
	/* The mul is named after the node until the add takes its name: the add's output is the node's. */
	free(T(c, m)->name);
	if (!(T(c, m)->name = tfo_join_name(n->name, "/scaled")))
		return tfo_nomem(c);
	if ((y = tfo_add_like(c, n, n->name, NN_F32, x)) < 0)
		return y;
	int in1[2] = { x, s }, in2[2] = { m, b };
	if (tfo_add_node1(c, n, NN_OP_MUL, 2, in1, m, &node) < 0)
		return NN_ERR_NOMEM;
	node->p.act = NN_ACT_NONE;
	if (tfo_add_node1(c, n, NN_OP_ADD, 2, in2, y, &node) < 0)
		return NN_ERR_NOMEM;
	node->p.act = NN_ACT_NONE;
	n->out[0] = y;
	/* The batch statistics outputs exist in training only; at inference they pass the given mean and variance. */
	for (int k = 1; k < n->n_out; k++)
		if ((rc = tfo_input_tensor(c, n, k % 2 ? 3 : 4, &n->out[k])) < 0)
			return rc;
	return 0;
}

/* MatMul with a constant right-hand side: FULLY_CONNECTED, whose weights are [out, in]. */
int tfo_map_matmul(tfo *c, tfo_node *n, int arg)
{
	(void)arg;
	int rc, a, b, ta, tb;
	if ((rc = tfo_init_outputs(c, n, 1)) < 0 || (rc = tfo_want_inputs(c, n, 2, 2)) < 0 ||
	    (rc = tfo_attr_bool(c, n, "transpose_a", 0, &ta)) < 0 || (rc = tfo_attr_bool(c, n, "transpose_b", 0, &tb)) < 0 ||
	    (rc = tfo_input_of(c, n, 0, NN_F32, 2, &a)) < 0 || (rc = tfo_input_of(c, n, 1, NN_F32, 2, &b)) < 0)
		return rc;
	if (ta)
		return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED, "transpose_a is not supported");
	int budget = 256;
	if (!tfo_const_computable(c, b, &budget))
		return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED,
				     "a MatMul of two tensors computed at run time is not supported (only constant weights)");
	if ((rc = tfo_make_const(c, n, b, "the weights", 0)) < 0)
		return rc;
	const nn_tensor ai = *T(c, a), bi = *T(c, b);
	int k = tb ? bi.shape[1] : bi.shape[0], out = tb ? bi.shape[0] : bi.shape[1];
	if (k != ai.shape[1]) {
		char s1[96], s2[96];
		return tfo_node_fail(c, n, NN_ERR_SHAPE, "inputs %s and %s%s do not multiply", tfo_tshape(&ai, s1, sizeof s1),
				     tfo_tshape(&bi, s2, sizeof s2), tb ? " (transposed)" : "");
	}
	int64_t wshape[2] = { out, k };
	int w = tfo_const_f32(c, n, "/weights", 2, wshape, NULL);
	if (w < 0)
		return w;
	const float *src = bi.data;
	float *dst = T(c, w)->data;
	for (int o = 0; o < out; o++)
		for (int i = 0; i < k; i++)
			dst[(size_t)o * k + i] = tb ? src[(size_t)o * k + i] : src[(size_t)i * out + o];
	int64_t oshape[2] = { ai.shape[0], out };
	int y = tfo_out_tensor(c, n, 0, NN_F32, 2, oshape);
	if (y < 0)
		return y;
	int in[3] = { a, w, -1 };
	nn_node *node;
	if (tfo_add_node1(c, n, NN_OP_FULLY_CONNECTED, 3, in, y, &node) < 0)
		return NN_ERR_NOMEM;
	node->p.fc.act = NN_ACT_NONE;
	node->p.fc.keep_num_dims = 0;
	return 0;
}

/*
 * Dequantize of a constant (how TensorFlow's quantize_weights stores
 * weights): evaluated at load time into a float32 constant, with
 * TensorFlow's formulas. MIN_COMBINED: min + (q - lowest) * (max - min) /
 * 255 for 8 bits, where lowest is 0 for quint8 and -128 for qint8.
 * MIN_FIRST: the same step, but from min rounded to a multiple of the step
 * (TensorFlow rounds it with the step as a float). With an axis, each slice
 * along it has its own min and max. SCALED is not supported.
 */
int tfo_map_dequantize(tfo *c, tfo_node *n, int arg)
{
	(void)arg;
	int rc, x, lo, hi, present;
	char mode[32];
	int64_t axis;
	nn_dtype out_dt;
	const nn_tf_attr *ta = tfo_attr_get(n, "T");
	if ((rc = tfo_init_outputs(c, n, 1)) < 0 || (rc = tfo_want_inputs(c, n, 3, 3)) < 0 ||
	    (rc = tfo_attr_string(c, n, "mode", mode, sizeof mode, &present)) < 0 ||
	    (rc = tfo_attr_int(c, n, "axis", -1, -1, NN_MAX_RANK - 1, &axis)) < 0)
		return rc;
	if (!present)
		strcpy(mode, "MIN_COMBINED");
	if (tfo_attr_get(n, "dtype") && (rc = tfo_attr_dtype(c, n, "dtype", 1, &out_dt)) < 0)
		return rc;
	if (tfo_attr_get(n, "dtype") && out_dt != NN_F32)
		return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED, "only dequantizing to float is supported");
	if (strcmp(mode, "MIN_COMBINED") && strcmp(mode, "MIN_FIRST"))
		return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED,
				     "mode '%s' is not supported; expected MIN_COMBINED or MIN_FIRST", mode);
	if (!ta || ta->kind != NN_TF_ATTR_TYPE || (ta->type != NN_TF_QUINT8 && ta->type != NN_TF_QINT8)) {
		char s[32];
		return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED, "type %s is not supported; expected DT_QUINT8 or DT_QINT8",
				     ta && ta->kind == NN_TF_ATTR_TYPE ? tfo_dt_spelling(ta->type, s, sizeof s) : "(none)");
	}
	nn_dtype qt = ta->type == NN_TF_QUINT8 ? NN_U8 : NN_I8;
	if ((rc = tfo_input_of(c, n, 0, qt, -1, &x)) < 0 || (rc = tfo_input_of(c, n, 1, NN_F32, -1, &lo)) < 0 ||
	    (rc = tfo_input_of(c, n, 2, NN_F32, -1, &hi)) < 0)
		return rc;
	int budget = 256;
	if (!tfo_const_computable(c, x, &budget))
		return tfo_node_fail(c, n, NN_ERR_UNSUPPORTED,
				     "dequantizing a tensor computed at run time is not supported (only constants)");
	if ((rc = tfo_make_const(c, n, x, "the quantized values", 0)) < 0 ||
	    (rc = tfo_make_const(c, n, lo, "min_range", 0)) < 0 || (rc = tfo_make_const(c, n, hi, "max_range", 0)) < 0)
		return rc;
	const nn_tensor xi = *T(c, x);
	int64_t slices = 1, inner = 1;
	if (axis >= 0) {
		if (axis >= xi.rank)
			return tfo_node_fail(c, n, NN_ERR_FORMAT, "axis %lld is outside the input's %d dimensions",
					     (long long)axis, xi.rank);
		slices = xi.shape[axis];
		for (int d = (int)axis + 1; d < xi.rank; d++)
			inner *= xi.shape[d];
	}
	if (nn_tensor_elements(T(c, lo)) != slices || nn_tensor_elements(T(c, hi)) != slices)
		return tfo_node_fail(c, n, NN_ERR_SHAPE, "min_range and max_range must hold %lld values each", (long long)slices);
	int64_t shape[NN_MAX_RANK];
	for (int d = 0; d < xi.rank; d++)
		shape[d] = xi.shape[d];
	int y = tfo_out_tensor(c, n, 0, NN_F32, xi.rank, shape);
	if (y < 0)
		return y;
	if (nn_tensor_alloc_const(T(c, y)) < 0)
		return tfo_nomem(c);
	const float *mins = T(c, lo)->data, *maxs = T(c, hi)->data;
	float *out = T(c, y)->data;
	int first = !strcmp(mode, "MIN_FIRST"), lowest = qt == NN_I8 ? -128 : 0;
	int64_t e = nn_tensor_elements(&xi);
	for (int64_t i = 0; i < e; i++) {
		int64_t s = axis >= 0 ? i / inner % slices : 0;
		double mn = mins[s], mx = maxs[s];
		if (!isfinite(mn) || !isfinite(mx) || mx < mn)
			return tfo_node_fail(c, n, NN_ERR_FORMAT, "min_range %g and max_range %g are not a range", mn, mx);
		int q = qt == NN_I8 ? ((const int8_t *)xi.data)[i] : ((const uint8_t *)xi.data)[i];
		double step = (mx - mn) / 255.0, base = mn;
		if (first && mx > mn) {
			/* TensorFlow's QuantizedToFloat: the step through 256/255 and back, min rounded with the step as a float. */
			double scale = (mx - mn) * (256.0 / 255.0) / 256.0;
			base = round(mn / (float)scale) * (float)scale;
			step = scale;
		}
		out[i] = first && mx == mn ? (float)mn : (float)(base + (double)(q - lowest) * step);
	}
	return 0;
}
