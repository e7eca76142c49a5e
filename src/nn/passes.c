#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/exec.h"
#include "nn/graph.h"
#include "nn/ref/ref.h"

/* Drops the nodes marked in removed[], keeping the others in order. */
static int all_inputs_constant(const nn_graph *g, const nn_node *n)
{
	int any = 0;
	for (int k = 0; k < n->n_inputs; k++) {
		int t = n->inputs[k];
		if (t < 0)
			continue;
		if (!g->tensors[t].is_const)
			return 0;
		any = 1;
	}
	return any;
}

int nn_pass_fold_constants(nn_graph *g, char *err, size_t errlen)
{
	if (g->n_nodes == 0)
		return 0;
	unsigned char *removed = calloc((size_t)g->n_nodes, 1);
	if (!removed)
		return nn_graph_fail(err, errlen, NN_ERR_NOMEM, "%s: out of memory folding constants", g->source);
	char desc[192], why[256], detail[512];
	int rc = 0, n_removed = 0;
	/* Nodes are in execution order, so a chain of constant nodes folds in one sweep. */
	for (int i = 0; i < g->n_nodes; i++) {
		nn_node *n = &g->nodes[i];
		if (n->op == NN_OP_DETECTION_POSTPROCESS || n->n_outputs == 0 || !all_inputs_constant(g, n))
			continue;
		int skip = 0;
		for (int k = 0; k < n->n_outputs; k++)
			if (nn_graph_is_output(g, n->outputs[k]) || g->tensors[n->outputs[k]].is_const)
				skip = 1;
		/* An op the reference kernels lack stays in the graph; the executor will report it if need be. */
		if (skip || !nn_ref_supports(g, n, why, sizeof why))
			continue;
		for (int k = 0; k < n->n_outputs && rc == 0; k++) {
			nn_tensor *t = &g->tensors[n->outputs[k]];
			rc = nn_tensor_alloc_const(t);
			if (rc < 0)
				rc = nn_graph_fail(err, errlen, rc, "%s: %s: cannot allocate constant output '%s' (%s)",
						   g->source, nn_node_desc(g, i, desc, sizeof desc), t->name ? t->name : "",
						   rc == NN_ERR_NOMEM ? "out of memory" : "invalid shape");
		}
		if (rc < 0)
			break;
		detail[0] = '\0';
		rc = nn_ref_run(g, n, detail, sizeof detail);
		if (rc < 0) {
			rc = nn_graph_fail(err, errlen, rc, "%s: %s: folding constants: %s", g->source,
					   nn_node_desc(g, i, desc, sizeof desc), nn_exec_ref_message(n, detail));
			break;
		}
		removed[i] = 1;
		n_removed++;
	}
	if (n_removed)
		nn_graph_remove_nodes(g, removed);
	free(removed);
	return rc;
}

/* Where op keeps its fused activation, or NULL when it has none. */
static nn_activation *fused_activation(nn_node *n)
{
	switch (n->op) {
	case NN_OP_CONV2D:
	case NN_OP_DEPTHWISE_CONV2D:
		return &n->p.conv.act;
	case NN_OP_FULLY_CONNECTED:
		return &n->p.fc.act;
	case NN_OP_ADD:
	case NN_OP_SUB:
	case NN_OP_MUL:
	case NN_OP_DIV:
		return &n->p.act;
	/*
	 * CONCATENATION is left out on purpose: XNNPACK runs it as plain copies
	 * and cannot clamp, so a fused activation would send the whole concat to
	 * the slow reference kernel, while a separate RELU runs on XNNPACK.
	 */
	case NN_OP_AVERAGE_POOL2D:
	case NN_OP_MAX_POOL2D:
		return &n->p.pool.act;
	default:
		return NULL;
	}
}

static int same_quant(const nn_tensor *a, const nn_tensor *b)
{
	if (a->quant.count != b->quant.count)
		return 0;
	for (int i = 0; i < a->quant.count; i++)
		if (a->quant.scale[i] != b->quant.scale[i] || a->quant.zero_point[i] != b->quant.zero_point[i])
			return 0;
	return a->quant.count <= 1 || a->quant.axis == b->quant.axis;
}

int nn_pass_fuse_activations(nn_graph *g, char *err, size_t errlen)
{
	if (g->n_nodes == 0)
		return 0;
	int *producer = malloc(((size_t)g->n_tensors + 1) * sizeof *producer);
	int *readers = calloc((size_t)g->n_tensors + 1, sizeof *readers);
	unsigned char *removed = calloc((size_t)g->n_nodes, 1);
	if (!producer || !readers || !removed) {
		free(producer);
		free(readers);
		free(removed);
		return nn_graph_fail(err, errlen, NN_ERR_NOMEM, "%s: out of memory fusing activations", g->source);
	}
	nn_graph_index_uses(g, NULL, producer, readers);

	int n_removed = 0;
	for (int i = 0; i < g->n_nodes; i++) {
		nn_node *r = &g->nodes[i];
		nn_activation act;
		switch (r->op) {
		case NN_OP_RELU: act = NN_ACT_RELU; break;
		case NN_OP_RELU6: act = NN_ACT_RELU6; break;
		case NN_OP_RELU_N1_TO_1: act = NN_ACT_RELU_N1_TO_1; break;
		default: continue;
		}
		if (r->n_inputs != 1 || r->n_outputs != 1 || r->inputs[0] < 0)
			continue;
		int t = r->inputs[0], out = r->outputs[0];
		int p = producer[t];
		if (p < 0 || p >= i || removed[p] || readers[t] != 1 || nn_graph_is_output(g, t))
			continue;
		nn_node *pn = &g->nodes[p];
		nn_activation *slot = fused_activation(pn);
		if (!slot || *slot != NN_ACT_NONE || pn->n_outputs != 1)
			continue;
		const nn_tensor *a = &g->tensors[t], *b = &g->tensors[out];
		/* The producer will write straight into the RELU's output, so that must be the same tensor shape. */
		if (a->dtype != b->dtype || a->rank != b->rank ||
		    memcmp(a->shape, b->shape, (size_t)a->rank * sizeof a->shape[0]) != 0)
			continue;
		/* A quantized RELU may also requantize; only one that keeps the scale can disappear. */
		if ((nn_tensor_is_quantized(a) || nn_tensor_is_quantized(b)) && !same_quant(a, b))
			continue;
		*slot = act;
		pn->outputs[0] = out;
		producer[out] = p;
		readers[t] = 0;
		removed[i] = 1;
		n_removed++;
	}
	if (n_removed)
		nn_graph_remove_nodes(g, removed);
	free(producer);
	free(readers);
	free(removed);
	return 0;
}
