/*
 * Channel shuffles into strided slices.
 *
 * ShuffleNet-style blocks exported from PyTorch (YOLO-FastestV2's
 * `x.reshape(C/2, 2, HW).permute(1, 0, 2).reshape(2, -1, C/2, H, W)` then
 * `x[0]`, `x[1]`) reach the IR as a chain of RESHAPE and TRANSPOSE nodes
 * ending in a GATHER of one constant index: together they pick every other
 * channel. Each such GATHER whose output has the rank of the chain's input
 * becomes one STRIDED_SLICE of that input when the element it takes from
 * the input, worked out on an iota, is begin + i * stride along every axis;
 * the chain is then dropped once nothing reads it. A STRIDED_SLICE is one of
 * the ops the transpose folding (layout.c, which runs next) moves into NHWC,
 * so the transposes around each shuffle cancel as well.
 */
#include <stdlib.h>
#include <string.h>

#include "nn/graph.h"
#include "nn/pass/pass.h"

/* The map arrays are int32 of the chain input's size. */
#define MAX_SHUFFLE_ELEMENTS ((int64_t)1 << 22)

static int producer_of(const nn_graph *g, int t)
{
	for (int i = 0; i < g->n_nodes; i++)
		for (int k = 0; k < g->nodes[i].n_outputs; k++)
			if (g->nodes[i].outputs[k] == t)
				return i;
	return -1;
}

static int readers_of(const nn_graph *g, int t)
{
	int r = 0;
	for (int i = 0; i < g->n_nodes; i++)
		for (int k = 0; k < g->nodes[i].n_inputs; k++)
			r += g->nodes[i].inputs[k] == t;
	return r;
}

/* A RESHAPE or TRANSPOSE of one non-constant input of 4-byte elements, as the chain may hold. */
static int chain_op(const nn_graph *g, int i)
{
	const nn_node *n = &g->nodes[i];
	if ((n->op != NN_OP_RESHAPE && n->op != NN_OP_TRANSPOSE) || n->n_inputs < 1 || n->n_outputs != 1 ||
	    n->inputs[0] < 0 || n->outputs[0] < 0)
		return 0;
	if (n->op == NN_OP_TRANSPOSE && n->n_inputs != 1)
		return 0;
	const nn_tensor *x = &g->tensors[n->inputs[0]], *y = &g->tensors[n->outputs[0]];
	if (x->is_const || x->dtype != y->dtype || x->quant.count > 1 || y->quant.count > 1 ||
	    nn_tensor_elements(x) != nn_tensor_elements(y))
		return 0;
	if (n->op == NN_OP_TRANSPOSE) {
		int seen[NN_MAX_RANK] = { 0 };
		if (x->rank != y->rank)
			return 0;
		for (int d = 0; d < x->rank; d++) {
			int p = n->p.transpose.perm[d];
			if (p < 0 || p >= x->rank || seen[p] || y->shape[d] != x->shape[p])
				return 0;
			seen[p] = 1;
		}
	}
	return 1;
}

/* dst = src transposed: dst's dimension k is src's dimension perm[k]. */
static void permute_i32(int32_t *dst, const int32_t *src, int rank, const int *shape, const int *perm)
{
	int64_t istride[NN_MAX_RANK], s = 1;
	for (int d = rank - 1; d >= 0; d--) {
		istride[d] = s;
		s *= shape[d];
	}
	int idx[NN_MAX_RANK] = { 0 }, oshape[NN_MAX_RANK];
	for (int k = 0; k < rank; k++)
		oshape[k] = shape[perm[k]];
	for (int64_t i = 0; i < s; i++) {
		int64_t off = 0;
		for (int k = 0; k < rank; k++)
			off += idx[k] * istride[perm[k]];
		dst[i] = src[off];
		for (int k = rank - 1; k >= 0; k--) {
			if (++idx[k] < oshape[k])
				break;
			idx[k] = 0;
		}
	}
}

/* The constant scalar index of a GATHER, or -1. */
static int64_t scalar_index(const nn_tensor *ix, int dim)
{
	if (!ix->is_const || !ix->data || nn_tensor_elements(ix) != 1 || ix->rank > 1)
		return -1;
	int64_t v = ix->dtype == NN_I32 ? ((const int32_t *)ix->data)[0]
		    : ix->dtype == NN_I64 ? ((const int64_t *)ix->data)[0]
					  : -1 - (int64_t)dim;
	if (v < 0)
		v += dim;
	return v >= 0 && v < dim ? v : -1;
}

/*
 * Whether GATHER node gi (index j on axis 0) picks a strided slice of the
 * input of chain[len - 1], the chain's first node (chain runs from the
 * GATHER back): 1 and the node rewritten when it does, 0 when not, -1 when
 * out of memory.
 */
static int fit_slice(nn_graph *g, int gi, const int *chain, int len, int64_t j)
{
	nn_node *n = &g->nodes[gi];
	const nn_tensor *p = &g->tensors[n->inputs[0]], *y = &g->tensors[n->outputs[0]];
	int t = g->nodes[chain[len - 1]].inputs[0];
	const nn_tensor *x = &g->tensors[t];
	int64_t count = nn_tensor_elements(x);
	if (x->is_const || x->rank != y->rank || count <= 0 || count > MAX_SHUFFLE_ELEMENTS ||
	    count != nn_tensor_elements(p))
		return 0;
	int32_t *a = malloc((size_t)count * sizeof *a), *b = malloc((size_t)count * sizeof *b);
	if (!a || !b) {
		free(a);
		free(b);
		return -1;
	}
	for (int64_t i = 0; i < count; i++)
		a[i] = (int32_t)i;
	for (int c = len - 1; c >= 0; c--) {
		const nn_node *cn = &g->nodes[chain[c]];
		if (cn->op != NN_OP_TRANSPOSE)
			continue;
		const nn_tensor *in = &g->tensors[cn->inputs[0]];
		permute_i32(b, a, in->rank, in->shape, cn->p.transpose.perm);
		int32_t *tmp = a;
		a = b;
		b = tmp;
	}
	/* The GATHER takes block j along axis 0 of p: map[i] is the x element of output element i. */
	int64_t block = count / p->shape[0];
	const int32_t *map = a + j * block;
	int ok = nn_tensor_elements(y) == block;
	int64_t xs[NN_MAX_RANK], s = 1, ys[NN_MAX_RANK], s2 = 1;
	for (int d = x->rank - 1; d >= 0; d--) {
		xs[d] = s;
		s *= x->shape[d];
		ys[d] = s2;
		s2 *= y->shape[d];
	}
	int begin[NN_MAX_RANK], stride[NN_MAX_RANK];
	for (int d = 0; d < x->rank && ok; d++) {
		begin[d] = (int)((map[0] / xs[d]) % x->shape[d]);
		stride[d] = 1;
		if (y->shape[d] > 1) {
			int64_t diff = map[ys[d]] - map[0];
			ok = diff > 0 && diff % xs[d] == 0;
			if (ok)
				stride[d] = (int)(diff / xs[d]);
		}
		ok = ok && begin[d] + (int64_t)(y->shape[d] - 1) * stride[d] < x->shape[d];
	}
	/* Every element, not just the first along each axis. */
	int idx[NN_MAX_RANK] = { 0 };
	for (int64_t i = 0; i < block && ok; i++) {
		int64_t off = 0;
		for (int d = 0; d < x->rank; d++)
			off += ((int64_t)begin[d] + (int64_t)idx[d] * stride[d]) * xs[d];
		ok = map[i] == off;
		for (int d = x->rank - 1; d >= 0; d--) {
			if (++idx[d] < y->shape[d])
				break;
			idx[d] = 0;
		}
	}
	free(a);
	free(b);
	if (!ok)
		return 0;
	n->op = NN_OP_STRIDED_SLICE;
	n->inputs[0] = t;
	n->n_inputs = 1;
	memset(&n->p, 0, sizeof n->p);
	memcpy(n->p.slice.begin, begin, sizeof begin);
	memcpy(n->p.slice.stride, stride, sizeof stride);
	return 1;
}


/*
 * Tries GATHER node gi: 1 when rewritten, 0 when it is not a shuffle's pick,
 * -1 when out of memory.
 */
static int try_gather(nn_graph *g, int gi)
{
	nn_node *n = &g->nodes[gi];
	if (n->op != NN_OP_GATHER || n->n_inputs != 2 || n->n_outputs != 1 || n->inputs[0] < 0 || n->inputs[1] < 0)
		return 0;
	const nn_tensor *p = &g->tensors[n->inputs[0]];
	int axis = n->p.gather.axis < 0 ? n->p.gather.axis + p->rank : n->p.gather.axis;
	if (axis != 0 || p->rank < 1 || nn_dtype_size(p->dtype) != 4)
		return 0;
	int64_t j = scalar_index(&g->tensors[n->inputs[1]], p->shape[0]);
	if (j < 0)
		return 0;
	/* Back along the chain; its longest part whose input x is a strided slice's source wins. */
	int chain[16], len = 0, t = n->inputs[0];
	for (;;) {
		int pi = producer_of(g, t);
		if (pi < 0 || !chain_op(g, pi) || len == 16)
			break;
		chain[len++] = pi;
		t = g->nodes[pi].inputs[0];
	}
	for (int l = len; l >= 1; l--) {
		int rc = fit_slice(g, gi, chain, l, j);
		if (rc)
			return rc;
	}
	return 0;
}

int nn_pass_shuffle_slices(nn_graph *g, char *err, size_t errlen)
{
	int any = 0;
	for (int i = 0; i < g->n_nodes; i++) {
		if (g->nodes[i].op != NN_OP_GATHER)
			continue;
		int rc = try_gather(g, i);
		if (rc < 0)
			return nn_graph_fail(err, errlen, NN_ERR_NOMEM, "%s: out of memory", g->source);
		any |= rc;
	}
	if (!any)
		return 0;
	/* Drop the chain nodes nothing reads any more, from the last back. */
	int changed = 1;
	while (changed) {
		changed = 0;
		for (int i = g->n_nodes - 1; i >= 0; i--) {
			nn_node *n = &g->nodes[i];
			if (!chain_op(g, i) || nn_graph_is_output(g, n->outputs[0]) || readers_of(g, n->outputs[0]))
				continue;
			free(n->name);
			free(n->inputs);
			free(n->outputs);
			memmove(n, n + 1, (size_t)(g->n_nodes - i - 1) * sizeof *n);
			g->n_nodes--;
			changed = 1;
		}
	}
	return 0;
}
