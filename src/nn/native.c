#include "nn/native.h"

#include <stdio.h>
#include <stdlib.h>

#include "nn/native_internal.h"

int nn_native_available(void)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f");
#else
	return 0;
#endif
}

int nn_native_create(nn_graph *g, nn_node *n, char *why, size_t whylen)
{
	if (!nn_native_available()) {
		snprintf(why, whylen, "this CPU has no AVX-512F");
		return 0;
	}
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
		if (!x || !w || w->rank != 4 || x->rank != 4) {
			snprintf(why, whylen, "no rank-4 input and filter");
			return 0;
		}
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
	default:
		snprintf(why, whylen, "no native kernel for %s", nn_op_name(n->op));
		return 0;
	}
	if (rc <= 0)
		return rc;
	n->backend = op;
	return 1;
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
