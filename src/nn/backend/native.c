#include "nn/backend/native.h"

#include <stdio.h>
#include <stdlib.h>

#include "nn/backend/native_internal.h"
#include "nn/backend/native_simd.h"
#include "nn/ref/quant.h"

int nn_native_window_of(const nn_graph *g, const nn_node *n, int kh, int kw, int stride_h, int stride_w,
			int dilation_h, int dilation_w, nn_padding padding, const int pads[4], nn_activation act,
			int co, nn_native_window *win, char *why, size_t whylen)
{
	if (n->n_inputs < 1 || n->n_outputs != 1 || n->inputs[0] < 0)
		return nn_native_reject(why, whylen, "input missing");
	const nn_tensor *x = &g->tensors[n->inputs[0]], *y = &g->tensors[n->outputs[0]];
	if (x->dtype != NN_F32 || y->dtype != NN_F32 || x->rank != 4 || y->rank != 4 || !x->data || !y->data)
		return nn_native_reject(why, whylen, "not a float32 NHWC image");
	if (stride_h != stride_w || (stride_h != 1 && stride_h != 2) || dilation_h != 1 || dilation_w != 1)
		return nn_native_reject(why, whylen, "stride %dx%d, dilation %dx%d (native: stride 1 or 2, no dilation)",
					stride_h, stride_w, dilation_h, dilation_w);
	if (act != NN_ACT_NONE && act != NN_ACT_RELU && act != NN_ACT_RELU6 && act != NN_ACT_RELU_N1_TO_1 &&
	    act != NN_ACT_SILU)
		return nn_native_reject(why, whylen, "fused activation %d", (int)act);
	nn_native_window w = { .x = x->data, .y = y->data, .batch = x->shape[0], .ih = x->shape[1],
			       .iw = x->shape[2], .ci = x->shape[3], .co = co, .kh = kh, .kw = kw,
			       .stride = stride_h };
	if (nn_ref_window(padding, w.ih, kh, stride_h, 1, pads[0], pads[1], &w.oh) ||
	    nn_ref_window(padding, w.iw, kw, stride_w, 1, pads[2], pads[3], &w.ow))
		return nn_native_reject(why, whylen, "invalid window or padding");
	if (w.batch <= 0 || w.ci <= 0 || co <= 0 || y->shape[0] != w.batch || y->shape[1] != w.oh ||
	    y->shape[2] != w.ow || y->shape[3] != co)
		return nn_native_reject(why, whylen, "output shape does not match");
	w.pad_top = nn_ref_window_pad(padding, w.ih, kh, stride_h, 1, pads[0], w.oh);
	w.pad_left = nn_ref_window_pad(padding, w.iw, kw, stride_w, 1, pads[2], w.ow);
	nn_ref_act_range(act, &w.lo, &w.hi);
	w.silu = act == NN_ACT_SILU;
	*win = w;
	return 1;
}

int nn_native_conv_window(const nn_graph *g, const nn_node *n, nn_native_window *win, const nn_tensor **w,
			  const nn_tensor **b, char *why, size_t whylen)
{
	const nn_conv_params *p = &n->p.conv;
	if (n->n_inputs < 2 || n->inputs[0] < 0 || n->inputs[1] < 0)
		return nn_native_reject(why, whylen, "input or filter missing");
	const nn_tensor *x = &g->tensors[n->inputs[0]], *f = &g->tensors[n->inputs[1]];
	const nn_tensor *bias = n->n_inputs > 2 && n->inputs[2] >= 0 ? &g->tensors[n->inputs[2]] : NULL;
	if (x->rank != 4 || f->rank != 4 || f->dtype != NN_F32 || !f->is_const || !f->data ||
	    (bias && (bias->dtype != NN_F32 || !bias->is_const || !bias->data)))
		return nn_native_reject(why, whylen, "not a constant float32 filter and bias");
	const int depthwise = n->op == NN_OP_DEPTHWISE_CONV2D, ci = x->shape[3];
	const int co = depthwise ? f->shape[3] : f->shape[0];
	if (depthwise && (f->shape[0] != 1 || co != ci))
		return nn_native_reject(why, whylen, "depth multiplier other than 1");
	if (!depthwise && f->shape[3] != ci)
		return nn_native_reject(why, whylen, "grouped convolution");
	if (bias && nn_tensor_elements(bias) != co)
		return nn_native_reject(why, whylen, "bias of %lld values for %d channels",
					(long long)nn_tensor_elements(bias), co);
	const int pads[4] = { p->pad_top, p->pad_bottom, p->pad_left, p->pad_right };
	if (!nn_native_window_of(g, n, f->shape[1], f->shape[2], p->stride_h, p->stride_w, p->dilation_h,
				 p->dilation_w, p->padding, pads, p->act, co, win, why, whylen))
		return 0;
	*w = f;
	*b = bias;
	return 1;
}

int nn_native_available(void)
{
#ifdef NN_NATIVE_SIMD
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f");
#else
	return 0;
#endif
}

int nn_native_create(nn_graph *g, nn_node *n, char *why, size_t whylen)
{
#ifndef NN_NATIVE_SIMD
	(void)g, (void)n;
	return nn_native_reject(why, whylen, "built without the AVX-512 kernels (not x86-64, or not GCC or Clang)");
#else
	if (!nn_native_available())
		return nn_native_reject(why, whylen, "this CPU has no AVX-512F");
	nn_native_op *op = NULL;
	int rc = 0;
	switch (n->op) {
	case NN_OP_DEPTHWISE_CONV2D:
		rc = nn_native_dwconv_create(g, n, &op, why, whylen);
		break;
	case NN_OP_CONV2D: {
		/*
		 * By shape: 1x1 filters with few outputs to the pointwise kernel,
		 * 3x3 over 1 to 3 channels to the stem kernel, the rest to the
		 * dense kernel, which leaves the shapes where it does not win to
		 * XNNPACK.
		 */
		const nn_tensor *x = n->n_inputs > 0 && n->inputs[0] >= 0 ? &g->tensors[n->inputs[0]] : NULL;
		const nn_tensor *w = n->n_inputs > 1 && n->inputs[1] >= 0 ? &g->tensors[n->inputs[1]] : NULL;
		if (!x || !w || w->rank != 4 || x->rank != 4)
			return nn_native_reject(why, whylen, "no rank-4 input and filter");
		if (w->shape[1] == 1 && w->shape[2] == 1 && w->shape[0] <= 8)
			rc = nn_native_pointwise_create(g, n, &op, why, whylen);
		else if (x->shape[3] <= 3 && w->shape[1] == 3 && w->shape[2] == 3)
			rc = nn_native_stem_create(g, n, &op, why, whylen);
		else
			rc = nn_native_conv_create(g, n, &op, why, whylen);
		break;
	}
	case NN_OP_MAX_POOL2D:
		rc = nn_native_maxpool_create(g, n, &op, why, whylen);
		break;
	case NN_OP_SILU:
		rc = nn_native_silu_create(g, n, &op, why, whylen);
		break;
	case NN_OP_TRANSPOSE:
		rc = nn_native_transpose_create(g, n, &op, why, whylen);
		break;
	case NN_OP_SPACE_TO_DEPTH:
		rc = nn_native_space_to_depth_create(g, n, &op, why, whylen);
		break;
	case NN_OP_STRIDED_SLICE:
		rc = nn_native_slice_create(g, n, &op, why, whylen);
		break;
	default:
		return nn_native_reject(why, whylen, "no native kernel for %s", nn_op_name(n->op));
	}
	if (rc <= 0)
		return rc;
	n->backend = op;
	return 1;
#endif
}

void nn_native_run(nn_node *n, pthreadpool_t pool)
{
	nn_native_op *op = n->backend;
	if (op->prepare_task)
		pthreadpool_parallelize_1d(pool, (pthreadpool_task_1d_t)op->prepare_task, op, op->prepare_tasks, 0);
	pthreadpool_parallelize_1d(pool, (pthreadpool_task_1d_t)op->run_task, op, op->tasks, 0);
}

void nn_native_destroy(nn_node *n)
{
	nn_native_op *op = n->backend;
	if (op) {
		free(op->scratch);
		free(op->scratch2);
	}
	free(op);
	n->backend = NULL;
}
