#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/backend/exec.h"
#include "nn/graph.h"
#include "nn/pass/pass.h"
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
		if (n->op == NN_OP_DETECTION_POSTPROCESS || n->op == NN_OP_NON_MAX_SUPPRESSION || n->n_outputs == 0 || !all_inputs_constant(g, n))
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
