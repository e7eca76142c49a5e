/*
 * Row counts known only at run time: see rows.h.
 */
#include "nn/rows.h"

#include "nn/backend/exec.h"

static int dyn(const nn_graph *g, int t)
{
	return t >= 0 && t < g->n_tensors && g->tensors[t].dynamic_rows;
}

static int norm_axis(int axis, int rank)
{
	return axis < 0 ? axis + rank : axis;
}

int nn_rows_passes(const nn_graph *g, const nn_node *n, const char **why)
{
	*why = "";
	if (n->n_outputs != 1 || n->n_inputs < 1)
		return *why = "it has not exactly one output", 0;
	const nn_tensor *in = n->inputs[0] >= 0 ? &g->tensors[n->inputs[0]] : NULL;
	const nn_tensor *out = &g->tensors[n->outputs[0]];
	int in0 = dyn(g, n->inputs[0]);
	switch (n->op) {
	case NN_OP_CAST:
		return 1;
	case NN_OP_RESHAPE:
		for (int k = 1; k < n->n_inputs; k++)
			if (dyn(g, n->inputs[k]))
				return *why = "its new shape would be known only at run time", 0;
		if (out->rank < 1 || out->shape[0] != in->shape[0])
			return *why = "the reshape does not keep dimension 0", 0;
		return 1;
	case NN_OP_STRIDED_SLICE:
		if (!in0)
			return *why = "only its data may have a run-time row count", 0;
		if (out->rank < 1 || out->shape[0] != in->shape[0] || n->p.slice.begin[0] != 0 || n->p.slice.stride[0] != 1)
			return *why = "the slice does not keep dimension 0 whole", 0;
		return 1;
	case NN_OP_GATHER: {
		int axis = norm_axis(n->p.gather.axis, in ? in->rank : 0);
		int idx = n->n_inputs > 1 && dyn(g, n->inputs[1]);
		if (in0 && !idx && axis != 0)
			return 1;
		if (idx && !in0 && axis == 0)
			return 1;
		return *why = in0 ? "it gathers along the rows that are known only at run time"
				   : "its indices' rows would not become the output's rows (axis is not 0)",
		       0;
	}
	case NN_OP_CONCATENATION:
		if (norm_axis(n->p.concat.axis, out->rank) == 0)
			return *why = "it concatenates along dimension 0", 0;
		return 1;
	case NN_OP_ADD:
	case NN_OP_SUB:
	case NN_OP_MUL:
	case NN_OP_DIV:
	case NN_OP_MAXIMUM:
	case NN_OP_MINIMUM:
	case NN_OP_LOGISTIC:
	case NN_OP_EXP:
	case NN_OP_NEG:
	case NN_OP_ABS:
	case NN_OP_CLAMP:
	case NN_OP_SILU:
	case NN_OP_RELU:
	case NN_OP_TANH:
		/* Elementwise: each dynamic-row input must line up row for row with the output (no broadcast of dim 0). */
		for (int k = 0; k < n->n_inputs; k++) {
			if (!dyn(g, n->inputs[k]))
				continue;
			const nn_tensor *x = &g->tensors[n->inputs[k]];
			if (x->rank != out->rank || x->shape[0] != out->shape[0])
				return *why = "its output's rows are not its input's rows (broadcast along dimension 0)", 0;
		}
		return 1;
	default:
		return *why = "the op has no way to pass it on", 0;
	}
}

int nn_rows_plan(nn_graph *g, char *err, size_t errlen)
{
	char desc[192];
	for (int t = 0; t < g->n_tensors; t++)
		g->tensors[t].dynamic_rows = 0;
	for (int i = 0; i < g->n_nodes; i++) {
		const nn_node *n = &g->nodes[i];
		int from = -1;
		for (int k = 0; k < n->n_inputs && from < 0; k++)
			if (dyn(g, n->inputs[k]))
				from = n->inputs[k];
		const char *why = "";
		if (from >= 0 && (n->op == NN_OP_NON_MAX_SUPPRESSION || !nn_rows_passes(g, n, &why)))
			return nn_graph_fail(err, errlen, NN_ERR_UNSUPPORTED,
					     "%s: %s reads '%s', whose row count is known only at run time (the rows "
					     "NON_MAX_SUPPRESSION selects), and cannot pass that count on: %s; only CAST, "
					     "RESHAPE and STRIDED_SLICE keeping dimension 0, GATHER and CONCATENATION along "
					     "another axis and elementwise arithmetic without broadcasting dimension 0 can",
					     g->source, nn_node_desc(g, i, desc, sizeof desc),
					     g->tensors[from].name ? g->tensors[from].name : "?",
					     n->op == NN_OP_NON_MAX_SUPPRESSION ? "it is a NON_MAX_SUPPRESSION" : why);
		if (n->op == NN_OP_NON_MAX_SUPPRESSION || from >= 0)
			for (int k = 0; k < n->n_outputs; k++)
				if (n->outputs[k] >= 0 && n->outputs[k] < g->n_tensors && g->tensors[n->outputs[k]].rank >= 1) {
					g->tensors[n->outputs[k]].dynamic_rows = 1;
					g->tensors[n->outputs[k]].rows = 0;
				}
	}
	return 0;
}

void nn_rows_propagate(nn_graph *g)
{
	for (int i = 0; i < g->n_nodes; i++) {
		const nn_node *n = &g->nodes[i];
		if (n->op == NN_OP_NON_MAX_SUPPRESSION || n->n_outputs < 1 || !dyn(g, n->outputs[0]))
			continue;
		for (int k = 0; k < n->n_inputs; k++)
			if (dyn(g, n->inputs[k])) {
				g->tensors[n->outputs[0]].rows = g->tensors[n->inputs[k]].rows;
				break;
			}
	}
}
