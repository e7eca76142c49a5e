#include "nn/backend/exec.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xnnpack.h>

#include "nn/backend/native.h"
#include "nn/ref/ref.h"
#include "nn/backend/xnn.h"

#define ARENA_ALIGN 64

const char *nn_tensor_desc(const nn_graph *g, int t, char *buf, size_t len)
{
	if (t >= 0 && t < g->n_tensors && g->tensors[t].name && g->tensors[t].name[0])
		snprintf(buf, len, "%s", g->tensors[t].name);
	else
		snprintf(buf, len, "#%d", t);
	return buf;
}

const char *nn_node_desc(const nn_graph *g, int i, char *buf, size_t len)
{
	const nn_node *n = &g->nodes[i];
	const char *name = n->name;
	if ((!name || !name[0]) && n->n_outputs > 0 && n->outputs[0] >= 0 && n->outputs[0] < g->n_tensors)
		name = g->tensors[n->outputs[0]].name;
	snprintf(buf, len, "node %d '%s' (%s)", i, name ? name : "", nn_op_name(n->op));
	return buf;
}

const char *nn_exec_ref_message(const nn_node *n, const char *msg)
{
	const char *op = nn_op_name(n->op);
	size_t len = strlen(op);
	if (strncmp(msg, op, len) != 0)
		return msg;
	const char *p = msg + len;
	if (p[0] == ':' && p[1] == ' ')
		return p + 2;
	if (p[0] == ' ' && p[1] == '\'' && n->name) {
		size_t name_len = strlen(n->name);
		if (strncmp(p + 2, n->name, name_len) == 0 && strncmp(p + 2 + name_len, "': ", 3) == 0)
			return p + 5 + name_len;
	}
	return msg;
}

static int check_tensor(const nn_graph *g, int i, char *err, size_t errlen)
{
	const nn_tensor *t = &g->tensors[i];
	char name[128];
	if (nn_dtype_size(t->dtype) == 0)
		return nn_graph_fail(err, errlen, NN_ERR_FORMAT, "%s: tensor '%s' has an unknown dtype %d", g->source,
				     nn_tensor_desc(g, i, name, sizeof name), (int)t->dtype);
	if (nn_tensor_elements(t) < 0)
		return nn_graph_fail(err, errlen, NN_ERR_SHAPE,
				     "%s: tensor '%s' has an invalid shape (rank %d; expected rank 0..%d, dimensions >= 0, "
				     "fewer than 2^60 elements)",
				     g->source, nn_tensor_desc(g, i, name, sizeof name), t->rank, NN_MAX_RANK);
	if (t->is_const && !t->data && nn_tensor_bytes(t) > 0)
		return nn_graph_fail(err, errlen, NN_ERR_FORMAT, "%s: constant tensor '%s' has no data", g->source,
				     nn_tensor_desc(g, i, name, sizeof name));
	const nn_quant *q = &t->quant;
	if (q->count < 0 || (q->count > 0 && (!q->scale || !q->zero_point)))
		return nn_graph_fail(err, errlen, NN_ERR_FORMAT, "%s: tensor '%s' has inconsistent quantization arrays",
				     g->source, nn_tensor_desc(g, i, name, sizeof name));
	if (q->count > 1 && (q->axis < 0 || q->axis >= t->rank || q->count != t->shape[q->axis]))
		return nn_graph_fail(err, errlen, NN_ERR_FORMAT,
				     "%s: tensor '%s' has %d quantization channels along axis %d; expected one per "
				     "element of that axis",
				     g->source, nn_tensor_desc(g, i, name, sizeof name), q->count, q->axis);
	return 0;
}

int nn_exec_check_graph(const nn_graph *g, char *err, size_t errlen)
{
	char desc[192], name[128];
	for (int i = 0; i < g->n_tensors; i++) {
		int rc = check_tensor(g, i, err, errlen);
		if (rc < 0)
			return rc;
	}
	for (int i = 0; i < g->n_inputs; i++)
		if (g->inputs[i] < 0 || g->inputs[i] >= g->n_tensors)
			return nn_graph_fail(err, errlen, NN_ERR_FORMAT, "%s: graph input %d refers to tensor %d of %d",
					     g->source, i, g->inputs[i], g->n_tensors);
	for (int i = 0; i < g->n_outputs; i++)
		if (g->outputs[i] < 0 || g->outputs[i] >= g->n_tensors)
			return nn_graph_fail(err, errlen, NN_ERR_FORMAT, "%s: graph output %d refers to tensor %d of %d",
					     g->source, i, g->outputs[i], g->n_tensors);
	for (int i = 0; i < g->n_nodes; i++) {
		const nn_node *n = &g->nodes[i];
		if ((unsigned)n->op >= NN_OP_COUNT)
			return nn_graph_fail(err, errlen, NN_ERR_FORMAT, "%s: node %d has an unknown op %d", g->source, i,
					     (int)n->op);
		if (n->n_inputs < 0 || n->n_outputs < 0 || (n->n_inputs && !n->inputs) ||
		    (n->n_outputs && !n->outputs))
			return nn_graph_fail(err, errlen, NN_ERR_FORMAT, "%s: node %d (%s) has malformed input or output lists",
					     g->source, i, nn_op_name(n->op));
		for (int k = 0; k < n->n_inputs; k++)
			if (n->inputs[k] < -1 || n->inputs[k] >= g->n_tensors)
				return nn_graph_fail(err, errlen, NN_ERR_FORMAT, "%s: %s: input %d refers to tensor %d of %d",
						     g->source, nn_node_desc(g, i, desc, sizeof desc), k, n->inputs[k],
						     g->n_tensors);
		for (int k = 0; k < n->n_outputs; k++) {
			int t = n->outputs[k];
			if (t < 0 || t >= g->n_tensors)
				return nn_graph_fail(err, errlen, NN_ERR_FORMAT, "%s: %s: output %d refers to tensor %d of %d",
						     g->source, nn_node_desc(g, i, desc, sizeof desc), k, t, g->n_tensors);
			if (g->tensors[t].is_const)
				return nn_graph_fail(err, errlen, NN_ERR_FORMAT, "%s: %s: writes constant tensor '%s'",
						     g->source, nn_node_desc(g, i, desc, sizeof desc),
						     nn_tensor_desc(g, t, name, sizeof name));
		}
	}
	return 0;
}

typedef struct lifetime {
	int tensor;
	int first, last; /* node indices, inclusive */
	size_t size;     /* bytes taken in the arena, padding included */
	size_t offset;
} lifetime;

static int by_size_desc(const void *a, const void *b)
{
	const lifetime *x = a, *y = b;
	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return x->tensor - y->tensor;
}

static int by_offset(const void *a, const void *b)
{
	const lifetime *x = *(const lifetime *const *)a, *y = *(const lifetime *const *)b;
	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	return 0;
}

/* Computes each non-constant tensor's first and last use over the node order. */
static int compute_lifetimes(const nn_graph *g, int *first, int *last, char *err, size_t errlen)
{
	char desc[192], name[128], other[192];
	int end = g->n_nodes; /* past the last node: graph inputs and outputs stay alive until then */
	for (int t = 0; t < g->n_tensors; t++) {
		first[t] = INT_MAX;
		last[t] = -1;
	}
	for (int i = 0; i < g->n_inputs; i++) {
		int t = g->inputs[i];
		if (g->tensors[t].is_const)
			continue;
		first[t] = -1;
		last[t] = end;
	}
	for (int i = 0; i < g->n_nodes; i++) {
		const nn_node *n = &g->nodes[i];
		for (int k = 0; k < n->n_inputs; k++) {
			int t = n->inputs[k];
			if (t < 0 || g->tensors[t].is_const)
				continue;
			if (first[t] == INT_MAX || first[t] == i)
				return nn_graph_fail(err, errlen, NN_ERR_FORMAT,
						     "%s: %s reads tensor '%s', which no earlier node writes and which is not a "
						     "graph input",
						     g->source, nn_node_desc(g, i, desc, sizeof desc),
						     nn_tensor_desc(g, t, name, sizeof name));
			if (last[t] < i)
				last[t] = i;
		}
		for (int k = 0; k < n->n_outputs; k++) {
			int t = n->outputs[k];
			if (first[t] != INT_MAX) {
				if (first[t] < 0)
					return nn_graph_fail(err, errlen, NN_ERR_FORMAT, "%s: %s writes graph input '%s'",
							     g->source, nn_node_desc(g, i, desc, sizeof desc),
							     nn_tensor_desc(g, t, name, sizeof name));
				return nn_graph_fail(err, errlen, NN_ERR_FORMAT, "%s: %s writes tensor '%s', already written by %s",
						     g->source, nn_node_desc(g, i, desc, sizeof desc),
						     nn_tensor_desc(g, t, name, sizeof name),
						     nn_node_desc(g, first[t], other, sizeof other));
			}
			first[t] = i;
			last[t] = i;
		}
	}
	for (int i = 0; i < g->n_outputs; i++) {
		int t = g->outputs[i];
		if (g->tensors[t].is_const)
			continue;
		if (first[t] == INT_MAX)
			return nn_graph_fail(err, errlen, NN_ERR_FORMAT,
					     "%s: graph output '%s' is neither written by a node nor a graph input", g->source,
					     nn_tensor_desc(g, t, name, sizeof name));
		/* Outputs are read after the run, so nothing may reuse their bytes once they are written. */
		last[t] = end;
	}
	return 0;
}

/*
 * A RESHAPE that changes no value (same dtype and quantization) gets no
 * bytes of its own: its output is its input's bytes under a new shape, and
 * the kernel finds nothing to copy. alias[t] is the tensor whose placement
 * t shares (t itself for most), whose lifetime grows to cover t's.
 */
static void alias_reshapes(const nn_graph *g, int *first, int *last, int *alias)
{
	for (int t = 0; t < g->n_tensors; t++)
		alias[t] = t;
	for (int i = 0; i < g->n_nodes; i++) {
		const nn_node *n = &g->nodes[i];
		if (n->op != NN_OP_RESHAPE || n->n_inputs < 1 || n->n_outputs != 1 || n->inputs[0] < 0)
			continue;
		int x = n->inputs[0], y = n->outputs[0];
		const nn_tensor *a = &g->tensors[x], *b = &g->tensors[y];
		if (a->is_const || b->is_const || first[x] == INT_MAX || first[y] != i ||
		    nn_tensor_bytes(a) != nn_tensor_bytes(b) || !nn_tensor_same_encoding(a, b))
			continue;
		int r = alias[x];
		alias[y] = r;
		if (last[y] > last[r])
			last[r] = last[y];
	}
}

int nn_exec_plan(const nn_graph *g, size_t *offsets, size_t *arena_bytes, char *err, size_t errlen)
{
	int nt = g->n_tensors;
	int *first = malloc(((size_t)nt + 1) * sizeof *first);
	int *last = malloc(((size_t)nt + 1) * sizeof *last);
	lifetime *lt = malloc(((size_t)nt + 1) * sizeof *lt);
	lifetime **live = malloc(((size_t)nt + 1) * sizeof *live);
	int *alias = NULL;
	int rc = 0;
	if (!first || !last || !lt || !live) {
		rc = nn_graph_fail(err, errlen, NN_ERR_NOMEM, "%s: out of memory planning the arena", g->source);
		goto out;
	}
	rc = compute_lifetimes(g, first, last, err, errlen);
	if (rc < 0)
		goto out;
	alias = malloc(((size_t)nt + 1) * sizeof *alias);
	if (!alias) {
		rc = nn_graph_fail(err, errlen, NN_ERR_NOMEM, "%s: out of memory planning the arena", g->source);
		goto out;
	}
	alias_reshapes(g, first, last, alias);

	int n = 0;
	for (int t = 0; t < nt; t++) {
		offsets[t] = NN_NO_OFFSET;
		if (first[t] == INT_MAX || alias[t] != t)
			continue;
		/* XNNPACK may read XNN_EXTRA_BYTES past any tensor; the padding keeps those reads in the arena. */
		size_t bytes = nn_tensor_bytes(&g->tensors[t]);
		if (bytes > SIZE_MAX / 4) {
			char name[128];
			rc = nn_graph_fail(err, errlen, NN_ERR_SHAPE, "%s: tensor '%s' is too large (%zu bytes)", g->source,
					   nn_tensor_desc(g, t, name, sizeof name), bytes);
			goto out;
		}
		size_t size = (bytes + XNN_EXTRA_BYTES + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
		lt[n++] = (lifetime){ .tensor = t, .first = first[t], .last = last[t], .size = size };
	}

	/*
	 * Greedy by size: place the largest tensors first, each in the smallest
	 * gap (lowest offset on ties) between the tensors already placed whose
	 * lifetimes overlap its own, or after them all when no gap fits.
	 * Best fit rather than first fit leaves the larger gaps for the larger
	 * tensors still to come.
	 */
	qsort(lt, (size_t)n, sizeof *lt, by_size_desc);
	size_t total = 0;
	for (int i = 0; i < n; i++) {
		int n_live = 0;
		for (int j = 0; j < i; j++)
			if (lt[j].first <= lt[i].last && lt[i].first <= lt[j].last)
				live[n_live++] = &lt[j];
		qsort(live, (size_t)n_live, sizeof *live, by_offset);
		size_t best = SIZE_MAX, best_gap = SIZE_MAX, end = 0;
		for (int j = 0; j < n_live; j++) {
			if (live[j]->offset > end) {
				size_t gap = live[j]->offset - end;
				if (gap >= lt[i].size && gap < best_gap) {
					best = end;
					best_gap = gap;
				}
			}
			if (live[j]->offset + live[j]->size > end)
				end = live[j]->offset + live[j]->size;
		}
		lt[i].offset = best != SIZE_MAX ? best : end;
		if (lt[i].offset > SIZE_MAX / 2 - lt[i].size) {
			rc = nn_graph_fail(err, errlen, NN_ERR_NOMEM, "%s: the activation arena would exceed the address space",
					   g->source);
			goto out;
		}
		if (lt[i].offset + lt[i].size > total)
			total = lt[i].offset + lt[i].size;
		offsets[lt[i].tensor] = lt[i].offset;
	}
	for (int t = 0; t < nt; t++)
		if (alias[t] != t)
			offsets[t] = offsets[alias[t]];
	*arena_bytes = total;
out:
	free(alias);
	free(first);
	free(last);
	free(lt);
	free(live);
	return rc;
}

int nn_exec_prepare(nn_graph *g, const size_t *offsets, void *arena, int flags, pthreadpool_t pool, char *err,
		    size_t errlen)
{
	const int reference_only = flags & NN_EXEC_REFERENCE_ONLY;
	const int native = !reference_only && !(flags & NN_EXEC_NO_NATIVE);
	for (int t = 0; t < g->n_tensors; t++) {
		nn_tensor *x = &g->tensors[t];
		if (x->is_const)
			continue;
		if (x->owns_data)
			free(x->data);
		x->owns_data = 0;
		x->data = offsets[t] == NN_NO_OFFSET ? NULL : (char *)arena + offsets[t];
	}

	char desc[192], xnn_why[256], ref_why[256], detail[512];
	if (!reference_only) {
		int rc = nn_xnn_init(err, errlen);
		if (rc < 0)
			return rc;
	}
	for (int i = 0; i < g->n_nodes; i++) {
		nn_node *n = &g->nodes[i];
		n->runs_on = NN_BACKEND_REFERENCE;
		n->backend = NULL;
		if (native) {
			int rc = nn_native_create(g, n, xnn_why, sizeof xnn_why);
			if (rc < 0)
				return nn_graph_fail(err, errlen, rc, "%s: out of memory",
						     nn_node_desc(g, i, desc, sizeof desc));
			if (rc > 0) {
				n->runs_on = NN_BACKEND_NATIVE;
				continue;
			}
		}
		snprintf(xnn_why, sizeof xnn_why, "reference_only is set");
		if (!reference_only) {
			detail[0] = '\0';
			int rc = nn_xnn_create(g, n, pool, xnn_why, sizeof xnn_why, detail, sizeof detail);
			if (rc < 0)
				return nn_graph_fail(err, errlen, rc, "%s: %s", nn_node_desc(g, i, desc, sizeof desc), detail);
			if (rc > 0) {
				n->runs_on = NN_BACKEND_XNNPACK;
				continue;
			}
		}
		ref_why[0] = '\0';
		if (!nn_ref_supports(g, n, ref_why, sizeof ref_why)) {
			if (reference_only)
				return nn_graph_fail(err, errlen, NN_ERR_UNSUPPORTED, "%s: no reference kernel for it: %s",
						     nn_node_desc(g, i, desc, sizeof desc), nn_exec_ref_message(n, ref_why));
			return nn_graph_fail(err, errlen, NN_ERR_UNSUPPORTED,
					     "%s: no kernel can run it (XNNPACK: %s; reference: %s)",
					     nn_node_desc(g, i, desc, sizeof desc), xnn_why, nn_exec_ref_message(n, ref_why));
		}
	}
	return 0;
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

int nn_exec_run(nn_graph *g, pthreadpool_t pool, double *node_us, char *err, size_t errlen)
{
	char desc[192], detail[512];
	for (int i = 0; i < g->n_nodes; i++) {
		nn_node *n = &g->nodes[i];
		double t0 = node_us ? now_us() : 0;
		detail[0] = '\0';
		int rc = 0;
		switch (n->runs_on) {
		case NN_BACKEND_NATIVE:
			nn_native_run(n, pool);
			break;
		case NN_BACKEND_XNNPACK:
			rc = nn_xnn_run(n, pool, detail, sizeof detail);
			break;
		default:
			rc = nn_ref_run(g, n, detail, sizeof detail);
		}
		if (rc < 0)
			return nn_graph_fail(err, errlen, rc, "%s: %s", nn_node_desc(g, i, desc, sizeof desc),
					     nn_exec_ref_message(n, detail));
		if (node_us)
			node_us[i] = now_us() - t0;
	}
	return 0;
}

void nn_exec_release(nn_graph *g)
{
	for (int i = 0; i < g->n_nodes; i++) {
		nn_node *n = &g->nodes[i];
		if (n->runs_on == NN_BACKEND_XNNPACK)
			nn_xnn_destroy(n);
		else if (n->runs_on == NN_BACKEND_NATIVE)
			nn_native_destroy(n);
		n->runs_on = NN_BACKEND_REFERENCE;
		n->backend = NULL;
	}
}
