/*
 * Dispatch for the reference kernels, and the helpers the kernel files share.
 */
#include "nn/ref/ref.h"

#include <stdarg.h>
#include <stdio.h>

#include "nn/ref/index_ops.h"
#include "nn/ref/nms.h"
#include "nn/ref/onnx_ops.h"
#include "nn/ref/qops.h"
#include "nn/ref/quant.h"

int nn_ref_fail(char *err, size_t errlen, const nn_node *n, int code, const char *fmt, ...)
{
	if (!err || errlen == 0)
		return code;
	const char *op = n && (unsigned)n->op < NN_OP_COUNT ? nn_op_name(n->op) : "node";
	int len;
	if (n && n->name && n->name[0])
		len = snprintf(err, errlen, "%s '%s': ", op ? op : "?", n->name);
	else
		len = snprintf(err, errlen, "%s: ", op ? op : "?");
	if (len < 0 || (size_t)len >= errlen)
		return code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err + len, errlen - (size_t)len, fmt, ap);
	va_end(ap);
	return code;
}

const nn_tensor *nn_ref_input(const nn_graph *g, const nn_node *n, int i)
{
	if (i < 0 || i >= n->n_inputs || !n->inputs)
		return NULL;
	int t = n->inputs[i];
	if (t < 0 || t >= g->n_tensors)
		return NULL;
	return &g->tensors[t];
}

nn_tensor *nn_ref_output(const nn_graph *g, const nn_node *n, int i)
{
	if (i < 0 || i >= n->n_outputs || !n->outputs)
		return NULL;
	int t = n->outputs[i];
	if (t < 0 || t >= g->n_tensors)
		return NULL;
	return &g->tensors[t];
}

int nn_ref_reduce_plan_of(const nn_graph *g, const nn_node *n, nn_ref_reduce_plan *p, char *why, size_t whylen)
{
	const nn_tensor *in = nn_ref_input(g, n, 0), *out = nn_ref_output(g, n, 0);
	const nn_tensor *axes_t = nn_ref_input(g, n, 1);
	char a[NN_REF_SHAPE_BUF], b[NN_REF_SHAPE_BUF];
	if (!in || !out)
		return nn_ref_fail(why, whylen, n, 0, "input or output missing");
	int rank = in->rank, n_axes = n->p.reduce.n_axes;
	const int32_t *axes_data = NULL;
	if (n_axes <= 0 && axes_t && axes_t->dtype == NN_I32 && axes_t->data) {
		n_axes = (int)nn_ref_elements(axes_t);
		axes_data = axes_t->data;
	}
	if (n_axes < 0 || n_axes > NN_MAX_RANK)
		return nn_ref_fail(why, whylen, n, 0, "%d axes is invalid", n_axes);
	int reduced[NN_MAX_RANK] = { 0 };
	for (int k = 0; k < n_axes; k++) {
		int axis = axes_data ? axes_data[k] : n->p.reduce.axes[k];
		int norm = axis < 0 ? axis + rank : axis;
		if (norm < 0 || norm >= rank)
			return nn_ref_fail(why, whylen, n, 0, "axis %d is outside input %s", axis, nn_ref_shape_str(in, a));
		reduced[norm] = 1;
	}
	int kept[NN_MAX_RANK], n_kept = 0, out_dims[NN_MAX_RANK], n_out = 0;
	for (int d = 0; d < rank; d++)
		if (!reduced[d] && in->shape[d] != 1)
			kept[n_kept++] = in->shape[d];
	for (int d = 0; d < out->rank && d < NN_MAX_RANK; d++)
		if (out->shape[d] != 1)
			out_dims[n_out++] = out->shape[d];
	int fits = n_kept == n_out;
	for (int k = 0; fits && k < n_kept; k++)
		fits = kept[k] == out_dims[k];
	if (!fits)
		return nn_ref_fail(why, whylen, n, 0, "output %s is not input %s reduced over the axes",
				   nn_ref_shape_str(out, a), nn_ref_shape_str(in, b));
	size_t step = 1;
	for (int d = rank - 1; d >= 0; d--) {
		p->stride[d] = step;
		step *= (size_t)in->shape[d];
	}
	p->nk = p->nr = 0;
	p->red_count = 1;
	for (int d = 0; d < rank; d++) {
		if (reduced[d]) {
			p->red_dim[p->nr++] = d;
			p->red_count *= (size_t)in->shape[d];
		} else {
			p->kept_dim[p->nk++] = d;
		}
	}
	p->out_count = (size_t)nn_ref_elements(out);
	return 1;
}

int64_t nn_ref_elements(const nn_tensor *t)
{
	if (t->rank < 0 || t->rank > NN_MAX_RANK)
		return -1;
	int64_t count = 1;
	for (int d = 0; d < t->rank; d++) {
		if (t->shape[d] < 0)
			return -1;
		/* A limit far beyond any real tensor keeps every later byte computation clear of overflow. */
		if (t->shape[d] > 0 && count > (INT64_C(1) << 40) / t->shape[d])
			return -1;
		count *= t->shape[d];
	}
	return count;
}

int nn_ref_same_shape(const nn_tensor *a, const nn_tensor *b)
{
	if (a->rank != b->rank)
		return 0;
	for (int d = 0; d < a->rank && d < NN_MAX_RANK; d++)
		if (a->shape[d] != b->shape[d])
			return 0;
	return 1;
}

int nn_ref_window(nn_padding padding, int in, int k, int stride, int dilation, int pad_before, int pad_after,
		  int *out)
{
	*out = 0;
	if (in < 0 || k < 1 || stride < 1 || dilation < 1)
		return -1;
	int64_t effective = (int64_t)(k - 1) * dilation + 1;
	/* No real model comes near these; refusing them keeps every padding and coordinate inside an int. */
	if (effective > (1 << 30) || stride > (1 << 30))
		return -1;
	int64_t size;
	switch (padding) {
	case NN_PADDING_SAME:
		size = ((int64_t)in + stride - 1) / stride;
		break;
	case NN_PADDING_VALID:
		size = in >= effective ? (in - effective) / stride + 1 : 0;
		break;
	case NN_PADDING_EXPLICIT: {
		if (pad_before < 0 || pad_after < 0)
			return -1;
		int64_t padded = (int64_t)in + pad_before + pad_after;
		size = padded >= effective ? (padded - effective) / stride + 1 : 0;
		break;
	}
	default:
		return -1;
	}
	if (size <= 0 || size > INT32_MAX)
		return -1;
	*out = (int)size;
	return 0;
}

int nn_ref_window_pad(nn_padding padding, int in, int k, int stride, int dilation, int pad_before,
		      int out_for_pad)
{
	if (padding == NN_PADDING_EXPLICIT)
		return pad_before;
	if (padding != NN_PADDING_SAME)
		return 0;
	int64_t total = (int64_t)(out_for_pad - 1) * stride + (int64_t)(k - 1) * dilation + 1 - in;
	if (total < 0)
		total = 0;
	return (int)(total / 2);
}

const char *nn_ref_shape_str(const nn_tensor *t, char *buf)
{
	size_t len = 0;
	buf[len++] = '[';
	int rank = t->rank < 0 ? 0 : t->rank > NN_MAX_RANK ? NN_MAX_RANK : t->rank;
	for (int d = 0; d < rank; d++)
		len += (size_t)snprintf(buf + len, NN_REF_SHAPE_BUF - len, d ? ",%d" : "%d", t->shape[d]);
	snprintf(buf + len, NN_REF_SHAPE_BUF - len, "]");
	return buf;
}

/* Each kernel file's supports/run pair, and the ops it implements. */
typedef struct ref_kernel {
	int (*supports)(const nn_graph *g, const nn_node *n, char *why, size_t whylen);
	int (*run)(nn_graph *g, const nn_node *n, char *err, size_t errlen);
} ref_kernel;

static const ref_kernel conv_kernels = { nn_ref_conv_supports, nn_ref_conv_run };
static const ref_kernel fc_kernels = { nn_ref_fc_supports, nn_ref_fc_run };
static const ref_kernel pool_kernels = { nn_ref_pool_supports, nn_ref_pool_run };
static const ref_kernel elementwise_kernels = { nn_ref_elementwise_supports, nn_ref_elementwise_run };
static const ref_kernel tensor_kernels = { nn_ref_tensor_supports, nn_ref_tensor_run };
static const ref_kernel quant_kernels = { nn_ref_quant_supports, nn_ref_quant_run };
static const ref_kernel detpp_kernels = { nn_ref_detpp_supports, nn_ref_detpp_run };
static const ref_kernel shape_kernels = { nn_ref_shape_supports, nn_ref_shape_run };

static const ref_kernel index_kernels = { nn_ref_index_supports, nn_ref_index_run };
static const ref_kernel math_kernels = { nn_ref_math_supports, nn_ref_math_run };
static const ref_kernel pointwise_kernels = { nn_ref_pointwise_supports, nn_ref_pointwise_run };
static const ref_kernel layout_kernels = { nn_ref_layout_supports, nn_ref_layout_run };
static const ref_kernel nms_kernels = { nn_ref_nms_supports, nn_ref_nms_run };
static const ref_kernel nms_padded_kernels = { nn_ref_nms_padded_supports, nn_ref_nms_padded_run };

/*
 * ADD, SUB, MUL, MAXIMUM, MINIMUM, CONCATENATION and RESHAPE of plain
 * integers have kernels of their own (math_ops.c, index_ops.c).
 */
static int arith_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen)
{
	return nn_ref_is_integer_node(g, n) ? nn_ref_math_supports(g, n, why, whylen)
					    : nn_ref_elementwise_supports(g, n, why, whylen);
}

static int arith_run(nn_graph *g, const nn_node *n, char *err, size_t errlen)
{
	return nn_ref_is_integer_node(g, n) ? nn_ref_math_run(g, n, err, errlen)
					    : nn_ref_elementwise_run(g, n, err, errlen);
}

static int integer_or_tensor_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen)
{
	return nn_ref_is_integer_node(g, n) ? nn_ref_index_supports(g, n, why, whylen)
					    : nn_ref_tensor_supports(g, n, why, whylen);
}

static int integer_or_tensor_run(nn_graph *g, const nn_node *n, char *err, size_t errlen)
{
	return nn_ref_is_integer_node(g, n) ? nn_ref_index_run(g, n, err, errlen)
					    : nn_ref_tensor_run(g, n, err, errlen);
}

static const ref_kernel batch_matmul_kernels = { nn_ref_batch_matmul_supports, nn_ref_batch_matmul_run };
static const ref_kernel dynquant_kernels = { nn_ref_dynquant_supports, nn_ref_dynquant_run };
static const ref_kernel arith_kernels = { arith_supports, arith_run };

/* POW: plain integers in math_ops.c, floats in pointwise.c. */
static int pow_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen)
{
	return nn_ref_is_integer_node(g, n) ? nn_ref_math_supports(g, n, why, whylen)
					    : nn_ref_pointwise_supports(g, n, why, whylen);
}

static int pow_run(nn_graph *g, const nn_node *n, char *err, size_t errlen)
{
	return nn_ref_is_integer_node(g, n) ? nn_ref_math_run(g, n, err, errlen)
					    : nn_ref_pointwise_run(g, n, err, errlen);
}

static const ref_kernel pow_kernels = { pow_supports, pow_run };
static const ref_kernel integer_or_tensor_kernels = { integer_or_tensor_supports, integer_or_tensor_run };

static const ref_kernel *const kernels[NN_OP_COUNT] = {
	[NN_OP_CONV2D] = &conv_kernels,
	[NN_OP_DEPTHWISE_CONV2D] = &conv_kernels,
	[NN_OP_TRANSPOSE_CONV2D] = &conv_kernels,
	[NN_OP_FULLY_CONNECTED] = &fc_kernels,
	[NN_OP_AVERAGE_POOL2D] = &pool_kernels,
	[NN_OP_MAX_POOL2D] = &pool_kernels,
	[NN_OP_ADD] = &arith_kernels,
	[NN_OP_SUB] = &arith_kernels,
	[NN_OP_MUL] = &arith_kernels,
	[NN_OP_DIV] = &arith_kernels,
	[NN_OP_MAXIMUM] = &arith_kernels,
	[NN_OP_MINIMUM] = &arith_kernels,
	[NN_OP_PRELU] = &elementwise_kernels,
	[NN_OP_LOGISTIC] = &elementwise_kernels,
	[NN_OP_TANH] = &elementwise_kernels,
	[NN_OP_RELU] = &elementwise_kernels,
	[NN_OP_RELU6] = &elementwise_kernels,
	[NN_OP_RELU_N1_TO_1] = &elementwise_kernels,
	[NN_OP_HARD_SWISH] = &elementwise_kernels,
	[NN_OP_LEAKY_RELU] = &elementwise_kernels,
	[NN_OP_CONCATENATION] = &integer_or_tensor_kernels,
	[NN_OP_RESHAPE] = &integer_or_tensor_kernels,
	[NN_OP_PAD] = &tensor_kernels,
	[NN_OP_MEAN] = &tensor_kernels,
	[NN_OP_SOFTMAX] = &tensor_kernels,
	[NN_OP_RESIZE_BILINEAR] = &tensor_kernels,
	[NN_OP_RESIZE_NEAREST] = &tensor_kernels,
	[NN_OP_QUANTIZE] = &quant_kernels,
	[NN_OP_DEQUANTIZE] = &quant_kernels,
	[NN_OP_DETECTION_POSTPROCESS] = &detpp_kernels,
	[NN_OP_TRANSPOSE] = &shape_kernels,
	[NN_OP_STRIDED_SLICE] = &shape_kernels,
	[NN_OP_GATHER] = &shape_kernels,
	[NN_OP_SPLIT] = &shape_kernels,
	[NN_OP_CAST] = &shape_kernels,
	[NN_OP_TOPK] = &shape_kernels,
	[NN_OP_FLOOR_DIV] = &shape_kernels,
	[NN_OP_FLOOR_MOD] = &shape_kernels,
	[NN_OP_EQUAL] = &shape_kernels,
	[NN_OP_SPARSE_TO_DENSE] = &shape_kernels,
	[NN_OP_DEPTH_TO_SPACE] = &index_kernels,
	[NN_OP_ARG_MAX] = &index_kernels,
	[NN_OP_PACK] = &index_kernels,
	[NN_OP_UNPACK] = &index_kernels,
	[NN_OP_GATHER_ND] = &index_kernels,
	[NN_OP_SQRT] = &math_kernels,
	[NN_OP_EXP] = &pointwise_kernels,
	[NN_OP_LOG] = &pointwise_kernels,
	[NN_OP_NEG] = &pointwise_kernels,
	[NN_OP_ABS] = &pointwise_kernels,
	[NN_OP_ERF] = &pointwise_kernels,
	[NN_OP_ELU] = &pointwise_kernels,
	[NN_OP_CLAMP] = &pointwise_kernels,
	[NN_OP_SILU] = &pointwise_kernels,
	[NN_OP_LOGICAL_NOT] = &pointwise_kernels,
	[NN_OP_POW] = &pow_kernels,
	[NN_OP_GREATER] = &pointwise_kernels,
	[NN_OP_LESS] = &pointwise_kernels,
	[NN_OP_LOGICAL_AND] = &pointwise_kernels,
	[NN_OP_SELECT] = &pointwise_kernels,
	[NN_OP_REDUCE_MAX] = &layout_kernels,
	[NN_OP_REDUCE_MIN] = &layout_kernels,
	[NN_OP_REDUCE_SUM] = &layout_kernels,
	[NN_OP_TILE] = &layout_kernels,
	[NN_OP_BROADCAST_TO] = &layout_kernels,
	[NN_OP_GATHER_ELEMENTS] = &layout_kernels,
	[NN_OP_SPACE_TO_DEPTH] = &layout_kernels,
	[NN_OP_NON_MAX_SUPPRESSION] = &nms_kernels,
	[NN_OP_BATCH_MATMUL] = &batch_matmul_kernels,
	[NN_OP_DYNAMIC_QUANTIZE] = &dynquant_kernels,
	[NN_OP_RESIZE_CUBIC] = &tensor_kernels,
	[NN_OP_NMS_PADDED] = &nms_padded_kernels,
};

/* The kernel pair for an op, or NULL (an op added to the IR without a kernel). */
static const ref_kernel *kernel_for(nn_op op)
{
	return (unsigned)op < NN_OP_COUNT ? kernels[op] : NULL;
}

int nn_ref_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen)
{
	if (!g || !n)
		return nn_ref_fail(why, whylen, NULL, 0, "no graph or node");
	if ((unsigned)n->op >= NN_OP_COUNT)
		return nn_ref_fail(why, whylen, NULL, 0, "unknown op %d", (int)n->op);
	if (n->n_inputs < 0 || n->n_outputs < 0 || (n->n_inputs && !n->inputs) || (n->n_outputs && !n->outputs))
		return nn_ref_fail(why, whylen, n, 0, "malformed input/output lists");
	for (int i = 0; i < n->n_inputs; i++)
		if (n->inputs[i] < -1 || n->inputs[i] >= g->n_tensors)
			return nn_ref_fail(why, whylen, n, 0, "input %d refers to tensor %d, outside the graph", i,
					   n->inputs[i]);
	for (int i = 0; i < n->n_outputs; i++)
		if (n->outputs[i] < 0 || n->outputs[i] >= g->n_tensors)
			return nn_ref_fail(why, whylen, n, 0, "output %d refers to tensor %d, outside the graph", i,
					   n->outputs[i]);

	const ref_kernel *k = kernel_for(n->op);
	if (k)
		return k->supports(g, n, why, whylen);
	return nn_ref_fail(why, whylen, n, 0, "no reference kernel");
}

int nn_ref_run(nn_graph *g, const nn_node *n, char *err, size_t errlen)
{
	if (!g || !n)
		return nn_ref_fail(err, errlen, NULL, NN_ERR_ARG, "no graph or node");
	/* The message from supports already names the op and node, so it is passed on unchanged. */
	if (!nn_ref_supports(g, n, err, errlen))
		return NN_ERR_UNSUPPORTED;

	/*
	 * Every shape check below relies on element counts being sane, and no
	 * kernel can work on a tensor without storage.
	 */
	for (int i = 0; i < n->n_inputs + n->n_outputs; i++) {
		int is_input = i < n->n_inputs;
		int slot = is_input ? i : i - n->n_inputs;
		const nn_tensor *t = is_input ? nn_ref_input(g, n, slot) : nn_ref_output(g, n, slot);
		if (!t)
			continue;
		if (nn_ref_elements(t) < 0) {
			char buf[NN_REF_SHAPE_BUF];
			return nn_ref_fail(err, errlen, n, NN_ERR_SHAPE, "%s %d '%s' has an invalid shape %s",
					   is_input ? "input" : "output", slot, t->name ? t->name : "",
					   nn_ref_shape_str(t, buf));
		}
		if (!t->data && nn_ref_elements(t) > 0)
			return nn_ref_fail(err, errlen, n, NN_ERR_ARG, "%s %d '%s' has no data",
					   is_input ? "input" : "output", slot, t->name ? t->name : "");
	}

	const ref_kernel *k = kernel_for(n->op);
	if (k)
		return k->run(g, n, err, errlen);
	return nn_ref_fail(err, errlen, n, NN_ERR_UNSUPPORTED, "no reference kernel");
}
